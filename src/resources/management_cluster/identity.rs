//! The id of a management cluster: `<uid of its kube-system namespace>/<namespace>`.
//!
//! # Why the kube-system uid
//!
//! Earlier versions named the cluster by how the provider reached it (the kubeconfig
//! context, or the server URL; with `bootstrap`, `bootstrap.name`), so a context renamed on
//! a laptop, CI's own kubeconfig or a new load balancer URL changed the id, and every
//! hosted control plane referencing it planned its replacement. The uid of `kube-system`
//! is the cluster's own: every cluster has the namespace, it cannot be deleted, and its uid
//! never changes while the cluster lives; a different uid is a different cluster.
//!
//! Hosted control planes take the namespace as the part after the last `/`, in every form.

/// What a recorded id (or an import id) says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordedId {
    /// `<uid>/<namespace>`: this version's form.
    Uid { uid: String, namespace: String },
    /// `<context-or-server-or-bootstrap-name>/<namespace>`: earlier versions.
    Legacy { key: String, namespace: String },
    /// Just `<namespace>` (accepted by import).
    Namespace(String),
}

/// Whether `s` has the shape of a Kubernetes uid (a UUID: 8-4-4-4-12 hex digits).
pub fn is_uid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Reads an id; None when it is empty or has an empty part.
pub fn parse(id: &str) -> Option<RecordedId> {
    match id.rsplit_once('/') {
        None if !id.is_empty() => Some(RecordedId::Namespace(id.to_string())),
        None => None,
        Some((k, ns)) if k.is_empty() || ns.is_empty() => None,
        Some((k, ns)) if is_uid(k) => Some(RecordedId::Uid {
            uid: k.to_string(),
            namespace: ns.to_string(),
        }),
        Some((k, ns)) => Some(RecordedId::Legacy {
            key: k.to_string(),
            namespace: ns.to_string(),
        }),
    }
}

/// The id of namespace `ns` in the cluster whose kube-system uid is `uid`.
pub fn format(uid: &str, ns: &str) -> String {
    format!("{uid}/{ns}")
}

/// The recorded cluster is not the one the provider reaches.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the state records the management cluster whose kube-system namespace has uid {recorded}, but the provider now reaches a cluster whose kube-system uid is {live}")]
pub struct OtherCluster {
    pub recorded: String,
    pub live: String,
}

/// The id to record after a read that found the cluster `live_uid`: the same id, an id
/// of an earlier version converted, or [`OtherCluster`] (never a silent switch).
pub fn refreshed(recorded: Option<&str>, live_uid: &str, ns: &str) -> Result<String, OtherCluster> {
    match recorded.and_then(parse) {
        Some(RecordedId::Uid { uid, .. }) if uid != live_uid => Err(OtherCluster {
            recorded: uid,
            live: live_uid.to_string(),
        }),
        _ => Ok(format(live_uid, ns)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UID: &str = "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9";

    #[test]
    fn ids_of_every_version_are_recognised() {
        assert_eq!(
            parse(&format!("{UID}/kmc-system")),
            Some(RecordedId::Uid {
                uid: UID.into(),
                namespace: "kmc-system".into()
            })
        );
        assert_eq!(
            parse("admin@prod/kmc-system"),
            Some(RecordedId::Legacy {
                key: "admin@prod".into(),
                namespace: "kmc-system".into()
            })
        );
        // A server URL key has slashes of its own: the namespace is after the last one.
        assert_eq!(
            parse("https://10.0.0.1:6443/kmc-system"),
            Some(RecordedId::Legacy {
                key: "https://10.0.0.1:6443".into(),
                namespace: "kmc-system".into()
            })
        );
        assert_eq!(
            parse("kmc-system"),
            Some(RecordedId::Namespace("kmc-system".into()))
        );
        for bad in ["", "/ns", "key/"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        assert!(!is_uid("0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0fz"));
        assert!(!is_uid("k0stack-sim"));
    }

    #[test]
    fn a_refresh_converts_old_ids_and_refuses_another_cluster() {
        let ns = "kmc-system";
        assert_eq!(
            refreshed(Some("k0stack-sim/kmc-system"), UID, ns).unwrap(),
            format!("{UID}/kmc-system")
        );
        assert_eq!(
            refreshed(Some("mgmt/kmc-system"), UID, ns).unwrap(),
            format(UID, ns)
        );
        assert_eq!(refreshed(None, UID, ns).unwrap(), format(UID, ns));
        assert_eq!(
            refreshed(Some(&format(UID, ns)), UID, ns).unwrap(),
            format(UID, ns)
        );
        let other = "11111111-2222-3333-4444-555555555555";
        let e = refreshed(Some(&format(other, ns)), UID, ns).unwrap_err();
        assert_eq!(e.recorded, other);
        assert!(e.to_string().contains(UID), "{e}");
    }
}

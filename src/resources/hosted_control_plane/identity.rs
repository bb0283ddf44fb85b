//! Which management cluster and which objects a control plane is: pure rules over ids,
//! uids and objects, so that every decision about identity has a unit test.
//!
//! # The management cluster
//!
//! A Kubernetes cluster is identified by the uid of its `kube-system` namespace
//! (`kube_io::cluster_uid`), whatever kubeconfig, context name or server URL reaches it.
//! The state records it (`management_cluster_uid`); `management_cluster_id` is
//! `<kube-system uid>/<namespace>` as `k0stack_management_cluster` exports it. Earlier
//! versions wrote `<kubeconfig context>/<namespace>`, and configurations of the
//! environments/Terragrunt pattern pass a literal whose prefix is only a label
//! (`management/kmc-system`): those name the same cluster, so changing between them is an
//! in-place update of the recorded string, never a replacement. Only another namespace,
//! or a uid-form id with another uid, designates another cluster.

use serde_json::Value;

use crate::framework::ownership::{self, Claim};

use super::model::{known, State};
use super::object::managed_labels;

/// Whether `s` has the form of a Kubernetes uid (an RFC 4122 UUID, 8-4-4-4-12 hex digits).
pub fn is_uid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// `<prefix>/<namespace>` of a management cluster id (the namespace after the last `/`).
pub fn split_id(id: &str) -> Option<(&str, &str)> {
    id.rsplit_once('/').filter(|(_, ns)| !ns.is_empty())
}

/// The id of the management cluster `uid`, namespace `ns`.
pub fn management_cluster_id(uid: &str, ns: &str) -> String {
    format!("{uid}/{ns}")
}

/// The uid a recorded management cluster id names, when it is in uid form.
fn uid_of(id: &str) -> Option<&str> {
    split_id(id).map(|(p, _)| p).filter(|p| is_uid(p))
}

/// Whether changing `management_cluster_id` from `prior` to `proposed` moves the control
/// plane to another cluster or namespace (a replacement). `recorded_uid` is the state's
/// `management_cluster_uid` (null in states of earlier versions). An unknown new id counts
/// as another cluster: it is unknown when the management cluster itself is replaced.
pub fn designates_another(prior: &State, proposed: &State) -> bool {
    let new = match &proposed.management_cluster_id {
        tf_provider::value::Value::Unknown => return true,
        v => known(v),
    };
    let old = known(&prior.management_cluster_id);
    if new == old {
        return false;
    }
    let (Some(new), Some(old)) = (new, old) else {
        return true;
    };
    let (Some((_, new_ns)), Some((_, old_ns))) = (split_id(&new), split_id(&old)) else {
        return true;
    };
    if new_ns != old_ns {
        return true;
    }
    let recorded = known(&prior.management_cluster_uid).or_else(|| uid_of(&old).map(String::from));
    match (uid_of(&new), recorded) {
        (Some(n), Some(r)) => n != r,
        _ => false,
    }
}

/// Whether the cluster the provider reaches (`connected`, its kube-system uid) is the one
/// the state says holds the control plane (`recorded`; None in states of earlier versions:
/// nothing to compare, the caller records it).
pub fn check_cluster(recorded: Option<&str>, connected: &str) -> Result<(), String> {
    match recorded {
        Some(r) if r != connected => Err(format!(
            "the provider is connected to the Kubernetes cluster whose kube-system namespace has uid {connected}, \
             but this control plane was created in the cluster with uid {r} (management_cluster_uid in the state). \
             Point the provider's kubernetes block, or management_kubeconfig, at the cluster that holds it. \
             If that cluster is gone for good, and the control plane with it, forget it with \
             `terraform state rm <address>` and apply to create it anew."
        )),
        _ => Ok(()),
    }
}

/// The error when `management_cluster_id` names a cluster (uid form) other than the one
/// the connection reaches.
pub fn check_designated(id: Option<&str>, connected: &str) -> Result<(), String> {
    match id.and_then(uid_of) {
        Some(u) if u != connected => Err(format!(
            "management_cluster_id designates the cluster whose kube-system namespace has uid {u}, \
             but the provider's connection reaches the cluster with uid {connected}. Use the id of the \
             k0stack_management_cluster this connection manages, or connect to that cluster."
        )),
        _ => Ok(()),
    }
}

/// How a refresh recognises the state's `Cluster` in the live object of that name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recognition {
    /// It is the state's: record `instance`; `write`: its owner annotation must be
    /// (re)written as created (missing, or still `creating` after the create returned).
    Ours { instance: String, write: bool },
    /// The state's object (recorded uid) from a version before owner annotations, carrying
    /// none: claim it with a new instance id.
    Unclaimed,
    /// Another object that has the name (why it is not ours): the state's is gone.
    Other(String),
}

/// Recognises the live `Cluster` for a state with `instance` (null in states of earlier
/// versions) and the recorded uid. The owner annotation decides; the uid decides for a
/// state that has no instance id yet (then the instance it carries, if any, is the one an
/// earlier refresh of this state wrote without the state being saved, as `terraform plan`
/// does not save it).
pub fn recognise(obj: &Value, instance: Option<&str>, recorded_uid: Option<&str>) -> Recognition {
    let same_uid = recorded_uid.is_some() && obj["metadata"]["uid"].as_str() == recorded_uid;
    match (instance, ownership::Owner::of(obj)) {
        (Some(i), Some(o)) if o.instance == i => Recognition::Ours {
            instance: i.to_string(),
            write: o.phase != ownership::Phase::Created,
        },
        (Some(i), None) if same_uid => Recognition::Ours {
            instance: i.to_string(),
            write: true,
        },
        (None, Some(o)) if same_uid => Recognition::Ours {
            write: o.phase != ownership::Phase::Created,
            instance: o.instance,
        },
        (None, None) if same_uid => Recognition::Unclaimed,
        _ => Recognition::Other(
            crate::resources::owned::check_ours(obj, instance, recorded_uid)
                .err()
                .unwrap_or_default(),
        ),
    }
}

/// The `K0smotronControlPlane` (Cluster API, k0rdent) that owns a `Cluster`, if one does:
/// such a Cluster is managed by its controller, never by this resource.
pub fn capi_owner(cluster: &Value) -> Option<String> {
    cluster["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| r["kind"] == "K0smotronControlPlane")
        .map(|r| r["name"].as_str().unwrap_or("?").to_string())
}

/// Whether a kine Secret or manifests ConfigMap of control plane `cluster` is this
/// instance's: it carries `instance`, or it has no owner annotation but the labels the
/// provider puts on the objects of that control plane, and the control plane itself is
/// this instance's (or already gone). The second case is an object written by a version
/// before owner annotations: only one `Cluster` of a name exists in a namespace, so the
/// objects named and labelled after it are its own.
pub fn beside_is_ours(
    obj: &Value,
    instance: Option<&str>,
    cluster: &str,
    cluster_ours: bool,
) -> bool {
    match ownership::claim(obj, instance, ownership::now_secs()) {
        Claim::Ours => true,
        Claim::Unowned => cluster_ours && labelled_for(obj, cluster),
        _ => false,
    }
}

/// Whether `obj` carries the labels the provider puts on the objects of control plane `cluster`.
pub fn labelled_for(obj: &Value, cluster: &str) -> bool {
    let want = managed_labels(cluster);
    let have = &obj["metadata"]["labels"];
    want.as_object()
        .is_some_and(|w| w.iter().all(|(k, v)| &have[k] == v))
}

/// Whether an update changes only what is recorded about the control plane, not the
/// control plane: the `management_cluster_id` string (another form for the same cluster),
/// `wait_for_ready` and `timeouts`. Such an update makes no API call.
pub fn only_bookkeeping(prior: &State, planned: &State) -> bool {
    let mut p = prior.clone();
    p.management_cluster_id = planned.management_cluster_id.clone();
    p.wait_for_ready = planned.wait_for_ready;
    p.timeouts = planned.timeouts.clone();
    &p == planned
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tf_provider::value::Value as V;

    const U1: &str = "0b6d2c4e-1f3a-4b5c-8d9e-0a1b2c3d4e5f";
    const U2: &str = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a";

    fn recorded(id: &str, uid: Option<&str>) -> State {
        State {
            management_cluster_id: V::Value(id.to_string().into()),
            management_cluster_uid: uid.map_or(V::Null, |u| V::Value(u.to_string().into())),
            ..Default::default()
        }
    }

    fn with_id(id: crate::framework::values::Str) -> State {
        State {
            management_cluster_id: id,
            ..Default::default()
        }
    }

    #[test]
    fn uid_form() {
        assert!(is_uid(U1));
        assert!(!is_uid("k0stack-sim"));
        assert!(!is_uid("0b6d2c4e-1f3a-4b5c-8d9e-0a1b2c3d4e5")); // one digit short
        assert!(!is_uid("0b6d2c4e_1f3a-4b5c-8d9e-0a1b2c3d4e5f"));
    }

    #[test]
    fn another_form_of_the_same_cluster_is_not_a_replacement() {
        let legacy = recorded("k0stack-sim/kmc-system", Some(U1));
        for new in [
            format!("{U1}/kmc-system"),      // legacy -> new form
            "management/kmc-system".into(),  // a label (environments pattern)
            "k0stack-sim/kmc-system".into(), // unchanged
        ] {
            assert!(
                !designates_another(&legacy, &with_id(V::Value(new.clone().into()))),
                "{new}"
            );
        }
        // A state of an earlier version (no recorded uid) going to the new form.
        let old = recorded("ci/kmc-system", None);
        assert!(!designates_another(
            &old,
            &with_id(V::Value(format!("{U2}/kmc-system").into()))
        ));
    }

    #[test]
    fn another_cluster_or_namespace_is_a_replacement() {
        let prior = recorded(&format!("{U1}/kmc-system"), Some(U1));
        for new in [
            format!("{U2}/kmc-system"), // another cluster
            format!("{U1}/other"),      // another namespace
            "management/other".into(),  // another namespace, label form
        ] {
            assert!(
                designates_another(&prior, &with_id(V::Value(new.clone().into()))),
                "{new}"
            );
        }
        assert!(
            designates_another(&prior, &with_id(V::Unknown)),
            "unknown: the management cluster is replaced"
        );
        // The uid comes from the recorded id when the state has no uid yet.
        let no_uid = recorded(&format!("{U1}/kmc-system"), None);
        assert!(designates_another(
            &no_uid,
            &with_id(V::Value(format!("{U2}/kmc-system").into()))
        ));
    }

    #[test]
    fn the_connected_cluster_must_be_the_recorded_one() {
        assert!(check_cluster(None, U1).is_ok());
        assert!(check_cluster(Some(U1), U1).is_ok());
        let e = check_cluster(Some(U1), U2).unwrap_err();
        assert!(
            e.contains(U1) && e.contains(U2) && e.contains("terraform state rm"),
            "{e}"
        );
        assert!(check_designated(Some("management/kmc-system"), U2).is_ok());
        assert!(check_designated(Some(&format!("{U2}/kmc-system")), U2).is_ok());
        let e = check_designated(Some(&format!("{U1}/kmc-system")), U2).unwrap_err();
        assert!(e.contains("management_cluster_id designates"), "{e}");
    }

    #[test]
    fn a_refresh_recognises_its_cluster() {
        let mut obj = json!({"metadata": {"name": "dev", "uid": "u1"}});
        // A state of an earlier version: the uid decides.
        assert_eq!(recognise(&obj, None, Some("u1")), Recognition::Unclaimed);
        assert!(matches!(
            recognise(&obj, None, Some("u2")),
            Recognition::Other(_)
        ));
        assert!(matches!(recognise(&obj, None, None), Recognition::Other(_)));
        // Its annotation was lost: ours by uid, written again.
        assert_eq!(
            recognise(&obj, Some("a"), Some("u1")),
            Recognition::Ours {
                instance: "a".into(),
                write: true
            }
        );
        ownership::stamp(&mut obj, &ownership::Owner::creating("a", 0));
        // A create that returned without marking it: marked now.
        assert_eq!(
            recognise(&obj, Some("a"), Some("u1")),
            Recognition::Ours {
                instance: "a".into(),
                write: true
            }
        );
        // An earlier, unsaved refresh of a legacy state claimed it: that instance is ours.
        ownership::stamp(&mut obj, &ownership::Owner::created("a"));
        assert_eq!(
            recognise(&obj, None, Some("u1")),
            Recognition::Ours {
                instance: "a".into(),
                write: false
            }
        );
        // Taken over by an import elsewhere, or another object of the name.
        match recognise(&obj, Some("b"), Some("u1")) {
            Recognition::Other(why) => assert!(
                why.contains("another k0stack resource instance (a"),
                "{why}"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn clusters_owned_by_cluster_api_are_recognised() {
        let c = json!({"metadata": {"ownerReferences": [
            {"apiVersion": "controlplane.cluster.x-k8s.io/v1beta1", "kind": "K0smotronControlPlane", "name": "prod-cp", "uid": "x"}]}});
        assert_eq!(capi_owner(&c).as_deref(), Some("prod-cp"));
        assert_eq!(capi_owner(&json!({"metadata": {}})), None);
    }

    #[test]
    fn objects_beside_the_cluster() {
        let mut legacy =
            json!({"metadata": {"name": "dev-k0stack-kine", "labels": managed_labels("dev")}});
        assert!(beside_is_ours(&legacy, Some("a"), "dev", true));
        assert!(
            !beside_is_ours(&legacy, Some("a"), "dev", false),
            "the Cluster is someone else's"
        );
        assert!(
            !beside_is_ours(&legacy, Some("a"), "prod", true),
            "labelled for another"
        );
        let foreign = json!({"metadata": {"name": "dev-k0stack-kine"}});
        assert!(
            !beside_is_ours(&foreign, Some("a"), "dev", true),
            "not labelled by k0stack"
        );
        ownership::stamp(&mut legacy, &ownership::Owner::created("b"));
        assert!(
            !beside_is_ours(&legacy, Some("a"), "dev", true),
            "another instance's"
        );
        assert!(beside_is_ours(&legacy, Some("b"), "dev", false));
    }

    #[test]
    fn bookkeeping_only_updates() {
        let prior = recorded("k0stack-sim/kmc-system", Some(U1));
        let mut planned = prior.clone();
        planned.management_cluster_id = V::Value(format!("{U1}/kmc-system").into());
        planned.wait_for_ready = V::Value(false);
        assert!(only_bookkeeping(&prior, &planned));
        planned.management_kubeconfig = V::Value("apiVersion: v1".into());
        assert!(
            !only_bookkeeping(&prior, &planned),
            "a new connection is checked"
        );
    }
}

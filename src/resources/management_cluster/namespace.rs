//! The management namespace: created (and owned) when missing, shared when it exists,
//! and marked with every `k0stack_management_cluster` instance that uses it.
//!
//! # Why markers
//!
//! Several states may manage one Kubernetes cluster (a team per namespace, or two
//! instances sharing one namespace). Destroying one must not uninstall the k0smotron the
//! others use, nor delete a namespace they keep objects in. So each instance writes the
//! annotation `k0stack.io/management-cluster.<instance id>` on the namespace it uses
//! (created, updated, imported; a refresh puts it back if it went missing), and a destroy
//! looks for the markers of others across all namespaces. A state written before instance
//! ids has no marker until its next apply. The owner of a namespace that others still use
//! hands it over to one of them when it is destroyed.

use serde_json::{json, Value};

use crate::framework::ownership::{self, Claim, Owner};
use crate::resources::kube_io::{self, KubeError};
use crate::resources::owned::{self, OwnedError};

/// Prefix of the marker annotation; the instance id follows.
pub const MARKER_PREFIX: &str = "k0stack.io/management-cluster.";

pub fn marker(instance: &str) -> String {
    format!("{MARKER_PREFIX}{instance}")
}

/// The instances whose markers an object (a namespace) carries.
pub fn users(ns: &Value) -> Vec<String> {
    ns["metadata"]["annotations"]
        .as_object()
        .map(|a| {
            a.keys()
                .filter_map(|k| k.strip_prefix(MARKER_PREFIX))
                .filter(|i| !i.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// `(namespace, instance)` of every other instance's marker in `namespaces`.
pub fn other_users(namespaces: &[Value], ours: Option<&str>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for ns in namespaces {
        let name = ns["metadata"]["name"].as_str().unwrap_or_default();
        for i in users(ns) {
            if Some(i.as_str()) != ours {
                out.push((name.to_string(), i));
            }
        }
    }
    out
}

/// Every namespace of the cluster.
pub async fn list_all(kube: &kube::Client) -> Result<Vec<Value>, KubeError> {
    kube_io::list(kube, &kube_io::namespace_resource(), None).await
}

/// What [`ensure`] found or did.
#[derive(Debug, Clone)]
pub struct Ensured {
    /// This instance owns the namespace (created it): destroy deletes it.
    pub owned: bool,
    /// The instance id to continue as (another one only when a create adopted the
    /// namespace of an interrupted create).
    pub instance: String,
    pub uid: Option<String>,
    /// Created by this call (the caller renews its lease while the create runs).
    pub created: bool,
}

fn uid_of(o: &Value) -> Option<String> {
    o["metadata"]["uid"].as_str().map(String::from)
}

/// Makes sure `name` exists and carries this instance's marker. `creating`: the resource's
/// create (may adopt an interrupted create's namespace); `legacy_created`: a state
/// without instance id says it created the namespace (an unannotated one is claimed).
pub async fn ensure(
    kube: &kube::Client,
    name: &str,
    instance: &str,
    creating: bool,
    legacy_created: bool,
) -> Result<Ensured, OwnedError> {
    let ar = kube_io::namespace_resource();
    let existing = kube_io::get(kube, &ar, None, name).await?;
    let now = ownership::now_secs();
    let claim = existing
        .as_ref()
        .map(|o| ownership::claim(o, Some(instance), now));
    let mut out = Ensured {
        owned: false,
        instance: instance.to_string(),
        uid: existing.as_ref().and_then(uid_of),
        created: false,
    };
    match claim {
        None | Some(Claim::Interrupted { .. }) | Some(Claim::Busy { .. })
            if creating || existing.is_none() =>
        {
            let obj = json!({
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": { "name": name,
                    "labels": { "app.kubernetes.io/managed-by": "k0stack" },
                    "annotations": { marker(instance): "in-use" } }
            });
            match owned::create_or_adopt(kube, &ar, &obj, instance).await {
                Ok(c) => {
                    out = Ensured {
                        owned: true,
                        uid: uid_of(&c.object),
                        instance: c.instance,
                        created: true,
                    }
                }
                // Made by someone else meanwhile: shared, like any existing namespace.
                Err(OwnedError::Exists { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Some(Claim::Ours) => out.owned = true,
        Some(Claim::Unowned) if legacy_created => {
            let patched = kube_io::patch_merge(
                kube,
                &ar,
                None,
                name,
                &ownership::owner_patch(&Owner::created(instance)),
            )
            .await?;
            out.owned = true;
            out.uid = uid_of(&patched);
        }
        _ => {}
    }
    mark_used(kube, name, &out.instance).await?;
    if out.uid.is_none() {
        out.uid = kube_io::get(kube, &ar, None, name)
            .await?
            .as_ref()
            .and_then(uid_of);
    }
    Ok(out)
}

/// Writes this instance's marker on the namespace (when it is missing).
pub async fn mark_used(kube: &kube::Client, name: &str, instance: &str) -> Result<(), KubeError> {
    let ar = kube_io::namespace_resource();
    let Some(ns) = kube_io::get(kube, &ar, None, name).await? else {
        return Ok(());
    };
    if users(&ns).iter().any(|u| u == instance) {
        return Ok(());
    }
    let patch = json!({ "metadata": { "annotations": { marker(instance): "in-use" } } });
    kube_io::patch_merge(kube, &ar, None, name, &patch).await?;
    Ok(())
}

/// Makes `heir` the namespace's owner (the owner's destroy hands it over to a remaining
/// user; an import takes it over).
pub async fn hand_over(kube: &kube::Client, name: &str, heir: &str) -> Result<(), KubeError> {
    let patch = ownership::owner_patch(&Owner::created(heir));
    kube_io::patch_merge(kube, &kube_io::namespace_resource(), None, name, &patch).await?;
    Ok(())
}

/// Removes this instance's marker (the namespace stays for others).
pub async fn unmark(kube: &kube::Client, name: &str, instance: &str) -> Result<(), KubeError> {
    let patch = json!({ "metadata": { "annotations": { marker(instance): Value::Null } } });
    match kube_io::patch_merge(kube, &kube_io::namespace_resource(), None, name, &patch).await {
        Err(KubeError::Object {
            code: Some(404), ..
        }) => Ok(()),
        r => r.map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_name_the_instances_that_use_a_namespace() {
        let a = json!({"metadata": {"name": "team-a", "annotations": {marker("aaa"): "in-use", "other": "x"}}});
        let b = json!({"metadata": {"name": "team-b", "annotations": {marker("bbb"): "in-use", marker("ccc"): "in-use"}}});
        let plain = json!({"metadata": {"name": "default"}});
        assert_eq!(users(&a), vec!["aaa".to_string()]);
        let others = other_users(&[a, b, plain], Some("aaa"));
        assert_eq!(
            others,
            vec![
                ("team-b".to_string(), "bbb".to_string()),
                ("team-b".to_string(), "ccc".to_string())
            ]
        );
        assert_eq!(
            marker("0123456789abcdef").len(),
            46,
            "a valid annotation key"
        );
    }
}

//! k0smotron in the management cluster: installing `k0smotron_manifest`, the facts a
//! destroy needs (hosted control planes, objects of its CRDs anywhere), uninstalling.
//!
//! Objects of the manifest that the provider creates carry the owner annotation of the
//! instance that created them (an existing one keeps its annotation, or its absence: an
//! install made by someone else is upgraded, never taken over). Uninstalling deletes only
//! objects with a k0stack owner annotation — whichever instance created them, since only
//! the last user uninstalls ([`super::teardown`]) — plus, for a state written before
//! instance ids, unannotated ones (what that version installed).

use serde_json::Value;

use crate::framework::ownership::{self, Owner};
use crate::framework::wait::{self, Backoff, Check};
use crate::provider::Clients;
use crate::resources::hosted_control_plane::object::Api;
use crate::resources::kube_io::{self, KubeError};

use super::manifest;

pub async fn api(clients: &Clients, kube: &kube::Client) -> Result<Api, KubeError> {
    clients
        .discovered
        .k0smotron_api
        .get_or_try_init(|| kube_io::k0smotron_api(kube))
        .await
        .copied()
}

/// The object as it will be applied: its namespace filled in, and the owner annotation
/// of `instance` when it does not exist yet, or the one it already carries.
async fn owned_apply(kube: &kube::Client, obj: &Value, instance: &str) -> Result<(), KubeError> {
    let (ar, namespaced) = kube_io::resource_of(kube, obj).await?;
    let mut obj = obj.clone();
    let ns = namespaced.then(|| {
        obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string()
    });
    if let Some(ns) = &ns {
        obj["metadata"]["namespace"] = Value::String(ns.clone());
    }
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    match kube_io::get(kube, &ar, ns.as_deref(), &name).await? {
        None => ownership::stamp(&mut obj, &Owner::created(instance)),
        Some(existing) => {
            if let Some(o) = Owner::of(&existing) {
                ownership::stamp(&mut obj, &Owner::created(&o.instance));
            }
        }
    }
    kube_io::apply(kube, &ar, &obj).await.map(|_| ())
}

/// Installs the manifest and waits for it: CRDs established, Deployments available.
pub async fn install(
    kube: &kube::Client,
    text: &str,
    instance: &str,
    timeout: std::time::Duration,
) -> Result<(), String> {
    let objects = manifest::parse(text).map_err(|e| e.to_string())?;
    let crd_ar = kube_io::resource(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
    );
    let (crds, rest): (Vec<_>, Vec<_>) = objects
        .iter()
        .partition(|o| o["kind"] == "CustomResourceDefinition" || o["kind"] == "Namespace");
    for obj in &crds {
        owned_apply(kube, obj, instance)
            .await
            .map_err(|e| format!("{}: {e}", manifest::describe(obj)))?;
    }
    let crd_names: Vec<(Option<String>, String)> = crds
        .iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition")
        .filter_map(|o| {
            o["metadata"]["name"]
                .as_str()
                .map(|n| (None, n.to_string()))
        })
        .collect();
    kube_io::wait_all(
        kube,
        &crd_ar,
        crd_names,
        "k0smotron CRDs to be established",
        timeout,
        kube_io::crd_established,
    )
    .await
    .map_err(|e| e.to_string())?;
    for obj in &rest {
        owned_apply(kube, obj, instance)
            .await
            .map_err(|e| format!("{}: {e}", manifest::describe(obj)))?;
    }
    let deployments: Vec<(Option<String>, String)> = rest
        .iter()
        .filter(|o| o["kind"] == "Deployment")
        .map(|o| {
            let ns = o["metadata"]["namespace"].as_str().unwrap_or("default");
            let name = o["metadata"]["name"].as_str().unwrap_or_default();
            (Some(ns.to_string()), name.to_string())
        })
        .collect();
    let dep_ar = kube_io::resource("apps", "v1", "Deployment", "deployments");
    kube_io::wait_all(
        kube,
        &dep_ar,
        deployments,
        "the k0smotron operator to be available",
        timeout,
        kube_io::deployment_available,
    )
    .await
    .map_err(|e| e.to_string())
}

/// The existing object of a manifest entry (None: gone, or its kind is no longer served).
async fn existing(
    kube: &kube::Client,
    obj: &Value,
) -> Result<Option<(kube::core::ApiResource, Option<String>, Value)>, KubeError> {
    let Ok((ar, namespaced)) = kube_io::resource_of(kube, obj).await else {
        return Ok(None);
    };
    let ns = namespaced.then(|| {
        obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string()
    });
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    Ok(kube_io::get(kube, &ar, ns.as_deref(), name)
        .await?
        .map(|o| (ar, ns, o)))
}

/// A state written before instance ids that installs the manifest claims its unannotated
/// objects (that version installed them, and would have deleted them at destroy).
pub async fn claim_legacy(
    kube: &kube::Client,
    text: &str,
    instance: &str,
) -> Result<(), KubeError> {
    let Ok(objects) = manifest::parse(text) else {
        return Ok(());
    };
    let patch = ownership::owner_patch(&Owner::created(instance));
    for obj in &objects {
        if let Some((ar, ns, o)) = existing(kube, obj).await? {
            if Owner::of(&o).is_none() {
                let name = obj["metadata"]["name"].as_str().unwrap_or_default();
                kube_io::patch_merge(kube, &ar, ns.as_deref(), name, &patch).await?;
            }
        }
    }
    Ok(())
}

/// The manifest's objects that differ from it (in install order): `Kind ns/name (missing)`
/// for one that does not exist, `Kind ns/name (changed)` for one whose fields of the
/// manifest were edited out of band. What a refresh records in `k0smotron_drift`, so that
/// the plan shows it and apply installs the manifest again.
///
/// "Changed" is judged as `kubectl diff` does: a server-side apply with `dryRun=All` of
/// the object as install applies it, compared with the live object (fields nobody applied,
/// defaults, status and bookkeeping metadata do not count). A cluster that refuses the dry
/// run (e.g. read-only credentials) is only checked for missing objects.
pub async fn drift(kube: &kube::Client, text: &str) -> Result<Vec<String>, KubeError> {
    let Ok(objects) = manifest::parse(text) else {
        return Ok(vec![]);
    };
    let mut out = Vec::new();
    for obj in &objects {
        let what = manifest::describe(obj);
        let Some((ar, ns, live)) = existing(kube, obj).await? else {
            out.push(format!("{what} (missing)"));
            continue;
        };
        let mut desired = obj.clone();
        if let Some(ns) = &ns {
            desired["metadata"]["namespace"] = Value::String(ns.clone());
        }
        match kube_io::apply_dry_run(kube, &ar, &desired).await {
            Ok(would) if !same_content(&live, &would) => out.push(format!("{what} (changed)")),
            Ok(_) => {}
            Err(e) => tracing::debug!("{what}: no dry run, not checked for changes: {e}"),
        }
    }
    Ok(out)
}

/// The object without what an apply does not decide: bookkeeping metadata, k0stack's own
/// annotations, status.
fn content(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o["metadata"].as_object_mut() {
        for k in ["resourceVersion", "managedFields", "generation"] {
            m.remove(k);
        }
        if let Some(a) = m.get_mut("annotations").and_then(Value::as_object_mut) {
            a.retain(|k, _| !k.starts_with("k0stack.io/"));
            if a.is_empty() {
                m.remove("annotations");
            }
        }
    }
    if let Some(m) = o.as_object_mut() {
        m.remove("status");
    }
    o
}

/// True when the dry-run result of applying the manifest object equals the live object.
pub fn same_content(live: &Value, would: &Value) -> bool {
    content(live) == content(would)
}

/// Deletes the manifest's objects that k0stack installed (see the module doc), last
/// installed first; returns what was left, and why.
pub async fn uninstall(kube: &kube::Client, text: &str, legacy: bool) -> Vec<String> {
    let Ok(objects) = manifest::parse(text) else {
        return vec![];
    };
    let mut left = Vec::new();
    for obj in objects.iter().rev() {
        let what = manifest::describe(obj);
        match existing(kube, obj).await {
            Ok(None) => {}
            Ok(Some((_, _, o))) if Owner::of(&o).is_none() && !legacy => {
                left.push(format!("{what} (not installed by k0stack)"));
            }
            Ok(Some((ar, ns, o))) => {
                let name = o["metadata"]["name"].as_str().unwrap_or_default();
                if let Err(e) = kube_io::delete(kube, &ar, ns.as_deref(), name).await {
                    left.push(format!("{what}: {e}"));
                }
            }
            Err(e) => left.push(format!("{what}: {e}")),
        }
    }
    left
}

/// Every object of the manifest's CRDs, in any namespace: `(namespace, "Kind ns/name")`.
pub async fn crd_objects(
    kube: &kube::Client,
    text: &str,
) -> Result<Vec<(String, String)>, KubeError> {
    let Ok(objects) = manifest::parse(text) else {
        return Ok(vec![]);
    };
    let mut out = Vec::new();
    for crd in objects
        .iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition")
    {
        let spec = &crd["spec"];
        let versions = spec["versions"].as_array().cloned().unwrap_or_default();
        let version = versions
            .iter()
            .find(|v| v["storage"] == true)
            .or_else(|| versions.first())
            .and_then(|v| v["name"].as_str());
        let (Some(group), Some(kind), Some(plural), Some(version)) = (
            spec["group"].as_str(),
            spec["names"]["kind"].as_str(),
            spec["names"]["plural"].as_str(),
            version,
        ) else {
            continue;
        };
        let ar = kube_io::resource(group, version, kind, plural);
        let items = match kube_io::list(kube, &ar, None).await {
            Ok(items) => items,
            Err(KubeError::Object {
                code: Some(404), ..
            }) => continue,
            Err(e) => return Err(e),
        };
        for o in items {
            let ns = o["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let name = o["metadata"]["name"].as_str().unwrap_or_default();
            let who = if ns.is_empty() {
                name.to_string()
            } else {
                format!("{ns}/{name}")
            };
            out.push((ns, format!("{kind} {who}")));
        }
    }
    Ok(out)
}

/// Names of the k0smotron `Cluster`s in `ns` (every namespace with None), as `ns/name`
/// when listing all. No k0smotron: none.
pub async fn control_planes(
    clients: &Clients,
    kube: &kube::Client,
    ns: Option<&str>,
) -> Result<Vec<String>, KubeError> {
    let Ok(api) = api(clients, kube).await else {
        return Ok(vec![]);
    };
    let items = kube_io::list(kube, &kube_io::cluster_resource(api), ns).await?;
    Ok(items
        .iter()
        .filter_map(|o| {
            let name = o["metadata"]["name"].as_str()?;
            Some(match ns {
                Some(_) => name.to_string(),
                None => format!(
                    "{}/{name}",
                    o["metadata"]["namespace"].as_str().unwrap_or_default()
                ),
            })
        })
        .collect())
}

/// Deletes the `Cluster`s `names` in `ns` and waits until they are gone.
pub async fn delete_control_planes(
    clients: &Clients,
    kube: &kube::Client,
    ns: &str,
    names: &[String],
    timeout: std::time::Duration,
) -> Result<(), String> {
    let api = api(clients, kube).await.map_err(|e| e.to_string())?;
    let ar = kube_io::cluster_resource(api);
    for n in names {
        kube_io::delete(kube, &ar, Some(ns), n)
            .await
            .map_err(|e| e.to_string())?;
    }
    let (kube, ns) = (kube.clone(), ns.to_string());
    wait::until(
        &format!("hosted control planes in {ns} to be deleted"),
        timeout,
        Backoff::default(),
        || {
            let (kube, ar, ns) = (kube.clone(), ar.clone(), ns.clone());
            async move {
                let left = kube_io::list(&kube, &ar, Some(&ns)).await?;
                Ok::<_, KubeError>(if left.is_empty() {
                    Check::Ready(())
                } else {
                    Check::Pending(format!("{} left", left.len()))
                })
            }
        },
    )
    .await
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_what_an_apply_decides_counts_as_a_change() {
        let live = json!({
            "metadata": {"name": "op", "resourceVersion": "7", "generation": 2,
                "managedFields": [{"manager": "k0stack"}],
                "annotations": {"k0stack.io/owner": "i", "k0stack.io/owner-phase": "created"}},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"image": "k0smotron:v1"}]}}},
            "status": {"availableReplicas": 1}
        });
        let would = json!({
            "metadata": {"name": "op", "resourceVersion": "7", "generation": 3},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"image": "k0smotron:v1"}]}}}
        });
        assert!(same_content(&live, &would));
        let edited = json!({
            "metadata": {"name": "op"},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"image": "evil:latest"}]}}}
        });
        assert!(!same_content(&edited, &would));
    }
}

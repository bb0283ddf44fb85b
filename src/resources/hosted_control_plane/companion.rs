//! The companion ConfigMap `<name>-k0stack-owner`: the ownership bookkeeping of a
//! control plane's `Cluster`, kept off the `Cluster`.
//!
//! # Why not on the Cluster
//!
//! k0smotron copies the `Cluster`'s annotations into its control plane StatefulSet's pod
//! template and hashes the template (`k0smotron.io/statefulset-hash`), so every annotation
//! change rolls the control plane pods; it copies the `Cluster`'s labels into the
//! StatefulSet's selector, which is immutable, so a label change makes every later
//! StatefulSet update fail (k0sproject/k0smotron
//! `internal/controller/k0smotron.io/k0smotroncluster_statefulset.go` `generateStatefulSet`,
//! `internal/controller/util/util.go` `AnnotationsForK0smotronCluster`,
//! `LabelsForK0smotronCluster`; v1.10.9, v2.0.0). A create renews its lease every few
//! seconds, so a lease on the `Cluster` would restart the control plane every few seconds
//! while the create waits for it. The `Cluster` therefore gets its metadata once, at the
//! POST (`k0stack.io/owner=<instance>` and the managed labels), and never again.
//!
//! # What the companion says
//!
//! It is an owned object like the others ([`crate::framework::ownership`]): created first,
//! with [`crate::resources::owned::create_or_adopt`], so the `creating` phase, the lease and
//! the adoption of an interrupted create work exactly as on any owned object. Its data binds
//! it to one `Cluster`: `cluster-owner` (the `Cluster`'s owner annotation, absent: the
//! companion's own instance, as after a create; empty: a `Cluster` with no owner annotation)
//! and `cluster-uid` (when known). When it binds the live `Cluster`, its owner annotations
//! are the `Cluster`'s ownership ([`view`]); otherwise (a `Cluster` of an earlier provider
//! version, the companion deleted, or a stale companion of a `Cluster` that is gone) the
//! `Cluster`'s own annotations decide, as before. An import or a claim takes a `Cluster`
//! over by rewriting the companion, never the `Cluster`. It also holds which node ports
//! the provider allocated (`allocated-ports`, see [`super::ports`]).

use serde_json::{json, Map, Value};

use crate::framework::ownership::{self, Owner, LEASE, OWNER, PHASE};
use crate::resources::kube_io::{self, KubeError};

use super::object::managed_labels;
use super::ports::ALLOCATED_ANNOTATION;

/// Data key: the `Cluster`'s owner annotation the companion is bound to.
pub const CLUSTER_OWNER: &str = "cluster-owner";
/// Data key: the uid of the `Cluster` the companion is bound to.
pub const CLUSTER_UID: &str = "cluster-uid";
/// Data key: which node ports the provider allocated (`api`, `konnectivity`).
pub const ALLOCATED: &str = "allocated-ports";

/// The companion's name for the `Cluster` `cluster`.
pub fn name(cluster: &str) -> String {
    format!("{cluster}-k0stack-owner")
}

/// The companion a create makes (the create stamps its owner annotations).
pub fn object(ns: &str, cluster: &str, allocated: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": { "name": name(cluster), "namespace": ns, "labels": managed_labels(cluster) },
        "data": { ALLOCATED: allocated },
    })
}

fn cluster_owner_annotation(cluster: &Value) -> &str {
    cluster["metadata"]["annotations"][OWNER]
        .as_str()
        .unwrap_or_default()
}

/// Whether `companion` is the bookkeeping of the live `cluster`.
pub fn binds(companion: &Value, cluster: &Value) -> bool {
    let data = &companion["data"];
    let bound_owner = match data[CLUSTER_OWNER].as_str() {
        Some(o) => o.to_string(),
        None => match Owner::of(companion) {
            Some(o) => o.instance,
            None => return false,
        },
    };
    let uid_ok = match data[CLUSTER_UID].as_str().filter(|u| !u.is_empty()) {
        Some(u) => cluster["metadata"]["uid"].as_str() == Some(u),
        None => true,
    };
    uid_ok && bound_owner == cluster_owner_annotation(cluster)
}

/// The `Cluster` as its ownership goes: its owner annotations replaced by the companion's
/// when the companion binds it, else as it is. Every ownership rule
/// ([`ownership::claim`], [`crate::resources::owned::check_ours`],
/// [`super::identity::recognise`]) applies to this view.
pub fn view(cluster: &Value, companion: Option<&Value>) -> Value {
    let Some(c) = companion.filter(|c| binds(c, cluster)) else {
        return cluster.clone();
    };
    let mut out = cluster.clone();
    let mine = &c["metadata"]["annotations"];
    let annotations = match out["metadata"]["annotations"].as_object_mut() {
        Some(a) => a,
        None => {
            out["metadata"]["annotations"] = json!({});
            out["metadata"]["annotations"]
                .as_object_mut()
                .expect("object")
        }
    };
    for key in [OWNER, PHASE, LEASE] {
        match mine[key].as_str() {
            Some(v) => annotations.insert(key.to_string(), json!(v)),
            None => annotations.remove(key),
        };
    }
    out
}

/// The allocated ports as recorded: the companion's when it binds, else the `Cluster`'s
/// annotation (written by earlier versions); None when neither says.
pub fn allocated(cluster: &Value, companion: Option<&Value>) -> Option<String> {
    companion
        .filter(|c| binds(c, cluster))
        .and_then(|c| c["data"][ALLOCATED].as_str())
        .or_else(|| cluster["metadata"]["annotations"][ALLOCATED_ANNOTATION].as_str())
        .map(String::from)
}

/// The merge patch (or, for a new companion, the metadata and data) that binds the
/// companion to `cluster` for `instance`, created; `allocated` None removes the key.
fn binding(
    cluster: &Value,
    instance: &str,
    allocated: Option<&str>,
) -> (Map<String, Value>, Value) {
    let annotations = Owner::created(instance).annotations();
    let data = json!({
        CLUSTER_OWNER: cluster_owner_annotation(cluster),
        CLUSTER_UID: cluster["metadata"]["uid"].as_str().unwrap_or_default(),
        ALLOCATED: allocated,
    });
    (annotations, data)
}

/// The live companion of the `Cluster` `cluster` in `ns`.
pub async fn get(kube: &kube::Client, ns: &str, cluster: &str) -> Result<Option<Value>, KubeError> {
    kube_io::get(
        kube,
        &kube_io::configmap_resource(),
        Some(ns),
        &name(cluster),
    )
    .await
}

/// Makes `instance` the owner of the live `cluster` (phase created) by writing its
/// companion — creating it, or rewriting one of k0stack's — and never the `Cluster`:
/// an import, the claim of a `Cluster` of an earlier version, or the end of a create whose
/// `Cluster` carried the `creating` phase itself.
pub async fn bind(
    kube: &kube::Client,
    cluster: &Value,
    instance: &str,
    allocated: Option<&str>,
) -> Result<Value, KubeError> {
    let ns = cluster["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default();
    let cname = cluster["metadata"]["name"].as_str().unwrap_or_default();
    let ar = kube_io::configmap_resource();
    let (annotations, data) = binding(cluster, instance, allocated);
    match get(kube, ns, cname).await? {
        Some(existing) => {
            let labelled = super::identity::labelled_for(&existing, cname);
            if Owner::of(&existing).is_none() && !labelled {
                return Err(KubeError::Api(format!(
                    "ConfigMap {ns}/{} exists and was not created by k0stack; remove or rename it",
                    name(cname)
                )));
            }
            let patch = json!({ "metadata": { "annotations": annotations, "labels": managed_labels(cname) }, "data": data });
            kube_io::patch_merge(kube, &ar, Some(ns), &name(cname), &patch).await
        }
        None => {
            let mut obj = object(ns, cname, "");
            obj["data"] = strip_nulls(data);
            ownership::stamp(&mut obj, &Owner::created(instance));
            kube_io::create(kube, &ar, &obj).await
        }
    }
}

fn strip_nulls(mut v: Value) -> Value {
    if let Some(m) = v.as_object_mut() {
        m.retain(|_, x| !x.is_null());
    }
    v
}

/// Records `allocated` in the companion when it binds `cluster` and says otherwise
/// (the configuration moved a port between allocated and configured). A `Cluster` without
/// a companion (an earlier version's) gets one, for `instance`.
pub async fn record_allocated(
    kube: &kube::Client,
    cluster: &Value,
    companion: Option<&Value>,
    instance: Option<&str>,
    allocated: &str,
) -> Result<(), KubeError> {
    if self::allocated(cluster, companion).as_deref() == Some(allocated) {
        return Ok(());
    }
    match companion.filter(|c| binds(c, cluster)) {
        Some(c) => {
            let ns = c["metadata"]["namespace"].as_str();
            let n = c["metadata"]["name"].as_str().unwrap_or_default();
            let patch = json!({ "data": { ALLOCATED: allocated } });
            kube_io::patch_merge(kube, &kube_io::configmap_resource(), ns, n, &patch).await?;
        }
        None => {
            if let Some(i) = instance {
                bind(kube, cluster, i, Some(allocated)).await?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::ownership::{claim, Claim};

    fn cluster(owner: Option<&str>) -> Value {
        let mut c = json!({"metadata": {"name": "dev", "namespace": "ns", "uid": "u1"}});
        if let Some(o) = owner {
            c["metadata"]["annotations"] = json!({ OWNER: o });
        }
        c
    }

    fn companion(owner: &Owner, data: Value) -> Value {
        let mut c = object("ns", "dev", "api");
        c["data"]
            .as_object_mut()
            .unwrap()
            .extend(data.as_object().unwrap().clone());
        ownership::stamp(&mut c, owner);
        c
    }

    #[test]
    fn a_created_clusters_companion_decides_its_phase() {
        let now = 1_000;
        let live = cluster(Some("a"));
        // The create runs: its companion holds the lease, the Cluster says only who.
        let running = companion(&Owner::creating("a", now), json!({}));
        let v = view(&live, Some(&running));
        assert_eq!(claim(&v, Some("a"), now), Claim::Ours);
        assert!(matches!(claim(&v, None, now + 1), Claim::Busy { .. }));
        assert_eq!(
            claim(&v, None, now + 60),
            Claim::Interrupted {
                instance: "a".into()
            },
            "an interrupted create is adopted by the next one"
        );
        let done = companion(&Owner::created("a"), json!({}));
        assert_eq!(
            claim(&view(&live, Some(&done)), Some("b"), now + 60),
            Claim::Foreign {
                instance: "a".into()
            }
        );
        // The view never writes: the Cluster itself is unchanged.
        assert_eq!(live, cluster(Some("a")));
    }

    #[test]
    fn without_a_binding_companion_the_cluster_decides() {
        let now = 1_000;
        // A Cluster of an earlier version: its own phase and lease.
        let mut old = cluster(Some("a"));
        ownership::stamp(&mut old, &Owner::creating("a", now));
        assert_eq!(view(&old, None), old);
        assert!(matches!(
            claim(&view(&old, None), None, now + 1),
            Claim::Busy { .. }
        ));
        // A Cluster with only the owner annotation (its companion deleted): created.
        assert_eq!(
            claim(&view(&cluster(Some("a")), None), Some("b"), now),
            Claim::Foreign {
                instance: "a".into()
            }
        );
        // A stale companion of another Cluster of the name does not speak for this one.
        let stale = companion(&Owner::created("b"), json!({}));
        assert!(!binds(&stale, &cluster(Some("a"))));
        let other_uid = companion(&Owner::created("a"), json!({CLUSTER_UID: "u2"}));
        assert!(!binds(&other_uid, &cluster(Some("a"))));
        assert_eq!(
            claim(&view(&cluster(None), Some(&stale)), Some("b"), now),
            Claim::Unowned
        );
    }

    #[test]
    fn an_import_rebinds_the_companion_not_the_cluster() {
        let now = 1_000;
        // Imported from instance a by instance c: the Cluster still says a.
        let live = cluster(Some("a"));
        let (annotations, data) = binding(&live, "c", Some("api"));
        let imported = json!({"metadata": {"annotations": annotations}, "data": data});
        let v = view(&live, Some(&imported));
        assert_eq!(claim(&v, Some("c"), now), Claim::Ours);
        assert_eq!(
            claim(&v, Some("a"), now),
            Claim::Foreign {
                instance: "c".into()
            }
        );
        assert!(v["metadata"]["annotations"].get(LEASE).is_none());
        // A Cluster without owner annotation, bound by its uid.
        let bare = cluster(None);
        let (annotations, data) = binding(&bare, "c", None);
        let claimed = json!({"metadata": {"annotations": annotations}, "data": strip_nulls(data)});
        assert_eq!(
            claim(&view(&bare, Some(&claimed)), Some("c"), now),
            Claim::Ours
        );
        let mut another = bare.clone();
        another["metadata"]["uid"] = json!("u9");
        assert_eq!(
            claim(&view(&another, Some(&claimed)), Some("c"), now),
            Claim::Unowned
        );
    }

    #[test]
    fn allocated_ports_prefer_the_companion() {
        let mut live = cluster(Some("a"));
        assert_eq!(allocated(&live, None), None);
        live["metadata"]["annotations"][ALLOCATED_ANNOTATION] = json!("api,konnectivity");
        assert_eq!(allocated(&live, None).as_deref(), Some("api,konnectivity"));
        let c = companion(&Owner::created("a"), json!({ALLOCATED: "konnectivity"}));
        assert_eq!(allocated(&live, Some(&c)).as_deref(), Some("konnectivity"));
    }
}

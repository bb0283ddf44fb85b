//! The objects one control plane owns in the management cluster — its `Cluster`, the kine
//! Secret and the manifests ConfigMap beside it, and the companion that keeps the
//! `Cluster`'s ownership ([`super::companion`]) — created, claimed and kept in step with
//! the spec, each only when it is provably this instance's (rules in [`super::identity`]
//! and [`crate::framework::ownership`]). k0smotron's own `<name>-ca`, `<name>-kubeconfig`
//! and other Secrets are k0smotron's: never touched here.

use kube::core::ApiResource;
use serde_json::Value;

use crate::framework::ownership::{self, Owner};
use crate::resources::kube_io::{self, KubeError};
use crate::resources::owned::{self, Created, LeaseTarget, OwnedError};

use super::identity;
use super::model::{kine_secret_name, manifests_configmap_name, HcpSpec};
use super::object;

/// Creates `obj` owned by `instance` ([`owned::create_or_adopt`]: an interrupted create's
/// object is adopted, anything else that exists is refused). An adopted object gets `obj`
/// applied (the interrupted create may have written another spec).
pub async fn create_owned(
    kube: &kube::Client,
    ar: &ApiResource,
    obj: &Value,
    instance: &str,
) -> Result<Created, OwnedError> {
    let mut created = owned::create_or_adopt(kube, ar, obj, instance).await?;
    if created.adopted {
        created.object = kube_io::apply(kube, ar, obj).await?;
    }
    Ok(created)
}

fn ns_name(obj: &Value) -> (Option<&str>, &str) {
    (
        obj["metadata"]["namespace"].as_str(),
        obj["metadata"]["name"].as_str().unwrap_or_default(),
    )
}

/// Writes `instance` as the owner of an existing object beside the `Cluster` (phase
/// created): a legacy object (no annotation, recorded uid), an import, or a re-claimed
/// one. Never used on the `Cluster` itself: its ownership goes to its companion.
pub async fn claim(
    kube: &kube::Client,
    ar: &ApiResource,
    obj: &Value,
    instance: &str,
) -> Result<Value, KubeError> {
    let (ns, name) = ns_name(obj);
    let patch = ownership::owner_patch(&Owner::created(instance));
    kube_io::patch_merge(kube, ar, ns, name, &patch).await
}

/// What sits beside the `Cluster` `name` in `ns`: (resource, object name, desired object
/// when the spec asks for it).
fn beside_objects(spec: &HcpSpec) -> [(ApiResource, String, Option<Value>); 2] {
    [
        (
            kube_io::secret_resource(),
            kine_secret_name(&spec.name),
            object::kine_secret(spec),
        ),
        (
            kube_io::configmap_resource(),
            manifests_configmap_name(&spec.name),
            object::manifests_configmap(spec),
        ),
    ]
}

/// The resources and names of the objects beside the `Cluster` `name` (for destroy and
/// import, which have no spec).
pub fn beside_names(name: &str) -> [(ApiResource, String); 2] {
    [
        (kube_io::secret_resource(), kine_secret_name(name)),
        (
            kube_io::configmap_resource(),
            manifests_configmap_name(name),
        ),
    ]
}

/// Claims for `instance` the kine Secret and manifests ConfigMap that belong with the
/// `Cluster` `name`: unowned ones labelled for it (written by an earlier version), or those
/// of the instance `previous` it was taken over from (import). Failures are logged: the
/// objects stay unowned, and destroy still recognises them by their labels.
pub async fn claim_beside(
    kube: &kube::Client,
    ns: &str,
    name: &str,
    previous: Option<&str>,
    instance: &str,
) {
    for (ar, obj) in beside_names(name) {
        if let Ok(Some(o)) = kube_io::get(kube, &ar, Some(ns), &obj).await {
            if identity::beside_is_ours(&o, previous, name, true) {
                if let Err(e) = claim(kube, &ar, &o, instance).await {
                    tracing::warn!(object = %obj, "cannot claim: {e}");
                }
            }
        }
    }
}

/// The objects a create holds with its lease (their owner annotation says `creating`).
pub type Holding = Vec<(LeaseTarget, Value)>;

/// Brings the kine Secret and the manifests ConfigMap to what `spec` asks. `fresh`: the
/// control plane was just created (not adopted), so nothing of it exists yet: the objects
/// it wants are created (an existing one of that name is refused), nothing is read.
/// Otherwise, one the spec wants is created owned by `instance` (a state of an earlier
/// version, `None`: applied without owner, claimed at the next refresh) or applied when it
/// is ours (claimed too, when it carried no owner yet); one it does not want is deleted
/// only when ours — and only by [`prune_beside`], after the `Cluster` no longer refers to
/// it (deleting first would leave the control plane pods a volume that is gone until the
/// roll). An object of that name that is not ours is an error, and left as it is.
/// Returns the objects created (a create holds them with its lease).
pub async fn sync_beside(
    kube: &kube::Client,
    spec: &HcpSpec,
    instance: Option<&str>,
    fresh: bool,
) -> Result<Holding, String> {
    let ns = spec.namespace.as_str();
    let mut created = Vec::new();
    for (ar, name, want) in beside_objects(spec) {
        let who = format!("{} {ns}/{name}", ar.kind);
        let live = match fresh {
            true => None,
            false => kube_io::get(kube, &ar, Some(ns), &name)
                .await
                .map_err(|e| e.to_string())?,
        };
        let ours = live
            .as_ref()
            .map(|l| identity::beside_is_ours(l, instance, &spec.name, true));
        match (want, live, ours) {
            (Some(obj), None, _) => match instance {
                Some(i) => {
                    let c = create_owned(kube, &ar, &obj, i)
                        .await
                        .map_err(|e| format!("{e}: {}", not_ours_hint(&who)))?;
                    created.push(((ar, Some(ns.to_string()), name), c.object));
                }
                None => {
                    kube_io::apply(kube, &ar, &obj)
                        .await
                        .map_err(|e| e.to_string())?;
                }
            },
            (Some(obj), Some(l), Some(true)) => {
                if let (Some(i), None) = (instance, ownership::Owner::of(&l)) {
                    claim(kube, &ar, &l, i).await.map_err(|e| e.to_string())?;
                }
                let applied = kube_io::apply(kube, &ar, &obj)
                    .await
                    .map_err(|e| e.to_string())?;
                if let Some(patch) = object::data_removals(&applied, &obj) {
                    kube_io::patch_merge(kube, &ar, Some(ns), &name, &patch)
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
            (Some(_), Some(_), _) => {
                return Err(format!(
                    "{who} exists and is not this control plane's (it carries another k0stack owner, or no k0stack labels): {}",
                    not_ours_hint(&who)
                ))
            }
            (None, _, _) => {}
        }
    }
    Ok(created)
}

/// Deletes the objects beside the `Cluster` that `spec` no longer wants, when ours; run
/// once the `Cluster` applied without them has settled.
pub async fn prune_beside(
    kube: &kube::Client,
    spec: &HcpSpec,
    instance: Option<&str>,
) -> Result<(), String> {
    let ns = spec.namespace.as_str();
    for (ar, name, want) in beside_objects(spec) {
        if want.is_some() {
            continue;
        }
        let live = kube_io::get(kube, &ar, Some(ns), &name)
            .await
            .map_err(|e| e.to_string())?;
        if live.is_some_and(|l| identity::beside_is_ours(&l, instance, &spec.name, true)) {
            kube_io::delete(kube, &ar, Some(ns), &name)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

fn not_ours_hint(who: &str) -> String {
    format!("the provider never takes over an object it did not create; remove or rename {who}, or give the control plane another name")
}

/// Marks what a create held as created (its create returns; the state records it).
/// Failures are only logged: the next refresh marks them.
pub async fn mark_all_created(kube: &kube::Client, holding: &Holding, instance: &str) {
    for ((ar, _, name), obj) in holding {
        if let Err(e) = owned::mark_created(kube, ar, obj, instance).await {
            tracing::warn!(object = %name, "cannot mark the object created (the next refresh does): {e}");
        }
    }
}

/// Deletes the objects beside the `Cluster` `name` that are this instance's, its
/// companion last (destroy runs after the `Cluster` is gone); returns what was left and
/// why (not ours, or the delete failed).
pub async fn delete_beside(
    kube: &kube::Client,
    ns: &str,
    name: &str,
    instance: Option<&str>,
    cluster_ours: bool,
) -> Vec<String> {
    let mut left = Vec::new();
    let record = (kube_io::configmap_resource(), super::companion::name(name));
    for (ar, obj) in beside_names(name).into_iter().chain([record]) {
        let who = format!("{} {ns}/{obj}", ar.kind);
        match kube_io::get(kube, &ar, Some(ns), &obj).await {
            Ok(None) => {}
            Ok(Some(o)) if identity::beside_is_ours(&o, instance, name, cluster_ours) => {
                if let Err(e) = kube_io::delete(kube, &ar, Some(ns), &obj).await {
                    left.push(format!("{who}: {e}"));
                }
            }
            Ok(Some(_)) => left.push(format!("{who}: not this control plane's, left as it is")),
            Err(e) => left.push(format!("{who}: {e}")),
        }
    }
    left
}

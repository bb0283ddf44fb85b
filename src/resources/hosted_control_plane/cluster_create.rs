//! A create's `Cluster`: its companion ([`super::companion`]) first, owned the normal way
//! (so an interrupted create is adopted and a running one waited for), then the `Cluster`
//! POSTed with only `k0stack.io/owner` and the managed labels — metadata it keeps for
//! good. What the create holds with its lease is the companion, never the `Cluster`.

use std::time::Duration;

use kube::core::ApiResource;
use serde_json::{json, Value};

use crate::framework::ownership::{self, Claim, Owner, OWNER};
use crate::resources::kube_io::{self, KubeError};
use crate::resources::owned::{self, Created, OwnedError};

use super::companion;
use super::object;

/// A `Cluster` a create holds: the object, the instance it belongs to (ours, or that of
/// the interrupted create adopted), whether it existed already, and its companion.
#[derive(Debug, Clone)]
pub struct HeldCluster {
    pub object: Value,
    pub instance: String,
    pub adopted: bool,
    pub companion: Value,
}

fn who(cluster: &Value) -> (String, String) {
    (
        cluster["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        cluster["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// Creates `cluster` for `instance` (see the module doc); `allocated`: the node ports the
/// provider allocated, recorded in the companion. An existing `Cluster` of this resource's
/// interrupted create is adopted (its spec applied, its metadata left as it is); anything
/// else that exists is [`OwnedError::Exists`], and the companion is removed again.
pub async fn create_cluster(
    kube: &kube::Client,
    ar: &ApiResource,
    cluster: &Value,
    allocated: &str,
    instance: &str,
) -> Result<HeldCluster, OwnedError> {
    let (ns, name) = who(cluster);
    let held = take_companion(
        kube,
        ar,
        &companion::object(&ns, &name, allocated),
        instance,
        &name,
    )
    .await?;
    match post(kube, ar, cluster, held).await {
        Ok(mut h) => {
            if h.adopted {
                let mut desired = cluster.clone();
                object::keep_live_metadata(&mut desired, &h.object);
                h.object = kube_io::apply(kube, ar, &desired).await?;
            }
            Ok(h)
        }
        Err((e, record)) => {
            drop_companion(kube, &record).await;
            Err(e)
        }
    }
}

/// The companion, created or adopted for `instance`. One of k0stack's left by a `Cluster`
/// that is gone (deleted out of band) is stale: removed, and created anew.
async fn take_companion(
    kube: &kube::Client,
    ar: &ApiResource,
    record: &Value,
    instance: &str,
    name: &str,
) -> Result<Created, OwnedError> {
    let cm = kube_io::configmap_resource();
    let ns = record["metadata"]["namespace"].as_str().unwrap_or_default();
    for _ in 0..3 {
        let err = match owned::create_or_adopt(kube, &cm, record, instance).await {
            Ok(c) => return Ok(c),
            Err(e @ OwnedError::Kube(_)) => return Err(e),
            Err(e) => e,
        };
        let live = kube_io::get(kube, ar, Some(ns), name).await?;
        match (err, live) {
            (OwnedError::Exists { owner: Some(o), .. }, None) => {
                tracing::info!(companion = %companion::name(name), instance = %o, "removing the bookkeeping of a control plane that no longer exists");
                kube_io::delete(kube, &cm, Some(ns), &companion::name(name)).await?;
            }
            (OwnedError::Busy { owner, .. }, _) => {
                return Err(OwnedError::Busy {
                    kind: ar.kind.clone(),
                    who: format!("{ns}/{name}"),
                    owner,
                })
            }
            (_, Some(live)) => {
                let record = companion::get(kube, ns, name).await?;
                return Err(exists(ar, &companion::view(&live, record.as_ref())));
            }
            (e, None) => return Err(e),
        }
    }
    Err(OwnedError::Kube(KubeError::Api(format!(
        "the ConfigMap {ns}/{} keeps reappearing",
        companion::name(name)
    ))))
}

fn exists(ar: &ApiResource, view: &Value) -> OwnedError {
    let (ns, name) = who(view);
    OwnedError::Exists {
        kind: ar.kind.clone(),
        who: format!("{ns}/{name}"),
        owner: Owner::of(view).map(|o| o.instance),
    }
}

type Failed = (OwnedError, Value);

/// POSTs the `Cluster` as `held.instance`'s; on 409 decides by the ownership
/// [view](companion::view) of the live one.
async fn post(
    kube: &kube::Client,
    ar: &ApiResource,
    cluster: &Value,
    held: Created,
) -> Result<HeldCluster, Failed> {
    let (ns, name) = who(cluster);
    let (instance, record) = (held.instance, held.object);
    let give_up = tokio::time::Instant::now() + ownership::LEASE_DURATION * 2;
    loop {
        let mut obj = cluster.clone();
        obj["metadata"]["annotations"][OWNER] = json!(instance);
        let done = |object, adopted, record| HeldCluster {
            object,
            instance: instance.clone(),
            adopted,
            companion: record,
        };
        match kube_io::create(kube, ar, &obj).await {
            Ok(o) => return Ok(done(o, held.adopted, record)),
            Err(KubeError::Object {
                code: Some(409), ..
            }) => {}
            Err(e) => return Err((e.into(), record)),
        }
        let live = match kube_io::get(kube, ar, Some(&ns), &name).await {
            Ok(Some(l)) => l,
            Ok(None) => continue, // deleted meanwhile: create again
            Err(g) => return Err((g.into(), record)),
        };
        let view = companion::view(&live, Some(&record));
        match ownership::claim(&view, Some(&instance), ownership::now_secs()) {
            Claim::Ours => return Ok(done(live, true, record)),
            Claim::Interrupted { instance: theirs } => {
                return adopt_earlier(kube, live, record, theirs).await
            }
            Claim::Busy {
                instance: theirs,
                until,
            } if tokio::time::Instant::now() < give_up => {
                let wait = until.saturating_sub(ownership::now_secs()).max(1);
                tracing::info!(cluster = %format!("{ns}/{name}"), instance = %theirs, "another create holds the Cluster for {wait} s more; waiting");
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
            Claim::Busy {
                instance: theirs, ..
            } => {
                let who = format!("{ns}/{name}");
                let busy = OwnedError::Busy {
                    kind: ar.kind.clone(),
                    who,
                    owner: theirs,
                };
                return Err((busy, record));
            }
            Claim::Unowned | Claim::Foreign { .. } => return Err((exists(ar, &view), record)),
        }
    }
}

/// The `Cluster` of an interrupted create of an earlier provider version (its phase and
/// lease on the `Cluster` itself): the companion takes over that create's lease and
/// instance, and the `Cluster` is left as it is.
async fn adopt_earlier(
    kube: &kube::Client,
    live: Value,
    record: Value,
    theirs: String,
) -> Result<HeldCluster, Failed> {
    let (ns, name) = who(&live);
    let patch = ownership::owner_patch(&Owner::creating(&theirs, ownership::now_secs()));
    let cm = kube_io::configmap_resource();
    let record =
        match kube_io::patch_merge(kube, &cm, Some(&ns), &companion::name(&name), &patch).await {
            Ok(r) => r,
            Err(e) => return Err((e.into(), record)),
        };
    tracing::info!(cluster = %format!("{ns}/{name}"), instance = %theirs, "adopted the Cluster of an interrupted create");
    Ok(HeldCluster {
        object: live,
        instance: theirs,
        adopted: true,
        companion: record,
    })
}

/// Removes a companion whose `Cluster` this create did not get (best effort: a companion
/// left `creating` expires, and the next create adopts or replaces it).
async fn drop_companion(kube: &kube::Client, record: &Value) {
    let ns = record["metadata"]["namespace"].as_str();
    let name = record["metadata"]["name"].as_str().unwrap_or_default();
    if let Err(e) = kube_io::delete(kube, &kube_io::configmap_resource(), ns, name).await {
        tracing::warn!(companion = %name, "cannot remove the bookkeeping of a create that did not happen: {e}");
    }
}

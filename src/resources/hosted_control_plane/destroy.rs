//! Destroy: deletes the `Cluster`, the kine Secret, the manifests ConfigMap and the
//! companion ([`super::companion`]), each only when it is this instance's. A foreign object of the same name (this resource's own is
//! gone) is left with a warning. k0smotron deletes its own Secrets (`<name>-ca`,
//! `<name>-kubeconfig`, ...) when the `Cluster` goes, before it removes its finalizer.

use tf_provider::{AttributePath, Diagnostics};

use crate::framework::diag;
use crate::framework::wait::{self, Backoff, Check};
use crate::provider::ProviderHandle;
use crate::resources::kube_io::{self, KubeError};
use crate::resources::owned;

use super::companion;
use super::identity;
use super::model::*;
use super::owning;
use super::resource::{api_for, kube_error};

/// `destroy` of the resource: `None` after an error (the resource stays in the state).
pub(super) async fn destroy(
    handle: &ProviderHandle,
    diags: &mut Diagnostics,
    state: State,
) -> Option<()> {
    let (clients, kube) = handle
        .management_for(diags, &state.management_kubeconfig)
        .await?;
    let (ns, name) = (
        known(&state.namespace).unwrap_or_default(),
        known(&state.name).unwrap_or_default(),
    );
    let connected = match kube_io::cluster_uid(&kube).await {
        Ok(u) => u,
        Err(e) if kube_io::unreachable(&e) => {
            diags.add_error(diag::error(
                "Management cluster unreachable",
                format!("Cannot delete the hosted control plane {ns}/{name}: {e}. If the management cluster's endpoint moved, \
                         run terraform apply first (it records the configured management_kubeconfig), then destroy."),
                AttributePath::root(),
            ));
            return None;
        }
        Err(e) => {
            kube_error(diags, "Cannot identify the management cluster", e);
            return None;
        }
    };
    if let Err(e) =
        identity::check_cluster(known(&state.management_cluster_uid).as_deref(), &connected)
    {
        diags.add_error(diag::error(
            "Connected to another management cluster",
            format!("Cannot delete the hosted control plane {ns}/{name}: {e}"),
            AttributePath::root(),
        ));
        return None;
    }
    let api = match api_for(&clients, &kube, &state.k0smotron_api_version).await {
        Ok(a) => a,
        Err(e) => {
            kube_error(diags, "Cannot use k0smotron", e);
            return None;
        }
    };
    let ar = kube_io::cluster_resource(api);
    let instance = known(&state.instance_id);
    let read = async {
        let live = kube_io::get(&kube, &ar, Some(&ns), &name).await?;
        let record = companion::get(&kube, &ns, &name).await?;
        Ok::<_, KubeError>(live.map(|l| companion::view(&l, record.as_ref())))
    };
    // The Cluster as its ownership goes (its companion's owner when it binds it).
    let live = match read.await {
        Ok(l) => l,
        Err(e) => {
            kube_error(diags, "Cannot read the hosted control plane", e);
            return None;
        }
    };
    let mut left = Vec::new();
    let cluster_ours = match &live {
        None => true, // already gone: what is left beside it may still be ours
        Some(obj) => {
            match owned::check_ours(obj, instance.as_deref(), known(&state.uid).as_deref()) {
                Ok(()) => {
                    delete_and_wait(&kube, &ar, &ns, &name, &state, diags).await?;
                    true
                }
                Err(why) => {
                    left.push(format!("{} {ns}/{name}: {why}", ar.kind));
                    false
                }
            }
        }
    };
    left.extend(owning::delete_beside(&kube, &ns, &name, instance.as_deref(), cluster_ours).await);
    if !left.is_empty() {
        diags.add_warning(diag::error(
            "Left behind after deleting the hosted control plane",
            format!(
                "Not deleted (not this resource's, or the delete failed):\n{}",
                left.join("\n")
            ),
            AttributePath::root(),
        ));
    }
    Some(())
}

/// Deletes the Cluster and waits until k0smotron removed its finalizer.
async fn delete_and_wait(
    kube: &kube::Client,
    ar: &kube::core::ApiResource,
    ns: &str,
    name: &str,
    state: &State,
    diags: &mut Diagnostics,
) -> Option<()> {
    if let Err(e) = kube_io::delete(kube, ar, Some(ns), name).await {
        kube_error(diags, "Cannot delete the hosted control plane", e);
        return None;
    }
    let timeout =
        crate::framework::timeouts::resolve(state.timeouts.as_ref_option(), DEFAULT_TIMEOUTS)
            .map(|t| t.delete)
            .unwrap_or(DEFAULT_TIMEOUT);
    let what = format!("hosted control plane {ns}/{name} to be deleted");
    let gone = wait::until(&what, timeout, Backoff::default(), || {
        let (kube, ar, ns, name) = (kube.clone(), ar.clone(), ns.to_string(), name.to_string());
        async move {
            Ok::<_, KubeError>(match kube_io::get(&kube, &ar, Some(&ns), &name).await? {
                None => Check::Ready(()),
                Some(obj) => Check::Pending(format!(
                    "still present, finalizers: {}",
                    obj["metadata"]["finalizers"]
                )),
            })
        }
    })
    .await;
    if let Err(e) = gone {
        diags.add_error(diag::error(
            "Hosted control plane not deleted",
            format!("{e}. The Cluster is marked for deletion; k0smotron must remove its finalizer (is the k0smotron controller running?)."),
            AttributePath::root(),
        ));
        return None;
    }
    Some(())
}

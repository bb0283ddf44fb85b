//! Import by `<namespace>/<name>`, in both documented setups.
//!
//! - Default: the provider's `kubernetes` block reaches the management cluster.
//! - Bootstrap: the provider has no `kubernetes` block, and control planes carry
//!   `management_kubeconfig = k0stack_management_cluster.<x>.kubeconfig`. Terraform's import
//!   passes only the id, never the configuration, so the connection comes from the file
//!   named by [`KUBECONFIG_ENV`]; its content is recorded as `management_kubeconfig`, so the
//!   first plan is empty when the configuration passes the same kubeconfig.
//!
//! Import is the explicit way to recover a lost state, so it claims the object: a new
//! instance id in the `Cluster`'s companion ([`super::companion`]; the `Cluster`'s own
//! annotations are left as they are), and in the owner annotations of the objects beside
//! it (an object another instance owned is taken over, with a warning: that instance's
//! state no longer changes or deletes it). A `Cluster` that
//! a `K0smotronControlPlane` owns (Cluster API, k0rdent) is refused: its controller manages it.

use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};

use crate::framework::diag;
use crate::framework::ownership::{self, new_instance_id, Claim};
use crate::provider::{Clients, ProviderHandle};
use crate::resources::kube_io;

use super::companion;
use super::identity;
use super::model::*;
use super::owning;
use super::resource::{api_for, kube_error};

/// The environment variable naming a kubeconfig file for `terraform import`.
pub const KUBECONFIG_ENV: &str = "K0STACK_MANAGEMENT_KUBECONFIG";

fn import_error(diags: &mut Diagnostics, summary: &str, detail: impl Into<String>) {
    diags.add_error(diag::error(summary, detail, AttributePath::root()));
}

/// What to do when neither the variable nor a `kubernetes` block gives a connection.
fn no_connection_help(id: &str) -> String {
    format!(
        "Importing a hosted control plane needs a connection to its management cluster, and Terraform passes only the id \
         to an import. Either configure the provider's kubernetes block, or (bootstrap setup, where control planes take \
         management_kubeconfig = k0stack_management_cluster.<name>.kubeconfig) write that kubeconfig to a file and name \
         it in {KUBECONFIG_ENV}:\n  terraform output -raw <kubeconfig output> > mgmt.kubeconfig\n  \
         {KUBECONFIG_ENV}=mgmt.kubeconfig terraform import <address> {id}"
    )
}

/// The management client for an import and the kubeconfig text to record (None: the
/// provider's `kubernetes` block). Worker pools import the same way.
pub(crate) async fn connection(
    clients: &Clients,
    diags: &mut Diagnostics,
    id: &str,
) -> Option<(kube::Client, Option<String>)> {
    if let Some(path) = std::env::var_os(KUBECONFIG_ENV).filter(|p| !p.is_empty()) {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                import_error(
                    diags,
                    "Cannot read the management kubeconfig",
                    format!("{KUBECONFIG_ENV}={}: {e}", path.to_string_lossy()),
                );
                return None;
            }
        };
        return match clients.client_for_kubeconfig(&text).await {
            Ok(k) => Some((k, Some(text))),
            Err(e) => {
                import_error(
                    diags,
                    "Invalid management kubeconfig",
                    format!("{KUBECONFIG_ENV}={}: {e}", path.to_string_lossy()),
                );
                None
            }
        };
    }
    match clients.kube() {
        Ok(k) => Some((k.client.clone(), None)),
        Err(_) => {
            import_error(
                diags,
                "No management cluster for import",
                no_connection_help(id),
            );
            None
        }
    }
}

/// `import` of the resource.
pub(super) async fn import(
    handle: &ProviderHandle,
    diags: &mut Diagnostics,
    id: String,
) -> Option<State> {
    let Some((ns, name)) = id
        .split_once('/')
        .filter(|(ns, n)| !ns.is_empty() && !n.is_empty() && !n.contains('/'))
    else {
        import_error(
            diags,
            "Invalid import id",
            format!(
                "{id:?}: import a hosted control plane by <namespace>/<name>, e.g. kmc-system/dev."
            ),
        );
        return None;
    };
    let clients = match handle.get() {
        Ok(c) => c,
        Err(e) => {
            import_error(diags, "Provider not configured", e.to_string());
            return None;
        }
    };
    let (kube, kubeconfig) = connection(&clients, diags, &id).await?;
    let (uid, live) = match lookup(&clients, &kube, ns, name).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            import_error(
                diags,
                "Cannot import a hosted control plane that does not exist",
                format!("There is no k0smotron Cluster {ns}/{name} in the management cluster."),
            );
            return None;
        }
        Err(e) => {
            kube_error(diags, "Cannot read the hosted control plane", e);
            return None;
        }
    };
    if let Some(cp) = identity::capi_owner(&live) {
        import_error(diags, "Managed by Cluster API", format!("The Cluster {ns}/{name} is owned by the K0smotronControlPlane {cp} (Cluster API, e.g. k0rdent): its controller manages it, and a k0stack_hosted_control_plane would fight it. Manage it through that K0smotronControlPlane (or its ClusterDeployment) instead."));
        return None;
    }
    let record = match companion::get(&kube, ns, name).await {
        Ok(r) => r,
        Err(e) => {
            kube_error(diags, "Cannot read the hosted control plane", e);
            return None;
        }
    };
    let view = companion::view(&live, record.as_ref());
    let instance = new_instance_id();
    let previous = match ownership::claim(&view, None, ownership::now_secs()) {
        Claim::Unowned | Claim::Ours => None,
        Claim::Busy { instance: o, .. } => {
            import_error(diags, "Hosted control plane being created", format!("The Cluster {ns}/{name} is being created right now by another Terraform run (k0stack instance {o}); import it after that run finished, if it failed."));
            return None;
        }
        Claim::Foreign { instance: o } | Claim::Interrupted { instance: o } => {
            diags.add_warning(diag::error(
                "Taken over from another resource instance",
                format!("The Cluster {ns}/{name} belonged to k0stack instance {o}; it now belongs to this one ({instance}). A state that still records the old instance no longer changes or deletes it: remove it there with terraform state rm."),
                AttributePath::root(),
            ));
            Some(o)
        }
    };
    // The Cluster's own metadata is never rewritten (k0smotron would roll its control
    // plane): the companion records the new owner.
    let allocated = companion::allocated(&live, record.as_ref());
    if let Err(e) = companion::bind(&kube, &live, &instance, allocated.as_deref()).await {
        kube_error(diags, "Cannot claim the hosted control plane", e);
        return None;
    }
    owning::claim_beside(&kube, ns, name, previous.as_deref(), &instance).await;
    Some(State {
        id: Value::Value(id.clone().into()),
        name: Value::Value(name.to_string().into()),
        namespace: Value::Value(ns.to_string().into()),
        management_cluster_id: Value::Value(identity::management_cluster_id(&uid, ns).into()),
        management_cluster_uid: Value::Value(uid.into()),
        management_kubeconfig: kubeconfig.map_or(Value::Null, |k| Value::Value(k.into())),
        instance_id: Value::Value(instance.into()),
        uid: live["metadata"]["uid"]
            .as_str()
            .map_or(Value::Null, |u| Value::Value(u.to_string().into())),
        wait_for_ready: Value::Value(true),
        ..Default::default()
    })
}

/// The management cluster's uid and the live Cluster (None: it does not exist).
async fn lookup(
    clients: &Clients,
    kube: &kube::Client,
    ns: &str,
    name: &str,
) -> Result<Option<(String, serde_json::Value)>, kube_io::KubeError> {
    let uid = kube_io::cluster_uid(kube).await?;
    let api = api_for(clients, kube, &Value::Null).await?;
    let live = kube_io::get(kube, &kube_io::cluster_resource(api), Some(ns), name).await?;
    Ok(live.map(|l| (uid, l)))
}

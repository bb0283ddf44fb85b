//! What this resource manages inside a Kubernetes cluster — the one the provider is
//! connected to, or the one it bootstrapped: the cluster's identity, the namespace,
//! k0smotron, the credentials Secret. Apply, read and destroy of that part.

use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};

use crate::framework::diag;
use crate::framework::ownership::{self, Claim};
use crate::provider::Clients;
use crate::resources::kube_io::{self, KubeError};
use crate::resources::owned::{self, LeaseKeeper, LeaseTarget};

use super::model::*;
use super::{credentials, identity, k0smotron, namespace};

/// A failed step: its diagnostic, and whether it created something the state must record.
#[derive(Debug)]
pub struct Failed {
    pub summary: String,
    pub detail: String,
    pub path: AttributePath,
    pub recorded: bool,
}

impl Failed {
    fn new(summary: &str, detail: impl ToString, path: AttributePath, recorded: bool) -> Self {
        Self {
            summary: summary.to_string(),
            detail: detail.to_string(),
            path,
            recorded,
        }
    }

    pub fn report(&self, diags: &mut Diagnostics) {
        diags.add_error(diag::error(&self.summary, &self.detail, self.path.clone()));
    }
}

fn other_cluster(e: &identity::OtherCluster, escape: &str) -> String {
    format!(
        "{e}. The provider's connection (kubernetes block, KUBECONFIG or management kubeconfig) now leads to another Kubernetes cluster than the one this resource manages; nothing was changed there. Point the connection back at the cluster the state records{escape}."
    )
}

/// Checks (or, at create, records) which cluster `kube` is: `s.id`.
pub(super) async fn identify(
    kube: &kube::Client,
    s: &mut State,
    recorded: bool,
) -> Result<(), Failed> {
    let ns = namespace_of(s);
    let uid = kube_io::cluster_uid(kube).await.map_err(|e| {
        Failed::new(
            "Cannot read the management cluster",
            e,
            AttributePath::root(),
            recorded,
        )
    })?;
    match known(&s.id) {
        // Planned: keep it (an id of an earlier version too: a refresh converts it).
        Some(id) => identity::refreshed(Some(&id), &uid, &ns)
            .map(|_| ())
            .map_err(|e| {
                Failed::new(
                    "Another Kubernetes cluster",
                    other_cluster(&e, ""),
                    AttributePath::root(),
                    recorded,
                )
            }),
        None => {
            s.id = Value::Value(identity::format(&uid, &ns).into());
            Ok(())
        }
    }
}

/// Creates or updates what this resource keeps in the cluster. `recorded`: the state
/// already records something (an update, or bootstrapped servers).
pub async fn apply(
    clients: &Clients,
    kube: &kube::Client,
    s: &mut State,
    prior: Option<&State>,
    recorded: bool,
    timeout: std::time::Duration,
) -> Result<(), Failed> {
    let creating = prior.is_none();
    identify(kube, s, recorded).await?;
    let ns = namespace_of(s);
    let legacy = prior.is_some_and(|p| p.instance_id.is_null());
    let instance = known(&s.instance_id).unwrap_or_else(ownership::new_instance_id);
    let legacy_created =
        legacy && prior.and_then(|p| p.namespace_created.as_ref_option().copied()) == Some(true);
    let en = namespace::ensure(kube, &ns, &instance, creating, legacy_created)
        .await
        .map_err(|e| {
            Failed::new(
                "Cannot create the namespace",
                e,
                AttributePath::new("namespace"),
                recorded,
            )
        })?;
    s.instance_id = Value::Value(en.instance.clone().into());
    // A value the plan knew stays as planned (Terraform's contract; they can only differ
    // when someone changed the namespace since the refresh, which the next one records).
    if s.namespace_created.is_unknown() {
        s.namespace_created = Value::Value(en.owned);
    }
    if s.namespace_uid.is_unknown() {
        s.namespace_uid = en
            .uid
            .clone()
            .map(|u| Value::Value(u.into()))
            .unwrap_or(Value::Null);
    }
    let mut leases: Vec<LeaseTarget> = Vec::new();
    if en.created {
        leases.push((kube_io::namespace_resource(), None, ns.clone()));
    }
    let result = apply_contents(clients, kube, s, prior, &mut leases, legacy, timeout).await;
    let instance = known(&s.instance_id).unwrap_or_default();
    if let Err(e) = mark_all_created(kube, s, &ns, &instance, en.owned).await {
        tracing::warn!("cannot mark the objects of {ns} created: {e}");
    }
    result
}

/// The Secret, k0smotron and the cluster's facts (the namespace exists).
async fn apply_contents(
    clients: &Clients,
    kube: &kube::Client,
    s: &mut State,
    prior: Option<&State>,
    leases: &mut Vec<LeaseTarget>,
    legacy: bool,
    timeout: std::time::Duration,
) -> Result<(), Failed> {
    let creating = prior.is_none();
    apply_credentials(clients, kube, s, prior, leases).await?;
    let _keeper = (creating && !leases.is_empty())
        .then(|| LeaseKeeper::start(kube.clone(), std::mem::take(leases)));
    apply_k0smotron(kube, s, prior, legacy, timeout).await?;
    remove_renamed_secret(kube, s, prior).await;
    // Read only when the plan left them unknown (create, or any update: see `plan`).
    if s.kubernetes_version.is_unknown() || s.node_count.is_unknown() {
        let (version, nodes) = kube_io::cluster_facts(kube).await.map_err(|e| {
            Failed::new(
                "Cannot read the management cluster's version",
                e,
                AttributePath::root(),
                true,
            )
        })?;
        if s.kubernetes_version.is_unknown() {
            s.kubernetes_version = Value::Value(version.into());
        }
        if s.node_count.is_unknown() {
            s.node_count = Value::Value(nodes);
        }
    }
    tracing::info!(namespace = %namespace_of(s), "management cluster ready");
    Ok(())
}

/// Writes the credentials Secret (a Secret this create made joins `leases`).
async fn apply_credentials(
    clients: &Clients,
    kube: &kube::Client,
    s: &mut State,
    prior: Option<&State>,
    leases: &mut Vec<LeaseTarget>,
) -> Result<(), Failed> {
    let ns = namespace_of(s);
    let instance = known(&s.instance_id).unwrap_or_default();
    let Some(block) = s.openstack_credentials.as_mut_option() else {
        return Ok(());
    };
    let block_path = || AttributePath::new("openstack_credentials").index(0);
    let content = match credentials::content(clients, block) {
        Ok(Some(c)) => c,
        Ok(None) => {
            return Err(Failed::new(
                "Incomplete configuration",
                "openstack_credentials.clouds_yaml is still unknown at apply time",
                block_path(),
                true,
            ))
        }
        Err(e) => {
            return Err(Failed::new(
                "No OpenStack credentials to store",
                e,
                block_path(),
                true,
            ))
        }
    };
    let name = credentials::secret_name(block);
    let named_in_state = prior
        .and_then(|p| p.openstack_credentials.as_ref_option())
        .map(credentials::secret_name)
        == Some(name.clone());
    let creating = prior.is_none();
    let stored = credentials::store(
        kube,
        &ns,
        &name,
        &content,
        &instance,
        creating,
        named_in_state,
    )
    .await
    .map_err(|e| {
        Failed::new(
            "Cannot store the OpenStack credentials",
            e,
            block_path().attribute("secret_name"),
            true,
        )
    })?;
    if stored.created {
        leases.push((kube_io::secret_resource(), Some(ns.clone()), name));
    }
    credentials::record(block, Some(&content));
    if stored.instance != instance {
        // Adopted from an interrupted create: continue as that instance.
        let _ = namespace::unmark(kube, &ns, &instance).await;
        let _ = namespace::mark_used(kube, &ns, &stored.instance).await;
        s.instance_id = Value::Value(stored.instance.into());
    }
    Ok(())
}

/// Installs `k0smotron_manifest` (when new or changed) and checks k0smotron serves its API.
async fn apply_k0smotron(
    kube: &kube::Client,
    s: &mut State,
    prior: Option<&State>,
    legacy: bool,
    timeout: std::time::Duration,
) -> Result<(), Failed> {
    let instance = known(&s.instance_id).unwrap_or_default();
    let manifest_path = || AttributePath::new("k0smotron_manifest");
    if let Some(text) = known(&s.k0smotron_manifest) {
        if legacy {
            k0smotron::claim_legacy(kube, &text, &instance)
                .await
                .map_err(|e| {
                    Failed::new(
                        "Cannot record k0smotron's objects as this resource's",
                        e,
                        manifest_path(),
                        true,
                    )
                })?;
        }
        // New, changed, or objects of it found missing by the refresh.
        let changed = prior
            .map(|p| {
                p.k0smotron_manifest != s.k0smotron_manifest
                    || !known_list(&p.k0smotron_drift).is_empty()
            })
            .unwrap_or(true);
        if changed {
            k0smotron::install(kube, &text, &instance, timeout)
                .await
                .map_err(|e| {
                    Failed::new("k0smotron installation failed", e, manifest_path(), true)
                })?;
        }
    }
    let api = kube_io::k0smotron_api(kube).await.map_err(|e| {
        let path = if s.k0smotron_manifest.is_null() {
            AttributePath::root()
        } else {
            manifest_path()
        };
        Failed::new("k0smotron is not installed", e, path, true)
    })?;
    if s.k0smotron_api_version.is_unknown() {
        s.k0smotron_api_version = Value::Value(api.as_str().into());
    }
    if s.k0smotron_drift.is_unknown() {
        s.k0smotron_drift = if s.k0smotron_manifest.is_null() {
            Value::Null
        } else {
            Value::Value(vec![])
        };
    }
    Ok(())
}

/// A Secret the prior state named and the configuration no longer does is deleted, when
/// it is this instance's.
async fn remove_renamed_secret(kube: &kube::Client, s: &State, prior: Option<&State>) {
    let Some(old) = prior.and_then(|p| p.openstack_credentials.as_ref_option()) else {
        return;
    };
    let old_name = credentials::secret_name(old);
    let now = s
        .openstack_credentials
        .as_ref_option()
        .map(credentials::secret_name);
    if now.as_deref() == Some(old_name.as_str()) {
        return;
    }
    let owner = prior.and_then(|p| known(&p.instance_id));
    match credentials::delete(kube, &namespace_of(s), &old_name, owner.as_deref()).await {
        Ok(Some(left)) => tracing::warn!("{left}"),
        Ok(None) => {}
        Err(e) => tracing::warn!("cannot delete the Secret {old_name} no longer configured: {e}"),
    }
}

/// The create returned (or failed with a state): its objects are marked `created`.
async fn mark_all_created(
    kube: &kube::Client,
    s: &State,
    ns: &str,
    instance: &str,
    namespace_owned: bool,
) -> Result<(), KubeError> {
    if namespace_owned {
        let ar = kube_io::namespace_resource();
        if let Some(o) = kube_io::get(kube, &ar, None, ns).await? {
            if ownership::claim(&o, Some(instance), 0) == Claim::Ours {
                owned::mark_created(kube, &ar, &o, instance).await?;
            }
        }
    }
    if let Some(block) = s.openstack_credentials.as_ref_option() {
        let ar = kube_io::secret_resource();
        if let Some(o) = kube_io::get(kube, &ar, Some(ns), &credentials::secret_name(block)).await?
        {
            if ownership::claim(&o, Some(instance), 0) == Claim::Ours {
                owned::mark_created(kube, &ar, &o, instance).await?;
            }
        }
    }
    Ok(())
}

/// Refreshes what is in the cluster. `bootstrapped`: the cluster is this resource's own
/// (a different identity there means it was rebuilt: a warning, and the new id).
pub async fn read(
    clients: &Clients,
    kube: &kube::Client,
    s: &mut State,
    bootstrapped: bool,
    diags: &mut Diagnostics,
) -> Result<(), Failed> {
    let ns = namespace_of(s);
    let uid = kube_io::cluster_uid(kube).await.map_err(|e| {
        Failed::new(
            "Cannot read the management cluster",
            e,
            AttributePath::root(),
            true,
        )
    })?;
    match identity::refreshed(known(&s.id).as_deref(), &uid, &ns) {
        Ok(id) => s.id = Value::Value(id.into()),
        Err(e) if bootstrapped => {
            diags.add_warning(diag::error(
                "The bootstrapped cluster was rebuilt",
                format!("{e}: its controllers now run another cluster (under the same CA), and what lived in the old one is gone. The id changes, so hosted control planes referencing it plan their re-creation."),
                AttributePath::root(),
            ));
            s.id = Value::Value(identity::format(&uid, &ns).into());
        }
        Err(e) => {
            let escape = ", or, if this resource really moved, remove it from the state (terraform state rm) and import it from the new cluster";
            return Err(Failed::new(
                "Another Kubernetes cluster",
                other_cluster(&e, escape),
                AttributePath::root(),
                true,
            ));
        }
    }
    let instance = known(&s.instance_id);
    let read_err = |e: KubeError| {
        Failed::new(
            "Cannot read the management cluster",
            e,
            AttributePath::root(),
            true,
        )
    };
    let nsr = kube_io::namespace_resource();
    match kube_io::get(kube, &nsr, None, &ns)
        .await
        .map_err(read_err)?
    {
        // Deleted out of band: kept in the state; the plan creates it again.
        None => s.namespace_uid = Value::Null,
        Some(o) => {
            s.namespace_uid = o["metadata"]["uid"]
                .as_str()
                .map(|u| Value::Value(u.to_string().into()))
                .unwrap_or(Value::Null);
            if let Some(i) = &instance {
                let claim = ownership::claim(&o, Some(i), ownership::now_secs());
                s.namespace_created = Value::Value(claim == Claim::Ours);
                // Closes the gaps of an interrupted create or a namespace made anew.
                if claim == Claim::Ours {
                    let _ = owned::mark_created(kube, &nsr, &o, i).await;
                }
                if let Err(e) = namespace::mark_used(kube, &ns, i).await {
                    tracing::debug!("cannot mark namespace {ns} used: {e}");
                }
            }
        }
    }
    if let Some(block) = s.openstack_credentials.as_mut_option() {
        let stored = credentials::read(kube, &ns, &credentials::secret_name(block))
            .await
            .map_err(|e| {
                Failed::new(
                    "Cannot read the OpenStack credentials Secret",
                    e,
                    AttributePath::root(),
                    true,
                )
            })?;
        credentials::record(block, stored.as_deref());
    }
    s.k0smotron_api_version = match kube_io::k0smotron_api(kube).await {
        Ok(api) => Value::Value(api.as_str().into()),
        Err(_) => Value::Null,
    };
    s.k0smotron_drift = match known(&s.k0smotron_manifest) {
        None => Value::Null,
        Some(text) => match k0smotron::drift(kube, &text).await {
            Ok(m) => Value::Value(m.into_iter().map(|o| Value::Value(o.into())).collect()),
            Err(e) => {
                tracing::debug!("cannot check k0smotron's objects: {e}");
                s.k0smotron_drift.clone()
            }
        },
    };
    if let Ok((version, nodes)) = kube_io::cluster_facts(kube).await {
        s.kubernetes_version = Value::Value(version.into());
        s.node_count = Value::Value(nodes);
    }
    if let (false, Ok(k)) = (bootstrapped, clients.kube()) {
        s.endpoint = Value::Value(k.server.clone().into());
    }
    Ok(())
}

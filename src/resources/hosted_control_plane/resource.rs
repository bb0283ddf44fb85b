//! CRUD of `k0stack_hosted_control_plane`: plan through the pure functions of `plan` and
//! `validate`, then talk to the management cluster through `kube_io`.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value as Json;
use tf_provider::schema::Schema;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};

use crate::framework::diag;
use crate::framework::wait::{self, Backoff, Check, WaitError};
use crate::provider::{Clients, ProviderHandle};
use crate::resources::kube_io::{self, KubeError};

use super::access;
use super::model::*;
use super::object::{self, Api};
use super::plan;
use super::schema;
use super::validate::spec_from_state;

/// Nested blocks (for attribute paths in diagnostics).
const BLOCKS: &[&str] = &[
    "service",
    "storage",
    "persistence",
    "resources",
    "timeouts",
    "etcd",
];

pub struct HostedControlPlane {
    handle: ProviderHandle,
}

impl HostedControlPlane {
    pub fn new(handle: ProviderHandle) -> Self {
        Self { handle }
    }
}

fn kube_error(diags: &mut Diagnostics, summary: &str, e: impl std::fmt::Display) {
    diags.add_error(diag::error(summary, e.to_string(), AttributePath::root()));
}

/// The k0smotron API: the one recorded in state, else detected once per provider process.
async fn api_for(clients: &Clients, kube: &kube::Client, recorded: &Str) -> Result<Api, KubeError> {
    access::api_for(clients, kube, known(recorded).as_deref()).await
}

fn set(v: &mut Str, s: Option<String>) {
    *v = match s {
        Some(s) => Value::Value(s.into()),
        None => Value::Null,
    };
}

/// True when the Cluster reports ready for its current generation.
fn ready_for_generation(obj: &Json, api: Api) -> (bool, String) {
    let (ready, summary) = object::readiness(&obj["status"], api);
    if api == Api::V1beta2 {
        let generation = obj["metadata"]["generation"].as_i64();
        let observed = obj["status"]["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Available"))
            .and_then(|c| c["observedGeneration"].as_i64());
        if let (Some(g), Some(o)) = (generation, observed) {
            if o < g {
                return (
                    false,
                    format!("{summary} (generation {g} not yet observed by k0smotron, at {o})"),
                );
            }
        }
    }
    (ready, summary)
}

/// Fills the computed outputs from the object and k0smotron's Secrets.
async fn fill_outputs(
    kube: &kube::Client,
    s: &mut State,
    obj: &Json,
    api: Api,
) -> Result<(), KubeError> {
    let obs = object::observe(obj, api);
    let (name, ns) = (
        known(&s.name).unwrap_or_default(),
        known(&s.namespace).unwrap_or_default(),
    );
    set(&mut s.external_address, obs.external_address.clone());
    set(&mut s.uid, obs.uid.clone());
    set(&mut s.status, Some(obs.status.clone()));
    set(&mut s.k0smotron_api_version, Some(api.as_str().to_string()));
    s.id = Value::Value(format!("{ns}/{name}").into());
    let ca = kube_io::secret_data(kube, &ns, &format!("{name}-ca"))
        .await?
        .and_then(|d| d.get("tls.crt").cloned())
        .and_then(|b| String::from_utf8(b).ok());
    let out = access::kubeconfig_outputs(kube, obj, api, &ns, &name).await?;
    set(&mut s.endpoint, out.endpoint);
    set(&mut s.ca_certificate, ca);
    set(&mut s.kubeconfig, out.kubeconfig);
    set(&mut s.client_certificate, out.client_certificate);
    set(&mut s.client_key, out.client_key);
    Ok(())
}

/// After a failed apply the state is still saved (the Cluster exists), and Terraform
/// rejects a new state with unknown values in it: what could not be read becomes null.
fn settle_unknowns(s: &mut State) {
    for v in [
        &mut s.external_address,
        &mut s.uid,
        &mut s.status,
        &mut s.k0smotron_api_version,
        &mut s.image,
        &mut s.endpoint,
        &mut s.ca_certificate,
        &mut s.kubeconfig,
        &mut s.client_certificate,
        &mut s.client_key,
    ] {
        if v.is_unknown() {
            *v = Value::Null;
        }
    }
}

/// Drift: copies what the live object says into the state, for the fields the user owns.
fn absorb_drift(s: &mut State, obs: &object::Observed) {
    if let (Some(live), Some(ours)) = (&obs.version, known(&s.k0s_version)) {
        if !object::same_version(live, &ours) {
            s.k0s_version = Value::Value(live.clone().into());
        }
    }
    if let Some(r) = obs.replicas {
        s.replicas = Value::Value(r);
    }
    if s.image.is_value() {
        set(&mut s.image, obs.image.clone());
    }
    if let Some(svc) = s.service.as_mut_option() {
        if svc.kind.is_value() || obs.service_type.as_deref() != Some("ClusterIP") {
            set(&mut svc.kind, obs.service_type.clone());
        }
        if let Some(p) = obs.api_port {
            svc.api_port = Value::Value(p);
        }
        if let Some(p) = obs.konnectivity_port {
            svc.konnectivity_port = Value::Value(p);
        }
    }
    if let (Some(st), Some(live)) = (s.storage.as_mut_option(), &obs.storage_type) {
        if known(&st.kind).as_deref() != Some(live.as_str()) {
            st.kind = Value::Value(live.clone().into());
        }
    }
    if s.control_plane_flags.is_value() {
        s.control_plane_flags = Value::Value(
            obs.control_plane_flags
                .iter()
                .map(|f| Value::Value(f.clone().into()))
                .collect(),
        );
    }
}

/// After an import, fills the arguments from the live object so that a configuration
/// matching it plans nothing.
fn adopt_live(s: &mut State, obs: &object::Observed) {
    set(&mut s.k0s_version, obs.version.clone());
    s.replicas = Value::Value(obs.replicas.unwrap_or(1));
    if obs
        .image
        .as_deref()
        .is_some_and(|i| i != "quay.io/k0sproject/k0s")
    {
        set(&mut s.image, obs.image.clone());
    }
    let default_service = obs.service_type.as_deref().unwrap_or("ClusterIP") == "ClusterIP"
        && obs.api_port.unwrap_or(DEFAULT_API_PORT as i64) == DEFAULT_API_PORT as i64
        && obs
            .konnectivity_port
            .unwrap_or(DEFAULT_KONNECTIVITY_PORT as i64)
            == DEFAULT_KONNECTIVITY_PORT as i64;
    if !default_service {
        s.service = Value::Value(ServiceBlock {
            kind: Value::Value(
                obs.service_type
                    .clone()
                    .unwrap_or_else(|| "ClusterIP".into())
                    .into(),
            ),
            api_port: Value::Value(obs.api_port.unwrap_or(DEFAULT_API_PORT as i64)),
            konnectivity_port: Value::Value(
                obs.konnectivity_port
                    .unwrap_or(DEFAULT_KONNECTIVITY_PORT as i64),
            ),
        });
    }
    if let Some(t) = &obs.storage_type {
        if obs.storage_explicit {
            s.storage = Value::Value(StorageBlock {
                kind: Value::Value(t.clone().into()),
                ..Default::default()
            });
        }
    }
    if !obs.control_plane_flags.is_empty() {
        s.control_plane_flags = Value::Value(
            obs.control_plane_flags
                .iter()
                .map(|f| Value::Value(f.clone().into()))
                .collect(),
        );
    }
    s.wait_for_ready = Value::Value(true);
}

impl HostedControlPlane {
    /// Create or update: apply the objects, wait for readiness, record the outputs. On any
    /// failure after the Cluster exists, the returned state still records it (Terraform
    /// taints it), so nothing leaks.
    async fn apply(
        &self,
        diags: &mut Diagnostics,
        planned: State,
        timeout: fn(&HcpSpec) -> Duration,
    ) -> Option<(State, ValueEmpty)> {
        let (clients, kube) = self
            .handle
            .management_for(diags, &planned.management_kubeconfig)
            .await?;
        let (spec, problems) = spec_from_state(&planned);
        let Some(spec) = spec else {
            problems.report(diags, BLOCKS);
            if diags.errors.is_empty() {
                diags.add_error(diag::error(
                    "Incomplete configuration",
                    "some values are still unknown at apply time",
                    AttributePath::root(),
                ));
            }
            return None;
        };
        let api = match api_for(&clients, &kube, &planned.k0smotron_api_version).await {
            Ok(a) => a,
            Err(e) => {
                kube_error(diags, "Cannot use k0smotron", e);
                return None;
            }
        };
        if let Err(e) = kube_io::ensure_namespace(&kube, &spec.namespace).await {
            kube_error(diags, "Cannot create the namespace", e);
            return None;
        }
        for obj in [object::kine_secret(&spec)].into_iter().flatten() {
            if let Err(e) = kube_io::apply(&kube, &kube_io::secret_resource(), &obj).await {
                kube_error(diags, "Cannot store the kine data source", e);
                return None;
            }
        }
        let cm = kube_io::configmap_resource();
        match object::manifests_configmap(&spec) {
            Some(obj) => {
                if let Err(e) = kube_io::apply(&kube, &cm, &obj).await {
                    kube_error(diags, "Cannot store the manifests", e);
                    return None;
                }
            }
            None => {
                if let Err(e) = kube_io::delete(
                    &kube,
                    &cm,
                    Some(&spec.namespace),
                    &manifests_configmap_name(&spec.name),
                )
                .await
                {
                    kube_error(diags, "Cannot remove the manifests ConfigMap", e);
                    return None;
                }
            }
        }
        let ar = kube_io::cluster_resource(api);
        let applied = match kube_io::apply(&kube, &ar, &object::cluster_object(&spec, api)).await {
            Ok(o) => o,
            Err(e) => {
                kube_error(diags, "Cannot apply the k0smotron Cluster", e);
                return None;
            }
        };
        let mut state = planned;
        state.namespace = Value::Value(spec.namespace.clone().into());
        let mut current = applied;
        if spec.wait_for_ready {
            let what = format!(
                "hosted control plane {}/{} to be ready",
                spec.namespace, spec.name
            );
            let waited = wait::until(&what, timeout(&spec), Backoff::default(), || {
                let (kube, ar, ns, name) = (
                    kube.clone(),
                    ar.clone(),
                    spec.namespace.clone(),
                    spec.name.clone(),
                );
                async move {
                    match kube_io::get(&kube, &ar, Some(&ns), &name).await? {
                        None => {
                            Ok::<_, KubeError>(Check::Pending("the Cluster disappeared".into()))
                        }
                        Some(obj) => {
                            let (ready, summary) = ready_for_generation(&obj, api);
                            Ok(if ready {
                                Check::Ready(obj)
                            } else {
                                Check::Pending(summary)
                            })
                        }
                    }
                }
            })
            .await;
            match waited {
                Ok(obj) => current = obj,
                Err(e) => {
                    let detail = match &e {
                        WaitError::Timeout { .. } => format!("{e}. The Cluster exists and is recorded in the state; fix the cause and apply again."),
                        WaitError::Failed(inner) => format!("{inner}"),
                    };
                    diags.add_error(diag::error(
                        "Hosted control plane not ready",
                        detail,
                        AttributePath::root(),
                    ));
                    let _ = fill_outputs(&kube, &mut state, &current, api).await;
                    settle_unknowns(&mut state);
                    return Some((state, ValueEmpty::default()));
                }
            }
        }
        if let Err(e) = fill_outputs(&kube, &mut state, &current, api).await {
            kube_error(diags, "Cannot read the hosted control plane's outputs", e);
            settle_unknowns(&mut state);
            return Some((state, ValueEmpty::default()));
        }
        tracing::info!(cluster = %format!("{}/{}", spec.namespace, spec.name), status = %known(&state.status).unwrap_or_default(), "hosted control plane applied");
        Some((state, ValueEmpty::default()))
    }
}

#[async_trait]
impl Resource for HostedControlPlane {
    type State<'a> = State;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema::schema())
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        spec_from_state(&config).1.report(diags, BLOCKS);
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let (clients, kube) = self
            .handle
            .management_for(diags, &state.management_kubeconfig)
            .await?;
        let api = match api_for(&clients, &kube, &state.k0smotron_api_version).await {
            Ok(a) => a,
            Err(e) => {
                kube_error(diags, "Cannot use k0smotron", e);
                return None;
            }
        };
        let (ns, name) = (
            known(&state.namespace).unwrap_or_default(),
            known(&state.name).unwrap_or_default(),
        );
        let obj = match kube_io::get(&kube, &kube_io::cluster_resource(api), Some(&ns), &name).await
        {
            Ok(Some(o)) => o,
            Ok(None) => {
                tracing::info!(cluster = %format!("{ns}/{name}"), "hosted control plane no longer exists; removing it from the state");
                return None;
            }
            Err(e) => {
                kube_error(diags, "Cannot read the hosted control plane", e);
                return None;
            }
        };
        let obs = object::observe(&obj, api);
        if obs.deleting {
            tracing::info!(cluster = %format!("{ns}/{name}"), "hosted control plane is being deleted; removing it from the state");
            return None;
        }
        let mut s = state;
        if s.k0s_version.is_null() {
            adopt_live(&mut s, &obs); // just imported: the live object is the whole truth
        }
        absorb_drift(&mut s, &obs);
        if s.management_cluster_id.is_null() {
            if let Ok(k) = clients.kube() {
                s.management_cluster_id = Value::Value(format!("{}/{ns}", k.cluster_key()).into());
            }
        }
        if let Err(e) = fill_outputs(&kube, &mut s, &obj, api).await {
            kube_error(diags, "Cannot read the hosted control plane's outputs", e);
            return None;
        }
        Some((s, private))
    }

    async fn plan_create<'a>(
        &self,
        diags: &mut Diagnostics,
        proposed: Self::State<'a>,
        config: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        spec_from_state(&config).1.report(diags, BLOCKS);
        Some((plan::plan_create(proposed), ValueEmpty::default()))
    }

    async fn plan_update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: Self::State<'a>,
        proposed: Self::State<'a>,
        config: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>, Vec<AttributePath>)> {
        spec_from_state(&config).1.report(diags, BLOCKS);
        let (planned, replace, problems) = plan::plan_update(&prior, proposed);
        problems.report(diags, BLOCKS);
        let replace = diag::attribute_paths(replace, BLOCKS);
        Some((planned, private, replace))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<Self::PrivateState<'a>> {
        Some(private)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned: Self::State<'a>,
        _config: Self::State<'a>,
        _private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        self.apply(diags, planned, |s| s.timeouts.create).await
    }

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        _prior: Self::State<'a>,
        planned: Self::State<'a>,
        _config: Self::State<'a>,
        _private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        self.apply(diags, planned, |s| s.timeouts.update).await
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        _private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<()> {
        let (clients, kube) = self
            .handle
            .management_for(diags, &state.management_kubeconfig)
            .await?;
        let api = match api_for(&clients, &kube, &state.k0smotron_api_version).await {
            Ok(a) => a,
            Err(e) => {
                kube_error(diags, "Cannot use k0smotron", e);
                return None;
            }
        };
        let (ns, name) = (
            known(&state.namespace).unwrap_or_default(),
            known(&state.name).unwrap_or_default(),
        );
        let timeout =
            crate::framework::timeouts::resolve(state.timeouts.as_ref_option(), DEFAULT_TIMEOUTS)
                .map(|t| t.delete)
                .unwrap_or(DEFAULT_TIMEOUT);
        let ar = kube_io::cluster_resource(api);
        if let Err(e) = kube_io::delete(&kube, &ar, Some(&ns), &name).await {
            kube_error(diags, "Cannot delete the hosted control plane", e);
            return None;
        }
        let what = format!("hosted control plane {ns}/{name} to be deleted");
        let gone = wait::until(&what, timeout, Backoff::default(), || {
            let (kube, ar, ns, name) = (kube.clone(), ar.clone(), ns.clone(), name.clone());
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
        let mut left = Vec::new();
        for (ar, obj) in [
            (kube_io::secret_resource(), kine_secret_name(&name)),
            (
                kube_io::configmap_resource(),
                manifests_configmap_name(&name),
            ),
        ] {
            if let Err(e) = kube_io::delete(&kube, &ar, Some(&ns), &obj).await {
                left.push(format!("{} {ns}/{obj}: {e}", ar.kind));
            }
        }
        if !left.is_empty() {
            diags.add_warning(diag::error(
                "Left behind after deleting the hosted control plane",
                left.join("\n"),
                AttributePath::root(),
            ));
        }
        Some(())
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let Some((ns, name)) = id
            .split_once('/')
            .filter(|(ns, n)| !ns.is_empty() && !n.is_empty() && !n.contains('/'))
        else {
            diags.add_error(diag::error("Invalid import id", format!("{id:?}: import a hosted control plane by <namespace>/<name>, e.g. kmc-system/dev."), AttributePath::root()));
            return None;
        };
        let (clients, _) = self.handle.management(diags)?;
        let key = clients.kube().map(|k| k.cluster_key()).unwrap_or_default();
        let state = State {
            id: Value::Value(id.clone().into()),
            name: Value::Value(name.to_string().into()),
            namespace: Value::Value(ns.to_string().into()),
            management_cluster_id: Value::Value(format!("{key}/{ns}").into()),
            wait_for_ready: Value::Value(true),
            ..Default::default()
        };
        Some((state, ValueEmpty::default()))
    }
}

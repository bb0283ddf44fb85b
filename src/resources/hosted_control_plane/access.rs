//! Reaching a hosted control plane from another resource: its k0smotron API version, uid,
//! k0s version, readiness, and an admin kubeconfig whose server is the reachable endpoint.
//! The hosted control plane resource exports the same values; worker pools read them here
//! (by id, from the management cluster) so they never depend on another resource's state.

use serde_json::Value as Json;

use crate::provider::Clients;
use crate::resources::kube_io::{self, KubeError};

use super::model::DEFAULT_API_PORT;
use super::object::{self, Api};
use super::outputs::{self, Outputs};

/// The k0smotron API: the one recorded (if any), else detected once per provider process.
pub async fn api_for(
    clients: &Clients,
    kube: &kube::Client,
    recorded: Option<&str>,
) -> Result<Api, KubeError> {
    if let Some(api) = recorded.and_then(Api::parse) {
        return Ok(api);
    }
    clients
        .discovered
        .k0smotron_api
        .get_or_try_init(|| kube_io::k0smotron_api(kube))
        .await
        .copied()
}

/// Endpoint and admin kubeconfig (server rewritten to the endpoint) of the Cluster `obj`.
pub async fn kubeconfig_outputs(
    kube: &kube::Client,
    obj: &Json,
    api: Api,
    ns: &str,
    name: &str,
) -> Result<Outputs, KubeError> {
    let obs = object::observe(obj, api);
    let kubeconfig = kube_io::secret_data(kube, ns, &format!("{name}-kubeconfig"))
        .await?
        .and_then(|d| d.get("value").cloned())
        .and_then(|b| String::from_utf8(b).ok());
    let server = kubeconfig.as_deref().and_then(outputs::kubeconfig_server);
    let api_port = obs
        .api_port
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(DEFAULT_API_PORT);
    let endpoint = outputs::endpoint(obs.external_address.as_deref(), server.as_deref(), api_port);
    let mut out = kubeconfig
        .as_deref()
        .map(|k| outputs::from_kubeconfig(k, endpoint.as_deref()))
        .unwrap_or_default();
    out.endpoint = endpoint;
    Ok(out)
}

/// What a worker pool needs of its control plane.
#[derive(Clone)]
pub struct HostedAccess {
    pub api: Api,
    pub uid: String,
    pub version: Option<String>,
    pub ready: bool,
    /// Admin kubeconfig of the hosted cluster (None until k0smotron wrote it).
    pub kubeconfig: Option<String>,
    /// `ClusterIP`, `NodePort` or `LoadBalancer`: how the hosted API is exposed.
    pub service_type: Option<String>,
}

impl std::fmt::Debug for HostedAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostedAccess")
            .field("api", &self.api)
            .field("uid", &self.uid)
            .field("version", &self.version)
            .field("ready", &self.ready)
            .finish_non_exhaustive()
    }
}

/// Whether [`hosted_access`] also reads the admin kubeconfig Secret: planning needs only
/// the Cluster object (uid, version, exposure), so a plan costs one GET per pool, not two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kubeconfig {
    Read,
    Skip,
}

/// The control plane `ns/name`, or None when it does not exist (or is being deleted).
pub async fn hosted_access(
    clients: &Clients,
    kube: &kube::Client,
    ns: &str,
    name: &str,
    kubeconfig: Kubeconfig,
) -> Result<Option<HostedAccess>, KubeError> {
    let api = api_for(clients, kube, None).await?;
    let Some(obj) = kube_io::get(kube, &kube_io::cluster_resource(api), Some(ns), name).await?
    else {
        return Ok(None);
    };
    let obs = object::observe(&obj, api);
    if obs.deleting {
        return Ok(None);
    }
    // Ready means rolled: a pool must not start kubelets newer than some API server.
    let sts = super::rolled::read_statefulset(kube, ns, name).await?;
    let ready = super::rolled::judge(&obj, sts.as_ref(), api).done;
    let kubeconfig = match kubeconfig {
        Kubeconfig::Read => {
            kubeconfig_outputs(kube, &obj, api, ns, name)
                .await?
                .kubeconfig
        }
        Kubeconfig::Skip => None,
    };
    Ok(Some(HostedAccess {
        api,
        uid: obs.uid.clone().unwrap_or_default(),
        version: obs.version.clone(),
        ready,
        kubeconfig,
        service_type: obs.service_type.clone(),
    }))
}

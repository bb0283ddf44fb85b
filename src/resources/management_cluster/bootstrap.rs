//! `bootstrap { ... }`: the management cluster created on OpenStack by the provider itself.
//!
//! 1. Names are resolved like a worker pool's (`worker_pool::cloud::resolve`), so a typo
//!    fails the plan at `bootstrap.<attribute>`.
//! 2. The provider generates the cluster CA and its admin client certificate
//!    ([`crate::pki`]); the first controller receives the CA through user_data only.
//! 3. Once that controller has an address, the admin kubeconfig is known; the provider
//!    waits for the API there, then (3 controllers) creates a controller-join bootstrap
//!    token through it and boots the other controllers with a k0s token naming the first
//!    one's join API. The token Secret is deleted once they are Ready.
//! 4. A controller found gone is recreated by apply: it joins the live ones; with none left
//!    (the single controller case) it starts a new cluster with the same CA, so the
//!    kubeconfig stays valid but the cluster's data is lost.

use std::time::{Duration, SystemTime};

use tf_provider::value::Value;

use crate::cloudinit::{self, ControllerRole, ControllerTemplate};
use crate::framework::validators::dns_label;
use crate::framework::values::known;
use crate::framework::wait::{self, Backoff, Check};
use crate::framework::{Problems, Secret};
use crate::openstack::{CreateServer, OpenStack, OsError, Server};
use crate::pki::{self, Pki};
use crate::provider::Clients;
use crate::resources::kube_io;
use crate::resources::worker_pool::cloud::{self, ResolvedTemplate};
use crate::resources::worker_pool::model::{PoolSpec, SERVER_GROUP_POLICIES};
use tf_provider::value::{ValueList, ValueSet};

use super::model::*;

/// Tag of every server the provider owns, and of this cluster's controllers.
pub const TAG_OWNED: &str = "k0stack";

pub fn cluster_tag(name: &str) -> String {
    format!("k0stack-management={name}")
}

pub fn server_name(cluster: &str, index: usize) -> String {
    format!("{cluster}-controller-{index}")
}

/// The validated bootstrap settings.
#[derive(Debug, Clone, PartialEq)]
pub struct BootstrapSpec {
    pub name: String,
    pub controllers: usize,
    pub flavor: String,
    pub image: String,
    pub networks: Vec<String>,
    pub security_groups: Vec<String>,
    pub key_pair: Option<String>,
    pub k0s_version: String,
    pub k0s_download_url: Option<String>,
    pub k0smotron_version: Option<String>,
    /// `None`: no server group.
    pub server_group_policy: Option<String>,
}

/// All elements of a list, or None while the list or an element is unknown.
fn full_list(v: &ValueList<Str>) -> Option<Vec<String>> {
    match v {
        Value::Null => Some(vec![]),
        Value::Unknown => None,
        Value::Value(l) => l.iter().map(known).collect(),
    }
}

/// All elements of a set (sorted), or None while the set or an element is unknown.
fn full_set(v: &ValueSet<Str>) -> Option<Vec<String>> {
    match v {
        Value::Null => Some(vec![]),
        Value::Unknown => None,
        Value::Value(l) => l.iter().map(known).collect(),
    }
}

/// The name, default applied.
pub fn name(b: &BootstrapBlock) -> Option<String> {
    match &b.name {
        Value::Null => Some(DEFAULT_BOOTSTRAP_NAME.to_string()),
        v => known(v),
    }
}

/// The server group policy, default applied: anti-affinity for 3 controllers, none for 1.
pub fn policy(b: &BootstrapBlock) -> Value<String> {
    match (&b.server_group_policy, &b.controllers) {
        (Value::Value(p), _) => Value::Value(p.to_string()),
        (Value::Unknown, _) | (Value::Null, Value::Unknown) => Value::Unknown,
        (Value::Null, Value::Value(n)) if *n > 1 => Value::Value("anti-affinity".into()),
        (Value::Null, _) => Value::Value("none".into()),
    }
}

/// Static checks of the block (paths under `bootstrap`), with `manifest` the resource's
/// `k0smotron_manifest`.
pub fn validate(b: &BootstrapBlock, manifest: &Str, p: &mut Problems) {
    if let Value::Value(n) = &b.controllers {
        if *n != 1 && *n != 3 {
            p.push(
                &["bootstrap", "controllers"],
                "Invalid number of controllers",
                format!("controllers = {n}: use 1 (a single controller that also runs workloads) or 3 (a highly available etcd quorum that survives the loss of one controller). With 2, losing either controller loses quorum."),
            );
        }
    }
    if let Some(n) = known(&b.name) {
        if let Err(e) = dns_label(&n, 40) {
            p.push(&["bootstrap", "name"], "Invalid name", e);
        }
    }
    if let Some(pol) = known(&b.server_group_policy) {
        if !SERVER_GROUP_POLICIES.contains(&pol.as_str()) {
            p.push(
                &["bootstrap", "server_group_policy"],
                "Invalid server group policy",
                format!(
                    "{pol:?} is not one of {}.",
                    SERVER_GROUP_POLICIES.join(", ")
                ),
            );
        }
    }
    if let Some(nets) = full_list(&b.networks) {
        if nets.is_empty() {
            p.push(
                &["bootstrap", "networks"],
                "No network",
                "networks needs at least one network; the first gives the controllers' address.",
            );
        }
    }
    if b.floating_ip_pool.is_value() {
        p.push(
            &["bootstrap", "floating_ip_pool"],
            "Floating IPs are not supported yet",
            "this version reaches the controllers at their first network address; put them on a network reachable from where Terraform runs and leave floating_ip_pool unset.",
        );
    }
    match (&b.k0smotron_version, manifest) {
        (Value::Value(_), Value::Value(_)) => p.push(
            &["bootstrap", "k0smotron_version"],
            "Conflicting k0smotron sources",
            "set either bootstrap.k0smotron_version (the controllers fetch k0smotron's release manifest) or k0smotron_manifest (the provider applies it), not both.",
        ),
        (Value::Null, Value::Null) => p.push(
            &["bootstrap", "k0smotron_version"],
            "k0smotron not specified",
            "a bootstrapped cluster has no k0smotron: set bootstrap.k0smotron_version or k0smotron_manifest.",
        ),
        _ => {}
    }
}

/// The typed settings (None while a value is unknown).
pub fn spec(b: &BootstrapBlock) -> Option<BootstrapSpec> {
    let controllers = match &b.controllers {
        Value::Null => 1,
        Value::Value(n) => usize::try_from(*n).ok()?,
        Value::Unknown => return None,
    };
    let server_group_policy = match policy(b) {
        Value::Value(p) if p == "none" => None,
        Value::Value(p) => Some(p),
        _ => return None,
    };
    let opt = |v: &Str| -> Option<Option<String>> {
        match v {
            Value::Unknown => None,
            v => Some(known(v)),
        }
    };
    Some(BootstrapSpec {
        name: name(b)?,
        controllers,
        flavor: known(&b.flavor)?,
        image: known(&b.image)?,
        networks: full_list(&b.networks)?,
        security_groups: full_set(&b.security_groups)?,
        key_pair: opt(&b.key_pair)?,
        k0s_version: known(&b.k0s_version)?,
        k0s_download_url: opt(&b.k0s_download_url)?,
        k0smotron_version: opt(&b.k0smotron_version)?,
        server_group_policy,
    })
}

/// Resolves flavor, image, networks, security groups and key pair (problems at
/// `bootstrap.<attribute>`), through the worker pools' resolution.
pub async fn resolve(os: &OpenStack, s: &BootstrapSpec) -> Result<ResolvedTemplate, Problems> {
    let pool = PoolSpec {
        name: s.name.clone(),
        hcp_namespace: String::new(),
        hcp_name: String::new(),
        size: s.controllers as u32,
        flavor: s.flavor.clone(),
        image: s.image.clone(),
        networks: s.networks.clone(),
        security_groups: s.security_groups.clone(),
        key_pair: s.key_pair.clone(),
        availability_zones: vec![],
        server_group_policy: s.server_group_policy.clone(),
        boot_volume: None,
        metadata: Default::default(),
        labels: Default::default(),
        taints: vec![],
        k0s_version: Some(s.k0s_version.clone()),
        k0s_download_url: s.k0s_download_url.clone(),
        image_bundle: None,
        kubelet_extra_args: None,
        extra_user_data: None,
        max_surge: 1,
        max_unavailable: 0,
        drain_enabled: false,
        drain_timeout: Duration::ZERO,
        ignore_pdb_after: None,
        wait_for_nodes: true,
        max_parallel: 3,
        stopped_members: Default::default(),
        timeouts: DEFAULT_TIMEOUTS,
    };
    cloud::resolve(os, &pool, &s.k0s_version)
        .await
        .map_err(|mut p| {
            for e in &mut p.0 {
                e.path.insert(0, "bootstrap".into());
            }
            p
        })
}

/// The PKI recorded in the state (None before create).
pub fn recorded_pki(b: &BootstrapBlock, ca_certificate: &Str) -> Option<Pki> {
    Some(Pki {
        ca_cert: known(ca_certificate)?,
        ca_key: known(&b.ca_key)?,
        admin_cert: known(&b.admin_certificate)?,
        admin_key: known(&b.admin_key)?,
    })
}

fn member_of(s: &Server, first_network: &str) -> Member {
    Member {
        id: Value::Value(s.id.clone().into()),
        name: Value::Value(s.name.clone().into()),
        ip: match s.first_ip(Some(first_network)).or_else(|| s.first_ip(None)) {
            Some(ip) => Value::Value(ip.into()),
            None => Value::Null,
        },
        status: Value::Value(s.status.clone().into()),
    }
}

/// The recorded members with their current Nova status (`DELETED` when gone).
pub async fn observe(os: &OpenStack, members: &[Member]) -> Result<Vec<Member>, OsError> {
    let mut out = Vec::new();
    for m in members {
        let Some(id) = known(&m.id) else { continue };
        match os.get_server(&id).await? {
            Some(s) => {
                let mut seen = member_of(&s, "");
                if seen.ip.is_null() {
                    seen.ip = m.ip.clone();
                }
                out.push(seen);
            }
            None => out.push(Member {
                status: Value::Value("DELETED".into()),
                ..m.clone()
            }),
        }
    }
    Ok(out)
}

/// What a controller's Nova status means for the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// ACTIVE: running.
    Live,
    /// Stopped by someone (SHUTOFF, SHELVED, SHELVED_OFFLOADED, SUSPENDED, PAUSED): its disk
    /// holds this controller's etcd data, so it is never deleted or replaced automatically
    /// (with one controller that would start an empty cluster under the same CA).
    Stopped,
    /// On its way somewhere (BUILD, REBOOT, MIGRATING, RESIZE, ...): left alone.
    Transitional,
    /// ERROR, or gone (DELETED): replaced by the next apply.
    Failed,
}

/// The statuses that mean an operator (or the cloud) stopped the server.
pub const STOPPED: &[&str] = &[
    "SHUTOFF",
    "SHELVED",
    "SHELVED_OFFLOADED",
    "SUSPENDED",
    "PAUSED",
];

/// Classifies a Nova status; only ERROR and gone count as failed.
pub fn condition(status: Option<&str>) -> Condition {
    match status {
        Some("ACTIVE") => Condition::Live,
        Some("ERROR") | Some("DELETED") => Condition::Failed,
        Some(s) if STOPPED.contains(&s) => Condition::Stopped,
        _ => Condition::Transitional,
    }
}

pub fn condition_of(m: &Member) -> Condition {
    condition(known(&m.status).as_deref())
}

pub fn is_live(m: &Member) -> bool {
    condition_of(m) == Condition::Live
}

pub fn is_failed(m: &Member) -> bool {
    condition_of(m) == Condition::Failed
}

/// `name (id) is SHUTOFF`, and how to bring it back.
pub fn stopped_advice(m: &Member) -> String {
    let id = known(&m.id).unwrap_or_default();
    format!(
        "controller {} ({id}) is {}. A stopped controller is never deleted or replaced automatically: its disk holds its etcd data. Start it with `openstack server start {id}`; the next plan then shows it ACTIVE again. To replace it instead, delete it (`openstack server delete {id}`) and apply.",
        known(&m.name).unwrap_or_default(),
        known(&m.status).unwrap_or_default()
    )
}

/// What [`converge`] reached (members are recorded even when it failed part way).
pub struct Converged {
    pub members: Vec<Member>,
    /// Address of the controller the kubeconfig names.
    pub endpoint_ip: Option<String>,
    pub error: Option<String>,
}

/// Creates what is missing of the cluster: `members[i]` is controller `i` (recorded, maybe
/// gone). Returns the members and the controller the kubeconfig should name.
#[allow(clippy::too_many_arguments)]
pub async fn converge(
    os: &OpenStack,
    clients: &Clients,
    spec: &BootstrapSpec,
    rt: &ResolvedTemplate,
    pki: &Pki,
    server_group: Option<&str>,
    recorded: Vec<Member>,
    preferred: Option<&str>,
    timeout: Duration,
) -> Converged {
    // Only failed controllers (ERROR, gone) make room for a new one; stopped or busy ones
    // keep their place.
    let mut members: Vec<Option<Member>> = (0..spec.controllers)
        .map(|i| recorded.get(i).cloned().filter(|m| !is_failed(m)))
        .collect();
    // Servers recorded but broken (ERROR) are deleted before their replacement is made.
    for m in recorded.iter().filter(|m| is_failed(m)) {
        if let Some(id) = known(&m.id) {
            if let Err(e) = os.delete_server(&id).await {
                tracing::warn!("cannot delete the broken controller {id}: {e}");
            }
        }
    }
    let mut out = Converged {
        members: vec![],
        endpoint_ip: None,
        error: None,
    };
    let finish = |members: &[Option<Member>], mut out: Converged, error: Option<String>| {
        out.members = members.iter().flatten().cloned().collect();
        out.error = error;
        out
    };
    let template = ControllerTemplate {
        k0s_version: spec.k0s_version.clone(),
        download_url: spec.k0s_download_url.clone(),
        k0smotron_version: spec.k0smotron_version.clone(),
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let left = || deadline.saturating_duration_since(tokio::time::Instant::now());
    if members.iter().all(Option::is_none) {
        if !recorded.is_empty() {
            tracing::warn!(cluster = %spec.name, "no controller of the management cluster is left: starting a new one with the same CA (the cluster's data is lost)");
        }
        let ud = cloudinit::render_controller(
            &template,
            &ControllerRole::Init {
                ca_cert: &pki.ca_cert,
                ca_key: &pki.ca_key,
            },
        );
        match create_and_wait(os, spec, rt, server_group, &[0], &ud, left()).await {
            Ok(mut ms) => members[0] = ms.pop(),
            Err((ms, e)) => {
                members[0] = ms.into_iter().next();
                return finish(&members, out, Some(e));
            }
        }
    }
    let endpoint = match endpoint_member(&members, preferred) {
        Ok(m) => known(&m.ip).unwrap_or_default(),
        Err(e) => return finish(&members, out, Some(e)),
    };
    out.endpoint_ip = Some(endpoint.clone());
    let kubeconfig = pki::admin_kubeconfig(&spec.name, &pki::api_url(&endpoint), pki);
    let client = match clients.client_for_kubeconfig(&kubeconfig).await {
        Ok(c) => c,
        Err(e) => return finish(&members, out, Some(format!("the admin kubeconfig: {e}"))),
    };
    if let Err(e) = wait_api(&client, &endpoint, left()).await {
        return finish(&members, out, Some(e));
    }
    let missing: Vec<usize> = (0..spec.controllers)
        .filter(|i| members[*i].is_none())
        .collect();
    if !missing.is_empty() {
        let (id, secret) = pki::new_bootstrap_token();
        let expires = pki::rfc3339(SystemTime::now() + timeout.max(Duration::from_secs(600)));
        let token_secret = pki::controller_token_secret(&id, &secret, &expires);
        if let Err(e) = kube_io::apply(&client, &kube_io::secret_resource(), &token_secret).await {
            return finish(
                &members,
                out,
                Some(format!("cannot create the controller join token: {e}")),
            );
        }
        let token = Secret::new(pki::controller_join_token(
            &endpoint,
            &pki.ca_cert,
            &id,
            &secret,
        ));
        let ud = cloudinit::render_controller(&template, &ControllerRole::Join { token: &token });
        let result = create_and_wait(os, spec, rt, server_group, &missing, &ud, left()).await;
        let (created, error) = match result {
            Ok(ms) => (ms, None),
            Err((ms, e)) => (ms, Some(e)),
        };
        for m in created {
            let idx = known(&m.name)
                .and_then(|n| n.rsplit('-').next().and_then(|i| i.parse::<usize>().ok()))
                .filter(|i| *i < members.len());
            if let Some(i) = idx {
                members[i] = Some(m);
            }
        }
        if error.is_none() {
            let names = running_names(&members);
            if let Err(e) = wait_nodes(&client, &names, left()).await {
                return finish(&members, out, Some(e));
            }
        }
        let _ = kube_io::delete(
            &client,
            &kube_io::secret_resource(),
            Some("kube-system"),
            &format!("bootstrap-token-{id}"),
        )
        .await;
        if error.is_some() {
            return finish(&members, out, error);
        }
    }
    let names = running_names(&members);
    if let Err(e) = wait_nodes(&client, &names, left()).await {
        return finish(&members, out, Some(e));
    }
    finish(&members, out, None)
}

/// The controller the kubeconfig names: `preferred` (the address the plan showed) while it
/// runs, else the first running one, else one on its way up; with only stopped ones, an
/// error saying how to start them.
fn endpoint_member<'a>(
    members: &'a [Option<Member>],
    preferred: Option<&str>,
) -> Result<&'a Member, String> {
    let all = || members.iter().flatten();
    all()
        .find(|m| is_live(m) && preferred.is_some() && known(&m.ip).as_deref() == preferred)
        .or_else(|| all().find(|m| is_live(m)))
        .or_else(|| all().find(|m| condition_of(m) == Condition::Transitional))
        .ok_or_else(|| {
            let advice: Vec<String> = all().map(stopped_advice).collect();
            format!(
                "no controller of the management cluster is running: {}",
                advice.join(" ")
            )
        })
}

/// Names of the controllers whose Nodes must be Ready: the running ones (a stopped
/// controller's Node is NotReady until someone starts it).
fn running_names(members: &[Option<Member>]) -> Vec<String> {
    members
        .iter()
        .flatten()
        .filter(|m| is_live(m))
        .filter_map(|m| known(&m.name))
        .collect()
}

/// Creates controllers `indexes` with `user_data` and waits until they are ACTIVE; on
/// failure, the servers that exist are returned with the error.
async fn create_and_wait(
    os: &OpenStack,
    spec: &BootstrapSpec,
    rt: &ResolvedTemplate,
    server_group: Option<&str>,
    indexes: &[usize],
    user_data: &str,
    timeout: Duration,
) -> Result<Vec<Member>, (Vec<Member>, String)> {
    let t = &rt.template;
    let mut ids = Vec::new();
    let mut error = None;
    for i in indexes {
        let req = CreateServer {
            name: server_name(&spec.name, *i),
            flavor_id: t.flavor_id.clone(),
            image_id: Some(t.image_id.clone()),
            boot_volume: None,
            networks: t.network_ids.clone(),
            security_groups: rt.security_group_names.clone(),
            key_name: t.key_pair.clone(),
            user_data: Some(Secret::new(user_data)),
            metadata: [("k0stack-role".to_string(), "controller".to_string())].into(),
            tags: vec![TAG_OWNED.to_string(), cluster_tag(&spec.name)],
            availability_zone: None,
            server_group: server_group.map(String::from),
        };
        match os.create_server(&req).await {
            Ok(id) => ids.push((id, req.name)),
            Err(e) => {
                error = Some(format!("cannot create controller {}: {e}", req.name));
                break;
            }
        }
    }
    let placeholder = |(id, name): &(String, String)| Member {
        id: Value::Value(id.clone().into()),
        name: Value::Value(name.clone().into()),
        ip: Value::Null,
        status: Value::Value("BUILD".into()),
    };
    if let Some(e) = error {
        return Err((ids.iter().map(placeholder).collect(), e));
    }
    let first_network = rt.first_network.clone();
    let waited = wait::until(
        &format!("controllers of {} to be ACTIVE", spec.name),
        timeout,
        Backoff::default(),
        || {
            let (ids, first_network) = (ids.clone(), first_network.clone());
            async move {
                let mut out = Vec::new();
                for (id, name) in &ids {
                    match os.get_server(id).await.map_err(|e| e.to_string())? {
                        None => {
                            return Err(format!(
                                "controller {name} ({id}) disappeared while booting"
                            ))
                        }
                        Some(s) if s.status == "ERROR" => {
                            return Err(format!(
                                "controller {name} ({id}) went to ERROR: {}",
                                s.fault.map(|f| f.message).unwrap_or_default()
                            ))
                        }
                        Some(s) if s.status == "ACTIVE" => out.push(member_of(&s, &first_network)),
                        Some(s) => return Ok(Check::Pending(format!("{name} is {}", s.status))),
                    }
                }
                Ok::<_, String>(Check::Ready(out))
            }
        },
    )
    .await;
    waited.map_err(|e| (ids.iter().map(placeholder).collect(), e.to_string()))
}

/// Waits until the API answers at `endpoint` with the provider's own certificate.
async fn wait_api(client: &kube::Client, endpoint: &str, timeout: Duration) -> Result<(), String> {
    wait::until(
        &format!("the Kubernetes API at {endpoint}"),
        timeout,
        Backoff::default(),
        || {
            let client = client.clone();
            async move {
                Ok::<_, String>(match kube_io::cluster_facts(&client).await {
                    Ok(_) => Check::Ready(()),
                    Err(e) => Check::Pending(e.to_string()),
                })
            }
        },
    )
    .await
    .map_err(|e| format!("{e}"))
}

/// Waits until the Nodes `names` (the controllers, which also run workloads) are Ready.
async fn wait_nodes(
    client: &kube::Client,
    names: &[String],
    timeout: Duration,
) -> Result<(), String> {
    let ar = kube_io::resource("", "v1", "Node", "nodes");
    wait::until(
        "the controllers' nodes to be Ready",
        timeout,
        Backoff::default(),
        || {
            let (client, ar) = (client.clone(), ar.clone());
            async move {
                let nodes = match kube_io::list(&client, &ar, None).await {
                    Ok(n) => n,
                    Err(e) => return Ok::<_, String>(Check::Pending(e.to_string())),
                };
                let ready: Vec<&str> = nodes
                    .iter()
                    .filter(|n| {
                        n["status"]["conditions"].as_array().is_some_and(|cs| {
                            cs.iter()
                                .any(|c| c["type"] == "Ready" && c["status"] == "True")
                        })
                    })
                    .filter_map(|n| n["metadata"]["name"].as_str())
                    .collect();
                let waiting: Vec<&String> = names
                    .iter()
                    .filter(|n| !ready.contains(&n.as_str()))
                    .collect();
                Ok(if waiting.is_empty() {
                    Check::Ready(())
                } else {
                    Check::Pending(format!("not Ready: {waiting:?}"))
                })
            }
        },
    )
    .await
    .map_err(|e| format!("{e}"))
}

/// Deletes the controllers and waits until Nova no longer has them.
pub async fn delete_all(
    os: &OpenStack,
    members: &[Member],
    timeout: Duration,
) -> Result<(), String> {
    let ids: Vec<String> = members.iter().filter_map(|m| known(&m.id)).collect();
    for id in &ids {
        os.delete_server(id)
            .await
            .map_err(|e| format!("cannot delete controller {id}: {e}"))?;
    }
    wait::until(
        "the controllers to be deleted",
        timeout,
        Backoff::default(),
        || {
            let ids = ids.clone();
            async move {
                let mut left = 0;
                for id in &ids {
                    if let Some(s) = os.get_server(id).await.map_err(|e| e.to_string())? {
                        if s.status != "DELETED" {
                            left += 1;
                        }
                    }
                }
                Ok::<_, String>(if left == 0 {
                    Check::Ready(())
                } else {
                    Check::Pending(format!("{left} left"))
                })
            }
        },
    )
    .await
    .map_err(|e| format!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block() -> BootstrapBlock {
        BootstrapBlock {
            flavor: Value::Value("m1.large".into()),
            image: Value::Value("ubuntu-24.04".into()),
            networks: Value::Value(vec![Value::Value("private".into())]),
            k0s_version: Value::Value("v1.32.6+k0s.0".into()),
            k0smotron_version: Value::Value("v1.5.0".into()),
            ..Default::default()
        }
    }

    fn paths(b: &BootstrapBlock, manifest: &Str) -> Vec<String> {
        let mut p = Problems::default();
        validate(b, manifest, &mut p);
        p.0.iter().map(|e| e.dotted_path()).collect()
    }

    #[test]
    fn two_controllers_and_conflicting_k0smotron_sources_are_refused() {
        assert!(paths(&block(), &Value::Null).is_empty());
        let two = BootstrapBlock {
            controllers: Value::Value(2),
            ..block()
        };
        assert_eq!(paths(&two, &Value::Null), ["bootstrap.controllers"]);
        assert_eq!(
            paths(&block(), &Value::Value("x".into())),
            ["bootstrap.k0smotron_version"]
        );
        let none = BootstrapBlock {
            k0smotron_version: Value::Null,
            ..block()
        };
        assert_eq!(paths(&none, &Value::Null), ["bootstrap.k0smotron_version"]);
    }

    #[test]
    fn only_error_and_gone_count_as_failed() {
        for s in [
            "SHUTOFF",
            "SHELVED",
            "SHELVED_OFFLOADED",
            "SUSPENDED",
            "PAUSED",
        ] {
            assert_eq!(condition(Some(s)), Condition::Stopped, "{s}");
        }
        for s in ["ERROR", "DELETED"] {
            assert_eq!(condition(Some(s)), Condition::Failed, "{s}");
        }
        for s in [
            "BUILD",
            "REBOOT",
            "HARD_REBOOT",
            "MIGRATING",
            "RESIZE",
            "UNKNOWN",
        ] {
            assert_eq!(condition(Some(s)), Condition::Transitional, "{s}");
        }
        assert_eq!(condition(None), Condition::Transitional);
        assert_eq!(condition(Some("ACTIVE")), Condition::Live);
    }

    fn member(i: usize, status: &str) -> Member {
        Member {
            id: Value::Value(format!("id-{i}").into()),
            name: Value::Value(server_name("m", i).into()),
            ip: Value::Value(format!("10.0.0.{i}").into()),
            status: Value::Value(status.to_string().into()),
        }
    }

    #[test]
    fn the_endpoint_is_a_running_controller_and_stopped_ones_are_not_waited_for() {
        let ms = vec![Some(member(0, "SHUTOFF")), Some(member(1, "ACTIVE")), None];
        assert_eq!(
            known(&endpoint_member(&ms, None).unwrap().ip).unwrap(),
            "10.0.0.1"
        );
        assert_eq!(running_names(&ms), vec!["m-controller-1".to_string()]);
        // The plan's endpoint stays while its controller runs.
        let three = vec![
            Some(member(0, "ACTIVE")),
            Some(member(1, "ACTIVE")),
            Some(member(2, "ACTIVE")),
        ];
        assert_eq!(
            known(&endpoint_member(&three, Some("10.0.0.2")).unwrap().ip).unwrap(),
            "10.0.0.2"
        );
        let booting = vec![Some(member(0, "SHUTOFF")), Some(member(1, "BUILD"))];
        assert_eq!(
            known(&endpoint_member(&booting, Some("10.0.0.0")).unwrap().id).unwrap(),
            "id-1"
        );
        let e = endpoint_member(&[Some(member(0, "SHUTOFF"))], None).unwrap_err();
        assert!(e.contains("openstack server start id-0"), "{e}");
        assert!(e.contains("m-controller-0 (id-0) is SHUTOFF"), "{e}");
    }

    #[test]
    fn three_controllers_default_to_anti_affinity() {
        let one = spec(&block()).unwrap();
        assert_eq!((one.controllers, one.server_group_policy), (1, None));
        let three = spec(&BootstrapBlock {
            controllers: Value::Value(3),
            ..block()
        })
        .unwrap();
        assert_eq!(three.server_group_policy.as_deref(), Some("anti-affinity"));
        assert_eq!(three.name, DEFAULT_BOOTSTRAP_NAME);
        assert_eq!(server_name(&three.name, 2), "k0stack-mgmt-controller-2");
        let unknown = BootstrapBlock {
            flavor: Value::Unknown,
            ..block()
        };
        assert_eq!(spec(&unknown), None);
    }
}

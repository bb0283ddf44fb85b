//! CRUD of `k0stack_worker_pool`. Plan resolves names against OpenStack and reads the
//! control plane (so typos and version skew fail at plan time); apply and destroy hand the
//! work to `reconcile`; read observes with one Nova list and one node list.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tf_provider::schema::Schema;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};

use crate::framework::{diag, timeouts, Problems};
use crate::kube::workload;
use crate::openstack::OpenStack;
use crate::provider::{Clients, ProviderHandle};
use crate::resources::hosted_control_plane::access::{self, HostedAccess};

use super::cloud::{self, ResolvedTemplate};
use super::model::*;
use super::observe::{self, Nodes};
use super::plan::{self, Resolved};
use super::reconcile::Pool;
use super::schema;
use super::validate::{parse_hcp_id, spec_from_state};

const BLOCKS: &[&str] = &["boot_volume", "rolling_update", "drain", "timeouts"];

pub struct WorkerPool {
    handle: ProviderHandle,
}

impl WorkerPool {
    pub fn new(handle: ProviderHandle) -> Self {
        Self { handle }
    }
}

fn error(diags: &mut Diagnostics, summary: &str, detail: impl std::fmt::Display) {
    diags.add_error(diag::error(
        summary,
        detail.to_string(),
        AttributePath::root(),
    ));
}

fn string(s: impl Into<String>) -> Str {
    Value::Value(s.into().into())
}

/// The management client, the OpenStack client, and the clients struct.
async fn connections(
    handle: &ProviderHandle,
    diags: &mut Diagnostics,
    management_kubeconfig: &Str,
) -> Option<(Arc<Clients>, kube::Client, OpenStack)> {
    let (clients, kube) = handle.management_for(diags, management_kubeconfig).await?;
    let os = match clients.openstack_api() {
        Ok(os) => os.clone(),
        Err(e) => {
            error(diags, "No OpenStack cloud", e);
            return None;
        }
    };
    Some((clients, kube, os))
}

/// The hosted cluster's client from its admin kubeconfig (None, logged, when unavailable).
async fn workload_client(hcp: Option<&HostedAccess>) -> Option<kube::Client> {
    let kc = hcp?.kubeconfig.as_deref()?;
    match workload::client(kc).await {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!("cannot use the hosted cluster's kubeconfig: {e}");
            None
        }
    }
}

impl WorkerPool {
    /// Plan-time lookups: the control plane (uid, version) and the member template's hash.
    async fn resolve_for_plan(&self, diags: &mut Diagnostics, config: &State) -> Resolved {
        let (spec, problems) = spec_from_state(config);
        let Some(spec) = spec.filter(|_| problems.is_empty()) else {
            return Resolved::default();
        };
        if config.management_kubeconfig.is_unknown() {
            // The management cluster is created in this apply: nothing to look up yet.
            return Resolved::default();
        }
        let Some((clients, kube, os)) =
            connections(&self.handle, diags, &config.management_kubeconfig).await
        else {
            return Resolved::default();
        };
        let hcp = match access::hosted_access(
            &clients,
            &kube,
            &spec.hcp_namespace,
            &spec.hcp_name,
            access::Kubeconfig::Skip,
        )
        .await
        {
            Ok(h) => h,
            Err(e) => {
                error(diags, "Cannot read the hosted control plane", e);
                return Resolved::default();
            }
        };
        let hcp_version = hcp.as_ref().and_then(|h| h.version.clone());
        if let Some(t) = hcp.as_ref().and_then(|h| h.service_type.as_deref()) {
            if t == "ClusterIP" {
                diags.add_warning(diag::error(
                    "Control plane only reachable inside the management cluster",
                    format!(
                        "{}/{} is exposed as ClusterIP: OpenStack VMs cannot reach it to join, and the provider cannot                          watch their nodes. Set service {{ type = \"NodePort\" }} or \"LoadBalancer\" on the                          k0stack_hosted_control_plane.",
                        spec.hcp_namespace, spec.hcp_name
                    ),
                    AttributePath::new("hosted_control_plane_id"),
                ));
            }
        }
        let mut p = Problems::default();
        if let (Some(w), Some(cp)) = (&spec.k0s_version, &hcp_version) {
            if let Err(e) = plan::check_worker_version(w, cp) {
                p.push(
                    &["k0s_version"],
                    "Worker version newer than the control plane",
                    e,
                );
            }
        }
        // The names are looked up even when the version is not known yet (the control
        // plane is created in the same apply): a typo in flavor, image or networks must fail
        // the plan, before anything is created. The hash needs the version.
        let version = spec.k0s_version.clone().or(hcp_version.clone());
        let mut template_hash = None;
        match cloud::resolve(&os, &spec, version.as_deref().unwrap_or("v0.0.0+k0s.0")).await {
            Ok(rt) if version.is_some() => template_hash = Some(rt.template.hash()),
            Ok(_) => {}
            Err(problems) => p.extend(problems.0),
        }
        p.report(diags, BLOCKS);
        Resolved {
            template_hash,
            hcp_version,
            uid: hcp.as_ref().map(|h| observe::pool_uid(&h.uid, &spec.name)),
        }
    }

    /// Create and update: converge the pool to `planned`, recording what exists even on failure.
    async fn apply(
        &self,
        diags: &mut Diagnostics,
        prior: Option<&State>,
        planned: State,
        timeout: fn(&PoolSpec) -> Duration,
    ) -> Option<(State, ValueEmpty)> {
        let (spec, problems) = spec_from_state(&planned);
        let Some(mut spec) = spec else {
            problems.report(diags, BLOCKS);
            if diags.errors.is_empty() {
                error(
                    diags,
                    "Incomplete configuration",
                    "some values are still unknown at apply time",
                );
            }
            return None;
        };
        let (clients, kube, os) =
            connections(&self.handle, diags, &planned.management_kubeconfig).await?;
        let hcp = match access::hosted_access(
            &clients,
            &kube,
            &spec.hcp_namespace,
            &spec.hcp_name,
            access::Kubeconfig::Read,
        )
        .await
        {
            Ok(Some(h)) => h,
            Ok(None) => {
                error(diags, "Hosted control plane not found", format!("{}/{} does not exist in the management cluster; create the k0stack_hosted_control_plane first (reference its id so Terraform orders them).", spec.hcp_namespace, spec.hcp_name));
                return None;
            }
            Err(e) => {
                error(diags, "Cannot read the hosted control plane", e);
                return None;
            }
        };
        let version = known(&planned.k0s_version)
            .or(spec.k0s_version.clone())
            .or(hcp.version.clone())
            .unwrap_or_default();
        spec.k0s_version = Some(version.clone());
        let rt = match cloud::resolve(&os, &spec, &version).await {
            Ok(rt) => rt,
            Err(p) => {
                p.report(diags, BLOCKS);
                return None;
            }
        };
        let uid = observe::pool_uid(&hcp.uid, &spec.name);
        let wl = workload_client(Some(&hcp)).await;
        let hcp_ns = spec.hcp_namespace.clone();
        let hcp_name = spec.hcp_name.clone();
        let timeout = timeout(&spec);
        let mut pool = Pool::new(
            os,
            kube,
            hcp.api,
            (&hcp_ns, &hcp_name, &hcp.uid),
            wl,
            spec,
            rt,
            uid.clone(),
        );

        let mut state = planned;
        state.uid = string(uid.clone());
        state.id = string(pool.pool_id.clone());
        state.template_hash = string(pool.hash.clone());
        state.k0s_version = string(version);
        let recorded_group = prior.and_then(|p| known(&p.server_group_id));
        let group = match pool.ensure_server_group(recorded_group.clone()).await {
            Ok(g) => g,
            Err(e) => {
                error(diags, "Cannot create the server group", e);
                return None;
            }
        };
        state.server_group_id = match &group {
            Some(g) => string(g.clone()),
            None => Value::Null,
        };
        let had = prior
            .map(|p| observe::ids_with_nodes(&known_objects(&p.members)))
            .unwrap_or_default();
        let (observed, result) = pool.converge(had, timeout).await;
        record(&mut state, &observed);
        match result {
            Ok(()) => {
                pool.revoke_tokens().await;
                if let Some(old) = recorded_group.filter(|old| Some(old) != group.as_ref()) {
                    if let Err(e) = pool.os.delete_server_group(&old).await {
                        tracing::warn!(pool = %pool.pool_id, "cannot delete the old server group {old}: {e}");
                    }
                }
                tracing::info!(pool = %pool.pool_id, "{}", observe::progress(&observed, pool.spec.size));
            }
            Err(e) => {
                // The join token stays valid until it expires: members still booting can join.
                error(diags, "Worker pool not converged", format!("{e}. Every server that exists is recorded in the state; fix the cause and apply again."));
            }
        }
        Some((state, ValueEmpty::default()))
    }
}

/// Records an observation in the state's computed attributes.
fn record(state: &mut State, observed: &[observe::Observed]) {
    let members = observe::members(observed);
    let ready = members
        .iter()
        .filter(|m| m.ready.as_ref_option().copied().unwrap_or(false))
        .count();
    state.members = Value::Value(members.into_iter().map(Value::Value).collect());
    state.ready_count = Value::Value(ready as i64);
}

#[async_trait]
impl Resource for WorkerPool {
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
        let (clients, kube, os) =
            connections(&self.handle, diags, &state.management_kubeconfig).await?;
        let hcp_id = known(&state.hosted_control_plane_id).unwrap_or_default();
        let name = known(&state.name).unwrap_or_default();
        let Some((ns, hcp_name)) = parse_hcp_id(&hcp_id) else {
            error(diags, "Invalid hosted_control_plane_id in state", &hcp_id);
            return None;
        };
        let hcp =
            match access::hosted_access(&clients, &kube, ns, hcp_name, access::Kubeconfig::Read)
                .await
            {
                Ok(h) => h,
                Err(e) => {
                    error(diags, "Cannot read the hosted control plane", e);
                    return None;
                }
            };
        let uid =
            known(&state.uid).or_else(|| hcp.as_ref().map(|h| observe::pool_uid(&h.uid, &name)));
        let Some(uid) = uid else {
            tracing::info!(pool = %format!("{hcp_id}/{name}"), "the hosted control plane and the pool are gone; removing the pool from the state");
            return None;
        };
        let servers = match cloud::pool_servers(&os, &uid, cloud::Listing::Shared).await {
            Ok(s) => s,
            Err(e) => {
                error(diags, "Cannot list the pool's servers", e);
                return None;
            }
        };
        if hcp.is_none() && servers.is_empty() {
            tracing::info!(pool = %format!("{hcp_id}/{name}"), "the hosted control plane and the pool's servers are gone; removing the pool from the state");
            return None;
        }
        let first_network = known_list(&state.networks).into_iter().next();
        let facts: Vec<_> = servers
            .iter()
            .map(|s| cloud::facts(s, first_network.as_deref()))
            .collect();
        let wl = workload_client(hcp.as_ref()).await;
        let nodes = match &wl {
            Some(c) => match workload::nodes(c).await {
                Ok(ns) => Some(
                    ns.iter()
                        .map(|n| observe::NodeFacts {
                            name: n.metadata.name.clone().unwrap_or_default(),
                            ready: workload::node_ready(n),
                        })
                        .collect::<Vec<_>>(),
                ),
                Err(e) => {
                    tracing::warn!("cannot list the hosted cluster's nodes: {e}");
                    None
                }
            },
            None => None,
        };
        let prior: Vec<Member> = known_objects(&state.members);
        let wait = state
            .wait_for_nodes
            .as_ref_option()
            .copied()
            .unwrap_or(true);
        let nodes_ref = match &nodes {
            Some(n) => Nodes::Known(n),
            None => Nodes::Unknown,
        };
        let observed = observe::observe(facts, nodes_ref, &observe::ids_with_nodes(&prior), wait);
        let mut s = state;
        s.uid = string(uid);
        s.id = string(format!("{hcp_id}/{name}"));
        if s.size.is_null() {
            adopt_live(&mut s, &servers);
        }
        record(&mut s, &observed);
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
        let resolved = self.resolve_for_plan(diags, &config).await;
        Some((
            plan::plan_create(proposed, &resolved),
            ValueEmpty::default(),
        ))
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
        let resolved = self.resolve_for_plan(diags, &config).await;
        let (planned, replace, problems) = plan::plan_update(&prior, proposed, &resolved);
        problems.report(diags, BLOCKS);
        let policy = known(&planned.stopped_members)
            .and_then(|p| StoppedPolicy::parse(&p))
            .unwrap_or_default();
        if let Some(note) = plan::stopped_note(&prior, policy) {
            diags.add_warning(diag::error(
                "Stopped members",
                note,
                AttributePath::new("members"),
            ));
        }
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
        self.apply(diags, None, planned, |s| s.timeouts.create)
            .await
    }

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: Self::State<'a>,
        planned: Self::State<'a>,
        _config: Self::State<'a>,
        _private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        self.apply(diags, Some(&prior), planned, |s| s.timeouts.update)
            .await
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        _private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<()> {
        let (clients, kube, os) =
            connections(&self.handle, diags, &state.management_kubeconfig).await?;
        let hcp_id = known(&state.hosted_control_plane_id).unwrap_or_default();
        let Some((ns, hcp_name)) = parse_hcp_id(&hcp_id) else {
            error(diags, "Invalid hosted_control_plane_id in state", &hcp_id);
            return None;
        };
        let Some(uid) = known(&state.uid) else {
            return Some(()); // never created anything
        };
        let hcp = access::hosted_access(&clients, &kube, ns, hcp_name, access::Kubeconfig::Read)
            .await
            .ok()
            .flatten();
        let api = match &hcp {
            Some(h) => h.api,
            None => match access::api_for(&clients, &kube, None).await {
                Ok(a) => a,
                Err(e) => {
                    error(diags, "Cannot use k0smotron", e);
                    return None;
                }
            },
        };
        let (spec, _) = spec_from_state(&state);
        let spec = spec.unwrap_or_else(|| fallback_spec(&state, ns, hcp_name));
        let timeout = timeouts::resolve(state.timeouts.as_ref_option(), DEFAULT_TIMEOUTS)
            .map(|t| t.delete)
            .unwrap_or(DEFAULT_TIMEOUTS.delete);
        let wl = workload_client(hcp.as_ref()).await;
        let rt = ResolvedTemplate {
            template: Default::default(),
            security_group_names: vec![],
            first_network: known_list(&state.networks)
                .into_iter()
                .next()
                .unwrap_or_default(),
        };
        let hcp_uid = hcp.as_ref().map(|h| h.uid.clone()).unwrap_or_default();
        let pool = Pool::new(os, kube, api, (ns, hcp_name, &hcp_uid), wl, spec, rt, uid);
        if let Err(e) = pool.destroy(known(&state.server_group_id), timeout).await {
            error(
                diags,
                "Worker pool not deleted",
                format!("{e}. Apply or destroy again to finish."),
            );
            return None;
        }
        Some(())
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let parts: Vec<&str> = id.split('/').collect();
        let [ns, hcp, pool] = parts[..] else {
            error(diags, "Invalid import id", format!("{id:?}: import a worker pool by <hosted control plane namespace>/<hosted control plane name>/<pool name>, e.g. kmc-system/dev/general."));
            return None;
        };
        if [ns, hcp, pool].iter().any(|p| p.is_empty()) {
            error(
                diags,
                "Invalid import id",
                format!("{id:?} has an empty part; expected <namespace>/<control plane>/<pool>."),
            );
            return None;
        }
        let state = State {
            id: string(id.clone()),
            name: string(pool),
            hosted_control_plane_id: string(format!("{ns}/{hcp}")),
            wait_for_nodes: Value::Value(true),
            max_parallel: Value::Value(DEFAULT_MAX_PARALLEL as i64),
            stopped_members: string(DEFAULT_STOPPED_POLICY),
            ..Default::default()
        };
        Some((state, ValueEmpty::default()))
    }
}

/// After an import: the arguments as the servers show them, so a matching configuration
/// plans no member changes.
fn adopt_live(s: &mut State, servers: &[crate::openstack::Server]) {
    s.size = Value::Value(servers.len() as i64);
    if let Some(first) = servers.first() {
        if let Some(f) = &first.flavor_name {
            s.flavor = string(f.clone());
        }
        if let Some(i) = &first.image_id {
            s.image = string(i.clone());
        }
        let nets: Vec<Str> = first.addresses.keys().map(|k| string(k.clone())).collect();
        if !nets.is_empty() {
            s.networks = Value::Value(nets);
        }
    }
}

/// Destroy of a state that no longer validates (e.g. written by another version): what
/// deleting needs.
fn fallback_spec(state: &State, ns: &str, hcp: &str) -> PoolSpec {
    PoolSpec {
        name: known(&state.name).unwrap_or_default(),
        hcp_namespace: ns.into(),
        hcp_name: hcp.into(),
        size: 0,
        flavor: String::new(),
        image: String::new(),
        networks: known_list(&state.networks),
        security_groups: vec![],
        key_pair: None,
        availability_zones: vec![],
        server_group_policy: None,
        boot_volume: None,
        metadata: Default::default(),
        labels: Default::default(),
        taints: vec![],
        k0s_version: None,
        k0s_download_url: None,
        kubelet_extra_args: None,
        extra_user_data: None,
        max_surge: 1,
        max_unavailable: 0,
        drain_enabled: true,
        drain_timeout: DEFAULT_DRAIN_TIMEOUT,
        ignore_pdb_after: None,
        wait_for_nodes: true,
        max_parallel: DEFAULT_MAX_PARALLEL,
        stopped_members: StoppedPolicy::default(),
        timeouts: DEFAULT_TIMEOUTS,
    }
}

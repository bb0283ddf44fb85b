//! Apply and destroy of a worker pool: observe (one Nova list, one node list) → decide
//! (`rollout::next_step`) → act (create / drain+delete, bounded by `max_parallel`) → repeat
//! until the pool is what was asked or the deadline passes. Whatever happens, the caller
//! records the last observation, so the state lists every server that exists.

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::cloudinit;
use crate::framework::Secret;
use crate::kube::workload;
use crate::openstack::{OpenStack, OsError};
use crate::resources::hosted_control_plane::object::Api;

use super::cloud::{self, Ownership, ResolvedTemplate};
use super::model::{PoolSpec, StoppedPolicy};
use super::observe::{self, NodeFacts, Nodes, Observed};
use super::rollout::{self, Health, Policy};
use super::template::{member_name, next_zone};
use super::token;

/// How long the hosted cluster's API may stay unreachable while apply waits for nodes
/// before the apply fails with the reason, instead of waiting out the whole timeout (a
/// quarter of the timeout when that is shorter).
pub const UNREACHABLE_GRACE: Duration = Duration::from_secs(60);

/// Why an apply stopped short.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{0}")]
    OpenStack(#[from] OsError),
    #[error("{0}")]
    Token(#[from] token::TokenError),
    #[error("{0}")]
    Workload(#[from] workload::WorkloadError),
    #[error("{0}")]
    CloudInit(#[from] cloudinit::CloudInitError),
    #[error("cannot see the hosted cluster's nodes for {waited}: {why}. The provider waits for nodes through the hosted API: expose the control plane with service type NodePort or LoadBalancer (ClusterIP is reachable only inside the management cluster) and check that this machine can reach it, or set wait_for_nodes = false")]
    HostedUnreachable { waited: String, why: String },
    #[error("timed out after {waited} with {progress}; {detail}")]
    Timeout {
        waited: String,
        progress: String,
        detail: String,
    },
    #[error(
        "{count} servers failed to boot in this apply (budget {budget}); the last faults: {faults}"
    )]
    TooManyFailures {
        count: usize,
        budget: usize,
        faults: String,
    },
}

impl ApplyError {
    /// A request whose effect is unknown: a server error or a lost answer (the request may
    /// have been carried out). Never a quota, a rejected request or a bad credential.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            Self::OpenStack(e @ OsError::Api { status, .. }) => {
                matches!(status, 500 | 502 | 503 | 504) && !e.is_quota()
            }
            Self::OpenStack(OsError::Transport { .. }) => true,
            _ => false,
        }
    }
}

/// Everything one apply of a pool works with.
pub struct Pool {
    pub os: OpenStack,
    /// The management cluster (None: unreachable; only a destroy goes on without it).
    pub mgmt: Option<kube::Client>,
    pub api: Api,
    pub hcp_ns: String,
    pub hcp_name: String,
    pub hcp_uid: String,
    /// Client of the hosted cluster (None when its kubeconfig is not available).
    pub workload: Option<kube::Client>,
    pub spec: PoolSpec,
    pub rt: ResolvedTemplate,
    /// The hash members of the desired template carry ([`Self::hash`] keeps the recorded
    /// one when it names the same template: see `MemberTemplate::equivalent_hashes`).
    pub hash: String,
    /// Every hash that names the desired template.
    pub hashes: Vec<String>,
    pub uid: String,
    pub pool_id: String,
    pub server_group_id: Option<String>,
    /// Node names of the members the state records (members of earlier versions carry no
    /// pool label: this is how their nodes are found once their servers are gone).
    pub recorded_nodes: BTreeSet<String>,
    /// Metadata keys the recorded configuration set and the planned one does not.
    pub removed_metadata: BTreeSet<String>,
    token: OnceCell<(String, Secret)>,
    /// Since when, and why, the hosted cluster's nodes cannot be listed.
    nodes_error: std::sync::Mutex<Option<(Instant, String)>>,
}

impl Pool {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        os: OpenStack,
        mgmt: Option<kube::Client>,
        api: Api,
        hcp: (&str, &str, &str),
        workload: Option<kube::Client>,
        spec: PoolSpec,
        rt: ResolvedTemplate,
        uid: String,
    ) -> Self {
        let hash = rt.template.hash();
        let mut hashes = rt.template.equivalent_hashes();
        hashes.push(hash.clone());
        let pool_id = format!("{}/{}/{}", hcp.0, hcp.1, spec.name);
        Self {
            os,
            mgmt,
            api,
            hcp_ns: hcp.0.into(),
            hcp_name: hcp.1.into(),
            hcp_uid: hcp.2.into(),
            workload,
            spec,
            rt,
            hash,
            hashes,
            uid,
            pool_id,
            server_group_id: None,
            recorded_nodes: BTreeSet::new(),
            removed_metadata: BTreeSet::new(),
            token: OnceCell::new(),
            nodes_error: std::sync::Mutex::new(None),
        }
    }

    fn policy(&self) -> Policy {
        Policy {
            max_surge: self.spec.max_surge,
            max_unavailable: self.spec.max_unavailable,
        }
    }

    /// Notes a failure to list nodes (the first time it started, and the latest message).
    fn nodes_failed(&self, message: String) {
        let mut e = self.nodes_error.lock().unwrap_or_else(|e| e.into_inner());
        let since = e.as_ref().map(|(t, _)| *t).unwrap_or_else(Instant::now);
        *e = Some((since, message));
    }

    /// How long the hosted cluster's nodes have been unreadable, and why.
    fn nodes_unreadable(&self) -> Option<(Duration, String)> {
        let e = self.nodes_error.lock().unwrap_or_else(|e| e.into_inner());
        e.as_ref().map(|(t, m)| (t.elapsed(), m.clone()))
    }

    /// The hosted cluster's nodes, or Unknown when it cannot be reached (logged).
    pub async fn nodes(&self) -> Option<Vec<NodeFacts>> {
        let Some(wl) = self.workload.as_ref() else {
            self.nodes_failed(
                "k0smotron has not written the hosted cluster's kubeconfig Secret".into(),
            );
            return None;
        };
        match workload::nodes(wl).await {
            Ok(ns) => {
                *self.nodes_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
                Some(observe::node_facts(&ns))
            }
            Err(e) => {
                tracing::warn!(pool = %self.pool_id, "cannot list the hosted cluster's nodes: {e}");
                self.nodes_failed(e.to_string());
                None
            }
        }
    }

    /// One observation: the pool's servers (minus those we are deleting) and their nodes.
    /// Ids in `removing` that Nova no longer lists are dropped from it: deleted for good.
    pub async fn observe(
        &self,
        had_node: &BTreeSet<String>,
        removing: &mut BTreeSet<String>,
    ) -> Result<Vec<Observed>, OsError> {
        let (servers, nodes) = futures_util::join!(
            cloud::pool_servers(&self.os, &self.uid, cloud::Listing::Own),
            self.nodes()
        );
        let servers = servers?;
        removing.retain(|id| servers.iter().any(|s| &s.id == id));
        let facts = servers
            .iter()
            .filter(|s| !removing.contains(&s.id))
            .map(|s| cloud::facts(s, Some(&self.rt.first_network)))
            .map(|mut f| {
                // Another name of the desired template is the desired template.
                if f.template_hash
                    .as_ref()
                    .is_some_and(|h| self.hashes.contains(h))
                {
                    f.template_hash = Some(self.hash.clone());
                }
                f
            })
            .collect();
        let nodes_ref = match &nodes {
            Some(n) => Nodes::Known(n),
            None => Nodes::Unknown,
        };
        Ok(observe::observe(
            facts,
            nodes_ref,
            had_node,
            self.spec.wait_for_nodes,
        ))
    }

    /// The instance's join token requests (None: the management cluster is unreachable).
    fn requests(&self) -> Option<token::Requests<'_>> {
        Some(token::Requests {
            kube: self.mgmt.as_ref()?,
            api: self.api,
            ns: &self.hcp_ns,
            cluster: &self.hcp_name,
            uid: &self.uid,
            pool_id: &self.pool_id,
            hcp_uid: &self.hcp_uid,
        })
    }

    /// This apply's token (minted once, on the first create): (request name, token). The
    /// wait for k0smotron is bounded by what is left of the operation.
    async fn token(&self, deadline: Instant) -> Result<&(String, Secret), ApplyError> {
        self.token
            .get_or_try_init(|| async {
                let left = deadline.saturating_duration_since(Instant::now());
                let requests = self
                    .requests()
                    .ok_or_else(|| token::TokenError::NotIssued {
                        request: self.pool_id.clone(),
                        detail: "the management cluster cannot be reached".into(),
                    })?;
                let minted = requests.mint(left + Duration::from_secs(300), left).await?;
                Ok::<_, ApplyError>(minted)
            })
            .await
    }

    /// Revokes the join tokens no member needs any more: every member minted with them
    /// joined (or failed, or is gone), or they expired. Members still booting keep theirs
    /// (their k0s reads the token when its service starts, after the apply may have
    /// returned); a later apply or refresh revokes it.
    pub async fn settle_tokens(&self, observed: &[Observed]) {
        let Some(requests) = self.requests() else {
            tracing::warn!(pool = %self.pool_id, "the management cluster cannot be reached: join tokens of this pool are left to expire");
            return;
        };
        let nodes_known = self.workload.is_some() && self.nodes_unreadable().is_none();
        requests
            .settle(&observe::member_tokens(observed), nodes_known)
            .await;
    }

    /// Revokes every join token of the pool (destroy).
    pub async fn revoke_all_tokens(&self) {
        match self.requests() {
            Some(r) => r.revoke_all().await,
            None => {
                tracing::warn!(pool = %self.pool_id, "the management cluster cannot be reached: join tokens of this pool are left to expire")
            }
        }
    }

    /// Makes sure the pool's server group exists when a policy is set; returns its id.
    pub async fn ensure_server_group(
        &mut self,
        recorded: Option<String>,
    ) -> Result<Option<String>, OsError> {
        let Some(policy) = self.spec.server_group_policy.clone() else {
            self.server_group_id = None;
            return Ok(None);
        };
        if let Some(id) = recorded {
            if let Some(g) = self.os.get_server_group(&id).await? {
                if g.policy == policy {
                    self.server_group_id = Some(g.id.clone());
                    return Ok(Some(g.id));
                }
            }
        }
        let name = format!(
            "k0stack-{}-{}",
            self.spec.name,
            &self.uid[..8.min(self.uid.len())]
        );
        let g = self.os.create_server_group(&name, &policy).await?;
        tracing::info!(pool = %self.pool_id, group = %g.id, %policy, "server group created");
        self.server_group_id = Some(g.id.clone());
        Ok(Some(g.id))
    }

    async fn create_member(
        &self,
        name: String,
        zone: Option<String>,
        deadline: Instant,
    ) -> Result<String, ApplyError> {
        let (request, token) = self.token(deadline).await?;
        // The pool label is not part of the template (and its hash): it names the instance.
        let mut worker = self.rt.template.worker();
        worker
            .labels
            .insert(observe::NODE_LABEL_POOL.into(), self.uid.clone());
        let user_data = cloudinit::render(&worker, token)?;
        let owner = Ownership {
            pool_uid: &self.uid,
            hcp_uid: &self.hcp_uid,
            pool_id: &self.pool_id,
            hash: &self.hash,
            join_token_request: Some(request),
        };
        let req = cloud::create_request(
            &self.rt,
            &owner,
            &name,
            zone.as_deref(),
            self.server_group_id.as_deref(),
            Secret::new(user_data),
        );
        let id = self.os.create_server(&req).await?;
        tracing::debug!(pool = %self.pool_id, server = %id, %name, "server created");
        Ok(id)
    }

    /// Brings every member's Nova metadata to the configured one, in place (no roll).
    async fn sync_metadata(&self, observed: &[Observed]) -> Result<(), ApplyError> {
        let parallel = self.spec.max_parallel.max(1) as usize;
        let writes: Vec<Result<(), ApplyError>> = stream::iter(observed.to_vec())
            .map(|o: Observed| async move {
                let (set, delete) = observe::metadata_changes(
                    &o.server.metadata,
                    &self.spec.metadata,
                    &self.removed_metadata,
                );
                if !set.is_empty() {
                    self.os.set_server_metadata(&o.server.id, &set).await?;
                }
                for key in &delete {
                    self.os.delete_server_metadata(&o.server.id, key).await?;
                }
                if !set.is_empty() || !delete.is_empty() {
                    tracing::info!(pool = %self.pool_id, server = %o.server.id, set = set.len(), deleted = delete.len(), "metadata updated in place");
                }
                Ok(())
            })
            .buffer_unordered(parallel)
            .collect()
            .await;
        writes.into_iter().collect()
    }

    /// Deletes the nodes of this pool whose servers are gone (deleted out of band, or by an
    /// interrupted apply), so that the hosted cluster's nodes are the pool's members.
    async fn remove_orphan_nodes(&self, observed: &[Observed]) -> Result<(), ApplyError> {
        let Some(wl) = &self.workload else {
            return Ok(());
        };
        let Some(nodes) = self.nodes().await else {
            return Ok(());
        };
        let servers: BTreeSet<String> = observed.iter().map(|o| o.server.name.clone()).collect();
        for name in observe::orphan_nodes(&nodes, &self.uid, &self.recorded_nodes, &servers) {
            workload::delete_node(wl, &name).await?;
            tracing::info!(pool = %self.pool_id, node = %name, "node of a server that no longer exists deleted");
        }
        Ok(())
    }

    /// Asks Nova to run again every stopped member not asked yet in this apply (os-start,
    /// unshelve, resume or unpause). A 409 means a task is already running on it (someone
    /// else started it): the next observations decide.
    async fn restart_stopped(&self, observed: &[Observed], restarted: &mut BTreeSet<String>) {
        for o in observed.iter().filter(|o| o.health == Health::Stopped) {
            let Some(action) = observe::restart_action(&o.server.status) else {
                continue;
            };
            if !restarted.insert(o.server.id.clone()) {
                continue;
            }
            match self.os.server_action(&o.server.id, action).await {
                Ok(()) => {
                    tracing::info!(pool = %self.pool_id, server = %o.server.id, name = %o.server.name, status = %o.server.status, %action, "starting a stopped member again (stopped_members = \"start\")")
                }
                Err(e) => {
                    tracing::warn!(pool = %self.pool_id, server = %o.server.id, "cannot start the stopped member: {e}")
                }
            }
        }
    }

    /// Drains (unless the member failed or is stopped: its kubelet cannot evict
    /// anything), deletes the node, then the server.
    async fn remove_member(&self, o: &Observed) -> Result<(), ApplyError> {
        if let (Some(node), Some(wl)) = (&o.node, &self.workload) {
            let kubelet_down = matches!(o.health, Health::Failed | Health::Stopped);
            if self.spec.drain_enabled && !kubelet_down {
                let moved = workload::drain(
                    wl,
                    &node.name,
                    self.spec.drain_timeout,
                    self.spec.ignore_pdb_after,
                )
                .await?;
                tracing::info!(pool = %self.pool_id, node = %node.name, pods = moved, "node drained");
            }
            workload::delete_node(wl, &node.name).await?;
        }
        self.os.delete_server(&o.server.id).await?;
        tracing::info!(pool = %self.pool_id, server = %o.server.id, name = %o.server.name, "server deleted");
        Ok(())
    }

    /// Converges the pool; always returns the last observation (for the state).
    pub async fn converge(
        &self,
        had_node: BTreeSet<String>,
        timeout: Duration,
    ) -> (Vec<Observed>, Result<(), ApplyError>) {
        let start = Instant::now();
        let deadline = start + timeout;
        let mut had = had_node;
        let mut removing: BTreeSet<String> = BTreeSet::new();
        // Stopped members this apply asked Nova to start again (asked once each).
        let mut restarted: BTreeSet<String> = BTreeSet::new();
        // Servers created by this apply and not yet seen in a listing: id -> rounds missed.
        let mut created: std::collections::BTreeMap<String, u32> = Default::default();
        let mut faults: Vec<String> = Vec::new();
        let budget = 3 + self.spec.size as usize;
        let mut delay = Duration::from_millis(200);
        let mut last_progress = String::new();
        let mut logged = Instant::now();
        let mut last: Vec<Observed> = Vec::new();
        let parallel = self.spec.max_parallel.max(1) as usize;
        loop {
            let observed = match self.observe(&had, &mut removing).await {
                Ok(o) => o,
                Err(e) => return (last, Err(e.into())),
            };
            if self.spec.wait_for_nodes {
                if let Some((for_how_long, why)) = self.nodes_unreadable() {
                    if for_how_long >= UNREACHABLE_GRACE.min(timeout / 4) {
                        return (
                            observed,
                            Err(ApplyError::HostedUnreachable {
                                waited: crate::framework::duration::format(for_how_long),
                                why,
                            }),
                        );
                    }
                }
            }
            had.extend(
                observed
                    .iter()
                    .filter(|o| o.node.is_some())
                    .map(|o| o.server.id.clone()),
            );
            let progress = format!(
                "pool {}: {}",
                self.pool_id,
                observe::progress(&observed, self.spec.size, &self.hash)
            );
            let removing_now = if removing.is_empty() {
                String::new()
            } else {
                format!("; {} being drained and deleted", removing.len())
            };
            let progress = format!("{progress}{removing_now}");
            if progress != last_progress || logged.elapsed() >= crate::framework::wait::HEARTBEAT {
                tracing::info!("{progress}");
                last_progress = progress;
                logged = Instant::now();
            }
            let views = observe::views(&observed, self.spec.stopped_members);
            if self.spec.stopped_members == StoppedPolicy::Start {
                self.restart_stopped(&observed, &mut restarted).await;
            }
            last = observed;
            // Done when the pool is right and every server we deleted is gone (a delete
            // can still fail, and the state must not forget a server that exists).
            if rollout::converged(&views, self.spec.size, &self.hash) && removing.is_empty() {
                let result = match self.sync_metadata(&last).await {
                    Ok(()) => self.remove_orphan_nodes(&last).await,
                    Err(e) => Err(e),
                };
                return (last, result);
            }
            if Instant::now() >= deadline {
                let detail = waiting_detail(&last, &self.hash);
                return (
                    last,
                    Err(ApplyError::Timeout {
                        waited: crate::framework::duration::format(timeout),
                        progress: observe::progress_of(&views, self.spec.size),
                        detail,
                    }),
                );
            }
            // Read-after-write guard: a server this apply created that the listing does not
            // show yet means the listing is older than our writes; acting on it would create
            // the member again. Wait for a fresh one (a few rounds at most: then the server is
            // really gone and the rollout replaces it).
            created.retain(|id, rounds| {
                let listed = last.iter().any(|o| &o.server.id == id) || removing.contains(id);
                *rounds += u32::from(!listed);
                !listed && *rounds <= 3
            });
            let stale = !created.is_empty();
            let step = if stale {
                tracing::debug!(pool = %self.pool_id, missing = created.len(), "listing older than our creates; observing again");
                rollout::Step::default()
            } else {
                rollout::next_step(&views, self.spec.size, &self.hash, self.policy())
            };
            if step.is_empty() {
                tokio::time::sleep(delay.min(deadline.saturating_duration_since(Instant::now())))
                    .await;
                delay = (delay * 3 / 2).min(Duration::from_secs(2));
                continue;
            }
            delay = Duration::from_millis(200);

            // Failed members: note their faults (bounded budget), then remove them.
            for id in &step.remove {
                if let Some(o) = last
                    .iter()
                    .find(|o| &o.server.id == id && o.health == Health::Failed)
                {
                    faults.push(format!(
                        "{} ({}): {}",
                        o.server.name,
                        o.server.status,
                        o.server.fault.clone().unwrap_or_else(|| "node gone".into())
                    ));
                }
            }
            if faults.len() > budget {
                let tail: Vec<String> = faults.iter().rev().take(3).cloned().collect();
                return (
                    last,
                    Err(ApplyError::TooManyFailures {
                        count: faults.len(),
                        budget,
                        faults: tail.join("; "),
                    }),
                );
            }
            let victims: Vec<Observed> = step
                .remove
                .iter()
                .filter_map(|id| last.iter().find(|o| &o.server.id == id).cloned())
                .collect();
            let removed: Vec<Result<String, ApplyError>> = stream::iter(victims)
                .map(|o: Observed| async move {
                    self.remove_member(&o).await.map(|_| o.server.id.clone())
                })
                .buffer_unordered(parallel)
                .collect()
                .await;
            for r in removed {
                match r {
                    Ok(id) => {
                        removing.insert(id);
                    }
                    Err(e) => return (last, Err(e)),
                }
            }
            if step.create > 0 {
                let mut taken: Vec<String> = last.iter().map(|o| o.server.name.clone()).collect();
                let mut zones: Vec<Option<String>> = last
                    .iter()
                    .filter(|o| !removing.contains(&o.server.id))
                    .map(|o| o.server.zone.clone())
                    .collect();
                let mut plans = Vec::new();
                for _ in 0..step.create {
                    let name = member_name(&self.spec.name, &taken);
                    taken.push(name.clone());
                    let zone = next_zone(&self.spec.availability_zones, &zones).cloned();
                    zones.push(zone.clone());
                    plans.push((name, zone));
                }
                let created_now: Vec<Result<String, ApplyError>> = stream::iter(plans)
                    .map(|(name, zone)| self.create_member(name, zone, deadline))
                    .buffer_unordered(parallel)
                    .collect()
                    .await;
                // A create whose outcome is unknown (a 5xx or a lost answer: POST is not
                // retried, Nova may have made the server) is not the end of the apply: the
                // next observation lists the server by its tags if it exists, and the rollout
                // counts it. It uses the failure budget, so a cloud that always fails stops.
                let mut fatal = None;
                for id in created_now.iter().filter_map(|r| r.as_ref().ok()) {
                    created.insert(id.clone(), 0);
                }
                for e in created_now.into_iter().filter_map(Result::err) {
                    if e.outcome_unknown() {
                        tracing::warn!(pool = %self.pool_id, "server create failed, the next observation decides: {e}");
                        faults.push(format!("create: {e}"));
                    } else if fatal.is_none() {
                        fatal = Some(e);
                    }
                }
                if let Some(e) = fatal {
                    // Servers that were created are adopted by the next observation.
                    let last = self.observe(&had, &mut removing).await.unwrap_or(last);
                    return (last, Err(e));
                }
            }
        }
    }

    /// Destroy: drain (best effort, bounded), delete every server, wait until they are
    /// gone, then the server group and the join tokens.
    pub async fn destroy(
        &self,
        server_group: Option<String>,
        timeout: Duration,
    ) -> Result<(), ApplyError> {
        let start = Instant::now();
        let parallel = self.spec.max_parallel.max(1) as usize;
        let observed = self.observe(&BTreeSet::new(), &mut BTreeSet::new()).await?;
        let results: Vec<Result<(), ApplyError>> = stream::iter(observed)
            .map(|o: Observed| async move {
                if let (Some(node), Some(wl)) = (&o.node, &self.workload) {
                    if self.spec.drain_enabled && !matches!(o.health, Health::Failed | Health::Stopped) {
                        if let Err(e) = workload::drain(wl, &node.name, self.spec.drain_timeout, self.spec.ignore_pdb_after).await {
                            tracing::warn!(pool = %self.pool_id, node = %node.name, "drain failed, deleting anyway: {e}");
                        }
                    }
                    if let Err(e) = workload::delete_node(wl, &node.name).await {
                        tracing::warn!(pool = %self.pool_id, node = %node.name, "cannot delete the node: {e}");
                    }
                }
                self.os.delete_server(&o.server.id).await.map_err(ApplyError::from)
            })
            .buffer_unordered(parallel)
            .collect()
            .await;
        if let Some(Err(e)) = results.into_iter().find(|r| r.is_err()) {
            return Err(e);
        }
        let mut delay = Duration::from_millis(200);
        loop {
            let left = cloud::pool_servers(&self.os, &self.uid, cloud::Listing::Own).await?;
            if left.is_empty() {
                break;
            }
            if start.elapsed() >= timeout {
                let names: Vec<String> = left
                    .iter()
                    .map(|s| format!("{} ({})", s.name, s.status))
                    .collect();
                return Err(ApplyError::Timeout {
                    waited: crate::framework::duration::format(timeout),
                    progress: format!("{} servers left", left.len()),
                    detail: format!("still deleting: {}", names.join(", ")),
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 3 / 2).min(Duration::from_secs(2));
        }
        if let Err(e) = self.remove_orphan_nodes(&[]).await {
            tracing::warn!(pool = %self.pool_id, "cannot delete the nodes of deleted servers: {e}");
        }
        if let Some(g) = server_group {
            self.os.delete_server_group(&g).await?;
        }
        self.revoke_all_tokens().await;
        Ok(())
    }
}

/// A registered node that is not Ready, in the kubelet's words; a CNI that never started
/// is, in a site without public registries, images the worker cannot pull.
fn not_ready_detail(why: Option<&str>) -> String {
    match why {
        None => "node NotReady".into(),
        Some(w) if w.contains("network not ready") => format!(
            "node NotReady ({w}; its CNI pods have not started: if the site cannot reach public registries, \
             give the pool an image bundle (airgap.bundle_url) or the control plane a mirror registry (k0s_config spec.images.repository))"
        ),
        Some(w) => format!("node NotReady ({w})"),
    }
}

/// What the members not yet done are waiting for (for the timeout message).
fn waiting_detail(observed: &[Observed], hash: &str) -> String {
    let waiting: Vec<String> = observed
        .iter()
        .filter(|o| o.health != Health::Ready || o.server.template_hash.as_deref() != Some(hash))
        .take(5)
        .map(|o| {
            let what = match o.health {
                Health::Building => format!("server {}", o.server.status),
                Health::Joining if o.node.is_none() => "ACTIVE, node not registered (check the join: cloud-init log, the k0s download from get.k0s.sh or k0s_download_url, network to the hosted API)".to_string(),
                Health::Joining => not_ready_detail(o.node.as_ref().and_then(|n| n.not_ready.as_deref())),
                Health::Failed => format!("failed: {}", o.server.fault.clone().unwrap_or_default()),
                Health::Stopped => format!("stopped out of band ({}), being started again", o.server.status),
                Health::Ready => "on an old template, waiting to be replaced".to_string(),
            };
            format!("{}: {what}", o.server.name)
        })
        .collect();
    if waiting.is_empty() {
        "members missing".into()
    } else {
        waiting.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_not_ready_node_is_explained_in_the_kubelets_words() {
        assert_eq!(not_ready_detail(None), "node NotReady");
        assert_eq!(
            not_ready_detail(Some("KubeletNotReady: PLEG is not healthy")),
            "node NotReady (KubeletNotReady: PLEG is not healthy)"
        );
        let cni = not_ready_detail(Some(
            "KubeletNotReady: container runtime network not ready: NetworkReady=false",
        ));
        assert!(
            cni.starts_with("node NotReady (KubeletNotReady: container runtime network not ready")
        );
        assert!(
            cni.contains("airgap.bundle_url") && cni.contains("spec.images.repository"),
            "{cni}"
        );
    }
}

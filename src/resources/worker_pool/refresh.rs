//! Refresh of a pool: its servers from one Nova list (by the instance's uid tag), their
//! nodes from one node list of the hosted cluster. What cannot be read is kept as last seen,
//! with a warning, and a pool is dropped from the state only when its control plane and all
//! its servers are provably gone.

use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};

use crate::framework::diag;
use crate::kube::workload;
use crate::provider::ProviderHandle;
use crate::resources::hosted_control_plane::access;
use crate::resources::kube_io;

use super::cloud::{self, Listing};
use super::model::*;
use super::observe::{self, Nodes};
use super::record;
use super::resource::{error, record_observation, string, workload_client};
use super::token;
use super::validate::parse_hcp_id;

/// Members recorded before whose servers are gone stay in `members` with status
/// `DELETED` until the next apply replaces them, so that the plan can name them (the next
/// apply's observation drops them).
fn keep_gone_members(s: &mut State, prior: &[Member]) {
    let live: Vec<Member> = known_objects(&s.members);
    let mut all = live.clone();
    for m in prior {
        if !live.iter().any(|l| l.id == m.id) {
            all.push(Member {
                status: string("DELETED"),
                ready: Value::Value(false),
                ..m.clone()
            });
        }
    }
    if all.len() != live.len() {
        s.members = Value::Value(all.into_iter().map(Value::Value).collect());
    }
}

/// The refreshed state, or None when the pool no longer exists (nothing to keep).
pub async fn refresh(
    handle: &ProviderHandle,
    diags: &mut Diagnostics,
    state: State,
) -> Option<State> {
    // Connection settings not known until apply: refreshed once they are.
    if handle.until_apply() {
        return Some(state);
    }
    let clients = match handle.get() {
        Ok(c) => c,
        Err(e) => {
            error(diags, "Provider not configured", e);
            return None;
        }
    };
    let os = match clients.openstack_api() {
        Ok(os) => os.clone(),
        Err(e) => {
            error(diags, "No OpenStack cloud", e);
            return None;
        }
    };
    let hcp_id = known(&state.hosted_control_plane_id).unwrap_or_default();
    let name = known(&state.name).unwrap_or_default();
    let Some((ns, hcp_name)) = parse_hcp_id(&hcp_id) else {
        error(diags, "Invalid hosted_control_plane_id in state", &hcp_id);
        return None;
    };
    let Some(uid) = known(&state.uid) else {
        return None; // never created anything
    };
    let (clients, kube) = handle
        .management_for(diags, &state.management_kubeconfig)
        .await?;
    // The control plane, or why it cannot be seen: None = answered "not found".
    let hcp = match access::hosted_access(&clients, &kube, ns, hcp_name, access::Kubeconfig::Read)
        .await
    {
        Ok(h) => Ok(h),
        Err(e) if kube_io::unreachable(&e) => Err(e.to_string()),
        Err(e) => {
            error(diags, "Cannot read the hosted control plane", e);
            return None;
        }
    };
    let servers = match cloud::pool_servers(&os, &uid, Listing::Shared).await {
        Ok(s) => s,
        Err(e) => {
            error(diags, "Cannot list the pool's servers", e);
            return None;
        }
    };
    if matches!(hcp, Ok(None)) && servers.is_empty() {
        tracing::info!(pool = %format!("{hcp_id}/{name}"), "the hosted control plane and the pool's servers are gone; removing the pool from the state");
        return None;
    }
    if let Err(why) = &hcp {
        diags.add_warning(diag::error(
            "Management cluster not reachable",
            format!("{why}. The pool's servers were refreshed through OpenStack; what the management and hosted clusters say (nodes) is kept as last seen. The plan uses the configured management_kubeconfig."),
            AttributePath::new("management_kubeconfig"),
        ));
    }
    let hcp = hcp.ok().flatten();
    let first_network = known_list(&state.networks).into_iter().next();
    let facts: Vec<_> = servers
        .iter()
        .map(|s| cloud::facts(s, first_network.as_deref()))
        .collect();
    let wl = workload_client(hcp.as_ref()).await;
    let nodes = match &wl {
        Some(c) => match workload::nodes(c).await {
            Ok(ns) => Some(observe::node_facts(&ns)),
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
    let mut observed = observe::observe(facts, nodes_ref, &observe::ids_with_nodes(&prior), wait);
    if nodes.is_none() {
        observe::carry_recorded_nodes(&mut observed, &prior, wait);
    }
    let mut s = state;
    s.uid = string(uid.clone());
    s.id = string(format!("{hcp_id}/{name}"));
    if s.hosted_control_plane_uid.is_null() {
        // A state of an earlier version: the servers' tag says which cluster they joined.
        let joined = servers
            .iter()
            .find_map(|sv| observe::cluster_of(&sv.tags))
            .or_else(|| hcp.as_ref().map(|h| h.uid.clone()));
        if let Some(u) = joined {
            s.hosted_control_plane_uid = string(u);
        }
    }
    if s.image_id.is_null() {
        // A state of an earlier version: the image the members run.
        if let Some(i) = servers.iter().find_map(|sv| sv.image_id.clone()) {
            s.image_id = string(i);
        }
    }
    if s.size.is_null() {
        let version = hcp.as_ref().and_then(|h| h.version.clone());
        super::import::adopt_live(&mut s, &servers, &os, version.as_deref()).await;
    }
    record_observation(&mut s, &observed);
    keep_gone_members(&mut s, &prior);
    if let Some(h) = &hcp {
        let pool_id = format!("{hcp_id}/{name}");
        let hcp_uid = known(&s.hosted_control_plane_uid).unwrap_or_else(|| h.uid.clone());
        if let Err(e) = record::confirm(&kube, ns, &pool_id, &uid, &hcp_uid).await {
            tracing::debug!(pool = %pool_id, "cannot confirm the pool's record: {e}");
        }
        // Members that were booting when the last apply returned have joined since: their
        // join token is revoked now (see token_plan).
        let requests = token::Requests {
            kube: &kube,
            api: h.api,
            ns,
            cluster: hcp_name,
            uid: &uid,
            pool_id: &pool_id,
            hcp_uid: &hcp_uid,
        };
        requests
            .settle(&observe::member_tokens(&observed), nodes.is_some())
            .await;
    }
    Some(s)
}

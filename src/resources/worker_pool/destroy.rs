//! Destroy of a pool instance: its servers go through OpenStack, by the instance's tag,
//! whatever state the management cluster or the hosted cluster is in. Drain and node
//! deletion need the hosted cluster and are best effort, with a warning when skipped.

use tf_provider::{AttributePath, Diagnostics};

use crate::framework::{diag, timeouts};
use crate::provider::ProviderHandle;
use crate::resources::hosted_control_plane::access;
use crate::resources::hosted_control_plane::object::Api;
use crate::resources::kube_io;

use super::cloud::ResolvedTemplate;
use super::model::*;
use super::reconcile::Pool;
use super::record;
use super::resource::{error, workload_client};
use super::validate::{parse_hcp_id, spec_from_state};

pub async fn destroy(
    handle: &ProviderHandle,
    diags: &mut Diagnostics,
    state: &State,
) -> Option<()> {
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
    let Some((ns, hcp_name)) = parse_hcp_id(&hcp_id) else {
        error(diags, "Invalid hosted_control_plane_id in state", &hcp_id);
        return None;
    };
    let Some(uid) = known(&state.uid) else {
        return Some(()); // never created anything
    };
    // The management cluster is optional here: its trouble goes into a warning.
    let mut scratch = Diagnostics::default();
    let mgmt = handle
        .management_for(&mut scratch, &state.management_kubeconfig)
        .await
        .map(|(_, k)| k);
    let hcp = match &mgmt {
        Some(kube) => {
            match access::hosted_access(&clients, kube, ns, hcp_name, access::Kubeconfig::Read)
                .await
            {
                Ok(h) => Ok(h),
                Err(e) => Err(e.to_string()),
            }
        }
        None => Err(scratch
            .errors
            .first()
            .map(|d| format!("{}: {}", d.summary, d.detail))
            .unwrap_or_else(|| "no management cluster connection".into())),
    };
    let reachable = hcp.is_ok();
    let hcp = match hcp {
        Ok(h) => h,
        Err(why) => {
            diags.add_warning(diag::error(
                "Deleting without the management cluster",
                format!("{why}. The pool's servers are deleted through OpenStack (tag k0stack-pool={uid}); their nodes were not drained or removed from the hosted cluster, and the pool's record and join-token requests in the management cluster are left (the tokens expire on their own)."),
                AttributePath::new("management_kubeconfig"),
            ));
            None
        }
    };
    if reachable && hcp.as_ref().is_some_and(|h| h.kubeconfig.is_none()) {
        tracing::warn!(pool = %format!("{hcp_id}/{}", known(&state.name).unwrap_or_default()), "the hosted cluster's kubeconfig is not available: nodes are not drained");
    }
    // The control plane may be gone: the API its join token requests were made with is
    // then the one the management cluster serves (k0smotron 1.x serves only v1beta1).
    let api = match (&hcp, mgmt.as_ref().filter(|_| reachable)) {
        (Some(h), _) => h.api,
        (None, Some(kube)) => kube_io::k0smotron_api(kube).await.unwrap_or(Api::V1beta2),
        (None, None) => Api::V1beta2,
    };
    let (spec, _) = spec_from_state(state);
    let spec = spec.unwrap_or_else(|| fallback_spec(state, ns, hcp_name));
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
    let mut pool = Pool::new(
        os,
        mgmt.clone().filter(|_| reachable),
        api,
        (ns, hcp_name, &hcp_uid),
        wl,
        spec,
        rt,
        uid.clone(),
    );
    pool.recorded_nodes = known_objects(&state.members)
        .iter()
        .filter_map(|m| known(&m.node_name))
        .collect();
    if let Err(e) = pool.destroy(known(&state.server_group_id), timeout).await {
        error(
            diags,
            "Worker pool not deleted",
            format!("{e}. Apply or destroy again to finish."),
        );
        return None;
    }
    if let (Some(kube), true) = (&mgmt, reachable) {
        if let Err(e) = record::delete(kube, ns, &uid).await {
            tracing::warn!(pool = %pool.pool_id, "cannot delete the pool's record: {e}");
        }
    }
    Some(())
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
        image_bundle: None,
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

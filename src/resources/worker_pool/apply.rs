//! Create and update of a pool: who it is (a new instance, an interrupted create continued,
//! or the recorded instance), then `reconcile`. Whatever happens after the first server may
//! exist, the returned state records every server that exists.

use std::time::Duration;

use tf_provider::value::{Value, ValueEmpty};
use tf_provider::Diagnostics;

use crate::framework::version::K0sVersion;
use crate::framework::wait;
use crate::openstack::OpenStack;
use crate::provider::ProviderHandle;
use crate::resources::hosted_control_plane::access::{self, HostedAccess};
use crate::resources::kube_io;
use crate::resources::owned::LeaseKeeper;

use super::cloud::{self, Listing};
use super::model::*;
use super::observe;
use super::reconcile::Pool;
use super::record;
use super::resource::{connections, error, record_observation, string, workload_client, BLOCKS};
use super::validate::spec_from_state;

/// `<control plane namespace>/<control plane name>/<pool name>`.
pub fn pool_id(spec: &PoolSpec) -> String {
    format!("{}/{}/{}", spec.hcp_namespace, spec.hcp_name, spec.name)
}

/// The control plane a pool's servers joined is the one that exists now (an update never
/// joins servers to a cluster the state did not record; the plan replaces the pool).
fn same_control_plane(prior: &State, hcp: &HostedAccess) -> Result<(), String> {
    match known(&prior.hosted_control_plane_uid) {
        Some(had) if had != hcp.uid => Err(format!(
            "the hosted control plane was replaced since this pool was created (Cluster uid {had}, now {}): \
             the pool's servers joined the old cluster. Run terraform plan again: the pool is planned for replacement.",
            hcp.uid
        )),
        _ => Ok(()),
    }
}

/// Why the pool must not change its members yet (None: it may). New members join the
/// control plane, so it must be ready, have written its admin kubeconfig (the pool watches
/// nodes through it) and run at least the version the members install: a control plane
/// upgraded in the same apply (perhaps with `wait_for_ready = false`) is rolled before any
/// worker.
pub fn control_plane_pending(hcp: &HostedAccess, target: &str) -> Option<String> {
    let running = hcp.version.as_deref().unwrap_or("an unknown version");
    let behind = match (
        hcp.version.as_deref().and_then(K0sVersion::parse),
        K0sVersion::parse(target),
    ) {
        (Some(r), Some(t)) => r < t,
        _ => false,
    };
    if behind {
        Some(format!(
            "the control plane runs {running}, older than the members' {target}: waiting for its upgrade"
        ))
    } else if !hcp.ready {
        Some(format!("the control plane ({running}) is not ready yet"))
    } else if hcp.kubeconfig.is_none() {
        Some("k0smotron has not written the hosted cluster's kubeconfig Secret yet".into())
    } else {
        None
    }
}

/// Waits (at most `timeout`) until [`control_plane_pending`] says nothing; the control
/// plane as it is then.
async fn await_control_plane(
    clients: &crate::provider::Clients,
    kube: &kube::Client,
    spec: &PoolSpec,
    first: HostedAccess,
    target: &str,
    timeout: Duration,
) -> Result<HostedAccess, String> {
    if control_plane_pending(&first, target).is_none() {
        return Ok(first);
    }
    let what = format!(
        "hosted control plane {}/{}",
        spec.hcp_namespace, spec.hcp_name
    );
    wait::until(&what, timeout, wait::Backoff::default(), || async {
        let h = access::hosted_access(
            clients,
            kube,
            &spec.hcp_namespace,
            &spec.hcp_name,
            access::Kubeconfig::Read,
        )
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{what} no longer exists"))?;
        Ok::<_, String>(match control_plane_pending(&h, target) {
            None => wait::Check::Ready(h),
            Some(why) => wait::Check::Pending(why),
        })
    })
    .await
    .map_err(|e| e.to_string())
}

/// Deletes what interrupted creates left on a control plane that has been replaced since:
/// no state records those servers, and they joined a cluster that no longer exists.
async fn clean_stale(os: &OpenStack, kube: &kube::Client, ns: &str, pool: &str, stale: &[String]) {
    for uid in stale {
        let servers = match cloud::pool_servers(os, uid, Listing::Own).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(%pool, %uid, "cannot list what an interrupted create left: {e}");
                continue;
            }
        };
        let mut ok = true;
        for s in &servers {
            if let Err(e) = os.delete_server(&s.id).await {
                tracing::warn!(%pool, %uid, server = %s.id, "cannot delete a server an interrupted create left: {e}");
                ok = false;
            }
        }
        tracing::info!(%pool, %uid, servers = servers.len(), "deleted what an interrupted create left on a replaced control plane");
        if ok {
            let _ = record::delete(kube, ns, uid).await;
        }
    }
}

/// What a failed apply says happens next. A failed create must fail the run (CI gates on
/// it), and Terraform marks every resource whose create failed as tainted, to be replaced
/// by the next apply: the provider cannot prevent that, so it says how to keep the servers.
pub fn not_converged(why: &str, creating: bool) -> String {
    if creating {
        format!(
            "{why}. Every server that exists is recorded in the state, but Terraform marks a resource whose create failed as tainted: \
             the next apply would replace the pool (delete these servers and create new ones). To keep them and let the next apply \
             finish the job instead, run `terraform untaint <address of this k0stack_worker_pool>` once the cause is fixed, then apply."
        )
    } else {
        format!("{why}. Every server that exists is recorded in the state; fix the cause and apply again: it continues from there.")
    }
}

/// Create (`prior` None) and update: converge the pool to `planned`.
pub async fn apply(
    handle: &ProviderHandle,
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
    let (clients, kube, os) = connections(handle, diags, &planned.management_kubeconfig).await?;
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
    if let Some(p) = prior {
        if let Err(e) = same_control_plane(p, &hcp) {
            error(diags, "Hosted control plane replaced", e);
            return None;
        }
    }
    let version = known(&planned.k0s_version)
        .or(spec.k0s_version.clone())
        .or(hcp.version.clone())
        .unwrap_or_default();
    spec.k0s_version = Some(version.clone());
    let timeout = timeout(&spec);
    let started = std::time::Instant::now();
    let hcp = match await_control_plane(&clients, &kube, &spec, hcp, &version, timeout).await {
        Ok(h) => h,
        Err(e) => {
            error(
                diags,
                "Hosted control plane not ready",
                format!("{e}. The pool was not changed."),
            );
            return None;
        }
    };
    let timeout = timeout.saturating_sub(started.elapsed());
    // Checked at plan when the version was known; here when it was not (a new control plane).
    if let (Some(b), None) = (&spec.image_bundle, &spec.k0s_version) {
        let mut p = crate::framework::Problems::default();
        super::validate::check_bundle_version(b, &version, &mut p);
        if !p.is_empty() {
            p.report(diags, BLOCKS);
            return None;
        }
    }
    let rt = match cloud::resolve(&os, &spec, &version).await {
        Ok(rt) => rt,
        Err(p) => {
            p.report(diags, BLOCKS);
            return None;
        }
    };
    let id = pool_id(&spec);
    let (ns, hcp_name) = (spec.hcp_namespace.clone(), spec.hcp_name.clone());
    let cm = kube_io::configmap_resource();
    let (uid, lease) = match prior {
        Some(p) => match known(&p.uid) {
            Some(uid) => (uid, None),
            None => {
                error(diags, "Worker pool without identity", "the state records no uid for this pool; remove it from the state (terraform state rm) and import it");
                return None;
            }
        },
        None => match record::claim_for_create(&kube, &ns, &id, &hcp.uid).await {
            Ok(c) => {
                clean_stale(&os, &kube, &ns, &id, &c.stale).await;
                let lease = LeaseKeeper::start(
                    kube.clone(),
                    vec![(cm.clone(), Some(ns.clone()), record::record_name(&c.uid))],
                );
                (c.uid, Some(lease))
            }
            Err(e) => {
                error(diags, "Cannot record the new worker pool", e);
                return None;
            }
        },
    };
    let wl = workload_client(Some(&hcp)).await;
    let hcp_uid = hcp.uid.clone();
    let mut pool = Pool::new(
        os,
        Some(kube.clone()),
        hcp.api,
        (&ns, &hcp_name, &hcp_uid),
        wl,
        spec,
        rt,
        uid.clone(),
    );
    pool.removed_metadata = prior
        .map(|p| known_map(&p.metadata).into_keys().collect())
        .unwrap_or_default();
    pool.recorded_nodes = prior
        .map(|p| {
            known_objects(&p.members)
                .iter()
                .filter_map(|m| known(&m.node_name))
                .collect()
        })
        .unwrap_or_default();

    let mut state = planned;
    state.uid = string(uid.clone());
    if prior.is_none() || state.hosted_control_plane_uid.is_unknown() {
        state.hosted_control_plane_uid = string(hcp_uid.clone());
    }
    if let Some(recorded) = known(&state.template_hash).filter(|h| pool.hashes.contains(h)) {
        pool.hash = recorded; // the plan kept an earlier version's name of this template
    }
    state.id = string(pool.pool_id.clone());
    state.template_hash = string(pool.hash.clone());
    state.image_id = string(pool.rt.template.image_id.clone());
    state.k0s_version = string(version);
    let recorded_group = prior.and_then(|p| known(&p.server_group_id));
    let group = match pool.ensure_server_group(recorded_group.clone()).await {
        Ok(g) => g,
        Err(e) => {
            // Nothing but the record exists: the next create continues this instance.
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
    record_observation(&mut state, &observed);
    drop(lease);
    // The create returns now, and Terraform saves the state with this uid.
    if let Err(e) = record::confirm(&kube, &ns, &pool.pool_id, &uid, &hcp_uid).await {
        tracing::warn!(pool = %pool.pool_id, "cannot mark the pool's record created: {e}");
    }
    // Tokens no member needs any more are revoked; members still booting (wait_for_nodes =
    // false, or a failed apply) keep theirs until a later apply or refresh.
    pool.settle_tokens(&observed).await;
    match result {
        Ok(()) => {
            if let Some(old) = recorded_group.filter(|old| Some(old) != group.as_ref()) {
                if let Err(e) = pool.os.delete_server_group(&old).await {
                    tracing::warn!(pool = %pool.pool_id, "cannot delete the old server group {old}: {e}");
                }
            }
            tracing::info!(pool = %pool.pool_id, "{}", observe::progress(&observed, pool.spec.size, &pool.hash));
        }
        Err(e) => {
            error(
                diags,
                "Worker pool not converged",
                not_converged(&e.to_string(), prior.is_none()),
            );
        }
    }
    Some((state, ValueEmpty::default()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::hosted_control_plane::object::Api;

    fn cp(version: &str, ready: bool, kubeconfig: bool) -> HostedAccess {
        HostedAccess {
            api: Api::V1beta2,
            uid: "u".into(),
            version: Some(version.into()),
            ready,
            kubeconfig: kubeconfig.then(|| "apiVersion: v1".into()),
            service_type: Some("NodePort".into()),
        }
    }

    #[test]
    fn members_change_only_on_a_ready_control_plane_at_their_version() {
        let target = "v1.33.1+k0s.0";
        assert_eq!(control_plane_pending(&cp(target, true, true), target), None);
        // An older worker version than the control plane is fine.
        assert_eq!(
            control_plane_pending(&cp(target, true, true), "v1.32.6+k0s.0"),
            None
        );
        let behind = control_plane_pending(&cp("v1.32.6+k0s.0", true, true), target).unwrap();
        assert!(behind.contains("waiting for its upgrade"), "{behind}");
        let unready = control_plane_pending(&cp(target, false, true), target).unwrap();
        assert!(unready.contains("not ready"), "{unready}");
        let no_kubeconfig = control_plane_pending(&cp(target, true, false), target).unwrap();
        assert!(no_kubeconfig.contains("kubeconfig"), "{no_kubeconfig}");
    }
}

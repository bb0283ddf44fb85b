//! The management cluster this provider builds (`bootstrap { ... }`): its controllers on
//! OpenStack ([`super::bootstrap`]), the admin client, refresh of the members, destroy.

use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};

use crate::framework::diag;
use crate::framework::wait::{self, Backoff, Check};
use crate::provider::Clients;
use crate::resources::kube_io::{self, KubeError};

use super::model::*;
use super::{bootstrap, k0smotron, namespace, teardown};

const BLOCKS: &[&str] = &["openstack_credentials", "bootstrap", "timeouts"];

fn err(diags: &mut Diagnostics, summary: &str, e: impl std::fmt::Display) {
    diags.add_error(diag::error(summary, e.to_string(), AttributePath::root()));
}

/// Plan-time lookups of the bootstrap names (a typo fails the plan at its attribute).
pub async fn resolve_for_plan(clients: Option<&Clients>, s: &State, diags: &mut Diagnostics) {
    let Some(spec) = s.bootstrap.as_ref_option().and_then(bootstrap::spec) else {
        return;
    };
    let os = match clients.map(|c| c.openstack_api()) {
        Some(Ok(os)) => os,
        // The provider's OpenStack settings are not known until apply: no lookups now.
        Some(Err(e)) if e.until_apply() => return,
        _ => {
            diags.add_error(diag::error(
                "No OpenStack cloud",
                crate::provider::NotConfigured::OpenStack.to_string(),
                AttributePath::new("bootstrap").index(0),
            ));
            return;
        }
    };
    if let Err(p) = bootstrap::resolve(os, &spec).await {
        p.report(diags, BLOCKS);
    }
}

pub async fn apply(
    clients: &Clients,
    diags: &mut Diagnostics,
    s: &mut State,
    prior: Option<&State>,
    timeout: std::time::Duration,
) -> Result<kube::Client, bool> {
    let block_path = || AttributePath::new("bootstrap").index(0);
    let os = clients.openstack_api().map_err(|e| {
        err(diags, "No OpenStack cloud", e);
        false
    })?;
    let block = s.bootstrap.as_ref_option().cloned().unwrap_or_default();
    let Some(spec) = bootstrap::spec(&block) else {
        err(
            diags,
            "Incomplete configuration",
            "some bootstrap values are still unknown at apply time",
        );
        return Err(false);
    };
    let rt = match bootstrap::resolve(os, &spec).await {
        Ok(rt) => rt,
        Err(p) => {
            p.report(diags, BLOCKS);
            return Err(prior.is_some());
        }
    };
    let prior_block = prior.and_then(|p| p.bootstrap.as_ref_option());
    let pki = match prior_block
        .and_then(|b| bootstrap::recorded_pki(b, &prior.expect("prior").ca_certificate))
    {
        Some(p) => p,
        None => match crate::pki::generate(&spec.name) {
            Ok(p) => p,
            Err(e) => {
                err(diags, "Cannot generate the cluster CA", e);
                return Err(false);
            }
        },
    };
    let recorded: Vec<Member> = prior.map(|p| known_objects(&p.members)).unwrap_or_default();
    let recorded = match bootstrap::observe(os, &recorded).await {
        Ok(r) => r,
        Err(e) => {
            err(diags, "Cannot read the controllers", e);
            return Err(prior.is_some());
        }
    };
    let mut group = prior_block.and_then(|b| known(&b.server_group_id));
    if let (Some(policy), None) = (&spec.server_group_policy, &group) {
        match os
            .create_server_group(&format!("{}-controllers", spec.name), policy)
            .await
        {
            Ok(g) => group = Some(g.id),
            Err(e) => {
                diags.add_error(diag::error(
                    "Cannot create the server group",
                    e.to_string(),
                    block_path(),
                ));
                return Err(false);
            }
        }
    }
    // Recorded from here on, so that a failure leaves nothing untracked.
    {
        let b = s.bootstrap.as_mut_option().expect("bootstrap");
        b.server_group_id = group
            .clone()
            .map(|g| Value::Value(g.into()))
            .unwrap_or(Value::Null);
        b.ca_key = Value::Value(pki.ca_key.clone().into());
        b.admin_certificate = Value::Value(pki.admin_cert.clone().into());
        b.admin_key = Value::Value(pki.admin_key.clone().into());
    }
    s.ca_certificate = Value::Value(pki.ca_cert.clone().into());
    let planned_endpoint = known(&s.endpoint);
    let preferred = planned_endpoint
        .as_deref()
        .and_then(|e| address_of(&recorded, e));
    let out = bootstrap::converge(
        os,
        clients,
        &spec,
        &rt,
        &pki,
        group.as_deref(),
        recorded,
        preferred.as_deref(),
        timeout,
    )
    .await;
    s.members = Value::Value(out.members.iter().cloned().map(Value::Value).collect());
    let kubeconfig = out
        .endpoint_ip
        .as_deref()
        .map(|ip| crate::pki::admin_kubeconfig(&spec.name, &crate::pki::api_url(ip), &pki));
    record_endpoint(s, out.endpoint_ip.as_deref(), kubeconfig.as_deref(), diags);
    if let Some(e) = out.error {
        diags.add_error(diag::error(
            "Management cluster not bootstrapped",
            format!("{e}. The controllers that exist are recorded in the state; fix the cause and apply again."),
            block_path(),
        ));
        return Err(true);
    }
    let kube = match clients
        .client_for_kubeconfig(kubeconfig.as_deref().unwrap_or_default())
        .await
    {
        Ok(k) => k,
        Err(e) => {
            err(diags, "Cannot use the admin kubeconfig", e);
            return Err(true);
        }
    };
    if spec.k0smotron_version.is_some() {
        let waited = wait::until(
            "k0smotron (installed by the controllers) to serve its API",
            timeout,
            Backoff::default(),
            || {
                let kube = kube.clone();
                async move {
                    Ok::<_, KubeError>(match kube_io::k0smotron_api(&kube).await {
                        Ok(_) => Check::Ready(()),
                        Err(e) => Check::Pending(e.to_string()),
                    })
                }
            },
        )
        .await;
        if let Err(e) = waited {
            diags.add_error(diag::error(
                "k0smotron not available",
                e.to_string(),
                block_path(),
            ));
            return Err(true);
        }
    }
    Ok(kube)
}

/// The address of the recorded controller whose API URL is `endpoint`.
fn address_of(members: &[Member], endpoint: &str) -> Option<String> {
    members
        .iter()
        .filter_map(|m| known(&m.ip))
        .find(|ip| crate::pki::api_url(ip) == endpoint)
}

/// Records the endpoint and kubeconfig apply reached the cluster at. A value the plan knew
/// stays as planned (Terraform's contract): when that controller stopped since the plan,
/// this apply works through another one, and the next plan moves the endpoint (a warning
/// says so).
fn record_endpoint(
    s: &mut State,
    ip: Option<&str>,
    kubeconfig: Option<&str>,
    diags: &mut Diagnostics,
) {
    let server = ip.map(crate::pki::api_url);
    if let Some(planned) = known(&s.endpoint) {
        if server.as_deref() != Some(planned.as_str()) {
            diags.add_warning(diag::error(
                "Management cluster endpoint moves at the next apply",
                format!(
                    "the controller at {planned} (the plan's endpoint) is not running any more; this apply used {}. The endpoint and kubeconfig stay as planned now, and the next plan moves them.",
                    server.as_deref().unwrap_or("no controller")
                ),
                AttributePath::new("endpoint"),
            ));
        }
        if !s.kubeconfig.is_unknown() {
            return;
        }
    }
    if s.endpoint.is_unknown() {
        s.endpoint = server
            .map(|v| Value::Value(v.into()))
            .unwrap_or(Value::Null);
    }
    s.kubeconfig = kubeconfig
        .map(|k| Value::Value(k.to_string().into()))
        .unwrap_or(Value::Null);
}

/// The bootstrapped cluster's admin client from the state, if its API may be up.
pub async fn client(clients: &Clients, s: &State) -> Option<kube::Client> {
    let kc = known(&s.kubeconfig)?;
    clients.client_for_kubeconfig(&kc).await.ok()
}

/// Refreshes the controllers (`members`); returns the cluster's client when the
/// kubeconfig's controller runs (else the cluster is not read: a controller gone shows in
/// the plan, and an unreachable API is then no error of the read).
pub async fn read(
    clients: &Clients,
    s: &mut State,
    diags: &mut Diagnostics,
) -> Result<Option<kube::Client>, ()> {
    let os = clients
        .openstack_api()
        .map_err(|e| err(diags, "No OpenStack cloud", e))?;
    let recorded: Vec<Member> = known_objects(&s.members);
    let seen = bootstrap::observe(os, &recorded)
        .await
        .map_err(|e| err(diags, "Cannot read the controllers", e))?;
    s.members = Value::Value(seen.into_iter().map(Value::Value).collect());
    let endpoint_live = known_objects(&s.members).iter().any(|m: &Member| {
        bootstrap::is_live(m)
            && known(&m.ip).map(|ip| crate::pki::api_url(&ip)) == known(&s.endpoint)
    });
    if !endpoint_live {
        return Ok(None);
    }
    Ok(client(clients, s).await)
}

/// Destroys a bootstrapped cluster: refuses while hosted control planes exist in any
/// namespace or other instances use it (unless `force_destroy`, which first deletes this
/// namespace's control planes), then deletes the controllers and the server group.
/// Nothing inside the cluster is uninstalled: it goes with its VMs.
pub async fn destroy(
    clients: &Clients,
    state: &State,
    force: bool,
    timeout: std::time::Duration,
    diags: &mut Diagnostics,
) -> Option<()> {
    let os = match clients.openstack_api() {
        Ok(os) => os.clone(),
        Err(e) => {
            err(diags, "No OpenStack cloud", e);
            return None;
        }
    };
    let ns = namespace_of(state);
    match client(clients, state).await {
        Some(kube) if kube_io::cluster_facts(&kube).await.is_ok() => {
            let instance = known(&state.instance_id);
            let everywhere = k0smotron::control_planes(clients, &kube, None).await;
            let users = namespace::list_all(&kube)
                .await
                .map(|all| namespace::other_users(&all, instance.as_deref()));
            let (planes, users) = match (everywhere, users) {
                (Ok(p), Ok(u)) => (p, u),
                (Err(e), _) | (_, Err(e)) => {
                    err(diags, "Cannot read the management cluster", e);
                    return None;
                }
            };
            if let Some(why) = teardown::bootstrap_refusal(force, &planes, &users) {
                diags.add_error(diag::error("Hosted control planes still exist", why, AttributePath::new("force_destroy")));
                return None;
            }
            let here: Vec<String> = planes
                .iter()
                .filter_map(|p| p.strip_prefix(&format!("{ns}/")).map(String::from))
                .collect();
            if !here.is_empty() {
                if let Err(e) = k0smotron::delete_control_planes(clients, &kube, &ns, &here, timeout).await {
                    err(diags, "Hosted control planes not deleted", e);
                    return None;
                }
            }
        }
        _ => tracing::warn!("the bootstrapped management cluster does not answer; deleting its controllers without checking for hosted control planes"),
    }
    let members: Vec<Member> = known_objects(&state.members);
    if let Err(e) = bootstrap::delete_all(&os, &members, timeout).await {
        err(diags, "Cannot delete the controllers", e);
        return None;
    }
    if let Some(g) = state
        .bootstrap
        .as_ref_option()
        .and_then(|b| known(&b.server_group_id))
    {
        if let Err(e) = os.delete_server_group(&g).await {
            err(diags, "Cannot delete the server group", e);
            return None;
        }
    }
    Some(())
}

//! Create and update: write the objects, wait for readiness, record the outputs.
//!
//! A create POSTs the `Cluster` ([`cluster_create::create_cluster`]): it never takes over an
//! object that exists, except what an interrupted create of this same resource left
//! (SIGKILL before the state was saved), which it adopts with that create's instance id.
//! While it waits for readiness a [`LeaseKeeper`] tells other creates it is alive, on the
//! `Cluster`'s companion ConfigMap: the `Cluster`'s metadata is written once, at the POST,
//! and never changed by any later operation ([`companion`] says why). An update first
//! proves the object is this instance's, and never re-creates a missing one.
//! On any failure after the `Cluster` exists the returned state still records it
//! (Terraform taints it), so nothing leaks.

use std::time::Duration;

use serde_json::Value as Json;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics};

use crate::framework::diag;
use crate::framework::ownership::new_instance_id;
use crate::framework::wait::{self, Backoff, Check, WaitError};
use crate::provider::ProviderHandle;
use crate::resources::kube_io::{self, KubeError};
use crate::resources::owned::{self, LeaseKeeper, OwnedError};

use super::identity;
use super::model::*;
use super::object::{self, Api};
use super::owning::{self, Holding};
use super::ports;
use super::read::{fill_outputs, settle_unknowns};
use super::resource::{api_for, kube_error, BLOCKS};
use super::rolled;
use super::validate::spec_from_state;
use super::{cluster_create, companion};

type Applied = Option<(State, ValueEmpty)>;

/// The connection, the spec and the k0smotron API of an apply; `None` after reporting why not.
async fn prepare(
    handle: &ProviderHandle,
    diags: &mut Diagnostics,
    planned: &mut State,
    config: &State,
) -> Option<(kube::Client, HcpSpec, Api, String)> {
    let (clients, kube) = handle
        .management_for(diags, &planned.management_kubeconfig)
        .await?;
    if let Err(e) = allocate_ports(&kube, planned).await {
        kube_error(diags, "Cannot allocate node ports", e);
        return None;
    }
    let (spec, problems) = spec_from_state(&intent(planned, config));
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
    let connected = match kube_io::cluster_uid(&kube).await {
        Ok(u) => u,
        Err(e) => {
            kube_error(diags, "Cannot identify the management cluster", e);
            return None;
        }
    };
    let check = identity::check_cluster(
        known(&planned.management_cluster_uid).as_deref(),
        &connected,
    )
    .and_then(|()| {
        identity::check_designated(known(&planned.management_cluster_id).as_deref(), &connected)
    });
    if let Err(e) = check {
        diags.add_error(diag::error(
            "Connected to another management cluster",
            e,
            AttributePath::new("management_cluster_id"),
        ));
        return None;
    }
    Some((kube, spec, api, connected))
}

/// What the apply sends as the user's intent: the planned state, without the external
/// address k0smotron wrote back when the configuration sets none (it is computed, and
/// sending it would pin an address k0smotron should choose).
fn intent(planned: &State, config: &State) -> State {
    let mut s = planned.clone();
    if config.external_address.is_null() {
        s.external_address = Value::Null;
    }
    if config.image.is_null() {
        s.image = Value::Null; // the planned default is k0smotron's own
    }
    s
}

/// Node ports planned unknown (a `NodePort` service without configured ports) are drawn
/// now: free in the whole management cluster and not handed to another control plane of
/// this apply (see [`ports`]).
async fn allocate_ports(kube: &kube::Client, planned: &mut State) -> Result<(), KubeError> {
    let pair = [planned.api_port, planned.konnectivity_port];
    if !pair.iter().any(|v| v.is_unknown()) {
        return Ok(());
    }
    let mut in_use: std::collections::BTreeSet<u16> =
        ports::node_ports_in_use(kube).await?.into_keys().collect();
    // The other port of the pair, when configured, is this control plane's too.
    in_use.extend(
        pair.iter()
            .filter_map(|v| v.as_ref_option().and_then(|n| u16::try_from(*n).ok())),
    );
    let slots: Vec<&mut tf_provider::value::ValueNumber> =
        [&mut planned.api_port, &mut planned.konnectivity_port]
            .into_iter()
            .filter(|v| v.is_unknown())
            .collect();
    let picked = ports::reserve(&in_use, slots.len())
        .ok_or_else(|| KubeError::Api("no free node port left in 30000-32767".into()))?;
    for (slot, p) in slots.into_iter().zip(picked) {
        *slot = Value::Value(p as i64);
    }
    Ok(())
}

/// `create` of the resource.
pub(super) async fn create(
    handle: &ProviderHandle,
    diags: &mut Diagnostics,
    mut planned: State,
    config: &State,
) -> Applied {
    let (kube, spec, api, connected) = prepare(handle, diags, &mut planned, config).await?;
    if let Err(e) = kube_io::ensure_namespace(&kube, &spec.namespace).await {
        kube_error(diags, "Cannot create the namespace", e);
        return None;
    }
    let ar = kube_io::cluster_resource(api);
    let cluster = object::cluster_object(&spec, api);
    let allocated = ports::allocated_value(config, Some(&spec.service_type));
    let created =
        match cluster_create::create_cluster(&kube, &ar, &cluster, &allocated, &new_instance_id())
            .await
        {
            Ok(c) => c,
            Err(e @ OwnedError::Exists { .. }) => {
                diags.add_error(diag::error(
                    "Hosted control plane already exists",
                    exists_detail(&e, &spec),
                    AttributePath::new("name"),
                ));
                return None;
            }
            Err(e) => {
                kube_error(diags, "Cannot create the k0smotron Cluster", e);
                return None;
            }
        };
    if created.adopted {
        tracing::info!(cluster = %format!("{}/{}", spec.namespace, spec.name), instance = %created.instance, "continuing an interrupted create of this control plane");
    }
    let instance = created.instance.clone();
    let mut state = planned;
    state.namespace = Value::Value(spec.namespace.clone().into());
    state.id = Value::Value(format!("{}/{}", spec.namespace, spec.name).into());
    state.instance_id = Value::Value(instance.clone().into());
    state.management_cluster_uid = Value::Value(connected.into());
    // The lease is held on the companion, never on the Cluster (see `companion`).
    let cm = kube_io::configmap_resource();
    let companion_name = companion::name(&spec.name);
    let mut holding: Holding = vec![(
        (cm, Some(spec.namespace.clone()), companion_name),
        created.companion.clone(),
    )];
    // From here on the Cluster exists: every failure still returns the state recording it.
    // A fresh create's first request after its POST is the wait's.
    let current = created.object;
    let beside = owning::sync_beside(&kube, &spec, Some(&instance), !created.adopted).await;
    let keeper = LeaseKeeper::start(
        kube.clone(),
        holding
            .iter()
            .map(|(t, _)| t.clone())
            .chain(beside.iter().flatten().map(|(t, _)| t.clone()))
            .collect(),
    );
    if let Ok(b) = &beside {
        holding.extend(b.iter().cloned());
    }
    let outcome = match beside {
        Err(e) => {
            kube_error(diags, "Cannot write the hosted control plane's objects", e);
            Err(current)
        }
        Ok(_) => settle(&kube, diags, &spec, api, &ar, current, Phase::Create).await,
    };
    drop(keeper);
    owning::mark_all_created(&kube, &holding, &instance).await;
    finish(&kube, diags, state, api, outcome).await
}

/// What [`settle`] ends with: the object to read the outputs from; `Err` after an error
/// was reported (the outputs are still read, best effort).
type Outcome = Result<Json, Json>;

/// Which operation waits (its timeout, and what a failure means for the next apply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Create,
    Update,
}

/// What a readiness timeout says happens next. A failed create must fail the run, and
/// Terraform marks a resource whose create failed as tainted, to be replaced by the next
/// apply — a new Cluster with a new CA, every worker of the old one orphaned: the message
/// says how to keep the Cluster instead.
fn timed_out(why: &str, phase: Phase) -> String {
    match phase {
        Phase::Create => format!(
            "{why}. The Cluster exists and is recorded in the state, but Terraform marks a resource whose create failed as \
             tainted: the next apply would replace the control plane (delete this Cluster and create a new one, with a new CA). \
             To keep it and let the next apply finish the job instead, run `terraform untaint <address of this \
             k0stack_hosted_control_plane>` once the cause is fixed, then apply."
        ),
        Phase::Update => format!(
            "{why}. The Cluster is recorded in the state; fix the cause and apply again: it continues from there."
        ),
    }
}

/// Waits for readiness when the spec asks for it.
async fn settle(
    kube: &kube::Client,
    diags: &mut Diagnostics,
    spec: &HcpSpec,
    api: Api,
    ar: &kube::core::ApiResource,
    current: Json,
    phase: Phase,
) -> Outcome {
    if !spec.wait_for_ready {
        return Ok(current);
    }
    let timeout = match phase {
        Phase::Create => spec.timeouts.create,
        Phase::Update => spec.timeouts.update,
    };
    match wait_ready(kube, spec, api, ar, timeout).await {
        Ok(obj) => Ok(obj),
        Err(e) => {
            let detail = match &e {
                WaitError::Timeout { .. } => timed_out(&e.to_string(), phase),
                WaitError::Failed(inner) => format!("{inner}"),
            };
            diags.add_error(diag::error(
                "Hosted control plane not ready",
                detail,
                AttributePath::root(),
            ));
            Err(current)
        }
    }
}

/// The state to return: the outputs read from `outcome`'s object, unknowns settled.
async fn finish(
    kube: &kube::Client,
    diags: &mut Diagnostics,
    mut state: State,
    api: Api,
    outcome: Outcome,
) -> Applied {
    let failed = outcome.is_err();
    let current = outcome.unwrap_or_else(|o| o);
    let mut read = state.clone();
    match fill_outputs(kube, &mut read, &current, api).await {
        Err(e) if !failed => kube_error(diags, "Cannot read the hosted control plane's outputs", e),
        _ => {}
    }
    take_unknowns(&mut state, read);
    settle_unknowns(&mut state);
    if !failed {
        tracing::info!(cluster = %known(&state.id).unwrap_or_default(), status = %known(&state.status).unwrap_or_default(), "hosted control plane applied");
    }
    Some((state, ValueEmpty::default()))
}

/// A value planned as known is applied as exactly that value: only what the plan left
/// unknown is taken from what the apply read.
fn take_unknowns(state: &mut State, read: State) {
    let pairs = [
        (&mut state.external_address, read.external_address),
        (&mut state.uid, read.uid),
        (&mut state.status, read.status),
        (&mut state.k0smotron_api_version, read.k0smotron_api_version),
        (&mut state.endpoint, read.endpoint),
        (&mut state.ca_certificate, read.ca_certificate),
        (&mut state.kubeconfig, read.kubeconfig),
        (&mut state.client_certificate, read.client_certificate),
        (&mut state.client_key, read.client_key),
        (&mut state.id, read.id),
    ];
    for (planned, got) in pairs {
        if planned.is_unknown() {
            *planned = got;
        }
    }
}

fn exists_detail(e: &OwnedError, spec: &HcpSpec) -> String {
    let who = format!("{}/{}", spec.namespace, spec.name);
    format!(
        "{e}. To manage it with this resource run `terraform import <address> {who}`; with create_before_destroy \
         the new control plane needs a name of its own (the old one keeps its name until it is destroyed)."
    )
}

/// `update` of the resource.
pub(super) async fn update(
    handle: &ProviderHandle,
    diags: &mut Diagnostics,
    prior: State,
    mut planned: State,
    config: &State,
) -> Applied {
    if identity::only_bookkeeping(&prior, &planned) {
        return Some((planned, ValueEmpty::default()));
    }
    let (kube, spec, api, _) = prepare(handle, diags, &mut planned, config).await?;
    let ar = kube_io::cluster_resource(api);
    let who = format!("{}/{}", spec.namespace, spec.name);
    let live = match kube_io::get(&kube, &ar, Some(&spec.namespace), &spec.name).await {
        Ok(Some(o)) => o,
        Ok(None) => {
            diags.add_error(diag::error(
                "Hosted control plane not found",
                format!("The Cluster {who} no longer exists in the management cluster (deleted out of band, or the management cluster was rebuilt); run terraform apply with refresh to plan its re-creation. Nothing was created."),
                AttributePath::root(),
            ));
            return None;
        }
        Err(e) => {
            kube_error(diags, "Cannot read the hosted control plane", e);
            return None;
        }
    };
    let record = match companion::get(&kube, &spec.namespace, &spec.name).await {
        Ok(r) => r,
        Err(e) => {
            kube_error(diags, "Cannot read the hosted control plane", e);
            return None;
        }
    };
    let view = companion::view(&live, record.as_ref());
    let instance = known(&planned.instance_id);
    if let Err(why) = owned::check_ours(&view, instance.as_deref(), known(&planned.uid).as_deref())
    {
        diags.add_error(diag::error(
            "Hosted control plane is not this resource's",
            format!("The Cluster {who} is not the one this resource created: {why}. It was not changed."),
            AttributePath::root(),
        ));
        return None;
    }
    match owning::sync_beside(&kube, &spec, instance.as_deref(), false).await {
        // No lease to hold: the state records this instance, so nothing adopts them.
        Ok(created) => {
            if let Some(i) = &instance {
                owning::mark_all_created(&kube, &created, i).await;
            }
        }
        Err(e) => {
            kube_error(diags, "Cannot store the objects beside the Cluster", e);
            return None;
        }
    }
    // The default image recorded in the prior state was never sent: nothing to remove.
    let mut prior_sent = prior.clone();
    if known(&prior_sent.image).as_deref() == Some(DEFAULT_IMAGE) {
        prior_sent.image = Value::Null;
    }
    let prior_spec = spec_from_state(&prior_sent).0;
    // The written-back address is removed only when the exposure changes (planned unknown):
    // k0smotron then writes the new one.
    let readdress = planned.external_address.is_unknown();
    let allocated = ports::allocated_value(config, Some(&spec.service_type));
    if let Err(e) = book(
        &kube,
        &live,
        &view,
        record.as_ref(),
        instance.as_deref(),
        &allocated,
    )
    .await
    {
        kube_error(diags, "Cannot record the hosted control plane's owner", e);
        return None;
    }
    let applied = match apply_cluster(
        &kube,
        &ar,
        (prior_spec.as_ref(), &spec),
        api,
        &live,
        readdress,
    )
    .await
    {
        Ok(o) => o,
        Err(e) => {
            kube_error(diags, "Cannot apply the k0smotron Cluster", e);
            return None;
        }
    };
    let outcome = settle(&kube, diags, &spec, api, &ar, applied, Phase::Update).await;
    if outcome.is_ok() {
        // Only now that the Cluster no longer mounts them (a failed wait leaves them to
        // the next apply).
        if let Err(e) = owning::prune_beside(&kube, &spec, instance.as_deref()).await {
            kube_error(
                diags,
                "Cannot delete the objects the control plane no longer uses",
                e,
            );
        }
    }
    finish(&kube, diags, planned, api, outcome).await
}

/// The bookkeeping an update writes, on the companion only: a legacy `Cluster` (ours by
/// its uid, no owner annotation) is claimed, and the allocated node ports are recorded.
async fn book(
    kube: &kube::Client,
    live: &Json,
    view: &Json,
    record: Option<&Json>,
    instance: Option<&str>,
    allocated: &str,
) -> Result<(), KubeError> {
    match (instance, crate::framework::ownership::Owner::of(view)) {
        (Some(i), None) => companion::bind(kube, live, i, Some(allocated))
            .await
            .map(|_| ()),
        _ => companion::record_allocated(kube, live, record, instance, allocated).await,
    }
}

/// Server-side apply of the Cluster (`specs`: the prior and the planned spec), with the
/// live object's metadata ([`object::keep_live_metadata`]).
///
/// # Why fields the spec no longer sets are also removed explicitly
///
/// A create POSTs the Cluster, which records its fields under an `Update` entry of
/// `managedFields`; a server-side apply removes a field it no longer sets only when no
/// other manager owns it, so a field the user drops (`image`, flags, manifests...) would
/// stay. A merge patch that nulls what the prior spec set and the planned one does not
/// removes it whoever owns it.
async fn apply_cluster(
    kube: &kube::Client,
    ar: &kube::core::ApiResource,
    (prior, spec): (Option<&HcpSpec>, &HcpSpec),
    api: Api,
    live: &Json,
    readdress: bool,
) -> Result<Json, KubeError> {
    let mut desired = object::cluster_object(spec, api);
    object::keep_controller_manifests(&mut desired, live, &spec.name);
    // Labels are in k0smotron's immutable StatefulSet selector, annotations in its pod
    // template: the Cluster's metadata is sent as it is live (written at create only).
    object::keep_live_metadata(&mut desired, live);
    let applied = kube_io::apply(kube, ar, &desired).await?;
    let dropped = prior
        .and_then(|p| object::removals(&object::cluster_object(p, api)["spec"], &desired["spec"]))
        .and_then(|mut nulls| {
            if !readdress {
                nulls.as_object_mut()?.remove("externalAddress");
            }
            nulls
                .as_object()
                .is_some_and(|o| !o.is_empty())
                .then_some(nulls)
        });
    match dropped {
        Some(nulls) => {
            let patch = serde_json::json!({ "spec": nulls });
            kube_io::patch_merge(kube, ar, Some(&spec.namespace), &spec.name, &patch).await
        }
        None => Ok(applied),
    }
}

/// Polls the Cluster (and its StatefulSet) until every replica serves the current spec
/// ([`rolled::judge`]).
async fn wait_ready(
    kube: &kube::Client,
    spec: &HcpSpec,
    api: Api,
    ar: &kube::core::ApiResource,
    timeout: Duration,
) -> Result<Json, WaitError<KubeError>> {
    let what = format!(
        "hosted control plane {}/{} to be ready",
        spec.namespace, spec.name
    );
    wait::until(&what, timeout, Backoff::default(), || {
        let (kube, ar, ns, name) = (
            kube.clone(),
            ar.clone(),
            spec.namespace.clone(),
            spec.name.clone(),
        );
        async move {
            match kube_io::get(&kube, &ar, Some(&ns), &name).await? {
                None => Ok::<_, KubeError>(Check::Pending("the Cluster disappeared".into())),
                Some(obj) => {
                    let sts = rolled::read_statefulset(&kube, &ns, &name).await?;
                    let verdict = rolled::judge(&obj, sts.as_ref(), api);
                    Ok(if verdict.done {
                        Check::Ready(obj)
                    } else {
                        Check::Pending(verdict.summary)
                    })
                }
            }
        }
    })
    .await
}

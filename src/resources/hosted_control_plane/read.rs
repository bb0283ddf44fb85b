//! Refresh: the live `Cluster` and k0smotron's Secrets into the state, only after checking
//! that the provider reaches the cluster that holds it and that the object is this
//! instance's. A management cluster that cannot be reached keeps the prior state (with a
//! warning): its endpoint may have moved, and the configured connection is used by the plan.

use serde_json::Value as Json;
use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};

use crate::framework::diag;
use crate::framework::ownership::new_instance_id;
use crate::provider::{Clients, ProviderHandle};
use crate::resources::kube_io::{self, KubeError};

use super::access;
use super::companion;
use super::identity::{self, Recognition};
use super::model::*;
use super::object::{self, Api};
use super::owning;
use super::readback;
use super::resource::set;

/// `read` of the resource: `None` when the state's `Cluster` is gone.
pub(super) async fn read(
    handle: &ProviderHandle,
    diags: &mut Diagnostics,
    state: State,
) -> Option<State> {
    // Connection settings not known until apply: refreshed once they are.
    if handle.until_apply() {
        return Some(state);
    }
    let (clients, kube) = handle
        .management_for(diags, &state.management_kubeconfig)
        .await?;
    match refresh(&clients, &kube, diags, state.clone()).await {
        Ok(s) => s,
        Err(e) if kube_io::unreachable(&e) => {
            diags.add_warning(diag::error(
                "Management cluster unreachable: state kept",
                format!(
                    "{}: {e}. The recorded state of {} is kept as it was. If the management cluster's endpoint \
                     moved, the plan uses the configured management_kubeconfig and an apply records it.",
                    connection_words(&state),
                    who(&state)
                ),
                AttributePath::root(),
            ));
            Some(state)
        }
        Err(e) => {
            super::resource::kube_error(diags, "Cannot read the hosted control plane", e);
            Some(state)
        }
    }
}

fn who(s: &State) -> String {
    format!(
        "{}/{}",
        known(&s.namespace).unwrap_or_default(),
        known(&s.name).unwrap_or_default()
    )
}

fn connection_words(s: &State) -> &'static str {
    if s.management_kubeconfig.is_value() {
        "Cannot reach the management cluster with the recorded management_kubeconfig"
    } else {
        "Cannot reach the management cluster with the provider's kubernetes settings"
    }
}

async fn refresh(
    clients: &Clients,
    kube: &kube::Client,
    diags: &mut Diagnostics,
    state: State,
) -> Result<Option<State>, KubeError> {
    let connected = kube_io::cluster_uid(kube).await?;
    let recorded = known(&state.management_cluster_uid);
    if let Err(e) = identity::check_cluster(recorded.as_deref(), &connected) {
        diags.add_error(diag::error(
            "Connected to another management cluster",
            format!("{}: {e}", who(&state)),
            AttributePath::new("management_cluster_id"),
        ));
        return Ok(Some(state));
    }
    let api = access::api_for(
        clients,
        kube,
        known(&state.k0smotron_api_version).as_deref(),
    )
    .await?;
    let (ns, name) = (
        known(&state.namespace).unwrap_or_default(),
        known(&state.name).unwrap_or_default(),
    );
    let ar = kube_io::cluster_resource(api);
    let Some(obj) = kube_io::get(kube, &ar, Some(&ns), &name).await? else {
        tracing::info!(cluster = %format!("{ns}/{name}"), "hosted control plane no longer exists; removing it from the state");
        return Ok(None);
    };
    let record = companion::get(kube, &ns, &name).await?;
    let recognition = identity::recognise(
        &companion::view(&obj, record.as_ref()),
        known(&state.instance_id).as_deref(),
        known(&state.uid).as_deref(),
    );
    if let Recognition::Other(why) = &recognition {
        diags.add_warning(diag::error(
            "Hosted control plane replaced out of band",
            format!(
                "The Cluster {ns}/{name} this resource created no longer exists: the object of that name now is another one ({why}). \
                 It is removed from the state and left as it is; the plan proposes to create the control plane, which fails \
                 while the other object has the name."
            ),
            AttributePath::root(),
        ));
        return Ok(None);
    }
    let obs = object::observe(&obj, api);
    if obs.deleting {
        tracing::info!(cluster = %format!("{ns}/{name}"), "hosted control plane is being deleted; removing it from the state");
        return Ok(None);
    }
    let mut s = state;
    s.management_cluster_uid = Value::Value(connected.clone().into());
    if s.management_cluster_id.is_null() {
        s.management_cluster_id =
            Value::Value(identity::management_cluster_id(&connected, &ns).into());
    }
    let allocated = companion::allocated(&obj, record.as_ref());
    record_owner(kube, diags, &mut s, &obj, recognition, allocated.as_deref()).await;
    if s.k0s_version.is_null() {
        // Just imported: the live object is the whole truth.
        adopt_live(
            &mut s,
            &obs,
            allocated.as_deref().map(super::ports::parse_allocated),
        );
    }
    absorb_drift(&mut s, &obs);
    let beside = read_beside(kube, &ns, &name, &s).await?;
    readback::absorb(&mut s, &obj, api, &beside);
    fill_outputs(kube, &mut s, &obj, api).await?;
    Ok(Some(s))
}

/// The manifests ConfigMap's data and the kine Secret's URL (what the state stores beside
/// the Cluster), for drift detection.
async fn read_beside(
    kube: &kube::Client,
    ns: &str,
    name: &str,
    s: &State,
) -> Result<readback::Beside, KubeError> {
    let cm = kube_io::get(
        kube,
        &kube_io::configmap_resource(),
        Some(ns),
        &manifests_configmap_name(name),
    )
    .await?;
    let manifests = cm.map(|c| {
        c["data"]
            .as_object()
            .map(|d| {
                d.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    });
    let kine = s
        .storage
        .as_ref_option()
        .is_some_and(|st| known(&st.kind).as_deref() == Some("kine"));
    let kine_url = if kine {
        kube_io::secret_data(kube, ns, &kine_secret_name(name))
            .await?
            .and_then(|d| d.get("K0SMOTRON_KINE_DATASOURCE_URL").cloned())
            .and_then(|b| String::from_utf8(b).ok())
    } else {
        None
    };
    Ok(readback::Beside {
        manifests,
        kine_url,
    })
}

/// Records the instance id and writes what the ownership lacks, on the companion only
/// (never the `Cluster`, see [`companion`]): a legacy object is claimed (with the objects
/// beside it), a create that returned without marking its object created is marked. A
/// failed write is a warning: the next refresh retries.
async fn record_owner(
    kube: &kube::Client,
    diags: &mut Diagnostics,
    s: &mut State,
    obj: &Json,
    recognition: Recognition,
    allocated: Option<&str>,
) {
    let (instance, legacy) = match recognition {
        Recognition::Ours { instance, write } => {
            if !write {
                s.instance_id = Value::Value(instance.into());
                return;
            }
            (instance, false)
        }
        Recognition::Unclaimed => (new_instance_id(), true),
        Recognition::Other(_) => return,
    };
    if let Err(e) = companion::bind(kube, obj, &instance, allocated).await {
        diags.add_warning(diag::error(
            "Cannot write the owner annotation",
            format!("{}: {e}. The next refresh tries again.", who(s)),
            AttributePath::root(),
        ));
        return;
    }
    if legacy {
        let (ns, name) = (
            known(&s.namespace).unwrap_or_default(),
            known(&s.name).unwrap_or_default(),
        );
        owning::claim_beside(kube, &ns, &name, None, &instance).await;
        tracing::info!(cluster = %who(s), %instance, "claimed a control plane created by an earlier provider version");
    }
    s.instance_id = Value::Value(instance.into());
}

/// Fills the computed outputs from the object and k0smotron's Secrets.
pub(super) async fn fill_outputs(
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
pub(super) fn settle_unknowns(s: &mut State) {
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
        &mut s.id,
        &mut s.instance_id,
        &mut s.management_cluster_uid,
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
    // Absent: the CRD's default, which the apiserver fills in.
    s.image = Value::Value(
        obs.image
            .clone()
            .unwrap_or_else(|| DEFAULT_IMAGE.into())
            .into(),
    );
    // An absent field is the CRD's default (the apiserver fills it in): ClusterIP, 30443, 30132.
    let live_type = obs
        .service_type
        .clone()
        .unwrap_or_else(|| "ClusterIP".into());
    let live_api = obs.api_port.unwrap_or(DEFAULT_API_PORT as i64);
    let live_konn = obs
        .konnectivity_port
        .unwrap_or(DEFAULT_KONNECTIVITY_PORT as i64);
    if let Some(svc) = s.service.as_mut_option() {
        svc.kind = Value::Value(live_type.clone().into());
        // The block records configured ports only (null: allocated, see the top level).
        if svc.api_port.is_value() {
            svc.api_port = Value::Value(live_api);
        }
        if svc.konnectivity_port.is_value() {
            svc.konnectivity_port = Value::Value(live_konn);
        }
    }
    // The effective exposure; a state of an earlier version (null here) keeps null until
    // the next apply records it, so the plan can tell its recorded block ports from
    // configured ones.
    if s.service_type.is_value() {
        s.service_type = Value::Value(live_type.into());
        s.api_port = Value::Value(live_api);
        s.konnectivity_port = Value::Value(live_konn);
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
fn adopt_live(s: &mut State, obs: &object::Observed, allocated: Option<(bool, bool)>) {
    set(&mut s.k0s_version, obs.version.clone());
    s.replicas = Value::Value(obs.replicas.unwrap_or(1));
    let kind = obs
        .service_type
        .clone()
        .unwrap_or_else(|| "ClusterIP".into());
    let api_port = obs.api_port.unwrap_or(DEFAULT_API_PORT as i64);
    let konnectivity_port = obs
        .konnectivity_port
        .unwrap_or(DEFAULT_KONNECTIVITY_PORT as i64);
    // The live spec always names its service, and configurations mostly write the block:
    // the block with the type. The node ports the provider allocated (its annotation on the
    // Cluster) are left out of the block, as a configuration leaves them out; others (also
    // all of a Cluster without the annotation: an earlier version's, or not k0stack's) are
    // in it, as a configuration states them. The other types' ports are in the block only
    // when they are not the fixed defaults.
    let node_port = kind == "NodePort";
    let (api_alloc, konn_alloc) = allocated.unwrap_or((false, false));
    let port = |p: i64, d: u16, alloc: bool| {
        if (node_port && alloc) || (!node_port && p == d as i64) {
            Value::Null
        } else {
            Value::Value(p)
        }
    };
    s.service = Value::Value(ServiceBlock {
        kind: Value::Value(kind.clone().into()),
        api_port: port(api_port, DEFAULT_API_PORT, api_alloc),
        konnectivity_port: port(konnectivity_port, DEFAULT_KONNECTIVITY_PORT, konn_alloc),
    });
    s.service_type = Value::Value(kind.into());
    s.api_port = Value::Value(api_port);
    s.konnectivity_port = Value::Value(konnectivity_port);
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

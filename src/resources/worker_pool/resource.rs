//! CRUD of `k0stack_worker_pool`. Plan resolves names against OpenStack and reads the
//! control plane (so typos and version skew fail at plan time); apply and destroy hand the
//! work to `reconcile`; read observes with one Nova list and one node list.

use std::sync::Arc;

use async_trait::async_trait;
use tf_provider::schema::Schema;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};

use crate::framework::{diag, Problems};
use crate::kube::workload;
use crate::openstack::OpenStack;
use crate::provider::planned::Planned;
use crate::provider::{Clients, ProviderHandle};
use crate::resources::hosted_control_plane::access::{self, HostedAccess};

use super::cloud;
use super::model::*;
use super::observe;
use super::plan::{self, Resolved};
use super::validate::spec_from_state;
use super::{apply, destroy, import, refresh, schema};

pub(super) const BLOCKS: &[&str] = &[
    "boot_volume",
    "rolling_update",
    "drain",
    "airgap",
    "timeouts",
];

pub struct WorkerPool {
    handle: ProviderHandle,
}

impl WorkerPool {
    /// The control plane's version as planned in this walk when it was (an upgrade in the
    /// same apply: the pool follows it), else the one it runs; None when unknown until apply.
    fn control_plane_version(&self, spec: &PoolSpec, hcp: Option<&HostedAccess>) -> Option<String> {
        let id = format!("{}/{}", spec.hcp_namespace, spec.hcp_name);
        let planned = self
            .handle
            .get()
            .ok()
            .and_then(|c| c.discovered.planned_versions.get(&id));
        match planned {
            Some(Planned::Known(v)) => Some(v),
            Some(Planned::Unknown) => None,
            None => hcp.and_then(|h| h.version.clone()),
        }
    }

    pub fn new(handle: ProviderHandle) -> Self {
        Self { handle }
    }
}

pub(super) fn error(diags: &mut Diagnostics, summary: &str, detail: impl std::fmt::Display) {
    diags.add_error(diag::error(
        summary,
        detail.to_string(),
        AttributePath::root(),
    ));
}

pub(super) fn string(s: impl Into<String>) -> Str {
    Value::Value(s.into().into())
}

/// The management client, the OpenStack client, and the clients struct.
pub(super) async fn connections(
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
pub(super) async fn workload_client(hcp: Option<&HostedAccess>) -> Option<kube::Client> {
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
        // Connection settings not known until apply: plan without remote calls.
        if self.handle.until_apply() {
            return Resolved::default();
        }
        let (spec, problems) = spec_from_state(config);
        if !problems.is_empty() {
            return Resolved::default();
        }
        // The control plane may be created or replaced in this same apply (its id is unknown
        // then): the names are looked up all the same, so that a typo fails the plan before
        // anything is created; only the control plane itself is not read.
        let creating_hcp = config.hosted_control_plane_id.is_unknown();
        let spec = match spec {
            Some(s) => s,
            None if creating_hcp => {
                let mut probe = config.clone();
                probe.hosted_control_plane_id = Value::Value("-/-".into());
                match spec_from_state(&probe).0 {
                    Some(s) => s,
                    None => return Resolved::default(),
                }
            }
            None => return Resolved::default(),
        };
        let Some(os) = self
            .handle
            .get()
            .ok()
            .and_then(|c| c.openstack_api().ok().cloned())
        else {
            return Resolved::default();
        };
        // The management cluster is created in this apply when its kubeconfig is unknown.
        let hcp = if creating_hcp || config.management_kubeconfig.is_unknown() {
            None
        } else {
            let Some((clients, kube, _)) =
                connections(&self.handle, diags, &config.management_kubeconfig).await
            else {
                return Resolved::default();
            };
            match access::hosted_access(
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
            }
        };
        let hcp_version = self.control_plane_version(&spec, hcp.as_ref());
        if let Some(t) = hcp.as_ref().and_then(|h| h.service_type.as_deref()) {
            if t == "ClusterIP" {
                diags.add_warning(diag::error(
                    "Control plane only reachable inside the management cluster",
                    format!(
                        "{}/{} is exposed as ClusterIP: OpenStack VMs cannot reach it to join, and the provider cannot \
                         watch their nodes. Set service {{ type = \"NodePort\" }} or \"LoadBalancer\" on the \
                         k0stack_hosted_control_plane.",
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
        // The pool's own version was checked with the configuration; the control plane's here.
        if let (Some(b), None, Some(v)) = (&spec.image_bundle, &spec.k0s_version, &version) {
            super::validate::check_bundle_version(b, v, &mut p);
        }
        let (mut template_hash, mut equivalent_hashes, mut image_id) = (None, vec![], None);
        match cloud::resolve(&os, &spec, version.as_deref().unwrap_or("v0.0.0+k0s.0")).await {
            Ok(rt) => {
                image_id = Some(rt.template.image_id.clone());
                if version.is_some() {
                    template_hash = Some(rt.template.hash());
                    equivalent_hashes = rt.template.equivalent_hashes();
                }
            }
            Err(problems) => p.extend(problems.0),
        }
        p.report(diags, BLOCKS);
        Resolved {
            template_hash,
            hcp_version,
            hcp_uid: hcp.as_ref().map(|h| h.uid.clone()),
            equivalent_hashes,
            image_id,
        }
    }
}

/// Records an observation in the state's computed attributes.
pub(super) fn record_observation(state: &mut State, observed: &[observe::Observed]) {
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
        let s = refresh::refresh(&self.handle, diags, state).await?;
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
        let (planned, replace, problems) = plan::plan_update(&prior, proposed, &config, &resolved);
        problems.report(diags, BLOCKS);
        let policy = known(&planned.stopped_members)
            .and_then(|p| StoppedPolicy::parse(&p))
            .unwrap_or_default();
        let notes = [
            ("Stopped members", plan::stopped_note(&prior, policy)),
            ("Members deleted out of band", plan::gone_note(&prior)),
            (
                "Members removed by the scale-down",
                plan::scale_down_note(&prior, &planned, policy),
            ),
        ];
        for (summary, note) in notes {
            if let Some(note) = note {
                diags.add_warning(diag::error(summary, note, AttributePath::new("members")));
            }
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
        apply::apply(&self.handle, diags, None, planned, |s| s.timeouts.create).await
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
        apply::apply(&self.handle, diags, Some(&prior), planned, |s| {
            s.timeouts.update
        })
        .await
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        _private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<()> {
        destroy::destroy(&self.handle, diags, &state).await
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let state = import::import(&self.handle, diags, &id).await?;
        Some((state, ValueEmpty::default()))
    }
}

//! `k0stack_hosted_control_plane`: the Resource implementation, dispatching to the pure
//! planning of `plan`/`validate` and to `read`, `apply`, `destroy` and `import`, which talk
//! to the management cluster through `kube_io`.

use async_trait::async_trait;
use tf_provider::schema::Schema;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};

use crate::framework::diag;
use crate::provider::planned::Planned;
use crate::provider::{Clients, ProviderHandle};
use crate::resources::kube_io::KubeError;

use super::access;
use super::model::*;
use super::object::Api;
use super::plan;
use super::ports;
use super::schema;
use super::validate::spec_from_state;
use super::{apply, destroy, import, read};

/// Nested blocks (for attribute paths in diagnostics).
pub(super) const BLOCKS: &[&str] = &[
    "service",
    "storage",
    "persistence",
    "resources",
    "timeouts",
    "etcd",
];

pub struct HostedControlPlane {
    handle: ProviderHandle,
}

impl HostedControlPlane {
    pub fn new(handle: ProviderHandle) -> Self {
        Self { handle }
    }
}

pub(super) fn kube_error(diags: &mut Diagnostics, summary: &str, e: impl std::fmt::Display) {
    diags.add_error(diag::error(summary, e.to_string(), AttributePath::root()));
}

/// The k0smotron API: the one recorded in state, else detected once per provider process.
pub(super) async fn api_for(
    clients: &Clients,
    kube: &kube::Client,
    recorded: &Str,
) -> Result<Api, KubeError> {
    access::api_for(clients, kube, known(recorded).as_deref()).await
}

pub(super) fn set(v: &mut Str, s: Option<String>) {
    *v = match s {
        Some(s) => Value::Value(s.into()),
        None => Value::Null,
    };
}

/// A configured node port another Service of the management cluster holds is refused at
/// plan time (the apiserver would refuse k0smotron's Service, and the control plane would
/// never become ready). Skipped when the management cluster cannot be asked yet (it is
/// created in the same apply, or unreachable): apply's k0smotron then reports it.
async fn check_ports(
    handle: &ProviderHandle,
    diags: &mut Diagnostics,
    planned: &State,
    config: &State,
) {
    if known(&planned.service_type).as_deref() != Some("NodePort") {
        return;
    }
    let configured: Vec<(&str, u16)> = config
        .service
        .as_ref_option()
        .map(|b| {
            [
                ("api_port", b.api_port),
                ("konnectivity_port", b.konnectivity_port),
            ]
            .into_iter()
            .filter_map(|(a, v)| {
                v.as_ref_option()
                    .and_then(|n| u16::try_from(*n).ok())
                    .map(|n| (a, n))
            })
            .collect()
        })
        .unwrap_or_default();
    let (Some(ns), Some(name)) = (known(&planned.namespace), known(&planned.name)) else {
        return;
    };
    if configured.is_empty() || planned.management_kubeconfig.is_unknown() {
        return;
    }
    let mut scratch = Diagnostics::default();
    let Some((_, kube)) = handle
        .management_for(&mut scratch, &planned.management_kubeconfig)
        .await
    else {
        return;
    };
    let in_use = match ports::node_ports_in_use(&kube).await {
        Ok(u) => u,
        Err(e) => {
            tracing::debug!(error = %e, "node ports not checked at plan");
            return;
        }
    };
    let own = ports::own_service(&ns, &name);
    for (attr, port) in configured {
        if let Some(who) = ports::taken_by(&in_use, port, &own) {
            diags.add_error(diag::error(
                "Node port already allocated",
                format!("service.{attr} = {port}: the Service {who} in the management cluster holds node port {port}, and node ports are cluster-wide, so k0smotron's Service for {ns}/{name} would be refused (\"provided port is already allocated\"). Choose another port in 30000-32767, or leave it unset: the provider then allocates a free one."),
                diag::AttrError::new(&["service", attr], "", "").attribute_path(BLOCKS),
            ));
        }
    }
}

#[async_trait]
impl Resource for HostedControlPlane {
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
        read::read(&self.handle, diags, state)
            .await
            .map(|s| (s, private))
    }

    async fn plan_create<'a>(
        &self,
        diags: &mut Diagnostics,
        proposed: Self::State<'a>,
        config: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        spec_from_state(&config).1.report(diags, BLOCKS);
        let planned = plan::plan_create(proposed, &config);
        check_ports(&self.handle, diags, &planned, &config).await;
        Some((planned, ValueEmpty::default()))
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
        let plan = plan::plan_update(&prior, proposed, &config);
        plan.problems.report(diags, BLOCKS);
        check_ports(&self.handle, diags, &plan.planned, &config).await;
        share_planned_version(&self.handle, &plan.planned);
        let replace = diag::attribute_paths(plan.replace, BLOCKS);
        Some((plan.planned, private, replace))
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
        config: Self::State<'a>,
        _private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        apply::create(&self.handle, diags, planned, &config).await
    }

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: Self::State<'a>,
        planned: Self::State<'a>,
        config: Self::State<'a>,
        _private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        apply::update(&self.handle, diags, prior, planned, &config).await
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        _private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<()> {
        destroy::destroy(&self.handle, diags, state).await
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        import::import(&self.handle, diags, id)
            .await
            .map(|s| (s, ValueEmpty::default()))
    }
}

/// Records the planned `k0s_version` for the worker pools planned after this control plane
/// (see [`crate::provider::planned`]): they follow an upgrade in the same apply.
fn share_planned_version(handle: &ProviderHandle, planned: &State) {
    let (Ok(clients), Value::Value(id)) = (handle.get(), &planned.id) else {
        return; // a new or replaced control plane: its pools are planned as new ones too
    };
    let version = match &planned.k0s_version {
        Value::Value(v) => Planned::Known(v.to_string()),
        _ => Planned::Unknown,
    };
    clients.discovered.planned_versions.record(id, version);
}

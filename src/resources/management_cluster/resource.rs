//! CRUD of `k0stack_management_cluster`: the [`Resource`] implementation, dispatching to
//! [`super::bootstrapped`] (the cluster this provider builds on OpenStack) and
//! [`super::connected`] (what this resource keeps inside the cluster, in both modes), with
//! the pure planning in [`super::plan`].

use async_trait::async_trait;
use tf_provider::schema::Schema;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};

use crate::framework::{diag, timeouts};
use crate::provider::{Clients, ProviderHandle};

use super::model::*;
use super::plan::{self, Inputs};
use super::validate::validate;
use super::{bootstrapped, connected, credentials, destroy, import, schema};

pub(super) const BLOCKS: &[&str] = &["openstack_credentials", "bootstrap", "timeouts"];

pub struct ManagementCluster {
    handle: ProviderHandle,
}

impl ManagementCluster {
    pub fn new(handle: ProviderHandle) -> Self {
        Self { handle }
    }
}

fn err(diags: &mut Diagnostics, summary: &str, e: impl std::fmt::Display) {
    diags.add_error(diag::error(summary, e.to_string(), AttributePath::root()));
}

/// What the plan takes from the configured provider (None: not configured yet).
fn inputs(clients: Option<&Clients>, s: &State) -> Inputs {
    Inputs {
        connection: clients
            .and_then(|c| c.kube().ok())
            .map(|k| (k.source.origin(), k.server.clone())),
        credentials: s
            .openstack_credentials
            .as_ref_option()
            .and_then(|b| clients.map(|c| credentials::content(c, b))),
    }
}

/// Replaces what is still unknown by the prior value (an update that failed part way) or
/// null: Terraform rejects unknown values in a state.
fn or_prior<T: Clone>(v: &mut Value<T>, prior: Option<&Value<T>>) {
    if v.is_unknown() {
        *v = prior
            .filter(|p| !p.is_unknown())
            .cloned()
            .unwrap_or(Value::Null);
    }
}

fn settle(mut s: State, prior: Option<&State>) -> (State, ValueEmpty) {
    let p = prior;
    or_prior(&mut s.id, p.map(|p| &p.id));
    or_prior(&mut s.endpoint, p.map(|p| &p.endpoint));
    or_prior(&mut s.ca_certificate, p.map(|p| &p.ca_certificate));
    or_prior(&mut s.kubeconfig, p.map(|p| &p.kubeconfig));
    or_prior(
        &mut s.k0smotron_api_version,
        p.map(|p| &p.k0smotron_api_version),
    );
    or_prior(&mut s.kubernetes_version, p.map(|p| &p.kubernetes_version));
    or_prior(&mut s.instance_id, p.map(|p| &p.instance_id));
    or_prior(&mut s.namespace_uid, p.map(|p| &p.namespace_uid));
    or_prior(&mut s.node_count, p.map(|p| &p.node_count));
    or_prior(&mut s.namespace_created, p.map(|p| &p.namespace_created));
    or_prior(&mut s.members, p.map(|p| &p.members));
    or_prior(&mut s.k0smotron_drift, p.map(|p| &p.k0smotron_drift));
    let pb = p.and_then(|p| p.bootstrap.as_ref_option());
    if let Some(b) = s.bootstrap.as_mut_option() {
        or_prior(&mut b.server_group_id, pb.map(|p| &p.server_group_id));
        or_prior(&mut b.ca_key, pb.map(|p| &p.ca_key));
        or_prior(&mut b.admin_certificate, pb.map(|p| &p.admin_certificate));
        or_prior(&mut b.admin_key, pb.map(|p| &p.admin_key));
    }
    if let Some(b) = s.openstack_credentials.as_mut_option() {
        credentials::settle(b);
    }
    (s, ValueEmpty::default())
}

impl ManagementCluster {
    async fn apply(
        &self,
        diags: &mut Diagnostics,
        planned: State,
        prior: Option<&State>,
        timeout: std::time::Duration,
    ) -> Option<(State, ValueEmpty)> {
        let unchanged = || prior.map(|p| (p.clone(), ValueEmpty::default()));
        let mut s = planned;
        let clients = match self.handle.get() {
            Ok(c) => c,
            Err(e) => {
                err(diags, "Provider not configured", e);
                return unchanged();
            }
        };
        let bootstrap = s.bootstrap.is_value();
        let kube = if bootstrap {
            match bootstrapped::apply(&clients, diags, &mut s, prior, timeout).await {
                Ok(k) => k,
                Err(recorded) => {
                    return (recorded || prior.is_some()).then(|| settle(s, prior));
                }
            }
        } else {
            match self.handle.management(diags) {
                Some((_, k)) => k,
                None => return unchanged(),
            }
        };
        let recorded = bootstrap || prior.is_some();
        match connected::apply(&clients, &kube, &mut s, prior, recorded, timeout).await {
            Ok(()) => Some(settle(s, None)),
            Err(f) => {
                f.report(diags);
                (f.recorded || recorded).then(|| settle(s, prior))
            }
        }
    }

    fn timeout(
        s: &State,
        pick: fn(&timeouts::Timeouts) -> std::time::Duration,
    ) -> std::time::Duration {
        timeouts::resolve(s.timeouts.as_ref_option(), DEFAULT_TIMEOUTS)
            .map(|t| pick(&t))
            .unwrap_or(pick(&DEFAULT_TIMEOUTS))
    }
}

#[async_trait]
impl Resource for ManagementCluster {
    type State<'a> = State;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema::schema())
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        validate(&config).report(diags, BLOCKS);
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let mut s = state;
        let clients = match self.handle.get() {
            Ok(c) => c,
            Err(e) => {
                err(diags, "Provider not configured", e);
                return None;
            }
        };
        let bootstrap = s.bootstrap.is_value();
        if clients.until_apply() {
            // Refreshed once the provider's settings are known (see `provider::Pending`).
            tracing::info!(
                "not refreshed: the provider's connection settings are not known until apply"
            );
            return Some((s, private));
        }
        let kube = if bootstrap {
            match bootstrapped::read(&clients, &mut s, diags).await {
                Err(()) => return None,
                Ok(None) => return Some((s, private)),
                Ok(Some(k)) => k,
            }
        } else {
            self.handle.management(diags)?.1
        };
        match connected::read(&clients, &kube, &mut s, bootstrap, diags).await {
            Ok(()) => Some((s, private)),
            // The bootstrapped cluster's API may be down (a controller being repaired):
            // the members show it; what is inside is read again once it answers.
            Err(f) if bootstrap => {
                tracing::info!("the bootstrapped cluster was not read: {}", f.detail);
                Some((s, private))
            }
            Err(f) => {
                f.report(diags);
                None
            }
        }
    }

    async fn plan_create<'a>(
        &self,
        diags: &mut Diagnostics,
        proposed: Self::State<'a>,
        config: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        validate(&config).report(diags, BLOCKS);
        let clients = self.handle.get().ok();
        let inputs = inputs(clients.as_deref(), &proposed);
        let s = plan::create(&inputs, proposed, diags);
        bootstrapped::resolve_for_plan(clients.as_deref(), &s, diags).await;
        Some((s, ValueEmpty::default()))
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
        validate(&config).report(diags, BLOCKS);
        let clients = self.handle.get().ok();
        let inputs = inputs(clients.as_deref(), &proposed);
        let (s, replace) = plan::update(&prior, &inputs, proposed, &config, diags);
        if let (Some(p), Some(b)) = (prior.bootstrap.as_ref_option(), s.bootstrap.as_ref_option()) {
            if plan::bootstrap_args(p) != plan::bootstrap_args(b) {
                bootstrapped::resolve_for_plan(clients.as_deref(), &s, diags).await;
            }
        }
        Some((s, private, diag::attribute_paths(replace, BLOCKS)))
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
        let t = Self::timeout(&planned, |t| t.create);
        self.apply(diags, planned, None, t).await
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
        let t = Self::timeout(&planned, |t| t.update);
        self.apply(diags, planned, Some(&prior), t).await
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        _private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<()> {
        let timeout = Self::timeout(&state, |t| t.delete);
        let force = state
            .force_destroy
            .as_ref_option()
            .copied()
            .unwrap_or(false);
        if state.bootstrap.is_value() {
            let clients = match self.handle.get() {
                Ok(c) => c,
                Err(e) => {
                    err(diags, "Provider not configured", e);
                    return None;
                }
            };
            return bootstrapped::destroy(&clients, &state, force, timeout, diags).await;
        }
        let (clients, kube) = self.handle.management(diags)?;
        destroy::destroy(&clients, &kube, &state, force, timeout, diags).await
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let clients = match self.handle.get() {
            Ok(c) => c,
            Err(e) => {
                err(diags, "Provider not configured", e);
                return None;
            }
        };
        match import::import(&clients, &id).await {
            Ok((state, warnings)) => {
                for w in warnings {
                    diags.add_warning(diag::error(
                        "Taken over by the import",
                        w,
                        AttributePath::root(),
                    ));
                }
                Some((state, ValueEmpty::default()))
            }
            Err(e) => {
                diags.add_error(diag::error(
                    e.summary(),
                    e.to_string(),
                    AttributePath::root(),
                ));
                None
            }
        }
    }
}

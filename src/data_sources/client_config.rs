//! `data "k0stack_client_config"`: which management cluster and which OpenStack cloud the
//! provider resolved, and from where — without connecting and without any secret. The
//! answer to "which credentials is this run using?" (like `google_client_config`).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::Schema;
use tf_provider::value::{ValueEmpty, ValueString};
use tf_provider::{DataSource, Diagnostics};

use crate::framework::diag;
use crate::framework::schema::{block, string};
use crate::openstack::{Auth, OpenStackConfig};
use crate::provider::{Clients, ProviderHandle};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub id: ValueString<'static>,
    pub kubernetes_source: ValueString<'static>,
    pub kubernetes_server: ValueString<'static>,
    pub openstack_source: ValueString<'static>,
    pub openstack_auth_url: ValueString<'static>,
    pub openstack_region: ValueString<'static>,
    pub openstack_interface: ValueString<'static>,
    pub openstack_auth_method: ValueString<'static>,
}

pub struct ClientConfig {
    handle: ProviderHandle,
}

impl ClientConfig {
    pub fn new(handle: ProviderHandle) -> Self {
        Self { handle }
    }
}

/// The method name shown to users (no credential values).
pub fn auth_method(c: &OpenStackConfig) -> &'static str {
    match c.auth {
        Auth::Password { .. } => "password",
        Auth::ApplicationCredential { .. } => "application_credential",
    }
}

/// Fills the computed attributes from the resolved clients (pure).
pub fn describe(clients: &Clients) -> State {
    let none = || ValueString::Value("not configured".into());
    let mut s = State {
        id: ValueString::Value("k0stack".into()),
        kubernetes_source: none(),
        kubernetes_server: ValueString::Null,
        openstack_source: none(),
        openstack_auth_url: ValueString::Null,
        openstack_region: ValueString::Null,
        openstack_interface: ValueString::Null,
        openstack_auth_method: ValueString::Null,
    };
    if let Some(k) = &clients.kube {
        s.kubernetes_source = ValueString::Value(k.source.origin().into());
        s.kubernetes_server = ValueString::Value(k.server.clone().into());
    }
    // Settings not known until apply: said so, never "not configured" (see `provider::Pending`).
    let until_apply = |names: &[String]| {
        ValueString::Value(format!("not known until apply ({})", names.join(", ")).into())
    };
    if !clients.pending.kubernetes.is_empty() {
        s.kubernetes_source = until_apply(&clients.pending.kubernetes);
    }
    if !clients.pending.openstack.is_empty() {
        s.openstack_source = until_apply(&clients.pending.openstack);
    }
    if let Some(o) = &clients.openstack {
        s.openstack_source = ValueString::Value(o.origin.clone().into());
        s.openstack_auth_url = ValueString::Value(o.auth_url.clone().into());
        s.openstack_region = o.region.clone().map(Into::into).into();
        s.openstack_interface = ValueString::Value(o.interface.as_str().into());
        s.openstack_auth_method = ValueString::Value(auth_method(o).into());
    }
    s
}

#[async_trait]
impl DataSource for ClientConfig {
    type State<'a> = State;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(Schema {
            version: 1,
            block: block(
                "Which management cluster and which OpenStack cloud the provider resolved from its \
                 block, the environment and clouds.yaml, and from where. Reads no secret and connects nowhere.",
                vec![
                    ("id", string("Always `k0stack`.").computed()),
                    ("kubernetes_source", string("Where the management cluster connection came from (file and context), `not configured`, or `not known until apply (<settings>)` while provider settings come from resources not created yet.").computed()),
                    ("kubernetes_server", string("API server URL of the management cluster.").computed()),
                    ("openstack_source", string("Where the OpenStack settings came from, `not configured`, or `not known until apply (<settings>)`.").computed()),
                    ("openstack_auth_url", string("Keystone URL in use.").computed()),
                    ("openstack_region", string("Region in use (null: the catalog's only region).").computed()),
                    ("openstack_interface", string("Catalog interface in use: public, internal or admin.").computed()),
                    ("openstack_auth_method", string("`password` or `application_credential`.").computed()),
                ],
                vec![],
            ),
        })
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        _config: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<Self::State<'a>> {
        match self.handle.get() {
            Ok(clients) => Some(describe(&clients)),
            Err(e) => {
                diags.add_error(diag::error(
                    "Provider not configured",
                    e.to_string(),
                    Default::default(),
                ));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_not_known_until_apply_are_said_so() {
        let clients = Clients {
            terraform_version: "1.0.3".into(),
            kube: None,
            openstack: None,
            openstack_api: None,
            discovered: Default::default(),
            by_kubeconfig: Default::default(),
            pending: crate::provider::clients::Pending {
                kubernetes: vec![],
                openstack: vec!["openstack.region".into()],
            },
        };
        let s = describe(&clients);
        assert_eq!(
            s.openstack_source,
            ValueString::Value("not known until apply (openstack.region)".into())
        );
        assert_eq!(
            s.kubernetes_source,
            ValueString::Value("not configured".into())
        );
    }
}

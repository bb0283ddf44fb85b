//! State of `k0stack_management_cluster`.

use serde::{Deserialize, Serialize};
use tf_provider::value::{Value, ValueBool, ValueList, ValueNumber, ValueSet};

use crate::framework::timeouts::{Timeouts, TimeoutsBlock};

pub use crate::framework::values::{known, known_list, known_map, known_objects, known_set, Str};

pub const DEFAULT_NAMESPACE: &str = "kmc-system";
pub const DEFAULT_SECRET_NAME: &str = "openstack-cloud-config";
pub const DEFAULT_TIMEOUTS: Timeouts = Timeouts::uniform(std::time::Duration::from_secs(10 * 60));

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub id: Str,
    pub namespace: Str,
    pub k0smotron_manifest: Str,
    #[serde(with = "crate::framework::block")]
    pub openstack_credentials: Value<CredentialsBlock>,
    pub force_destroy: ValueBool,
    #[serde(with = "crate::framework::block")]
    pub bootstrap: Value<BootstrapBlock>,
    #[serde(with = "crate::framework::block")]
    pub timeouts: Value<TimeoutsBlock>,
    // Computed.
    pub endpoint: Str,
    pub k0smotron_api_version: Str,
    pub kubernetes_version: Str,
    pub node_count: ValueNumber,
    pub namespace_created: ValueBool,
    pub ca_certificate: Str,
    pub kubeconfig: Str,
    pub members: ValueList<Value<Member>>,
    /// This resource instance's own random id (see `framework::ownership`).
    pub instance_id: Str,
    /// uid of `namespace` as last seen (null: missing, apply creates it).
    pub namespace_uid: Str,
    /// Objects of `k0smotron_manifest` the last refresh found missing (null: no manifest,
    /// or a state of an earlier version not refreshed yet).
    pub k0smotron_drift: ValueList<Str>,
}

/// `bootstrap { ... }`: the provider creates the cluster on OpenStack.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BootstrapBlock {
    pub name: Str,
    pub controllers: ValueNumber,
    pub flavor: Str,
    pub image: Str,
    pub networks: ValueList<Str>,
    /// A set: the order of security groups means nothing.
    pub security_groups: ValueSet<Str>,
    pub key_pair: Str,
    pub floating_ip_pool: Str,
    pub k0s_version: Str,
    pub k0s_download_url: Str,
    pub k0smotron_version: Str,
    pub server_group_policy: Str,
    // Computed.
    pub server_group_id: Str,
    pub ca_key: Str,
    pub admin_certificate: Str,
    pub admin_key: Str,
}

/// A controller VM of a bootstrapped cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub id: Str,
    pub name: Str,
    pub ip: Str,
    pub status: Str,
}

pub const DEFAULT_BOOTSTRAP_NAME: &str = "k0stack-mgmt";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CredentialsBlock {
    pub secret_name: Str,
    pub clouds_yaml: Str,
    pub sha256: Str,
    // Computed: the identity the stored clouds.yaml holds (never a secret).
    pub auth_url: Str,
    pub user_name: Str,
    pub user_id: Str,
    pub application_credential_id: Str,
    pub application_credential_name: Str,
    pub project_name: Str,
    pub project_id: Str,
    pub region: Str,
}

/// The namespace, default applied.
pub fn namespace_of(s: &State) -> String {
    known(&s.namespace).unwrap_or_else(|| DEFAULT_NAMESPACE.to_string())
}

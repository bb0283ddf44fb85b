//! State of `k0stack_management_cluster`.

use serde::{Deserialize, Serialize};
use tf_provider::value::{self, Value, ValueBool, ValueNumber};

use crate::framework::timeouts::{Timeouts, TimeoutsBlock};

pub use crate::framework::values::{known, known_list, known_map, Str};

pub const DEFAULT_NAMESPACE: &str = "kmc-system";
pub const DEFAULT_SECRET_NAME: &str = "openstack-cloud-config";
pub const DEFAULT_TIMEOUTS: Timeouts = Timeouts::uniform(std::time::Duration::from_secs(10 * 60));

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub id: Str,
    pub namespace: Str,
    pub k0smotron_manifest: Str,
    #[serde(with = "value::serde_as_vec")]
    pub openstack_credentials: Value<CredentialsBlock>,
    pub force_destroy: ValueBool,
    #[serde(with = "value::serde_as_vec")]
    pub timeouts: Value<TimeoutsBlock>,
    // Computed.
    pub endpoint: Str,
    pub k0smotron_api_version: Str,
    pub kubernetes_version: Str,
    pub node_count: ValueNumber,
    pub namespace_created: ValueBool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CredentialsBlock {
    pub secret_name: Str,
    pub clouds_yaml: Str,
    pub sha256: Str,
}

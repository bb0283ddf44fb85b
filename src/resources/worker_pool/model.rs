//! State of `k0stack_worker_pool` and the validated [`PoolSpec`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tf_provider::value::{Value, ValueBool, ValueList, ValueMap, ValueNumber, ValueSet};

use crate::framework::timeouts::{Timeouts, TimeoutsBlock};

pub use crate::framework::values::{
    known, known_list, known_map, known_objects, known_set, set_complete, Str,
};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub id: Str,
    pub name: Str,
    pub hosted_control_plane_id: Str,
    pub management_kubeconfig: Str,
    pub size: ValueNumber,
    pub flavor: Str,
    pub image: Str,
    pub networks: ValueList<Str>,
    pub security_groups: ValueSet<Str>,
    pub key_pair: Str,
    pub availability_zones: ValueList<Str>,
    pub server_group_policy: Str,
    #[serde(with = "crate::framework::block")]
    pub boot_volume: Value<BootVolumeBlock>,
    pub metadata: ValueMap<'static, Str>,
    pub labels: ValueMap<'static, Str>,
    pub taints: ValueSet<Str>,
    pub k0s_version: Str,
    pub k0s_download_url: Str,
    #[serde(with = "crate::framework::block")]
    pub airgap: Value<AirgapBlock>,
    pub kubelet_extra_args: Str,
    pub extra_user_data: Str,
    #[serde(with = "crate::framework::block")]
    pub rolling_update: Value<RollingUpdateBlock>,
    #[serde(with = "crate::framework::block")]
    pub drain: Value<DrainBlock>,
    pub wait_for_nodes: ValueBool,
    pub max_parallel: ValueNumber,
    pub stopped_members: Str,
    #[serde(with = "crate::framework::block")]
    pub timeouts: Value<TimeoutsBlock>,
    // Computed.
    pub uid: Str,
    pub hosted_control_plane_uid: Str,
    pub members: ValueList<Value<Member>>,
    pub ready_count: ValueNumber,
    pub server_group_id: Str,
    pub template_hash: Str,
    pub image_id: Str,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BootVolumeBlock {
    pub size: ValueNumber,
    #[serde(rename = "type")]
    pub kind: Str,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AirgapBlock {
    pub bundle_url: Str,
    pub bundle_sha256: Str,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RollingUpdateBlock {
    pub max_surge: ValueNumber,
    pub max_unavailable: ValueNumber,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DrainBlock {
    pub enabled: ValueBool,
    pub timeout: Str,
    pub ignore_pdb_after: Str,
}

/// One server of the pool, as recorded in state.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Member {
    pub id: Str,
    pub name: Str,
    pub ip: Str,
    pub status: Str,
    pub node_name: Str,
    pub ready: ValueBool,
    pub template_hash: Str,
    pub zone: Str,
}

pub const DEFAULT_TIMEOUTS: Timeouts = Timeouts::uniform(Duration::from_secs(30 * 60));
pub const DEFAULT_MAX_PARALLEL: u32 = 20;
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(5 * 60);
pub const SERVER_GROUP_POLICIES: &[&str] = &["anti-affinity", "soft-anti-affinity", "none"];
pub const STOPPED_POLICIES: &[&str] = &["start", "replace", "keep"];
pub const DEFAULT_STOPPED_POLICY: &str = "start";

/// What apply does with a member whose server was stopped out of band (SHUTOFF, SHELVED,
/// SUSPENDED, PAUSED): a stopped server is not broken, and its disk holds whatever ran
/// there, so it is never replaced unless asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StoppedPolicy {
    /// Start it again (os-start, unshelve, resume or unpause) and wait for its node.
    #[default]
    Start,
    /// Replace it like a failed member (drain skipped: its kubelet is down).
    Replace,
    /// Leave it as it is; it counts as a member but not as Ready.
    Keep,
}

impl StoppedPolicy {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "start" => Some(Self::Start),
            "replace" => Some(Self::Replace),
            "keep" => Some(Self::Keep),
            _ => None,
        }
    }
}

/// The validated configuration (names not yet resolved against OpenStack).
#[derive(Debug, Clone, PartialEq)]
pub struct PoolSpec {
    pub name: String,
    pub hcp_namespace: String,
    pub hcp_name: String,
    pub size: u32,
    pub flavor: String,
    pub image: String,
    pub networks: Vec<String>,
    pub security_groups: Vec<String>,
    pub key_pair: Option<String>,
    pub availability_zones: Vec<String>,
    pub server_group_policy: Option<String>,
    pub boot_volume: Option<(u32, Option<String>)>,
    pub metadata: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<String>,
    /// `None`: the control plane's version.
    pub k0s_version: Option<String>,
    pub k0s_download_url: Option<String>,
    /// The `airgap` block's image bundle.
    pub image_bundle: Option<crate::cloudinit::ImageBundle>,
    pub kubelet_extra_args: Option<String>,
    pub extra_user_data: Option<String>,
    pub max_surge: u32,
    pub max_unavailable: u32,
    pub drain_enabled: bool,
    pub drain_timeout: Duration,
    pub ignore_pdb_after: Option<Duration>,
    pub wait_for_nodes: bool,
    pub max_parallel: u32,
    pub stopped_members: StoppedPolicy,
    pub timeouts: Timeouts,
}

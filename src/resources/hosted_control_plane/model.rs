//! The resource's state as Terraform sends it (attribute names are the serde names), and
//! the typed, validated [`HcpSpec`] the rest of the resource works with.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tf_provider::value::{Value, ValueBool, ValueList, ValueMap, ValueNumber, ValueSet};

use crate::framework::timeouts::{Timeouts, TimeoutsBlock};
use crate::framework::version::K0sVersion;
use crate::framework::Secret;

pub use crate::framework::values::{known, known_list, known_map, Str};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub id: Str,
    pub name: Str,
    pub namespace: Str,
    pub management_cluster_id: Str,
    pub management_kubeconfig: Str,
    pub k0s_version: Str,
    pub replicas: ValueNumber,
    pub image: Str,
    #[serde(with = "crate::framework::block")]
    pub service: Value<ServiceBlock>,
    pub external_address: Str,
    #[serde(with = "crate::framework::block")]
    pub storage: Value<StorageBlock>,
    #[serde(with = "crate::framework::block")]
    pub persistence: Value<PersistenceBlock>,
    pub k0s_config: Str,
    pub control_plane_flags: ValueList<Str>,
    pub manifests: ValueMap<'static, Str>,
    #[serde(with = "crate::framework::block")]
    pub resources: Value<ResourcesBlock>,
    pub cert_sans: ValueSet<Str>,
    pub wait_for_ready: ValueBool,
    #[serde(with = "crate::framework::block")]
    pub timeouts: Value<TimeoutsBlock>,
    // Computed.
    pub endpoint: Str,
    pub ca_certificate: Str,
    pub kubeconfig: Str,
    pub client_certificate: Str,
    pub client_key: Str,
    pub status: Str,
    pub k0smotron_api_version: Str,
    pub uid: Str,
    /// This resource instance's own random id, in the owner annotation of its objects
    /// (null in states of versions before owner annotations, until the next refresh).
    pub instance_id: Str,
    /// The kube-system uid of the cluster that holds the control plane.
    pub management_cluster_uid: Str,
    /// The effective service type (the `service` block's, else the default `NodePort`).
    pub service_type: Str,
    /// The effective API server port (configured, or allocated by the provider).
    pub api_port: ValueNumber,
    /// The effective konnectivity port (configured, or allocated by the provider).
    pub konnectivity_port: ValueNumber,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceBlock {
    #[serde(rename = "type")]
    pub kind: Str,
    pub api_port: ValueNumber,
    pub konnectivity_port: ValueNumber,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StorageBlock {
    #[serde(rename = "type")]
    pub kind: Str,
    pub kine_data_source_url: Str,
    #[serde(with = "crate::framework::block")]
    pub etcd: Value<EtcdBlock>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EtcdBlock {
    pub size: Str,
    pub storage_class: Str,
    pub auto_delete_pvcs: ValueBool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PersistenceBlock {
    #[serde(rename = "type")]
    pub kind: Str,
    pub size: Str,
    pub storage_class: Str,
    pub host_path: Str,
    pub auto_delete_pvcs: ValueBool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourcesBlock {
    pub requests: ValueMap<'static, Str>,
    pub limits: ValueMap<'static, Str>,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20 * 60);
pub const DEFAULT_TIMEOUTS: Timeouts = Timeouts::uniform(DEFAULT_TIMEOUT);
/// k0smotron's default image (`//+kubebuilder:default` of `spec.image`).
pub const DEFAULT_IMAGE: &str = "quay.io/k0sproject/k0s";
pub const DEFAULT_API_PORT: u16 = 30443;
pub const DEFAULT_KONNECTIVITY_PORT: u16 = 30132;
pub const SERVICE_TYPES: &[&str] = &["ClusterIP", "NodePort", "LoadBalancer"];
pub const STORAGE_TYPES: &[&str] = &["etcd", "kine"];
pub const PERSISTENCE_TYPES: &[&str] = &["emptyDir", "hostPath", "pvc"];

/// What the user asked for, typed and validated (see `validate::spec_from_state`).
#[derive(Debug, Clone, PartialEq)]
pub struct HcpSpec {
    pub name: String,
    pub namespace: String,
    pub version: K0sVersion,
    /// The version string as written (k0smotron takes `+` or `-`).
    pub version_string: String,
    pub replicas: u32,
    pub image: Option<String>,
    pub service_type: String,
    pub api_port: u16,
    pub konnectivity_port: u16,
    pub external_address: Option<String>,
    pub storage: Option<Storage>,
    pub persistence: Option<Persistence>,
    pub k0s_config: Option<serde_json::Value>,
    pub control_plane_flags: Vec<String>,
    pub manifests: BTreeMap<String, String>,
    pub requests: BTreeMap<String, String>,
    pub limits: BTreeMap<String, String>,
    pub cert_sans: Vec<String>,
    pub wait_for_ready: bool,
    pub timeouts: Timeouts,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Storage {
    Etcd {
        size: Option<String>,
        storage_class: Option<String>,
        auto_delete_pvcs: bool,
    },
    /// The URL is put in a Secret (`<name>-k0stack-kine`), never in the Cluster spec.
    Kine { data_source_url: Secret },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Persistence {
    pub kind: String,
    pub size: Option<String>,
    pub storage_class: Option<String>,
    pub host_path: Option<String>,
    pub auto_delete_pvcs: bool,
}

/// Secret names the resource creates beside the Cluster.
pub fn kine_secret_name(cluster: &str) -> String {
    format!("{cluster}-k0stack-kine")
}

pub fn manifests_configmap_name(cluster: &str) -> String {
    format!("{cluster}-k0stack-manifests")
}

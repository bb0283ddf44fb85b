//! Kubernetes: the management-cluster connection, and access to hosted (workload)
//! clusters. The k0smotron objects live with the resources that own them
//! (`resources::hosted_control_plane::object`), the management-cluster calls in
//! `resources::kube_io`.

pub mod config;
pub mod join_token;
pub mod request_log;
pub mod workload;

pub use config::{KubeSettings, KubeSource};

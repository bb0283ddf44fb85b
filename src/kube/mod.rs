//! Kubernetes: the management-cluster connection (and, in later modules, the typed
//! k0smotron API and hosted-cluster access).

pub mod config;

pub use config::{KubeSettings, KubeSource};

//! k0stack-sim: an in-process simulator of the services the provider talks to
//! (OpenStack Keystone/Nova/Glance/Neutron and the Kubernetes API with k0smotron).
//!
//! Layout: `openstack/` (the OpenStack half), `kube/` (the Kubernetes + k0smotron half),
//! `events` (how the halves talk). Tests start it in-process with [`start`]; the
//! `k0stack-sim up --dir DIR` binary does the same and serves until SIGINT/SIGTERM.
//!
//! Address plan (all of 127.0.0.0/8 reaches loopback on Linux):
//! - the OpenStack and management-cluster APIs listen on 127.0.0.1, ephemeral ports;
//! - VM fixed addresses come from the default subnet 127.100.0.0/16;
//! - hosted control plane APIs (one per k0smotron Cluster) listen on 127.20.0.0/16.

pub mod events;
pub mod external_openstack;
pub mod history;
pub mod k8s;
pub mod openstack;

use std::path::PathBuf;

pub use events::{EventBus, VmEvent, VmInfo};

/// Options of `k0stack-sim up`.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// Directory where `clouds.yaml`, `env.sh` and `admin.kubeconfig` are written.
    pub dir: PathBuf,
}

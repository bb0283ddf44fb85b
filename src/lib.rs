//! terraform-provider-k0stack: k0s hosted control planes (k0smotron) in a management
//! cluster, with worker pools on OpenStack, as Terraform resources.
//!
//! The binary (`src/main.rs`) only serves [`provider::K0stackProvider`]; everything lives
//! here so tests can reach it.

pub mod cloudinit;
pub mod data_sources;
pub mod docs;
pub mod framework;
pub mod kube;
pub mod logging;
pub mod nodelay;
pub mod openstack;
pub mod pki;
pub mod provider;
pub mod resources;

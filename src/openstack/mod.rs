//! OpenStack: where credentials come from (clouds.yaml, `OS_*` variables, provider
//! attributes) and, in later modules, the Keystone/Nova/Glance/Neutron client.

pub mod clouds_yaml;
pub mod config;

pub use config::{Auth, Interface, OpenStackConfig, OpenStackSettings};

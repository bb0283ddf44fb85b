//! OpenStack: where credentials come from (clouds.yaml, `OS_*` variables, provider
//! attributes) and the Keystone/Nova/Glance/Neutron client the worker pools use.

pub mod client;
pub mod clouds_yaml;
pub mod coalesce;
pub mod config;
pub mod error;
pub mod glance;
pub mod keystone;
pub mod neutron;
pub mod nova;
pub mod retry;

pub use client::{
    ClientOptions, OpenStack, Service, DEFAULT_CONCURRENCY_PER_SERVICE, NOVA_MICROVERSION,
};
pub use config::{Auth, Interface, NameOrId, OpenStackConfig, OpenStackSettings};
pub use error::OsError;
pub use glance::Image;
pub use neutron::{Network, SecurityGroup, Subnet};
pub use nova::{
    exact_name, Address, BootVolume, CreateServer, Fault, Flavor, Keypair, Limits, Server,
    ServerGroup, ServerQuery,
};
pub use retry::Backoff;

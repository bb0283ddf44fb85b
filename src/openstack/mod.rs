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

/// Where the upstream api-ref samples are (`../shared/reference/openstack-samples` beside
/// the repository, or `OPENSTACK_SAMPLES`). Tests that parse them skip, saying so, when a
/// checkout has no copy.
#[cfg(test)]
pub(crate) fn sample_path(rel: &str) -> Option<std::path::PathBuf> {
    let roots = [
        std::env::var_os("OPENSTACK_SAMPLES").map(std::path::PathBuf::from),
        Some(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/reference/openstack-samples"),
        ),
        Some(std::path::PathBuf::from(
            "/work/shared/reference/openstack-samples",
        )),
    ];
    let found = roots
        .into_iter()
        .flatten()
        .map(|r| r.join(rel))
        .find(|p| p.exists());
    if found.is_none() {
        eprintln!("skipped: OpenStack sample {rel} not present");
    }
    found
}

//! One module per resource: schema, then plan, then CRUD, then import.
//! The resources arrive with their issues; the registry is here so the provider can
//! list them.

pub mod hosted_control_plane;
pub mod kube_io;
pub mod management_cluster;
pub mod owned;
pub mod worker_pool;

use std::collections::HashMap;

use tf_provider::DynamicResource;

use crate::provider::ProviderHandle;

/// All resources of the provider, by type name without the `k0stack_` prefix.
pub fn all(handle: &ProviderHandle) -> HashMap<String, Box<dyn DynamicResource>> {
    let mut m: HashMap<String, Box<dyn DynamicResource>> = HashMap::new();
    m.insert(
        "management_cluster".into(),
        Box::new(management_cluster::resource::ManagementCluster::new(
            handle.clone(),
        )),
    );
    m.insert(
        "hosted_control_plane".into(),
        Box::new(hosted_control_plane::resource::HostedControlPlane::new(
            handle.clone(),
        )),
    );
    m.insert(
        "worker_pool".into(),
        Box::new(worker_pool::resource::WorkerPool::new(handle.clone())),
    );
    m
}

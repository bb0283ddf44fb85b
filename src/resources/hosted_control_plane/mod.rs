//! `k0stack_hosted_control_plane`: a k0smotron `Cluster` in the management cluster.

pub mod access;
mod apply;
mod cluster_create;
pub mod companion;
mod destroy;
pub mod identity;
pub mod import;
pub mod model;
pub mod object;
pub mod outputs;
mod owning;
pub mod plan;
pub mod ports;
mod read;
mod readback;
pub mod resource;
pub mod rolled;
pub mod schema;
mod service_plan;
pub mod validate;

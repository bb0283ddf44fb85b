//! `k0stack_hosted_control_plane`: a k0smotron `Cluster` in the management cluster.

pub mod access;
pub mod model;
pub mod object;
pub mod outputs;
pub mod plan;
pub mod resource;
pub mod schema;
pub mod validate;

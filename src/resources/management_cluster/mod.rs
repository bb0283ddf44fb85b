//! `k0stack_management_cluster`: what hosted control planes need in the management cluster.

pub mod bootstrap;
pub mod clouds;
pub mod manifest;
pub mod model;
pub mod resource;
pub mod schema;

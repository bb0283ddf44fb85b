//! `k0stack_management_cluster`: what hosted control planes need in the management cluster.
//!
//! - [`resource`]: the Terraform resource, dispatching to
//! - [`connected`]: what it keeps inside the cluster (identity, namespace, k0smotron,
//!   credentials Secret) — for a connected cluster and for a bootstrapped one alike;
//!   [`destroy`] removes that part;
//! - [`bootstrapped`]: the cluster it builds on OpenStack ([`bootstrap`]: controllers);
//! - pure parts: [`plan`], [`validate`], [`identity`] (the id), [`teardown`] (what
//!   destroy removes), [`clouds`], [`manifest`].

pub mod bootstrap;
pub mod bootstrapped;
pub mod clouds;
pub mod connected;
pub mod credentials;
pub mod destroy;
pub mod identity;
pub mod import;
pub mod k0smotron;
pub mod manifest;
pub mod model;
pub mod namespace;
pub mod plan;
pub mod resource;
pub mod schema;
pub mod teardown;
pub mod validate;

//! `k0stack_worker_pool`: N OpenStack servers that join a hosted control plane.

pub mod model;
pub mod observe;
pub mod plan;
pub mod rollout;
pub mod schema;
pub mod template;
pub mod validate;

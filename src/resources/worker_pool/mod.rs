//! `k0stack_worker_pool`: N OpenStack servers that join a hosted control plane.

pub mod rollout;
pub mod template;

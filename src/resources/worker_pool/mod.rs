//! `k0stack_worker_pool`: N OpenStack servers that join a hosted control plane.
//!
//! Read top to bottom: `schema`, `model`, `validate` (config → spec), `plan` (pure plan
//! semantics), `template` / `observe` / `rollout` (pure decisions), then the I/O: `cloud`
//! (OpenStack), `token` (join tokens), `reconcile` (the apply loop) and `resource` (CRUD).

pub mod cloud;
pub mod model;
pub mod observe;
pub mod plan;
pub mod reconcile;
pub mod resource;
pub mod rollout;
pub mod schema;
pub mod template;
pub mod token;
pub mod validate;

//! `k0stack_worker_pool`: N OpenStack servers that join a hosted control plane.
//!
//! Read top to bottom: `schema`, `model`, `validate` (config → spec), `plan` (pure plan
//! semantics), `template` / `observe` / `rollout` (pure decisions), then the I/O: `cloud`
//! (OpenStack), `token` (join tokens), `record` (the instance's identity and its record in
//! the management cluster), `reconcile` (the apply loop), and the CRUD: `resource` (the
//! Terraform face and plan), `apply`, `refresh`, `destroy`, `import`.

pub mod apply;
pub mod cloud;
pub mod destroy;
pub mod import;
pub mod model;
pub mod observe;
pub mod plan;
pub mod reconcile;
pub mod record;
pub mod refresh;
pub mod resource;
pub mod rollout;
pub mod schema;
pub mod template;
pub mod token;
pub mod token_plan;
pub mod validate;

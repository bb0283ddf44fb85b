//! The thin layer we write once on top of `tf-provider`: diagnostics that name the
//! attribute (and never carry a Rust backtrace), schema builders, durations and timeouts,
//! waiting with a deadline, k0s versions, and a secret type that cannot be logged by
//! accident. Resources use these instead of repeating them.

pub mod block;
pub mod diag;
pub mod duration;
pub mod ownership;
pub mod schema;
pub mod secret;
pub mod timeouts;
pub mod validators;
pub mod values;
pub mod version;
pub mod wait;

pub use diag::{AttrError, Problems};
pub use secret::Secret;

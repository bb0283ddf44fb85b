//! The thin layer we write once on top of `tf-provider`: diagnostics that name the
//! attribute (and never carry a Rust backtrace), schema builders, and a secret type
//! that cannot be logged by accident. Resources use these instead of repeating them.

pub mod diag;
pub mod schema;
pub mod secret;

pub use diag::{AttrError, Problems};
pub use secret::Secret;

//! The Kubernetes half of the simulator.

pub mod api;
pub mod store;
pub mod tls;

//! Data sources of the provider.

pub mod client_config;

use std::collections::HashMap;

use tf_provider::DynamicDataSource;

use crate::provider::ProviderHandle;

/// All data sources, by type name without the `k0stack_` prefix.
pub fn all(handle: &ProviderHandle) -> HashMap<String, Box<dyn DynamicDataSource>> {
    let mut m: HashMap<String, Box<dyn DynamicDataSource>> = HashMap::new();
    m.insert(
        "client_config".into(),
        Box::new(client_config::ClientConfig::new(handle.clone())),
    );
    m
}

//! The `k0stack` provider: schema, validate (static checks only), configure (resolve the
//! settings and build the clients once).

pub mod clients;
pub mod config;
pub mod planned;
pub mod schema;

use std::collections::HashMap;
use std::path::PathBuf;

use async_trait::async_trait;
use tf_provider::schema::Schema;
use tf_provider::value::ValueEmpty;
use tf_provider::{Diagnostics, DynamicDataSource, DynamicResource, Provider};

pub use clients::{Clients, KubeClient, NotConfigured, ProviderHandle};
pub use config::ProviderConfig;

use crate::framework::diag;
use crate::framework::Problems;
use crate::{kube, openstack};

/// Attribute names that are single nested blocks (for attribute paths in diagnostics).
const BLOCKS: &[&str] = &["kubernetes", "openstack"];

#[derive(Clone, Default)]
pub struct K0stackProvider {
    handle: ProviderHandle,
}

impl K0stackProvider {
    pub fn handle(&self) -> ProviderHandle {
        self.handle.clone()
    }
}

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

fn home() -> Option<PathBuf> {
    dirs::home_dir()
}

/// The management-cluster client. kube-rs retries 429/503/504 up to 15 times with
/// backoff capped at 1000 s by default (minutes against an API that stays down); ours
/// retries 5 times within about 10 s, honouring Retry-After, and leaves longer waits to the
/// resources' own timeouts.
pub(crate) fn management_client(mut cfg: ::kube::Config) -> Result<::kube::Client, ::kube::Error> {
    cfg.default_retry = false;
    let policy = ::kube::client::retry::RetryPolicy::new(
        std::time::Duration::from_millis(200),
        std::time::Duration::from_secs(4),
        5,
        true,
    )
    .expect("valid retry policy");
    // Retry needs a cloneable service: a buffer in front of kube's boxed stack gives one.
    let buffered = ::kube::client::ClientBuilder::try_from(cfg)?
        .with_layer(&crate::kube::request_log::RequestLogLayer {
            cluster: "management",
        })
        .with_layer(&tower::buffer::BufferLayer::new(1024));
    Ok(buffered
        .with_layer(&tower::retry::RetryLayer::new(policy))
        .build())
}

/// Static checks of the provider block (no file or network access).
pub fn validate_config(config: &ProviderConfig) -> Problems {
    let mut p = kube::config::validate_settings(&config.kube_settings());
    p.extend(openstack::config::validate_settings(&config.openstack_settings()).0);
    p
}

#[async_trait]
impl Provider for K0stackProvider {
    type Config<'a> = ProviderConfig;
    type MetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema::provider_schema())
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::Config<'a>) -> Option<()> {
        validate_config(&config).report(diags, BLOCKS);
        Some(())
    }

    async fn configure<'a>(
        &self,
        diags: &mut Diagnostics,
        terraform_version: String,
        config: Self::Config<'a>,
    ) -> Option<()> {
        let unknown = config.unknown_attributes();
        if !unknown.is_empty() {
            diags.add_error(diag::error(
                "Provider configuration depends on values not known yet",
                format!(
                    "{} cannot be known until apply; the provider needs them to plan. Give them literal values or variables, \
                     or apply the resources they depend on first (-target).",
                    unknown.join(", ")
                ),
                Default::default(),
            ));
            return None;
        }
        let mut problems = validate_config(&config);
        let home = home();
        let kube_settings = config.kube_settings();
        let kube_source = kube::config::resolve(&kube_settings, &env, home.as_deref())
            .unwrap_or_else(|e| {
                problems.0.push(e);
                None
            });
        let openstack =
            openstack::config::resolve(&config.openstack_settings(), &env, home.as_deref())
                .unwrap_or_else(|e| {
                    problems.0.push(e);
                    None
                });
        let mut kube_client = None;
        if let Some(source) = kube_source {
            match kube::config::client_config(&source, kube_settings.insecure.unwrap_or(false))
                .await
            {
                Ok(cfg) => {
                    let server = cfg.cluster_url.to_string();
                    match management_client(cfg) {
                        Ok(client) => {
                            kube_client = Some(KubeClient {
                                client,
                                source,
                                server,
                            })
                        }
                        Err(e) => problems.push(
                            &["kubernetes"],
                            "Cannot build the Kubernetes client",
                            format!("{}: {e}", source.origin()),
                        ),
                    }
                }
                Err(e) => problems.push(
                    &["kubernetes"],
                    "Invalid Kubernetes configuration",
                    format!("{}: {e}", source.origin()),
                ),
            }
        }
        // No network I/O here: the client authenticates on first use, so a plan that
        // needs no OpenStack call never talks to Keystone.
        let mut openstack_api = None;
        if let Some(cfg) = &openstack {
            match openstack::OpenStack::new(cfg) {
                Ok(api) => openstack_api = Some(api),
                Err(e) => problems.push(
                    &["openstack"],
                    "Cannot build the OpenStack client",
                    format!("{}: {e}", cfg.origin),
                ),
            }
        }
        if !problems.is_empty() {
            problems.report(diags, BLOCKS);
            return None;
        }
        tracing::info!(
            terraform_version = %terraform_version,
            kubernetes = %kube_client.as_ref().map(|k| k.source.origin()).unwrap_or_else(|| "not configured".into()),
            openstack = %openstack.as_ref().map(|o| o.origin.clone()).unwrap_or_else(|| "not configured".into()),
            "provider configured"
        );
        self.handle.set(Clients {
            terraform_version,
            kube: kube_client,
            openstack,
            openstack_api,
            discovered: Default::default(),
            by_kubeconfig: Default::default(),
        });
        Some(())
    }

    fn get_resources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicResource>>> {
        Some(crate::resources::all(&self.handle))
    }

    fn get_data_sources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicDataSource>>> {
        Some(crate::data_sources::all(&self.handle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tf_provider::value::Value;

    #[test]
    fn validate_collects_problems_of_both_blocks() {
        let config = ProviderConfig {
            kubernetes: Value::Value(config::KubernetesBlock {
                config_path: Value::Value("/a".into()),
                config_raw: Value::Value("x".into()),
                ..Default::default()
            }),
            openstack: Value::Value(config::OpenStackBlock {
                password: Value::Value("p".into()),
                application_credential_id: Value::Value("id".into()),
                application_credential_secret: Value::Value("s".into()),
                ..Default::default()
            }),
        };
        let paths: Vec<String> = validate_config(&config)
            .0
            .iter()
            .map(|e| e.dotted_path())
            .collect();
        assert_eq!(
            paths,
            vec![
                "kubernetes.config_raw",
                "openstack.application_credential_secret"
            ]
        );
    }

    #[test]
    fn unknown_values_are_not_validated() {
        let config = ProviderConfig {
            openstack: Value::Value(config::OpenStackBlock {
                auth_url: Value::Unknown,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(validate_config(&config).is_empty());
        assert_eq!(config.unknown_attributes(), vec!["openstack.auth_url"]);
    }
}

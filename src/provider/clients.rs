//! The clients built once in configure and shared by every resource.

use std::sync::{Arc, RwLock};

use crate::kube::KubeSource;
use crate::openstack::{OpenStack, OpenStackConfig};

/// What configure resolved. Parts that were not configured are `None`; the resource that
/// needs them reports [`NotConfigured`], so a configuration that only manages hosted
/// control planes needs no OpenStack credentials.
pub struct Clients {
    pub terraform_version: String,
    pub kube: Option<KubeClient>,
    pub openstack: Option<OpenStackConfig>,
    /// The one OpenStack client of this provider process, built from `openstack` at
    /// configure time: every resource shares its token, concurrency limits and coalesced
    /// requests.
    pub openstack_api: Option<OpenStack>,
    /// What is discovered once per provider process and shared by every resource.
    pub discovered: Discovered,
    /// Management clients built from kubeconfigs given to resources (see [`ProviderHandle::management_for`]),
    /// by SHA-256 of the kubeconfig: every resource of the process shares one client per cluster.
    pub by_kubeconfig: tokio::sync::Mutex<std::collections::HashMap<String, kube::Client>>,
}

/// Facts about the management cluster looked up once (not per resource, not per plan).
#[derive(Default)]
pub struct Discovered {
    pub k0smotron_api: tokio::sync::OnceCell<crate::resources::hosted_control_plane::object::Api>,
    /// Control-plane versions planned in this walk (see [`super::planned`]).
    pub planned_versions: super::planned::PlannedVersions,
}

/// The management cluster client and where its settings came from.
#[derive(Clone)]
pub struct KubeClient {
    pub client: kube::Client,
    pub source: KubeSource,
    /// The API server URL (for messages).
    pub server: String,
}

impl KubeClient {
    /// How ids name this management cluster: the kubeconfig context, or the server URL
    /// (in-cluster, or a kubeconfig without contexts).
    pub fn cluster_key(&self) -> String {
        match &self.source {
            KubeSource::Kubeconfig {
                kubeconfig,
                context,
                ..
            } => context
                .clone()
                .or_else(|| kubeconfig.current_context.clone())
                .unwrap_or_else(|| self.server.trim_end_matches('/').to_string()),
            KubeSource::InCluster => "in-cluster".to_string(),
        }
    }
}

/// A resource needs a connection the provider block does not configure.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NotConfigured {
    #[error("no Kubernetes management cluster is configured: set the provider's kubernetes {{ config_path | config_raw }} block, or KUBECONFIG")]
    Kubernetes,
    #[error("no OpenStack credentials are configured: set the provider's openstack {{ ... }} block, OS_* variables, or OS_CLOUD with a clouds.yaml")]
    OpenStack,
    #[error("the provider has not been configured yet")]
    Provider,
}

impl Clients {
    pub fn kube(&self) -> Result<&KubeClient, NotConfigured> {
        self.kube.as_ref().ok_or(NotConfigured::Kubernetes)
    }

    pub fn openstack(&self) -> Result<&OpenStackConfig, NotConfigured> {
        self.openstack.as_ref().ok_or(NotConfigured::OpenStack)
    }

    /// The shared OpenStack client.
    pub fn openstack_api(&self) -> Result<&OpenStack, NotConfigured> {
        self.openstack_api.as_ref().ok_or(NotConfigured::OpenStack)
    }
}

/// Shared between the provider (which fills it in configure) and the resources (created
/// by tf-provider before configure runs, so they hold this handle, not the clients).
#[derive(Clone, Default)]
pub struct ProviderHandle(Arc<RwLock<Option<Arc<Clients>>>>);

impl ProviderHandle {
    pub fn set(&self, clients: Clients) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(clients));
    }

    pub fn get(&self) -> Result<Arc<Clients>, NotConfigured> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or(NotConfigured::Provider)
    }

    /// The clients and the management cluster client, or an error diagnostic saying
    /// which connection is missing.
    pub fn management(
        &self,
        diags: &mut tf_provider::Diagnostics,
    ) -> Option<(Arc<Clients>, kube::Client)> {
        let root = tf_provider::AttributePath::root;
        let clients = match self.get() {
            Ok(c) => c,
            Err(e) => {
                diags.add_error(crate::framework::diag::error(
                    "Provider not configured",
                    e.to_string(),
                    root(),
                ));
                return None;
            }
        };
        let kube = match clients.kube() {
            Ok(k) => k.client.clone(),
            Err(e) => {
                diags.add_error(crate::framework::diag::error(
                    "No management cluster",
                    e.to_string(),
                    root(),
                ));
                return None;
            }
        };
        Some((clients, kube))
    }

    /// The management cluster of a resource.
    ///
    /// # Why resources can carry their own management connection
    ///
    /// The provider builds one management client at configure time from its `kubernetes`
    /// block. A management cluster that `k0stack_management_cluster { bootstrap { ... } }`
    /// creates does not exist then, and Terraform cannot configure a provider from a
    /// resource of the same provider within one apply. Its admin kubeconfig, though, is
    /// known to the provider the moment the first controller has an address: the provider
    /// generated the CA and signed the admin certificate itself. So the management cluster
    /// exports it (`kubeconfig`, sensitive) and hosted control planes and worker pools take
    /// it as `management_kubeconfig`. Wiring it also orders them after the cluster, and
    /// because it is an argument it is in their state: refresh and destroy reach the right
    /// cluster without depending on the management cluster resource having been read first
    /// in the same provider process (an in-memory registry filled by that resource would
    /// be empty during `terraform destroy`, which deletes pools and control planes first).
    ///
    /// `kubeconfig`: `Null` → the provider's `kubernetes` block (the connected mode, as
    /// before); a value → a client built from it (cached per kubeconfig); `Unknown` → an
    /// error (callers that can run before the cluster exists, i.e. plans, check first).
    pub async fn management_for(
        &self,
        diags: &mut tf_provider::Diagnostics,
        kubeconfig: &crate::framework::values::Str,
    ) -> Option<(Arc<Clients>, kube::Client)> {
        use tf_provider::value::Value;
        let text = match kubeconfig {
            Value::Null => return self.management(diags),
            Value::Unknown => {
                diags.add_error(crate::framework::diag::error(
                    "Management cluster not known yet",
                    "management_kubeconfig is not known yet",
                    tf_provider::AttributePath::new("management_kubeconfig"),
                ));
                return None;
            }
            Value::Value(t) => t.to_string(),
        };
        let clients = match self.get() {
            Ok(c) => c,
            Err(e) => {
                diags.add_error(crate::framework::diag::error(
                    "Provider not configured",
                    e.to_string(),
                    tf_provider::AttributePath::root(),
                ));
                return None;
            }
        };
        match clients.client_for_kubeconfig(&text).await {
            Ok(k) => Some((clients.clone(), k)),
            Err(e) => {
                diags.add_error(crate::framework::diag::error(
                    "Invalid management_kubeconfig",
                    e,
                    tf_provider::AttributePath::new("management_kubeconfig"),
                ));
                None
            }
        }
    }
}

impl Clients {
    /// A management client from kubeconfig text (its current context), cached per text.
    pub async fn client_for_kubeconfig(&self, text: &str) -> Result<kube::Client, String> {
        use sha2::{Digest, Sha256};
        let key = format!("{:x}", Sha256::digest(text.as_bytes()));
        let mut cache = self.by_kubeconfig.lock().await;
        if let Some(c) = cache.get(&key) {
            return Ok(c.clone());
        }
        let kc = kube::config::Kubeconfig::from_yaml(text).map_err(|e| e.to_string())?;
        let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .map_err(|e| e.to_string())?;
        let client = super::management_client(cfg).map_err(|e| e.to_string())?;
        cache.insert(key, client.clone());
        Ok(client)
    }
}

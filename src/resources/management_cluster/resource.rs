//! CRUD of `k0stack_management_cluster`.

use async_trait::async_trait;
use serde_json::json;
use tf_provider::schema::Schema;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};

use crate::framework::validators::dns_label;
use crate::framework::wait::{self, Backoff, Check};
use crate::framework::{diag, timeouts, Problems};
use crate::provider::{Clients, ProviderHandle};
use crate::resources::hosted_control_plane::object::Api;
use crate::resources::kube_io::{self, KubeError};

use super::model::*;
use super::{clouds, manifest, schema};

const BLOCKS: &[&str] = &["openstack_credentials", "timeouts"];

pub struct ManagementCluster {
    handle: ProviderHandle,
}

impl ManagementCluster {
    pub fn new(handle: ProviderHandle) -> Self {
        Self { handle }
    }
}

fn err(diags: &mut Diagnostics, summary: &str, e: impl std::fmt::Display) {
    diags.add_error(diag::error(summary, e.to_string(), AttributePath::root()));
}

/// Static checks of the configuration.
pub fn validate(s: &State) -> Problems {
    let mut p = Problems::default();
    if let Some(ns) = known(&s.namespace) {
        if let Err(e) = dns_label(&ns, 63) {
            p.push(&["namespace"], "Invalid namespace", e);
        }
    }
    if let Some(m) = known(&s.k0smotron_manifest) {
        match manifest::parse(&m) {
            Ok(objs) if objs.is_empty() => p.push(&["k0smotron_manifest"], "Empty manifest", "k0smotron_manifest has no objects."),
            Ok(objs) if !objs.iter().any(|o| o["kind"] == "CustomResourceDefinition" && o["metadata"]["name"] == "clusters.k0smotron.io") => p.push(
                &["k0smotron_manifest"],
                "Not a k0smotron manifest",
                "k0smotron_manifest does not define the CustomResourceDefinition clusters.k0smotron.io; use k0smotron's install.yaml.",
            ),
            Ok(_) => {}
            Err(e) => p.push(&["k0smotron_manifest"], "Invalid manifest", e.to_string()),
        }
    }
    if let Some(c) = s.openstack_credentials.as_ref_option() {
        if let Some(name) = known(&c.secret_name) {
            if let Err(e) = dns_label(&name.replace('.', "-"), 253) {
                p.push(
                    &["openstack_credentials", "secret_name"],
                    "Invalid Secret name",
                    e,
                );
            }
        }
        if let Some(text) = known(&c.clouds_yaml) {
            let ok = serde_yaml::from_str::<serde_yaml::Value>(&text)
                .ok()
                .is_some_and(|v| v.get("clouds").is_some_and(|c| c.is_mapping()));
            if !ok {
                p.push(
                    &["openstack_credentials", "clouds_yaml"],
                    "Invalid clouds.yaml",
                    "clouds_yaml must be a YAML document with a `clouds:` mapping.",
                );
            }
        }
    }
    if let Err(e) = timeouts::resolve(s.timeouts.as_ref_option(), DEFAULT_TIMEOUTS) {
        p.extend(e.0);
    }
    p
}

/// The Secret content to store: the explicit clouds.yaml or one built from the provider.
fn credentials_content(
    clients: &Clients,
    block: &CredentialsBlock,
) -> Result<Option<String>, String> {
    if block.clouds_yaml.is_unknown() {
        return Ok(None);
    }
    if let Some(explicit) = known(&block.clouds_yaml) {
        return Ok(Some(explicit));
    }
    match clients.openstack() {
        Ok(c) => Ok(Some(clouds::clouds_yaml(c))),
        Err(e) => Err(format!("{e}; or set openstack_credentials.clouds_yaml.")),
    }
}

fn secret_name(block: &CredentialsBlock) -> String {
    known(&block.secret_name).unwrap_or_else(|| DEFAULT_SECRET_NAME.to_string())
}

fn namespace(s: &State) -> String {
    known(&s.namespace).unwrap_or_else(|| DEFAULT_NAMESPACE.to_string())
}

async fn k0smotron_api(clients: &Clients, kube: &kube::Client) -> Result<Api, KubeError> {
    clients
        .discovered
        .k0smotron_api
        .get_or_try_init(|| kube_io::k0smotron_api(kube))
        .await
        .copied()
}

/// Planned values both plan functions share.
fn plan_common(clients: Option<&Clients>, s: &mut State, diags: &mut Diagnostics) {
    if s.namespace.is_null() {
        s.namespace = Value::Value(DEFAULT_NAMESPACE.into());
    }
    if s.force_destroy.is_null() {
        s.force_destroy = Value::Value(false);
    }
    let key = clients.and_then(|c| c.kube().ok()).map(|k| k.cluster_key());
    s.id = match (key, known(&s.namespace)) {
        (Some(k), Some(ns)) => Value::Value(format!("{k}/{ns}").into()),
        _ => Value::Unknown,
    };
    s.endpoint = match clients.and_then(|c| c.kube().ok()) {
        Some(k) => Value::Value(k.server.clone().into()),
        None => Value::Unknown,
    };
    if let Some(block) = s.openstack_credentials.as_mut_option() {
        if block.secret_name.is_null() {
            block.secret_name = Value::Value(DEFAULT_SECRET_NAME.into());
        }
        block.sha256 = match clients.map(|c| credentials_content(c, block)) {
            Some(Ok(Some(content))) => Value::Value(clouds::content_hash(&content).into()),
            Some(Ok(None)) | None => Value::Unknown,
            Some(Err(e)) => {
                diags.add_error(diag::error(
                    "No OpenStack credentials to store",
                    e,
                    AttributePath::new("openstack_credentials").index(0),
                ));
                Value::Unknown
            }
        };
    }
}

impl ManagementCluster {
    /// Installs the manifest and waits for it: CRDs established, Deployments available.
    async fn install_k0smotron(
        &self,
        kube: &kube::Client,
        text: &str,
        timeout: std::time::Duration,
    ) -> Result<(), String> {
        let objects = manifest::parse(text).map_err(|e| e.to_string())?;
        let crd_ar = kube_io::resource(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
        );
        let (crds, rest): (Vec<_>, Vec<_>) = objects
            .iter()
            .partition(|o| o["kind"] == "CustomResourceDefinition" || o["kind"] == "Namespace");
        for obj in &crds {
            kube_io::apply_any(kube, obj)
                .await
                .map_err(|e| format!("{}: {e}", manifest::describe(obj)))?;
        }
        let crd_names: Vec<(Option<String>, String)> = crds
            .iter()
            .filter(|o| o["kind"] == "CustomResourceDefinition")
            .filter_map(|o| {
                o["metadata"]["name"]
                    .as_str()
                    .map(|n| (None, n.to_string()))
            })
            .collect();
        kube_io::wait_all(
            kube,
            &crd_ar,
            crd_names,
            "k0smotron CRDs to be established",
            timeout,
            kube_io::crd_established,
        )
        .await
        .map_err(|e| e.to_string())?;
        for obj in &rest {
            kube_io::apply_any(kube, obj)
                .await
                .map_err(|e| format!("{}: {e}", manifest::describe(obj)))?;
        }
        let deployments: Vec<(Option<String>, String)> = rest
            .iter()
            .filter(|o| o["kind"] == "Deployment")
            .map(|o| {
                let ns = o["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("default")
                    .to_string();
                (
                    Some(ns),
                    o["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect();
        let dep_ar = kube_io::resource("apps", "v1", "Deployment", "deployments");
        kube_io::wait_all(
            kube,
            &dep_ar,
            deployments,
            "the k0smotron operator to be available",
            timeout,
            kube_io::deployment_available,
        )
        .await
        .map_err(|e| e.to_string())
    }

    async fn apply(
        &self,
        diags: &mut Diagnostics,
        planned: State,
        prior: Option<&State>,
        timeout: std::time::Duration,
    ) -> Option<(State, ValueEmpty)> {
        let (clients, kube) = self.handle.management(diags)?;
        let mut s = planned;
        let ns = namespace(&s);
        let created = match kube_io::ensure_namespace(&kube, &ns).await {
            Ok(c) => c,
            Err(e) => {
                err(diags, "Cannot create the namespace", e);
                return None;
            }
        };
        let was_created = prior
            .and_then(|p| p.namespace_created.as_ref_option().copied())
            .unwrap_or(false);
        s.namespace_created = Value::Value(created || was_created);
        let manifest_changed = prior
            .map(|p| p.k0smotron_manifest != s.k0smotron_manifest)
            .unwrap_or(true);
        if let Some(text) = known(&s.k0smotron_manifest).filter(|_| manifest_changed) {
            if let Err(e) = self.install_k0smotron(&kube, &text, timeout).await {
                diags.add_error(diag::error(
                    "k0smotron installation failed",
                    e,
                    AttributePath::new("k0smotron_manifest"),
                ));
                return Some(finish_partial(s));
            }
        }
        let api = match kube_io::k0smotron_api(&kube).await {
            Ok(a) => a,
            Err(e) => {
                diags.add_error(diag::error(
                    "k0smotron is not installed",
                    format!("{e}"),
                    if s.k0smotron_manifest.is_null() {
                        AttributePath::root()
                    } else {
                        AttributePath::new("k0smotron_manifest")
                    },
                ));
                return Some(finish_partial(s));
            }
        };
        s.k0smotron_api_version = Value::Value(api.as_str().into());
        if let Some(block) = s.openstack_credentials.as_mut_option() {
            match credentials_content(&clients, block) {
                Ok(Some(content)) => {
                    let obj = json!({
                        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                        "metadata": { "name": secret_name(block), "namespace": ns, "labels": { "app.kubernetes.io/managed-by": "k0stack" } },
                        "stringData": { clouds::SECRET_KEY: content },
                    });
                    if let Err(e) = kube_io::apply(&kube, &kube_io::secret_resource(), &obj).await {
                        err(diags, "Cannot store the OpenStack credentials", e);
                        return Some(finish_partial(s));
                    }
                    block.sha256 = Value::Value(clouds::content_hash(&content).into());
                }
                Ok(None) => {}
                Err(e) => {
                    diags.add_error(diag::error(
                        "No OpenStack credentials to store",
                        e,
                        AttributePath::new("openstack_credentials").index(0),
                    ));
                    return Some(finish_partial(s));
                }
            }
        }
        if let Some(old) = prior.and_then(|p| p.openstack_credentials.as_ref_option()) {
            let gone_or_renamed =
                s.openstack_credentials.as_ref_option().map(secret_name) != Some(secret_name(old));
            if gone_or_renamed {
                let _ = kube_io::delete(
                    &kube,
                    &kube_io::secret_resource(),
                    Some(&ns),
                    &secret_name(old),
                )
                .await;
            }
        }
        match kube_io::cluster_facts(&kube).await {
            Ok((version, nodes)) => {
                s.kubernetes_version = Value::Value(version.into());
                s.node_count = Value::Value(nodes);
            }
            Err(e) => {
                err(diags, "Cannot read the management cluster's version", e);
                return Some(finish_partial(s));
            }
        }
        tracing::info!(namespace = %ns, k0smotron = api.as_str(), "management cluster ready");
        Some((s, ValueEmpty::default()))
    }
}

/// A state with no unknown left (Terraform rejects unknowns after apply).
fn finish_partial(mut s: State) -> (State, ValueEmpty) {
    for v in [
        &mut s.k0smotron_api_version,
        &mut s.kubernetes_version,
        &mut s.endpoint,
        &mut s.id,
    ] {
        if v.is_unknown() {
            *v = Value::Null;
        }
    }
    if s.node_count.is_unknown() {
        s.node_count = Value::Null;
    }
    if s.namespace_created.is_unknown() {
        s.namespace_created = Value::Null;
    }
    if let Some(b) = s.openstack_credentials.as_mut_option() {
        if b.sha256.is_unknown() {
            b.sha256 = Value::Null;
        }
    }
    (s, ValueEmpty::default())
}

#[async_trait]
impl Resource for ManagementCluster {
    type State<'a> = State;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema::schema())
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        validate(&config).report(diags, BLOCKS);
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let (clients, kube) = self.handle.management(diags)?;
        let mut s = state;
        let ns = namespace(&s);
        match kube_io::get(&kube, &kube_io::namespace_resource(), None, &ns).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                tracing::info!(namespace = %ns, "management namespace no longer exists; removing it from the state");
                return None;
            }
            Err(e) => {
                err(diags, "Cannot read the management cluster", e);
                return None;
            }
        }
        if let Some(block) = s.openstack_credentials.as_mut_option() {
            match kube_io::secret_data(&kube, &ns, &secret_name(block)).await {
                Ok(data) => {
                    let content = data
                        .and_then(|d| d.get(clouds::SECRET_KEY).cloned())
                        .and_then(|b| String::from_utf8(b).ok());
                    block.sha256 = content
                        .map(|c| Value::Value(clouds::content_hash(&c).into()))
                        .unwrap_or(Value::Null);
                }
                Err(e) => {
                    err(diags, "Cannot read the OpenStack credentials Secret", e);
                    return None;
                }
            }
        }
        match kube_io::k0smotron_api(&kube).await {
            Ok(api) => s.k0smotron_api_version = Value::Value(api.as_str().into()),
            Err(_) => s.k0smotron_api_version = Value::Null,
        }
        if let Ok((version, nodes)) = kube_io::cluster_facts(&kube).await {
            s.kubernetes_version = Value::Value(version.into());
            s.node_count = Value::Value(nodes);
        }
        if let Ok(k) = clients.kube() {
            s.endpoint = Value::Value(k.server.clone().into());
            s.id = Value::Value(format!("{}/{ns}", k.cluster_key()).into());
        }
        Some((s, private))
    }

    async fn plan_create<'a>(
        &self,
        diags: &mut Diagnostics,
        proposed: Self::State<'a>,
        config: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        validate(&config).report(diags, BLOCKS);
        let mut s = proposed;
        let clients = self.handle.get().ok();
        plan_common(clients.as_deref(), &mut s, diags);
        s.k0smotron_api_version = Value::Unknown;
        s.kubernetes_version = Value::Unknown;
        s.node_count = Value::Unknown;
        s.namespace_created = Value::Unknown;
        Some((s, ValueEmpty::default()))
    }

    async fn plan_update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: Self::State<'a>,
        proposed: Self::State<'a>,
        config: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>, Vec<AttributePath>)> {
        validate(&config).report(diags, BLOCKS);
        let mut s = proposed;
        let clients = self.handle.get().ok();
        plan_common(clients.as_deref(), &mut s, diags);
        let mut replace = Vec::new();
        if namespace(&prior) != namespace(&s) {
            replace.push(AttributePath::new("namespace"));
        }
        if prior.k0smotron_manifest != s.k0smotron_manifest {
            s.k0smotron_api_version = Value::Unknown;
        }
        Some((s, private, replace))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<Self::PrivateState<'a>> {
        Some(private)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned: Self::State<'a>,
        _config: Self::State<'a>,
        _private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let t = timeouts::resolve(planned.timeouts.as_ref_option(), DEFAULT_TIMEOUTS)
            .map(|t| t.create)
            .unwrap_or(DEFAULT_TIMEOUTS.create);
        self.apply(diags, planned, None, t).await
    }

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: Self::State<'a>,
        planned: Self::State<'a>,
        _config: Self::State<'a>,
        _private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let t = timeouts::resolve(planned.timeouts.as_ref_option(), DEFAULT_TIMEOUTS)
            .map(|t| t.update)
            .unwrap_or(DEFAULT_TIMEOUTS.update);
        self.apply(diags, planned, Some(&prior), t).await
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        _private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<()> {
        let (clients, kube) = self.handle.management(diags)?;
        let ns = namespace(&state);
        let timeout = timeouts::resolve(state.timeouts.as_ref_option(), DEFAULT_TIMEOUTS)
            .map(|t| t.delete)
            .unwrap_or(DEFAULT_TIMEOUTS.delete);
        let force = state
            .force_destroy
            .as_ref_option()
            .copied()
            .unwrap_or(false);
        if let Ok(api) = k0smotron_api(&clients, &kube).await {
            let ar = kube_io::cluster_resource(api);
            let hcps = match kube_io::list(&kube, &ar, Some(&ns)).await {
                Ok(l) => l,
                Err(e) => {
                    err(diags, "Cannot list hosted control planes", e);
                    return None;
                }
            };
            let names: Vec<String> = hcps
                .iter()
                .filter_map(|o| o["metadata"]["name"].as_str().map(String::from))
                .collect();
            if !names.is_empty() && !force {
                diags.add_error(diag::error(
                    "Hosted control planes still exist",
                    format!(
                        "namespace {ns} still holds {} hosted control plane(s): {}. Destroy them first (they usually are, when they are in the same configuration), or set force_destroy = true to delete them with the management cluster resource.",
                        names.len(),
                        names.join(", ")
                    ),
                    AttributePath::new("force_destroy"),
                ));
                return None;
            }
            for n in &names {
                if let Err(e) = kube_io::delete(&kube, &ar, Some(&ns), n).await {
                    err(diags, "Cannot delete a hosted control plane", e);
                    return None;
                }
            }
            if !names.is_empty() {
                let waited = wait::until(
                    &format!("hosted control planes in {ns} to be deleted"),
                    timeout,
                    Backoff::default(),
                    || {
                        let (kube, ar, ns) = (kube.clone(), ar.clone(), ns.clone());
                        async move {
                            let left = kube_io::list(&kube, &ar, Some(&ns)).await?;
                            Ok::<_, KubeError>(if left.is_empty() {
                                Check::Ready(())
                            } else {
                                Check::Pending(format!("{} left", left.len()))
                            })
                        }
                    },
                )
                .await;
                if let Err(e) = waited {
                    err(diags, "Hosted control planes not deleted", e);
                    return None;
                }
            }
        }
        if let Some(block) = state.openstack_credentials.as_ref_option() {
            if let Err(e) = kube_io::delete(
                &kube,
                &kube_io::secret_resource(),
                Some(&ns),
                &secret_name(block),
            )
            .await
            {
                err(diags, "Cannot delete the OpenStack credentials Secret", e);
                return None;
            }
        }
        if let Some(text) = known(&state.k0smotron_manifest) {
            if let Ok(objs) = manifest::parse(&text) {
                for obj in objs.iter().rev() {
                    if let Err(e) = kube_io::delete_any(&kube, obj).await {
                        diags.add_warning(diag::error(
                            "Left behind while uninstalling k0smotron",
                            format!("{}: {e}", manifest::describe(obj)),
                            AttributePath::root(),
                        ));
                    }
                }
            }
        }
        if state
            .namespace_created
            .as_ref_option()
            .copied()
            .unwrap_or(false)
        {
            if let Err(e) = kube_io::delete(&kube, &kube_io::namespace_resource(), None, &ns).await
            {
                err(diags, "Cannot delete the namespace", e);
                return None;
            }
        }
        Some(())
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let (clients, _) = self.handle.management(diags)?;
        let key = clients.kube().map(|k| k.cluster_key()).unwrap_or_default();
        let Some((who, ns)) = id
            .rsplit_once('/')
            .filter(|(w, n)| !w.is_empty() && !n.is_empty())
        else {
            diags.add_error(diag::error("Invalid import id", format!("{id:?}: import a management cluster by <context-or-server>/<namespace>, e.g. {key}/kmc-system."), AttributePath::root()));
            return None;
        };
        if who != key {
            diags.add_error(diag::error(
                "Import id names another cluster",
                format!("{id:?} names {who:?}, but the provider is connected to {key:?} (its kubernetes block or KUBECONFIG decides which cluster it manages)."),
                AttributePath::root(),
            ));
            return None;
        }
        let state = State {
            id: Value::Value(id.clone().into()),
            namespace: Value::Value(ns.to_string().into()),
            force_destroy: Value::Value(false),
            namespace_created: Value::Value(false),
            ..Default::default()
        };
        Some((state, ValueEmpty::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_attributes() {
        let s = State {
            namespace: Value::Value("Bad_NS".into()),
            k0smotron_manifest: Value::Value(
                "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n".into(),
            ),
            openstack_credentials: Value::Value(CredentialsBlock {
                clouds_yaml: Value::Value("just text".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let paths: Vec<String> = validate(&s).0.iter().map(|e| e.dotted_path()).collect();
        assert_eq!(
            paths,
            vec![
                "namespace",
                "k0smotron_manifest",
                "openstack_credentials.clouds_yaml"
            ]
        );
        assert!(validate(&State::default()).is_empty());
    }
}

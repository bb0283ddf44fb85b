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
use super::{bootstrap, clouds, manifest, schema};

const BLOCKS: &[&str] = &["openstack_credentials", "bootstrap", "timeouts"];

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
    if let Some(b) = s.bootstrap.as_ref_option() {
        bootstrap::validate(b, &s.k0smotron_manifest, &mut p);
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
    if let Some(b) = s.bootstrap.as_mut_option() {
        if let Some(k) = clients.and_then(|c| c.kube().ok()) {
            diags.add_error(diag::error(
                "bootstrap and a management cluster connection are mutually exclusive",
                format!(
                    "this resource creates its management cluster (bootstrap), but the provider is also connected to one ({}). \
                     Remove the provider's kubernetes block (and KUBECONFIG) from this configuration, or remove bootstrap to manage the connected cluster.",
                    k.source.origin()
                ),
                AttributePath::new("bootstrap").index(0),
            ));
        }
        if b.name.is_null() {
            b.name = Value::Value(DEFAULT_BOOTSTRAP_NAME.into());
        }
        if b.controllers.is_null() {
            b.controllers = Value::Value(1);
        }
        b.server_group_policy = match bootstrap::policy(b) {
            Value::Value(p) => Value::Value(p.into()),
            _ => Value::Unknown,
        };
        let no_group = known(&b.server_group_policy).as_deref() == Some("none");
        if no_group {
            b.server_group_id = Value::Null;
        } else if b.server_group_id.is_null() {
            b.server_group_id = Value::Unknown;
        }
        for v in [&mut b.ca_key, &mut b.admin_certificate, &mut b.admin_key] {
            if v.is_null() {
                *v = Value::Unknown;
            }
        }
        s.id = match (known(&b.name), known(&s.namespace)) {
            (Some(n), Some(ns)) => Value::Value(format!("{n}/{ns}").into()),
            _ => Value::Unknown,
        };
        for v in [&mut s.endpoint, &mut s.ca_certificate, &mut s.kubeconfig] {
            if v.is_null() {
                *v = Value::Unknown;
            }
        }
        if s.members.is_null() {
            s.members = Value::Unknown;
        }
    } else {
        let key = clients.and_then(|c| c.kube().ok()).map(|k| k.cluster_key());
        s.id = match (key, known(&s.namespace)) {
            (Some(k), Some(ns)) => Value::Value(format!("{k}/{ns}").into()),
            _ => Value::Unknown,
        };
        s.endpoint = match clients.and_then(|c| c.kube().ok()) {
            Some(k) => Value::Value(k.server.clone().into()),
            None => Value::Unknown,
        };
        s.ca_certificate = Value::Null;
        s.kubeconfig = Value::Null;
        s.members = Value::Null;
    }
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

/// The arguments of a bootstrap block (its computed attributes left out): changing any
/// of them replaces the cluster.
fn bootstrap_args(b: &BootstrapBlock) -> BootstrapBlock {
    BootstrapBlock {
        server_group_id: Value::Null,
        ca_key: Value::Null,
        admin_certificate: Value::Null,
        admin_key: Value::Null,
        ..b.clone()
    }
}

/// Plan-time lookups of the bootstrap names (a typo fails the plan at its attribute).
async fn plan_resolve(clients: Option<&Clients>, s: &State, diags: &mut Diagnostics) {
    let Some(spec) = s.bootstrap.as_ref_option().and_then(bootstrap::spec) else {
        return;
    };
    let Some(os) = clients.and_then(|c| c.openstack_api().ok()) else {
        diags.add_error(diag::error(
            "No OpenStack cloud",
            crate::provider::NotConfigured::OpenStack.to_string(),
            AttributePath::new("bootstrap").index(0),
        ));
        return;
    };
    if let Err(p) = bootstrap::resolve(os, &spec).await {
        p.report(diags, BLOCKS);
    }
}

/// Controllers the last refresh found gone or broken: apply recreates them, so what
/// depends on them is unknown until then.
fn plan_drift(s: &mut State) {
    let members: Vec<Member> = known_objects(&s.members);
    let wanted = s
        .bootstrap
        .as_ref_option()
        .and_then(|b| b.controllers.as_ref_option().copied())
        .unwrap_or(1) as usize;
    let live = members.iter().filter(|m| bootstrap::is_live(m)).count();
    if live == members.len() && members.len() == wanted {
        return;
    }
    s.members = Value::Unknown;
    s.kubernetes_version = Value::Unknown;
    s.node_count = Value::Unknown;
    let endpoint_live = members.iter().any(|m| {
        bootstrap::is_live(m)
            && known(&m.ip).map(|ip| crate::pki::api_url(&ip)) == known(&s.endpoint)
    });
    if !endpoint_live {
        s.endpoint = Value::Unknown;
        s.kubeconfig = Value::Unknown;
        s.k0smotron_api_version = Value::Unknown;
        s.namespace_created = Value::Unknown;
        if let Some(c) = s.openstack_credentials.as_mut_option() {
            c.sha256 = Value::Unknown;
        }
    }
}

impl ManagementCluster {
    /// Creates or repairs the bootstrapped cluster and returns its client. `Err(true)`: an
    /// error was reported and `s` records what exists (return it); `Err(false)`: nothing
    /// was created.
    async fn bootstrap_apply(
        &self,
        diags: &mut Diagnostics,
        s: &mut State,
        prior: Option<&State>,
        timeout: std::time::Duration,
    ) -> Result<(std::sync::Arc<Clients>, kube::Client), bool> {
        let block_path = || AttributePath::new("bootstrap").index(0);
        let clients = self.handle.get().map_err(|e| {
            err(diags, "Provider not configured", e);
            false
        })?;
        let os = clients.openstack_api().map_err(|e| {
            err(diags, "No OpenStack cloud", e);
            false
        })?;
        let block = s.bootstrap.as_ref_option().cloned().unwrap_or_default();
        let Some(spec) = bootstrap::spec(&block) else {
            err(
                diags,
                "Incomplete configuration",
                "some bootstrap values are still unknown at apply time",
            );
            return Err(false);
        };
        let rt = match bootstrap::resolve(os, &spec).await {
            Ok(rt) => rt,
            Err(p) => {
                p.report(diags, BLOCKS);
                return Err(prior.is_some());
            }
        };
        let prior_block = prior.and_then(|p| p.bootstrap.as_ref_option());
        let pki = match prior_block
            .and_then(|b| bootstrap::recorded_pki(b, &prior.expect("prior").ca_certificate))
        {
            Some(p) => p,
            None => match crate::pki::generate(&spec.name) {
                Ok(p) => p,
                Err(e) => {
                    err(diags, "Cannot generate the cluster CA", e);
                    return Err(false);
                }
            },
        };
        let recorded: Vec<Member> = prior.map(|p| known_objects(&p.members)).unwrap_or_default();
        let recorded = match bootstrap::observe(os, &recorded).await {
            Ok(r) => r,
            Err(e) => {
                err(diags, "Cannot read the controllers", e);
                return Err(prior.is_some());
            }
        };
        let mut group = prior_block.and_then(|b| known(&b.server_group_id));
        if let (Some(policy), None) = (&spec.server_group_policy, &group) {
            match os
                .create_server_group(&format!("{}-controllers", spec.name), policy)
                .await
            {
                Ok(g) => group = Some(g.id),
                Err(e) => {
                    diags.add_error(diag::error(
                        "Cannot create the server group",
                        e.to_string(),
                        block_path(),
                    ));
                    return Err(false);
                }
            }
        }
        // Recorded from here on, so that a failure leaves nothing untracked.
        {
            let b = s.bootstrap.as_mut_option().expect("bootstrap");
            b.server_group_id = group
                .clone()
                .map(|g| Value::Value(g.into()))
                .unwrap_or(Value::Null);
            b.ca_key = Value::Value(pki.ca_key.clone().into());
            b.admin_certificate = Value::Value(pki.admin_cert.clone().into());
            b.admin_key = Value::Value(pki.admin_key.clone().into());
        }
        s.ca_certificate = Value::Value(pki.ca_cert.clone().into());
        let out = bootstrap::converge(
            os,
            &clients,
            &spec,
            &rt,
            &pki,
            group.as_deref(),
            recorded,
            timeout,
        )
        .await;
        s.members = Value::Value(out.members.iter().cloned().map(Value::Value).collect());
        let kubeconfig = out.endpoint_ip.as_deref().map(|ip| {
            let server = crate::pki::api_url(ip);
            s.endpoint = Value::Value(server.clone().into());
            crate::pki::admin_kubeconfig(&spec.name, &server, &pki)
        });
        s.kubeconfig = match &kubeconfig {
            Some(k) => Value::Value(k.clone().into()),
            None => Value::Null,
        };
        if let Some(e) = out.error {
            diags.add_error(diag::error(
                "Management cluster not bootstrapped",
                format!("{e}. The controllers that exist are recorded in the state; fix the cause and apply again."),
                block_path(),
            ));
            return Err(true);
        }
        let kube = match clients
            .client_for_kubeconfig(kubeconfig.as_deref().unwrap_or_default())
            .await
        {
            Ok(k) => k,
            Err(e) => {
                err(diags, "Cannot use the admin kubeconfig", e);
                return Err(true);
            }
        };
        if spec.k0smotron_version.is_some() {
            let waited = wait::until(
                "k0smotron (installed by the controllers) to serve its API",
                timeout,
                Backoff::default(),
                || {
                    let kube = kube.clone();
                    async move {
                        Ok::<_, KubeError>(match kube_io::k0smotron_api(&kube).await {
                            Ok(_) => Check::Ready(()),
                            Err(e) => Check::Pending(e.to_string()),
                        })
                    }
                },
            )
            .await;
            if let Err(e) = waited {
                diags.add_error(diag::error(
                    "k0smotron not available",
                    e.to_string(),
                    block_path(),
                ));
                return Err(true);
            }
        }
        Ok((clients, kube))
    }

    /// Refuses while hosted control planes exist in `ns` (unless `force`, then deletes them
    /// and waits until they are gone).
    async fn clear_hosted_control_planes(
        &self,
        diags: &mut Diagnostics,
        clients: &Clients,
        kube: &kube::Client,
        ns: &str,
        force: bool,
        timeout: std::time::Duration,
    ) -> Option<()> {
        let (kube, ns) = (kube.clone(), ns.to_string());
        if let Ok(api) = k0smotron_api(clients, &kube).await {
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
        Some(())
    }

    /// Destroys a bootstrapped cluster: refuses while hosted control planes exist (unless
    /// `force_destroy`), then deletes the controllers and the server group. Nothing inside
    /// the cluster is uninstalled: it goes with its VMs.
    async fn bootstrap_destroy(
        &self,
        diags: &mut Diagnostics,
        state: &State,
        force: bool,
        timeout: std::time::Duration,
    ) -> Option<()> {
        let clients = match self.handle.get() {
            Ok(c) => c,
            Err(e) => {
                err(diags, "Provider not configured", e);
                return None;
            }
        };
        let os = match clients.openstack_api() {
            Ok(os) => os.clone(),
            Err(e) => {
                err(diags, "No OpenStack cloud", e);
                return None;
            }
        };
        let ns = namespace(state);
        match self.bootstrapped_client(state).await {
            Some((_, kube)) if kube_io::cluster_facts(&kube).await.is_ok() => {
                self.clear_hosted_control_planes(diags, &clients, &kube, &ns, force, timeout)
                    .await?;
            }
            _ => tracing::warn!("the bootstrapped management cluster does not answer; deleting its controllers without checking for hosted control planes"),
        }
        let members: Vec<Member> = known_objects(&state.members);
        if let Err(e) = bootstrap::delete_all(&os, &members, timeout).await {
            err(diags, "Cannot delete the controllers", e);
            return None;
        }
        if let Some(g) = state
            .bootstrap
            .as_ref_option()
            .and_then(|b| known(&b.server_group_id))
        {
            if let Err(e) = os.delete_server_group(&g).await {
                err(diags, "Cannot delete the server group", e);
                return None;
            }
        }
        Some(())
    }

    /// The bootstrapped cluster's client from the state, if its API may be up.
    async fn bootstrapped_client(
        &self,
        s: &State,
    ) -> Option<(std::sync::Arc<Clients>, kube::Client)> {
        let clients = self.handle.get().ok()?;
        let kc = known(&s.kubeconfig)?;
        let client = clients.client_for_kubeconfig(&kc).await.ok()?;
        Some((clients, client))
    }

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
        let mut s = planned;
        let (clients, kube) = if s.bootstrap.is_value() {
            match self.bootstrap_apply(diags, &mut s, prior, timeout).await {
                Ok(c) => c,
                Err(recorded) => return recorded.then(|| finish_partial(s)),
            }
        } else {
            self.handle.management(diags)?
        };
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
    if s.members.is_unknown() {
        s.members = Value::Null;
    }
    if let Some(b) = s.bootstrap.as_mut_option() {
        for v in [
            &mut b.server_group_id,
            &mut b.ca_key,
            &mut b.admin_certificate,
            &mut b.admin_key,
        ] {
            if v.is_unknown() {
                *v = Value::Null;
            }
        }
    }
    for v in [
        &mut s.k0smotron_api_version,
        &mut s.kubernetes_version,
        &mut s.endpoint,
        &mut s.id,
        &mut s.ca_certificate,
        &mut s.kubeconfig,
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
        let mut s = state;
        let bootstrapped = s.bootstrap.is_value();
        let (clients, kube) = if bootstrapped {
            let clients = match self.handle.get() {
                Ok(c) => c,
                Err(e) => {
                    err(diags, "Provider not configured", e);
                    return None;
                }
            };
            let os = match clients.openstack_api() {
                Ok(os) => os,
                Err(e) => {
                    err(diags, "No OpenStack cloud", e);
                    return None;
                }
            };
            let recorded: Vec<Member> = known_objects(&s.members);
            match bootstrap::observe(os, &recorded).await {
                Ok(seen) => {
                    s.members = Value::Value(seen.into_iter().map(Value::Value).collect());
                }
                Err(e) => {
                    err(diags, "Cannot read the controllers", e);
                    return None;
                }
            }
            // A controller gone shows in the plan (members); the cluster's API may then be
            // unreachable, which is not an error of the read.
            let endpoint_live = s.members.as_ref_option().is_some_and(|ms| {
                ms.iter().filter_map(|m| m.as_ref_option()).any(|m| {
                    bootstrap::is_live(m)
                        && known(&m.ip).map(|ip| crate::pki::api_url(&ip)) == known(&s.endpoint)
                })
            });
            if !endpoint_live {
                return Some((s, private));
            }
            match self.bootstrapped_client(&s).await {
                Some(c) => c,
                None => return Some((s, private)),
            }
        } else {
            self.handle.management(diags)?
        };
        let ns = namespace(&s);
        match kube_io::get(&kube, &kube_io::namespace_resource(), None, &ns).await {
            Ok(Some(_)) => {}
            Ok(None) if bootstrapped => {
                s.namespace_created = Value::Value(false);
            }
            Err(_) if bootstrapped => return Some((s, private)),
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
        plan_resolve(clients.as_deref(), &s, diags).await;
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
        match (prior.bootstrap.as_ref_option(), s.bootstrap.as_ref_option()) {
            (None, None) => {}
            (Some(p), Some(b)) => {
                if bootstrap_args(p) != bootstrap_args(b) {
                    plan_resolve(clients.as_deref(), &s, diags).await;
                    replace.push(AttributePath::new("bootstrap"));
                }
                plan_drift(&mut s);
            }
            _ => replace.push(AttributePath::new("bootstrap")),
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
        let timeout = timeouts::resolve(state.timeouts.as_ref_option(), DEFAULT_TIMEOUTS)
            .map(|t| t.delete)
            .unwrap_or(DEFAULT_TIMEOUTS.delete);
        let force = state
            .force_destroy
            .as_ref_option()
            .copied()
            .unwrap_or(false);
        if state.bootstrap.is_value() {
            return self.bootstrap_destroy(diags, &state, force, timeout).await;
        }
        let (clients, kube) = self.handle.management(diags)?;
        let ns = namespace(&state);
        self.clear_hosted_control_planes(diags, &clients, &kube, &ns, force, timeout)
            .await?;
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

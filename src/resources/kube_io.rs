//! The management-cluster operations the resources need, on kube-rs with dynamic objects:
//! server-side apply (field manager `k0stack`), get-or-none, delete, Secret data, and
//! k0smotron API version detection. Errors name the object and carry the API's message.
//!
//! Why server-side apply rather than create/replace with resourceVersion: the k0smotron
//! controller writes into the same object (`spec.externalAddress`, status); with SSA each
//! writer owns its fields, so our updates never clobber the controller's and never fail
//! on a stale resourceVersion, and fields we stop setting are removed.

use std::collections::BTreeMap;

use kube::api::{Api as KubeApi, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;

use super::hosted_control_plane::object::Api;

pub const FIELD_MANAGER: &str = "k0stack";

/// A failed call, naming the object.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("{verb} {kind} {namespace}/{name}: {message}")]
    Object {
        verb: &'static str,
        kind: String,
        namespace: String,
        name: String,
        message: String,
        /// HTTP status when the API answered (404, 409, 422...), None for connection errors.
        code: Option<u16>,
    },
    #[error("k0smotron is not installed in the management cluster: the API group k0smotron.io is not served ({0}). Install k0smotron (e.g. kubectl apply --server-side -f https://docs.k0smotron.io/stable/install.yaml) or set k0smotron_manifest on k0stack_management_cluster.")]
    NoK0smotron(String),
    #[error("management cluster API: {0}")]
    Api(String),
    /// No answer at all (connection refused, DNS, TLS, timeout).
    #[error("management cluster API unreachable: {0}")]
    Unreachable(String),
}

/// A call that is not about one object: an API answer, or no answer at all.
fn api_error(e: kube::Error) -> KubeError {
    match &e {
        kube::Error::Api(_) => KubeError::Api(message(&e).0),
        _ => KubeError::Unreachable(e.to_string()),
    }
}

fn message(e: &kube::Error) -> (String, Option<u16>) {
    match e {
        kube::Error::Api(status) => (
            format!("{} ({})", status.message, status.reason),
            Some(status.code),
        ),
        other => (other.to_string(), None),
    }
}

/// The ApiResource for a group/version/kind with its plural.
pub fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

pub fn cluster_resource(api: Api) -> ApiResource {
    resource("k0smotron.io", api.as_str(), "Cluster", "clusters")
}

pub fn secret_resource() -> ApiResource {
    resource("", "v1", "Secret", "secrets")
}

pub fn configmap_resource() -> ApiResource {
    resource("", "v1", "ConfigMap", "configmaps")
}

pub fn statefulset_resource() -> ApiResource {
    resource("apps", "v1", "StatefulSet", "statefulsets")
}

pub fn namespace_resource() -> ApiResource {
    resource("", "v1", "Namespace", "namespaces")
}

fn api_for(
    client: &kube::Client,
    ar: &ApiResource,
    namespace: Option<&str>,
) -> KubeApi<DynamicObject> {
    match namespace {
        Some(ns) => KubeApi::namespaced_with(client.clone(), ns, ar),
        None => KubeApi::all_with(client.clone(), ar),
    }
}

fn err(
    verb: &'static str,
    ar: &ApiResource,
    namespace: Option<&str>,
    name: &str,
    e: kube::Error,
) -> KubeError {
    let (message, code) = message(&e);
    KubeError::Object {
        verb,
        kind: ar.kind.clone(),
        namespace: namespace.unwrap_or("").to_string(),
        name: name.to_string(),
        message,
        code,
    }
}

/// Which k0smotron API to use: v1beta2 when served, else v1beta1.
pub async fn k0smotron_api(client: &kube::Client) -> Result<Api, KubeError> {
    let groups = client.list_api_groups().await.map_err(api_error)?;
    let group = groups
        .groups
        .iter()
        .find(|g| g.name == "k0smotron.io")
        .ok_or_else(|| KubeError::NoK0smotron("GET /apis".into()))?;
    let served: Vec<&str> = group.versions.iter().map(|v| v.version.as_str()).collect();
    if served.contains(&"v1beta2") {
        Ok(Api::V1beta2)
    } else if served.contains(&"v1beta1") {
        Ok(Api::V1beta1)
    } else {
        Err(KubeError::NoK0smotron(format!(
            "served versions: {}",
            served.join(", ")
        )))
    }
}

/// Server-side apply of `obj` (which carries apiVersion, kind, metadata.name/namespace).
pub async fn apply(
    client: &kube::Client,
    ar: &ApiResource,
    obj: &Value,
) -> Result<Value, KubeError> {
    server_side_apply(
        client,
        ar,
        obj,
        PatchParams::apply(FIELD_MANAGER).force(),
        "apply",
    )
    .await
}

/// Server-side apply of `obj` with `dryRun=All`: the object as [`apply`] would make it,
/// nothing written (what `kubectl diff` compares with the live object).
pub async fn apply_dry_run(
    client: &kube::Client,
    ar: &ApiResource,
    obj: &Value,
) -> Result<Value, KubeError> {
    let pp = PatchParams::apply(FIELD_MANAGER).force().dry_run();
    server_side_apply(client, ar, obj, pp, "apply (dry run)").await
}

async fn server_side_apply(
    client: &kube::Client,
    ar: &ApiResource,
    obj: &Value,
    pp: PatchParams,
    verb: &'static str,
) -> Result<Value, KubeError> {
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let ns = obj["metadata"]["namespace"].as_str().map(String::from);
    let api = api_for(client, ar, ns.as_deref());
    let out = api
        .patch(&name, &pp, &Patch::Apply(obj))
        .await
        .map_err(|e| err(verb, ar, ns.as_deref(), &name, e))?;
    Ok(serde_json::to_value(out).expect("objects serialize"))
}

/// Create only (for objects that must never be overwritten).
pub async fn create(
    client: &kube::Client,
    ar: &ApiResource,
    obj: &Value,
) -> Result<Value, KubeError> {
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let ns = obj["metadata"]["namespace"].as_str().map(String::from);
    let api = api_for(client, ar, ns.as_deref());
    let dobj: DynamicObject =
        serde_json::from_value(obj.clone()).map_err(|e| KubeError::Api(e.to_string()))?;
    let out = api
        .create(&PostParams::default(), &dobj)
        .await
        .map_err(|e| err("create", ar, ns.as_deref(), &name, e))?;
    Ok(serde_json::to_value(out).expect("objects serialize"))
}

/// The object, or `None` when it does not exist.
pub async fn get(
    client: &kube::Client,
    ar: &ApiResource,
    namespace: Option<&str>,
    name: &str,
) -> Result<Option<Value>, KubeError> {
    let api = api_for(client, ar, namespace);
    let out = api
        .get_opt(name)
        .await
        .map_err(|e| err("get", ar, namespace, name, e))?;
    Ok(out.map(|o| serde_json::to_value(o).expect("objects serialize")))
}

/// Objects of a kind in a namespace (all namespaces with `None`).
pub async fn list(
    client: &kube::Client,
    ar: &ApiResource,
    namespace: Option<&str>,
) -> Result<Vec<Value>, KubeError> {
    list_selected(client, ar, namespace, None).await
}

/// Objects of a kind matching a label selector (e.g. `k0stack.io/pool-id=abc`).
pub async fn list_selected(
    client: &kube::Client,
    ar: &ApiResource,
    namespace: Option<&str>,
    label_selector: Option<&str>,
) -> Result<Vec<Value>, KubeError> {
    let api = api_for(client, ar, namespace);
    let mut lp = kube::api::ListParams::default();
    if let Some(sel) = label_selector {
        lp = lp.labels(sel);
    }
    let out = api
        .list(&lp)
        .await
        .map_err(|e| err("list", ar, namespace, "*", e))?;
    Ok(out
        .items
        .into_iter()
        .map(|o| serde_json::to_value(o).expect("objects serialize"))
        .collect())
}

/// A JSON merge patch (RFC 7386), e.g. of annotations; the patched object.
pub async fn patch_merge(
    client: &kube::Client,
    ar: &ApiResource,
    namespace: Option<&str>,
    name: &str,
    patch: &Value,
) -> Result<Value, KubeError> {
    let api = api_for(client, ar, namespace);
    let out = api
        .patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .map_err(|e| err("patch", ar, namespace, name, e))?;
    Ok(serde_json::to_value(out).expect("objects serialize"))
}

/// The uid of the `kube-system` namespace: what identifies a Kubernetes cluster, whatever
/// kubeconfig, context name or server URL reaches it (every cluster has the namespace,
/// and its uid never changes while the cluster lives).
pub async fn cluster_uid(client: &kube::Client) -> Result<String, KubeError> {
    let ns = get(client, &namespace_resource(), None, "kube-system").await?;
    ns.as_ref()
        .and_then(|n| n["metadata"]["uid"].as_str())
        .filter(|u| !u.is_empty())
        .map(String::from)
        .ok_or_else(|| {
            KubeError::Api("the namespace kube-system does not exist or has no uid".into())
        })
}

/// Whether an error means the API could not be reached at all (connection refused, DNS,
/// TLS, timeout), as opposed to an answer from it.
pub fn unreachable(e: &KubeError) -> bool {
    match e {
        KubeError::Object { code, .. } => code.is_none(),
        KubeError::Unreachable(_) => true,
        KubeError::Api(_) | KubeError::NoK0smotron(_) => false,
    }
}

/// Deletes; `false` when it was already gone.
pub async fn delete(
    client: &kube::Client,
    ar: &ApiResource,
    namespace: Option<&str>,
    name: &str,
) -> Result<bool, KubeError> {
    let api = api_for(client, ar, namespace);
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => Err(err("delete", ar, namespace, name, e)),
    }
}

/// A Secret's decoded data, or `None` when it does not exist.
pub async fn secret_data(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Option<BTreeMap<String, Vec<u8>>>, KubeError> {
    use base64::Engine;
    let Some(obj) = get(client, &secret_resource(), Some(namespace), name).await? else {
        return Ok(None);
    };
    let mut out = BTreeMap::new();
    if let Some(data) = obj["data"].as_object() {
        for (k, v) in data {
            if let Some(b64) = v.as_str() {
                if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(b64) {
                    out.insert(k.clone(), bytes);
                }
            }
        }
    }
    Ok(Some(out))
}

/// Creates the namespace when it is missing (never modifies an existing one).
pub async fn ensure_namespace(client: &kube::Client, name: &str) -> Result<bool, KubeError> {
    let ar = namespace_resource();
    if get(client, &ar, None, name).await?.is_some() {
        return Ok(false);
    }
    let obj = serde_json::json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": { "name": name, "labels": { "app.kubernetes.io/managed-by": "k0stack" } }
    });
    match create(client, &ar, &obj).await {
        Ok(_) => Ok(true),
        Err(KubeError::Object {
            code: Some(409), ..
        }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The ApiResource and scope of any object's apiVersion/kind, from discovery.
pub async fn resource_of(
    client: &kube::Client,
    obj: &Value,
) -> Result<(ApiResource, bool), KubeError> {
    let api_version = obj["apiVersion"].as_str().unwrap_or_default();
    let kind = obj["kind"].as_str().unwrap_or_default();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (ar, caps) = kube::discovery::pinned_kind(client, &gvk)
        .await
        .map_err(|e| {
            KubeError::Api(format!(
                "{kind} ({api_version}) is not served by the management cluster: {}",
                message(&e).0
            ))
        })?;
    Ok((ar, caps.scope == kube::discovery::Scope::Namespaced))
}

/// Server-side apply of an arbitrary object (kind resolved by discovery).
pub async fn apply_any(client: &kube::Client, obj: &Value) -> Result<Value, KubeError> {
    let (ar, namespaced) = resource_of(client, obj).await?;
    let mut obj = obj.clone();
    if namespaced && obj["metadata"]["namespace"].is_null() {
        obj["metadata"]["namespace"] = Value::String("default".into());
    }
    apply(client, &ar, &obj).await
}

/// Deletes an arbitrary object; `false` when already gone (or its kind is no longer served).
pub async fn delete_any(client: &kube::Client, obj: &Value) -> Result<bool, KubeError> {
    let Ok((ar, namespaced)) = resource_of(client, obj).await else {
        return Ok(false);
    };
    let ns = if namespaced {
        Some(obj["metadata"]["namespace"].as_str().unwrap_or("default"))
    } else {
        None
    };
    delete(
        client,
        &ar,
        ns,
        obj["metadata"]["name"].as_str().unwrap_or_default(),
    )
    .await
}

/// Whether a CRD reports `Established=True`.
pub fn crd_established(crd: &Value) -> bool {
    crd["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Established" && c["status"] == "True")
    })
}

/// Whether a Deployment reports `Available=True` for its current generation.
pub fn deployment_available(d: &Value) -> bool {
    let generation = d["metadata"]["generation"].as_i64().unwrap_or(0);
    let observed = d["status"]["observedGeneration"].as_i64().unwrap_or(0);
    observed >= generation
        && d["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Available" && c["status"] == "True")
        })
}

/// The API server's version and the number of nodes (computed attributes).
pub async fn cluster_facts(client: &kube::Client) -> Result<(String, i64), KubeError> {
    let version = client.apiserver_version().await.map_err(api_error)?;
    let nodes = list(client, &resource("", "v1", "Node", "nodes"), None).await?;
    Ok((version.git_version, nodes.len() as i64))
}

/// Waits until every `(namespace, name)` object of `ar` satisfies `ready` (e.g. CRDs
/// Established, Deployments Available); the timeout error names the first one that is not.
pub async fn wait_all(
    client: &kube::Client,
    ar: &ApiResource,
    objects: Vec<(Option<String>, String)>,
    what: &str,
    timeout: std::time::Duration,
    ready: fn(&Value) -> bool,
) -> Result<(), crate::framework::wait::WaitError<KubeError>> {
    use crate::framework::wait::{until, Backoff, Check};
    until(what, timeout, Backoff::default(), || {
        let (client, ar, objects) = (client.clone(), ar.clone(), objects.clone());
        async move {
            for (ns, name) in &objects {
                match get(&client, &ar, ns.as_deref(), name).await? {
                    Some(o) if ready(&o) => {}
                    _ => {
                        let who = ns
                            .as_ref()
                            .map(|n| format!("{n}/{name}"))
                            .unwrap_or_else(|| name.clone());
                        return Ok(Check::Pending(format!("{} {who} not ready yet", ar.kind)));
                    }
                }
            }
            Ok(Check::Ready(()))
        }
    })
    .await
}

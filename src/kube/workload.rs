//! Access to a hosted (workload) cluster from its admin kubeconfig: nodes, cordon, drain
//! by eviction (PodDisruptionBudgets respected, optionally overridden after a while), and
//! node deletion. Worker pools use it before deleting servers.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, EvictParams, ListParams};
use tokio::time::Instant;

/// What went wrong, naming the node or pod.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    #[error("invalid hosted cluster kubeconfig: {0}")]
    Kubeconfig(String),
    #[error("{verb} {what}: {message}")]
    Api {
        verb: &'static str,
        what: String,
        message: String,
    },
    #[error("draining node {node} timed out after {waited:?}: {blocked}")]
    DrainTimeout {
        node: String,
        waited: Duration,
        blocked: String,
    },
}

fn api_err(verb: &'static str, what: impl Into<String>, e: kube::Error) -> WorkloadError {
    let message = match &e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    };
    WorkloadError::Api {
        verb,
        what: what.into(),
        message,
    }
}

/// A client for the hosted cluster of `kubeconfig` (from the `<name>-kubeconfig` Secret,
/// server URL already rewritten to the reachable endpoint).
pub async fn client(kubeconfig: &str) -> Result<kube::Client, WorkloadError> {
    let kc = kube::config::Kubeconfig::from_yaml(kubeconfig)
        .map_err(|e| WorkloadError::Kubeconfig(e.to_string()))?;
    let mut cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .map_err(|e| WorkloadError::Kubeconfig(e.to_string()))?;
    // kube-rs retries 429 by default; an eviction refused by a PodDisruptionBudget is a 429
    // that the drain loop must see at once (it retries on its own schedule, bounded by its timeout).
    cfg.default_retry = false;
    let builder = kube::client::ClientBuilder::try_from(cfg)
        .map_err(|e| WorkloadError::Kubeconfig(e.to_string()))?;
    Ok(builder
        .with_layer(&super::request_log::RequestLogLayer { cluster: "hosted" })
        .build())
}

/// All nodes (one list call).
pub async fn nodes(client: &kube::Client) -> Result<Vec<Node>, WorkloadError> {
    let api: Api<Node> = Api::all(client.clone());
    Ok(api
        .list(&ListParams::default())
        .await
        .map_err(|e| api_err("list", "nodes", e))?
        .items)
}

/// Whether a node reports Ready=True.
pub fn node_ready(n: &Node) -> bool {
    n.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// `reason: message` of a Node's Ready condition when it is not True (None when Ready or
/// when the kubelet has not posted the condition yet).
pub fn not_ready_reason(n: &Node) -> Option<String> {
    let c = n
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready" && c.status != "True")?;
    let parts: Vec<&str> = [c.reason.as_deref(), c.message.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(": "))
}

pub async fn cordon(client: &kube::Client, node: &str) -> Result<(), WorkloadError> {
    let api: Api<Node> = Api::all(client.clone());
    api.cordon(node)
        .await
        .map_err(|e| api_err("cordon", format!("node {node}"), e))?;
    Ok(())
}

/// Pods a drain must move: not DaemonSet-managed, not mirror pods, not finished.
fn evictable(p: &Pod) -> bool {
    let daemon = p
        .metadata
        .owner_references
        .as_ref()
        .is_some_and(|o| o.iter().any(|r| r.kind == "DaemonSet"));
    let mirror = p
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"));
    let done = p
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .is_some_and(|ph| ph == "Succeeded" || ph == "Failed");
    !daemon && !mirror && !done
}

/// Cordons `node` and evicts its pods, retrying while PodDisruptionBudgets forbid it.
/// After `ignore_pdb_after` (if set), remaining pods are deleted regardless. Fails with the
/// blocking reason after `timeout`. Returns how many pods were moved.
pub async fn drain(
    client: &kube::Client,
    node: &str,
    timeout: Duration,
    ignore_pdb_after: Option<Duration>,
) -> Result<usize, WorkloadError> {
    cordon(client, node).await?;
    let pods: Api<Pod> = Api::all(client.clone());
    let start = Instant::now();
    let mut moved = 0;
    let mut delay = Duration::from_millis(200);
    loop {
        let lp = ListParams::default().fields(&format!("spec.nodeName={node}"));
        let left: Vec<Pod> = pods
            .list(&lp)
            .await
            .map_err(|e| api_err("list", format!("pods on {node}"), e))?
            .items
            .into_iter()
            .filter(evictable)
            .collect();
        if left.is_empty() {
            return Ok(moved);
        }
        let force = ignore_pdb_after.is_some_and(|d| start.elapsed() >= d);
        let mut blocked = Vec::new();
        for p in &left {
            let ns = p.metadata.namespace.clone().unwrap_or_default();
            let name = p.metadata.name.clone().unwrap_or_default();
            let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
            let result = if force {
                api.delete(&name, &DeleteParams::default())
                    .await
                    .map(|_| ())
            } else {
                api.evict(&name, &EvictParams::default()).await.map(|_| ())
            };
            match result {
                Ok(()) => moved += 1,
                Err(kube::Error::Api(s)) if s.code == 429 => {
                    blocked.push(format!("{ns}/{name}: {}", s.message))
                }
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(api_err("evict", format!("pod {ns}/{name}"), e)),
            }
        }
        if !blocked.is_empty() {
            tracing::info!(
                node,
                blocked = blocked.len(),
                "drain waiting on PodDisruptionBudgets"
            );
        }
        if start.elapsed() >= timeout {
            let blocked = if blocked.is_empty() {
                format!("{} pod(s) still terminating", left.len())
            } else {
                blocked.join("; ")
            };
            return Err(WorkloadError::DrainTimeout {
                node: node.into(),
                waited: timeout,
                blocked,
            });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// What a pool needs of a node: its name, readiness and pool label.
pub fn node_facts(n: &Node, pool_label: &str) -> (String, bool, Option<String>) {
    (
        n.metadata.name.clone().unwrap_or_default(),
        node_ready(n),
        n.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(pool_label).cloned()),
    )
}

pub async fn delete_node(client: &kube::Client, node: &str) -> Result<bool, WorkloadError> {
    let api: Api<Node> = Api::all(client.clone());
    match api.delete(node, &DeleteParams::default()).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => Err(api_err("delete", format!("node {node}"), e)),
    }
}

#[cfg(test)]
mod not_ready_tests {
    use super::*;

    fn node(conditions: serde_json::Value) -> Node {
        serde_json::from_value(
            serde_json::json!({"metadata": {"name": "n"}, "status": {"conditions": conditions}}),
        )
        .unwrap()
    }

    #[test]
    fn the_ready_conditions_reason_and_message_when_not_ready() {
        let n = node(
            serde_json::json!([{"type": "Ready", "status": "False", "reason": "KubeletNotReady", "message": "container runtime network not ready"}]),
        );
        assert_eq!(
            not_ready_reason(&n).as_deref(),
            Some("KubeletNotReady: container runtime network not ready")
        );
        let unknown = node(
            serde_json::json!([{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown"}]),
        );
        assert_eq!(
            not_ready_reason(&unknown).as_deref(),
            Some("NodeStatusUnknown")
        );
        let ready = node(
            serde_json::json!([{"type": "Ready", "status": "True", "reason": "KubeletReady"}]),
        );
        assert_eq!(not_ready_reason(&ready), None);
        assert_eq!(not_ready_reason(&node(serde_json::json!([]))), None);
    }
}

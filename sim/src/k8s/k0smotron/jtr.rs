//! k0smotron's `JoinTokenRequest` controller, as each generation really behaves
//! (`internal/controller/k0smotron.io/jointokenrequest_controller.go`):
//!
//! - **2.x** (v1beta2 served; v2.0.0 … main): adds its finalizer first; a request being
//!   deleted runs `k0s token invalidate <tokenID>` before the finalizer goes. A request
//!   written through v1beta1 with `clusterRef.namespace` (the conversion webhook turns that
//!   into the `k0smotron.io/cluster-ref-namespace` annotation) gets all its labels replaced
//!   by `k0smotron.io/cluster-uid`.
//! - **1.x** (only v1beta1 served; v1.10.9): every reconcile replaces all labels of the
//!   request by `k0smotron.io/cluster-uid` (`jtr.SetLabels` + `Update`); its finalizer is only
//!   added in memory and never written (the status update that follows ignores metadata),
//!   so a delete removes the request at once and the token stays valid until it expires —
//!   unless someone else put the finalizer on it: then the deletion branch invalidates.
//! - Both: `k0s token create` runs in the control plane pod, so a request for a control
//!   plane not up yet fails ("Failed getting token") and is retried with controller-runtime's
//!   per-item backoff (5 ms doubling, at most 1000 s; any change to the request retries at
//!   once). The token Secret is named like the request, owned by it (garbage collected with
//!   it), labelled as [`secret_labels`] says.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use super::{materialize_string_data, parse_go_duration, Operator, MANAGER};
use crate::k8s::convert;
use crate::k8s::store::ResourceType;

/// The finalizer of join token requests (both generations).
pub const FINALIZER: &str = "jointokenrequests.k0smotron.io/finalizer";
/// The only label a 1.x controller leaves on a request.
pub const LABEL_CLUSTER_UID: &str = "k0smotron.io/cluster-uid";
/// Where 2.x's conversion keeps v1beta1's `clusterRef.namespace`.
pub const ANNOTATION_REF_NAMESPACE: &str = "k0smotron.io/cluster-ref-namespace";

/// Which k0smotron runs: 1.x serves only v1beta1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    V1,
    V2,
}

impl Generation {
    pub fn of(rt: &ResourceType) -> Self {
        if rt.versions.iter().any(|v| v == "v1beta2") {
            Self::V2
        } else {
            Self::V1
        }
    }
}

/// Per-request retry state (controller-runtime's rate-limited requeue).
#[derive(Debug, Clone, Default)]
pub(super) struct Retry {
    failures: u32,
    next: Option<Instant>,
    resource_version: String,
}

impl Retry {
    /// controller-runtime's default per-item backoff: 5 ms · 2^failures, at most 1000 s.
    fn delay(failures: u32) -> Duration {
        let ms = 5u64.saturating_mul(1u64 << failures.min(20));
        Duration::from_millis(ms).min(Duration::from_secs(1000))
    }
}

/// The labels k0smotron writes on the token Secret: its own, then the request's labels
/// (as they are after its own `SetLabels`) copied over them (`maps.Copy`).
pub fn secret_labels(
    gen: Generation,
    cluster: &str,
    cluster_uid: &str,
    role: &str,
    request: &str,
    request_labels: &Map<String, Value>,
) -> Map<String, Value> {
    let mut l = Map::new();
    l.insert("k0smotron.io/cluster".into(), json!(cluster));
    if gen == Generation::V1 {
        l.insert(LABEL_CLUSTER_UID.into(), json!(cluster_uid));
    }
    l.insert("k0smotron.io/role".into(), json!(role));
    l.insert("k0smotron.io/token-request".into(), json!(request));
    l.insert("app.kubernetes.io/component".into(), json!("jointoken"));
    for (k, v) in request_labels {
        l.insert(k.clone(), v.clone());
    }
    l
}

fn has_finalizer(j: &Value) -> bool {
    j["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| f.iter().any(|x| x == FINALIZER))
}

fn finalizers_with(j: &Value, add: bool) -> Value {
    let mut f: Vec<Value> = j["metadata"]["finalizers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|x| x != FINALIZER)
        .collect();
    if add {
        f.push(json!(FINALIZER));
    }
    json!(f)
}

/// A merge patch that makes the labels exactly `{cluster-uid: uid}` (None: they are).
fn replace_labels(j: &Value, uid: &str) -> Option<Value> {
    let want = json!({ LABEL_CLUSTER_UID: uid });
    if j["metadata"]["labels"] == want {
        return None;
    }
    let mut patch = Map::new();
    for k in j["metadata"]["labels"].as_object().into_iter().flatten() {
        patch.insert(k.0.clone(), Value::Null);
    }
    patch.insert(LABEL_CLUSTER_UID.into(), json!(uid));
    Some(Value::Object(patch))
}

impl Operator {
    fn jtr_patch(&self, rt: &ResourceType, ns: &str, name: &str, patch: Value, status: bool) {
        let mut store = self.mgmt.store.lock().expect("store");
        let _ = store.patch_merge(rt, ns, name, &patch, MANAGER, status);
    }

    /// The status a reconcile leaves, in the storage version's shape.
    fn jtr_status(&self, rt: &ResourceType, gen: Generation, j: &Value, outcome: Outcome) {
        let (ns, name) = names(j);
        let status = match (gen, &outcome) {
            (
                Generation::V1,
                Outcome::Issued {
                    token_id,
                    cluster_uid,
                },
            ) => json!({
                "tokenID": token_id, "clusterUID": cluster_uid, "reconciliationStatus": "Reconciliation successful"}),
            (Generation::V1, Outcome::Failed(msg)) => json!({"reconciliationStatus": msg}),
            (Generation::V2, Outcome::Issued { token_id, .. }) => json!({"tokenID": token_id,
                "conditions": [{"type": "JoinTokenSecretCreated", "status": "True", "reason": "Created",
                    "lastTransitionTime": crate::k8s::store::now_rfc3339()}]}),
            (Generation::V2, Outcome::Failed(msg)) => {
                json!({"conditions": [{"type": "JoinTokenSecretCreated",
                "status": "False", "reason": "InternalError", "message": msg,
                "lastTransitionTime": crate::k8s::store::now_rfc3339()}]})
            }
        };
        if j["status"]["reconciliationStatus"] == status["reconciliationStatus"]
            && j["status"]["conditions"][0]["message"] == status["conditions"][0]["message"]
            && matches!(outcome, Outcome::Failed(_))
        {
            return; // the same failure again: nothing changes
        }
        self.jtr_patch(rt, &ns, &name, json!({ "status": status }), true);
    }

    /// A failed reconcile: the status says why, the next attempt waits out the backoff.
    fn jtr_failed(&self, rt: &ResourceType, gen: Generation, j: &Value, msg: &str) {
        self.jtr_status(rt, gen, j, Outcome::Failed(msg.into()));
        let uid = j["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let rv = {
            let (ns, name) = names(j);
            let store = self.mgmt.store.lock().expect("store");
            store
                .get(rt, &ns, &name)
                .ok()
                .and_then(|o| o["metadata"]["resourceVersion"].as_str().map(String::from))
                .unwrap_or_default()
        };
        let mut retries = self.jtr_retries.lock().expect("retries");
        let r = retries.entry(uid).or_default();
        r.next = Some(Instant::now() + Retry::delay(r.failures));
        r.failures += 1;
        r.resource_version = rv;
    }

    /// Whether a request waits out its backoff (an update to it retries at once).
    fn jtr_backing_off(&self, j: &Value) -> bool {
        let uid = j["metadata"]["uid"].as_str().unwrap_or_default();
        let rv = j["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default();
        let retries = self.jtr_retries.lock().expect("retries");
        retries
            .get(uid)
            .is_some_and(|r| r.resource_version == rv && r.next.is_some_and(|n| Instant::now() < n))
    }

    /// The Cluster a request is for: (namespace, name, uid, control plane up).
    fn jtr_cluster(
        &self,
        gen: Generation,
        raw: &Value,
        v2: &Value,
    ) -> Option<(String, String, String, bool)> {
        let own_ns = raw["metadata"]["namespace"].as_str().unwrap_or_default();
        let (ns, name) = match gen {
            Generation::V1 => (
                raw["spec"]["clusterRef"]["namespace"]
                    .as_str()
                    .unwrap_or(own_ns),
                raw["spec"]["clusterRef"]["name"]
                    .as_str()
                    .unwrap_or_default(),
            ),
            Generation::V2 => (
                raw["metadata"]["annotations"][ANNOTATION_REF_NAMESPACE]
                    .as_str()
                    .unwrap_or(own_ns),
                v2["spec"]["clusterName"].as_str().unwrap_or_default(),
            ),
        };
        let uid = self.cluster_uid(ns, name)?;
        let up = self
            .seen
            .lock()
            .expect("seen")
            .get(&uid)
            .is_some_and(|s| s.was_ready);
        Some((ns.to_string(), name.to_string(), uid, up))
    }

    /// `k0s token invalidate` for the request's tokens, in its cluster's control plane.
    fn jtr_invalidate(&self, j: &Value, cluster_uid: Option<&str>) {
        let key = j["metadata"]["uid"].as_str().unwrap_or_default();
        let hosted = self.hosted.lock().expect("hosted");
        for (uid, h) in hosted.iter() {
            if cluster_uid.is_none_or(|c| c == uid) {
                h.revoke(key);
            }
        }
    }

    pub(super) fn reconcile_jtrs(&self, rt: &ResourceType) {
        let gen = Generation::of(rt);
        let jtrs = self.mgmt.store.lock().expect("store").list(rt, None, None);
        let mut present = BTreeMap::new();
        for raw in jtrs {
            let (ns, name) = names(&raw);
            present.insert(format!("{ns}/{name}"), ());
            if self.jtr_backing_off(&raw) {
                continue;
            }
            let v2 = convert::k0smotron(rt, &rt.versions[0], "v1beta2", raw.clone());
            match gen {
                Generation::V1 => self.reconcile_jtr_v1(rt, &raw, &v2),
                Generation::V2 => self.reconcile_jtr_v2(rt, &raw, &v2),
            }
        }
        // The garbage collector removes token Secrets whose request is gone.
        let mut known = self.known_jtrs.lock().expect("jtrs");
        for key in known.keys() {
            if !present.contains_key(key) {
                let (ns, name) = key.split_once('/').unwrap_or_default();
                let mut store = self.mgmt.store.lock().expect("store");
                if let Some(srt) = store.find("", "v1", "secrets") {
                    let _ = store.delete(&srt, ns, name);
                }
            }
        }
        *known = present.into_keys().map(|k| (k, String::new())).collect();
    }

    /// v1.10.9: cluster, labels replaced, deletion branch, then the token.
    fn reconcile_jtr_v1(&self, rt: &ResourceType, raw: &Value, v2: &Value) {
        let (ns, name) = names(raw);
        let Some((_, cluster, cluster_uid, up)) = self.jtr_cluster(Generation::V1, raw, v2) else {
            return self.jtr_failed(rt, Generation::V1, raw, "Failed getting cluster");
        };
        if let Some(patch) = replace_labels(raw, &cluster_uid) {
            self.jtr_patch(
                rt,
                &ns,
                &name,
                json!({"metadata": {"labels": patch}}),
                false,
            );
        }
        if raw["metadata"].get("deletionTimestamp").is_some() {
            if has_finalizer(raw) {
                self.jtr_invalidate(raw, Some(&cluster_uid));
                let f = finalizers_with(raw, false);
                self.jtr_patch(
                    rt,
                    &ns,
                    &name,
                    json!({"metadata": {"finalizers": f}}),
                    false,
                );
            }
            return;
        }
        // controllerutil.AddFinalizer happens in memory only: never stored.
        if raw["status"]["tokenID"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
        {
            return;
        }
        if !up {
            return self.jtr_failed(rt, Generation::V1, raw, "Failed getting token");
        }
        let labels = json!({ LABEL_CLUSTER_UID: cluster_uid });
        self.jtr_issue(rt, Generation::V1, raw, v2, &cluster, &cluster_uid, &labels);
    }

    /// v2.x: finalizer first, deletion branch, then the token.
    fn reconcile_jtr_v2(&self, rt: &ResourceType, raw: &Value, v2: &Value) {
        let (ns, name) = names(raw);
        let deleting = raw["metadata"].get("deletionTimestamp").is_some();
        if !has_finalizer(raw) && !deleting {
            let f = finalizers_with(raw, true);
            return self.jtr_patch(
                rt,
                &ns,
                &name,
                json!({"metadata": {"finalizers": f}}),
                false,
            );
        }
        if deleting {
            if has_finalizer(raw) {
                let cluster = self.jtr_cluster(Generation::V2, raw, v2).map(|c| c.2);
                // Without a control plane pod there is nothing to invalidate in.
                if cluster.is_some() {
                    self.jtr_invalidate(raw, cluster.as_deref());
                }
                let f = finalizers_with(raw, false);
                self.jtr_patch(
                    rt,
                    &ns,
                    &name,
                    json!({"metadata": {"finalizers": f}}),
                    false,
                );
            }
            return;
        }
        if v2["status"]["tokenID"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
        {
            return;
        }
        let Some((_, cluster, cluster_uid, up)) = self.jtr_cluster(Generation::V2, raw, v2) else {
            return self.jtr_failed(rt, Generation::V2, raw, "Failed to get k0smotron cluster");
        };
        if !up {
            return self.jtr_failed(rt, Generation::V2, raw, "Failed getting token");
        }
        let mut labels = raw["metadata"]["labels"].clone();
        if raw["metadata"]["annotations"][ANNOTATION_REF_NAMESPACE].is_string() {
            labels = json!({ LABEL_CLUSTER_UID: cluster_uid });
            if let Some(patch) = replace_labels(raw, &cluster_uid) {
                self.jtr_patch(
                    rt,
                    &ns,
                    &name,
                    json!({"metadata": {"labels": patch}}),
                    false,
                );
            }
        }
        self.jtr_issue(rt, Generation::V2, raw, v2, &cluster, &cluster_uid, &labels);
    }

    /// `k0s token create`, the token Secret, the status.
    #[allow(clippy::too_many_arguments)]
    fn jtr_issue(
        &self,
        rt: &ResourceType,
        gen: Generation,
        raw: &Value,
        v2: &Value,
        cluster: &str,
        cluster_uid: &str,
        labels: &Value,
    ) {
        let (ns, name) = names(raw);
        let Some(hosted) = self
            .hosted
            .lock()
            .expect("hosted")
            .get(cluster_uid)
            .cloned()
        else {
            return self.jtr_failed(rt, gen, raw, "Failed getting token");
        };
        let server = {
            let store = self.mgmt.store.lock().expect("store");
            let addr = store
                .find_kind("k0smotron.io", "Cluster")
                .and_then(|crt| {
                    let c = store.get(&crt, &ns, cluster).ok()?;
                    let c = convert::k0smotron(&crt, &crt.versions[0], "v1beta2", c);
                    c["spec"]["externalAddress"].as_str().map(String::from)
                })
                .unwrap_or_else(|| hosted.addr.ip().to_string());
            format!("https://{addr}:{}", hosted.addr.port())
        };
        let expiry = parse_go_duration(v2["spec"]["expiry"].as_str().unwrap_or("0s"));
        let key = raw["metadata"]["uid"].as_str().unwrap_or_default();
        let (id, token) = hosted.mint_join_token(key, &server, expiry);
        let role = v2["spec"]["role"].as_str().unwrap_or("worker");
        let empty = Map::new();
        let labels = secret_labels(
            gen,
            cluster,
            cluster_uid,
            role,
            &name,
            labels.as_object().unwrap_or(&empty),
        );
        let api_version = format!("k0smotron.io/{}", rt.versions[0]);
        let body = materialize_string_data(
            json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": ns, "labels": labels,
                "annotations": raw["metadata"]["annotations"].clone(),
                "ownerReferences": [{"apiVersion": api_version, "kind": "JoinTokenRequest", "name": name,
                    "uid": key, "controller": true, "blockOwnerDeletion": true}]},
            "stringData": {"token": token}}),
        );
        {
            let mut store = self.mgmt.store.lock().expect("store");
            if let Some(srt) = store.find("", "v1", "secrets") {
                let _ = store.apply(&srt, &ns, &name, body, MANAGER, true);
            }
        }
        self.jtr_retries.lock().expect("retries").remove(key);
        let outcome = Outcome::Issued {
            token_id: id,
            cluster_uid: cluster_uid.to_string(),
        };
        self.jtr_status(rt, gen, raw, outcome);
    }
}

enum Outcome {
    Issued {
        token_id: String,
        cluster_uid: String,
    },
    Failed(String),
}

fn names(j: &Value) -> (String, String) {
    let s = |k: &str| j["metadata"][k].as_str().unwrap_or_default().to_string();
    (s("namespace"), s("name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_secret_labels_per_generation() {
        let mine = json!({"k0stack.io/worker-pool": "p"});
        let v2 = secret_labels(
            Generation::V2,
            "dev",
            "u1",
            "worker",
            "r",
            mine.as_object().unwrap(),
        );
        assert_eq!(
            v2["k0smotron.io/cluster"], "dev",
            "the plain Cluster name, no namespace"
        );
        assert_eq!(
            v2["k0stack.io/worker-pool"], "p",
            "the request's labels are copied"
        );
        assert!(v2.get(LABEL_CLUSTER_UID).is_none());
        let only_uid = json!({ LABEL_CLUSTER_UID: "u1" });
        let v1 = secret_labels(
            Generation::V1,
            "dev",
            "u1",
            "worker",
            "r",
            only_uid.as_object().unwrap(),
        );
        assert_eq!(v1[LABEL_CLUSTER_UID], "u1");
        assert_eq!(v1["app.kubernetes.io/component"], "jointoken");
        assert_eq!(v1["k0smotron.io/token-request"], "r");
    }

    #[test]
    fn labels_are_replaced_not_merged() {
        let j = json!({"metadata": {"labels": {"k0stack.io/worker-pool": "p", "x": "y"}}});
        let p = replace_labels(&j, "u1").unwrap();
        assert_eq!(
            p,
            json!({"k0stack.io/worker-pool": null, "x": null, LABEL_CLUSTER_UID: "u1"})
        );
        let done = json!({"metadata": {"labels": {LABEL_CLUSTER_UID: "u1"}}});
        assert_eq!(replace_labels(&done, "u1"), None);
    }

    #[test]
    fn backoff_is_controller_runtimes() {
        assert_eq!(Retry::delay(0), Duration::from_millis(5));
        assert_eq!(Retry::delay(3), Duration::from_millis(40));
        assert_eq!(Retry::delay(30), Duration::from_secs(1000));
    }
}

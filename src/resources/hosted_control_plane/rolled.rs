//! When a control plane serves its current spec on every replica: the wait of create and
//! update, and what a worker pool waits for before it rolls its kubelets.
//!
//! # Why the Cluster's own status is not enough
//!
//! - k0smotron 2.x's `Available` summarises only `ControlPlaneFunctional`,
//!   `KubeconfigSecretAvailable` and `ControlPlaneExposed` (k0smotron
//!   `internal/controller/k0smotron.io/k0smotroncluster_status.go`, v2.0.0–v2.1.0): it stays
//!   True during a roll. `ControlPlaneUpToDate` says the roll, but it is computed from the
//!   StatefulSet's status as last written by the StatefulSet controller, which still counts
//!   the old pods as updated until it observed the new template.
//! - k0smotron 1.x's `status.ready` turns true once one replica is ready and is never reset
//!   (`k0smotroncluster_statefulset.go`, v1.10.9); there are no conditions and no
//!   observed generation.
//!
//! So both read the control plane StatefulSet `kmc-<name>` as well: observed at its
//! generation, every replica updated and ready, one revision, the image of the version.
//! Without access to it (RBAC), 2.x falls back to its conditions and 1.x to `ready`.
//! With `ClusterIP` and no external address, 2.x never reports `ControlPlaneExposed`, so
//! `Available` never turns True: then its two other parts are what is waited for.

use serde_json::Value;

use super::object::Api;

/// The control plane StatefulSet of the Cluster `name`.
pub fn statefulset_name(name: &str) -> String {
    format!("kmc-{name}")
}

/// Whether the roll is done, and one line saying where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub done: bool,
    pub summary: String,
}

impl Verdict {
    fn pending(summary: String) -> Self {
        Self {
            done: false,
            summary,
        }
    }
}

fn condition<'a>(cluster: &'a Value, kind: &str) -> Option<&'a Value> {
    cluster["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

/// `Type=Status: reason: message` (message lines joined).
fn describe(c: &Value) -> String {
    let mut line = format!(
        "{}={}",
        c["type"].as_str().unwrap_or("?"),
        c["status"].as_str().unwrap_or("Unknown")
    );
    if c["status"] != "True" {
        for k in ["reason", "message"] {
            if let Some(v) = c[k].as_str().filter(|v| !v.is_empty()) {
                line.push_str(": ");
                line.push_str(&v.split_whitespace().collect::<Vec<_>>().join(" "));
            }
        }
    }
    line
}

/// The reconcile step k0smotron reports as failed, if any.
fn failed_step(cluster: &Value, api: Api) -> Option<String> {
    let s = match api {
        Api::V1beta2 => &cluster["status"]["deprecated"]["v1beta1"]["reconciliationStatus"],
        Api::V1beta1 => &cluster["status"]["reconciliationStatus"],
    };
    s.as_str()
        .filter(|s| !s.is_empty() && *s != "Reconciliation successful")
        .map(String::from)
}

/// The Cluster's side (see the module doc).
fn cluster_side(cluster: &Value, api: Api) -> Verdict {
    let failed = failed_step(cluster, api);
    let with_failure = |s: String| match &failed {
        Some(f) => format!("{s} (k0smotron: {f})"),
        None => s,
    };
    if api == Api::V1beta1 {
        let ready = cluster["status"]["ready"].as_bool().unwrap_or(false);
        let line = with_failure(format!("ready={ready}"));
        return Verdict {
            done: ready,
            summary: line,
        };
    }
    let generation = cluster["metadata"]["generation"].as_i64().unwrap_or(0);
    let spec = &cluster["spec"];
    let unexposed = spec["service"]["type"].as_str().unwrap_or("ClusterIP") == "ClusterIP"
        && spec["externalAddress"].as_str().is_none_or(str::is_empty);
    let needed: &[&str] = match unexposed {
        false => &["Available", "ControlPlaneUpToDate"],
        true => &[
            "ControlPlaneFunctional",
            "KubeconfigSecretAvailable",
            "ControlPlaneUpToDate",
        ],
    };
    let mut lines = Vec::new();
    for kind in needed {
        match condition(cluster, kind) {
            None => lines.push(format!(
                "no {kind} condition yet (k0smotron has not reconciled the Cluster)"
            )),
            Some(c) => {
                let observed = c["observedGeneration"].as_i64().unwrap_or(generation);
                if observed < generation {
                    lines.push(format!("{kind}: generation {generation} not yet observed by k0smotron (at {observed})"));
                } else if c["status"] != "True" {
                    lines.push(describe(c));
                }
            }
        }
    }
    let ready = cluster["status"]["readyReplicas"].as_i64();
    let desired = spec["replicas"].as_i64().unwrap_or(1);
    if ready.is_some_and(|r| r != desired) {
        lines.push(format!(
            "{}/{desired} control plane replicas ready",
            ready.unwrap_or(0)
        ));
    }
    match lines.is_empty() {
        true => Verdict {
            done: true,
            summary: "Available=True".into(),
        },
        false => Verdict::pending(with_failure(lines.join("; "))),
    }
}

/// k0smotron's image tag for a version (`-k0s.`; `GetImage`, `api/k0smotron.io/v1beta2/k0smotroncluster_types.go`).
fn image_tag(version: &str) -> String {
    let mut tag = version.replacen("+k0s.", "-k0s.", 1);
    if !tag.contains("-k0s.") {
        tag.push_str("-k0s.0");
    }
    tag
}

/// The StatefulSet's side: rolled to the current template, at the version.
fn statefulset_side(cluster: &Value, sts: &Value) -> Option<String> {
    let desired = cluster["spec"]["replicas"].as_i64().unwrap_or(1);
    let st = &sts["status"];
    let n = |k: &str| st[k].as_i64().unwrap_or(0);
    let generation = sts["metadata"]["generation"].as_i64().unwrap_or(0);
    let name = sts["metadata"]["name"].as_str().unwrap_or("?");
    if n("observedGeneration") < generation {
        return Some(format!(
            "StatefulSet {name}: generation {generation} not yet observed"
        ));
    }
    if let Some(version) = cluster["spec"]["version"].as_str() {
        let image = sts["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap_or_default();
        if !image.ends_with(&format!(":{}", image_tag(version))) {
            return Some(format!(
                "StatefulSet {name}: k0smotron has not rolled it to {version} yet (image {image})"
            ));
        }
    }
    let revisions_agree = st["currentRevision"] == st["updateRevision"];
    let counts = [n("replicas"), n("updatedReplicas"), n("readyReplicas")];
    if counts.iter().all(|c| *c == desired) && revisions_agree {
        return None;
    }
    Some(format!(
        "StatefulSet {name}: {}/{desired} replicas updated, {} ready",
        counts[1], counts[2]
    ))
}

/// The Cluster's control plane StatefulSet, None when it does not exist or this identity
/// may not read it (the verdict then rests on the Cluster alone).
pub async fn read_statefulset(
    kube: &kube::Client,
    ns: &str,
    name: &str,
) -> Result<Option<Value>, crate::resources::kube_io::KubeError> {
    use crate::resources::kube_io::{self, KubeError};
    let ar = kube_io::statefulset_resource();
    match kube_io::get(kube, &ar, Some(ns), &statefulset_name(name)).await {
        Ok(s) => Ok(s),
        Err(KubeError::Object {
            code: Some(403), ..
        }) => {
            tracing::debug!(cluster = %format!("{ns}/{name}"), "may not read the control plane StatefulSet: judging the roll from the Cluster's status alone");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The verdict on the Cluster and, when it could be read, its StatefulSet.
pub fn judge(cluster: &Value, sts: Option<&Value>, api: Api) -> Verdict {
    let mut v = cluster_side(cluster, api);
    if let Some(pending) = sts.and_then(|s| statefulset_side(cluster, s)) {
        v = Verdict::pending(match v.done {
            true => pending,
            false => format!("{}; {pending}", v.summary),
        });
    }
    v
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cluster(conditions: Value) -> Value {
        json!({"metadata": {"generation": 3}, "spec": {"replicas": 2, "version": "v1.33.2+k0s.0",
            "service": {"type": "NodePort"}, "externalAddress": "10.0.0.1"},
            "status": {"readyReplicas": 2, "conditions": conditions}})
    }

    fn sts(generation: i64, observed: i64, image: &str, updated: i64, ready: i64) -> Value {
        json!({"metadata": {"name": "kmc-a", "generation": generation},
            "spec": {"template": {"spec": {"containers": [{"image": image}]}}},
            "status": {"observedGeneration": observed, "replicas": 2, "updatedReplicas": updated,
                "readyReplicas": ready, "currentRevision": "r1", "updateRevision": if updated == 2 { "r1" } else { "r2" }}})
    }

    const NEW: &str = "quay.io/k0sproject/k0s:v1.33.2-k0s.0";

    #[test]
    fn available_alone_is_not_a_finished_roll() {
        let rolling = cluster(json!([
            {"type": "Available", "status": "True", "observedGeneration": 3},
            {"type": "ControlPlaneUpToDate", "status": "False", "observedGeneration": 3, "reason": "NotAllReplicasUpToDate", "message": "Control plane is updating: 1/2 replicas with desired template"}]));
        let v = judge(&rolling, None, Api::V1beta2);
        assert!(!v.done);
        assert!(
            v.summary.contains("1/2 replicas with desired template"),
            "{}",
            v.summary
        );
        let done = cluster(json!([
            {"type": "Available", "status": "True", "observedGeneration": 3},
            {"type": "ControlPlaneUpToDate", "status": "True", "observedGeneration": 3}]));
        assert!(judge(&done, None, Api::V1beta2).done);
        // An older generation's verdict says nothing about this one.
        let stale = cluster(json!([
            {"type": "Available", "status": "True", "observedGeneration": 2},
            {"type": "ControlPlaneUpToDate", "status": "True", "observedGeneration": 2}]));
        assert!(!judge(&stale, None, Api::V1beta2).done);
    }

    #[test]
    fn the_statefulset_decides_when_the_conditions_were_computed_from_a_stale_status() {
        let done = cluster(json!([
            {"type": "Available", "status": "True", "observedGeneration": 3},
            {"type": "ControlPlaneUpToDate", "status": "True", "observedGeneration": 3}]));
        for (s, why) in [
            (sts(5, 4, NEW, 2, 2), "generation 5 not yet observed"),
            (
                sts(5, 5, "quay.io/k0sproject/k0s:v1.32.6-k0s.0", 2, 2),
                "not rolled it to v1.33.2+k0s.0",
            ),
            (sts(5, 5, NEW, 1, 2), "1/2 replicas updated"),
        ] {
            let v = judge(&done, Some(&s), Api::V1beta2);
            assert!(!v.done && v.summary.contains(why), "{}", v.summary);
        }
        assert!(judge(&done, Some(&sts(5, 5, NEW, 2, 2)), Api::V1beta2).done);
    }

    #[test]
    fn k0smotron_1_ready_is_sticky_so_the_statefulset_decides() {
        let c = json!({"metadata": {"generation": 3}, "spec": {"replicas": 2, "version": "v1.33.2+k0s.0"},
            "status": {"ready": true, "reconciliationStatus": "Reconciliation successful"}});
        assert!(!judge(&c, Some(&sts(5, 5, NEW, 1, 1)), Api::V1beta1).done);
        assert!(judge(&c, Some(&sts(5, 5, NEW, 2, 2)), Api::V1beta1).done);
    }

    #[test]
    fn cluster_ip_without_an_address_waits_for_what_k0smotron_can_report() {
        let c = json!({"metadata": {"generation": 1}, "spec": {"replicas": 1, "service": {"type": "ClusterIP"}},
            "status": {"readyReplicas": 1, "conditions": [
                {"type": "Available", "status": "False", "observedGeneration": 1},
                {"type": "ControlPlaneExposed", "status": "False", "observedGeneration": 1},
                {"type": "ControlPlaneFunctional", "status": "True", "observedGeneration": 1},
                {"type": "KubeconfigSecretAvailable", "status": "True", "observedGeneration": 1},
                {"type": "ControlPlaneUpToDate", "status": "True", "observedGeneration": 1}]}});
        assert!(judge(&c, None, Api::V1beta2).done);
    }

    #[test]
    fn a_failed_reconcile_step_is_named() {
        let c = json!({"metadata": {"generation": 1}, "spec": {"replicas": 1, "service": {"type": "NodePort"}},
            "status": {"conditions": [], "deprecated": {"v1beta1": {"reconciliationStatus": "Failed reconciling configmap, unsupported k0s config version: "}}}});
        let v = judge(&c, None, Api::V1beta2);
        assert!(!v.done);
        assert!(
            v.summary.contains("unsupported k0s config version"),
            "{}",
            v.summary
        );
    }
}

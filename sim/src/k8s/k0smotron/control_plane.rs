//! k0smotron's control plane objects for one `Cluster`: the StatefulSet `kmc-<name>` (spec
//! from the Cluster, rolled by [`rollout::Rollout`]), the endpoint ConfigMap it adds to
//! `spec.manifests`, and the status it writes from them ([`status`]).

use std::time::Instant;

use serde_json::{json, Value};

use super::super::rollout;
use super::super::store::ResourceType;
use super::status;
use super::{Knobs, Operator, MANAGER};

/// What k0smotron puts into the pod template, hashed into `k0smotron.io/statefulset-hash`
/// (`generateStatefulSet`, `internal/controller/k0smotron.io/k0smotroncluster_statefulset.go`,
/// v1.10.9 through v2.1.0): the image (version), resources, flags, manifests and mounts as
/// volumes, persistence, storage, the container ports from the service, and **the Cluster's
/// annotations** (the template's `metadata.annotations` are `kmc.Annotations`). The k0s
/// config is not in it: it reaches the pods through a ConfigMap (`envFrom`) and the
/// dynamic config, so a change of `k0sConfig` alone rolls nothing.
pub fn template_of(cluster: &Value, version: &str) -> String {
    let spec = &cluster["spec"];
    let mut annotations = cluster["metadata"]["annotations"].clone();
    if let Some(a) = annotations.as_object_mut() {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
    let keys = [
        "image",
        "resources",
        "controlPlaneFlags",
        "controllerPlaneFlags",
        "manifests",
        "mounts",
        "persistence",
        "storage",
        "etcd",
        "patches",
        "monitoring",
    ];
    let picked: serde_json::Map<String, Value> = keys
        .iter()
        .filter_map(|k| spec.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect();
    json!({"version": version, "spec": picked, "annotations": annotations,
        "ports": [spec["service"]["apiPort"], spec["service"]["konnectivityPort"]]})
    .to_string()
}

/// The StatefulSet's selector: k0smotron's labels plus every label of the Cluster
/// (`util.LabelsForK0smotronControlPlane`, `internal/controller/util/util.go`, main) —
/// immutable once the StatefulSet exists.
fn selector_of(cluster: &Value, name: &str) -> Value {
    let mut labels =
        json!({"app": "k0smotron", "cluster": name, "cluster.x-k8s.io/control-plane": "true"});
    if let Some(own) = cluster["metadata"]["labels"].as_object() {
        for (k, v) in own {
            labels[k] = v.clone();
        }
    }
    labels
}

/// `quay.io/k0sproject/k0s:<version>` with k0smotron's image-tag spelling (`-k0s.`).
fn image_of(spec: &Value, version: &str) -> String {
    let repo = spec["image"].as_str().unwrap_or("quay.io/k0sproject/k0s");
    let mut tag = version.replacen("+k0s.", "-k0s.", 1);
    if !tag.contains("-k0s.") {
        tag.push_str("-k0s.0");
    }
    format!("{repo}:{tag}")
}

impl Operator {
    /// The StatefulSet's status as last written (None: not created yet).
    pub(super) fn rollout_status(&self, uid: &str) -> Option<rollout::Status> {
        self.rollouts
            .lock()
            .expect("rollouts")
            .get(uid)
            .filter(|r| r.generation > 0)
            .map(|r| r.status())
    }

    /// Writes the StatefulSet spec when it changed; returns the status k0smotron reads.
    /// A changed selector is refused as the apiserver refuses it.
    pub(super) fn reconcile_statefulset(
        &self,
        uid: &str,
        cluster: &Value,
        version: &str,
    ) -> Result<rollout::Status, String> {
        let ns = cluster["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default();
        let name = cluster["metadata"]["name"].as_str().unwrap_or_default();
        let spec = &cluster["spec"];
        let replicas = spec["replicas"].as_i64().unwrap_or(1);
        let selector = selector_of(cluster, name);
        let sts_name = format!("kmc-{name}");
        let mut store = self.mgmt.store.lock().expect("store");
        let rt = store
            .find("apps", "v1", "statefulsets")
            .ok_or("no StatefulSet API")?;
        if let Ok(live) = store.get(&rt, ns, &sts_name) {
            if live["spec"]["selector"]["matchLabels"] != selector {
                return Err(format!("StatefulSet.apps \"{sts_name}\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"));
            }
        }
        let template = template_of(cluster, version);
        let mut rollouts = self.rollouts.lock().expect("rollouts");
        let r = rollouts.entry(uid.to_string()).or_default();
        let before = r.status();
        if r.set_spec(&template, replicas) {
            let hash = format!("{:x}", fnv(&template));
            let body = json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
                "metadata": {"name": sts_name, "namespace": ns,
                    "labels": selector, "annotations": {"k0smotron.io/statefulset-hash": hash}},
                "spec": {"replicas": replicas, "serviceName": sts_name,
                    "selector": {"matchLabels": selector},
                    "updateStrategy": {"type": "RollingUpdate"},
                    "template": {"metadata": {"labels": selector, "annotations": cluster["metadata"]["annotations"].clone()},
                        "spec": {"containers": [{"name": "controller", "image": image_of(spec, version)}]}}}});
            let stored = store
                .apply(&rt, ns, &sts_name, body, MANAGER, true)
                .map_err(|e| e.message)?;
            r.generation = stored["metadata"]["generation"]
                .as_i64()
                .unwrap_or(r.generation);
        }
        Ok(before)
    }

    /// One pass of the StatefulSet controller; its status written to the object.
    pub(super) fn step_statefulset(&self, uid: &str, ns: &str, name: &str, knobs: &Knobs) {
        let status = {
            let mut rollouts = self.rollouts.lock().expect("rollouts");
            let Some(r) = rollouts.get_mut(uid) else {
                return;
            };
            let before = r.status();
            r.step(Instant::now(), knobs.ready_delay, !knobs.never_ready);
            let after = r.status();
            if before == after {
                return;
            }
            after
        };
        let patch = json!({"status": {
            "observedGeneration": status.observed_generation, "replicas": status.replicas,
            "readyReplicas": status.ready_replicas, "updatedReplicas": status.updated_replicas,
            "currentReplicas": status.current_replicas,
            "currentRevision": format!("kmc-{name}-{}", status.current_revision),
            "updateRevision": format!("kmc-{name}-{}", status.update_revision)}});
        let mut store = self.mgmt.store.lock().expect("store");
        if let Some(rt) = store.find("apps", "v1", "statefulsets") {
            let _ = store.patch_merge(&rt, ns, &format!("kmc-{name}"), &patch, MANAGER, true);
        }
    }

    /// The endpoint ConfigMap `kmc-<name>-endpoint` and, when `spec.manifests` lacks its
    /// entry, the list with it appended (k0smotron `reconcileEndpointConfigMap`,
    /// `internal/controller/k0smotron.io/k0smotroncluster_service.go`, v1.10.9 through v2.1.0).
    pub(super) fn reconcile_endpoint(
        &self,
        ns: &str,
        name: &str,
        spec: &Value,
        api_port: u16,
    ) -> Option<Value> {
        let cm = format!("kmc-{name}-endpoint");
        let address = spec["externalAddress"].as_str().unwrap_or_default();
        let manifest = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: control-plane-endpoint\n  namespace: kube-system\ndata:\n  apiServerHost: {address:?}\n  apiServerPort: \"{api_port}\"\n");
        {
            let mut store = self.mgmt.store.lock().expect("store");
            let rt = store.find("", "v1", "configmaps")?;
            let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": cm, "namespace": ns, "labels": {"app": "k0smotron", "cluster": name}},
                "data": {"endpoint.yaml": manifest}});
            let unchanged = store
                .get(&rt, ns, &cm)
                .is_ok_and(|l| l["data"] == body["data"]);
            if !unchanged {
                let _ = store.apply(&rt, ns, &cm, body, MANAGER, true);
            }
        }
        let mut list = spec["manifests"].as_array().cloned().unwrap_or_default();
        if list.iter().any(|m| m["name"] == cm.as_str()) {
            return None;
        }
        list.push(json!({"name": cm, "configMap": {"name": cm}}));
        Some(Value::Array(list))
    }

    /// Writes the Cluster status k0smotron computes (the shape of the served generation).
    pub(super) fn write_status(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        uid: &str,
        i: &status::Inputs,
    ) {
        let one_x = rt.versions.iter().all(|v| v == "v1beta1");
        let mut store = self.mgmt.store.lock().expect("store");
        let Ok(current) = store.get(rt, ns, name) else {
            return;
        };
        let status = if one_x {
            let was_ready = self
                .seen
                .lock()
                .expect("seen")
                .get(uid)
                .is_some_and(|s| s.was_ready);
            status::v1beta1(i, was_ready, name)
        } else {
            let v2 = status::v1beta2(i);
            super::super::convert::k0smotron(rt, "v1beta2", &rt.versions[0], json!({"status": v2}))
                ["status"]
                .clone()
        };
        if same_status(&current["status"], &status) {
            return;
        }
        // The whole status is k0smotron's: replace it (a merge would keep stale conditions).
        let mut obj = current.clone();
        obj["status"] = status;
        let _ = store.update(rt, ns, name, obj, MANAGER, true);
    }

    /// Deletes the StatefulSet and the endpoint ConfigMap with the Cluster (owner
    /// references: the garbage collector).
    pub(super) fn delete_control_plane(&self, uid: &str, ns: &str, name: &str) {
        self.rollouts.lock().expect("rollouts").remove(uid);
        let mut store = self.mgmt.store.lock().expect("store");
        if let Some(rt) = store.find("apps", "v1", "statefulsets") {
            let _ = store.delete(&rt, ns, &format!("kmc-{name}"));
        }
        if let Some(rt) = store.find("", "v1", "configmaps") {
            let _ = store.delete(&rt, ns, &format!("kmc-{name}-endpoint"));
        }
    }
}

/// Equal but for the conditions' transition times.
fn same_status(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(cs) = v["conditions"].as_array_mut() {
            for c in cs {
                if let Some(o) = c.as_object_mut() {
                    o.remove("lastTransitionTime");
                }
            }
        }
        v
    };
    strip(a) == strip(b)
}

/// FNV-1a, for a stable short hash of the template.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_are_in_the_template_and_k0s_config_is_not() {
        let c = json!({"metadata": {"annotations": {"a": "1"}}, "spec": {"k0sConfig": {"x": 1}, "service": {"apiPort": 30443}}});
        let mut other = c.clone();
        other["metadata"]["annotations"]["a"] = json!("2");
        assert_ne!(template_of(&c, "v1"), template_of(&other, "v1"));
        let mut config = c.clone();
        config["spec"]["k0sConfig"]["x"] = json!(2);
        assert_eq!(template_of(&c, "v1"), template_of(&config, "v1"));
        assert_ne!(template_of(&c, "v1"), template_of(&c, "v2"));
        assert_eq!(
            image_of(&json!({}), "v1.32.6+k0s.0"),
            "quay.io/k0sproject/k0s:v1.32.6-k0s.0"
        );
    }
}

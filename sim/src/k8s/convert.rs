//! Conversion between k0smotron.io v1beta1 and v1beta2 for one stored object, as
//! k0smotron's conversion webhook does it (only the fields that moved).

use serde_json::{json, Map, Value};

use super::store::ResourceType;

/// `V1Beta1ClusterRefNamespaceAnnotation` (k0smotron v2 `api/k0smotron.io/v1beta2/jointokenrequest_types.go`).
const REF_NAMESPACE: &str = "k0smotron.io/cluster-ref-namespace";

fn take(m: &mut Map<String, Value>, k: &str) -> Option<Value> {
    m.remove(k).filter(|v| !v.is_null())
}

/// `Converter` for the k0smotron group (identity for every other type).
pub fn k0smotron(rt: &ResourceType, from: &str, to: &str, mut body: Value) -> Value {
    if rt.group != "k0smotron.io" || from == to {
        return body;
    }
    if body.get("apiVersion").is_some() {
        body["apiVersion"] = json!(format!("k0smotron.io/{to}"));
    }
    match (rt.plural.as_str(), from, to) {
        ("clusters", "v1beta1", "v1beta2") => cluster_up(body),
        ("clusters", "v1beta2", "v1beta1") => cluster_down(body),
        // k0smotron v2 `api/k0smotron.io/v1beta1/jointokenrequest_conversion.go`: a non-empty
        // `clusterRef.namespace` goes into an annotation (and comes back from it).
        ("jointokenrequests", "v1beta1", "v1beta2") => {
            let mut ref_ns = None;
            if let Some(spec) = body.get_mut("spec").and_then(Value::as_object_mut) {
                if let Some(r) = take(spec, "clusterRef") {
                    spec.insert("clusterName".into(), r["name"].clone());
                    ref_ns = r["namespace"]
                        .as_str()
                        .filter(|n| !n.is_empty())
                        .map(String::from);
                }
            }
            if let Some(ns) = ref_ns {
                body["metadata"]["annotations"][REF_NAMESPACE] = json!(ns);
            }
            body
        }
        ("jointokenrequests", "v1beta2", "v1beta1") => {
            let ns = body["metadata"]["annotations"][REF_NAMESPACE]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if let Some(spec) = body.get_mut("spec").and_then(Value::as_object_mut) {
                if let Some(n) = take(spec, "clusterName") {
                    spec.insert("clusterRef".into(), json!({"name": n, "namespace": ns}));
                }
            }
            body
        }
        _ => body,
    }
}

fn cluster_up(mut body: Value) -> Value {
    if let Some(spec) = body.get_mut("spec").and_then(Value::as_object_mut) {
        if let Some(f) = take(spec, "controllerPlaneFlags") {
            spec.insert("controlPlaneFlags".into(), f);
        }
        let url = take(spec, "kineDataSourceURL");
        let secret = take(spec, "kineDataSourceSecretName");
        let etcd = take(spec, "etcd");
        if url.is_some() || secret.is_some() {
            let mut kine = Map::new();
            if let Some(u) = url {
                kine.insert("dataSourceURL".into(), u);
            }
            if let Some(s) = secret {
                kine.insert("dataSourceSecretName".into(), s);
            }
            spec.insert("storage".into(), json!({"type": "kine", "kine": kine}));
        } else if let Some(e) = etcd {
            spec.insert("storage".into(), json!({"type": "etcd", "etcd": e}));
        }
    }
    if let Some(status) = body.get_mut("status").and_then(Value::as_object_mut) {
        let ready = take(status, "ready");
        let rec = take(status, "reconciliationStatus");
        if ready.is_some() || rec.is_some() {
            let ok = ready.as_ref().and_then(Value::as_bool).unwrap_or(false);
            status.insert(
                "deprecated".into(),
                json!({"v1beta1": {"ready": ok, "reconciliationStatus": rec}}),
            );
            status.entry("conditions").or_insert_with(|| json!([{"type": "Available", "status": if ok { "True" } else { "False" }, "reason": if ok { "Available" } else { "NotReady" }}]));
        }
    }
    body
}

fn cluster_down(mut body: Value) -> Value {
    if let Some(spec) = body.get_mut("spec").and_then(Value::as_object_mut) {
        if let Some(f) = take(spec, "controlPlaneFlags") {
            spec.insert("controllerPlaneFlags".into(), f);
        }
        if let Some(storage) = take(spec, "storage") {
            match storage["type"].as_str() {
                Some("kine") => {
                    if let Some(u) = storage["kine"]["dataSourceURL"].as_str() {
                        spec.insert("kineDataSourceURL".into(), json!(u));
                    }
                    if let Some(s) = storage["kine"]["dataSourceSecretName"].as_str() {
                        spec.insert("kineDataSourceSecretName".into(), json!(s));
                    }
                }
                _ => {
                    if !storage["etcd"].is_null() {
                        spec.insert("etcd".into(), storage["etcd"].clone());
                    }
                }
            }
        }
        spec.remove("patches");
    }
    if let Some(status) = body.get_mut("status").and_then(Value::as_object_mut) {
        let available = status
            .get("conditions")
            .and_then(Value::as_array)
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Available").cloned());
        let deprecated = take(status, "deprecated");
        status.remove("conditions");
        // k0smotron 2.x keeps the v1beta1 meaning in `deprecated.v1beta1.ready`
        // (readyReplicas == spec.replicas); `Available` only without it.
        let ready = deprecated
            .as_ref()
            .and_then(|d| d["v1beta1"]["ready"].as_bool())
            .unwrap_or_else(|| {
                available
                    .as_ref()
                    .map(|c| c["status"] == "True")
                    .unwrap_or(false)
            });
        status.insert("ready".into(), json!(ready));
        let rec = deprecated
            .as_ref()
            .and_then(|d| {
                d["v1beta1"]["reconciliationStatus"]
                    .as_str()
                    .map(String::from)
            })
            .or_else(|| {
                available
                    .as_ref()
                    .and_then(|c| c["message"].as_str().map(String::from))
            })
            .unwrap_or_else(|| {
                if ready {
                    "Reconciliation successful".into()
                } else {
                    "Reconciling".into()
                }
            });
        status.insert("reconciliationStatus".into(), json!(rec));
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(plural: &str) -> ResourceType {
        ResourceType::new(
            "k0smotron.io",
            &["v1beta2", "v1beta1"],
            "Cluster",
            plural,
            true,
        )
    }

    #[test]
    fn cluster_round_trip() {
        let v1 = json!({"apiVersion": "k0smotron.io/v1beta1", "spec": {"kineDataSourceSecretName": "s", "controllerPlaneFlags": ["--x"]}, "status": {"ready": true}});
        let v2 = k0smotron(&rt("clusters"), "v1beta1", "v1beta2", v1);
        assert_eq!(
            v2["spec"]["storage"],
            json!({"type": "kine", "kine": {"dataSourceSecretName": "s"}})
        );
        assert_eq!(v2["spec"]["controlPlaneFlags"][0], "--x");
        assert_eq!(v2["status"]["conditions"][0]["status"], "True");
        let back = k0smotron(&rt("clusters"), "v1beta2", "v1beta1", v2);
        assert_eq!(back["spec"]["kineDataSourceSecretName"], "s");
        assert_eq!(back["spec"]["controllerPlaneFlags"][0], "--x");
        assert_eq!(back["status"]["ready"], true);
        assert_eq!(back["apiVersion"], "k0smotron.io/v1beta1");
    }

    #[test]
    fn jtr_cluster_reference() {
        let v1 = json!({"metadata": {"namespace": "kmc"}, "spec": {"clusterRef": {"name": "dev", "namespace": "kmc"}, "expiry": "1h"}});
        let v2 = k0smotron(&rt("jointokenrequests"), "v1beta1", "v1beta2", v1);
        assert_eq!(v2["spec"], json!({"clusterName": "dev", "expiry": "1h"}));
        assert_eq!(v2["metadata"]["annotations"][REF_NAMESPACE], "kmc");
        let back = k0smotron(&rt("jointokenrequests"), "v1beta2", "v1beta1", v2);
        assert_eq!(
            back["spec"]["clusterRef"],
            json!({"name": "dev", "namespace": "kmc"})
        );
        // Written as v1beta2: no annotation, so v1beta1 readers see no namespace.
        let native = json!({"metadata": {"namespace": "kmc"}, "spec": {"clusterName": "dev"}});
        let down = k0smotron(&rt("jointokenrequests"), "v1beta2", "v1beta1", native);
        assert_eq!(
            down["spec"]["clusterRef"],
            json!({"name": "dev", "namespace": ""})
        );
    }
}

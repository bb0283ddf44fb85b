//! The k0smotron objects this resource writes (the `Cluster`, plus a Secret for the kine
//! URL and a ConfigMap for manifests) and what it reads back from a `Cluster` for drift
//! detection and readiness. Pure JSON in, JSON out: both API versions live here, side by
//! side, so their differences are visible in one place.

use serde_json::{json, Map, Value};

use crate::framework::version::K0sVersion;

use super::model::{kine_secret_name, manifests_configmap_name, HcpSpec, Storage};

/// The k0smotron API version served by the management cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// k0smotron 1.x (still served, deprecated, by 2.x).
    V1beta1,
    /// k0smotron ≥ 2.0, storage version.
    V1beta2,
}

impl Api {
    pub fn as_str(self) -> &'static str {
        match self {
            Api::V1beta1 => "v1beta1",
            Api::V1beta2 => "v1beta2",
        }
    }

    pub fn api_version(self) -> String {
        format!("k0smotron.io/{}", self.as_str())
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim_start_matches("k0smotron.io/") {
            "v1beta1" => Some(Api::V1beta1),
            "v1beta2" => Some(Api::V1beta2),
            _ => None,
        }
    }
}

/// Labels on everything this provider creates.
pub fn managed_labels(cluster: &str) -> Value {
    json!({ "app.kubernetes.io/managed-by": "k0stack", "k0stack.io/hosted-control-plane": cluster })
}

/// The `Cluster` object for `spec` in `api`.
pub fn cluster_object(spec: &HcpSpec, api: Api) -> Value {
    let mut s = Map::new();
    s.insert("version".into(), json!(spec.version_string));
    s.insert("replicas".into(), json!(spec.replicas));
    if let Some(image) = &spec.image {
        s.insert("image".into(), json!(image));
    }
    s.insert(
        "service".into(),
        json!({ "type": spec.service_type, "apiPort": spec.api_port, "konnectivityPort": spec.konnectivity_port }),
    );
    if let Some(addr) = &spec.external_address {
        s.insert("externalAddress".into(), json!(addr));
    }
    match (&spec.storage, api) {
        (
            Some(Storage::Etcd {
                size,
                storage_class,
                auto_delete_pvcs,
            }),
            _,
        ) => {
            let mut persistence = Map::new();
            if let Some(sz) = size {
                persistence.insert("size".into(), json!(sz));
            }
            if let Some(sc) = storage_class {
                persistence.insert("storageClass".into(), json!(sc));
            }
            let etcd = json!({ "persistence": persistence, "autoDeletePVCs": auto_delete_pvcs });
            match api {
                Api::V1beta2 => {
                    s.insert("storage".into(), json!({ "type": "etcd", "etcd": etcd }));
                }
                Api::V1beta1 => {
                    s.insert("etcd".into(), etcd);
                }
            }
        }
        (Some(Storage::Kine { .. }), Api::V1beta2) => {
            s.insert("storage".into(), json!({ "type": "kine", "kine": { "dataSourceSecretName": kine_secret_name(&spec.name) } }));
        }
        (Some(Storage::Kine { .. }), Api::V1beta1) => {
            s.insert(
                "kineDataSourceSecretName".into(),
                json!(kine_secret_name(&spec.name)),
            );
        }
        (None, _) => {}
    }
    if let Some(p) = &spec.persistence {
        let mut pm = Map::new();
        pm.insert("type".into(), json!(p.kind));
        pm.insert("autoDeletePVCs".into(), json!(p.auto_delete_pvcs));
        if let Some(hp) = &p.host_path {
            pm.insert("hostPath".into(), json!(hp));
        }
        if p.kind == "pvc" {
            let mut claim_spec = json!({ "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": p.size } } });
            if let Some(sc) = &p.storage_class {
                claim_spec["storageClassName"] = json!(sc);
            }
            pm.insert(
                "persistentVolumeClaim".into(),
                json!({ "spec": claim_spec }),
            );
        }
        s.insert("persistence".into(), Value::Object(pm));
    }
    let mut k0s_config = spec.k0s_config.clone().unwrap_or_else(|| json!({}));
    if !spec.cert_sans.is_empty() {
        // k0smotron adds its own SANs (service names, external address) to these.
        let obj = k0s_config.as_object_mut().expect("validated as an object");
        let spec_obj = obj.entry("spec").or_insert_with(|| json!({}));
        if let Some(so) = spec_obj.as_object_mut() {
            let api_obj = so.entry("api").or_insert_with(|| json!({}));
            if let Some(ao) = api_obj.as_object_mut() {
                ao.insert("sans".into(), json!(spec.cert_sans));
            }
        }
    }
    if let Some(cfg) = k0s_config.as_object_mut().filter(|o| !o.is_empty()) {
        // Without these k0smotron refuses the whole config ("unsupported k0s config version").
        cfg.entry("apiVersion")
            .or_insert_with(|| json!(super::validate::K0S_CONFIG_API_VERSION));
        cfg.entry("kind")
            .or_insert_with(|| json!(super::validate::K0S_CONFIG_KIND));
        s.insert("k0sConfig".into(), k0s_config);
    }
    if !spec.control_plane_flags.is_empty() {
        let key = match api {
            Api::V1beta2 => "controlPlaneFlags",
            Api::V1beta1 => "controllerPlaneFlags", // sic, the v1beta1 spelling
        };
        s.insert(key.into(), json!(spec.control_plane_flags));
    }
    if !spec.manifests.is_empty() {
        s.insert("manifests".into(), json!([{ "name": "k0stack", "configMap": { "name": manifests_configmap_name(&spec.name) } }]));
    }
    if !spec.requests.is_empty() || !spec.limits.is_empty() {
        let mut r = Map::new();
        if !spec.requests.is_empty() {
            r.insert("requests".into(), json!(spec.requests));
        }
        if !spec.limits.is_empty() {
            r.insert("limits".into(), json!(spec.limits));
        }
        s.insert("resources".into(), Value::Object(r));
    }
    json!({
        "apiVersion": api.api_version(),
        "kind": "Cluster",
        "metadata": { "name": spec.name, "namespace": spec.namespace, "labels": managed_labels(&spec.name) },
        "spec": Value::Object(s),
    })
}

/// Makes `desired` (an apply of the live `Cluster`) carry exactly the metadata the live
/// one has, so an apply never changes it: k0smotron copies a `Cluster`'s labels into its
/// StatefulSet's selector (immutable: a changed label fails every later StatefulSet update)
/// and its annotations into the pod template (a changed annotation rolls the control plane;
/// `internal/controller/util/util.go` `LabelsForK0smotronCluster`,
/// `AnnotationsForK0smotronCluster`, v1.10.9 and v2.0.0). The managed labels go with the
/// values the live object has (an imported `Cluster` without them never gets them), and
/// of the annotations only the `allocated-ports` one earlier versions applied, with its
/// live value (left out, the apply would remove it).
pub fn keep_live_metadata(desired: &mut Value, live: &Value) {
    let live_meta = &live["metadata"];
    let name = desired["metadata"]["name"].as_str().unwrap_or_default();
    let labels: Map<String, Value> = managed_labels(name)
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| Some((k.clone(), live_meta["labels"].get(k)?.clone())))
        .collect();
    let meta = desired["metadata"].as_object_mut().expect("an object");
    meta.remove("annotations");
    match labels.is_empty() {
        true => meta.remove("labels"),
        false => meta.insert("labels".into(), Value::Object(labels)),
    };
    let allocated = super::ports::ALLOCATED_ANNOTATION;
    if let Some(v) = live_meta["annotations"].get(allocated) {
        meta.insert("annotations".into(), json!({ allocated: v }));
    }
}

/// The Secret holding the kine data source URL (k0smotron reads key
/// `K0SMOTRON_KINE_DATASOURCE_URL`), so the URL's credentials stay out of the Cluster spec.
pub fn kine_secret(spec: &HcpSpec) -> Option<Value> {
    match &spec.storage {
        Some(Storage::Kine { data_source_url }) => Some(json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": { "name": kine_secret_name(&spec.name), "namespace": spec.namespace, "labels": managed_labels(&spec.name) },
            "type": "Opaque",
            "stringData": { "K0SMOTRON_KINE_DATASOURCE_URL": data_source_url.expose() },
        })),
        _ => None,
    }
}

/// The ConfigMap with the manifests k0s applies in the hosted cluster (mounted at
/// /var/lib/k0s/manifests/k0stack/).
pub fn manifests_configmap(spec: &HcpSpec) -> Option<Value> {
    (!spec.manifests.is_empty()).then(|| {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": { "name": manifests_configmap_name(&spec.name), "namespace": spec.namespace, "labels": managed_labels(&spec.name) },
            "data": spec.manifests,
        })
    })
}

/// The `spec.manifests` entry k0smotron appends itself once the Cluster has an external
/// address: its endpoint ConfigMap `kmc-<name>-endpoint`, deployed into the hosted cluster
/// (k0smotron `internal/controller/k0smotron.io/k0smotroncluster_service.go`
/// `reconcileEndpointConfigMap`, v1.10.9 through v2.1.0).
pub fn endpoint_manifest_name(cluster: &str) -> String {
    format!("kmc-{cluster}-endpoint")
}

/// Keeps in `desired` the manifests entry k0smotron wrote into the live Cluster. The list
/// is atomic: a forced apply without it would take it away, k0smotron would append it
/// again, and every apply would roll the control plane twice.
pub fn keep_controller_manifests(desired: &mut Value, live: &Value, cluster: &str) {
    let theirs = endpoint_manifest_name(cluster);
    let Some(entry) = live["spec"]["manifests"]
        .as_array()
        .and_then(|m| m.iter().find(|v| v["name"] == theirs.as_str()))
    else {
        return;
    };
    let Some(spec) = desired["spec"].as_object_mut() else {
        return;
    };
    let list = spec
        .entry("manifests")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Some(l) = list.as_array_mut() {
        if !l.iter().any(|v| v["name"] == theirs.as_str()) {
            l.push(entry.clone());
        }
    }
}

/// A JSON merge patch that removes every field `old` sets and `new` does not (objects are
/// compared key by key, anything else is a value): what the provider stopped setting.
/// None when nothing was dropped.
pub fn removals(old: &Value, new: &Value) -> Option<Value> {
    let (Some(o), Some(n)) = (old.as_object(), new.as_object()) else {
        return None;
    };
    let mut patch = Map::new();
    for (k, ov) in o {
        match n.get(k) {
            None => {
                patch.insert(k.clone(), Value::Null);
            }
            Some(nv) => {
                if let Some(inner) = removals(ov, nv) {
                    patch.insert(k.clone(), inner);
                }
            }
        }
    }
    (!patch.is_empty()).then_some(Value::Object(patch))
}

/// A merge patch removing the `data` keys of the live Secret or ConfigMap `live` that the
/// desired object `want` no longer has (in `data` or `stringData`): the whole of their data
/// is the provider's.
pub fn data_removals(live: &Value, want: &Value) -> Option<Value> {
    let wanted = |k: &str| want["data"].get(k).is_some() || want["stringData"].get(k).is_some();
    let nulls: Map<String, Value> = live["data"]
        .as_object()?
        .keys()
        .filter(|k| !wanted(k))
        .map(|k| (k.clone(), Value::Null))
        .collect();
    (!nulls.is_empty()).then(|| json!({ "data": nulls }))
}

/// What a `Cluster` says about itself, in either API version.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observed {
    pub uid: Option<String>,
    pub version: Option<String>,
    pub replicas: Option<i64>,
    pub image: Option<String>,
    pub service_type: Option<String>,
    pub api_port: Option<i64>,
    pub konnectivity_port: Option<i64>,
    pub external_address: Option<String>,
    pub storage_type: Option<String>,
    /// Whether the spec names its storage (v1beta2 `storage`, v1beta1 `etcd`/kine fields).
    pub storage_explicit: bool,
    pub control_plane_flags: Vec<String>,
    pub deleting: bool,
    pub ready: bool,
    /// One line: `Available=True`, or `Available=False: Reason: message`.
    pub status: String,
}

/// Reads a `Cluster` object.
pub fn observe(obj: &Value, api: Api) -> Observed {
    let spec = &obj["spec"];
    let status = &obj["status"];
    let s = |v: &Value| v.as_str().map(String::from);
    let (ready, summary) = readiness(status, api);
    let storage_type = match api {
        Api::V1beta2 => s(&spec["storage"]["type"]),
        Api::V1beta1
            if spec.get("kineDataSourceSecretName").is_some()
                || spec.get("kineDataSourceURL").is_some() =>
        {
            Some("kine".into())
        }
        Api::V1beta1 => Some("etcd".into()),
    };
    let flags_key = match api {
        Api::V1beta2 => "controlPlaneFlags",
        Api::V1beta1 => "controllerPlaneFlags",
    };
    Observed {
        uid: s(&obj["metadata"]["uid"]),
        version: s(&spec["version"]),
        replicas: spec["replicas"].as_i64(),
        image: s(&spec["image"]),
        service_type: s(&spec["service"]["type"]),
        api_port: spec["service"]["apiPort"].as_i64(),
        konnectivity_port: spec["service"]["konnectivityPort"].as_i64(),
        external_address: s(&spec["externalAddress"]).filter(|a| !a.is_empty()),
        storage_type,
        storage_explicit: match api {
            Api::V1beta2 => spec.get("storage").is_some_and(|v| !v.is_null()),
            Api::V1beta1 => ["etcd", "kineDataSourceURL", "kineDataSourceSecretName"]
                .iter()
                .any(|k| spec.get(*k).is_some_and(|v| !v.is_null())),
        },
        control_plane_flags: spec[flags_key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        deleting: obj["metadata"]
            .get("deletionTimestamp")
            .is_some_and(|d| !d.is_null()),
        ready,
        status: summary,
    }
}

/// Readiness: the `Available` condition (v1beta2) or `status.ready` (v1beta1), with a
/// one-line summary that names the reason when not ready.
pub fn readiness(status: &Value, api: Api) -> (bool, String) {
    match api {
        Api::V1beta2 => {
            let conds = status["conditions"].as_array().cloned().unwrap_or_default();
            match conds.iter().find(|c| c["type"] == "Available") {
                Some(c) => {
                    let ok = c["status"] == "True";
                    let mut line =
                        format!("Available={}", c["status"].as_str().unwrap_or("Unknown"));
                    if !ok {
                        for k in ["reason", "message"] {
                            if let Some(v) = c[k].as_str().filter(|v| !v.is_empty()) {
                                line.push_str(&format!(": {v}"));
                            }
                        }
                    }
                    (ok, line)
                }
                None => (
                    false,
                    "no Available condition yet (k0smotron has not reconciled the Cluster)".into(),
                ),
            }
        }
        Api::V1beta1 => {
            let ok = status["ready"].as_bool().unwrap_or(false);
            let mut line = format!("ready={ok}");
            if let Some(r) = status["reconciliationStatus"]
                .as_str()
                .filter(|r| !r.is_empty())
            {
                line.push_str(&format!(": {r}"));
            }
            (ok, line)
        }
    }
}

/// True when two version strings name the same k0s release (`+` and `-` are the same).
pub fn same_version(a: &str, b: &str) -> bool {
    match (K0sVersion::parse(a), K0sVersion::parse(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::State;
    use super::super::validate::{spec_from_state, tests::minimal};
    use super::*;
    use tf_provider::value::Value as V;

    fn spec(s: State) -> HcpSpec {
        let (spec, p) = spec_from_state(&s);
        assert!(p.is_empty(), "{p:?}");
        spec.unwrap()
    }

    #[test]
    fn v1beta2_storage_and_flags() {
        let mut s = minimal();
        s.replicas = V::Value(3);
        s.storage = V::Value(super::super::model::StorageBlock {
            kind: V::Value("etcd".into()),
            kine_data_source_url: V::Null,
            etcd: V::Value(super::super::model::EtcdBlock {
                size: V::Value("2Gi".into()),
                storage_class: V::Null,
                auto_delete_pvcs: V::Value(true),
            }),
        });
        s.control_plane_flags = V::Value(vec![V::Value("--enable-metrics-scraper".into())]);
        let spec = spec(s);
        let v2 = cluster_object(&spec, Api::V1beta2);
        assert_eq!(v2["apiVersion"], "k0smotron.io/v1beta2");
        assert_eq!(v2["spec"]["storage"]["type"], "etcd");
        assert_eq!(v2["spec"]["storage"]["etcd"]["persistence"]["size"], "2Gi");
        assert_eq!(
            v2["spec"]["controlPlaneFlags"][0],
            "--enable-metrics-scraper"
        );
        let v1 = cluster_object(&spec, Api::V1beta1);
        assert_eq!(v1["spec"]["etcd"]["autoDeletePVCs"], true);
        assert_eq!(
            v1["spec"]["controllerPlaneFlags"][0],
            "--enable-metrics-scraper"
        );
        assert!(v1["spec"].get("storage").is_none());
    }

    #[test]
    fn kine_url_goes_to_a_secret_not_the_spec() {
        let mut s = minimal();
        s.storage = V::Value(super::super::model::StorageBlock {
            kind: V::Value("kine".into()),
            kine_data_source_url: V::Value("postgres://u:pw@db/k".into()),
            etcd: V::Null,
        });
        let spec = spec(s);
        for api in [Api::V1beta1, Api::V1beta2] {
            let obj = cluster_object(&spec, api);
            assert!(!obj.to_string().contains("pw@db"), "{obj}");
        }
        assert_eq!(
            cluster_object(&spec, Api::V1beta2)["spec"]["storage"]["kine"]["dataSourceSecretName"],
            "dev-k0stack-kine"
        );
        assert_eq!(
            cluster_object(&spec, Api::V1beta1)["spec"]["kineDataSourceSecretName"],
            "dev-k0stack-kine"
        );
        assert_eq!(
            kine_secret(&spec).unwrap()["stringData"]["K0SMOTRON_KINE_DATASOURCE_URL"],
            "postgres://u:pw@db/k"
        );
    }

    #[test]
    fn cert_sans_merge_into_k0s_config() {
        let mut s = minimal();
        s.k0s_config = V::Value(r#"{"spec":{"api":{"extraArgs":{"v":"2"}}}}"#.into());
        s.cert_sans = V::Value([V::Value("api.example.com".into())].into());
        let obj = cluster_object(&spec(s), Api::V1beta2);
        assert_eq!(
            obj["spec"]["k0sConfig"]["spec"]["api"]["sans"][0],
            "api.example.com"
        );
        assert_eq!(
            obj["spec"]["k0sConfig"]["spec"]["api"]["extraArgs"]["v"],
            "2"
        );
    }

    #[test]
    fn k0smotrons_endpoint_manifest_is_kept_and_nothing_else_foreign() {
        let endpoint = json!({"name": "kmc-a-endpoint", "configMap": {"name": "kmc-a-endpoint"}});
        let live = json!({"spec": {"manifests": [
            {"name": "k0stack", "configMap": {"name": "a-k0stack-manifests"}},
            endpoint.clone(),
            {"name": "hand-made", "configMap": {"name": "x"}}]}});
        let mut with = json!({"spec": {"manifests": [{"name": "k0stack", "configMap": {"name": "a-k0stack-manifests"}}]}});
        keep_controller_manifests(&mut with, &live, "a");
        assert_eq!(with["spec"]["manifests"][1], endpoint);
        assert_eq!(with["spec"]["manifests"].as_array().unwrap().len(), 2);
        let mut without = json!({"spec": {}});
        keep_controller_manifests(&mut without, &live, "a");
        assert_eq!(without["spec"]["manifests"], json!([endpoint]));
        // The prior spec had our entry, the new one only k0smotron's: not nulled.
        assert_eq!(removals(&with["spec"], &without["spec"]), None);
        let mut none = json!({"spec": {}});
        keep_controller_manifests(&mut none, &json!({"spec": {}}), "a");
        assert!(none["spec"].get("manifests").is_none());
    }

    #[test]
    fn a_k0s_config_always_carries_the_version_k0smotron_accepts() {
        for (config, sans) in [
            (Some(r#"{"spec":{"network":{"provider":"calico"}}}"#), false),
            (None, true),
        ] {
            let mut s = minimal();
            if let Some(c) = config {
                s.k0s_config = V::Value(c.into());
            }
            if sans {
                s.cert_sans = V::Value([V::Value("api.example.com".into())].into());
            }
            for api in [Api::V1beta1, Api::V1beta2] {
                let obj = cluster_object(&spec(s.clone()), api);
                assert_eq!(
                    obj["spec"]["k0sConfig"]["apiVersion"],
                    "k0s.k0sproject.io/v1beta1"
                );
                assert_eq!(obj["spec"]["k0sConfig"]["kind"], "ClusterConfig");
            }
        }
        // No k0s_config and no SANs: no k0sConfig at all (k0smotron generates its own).
        let obj = cluster_object(&spec(minimal()), Api::V1beta2);
        assert!(obj["spec"].get("k0sConfig").is_none(), "{obj}");
    }

    #[test]
    fn an_apply_keeps_the_live_metadata() {
        let live = json!({"metadata": {"name": "dev", "labels": {"app.kubernetes.io/managed-by": "k0stack", "team": "x"},
            "annotations": {"k0stack.io/owner": "a", "k0stack.io/allocated-ports": "api"}}});
        let mut desired = json!({"metadata": {"name": "dev", "labels": managed_labels("dev"),
            "annotations": {"k0stack.io/allocated-ports": "api,konnectivity"}}});
        keep_live_metadata(&mut desired, &live);
        assert_eq!(
            desired["metadata"],
            json!({"name": "dev", "labels": {"app.kubernetes.io/managed-by": "k0stack"},
                   "annotations": {"k0stack.io/allocated-ports": "api"}})
        );
        let bare = json!({"metadata": {"name": "dev"}});
        let mut desired = json!({"metadata": {"name": "dev", "labels": managed_labels("dev")}});
        keep_live_metadata(&mut desired, &bare);
        assert_eq!(
            desired["metadata"],
            json!({"name": "dev"}),
            "an imported Cluster gets no labels"
        );
    }

    #[test]
    fn dropped_fields_are_removed_explicitly() {
        let mut s = minimal();
        s.image = V::Value("mirror/k0s".into());
        s.control_plane_flags = V::Value(vec![V::Value("--x".into())]);
        s.k0s_config = V::Value(
            r#"{"spec":{"api":{"extraArgs":{"v":"2"}},"network":{"provider":"calico"}}}"#.into(),
        );
        let before = cluster_object(&spec(s.clone()), Api::V1beta2);
        s.image = V::Null;
        s.control_plane_flags = V::Null;
        s.k0s_config = V::Value(r#"{"spec":{"network":{"provider":"calico"}}}"#.into());
        let after = cluster_object(&spec(s), Api::V1beta2);
        assert_eq!(
            removals(&before["spec"], &after["spec"]),
            Some(
                json!({"image": null, "controlPlaneFlags": null, "k0sConfig": {"spec": {"api": null}}})
            )
        );
        assert_eq!(removals(&after["spec"], &after["spec"]), None);
        let live = json!({"data": {"a.yaml": "x", "b.yaml": "y"}});
        assert_eq!(
            data_removals(&live, &json!({"data": {"a.yaml": "x"}})),
            Some(json!({"data": {"b.yaml": null}}))
        );
        assert_eq!(
            data_removals(&live, &json!({"stringData": {"a.yaml": "", "b.yaml": ""}})),
            None
        );
    }

    #[test]
    fn readiness_in_both_versions() {
        let v2 = json!({"conditions": [{"type": "Available", "status": "False", "reason": "ControlPlaneNotReady", "message": "0/1 replicas ready"}]});
        assert_eq!(
            readiness(&v2, Api::V1beta2),
            (
                false,
                "Available=False: ControlPlaneNotReady: 0/1 replicas ready".into()
            )
        );
        let v2 = json!({"conditions": [{"type": "Available", "status": "True"}]});
        assert!(readiness(&v2, Api::V1beta2).0);
        assert_eq!(
            readiness(
                &json!({"ready": false, "reconciliationStatus": "Reconciling"}),
                Api::V1beta1
            ),
            (false, "ready=false: Reconciling".into())
        );
        assert!(readiness(&json!({"ready": true}), Api::V1beta1).0);
    }

    #[test]
    fn observe_reads_back_what_was_written() {
        let spec = spec(minimal());
        let mut obj = cluster_object(&spec, Api::V1beta2);
        obj["metadata"]["uid"] = json!("u-1");
        obj["spec"]["externalAddress"] = json!("127.20.0.5");
        let o = observe(&obj, Api::V1beta2);
        assert_eq!(o.version.as_deref(), Some("v1.32.6+k0s.0"));
        assert_eq!(o.replicas, Some(1));
        assert_eq!(o.external_address.as_deref(), Some("127.20.0.5"));
        assert_eq!(o.uid.as_deref(), Some("u-1"));
        assert!(same_version("v1.32.6-k0s.0", "v1.32.6+k0s.0"));
    }
}

/// A `JoinTokenRequest` for worker joins: v1beta2 names the cluster (`clusterName`, same
/// namespace); v1beta1 references it (`clusterRef{name, namespace}`). `expiry` is a Go
/// duration; a short one bounds how long a leaked token is useful.
pub fn join_token_request(
    name: &str,
    namespace: &str,
    cluster: &str,
    expiry: &str,
    api: Api,
) -> Value {
    let cluster_ref = match api {
        Api::V1beta2 => json!({ "clusterName": cluster }),
        Api::V1beta1 => json!({ "clusterRef": { "name": cluster, "namespace": namespace } }),
    };
    let mut spec = cluster_ref;
    spec["expiry"] = json!(expiry);
    spec["role"] = json!("worker");
    json!({
        "apiVersion": api.api_version(),
        "kind": "JoinTokenRequest",
        "metadata": { "name": name, "namespace": namespace, "labels": managed_labels(cluster) },
        "spec": spec,
    })
}

#[cfg(test)]
mod jtr_tests {
    use super::*;

    #[test]
    fn join_token_requests_in_both_versions() {
        let v2 = join_token_request("pool-x", "kmc", "dev", "1h", Api::V1beta2);
        assert_eq!(
            v2["spec"],
            json!({"clusterName": "dev", "expiry": "1h", "role": "worker"})
        );
        let v1 = join_token_request("pool-x", "kmc", "dev", "1h", Api::V1beta1);
        assert_eq!(
            v1["spec"]["clusterRef"],
            json!({"name": "dev", "namespace": "kmc"})
        );
        assert_eq!(v1["apiVersion"], "k0smotron.io/v1beta1");
    }
}

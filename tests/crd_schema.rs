//! The k0smotron `Cluster` objects the provider sends validate against the real CRD
//! schemas (../shared/reference/k0smotron-crds, k0smotron v2.1, both API versions).

use k0stack::resources::hosted_control_plane::model::{
    EtcdBlock, PersistenceBlock, ResourcesBlock, ServiceBlock, State, StorageBlock,
};
use k0stack::resources::hosted_control_plane::object::{cluster_object, join_token_request, Api};
use k0stack::resources::hosted_control_plane::validate::spec_from_state;
use serde_json::Value as Json;
use tf_provider::value::Value;

fn schemas() -> Option<Vec<(String, Json)>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/reference/k0smotron-crds/k0smotron.io_clusters.yaml");
    let text = std::fs::read_to_string(&path).ok()?;
    let crd: Json = serde_yaml::from_str(&text).expect("CRD YAML");
    Some(
        crd["spec"]["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["name"].as_str().unwrap().to_string(),
                    v["schema"]["openAPIV3Schema"].clone(),
                )
            })
            .collect(),
    )
}

fn s(v: &str) -> Value<std::borrow::Cow<'static, str>> {
    Value::Value(v.to_string().into())
}

fn configs() -> Vec<(&'static str, State)> {
    let base = State {
        name: s("dev"),
        management_cluster_id: s("ctx/kmc-system"),
        k0s_version: s("v1.32.6+k0s.0"),
        ..Default::default()
    };
    vec![
        ("minimal", base.clone()),
        (
            "etcd, LoadBalancer, flags, manifests, resources",
            State {
                replicas: Value::Value(3),
                service: Value::Value(ServiceBlock {
                    kind: s("LoadBalancer"),
                    api_port: Value::Value(6443),
                    konnectivity_port: Value::Value(8132),
                }),
                storage: Value::Value(StorageBlock {
                    kind: s("etcd"),
                    kine_data_source_url: Value::Null,
                    etcd: Value::Value(EtcdBlock {
                        size: s("2Gi"),
                        storage_class: s("fast"),
                        auto_delete_pvcs: Value::Value(true),
                    }),
                }),
                control_plane_flags: Value::Value(vec![s("--enable-metrics-scraper")]),
                manifests: Value::Value([("cni.yaml".into(), s("kind: ConfigMap\n"))].into()),
                resources: Value::Value(ResourcesBlock {
                    requests: Value::Value([("cpu".into(), s("500m"))].into()),
                    limits: Value::Value([("memory".into(), s("2Gi"))].into()),
                }),
                k0s_config: s(r#"{"spec":{"network":{"provider":"calico"}}}"#),
                cert_sans: Value::Value([s("api.example.com")].into()),
                image: s("mirror.local/k0s"),
                external_address: s("10.0.0.5"),
                ..base.clone()
            },
        ),
        (
            "kine, NodePort, pvc persistence",
            State {
                replicas: Value::Value(2),
                service: Value::Value(ServiceBlock {
                    kind: s("NodePort"),
                    api_port: Value::Value(31443),
                    konnectivity_port: Value::Value(31132),
                }),
                storage: Value::Value(StorageBlock {
                    kind: s("kine"),
                    kine_data_source_url: s("postgres://u:p@db/kine"),
                    etcd: Value::Null,
                }),
                persistence: Value::Value(PersistenceBlock {
                    kind: s("pvc"),
                    size: s("10Gi"),
                    storage_class: s("fast"),
                    host_path: Value::Null,
                    auto_delete_pvcs: Value::Value(true),
                }),
                ..base
            },
        ),
    ]
}

/// Structural-schema defaulting, as the apiserver applies it before validation: a missing
/// property with a `default` gets it, inside every object present.
fn apply_defaults(schema: &Json, obj: &mut Json) {
    let (Some(props), Some(map)) = (schema["properties"].as_object(), obj.as_object_mut()) else {
        if let (Some(items), Some(arr)) = (schema.get("items"), obj.as_array_mut()) {
            for el in arr {
                apply_defaults(items, el);
            }
        }
        return;
    };
    for (name, sub) in props {
        if !map.contains_key(name) {
            if let Some(d) = sub.get("default") {
                map.insert(name.clone(), d.clone());
            }
        }
        if let Some(child) = map.get_mut(name) {
            apply_defaults(sub, child);
        }
    }
}

#[test]
fn cluster_objects_validate_against_the_real_crds() {
    let Some(schemas) = schemas() else {
        eprintln!("skipped: ../shared/reference/k0smotron-crds not present");
        return;
    };
    for (version, schema) in &schemas {
        let api = Api::parse(version).expect("known version");
        let validator = jsonschema::validator_for(schema).expect("schema compiles");
        for (what, state) in configs() {
            let (spec, problems) = spec_from_state(&state);
            assert!(problems.is_empty(), "{what}: {problems:?}");
            let mut obj = cluster_object(&spec.unwrap(), api);
            apply_defaults(schema, &mut obj);
            let errors: Vec<String> = validator
                .iter_errors(&obj)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{version} {what}: {errors:?}\n{obj:#}");
        }
        // The validator does reject what the CRD forbids.
        let mut bad = cluster_object(&spec_from_state(&configs()[0].1).0.unwrap(), api);
        bad["spec"]["service"]["type"] = "Ingress".into();
        assert!(
            !validator.is_valid(&bad),
            "{version}: an invalid service type passed"
        );
    }
}

#[test]
fn join_token_requests_validate_against_the_real_crd() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/reference/k0smotron-crds/k0smotron.io_jointokenrequests.yaml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: {} not present", path.display());
        return;
    };
    let crd: Json = serde_yaml::from_str(&text).expect("CRD YAML");
    for v in crd["spec"]["versions"].as_array().unwrap() {
        let version = v["name"].as_str().unwrap();
        let schema = &v["schema"]["openAPIV3Schema"];
        let validator = jsonschema::validator_for(schema).expect("schema compiles");
        let mut obj = join_token_request(
            "general-3f9k2",
            "kmc-system",
            "dev",
            "30m",
            Api::parse(version).unwrap(),
        );
        apply_defaults(schema, &mut obj);
        let errors: Vec<String> = validator
            .iter_errors(&obj)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{version}: {errors:?}\n{obj:#}");
    }
}

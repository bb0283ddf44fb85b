use std::collections::BTreeMap;

use k8s_pb::api::core::v1;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use prost::Message;
use serde_json::json;

use super::*;

/// The envelope as the Go serializer writes it.
fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
    let unk = Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some(api_version.into()),
            kind: Some(kind.into()),
        }),
        raw: Some(raw),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut out = MAGIC.to_vec();
    out.extend(unk.encode_to_vec());
    out
}

/// ObjectMeta as gogo writes it: every value field present, empty or zero.
fn meta_named(name: &str) -> meta::ObjectMeta {
    meta::ObjectMeta {
        name: Some(name.into()),
        generate_name: Some(String::new()),
        namespace: Some(String::new()),
        self_link: Some(String::new()),
        uid: Some(String::new()),
        resource_version: Some(String::new()),
        generation: Some(0),
        creation_timestamp: Some(meta::Time {
            seconds: Some(0),
            nanos: Some(0),
        }),
        labels: BTreeMap::from([("app".to_string(), "web".to_string())]),
        ..Default::default()
    }
}

fn rt(group: &str, kind: &str, plural: &str) -> ResourceType {
    ResourceType::new(group, &["v1"], kind, plural, true)
}

#[test]
fn a_namespace_decodes_to_the_json_kubectl_would_have_sent() {
    let ns = v1::Namespace {
        metadata: Some(meta_named("x")),
        spec: Some(v1::NamespaceSpec::default()),
        status: Some(v1::NamespaceStatus {
            phase: Some(String::new()),
            conditions: vec![],
        }),
    };
    let body = envelope("v1", "Namespace", ns.encode_to_vec());
    let rt = ResourceType::new("", &["v1"], "Namespace", "namespaces", false);
    assert_eq!(
        decode(&rt, "v1", &body).unwrap(),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "labels": {"app": "web"}}, "spec": {}, "status": {}})
    );
}

#[test]
fn secret_bytes_become_base64_and_set_pointers_survive_at_zero() {
    let s = v1::Secret {
        metadata: Some(meta_named("s")),
        immutable: Some(false),
        data: BTreeMap::from([("token".to_string(), b"abc".to_vec())]),
        string_data: BTreeMap::new(),
        r#type: Some("Opaque".into()),
    };
    let body = envelope("v1", "Secret", s.encode_to_vec());
    let got = decode(&rt("", "Secret", "secrets"), "v1", &body).unwrap();
    assert_eq!(got["data"], json!({"token": "YWJj"}));
    assert_eq!(got["immutable"], json!(false));
    assert_eq!(got["type"], "Opaque");
}

#[test]
fn service_ports_keep_their_names_numbers_and_target_ports() {
    let port = |name: &str, port, target: IntOrString| v1::ServicePort {
        name: Some(name.into()),
        protocol: Some("TCP".into()),
        app_protocol: None,
        port: Some(port),
        target_port: Some(target),
        node_port: Some(0),
    };
    let svc = v1::Service {
        metadata: Some(meta_named("web")),
        spec: Some(v1::ServiceSpec {
            ports: vec![
                port(
                    "http",
                    80,
                    IntOrString {
                        r#type: Some(1),
                        int_val: Some(0),
                        str_val: Some("web".into()),
                    },
                ),
                port("https", 443, IntOrString::default()),
            ],
            selector: BTreeMap::from([("app".to_string(), "web".to_string())]),
            cluster_ip: Some(String::new()),
            r#type: Some("NodePort".into()),
            health_check_node_port: Some(0),
            publish_not_ready_addresses: Some(false),
            ..Default::default()
        }),
        status: Some(v1::ServiceStatus::default()),
    };
    let body = envelope("v1", "Service", svc.encode_to_vec());
    let got = decode(&rt("", "Service", "services"), "v1", &body).unwrap();
    assert_eq!(
        got["spec"],
        json!({"ports": [
            {"name": "http", "protocol": "TCP", "port": 80, "targetPort": "web"},
            {"name": "https", "protocol": "TCP", "port": 443},
        ], "selector": {"app": "web"}, "type": "NodePort"})
    );
}

#[test]
fn envelope_errors_are_400_with_the_apiserver_messages() {
    let secrets = rt("", "Secret", "secrets");
    let e = decode(&secrets, "v1", b"{\"kind\":\"Secret\"}").unwrap_err();
    assert_eq!((e.code, e.reason), (400, "BadRequest"));
    assert_eq!(e.message, "the object provided is unrecognized (must be of type Secret): provided data does not appear to be a protobuf message, expected prefix [107, 56, 115, 0] ({\"kind\":\"Secret\"})");
    let e = decode(&secrets, "v1", &MAGIC).unwrap_err();
    assert!(e.message.contains("empty body"), "{}", e.message);
    let e = decode(&secrets, "v1", b"k8s\0\x0a\xff").unwrap_err();
    assert_eq!(e.code, 400);
    assert!(
        e.message
            .starts_with("the object provided is unrecognized (must be of type Secret): "),
        "{}",
        e.message
    );
    let body = envelope("apps/v1", "Secret", vec![]);
    let e = decode(&secrets, "v1", &body).unwrap_err();
    assert_eq!(
        e.message,
        "the API version in the data (apps/v1) does not match the expected API version (v1)"
    );
    let body = envelope("v1", "ConfigMap", vec![]);
    let e = decode(&secrets, "v1", &body).unwrap_err();
    assert!(
        e.message
            .starts_with("ConfigMap in version \"v1\" cannot be handled as a Secret"),
        "{}",
        e.message
    );
    let body = envelope("v1", "Secret", vec![0x0a, 0x05, 0x01]);
    let e = decode(&secrets, "v1", &body).unwrap_err();
    assert_eq!(e.code, 400);
    assert!(
        e.message
            .starts_with("Secret in version \"v1\" cannot be handled as a Secret: "),
        "{}",
        e.message
    );
}

#[test]
fn an_envelope_without_type_meta_takes_the_endpoints_kind() {
    let cm = v1::ConfigMap {
        metadata: Some(meta_named("c")),
        data: BTreeMap::from([("k".to_string(), "v".to_string())]),
        ..Default::default()
    };
    let mut body = MAGIC.to_vec();
    body.extend(
        Unknown {
            raw: Some(cm.encode_to_vec()),
            ..Default::default()
        }
        .encode_to_vec(),
    );
    let got = decode(&rt("", "ConfigMap", "configmaps"), "v1", &body).unwrap();
    assert_eq!(
        (got["kind"].as_str(), got["data"]["k"].as_str()),
        (Some("ConfigMap"), Some("v"))
    );
}

#[test]
fn media_types_are_negotiated_then_custom_resources_fail_to_decode() {
    assert_eq!(
        negotiate("application/vnd.kubernetes.protobuf"),
        Ok(Encoding::Protobuf)
    );
    assert_eq!(
        negotiate("application/json; charset=utf-8"),
        Ok(Encoding::Json)
    );
    assert_eq!(negotiate(""), Ok(Encoding::Json));
    assert_eq!(negotiate("application/yaml"), Ok(Encoding::Yaml));
    let e = negotiate("text/plain").unwrap_err();
    assert_eq!((e.code, e.reason), (415, "UnsupportedMediaType"));
    assert_eq!(e.message, "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf");
    let cluster = ResourceType::new("k0smotron.io", &["v1beta2"], "Cluster", "clusters", true);
    let body = envelope("k0smotron.io/v1beta2", "Cluster", vec![]);
    let e = decode(&cluster, "v1beta2", &body).unwrap_err();
    assert_eq!((e.code, e.reason), (400, "BadRequest"));
    assert_eq!(e.message, "Cluster in version \"v1beta2\" cannot be handled as a Cluster: object *unstructured.Unstructured does not implement the protobuf marshalling interface and cannot be encoded to a protobuf message");
    let secrets = rt("", "Secret", "secrets");
    assert!(patch_refused(&secrets)
        .message
        .ends_with("application/strategic-merge-patch+json"));
    assert!(patch_refused(&cluster)
        .message
        .ends_with("application/apply-patch+yaml"));
}

#[test]
fn a_built_in_kind_without_a_converter_is_refused_not_truncated() {
    let pods = rt("", "Pod", "pods");
    let body = envelope("v1", "Pod", vec![]);
    let e = decode(&pods, "v1", &body).unwrap_err();
    assert_eq!((e.code, e.reason), (415, "UnsupportedMediaType"));
    assert!(
        e.message.contains("does not decode protobuf Pod bodies"),
        "{}",
        e.message
    );
}

#[test]
fn node_fields_keep_their_json_spellings() {
    use k8s_pb::apimachinery::pkg::api::resource::Quantity;
    let node = v1::Node {
        metadata: Some(meta_named("w1")),
        spec: Some(v1::NodeSpec {
            pod_cidr: Some("10.244.1.0/24".into()),
            provider_id: Some("openstack:///abc".into()),
            unschedulable: Some(true),
            taints: vec![v1::Taint {
                key: Some("k".into()),
                value: Some(String::new()),
                effect: Some("NoSchedule".into()),
                time_added: None,
            }],
            ..Default::default()
        }),
        status: Some(v1::NodeStatus {
            capacity: BTreeMap::from([(
                "cpu".to_string(),
                Quantity {
                    string: Some("2".into()),
                },
            )]),
            daemon_endpoints: Some(v1::NodeDaemonEndpoints {
                kubelet_endpoint: Some(v1::DaemonEndpoint { port: Some(10250) }),
            }),
            ..Default::default()
        }),
    };
    let body = envelope("v1", "Node", node.encode_to_vec());
    let nodes = ResourceType::new("", &["v1"], "Node", "nodes", false);
    let got = decode(&nodes, "v1", &body).unwrap();
    assert_eq!(
        got["spec"],
        json!({"podCIDR": "10.244.1.0/24", "providerID": "openstack:///abc", "unschedulable": true,
               "taints": [{"key": "k", "effect": "NoSchedule"}]})
    );
    assert_eq!(got["status"]["capacity"], json!({"cpu": "2"}));
    assert_eq!(
        got["status"]["daemonEndpoints"],
        json!({"kubeletEndpoint": {"Port": 10250}})
    );
}

#[test]
fn rbac_and_pdb_bodies_decode() {
    use k8s_pb::api::policy::v1 as policy;
    use k8s_pb::api::rbac::v1 as rbac;
    let role = rbac::ClusterRole {
        metadata: Some(meta_named("r")),
        rules: vec![rbac::PolicyRule {
            verbs: vec!["get".into()],
            non_resource_ur_ls: vec!["/healthz".into()],
            ..Default::default()
        }],
        aggregation_rule: None,
    };
    let body = envelope(
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        role.encode_to_vec(),
    );
    let rt = ResourceType::new(
        "rbac.authorization.k8s.io",
        &["v1"],
        "ClusterRole",
        "clusterroles",
        false,
    );
    let got = decode(&rt, "v1", &body).unwrap();
    assert_eq!(
        got["rules"],
        json!([{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}])
    );
    assert_eq!(got["apiVersion"], "rbac.authorization.k8s.io/v1");
    let pdb = policy::PodDisruptionBudget {
        metadata: Some(meta_named("p")),
        spec: Some(policy::PodDisruptionBudgetSpec {
            min_available: Some(IntOrString {
                r#type: Some(1),
                int_val: Some(0),
                str_val: Some("50%".into()),
            }),
            selector: Some(meta::LabelSelector {
                match_labels: BTreeMap::from([("app".to_string(), "x".to_string())]),
                match_expressions: vec![],
            }),
            ..Default::default()
        }),
        status: None,
    };
    let body = envelope("policy/v1", "PodDisruptionBudget", pdb.encode_to_vec());
    let rt = ResourceType::new(
        "policy",
        &["v1"],
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
    );
    let got = decode(&rt, "v1", &body).unwrap();
    assert_eq!(
        got["spec"],
        json!({"minAvailable": "50%", "selector": {"matchLabels": {"app": "x"}}})
    );
    assert!(got.get("status").is_none(), "{got}");
}

//! From what Terraform sent to a validated [`HcpSpec`], collecting every problem at its
//! attribute. Unknown values (known only at apply) are skipped, so the same function
//! serves `validate` (problems only) and plan/apply (the spec).

use std::collections::BTreeMap;

use crate::framework::validators::{dns_label, dns_subdomain, ip_or_dns, one_of, port, quantity};
use crate::framework::version::{invalid_message, K0sVersion};
use tf_provider::value::Value;

use crate::framework::{timeouts, Problems, Secret};

use super::model::*;
use crate::framework::values::known_set;

/// The namespace part of a management cluster id (`<kube-system uid>/<namespace>`, or a
/// label or an earlier version's `<context>/<namespace>`).
pub fn namespace_of_management_cluster(id: &str) -> Option<&str> {
    super::identity::split_id(id).map(|(_, ns)| ns)
}

/// The only k0s configuration version k0smotron accepts in `spec.k0sConfig` (any other
/// `apiVersion`, or none, stops its reconcile with "unsupported k0s config version":
/// k0smotron `internal/controller/k0smotron.io/k0smotroncluster_configmap.go`
/// `generateConfig`, v1.10.9 through v2.1.0).
pub const K0S_CONFIG_API_VERSION: &str = "k0s.k0sproject.io/v1beta1";
/// The kind of a k0s configuration document.
pub const K0S_CONFIG_KIND: &str = "ClusterConfig";

/// Parses `k0s_config` (a JSON or YAML object, e.g. from `jsonencode({...})`). `apiVersion`
/// and `kind` may be left out (the provider sends k0smotron's only supported ones); when
/// given they must be those.
pub fn parse_k0s_config(text: &str) -> Result<serde_json::Value, String> {
    let v: serde_json::Value =
        serde_yaml::from_str(text).map_err(|e| format!("not valid JSON or YAML: {e}"))?;
    if !v.is_object() {
        return Err("must be an object, e.g. jsonencode({ spec = { network = { provider = \"calico\" } } })".into());
    }
    for (key, only) in [
        ("apiVersion", K0S_CONFIG_API_VERSION),
        ("kind", K0S_CONFIG_KIND),
    ] {
        match &v[key] {
            serde_json::Value::Null => {}
            serde_json::Value::String(s) if s == only => {}
            other => {
                return Err(format!(
                    "{key} is {other}: k0smotron accepts only {key} {only:?} (or leave it out; \
                     the provider sets it)"
                ))
            }
        }
    }
    check_images(&v["spec"]["images"])?;
    Ok(v)
}

/// `spec.images` as k0s validates it (`ClusterImages.Validate`, k0s
/// `pkg/apis/k0s/v1beta1/images.go`, v1.32.6+k0s.0): a bad pull policy stops the control
/// plane's k0s at start. `repository` (a mirror registry for every worker-side image) is
/// passed through as it is.
fn check_images(images: &serde_json::Value) -> Result<(), String> {
    const POLICIES: [&str; 3] = ["Always", "IfNotPresent", "Never"];
    match &images["default_pull_policy"] {
        serde_json::Value::Null => {}
        serde_json::Value::String(s) if POLICIES.contains(&s.as_str()) => {}
        other => {
            return Err(format!(
            "spec.images.default_pull_policy is {other}: k0s accepts Always, IfNotPresent or Never"
        ))
        }
    }
    match &images["repository"] {
        serde_json::Value::Null => Ok(()),
        serde_json::Value::String(r) if !r.is_empty() && !r.contains(char::is_whitespace) => Ok(()),
        other => Err(format!(
            "spec.images.repository is {other}: a registry host with an optional path, e.g. \"registry.example.com:5000/k0s\""
        )),
    }
}

/// Validates everything known; returns the spec when every required value is known and valid.
pub fn spec_from_state(s: &State) -> (Option<HcpSpec>, Problems) {
    let mut p = Problems::default();
    let mut complete = true;
    let mut need = |v: bool| complete &= v;
    // A whole block unknown: a `dynamic` block whose for_each is known only after apply.
    need(
        !s.service.is_unknown()
            && !s.storage.is_unknown()
            && !s.persistence.is_unknown()
            && !s.resources.is_unknown()
            && !s.timeouts.is_unknown()
            && !s
                .storage
                .as_ref_option()
                .is_some_and(|st| st.etcd.is_unknown()),
    );

    let name = known(&s.name);
    need(name.is_some());
    if let Some(n) = &name {
        if let Err(e) = dns_label(n, 53) {
            p.push(&["name"], "Invalid name", format!("{e}. (53, not 63: k0smotron derives Service names such as kmc-<name>-nodeport from it.)"));
        }
    }
    let namespace = known(&s.namespace).or_else(|| {
        known(&s.management_cluster_id)
            .and_then(|id| namespace_of_management_cluster(&id).map(String::from))
    });
    need(namespace.is_some());
    if let Some(ns) = known(&s.namespace) {
        if let Err(e) = dns_label(&ns, 63) {
            p.push(&["namespace"], "Invalid namespace", e);
        }
    }
    if let Some(id) = known(&s.management_cluster_id) {
        if namespace_of_management_cluster(&id).is_none() {
            p.push(&["management_cluster_id"], "Invalid management cluster id", format!("{id:?} is not the id of a k0stack_management_cluster (<kube-system uid>/<namespace>, or <label>/<namespace>)."));
        }
    }
    let version_string = known(&s.k0s_version);
    need(version_string.is_some());
    let version = version_string.as_deref().and_then(|v| {
        let parsed = K0sVersion::parse(v);
        if parsed.is_none() {
            p.push(&["k0s_version"], "Invalid k0s version", invalid_message(v));
        }
        parsed
    });
    let replicas = match s.replicas {
        Value::Value(n) if !(1..=9).contains(&n) => {
            p.push(
                &["replicas"],
                "Invalid replicas",
                format!("replicas must be between 1 and 9, got {n}."),
            );
            1
        }
        Value::Value(n) => n as u32,
        Value::Null => 1,
        Value::Unknown => {
            need(false);
            1
        }
    };
    if replicas > 1 && s.storage.is_null() {
        p.push(
            &["replicas"],
            "Replicated control plane needs storage",
            format!("replicas = {replicas} requires a storage block (type = \"etcd\" or \"kine\" with kine_data_source_url): control plane replicas must share one datastore."),
        );
    }

    // Service. The effective type and ports are the block's when set, else the top-level
    // computed ones the plan recorded (allocated node ports), else the defaults.
    let mut service_type = known(&s.service_type).unwrap_or_else(|| "NodePort".to_string());
    let top_port = |v: &tf_provider::value::ValueNumber, d: u16| match v {
        Value::Value(n) => u16::try_from(*n).unwrap_or(d),
        _ => d,
    };
    let mut api_port = top_port(&s.api_port, DEFAULT_API_PORT);
    let mut konnectivity_port = top_port(&s.konnectivity_port, DEFAULT_KONNECTIVITY_PORT);
    if let Some(svc) = s.service.as_ref_option() {
        if let Some(t) = known(&svc.kind) {
            match one_of(&t, SERVICE_TYPES) {
                Ok(()) => service_type = t,
                Err(e) => p.push(&["service", "type"], "Unknown service type", e),
            }
        }
        for (attr, v, slot) in [
            ("api_port", &svc.api_port, &mut api_port),
            (
                "konnectivity_port",
                &svc.konnectivity_port,
                &mut konnectivity_port,
            ),
        ] {
            if let Value::Value(n) = v {
                match port(*n) {
                    Ok(pn) => *slot = pn,
                    Err(e) => p.push(&["service", attr], "Invalid port", e),
                }
            }
        }
        if service_type == "NodePort" {
            for (attr, pn) in [
                ("api_port", api_port),
                ("konnectivity_port", konnectivity_port),
            ] {
                if !(30000..=32767).contains(&pn) {
                    p.push(&["service", attr], "Port outside the NodePort range", format!("with type = \"NodePort\" the node port equals the port, so {attr} must be within 30000-32767 (got {pn})."));
                }
            }
        }
        // A port left unset with NodePort is allocated (never the other one): no collision.
        let both_set = service_type != "NodePort"
            || (!svc.api_port.is_null() || s.api_port.is_value())
                && (!svc.konnectivity_port.is_null() || s.konnectivity_port.is_value());
        if both_set && api_port == konnectivity_port {
            p.push(
                &["service", "konnectivity_port"],
                "Ports collide",
                format!("api_port and konnectivity_port are both {api_port}."),
            );
        }
    }

    let external_address = known(&s.external_address);
    if let Some(a) = &external_address {
        if !ip_or_dns(a) {
            p.push(
                &["external_address"],
                "Invalid external address",
                format!("{a:?} is neither an IP address nor a DNS name."),
            );
        }
    }

    // Storage.
    let storage = s.storage.as_ref_option().and_then(|st| {
        let kind = known(&st.kind);
        if st.kind.is_unknown() {
            need(false);
        }
        match kind.as_deref() {
            Some("etcd") => {
                if known(&st.kine_data_source_url).is_some() {
                    p.push(&["storage", "kine_data_source_url"], "kine URL with etcd storage", "kine_data_source_url is only used with type = \"kine\".");
                }
                let etcd = st.etcd.as_ref_option();
                let size = etcd.and_then(|e| known(&e.size));
                if let Some(sz) = &size {
                    if let Err(e) = quantity(sz) {
                        p.push(&["storage", "etcd", "size"], "Invalid size", e);
                    }
                }
                Some(Storage::Etcd {
                    size,
                    storage_class: etcd.and_then(|e| known(&e.storage_class)),
                    auto_delete_pvcs: etcd.and_then(|e| e.auto_delete_pvcs.as_ref_option().copied()).unwrap_or(false),
                })
            }
            Some("kine") => {
                if st.etcd.is_value() {
                    p.push(&["storage", "etcd"], "etcd settings with kine storage", "the etcd block is only used with type = \"etcd\".");
                }
                match known(&st.kine_data_source_url) {
                    Some(url) => Some(Storage::Kine { data_source_url: Secret::new(url) }),
                    None if st.kine_data_source_url.is_unknown() => {
                        need(false);
                        None
                    }
                    None => {
                        p.push(&["storage", "kine_data_source_url"], "Missing kine data source", "type = \"kine\" needs kine_data_source_url, e.g. postgres://user:pass@db:5432/kine?sslmode=require.");
                        None
                    }
                }
            }
            Some(other) => {
                p.push(&["storage", "type"], "Unknown storage type", one_of(other, STORAGE_TYPES).unwrap_err());
                None
            }
            None => None,
        }
    });

    // Persistence.
    let persistence = s.persistence.as_ref_option().and_then(|pe| {
        let kind = known(&pe.kind)?;
        if let Err(e) = one_of(&kind, PERSISTENCE_TYPES) {
            p.push(&["persistence", "type"], "Unknown persistence type", e);
            return None;
        }
        let size = known(&pe.size);
        if let Some(sz) = &size {
            if let Err(e) = quantity(sz) {
                p.push(&["persistence", "size"], "Invalid size", e);
            }
        }
        let host_path = known(&pe.host_path);
        if kind == "pvc" && size.is_none() && !pe.size.is_unknown() {
            p.push(
                &["persistence", "size"],
                "Missing volume size",
                "type = \"pvc\" needs size, e.g. \"10Gi\".",
            );
        }
        if kind == "hostPath" && host_path.is_none() && !pe.host_path.is_unknown() {
            p.push(
                &["persistence", "host_path"],
                "Missing host path",
                "type = \"hostPath\" needs host_path.",
            );
        }
        Some(Persistence {
            kind,
            size,
            storage_class: known(&pe.storage_class),
            host_path,
            auto_delete_pvcs: pe
                .auto_delete_pvcs
                .as_ref_option()
                .copied()
                .unwrap_or(false),
        })
    });

    let k0s_config = known(&s.k0s_config).and_then(|text| match parse_k0s_config(&text) {
        Ok(v) => Some(v),
        Err(e) => {
            p.push(&["k0s_config"], "Invalid k0s_config", e);
            None
        }
    });

    let control_plane_flags = known_list(&s.control_plane_flags);
    for (i, f) in control_plane_flags.iter().enumerate() {
        if !f.starts_with("--") || f.contains(' ') && !f.contains('=') {
            p.push(
                &["control_plane_flags"],
                "Invalid flag",
                format!("element {i} ({f:?}) must look like --flag or --flag=value."),
            );
        }
    }

    let manifests = known_map(&s.manifests);
    for (k, v) in &manifests {
        let base = k.trim_end_matches(".yaml").trim_end_matches(".yml");
        if !(k.ends_with(".yaml") || k.ends_with(".yml")) || !dns_subdomain(base) {
            p.push(&["manifests"], "Invalid manifest name", format!("{k:?} must be a file name like \"cni.yaml\" (lowercase letters, digits, '-', '.')."));
        }
        if serde_yaml::Deserializer::from_str(v)
            .any(|d| <serde_yaml::Value as serde::Deserialize>::deserialize(d).is_err())
        {
            p.push(
                &["manifests"],
                "Invalid manifest",
                format!("manifest {k:?} is not valid YAML."),
            );
        }
    }

    let (requests, limits) = match s.resources.as_ref_option() {
        Some(r) => (known_map(&r.requests), known_map(&r.limits)),
        None => (BTreeMap::new(), BTreeMap::new()),
    };
    for (attr, m) in [("requests", &requests), ("limits", &limits)] {
        for (k, v) in m {
            if let Err(e) = quantity(v) {
                p.push(
                    &["resources", attr],
                    "Invalid quantity",
                    format!("{k}: {e}"),
                );
            }
        }
    }

    let cert_sans = known_set(&s.cert_sans);
    for san in &cert_sans {
        if !ip_or_dns(san) {
            p.push(
                &["cert_sans"],
                "Invalid certificate SAN",
                format!("{san:?} is neither an IP address nor a DNS name."),
            );
        }
    }

    let timeouts = match timeouts::resolve(s.timeouts.as_ref_option(), DEFAULT_TIMEOUTS) {
        Ok(t) => t,
        Err(e) => {
            p.extend(e.0);
            DEFAULT_TIMEOUTS
        }
    };

    let spec = match (
        complete && p.is_empty(),
        name,
        namespace,
        version,
        version_string,
    ) {
        (true, Some(name), Some(namespace), Some(version), Some(version_string)) => Some(HcpSpec {
            name,
            namespace,
            version,
            version_string,
            replicas,
            image: known(&s.image),
            service_type,
            api_port,
            konnectivity_port,
            external_address,
            storage,
            persistence,
            k0s_config,
            control_plane_flags,
            manifests,
            requests,
            limits,
            cert_sans,
            wait_for_ready: s.wait_for_ready.as_ref_option().copied().unwrap_or(true),
            timeouts,
        }),
        _ => None,
    };
    (spec, p)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn minimal() -> State {
        State {
            name: Value::Value("dev".into()),
            management_cluster_id: Value::Value("mgmt/kmc-system".into()),
            k0s_version: Value::Value("v1.32.6+k0s.0".into()),
            ..Default::default()
        }
    }

    fn problems(s: &State) -> Vec<(String, String)> {
        spec_from_state(s)
            .1
             .0
            .into_iter()
            .map(|e| (e.dotted_path(), e.summary))
            .collect()
    }

    #[test]
    fn minimal_config_gives_defaults() {
        let (spec, p) = spec_from_state(&minimal());
        assert!(p.is_empty(), "{p:?}");
        let spec = spec.unwrap();
        assert_eq!(spec.namespace, "kmc-system");
        assert_eq!(
            (
                spec.replicas,
                spec.service_type.as_str(),
                spec.api_port,
                spec.konnectivity_port
            ),
            (1, "NodePort", 30443, 30132)
        );
        assert!(spec.wait_for_ready);
        assert_eq!(spec.timeouts, DEFAULT_TIMEOUTS);
    }

    #[test]
    fn unknown_values_are_not_problems_but_give_no_spec() {
        let s = State {
            k0s_version: Value::Unknown,
            ..minimal()
        };
        let (spec, p) = spec_from_state(&s);
        assert!(p.is_empty());
        assert!(spec.is_none());
    }

    #[test]
    fn ten_invalid_configurations_each_name_their_attribute() {
        let svc = |t: &str, api: i64, konn: i64| {
            Value::Value(ServiceBlock {
                kind: Value::Value(t.to_string().into()),
                api_port: Value::Value(api),
                konnectivity_port: Value::Value(konn),
            })
        };
        let cases: Vec<(State, &str, &str)> = vec![
            (
                State {
                    k0s_version: Value::Value("1.32".into()),
                    ..minimal()
                },
                "k0s_version",
                "Invalid k0s version",
            ),
            (
                State {
                    replicas: Value::Value(2),
                    ..minimal()
                },
                "replicas",
                "Replicated control plane needs storage",
            ),
            (
                State {
                    replicas: Value::Value(0),
                    ..minimal()
                },
                "replicas",
                "Invalid replicas",
            ),
            (
                State {
                    service: svc("ClusterIP", 70000, 30132),
                    ..minimal()
                },
                "service.api_port",
                "Invalid port",
            ),
            (
                State {
                    service: svc("Ingress", 30443, 30132),
                    ..minimal()
                },
                "service.type",
                "Unknown service type",
            ),
            (
                State {
                    service: svc("NodePort", 6443, 30132),
                    ..minimal()
                },
                "service.api_port",
                "Port outside the NodePort range",
            ),
            (
                State {
                    service: svc("ClusterIP", 30443, 30443),
                    ..minimal()
                },
                "service.konnectivity_port",
                "Ports collide",
            ),
            (
                State {
                    name: Value::Value("Dev_Cluster".into()),
                    ..minimal()
                },
                "name",
                "Invalid name",
            ),
            (
                State {
                    storage: Value::Value(StorageBlock {
                        kind: Value::Value("kine".into()),
                        ..Default::default()
                    }),
                    ..minimal()
                },
                "storage.kine_data_source_url",
                "Missing kine data source",
            ),
            (
                State {
                    storage: Value::Value(StorageBlock {
                        kind: Value::Value("nats".into()),
                        ..Default::default()
                    }),
                    ..minimal()
                },
                "storage.type",
                "Unknown storage type",
            ),
            (
                State {
                    k0s_config: Value::Value("[1, 2]".into()),
                    ..minimal()
                },
                "k0s_config",
                "Invalid k0s_config",
            ),
            (
                State {
                    control_plane_flags: Value::Value(vec![Value::Value("enable-x".into())]),
                    ..minimal()
                },
                "control_plane_flags",
                "Invalid flag",
            ),
            (
                State {
                    persistence: Value::Value(PersistenceBlock {
                        kind: Value::Value("pvc".into()),
                        ..Default::default()
                    }),
                    ..minimal()
                },
                "persistence.size",
                "Missing volume size",
            ),
            (
                State {
                    cert_sans: Value::Value([Value::Value("not a name".into())].into()),
                    ..minimal()
                },
                "cert_sans",
                "Invalid certificate SAN",
            ),
            (
                State {
                    management_cluster_id: Value::Value("nonsense".into()),
                    namespace: Value::Value("x".into()),
                    ..minimal()
                },
                "management_cluster_id",
                "Invalid management cluster id",
            ),
        ];
        for (state, path, summary) in cases {
            let got = problems(&state);
            assert_eq!(
                got,
                vec![(path.to_string(), summary.to_string())],
                "case {path}/{summary}"
            );
        }
    }

    #[test]
    fn kine_url_is_a_secret() {
        let s = State {
            replicas: Value::Value(3),
            storage: Value::Value(StorageBlock {
                kind: Value::Value("kine".into()),
                kine_data_source_url: Value::Value("postgres://u:pw@db/kine".into()),
                etcd: Value::Null,
            }),
            ..minimal()
        };
        let (spec, p) = spec_from_state(&s);
        assert!(p.is_empty(), "{p:?}");
        let spec = spec.unwrap();
        assert!(!format!("{spec:?}").contains("pw@db"));
        assert_eq!(spec.replicas, 3);
    }

    #[test]
    fn k0s_config_accepts_json_and_yaml_objects() {
        assert!(parse_k0s_config(r#"{"spec":{"network":{"provider":"calico"}}}"#).is_ok());
        assert!(parse_k0s_config("spec:\n  network:\n    provider: calico\n").is_ok());
        assert!(parse_k0s_config("\"text\"").is_err());
        assert!(
            parse_k0s_config("apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\n")
                .is_ok()
        );
        let wrong = parse_k0s_config("apiVersion: k0s.k0sproject.io/v1beta2\n").unwrap_err();
        assert!(wrong.contains("k0s.k0sproject.io/v1beta1"), "{wrong}");
        assert!(parse_k0s_config("kind: Cluster\n").is_err());
        // spec.images: a mirror registry passes through, a pull policy k0s refuses does not.
        let mirror = parse_k0s_config(
            r#"{"spec":{"images":{"repository":"registry.site:5000/k0s","default_pull_policy":"Never"}}}"#,
        )
        .unwrap();
        assert_eq!(
            mirror["spec"]["images"]["repository"],
            "registry.site:5000/k0s"
        );
        let policy =
            parse_k0s_config(r#"{"spec":{"images":{"default_pull_policy":"never"}}}"#).unwrap_err();
        assert!(policy.contains("Always, IfNotPresent or Never"), "{policy}");
        assert!(parse_k0s_config(r#"{"spec":{"images":{"repository":""}}}"#).is_err());
    }
}

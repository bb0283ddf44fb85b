//! Bad input gets one clear diagnostic, at the attribute, at `terraform validate` time —
//! through the real CLI, so the attribute paths are checked the way users see them.

mod support;

use support::{required_providers, TfDir};

struct Case {
    /// Resource body (inside `resource "<type>" "x" { ... }`).
    resource: &'static str,
    body: &'static str,
    summary: &'static str,
    /// The configuration line Terraform quotes for the diagnostic.
    line: &'static str,
}

const HCP_BASE: &str = r#"name = "dev"
  management_cluster_id = "ctx/kmc-system"
  k0s_version = "v1.32.6+k0s.0""#;

fn hcp(extra: &str) -> String {
    format!("{HCP_BASE}\n  {extra}")
}

const CASES: &[Case] = &[
    Case { resource: "k0stack_hosted_control_plane", body: "name = \"dev\"\n  management_cluster_id = \"ctx/kmc-system\"\n  k0s_version = \"1.32.6\"", summary: "Invalid k0s version", line: "k0s_version = \"1.32.6\"" },
    Case { resource: "k0stack_hosted_control_plane", body: "@replicas = 2", summary: "Replicated control plane needs storage", line: "replicas = 2" },
    Case { resource: "k0stack_hosted_control_plane", body: "@replicas = 12", summary: "Invalid replicas", line: "replicas = 12" },
    Case { resource: "k0stack_hosted_control_plane", body: "@service {\n    type = \"Ingress\"\n  }", summary: "Unknown service type", line: "type = \"Ingress\"" },
    Case { resource: "k0stack_hosted_control_plane", body: "@service {\n    api_port = 70000\n  }", summary: "Invalid port", line: "api_port = 70000" },
    Case { resource: "k0stack_hosted_control_plane", body: "@service {\n    type = \"NodePort\"\n    api_port = 6443\n  }", summary: "Port outside the NodePort range", line: "api_port = 6443" },
    Case { resource: "k0stack_hosted_control_plane", body: "@storage {\n    type = \"kine\"\n  }", summary: "Missing kine data source", line: "storage {" },
    Case { resource: "k0stack_hosted_control_plane", body: "@storage {\n    type = \"nats\"\n  }", summary: "Unknown storage type", line: "type = \"nats\"" },
    Case { resource: "k0stack_hosted_control_plane", body: "@storage {\n    type = \"etcd\"\n    etcd {\n      size = \"2 GB\"\n    }\n  }", summary: "Invalid size", line: "size = \"2 GB\"" },
    Case { resource: "k0stack_hosted_control_plane", body: "@k0s_config = \"[1, 2]\"", summary: "Invalid k0s_config", line: "k0s_config = \"[1, 2]\"" },
    Case { resource: "k0stack_hosted_control_plane", body: "@control_plane_flags = [\"enable-metrics\"]", summary: "Invalid flag", line: "control_plane_flags = [\"enable-metrics\"]" },
    Case { resource: "k0stack_hosted_control_plane", body: "@cert_sans = [\"not a name\"]", summary: "Invalid certificate SAN", line: "cert_sans = [\"not a name\"]" },
    Case { resource: "k0stack_hosted_control_plane", body: "@persistence {\n    type = \"pvc\"\n  }", summary: "Missing volume size", line: "persistence {" },
    Case { resource: "k0stack_hosted_control_plane", body: "@timeouts {\n    create = \"ten minutes\"\n  }", summary: "Invalid timeout", line: "create = \"ten minutes\"" },
    Case { resource: "k0stack_hosted_control_plane", body: "name = \"Dev_1\"\n  management_cluster_id = \"ctx/kmc-system\"\n  k0s_version = \"v1.32.6+k0s.0\"", summary: "Invalid name", line: "name = \"Dev_1\"" },
    Case { resource: "k0stack_hosted_control_plane", body: "@manifests = { \"cni\" = \"a: b\" }", summary: "Invalid manifest name", line: "manifests = { \"cni\" = \"a: b\" }" },
    Case { resource: "k0stack_management_cluster", body: "namespace = \"KMC\"", summary: "Invalid namespace", line: "namespace = \"KMC\"" },
    Case { resource: "k0stack_management_cluster", body: "k0smotron_manifest = \"apiVersion: v1\\nkind: Namespace\\nmetadata: {name: x}\\n\"", summary: "Not a k0smotron manifest", line: "k0smotron_manifest =" },
    Case { resource: "k0stack_management_cluster", body: "openstack_credentials {\n    clouds_yaml = \"nope\"\n  }", summary: "Invalid clouds.yaml", line: "clouds_yaml = \"nope\"" },
];

#[test]
fn each_invalid_configuration_gets_one_diagnostic_at_its_attribute() {
    let tf = TfDir::new(&format!(
        "{}\nprovider \"k0stack\" {{}}\n",
        required_providers()
    ));
    tf.init();
    for (i, case) in CASES.iter().enumerate() {
        let body = match case.body.strip_prefix('@') {
            Some(extra) => hcp(extra),
            None => case.body.to_string(),
        };
        tf.write(
            "main.tf",
            &format!(
                "{}\nprovider \"k0stack\" {{}}\n\nresource \"{}\" \"x\" {{\n  {body}\n}}\n",
                required_providers(),
                case.resource
            ),
        );
        let out = tf.validate();
        out.assert_failed();
        let all = out.all();
        assert_eq!(
            all.matches("Error: ").count(),
            1,
            "case {i} ({}): expected exactly one error:\n{all}",
            case.summary
        );
        assert!(
            all.contains(&format!("Error: {}", case.summary)),
            "case {i}: summary {:?} missing:\n{all}",
            case.summary
        );
        assert!(
            all.contains(case.line),
            "case {i} ({}): diagnostic does not point at {:?}:\n{all}",
            case.summary,
            case.line
        );
    }
}

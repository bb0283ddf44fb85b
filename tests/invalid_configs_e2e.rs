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

const POOL_BASE: &[(&str, &str)] = &[
    ("name", "\"general\""),
    ("hosted_control_plane_id", "\"kmc-system/dev\""),
    ("size", "3"),
    ("flavor", "\"m1.small\""),
    ("image", "\"ubuntu-24.04\""),
    ("networks", "[\"private\"]"),
];

/// A worker pool body: the base attributes, with `extra` replacing the one it sets (or
/// added, for blocks and optional attributes).
fn pool(extra: &str) -> String {
    let set = extra.split([' ', '=']).next().unwrap_or_default();
    let mut lines: Vec<String> = POOL_BASE
        .iter()
        .filter(|(k, _)| *k != set)
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    lines.push(extra.to_string());
    lines.join("\n  ")
}

/// Provider blocks that do not validate (checked at plan time).
struct ProviderCase {
    block: &'static str,
    summary: &'static str,
    line: &'static str,
}

const PROVIDER_CASES: &[ProviderCase] = &[
    ProviderCase { block: "kubernetes {\n    config_path = \"a\"\n    config_raw = \"b\"\n  }", summary: "Conflicting kubeconfig sources", line: "config_raw = \"b\"" },
    ProviderCase { block: "kubernetes {\n    config_path = \"\"\n  }", summary: "Empty kubeconfig path", line: "config_path = \"\"" },
    ProviderCase { block: "kubernetes {\n    config_context = \" \"\n  }", summary: "Empty context name", line: "config_context = \" \"" },
    ProviderCase { block: "openstack {\n    user_name = \"u\"\n    password = \"p\"\n    application_credential_secret = \"s\"\n  }", summary: "Conflicting OpenStack credentials", line: "application_credential_secret = \"s\"" },
    ProviderCase { block: "openstack {\n    auth_url = \"keystone:5000\"\n  }", summary: "Invalid Keystone URL", line: "auth_url = \"keystone:5000\"" },
    ProviderCase { block: "openstack {\n    endpoint_type = \"private\"\n  }", summary: "Invalid endpoint type", line: "endpoint_type = \"private\"" },
    ProviderCase { block: "openstack {\n    max_retries = 1000\n  }", summary: "Invalid max_retries", line: "max_retries = 1000" },
    ProviderCase { block: "openstack {\n    cloud = \"\"\n  }", summary: "Empty cloud name", line: "cloud = \"\"" },
];

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
    Case { resource: "k0stack_hosted_control_plane", body: "@k0s_config = \"apiVersion: k0s.k0sproject.io/v1beta2\"", summary: "Invalid k0s_config", line: "k0s_config = \"apiVersion: k0s.k0sproject.io/v1beta2\"" },
    Case { resource: "k0stack_hosted_control_plane", body: "@control_plane_flags = [\"enable-metrics\"]", summary: "Invalid flag", line: "control_plane_flags = [\"enable-metrics\"]" },
    Case { resource: "k0stack_hosted_control_plane", body: "@cert_sans = [\"not a name\"]", summary: "Invalid certificate SAN", line: "cert_sans = [\"not a name\"]" },
    Case { resource: "k0stack_hosted_control_plane", body: "@persistence {\n    type = \"pvc\"\n  }", summary: "Missing volume size", line: "persistence {" },
    Case { resource: "k0stack_hosted_control_plane", body: "@timeouts {\n    create = \"ten minutes\"\n  }", summary: "Invalid timeout", line: "create = \"ten minutes\"" },
    Case { resource: "k0stack_hosted_control_plane", body: "name = \"Dev_1\"\n  management_cluster_id = \"ctx/kmc-system\"\n  k0s_version = \"v1.32.6+k0s.0\"", summary: "Invalid name", line: "name = \"Dev_1\"" },
    Case { resource: "k0stack_hosted_control_plane", body: "@manifests = { \"cni\" = \"a: b\" }", summary: "Invalid manifest name", line: "manifests = { \"cni\" = \"a: b\" }" },
    Case { resource: "k0stack_management_cluster", body: "namespace = \"KMC\"", summary: "Invalid namespace", line: "namespace = \"KMC\"" },
    Case { resource: "k0stack_management_cluster", body: "k0smotron_manifest = \"apiVersion: v1\\nkind: Namespace\\nmetadata: {name: x}\\n\"", summary: "Not a k0smotron manifest", line: "k0smotron_manifest =" },
    Case { resource: "k0stack_management_cluster", body: "openstack_credentials {\n    clouds_yaml = \"nope\"\n  }", summary: "Invalid clouds.yaml", line: "clouds_yaml = \"nope\"" },
    // k0stack_hosted_control_plane, more
    Case { resource: "k0stack_hosted_control_plane", body: "@service {\n    type = \"NodePort\"\n    api_port = 30443\n    konnectivity_port = 30443\n  }", summary: "Ports collide", line: "konnectivity_port = 30443" },
    Case { resource: "k0stack_hosted_control_plane", body: "@external_address = \"not valid!\"", summary: "Invalid external address", line: "external_address = \"not valid!\"" },
    Case { resource: "k0stack_hosted_control_plane", body: "@persistence {\n    type = \"nfs\"\n  }", summary: "Unknown persistence type", line: "type = \"nfs\"" },
    Case { resource: "k0stack_hosted_control_plane", body: "@persistence {\n    type = \"hostPath\"\n  }", summary: "Missing host path", line: "persistence {" },
    Case { resource: "k0stack_hosted_control_plane", body: "@storage {\n    type = \"etcd\"\n    kine_data_source_url = \"postgres://db/kine\"\n  }", summary: "kine URL with etcd storage", line: "kine_data_source_url = \"postgres://db/kine\"" },
    Case { resource: "k0stack_hosted_control_plane", body: "@manifests = { \"cni.yaml\" = \"a: [\" }", summary: "Invalid manifest", line: "manifests = { \"cni.yaml\" = \"a: [\" }" },
    Case { resource: "k0stack_hosted_control_plane", body: "name = \"dev\"\n  management_cluster_id = \"nope\"\n  k0s_version = \"v1.32.6+k0s.0\"", summary: "Invalid management cluster id", line: "management_cluster_id = \"nope\"" },
    Case { resource: "k0stack_hosted_control_plane", body: "@replicas = 0", summary: "Invalid replicas", line: "replicas = 0" },
    // k0stack_management_cluster, more
    Case { resource: "k0stack_management_cluster", body: "namespace = \"-kmc\"", summary: "Invalid namespace", line: "namespace = \"-kmc\"" },
    Case { resource: "k0stack_management_cluster", body: "k0smotron_manifest = \"\"", summary: "Empty manifest", line: "k0smotron_manifest = \"\"" },
    Case { resource: "k0stack_management_cluster", body: "k0smotron_manifest = \"a: [\"", summary: "Invalid manifest", line: "k0smotron_manifest = \"a: [\"" },
    Case { resource: "k0stack_management_cluster", body: "openstack_credentials {\n    secret_name = \"Bad_Name\"\n  }", summary: "Invalid Secret name", line: "secret_name = \"Bad_Name\"" },
    Case { resource: "k0stack_management_cluster", body: "timeouts {\n    create = \"forever\"\n  }", summary: "Invalid timeout", line: "create = \"forever\"" },
    // k0stack_worker_pool (issue 6: size < 0, bad taint syntax, max_surge = max_unavailable = 0, ...)
    Case { resource: "k0stack_worker_pool", body: "%size = -1", summary: "Invalid size", line: "size = -1" },
    Case { resource: "k0stack_worker_pool", body: "%size = 5000", summary: "Invalid size", line: "size = 5000" },
    Case { resource: "k0stack_worker_pool", body: "%taints = [\"gpu=true\"]", summary: "Invalid taint", line: "taints = [\"gpu=true\"]" },
    Case { resource: "k0stack_worker_pool", body: "%taints = [\"gpu=true:Sometimes\"]", summary: "Invalid taint", line: "taints = [\"gpu=true:Sometimes\"]" },
    Case { resource: "k0stack_worker_pool", body: "%taints = [\"bad key=x:NoSchedule\"]", summary: "Invalid taint", line: "taints = [\"bad key=x:NoSchedule\"]" },
    Case { resource: "k0stack_worker_pool", body: "%rolling_update {\n    max_surge = 0\n    max_unavailable = 0\n  }", summary: "Rolling update cannot progress", line: "max_unavailable = 0" },
    Case { resource: "k0stack_worker_pool", body: "%rolling_update {\n    max_surge = -1\n  }", summary: "Invalid rolling update bound", line: "max_surge = -1" },
    Case { resource: "k0stack_worker_pool", body: "%name = \"General Pool\"", summary: "Invalid pool name", line: "name = \"General Pool\"" },
    Case { resource: "k0stack_worker_pool", body: "%hosted_control_plane_id = \"dev\"", summary: "Invalid hosted control plane id", line: "hosted_control_plane_id = \"dev\"" },
    Case { resource: "k0stack_worker_pool", body: "%networks = []", summary: "No network", line: "networks = []" },
    Case { resource: "k0stack_worker_pool", body: "%labels = { \"bad key\" = \"x\" }", summary: "Invalid label", line: "labels = { \"bad key\" = \"x\" }" },
    Case { resource: "k0stack_worker_pool", body: "%extra_user_data = \"#!/bin/sh\\necho hi\\n\"", summary: "Invalid extra_user_data", line: "extra_user_data =" },
    Case { resource: "k0stack_worker_pool", body: "%max_parallel = 0", summary: "Invalid max_parallel", line: "max_parallel = 0" },
    Case { resource: "k0stack_worker_pool", body: "%drain {\n    timeout = \"soon\"\n  }", summary: "Invalid duration", line: "timeout = \"soon\"" },
    Case { resource: "k0stack_worker_pool", body: "%boot_volume {\n    size = 0\n  }", summary: "Invalid boot volume size", line: "size = 0" },
    Case { resource: "k0stack_worker_pool", body: "%k0s_download_url = \"ftp://x\"", summary: "Invalid download URL", line: "k0s_download_url = \"ftp://x\"" },
    Case { resource: "k0stack_worker_pool", body: "%k0s_version = \"1.32\"", summary: "Invalid k0s version", line: "k0s_version = \"1.32\"" },
    Case { resource: "k0stack_worker_pool", body: "%server_group_policy = \"affinity\"", summary: "Unknown server group policy", line: "server_group_policy = \"affinity\"" },
    Case { resource: "k0stack_worker_pool", body: "%flavor = \"\"", summary: "Empty flavor", line: "flavor = \"\"" },
    Case { resource: "k0stack_worker_pool", body: "%image = \"  \"", summary: "Empty image", line: "image = \"  \"" },
    Case { resource: "k0stack_worker_pool", body: "%timeouts {\n    create = \"forever\"\n  }", summary: "Invalid timeout", line: "create = \"forever\"" },
    Case { resource: "k0stack_worker_pool", body: "%airgap {\n    bundle_url = \"/srv/bundle.tar\"\n  }", summary: "Invalid bundle URL", line: "bundle_url = \"/srv/bundle.tar\"" },
    Case { resource: "k0stack_worker_pool", body: "%airgap {\n    bundle_url    = \"https://m/b.tar\"\n    bundle_sha256 = \"abc\"\n  }", summary: "Invalid SHA-256", line: "bundle_sha256 = \"abc\"" },
    Case { resource: "k0stack_worker_pool", body: "%k0s_version = \"v1.32.6+k0s.0\"\n  airgap {\n    bundle_url = \"https://m/k0s-airgap-bundle-v1.31.2+k0s.0-amd64\"\n  }", summary: "Image bundle of another k0s version", line: "bundle_url = \"https://m/k0s-airgap-bundle-v1.31.2+k0s.0-amd64\"" },
];

fn assert_one_diagnostic(out: &support::TfOutput, what: &str, summary: &str, line: &str) {
    out.assert_failed();
    let all = out.all();
    for needle in ["panic", "plugin crashed", "Plugin did not respond"] {
        assert!(
            !all.contains(needle),
            "{what}: {needle:?} in the output:\n{all}"
        );
    }
    assert_eq!(
        all.matches("Error: ").count(),
        1,
        "{what} ({summary}): expected exactly one error:\n{all}"
    );
    assert!(
        all.contains(&format!("Error: {summary}")),
        "{what}: summary {summary:?} missing:\n{all}"
    );
    assert!(
        all.contains(line),
        "{what} ({summary}): diagnostic does not point at {line:?}:\n{all}"
    );
}

#[test]
fn each_invalid_configuration_gets_one_diagnostic_at_its_attribute() {
    assert!(CASES.len() + PROVIDER_CASES.len() >= 40);
    let tf = TfDir::new(&format!(
        "{}\nprovider \"k0stack\" {{}}\n",
        required_providers()
    ));
    tf.init();
    for (i, case) in CASES.iter().enumerate() {
        let body = match (case.body.strip_prefix('@'), case.body.strip_prefix('%')) {
            (Some(extra), _) => hcp(extra),
            (_, Some(extra)) => pool(extra),
            _ => case.body.to_string(),
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
        let what = format!("case {i}");
        assert_one_diagnostic(&out, &what, case.summary, case.line);
        // Terraform names the resource: "with <type>.x, on main.tf line N, in resource ...".
        assert!(
            out.all().contains(&format!("with {}.x", case.resource)),
            "{what}: the diagnostic does not name the resource:\n{}",
            out.all()
        );
    }
    for (i, case) in PROVIDER_CASES.iter().enumerate() {
        tf.write(
            "main.tf",
            &format!(
                "{}\nprovider \"k0stack\" {{\n  {}\n}}\n\nresource \"k0stack_management_cluster\" \"x\" {{}}\n",
                required_providers(),
                case.block
            ),
        );
        // `terraform validate` leaves the provider block to plan (Terraform 1.0).
        let out = tf.plan();
        let what = format!("provider case {i}");
        assert_one_diagnostic(&out, &what, case.summary, case.line);
        assert!(
            out.all().contains("in provider \"k0stack\""),
            "{what}: not located in the provider block:\n{}",
            out.all()
        );
    }
}

/// Plan-time checks against the cloud (issue 6): names that do not exist (the message lists
/// what does), a worker version newer than the control plane, and the static errors, all
/// fail `terraform apply` at plan time, and nothing is created.
#[test]
fn plan_time_lookups_fail_before_anything_is_created() {
    let cloud = support::CloudSim::start();
    let tf = TfDir::new("");
    cloud.write_files(&tf);
    let base = cloud.dev_control_plane_config();
    let with_pool = |extra: &str| {
        let body = pool(extra).replace(
            "hosted_control_plane_id = \"kmc-system/dev\"",
            "hosted_control_plane_id = k0stack_hosted_control_plane.dev.id",
        );
        format!("{base}\nresource \"k0stack_worker_pool\" \"x\" {{\n  {body}\n}}\n")
    };
    let clusters = |cloud: &support::CloudSim| {
        let store = cloud.k8s.api.store.lock().unwrap();
        match store.find("k0smotron.io", "v1beta2", "clusters") {
            Some(rt) => store.list(&rt, None, None).len(),
            None => 0,
        }
    };

    // From nothing: a typo in the flavor fails the first plan; not even the control plane
    // is created.
    tf.write("main.tf", &with_pool("flavor = \"m1.smal\""));
    tf.init();
    let out = tf.apply();
    assert_one_diagnostic(&out, "fresh", "Unknown flavor", "flavor = \"m1.smal\"");
    out.assert_contains("m1.small");
    assert_eq!(clusters(&cloud), 0, "a control plane was created");
    assert!(cloud.servers().is_empty());

    // With the control plane in place: every case is refused at plan time.
    tf.write("main.tf", &base);
    tf.apply().assert_ok();
    let cases: &[(&str, &str, &str, &[&str])] = &[
        (
            "flavor = \"m1.huge\"",
            "Unknown flavor",
            "flavor = \"m1.huge\"",
            &["flavor 'm1.huge' not found", "m1.small", "m1.medium"],
        ),
        (
            "image = \"ubuntu-99.04\"",
            "Unknown image",
            "image = \"ubuntu-99.04\"",
            &["ubuntu-24.04", "ubuntu-22.04"],
        ),
        (
            "networks = [\"privat\"]",
            "Unknown network",
            "networks = [\"privat\"]",
            &["private", "public"],
        ),
        (
            "security_groups = [\"k0s-workers\"]",
            "Unknown security group",
            "security_groups = [\"k0s-workers\"]",
            &["k0s-worker"],
        ),
        (
            "k0s_version = \"v1.33.1+k0s.0\"",
            "Worker version newer than the control plane",
            "k0s_version = \"v1.33.1+k0s.0\"",
            &["v1.32.6+k0s.0"],
        ),
        (
            "availability_zones = [\"az1\", \"az9\"]",
            "Unknown availability zone",
            "availability_zones = [\"az1\", \"az9\"]",
            &["availability zone 'az9' not found", "az1", "az2"],
        ),
        ("size = -1", "Invalid size", "size = -1", &[]),
        (
            "taints = [\"gpu=true\"]",
            "Invalid taint",
            "taints = [\"gpu=true\"]",
            &["key=value:Effect"],
        ),
        (
            "rolling_update {\n    max_surge = 0\n    max_unavailable = 0\n  }",
            "Rolling update cannot progress",
            "max_unavailable = 0",
            &[],
        ),
    ];
    for (extra, summary, line, mentions) in cases {
        tf.write("main.tf", &with_pool(extra));
        let out = tf.apply();
        assert_one_diagnostic(&out, extra, summary, line);
        for m in *mentions {
            out.assert_contains(m);
        }
        assert!(
            cloud.servers().is_empty(),
            "{extra}: servers created: {:#?}",
            cloud.servers()
        );
    }
    tf.write("main.tf", &base);
    tf.destroy().assert_ok();
}

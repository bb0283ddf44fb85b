//! e2e: the real Terraform CLI against the provider binary — init offline, validate, plan,
//! provider configuration from attributes and environment, and clean diagnostics.

mod support;

use support::{required_providers, TfDir};

const KUBECONFIG: &str = r#"apiVersion: v1
kind: Config
clusters:
- name: mgmt
  cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}
contexts:
- name: mgmt
  context: {cluster: mgmt, user: admin}
- name: staging
  context: {cluster: mgmt, user: admin}
current-context: mgmt
users:
- name: admin
  user: {token: kube-token-must-not-leak}
"#;

const CLOUDS_YAML: &str = r#"clouds:
  sim:
    auth:
      auth_url: http://127.0.0.1:5000/v3
      username: demo
      password: yaml-password-must-not-leak
      project_name: demo
    region_name: RegionOne
"#;

fn with_client_config(provider_block: &str) -> String {
    format!(
        "{}\n{provider_block}\n\ndata \"k0stack_client_config\" \"this\" {{}}\n\noutput \"client\" {{\n  value = data.k0stack_client_config.this\n}}\n",
        required_providers()
    )
}

#[test]
fn init_validate_plan_with_an_empty_provider_block() {
    let tf = TfDir::new(&with_client_config("provider \"k0stack\" {}"));
    tf.init()
        .assert_contains("Installing k0stack/k0stack v0.1.0");
    tf.validate()
        .assert_ok()
        .assert_contains("The configuration is valid");
    tf.plan()
        .assert_ok()
        .assert_no_crash()
        .assert_contains("kubernetes_source")
        .assert_contains("\"not configured\"");
}

#[test]
fn provider_settings_come_from_attributes_env_and_files() {
    let mut tf = TfDir::new(&with_client_config(
        r#"provider "k0stack" {
  kubernetes {
    config_path    = "${path.module}/kubeconfig"
    config_context = "staging"
  }
  openstack {
    cloud       = "sim"
    clouds_yaml = "${path.module}/clouds.yaml"
    region      = "AttrRegion"
  }
}"#,
    ));
    tf.write("kubeconfig", KUBECONFIG);
    tf.write("clouds.yaml", CLOUDS_YAML);
    tf.set_env("OS_INTERFACE", "internal");
    tf.init();
    tf.apply().assert_ok().assert_no_crash();
    let out = tf.outputs();
    let c = &out["client"]["value"];
    assert_eq!(c["openstack_auth_url"], "http://127.0.0.1:5000/v3");
    assert_eq!(
        c["openstack_region"], "AttrRegion",
        "attributes beat clouds.yaml"
    );
    assert_eq!(
        c["openstack_interface"], "internal",
        "OS_* beats clouds.yaml"
    );
    assert_eq!(c["openstack_auth_method"], "password");
    assert!(c["openstack_source"]
        .as_str()
        .unwrap()
        .contains("cloud 'sim'"));
    assert!(c["kubernetes_source"]
        .as_str()
        .unwrap()
        .contains("context staging"));
    assert_eq!(c["kubernetes_server"], "https://127.0.0.1:6443/");
}

#[test]
fn environment_alone_configures_the_provider() {
    let mut tf = TfDir::new(&with_client_config("provider \"k0stack\" {}"));
    let kc = tf.write("kc.yaml", KUBECONFIG);
    tf.set_env("KUBECONFIG", kc.display().to_string())
        .set_env("OS_AUTH_URL", "https://keystone.example.com:5000/v3")
        .set_env("OS_APPLICATION_CREDENTIAL_ID", "app-id")
        .set_env(
            "OS_APPLICATION_CREDENTIAL_SECRET",
            "app-secret-must-not-leak",
        );
    tf.init();
    tf.apply().assert_ok();
    let c = &tf.outputs()["client"]["value"];
    assert_eq!(c["openstack_auth_method"], "application_credential");
    assert_eq!(
        c["openstack_auth_url"],
        "https://keystone.example.com:5000/v3"
    );
    assert!(c["kubernetes_source"]
        .as_str()
        .unwrap()
        .starts_with("KUBECONFIG"));
    // Nothing secret is stored in state.
    let state = std::fs::read_to_string(tf.path().join("terraform.tfstate")).unwrap();
    assert!(!state.contains("must-not-leak"));
}

/// One bad provider block and what Terraform must show for it.
struct BadCase {
    name: &'static str,
    block: &'static str,
    /// Run `validate` (static checks) or `plan` (configure-time checks).
    at_validate: bool,
    summary: &'static str,
    /// The configuration line Terraform quotes: proves the diagnostic names the attribute.
    attribute_line: &'static str,
    detail: &'static str,
}

const BAD_CASES: &[BadCase] = &[
    BadCase {
        name: "password and application credential",
        block: r#"openstack {
    password                      = "pw"
    application_credential_id     = "id"
    application_credential_secret = "sec"
  }"#,
        at_validate: true,
        summary: "Error: Conflicting OpenStack credentials",
        attribute_line: r#"application_credential_secret = "sec""#,
        detail: "cannot both be set",
    },
    BadCase {
        name: "bad endpoint type",
        block: r#"openstack {
    endpoint_type = "private"
  }"#,
        at_validate: true,
        summary: "Error: Invalid endpoint type",
        attribute_line: r#"endpoint_type = "private""#,
        detail: "public, internal, admin",
    },
    BadCase {
        name: "auth_url that is not a URL",
        block: r#"openstack {
    auth_url = "keystone:5000"
  }"#,
        at_validate: true,
        summary: "Error: Invalid Keystone URL",
        attribute_line: r#"auth_url = "keystone:5000""#,
        detail: "must be an http(s) URL",
    },
    BadCase {
        name: "negative max_retries",
        block: r#"openstack {
    max_retries = -1
  }"#,
        at_validate: true,
        summary: "Error: Invalid max_retries",
        attribute_line: "max_retries = -1",
        detail: "between 0 and 100",
    },
    BadCase {
        name: "both kubeconfig sources",
        block: r#"kubernetes {
    config_path = "/tmp/kc"
    config_raw  = "apiVersion: v1"
  }"#,
        at_validate: true,
        summary: "Error: Conflicting kubeconfig sources",
        attribute_line: r#"config_raw  = "apiVersion: v1""#,
        detail: "cannot both be set",
    },
    BadCase {
        name: "unknown cloud",
        block: r#"openstack {
    cloud       = "nope"
    clouds_yaml = "${path.module}/clouds.yaml"
  }"#,
        at_validate: false,
        summary: "Error: Unknown cloud",
        attribute_line: r#"cloud       = "nope""#,
        detail: "available: sim",
    },
    BadCase {
        name: "unreadable config_path",
        block: r#"kubernetes {
    config_path = "/nonexistent/kubeconfig"
  }"#,
        at_validate: false,
        summary: "Error: Cannot read kubeconfig",
        attribute_line: r#"config_path = "/nonexistent/kubeconfig""#,
        detail: "No such file or directory",
    },
    BadCase {
        name: "unknown context",
        block: r#"kubernetes {
    config_path    = "${path.module}/kubeconfig"
    config_context = "prod"
  }"#,
        at_validate: false,
        summary: "Error: Unknown kubeconfig context",
        attribute_line: r#"config_context = "prod""#,
        detail: "available: mgmt, staging",
    },
    BadCase {
        name: "password without user",
        block: r#"openstack {
    auth_url     = "https://keystone.example.com/v3"
    password     = "pw"
    project_name = "p"
  }"#,
        at_validate: false,
        summary: "Error: Missing OpenStack user",
        attribute_line: "openstack {",
        detail: "OS_USERNAME",
    },
];

#[test]
fn bad_provider_blocks_give_one_clear_diagnostic_at_the_attribute() {
    for case in BAD_CASES {
        let mut tf = TfDir::new(&with_client_config(&format!(
            "provider \"k0stack\" {{\n  {}\n}}",
            case.block
        )));
        tf.write("clouds.yaml", CLOUDS_YAML);
        tf.write("kubeconfig", KUBECONFIG);
        // Users with RUST_BACKTRACE set must still see clean diagnostics.
        tf.set_env("RUST_BACKTRACE", "1");
        tf.init();
        let out = if case.at_validate {
            tf.validate()
        } else {
            tf.plan()
        };
        out.assert_failed();
        let all = out.all();
        assert!(
            all.contains(case.summary),
            "[{}] missing summary {:?}:\n{all}",
            case.name,
            case.summary
        );
        assert!(
            all.contains(case.attribute_line),
            "[{}] diagnostic does not point at {:?}:\n{all}",
            case.name,
            case.attribute_line
        );
        // Terraform wraps long details: compare with whitespace runs squashed.
        let squashed = all.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            squashed.contains(case.detail),
            "[{}] missing detail {:?}:\n{all}",
            case.name,
            case.detail
        );
        assert_eq!(
            all.matches("Error: ").count(),
            1,
            "[{}] expected exactly one error:\n{all}",
            case.name
        );
        assert!(
            !all.contains("backtrace") && !all.contains(".rs:"),
            "[{}] Rust internals leaked:\n{all}",
            case.name
        );
    }
}

#[test]
fn tf_log_debug_shows_provider_logs_without_secrets() {
    let mut tf = TfDir::new(&with_client_config(
        r#"provider "k0stack" {
  kubernetes {
    config_path = "${path.module}/kubeconfig"
  }
}"#,
    ));
    tf.write("kubeconfig", KUBECONFIG);
    tf.set_env("OS_AUTH_URL", "https://keystone.example.com/v3")
        .set_env("OS_USERNAME", "demo")
        .set_env("OS_PASSWORD", "os-password-must-not-leak")
        .set_env("OS_PROJECT_NAME", "demo");
    tf.init();
    tf.set_env("TF_LOG", "DEBUG");
    let out = tf.plan();
    out.assert_ok();
    let provider_lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("provider.terraform-provider-k0stack"))
        .collect();
    assert!(
        provider_lines
            .iter()
            .any(|l| l.contains("provider configured") && l.contains("@module=k0stack.provider")),
        "no structured provider log line in TF_LOG=DEBUG output:\n{}",
        out.stderr
    );
    assert!(
        !out.all().contains("must-not-leak"),
        "a secret reached the logs"
    );
}

#[test]
fn make_install_then_plain_init_works_offline() {
    // `make install` copies the binary to ~/.terraform.d/plugins/registry.terraform.io/k0stack/k0stack/<v>/<os_arch>/.
    // Run the real target with a debug build and a private plugin root, then a plain
    // `terraform init` with HOME pointing there and no CLI configuration at all.
    let tf = TfDir::new(&required_providers());
    let plugins = tf.home.join(".terraform.d/plugins");
    let make = std::process::Command::new("make")
        .current_dir(support::repo_root())
        .args(["--no-print-directory", "install", "INSTALL_PROFILE=debug"])
        .arg(format!("PLUGINS_ROOT={}", plugins.display()))
        .output()
        .expect("run make install");
    assert!(
        make.status.success(),
        "make install failed:\n{}",
        String::from_utf8_lossy(&make.stderr)
    );
    let installed = plugins
        .join("registry.terraform.io/k0stack/k0stack")
        .join(support::PROVIDER_VERSION)
        .join(support::platform())
        .join(format!(
            "terraform-provider-k0stack_v{}",
            support::PROVIDER_VERSION
        ));
    assert!(
        installed.is_file(),
        "make install did not create {}",
        installed.display()
    );
    let mut tf = tf;
    tf.remove_env("TF_CLI_CONFIG_FILE");
    tf.init()
        .assert_contains("Installing k0stack/k0stack v0.1.0");
    tf.validate().assert_ok();
}

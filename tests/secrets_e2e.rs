//! Secrets never reach Terraform's output or its TRACE log: a full create / plan / destroy
//! of a management cluster, a hosted control plane and a worker pool with `TF_LOG=TRACE`,
//! then every secret the run handled is searched for in the log file, stdout and stderr.

mod support;

use support::{CloudSim, TfDir, TfOutput};

const NS: &str = "kmc-system";

fn config(cloud: &CloudSim) -> String {
    format!(
        r#"{header}
resource "k0stack_management_cluster" "this" {{
  namespace = "{NS}"
  # Both clouds of the file (password and application credential) go through the provider.
  openstack_credentials {{
    clouds_yaml = file("${{path.module}}/clouds.yaml")
  }}
}}

resource "k0stack_hosted_control_plane" "dev" {{
  name                  = "dev"
  management_cluster_id = k0stack_management_cluster.this.id
  k0s_version           = "v1.32.6+k0s.0"
  service {{
    type = "NodePort"
  }}
}}

resource "k0stack_worker_pool" "general" {{
  name                    = "general"
  hosted_control_plane_id = k0stack_hosted_control_plane.dev.id
  size                    = 2
  flavor                  = "m1.small"
  image                   = "ubuntu-24.04"
  networks                = ["private"]
}}

output "client_key" {{
  value     = k0stack_hosted_control_plane.dev.client_key
  sensitive = true
}}

output "kubeconfig" {{
  value     = k0stack_hosted_control_plane.dev.kubeconfig
  sensitive = true
}}
"#,
        header = cloud.provider_config()
    )
}

/// The `content` of the `/etc/k0s.token` entry of a cloud-config's write_files.
fn join_token(user_data: &str) -> String {
    let doc: serde_yaml::Value = serde_yaml::from_str(user_data).expect("user_data is YAML");
    doc["write_files"]
        .as_sequence()
        .expect("write_files")
        .iter()
        .find(|f| f["path"].as_str() == Some("/etc/k0s.token"))
        .and_then(|f| f["content"].as_str())
        .expect("/etc/k0s.token in user_data")
        .trim()
        .to_string()
}

#[test]
fn no_secret_reaches_the_trace_log_or_the_output() {
    let cloud = CloudSim::start();
    let mut tf = TfDir::new("");
    cloud.write_files(&tf);
    tf.write("main.tf", &config(&cloud));
    let log = tf.path().join("terraform-trace.log");
    tf.set_env("TF_LOG", "TRACE");
    tf.set_env("TF_LOG_PATH", log.display().to_string());
    tf.init();

    let mut outputs: Vec<TfOutput> = Vec::new();
    let out = tf.apply();
    out.assert_ok();
    outputs.push(out);
    let out = tf.plan_exit_code();
    assert_eq!(out.code, Some(0), "{}", out.all());
    outputs.push(out);

    // The secrets, read where they live (reading them is not part of the checked output).
    let creds = cloud.os.credentials();
    let hcp_out = tf.outputs();
    let client_key = hcp_out["client_key"]["value"]
        .as_str()
        .expect("client_key output")
        .to_string();
    let kubeconfig = hcp_out["kubeconfig"]["value"]
        .as_str()
        .expect("kubeconfig output")
        .to_string();
    let servers = cloud.servers();
    assert!(!servers.is_empty());
    let tokens: Vec<String> = servers
        .iter()
        .map(|s| join_token(s.user_data.as_deref().expect("user_data")))
        .collect();
    let mgmt_kubeconfig = cloud.k8s.kubeconfig();

    let out = tf.destroy();
    out.assert_ok();
    outputs.push(out);
    assert!(
        cloud
            .servers()
            .iter()
            .all(|s| s.deleting || s.status == "DELETED")
            || cloud.servers().is_empty()
    );

    let mut secrets: Vec<(&str, String)> = vec![
        ("OpenStack password", creds.password.clone()),
        (
            "application credential secret",
            creds.application_credential_secret.clone(),
        ),
        ("management bearer token", cloud.k8s.token.clone()),
        ("hosted client key", client_key.clone()),
        // The PEM body of the key, line by line (a log could re-wrap the PEM).
        ("hosted kubeconfig", kubeconfig.clone()),
    ];
    for line in client_key
        .lines()
        .filter(|l| l.len() > 20 && !l.starts_with("-----"))
    {
        secrets.push(("hosted client key (a line)", line.to_string()));
    }
    for t in &tokens {
        secrets.push(("join token", t.clone()));
    }
    for line in mgmt_kubeconfig
        .lines()
        .chain(kubeconfig.lines())
        .filter(|l| l.contains("client-key-data") || l.contains("token:"))
    {
        let value = line.split_once(':').map(|(_, v)| v.trim()).unwrap_or("");
        if value.len() > 8 {
            secrets.push(("kubeconfig credential", value.to_string()));
        }
    }
    for (what, s) in &secrets {
        assert!(s.len() >= 8, "{what} is too short to search for: {s:?}");
    }

    let trace = std::fs::read_to_string(&log).expect("TF_LOG_PATH written");
    assert!(
        trace.len() > 10_000 && trace.contains("[TRACE]"),
        "the log is not a TRACE log ({} bytes)",
        trace.len()
    );
    let mut haystacks: Vec<(String, String)> = vec![("TRACE log".into(), trace)];
    for o in &outputs {
        haystacks.push((format!("terraform {:?}", o.args), o.all()));
    }
    let mut leaks = Vec::new();
    for (where_, text) in &haystacks {
        for (what, secret) in &secrets {
            if text.contains(secret.as_str()) {
                leaks.push(format!("{what} in the {where_}"));
            }
        }
        // Kubeconfig text of any kind.
        for marker in [
            "client-key-data",
            "kind: Config",
            "BEGIN EC PRIVATE KEY",
            "BEGIN PRIVATE KEY",
            "BEGIN RSA PRIVATE KEY",
        ] {
            if text.contains(marker) {
                leaks.push(format!("{marker:?} in the {where_}"));
            }
        }
    }
    leaks.sort();
    leaks.dedup();
    assert!(leaks.is_empty(), "secrets leaked: {leaks:#?}");
}

//! e2e (issue 14 item 1): worker pools follow a control-plane upgrade in one apply, in both
//! forms — `k0s_version` unset (the default follows the control plane) and
//! `k0s_version = k0stack_hosted_control_plane.dev.k0s_version` — with the control plane
//! rolled before any worker, every new node's kubelet at the new version, and an empty plan
//! afterwards. Also with `wait_for_ready = false` on the control plane: the pools wait for
//! it themselves.

mod support;

use support::{CloudSim, TfDir};

const OLD: &str = "v1.32.6+k0s.0";
const NEW: &str = "v1.33.1+k0s.0";

fn config(cloud: &CloudSim, version: &str, hcp_extra: &str) -> String {
    format!(
        r#"{provider}
resource "k0stack_management_cluster" "this" {{
  namespace = "kmc-system"
}}

resource "k0stack_hosted_control_plane" "dev" {{
  name                  = "dev"
  management_cluster_id = k0stack_management_cluster.this.id
  k0s_version           = "{version}"
  service {{
    type = "NodePort"
  }}
  {hcp_extra}
}}

resource "k0stack_worker_pool" "follows" {{
  name                    = "follows"
  hosted_control_plane_id = k0stack_hosted_control_plane.dev.id
  size                    = 2
  flavor                  = "m1.small"
  image                   = "ubuntu-24.04"
  networks                = ["private"]
}}

resource "k0stack_worker_pool" "pinned" {{
  name                    = "pinned"
  hosted_control_plane_id = k0stack_hosted_control_plane.dev.id
  k0s_version             = k0stack_hosted_control_plane.dev.k0s_version
  size                    = 1
  flavor                  = "m1.small"
  image                   = "ubuntu-24.04"
  networks                = ["private"]
}}
"#,
        provider = cloud.provider_config()
    )
}

/// The control plane's `kubeconfig` attribute from the state.
fn hosted_kubeconfig(tf: &TfDir) -> String {
    let out = tf.run(&["show", "-json"]);
    out.assert_ok();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    v["values"]["root_module"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "k0stack_hosted_control_plane.dev")
        .and_then(|r| r["values"]["kubeconfig"].as_str())
        .expect("the control plane's kubeconfig in the state")
        .to_string()
}

fn upgrade_rolls_the_control_plane_then_the_pools(hcp_extra: &str) {
    let cloud = CloudSim::start();
    let tf = TfDir::new("");
    cloud.write_files(&tf);
    tf.write("main.tf", &config(&cloud, OLD, hcp_extra));
    tf.init();
    tf.apply().assert_ok();
    let before = cloud.history().last().map(|e| e.seq).unwrap_or(0);

    tf.write("main.tf", &config(&cloud, NEW, hcp_extra));
    let plan = tf.plan();
    plan.assert_ok();
    // The control plane and both pools plan the new version (the pools: the one the
    // control plane is planned to run, not the one it runs).
    assert_eq!(
        plan.stdout
            .lines()
            .filter(|l| l.contains("k0s_version") && l.contains(&format!("\"{OLD}\" -> \"{NEW}\"")))
            .count(),
        3,
        "{}",
        plan.stdout
    );
    let out = tf.apply();
    assert!(!out.all().contains("inconsistent"), "{}", out.all());
    out.assert_ok();
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(0), "the plan is not empty:\n{}", plan.all());

    // The control plane was available at the new version before the first new server.
    let history = cloud.history();
    let available = history
        .iter()
        .find(|e| e.seq > before && e.kind == "cluster.available" && e.name == NEW)
        .map(|e| e.seq)
        .expect("the control plane became available at the new version");
    let first_create = history
        .iter()
        .find(|e| e.seq > before && e.kind == "server.create")
        .map(|e| e.seq)
        .expect("the pools rolled");
    assert!(
        available < first_create,
        "a worker was created before the control plane ran {NEW}: {history:?}"
    );
    // Every node runs the new kubelet, and the hosted API reports the new version.
    let nodes = cloud.hosted_nodes("kmc-system", "dev");
    assert_eq!(nodes.len(), 3);
    for n in &nodes {
        assert_eq!(
            n["status"]["nodeInfo"]["kubeletVersion"], "v1.33.1+k0s",
            "{n}"
        );
    }
    let kubeconfig = tf.write("dev.kubeconfig", &hosted_kubeconfig(&tf));
    let (ok, stdout, stderr) = support::kubectl(&kubeconfig, &["version", "-o", "json"]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["serverVersion"]["gitVersion"], "v1.33.1+k0s", "{stdout}");
}

#[test]
fn pools_follow_a_control_plane_upgrade_in_one_apply() {
    upgrade_rolls_the_control_plane_then_the_pools("");
}

#[test]
fn pools_wait_for_a_control_plane_that_does_not_wait_for_itself() {
    upgrade_rolls_the_control_plane_then_the_pools("wait_for_ready = false");
}

//! Helpers of the hosted control plane e2e tests: a management cluster simulator with the
//! provider pointed at it, configurations of control planes, the plan as JSON, live objects.

use std::time::Duration;

use k0stack_sim::k8s::K8sOptions;
use serde_json::Value;

use super::identity as id;
use super::{required_providers, MgmtSim, TfDir};

pub const NS: &str = "kmc-system";

/// The provider block and required_providers for a `MgmtSim` (kubeconfig `mgmt.kubeconfig`).
pub fn provider() -> String {
    format!(
        r#"{}
provider "k0stack" {{
  kubernetes {{
    config_path = "${{path.module}}/mgmt.kubeconfig"
  }}
}}
"#,
        required_providers()
    )
}

/// A control plane `name` in `kmc-system` with the extra arguments `body`.
pub fn hcp(name: &str, body: &str) -> String {
    hcp_in("mgmt/kmc-system", name, body)
}

/// [`hcp`] with another `management_cluster_id`.
pub fn hcp_in(mgmt_id: &str, name: &str, body: &str) -> String {
    format!(
        r#"
resource "k0stack_hosted_control_plane" "{name}" {{
  name                  = "{name}"
  management_cluster_id = "{mgmt_id}"
  k0s_version           = "v1.32.6+k0s.0"
  {body}
}}
"#
    )
}

/// A started simulator and an initialised working directory with `config` (after the
/// provider block).
pub fn start(config: &str) -> (MgmtSim, TfDir) {
    let sim = MgmtSim::start(K8sOptions {
        ready_delay: Duration::from_millis(300),
        ..Default::default()
    });
    let tf = TfDir::new(&format!("{}{config}", provider()));
    tf.write("mgmt.kubeconfig", &sim.sim.kubeconfig());
    tf.init().assert_ok();
    (sim, tf)
}

/// Rewrites main.tf with `config` (after the provider block).
pub fn reconfigure(tf: &TfDir, config: &str) {
    tf.write("main.tf", &format!("{}{config}", provider()));
}

/// `terraform plan -out` then `show -json`: the plan.
pub fn plan_json(tf: &TfDir, file: &str) -> Value {
    tf.run(&["plan", "-no-color", "-input=false", &format!("-out={file}")])
        .assert_ok();
    let show = tf.run(&["show", "-json", file]);
    show.assert_ok();
    serde_json::from_str(&show.stdout).expect("plan JSON")
}

/// The change of `address` in a plan JSON.
pub fn change<'a>(plan: &'a Value, address: &str) -> &'a Value {
    plan["resource_changes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["address"] == address)
        .map(|c| &c["change"])
        .unwrap_or_else(|| panic!("no change of {address} in {plan:#}"))
}

/// `terraform plan -detailed-exitcode` is 0.
#[track_caller]
pub fn plan_is_empty(tf: &TfDir) {
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(0), "plan not empty:\n{}", plan.all());
}

/// The live Cluster `name` (v1beta2).
pub fn cluster(sim: &MgmtSim, name: &str) -> Value {
    id::object(&sim.sim, "k0smotron.io", "v1beta2", "clusters", NS, name)
        .unwrap_or_else(|| panic!("no Cluster {name}"))
}

/// A merge patch of the Cluster `name`, as `kubectl patch --type merge`.
pub fn patch_cluster(sim: &MgmtSim, name: &str, patch: Value) {
    id::patch(
        &sim.sim,
        "k0smotron.io",
        "v1beta2",
        "clusters",
        NS,
        name,
        patch,
    );
    sim.sim.api.changed.notify_waiters();
}

/// A merge patch of any namespaced core object in kmc-system.
pub fn patch_core(sim: &MgmtSim, plural: &str, name: &str, patch: Value) {
    id::patch(&sim.sim, "", "v1", plural, NS, name, patch);
}

/// The state attributes of `address`.
pub fn attrs(tf: &TfDir, address: &str) -> Value {
    id::attributes(tf, address).unwrap_or_else(|| panic!("{address} not in the state"))
}

/// The node ports of the Service `kmc-<name>-nodeport`.
pub fn node_ports(sim: &MgmtSim, name: &str) -> Vec<u64> {
    id::object(
        &sim.sim,
        "",
        "v1",
        "services",
        NS,
        &format!("kmc-{name}-nodeport"),
    )
    .map(|s| {
        s["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["nodePort"].as_u64())
            .collect()
    })
    .unwrap_or_default()
}

/// Asserts that no output says "inconsistent" (Terraform's contract errors).
#[track_caller]
pub fn consistent(out: &super::TfOutput) {
    assert!(
        !out.all().contains("inconsistent"),
        "Terraform reports an inconsistency:\n{}",
        out.all()
    );
}

//! Helpers for the "plans that hold" tests (issue 14): saved plans, applies without
//! refresh, out-of-band changes in the simulated management cluster, and the check that
//! Terraform never reported an inconsistency.

use serde_json::json;

use super::{TfDir, TfOutput};

/// `terraform plan -out=<file>`; asserts it succeeded.
#[track_caller]
pub fn plan_out(tf: &TfDir, file: &str) -> TfOutput {
    let out = tf.run(&["plan", "-no-color", "-input=false", &format!("-out={file}")]);
    out.assert_ok();
    out
}

/// `terraform apply <saved plan>`.
pub fn apply_saved(tf: &TfDir, file: &str) -> TfOutput {
    tf.run(&["apply", "-no-color", "-input=false", file])
}

/// `terraform apply -refresh=false -auto-approve`.
pub fn apply_without_refresh(tf: &TfDir) -> TfOutput {
    tf.run(&[
        "apply",
        "-no-color",
        "-input=false",
        "-auto-approve",
        "-refresh=false",
    ])
}

/// Neither "inconsistent result after apply" nor "inconsistent final plan".
#[track_caller]
pub fn assert_consistent_apply(out: &TfOutput) {
    let all = out.all();
    assert!(
        !all.contains("inconsistent"),
        "Terraform reports an inconsistency:\n{all}"
    );
    out.assert_no_crash();
}

/// `terraform plan -detailed-exitcode` is 0.
#[track_caller]
pub fn assert_plan_empty(tf: &TfDir) {
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(0), "the plan is not empty:\n{}", plan.all());
}

/// A Node joins the cluster of `store` out of band (as `kubectl` would create it).
pub fn add_node(store: &std::sync::Mutex<k0stack_sim::k8s::store::Store>, name: &str) {
    let mut store = store.lock().unwrap();
    let rt = store.find("", "v1", "nodes").expect("nodes are served");
    store
        .create(&rt, "", json!({"metadata": {"name": name}}), "kubectl")
        .expect("node created");
}

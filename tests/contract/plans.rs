//! Plans that hold (issue 14): a value planned as known is applied as exactly that value,
//! whatever happened between plan and apply. Every scenario runs each resource through a
//! workflow that separates the plan from the state it was made on — a saved plan applied
//! after an out-of-band change, `apply -refresh=false` after drift, inputs unknown until
//! apply, removed optional arguments, reordered sets — and ends with no "inconsistent"
//! error, an empty plan and the simulator matching the state.

use crate::harness::{self, Subject, HCP, NS, POOL};
use crate::support::{self, CloudSim, TfDir};

/// An in-place change of the subject's arguments (apply will run for it).
fn in_place_change(subject: Subject) -> &'static str {
    match subject {
        Subject::Mgmt => "force_destroy = true",
        // Only an argument that never reaches k0smotron: what apply re-reads must still be
        // what the plan says.
        Subject::Hcp => "wait_for_ready = false",
        Subject::Pool => r#"metadata = { team = "platform" }"#,
    }
}

/// Changes the live objects behind the subject as someone with kubectl or the `openstack`
/// CLI would.
fn drift(cloud: &CloudSim, tf: &TfDir, subject: Subject) {
    let kubeconfig = tf.path().join("mgmt.kubeconfig");
    match subject {
        Subject::Mgmt => {
            let node = tf.write(
                "extra-node.json",
                r#"{"apiVersion":"v1","kind":"Node","metadata":{"name":"added-out-of-band"}}"#,
            );
            let (ok, _, err) = support::kubectl(
                &kubeconfig,
                &["create", "--validate=false", "-f", node.to_str().unwrap()],
            );
            assert!(ok, "kubectl create node: {err}");
        }
        Subject::Hcp => {
            let (ok, _, err) = support::kubectl(
                &kubeconfig,
                &[
                    "-n",
                    NS,
                    "patch",
                    "clusters.k0smotron.io",
                    "dev",
                    "--type",
                    "merge",
                    "-p",
                    r#"{"spec":{"replicas":3}}"#,
                ],
            );
            assert!(ok, "kubectl patch cluster: {err}");
        }
        Subject::Pool => {
            let state = harness::resources(tf);
            let victim = state[POOL]["members"][0]["id"]
                .as_str()
                .unwrap()
                .to_string();
            cloud.delete_server_out_of_band(&victim);
            cloud.wait_for("the server to be gone", || {
                cloud.servers().iter().all(|s| s.id != victim || s.deleting)
            });
        }
    }
}

/// No "Provider produced inconsistent …" (result after apply, final plan) in any output.
#[track_caller]
fn assert_no_inconsistency(out: &support::TfOutput) {
    out.assert_no_crash();
    assert!(
        !out.all().contains("inconsistent"),
        "Terraform found the provider inconsistent:\n{}",
        out.all()
    );
}

/// Applies until the plan is empty (at most twice), then checks the state against the clouds.
#[track_caller]
fn converges(cloud: &CloudSim, tf: &TfDir) {
    for _ in 0..2 {
        if tf.plan_exit_code().code == Some(0) {
            break;
        }
        let out = tf.apply();
        assert_no_inconsistency(&out);
        out.assert_ok();
    }
    crate::assert_plan_empty(tf);
    harness::assert_consistent(cloud, tf);
}

pub fn saved_plan_after_drift(subject: Subject) {
    let (cloud, tf) = harness::start(subject, "");
    tf.apply().assert_ok();
    tf.write(
        "main.tf",
        &harness::fleet(&cloud, subject, in_place_change(subject)),
    );
    let plan = tf.run(&["plan", "-no-color", "-input=false", "-out=saved.tfplan"]);
    plan.assert_ok();
    drift(&cloud, &tf, subject);
    let out = tf.run(&["apply", "-no-color", "-input=false", "saved.tfplan"]);
    assert_no_inconsistency(&out);
    out.assert_ok();
    converges(&cloud, &tf);
}

pub fn apply_without_refresh_after_drift(subject: Subject) {
    let (cloud, tf) = harness::start(subject, "");
    tf.apply().assert_ok();
    drift(&cloud, &tf, subject);
    tf.write(
        "main.tf",
        &harness::fleet(&cloud, subject, in_place_change(subject)),
    );
    let out = tf.run(&[
        "apply",
        "-no-color",
        "-input=false",
        "-auto-approve",
        "-refresh=false",
    ]);
    assert_no_inconsistency(&out);
    out.assert_ok();
    converges(&cloud, &tf);
}

/// Arguments whose values are another k0stack resource's attributes, unknown until that
/// resource exists (at create, and again when it is replaced).
fn derived_inputs(subject: Subject) -> (&'static str, &'static str) {
    match subject {
        Subject::Hcp => (
            r#"cert_sans = ["${k0stack_management_cluster.this.instance_id}.example.com", "api.example.com"]"#,
            "k0stack_management_cluster.this",
        ),
        Subject::Pool => (
            r#"labels   = { "example.com/control-plane" = k0stack_hosted_control_plane.dev.instance_id }
  metadata = { control_plane_uid = k0stack_hosted_control_plane.dev.uid }"#,
            HCP,
        ),
        Subject::Mgmt => unreachable!("nothing upstream of the management cluster"),
    }
}

pub fn unknown_inputs(subject: Subject) {
    let (args, upstream) = derived_inputs(subject);
    let (cloud, tf) = harness::start(subject, args);
    let out = tf.apply();
    assert_no_inconsistency(&out);
    out.assert_ok();
    converges(&cloud, &tf);
    // Replaced upstream: the inputs are unknown again, in an update plan this time.
    let replace = format!("-replace={upstream}");
    let out = tf.run(&["apply", "-no-color", "-auto-approve", &replace]);
    assert_no_inconsistency(&out);
    out.assert_ok();
    converges(&cloud, &tf);
}

/// Optional arguments set to values other than their defaults, and what removing them plans:
/// (configuration, [(attribute path in `show -json` values, default)]).
fn non_defaults(subject: Subject) -> (&'static str, Vec<(&'static str, serde_json::Value)>) {
    use serde_json::json;
    match subject {
        Subject::Mgmt => (
            "force_destroy = true",
            vec![("/force_destroy", json!(false))],
        ),
        Subject::Hcp => (
            r#"wait_for_ready = false
  control_plane_flags = ["--enable-metrics-scraper"]
  image = "registry.example.com/k0sproject/k0s""#,
            vec![
                ("/wait_for_ready", json!(true)),
                ("/image", json!("quay.io/k0sproject/k0s")),
            ],
        ),
        Subject::Pool => (
            r#"max_parallel    = 3
  wait_for_nodes  = false
  stopped_members = "keep"
  drain {
    timeout = "1m"
  }
  rolling_update {
    max_surge = 2
  }"#,
            vec![
                ("/max_parallel", json!(20)),
                ("/wait_for_nodes", json!(true)),
                ("/stopped_members", json!("start")),
                // A removed block is absent again: its attributes' defaults apply.
                ("/rolling_update", json!(null)),
                ("/drain", json!(null)),
            ],
        ),
    }
}

pub fn removed_arguments_plan_their_defaults(subject: Subject) {
    let (set, defaults) = non_defaults(subject);
    let (cloud, tf) = harness::start(subject, set);
    tf.apply().assert_ok();
    crate::assert_plan_empty(&tf);
    tf.write("main.tf", &harness::fleet(&cloud, subject, ""));
    let plan = tf.plan_exit_code();
    assert_eq!(
        plan.code,
        Some(2),
        "removing arguments plans a change:\n{}",
        plan.all()
    );
    let out = tf.apply();
    assert_no_inconsistency(&out);
    out.assert_ok();
    let values = &harness::resources(&tf)[subject.address()];
    for (path, default) in defaults {
        let applied = match values.pointer(path).cloned().unwrap_or_default() {
            serde_json::Value::Array(a) if a.is_empty() => serde_json::Value::Null,
            v => v,
        };
        assert_eq!(applied, default, "{path} after its argument was removed");
    }
    converges(&cloud, &tf);
}

/// Two orders of the same set-like arguments.
fn set_orders(subject: Subject) -> (&'static str, &'static str) {
    match subject {
        Subject::Hcp => (
            r#"cert_sans = ["a.example.com", "b.example.com", "10.0.0.1"]"#,
            r#"cert_sans = ["10.0.0.1", "b.example.com", "a.example.com"]"#,
        ),
        Subject::Pool => (
            r#"security_groups = ["default", "k0s-worker"]
  taints          = ["dedicated=gpu:NoSchedule", "spot:PreferNoSchedule"]"#,
            r#"security_groups = ["k0s-worker", "default"]
  taints          = ["spot:PreferNoSchedule", "dedicated=gpu:NoSchedule"]"#,
        ),
        Subject::Mgmt => unreachable!("a connected management cluster has no set arguments"),
    }
}

pub fn reordered_sets_plan_nothing(subject: Subject) {
    let (first, second) = set_orders(subject);
    let (cloud, tf) = harness::start(subject, first);
    tf.apply().assert_ok();
    crate::assert_plan_empty(&tf);
    tf.write("main.tf", &harness::fleet(&cloud, subject, second));
    crate::assert_plan_empty(&tf);
    harness::assert_consistent(&cloud, &tf);
}

per_subject!(saved_plan_after_drift: Mgmt, Hcp, Pool);
per_subject!(apply_without_refresh_after_drift: Mgmt, Hcp, Pool);
per_subject!(unknown_inputs: Hcp, Pool);
per_subject!(removed_arguments_plan_their_defaults: Mgmt, Hcp, Pool);
per_subject!(reordered_sets_plan_nothing: Hcp, Pool);

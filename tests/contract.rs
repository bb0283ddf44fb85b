//! The Terraform contract suite: every resource through the workflows an experienced
//! Terraform user runs — create_before_destroy, -replace, taint + apply, SIGKILL mid-create
//! then apply, import, destroy with its parent gone, a renamed kubeconfig context — with the
//! real Terraform CLI against k0stack-sim. After each: the simulator's objects and servers
//! are exactly what the state says (see `harness::assert_consistent`), nothing orphaned,
//! nothing of another instance touched, and the next plan is empty.

mod support;

#[path = "contract/harness.rs"]
mod harness;

use harness::{Subject, CBD, HCP, MGMT, NS, POOL};

/// `terraform plan -detailed-exitcode` is 0.
#[track_caller]
fn assert_plan_empty(tf: &support::TfDir) {
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(0), "the plan is not empty:\n{}", plan.all());
}

fn replace_with_create_before_destroy(subject: Subject) {
    let (cloud, tf) = harness::start(subject, CBD);
    tf.apply().assert_ok();
    harness::assert_consistent(&cloud, &tf);
    let before = harness::resources(&tf);
    let replace = format!("-replace={}", subject.address());
    let out = tf.run(&["apply", "-no-color", "-auto-approve", &replace]);
    out.assert_no_crash();
    match subject {
        // Random server names: the new instance lives beside the old one until it goes.
        Subject::Pool => {
            out.assert_ok();
            let after = harness::resources(&tf);
            assert_ne!(before[POOL]["uid"], after[POOL]["uid"], "a new instance");
            assert_plan_empty(&tf);
        }
        // Fixed names (a namespace, a Cluster): the new instance cannot have them while the
        // old one does. Either it works without taking anything over, or it is refused
        // clearly and nothing was touched.
        Subject::Mgmt | Subject::Hcp => {
            if !out.success() {
                out.assert_contains("already exists");
                let after = harness::resources(&tf);
                assert_eq!(
                    before[subject.address()]["instance_id"],
                    after[subject.address()]["instance_id"],
                    "the old instance is still the one recorded"
                );
            }
        }
    }
    harness::assert_consistent(&cloud, &tf);
}

fn replace(subject: Subject) {
    let (cloud, tf) = harness::start(subject, "");
    tf.apply().assert_ok();
    let replace = format!("-replace={}", subject.address());
    tf.run(&["apply", "-no-color", "-auto-approve", &replace])
        .assert_ok()
        .assert_no_crash();
    harness::assert_consistent(&cloud, &tf);
    assert_plan_empty(&tf);
}

fn taint_then_apply(subject: Subject) {
    let (cloud, tf) = harness::start(subject, "");
    tf.apply().assert_ok();
    tf.run(&["taint", "-no-color", subject.address()])
        .assert_ok();
    tf.apply().assert_ok().assert_no_crash();
    harness::assert_consistent(&cloud, &tf);
    assert_plan_empty(&tf);
    tf.destroy().assert_ok();
    harness::assert_consistent(&cloud, &tf);
    assert!(harness::pool_servers(&cloud).is_empty());
}

/// Whether the subject's first object exists in the simulator (the moment to kill).
fn subject_started(cloud: &support::CloudSim, subject: Subject) -> bool {
    match subject {
        Subject::Mgmt => harness::owned_objects(cloud)
            .values()
            .flatten()
            .any(|o| o.starts_with("Namespace ") || o.starts_with("Secret ")),
        Subject::Hcp => cloud.k8s.operator.cluster_uid(NS, "dev").is_some(),
        Subject::Pool => !harness::pool_servers(cloud).is_empty(),
    }
}

fn sigkill_mid_create_then_apply(subject: Subject) {
    let (cloud, tf) = harness::start(subject, "");
    let mut child = tf.spawn(&["apply", "-no-color", "-auto-approve", "-input=false"]);
    harness::wait_until("the subject's first object", || {
        subject_started(&cloud, subject)
    });
    support::sigkill(&mut child);
    let out = tf.apply();
    out.assert_ok().assert_no_crash();
    harness::assert_consistent(&cloud, &tf);
    assert_plan_empty(&tf);
    if subject == Subject::Pool {
        let servers: usize = harness::pool_servers(&cloud)
            .values()
            .map(|s| s.len())
            .sum();
        assert_eq!(servers, 2, "exactly the pool's size, no duplicate");
    }
}

fn import_id(subject: Subject, tf: &support::TfDir) -> String {
    match subject {
        Subject::Mgmt => harness::resources(tf)[MGMT]["id"]
            .as_str()
            .unwrap()
            .to_string(),
        Subject::Hcp => format!("{NS}/dev"),
        Subject::Pool => format!("{NS}/dev/general"),
    }
}

fn import_plans_nothing(subject: Subject) {
    let (cloud, tf) = harness::start(subject, "");
    tf.apply().assert_ok();
    let id = import_id(subject, &tf);
    tf.run(&["state", "rm", subject.address()]).assert_ok();
    tf.run(&["import", "-no-color", subject.address(), &id])
        .assert_ok()
        .assert_no_crash();
    assert_plan_empty(&tf);
    harness::assert_consistent(&cloud, &tf);
}

/// The subject's parent disappears out of band (a control plane's namespace, a pool's
/// control plane), then `terraform destroy`: it succeeds and nothing is left.
fn destroy_with_the_parent_gone(subject: Subject) {
    let (cloud, tf) = harness::start(subject, "");
    tf.apply().assert_ok();
    let kubeconfig = tf.path().join("mgmt.kubeconfig");
    let (ok, _, err) = match subject {
        Subject::Hcp => support::kubectl(&kubeconfig, &["delete", "namespace", NS, "--wait=false"]),
        Subject::Pool => support::kubectl(
            &kubeconfig,
            &[
                "delete",
                "clusters.k0smotron.io",
                "dev",
                "-n",
                NS,
                "--wait=false",
            ],
        ),
        Subject::Mgmt => unreachable!("the management cluster has no parent resource"),
    };
    assert!(ok, "{err}");
    let out = tf.destroy();
    out.assert_ok().assert_no_crash();
    assert!(
        harness::pool_servers(&cloud).is_empty(),
        "servers left: {:?}",
        harness::pool_servers(&cloud)
    );
    harness::assert_consistent(&cloud, &tf);
}

/// Another name for the same cluster (a laptop's context vs CI's): nothing to plan.
#[test]
fn a_renamed_context_plans_nothing() {
    let (cloud, tf) = harness::start(Subject::Mgmt, "");
    tf.apply().assert_ok();
    // Only the context's name changes (the user and its token stay).
    let path = tf.path().join("mgmt.kubeconfig");
    let mut kubeconfig: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    kubeconfig["current-context"] = "ci-runner".into();
    kubeconfig["contexts"][0]["name"] = "ci-runner".into();
    tf.write(
        "mgmt.kubeconfig",
        &serde_yaml::to_string(&kubeconfig).unwrap(),
    );
    assert_plan_empty(&tf);
    harness::assert_consistent(&cloud, &tf);
}

macro_rules! per_subject {
    ($scenario:ident: $($subject:ident),+) => {
        mod $scenario {
            $(
                #[test]
                #[allow(non_snake_case)]
                fn $subject() {
                    super::$scenario(super::Subject::$subject);
                }
            )+
        }
    };
}

#[path = "contract/plans.rs"]
mod plans;

per_subject!(replace_with_create_before_destroy: Mgmt, Hcp, Pool);
per_subject!(replace: Mgmt, Hcp, Pool);
per_subject!(taint_then_apply: Mgmt, Hcp, Pool);
per_subject!(sigkill_mid_create_then_apply: Mgmt, Hcp, Pool);
per_subject!(import_plans_nothing: Mgmt, Hcp, Pool);
per_subject!(destroy_with_the_parent_gone: Hcp, Pool);

#[allow(dead_code)]
const _ADDRESSES: [&str; 3] = [MGMT, HCP, POOL];

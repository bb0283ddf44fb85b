//! e2e (issue 13 item 6, controller half): a stopped controller of a bootstrapped
//! management cluster is never deleted or replaced; the plan warns, naming it and how to
//! start it. Real Terraform CLI against k0stack-sim (its Nova server actions).

mod support;

use support::{CloudSim, TfDir};

const CONFIG: &str = r#"
resource "k0stack_management_cluster" "this" {
  bootstrap {
    flavor            = "m1.large"
    image             = "ubuntu-24.04"
    networks          = ["private"]
    security_groups   = ["k0s-worker"]
    k0s_version       = "v1.32.6+k0s.0"
    k0smotron_version = "v1.5.0"
  }
  timeouts {
    create = "2m"
    update = "2m"
    delete = "2m"
  }
}
"#;

fn controller(cloud: &CloudSim) -> k0stack_sim::openstack::ServerView {
    let mut ctrl: Vec<_> = cloud
        .servers()
        .into_iter()
        .filter(|s| s.name.contains("-controller-") && !s.deleting)
        .collect();
    assert_eq!(ctrl.len(), 1, "one controller: {ctrl:?}");
    ctrl.remove(0)
}

/// The only controller of a 1-controller cluster is stopped: replacing it would start an
/// empty cluster under the same CA. It is kept, and the plan says how to start it.
#[test]
fn a_stopped_only_controller_is_kept_and_the_plan_says_how_to_start_it() {
    let cloud = CloudSim::start();
    let provider = format!(
        "{}\nprovider \"k0stack\" {{\n  openstack {{\n    cloud       = \"k0stack-sim\"\n    clouds_yaml = \"${{path.module}}/clouds.yaml\"\n  }}\n}}\n",
        support::required_providers()
    );
    let tf = TfDir::new(&format!("{provider}{CONFIG}"));
    tf.write("clouds.yaml", &cloud.os.clouds_yaml());
    tf.init();
    tf.apply().assert_ok();
    let before = controller(&cloud);

    for (stop, status) in [("os-stop", "SHUTOFF"), ("shelve", "SHELVED_OFFLOADED")] {
        cloud.server_action_out_of_band(&before.id, stop, status);
        let plan = tf.plan_exit_code();
        assert_eq!(
            plan.code,
            Some(0),
            "nothing to do while {status}:\n{}",
            plan.all()
        );
        plan.assert_contains("Controller stopped")
            .assert_contains(&format!("({}) is {status}", before.id))
            .assert_contains(&format!("openstack server start {}", before.id));
        tf.apply().assert_ok();
        let now = controller(&cloud);
        assert_eq!(
            (now.id.as_str(), now.status.as_str()),
            (before.id.as_str(), status)
        );
        let state = support::mgmt::attributes(&tf, "k0stack_management_cluster", "this");
        assert_eq!(state["members"][0]["status"], status);
        let back = if status == "SHUTOFF" {
            "os-start"
        } else {
            "unshelve"
        };
        cloud.server_action_out_of_band(&before.id, back, "ACTIVE");
        // Back: the same cluster (same id), nothing to do, no warning.
        cloud.wait_for("the API to answer again", || {
            let p = tf.plan_exit_code();
            p.code == Some(0) && !p.all().contains("Controller stopped")
        });
        assert_eq!(controller(&cloud).id, before.id);
    }
    tf.destroy().assert_ok();
    cloud.wait_for("the controller to be gone", || {
        cloud
            .servers()
            .iter()
            .all(|s| s.deleting || s.status == "DELETED")
    });
}

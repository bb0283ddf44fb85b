//! e2e (issue 13, item 6): a stopped server is not a broken one. A worker stopped, shelved,
//! suspended or paused out of band shows in `members[].status` and in a plan warning, and
//! apply follows `stopped_members`: `start` (default) runs the same server again, `keep`
//! leaves it, `replace` replaces it. Real Terraform CLI, k0stack-sim.

mod support;

use support::{CloudSim, TfDir};

const NS: &str = "kmc-system";

fn pool(policy: &str) -> String {
    let policy = if policy.is_empty() {
        String::new()
    } else {
        format!("stopped_members = \"{policy}\"")
    };
    format!(
        r#"
resource "k0stack_worker_pool" "general" {{
  name                    = "general"
  hosted_control_plane_id = k0stack_hosted_control_plane.dev.id
  size                    = 2
  flavor                  = "m1.small"
  image                   = "ubuntu-24.04"
  networks                = ["private"]
  {policy}
  timeouts {{
    create = "2m"
    update = "2m"
  }}
}}
"#
    )
}

fn setup(policy: &str) -> (CloudSim, TfDir) {
    let cloud = CloudSim::start();
    let tf = TfDir::new("");
    cloud.write_files(&tf);
    tf.write(
        "main.tf",
        &format!("{}{}", cloud.dev_control_plane_config(), pool(policy)),
    );
    tf.init();
    tf.apply().assert_ok();
    (cloud, tf)
}

fn pool_servers(cloud: &CloudSim) -> Vec<k0stack_sim::openstack::ServerView> {
    let mut s: Vec<_> = cloud
        .servers()
        .into_iter()
        .filter(|s| s.tags.iter().any(|t| t.starts_with("k0stack-pool=")))
        .collect();
    s.sort_by(|a, b| a.id.cmp(&b.id));
    s
}

#[test]
fn stopped_members_are_started_again_not_replaced() {
    let (cloud, tf) = setup("");
    let before = pool_servers(&cloud);
    assert_eq!(before.len(), 2);
    // Stopped and shelved out of band: the same servers must come back.
    cloud.server_action_out_of_band(&before[0].id, "os-stop", "SHUTOFF");
    cloud.server_action_out_of_band(&before[1].id, "shelve", "SHELVED_OFFLOADED");
    let plan = tf.plan();
    plan.assert_ok()
        .assert_contains("Stopped members")
        .assert_contains("2 member(s) stopped out of band")
        .assert_contains("SHUTOFF")
        .assert_contains("SHELVED_OFFLOADED")
        .assert_contains("apply starts them again")
        .assert_contains("update in-place");
    tf.apply().assert_ok();
    let after = pool_servers(&cloud);
    let ids = |v: &[k0stack_sim::openstack::ServerView]| {
        v.iter().map(|s| s.id.clone()).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&after),
        ids(&before),
        "the same servers, not replacements"
    );
    assert!(after.iter().all(|s| s.status == "ACTIVE"), "{after:?}");
    assert_eq!(cloud.ready_nodes(NS, "dev"), 2);
    let history = cloud.history();
    assert!(
        !history.iter().any(|e| e.kind == "server.delete"),
        "{history:#?}"
    );
    assert!(history.iter().any(|e| e.kind == "server.start"));
    assert!(history.iter().any(|e| e.kind == "server.unshelve"));
    assert_eq!(
        tf.plan_exit_code().code,
        Some(0),
        "empty plan after the restart"
    );
}

#[test]
fn keep_leaves_a_stopped_member_and_replace_replaces_it() {
    let (cloud, tf) = setup("keep");
    let before = pool_servers(&cloud);
    cloud.server_action_out_of_band(&before[0].id, "os-stop", "SHUTOFF");
    // Nothing to do, but the plan says what it saw.
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(0), "{}", plan.all());
    plan.assert_contains("1 member(s) stopped out of band")
        .assert_contains("they stay stopped");
    tf.apply().assert_ok();
    let servers = pool_servers(&cloud);
    assert_eq!(servers.len(), 2);
    assert!(
        servers.iter().any(|s| s.status == "SHUTOFF"),
        "kept stopped: {servers:?}"
    );
    assert!(!cloud
        .history()
        .iter()
        .any(|e| e.kind == "server.start" || e.kind == "server.delete"));
    let plan = tf.plan_exit_code();
    assert_eq!(
        plan.code,
        Some(0),
        "kept members plan nothing:\n{}",
        plan.all()
    );

    // The same pool switched to replace: the stopped server goes, a new one comes.
    tf.write(
        "main.tf",
        &format!("{}{}", cloud.dev_control_plane_config(), pool("replace")),
    );
    tf.apply().assert_ok();
    let servers = pool_servers(&cloud);
    assert_eq!(servers.len(), 2, "{servers:?}");
    assert!(servers.iter().all(|s| s.status == "ACTIVE"));
    assert!(
        !servers.iter().any(|s| s.id == before[0].id),
        "the stopped one was replaced"
    );
    assert!(
        servers.iter().any(|s| s.id == before[1].id),
        "the running one stayed"
    );
    assert_eq!(cloud.ready_nodes(NS, "dev"), 2);
    assert_eq!(tf.plan_exit_code().code, Some(0));
}

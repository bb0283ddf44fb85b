//! e2e (issue 13): a worker pool instance owns its servers and only its own, across
//! create_before_destroy, -replace, taint, a replaced control plane, a management cluster
//! that is gone, out-of-band repair and import. After each step the simulator's servers and
//! nodes are exactly what the state records. Real Terraform CLI, k0stack-sim.

mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::{CloudSim, TfDir};

const NS: &str = "kmc-system";

fn pool(size: u32, lifecycle: &str) -> String {
    format!(
        r#"
resource "k0stack_worker_pool" "general" {{
  name                    = "general"
  hosted_control_plane_id = k0stack_hosted_control_plane.dev.id
  size                    = {size}
  flavor                  = "m1.small"
  image                   = "ubuntu-24.04"
  networks                = ["private"]
  {lifecycle}
  timeouts {{
    create = "2m"
    update = "2m"
    delete = "2m"
  }}
}}
"#
    )
}

fn setup(pools: &str) -> (CloudSim, TfDir) {
    let cloud = CloudSim::start();
    let tf = TfDir::new("");
    cloud.write_files(&tf);
    tf.write(
        "main.tf",
        &format!("{}{pools}", cloud.dev_control_plane_config()),
    );
    tf.init();
    (cloud, tf)
}

/// Live servers of any pool instance (tagged k0stack-pool=...).
fn pool_servers(cloud: &CloudSim) -> Vec<k0stack_sim::openstack::ServerView> {
    cloud
        .servers()
        .into_iter()
        .filter(|s| s.tags.iter().any(|t| t.starts_with("k0stack-pool=")))
        .filter(|s| s.status != "DELETED" && !s.deleting)
        .collect()
}

/// The pool's resource state (`terraform show -json`).
fn pool_state(tf: &TfDir) -> Value {
    let out = tf.run(&["show", "-json"]);
    out.assert_ok();
    let v: Value = serde_json::from_str(&out.stdout).expect("show -json");
    v["values"]["root_module"]["resources"]
        .as_array()
        .and_then(|rs| {
            rs.iter()
                .find(|r| r["address"] == "k0stack_worker_pool.general")
        })
        .map(|r| r["values"].clone())
        .unwrap_or(Value::Null)
}

/// The simulator's servers and the hosted cluster's nodes are exactly the state's members.
#[track_caller]
fn assert_state_matches_cloud(cloud: &CloudSim, tf: &TfDir) {
    let state = pool_state(tf);
    let recorded: BTreeSet<String> = state["members"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .filter(|m| m["status"] != "DELETED")
                .filter_map(|m| m["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let live: BTreeSet<String> = pool_servers(cloud).into_iter().map(|s| s.id).collect();
    assert_eq!(recorded, live, "state members vs live servers");
    let uid = state["uid"].as_str().unwrap_or_default().to_string();
    for s in pool_servers(cloud) {
        assert!(
            s.tags.contains(&format!("k0stack-pool={uid}")),
            "{s:?} is not tagged with {uid}"
        );
    }
    let servers: BTreeSet<String> = pool_servers(cloud).into_iter().map(|s| s.name).collect();
    let nodes: BTreeSet<String> = cloud
        .hosted_nodes(NS, "dev")
        .iter()
        .filter_map(|n| n["metadata"]["name"].as_str().map(String::from))
        .collect();
    assert_eq!(nodes, servers, "hosted nodes vs servers");
}

#[test]
fn create_before_destroy_replacement_owns_new_servers_and_deletes_only_the_old() {
    let (cloud, tf) = setup(&pool(
        2,
        "lifecycle {\n    create_before_destroy = true\n  }",
    ));
    tf.apply().assert_ok();
    let old: BTreeSet<String> = pool_servers(&cloud).into_iter().map(|s| s.id).collect();
    let old_uid = pool_state(&tf)["uid"].as_str().unwrap().to_string();
    assert_eq!(old.len(), 2);

    let out = tf.run(&[
        "apply",
        "-no-color",
        "-auto-approve",
        "-replace=k0stack_worker_pool.general",
    ]);
    out.assert_ok()
        .assert_contains("1 added, 0 changed, 1 destroyed");
    let new: BTreeSet<String> = pool_servers(&cloud).into_iter().map(|s| s.id).collect();
    assert_eq!(new.len(), 2, "two servers of the new instance");
    assert!(
        new.is_disjoint(&old),
        "the new instance took over the old one's servers: {old:?} / {new:?}"
    );
    assert_ne!(pool_state(&tf)["uid"].as_str().unwrap(), old_uid);
    assert_state_matches_cloud(&cloud, &tf);
    assert_eq!(cloud.ready_nodes(NS, "dev"), 2);
    assert_eq!(tf.plan_exit_code().code, Some(0));
}

#[test]
fn replace_and_taint_recreate_the_pool_with_new_servers() {
    let (cloud, tf) = setup(&pool(2, ""));
    tf.apply().assert_ok();
    let first: BTreeSet<String> = pool_servers(&cloud).into_iter().map(|s| s.id).collect();
    tf.run(&[
        "apply",
        "-no-color",
        "-auto-approve",
        "-replace=k0stack_worker_pool.general",
    ])
    .assert_ok()
    .assert_contains("1 added, 0 changed, 1 destroyed");
    let second: BTreeSet<String> = pool_servers(&cloud).into_iter().map(|s| s.id).collect();
    assert_eq!(second.len(), 2);
    assert!(second.is_disjoint(&first));
    assert_state_matches_cloud(&cloud, &tf);

    tf.run(&["taint", "-no-color", "k0stack_worker_pool.general"])
        .assert_ok();
    tf.apply()
        .assert_ok()
        .assert_contains("1 added, 0 changed, 1 destroyed");
    let third: BTreeSet<String> = pool_servers(&cloud).into_iter().map(|s| s.id).collect();
    assert_eq!(third.len(), 2);
    assert!(third.is_disjoint(&second));
    assert_state_matches_cloud(&cloud, &tf);
    tf.destroy().assert_ok();
    assert!(pool_servers(&cloud).is_empty());
    assert!(
        cloud.hosted_nodes(NS, "dev").is_empty()
            || cloud.k8s.operator.hosted_for(NS, "dev").is_none()
    );
}

#[test]
fn a_replaced_control_plane_shows_in_the_pool_plan_and_orphans_nothing() {
    let (cloud, tf) = setup(&pool(2, ""));
    tf.apply().assert_ok();
    let old: BTreeSet<String> = pool_servers(&cloud).into_iter().map(|s| s.id).collect();
    let plan = tf.run(&[
        "plan",
        "-no-color",
        "-replace=k0stack_hosted_control_plane.dev",
    ]);
    plan.assert_ok()
        .assert_contains("k0stack_worker_pool.general must be replaced")
        .assert_contains("2 to add, 0 to change, 2 to destroy");
    tf.run(&[
        "apply",
        "-no-color",
        "-auto-approve",
        "-replace=k0stack_hosted_control_plane.dev",
    ])
    .assert_ok();
    let new = pool_servers(&cloud);
    assert_eq!(new.len(), 2);
    assert!(
        new.iter().all(|s| !old.contains(&s.id)),
        "old servers were kept: {new:?}"
    );
    let cp_uid = cloud.k8s.operator.cluster_uid(NS, "dev");
    let state = pool_state(&tf);
    assert_eq!(
        state["hosted_control_plane_uid"].as_str().map(String::from),
        cp_uid
    );
    for s in &new {
        assert!(s
            .tags
            .iter()
            .any(|t| Some(t.trim_start_matches("k0stack-cluster=").to_string()) == cp_uid));
    }
    assert_state_matches_cloud(&cloud, &tf);
    assert_eq!(tf.plan_exit_code().code, Some(0));
    tf.destroy().assert_ok();
    assert!(
        pool_servers(&cloud).is_empty(),
        "nothing left after destroy"
    );
}

#[test]
fn a_repaired_member_leaves_no_node_behind() {
    let (cloud, tf) = setup(&pool(3, ""));
    tf.apply().assert_ok();
    let victim = pool_servers(&cloud)[0].clone();
    cloud.delete_server_out_of_band(&victim.id);
    cloud.wait_for("the server to be gone", || {
        !pool_servers(&cloud).iter().any(|s| s.id == victim.id)
    });
    // The plan names it (issue 20, item 5).
    tf.plan()
        .assert_ok()
        .assert_contains("Members deleted out of band")
        .assert_contains(&format!("{} ({})", victim.name, victim.id));
    tf.apply().assert_ok();
    assert_eq!(pool_servers(&cloud).len(), 3);
    let nodes: Vec<String> = cloud
        .hosted_nodes(NS, "dev")
        .iter()
        .filter_map(|n| n["metadata"]["name"].as_str().map(String::from))
        .collect();
    assert!(
        !nodes.contains(&victim.name),
        "the deleted server's node stayed: {nodes:?}"
    );
    assert_eq!(nodes.len(), 3, "{nodes:?}");
    assert_state_matches_cloud(&cloud, &tf);
    // Nodes carry the instance's label.
    let uid = pool_state(&tf)["uid"].as_str().unwrap().to_string();
    for n in cloud.hosted_nodes(NS, "dev") {
        assert_eq!(
            n["metadata"]["labels"]["k0stack.io/pool-uid"],
            uid.as_str(),
            "{n}"
        );
    }
}

#[test]
fn destroy_deletes_the_servers_when_the_management_cluster_is_gone() {
    let (cloud, tf) = setup(&pool(2, ""));
    tf.apply().assert_ok();
    assert_eq!(pool_servers(&cloud).len(), 2);
    // The management cluster moved away: its kubeconfig now points at nothing.
    let dead = cloud
        .k8s
        .kubeconfig()
        .replace(&cloud.k8s.url, "https://127.0.0.1:9");
    tf.write("mgmt.kubeconfig", &dead);
    let out = tf.run(&[
        "destroy",
        "-no-color",
        "-auto-approve",
        "-refresh=false",
        "-target=k0stack_worker_pool.general",
    ]);
    out.assert_ok()
        .assert_contains("Deleting without the management cluster")
        .assert_contains("deleted through OpenStack");
    assert!(
        pool_servers(&cloud).is_empty(),
        "{:?}",
        pool_servers(&cloud)
    );
}

#[test]
fn import_of_a_typo_is_an_error_and_an_import_plans_nothing() {
    let (cloud, tf) = setup(&pool(2, ""));
    tf.apply().assert_ok();
    tf.run(&["state", "rm", "k0stack_worker_pool.general"])
        .assert_ok();
    let typo = tf.run(&[
        "import",
        "-no-color",
        "k0stack_worker_pool.general",
        "kmc-system/dev/generl",
    ]);
    typo.assert_failed()
        .assert_contains("No such pool")
        .assert_contains("kmc-system/dev/generl");
    tf.run(&[
        "import",
        "-no-color",
        "k0stack_worker_pool.general",
        "kmc-system/dev/general",
    ])
    .assert_ok();
    let state = pool_state(&tf);
    assert_eq!(
        state["image"], "ubuntu-24.04",
        "the image as the user writes it"
    );
    assert_eq!(state["flavor"], "m1.small");
    let plan = tf.plan();
    plan.assert_ok();
    assert!(!plan.all().contains("must be replaced"), "{}", plan.all());
    assert_state_matches_cloud(&cloud, &tf);
}

/// Issue 20, item 2: a first apply that times out says how to keep what it built, and
/// `terraform untaint` then lets the next apply finish the job on the same servers.
#[test]
fn a_create_that_times_out_is_kept_by_untaint_and_finished_by_the_next_apply() {
    let cloud = CloudSim::start();
    let tf = TfDir::new("");
    cloud.write_files(&tf);
    let slow_pool = pool(2, "").replace("create = \"2m\"", "create = \"3s\"");
    tf.write("main.tf", &cloud.dev_control_plane_config());
    tf.init();
    tf.apply().assert_ok();
    tf.write(
        "main.tf",
        &format!("{}{slow_pool}", cloud.dev_control_plane_config()),
    );
    // Servers take 6 s to boot: the 3 s create times out with both of them in BUILD.
    cloud.set_faults(serde_json::json!({"boot_latency_ms": 6000}));
    let out = tf.apply();
    out.assert_failed()
        .assert_contains("Worker pool not converged")
        .assert_contains("terraform untaint");
    let built: BTreeSet<String> = pool_servers(&cloud).into_iter().map(|s| s.id).collect();
    assert_eq!(built.len(), 2);
    tf.run(&["untaint", "-no-color", "k0stack_worker_pool.general"])
        .assert_ok();
    cloud.set_faults(serde_json::json!({"boot_latency_ms": 200}));
    tf.apply().assert_ok();
    let after: BTreeSet<String> = pool_servers(&cloud).into_iter().map(|s| s.id).collect();
    assert_eq!(
        after, built,
        "the same servers, finished rather than replaced"
    );
    assert_state_matches_cloud(&cloud, &tf);
}

//! e2e: `k0stack_worker_pool` with the real Terraform CLI against both halves of k0stack-sim
//! (OpenStack servers whose cloud-init joins the simulated hosted cluster as Nodes).

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use support::{CloudSim, TfDir};

const NS: &str = "kmc-system";

fn config(cloud: &CloudSim, pools: &str) -> String {
    format!("{}{pools}", cloud.dev_control_plane_config())
}

fn pool(size: u32, flavor: &str, extra: &str) -> String {
    format!(
        r#"
resource "k0stack_worker_pool" "general" {{
  name                    = "general"
  hosted_control_plane_id = k0stack_hosted_control_plane.dev.id
  size                    = {size}
  flavor                  = "{flavor}"
  image                   = "ubuntu-24.04"
  networks                = ["private"]
  security_groups         = ["k0s-worker"]
  labels = {{
    "node.k0stack.io/pool" = "general"
  }}
  taints = ["dedicated=general:NoSchedule"]
  {extra}
  timeouts {{
    create = "2m"
    update = "2m"
    delete = "2m"
  }}
}}

output "members" {{
  value = k0stack_worker_pool.general.members
}}

output "ready_count" {{
  value = k0stack_worker_pool.general.ready_count
}}
"#
    )
}

fn setup(pools: &str) -> (CloudSim, TfDir) {
    let cloud = CloudSim::start();
    let tf = TfDir::new("");
    cloud.write_files(&tf);
    tf.write("main.tf", &config(&cloud, pools));
    tf.init();
    (cloud, tf)
}

/// Servers of the pool (tagged k0stack-pool=...), not deleted.
fn pool_servers(cloud: &CloudSim) -> Vec<k0stack_sim::openstack::ServerView> {
    cloud
        .servers()
        .into_iter()
        .filter(|s| s.tags.iter().any(|t| t.starts_with("k0stack-pool=")))
        .filter(|s| s.status != "DELETED")
        .collect()
}

#[test]
fn pool_lifecycle_create_scale_roll_repair_destroy() {
    let (cloud, tf) = setup(&pool(5, "m1.small", ""));

    // Create: 5 servers ACTIVE with our tags, 5 Ready nodes with the labels and taints.
    tf.apply().assert_ok().assert_no_crash();
    let servers = pool_servers(&cloud);
    assert_eq!(servers.len(), 5, "{servers:#?}");
    for s in &servers {
        assert_eq!(s.status, "ACTIVE");
        assert!(s.tags.contains(&"k0stack".to_string()), "{:?}", s.tags);
        assert!(s.tags.iter().any(|t| t.starts_with("k0stack-cluster=")));
        assert!(s.name.starts_with("general-"), "{}", s.name);
    }
    let nodes = cloud.hosted_nodes(NS, "dev");
    assert_eq!(nodes.len(), 5);
    for n in &nodes {
        assert_eq!(n["metadata"]["labels"]["node.k0stack.io/pool"], "general");
        assert_eq!(n["spec"]["taints"][0]["key"], "dedicated");
        assert!(support::node_ready(n), "{n}");
    }
    let out = tf.outputs();
    assert_eq!(out["ready_count"]["value"], 5);
    assert_eq!(out["members"]["value"].as_array().unwrap().len(), 5);
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(0), "second plan not empty:\n{}", plan.all());

    // Scale 5 -> 8 -> 3; nodes are drained and deleted before their servers.
    tf.write("main.tf", &config(&cloud, &pool(8, "m1.small", "")));
    tf.plan().assert_ok().assert_contains("update in-place");
    tf.apply().assert_ok();
    assert_eq!(pool_servers(&cloud).len(), 8);
    assert_eq!(cloud.ready_nodes(NS, "dev"), 8);
    tf.write("main.tf", &config(&cloud, &pool(3, "m1.small", "")));
    tf.apply().assert_ok();
    assert_eq!(pool_servers(&cloud).len(), 3);
    assert_eq!(cloud.hosted_nodes(NS, "dev").len(), 3);
    let history = cloud.history();
    let deleted: Vec<&k0stack_sim::history::HistoryEntry> = history
        .iter()
        .filter(|e| e.kind == "server.delete")
        .collect();
    assert_eq!(deleted.len(), 5, "{history:#?}");
    for d in &deleted {
        let node_gone = history
            .iter()
            .find(|e| e.kind == "node.delete" && e.name == d.name)
            .unwrap_or_else(|| panic!("node {} not deleted: {history:#?}", d.name));
        assert!(
            node_gone.seq < d.seq,
            "node {} deleted after its server",
            d.name
        );
    }

    // Roll to a new flavor with max_surge 1 / max_unavailable 0: never fewer than 3 Ready.
    let before = cloud.history().last().map(|e| e.seq).unwrap_or(0);
    tf.write(
        "main.tf",
        &config(
            &cloud,
            &pool(
                3,
                "m1.medium",
                "rolling_update {\n    max_surge = 1\n    max_unavailable = 0\n  }",
            ),
        ),
    );
    let plan = tf.plan();
    plan.assert_ok().assert_contains("template_hash");
    assert!(!plan.all().contains("must be replaced"), "{}", plan.all());
    tf.apply().assert_ok();
    let servers = pool_servers(&cloud);
    assert_eq!(servers.len(), 3);
    assert!(
        servers.iter().all(|s| s.flavor == "m1.medium"),
        "{servers:#?}"
    );
    let min_ready = support::min_ready_during(&cloud.history(), before);
    assert!(
        min_ready >= 3,
        "Ready nodes dropped to {min_ready} during the roll"
    );

    // Out-of-band deletion of 2 servers: the plan shows it, apply repairs.
    let victims: Vec<String> = pool_servers(&cloud)
        .iter()
        .take(2)
        .map(|s| s.id.clone())
        .collect();
    for id in &victims {
        cloud.delete_server_out_of_band(id);
    }
    cloud.wait_for("the servers to vanish", || pool_servers(&cloud).len() == 1);
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(2), "{}", plan.all());
    tf.apply().assert_ok();
    let servers = pool_servers(&cloud);
    assert_eq!(servers.len(), 3);
    assert!(servers.iter().all(|s| !victims.contains(&s.id)));
    assert_eq!(cloud.ready_nodes(NS, "dev"), 3);
    assert_eq!(tf.plan_exit_code().code, Some(0));

    // Destroy leaves nothing.
    tf.destroy().assert_ok();
    assert!(
        pool_servers(&cloud).is_empty(),
        "{:#?}",
        pool_servers(&cloud)
    );
}

#[test]
fn servers_that_go_to_error_are_replaced_at_create_and_later() {
    let (cloud, tf) = setup(&pool(4, "m1.small", ""));
    cloud.set_faults(serde_json::json!({"vm_error_rate": 0.3}));
    tf.apply().assert_ok();
    let servers = pool_servers(&cloud);
    assert_eq!(servers.len(), 4, "{servers:#?}");
    assert!(servers.iter().all(|s| s.status == "ACTIVE"));
    cloud.set_faults(serde_json::json!({"vm_error_rate": 0.0}));
    assert_eq!(tf.plan_exit_code().code, Some(0));

    // A member whose hypervisor fails (server ERROR) shows in the plan and is replaced.
    let broken = servers[0].id.clone();
    cloud.fail_server(&broken);
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(2), "{}", plan.all());
    tf.apply().assert_ok();
    let servers = pool_servers(&cloud);
    assert_eq!(servers.len(), 4, "{servers:#?}");
    assert!(servers
        .iter()
        .all(|s| s.status == "ACTIVE" && s.id != broken));
    assert_eq!(cloud.ready_nodes(NS, "dev"), 4);
    tf.destroy().assert_ok();
    assert!(pool_servers(&cloud).is_empty());
}

#[test]
fn a_killed_apply_leaves_no_orphans_and_the_next_apply_finishes() {
    let (cloud, tf) = setup(&pool(10, "m1.small", ""));
    cloud.set_faults(serde_json::json!({"boot_latency_ms": 1500}));
    let mut child = tf.spawn(&["apply", "-no-color", "-input=false", "-auto-approve"]);
    let start = Instant::now();
    while pool_servers(&cloud).len() < 4 && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(pool_servers(&cloud).len() >= 4, "creation never started");
    support::sigkill(&mut child);
    cloud.set_faults(serde_json::json!({"boot_latency_ms": 100}));
    tf.apply().assert_ok();
    let servers = pool_servers(&cloud);
    assert_eq!(servers.len(), 10, "{servers:#?}");
    let ids: BTreeSet<&str> = servers.iter().map(|s| s.id.as_str()).collect();
    let out = tf.outputs();
    let recorded: BTreeSet<&str> = out["members"]["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, recorded, "every server is in the state and vice versa");
    tf.destroy().assert_ok();
    assert!(pool_servers(&cloud).is_empty());
}

#[test]
fn import_finds_the_members_by_tag() {
    let (cloud, tf) = setup(&pool(2, "m1.small", ""));
    tf.apply().assert_ok();
    tf.run(&["state", "rm", "k0stack_worker_pool.general"])
        .assert_ok();
    tf.run(&[
        "import",
        "-no-color",
        "k0stack_worker_pool.general",
        "kmc-system/dev/general",
    ])
    .assert_ok();
    let show = tf.run(&["state", "show", "-no-color", "k0stack_worker_pool.general"]);
    show.assert_ok().assert_contains("ready_count");
    // The configuration matches what was imported: no member changes.
    let plan = tf.plan();
    plan.assert_ok();
    assert!(!plan.all().contains("must be replaced"), "{}", plan.all());
    tf.apply().assert_ok();
    assert_eq!(pool_servers(&cloud).len(), 2);
    tf.destroy().assert_ok();
}

/// Issue 6: a plan of 3 pools of 20 members costs at most 4 Nova requests (the pools'
/// refreshes share one coalesced server list; flavor lookups coalesce too).
#[test]
fn plan_of_three_pools_of_twenty_costs_at_most_four_nova_requests() {
    let pools: String = ["a", "b", "c"]
        .iter()
        .map(|n| {
            format!(
                r#"
resource "k0stack_worker_pool" "{n}" {{
  name                    = "{n}"
  hosted_control_plane_id = k0stack_hosted_control_plane.dev.id
  size                    = 20
  flavor                  = "m1.small"
  image                   = "ubuntu-24.04"
  networks                = ["private"]
  wait_for_nodes          = false
}}
"#
            )
        })
        .collect();
    let (cloud, tf) = setup(&pools);
    tf.apply().assert_ok();
    assert_eq!(pool_servers(&cloud).len(), 60);
    cloud.os.counters().reset();
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(0), "{}", plan.all());
    let counters = cloud.os.counters().snapshot();
    let nova: u64 = counters
        .iter()
        .filter(|(k, _)| k.contains(" /compute"))
        .map(|(_, v)| v)
        .sum();
    println!("FIGURES plan of 3 x 20: {nova} Nova requests: {counters:?}");
    assert!(nova <= 4, "{nova} Nova requests: {counters:#?}");
    tf.destroy().assert_ok();
    assert!(pool_servers(&cloud).is_empty());
}

/// A control plane exposed as ClusterIP cannot be reached from outside the management
/// cluster: the plan warns, and apply fails with the reason after a quarter of the timeout
/// instead of waiting out all of it.
#[test]
fn a_cluster_ip_control_plane_is_a_warning_then_a_clear_error() {
    let cloud = CloudSim::start();
    let tf = TfDir::new("");
    cloud.write_files(&tf);
    let config = format!(
        r#"{}
resource "k0stack_management_cluster" "this" {{
  namespace = "{NS}"
}}

resource "k0stack_hosted_control_plane" "dev" {{
  name                  = "dev"
  management_cluster_id = k0stack_management_cluster.this.id
  k0s_version           = "v1.32.6+k0s.0"
  # Not the default any more (NodePort): exposed only inside the management cluster.
  service {{
    type = "ClusterIP"
  }}
}}
"#,
        cloud.provider_config()
    );
    tf.write("main.tf", &config);
    tf.init();
    tf.apply().assert_ok();
    let pool = r#"
resource "k0stack_worker_pool" "general" {
  name                    = "general"
  hosted_control_plane_id = k0stack_hosted_control_plane.dev.id
  size                    = 1
  flavor                  = "m1.small"
  image                   = "ubuntu-24.04"
  networks                = ["private"]
  timeouts {
    create = "20s"
  }
}
"#;
    tf.write("main.tf", &format!("{config}{pool}"));
    tf.plan()
        .assert_ok()
        .assert_contains("Control plane only reachable inside the management cluster");
    let start = Instant::now();
    tf.apply()
        .assert_failed()
        .assert_contains("cannot see the hosted cluster's nodes")
        .assert_contains("NodePort or LoadBalancer");
    assert!(
        start.elapsed() < Duration::from_secs(19),
        "{:?}",
        start.elapsed()
    );
    // The server that was created is in the state: destroy removes it.
    tf.destroy().assert_ok();
    assert!(pool_servers(&cloud).is_empty());
}

/// Pools applied side by side: each observes its own servers with a query no other pool
/// shares, so no pool reads a list started before its own creates (which made pools
/// create their members twice and run into the instance quota).
#[test]
fn many_pools_in_one_apply_create_exactly_their_size() {
    let cloud = CloudSim::start();
    let tf = TfDir::new("");
    cloud.write_files(&tf);
    let mut config = config(&cloud, "");
    for i in 0..8 {
        config.push_str(&format!(
            r#"
resource "k0stack_worker_pool" "p{i}" {{
  name                    = "p{i}"
  hosted_control_plane_id = k0stack_hosted_control_plane.dev.id
  size                    = 12
  flavor                  = "m1.small"
  image                   = "ubuntu-24.04"
  networks                = ["private"]
  max_parallel            = 50
}}
"#
        ));
    }
    tf.write("main.tf", &config);
    tf.init();
    // Slow answers make the pools' requests overlap, as on a busy cloud.
    cloud.set_faults(serde_json::json!({"latency_ms": 30}));
    tf.apply().assert_ok();
    cloud.set_faults(serde_json::json!({"latency_ms": 0}));
    let servers = pool_servers(&cloud);
    for i in 0..8 {
        let n = servers
            .iter()
            .filter(|s| s.name.starts_with(&format!("p{i}-")))
            .count();
        assert_eq!(n, 12, "pool p{i} has {n} servers");
    }
    assert_eq!(tf.plan_exit_code().code, Some(0));
    tf.destroy().assert_ok();
}

/// Provider processes running in `dir` (their working directory).
fn providers_in(dir: &std::path::Path) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok();
            comm.starts_with("terraform-provi") && cwd.as_deref() == Some(dir)
        })
        .collect()
}

/// When Terraform itself is killed, nobody stops the plugin gracefully: the provider must
/// not linger (its gRPC connection and pipes break; `main`'s orphan watch is the backstop
/// for a provider that is idle when that happens).
#[test]
fn a_provider_orphaned_by_a_killed_terraform_exits() {
    let (cloud, tf) = setup(&pool(3, "m1.small", ""));
    cloud.set_faults(serde_json::json!({"boot_latency_ms": 5000}));
    let mut child = tf.spawn(&["apply", "-no-color", "-input=false", "-auto-approve"]);
    cloud.wait_for("the provider to create servers", || {
        !pool_servers(&cloud).is_empty()
    });
    let dir = tf.path().canonicalize().unwrap();
    assert!(!providers_in(&dir).is_empty(), "no provider running");
    // Only Terraform dies (not its process group): the plugin is orphaned.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    let _ = child.wait();
    cloud.wait_for("the orphaned provider to exit", || {
        providers_in(&dir).is_empty()
    });
    cloud.set_faults(serde_json::json!({"boot_latency_ms": 100}));
    tf.apply().assert_ok();
    assert_eq!(pool_servers(&cloud).len(), 3);
    tf.destroy().assert_ok();
}

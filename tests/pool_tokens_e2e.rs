//! e2e (issue 15 items 3 and 9): join tokens that real k0smotron honours.
//!
//! - `wait_for_nodes = false`: apply returns while members boot; their k0s service reads
//!   the token later, so the token must outlive the apply. A later refresh revokes it once
//!   every member it was for has joined.
//! - k0smotron 1.x (v1beta1 only) replaces a request's labels and never stores its
//!   finalizer: the provider finds its requests by name, and revocation still invalidates.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{CloudSim, TfDir};

fn cloud(versions: &[&str], join_latency: Duration) -> CloudSim {
    CloudSim::start_with(
        k0stack_sim::openstack::OpenStackOptions {
            boot_latency: Duration::from_millis(200),
            ..Default::default()
        },
        k0stack_sim::k8s::K8sOptions {
            ready_delay: Duration::from_millis(300),
            join_latency,
            k0smotron_versions: versions.iter().map(|v| v.to_string()).collect(),
            ..Default::default()
        },
    )
}

fn pool(size: u32, wait_for_nodes: bool) -> String {
    format!(
        r#"
resource "k0stack_worker_pool" "general" {{
  name                    = "general"
  hosted_control_plane_id = k0stack_hosted_control_plane.dev.id
  size                    = {size}
  flavor                  = "m1.small"
  image                   = "ubuntu-24.04"
  networks                = ["private"]
  wait_for_nodes          = {wait_for_nodes}
}}
"#
    )
}

fn setup(cloud: &CloudSim, size: u32, wait_for_nodes: bool) -> TfDir {
    let tf = TfDir::new("");
    cloud.write_files(&tf);
    tf.write(
        "main.tf",
        &format!(
            "{}{}",
            cloud.dev_control_plane_config(),
            pool(size, wait_for_nodes)
        ),
    );
    tf.init();
    tf
}

/// The join token requests in the management cluster (any served version).
fn requests(cloud: &CloudSim) -> Vec<Value> {
    let store = cloud.k8s.api.store.lock().unwrap();
    let rt = store.find_kind("k0smotron.io", "JoinTokenRequest").unwrap();
    store.list(&rt, None, None)
}

/// Bootstrap tokens the hosted cluster still accepts (`k0s token invalidate` deletes the
/// `kube-system/bootstrap-token-<id>` Secret).
fn live_bootstrap_tokens(cloud: &CloudSim) -> usize {
    let hosted = cloud.k8s.operator.hosted_for("kmc-system", "dev").unwrap();
    let store = hosted.api.store.lock().unwrap();
    let rt = store.find("", "v1", "secrets").unwrap();
    store
        .list(&rt, Some("kube-system"), None)
        .iter()
        .filter(|s| {
            s["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("bootstrap-token-"))
        })
        .count()
}

fn failures(cloud: &CloudSim) -> Vec<String> {
    cloud.k8s.joiner.failures.lock().unwrap().clone()
}

/// Item 3: the k0s service starts 2 s after ACTIVE (download, install, start); apply
/// returns before that. Every member still joins, and the next refresh revokes the token.
#[test]
fn wait_for_nodes_false_leaves_the_token_for_members_still_booting() {
    let cloud = cloud(&["v1beta2", "v1beta1"], Duration::from_secs(2));
    let tf = setup(&cloud, 2, false);
    tf.apply().assert_ok();
    assert!(
        cloud.ready_nodes("kmc-system", "dev") < 2,
        "apply returned before the members joined (the point of this test)"
    );
    cloud.wait_for("both members to join", || {
        cloud.ready_nodes("kmc-system", "dev") == 2 || failures(&cloud).len() >= 2
    });
    assert_eq!(failures(&cloud), Vec::<String>::new(), "members refused");
    assert_eq!(cloud.ready_nodes("kmc-system", "dev"), 2);
    assert_eq!(requests(&cloud).len(), 1, "kept while members booted");

    // Every member joined: the refresh of the next plan revokes the token.
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(0), "the plan is not empty:\n{}", plan.all());
    cloud.wait_for("the request to be deleted", || requests(&cloud).is_empty());
    cloud.wait_for("the token to be invalidated", || {
        live_bootstrap_tokens(&cloud) == 0
    });
}

/// Item 9: on k0smotron 1.x, requests are found by name and their tokens invalidated at
/// the end of the apply, although k0smotron wiped the request's labels.
#[test]
fn k0smotron_1_requests_are_revoked_by_name() {
    let cloud = cloud(&["v1beta1"], Duration::from_millis(100));
    let tf = setup(&cloud, 1, true);
    tf.apply().assert_ok();
    assert_eq!(cloud.ready_nodes("kmc-system", "dev"), 1);
    cloud.wait_for("the request to be deleted", || requests(&cloud).is_empty());
    cloud.wait_for("the token to be invalidated", || {
        live_bootstrap_tokens(&cloud) == 0
    });
    tf.destroy().assert_ok();
    assert!(requests(&cloud).is_empty());
}

/// Item 9: an apply killed while its members boot leaves a request k0smotron 1.x stripped
/// of its labels; the re-run finds it by name in the pool's record and revokes it once the
/// adopted members joined.
#[test]
fn an_interrupted_applys_request_is_revoked_by_the_next_apply() {
    let cloud = cloud(&["v1beta1"], Duration::from_secs(3));
    let tf = setup(&cloud, 2, true);
    let mut child = tf.spawn(&["apply", "-no-color", "-input=false", "-auto-approve"]);
    cloud.wait_for("a token request and the servers", || {
        !requests(&cloud).is_empty() && pool_servers(&cloud) == 2
    });
    support::sigkill(&mut child);
    let leftover = requests(&cloud);
    assert_eq!(leftover.len(), 1);
    assert!(
        leftover[0]["metadata"]["labels"]
            .get("k0stack.io/worker-pool")
            .is_none(),
        "k0smotron 1.x replaced the request's labels: {}",
        leftover[0]["metadata"]
    );
    tf.apply().assert_ok();
    assert_eq!(cloud.ready_nodes("kmc-system", "dev"), 2);
    assert_eq!(
        pool_servers(&cloud),
        2,
        "the interrupted create's servers were adopted"
    );
    cloud.wait_for("the leftover request to be deleted", || {
        requests(&cloud).is_empty()
    });
    cloud.wait_for("its token to be invalidated", || {
        live_bootstrap_tokens(&cloud) == 0
    });
}

fn pool_servers(cloud: &CloudSim) -> usize {
    cloud
        .servers()
        .iter()
        .filter(|s| s.name.starts_with("general-") && !s.deleting && s.status != "DELETED")
        .count()
}

/// k0smotron 1.x cannot finish deleting a request whose Cluster is gone; the provider's
/// finalizer would hold it forever. Destroying the pool after its control plane vanished
/// (a member was still booting, so its request was kept) leaves no request behind.
#[test]
fn k0smotron_1_requests_of_a_vanished_control_plane_do_not_hang() {
    let cloud = cloud(&["v1beta1"], Duration::from_secs(2));
    let tf = setup(&cloud, 1, false);
    tf.apply().assert_ok();
    let kept = requests(&cloud);
    assert_eq!(kept.len(), 1, "kept for the member still booting");
    assert_eq!(
        kept[0]["metadata"]["finalizers"],
        serde_json::json!([k0stack::resources::worker_pool::token::FINALIZER])
    );
    {
        let mut store = cloud.k8s.api.store.lock().unwrap();
        let rt = store.find_kind("k0smotron.io", "Cluster").unwrap();
        store.delete(&rt, "kmc-system", "dev").unwrap();
    }
    cloud.k8s.api.changed.notify_waiters();
    cloud.wait_for("the Cluster to be gone", || {
        cloud
            .k8s
            .operator
            .cluster_uid("kmc-system", "dev")
            .is_none()
    });
    tf.run(&[
        "destroy",
        "-no-color",
        "-input=false",
        "-auto-approve",
        "-target=k0stack_worker_pool.general",
    ])
    .assert_ok();
    cloud.wait_for("the request to be gone", || requests(&cloud).is_empty());
}

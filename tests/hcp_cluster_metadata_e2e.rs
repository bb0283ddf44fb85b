//! e2e (real Terraform CLI, k0stack-sim): the provider never changes a k0smotron `Cluster`'s
//! labels or annotations after its POST. k0smotron copies the annotations into the control
//! plane StatefulSet's pod template (a change rolls the control plane) and the labels into
//! its immutable selector (a change breaks every later StatefulSet update): see
//! sim/REALITY.md. The ownership bookkeeping (phase, lease, takeovers, allocated ports)
//! lives in the companion ConfigMap `<name>-k0stack-owner`.

mod support;

use std::time::{Duration, Instant};

use k0stack_sim::k8s::K8sOptions;
use serde_json::{json, Value};
use support::hcp::{self, NS};
use support::identity as id;
use support::{MgmtSim, TfDir};

const ADDR: &str = "k0stack_hosted_control_plane.dev";
const COMPANION: &str = "dev-k0stack-owner";
/// The provider's default exposure, written as an import records it (NodePort, node
/// ports allocated by the provider).
const NODE_PORT: &str = "service {\n    type = \"NodePort\"\n  }";
const FLAGS: &str = "control_plane_flags = [\"--enable-metrics-scraper\"]";

/// The control plane `dev` with `body`, in the management cluster id an import records.
fn dev(sim: &MgmtSim, body: &str) -> String {
    let mgmt_id = format!("{}/{NS}", id::kube_system_uid(&sim.sim));
    hcp::hcp_in(&mgmt_id, "dev", body)
}

fn with_flags(sim: &MgmtSim) -> String {
    dev(sim, &format!("{NODE_PORT}\n  {FLAGS}"))
}

/// A simulator whose control planes take `ready` to become ready after each change, and a
/// working directory with the control plane `dev` (`body` in its block).
fn start(ready: Duration, body: &str) -> (MgmtSim, TfDir) {
    let sim = MgmtSim::start(K8sOptions {
        ready_delay: ready,
        ..Default::default()
    });
    let tf = TfDir::new(&format!("{}{}", hcp::provider(), dev(&sim, body)));
    tf.write("mgmt.kubeconfig", &sim.sim.kubeconfig());
    tf.init().assert_ok();
    (sim, tf)
}

/// The Cluster's labels and annotations (what k0smotron copies into its StatefulSet).
fn metadata(sim: &MgmtSim) -> Value {
    let c = hcp::cluster(sim, "dev");
    json!({"labels": c["metadata"]["labels"], "annotations": c["metadata"]["annotations"]})
}

fn companion(sim: &MgmtSim) -> Option<Value> {
    id::object(&sim.sim, "", "v1", "configmaps", NS, COMPANION)
}

#[track_caller]
fn unchanged(sim: &MgmtSim, first: &Value, after: &str) {
    assert_eq!(
        &metadata(sim),
        first,
        "the Cluster's metadata changed by {after}"
    );
}

/// Runs `apply` in a thread while this one watches the Cluster: its metadata from the moment
/// it exists until the apply returns (every distinct value seen), and the companion's
/// leases seen meanwhile.
fn apply_watching(sim: &MgmtSim, tf: &TfDir) -> (Vec<Value>, Vec<String>) {
    std::thread::scope(|s| {
        let apply = s.spawn(|| tf.apply());
        let (mut seen, mut leases) = (Vec::<Value>::new(), Vec::<String>::new());
        while !apply.is_finished() {
            if id::clusters(&sim.sim).len() == 1 {
                let m = metadata(sim);
                if seen.last() != Some(&m) {
                    seen.push(m);
                }
            }
            if let Some(l) = companion(sim).and_then(|c| id::owner_of(&c).2) {
                if leases.last() != Some(&l) {
                    leases.push(l);
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        apply.join().expect("apply thread").assert_ok();
        (seen, leases)
    })
}

/// A control plane slower to become ready than two lease renewals: its create, refresh,
/// no-op apply, spec update, and a `terraform import` with its plan leave the Cluster's
/// labels and annotations exactly as the POST wrote them; the lease is renewed on the
/// companion meanwhile.
#[test]
fn a_clusters_metadata_never_changes_after_its_post() {
    let (sim, tf) = start(Duration::from_secs(12), NODE_PORT);
    let started = Instant::now();
    let (seen, leases) = apply_watching(&sim, &tf);
    assert!(
        started.elapsed() >= Duration::from_secs(11),
        "the create waited for readiness"
    );
    assert_eq!(
        seen.len(),
        1,
        "the Cluster's metadata changed during the create: {seen:#?}"
    );
    let first = seen[0].clone();
    let instance = hcp::attrs(&tf, ADDR)["instance_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        first["annotations"],
        json!({"k0stack.io/owner": instance}),
        "the POST writes who owns it, nothing that changes"
    );
    assert_eq!(first["labels"]["app.kubernetes.io/managed-by"], "k0stack");
    assert!(
        leases.len() >= 2,
        "the create's lease was renewed on the companion: {leases:?}"
    );
    let c = companion(&sim).expect("the companion");
    assert_eq!(
        id::owner_of(&c),
        (Some(instance.clone()), Some("created".into()), None)
    );
    unchanged(&sim, &first, "the create's end");

    tf.run(&["refresh", "-no-color", "-input=false"])
        .assert_ok();
    unchanged(&sim, &first, "a refresh");
    hcp::plan_is_empty(&tf);
    tf.apply().assert_ok();
    unchanged(&sim, &first, "a no-op apply");

    hcp::reconfigure(&tf, &with_flags(&sim));
    let (seen, _) = apply_watching(&sim, &tf);
    assert_eq!(seen, vec![first.clone()], "an update changed the metadata");
    assert_eq!(
        hcp::cluster(&sim, "dev")["spec"]["controlPlaneFlags"][0],
        "--enable-metrics-scraper"
    );
    hcp::plan_is_empty(&tf);

    tf.run(&["state", "rm", ADDR]).assert_ok();
    tf.run(&[
        "import",
        "-no-color",
        "-input=false",
        ADDR,
        "kmc-system/dev",
    ])
    .assert_ok();
    unchanged(&sim, &first, "an import");
    let taken = hcp::attrs(&tf, ADDR)["instance_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(taken, instance, "an import draws a new instance");
    let c = companion(&sim).expect("the companion");
    assert_eq!(
        id::owner_of(&c).0.as_deref(),
        Some(taken.as_str()),
        "the companion says so"
    );
    hcp::plan_is_empty(&tf);
    tf.apply().assert_ok();
    unchanged(&sim, &first, "the imported state's apply");
    tf.destroy().assert_ok();
    assert!(id::clusters(&sim.sim).is_empty());
    assert!(companion(&sim).is_none(), "destroy removes the companion");
}

/// A `Cluster` of an earlier provider version carries its phase (here still `creating`:
/// its create returned but could not mark it) and the allocated ports itself, and has no
/// companion: it is still this state's, refresh, update and import leave its metadata as
/// it is (a companion records what changed), and destroy deletes it.
#[test]
fn a_cluster_of_an_earlier_version_keeps_its_annotations() {
    let (sim, tf) = start(Duration::from_millis(300), NODE_PORT);
    tf.apply().assert_ok();
    let instance = hcp::attrs(&tf, ADDR)["instance_id"]
        .as_str()
        .unwrap()
        .to_string();
    id::delete_core(&sim.sim, "configmaps", NS, COMPANION);
    hcp::patch_cluster(
        &sim,
        "dev",
        json!({"metadata": {"annotations": {
            "k0stack.io/owner-phase": "creating",
            "k0stack.io/owner-lease-until": "1000",
            "k0stack.io/allocated-ports": "api,konnectivity"}}}),
    );
    let first = metadata(&sim);

    hcp::plan_is_empty(&tf);
    unchanged(&sim, &first, "a refresh");
    let c = companion(&sim).expect("the refresh records the phase in a companion");
    assert_eq!(
        id::owner_of(&c),
        (Some(instance.clone()), Some("created".into()), None)
    );
    hcp::reconfigure(&tf, &with_flags(&sim));
    tf.apply().assert_ok();
    unchanged(&sim, &first, "an update");
    assert_eq!(
        hcp::cluster(&sim, "dev")["spec"]["controlPlaneFlags"][0],
        "--enable-metrics-scraper"
    );
    hcp::plan_is_empty(&tf);

    // An import of it without the companion reads the allocated ports from the Cluster.
    id::delete_core(&sim.sim, "configmaps", NS, COMPANION);
    tf.run(&["state", "rm", ADDR]).assert_ok();
    tf.run(&[
        "import",
        "-no-color",
        "-input=false",
        ADDR,
        "kmc-system/dev",
    ])
    .assert_ok();
    unchanged(&sim, &first, "an import");
    hcp::plan_is_empty(&tf);
    tf.destroy().assert_ok();
    assert!(id::clusters(&sim.sim).is_empty());
    assert!(companion(&sim).is_none());
}

//! e2e (issue 15 item 6): an update of a control plane returns only when every replica runs
//! the new spec. k0smotron 2.x keeps `Available` True during a roll and computes
//! `ControlPlaneUpToDate` from a StatefulSet status that lags; the strict simulator does the
//! same, so a provider that trusted `Available` returned while pods were still old.

mod support;

use serde_json::Value;
use support::hcp;

const BODY: &str = r#"replicas = 3
  storage {
    type = "etcd"
  }"#;

fn statefulset(sim: &support::MgmtSim) -> Value {
    support::identity::object(&sim.sim, "apps", "v1", "statefulsets", hcp::NS, "kmc-a")
        .expect("k0smotron's StatefulSet kmc-a")
}

fn assert_rolled(sts: &Value, image: &str) {
    assert_eq!(
        sts["spec"]["template"]["spec"]["containers"][0]["image"], image,
        "{sts}"
    );
    for k in ["replicas", "updatedReplicas", "readyReplicas"] {
        assert_eq!(sts["status"][k], 3, "{k}: {sts}");
    }
    assert_eq!(
        sts["status"]["currentRevision"], sts["status"]["updateRevision"],
        "{sts}"
    );
    assert!(sts["status"]["observedGeneration"].as_i64() >= sts["metadata"]["generation"].as_i64());
}

#[test]
fn a_version_update_returns_after_the_whole_roll() {
    let (sim, tf) = hcp::start(&hcp::hcp("a", BODY));
    tf.apply().assert_ok();
    assert_rolled(&statefulset(&sim), "quay.io/k0sproject/k0s:v1.32.6-k0s.0");
    let config = hcp::hcp("a", BODY).replace("v1.32.6+k0s.0", "v1.33.2+k0s.0");
    hcp::reconfigure(&tf, &config);
    tf.apply().assert_ok();
    // Right when apply returns: every replica is the new one.
    assert_rolled(&statefulset(&sim), "quay.io/k0sproject/k0s:v1.33.2-k0s.0");
    hcp::plan_is_empty(&tf);
}

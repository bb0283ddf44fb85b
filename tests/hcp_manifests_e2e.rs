//! e2e (issue 15 item 7): k0smotron appends its endpoint ConfigMap to `spec.manifests`
//! (an atomic list) once the Cluster has an address; the provider keeps that entry instead
//! of taking it away on every apply (which made k0smotron append it again: two rolls per
//! apply), and deletes its own manifests ConfigMap only after the Cluster stopped using it.

mod support;

use serde_json::Value;
use support::hcp;

fn manifest_names(c: &Value) -> Vec<String> {
    c["spec"]["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["name"].as_str().map(String::from))
        .collect()
}

fn generation(c: &Value) -> i64 {
    c["metadata"]["generation"].as_i64().unwrap()
}

fn configmap_exists(sim: &support::MgmtSim, name: &str) -> bool {
    support::identity::object(&sim.sim, "", "v1", "configmaps", hcp::NS, name).is_some()
}

#[test]
fn k0smotrons_endpoint_manifest_survives_updates_without_extra_rolls() {
    let manifests = r#"manifests = { "extra.yaml" = "kind: Namespace\n" }"#;
    let (sim, tf) = hcp::start(&hcp::hcp("a", manifests));
    tf.apply().assert_ok();
    let created = hcp::cluster(&sim, "a");
    assert_eq!(
        manifest_names(&created),
        ["k0stack", "kmc-a-endpoint"],
        "k0smotron appended its endpoint entry"
    );
    hcp::plan_is_empty(&tf);

    // An update of another field: one spec change, one generation, the entry kept.
    hcp::reconfigure(
        &tf,
        &hcp::hcp(
            "a",
            &format!("{manifests}\n  control_plane_flags = [\"--enable-metrics-scraper\"]"),
        ),
    );
    tf.apply().assert_ok();
    let updated = hcp::cluster(&sim, "a");
    assert_eq!(manifest_names(&updated), ["k0stack", "kmc-a-endpoint"]);
    assert_eq!(
        generation(&updated),
        generation(&created) + 1,
        "the provider's apply did not take k0smotron's entry away (k0smotron would append it again: a second roll)"
    );

    // All manifests removed: k0smotron's entry stays, ours goes, then our ConfigMap.
    hcp::reconfigure(
        &tf,
        &hcp::hcp("a", "control_plane_flags = [\"--enable-metrics-scraper\"]"),
    );
    tf.apply().assert_ok();
    let emptied = hcp::cluster(&sim, "a");
    assert_eq!(manifest_names(&emptied), ["kmc-a-endpoint"]);
    assert_eq!(generation(&emptied), generation(&updated) + 1);
    assert!(!configmap_exists(&sim, "a-k0stack-manifests"));
    assert!(
        configmap_exists(&sim, "kmc-a-endpoint"),
        "k0smotron's own ConfigMap is not ours to delete"
    );
    hcp::plan_is_empty(&tf);
}

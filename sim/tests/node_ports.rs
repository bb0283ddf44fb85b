//! Node ports are cluster-wide, as kube-apiserver allocates them, and k0smotron's
//! `kmc-<name>-nodeport` Service uses the Cluster's ports as node ports: a second NodePort
//! control plane on the same ports is refused and never becomes ready.

use std::time::Duration;

use k0stack_sim::k8s::{K8sOptions, K8sSim};
use serde_json::{json, Value};

async fn wait_for<F: Fn() -> bool>(what: &str, f: F) {
    for _ in 0..100 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

fn cluster(sim: &K8sSim, name: &str) -> Option<Value> {
    let store = sim.api.store.lock().unwrap();
    let rt = store.find("k0smotron.io", "v1beta2", "clusters")?;
    store.get(&rt, "default", name).ok()
}

/// `Available`'s status, and the reconcile step k0smotron reports (a failed step is only
/// in `status.deprecated.v1beta1.reconciliationStatus`, as `SetReconciliationStatus` writes it).
fn condition(sim: &K8sSim, name: &str) -> (Option<String>, String) {
    let c = cluster(sim, name).unwrap_or_default();
    let available = c["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Available"))
        .cloned()
        .unwrap_or_default();
    (
        available["status"].as_str().map(String::from),
        c["status"]["deprecated"]["v1beta1"]["reconciliationStatus"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

fn service(sim: &K8sSim, name: &str) -> Option<Value> {
    let store = sim.api.store.lock().unwrap();
    let rt = store.find("", "v1", "services")?;
    store.get(&rt, "default", name).ok()
}

fn create_cluster(sim: &K8sSim, name: &str, api: u16, konn: u16) {
    let mut store = sim.api.store.lock().unwrap();
    let rt = store.find("k0smotron.io", "v1beta2", "clusters").unwrap();
    let body = json!({"metadata": {"name": name}, "spec": {"version": "v1.32.6+k0s.0",
        "service": {"type": "NodePort", "apiPort": api, "konnectivityPort": konn}}});
    store.create(&rt, "default", body, "t").unwrap();
    drop(store);
    sim.api.changed.notify_waiters();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_node_port_keeps_the_second_cluster_unready_until_freed() {
    let sim = K8sSim::start(K8sOptions {
        ready_delay: Duration::from_millis(100),
        ..Default::default()
    })
    .await
    .unwrap();
    create_cluster(&sim, "a", 30443, 30132);
    wait_for("a ready", || {
        condition(&sim, "a").0.as_deref() == Some("True")
    })
    .await;
    let svc = service(&sim, "kmc-a-nodeport").expect("k0smotron's NodePort Service");
    let node_ports: Vec<u64> = svc["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["nodePort"].as_u64().unwrap())
        .collect();
    assert_eq!(node_ports, vec![30443, 30132]);

    create_cluster(&sim, "b", 30443, 30999);
    wait_for("b refused", || {
        condition(&sim, "b")
            .1
            .contains("provided port is already allocated")
    })
    .await;
    let (status, message) = condition(&sim, "b");
    assert_eq!(status.as_deref(), Some("False"));
    assert!(message.starts_with("Failed reconciling services, Service \"kmc-b-nodeport\" is invalid: spec.ports[0].nodePort: Invalid value: 30443"), "{message}");
    assert!(service(&sim, "kmc-b-nodeport").is_none());
    assert_eq!(
        cluster(&sim, "b").unwrap()["status"]["deprecated"]["v1beta1"]["ready"],
        false
    );

    // A's Cluster deleted: its Service goes, the port is free, b becomes ready.
    {
        let mut store = sim.api.store.lock().unwrap();
        let rt = store.find("k0smotron.io", "v1beta2", "clusters").unwrap();
        store.delete(&rt, "default", "a").unwrap();
    }
    sim.api.changed.notify_waiters();
    wait_for("b ready", || {
        condition(&sim, "b").0.as_deref() == Some("True")
    })
    .await;
    assert!(service(&sim, "kmc-a-nodeport").is_none());
    assert!(service(&sim, "kmc-b-nodeport").is_some());
}

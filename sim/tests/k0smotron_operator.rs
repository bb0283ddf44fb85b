//! The k0smotron emulation, driven through the store like the real operator's clients.

use std::time::Duration;

use k0stack_sim::k8s::{K8sOptions, K8sSim};
use serde_json::json;

async fn wait_for<F: Fn() -> bool>(what: &str, f: F) {
    for _ in 0..100 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

fn available(sim: &K8sSim, name: &str) -> Option<String> {
    let store = sim.api.store.lock().unwrap();
    let rt = store.find("k0smotron.io", "v1beta2", "clusters")?;
    let c = store.get(&rt, "default", name).ok()?;
    c["status"]["conditions"][0]["status"]
        .as_str()
        .map(String::from)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_ready_then_recreated_then_ready() {
    let sim = K8sSim::start(K8sOptions {
        ready_delay: Duration::from_millis(100),
        ..Default::default()
    })
    .await
    .unwrap();
    sim.operator.knobs.lock().unwrap().never_ready = true;
    let rt = sim
        .api
        .store
        .lock()
        .unwrap()
        .find("k0smotron.io", "v1beta2", "clusters")
        .unwrap();
    let body = json!({"metadata": {"name": "dev"}, "spec": {"version": "v1.32.6+k0s.0"}});
    sim.api
        .store
        .lock()
        .unwrap()
        .create(&rt, "default", body.clone(), "t")
        .unwrap();
    sim.api.changed.notify_waiters();
    wait_for("not ready status", || {
        available(&sim, "dev").as_deref() == Some("False")
    })
    .await;
    sim.api
        .store
        .lock()
        .unwrap()
        .delete(&rt, "default", "dev")
        .unwrap();
    wait_for("deletion", || {
        sim.api
            .store
            .lock()
            .unwrap()
            .get(&rt, "default", "dev")
            .is_err()
    })
    .await;
    sim.operator.knobs.lock().unwrap().never_ready = false;
    sim.api
        .store
        .lock()
        .unwrap()
        .create(&rt, "default", body, "t")
        .unwrap();
    wait_for("ready status", || {
        available(&sim, "dev").as_deref() == Some("True")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodeport_cluster_gets_an_address_and_becomes_ready() {
    let sim = K8sSim::start(K8sOptions {
        ready_delay: Duration::from_millis(100),
        ..Default::default()
    })
    .await
    .unwrap();
    let rt = sim
        .api
        .store
        .lock()
        .unwrap()
        .find("k0smotron.io", "v1beta2", "clusters")
        .unwrap();
    let body = json!({"metadata": {"name": "staging"}, "spec": {"version": "v1.32.6+k0s.0", "replicas": 3,
        "service": {"type": "NodePort", "apiPort": 31443, "konnectivityPort": 30132}, "storage": {"type": "etcd"}}});
    sim.api
        .store
        .lock()
        .unwrap()
        .create(&rt, "default", body, "t")
        .unwrap();
    sim.api.changed.notify_waiters();
    wait_for("ready status", || {
        available(&sim, "staging").as_deref() == Some("True")
    })
    .await;
    let c = sim
        .api
        .store
        .lock()
        .unwrap()
        .get(&rt, "default", "staging")
        .unwrap();
    assert!(c["spec"]["externalAddress"]
        .as_str()
        .unwrap()
        .starts_with("127.20."));
}

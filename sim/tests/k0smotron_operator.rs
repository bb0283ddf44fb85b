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

fn secret_token(sim: &K8sSim, name: &str) -> Option<String> {
    use base64::Engine;
    let store = sim.api.store.lock().unwrap();
    let rt = store.find("", "v1", "secrets")?;
    let s = store.get(&rt, "default", name).ok()?;
    let b = base64::engine::general_purpose::STANDARD
        .decode(s["data"]["token"].as_str()?)
        .ok()?;
    String::from_utf8(b).ok()
}

fn user_data(token: &str) -> String {
    format!("#cloud-config\nwrite_files:\n- path: /etc/k0s.token\n  permissions: '0600'\n  content: {token}\nruncmd:\n- k0s install worker --token-file /etc/k0s.token --labels='pool=general' --taints='dedicated=infra:NoSchedule'\n- k0s start\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_join_with_a_valid_token_and_not_after_revocation() {
    use k0stack_sim::{VmEvent, VmInfo};
    let bus = k0stack_sim::EventBus::default();
    let sim = K8sSim::start(K8sOptions {
        ready_delay: Duration::from_millis(50),
        join_latency: Duration::from_millis(50),
        bus: bus.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    let (crt, jrt) = {
        let s = sim.api.store.lock().unwrap();
        (
            s.find("k0smotron.io", "v1beta2", "clusters").unwrap(),
            s.find("k0smotron.io", "v1beta2", "jointokenrequests")
                .unwrap(),
        )
    };
    sim.api.store.lock().unwrap().create(&crt, "default", json!({"metadata": {"name": "dev"}, "spec": {"version": "v1.32.6+k0s.0", "service": {"type": "LoadBalancer"}}}), "t").unwrap();
    wait_for("ready", || {
        available(&sim, "dev").as_deref() == Some("True")
    })
    .await;
    sim.api.store.lock().unwrap().create(&jrt, "default", json!({"metadata": {"name": "pool-token"}, "spec": {"clusterName": "dev", "expiry": "1h", "role": "worker"}}), "t").unwrap();
    wait_for("token secret", || {
        secret_token(&sim, "pool-token").is_some()
    })
    .await;
    let token = secret_token(&sim, "pool-token").unwrap();
    let (server, bootstrap) = k0stack_sim::k8s::join::decode_join_token(&token).unwrap();
    assert!(server.starts_with("https://127.20."), "{server}");
    assert_eq!(
        bootstrap.len(),
        23,
        "bootstrap token id.secret: {bootstrap}"
    );

    let vm = |id: &str, name: &str| VmInfo {
        server_id: id.into(),
        name: name.into(),
        hostname: name.into(),
        user_data: Some(user_data(&token)),
        ip: "127.100.0.5".into(),
        flavor: "m1.small".into(),
    };
    bus.publish(VmEvent::Active(vm("s1", "general-abcde")));
    let hosted = sim.operator.hosted_for("default", "dev").unwrap();
    let node = |name: &str| {
        let store = hosted.api.store.lock().unwrap();
        let rt = store.find("", "v1", "nodes").unwrap();
        store.get(&rt, "", name).ok()
    };
    wait_for("node registered", || node("general-abcde").is_some()).await;
    let n = node("general-abcde").unwrap();
    assert_eq!(n["spec"]["providerID"], "openstack:///s1");
    assert_eq!(n["metadata"]["labels"]["pool"], "general");
    assert_eq!(
        n["spec"]["taints"][0],
        json!({"key": "dedicated", "value": "infra", "effect": "NoSchedule"})
    );
    assert_eq!(n["status"]["conditions"][0]["status"], "True");

    bus.publish(VmEvent::Gone {
        server_id: "s1".into(),
    });
    wait_for("node not ready", || {
        node("general-abcde").is_some_and(|n| n["status"]["conditions"][0]["status"] == "Unknown")
    })
    .await;

    // Deleting the JoinTokenRequest revokes the token: a later server does not join.
    sim.api
        .store
        .lock()
        .unwrap()
        .delete(&jrt, "default", "pool-token")
        .unwrap();
    wait_for("revocation", || hosted.token_problem(&bootstrap).is_some()).await;
    bus.publish(VmEvent::Active(vm("s2", "general-fghij")));
    wait_for("refusal recorded", || {
        sim.joiner
            .failures
            .lock()
            .unwrap()
            .iter()
            .any(|f| f.starts_with("s2:") && f.contains("invalidated"))
    })
    .await;
    assert!(node("general-fghij").is_none());
}

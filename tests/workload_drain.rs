//! Hosted-cluster access with kube-rs against k0stack-sim: the admin kubeconfig from
//! k0smotron's Secret, node listing, cordon, drain by eviction with a PodDisruptionBudget,
//! and node deletion.

use std::time::Duration;

use k0stack::kube::workload;
use k0stack_sim::k8s::{K8sOptions, K8sSim};
use serde_json::json;

fn pod(name: &str, node: &str, app: &str, daemonset: bool) -> serde_json::Value {
    let mut p = json!({"metadata": {"name": name, "labels": {"app": app}}, "spec": {"nodeName": node, "containers": [{"name": "c", "image": "nginx"}]}, "status": {"phase": "Running"}});
    if daemonset {
        p["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "kube-proxy", "uid": "u", "controller": true}]);
    }
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_respects_pod_disruption_budgets_then_forces_after_the_grace() {
    let sim = K8sSim::start(K8sOptions {
        ready_delay: Duration::from_millis(50),
        ..Default::default()
    })
    .await
    .unwrap();
    let crt = sim
        .api
        .store
        .lock()
        .unwrap()
        .find("k0smotron.io", "v1beta2", "clusters")
        .unwrap();
    sim.api.store.lock().unwrap().create(&crt, "default", json!({"metadata": {"name": "dev"}, "spec": {"version": "v1.32.6+k0s.0", "service": {"type": "LoadBalancer"}}}), "t").unwrap();
    let kubeconfig = loop {
        let secret = {
            let store = sim.api.store.lock().unwrap();
            let rt = store.find("", "v1", "secrets").unwrap();
            store.get(&rt, "default", "dev-kubeconfig").ok()
        };
        if let Some(s) = secret {
            use base64::Engine;
            break String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(s["data"]["value"].as_str().unwrap())
                    .unwrap(),
            )
            .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let hosted = sim.operator.hosted_for("default", "dev").unwrap();
    {
        let mut store = hosted.api.store.lock().unwrap();
        let nodes = store.find("", "v1", "nodes").unwrap();
        for n in ["n1", "n2"] {
            store.create(&nodes, "", json!({"metadata": {"name": n}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}), "kubelet").unwrap();
        }
        let pods = store.find("", "v1", "pods").unwrap();
        store
            .create(&pods, "default", pod("web-a", "n1", "web", false), "t")
            .unwrap();
        store
            .create(&pods, "default", pod("web-b", "n1", "web", false), "t")
            .unwrap();
        store
            .create(&pods, "default", pod("web-c", "n2", "web", false), "t")
            .unwrap();
        store
            .create(
                &pods,
                "kube-system",
                pod("kube-proxy-n1", "n1", "kube-proxy", true),
                "t",
            )
            .unwrap();
        let pdb = store.find("policy", "v1", "poddisruptionbudgets").unwrap();
        store.create(&pdb, "default", json!({"metadata": {"name": "web"}, "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}}), "t").unwrap();
    }
    let client = workload::client(&kubeconfig).await.unwrap();
    let nodes = workload::nodes(&client).await.unwrap();
    assert_eq!(nodes.len(), 2);
    assert!(nodes.iter().all(workload::node_ready));

    // One web pod may go (3 healthy, 2 required); the second is blocked by the budget.
    let err = workload::drain(&client, "n1", Duration::from_millis(600), None)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("draining node n1 timed out") && msg.contains("disruption budget web"),
        "{msg}"
    );
    let node = sim_node(&hosted, "n1");
    assert_eq!(node["spec"]["unschedulable"], true, "cordoned");

    // With ignore_pdb_after, the drain finishes; the DaemonSet pod stays.
    let moved = workload::drain(&client, "n1", Duration::from_secs(5), Some(Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(moved, 1);
    let left: Vec<String> = {
        let store = hosted.api.store.lock().unwrap();
        let pods = store.find("", "v1", "pods").unwrap();
        store
            .list(&pods, None, None)
            .iter()
            .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        left.contains(&"kube-proxy-n1".to_string())
            && left.contains(&"web-c".to_string())
            && left.len() == 2,
        "{left:?}"
    );

    assert!(workload::delete_node(&client, "n1").await.unwrap());
    assert!(!workload::delete_node(&client, "n1").await.unwrap());
}

fn sim_node(hosted: &k0stack_sim::k8s::hosted::Hosted, name: &str) -> serde_json::Value {
    let store = hosted.api.store.lock().unwrap();
    let rt = store.find("", "v1", "nodes").unwrap();
    store.get(&rt, "", name).unwrap()
}

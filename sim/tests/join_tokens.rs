//! k0smotron's JoinTokenRequest controller per generation (v1.10.9 and v2.x), and when a
//! booting worker really uses its token: when the k0s service starts, not at ACTIVE.

use std::time::Duration;

use k0stack_sim::k8s::k0smotron::jtr::{FINALIZER, LABEL_CLUSTER_UID};
use k0stack_sim::k8s::store::ResourceType;
use k0stack_sim::k8s::{K8sOptions, K8sSim};
use k0stack_sim::{EventBus, VmEvent, VmInfo};
use serde_json::{json, Value};

async fn wait_for<F: Fn() -> bool>(what: &str, f: F) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

struct Mgmt {
    sim: K8sSim,
    bus: EventBus,
    jrt: ResourceType,
    crt: ResourceType,
}

/// A management cluster serving `versions` of k0smotron, with a hosted cluster `dev`
/// (ready unless `never_ready`).
async fn start(versions: &[&str], join_latency: Duration, never_ready: bool) -> Mgmt {
    let bus = EventBus::default();
    let sim = K8sSim::start(K8sOptions {
        ready_delay: Duration::from_millis(50),
        join_latency,
        bus: bus.clone(),
        k0smotron_versions: versions.iter().map(|v| v.to_string()).collect(),
        ..Default::default()
    })
    .await
    .unwrap();
    sim.operator.knobs.lock().unwrap().never_ready = never_ready;
    let storage = versions[0];
    let (crt, jrt) = {
        let s = sim.api.store.lock().unwrap();
        (
            s.find("k0smotron.io", storage, "clusters").unwrap(),
            s.find("k0smotron.io", storage, "jointokenrequests")
                .unwrap(),
        )
    };
    let cluster = json!({"metadata": {"name": "dev"}, "spec": {"version": "v1.32.6-k0s.0", "service": {"type": "NodePort"}}});
    sim.api
        .store
        .lock()
        .unwrap()
        .create(&crt, "default", cluster, "t")
        .unwrap();
    sim.api.changed.notify_waiters();
    let m = Mgmt { sim, bus, jrt, crt };
    if !never_ready {
        wait_for("the hosted API", || {
            m.sim.operator.hosted_for("default", "dev").is_some()
        })
        .await;
        wait_for("the kubeconfig Secret", || {
            m.secret("dev-kubeconfig").is_some()
        })
        .await;
    }
    m
}

impl Mgmt {
    fn secret(&self, name: &str) -> Option<Value> {
        let store = self.sim.api.store.lock().unwrap();
        let rt = store.find("", "v1", "secrets")?;
        store.get(&rt, "default", name).ok()
    }

    fn token(&self, name: &str) -> Option<String> {
        use base64::Engine;
        let s = self.secret(name)?;
        let b = base64::engine::general_purpose::STANDARD
            .decode(s["data"]["token"].as_str()?)
            .ok()?;
        String::from_utf8(b).ok()
    }

    fn jtr(&self, name: &str) -> Option<Value> {
        self.sim
            .api
            .store
            .lock()
            .unwrap()
            .get(&self.jrt, "default", name)
            .ok()
    }

    /// A request for `dev` in the storage version's shape, with a label of its client.
    fn request(&self, name: &str) {
        let spec = if self.jrt.versions[0] == "v1beta1" {
            json!({"clusterRef": {"name": "dev", "namespace": "default"}, "expiry": "1h", "role": "worker"})
        } else {
            json!({"clusterName": "dev", "expiry": "1h", "role": "worker"})
        };
        let body = json!({"metadata": {"name": name, "labels": {"k0stack.io/worker-pool": "p1"}}, "spec": spec});
        self.sim
            .api
            .store
            .lock()
            .unwrap()
            .create(&self.jrt, "default", body, "t")
            .unwrap();
        self.sim.api.changed.notify_waiters();
    }

    fn delete(&self, name: &str) {
        let _ = self
            .sim
            .api
            .store
            .lock()
            .unwrap()
            .delete(&self.jrt, "default", name);
        self.sim.api.changed.notify_waiters();
    }

    fn bootstrap_token(&self, name: &str) -> String {
        let t = self.token(name).unwrap();
        k0stack_sim::k8s::join::decode_join_token(&t).unwrap().1
    }

    fn problem(&self, name: &str) -> Option<String> {
        let hosted = self.sim.operator.hosted_for("default", "dev").unwrap();
        hosted.token_problem(&self.bootstrap_token(name))
    }

    fn boot(&self, server: &str, token: &str) {
        let ud = format!("#cloud-config\nwrite_files:\n- path: /etc/k0s.token\n  permissions: '0600'\n  content: {token}\nruncmd:\n- curl -sSfL --retry 5 https://get.k0s.sh | K0S_VERSION='v1.32.6+k0s.0' sh\n- /usr/local/bin/k0s install worker --token-file /etc/k0s.token\n- /usr/local/bin/k0s start\n");
        self.bus.publish(VmEvent::Active(VmInfo {
            server_id: server.into(),
            name: server.into(),
            hostname: server.into(),
            user_data: Some(ud),
            ip: "127.100.0.9".into(),
            flavor: "m1.small".into(),
        }));
    }

    fn node(&self, name: &str) -> bool {
        let hosted = self.sim.operator.hosted_for("default", "dev").unwrap();
        let store = hosted.api.store.lock().unwrap();
        let rt = store.find("", "v1", "nodes").unwrap();
        store.get(&rt, "", name).is_ok()
    }

    fn failure(&self, server: &str) -> Option<String> {
        let f = self.sim.joiner.failures.lock().unwrap();
        f.iter()
            .find(|f| f.starts_with(&format!("{server}:")))
            .cloned()
    }
}

/// A server ACTIVE while its token was valid, whose k0s service starts after the request
/// was deleted (k0smotron 2.x: `k0s token invalidate`), never joins, with k0s's message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_before_the_k0s_service_starts_fails_the_join() {
    let m = start(&["v1beta2", "v1beta1"], Duration::from_millis(600), false).await;
    m.request("late");
    wait_for("the token", || m.token("late").is_some()).await;
    let token = m.token("late").unwrap();
    m.boot("s-late", &token);
    m.delete("late");
    wait_for("the invalidation", || m.problem_of(&token).is_some()).await;
    wait_for("the refusal", || m.failure("s-late").is_some()).await;
    let why = m.failure("s-late").unwrap();
    assert!(
        why.contains("failed to bootstrap kubelet client configuration: cannot create certificate signing request: Unauthorized"),
        "{why}"
    );
    assert!(!m.node("s-late"));

    // A token still valid when the service starts joins, and revoking it afterwards does
    // not undo the join (the kubelet has its client certificate).
    m.request("kept");
    wait_for("the token", || m.token("kept").is_some()).await;
    m.boot("s-kept", &m.token("kept").unwrap());
    wait_for("the node", || m.node("s-kept")).await;
    m.delete("kept");
    wait_for("the request gone", || m.jtr("kept").is_none()).await;
    assert!(m.node("s-kept"));
    assert!(m.failure("s-kept").is_none());
}

impl Mgmt {
    fn problem_of(&self, token: &str) -> Option<String> {
        let hosted = self.sim.operator.hosted_for("default", "dev").unwrap();
        let bootstrap = k0stack_sim::k8s::join::decode_join_token(token).unwrap().1;
        hosted.token_problem(&bootstrap)
    }
}

/// k0smotron 2.x: its finalizer is on the request before the token; the request's labels
/// are kept; the Secret carries the plain Cluster name and the request's labels.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn k0smotron_2_keeps_labels_and_invalidates_on_delete() {
    let m = start(&["v1beta2", "v1beta1"], Duration::from_millis(50), false).await;
    m.request("r2");
    wait_for("the token", || m.token("r2").is_some()).await;
    let j = m.jtr("r2").unwrap();
    assert_eq!(j["metadata"]["finalizers"], json!([FINALIZER]));
    assert_eq!(j["metadata"]["labels"]["k0stack.io/worker-pool"], "p1");
    let s = m.secret("r2").unwrap();
    let labels = &s["metadata"]["labels"];
    assert_eq!(labels["k0smotron.io/cluster"], "dev");
    assert_eq!(labels["k0smotron.io/role"], "worker");
    assert_eq!(labels["k0smotron.io/token-request"], "r2");
    assert_eq!(labels["app.kubernetes.io/component"], "jointoken");
    assert_eq!(labels["k0stack.io/worker-pool"], "p1");
    assert_eq!(
        s["metadata"]["ownerReferences"][0]["kind"],
        "JoinTokenRequest"
    );
    assert_eq!(m.problem("r2"), None);
    let bootstrap = m.bootstrap_token("r2");
    m.delete("r2");
    let hosted = m.sim.operator.hosted_for("default", "dev").unwrap();
    wait_for("the invalidation", || {
        hosted.token_problem(&bootstrap).is_some()
    })
    .await;
    wait_for("the request and its Secret gone", || {
        m.jtr("r2").is_none() && m.secret("r2").is_none()
    })
    .await;
}

/// k0smotron 1.x (v1.10.9): the request's labels are replaced by `cluster-uid`, its
/// finalizer is never stored, so a delete leaves the token valid; a request that carries
/// the finalizer (put there by its client) is invalidated by the deletion branch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn k0smotron_1_wipes_labels_and_loses_its_finalizer() {
    let m = start(&["v1beta1"], Duration::from_millis(50), false).await;
    let cluster_uid = m.sim.operator.cluster_uid("default", "dev").unwrap();
    m.request("r1");
    wait_for("the token", || m.token("r1").is_some()).await;
    wait_for("the status", || {
        m.jtr("r1")
            .is_some_and(|j| j["status"]["tokenID"].is_string())
    })
    .await;
    let j = m.jtr("r1").unwrap();
    assert_eq!(
        j["metadata"]["labels"],
        json!({ LABEL_CLUSTER_UID: cluster_uid })
    );
    assert!(
        j["metadata"]["finalizers"]
            .as_array()
            .is_none_or(|f| f.is_empty()),
        "{j}"
    );
    assert_eq!(
        j["status"]["reconciliationStatus"],
        "Reconciliation successful"
    );
    let labels = &m.secret("r1").unwrap()["metadata"]["labels"];
    assert_eq!(labels["k0smotron.io/cluster"], "dev");
    assert_eq!(labels[LABEL_CLUSTER_UID], cluster_uid.as_str());
    assert!(
        labels.get("k0stack.io/worker-pool").is_none(),
        "wiped before the copy: {labels}"
    );
    let bootstrap = m.bootstrap_token("r1");
    m.delete("r1");
    wait_for("the request and its Secret gone", || {
        m.jtr("r1").is_none() && m.secret("r1").is_none()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let hosted = m.sim.operator.hosted_for("default", "dev").unwrap();
    assert_eq!(
        hosted.token_problem(&bootstrap),
        None,
        "no finalizer: nothing invalidated the token"
    );

    m.request("r1f");
    wait_for("the token", || m.token("r1f").is_some()).await;
    let j = m.jtr("r1f").unwrap();
    let patch = json!({"metadata": {"finalizers": [FINALIZER]}});
    m.sim
        .api
        .store
        .lock()
        .unwrap()
        .patch_merge(&m.jrt, "default", "r1f", &patch, "client", false)
        .unwrap();
    assert!(j["metadata"]["finalizers"]
        .as_array()
        .is_none_or(|f| f.is_empty()));
    let bootstrap = m.bootstrap_token("r1f");
    m.delete("r1f");
    wait_for("the invalidation", || {
        hosted.token_problem(&bootstrap).is_some()
    })
    .await;
    wait_for("the request gone", || m.jtr("r1f").is_none()).await;
}

/// `k0s token create` needs the control plane: a request for one not up yet fails, says
/// so, and is retried with backoff until it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_before_the_control_plane_is_up_fails_then_is_retried() {
    for versions in [&["v1beta2", "v1beta1"][..], &["v1beta1"][..]] {
        let m = start(versions, Duration::from_millis(50), true).await;
        m.request("early");
        wait_for("the failure in the status", || {
            m.jtr("early").is_some_and(|j| {
                j["status"]["reconciliationStatus"] == "Failed getting token"
                    || j["status"]["conditions"][0]["message"] == "Failed getting token"
            })
        })
        .await;
        assert!(m.token("early").is_none());
        m.sim.operator.knobs.lock().unwrap().never_ready = false;
        wait_for("the token once the control plane is up", || {
            m.token("early").is_some()
        })
        .await;
        let _ = &m.crt;
    }
}

//! Helpers for identity and lifecycle e2e tests: objects straight from (and into) the
//! simulator's store, the state file, and a TCP proxy that stands for a management cluster
//! endpoint that can move.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use k0stack_sim::k8s::K8sSim;
use serde_json::Value;

use super::TfDir;

/// The uid of the simulated cluster's `kube-system` namespace (its identity).
pub fn kube_system_uid(sim: &K8sSim) -> String {
    let store = sim.api.store.lock().unwrap();
    let rt = store.find("", "v1", "namespaces").expect("namespaces");
    store.get(&rt, "", "kube-system").expect("kube-system")["metadata"]["uid"]
        .as_str()
        .expect("uid")
        .to_string()
}

/// Objects of `group/version/plural` in `ns` (all namespaces with None).
pub fn objects(
    sim: &K8sSim,
    group: &str,
    version: &str,
    plural: &str,
    ns: Option<&str>,
) -> Vec<Value> {
    let store = sim.api.store.lock().unwrap();
    match store.find(group, version, plural) {
        Some(rt) => store.list(&rt, ns, None),
        None => vec![],
    }
}

/// The k0smotron `Cluster`s of the simulated management cluster (in its storage version).
pub fn clusters(sim: &K8sSim) -> Vec<Value> {
    let store = sim.api.store.lock().unwrap();
    match store.find_kind("k0smotron.io", "Cluster") {
        Some(rt) => store.list(&rt, None, None),
        None => vec![],
    }
}

/// One object, or None.
pub fn object(
    sim: &K8sSim,
    group: &str,
    version: &str,
    plural: &str,
    ns: &str,
    name: &str,
) -> Option<Value> {
    let store = sim.api.store.lock().unwrap();
    let rt = store.find(group, version, plural)?;
    store.get(&rt, ns, name).ok()
}

/// Creates an object as `kubectl create` would (namespace created when missing).
pub fn create(sim: &K8sSim, group: &str, version: &str, plural: &str, body: Value) -> Value {
    let mut store = sim.api.store.lock().unwrap();
    let ns = body["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if !ns.is_empty() {
        let nst = store.find("", "v1", "namespaces").expect("namespaces");
        if store.get(&nst, "", &ns).is_err() {
            store
                .create(
                    &nst,
                    "",
                    serde_json::json!({"metadata": {"name": ns}}),
                    "kubectl",
                )
                .expect("namespace");
        }
    }
    let rt = store.find(group, version, plural).expect("resource type");
    let out = store.create(&rt, &ns, body, "kubectl").expect("created");
    drop(store);
    sim.api.changed.notify_waiters();
    out
}

/// A merge patch, as `kubectl patch --type merge` would.
pub fn patch(
    sim: &K8sSim,
    group: &str,
    version: &str,
    plural: &str,
    ns: &str,
    name: &str,
    patch: Value,
) {
    let mut store = sim.api.store.lock().unwrap();
    let rt = store.find(group, version, plural).expect("resource type");
    store
        .patch_merge(&rt, ns, name, &patch, "kubectl", false)
        .expect("patched");
}

/// Deletes a `Cluster` as `kubectl delete` would, and waits until k0smotron removed it.
pub fn delete_cluster(sim: &K8sSim, ns: &str, name: &str) {
    {
        let mut store = sim.api.store.lock().unwrap();
        let rt = store
            .find("k0smotron.io", "v1beta2", "clusters")
            .expect("clusters");
        store.delete(&rt, ns, name).expect("deleted");
    }
    sim.api.changed.notify_waiters();
    wait_until("the Cluster to be gone", || {
        object(sim, "k0smotron.io", "v1beta2", "clusters", ns, name).is_none()
    });
}

/// Polls `f` for up to 60 s.
pub fn wait_until(what: &str, f: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !f() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The `k0stack.io/owner*` annotations of an object: (owner, phase, lease).
pub fn owner_of(obj: &Value) -> (Option<String>, Option<String>, Option<String>) {
    let a = &obj["metadata"]["annotations"];
    let s = |k: &str| a[k].as_str().map(String::from);
    (
        s("k0stack.io/owner"),
        s("k0stack.io/owner-phase"),
        s("k0stack.io/owner-lease-until"),
    )
}

/// The owner of a k0smotron `Cluster` as the provider's bookkeeping says (owner, phase,
/// lease): its companion ConfigMap `<name>-k0stack-owner` when that is bound to it (its
/// `cluster-owner`, or without one its own owner, is the Cluster's owner annotation, and its
/// `cluster-uid`, when set, the Cluster's uid), else the Cluster's own annotations.
pub fn cluster_owner(
    sim: &K8sSim,
    cluster: &Value,
) -> (Option<String>, Option<String>, Option<String>) {
    let meta = &cluster["metadata"];
    let ns = meta["namespace"].as_str().unwrap_or_default();
    let name = format!(
        "{}-k0stack-owner",
        meta["name"].as_str().unwrap_or_default()
    );
    let Some(c) = object(sim, "", "v1", "configmaps", ns, &name) else {
        return owner_of(cluster);
    };
    let own = owner_of(&c);
    let bound = c["data"]["cluster-owner"]
        .as_str()
        .map(String::from)
        .or(own.0.clone());
    let uid = c["data"]["cluster-uid"].as_str().filter(|u| !u.is_empty());
    let binds = bound.as_deref()
        == Some(
            meta["annotations"]["k0stack.io/owner"]
                .as_str()
                .unwrap_or(""),
        )
        && uid.is_none_or(|u| meta["uid"].as_str() == Some(u));
    if binds {
        own
    } else {
        owner_of(cluster)
    }
}

/// Deletes a namespaced core object (a ConfigMap, a Secret) as `kubectl delete
/// --ignore-not-found` would.
pub fn delete_core(sim: &K8sSim, plural: &str, ns: &str, name: &str) {
    let mut store = sim.api.store.lock().unwrap();
    let rt = store.find("", "v1", plural).expect("resource type");
    let _ = store.delete(&rt, ns, name);
}

/// The state file, parsed (null when there is none yet, or an empty one: Terraform
/// creates it empty before the first resource is saved).
pub fn state(tf: &TfDir) -> Value {
    match std::fs::read_to_string(tf.path().join("terraform.tfstate")) {
        Ok(text) if !text.trim().is_empty() => serde_json::from_str(&text).expect("state is JSON"),
        _ => Value::Null,
    }
}

/// The attributes of the (single-instance) resource `type.name` in the state, if present.
pub fn attributes(tf: &TfDir, address: &str) -> Option<Value> {
    let (ty, name) = address.split_once('.').expect("type.name");
    state(tf)["resources"]
        .as_array()?
        .iter()
        .find(|r| r["type"] == ty && r["name"] == name && r["mode"] == "managed")
        .map(|r| r["instances"][0]["attributes"].clone())
}

/// Rewrites the state file through `edit` (e.g. to make it look like an earlier version's).
pub fn edit_state(tf: &TfDir, edit: impl FnOnce(&mut Value)) {
    let mut s = state(tf);
    edit(&mut s);
    s["serial"] = serde_json::json!(s["serial"].as_u64().unwrap_or(0) + 1);
    std::fs::write(
        tf.path().join("terraform.tfstate"),
        serde_json::to_string_pretty(&s).unwrap(),
    )
    .expect("write state");
}

/// A TCP proxy to `target`: an endpoint of the management cluster that can go away, as
/// when a bootstrapped cluster's first controller (its endpoint) is replaced.
pub struct TcpProxy {
    pub addr: SocketAddr,
    listener: tokio::task::JoinHandle<()>,
    conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl TcpProxy {
    pub fn start(rt: &tokio::runtime::Runtime, target: SocketAddr) -> Self {
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let c = conns.clone();
        let listener = rt.spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                c.lock().unwrap().push(task);
            }
        });
        Self {
            addr,
            listener,
            conns,
        }
    }

    /// Stops listening and drops every connection: the endpoint is gone.
    pub fn stop(self) {
        self.listener.abort();
        for t in self.conns.lock().unwrap().drain(..) {
            t.abort();
        }
    }
}

/// The simulator's address (`https://127.0.0.1:<port>`).
pub fn sim_addr(sim: &K8sSim) -> SocketAddr {
    sim.url
        .trim_start_matches("https://")
        .parse()
        .expect("the simulator's address")
}

/// The simulator's admin kubeconfig, reaching it through `addr` instead.
pub fn kubeconfig_via(sim: &K8sSim, addr: SocketAddr) -> String {
    sim.kubeconfig()
        .replace(&sim.url, &format!("https://{addr}"))
}

/// Writing requests (POST, PUT, PATCH, DELETE) the simulated apiserver has answered.
pub fn writes(sim: &K8sSim) -> u64 {
    sim.api
        .counters
        .lock()
        .unwrap()
        .iter()
        .filter(|(k, _)| !k.starts_with("GET "))
        .map(|(_, n)| n)
        .sum()
}

//! k0smotron controller emulation: reconciles `Cluster`s (status, finalizer,
//! `externalAddress`, `<name>-ca` / `<name>-kubeconfig` Secrets, a hosted API per cluster,
//! rolling on version changes) and `JoinTokenRequest`s ([`jtr`]: per k0smotron generation).
//! Works on the v1beta2 shape; objects stored as v1beta1 are converted.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use super::api::ApiServer;
use super::convert;
use super::hosted::Hosted;
use super::store::ResourceType;

mod control_plane;
pub mod jtr;
pub mod status;

pub const FINALIZER: &str = "k0smotron.io/finalizer";
const MANAGER: &str = "k0smotron";

/// Controller knobs (settable at run time).
#[derive(Debug, Clone)]
pub struct Knobs {
    /// Time from a spec change to `Available=True`.
    pub ready_delay: Duration,
    /// The control plane never becomes ready (image pull back-off).
    pub never_ready: bool,
    /// Hosted APIs refuse connections.
    pub hosted_unreachable: bool,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            ready_delay: Duration::from_millis(500),
            never_ready: false,
            hosted_unreachable: false,
        }
    }
}

/// What k0smotron remembers of a Cluster between passes.
#[derive(Default)]
struct Seen {
    /// One replica was ready once (k0smotron 1.x's sticky `ready`; the kubeconfig exists).
    was_ready: bool,
    /// The version every replica ran after the last completed roll.
    rolled_version: String,
}

/// Shared state of the emulated operator.
pub struct Operator {
    pub mgmt: Arc<ApiServer>,
    pub knobs: Mutex<Knobs>,
    pub hosted: Mutex<BTreeMap<String, Arc<Hosted>>>,
    seen: Mutex<BTreeMap<String, Seen>>,
    /// The control plane StatefulSet of each Cluster (by uid).
    rollouts: Mutex<BTreeMap<String, super::rollout::Rollout>>,

    known_jtrs: Mutex<BTreeMap<String, String>>,
    jtr_retries: Mutex<BTreeMap<String, jtr::Retry>>,
}

fn parse_go_duration(s: &str) -> Option<Duration> {
    let mut total = 0f64;
    let mut rest = s.trim();
    if rest.is_empty() || rest == "0" {
        return Some(Duration::ZERO);
    }
    while !rest.is_empty() {
        let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let value: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        total += value
            * match &rest[..u] {
                "ms" => 0.001,
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                _ => return None,
            };
        rest = &rest[u..];
    }
    Some(Duration::from_secs_f64(total))
}

impl Operator {
    pub fn new(mgmt: Arc<ApiServer>) -> Arc<Self> {
        Arc::new(Self {
            mgmt,
            knobs: Mutex::new(Knobs::default()),
            hosted: Mutex::new(BTreeMap::new()),
            seen: Mutex::new(BTreeMap::new()),
            rollouts: Mutex::new(BTreeMap::new()),

            known_jtrs: Mutex::new(BTreeMap::new()),
            jtr_retries: Mutex::new(BTreeMap::new()),
        })
    }

    /// A fresh address in 127.20.0.0/16. One counter per process, starting at a
    /// process-dependent offset, so simulators in parallel tests (or a demo running beside
    /// the tests) do not collide; `start_hosted` also skips addresses in use.
    fn alloc_ip(&self) -> IpAddr {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
        let _ = NEXT.compare_exchange(
            u32::MAX,
            (std::process::id() % 200) * 250,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
        let v = NEXT.fetch_add(1, Ordering::SeqCst) % 62_500;

        IpAddr::from([127, 20, (v / 250) as u8, (v % 250 + 1) as u8])
    }

    /// Starts a hosted API, moving to the next address while one is taken.
    async fn start_hosted(
        &self,
        key: &str,
        preferred: Option<IpAddr>,
        port: u16,
        version: &str,
    ) -> anyhow::Result<Arc<Hosted>> {
        let mut ip = preferred.unwrap_or_else(|| self.alloc_ip());
        let mut last = None;
        for _ in 0..50 {
            match Hosted::start(key, ip, port, version).await {
                Ok(h) => return Ok(h),
                Err(e) => {
                    last = Some(e);
                    ip = self.alloc_ip();
                }
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no address")))
    }

    fn types(&self) -> Option<(ResourceType, ResourceType)> {
        let store = self.mgmt.store.lock().expect("store");
        Some((
            store.find_kind("k0smotron.io", "Cluster")?,
            store.find_kind("k0smotron.io", "JoinTokenRequest")?,
        ))
    }

    /// Runs until aborted: reconciles on every change and every 100 ms.
    pub async fn run(self: Arc<Self>) {
        loop {
            let notified = self.mgmt.changed.notified();
            self.reconcile_all().await;
            let _ = tokio::time::timeout(Duration::from_millis(100), notified).await;
        }
    }

    async fn reconcile_all(&self) {
        let Some((crt, jrt)) = self.types() else {
            return;
        };
        let clusters = self
            .mgmt
            .store
            .lock()
            .expect("store")
            .list(&crt, None, None);
        let mut live = Vec::new();
        for c in clusters {
            let v2 = convert::k0smotron(&crt, &crt.versions[0], "v1beta2", c);
            live.push(
                v2["metadata"]["uid"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
            self.reconcile_cluster(&crt, v2).await;
        }
        let gone: Vec<String> = self
            .hosted
            .lock()
            .expect("hosted")
            .keys()
            .filter(|k| !live.contains(k))
            .cloned()
            .collect();
        for k in gone {
            self.hosted.lock().expect("hosted").remove(&k);
            self.seen.lock().expect("seen").remove(&k);
            self.rollouts.lock().expect("rollouts").remove(&k);
        }
        let unreachable = self.knobs.lock().expect("knobs").hosted_unreachable;
        for h in self.hosted.lock().expect("hosted").values() {
            h.set_unreachable(unreachable);
        }
        self.reconcile_jtrs(&jrt);
    }

    fn patch(&self, rt: &ResourceType, ns: &str, name: &str, v2_patch: Value, status: bool) {
        let patch = if status {
            convert::k0smotron(
                rt,
                "v1beta2",
                &rt.versions[0],
                json!({"status": v2_patch["status"].clone()}),
            )
        } else {
            convert::k0smotron(rt, "v1beta2", &rt.versions[0], v2_patch)
        };
        let mut store = self.mgmt.store.lock().expect("store");
        let _ = store.patch_merge(rt, ns, name, &patch, MANAGER, status);
    }

    fn put_secret(&self, ns: &str, name: &str, cluster: &str, kind_type: &str, data: Value) {
        let mut store = self.mgmt.store.lock().expect("store");
        let Some(rt) = store.find("", "v1", "secrets") else {
            return;
        };
        let body = json!({"apiVersion": "v1", "kind": "Secret", "type": kind_type,
            "metadata": {"name": name, "namespace": ns, "labels": {"cluster.x-k8s.io/cluster-name": cluster, "k0smotron.io/cluster": cluster}},
            "stringData": data});
        let body = materialize_string_data(body);
        let _ = store.apply(&rt, ns, name, body, MANAGER, true);
    }

    async fn reconcile_cluster(&self, rt: &ResourceType, c: Value) {
        let ns = c["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = c["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let key = format!("{ns}/{name}");
        // Per-object state is keyed by uid: a Cluster deleted and created again under the
        // same name is a new object (new CA, new status).
        let uid = c["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let knobs = self.knobs.lock().expect("knobs").clone();
        if c["metadata"].get("deletionTimestamp").is_some() {
            self.hosted.lock().expect("hosted").remove(&uid);
            self.delete_services(&ns, &name);
            self.delete_control_plane(&uid, &ns, &name);
            {
                let mut store = self.mgmt.store.lock().expect("store");
                if let Some(srt) = store.find("", "v1", "secrets") {
                    for s in ["kubeconfig", "ca"] {
                        let _ = store.delete(&srt, &ns, &format!("{name}-{s}"));
                    }
                }
            }
            let finalizers: Vec<Value> = c["metadata"]["finalizers"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|f| f != FINALIZER)
                .collect();
            self.patch(
                rt,
                &ns,
                &name,
                json!({"metadata": {"finalizers": finalizers}}),
                false,
            );
            return;
        }
        if !c["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x == FINALIZER))
        {
            let mut f = c["metadata"]["finalizers"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            f.push(json!(FINALIZER));
            self.patch(
                rt,
                &ns,
                &name,
                json!({"metadata": {"finalizers": f}}),
                false,
            );
        }
        let generation = c["metadata"]["generation"].as_i64().unwrap_or(1);
        let spec = &c["spec"];
        let svc_type = spec["service"]["type"]
            .as_str()
            .unwrap_or("ClusterIP")
            .to_string();
        let api_port = spec["service"]["apiPort"].as_u64().unwrap_or(30443) as u16;
        let replicas = spec["replicas"].as_i64().unwrap_or(1);
        let address = spec["externalAddress"].as_str().unwrap_or_default();
        let fail = |step: String| {
            let kubeconfig = self
                .seen
                .lock()
                .expect("seen")
                .get(&uid)
                .is_some_and(|s| s.was_ready);
            let sts = self.rollout_status(&uid);
            let inputs = status::Inputs {
                generation,
                desired: replicas,
                sts,
                external_address: address,
                kubeconfig,
                functional: kubeconfig && sts.is_some_and(|s| s.ready_replicas > 0),
                failure: Some(&step),
            };
            self.write_status(rt, &ns, &name, &uid, &inputs);
        };
        // Services first, as k0smotron's reconcile does: a refused Service stops the
        // reconcile (the pods are never created), with the error in the status.
        if let Err(e) = self.reconcile_service(&ns, &name, spec) {
            return fail(format!("Failed reconciling services, {e}"));
        }
        // Then the k0s config ConfigMap, which k0smotron generates only from a
        // `k0s.k0sproject.io/v1beta1` k0sConfig: anything else stops the reconcile.
        if let Err(e) = check_k0s_config(&spec["k0sConfig"]) {
            return fail(format!("Failed reconciling configmap, {e}"));
        }
        // The hosted API and its address exist from the first reconcile (the pods start);
        // it listens on `apiPort` whatever the Service type (k0smotron's Services, the
        // LoadBalancer's included, expose `apiPort`).
        let existing = self.hosted.lock().expect("hosted").get(&uid).cloned();
        let hosted = match existing {
            Some(h) => h,
            None => {
                let preferred = spec["externalAddress"]
                    .as_str()
                    .and_then(|a| a.parse::<IpAddr>().ok())
                    .filter(|ip| ip.is_loopback());
                // The API server reports the version it was started with until a roll
                // completes.
                let version = spec["version"]
                    .as_str()
                    .unwrap_or("v1.27.9-k0s.0")
                    .replace("-k0s", "+k0s");
                match self.start_hosted(&key, preferred, api_port, &version).await {
                    Ok(h) => {
                        self.hosted
                            .lock()
                            .expect("hosted")
                            .insert(uid.clone(), h.clone());
                        h
                    }
                    Err(e) => {
                        eprintln!("k0stack-sim: cannot start hosted API for {key}: {e}");
                        return;
                    }
                }
            }
        };
        let ip = hosted.addr.ip().to_string();
        if matches!(svc_type.as_str(), "LoadBalancer" | "NodePort") && address.is_empty() {
            self.patch(
                rt,
                &ns,
                &name,
                json!({"spec": {"externalAddress": ip}}),
                false,
            );
            return; // the next pass sees the address
        }
        if !address.is_empty() {
            if let Some(manifests) = self.reconcile_endpoint(&ns, &name, spec, api_port) {
                self.patch(
                    rt,
                    &ns,
                    &name,
                    json!({"spec": {"manifests": manifests}}),
                    false,
                );
                return;
            }
        }
        let server = match svc_type.as_str() {
            "LoadBalancer" | "NodePort" => format!(
                "https://{}:{}",
                Some(address).filter(|a| !a.is_empty()).unwrap_or(&ip),
                hosted.addr.port()
            ),
            _ => format!("https://kmc-{name}.{ns}.svc:{api_port}"),
        };
        let version = spec["version"]
            .as_str()
            .unwrap_or("v1.27.9-k0s.0")
            .to_string();
        // The StatefulSet: k0smotron writes its spec and reads its status as the
        // StatefulSet controller last wrote it; then that controller takes its step.
        let sts = match self.reconcile_statefulset(&uid, &c, &version) {
            Ok(s) => s,
            Err(e) => return fail(format!("Failed reconciling statefulset, {e}")),
        };
        if sts.ready_replicas > 0 {
            self.put_secret(
                &ns,
                &format!("{name}-ca"),
                &name,
                "kubernetes.io/tls",
                json!({"tls.crt": hosted.ca.cert_pem(), "tls.key": hosted.ca.key_pem()}),
            );
            self.put_secret(
                &ns,
                &format!("{name}-kubeconfig"),
                &name,
                "cluster.x-k8s.io/secret",
                json!({"value": hosted.admin_kubeconfig(&name, &server)}),
            );
            self.seen
                .lock()
                .expect("seen")
                .entry(uid.clone())
                .or_default()
                .was_ready = true;
        }
        let sts_generation = self
            .rollouts
            .lock()
            .expect("rollouts")
            .get(&uid)
            .map(|r| r.generation)
            .unwrap_or(0);
        if sts.rolled(sts_generation, replicas) {
            // Every pod runs this template: the API server now reports its version.
            let mut seen = self.seen.lock().expect("seen");
            let s = seen.entry(uid.clone()).or_default();
            if s.rolled_version != version {
                s.rolled_version = version.clone();
                hosted
                    .api
                    .set_git_version(&super::api::kube_git_version(&version));
                hosted.api.record("cluster.available", &version);
            }
        }
        let kubeconfig = self
            .seen
            .lock()
            .expect("seen")
            .get(&uid)
            .is_some_and(|s| s.was_ready);
        let inputs = status::Inputs {
            generation,
            desired: replicas,
            sts: Some(sts),
            external_address: address,
            kubeconfig,
            // k0smotron reads `kube-system` through the hosted API: no ready pod, no answer.
            functional: kubeconfig && !knobs.hosted_unreachable && sts.ready_replicas > 0,
            failure: None,
        };
        self.write_status(rt, &ns, &name, &uid, &inputs);
        self.step_statefulset(&uid, &ns, &name, &knobs);
    }

    /// The Service k0smotron generates for the Cluster (k0smotron
    /// `internal/controller/k0smotron.io/k0smotroncluster_service.go` `generateService`):
    /// `kmc-<name>-nodeport` with `apiPort`/`konnectivityPort` as node ports, `kmc-<name>-lb`
    /// (node ports left to the apiserver) or `kmc-<name>` for ClusterIP.
    fn reconcile_service(&self, ns: &str, name: &str, spec: &Value) -> Result<(), String> {
        let kind = spec["service"]["type"].as_str().unwrap_or("ClusterIP");
        let api = spec["service"]["apiPort"].as_u64().unwrap_or(30443);
        let konn = spec["service"]["konnectivityPort"]
            .as_u64()
            .unwrap_or(30132);
        let port = |n: &str, p: u64| match kind {
            "NodePort" => json!({"name": n, "port": p, "targetPort": p, "nodePort": p}),
            _ => json!({"name": n, "port": p, "targetPort": p}),
        };
        let svc_name = service_name(name, kind);
        let body = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": svc_name, "namespace": ns, "labels": {"app": "k0smotron", "cluster": name}},
            "spec": {"type": kind, "selector": {"app": "k0smotron", "cluster": name},
                "ports": [port("api", api), port("konnectivity", konn)]}});
        let mut store = self.mgmt.store.lock().expect("store");
        let Some(rt) = store.find("", "v1", "services") else {
            return Ok(());
        };
        let brief = |v: &Value| {
            let ports: Vec<(Value, Value)> = v["spec"]["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| (p["port"].clone(), p["nodePort"].clone()))
                .collect();
            (v["spec"]["type"].clone(), ports)
        };
        if let Ok(cur) = store.get(&rt, ns, &svc_name) {
            let (want_type, want_ports) = brief(&body);
            let (have_type, have_ports) = brief(&cur);
            let same_ports = want_ports.len() == have_ports.len()
                && want_ports
                    .iter()
                    .zip(&have_ports)
                    .all(|(w, h)| w.0 == h.0 && (w.1.is_null() || w.1 == h.1));
            if want_type == have_type && same_ports {
                return Ok(());
            }
        }
        store
            .apply(&rt, ns, &svc_name, body, MANAGER, true)
            .map(|_| ())
            .map_err(|e| e.message)
    }

    /// The Cluster's Services go with it (owner references: the garbage collector).
    fn delete_services(&self, ns: &str, name: &str) {
        let mut store = self.mgmt.store.lock().expect("store");
        if let Some(rt) = store.find("", "v1", "services") {
            for kind in ["NodePort", "LoadBalancer", "ClusterIP"] {
                let _ = store.delete(&rt, ns, &service_name(name, kind));
            }
        }
    }

    pub fn cluster_uid(&self, ns: &str, name: &str) -> Option<String> {
        let store = self.mgmt.store.lock().expect("store");
        let crt = store.find_kind("k0smotron.io", "Cluster")?;
        store.get(&crt, ns, name).ok()?["metadata"]["uid"]
            .as_str()
            .map(String::from)
    }

    /// The hosted cluster of `ns/name`, if it runs.
    pub fn hosted_for(&self, ns: &str, name: &str) -> Option<Arc<Hosted>> {
        let uid = self.cluster_uid(ns, name)?;
        self.hosted.lock().expect("hosted").get(&uid).cloned()
    }
}

/// Turns `stringData` into base64 `data`, as the apiserver does on write.
/// k0smotron's Service names (`GetNodePortServiceName`, `GetLoadBalancerServiceName`,
/// `GetClusterIPServiceName` in api/k0smotron.io/v1beta2/k0smotroncluster_types.go).
/// k0smotron's `generateConfig` (`internal/controller/k0smotron.io/k0smotroncluster_configmap.go`,
/// v1.10.9 through v2.1.0): no k0sConfig is fine (k0smotron writes its own), a given one
/// must be `apiVersion: k0s.k0sproject.io/v1beta1`.
pub fn check_k0s_config(k0s_config: &Value) -> Result<(), String> {
    if k0s_config.is_null() {
        return Ok(());
    }
    match k0s_config["apiVersion"].as_str().unwrap_or_default() {
        "k0s.k0sproject.io/v1beta1" => Ok(()),
        other => Err(format!("unsupported k0s config version: {other}")),
    }
}

pub fn service_name(cluster: &str, kind: &str) -> String {
    match kind {
        "NodePort" => format!("kmc-{cluster}-nodeport"),
        "LoadBalancer" => format!("kmc-{cluster}-lb"),
        _ => format!("kmc-{cluster}"),
    }
}

pub fn materialize_string_data(mut body: Value) -> Value {
    use base64::Engine;
    if let Some(sd) = body.get("stringData").and_then(Value::as_object).cloned() {
        let data = body["data"].as_object().cloned().unwrap_or_default();
        let mut data = data;
        for (k, v) in sd {
            data.insert(
                k,
                json!(base64::engine::general_purpose::STANDARD
                    .encode(v.as_str().unwrap_or_default())),
            );
        }
        body["data"] = Value::Object(data);
        body.as_object_mut().expect("object").remove("stringData");
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_k0s_config_without_its_version_is_refused_as_k0smotron_does() {
        assert!(check_k0s_config(&Value::Null).is_ok());
        assert!(
            check_k0s_config(&json!({"apiVersion": "k0s.k0sproject.io/v1beta1", "spec": {}}))
                .is_ok()
        );
        assert_eq!(
            check_k0s_config(&json!({"spec": {"api": {"sans": ["a"]}}})).unwrap_err(),
            "unsupported k0s config version: "
        );
    }

    #[test]
    fn durations_and_string_data() {
        assert_eq!(parse_go_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("0s"), Some(Duration::ZERO));
        let b = materialize_string_data(json!({"stringData": {"a": "b"}}));
        assert_eq!(b, json!({"data": {"a": "Yg=="}}));
    }
}

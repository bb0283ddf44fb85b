//! Management clusters bootstrapped on simulated VMs.
//!
//! When a server becomes ACTIVE with a user_data that installs a k0s controller, it is read
//! as cloud-init and k0s would:
//! - a controller with `/var/lib/k0s/pki/ca.{crt,key}` in `write_files` and no token starts
//!   a new cluster: a simulated Kubernetes API on `<vm ip>:6443`, serving TLS with that CA
//!   and accepting client certificates it signed, with the k0smotron emulation running (it
//!   acts once the k0smotron CRDs exist: applied through the API, or pre-installed when the
//!   user_data fetches k0smotron's release manifest into k0s's manifest directory);
//! - a controller with `--token-file` joins the cluster whose `kube-system` holds the
//!   bootstrap-token Secret its token names (`usage-controller-join`): the same API is
//!   then served on its address too.
//!
//! Every controller runs workloads (`--enable-worker`) and is a Ready Node of its cluster.
//! A server that goes away stops serving and leaves its Node NotReady; a cluster whose last
//! controller is gone is dropped.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

use super::{tls, K8sOptions, K8sSim};
use crate::events::{EventBus, VmEvent, VmInfo};

pub const API_PORT: u16 = 6443;
const CA_CERT: &str = "/var/lib/k0s/pki/ca.crt";
const CA_KEY: &str = "/var/lib/k0s/pki/ca.key";

/// What a controller's user_data asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControllerRequest {
    Init {
        /// PEM certificate and key placed in k0s's PKI directory (None: k0s makes its own).
        ca: Option<(String, String)>,
        /// The k0smotron release the controller fetches into its manifests directory.
        k0smotron_version: Option<String>,
    },
    Join {
        token: String,
    },
}

/// Reads user_data as cloud-init would: `Ok(None)` when it installs no k0s controller.
pub fn parse_controller_user_data(text: &str) -> Result<Option<ControllerRequest>, String> {
    if !text.starts_with("#cloud-config") {
        return Ok(None);
    }
    let Ok(doc) = serde_yaml::from_str::<serde_yaml::Value>(text) else {
        return Ok(None);
    };
    let cmds = super::cloud_config::runcmd(&doc);
    let Some(install) = cmds.iter().find(|c| c.contains("k0s install controller")) else {
        return Ok(None);
    };
    let files = super::cloud_config::files(&doc)?;
    if let Some(rest) = install.split("--token-file").nth(1) {
        let path = rest
            .trim_start_matches('=')
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .trim_matches('\'');
        let token = files
            .get(path)
            .ok_or_else(|| format!("no write_files entry for the controller token {path}"))?;
        return Ok(Some(ControllerRequest::Join {
            token: token.trim().to_string(),
        }));
    }
    let ca = match (files.get(CA_CERT), files.get(CA_KEY)) {
        (Some(c), Some(k)) => Some((c.clone(), k.clone())),
        (None, None) => None,
        _ => return Err(format!("{CA_CERT} and {CA_KEY} must be given together")),
    };
    let k0smotron_version = cmds.iter().find_map(|c| {
        let i = c.find("k0smotron/releases/download/")?;
        let rest = &c[i + "k0smotron/releases/download/".len()..];
        Some(rest.split('/').next()?.to_string())
    });
    Ok(Some(ControllerRequest::Init {
        ca,
        k0smotron_version,
    }))
}

/// One controller of a bootstrapped cluster.
struct Member {
    name: String,
    ip: IpAddr,
    /// The API listener; None while the VM is stopped (its data stays).
    listener: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Member {
    fn drop(&mut self) {
        if let Some(l) = &self.listener {
            l.abort();
        }
    }
}

/// A management cluster running on simulated VMs.
pub struct Bootstrapped {
    pub sim: K8sSim,
    pub ca: tls::Ca,
    /// Live controllers by server id.
    members: Mutex<BTreeMap<String, Member>>,
}

impl Bootstrapped {
    /// Server ids of the live controllers.
    pub fn member_ids(&self) -> Vec<String> {
        self.members
            .lock()
            .expect("members")
            .keys()
            .cloned()
            .collect()
    }

    /// Serves the cluster's API on `ip:6443` (a serving certificate for `ip`).
    async fn serve_on(&self, ip: IpAddr) -> anyhow::Result<tokio::task::JoinHandle<()>> {
        let serving = self.ca.issue_server(&[ip], &["kubernetes".into()])?;
        let cfg = tls::server_config(&serving, Some(&self.ca.cert_pem()))?;
        let (_, task) =
            super::api::serve(self.sim.api.clone(), SocketAddr::new(ip, API_PORT), cfg).await?;
        Ok(task)
    }

    fn register_node(&self, vm: &VmInfo) {
        let node = json!({"metadata": {"name": vm.name, "labels": {
                "kubernetes.io/hostname": vm.name, "kubernetes.io/os": "linux",
                "node-role.kubernetes.io/control-plane": "true", "node.k0sproject.io/role": "control-plane",
                "node.kubernetes.io/instance-type": vm.flavor}},
            "spec": {"providerID": format!("openstack:///{}", vm.server_id)},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status", "lastHeartbeatTime": super::store::now_rfc3339()}],
                "addresses": [{"type": "InternalIP", "address": vm.ip}, {"type": "Hostname", "address": vm.name}],
                "nodeInfo": {"kubeletVersion": self.sim.api.git_version(), "operatingSystem": "linux", "architecture": "amd64"}}});
        let api = &self.sim.api;
        let mut store = api.store.lock().expect("store");
        let rt = store.find("", "v1", "nodes").expect("nodes");
        if store.get(&rt, "", &vm.name).is_ok() {
            let _ = store.patch_merge(
                &rt,
                "",
                &vm.name,
                &json!({"status": node["status"].clone()}),
                "kubelet",
                true,
            );
        } else {
            let _ = store.create(&rt, "", node, "kubelet");
        }
        drop(store);
        api.record("node.ready", &vm.name);
        api.changed.notify_waiters();
    }

    fn node_not_ready(&self, name: &str) {
        self.set_node_ready(name, json!({"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown", "message": "Kubelet stopped posting node status."}), "node-lifecycle-controller", "node.notready");
    }

    fn node_ready(&self, name: &str) {
        self.set_node_ready(name, json!({"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status", "lastHeartbeatTime": super::store::now_rfc3339()}), "kubelet", "node.ready");
    }

    fn set_node_ready(&self, name: &str, condition: Value, manager: &str, event: &str) {
        let api = &self.sim.api;
        let mut store = api.store.lock().expect("store");
        if let Some(rt) = store.find("", "v1", "nodes") {
            let status = json!({"status": {"conditions": [condition]}});
            let _ = store.patch_merge(&rt, "", name, &status, manager, true);
        }
        drop(store);
        api.record(event, name);
        api.changed.notify_waiters();
    }

    /// True when `kube-system` holds a controller-join bootstrap token `id.secret`.
    fn accepts(&self, bootstrap: &str) -> bool {
        let Some((id, secret)) = bootstrap.split_once('.') else {
            return false;
        };
        let store = self.sim.api.store.lock().expect("store");
        let Some(rt) = store.find("", "v1", "secrets") else {
            return false;
        };
        let Ok(s) = store.get(&rt, "kube-system", &format!("bootstrap-token-{id}")) else {
            return false;
        };
        let field = |k: &str| -> Option<String> {
            if let Some(v) = s["stringData"][k].as_str() {
                return Some(v.to_string());
            }
            let b = s["data"][k].as_str()?;
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b).ok()?).ok()
        };
        field("token-secret").as_deref() == Some(secret)
            && field("usage-controller-join").as_deref() == Some("true")
    }
}

/// Watches the bus for controller VMs.
pub struct Bootstrapper {
    template: K8sOptions,
    pub clusters: Mutex<Vec<Arc<Bootstrapped>>>,
    /// `server id: reason` of every controller that did not start or join.
    pub failures: Mutex<Vec<String>>,
}

/// k0smotron API versions a release serves (storage version first).
fn k0smotron_versions(release: &str) -> Vec<String> {
    let major = release
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
        .unwrap_or(2);
    if major >= 2 {
        vec!["v1beta2".into(), "v1beta1".into()]
    } else {
        vec!["v1beta1".into()]
    }
}

impl Bootstrapper {
    /// `template` gives the latencies and version of the clusters it starts.
    pub fn new(template: &K8sOptions) -> Arc<Self> {
        Arc::new(Self {
            template: template.clone(),
            clusters: Mutex::new(Vec::new()),
            failures: Mutex::new(Vec::new()),
        })
    }

    /// Runs until aborted.
    pub async fn run(self: Arc<Self>, bus: EventBus) {
        let mut rx = bus.subscribe();
        loop {
            match rx.recv().await {
                Ok(VmEvent::Active(vm)) => {
                    let me = self.clone();
                    let bus = bus.clone();
                    tokio::spawn(async move { me.controller(vm, bus).await });
                }
                Ok(VmEvent::Gone { server_id }) => self.gone(&server_id),
                Ok(VmEvent::Stopped { server_id }) => self.stopped(&server_id),
                Ok(VmEvent::Resumed { server_id }) => {
                    let me = self.clone();
                    tokio::spawn(async move { me.resumed(&server_id).await });
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return,
            }
        }
    }

    fn refuse(&self, vm: &VmInfo, reason: String) {
        eprintln!(
            "k0stack-sim: controller {} ({}) did not start: {reason}",
            vm.name, vm.server_id
        );
        self.failures
            .lock()
            .expect("failures")
            .push(format!("{}: {reason}", vm.server_id));
    }

    /// The cluster served at `ip` (any member's address).
    pub fn cluster_at(&self, ip: &str) -> Option<Arc<Bootstrapped>> {
        self.clusters
            .lock()
            .expect("clusters")
            .iter()
            .find(|c| {
                c.members.lock().expect("members").keys().any(|_| true) && c.sim.url.contains(ip)
            })
            .cloned()
    }

    async fn controller(&self, vm: VmInfo, bus: EventBus) {
        let req = match vm.user_data.as_deref().map(parse_controller_user_data) {
            None | Some(Ok(None)) => return,
            Some(Err(e)) => return self.refuse(&vm, e),
            Some(Ok(Some(r))) => r,
        };
        let Ok(ip) = vm.ip.parse::<IpAddr>() else {
            return self.refuse(&vm, format!("no usable address ({:?})", vm.ip));
        };
        let latency = self.template.join_latency;
        match req {
            ControllerRequest::Init {
                ca,
                k0smotron_version,
            } => {
                let ca = match &ca {
                    Some((c, k)) => tls::Ca::from_pem(c, k),
                    None => tls::Ca::new("kubernetes-ca"),
                };
                let ca = match ca {
                    Ok(ca) => ca,
                    Err(e) => return self.refuse(&vm, format!("unusable CA: {e:#}")),
                };
                let opts = K8sOptions {
                    k0smotron_versions: k0smotron_version
                        .as_deref()
                        .map(k0smotron_versions)
                        .unwrap_or_default(),
                    addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                    nodes: 0,
                    bus,
                    bootstrap: false,
                    ca: Some((ca.cert_pem(), ca.key_pem())),
                    ..self.template.clone()
                };
                tokio::time::sleep(latency).await;
                let sim = match K8sSim::start(opts).await {
                    Ok(s) => s,
                    Err(e) => return self.refuse(&vm, format!("cannot start the API: {e:#}")),
                };
                let cluster = Arc::new(Bootstrapped {
                    sim,
                    ca,
                    members: Mutex::new(BTreeMap::new()),
                });
                self.add_member(&cluster, &vm, ip).await;
                self.clusters.lock().expect("clusters").push(cluster);
            }
            ControllerRequest::Join { token } => {
                let (_, bootstrap) = match super::join::decode_join_token(&token) {
                    Ok(x) => x,
                    Err(e) => return self.refuse(&vm, e),
                };
                tokio::time::sleep(latency).await;
                let cluster = self
                    .clusters
                    .lock()
                    .expect("clusters")
                    .iter()
                    .find(|c| c.accepts(&bootstrap))
                    .cloned();
                let Some(cluster) = cluster else {
                    return self.refuse(
                        &vm,
                        "the controller token is not known to any bootstrapped cluster".into(),
                    );
                };
                self.add_member(&cluster, &vm, ip).await;
            }
        }
    }

    async fn add_member(&self, cluster: &Arc<Bootstrapped>, vm: &VmInfo, ip: IpAddr) {
        let mut last = None;
        // A port still held by a just-deleted server's listener frees up quickly.
        for _ in 0..20 {
            match cluster.serve_on(ip).await {
                Ok(listener) => {
                    cluster.register_node(vm);
                    cluster.members.lock().expect("members").insert(
                        vm.server_id.clone(),
                        Member {
                            name: vm.name.clone(),
                            ip,
                            listener: Some(listener),
                        },
                    );
                    return;
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.refuse(
            vm,
            format!(
                "cannot serve on {ip}:{API_PORT}: {:#}",
                last.expect("tried")
            ),
        );
    }

    /// A controller VM stopped: its API stops answering and its Node turns NotReady, but
    /// the member and its data stay (etcd survives a power-off).
    fn stopped(&self, server_id: &str) {
        for c in self.clusters.lock().expect("clusters").iter() {
            let mut members = c.members.lock().expect("members");
            let Some(m) = members.get_mut(server_id) else {
                continue;
            };
            if let Some(l) = m.listener.take() {
                l.abort();
            }
            let name = m.name.clone();
            drop(members);
            c.node_not_ready(&name);
        }
    }

    /// A stopped controller runs again: it serves the data it had.
    async fn resumed(&self, server_id: &str) {
        let found = self
            .clusters
            .lock()
            .expect("clusters")
            .iter()
            .find_map(|c| {
                let members = c.members.lock().expect("members");
                members
                    .get(server_id)
                    .filter(|m| m.listener.is_none())
                    .map(|m| (c.clone(), m.ip, m.name.clone()))
            });
        let Some((cluster, ip, name)) = found else {
            return;
        };
        for _ in 0..20 {
            if let Ok(listener) = cluster.serve_on(ip).await {
                if let Some(m) = cluster.members.lock().expect("members").get_mut(server_id) {
                    m.listener = Some(listener);
                }
                cluster.node_ready(&name);
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn gone(&self, server_id: &str) {
        let mut clusters = self.clusters.lock().expect("clusters");
        for c in clusters.iter() {
            let Some(m) = c.members.lock().expect("members").remove(server_id) else {
                continue;
            };
            c.node_not_ready(&m.name);
        }
        clusters.retain(|c| !c.members.lock().expect("members").is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_controller_user_data() {
        let init = "#cloud-config\nwrite_files:\n- path: /var/lib/k0s/pki/ca.crt\n  content: CERT\n- path: /var/lib/k0s/pki/ca.key\n  content: KEY\nruncmd:\n- curl -sSfL https://get.k0s.sh | K0S_VERSION='v1.32.6+k0s.0' sh\n- mkdir -p /var/lib/k0s/manifests/k0smotron && curl -sSfL 'https://github.com/k0sproject/k0smotron/releases/download/v1.5.0/install.yaml' -o x\n- k0s install controller --enable-worker --no-taints\n- k0s start\n";
        assert_eq!(
            parse_controller_user_data(init).unwrap(),
            Some(ControllerRequest::Init {
                ca: Some(("CERT".into(), "KEY".into())),
                k0smotron_version: Some("v1.5.0".into())
            })
        );
        assert_eq!(k0smotron_versions("v1.5.0"), vec!["v1beta1"]);
        let join = "#cloud-config\nwrite_files:\n- path: /etc/k0s/controller.token\n  content: TOKEN\nruncmd:\n- k0s install controller --enable-worker --token-file /etc/k0s/controller.token\n";
        assert_eq!(
            parse_controller_user_data(join).unwrap(),
            Some(ControllerRequest::Join {
                token: "TOKEN".into()
            })
        );
        let worker = "#cloud-config\nruncmd:\n- k0s install worker --token-file /etc/k0s.token\n";
        assert_eq!(parse_controller_user_data(worker).unwrap(), None);
        assert!(parse_controller_user_data(
            "#cloud-config\nwrite_files:\n- path: /var/lib/k0s/pki/ca.crt\n  content: C\nruncmd: ['k0s install controller']\n"
        )
        .is_err());
    }
}

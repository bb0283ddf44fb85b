//! Workers joining hosted clusters: when a simulated server becomes ACTIVE, its user_data is
//! read the way cloud-init would (`write_files` + `runcmd`); a valid, unexpired, unrevoked
//! k0s join token plus a `k0s install worker` command registers a Node after a join latency.
//! A server that goes away leaves its Node NotReady. Refusals are logged and kept in
//! [`Joiner::failures`] so tests and users can see why a node never appeared.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

use super::k0smotron::Operator;
use crate::events::{EventBus, VmEvent, VmInfo};

/// What a worker's user_data asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JoinRequest {
    pub join_token: String,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<String>,
    pub kubelet_extra_args: Option<String>,
    /// The k0s version the runcmd installs (`K0S_VERSION=` of get.k0s.sh); None for a binary
    /// from a mirror URL, whose version only the binary knows.
    pub k0s_version: Option<String>,
    /// The runcmd lines, as cloud-init runs them (what an air-gapped site checks).
    pub runcmd: Vec<String>,
}

/// `K0S_VERSION=<v>` (quoted or not) in one of the commands.
pub(crate) fn installed_version(runcmd: &[String]) -> Option<String> {
    runcmd.iter().find_map(|c| {
        let rest = &c[c.find("K0S_VERSION=")? + "K0S_VERSION=".len()..];
        let v = rest
            .split_whitespace()
            .next()?
            .trim_matches(|ch| ch == '\'' || ch == '"');
        (!v.is_empty()).then(|| v.to_string())
    })
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2
        && ((s.starts_with('\'') && s.ends_with('\'')) || (s.starts_with('"') && s.ends_with('"')))
    {
        s[1..s.len() - 1].replace(r"'\''", "'")
    } else {
        s.to_string()
    }
}

/// The value of `--flag=value` in a shell command line (quotes removed).
fn flag(cmd: &str, name: &str) -> Option<String> {
    let start = cmd.find(&format!("--{name}="))? + name.len() + 3;
    let rest = &cmd[start..];
    if let Some(quoted) = rest.strip_prefix('\'') {
        // Single-quoted; `'\''` is an escaped quote inside.
        let mut out = String::new();
        let mut i = 0;
        while i < quoted.len() {
            if quoted[i..].starts_with(r"'\''") {
                out.push('\'');
                i += 4;
            } else if quoted[i..].starts_with('\'') {
                break;
            } else {
                let c = quoted[i..].chars().next()?;
                out.push(c);
                i += c.len_utf8();
            }
        }
        return Some(out);
    }
    Some(unquote(rest.split_whitespace().next().unwrap_or_default()))
}

/// get.k0s.sh downloads `releases/download/<K0S_VERSION>/k0s-<K0S_VERSION>-<arch>` from
/// GitHub: only release names exist, and k0s releases are `v1.x.y+k0s.N` (the `-k0s.N`
/// spelling is k0smotron's image tag form, never a release).
pub(crate) fn check_download(version: Option<&str>) -> Result<(), String> {
    match version {
        Some(v) if !v.contains("+k0s.") => Err(format!(
            "get.k0s.sh: no k0s release {v} (HTTP 404 for https://github.com/k0sproject/k0s/releases/download/{v}/k0s-{v}-amd64); k0s is not installed"
        )),
        _ => Ok(()),
    }
}

/// `k0s start` returns once systemd started the unit; the worker reads its token file
/// later, after its preflight (k0s `cmd/worker/worker.go`; a missing file is an error in
/// `cmd/internal/tokendata.go`). A runcmd that removes the file leaves k0s restarting
/// forever without a token.
pub(crate) fn check_token_kept(runcmd: &[String], token_file: &str) -> Result<(), String> {
    let removes = |c: &String| {
        c.split_whitespace().next() == Some("rm") && c.split_whitespace().any(|w| w == token_file)
    };
    if runcmd.iter().any(removes) {
        return Err(format!(
            "k0s worker: failed to read token file: open {token_file}: no such file or directory (removed by runcmd before k0s read it; systemd restarts k0s forever)"
        ));
    }
    Ok(())
}

/// Reads user_data as cloud-init would; the error says why no join would happen.
pub fn parse_user_data(text: &str) -> Result<JoinRequest, String> {
    if !text.starts_with("#cloud-config") {
        return Err("user_data is not a #cloud-config document".into());
    }
    let doc: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| format!("user_data is not valid YAML: {e}"))?;
    let token_path = "/etc/k0s.token";
    let runcmd = super::cloud_config::runcmd(&doc);
    let install = runcmd
        .iter()
        .find(|c| c.contains("k0s install worker"))
        .ok_or("no `k0s install worker` command in runcmd")?;
    let token_file = flag(install, "token-file").unwrap_or_else(|| token_path.into());
    let content = super::cloud_config::files(&doc)?
        .remove(&token_file)
        .ok_or_else(|| format!("no write_files entry for {token_file}"))?
        .trim()
        .to_string();
    let labels: BTreeMap<String, String> = flag(install, "labels")
        .map(|l| {
            l.split(',')
                .filter_map(|kv| {
                    kv.split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    let taints = flag(install, "taints")
        .map(|t| {
            t.split(',')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let k0s_version = installed_version(&runcmd);
    check_download(k0s_version.as_deref())?;
    check_token_kept(&runcmd, &token_file)?;
    let forbidden: Vec<&String> = labels
        .keys()
        .filter(|k| super::kubelet::forbidden_node_label(k))
        .collect();
    if !forbidden.is_empty() {
        return Err(format!(
            "kubelet exits: unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: {forbidden:?}"
        ));
    }
    Ok(JoinRequest {
        join_token: content,
        labels,
        taints,
        kubelet_extra_args: flag(install, "kubelet-extra-args"),
        k0s_version,
        runcmd,
    })
}

/// Decodes a k0s join token: base64(gzip(kubeconfig)) → (server, bootstrap token).
pub fn decode_join_token(token: &str) -> Result<(String, String), String> {
    let gz = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .map_err(|_| "join token is not base64".to_string())?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut text)
        .map_err(|_| "join token is not gzip".to_string())?;
    let kc: serde_yaml::Value = serde_yaml::from_str(&text)
        .map_err(|_| "join token does not hold a kubeconfig".to_string())?;
    let server = kc["clusters"][0]["cluster"]["server"]
        .as_str()
        .ok_or("join token kubeconfig has no server")?
        .to_string();
    let bootstrap = kc["users"][0]["user"]["token"]
        .as_str()
        .ok_or("join token kubeconfig has no bootstrap token")?
        .to_string();
    Ok((server, bootstrap))
}

/// What k0s logs when the kubelet's bootstrap token is refused (revoked by `k0s token
/// invalidate`, or expired): the apiserver's bootstrap-token authenticator answers 401, the
/// CSR is never created (client-go `util/certificate/csr`), k0s retries, then exits and
/// systemd restarts it forever (k0s `pkg/component/worker/utils.go`
/// `BootstrapKubeletKubeconfig`). `why` says which (the sim's own note, in parentheses).
pub(crate) fn kubelet_bootstrap_refused(why: &str) -> String {
    format!("k0s worker: failed to bootstrap kubelet client configuration: cannot create certificate signing request: Unauthorized ({why})")
}

/// A `key=value:Effect` taint as a Node taint.
fn taint_json(t: &str) -> Value {
    let (kv, effect) = t.rsplit_once(':').unwrap_or((t, "NoSchedule"));
    match kv.split_once('=') {
        Some((k, v)) => json!({"key": k, "value": v, "effect": effect}),
        None => json!({"key": kv, "effect": effect}),
    }
}

/// Joins VMs to hosted clusters.
pub struct Joiner {
    pub operator: Arc<Operator>,
    pub join_latency: Mutex<Duration>,
    /// `server id: reason` of every refused join.
    pub failures: Mutex<Vec<String>>,
    /// The site is air-gapped ([`super::airgap`]): public downloads and registries fail.
    pub air_gapped: AtomicBool,
    /// Servers whose node registered without its images (NotReady for good).
    no_images: Mutex<BTreeSet<String>>,
}

impl Joiner {
    pub fn new(operator: Arc<Operator>, join_latency: Duration) -> Arc<Self> {
        Arc::new(Self {
            operator,
            join_latency: Mutex::new(join_latency),
            failures: Mutex::new(Vec::new()),
            air_gapped: AtomicBool::new(false),
            no_images: Mutex::new(BTreeSet::new()),
        })
    }

    /// Runs until aborted.
    pub async fn run(self: Arc<Self>, bus: EventBus) {
        let mut rx = bus.subscribe();
        loop {
            match rx.recv().await {
                Ok(VmEvent::Active(vm)) => {
                    let me = self.clone();
                    tokio::spawn(async move { me.join(vm).await });
                }
                Ok(VmEvent::Gone { server_id }) | Ok(VmEvent::Stopped { server_id }) => {
                    self.gone(&server_id)
                }
                Ok(VmEvent::Resumed { server_id }) => self.resumed(&server_id),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return,
            }
        }
    }

    fn refuse(&self, vm: &VmInfo, reason: String) {
        eprintln!(
            "k0stack-sim: server {} ({}) did not join: {reason}",
            vm.name, vm.server_id
        );
        self.failures
            .lock()
            .expect("failures")
            .push(format!("{}: {reason}", vm.server_id));
    }

    async fn join(&self, vm: VmInfo) {
        // Controllers are the bootstrapper's (see `bootstrap`), not workers that failed to join.
        if vm
            .user_data
            .as_deref()
            .is_some_and(|u| u.contains("k0s install controller"))
        {
            return;
        }
        let req = match vm.user_data.as_deref().map(parse_user_data) {
            None => return self.refuse(&vm, "no user_data".into()),
            Some(Err(e)) => return self.refuse(&vm, e),
            Some(Ok(r)) => r,
        };
        let images_missing = match self.air_gap(&req) {
            Err(super::airgap::Gap::NoBinary(why)) => return self.refuse(&vm, why),
            Err(super::airgap::Gap::NoImages(why)) => Some(why),
            Ok(()) => None,
        };
        let (_server, bootstrap) = match decode_join_token(&req.join_token) {
            Ok(x) => x,
            Err(e) => return self.refuse(&vm, e),
        };
        let hosted = self
            .operator
            .hosted
            .lock()
            .expect("hosted")
            .values()
            .find(|h| h.tokens.lock().expect("tokens").contains_key(&bootstrap))
            .cloned();
        let Some(hosted) = hosted else {
            return self.refuse(
                &vm,
                "the bootstrap token is not known to any hosted control plane".into(),
            );
        };
        // cloud-init downloads and installs k0s, `k0s start` returns, and only when the
        // service runs does k0s read the token file and the kubelet bootstrap with it: the
        // token must still be valid then, not merely when the server became ACTIVE.
        let latency = *self.join_latency.lock().expect("latency");
        tokio::time::sleep(latency).await;
        if let Some(problem) = hosted.token_problem(&bootstrap) {
            return self.refuse(&vm, kubelet_bootstrap_refused(&problem));
        }
        let mut labels = json!({"kubernetes.io/hostname": vm.hostname, "kubernetes.io/os": "linux", "node.k0sproject.io/role": "worker", "node.kubernetes.io/instance-type": vm.flavor});
        for (k, v) in &req.labels {
            labels[k] = json!(v);
        }
        let taints: Vec<Value> = req.taints.iter().map(|t| taint_json(t)).collect();
        // The kubelet is the binary the user data installed, whatever the control plane runs.
        let kubelet_version = req
            .k0s_version
            .as_deref()
            .map(super::api::kube_git_version)
            .unwrap_or_else(|| hosted.api.git_version());
        let ready = match &images_missing {
            None => {
                json!({"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status", "lastHeartbeatTime": super::store::now_rfc3339()})
            }
            Some(why) => {
                self.refuse(&vm, why.clone());
                self.no_images
                    .lock()
                    .expect("no_images")
                    .insert(vm.server_id.clone());
                json!({"type": "Ready", "status": "False", "reason": "KubeletNotReady", "message": super::airgap::NETWORK_NOT_READY, "lastHeartbeatTime": super::store::now_rfc3339()})
            }
        };
        let node = json!({"metadata": {"name": vm.hostname, "labels": labels},
            "spec": {"providerID": format!("openstack:///{}", vm.server_id), "taints": taints},
            "status": {"conditions": [ready],
                "addresses": [{"type": "InternalIP", "address": vm.ip}, {"type": "Hostname", "address": vm.hostname}],
                "nodeInfo": {"kubeletVersion": kubelet_version, "operatingSystem": "linux", "architecture": "amd64", "osImage": "Ubuntu 24.04.1 LTS", "kernelVersion": "6.8.0-49-generic", "containerRuntimeVersion": "containerd://1.7.24"}}});
        let mut store = hosted.api.store.lock().expect("store");
        let rt = store.find("", "v1", "nodes").expect("nodes");
        if store.get(&rt, "", &vm.hostname).is_ok() {
            let _ = store.patch_merge(
                &rt,
                "",
                &vm.hostname,
                &json!({"status": node["status"].clone()}),
                "kubelet",
                true,
            );
        } else if let Err(e) = store.create(&rt, "", node, "kubelet") {
            drop(store);
            return self.refuse(&vm, e.message);
        }
        drop(store);
        let event = if images_missing.is_some() {
            "node.notready"
        } else {
            "node.ready"
        };
        hosted.api.record(event, &vm.hostname);
        hosted.api.changed.notify_waiters();
    }

    /// In an air-gapped site, what the worker lacks (nothing when the site is not).
    fn air_gap(&self, req: &JoinRequest) -> Result<(), super::airgap::Gap> {
        if !self.air_gapped.load(Ordering::SeqCst) {
            return Ok(());
        }
        let (_, bootstrap) = decode_join_token(&req.join_token).unwrap_or_default();
        let spec = self
            .operator
            .hosted
            .lock()
            .expect("hosted")
            .values()
            .find(|h| h.tokens.lock().expect("tokens").contains_key(&bootstrap))
            .and_then(|h| self.cluster_spec(&h.key));
        let images = spec
            .as_ref()
            .map(super::airgap::ImagesConfig::from_cluster_spec)
            .unwrap_or_default();
        super::airgap::check(&req.runcmd, &images)
    }

    /// The `spec` of the k0smotron Cluster `ns/name` in the management cluster.
    fn cluster_spec(&self, key: &str) -> Option<Value> {
        let (ns, name) = key.split_once('/')?;
        let store = self.operator.mgmt.store.lock().expect("store");
        let rt = store.find_kind("k0smotron.io", "Cluster")?;
        store.get(&rt, ns, name).ok().map(|c| c["spec"].clone())
    }

    /// A stopped server runs again: its kubelet posts Ready for its Node with the
    /// credentials it joined with (a Node deleted meanwhile stays deleted here; a real
    /// kubelet would register it again, which the pool never relies on).
    fn resumed(&self, server_id: &str) {
        if self
            .no_images
            .lock()
            .expect("no_images")
            .contains(server_id)
        {
            return;
        }
        let ready = json!({"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status", "lastHeartbeatTime": super::store::now_rfc3339()});
        self.set_ready(server_id, ready, "kubelet", "node.ready");
    }

    /// The server is gone or stopped: its kubelet no longer posts status.
    fn gone(&self, server_id: &str) {
        let unknown = json!({"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown", "message": "Kubelet stopped posting node status."});
        self.set_ready(
            server_id,
            unknown,
            "node-lifecycle-controller",
            "node.notready",
        );
    }

    /// Sets the Ready condition of the Node of `server_id` (by providerID) in every hosted
    /// cluster, as `manager`, and records `event`.
    fn set_ready(&self, server_id: &str, condition: Value, manager: &str, event: &str) {
        let provider_id = format!("openstack:///{server_id}");
        for h in self.operator.hosted.lock().expect("hosted").values() {
            let mut store = h.api.store.lock().expect("store");
            let Some(rt) = store.find("", "v1", "nodes") else {
                continue;
            };
            for n in store.list(&rt, None, None) {
                if n["spec"]["providerID"] == provider_id.as_str() {
                    let name = n["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let status = json!({"status": {"conditions": [condition.clone()]}});
                    let _ = store.patch_merge(&rt, "", &name, &status, manager, true);
                    h.api.record(event, &name);
                }
            }
            drop(store);
            h.api.changed.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UD: &str = "#cloud-config\nwrite_files:\n- path: /etc/k0s.token\n  permissions: '0600'\n  content: TOKEN\nruncmd:\n- curl -sSfL https://get.k0s.sh | K0S_VERSION='v1.32.6+k0s.0' sh\n- k0s install worker --token-file /etc/k0s.token --labels='pool=gpu,tier=a' --taints='nvidia.com/gpu=true:NoSchedule' --kubelet-extra-args='--max-pods=50 --v=2'\n- k0s start\n";

    #[test]
    fn reads_cloud_config_like_cloud_init() {
        let r = parse_user_data(UD).unwrap();
        assert_eq!(r.join_token, "TOKEN");
        assert_eq!(r.labels.get("pool").map(String::as_str), Some("gpu"));
        assert_eq!(r.taints, vec!["nvidia.com/gpu=true:NoSchedule"]);
        assert_eq!(r.kubelet_extra_args.as_deref(), Some("--max-pods=50 --v=2"));
        assert_eq!(r.k0s_version.as_deref(), Some("v1.32.6+k0s.0"));
        let mirror = UD.replace(
            "curl -sSfL https://get.k0s.sh | K0S_VERSION='v1.32.6+k0s.0' sh",
            "curl -sSfL https://mirror.example.com/k0s -o /usr/local/bin/k0s",
        );
        assert_eq!(parse_user_data(&mirror).unwrap().k0s_version, None);
        assert_eq!(
            taint_json(&r.taints[0]),
            json!({"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"})
        );
    }

    #[test]
    fn what_a_real_worker_would_refuse() {
        let removed = UD.replace("- k0s start\n", "- k0s start\n- rm -f /etc/k0s.token\n");
        assert!(parse_user_data(&removed)
            .unwrap_err()
            .contains("failed to read token file"));
        let dash = UD.replace("v1.32.6+k0s.0", "v1.32.6-k0s.0");
        assert!(parse_user_data(&dash)
            .unwrap_err()
            .contains("no k0s release v1.32.6-k0s.0"));
        let role = UD.replace("pool=gpu", "node-role.kubernetes.io/worker=true");
        assert!(parse_user_data(&role)
            .unwrap_err()
            .contains("unknown 'kubernetes.io' or 'k8s.io' labels"));
    }

    #[test]
    fn says_why_it_would_not_join() {
        assert!(parse_user_data("#!/bin/sh\nk0s install worker")
            .unwrap_err()
            .contains("#cloud-config"));
        assert!(parse_user_data("#cloud-config\nruncmd: [echo]\n")
            .unwrap_err()
            .contains("k0s install worker"));
        assert!(parse_user_data(
            "#cloud-config\nruncmd: ['k0s install worker --token-file /etc/k0s.token']\n"
        )
        .unwrap_err()
        .contains("write_files"));
        assert!(decode_join_token("not-base64!").is_err());
    }
}

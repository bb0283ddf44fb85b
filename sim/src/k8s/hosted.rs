//! Hosted (workload) clusters: each k0smotron `Cluster` gets its own HTTPS Kubernetes API
//! at its own loopback address, with its own CA, serving nodes and pods (enough for
//! joins and drains), plus the join tokens minted for it.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use base64::Engine;
use serde_json::json;

use super::api::{self, ApiServer};
use super::tls::{self, Ca};
use super::types;

/// A join token minted for a hosted cluster.
#[derive(Debug, Clone)]
pub struct Token {
    pub id: String,
    pub secret: String,
    pub expires: Option<Instant>,
    pub revoked: bool,
    pub jtr: String,
}

/// One running hosted control plane.
pub struct Hosted {
    pub key: String,
    pub api: Arc<ApiServer>,
    pub ca: Ca,
    pub addr: SocketAddr,
    pub admin: tls::Issued,
    pub tokens: Mutex<BTreeMap<String, Token>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Hosted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Hosted {
    /// Starts a hosted API for `key` (`ns/name`) on `ip:port` with a fresh CA.
    pub async fn start(key: &str, ip: IpAddr, port: u16, git_version: &str) -> Result<Arc<Self>> {
        let ca = Ca::new(&format!("{key}-ca"))?;
        let serving = ca.issue_server(
            &[ip, IpAddr::from([127, 0, 0, 1])],
            &[
                "kubernetes".into(),
                "kubernetes.default.svc".into(),
                "localhost".into(),
            ],
        )?;
        let cfg = tls::server_config(&serving, Some(&ca.cert_pem()))?;
        let api = ApiServer::new(key, &super::api::kube_git_version(git_version));
        {
            let mut store = api.store.lock().expect("store");
            for t in types::builtin() {
                store.register(t);
            }
            let ns = store.find("", "v1", "namespaces").expect("namespaces");
            for n in ["default", "kube-system", "kube-public", "kube-node-lease"] {
                let _ = store.create(&ns, "", json!({"metadata": {"name": n}}), "k0s");
            }
        }
        let (addr, task) = api::serve(api.clone(), SocketAddr::new(ip, port), cfg).await?;
        let admin = ca.issue_client("admin", "system:masters")?;
        Ok(Arc::new(Self {
            key: key.into(),
            api,
            ca,
            addr,
            admin,
            tokens: Mutex::new(BTreeMap::new()),
            task,
        }))
    }

    /// Makes the hosted API refuse everything (fault: unreachable control plane).
    pub fn set_unreachable(&self, on: bool) {
        self.api.faults.lock().expect("faults").unreachable = on;
    }

    /// An admin kubeconfig (client certificate) for `server`, named like k0smotron's.
    pub fn admin_kubeconfig(&self, name: &str, server: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}-k0s\n  cluster:\n    server: {server}\n    certificate-authority-data: {}\ncontexts:\n- name: {name}-admin@{name}-k0s\n  context:\n    cluster: {name}-k0s\n    user: {name}-admin\ncurrent-context: {name}-admin@{name}-k0s\nusers:\n- name: {name}-admin\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n",
            b64(&self.ca.cert_pem()),
            b64(&self.admin.cert_pem),
            b64(&self.admin.key_pem)
        )
    }

    /// Mints a bootstrap token (as `k0s token create` does) and the k0s join token:
    /// base64(gzip(kubeconfig with user kubelet-bootstrap)).
    pub fn mint_join_token(
        &self,
        jtr: &str,
        server: &str,
        expiry: Option<Duration>,
    ) -> (String, String) {
        use rand::Rng;
        const A: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut r = rand::thread_rng();
        let mut pick =
            |n: usize| -> String { (0..n).map(|_| A[r.gen_range(0..A.len())] as char).collect() };
        let (id, secret) = (pick(6), pick(16));
        let token = format!("{id}.{secret}");
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: k0s\n  cluster:\n    server: {server}\n    certificate-authority-data: {}\ncontexts:\n- name: k0s\n  context:\n    cluster: k0s\n    user: kubelet-bootstrap\ncurrent-context: k0s\nusers:\n- name: kubelet-bootstrap\n  user:\n    token: {token}\n",
            b64(&self.ca.cert_pem())
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, kubeconfig.as_bytes()).expect("gzip");
        let join = base64::engine::general_purpose::STANDARD.encode(gz.finish().expect("gzip"));
        self.tokens.lock().expect("tokens").insert(
            token.clone(),
            Token {
                id: id.clone(),
                secret,
                expires: expiry.filter(|d| !d.is_zero()).map(|d| Instant::now() + d),
                revoked: false,
                jtr: jtr.into(),
            },
        );
        // The bootstrap token Secret, as the real cluster stores it.
        let mut store = self.api.store.lock().expect("store");
        if let Some(rt) = store.find("", "v1", "secrets") {
            let _ = store.create(
                &rt,
                "kube-system",
                json!({"metadata": {"name": format!("bootstrap-token-{id}")}, "type": "bootstrap.kubernetes.io/token",
                       "stringData": {"token-id": id, "usage-bootstrap-authentication": "true", "usage-bootstrap-signing": "true"}}),
                "k0s",
            );
        }
        (id, join)
    }

    /// Revokes every token minted for `jtr` (`k0s token invalidate`).
    pub fn revoke(&self, jtr: &str) {
        let mut ids = Vec::new();
        for t in self
            .tokens
            .lock()
            .expect("tokens")
            .values_mut()
            .filter(|t| t.jtr == jtr)
        {
            t.revoked = true;
            ids.push(t.id.clone());
        }
        // `k0s token invalidate` deletes the bootstrap token Secret too.
        let mut store = self.api.store.lock().expect("store");
        if let Some(rt) = store.find("", "v1", "secrets") {
            for id in ids {
                let _ = store.delete(&rt, "kube-system", &format!("bootstrap-token-{id}"));
            }
        }
    }

    /// Why a bootstrap token is not usable, or `None` when it is.
    pub fn token_problem(&self, token: &str) -> Option<String> {
        match self.tokens.lock().expect("tokens").get(token) {
            None => Some("unknown bootstrap token".into()),
            Some(t) if t.revoked => Some(format!("bootstrap token {} was invalidated", t.id)),
            Some(t) if t.expires.is_some_and(|e| Instant::now() > e) => {
                Some(format!("bootstrap token {} expired", t.id))
            }
            Some(_) => None,
        }
    }
}

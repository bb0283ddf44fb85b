//! The Kubernetes half of the simulator: a management cluster API over HTTPS (its own CA,
//! a bearer token), the k0smotron operator emulation, and one hosted API per `Cluster`.

pub mod airgap;
pub mod api;
pub mod bootstrap;
pub mod cloud_config;
pub mod controllers;
pub mod convert;
pub mod hosted;
pub mod join;
pub mod k0smotron;
pub mod kubelet;
pub mod nodeports;
pub mod protobuf;
pub mod rollout;
pub mod store;
pub mod table;
pub mod tls;
pub mod types;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use base64::Engine;

use api::ApiServer;
use k0smotron::Operator;

/// What the management cluster starts with.
#[derive(Debug, Clone)]
pub struct K8sOptions {
    /// k0smotron API versions served, storage version first: `["v1beta2", "v1beta1"]`
    /// (k0smotron 2.x), `["v1beta1"]` (1.x), `["v1beta2"]`. Empty: k0smotron not installed.
    pub k0smotron_versions: Vec<String>,
    pub ready_delay: Duration,
    pub git_version: String,
    /// Listen address (port 0: ephemeral).
    pub addr: SocketAddr,
    /// Nodes of the management cluster.
    pub nodes: usize,
    /// Where simulated servers announce themselves (workers join from their user_data).
    pub bus: crate::events::EventBus,
    /// Time from a server becoming ACTIVE to its Node being Ready.
    pub join_latency: Duration,
    /// Start management clusters on VMs whose user_data installs a k0s controller
    /// ([`bootstrap`]). Off for the clusters started that way.
    pub bootstrap: bool,
    /// The cluster CA (PEM certificate, PEM key); default: a fresh one.
    pub ca: Option<(String, String)>,
    /// Workers boot in an air-gapped site ([`airgap`]): public downloads and registries fail.
    pub air_gapped: bool,
}

impl Default for K8sOptions {
    fn default() -> Self {
        Self {
            k0smotron_versions: vec!["v1beta2".into(), "v1beta1".into()],
            ready_delay: Duration::from_millis(500),
            git_version: "v1.32.6+k0s".into(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            nodes: 3,
            bus: crate::events::EventBus::default(),
            join_latency: Duration::from_millis(200),
            bootstrap: true,
            ca: None,
            air_gapped: false,
        }
    }
}

/// A running simulated management cluster.
pub struct K8sSim {
    pub api: Arc<ApiServer>,
    pub operator: Arc<Operator>,
    pub joiner: Arc<join::Joiner>,
    /// Management clusters bootstrapped on simulated VMs (None in those clusters themselves).
    pub bootstrapper: Option<Arc<bootstrap::Bootstrapper>>,
    pub url: String,
    pub ca_pem: String,
    pub token: String,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for K8sSim {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl K8sSim {
    /// Starts a cluster. Boxed: a bootstrapped cluster is started by the bootstrapper task
    /// of another one (async recursion).
    pub fn start(
        opts: K8sOptions,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self>> + Send>> {
        Box::pin(Self::start_inner(opts))
    }

    async fn start_inner(opts: K8sOptions) -> Result<Self> {
        let ca = match &opts.ca {
            Some((cert, key)) => tls::Ca::from_pem(cert, key)?,
            None => tls::Ca::new("k0stack-sim-management-ca")?,
        };
        let serving = ca.issue_server(
            &[opts.addr.ip()],
            &["localhost".into(), "kubernetes".into()],
        )?;
        let cfg = tls::server_config(&serving, Some(&ca.cert_pem()))?;
        let api =
            ApiServer::new("management", &opts.git_version).with_converter(convert::k0smotron);
        let token = format!("k0stack-sim-{}", store::new_uid());
        api.tokens.lock().expect("tokens").push(token.clone());
        {
            let mut s = api.store.lock().expect("store");
            for t in types::builtin() {
                s.register(t);
            }
            let ns = s.find("", "v1", "namespaces").expect("namespaces");
            for n in ["default", "kube-system", "kube-public", "kube-node-lease"] {
                s.create(&ns, "", serde_json::json!({"metadata": {"name": n}}), "k0s")
                    .map_err(|e| anyhow::anyhow!(e.message))?;
            }
            let nodes = s.find("", "v1", "nodes").expect("nodes");
            for i in 0..opts.nodes {
                let node = serde_json::json!({"metadata": {"name": format!("mgmt-{i}"), "labels": {"kubernetes.io/hostname": format!("mgmt-{i}")}},
                    "status": {"conditions": [{"type": "Ready", "status": "True"}], "nodeInfo": {"kubeletVersion": opts.git_version}}});
                s.create(&nodes, "", node, "k0s")
                    .map_err(|e| anyhow::anyhow!(e.message))?;
            }
            if !opts.k0smotron_versions.is_empty() {
                let vs: Vec<&str> = opts.k0smotron_versions.iter().map(String::as_str).collect();
                let crd_rt = s
                    .find("apiextensions.k8s.io", "v1", "customresourcedefinitions")
                    .expect("crds");
                for (kind, plural, short) in [
                    ("Cluster", "clusters", "kmc"),
                    ("JoinTokenRequest", "jointokenrequests", "jtr"),
                ] {
                    let crd = types::k0smotron_crd(kind, plural, short, &vs);
                    if let Some(rt) = types::from_crd(&crd) {
                        s.register(rt);
                    }
                    s.create(&crd_rt, "", crd, "k0smotron")
                        .map_err(|e| anyhow::anyhow!(e.message))?;
                }
            }
        }
        let (addr, serve_task) = api::serve(api.clone(), opts.addr, cfg).await?;
        let operator = Operator::new(api.clone());
        operator.knobs.lock().expect("knobs").ready_delay = opts.ready_delay;
        let joiner = join::Joiner::new(operator.clone(), opts.join_latency);
        joiner
            .air_gapped
            .store(opts.air_gapped, std::sync::atomic::Ordering::SeqCst);
        let mut tasks = vec![
            serve_task,
            tokio::spawn(operator.clone().run()),
            tokio::spawn(controllers::run(api.clone())),
            tokio::spawn(joiner.clone().run(opts.bus.clone())),
        ];
        let bootstrapper = opts.bootstrap.then(|| bootstrap::Bootstrapper::new(&opts));
        if let Some(b) = &bootstrapper {
            tasks.push(tokio::spawn(b.clone().run(opts.bus.clone())));
        }
        Ok(Self {
            api,
            operator,
            joiner,
            bootstrapper,
            url: format!("https://{addr}"),
            ca_pem: ca.cert_pem(),
            token,
            tasks,
        })
    }

    /// An admin kubeconfig (context `k0stack-sim`) for the management cluster.
    pub fn kubeconfig(&self) -> String {
        let ca = base64::engine::general_purpose::STANDARD.encode(self.ca_pem.as_bytes());
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: k0stack-sim\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\ncontexts:\n- name: k0stack-sim\n  context:\n    cluster: k0stack-sim\n    user: admin\ncurrent-context: k0stack-sim\nusers:\n- name: admin\n  user:\n    token: {}\n",
            self.url, self.token
        )
    }
}

//! The e2e harness: the real Terraform CLI driving the real provider binary.
//!
//! - Terraform comes from `TERRAFORM` or `<repo>/.tools/terraform` (`make tools`).
//! - The provider binary cargo built for this test run is placed in a filesystem mirror
//!   under `CARGO_TARGET_TMPDIR`, and a CLI config (`TF_CLI_CONFIG_FILE`) points
//!   `terraform init` at it: no network.
//! - Every working directory is a fresh temp dir with a clean environment: `HOME` is
//!   private (no stray `~/.kube/config` or clouds.yaml), and no `OS_*`, `KUBECONFIG` or
//!   `TF_*` variable leaks in from the developer's shell.
#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod identity;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

pub mod hcp;
pub mod mgmt;
pub mod plans;

pub const PROVIDER_VERSION: &str = env!("CARGO_PKG_VERSION");
pub const SOURCE: &str = "k0stack/k0stack";

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Terraform CLI to drive.
pub fn terraform_bin() -> PathBuf {
    let path = std::env::var_os("TERRAFORM")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".tools/terraform"));
    assert!(
        path.is_file(),
        "Terraform CLI not found at {}: run `make tools` (or set TERRAFORM)",
        path.display()
    );
    path
}

/// The provider binary built by cargo for this test run.
pub fn provider_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-k0stack"))
}

/// `linux_amd64`-style platform name of this machine.
pub fn platform() -> String {
    let os = std::env::consts::OS;
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{os}_{arch}")
}

/// Puts the provider binary into `<root>/registry.terraform.io/k0stack/k0stack/<v>/<platform>/`
/// (the layout of both a filesystem mirror and `~/.terraform.d/plugins`).
pub fn install_provider_into(root: &Path) -> PathBuf {
    let dir = root
        .join("registry.terraform.io")
        .join(SOURCE)
        .join(PROVIDER_VERSION)
        .join(platform());
    std::fs::create_dir_all(&dir).expect("create mirror dir");
    let dest = dir.join(format!("terraform-provider-k0stack_v{PROVIDER_VERSION}"));
    let tmp = dir.join(format!(".tmp-{}", std::process::id()));
    std::fs::copy(provider_bin(), &tmp).expect("copy provider binary");
    std::fs::rename(&tmp, &dest).expect("move provider binary into place");
    dest
}

/// The shared filesystem mirror (one per test process).
fn mirror_dir() -> &'static Path {
    static MIRROR: OnceLock<PathBuf> = OnceLock::new();
    MIRROR.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tf-mirror");
        install_provider_into(&root);
        root
    })
}

/// Output of one Terraform command.
#[derive(Debug)]
pub struct TfOutput {
    pub args: Vec<String>,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl TfOutput {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// stdout and stderr together (Terraform prints diagnostics on stderr).
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert!(
            self.success(),
            "terraform {:?} failed ({:?}):\n--- stdout\n{}\n--- stderr\n{}",
            self.args,
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn assert_failed(&self) -> &Self {
        assert!(
            self.code == Some(1),
            "terraform {:?} should have failed with an error, got {:?}:\n--- stdout\n{}\n--- stderr\n{}",
            self.args,
            self.code,
            self.stdout,
            self.stderr
        );
        self.assert_no_crash()
    }

    /// No panic, no Rust backtrace, no "plugin crashed".
    #[track_caller]
    pub fn assert_no_crash(&self) -> &Self {
        let all = self.all();
        for needle in [
            "panicked at",
            "stack backtrace",
            "std::backtrace",
            "rust_begin_unwind",
            "The plugin encountered an error",
            "plugin exited",
            "Plugin did not respond",
        ] {
            assert!(!all.contains(needle), "output contains {needle:?}:\n{all}");
        }
        self
    }

    #[track_caller]
    pub fn assert_contains(&self, needle: &str) -> &Self {
        // Terraform wraps long lines: compare with whitespace runs squashed.
        let all = self.all();
        let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            squash(&all).contains(&squash(needle)),
            "expected {needle:?} in the output of terraform {:?}:\n{all}",
            self.args
        );
        self
    }
}

/// A Terraform working directory with a clean environment.
pub struct TfDir {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    env: BTreeMap<String, String>,
}

impl TfDir {
    /// A working directory whose `main.tf` is `config`.
    pub fn new(config: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("k0stack-e2e-")
            .tempdir()
            .expect("tempdir");
        let home = dir.path().join(".home");
        std::fs::create_dir_all(&home).expect("home dir");
        let cli_config = dir.path().join(".terraformrc");
        std::fs::write(
            &cli_config,
            format!(
                "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"{SOURCE}\"]\n  }}\n}}\n",
                mirror_dir().display()
            ),
        )
        .expect("write CLI config");
        let mut env = BTreeMap::new();
        env.insert("HOME".into(), home.display().to_string());
        env.insert(
            "TF_CLI_CONFIG_FILE".into(),
            cli_config.display().to_string(),
        );
        env.insert("CHECKPOINT_DISABLE".into(), "1".into());
        env.insert("TF_IN_AUTOMATION".into(), "1".into());
        env.insert("TF_INPUT".into(), "0".into());
        let tf = Self { dir, home, env };
        tf.write("main.tf", config);
        tf
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, content).expect("write file");
        p
    }

    /// Sets an environment variable for every later command.
    pub fn set_env(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.env.insert(key.to_string(), value.into());
        self
    }

    pub fn remove_env(&mut self, key: &str) -> &mut Self {
        self.env.remove(key);
        self
    }

    /// Runs `terraform <args> -no-color` in this directory.
    pub fn run(&self, args: &[&str]) -> TfOutput {
        let mut cmd = Command::new(terraform_bin());
        cmd.current_dir(self.dir.path())
            .args(args)
            .stdin(Stdio::null())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(&self.env);
        let out = cmd.output().expect("run terraform");
        TfOutput {
            args: args.iter().map(|s| s.to_string()).collect(),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Starts `terraform <args>` in its own process group, output discarded (see [`sigkill`]).
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        use std::os::unix::process::CommandExt;
        Command::new(terraform_bin())
            .current_dir(self.dir.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(&self.env)
            .process_group(0)
            .spawn()
            .expect("spawn terraform")
    }

    pub fn init(&self) -> TfOutput {
        let out = self.run(&["init", "-no-color", "-input=false"]);
        out.assert_ok();
        out
    }

    pub fn validate(&self) -> TfOutput {
        self.run(&["validate", "-no-color"])
    }

    pub fn plan(&self) -> TfOutput {
        self.run(&["plan", "-no-color", "-input=false"])
    }

    /// `plan -detailed-exitcode`: 0 = no changes, 2 = changes, 1 = error.
    pub fn plan_exit_code(&self) -> TfOutput {
        self.run(&["plan", "-no-color", "-input=false", "-detailed-exitcode"])
    }

    pub fn apply(&self) -> TfOutput {
        self.run(&["apply", "-no-color", "-input=false", "-auto-approve"])
    }

    pub fn destroy(&self) -> TfOutput {
        self.run(&["destroy", "-no-color", "-input=false", "-auto-approve"])
    }

    /// `terraform output -json` parsed.
    pub fn outputs(&self) -> serde_json::Value {
        let out = self.run(&["output", "-json"]);
        out.assert_ok();
        serde_json::from_str(&out.stdout).expect("output -json is JSON")
    }
}

/// The `terraform { required_providers }` header every test configuration starts with.
pub fn required_providers() -> String {
    format!("terraform {{\n  required_providers {{\n    k0stack = {{ source = \"{SOURCE}\" }}\n  }}\n}}\n")
}

/// A simulated management cluster running in this test process, with the kubeconfig
/// written into the Terraform working directory.
pub struct MgmtSim {
    pub rt: tokio::runtime::Runtime,
    pub sim: k0stack_sim::k8s::K8sSim,
}

impl MgmtSim {
    pub fn start(opts: k0stack_sim::k8s::K8sOptions) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let sim = rt
            .block_on(k0stack_sim::k8s::K8sSim::start(opts))
            .expect("start k0stack-sim");
        Self { rt, sim }
    }

    /// Objects of `group/plural` (all namespaces), straight from the simulator's store.
    pub fn list(&self, group: &str, version: &str, plural: &str) -> Vec<serde_json::Value> {
        let store = self.sim.api.store.lock().unwrap();
        match store.find(group, version, plural) {
            Some(rt) => store.list(&rt, None, None),
            None => vec![],
        }
    }
}

impl Drop for MgmtSim {
    fn drop(&mut self) {
        // Stop the simulator's tasks inside their runtime, then the runtime itself.
        let _g = self.rt.enter();
    }
}

/// The kubectl to drive: `KUBECTL` or `<repo>/.tools/kubectl` (`make tools`).
pub fn kubectl_bin() -> PathBuf {
    let path = std::env::var_os("KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".tools/kubectl"));
    assert!(
        path.exists(),
        "kubectl not found at {}: run `make tools` (or set KUBECTL)",
        path.display()
    );
    path
}

/// Runs `kubectl --kubeconfig <kubeconfig> <args>`; returns (success, stdout, stderr).
pub fn kubectl(kubeconfig: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(kubectl_bin())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", kubeconfig.parent().unwrap_or(Path::new("/tmp")))
        .stdin(Stdio::null())
        .output()
        .expect("run kubectl");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Both halves of k0stack-sim in this test process, sharing one event bus: OpenStack
/// servers whose user_data joins a hosted cluster become its Nodes.
pub struct CloudSim {
    pub rt: tokio::runtime::Runtime,
    pub k8s: k0stack_sim::k8s::K8sSim,
    pub os: k0stack_sim::openstack::OpenStackSim,
}

impl CloudSim {
    /// Fast latencies: boot 200 ms, join 100 ms, control plane ready 300 ms.
    pub fn start() -> Self {
        Self::start_with(
            k0stack_sim::openstack::OpenStackOptions {
                boot_latency: std::time::Duration::from_millis(200),
                ..Default::default()
            },
            k0stack_sim::k8s::K8sOptions {
                ready_delay: std::time::Duration::from_millis(300),
                join_latency: std::time::Duration::from_millis(100),
                ..Default::default()
            },
        )
    }

    pub fn start_with(
        mut os: k0stack_sim::openstack::OpenStackOptions,
        mut k8s: k0stack_sim::k8s::K8sOptions,
    ) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let bus = k0stack_sim::EventBus::default();
        os.bus = bus.clone();
        k8s.bus = bus;
        let (k8s, os) = rt.block_on(async {
            let k8s = k0stack_sim::k8s::K8sSim::start(k8s)
                .await
                .expect("k8s half");
            let os = k0stack_sim::openstack::OpenStackSim::start(os)
                .await
                .expect("openstack half");
            (k8s, os)
        });
        Self { rt, k8s, os }
    }

    /// `terraform { required_providers }` and a provider block using both halves.
    pub fn provider_config(&self) -> String {
        format!(
            "{}\nprovider \"k0stack\" {{\n  kubernetes {{\n    config_path = \"${{path.module}}/mgmt.kubeconfig\"\n  }}\n  openstack {{\n    cloud       = \"k0stack-sim\"\n    clouds_yaml = \"${{path.module}}/clouds.yaml\"\n  }}\n}}\n",
            required_providers()
        )
    }

    /// The provider block, a management cluster (namespace `kmc-system`) and a NodePort
    /// hosted control plane `dev`: what worker pool tests build on.
    pub fn dev_control_plane_config(&self) -> String {
        format!(
            r#"{}
resource "k0stack_management_cluster" "this" {{
  namespace = "kmc-system"
}}

resource "k0stack_hosted_control_plane" "dev" {{
  name                  = "dev"
  management_cluster_id = k0stack_management_cluster.this.id
  k0s_version           = "v1.32.6+k0s.0"
  service {{
    type = "NodePort"
  }}
}}
"#,
            self.provider_config()
        )
    }

    /// Writes `mgmt.kubeconfig` and `clouds.yaml` into the working directory.
    pub fn write_files(&self, tf: &TfDir) {
        tf.write("mgmt.kubeconfig", &self.k8s.kubeconfig());
        tf.write("clouds.yaml", &self.os.clouds_yaml());
    }

    /// The connections from the environment, as `make demo` and a sourced openrc give them:
    /// KUBECONFIG (written into the working directory) and the OS_* variables.
    pub fn set_connection_env(&self, tf: &mut TfDir) {
        let kubeconfig = tf.write("mgmt.kubeconfig", &self.k8s.kubeconfig());
        tf.set_env("KUBECONFIG", kubeconfig.display().to_string());
        let c = self.os.credentials();
        for (k, v) in [
            ("OS_AUTH_URL", c.auth_url.clone()),
            ("OS_USERNAME", c.user_name.clone()),
            ("OS_PASSWORD", c.password.clone()),
            ("OS_PROJECT_NAME", c.project_name.clone()),
            ("OS_USER_DOMAIN_NAME", c.user_domain_name.clone()),
            ("OS_PROJECT_DOMAIN_NAME", c.project_domain_name.clone()),
            ("OS_REGION_NAME", c.region.clone()),
        ] {
            tf.set_env(k, v);
        }
    }

    pub fn servers(&self) -> Vec<k0stack_sim::openstack::ServerView> {
        self.os.servers()
    }

    /// Nodes of the hosted cluster `ns/name` (empty when it does not exist).
    pub fn hosted_nodes(&self, ns: &str, name: &str) -> Vec<serde_json::Value> {
        let Some(h) = self.k8s.operator.hosted_for(ns, name) else {
            return vec![];
        };
        let store = h.api.store.lock().unwrap();
        let rt = store.find("", "v1", "nodes").expect("nodes");
        store.list(&rt, None, None)
    }

    pub fn ready_nodes(&self, ns: &str, name: &str) -> usize {
        self.hosted_nodes(ns, name)
            .iter()
            .filter(|n| node_ready(n))
            .count()
    }

    /// Both halves' events, in their one process-wide order.
    pub fn history(&self) -> Vec<k0stack_sim::history::HistoryEntry> {
        let mut all = self.os.history();
        for h in self.k8s.operator.hosted.lock().unwrap().values() {
            all.extend(h.api.history.lock().unwrap().iter().cloned());
        }
        all.sort_by_key(|e| e.seq);
        all
    }

    /// Merges a fault patch (the JSON of `PUT /admin/faults`).
    pub fn set_faults(&self, patch: serde_json::Value) {
        let p: k0stack_sim::openstack::FaultsPatch =
            serde_json::from_value(patch).expect("a faults patch");
        self.os.faults().update(p).expect("faults accepted");
    }

    /// What an operator's `openstack` command does: a Keystone token, then one Nova call
    /// (`path` under `/compute/v2.1`); returns the status code.
    pub fn nova_out_of_band(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> u16 {
        let c = self.os.credentials();
        let base = self.os.base_url();
        self.rt.block_on(async {
            let http = reqwest::Client::new();
            let auth = serde_json::json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "name": c.user_name, "domain": {"name": c.user_domain_name}, "password": c.password}}},
                "scope": {"project": {"name": c.project_name, "domain": {"name": c.project_domain_name}}}}});
            let r = http
                .post(format!("{}/auth/tokens", c.auth_url))
                .json(&auth)
                .send()
                .await
                .expect("keystone");
            assert_eq!(r.status().as_u16(), 201);
            let token = r.headers()["x-subject-token"].to_str().unwrap().to_string();
            let mut req = http
                .request(method, format!("{base}/compute/v2.1{path}"))
                .header("x-auth-token", token)
                .header("openstack-api-version", "compute 2.90");
            if let Some(b) = body {
                req = req.json(&b);
            }
            req.send().await.expect("nova").status().as_u16()
        })
    }

    /// `openstack server delete <id>`.
    pub fn delete_server_out_of_band(&self, id: &str) {
        let code = self.nova_out_of_band(reqwest::Method::DELETE, &format!("/servers/{id}"), None);
        assert_eq!(code, 204, "delete {id}");
    }

    /// A server action as `openstack server stop|shelve|suspend|pause <id>` runs it
    /// (`action`: `os-stop`, `shelve`, ...), then waits until the server shows `status`.
    pub fn server_action_out_of_band(&self, id: &str, action: &str, status: &str) {
        let code = self.nova_out_of_band(
            reqwest::Method::POST,
            &format!("/servers/{id}/action"),
            Some(serde_json::json!({ action: null })),
        );
        assert_eq!(code, 202, "{action} {id}");
        self.wait_for(&format!("{id} to be {status}"), || {
            self.servers()
                .iter()
                .any(|s| s.id == id && s.status == status)
        });
    }

    /// An operator uploads an image named `name` in `status` (admin endpoint); its id.
    pub fn add_image(&self, name: &str, status: &str) -> String {
        let url = format!("{}/images", self.os.admin_url());
        self.rt.block_on(async {
            let r = reqwest::Client::new()
                .post(url)
                .json(&serde_json::json!({"name": name, "status": status}))
                .send()
                .await
                .expect("admin");
            assert_eq!(r.status().as_u16(), 201);
            let v: serde_json::Value = r.json().await.expect("json");
            v["id"].as_str().expect("id").to_string()
        })
    }

    /// An operator changes an image's status (e.g. `deactivated`).
    pub fn set_image_status(&self, id: &str, status: &str) {
        let url = format!("{}/images/{id}", self.os.admin_url());
        self.rt.block_on(async {
            let r = reqwest::Client::new()
                .put(url)
                .json(&serde_json::json!({ "status": status }))
                .send()
                .await
                .expect("admin");
            assert_eq!(r.status().as_u16(), 204);
        });
    }

    /// Puts a server in ERROR as a failed hypervisor would (admin endpoint of the simulator).
    pub fn fail_server(&self, id: &str) {
        let url = format!("{}/servers/{id}/fail", self.os.admin_url());
        self.rt.block_on(async {
            let r = reqwest::Client::new()
                .post(url)
                .send()
                .await
                .expect("admin");
            assert!(r.status().is_success(), "fail {id}: {}", r.status());
        });
    }

    /// Polls `f` for up to 30 s.
    pub fn wait_for(&self, what: &str, f: impl Fn() -> bool) {
        let start = std::time::Instant::now();
        while !f() {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(30),
                "timed out waiting for {what}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

/// A Node object's Ready condition.
pub fn node_ready(n: &serde_json::Value) -> bool {
    n["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// The fewest Ready nodes at any point after sequence number `from_seq`, replaying the
/// node events of the whole history (one hosted cluster).
pub fn min_ready_during(history: &[k0stack_sim::history::HistoryEntry], from_seq: u64) -> usize {
    let mut ready: BTreeSet<String> = BTreeSet::new();
    let mut min = usize::MAX;
    for e in history {
        match e.kind.as_str() {
            "node.ready" => {
                ready.insert(e.name.clone());
            }
            "node.notready" | "node.delete" => {
                ready.remove(&e.name);
            }
            _ => continue,
        }
        if e.seq > from_seq {
            min = min.min(ready.len());
        }
    }
    min
}

/// Sends SIGKILL to a process spawned with [`TfDir::spawn`] and its whole group (the
/// provider plugin too: as if the machine running Terraform died).
pub fn sigkill(child: &mut std::process::Child) {
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGKILL);
    }
    let _ = child.wait();
}

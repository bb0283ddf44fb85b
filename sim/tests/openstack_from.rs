//! `k0stack-sim up --openstack-from`: the Kubernetes half fed by another cloud's Nova.
//! Sim #1 (in this process) is the "real" OpenStack; sim #2 is the binary serving only
//! Kubernetes + k0smotron, polling sim #1 with admin credentials of a clouds.yaml.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use k0stack_sim::external_openstack::{self as external, poll::SeenSet, Client};
use k0stack_sim::openstack::{FaultsPatch, OpenStackOptions};
use k0stack_sim::{EventBus, VmEvent};
use serde_json::json;
use support::{b64, private_net, ubuntu, Cloud};

/// A clouds.yaml for sim #1: `demo` first (a member: sees no user_data), then the seeded
/// admin (`admin`/`devstacker`, project `admin`).
fn clouds_yaml(auth_url: &str) -> String {
    format!(
        "clouds:\n  sim1-demo:\n    auth:\n      auth_url: {auth_url}\n      username: demo\n      password: {demo}\n      project_name: demo\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: RegionOne\n  sim1-admin:\n    auth_type: password\n    auth:\n      auth_url: {auth_url}\n      username: admin\n      password: devstacker\n      project_name: admin\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: RegionOne\n    interface: public\n",
        demo = k0stack_sim::openstack::seed::DEMO_PASSWORD,
    )
}

fn kubectl_bin() -> PathBuf {
    let k = std::env::var_os("KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/kubectl"));
    assert!(
        k.exists(),
        "kubectl not found at {}: run `make tools`",
        k.display()
    );
    k
}

/// Runs kubectl; panics with its stderr unless it succeeds.
fn kubectl(kubeconfig: &Path, args: &[&str]) -> String {
    let out = Command::new(kubectl_bin())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env("HOME", kubeconfig.parent().unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn secret_value(kubeconfig: &Path, name: &str, key: &str) -> String {
    kubectl(
        kubeconfig,
        &[
            "wait",
            "--for=create",
            &format!("secret/{name}"),
            "--timeout=20s",
        ],
    );
    let b = kubectl(
        kubeconfig,
        &[
            "get",
            "secret",
            name,
            "-o",
            &format!("jsonpath={{.data.{key}}}"),
        ],
    );
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b.trim())
        .unwrap();
    String::from_utf8(raw).unwrap()
}

/// Polls `f` every 100 ms until it returns Some, for at most `secs`.
fn eventually<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The Ready condition's status of a hosted node, None while it does not exist.
fn ready(hosted: &Path, node: &str) -> Option<String> {
    let out = Command::new(kubectl_bin())
        .arg("--kubeconfig")
        .arg(hosted)
        .args([
            "get",
            "node",
            node,
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}|{.spec.providerID}",
        ])
        .env("HOME", hosted.parent().unwrap())
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn worker_user_data(token: &str) -> String {
    format!("#cloud-config\nwrite_files:\n- path: /etc/k0s.token\n  permissions: '0600'\n  content: {token}\nruncmd:\n- curl -sSfL --retry 5 https://get.k0s.sh | K0S_VERSION='v1.32.6+k0s.0' sh\n- /usr/local/bin/k0s install worker --token-file /etc/k0s.token\n- /usr/local/bin/k0s start\n")
}

struct Sim2(Child);

impl Drop for Sim2 {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_server_of_the_real_cloud_joins_the_hosted_cluster_and_leaves_when_deleted() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim1 = rt.block_on(Cloud::start(OpenStackOptions {
        boot_latency: Duration::from_millis(100),
        ..Default::default()
    }));
    // Nova pages of one server: the poller must follow servers_links.
    let patch: FaultsPatch = serde_json::from_value(json!({"max_limit": 1})).unwrap();
    sim1.sim.faults().update(patch).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clouds = dir.path().join("clouds.yaml");
    std::fs::write(&clouds, clouds_yaml(&sim1.sim.auth_url())).unwrap();
    let sim2_dir = dir.path().join("sim2");
    let child = Command::new(env!("CARGO_BIN_EXE_k0stack-sim"))
        .args([
            "up",
            "--ready-delay",
            "200ms",
            "--poll-interval",
            "200ms",
            "--openstack-cloud",
            "sim1-admin",
            "--openstack-from",
        ])
        .arg(&clouds)
        .arg("--dir")
        .arg(&sim2_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let _sim2 = Sim2(child);
    let mgmt = sim2_dir.join("admin.kubeconfig");
    eventually("sim #2's kubeconfig", 10, || mgmt.exists().then_some(()));
    let env = std::fs::read_to_string(sim2_dir.join("env.sh")).unwrap();
    assert!(
        env.contains("export K0STACK_SIM_OPENSTACK='external'"),
        "{env}"
    );
    assert!(env.contains("export OS_CLOUD='sim1-admin'"), "{env}");
    assert!(!env.contains("K0STACK_SIM_ADMIN"), "{env}");
    assert!(
        !sim2_dir.join("clouds.yaml").exists(),
        "no simulated cloud to describe"
    );

    // A hosted control plane and a worker join token on sim #2.
    let manifest = dir.path().join("dev.yaml");
    std::fs::write(&manifest, "apiVersion: k0smotron.io/v1beta2\nkind: Cluster\nmetadata:\n  name: dev\nspec:\n  version: v1.32.6-k0s.0\n  service:\n    type: NodePort\n---\napiVersion: k0smotron.io/v1beta2\nkind: JoinTokenRequest\nmetadata:\n  name: w\nspec:\n  clusterName: dev\n  expiry: 1h\n  role: worker\n").unwrap();
    kubectl(
        &mgmt,
        &[
            "apply",
            "--server-side",
            "--validate=false",
            "-f",
            manifest.to_str().unwrap(),
        ],
    );
    let token = secret_value(&mgmt, "w", "token");
    let hosted = dir.path().join("dev.kubeconfig");
    std::fs::write(&hosted, secret_value(&mgmt, "dev-kubeconfig", "value")).unwrap();

    // Servers on sim #1 in project demo (not the poller's): one with the worker user_data,
    // one without (it boots but joins nothing).
    let sim1_counts = sim1.sim.counters();
    let id = rt.block_on(sim1.create_server(
        json!({"name": "w-1", "imageRef": ubuntu(), "flavorRef": "2",
        "networks": [{"uuid": private_net()}], "user_data": b64(&worker_user_data(&token))}),
    ));
    rt.block_on(sim1.create_server(
        json!({"name": "plain", "imageRef": ubuntu(), "flavorRef": "1",
        "networks": [{"uuid": private_net()}]}),
    ));
    let joined = eventually("the node Ready in the hosted cluster", 20, || {
        ready(&hosted, "w-1").filter(|r| r.starts_with("True|"))
    });
    assert_eq!(joined, format!("True|openstack:///{id}"));
    let nodes = kubectl(&hosted, &["get", "nodes", "-o", "name"]);
    assert_eq!(nodes.trim(), "node/w-1", "only the k0s worker joined");

    // One listing per poll, walked page by page; never a GET per server.
    let counts = sim1_counts.snapshot();
    assert!(
        counts
            .get("GET /compute/v2.1/servers/detail")
            .copied()
            .unwrap_or(0)
            >= 3,
        "{counts:?}"
    );
    assert!(
        !counts
            .keys()
            .any(|k| k.starts_with("GET /compute/v2.1/servers/") && !k.ends_with("/detail")),
        "{counts:?}"
    );

    let a = rt.block_on(sim1.call(
        "DELETE",
        &format!("/compute/v2.1/servers/{id}"),
        None,
        Some("2.90"),
        None,
    ));
    assert_eq!(a.status, 204);
    eventually("the node NotReady after the delete", 20, || {
        ready(&hosted, "w-1").filter(|r| !r.starts_with("True|"))
    });
    let r = ready(&hosted, "w-1").unwrap_or_default();
    assert!(
        r.starts_with("Unknown|"),
        "as for a deleted simulated server: {r}"
    );
}

/// The client in-process: the admin sees every project's user_data at 2.90, a revoked
/// token is renewed on the 401, and the poll publishes `Active` once then `Gone`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poller_reauthenticates_and_diffs_a_listing_into_events() {
    let sim1 = Cloud::start(OpenStackOptions {
        boot_latency: Duration::from_millis(50),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let clouds = dir.path().join("clouds.yaml");
    std::fs::write(&clouds, clouds_yaml(&sim1.sim.auth_url())).unwrap();
    let id = sim1
        .create_server(json!({"name": "w-2", "imageRef": ubuntu(), "flavorRef": "1", "user_data": b64("#cloud-config\n")}))
        .await;
    sim1.wait_status(&id, "ACTIVE").await;

    // A member's token: no user_data, and all_tenants is refused as by Nova's policy.
    let demo = external::clouds::load(&clouds, Some("sim1-demo")).unwrap();
    let mut client = Client::new(demo).unwrap();
    let e = client.list_servers().await.unwrap_err().to_string();
    assert!(
        e.contains("HTTP 403") && e.contains("os_compute_api:servers:detail:get_all_tenants"),
        "{e}"
    );

    let admin = external::clouds::load(&clouds, Some("sim1-admin")).unwrap();
    let mut client = Client::new(admin).unwrap();
    let bus = EventBus::default();
    let mut rx = bus.subscribe();
    let mut seen = SeenSet::new();
    let hidden = external::poll_once(&mut client, &mut seen, &bus)
        .await
        .unwrap();
    assert!(!hidden, "the admin sees user_data");
    match rx.try_recv().unwrap() {
        VmEvent::Active(vm) => {
            assert_eq!(
                (vm.server_id.as_str(), vm.hostname.as_str()),
                (id.as_str(), "w-2")
            );
            assert_eq!(vm.user_data.as_deref(), Some("#cloud-config\n"));
            assert!(vm.ip.starts_with("127.100."), "{}", vm.ip);
            assert_eq!(vm.flavor, "m1.tiny");
        }
        other => panic!("{other:?}"),
    }
    // Revoke the poller's token: the next listing gets a 401, renews, and succeeds.
    let counters = sim1.sim.counters();
    let tokens_before = counters.get("POST /identity/v3/auth/tokens");
    let st = sim1.sim.ctx();
    st.state.lock().unwrap().tokens.clear();
    assert!(external::poll_once(&mut client, &mut seen, &bus)
        .await
        .is_ok());
    assert!(rx.try_recv().is_err(), "nothing changed: no event");
    assert_eq!(
        counters.get("POST /identity/v3/auth/tokens"),
        tokens_before + 1
    );
    let token = sim1.new_token().await;
    let a = sim1
        .call(
            "DELETE",
            &format!("/compute/v2.1/servers/{id}"),
            None,
            Some("2.90"),
            Some(&token),
        )
        .await;
    assert_eq!(a.status, 204);
    for _ in 0..100 {
        external::poll_once(&mut client, &mut seen, &bus)
            .await
            .unwrap();
        if let Ok(ev) = rx.try_recv() {
            assert_eq!(
                ev,
                VmEvent::Gone {
                    server_id: id.clone()
                }
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no Gone after the delete");
}

/// The simulated Nova's admin view, as nova 34's: `OS-EXT-SRV-ATTR:user_data` (base64, as
/// sent) for an admin from 2.3, never for a member; `all_tenants` is the admin's only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nova_shows_user_data_to_admins_only_from_2_3() {
    let sim1 = Cloud::start(OpenStackOptions::default()).await;
    let sent = b64("#cloud-config\nruncmd: [true]\n");
    let id = sim1
        .create_server(
            json!({"name": "ud", "imageRef": ubuntu(), "flavorRef": "1", "user_data": sent}),
        )
        .await;
    let login = support::password_auth("admin", "devstacker", "admin");
    let a = sim1.post("/identity/v3/auth/tokens", login, None).await;
    let admin = a.header("x-subject-token").unwrap();
    let list = |mv: &'static str, token: Option<String>| {
        let sim1 = &sim1;
        async move {
            let path = "/compute/v2.1/servers/detail?all_tenants=1";
            let tok = token.as_deref();
            sim1.call("GET", path, None, Some(mv), tok).await
        }
    };
    let a = list("2.90", Some(admin.clone())).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let s = &a.body["servers"][0];
    assert_eq!(
        s["id"],
        id.as_str(),
        "the demo project's server, seen by the admin"
    );
    assert_eq!(s["OS-EXT-SRV-ATTR:user_data"], sent.as_str());
    assert_eq!(s["OS-EXT-SRV-ATTR:hostname"], "ud");
    assert!(s["OS-EXT-SRV-ATTR:host"].is_string());
    let a = list("2.1", Some(admin.clone())).await;
    let s = &a.body["servers"][0];
    assert!(
        s.get("OS-EXT-SRV-ATTR:user_data").is_none(),
        "2.3 added it: {s}"
    );
    assert!(
        s["OS-EXT-SRV-ATTR:host"].is_string(),
        "host is shown from 2.1"
    );
    let a = list("2.90", None).await;
    assert_eq!(a.status, 403, "a member may not list all projects");
    let a = sim1
        .get(&format!("/compute/v2.1/servers/{id}"), Some("2.90"))
        .await;
    let s = &a.body["server"];
    assert!(
        s.get("OS-EXT-SRV-ATTR:user_data").is_none() && s.get("OS-EXT-SRV-ATTR:host").is_none(),
        "{s}"
    );
    assert_eq!(
        s["OS-EXT-SRV-ATTR:hostname"], "ud",
        "2.90 shows the hostname to all"
    );
    let a = sim1
        .call(
            "GET",
            "/compute/v2.1/servers/detail?all_tenants=maybe",
            None,
            Some("2.90"),
            Some(&admin),
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.body);
}

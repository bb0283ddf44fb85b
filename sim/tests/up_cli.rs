//! `k0stack-sim up` starts fast, writes a kubeconfig that the real kubectl uses and a
//! clouds.yaml whose credentials authenticate, and stops cleanly on SIGTERM.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn up_serves_kubectl_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_k0stack-sim"))
        .args(["up", "--dir"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let kubeconfig = dir.path().join("admin.kubeconfig");
    while !kubeconfig.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no kubeconfig after 5 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let startup = start.elapsed();
    assert!(
        startup < Duration::from_secs(1),
        "k0stack-sim took {startup:?} to start"
    );

    let kubectl = std::env::var_os("KUBECTL")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/kubectl")
        });
    assert!(
        kubectl.exists(),
        "kubectl not found at {}: run `make tools`",
        kubectl.display()
    );
    let run = |args: &[&str]| {
        let out = Command::new(&kubectl)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(args)
            .env("HOME", dir.path())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = run(&["get", "ns", "-o", "name"]);
    assert!(ok, "kubectl get ns: {err}");
    assert!(out.contains("namespace/kube-system"), "{out}");
    let (ok, out, err) = run(&["get", "crd", "-o", "name"]);
    assert!(ok, "kubectl get crd: {err}");
    assert!(out.contains("clusters.k0smotron.io"), "{out}");

    // A k0smotron Cluster as in the k0smotron docs, applied with kubectl.
    let manifest = dir.path().join("cluster.yaml");
    std::fs::write(&manifest, "apiVersion: k0smotron.io/v1beta1\nkind: Cluster\nmetadata:\n  name: k0smotron-test\nspec:\n  replicas: 1\n  k0sImage: k0sproject/k0s\n  version: v1.32.6-k0s.0\n  service:\n    type: NodePort\n    apiPort: 30443\n    konnectivityPort: 30132\n").unwrap();
    let (ok, _, err) = run(&[
        "apply",
        "--server-side",
        "--validate=false",
        "-f",
        manifest.to_str().unwrap(),
    ]);
    assert!(ok, "kubectl apply: {err}");
    // kubectl wait (list + watch) until k0smotron created the kubeconfig Secret.
    let (ok, _, err) = run(&[
        "wait",
        "--for=create",
        "secret/k0smotron-test-kubeconfig",
        "--timeout=20s",
    ]);
    assert!(ok, "kubectl wait: {err}");
    let (ok, _, err) = run(&[
        "wait",
        "--for=jsonpath={.status.ready}=true",
        "clusters.v1beta1.k0smotron.io/k0smotron-test",
        "--timeout=20s",
    ]);
    assert!(ok, "kubectl wait for readiness: {err}");
    let (ok, secret, err) = run(&[
        "get",
        "secret",
        "k0smotron-test-kubeconfig",
        "-o",
        "jsonpath={.data.value}",
    ]);
    assert!(ok, "{err}");
    assert!(!secret.is_empty(), "the kubeconfig Secret never appeared");
    let (ok, out, err) = run(&[
        "get",
        "clusters.v1beta2.k0smotron.io",
        "k0smotron-test",
        "-o",
        "jsonpath={.spec.externalAddress}",
    ]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with("127.20."),
        "externalAddress written back: {out:?}"
    );
    let (ok, _, err) = run(&[
        "delete",
        "cluster.k0smotron.io",
        "k0smotron-test",
        "--wait=false",
    ]);
    assert!(ok, "kubectl delete: {err}");

    unsafe { libc_kill(child.id() as i32, 15) };
    let status = wait_with_timeout(&mut child, Duration::from_secs(5));
    assert!(status, "k0stack-sim did not stop on SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_writes_clouds_yaml_and_env_that_work() {
    let dir = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_k0stack-sim"))
        .args([
            "up",
            "--boot-latency",
            "100ms",
            "--token-ttl",
            "1h",
            "--hosts",
            "2",
            "--dir",
        ])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // admin.kubeconfig is written last: once it exists, everything is up.
    while !dir.path().join("admin.kubeconfig").exists() {
        assert!(start.elapsed() < Duration::from_secs(5), "not up after 5 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let startup = start.elapsed();
    assert!(
        startup < Duration::from_secs(1),
        "k0stack-sim took {startup:?} to start"
    );

    let clouds: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(dir.path().join("clouds.yaml")).unwrap())
            .unwrap();
    let cloud = &clouds["clouds"]["k0stack-sim"];
    let auth = &cloud["auth"];
    let s = |v: &serde_yaml::Value| v.as_str().unwrap().to_string();
    let body = serde_json::json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": s(&auth["username"]), "domain": {"name": s(&auth["user_domain_name"])},
        "password": s(&auth["password"])}}},
        "scope": {"project": {"name": s(&auth["project_name"]), "domain": {"name": s(&auth["project_domain_name"])}}}}});
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/auth/tokens", s(&auth["auth_url"])))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let token = r.headers()["x-subject-token"].to_str().unwrap().to_string();
    let tok: serde_json::Value = r.json().await.unwrap();
    let compute = tok["token"]["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "compute")
        .unwrap()["endpoints"][0]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let r = http
        .get(format!("{compute}/servers"))
        .header("x-auth-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The application credential cloud works too.
    let ac = &clouds["clouds"]["k0stack-sim-appcred"]["auth"];
    let r = http
        .post(format!("{}/auth/tokens", s(&ac["auth_url"])))
        .json(
            &serde_json::json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"id": s(&ac["application_credential_id"]),
                "secret": s(&ac["application_credential_secret"])}}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    let env = std::fs::read_to_string(dir.path().join("env.sh")).unwrap();
    let var = |k: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("export {k}=")))
            .unwrap_or_else(|| panic!("{k} not in env.sh:\n{env}"))
            .trim_matches('\'')
            .to_string()
    };
    assert_eq!(var("OS_AUTH_URL"), s(&auth["auth_url"]));
    assert_eq!(var("OS_PASSWORD"), s(&auth["password"]));
    let counters: serde_json::Value = http
        .get(format!("{}/counters", var("K0STACK_SIM_ADMIN")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counters["POST /identity/v3/auth/tokens"], 2);
    assert_eq!(counters["GET /compute/v2.1/servers"], 1);

    unsafe { libc_kill(child.id() as i32, 15) };
    assert!(
        wait_with_timeout(&mut child, Duration::from_secs(5)),
        "k0stack-sim did not stop on SIGTERM"
    );
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

fn wait_with_timeout(child: &mut std::process::Child, t: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < t {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    false
}

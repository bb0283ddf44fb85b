//! `k0stack-sim up` starts fast, writes a kubeconfig that the real kubectl uses, and stops
//! cleanly on SIGTERM.

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

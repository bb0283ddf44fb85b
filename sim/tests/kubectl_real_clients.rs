//! Real kubectl binaries against the simulated apiserver: the machine's /usr/bin/kubectl
//! (1.32, when present) and the one `make tools` puts in .tools/ (1.37). Both send
//! `application/vnd.kubernetes.protobuf` bodies for built-in kinds (`kubectl create ...`
//! uses typed clientsets) and JSON for `apply`/`label`/`delete` (dynamic clients): the sim
//! must take both, as a real apiserver does.

use std::path::{Path, PathBuf};
use std::process::Command;

use k0stack_sim::k8s::{K8sOptions, K8sSim};
use serde_json::Value;

/// The kubectl binaries to test with; a missing machine kubectl is skipped with a note,
/// a missing .tools/kubectl is a failure (`make tools` provides it).
fn kubectls() -> Vec<PathBuf> {
    let mut found = vec![];
    let system = PathBuf::from("/usr/bin/kubectl");
    if system.exists() {
        found.push(system);
    } else {
        eprintln!("note: /usr/bin/kubectl is absent: testing with .tools/kubectl only");
    }
    let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/kubectl");
    assert!(
        tools.exists(),
        "{} not found: run `make tools`",
        tools.display()
    );
    found.push(tools);
    found
}

struct Kubectl<'a> {
    bin: &'a Path,
    kubeconfig: PathBuf,
    home: &'a Path,
}

impl Kubectl<'_> {
    /// Runs kubectl; returns (success, stdout, stderr).
    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(self.bin)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .env("HOME", self.home)
            .env_remove("KUBECONFIG")
            .output()
            .expect("running kubectl");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args);
        assert!(ok, "{} {args:?} failed: {err}{out}", self.bin.display());
        out
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&all)).expect("kubectl -o json")
    }
}

fn stored(sim: &K8sSim, plural: &str, ns: &str, name: &str) -> Option<Value> {
    let store = sim.api.store.lock().unwrap();
    let rt = store.find("", "v1", plural)?;
    store.get(&rt, ns, name).ok()
}

async fn exercise(bin: &Path) {
    let sim = K8sSim::start(K8sOptions {
        k0smotron_versions: vec![],
        bootstrap: false,
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("admin.kubeconfig");
    std::fs::write(&kubeconfig, sim.kubeconfig()).unwrap();
    let k = Kubectl {
        bin,
        kubeconfig,
        home: dir.path(),
    };
    let who = bin.display().to_string();

    // create ns: a protobuf body (seen in kubectl's own request log), accepted.
    let (ok, _, log) = k.run(&["create", "ns", "apps", "-v=8"]);
    assert!(ok, "{who}: create ns: {log}");
    assert!(
        log.contains("Content-Type: application/vnd.kubernetes.protobuf"),
        "{who} did not send protobuf: the test would prove nothing\n{log}"
    );
    let ns = k.json(&["get", "ns", "apps"]);
    assert_eq!(ns["metadata"]["name"], "apps", "{who}: {ns}");
    assert!(ns["metadata"]["uid"].is_string(), "{who}: {ns}");

    // create secret generic: the protobuf bytes map arrives as base64 data.
    k.ok(&[
        "create",
        "secret",
        "generic",
        "db",
        "-n",
        "apps",
        "--from-literal=password=s3cr3t",
        "--from-literal=user=admin",
    ]);
    let s = stored(&sim, "secrets", "apps", "db").expect("secret stored");
    assert_eq!(s["data"]["password"], "czNjcjN0", "{who}: {s}");
    assert_eq!(s["data"]["user"], "YWRtaW4=", "{who}: {s}");
    let out = k.ok(&[
        "get",
        "secret",
        "db",
        "-n",
        "apps",
        "-o",
        "jsonpath={.data.user}",
    ]);
    assert_eq!(out, "YWRtaW4=", "{who}");

    // create configmap, from literals and a file.
    let file = dir.path().join("app.conf");
    std::fs::write(&file, "listen 8080\n").unwrap();
    let from_file = format!("--from-file={}", file.display());
    k.ok(&[
        "create",
        "configmap",
        "settings",
        "-n",
        "apps",
        "--from-literal=mode=prod",
        &from_file,
    ]);
    let cm = k.json(&["get", "configmap", "settings", "-n", "apps"]);
    assert_eq!(cm["data"]["mode"], "prod", "{who}: {cm}");
    assert_eq!(cm["data"]["app.conf"], "listen 8080\n", "{who}: {cm}");
    assert_eq!(cm["metadata"]["namespace"], "apps", "{who}: {cm}");

    // create service: ports and type from a protobuf ServiceSpec.
    k.ok(&[
        "create",
        "service",
        "nodeport",
        "web",
        "-n",
        "apps",
        "--tcp=80:8080",
    ]);
    let svc = k.json(&["get", "svc", "web", "-n", "apps"]);
    assert_eq!(svc["spec"]["type"], "NodePort", "{who}: {svc}");
    assert_eq!(svc["spec"]["ports"][0]["port"], 80, "{who}: {svc}");
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 8080, "{who}: {svc}");
    assert_eq!(svc["spec"]["selector"]["app"], "web", "{who}: {svc}");
    let np = svc["spec"]["ports"][0]["nodePort"].as_i64().unwrap_or(0);
    assert!(
        (30000..=32767).contains(&np),
        "{who}: node port allocated: {svc}"
    );

    // apply -f (JSON, dynamic client) of a Service and a ConfigMap; then again (no change).
    let manifest = dir.path().join("m.yaml");
    std::fs::write(&manifest, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n  namespace: apps\ndata:\n  a: \"1\"\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  namespace: apps\nspec:\n  selector:\n    app: api\n  ports:\n  - name: http\n    port: 443\n    targetPort: 6443\n").unwrap();
    let m = manifest.to_str().unwrap();
    let out = k.ok(&["apply", "--validate=false", "-f", m]);
    assert!(
        out.contains("configmap/applied created") && out.contains("service/api created"),
        "{who}: {out}"
    );
    let out = k.ok(&["apply", "--validate=false", "-f", m]);
    assert!(out.contains("configmap/applied unchanged"), "{who}: {out}");
    let api = k.json(&["get", "svc", "api", "-n", "apps"]);
    assert_eq!(api["spec"]["ports"][0]["name"], "http", "{who}: {api}");
    assert_eq!(api["spec"]["ports"][0]["targetPort"], 6443, "{who}: {api}");

    // label (merge patch), then delete.
    k.ok(&[
        "label",
        "configmap",
        "applied",
        "-n",
        "apps",
        "tier=backend",
    ]);
    let cm = k.json(&["get", "cm", "applied", "-n", "apps"]);
    assert_eq!(cm["metadata"]["labels"]["tier"], "backend", "{who}: {cm}");
    k.ok(&["delete", "configmap", "applied", "settings", "-n", "apps"]);
    k.ok(&["delete", "secret", "db", "-n", "apps"]);
    assert!(
        stored(&sim, "configmaps", "apps", "settings").is_none(),
        "{who}"
    );
    assert!(stored(&sim, "secrets", "apps", "db").is_none(), "{who}");
    let (ok, _, err) = k.run(&["get", "secret", "db", "-n", "apps"]);
    assert!(!ok && err.contains("NotFound"), "{who}: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_create_apply_label_delete_work_with_protobuf_and_json() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    for bin in kubectls() {
        exercise(&bin).await;
    }
}

/// A protobuf body for a custom resource is refused as a real apiserver refuses it (the
/// media type negotiates, decoding into an Unstructured fails: 400), and an unknown media
/// type is 415; both with a Status that kubectl prints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_for_a_custom_resource_is_400_and_unknown_media_types_415() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = K8sSim::start(K8sOptions {
        bootstrap: false,
        ..Default::default()
    })
    .await
    .unwrap();
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let token = sim.api.tokens.lock().unwrap()[0].clone();
    let post = |path: &str, content_type: &str, body: Vec<u8>| {
        client
            .post(format!("{}{path}", sim.url))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    // k8s\0 + runtime.Unknown{typeMeta: {apiVersion: k0smotron.io/v1beta2, kind: Cluster}}
    let type_meta = [
        &[0x0a, 20][..],
        b"k0smotron.io/v1beta2",
        &[0x12, 7],
        b"Cluster",
    ]
    .concat();
    let cluster = [&b"k8s\0"[..], &[0x0a, type_meta.len() as u8], &type_meta].concat();
    let r = post(
        "/apis/k0smotron.io/v1beta2/namespaces/default/clusters",
        "application/vnd.kubernetes.protobuf",
        cluster,
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let status: Value = r.json().await.unwrap();
    assert_eq!(
        (status["kind"].as_str(), status["reason"].as_str()),
        (Some("Status"), Some("BadRequest")),
        "{status}"
    );
    let message = status["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Cluster in version \"v1beta2\" cannot be handled as a Cluster: object *unstructured.Unstructured does not implement the protobuf marshalling interface"),
        "{status}"
    );
    let r = post("/api/v1/namespaces", "text/plain", b"name: x".to_vec())
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);
    let status: Value = r.json().await.unwrap();
    assert_eq!(status["reason"], "UnsupportedMediaType", "{status}");
}

//! The management-cluster helpers (`resources::kube_io`) through kube-rs against the
//! simulated apiserver, for both k0smotron API versions: version detection, server-side
//! apply beside the controller, get-or-none, delete through the finalizer, Secret data,
//! conversion between versions, the apiserver's error answers, and fault injection.

use std::time::Duration;

use base64::Engine;
use k0stack::framework::wait::{self, Backoff, Check, WaitError};
use k0stack::resources::hosted_control_plane::object::{readiness, Api};
use k0stack::resources::hosted_control_plane::rolled;
use k0stack::resources::kube_io::{self, KubeError};
use k0stack_sim::k8s::{K8sOptions, K8sSim};
use kube::api::{Api as KubeApi, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{json, Value};

async fn sim(versions: &[&str]) -> (K8sSim, kube::Client) {
    let sim = K8sSim::start(K8sOptions {
        k0smotron_versions: versions.iter().map(|v| v.to_string()).collect(),
        ready_delay: Duration::from_millis(50),
        ..Default::default()
    })
    .await
    .expect("sim starts");
    let kc = kube::config::Kubeconfig::from_yaml(&sim.kubeconfig()).expect("kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("config");
    let client = kube::Client::try_from(cfg).expect("client");
    (sim, client)
}

/// Polls `f` every 20 ms for up to 5 s (the sim's controller runs on real time).
async fn eventually<T, F, Fut>(what: &str, f: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..250 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A JSON patch (RFC 6902); kube-rs only offers it behind its `jsonpatch` feature.
async fn json_patch(client: &kube::Client, path: &str, ops: Value) -> Result<Value, kube::Error> {
    let req = http::Request::patch(path)
        .header("content-type", "application/json-patch+json")
        .body(serde_json::to_vec(&ops).expect("json"))
        .expect("request");
    client.request::<Value>(req).await
}

fn cluster(api: Api, name: &str) -> Value {
    json!({
        "apiVersion": api.api_version(), "kind": "Cluster",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "k0stack-test"}},
        "spec": {"replicas": 1, "version": "v1.32.6-k0s.0",
                 "service": {"type": "LoadBalancer", "apiPort": 6443, "konnectivityPort": 8132}}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detects_the_served_k0smotron_version() {
    for (served, want) in [
        (&["v1beta2", "v1beta1"][..], Some(Api::V1beta2)),
        (&["v1beta2"][..], Some(Api::V1beta2)),
        (&["v1beta1"][..], Some(Api::V1beta1)),
        (&[][..], None),
    ] {
        let (_sim, client) = sim(served).await;
        match (kube_io::k0smotron_api(&client).await, want) {
            (Ok(got), Some(want)) => assert_eq!(got, want, "served {served:?}"),
            (Err(KubeError::NoK0smotron(_)), None) => {}
            (other, _) => panic!("served {served:?}: unexpected {other:?}"),
        }
        // A version that is not served answers 404, as a real apiserver does.
        for api in [Api::V1beta1, Api::V1beta2] {
            if served.contains(&api.as_str()) {
                continue;
            }
            match kube_io::list(&client, &kube_io::cluster_resource(api), Some("default")).await {
                Err(KubeError::Object {
                    code: Some(404), ..
                }) => {}
                other => panic!("served {served:?}, listing {api:?}: {other:?}"),
            }
        }
    }
}

async fn cluster_lifecycle(api: Api) {
    let (sim, client) = sim(&["v1beta2", "v1beta1"]).await;
    let ar = kube_io::cluster_resource(api);
    let obj = cluster(api, "lc");
    assert!(kube_io::get(&client, &ar, Some("default"), "lc")
        .await
        .unwrap()
        .is_none());
    let applied = kube_io::apply(&client, &ar, &obj).await.unwrap();
    assert_eq!(applied["apiVersion"], api.api_version());
    assert_eq!(applied["metadata"]["generation"], 1);
    assert!(applied["metadata"]["uid"]
        .as_str()
        .is_some_and(|u| !u.is_empty()));

    let ready = eventually("the Cluster to become ready", || async {
        let c = kube_io::get(&client, &ar, Some("default"), "lc")
            .await
            .unwrap()?;
        readiness(&c["status"], api).0.then_some(c)
    })
    .await;
    let address = ready["spec"]["externalAddress"]
        .as_str()
        .expect("the controller writes externalAddress for a LoadBalancer")
        .to_string();
    assert!(address.starts_with("127.20."), "{address}");
    let finalizers = ready["metadata"]["finalizers"].to_string();
    assert!(finalizers.contains("k0smotron.io"), "{finalizers}");

    let kubeconfig = kube_io::secret_data(&client, "default", "lc-kubeconfig")
        .await
        .unwrap()
        .expect("kubeconfig Secret");
    let value = String::from_utf8(kubeconfig["value"].clone()).unwrap();
    assert!(
        value.contains(&format!("https://{address}:6443")),
        "{value}"
    );
    let ca = kube_io::secret_data(&client, "default", "lc-ca")
        .await
        .unwrap()
        .expect("CA Secret");
    assert!(String::from_utf8_lossy(&ca["tls.crt"]).contains("BEGIN CERTIFICATE"));
    assert!(ca.contains_key("tls.key"));

    // Re-applying our fields (SSA) keeps the controller's externalAddress.
    let mut changed = obj.clone();
    changed["metadata"]["labels"]["extra"] = json!("1");
    let reapplied = kube_io::apply(&client, &ar, &changed).await.unwrap();
    assert_eq!(reapplied["spec"]["externalAddress"], json!(address));
    assert_eq!(reapplied["metadata"]["labels"]["extra"], "1");

    assert!(kube_io::delete(&client, &ar, Some("default"), "lc")
        .await
        .unwrap());
    eventually("the Cluster to be gone (finalizer removed)", || async {
        kube_io::get(&client, &ar, Some("default"), "lc")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert!(!kube_io::delete(&client, &ar, Some("default"), "lc")
        .await
        .unwrap());
    drop(sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_lifecycle_v1beta2() {
    cluster_lifecycle(Api::V1beta2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_lifecycle_v1beta1() {
    cluster_lifecycle(Api::V1beta1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_stored_object_is_served_in_both_versions() {
    let (sim, client) = sim(&["v1beta2", "v1beta1"]).await;
    sim.operator.knobs.lock().unwrap().never_ready = true;
    let mut old = cluster(Api::V1beta1, "conv");
    old["spec"]["kineDataSourceURL"] = json!("postgres://db:5432/k0s");
    old["spec"]["controllerPlaneFlags"] = json!(["--debug=true"]);
    kube_io::apply(&client, &kube_io::cluster_resource(Api::V1beta1), &old)
        .await
        .unwrap();
    let new = kube_io::get(
        &client,
        &kube_io::cluster_resource(Api::V1beta2),
        Some("default"),
        "conv",
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(new["apiVersion"], "k0smotron.io/v1beta2");
    assert_eq!(new["spec"]["storage"]["type"], "kine");
    assert_eq!(
        new["spec"]["storage"]["kine"]["dataSourceURL"],
        "postgres://db:5432/k0s"
    );
    assert_eq!(new["spec"]["controlPlaneFlags"], json!(["--debug=true"]));
    assert!(new["spec"].get("kineDataSourceURL").is_none());

    // A never-ready controller: v1beta2 says Available=False, v1beta1 ready=false.
    let c2 = eventually("a not-ready condition", || async {
        let c = kube_io::get(
            &client,
            &kube_io::cluster_resource(Api::V1beta2),
            Some("default"),
            "conv",
        )
        .await
        .unwrap()?;
        c["status"]["conditions"].as_array().is_some().then_some(c)
    })
    .await;
    let (ready, _) = readiness(&c2["status"], Api::V1beta2);
    assert!(!ready);
    let c1 = kube_io::get(
        &client,
        &kube_io::cluster_resource(Api::V1beta1),
        Some("default"),
        "conv",
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(c1["status"]["ready"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_token_requests_give_a_k0s_token_secret() {
    for api in [Api::V1beta2, Api::V1beta1] {
        let (_sim, client) = sim(&["v1beta2", "v1beta1"]).await;
        kube_io::apply(
            &client,
            &kube_io::cluster_resource(api),
            &cluster(api, "jc"),
        )
        .await
        .unwrap();
        let spec = match api {
            Api::V1beta2 => json!({"clusterName": "jc", "expiry": "1h", "role": "worker"}),
            Api::V1beta1 => {
                json!({"clusterRef": {"name": "jc", "namespace": "default"}, "expiry": "1h", "role": "worker"})
            }
        };
        let jtr = json!({"apiVersion": api.api_version(), "kind": "JoinTokenRequest",
            "metadata": {"name": "jc-workers", "namespace": "default"}, "spec": spec});
        let jar = kube_io::resource(
            "k0smotron.io",
            api.as_str(),
            "JoinTokenRequest",
            "jointokenrequests",
        );
        kube_io::apply(&client, &jar, &jtr).await.unwrap();
        let secret = eventually("the token Secret", || async {
            kube_io::get(
                &client,
                &kube_io::secret_resource(),
                Some("default"),
                "jc-workers",
            )
            .await
            .unwrap()
        })
        .await;
        let labels = &secret["metadata"]["labels"];
        assert_eq!(labels["k0smotron.io/cluster"], "jc", "{api:?}");
        assert_eq!(labels["k0smotron.io/role"], "worker");
        assert_eq!(labels["k0smotron.io/token-request"], "jc-workers");
        let data = kube_io::secret_data(&client, "default", "jc-workers")
            .await
            .unwrap()
            .unwrap();
        let gz = base64::engine::general_purpose::STANDARD
            .decode(&data["token"])
            .expect("the token is base64");
        assert_eq!(&gz[..2], &[0x1f, 0x8b], "base64 of gzip");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_errors_name_the_object_and_carry_the_status_message() {
    let (_sim, client) = sim(&["v1beta2"]).await;
    let ar = kube_io::configmap_resource();
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cm", "namespace": "default", "labels": {"tier": "a"}},
        "data": {"k": "v"}});
    kube_io::create(&client, &ar, &cm).await.unwrap();
    match kube_io::create(&client, &ar, &cm).await {
        Err(
            e @ KubeError::Object {
                code: Some(409), ..
            },
        ) => {
            let text = e.to_string();
            assert!(text.contains("ConfigMap default/cm"), "{text}");
            assert!(text.contains("already exists"), "{text}");
        }
        other => panic!("expected 409 AlreadyExists, got {other:?}"),
    }

    let api: KubeApi<DynamicObject> = KubeApi::namespaced_with(client.clone(), "default", &ar);
    let mut current = api.get("cm").await.unwrap();
    let stale = current.metadata.resource_version.clone();
    current.data["data"]["k"] = json!("v2");
    api.replace("cm", &PostParams::default(), &current)
        .await
        .unwrap();
    current.metadata.resource_version = stale;
    match api.replace("cm", &PostParams::default(), &current).await {
        Err(kube::Error::Api(s)) => {
            assert_eq!(s.code, 409);
            assert_eq!(s.reason, "Conflict");
        }
        other => panic!("expected 409 on a stale resourceVersion, got {other:?}"),
    }
    match api.get("nope").await {
        Err(kube::Error::Api(s)) => {
            assert_eq!((s.code, s.reason.as_str()), (404, "NotFound"));
            assert!(s.message.contains("\"nope\" not found"), "{}", s.message);
        }
        other => panic!("expected 404, got {other:?}"),
    }

    // merge patch, json patch, label selectors
    api.patch(
        "cm",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"m": "1"}})),
    )
    .await
    .unwrap();
    let patched = json_patch(
        &client,
        "/api/v1/namespaces/default/configmaps/cm",
        json!([{"op": "replace", "path": "/data/k", "value": "j"}]),
    )
    .await
    .unwrap();
    assert_eq!(patched["data"], json!({"k": "j", "m": "1"}));
    match json_patch(
        &client,
        "/api/v1/namespaces/default/configmaps/cm",
        json!([{"op": "test", "path": "/data/k", "value": "not-j"}]),
    )
    .await
    {
        Err(kube::Error::Api(s)) => assert_eq!((s.code, s.reason.as_str()), (422, "Invalid")),
        other => panic!("expected 422 for a failed json patch test, got {other:?}"),
    }
    let mut other = cm.clone();
    other["metadata"]["name"] = json!("cm2");
    other["metadata"]["labels"]["tier"] = json!("b");
    kube_io::create(&client, &ar, &other).await.unwrap();
    let names = |l: kube::core::ObjectList<DynamicObject>| {
        l.items
            .into_iter()
            .filter_map(|o| o.metadata.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("tier=b"))
                .await
                .unwrap()
        ),
        ["cm2"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("tier!=b"))
                .await
                .unwrap()
        ),
        ["cm"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finalizers_hold_deletion_with_a_deletion_timestamp() {
    let (_sim, client) = sim(&["v1beta2"]).await;
    let ar = kube_io::configmap_resource();
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "held", "namespace": "default", "finalizers": ["example.com/hold"]}});
    kube_io::create(&client, &ar, &cm).await.unwrap();
    assert!(kube_io::delete(&client, &ar, Some("default"), "held")
        .await
        .unwrap());
    let held = kube_io::get(&client, &ar, Some("default"), "held")
        .await
        .unwrap()
        .expect("still there while finalized");
    assert!(held["metadata"]["deletionTimestamp"].is_string());
    let api: KubeApi<DynamicObject> = KubeApi::namespaced_with(client.clone(), "default", &ar);
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert!(kube_io::get(&client, &ar, Some("default"), "held")
        .await
        .unwrap()
        .is_none());
}

/// A client without kube-rs's default retry policy (which retries 429/503/504 up to 15
/// times with exponential backoff, minutes in total), so each fault answers at once.
async fn client_without_retry(sim: &K8sSim) -> kube::Client {
    let kc = kube::config::Kubeconfig::from_yaml(&sim.kubeconfig()).expect("kubeconfig");
    let mut cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("config");
    cfg.default_retry = false;
    kube::Client::try_from(cfg).expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_surface_as_errors_with_codes() {
    let (sim, retrying) = sim(&["v1beta2"]).await;
    let ar = kube_io::namespace_resource();
    let client = client_without_retry(&sim).await;
    sim.api.faults.lock().unwrap().error_503 = 1.0;
    match kube_io::get(&client, &ar, None, "default").await {
        Err(KubeError::Object { code, message, .. }) => {
            assert_eq!(code, Some(503), "{message}")
        }
        other => panic!("expected 503, got {other:?}"),
    }
    {
        let mut f = sim.api.faults.lock().unwrap();
        f.error_503 = 0.0;
        f.error_500 = 1.0;
    }
    match kube_io::get(&client, &ar, None, "default").await {
        Err(KubeError::Object { code, .. }) => assert_eq!(code, Some(500)),
        other => panic!("expected 500, got {other:?}"),
    }
    {
        let mut f = sim.api.faults.lock().unwrap();
        f.error_500 = 0.0;
        f.error_429 = 1.0;
    }
    match kube_io::get(&client, &ar, None, "default").await {
        Err(KubeError::Object { code, .. }) => assert_eq!(code, Some(429)),
        other => panic!("expected 429, got {other:?}"),
    }

    // The provider's client keeps kube-rs's retries: a 429 that clears is absorbed.
    let api = sim.api.clone();
    let clear = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        api.faults.lock().unwrap().error_429 = 0.0;
    });
    assert!(kube_io::get(&retrying, &ar, None, "default")
        .await
        .unwrap()
        .is_some());
    clear.await.unwrap();

    // Unreachable refuses new connections (a fresh client has none pooled).
    sim.api.faults.lock().unwrap().unreachable = true;
    let fresh = client_without_retry(&sim).await;
    match kube_io::get(&fresh, &ar, None, "default").await {
        Err(KubeError::Object { code: None, .. }) => {}
        other => panic!("expected a connection error, got {other:?}"),
    }
    sim.api.faults.lock().unwrap().unreachable = false;
    assert!(kube_io::get(&fresh, &ar, None, "default")
        .await
        .unwrap()
        .is_some());
}

/// Waits with the provider's poller until the control plane is rolled (as the resource does:
/// the Cluster and its StatefulSet, [`rolled::judge`]).
async fn wait_ready(
    client: &kube::Client,
    api: Api,
    name: &str,
    timeout: Duration,
) -> Result<Value, WaitError<KubeError>> {
    let backoff = Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(50),
    };
    wait::until("the Cluster to be ready", timeout, backoff, || async {
        let ar = kube_io::cluster_resource(api);
        Ok(
            match kube_io::get(client, &ar, Some("default"), name).await? {
                None => Check::Pending("absent".into()),
                Some(c) => {
                    let sts = rolled::read_statefulset(client, "default", name).await?;
                    match rolled::judge(&c, sts.as_ref(), api) {
                        v if v.done => Check::Ready(c),
                        v => Check::Pending(v.summary),
                    }
                }
            },
        )
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_readiness_times_out_with_the_last_condition() {
    for api in [Api::V1beta2, Api::V1beta1] {
        let (sim, client) = sim(&["v1beta2", "v1beta1"]).await;
        sim.operator.knobs.lock().unwrap().never_ready = true;
        kube_io::apply(
            &client,
            &kube_io::cluster_resource(api),
            &cluster(api, "nr"),
        )
        .await
        .unwrap();
        match wait_ready(&client, api, "nr", Duration::from_millis(400)).await {
            Err(WaitError::Timeout { last, .. }) => match api {
                Api::V1beta2 => {
                    assert!(last.contains("Available=False"), "{last}");
                    assert!(
                        last.contains("It is needed to have at least 1 ready replica"),
                        "{last}"
                    );
                }
                Api::V1beta1 => assert!(last.starts_with("ready=false"), "{last}"),
            },
            other => panic!("{api:?}: expected a timeout, got {other:?}"),
        }
        // The controller recovers: the same wait now succeeds.
        sim.operator.knobs.lock().unwrap().never_ready = false;
        wait_ready(&client, api, "nr", Duration::from_secs(5))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// k0smotron 2.x: during a roll `Available` stays True and `ControlPlaneUpToDate` is False
/// (k0smotron `k0smotroncluster_status.go`); the wait returns only once the StatefulSet runs
/// the new image on every replica.
async fn a_version_change_rolls_with_up_to_date_false_while_available_stays_true() {
    let (sim, client) = sim(&["v1beta2", "v1beta1"]).await;
    sim.operator.knobs.lock().unwrap().ready_delay = Duration::from_millis(300);
    let ar = kube_io::cluster_resource(Api::V1beta2);
    let mut obj = cluster(Api::V1beta2, "roll");
    // With one replica the new pod counts as updated at once (UpToDate compares only
    // spec.replicas with updatedReplicas); three show the roll.
    obj["spec"]["replicas"] = json!(3);
    kube_io::apply(&client, &ar, &obj).await.unwrap();
    wait_ready(&client, Api::V1beta2, "roll", Duration::from_secs(5))
        .await
        .unwrap();
    obj["spec"]["version"] = json!("v1.33.2-k0s.0");
    let before = kube_io::get(&client, &ar, Some("default"), "roll")
        .await
        .unwrap()
        .unwrap();
    let applied = kube_io::apply(&client, &ar, &obj).await.unwrap();
    // (the controller's externalAddress write already bumped the generation once)
    let generation = applied["metadata"]["generation"].as_i64().unwrap();
    assert_eq!(
        generation,
        before["metadata"]["generation"].as_i64().unwrap() + 1
    );
    let condition = |c: &Value, kind: &str| {
        c["status"]["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == kind).cloned())
            .unwrap_or_default()
    };
    let rolling = eventually(
        "ControlPlaneUpToDate=False for the new generation",
        || async {
            let c = kube_io::get(&client, &ar, Some("default"), "roll")
                .await
                .unwrap()?;
            let u = condition(&c, "ControlPlaneUpToDate");
            (u["status"] == "False" && u["observedGeneration"] == generation).then_some(c)
        },
    )
    .await;
    assert_eq!(
        condition(&rolling, "ControlPlaneUpToDate")["reason"],
        "NotAllReplicasUpToDate"
    );
    assert_eq!(
        condition(&rolling, "Available")["status"],
        "True",
        "Available does not include the roll"
    );
    let done = wait_ready(&client, Api::V1beta2, "roll", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(condition(&done, "ControlPlaneUpToDate")["status"], "True");
    let sts = rolled::read_statefulset(&client, "default", "roll")
        .await
        .unwrap()
        .expect("k0smotron's StatefulSet");
    assert_eq!(
        sts["spec"]["template"]["spec"]["containers"][0]["image"],
        "quay.io/k0sproject/k0s:v1.33.2-k0s.0"
    );
    assert_eq!(sts["status"]["updatedReplicas"], 3);
    assert_eq!(sts["status"]["readyReplicas"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_waits_for_every_finalizer() {
    let (_sim, client) = sim(&["v1beta2"]).await;
    let ar = kube_io::cluster_resource(Api::V1beta2);
    let mut obj = cluster(Api::V1beta2, "fin");
    obj["metadata"]["finalizers"] = json!(["example.com/hold"]);
    kube_io::apply(&client, &ar, &obj).await.unwrap();
    wait_ready(&client, Api::V1beta2, "fin", Duration::from_secs(5))
        .await
        .unwrap();
    assert!(kube_io::delete(&client, &ar, Some("default"), "fin")
        .await
        .unwrap());
    let backoff = Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(50),
    };
    let gone = || async {
        Ok::<_, KubeError>(
            match kube_io::get(&client, &ar, Some("default"), "fin").await? {
                None => Check::Ready(()),
                Some(c) => Check::Pending(format!(
                    "still present, finalizers: {}",
                    c["metadata"]["finalizers"]
                )),
            },
        )
    };
    // k0smotron drops its finalizer; ours keeps the object (with deletionTimestamp).
    match wait::until("fin to be gone", Duration::from_millis(400), backoff, gone).await {
        Err(WaitError::Timeout { last, .. }) => {
            assert_eq!(last, r#"still present, finalizers: ["example.com/hold"]"#)
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    let held = kube_io::get(&client, &ar, Some("default"), "fin")
        .await
        .unwrap()
        .unwrap();
    assert!(held["metadata"]["deletionTimestamp"].is_string());
    let api: KubeApi<DynamicObject> = KubeApi::namespaced_with(client.clone(), "default", &ar);
    api.patch(
        "fin",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": []}})),
    )
    .await
    .unwrap();
    wait::until("fin to be gone", Duration::from_secs(2), backoff, gone)
        .await
        .unwrap();
}

//! Join tokens from the simulated k0smotron, read and checked with the provider's decoder
//! (`kube::join_token`), in both API versions: the token points at the hosted API of its
//! Cluster with that cluster's CA, and deleting the request invalidates it.

use std::time::Duration;

use base64::Engine;
use k0stack::kube::join_token::{self, LABEL_CLUSTER, LABEL_REQUEST};
use k0stack::resources::hosted_control_plane::object::{readiness, Api};
use k0stack::resources::kube_io;
use k0stack_sim::k8s::{K8sOptions, K8sSim};
use serde_json::{json, Value};

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

fn jtr(api: Api, name: &str, cluster: &str) -> Value {
    let spec = match api {
        Api::V1beta2 => json!({"clusterName": cluster, "expiry": "1h", "role": "worker"}),
        Api::V1beta1 => json!({"clusterRef": {"name": cluster, "namespace": "default"},
                               "expiry": "1h", "role": "worker"}),
    };
    json!({"apiVersion": api.api_version(), "kind": "JoinTokenRequest",
           "metadata": {"name": name, "namespace": "default"}, "spec": spec})
}

async fn token_round_trip(api: Api) {
    let sim = K8sSim::start(K8sOptions {
        ready_delay: Duration::from_millis(50),
        ..Default::default()
    })
    .await
    .unwrap();
    let kc = kube::config::Kubeconfig::from_yaml(&sim.kubeconfig()).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(cfg).unwrap();
    let car = kube_io::cluster_resource(api);
    let cluster = json!({"apiVersion": api.api_version(), "kind": "Cluster",
        "metadata": {"name": "jt", "namespace": "default"},
        "spec": {"version": "v1.32.6-k0s.0", "service": {"type": "NodePort"}}});
    kube_io::apply(&client, &car, &cluster).await.unwrap();
    eventually("the Cluster to be ready", || async {
        let c = kube_io::get(&client, &car, Some("default"), "jt")
            .await
            .unwrap()?;
        readiness(&c["status"], api).0.then_some(())
    })
    .await;
    let jar = kube_io::resource(
        "k0smotron.io",
        api.as_str(),
        "JoinTokenRequest",
        "jointokenrequests",
    );
    kube_io::apply(&client, &jar, &jtr(api, "jt-pool", "jt"))
        .await
        .unwrap();
    let secret = eventually("the token Secret", || async {
        kube_io::get(
            &client,
            &kube_io::secret_resource(),
            Some("default"),
            "jt-pool",
        )
        .await
        .unwrap()
    })
    .await;
    assert_eq!(
        secret["metadata"]["labels"][LABEL_CLUSTER], "jt",
        "the plain Cluster name"
    );
    assert_eq!(secret["metadata"]["labels"][LABEL_REQUEST], "jt-pool");
    let data = kube_io::secret_data(&client, "default", "jt-pool")
        .await
        .unwrap()
        .unwrap();
    let token =
        join_token::decode(std::str::from_utf8(&data["token"]).unwrap()).expect("a k0s join token");
    assert_eq!(token.user, "kubelet-bootstrap");
    assert!(token.has_ca);

    // Same hosted API and CA as the admin kubeconfig k0smotron wrote.
    let admin = kube_io::secret_data(&client, "default", "jt-kubeconfig")
        .await
        .unwrap()
        .unwrap();
    let admin: serde_yaml::Value = serde_yaml::from_slice(&admin["value"]).unwrap();
    let admin_cluster = &admin["clusters"][0]["cluster"];
    assert_eq!(
        admin_cluster["server"].as_str(),
        Some(token.server.as_str())
    );
    let ca = kube_io::secret_data(&client, "default", "jt-ca")
        .await
        .unwrap()
        .unwrap();
    let admin_ca = base64::engine::general_purpose::STANDARD
        .decode(
            admin_cluster["certificate-authority-data"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(admin_ca, ca["tls.crt"]);

    let hosted = sim
        .operator
        .hosted_for("default", "jt")
        .expect("hosted API");
    assert_eq!(
        hosted.token_problem(token.bootstrap_token.expose()),
        None,
        "{api:?}"
    );
    assert!(kube_io::delete(&client, &jar, Some("default"), "jt-pool")
        .await
        .unwrap());
    let problem = eventually("the token to be invalidated", || async {
        hosted.token_problem(token.bootstrap_token.expose())
    })
    .await;
    assert!(problem.contains("invalidated"), "{problem}");
    assert!(problem.contains(&token.token_id), "{problem}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_token_round_trip_v1beta2() {
    token_round_trip(Api::V1beta2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_token_round_trip_v1beta1() {
    token_round_trip(Api::V1beta1).await;
}

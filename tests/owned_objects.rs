//! `resources::owned` against the simulated apiserver: a create never takes over an object
//! that is not its own, adopts what an interrupted create left, and marks its objects
//! created; the owner annotations survive merge patches as a real apiserver keeps them.

use std::time::Duration;

use k0stack::framework::ownership::{self, Owner, LEASE, OWNER, PHASE};
use k0stack::resources::kube_io;
use k0stack::resources::owned::{self, OwnedError};
use k0stack_sim::k8s::{K8sOptions, K8sSim};
use serde_json::json;

async fn sim() -> (K8sSim, kube::Client) {
    let sim = K8sSim::start(K8sOptions {
        ready_delay: Duration::from_millis(50),
        ..Default::default()
    })
    .await
    .expect("sim starts");
    let kc = kube::config::Kubeconfig::from_yaml(&sim.kubeconfig()).expect("kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("config");
    (sim, kube::Client::try_from(cfg).expect("client"))
}

fn config_map(name: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "namespace": "default"}, "data": {"a": "b"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_adopt_and_refuse() {
    let (_sim, client) = sim().await;
    let ar = kube_io::configmap_resource();

    // A new object: ours, marked creating with a lease.
    let c = owned::create_or_adopt(&client, &ar, &config_map("x"), "aaaa")
        .await
        .expect("created");
    assert!(!c.adopted);
    assert_eq!(c.instance, "aaaa");
    let a = &c.object["metadata"]["annotations"];
    assert_eq!(
        (a[OWNER].as_str(), a[PHASE].as_str()),
        (Some("aaaa"), Some("creating"))
    );
    assert!(a[LEASE].as_str().is_some());

    // Our own object again (a create whose answer was lost): returned as is.
    let again = owned::create_or_adopt(&client, &ar, &config_map("x"), "aaaa")
        .await
        .expect("ours");
    assert!(!again.adopted);

    // Marked created: the lease annotation is gone, and another instance cannot take it.
    owned::mark_created(&client, &ar, &c.object, "aaaa")
        .await
        .unwrap();
    let live = kube_io::get(&client, &ar, Some("default"), "x")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live["metadata"]["annotations"][PHASE], "created");
    assert!(
        live["metadata"]["annotations"].get(LEASE).is_none(),
        "{live}"
    );
    match owned::create_or_adopt(&client, &ar, &config_map("x"), "bbbb").await {
        Err(e @ OwnedError::Exists { .. }) => {
            assert!(
                e.to_string()
                    .contains("belongs to another k0stack resource instance (aaaa)"),
                "{e}"
            )
        }
        other => panic!("expected Exists, got {other:?}"),
    }
    assert!(owned::check_ours(&live, Some("bbbb"), None).is_err());
    assert!(owned::check_ours(&live, Some("aaaa"), None).is_ok());

    // An object nobody owns is never taken over.
    kube_io::create(&client, &ar, &config_map("foreign"))
        .await
        .unwrap();
    match owned::create_or_adopt(&client, &ar, &config_map("foreign"), "bbbb").await {
        Err(e @ OwnedError::Exists { owner: None, .. }) => {
            assert!(e.to_string().contains("was not created by k0stack"), "{e}")
        }
        other => panic!("expected Exists, got {other:?}"),
    }

    // What an interrupted create left (lease expired) is adopted, with its instance id.
    let mut left = config_map("interrupted");
    ownership::stamp(
        &mut left,
        &Owner::creating("cccc", ownership::now_secs() - 3600),
    );
    kube_io::create(&client, &ar, &left).await.unwrap();
    let adopted = owned::create_or_adopt(&client, &ar, &config_map("interrupted"), "dddd")
        .await
        .expect("adopted");
    assert!(adopted.adopted);
    assert_eq!(adopted.instance, "cccc");
    let lease: u64 = adopted.object["metadata"]["annotations"][LEASE]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        lease > ownership::now_secs(),
        "the lease is renewed for the adopter"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_create_is_waited_for_then_adopted_when_it_stops_renewing() {
    let (_sim, client) = sim().await;
    let ar = kube_io::configmap_resource();
    // Held by a create whose lease ends in 2 s and is never renewed (it was killed).
    let mut held = config_map("held");
    let now = ownership::now_secs();
    ownership::stamp(&mut held, &Owner::creating("eeee", now));
    held["metadata"]["annotations"][LEASE] = json!((now + 2).to_string());
    kube_io::create(&client, &ar, &held).await.unwrap();
    let start = std::time::Instant::now();
    let c = owned::create_or_adopt(&client, &ar, &config_map("held"), "ffff")
        .await
        .expect("adopted after the lease");
    assert!(c.adopted && c.instance == "eeee");
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_keeper_renews_until_dropped() {
    let (_sim, client) = sim().await;
    let ar = kube_io::configmap_resource();
    let c = owned::create_or_adopt(&client, &ar, &config_map("kept"), "gggg")
        .await
        .unwrap();
    let lease = |o: &serde_json::Value| -> u64 {
        o["metadata"]["annotations"][LEASE]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    let first = lease(&c.object);
    let keeper = owned::LeaseKeeper::start(
        client.clone(),
        vec![(ar.clone(), Some("default".into()), "kept".into())],
    );
    tokio::time::sleep(ownership::LEASE_RENEW + Duration::from_millis(1500)).await;
    let live = kube_io::get(&client, &ar, Some("default"), "kept")
        .await
        .unwrap()
        .unwrap();
    assert!(lease(&live) > first, "renewed: {live}");
    drop(keeper);
}

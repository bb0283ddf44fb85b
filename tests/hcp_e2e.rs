//! e2e: management cluster + hosted control planes with the real Terraform CLI against
//! k0stack-sim's Kubernetes API and k0smotron emulation.

mod support;

use std::time::Duration;

use k0stack_sim::k8s::K8sOptions;
use support::{required_providers, MgmtSim, TfDir};

fn config(version: &str, extra: &str) -> String {
    format!(
        r#"{}
provider "k0stack" {{
  kubernetes {{
    config_path = "${{path.module}}/mgmt.kubeconfig"
  }}
}}

resource "k0stack_management_cluster" "this" {{
  namespace = "kmc-system"
}}

resource "k0stack_hosted_control_plane" "dev" {{
  name                  = "dev"
  management_cluster_id = k0stack_management_cluster.this.id
  k0s_version           = "{version}"
  service {{
    type = "LoadBalancer"
  }}
  timeouts {{
    create = "30s"
    update = "30s"
  }}
}}

resource "k0stack_hosted_control_plane" "staging" {{
  name                  = "staging"
  management_cluster_id = k0stack_management_cluster.this.id
  k0s_version           = "v1.32.6+k0s.0"
  replicas              = 3
  service {{
    type     = "NodePort"
    api_port = 31443
  }}
  storage {{
    type = "etcd"
  }}
}}
{extra}
output "dev_kubeconfig" {{
  value     = k0stack_hosted_control_plane.dev.kubeconfig
  sensitive = true
}}

output "dev_endpoint" {{
  value = k0stack_hosted_control_plane.dev.endpoint
}}

output "mgmt" {{
  # The whole resource holds sensitive attributes (the kubeconfig of a bootstrapped cluster).
  sensitive = true
  value     = k0stack_management_cluster.this
}}
"#,
        required_providers()
    )
}

fn setup(versions: &[&str]) -> (MgmtSim, TfDir) {
    let sim = MgmtSim::start(K8sOptions {
        k0smotron_versions: versions.iter().map(|s| s.to_string()).collect(),
        ready_delay: Duration::from_millis(300),
        ..Default::default()
    });
    let tf = TfDir::new(&config("v1.32.6+k0s.0", ""));
    tf.write("mgmt.kubeconfig", &sim.sim.kubeconfig());
    tf.init();
    (sim, tf)
}

fn lifecycle(versions: &[&str], expected_api: &str) {
    let (sim, tf) = setup(versions);
    tf.apply().assert_ok().assert_no_crash();
    let out = tf.outputs();
    assert_eq!(out["mgmt"]["value"]["k0smotron_api_version"], expected_api);
    assert_eq!(out["mgmt"]["value"]["node_count"], 3);
    let endpoint = out["dev_endpoint"]["value"].as_str().unwrap().to_string();
    assert!(endpoint.starts_with("https://127.20."), "{endpoint}");
    let kubeconfig = out["dev_kubeconfig"]["value"].as_str().unwrap();
    assert!(
        kubeconfig.contains(&endpoint),
        "kubeconfig server rewritten to the endpoint"
    );
    let clusters = sim.list("k0smotron.io", expected_api, "clusters");
    assert_eq!(clusters.len(), 2);

    // The hosted cluster answers with the exported kubeconfig (kube-rs, as kubectl would).
    let hosted_nodes = sim.rt.block_on(async {
        let kc = kube::config::Kubeconfig::from_yaml(kubeconfig).unwrap();
        let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .unwrap();
        let client = kube::Client::try_from(cfg).unwrap();
        client.apiserver_version().await.unwrap().git_version
    });
    assert!(hosted_nodes.starts_with("v1.32.6"), "{hosted_nodes}");
    // And the real kubectl with the kubeconfig output.
    let kc_path = tf.write("dev.kubeconfig", kubeconfig);
    let (ok, stdout, stderr) = support::kubectl(&kc_path, &["get", "namespaces", "-o", "name"]);
    assert!(ok, "kubectl against the hosted cluster failed: {stderr}");
    assert!(stdout.contains("namespace/kube-system"), "{stdout}");

    // Nothing to do on a second plan.
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(0), "second plan not empty:\n{}", plan.all());

    // Upgrade in place.
    tf.write("main.tf", &config("v1.33.1+k0s.0", ""));
    let plan = tf.plan();
    plan.assert_ok()
        .assert_contains("update in-place")
        .assert_contains("1 to change");
    tf.apply().assert_ok();
    let dev = sim
        .list("k0smotron.io", expected_api, "clusters")
        .into_iter()
        .find(|c| c["metadata"]["name"] == "dev")
        .unwrap();
    assert_eq!(dev["spec"]["version"], "v1.33.1+k0s.0");

    // A downgrade is refused at plan time.
    tf.write("main.tf", &config("v1.32.6+k0s.0", ""));
    tf.plan()
        .assert_failed()
        .assert_contains("cannot be downgraded");
    tf.write("main.tf", &config("v1.33.1+k0s.0", ""));

    // Deleted out of band: plan proposes a create, apply repairs.
    {
        let mut store = sim.sim.api.store.lock().unwrap();
        let rt = store
            .find("k0smotron.io", expected_api, "clusters")
            .unwrap();
        store.delete(&rt, "kmc-system", "dev").unwrap();
    }
    // The operator removes its finalizer; wait until the object is really gone.
    for _ in 0..200 {
        if !sim
            .list("k0smotron.io", expected_api, "clusters")
            .iter()
            .any(|c| c["metadata"]["name"] == "dev")
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(2), "{}", plan.all());
    plan.assert_contains("k0stack_hosted_control_plane.dev will be created");
    tf.apply().assert_ok();
    assert_eq!(tf.plan_exit_code().code, Some(0));

    // Destroy leaves nothing behind.
    tf.destroy().assert_ok();
    assert!(sim
        .list("k0smotron.io", expected_api, "clusters")
        .is_empty());
    let namespaces: Vec<String> = sim
        .list("", "v1", "namespaces")
        .iter()
        .map(|n| n["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert!(
        !namespaces.contains(&"kmc-system".to_string()),
        "{namespaces:?}"
    );
}

#[test]
fn lifecycle_with_k0smotron_2_serving_both_versions() {
    lifecycle(&["v1beta2", "v1beta1"], "v1beta2");
}

#[test]
fn lifecycle_with_k0smotron_1_serving_only_v1beta1() {
    lifecycle(&["v1beta1"], "v1beta1");
}

#[test]
fn lifecycle_with_only_v1beta2() {
    lifecycle(&["v1beta2"], "v1beta2");
}

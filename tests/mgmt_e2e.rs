//! e2e: what `k0stack_management_cluster` and `k0stack_hosted_control_plane` do beyond the
//! happy path — readiness timeouts, import, k0smotron installation, credentials, guarded
//! destroy — with the real Terraform CLI against k0stack-sim.

mod support;

use std::time::Duration;

use k0stack_sim::k8s::K8sOptions;
use support::{required_providers, MgmtSim, TfDir};

fn provider(extra: &str) -> String {
    format!(
        "{}\nprovider \"k0stack\" {{\n  kubernetes {{\n    config_path = \"${{path.module}}/mgmt.kubeconfig\"\n  }}\n{extra}\n}}\n",
        required_providers()
    )
}

fn start(opts: K8sOptions, config: &str) -> (MgmtSim, TfDir) {
    let sim = MgmtSim::start(opts);
    let tf = TfDir::new(config);
    tf.write("mgmt.kubeconfig", &sim.sim.kubeconfig());
    tf.init();
    (sim, tf)
}

fn quick() -> K8sOptions {
    K8sOptions {
        ready_delay: Duration::from_millis(200),
        ..Default::default()
    }
}

const MGMT: &str = "resource \"k0stack_management_cluster\" \"this\" {}\n";

#[test]
fn control_plane_that_never_gets_ready_fails_with_the_condition_and_recovers() {
    let hcp = r#"
resource "k0stack_hosted_control_plane" "dev" {
  name                  = "dev"
  management_cluster_id = k0stack_management_cluster.this.id
  k0s_version           = "v1.32.6+k0s.0"
  timeouts {
    create = "3s"
  }
}
"#;
    let (sim, tf) = start(quick(), &format!("{}{MGMT}{hcp}", provider("")));
    sim.sim.operator.knobs.lock().unwrap().never_ready = true;
    let out = tf.apply();
    out.assert_failed();
    out.assert_contains("Hosted control plane not ready")
        .assert_contains("timed out after 3s");
    let squashed = out.all().split_whitespace().collect::<Vec<_>>().join(" ");
    // k0smotron's own words (its Available summary), not a simulator's.
    assert!(squashed.contains("Available=False: IssuesReported: * ControlPlaneFunctional: Waiting for kubeconfig secret to be available"), "{squashed}");
    assert!(
        squashed.contains(
            "It is needed to have at least 1 ready replica to generate the workload kubeconfig"
        ),
        "{squashed}"
    );
    // Nothing leaked: the Cluster is in the state (tainted), not forgotten.
    let state = tf.run(&["state", "list"]);
    state
        .assert_ok()
        .assert_contains("k0stack_hosted_control_plane.dev");
    // The cloud recovers; the next apply converges.
    sim.sim.operator.knobs.lock().unwrap().never_ready = false;
    tf.apply().assert_ok();
    assert_eq!(tf.plan_exit_code().code, Some(0));
    assert_eq!(sim.list("k0smotron.io", "v1beta2", "clusters").len(), 1);
}

#[test]
fn import_then_matching_configuration_plans_nothing() {
    let hcp = r#"
resource "k0stack_hosted_control_plane" "staging" {
  name                  = "staging"
  management_cluster_id = k0stack_management_cluster.this.id
  k0s_version           = "v1.32.6+k0s.0"
  replicas              = 3
  service {
    type     = "NodePort"
    api_port = 31443
  }
  storage {
    type = "etcd"
  }
}
"#;
    let (_sim, tf) = start(quick(), &format!("{}{MGMT}{hcp}", provider("")));
    tf.apply().assert_ok();
    tf.run(&[
        "state",
        "rm",
        "k0stack_hosted_control_plane.staging",
        "k0stack_management_cluster.this",
    ])
    .assert_ok();
    tf.run(&[
        "import",
        "-no-color",
        "-input=false",
        "k0stack_management_cluster.this",
        "k0stack-sim/kmc-system",
    ])
    .assert_ok();
    tf.run(&[
        "import",
        "-no-color",
        "-input=false",
        "k0stack_hosted_control_plane.staging",
        "kmc-system/staging",
    ])
    .assert_ok();
    let plan = tf.plan_exit_code();
    assert_eq!(
        plan.code,
        Some(0),
        "plan after import is not empty:\n{}",
        plan.all()
    );
    // A bad id is a clear error.
    tf.run(&["state", "rm", "k0stack_hosted_control_plane.staging"])
        .assert_ok();
    let bad = tf.run(&[
        "import",
        "-no-color",
        "-input=false",
        "k0stack_hosted_control_plane.staging",
        "staging",
    ]);
    bad.assert_failed();
    bad.assert_contains("import a hosted control plane by <namespace>/<name>");
}

const CRDS: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: k0smotron
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: clusters.k0smotron.io
spec:
  group: k0smotron.io
  scope: Namespaced
  names: {kind: Cluster, plural: clusters, singular: cluster, shortNames: [kmc], listKind: ClusterList}
  versions:
  - {name: v1beta2, served: true, storage: true, subresources: {status: {}}, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
  - {name: v1beta1, served: true, storage: false, subresources: {status: {}}, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: jointokenrequests.k0smotron.io
spec:
  group: k0smotron.io
  scope: Namespaced
  names: {kind: JoinTokenRequest, plural: jointokenrequests, singular: jointokenrequest, shortNames: [jtr], listKind: JoinTokenRequestList}
  versions:
  - {name: v1beta2, served: true, storage: true, subresources: {status: {}}, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: k0smotron-controller-manager
  namespace: k0smotron
spec:
  replicas: 1
  selector: {matchLabels: {app: k0smotron}}
  template:
    metadata: {labels: {app: k0smotron}}
    spec:
      containers: [{name: manager, image: quay.io/k0sproject/k0smotron:v1.10.9}]
"#;

#[test]
fn k0smotron_is_verified_or_installed_from_the_manifest() {
    let (sim, tf) = start(
        K8sOptions {
            k0smotron_versions: vec![],
            ..quick()
        },
        &format!("{}{MGMT}", provider("")),
    );
    let out = tf.apply();
    out.assert_failed()
        .assert_contains("k0smotron is not installed")
        .assert_contains("kubectl apply --server-side");
    tf.write("k0smotron.yaml", CRDS);
    tf.write(
        "main.tf",
        &format!("{}resource \"k0stack_management_cluster\" \"this\" {{\n  k0smotron_manifest = file(\"${{path.module}}/k0smotron.yaml\")\n}}\noutput \"api\" {{\n  value = k0stack_management_cluster.this.k0smotron_api_version\n}}\n", provider("")),
    );
    tf.apply().assert_ok();
    assert_eq!(tf.outputs()["api"]["value"], "v1beta2");
    assert_eq!(sim.list("apps", "v1", "deployments").len(), 1);
    assert_eq!(tf.plan_exit_code().code, Some(0));
    // Destroy uninstalls what it installed, and the namespace it created.
    tf.destroy().assert_ok();
    assert!(sim.list("apps", "v1", "deployments").is_empty());
    let crds: Vec<String> = sim
        .list("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .iter()
        .map(|c| c["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert!(crds.is_empty(), "{crds:?}");
}

#[test]
fn openstack_credentials_are_stored_as_clouds_yaml_and_repaired() {
    let os = r#"  openstack {
    auth_url     = "https://keystone.example.com:5000/v3"
    user_name    = "fleet"
    password     = "credential-must-not-leak"
    project_name = "k8s"
    region       = "RegionOne"
  }"#;
    let mgmt =
        "resource \"k0stack_management_cluster\" \"this\" {\n  openstack_credentials {}\n}\n";
    let (sim, tf) = start(quick(), &format!("{}{mgmt}", provider(os)));
    let out = tf.apply();
    out.assert_ok();
    assert!(!out.all().contains("credential-must-not-leak"));
    let secret = |sim: &MgmtSim| {
        sim.list("", "v1", "secrets")
            .into_iter()
            .find(|s| s["metadata"]["name"] == "openstack-cloud-config")
    };
    let s = secret(&sim).expect("credentials Secret");
    assert_eq!(s["metadata"]["namespace"], "kmc-system");
    use base64::Engine;
    let clouds = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(s["data"]["clouds.yaml"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(
        clouds.contains("auth_url: https://keystone.example.com:5000/v3")
            && clouds.contains("region_name: RegionOne"),
        "{clouds}"
    );
    assert_eq!(tf.plan_exit_code().code, Some(0));
    // Deleted out of band: the plan shows it, apply puts it back.
    {
        let mut store = sim.sim.api.store.lock().unwrap();
        let rt = store.find("", "v1", "secrets").unwrap();
        store
            .delete(&rt, "kmc-system", "openstack-cloud-config")
            .unwrap();
    }
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(2), "{}", plan.all());
    assert!(!plan.all().contains("credential-must-not-leak"));
    tf.apply().assert_ok();
    assert!(secret(&sim).is_some());
}

#[test]
fn destroy_refuses_while_hosted_control_planes_remain_unless_forced() {
    let (sim, tf) = start(quick(), &format!("{}{MGMT}", provider("")));
    tf.apply().assert_ok();
    {
        let mut store = sim.sim.api.store.lock().unwrap();
        let rt = store.find("k0smotron.io", "v1beta2", "clusters").unwrap();
        store.create(&rt, "kmc-system", serde_json::json!({"metadata": {"name": "orphan"}, "spec": {"version": "v1.32.6+k0s.0"}}), "kubectl").unwrap();
    }
    let out = tf.destroy();
    out.assert_failed()
        .assert_contains("Hosted control planes still exist")
        .assert_contains("orphan")
        .assert_contains("force_destroy");
    tf.write(
        "main.tf",
        &format!(
            "{}resource \"k0stack_management_cluster\" \"this\" {{\n  force_destroy = true\n}}\n",
            provider("")
        ),
    );
    tf.apply().assert_ok();
    tf.destroy().assert_ok();
    assert!(sim.list("k0smotron.io", "v1beta2", "clusters").is_empty());
}

#[test]
fn a_management_api_that_keeps_failing_gives_a_clear_error_in_seconds() {
    let (sim, tf) = start(quick(), &format!("{}{MGMT}", provider("")));
    tf.apply().assert_ok();
    sim.sim.api.faults.lock().unwrap().error_503 = 1.0;
    let started = std::time::Instant::now();
    let out = tf.plan();
    let took = started.elapsed();
    out.assert_failed()
        .assert_contains("Cannot read the management cluster")
        .assert_contains("simulated 503");
    assert!(
        took < Duration::from_secs(30),
        "bounded retries, took {took:?}"
    );
    // The API comes back: the next plan is clean again.
    sim.sim.api.faults.lock().unwrap().error_503 = 0.0;
    assert_eq!(tf.plan_exit_code().code, Some(0));
}

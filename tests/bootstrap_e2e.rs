//! e2e: `k0stack_management_cluster { bootstrap { ... } }` with the real Terraform CLI
//! against k0stack-sim, from an empty simulated cloud: one apply creates the management
//! cluster on VMs, a hosted control plane in it and a pool of workers joining that.

mod support;

use std::sync::Mutex;

use support::{kubectl, node_ready, CloudSim, TfDir};

/// Controllers listen on `<vm ip>:6443` and every simulated cloud hands out the same
/// first addresses: the tests that boot controllers take turns.
static VMS: Mutex<()> = Mutex::new(());

const NS: &str = "kmc-system";

fn provider() -> String {
    format!(
        "{}\nprovider \"k0stack\" {{\n  openstack {{\n    cloud       = \"k0stack-sim\"\n    clouds_yaml = \"${{path.module}}/clouds.yaml\"\n  }}\n}}\n",
        support::required_providers()
    )
}

fn config(bootstrap: &str) -> String {
    format!(
        r#"{provider}
resource "k0stack_management_cluster" "this" {{
  namespace = "{NS}"
  bootstrap {{
    {bootstrap}
    flavor            = "m1.large"
    image             = "ubuntu-24.04"
    networks          = ["private"]
    security_groups   = ["k0s-worker"]
    k0s_version       = "v1.32.6+k0s.0"
    k0smotron_version = "v1.5.0"
  }}
  timeouts {{
    create = "2m"
    update = "2m"
    delete = "2m"
  }}
}}

resource "k0stack_hosted_control_plane" "dev" {{
  name                  = "dev"
  management_cluster_id = k0stack_management_cluster.this.id
  management_kubeconfig = k0stack_management_cluster.this.kubeconfig
  k0s_version           = "v1.32.6+k0s.0"
  service {{
    type = "NodePort"
  }}
}}

resource "k0stack_worker_pool" "general" {{
  name                    = "general"
  hosted_control_plane_id = k0stack_hosted_control_plane.dev.id
  management_kubeconfig   = k0stack_management_cluster.this.kubeconfig
  size                    = 2
  flavor                  = "m1.small"
  image                   = "ubuntu-24.04"
  networks                = ["private"]
  security_groups         = ["k0s-worker"]
  timeouts {{
    create = "2m"
    update = "2m"
    delete = "2m"
  }}
}}

output "kubeconfig" {{
  value     = k0stack_management_cluster.this.kubeconfig
  sensitive = true
}}

output "endpoint" {{
  value = k0stack_management_cluster.this.endpoint
}}

output "members" {{
  value = k0stack_management_cluster.this.members
}}

output "ready_count" {{
  value = k0stack_worker_pool.general.ready_count
}}
"#,
        provider = provider()
    )
}

fn setup(bootstrap: &str) -> (CloudSim, TfDir) {
    let cloud = CloudSim::start();
    let tf = TfDir::new(&config(bootstrap));
    tf.write("clouds.yaml", &cloud.os.clouds_yaml());
    tf.init();
    (cloud, tf)
}

/// Servers not being deleted.
fn live_servers(cloud: &CloudSim) -> Vec<k0stack_sim::openstack::ServerView> {
    cloud
        .servers()
        .into_iter()
        .filter(|s| !s.deleting && s.status != "DELETED")
        .collect()
}

fn controllers(cloud: &CloudSim) -> Vec<k0stack_sim::openstack::ServerView> {
    live_servers(cloud)
        .into_iter()
        .filter(|s| s.name.contains("-controller-"))
        .collect()
}

/// The one bootstrapped cluster of the simulator.
fn bootstrapped(cloud: &CloudSim) -> std::sync::Arc<k0stack_sim::k8s::bootstrap::Bootstrapped> {
    let b = cloud.k8s.bootstrapper.as_ref().expect("bootstrapper");
    let clusters = b.clusters.lock().unwrap();
    assert_eq!(clusters.len(), 1, "one bootstrapped cluster");
    clusters[0].clone()
}

fn ready_workers(cloud: &CloudSim) -> usize {
    let c = bootstrapped(cloud);
    let Some(h) = c.sim.operator.hosted_for(NS, "dev") else {
        return 0;
    };
    let store = h.api.store.lock().unwrap();
    let rt = store.find("", "v1", "nodes").expect("nodes");
    store
        .list(&rt, None, None)
        .iter()
        .filter(|n| node_ready(n))
        .count()
}

/// Nodes of the bootstrapped (management) cluster, by name, with readiness.
fn management_nodes(cloud: &CloudSim) -> Vec<(String, bool)> {
    let c = bootstrapped(cloud);
    let store = c.sim.api.store.lock().unwrap();
    let rt = store.find("", "v1", "nodes").expect("nodes");
    store
        .list(&rt, None, None)
        .iter()
        .map(|n| {
            (
                n["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                node_ready(n),
            )
        })
        .collect()
}

fn kubectl_works(cloud: &CloudSim, tf: &TfDir, expect_nodes: usize) {
    let kc = tf.outputs()["kubeconfig"]["value"]
        .as_str()
        .expect("kubeconfig output")
        .to_string();
    let path = tf.write("bootstrapped.kubeconfig", &kc);
    let (ok, out, err) = kubectl(&path, &["get", "nodes", "-o", "name"]);
    assert!(ok, "kubectl with the kubeconfig output: {err}");
    assert_eq!(out.lines().count(), expect_nodes, "{out}");
    for c in controllers(cloud) {
        assert!(out.contains(&c.name), "{} in {out}", c.name);
    }
    let (ok, out, err) = kubectl(&path, &["get", "clusters.k0smotron.io", "-A"]);
    assert!(ok, "{err}");
    assert!(out.contains("dev"), "{out}");
}

fn one_apply_then_empty_plan_then_destroy(controllers_wanted: usize, bootstrap: &str) {
    let _turn = VMS.lock().unwrap_or_else(|e| e.into_inner());
    let (cloud, tf) = setup(bootstrap);
    assert!(cloud.servers().is_empty(), "the cloud starts empty");

    tf.apply().assert_ok();
    let ctrl = controllers(&cloud);
    assert_eq!(ctrl.len(), controllers_wanted);
    assert_eq!(tf.outputs()["ready_count"]["value"], 2);
    assert_eq!(ready_workers(&cloud), 2);
    let nodes = management_nodes(&cloud);
    assert_eq!(nodes.len(), controllers_wanted);
    assert!(nodes.iter().all(|(_, r)| *r), "{nodes:?}");
    let endpoint = tf.outputs()["endpoint"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(endpoint.ends_with(":6443"), "{endpoint}");
    assert_eq!(
        tf.outputs()["members"]["value"].as_array().unwrap().len(),
        controllers_wanted
    );
    if controllers_wanted == 3 {
        let groups: std::collections::BTreeSet<&String> =
            ctrl.iter().flat_map(|s| &s.server_groups).collect();
        assert_eq!(groups.len(), 1, "one server group for the controllers");
        let hosts: std::collections::BTreeSet<Option<&String>> =
            ctrl.iter().map(|s| s.host.as_ref()).collect();
        assert_eq!(hosts.len(), 3, "anti-affinity: three hosts");
    } else {
        assert!(ctrl[0].server_groups.is_empty());
    }
    // No secret but the CA and the join token travel to the VMs, and only in user_data.
    for s in &ctrl {
        let ud = s.user_data.as_deref().unwrap_or_default();
        assert!(ud.starts_with("#cloud-config"));
    }
    kubectl_works(&cloud, &tf, controllers_wanted);

    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(0), "second plan is empty:\n{}", plan.all());

    // A hosted control plane this configuration does not know keeps the cluster alive.
    let kc = tf.path().join("bootstrapped.kubeconfig");
    let stray = tf.write(
        "stray.yaml",
        &format!("apiVersion: k0smotron.io/v1beta1\nkind: Cluster\nmetadata:\n  name: stray\n  namespace: {NS}\nspec: {{}}\n"),
    );
    let (ok, _, err) = kubectl(
        &kc,
        &["apply", "--validate=false", "-f", stray.to_str().unwrap()],
    );
    assert!(ok, "{err}");
    tf.destroy()
        .assert_failed()
        .assert_contains("Hosted control planes still exist")
        .assert_contains("stray");
    assert_eq!(
        controllers(&cloud).len(),
        controllers_wanted,
        "nothing deleted"
    );
    let (ok, _, err) = kubectl(
        &kc,
        &["delete", "-f", stray.to_str().unwrap(), "--wait=false"],
    );
    assert!(ok, "{err}");
    // So does one in another namespace: deleting the VMs would delete it too.
    let other = tf.write(
        "other.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: other-team\n---\napiVersion: k0smotron.io/v1beta1\nkind: Cluster\nmetadata:\n  name: theirs\n  namespace: other-team\nspec: {}\n",
    );
    let (ok, _, err) = kubectl(
        &kc,
        &["apply", "--validate=false", "-f", other.to_str().unwrap()],
    );
    assert!(ok, "{err}");
    tf.destroy()
        .assert_failed()
        .assert_contains("Hosted control planes still exist")
        .assert_contains("other-team/theirs");
    let (ok, _, err) = kubectl(
        &kc,
        &[
            "-n",
            "other-team",
            "delete",
            "clusters.k0smotron.io",
            "theirs",
            "--wait=false",
        ],
    );
    assert!(ok, "{err}");
    cloud.wait_for("the stray control planes to be deleted", || {
        let c = bootstrapped(&cloud);
        c.sim.operator.hosted_for(NS, "stray").is_none()
            && c.sim.operator.hosted_for("other-team", "theirs").is_none()
    });

    tf.destroy().assert_ok();
    cloud.wait_for("every server to be gone", || {
        live_servers(&cloud).is_empty()
    });
}

#[test]
fn one_controller_one_apply_builds_everything() {
    one_apply_then_empty_plan_then_destroy(1, "");
}

#[test]
fn three_controllers_with_anti_affinity_and_a_deleted_controller_rejoins() {
    let _turn = VMS.lock().unwrap_or_else(|e| e.into_inner());
    let (cloud, tf) = setup("controllers = 3");
    tf.apply().assert_ok();
    let ctrl = controllers(&cloud);
    assert_eq!(ctrl.len(), 3);
    let hosts: std::collections::BTreeSet<Option<&String>> =
        ctrl.iter().map(|s| s.host.as_ref()).collect();
    assert_eq!(hosts.len(), 3, "anti-affinity: three hosts");
    assert_eq!(ready_workers(&cloud), 2);
    kubectl_works(&cloud, &tf, 3);
    assert_eq!(tf.plan_exit_code().code, Some(0));

    // Out of band: one controller is deleted. The plan shows it, apply replaces it and the
    // new server rejoins the cluster.
    let victim = ctrl
        .iter()
        .find(|s| s.name.ends_with("-controller-2"))
        .expect("controller 2")
        .clone();
    cloud.delete_server_out_of_band(&victim.id);
    cloud.wait_for("the controller to be gone", || {
        controllers(&cloud).iter().all(|s| s.id != victim.id)
    });
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(2), "{}", plan.all());
    plan.assert_contains("k0stack_management_cluster.this will be updated in-place");
    tf.apply().assert_ok();
    let now = controllers(&cloud);
    assert_eq!(now.len(), 3);
    let replacement = now
        .iter()
        .find(|s| s.name.ends_with("-controller-2"))
        .expect("a new controller 2");
    assert_ne!(replacement.id, victim.id);
    assert!(replacement
        .user_data
        .as_deref()
        .unwrap_or_default()
        .contains("--token-file"));
    let nodes = management_nodes(&cloud);
    assert!(
        nodes.iter().any(|(n, r)| n == &replacement.name && *r),
        "{nodes:?}"
    );
    assert_eq!(bootstrapped(&cloud).member_ids().len(), 3);
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(0), "{}", plan.all());

    // Destroy order: pool, control plane, then the cluster's VMs and server group.
    tf.destroy().assert_ok();
    cloud.wait_for("every server to be gone", || {
        live_servers(&cloud).is_empty()
    });
}

#[test]
fn bad_inputs_are_clear_diagnostics() {
    // controllers = 2
    let (cloud, tf) = setup("controllers = 2");
    tf.plan()
        .assert_failed()
        .assert_contains("Invalid number of controllers")
        .assert_contains("use 1");
    // An unknown flavor fails the plan at bootstrap.flavor.
    tf.write(
        "main.tf",
        &config("").replace("\"m1.large\"", "\"m1.huge\""),
    );
    tf.plan()
        .assert_failed()
        .assert_contains("Unknown flavor")
        .assert_contains("m1.huge");
    // bootstrap together with a kubeconfig connection.
    tf.write("mgmt.kubeconfig", &cloud.k8s.kubeconfig());
    tf.write(
        "main.tf",
        &config("").replace(
            "  openstack {",
            "  kubernetes {\n    config_path = \"${path.module}/mgmt.kubeconfig\"\n  }\n  openstack {",
        ),
    );
    tf.plan()
        .assert_failed()
        .assert_contains("bootstrap and a management cluster connection are mutually exclusive");
    assert!(cloud.servers().is_empty(), "nothing was created");
}

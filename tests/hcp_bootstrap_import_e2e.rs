//! e2e (real Terraform CLI, k0stack-sim): import of a hosted control plane in the bootstrap
//! setup (issue 13 item 7). The provider has no `kubernetes` block; the control plane takes
//! `management_kubeconfig = k0stack_management_cluster.this.kubeconfig`. Terraform passes
//! only the id to an import, so the connection comes from K0STACK_MANAGEMENT_KUBECONFIG.

mod support;

use support::identity as id;
use support::{CloudSim, TfDir};

const NS: &str = "kmc-system";
const ADDR: &str = "k0stack_hosted_control_plane.dev";

fn config() -> String {
    format!(
        r#"{}
provider "k0stack" {{
  openstack {{
    cloud       = "k0stack-sim"
    clouds_yaml = "${{path.module}}/clouds.yaml"
  }}
}}

resource "k0stack_management_cluster" "this" {{
  namespace = "{NS}"
  bootstrap {{
    flavor            = "m1.large"
    image             = "ubuntu-24.04"
    networks          = ["private"]
    security_groups   = ["k0s-worker"]
    k0s_version       = "v1.32.6+k0s.0"
    k0smotron_version = "v1.5.0"
  }}
  timeouts {{
    create = "2m"
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

output "kubeconfig" {{
  value     = k0stack_management_cluster.this.kubeconfig
  sensitive = true
}}
"#,
        support::required_providers()
    )
}

/// The bootstrapped management cluster of the simulated cloud.
fn bootstrapped(cloud: &CloudSim) -> std::sync::Arc<k0stack_sim::k8s::bootstrap::Bootstrapped> {
    let b = cloud.k8s.bootstrapper.as_ref().expect("bootstrapper");
    let clusters = b.clusters.lock().unwrap();
    assert_eq!(clusters.len(), 1, "one bootstrapped cluster");
    clusters[0].clone()
}

/// The resource changes of a saved plan that are not no-ops: (address, actions, attributes
/// whose value changes or becomes unknown).
fn changes(tf: &TfDir) -> Vec<(String, String, Vec<String>)> {
    tf.run(&["plan", "-no-color", "-input=false", "-out=import.plan"])
        .assert_ok();
    let show = tf.run(&["show", "-json", "import.plan"]);
    show.assert_ok();
    let plan: serde_json::Value = serde_json::from_str(&show.stdout).expect("plan JSON");
    plan["resource_changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["change"]["actions"] != serde_json::json!(["no-op"]))
        .map(|c| {
            let (before, after) = (&c["change"]["before"], &c["change"]["after"]);
            let unknown = &c["change"]["after_unknown"];
            let mut keys: Vec<String> = after
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, v)| before.get(k.as_str()) != Some(v))
                .map(|(k, _)| k.clone())
                .chain(
                    unknown
                        .as_object()
                        .into_iter()
                        .flatten()
                        .filter(|(_, u)| **u == serde_json::json!(true))
                        .map(|(k, _)| k.clone()),
                )
                .collect();
            keys.sort();
            (
                c["address"].as_str().unwrap_or_default().to_string(),
                c["change"]["actions"].to_string(),
                keys,
            )
        })
        .collect()
}

#[test]
fn import_in_the_bootstrap_setup_reads_the_kubeconfig_from_the_environment() {
    let cloud = CloudSim::start();
    let mut tf = TfDir::new(&config());
    tf.write("clouds.yaml", &cloud.os.clouds_yaml());
    tf.init();
    tf.apply().assert_ok();
    let out = tf.run(&["output", "-raw", "kubeconfig"]);
    out.assert_ok();
    tf.write("mgmt.kubeconfig", &out.stdout);
    let mgmt = bootstrapped(&cloud);
    let cluster_uid = id::kube_system_uid(&mgmt.sim);
    let uid = id::clusters(&mgmt.sim)[0]["metadata"]["uid"].clone();
    tf.run(&["state", "rm", ADDR]).assert_ok();

    // Without a connection: the error says exactly what to do.
    let out = tf.run(&[
        "import",
        "-no-color",
        "-input=false",
        ADDR,
        "kmc-system/dev",
    ]);
    out.assert_failed()
        .assert_contains("No management cluster for import")
        .assert_contains("terraform output -raw <kubeconfig output> > mgmt.kubeconfig")
        .assert_contains("K0STACK_MANAGEMENT_KUBECONFIG=mgmt.kubeconfig terraform import <address> kmc-system/dev");

    tf.set_env("K0STACK_MANAGEMENT_KUBECONFIG", "mgmt.kubeconfig");
    tf.run(&[
        "import",
        "-no-color",
        "-input=false",
        ADDR,
        "kmc-system/dev",
    ])
    .assert_ok();
    tf.remove_env("K0STACK_MANAGEMENT_KUBECONFIG");
    let a = id::attributes(&tf, ADDR).expect("imported");
    assert_eq!(a["management_cluster_id"], format!("{cluster_uid}/{NS}"));
    assert_eq!(a["management_cluster_uid"], cluster_uid.as_str());
    assert_eq!(a["uid"], uid);
    let live = id::clusters(&mgmt.sim).remove(0);
    assert_eq!(
        id::cluster_owner(&mgmt.sim, &live).0.as_deref(),
        a["instance_id"].as_str(),
        "claimed"
    );

    // The kubeconfig is recorded as written, so no value changes. Terraform 1.0 still plans
    // one in-place update: the configuration's value is marked sensitive (it comes from the
    // management cluster's sensitive kubeconfig) and the imported one carries no mark yet
    // ("The value is unchanged"). Its apply only records the mark: no request writes to the
    // management cluster.
    let mgmt_id = id::attributes(&tf, "k0stack_management_cluster.this").expect("mgmt")["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(mgmt_id, format!("{cluster_uid}/{NS}"));
    assert_eq!(
        changes(&tf),
        vec![(ADDR.to_string(), r#"["update"]"#.to_string(), vec![])],
        "only the sensitivity mark"
    );
    tf.plan()
        .assert_ok()
        .assert_contains("management_kubeconfig = (sensitive value)")
        .assert_contains("The value is unchanged");
    let writes = id::writes(&mgmt.sim);
    tf.apply().assert_ok();
    assert_eq!(
        id::writes(&mgmt.sim),
        writes,
        "no write to the management cluster"
    );
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(0), "{}", plan.all());
    assert_eq!(
        id::clusters(&mgmt.sim)[0]["metadata"]["uid"],
        uid,
        "the same control plane"
    );

    tf.destroy().assert_ok();
    cloud.wait_for("every server to be gone", || {
        cloud
            .servers()
            .iter()
            .all(|s| s.deleting || s.status == "DELETED")
    });
}

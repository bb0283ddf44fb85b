//! e2e (issue 13, item 7, the pool's side): import of a worker pool in the bootstrap setup.
//! The provider has no `kubernetes` block; the pool takes `management_kubeconfig =
//! k0stack_management_cluster.this.kubeconfig`; Terraform passes only the id to an import,
//! so the connection comes from K0STACK_MANAGEMENT_KUBECONFIG, and the first plan is empty.

mod support;

use support::{CloudSim, TfDir};

const ADDR: &str = "k0stack_worker_pool.general";

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
  namespace = "kmc-system"
  bootstrap {{
    flavor            = "m1.large"
    image             = "ubuntu-24.04"
    networks          = ["private"]
    security_groups   = ["k0s-worker"]
    k0s_version       = "v1.32.6+k0s.0"
    k0smotron_version = "v1.5.0"
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
  size                    = 1
  flavor                  = "m1.small"
  image                   = "ubuntu-24.04"
  networks                = ["private"]
}}

output "kubeconfig" {{
  value     = k0stack_management_cluster.this.kubeconfig
  sensitive = true
}}
"#,
        support::required_providers()
    )
}

#[test]
fn pool_import_in_the_bootstrap_setup_reads_the_kubeconfig_from_the_environment() {
    let cloud = CloudSim::start();
    let mut tf = TfDir::new(&config());
    tf.write("clouds.yaml", &cloud.os.clouds_yaml());
    tf.init();
    tf.apply().assert_ok();
    let out = tf.run(&["output", "-raw", "kubeconfig"]);
    out.assert_ok();
    tf.write("mgmt.kubeconfig", &out.stdout);
    tf.run(&["state", "rm", ADDR]).assert_ok();

    let out = tf.run(&["import", "-no-color", ADDR, "kmc-system/dev/general"]);
    out.assert_failed()
        .assert_contains("No management cluster for import")
        .assert_contains("K0STACK_MANAGEMENT_KUBECONFIG=mgmt.kubeconfig terraform import");

    tf.set_env("K0STACK_MANAGEMENT_KUBECONFIG", "mgmt.kubeconfig");
    tf.run(&["import", "-no-color", ADDR, "kmc-system/dev/general"])
        .assert_ok();
    tf.remove_env("K0STACK_MANAGEMENT_KUBECONFIG");
    // Terraform's import cannot know that the recorded kubeconfig is sensitive: the only
    // change is that mark ("The value is unchanged"), no member change.
    let before: Vec<String> = cloud
        .servers()
        .into_iter()
        .filter(|s| !s.deleting)
        .map(|s| s.id)
        .collect();
    let plan = tf.plan();
    plan.assert_ok().assert_contains("The value is unchanged");
    assert!(!plan.all().contains("members"), "{}", plan.all());
    tf.apply().assert_ok();
    let after: Vec<String> = cloud
        .servers()
        .into_iter()
        .filter(|s| !s.deleting)
        .map(|s| s.id)
        .collect();
    assert_eq!(before, after, "nothing was replaced");
    let plan = tf.plan_exit_code();
    assert_eq!(
        plan.code,
        Some(0),
        "the imported pool plans nothing:\n{}",
        plan.all()
    );
    tf.destroy().assert_ok();
    cloud.wait_for("every server to be gone", || {
        cloud
            .servers()
            .iter()
            .all(|s| s.deleting || s.status == "DELETED")
    });
}

//! e2e (issue 14 item 4): provider connection settings unknown at plan — taken from a
//! resource that the same apply creates — follow one rule: configure succeeds, resources
//! plan without remote calls (what needs the connection is known after apply), nothing
//! falls back to another value, and apply uses the final values. Real Terraform CLI
//! against k0stack-sim; the unknown value is a `k0stack_management_cluster`'s
//! `instance_id` (Terraform 1.0.3 has no terraform_data, and the tests' mirror holds only
//! this provider), managed through a second provider configuration whose settings are
//! known.

mod support;

use support::plans::{assert_consistent_apply, assert_plan_empty};
use support::{CloudSim, TfDir};

/// `""` once the source resource exists, unknown until then.
const LATER: &str = "${substr(k0stack_management_cluster.src.instance_id, 0, 0)}";

/// The provider configuration `src` (known settings) and the resource the unknown value
/// comes from.
fn source() -> String {
    r#"
provider "k0stack" {
  alias = "src"
  kubernetes {
    config_path = "${path.module}/mgmt.kubeconfig"
  }
}

resource "k0stack_management_cluster" "src" {
  provider  = k0stack.src
  namespace = "source"
}
"#
    .to_string()
}

const FLEET: &str = r#"
resource "k0stack_management_cluster" "this" {
  namespace = "kmc-system"
  openstack_credentials {}
}

resource "k0stack_hosted_control_plane" "dev" {
  name                  = "dev"
  management_cluster_id = k0stack_management_cluster.this.id
  k0s_version           = "v1.32.6+k0s.0"
  service {
    type = "NodePort"
  }
}
"#;

const POOL: &str = r#"
resource "k0stack_worker_pool" "general" {
  name                    = "general"
  hosted_control_plane_id = k0stack_hosted_control_plane.dev.id
  size                    = 1
  flavor                  = "m1.small"
  image                   = "ubuntu-24.04"
  networks                = ["private"]
}
"#;

fn dir(cloud: &CloudSim, provider: &str, resources: &str) -> TfDir {
    let tf = TfDir::new(&main_tf(&source(), provider, resources));
    cloud.write_files(&tf);
    tf.init();
    tf
}

fn main_tf(source: &str, provider: &str, resources: &str) -> String {
    format!(
        "{}{source}{provider}{resources}",
        support::required_providers()
    )
}

/// `openstack.region` unknown at plan: the plan shows the stored credentials' region and
/// the pool's image id as known after apply (before: clouds.yaml's region, silently), and
/// apply stores the final region and builds the pool.
#[test]
fn an_unknown_openstack_region_plans_without_the_cloud_and_applies_the_final_value() {
    let cloud = CloudSim::start();
    let provider = format!(
        r#"
provider "k0stack" {{
  kubernetes {{
    config_path = "${{path.module}}/mgmt.kubeconfig"
  }}
  openstack {{
    cloud       = "k0stack-sim"
    clouds_yaml = "${{path.module}}/clouds.yaml"
    region      = "RegionOne{LATER}"
  }}
}}
"#
    );
    let tf = dir(&cloud, &provider, &format!("{FLEET}{POOL}"));
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(2), "the plan succeeds:\n{}", plan.all());
    plan.assert_contains("region = (known after apply)");
    plan.assert_contains("image_id = (known after apply)");
    assert!(
        !plan.all().contains("Warning"),
        "no warning that needs the cloud:\n{}",
        plan.all()
    );
    let out = tf.apply();
    assert_consistent_apply(&out);
    out.assert_ok();
    let st = support::mgmt::attributes(&tf, "k0stack_management_cluster", "this");
    assert_eq!(st["openstack_credentials"][0]["region"], "RegionOne");
    assert_eq!(cloud.servers().iter().filter(|s| !s.deleting).count(), 1);
    assert_plan_empty(&tf);
}

/// A `kubernetes` setting unknown at plan: before, the plan failed ("depends on values not
/// known yet"); now the management cluster plans its endpoint as known after apply and
/// apply reaches the cluster with the final kubeconfig path.
#[test]
fn an_unknown_kubernetes_setting_plans_without_the_cluster_and_applies_the_final_value() {
    let cloud = CloudSim::start();
    let provider = format!(
        r#"
provider "k0stack" {{
  kubernetes {{
    config_path = "${{path.module}}/mgmt.kubeconfig{LATER}"
  }}
  openstack {{
    cloud       = "k0stack-sim"
    clouds_yaml = "${{path.module}}/clouds.yaml"
  }}
}}
"#
    );
    let tf = dir(&cloud, &provider, FLEET);
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(2), "the plan succeeds:\n{}", plan.all());
    plan.assert_contains("endpoint = (known after apply)");
    let out = tf.apply();
    assert_consistent_apply(&out);
    out.assert_ok();
    let st = support::mgmt::attributes(&tf, "k0stack_management_cluster", "this");
    assert!(
        st["endpoint"]
            .as_str()
            .unwrap_or_default()
            .starts_with("https://127.0.0.1:"),
        "{st}"
    );
    assert!(cloud
        .k8s
        .operator
        .cluster_uid("kmc-system", "dev")
        .is_some());
    assert_plan_empty(&tf);
}

/// An existing fleet whose provider setting becomes unknown again (the resource it comes
/// from changes in this apply): the plan neither refreshes nor looks anything up — no
/// "No OpenStack cloud" error from a refresh — and apply uses the final values; nothing
/// is rolled.
#[test]
fn a_fleet_whose_region_becomes_unknown_again_plans_and_applies() {
    let cloud = CloudSim::start();
    let later = "${substr(tostring(k0stack_management_cluster.src.node_count), 0, 0)}";
    let provider = format!(
        r#"
provider "k0stack" {{
  kubernetes {{
    config_path = "${{path.module}}/mgmt.kubeconfig"
  }}
  openstack {{
    cloud       = "k0stack-sim"
    clouds_yaml = "${{path.module}}/clouds.yaml"
    region      = "RegionOne{later}"
  }}
}}
"#
    );
    let resources = format!("{FLEET}{POOL}");
    let tf = dir(&cloud, &provider, &resources);
    tf.apply().assert_ok();
    let servers: Vec<String> = cloud.servers().into_iter().map(|s| s.id).collect();
    // Any change of src leaves its node_count unknown until apply.
    let changed = source().replace(
        "namespace = \"source\"",
        "namespace = \"source\"\n  force_destroy = true",
    );
    tf.write("main.tf", &main_tf(&changed, &provider, &resources));
    let plan = tf.plan();
    plan.assert_ok();
    plan.assert_contains("region = \"RegionOne\" -> (known after apply)");
    let out = tf.apply();
    assert_consistent_apply(&out);
    out.assert_ok();
    let now: Vec<String> = cloud
        .servers()
        .into_iter()
        .filter(|s| !s.deleting)
        .map(|s| s.id)
        .collect();
    assert_eq!(now, servers, "nothing rolled");
    assert_plan_empty(&tf);
}

//! e2e (issue 14, `k0stack_management_cluster`): plans that hold, with the real Terraform
//! CLI against k0stack-sim — a saved plan applied after an out-of-band change, an apply
//! without refresh after drift, arguments unknown until apply, order-free sets, removed
//! optional arguments planning their defaults, and drift of what it installed.

mod support;

use std::sync::Mutex;
use std::time::Duration;

use k0stack_sim::k8s::K8sOptions;
use support::mgmt::{self, connected_provider, dir_on, management_cluster};
use support::plans::{self, assert_consistent_apply, assert_plan_empty};
use support::{CloudSim, MgmtSim, TfDir};

const ADDR: &str = "k0stack_management_cluster";

fn sim() -> MgmtSim {
    MgmtSim::start(K8sOptions {
        ready_delay: Duration::from_millis(200),
        ..Default::default()
    })
}

fn connected(sim: &MgmtSim, body: &str) -> TfDir {
    dir_on(
        sim,
        &format!(
            "{}{}",
            connected_provider("mgmt.kubeconfig", ""),
            management_cluster("this", "kmc-system", body)
        ),
    )
}

fn rewrite(tf: &TfDir, body: &str) {
    tf.write(
        "main.tf",
        &format!(
            "{}{}",
            connected_provider("mgmt.kubeconfig", ""),
            management_cluster("this", "kmc-system", body)
        ),
    );
}

fn node_count(tf: &TfDir) -> i64 {
    mgmt::attributes(tf, ADDR, "this")["node_count"]
        .as_i64()
        .expect("node_count")
}

/// Issue 14 item 2: a node joins between `plan -out` and `apply` of that plan. The plan
/// leaves what apply reads back (`node_count`, `kubernetes_version`) unknown, so the
/// saved plan applies as saved.
#[test]
fn a_saved_plan_applies_after_a_node_joined() {
    let sim = sim();
    let tf = connected(&sim, "");
    tf.apply().assert_ok();
    assert_eq!(node_count(&tf), 3);
    rewrite(&tf, "  force_destroy = true");
    let plan = plans::plan_out(&tf, "change.tfplan");
    plan.assert_contains("node_count");
    plan.assert_contains("(known after apply)");
    plans::add_node(&sim.sim.api.store, "joined-after-the-plan");
    let out = plans::apply_saved(&tf, "change.tfplan");
    assert_consistent_apply(&out);
    out.assert_ok();
    assert_eq!(node_count(&tf), 4);
    assert_plan_empty(&tf);
}

/// Issue 14 item 2: `apply -refresh=false` after a node joined (the state still says 3).
#[test]
fn apply_without_refresh_after_drift() {
    let sim = sim();
    let tf = connected(&sim, "");
    tf.apply().assert_ok();
    plans::add_node(&sim.sim.api.store, "joined-out-of-band");
    rewrite(&tf, "  force_destroy = true");
    let out = plans::apply_without_refresh(&tf);
    assert_consistent_apply(&out);
    out.assert_ok();
    assert_eq!(node_count(&tf), 4);
    assert_plan_empty(&tf);
}

/// Issue 14 item 2: nothing to do is nothing planned, even though the cluster changed
/// (a computed value refreshed is no change).
#[test]
fn a_no_op_plan_stays_empty_after_a_node_joined() {
    let sim = sim();
    let tf = connected(&sim, "");
    tf.apply().assert_ok();
    plans::add_node(&sim.sim.api.store, "joined");
    assert_plan_empty(&tf);
}

/// Issue 14 item 7: removing an optional argument plans its documented default, and
/// apply records it (`force_destroy`, `openstack_credentials.secret_name`).
#[test]
fn removed_optional_arguments_plan_their_defaults() {
    let sim = sim();
    let creds = |name: &str| {
        format!(
            "  force_destroy = true\n  openstack_credentials {{\n    {name}\n    clouds_yaml = file(\"${{path.module}}/clouds.yaml\")\n  }}"
        )
    };
    let tf = connected(&sim, &creds("secret_name = \"fleet-credentials\""));
    tf.write(
        "clouds.yaml",
        "clouds:\n  openstack:\n    auth: {auth_url: https://keystone.example.com/v3, username: ci-bot, password: pw, project_name: k8s}\n    region_name: RegionOne\n",
    );
    tf.apply().assert_ok();
    assert!(mgmt::get(&sim, "", "v1", "secrets", "kmc-system", "fleet-credentials").is_some());
    tf.write(
        "main.tf",
        &format!(
            "{}{}",
            connected_provider("mgmt.kubeconfig", ""),
            management_cluster(
                "this",
                "kmc-system",
                "  openstack_credentials {\n    clouds_yaml = file(\"${path.module}/clouds.yaml\")\n  }"
            )
        ),
    );
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(2), "a change:\n{}", plan.all());
    plan.assert_contains("force_destroy = true -> false");
    plan.assert_contains("\"fleet-credentials\" -> \"openstack-cloud-config\"");
    let out = tf.apply();
    assert_consistent_apply(&out);
    out.assert_ok();
    let st = mgmt::attributes(&tf, ADDR, "this");
    assert_eq!(st["force_destroy"], false);
    assert_eq!(
        st["openstack_credentials"][0]["secret_name"],
        "openstack-cloud-config"
    );
    assert!(mgmt::get(
        &sim,
        "",
        "v1",
        "secrets",
        "kmc-system",
        "openstack-cloud-config"
    )
    .is_some());
    assert!(mgmt::get(&sim, "", "v1", "secrets", "kmc-system", "fleet-credentials").is_none());
    assert_plan_empty(&tf);
}

/// Issue 14 item 7: removing `namespace` plans its default `kmc-system` (a replacement:
/// the namespace forces one).
#[test]
fn a_removed_namespace_plans_the_default_namespace() {
    let sim = sim();
    let tf = dir_on(
        &sim,
        &format!(
            "{}{}",
            connected_provider("mgmt.kubeconfig", ""),
            management_cluster("this", "team-a", "")
        ),
    );
    tf.apply().assert_ok();
    tf.write(
        "main.tf",
        &format!(
            "{}resource \"k0stack_management_cluster\" \"this\" {{}}\n",
            connected_provider("mgmt.kubeconfig", "")
        ),
    );
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(2), "{}", plan.all());
    plan.assert_contains("\"team-a\" -> \"kmc-system\" # forces replacement");
    let out = tf.apply();
    assert_consistent_apply(&out);
    out.assert_ok();
    assert_eq!(
        mgmt::attributes(&tf, ADDR, "this")["namespace"],
        "kmc-system"
    );
    assert_plan_empty(&tf);
}

/// Issue 14 item 3: a replacement-forcing argument (`namespace`) whose new value is unknown
/// at plan — derived from another resource's attribute that this apply changes — is
/// planned as a replacement, and apply agrees.
#[test]
fn an_unknown_namespace_plans_a_replacement() {
    let sim = sim();
    let config = |src_body: &str| {
        format!(
            "{}{}{}",
            connected_provider("mgmt.kubeconfig", ""),
            management_cluster("src", "source", src_body),
            "resource \"k0stack_management_cluster\" \"this\" {\n  namespace = \"kmc-${substr(tostring(k0stack_management_cluster.src.node_count), 0, 0)}system\"\n}\n"
        )
    };
    let tf = dir_on(&sim, &config(""));
    tf.apply().assert_ok();
    let before = mgmt::attributes(&tf, ADDR, "this")["instance_id"].clone();
    // Changing src leaves its node_count unknown until apply: so is this namespace.
    tf.write("main.tf", &config("  force_destroy = true"));
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(2), "{}", plan.all());
    plan.assert_contains("k0stack_management_cluster.this must be replaced");
    let out = tf.apply();
    assert_consistent_apply(&out);
    out.assert_ok();
    assert_ne!(mgmt::attributes(&tf, ADDR, "this")["instance_id"], before);
    assert_plan_empty(&tf);
}

/// Issue 14 item 8 (this resource): an object of `k0smotron_manifest` edited or deleted out
/// of band shows in the plan (`k0smotron_drift`) and apply installs it again.
#[test]
fn an_edited_or_deleted_k0smotron_object_shows_and_apply_restores_it() {
    let sim = MgmtSim::start(K8sOptions {
        ready_delay: Duration::from_millis(200),
        k0smotron_versions: vec![],
        ..Default::default()
    });
    let tf = connected(
        &sim,
        "  k0smotron_manifest = file(\"${path.module}/k0smotron.yaml\")",
    );
    tf.write("k0smotron.yaml", mgmt::K0SMOTRON_MANIFEST);
    tf.apply().assert_ok();
    assert_plan_empty(&tf);
    let (group, version, plural, ns, name) = (
        "apps",
        "v1",
        "deployments",
        "k0smotron",
        "k0smotron-controller-manager",
    );
    let image = || {
        mgmt::get(&sim, group, version, plural, ns, name).expect("the operator")["spec"]["template"]
            ["spec"]["containers"][0]["image"]
            .clone()
    };
    let installed = image();
    // Edited out of band (as `kubectl set image` would): shows as changed, apply restores.
    let (ok, _, err) = support::kubectl(
        &tf.path().join("mgmt.kubeconfig"),
        &[
            "-n",
            ns,
            "patch",
            "deployment",
            name,
            "--type",
            "json",
            "-p",
            r#"[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"example.com/other:latest"}]"#,
        ],
    );
    assert!(ok, "{err}");
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(2), "the edit shows:\n{}", plan.all());
    plan.assert_contains("\"Deployment k0smotron/k0smotron-controller-manager (changed)\"");
    let out = tf.apply();
    assert_consistent_apply(&out);
    out.assert_ok();
    assert_eq!(image(), installed);
    assert_plan_empty(&tf);
    // Deleted out of band: shows as missing, apply installs it again.
    mgmt::delete(&sim, group, version, plural, ns, name);
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(2), "the deletion shows:\n{}", plan.all());
    plan.assert_contains("\"Deployment k0smotron/k0smotron-controller-manager (missing)\"");
    let out = tf.apply();
    assert_consistent_apply(&out);
    out.assert_ok();
    assert_eq!(image(), installed);
    assert_eq!(
        mgmt::attributes(&tf, ADDR, "this")["k0smotron_drift"],
        serde_json::json!([])
    );
    assert_plan_empty(&tf);
}

/// Controllers listen on `<vm ip>:6443`: the bootstrapped tests take turns.
static VMS: Mutex<()> = Mutex::new(());

fn bootstrapped(groups: &str, extra: &str) -> String {
    format!(
        r#"{}
provider "k0stack" {{
  openstack {{
    cloud       = "k0stack-sim"
    clouds_yaml = "${{path.module}}/clouds.yaml"
  }}
}}

resource "k0stack_management_cluster" "this" {{
  {extra}
  bootstrap {{
    flavor            = "m1.large"
    image             = "ubuntu-24.04"
    networks          = ["private"]
    security_groups   = {groups}
    k0s_version       = "v1.32.6+k0s.0"
    k0smotron_version = "v1.5.0"
  }}
  timeouts {{
    create = "2m"
    update = "2m"
  }}
}}
"#,
        support::required_providers()
    )
}

/// Issue 14 items 5 and 2, bootstrapped: reordering `bootstrap.security_groups` plans
/// nothing (a set), and a saved plan applied after the controller was stopped never
/// reports an inconsistency (members are unknown in any update; the endpoint stays as
/// planned).
#[test]
fn bootstrapped_security_groups_are_a_set_and_a_saved_plan_survives_a_stopped_controller() {
    let _turn = VMS.lock().unwrap_or_else(|e| e.into_inner());
    let cloud = CloudSim::start();
    let tf = TfDir::new(&bootstrapped("[\"k0s-worker\", \"default\"]", ""));
    tf.write("clouds.yaml", &cloud.os.clouds_yaml());
    tf.init();
    tf.apply().assert_ok();
    tf.write(
        "main.tf",
        &bootstrapped("[\"default\", \"k0s-worker\"]", ""),
    );
    assert_plan_empty(&tf);
    // A state of the previous version: security_groups a list in its own order, no
    // k0smotron_drift. Nothing to plan, with or without refresh.
    mgmt::edit_state(&tf, ADDR, "this", |a| {
        a.as_object_mut().unwrap().remove("k0smotron_drift");
        a["bootstrap"][0]["security_groups"] = serde_json::json!(["k0s-worker", "default"]);
    });
    let plan = tf.run(&[
        "plan",
        "-no-color",
        "-input=false",
        "-detailed-exitcode",
        "-refresh=false",
    ]);
    assert_eq!(plan.code, Some(0), "{}", plan.all());
    assert_plan_empty(&tf);
    // A saved plan, then the controller stops before it is applied.
    tf.write(
        "main.tf",
        &bootstrapped("[\"default\", \"k0s-worker\"]", "force_destroy = true"),
    );
    let plan = plans::plan_out(&tf, "change.tfplan");
    plan.assert_contains("members");
    let ctrl = cloud
        .servers()
        .into_iter()
        .find(|s| s.name.contains("-controller-") && !s.deleting)
        .expect("a controller");
    cloud.server_action_out_of_band(&ctrl.id, "os-stop", "SHUTOFF");
    let out = plans::apply_saved(&tf, "change.tfplan");
    assert_consistent_apply(&out);
    // With its only controller stopped the cluster cannot be reached: a clear error.
    out.assert_failed();
    out.assert_contains(&format!("openstack server start {}", ctrl.id));
    cloud.server_action_out_of_band(&ctrl.id, "os-start", "ACTIVE");
    cloud.wait_for("the update to apply", || tf.apply().success());
    assert_eq!(mgmt::attributes(&tf, ADDR, "this")["force_destroy"], true);
    assert_plan_empty(&tf);
    tf.destroy().assert_ok();
}

/// Issue 14 item 3, bootstrapped: the whole `bootstrap` block comes from a `dynamic` over a
/// value unknown until apply (another resource's attribute that this apply changes). The
/// plan is a replacement with the endpoint and kubeconfig known after apply, and apply
/// agrees (no "inconsistent final plan").
#[test]
fn a_bootstrap_block_unknown_at_plan_plans_a_replacement() {
    let _turn = VMS.lock().unwrap_or_else(|e| e.into_inner());
    let cloud = CloudSim::start();
    let config = |src_body: &str| {
        format!(
            r#"{}
provider "k0stack" {{
  alias = "src"
  kubernetes {{
    config_path = "${{path.module}}/mgmt.kubeconfig"
  }}
}}

resource "k0stack_management_cluster" "src" {{
  provider  = k0stack.src
  namespace = "source"
  {src_body}
}}

provider "k0stack" {{
  openstack {{
    cloud       = "k0stack-sim"
    clouds_yaml = "${{path.module}}/clouds.yaml"
  }}
}}

resource "k0stack_management_cluster" "this" {{
  dynamic "bootstrap" {{
    for_each = substr(tostring(k0stack_management_cluster.src.node_count), 0, 0) == "" ? [1] : []
    content {{
      flavor            = "m1.large"
      image             = "ubuntu-24.04"
      networks          = ["private"]
      k0s_version       = "v1.32.6+k0s.0"
      k0smotron_version = "v1.5.0"
    }}
  }}
  timeouts {{
    create = "2m"
    delete = "2m"
  }}
}}
"#,
            support::required_providers()
        )
    };
    let tf = TfDir::new(&config(""));
    cloud.write_files(&tf);
    tf.init();
    tf.apply().assert_ok();
    let before = mgmt::attributes(&tf, ADDR, "this")["instance_id"].clone();
    tf.write("main.tf", &config("force_destroy = true"));
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(2), "{}", plan.all());
    plan.assert_contains("k0stack_management_cluster.this must be replaced");
    let out = tf.apply();
    assert_consistent_apply(&out);
    out.assert_ok();
    let after = mgmt::attributes(&tf, ADDR, "this");
    assert_ne!(after["instance_id"], before);
    assert!(after["kubeconfig"].is_string());
    assert_plan_empty(&tf);
    tf.destroy().assert_ok();
}

/// Issue 14 item 2, three controllers: the plan's endpoint (controller 0) stops between
/// `plan -out` and its apply. Apply works through another controller and keeps the endpoint
/// and kubeconfig as planned (warning that they move); the next plan moves them.
#[test]
fn a_saved_plan_keeps_the_planned_endpoint_when_its_controller_stopped() {
    let _turn = VMS.lock().unwrap_or_else(|e| e.into_inner());
    let cloud = CloudSim::start();
    let tf = TfDir::new(&bootstrapped("[\"k0s-worker\"]", "").replace(
        "    flavor            = \"m1.large\"",
        "    controllers       = 3\n    flavor            = \"m1.large\"",
    ));
    tf.write("clouds.yaml", &cloud.os.clouds_yaml());
    tf.init();
    tf.apply().assert_ok();
    let before = mgmt::attributes(&tf, ADDR, "this");
    let endpoint = before["endpoint"].as_str().unwrap().to_string();
    let first = before["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| endpoint.contains(m["ip"].as_str().unwrap()))
        .expect("the endpoint's controller")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let change = bootstrapped("[\"k0s-worker\"]", "force_destroy = true").replace(
        "    flavor            = \"m1.large\"",
        "    controllers       = 3\n    flavor            = \"m1.large\"",
    );
    tf.write("main.tf", &change);
    plans::plan_out(&tf, "change.tfplan");
    cloud.server_action_out_of_band(&first, "os-stop", "SHUTOFF");
    let out = plans::apply_saved(&tf, "change.tfplan");
    assert_consistent_apply(&out);
    out.assert_ok();
    out.assert_contains("Management cluster endpoint moves at the next apply");
    let after = mgmt::attributes(&tf, ADDR, "this");
    assert_eq!(after["endpoint"], endpoint, "as planned");
    assert_eq!(after["force_destroy"], true);
    // The next plan moves the endpoint to a running controller.
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(2), "{}", plan.all());
    plan.assert_contains("endpoint");
    let out = tf.apply();
    assert_consistent_apply(&out);
    out.assert_ok();
    assert_ne!(mgmt::attributes(&tf, ADDR, "this")["endpoint"], endpoint);
    assert_plan_empty(&tf);
    cloud.server_action_out_of_band(&first, "os-start", "ACTIVE");
    tf.destroy().assert_ok();
}

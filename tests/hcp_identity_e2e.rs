//! e2e (real Terraform CLI, k0stack-sim): which objects a `k0stack_hosted_control_plane`
//! knows as its own, across create, replace, refresh, update, destroy and import (issue 13).
//! After each scenario the simulator's objects are exactly what the state says.

mod support;

use std::time::{Duration, Instant};

use k0stack_sim::k8s::K8sOptions;
use serde_json::json;
use support::identity::{self as id, TcpProxy};
use support::{required_providers, MgmtSim, TfDir};

const NS: &str = "kmc-system";
const ADDR: &str = "k0stack_hosted_control_plane.dev";

fn provider() -> String {
    format!(
        "{}\nprovider \"k0stack\" {{\n  kubernetes {{\n    config_path = \"${{path.module}}/mgmt.kubeconfig\"\n  }}\n}}\n",
        required_providers()
    )
}

/// The control plane `dev` with a literal `management_cluster_id` (the environments /
/// Terragrunt pattern), `extra` inside its block.
fn dev(mgmt_id: &str, extra: &str) -> String {
    format!(
        r#"{}
resource "k0stack_hosted_control_plane" "dev" {{
  name                  = "dev"
  management_cluster_id = "{mgmt_id}"
  k0s_version           = "v1.32.6+k0s.0"
  {extra}
}}
"#,
        provider()
    )
}

fn sim() -> MgmtSim {
    MgmtSim::start(K8sOptions {
        ready_delay: Duration::from_millis(300),
        ..Default::default()
    })
}

/// The simulator and a working directory initialised with the configuration `config`
/// makes for it.
fn start(config: impl FnOnce(&MgmtSim) -> String) -> (MgmtSim, TfDir) {
    let sim = sim();
    let tf = TfDir::new(&config(&sim));
    tf.write("mgmt.kubeconfig", &sim.sim.kubeconfig());
    tf.init();
    (sim, tf)
}

fn uid_id(sim: &MgmtSim) -> String {
    format!("{}/{NS}", id::kube_system_uid(&sim.sim))
}

fn the_cluster(sim: &MgmtSim) -> serde_json::Value {
    let all = id::clusters(&sim.sim);
    assert_eq!(all.len(), 1, "exactly one Cluster: {all:#?}");
    all.into_iter().next().unwrap()
}

fn attr(tf: &TfDir, key: &str) -> Option<String> {
    id::attributes(tf, ADDR).and_then(|a| a[key].as_str().map(String::from))
}

/// The state records exactly the live Cluster: its uid, and its ownership (its companion's
/// owner annotations, or its own) carries the state's instance id, marked created.
#[track_caller]
fn state_matches(sim: &MgmtSim, tf: &TfDir) {
    let c = the_cluster(sim);
    assert_eq!(attr(tf, "uid").as_deref(), c["metadata"]["uid"].as_str());
    let (owner, phase, lease) = id::cluster_owner(&sim.sim, &c);
    assert_eq!(owner, attr(tf, "instance_id"), "{c:#}");
    assert_eq!(phase.as_deref(), Some("created"));
    assert_eq!(lease, None);
    assert_eq!(
        attr(tf, "management_cluster_uid"),
        Some(id::kube_system_uid(&sim.sim))
    );
}

#[track_caller]
fn plan_is_empty(tf: &TfDir) {
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(0), "plan not empty:\n{}", plan.all());
}

/// `dev` with a change to apply (an extra controller flag).
fn with_flags(mgmt_id: &str) -> String {
    dev(
        mgmt_id,
        "control_plane_flags = [\"--enable-metrics-scraper\"]",
    )
}

/// `terraform apply -refresh=false`: the update works from the state alone.
fn apply_without_refresh(tf: &TfDir) -> support::TfOutput {
    tf.run(&[
        "apply",
        "-no-color",
        "-input=false",
        "-auto-approve",
        "-refresh=false",
    ])
}

fn foreign_cluster(name: &str, extra_meta: serde_json::Value) -> serde_json::Value {
    let mut meta = json!({"name": name, "namespace": NS});
    if let (Some(m), Some(e)) = (meta.as_object_mut(), extra_meta.as_object()) {
        m.extend(e.clone());
    }
    json!({"apiVersion": "k0smotron.io/v1beta2", "kind": "Cluster", "metadata": meta,
           "spec": {"version": "v1.32.6+k0s.0", "replicas": 1}})
}

/// Item 2 and 7 (default setup): a create never takes over an existing `Cluster`; the error
/// says how to import it; the import claims it, and its first plan is empty.
#[test]
fn create_refuses_an_existing_cluster_and_import_claims_it() {
    let sim = sim();
    let tf = TfDir::new("");
    tf.write("mgmt.kubeconfig", &sim.sim.kubeconfig());
    let mgmt_id = uid_id(&sim);
    // The Cluster below has no service: the apiserver's CRD default, ClusterIP. A matching
    // configuration says so (the provider's own default is NodePort).
    const CLUSTER_IP: &str = "service {\n    type = \"ClusterIP\"\n  }";
    tf.write("main.tf", &dev(&mgmt_id, CLUSTER_IP));
    tf.init();
    let before = id::create(
        &sim.sim,
        "k0smotron.io",
        "v1beta2",
        "clusters",
        foreign_cluster("dev", json!({})),
    );
    id::wait_until("k0smotron reconciled it", || {
        id::object(&sim.sim, "k0smotron.io", "v1beta2", "clusters", NS, "dev")
            .is_some_and(|c| c["status"]["conditions"].is_array())
    });
    let out = tf.apply();
    out.assert_failed()
        .assert_contains("Hosted control plane already exists")
        .assert_contains("Cluster kmc-system/dev already exists and was not created by k0stack")
        .assert_contains("terraform import <address> kmc-system/dev")
        .assert_contains(
            "with create_before_destroy the new control plane needs a name of its own",
        );
    let live = the_cluster(&sim);
    assert_eq!(live["metadata"]["uid"], before["metadata"]["uid"]);
    assert_eq!(id::owner_of(&live).0, None, "not taken over");
    assert!(
        id::object(&sim.sim, "", "v1", "configmaps", NS, "dev-k0stack-owner").is_none(),
        "the refused create left no bookkeeping"
    );
    assert_eq!(
        live["metadata"]["generation"], before["metadata"]["generation"],
        "not written"
    );
    assert!(id::attributes(&tf, ADDR).is_none(), "nothing in the state");

    tf.run(&[
        "import",
        "-no-color",
        "-input=false",
        ADDR,
        "kmc-system/dev",
    ])
    .assert_ok();
    assert_eq!(
        attr(&tf, "management_cluster_id").as_deref(),
        Some(mgmt_id.as_str())
    );
    state_matches(&sim, &tf);
    plan_is_empty(&tf);

    // The imported control plane is this resource's: updates and destroy act on it.
    tf.write(
        "main.tf",
        &dev(
            &mgmt_id,
            &format!("{CLUSTER_IP}\n  control_plane_flags = [\"--enable-metrics-scraper\"]"),
        ),
    );
    tf.apply().assert_ok();
    let live = the_cluster(&sim);
    assert_eq!(live["metadata"]["uid"], before["metadata"]["uid"]);
    assert_eq!(
        live["spec"]["controlPlaneFlags"][0],
        "--enable-metrics-scraper"
    );
    plan_is_empty(&tf);
    tf.destroy().assert_ok();
    assert!(id::clusters(&sim.sim).is_empty());
}

/// Item 7: a `Cluster` that Cluster API manages (a `K0smotronControlPlane` owns it) is
/// refused by import; a bad id and a missing object are clear errors.
#[test]
fn import_refuses_what_cluster_api_manages() {
    let sim = sim();
    let tf = TfDir::new("");
    tf.write("mgmt.kubeconfig", &sim.sim.kubeconfig());
    tf.write("main.tf", &dev(&uid_id(&sim), ""));
    tf.init();
    let owner = json!({"ownerReferences": [{"apiVersion": "controlplane.cluster.x-k8s.io/v1beta1",
        "kind": "K0smotronControlPlane", "name": "dev-cp", "uid": "3b1e", "controller": true}]});
    id::create(
        &sim.sim,
        "k0smotron.io",
        "v1beta2",
        "clusters",
        foreign_cluster("dev", owner),
    );
    let out = tf.run(&[
        "import",
        "-no-color",
        "-input=false",
        ADDR,
        "kmc-system/dev",
    ]);
    out.assert_failed()
        .assert_contains("Managed by Cluster API")
        .assert_contains("K0smotronControlPlane dev-cp");
    assert_eq!(id::owner_of(&the_cluster(&sim)).0, None, "not claimed");
    let out = tf.run(&[
        "import",
        "-no-color",
        "-input=false",
        ADDR,
        "kmc-system/nope",
    ]);
    out.assert_failed()
        .assert_contains("There is no k0smotron Cluster kmc-system/nope");
}

/// Item 2: `create_before_destroy` with a fixed name is one clear error; the old control
/// plane (and its manifests ConfigMap) is untouched and the state still says so.
#[test]
fn create_before_destroy_with_a_fixed_name_leaves_the_old_one() {
    let lifecycle = "manifests = { \"a.yaml\" = \"kind: Namespace\" }\n  lifecycle {\n    create_before_destroy = true\n  }";
    let (sim, tf) = start(|sim| dev(&uid_id(sim), lifecycle));
    let mgmt_id = uid_id(&sim);
    tf.apply().assert_ok();
    state_matches(&sim, &tf);
    let instance = attr(&tf, "instance_id").expect("instance id");
    assert_eq!(instance.len(), 16);
    let cm = id::object(
        &sim.sim,
        "",
        "v1",
        "configmaps",
        NS,
        "dev-k0stack-manifests",
    )
    .expect("manifests");
    assert_eq!(id::owner_of(&cm).0.as_deref(), Some(instance.as_str()));
    assert_eq!(id::owner_of(&cm).1.as_deref(), Some("created"));
    let uid = the_cluster(&sim)["metadata"]["uid"].clone();

    let out = tf.run(&[
        "apply",
        "-no-color",
        "-input=false",
        "-auto-approve",
        &format!("-replace={ADDR}"),
    ]);
    out.assert_failed()
        .assert_contains("already exists and belongs to another k0stack resource instance")
        .assert_contains(&format!("({instance})"))
        .assert_contains(
            "with create_before_destroy the new control plane needs a name of its own",
        );
    assert_eq!(
        the_cluster(&sim)["metadata"]["uid"],
        uid,
        "the old one is untouched"
    );
    assert_eq!(attr(&tf, "instance_id").as_deref(), Some(instance.as_str()));
    state_matches(&sim, &tf);
    plan_is_empty(&tf);

    // Without manifests the ConfigMap goes; destroy leaves nothing.
    tf.write("main.tf", &dev(&mgmt_id, ""));
    tf.apply().assert_ok();
    assert!(id::object(
        &sim.sim,
        "",
        "v1",
        "configmaps",
        NS,
        "dev-k0stack-manifests"
    )
    .is_none());
    tf.destroy().assert_ok();
    assert!(id::clusters(&sim.sim).is_empty());
}

/// Item 2: an apply SIGKILLed while the create waits for readiness; the next apply adopts
/// the Cluster it left (same uid, same instance) and ends with one Cluster and a state that
/// says so.
#[test]
fn an_interrupted_create_is_continued_by_the_next_apply() {
    let (sim, tf) = start(|sim| dev(&uid_id(sim), ""));
    sim.sim.operator.knobs.lock().unwrap().never_ready = true;
    let mut child = tf.spawn(&["apply", "-no-color", "-input=false", "-auto-approve"]);
    id::wait_until("the Cluster to exist", || {
        !id::clusters(&sim.sim).is_empty()
    });
    std::thread::sleep(Duration::from_millis(500));
    support::sigkill(&mut child);
    let left = the_cluster(&sim);
    let (owner, phase, lease) = id::cluster_owner(&sim.sim, &left);
    assert_eq!(phase.as_deref(), Some("creating"), "{left:#}");
    assert!(lease.is_some());
    assert!(
        id::attributes(&tf, ADDR).is_none(),
        "the create never returned"
    );

    sim.sim.operator.knobs.lock().unwrap().never_ready = false;
    let started = Instant::now();
    tf.apply().assert_ok();
    let took = started.elapsed();
    println!(
        "FIGURES hcp interrupted-create second apply {:.1}s",
        took.as_secs_f64()
    );
    let c = the_cluster(&sim);
    assert_eq!(
        c["metadata"]["uid"], left["metadata"]["uid"],
        "adopted, not re-created"
    );
    assert_eq!(
        attr(&tf, "instance_id"),
        owner,
        "continued as the interrupted instance"
    );
    state_matches(&sim, &tf);
    plan_is_empty(&tf);
    tf.destroy().assert_ok();
    assert!(id::clusters(&sim.sim).is_empty());
}

/// Items 2 and 5: `apply -refresh=false` after the Cluster vanished (the management cluster
/// was emptied) fails instead of creating a brand-new control plane; with refresh the plan
/// shows the re-creation.
#[test]
fn an_update_never_recreates_a_missing_cluster() {
    let (sim, tf) = start(|sim| dev(&uid_id(sim), ""));
    let mgmt_id = uid_id(&sim);
    tf.apply().assert_ok();
    id::delete_cluster(&sim.sim, NS, "dev");
    tf.write("main.tf", &with_flags(&mgmt_id));
    let out = apply_without_refresh(&tf);
    out.assert_failed()
        .assert_contains("The Cluster kmc-system/dev no longer exists in the management cluster")
        .assert_contains("run terraform apply with refresh to plan its re-creation");
    assert!(id::clusters(&sim.sim).is_empty(), "nothing created");
    let plan = tf.plan();
    plan.assert_ok()
        .assert_contains(&format!("{ADDR} will be created"));
    tf.apply().assert_ok();
    state_matches(&sim, &tf);
    tf.destroy().assert_ok();
}

/// Items 3 and 5: pointed at another management cluster (rebuilt, or another kubeconfig),
/// refresh fails clearly and keeps the state; an update without refresh creates nothing.
#[test]
fn another_management_cluster_is_a_clear_error() {
    let (sim, tf) = start(|sim| dev(&uid_id(sim), ""));
    let mgmt_id = uid_id(&sim);
    tf.apply().assert_ok();
    let other = support::MgmtSim::start(K8sOptions::default());
    tf.write("mgmt.kubeconfig", &other.sim.kubeconfig());
    let out = tf.plan();
    out.assert_failed()
        .assert_contains("Connected to another management cluster")
        .assert_contains(&id::kube_system_uid(&other.sim))
        .assert_contains("terraform state rm");
    tf.write("main.tf", &with_flags(&mgmt_id));
    let out = apply_without_refresh(&tf);
    out.assert_failed()
        .assert_contains("Connected to another management cluster");
    assert!(
        id::clusters(&other.sim).is_empty(),
        "nothing created in the other cluster"
    );
    assert!(id::attributes(&tf, ADDR).is_some(), "still in the state");
    // Back on the right cluster, all is well.
    tf.write("mgmt.kubeconfig", &sim.sim.kubeconfig());
    tf.write("main.tf", &dev(&mgmt_id, ""));
    plan_is_empty(&tf);
    state_matches(&sim, &tf);
}

/// Item 3: another form of the same cluster's id (a label literal, the uid form) is an
/// in-place update of the recorded string that touches nothing; a uid of another cluster
/// is a replacement.
#[test]
fn the_management_cluster_id_changes_form_without_replacement() {
    let (sim, tf) = start(|_| dev("management/kmc-system", ""));
    tf.apply().assert_ok();
    state_matches(&sim, &tf);
    let before = the_cluster(&sim);
    tf.write("main.tf", &dev(&uid_id(&sim), ""));
    let plan = tf.plan();
    plan.assert_ok()
        .assert_contains("will be updated in-place")
        .assert_contains("0 to add, 1 to change, 0 to destroy");
    let writes = id::writes(&sim.sim);
    tf.apply().assert_ok();
    assert_eq!(
        id::writes(&sim.sim),
        writes,
        "no write to the management cluster"
    );
    assert_eq!(
        the_cluster(&sim)["metadata"]["uid"],
        before["metadata"]["uid"]
    );
    assert_eq!(attr(&tf, "management_cluster_id"), Some(uid_id(&sim)));
    plan_is_empty(&tf);
    let elsewhere = format!("9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a/{NS}");
    tf.write("main.tf", &dev(&elsewhere, ""));
    tf.plan()
        .assert_ok()
        .assert_contains("must be replaced")
        .assert_contains("1 to add, 0 to change, 1 to destroy");
    tf.write("main.tf", &dev(&uid_id(&sim), ""));
    tf.destroy().assert_ok();
}

/// Item 5: the management cluster's endpoint moved (the recorded management_kubeconfig
/// reaches nothing): refresh keeps the state with a warning, the plan updates the
/// connection in place, the apply uses the new one, and the control plane is the same.
#[test]
fn a_moved_management_endpoint_keeps_the_state() {
    let sim = sim();
    let first = TcpProxy::start(&sim.rt, id::sim_addr(&sim.sim));
    let config = format!(
        r#"{}
provider "k0stack" {{}}

resource "k0stack_hosted_control_plane" "dev" {{
  name                  = "dev"
  management_cluster_id = "{}"
  management_kubeconfig = file("${{path.module}}/mgmt.kubeconfig")
  k0s_version           = "v1.32.6+k0s.0"
}}
"#,
        required_providers(),
        uid_id(&sim)
    );
    let tf = TfDir::new(&config);
    tf.write("mgmt.kubeconfig", &id::kubeconfig_via(&sim.sim, first.addr));
    tf.init();
    tf.apply().assert_ok();
    let uid = the_cluster(&sim)["metadata"]["uid"].clone();
    first.stop();
    let second = TcpProxy::start(&sim.rt, id::sim_addr(&sim.sim));
    tf.write(
        "mgmt.kubeconfig",
        &id::kubeconfig_via(&sim.sim, second.addr),
    );
    let plan = tf.plan();
    plan.assert_ok()
        .assert_contains("Management cluster unreachable: state kept")
        .assert_contains("recorded management_kubeconfig")
        .assert_contains("0 to add, 1 to change, 0 to destroy");
    tf.apply().assert_ok();
    assert_eq!(
        the_cluster(&sim)["metadata"]["uid"],
        uid,
        "the same control plane, same CA"
    );
    state_matches(&sim, &tf);
    plan_is_empty(&tf);
    tf.destroy().assert_ok();
    assert!(id::clusters(&sim.sim).is_empty());
    second.stop();
}

/// Existing states keep working: a state and objects written before owner annotations
/// (no instance_id, no management_cluster_uid, no annotation) plan nothing; the refresh
/// claims the objects, and destroy deletes them.
#[test]
fn a_state_of_an_earlier_version_is_claimed_on_refresh() {
    let (sim, tf) = start(|sim| {
        dev(
            &uid_id(sim),
            "manifests = { \"a.yaml\" = \"kind: Namespace\" }",
        )
    });
    tf.apply().assert_ok();
    id::edit_state(&tf, |s| {
        for r in s["resources"].as_array_mut().unwrap() {
            let a = r["instances"][0]["attributes"].as_object_mut().unwrap();
            a.remove("instance_id");
            a.remove("management_cluster_uid");
        }
    });
    // Earlier versions wrote no companion ConfigMap.
    id::delete_core(&sim.sim, "configmaps", NS, "dev-k0stack-owner");
    let strip = json!({"metadata": {"annotations": {"k0stack.io/owner": null, "k0stack.io/owner-phase": null}}});
    id::patch(
        &sim.sim,
        "k0smotron.io",
        "v1beta2",
        "clusters",
        NS,
        "dev",
        strip.clone(),
    );
    id::patch(
        &sim.sim,
        "",
        "v1",
        "configmaps",
        NS,
        "dev-k0stack-manifests",
        strip,
    );
    assert_eq!(id::owner_of(&the_cluster(&sim)).0, None);
    plan_is_empty(&tf);
    tf.apply().assert_ok();
    state_matches(&sim, &tf);
    assert_eq!(
        id::owner_of(&the_cluster(&sim)),
        (None, None, None),
        "claimed in its companion: the Cluster's annotations are left as they are"
    );
    let cm = id::object(
        &sim.sim,
        "",
        "v1",
        "configmaps",
        NS,
        "dev-k0stack-manifests",
    )
    .unwrap();
    assert_eq!(
        id::owner_of(&cm).0,
        attr(&tf, "instance_id"),
        "claimed with the Cluster"
    );
    tf.destroy().assert_ok();
    assert!(id::clusters(&sim.sim).is_empty());
    assert!(id::object(
        &sim.sim,
        "",
        "v1",
        "configmaps",
        NS,
        "dev-k0stack-manifests"
    )
    .is_none());
}

/// Item 2: destroy deletes only its own objects: a `Cluster` of the same name made by
/// someone else after ours vanished is left, with a warning.
#[test]
fn destroy_leaves_a_foreign_object_of_the_same_name() {
    let (sim, tf) = start(|sim| dev(&uid_id(sim), ""));
    tf.apply().assert_ok();
    id::delete_cluster(&sim.sim, NS, "dev");
    let theirs = id::create(
        &sim.sim,
        "k0smotron.io",
        "v1beta2",
        "clusters",
        foreign_cluster("dev", json!({})),
    );
    let out = tf.run(&[
        "destroy",
        "-no-color",
        "-input=false",
        "-auto-approve",
        "-refresh=false",
    ]);
    out.assert_ok()
        .assert_contains("Left behind after deleting the hosted control plane")
        .assert_contains("it is another object of the same name");
    assert_eq!(
        the_cluster(&sim)["metadata"]["uid"],
        theirs["metadata"]["uid"]
    );
    assert!(id::attributes(&tf, ADDR).is_none());
}

/// A field the create set (its POST owns it) and a later configuration drops is removed
/// from the Cluster, as server-side apply would remove a field only it owned.
#[test]
fn a_field_set_at_create_is_removed_when_dropped() {
    let flags = "control_plane_flags = [\"--enable-metrics-scraper\"]\n  image = \"mirror.example.com/k0s\"";
    let (sim, tf) = start(|sim| dev(&uid_id(sim), flags));
    tf.apply().assert_ok();
    let c = the_cluster(&sim);
    assert_eq!(
        c["spec"]["controlPlaneFlags"][0],
        "--enable-metrics-scraper"
    );
    assert_eq!(c["spec"]["image"], "mirror.example.com/k0s");
    tf.write("main.tf", &dev(&uid_id(&sim), ""));
    tf.apply().assert_ok();
    let c = the_cluster(&sim);
    assert!(c["spec"].get("controlPlaneFlags").is_none(), "{c:#}");
    assert!(c["spec"].get("image").is_none(), "{c:#}");
    plan_is_empty(&tf);
    state_matches(&sim, &tf);
    tf.destroy().assert_ok();
}

/// Issue 20 item 2: a first apply whose control plane does not become ready in time fails
/// and says what happens next; `terraform untaint` keeps the Cluster (same uid and CA), and
/// the next apply finishes the job without replacing it.
#[test]
fn a_create_that_times_out_is_kept_by_untaint_and_finished_by_the_next_apply() {
    let (sim, tf) = start(|sim| dev(&uid_id(sim), "timeouts {\n    create = \"5s\"\n  }"));
    sim.sim.operator.knobs.lock().unwrap().never_ready = true;
    let out = tf.apply();
    out.assert_failed()
        .assert_contains("Hosted control plane not ready")
        .assert_contains("terraform untaint");
    let first = the_cluster(&sim)["metadata"]["uid"].clone();
    let plan = tf.plan();
    plan.assert_ok()
        .assert_contains("is tainted, so must be replaced");
    tf.run(&["untaint", "-no-color", ADDR]).assert_ok();
    sim.sim.operator.knobs.lock().unwrap().never_ready = false;
    tf.apply().assert_ok();
    assert_eq!(
        the_cluster(&sim)["metadata"]["uid"],
        first,
        "the same Cluster"
    );
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(0), "the plan is not empty:\n{}", plan.all());
}

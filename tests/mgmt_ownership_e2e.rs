//! e2e (issue 13): what a `k0stack_management_cluster` instance owns — the namespace it
//! creates, its credentials Secret — and never takes from another; the identity its
//! credentials carry; import; states of earlier versions. Real Terraform CLI, k0stack-sim.

mod support;

use std::time::Duration;

use k0stack_sim::k8s::K8sOptions;
use serde_json::json;
use support::mgmt::{self, connected_provider, dir_on, management_cluster};
use support::{MgmtSim, TfDir};

fn sim() -> MgmtSim {
    MgmtSim::start(K8sOptions {
        ready_delay: Duration::from_millis(200),
        ..Default::default()
    })
}

const CLOUDS: &str = "clouds:\n  openstack:\n    auth:\n      auth_url: https://keystone.example.com:5000/v3\n      application_credential_id: fleet-ac\n      application_credential_secret: ac-secret-must-not-leak\n    auth_type: v3applicationcredential\n";

fn with_secret(name: &str, ns: &str, secret: &str) -> String {
    format!(
        "{}{}",
        connected_provider("mgmt.kubeconfig", ""),
        management_cluster(
            name,
            ns,
            &format!("  openstack_credentials {{\n    secret_name = \"{secret}\"\n    clouds_yaml = file(\"${{path.module}}/clouds.yaml\")\n  }}")
        )
    )
}

fn dir_with_clouds(sim: &MgmtSim, config: &str) -> TfDir {
    let tf = dir_on(sim, config);
    tf.write("clouds.yaml", CLOUDS);
    tf
}

fn owner(obj: &serde_json::Value) -> Option<String> {
    mgmt::annotations(obj)
        .get("k0stack.io/owner")
        .and_then(|v| v.as_str())
        .map(String::from)
}

/// Issue 13 item 2/3 (this resource): two instances in one namespace; the second never
/// takes the first's Secret, and destroying the first leaves the namespace and the second's
/// Secret alone.
#[test]
fn two_instances_sharing_a_namespace_keep_each_others_objects() {
    let sim = sim();
    let a = dir_with_clouds(&sim, &with_secret("a", "shared", "creds-a"));
    a.apply().assert_ok();
    let a_secret = mgmt::get(&sim, "", "v1", "secrets", "shared", "creds-a").unwrap();
    let a_id = mgmt::attributes(&a, "k0stack_management_cluster", "a")["instance_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(owner(&a_secret).as_deref(), Some(a_id.as_str()));

    // The same Secret name: a clear error, and a's Secret untouched.
    let b = dir_with_clouds(&sim, &with_secret("b", "shared", "creds-a"));
    b.write("clouds.yaml", &CLOUDS.replace("fleet-ac", "other-ac"));
    b.apply()
        .assert_failed()
        .assert_contains(
            "Secret shared/creds-a already exists and belongs to another k0stack resource instance",
        )
        .assert_contains(&a_id)
        .assert_contains("openstack_credentials.secret_name");
    let now = mgmt::get(&sim, "", "v1", "secrets", "shared", "creds-a").unwrap();
    assert_eq!(now["data"], a_secret["data"], "a's Secret is untouched");
    // The failed create is recorded (tainted); with a name of its own, b replaces it.
    b.write("main.tf", &with_secret("b", "shared", "creds-b"));
    b.apply().assert_ok();
    assert_eq!(a.plan_exit_code().code, Some(0));

    let out = a.destroy();
    out.assert_ok().assert_contains("Namespace handed over");
    let ns = mgmt::get(&sim, "", "v1", "namespaces", "", "shared").expect("shared stays");
    let markers: Vec<String> = mgmt::annotations(&ns)
        .keys()
        .filter(|k| k.starts_with("k0stack.io/management-cluster."))
        .cloned()
        .collect();
    let b_id = mgmt::attributes(&b, "k0stack_management_cluster", "b")["instance_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        markers,
        vec![format!("k0stack.io/management-cluster.{b_id}")]
    );
    assert_eq!(
        owner(&ns).as_deref(),
        Some(b_id.as_str()),
        "handed over to b"
    );
    out.assert_contains(&format!("it now belongs to instance {b_id}"));
    assert!(mgmt::get(&sim, "", "v1", "secrets", "shared", "creds-a").is_none());
    assert!(mgmt::get(&sim, "", "v1", "secrets", "shared", "creds-b").is_some());
    assert_eq!(b.plan_exit_code().code, Some(0), "b is untouched");
    // b, the last one out, deletes the namespace it was handed.
    b.destroy().assert_ok();
    assert!(mgmt::get(&sim, "", "v1", "secrets", "shared", "creds-b").is_none());
    assert!(!mgmt::namespaces(&sim).contains(&"shared".to_string()));
}

/// Create never adopts a Secret someone else made; destroying the failed create leaves it.
#[test]
fn create_never_takes_over_an_existing_secret() {
    let sim = sim();
    mgmt::create(
        &sim,
        "",
        "v1",
        "namespaces",
        "",
        json!({"metadata": {"name": "kmc-system"}}),
    );
    mgmt::create(
        &sim,
        "",
        "v1",
        "secrets",
        "kmc-system",
        json!({"metadata": {"name": "openstack-cloud-config"}, "data": {"clouds.yaml": "b3RoZXI="}}),
    );
    let tf = dir_with_clouds(
        &sim,
        &with_secret("this", "kmc-system", "openstack-cloud-config"),
    );
    tf.apply()
        .assert_failed()
        .assert_contains("Secret kmc-system/openstack-cloud-config already exists and was not created by k0stack")
        .assert_contains("kubectl -n kmc-system delete secret openstack-cloud-config");
    tf.destroy().assert_ok();
    let s = mgmt::get(
        &sim,
        "",
        "v1",
        "secrets",
        "kmc-system",
        "openstack-cloud-config",
    )
    .expect("the Secret survives");
    assert_eq!(s["data"]["clouds.yaml"], "b3RoZXI=");
    assert!(owner(&s).is_none());
    assert!(mgmt::namespaces(&sim).contains(&"kmc-system".to_string()));
}

/// Issue 13 item 8: the plan shows whose credentials the cluster gets.
#[test]
fn the_plan_shows_which_identity_the_stored_credentials_change_to() {
    let sim = sim();
    let config = |user: &str, project: &str| {
        format!(
            "{}{}",
            connected_provider("mgmt.kubeconfig", &mgmt::openstack_as(user, project)),
            management_cluster("this", "kmc-system", "  openstack_credentials {}")
        )
    };
    let tf = dir_on(&sim, &config("alice", "k8s"));
    tf.apply().assert_ok();
    assert_eq!(tf.plan_exit_code().code, Some(0));
    tf.write("main.tf", &config("ci-bot", "k8s-ci"));
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(2), "{}", plan.all());
    plan.assert_contains(r#"~ user_name = "alice" -> "ci-bot""#)
        .assert_contains(r#"~ project_name = "k8s" -> "k8s-ci""#);
    assert!(!plan.all().contains("must-not-leak"), "{}", plan.all());
    let out = tf.apply();
    out.assert_ok();
    assert!(!out.all().contains("must-not-leak"));
    let stored = mgmt::secret_clouds_yaml(&sim, "kmc-system", "openstack-cloud-config").unwrap();
    assert!(stored.contains("username: ci-bot"), "{stored}");
    // Someone rewrites the Secret by hand: the refresh reads back who it holds now.
    use base64::Engine;
    let by_hand = stored.replace("ci-bot", "mallory");
    {
        let mut store = sim.sim.api.store.lock().unwrap();
        let rt = store.find("", "v1", "secrets").unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(by_hand);
        let patch = json!({"data": {"clouds.yaml": b64}});
        store
            .patch_merge(
                &rt,
                "kmc-system",
                "openstack-cloud-config",
                &patch,
                "kubectl",
                false,
            )
            .unwrap();
    }
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(2), "{}", plan.all());
    plan.assert_contains(r#"~ user_name = "mallory" -> "ci-bot""#);
    tf.apply().assert_ok();
    let state = mgmt::attributes(&tf, "k0stack_management_cluster", "this");
    assert_eq!(state["openstack_credentials"][0]["user_name"], "ci-bot");
    assert_eq!(state["openstack_credentials"][0]["region"], "RegionOne");
}

fn plain(sim: &MgmtSim) -> TfDir {
    dir_on(
        sim,
        &format!(
            "{}{}",
            connected_provider("mgmt.kubeconfig", &mgmt::openstack_as("alice", "k8s")),
            management_cluster("this", "kmc-system", "  openstack_credentials {}")
        ),
    )
}

fn import(tf: &TfDir, id: &str) -> support::TfOutput {
    tf.run(&[
        "import",
        "-no-color",
        "-input=false",
        "k0stack_management_cluster.this",
        id,
    ])
}

/// Issue 13 item 7 (connected): import by the new id, by the namespace alone and by an id
/// of an earlier version; the first plan is empty each time.
#[test]
fn import_by_uid_by_namespace_or_by_an_old_id_plans_nothing() {
    let sim = sim();
    let tf = plain(&sim);
    tf.apply().assert_ok();
    let uid = mgmt::kube_system_uid(&sim);
    for id in [
        format!("{uid}/kmc-system"),
        "kmc-system".to_string(),
        "k0stack-sim/kmc-system".to_string(),
    ] {
        tf.run(&["state", "rm", "k0stack_management_cluster.this"])
            .assert_ok();
        import(&tf, &id).assert_ok();
        let plan = tf.plan_exit_code();
        assert_eq!(plan.code, Some(0), "after import {id}:\n{}", plan.all());
        let st = mgmt::attributes(&tf, "k0stack_management_cluster", "this");
        assert_eq!(st["id"], format!("{uid}/kmc-system"));
    }
    let other = "11111111-2222-3333-4444-555555555555/kmc-system";
    tf.run(&["state", "rm", "k0stack_management_cluster.this"])
        .assert_ok();
    import(&tf, other)
        .assert_failed()
        .assert_contains("Import id names another cluster")
        .assert_contains(&uid);
    import(&tf, "nowhere")
        .assert_failed()
        .assert_contains("namespace nowhere does not exist");
    // The imported instance took over what the lost one owned: destroy removes it all.
    import(&tf, "kmc-system")
        .assert_ok()
        .assert_contains("Taken over by the import")
        .assert_contains("namespace kmc-system was created by k0stack instance");
    tf.destroy().assert_ok();
    assert!(mgmt::get(
        &sim,
        "",
        "v1",
        "secrets",
        "kmc-system",
        "openstack-cloud-config"
    )
    .is_none());
    assert!(!mgmt::namespaces(&sim).contains(&"kmc-system".to_string()));
    // A namespace made outside k0stack is used, never owned: destroy leaves it.
    mgmt::create(
        &sim,
        "",
        "v1",
        "namespaces",
        "",
        json!({"metadata": {"name": "kmc-system"}}),
    );
    import(&tf, "kmc-system").assert_ok();
    assert_eq!(
        mgmt::attributes(&tf, "k0stack_management_cluster", "this")["namespace_created"],
        false
    );
    tf.destroy().assert_ok();
    assert!(mgmt::namespaces(&sim).contains(&"kmc-system".to_string()));
}

/// Issue 13 item 7 (bootstrap setup): no connection to import through; the error says
/// why a bootstrapped cluster cannot be imported and what to do.
#[test]
fn a_bootstrapped_cluster_cannot_be_imported_and_the_error_says_why() {
    let tf = TfDir::new(&format!(
        "{}\nprovider \"k0stack\" {{\n{}\n}}\nresource \"k0stack_management_cluster\" \"this\" {{}}\n",
        support::required_providers(),
        mgmt::openstack_as("alice", "k8s")
    ));
    tf.init();
    import(&tf, "k0stack-mgmt/kmc-system")
        .assert_failed()
        .assert_contains("No management cluster connection to import from")
        .assert_contains("cannot be imported: its CA private key")
        .assert_contains("terraform state pull");
}

/// A state written by the previous version (id `<context>/<ns>`, no instance id, objects
/// without owner annotations): refresh converts the id, the next apply records an instance
/// id and claims what the state created, and destroy removes it as before.
#[test]
fn a_state_of_the_previous_version_is_converted_and_claims_what_it_created() {
    let sim = sim();
    let tf = plain(&sim);
    tf.apply().assert_ok();
    let uid = mgmt::kube_system_uid(&sim);
    mgmt::strip_k0stack_annotations(&sim, "", "v1", "namespaces", "", "kmc-system");
    mgmt::strip_k0stack_annotations(
        &sim,
        "",
        "v1",
        "secrets",
        "kmc-system",
        "openstack-cloud-config",
    );
    mgmt::edit_state(&tf, "k0stack_management_cluster", "this", |a| {
        a["id"] = json!("k0stack-sim/kmc-system");
        let m = a.as_object_mut().unwrap();
        m.remove("instance_id");
        m.remove("namespace_uid");
        let creds = m["openstack_credentials"][0].as_object_mut().unwrap();
        creds.retain(|k, _| ["secret_name", "clouds_yaml", "sha256"].contains(&k.as_str()));
    });
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(2), "{}", plan.all());
    plan.assert_contains("k0stack_management_cluster.this will be updated in-place")
        .assert_contains("+ instance_id");
    assert!(!plan.all().contains("forces replacement"), "{}", plan.all());
    tf.apply().assert_ok();
    let st = mgmt::attributes(&tf, "k0stack_management_cluster", "this");
    assert_eq!(st["id"], format!("{uid}/kmc-system"));
    let id = st["instance_id"].as_str().unwrap().to_string();
    let ns = mgmt::get(&sim, "", "v1", "namespaces", "", "kmc-system").unwrap();
    let secret = mgmt::get(
        &sim,
        "",
        "v1",
        "secrets",
        "kmc-system",
        "openstack-cloud-config",
    )
    .unwrap();
    assert_eq!(owner(&ns).as_deref(), Some(id.as_str()));
    assert_eq!(owner(&secret).as_deref(), Some(id.as_str()));
    assert_eq!(tf.plan_exit_code().code, Some(0));
    tf.destroy().assert_ok();
    assert!(!mgmt::namespaces(&sim).contains(&"kmc-system".to_string()));
}

/// Issue 13 (SIGKILL mid-create, this resource): an apply killed after it created the
/// namespace and the Secret (marked `creating`, lease expired once nobody renews it) is
/// finished by the next apply, which adopts them: one namespace, one Secret, owned by the
/// state's instance, and destroy removes both.
#[test]
fn an_interrupted_create_is_adopted_by_the_next_apply() {
    let sim = MgmtSim::start(K8sOptions {
        ready_delay: Duration::from_millis(200),
        k0smotron_versions: vec![],
        ..Default::default()
    });
    let config = format!(
        "{}{}",
        connected_provider("mgmt.kubeconfig", ""),
        management_cluster(
            "this",
            "kmc-system",
            "  k0smotron_manifest = file(\"${path.module}/k0smotron.yaml\")\n  openstack_credentials {\n    clouds_yaml = file(\"${path.module}/clouds.yaml\")\n  }"
        )
    );
    let tf = dir_with_clouds(&sim, &config);
    tf.write("k0smotron.yaml", mgmt::K0SMOTRON_MANIFEST);
    // Slow API: the create is still installing k0smotron when it is killed.
    sim.sim.api.faults.lock().unwrap().latency = Duration::from_millis(150);
    let mut child = tf.spawn(&["apply", "-no-color", "-input=false", "-auto-approve"]);
    let started = std::time::Instant::now();
    while mgmt::get(
        &sim,
        "",
        "v1",
        "secrets",
        "kmc-system",
        "openstack-cloud-config",
    )
    .is_none()
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the create never wrote its Secret"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    support::sigkill(&mut child);
    sim.sim.api.faults.lock().unwrap().latency = Duration::ZERO;
    let left = mgmt::get(
        &sim,
        "",
        "v1",
        "secrets",
        "kmc-system",
        "openstack-cloud-config",
    )
    .unwrap();
    let killed = owner(&left).expect("an owner");
    assert_eq!(
        mgmt::annotations(&left)["k0stack.io/owner-phase"],
        "creating"
    );
    tf.run(&["state", "list"]).assert_no_crash();

    tf.apply().assert_ok();
    let st = mgmt::attributes(&tf, "k0stack_management_cluster", "this");
    assert_eq!(
        st["instance_id"],
        killed.as_str(),
        "the killed create's instance continues"
    );
    assert_eq!(st["namespace_created"], true);
    for (plural, ns, name) in [
        ("namespaces", "", "kmc-system"),
        ("secrets", "kmc-system", "openstack-cloud-config"),
    ] {
        let o = mgmt::get(&sim, "", "v1", plural, ns, name).unwrap();
        assert_eq!(owner(&o).as_deref(), Some(killed.as_str()), "{name}");
        assert_eq!(
            mgmt::annotations(&o)["k0stack.io/owner-phase"],
            "created",
            "{name}"
        );
    }
    assert_eq!(tf.plan_exit_code().code, Some(0));
    tf.destroy().assert_ok();
    assert!(!mgmt::namespaces(&sim).contains(&"kmc-system".to_string()));
    assert!(mgmt::crds(&sim).is_empty());
}

//! e2e (issue 14 items 2, 3, 5, 7, 8; issue 20 item 6 for the control plane): what
//! `terraform plan` says about a hosted control plane is exactly what `apply` does, with
//! the real Terraform CLI against k0stack-sim.

mod support;

use serde_json::json;
use support::hcp::{self, NS};

const A: &str = "k0stack_hosted_control_plane.a";

/// 14.2: a saved plan of a spec change, applied after k0smotron's address changed out of
/// band: the planned endpoint is kept (it is not re-read), no inconsistent result; the
/// refresh after records the new one.
#[test]
fn saved_plan_applies_after_an_out_of_band_change() {
    let (sim, tf) = hcp::start(&hcp::hcp("a", ""));
    tf.apply().assert_ok();
    let before = hcp::attrs(&tf, A);
    hcp::reconfigure(
        &tf,
        &hcp::hcp("a", "control_plane_flags = [\"--enable-metrics-scraper\"]"),
    );
    let plan = hcp::plan_json(&tf, "flags.plan");
    let c = hcp::change(&plan, A);
    assert_eq!(c["actions"], json!(["update"]));
    assert_eq!(
        c["after"]["endpoint"], before["endpoint"],
        "planned as known"
    );
    hcp::patch_cluster(&sim, "a", json!({"spec": {"externalAddress": "127.0.0.1"}}));
    let out = tf.run(&["apply", "-no-color", "-input=false", "flags.plan"]);
    hcp::consistent(&out);
    out.assert_ok();
    assert_eq!(
        hcp::cluster(&sim, "a")["spec"]["controlPlaneFlags"][0],
        "--enable-metrics-scraper"
    );
    // The address is k0smotron's (not configured): the refresh takes it, nothing to do.
    hcp::plan_is_empty(&tf);
    tf.run(&[
        "apply",
        "-no-color",
        "-input=false",
        "-auto-approve",
        "-refresh-only",
    ])
    .assert_ok();
    assert_eq!(hcp::attrs(&tf, A)["external_address"], "127.0.0.1");
}

/// 14.2: `apply -refresh=false` after drift (a management_kubeconfig-only change, and a
/// spec change): no inconsistent result.
#[test]
fn apply_without_refresh_after_drift() {
    let (sim, tf) = hcp::start(&hcp::hcp("a", ""));
    tf.apply().assert_ok();
    hcp::patch_cluster(&sim, "a", json!({"spec": {"externalAddress": "127.0.0.1"}}));
    hcp::reconfigure(&tf, &hcp::hcp("a", "wait_for_ready = false"));
    let out = tf.run(&[
        "apply",
        "-no-color",
        "-input=false",
        "-auto-approve",
        "-refresh=false",
    ]);
    hcp::consistent(&out);
    out.assert_ok();
    hcp::reconfigure(
        &tf,
        &hcp::hcp("a", "replicas = 1\n  image = \"mirror.local/k0s\""),
    );
    let out = tf.run(&[
        "apply",
        "-no-color",
        "-input=false",
        "-auto-approve",
        "-refresh=false",
    ]);
    hcp::consistent(&out);
    out.assert_ok();
    assert_eq!(hcp::cluster(&sim, "a")["spec"]["image"], "mirror.local/k0s");
}

/// 14.3: a storage type known only at apply (derived from a control plane created in the
/// same apply) is a replacement in the first plan, and the apply agrees.
#[test]
fn unknown_storage_type_is_a_replacement_in_the_first_plan() {
    let (sim, tf) = hcp::start(&hcp::hcp("a", ""));
    tf.apply().assert_ok();
    let uid = hcp::cluster(&sim, "a")["metadata"]["uid"].clone();
    let config = format!(
        "{}{}",
        hcp::hcp("b", ""),
        hcp::hcp(
            "a",
            r#"storage {
    type                 = k0stack_hosted_control_plane.b.id != "" ? "kine" : "etcd"
    kine_data_source_url = "postgres://u:p@db:5432/kine"
  }"#
        )
    );
    hcp::reconfigure(&tf, &config);
    let plan = hcp::plan_json(&tf, "storage.plan");
    let c = hcp::change(&plan, A);
    assert_eq!(c["actions"], json!(["delete", "create"]), "{c:#}");
    let out = tf.run(&["apply", "-no-color", "-input=false", "storage.plan"]);
    hcp::consistent(&out);
    out.assert_ok();
    let live = hcp::cluster(&sim, "a");
    assert_ne!(live["metadata"]["uid"], uid, "replaced");
    assert_eq!(live["spec"]["storage"]["type"], "kine");
    hcp::plan_is_empty(&tf);
}

/// 14.3: an external address known only at apply plans endpoint and kubeconfig unknown.
#[test]
fn unknown_external_address_plans_the_endpoint_unknown() {
    let (sim, tf) = hcp::start(&hcp::hcp("a", ""));
    tf.apply().assert_ok();
    let config = format!(
        "{}{}",
        hcp::hcp("b", ""),
        hcp::hcp("a", "external_address = k0stack_hosted_control_plane.b.id != \"\" ? \"127.0.0.1\" : \"127.0.0.2\""),
    );
    hcp::reconfigure(&tf, &config);
    let plan = hcp::plan_json(&tf, "address.plan");
    let c = hcp::change(&plan, A);
    assert_eq!(c["actions"], json!(["update"]));
    for k in ["endpoint", "kubeconfig", "external_address", "status"] {
        assert_eq!(c["after_unknown"][k], true, "{k} unknown: {c:#}");
    }
    let out = tf.run(&["apply", "-no-color", "-input=false", "address.plan"]);
    hcp::consistent(&out);
    out.assert_ok();
    assert_eq!(
        hcp::cluster(&sim, "a")["spec"]["externalAddress"],
        "127.0.0.1"
    );
    assert!(hcp::attrs(&tf, A)["endpoint"]
        .as_str()
        .unwrap()
        .starts_with("https://127.0.0.1:"));
    hcp::plan_is_empty(&tf);
}

/// 14.7: removing optional arguments plans their defaults, and the apply writes them.
#[test]
fn removed_arguments_plan_their_defaults() {
    let full = hcp::hcp(
        "a",
        r#"replicas            = 3
  wait_for_ready      = false
  image               = "mirror.local/k0s"
  control_plane_flags = ["--enable-metrics-scraper"]
  storage {
    type = "etcd"
  }
  service {
    type              = "NodePort"
    api_port          = 31443
    konnectivity_port = 31132
  }"#,
    );
    let (sim, tf) = hcp::start(&full);
    tf.apply().assert_ok();
    assert_eq!(hcp::node_ports(&sim, "a"), vec![31443, 31132]);
    let bare = hcp::hcp(
        "a",
        r#"storage {
    type = "etcd"
  }
  service {
    type = "NodePort"
  }"#,
    );
    hcp::reconfigure(&tf, &bare);
    let plan = hcp::plan_json(&tf, "bare.plan");
    let c = hcp::change(&plan, A);
    assert_eq!(c["actions"], json!(["update"]));
    assert_eq!(c["after"]["replicas"], 1);
    assert_eq!(c["after"]["wait_for_ready"], true);
    assert_eq!(c["after_unknown"]["api_port"], true, "allocated anew");
    assert_eq!(c["after_unknown"]["konnectivity_port"], true);
    let out = tf.run(&["apply", "-no-color", "-input=false", "bare.plan"]);
    hcp::consistent(&out);
    out.assert_ok();
    let live = hcp::cluster(&sim, "a");
    assert_eq!(live["spec"]["replicas"], 1);
    assert!(live["spec"].get("image").is_none(), "{live:#}");
    assert!(live["spec"].get("controlPlaneFlags").is_none(), "{live:#}");
    let a = hcp::attrs(&tf, A);
    let ports = vec![
        a["api_port"].as_u64().unwrap(),
        a["konnectivity_port"].as_u64().unwrap(),
    ];
    assert_eq!(hcp::node_ports(&sim, "a"), ports);
    assert!(!ports.contains(&31443) && ports.iter().all(|p| (30000..=32767).contains(p)));
    hcp::plan_is_empty(&tf);
}

/// 14.5: cert_sans is a set: reordering plans nothing; the apply had sent them all.
#[test]
fn reordered_cert_sans_plan_nothing() {
    let (sim, tf) = hcp::start(&hcp::hcp(
        "a",
        r#"cert_sans = ["b.example.com", "a.example.com"]"#,
    ));
    tf.apply().assert_ok();
    let sans = hcp::cluster(&sim, "a")["spec"]["k0sConfig"]["spec"]["api"]["sans"].clone();
    assert_eq!(sans, json!(["a.example.com", "b.example.com"]));
    hcp::plan_is_empty(&tf);
    hcp::reconfigure(
        &tf,
        &hcp::hcp("a", r#"cert_sans = ["a.example.com", "b.example.com"]"#),
    );
    hcp::plan_is_empty(&tf);
}

/// 14.8: every argument stored in the live objects is read back: each out-of-band edit
/// shows in the plan (naming the attribute) and the apply restores it.
#[test]
fn each_out_of_band_edit_is_planned_and_restored() {
    let body = r#"k0s_config = jsonencode({ spec = { network = { provider = "calico" } } })
  cert_sans  = ["api.example.com"]
  manifests  = { "extra.yaml" = "kind: Namespace\n" }
  resources {
    requests = { cpu = "500m" }
  }
  persistence {
    type = "pvc"
    size = "10Gi"
  }
  storage {
    type = "etcd"
    etcd {
      size = "2Gi"
    }
  }"#;
    let (sim, tf) = hcp::start(&hcp::hcp("a", body));
    tf.apply().assert_ok();
    hcp::plan_is_empty(&tf);
    let cm = "a-k0stack-manifests";
    type Edit<'a> = (&'static str, Box<dyn Fn() + 'a>);
    let edits: Vec<Edit> = vec![
        (
            "k0s_config",
            Box::new(|| {
                hcp::patch_cluster(
                    &sim,
                    "a",
                    json!({"spec": {"k0sConfig": {"spec": {"network": {"provider": "kuberouter"}}}}}),
                )
            }),
        ),
        (
            "cert_sans",
            Box::new(|| {
                hcp::patch_cluster(
                    &sim,
                    "a",
                    json!({"spec": {"k0sConfig": {"spec": {"api": {"sans": ["evil.example.com"]}}}}}),
                )
            }),
        ),
        (
            "resources",
            Box::new(|| {
                hcp::patch_cluster(
                    &sim,
                    "a",
                    json!({"spec": {"resources": {"requests": {"cpu": "2"}}}}),
                )
            }),
        ),
        (
            "persistence",
            Box::new(|| {
                hcp::patch_cluster(
                    &sim,
                    "a",
                    json!({"spec": {"persistence": {"persistentVolumeClaim": {"spec": {"resources": {"requests": {"storage": "1Gi"}}}}}}}),
                )
            }),
        ),
        (
            "storage",
            Box::new(|| {
                hcp::patch_cluster(
                    &sim,
                    "a",
                    json!({"spec": {"storage": {"etcd": {"persistence": {"size": "9Gi"}}}}}),
                )
            }),
        ),
        (
            "manifests",
            Box::new(|| {
                hcp::patch_core(
                    &sim,
                    "configmaps",
                    cm,
                    json!({"data": {"extra.yaml": "kind: Secret\n"}}),
                )
            }),
        ),
    ];
    let reference = hcp::cluster(&sim, "a")["spec"].clone();
    for (attr, edit) in edits {
        edit();
        let plan = tf.plan_exit_code();
        assert_eq!(
            plan.code,
            Some(2),
            "{attr}: the drift shows:\n{}",
            plan.all()
        );
        plan.assert_contains(attr);
        tf.apply().assert_ok();
        let live = hcp::cluster(&sim, "a")["spec"].clone();
        for k in ["k0sConfig", "resources", "persistence", "storage"] {
            assert_eq!(live[k], reference[k], "{attr}: {k} restored");
        }
        let data = support::identity::object(&sim.sim, "", "v1", "configmaps", NS, cm).unwrap()
            ["data"]
            .clone();
        assert_eq!(data, json!({"extra.yaml": "kind: Namespace\n"}), "{attr}");
        hcp::plan_is_empty(&tf);
    }
}

/// 20.6: an imported control plane with every read-back argument plans nothing when the
/// configuration matches.
#[test]
fn import_with_every_argument_plans_nothing() {
    let body = r#"k0s_config = jsonencode({ spec = { network = { provider = "calico" } } })
  cert_sans           = ["api.example.com"]
  control_plane_flags = ["--enable-metrics-scraper"]
  manifests           = { "extra.yaml" = "kind: Namespace\n" }
  resources {
    requests = { cpu = "500m" }
  }
  service {
    type = "NodePort"
  }"#;
    let (sim, tf) = hcp::start("");
    // Import records the cluster's own id (<kube-system uid>/<namespace>).
    let mgmt_id = format!("{}/{NS}", support::identity::kube_system_uid(&sim.sim));
    hcp::reconfigure(&tf, &hcp::hcp_in(&mgmt_id, "a", body));
    tf.apply().assert_ok();
    tf.run(&["state", "rm", A]).assert_ok();
    tf.run(&["import", "-no-color", "-input=false", A, &format!("{NS}/a")])
        .assert_ok();
    hcp::plan_is_empty(&tf);
}

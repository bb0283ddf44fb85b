//! e2e (issue 14 item 10, issue 20 item 3): a hosted control plane without a `service`
//! block is a NodePort control plane workers can join, and NodePort control planes get
//! node ports of their own (the simulator allocates node ports cluster-wide, as the
//! apiserver does, so clashing ports would be refused).

mod support;

use std::collections::BTreeSet;

use support::hcp::{self, NS};
use support::{CloudSim, TfDir};

/// Three NodePort control planes without configured ports, created in one apply: three
/// distinct port pairs, each Service holding its pair, all Available, an empty second plan.
#[test]
fn three_node_port_control_planes_get_ports_of_their_own() {
    let config: String = ["a", "b", "c"].iter().map(|n| hcp::hcp(n, "")).collect();
    let (sim, tf) = hcp::start(&config);
    tf.apply().assert_ok();
    let mut all = BTreeSet::new();
    for n in ["a", "b", "c"] {
        let a = hcp::attrs(&tf, &format!("k0stack_hosted_control_plane.{n}"));
        assert_eq!(a["service_type"], "NodePort");
        assert_eq!(a["status"], "Available=True", "{n}");
        let ports = vec![
            a["api_port"].as_u64().unwrap(),
            a["konnectivity_port"].as_u64().unwrap(),
        ];
        assert_eq!(
            hcp::node_ports(&sim, n),
            ports,
            "{n}: the Service holds the recorded ports"
        );
        let live = hcp::cluster(&sim, n);
        assert_eq!(live["spec"]["service"]["type"], "NodePort");
        assert_eq!(live["spec"]["service"]["apiPort"], ports[0]);
        assert!(
            a["endpoint"]
                .as_str()
                .unwrap()
                .ends_with(&format!(":{}", ports[0])),
            "{a:#}"
        );
        for p in ports {
            assert!((30000..=32767).contains(&p));
            assert!(all.insert(p), "port {p} handed out twice");
        }
    }
    hcp::plan_is_empty(&tf);
}

/// A configured node port another Service holds fails the plan, naming the attribute and
/// the Service; the existing control plane keeps its ports.
#[test]
fn a_configured_port_another_service_holds_is_a_plan_error() {
    let (sim, tf) = hcp::start(&hcp::hcp("a", ""));
    tf.apply().assert_ok();
    let a = hcp::attrs(&tf, "k0stack_hosted_control_plane.a");
    let (api, konn) = (
        a["api_port"].as_u64().unwrap(),
        a["konnectivity_port"].as_u64().unwrap(),
    );
    for (attr, body) in [
        ("api_port", format!("service {{\n    type     = \"NodePort\"\n    api_port = {api}\n  }}")),
        (
            "konnectivity_port",
            format!("service {{\n    type              = \"NodePort\"\n    konnectivity_port = {konn}\n  }}"),
        ),
    ] {
        hcp::reconfigure(&tf, &format!("{}{}", hcp::hcp("a", ""), hcp::hcp("b", &body)));
        let port = if attr == "api_port" { api } else { konn };
        tf.plan()
            .assert_failed()
            .assert_contains("Node port already allocated")
            .assert_contains(&format!("service.{attr} = {port}"))
            .assert_contains(&format!("the Service {NS}/kmc-a-nodeport"));
    }
    // Its own ports are no clash: configuring what a holds on a itself plans fine.
    let own = format!("service {{\n    type              = \"NodePort\"\n    api_port          = {api}\n    konnectivity_port = {konn}\n  }}");
    hcp::reconfigure(&tf, &hcp::hcp("a", &own));
    tf.plan().assert_ok();
    assert_eq!(hcp::node_ports(&sim, "a"), vec![api, konn]);
}

/// 14.10: a control plane with only its required arguments (no `service` block) is
/// reachable by workers: a pool joins it and is Ready.
#[test]
fn a_control_plane_with_only_required_arguments_is_joined_by_a_pool() {
    let cloud = CloudSim::start();
    let tf = TfDir::new("");
    cloud.write_files(&tf);
    let config = format!(
        r#"{}
resource "k0stack_management_cluster" "this" {{
  namespace = "kmc-system"
}}

resource "k0stack_hosted_control_plane" "dev" {{
  name                  = "dev"
  management_cluster_id = k0stack_management_cluster.this.id
  k0s_version           = "v1.32.6+k0s.0"
}}

resource "k0stack_worker_pool" "general" {{
  name                    = "general"
  hosted_control_plane_id = k0stack_hosted_control_plane.dev.id
  size                    = 2
  flavor                  = "m1.small"
  image                   = "ubuntu-24.04"
  networks                = ["private"]
  timeouts {{
    create = "2m"
  }}
}}
"#,
        cloud.provider_config()
    );
    tf.write("main.tf", &config);
    tf.init();
    let out = tf.apply();
    out.assert_ok();
    assert!(
        !out.all()
            .contains("only reachable inside the management cluster"),
        "{}",
        out.all()
    );
    let hcp = support::identity::attributes(&tf, "k0stack_hosted_control_plane.dev").unwrap();
    assert_eq!(hcp["service_type"], "NodePort");
    let pool = support::identity::attributes(&tf, "k0stack_worker_pool.general").unwrap();
    assert_eq!(pool["ready_count"], 2, "{pool:#}");
    assert_eq!(cloud.ready_nodes(NS, "dev"), 2);
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(0), "{}", plan.all());
}

/// A state of the previous provider version (no service_type/api_port/konnectivity_port;
/// the block recorded the default ports it planned, cert_sans a list) keeps its ports: the
/// plan changes no port, and its apply does not touch the Service's node ports.
#[test]
fn a_state_of_the_previous_version_keeps_its_ports() {
    let body = "cert_sans = [\"api.example.com\"]\n  service {\n    type = \"NodePort\"\n  }";
    let (sim, tf) = hcp::start(&hcp::hcp("a", body));
    tf.apply().assert_ok();
    // Make the Cluster and the state look like the previous version's: 30443/30132.
    hcp::patch_cluster(
        &sim,
        "a",
        serde_json::json!({"spec": {"service": {"apiPort": 30443, "konnectivityPort": 30132}}}),
    );
    support::identity::wait_until("the Service follows", || {
        hcp::node_ports(&sim, "a") == vec![30443, 30132]
    });
    support::identity::edit_state(&tf, |s| {
        let a = &mut s["resources"][0]["instances"][0]["attributes"];
        for k in ["service_type", "api_port", "konnectivity_port"] {
            a.as_object_mut().unwrap().remove(k);
        }
        a["service"] = serde_json::json!([{"type": "NodePort", "api_port": 30443, "konnectivity_port": 30132}]);
        a["cert_sans"] = serde_json::json!(["api.example.com"]);
    });
    let plan = hcp::plan_json(&tf, "legacy.plan");
    let c = hcp::change(&plan, "k0stack_hosted_control_plane.a");
    assert_eq!(c["after"]["api_port"], 30443, "{c:#}");
    assert_eq!(c["after"]["konnectivity_port"], 30132);
    let out = tf.run(&["apply", "-no-color", "-input=false", "legacy.plan"]);
    hcp::consistent(&out);
    out.assert_ok();
    assert_eq!(hcp::node_ports(&sim, "a"), vec![30443, 30132]);
    let a = hcp::attrs(&tf, "k0stack_hosted_control_plane.a");
    assert_eq!(
        (a["api_port"].as_u64(), a["konnectivity_port"].as_u64()),
        (Some(30443), Some(30132))
    );
    hcp::plan_is_empty(&tf);
}

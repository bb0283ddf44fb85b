//! e2e: `examples/quickstart` (what `make demo` applies) is applied as written against both
//! halves of k0stack-sim, with the connections coming from the environment as in the demo
//! (KUBECONFIG, OS_* variables): 3 hosted control planes and 4 pools become Ready, a second
//! plan is empty and sees no drift, and destroy leaves no server.

mod support;

use support::{CloudSim, TfDir};

#[test]
fn the_quickstart_applies_plans_empty_and_destroys() {
    let cloud = CloudSim::start();
    let mut tf = TfDir::new("");
    let quickstart = support::repo_root().join("examples/quickstart/main.tf");
    tf.write("main.tf", &std::fs::read_to_string(quickstart).unwrap());
    cloud.set_connection_env(&mut tf);
    tf.init();
    tf.apply().assert_ok().assert_no_crash();

    let summary = tf.outputs()["summary"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    for line in ["dev ", "staging ", "prod "] {
        assert!(summary.contains(line), "{summary}");
    }
    assert!(
        summary.contains("2/2") && summary.contains("3/3") && summary.contains("7/7"),
        "{summary}"
    );
    assert_eq!(cloud.ready_nodes("kmc-system", "dev"), 2);
    assert_eq!(cloud.ready_nodes("kmc-system", "staging"), 3);
    assert_eq!(cloud.ready_nodes("kmc-system", "prod"), 7);
    let gpu: Vec<serde_json::Value> = cloud
        .hosted_nodes("kmc-system", "prod")
        .into_iter()
        .filter(|n| n["metadata"]["name"].as_str().unwrap().starts_with("gpu-"))
        .collect();
    assert_eq!(gpu.len(), 2);
    assert!(gpu
        .iter()
        .all(|n| n["spec"]["taints"][0]["key"] == "nvidia.com/gpu"));

    // What the demo shows: kubectl with the dev cluster's kubeconfig output, printed by the
    // (simulated) apiserver's Table columns.
    let out = tf.outputs();
    let kc = tf.write(
        "dev.kubeconfig",
        out["dev_kubeconfig"]["value"].as_str().unwrap(),
    );
    let (ok, stdout, stderr) = support::kubectl(&kc, &["get", "nodes", "-o", "wide"]);
    assert!(ok, "kubectl get nodes failed: {stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("NAME")
            && lines[0].contains("STATUS")
            && lines[0].contains("INTERNAL-IP"),
        "{stdout}"
    );
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.starts_with("dev-") && l.contains(" Ready ") && l.contains("127.100.")),
        "{stdout}"
    );

    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(0), "second plan not empty:\n{}", plan.all());
    assert!(
        !plan.all().contains("changed outside of Terraform"),
        "a refresh right after apply must see no drift:\n{}",
        plan.all()
    );

    tf.destroy().assert_ok();
    let left: Vec<_> = cloud
        .servers()
        .into_iter()
        .filter(|s| s.status != "DELETED")
        .collect();
    assert!(left.is_empty(), "{left:#?}");
}

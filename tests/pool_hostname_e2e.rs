//! e2e (issue 15 item 4): k0s names a Node after the guest's hostname, and RHEL-family
//! images make it `<server name>.novalocal` (Nova's metadata hostname with dhcp_domain).
//! Members of such a pool still count as Ready, the plan after apply is empty, and a
//! scale-down drains and deletes exactly the node of the member it removes.

mod support;

use support::{CloudSim, TfDir};

fn pool(size: u32) -> String {
    format!(
        r#"
resource "k0stack_worker_pool" "rocky" {{
  name                    = "rocky"
  hosted_control_plane_id = k0stack_hosted_control_plane.dev.id
  size                    = {size}
  flavor                  = "m1.small"
  image                   = "rocky-9"
  networks                = ["private"]
}}
"#
    )
}

#[test]
fn nodes_named_after_an_fqdn_hostname_are_the_members_nodes() {
    let cloud = CloudSim::start();
    let tf = TfDir::new("");
    cloud.write_files(&tf);
    tf.write(
        "main.tf",
        &format!("{}{}", cloud.dev_control_plane_config(), pool(2)),
    );
    tf.init();
    tf.apply().assert_ok();
    let names: Vec<String> = cloud
        .hosted_nodes("kmc-system", "dev")
        .iter()
        .map(|n| n["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.iter().all(|n| n.ends_with(".novalocal")), "{names:?}");
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(0), "the plan is not empty:\n{}", plan.all());

    tf.write(
        "main.tf",
        &format!("{}{}", cloud.dev_control_plane_config(), pool(1)),
    );
    tf.apply().assert_ok();
    let left: Vec<String> = cloud
        .hosted_nodes("kmc-system", "dev")
        .iter()
        .map(|n| n["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(names.contains(&left[0]));
    let live: Vec<String> = cloud
        .servers()
        .into_iter()
        .filter(|s| !s.deleting && s.status != "DELETED")
        .map(|s| format!("{}.novalocal", s.name))
        .collect();
    assert_eq!(live, left, "the remaining node is the remaining server's");
    let deleted = cloud
        .history()
        .iter()
        .filter(|e| e.kind == "node.delete")
        .count();
    assert_eq!(deleted, 1, "exactly the removed member's node was deleted");
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(0), "the plan is not empty:\n{}", plan.all());
}

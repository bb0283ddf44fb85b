//! e2e (issue 14, the worker pool's side): what `terraform plan` says is what apply does.
//! Reordered sets plan nothing; metadata changes in place without a roll; a removed
//! optional argument plans its default; a new image under the same name shows as an
//! `image_id` change; ambiguous or unusable images are one clear diagnostic.

mod support;

use support::{CloudSim, TfDir};

const UBUNTU: &str = "5d1d4f6e-0b47-4a3c-9f6b-2c1e8b6f0a01";

fn pool(extra: &str) -> String {
    format!(
        r#"
resource "k0stack_worker_pool" "general" {{
  name                    = "general"
  hosted_control_plane_id = k0stack_hosted_control_plane.dev.id
  size                    = 2
  flavor                  = "m1.small"
  networks                = ["private"]
  {extra}
}}
"#
    )
}

fn setup(extra: &str) -> (CloudSim, TfDir) {
    let cloud = CloudSim::start();
    let tf = TfDir::new("");
    cloud.write_files(&tf);
    write(&cloud, &tf, extra);
    tf.init();
    tf.apply().assert_ok();
    (cloud, tf)
}

fn write(cloud: &CloudSim, tf: &TfDir, extra: &str) {
    tf.write(
        "main.tf",
        &format!("{}{}", cloud.dev_control_plane_config(), pool(extra)),
    );
}

fn servers(cloud: &CloudSim) -> Vec<k0stack_sim::openstack::ServerView> {
    cloud
        .servers()
        .into_iter()
        .filter(|s| s.tags.iter().any(|t| t.starts_with("k0stack-pool=")) && !s.deleting)
        .collect()
}

fn ids(cloud: &CloudSim) -> std::collections::BTreeSet<String> {
    servers(cloud).into_iter().map(|s| s.id).collect()
}

#[test]
fn reordered_security_groups_and_taints_plan_nothing() {
    let (_cloud, tf) = setup(
        r#"image = "ubuntu-24.04"
  security_groups = ["k0s-worker", "default"]
  taints          = ["a=1:NoSchedule", "b=2:NoSchedule"]"#,
    );
    let (cloud, _) = (&_cloud, ());
    write(
        cloud,
        &tf,
        r#"image = "ubuntu-24.04"
  security_groups = ["default", "k0s-worker"]
  taints          = ["b=2:NoSchedule", "a=1:NoSchedule"]"#,
    );
    let plan = tf.plan_exit_code();
    assert_eq!(
        plan.code,
        Some(0),
        "reordering is not a change:\n{}",
        plan.all()
    );
}

#[test]
fn metadata_changes_in_place_without_a_roll() {
    let (cloud, tf) = setup(
        r#"image = "ubuntu-24.04"
  metadata = { team = "a", env = "dev" }"#,
    );
    let before = ids(&cloud);
    write(
        &cloud,
        &tf,
        "image = \"ubuntu-24.04\"\n  metadata = { team = \"b\" }",
    );
    let plan = tf.plan();
    plan.assert_ok().assert_contains("update in-place");
    assert!(
        !plan.all().contains("~ template_hash"),
        "no roll planned:\n{}",
        plan.all()
    );
    tf.apply().assert_ok();
    assert_eq!(ids(&cloud), before, "the same servers");
    for s in servers(&cloud) {
        assert_eq!(
            s.metadata.get("team").map(String::as_str),
            Some("b"),
            "{s:?}"
        );
        assert!(
            !s.metadata.contains_key("env"),
            "a removed key is deleted: {s:?}"
        );
        assert!(
            s.metadata.contains_key("k0stack-template"),
            "ours stay: {s:?}"
        );
    }
    assert_eq!(tf.plan_exit_code().code, Some(0));
}

#[test]
fn a_scale_down_plan_names_the_members_it_removes() {
    let (cloud, tf) = setup("image = \"ubuntu-24.04\"");
    let mut live = servers(&cloud);
    live.sort_by(|a, b| a.name.cmp(&b.name));
    let config = pool("image = \"ubuntu-24.04\"")
        .replace("size                    = 2", "size                    = 1");
    tf.write(
        "main.tf",
        &format!("{}{config}", cloud.dev_control_plane_config()),
    );
    let plan = tf.plan();
    plan.assert_ok()
        .assert_contains("Members removed by the scale-down")
        .assert_contains("scaling from 2 to 1 removes 1");
    let all = plan.all().split_whitespace().collect::<Vec<_>>().join(" ");
    let note = all.split("scaling from 2 to 1").nth(1).unwrap_or_default();
    let note = note.split('.').next().unwrap_or_default().to_string();
    let named: Vec<_> = live.iter().filter(|s| note.contains(&s.id)).collect();
    assert_eq!(named.len(), 1, "exactly one member named:\n{}", plan.all());
    let going = named[0].id.clone();
    tf.apply().assert_ok();
    let left = servers(&cloud);
    assert_eq!(left.len(), 1);
    assert_ne!(left[0].id, going, "the member the plan named went");
}

#[test]
fn a_removed_optional_argument_plans_its_default() {
    let (cloud, tf) =
        setup("image = \"ubuntu-24.04\"\n  max_parallel = 3\n  stopped_members = \"keep\"");
    write(&cloud, &tf, "image = \"ubuntu-24.04\"");
    let plan = tf.plan();
    plan.assert_ok()
        .assert_contains("~ max_parallel = 3 -> 20")
        .assert_contains("~ stopped_members = \"keep\" -> \"start\"");
    tf.apply().assert_ok();
    assert_eq!(tf.plan_exit_code().code, Some(0));
}

#[test]
fn a_new_image_under_the_same_name_shows_in_the_plan() {
    let (cloud, tf) = setup("image = \"ubuntu-24.04\"");
    let before = ids(&cloud);
    let show = tf.run(&["state", "show", "-no-color", "k0stack_worker_pool.general"]);
    show.assert_ok()
        .assert_contains(&format!("image_id = \"{UBUNTU}\""));
    // An operator uploads a new ubuntu-24.04 and deactivates the old one.
    let new = cloud.add_image("ubuntu-24.04", "active");
    cloud.set_image_status(UBUNTU, "deactivated");
    let plan = tf.plan();
    plan.assert_ok()
        .assert_contains(&format!("~ image_id = \"{UBUNTU}\" -> \"{new}\""))
        .assert_contains("~ template_hash");
    tf.apply().assert_ok();
    let after = ids(&cloud);
    assert!(after.is_disjoint(&before), "rolled onto the new image");
    assert_eq!(after.len(), 2);
    assert_eq!(tf.plan_exit_code().code, Some(0));

    // Two active images with the name: one diagnostic at `image`, listing both ids.
    let twin = cloud.add_image("ubuntu-24.04", "active");
    let plan = tf.plan();
    plan.assert_failed()
        .assert_contains("Ambiguous image")
        .assert_contains(&new)
        .assert_contains(&twin);
    // Only a queued image of that name: unusable, said so.
    write(&cloud, &tf, "image = \"half-uploaded\"");
    cloud.set_image_status(&twin, "deactivated");
    cloud.add_image("half-uploaded", "queued");
    tf.plan()
        .assert_failed()
        .assert_contains("Unusable image")
        .assert_contains("queued");
}

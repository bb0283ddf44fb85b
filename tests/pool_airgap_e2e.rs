//! e2e (issue 15 item 10): worker pools in an air-gapped site. The strict simulator's
//! `air_gapped` knob refuses get.k0s.sh, GitHub and the public registries; a worker joins
//! only with its k0s binary from `k0s_download_url` and becomes Ready only with its images
//! from an `airgap` bundle or from the mirror registry the control plane's `k0s_config`
//! names (`spec.images.repository`). Without either, the apply says which nodes are not
//! Ready and what their kubelet reports.

mod support;

use support::{CloudSim, TfDir};

const MIRROR_BIN: &str = "https://mirror.site/k0s/k0s-v1.32.6+k0s.0-amd64";
const MIRROR_BUNDLE: &str = "https://mirror.site/k0s/k0s-airgap-bundle-v1.32.6+k0s.0-amd64";

fn air_gapped() -> CloudSim {
    CloudSim::start_with(
        k0stack_sim::openstack::OpenStackOptions {
            boot_latency: std::time::Duration::from_millis(200),
            ..Default::default()
        },
        k0stack_sim::k8s::K8sOptions {
            ready_delay: std::time::Duration::from_millis(300),
            join_latency: std::time::Duration::from_millis(100),
            air_gapped: true,
            ..Default::default()
        },
    )
}

fn pool(name: &str, size: u32, body: &str) -> String {
    format!(
        r#"
resource "k0stack_worker_pool" "{name}" {{
  name                    = "{name}"
  hosted_control_plane_id = k0stack_hosted_control_plane.dev.id
  size                    = {size}
  flavor                  = "m1.small"
  image                   = "ubuntu-24.04"
  networks                = ["private"]
  {body}
}}
"#
    )
}

fn apply_in(cloud: &CloudSim, config: &str) -> (TfDir, support::TfOutput) {
    let tf = TfDir::new("");
    cloud.write_files(&tf);
    tf.write("main.tf", config);
    tf.init();
    let out = tf.apply();
    (tf, out)
}

#[test]
fn a_pool_with_a_mirror_binary_and_an_image_bundle_joins() {
    let cloud = air_gapped();
    let body = format!(
        "k0s_download_url = \"{MIRROR_BIN}\"\n  airgap {{\n    bundle_url    = \"{MIRROR_BUNDLE}\"\n    bundle_sha256 = \"{}\"\n  }}",
        "ab".repeat(32)
    );
    let config = format!(
        "{}{}",
        cloud.dev_control_plane_config(),
        pool("general", 2, &body)
    );
    let (tf, out) = apply_in(&cloud, &config);
    out.assert_ok();
    assert_eq!(cloud.ready_nodes("kmc-system", "dev"), 2);
    let failures = cloud.k8s.joiner.failures.lock().unwrap().clone();
    assert!(failures.is_empty(), "{failures:?}");
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(0), "the plan is not empty:\n{}", plan.all());
}

#[test]
fn a_mirror_registry_in_the_control_planes_k0s_config_gives_the_images() {
    let cloud = air_gapped();
    let config = cloud.dev_control_plane_config().replace(
        "  service {\n    type = \"NodePort\"\n  }",
        "  service {\n    type = \"NodePort\"\n  }\n  k0s_config = jsonencode({ spec = { images = { repository = \"registry.site:5000/k0s\" } } })",
    );
    assert!(config.contains("registry.site:5000/k0s"));
    let body = format!("k0s_download_url = \"{MIRROR_BIN}\"");
    let (tf, out) = apply_in(&cloud, &format!("{config}{}", pool("general", 1, &body)));
    out.assert_ok();
    assert_eq!(cloud.ready_nodes("kmc-system", "dev"), 1);
    let store = cloud.k8s.api.store.lock().unwrap();
    let rt = store.find_kind("k0smotron.io", "Cluster").unwrap();
    let live = store.get(&rt, "kmc-system", "dev").unwrap();
    drop(store);
    assert_eq!(
        live["spec"]["k0sConfig"]["spec"]["images"]["repository"], "registry.site:5000/k0s",
        "{live}"
    );
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(0), "the plan is not empty:\n{}", plan.all());
}

#[test]
fn without_images_or_binary_from_the_site_the_apply_says_why_nodes_are_not_ready() {
    let cloud = air_gapped();
    let timeouts = "timeouts {\n    create = \"8s\"\n  }";
    let no_bundle = format!("k0s_download_url = \"{MIRROR_BIN}\"\n  {timeouts}");
    let config = format!(
        "{}{}{}",
        cloud.dev_control_plane_config(),
        pool("nobundle", 1, &no_bundle),
        pool("public", 1, timeouts)
    );
    let (_tf, out) = apply_in(&cloud, &config);
    out.assert_failed();
    // The mirror binary joined, but its node is NotReady: the kubelet's own words, and
    // what provides the images.
    out.assert_contains("node NotReady (KubeletNotReady: container runtime network not ready")
        .assert_contains("airgap.bundle_url")
        .assert_contains("spec.images.repository");
    // get.k0s.sh is unreachable: no node at all.
    out.assert_contains("node not registered");
    let nodes = cloud.hosted_nodes("kmc-system", "dev");
    assert_eq!(nodes.len(), 1, "only the mirror binary's worker registered");
    assert!(!support::node_ready(&nodes[0]));
}

#[test]
fn a_bundle_for_another_version_than_the_control_planes_is_refused_before_any_server() {
    let cloud = air_gapped();
    let body = format!(
        "k0s_download_url = \"{MIRROR_BIN}\"\n  airgap {{\n    bundle_url = \"https://mirror.site/k0s/k0s-airgap-bundle-v1.31.2+k0s.0-amd64\"\n  }}"
    );
    let tf = TfDir::new("");
    cloud.write_files(&tf);
    tf.write(
        "main.tf",
        &format!(
            "{}{}",
            cloud.dev_control_plane_config(),
            pool("general", 1, &body)
        ),
    );
    tf.init();
    // The control plane is created in this apply: its version is known only then.
    let out = tf.apply();
    out.assert_failed()
        .assert_contains("Error: Image bundle of another k0s version")
        .assert_contains("the workers run v1.32.6+k0s.0");
    assert!(cloud.servers().is_empty(), "no server was created");
    // Now that the control plane runs, the plan says it.
    tf.plan()
        .assert_failed()
        .assert_contains("Error: Image bundle of another k0s version");
}

//! e2e (issue 15 item 2): a control plane with `k0s_config` or `cert_sans` starts on
//! k0smotron, which refuses a `spec.k0sConfig` that is not `apiVersion:
//! k0s.k0sproject.io/v1beta1` ("unsupported k0s config version"; the strict simulator does
//! the same), and the provider's envelope never shows as drift.

mod support;

use support::hcp;

const A: &str = "k0stack_hosted_control_plane.a";

#[test]
fn a_k0s_config_or_cert_sans_give_a_ready_control_plane() {
    for body in [
        r#"k0s_config = jsonencode({ spec = { network = { provider = "calico" } } })"#,
        r#"cert_sans = ["api.example.com"]"#,
        "k0s_config = \"apiVersion: k0s.k0sproject.io/v1beta1\\nkind: ClusterConfig\\nspec:\\n  telemetry:\\n    enabled: false\\n\"",
    ] {
        // A Cluster k0smotron refuses never becomes ready: fail in seconds, not minutes.
        let body = format!("{body}\n  timeouts {{\n    create = \"30s\"\n  }}");
        let (sim, tf) = hcp::start(&hcp::hcp("a", &body));
        tf.apply().assert_ok();
        let live = hcp::cluster(&sim, "a");
        assert_eq!(
            live["spec"]["k0sConfig"]["apiVersion"], "k0s.k0sproject.io/v1beta1",
            "{body}: {live}"
        );
        assert_eq!(live["spec"]["k0sConfig"]["kind"], "ClusterConfig", "{body}");
        let available = live["status"]["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Available"))
            .map(|c| c["status"].clone());
        assert_eq!(available, Some("True".into()), "{body}: {live}");
        assert!(
            hcp::attrs(&tf, A)["kubeconfig"].as_str().is_some_and(|k| !k.is_empty()),
            "{body}"
        );
        hcp::plan_is_empty(&tf);
    }
}

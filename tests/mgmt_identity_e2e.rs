//! e2e (issue 13): which objects a `k0stack_management_cluster` is, and owns — identity
//! from the cluster itself (kube-system uid), several instances (several states) on one
//! Kubernetes cluster, ownership of the namespace and the credentials Secret, the identity
//! the credentials carry, import — with the real Terraform CLI against k0stack-sim.

mod support;

use std::time::Duration;

use k0stack_sim::k8s::K8sOptions;
use support::mgmt::{self, connected_provider, dir_on, management_cluster, K0SMOTRON_MANIFEST};
use support::MgmtSim;

fn quick() -> K8sOptions {
    K8sOptions {
        ready_delay: Duration::from_millis(200),
        ..Default::default()
    }
}

/// A cluster without k0smotron: the management cluster resources install it.
fn bare() -> K8sOptions {
    K8sOptions {
        k0smotron_versions: vec![],
        ..quick()
    }
}

fn with_manifest(name: &str, ns: &str) -> String {
    format!(
        "{}{}",
        connected_provider("mgmt.kubeconfig", ""),
        management_cluster(
            name,
            ns,
            "  k0smotron_manifest = file(\"${path.module}/k0smotron.yaml\")"
        )
    )
}

/// Issue 13 item 1: destroying one of two management clusters sharing a Kubernetes
/// cluster deletes neither the k0smotron CRDs nor the other's control planes.
#[test]
fn destroying_one_of_two_management_clusters_keeps_the_shared_k0smotron() {
    let sim = MgmtSim::start(bare());
    let a = dir_on(&sim, &with_manifest("a", "team-a"));
    a.write("k0smotron.yaml", K0SMOTRON_MANIFEST);
    let b = dir_on(&sim, &with_manifest("b", "team-b"));
    b.write("k0smotron.yaml", K0SMOTRON_MANIFEST);
    a.apply().assert_ok();
    b.apply().assert_ok();
    mgmt::create_hosted_cluster(&sim, "team-b", "prod");

    let out = a.destroy();
    out.assert_ok()
        .assert_contains("k0smotron left installed")
        .assert_contains("team-b/prod");
    let crds = mgmt::crds(&sim);
    assert!(
        crds.contains(&"clusters.k0smotron.io".to_string()),
        "the CRDs survive: {crds:?}"
    );
    assert_eq!(
        mgmt::names(&sim, "k0smotron.io", "v1beta2", "clusters"),
        vec!["team-b/prod".to_string()]
    );
    assert_eq!(mgmt::names(&sim, "apps", "v1", "deployments").len(), 1);
    let ns = mgmt::namespaces(&sim);
    assert!(!ns.contains(&"team-a".to_string()), "{ns:?}");
    assert!(ns.contains(&"team-b".to_string()), "{ns:?}");
    assert_eq!(b.plan_exit_code().code, Some(0), "b is untouched");

    // b's destroy refuses while its control plane exists; once it is gone, the last user of
    // k0smotron uninstalls it (although a installed it).
    b.destroy()
        .assert_failed()
        .assert_contains("Hosted control planes still exist")
        .assert_contains("prod");
    mgmt::delete(
        &sim,
        "k0smotron.io",
        "v1beta2",
        "clusters",
        "team-b",
        "prod",
    );
    let out = b.destroy();
    out.assert_ok();
    assert!(mgmt::crds(&sim).is_empty(), "{:?}", mgmt::crds(&sim));
    assert!(mgmt::names(&sim, "apps", "v1", "deployments").is_empty());
    assert!(mgmt::names(&sim, "rbac.authorization.k8s.io", "v1", "clusterroles").is_empty());
}

const HCP: &str = r#"
resource "k0stack_hosted_control_plane" "dev" {
  name                  = "dev"
  management_cluster_id = k0stack_management_cluster.this.id
  k0s_version           = "v1.32.6+k0s.0"
}
"#;

/// Issue 13 item 3: the id is the cluster's own (kube-system uid); renaming the context or
/// reaching the same API server through another URL or kubeconfig file changes nothing.
#[test]
fn a_renamed_context_or_another_url_for_the_same_cluster_plans_nothing() {
    let sim = MgmtSim::start(quick());
    let config = format!(
        "{}{}{HCP}output \"id\" {{\n  value = k0stack_management_cluster.this.id\n}}\n",
        connected_provider("mgmt.kubeconfig", ""),
        management_cluster("this", "kmc-system", "")
    );
    let tf = dir_on(&sim, &config);
    tf.apply().assert_ok();
    let uid = mgmt::kube_system_uid(&sim);
    assert_eq!(tf.outputs()["id"]["value"], format!("{uid}/kmc-system"));
    assert_eq!(tf.plan_exit_code().code, Some(0));
    // Replaced, it is another instance with an id only apply knows: what references it
    // sees that in its own plan.
    let replace = tf.run(&[
        "plan",
        "-no-color",
        "-input=false",
        "-replace=k0stack_management_cluster.this",
    ]);
    replace
        .assert_ok()
        .assert_contains("k0stack_management_cluster.this will be replaced, as requested")
        .assert_contains(&format!(
            "~ id = \"{uid}/kmc-system\" -> (known after apply)"
        ))
        .assert_contains(&format!(
            "~ management_cluster_id = \"{uid}/kmc-system\" -> (known after apply)"
        ));

    // A laptop's context name vs CI's.
    let kc = sim.sim.kubeconfig();
    tf.write(
        "mgmt.kubeconfig",
        &mgmt::rename_context(&kc, "k0stack-sim", "ci-admin@management"),
    );
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(0), "context rename:\n{}", plan.all());

    // Another kubeconfig file naming the server https://localhost:<port>.
    tf.write("other.kubeconfig", &mgmt::localhost_alias(&kc));
    tf.write(
        "main.tf",
        &config.replace("mgmt.kubeconfig", "other.kubeconfig"),
    );
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(0), "another URL:\n{}", plan.all());
    tf.apply().assert_ok();
    assert_eq!(tf.outputs()["id"]["value"], format!("{uid}/kmc-system"));
}

/// Issue 13 item 3: the same context name on another cluster is an error at refresh, and
/// nothing is removed from the state.
#[test]
fn another_cluster_behind_the_same_context_is_an_error_at_refresh() {
    let first = MgmtSim::start(quick());
    let tf = dir_on(
        &first,
        &format!(
            "{}{}",
            connected_provider("mgmt.kubeconfig", ""),
            management_cluster("this", "kmc-system", "")
        ),
    );
    tf.apply().assert_ok();
    let second = MgmtSim::start(quick());
    tf.write("mgmt.kubeconfig", &second.sim.kubeconfig());
    let out = tf.plan();
    out.assert_failed()
        .assert_contains("Another Kubernetes cluster")
        .assert_contains(&mgmt::kube_system_uid(&first))
        .assert_contains(&mgmt::kube_system_uid(&second));
    tf.run(&["state", "list"])
        .assert_ok()
        .assert_contains("k0stack_management_cluster.this");
    assert!(!mgmt::namespaces(&second).contains(&"kmc-system".to_string()));
    // Pointed back at its own cluster, everything is as it was.
    tf.write("mgmt.kubeconfig", &first.sim.kubeconfig());
    assert_eq!(tf.plan_exit_code().code, Some(0));
}

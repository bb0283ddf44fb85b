//! e2e (issue 20): `examples/modules/cluster` — a control plane and its pools, with every
//! optional nested block `dynamic` over a variable — as the environments use it:
//! `examples/environments/dev` and `prod` applied as written (each its own state, one
//! management cluster), empty plans afterwards; and the same module called with values
//! unknown until apply (a management cluster created in the same apply, pool labels from its
//! computed attributes).

mod support;

use std::path::Path;

use support::{CloudSim, TfDir};

/// Copies `examples/<rel>` (recursively) into the working directory at the same place, so
/// relative module sources resolve as in the repository.
fn copy_example(tf: &TfDir, rel: &str) {
    fn walk(tf: &TfDir, root: &Path, dir: &Path) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(tf, root, &p);
            } else if p.extension().is_some_and(|x| x == "tf") {
                let to = Path::new("examples").join(p.strip_prefix(root).unwrap());
                tf.write(to.to_str().unwrap(), &std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    let root = support::repo_root().join("examples");
    walk(tf, &root, &root.join(rel));
}

fn in_dir<'a>(dir: &'a str, args: &[&'a str]) -> Vec<String> {
    let mut all = vec![format!("-chdir={dir}")];
    all.extend(args.iter().map(|s| s.to_string()));
    all
}

fn run(tf: &TfDir, dir: &str, args: &[&str]) -> support::TfOutput {
    let args = in_dir(dir, args);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    tf.run(&args)
}

#[test]
fn the_environments_apply_through_the_cluster_module() {
    let cloud = CloudSim::start();
    let mut tf = TfDir::new("");
    cloud.set_connection_env(&mut tf);
    copy_example(&tf, "modules/cluster");
    for env in ["dev", "prod"] {
        copy_example(&tf, &format!("environments/{env}"));
        let dir = format!("examples/environments/{env}");
        run(&tf, &dir, &["init", "-no-color", "-input=false"]).assert_ok();
        run(
            &tf,
            &dir,
            &["apply", "-no-color", "-input=false", "-auto-approve"],
        )
        .assert_ok();
        let plan = run(
            &tf,
            &dir,
            &["plan", "-no-color", "-input=false", "-detailed-exitcode"],
        );
        assert_eq!(
            plan.code,
            Some(0),
            "{env}: the plan is not empty:\n{}",
            plan.all()
        );
    }
    assert_eq!(cloud.ready_nodes("kmc-system", "dev"), 2);
    assert_eq!(cloud.ready_nodes("kmc-system", "prod"), 7);
    // prod's dynamic blocks arrived: boot volumes for gpu, taints on its nodes.
    let gpu: Vec<serde_json::Value> = cloud
        .hosted_nodes("kmc-system", "prod")
        .into_iter()
        .filter(|n| n["metadata"]["name"].as_str().unwrap().starts_with("gpu-"))
        .collect();
    assert_eq!(gpu.len(), 2);
    assert!(gpu
        .iter()
        .all(|n| n["spec"]["taints"][0]["key"] == "nvidia.com/gpu"));
    for env in ["dev", "prod"] {
        run(
            &tf,
            &format!("examples/environments/{env}"),
            &["destroy", "-no-color", "-input=false", "-auto-approve"],
        )
        .assert_ok();
    }
}

#[test]
fn the_cluster_module_plans_with_values_unknown_until_apply() {
    let cloud = CloudSim::start();
    let mut tf = TfDir::new("");
    cloud.set_connection_env(&mut tf);
    copy_example(&tf, "modules/cluster");
    tf.write(
        "main.tf",
        r#"
provider "k0stack" {}

resource "k0stack_management_cluster" "this" {
  namespace = "kmc-system"
}

module "cluster" {
  source = "./examples/modules/cluster"

  name                  = "lab"
  management_cluster_id = k0stack_management_cluster.this.id
  k0s_version           = "v1.32.6+k0s.0"
  service_type          = "NodePort"
  storage               = { type = "etcd", etcd_size = null }
  persistence           = { type = "emptyDir", size = null }

  pools = {
    general = {
      size          = 1
      flavor        = "m1.small"
      labels        = { "example.com/management" = k0stack_management_cluster.this.instance_id }
      drain_timeout = k0stack_management_cluster.this.namespace_created ? "2m" : "3m"
    }
  }
}
"#,
    );
    tf.write("versions.tf", &support::required_providers());
    tf.init();
    let plan = tf.plan();
    plan.assert_ok().assert_no_crash();
    assert!(
        plan.stdout.contains("(known after apply)"),
        "{}",
        plan.stdout
    );
    let out = tf.apply();
    assert!(!out.all().contains("inconsistent"), "{}", out.all());
    out.assert_ok();
    let plan = tf.plan_exit_code();
    assert_eq!(plan.code, Some(0), "the plan is not empty:\n{}", plan.all());
    assert_eq!(cloud.ready_nodes("kmc-system", "lab"), 1);
}

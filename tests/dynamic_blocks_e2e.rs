//! e2e (issue 20, item 1): every nested block written as `dynamic` over a variable, in a
//! module, validates, plans and applies; a block whose `for_each` is known only after
//! apply plans too. No internal deserialisation text reaches the user.

mod support;

use support::{CloudSim, TfDir};

const POOL_MODULE: &str = r#"
terraform {
  required_providers {
    k0stack = { source = "k0stack/k0stack" }
  }
}

variable "hcp_id" { type = string }
variable "boot_volume_gb" {
  type    = number
  default = null
}
variable "rolling" {
  type    = object({ max_surge = number, max_unavailable = number })
  default = null
}
variable "drain_timeout" {
  type    = string
  default = null
}
variable "timeout" {
  type    = string
  default = null
}
variable "gate" {
  description = "A value that may be known only after apply; the drain block exists when it is non-empty."
  type        = string
  default     = ""
}

resource "k0stack_worker_pool" "this" {
  name                    = "general"
  hosted_control_plane_id = var.hcp_id
  size                    = 1
  flavor                  = "m1.small"
  image                   = "ubuntu-24.04"
  networks                = ["private"]

  dynamic "boot_volume" {
    for_each = var.boot_volume_gb == null ? [] : [var.boot_volume_gb]
    content {
      size = boot_volume.value
    }
  }
  dynamic "rolling_update" {
    for_each = var.rolling == null ? [] : [var.rolling]
    content {
      max_surge       = rolling_update.value.max_surge
      max_unavailable = rolling_update.value.max_unavailable
    }
  }
  dynamic "drain" {
    for_each = var.drain_timeout == null && var.gate == "" ? [] : [coalesce(var.drain_timeout, "5m")]
    content {
      timeout = drain.value
    }
  }
  dynamic "timeouts" {
    for_each = var.timeout == null ? [] : [var.timeout]
    content {
      create = timeouts.value
    }
  }
}

output "uid" {
  value = k0stack_worker_pool.this.uid
}
"#;

/// A module for a control plane whose optional blocks are all dynamic over variables (the
/// reported failure: `dynamic "service"` over `var.service_type == null ? [] : [...]`).
const HCP_MODULE: &str = r#"
terraform {
  required_providers {
    k0stack = { source = "k0stack/k0stack" }
  }
}

variable "management_cluster_id" { type = string }
variable "service_type" {
  type    = string
  default = null
}
variable "storage" {
  type    = object({ type = string, size = string })
  default = null
}
variable "persistence" {
  type    = string
  default = null
}
variable "requests" {
  type    = map(string)
  default = null
}

resource "k0stack_hosted_control_plane" "this" {
  name                  = "mod"
  management_cluster_id = var.management_cluster_id
  k0s_version           = "v1.32.6+k0s.0"

  dynamic "service" {
    for_each = var.service_type == null ? [] : [var.service_type]
    content {
      type = service.value
    }
  }
  dynamic "storage" {
    for_each = var.storage == null ? [] : [var.storage]
    content {
      type = storage.value.type
      dynamic "etcd" {
        for_each = storage.value.size == null ? [] : [storage.value.size]
        content {
          size = etcd.value
        }
      }
    }
  }
  dynamic "persistence" {
    for_each = var.persistence == null ? [] : [var.persistence]
    content {
      type = persistence.value
    }
  }
  dynamic "resources" {
    for_each = var.requests == null ? [] : [var.requests]
    content {
      requests = resources.value
    }
  }
}
"#;

#[test]
fn a_control_plane_module_with_dynamic_blocks_validates_plans_and_applies() {
    let cloud = CloudSim::start();
    let tf = TfDir::new("");
    cloud.write_files(&tf);
    tf.write("modules/hcp/main.tf", HCP_MODULE);
    tf.write(
        "main.tf",
        &format!(
            "{}\nresource \"k0stack_management_cluster\" \"this\" {{}}\nmodule \"hcp\" {{\n  source = \"./modules/hcp\"\n  management_cluster_id = k0stack_management_cluster.this.id\n  service_type = \"NodePort\"\n  storage = {{ type = \"etcd\", size = \"2Gi\" }}\n  persistence = \"emptyDir\"\n  requests = {{ cpu = \"100m\" }}\n}}\n",
            cloud.provider_config()
        ),
    );
    tf.init();
    let v = tf.validate();
    no_internal_text(&v);
    v.assert_ok();
    let plan = tf.plan();
    no_internal_text(&plan);
    plan.assert_ok().assert_contains("type = \"NodePort\"");
    let apply = tf.apply();
    no_internal_text(&apply);
    apply.assert_ok();
    assert_eq!(tf.plan_exit_code().code, Some(0));
}

fn setup(module_args: &str) -> (CloudSim, TfDir) {
    let cloud = CloudSim::start();
    let tf = TfDir::new("");
    cloud.write_files(&tf);
    tf.write("modules/pool/main.tf", POOL_MODULE);
    tf.write(
        "main.tf",
        &format!(
            "{}\nmodule \"pool\" {{\n  source = \"./modules/pool\"\n  hcp_id = k0stack_hosted_control_plane.dev.id\n{module_args}\n}}\n",
            cloud.dev_control_plane_config()
        ),
    );
    tf.init();
    (cloud, tf)
}

#[track_caller]
fn no_internal_text(out: &support::TfOutput) {
    out.assert_no_crash();
    for needle in [
        "invalid type",
        "newtype struct",
        "expected a sequence",
        "Internal error",
    ] {
        assert!(!out.all().contains(needle), "{needle:?} in:\n{}", out.all());
    }
}

#[test]
fn a_module_with_dynamic_blocks_validates_plans_and_applies() {
    let (cloud, tf) = setup(
        "  boot_volume_gb = 20\n  rolling = { max_surge = 2, max_unavailable = 0 }\n  drain_timeout = \"2m\"\n  timeout = \"3m\"",
    );
    let v = tf.validate();
    no_internal_text(&v);
    v.assert_ok();
    let plan = tf.plan();
    no_internal_text(&plan);
    plan.assert_ok()
        .assert_contains("boot_volume {")
        .assert_contains("max_surge       = 2");
    let apply = tf.apply();
    no_internal_text(&apply);
    apply.assert_ok();
    assert_eq!(
        cloud
            .servers()
            .iter()
            .filter(|s| s.tags.iter().any(|t| t.starts_with("k0stack-pool=")))
            .count(),
        1
    );
    assert_eq!(tf.plan_exit_code().code, Some(0));
}

#[test]
fn a_dynamic_block_known_only_after_apply_plans() {
    // The drain block depends on the control plane's uid: unknown until it is created.
    let (_cloud, tf) = setup("  gate = k0stack_hosted_control_plane.dev.uid");
    let plan = tf.plan();
    no_internal_text(&plan);
    plan.assert_ok();
    let apply = tf.apply();
    no_internal_text(&apply);
    apply.assert_ok();
    assert_eq!(tf.plan_exit_code().code, Some(0));
}

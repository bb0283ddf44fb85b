# From nothing but OpenStack credentials, one `terraform apply` creates:
# a k0s management cluster on OpenStack VMs (with k0smotron), a hosted control plane in it,
# and a pool of workers joining that control plane.
#
# The provider generates the management cluster's CA and its admin certificate, so the
# CA key and the admin kubeconfig end up in the Terraform state (as sensitive values):
# keep this state in an encrypted backend with restricted access.
terraform {
  required_providers {
    k0stack = { source = "k0stack/k0stack" }
  }
}

# OpenStack credentials only (OS_CLOUD / OS_* variables work as well). No kubernetes block:
# the management cluster does not exist yet.
provider "k0stack" {
  openstack {
    cloud = "mycloud"
  }
}

variable "k0s_version" {
  type    = string
  default = "v1.32.6+k0s.0"
}

resource "k0stack_management_cluster" "this" {
  namespace = "kmc-system"

  bootstrap {
    name              = "mgmt"
    controllers       = 1
    flavor            = "m1.large"
    image             = "ubuntu-24.04"
    networks          = ["private"] # must be reachable from where Terraform runs
    security_groups   = ["k0s-controller"]
    k0s_version       = var.k0s_version
    k0smotron_version = "v1.5.0"
  }

  openstack_credentials {}
}

resource "k0stack_hosted_control_plane" "dev" {
  name                  = "dev"
  management_cluster_id = k0stack_management_cluster.this.id
  # The bootstrapped cluster is reached through its kubeconfig, not the provider block.
  management_kubeconfig = k0stack_management_cluster.this.kubeconfig
  k0s_version           = var.k0s_version

  service {
    type = "NodePort"
  }
}

resource "k0stack_worker_pool" "general" {
  name                    = "general"
  hosted_control_plane_id = k0stack_hosted_control_plane.dev.id
  management_kubeconfig   = k0stack_management_cluster.this.kubeconfig
  size                    = 2
  flavor                  = "m1.small"
  image                   = "ubuntu-24.04"
  networks                = ["private"]
  security_groups         = ["k0s-worker"]
}

output "management_kubeconfig" {
  value     = k0stack_management_cluster.this.kubeconfig
  sensitive = true
}

output "management_members" {
  value = k0stack_management_cluster.this.members
}

output "dev_kubeconfig" {
  value     = k0stack_hosted_control_plane.dev.kubeconfig
  sensitive = true
}

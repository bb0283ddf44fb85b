# The staging environment: one call of the shared module. Each environment has its own state;
# the management cluster is owned elsewhere and referenced by id.

terraform {
  required_providers {
    k0stack = {
      source = "k0stack/k0stack"
    }
  }
}

provider "k0stack" {}

variable "management_cluster_id" {
  description = "id of the k0stack_management_cluster (`<context>/<namespace>`)."
  type        = string
  default     = "management/kmc-system"
}

module "environment" {
  source = "../../modules/environment"

  name                   = "staging"
  management_cluster_id  = var.management_cluster_id
  k0s_version            = "v1.32.6+k0s.0"
  control_plane_replicas = 1
  availability_zones     = ["az1", "az2", "az3"]

  pools = {
    general = { size = 3, flavor = "m1.medium", labels = {}, taints = [] }
  }
}

output "endpoint" {
  value = module.environment.endpoint
}

output "ready_nodes" {
  value = module.environment.ready_nodes
}

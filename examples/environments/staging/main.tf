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
  # The id of the k0stack_management_cluster that hosts the control plane:
  # `<uid of the management cluster's kube-system namespace>/<namespace>`. Get it from the
  # state that manages the management cluster (`terraform output -raw management_cluster_id`),
  # or from the cluster itself:
  #   echo "$(kubectl get namespace kube-system -o jsonpath='{.metadata.uid}')/kmc-system"
  # The control plane's namespace is the part after the last `/`; which cluster it lives in
  # is the one the provider's connection (KUBECONFIG) reaches, and the control plane records
  # that cluster's uid itself. A prefix that is only a label (as in the default) works too.
  description = "id of the k0stack_management_cluster: `<kube-system uid>/<namespace>`."
  type        = string
  default     = "management/kmc-system"
}

module "cluster" {
  source = "../../modules/cluster"

  name                   = "staging"
  management_cluster_id  = var.management_cluster_id
  k0s_version            = "v1.32.6+k0s.0"
  control_plane_replicas = 1
  availability_zones     = ["az1", "az2", "az3"]

  pools = {
    general = { size = 3, flavor = "m1.medium" }
  }
}

output "endpoint" {
  value = module.cluster.endpoint
}

output "ready_nodes" {
  value = module.cluster.ready_nodes
}

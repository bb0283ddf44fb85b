# The management cluster the provider's kubernetes block points at: installs k0smotron from
# its release manifest and stores the fleet's OpenStack credentials for in-cluster components.
variable "k0smotron_install_yaml" {
  description = "k0smotron's install.yaml, e.g. file(\"k0smotron-install.yaml\")"
  type        = string
}

resource "k0stack_management_cluster" "this" {
  namespace          = "kmc-system"
  k0smotron_manifest = var.k0smotron_install_yaml

  openstack_credentials {
    secret_name = "openstack-cloud-config"
  }
}

output "management_cluster_id" {
  value = k0stack_management_cluster.this.id
}

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

# Or: the provider creates the management cluster itself on OpenStack (in a configuration
# whose provider block has no kubernetes block). See examples/bootstrap for the whole stack.
resource "k0stack_management_cluster" "bootstrapped" {
  namespace = "kmc-system"

  bootstrap {
    name              = "mgmt"
    controllers       = 3 # anti-affinity by default
    flavor            = "m1.large"
    image             = "ubuntu-24.04"
    networks          = ["private"]
    security_groups   = ["k0s-controller"]
    k0s_version       = "v1.32.6+k0s.0"
    k0smotron_version = "v1.5.0"
  }
}

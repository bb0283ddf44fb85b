# The management cluster the provider's kubernetes block points at: installs k0smotron from
# its release manifest and stores the fleet's OpenStack credentials for in-cluster components.
#
# openstack_credentials {} stores the provider's own OpenStack credentials, i.e. those of
# whoever runs Terraform. Give the provider a dedicated application credential, the same in
# CI and on laptops, so that the cluster never receives someone's personal password; the plan
# shows the identity the Secret holds and would hold (auth_url, user_name or
# application_credential_id, project, region):
#
#   openstack application credential create k0stack-fleet --role member
#
#   provider "k0stack" {
#     kubernetes { config_path = "~/.kube/management" }
#     openstack {
#       auth_url                      = "https://keystone.example.com:5000/v3"
#       application_credential_id     = var.fleet_application_credential_id
#       application_credential_secret = var.fleet_application_credential_secret
#       region                        = "RegionOne"
#     }
#   }
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

# `<kube-system uid>/kmc-system`: what other states (environments, Terragrunt units) pass
# as management_cluster_id.
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

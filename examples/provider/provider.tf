terraform {
  required_providers {
    k0stack = {
      source = "k0stack/k0stack"
    }
  }
}

# Every setting is optional: without them the provider uses KUBECONFIG / ~/.kube/config
# for the management cluster, and OS_* variables or OS_CLOUD + clouds.yaml for OpenStack.
provider "k0stack" {
  kubernetes {
    config_path    = "~/.kube/management.kubeconfig"
    config_context = "management"
  }

  openstack {
    cloud = "prod" # an entry of clouds.yaml
  }
}

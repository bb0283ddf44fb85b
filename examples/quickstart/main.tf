# Quickstart: a fleet of three Kubernetes clusters whose control planes run as pods in one
# management cluster, with OpenStack VMs as workers. `make demo` applies it against
# k0stack-sim; against a real cloud, point KUBECONFIG at your k0s management cluster and
# OS_CLOUD at your clouds.yaml entry, and adjust flavors, image and network.

terraform {
  required_providers {
    k0stack = {
      source = "k0stack/k0stack"
    }
  }
}

# Everything comes from the environment: KUBECONFIG for the management cluster, and OS_*
# variables (or OS_CLOUD with a clouds.yaml) for OpenStack.
provider "k0stack" {}

resource "k0stack_management_cluster" "this" {
  namespace = "kmc-system"
}

locals {
  k0s_version = "v1.32.6+k0s.0"
  image       = "ubuntu-24.04"
  network     = "private"
}

# --- dev: one control plane replica, two small workers --------------------------------

resource "k0stack_hosted_control_plane" "dev" {
  name                  = "dev"
  management_cluster_id = k0stack_management_cluster.this.id
  k0s_version           = local.k0s_version
}

resource "k0stack_worker_pool" "dev" {
  name                    = "dev"
  hosted_control_plane_id = k0stack_hosted_control_plane.dev.id
  size                    = 2 # make demo scales this pool by editing this number
  flavor                  = "m1.small"
  image                   = local.image
  networks                = [local.network]
  security_groups         = ["k0s-worker"]
}

# --- staging ---------------------------------------------------------------------------

resource "k0stack_hosted_control_plane" "staging" {
  name                  = "staging"
  management_cluster_id = k0stack_management_cluster.this.id
  k0s_version           = local.k0s_version
}

resource "k0stack_worker_pool" "staging" {
  name                    = "staging"
  hosted_control_plane_id = k0stack_hosted_control_plane.staging.id
  size                    = 3
  flavor                  = "m1.medium"
  image                   = local.image
  networks                = [local.network]
  security_groups         = ["k0s-worker"]
  availability_zones      = ["az1", "az2", "az3"]
}

# --- prod: three control plane replicas, general and GPU pools -----------------------

resource "k0stack_hosted_control_plane" "prod" {
  name                  = "prod"
  management_cluster_id = k0stack_management_cluster.this.id
  k0s_version           = local.k0s_version
  replicas              = 3
  # Replicas share one datastore: an etcd cluster run by k0smotron.
  storage {
    type = "etcd"
  }
}

resource "k0stack_worker_pool" "prod_general" {
  name                    = "general"
  hosted_control_plane_id = k0stack_hosted_control_plane.prod.id
  size                    = 5
  flavor                  = "m1.large"
  image                   = local.image
  networks                = [local.network]
  security_groups         = ["k0s-worker"]
  availability_zones      = ["az1", "az2", "az3"]
  server_group_policy     = "soft-anti-affinity"
  labels = {
    "node.k0stack.io/pool" = "general"
  }
}

resource "k0stack_worker_pool" "prod_gpu" {
  name                    = "gpu"
  hosted_control_plane_id = k0stack_hosted_control_plane.prod.id
  size                    = 2
  flavor                  = "g1.gpu"
  image                   = local.image
  networks                = [local.network]
  security_groups         = ["k0s-worker"]
  labels = {
    "node.k0stack.io/pool" = "gpu"
  }
  taints = ["nvidia.com/gpu=true:NoSchedule"]
}

# --- what a platform engineer wants to see -------------------------------------------

locals {
  fleet = {
    dev     = { cp = k0stack_hosted_control_plane.dev, pools = [k0stack_worker_pool.dev] }
    staging = { cp = k0stack_hosted_control_plane.staging, pools = [k0stack_worker_pool.staging] }
    prod    = { cp = k0stack_hosted_control_plane.prod, pools = [k0stack_worker_pool.prod_general, k0stack_worker_pool.prod_gpu] }
  }
}

output "summary" {
  description = "One line per cluster: version, endpoint, pools and Ready nodes."
  value = join("\n", concat(
    [format("%-8s %-15s %-28s %-20s %s", "CLUSTER", "VERSION", "ENDPOINT", "POOLS", "READY NODES")],
    [for name, c in local.fleet : format("%-8s %-15s %-28s %-20s %d/%d",
      name,
      c.cp.k0s_version,
      c.cp.endpoint,
      join(",", [for p in c.pools : "${p.name}:${p.size}"]),
      sum([for p in c.pools : p.ready_count]),
      sum([for p in c.pools : p.size]),
    )],
  ))
}

output "dev_kubeconfig" {
  description = "Admin kubeconfig of the dev cluster (`terraform output -raw dev_kubeconfig > dev.kubeconfig`)."
  value       = k0stack_hosted_control_plane.dev.kubeconfig
  sensitive   = true
}

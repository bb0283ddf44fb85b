# One environment: a hosted control plane and its worker pools.

resource "k0stack_hosted_control_plane" "this" {
  name                  = var.name
  management_cluster_id = var.management_cluster_id
  k0s_version           = var.k0s_version
  replicas              = var.control_plane_replicas
  service {
    type = "NodePort"
  }
  storage {
    type = "etcd"
  }
}

resource "k0stack_worker_pool" "this" {
  for_each = var.pools

  name                    = each.key
  hosted_control_plane_id = k0stack_hosted_control_plane.this.id
  size                    = each.value.size
  flavor                  = each.value.flavor
  image                   = var.image
  networks                = [var.network]
  security_groups         = var.security_groups
  availability_zones      = var.availability_zones
  labels                  = merge({ "node.k0stack.io/pool" = each.key }, each.value.labels)
  taints                  = each.value.taints
}

# One cluster: a hosted control plane and its worker pools. Every optional nested block is
# `dynamic` over a variable whose null (or absent) value means "the provider's default", so
# an environment sets only what it changes.

resource "k0stack_hosted_control_plane" "this" {
  name                  = var.name
  management_cluster_id = var.management_cluster_id
  k0s_version           = var.k0s_version
  replicas              = var.control_plane_replicas

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
        for_each = storage.value.etcd_size == null ? [] : [storage.value.etcd_size]
        content {
          size = etcd.value
        }
      }
    }
  }

  dynamic "persistence" {
    for_each = var.persistence == null ? [] : [var.persistence]
    content {
      type = persistence.value.type
      size = persistence.value.size
    }
  }

  dynamic "resources" {
    for_each = var.control_plane_resources == null ? [] : [var.control_plane_resources]
    content {
      requests = resources.value.requests
      limits   = resources.value.limits
    }
  }

  dynamic "timeouts" {
    for_each = var.control_plane_timeout == null ? [] : [var.control_plane_timeout]
    content {
      create = timeouts.value
      update = timeouts.value
    }
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
  labels                  = merge({ "node.k0stack.io/pool" = each.key }, lookup(each.value, "labels", {}))
  taints                  = lookup(each.value, "taints", [])

  dynamic "boot_volume" {
    for_each = lookup(each.value, "boot_volume_gb", null) == null ? [] : [each.value.boot_volume_gb]
    content {
      size = boot_volume.value
    }
  }

  dynamic "rolling_update" {
    for_each = lookup(each.value, "max_surge", null) == null ? [] : [each.value.max_surge]
    content {
      max_surge       = rolling_update.value
      max_unavailable = 0
    }
  }

  dynamic "drain" {
    for_each = lookup(each.value, "drain_timeout", null) == null ? [] : [each.value.drain_timeout]
    content {
      timeout = drain.value
    }
  }

  dynamic "timeouts" {
    for_each = lookup(each.value, "timeout", null) == null ? [] : [each.value.timeout]
    content {
      create = timeouts.value
      update = timeouts.value
    }
  }
}

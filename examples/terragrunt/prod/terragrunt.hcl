include "root" {
  path = find_in_parent_folders("root.hcl")
}

terraform {
  source = "${get_repo_root()}/examples/modules//cluster"
}

inputs = {
  name                   = "prod"
  control_plane_replicas = 3
  storage                = { type = "etcd", etcd_size = "2Gi" }
  pools = {
    general = { size = 5, flavor = "m1.large" }
    gpu     = { size = 2, flavor = "g1.gpu", labels = {}, taints = ["nvidia.com/gpu=true:NoSchedule"] }
  }
}

include "root" {
  path = find_in_parent_folders("root.hcl")
}

terraform {
  source = "${get_repo_root()}/examples/modules//environment"
}

inputs = {
  name                   = "prod"
  control_plane_replicas = 3
  pools = {
    general = { size = 5, flavor = "m1.large", labels = {}, taints = [] }
    gpu     = { size = 2, flavor = "g1.gpu", labels = {}, taints = ["nvidia.com/gpu=true:NoSchedule"] }
  }
}

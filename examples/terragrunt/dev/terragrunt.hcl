include "root" {
  path = find_in_parent_folders("root.hcl")
}

terraform {
  source = "${get_repo_root()}/examples/modules//cluster"
}

inputs = {
  name                   = "dev"
  control_plane_replicas = 1
  pools = {
    general = { size = 2, flavor = "m1.small" }
  }
}

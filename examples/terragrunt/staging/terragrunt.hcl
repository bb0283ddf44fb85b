include "root" {
  path = find_in_parent_folders("root.hcl")
}

terraform {
  source = "${get_repo_root()}/examples/modules//cluster"
}

inputs = {
  name                   = "staging"
  control_plane_replicas = 1
  pools = {
    general = { size = 3, flavor = "m1.medium" }
  }
}

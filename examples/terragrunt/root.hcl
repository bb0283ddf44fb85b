# Shared by every environment (each includes it with find_in_parent_folders("root.hcl")).
# Terragrunt's docs recommend naming the root file root.hcl rather than terragrunt.hcl, so
# that `terragrunt run-all` never mistakes the root for a unit.

# One local state file per environment; swap in your team's backend (s3, gcs, http...).
remote_state {
  backend = "local"
  config = {
    path = "${get_parent_terragrunt_dir()}/.state/${path_relative_to_include()}/terraform.tfstate"
  }
  generate = {
    path      = "backend.tf"
    if_exists = "overwrite_terragrunt"
  }
}

# The provider block: connections come from the environment (KUBECONFIG, OS_CLOUD).
generate "provider" {
  path      = "provider.tf"
  if_exists = "overwrite_terragrunt"
  contents  = <<EOF
provider "k0stack" {}
EOF
}

# Inputs every environment shares. management_cluster_id is the id of the
# k0stack_management_cluster, `<kube-system uid>/<namespace>`: take it from the management
# state (`terraform output -raw management_cluster_id`), or from the cluster:
#   echo "$(kubectl get namespace kube-system -o jsonpath='{.metadata.uid}')/kmc-system"
# The namespace is the part after the last `/`; a label prefix (as below) works too.
inputs = {
  management_cluster_id = "management/kmc-system"
  k0s_version           = "v1.32.6+k0s.0"
  availability_zones    = ["az1", "az2", "az3"]
}

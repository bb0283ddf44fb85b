# A management cluster is imported by <kubeconfig context (or API server URL)>/<namespace>.
terraform import k0stack_management_cluster.this management/kmc-system

# A hosted control plane is imported by <namespace>/<name> of its k0smotron Cluster.
# Import claims it: the Cluster (and its kine Secret / manifests ConfigMap) get this
# resource instance's owner annotation. A Cluster owned by a K0smotronControlPlane
# (Cluster API, k0rdent) is refused.

# Default setup: the provider's kubernetes block reaches the management cluster.
terraform import k0stack_hosted_control_plane.prod kmc-system/prod

# Bootstrap setup: the provider has no kubernetes block and the control plane takes
# management_kubeconfig = k0stack_management_cluster.this.kubeconfig. Terraform passes only
# the id to an import, so name the kubeconfig in K0STACK_MANAGEMENT_KUBECONFIG; its content
# is recorded as management_kubeconfig, so no value changes when it is the same text
# (Terraform 1.0 still shows one update, "The value is unchanged": the configured kubeconfig
# is marked sensitive and the imported one not yet; its apply only records the mark).
terraform output -raw kubeconfig > mgmt.kubeconfig
K0STACK_MANAGEMENT_KUBECONFIG=mgmt.kubeconfig terraform import k0stack_hosted_control_plane.prod kmc-system/prod

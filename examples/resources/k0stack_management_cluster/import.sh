# A management cluster the provider is connected to (its kubernetes block or KUBECONFIG) is
# imported by <uid of its kube-system namespace>/<namespace> -- the id `terraform output`
# showed --, by <namespace> alone, or by the <context>/<namespace> id of earlier versions:
terraform import k0stack_management_cluster.this \
  "$(kubectl get namespace kube-system -o jsonpath='{.metadata.uid}')/kmc-system"
terraform import k0stack_management_cluster.this kmc-system
# Import records a new instance_id and takes over what the lost state's instance owned: the
# namespace if k0stack created it, and the credentials Secret of the default name
# (openstack-cloud-config); a namespace made outside k0stack stays not this resource's. A
# credentials Secret of another name is not imported: the first apply refuses to take it over
# (delete it, or import with the default name).
#
# A bootstrapped management cluster (bootstrap { ... }) cannot be imported: the provider
# generated its CA and admin credentials, and they exist only in the state that created it.
# Keep that state; move it with `terraform state mv` (another address) or
# `terraform state pull > mgmt.tfstate` / `terraform state push mgmt.tfstate` (another backend).

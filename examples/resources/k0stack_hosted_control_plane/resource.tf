resource "k0stack_management_cluster" "this" {}

# A highly available hosted control plane: 3 replicas on etcd, exposed by a LoadBalancer.
resource "k0stack_hosted_control_plane" "prod" {
  name                  = "prod"
  management_cluster_id = k0stack_management_cluster.this.id
  k0s_version           = "v1.32.6+k0s.0"
  replicas              = 3

  service {
    type = "LoadBalancer"
  }

  storage {
    type = "etcd"
    etcd {
      size          = "2Gi"
      storage_class = "csi-cinder-sc-delete"
    }
  }

  k0s_config = jsonencode({
    spec = { network = { provider = "calico" } }
  })

  cert_sans = ["prod-api.example.com"]

  timeouts {
    create = "15m"
  }
}

# The defaults give a working control plane: without a service block it is a NodePort
# service whose node ports the provider allocates (free in the whole management cluster,
# kept in the state: see api_port / konnectivity_port), so worker pools can join it.
resource "k0stack_hosted_control_plane" "dev" {
  name                  = "dev"
  management_cluster_id = k0stack_management_cluster.this.id
  k0s_version           = "v1.32.6+k0s.0"
}

output "prod_endpoint" {
  value = k0stack_hosted_control_plane.prod.endpoint
}

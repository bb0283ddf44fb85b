resource "k0stack_management_cluster" "this" {}

resource "k0stack_hosted_control_plane" "prod" {
  name                  = "prod"
  management_cluster_id = k0stack_management_cluster.this.id
  k0s_version           = "v1.32.6+k0s.0"
  replicas              = 3
  storage {
    type = "etcd"
  }
}

# Five general-purpose workers spread over three zones, never two on one hypervisor.
resource "k0stack_worker_pool" "general" {
  name                    = "general"
  hosted_control_plane_id = k0stack_hosted_control_plane.prod.id
  size                    = 5

  flavor              = "m1.large"
  image               = "ubuntu-24.04"
  networks            = ["private"]
  security_groups     = ["k0s-worker"]
  key_pair            = "ops"
  availability_zones  = ["az1", "az2", "az3"]
  server_group_policy = "soft-anti-affinity"

  labels = {
    "node.k0stack.io/pool" = "general"
  }

  # A template change (flavor, image, version, labels...) replaces members one at a
  # time, each new node Ready before an old one is drained.
  rolling_update {
    max_surge       = 1
    max_unavailable = 0
  }

  drain {
    timeout          = "10m"
    ignore_pdb_after = "30m"
  }

  timeouts {
    create = "20m"
    update = "60m"
  }
}

# GPU workers, tainted so that only pods that tolerate it land there, booting from a
# 200 GiB volume.
resource "k0stack_worker_pool" "gpu" {
  name                    = "gpu"
  hosted_control_plane_id = k0stack_hosted_control_plane.prod.id
  size                    = 2
  flavor                  = "g1.gpu"
  image                   = "ubuntu-24.04"
  networks                = ["private"]
  taints                  = ["nvidia.com/gpu=true:NoSchedule"]

  boot_volume {
    size = 200
  }

  extra_user_data = <<-YAML
    #cloud-config
    packages: [nvidia-driver-550-server]
  YAML
}

# An air-gapped site: the k0s binary and the workers' images (an OCI bundle that k0s
# imports before the kubelet starts) come from the site's own mirror. See the guide
# "Air-gapped sites" for a mirror registry instead of a bundle.
resource "k0stack_worker_pool" "isolated" {
  name                    = "isolated"
  hosted_control_plane_id = k0stack_hosted_control_plane.prod.id
  size                    = 2
  flavor                  = "m1.large"
  image                   = "ubuntu-24.04"
  networks                = ["isolated"]

  k0s_version      = "v1.32.6+k0s.0"
  k0s_download_url = "https://mirror.example.com/k0s/k0s-v1.32.6+k0s.0-amd64"
  airgap {
    bundle_url = "https://mirror.example.com/k0s/k0s-airgap-bundle-v1.32.6+k0s.0-amd64"
  }
}

output "general_ready" {
  value = "${k0stack_worker_pool.general.ready_count}/${k0stack_worker_pool.general.size}"
}

variable "name" {
  description = "Cluster name: the hosted control plane's name and the prefix of its pools."
  type        = string
}

variable "management_cluster_id" {
  description = "`id` of the k0stack_management_cluster hosting the control plane: `<kube-system uid>/<namespace>` (`terraform output` of the management state, or `kubectl get namespace kube-system -o jsonpath='{.metadata.uid}'` followed by `/<namespace>`); the namespace is the part after the last `/`."
  type        = string
}

variable "k0s_version" {
  description = "k0s version of the control plane; pools follow it (in the same apply when it changes)."
  type        = string
}

variable "control_plane_replicas" {
  description = "Control plane replicas (1 for dev, 3 for production: more than 1 needs `storage`)."
  type        = number
  default     = 1
}

variable "service_type" {
  description = "How the hosted API server is exposed (`NodePort` or `LoadBalancer`); null: the provider's default (NodePort, with node ports allocated for it)."
  type        = string
  default     = null
}

variable "storage" {
  description = "The control plane's datastore, e.g. `{ type = \"etcd\", etcd_size = \"2Gi\" }` (etcd_size may be null); null: k0smotron's default etcd."
  type        = object({ type = string, etcd_size = string })
  default     = null
}

variable "persistence" {
  description = "Storage of the control plane's data directory, e.g. `{ type = \"pvc\", size = \"10Gi\" }`; null: emptyDir."
  type        = object({ type = string, size = string })
  default     = null
}

variable "control_plane_resources" {
  description = "Requests and limits of each control plane pod, e.g. `{ requests = { cpu = \"500m\" }, limits = {} }`."
  type        = object({ requests = map(string), limits = map(string) })
  default     = null
}

variable "control_plane_timeout" {
  description = "How long creating or updating the control plane may take (e.g. `30m`); null: the default."
  type        = string
  default     = null
}

variable "image" {
  description = "Glance image of the workers."
  type        = string
  default     = "ubuntu-24.04"
}

variable "network" {
  description = "Neutron network of the workers."
  type        = string
  default     = "private"
}

variable "security_groups" {
  description = "Security groups of the workers."
  type        = list(string)
  default     = ["k0s-worker"]
}

variable "availability_zones" {
  description = "Zones the workers are spread over."
  type        = list(string)
  default     = []
}

variable "pools" {
  description = <<-EOT
    Worker pools by name: `size` and `flavor`, and optionally `labels` (map), `taints` (list),
    `boot_volume_gb`, `max_surge` (a rolling_update block), `drain_timeout`, `timeout`.
  EOT
  type        = any
}

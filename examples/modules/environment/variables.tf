variable "name" {
  description = "Environment name: the hosted control plane's name and the prefix of its pools."
  type        = string
}

variable "management_cluster_id" {
  description = "`id` of the k0stack_management_cluster hosting the control plane: `<kube-system uid>/<namespace>` (`terraform output` of the management state, or `kubectl get namespace kube-system -o jsonpath='{.metadata.uid}'` followed by `/<namespace>`); the namespace is the part after the last `/`."
  type        = string
}

variable "k0s_version" {
  description = "k0s version of the control plane; pools follow it."
  type        = string
}

variable "control_plane_replicas" {
  description = "Control plane replicas (1 for dev, 3 for production)."
  type        = number
  default     = 1
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
  description = "Worker pools by name (labels and taints may be empty)."
  type = map(object({
    size   = number
    flavor = string
    labels = map(string)
    taints = list(string)
  }))
}

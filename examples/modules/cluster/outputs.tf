output "endpoint" {
  description = "API server URL of the environment's cluster."
  value       = k0stack_hosted_control_plane.this.endpoint
}

output "kubeconfig" {
  description = "Admin kubeconfig of the environment's cluster."
  value       = k0stack_hosted_control_plane.this.kubeconfig
  sensitive   = true
}

output "ready_nodes" {
  description = "Ready nodes per pool."
  value       = { for name, p in k0stack_worker_pool.this : name => p.ready_count }
}

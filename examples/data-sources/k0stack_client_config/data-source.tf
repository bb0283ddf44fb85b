# Which management cluster and OpenStack cloud this run uses, and where the settings came from.
data "k0stack_client_config" "current" {}

output "connections" {
  value = data.k0stack_client_config.current
}

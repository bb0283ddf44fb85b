#!/usr/bin/env bash
# Neutron's API server (ML2 on MariaDB; no agents, no RPC workers) on 127.0.0.1:$NEUTRON_PORT.
# Ports are bound by our k0stack_bind mechanism driver (k0stack_ml2/), vxlan project
# networks; Nova is told of port events so boots complete. Idempotent.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dir="$state/neutron"
mkdir -p "$dir/plugins/ml2" "$dir/lock"
{ cat <<CONF
[DEFAULT]
log_file = $logs/neutron.log
core_plugin = ml2
service_plugins = router
auth_strategy = keystone
transport_url = $rabbit_url
notify_nova_on_port_status_changes = true
notify_nova_on_port_data_changes = true
[database]
connection = $(db_url neutron)
[oslo_concurrency]
lock_path = $dir/lock
[agent]
root_helper = true
CONF
keystone_authtoken neutron
service_auth nova nova; } > "$dir/neutron.conf"
cat > "$dir/plugins/ml2/ml2_conf.ini" <<CONF
[ml2]
type_drivers = flat,vlan,vxlan
tenant_network_types = vxlan
mechanism_drivers = k0stack_bind
extension_drivers = port_security
[ml2_type_vxlan]
vni_ranges = 1:1000
[securitygroup]
enable_security_group = true
CONF
cp "$venv/etc/neutron/api-paste.ini" "$dir/api-paste.ini"
if [ ! -f "$dir/db-synced" ]; then
  "$venv/bin/neutron-db-manage" --config-file "$dir/neutron.conf" \
    --config-file "$dir/plugins/ml2/ml2_conf.ini" upgrade heads >>"$logs/neutron-db-manage.log" 2>&1
  touch "$dir/db-synced"
fi
serve_wsgi neutron "$NEUTRON_PORT" neutron.wsgi.api:application OS_NEUTRON_CONFIG_DIR "$dir"
wait_http "http://127.0.0.1:$NEUTRON_PORT/" neutron
echo "neutron up on 127.0.0.1:$NEUTRON_PORT"

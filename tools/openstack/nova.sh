#!/usr/bin/env bash
# Nova on MariaDB and RabbitMQ: the API under uwsgi on 127.0.0.1:$NOVA_PORT, conductor,
# scheduler and $NOVA_COMPUTES (default 3) nova-compute processes with the fake virt driver,
# each its own host (compute-1...) and state_path — an anti-affinity server group needs one
# host per member. FakeDriverWithoutFakeNodes because fake.FakeDriver cannot restart ("No
# local node identity found"). [api] max_limit is low so lists paginate in tests.
# Needs Keystone's service users (identity.py) first: nova-conductor exits on a 401. Idempotent.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dir="$state/nova"
computes="${NOVA_COMPUTES:-3}"
mkdir -p "$dir/lock"
{ cat <<CONF
[DEFAULT]
transport_url = $rabbit_url
compute_driver = fake.FakeDriverWithoutFakeNodes
my_ip = 127.0.0.1
state_path = $dir
graceful_shutdown_timeout = 5
[api]
auth_strategy = keystone
max_limit = ${NOVA_MAX_LIMIT:-4}
[wsgi]
api_paste_config = $dir/api-paste.ini
[api_database]
connection = $(db_url nova_api)
[database]
connection = $(db_url nova)
[oslo_concurrency]
lock_path = $dir/lock
[scheduler]
discover_hosts_in_cells_interval = 2
[oslo_messaging_rabbit]
heartbeat_timeout_threshold = 0
[service_user]
send_service_user_token = true
auth_url = $keystone_url
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = nova
password = $OS_SERVICE_PASSWORD
CONF
keystone_authtoken nova
service_auth placement placement
service_auth neutron neutron; } > "$dir/nova.conf"
cp "$venv/etc/nova/api-paste.ini" "$dir/api-paste.ini"
nm() { "$venv/bin/nova-manage" --config-file "$dir/nova.conf" "$@" >>"$logs/nova-manage.log" 2>&1; }
if [ ! -f "$dir/db-synced" ]; then
  nm api_db sync
  nm cell_v2 map_cell0 --database_connection "$(db_url nova_cell0)"
  nm cell_v2 create_cell --name cell1 || true
  nm db sync
  touch "$dir/db-synced"
fi
serve_wsgi nova-api "$NOVA_PORT" nova.wsgi.osapi_compute:application OS_NOVA_CONFIG_DIR "$dir"
spawn nova-conductor "$venv/bin/nova-conductor" --config-file "$dir/nova.conf" --log-file "$logs/nova-conductor.log"
spawn nova-scheduler "$venv/bin/nova-scheduler" --config-file "$dir/nova.conf" --log-file "$logs/nova-scheduler.log"
for i in $(seq 1 "$computes"); do
  mkdir -p "$dir/compute-$i"
  printf '[DEFAULT]\nhost = compute-%s\nstate_path = %s\n' "$i" "$dir/compute-$i" > "$dir/compute-$i.conf"
  spawn "nova-compute-$i" "$venv/bin/nova-compute" --config-file "$dir/nova.conf" \
    --config-file "$dir/compute-$i.conf" --log-file "$logs/nova-compute-$i.log"
done
wait_http "http://127.0.0.1:$NOVA_PORT/" nova-api
# Map the compute hosts into cell1 now rather than waiting for the periodic discovery.
for _ in $(seq 1 120); do
  nm cell_v2 discover_hosts
  n=$("$venv/bin/nova-manage" --config-file "$dir/nova.conf" cell_v2 list_hosts 2>/dev/null | grep -c ' compute-' || true)
  [ "$n" -ge "$computes" ] && break
  sleep 1
done
echo "nova up on 127.0.0.1:$NOVA_PORT ($n compute hosts)"

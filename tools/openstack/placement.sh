#!/usr/bin/env bash
# Placement (sqlite) on 127.0.0.1:$PLACEMENT_PORT under uwsgi. Idempotent.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dir="$state/placement"
mkdir -p "$dir"
{ cat <<CONF
[DEFAULT]
log_file = $logs/placement.log
[api]
auth_strategy = keystone
[placement_database]
connection = sqlite:///$dir/placement.db
CONF
keystone_authtoken placement; } > "$dir/placement.conf"
[ -f "$dir/placement.db" ] || OS_PLACEMENT_CONFIG_DIR="$dir" "$venv/bin/placement-manage" \
  --config-file "$dir/placement.conf" db sync 2>>"$logs/placement-manage.log"
serve_wsgi placement "$PLACEMENT_PORT" placement.wsgi.api:application OS_PLACEMENT_CONFIG_DIR "$dir"
wait_http "http://127.0.0.1:$PLACEMENT_PORT/" placement
echo "placement up on 127.0.0.1:$PLACEMENT_PORT"

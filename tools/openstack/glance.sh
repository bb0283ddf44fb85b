#!/usr/bin/env bash
# Glance (sqlite, file store under state/glance/images) on 127.0.0.1:$GLANCE_PORT. Idempotent.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dir="$state/glance"
mkdir -p "$dir/images" "$dir/staging" "$dir/tasks"
{ cat <<CONF
[DEFAULT]
log_file = $logs/glance.log
enabled_backends = fs:file
[database]
connection = sqlite:///$dir/glance.db
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = $dir/images
[os_glance_staging_store]
filesystem_store_datadir = $dir/staging
[os_glance_tasks_store]
filesystem_store_datadir = $dir/tasks
[paste_deploy]
flavor = keystone
CONF
keystone_authtoken glance; } > "$dir/glance-api.conf"
cp "$venv/etc/glance/glance-api-paste.ini" "$dir/glance-api-paste.ini"
[ -f "$dir/glance.db" ] || "$venv/bin/glance-manage" --config-file "$dir/glance-api.conf" db_sync \
  >>"$logs/glance-manage.log" 2>&1
serve_wsgi glance "$GLANCE_PORT" glance.wsgi.api:application OS_GLANCE_CONFIG_DIR "$dir"
wait_http "http://127.0.0.1:$GLANCE_PORT/" glance
echo "glance up on 127.0.0.1:$GLANCE_PORT"

#!/usr/bin/env bash
# Keystone on 127.0.0.1:$KEYSTONE_PORT (default 35357) with sqlite and fernet tokens, served
# by uwsgi from the WSGI module (the console scripts are gone in these releases). Idempotent:
# an existing database and key repository are reused. State under .tools/openstack/state.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/.tools/openstack/venv"
state="$root/.tools/openstack/state"
port="${KEYSTONE_PORT:-35357}"
mkdir -p "$state/keystone" "$state/logs" "$state/pids"
conf="$state/keystone/keystone.conf"
cat > "$conf" <<CONF
[DEFAULT]
log_file = $state/logs/keystone.log
[database]
connection = sqlite:///$state/keystone/keystone.db
[token]
provider = fernet
expiration = ${KEYSTONE_TOKEN_EXPIRATION:-3600}
[fernet_tokens]
key_repository = $state/keystone/fernet-keys
[credential]
key_repository = $state/keystone/credential-keys
CONF
export OS_KEYSTONE_CONFIG_DIR="$state/keystone"
km() { "$venv/bin/keystone-manage" --config-file "$conf" "$@"; }
if [ ! -f "$state/keystone/keystone.db" ]; then
  km db_sync
  km fernet_setup --keystone-user root --keystone-group root
  km credential_setup --keystone-user root --keystone-group root
  km bootstrap --bootstrap-password "${OS_ADMIN_PASSWORD:-admin}" \
    --bootstrap-public-url "http://127.0.0.1:$port/v3" --bootstrap-region-id RegionOne
fi
pidfile="$state/pids/keystone.pid"
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "keystone already running (pid $(cat "$pidfile"))"
  exit 0
fi
"$venv/bin/uwsgi" --http-socket "127.0.0.1:$port" --module keystone.wsgi.api:application \
  --processes 1 --threads 2 --master --die-on-term --add-header "Connection: close" \
  --env "OS_KEYSTONE_CONFIG_DIR=$state/keystone" \
  --pidfile "$pidfile" --daemonize "$state/logs/keystone-uwsgi.log"
for _ in $(seq 1 60); do
  curl -sf "http://127.0.0.1:$port/v3" >/dev/null && { echo "keystone up on 127.0.0.1:$port"; exit 0; }
  sleep 0.5
done
echo "keystone did not answer; see $state/logs" >&2
exit 1

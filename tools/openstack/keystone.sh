#!/usr/bin/env bash
# Keystone on 127.0.0.1:$KEYSTONE_PORT with sqlite and fernet tokens, served by uwsgi from
# the WSGI module (the console scripts are gone in these releases), bootstrapped with
# admin/$OS_ADMIN_PASSWORD in RegionOne; tokens live an hour. A second instance on
# $KEYSTONE_SHORT_PORT shares the database and fernet keys but issues tokens that live
# $KEYSTONE_SHORT_EXPIRATION seconds (default 150): every service accepts them (the expiry is
# inside the fernet token) until they expire, so tests see clients re-authenticate without
# making every service re-authenticate all the time (keystoneauth renews any token with less
# than 120 s left, so a short expiration for the whole cloud would renew on each request).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dir="$state/keystone"
mkdir -p "$dir"
cat > "$dir/keystone.conf" <<CONF
[DEFAULT]
log_file = $logs/keystone.log
[database]
connection = sqlite:///$dir/keystone.db
[identity]
# bcrypt's minimum: a test cloud, and every token costs a hash (12 rounds: ~1.5 s under load).
password_hash_rounds = 4
[token]
provider = fernet
expiration = 3600
[fernet_tokens]
key_repository = $dir/fernet-keys
[credential]
key_repository = $dir/credential-keys
CONF
km() { OS_KEYSTONE_CONFIG_DIR="$dir" "$venv/bin/keystone-manage" --config-file "$dir/keystone.conf" "$@"; }
if [ ! -f "$dir/keystone.db" ]; then
  km db_sync
  km fernet_setup --keystone-user root --keystone-group root
  km credential_setup --keystone-user root --keystone-group root
  km bootstrap --bootstrap-password "$OS_ADMIN_PASSWORD" \
    --bootstrap-public-url "$keystone_url" --bootstrap-internal-url "$keystone_url" \
    --bootstrap-region-id RegionOne
fi 2>>"$logs/keystone-manage.log"
serve_wsgi keystone "$KEYSTONE_PORT" keystone.wsgi.api:application OS_KEYSTONE_CONFIG_DIR "$dir"
mkdir -p "$dir/short"
sed "s/^expiration = .*/expiration = $KEYSTONE_SHORT_EXPIRATION/" "$dir/keystone.conf" > "$dir/short/keystone.conf"
serve_wsgi keystone-short "$KEYSTONE_SHORT_PORT" keystone.wsgi.api:application OS_KEYSTONE_CONFIG_DIR "$dir/short"
wait_http "$keystone_url" keystone
wait_http "http://127.0.0.1:$KEYSTONE_SHORT_PORT/v3" keystone-short
echo "keystone up on 127.0.0.1:$KEYSTONE_PORT (short-lived tokens: $KEYSTONE_SHORT_PORT)"

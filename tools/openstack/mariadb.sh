#!/usr/bin/env bash
# MariaDB (Debian's package) on 127.0.0.1:$MARIADB_PORT, data under state/mariadb; root
# without a password, reachable only from this machine. Nova and Neutron need it: sqlite
# gives "database is locked" across Nova's processes and lacks the ALTERs Neutron's
# migrations run. Idempotent: an existing data directory is reused.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dir="$state/mariadb"
mkdir -p "$dir"
if [ ! -d "$dir/data/mysql" ]; then
  mariadb-install-db --user=root --datadir="$dir/data" --auth-root-authentication-method=normal \
    --skip-test-db >"$logs/mariadb-install.log" 2>&1
fi
if ! running mariadb; then
  spawn mariadb mariadbd --no-defaults --user=root --datadir="$dir/data" --socket="$mysql_socket" \
    --bind-address=127.0.0.1 --port="$MARIADB_PORT" --pid-file="$dir/mariadbd.pid" \
    --log-error="$logs/mariadb.log" --max-connections=500 --innodb-buffer-pool-size=128M \
    --innodb-flush-log-at-trx-commit=0 --skip-name-resolve
fi
for _ in $(seq 1 60); do
  mariadb --no-defaults -uroot --socket="$mysql_socket" -e 'select 1' >/dev/null 2>&1 && break
  sleep 0.5
done
mariadb --no-defaults -uroot --socket="$mysql_socket" -e "
  CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
  GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
  CREATE DATABASE IF NOT EXISTS nova_api; CREATE DATABASE IF NOT EXISTS nova;
  CREATE DATABASE IF NOT EXISTS nova_cell0; CREATE DATABASE IF NOT EXISTS neutron;"
echo "mariadb up on 127.0.0.1:$MARIADB_PORT"

# Shared by the scripts of `make openstack-up` / `openstack-down` (sourced, not run).
# Everything lives under .tools/openstack: the venv, and state/ with one folder per service,
# logs/ (every log) and pids/ (every process we start; stopped by PID, never by name).
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.tools/openstack/venv"
state="$root/.tools/openstack/state"
logs="$state/logs"
pids="$state/pids"
mkdir -p "$logs" "$pids"

# Ports (127.0.0.1 only). Overridable for a machine where one is taken.

: "${KEYSTONE_PORT:=35357}" "${KEYSTONE_SHORT_PORT:=35358}" "${KEYSTONE_SHORT_EXPIRATION:=150}" "${PLACEMENT_PORT:=8778}" "${GLANCE_PORT:=9292}"
: "${NEUTRON_PORT:=9696}" "${NOVA_PORT:=8774}" "${MARIADB_PORT:=3306}" "${RABBIT_PORT:=5672}"
: "${OS_ADMIN_PASSWORD:=admin}" "${OS_SERVICE_PASSWORD:=service-secret}"
export OS_ADMIN_PASSWORD OS_SERVICE_PASSWORD KEYSTONE_PORT KEYSTONE_SHORT_PORT KEYSTONE_SHORT_EXPIRATION PLACEMENT_PORT GLANCE_PORT NEUTRON_PORT NOVA_PORT MARIADB_PORT RABBIT_PORT
keystone_url="http://127.0.0.1:$KEYSTONE_PORT/v3"
mysql_socket="$state/mariadb/mysqld.sock"
db_url() { echo "mysql+pymysql://root@127.0.0.1:$MARIADB_PORT/$1?charset=utf8"; }
rabbit_url="rabbit://guest:guest@127.0.0.1:$RABBIT_PORT/"

now() { date +%s%3N; }
# took <label> <start>: prints how long a part took (the issue asks for each part's time).
took() { local ms=$(( $(now) - $2 )); printf '%-22s %3d.%01d s\n' "$1:" $((ms / 1000)) $((ms % 1000 / 100)); }

# running <name>: is the process recorded under that name alive?
running() { [ -f "$pids/$1.pid" ] && kill -0 "$(cat "$pids/$1.pid")" 2>/dev/null; }

# wait_http <url> <what> [tries]: polls until the URL answers (any HTTP status below 500).
wait_http() {
  local url="$1" what="$2" tries="${3:-120}" code
  for _ in $(seq 1 "$tries"); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)
    if [ "$code" != "000" ] && [ "$code" -lt 500 ]; then return 0; fi
    sleep 0.5
  done
  echo "$what did not answer on $url; see $logs" >&2
  return 1
}

# serve_wsgi <name> <port> <module> <config-env-var> <config-dir>: a WSGI app under uwsgi.
# `Connection: close` because uwsgi's --http-socket resets reused connections, and
# --die-on-term because uwsgi otherwise reloads on SIGTERM instead of stopping.
serve_wsgi() {
  local name="$1" port="$2" module="$3" envvar="$4" confdir="$5"
  if running "$name"; then echo "$name already running (pid $(cat "$pids/$name.pid"))"; return 0; fi
  "$venv/bin/uwsgi" --http-socket "127.0.0.1:$port" --module "$module" \
    --processes 1 --threads 4 --master --die-on-term --add-header "Connection: close" \
    --lazy-apps --env "$envvar=$confdir" \
    --pidfile "$pids/$name.pid" --daemonize "$logs/$name-uwsgi.log"
}

# spawn <name> <command...>: a long-running process in the background, PID recorded.
spawn() {
  local name="$1"; shift
  if running "$name"; then echo "$name already running (pid $(cat "$pids/$name.pid"))"; return 0; fi
  setsid "$@" >>"$logs/$name.out" 2>&1 < /dev/null &
  echo $! > "$pids/$name.pid"
}

# keystone_common <service> : the [keystone_authtoken] section every service needs.
keystone_authtoken() {
  cat <<CONF
[keystone_authtoken]
www_authenticate_uri = $keystone_url
auth_url = $keystone_url
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $1
password = $OS_SERVICE_PASSWORD
CONF
}

# service_auth <section> <user>: a [section] of keystoneauth options (nova's [placement], [neutron]...).
service_auth() {
  cat <<CONF
[$1]
auth_url = $keystone_url
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $2
password = $OS_SERVICE_PASSWORD
region_name = RegionOne
CONF
}

# admin_os: the openstack CLI as the bootstrap admin.
admin_os() {
  OS_AUTH_URL="$keystone_url" OS_USERNAME=admin OS_PASSWORD="$OS_ADMIN_PASSWORD" OS_PROJECT_NAME=admin \
    OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_IDENTITY_API_VERSION=3 \
    OS_REGION_NAME=RegionOne "$venv/bin/openstack" "$@"
}

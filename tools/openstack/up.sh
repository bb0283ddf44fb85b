#!/usr/bin/env bash
# `make openstack-up`: real OpenStack on 127.0.0.1 from nothing, or reusing what is there
# (every step is idempotent; a second run finds the processes alive and the data in place).
# Order: what Nova needs must exist before Nova starts (service users: nova-conductor exits
# on a 401; Neutron: every server GET asks it for ports). Independent parts run in
# parallel; each part's time is printed. Logs: .tools/openstack/state/logs.
set -euo pipefail
here="$(dirname "$0")"
source "$here/lib.sh"
t=$(now)
step() { local s; s=$(now); "$@" >/dev/null; took "$(basename "$1" .sh)" "$s"; }
# parallel <script>...: runs the scripts at once, fails if any failed (and says which).
parallel() {
  local pidlist=() names=() s f=0 i; s=$(now)
  for p in "$@"; do
    names+=("$(basename "$p" .sh)")
    bash "$p" >"$logs/up-${names[-1]}.out" 2>&1 &
    pidlist+=($!)
  done
  for i in "${!pidlist[@]}"; do
    wait "${pidlist[$i]}" || { echo "${names[$i]} failed: $logs/up-${names[$i]}.out" >&2; f=1; }
  done
  took "$(IFS=+; echo "${names[*]}")" "$s"
  return $f
}
step "$here/install.sh"
parallel "$here/mariadb.sh" "$here/rabbitmq.sh" "$here/keystone.sh"
s=$(now)
KEYSTONE_URL="$keystone_url" "$venv/bin/python" "$here/identity.py" >/dev/null
took identity "$s"
parallel "$here/placement.sh" "$here/glance.sh" "$here/neutron.sh"
step "$here/nova.sh"
s=$(now)
KEYSTONE_URL="$keystone_url" STATE="$state" "$venv/bin/python" "$here/seed.py" >/dev/null
took seed "$s"
took "openstack up" "$t"
echo "clouds.yaml: $state/clouds.yaml (clouds admin, demo, demo-appcred, tight)"

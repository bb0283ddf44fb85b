#!/usr/bin/env bash
# `make openstack-down`: stops every process `openstack-up` recorded, by PID (its process
# group for the ones we spawned, the uwsgi master for the WSGI services), and waits until
# they are gone. Data stays (`OPENSTACK_WIPE=1` removes state/ too, for a cold start).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
for f in "$pids"/*.pid; do
  [ -e "$f" ] || continue
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    # spawn() made each of ours a session leader: signal the whole group.
    if [ "$(ps -o pgid= -p "$pid" | tr -d ' ')" = "$pid" ]; then kill -TERM -- "-$pid" 2>/dev/null || true
    else kill -TERM "$pid" 2>/dev/null || true; fi
  fi
done
for f in "$pids"/*.pid; do
  [ -e "$f" ] || continue
  pid=$(cat "$f")
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$f"
done
echo "openstack down"
if [ "${OPENSTACK_WIPE:-0}" = 1 ]; then rm -rf "$state"; echo "state removed"; fi

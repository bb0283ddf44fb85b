#!/usr/bin/env bash
# RabbitMQ (Debian's package) on 127.0.0.1:$RABBIT_PORT for Nova's RPC, run directly (not
# through Debian's wrapper, which switches to the rabbitmq user and its /var paths): node
# rabbit@localhost, data, logs and Erlang cookie under state/rabbitmq. guest/guest works
# because it is only reachable from this machine.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dir="$state/rabbitmq"
mkdir -p "$dir/mnesia" "$dir/home"
export HOME="$dir/home" RABBITMQ_NODENAME=rabbit@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
  RABBITMQ_NODE_PORT="$RABBIT_PORT" ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_MNESIA_BASE="$dir/mnesia" \
  RABBITMQ_LOG_BASE="$logs" RABBITMQ_PID_FILE="$dir/rabbit.pid" \
  RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_DIST_PORT=25672 \
  RABBITMQ_CONFIG_FILE="$dir/rabbitmq"
[ -f "$dir/enabled_plugins" ] || echo '[].' > "$dir/enabled_plugins"
[ -f "$dir/rabbitmq.conf" ] || printf 'listeners.tcp.default = 127.0.0.1:%s\nloopback_users = none\n' "$RABBIT_PORT" > "$dir/rabbitmq.conf"
# epmd started by us in the foreground, so its PID is recorded (Erlang would daemonize one).
running epmd || spawn epmd epmd -address 127.0.0.1
if ! running rabbitmq; then
  spawn rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server
fi
/usr/lib/rabbitmq/bin/rabbitmqctl wait --timeout 60 "$dir/rabbit.pid" >/dev/null
echo "rabbitmq up on 127.0.0.1:$RABBIT_PORT"

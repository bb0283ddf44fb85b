#!/usr/bin/env bash
# Installs what `make openstack-up` runs, idempotently: MariaDB and RabbitMQ from Debian's
# packages (apt-get, as root), the OpenStack services from PyPI into .tools/openstack/venv,
# pinned by tools/openstack/constraints.txt (the package set proven to work together here:
# ../shared/reference/openstack-real.md). Prints how long each part took.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/.tools/openstack/venv"
stamp() { date +%s; }

t0=$(stamp)
if ! command -v mariadbd >/dev/null || ! command -v rabbitmq-server >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    mariadb-server rabbitmq-server >/dev/null
fi
echo "apt: $(( $(stamp) - t0 )) s"

t1=$(stamp)
if [ ! -x "$venv/bin/nova-manage" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -c "$root/tools/openstack/constraints.txt" \
    keystone openstack-placement glance neutron nova uwsgi PyMySQL python-openstackclient
fi
echo "pip: $(( $(stamp) - t1 )) s"

# Our binding-only ML2 mechanism driver (k0stack_ml2/), built from a copy so the source tree
# stays clean.
if [ ! -d "$venv/lib/python3.11/site-packages/k0stack_ml2" ]; then
  tmp=$(mktemp -d); cp -r "$root/tools/openstack/k0stack_ml2/." "$tmp/"
  "$venv/bin/pip" install -q --disable-pip-version-check -c "$root/tools/openstack/constraints.txt" wheel
  "$venv/bin/pip" install -q --disable-pip-version-check --no-build-isolation --no-deps "$tmp"
  rm -rf "$tmp"
fi

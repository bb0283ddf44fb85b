#!/usr/bin/env bash
# Provider overhead per gRPC call: `terraform plan` of 50 trivial data sources, with and
# without TCP_NODELAY on the plugin's sockets (K0STACK_TCP_NODELAY=0 turns our fix off).
# Both variants run in the same session, interleaved, so machine noise hits both alike.
# Usage: tools/bench-grpc-overhead.sh [ROUNDS]   (prints a markdown table row set)
set -euo pipefail
rounds="${1:-5}"
root="$(cd "$(dirname "$0")/.." && pwd)"
tf="${TERRAFORM:-$root/.tools/terraform}"
cargo build --quiet --release --bin terraform-provider-k0stack
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)"
plat="$(uname -s | tr A-Z a-z)_$(uname -m | sed -e 's/x86_64/amd64/' -e 's/aarch64/arm64/')"
mirror="$work/mirror/registry.terraform.io/k0stack/k0stack/$version/$plat"
mkdir -p "$mirror" "$work/cfg" "$work/home"
cp "$root/target/release/terraform-provider-k0stack" "$mirror/terraform-provider-k0stack_v$version"
printf 'provider_installation {\n  filesystem_mirror {\n    path = "%s"\n  }\n}\n' "$work/mirror" > "$work/cli.tfrc"
{
  printf 'terraform {\n  required_providers {\n    k0stack = { source = "k0stack/k0stack" }\n  }\n}\nprovider "k0stack" {}\n'
  for i in $(seq 1 50); do echo "data \"k0stack_client_config\" \"c$i\" {}"; done
} > "$work/cfg/main.tf"
export TF_CLI_CONFIG_FILE="$work/cli.tfrc" CHECKPOINT_DISABLE=1 HOME="$work/home"
unset KUBECONFIG OS_CLOUD OS_AUTH_URL
(cd "$work/cfg" && "$tf" init -input=false >/dev/null)
run() { local s e; s=$(date +%s%N); (cd "$work/cfg" && K0STACK_TCP_NODELAY="$1" "$tf" plan -input=false >/dev/null); e=$(date +%s%N); echo $(((e - s) / 1000000)); }
off=(); on=()
for _ in $(seq 1 "$rounds"); do off+=("$(run 0)"); on+=("$(run 1)"); done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
m_off=$(median "${off[@]}"); m_on=$(median "${on[@]}")
echo "| plan, 50 data sources, TCP_NODELAY off (tf-provider default) | ${m_off} ms | runs: ${off[*]} |"
echo "| plan, 50 data sources, TCP_NODELAY on (k0stack) | ${m_on} ms | runs: ${on[*]} |"
echo "| ratio off/on | $(awk -v a="$m_off" -v b="$m_on" 'BEGIN {printf "%.2f", a/b}') | |"

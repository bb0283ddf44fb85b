#!/usr/bin/env bash
# make demo: the quickstart fleet on the embedded simulator, end to end.
#
#   1. start k0stack-sim (OpenStack + management cluster with k0smotron) in a temp dir
#   2. terraform init + apply examples/quickstart (3 hosted control planes, 4 worker pools)
#   3. print the fleet summary and use the dev cluster's kubeconfig with kubectl
#   4. show that a second plan is empty
#   5. scale the dev pool by editing one number, apply again
#   6. destroy, stop the simulator, remove the temp dir (also on Ctrl-C or failure)
#
# Expects the provider and the simulator built (debug) and .tools/ filled: `make demo` does both.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
tools="$repo/.tools"
target="${CARGO_TARGET_DIR:-$repo/target}/debug"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)"
os="$(uname -s | tr A-Z a-z)"
arch="$(uname -m | sed -e 's/x86_64/amd64/' -e 's/aarch64/arm64/')"

work="$(mktemp -d -t k0stack-demo.XXXXXX)"
sim_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$sim_pid" ]] && kill -0 "$sim_pid" 2>/dev/null; then
    kill -TERM "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  if [[ $rc -ne 0 ]]; then echo "demo FAILED (exit $rc); simulator stopped, $work removed" >&2; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# The provider, from a private filesystem mirror (nothing written to ~/.terraform.d).
mirror="$work/mirror/registry.terraform.io/k0stack/k0stack/$version/${os}_${arch}"
mkdir -p "$mirror"
cp "$target/terraform-provider-k0stack" "$mirror/terraform-provider-k0stack_v$version"
cat > "$work/terraformrc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$work/mirror"
    include = ["registry.terraform.io/k0stack/k0stack"]
  }
}
RC
export TF_CLI_CONFIG_FILE="$work/terraformrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
export TF_DATA_DIR="$work/quickstart/.terraform"

step "starting k0stack-sim (simulated OpenStack + k0s management cluster with k0smotron)"
mkdir -p "$work/sim"
"$target/k0stack-sim" up --dir "$work/sim" --boot-latency "${DEMO_BOOT_LATENCY:-3s}" \
  --join-latency "${DEMO_JOIN_LATENCY:-2s}" --ready-delay "${DEMO_READY_DELAY:-4s}" \
  > "$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do [[ -f "$work/sim/env.sh" ]] && break; sleep 0.1; done
[[ -f "$work/sim/env.sh" ]] || { cat "$work/sim.log"; echo "k0stack-sim did not start" >&2; exit 1; }
# shellcheck disable=SC1091
source "$work/sim/env.sh"
export KUBECONFIG="$work/sim/admin.kubeconfig"
echo "OpenStack: $OS_AUTH_URL (user $OS_USERNAME, project $OS_PROJECT_NAME)   management cluster: $KUBECONFIG"

cp -r "$repo/examples/quickstart" "$work/quickstart"
cd "$work/quickstart"
tf() { "$tools/terraform" "$@"; }

step "terraform init"
tf init -input=false -no-color >/dev/null && echo "initialised (provider $version from the local mirror)"

step "terraform apply: 1 management cluster, 3 hosted control planes, 4 worker pools (12 VMs)"
start=$SECONDS
tf apply -input=false -auto-approve -no-color
echo "applied in $((SECONDS - start)) s"

step "the fleet"
tf output -raw summary; echo

step "using the dev cluster with kubectl"
tf output -raw dev_kubeconfig > "$work/dev.kubeconfig"
echo "\$ terraform output -raw dev_kubeconfig > dev.kubeconfig"
echo "\$ kubectl --kubeconfig dev.kubeconfig get nodes -o wide"
"$tools/kubectl" --kubeconfig "$work/dev.kubeconfig" get nodes -o wide

step "terraform plan: nothing to do"
set +e
tf plan -input=false -no-color -detailed-exitcode > "$work/plan.txt"
code=$?
set -e
tail -n 3 "$work/plan.txt"
[[ $code -eq 0 ]] || { cat "$work/plan.txt"; echo "expected an empty plan (exit 0), got exit $code" >&2; exit 1; }

step "scale the dev pool: size = 2 -> 4 (one number in main.tf)"
sed -i 's/size                    = 2 # make demo scales/size                    = 4 # make demo scales/' main.tf
grep -q 'size                    = 4 # make demo' main.tf || { echo "could not edit main.tf" >&2; exit 1; }
start=$SECONDS
tf apply -input=false -auto-approve -no-color | grep -E '^(k0stack_worker_pool|Apply complete|Plan:)' || true
echo "scaled in $((SECONDS - start)) s"
tf output -raw summary; echo
"$tools/kubectl" --kubeconfig "$work/dev.kubeconfig" get nodes

step "terraform destroy"
start=$SECONDS
tf destroy -input=false -auto-approve -no-color | tail -n 1
echo "destroyed in $((SECONDS - start)) s"

step "demo complete; stopping k0stack-sim"

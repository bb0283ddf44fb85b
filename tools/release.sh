#!/usr/bin/env bash
# Builds the release artefacts in the layout the Terraform and OpenTofu registries require:
#   terraform-provider-k0stack_<v>_<os>_<arch>.zip   (binary terraform-provider-k0stack_v<v> inside)
#   terraform-provider-k0stack_<v>_manifest.json     (protocol_versions ["6.0"])
#   terraform-provider-k0stack_<v>_SHA256SUMS        (zips + manifest)
#   terraform-provider-k0stack_<v>_SHA256SUMS.sig    (only when GPG_FINGERPRINT is set)
# Usage: tools/release.sh VERSION [OUT_DIR]   (PROFILE=debug for a quick build in tests)
set -euo pipefail
version="${1:?usage: tools/release.sh VERSION [OUT_DIR]}"
out="${2:-dist}"
profile="${PROFILE:-release}"
name=terraform-provider-k0stack
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || { echo "release: VERSION must be semver like 0.1.0, got '$version'" >&2; exit 2; }

cd "$(dirname "$0")/.."
mkdir -p "$out"
rm -f "$out/${name}_${version}_"*

# rust target triple -> registry os_arch
targets=(
  "x86_64-unknown-linux-gnu linux_amd64"
  "aarch64-unknown-linux-gnu linux_arm64"
  "x86_64-apple-darwin darwin_amd64"
  "aarch64-apple-darwin darwin_arm64"
  "x86_64-pc-windows-gnu windows_amd64"
)
host="$(rustc -vV | sed -n 's/^host: //p')"
installed="$(rustup target list --installed 2>/dev/null || echo "$host")"
flag=(); [ "$profile" = release ] && flag=(--release)
built=0
for entry in "${targets[@]}"; do
  read -r triple osarch <<<"$entry"
  if ! grep -qx "$triple" <<<"$installed"; then
    echo "release: skipping $osarch: rust target $triple is not installed (rustup target add $triple)"
    continue
  fi
  if [ "$triple" = "$host" ]; then
    cargo build "${flag[@]}" --bin "$name"
    bin="target/$profile/$name"
  else
    if ! cargo build "${flag[@]}" --bin "$name" --target "$triple"; then
      echo "release: skipping $osarch: cross build for $triple failed (linker or C toolchain missing)"
      continue
    fi
    bin="target/$triple/$profile/$name"
  fi
  ext=""; [[ "$triple" == *windows* ]] && ext=".exe"
  stage="$(mktemp -d)"
  cp "$bin$ext" "$stage/${name}_v${version}${ext}"
  (cd "$stage" && zip -q -X "${name}_${version}_${osarch}.zip" "${name}_v${version}${ext}")
  mv "$stage/${name}_${version}_${osarch}.zip" "$out/"
  rm -rf "$stage"
  echo "release: built $out/${name}_${version}_${osarch}.zip"
  built=$((built + 1))
done
[ "$built" -gt 0 ] || { echo "release: no target could be built" >&2; exit 1; }

printf '{\n  "version": 1,\n  "metadata": {\n    "protocol_versions": ["6.0"]\n  }\n}\n' > "$out/${name}_${version}_manifest.json"
(cd "$out" && sha256sum "${name}_${version}_"*.zip "${name}_${version}_manifest.json" > "${name}_${version}_SHA256SUMS")
if [ -n "${GPG_FINGERPRINT:-}" ]; then
  gpg --batch --yes --local-user "$GPG_FINGERPRINT" --output "$out/${name}_${version}_SHA256SUMS.sig" --detach-sign "$out/${name}_${version}_SHA256SUMS"
  echo "release: signed with $GPG_FINGERPRINT"
else
  echo "release: GPG_FINGERPRINT not set: no .sig (registries need one to publish)"
fi
(cd "$out" && sha256sum -c --quiet "${name}_${version}_SHA256SUMS")
echo "release: $out/ ready"

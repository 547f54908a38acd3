#!/usr/bin/env bash
# Measures what each release-profile setting buys on who-server's static
# musl binary: settings are added one at a time, from cargo's default
# release profile to the workspace's. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-musl
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/profile-table}"
# rustc's flags for the target: .cargo/config.toml's, as the images'.

# Each step: a label, then the CARGO_PROFILE_RELEASE_* overrides in force.
steps=(
  "cargo default release|OPT_LEVEL=3 LTO=false CODEGEN_UNITS=16 PANIC=unwind STRIP=false"
  "+ opt-level=\"z\"|OPT_LEVEL=z LTO=false CODEGEN_UNITS=16 PANIC=unwind STRIP=false"
  "+ lto=\"fat\"|OPT_LEVEL=z LTO=fat CODEGEN_UNITS=16 PANIC=unwind STRIP=false"
  "+ codegen-units=1|OPT_LEVEL=z LTO=fat CODEGEN_UNITS=1 PANIC=unwind STRIP=false"
  "+ panic=\"abort\"|OPT_LEVEL=z LTO=fat CODEGEN_UNITS=1 PANIC=abort STRIP=false"
  "+ strip=true (the workspace profile)|OPT_LEVEL=z LTO=fat CODEGEN_UNITS=1 PANIC=abort STRIP=true"
)

echo "| release profile | who-server bytes | change |"
echo "|---|---:|---:|"
previous=""
for step in "${steps[@]}"; do
  label="${step%%|*}"
  overrides=()
  for kv in ${step#*|}; do overrides+=("CARGO_PROFILE_RELEASE_${kv}"); done
  env "${overrides[@]}" cargo build --quiet --release --locked --target "$target" -p who-server
  bytes=$(stat -c %s "$CARGO_TARGET_DIR/$target/release/who-server")
  change=""
  [[ -n "$previous" ]] && change=$(awk -v a="$previous" -v b="$bytes" 'BEGIN { printf "%+.1f%%", (b - a) * 100 / a }')
  echo "| $label | $bytes | $change |"
  previous=$bytes
done

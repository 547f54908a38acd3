#!/usr/bin/env bash
# make compare: set-up (bootstrap, the stand-ins), then compare with the
# arguments given. compare's own compile (about a minute and a half on 2
# cores, from a clean clone) runs from the start, beside the set-up. On a
# bare machine the set-up's parts all want the CPU too (cargo installs,
# debootstrap's unpacking), so this gains little (set-up and compile
# 4 min 17 s against 4 min 25 s with the compile beside the imports only,
# 2026-11-30); when all is there already, nothing changes.
set -euo pipefail
cd "$(dirname "$0")/.."
SAY_PREFIX="compare: "
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

mkdir -p target
log=target/compare-build.log
cargo build --release --locked -p compare >"$log" 2>&1 &
build=$!
# A failed set-up stops the run; the compile then has no use.
trap 'kill "$build" 2>/dev/null || true' EXIT
scripts/bootstrap.sh
scripts/stand-ins.sh
if kill -0 "$build" 2>/dev/null; then
  say "waiting for compare's compile (log: $log)"
fi
if ! wait "$build"; then
  cat "$log" >&2
  die "compiling compare failed (its log is above, and in $log)"
fi
trap - EXIT
exec cargo run --quiet --release --locked -p compare -- "$@"

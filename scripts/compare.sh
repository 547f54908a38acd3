#!/usr/bin/env bash
# make compare: the stand-ins, then compare with the arguments given.
# compare's own compile (about a minute and a half on 2 cores, from a clean
# clone) runs beside the stand-ins, whose debootstraps mostly wait on the
# mirror and unpack on one core: on a bare machine that is most of the
# compile's time saved; when both are there already, nothing changes.
set -euo pipefail
cd "$(dirname "$0")/.."
SAY_PREFIX="compare: "
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

mkdir -p target
log=target/compare-build.log
cargo build --release --locked -p compare >"$log" 2>&1 &
build=$!
# A failed stand-in stops the run; the compile then has no use.
trap 'kill "$build" 2>/dev/null || true' EXIT
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

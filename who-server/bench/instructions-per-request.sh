#!/usr/bin/env bash
# Instructions per request of each build of who-server, counted by
# valgrind's callgrind (issue 19): the server's own work in user space,
# repeatable within a fraction of a percent however busy the machine is,
# where CPU time per request (cpu-ladder.sh) moves by 10% between rounds.
# The kernel's share (system time) is not counted: cpu-ladder.sh shows it.
#
# Each build runs under callgrind with one worker; after a warm-up the
# counters are zeroed (callgrind_control -z), wrk runs `-t1 -cCONNECTIONS
# -dSECONDS` on URL_PATH, and the counters are dumped (callgrind_control
# -d): instructions (Ir) in that window over the requests wrk completed.
# wrk's connections are opened inside the window: 64 accepts among tens of
# thousands of requests.
#
# Usage: instructions-per-request.sh NAME=BINARY[:ARGS] ...
#   Environment: URL_PATH (default /who), SECONDS_PER_RUN (default 10),
#   CONNECTIONS (default 64), KEEP=DIR keeps the callgrind dumps there
#   (callgrind_annotate DIR/NAME.out.1 shows where the instructions go, on
#   a build with symbols: CARGO_PROFILE_RELEASE_STRIP=false).
set -euo pipefail
if (($# < 1)); then
  sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
fi
path=${URL_PATH:-/who} seconds=${SECONDS_PER_RUN:-10} connections=${CONNECTIONS:-64}
dir=${KEEP:-$(mktemp -d)}
mkdir -p "$dir"
[[ -n ${KEEP:-} ]] || trap 'rm -rf "$dir"' EXIT

printf '%-16s %9s %14s %12s\n' build requests instructions per-request
for spec in "$@"; do
  name=${spec%%=*} rest=${spec#*=} bin=${rest%%:*} args=""
  [[ $rest == *:* ]] && args=${rest#*:}
  port=$((20000 + RANDOM % 20000))
  rm -f "$dir/$name.out" "$dir/$name.out".*
  # $args unquoted on purpose: several flags in one spec.
  # shellcheck disable=SC2086
  valgrind --tool=callgrind --callgrind-out-file="$dir/$name.out" \
    "$bin" --bind 127.0.0.1 --port "$port" --workers 1 $args >/dev/null 2>"$dir/$name.log" &
  pid=$!
  for _ in $(seq 100); do
    curl -fso /dev/null "http://127.0.0.1:$port/health" && break
    sleep 0.2
  done
  wrk -t1 -c"$connections" -d2s "http://127.0.0.1:$port$path" >/dev/null # warm-up
  callgrind_control -z "$pid" >/dev/null 2>&1
  out=$(wrk -t1 -c"$connections" -d"${seconds}s" "http://127.0.0.1:$port$path")
  callgrind_control -d "$pid" >/dev/null 2>&1
  kill "$pid"
  wait "$pid" || true
  if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then
    echo "$name: wrk saw errors:" >&2
    echo "$out" >&2
    exit 1
  fi
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  ir=$(awk '/^summary:/ {print $2}' "$dir/$name.out.1")
  awk -v n="$name" -v q="$reqs" -v i="$ir" 'BEGIN { printf "%-16s %9d %14d %12.0f\n", n, q, i, i / q }'
done

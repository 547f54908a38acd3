#!/usr/bin/env bash
# CPU-µs per request (README, "Build choices, measured"): utime+stime of the server (from /proc/PID/stat) over
# a `wrk -t2 -c64 -d5s` run, divided by the requests wrk completed.
# Usage: cpu.sh ROUNDS CPUS NAME=BINARY[:ARGS] ...   (CPUS=1: server on core 0, wrk on core 1)
# WRK_ARGS adds wrk options, split at spaces: WRK_ARGS="-H Connection:close"
# makes a new connection per request.
# WHO_PATH=/api measures another path than /who.
set -euo pipefail
read -r -a extra <<<"${WRK_ARGS:-}"
rounds=$1 cpus=$2; shift 2
path=${WHO_PATH:-/who}
tck=$(getconf CLK_TCK)
for round in $(seq "$rounds"); do
  for spec in "$@"; do
    name=${spec%%=*} rest=${spec#*=} bin=${rest%%:*} args=""
    [[ $rest == *:* ]] && args=${rest#*:}
    port=$((20000 + RANDOM % 20000))
    if [[ $cpus == 1 ]]; then pin=(taskset -c 0) load=(taskset -c 1); else pin=() load=(); fi
    "${pin[@]}" "$bin" --bind 127.0.0.1 --port "$port" $args >/dev/null 2>&1 & pid=$!
    sleep 0.3
    "${load[@]}" wrk "${extra[@]}" -t2 -c64 -d1s "http://127.0.0.1:$port$path" >/dev/null   # warm-up
    before=$(awk '{print $14+$15}' "/proc/$pid/stat")
    out=$("${load[@]}" wrk "${extra[@]}" -t2 -c64 -d5s "http://127.0.0.1:$port$path")
    after=$(awk '{print $14+$15}' "/proc/$pid/stat")
    kill "$pid"; wait "$pid" || true
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    echo "$round $name $reqs $(( (after - before) * 1000000 / tck )) $(( (after - before) * 1000000 / tck * 1000 / reqs ))"
  done
done

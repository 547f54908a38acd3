#!/usr/bin/env bash
# The CPU ladder (issue 19; README, "Build choices, measured"): CPU time per
# request of several builds of who-server, split into user and system time,
# over alternating rounds so that a machine busy with other work slows every
# build alike. cpu-per-request.sh, with the split and a summary.
#
# Each round starts every build in turn on a random port, warms it up for
# 1 s, then runs `wrk -t2 -c64 -dSECONDS` on URL_PATH and reads the server's
# utime and stime (/proc/PID/stat fields 14 and 15, clock ticks) before and
# after; CPU per request is that time over the requests wrk completed.
#
# Usage: cpu-ladder.sh ROUNDS CPUS NAME=BINARY[:ARGS] ...
#   CPUS=1: the server pinned to core 0 (taskset), wrk to core 1; else unpinned.
#   Environment: URL_PATH (default /who), SECONDS_PER_RUN (default 5).
# Prints one line per round and build, then per build the median (min–max)
# of user, system and total ns per request, and the total's ratio to the
# first build's (median of the per-round ratios, min–max).
set -euo pipefail
if (($# < 3)); then
  sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
fi
rounds=$1 cpus=$2; shift 2
path=${URL_PATH:-/who} seconds=${SECONDS_PER_RUN:-5}
tck=$(getconf CLK_TCK)
if [[ $cpus == 1 ]]; then pin=(taskset -c 0) load=(taskset -c 1); else pin=() load=(); fi
results=$(mktemp)
trap 'rm -f "$results"' EXIT

# utime and stime of PID, in clock ticks.
cpu_ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }

# Starts BINARY with ARGS on a random free port (another one if that port
# was taken meanwhile), pinned as asked; sets pid and port.
start() {
  for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 20000))
    # $2 unquoted on purpose: several flags in one spec.
    # shellcheck disable=SC2086
    "${pin[@]}" "$1" --bind 127.0.0.1 --port "$port" $2 >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 100); do
      curl -fso /dev/null "http://127.0.0.1:$port/health" && return 0
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" || true
  done
  echo "$1 did not start" >&2
  exit 1
}

printf '%-5s %-16s %9s %10s %10s %10s\n' round build requests user-ns/req sys-ns/req total-ns/req
for round in $(seq "$rounds"); do
  for spec in "$@"; do
    name=${spec%%=*} rest=${spec#*=} bin=${rest%%:*} args=""
    [[ $rest == *:* ]] && args=${rest#*:}
    start "$bin" "$args"
    "${load[@]}" wrk -t2 -c64 -d1s "http://127.0.0.1:$port$path" >/dev/null # warm-up
    read -r user0 sys0 < <(cpu_ticks "$pid")
    out=$("${load[@]}" wrk -t2 -c64 -d"${seconds}s" "http://127.0.0.1:$port$path")
    read -r user1 sys1 < <(cpu_ticks "$pid")
    kill "$pid"
    wait "$pid" || true
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    if grep -q 'Non-2xx' <<<"$out"; then
      echo "$name: wrk saw answers other than 2xx:" >&2
      echo "$out" >&2
      exit 1
    fi
    # Timeouts happen when a loaded machine starves the server or wrk for
    # seconds; the round still counts what was answered, and says so.
    grep 'Socket errors' <<<"$out" | sed "s/^ */round $round, $name: /" >&2 || true
    # ticks → ns per request
    awk -v r="$round" -v n="$name" -v q="$reqs" -v u=$((user1 - user0)) -v s=$((sys1 - sys0)) -v t="$tck" \
      'BEGIN { f = 1e9 / t / q; printf "%-5s %-16s %9d %10.0f %10.0f %10.0f\n", r, n, q, u*f, s*f, (u+s)*f }' |
      tee -a "$results"
  done
done

echo
echo "median (min–max) of $rounds rounds, ns per request on $path; ratio: total against $(awk 'NR==1{print $2}' "$results"), round by round"
awk '
  function sort(a, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t } }
  function median(a, n) { return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }
  function show(prefix, a, n, fmt) { sort(a, n); return sprintf(fmt " (" fmt "–" fmt ")", median(a, n), a[1], a[n]) }
  {
    if (!($2 in seen)) { seen[$2] = 1; order[++names] = $2 }
    k = ++count[$2]
    user[$2, k] = $4; sys[$2, k] = $5; total[$2, k] = $6
    if (NR == 1) base = $2
    if ($2 == base) basetotal[$1] = $6
    ratio[$2, k] = $6 / basetotal[$1]
  }
  END {
    printf "%-16s %-20s %-20s %-20s %s\n", "build", "user", "system", "total", "ratio"
    for (i = 1; i <= names; i++) {
      b = order[i]; n = count[b]
      for (k = 1; k <= n; k++) { u[k] = user[b, k]; s[k] = sys[b, k]; t[k] = total[b, k]; q[k] = ratio[b, k] }
      printf "%-16s %-20s %-20s %-20s %s\n", b, show("", u, n, "%.0f"), show("", s, n, "%.0f"), show("", t, n, "%.0f"), show("", q, n, "%.3f")
    }
  }' "$results"

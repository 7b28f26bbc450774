#!/usr/bin/env bash
# squall load memory: RSS over a long run at 50 connections (must stay flat:
# no per-request storage), and the cost of each extra idle connection at
# 10,000 connections (users that send one request, then think for a minute).
#
# Usage: bench/load-memory.sh [LONG_RUN_SECONDS]     (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-60}
SQUALL=${SQUALL:-target/release/squall}
. bench/lib.sh
trap nginx_stop EXIT
[ -x "$SQUALL" ] || cargo build --release -p squall
nginx_start
URL="http://127.0.0.1:$NGINX_PORT/"

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

echo "# RSS of 'squall load -c 50 --threads 1' over ${SECS}s, sampled every 5 s (KiB)"
taskset -c 1 "$SQUALL" load "$URL" -c 50 -d "${SECS}s" --threads 1 -q >/dev/null &
pid=$!
samples=()
sleep 1
while kill -0 "$pid" 2>/dev/null; do
    r=$(rss_kib "$pid"); [ "$r" != 0 ] && samples+=("$r")
    sleep 5
done
wait "$pid" || true
echo "samples: ${samples[*]}"
echo "first ${samples[0]} KiB, last ${samples[-1]} KiB, growth $(( ${samples[-1]} - ${samples[0]} )) KiB"

idle_plan() {
    cat > "$BENCH_DIR/idle-$1.yaml" <<PLAN
base_url: $URL
scenarios:
  - name: idle
    steps:
      - request: {url: /}
      - think: 60s
load:
  model: closed
  graceful_stop: 0s
  stages:
    - {users: $1, for: 12s}
PLAN
    echo "$BENCH_DIR/idle-$1.yaml"
}

measure_idle() {
    "$SQUALL" load "$(idle_plan "$1")" --threads 1 -q >/dev/null &
    local pid=$!
    sleep 9
    local r; r=$(rss_kib "$pid")
    local conns; conns=$(ls "/proc/$pid/fd" | wc -l)
    wait "$pid" || true
    echo "$r $conns"
}

read -r base base_fds < <(measure_idle 50)
read -r big big_fds < <(measure_idle 10000)
echo "# idle connections"
echo "50 users: RSS $base KiB ($base_fds fds); 10000 users: RSS $big KiB ($big_fds fds)"
awk -v a="$base" -v b="$big" 'BEGIN { printf "per extra idle connection: %.2f KiB\n", (b - a) / 9950 }'

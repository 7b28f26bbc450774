#!/usr/bin/env bash
# squall sim: one service's GET / throughput against nginx, and the latency
# each hop of a call chain adds.
#
# Throughput: the server (nginx with one worker, or `squall sim up` with one
# service) is pinned to CPU 0, wrk to CPU 1 with 50 keep-alive connections;
# rounds alternate. Per hop: wrk with one connection against the head of a
# chain of 1 and of 4 services (no latency, no faults); the per-hop cost is
# (chain4 - chain1) / 3 at p50 and p99.
#
# Usage: bench/sim-overhead.sh [SECONDS] [ROUNDS]     (defaults: 10 3)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
ROUNDS=${2:-3}
SQUALL=${SQUALL:-target/release/squall}
. bench/lib.sh
SIM_PID=
cleanup() { [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null; nginx_stop; }
trap cleanup EXIT
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk nginx-light)"; exit 1; }
[ -x "$SQUALL" ] || cargo build --release -p squall

# sim_start TOPOLOGY_TEXT: starts squall sim up pinned to CPU 0; sets SIM_URL to the first service
sim_start() {
    printf '%s' "$1" > "$BENCH_DIR/topology.yaml"
    taskset -c 0 "$SQUALL" sim up "$BENCH_DIR/topology.yaml" --control 127.0.0.1:0 > "$BENCH_DIR/sim.out" 2>&1 &
    SIM_PID=$!
    for _ in $(seq 100); do grep -q control "$BENCH_DIR/sim.out" 2>/dev/null && break; sleep 0.1; done
    SIM_URL=$(awk 'NR==2 {print $2}' "$BENCH_DIR/sim.out")
}
sim_stop() { kill "$SIM_PID"; wait "$SIM_PID" 2>/dev/null || true; SIM_PID=; }

rps() { taskset -c 1 wrk -t1 -c50 -d"${SECS}s" "$1" | awk '/Requests\/sec/ {print $2}'; }
# p50 and p99 in microseconds from wrk --latency with one connection
lat() {
    taskset -c 1 wrk -t1 -c1 -d"${SECS}s" --latency "$1" | awk '
        function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; return v * 1e6 }
        $1 == "50%" { p50 = us($2) } $1 == "99%" { p99 = us($2) } END { print p50, p99 }'
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, nginx $(nginx -v 2>&1 | cut -d/ -f2), $SECS s x $ROUNDS rounds"
nginx_start
ONE='services:
  - {name: one, response_size: 2}
'
sim_start "$ONE"
results=$(mktemp)
for r in $(seq "$ROUNDS"); do
    echo "nginx $(rps "http://127.0.0.1:$NGINX_PORT/")" | tee -a "$results"
    echo "sim $(rps "$SIM_URL")" | tee -a "$results"
done
sim_stop
nginx_stop

CHAIN1='services:
  - {name: a}
'
CHAIN4='services:
  - {name: a, calls: [{call: b}]}
  - {name: b, calls: [{call: c}]}
  - {name: c, calls: [{call: d}]}
  - {name: d}
'
for r in $(seq "$ROUNDS"); do
    sim_start "$CHAIN1"; echo "chain1 $(lat "$SIM_URL")" | tee -a "$results"; sim_stop
    sim_start "$CHAIN4"; echo "chain4 $(lat "$SIM_URL")" | tee -a "$results"; sim_stop
done
echo "# medians"
awk '{ a[$1] = a[$1] " " $2; b[$1] = b[$1] " " $3 }
     function med(s,   v, n, i, j, t) { n = split(s, v, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }; return v[int((n + 1) / 2)] }
     END {
        printf "GET /: nginx %.0f req/s, squall sim %.0f req/s (%.2fx nginx)\n", med(a["nginx"]), med(a["sim"]), med(a["sim"]) / med(a["nginx"])
        printf "chain of 1: p50 %.0f us, p99 %.0f us; chain of 4: p50 %.0f us, p99 %.0f us\n", med(a["chain1"]), med(b["chain1"]), med(a["chain4"]), med(b["chain4"])
        printf "per hop: p50 %.0f us, p99 %.0f us\n", (med(a["chain4"]) - med(a["chain1"])) / 3, (med(b["chain4"]) - med(b["chain1"])) / 3
     }' "$results"

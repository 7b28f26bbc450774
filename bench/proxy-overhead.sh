#!/usr/bin/env bash
# squall proxy: what a proxy with no toxics costs in front of nginx, in
# requests/s and in added latency, beside Toxiproxy when one is given.
#
# nginx (one worker) is pinned to CPU 0 and wrk to CPU 1; the proxy is not
# pinned (it shares both cores, as a proxy on a 2-core host would). Rounds
# alternate direct / through squall proxy / through Toxiproxy.
#   throughput: wrk -t1 -c50; latency: wrk -t1 -c1 --latency (p50, p99).
# The issue's bar: proxied req/s >= 0.85x direct, and p50 added <= 50 us.
#
# Usage: bench/proxy-overhead.sh [SECONDS] [ROUNDS]   (defaults: 10 3)
#   TOXIPROXY=/path/to/toxiproxy-server  to measure Toxiproxy in the same run
#   PROXY_THREADS=N                       squall proxy --threads N
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
ROUNDS=${2:-3}
SQUALL=${SQUALL:-target/release/squall}
TOXIPROXY=${TOXIPROXY:-}
. bench/lib.sh
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; nginx_stop; }
trap cleanup EXIT
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk nginx-light)"; exit 1; }
[ -x "$SQUALL" ] || cargo build --release -p squall

SQ_API=18474; SQ_PORT=18475; TP_API=18476; TP_PORT=18477
wait_api() { for _ in $(seq 100); do curl -fs "http://127.0.0.1:$1/version" >/dev/null && return 0; sleep 0.1; done; echo "API on $1 did not start" >&2; return 1; }
add_proxy() { curl -fs -XPOST "http://127.0.0.1:$1/proxies" -d "{\"name\":\"nginx\",\"listen\":\"127.0.0.1:$2\",\"upstream\":\"127.0.0.1:$NGINX_PORT\"}" >/dev/null; }

nginx_start
SQUALL_STATE_DIR="$BENCH_DIR/state" "$SQUALL" proxy --listen "127.0.0.1:$SQ_API" ${PROXY_THREADS:+--threads $PROXY_THREADS} 2>"$BENCH_DIR/squall.log" &
PIDS+=($!)
SQ_PID=$!
wait_api $SQ_API && add_proxy $SQ_API $SQ_PORT
NGINX_WORKER=$(pgrep -P "$(cat "$BENCH_DIR/nginx.pid")" | head -1)
targets="direct:$NGINX_PORT:$NGINX_WORKER squall:$SQ_PORT:$SQ_PID"
if [ -n "$TOXIPROXY" ]; then
    "$TOXIPROXY" -host 127.0.0.1 -port $TP_API >"$BENCH_DIR/toxiproxy.log" 2>&1 &
    PIDS+=($!)
    TP_PID=$!
    wait_api $TP_API && add_proxy $TP_API $TP_PORT
    targets="$targets toxiproxy:$TP_PORT:$TP_PID"
fi

# CPU time (user + system) of a process in clock ticks
ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
# rps PORT PID: "req/s cpu_us_per_req" where the CPU is PID's (the server, or the proxy)
rps() {
    local t0 t1 r
    t0=$(ticks "$2")
    r=$(taskset -c 1 wrk -t1 -c50 -d"${SECS}s" "http://127.0.0.1:$1/" | awk '/Requests\/sec/ {print $2}')
    t1=$(ticks "$2")
    awk -v r="$r" -v d="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v s="$SECS" 'BEGIN { printf "%s %.2f", r, d / hz * 1e6 / (r * s) }'
}
lat() {
    taskset -c 1 wrk -t1 -c1 -d"${SECS}s" --latency "http://127.0.0.1:$1/" | awk '
        function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; return v * 1e6 }
        $1 == "50%" { p50 = us($2) } $1 == "99%" { p99 = us($2) } END { print p50, p99 }'
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, nginx $(nginx -v 2>&1 | cut -d/ -f2), $SECS s x $ROUNDS rounds${TOXIPROXY:+, toxiproxy $("$TOXIPROXY" -version 2>/dev/null | head -1)}"
results=$(mktemp)
for r in $(seq "$ROUNDS"); do
    for t in $targets; do
        IFS=: read -r name port pid <<<"$t"
        echo "$name $(rps "$port" "$pid") $(lat "$port")" | tee -a "$results"
    done
done
echo "# medians: req/s (50 conns) and CPU us per request of nginx (direct) or of the proxy; p50 and p99 us (1 conn); against direct"
awk '{ rps[$1] = rps[$1] " " $2; cpu[$1] = cpu[$1] " " $3; p50[$1] = p50[$1] " " $4; p99[$1] = p99[$1] " " $5 }
     function med(s,   a, n, i, j, t) { n = split(s, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }; return a[int((n + 1) / 2)] }
     END {
        d = med(rps["direct"]); d50 = med(p50["direct"]); d99 = med(p99["direct"])
        for (k in rps) printf "%-10s %9.0f req/s (%.2fx direct)  %5.2f us CPU/req  p50 %6.1f us (+%5.1f)  p99 %7.1f us (+%6.1f)\n", k, med(rps[k]), med(rps[k]) / d, med(cpu[k]), med(p50[k]), med(p50[k]) - d50, med(p99[k]), med(p99[k]) - d99
     }' "$results"

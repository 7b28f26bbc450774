#!/usr/bin/env bash
# squall load vs wrk (and oha, when installed) against nginx on 127.0.0.1.
#
# nginx runs one worker pinned to CPU 0; each generator runs pinned to CPU 1
# with 50 keep-alive connections and one thread, in alternating rounds of the
# same length. Requests are counted on the server side (stub_status), CPU per
# request is (user+sys from /usr/bin/time) / server count, and RSS is the
# generator's peak.
#
# Usage: bench/load-vs-wrk.sh [SECONDS] [ROUNDS]     (defaults: 10 3)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
ROUNDS=${2:-3}
SQUALL=${SQUALL:-target/release/squall}
. bench/lib.sh
trap nginx_stop EXIT
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
[ -x "$SQUALL" ] || cargo build --release -p squall
nginx_start
URL="http://127.0.0.1:$NGINX_PORT/"

# run NAME CMD...: prints "NAME req/s cpu_us_per_req rss_kib"
measure() {
    local name=$1; shift
    local before after t
    before=$(nginx_requests)
    /usr/bin/time -o "$BENCH_DIR/time" -f "%U %S %M" taskset -c 1 "$@" >/dev/null 2>&1
    t=$(tail -1 "$BENCH_DIR/time")
    after=$(nginx_requests)
    local n=$((after - before - 1))
    awk -v name="$name" -v n="$n" -v secs="$SECS" -v t="$t" 'BEGIN {
        split(t, a, " "); cpu = a[1] + a[2];
        printf "%-8s %10.0f req/s  %6.2f us CPU/req  %7d KiB RSS\n", name, n / secs, cpu * 1e6 / n, a[3] }'
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, nginx $(nginx -v 2>&1 | cut -d/ -f2), $SECS s x $ROUNDS rounds, 50 connections, 1 generator thread"
results=$(mktemp)
for r in $(seq "$ROUNDS"); do
    measure wrk wrk -t1 -c50 -d"${SECS}s" "$URL" | tee -a "$results"
    measure squall "$SQUALL" load "$URL" -c 50 -d "${SECS}s" --threads 1 -q | tee -a "$results"
    if command -v oha >/dev/null; then
        measure oha oha -z "${SECS}s" -c 50 --no-tui "$URL" | tee -a "$results"
    fi
done
echo "# medians"
awk '{ rps[$1] = rps[$1] " " $2; cpu[$1] = cpu[$1] " " $4; rss[$1] = rss[$1] " " $7 }
     function med(s,   a, n, i, j, t) { n = split(s, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }; return a[int((n + 1) / 2)] }
     END {
        w = med(rps["wrk"]); wc = med(cpu["wrk"]);
        for (k in rps) printf "%-8s %10.0f req/s (%.2fx wrk)  %6.2f us CPU/req (%.2fx wrk)  %7d KiB RSS\n", k, med(rps[k]), med(rps[k]) / w, med(cpu[k]), med(cpu[k]) / wc, med(rss[k])
     }' "$results"

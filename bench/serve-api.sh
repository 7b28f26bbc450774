#!/usr/bin/env bash
# squall serve's API: latency of list/get under 100 concurrent connections
# (wrk --latency, keep-alive), of starting runs with 100 clients at once,
# and memory per idle SSE client at 1,000 clients. The server runs on
# CPU 0 (SQLite in a temporary directory), the clients on CPU 1.
#
# No peer is measured beside it: MiSArch's executor (Kotlin/Spring) needs
# a Gradle build from the network; its API answers one run at a time and
# keeps one SSE subscriber per run, so the figures have no counterpart.
#
# Usage: bench/serve-api.sh [SECONDS]     (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
SQUALL=${SQUALL:-target/release/squall}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
[ -x "$SQUALL" ] || cargo build --release -p squall
ulimit -n 8192
DIR=$(mktemp -d /tmp/squall-serve-bench.XXXXXX)
PORT=${PORT:-18889}
taskset -c 0 "$SQUALL" serve --listen "127.0.0.1:$PORT" --data-dir "$DIR" --max-runs 100 2>"$DIR/serve.log" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/api/v1/health" >/dev/null && break; sleep 0.1; done
BASE="http://127.0.0.1:$PORT/api/v1"
DEMO=$(python3 -c '
import json
print(json.dumps({"name": "bench", "document": open("crates/squall/assets/demo-experiment-quick.yaml").read()}))')
ID=$(curl -fs "$BASE/experiments" -d "$DEMO" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
# Twenty experiments in the list.
for _ in $(seq 19); do curl -fs "$BASE/experiments" -d "$DEMO" >/dev/null; done

echo "# $(date -u +%FT%TZ) $(nproc) cores, squall $("$SQUALL" --version | cut -d' ' -f2), SQLite, $SECS s per wrk run, 100 connections"
for route in "experiments" "experiments/$ID" "experiments/$ID/versions/1"; do
    out=$(taskset -c 1 wrk -t2 -c100 -d"${SECS}s" --latency "$BASE/$route")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
    printf "GET %-28s %8s req/s  p50 %8s  p99 %8s  non-2xx %s\n" "/${route//$ID/ID}" "$rps" "$p50" "$p99" "${non2xx:-0}"
done
# SSE first, on a server that has not run anything yet (RSS is not muddied
# by memory freed after runs).
taskset -c 1 python3 bench/serve_api.py "$PORT" "$PID" sse 1000
taskset -c 1 python3 bench/serve_api.py "$PORT" "$PID" start 100 3

#!/usr/bin/env bash
# The coordinator's CPU per generator-second: a real `squall load --fleet N`
# receives one recorded second per second from each of N simulated
# generators (crates/fleet/examples/fleet_replay.rs: the seconds were
# recorded from the real engine against nginx, 5 request names), merges
# them and writes its outputs. CPU time is read from /proc for the
# coordinator process alone, between the shared start and the last report.
#
#   bench/fleet-coordinator.sh            # 100 and 1000 generators, 20 s each
#   GENERATORS="100" SECS=10 bench/fleet-coordinator.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
GENERATORS=${GENERATORS:-"100 1000"}
SECS=${SECS:-20}
PORT=${PORT:-7490}

cargo build --release -q --bin squall
cargo build --release -q -p squall-fleet --example fleet_replay
SQ=target/release/squall
RP=target/release/examples/fleet_replay
nginx_start
COORD=
cleanup() { if [ -n "$COORD" ]; then kill "$COORD" 2>/dev/null || true; fi; nginx_stop; }
trap cleanup EXIT

cat > "$BENCH_DIR/plan.yaml" <<PLAN
base_url: http://127.0.0.1:$NGINX_PORT
scenarios:
  - name: s
    steps:
      - request: {name: r0, url: /r0}
      - request: {name: r1, url: /r1}
      - request: {name: r2, url: /r2}
      - request: {name: r3, url: /r3}
      - request: {name: r4, url: /r4}
load: {model: open, stages: [{rate: 1, for: ${SECS}s}]}
PLAN

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
printf '%-11s %-8s %-14s %-22s %-22s %s\n' generators seconds "coord CPU s" "CPU per generator-s" "generators per core" "merged = sent"
for N in $GENERATORS; do
    err="$BENCH_DIR/coord-$N.err"
    "$SQ" load "$BENCH_DIR/plan.yaml" --fleet "$N" --fleet-listen "127.0.0.1:$PORT" --fleet-wait 300s \
        --lost-after 10s --on-lost continue --out "json=$BENCH_DIR/coord-$N.json" > "$BENCH_DIR/coord-$N.out" 2> "$err" &
    COORD=$!
    "$RP" --coordinator "http://127.0.0.1:$PORT" --target "http://127.0.0.1:$NGINX_PORT" \
        --generators "$N" --seconds "$SECS" > "$BENCH_DIR/replay-$N.json" &
    REPLAY=$!
    until grep -q "start together" "$err" 2>/dev/null; do
        kill -0 "$COORD" 2>/dev/null || { cat "$err" >&2; exit 1; }
        sleep 0.05
    done
    t0=$(ticks "$COORD")
    wait "$REPLAY"
    t1=$(ticks "$COORD")
    wait "$COORD" || true
    COORD=
    read -r cpu per core <<<"$(awk -v a="$t0" -v b="$t1" -v hz="$HZ" -v n="$N" -v s="$SECS" \
        'BEGIN { c = (b - a) / hz; p = c * 1e6 / (n * s); printf "%.2f %.0f %.0f", c, p, (p > 0 ? 1e6 / p : 0) }')"
    expected=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests_expected"])' "$BENCH_DIR/replay-$N.json")
    merged=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["overall"]["requests"])' "$BENCH_DIR/coord-$N.json")
    printf '%-11s %-8s %-14s %-22s %-22s %s\n' "$N" "$SECS" "$cpu" "${per} us" "$core" "$merged = $expected"
    [ "$merged" = "$expected" ] || { echo "the coordinator merged $merged requests, the generators sent $expected" >&2; exit 1; }
done
echo "(report size: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes_per_report"])' "$BENCH_DIR/replay-${N}.json") bytes of JSON per generator-second)"

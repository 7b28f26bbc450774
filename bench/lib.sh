# Shared helpers for the benchmark scripts: start/stop a pinned nginx on
# 127.0.0.1 and read its request counter.

BENCH_DIR=$(mktemp -d /tmp/squall-bench.XXXXXX)
NGINX_PORT=${NGINX_PORT:-18471}

nginx_start() {
    sed -e "s|@DIR@|$BENCH_DIR|g" -e "s|@PORT@|$NGINX_PORT|g" "$(dirname "$0")/nginx.conf.in" > "$BENCH_DIR/nginx.conf"
    taskset -c 0 nginx -c "$BENCH_DIR/nginx.conf" -p "$BENCH_DIR" -e "$BENCH_DIR/error.log"
    for _ in $(seq 50); do curl -fs "http://127.0.0.1:$NGINX_PORT/nginx_status" >/dev/null && return 0; sleep 0.1; done
    echo "nginx did not start" >&2; cat "$BENCH_DIR/error.log" >&2; return 1
}

nginx_stop() {
    [ -f "$BENCH_DIR/nginx.pid" ] && kill "$(cat "$BENCH_DIR/nginx.pid")" 2>/dev/null || true
    sleep 0.3
}

# Requests nginx has served so far (stub_status counts every request, the status page's own included).
nginx_requests() {
    curl -fs "http://127.0.0.1:$NGINX_PORT/nginx_status" | awk 'NR==3 {print $3}'
}

#!/usr/bin/env bash
# squall chaos run vs Chaos Toolkit's chaos run, on the same small experiment:
# one http probe in the steady-state hypothesis (so two calls, before and
# after), one process action, one process rollback, against a Python
# http.server on 127.0.0.1. Runs alternate (squall, chaos, squall, ...) so
# both see the same machine state; wall time per run is measured by Python's
# perf_counter around the process; medians and the ratio are printed.
#
# Needs the release build and the test virtualenv (scripts/test creates it).
# Usage: bench/chaos-vs-chaostoolkit.sh [RUNS]      (default: 20 of each)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-20}
SQUALL=${SQUALL:-$PWD/target/release/squall}
PY=${PY:-$PWD/.venv/bin/python}
CHAOS=${CHAOS:-$PWD/.venv/bin/chaos}
[ -x "$SQUALL" ] || cargo build --release -p squall --locked
[ -x "$CHAOS" ] || { echo "chaos not found at $CHAOS (run scripts/test, or pip install -r tests/requirements.txt)"; exit 1; }
exec "$PY" - "$SQUALL" "$CHAOS" "$RUNS" <<'PYEOF'
import json, os, statistics, subprocess, sys, tempfile, threading, time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

squall, chaos, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
tmp = tempfile.mkdtemp()
os.chdir(tmp)
open("index.html", "w").write("ok\n")

class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *a): pass

srv = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
threading.Thread(target=srv.serve_forever, daemon=True).start()
port = srv.server_address[1]
exp = {
    "title": "benchmark", "description": "one http probe, one process action, one rollback",
    "steady-state-hypothesis": {"title": "up", "probes": [{"type": "probe", "name": "home", "tolerance": 200,
        "provider": {"type": "http", "url": f"http://127.0.0.1:{port}/index.html", "timeout": 3}}]},
    "method": [{"type": "action", "name": "act", "provider": {"type": "process", "path": "true"}}],
    "rollbacks": [{"type": "action", "name": "undo", "provider": {"type": "process", "path": "true"}}],
}
json.dump(exp, open("exp.json", "w"))
open("settings.yaml", "w").write("{}\n")
cmds = {
    "squall": [squall, "chaos", "run", "exp.json", "--journal-path", "squall.json"],
    "chaos": [chaos, "--no-version-check", "--no-log-file", "--settings", "settings.yaml",
              "run", "exp.json", "--journal-path", "chaos.json"],
}
times = {k: [] for k in cmds}
for name, cmd in cmds.items():  # warm-up: page cache, .pyc files
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
for _ in range(runs):
    for name, cmd in cmds.items():
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times[name].append(time.perf_counter() - t)
for name in cmds:
    j = json.load(open(f"{name}.json"))
    assert j["status"] == "completed" and not j["deviated"], (name, j["status"])
    assert len(j["run"]) == 1 and len(j["rollbacks"]) == 1, name
print(f"# {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {os.cpu_count()} cores, {runs} alternating runs each")
for name, ts in times.items():
    ts.sort()
    print(f"{name:<7} median {statistics.median(ts) * 1000:8.2f} ms   p10 {ts[len(ts) // 10] * 1000:8.2f} ms   p90 {ts[len(ts) * 9 // 10] * 1000:8.2f} ms")
ratio = statistics.median(times["chaos"]) / statistics.median(times["squall"])
print(f"ratio   {ratio:.1f}x faster (target 20x)")
PYEOF

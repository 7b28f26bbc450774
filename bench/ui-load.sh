#!/usr/bin/env bash
# How fast squall serve's web UI pages load from loopback in Debian's
# Chromium (playwright-core from tests/ui): for each page, N cold loads
# (a new browser context each, so nothing cached), timed from navigation
# start until the page's main element is drawn with its data. Reports the
# median and the slowest. Server and Chromium share both cores (Chromium is
# several processes; pinned to one core it takes twice as long).
#
# No peer is measured beside it: MiSArch's frontend needs its own backend
# and a Vue build; the k6 dashboard and Locust UIs show a single run.
#
# Usage: bench/ui-load.sh [LOADS]     (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20}
SQUALL=${SQUALL:-target/release/squall}
[ -x "$SQUALL" ] || cargo build --release -p squall
[ -d tests/ui/node_modules/playwright-core ] || (cd tests/ui && npm ci --no-audit --no-fund --loglevel=error)
DIR=$(mktemp -d /tmp/squall-ui-bench.XXXXXX)
PORT=${PORT:-18890}
"$SQUALL" serve --listen "127.0.0.1:$PORT" --data-dir "$DIR" 2>"$DIR/serve.log" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/api/v1/health" >/dev/null && break; sleep 0.1; done
BASE="http://127.0.0.1:$PORT"
# One experiment with a finished run (the quick demo, about 25 s).
DOC=$(python3 -c 'import json; print(json.dumps({"name": "bench", "document": open("crates/squall/assets/demo-experiment-quick.yaml").read()}))')
ID=$(curl -fs "$BASE/api/v1/experiments" -d "$DOC" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
RUN=$(curl -fs -X POST "$BASE/api/v1/experiments/$ID/versions/1/runs" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
echo "waiting for the demo run to finish..."
for _ in $(seq 120); do
    st=$(curl -fs "$BASE/api/v1/runs/$RUN" | python3 -c 'import json, sys; print(json.load(sys.stdin)["status"])')
    [ "$st" != running ] && [ "$st" != starting ] && break
    sleep 1
done
cd tests/ui
BASE=$BASE ID=$ID RUN=$RUN N=$N node --input-type=module -e '
import { chromium } from "playwright-core";
const { BASE, ID, RUN, N } = process.env;
const pages = [
  ["experiments", "/#/", "#experiments tbody tr"],
  ["experiment editor", `/#/e/${ID}`, "#problems li"],
  ["finished run (replayed)", `/#/run/${RUN}`, "#report-phases tbody tr"],
  ["topology", `/#/topology/${ID}/1`, "g.node"],
];
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
console.log("page                          median ms   slowest ms   (" + N + " cold loads each)");
for (const [name, path, ready] of pages) {
  const times = [];
  for (let i = 0; i < Number(N); i++) {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const t0 = Date.now();
    await page.goto(BASE + path);
    await page.locator(ready).first().waitFor();
    times.push(Date.now() - t0);
    await ctx.close();
  }
  times.sort((a, b) => a - b);
  console.log(name.padEnd(30) + String(times[times.length >> 1]).padStart(9) + String(times[times.length - 1]).padStart(13));
}
await browser.close();
'

#!/usr/bin/env bash
# Run ctk-toxiproxy-experiment.json with Chaos Toolkit + chaostoolkit-toxiproxy
# against a Toxiproxy-compatible API, then check journal.json:
#   status "completed", not deviated, hypothesis (after method) met, every
#   method/hypothesis/rollback activity "succeeded", and the outputs that prove
#   the API answered as Toxiproxy does; finally the proxy must be gone (404).
#
# Environment:
#   TOXIPROXY_URL  e.g. http://127.0.0.1:8474
#   UPSTREAM       host:port of an HTTP server answering GET / with 200
#   CTK_VENV       venv with chaostoolkit==1.19.0 chaostoolkit-lib==1.44.0
#                  chaostoolkit-toxiproxy==0.3.1 (default /tmp/venv-clients);
#                  created from requirements-clients.txt beside this script if
#                  it has no `chaos`.
#   KEEP_CTK_WORK=1  keep the work dir (journal, log) even on success
# One line per step; exit 1 with "FAIL: ..." on the first failed check.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

: "${TOXIPROXY_URL:?TOXIPROXY_URL is not set}"
: "${UPSTREAM:?UPSTREAM (host:port) is not set}"
export TOXIPROXY_URL="${TOXIPROXY_URL%/}"
venv="${CTK_VENV:-/tmp/venv-clients}"
experiment="$here/ctk-toxiproxy-experiment.json"
[ -f "$experiment" ] || fail "missing $experiment"

if [ ! -x "$venv/bin/chaos" ]; then
  echo "step: creating $venv from $here/requirements-clients.txt"
  python3 -m venv "$venv" || fail "cannot create venv $venv"
  "$venv/bin/pip" install -q -r "$here/requirements-clients.txt" || fail "pip install failed"
fi
"$venv/bin/python" - <<'EOF' || fail "venv $venv lacks the pinned chaostoolkit packages"
from importlib.metadata import version
want = {"chaostoolkit": "1.19.0", "chaostoolkit-lib": "1.44.0", "chaostoolkit-toxiproxy": "0.3.1"}
bad = {k: version(k) for k in want if version(k) != want[k]}
assert not bad, bad
EOF
version="$("$venv/bin/python" -c 'import os,urllib.request as u; print(u.urlopen(os.environ["TOXIPROXY_URL"]+"/version",timeout=5).read().decode().strip())' 2>&1)" \
  || fail "GET $TOXIPROXY_URL/version failed: $(echo "$version" | tail -1)"
ok "GET /version -> $version"
ok "venv $venv has chaostoolkit 1.19.0, chaostoolkit-lib 1.44.0, chaostoolkit-toxiproxy 0.3.1"

work="$(mktemp -d /tmp/ctk-toxiproxy.XXXXXX)"
cleanup() {
  if [ "${passed:-0}" = 1 ] && [ "${KEEP_CTK_WORK:-0}" != 1 ]; then rm -rf "$work"; else echo "note: journal and log kept in $work"; fi
}
trap cleanup EXIT

export CTK_UPSTREAM_HOST="${UPSTREAM%:*}"
export CTK_UPSTREAM_PORT="${UPSTREAM##*:}"
CTK_PROXY_PORT="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export CTK_PROXY_PORT
export PATH="$venv/bin:$PATH"   # the experiment's process probe runs `python3`
ok "proxy ctk_check will listen on 127.0.0.1:$CTK_PROXY_PORT -> $UPSTREAM via $TOXIPROXY_URL"

set +e
(cd "$work" && timeout 25 "$venv/bin/chaos" --no-version-check --log-file "$work/chaostoolkit.log" \
  --settings "$work/settings.yaml" run --journal-path "$work/journal.json" \
  --hypothesis-strategy after-method-only --rollback-strategy always "$experiment") >"$work/chaos.out" 2>&1
rc=$?
set -e
[ "$rc" -eq 124 ] && fail "chaos run did not finish within 25 s (see $work/chaos.out)"
[ -s "$work/journal.json" ] || { cat "$work/chaos.out"; fail "chaos run wrote no journal (exit $rc)"; }
ok "chaos run exited $rc"

"$venv/bin/python" - "$work/journal.json" "$rc" <<'EOF' || exit 1
import json, sys

j = json.load(open(sys.argv[1]))
rc = int(sys.argv[2])

def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)

def ok(msg):
    print(f"ok: {msg}")

runs = {}
def show(phase, r):
    a = r["activity"]
    out = r.get("output")
    if isinstance(out, dict) and "status" in out:
        out = {"status": out["status"], **({"stdout": out["stdout"].strip()} if "stdout" in out else {})}
    extra = f", tolerance_met={r['tolerance_met']}" if "tolerance_met" in r else ""
    print(f"step: {phase:10} {a['name']:38} {r['status']:9} {r.get('duration', 0):6.3f}s output={json.dumps(out)[:90]}{extra}")
    if r["status"] != "succeeded":
        exc = r.get("exception") or [""]
        fail(f"{phase} activity {a['name']!r} {r['status']}: {exc[-1].strip()[:300]}")
    runs[a["name"]] = r

for r in j.get("run", []):
    show("method", r)
after = (j.get("steady_states") or {}).get("after") or {}
for r in after.get("probes", []):
    show("hypothesis", r)
    if r.get("tolerance_met") is not True:
        fail(f"hypothesis probe {r['activity']['name']!r} did not meet its tolerance (output {r.get('output')!r})")
for r in j.get("rollbacks", []):
    show("rollback", r)

if j.get("status") != "completed":
    fail(f"journal status is {j.get('status')!r}, expected 'completed'")
if j.get("deviated") is not False:
    fail("journal says the experiment deviated")
if after.get("steady_state_met") is not True:
    fail("steady state after the method was not met")
if rc != 0:
    fail(f"chaos run exited {rc}")
ok("journal: status completed, not deviated, steady state met after the method")

expect_names = ["delete-stale-proxy", "create-proxy", "baseline-get-through-proxy", "create-latency-toxic",
                "create-generic-upstream-toxic", "delete-generic-toxic", "disable-proxy", "proxy-reported-disabled",
                "enable-proxy", "proxy-exists", "proxy-is-enabled", "proxy-lists-only-the-latency-toxic",
                "latency-toxic-attributes", "upstream-answers-200-through-proxy",
                "request-through-proxy-takes-350-to-4000-ms", "delete-latency-toxic", "reset", "delete-proxy"]
missing = [n for n in expect_names if n not in runs]
if missing:
    fail(f"activities missing from the journal: {missing}")

checks = [
    ("create-proxy", runs["create-proxy"]["output"] is True),
    ("create-latency-toxic", runs["create-latency-toxic"]["output"] is True),
    ("create-generic-upstream-toxic", runs["create-generic-upstream-toxic"]["output"] is True),
    ("delete-generic-toxic (DELETE answered 2xx)", runs["delete-generic-toxic"]["output"] is True),
    ("disable-proxy", runs["disable-proxy"]["output"] is True),
    ("proxy-reported-disabled is false", runs["proxy-reported-disabled"]["output"] is False),
    ("enable-proxy", runs["enable-proxy"]["output"] is True),
    ("baseline GET 200", runs["baseline-get-through-proxy"]["output"]["status"] == 200),
    ("baseline GET under 350 ms", runs["baseline-get-through-proxy"]["duration"] < 0.35),
    ("delete-latency-toxic (DELETE answered 2xx)", runs["delete-latency-toxic"]["output"] is True),
    ("reset (POST /reset answered 2xx)", runs["reset"]["output"] is True),
]
for what, good in checks:
    if not good:
        fail(f"unexpected result for {what}")
ms = int(runs["request-through-proxy-takes-350-to-4000-ms"]["output"]["stdout"])
ok(f"outputs as expected; GET through the 400 ms latency toxic took {ms} ms, baseline "
   f"{runs['baseline-get-through-proxy']['duration'] * 1000:.0f} ms")
EOF

status="$("$venv/bin/python" - <<'EOF'
import os, urllib.request, urllib.error
try:
    urllib.request.urlopen(os.environ["TOXIPROXY_URL"] + "/proxies/ctk_check", timeout=5)
    print(200)
except urllib.error.HTTPError as e:
    print(e.code)
EOF
)"
[ "$status" = 404 ] || fail "after the rollbacks GET /proxies/ctk_check answered $status, expected 404"
ok "rollback deleted the proxy (GET /proxies/ctk_check -> 404)"
passed=1
echo "chaostoolkit-toxiproxy check: all steps passed"

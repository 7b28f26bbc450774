#!/usr/bin/env python3
"""Drive a Toxiproxy-compatible server with the third-party PyPI client
`toxiproxy-python` (0.1.1) and check that every call and its effect on real
traffic behave as with Shopify's Toxiproxy.

Environment:
  TOXIPROXY_URL  API base URL, e.g. http://127.0.0.1:8474 (plain http only:
                 the client itself builds "http://host:port")
  UPSTREAM       host:port of an HTTP server answering GET / with 200 + body

Prints one line per step; exits 1 with "FAIL: ..." on the first failed check.
Every socket has a 5 s timeout and the whole run is cut off after 28 s.

What the client sends (toxiproxy-python 0.1.1) -- useful for server authors:
  GET    /proxies                         (create/get_proxy/populate all list first)
  POST   /proxies          {"upstream","name","listen"[,"enabled"]} -> reads name, upstream, enabled, listen
  GET    /proxies/{p}/toxics              -> array of {name,type,stream,toxicity,attributes}
  POST   /proxies/{p}/toxics {"name","type","stream","toxicity","attributes"} -> body must be JSON
  DELETE /proxies/{p}/toxics/{t}          -> truthy iff status < 400
  POST   /proxies/{p}      {"enabled": bool} -> body must be JSON
  DELETE /proxies/{p}
  POST   /reset            (no body)
  GET    /version          (raw bytes, not parsed)
  Status 409 -> ProxyExists, 404 -> NotFound, 400 -> InvalidToxic; other codes are not checked.
"""

import http.client
import os
import signal
import socket
import sys
import time
import urllib.parse

TIMEOUT = 5.0
socket.setdefaulttimeout(TIMEOUT)  # requests/urllib3 inside the client fall back to this


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def ok(msg):
    print(f"ok: {msg}", flush=True)


def _deadline(_signum, _frame):
    fail("whole check took longer than 28 s")


signal.signal(signal.SIGALRM, _deadline)
signal.alarm(28)

try:
    from toxiproxy import Toxiproxy
    from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists
except ImportError as exc:  # pragma: no cover
    fail(f"cannot import toxiproxy-python ({exc}); pip install toxiproxy-python==0.1.1")

api_url = os.environ.get("TOXIPROXY_URL", "http://127.0.0.1:8474")
upstream = os.environ.get("UPSTREAM")
if not upstream:
    fail("UPSTREAM (host:port of an HTTP server) is not set")
parts = urllib.parse.urlsplit(api_url)
if parts.scheme != "http" or not parts.hostname:
    fail(f"TOXIPROXY_URL must be http://host:port, got {api_url!r}")
api_host, api_port = parts.hostname, parts.port or 8474


def split_hostport(hp):
    host, _, port = hp.rpartition(":")
    return host.strip("[]"), int(port)


def http_get(hostport):
    """One HTTP GET / on a fresh connection; returns (status, body, seconds)."""
    host, port = split_hostport(hostport)
    start = time.monotonic()
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    try:
        conn.request("GET", "/", headers={"Connection": "close"})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, body, time.monotonic() - start
    finally:
        conn.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def expect_refused(hostport, what):
    host, port = split_hostport(hostport)
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT):
            pass
    except ConnectionRefusedError:
        return
    except OSError as exc:
        fail(f"{what}: expected connection refused, got {exc!r}")
    fail(f"{what}: connection to {hostport} was accepted")


def expect_raises(exc_type, fn, what):
    try:
        fn()
    except exc_type:
        return
    except Exception as exc:  # noqa: BLE001
        fail(f"{what}: expected {exc_type.__name__}, got {exc!r}")
    fail(f"{what}: expected {exc_type.__name__}, nothing raised")


server = Toxiproxy()
server.update_api_consumer(api_host, api_port)
NAME = "pyclient_check"
NAME2 = "pyclient_check_populated"

try:
    # --- reachability and version -------------------------------------------
    if not server.running():
        fail(f"nothing listening on {api_host}:{api_port}")
    ok(f"API reachable at {api_host}:{api_port}")
    version = server.version()
    if not version or not version.strip():
        fail(f"GET /version returned an empty body: {version!r}")
    ok(f"version() -> {version.strip().decode(errors='replace')}")

    # leftovers from an aborted earlier run
    for stale in (NAME, NAME2):
        p = server.get_proxy(stale)
        if p is not None:
            p.destroy()

    # --- baseline straight to the upstream ----------------------------------
    status, direct_body, _ = http_get(upstream)
    if status != 200:
        fail(f"UPSTREAM {upstream} answered {status}, expected 200")
    ok(f"upstream {upstream} answers 200 ({len(direct_body)} bytes)")

    # --- create -------------------------------------------------------------
    proxy = server.create(upstream=upstream, name=NAME, listen="127.0.0.1:0")
    if proxy.name != NAME or proxy.upstream != upstream or proxy.enabled is not True:
        fail(f"create() returned name={proxy.name!r} upstream={proxy.upstream!r} enabled={proxy.enabled!r}")
    host, port = split_hostport(proxy.listen)
    if host != "127.0.0.1" or port == 0:
        fail(f"listen should be the bound address 127.0.0.1:<real port>, got {proxy.listen!r}")
    listen = proxy.listen
    ok(f"create() -> listen {listen} (port 0 replaced by the bound port)")

    # --- list / get ---------------------------------------------------------
    proxies = server.proxies()
    if NAME not in proxies:
        fail(f"proxies() does not contain {NAME!r}: {sorted(proxies)}")
    listed = proxies[NAME]
    if (listed.listen, listed.upstream, listed.enabled) != (listen, upstream, True):
        fail(f"proxies()[{NAME!r}] = {vars(listed)}")
    ok(f"proxies() lists {NAME} with the same listen/upstream/enabled")
    got = server.get_proxy(NAME)
    if got is None or got.listen != listen:
        fail(f"get_proxy({NAME!r}) -> {got and vars(got)}")
    if server.get_proxy("pyclient_no_such_proxy") is not None:
        fail("get_proxy() of an unknown name should be None")
    ok("get_proxy() finds it, and None for an unknown name")
    expect_raises(ProxyExists, lambda: server.create(upstream=upstream, name=NAME), "create() of an existing name")
    ok("create() of an existing name raises ProxyExists")

    # --- traffic through the proxy, no toxic ----------------------------------
    status, body, base = http_get(listen)
    if status != 200 or body != direct_body:
        fail(f"GET through proxy: status {status}, body differs from upstream: {body[:80]!r}")
    ok(f"GET through proxy -> 200, same body, {base * 1000:.0f} ms")

    # --- latency toxic ------------------------------------------------------
    if proxy.toxics() != {}:
        fail(f"new proxy should have no toxics, got {proxy.toxics()}")
    proxy.add_toxic(type="latency", attributes={"latency": 300})
    toxics = proxy.toxics()
    if list(toxics) != ["latency_downstream"]:
        fail(f"toxics() after add_toxic: {list(toxics)} (default name must be latency_downstream)")
    t = toxics["latency_downstream"]
    if (t.type, t.stream, float(t.toxicity)) != ("latency", "downstream", 1.0) or t.attributes.get("latency") != 300:
        fail(f"toxic fields: {vars(t)}")
    if proxy.get_toxic("latency_downstream") is None:
        fail("get_toxic('latency_downstream') -> None")
    ok(f"add_toxic(latency 300 ms) listed as {vars(t)}")
    status, body, slow = http_get(listen)
    if status != 200 or body != direct_body:
        fail(f"GET through latency toxic: status {status}")
    if slow - base < 0.25:
        fail(f"latency toxic added only {(slow - base) * 1000:.0f} ms (expected >= 250 ms)")
    if slow > 2.0:
        fail(f"latency toxic of 300 ms made the request take {slow:.2f} s")
    ok(f"GET through proxy with latency toxic took {slow * 1000:.0f} ms (+{(slow - base) * 1000:.0f} ms)")

    expect_raises(ProxyExists, lambda: proxy.add_toxic(type="latency", attributes={"latency": 1}),
                  "adding a toxic with an existing name (server must answer 409)")
    ok("duplicate toxic -> 409 -> ProxyExists")
    expect_raises(InvalidToxic, lambda: proxy.add_toxic(type="no_such_toxic_type"),
                  "adding an unknown toxic type (server must answer 400)")
    ok("unknown toxic type -> 400 -> InvalidToxic")

    # --- remove the toxic ---------------------------------------------------
    if proxy.destroy_toxic("latency_downstream") is not True:
        fail("destroy_toxic() did not return True")
    if proxy.toxics() != {}:
        fail(f"toxics() after destroy_toxic: {list(proxy.toxics())}")
    status, body, fast = http_get(listen)
    if status != 200 or fast > base + 0.2:
        fail(f"after removing the toxic GET took {fast * 1000:.0f} ms (status {status})")
    ok(f"destroy_toxic() -> toxics() empty, GET back to {fast * 1000:.0f} ms")
    expect_raises(NotFound, lambda: proxy.destroy_toxic("latency_downstream"), "destroy_toxic of a removed toxic")
    ok("destroy_toxic() of a missing toxic -> 404 -> NotFound")

    # --- disable / enable ---------------------------------------------------
    with proxy.down():
        if server.get_proxy(NAME).enabled is not False:
            fail("after disable() the server still reports enabled")
        expect_refused(listen, "while disabled")
        ok("disable(): enabled=false and connections to the listen port are refused")
    if server.get_proxy(NAME).enabled is not True:
        fail("after enable() the server reports enabled=false")
    status, _, _ = http_get(listen)
    if status != 200:
        fail(f"after enable() GET answered {status}")
    ok("enable(): enabled=true and GET through the proxy works again on the same port")

    # --- reset --------------------------------------------------------------
    proxy.add_toxic(name="to_be_reset", type="latency", stream="upstream", toxicity=0.5,
                    attributes={"latency": 10, "jitter": 1})
    t = proxy.get_toxic("to_be_reset")
    if t is None or (t.stream, float(t.toxicity), t.attributes.get("jitter")) != ("upstream", 0.5, 1):
        fail(f"named upstream toxic not stored as sent: {t and vars(t)}")
    proxy.disable()
    if server.reset() is not True:
        fail("reset() did not return True")
    after = server.get_proxy(NAME)
    if after is None or after.enabled is not True or proxy.toxics() != {}:
        fail(f"reset() must re-enable proxies and drop toxics: {after and vars(after)}, {list(proxy.toxics())}")
    status, _, _ = http_get(listen)
    if status != 200:
        fail(f"after reset() GET answered {status}")
    ok("reset(): disabled proxy re-enabled, toxics removed, traffic flows")

    # --- populate (client-side: list, destroy-if-different, create) ----------
    fixed = f"127.0.0.1:{free_port()}"
    spec = [{"name": NAME2, "upstream": upstream, "listen": fixed}]
    created = server.populate(spec)
    if [p.name for p in created] != [NAME2] or created[0].listen != fixed:
        fail(f"populate() created {[vars(p) for p in created]}")
    again = server.populate(spec)
    if again != []:
        fail(f"populate() with identical config must be a no-op (listen echoed exactly), got {[vars(p) for p in again]}")
    status, _, _ = http_get(fixed)
    if status != 200:
        fail(f"GET through populated proxy answered {status}")
    ok(f"populate() created {NAME2} on {fixed}; repeating it is a no-op")

    # --- destroy ------------------------------------------------------------
    for p in (proxy, created[0]):
        if server.destroy(p) is not True:
            fail(f"destroy({p.name}) did not return True")
    remaining = server.proxies()
    if NAME in remaining or NAME2 in remaining:
        fail(f"proxies still listed after destroy: {sorted(remaining)}")
    expect_refused(listen, "after destroy")
    expect_raises(NotFound, proxy.destroy, "destroying an already deleted proxy")
    ok("destroy(): proxies gone, port closed, second delete -> 404 -> NotFound")
except SystemExit:
    raise
except Exception as exc:  # noqa: BLE001
    fail(f"unexpected {type(exc).__name__}: {str(exc)[:300]}")

print("toxiproxy-python check: all steps passed", flush=True)

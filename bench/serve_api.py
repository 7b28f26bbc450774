"""squall serve's API under concurrent clients (driven by bench/serve-api.sh).

start: 100 clients at once, each starting a run of its own experiment
(a one-second run against the server's own /api/v1/health), for ROUNDS
rounds; latency of POST .../runs from send to answer.
sse: CLIENTS idle SSE connections on one long run; the server's RSS before
and after, per client.
Only the Python standard library; every connection is to 127.0.0.1.
"""

import http.client
import json
import socket
import sys
import threading
import time


def call(port, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request(method, path, body=body, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def create(port, name, doc):
    s, data = call(port, "POST", "/api/v1/experiments", json.dumps({"name": name, "document": doc}))
    assert s == 201, (s, data)
    return json.loads(data)["id"]


def doc(port, seconds):
    return (
        f"title: bench\nworkload:\n  base_url: http://127.0.0.1:{port}\n"
        "  scenarios: [{name: s, steps: [{request: {url: /api/v1/health}}]}]\n"
        f"  load: {{model: open, max_vus: 2, stages: [{{rate: 1, for: {seconds}s}}]}}\n"
        "goals:\n  - {name: errors, metric: http_req_failed, condition: rate<0.5}\n"
    )


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def wait_idle(port, limit=120):
    end = time.time() + limit
    while time.time() < end:
        _, data = call(port, "GET", "/api/v1/health")
        if json.loads(data)["runs_in_flight"] == 0:
            return
        time.sleep(0.2)
    raise SystemExit("runs did not end")


def bench_start(port, clients, rounds):
    ids = [create(port, f"start-{i}", doc(port, 1)) for i in range(clients)]
    lat, codes = [], {}
    for version in range(1, rounds + 1):
        barrier = threading.Barrier(clients)
        out = [None] * clients

        def one(i):
            barrier.wait()
            t = time.perf_counter()
            s, _ = call(port, "POST", f"/api/v1/experiments/{ids[i]}/versions/{version}/runs")
            out[i] = (s, (time.perf_counter() - t) * 1000)

        ts = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        for s, ms in out:
            codes[s] = codes.get(s, 0) + 1
            lat.append(ms)
        wait_idle(port)
        # A version that ran is frozen: the next round starts a new one.
        for eid in ids:
            s, data = call(port, "POST", f"/api/v1/experiments/{eid}/versions", "{}")
            assert s == 201, (s, data)
    print(f"start   {clients} concurrent clients x {rounds} rounds: p50 {pct(lat, 50):.1f} ms  p99 {pct(lat, 99):.1f} ms  statuses {codes}")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def bench_sse(port, pid, clients):
    eid = create(port, "sse", doc(port, 300))
    s, data = call(port, "POST", f"/api/v1/experiments/{eid}/versions/1/runs")
    assert s == 201, (s, data)
    run = json.loads(data)["id"]
    time.sleep(2)
    before = rss_kib(pid)
    socks = []
    for _ in range(clients):
        so = socket.create_connection(("127.0.0.1", port))
        so.sendall(f"GET /api/v1/runs/{run}/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        socks.append(so)
    for so in socks:
        so.settimeout(30)
        assert so.recv(4096).startswith(b"HTTP/1.1 200"), "SSE refused"
    time.sleep(3)
    after = rss_kib(pid)
    print(f"sse     {clients} idle clients on one run: server RSS {before} -> {after} KiB, {(after - before) / clients:.1f} KiB per client")
    for so in socks:
        so.close()
    call(port, "POST", f"/api/v1/runs/{run}/stop")
    wait_idle(port)


if __name__ == "__main__":
    port, pid, what = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    if what == "start":
        bench_start(port, int(sys.argv[4]), int(sys.argv[5]))
    else:
        bench_sse(port, pid, int(sys.argv[4]))

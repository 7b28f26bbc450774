#!/usr/bin/env node
// Drive a Toxiproxy-compatible server with the third-party npm client
// `toxiproxy-node-client` (4.x) and check each call and its effect on traffic.
//
// Environment:
//   TOXIPROXY_URL  API base URL, e.g. http://127.0.0.1:8474
//   UPSTREAM       host:port of an HTTP server answering GET / with 200 + body
//   TOXIPROXY_NODE_CLIENT_DIR  (optional) a directory whose node_modules holds
//                  toxiproxy-node-client; also searched: this script's dir, cwd.
//
// Prints one line per step; exits 1 with "FAIL: ..." on the first failed check.
// Each client call and socket is bounded by 5 s, the whole run by 28 s.
//
// What the client sends (4.1.0, global fetch, User-Agent "node"):
//   POST   /proxies            {name, listen, upstream[, enabled]}     -> reads name, listen, upstream, enabled
//   GET    /proxies            -> object keyed by name, each proxy as above
//   GET    /proxies/{p}
//   POST   /proxies/{p}        {enabled: bool}          (POST, not PATCH) -> proxy
//   DELETE /proxies/{p}
//   POST   /proxies/{p}/toxics {name, type, stream, toxicity, attributes} -> reads name, type, stream, toxicity, attributes
//   GET    /proxies/{p}/toxics/{t}
//   POST   /proxies/{p}/toxics/{t} {attributes: {...}}  (POST, not PATCH) -> toxic
//   DELETE /proxies/{p}/toxics/{t}
//   POST   /populate           [ {name, listen, upstream}, ... ]       -> reads .proxies[] (must be an array)
//   POST   /reset              (no body, no Content-Type)
//   GET    /version            (text, not parsed)
// Any non-2xx throws "Request failed with status code N"; a non-empty 2xx body must be JSON.

import { createRequire } from "node:module";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const TIMEOUT_MS = 5000;

function fail(msg) {
  console.log(`FAIL: ${msg}`);
  process.exit(1);
}
function ok(msg) {
  console.log(`ok: ${msg}`);
}
setTimeout(() => fail("whole check took longer than 28 s"), 28000).unref();

const require = createRequire(import.meta.url);
const searchPaths = [
  process.env.TOXIPROXY_NODE_CLIENT_DIR,
  path.dirname(fileURLToPath(import.meta.url)),
  process.cwd(),
].filter(Boolean);
let clientPkg;
let client;
try {
  const entry = require.resolve("toxiproxy-node-client", { paths: searchPaths });
  client = require(entry);
  clientPkg = require(path.join(entry.slice(0, entry.lastIndexOf("node_modules") + 12), "toxiproxy-node-client", "package.json"));
} catch (e) {
  fail(`cannot load toxiproxy-node-client from ${searchPaths.join(", ")}: ${e.message} (npm install toxiproxy-node-client@4)`);
}
const { Toxiproxy, ToxiproxyError } = client;

const apiUrl = (process.env.TOXIPROXY_URL || "http://127.0.0.1:8474").replace(/\/+$/, "");
const upstream = process.env.UPSTREAM;
if (!upstream) fail("UPSTREAM (host:port of an HTTP server) is not set");

function splitHostPort(hp) {
  const i = hp.lastIndexOf(":");
  return [hp.slice(0, i).replace(/^\[|\]$/g, ""), Number(hp.slice(i + 1))];
}

function withTimeout(promise, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function call(what, fn) {
  try {
    return await withTimeout(fn(), what);
  } catch (e) {
    fail(`${what}: ${e.name}: ${e.message}`);
  }
}

async function expectStatus(what, status, fn) {
  try {
    await withTimeout(fn(), what);
  } catch (e) {
    if (e instanceof ToxiproxyError && e.message.includes(`status code ${status}`)) return;
    fail(`${what}: expected HTTP ${status}, got ${e.name}: ${e.message}`);
  }
  fail(`${what}: expected HTTP ${status}, call succeeded`);
}

// One HTTP GET / on a fresh connection: {status, body, ms}.
function httpGet(hostport) {
  const [host, port] = splitHostPort(hostport);
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: "/", agent: false, timeout: TIMEOUT_MS }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode,
          body: Buffer.concat(chunks).toString(),
          ms: Number(process.hrtime.bigint() - start) / 1e6,
        }),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${hostport} timed out`)));
    req.on("error", reject);
  });
}

// Raw TCP exchange: send an HTTP/1.0 request, collect bytes until the peer
// closes. {bytes, ms, error}.
function rawExchange(hostport) {
  const [host, port] = splitHostPort(hostport);
  const start = process.hrtime.bigint();
  return new Promise((resolve) => {
    const chunks = [];
    let error = null;
    const sock = net.connect({ host, port });
    sock.setTimeout(TIMEOUT_MS, () => {
      error = "timeout";
      sock.destroy();
    });
    sock.on("connect", () => sock.write("GET / HTTP/1.0\r\nHost: x\r\n\r\n"));
    sock.on("data", (c) => chunks.push(c));
    sock.on("error", (e) => {
      error = e.code || e.message;
    });
    sock.on("close", () =>
      resolve({ bytes: Buffer.concat(chunks), ms: Number(process.hrtime.bigint() - start) / 1e6, error }),
    );
  });
}

function expectRefused(hostport, what) {
  const [host, port] = splitHostPort(hostport);
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    sock.setTimeout(TIMEOUT_MS, () => sock.destroy(new Error("timeout")));
    sock.on("connect", () => {
      sock.destroy();
      fail(`${what}: connection to ${hostport} was accepted`);
    });
    sock.on("error", (e) => {
      if (e.code === "ECONNREFUSED") resolve();
      else fail(`${what}: expected ECONNREFUSED, got ${e.code || e.message}`);
    });
  });
}

function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const NAME = "nodeclient_check";
const NAME2 = "nodeclient_check_populated";
const toxiproxy = new Toxiproxy(apiUrl);
const api = toxiproxy.getApi();

// ---- version ---------------------------------------------------------------
ok(`toxiproxy-node-client ${clientPkg.version}, API ${apiUrl}`);
const version = await call("getVersion()", () => toxiproxy.getVersion());
if (typeof version !== "string" || version.trim() === "") fail(`getVersion() returned ${JSON.stringify(version)}`);
ok(`getVersion() -> ${version.trim()}`);

// leftovers from an aborted run
for (const stale of [NAME, NAME2]) {
  try {
    await withTimeout(toxiproxy.get(stale).then((p) => p.remove()), "cleanup");
  } catch (_) {
    /* not there */
  }
}

// ---- baseline --------------------------------------------------------------
const direct = await httpGet(upstream).catch((e) => fail(`GET http://${upstream}/ failed: ${e.message}`));
if (direct.status !== 200) fail(`UPSTREAM ${upstream} answered ${direct.status}, expected 200`);
const directRaw = await rawExchange(upstream);
ok(`upstream ${upstream} answers 200 (${direct.body.length} body bytes, ${directRaw.bytes.length} raw bytes)`);

// ---- create / list / get ---------------------------------------------------
const proxy = await call("createProxy()", () =>
  toxiproxy.createProxy({ name: NAME, listen: "127.0.0.1:0", upstream }),
);
const [lhost, lport] = splitHostPort(proxy.listen || "");
if (proxy.name !== NAME || proxy.upstream !== upstream || proxy.enabled !== true)
  fail(`createProxy() -> ${JSON.stringify(proxy.toJson())}`);
if (lhost !== "127.0.0.1" || !(lport > 0)) fail(`listen must be the bound 127.0.0.1:<port>, got ${proxy.listen}`);
const listen = proxy.listen;
ok(`createProxy() -> ${JSON.stringify(proxy.toJson())}`);

const all = await call("getAll()", () => toxiproxy.getAll());
if (!all[NAME] || all[NAME].listen !== listen || all[NAME].enabled !== true)
  fail(`getAll() has no matching ${NAME}: ${JSON.stringify(Object.keys(all))}`);
const fetched = await call("get()", () => toxiproxy.get(NAME));
if (JSON.stringify(fetched.toJson()) !== JSON.stringify(proxy.toJson()))
  fail(`get() -> ${JSON.stringify(fetched.toJson())}`);
const rawProxy = (await call("GET /proxies/{p}", () => api.get(`${apiUrl}/proxies/${NAME}`))).data;
if (!Array.isArray(rawProxy.toxics) || rawProxy.toxics.length !== 0)
  fail(`GET /proxies/${NAME} must carry "toxics": [], got ${JSON.stringify(rawProxy.toxics)}`);
ok("getAll() and get() agree; proxy JSON carries toxics: []");
await expectStatus("createProxy() with an existing name", 409, () =>
  toxiproxy.createProxy({ name: NAME, listen: "127.0.0.1:0", upstream }),
);
await expectStatus("get() of an unknown proxy", 404, () => toxiproxy.get("nodeclient_no_such_proxy"));
ok("duplicate create -> 409, unknown proxy -> 404");

const base = await httpGet(listen).catch((e) => fail(`GET through proxy: ${e.message}`));
if (base.status !== 200 || base.body !== direct.body) fail(`GET through proxy: ${base.status} ${base.body.slice(0, 80)}`);
ok(`GET through proxy -> 200, same body, ${base.ms.toFixed(0)} ms`);

// ---- limit_data: add, measure, update, measure, remove -----------------------
const LIMIT = 20;
if (directRaw.bytes.length <= 100) fail(`upstream response too short (${directRaw.bytes.length} B) for the limit_data check`);
let limit = await call("addToxic(limit_data)", () =>
  proxy.addToxic({ name: "limit", type: "limit_data", stream: "downstream", toxicity: 1, attributes: { bytes: LIMIT } }),
);
if (limit.name !== "limit" || limit.type !== "limit_data" || limit.stream !== "downstream" || limit.toxicity !== 1 || limit.attributes.bytes !== LIMIT)
  fail(`addToxic() -> ${JSON.stringify(limit.toJson())}`);
let r = await rawExchange(listen);
if (r.bytes.length !== LIMIT || !r.bytes.equals(directRaw.bytes.subarray(0, LIMIT)))
  fail(`limit_data ${LIMIT}: received ${r.bytes.length} bytes (${r.error || "closed"})`);
ok(`addToxic(limit_data ${LIMIT}) -> the response is cut after exactly ${LIMIT} bytes`);

limit = await call("Toxic.update()", () => limit.update({ attributes: { bytes: 100 } }));
if (limit.attributes.bytes !== 100 || limit.type !== "limit_data" || limit.toxicity !== 1)
  fail(`update() -> ${JSON.stringify(limit.toJson())}`);
r = await rawExchange(listen);
if (r.bytes.length !== 100) fail(`after update to 100 bytes, received ${r.bytes.length}`);
const got = await call("getToxic()", () => proxy.getToxic("limit"));
if (got.attributes.bytes !== 100) fail(`getToxic() -> ${JSON.stringify(got.toJson())}`);
const list = (await call("GET /proxies/{p}/toxics", () => api.get(`${apiUrl}/proxies/${NAME}/toxics`))).data;
if (!Array.isArray(list) || list.length !== 1 || list[0].name !== "limit")
  fail(`GET /proxies/${NAME}/toxics -> ${JSON.stringify(list)}`);
ok("Toxic.update(bytes 100) -> 100 bytes pass; getToxic() and the toxics list agree");
await expectStatus("addToxic() with an existing name", 409, () =>
  proxy.addToxic({ name: "limit", type: "latency", stream: "upstream", toxicity: 1, attributes: {} }),
);
await expectStatus("getToxic() of an unknown toxic", 404, () => proxy.getToxic("nope"));
ok("duplicate toxic -> 409, unknown toxic -> 404");

await call("Toxic.remove()", () => limit.remove());
r = await rawExchange(listen);
if (!r.bytes.subarray(0, LIMIT).equals(directRaw.bytes.subarray(0, LIMIT)) || Math.abs(r.bytes.length - directRaw.bytes.length) > 64 || !r.bytes.toString().endsWith(direct.body))
  fail(`after remove, received ${r.bytes.length} of ~${directRaw.bytes.length} bytes`);
ok(`Toxic.remove() -> full response again (${r.bytes.length} bytes)`);

// ---- latency: add, measure, update to 0, remove -------------------------------
let lat = await call("addToxic(latency)", () =>
  proxy.addToxic({ name: "lat", type: "latency", stream: "upstream", toxicity: 1, attributes: { latency: 300, jitter: 0 } }),
);
const slow = await httpGet(listen).catch((e) => fail(`GET with latency: ${e.message}`));
if (slow.status !== 200 || slow.ms - base.ms < 250 || slow.ms > 2000)
  fail(`upstream latency 300 ms: GET took ${slow.ms.toFixed(0)} ms (status ${slow.status})`);
ok(`upstream latency 300 ms -> GET took ${slow.ms.toFixed(0)} ms`);
lat = await call("Toxic.update(latency 0)", () => lat.update({ attributes: { latency: 0 } }));
if (lat.attributes.latency !== 0 || lat.attributes.jitter !== 0 || lat.stream !== "upstream")
  fail(`update() -> ${JSON.stringify(lat.toJson())}`);
const fast = await httpGet(listen);
if (fast.ms > base.ms + 200) fail(`after update to latency 0, GET took ${fast.ms.toFixed(0)} ms`);
ok(`Toxic.update(latency 0) -> GET took ${fast.ms.toFixed(0)} ms`);
await call("Toxic.remove()", () => lat.remove());

// ---- timeout: data dropped, connection closed after the timeout ------------
const to = await call("addToxic(timeout)", () =>
  proxy.addToxic({ name: "to", type: "timeout", stream: "upstream", toxicity: 1, attributes: { timeout: 300 } }),
);
r = await rawExchange(listen);
if (r.bytes.length !== 0 || r.error === "timeout" || r.ms < 250 || r.ms > 3000)
  fail(`timeout 300 ms: got ${r.bytes.length} bytes, closed after ${r.ms.toFixed(0)} ms (${r.error || "closed"})`);
ok(`upstream timeout 300 ms -> request dropped, no data, connection closed after ${r.ms.toFixed(0)} ms`);
await call("Toxic.remove()", () => to.remove());

// ---- disable / enable -------------------------------------------------------
const disabled = await call("update({enabled:false})", () => proxy.update({ enabled: false }));
if (disabled.enabled !== false || disabled.listen !== listen) fail(`update() -> ${JSON.stringify(disabled.toJson())}`);
await expectRefused(listen, "while disabled");
ok("update({enabled:false}) -> enabled=false, connections refused");
const enabled = await call("update({enabled:true})", () => proxy.update({ enabled: true }));
if (enabled.enabled !== true || enabled.listen !== listen) fail(`update() -> ${JSON.stringify(enabled.toJson())}`);
if ((await httpGet(listen)).status !== 200) fail("GET after re-enable failed");
ok("update({enabled:true}) -> same listen address serves again");

// ---- populate ---------------------------------------------------------------
const fixed = `127.0.0.1:${await freePort()}`;
const spec = [
  { name: NAME, listen, upstream },
  { name: NAME2, listen: fixed, upstream },
];
let pop = await call("populate()", () => toxiproxy.populate(spec));
if (Object.keys(pop).sort().join() !== [NAME, NAME2].sort().join() || pop[NAME2].listen !== fixed || pop[NAME].listen !== listen)
  fail(`populate() -> ${JSON.stringify(Object.values(pop).map((p) => p.toJson()))}`);
if ((await httpGet(fixed)).status !== 200) fail(`GET through populated proxy ${fixed} failed`);
pop = await call("populate() again", () => toxiproxy.populate(spec));
// (check via get(): Toxiproxy < 2.12 echoed an unstarted copy with enabled=false here)
const kept = await call("get()", () => toxiproxy.get(NAME2));
if (pop[NAME2].listen !== fixed || kept.enabled !== true || kept.listen !== fixed)
  fail(`second populate() changed the proxy: ${JSON.stringify(kept.toJson())}`);
ok(`populate() -> kept ${NAME}, created ${NAME2} on ${fixed}; repeat is harmless`);

// ---- reset --------------------------------------------------------------------
await call("addToxic(latency)", () =>
  proxy.addToxic({ name: "lat2", type: "latency", stream: "downstream", toxicity: 1, attributes: { latency: 500 } }),
);
await call("update({enabled:false})", () => proxy.update({ enabled: false }));
await call("reset()", () => toxiproxy.reset());
const afterReset = (await call("GET /proxies/{p}", () => api.get(`${apiUrl}/proxies/${NAME}`))).data;
if (afterReset.enabled !== true || afterReset.toxics.length !== 0)
  fail(`after reset(): enabled=${afterReset.enabled}, toxics=${JSON.stringify(afterReset.toxics)}`);
const afterResetGet = await httpGet(listen);
if (afterResetGet.status !== 200 || afterResetGet.ms > base.ms + 200) fail("GET after reset() is slow or failing");
ok("reset() -> proxy re-enabled, toxics removed");

// ---- delete -------------------------------------------------------------------
await call("Proxy.remove()", () => proxy.remove());
await call("Proxy.remove()", () => pop[NAME2].remove());
const left = await call("getAll()", () => toxiproxy.getAll());
if (left[NAME] || left[NAME2]) fail(`proxies still listed after remove(): ${Object.keys(left)}`);
await expectRefused(listen, "after remove()");
await expectStatus("remove() of a deleted proxy", 404, () => proxy.remove());
ok("Proxy.remove() -> gone from getAll(), port closed, second remove -> 404");

console.log("toxiproxy-node-client check: all steps passed");
process.exit(0);

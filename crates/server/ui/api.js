// Talking to squall serve: JSON over fetch with the token in a header
// (asked for once, kept in this tab's sessionStorage, never in a URL), and
// the run's event stream read over fetch so it can carry the token too,
// resumed with Last-Event-ID after a drop so no event is lost or repeated.

const KEY = "squall-token";

/** An API error with its problem document. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem && problem.detail ? problem.detail : `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

function headers(extra = {}) {
  const t = sessionStorage.getItem(KEY);
  return t ? { ...extra, Authorization: `Bearer ${t}` } : extra;
}

/** Whether a token was entered in this tab. */
export function hasToken() {
  return Boolean(sessionStorage.getItem(KEY));
}

let asking = null;

/** Shows the token dialog; resolves once a token was entered. */
export function askToken(message) {
  if (asking) return asking;
  const dialog = document.getElementById("token-dialog");
  const input = document.getElementById("token-input");
  document.getElementById("token-error").textContent = message || "";
  input.value = "";
  asking = new Promise((resolve) => {
    const form = document.getElementById("token-form");
    const done = (ev) => {
      ev.preventDefault();
      if (!input.value) return;
      sessionStorage.setItem(KEY, input.value.trim());
      form.removeEventListener("submit", done);
      dialog.close();
      asking = null;
      resolve();
    };
    form.addEventListener("submit", done);
  });
  dialog.showModal();
  input.focus();
  return asking;
}

async function send(method, path, body, type) {
  const init = { method, headers: headers(type ? { "Content-Type": type } : {}) };
  if (body !== undefined) init.body = body;
  return fetch(path, init);
}

/**
 * Calls the API. `body` is sent as JSON unless it is a string (then as
 * YAML text). Resolves to the parsed JSON (or text for non-JSON answers).
 */
export async function api(method, path, body) {
  const [payload, type] =
    body === undefined ? [undefined, null]
      : typeof body === "string" ? [body, "application/yaml"]
        : [JSON.stringify(body), "application/json"];
  let r = await send(method, path, payload, type);
  while (r.status === 401) {
    await askToken(sessionStorage.getItem(KEY) ? "That token was refused." : "");
    r = await send(method, path, payload, type);
  }
  const ct = r.headers.get("content-type") || "";
  const data = ct.includes("json") ? await r.json().catch(() => null) : await r.text();
  if (!r.ok) throw new ApiError(r.status, typeof data === "object" ? data : { title: r.statusText, detail: String(data) });
  return { data, status: r.status, location: r.headers.get("location") };
}

/**
 * Saves an API resource as a file. A plain link cannot carry the token
 * (it would have to go in the URL), so the file is fetched with it and
 * handed to the browser as a download.
 */
export async function download(path, filename) {
  let r = await send("GET", path);
  while (r.status === 401) { await askToken("That token was refused."); r = await send("GET", path); }
  if (!r.ok) throw new ApiError(r.status, await r.json().catch(() => ({ title: r.statusText })));
  const url = URL.createObjectURL(await r.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** GET returning the JSON. */
export async function get(path) {
  return (await api("GET", path)).data;
}

/**
 * Follows a run's event stream: `onEvent({id, name, data})` for each event
 * once, in order; `onState("live" | "reconnecting" | "ended")`. Resumes
 * after the last id seen, backing off up to 5 s. Returns a stop function.
 */
export function follow(path, onEvent, onState) {
  let last = 0;
  let stopped = false;
  let ctrl = null;
  let delay = 250;
  const run = async () => {
    while (!stopped) {
      ctrl = new AbortController();
      try {
        const r = await fetch(path, {
          headers: headers({ Accept: "text/event-stream", "Last-Event-ID": String(last) }),
          signal: ctrl.signal,
        });
        if (r.status === 401) { await askToken("That token was refused."); continue; }
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        onState("live");
        delay = 250;
        const reader = r.body.getReader();
        const dec = new TextDecoder();
        let buf = "";
        let ended = false;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let cut;
          while ((cut = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            const ev = parse(block);
            if (!ev || ev.id <= last) continue;
            last = ev.id;
            onEvent(ev);
            if (ev.name === "ended") ended = true;
          }
        }
        if (ended) { stopped = true; onState("ended"); return; }
      } catch (e) {
        if (stopped) return;
      }
      onState("reconnecting");
      await new Promise((res) => setTimeout(res, delay));
      delay = Math.min(delay * 2, 5000);
    }
  };
  run();
  return () => { stopped = true; if (ctrl) ctrl.abort(); };
}

function parse(block) {
  let id = null, name = "message", data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith("id:")) id = Number(line.slice(3).trim());
    else if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data += (data ? "\n" : "") + line.slice(5).replace(/^ /, "");
  }
  if (id === null || !Number.isFinite(id)) return null;
  try { return { id, name, data: JSON.parse(data) }; } catch { return { id, name, data }; }
}

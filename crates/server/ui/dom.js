// Small DOM helpers: every value goes in through textContent or a
// property, never as HTML, so nothing from the API can run as markup.

/** Makes an element: h("a", {href: "#/"}, "text", child...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    // Through the CSSOM: the page's CSP refuses style attributes.
    else if (k === "style") el.style.cssText = v;
    else if (k in el && (typeof v !== "string" || k === "value")) el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** An SVG element. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === "style") el.style.cssText = v;
    else el.setAttribute(k, v);
  }
  append(el, children);
  return el;
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A status or verdict badge. */
export function badge(text) {
  return h("span", { class: `badge ${String(text || "").replace(/\s+/g, "-")}` }, text || "-");
}

/** Milliseconds, readable. */
export function ms(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
  if (v >= 100) return `${v.toFixed(0)} ms`;
  return `${v.toFixed(1)} ms`;
}

/** A number with sensible digits. */
export function num(v, digits = 1) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(digits);
}

/** A share as a percentage. */
export function pct(v) {
  return v === null || v === undefined ? "–" : `${(v * 100).toFixed(v < 0.1 ? 2 : 1)} %`;
}

/** A Unix-ms instant in local time. */
export function when(unixMs) {
  if (!unixMs) return "–";
  const d = new Date(unixMs);
  return d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

/** Seconds as m:ss. */
export function dur(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** A message shown in place of a view's content. */
export function errorBox(err) {
  const p = err && err.problem;
  const lines = [p ? `${p.title}: ${p.detail || ""}` : String(err && err.message ? err.message : err)];
  if (p && Array.isArray(p.errors)) lines.push(...p.errors);
  return h("div", { class: "error-box", role: "alert" }, lines.join("\n"));
}

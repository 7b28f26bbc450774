// Two runs on one time axis (seconds since each main run's start), both
// runs' fault windows drawn, and a table of figures per phase side by side
// (each fault's before/during/after, from the reports' merged histograms,
// never from averaged per-second percentiles).

import { h, ms, pct, num, when } from "./dom.js";
import { get } from "./api.js";
import { TimeChart, FaultWindows } from "./chart.js";

export async function compareView(a, b) {
  const [ra, rb] = await Promise.all([a, b].map((id) => get(`/api/v1/runs/${id}`)));
  const [ma, mb, pa, pb] = await Promise.all([
    get(`/api/v1/runs/${a}/metrics`), get(`/api/v1/runs/${b}/metrics`),
    get(`/api/v1/runs/${a}/report`).catch(() => null), get(`/api/v1/runs/${b}/report`).catch(() => null)]);
  const label = (r) => `${r.id.slice(0, 8)} (v${r.version}, ${when(r.created_ms)})`;
  const A = { color: "#2458d6" }, B = { color: "#c0392b", dash: "5 3" };
  const charts = [
    ["p95 latency (ms)", (s) => s.p95_ms, (v) => num(v, 0)],
    ["p99 latency (ms)", (s) => s.p99_ms, (v) => num(v, 0)],
    ["Throughput (requests/s)", (s) => s.rps, (v) => num(v, 0)],
    ["Errors (%)", (s) => (s.requests ? s.error_rate * 100 : null), (v) => num(v, 1)],
  ].map(([title, pick, fmt]) => {
    const c = new TimeChart(title, [{ label: `A ${a.slice(0, 8)}`, ...A }, { label: `B ${b.slice(0, 8)}`, ...B }], fmt);
    for (const s of ma) c.push(0, s.end_s, pick(s));
    for (const s of mb) c.push(1, s.end_s, pick(s));
    const bands = [
      ...FaultWindows.fromReport(pa && pa.faults).list().map((w) => ({ ...w, label: `A: ${w.label}` })),
      ...FaultWindows.fromReport(pb && pb.faults).list().map((w) => ({ ...w, label: `B: ${w.label}`, row: 1 }))];
    c.setBands(bands);
    return c;
  });
  const phases = new Map();
  for (const [side, rep] of [["a", pa], ["b", pb]]) for (const p of (rep && rep.phases) || []) {
    const row = phases.get(p.phase) || {};
    row[side] = p;
    phases.set(p.phase, row);
  }
  // A phase a run never reached (it was stopped) has no figures, not zeros.
  for (const row of phases.values()) for (const side of ["a", "b"]) if (row[side] && !row[side].requests) delete row[side];
  const delta = (x, y, f) => (x === undefined || y === undefined || x === null || y === null ? "–" : f(y - x));
  const rows = [...phases.entries()].map(([name, { a: x, b: y }]) => h("tr", {},
    h("td", {}, name),
    h("td", { class: "n" }, x ? ms(x.latency_ms.p95) : "–"), h("td", { class: "n" }, y ? ms(y.latency_ms.p95) : "–"),
    h("td", { class: "n" }, delta(x && x.latency_ms.p95, y && y.latency_ms.p95, (d) => `${d >= 0 ? "+" : "−"}${ms(Math.abs(d))}`)),
    h("td", { class: "n" }, x ? pct(x.error_rate) : "–"), h("td", { class: "n" }, y ? pct(y.error_rate) : "–"),
    h("td", { class: "n" }, x ? num(x.rps, 1) : "–"), h("td", { class: "n" }, y ? num(y.rps, 1) : "–")));
  const goals = (rep) => (rep ? `${rep.verdict}: ${rep.goals.filter((g) => g.passed).length} of ${rep.goals.length} goals held` : "no report");
  return {
    title: "Compare runs",
    el: h("section", { id: "compare-view" },
      h("h1", {}, "Two runs side by side"),
      h("p", {}, h("b", {}, "A "), h("a", { href: `#/run/${a}` }, label(ra)), ` — ${goals(pa)}`, h("br"),
        h("b", {}, "B "), h("a", { href: `#/run/${b}` }, label(rb)), ` — ${goals(pb)}`),
      h("p", { class: "muted small" }, "Time is seconds since each run's main phase began (warm-up is negative). Shaded: the fault windows each run's injector confirmed."),
      h("div", { class: "charts" }, charts.map((c) => c.el)),
      h("h2", {}, "Per phase (from each run's merged histograms)"),
      h("div", { class: "table-wrap" }, h("table", { id: "phase-compare" },
        h("thead", {}, h("tr", {}, h("th", {}, "phase"), h("th", { class: "n" }, "p95 A"), h("th", { class: "n" }, "p95 B"), h("th", { class: "n" }, "Δ p95"),
          h("th", { class: "n" }, "errors A"), h("th", { class: "n" }, "errors B"), h("th", { class: "n" }, "req/s A"), h("th", { class: "n" }, "req/s B"))),
        h("tbody", {}, rows)))),
  };
}

// A time chart in SVG: lines over seconds since the run's start, fault
// windows shaded behind them (open ones reach the right edge until their
// revert arrives), a cursor that reads the values under the pointer.

import { h, s, fill } from "./dom.js";

const W = 600, H = 190, L = 46, R = 10, T = 10, B = 22;

export class TimeChart {
  /**
   * `series`: [{label, color, dash?}]; `format`: value → text for the axis.
   */
  constructor(title, series, format = (v) => String(v)) {
    this.series = series.map((x) => ({ ...x, points: [] }));
    this.bands = [];
    this.format = format;
    this.minX = null;
    this.svg = s("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img", "aria-label": title });
    this.legend = h("div", { class: "legend" });
    this.el = h("figure", { class: "chart" }, h("h3", {}, title), this.svg, this.legend);
    this.el.style.margin = "0";
    this.svg.addEventListener("pointermove", (e) => this.hover(e));
    this.svg.addEventListener("pointerleave", () => { this.cursor = null; this.draw(); });
    this.cursor = null;
    this.pending = false;
  }

  /** Adds a point to series `i` (null values leave a gap). */
  push(i, t, v) {
    this.series[i].points.push([t, v]);
    this.schedule();
  }

  /** Replaces the fault windows: [{label, start, end|null, planned?}]. */
  setBands(bands) {
    this.bands = bands;
    this.schedule();
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.draw(); });
  }

  extent() {
    let x0 = Infinity, x1 = -Infinity, y1 = 0;
    for (const se of this.series) for (const [t, v] of se.points) {
      x0 = Math.min(x0, t); x1 = Math.max(x1, t);
      if (v !== null && Number.isFinite(v)) y1 = Math.max(y1, v);
    }
    for (const b of this.bands) { x0 = Math.min(x0, b.start); x1 = Math.max(x1, b.end ?? b.start); }
    if (this.minX !== null) x0 = Math.min(x0, this.minX);
    if (!Number.isFinite(x0)) { x0 = 0; x1 = 10; }
    if (x1 - x0 < 5) x1 = x0 + 5;
    return { x0, x1, y1: y1 > 0 ? y1 * 1.1 : 1 };
  }

  draw() {
    const { x0, x1, y1 } = this.extent();
    const sx = (t) => L + ((t - x0) / (x1 - x0)) * (W - L - R);
    const sy = (v) => H - B - (v / y1) * (H - T - B);
    this.scale = { x0, x1, sx };
    const parts = [];
    for (let i = 0; i <= 4; i++) {
      const v = (y1 * i) / 4, y = sy(v);
      parts.push(s("line", { class: "grid", x1: L, x2: W - R, y1: y, y2: y }));
      parts.push(s("text", { class: "tick", x: L - 4, y: y + 3, "text-anchor": "end" }, this.format(v)));
    }
    const step = niceStep((x1 - x0) / 6);
    for (let t = Math.ceil(x0 / step) * step; t <= x1; t += step) {
      parts.push(s("text", { class: "tick", x: sx(t), y: H - 6, "text-anchor": "middle" }, `${Math.round(t)}s`));
    }
    for (const b of this.bands) {
      const a = sx(b.start), e = sx(b.end ?? x1);
      parts.push(s("rect", {
        class: `band${b.end === null ? " open" : ""}`, x: a, y: T, width: Math.max(1, e - a), height: H - T - B,
        "data-fault": b.label,
      }, s("title", {}, `${b.label}: ${b.start.toFixed(1)}s – ${b.end === null ? "in force" : `${b.end.toFixed(1)}s`}`)));
      parts.push(s("text", { class: "band-label", x: a + 3, y: T + 10 + 11 * (b.row || 0) }, b.label));
    }
    parts.push(s("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
    for (const se of this.series) {
      let d = "", pen = false;
      for (const [t, v] of se.points) {
        if (v === null || !Number.isFinite(v)) { pen = false; continue; }
        d += `${pen ? "L" : "M"}${sx(t).toFixed(1)},${sy(v).toFixed(1)}`;
        pen = true;
      }
      parts.push(s("path", { d, fill: "none", stroke: se.color, "stroke-width": 1.6, "stroke-dasharray": se.dash || null, "vector-effect": "non-scaling-stroke" }));
    }
    if (this.cursor !== null) {
      const x = sx(this.cursor);
      parts.push(s("line", { class: "cursor", x1: x, x2: x, y1: T, y2: H - B }));
    }
    fill(this.svg, ...parts);
    this.el.dataset.points = String(this.series[0] ? this.series[0].points.length : 0);
    this.drawLegend();
  }

  drawLegend() {
    const items = this.series.map((se) => {
      let v = null;
      const pts = se.points;
      if (pts.length) {
        if (this.cursor === null) v = pts[pts.length - 1][1];
        else {
          let best = null;
          for (const p of pts) if (best === null || Math.abs(p[0] - this.cursor) < Math.abs(best[0] - this.cursor)) best = p;
          v = best ? best[1] : null;
        }
      }
      return h("span", {}, h("i", { class: "sw", style: `background:${se.color}` }), `${se.label} `,
        h("b", {}, v === null ? "–" : this.format(v)));
    });
    if (this.cursor !== null) items.unshift(h("span", {}, `t = ${this.cursor.toFixed(0)} s`));
    fill(this.legend, ...items);
  }

  hover(e) {
    if (!this.scale) return;
    const box = this.svg.getBoundingClientRect();
    const x = ((e.clientX - box.left) / box.width) * W;
    const { x0, x1 } = this.scale;
    const t = x0 + ((x - L) / (W - L - R)) * (x1 - x0);
    this.cursor = Math.max(x0, Math.min(x1, t));
    this.draw();
  }
}

function niceStep(raw) {
  const p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-9))));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/** Fault windows from fault/revert events (or a report's fault records). */
export class FaultWindows {
  constructor() { this.byName = new Map(); }
  /** A `fault` (active) or `revert` event's payload. */
  apply(name, data) {
    if (!data || !data.fault) return;
    const w = this.byName.get(data.fault) || { label: data.fault, target: data.target, type: data.type, start: data.t, end: null };
    if (name === "fault") { w.start = data.injected_s ?? data.t; w.end = null; }
    if (name === "revert") w.end = data.reverted_s ?? data.t;
    this.byName.set(data.fault, w);
  }
  /** From a report's `faults` (what was confirmed; never the plan). */
  static fromReport(faults) {
    const f = new FaultWindows();
    for (const r of faults || []) {
      if (r.injected_s === null || r.injected_s === undefined) continue;
      f.byName.set(r.name, { label: r.name, target: r.target, type: r.kind, start: r.injected_s, end: r.reverted_s ?? r.planned_end_s });
    }
    return f;
  }
  list() { return [...this.byName.values()]; }
  /** The windows in force now. */
  active() { return this.list().filter((w) => w.end === null); }
}

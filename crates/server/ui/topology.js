// The simulated system as a graph: services in layers from the entry
// point, calls as edges (with their probability; parallel steps marked),
// and, for a run, the faults in force on each service as the injector
// confirms them. The topology's YAML can be edited here and is written
// into the document, checked by the same validator as the file.

import { h, s, fill, errorBox, num } from "./dom.js";
import { api, get, follow } from "./api.js";
import { setBlock } from "./yaml.js";

const NW = 150, NH = 46, GX = 90, GY = 26;

export async function topologyView(id, version, runId) {
  const exp = await get(`/api/v1/experiments/${id}`);
  const base = `/api/v1/experiments/${id}/versions/${version}`;
  const [topo, info] = await Promise.all([get(`${base}/topology`), get(base)]);
  const { svg, nodes } = graph(topo.services);
  const faultList = h("ul", { class: "timeline", id: "topology-faults" });
  const active = new Map();
  const paint = () => {
    for (const [name, g] of nodes) {
      const here = [...active.values()].filter((f) => f.target === name);
      g.classList.toggle("faulted", here.length > 0);
      fill(g.querySelector(".fault-badge"), here.map((f) => `⚡ ${f.type}`).join(" "));
    }
  };
  let leave = null;
  if (runId) {
    leave = follow(`/api/v1/runs/${runId}/events`, ({ name, data }) => {
      if ((name === "fault" || name === "revert") && data.fault) {
        if (name === "fault") active.set(data.fault, data); else active.delete(data.fault);
        faultList.append(h("li", {}, h("span", { class: "t" }, `${data.t.toFixed(1)} s`), h("span", { class: `kind ${name}` }, name), `${data.fault} (${data.type} on ${data.target})`));
        paint();
      }
    }, () => {});
  }

  const area = h("textarea", { id: "topology-yaml", spellcheck: false, "aria-label": "topology YAML", value: topo.yaml, readOnly: info.frozen });
  const problems = h("div", { id: "topology-problems", role: "status" });
  const apply = h("button", {
    class: "primary", id: "apply-topology", disabled: info.frozen || topo.source === "file",
    onclick: async () => {
      const text = (await api("GET", `${base}/document`)).data;
      const next = setBlock(text, ["sim"], area.value);
      if (next === null) { fill(problems, errorBox("This document is JSON: put the topology under `sim` in the Document tab.")); return; }
      try {
        await api("PUT", `${base}/document`, next);
        location.reload();
      } catch (e) { fill(problems, errorBox(e)); }
    },
  }, "Write into the document");

  return {
    title: `Topology · ${exp.name}`,
    leave: () => leave && leave(),
    el: h("section", { id: "topology-view" },
      h("h1", {}, h("a", { href: `#/e/${id}/v/${version}` }, `${exp.name} v${version}`), " · topology"),
      h("p", { class: "muted small" }, `${topo.services.length} services · ${topo.source === "built-in" ? "the built-in demo shop" : topo.source === "inline" ? "written in the document" : "from a file"}`,
        runId ? [" · faults of run ", h("a", { href: `#/run/${runId}` }, runId.slice(0, 8))] : ""),
      h("div", { class: "topo" }, svg),
      runId ? [h("h2", {}, "Faults on the services"), faultList] : null,
      h("h2", {}, "Edit the topology"),
      info.frozen ? h("p", { class: "notice" }, "This version has been run, so it is frozen: make a new version to change its topology.") : null,
      h("p", { class: "muted small" }, "Written into the document's ", h("code", {}, "sim"), " (inline), checked like a topology file: names, calls, probabilities 0..100, no cycles."),
      h("div", { class: "editor" }, area), h("div", { class: "row" }, apply), problems),
  };
}

/** Lays the services out in layers (longest call path from the entry) and draws them. */
function graph(services) {
  const edges = [];
  for (const svc of services) for (const step of svc.steps) for (const c of step.calls) {
    edges.push({ from: svc.name, to: c.service, probability: c.probability, parallel: step.parallel });
  }
  const depth = new Map(services.map((x) => [x.name, 0]));
  for (let i = 0; i < services.length; i++) for (const e of edges) depth.set(e.to, Math.max(depth.get(e.to), depth.get(e.from) + 1));
  const layers = [];
  for (const x of services) (layers[depth.get(x.name)] ||= []).push(x);
  const pos = new Map();
  layers.forEach((layer, d) => layer.forEach((x, i) => pos.set(x.name, { x: 10 + d * (NW + GX), y: 10 + i * (NH + GY) })));
  const width = 20 + layers.length * (NW + GX) - GX;
  const height = 20 + Math.max(...layers.map((l) => l.length)) * (NH + GY) - GY + 14;
  const parts = [s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
    s("path", { d: "M0,0L10,5L0,10z", fill: "#98a2b3" })))];
  for (const e of edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    const x1 = a.x + NW, y1 = a.y + NH / 2, x2 = b.x, y2 = b.y + NH / 2;
    const mx = (x1 + x2) / 2;
    parts.push(s("path", { class: "edge", d: `M${x1},${y1}C${mx},${y1} ${mx},${y2} ${x2},${y2}`, "marker-end": "url(#arrow)", "data-edge": `${e.from}->${e.to}` }));
    const text = `${e.probability < 100 ? `${e.probability}%` : ""}${e.parallel ? " ∥" : ""}`.trim();
    if (text) parts.push(s("text", { class: "edge-label", x: mx, y: (y1 + y2) / 2 - 4, "text-anchor": "middle" }, text));
  }
  const nodes = new Map();
  for (const x of services) {
    const p = pos.get(x.name);
    const g = s("g", { class: "node", "data-service": x.name, transform: `translate(${p.x},${p.y})` },
      s("rect", { width: NW, height: NH, rx: 8 }),
      s("text", { x: 10, y: 18 }, x.name),
      s("text", { class: "sub", x: 10, y: 34 }, `${num(x.latency_ms.base, 0)}±${num(x.latency_ms.jitter, 0)} ms${x.error_rate ? ` · ${(x.error_rate * 100).toFixed(0)}% err` : ""}`),
      s("text", { class: "fault-badge", x: 4, y: NH + 12 }),
      s("title", {}, `${x.name}: paths ${x.paths.join(", ")}`));
    nodes.set(x.name, g);
    parts.push(g);
  }
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "service topology", style: `max-width:${width * 1.4}px` }, ...parts);
  return { svg, nodes };
}

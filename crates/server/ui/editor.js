// One experiment: its versions, the document editor (checked by the
// server's own validator as you type, problems located on their lines),
// forms for stages, faults and goals that write into the same text, the
// runs of the version with their key figures, and a diff of two versions.

import { h, fill, when, errorBox, ms, pct, num } from "./dom.js";
import { api, get } from "./api.js";
import { emit, setBlock } from "./yaml.js";
import { diffLines } from "./diff.js";
import { runsTable } from "./experiments.js";
import { TimeChart } from "./chart.js";

export async function experimentView(id, version, tab) {
  const [exp, versions] = await Promise.all([get(`/api/v1/experiments/${id}`), get(`/api/v1/experiments/${id}/versions`)]);
  const v = version || versions[versions.length - 1].version;
  const info = versions.find((x) => x.version === v);
  if (!info) throw new Error(`experiment ${exp.name} has no version ${v}`);
  const base = `/api/v1/experiments/${id}/versions/${v}`;
  const text = (await api("GET", `${base}/document`)).data;

  const pickVersion = h("select", {
    id: "version", "aria-label": "version",
    onchange: () => { location.hash = `#/e/${id}/v/${pickVersion.value}/${tab}`; },
  }, versions.map((x) => h("option", { value: x.version, selected: x.version === v }, `v${x.version}${x.frozen ? " (run)" : ""}`)));
  const msg = h("div", { role: "status" });
  const startBtn = h("button", {
    class: "primary", id: "start",
    onclick: async () => {
      try {
        const { data } = await api("POST", `${base}/runs`);
        location.hash = `#/run/${data.id}`;
      } catch (e) { fill(msg, errorBox(e)); }
    },
  }, "Start run");
  const newVersion = h("button", {
    id: "new-version",
    onclick: async () => {
      try {
        const { data } = await api("POST", `/api/v1/experiments/${id}/versions`, { from: v });
        location.hash = `#/e/${id}/v/${data.version}/document`;
      } catch (e) { fill(msg, errorBox(e)); }
    },
  }, "New version");

  const editor = documentEditor(base, text, info.frozen);
  const panes = {
    document: () => editor.el,
    forms: () => formsPane(editor),
    runs: () => runsPane(base),
    diff: () => diffPane(id, versions, v),
  };
  const holder = h("div", { id: `pane-${tab}` });
  const tabs = h("div", { class: "tabs", role: "tablist" }, Object.keys(panes).map((name) => h("button", {
    role: "tab", "aria-selected": String(name === tab), id: `tab-${name}`,
    onclick: () => { history.replaceState(null, "", `#/e/${id}/v/${v}/${name}`); show(name); },
  }, name[0].toUpperCase() + name.slice(1))));
  const show = async (name) => {
    tab = name;
    for (const b of tabs.children) b.setAttribute("aria-selected", String(b.id === `tab-${name}`));
    holder.id = `pane-${name}`;
    try { fill(holder, await panes[name]()); } catch (e) { fill(holder, errorBox(e)); }
  };
  show(tab);

  return {
    title: exp.name,
    el: h("section", {},
      h("div", { class: "row spread" }, h("h1", {}, exp.name),
        h("div", { class: "row" }, pickVersion, newVersion,
          h("a", { href: `#/topology/${id}/${v}` }, "Topology"), startBtn)),
      h("div", { class: "muted small" }, `version ${v} · created ${when(info.created_ms)} · ${info.runs} run${info.runs === 1 ? "" : "s"}`),
      msg, tabs, holder),
  };
}

/** The YAML/JSON editor with line numbers, live validation and save. */
function documentEditor(base, initial, frozen) {
  const area = h("textarea", { id: "document", spellcheck: false, "aria-label": "experiment document", readOnly: frozen, value: initial });
  const gutter = h("div", { class: "gutter", "aria-hidden": "true" });
  const problems = h("ul", { class: "problems", id: "problems", "aria-live": "polite" });
  const saved = h("span", { class: "muted small", role: "status", id: "save-state" });
  // `parsed` is the document as the server read `checked` (the text it
  // checked): the forms edit it only while that is still the text.
  const state = { parsed: null, valid: false, checked: null, text: initial, bad: new Set() };
  let timer = null, seq = 0;

  const drawGutter = () => {
    const n = area.value.split("\n").length;
    fill(gutter, ...Array.from({ length: n }, (_, i) => h("div", { class: state.bad.has(i + 1) ? "bad" : "" }, String(i + 1))));
    gutter.scrollTop = area.scrollTop;
  };
  const goTo = (line) => {
    const lines = area.value.split("\n");
    const at = lines.slice(0, line - 1).reduce((a, l) => a + l.length + 1, 0);
    area.focus();
    area.setSelectionRange(at, at + (lines[line - 1] || "").length);
    area.scrollTop = Math.max(0, (line - 5) * 19.5);
  };
  const check = async () => {
    const mine = ++seq;
    const text = area.value;
    let out;
    try { out = (await api("POST", "/api/v1/validate", text)).data; } catch (e) {
      const p = e.problem || {};
      out = { valid: false, errors: p.errors && p.errors.length ? p.errors : [p.detail || String(e)], warnings: [] };
    }
    if (mine !== seq) return;
    state.valid = out.valid;
    state.parsed = out.valid ? out.document : null;
    state.checked = text;
    state.bad = new Set();
    const items = out.errors.map((e) => {
      const m = /:(\d+)(?::(\d+))?:/.exec(e);
      const line = m ? Number(m[1]) : null;
      if (line) state.bad.add(line);
      return h("li", { tabindex: line ? 0 : -1, onclick: () => line && goTo(line), onkeydown: (ev) => ev.key === "Enter" && line && goTo(line) }, e);
    });
    for (const w of out.warnings) items.push(h("li", { class: "warning" }, `warning: ${w}`));
    if (out.valid) items.unshift(h("li", { class: "good" }, "Valid."));
    fill(problems, ...items);
    drawGutter();
  };
  const schedule = () => { clearTimeout(timer); timer = setTimeout(check, 350); saved.textContent = area.value === state.text ? "" : "unsaved changes"; };
  area.addEventListener("input", () => { drawGutter(); schedule(); });
  area.addEventListener("scroll", () => { gutter.scrollTop = area.scrollTop; });
  area.addEventListener("keydown", (e) => {
    if (e.key === "s" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); save(); }
  });
  const save = async () => {
    try {
      await api("PUT", `${base}/document`, area.value);
      state.text = area.value;
      saved.textContent = "saved";
    } catch (e) {
      saved.textContent = "";
      const p = e.problem || {};
      fill(problems, ...(p.errors && p.errors.length ? p.errors : [p.detail || String(e)]).map((x) => h("li", {}, x)));
    }
  };
  drawGutter();
  check();
  const el = h("div", {},
    frozen ? h("p", { class: "notice" }, "This version has been run, so it is frozen: make a new version to change it.") : null,
    h("div", { class: "editor" }, gutter, area),
    h("div", { class: "row" }, h("button", { class: "primary", id: "save", onclick: save, disabled: frozen }, "Save"),
      h("span", { class: "muted small" }, "Ctrl+S saves; the server checks the document as you type."), saved),
    problems);
  return {
    el, state, area, frozen,
    /** Replaces the text (from a form) and checks it. */
    set(text) { area.value = text; drawGutter(); schedule(); },
  };
}

const FORMS = [
  { title: "Workload stages", path: ["workload", "load", "stages"], cols: ["rate", "users", "for", "ramp_to", "over"] },
  { title: "Faults", path: ["faults"], cols: ["name", "at", "for", "fault.type", "fault.service", "fault.url", "fault.args"] },
  { title: "Goals", path: ["goals"], cols: ["name", "metric", "condition", "phase", "fault", "recovery"] },
];

function dig(obj, path) { return path.reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), obj); }

/** Tables for the common parts; "Apply" writes them into the document's text. */
function formsPane(editor) {
  const current = () => editor.state.valid && editor.state.checked === editor.area.value;
  const doc = editor.state.parsed;
  if (!doc || !current()) return h("p", { class: "notice", id: "forms-wait" }, "The document is not valid, or not checked yet: fix it in the Document tab first (the forms edit a valid, checked document).");
  const tables = FORMS.map((f) => rowsEditor(f, dig(doc, f.path) || []));
  const plan = new TimeChart("Planned load and faults (from the forms)", [{ label: "planned level", color: "#2458d6" }], (v) => num(v, 0));
  plan.el.id = "plan-chart";
  const redraw = () => {
    const [stages, faults] = [tables[0].value(), tables[1].value()];
    plan.series[0].points = plannedLevels(stages);
    plan.setBands(faults.map((f) => {
      const at = seconds(f.at) ?? 0, len = seconds(f.for) ?? 0;
      return { label: f.name || (f.fault && f.fault.type) || "fault", start: at, end: at + len };
    }));
  };
  for (const t of tables) t.el.addEventListener("input", redraw);
  for (const t of tables) t.el.addEventListener("click", () => setTimeout(redraw));
  redraw();
  const msg = h("div", { role: "status" });
  const apply = h("button", {
    class: "primary", id: "apply-forms", disabled: editor.frozen,
    onclick: () => {
      if (!current()) {
        fill(msg, h("p", { class: "notice" }, "The document changed since these forms were filled: open the Forms tab again."));
        return;
      }
      let text = editor.area.value, rewritten = false;
      const whole = JSON.parse(JSON.stringify(doc));
      for (const t of tables) {
        const value = t.value();
        let o = whole;
        for (const k of t.form.path.slice(0, -1)) o = o[k] = o[k] || {};
        o[t.form.path[t.form.path.length - 1]] = value;
        const next = setBlock(text, t.form.path, emit(value));
        if (next === null) rewritten = true; else text = next;
      }
      if (rewritten) text = editor.area.value.trimStart().startsWith("{") ? JSON.stringify(whole, null, 2) + "\n" : emit(whole);
      editor.set(text);
      fill(msg, h("p", { class: rewritten ? "notice" : "muted" }, rewritten
        ? "Written into the document; it had to be rewritten whole (JSON or flow style), so comments are gone. Save it in the Document tab."
        : "Written into the document's text (the rest is untouched). Check and save it in the Document tab."));
    },
  }, "Apply to document");
  return h("div", { id: "forms" }, plan.el, ...tables.map((t) => t.el), h("div", { class: "row" }, apply), msg);
}

/** Seconds in a duration as written (`300ms`, `4s`, `1m30s`, a number of seconds). */
export function seconds(d) {
  if (typeof d === "number") return d;
  if (typeof d !== "string" || !d.trim()) return null;
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 };
  let total = 0, rest = d.trim();
  const part = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)/;
  while (rest) {
    const m = part.exec(rest);
    if (!m) return null;
    total += Number(m[1]) * unit[m[2]];
    rest = rest.slice(m[0].length).trim();
  }
  return total;
}

/** The planned level (arrivals/s or users) over time, from the stages. */
function plannedLevels(stages) {
  const pts = [];
  let t = 0, level = 0;
  for (const st of stages) {
    if (st.ramp_to !== undefined) {
      const d = seconds(st.over) ?? 0;
      const from = st.from ?? level;
      pts.push([t, from], [t + d, Number(st.ramp_to)]);
      t += d; level = Number(st.ramp_to);
    } else if (st.rate !== undefined || st.users !== undefined) {
      const d = seconds(st.for) ?? 0;
      level = Number(st.rate ?? st.users);
      pts.push([t, level], [t + d, level]);
      t += d;
    }
  }
  return pts;
}

function rowsEditor(form, items) {
  const body = h("tbody");
  const cell = (item, col) => {
    const v = dig(item, col.split("."));
    const isJson = col.endsWith("args") || col === "recovery";
    return h("td", {}, h("input", {
      "data-col": col, "aria-label": col, value: v === undefined ? "" : isJson ? JSON.stringify(v) : String(v),
    }));
  };
  const addRow = (item) => {
    const tr = h("tr", {}, form.cols.map((c) => cell(item, c)),
      h("td", {}, h("button", { "aria-label": "remove row", onclick: () => tr.remove() }, "×")));
    tr.item = item;
    body.append(tr);
  };
  items.forEach(addRow);
  const el = h("div", { class: "card" }, h("h3", {}, form.title),
    h("div", { class: "table-wrap" }, h("table", { class: "form-table", "data-form": form.path.join(".") },
      h("thead", {}, h("tr", {}, form.cols.map((c) => h("th", {}, c)), h("th", {}, ""))), body)),
    h("button", { onclick: () => addRow({}) }, "Add row"));
  const value = () => [...body.children].map((tr) => {
    const item = JSON.parse(JSON.stringify(tr.item || {}));
    for (const input of tr.querySelectorAll("input")) {
      const path = input.dataset.col.split(".");
      const raw = input.value.trim();
      let parent = item;
      for (const k of path.slice(0, -1)) parent = parent[k] = parent[k] && typeof parent[k] === "object" ? parent[k] : {};
      const key = path[path.length - 1];
      if (raw === "") { delete parent[key]; continue; }
      if (key === "args" || key === "recovery") {
        try { parent[key] = JSON.parse(raw); } catch { parent[key] = raw; }
      } else parent[key] = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
    }
    for (const k of Object.keys(item)) if (item[k] && typeof item[k] === "object" && !Array.isArray(item[k]) && !Object.keys(item[k]).length) delete item[k];
    return item;
  });
  return { el, form, value };
}

/** The runs of this version with key figures from their reports. */
async function runsPane(base) {
  const runs = await get(`${base}/runs`);
  const reports = new Map();
  await Promise.all(runs.filter((r) => r.ended_ms).slice(0, 30).map(async (r) => {
    try { reports.set(r.id, await get(`/api/v1/runs/${r.id}/report`)); } catch { /* no report (it failed to start) */ }
  }));
  const picked = [];
  const compare = h("button", { id: "compare", disabled: true, onclick: () => { location.hash = `#/compare/${picked[0]}/${picked[1]}`; } }, "Compare the two runs");
  const main = (rep) => (rep.phases || []).find((p) => p.phase === "overall");
  const table = runsTable(runs, null, {
    pick: (ev) => {
      const id = ev.target.value;
      if (ev.target.checked) picked.push(id); else picked.splice(picked.indexOf(id), 1);
      while (picked.length > 2) {
        const drop = picked.shift();
        const box = table.querySelector(`input[value="${drop}"]`);
        if (box) box.checked = false;
      }
      compare.disabled = picked.length !== 2;
    },
    figureHeads: [h("th", { class: "n" }, "requests"), h("th", { class: "n" }, "p95"), h("th", { class: "n" }, "errors"), h("th", {}, "goals")],
    figures: (r) => {
      const rep = reports.get(r.id);
      const p = rep && main(rep);
      const held = rep ? rep.goals.filter((g) => g.passed).length : null;
      return [h("td", { class: "n" }, p ? num(p.requests, 0) : "–"), h("td", { class: "n" }, p ? ms(p.latency_ms.p95) : "–"),
        h("td", { class: "n" }, p ? pct(p.error_rate) : "–"), h("td", {}, rep ? `${held}/${rep.goals.length}` : "–")];
    },
  });
  return h("div", {}, table, h("div", { class: "row", style: "margin-top:8px" }, compare, h("span", { class: "muted small" }, "Tick two runs to see them on one time axis.")));
}

async function diffPane(id, versions, v) {
  const a = h("select", { id: "diff-a", "aria-label": "from version" }, versions.map((x) => h("option", { value: x.version, selected: x.version === Math.max(1, v - 1) }, `v${x.version}`)));
  const b = h("select", { id: "diff-b", "aria-label": "to version" }, versions.map((x) => h("option", { value: x.version, selected: x.version === v }, `v${x.version}`)));
  const out = h("div", { class: "diff", id: "diff" });
  const show = async () => {
    const [ta, tb] = await Promise.all([a.value, b.value].map(async (n) => (await api("GET", `/api/v1/experiments/${id}/versions/${n}/document`)).data));
    const d = diffLines(ta, tb);
    if (!d) { fill(out, "The documents are too large to compare here."); return; }
    const changed = d.filter((x) => x.op !== "=").length;
    fill(out, changed ? d.map((x) => h("div", { class: x.op === "+" ? "add" : x.op === "-" ? "del" : "" }, `${x.op === "=" ? " " : x.op} ${x.line}`))
      : h("div", {}, "The two versions are the same."));
  };
  a.onchange = show; b.onchange = show;
  await show();
  return h("div", {}, h("div", { class: "row" }, h("label", {}, "From", a), h("label", {}, "to", b)), out);
}

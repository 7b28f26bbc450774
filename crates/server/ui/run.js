// A run, live: each second's figures from the event stream drawn as they
// arrive, fault windows opened and closed by the injector's confirmations
// (not the plan), goals pending until the engine judges them, the
// timeline, and a stop that shows the faults being reverted. A dropped
// connection resumes after the last event seen, so no second is lost.

import { h, fill, badge, ms, pct, num, dur, errorBox, when } from "./dom.js";
import { api, get, follow, download } from "./api.js";
import { TimeChart, FaultWindows } from "./chart.js";

export async function runView(id) {
  const run = await get(`/api/v1/runs/${id}`);
  // A run that ended gets its goals from its events; a live one shows the
  // document's goals pending until the engine judges them.
  const live = ["starting", "running", "waiting"].includes(run.status);
  const [exp, planned] = await Promise.all([
    get(`/api/v1/experiments/${run.experiment_id}`).catch(() => ({ name: run.experiment_id })),
    live ? plannedGoals(run).catch(() => []) : []]);

  const banner = h("div", { class: `banner ${run.status}`, id: "run-state", role: "status", "aria-live": "polite" }, `${run.status}`);
  const kpi = (label, idName) => { const b = h("b", { id: idName }, "–"); return [h("div", { class: "kpi" }, b, h("span", {}, label)), b]; };
  const [kElapsed, vElapsed] = kpi("elapsed (main run)", "k-elapsed");
  const [kRps, vRps] = kpi("requests/s", "k-rps");
  const [kP95, vP95] = kpi("p95 latency (this second)", "k-p95");
  const [kErr, vErr] = kpi("errors (this second)", "k-errors");
  const [kFaults, vFaults] = kpi("faults in force", "k-faults");

  const latency = new TimeChart("Latency (ms, from intended start)", [
    { label: "p50", color: "#2458d6" }, { label: "p95", color: "#d68b00" }, { label: "p99", color: "#c0392b" }], (v) => num(v, 0));
  const throughput = new TimeChart("Throughput (requests/s)", [{ label: "req/s", color: "#14632e" }], (v) => num(v, 0));
  const errors = new TimeChart("Errors (% of requests)", [{ label: "failed", color: "#c0392b" }], (v) => `${num(v, 1)}`);
  const util = new TimeChart("Generator utilization (%)", [{ label: "busy", color: "#6b4fbb" }], (v) => num(v, 1));
  const charts = [latency, throughput, errors, util];
  const windows = new FaultWindows();

  // Goals by position in the document: names need not be unique (two
  // unnamed goals with one condition in different phases share a name).
  const goalsBody = h("tbody");
  const goalRows = [];
  const addGoalRow = (name, condition) => {
    const tr = h("tr", { "data-goal": name }, h("td", {}, name), h("td", {}, h("code", {}, condition)), h("td", { class: "n" }, "–"), h("td", {}, badge("pending")));
    goalsBody.append(tr);
    goalRows.push(tr);
    return tr;
  };
  const goalRow = (i, name, condition) => {
    const tr = goalRows[i] || addGoalRow(name, condition || "");
    if (tr.dataset.goal !== name) { tr.dataset.goal = name; fill(tr.children[0], name); }
    return tr;
  };
  let judged = 0;
  const goals = h("table", { id: "goals" }, h("thead", {}, h("tr", {}, h("th", {}, "goal"), h("th", {}, "condition"), h("th", { class: "n" }, "measured"), h("th", {}, "result"))), goalsBody);
  for (const g of planned) addGoalRow(g.name, g.condition);
  const timeline = h("ul", { class: "timeline", id: "timeline" });
  const note = (t, kind, text) => timeline.append(h("li", {}, h("span", { class: "t" }, t === null || t === undefined ? "" : `${t.toFixed(1)} s`), h("span", { class: `kind ${kind}` }, kind), text));

  const stopBtn = h("button", {
    class: "danger", id: "stop", disabled: !["starting", "running", "waiting"].includes(run.status),
    onclick: async () => {
      stopBtn.disabled = true;
      try {
        await api("POST", `/api/v1/runs/${id}/stop`);
        setBanner("stopping", `stopping: reverting ${windows.active().length} fault(s) in force…`);
      } catch (e) { banner.after(errorBox(e)); }
    },
  }, "Stop");
  const links = h("span", { class: "row", id: "run-links" });
  const reportBox = h("div", { id: "report" });
  const conn = document.getElementById("conn");
  const setBanner = (cls, text) => { banner.className = `banner ${cls}`; banner.textContent = text; };

  const onEvent = ({ name, data }) => {
    switch (name) {
      case "second": {
        const t = data.end_s;
        latency.push(0, t, data.p50_ms); latency.push(1, t, data.p95_ms); latency.push(2, t, data.p99_ms);
        throughput.push(0, t, data.rps);
        errors.push(0, t, data.requests ? data.error_rate * 100 : null);
        util.push(0, t, data.utilization * 100);
        vElapsed.textContent = data.end_s >= 0 ? dur(data.end_s) : `warm-up ${dur(-data.start_s)}`;
        vRps.textContent = num(data.rps, 0);
        vP95.textContent = ms(data.p95_ms);
        vErr.textContent = data.requests ? pct(data.error_rate) : "–";
        break;
      }
      case "fault": case "revert":
        if (data.fault) {
          windows.apply(name, data);
          for (const c of charts) c.setBands(windows.list());
          vFaults.textContent = String(windows.active().length);
          if (name === "revert" && banner.classList.contains("stopping")) setBanner("stopping", `stopping: ${windows.active().length} fault(s) still in force…`);
        }
        note(data.t, name, data.text);
        break;
      case "phase": case "abort": case "hypothesis": case "activity": case "rollback": case "error":
        note(data.t, name, data.text);
        break;
      case "warning": note(null, "warning", data.text); break;
      case "waiting": setBanner("waiting", `waiting for ${data.clients.join(", ")} to register (up to ${data.timeout_s} s)`); break;
      case "t0": note(null, "t0", `start instant ${when(data.t0_unix_ms)}`); break;
      case "running": setBanner("running", "running"); break;
      case "goals":
        data.goals.forEach((g, i) => {
          const tr = goalRow(i, g.name);
          const last = tr.dataset.status;
          if (last !== g.status) { tr.dataset.status = g.status; tr.dataset.since = String(data.t); }
          fill(tr.children[2], g.observed === null || g.observed === undefined ? "–" : num(g.observed, 2));
          fill(tr.children[3], badge(g.status), " ", h("span", { class: "muted small" },
            g.status === "pending" ? "no data for its window yet"
              : `${g.settled ? "window over" : "so far"}, since ${Number(tr.dataset.since).toFixed(0)} s`));
        });
        break;
      case "goal": {
        // The engine sends the verdicts in the document's order.
        const tr = goalRow(judged++, data.name, data.condition);
        fill(tr.children[2], data.observed === null || data.observed === undefined ? "–" : num(data.observed, 2));
        tr.dataset.final = "1";
        fill(tr.children[3], badge(data.no_data ? "no data" : data.passed ? "passed" : "failed"), data.detail ? h("span", { class: "muted small" }, ` ${data.detail}`) : null);
        break;
      }
      case "ended": {
        stopBtn.disabled = true;
        const verdict = data.verdict || data.status;
        setBanner(verdict, `${data.status}: ${verdict}${data.error ? ` — ${data.error}` : ""}`);
        fill(links, h("a", { href: "#report", id: "report-link" }, "Report"),
          h("a", { href: `#/topology/${run.experiment_id}/${run.version}/run/${id}` }, "Topology"),
          h("a", { href: `#/e/${run.experiment_id}/v/${run.version}/runs` }, "All runs of this version"));
        if (!reportShown) showReport(id, reportBox).catch((e) => fill(reportBox, errorBox(e)));
        for (const tr of goalRows) if (!tr.dataset.final) fill(tr.children[3], badge("not judged"), " ", h("span", { class: "muted small" }, "the run ended before its verdict"));
        break;
      }
      default: break;
    }
  };
  // An ended run's report is there already: fetch it beside the replay.
  const reportShown = !live && run.ended_ms !== null;
  if (reportShown) showReport(id, reportBox).catch((e) => fill(reportBox, errorBox(e)));
  const stop = follow(`/api/v1/runs/${id}/events`, onEvent, (st) => {
    conn.textContent = st === "live" ? "● live" : st === "reconnecting" ? "○ reconnecting…" : "";
  });

  return {
    title: `Run ${id.slice(0, 8)}`,
    leave: () => { stop(); conn.textContent = ""; },
    el: h("section", {},
      h("div", { class: "row spread" },
        h("h1", {}, h("a", { href: `#/e/${run.experiment_id}/v/${run.version}` }, `${exp.name} v${run.version}`), " · run ", h("span", { class: "mono" }, id.slice(0, 8))),
        h("div", { class: "row" }, links, stopBtn)),
      h("div", { class: "muted small" }, `started ${when(run.created_ms)}`),
      banner,
      h("div", { class: "kpis" }, kElapsed, kRps, kP95, kErr, kFaults),
      h("div", { class: "charts", id: "run-charts" }, charts.map((c) => c.el)),
      h("h2", {}, "Goals"), h("div", { class: "table-wrap" }, goals),
      h("h2", {}, "Timeline"), timeline,
      reportBox),
  };
}

/** The finished run's report: faults as planned and as confirmed, figures per phase, its files. */
async function showReport(id, box) {
  const [rep, files] = await Promise.all([get(`/api/v1/runs/${id}/report`), get(`/api/v1/runs/${id}/files`)]);
  const at = (v) => (v === null || v === undefined ? "–" : `${v.toFixed(1)} s`);
  const faults = h("table", { id: "report-faults" },
    h("thead", {}, h("tr", {}, ["fault", "type", "target", "planned", "in force", "reverted", "error"].map((x) => h("th", {}, x)))),
    h("tbody", {}, rep.faults.length ? rep.faults.map((f) => h("tr", {}, h("td", {}, f.name), h("td", {}, f.kind), h("td", {}, f.target),
      h("td", {}, `${at(f.planned_start_s)} – ${at(f.planned_end_s)}`), h("td", { class: "n" }, at(f.injected_s)), h("td", { class: "n" }, at(f.reverted_s)),
      h("td", { class: f.error ? "ko" : "" }, f.error || ""))) : h("tr", {}, h("td", { colspan: 7, class: "muted" }, "no faults"))));
  const phases = h("table", { id: "report-phases" },
    h("thead", {}, h("tr", {}, h("th", {}, "phase"), ["seconds", "requests", "req/s", "errors", "p50", "p95", "p99"].map((x) => h("th", { class: "n" }, x)))),
    h("tbody", {}, rep.phases.map((p) => h("tr", {}, h("td", {}, p.phase), h("td", { class: "n" }, num(p.seconds, 1)), h("td", { class: "n" }, p.requests),
      h("td", { class: "n" }, p.requests ? num(p.rps, 1) : "–"), h("td", { class: "n" }, p.requests ? pct(p.error_rate) : "–"),
      ...["p50", "p95", "p99"].map((k) => h("td", { class: "n" }, p.requests ? ms(p.latency_ms[k]) : "–"))))));
  const save = (name) => h("button", {
    "data-file": name,
    onclick: (ev) => download(`/api/v1/runs/${id}/files/${encodeURIComponent(name)}`, name).catch((e) => ev.target.after(errorBox(e))),
  }, name);
  fill(box, h("h2", {}, "Report"),
    h("p", { class: "muted small" }, `${rep.verdict} · main run ${num(rep.duration_s, 1)} s${rep.ended_early ? ` · ended early: ${rep.ended_early}` : ""}`),
    ...(rep.invalid_because || []).map((w) => h("p", { class: "ko" }, `invalid: ${w}`)),
    h("h3", {}, "Faults"), h("div", { class: "table-wrap" }, faults),
    h("h3", {}, "Phases (from merged histograms)"), h("div", { class: "table-wrap" }, phases),
    h("h3", {}, "Files"), h("div", { class: "row", id: "report-files" }, files.map((f) => save(f.name))));
}

/** The goals the document declares, shown pending until judged. */
async function plannedGoals(run) {
  const text = (await api("GET", `/api/v1/experiments/${run.experiment_id}/versions/${run.version}/document`)).data;
  const out = (await api("POST", "/api/v1/validate", text)).data;
  return ((out.document && out.document.goals) || []).map((g, i) => ({
    // The engine's names for unnamed goals (executor/src/goals.rs).
    name: g.name || (g.recovery ? `${g.recovery.metric || "p(95)"} recovers within ${g.recovery.within}` : `${g.metric} ${g.condition}`),
    condition: g.condition || (g.recovery ? `recovers within ${g.recovery.within}` : `goal ${i + 1}`),
  }));
}

// The start page: experiments with their latest run's verdict, creating one
// from a template, deleting one; and the list of every run.

import { h, fill, badge, when, errorBox } from "./dom.js";
import { api, get } from "./api.js";

export async function experimentsView() {
  const [list, templates] = await Promise.all([get("/api/v1/experiments"), get("/api/v1/templates")]);
  const body = h("tbody");
  const table = h("div", { class: "table-wrap" }, h("table", { id: "experiments" },
    h("thead", {}, h("tr", {}, h("th", {}, "experiment"), h("th", { class: "n" }, "versions"),
      h("th", {}, "latest run"), h("th", { class: "hide-narrow" }, "created"), h("th", {}, ""))),
    body));
  const render = (items) => fill(body, items.length ? items.map(row) : h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No experiments yet: create one from a template below.")));
  const row = (e) => h("tr", { "data-id": e.id },
    h("td", {}, h("a", { href: `#/e/${e.id}` }, e.name)),
    h("td", { class: "n" }, e.versions),
    h("td", {}, e.latest_run
      ? h("a", { href: `#/run/${e.latest_run.id}` }, badge(e.latest_run.verdict || e.latest_run.status), " ", h("span", { class: "muted small" }, when(e.latest_run.created_ms)))
      : h("span", { class: "muted" }, "never run")),
    h("td", { class: "hide-narrow muted" }, when(e.created_ms)),
    h("td", {}, h("button", {
      class: "danger", "aria-label": `delete ${e.name}`,
      onclick: async (ev) => {
        if (!confirm(`Delete the experiment "${e.name}" with all its versions and runs?`)) return;
        try {
          await api("DELETE", `/api/v1/experiments/${e.id}`);
          render(await get("/api/v1/experiments"));
        } catch (err) { ev.target.closest("td").append(errorBox(err)); }
      },
    }, "Delete")));
  render(list);

  const name = h("input", { id: "new-name", required: true, placeholder: "Checkout under a slow payment service", size: 34 });
  const pick = h("select", { id: "new-template" }, templates.map((t) => h("option", { value: t.id }, t.title)));
  const out = h("div");
  const form = h("form", {
    class: "card", id: "new-experiment",
    onsubmit: async (ev) => {
      ev.preventDefault();
      const t = templates.find((x) => x.id === pick.value);
      try {
        const { data } = await api("POST", "/api/v1/experiments", { name: name.value.trim(), document: t.document });
        location.hash = `#/e/${data.id}`;
      } catch (err) { fill(out, errorBox(err)); }
    },
  }, h("h2", {}, "New experiment"),
  h("div", { class: "row" }, h("label", {}, "Name", name), h("label", {}, "Template", pick),
    h("button", { class: "primary", type: "submit" }, "Create")), out);

  return { title: "Experiments", el: h("section", {}, h("h1", {}, "Experiments"), table, form) };
}

export async function runsView() {
  const runs = await get("/api/v1/runs?limit=200");
  const names = new Map((await get("/api/v1/experiments")).map((e) => [e.id, e.name]));
  return {
    title: "Runs",
    el: h("section", {}, h("h1", {}, "Runs"), runsTable(runs, names)),
  };
}

/** A table of runs, newest first; `pick` adds a compare checkbox column. */
export function runsTable(runs, names, extra = {}) {
  const rows = runs.map((r) => h("tr", { "data-run": r.id },
    extra.pick ? h("td", {}, h("input", { type: "checkbox", "aria-label": `compare run ${r.id}`, value: r.id, onchange: extra.pick })) : null,
    h("td", {}, h("a", { href: `#/run/${r.id}` }, r.id.slice(0, 8))),
    names ? h("td", {}, h("a", { href: `#/e/${r.experiment_id}/v/${r.version}` }, `${names.get(r.experiment_id) || r.experiment_id} v${r.version}`)) : null,
    h("td", {}, badge(r.status)), h("td", {}, badge(r.verdict)),
    h("td", { class: "hide-narrow" }, when(r.created_ms)),
    h("td", { class: "n" }, r.ended_ms ? `${((r.ended_ms - r.created_ms) / 1000).toFixed(1)} s` : "–"),
    ...(extra.figures ? extra.figures(r) : [])));
  return h("div", { class: "table-wrap" }, h("table", { class: "runs" },
    h("thead", {}, h("tr", {}, extra.pick ? h("th", {}, "compare") : null, h("th", {}, "run"), names ? h("th", {}, "experiment") : null,
      h("th", {}, "status"), h("th", {}, "verdict"), h("th", { class: "hide-narrow" }, "started"), h("th", { class: "n" }, "duration"),
      ...(extra.figureHeads || []))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 9, class: "muted" }, "No runs yet.")))));
}

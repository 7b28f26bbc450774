// The UI's router: the part after `#` names the view, so every view has a
// link that survives a reload and the browser's back button works.

import { fill, errorBox } from "./dom.js";
import { experimentsView, runsView } from "./experiments.js";
import { experimentView } from "./editor.js";
import { runView } from "./run.js";
import { compareView } from "./compare.js";
import { topologyView } from "./topology.js";
import { askToken, hasToken } from "./api.js";

const routes = [
  [/^#?\/?$/, () => experimentsView()],
  [/^#\/runs$/, () => runsView()],
  [/^#\/e\/([^/]+)(?:\/v\/(\d+))?(?:\/(document|forms|runs|diff))?$/, (m) => experimentView(m[1], m[2] && Number(m[2]), m[3] || "document")],
  [/^#\/run\/([^/]+)$/, (m) => runView(m[1])],
  [/^#\/compare\/([^/]+)\/([^/]+)$/, (m) => compareView(m[1], m[2])],
  [/^#\/topology\/([^/]+)\/(\d+)(?:\/run\/([^/]+))?$/, (m) => topologyView(m[1], Number(m[2]), m[3])],
];

let leave = null;
let navigation = 0;

async function route() {
  if (leave) { leave(); leave = null; }
  const mine = ++navigation;
  const view = document.getElementById("view");
  const hash = location.hash || "#/";
  for (const [re, make] of routes) {
    const m = re.exec(hash);
    if (!m) continue;
    try {
      const out = await make(m);
      // Navigated away while it loaded: close what it opened (streams).
      if (mine !== navigation) { if (out.leave) out.leave(); return; }
      fill(view, out.el);
      leave = out.leave || null;
      document.title = out.title ? `${out.title} · squall` : "squall";
    } catch (e) {
      fill(view, errorBox(e));
    }
    view.focus({ preventScroll: true });
    return;
  }
  fill(view, errorBox(`no page ${hash}`));
}

// The health check is open: it says whether the token is needed, so the
// page asks before its first call rather than after a refusal.
async function start() {
  try {
    const health = await (await fetch("/api/v1/health")).json();
    if (health.token_required && !hasToken()) await askToken("");
  } catch { /* the views will show what fails */ }
  window.addEventListener("hashchange", route);
  route();
}

start();

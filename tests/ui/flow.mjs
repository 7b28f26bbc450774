// Drives squall serve's web UI in a real Chromium (Debian's, through
// playwright-core; no browser download) through the whole flow: token,
// create from a template, an error shown and fixed, a form edit, a run
// watched live (a fault window opens and closes), its goal verdicts, a
// second run stopped while a fault is in force, history, comparison, the
// topology (viewed with a run's faults, edited), a version diff, and a
// phone-sized page. Screenshots go to $SQUALL_UI_ARTIFACTS; each is taken
// only after the elements it must show were found. Exits non-zero with a
// message on the first failed check; writes results.json at the end.
//
// Env: SQUALL_URL (the server, through a squall proxy), SQUALL_PROXY_API and
// SQUALL_PROXY_NAME (that proxy), SQUALL_TOKEN, SQUALL_UI_ARTIFACTS, CHROMIUM.

import { chromium } from "playwright-core";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const base = process.env.SQUALL_URL;
const token = process.env.SQUALL_TOKEN;
const out = process.env.SQUALL_UI_ARTIFACTS;
if (!base || !token || !out) throw new Error("SQUALL_URL, SQUALL_TOKEN and SQUALL_UI_ARTIFACTS are needed");
mkdirSync(out, { recursive: true });

const problems = [];
const urls = [];
const shots = [];
const timings = {};
let current = "start";
const step = (name) => { current = name; console.log(`ui flow: ${name}`); };
const check = (ok, what) => { if (!ok) throw new Error(`check failed: ${what}`); };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
});
const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
const page = await context.newPage();
// Generous: the 2-core test machines run other tests beside this one.
page.setDefaultTimeout(60_000);
// The one refusal the flow provokes (a wrong token) is the only console
// error allowed: Chromium logs every 4xx answer as one.
page.on("console", (m) => {
  if (m.type() !== "error" && m.type() !== "warning") return;
  if (current === "token" && m.text().includes("status of 401")) return;
  // ...the refused connections while the test holds the network down...
  if (current === "network drop" && m.text().includes("net::ERR_")) return;
  // ...and the 400 of the topology the flow breaks on purpose.
  if (current === "topology error" && m.text().includes("status of 400")) return;
  problems.push(`${current}: console ${m.type()}: ${m.text()}`);
});
page.on("pageerror", (e) => problems.push(`${current}: page error: ${e.message}`));
page.on("request", (r) => urls.push(r.url()));
page.on("dialog", (d) => d.accept());

async function shot(name, ...mustShow) {
  for (const sel of mustShow) await page.locator(sel).first().waitFor({ state: "visible" });
  const file = join(out, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  shots.push({ name, file, shows: mustShow });
}

try {
  // 1. The page asks for the token; it goes in a header, never a URL.
  step("token");
  await page.goto(`${base}/`);
  const nav = await page.evaluate(() => { const n = performance.getEntriesByType("navigation")[0]; return { load_ms: n.loadEventEnd - n.startTime, dom_ms: n.domContentLoadedEventEnd - n.startTime }; });
  timings.first_load = nav;
  await page.locator("#token-dialog[open]").waitFor();
  await shot("01-token", "#token-input");
  await page.fill("#token-input", "wrong-token");
  await page.keyboard.press("Enter");
  await page.locator("#token-error", { hasText: "refused" }).waitFor();
  await page.fill("#token-input", token);
  await page.keyboard.press("Enter");
  await page.locator("#experiments").waitFor();

  // 2. Create from the demo shop's template, with the keyboard.
  step("create");
  await page.focus("#new-name");
  await page.keyboard.type("Checkout resilience");
  await page.selectOption("#new-template", "demo-quick");
  await page.focus("#new-name");
  await page.keyboard.press("Enter");
  await page.locator("#document").waitFor();
  const expId = /#\/e\/([^/]+)/.exec(page.url())[1];
  await page.locator("#problems li.good").waitFor();

  // 3. An error, shown on its line, then fixed.
  step("edit with an error");
  const original = await page.inputValue("#document");
  check(original.includes("p(95)<500ms"), "the template has the goal the test edits");
  await page.fill("#document", original.replace("p(95)<500ms", "p(95)<500parsecs"));
  const problem = page.locator("#problems li:not(.good):not(.warning)").first();
  await problem.waitFor();
  const problemText = await problem.textContent();
  check(/experiment\.yaml:\d+/.test(problemText), `the problem is located: ${problemText}`);
  const badLine = Number(/experiment\.yaml:(\d+)/.exec(problemText)[1]);
  const lineText = (await page.inputValue("#document")).split("\n")[badLine - 1];
  check(lineText.includes("500parsecs") || lineText.includes("condition"), `line ${badLine} is the bad one: ${lineText}`);
  await page.locator(".gutter .bad").first().waitFor();
  await shot("02-editor-error", "#problems li:not(.good)", ".gutter .bad");
  await problem.click();
  await page.fill("#document", original);
  await page.locator("#problems li.good").waitFor();

  // 4. A form edit: the hold stage's rate, written into the same text.
  step("forms");
  await page.click("#tab-forms");
  const rate = page.locator('table[data-form="workload.load.stages"] input[data-col="rate"]').nth(1);
  check((await rate.inputValue()) === "40", "the second stage holds 40/s");
  await rate.fill("30");
  check(await page.locator("#plan-chart rect.band").count() === 2, "the two faults on the planned timeline");
  await shot("03-forms", 'table[data-form="faults"]', "#plan-chart path", 'table[data-form="goals"]');
  await page.click("#apply-forms");
  await page.click("#tab-document");
  const edited = await page.inputValue("#document");
  check(/rate: 30/.test(edited), "the form's value is in the document");
  check(edited.includes("# The Chaos Toolkit part runs from the same start"), "the document's comments are kept");
  await page.locator("#problems li.good").waitFor();
  await page.click("#save");
  await page.locator("#save-state", { hasText: "saved" }).waitFor();

  // 5. Start; a fault window appears while the fault is in force, then closes.
  step("run 1");
  await page.click("#start");
  await page.locator("#run-state").waitFor();
  const run1 = /#\/run\/([^/]+)/.exec(page.url())[1];
  await page.locator("rect.band.open").first().waitFor({ timeout: 60_000 });
  check((await page.textContent("#k-faults")) === "1", "one fault in force");
  // The goal on the slow payment's window turns red while it is in force.
  await page.locator('tr[data-goal="p95 within 1.5x warm-up while payment is slow"] .badge.failing').waitFor({ timeout: 60_000 });
  await shot("04-run-fault-open", "rect.band.open", "#goals", "#timeline li");
  // A network drop: the browser reaches the server through a squall
  // proxy, which the test takes down (every connection closed, new ones
  // refused) and brings back; the stream resumes after the last event.
  step("network drop");
  const proxy = (enabled) => fetch(`${process.env.SQUALL_PROXY_API}/proxies/${process.env.SQUALL_PROXY_NAME}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ enabled }),
  }).then((r) => check(r.ok, `the proxy answers ${r.status}`));
  await proxy(false);
  await page.locator("#conn", { hasText: "reconnecting" }).waitFor({ timeout: 20_000 });
  await page.waitForTimeout(2_500);
  await proxy(true);
  await page.locator("#conn", { hasText: "live" }).waitFor({ timeout: 20_000 });
  step("run 1 after the drop");
  await page.locator('rect.band:not(.open)[data-fault="slow payment"]').first().waitFor({ timeout: 60_000 });
  await page.locator("#report-link").waitFor({ timeout: 90_000 });
  // Every second the server measured is on the chart once: none lost in
  // the drop, none doubled by the replay.
  const seconds = await page.evaluate(async ([id, t]) => (await (await fetch(`/api/v1/runs/${id}/metrics`, { headers: { Authorization: `Bearer ${t}` } })).json()).length, [run1, token]);
  const points = Number(await page.getAttribute("#run-charts figure:first-child", "data-points"));
  check(seconds > 10 && points === seconds, `the chart has every second once (${points} points, ${seconds} seconds)`);
  const verdict1 = await page.textContent("#run-state");
  check(/passed|failed/.test(verdict1), `run 1 has a verdict: ${verdict1}`);
  const judged = await page.locator("#goals .badge.passed, #goals .badge.failed").count();
  check(judged === 5, `the five goals are judged (${judged})`);
  check(await page.locator("#goals .badge.pending").count() === 0, "no goal is left pending");
  await shot("05-run-ended", "#report-link", "#goals .badge.passed", 'rect.band[data-fault="catalog errors"]');
  // The report inside the page, and its HTML form as a download (a link
  // could not carry the token).
  await page.locator("#report-faults tbody tr").nth(1).waitFor();
  check(await page.locator("#report-phases tbody tr").count() === 7, "overall and before/during/after each fault");
  const [saved] = await Promise.all([page.waitForEvent("download"), page.click('#report-files button[data-file="report.html"]')]);
  check(saved.suggestedFilename() === "report.html", "report.html is downloaded");
  const html = await (await import("node:fs/promises")).readFile(await saved.path(), "utf8");
  check(html.includes("<!DOCTYPE html>") && html.includes("slow payment"), "the downloaded report is the run's");
  await shot("05b-run-report", "#report-faults", "#report-phases", "#report-files button");

  // 6. A second run, stopped while a fault is in force: the revert shows.
  step("run 2 stopped");
  await page.goto(`${base}/#/e/${expId}`);
  await page.click("#start");
  await page.locator("rect.band.open").first().waitFor({ timeout: 60_000 });
  const run2 = /#\/run\/([^/]+)/.exec(page.url())[1];
  // The topology shows the fault on its service while it is in force.
  await page.goto(`${base}/#/topology/${expId}/1/run/${run2}`);
  await page.locator('g.node.faulted[data-service="payment"]').waitFor();
  await shot("06a-topology-live", 'g.node.faulted[data-service="payment"]');
  await page.goto(`${base}/#/run/${run2}`);
  await page.locator("#stop:enabled").waitFor();
  await page.click("#stop");
  await page.locator("#run-state.stopping").waitFor();
  await page.locator("#timeline .kind.revert").first().waitFor();
  await page.locator("#report-link").waitFor({ timeout: 60_000 });
  const state2 = await page.textContent("#run-state");
  check(/stopped/.test(state2), `run 2 was stopped: ${state2}`);
  check(await page.locator("rect.band.open").count() === 0, "no fault window is left open after the stop");
  await shot("06-run-stopped", "#timeline .kind.revert", "#run-state");

  // 7. History and comparison.
  step("history and compare");
  await page.goto(`${base}/#/e/${expId}/v/1/runs`);
  await page.locator(`tr[data-run="${run1}"]`).waitFor();
  await page.locator(`tr[data-run="${run2}"]`).waitFor();
  await shot("07-history", `tr[data-run="${run1}"] .badge`, `tr[data-run="${run2}"] .badge`);
  await page.check(`input[value="${run1}"]`);
  await page.check(`input[value="${run2}"]`);
  await page.click("#compare");
  await page.locator("#phase-compare tbody tr").first().waitFor();
  check(await page.locator("#compare-view rect.band").count() >= 4, "both runs' fault windows are drawn");
  await shot("08-compare", "#compare-view svg path", "#phase-compare tbody tr");

  // 8. Topology with run 1's faults; then edited in a new version.
  step("topology");
  await page.goto(`${base}/#/topology/${expId}/1/run/${run1}`);
  await page.locator('g.node[data-service="payment"]').waitFor();
  check(await page.locator("g.node").count() === 4, "four services");
  await page.locator("#topology-faults li").nth(3).waitFor();
  await shot("09-topology", 'g.node[data-service="gateway"]', "#topology-faults li");
  await page.goto(`${base}/#/e/${expId}/v/1`);
  await page.click("#new-version");
  await page.waitForURL(/\/v\/2\//);
  await page.goto(`${base}/#/topology/${expId}/2`);
  const yaml = await page.inputValue("#topology-yaml");
  step("topology error");
  await page.fill("#topology-yaml", yaml.replace("- call: catalog", "- call: catalogue"));
  await page.click("#apply-topology");
  const topoErr = page.locator("#topology-problems .error-box");
  await topoErr.waitFor();
  check(/catalogue/.test(await topoErr.textContent()), "the unknown callee is named");
  await shot("10-topology-error", "#topology-problems .error-box");
  step("topology edit");
  await page.fill("#topology-yaml", yaml.replace("latency: {base: 2ms, jitter: 1ms}", "latency: {base: 5ms, jitter: 1ms}"));
  await page.click("#apply-topology");
  await page.locator("text=written in the document").waitFor();
  check(/5±1 ms/.test(await page.textContent('g.node[data-service="gateway"]')), "the edited latency is drawn");

  // 9. Diff of the two versions.
  step("diff");
  await page.goto(`${base}/#/e/${expId}/v/2/diff`);
  await page.locator("#diff .add").first().waitFor();
  check(await page.locator("#diff .del", { hasText: "sim: demo" }).count() === 1, "the diff shows the replaced sim line");
  await shot("11-diff", "#diff .add", "#diff .del");

  // Delete: a scratch experiment made from the blank template goes away.
  step("delete");
  await page.goto(`${base}/#/`);
  await page.fill("#new-name", "Scratch");
  await page.selectOption("#new-template", "empty");
  await page.click("#new-experiment button[type=submit]");
  await page.locator("#document").waitFor();
  await page.goto(`${base}/#/`);
  await page.locator("#experiments tr", { hasText: "Scratch" }).waitFor();
  await page.click('#experiments button[aria-label="delete Scratch"]');
  await page.locator("#experiments tr", { hasText: "Scratch" }).waitFor({ state: "detached" });
  check(await page.locator("#experiments tbody tr").count() === 1, "one experiment left");

  // 10. A phone-sized screen; and how fast the start page loads again.
  step("phone");
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${base}/#/`);
  await page.locator("#experiments .badge").first().waitFor();
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 400, `no sideways scrolling on a phone (${wide} px)`);
  await shot("12-phone", "#experiments");
  await page.setViewportSize({ width: 1366, height: 900 });
  await page.goto("about:blank");
  await page.goto(`${base}/#/`);
  await page.locator("#experiments tbody tr").first().waitFor();
  timings.reload = await page.evaluate(() => { const n = performance.getEntriesByType("navigation")[0]; return { load_ms: n.loadEventEnd - n.startTime, dom_ms: n.domContentLoadedEventEnd - n.startTime }; });
} catch (e) {
  await page.screenshot({ path: join(out, "failure.png"), fullPage: true }).catch(() => {});
  writeFileSync(join(out, "results.json"), JSON.stringify({ ok: false, error: String(e.stack || e), problems, shots }, null, 2));
  console.error(`ui flow failed: ${e.stack || e}\nconsole: ${problems.join("\n")}`);
  await browser.close();
  process.exit(1);
}
const leaked = urls.filter((u) => u.includes(token));
// Nothing but this server (and blob: downloads): the UI needs no network.
const elsewhere = urls.filter((u) => !u.startsWith(base) && !u.startsWith("blob:") && !u.startsWith("data:") && u !== "about:blank");
if (elsewhere.length) {
  console.error(`ui flow failed: requests beyond the server: ${elsewhere.join(", ")}`);
  process.exit(1);
}
writeFileSync(join(out, "results.json"), JSON.stringify({ ok: true, problems, shots, timings, requests: urls.length, token_in_url: leaked }, null, 2));
await browser.close();
console.log(`ui flow: done (${shots.length} screenshots, ${problems.length} console problems)`);

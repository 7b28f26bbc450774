// Unit tests of the UI's YAML block writer (node --test), run by the
// integration tests beside the browser flow.
import { test } from "node:test";
import assert from "node:assert/strict";
import { emit, setBlock } from "../../crates/server/ui/yaml.js";
import { diffLines } from "../../crates/server/ui/diff.js";

const doc = `# top comment
title: t
workload:
  base_url: x
  load:
    model: open   # kept
    stages:
      - {rate: 40, for: 14s}
    max_vus: 5
goals:
  - {name: a, metric: m, condition: "p(95)<5ms"}
# tail comment
`;

test("replaces a nested block and keeps everything else", () => {
  const out = setBlock(doc, ["workload", "load", "stages"], emit([{ rate: 30, for: "10s" }]));
  assert.match(out, /\n    stages:\n      - rate: 30\n        for: 10s\n    max_vus: 5\n/);
  assert.ok(out.includes("# top comment") && out.includes("model: open   # kept") && out.includes("# tail comment"));
});

test("replaces a top-level list written at the key's indentation", () => {
  const out = setBlock(doc, ["goals"], emit([{ name: "b", metric: "m", condition: "p(95)<9ms" }]));
  assert.ok(out.includes("goals:\n  - name: b\n    metric: m\n    condition: p(95)<9ms\n# tail comment"), out);
  assert.ok(!out.includes("name: a"));
});

test("adds a missing last key to its parent", () => {
  const out = setBlock(doc, ["faults"], emit([]));
  assert.ok(out.includes("faults: []"), out);
});

test("gives up on JSON and flow-style parents", () => {
  assert.equal(setBlock('{"title": "t"}', ["goals"], "[]"), null);
  assert.equal(setBlock("workload: {load: {stages: []}}\n", ["workload", "load", "stages"], "[]"), null);
});

test("emits strings YAML would misread in quotes", () => {
  assert.equal(emit("yes"), '"yes"\n');
  assert.equal(emit("12"), '"12"\n');
  assert.equal(emit("a: b"), '"a: b"\n');
  assert.equal(emit("${sim.gateway}"), "${sim.gateway}\n");
  assert.equal(emit("p(95)<500ms"), "p(95)<500ms\n");
});

test("diffs lines", () => {
  const d = diffLines("a\nb\nc", "a\nx\nc");
  assert.deepEqual(d.map((x) => x.op + x.line), ["=a", "-b", "+x", "=c"]);
});

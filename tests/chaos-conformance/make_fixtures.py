"""Writes the fixture experiments of the conformance harness (fixtures/*.json|yaml).

The fixtures are committed; edit this script and re-run it to change them:
`.venv/bin/python tests/chaos-conformance/make_fixtures.py` (needs PyYAML).
"""
import json, yaml, os
D = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
for f in os.listdir(D): os.remove(os.path.join(D, f))
U = "http://127.0.0.1:${port}"
def http(name, path, kind="probe", **kw):
    p = {"type": "http", "url": U + path}; p.update(kw.pop("prov", {}))
    a = {"type": kind, "name": name, "provider": p}; a.update(kw); return a
def proc(name, path, args=None, kind="action", timeout=None, **kw):
    p = {"type": "process", "path": path}
    if args is not None: p["arguments"] = args
    if timeout is not None: p["timeout"] = timeout
    a = {"type": kind, "name": name, "provider": p}; a.update(kw); return a
def py(name, module, func, args=None, kind="probe", **kw):
    p = {"type": "python", "module": module, "func": func}
    if args is not None: p["arguments"] = args
    a = {"type": kind, "name": name, "provider": p}; a.update(kw); return a
def ssh(*probes, title="ok"): return {"title": title, "probes": list(probes)}
def exp(name, meta=None, fmt="json", **kw):
    e = {"title": kw.pop("title", name), "description": "conformance fixture " + name}
    kw["configuration"] = {"port": 0, **kw.get("configuration", {})}
    for k in ("tags", "configuration", "secrets", "steady-state-hypothesis"):
        if k in kw: e[k] = kw.pop(k)
    if "ssh" in kw: e["steady-state-hypothesis"] = kw.pop("ssh")
    e["method"] = kw.pop("method", [])
    if "rollbacks" in kw: e["rollbacks"] = kw.pop("rollbacks")
    e.update(kw)
    if meta: e["x-conformance"] = meta
    path = os.path.join(D, f"{name}.{fmt}")
    with open(path, "w") as f:
        if fmt == "json": json.dump(e, f, indent=2); f.write("\n")
        else: yaml.safe_dump(e, f, sort_keys=False)
RB = [proc("undo", "echo", ["undo"])]
flag = {"files": {"flag": ""}}

# --- validation ---
V = lambda **m: dict(command="validate", **m)
exp("v-empty", V(expect={"exit": 1}), title="")  # title empty -> invalid
with open(os.path.join(D, "v-empty-doc.json"), "w") as f: f.write("{}\n")
exp("v-no-description", V(expect={"exit": 1}), description=None)
exp("v-bad-activity-type", V(expect={"exit": 1}), fmt="yaml", method=[{"type": "step", "name": "x", "provider": {"type": "process", "path": "true"}}])
exp("v-missing-ref", V(expect={"exit": 1}), method=[{"ref": "nowhere"}])
exp("v-float-tolerance", V(expect={"exit": 1}), ssh=ssh(proc("p", "true", kind="probe", tolerance=0.5)))
exp("v-bad-regex", V(expect={"exit": 1}), ssh=ssh(http("p", "/text", tolerance={"type": "regex", "pattern": "[0-9", "target": "body"})))
exp("v-missing-env-config", V(expect={"exit": 1}), configuration={"x": {"type": "env", "key": "SQUALL_CONFORMANCE_UNSET"}})
exp("v-bad-pause", V(expect={"exit": 1}), fmt="yaml", method=[proc("a", "true", pauses={"before": "soon"})])
exp("v-headers-list", V(expect={"exit": 1}), method=[http("h", "/json", prov={"headers": ["x"]})])
exp("v-missing-program", V(expect={"exit": 1}), method=[proc("a", "no-such-program-squall-conformance")])
exp("v-many-errors", V(expect={"exit": 1}, squall_stderr=["5 problem(s)"]), tags=[""],
    ssh={"probes": [proc("p", "true", kind="probe")]}, method=[{"type": "action", "name": "x"}, {"ref": "none"}])
exp("v-python-missing-module", V(expect={"exit": 1}, squall_stderr=["could not find Python module 'no_such_module_squall'"]),
    method=[py("m", "no_such_module_squall", "f", kind="action")])
exp("v-python-bad-arguments", {"expect": {"exit": 1, "journal": False}, "squall_stderr": ["argument 'nope' is not part of the function signature"]},
    method=[py("m", "os.path", "exists", {"path": "/", "nope": 1}, kind="action")])
exp("v-valid", V(expect={"exit": 0}), fmt="yaml", ssh=ssh(http("p", "/json", tolerance=200)), method=[proc("a", "true")], rollbacks=RB)
exp("v-run-invalid", {"expect": {"exit": 1, "journal": False}}, method=[{"type": "action", "name": "x", "provider": {"type": "http"}}])

# --- process ---
exp("p-list-args", {"expect": {"exit": 0, "status": "completed", "run": ["succeeded"]}},
    method=[proc("echo", "echo", ["a", 3, True, 1.5, None, "", "b c"])])
exp("p-string-args", {"expect": {"run": ["succeeded", "succeeded"]}, "env": {"SQUALL_CONF_VAR": "from-env"}}, fmt="yaml",
    method=[proc("pipe", "echo", "'x  y' \"q\" | tr x z"), proc("home", "printf", "'%s' \"$SQUALL_CONF_VAR\"")])
exp("p-exit-timeout-stderr", {"expect": {"exit": 0, "status": "completed", "run": ["succeeded", "failed", "succeeded"]}},
    method=[proc("exit3", "sh", ["-c", "exit 3"]), proc("slow", "sleep", ["5"], timeout=0.3), proc("err", "sh", ["-c", "echo oops >&2"])])
exp("p-signal", {"expect": {"run": ["succeeded"]}}, method=[proc("killed", "sh", ["-c", "kill -9 $$"])])
exp("p-dict-args", {"expect": {"run": ["succeeded"]}}, method=[proc("dict", "echo", {"-n": None, "hello": "", "k": "v"})])
exp("p-relative-path", {**flag, "files": {"script.sh": "#!/bin/sh\necho script $1\n"}, "expect": {"run": ["succeeded"]}},
    method=[proc("script", "sh", ["./script.sh", "arg"])])

# --- http ---
exp("h-get-query", {"expect": {"run": ["succeeded"]}},
    method=[http("q", "/echo?x=0", prov={"arguments": {"a": "1 2", "b": [1, 2], "c": True}})])
exp("h-post-bodies", {"expect": {"run": ["succeeded"] * 4}}, method=[
    http("form", "/echo", prov={"method": "post", "arguments": {"a": 1, "b": "x y"}}),
    http("json", "/echo", prov={"method": "POST", "headers": {"Content-Type": "application/json"}, "arguments": {"a": [1, "é"], "b": None}}),
    http("lower-ct", "/echo", prov={"method": "PUT", "headers": {"content-type": "application/json"}, "arguments": {"a": 1}}),
    http("no-args", "/echo", prov={"method": "DELETE"})])
exp("h-bodies", {"expect": {"run": ["succeeded"] * 5}}, method=[
    http("json", "/json"), http("json-charset", "/json-charset"), http("text-latin1", "/text"),
    http("404", "/status/404"), http("503", "/status/503")])
exp("h-refused-and-timeouts", {"expect": {"exit": 0, "run": ["failed", "failed", "failed", "succeeded"]}}, method=[
    {"type": "probe", "name": "refused", "provider": {"type": "http", "url": "http://127.0.0.1:9/", "max_retries": 2}},
    http("slow", "/slow?ms=2000", prov={"timeout": 0.3}),
    http("slow-pair", "/slow?ms=2000", prov={"timeout": [1, 0.3]}),
    http("activity-timeout-ignored", "/slow?ms=400", timeout=0.1)])
exp("h-bad-url-aborts", {"expect": {"exit": 1, "status": "aborted", "run": ["succeeded", "<no status>"], "rollbacks": 1}},
    method=[proc("first", "true"), {"type": "action", "name": "bad", "provider": {"type": "http", "url": "127.0.0.1:${port}/json"}}, proc("never", "true")],
    rollbacks=RB)
exp("h-bad-json-aborts", {"expect": {"exit": 1, "status": "aborted", "rollbacks": 1}}, fmt="yaml",
    method=[http("bad-json", "/bad-json")], rollbacks=RB)
exp("h-expected-status", {"difference": "squall honours expected_status, chaoslib ignores it",
    "expect_chaos": {"run": ["succeeded"]}, "expect_squall": {"run": ["failed"]}},
    method=[http("want-200", "/status/503", prov={"expected_status": 200})])

# --- tolerances ---
exp("t-all-met", {"expect": {"status": "completed", "deviated": False}}, configuration={"expected": 200, "word": "caf"},
    ssh=ssh(http("int", "/json", tolerance=200), http("list-status", "/status/204", tolerance=[200, 204]),
            http("range-status", "/status/204", tolerance={"type": "range", "range": [200, 299], "target": "status"}),
            http("regex-body", "/text", tolerance={"type": "regex", "pattern": "^${word}", "target": "body"}),
            http("jsonpath-expect", "/json", tolerance={"type": "jsonpath", "path": "$.items[*].id", "expect": [1, 2], "target": "body"}),
            http("jsonpath-count", "/json", tolerance={"type": "jsonpath", "path": "$.items.*", "count": 2, "target": "body"}),
            http("jsonpath-filter", "/json", tolerance={"type": "jsonpath", "path": "$.items.*[?(@.id = 2)].name", "expect": "b", "target": "body"}),
            http("string-typed", "/json", tolerance="${expected}"),
            proc("exit0", "true", kind="probe", tolerance=0),
            proc("range-stdout", "echo", ["42"], kind="probe", tolerance={"type": "range", "range": [40, 45], "target": "stdout"}),
            proc("jsonpath-stdout", "echo", ['{"ok": true}'], kind="probe", tolerance={"type": "jsonpath", "path": "$.ok", "expect": True, "target": "stdout"})),
    method=[proc("noop", "true")])
exp("t-python-values", {"expect": {"status": "completed", "deviated": False}},
    ssh=ssh(py("bool", "os.path", "exists", {"path": "/"}, tolerance=True),
            py("int-is-true", "os.path", "exists", {"path": "/"}, tolerance=1),
            py("range", "json", "loads", {"s": "5"}, tolerance=[1, 10]),
            py("membership", "json", "loads", {"s": "5"}, tolerance=[1, 5, 10]),
            py("string", "json", "loads", {"s": "\"up\""}, tolerance="up"),
            py("list-strings-range", "json", "loads", {"s": "\"m\""}, tolerance=["a", "z"])))
exp("t-not-met-before", {"expect": {"exit": 0, "status": "completed", "deviated": False, "run": [], "rollbacks": 1}},
    ssh=ssh(http("wrong-status", "/json", tolerance=404), http("skipped", "/json", tolerance=200)), method=[proc("never", "true")], rollbacks=RB)
exp("t-probe-tolerance", {"expect": {"status": "completed"}}, fmt="yaml",
    ssh=ssh(http("judged-by-probe", "/json", tolerance={"type": "probe", "name": "judge", "provider": {"type": "process", "path": "false", "arguments": {}}})))
exp("t-regex-not-met", {"expect": {"exit": 0, "status": "completed", "rollbacks": 1}},
    ssh=ssh(http("regex", "/text", tolerance={"type": "regex", "pattern": "^nope", "target": "body"})), rollbacks=RB)
exp("t-string-var", {"args": ["--var", "code:int=200"], "expect": {"status": "completed"}}, configuration={"code": 0},
    ssh=ssh(http("status", "/json", tolerance="${code}")))

# --- flow ---
exp("f-deviated", {**flag, "expect": {"exit": 1, "status": "completed", "deviated": True, "rollbacks": 1}},
    ssh=ssh(proc("flag-exists", "test", ["-f", "flag"], kind="probe", tolerance=0)), method=[proc("remove", "rm", ["flag"])], rollbacks=RB)
exp("f-probe-error-fails", {"expect": {"exit": 1, "status": "failed", "rollbacks": 0}},
    ssh=ssh({"type": "probe", "name": "down", "tolerance": 200, "provider": {"type": "http", "url": "http://127.0.0.1:9/"}}), rollbacks=RB)
exp("f-failed-action", {"expect": {"exit": 0, "status": "completed", "run": ["failed", "succeeded"], "rollbacks": 2}},
    method=[proc("too-slow", "sleep", ["3"], timeout=0.2), proc("after", "true")],
    rollbacks=[proc("rb-fails", "sleep", ["3"], timeout=0.2), proc("rb-ok", "true")])
exp("f-refs", {"expect": {"run": ["succeeded"] * 4, "rollbacks": 1}}, fmt="yaml",
    ssh=ssh(http("ssh-probe", "/json", tolerance=200)),
    method=[{"ref": "later"}, proc("later", "echo", ["later"]), {"ref": "ssh-probe"}, {"ref": "later"}],
    rollbacks=[{"ref": "later"}])
exp("f-background", {"background": True, "expect": {"run": ["succeeded"] * 3}},
    method=[proc("bg", "sh", ["-c", "sleep 0.3; echo bg"], background=True), proc("fg", "echo", ["fg"]), {"ref": "bg2", "background": True}, ],
    rollbacks=[])
# bg2 must exist: rewrite
e = json.load(open(os.path.join(D, "f-background.json")))
e["method"] = [proc("bg", "sh", ["-c", "sleep 0.3; echo bg"], background=True), proc("fg", "echo", ["fg"]), proc("bg-fast", "echo", ["fast"], background=True)]
json.dump(e, open(os.path.join(D, "f-background.json"), "w"), indent=2)
exp("f-pauses", {"expect": {"run": ["succeeded", "succeeded"]}}, configuration={"p": 0.1},
    method=[proc("a", "true", pauses={"before": "${p}", "after": 0.1}), proc("b", "true", pauses={"after": "${p}"})])
exp("f-title-and-unknown-keys", {"expect": {"title": "deploy api on 127.0.0.1", "status": "completed"}}, fmt="yaml",
    title="deploy ${svc} on ${host}", configuration={"svc": "api", "host": "127.0.0.1"}, tags=["a", "b"],
    contributions={"availability": "high", "security": "none"}, extensions=[{"name": "ext", "data": [1]}],
    **{"x-custom": {"kept": True}}, method=[])
exp("f-no-hypothesis-empty-method", {"expect": {"exit": 0, "status": "completed", "before": None, "after": None}})
exp("f-ssh-without-probes", {"expect": {"status": "completed", "before": None}}, ssh={"title": "nothing", "probes": []}, method=[proc("a", "true")])

# --- strategies ---
fail_gate = ssh({"type": "probe", "name": "down", "tolerance": 200, "provider": {"type": "http", "url": "http://127.0.0.1:9/"}})
dev = dict(ssh=ssh(proc("flag-exists", "test", ["-f", "flag"], kind="probe", tolerance=0)), method=[proc("remove", "rm", ["flag"])], rollbacks=RB)
exp("s-rb-always-on-failed", {"args": ["--rollback-strategy", "always"], "expect": {"status": "failed", "rollbacks": 1}}, ssh=fail_gate, rollbacks=RB)
exp("s-rb-never-runtime", {"expect": {"status": "completed", "rollbacks": 0}}, fmt="yaml", runtime={"rollbacks": {"strategy": "never"}}, method=[proc("a", "true")], rollbacks=RB)
exp("s-rb-deviated-yes", {**flag, "args": ["--rollback-strategy", "deviated"], "expect": {"deviated": True, "rollbacks": 1}}, **dev)
exp("s-rb-deviated-no", {"args": ["--rollback-strategy", "deviated"], "expect": {"deviated": False, "rollbacks": 0}}, method=[proc("a", "true")], rollbacks=RB)
exp("s-rb-cli-beats-runtime", {"args": ["--rollback-strategy", "always"], "expect": {"rollbacks": 1}}, runtime={"rollbacks": {"strategy": "never"}}, rollbacks=RB)
exp("s-h-before-only", {**flag, "args": ["--hypothesis-strategy", "before-method-only"], "expect": {"exit": 0, "deviated": False, "after": None}}, **dev)
exp("s-h-after-only", {**flag, "expect": {"exit": 1, "deviated": True, "before": None}}, fmt="yaml", runtime={"hypothesis": {"strategy": "after-method-only"}}, **dev)
exp("s-h-during-no-failfast", {**flag, "args": ["--hypothesis-strategy", "during-method-only", "--hypothesis-frequency", "0.05"],
    "expect": {"exit": 0, "status": "completed", "deviated": False, "during": True, "before": None, "after": None}},
    ssh=ssh(proc("flag-exists", "test", ["-f", "flag"], kind="probe", tolerance=0)),
    method=[proc("wait", "sleep", ["0.2"]), proc("remove", "rm", ["flag"]), proc("wait-more", "sleep", ["0.3"])], rollbacks=RB)
# The flag goes at the start of a long action, so the hypothesis fails while
# it runs in both tools: fail-fast lets it finish and starts no other. (With
# `rm` as an action of its own, whether the next action starts raced the
# hypothesis' next check on a loaded machine.)
exp("s-h-during-failfast", {**flag, "args": ["--hypothesis-strategy", "during-method-only", "--hypothesis-frequency", "0.05", "--fail-fast"],
    "expect": {"exit": 1, "status": "failed", "run": ["succeeded", "succeeded"], "rollbacks": 0}},
    ssh=ssh(proc("flag-exists", "test", ["-f", "flag"], kind="probe", tolerance=0)),
    method=[proc("wait", "sleep", ["0.3"]), proc("remove-then-wait", "sh", ["-c", "rm flag; sleep 0.6"]), proc("never", "true")], rollbacks=RB)
exp("s-h-continuously-failfast", {**flag, "args": ["--hypothesis-strategy", "continously", "--hypothesis-frequency", "0.05", "--fail-fast"],
    "expect": {"exit": 1, "status": "completed", "deviated": True, "run": ["succeeded", "succeeded"]}},
    ssh=ssh(proc("flag-exists", "test", ["-f", "flag"], kind="probe", tolerance=0)),
    method=[proc("wait", "sleep", ["0.3"]), proc("remove-then-wait", "sh", ["-c", "rm flag; sleep 0.6"]), proc("never", "true")], rollbacks=RB)

# --- vars and substitution ---
exp("x-vars-typed", {"args": ["--var", "n:int=7", "--var", "b:bool=true", "--var", "j:json={\"a\": [1]}", "--var", "undeclared=zzz"],
    "expect": {"run": ["succeeded"]}}, configuration={"n": 0, "b": False, "j": None, "none": None, "s": "str"},
    method=[proc("render", "echo", ["${n}", "n=${n}", "${b}", "x${j}", "n=${none}", "$s", "$$s", "${a-b}", "${undeclared}", "${missing}"])])
exp("x-var-file-json", {"files": {"vars.json": json.dumps({"configuration": {"greeting": "hello"}, "secrets": {"sc": {"tok": "from-file"}}})},
    "args": ["--var-file", "vars.json"], "expect": {"run": ["succeeded"]}}, fmt="yaml",
    configuration={"greeting": "default"}, secrets={"sc": {"tok": "inline", "other": "kept?"}},
    method=[proc("show", "echo", ["${greeting}", "${tok}", "${other}"])])
exp("x-env-file", {"files": {"vars.env": "# comment\nSQUALL_CONF_PORT=8080\nSQUALL_CONF_NAME=envname\n"}, "args": ["--var-file", "vars.env"], "expect": {"run": ["succeeded", "succeeded"]}},
    configuration={"port2": {"type": "env", "key": "SQUALL_CONF_PORT", "env_var_type": "int"}, "name": {"type": "env", "key": "SQUALL_CONF_NAME", "default": "d"}},
    method=[proc("show", "echo", ["${port2}", "${name}"]), proc("child-env", "sh", ["-c", "echo $SQUALL_CONF_NAME"])])
exp("x-env-config-defaults", {"env": {"SQUALL_CONF_SET": "0"}, "expect": {"run": ["succeeded"]}}, fmt="yaml",
    configuration={"a": {"type": "env", "key": "SQUALL_CONF_UNSET_1", "default": "5", "env_var_type": "int"},
                   "b": {"type": "env", "key": "SQUALL_CONF_SET", "env_var_type": "bool"},
                   "c": {"type": "env", "key": "SQUALL_CONF_UNSET_2", "default": None}},
    secrets={"s": {"k": {"type": "env", "key": "SQUALL_CONF_SET"}}},
    method=[proc("show", "echo", ["${a}", "${b}", "${c}", "${k}"])])

# --- signals ---
sleeper = [proc("mark-and-sleep", "sh", ["-c", "touch started; sleep 5"])]
exp("sig-term-default", {"signal": {"when_file": "started", "sig": "TERM"},
    "difference": "squall plays the rollbacks after an interruption by default",
    "expect_chaos": {"exit": 1, "status": "interrupted", "run": ["<no status>"], "rollbacks": 0},
    "expect_squall": {"exit": 1, "status": "interrupted", "run": ["<no status>"], "rollbacks": 1}}, method=sleeper, rollbacks=RB)
exp("sig-int-compat-flag", {"signal": {"when_file": "started", "sig": "INT"}, "squall_args": ["--no-rollbacks-on-interrupt"],
    "expect": {"exit": 1, "status": "interrupted", "run": ["<no status>"], "rollbacks": 0}}, method=sleeper, rollbacks=RB)
exp("sig-term-always", {"signal": {"when_file": "started", "sig": "TERM"}, "args": ["--rollback-strategy", "always"],
    "expect": {"exit": 1, "status": "interrupted", "rollbacks": 1}}, fmt="yaml", method=sleeper, rollbacks=RB)
exp("sig-usr1-always", {"signal": {"when_file": "started", "sig": "USR1"}, "args": ["--rollback-strategy", "always"],
    "expect": {"exit": 1, "status": "interrupted", "rollbacks": 1}}, method=sleeper, rollbacks=RB)
exp("sig-usr2-no-rollbacks", {"signal": {"when_file": "started", "sig": "USR2"}, "args": ["--rollback-strategy", "always"],
    "expect": {"exit": 1, "status": "interrupted", "rollbacks": 0}}, method=sleeper, rollbacks=RB)

# --- python provider ---
exp("py-provider", {"expect": {"run": ["succeeded", "failed", "failed"]}},
    method=[py("exists", "os.path", "exists", {"path": "/"}, kind="action"),
            py("raises", "json", "loads", {"s": "{"}, kind="action"),
            py("missing-file", "os", "stat", {"path": "/nonexistent-squall"}, kind="action")])

# --- crashes in chaos, journals in squall ---
exp("c-tolerance-typeerror", {"difference": "chaos crashes without a journal; squall writes one with status aborted",
    "expect_chaos": {"exit": 1, "journal": False}, "expect_squall": {"exit": 1, "status": "aborted", "journal": True}},
    ssh=ssh(http("mixed", "/json", tolerance={"type": "range", "range": [1, 2]})), rollbacks=RB)
exp("c-yaml11-booleans", {"difference": "YAML is read as YAML 1.2: `yes` stays a string",
    "expect_chaos": {"run": ["succeeded"]}, "expect_squall": {"run": ["succeeded"]}}, fmt="yaml",
    method=[proc("yes", "echo", ["yes", "on"])])
# --- dynamic configuration and controls ---
exp("x-dynamic-configuration", {"expect": {"title": "dyn dynamic", "run": ["succeeded"]}}, title="dyn ${dyn}",
    configuration={"dyn": {"type": "probe", "provider": {"type": "process", "path": "echo", "arguments": ["  dynamic  "]}},
                   "body": {"type": "probe", "provider": {"type": "http", "url": U + "/json-charset"}},
                   "failing": {"type": "probe", "provider": {"type": "process", "path": "false"}},
                   "later": "${dyn}"},
    method=[proc("show", "echo", ["${dyn}", "${body}", "${failing}", "${later}"])])
exp("x-controls-ignored", {"expect": {"status": "completed", "run": ["succeeded"]}}, fmt="yaml",
    controls=[{"name": "tracing", "provider": {"type": "python", "module": "no_such_control_module_squall"}}],
    method=[proc("a", "echo", ["with controls"])])

# --- dry modes ---
exp("d-dry-probes", {"args": ["--dry", "probes"], "expect": {"status": "completed", "deviated": False, "run": ["succeeded", "succeeded"], "rollbacks": 1}},
    ssh=ssh(http("would-fail", "/status/503", tolerance=200)), method=[proc("act", "echo", ["acted"]), http("p", "/json")], rollbacks=RB)
exp("d-dry-actions", {"args": ["--dry", "actions"], "expect": {"status": "completed", "run": ["succeeded", "succeeded"]}}, fmt="yaml",
    ssh=ssh(http("up", "/json", tolerance=200)), method=[proc("would-time-out", "sleep", ["5"], timeout=0.1, pauses={"after": 5}), http("p", "/json")], rollbacks=RB)
exp("d-dry-activities", {"args": ["--dry", "activities"], "expect": {"status": "completed", "run": ["succeeded"], "rollbacks": 1}},
    ssh=ssh(http("would-fail", "/status/503", tolerance=200)), method=[proc("act", "false")], rollbacks=RB)
exp("d-dry-pause", {"args": ["--dry", "pause"], "expect": {"status": "completed", "run": ["succeeded"]}},
    method=[proc("act", "echo", ["no pauses"], pauses={"before": 5, "after": 5})])

# --- loading from a URL ---
exp("u-from-url", {"source": "url", "expect": {"status": "completed", "run": ["succeeded"]}},
    ssh=ssh(http("up", "/json", tolerance=200)), method=[proc("a", "echo", ["loaded over http"])])
exp("u-from-url-yaml", {"source": "url", "expect": {"status": "completed", "run": ["succeeded"]}}, fmt="yaml",
    method=[http("p", "/text")])
exp("u-url-404", {"source": "url-missing", "expect": {"exit": 1, "journal": False}}, method=[])

p=os.path.join(D, "c-yaml11-booleans.yaml"); s=open(p).read(); open(p,"w").write(s.replace("- 'yes'\n","- yes\n").replace("- 'on'\n","- on\n"))
print(len(os.listdir(D)))

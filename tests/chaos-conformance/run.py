#!/usr/bin/env python3
"""Conformance harness: every fixture runs with the real Chaos Toolkit
(chaostoolkit 1.19.0, chaostoolkit-lib 1.44.0) and with `squall chaos run`,
against the fixture server and processes on 127.0.0.1, and the journals are
compared: exit code, status, deviated, hypothesis states, each activity's
status, output and exception, and the rollbacks.

Each fixture carries its harness settings in an `x-conformance` key, which
both runners keep and ignore like any unknown top-level key:
  args        extra arguments for both runners (after `run FILE`)
  squall_args extra arguments for squall only
  command     "run" (default) or "validate"
  source      "url": the runners load the fixture from the fixture server,
              or "url-missing": from a URL that answers 404
  files       {name: content} written into the run's directory first
  env         extra environment variables
  signal      {"when_file": NAME, "sig": "TERM"|"INT"}: sent once NAME exists
  expect      assertions on both runners: {"exit": 0, "status": ..., "deviated": ...,
              "run": [activity statuses], "rollbacks": N, "journal": bool}
  difference  a deliberate, documented difference (docs/chaos.md): the journals
              are not compared; `expect_chaos` and `expect_squall` are checked instead.

Usage: run.py --squall PATH [--chaos PATH] [-k SUBSTRING] [-j JOBS] [-v]
"""

import argparse
import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

import server

HERE = Path(__file__).resolve().parent
IGNORED_OUTPUT_KEYS = {"headers"}


def load_fixture(path):
    text = path.read_text()
    doc = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    return doc.get("x-conformance", {}) if isinstance(doc, dict) else {}


def run_one(kind, exe, fixture, meta, port, workdir):
    """Runs one runner on one fixture; returns (exit code, journal or None, stderr)."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name, content in (meta.get("files") or {}).items():
        (workdir / name).write_text(content)
    command = meta.get("command", "run")
    source = str(fixture)
    if meta.get("source") == "url":
        source = f"http://127.0.0.1:{port}/experiment/{fixture.name}"
    elif meta.get("source") == "url-missing":
        source = f"http://127.0.0.1:{port}/experiment/missing-{fixture.name}"
    args = [str(a).replace("{port}", str(port)) for a in meta.get("args", [])]
    if kind == "chaos":
        settings = workdir / "settings.yaml"
        settings.write_text("{}\n")
        cmd = [exe, "--no-version-check", "--no-log-file", "--settings", str(settings), command, source]
    else:
        cmd = [exe, "chaos", command, source]
        args += [str(a) for a in meta.get("squall_args", [])]
    if command == "run":
        cmd += ["--journal-path", "journal.json", "--var", f"port:int={port}"]
    cmd += args
    env = dict(os.environ)
    env.update({k: str(v) for k, v in (meta.get("env") or {}).items()})
    env["SQUALL_PYTHON"] = sys.executable
    sig = meta.get("signal")
    # A shell's background job inherits SIGINT ignored; the runners must see it.
    reset = (lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)) if sig else None
    p = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=reset)
    if sig:
        deadline = time.time() + 20
        while not (workdir / sig["when_file"]).exists() and time.time() < deadline and p.poll() is None:
            time.sleep(0.01)
        time.sleep(sig.get("delay", 0.05))
        if p.poll() is None:
            p.send_signal(getattr(signal, "SIG" + sig["sig"]))
    try:
        out, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        err += "\n[harness] killed after 60 s"
    journal = None
    jp = workdir / "journal.json"
    if jp.exists():
        try:
            journal = json.loads(jp.read_text())
        except ValueError:
            journal = "invalid"
    return p.returncode, journal, out + err


def exc_summary(lines):
    last = lines[-1].strip() if lines else ""
    cls, _, msg = last.partition(": ")
    return cls.rsplit(".", 1)[-1] + ": " + " ".join(msg.split()[:3])


def norm_entry(e):
    out = e.get("output")
    if isinstance(out, dict) and "headers" in out:
        out = {k: v for k, v in out.items() if k not in IGNORED_OUTPUT_KEYS}
    d = {"name": e["activity"].get("name"), "status": e.get("status", "<no status>"), "output": out}
    if "exception" in e:
        d["exception"] = exc_summary(e["exception"])
    if "tolerance_met" in e:
        d["tolerance_met"] = e["tolerance_met"]
    return d


def norm_state(s):
    if s is None:
        return None
    return {"met": s["steady_state_met"], "probes": [norm_entry(p) for p in s["probes"]]}


def normalize(code, journal, background):
    if not isinstance(journal, dict):
        return {"exit": code, "journal": journal is not None}
    run = [norm_entry(e) for e in journal["run"]]
    if background:
        run = sorted(run, key=lambda e: json.dumps(e, sort_keys=True))
    return {
        "exit": code,
        "journal": True,
        "status": journal["status"],
        "deviated": journal["deviated"],
        "title": journal["experiment"].get("title"),
        "before": norm_state(journal["steady_states"]["before"]),
        "after": norm_state(journal["steady_states"]["after"]),
        "during": len(journal["steady_states"]["during"]) > 0,
        "run": run,
        "rollbacks": [norm_entry(e) for e in journal["rollbacks"]],
    }


def check_expect(label, norm, expect, problems):
    for key, want in (expect or {}).items():
        if key == "run":
            got = [e["status"] for e in norm.get("run", [])]
        elif key == "rollbacks":
            got = len(norm.get("rollbacks", []))
        elif key == "during":
            got = norm.get("during")
        else:
            got = norm.get(key)
        if got != want:
            problems.append(f"{label}: {key} is {got!r}, expected {want!r}")


def diff(a, b, path=""):
    if type(a) is not type(b) or not isinstance(a, (dict, list)):
        return [] if a == b else [f"{path or '.'}: chaos {a!r} != squall {b!r}"]
    out = []
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            out += diff(a.get(k, "<missing>"), b.get(k, "<missing>"), f"{path}.{k}")
    else:
        if len(a) != len(b):
            return [f"{path}: chaos has {len(a)} entries, squall {len(b)}: {a!r} vs {b!r}"]
        for i, (x, y) in enumerate(zip(a, b)):
            out += diff(x, y, f"{path}[{i}]")
    return out


def check(fixture, args, port, tmp):
    meta = load_fixture(fixture)
    base = Path(tmp) / fixture.stem
    c = run_one("chaos", args.chaos, fixture, meta, port, base / "chaos")
    s = run_one("squall", args.squall, fixture, meta, port, base / "squall")
    background = bool(meta.get("background"))
    nc, ns = normalize(c[0], c[1], background), normalize(s[0], s[1], background)
    problems = []
    if meta.get("difference"):
        check_expect("chaos", nc, meta.get("expect_chaos"), problems)
        check_expect("squall", ns, meta.get("expect_squall"), problems)
    else:
        problems += diff(nc, ns)
        check_expect("both", nc, meta.get("expect"), problems)
    for want in meta.get("squall_stderr", []):
        if want not in s[2]:
            problems.append(f"squall's output lacks {want!r}")
    return fixture.name, meta.get("difference"), problems, c[2], s[2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--squall", required=True)
    ap.add_argument("--chaos", default=str(Path(sys.executable).parent / "chaos"))
    ap.add_argument("-k", default="")
    ap.add_argument("-j", type=int, default=4)
    ap.add_argument("-v", action="store_true")
    args = ap.parse_args()
    args.squall = str(Path(args.squall).resolve())
    if not Path(args.chaos).exists():
        sys.exit(f"chaostoolkit is not installed at {args.chaos} (pip install -r tests/requirements.txt)")
    fixtures = sorted(p for p in (HERE / "fixtures").iterdir() if p.suffix in (".json", ".yaml", ".yml") and args.k in p.name)
    srv = server.start()
    port = srv.server_address[1]
    failed = 0
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp, concurrent.futures.ThreadPoolExecutor(args.j) as pool:
        for name, difference, problems, cerr, serr in pool.map(lambda f: check(f, args, port, tmp), fixtures):
            tag = "ok  " if not problems else "FAIL"
            note = f"  (deliberate difference: {difference})" if difference else ""
            print(f"{tag} {name}{note}")
            for p in problems:
                print(f"     {p}")
            if problems:
                failed += 1
                if args.v:
                    print("     --- chaos output ---\n" + cerr[-3000:] + "\n     --- squall output ---\n" + serr[-3000:])
    print(f"{len(fixtures) - failed}/{len(fixtures)} fixtures conform ({time.time() - started:.1f} s)")
    sys.exit(1 if failed or not fixtures else 0)


if __name__ == "__main__":
    main()

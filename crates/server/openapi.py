"""Writes crates/server/openapi.json, the OpenAPI document of squall serve's API:
python3 crates/server/openapi.py > crates/server/openapi.json
Kept beside the routes (crates/server/src/api/); the schemathesis test checks
the served document is this output and that the server answers as it says."""
import json
P = {"$ref": "#/components/responses/Problem"}
def errs(*codes):
    # Every route is behind the door: 401 without the token, 403 for a
    # Host that is not this machine or a cross-site origin.
    return {str(c): P for c in sorted(set(codes) | {401, 403})}
def ok(schema, code="200", desc="OK", headers=None):
    r = {"description": desc, "content": {"application/json": {"schema": schema}}}
    if headers: r["headers"] = headers
    return {code: r}
ref = lambda n: {"$ref": f"#/components/schemas/{n}"}
arr = lambda s: {"type": "array", "items": s}
ID = {"name": "id", "in": "path", "required": True, "description": "Experiment id (a UUID).", "schema": {"type": "string"}}
MAXV = 9007199254740991
VER = {"name": "version", "in": "path", "required": True, "description": "Version number (1, 2, ...).", "schema": {"type": "integer", "minimum": 1, "maximum": MAXV}}
SID = {"name": "id", "in": "path", "required": True, "description": "Suite run id.", "schema": {"type": "string"}}
RUN = {"name": "run", "in": "path", "required": True, "description": "Run id.", "schema": {"type": "string"}}
LIMIT = {"name": "limit", "in": "query", "required": False, "description": "At most this many (default 100).", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}
LOC = {"Location": {"description": "The new resource.", "schema": {"type": "string"}}}
DOC_BODY = {"required": True, "description": "An experiment document as `squall run` reads it (YAML or JSON text; the Content-Type is not looked at).",
            "content": {"text/plain": {"schema": {"type": "string"}}}}
def op(summary, responses, params=None, body=None, opid=None, tags=None, desc=None):
    o = {"summary": summary, "operationId": opid, "responses": responses}
    if desc: o["description"] = desc
    if tags: o["tags"] = tags
    if params: o["parameters"] = params
    if body: o["requestBody"] = body
    return o
def created_with_links(schema, links):
    r = ok(schema, "201", "Created", LOC)
    r["201"]["links"] = links
    return r
def link(opid, **params):
    return {"operationId": opid, "parameters": params}
EXP_LINKS = {
    "GetExperiment": link("getExperiment", id="$response.body#/id"),
    "ListVersions": link("listVersions", id="$response.body#/id"),
    "GetVersion": link("getVersion", id="$response.body#/id", version=1),
    "GetDocument": link("getDocument", id="$response.body#/id", version=1),
    "PutDocument": link("putDocument", id="$response.body#/id", version=1),
    "NewVersion": link("newVersion", id="$response.body#/id"),
    "StartRun": link("startRun", id="$response.body#/id", version=1),
    "ListVersionRuns": link("listVersionRuns", id="$response.body#/id", version=1),
    "DeleteExperiment": link("deleteExperiment", id="$response.body#/id"),
}
RUN_LINKS = {
    "GetRun": link("getRun", run="$response.body#/id"),
    "StopRun": link("stopRun", run="$response.body#/id"),
    "RunMetrics": link("runMetrics", run="$response.body#/id"),
    "RunFiles": link("runFiles", run="$response.body#/id"),
    "RunReport": link("runReport", run="$response.body#/id"),
}
str_or_null = {"type": "string", "nullable": True}
int_or_null = {"type": "integer", "nullable": True}
links = {"type": "object", "additionalProperties": {"type": "string"}}
schemas = {
    "Problem": {"type": "object", "required": ["type", "title", "status", "detail", "error"], "description": "RFC 9457 problem document; `error` repeats `detail` (the shape of squall's other APIs).",
        "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}, "error": {"type": "string"},
                       "field": {"type": "string", "description": "The field to blame."}, "errors": arr({"type": "string"})}},
    "Run": {"type": "object", "required": ["id", "experiment_id", "version", "status", "created_ms", "links"],
        "properties": {"id": {"type": "string"}, "experiment_id": {"type": "string"}, "version": {"type": "integer"},
            "status": {"type": "string", "enum": ["starting", "running", "completed", "stopped", "failed", "interrupted"]},
            "verdict": str_or_null, "exit_code": int_or_null, "error": str_or_null, "created_ms": {"type": "integer"}, "ended_ms": int_or_null, "links": links}},
    "Experiment": {"type": "object", "required": ["id", "name", "created_ms", "versions", "links"],
        "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "created_ms": {"type": "integer"}, "versions": {"type": "integer"},
            "latest_run": {"allOf": [ref("Run")], "nullable": True}, "links": links, "warnings": arr({"type": "string"})}},
    "Version": {"type": "object", "required": ["experiment_id", "version", "created_ms", "runs", "frozen", "links"],
        "properties": {"experiment_id": {"type": "string"}, "version": {"type": "integer"}, "created_ms": {"type": "integer"}, "runs": {"type": "integer"},
            "frozen": {"type": "boolean", "description": "True once a run used it: its document no longer changes."}, "links": links,
            "document": {"type": "string"}, "warnings": arr({"type": "string"})}},
    "NewExperiment": {"type": "object", "required": ["name", "document"], "additionalProperties": False,
        "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S", "description": "1 to 200 characters, not only spaces, no control characters."}, "document": {"type": "string", "description": "An experiment document as `squall run` reads it (YAML or JSON); checked with located errors."}},
        "example": {"name": "two seconds on the shop", "document": "title: two seconds\nsim: shop\nworkload:\n  base_url: ${sim.gateway}\n  scenarios: [{name: s, steps: [{request: {url: /}}]}]\n  load: {model: open, max_vus: 10, stages: [{rate: 5, for: 2s}]}\ngoals:\n  - {name: errors, metric: http_req_failed, condition: rate<0.5}\n"}},
    "NewVersion": {"type": "object", "additionalProperties": False,
        "properties": {"from": {"type": "integer", "minimum": 1, "maximum": MAXV, "nullable": True, "description": "Version to copy (default, or null: the latest)."}, "document": {"type": "string", "nullable": True, "description": "A new document (default, or null: the copied one's)."}}},
    "Validation": {"type": "object", "required": ["valid", "errors", "warnings"],
        "properties": {"valid": {"type": "boolean"}, "errors": arr({"type": "string"}), "warnings": arr({"type": "string"}),
            "document": {"type": "object", "description": "When valid: the document as JSON (what the UI's forms edit)."}}},
    "Suite": {"type": "object", "required": ["id", "name", "status", "running_here", "created_ms", "state", "links"],
        "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "status": {"type": "string", "enum": ["running", "passed", "failed", "interrupted"]},
            "running_here": {"type": "boolean"}, "created_ms": {"type": "integer"}, "ended_ms": int_or_null,
            "state": {"type": "object", "description": "The suite run's state (as state.json): each experiment's status and attempts."}, "links": links}},
    "Template": {"type": "object", "required": ["id", "title", "document"],
        "properties": {"id": {"type": "string"}, "title": {"type": "string"}, "document": {"type": "string"}}},
    "Topology": {"type": "object", "required": ["source", "yaml", "services"],
        "properties": {"source": {"type": "string", "enum": ["built-in", "inline", "file"]}, "yaml": {"type": "string", "description": "The topology's YAML (for the editor)."},
            "services": arr({"type": "object", "required": ["name", "paths", "latency_ms", "error_rate", "response_size", "steps"],
                "properties": {"name": {"type": "string"}, "paths": arr({"type": "string"}), "latency_ms": {"type": "object", "properties": {"base": {"type": "number"}, "jitter": {"type": "number"}}},
                    "error_rate": {"type": "number"}, "response_size": {"type": "integer"},
                    "steps": arr({"type": "object", "properties": {"parallel": {"type": "boolean"}, "calls": arr({"type": "object", "properties": {"service": {"type": "string"}, "probability": {"type": "integer"}, "path": {"type": "string"}}})}})}})}},
    "DocumentSaved": {"type": "object", "required": ["version", "warnings"], "properties": {"version": {"type": "integer"}, "warnings": arr({"type": "string"})}},
    "Stopping": {"type": "object", "required": ["id", "stopping"], "properties": {"id": {"type": "string"}, "stopping": {"type": "boolean"}}},
    "File": {"type": "object", "required": ["name", "bytes", "url"], "properties": {"name": {"type": "string"}, "bytes": {"type": "integer"}, "url": {"type": "string"}}},
    "Health": {"type": "object", "required": ["status", "database", "runs_in_flight", "version"],
        "properties": {"status": {"type": "string"}, "database": {"type": "string", "enum": ["sqlite", "postgres"]}, "runs_in_flight": {"type": "integer"}, "version": {"type": "string"},
            "token_required": {"type": "boolean", "description": "Whether every other call needs the token."}}},
    "Second": {"type": "object", "description": "One second of load (also the `second` SSE event).",
        "properties": {"phase": {"type": "string"}, "start_s": {"type": "number"}, "end_s": {"type": "number"}, "requests": {"type": "integer"}, "rps": {"type": "number"},
            "failed": {"type": "integer"}, "error_rate": {"type": "number"}, "p50_ms": {"type": "number", "nullable": True}, "p95_ms": {"type": "number", "nullable": True},
            "p99_ms": {"type": "number", "nullable": True}, "utilization": {"type": "number"}}},
}
GID = {"name": "id", "in": "path", "required": True, "description": "Generator id (from registration).", "schema": {"type": "string"}}
schemas.update({
    "Hello": {"type": "object", "required": ["protocol", "name", "threads"], "additionalProperties": False,
        "properties": {"protocol": {"type": "integer", "minimum": 0, "maximum": 4294967295}, "name": {"type": "string", "minLength": 1, "maxLength": 128},
            "index": {"type": "integer", "minimum": 0, "maximum": MAXV, "nullable": True}, "threads": {"type": "integer", "minimum": 0, "maximum": 65535}, "version": {"type": "string"}}},
    "Welcome": {"type": "object", "required": ["id", "lost_after_ms"], "properties": {"id": {"type": "string"}, "lost_after_ms": {"type": "integer"}}},
    "Generator": {"type": "object", "required": ["id", "name", "threads", "silent_ms"], "properties": {"id": {"type": "string"}, "name": {"type": "string"},
        "index": {"type": "integer", "nullable": True}, "threads": {"type": "integer"}, "run": {"type": "string", "nullable": True}, "silent_ms": {"type": "integer"}}},
    "FleetClock": {"type": "object", "required": ["unix_ms"], "properties": {"unix_ms": {"type": "number"}}},
    "FleetNext": {"type": "object", "required": ["version"], "properties": {"version": {"type": "integer"},
        "order": {"type": "object", "nullable": True, "required": ["run", "index", "count", "plan", "seed"], "properties": {"run": {"type": "string"}, "index": {"type": "integer"}, "count": {"type": "integer"},
            "plan": {"type": "object"}, "seed": {"type": "integer"}, "start_unix_ms": {"type": "number", "nullable": True}, "stop": {"type": "string", "enum": ["soft", "hard"], "nullable": True}}}}},
    "FleetAck": {"type": "object", "properties": {"through": {"type": "integer", "nullable": True}, "stop": {"type": "string", "enum": ["soft", "hard"], "nullable": True}}},
})
paths = {
 "/health": {"get": {**op("Liveness, database kind, runs in flight (no token needed)", {**ok(ref("Health")), "403": P}, opid="health"), "security": []}},
 "/openapi.json": {"get": op("This document", {"200": {"description": "OpenAPI 3.0", "content": {"application/json": {"schema": {"type": "object"}}}}}, opid="openapi")},
 "/validate": {"post": op("Check a document without storing it", {**ok(ref("Validation")), **errs(400, 413)}, body=DOC_BODY, opid="validate",
     desc="The same checks as a run's start (everything that can be checked without starting the simulated system or asking injectors).")},
 "/templates": {"get": op("Documents to start an experiment from (the demo shop's)", {**ok(arr(ref("Template")))}, opid="listTemplates")},
 "/experiments": {
   "get": op("List experiments with their latest run", {**ok(arr(ref("Experiment"))), **errs(503)}, opid="listExperiments"),
   "post": op("Create an experiment (its document becomes version 1)", {**created_with_links(ref("Experiment"), EXP_LINKS), **errs(400, 413, 503)},
       body={"required": True, "content": {"application/json": {"schema": ref("NewExperiment")}}}, opid="createExperiment")},
 "/experiments/{id}": {
   "get": op("One experiment", {**ok(ref("Experiment")), **errs(404, 503)}, [ID], opid="getExperiment"),
   "delete": op("Delete an experiment, its versions and runs (run directories stay on disk)", {"204": {"description": "Deleted"}, **errs(404, 409, 503)}, [ID], opid="deleteExperiment")},
 "/experiments/{id}/versions": {
   "get": op("The versions of an experiment", {**ok(arr(ref("Version"))), **errs(404, 503)}, [ID], opid="listVersions"),
   "post": op("A new version: a copy of `from` (default the latest), optionally with a new document", {**ok(ref("Version"), "201", "Created", LOC), **errs(400, 404, 413, 503)}, [ID],
       body={"required": False, "content": {"application/json": {"schema": ref("NewVersion")}}}, opid="newVersion")},
 "/experiments/{id}/versions/{version}": {
   "get": op("One version with its document", {**ok(ref("Version")), **errs(400, 404, 503)}, [ID, VER], opid="getVersion"),
   "delete": op("Delete a version and its runs (the experiment goes with its last version)", {"204": {"description": "Deleted"}, **errs(400, 404, 409, 503)}, [ID, VER], opid="deleteVersion")},
 "/experiments/{id}/versions/{version}/document": {
   "get": op("The document as stored", {"200": {"description": "The document", "content": {"application/yaml": {"schema": {}}, "application/json": {"schema": {}}}}, **errs(400, 404, 503)}, [ID, VER], opid="getDocument"),
   "put": op("Replace the document of a version no run has used", {**ok(ref("DocumentSaved")), **errs(400, 404, 409, 413, 503)}, [ID, VER], body=DOC_BODY, opid="putDocument")},
 "/experiments/{id}/versions/{version}/topology": {
   "get": op("The simulated system of a version: services, calls, probabilities, latencies", {**ok(ref("Topology")), **errs(400, 404, 503)}, [ID, VER], opid="getTopology",
       desc="404 when the document starts no simulated system; 403 when its topology is a file and the server runs without --allow-commands.")},
 "/experiments/{id}/versions/{version}/runs": {
   "get": op("Runs of a version, newest first", {**ok(arr(ref("Run"))), **errs(400, 404, 503)}, [ID, VER, LIMIT], opid="listVersionRuns"),
   "post": op("Start a run of a version", {**created_with_links(ref("Run"), RUN_LINKS), **errs(400, 403, 404, 409, 429, 503)}, [ID, VER], opid="startRun",
       desc="409 while a run of the same version is in flight; 429 at --max-runs; 403 when the document needs --allow-commands.")},
 "/suites": {
   "get": op("Suite runs, newest first", {**ok(arr(ref("Suite"))), **errs(400, 503)}, [LIMIT], opid="listSuites"),
   "post": op("Start a suite (the body is the suite file, YAML)", {**ok(ref("Suite"), "201", "Created", LOC), **errs(400, 403, 413, 503)},
       body={"required": True, "description": "A suite file as `squall suite run` reads it; sources are stored experiments (`experiment:ID` or `experiment:ID/vN`), URLs or s3:// (paths need --allow-commands).",
             "content": {"text/plain": {"schema": {"type": "string"}}}}, opid="startSuite",
       desc="Every experiment is read and checked before the suite starts (400 with located problems; 403 for what needs --allow-commands or --allow-target).")},
 "/suites/{id}": {"get": op("One suite run with its state", {**ok(ref("Suite")), **errs(404, 503)}, [SID], opid="getSuite")},
 "/suites/{id}/stop": {"post": op("Stop a suite run (left interrupted; resume goes on)", {**ok(ref("Stopping"), "202", "Stopping"), **errs(404, 409, 503)}, [SID], opid="stopSuite")},
 "/suites/{id}/resume": {"post": op("Resume a stopped suite run", {"202": {"description": "Resuming", "content": {"application/json": {"schema": {"type": "object"}}}}, **errs(400, 403, 404, 409, 503)}, [SID], opid="resumeSuite")},
 "/suites/{id}/events": {"get": op("Live events (SSE): experiment, experiment_ended, state, pause, resumed, fault, revert, phase, ..., ended",
     {"200": {"description": "text/event-stream", "content": {"text/event-stream": {"schema": {"type": "object"}}}}, **errs(404, 503)},
     [SID, {"name": "Last-Event-ID", "in": "header", "required": False, "schema": {"type": "string"}}], opid="suiteEvents")},
 "/suites/{id}/junit.xml": {"get": op("The suite run's JUnit XML (once it ended)", {"200": {"description": "JUnit XML", "content": {"application/xml": {"schema": {"type": "string"}}}}, **errs(404, 503)}, [SID], opid="suiteJunit")},
 "/suites/{id}/report": {"get": op("The suite report (suite-report.json, once it ended)", {**ok({"type": "object"}), **errs(404, 503)}, [SID], opid="suiteReport")},
 "/runs": {"get": op("All runs, newest first", {**ok(arr(ref("Run"))), **errs(400, 503)}, [LIMIT], opid="listRuns")},
 "/runs/{run}": {"get": op("One run", {**ok(ref("Run")), **errs(404, 503)}, [RUN], opid="getRun")},
 "/runs/{run}/stop": {"post": op("Stop a run: every fault reverted, the report of what ran written", {**ok(ref("Stopping"), "202", "Stopping"), **errs(404, 409, 503)}, [RUN], opid="stopRun")},
 "/runs/{run}/events": {"get": op("Live events (SSE): stored ones after Last-Event-ID, then new ones until `ended`",
     {"200": {"description": "text/event-stream; event names: waiting, t0, running, warning, phase, fault, revert, abort, hypothesis, activity, rollback, error, second, goals, goal, ended", "content": {"text/event-stream": {"schema": {"type": "object", "required": ["id", "event", "data"], "properties": {"id": {"type": "string"}, "event": {"type": "string"}, "data": {"type": "string", "description": "JSON"}}}}}}, **errs(404, 503)},
     [RUN, {"name": "Last-Event-ID", "in": "header", "required": False, "schema": {"type": "string"}}], opid="runEvents")},
 "/runs/{run}/metrics": {"get": op("Every second measured so far", {**ok(arr(ref("Second"))), **errs(404, 503)}, [RUN], opid="runMetrics")},
 "/runs/{run}/report": {"get": op("The run report (report.json)", {**ok({"type": "object"}), **errs(404, 503)}, [RUN], opid="runReport")},
 "/runs/{run}/report.html": {"get": op("The run report as one HTML page", {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}, **errs(404, 503)}, [RUN], opid="runReportHtml")},
 "/runs/{run}/files": {"get": op("The files of the run directory", {**ok(arr(ref("File"))), **errs(404, 503)}, [RUN], opid="runFiles")},
 "/runs/{run}/files/{name}": {"get": op("One file of the run directory (only names the listing shows)",
     {"200": {"description": "The file", "content": {"*/*": {"schema": {}}}}, **errs(404, 503)},
     [RUN, {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}], opid="runFile")},
 "/fleet/clock": {"get": op("The coordinator's wall clock (generators estimate their offset from it)", {**ok(ref("FleetClock")), **errs()}, opid="fleetClock", tags=["fleet"])},
 "/fleet/generators": {
     "get": op("Registered load generators", {**ok({"type": "object", "required": ["generators"], "properties": {"generators": arr(ref("Generator"))}}), **errs()}, opid="listGenerators", tags=["fleet"]),
     "post": op("Register a load generator (`squall generator` calls this)", {**ok(ref("Welcome"), "201", "Registered"), **errs(400, 409, 413, 415)},
         body={"required": True, "content": {"application/json": {"schema": ref("Hello")}}}, opid="registerGenerator", tags=["fleet"])},
 "/fleet/generators/{id}/next": {"get": op("Long poll: the generator's instructions (its share of a run, the shared start, a stop), answered when they change or after 5 s",
     {**ok(ref("FleetNext")), **errs(400, 404)},
     [GID, {"name": "known", "in": "query", "required": False, "description": "The version the generator already has.", "schema": {"type": "integer", "minimum": 0}}], opid="generatorNext", tags=["fleet"])},
 "/fleet/generators/{id}/report": {"post": op("A generator's readiness, seconds not yet acknowledged, and end; the answer acknowledges seconds and may ask to stop",
     {**ok(ref("FleetAck")), **errs(400, 404, 410, 413, 415)}, [GID],
     body={"required": True, "content": {"application/json": {"schema": {"type": "object", "required": ["run"], "properties": {"run": {"type": "string"}, "ready": {"type": "boolean"}, "failed": {"type": "string", "nullable": True}, "seconds": arr({"type": "object"}), "errors": arr({"type": "string"}), "done": {"type": "integer", "minimum": 0, "nullable": True}, "clock_offset_ms": {"type": "number", "nullable": True}}, "additionalProperties": False}}}},
     opid="generatorReport", tags=["fleet"])},
}
doc = {"openapi": "3.0.3",
 "info": {"title": "squall serve", "version": "1",
   "description": "Stored, versioned experiments; runs started and stopped over HTTP through the same engine as `squall run`; live events; reports. MiSArch's executor routes (/experiment/..., /trigger/...) are served beside this API; see docs/serve.md. With a token configured (required beyond loopback) every call but /health needs `Authorization: Bearer TOKEN`; on loopback without one, none does."},
 "servers": [{"url": "/api/v1"}],
 "security": [{"bearer": []}, {}],
 "paths": paths,
 "components": {"schemas": schemas, "responses": {"Problem": {"description": "A problem document", "content": {"application/problem+json": {"schema": ref("Problem")}}}},
   "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
}
print(json.dumps(doc, indent=1))

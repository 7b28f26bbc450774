"""The fixture HTTP server of the conformance harness (127.0.0.1, ephemeral port).

Routes: /json, /json-charset, /text (UTF-8 bytes, no charset), /status/<code>,
/slow?ms=N, /echo (reflects method, query, content type and body), /bad-json,
/counter (a number that grows by one per call), /experiment/<fixture>
(a fixture file, for loading experiments from a URL).
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    counter = 0
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype):
        data = body if isinstance(body, bytes) else body.encode("utf-8")
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        url = urlparse(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        if url.path == "/json":
            return self.reply(200, json.dumps({"items": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}], "ok": True}), "application/json")
        if url.path == "/json-charset":
            return self.reply(200, json.dumps({"ok": True}), "application/json; charset=utf-8")
        if url.path == "/text":
            return self.reply(200, "caf\u00e9 42\n".encode("utf-8"), "text/plain")
        if url.path.startswith("/status/"):
            return self.reply(int(url.path.rsplit("/", 1)[1]), "status body", "text/plain; charset=utf-8")
        if url.path == "/slow":
            ms = int(parse_qs(url.query).get("ms", ["500"])[0])
            time.sleep(ms / 1000)
            return self.reply(200, "slow", "text/plain; charset=utf-8")
        if url.path == "/echo":
            return self.reply(200, json.dumps({
                "method": self.command,
                "query": url.query,
                "content_type": self.headers.get("Content-Type"),
                "body": body,
            }), "application/json")
        if url.path == "/bad-json":
            return self.reply(200, "{not json", "application/json")
        if url.path == "/counter":
            with Handler.lock:
                Handler.counter += 1
                c = Handler.counter
            return self.reply(200, str(c), "text/plain; charset=utf-8")
        if url.path.startswith("/experiment/"):
            f = Path(__file__).resolve().parent / "fixtures" / url.path.rsplit("/", 1)[1]
            if f.is_file():
                ctype = "application/json" if f.suffix == ".json" else "application/x-yaml"
                return self.reply(200, f.read_bytes(), ctype)
        return self.reply(404, "not found", "text/plain; charset=utf-8")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any


def start():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    # Clients that time out on /slow close early; that is expected, not news.
    srv.handle_error = lambda request, address: None
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv

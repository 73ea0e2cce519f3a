"""A stand-in for the team server's project page, for the compare view's standalone host:
an ``http.server`` on 127.0.0.1 serving the page (BokehJS, then ``nbtrack/static/widget.js``)
under the server's strict Content-Security-Policy, a project's Server-Sent Events built by
`nbtrack.widget._compare.ProjectFeed` from a real local store, and its range requests.

`push()` polls the store once and sends what changed as the next event (live runs).

Run it by hand to look at the page: ``python -m tests.browser.compare_harness STORE PROJECT``.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from nbtrack.api import Api
from nbtrack.widget._bokeh import bokehjs_dir
from nbtrack.widget._compare import ProjectFeed
from tests.browser.page_harness import CSP, PAGE_JS, PageServer, sse

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>nbtrack compare</title>
<script src="/static/bokeh.min.js"></script>
<script src="/static/bokeh-api.min.js"></script>
<script type="module" src="/static/widget.js"></script>
</head><body>
<div data-nbtrack-compare data-events="/compare/events" data-range="/compare/range"
     data-run-base="/runs/" data-state-key="nbtrack-test:compare"></div>
</body></html>
"""

Message = tuple[dict[str, Any], list[bytes]]


class Recorder:
    """What `ProjectFeed` needs of a widget: it keeps what is sent instead of sending it."""

    def __init__(self) -> None:
        self.sent: list[Message] = []

    def send(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        self.sent.append((content, list(buffers or [])))

    def send_bokeh(self) -> None:
        pass  # the page loads BokehJS itself

    def on_msg(self, callback: Any) -> None:
        pass

    def take(self) -> list[Message]:
        out, self.sent = self.sent, []
        return out


class CompareServer(PageServer):
    feed: ProjectFeed
    recorder: Recorder
    lock: threading.Lock

    def push(self) -> int:
        """Poll the store, send what changed as the next event; its id (0: nothing new)."""
        with self.lock:
            self.feed.poll()
            msgs = self.recorder.take()
            if not msgs:
                return 0
            self.events.append(msgs)
            n = len(self.events)
        self.allow(n)
        return n

    def answer(self, query: dict[str, list[str]]) -> bytes:
        req = {
            "type": "range",
            "id": int(query["id"][0]),
            "runs": query.get("run", []),
            "keys": query.get("key", []),
            "start": int(float(query["start"][0])),
            "end": int(float(query["end"][0])),
            "width": int(query.get("width", ["800"])[0]),
        }
        with self.lock:
            self.feed.answer(req)
            msgs = self.recorder.take()
        return sse(0, msgs).split(b"data: ", 1)[1].strip()


def _handler(server: CompareServer) -> type[BaseHTTPRequestHandler]:
    static = {
        "/static/widget.js": PAGE_JS,
        "/static/bokeh.min.js": bokehjs_dir() / "bokeh.min.js",
        "/static/bokeh-api.min.js": bokehjs_dir() / "bokeh-api.min.js",
    }

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def send_body(self, body: bytes, ctype: str, *, csp: bool = False) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            if csp:
                self.send_header("Content-Security-Policy", CSP)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/":
                self.send_body(PAGE.encode(), "text/html; charset=utf-8", csp=True)
            elif url.path in static:
                self.send_body(static[url.path].read_bytes(), "text/javascript; charset=utf-8")
            elif url.path == "/compare/range":
                self.send_body(server.answer(parse_qs(url.query)), "application/json")
            elif url.path == "/compare/events":
                self.events()
            else:
                self.send_error(HTTPStatus.NOT_FOUND)

        def events(self) -> None:
            header = self.headers.get("Last-Event-ID")
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()

            def write(b: bytes) -> None:
                self.wfile.write(b)
                self.wfile.flush()

            with suppress(BrokenPipeError, ConnectionResetError):
                server.stream(int(header) if header and header.isdigit() else 0, write)

    return Handler


@contextmanager
def serve_compare(store: Path, project: str) -> Iterator[CompareServer]:
    """The compare page of `project` in the store at `store`, on a free port of 127.0.0.1."""
    assert PAGE_JS.exists(), f"{PAGE_JS} is missing: run `npm run build` first"
    api = Api(store)
    recorder = Recorder()
    feed = ProjectFeed(recorder, api, project, follow=False)  # type: ignore[arg-type]
    server = CompareServer([recorder.take()])
    server.feed, server.recorder, server.lock = feed, recorder, threading.Lock()
    server.allow(1)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    httpd.daemon_threads = True
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, name="nbtrack-compare", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
        api.close()


if __name__ == "__main__":
    with serve_compare(Path(sys.argv[1]), sys.argv[2]) as srv:
        print(f"{srv.url}/  (Ctrl-C ends it)")
        with suppress(KeyboardInterrupt):
            while True:
                threading.Event().wait(1.0)
                srv.push()

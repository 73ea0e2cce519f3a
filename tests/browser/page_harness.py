"""A stand-in for the team server's run page, for ``tests/browser/test_page_host.py``: an
``http.server`` on 127.0.0.1 that serves the standalone page (BokehJS, then
``nbtrack/static/widget.js``; at ``/deferred`` widget.js first and BokehJS deferred after it)
under a strict Content-Security-Policy, and the run's Server-Sent Events as
``js/event-feed.ts`` expects them, built with ``nbtrack.widget._protocol``.

The test paces the stream: `allow` lets events up to an id go, `drop` ends the open stream
(the browser reconnects with Last-Event-ID), and ``drop(refuse=1)`` answers the reconnect
with a 503 too, so that the browser gives the EventSource up and the page opens a fresh one.

Run it by hand to look at the page: ``python -m tests.browser.page_harness`` (everything
allowed at once; prints the URL).
"""

from __future__ import annotations

import base64
import functools
import json
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from nbtrack.widget._bokeh import bokehjs_dir
from nbtrack.widget._protocol import header_message, points_message
from tests.helpers import REPO

PAGE_JS = REPO / "nbtrack" / "static" / "widget.js"
RUN_ID = "pg7run01"
PER_EVENT = 10  # train/loss points in each event
T0 = 1_700_000_000.0
# What the team server sends: scripts from its own origin only. Styles inline are allowed
# (the dashboard and BokehJS add <style> elements).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>nbtrack run</title>
{bokeh}<script type="module" src="/static/widget.js"></script>
</head><body>
<div data-nbtrack-run data-run-id="{run_id}" data-events="/runs/{run_id}/events"
     data-layout-key="nbtrack-test:{run_id}"></div>
</body></html>
"""
BOKEH_TAGS = (
    '<script src="/static/bokeh.min.js"></script>\n'
    '<script src="/static/bokeh-api.min.js"></script>\n'
)
# /deferred: the page's module first and BokehJS deferred after it (they run in that order,
# once the page is parsed), so the event stream opens while BokehJS is still to run.
PAGE_DEFERRED = """<!doctype html>
<html><head><meta charset="utf-8"><title>nbtrack run</title>
<script type="module" src="/static/widget.js"></script>
<script defer src="/static/bokeh.min.js"></script>
<script defer src="/static/bokeh-api.min.js"></script>
</head><body>
<div data-nbtrack-run data-run-id="{run_id}" data-events="/runs/{run_id}/events"
     data-layout-key="nbtrack-test:{run_id}"></div>
</body></html>
"""


def loss(step: int) -> float:
    return 2.0 * math.exp(-step / 80) + 0.08 * math.sin(step / 3) + 0.1


def more_key(k: int) -> str:
    """The k-th of the extra keys `run_events` may add (a chart each, in section "more")."""
    return f"more/m{k:02d}"


def run_events(n: int, more: int = 0) -> list[list[tuple[dict[str, Any], list[bytes]]]]:
    """Event i (id i + 1): PER_EVENT steps of train/loss and _time (and of `more` extra keys),
    one val/loss, and a header with the run's sync state, which ends synced."""
    events = []
    for i in range(n):
        steps = np.arange(i * PER_EVENT, (i + 1) * PER_EVENT, dtype=np.int64)
        last = int(steps[-1])
        series = {
            "train/loss": (steps, np.array([loss(int(s)) for s in steps])),
            "val/loss": (steps[-1:], np.array([loss(last) * 1.15])),
            "_time": (steps, (T0 + steps * 0.05).astype(np.float64)),
        }
        for k in range(more):
            series[more_key(k)] = (steps, np.sin(steps / (5.0 + k)))
        pts = points_message(series, t0=T0)
        done = i == n - 1
        sync = (
            {"state": "synced", "behind": 0, "url": f"https://nbtrack.example/p/runs/{RUN_ID}"}
            if done
            else {"state": "behind", "behind": (n - 1 - i) * PER_EVENT}
        )
        header = header_message(
            run_id=RUN_ID,
            name="page-live",
            project="p",
            state="finished" if done else "running",
            step=last + 1,
            created_at=T0,
            elapsed=last * 0.05,
            rate=None if done else 20.0,
            last={"train/loss": loss(last), "val/loss": loss(last) * 1.15},
            alerts=[],
            error=None,
            sync=sync,
        )
        events.append([pts, (header, [])])
    return events


def sse(event_id: int, messages: list[tuple[dict[str, Any], list[bytes]]]) -> bytes:
    data = {
        "messages": [
            {"content": c, "buffers": [base64.b64encode(b).decode("ascii") for b in bufs]}
            for c, bufs in messages
        ]
    }
    text = json.dumps(data, allow_nan=False, separators=(",", ":"))
    return f"event: messages\nid: {event_id}\ndata: {text}\n\n".encode()


@dataclass
class PageServer:
    """What the harness serves, and what it saw: each stream request's Last-Event-ID."""

    events: list[list[tuple[dict[str, Any], list[bytes]]]]
    url: str = ""
    #: Last-Event-ID of each stream request in order (None: a fresh EventSource), and
    #: whether it was refused.
    requests: list[tuple[str | None, bool]] = field(default_factory=list)
    _allowed: int = 0
    _generation: int = 0
    _refuse: int = 0
    _stop: bool = False
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def allow(self, upto: int) -> None:
        """Let the events with ids up to `upto` go."""
        with self._cond:
            self._allowed = max(self._allowed, upto)
            self._cond.notify_all()

    def drop(self, *, refuse: int = 0) -> None:
        """End the open streams; answer the next `refuse` stream requests with a 503."""
        with self._cond:
            self._refuse += refuse
            self._generation += 1
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    def stream(self, last_id: int, write: Any) -> None:
        """Write events after `last_id` as they are allowed, pings while idle, until dropped."""
        with self._cond:
            generation = self._generation
        sent = last_id

        def ready(sent: int) -> bool:
            ended = self._stop or self._generation != generation
            return ended or sent < min(self._allowed, len(self.events))

        # Reconnect soon after a drop (the browser's default is about 3 s).
        write(b"retry: 200\n\n")
        while True:
            with self._cond:
                self._cond.wait_for(functools.partial(ready, sent), timeout=1.0)
                if self._stop or self._generation != generation:
                    return
                upto = min(self._allowed, len(self.events))
            if sent >= upto:
                write(b"event: ping\ndata: \n\n")
                continue
            while sent < upto:
                write(sse(sent + 1, self.events[sent]))
                sent += 1

    def take_refusal(self) -> bool:
        with self._cond:
            if self._refuse:
                self._refuse -= 1
                return True
            return False


def _handler(server: PageServer) -> type[BaseHTTPRequestHandler]:
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
            self.send_header("X-Content-Type-Options", "nosniff")
            if csp:
                self.send_header("Content-Security-Policy", CSP)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path in ("/", "/no-bokeh"):
                html = PAGE.format(bokeh=BOKEH_TAGS if path == "/" else "", run_id=RUN_ID)
                self.send_body(html.encode(), "text/html; charset=utf-8", csp=True)
            elif path == "/deferred":
                html = PAGE_DEFERRED.format(run_id=RUN_ID)
                self.send_body(html.encode(), "text/html; charset=utf-8", csp=True)
            elif path in static:
                self.send_body(static[path].read_bytes(), "text/javascript; charset=utf-8")
            elif path == f"/runs/{RUN_ID}/events":
                self.events()
            else:
                self.send_error(HTTPStatus.NOT_FOUND)

        def events(self) -> None:
            header = self.headers.get("Last-Event-ID")
            refused = server.take_refusal()
            server.requests.append((header, refused))
            if refused:
                self.send_error(HTTPStatus.SERVICE_UNAVAILABLE)
                return
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()

            def write(b: bytes) -> None:
                self.wfile.write(b)
                self.wfile.flush()

            # Until the page goes away (or the harness drops the stream).
            with suppress(BrokenPipeError, ConnectionResetError):
                server.stream(int(header) if header and header.isdigit() else 0, write)

    return Handler


@contextmanager
def serve_page(events: int = 20, more: int = 0) -> Iterator[PageServer]:
    """The page and its stream on a free port of 127.0.0.1, for the length of the block
    (`more`: extra keys, see `run_events`)."""
    assert PAGE_JS.exists(), f"{PAGE_JS} is missing: run `npm run build` first"
    server = PageServer(run_events(events, more))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    httpd.daemon_threads = True
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, name="nbtrack-page-harness", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


if __name__ == "__main__":
    with serve_page() as srv:
        srv.allow(len(srv.events))
        print(f"{srv.url}/  (Ctrl-C ends it)")
        with suppress(KeyboardInterrupt):
            threading.Event().wait()

"""``nbtrack ui``: the local store's runs as the team server's pages, in a browser.

As ``mlflow ui``, ``aim up`` or ``tensorboard --logdir``: one command serves the store on
127.0.0.1 only, with no sign-in, until Ctrl-C. ``/`` lists the store's projects, ``/<project>``
is the project's live compare view and ``/<project>/runs/<id>`` a run's live dashboard: its
event stream carries the media thumbnails, as the notebook's messages do, and full files
(a clicked image, a video, a sound) load from ``/media/<name>``. The pages are the server's
own (`nbtrack.server.pages`: the same HTML, CSP and the one bundle), and their messages are
the notebook's: `StoreFeed` and `ProjectFeed` read the store where it lies, live, as
`nbtrack.show` and `nbtrack.compare` do (no copy into a server database), and send into the
page's Server-Sent Events stream instead of a widget.

>>> $ nbtrack ui                          # http://127.0.0.1:8090/, opened in the browser
>>> $ nbtrack --dir runs ui --port 0 --no-browser
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
import sys
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from nbtrack.api import Api
    from nbtrack.widget._compare import ProjectFeed
    from nbtrack.widget._dashboard import StoreFeed

HOST = "127.0.0.1"
DEFAULT_PORT = 8090
# A run page's stream looks for new points this often while the run trains (the notebook's
# StoreFeed polls as often), and less often once it has ended (it may be resumed).
RUN_POLL_S = 0.5
ENDED_POLL_S = 2.0
# An idle stream sends a comment this often, so that nothing on the way closes it.
PING_S = 15.0
# How many project pages' streams answer their own zoomed ranges at once (see `_Streams`).
MAX_STREAMS = 256
# Where a run page loads a media file (its boot config's `media_url`). A media file never
# changes (it is named by the SHA-256 of its bytes): the browser keeps it for a year.
MEDIA_URL = "/media/{name}"
MEDIA_CACHE = "public, max-age=31536000, immutable"

Message = dict[str, Any]
SERVER_EXTRA = 'nbtrack ui needs the server extra: pip install "nbtrack[server]"'


def _event(messages: list[Message], event_id: str | None = None) -> str:
    data = json.dumps({"messages": messages}, separators=(",", ":"), allow_nan=False)
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"event: messages\n{head}data: {data}\n\n"


async def _sleep(seconds: float, stopping: Callable[[], bool]) -> None:
    """Sleep `seconds`, or less once `stopping()`: Ctrl-C ends the streams at once."""
    end = asyncio.get_running_loop().time() + seconds
    while not stopping():
        left = end - asyncio.get_running_loop().time()
        if left <= 0:
            return
        await asyncio.sleep(min(left, 0.25))


def _parse_since(last_event_id: str | None) -> tuple[int, int, int]:
    """The store positions a run page's Last-Event-ID names (see `_RunStream`); (0, 0, 0)
    when it names none. An id of two numbers (a page of an older ui) has media position 0."""
    parts = (last_event_id or "").strip().split(".")
    if len(parts) in (2, 3) and all(p.isdigit() for p in parts):
        seq, hist, media = (*map(int, parts), 0)[:3]
        return seq, hist, media
    return 0, 0, 0


class _Messages:
    """A feed's target that keeps what it sends, as an event carries it (buffers in base64,
    as the server's streams send them)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def send(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        from nbtrack.server.reads import message

        self.messages.append(message(content, buffers or []))

    def send_bokeh(self) -> None:
        pass  # the page loads BokehJS from /static/bokeh itself

    def on_msg(self, callback: Callable[[Any, dict[str, Any], Any], None]) -> None:
        pass  # a page asks over HTTP (its range URL), answered by `ProjectFeed.answer`

    def take(self) -> list[Message]:
        out, self.messages = self.messages, []
        return out


class _RunStream:
    """One run page's connection: a `StoreFeed` that its stream polls.

    Each event's id is where the store stood once its messages were read,
    ``"<seq>.<hist_seq>.<media_seq>"`` (`StoreFeed.seq`, `hist_seq`, `media_seq`: the store's
    positions of scalar chunks, histograms and media).
    The browser sends it back as Last-Event-ID when it reconnects, and the feed starts from
    there: no gap, no point twice (the page's run state appends what it gets). It is not an
    integer on purpose: the page skips events whose integer id is not above the last, and an
    event with only a new header (the run ended, nothing new logged) keeps its position.

    Its media messages carry the thumbnails' bytes, each once a stream, as a notebook's do:
    a slider then swaps images the page holds. Loaded one by one from ``/media/<name>``
    (`MEDIA_URL`, where the full files come from), a 1,000-step run's thousand thumbnails
    were still coming when the slider moved, and it showed 68% of its frames whole, against
    100% this way (bench/media.py, part page)."""

    def __init__(self, root: Path, path: str, since: tuple[int, int, int]) -> None:
        self.root = root
        self.path = path
        self.since = since
        self.sink = _Messages()
        self.api: Api | None = None
        self.feed: StoreFeed | None = None
        self.running = True

    def poll(self) -> list[Message]:
        """What the store gained since the last poll (the first: everything after `since`)."""
        from nbtrack.api import Api
        from nbtrack.widget._dashboard import StoreFeed

        if self.feed is None:
            try:
                self.api = api = self.api or Api(self.root)
                self.feed = StoreFeed(
                    self.sink,
                    api.run(self.path),
                    follow=False,
                    since=self.since[:2],
                    media_since=self.since[2],
                )
            except BaseException:
                self.sink.take()  # the next try's feed sends it all again
                raise
            self.running = self.feed.record.state == "running"
        else:
            # What a poll that failed half way had sent stays in the sink for the next: the
            # feed's positions are past it already.
            self.running = self.feed.poll()
        return self.sink.take()

    @property
    def position(self) -> str:
        feed = self.feed
        if feed is None:
            return ".".join(map(str, self.since))
        return f"{feed.seq}.{feed.hist_seq}.{feed.media_seq}"

    def close(self) -> None:
        if self.api is not None:
            self.api.close()
            self.api = None


class _ProjectStream:
    """One project page's connection: a following `ProjectFeed` whose thread sends into the
    stream's queue; a zoomed range that this page asks for is answered by the same feed
    (it knows the page's runs), on the asking thread, into that request's answer."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[Message] = asyncio.Queue()
        self.feed: ProjectFeed | None = None
        self.closed = False
        self._lock = threading.Lock()
        self._answers: dict[int, list[Message]] = {}

    # -- what the feed calls ------------------------------------------------------------

    def send(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        from nbtrack.server.reads import message

        msg = message(content, buffers or [])
        answer = self._answers.get(threading.get_ident())
        if answer is not None:
            answer.append(msg)
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: the server is stopping
            self.loop.call_soon_threadsafe(self.queue.put_nowait, msg)

    def send_bokeh(self) -> None:
        pass  # the page loads BokehJS from /static/bokeh itself

    def on_msg(self, callback: Callable[[Any, dict[str, Any], Any], None]) -> None:
        pass  # ranges come over HTTP: `answer`

    # -- what the app calls -------------------------------------------------------------

    def open(self, root: Path, project: str) -> None:
        """Send the project's rows and curves (into the queue as they are made), then follow."""
        from nbtrack.api import Api
        from nbtrack.widget._compare import ProjectFeed

        api = Api(root)
        try:
            feed = ProjectFeed(self, api, project)
        except BaseException:
            api.close()
            raise
        with self._lock:
            self.feed = feed
            closed = self.closed
        if closed:  # the page left while its snapshot was being made
            feed.stop()

    def answer(self, request: dict[str, Any]) -> list[Message] | None:
        """The feed's answer to a range request; None when this stream has no feed (yet, or
        any more)."""
        feed = self.feed
        if feed is None or self.closed:
            return None
        ident = threading.get_ident()
        out: list[Message] = []
        self._answers[ident] = out
        try:
            feed.answer(request)
        finally:
            del self._answers[ident]
        return out if out else None

    def close(self) -> None:
        with self._lock:
            self.closed = True
            feed = self.feed
        if feed is not None:
            feed.stop()  # waits for a round of its thread to end, then closes its Api


class _Streams:
    """The project pages' live streams by page id, so that a page's range requests reach
    its own feed (made once per page, with every run it follows)."""

    def __init__(self) -> None:
        self._by_page: dict[str, _ProjectStream] = {}
        self._lock = threading.Lock()

    def add(self, page: str, stream: _ProjectStream) -> None:
        with self._lock:
            self._by_page.pop(page, None)
            if len(self._by_page) >= MAX_STREAMS:
                del self._by_page[next(iter(self._by_page))]  # the oldest: it answers by fallback
            self._by_page[page] = stream

    def get(self, page: str) -> _ProjectStream | None:
        with self._lock:
            return self._by_page.get(page)

    def remove(self, page: str, stream: _ProjectStream) -> None:
        with self._lock:
            if self._by_page.get(page) is stream:
                del self._by_page[page]


def _range_request(query: Any) -> dict[str, Any]:
    """The `range` request of the page's query string, as `ProjectFeed.answer` takes it."""
    try:
        req: dict[str, Any] = {
            "type": "range",
            **{name: int(query[name]) for name in ("id", "start", "end")},
            "width": int(query.get("width", 800)),
        }
    except KeyError as e:
        raise ValueError(f"a range request needs {e.args[0]}= (an integer)") from None
    except ValueError:
        raise ValueError("id, start, end and width of a range request are integers") from None
    req["runs"] = query.getlist("run")
    req["keys"] = query.getlist("key")
    return req


def _path_parts(request: Request) -> list[str]:
    """The request path's segments, each percent-decoded on its own: a project named
    ``team/a`` comes as one segment ``team%2Fa``."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else quote(request.url.path)
    parts = [unquote(p) for p in path.split("?", 1)[0].split("/")[1:]]
    if parts and parts[-1] == "":
        parts.pop()
    return parts


def create_app(
    dir: str | Path | None = None, *, stopping: Callable[[], bool] = lambda: False
) -> Starlette:
    """The ASGI app of ``nbtrack ui`` for the store at `dir` (default: ``$NBTRACK_DIR`` or
    ``./nbtrack``); its streams end once `stopping()` is true (the server shuts down).

    >>> app = create_app("runs")
    >>> uvicorn.run(app, host="127.0.0.1", port=8090)
    """
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Route

    from nbtrack.api import Api
    from nbtrack.errors import RunNotFoundError
    from nbtrack.server import pages
    from nbtrack.server.live import sse_response
    from nbtrack.server.pages import escape
    from nbtrack.store.media_files import MediaFiles, mime, valid_name

    root = _store_root(dir)  # no store there: StoreNotFoundError, before anything is served
    media_files = MediaFiles(root)
    streams = _Streams()

    def q(name: str) -> str:
        return quote(name, safe="")

    def page(title: str, body: str, status: int = 200) -> Response:
        where = f'<span class="muted" title="the store nbtrack ui serves">{escape(root)}</span>'
        return pages.html_page(title, body, top=where, status=status)

    def not_found(what: str) -> Response:
        return page("Not found", f"<h1>Not found</h1><p>No {escape(what)} in this store.</p>", 404)

    def no_such(what: str) -> Response:
        return JSONResponse({"detail": f"no {what} in this store"}, status_code=404)

    def static(request: Request) -> Response:
        return pages.static_response(request.path_params["path"])

    # -- pages ----------------------------------------------------------------------------

    def projects_page() -> Response:
        with Api(root) as api:
            rows = []
            for name in api.projects():
                runs = api.runs(name)
                running = sum(r.state == "running" for r in runs)
                rows.append(
                    f'<tr><td><a href="/{escape(q(name))}">{escape(name)}</a></td>'
                    f"<td>{len(runs)}</td><td>{running or ''}</td></tr>"
                )
        body = "<h1>Projects</h1>" + (
            "<table><tr><th>Project</th><th>Runs</th><th>Running</th></tr>"
            + "".join(rows)
            + "</table>"
            if rows
            else "<p>No runs in this store yet: <code>nbtrack.init(project=...)</code> "
            "starts one (or <code>nbtrack demo</code>).</p>"
        )
        return page("Projects", body)

    def project_page(project: str) -> Response:
        with Api(root) as api:
            if project not in api.projects():
                return not_found(f"project {project}")
        base = f"/{q(project)}"
        stream = f"{base}/compare/{secrets.token_urlsafe(9)}"
        body = (
            f"<h1>{escape(project)}</h1>"
            + pages.compare_view(
                f"{stream}/events", f"{stream}/range", f"{base}/runs/", f"nbtrack-compare:{project}"
            )
            + pages.view_scripts()
        )
        return page(project, body)

    def run_page(project: str, run_id: str) -> Response:
        try:
            with Api(root) as api:
                rec = api.run(f"{project}/{run_id}")
        except RunNotFoundError:
            return not_found(f"run {project}/{run_id}")
        base = f"/{q(project)}"
        body = (
            f'<p class="muted"><a href="{escape(base)}">{escape(project)}</a></p>'
            + pages.run_view(
                rec.id,
                f"{base}/runs/{q(rec.id)}/events",
                f"nbtrack-layout:{project}",
                {"media-url": MEDIA_URL},
            )
            + pages.view_scripts()
        )
        return page(f"{rec.name} · {project}", body)

    def media_file(name: str) -> Response:
        # Any media file of the store, by its name: the ui serves one person's own store on
        # 127.0.0.1. The name is checked before it becomes a path (no "..", no "/"). Served
        # sandboxed: a logged html page opened by its URL runs in an origin of its own, not
        # the ui's.
        if not valid_name(name) or not media_files.exists(name):
            return Response("no such media file", 404, media_type="text/plain")
        return FileResponse(
            media_files.path(name),
            media_type=mime(name),
            headers={
                "Cache-Control": MEDIA_CACHE,
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "sandbox",
            },
        )

    # -- live streams ---------------------------------------------------------------------

    def run_events(request: Request, project: str, run_id: str) -> Response:
        path = f"{project}/{run_id}"
        try:
            with Api(root) as api:
                api.run(path)
        except RunNotFoundError:
            return no_such(f"run {path}")
        since = _parse_since(request.headers.get("last-event-id"))

        async def events() -> AsyncIterator[str]:
            stream = _RunStream(root, path, since)
            idle = 0.0
            try:
                while not stopping():
                    try:
                        msgs = await run_in_threadpool(stream.poll)
                    except RunNotFoundError:
                        return  # the run was deleted
                    except Exception:  # the store busy a moment: the next round reads again
                        msgs = []
                    if msgs:
                        idle = 0.0
                        yield _event(msgs, stream.position)
                    wait = RUN_POLL_S if stream.running else ENDED_POLL_S
                    idle += wait
                    if idle >= PING_S:
                        idle = 0.0
                        yield ": ping\n\n"
                    await _sleep(wait, stopping)
                    if await request.is_disconnected():
                        return
            finally:
                # No poll is under way: the stream waits for each in full, even when cancelled.
                stream.close()

        return sse_response(events())

    def project_events(request: Request, project: str, page_id: str) -> Response:
        with Api(root) as api:
            if project not in api.projects():
                return no_such(f"project {project}")

        async def events() -> AsyncIterator[str]:
            # No id: a page that reconnects gets the snapshot again, which replaces what it
            # has (rows by run, whole curves), as the server's project stream does.
            loop = asyncio.get_running_loop()
            stream = _ProjectStream(loop)
            streams.add(page_id, stream)
            opening = loop.run_in_executor(None, stream.open, root, project)
            opening.add_done_callback(lambda f: f.cancelled() or f.exception())  # seen, below
            idle = 0.0
            try:
                while not stopping():
                    try:
                        first = await asyncio.wait_for(stream.queue.get(), 1.0)
                    except asyncio.TimeoutError:
                        if opening.done() and opening.exception() is not None:
                            return  # the store could not be read: the page reconnects
                        if await request.is_disconnected():
                            return
                        idle += 1.0
                        if idle >= PING_S:
                            idle = 0.0
                            yield ": ping\n\n"
                        continue
                    idle = 0.0
                    msgs = [first]
                    while not stream.queue.empty():
                        msgs.append(stream.queue.get_nowait())
                    yield _event(msgs)
            finally:
                streams.remove(page_id, stream)
                # The feed's thread may be in a round: stop it without holding up the loop.
                threading.Thread(target=stream.close, name="nbtrack-ui-close").start()

        return sse_response(events())

    def project_range(request: Request, project: str, page_id: str) -> Response:
        try:
            req = _range_request(request.query_params)
        except ValueError as e:
            return JSONResponse({"detail": str(e)}, status_code=400)
        stream = streams.get(page_id)
        msgs = stream.answer(req) if stream is not None else None
        if msgs is None:
            # Not this page's stream (it reconnects, or the ui was restarted): a feed of the
            # asked runs alone answers.
            from nbtrack.widget._compare import ProjectFeed

            sink = _Messages()
            feed = ProjectFeed(sink, Api(root), project, req["runs"], follow=False)
            try:
                sink.take()  # its rows and curves: the page has them
                feed.answer(req)
                msgs = sink.take()
            finally:
                feed.stop()
        return Response(
            json.dumps({"messages": msgs}, separators=(",", ":"), allow_nan=False),
            media_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    def dispatch(request: Request) -> Response:
        parts = _path_parts(request)
        match parts:
            case []:
                return projects_page()
            case ["media", name]:
                return media_file(name)
            case [project]:
                return project_page(project)
            case [project, "runs", run_id]:
                return run_page(project, run_id)
            case [project, "runs", run_id, "events"]:
                return run_events(request, project, run_id)
            case [project, "compare", page_id, "events"]:
                return project_events(request, project, page_id)
            case [project, "compare", page_id, "range"]:
                return project_range(request, project, page_id)
        return not_found(f"page {request.url.path}")

    return Starlette(
        routes=[
            Route("/static/{path:path}", static),
            Route("/{path:path}", dispatch),
        ],
        # Only pages asked for by these names: a web page whose own domain resolves to
        # 127.0.0.1 (DNS rebinding) gets a 400, not the store.
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=[HOST, "localhost"])],
    )


def serve(dir: str | Path | None = None, port: int = DEFAULT_PORT, browser: bool = True) -> int:
    """Serve the store at `dir` on 127.0.0.1:`port` (0: any free port) until Ctrl-C; the
    process's exit code (0 after Ctrl-C).

    >>> nbtrack.ui.serve("runs", port=8090, browser=False)
    """
    try:
        import uvicorn

        import nbtrack.server.pages  # noqa: F401 (fastapi, and the rest of the server extra)
    except ImportError as e:
        print(f"{SERVER_EXTRA} ({e})", file=sys.stderr)
        return 1
    if not 0 <= port <= 65535:
        print(
            f"nbtrack ui: --port {port} is not a port (0 to 65535; 0: any free one)",
            file=sys.stderr,
        )
        return 1

    root = _store_root(dir)  # no store there: StoreNotFoundError, which the command prints
    server: uvicorn.Server | None = None
    app = create_app(root, stopping=lambda: server is not None and server.should_exit)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        sock.listen(128)
    except OSError as e:
        sock.close()
        print(
            f"nbtrack ui: cannot listen on {HOST}:{port} ({e.strerror or e}): pass --port "
            "with a free one, or --port 0 for any",
            file=sys.stderr,
        )
        return 1
    url = f"http://{HOST}:{sock.getsockname()[1]}/"
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            ws="none",
            lifespan="off",
            # A page's stream ends within a second of Ctrl-C (see `stopping`); this is a bound.
            timeout_graceful_shutdown=5,
        )
    )
    print(f"nbtrack ui: serving the store {root} at {url} (Ctrl-C stops it)", flush=True)
    if browser:
        import webbrowser

        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn stops, then raises the Ctrl-C it caught again
        pass
    finally:
        sock.close()
    print("nbtrack ui: stopped", flush=True)
    return 0


def _store_root(dir: str | Path | None) -> Path:
    """The folder of the store `dir` names (``$NBTRACK_DIR`` or ``./nbtrack`` when None)."""
    from nbtrack.api import Api

    with Api(dir) as api:
        return api.dir

"""The server's web pages: sign-in, the projects page, a project's runs, a run's live page.

Pages are plain HTML built here, every value escaped; their one script is the view bundle
(``nbtrack/static/widget.js``, the same file the notebook loads: it mounts the views a page's
HTML asks for), with BokehJS from the installed bokeh package, all from this server: no inline
script, no other origin. Pages take the session cookie only (HttpOnly, SameSite=Lax), never an
API key. `html_page`, `run_view`, `compare_view` and `view_scripts` build the pages of other
hosts alike (share links, ``nbtrack ui``).
"""

from __future__ import annotations

import asyncio
import html
import json
import os
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    RedirectResponse,
    Response,
)
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from nbtrack.server import accounts, compare, media, reads, security
from nbtrack.server.accounts import ANONYMOUS, Viewer
from nbtrack.server.db import Database
from nbtrack.server.live import sse_response

SESSION_COOKIE = "nbtrack_session"
# How often a project page's stream looks for new runs and points.
PROJECT_POLL_S = float(os.environ.get("NBTRACK_SERVER_PROJECT_POLL_S", "1"))
STATIC = Path(__file__).resolve().parent.parent / "static"
# Scripts and connections from this server only: no inline script, no eval (no
# 'unsafe-eval'), no other origin, no framing, no plugins, no <base>. Styles keep
# 'unsafe-inline' because they must: BokehJS adds <style> elements to its shadow roots and
# sets style attributes as it lays out, and the view bundle adds its own <style> (addStyles).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'; object-src 'none'"
)
# Every page's stylesheet (/static/site.css); other hosts (nbtrack ui) serve it too.
SITE_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1f2328;background:#fff}
header.top{display:flex;gap:1em;align-items:center;padding:.6em 1.2em;border-bottom:1px solid #d0d7de}
header.top a{color:inherit;text-decoration:none} main{padding:1em 1.2em;max-width:1400px}
table{border-collapse:collapse} td,th{padding:.3em .8em;border-bottom:1px solid #eaeef2;text-align:left}
form.signin{display:grid;gap:.6em;max-width:20em} .err{color:#cf222e} .muted{color:#656d76}
"""


def escape(text: Any) -> str:
    """`text` as HTML text (quotes too: safe in an attribute value)."""
    return html.escape(str(text), quote=True)


def html_page(
    title: str,
    body: str,
    *,
    top: str = "",
    status: int = 200,
    headers: dict[str, str] | None = None,
    brand: str = "nbtrack",
    home: str | None = "/",
) -> HTMLResponse:
    """A whole page: `body` (HTML) under the bar with `brand` (text; a link to `home`, or
    none when `home` is None) and `top` (HTML) at its right. `title` is text. The headers
    are `page_headers()` unless given."""
    mark = f"<strong>{escape(brand)}</strong>"
    if home is not None:
        mark = f'<a href="{escape(home)}">{mark}</a>'
    doc = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} · nbtrack</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # No icon: else the browser asks for /favicon.ico, and logs its 404 as an error.
        '<link rel="icon" href="data:,">'
        '<link rel="stylesheet" href="/static/site.css"></head><body>'
        f'<header class="top">{mark}'
        f'<span style="flex:1"></span>{top}</header><main>{body}</main></body></html>'
    )
    return HTMLResponse(doc, status_code=status, headers=headers or page_headers())


def _page(title: str, body: str, viewer: Viewer, status: int = 200) -> HTMLResponse:
    who = (
        f'<span class="muted">{escape(viewer.name)}</span>'
        '<form method="post" action="/logout" style="display:inline">'
        '<button type="submit">Sign out</button></form>'
        if not viewer.anonymous
        else '<a href="/login">Sign in</a>'
    )
    return html_page(title, body, top=who, status=status)


def page_headers(referrer: str = "same-origin") -> dict[str, str]:
    """Every page's headers: the strict CSP, no sniffing, no caching, `referrer` policy."""
    return {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": referrer,
        "Cache-Control": "no-store",
    }


BUNDLE_URL = "/static/widget.js"


_BOKEH_FILES = ("bokeh.min.js", "bokeh-api.min.js")


def static_response(path: str) -> Response:
    """The static file `path` (under ``/static/``) of every host's pages: ``site.css``, the
    bundle ``widget.js``, ``bokeh/bokeh.min.js`` and ``bokeh/bokeh-api.min.js``; a 404 for
    anything else (and for a bundle not built)."""
    if path == "site.css":
        return Response(SITE_CSS, media_type="text/css", headers={"Cache-Control": "max-age=3600"})
    if path == BUNDLE_URL.removeprefix("/static/"):
        bundle = STATIC / "widget.js"
        if not bundle.is_file():
            return Response("the view bundle is not built (npm run build)", 404)
        return FileResponse(bundle, media_type="text/javascript")
    name = path.removeprefix("bokeh/")
    if name != path and name in _BOKEH_FILES:
        from nbtrack.widget._bokeh import bokehjs_dir

        return FileResponse(
            bokehjs_dir() / name, media_type="text/javascript",
            headers={"Cache-Control": "max-age=86400"},
        )  # fmt: skip
    return Response("no such file", 404)


def view_scripts() -> str:
    """The bundle, then BokehJS deferred: the bundle opens the live stream while BokehJS
    (deferred, run in order) is still being parsed."""
    return (
        f'<script type="module" src="{BUNDLE_URL}"></script>'
        '<script defer src="/static/bokeh/bokeh.min.js"></script>'
        '<script defer src="/static/bokeh/bokeh-api.min.js"></script>'
    )


def _data(attrs: Mapping[str, str] | None) -> str:
    """More ``data-*`` attributes (names given without the prefix), values escaped."""
    return "".join(f' data-{escape(k)}="{escape(v)}"' for k, v in (attrs or {}).items())


def run_view(
    run_id: str, events: str, layout_key: str, attrs: Mapping[str, str] | None = None
) -> str:
    """Where the bundle mounts a run's dashboard, fed by the SSE stream at `events`; `attrs`
    more data attributes (``{"shares": url}`` gives ``data-shares="url"``; ``media-url``, a
    template holding ``{name}``, is where the page loads the run's media files)."""
    return (
        f'<div data-nbtrack-run data-run-id="{escape(run_id)}" data-events="{escape(events)}"'
        f' data-layout-key="{escape(layout_key)}"{_data(attrs)}></div>'
    )


def compare_view(
    events: str,
    range_url: str,
    run_base: str,
    state_key: str,
    attrs: Mapping[str, str] | None = None,
) -> str:
    """Where the bundle mounts a project's compare view: its SSE stream at `events`, zoomed
    ranges from `range_url`, a run's page at `run_base` + its id; `attrs` as `run_view`'s."""
    return (
        f'<div data-nbtrack-compare data-events="{escape(events)}" data-range="{escape(range_url)}"'
        f' data-run-base="{escape(run_base)}" data-state-key="{escape(state_key)}"'
        f"{_data(attrs)}></div>"
    )


def session_viewer(db: Database, request: Request) -> Viewer:
    """Who a page request is from, by its session cookie (never an API key)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return ANONYMOUS
    with db.read() as conn:
        uid = security.user_for_session(conn, token)
        return ANONYMOUS if uid is None else accounts.viewer(conn, uid)


def same_origin(request: Request) -> bool:
    """False when the request's `Origin` is present and not this server's (its Host):
    what a form or a script on another site sends."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc == request.headers.get("host")


def project_stream(
    request: Request,
    db: Database,
    cursor: compare.ProjectCursor,
    alive: Callable[[], bool] | None = None,
) -> Response:
    """The compare view's live stream of `cursor`'s project: the snapshot, then changes
    every `PROJECT_POLL_S`. `alive` (a share link's page) is asked before each look; the
    stream ends once it says no."""

    async def events() -> AsyncIterator[str]:
        def first() -> list[list[dict[str, Any]]]:
            with db.read() as conn:
                return list(compare.snapshot(conn, cursor))

        def more() -> list[dict[str, Any]] | None:
            if alive is not None and not alive():
                return None
            with db.read() as conn:
                return compare.changes(conn, cursor)

        # No id: a page that reconnects gets the snapshot again (it replaces, see
        # nbtrack/server/compare.py), so there is no position to resume from.
        for msgs in await run_in_threadpool(first):
            yield _sse(msgs)
        idle = 0.0
        while True:
            if await request.is_disconnected():
                return
            await asyncio.sleep(PROJECT_POLL_S)
            got = await run_in_threadpool(more)
            if got is None:
                return
            if got:
                idle = 0.0
                yield _sse(got)
            else:
                idle += PROJECT_POLL_S
                if idle >= 15.0:
                    idle = 0.0
                    yield ": ping\n\n"

    return sse_response(events())


# A step: the database's BIGINT (a larger one would fail there, as a 500).
Step = Annotated[int, Query(ge=-(2**63), le=2**63 - 1)]


@dataclass(frozen=True)
class RangeAsk:
    """A compare view's zoomed range, as its page asks for it (the query string)."""

    id: int
    start: int
    end: int
    width: int
    runs: list[str]
    keys: list[str]


def range_ask(
    id: int,
    start: Step,
    end: Step,
    width: int = 800,
    run: Annotated[list[str] | None, Query()] = None,
    key: Annotated[list[str] | None, Query()] = None,
) -> RangeAsk:
    """The query of every page's ``compare/range`` route (the server's, a link's)."""
    return RangeAsk(id, start, end, width, run or [], key or [])


Ranged = Annotated[RangeAsk, Depends(range_ask)]


def range_response(
    conn: Connection,
    cursor: compare.ProjectCursor,
    ask: RangeAsk,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A zoomed range of the compare view, as JSON (the stream's message format)."""
    msgs = compare.range_answer(
        conn, cursor.project_id, ask.id, ask.runs, ask.keys, ask.start, ask.end, ask.width
    )
    return Response(
        json.dumps({"messages": msgs}, separators=(",", ":"), allow_nan=False),
        media_type="application/json",
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def _sse(messages: list[dict[str, Any]]) -> str:
    data = json.dumps({"messages": messages}, separators=(",", ":"), allow_nan=False)
    return f"event: messages\ndata: {data}\n\n"


def _safe_next(target: str | None) -> str:
    # Only a path on this server: never "//other.site" or "https://...".
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def mount(
    app: FastAPI,
    db: Database,
    settings: Any,
    event_stream: Callable[..., Response],
) -> None:
    def page_viewer(request: Request) -> Viewer:
        return session_viewer(db, request)

    def sign_in_first(request: Request) -> RedirectResponse:
        return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)

    def visible_run(viewer: Viewer, entity: str, project: str, run_id: str) -> Any:
        """The run's row, or None when it is not there or `viewer` may not see it."""
        with db.read() as conn:
            ref = accounts.find_project(conn, viewer, entity, project)
            return reads.run_row(conn, ref.id, run_id) if ref is not None else None

    def missing(viewer: Viewer, request: Request, what: str) -> Response:
        # Signed out: sign in first, whether or not it exists (that tells nothing either).
        if viewer.anonymous:
            return sign_in_first(request)
        return _page("Not found", f"<h1>Not found</h1><p>No {escape(what)} here, or not one "
                     "you may see.</p>", viewer, status=404)  # fmt: skip

    # -- static files ---------------------------------------------------------------

    @app.get("/static/{path:path}", include_in_schema=False)
    def static(path: str) -> Response:
        return static_response(path)

    # -- signing in and out ---------------------------------------------------------

    @app.get("/login", include_in_schema=False)
    def login_form(request: Request, next: str = "/", error: str = "") -> Response:
        err = f'<p class="err">{escape(error)}</p>' if error else ""
        body = (
            f"<h1>Sign in</h1>{err}"
            '<form class="signin" method="post" action="/login">'
            f'<input type="hidden" name="next" value="{escape(_safe_next(next))}">'
            '<label>User <input name="username" autocomplete="username" required></label>'
            '<label>Password <input name="password" type="password" '
            'autocomplete="current-password" required></label>'
            '<button type="submit">Sign in</button></form>'
        )
        return _page("Sign in", body, ANONYMOUS)

    @app.post("/login", include_in_schema=False)
    def login(
        request: Request,
        username: str = Form(..., max_length=64),
        password: str = Form(..., max_length=1024),
        next: str = Form("/", max_length=2000),
    ) -> Response:
        bucket = f"login:{request.client.host if request.client else 'unknown'}"
        with db.read() as conn:
            wait = security.throttled(conn, bucket)
        if wait:
            return _page(
                "Sign in", "<h1>Sign in</h1><p class='err'>Too many failed sign-ins: wait a "
                "minute and try again.</p>", ANONYMOUS, status=429,
            )  # fmt: skip
        uid = accounts.check_login(db, username, password)
        if uid is None:
            with db.write() as conn:
                security.record_failure(conn, bucket)
            query = urlencode({"next": _safe_next(next), "error": "Wrong user or password."})
            return RedirectResponse(f"/login?{query}", status_code=303)
        with db.write() as conn:
            token = security.create_session(conn, uid)
        resp = RedirectResponse(_safe_next(next), status_code=303)
        resp.set_cookie(
            SESSION_COOKIE, token, max_age=int(security.SESSION_S), httponly=True,
            samesite="lax", secure=bool(settings.secure_cookies), path="/",
        )  # fmt: skip
        return resp

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request) -> Response:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            with db.write() as conn:
                security.end_session(conn, token)
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(SESSION_COOKIE, path="/")
        return resp

    # -- pages ----------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    def projects_page(request: Request) -> Response:
        viewer = page_viewer(request)
        if viewer.anonymous:
            return sign_in_first(request)
        with db.read() as conn:
            refs = accounts.readable_projects(conn, viewer)
        rows = "".join(
            f'<tr><td><a href="/{quote(p.entity)}/{quote(p.name)}">{escape(p.entity)}/{escape(p.name)}'
            f"</a></td><td>{'public' if p.public else 'private'}</td></tr>"
            for p in refs
        )
        body = "<h1>Projects</h1>" + (
            f"<table><tr><th>Project</th><th>Access</th></tr>{rows}</table>"
            if rows
            else "<p>No projects yet: log in from a notebook (<code>nbtrack.login()</code>) "
            "and start a run.</p>"
        )
        return _page("Projects", body, viewer)

    def member(conn: Connection, viewer: Viewer, entity: str, project: str) -> bool:
        """Whether `viewer` may write the project: share it, make it public or private, and
        see its runs' private metadata (host, paths, git remote) on its pages."""
        return accounts.find_project(conn, viewer, entity, project, write=True) is not None

    @app.get("/{entity}/{project}", include_in_schema=False)
    def project_page(request: Request, entity: str, project: str) -> Response:
        viewer = page_viewer(request)
        with db.read() as conn:
            ref = accounts.find_project(conn, viewer, entity, project)
            mine = ref is not None and member(conn, viewer, entity, project)
        if ref is None:
            return missing(viewer, request, f"project {entity}/{project}")
        base = f"/{quote(entity)}/{quote(project)}"
        access = ""
        if mine:
            # A form, not a script: the page's CSP runs no inline code. Its POST carries the
            # session cookie only from this site (SameSite=Lax), and the Origin is checked.
            flip = "0" if ref.public else "1"
            access = (
                f'<form class="nbt-public" method="post" action="{escape(base)}/public">'
                f'<span class="muted">{"Public: anyone with the address sees it" if ref.public else "Private to " + escape(entity)}</span> '
                f'<input type="hidden" name="public" value="{flip}">'
                f'<button type="submit">{"Make private" if ref.public else "Make public"}</button>'
                "</form>"
            )  # fmt: skip
        shares = {"shares": f"{base}/shares"} if mine else None
        body = (
            f"<h1>{escape(entity)}/{escape(project)}</h1>"
            + access
            # The compare view: runs table, overlaid curves, parallel coordinates.
            + compare_view(
                f"{base}/compare/events", f"{base}/compare/range", f"{base}/runs/",
                f"nbtrack-compare:{entity}/{project}", shares,
            )
            + view_scripts()
        )  # fmt: skip
        return _page(f"{entity}/{project}", body, viewer)

    @app.post("/{entity}/{project}/public", include_in_schema=False)
    def set_public(
        request: Request, entity: str, project: str, public: str = Form(..., max_length=8)
    ) -> Response:
        viewer = page_viewer(request)
        if viewer.anonymous:
            return sign_in_first(request)
        if not same_origin(request):
            return _page("Refused", "<h1>Refused</h1><p>This form posts from this server's "
                         "own pages only.</p>", viewer, status=403)  # fmt: skip
        if public not in ("0", "1"):
            raise HTTPException(422, "public must be 1 (make it public) or 0 (private)")
        with db.write() as conn:
            ref = accounts.find_project(conn, viewer, entity, project, write=True)
            if ref is not None:
                accounts.set_public(conn, ref.id, public == "1")
        if ref is None:
            return missing(viewer, request, f"project {entity}/{project}")
        return RedirectResponse(f"/{quote(entity)}/{quote(project)}", status_code=303)

    def readable_project(request: Request, entity: str, project: str) -> tuple[Any, bool]:
        """The project and whether the page's viewer is a member (404 when not readable)."""
        viewer = page_viewer(request)
        with db.read() as conn:
            ref = accounts.find_project(conn, viewer, entity, project)
            mine = ref is not None and member(conn, viewer, entity, project)
        if ref is None:
            raise HTTPException(404, f"no project {entity}/{project} here, or not one you may see")
        return ref, mine

    @app.get("/{entity}/{project}/compare/events", include_in_schema=False)
    def project_events(request: Request, entity: str, project: str) -> Response:
        ref, mine = readable_project(request, entity, project)
        # A public project's outside readers see no host, paths or remotes, as a link's do.
        cursor = compare.ProjectCursor(int(ref.id), entity, project, private=mine)
        return project_stream(request, db, cursor)

    @app.get("/{entity}/{project}/compare/range", include_in_schema=False)
    def project_range(request: Request, entity: str, project: str, ask: Ranged) -> Response:
        ref, _ = readable_project(request, entity, project)
        cursor = compare.ProjectCursor(int(ref.id), entity, project)
        with db.read() as conn:
            return range_response(conn, cursor, ask)

    @app.get("/{entity}/{project}/runs/{run_id}", include_in_schema=False)
    def run_page(request: Request, entity: str, project: str, run_id: str) -> Response:
        viewer = page_viewer(request)
        row = visible_run(viewer, entity, project, run_id)
        if row is None:
            return missing(viewer, request, f"run {entity}/{project}/{run_id}")
        with db.read() as conn:
            mine = member(conn, viewer, entity, project)
        base = f"/{quote(entity)}/{quote(project)}/runs/{quote(run_id)}"
        attrs = {"media-url": f"{base}/media/{{name}}"}
        if mine:
            attrs |= {"shares": f"/{quote(entity)}/{quote(project)}/shares", "share-run": run_id}
        body = (
            f'<p class="muted"><a href="/{quote(entity)}/{quote(project)}">{escape(entity)}/'
            f"{escape(project)}</a></p>"
            + run_view(run_id, f"{base}/events", f"nbtrack-layout:{entity}/{project}", attrs)
            + view_scripts()
        )
        return _page(f"{row.name} · {entity}/{project}", body, viewer)

    @app.get("/{entity}/{project}/runs/{run_id}/events", include_in_schema=False)
    def run_page_events(request: Request, entity: str, project: str, run_id: str) -> Response:
        viewer = page_viewer(request)
        row = visible_run(viewer, entity, project, run_id)
        if row is None:
            raise HTTPException(
                404, f"no run {entity}/{project}/{run_id} here, or not one you may see"
            )
        with db.read() as conn:
            mine = member(conn, viewer, entity, project)
        return event_stream(request, int(row.id), entity, project, private=mine)

    @app.get("/{entity}/{project}/runs/{run_id}/media/{name}", include_in_schema=False)
    def run_page_media(
        request: Request, entity: str, project: str, run_id: str, name: str
    ) -> Response:
        """A media file of the run (one its media rows name), for the page's session."""
        viewer = page_viewer(request)
        row = visible_run(viewer, entity, project, run_id)
        if row is None:
            return media.file_response(None)
        with db.read() as conn:
            return media.file_response(media.run_file(conn, int(row.id), name))

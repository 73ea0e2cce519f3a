"""The pages a share link opens, and the share calls of the server's own pages.

``/s/<token>`` checks the token, puts it in a cookie for ``/v/<slug>`` only and sends the
browser to ``/v/<slug>/``: the token leaves the address bar at once, and no later request's
Referer can carry it. Every ``/v/<slug>/...`` request reads the link's row again (a revoked
link closes on every worker at once; there is no cache) and checks that the cookie's link
is the slug's. A link page shows the run's dashboard (a run link) or the project's compare
view and its runs' dashboards (a project link), and nothing else: no way to the project's
own pages, no sign-in, no user or entity name; the run's host, its paths and its git remote
stay hidden unless the link was made with ``show_private``.

The server's run and project pages carry ``data-shares`` for a viewer who may write the
project; the Share panel there calls ``/{entity}/{project}/shares`` with the session cookie,
the header ``X-Nbtrack: 1`` (which no cross-site form can send) and, when the browser says
where it comes from, this server's Origin.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from nbtrack.server import compare, media, reads, security, shares
from nbtrack.server.db import Database
from nbtrack.server.pages import (
    Ranged,
    compare_view,
    escape,
    html_page,
    page_headers,
    project_stream,
    range_response,
    run_view,
    same_origin,
    session_viewer,
    view_scripts,
)
from nbtrack.server.schemas import PageShareIn, ShareCreated, ShareOut
from nbtrack.server.share_api import LinkId
from nbtrack.server.shares import Link

BRAND = "shared by nbtrack"


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def mount(app: FastAPI, db: Database, settings: Any, event_stream: Callable[..., Response]) -> None:
    """Add the link pages and the pages' share calls to `app`: before the pages of
    `nbtrack.server.pages` (``/s/<token>`` would read as a project's page there)."""

    def plain(status: int, title: str, text: str, **headers: str) -> HTMLResponse:
        # One page for every refusal, naming nothing: not the run, not its owner.
        body = f"<h1>{escape(title)}</h1><p>{escape(text)}</p>"
        return html_page(
            title, body, status=status, home=None, brand=BRAND,
            headers={**page_headers("no-referrer"), **headers},
        )  # fmt: skip

    def gone() -> HTMLResponse:
        return plain(
            404,
            "Not found",
            "This link opens nothing: it was revoked, it expired, or it is mistyped.",
        )

    def opened(request: Request, token: str | None, slug: str | None) -> Link | Response:
        """The live link `token` opens (and, with `slug`, the link of that slug); else the
        refusal to send. An unknown token counts against the client's address."""
        bucket = f"share:{_client(request)}"
        with db.read() as conn:
            wait = security.throttled(conn, bucket)
            state, link = shares.open_link(conn, token) if token and not wait else ("dead", None)
        if wait:
            return plain(
                429, "Too many tries", "Too many links that open nothing came from here: "
                "wait a minute and try again.", **{"Retry-After": str(int(wait) + 1)},
            )  # fmt: skip
        if link is not None and (slug is None or link.slug == slug):
            return link
        if state == "unknown" or link is not None:  # a guess, or a cookie moved to a slug
            with db.write() as conn:
                security.record_failure(conn, bucket)
        return gone()

    def link_of(request: Request, slug: str) -> Link | Response:
        if not security.slug_like(slug):
            return gone()
        return opened(request, request.cookies.get(shares.LINK_COOKIE), slug)

    def still(link_id: int) -> Callable[[], bool]:
        def alive() -> bool:
            with db.read() as conn:
                link = shares.link_by_id(conn, link_id)
            return link is not None and link.live()

        return alive

    def run_row(link: Link, run_id: str) -> Any:
        with db.read() as conn:
            return reads.run_row(conn, link.project_id, run_id)

    def cursor(link: Link) -> compare.ProjectCursor:
        return compare.ProjectCursor(
            link.project_id, link.entity, link.project, run_base=f"/v/{link.slug}/runs/",
            show_entity=False, private=link.show_private,
        )  # fmt: skip

    def page(title: str, body: str) -> HTMLResponse:
        return html_page(
            title, body, top=f"<span>{escape(title)}</span>", home=None, brand=BRAND,
            headers=page_headers("no-referrer"),
        )  # fmt: skip

    def dashboard(link: Link, row: Any, base: str, back: bool) -> HTMLResponse:
        """The run's dashboard; `base` the link's address of the run (its ``/events`` and
        ``/media/{name}`` beside it)."""
        up = f'<p class="muted"><a href="/v/{escape(link.slug)}/">{escape(link.project)}</a></p>'
        view = run_view(
            str(row.run_id), f"{base}/events", f"nbtrack-layout:share:{link.slug}",
            {"media-url": f"{base}/media/{{name}}"},
        )  # fmt: skip
        body = (up if back else "") + view + view_scripts()
        return page(str(row.name), body)

    # -- the link -----------------------------------------------------------------------

    @app.get("/s/{token}", include_in_schema=False)
    def open_share(request: Request, token: str) -> Response:
        link = opened(request, token, None)
        if not isinstance(link, Link):
            return link
        resp = RedirectResponse(f"/v/{link.slug}/", status_code=303)
        left = shares.LINK_COOKIE_S
        if link.expires_at is not None:
            left = min(left, link.expires_at - time.time())
        resp.set_cookie(
            shares.LINK_COOKIE, token, max_age=max(1, int(left)), httponly=True,
            samesite="lax", secure=bool(settings.secure_cookies), path=f"/v/{link.slug}",
        )  # fmt: skip
        resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.get("/v/{slug}", include_in_schema=False)
    def slash(slug: str) -> Response:
        if not security.slug_like(slug):
            return gone()
        return RedirectResponse(f"/v/{slug}/", status_code=303)

    @app.get("/v/{slug}/", include_in_schema=False)
    def link_page(request: Request, slug: str) -> Response:
        link = link_of(request, slug)
        if not isinstance(link, Link):
            return link
        if link.run_id is not None:
            row = run_row(link, link.run_id)
            if row is None:
                return gone()
            return dashboard(link, row, f"/v/{slug}", back=False)
        base = f"/v/{slug}"
        view = compare_view(
            f"{base}/compare/events", f"{base}/compare/range", f"{base}/runs/",
            f"nbtrack-compare:share:{slug}",
        )  # fmt: skip
        body = view + view_scripts()
        return page(link.project, body)

    def project_link(request: Request, slug: str) -> Link | Response:
        link = link_of(request, slug)
        if isinstance(link, Link) and link.run_id is not None:
            return gone()  # a run link reaches its run alone
        return link

    def linked_run(request: Request, slug: str, run_id: str | None) -> tuple[Link, Any] | Response:
        """The link and its run: a run link's own (`run_id` None), or run `run_id` of a
        project link's project; else the refusal to send."""
        link = link_of(request, slug) if run_id is None else project_link(request, slug)
        if not isinstance(link, Link):
            return link
        wanted = link.run_id if run_id is None else run_id
        row = run_row(link, wanted) if wanted is not None else None
        return gone() if row is None else (link, row)

    def run_stream(request: Request, found: tuple[Link, Any] | Response) -> Response:
        """The run's live stream, as the link shows it (no entity; private metadata only
        with `show_private`), ending once the link is revoked or expires."""
        if not isinstance(found, tuple):
            return found
        link, row = found
        return event_stream(
            request, int(row.id), link.entity, link.project, label=link.project,
            private=link.show_private, alive=still(link.id),
        )  # fmt: skip

    @app.get("/v/{slug}/events", include_in_schema=False)
    def link_events(request: Request, slug: str) -> Response:
        return run_stream(request, linked_run(request, slug, None))

    def run_media(found: tuple[Link, Any] | Response, name: str) -> Response:
        """A media file of the link's run: only one that run's media rows name."""
        if not isinstance(found, tuple):
            return found
        _, row = found
        with db.read() as conn:
            got = media.run_file(conn, int(row.id), name)
        return media.file_response(got)

    @app.get("/v/{slug}/media/{name}", include_in_schema=False)
    def link_media(request: Request, slug: str, name: str) -> Response:
        return run_media(linked_run(request, slug, None), name)

    @app.get("/v/{slug}/runs/{run_id}/media/{name}", include_in_schema=False)
    def link_run_media(request: Request, slug: str, run_id: str, name: str) -> Response:
        return run_media(linked_run(request, slug, run_id), name)

    @app.get("/v/{slug}/compare/events", include_in_schema=False)
    def link_project_events(request: Request, slug: str) -> Response:
        link = project_link(request, slug)
        if not isinstance(link, Link):
            return link
        return project_stream(request, db, cursor(link), alive=still(link.id))

    @app.get("/v/{slug}/compare/range", include_in_schema=False)
    def link_project_range(request: Request, slug: str, ask: Ranged) -> Response:
        link = project_link(request, slug)
        if not isinstance(link, Link):
            return link
        with db.read() as conn:
            return range_response(conn, cursor(link), ask)

    @app.get("/v/{slug}/runs/{run_id}", include_in_schema=False)
    def link_run_page(request: Request, slug: str, run_id: str) -> Response:
        found = linked_run(request, slug, run_id)
        if not isinstance(found, tuple):
            return found
        link, row = found
        return dashboard(link, row, f"/v/{slug}/runs/{quote(run_id, safe='')}", back=True)

    @app.get("/v/{slug}/runs/{run_id}/events", include_in_schema=False)
    def link_run_events(request: Request, slug: str, run_id: str) -> Response:
        return run_stream(request, linked_run(request, slug, run_id))

    # -- the Share panel of the server's own pages ---------------------------------------

    def page_caller(request: Request) -> shares.Caller | Response:
        if request.headers.get("x-nbtrack") != "1" or not same_origin(request):
            return JSONResponse(
                {"detail": "this call comes from this server's own pages only (same Origin, "
                 "with the header X-Nbtrack: 1)"},
                status_code=403,
            )  # fmt: skip
        viewer = session_viewer(db, request)
        if viewer.anonymous:
            return JSONResponse({"detail": "sign in first"}, status_code=401)
        return shares.Caller(viewer)

    def refused(e: shares.NotShared) -> JSONResponse:
        return JSONResponse({"detail": str(e)}, status_code=404)

    @app.get("/{entity}/{project}/shares", include_in_schema=False)
    def page_list(
        request: Request,
        entity: str,
        project: str,
        run_id: Annotated[str | None, Query(max_length=64)] = None,
    ) -> Response:
        caller = page_caller(request)
        if not isinstance(caller, shares.Caller):
            return caller
        try:
            with db.read() as conn:
                links = shares.list_links(conn, caller, entity, project, run_id)
        except shares.NotShared as e:
            return refused(e)
        return JSONResponse([ShareOut(**link.reply()).model_dump() for link in links])

    @app.post("/{entity}/{project}/shares", include_in_schema=False)
    def page_create(request: Request, entity: str, project: str, body: PageShareIn) -> Response:
        caller = page_caller(request)
        if not isinstance(caller, shares.Caller):
            return caller
        if body.entity not in (None, entity) or body.project not in (None, project):
            return JSONResponse(
                {"detail": f"this page shares {entity}/{project} only"}, status_code=422
            )
        try:
            with db.write() as conn:
                token, link = shares.create_link(
                    conn, caller, entity, project, body.run_id, body.expires_in_s,
                    body.show_private,
                )  # fmt: skip
        except shares.NotShared as e:
            return refused(e)
        out = ShareCreated(**link.reply(), token=token, path=shares.link_path(token))
        return JSONResponse(out.model_dump(), status_code=201)

    @app.delete("/{entity}/{project}/shares/{link_id}", include_in_schema=False)
    def page_revoke(
        request: Request,
        entity: str,
        project: str,
        link_id: LinkId,
    ) -> Response:
        caller = page_caller(request)
        if not isinstance(caller, shares.Caller):
            return caller
        try:
            with db.write() as conn:
                ref = caller.project(conn, entity, project)
                shares.revoke_link(conn, caller, link_id, project_id=ref.id)
        except shares.NotShared as e:
            return refused(e)
        return Response(status_code=204)

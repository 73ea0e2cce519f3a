"""The share part of the API (``/api/v1/shares``, ``/api/v1/share-grants``, a project's
``public`` flag) and the headers of what a share touches: CORS on the share-link routes, and
``Referrer-Policy: no-referrer`` on a link's pages. `create_app` mounts the routes
(`mount`) and adds the middleware (`ShareHeaders`); the rules are in
`nbtrack.server.shares`, the link's own pages in `nbtrack.server.share_pages`.

The share-link routes take an API key or a share grant (`share_caller`); the rest of the
API takes a key only (`nbtrack.server.app.key_auth` refuses a grant as a bad key).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nbtrack.server import accounts, security, shares
from nbtrack.server.app import (
    _BODIED,
    _NAMED,
    Authed,
    Keyed,
    _bearer_token,
    _check_run_id,
    _client_address,
    _refuse_throttled,
    bearer,
)
from nbtrack.server.db import Database
from nbtrack.server.schemas import (
    GrantIn,
    GrantOut,
    ProjectOut,
    PublicIn,
    ShareCreated,
    ShareIn,
    ShareOut,
)

if TYPE_CHECKING:
    from nbtrack.server.app import Settings


def share_caller(request: Request) -> shares.Caller:
    """An API key's user, or a share grant (`nbtrack.server.shares`): the two credentials
    the share-link routes take."""
    token = _bearer_token(request)
    if token is None or not token.startswith(security.GRANT_PREFIX):
        return shares.Caller(bearer(request))
    db: Database = request.app.state.db
    bucket = f"key:{_client_address(request)}"
    with db.read() as conn:
        wait = security.throttled(conn, bucket)
        grant = shares.live_grant(conn, token) if not wait else None
        v = accounts.viewer(conn, grant.user_id) if grant is not None else None
    if wait:
        raise _refuse_throttled(wait, "API key or share grant")
    if grant is None or v is None:
        with db.write() as conn:
            security.record_failure(conn, bucket)
        raise HTTPException(
            401,
            "this share grant is not valid: it expired (they last an hour: ask for a new "
            "one), its key was revoked, or it was mistyped",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return shares.Caller(v, grant)


Sharing = Annotated[shares.Caller, Depends(share_caller)]
# A link's number: the database's INTEGER (a larger one would fail there, as a 500).
LinkId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


@contextmanager
def _shared() -> Iterator[None]:
    try:
        yield
    except shares.NotShared as e:
        raise HTTPException(404, str(e)) from None


def mount(app: FastAPI, db: Database, settings: Settings) -> None:
    """Add the share routes to `app`, in the schema's order (after the projects list)."""

    @app.put(
        "/api/v1/projects/{entity}/{project}/public",
        response_model=ProjectOut,
        tags=["share"],
        responses=_BODIED,
    )
    def put_public(v: Authed, entity: str, project: str, body: PublicIn) -> ProjectOut:
        """Make the project public (its run and project pages open without a sign-in) or
        private again; only a member of the project's entity may."""
        with db.write() as conn:
            ref = accounts.find_project(conn, v, entity, project, write=True)
            if ref is None:
                raise HTTPException(
                    404, f"no project {entity}/{project} here, or not one you may see"
                )
            accounts.set_public(conn, ref.id, body.public)
        return ProjectOut(entity=entity, name=project, public=body.public)

    @app.post(
        "/api/v1/shares",
        status_code=201,
        response_model=ShareCreated,
        tags=["share"],
        responses=_BODIED,
    )
    def post_share(caller: Sharing, body: ShareIn) -> ShareCreated:
        """A read-only link to one run (`run_id`), or to the project (`run_id` null): open
        it at the server's address + `path`. The token is in this reply only."""
        with db.write() as conn, _shared():
            token, link = shares.create_link(
                conn, caller, body.entity, body.project, body.run_id, body.expires_in_s,
                body.show_private,
            )  # fmt: skip
        return ShareCreated(**link.reply(), token=token, path=shares.link_path(token))

    @app.get("/api/v1/shares", response_model=list[ShareOut], tags=["share"], responses=_NAMED)
    def get_shares(
        caller: Sharing,
        entity: Annotated[str, Query(max_length=64)],
        project: Annotated[str, Query(max_length=128)],
        run_id: Annotated[str | None, Query(max_length=64)] = None,
    ) -> list[ShareOut]:
        """The live links (not revoked, not expired) of run `run_id`, or of the project and
        all its runs, newest first."""
        with db.read() as conn, _shared():
            links = shares.list_links(conn, caller, entity, project, run_id)
        return [ShareOut(**link.reply()) for link in links]

    @app.delete("/api/v1/shares/{link_id}", status_code=204, tags=["share"], responses=_NAMED)
    def delete_share(caller: Sharing, link_id: LinkId) -> Response:
        """Revoke a link: from now on it opens nothing, on every worker, and the pages open
        through it stop."""
        with db.write() as conn, _shared():
            shares.revoke_link(conn, caller, link_id)
        return Response(status_code=204)

    @app.post(
        "/api/v1/share-grants",
        status_code=201,
        response_model=GrantOut,
        tags=["share"],
        responses=_BODIED,
    )
    def post_share_grant(auth: Keyed, body: GrantIn) -> GrantOut:
        """A short-lived credential (an hour) for a notebook page: it creates, lists and
        revokes the share links of the run (which need not exist yet), or of the project and
        its runs, and nothing else. Only an API key makes one, never a grant."""
        if body.run_id is not None:
            _check_run_id(body.run_id)
        with db.write() as conn, _shared():
            token, grant, ref = shares.create_grant(
                conn, auth.viewer, auth.key_id, body.entity, body.project, body.run_id,
                settings.grant_s,
            )  # fmt: skip
        return GrantOut(
            token=token, expires_at=grant.expires_at, scope=grant.scope, entity=ref.entity,
            project=ref.name, run_id=grant.run_id,
        )  # fmt: skip


_CORS_PATH = re.compile(r"^/api/v1/shares(/[^/]+)?$")
_CORS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-headers", b"authorization, content-type"),
    (b"access-control-allow-methods", b"GET, POST, DELETE"),
]


class ShareHeaders:
    """CORS on the share-link routes only: a notebook page on another origin calls them with
    a share grant in its Authorization header (no cookie: no credentials are allowed, and a
    grant reaches nothing else). And ``Referrer-Policy: no-referrer`` on every response of a
    link's pages (``/s/...``, ``/v/...``): neither the token nor the slug leaves in a Referer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        extra: list[tuple[bytes, bytes]] = []
        if _CORS_PATH.match(path):
            if scope["method"] == "OPTIONS":  # the preflight: answered here, never routed
                headers = [*_CORS, (b"access-control-max-age", b"600"), (b"content-length", b"0")]
                await send({"type": "http.response.start", "status": 204, "headers": headers})
                await send({"type": "http.response.body", "body": b""})
                return
            extra = _CORS
        elif path.startswith(("/s/", "/v/")):
            extra = [(b"referrer-policy", b"no-referrer")]
        if not extra:
            await self.app(scope, receive, send)
            return
        names = {n for n, _ in extra}

        async def send_with(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(n, v) for n, v in message.get("headers", []) if n.lower() not in names]
                message = {**message, "headers": [*kept, *extra]}
            await send(message)

        await self.app(scope, receive, send_with)

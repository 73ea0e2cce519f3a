"""The server's ASGI application: `create_app(settings)`.

The API (``/api/v1``) takes only ``Authorization: Bearer <key>``; the pages take only the
session cookie. Neither accepts the other's credential, so a page can never be made to call
the API with the user's rights by another site (the cookie is never sent as a key).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nbtrack import _envelope as envelope
from nbtrack._json import finite
from nbtrack.server import accounts, compare, ingest, media, reads, security, shares
from nbtrack.server.accounts import Viewer
from nbtrack.server.db import Database
from nbtrack.server.live import Notifier, PgListener, libpq_dsn, sse_response
from nbtrack.server.schemas import (
    ErrorOut,
    Health,
    HighWater,
    HistogramEntryOut,
    HistogramsOut,
    IngestReply,
    KeysOut,
    MediaFileStored,
    MediaHaveIn,
    MediaHaveOut,
    MediaRowOut,
    MediaRowsIn,
    MediaSinceOut,
    ProjectOut,
    RunFields,
    RunOut,
    RunUpsertReply,
    SeriesOut,
    SinceOut,
    SyncState,
    ViewerOut,
    storable,
)
from nbtrack.sync import frames

# Bodies: a frame holds at most about 8 MiB of blobs (the client's limit), compressed.
MAX_FRAME_BYTES = 16 << 20
MAX_JSON_BYTES = 4 << 20
# Live streams: a comment this often keeps proxies from closing an idle stream; and a look
# at the database this often, whatever the notifications say.
PING_S = 15.0
POLL_S = float(os.environ.get("NBTRACK_SERVER_POLL_S", "2"))  # tests raise it: notifications only
KEY_USE_S = 300.0
# A share link's live streams look at the link this often: a revoked link's streams end.
LINK_CHECK_S = 2.0


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    # Behind a proxy that terminates TLS: mark cookies Secure.
    secure_cookies: bool = False
    # How long a share grant lasts (tests shorten it).
    grant_s: float = shares.GRANT_S

    @classmethod
    def from_env(cls) -> Settings:
        """What `nbtrack server` hands its worker processes (uvicorn imports the app anew)."""
        return cls(
            database_url=os.environ["NBTRACK_SERVER_DATABASE_URL"],
            data_dir=Path(os.environ.get("NBTRACK_SERVER_DATA", ".")),
            secure_cookies=os.environ.get("NBTRACK_SERVER_SECURE_COOKIES") == "1",
            grant_s=float(os.environ.get("NBTRACK_SERVER_GRANT_S", shares.GRANT_S)),
        )


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@dataclass(frozen=True)
class KeyAuth:
    """Who a request's API key belongs to, and which key it is."""

    viewer: Viewer
    key_id: int


def _bearer_token(request: Request) -> str | None:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" and key.strip() else None


def _refuse_throttled(wait: float, what: str) -> HTTPException:
    return HTTPException(
        429,
        f"too many requests with a bad {what}; wait and try again",
        headers={"Retry-After": str(int(wait) + 1)},
    )


def key_auth(request: Request) -> KeyAuth:
    """The user whose API key the request carries, and the key; 401 without a valid one (a
    share grant is no API key: it is refused here as a bad one)."""
    db: Database = request.app.state.db
    key = _bearer_token(request)
    bucket = f"key:{_client_address(request)}"
    # One transaction for the throttle, the key and its user: this runs on every request.
    with db.read() as conn:
        wait = security.throttled(conn, bucket)
        found = security.live_key(conn, key) if key and not wait else None
        v = accounts.viewer(conn, found.user_id) if found is not None else None
    if wait:
        raise _refuse_throttled(wait, "API key")
    if not key:
        raise HTTPException(
            401,
            "this API needs an API key: Authorization: Bearer <key> (nbtrack login)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if found is not None and v is not None:
        # Written at most every few minutes, not with every upload: `list-keys` shows it.
        if found.last_used_at is None or time.time() - found.last_used_at > KEY_USE_S:
            with db.write() as conn:
                security.mark_used(conn, found.id)
        return KeyAuth(v, found.id)
    with db.write() as conn:
        # A live share grant sent to an endpoint it does not open is a mistake, not a guess.
        if not (key.startswith(security.GRANT_PREFIX) and shares.live_grant(conn, key)):
            security.record_failure(conn, bucket)
    if key.startswith(security.GRANT_PREFIX):
        detail = (
            "a share grant is no API key: it only creates, lists and revokes share links "
            "(/api/v1/shares)"
        )
    else:
        detail = (
            "this API key is not valid: it was revoked, or mistyped; make a new one with "
            "`nbtrack server create-key` on the server, then `nbtrack login`"
        )
    raise HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def bearer(request: Request) -> Viewer:
    """The user whose API key the request carries; 401 without a valid one."""
    return key_auth(request).viewer


Authed = Annotated[Viewer, Depends(bearer)]
Keyed = Annotated[KeyAuth, Depends(key_auth)]

_REFUSALS = {
    400: "the body cannot be read (not JSON, or a malformed frame): the message says why",
    401: "no API key, or not a valid one (revoked, or mistyped)",
    404: "not there, or not visible to this key's user (never 403: what one may not see "
    "does not exist, as far as one is told)",
    409: "a chunk (or a media row) differs from the one stored at its place, or media rows "
    "name files not uploaded yet",
    413: "the body is too large",
    429: "too many requests with a bad API key from this address: wait Retry-After seconds",
}


def _refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Refusals a route may answer, for the schema; their body is `{"detail": why}`."""
    return {c: {"model": ErrorOut, "description": _REFUSALS[c]} for c in codes}


_KEYED = _refusals(401, 429)
_NAMED = _refusals(401, 404, 429)
_BODIED = _refusals(400, 401, 404, 429)  # with a JSON body, which may not parse


def create_app(settings: Settings) -> FastAPI:
    db = Database(settings.database_url)
    notifier = Notifier()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        notifier.bind(asyncio.get_running_loop())
        listener = None
        if not db.sqlite:
            listener = PgListener(libpq_dsn(settings.database_url), notifier)
            listener.start()
        try:
            yield
        finally:
            if listener is not None:
                listener.stop()
            db.dispose()

    app = FastAPI(
        title="nbtrack server",
        version="1",
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        dependencies=[Depends(_no_nul)],
    )
    app.state.db = db  # for `bearer`, a dependency outside this closure

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        # Without the input, which FastAPI's own handler echoes: a lone surrogate (JSON can
        # spell one, "\ud800"), a NaN or deep nesting in it failed that reply itself, as a
        # 500; and a body of megabytes came back whole.
        detail = [{"type": e["type"], "loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        return Response(
            json.dumps({"detail": detail}, ensure_ascii=True),
            status_code=422,
            media_type="application/json",
        )

    def not_found(what: str) -> HTTPException:
        return HTTPException(404, f"no {what} here, or not one you may see")

    def readable_project(conn: Any, v: Viewer, entity: str, project: str) -> accounts.ProjectRef:
        ref = accounts.find_project(conn, v, entity, project)
        if ref is None:
            raise not_found(f"project {entity}/{project}")
        return ref

    @contextmanager
    def reading_run(
        v: Viewer, entity: str, project: str, run_id: str, *, write: bool = False
    ) -> Iterator[tuple[Connection, Any]]:
        """The run's row, with the read transaction that found it (so the route's own reads
        need no second one); 404 when `v` may not read it (or, with `write`, write to it)."""
        with db.read() as conn:
            if write:
                ref = accounts.find_project(conn, v, entity, project, write=True)
                row = reads.run_row(conn, ref.id, run_id) if ref is not None else None
                if row is None:
                    raise not_found(f"run {entity}/{project}/{run_id} (create it with PUT first)")
            else:
                row = reads.run_row(conn, readable_project(conn, v, entity, project).id, run_id)
                if row is None:
                    raise not_found(f"run {entity}/{project}/{run_id}")
            yield conn, row

    def readable_run(v: Viewer, entity: str, project: str, run_id: str) -> Any:
        with reading_run(v, entity, project, run_id) as (_, row):
            return row

    def writable_run(v: Viewer, entity: str, project: str, run_id: str) -> Any:
        with reading_run(v, entity, project, run_id, write=True) as (_, row):
            return row

    # -- the API ---------------------------------------------------------------------

    # Imported here: it takes this module's credentials (`bearer`, `key_auth`).
    from nbtrack.server import share_api

    app.add_middleware(_LimitJsonBodies)
    app.add_middleware(share_api.ShareHeaders)

    @app.get("/api/v1/health", response_model=Health, tags=["auth"])
    def health() -> Health:
        """Whether the server and its database answer (no key needed)."""
        with db.read() as conn:
            conn.exec_driver_sql("SELECT 1")
        return Health(ok=True, database=db.dialect)

    @app.get("/api/v1/viewer", response_model=ViewerOut, tags=["auth"], responses=_KEYED)
    def get_viewer(v: Authed) -> ViewerOut:
        """Who this key belongs to, and the entities it may log to."""
        with db.read() as conn:
            return ViewerOut(user=str(v.name), entities=accounts.entity_names(conn, v))

    @app.get("/api/v1/projects", response_model=list[ProjectOut], tags=["read"], responses=_KEYED)
    def list_projects(v: Authed) -> list[ProjectOut]:
        with db.read() as conn:
            refs = accounts.readable_projects(conn, v)
        return [ProjectOut(entity=p.entity, name=p.name, public=p.public) for p in refs]

    # The share routes (the public flag, links, grants) here: the schema keeps its order.
    share_api.mount(app, db, settings)

    @app.get(
        "/api/v1/projects/{entity}/{project}/runs",
        response_model=list[RunOut],
        tags=["read"],
        responses=_NAMED,
    )
    def list_runs(
        v: Authed,
        entity: str,
        project: str,
        state: Annotated[str | None, Query(max_length=32)] = None,
        tag: Annotated[list[str] | None, Query(max_length=64)] = None,
        config: Annotated[
            list[str] | None,
            Query(description='key=JSON value, e.g. lr=0.001 or opt="adam"', max_length=64),
        ] = None,
    ) -> list[RunOut]:
        """The runs of a project, oldest first; filters combine with AND."""
        wanted: dict[str, Any] = {}
        for item in config or ():
            name, eq, raw = item.partition("=")
            if not eq:
                raise _invalid("query", "config", f"config filter {item!r} must be key=value", item)
            try:
                wanted[name] = json.loads(raw)
            except ValueError:
                wanted[name] = raw
        with db.read() as conn:
            ref = readable_project(conn, v, entity, project)
            rows = reads.run_rows(conn, ref.id)
        out = []
        for row in rows:
            d = reads.run_dict(row, entity, project)
            if state is not None and d["state"] != state:
                continue
            if tag and not set(tag) <= set(d["tags"]):
                continue
            if any(_config_value(d["config"], k) != val for k, val in wanted.items()):
                continue
            out.append(RunOut(**d))
        return out

    @app.put(
        "/api/v1/runs/{entity}/{project}/{run_id}",
        response_model=RunUpsertReply,
        tags=["sync"],
        responses=_refusals(400, 401, 404, 413, 429),
    )
    def put_run(v: Authed, entity: str, project: str, run_id: str, body: RunFields) -> Any:
        """Create the run under the client's id, or update its fields (idempotent)."""
        _check_run_id(run_id)
        fields = body.stored()
        ref: accounts.ProjectRef | None = None
        for attempt in range(2):
            try:
                with db.write() as conn:
                    ref = accounts.project_for_writing(conn, v, entity, project)
                if ref is None:
                    raise not_found(f"entity {entity} (or you may not log to it)")
                assert v.user_id is not None
                pk, _seq, created = ingest.upsert_run(db, ref.id, run_id, v.user_id, fields)
                break
            except IntegrityError:  # another worker made the project or the run just now
                if attempt:
                    raise
        assert ref is not None
        if db.sqlite:
            notifier.publish(pk)
        with db.read() as conn:
            row = reads.run_row(conn, ref.id, run_id)
            marks = ingest.high_water(conn, pk)
        return RunUpsertReply(
            run=RunOut(**reads.run_dict(row, entity, project)),
            created=created,
            high_water=HighWater(**marks),
        )

    @app.get(
        "/api/v1/runs/{entity}/{project}/{run_id}",
        response_model=RunOut,
        tags=["read"],
        responses=_NAMED,
    )
    def get_run(v: Authed, entity: str, project: str, run_id: str) -> RunOut:
        row = readable_run(v, entity, project, run_id)
        return RunOut(**reads.run_dict(row, entity, project))

    @app.get(
        "/api/v1/runs/{entity}/{project}/{run_id}/sync-state",
        response_model=SyncState,
        tags=["sync"],
        responses=_NAMED,
    )
    def sync_state(v: Authed, entity: str, project: str, run_id: str) -> SyncState:
        """What the server has of the run: per key, the last client sequence number stored."""
        with reading_run(v, entity, project, run_id, write=True) as (conn, row):
            marks = ingest.high_water(conn, int(row.id))
        return SyncState(
            ingest_seq=int(row.ingest_seq),
            updated_at=float(row.updated_at),
            high_water=HighWater(**marks),
        )

    @app.post(
        "/api/v1/runs/{entity}/{project}/{run_id}/chunks",
        response_model=IngestReply,
        tags=["sync"],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    frames.CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}
                },
            }
        },
        responses=_refusals(400, 401, 404, 409, 413, 429),
    )
    async def post_chunks(
        request: Request, v: Authed, entity: str, project: str, run_id: str
    ) -> Any:
        """Store a frame of chunks (see `nbtrack.sync.frames`); a resend is acknowledged."""
        body = await _read_body(request, MAX_FRAME_BYTES)

        def work() -> tuple[int, ingest.IngestResult]:
            # Off the event loop: unpacking and checking a frame of 8 MiB takes tens of ms,
            # which would hold up every live stream of this worker.
            try:
                chunks = frames.decode(body)
            except frames.FrameError as e:
                raise HTTPException(400, f"bad frame: {e}") from None
            except RecursionError:  # json's own error for nesting past Python's stack
                raise HTTPException(400, "bad frame: its JSON is nested too deeply") from None
            bad = next((c.key for c in chunks if not storable(c.key)), None)
            if bad is not None:
                raise HTTPException(400, f"bad frame: key {bad!r} holds a NUL or a lone surrogate")
            row = writable_run(v, entity, project, run_id)
            return int(row.id), ingest.store_chunks(db, int(row.id), chunks)

        try:
            run_pk, result = await run_in_threadpool(work)
        except ingest.Conflict as e:
            return JSONResponse({"detail": str(e)}, status_code=409)
        if db.sqlite and result.accepted:
            notifier.publish(run_pk)
        return IngestReply(
            ingest_seq=result.ingest_seq,
            accepted=result.accepted,
            duplicates=result.duplicates,
            high_water=HighWater(**result.high_water),
        )

    # -- media ---------------------------------------------------------------------

    @app.post(
        "/api/v1/runs/{entity}/{project}/{run_id}/media/have",
        response_model=MediaHaveOut,
        tags=["sync"],
        responses=_BODIED,
    )
    def post_media_have(
        v: Authed, entity: str, project: str, run_id: str, body: MediaHaveIn
    ) -> MediaHaveOut:
        """Which of these media files the server holds already (their bytes need not come)."""
        with reading_run(v, entity, project, run_id, write=True) as (conn, _):
            return MediaHaveOut(have=media.have_files(conn, body.names))

    @app.put(
        "/api/v1/runs/{entity}/{project}/{run_id}/media/{name}",
        response_model=MediaFileStored,
        tags=["sync"],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        },
        responses=_refusals(400, 401, 404, 413, 429),
    )
    async def put_media_file(
        request: Request, v: Authed, entity: str, project: str, run_id: str, name: str
    ) -> MediaFileStored:
        """Store a media file under its name, the SHA-256 of its bytes and its extension
        (kept once: a resend stores nothing); at most 64 MiB."""
        body = await _read_body(request, media.MAX_FILE_BYTES)

        def work() -> bool:
            why = media.check_file(name, body)
            if why is not None:
                raise HTTPException(400, why)
            writable_run(v, entity, project, run_id)
            return media.put_file(db, name, body)

        created = await run_in_threadpool(work)
        return MediaFileStored(name=name, size=len(body), created=created)

    @app.post(
        "/api/v1/runs/{entity}/{project}/{run_id}/media",
        response_model=IngestReply,
        tags=["sync"],
        responses=_refusals(400, 401, 404, 409, 413, 429),
    )
    def post_media(v: Authed, entity: str, project: str, run_id: str, body: MediaRowsIn) -> Any:
        """Store media rows (after their files: PUT .../media/{name}); a resend is
        acknowledged, never stored twice."""
        row = writable_run(v, entity, project, run_id)
        try:
            result = media.store_rows(db, int(row.id), body.rows)
        except (ingest.Conflict, media.MissingFiles) as e:
            return JSONResponse({"detail": str(e)}, status_code=409)
        if db.sqlite and result.accepted:
            notifier.publish(int(row.id))
        return IngestReply(
            ingest_seq=result.ingest_seq,
            accepted=result.accepted,
            duplicates=result.duplicates,
            high_water=HighWater(**result.high_water),
        )

    @app.get(
        "/api/v1/runs/{entity}/{project}/{run_id}/media",
        response_model=MediaSinceOut,
        tags=["read"],
        responses=_NAMED,
    )
    def get_media(
        v: Authed,
        entity: str,
        project: str,
        run_id: str,
        seq: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    ) -> MediaSinceOut:
        """The run's media rows after media sequence `seq`, in order (about 8 MiB of
        payloads at most: ask again from the `seq` returned while `more`)."""
        with reading_run(v, entity, project, run_id) as (conn, row):
            rows, last, more = media.rows_since(conn, int(row.id), seq)
        return MediaSinceOut(rows=[MediaRowOut(**r) for r in rows], seq=last, more=more)

    @app.get(
        "/api/v1/runs/{entity}/{project}/{run_id}/media/{name}",
        tags=["read"],
        response_class=Response,
        responses={200: {"content": {"application/octet-stream": {}}}, **_NAMED},
    )
    def get_media_file(v: Authed, entity: str, project: str, run_id: str, name: str) -> Response:
        """A media file that one of the run's media rows names (immutable: cache it)."""
        with reading_run(v, entity, project, run_id) as (conn, row):
            return media.file_response(media.run_file(conn, int(row.id), name))

    @app.post(
        "/api/v1/runs/{entity}/{project}/{run_id}/heartbeat",
        status_code=204,
        tags=["sync"],
        responses=_NAMED,
    )
    def post_heartbeat(v: Authed, entity: str, project: str, run_id: str) -> Response:
        row = writable_run(v, entity, project, run_id)
        ingest.heartbeat(db, int(row.id))
        return Response(status_code=204)

    @app.get(
        "/api/v1/runs/{entity}/{project}/{run_id}/keys",
        response_model=KeysOut,
        tags=["read"],
        responses=_NAMED,
    )
    def get_keys(v: Authed, entity: str, project: str, run_id: str) -> KeysOut:
        with reading_run(v, entity, project, run_id) as (conn, row):
            return KeysOut(**reads.keys(conn, int(row.id)))

    @app.get(
        "/api/v1/runs/{entity}/{project}/{run_id}/series",
        response_model=SeriesOut,
        tags=["read"],
        responses=_NAMED,
    )
    def get_series(
        v: Authed,
        entity: str,
        project: str,
        run_id: str,
        key: Annotated[str, Query(min_length=1, max_length=1000)],
        start: Annotated[int | None, Query(ge=-(2**63), le=2**63 - 1)] = None,
        end: Annotated[int | None, Query(ge=-(2**63), le=2**63 - 1)] = None,
        width: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    ) -> SeriesOut:
        """One key's points (little-endian int64 steps and float64 values, base64), or with
        `width` at most that many buckets of its envelope over [start, end]."""
        with reading_run(v, entity, project, run_id) as (conn, row):
            steps, values = reads.series(conn, int(row.id), key, start, end)
        if width is None:
            return SeriesOut(
                key=key,
                n=len(steps),
                steps=reads.b64_i8(steps),
                values=reads.b64_f8(values),
            )
        b = envelope.reduce(steps, values, width)
        return SeriesOut(
            key=key,
            n=len(steps),
            buckets=len(b.step_lo),
            step_lo=reads.b64_i8(b.step_lo),
            step_hi=reads.b64_i8(b.step_hi),
            vmin=reads.b64_f8(b.vmin),
            vmax=reads.b64_f8(b.vmax),
            last=reads.b64_f8(b.last),
            count=reads.b64_i8(b.count),
        )

    @app.get(
        "/api/v1/runs/{entity}/{project}/{run_id}/since",
        response_model=SinceOut,
        tags=["read"],
        responses=_NAMED,
    )
    def get_since(
        v: Authed,
        entity: str,
        project: str,
        run_id: str,
        seq: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
        hist_seq: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    ) -> SinceOut:
        """What the run stored after ingest sequence `seq` (scalars) and `hist_seq`
        (histograms): each key's new points and the new histograms, in whole uploads up to
        about 16 MiB; `more` says to ask again from the positions returned."""
        with reading_run(v, entity, project, run_id) as (conn, row):
            got = compare.since(conn, int(row.id), seq, hist_seq)
        return SinceOut(
            seq=got.seq,
            hist_seq=got.hist_seq,
            more=got.more,
            series=[
                SeriesOut(key=k, n=len(s), steps=reads.b64_i8(s), values=reads.b64_f8(v))
                for k, (s, v) in got.series.items()
            ],
            histograms=_histograms_out(got.histograms),
        )

    @app.get(
        "/api/v1/runs/{entity}/{project}/{run_id}/histograms",
        response_model=HistogramsOut,
        tags=["read"],
        responses=_NAMED,
    )
    def get_histograms(
        v: Authed,
        entity: str,
        project: str,
        run_id: str,
        key: Annotated[str, Query(min_length=1, max_length=1000)],
    ) -> HistogramsOut:
        """One key's histograms: per step its range and bin counts (int64, base64)."""
        with reading_run(v, entity, project, run_id) as (conn, row):
            entries = reads.histograms(conn, int(row.id), key)
        return _histograms_out(entries)[0] if entries else HistogramsOut(key=key, entries=[])

    @app.get(
        "/api/v1/runs/{entity}/{project}/{run_id}/events",
        tags=["read"],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}, **_NAMED},
    )
    def api_events(
        request: Request, v: Authed, entity: str, project: str, run_id: str
    ) -> StreamingResponse:
        """Server-Sent Events: the run as it grows. Each event's id is the run's ingest
        sequence; reconnect with Last-Event-ID to resume with no gap and no duplicate."""
        row = readable_run(v, entity, project, run_id)
        return event_stream(request, int(row.id), entity, project)

    # -- live streams ----------------------------------------------------------------

    def event_stream(
        request: Request,
        run_pk: int,
        entity: str,
        project: str,
        *,
        label: str | None = None,
        private: bool = True,
        alive: Callable[[], bool] | None = None,
    ) -> StreamingResponse:
        """The run's live stream. `label` and `private` as `reads.live_messages` takes them;
        `alive` (a share link's page) is asked at least every `LINK_CHECK_S`, and the stream
        ends once it says no (the link was revoked or expired)."""
        last = request.headers.get("last-event-id", "").strip()
        after = int(last) if last.isdigit() else 0
        nap = min(POLL_S, PING_S, LINK_CHECK_S) if alive is not None else min(POLL_S, PING_S)

        async def events() -> AsyncIterator[str]:
            seen = after
            header = True  # a (re)connected page gets the header once: its state may be stale
            idle = 0.0
            checked = time.monotonic()
            live = media.LiveMedia()
            while True:
                if alive is not None and time.monotonic() - checked >= LINK_CHECK_S:
                    if not await run_in_threadpool(alive):
                        return
                    checked = time.monotonic()

                def look(seen: int = seen, header: bool = header) -> tuple[list[Any], int]:
                    with db.read() as conn:
                        return reads.live_messages(
                            conn, run_pk, entity, project, seen, header, label=label,
                            private=private, media=live,
                        )  # fmt: skip

                msgs, reached = await run_in_threadpool(look)
                header = False
                due: list[Any] = [] if msgs else live.due()
                if due:
                    # The newest off-stride media entry of a key, once it is due.

                    def due_messages(due: list[Any] = due) -> list[Any]:
                        with db.read() as conn:
                            return [
                                reads.message(c, b)
                                for c, b in live.media_messages(conn, run_pk, due)
                            ]

                    msgs = await run_in_threadpool(due_messages)
                if msgs:
                    data = json.dumps({"messages": msgs}, separators=(",", ":"), allow_nan=False)
                    yield f"event: messages\nid: {reached}\ndata: {data}\n\n"
                    seen, idle = reached, 0.0
                    continue  # more may be waiting (a long history goes in several events)
                if await request.is_disconnected():
                    return
                wait = live.wait_s()
                woken = await notifier.wait(run_pk, nap if wait is None else min(nap, wait + 0.01))
                idle = 0.0 if woken else idle + nap
                if idle >= PING_S:
                    idle = 0.0
                    yield ": ping\n\n"

        return sse_response(events())

    from nbtrack.server import pages, share_pages

    # The link pages first: /s/<token> and /v/<slug>/... have the shapes of a project's pages.
    share_pages.mount(app, db, settings, event_stream)
    pages.mount(app, db, settings, event_stream)
    return app


class _LimitJsonBodies:
    """413 for a body over `MAX_JSON_BYTES` on every route but the frame upload (which has its
    own limit): at once when its Content-Length says so, else as soon as that much has come.
    A chunked body declares no length, so the header alone would let any size through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = _body_limit(scope)
        if limit is None:
            await self.app(scope, receive, send)
            return
        detail = f"the body is larger than {limit >> 20} MiB"
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await JSONResponse({"detail": detail}, status_code=413)(scope, receive, send)
            return
        size = 0

        async def counted() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > limit:
                    # Raised where the route reads its body: FastAPI answers it as a 413.
                    raise HTTPException(413, detail)
            return message

        await self.app(scope, counted, send)


_MEDIA_ROUTE = re.compile(r"^/api/v1/runs/[^/]+/[^/]+/[^/]+/media(/[^/]+)?$")


def _body_limit(scope: Scope) -> int | None:
    """The most a request's body may hold, or None where its route reads it with its own
    limit (a frame, a media file)."""
    if scope["type"] != "http" or scope["path"].endswith("/chunks"):
        return None
    found = _MEDIA_ROUTE.match(scope["path"])
    if found is not None:
        if found.group(1) is None:
            return media.MAX_ROWS_BYTES  # media rows: a table may be large
        if scope["method"] == "PUT":
            return None  # a media file: its route reads it, up to its own limit
    return MAX_JSON_BYTES


def _config_value(config: dict[str, Any], name: str) -> Any:
    """A config value by its name, dots reaching into nested dicts (``optimizer.lr``)."""
    if name in config:
        return config[name]
    node: Any = config
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


_MISSING = object()


def _histograms_out(entries: list[Any]) -> list[HistogramsOut]:
    """Histogram entries grouped by key, in the order their keys first come."""
    by_key: dict[str, list[HistogramEntryOut]] = {}
    for e in entries:
        by_key.setdefault(e.key, []).append(
            HistogramEntryOut(
                step=e.step,
                lo=_finite(e.lo),
                hi=_finite(e.hi),
                counts=reads.b64_i8(e.counts),
                stats=finite(e.stats),
            )
        )
    return [HistogramsOut(key=k, entries=es) for k, es in by_key.items()]


def _finite(x: float) -> float | str:
    from nbtrack.widget._protocol import json_number

    return json_number(x)


def _check_run_id(run_id: str) -> None:
    if not run_id or len(run_id) > 64 or "/" in run_id or not run_id.isprintable():
        msg = "a run id is 1 to 64 printable characters without '/'"
        raise _invalid("path", "run_id", msg, run_id)


def _no_nul(request: Request) -> None:
    """422 for a NUL in the path or the query, on every route: no name holds one, and on
    PostgreSQL, whose text cannot, looking one up would fail with a 500."""
    for where, items in (
        ("path", list(request.path_params.items())),
        ("query", request.query_params.multi_items()),
    ):
        for name, value in items:
            if isinstance(value, str) and "\x00" in value:
                raise _invalid(where, name, "a NUL character is not allowed here", value)


def _invalid(where: str, name: str, msg: str, value: str) -> RequestValidationError:
    """A 422 with the body FastAPI's own have (the schema's HTTPValidationError), not a
    bare string where the schema promises a list."""
    return RequestValidationError(
        [{"type": "value_error", "loc": (where, name), "msg": msg, "input": value}]
    )


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the body is larger than {limit >> 20} MiB")
    parts, size = [], 0
    async for piece in request.stream():
        size += len(piece)
        if size > limit:
            raise HTTPException(413, f"the body is larger than {limit >> 20} MiB")
        parts.append(piece)
    return b"".join(parts)


def app_from_env() -> FastAPI:
    """The factory uvicorn's workers call (``nbtrack.server.app:app_from_env``)."""
    return create_app(Settings.from_env())

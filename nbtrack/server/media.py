"""A run's media on the server: rows stored once, files kept once, served per run, and what a
live page is sent of them.

Rows come after a run's chunks (`nbtrack.sync.frames` describes the upload). An upload of
rows locks its run, treats every row at or below the run's media high-water mark as a resend
(acknowledged when it equals the stored row, a conflict otherwise), stores the new ones with
the run's next ingest sequence, and records which files each names (``media_refs``): a file
is served through a run only when a row of that run names it, so reading one run (its pages,
a share link) never reads another's files, whatever names one guesses.

Live pages get the dashboard's ``media`` / ``media-thin`` messages (the media contract's
thinning rule) with the thumbnails' bytes, each once a stream, as a notebook is sent them:
a slider then swaps images the page holds (loaded one by one from the run's media URL, a
thousand thumbnails were still coming when the slider moved). Full files load by URL. The
stride of a key follows from its count of entries alone, so a stream that resumes
(Last-Event-ID) thins as the one before it did, with no state kept between them.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from starlette.responses import Response

from nbtrack.server import models
from nbtrack.server.db import Database
from nbtrack.server.ingest import Conflict, high_water, media_high_water, notify
from nbtrack.server.schemas import MediaRowIn
from nbtrack.store import media_files
from nbtrack.sync.frames import file_names

if TYPE_CHECKING:
    from nbtrack.widget._protocol import MediaOut

# The largest media file the server takes (a video, a long sound).
MAX_FILE_BYTES = 64 << 20
# A media upload's body at most (the client sends up to about 8 MiB of rows; one big table
# may go alone).
MAX_ROWS_BYTES = 32 << 20
# A read of media rows returns about this much payload at most (whole rows).
READ_BYTES = 8 << 20
# The thinning rule (media contract): at most this many kept entries a key on a page, and
# the newest off-stride entry at most this often.
KEPT = 64
UNKEPT_S = 2.0
# The most thumbnail bytes one look of a live stream sends (one event: base64 makes it a
# third more); past it the entries go without, and the page loads those by URL.
INLINE_BYTES = 8 << 20


class MissingFiles(Exception):
    """Rows that name files the server does not hold (they go first, by PUT)."""


def _insert(db: Database, table: Any) -> Any:
    return (sqlite_insert if db.sqlite else pg_insert)(table)


# -- files ----------------------------------------------------------------------------------


def have_files(conn: Connection, names: Iterable[str]) -> list[str]:
    """Which of `names` (valid ones only) the server holds."""
    wanted = sorted({n for n in names if media_files.valid_name(n)})
    f = models.MEDIA_FILES
    out: list[str] = []
    for i in range(0, len(wanted), 500):  # bound the IN list
        part = wanted[i : i + 500]
        out.extend(str(n) for (n,) in conn.execute(select(f.c.name).where(f.c.name.in_(part))))
    return sorted(out)


def check_file(name: str, data: bytes) -> str | None:
    """Why `data` cannot be stored as file `name`, or None when it can."""
    if not media_files.valid_name(name):
        return f"{name!r} is not a media file name (SHA-256 in hex and a known extension)"
    if hashlib.sha256(data).hexdigest() != name[:64]:
        return f"the body's SHA-256 is not the one its name {name!r} holds"
    return None


def put_file(db: Database, name: str, data: bytes) -> bool:
    """Keep file `name` (checked by `check_file` first); True when it was new."""
    f = models.MEDIA_FILES
    with db.write() as conn:
        stmt = _insert(db, f).values(
            name=name, mime=media_files.mime(name), size=len(data), bytes=data
        )
        done = conn.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
        return bool(done.rowcount)


def run_file(conn: Connection, run_pk: int, name: str) -> tuple[str, bytes] | None:
    """(mime, bytes) of file `name` when a media row of run `run_pk` names it, else None."""
    if not media_files.valid_name(name):
        return None
    ref, f = models.MEDIA_REFS, models.MEDIA_FILES
    row = conn.execute(
        select(f.c.mime, f.c.bytes)
        .join(ref, ref.c.name == f.c.name)
        .where(ref.c.run_pk == run_pk, ref.c.name == name)
    ).first()
    return None if row is None else (str(row.mime), bytes(row.bytes))


# -- rows -----------------------------------------------------------------------------------


def _payload_text(payload: dict[str, Any]) -> str:
    # ASCII: what both databases keep whatever the text holds (a NUL is \\u0000 here).
    return json.dumps(payload, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


@dataclass
class MediaResult:
    ingest_seq: int
    accepted: int
    duplicates: int
    high_water: dict[str, Any] = field(default_factory=dict)


def store_rows(db: Database, run_pk: int, rows: list[MediaRowIn]) -> MediaResult:
    """Store the new rows of one upload (ascending seq); resends are checked and counted."""
    r, m, ref = models.RUNS, models.MEDIA, models.MEDIA_REFS
    texts = [_payload_text(row.payload) for row in rows]
    names = [file_names(row.payload) for row in rows]
    with db.write() as conn:
        current = conn.execute(
            select(r.c.ingest_seq).where(r.c.id == run_pk).with_for_update()
        ).scalar_one()
        mark = media_high_water(conn, run_pk)
        duplicates = 0
        fresh: list[int] = []
        for i, row in enumerate(rows):
            if row.seq > mark:
                fresh.append(i)
                continue
            old = conn.execute(
                select(m.c.key, m.c.step, m.c.kind, m.c.payload).where(
                    m.c.run_pk == run_pk, m.c.client_seq == row.seq
                )
            ).first()
            same = old is not None and (old.key, int(old.step), old.kind, old.payload) == (
                row.key, row.step, row.kind, texts[i]
            )  # fmt: skip
            if not same:
                raise Conflict(
                    f"the media of key {row.key!r} at media sequence {row.seq} differ from what "
                    "this server stored for that run there; was the run logged twice under one "
                    "id (from two stores)? Upload it under a new id"
                )
            duplicates += 1
        if not fresh:
            return MediaResult(int(current), 0, duplicates, high_water(conn, run_pk))
        named = {n for i in fresh for n in names[i]}
        bad = sorted(n for n in named if not media_files.valid_name(n))
        if bad:
            raise MissingFiles(f"a payload names {bad[0]!r}, which is not a media file name")
        missing = sorted(named - set(have_files(conn, named)))
        if missing:
            raise MissingFiles(
                f"the rows name {len(missing)} file(s) this server does not hold (first: "
                f"{missing[0]}): PUT them to .../media/{{name}} before the rows"
            )
        keys = sorted({rows[i].key for i in fresh})
        top = conn.execute(
            select(m.c.key, func.max(m.c.idx))
            .where(m.c.run_pk == run_pk, m.c.key.in_(keys))
            .group_by(m.c.key)
        )
        counts = {str(k): int(v) for k, v in top}
        nxt = {k: counts[k] + 1 if k in counts else 0 for k in keys}
        seq = int(current) + 1
        values = []
        for i in fresh:
            row = rows[i]
            values.append(
                {
                    "run_pk": run_pk, "client_seq": row.seq, "ingest_seq": seq, "key": row.key,
                    "idx": nxt[row.key], "step": row.step, "kind": row.kind, "payload": texts[i],
                }
            )  # fmt: skip
            nxt[row.key] += 1
        conn.execute(m.insert(), values)
        if named:
            stmt = _insert(db, ref).on_conflict_do_nothing(index_elements=["run_pk", "name"])
            conn.execute(stmt, [{"run_pk": run_pk, "name": n} for n in sorted(named)])
        conn.execute(
            update(r).where(r.c.id == run_pk).values(ingest_seq=seq, heartbeat_at=time.time())
        )
        notify(conn, db, run_pk, seq)
        return MediaResult(seq, len(values), duplicates, high_water(conn, run_pk))


def rows_since(
    conn: Connection, run_pk: int, seq: int, max_bytes: int = READ_BYTES
) -> tuple[list[dict[str, Any]], int, bool]:
    """The run's media rows after client sequence `seq`, in order, whole rows up to about
    `max_bytes` of payload: (rows, the last seq returned, whether more are left)."""
    m = models.MEDIA
    result = conn.execute(
        select(m.c.client_seq, m.c.key, m.c.step, m.c.kind, m.c.payload)
        .where(m.c.run_pk == run_pk, m.c.client_seq > seq)
        .order_by(m.c.client_seq)
    )
    out: list[dict[str, Any]] = []
    size, more, last = 0, False, seq
    for row in result:
        if out and size >= max_bytes:
            more = True
            break
        size += len(row.payload)
        last = int(row.client_seq)
        out.append(
            {"seq": last, "key": row.key, "step": int(row.step), "kind": row.kind,
             "payload": json.loads(row.payload)}
        )  # fmt: skip
    result.close()
    return out, last, more


# -- live pages -----------------------------------------------------------------------------


def stride(count: int) -> int:
    """The stride of a key with `count` entries: the smallest power of two that keeps at
    most `KEPT` of them (entries 0, s, 2s, ...), as a page that saw them one by one has it."""
    s = 1
    while -(-count // s) > KEPT:
        s *= 2
    return s


def _entry(row: Any, keep: bool) -> MediaOut:
    from nbtrack.widget._protocol import MediaOut

    return MediaOut(row.key, int(row.step), row.kind, int(row.idx), keep, json.loads(row.payload))


class RunFiles:
    """The files of run `run_pk` among `names` (`media_refs`: only files the run's rows
    name), for `media_messages`: the first of them in `names`' order up to `budget` bytes in
    all; `read` of any other is a FileNotFoundError, and the page loads that one by URL."""

    def __init__(
        self, conn: Connection, run_pk: int, names: Iterable[str], budget: int = INLINE_BYTES
    ) -> None:
        ref, f = models.MEDIA_REFS, models.MEDIA_FILES
        wanted = list(dict.fromkeys(n for n in names if media_files.valid_name(n)))
        sizes: dict[str, int] = {}
        for i in range(0, len(wanted), 500):  # bound the IN list
            part = wanted[i : i + 500]
            sizes.update(
                (str(r.name), int(r.size))
                for r in conn.execute(
                    select(f.c.name, f.c.size)
                    .join(ref, ref.c.name == f.c.name)
                    .where(ref.c.run_pk == run_pk, f.c.name.in_(part))
                )
            )
        chosen: list[str] = []
        for n in wanted:
            if n in sizes and sizes[n] <= budget:
                chosen.append(n)
                budget -= sizes[n]
        self._bytes: dict[str, bytes] = {}
        for i in range(0, len(chosen), 500):
            rows = conn.execute(
                select(f.c.name, f.c.bytes).where(f.c.name.in_(chosen[i : i + 500]))
            )
            self._bytes.update((str(r.name), bytes(r.bytes)) for r in rows)

    def read(self, name: str) -> bytes:
        try:
            return self._bytes[name]
        except KeyError:
            raise FileNotFoundError(name) from None


Message = tuple[dict[str, Any], list[bytes]]  # a message's content and its buffers


def _thin_content(key: str, s: int) -> Message:
    from nbtrack.widget._protocol import media_thin_message

    return media_thin_message(key, s), []


class LiveMedia:
    """One live stream's media: which off-stride newest entries wait to be sent (at most one
    a key every `UNKEPT_S`). Kept for the stream only; everything else follows from the
    database (see `stride`)."""

    def __init__(self) -> None:
        self._sent_at: dict[str, float] = {}
        self._pending: dict[str, MediaOut] = {}
        self._sent_files: set[str] = set()  # the files this stream's page was sent

    def wait_s(self) -> float | None:
        """How long until a waiting off-stride entry is due; None when none waits."""
        if not self._pending:
            return None
        now = time.monotonic()
        return max(
            0.0, min(self._sent_at.get(k, -UNKEPT_S) + UNKEPT_S - now for k in self._pending)
        )

    def due(self) -> list[MediaOut]:
        """The waiting off-stride entries now due (popped); `media_messages` sends them."""
        now = time.monotonic()
        out = []
        for key in list(self._pending):
            if now - self._sent_at.get(key, -UNKEPT_S) >= UNKEPT_S:
                out.append(self._pending.pop(key))
                self._sent_at[key] = now
        return out

    def media_messages(
        self, conn: Connection, run_pk: int, entries: list[MediaOut]
    ) -> list[Message]:
        """The messages of run `run_pk`'s `entries`, with the thumbnails this stream has not
        sent yet."""
        from nbtrack.widget._protocol import media_file_names, media_messages

        if not entries:
            return []
        # Newest first: past the budget, the page shows the newest step from bytes it holds.
        names = [n for e in reversed(entries) for n in media_file_names(e.kind, e.payload)]
        files = RunFiles(conn, run_pk, [n for n in names if n not in self._sent_files])
        return media_messages(entries, self._sent_files, files)

    def _unkept(self, key: str, entry: MediaOut) -> None:
        self._pending[key] = entry

    def _kept(self, key: str) -> None:
        # A kept entry makes the page drop its off-stride one: a waiting one is stale.
        self._pending.pop(key, None)

    def messages(
        self, conn: Connection, run_pk: int, after: int, upto: int, start: bool
    ) -> list[Message]:
        """The media messages for the rows of ingest sequence (after, upto];
        `start`: the stream's first look (a resumed page may have missed the newest
        off-stride entry a key had at `after`)."""
        m = models.MEDIA
        rows = list(
            conn.execute(
                select(m)
                .where(m.c.run_pk == run_pk, m.c.ingest_seq > after, m.c.ingest_seq <= upto)
                .order_by(m.c.client_seq)
            )
        )
        by_key: dict[str, list[Any]] = {}
        for row in rows:
            by_key.setdefault(row.key, []).append(row)
        out: list[Message] = []
        entries: list[MediaOut] = []
        for key, its in by_key.items():
            before = int(its[0].idx)  # the page has entries 0 .. before-1 of this key
            s_old, s_new = stride(before), stride(int(its[-1].idx) + 1)
            if s_new != s_old and before:
                out.append(_thin_content(key, s_new))
            kept = [r for r in its if int(r.idx) % s_new == 0]
            entries.extend(_entry(r, True) for r in kept)
            newest = its[-1]
            if int(newest.idx) % s_new:
                self._unkept(key, _entry(newest, False))
            elif kept:
                self._kept(key)
        if start and after > 0:
            # What a resumed page may lack: each key's newest entry at `after`, off-stride.
            last = (
                select(m.c.key, func.max(m.c.idx).label("top"))
                .where(m.c.run_pk == run_pk, m.c.ingest_seq <= after)
                .group_by(m.c.key)
                .subquery()
            )
            for row in conn.execute(
                select(m).join(last, (m.c.key == last.c.key) & (m.c.idx == last.c.top))
                .where(m.c.run_pk == run_pk)
            ):  # fmt: skip
                if row.key not in by_key and int(row.idx) % stride(int(row.idx) + 1):
                    self._unkept(row.key, _entry(row, False))
        return out + self.media_messages(conn, run_pk, entries + self.due())


# -- HTTP -----------------------------------------------------------------------------------

# A file never changes under its name, and only who may read the run reads it: cached by the
# browser for a year, by no shared cache. Sandboxed: an html file opened on its own address
# runs nothing with this server's origin (the page shows it in a sandboxed iframe anyway).
FILE_HEADERS = {
    "Cache-Control": "private, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'",
}


def file_response(found: tuple[str, bytes] | None) -> Response:
    """A media file's response (`run_file`'s answer), or a 404 naming nothing."""
    if found is None:
        return Response(
            json.dumps({"detail": "no such media file in this run, or not one you may see"}),
            status_code=404,
            media_type="application/json",
        )
    mime, data = found
    return Response(data, media_type=mime, headers=FILE_HEADERS)

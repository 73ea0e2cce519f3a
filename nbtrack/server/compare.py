"""What the project page's compare view is sent: every run's row and every curve as a
per-bucket envelope first, then, while the page stays, new and changed rows and the new
points of runs still training. The messages are the compare view's own wire format
(`nbtrack.widget._compare_protocol`), the same a kernel sends to the notebook's view.

A page that reconnects gets the snapshot again (its curves replace what it has), so the
stream needs no cursor a browser could carry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import numpy as np
from sqlalchemy import Connection, select

from nbtrack.api import readable_summary
from nbtrack.server import models, reads
from nbtrack.sync.frames import Chunk
from nbtrack.widget._compare_protocol import buckets_for, curves_message, run_row, runs_message

# Runs whose curves go in one event: the page draws as they come.
RUNS_PER_EVENT = 20
# The most buckets (or whole points) one range answer sends per curve.
RANGE_MAX_WIDTH = 4096

Message = dict[str, Any]


def row_of(
    row: Any,
    entity: str,
    project: str,
    *,
    run_base: str | None = None,
    show_entity: bool = True,
    private: bool = True,
) -> dict[str, Any]:
    """The runs table's row of a server run: its page at `run_base` + its id (default the
    run page); a share link's page passes `show_entity=False, private=False` (no entity name,
    metadata through `reads.redact_metadata`: no remote, so no commit link)."""
    d = reads.run_dict(row, entity, project)
    end = d["finished_at"] if d["finished_at"] is not None else d["heartbeat_at"]
    meta = d["metadata"] if isinstance(d["metadata"], dict) else {}
    if not private:
        meta = reads.redact_metadata(meta)
    base = f"/{entity}/{project}/runs/" if run_base is None else run_base
    return run_row(
        run_id=d["id"],
        name=d["name"],
        project=project,
        entity=entity if show_entity else None,
        state=d["state"],
        created_at=float(d["created_at"]),
        runtime=float(end) - float(d["created_at"]),
        tags=list(d["tags"]) if isinstance(d["tags"], list) else [],
        notes=d["notes"],
        git=meta.get("git") if isinstance(meta.get("git"), dict) else None,
        config=d["config"] if isinstance(d["config"], dict) else {},
        summary=readable_summary(d["summary"], d["user_summary"]),  # deleted keys hidden
        url=base + quote(str(d["id"]), safe=""),
        metadata=meta,
    )


@dataclass
class _Run:
    pk: int
    run_id: str
    row: dict[str, Any] | None = None
    seq: int = 0  # the ingest sequence of the last chunk sent
    last_step: dict[str, int] = field(default_factory=dict)


@dataclass
class ProjectCursor:
    """What one page has been sent of a project."""

    project_id: int
    entity: str
    project: str
    runs: dict[int, _Run] = field(default_factory=dict)
    width: int = 256
    # How its rows are made (`row_of`): a share link's page sets all three.
    run_base: str | None = None
    show_entity: bool = True
    private: bool = True

    def row(self, r: Any) -> dict[str, Any]:
        return row_of(
            r, self.entity, self.project, run_base=self.run_base,
            show_entity=self.show_entity, private=self.private,
        )  # fmt: skip


def _scalar_chunks(conn: Connection, run_pk: int, after: int) -> Iterator[tuple[int, Chunk]]:
    c = models.CHUNKS
    q = (
        select(c)
        .where(c.c.run_pk == run_pk, c.c.kind == "s", c.c.ingest_seq > after)
        .order_by(c.c.ingest_seq, c.c.id)
    )
    for row in conn.execute(q):
        yield int(row.ingest_seq), reads.chunk_of(row)


def _series_since(conn: Connection, run: _Run, cut_steps: bool) -> list[tuple[str, str, Any, Any]]:
    parts: dict[str, list[Chunk]] = {}
    for seq, ch in _scalar_chunks(conn, run.pk, run.seq):
        run.seq = max(run.seq, seq)
        parts.setdefault(ch.key, []).append(ch)
    out = []
    for key, chunks in parts.items():
        steps = np.concatenate([ch.step_array() for ch in chunks])
        values = np.concatenate([ch.values() for ch in chunks])
        cut = run.last_step.get(key)
        if cut_steps and cut is not None:
            keep = steps > cut
            steps, values = steps[keep], values[keep]
        if len(steps):
            run.last_step[key] = max(int(steps.max()), cut if cut is not None else -(2**62))
            out.append((run.run_id, key, steps, values))
    return out


def snapshot(conn: Connection, cur: ProjectCursor) -> Iterator[list[Message]]:
    """The project as it is: its rows, then its curves, a few runs an event."""
    rows = reads.run_rows(conn, cur.project_id)
    cur.runs = {int(r.id): _Run(int(r.id), str(r.run_id)) for r in rows}
    table = []
    for r in rows:
        run = cur.runs[int(r.id)]
        run.row = cur.row(r)
        table.append(run.row)
    yield [reads.message(runs_message(table), [])]
    s = models.SERIES
    keys = conn.execute(
        select(s.c.run_pk).where(
            s.c.run_pk.in_(list(cur.runs)) if cur.runs else s.c.run_pk < 0, s.c.kind == "s"
        )
    ).fetchall()
    cur.width = buckets_for(len(keys))
    runs = list(cur.runs.values())
    for i in range(0, len(runs), RUNS_PER_EVENT):
        curves = [
            c for run in runs[i : i + RUNS_PER_EVENT] for c in _series_since(conn, run, False)
        ]
        if curves:
            content, buffers = curves_message(curves, cur.width)
            yield [reads.message(content, buffers)]


def changes(conn: Connection, cur: ProjectCursor) -> list[Message]:
    """What changed since the page was last sent anything: rows, new runs, new points."""
    rows = reads.run_rows(conn, cur.project_id)
    changed: list[dict[str, Any]] = []
    whole: list[tuple[str, str, Any, Any]] = []  # runs new to the page: all they have
    live: list[tuple[str, str, Any, Any]] = []  # the others: their new points only
    seen = set()
    for r in rows:
        pk = int(r.id)
        seen.add(pk)
        run = cur.runs.get(pk)
        fresh = run is None
        if run is None:
            run = cur.runs[pk] = _Run(pk, str(r.run_id))
        row = cur.row(r)
        if row != run.row:
            run.row = row
            changed.append(row)
        if int(r.ingest_seq) > run.seq:
            (whole if fresh else live).extend(_series_since(conn, run, not fresh))
    gone = [cur.runs.pop(pk).run_id for pk in list(cur.runs) if pk not in seen]
    msgs = []
    if changed or gone:
        msgs.append(reads.message(runs_message(changed, gone), []))
    if whole:
        content, buffers = curves_message(whole, cur.width)
        msgs.append(reads.message(content, buffers))
    if live:
        content, buffers = curves_message(live, cur.width, append=True)
        msgs.append(reads.message(content, buffers))
    return msgs


def range_answer(
    conn: Connection,
    project_id: int,
    request: int,
    run_ids: list[str],
    keys: list[str],
    start: int,
    end: int,
    width: int,
) -> list[Message]:
    """The page's zoomed range: whole points when there are few, else a finer envelope."""
    width = max(16, min(RANGE_MAX_WIDTH, width))
    curves = []
    for run_id in run_ids[:500]:
        row = reads.run_row(conn, project_id, run_id)
        if row is None:
            continue
        for key in keys[:50]:
            steps, values = reads.series(conn, int(row.id), key, start, end)
            curves.append((run_id, key, steps, values))
    content, buffers = curves_message(curves, width, request=request, span=(start, end))
    return [reads.message(content, buffers)]


# How much of a run's stored blobs one `since` answer carries at most (whole uploads only).
SINCE_BYTES = 16 << 20


@dataclass
class Since:
    """What a run stored after ingest sequences (seq, hist_seq): its scalars per key, its
    histograms, the sequences reached, and whether more is waiting (the answer is bounded)."""

    series: dict[str, tuple[Any, Any]]
    histograms: list[Any]
    seq: int
    hist_seq: int
    more: bool


def since(conn: Connection, run_pk: int, seq: int, hist_seq: int) -> Since:
    """Chunks stored after `seq` (scalars) and `hist_seq` (histograms), oldest first, in
    whole uploads up to about `SINCE_BYTES`."""
    c = models.CHUNKS
    q = (
        select(c)
        .where(
            c.c.run_pk == run_pk,
            ((c.c.kind == "s") & (c.c.ingest_seq > seq))
            | ((c.c.kind == "h") & (c.c.ingest_seq > hist_seq)),
        )
        .order_by(c.c.ingest_seq, c.c.id)
    )
    parts: dict[str, list[Chunk]] = {}
    hists: list[Any] = []
    size, more = 0, False
    reached: int | None = None
    new_seq, new_hist = seq, hist_seq
    for row in conn.execute(q):
        at = int(row.ingest_seq)
        if at != reached and size >= SINCE_BYTES:
            more = True
            break
        reached = at
        size += len(row.vals) + (len(row.steps) if row.steps is not None else 0)
        ch = reads.chunk_of(row)
        if ch.kind == "s":
            parts.setdefault(ch.key, []).append(ch)
        else:
            hists.extend(ch.histograms())
    # Every chunk of either kind up to `reached` is in (the query orders by ingest_seq).
    if reached is not None:
        new_seq = max(seq, reached)
        new_hist = max(hist_seq, reached)
    series = {
        k: (np.concatenate([p.step_array() for p in ps]), np.concatenate([p.values() for p in ps]))
        for k, ps in parts.items()
    }
    return Since(series, hists, new_seq, new_hist, more)

"""Uploads: runs upserted under the client's id, and chunks stored once.

Each upload of chunks locks its run's row (PostgreSQL: ``FOR UPDATE``; SQLite: the write
lock), checks every chunk against its key's high-water mark (one row per key, in
``series``), stores the new ones in one statement and moves the run's ingest sequence one
on. Because the sequence moves under the lock and commits with the chunks, a live page that
has seen sequence N has seen every chunk up to N, and nothing of a later one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, text, update

from nbtrack.server import models
from nbtrack.server.db import Database
from nbtrack.sync.frames import Chunk

NOTIFY_CHANNEL = "nbtrack_ingest"


class Conflict(Exception):
    """A chunk that contradicts what the server has (a different chunk at its position)."""


@dataclass
class IngestResult:
    ingest_seq: int
    accepted: int
    duplicates: int
    high_water: dict[str, Any] = field(default_factory=dict)


def high_water(conn: Connection, run_pk: int) -> dict[str, Any]:
    """Per kind and key the last client sequence number stored (``s``, ``h``), and the
    run's last media sequence number (``m``; see `nbtrack.server.media`)."""
    s = models.SERIES
    out: dict[str, Any] = {"s": {}, "h": {}}
    for kind, key, hw in conn.execute(
        select(s.c.kind, s.c.key, s.c.high_water).where(s.c.run_pk == run_pk)
    ):
        out[kind][key] = int(hw)
    out["m"] = media_high_water(conn, run_pk)
    return out


def media_high_water(conn: Connection, run_pk: int) -> int:
    m = models.MEDIA
    got = conn.execute(select(func.max(m.c.client_seq)).where(m.c.run_pk == run_pk)).scalar()
    return int(got or 0)


def notify(conn: Connection, db: Database, run_pk: int, seq: int) -> None:
    """Tell every worker that run `run_pk` reached `seq` (PostgreSQL: when this commits)."""
    if not db.sqlite:
        conn.execute(
            text("SELECT pg_notify(:c, :p)"), {"c": NOTIFY_CHANNEL, "p": f"{run_pk}:{seq}"}
        )


def store_chunks(db: Database, run_pk: int, chunks: list[Chunk]) -> IngestResult:
    r, s, c = models.RUNS, models.SERIES, models.CHUNKS
    with db.write() as conn:
        current = conn.execute(
            select(r.c.ingest_seq).where(r.c.id == run_pk).with_for_update()
        ).scalar_one()
        known: dict[tuple[str, str], dict[str, Any]] = {
            (row.kind, row.key): dict(row._mapping)
            for row in conn.execute(select(s).where(s.c.run_pk == run_pk))
        }
        fresh: set[tuple[str, str]] = set()
        rows: list[dict[str, Any]] = []
        duplicates = 0
        seq = int(current) + 1
        for ch in chunks:
            ident = (ch.kind, ch.key)
            have = known.get(ident)
            mark = have["high_water"] if have else 0
            if ch.seq_first <= mark:
                _check_resend(conn, run_pk, ch)
                duplicates += 1
                continue
            vmin = vmax = vlast = None
            if ch.kind == "s":
                vmin, vmax, vlast = ch.stats()
            rows.append(
                {
                    "run_pk": run_pk,
                    "kind": ch.kind,
                    "key": ch.key,
                    "seq_first": ch.seq_first,
                    "seq_last": ch.seq_last,
                    "ingest_seq": seq,
                    "n": ch.n,
                    "step_first": ch.step_first,
                    "step_last": ch.step_last,
                    "stride": ch.stride,
                    "vmin": vmin,
                    "vmax": vmax,
                    "vlast": vlast,
                    "steps": ch.steps,
                    "vals": ch.vals,
                    "digest": ch.digest(),
                }
            )
            if have is None:
                have = known[ident] = {
                    "run_pk": run_pk, "kind": ch.kind, "key": ch.key, "high_water": 0,
                    "count": 0, "step_last": ch.step_last, "vmin": None, "vmax": None,
                    "vlast": None,
                }  # fmt: skip
                fresh.add(ident)
            have["high_water"] = ch.seq_last
            have["count"] += ch.n
            have["step_last"] = max(have["step_last"], ch.step_last)
            if vmin is not None:
                have["vmin"] = vmin if have["vmin"] is None else min(have["vmin"], vmin)
                have["vmax"] = vmax if have["vmax"] is None else max(have["vmax"], vmax)
            have["vlast"] = vlast if ch.kind == "s" else None
        if not rows:
            return IngestResult(int(current), 0, duplicates, high_water(conn, run_pk))
        conn.execute(c.insert(), rows)
        touched = {(row["kind"], row["key"]) for row in rows}
        new = [known[i] for i in touched if i in fresh]
        if new:
            conn.execute(s.insert(), new)
        old = [known[i] for i in touched - fresh]
        if old:
            # One statement for every key: a statement per key costs more than its work.
            conn.execute(
                update(s)
                .where(
                    s.c.run_pk == bindparam("b_run"), s.c.kind == bindparam("b_kind"),
                    s.c.key == bindparam("b_key"),
                )
                .values(
                    high_water=bindparam("high_water"), count=bindparam("count"),
                    step_last=bindparam("step_last"), vmin=bindparam("vmin"),
                    vmax=bindparam("vmax"), vlast=bindparam("vlast"),
                ),
                [
                    {"b_run": run_pk, "b_kind": row["kind"], "b_key": row["key"],
                     **{k: row[k] for k in ("high_water", "count", "step_last", "vmin", "vmax", "vlast")}}
                    for row in old
                ],
            )  # fmt: skip
        now = time.time()
        conn.execute(update(r).where(r.c.id == run_pk).values(ingest_seq=seq, heartbeat_at=now))
        notify(conn, db, run_pk, seq)
        return IngestResult(seq, len(rows), duplicates, high_water(conn, run_pk))


def _check_resend(conn: Connection, run_pk: int, ch: Chunk) -> None:
    c = models.CHUNKS
    row = conn.execute(
        select(c.c.seq_last, c.c.digest).where(
            c.c.run_pk == run_pk, c.c.kind == ch.kind, c.c.key == ch.key,
            c.c.seq_first == ch.seq_first,
        )
    ).first()  # fmt: skip
    if row is not None and row.seq_last == ch.seq_last and bytes(row.digest) == ch.digest():
        return
    what = "histograms" if ch.kind == "h" else "values"
    raise Conflict(
        f"the {what} of key {ch.key!r} at sequence {ch.seq_first}..{ch.seq_last} differ from "
        "what this server stored for that run there; was the run logged twice under one id "
        "(from two stores)? Upload it under a new id"
    )


# -- runs ---------------------------------------------------------------------------------

RUN_FIELDS = (
    "name", "notes", "tags", "config", "summary", "user_summary", "metadata", "alerts",
    "state", "created_at", "updated_at", "heartbeat_at", "finished_at", "exit_code", "error",
    "last_step",
)  # fmt: skip


def upsert_run(
    db: Database, project_id: int, run_id: str, user_id: int, fields: dict[str, Any]
) -> tuple[int, int, bool]:
    """Create or update the run; returns (its key, its ingest sequence, created)."""
    r = models.RUNS
    values = dict(fields)
    now = time.time()
    with db.write() as conn:
        row = conn.execute(
            select(r.c.id, r.c.ingest_seq)
            .where(r.c.project_id == project_id, r.c.run_id == run_id)
            .with_for_update()
        ).first()
        created = row is None
        if row is None:
            defaults = {
                "name": run_id, "state": "running", "created_at": now, "updated_at": now,
                "heartbeat_at": now, "last_step": -1,
            }  # fmt: skip
            pk = conn.execute(
                r.insert().values(
                    project_id=project_id, run_id=run_id, created_by=user_id, ingest_seq=1,
                    fields_seq=1, **{**defaults, **values},
                )
            ).inserted_primary_key[0]  # type: ignore[index]  # fmt: skip
            seq = 1
        else:
            pk, seq = int(row.id), int(row.ingest_seq) + 1
            conn.execute(
                update(r).where(r.c.id == pk).values(ingest_seq=seq, fields_seq=seq, **values)
            )
        notify(conn, db, int(pk), seq)
    return int(pk), seq, created


def heartbeat(db: Database, run_pk: int) -> None:
    r = models.RUNS
    with db.write() as conn:
        conn.execute(update(r).where(r.c.id == run_pk).values(heartbeat_at=time.time()))

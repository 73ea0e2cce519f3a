"""The embedded store: one SQLite database (WAL) under the root folder.

Tables:
- ``runs``: one row a run, small fields as columns, config / summary / metadata as JSON;
- ``keys``: the names a run logged, numbered per run;
- ``scalars``: columnar chunks, one row per key per flush (see `chunks`);
- ``histograms``: one row per key per step, bin counts over [lo, hi].

``seq`` in ``scalars`` and ``histograms`` only grows: it is the durable position that a
dashboard following a run, or a sync process, reads from.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from nbtrack._types import Float64Array, Int64Array
from nbtrack._values import Batch, HistogramEntry
from nbtrack.store import chunks

DB_NAME = "runs.db"
SCHEMA_VERSION = 1
# A run whose writer has been silent this long is taken as crashed, wherever it ran.
STALE_AFTER_S = 30.0
HEARTBEAT_S = 5.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    rk INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    notes TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    config TEXT NOT NULL DEFAULT '{}',
    summary TEXT NOT NULL DEFAULT '{}',
    metadata TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    heartbeat_at REAL NOT NULL,
    finished_at REAL,
    exit_code INTEGER,
    error TEXT,
    pid INTEGER,
    host TEXT,
    last_step INTEGER NOT NULL DEFAULT -1,
    alerts TEXT NOT NULL DEFAULT '[]',
    UNIQUE (project, id)
);
CREATE TABLE IF NOT EXISTS keys (
    rk INTEGER NOT NULL,
    kid INTEGER NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    PRIMARY KEY (rk, kid),
    UNIQUE (rk, key, kind)
);
CREATE TABLE IF NOT EXISTS scalars (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    rk INTEGER NOT NULL,
    kid INTEGER NOT NULL,
    n INTEGER NOT NULL,
    step_first INTEGER NOT NULL,
    step_last INTEGER NOT NULL,
    stride INTEGER NOT NULL,
    steps BLOB,
    vals BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS scalars_by_key ON scalars (rk, kid, seq);
CREATE INDEX IF NOT EXISTS scalars_by_run ON scalars (rk, seq);
CREATE TABLE IF NOT EXISTS histograms (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    rk INTEGER NOT NULL,
    kid INTEGER NOT NULL,
    step INTEGER NOT NULL,
    lo REAL NOT NULL,
    hi REAL NOT NULL,
    counts BLOB NOT NULL,
    stats TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS histograms_by_key ON histograms (rk, kid, seq);
CREATE INDEX IF NOT EXISTS histograms_by_run ON histograms (rk, seq);
"""

RUN_COLUMNS = (
    "rk, project, id, name, notes, tags, config, summary, metadata, state, created_at, "
    "updated_at, heartbeat_at, finished_at, exit_code, error, pid, host, last_step, alerts"
)
JSON_COLUMNS = frozenset({"tags", "config", "summary", "metadata", "alerts"})
HOST = socket.gethostname()


def default_root() -> Path:
    return Path(os.environ.get("NBTRACK_DIR") or "nbtrack")


def dumps(obj: Any) -> str:
    return json.dumps(obj, default=_json_default, ensure_ascii=False, allow_nan=True)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return repr(obj)


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=60.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 60000")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode != "wal":
        raise RuntimeError(f"nbtrack: could not put {path} in WAL mode (got {mode!r})")
    # NORMAL in WAL mode: a killed process loses nothing it committed; only a power cut
    # can cost the last transactions, and never corrupts the file.
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


class Store:
    """One store root: its database and the operations the rest of nbtrack needs.

    A Store (and its connection) belongs to one thread at a time; the writer thread of a
    run opens its own.
    """

    def __init__(self, root: str | os.PathLike[str] | None = None, *, create: bool = True):
        self.root = Path(root) if root is not None else default_root()
        self.path = self.root / DB_NAME
        if not create and not self.path.exists():
            raise FileNotFoundError(
                f"nbtrack: no store at {self.path}; log a run first or pass dir= / NBTRACK_DIR"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        self.conn = connect(self.path)
        # executescript commits on its own; every statement in it is idempotent.
        self.conn.executescript(_SCHEMA)
        self.conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
        self._kids: dict[tuple[int, str, str], int] = {}

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front, so two writers never deadlock on upgrade.
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- runs ---------------------------------------------------------------------------

    def create_run(self, fields: dict[str, Any]) -> int:
        now = time.time()
        row = {
            "state": "running",
            "created_at": now,
            "updated_at": now,
            "heartbeat_at": now,
            "pid": os.getpid(),
            "host": HOST,
            **fields,
        }
        cols = list(row)
        values = [dumps(row[c]) if c in JSON_COLUMNS else row[c] for c in cols]
        with self.transaction() as c:
            cur = c.execute(
                f"INSERT INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                values,
            )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def update_run(self, rk: int, **fields: Any) -> None:
        if not fields:
            return
        fields.setdefault("updated_at", time.time())
        cols = list(fields)
        values = [dumps(fields[c]) if c in JSON_COLUMNS else fields[c] for c in cols]
        with self.transaction() as c:
            c.execute(
                f"UPDATE runs SET {', '.join(f'{col} = ?' for col in cols)} WHERE rk = ?",
                [*values, rk],
            )

    def run_row(self, project: str, run_id: str) -> dict[str, Any] | None:
        cur = self.conn.execute(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE project = ? AND id = ?", (project, run_id)
        )
        row = cur.fetchone()
        return _row_dict(cur, row) if row else None

    def run_rows(
        self, project: str | None = None, run_id: str | None = None
    ) -> list[dict[str, Any]]:
        where, args = [], []
        if project is not None:
            where.append("project = ?")
            args.append(project)
        if run_id is not None:
            where.append("id = ?")
            args.append(run_id)
        sql = f"SELECT {RUN_COLUMNS} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        cur = self.conn.execute(sql + " ORDER BY created_at, rk", args)
        return [_row_dict(cur, r) for r in cur.fetchall()]

    def projects(self) -> list[str]:
        rows = self.conn.execute("SELECT DISTINCT project FROM runs ORDER BY project").fetchall()
        return [r[0] for r in rows]

    def count_runs(self, project: str) -> int:
        return int(
            self.conn.execute("SELECT COUNT(*) FROM runs WHERE project = ?", (project,)).fetchone()[
                0
            ]
        )

    # -- keys ---------------------------------------------------------------------------

    def _kid(self, rk: int, key: str, kind: str) -> int:
        """The number of `key` in run `rk`, creating it; call inside a transaction."""
        cached = self._kids.get((rk, key, kind))
        if cached is not None:
            return cached
        row = self.conn.execute(
            "SELECT kid FROM keys WHERE rk = ? AND key = ? AND kind = ?", (rk, key, kind)
        ).fetchone()
        if row is None:
            kid = self.conn.execute(
                "SELECT COALESCE(MAX(kid), -1) + 1 FROM keys WHERE rk = ?", (rk,)
            ).fetchone()[0]
            self.conn.execute(
                "INSERT INTO keys (rk, kid, key, kind) VALUES (?, ?, ?, ?)", (rk, kid, key, kind)
            )
        else:
            kid = row[0]
        self._kids[(rk, key, kind)] = kid
        return int(kid)

    def keys(self, rk: int, kind: str = "s") -> list[str]:
        rows = self.conn.execute(
            "SELECT key FROM keys WHERE rk = ? AND kind = ? ORDER BY kid", (rk, kind)
        ).fetchall()
        return [r[0] for r in rows]

    # -- writing ------------------------------------------------------------------------

    def write_batch(self, rk: int, batch: Batch, run_fields: dict[str, Any]) -> None:
        """Append one batch and update the run row, in one transaction."""
        now = time.time()
        run_fields = {"heartbeat_at": now, "updated_at": now, **run_fields}
        cols = list(run_fields)
        values = [dumps(run_fields[c]) if c in JSON_COLUMNS else run_fields[c] for c in cols]
        try:
            with self.transaction() as c:
                rows = []
                for key, (steps, vals) in batch.series.items():
                    if not len(steps):
                        continue
                    enc = chunks.encode_steps(steps)
                    rows.append(
                        (
                            rk,
                            self._kid(rk, key, "s"),
                            len(steps),
                            enc.first,
                            enc.last,
                            enc.stride,
                            enc.blob,
                            chunks.encode_values(vals),
                        )
                    )
                c.executemany(
                    "INSERT INTO scalars (rk, kid, n, step_first, step_last, stride, steps, vals)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                c.executemany(
                    "INSERT INTO histograms (rk, kid, step, lo, hi, counts, stats)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            rk,
                            self._kid(rk, h.key, "h"),
                            h.step,
                            h.lo,
                            h.hi,
                            chunks.encode_counts(h.counts),
                            dumps(h.stats),
                        )
                        for h in batch.histograms
                    ],
                )
                c.execute(
                    f"UPDATE runs SET {', '.join(f'{col} = ?' for col in cols)} WHERE rk = ?",
                    [*values, rk],
                )
        except BaseException:
            # Key numbers handed out inside the failed transaction were rolled back with it.
            self._kids.clear()
            raise

    # -- reading ------------------------------------------------------------------------

    def series(self, rk: int, key: str) -> tuple[Int64Array, Float64Array]:
        """All (steps, values) of one key, in logging order."""
        kid_row = self.conn.execute(
            "SELECT kid FROM keys WHERE rk = ? AND key = ? AND kind = 's'", (rk, key)
        ).fetchone()
        if kid_row is None:
            return np.empty(0, np.int64), np.empty(0, np.float64)
        rows = self.conn.execute(
            "SELECT n, step_first, stride, steps, vals FROM scalars"
            " WHERE rk = ? AND kid = ? ORDER BY seq",
            (rk, kid_row[0]),
        ).fetchall()
        return _join_chunks(rows)

    def read_since(self, rk: int, seq: int, hist_seq: int = 0) -> tuple[Batch, int, int]:
        """What run `rk` stored after the positions (`seq`, `hist_seq`), and the new positions."""
        names = dict(
            self.conn.execute("SELECT kid, key FROM keys WHERE rk = ? AND kind = 's'", (rk,))
        )
        grouped: dict[str, list[Sequence[Any]]] = {}
        new_seq = seq
        for row in self.conn.execute(
            "SELECT seq, kid, n, step_first, stride, steps, vals FROM scalars"
            " WHERE rk = ? AND seq > ? ORDER BY seq",
            (rk, seq),
        ):
            new_seq = row[0]
            grouped.setdefault(names[row[1]], []).append(row[2:])
        batch = Batch(series={k: _join_chunks(v) for k, v in grouped.items()})
        new_hist_seq = hist_seq
        hnames = dict(
            self.conn.execute("SELECT kid, key FROM keys WHERE rk = ? AND kind = 'h'", (rk,))
        )
        for hseq, kid, step, lo, hi, counts, stats in self.conn.execute(
            "SELECT seq, kid, step, lo, hi, counts, stats FROM histograms"
            " WHERE rk = ? AND seq > ? ORDER BY seq",
            (rk, hist_seq),
        ):
            new_hist_seq = hseq
            batch.histograms.append(
                HistogramEntry(
                    hnames[kid], step, lo, hi, chunks.decode_counts(counts), json.loads(stats)
                )
            )
        return batch, new_seq, new_hist_seq

    def histograms(
        self, rk: int, key: str
    ) -> tuple[Int64Array, Float64Array, Int64Array, list[dict[str, Any]]]:
        """(steps, ranges of shape (n, 2), counts of shape (n, bins), stats) of one key."""
        rows = self.conn.execute(
            "SELECT h.step, h.lo, h.hi, h.counts, h.stats FROM histograms h"
            " JOIN keys k ON k.rk = h.rk AND k.kid = h.kid AND k.kind = 'h'"
            " WHERE h.rk = ? AND k.key = ? ORDER BY h.seq",
            (rk, key),
        ).fetchall()
        if not rows:
            return (
                np.empty(0, np.int64),
                np.empty((0, 2), np.float64),
                np.empty((0, 0), np.int64),
                [],
            )
        steps = np.array([r[0] for r in rows], dtype=np.int64)
        ranges = np.array([(r[1], r[2]) for r in rows], dtype=np.float64)
        counts = np.stack([chunks.decode_counts(r[3]) for r in rows])
        stats = [json.loads(r[4]) for r in rows]
        return steps, ranges, counts, stats


def _join_chunks(rows: Sequence[Sequence[Any]]) -> tuple[Int64Array, Float64Array]:
    if not rows:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    total = sum(r[0] for r in rows)
    steps = np.empty(total, dtype=np.int64)
    values = np.empty(total, dtype=np.float64)
    at = 0
    for n, first, stride, steps_blob, vals_blob in rows:
        steps[at : at + n] = chunks.decode_steps(n, first, stride, steps_blob)
        values[at : at + n] = chunks.decode_values(vals_blob)
        at += n
    return steps, values


def _row_dict(cur: sqlite3.Cursor, row: Sequence[Any]) -> dict[str, Any]:
    out = {d[0]: v for d, v in zip(cur.description, row, strict=True)}
    for col in JSON_COLUMNS:
        if col in out and isinstance(out[col], str):
            out[col] = json.loads(out[col])
    return out


def effective_state(row: dict[str, Any], now: float | None = None) -> str:
    """The state a reader should see: a 'running' run whose process is gone is 'crashed'."""
    state = str(row["state"])
    if state != "running":
        return state
    now = time.time() if now is None else now
    if now - float(row["heartbeat_at"]) > STALE_AFTER_S:
        return "crashed"
    if row.get("host") == HOST and row.get("pid") and not _pid_alive(int(row["pid"])):
        return "crashed"
    return state


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (killed, not yet reaped by its parent) is gone for our purposes.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True

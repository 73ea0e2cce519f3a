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

import errno
import json
import os
import shutil
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from nbtrack._json import dumps
from nbtrack._types import Float64Array, Int64Array
from nbtrack._values import TIME_KEY, Batch, HistogramEntry
from nbtrack.errors import (
    NbtrackError,
    StoreCorruptError,
    StoreFullError,
    StoreNotFoundError,
    StorePathError,
    StoreReadOnlyError,
)
from nbtrack.store import chunks, schema
from nbtrack.store.media_files import MediaFiles
from nbtrack.store.schema import RUN_COLUMNS
from nbtrack.store.schema import SCHEMA_VERSION as SCHEMA_VERSION

DB_NAME = "runs.db"
# A run whose writer has been silent this long is taken as crashed, when it ran on another
# host: on this one, its process answers for it (see `effective_state`).
STALE_AFTER_S = 30.0
HEARTBEAT_S = 5.0
# A reader waits this long at most on a lock: in WAL mode readers take none that a writer
# holds for long, so only the brief recovery of a crashed writer's index can make it wait.
READ_BUSY_S = 5.0
# An I/O error with less free space than this left on the disk is taken as a full disk.
_FULL_BELOW = 1 << 20

JSON_COLUMNS = frozenset({"tags", "config", "summary", "metadata", "alerts", "user_summary"})
_PUT_USER_SUMMARY = "INSERT INTO summaries (rk, user) VALUES (?, ?) ON CONFLICT (rk) DO UPDATE SET user = excluded.user"
HOST = socket.gethostname()

# SQLite's primary result codes that mean something here, and their messages, for the
# Pythons (3.10) whose sqlite3 errors do not carry the code.
_SQLITE_CORRUPT, _SQLITE_CANTOPEN, _SQLITE_READONLY = 11, 14, 8
_SQLITE_FULL, _SQLITE_IOERR, _SQLITE_NOTADB = 13, 10, 26
_MESSAGES = {
    "database or disk is full": _SQLITE_FULL,
    "disk I/O error": _SQLITE_IOERR,
    "file is not a database": _SQLITE_NOTADB,
    "database disk image is malformed": _SQLITE_CORRUPT,
    "unable to open database file": _SQLITE_CANTOPEN,
    "attempt to write a readonly database": _SQLITE_READONLY,
}


def default_root() -> Path:
    """``NBTRACK_DIR`` (or W&B's ``WANDB_DIR``), else ``./nbtrack``: where init writes and
    the Api reads."""
    from nbtrack import _env

    return Path(_env.get("DIR") or "nbtrack")


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=60.0, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA busy_timeout = 60000")
        mode = _journal_wal(conn)
        if mode != "wal":
            raise RuntimeError(f"nbtrack: could not put {path} in WAL mode (got {mode!r})")
        # NORMAL in WAL mode: a killed process loses nothing it committed; only a power cut
        # can cost the last transactions, and never corrupts the file.
        conn.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


def _journal_wal(conn: sqlite3.Connection, wait_s: float = 60.0) -> str:
    # Switching a new file to WAL needs a lock that SQLite does not wait for with the busy
    # timeout: two processes creating one store at once see "database is locked". Wait here.
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _connect_read(path: Path, immutable: bool = False) -> sqlite3.Connection:
    # mode=ro: SQLite itself refuses any write, so no read can change the store by mistake.
    uri = path.absolute().as_uri() + "?mode=ro" + ("&immutable=1" if immutable else "")
    conn = sqlite3.connect(
        uri, uri=True, timeout=READ_BUSY_S, isolation_level=None, check_same_thread=False
    )
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # open the log now
    except BaseException:
        conn.close()
        raise
    return conn


def _code(e: sqlite3.Error) -> int | None:
    code = getattr(e, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF  # the primary code of an extended one (SQLITE_IOERR_SHMSIZE, ...)
    return next((c for text, c in _MESSAGES.items() if text in str(e)), None)


def _named(root: Path) -> str:
    """How the user named this folder, for messages that tell them what to change."""
    for name in ("NBTRACK_DIR", "WANDB_DIR"):
        env = os.environ.get(name)
        if env and Path(env) == root:
            return f"{name}={env}"
    if root == Path("nbtrack"):
        return "the default store folder ./nbtrack"
    return f"the store folder {root}"


def _not_a_folder(root: Path) -> StorePathError:
    culprit = next((p for p in (root, *root.parents) if p.exists() and not p.is_dir()), root)
    return StorePathError(
        f"nbtrack: {_named(root)} is not a folder: {culprit} is a file. Point NBTRACK_DIR "
        "(or dir=) at a folder; nbtrack creates it if it is missing"
    )


def _free_space(root: Path) -> tuple[int, int]:
    """(free, total) bytes of the disk that holds `root`."""
    # The folder itself may not exist yet (its mkdir is what failed): ask its nearest parent.
    where = next((p for p in (root, *root.absolute().parents) if p.exists()), Path("/"))
    usage = shutil.disk_usage(where)
    return usage.free, usage.total


def _full(root: Path, e: BaseException) -> StoreFullError:
    free, total = _free_space(root)
    return StoreFullError(
        f"nbtrack: the disk holding the store {root} is full ({_size(free)} free of "
        f"{_size(total)}; {e}). Free some space, or point dir= / NBTRACK_DIR at a folder "
        "on another disk"
    )


def _size(n: float) -> str:
    if n < 1024:
        return f"{n:.0f} bytes"
    for unit in ("KiB", "MiB"):
        n /= 1024
        if n < 1024:
            return f"{n:.1f} {unit}"
    return f"{n / 1024:.1f} GiB"


@contextmanager
def _translated(root: Path, path: Path) -> Iterator[None]:
    """SQLite's and the OS's errors about the disk and the file, as nbtrack errors."""
    try:
        yield
    except NbtrackError:
        raise
    except sqlite3.Error as e:
        code = _code(e)
        # A full disk shows as SQLITE_FULL, or, when the -shm index cannot grow, as an
        # I/O error; an I/O error with space left is something else, and stays as it is.
        if code == _SQLITE_FULL or (code == _SQLITE_IOERR and _free_space(root)[0] < _FULL_BELOW):
            raise _full(root, e) from e
        if code == _SQLITE_NOTADB:
            raise StoreCorruptError(
                f"nbtrack: {path} is not an SQLite database ({e}): nbtrack keeps its store "
                "there; move the file away, or point dir= / NBTRACK_DIR at another folder"
            ) from e
        if code == _SQLITE_CORRUPT:
            raise _corrupt(path, str(e), found_by="SQLite") from e
        raise
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise _full(root, e) from e
        raise


def _corrupt(path: Path, problems: str, found_by: str = "PRAGMA quick_check") -> StoreCorruptError:
    return StoreCorruptError(
        f"nbtrack: the store {path} is damaged ({found_by}: {problems}), so nbtrack "
        "will not write to it; reading what is left still works. Keep a copy of the folder, "
        f"recover the data with `sqlite3 {path} .recover | sqlite3 recovered.db`, and log "
        "new runs to another folder (dir= / NBTRACK_DIR) meanwhile"
    )


# Stores this process found sound, by file identity and last change of the main file: the
# two or three opens of one run start (init, the run, its writer thread) check once, and a
# store changed since (a checkpoint, another tool) is checked again at its next open.
_SOUND: set[tuple[int, int, int, int]] = set()


def _check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    st = path.stat()
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    if key in _SOUND:
        return
    # quick_check, not integrity_check: it reads every page (a damaged page, a bad b-tree)
    # but skips checking each index against its table, which costs a sort per index.
    rows = conn.execute("PRAGMA quick_check(5)").fetchall()
    if [r[0] for r in rows] != ["ok"]:
        raise _corrupt(path, "; ".join(" ".join(str(r[0]).split()) for r in rows))
    _SOUND.add(key)


def _missing(root: Path, path: Path) -> StoreNotFoundError:
    return StoreNotFoundError(
        f"nbtrack: no nbtrack store at {root} ({_named(root)} has no {DB_NAME}). Log a run "
        "there first, or point at another store: dir= (nbtrack.Api(dir=...), "
        "nbtrack --dir ...) or NBTRACK_DIR"
    )


def _open_read(root: Path, path: Path) -> sqlite3.Connection:
    if any(p.exists() and not p.is_dir() for p in (root, *root.parents)):
        raise _not_a_folder(root)
    if not path.is_file():
        raise _missing(root, path)
    with _translated(root, path):
        try:
            return _connect_read(path)
        except sqlite3.OperationalError as e:
            # On read-only media SQLite cannot create the -shm index that WAL readers share.
            if _code(e) not in (_SQLITE_CANTOPEN, _SQLITE_READONLY) or os.access(root, os.W_OK):
                raise
            wal = path.with_name(f"{DB_NAME}-wal")
            if wal.exists() and wal.stat().st_size > 0:
                raise StoreReadOnlyError(
                    f"nbtrack: cannot read {path} where it is: its log {wal.name} holds "
                    f"commits, whose index {DB_NAME}-shm is missing and cannot be made in the "
                    f"read-only folder {root} ({e}). Copy the folder to a writable place, "
                    "with both files, and read the copy"
                ) from e
            # No log: the file is the whole store and no writer uses it, so SQLite may read
            # it as an immutable file, without the index and without locks.
            return _connect_read(path, immutable=True)


class Store:
    """One store root: its database and the operations the rest of nbtrack needs.

    ``Store(root)`` opens it for writing: it creates the folder and the database, checks the
    file (`StoreCorruptError`), and migrates an older layout (`StoreVersionError` for a
    newer one). ``Store(root, readonly=True)`` opens it for reading only: it writes nothing,
    does not wait on writers, and raises `StoreNotFoundError` where there is no store.

    A Store (and its connection) belongs to one thread at a time; the writer thread of a
    run opens its own.
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        create: bool = True,
        readonly: bool = False,
    ):
        self.root = Path(root) if root is not None else default_root()
        self.path = self.root / DB_NAME
        self.readonly = readonly
        self._kids: dict[tuple[int, str, str], int] = {}
        self._media_table: bool | None = None
        if readonly:
            self.conn = _open_read(self.root, self.path)
            try:
                with _translated(self.root, self.path):
                    self._run_select = schema.run_columns_for_reading(self.conn, self.path)
            except BaseException:
                self.conn.close()
                raise
            return
        if not create and not self.path.exists():
            raise _missing(self.root, self.path)
        with _translated(self.root, self.path):
            if self.root.exists() and not self.root.is_dir():
                raise _not_a_folder(self.root)
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                raise _not_a_folder(self.root) from None
            self.conn = connect(self.path)
            try:
                _check_integrity(self.conn, self.path)
                schema.prepare_for_writing(self.conn, self.path)
            except BaseException:
                self.conn.close()
                raise
        self._run_select = RUN_COLUMNS

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front, so two writers never deadlock on upgrade.
        with _translated(self.root, self.path):
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                # SQLite rolls back on its own after some errors (a full disk): then there is
                # nothing left to roll back, and the error to raise is the first one.
                if self.conn.in_transaction:
                    with suppress(sqlite3.Error):
                        self.conn.execute("ROLLBACK")
                raise

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
        if "proc_start" not in fields:
            row["proc_start"] = process_start(int(row["pid"])) if row["pid"] else None
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
        if fields.get("pid"):
            # A pid names a process only with its host and start time (a resumed run may
            # continue on another machine): the three change together.
            fields.setdefault("host", HOST)
            fields.setdefault("proc_start", process_start(int(fields["pid"])))
        with self.transaction() as c:
            _put_fields(c, rk, fields)

    def edit_run(
        self, project: str, run_id: str, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> bool:
        """Write the fields `change` makes of the run's row as stored now, reading and
        writing in one transaction (a run still logging cannot store its own fields between
        the two, so an edit merged into them never overwrites them). False: no such run."""
        with self.transaction() as c:
            row = self.run_row(project, run_id)
            if row is None:
                return False
            fields = change(row)
            if fields:
                fields.setdefault("updated_at", time.time())
                _put_fields(c, int(row["rk"]), fields)
        return True

    def run_row(self, project: str, run_id: str) -> dict[str, Any] | None:
        cur = self.conn.execute(
            f"SELECT {self._run_select} FROM runs WHERE project = ? AND id = ?", (project, run_id)
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
        sql = f"SELECT {self._run_select} FROM runs"
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
        user = run_fields.pop("user_summary", None)
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
                if user is not None:
                    c.execute(_PUT_USER_SUMMARY, (rk, dumps(user)))
        except BaseException:
            # Key numbers handed out inside the failed transaction were rolled back with it.
            self._kids.clear()
            raise

    # -- reading ------------------------------------------------------------------------

    def last_on_disk(self, rk: int) -> tuple[int, dict[str, float]]:
        """The last step stored for run `rk` (-1 for none) and each key's last stored value.

        Read from the chunks themselves, so it holds whatever the run row claims (a store
        written before the writer kept the two in one transaction could claim more).
        """
        last_step = -1
        for (top,) in self.conn.execute(
            "SELECT MAX(step_last) FROM scalars WHERE rk = ?"
            " UNION ALL SELECT MAX(step) FROM histograms WHERE rk = ?",
            (rk, rk),
        ):
            if top is not None:
                last_step = max(last_step, int(top))
        last: dict[str, float] = {}
        for key, n, first, stride, steps, vals in self.conn.execute(
            "SELECT k.key, c.n, c.step_first, c.stride, c.steps, c.vals FROM scalars c"
            " JOIN keys k ON k.rk = c.rk AND k.kid = c.kid AND k.kind = 's'"
            " WHERE c.seq IN (SELECT MAX(seq) FROM scalars WHERE rk = ? GROUP BY kid)",
            (rk,),
        ):
            if key != TIME_KEY:
                last[key] = float(_join_chunks([(n, first, stride, steps, vals)])[1][-1])
        return last_step, last

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

    def raw_since(self, rk: int, seq: int, hist_seq: int, max_bytes: int) -> RawChunks:
        """The chunks of run `rk` stored after (`seq`, `hist_seq`), as stored (blobs as they
        are), in order, up to about `max_bytes` of blobs (at least one chunk when any)."""
        out = RawChunks([], [], seq, hist_seq, False)
        size = 0
        for row in self.conn.execute(
            "SELECT c.seq, k.key, c.n, c.step_first, c.step_last, c.stride, c.steps, c.vals"
            " FROM scalars c JOIN keys k ON k.rk = c.rk AND k.kid = c.kid AND k.kind = 's'"
            " WHERE c.rk = ? AND c.seq > ? ORDER BY c.seq",
            (rk, seq),
        ):
            if size >= max_bytes:
                out.more = True
                break
            out.scalars.append(row)
            out.seq = row[0]
            size += len(row[7]) + len(row[6] or b"")
        for row in self.conn.execute(
            "SELECT h.seq, k.key, h.step, h.lo, h.hi, h.counts, h.stats"
            " FROM histograms h JOIN keys k ON k.rk = h.rk AND k.kid = h.kid AND k.kind = 'h'"
            " WHERE h.rk = ? AND h.seq > ? ORDER BY h.seq",
            (rk, hist_seq),
        ):
            if size >= max_bytes:
                out.more = True
                break
            out.histograms.append(row)
            out.hist_seq = row[0]
            size += len(row[5]) + 64
        return out

    def points_after(self, rk: int, seq: int, hist_seq: int) -> int:
        """How many logged values (and histograms) run `rk` stored after the positions."""
        (n,) = self.conn.execute(
            "SELECT COALESCE(SUM(c.n), 0) FROM scalars c"
            " JOIN keys k ON k.rk = c.rk AND k.kid = c.kid AND k.kind = 's'"
            " WHERE c.rk = ? AND c.seq > ? AND k.key != ?",
            (rk, seq, TIME_KEY),
        ).fetchone()
        (h,) = self.conn.execute(
            "SELECT COUNT(*) FROM histograms WHERE rk = ? AND seq > ?", (rk, hist_seq)
        ).fetchone()
        return int(n) + int(h)

    # -- media --------------------------------------------------------------------------

    @property
    def media_files(self) -> MediaFiles:
        """The files the media rows name, beside the database."""
        return MediaFiles(self.root)

    def _has_media(self) -> bool:
        # A reader may open a store of a layout before media (version 3 or older).
        if self._media_table is None:
            self._media_table = (
                self.conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'media'"
                ).fetchone()
                is not None
            )
        return self._media_table

    def write_media(self, rk: int, entries: Sequence[Any]) -> None:
        """Append encoded media (`nbtrack.media.EncodedMedia`: key, step, kind, payload) of
        run `rk`, in one transaction. Their files are in `media_files` already."""
        try:
            with self.transaction() as c:
                c.executemany(
                    "INSERT INTO media (rk, kid, step, kind, payload) VALUES (?, ?, ?, ?, ?)",
                    [
                        (rk, self._kid(rk, e.key, "m"), e.step, e.kind, dumps(e.payload))
                        for e in entries
                    ],
                )
        except BaseException:
            self._kids.clear()
            raise

    def media_since(
        self, rk: int, media_seq: int, max_bytes: int | None = None
    ) -> tuple[list[MediaRow], int]:
        """Media rows of run `rk` stored after `media_seq`, in order, and the new position;
        up to about `max_bytes` of payload (at least one row when any)."""
        if not self._has_media():
            return [], media_seq
        out: list[MediaRow] = []
        size = 0
        new_seq = media_seq
        for seq, key, step, kind, payload in self.conn.execute(
            "SELECT m.seq, k.key, m.step, m.kind, m.payload FROM media m"
            " JOIN keys k ON k.rk = m.rk AND k.kid = m.kid AND k.kind = 'm'"
            " WHERE m.rk = ? AND m.seq > ? ORDER BY m.seq",
            (rk, media_seq),
        ):
            if max_bytes is not None and out and size >= max_bytes:
                break
            out.append(MediaRow(seq, key, step, kind, json.loads(payload)))
            new_seq = seq
            size += len(payload)
        return out, new_seq

    def media(self, rk: int, key: str) -> list[MediaRow]:
        """Every media row of one key of run `rk`, in logging order."""
        if not self._has_media():
            return []
        return [
            MediaRow(seq, k, step, kind, json.loads(payload))
            for seq, k, step, kind, payload in self.conn.execute(
                "SELECT m.seq, k.key, m.step, m.kind, m.payload FROM media m"
                " JOIN keys k ON k.rk = m.rk AND k.kid = m.kid AND k.kind = 'm'"
                " WHERE m.rk = ? AND k.key = ? ORDER BY m.seq",
                (rk, key),
            )
        ]

    def media_keys(self, rk: int) -> list[tuple[str, str]]:
        """(key, kind) of each media key of run `rk`, in first-logged order."""
        if not self._has_media():
            return []
        return [
            (str(k), str(kind))
            for k, kind in self.conn.execute(
                "SELECT k.key, (SELECT m.kind FROM media m WHERE m.rk = k.rk AND m.kid = k.kid"
                " ORDER BY m.seq LIMIT 1) FROM keys k WHERE k.rk = ? AND k.kind = 'm'"
                " AND EXISTS (SELECT 1 FROM media m WHERE m.rk = k.rk AND m.kid = k.kid)"
                " ORDER BY k.kid",
                (rk,),
            )
        ]

    # -- uploads ------------------------------------------------------------------------

    def upload_state(self, rk: int, target: str) -> UploadState:
        """How far the upload of run `rk` to `target` (a server and entity) got."""
        row = self.conn.execute(
            f"SELECT seq, hist_seq, done, {'media_seq' if self._has_media() else '0'}"
            " FROM uploads WHERE rk = ? AND target = ?",
            (rk, target),
        ).fetchone()
        if row is None:
            return UploadState(0, 0, False)
        return UploadState(int(row[0]), int(row[1]), bool(row[2]), int(row[3]))

    def upload_targets(self, rk: int) -> list[str]:
        """Where run `rk` has been uploaded to, or was going to be."""
        rows = self.conn.execute("SELECT target FROM uploads WHERE rk = ? ORDER BY target", (rk,))
        return [str(r[0]) for r in rows]

    def set_upload_state(self, rk: int, target: str, state: UploadState) -> None:
        with self.transaction() as c:
            c.execute(
                "INSERT INTO uploads (rk, target, seq, hist_seq, done, media_seq)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (rk, target) DO UPDATE SET"
                " seq = excluded.seq, hist_seq = excluded.hist_seq, done = excluded.done,"
                " media_seq = excluded.media_seq",
                (rk, target, state.seq, state.hist_seq, int(state.done), state.media_seq),
            )

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


def _put_fields(c: sqlite3.Connection, rk: int, fields: dict[str, Any]) -> None:
    """UPDATE the run row's `fields` (the user's summary into its own table), in the
    caller's transaction."""
    user = fields.pop("user_summary", None)
    cols = list(fields)
    if cols:
        values = [dumps(fields[k]) if k in JSON_COLUMNS else fields[k] for k in cols]
        c.execute(
            f"UPDATE runs SET {', '.join(f'{k} = ?' for k in cols)} WHERE rk = ?", [*values, rk]
        )
    if user is not None:
        c.execute(_PUT_USER_SUMMARY, (rk, dumps(user)))


@dataclass
class RawChunks:
    """Stored chunks as they are: what an upload sends. Rows of `scalars`:
    ``(seq, key, n, step_first, step_last, stride, steps, vals)``; of `histograms`:
    ``(seq, key, step, lo, hi, counts, stats)``. `seq` and `hist_seq` are the positions
    after them; `more` says the size limit left some for the next call."""

    scalars: list[tuple[Any, ...]]
    histograms: list[tuple[Any, ...]]
    seq: int
    hist_seq: int
    more: bool


class UploadState(NamedTuple):
    seq: int
    hist_seq: int
    done: bool  # the run ended and everything of it is on the server
    media_seq: int = 0


class MediaRow(NamedTuple):
    """One stored media entry: a key's images (or table, plot, ...) at one step. `payload`
    is the JSON of ``nbtrack.media`` (files named as in `media_files`)."""

    seq: int
    key: str
    step: int
    kind: str
    payload: dict[str, Any]


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
    """The state a reader should see: a 'running' run whose process is gone is 'crashed'.

    On the run's own host its process decides, however long its writer has been silent
    (one long C call, a debugger, a stopped process): alive, and the same process that
    created the run (its start time matches, so not a reused pid), means running. Of a run
    on another host only the heartbeat tells: silent for `STALE_AFTER_S` means crashed.
    """
    state = str(row["state"])
    if state != "running":
        return state
    pid = row.get("pid")
    if row.get("host") == HOST and pid:
        started = row.get("proc_start")
        alive = _pid_alive(int(pid), int(started) if started is not None else None)
        return state if alive else "crashed"
    now = time.time() if now is None else now
    if now - float(row["heartbeat_at"]) > STALE_AFTER_S:
        return "crashed"
    return state


def process_start(pid: int) -> int | None:
    """When process `pid` started, in clock ticks after boot (Linux); None where unknown.

    Field 22 of /proc/<pid>/stat: one small read, and with the pid it names one process for
    the whole uptime of the machine.
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            # The command name (field 2) may hold spaces and parentheses: split after it.
            return int(f.read().rsplit(")", 1)[-1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _pid_alive(pid: int, started: int | None = None) -> bool:
    """Whether `pid` runs, and (when `started` is known) is the process that started then."""
    if started is not None:
        now_started = process_start(pid)
        if now_started is not None:
            # /proc answers for living processes; a zombie's entry stays until it is reaped.
            return now_started == started and not _zombie(pid)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    # A zombie (killed, not yet reaped by its parent) is gone for our purposes.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return False

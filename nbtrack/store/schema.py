"""The store's layout: its tables, its version, and the steps from older layouts to this one.

``meta`` holds three keys:

- ``schema_version``: the layout of the file (`SCHEMA_VERSION` when this nbtrack wrote it);
- ``read_version``: the oldest schema version whose reader can read the file (a layout that
  only adds columns leaves it low, so an older nbtrack still reads a newer store);
- ``nbtrack_version``: the nbtrack that last opened it for writing, named in the messages.

A writer migrates an older store in place, in one transaction under the write lock, with
steps that are idempotent; a reader never writes, and reads an older layout as it is.

Versions:

0. no ``meta`` table (never written by a released nbtrack, but cheap to accept);
1. the first layout; some version-1 stores lack ``runs.alerts``, added without a bump;
2. ``runs.alerts`` in every store, ``runs.proc_start``; the table ``summaries`` (the entries
   the user set on a run's summary, written only when they change; ``runs.summary`` then
   holds the last logged values alone); ``read_version`` and ``nbtrack_version`` in ``meta``.
3. the table ``uploads``: per run and server, how far the uploader got (the durable cursor
   of `nbtrack.sync`); readers of versions 1 and 2 never look at it.
4. the table ``media`` (one row per logged image list, table, plot, video, sound or page, at
   one key and step: its ``payload`` JSON names the files of ``nbtrack.store.media_files``),
   media keys in ``keys`` with kind ``'m'``, and ``uploads.media_seq``; a reader of an older
   layout finds no media.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nbtrack._version import __version__
from nbtrack.errors import StoreNotFoundError, StoreVersionError

SCHEMA_VERSION = 4
# Versions 2 to 4 only added columns and a table: a version-1 reader selects the ones it knows and reads on.
READ_VERSION = 1

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
    proc_start INTEGER,
    UNIQUE (project, id)
);
CREATE TABLE IF NOT EXISTS summaries (rk INTEGER PRIMARY KEY, user TEXT NOT NULL DEFAULT '{}');
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
CREATE TABLE IF NOT EXISTS uploads (
    rk INTEGER NOT NULL,
    target TEXT NOT NULL,
    seq INTEGER NOT NULL DEFAULT 0,
    hist_seq INTEGER NOT NULL DEFAULT 0,
    done INTEGER NOT NULL DEFAULT 0,
    media_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (rk, target)
);
CREATE TABLE IF NOT EXISTS media (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    rk INTEGER NOT NULL,
    kid INTEGER NOT NULL,
    step INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS media_by_key ON media (rk, kid, seq);
CREATE INDEX IF NOT EXISTS media_by_run ON media (rk, seq)
"""
# One statement at a time: `executescript` would commit the migration's transaction.
_STATEMENTS = [s.strip() for s in _SCHEMA.split(";") if s.strip()]
TABLES = ("meta", "runs", "keys", "scalars", "histograms")

# fmt: off
RUN_COLUMN_NAMES = (
    "rk", "project", "id", "name", "notes", "tags", "config", "summary", "metadata", "state",
    "created_at", "updated_at", "heartbeat_at", "finished_at", "exit_code", "error", "pid",
    "host", "last_step", "alerts", "proc_start", "user_summary",
)
# fmt: on
# The entries the user set on the summary live in a table of their own: SQLite rewrites a
# whole row on every UPDATE, and the run row is updated with every batch.
_USER_SUMMARY = (
    "COALESCE((SELECT user FROM summaries s WHERE s.rk = runs.rk), '{}') AS user_summary"
)
RUN_COLUMNS = ", ".join([*RUN_COLUMN_NAMES[:-1], _USER_SUMMARY])
# Columns of `runs` that layouts before version 2 may lack, and what a reader takes for them.
_ADDED_IN_2 = {
    "alerts": ("TEXT NOT NULL DEFAULT '[]'", "'[]'"),
    "proc_start": ("INTEGER", "NULL"),
}


@dataclass(frozen=True)
class Layout:
    """What an open store's file holds, as far as the version checks need."""

    tables: frozenset[str]
    meta: dict[str, str]
    run_columns: frozenset[str]

    @property
    def version(self) -> int:
        return _int(self.meta.get("schema_version"), 0)

    @property
    def read_version(self) -> int:
        # A newer layout that does not say who can read it: take it as unreadable.
        return _int(self.meta.get("read_version"), self.version)

    @property
    def writer(self) -> str:
        return self.meta.get("nbtrack_version", "an nbtrack older than 0.1")

    @property
    def current(self) -> bool:
        return (
            self.version == SCHEMA_VERSION
            and self.meta.get("read_version") == str(READ_VERSION)
            and self.meta.get("nbtrack_version") == __version__
        )


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return 10**9  # not a number we ever wrote: treat as from the future


def read_layout(conn: sqlite3.Connection) -> Layout:
    tables = frozenset(
        r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    )
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall()) if "meta" in tables else {}
    cols = (
        frozenset(r[1] for r in conn.execute("PRAGMA table_info(runs)"))
        if "runs" in tables
        else frozenset()
    )
    return Layout(tables, meta, cols)


def _newer(path: Path, layout: Layout, doing: str) -> StoreVersionError:
    return StoreVersionError(
        f"nbtrack: the store {path} has schema version {layout.version}, written by nbtrack "
        f"{layout.writer}; this nbtrack ({__version__}) {doing} schema versions up to "
        f"{SCHEMA_VERSION}. To use it, upgrade nbtrack (pip install -U nbtrack); to keep this "
        "nbtrack, point dir= / NBTRACK_DIR at another folder"
    )


# -- writing ------------------------------------------------------------------------------


def _to_1(conn: sqlite3.Connection) -> None:
    """Every table and index (a new store, or one of version 0, which lacked ``meta``)."""
    for statement in _STATEMENTS:
        conn.execute(statement)


def _to_2(conn: sqlite3.Connection) -> None:
    """``runs.alerts`` where a version-1 store lacks it, ``runs.proc_start``, ``summaries``."""
    have = {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
    for name, (declaration, _) in _ADDED_IN_2.items():
        if name not in have:
            conn.execute(f"ALTER TABLE runs ADD COLUMN {name} {declaration}")
    conn.execute(next(st for st in _STATEMENTS if "summaries" in st))


def _to_3(conn: sqlite3.Connection) -> None:
    """The table ``uploads``."""
    conn.execute(next(st for st in _STATEMENTS if "uploads" in st))


def _to_4(conn: sqlite3.Connection) -> None:
    """The table ``media`` and its indexes, and ``uploads.media_seq``."""
    have = {r[1] for r in conn.execute("PRAGMA table_info(uploads)")}
    if "media_seq" not in have:
        conn.execute("ALTER TABLE uploads ADD COLUMN media_seq INTEGER NOT NULL DEFAULT 0")
    for st in _STATEMENTS:
        if "media" in st and "uploads" not in st:
            conn.execute(st)


_MIGRATIONS: list[tuple[int, Callable[[sqlite3.Connection], None]]] = [
    (1, _to_1),
    (2, _to_2),
    (3, _to_3),
    (4, _to_4),
]


def prepare_for_writing(conn: sqlite3.Connection, path: Path) -> None:
    """Create, migrate and stamp the layout, or refuse a store of a newer nbtrack."""
    layout = read_layout(conn)
    if layout.current:
        return  # the common case: no write, no lock
    if layout.version > SCHEMA_VERSION:
        raise _newer(path, layout, "writes")
    # IMMEDIATE: two processes opening an old store at once migrate it one after the other;
    # the second finds it done when it reads the layout again under the lock.
    conn.execute("BEGIN IMMEDIATE")
    try:
        layout = read_layout(conn)
        if layout.version > SCHEMA_VERSION:
            raise _newer(path, layout, "writes")
        for version, step in _MIGRATIONS:
            if layout.version < version:
                step(conn)
        conn.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            [
                ("schema_version", str(SCHEMA_VERSION)),
                ("read_version", str(READ_VERSION)),
                ("nbtrack_version", __version__),
            ],
        )
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


# -- reading ------------------------------------------------------------------------------


def run_columns_for_reading(conn: sqlite3.Connection, path: Path) -> str:
    """The SELECT list of `RUN_COLUMN_NAMES` for this store's layout, read without writing."""
    layout = read_layout(conn)
    if not layout.tables:
        raise StoreNotFoundError(
            f"nbtrack: {path} is an empty database, not yet an nbtrack store (a run starting "
            "there right now creates it; otherwise point dir= / NBTRACK_DIR at another store)"
        )
    if layout.read_version > SCHEMA_VERSION:
        raise _newer(path, layout, "reads")
    missing = [t for t in TABLES[1:] if t not in layout.tables]
    out = []
    for name in RUN_COLUMN_NAMES:
        if name == "user_summary":
            out.append(_USER_SUMMARY if "summaries" in layout.tables else "'{}' AS user_summary")
        elif name in layout.run_columns:
            out.append(name)
        elif name in _ADDED_IN_2 and layout.version < 2:
            out.append(f"{_ADDED_IN_2[name][1]} AS {name}")
        else:
            missing.append(f"runs.{name}")
    if missing:
        raise StoreVersionError(
            f"nbtrack: the store {path} (schema version {layout.version}, written by nbtrack "
            f"{layout.writer}) lacks {', '.join(missing)}, so this nbtrack ({__version__}) "
            "cannot read it; is it an nbtrack store? If a newer nbtrack wrote it, upgrade"
        )
    return ", ".join(out)

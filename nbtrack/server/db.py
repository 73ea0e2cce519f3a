"""The server's database: engines, transactions, and Alembic's migrations.

SQLite (the embedded default) serves one process: every write takes the write lock up front
(``BEGIN IMMEDIATE``), so two requests never both read and then fail to write. PostgreSQL
serves any number of worker processes; rows that must not be updated twice at once (a
run's ingest sequence) are locked by the statement that changes them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text

MIGRATIONS = Path(__file__).parent / "migrations"
# Any 64-bit number, the same in every worker: the lock that runs migrations one at a time.
_MIGRATION_LOCK = 0x6E627472


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_engine(url: str, begin: str) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _: Any) -> None:
        # Our own BEGIN (below) instead of pysqlite's, which starts a transaction late.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA busy_timeout = 30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)

    return engine


@dataclass
class Database:
    """Engines for one database URL; `write()` and `read()` give a connection in a
    transaction that commits when the block ends without an error."""

    url: str
    pool_size: int = 10
    _write: Engine = field(init=False)
    _read: Engine = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if is_sqlite(self.url):
            self._write = _sqlite_engine(self.url, "BEGIN IMMEDIATE")
            self._read = _sqlite_engine(self.url, "BEGIN")
        else:
            self._write = self._read = create_engine(
                self.url, pool_size=self.pool_size, max_overflow=20, pool_pre_ping=True
            )

    @property
    def sqlite(self) -> bool:
        return is_sqlite(self.url)

    @property
    def dialect(self) -> str:
        return self._write.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        if self.sqlite:
            # One writer at a time in this process; SQLite would make the others wait anyway.
            with self._lock, self._write.begin() as conn:
                yield conn
        else:
            with self._write.begin() as conn:
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._read.begin() as conn:
            yield conn

    def dispose(self) -> None:
        self._write.dispose()
        self._read.dispose()


def _alembic_config(conn: Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (creating its tables the first time)."""
    from alembic import command

    db = Database(url, pool_size=1)
    try:
        with db.write() as conn:
            if not db.sqlite:
                # Several workers (or machines) starting at once migrate one after another.
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            command.upgrade(_alembic_config(conn), revision)
    finally:
        db.dispose()


def downgrade(url: str, revision: str) -> None:
    from alembic import command

    db = Database(url, pool_size=1)
    try:
        with db.write() as conn:
            command.downgrade(_alembic_config(conn), revision)
    finally:
        db.dispose()


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    db = Database(url, pool_size=1)
    try:
        with db.read() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        db.dispose()

"""A real `nbtrack server` process for tests: started on a free port on 127.0.0.1, waited
for, killed (SIGKILL) and restarted on the same port and database, stopped at the end; and
emptied between tests (`reset`), so that one process can serve a whole module's tests, each
on what reads as a fresh database."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from nbtrack.server import accounts
from nbtrack.server.db import Database, is_sqlite, migrate
from tests.helpers import child_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_SQLITE_TEMPLATE: list[Path] = []


def _sqlite_template() -> Path:
    """A SQLite database migrated to the newest layout, made once per test process: a copy
    of it is what `migrate` would make of a new file, in a millisecond instead of half a
    second of Alembic."""
    if not _SQLITE_TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="nbtrack-sqlite-template-"))
        atexit.register(shutil.rmtree, folder, True)
        made = folder / "made.db"
        migrate(f"sqlite:///{made}")
        # One self-contained file: whatever the migration left in the write-ahead log is
        # moved into it, and the copy is a rollback-journal database, as a new file is (the
        # server switches it to WAL when it connects).
        conn = sqlite3.connect(made)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode = DELETE")
        finally:
            conn.close()
        _SQLITE_TEMPLATE.append(made)
    return _SQLITE_TEMPLATE[0]


def prepare_database(url: str) -> None:
    """Bring the database at `url` to the newest layout, as `migrate(url)` does; a SQLite
    file that does not exist yet is copied from the migrated template instead."""
    if url.startswith("sqlite:///") and "?" not in url:
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(_sqlite_template(), path)
            return
    migrate(url)


@dataclass
class User:
    name: str
    password: str
    key: str


class ServerProcess:
    def __init__(
        self,
        data: Path,
        database_url: str | None = None,
        workers: int = 1,
        port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.env = env or {}
        self.data = data
        self.database_url = database_url or f"sqlite:///{data / 'server.db'}"
        self.workers = workers
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data / "server.log"
        data.mkdir(parents=True, exist_ok=True)
        prepare_database(self.database_url)

    def start(self, timeout: float = 60.0) -> ServerProcess:
        cmd = [
            sys.executable, "-m", "nbtrack.cli", "server", "--port", str(self.port),
            "--data", str(self.data), "--database-url", self.database_url,
            "--workers", str(self.workers),
        ]  # fmt: skip
        log = open(self.log, "ab")  # noqa: SIM115 (the process owns it until it ends)
        # Its own process group: a kill reaches uvicorn's worker processes too.
        self.proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=child_env(**self.env),
            start_new_session=True,
        )
        log.close()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"the server exited ({self.proc.returncode}):\n{self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/api/v1/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.05)
        raise TimeoutError(f"the server did not answer in {timeout} s:\n{self.tail()}")

    def tail(self, n: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL the server and its workers: no shutdown, no goodbye to clients."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()
        self.proc = None

    def restart(self) -> None:
        self.kill()
        self.start()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def reset(self) -> None:
        """Make the server as a new one on a new database: every table emptied but Alembic's
        (identities restarted, so ids count from 1 again), every file it wrote in its data
        folder removed (folders stay, as the server may hold them), and the process started
        again if a test stopped, killed or crashed it."""
        if not self.running:
            self.kill()
            self.start()
        db = self.db()
        try:
            with db.write() as conn:
                tables = [t for t in sa.inspect(conn).get_table_names() if t != "alembic_version"]
                if db.sqlite:
                    # Foreign keys are checked at the commit, when every table is empty.
                    conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
                    for t in tables:
                        conn.exec_driver_sql(f'DELETE FROM "{t}"')
                    if conn.exec_driver_sql(
                        "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'"
                    ).first():
                        conn.exec_driver_sql("DELETE FROM sqlite_sequence")
                elif tables:
                    # A stream the last test left open may still be in a transaction: wait
                    # for it a while, then say so rather than hang.
                    conn.exec_driver_sql("SET LOCAL lock_timeout = '30s'")
                    names = ", ".join(f'"{t}"' for t in tables)
                    conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY")
        finally:
            db.dispose()
        keep = {self.log.resolve()}
        if is_sqlite(self.database_url):
            main = Path(self.database_url.removeprefix("sqlite:///").split("?")[0]).resolve()
            keep |= {main.with_name(main.name + end) for end in ("", "-wal", "-shm", "-journal")}
        for path in self.data.rglob("*"):
            if path.is_file() and path.resolve() not in keep:
                path.unlink()

    # -- accounts, straight in the database ---------------------------------------------

    def db(self) -> Database:
        return Database(self.database_url, pool_size=1)

    def create_user(self, name: str, password: str = "correct horse 1") -> User:
        db = self.db()
        try:
            key = accounts.create_user(db, name, password)
        finally:
            db.dispose()
        return User(name, password, key)

    def call(self, method: str, path: str, key: str | None = None, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kw)


def sqlite_server_fixture(tmp_path: Path) -> Iterator[ServerProcess]:
    """The body of the fixtures that give a test a running `nbtrack server` on its embedded
    SQLite database, in the test's ``tmp_path``: ``sqlite_server`` in tests/server/conftest.py
    and, outside tests/server (whose conftest does not reach there), the same taken with
    ``pytest.fixture(sqlite_server_fixture, name="team_server")``."""
    s = ServerProcess(tmp_path / "server").start()
    yield s
    s.stop()


def shared_server(data: Path, database_url: str | None = None) -> Iterator[ServerProcess]:
    """The body of a module-scoped fixture: one server for many tests, each of which takes
    it through a function-scoped fixture that calls `reset` first (tests/server/conftest.py:
    ``server`` and ``sqlite_server``). Starting a server costs seconds; emptying it, a few
    milliseconds."""
    s = ServerProcess(data, database_url).start()
    try:
        yield s
    finally:
        s.stop()

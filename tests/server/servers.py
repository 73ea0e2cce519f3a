"""A real `nbtrack server` process for tests: started on a free port on 127.0.0.1, waited
for, killed (SIGKILL) and restarted on the same port and database, stopped at the end."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from nbtrack.server import accounts
from nbtrack.server.db import Database, migrate
from tests.helpers import child_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        migrate(self.database_url)

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
            time.sleep(0.1)
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

"""Fixtures for the server tests: one real PostgreSQL cluster per session, a fresh database per
test, and ``database_url`` to run a test on both SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.postgres import PostgresCluster
from tests.server.servers import ServerProcess, sqlite_server_fixture


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """The session's PostgreSQL cluster (started on first use, stopped and removed at the end)."""
    with PostgresCluster() as cluster:
        yield cluster


@pytest.fixture
def pg_url(postgres: PostgresCluster) -> Iterator[str]:
    """SQLAlchemy URL of a new, empty database, dropped after the test."""
    url = postgres.create_database()
    yield url
    # Each database copies template1 (~8 MB): dropping them keeps a long session's disk use
    # flat. FORCE ends connections a test's engine may still hold in its pool.
    postgres.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for the server, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/server.db"
    # Looked up only here, so the sqlite variant runs without PostgreSQL installed.
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[ServerProcess]:
    """A running `nbtrack server` on this test's database, once per backend."""
    s = ServerProcess(tmp_path / "server", database_url).start()
    yield s
    s.stop()


# A running `nbtrack server` on its embedded SQLite database (tests elsewhere take the same).
sqlite_server = pytest.fixture(sqlite_server_fixture, name="sqlite_server")

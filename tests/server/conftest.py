"""Fixtures for the server tests: one real PostgreSQL cluster per session, a fresh database per
test, and ``database_url`` to run a test on both SQLite and PostgreSQL.

Starting a server process takes seconds, so ``server`` and ``sqlite_server`` are one process
per test module (and backend), emptied before each test (`ServerProcess.reset`): a test sees
a server with no users, no runs and nothing in its data folder, as a new one would be. A test
that needs a server of its own (other settings, several workers, its own database) starts a
`ServerProcess` itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nbtrack.server.db import migrate
from tests.server.postgres import PostgresCluster
from tests.server.servers import ServerProcess, shared_server

BACKENDS = ["sqlite", "postgresql"]
TEMPLATE = "nbtrack_template"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """The session's PostgreSQL cluster (started on first use, stopped and removed at the end)."""
    with PostgresCluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def pg_template(postgres: PostgresCluster) -> str:
    """The name of a database migrated to the newest layout, made once per session, that
    ``migrated_pg_url`` copies: a copy takes a fraction of Alembic's time."""
    url = postgres.create_database(TEMPLATE)
    migrate(url)  # closes its connections: a database is copied only while nobody is on it
    return TEMPLATE


@pytest.fixture
def pg_url(postgres: PostgresCluster) -> Iterator[str]:
    """SQLAlchemy URL of a new, empty database, dropped after the test."""
    url = postgres.create_database()
    yield url
    # Each database copies template1 (~8 MB): dropping them keeps a long session's disk use
    # flat. FORCE ends connections a test's engine may still hold in its pool.
    postgres.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture
def migrated_pg_url(postgres: PostgresCluster, pg_template: str) -> Iterator[str]:
    """SQLAlchemy URL of a new database at the newest layout (as `migrate` leaves an empty
    one), dropped after the test."""
    url = postgres.create_database(template=pg_template)
    yield url
    postgres.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture(scope="module", params=BACKENDS, ids=BACKENDS)
def server_backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql``: a module-wide parameter, so that pytest runs a module's
    tests backend by backend and each backend's server starts once per module."""
    return str(request.param)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path, server_backend: str) -> str:
    """A new, empty database's URL (nothing migrated), once per backend."""
    if server_backend == "sqlite":
        return f"sqlite:///{tmp_path}/server.db"
    # Looked up only here, so the sqlite variant runs without PostgreSQL installed.
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(scope="module")
def _module_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, server_backend: str
) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp(f"server-{server_backend}")
    if server_backend == "sqlite":
        yield from shared_server(data / "server")
        return
    postgres: PostgresCluster = request.getfixturevalue("postgres")
    url = postgres.create_database(template=request.getfixturevalue("pg_template"))
    try:
        yield from shared_server(data / "server", url)
    finally:
        postgres.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture
def server(_module_server: ServerProcess) -> ServerProcess:
    """A running `nbtrack server` with an empty database, once per backend."""
    _module_server.reset()
    return _module_server


@pytest.fixture(scope="module")
def _module_sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from shared_server(tmp_path_factory.mktemp("sqlite-server") / "server")


@pytest.fixture
def sqlite_server(_module_sqlite_server: ServerProcess) -> ServerProcess:
    """A running `nbtrack server` on its embedded SQLite database, empty (tests outside
    tests/server take a server of their own with ``sqlite_server_fixture``)."""
    _module_sqlite_server.reset()
    return _module_sqlite_server

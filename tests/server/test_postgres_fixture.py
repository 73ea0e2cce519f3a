"""The PostgreSQL fixtures themselves: a real server that keeps what it committed across a crash,
reachable from this machine only."""

from __future__ import annotations

import socket
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from tests.server.postgres import HOST, PostgresCluster

pytestmark = pytest.mark.server


def _dsn(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_committed_row_survives_immediate_stop(postgres: PostgresCluster, pg_url: str) -> None:
    with psycopg.connect(_dsn(pg_url)) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        conn.execute("INSERT INTO t VALUES (1, 'kept')")
        conn.commit()
    try:
        # -m immediate skips the shutdown checkpoint, so the row comes back only by WAL replay.
        postgres.stop_immediate()
        assert not postgres.running
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(_dsn(pg_url), connect_timeout=2).close()
    finally:
        # The cluster is the session's: later tests need it up even if this one failed.
        postgres.start()
    with psycopg.connect(_dsn(pg_url)) as conn:
        assert conn.execute("SELECT v FROM t").fetchall() == [("kept",)]
    assert "database system was interrupted" in postgres.logfile.read_text()


def _listening_addresses(port: int) -> list[str]:
    """Local addresses of the TCP sockets listening on ``port``, as the kernel lists them."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            addr, port_hex = fields[1].split(":")
            if fields[3] == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                found.append(addr)
    return found


def test_listens_on_loopback_only(postgres: PostgresCluster) -> None:
    with psycopg.connect(postgres.dsn) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == (HOST,)
    if not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net/tcp to list listening sockets")
    # /proc/net/tcp writes 127.0.0.1 as the little-endian hex of its four bytes.
    assert _listening_addresses(postgres.port) == ["0100007F"]


def test_other_addresses_of_this_machine_are_refused(postgres: PostgresCluster) -> None:
    # The address a packet to the outside would leave from; no route means no such address.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent for a UDP connect
            own = s.getsockname()[0]
        except OSError:
            own = None
    if own is None or own.startswith("127."):
        pytest.skip("this machine has no address besides loopback")
    with pytest.raises(ConnectionRefusedError), socket.create_connection((own, postgres.port), 2):
        pass


def test_pg_url_is_a_new_empty_database(postgres: PostgresCluster, pg_url: str) -> None:
    name = sa.make_url(pg_url).database
    assert name is not None and name.startswith("test_")
    with psycopg.connect(_dsn(pg_url)) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
        assert tables == (0,)
        assert conn.execute("SHOW server_encoding").fetchone() == ("UTF8",)


def test_database_url_serves_sqlalchemy(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (id integer PRIMARY KEY, v text)"))
            conn.execute(sa.text("INSERT INTO t VALUES (1, 'x')"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT v FROM t")).scalar_one() == "x"
    finally:
        engine.dispose()


def test_close_removes_everything() -> None:
    with PostgresCluster() as cluster:
        tmpdir, port = cluster.tmpdir, cluster.port
        assert cluster.running
    assert not tmpdir.exists()
    with pytest.raises(ConnectionRefusedError), socket.create_connection((HOST, port), 2):
        pass

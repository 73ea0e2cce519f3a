"""A throwaway PostgreSQL cluster for the server tests, started from the installed binaries.

The tests never use a system service: each session runs ``initdb`` into a fresh temporary
folder and starts its own ``postgres`` on 127.0.0.1 and a free port, so nothing depends on
how the machine is configured and nothing is left behind.

Running from root: PostgreSQL refuses to start as root (``initdb`` and ``postgres`` both exit
with "cannot be run as root"). The documented way round it is to run the server as an
unprivileged user that owns the data directory (PostgreSQL manual, "Creating a Database
Cluster" and "The PostgreSQL User Account"). So when ``os.geteuid() == 0`` every
``initdb``/``pg_ctl`` call goes through ``runuser -u USER --`` (``setpriv`` where runuser is
missing) with USER the ``postgres`` system user that Debian's package makes, or ``nobody``
without it, and the temporary folder is chowned to that user first. Only the server runs as
that user; the tests keep connecting over TCP as the cluster's superuser ``nbtrack``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
import weakref
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql

SUPERUSER = "nbtrack"
HOST = "127.0.0.1"

# fsync stays on: a chaos test stops the server with -m immediate and checks that nothing
# committed is lost, which fsync=off would make a matter of luck.
SERVER_SETTINGS = {
    "fsync": "on",
    "synchronous_commit": "on",
    "max_connections": "200",
    "shared_buffers": "64MB",
}


class PostgresNotInstalled(RuntimeError):
    pass


class PostgresStartError(RuntimeError):
    pass


def find_bindir() -> Path:
    """The newest installed PostgreSQL's bin folder (the one holding initdb)."""
    candidates: list[tuple[tuple[int, ...], Path]] = []
    for d in Path("/usr/lib/postgresql").glob("*/bin"):
        if (d / "initdb").is_file():
            version = tuple(int(p) for p in re.findall(r"\d+", d.parent.name))
            candidates.append((version, d))
    if candidates:
        return max(candidates)[1]
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if out and (Path(out) / "initdb").is_file():
            return Path(out)
    raise PostgresNotInstalled(
        "PostgreSQL's server binaries (initdb, pg_ctl, postgres) were not found under "
        "/usr/lib/postgresql/*/bin nor by `pg_config --bindir`; run `scripts/setup.sh --test`, "
        "which installs Debian's postgresql package"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _server_user() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise PostgresStartError(
        "running as root, but neither a `postgres` nor a `nobody` user exists to run "
        "PostgreSQL as (it refuses to run as root)"
    )


def _as_user_prefix(user: pwd.struct_passwd) -> list[str]:
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", user.pw_name, "--"]
    setpriv = shutil.which("setpriv")
    if setpriv:
        return [
            setpriv,
            f"--reuid={user.pw_uid}",
            f"--regid={user.pw_gid}",
            "--clear-groups",
            "--",
        ]
    raise PostgresStartError("running as root, but neither runuser nor setpriv is installed")


def _clean_env() -> dict[str, str]:
    # PGHOST, PGPORT, PGDATA, PGOPTIONS... from the developer's shell would otherwise steer
    # pg_ctl and the server away from the cluster we made.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


def _stop_and_remove(prefix: list[str], pg_ctl: Path, datadir: Path, tmpdir: Path) -> None:
    # A finalizer, so it must not hold the cluster object: it gets only what it needs.
    if (datadir / "postmaster.pid").exists():
        subprocess.run(
            [*prefix, str(pg_ctl), "stop", "-D", str(datadir), "-m", "immediate", "-w"],
            cwd=tmpdir,
            env=_clean_env(),
            capture_output=True,
            check=False,
        )
    shutil.rmtree(tmpdir, ignore_errors=True)


class PostgresCluster:
    """One PostgreSQL cluster in its own temporary folder, listening on 127.0.0.1 only.

    ``PostgresCluster()`` runs initdb and starts the server; ``close()`` (or leaving the
    ``with`` block) stops it and removes the folder. ``stop()``/``stop_immediate()`` and
    ``start()`` restart it on the same port and data directory, as a crashed and restarted
    server would come back.
    """

    def __init__(self, bindir: Path | None = None, port: int | None = None) -> None:
        self.bindir = bindir or find_bindir()
        self._fixed_port = port is not None
        self.port = port or free_port()
        self.tmpdir = Path(tempfile.mkdtemp(prefix="nbtrack-pg-"))
        self.datadir = self.tmpdir / "data"
        self.logfile = self.tmpdir / "server.log"
        self._prefix: list[str] = []
        self._finalizer = weakref.finalize(
            self, _stop_and_remove, self._prefix, self.bindir / "pg_ctl", self.datadir, self.tmpdir
        )
        try:
            if os.geteuid() == 0:
                user = _server_user()
                # Filled in place: the finalizer holds this very list.
                self._prefix.extend(_as_user_prefix(user))
                os.chown(self.tmpdir, user.pw_uid, user.pw_gid)
                self._check_reachable(user.pw_name)
            self._initdb()
            self.start()
        except BaseException:
            self.close()
            raise

    # -- addresses -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database."""
        return self.url_for("postgres")

    @property
    def dsn(self) -> str:
        """libpq connection string of the ``postgres`` database."""
        return self.dsn_for("postgres")

    def url_for(self, dbname: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@{HOST}:{self.port}/{dbname}"

    def dsn_for(self, dbname: str) -> str:
        return f"host={HOST} port={self.port} user={SUPERUSER} dbname={dbname}"

    # -- databases -------------------------------------------------------------------------

    def create_database(self, name: str | None = None, template: str | None = None) -> str:
        """Create a new database and return its SQLAlchemy URL: empty, or a copy of the
        database `template` (which nothing may be connected to meanwhile)."""
        name = name or f"test_{uuid.uuid4().hex}"
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=10) as conn:
            conn.execute(query)
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, ending whatever sessions are still connected to it."""
        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=10) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    # -- life cycle ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return (self.datadir / "postmaster.pid").exists()

    def start(self, timeout: float = 60) -> None:
        """Start the server (again) on the same port and data directory; wait until it serves."""
        if self.running:
            return
        for attempt in range(3):
            proc = self._pg_ctl(
                "start",
                "-w",
                "-t",
                str(int(timeout)),
                "-l",
                str(self.logfile),
                "-o",
                self._server_options(),
            )
            if proc.returncode == 0:
                self.wait_ready(timeout)
                # From now on clients know this port: a restart must come back on it.
                self._fixed_port = True
                return
            # The free port was only free when we looked: another process may have bound it
            # since. A port the caller fixed, or one already used, is not ours to change.
            if (
                not self._fixed_port
                and attempt < 2
                and "Address already in use" in self._log_tail()
                and not self.running
            ):
                self.port = free_port()
                continue
            raise PostgresStartError(
                f"pg_ctl start failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}"
                f"\n--- {self.logfile} ---\n{self._log_tail()}"
            )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server with ``pg_ctl stop -m MODE`` (smart, fast or immediate)."""
        if not self.running:
            return
        proc = self._pg_ctl("stop", "-m", mode, "-w")
        if proc.returncode != 0:
            raise RuntimeError(
                f"pg_ctl stop -m {mode} failed (exit {proc.returncode}):\n"
                f"{proc.stdout}{proc.stderr}\n--- {self.logfile} ---\n{self._log_tail()}"
            )

    def stop_immediate(self) -> None:
        """Stop as a crash would: no checkpoint, the next start() runs WAL recovery."""
        self.stop("immediate")

    def wait_ready(self, timeout: float = 30) -> None:
        """Wait until a client can connect and run a query."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.dsn, connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as e:
                last = e
                time.sleep(0.05)
        raise PostgresStartError(
            f"PostgreSQL on {HOST}:{self.port} did not accept connections within {timeout} s: "
            f"{last}\n--- {self.logfile} ---\n{self._log_tail()}"
        )

    def close(self) -> None:
        """Stop the server and remove its folder; safe to call twice."""
        if self._finalizer.alive and self.running:
            with contextlib.suppress(Exception):
                self.stop("fast")
        self._finalizer()

    def __enter__(self) -> PostgresCluster:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------

    def _server_options(self) -> str:
        # -k puts the unix socket inside our folder: the system's /var/run/postgresql may not
        # exist or be writable, and a socket there would clash with the system cluster's.
        opts = [f"-h {HOST}", f"-p {self.port}", f"-k {self.tmpdir}"]
        opts += [f"-c {k}={v}" for k, v in SERVER_SETTINGS.items()]
        return " ".join(opts)

    def _run(self, *cmd: str) -> subprocess.CompletedProcess[str]:
        # cwd is our folder because the server user may not be allowed into the caller's.
        return subprocess.run(
            [*self._prefix, *cmd],
            cwd=self.tmpdir,
            env=_clean_env(),
            capture_output=True,
            text=True,
            check=False,
        )

    def _pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args)

    def _initdb(self) -> None:
        proc = self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.datadir),
            "-A",
            "trust",
            "-U",
            SUPERUSER,
            "--no-sync",
            "--encoding=UTF8",
            "--locale=C",
        )
        if proc.returncode != 0:
            raise PostgresStartError(
                f"initdb failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}"
            )

    def _check_reachable(self, user: str) -> None:
        # With TMPDIR under root's home, the server user could not reach its own folder and
        # initdb would fail with a bare "Permission denied".
        proc = self._run("test", "-w", str(self.tmpdir))
        if proc.returncode != 0:
            raise PostgresStartError(
                f"user {user!r} cannot write to {self.tmpdir}: PostgreSQL runs as that user "
                "when the tests run as root, so every folder above it must be searchable by "
                "others (set TMPDIR to such a folder, e.g. /tmp)"
            )

    def _log_tail(self, limit: int = 4000) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-limit:]
        except OSError:
            return "(no server log)"

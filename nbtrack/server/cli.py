"""``nbtrack server``: serve, migrate, and manage users, teams and keys.

>>> $ nbtrack server --data ./team-server                # SQLite under ./team-server
>>> $ nbtrack server create-user ada --admin              # asks a password, prints a key
>>> $ nbtrack server set-public ada/fashion-cnn           # its pages open without a sign-in
>>> $ nbtrack server --database-url postgresql+psycopg://nbtrack@db/nbtrack --workers 4
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the server extra may be missing: imported where it is needed
    from nbtrack.server.db import Database

DEFAULT_DATA = "nbtrack-server"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "server",
        help="the team server (pip install 'nbtrack[server]')",
        description="Serve the team server, or manage it. With no command: serve.",
    )
    _db_args(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--workers", type=int, default=1, help="worker processes (PostgreSQL only)")
    p.set_defaults(func=_serve)
    cmds = p.add_subparsers(dest="server_command")

    c = cmds.add_parser("migrate", help="bring the database to this nbtrack's layout")
    _db_args(c)
    c.add_argument("--revision", default="head")
    c.set_defaults(func=_migrate)

    c = cmds.add_parser("create-user", help="add a user; prints their first API key once")
    _db_args(c)
    c.add_argument("name")
    c.add_argument("--admin", action="store_true")
    c.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    c.set_defaults(func=_create_user)

    # The commands that take only names.
    for name, what, positionals, func in (
        ("create-team", "add a team (an entity users log to together)", ["name"], _create_team),
        ("add-member", "let a user log to and read a team's projects", ["team", "user"],
         _add_member),
        ("create-key", "make another API key for a user (printed once)", ["user"], _create_key),
        ("list-keys", "a user's API keys (their first characters only)", ["user"], _list_keys),
    ):  # fmt: skip
        c = cmds.add_parser(name, help=what)
        _db_args(c)
        for positional in positionals:
            c.add_argument(positional)
        c.set_defaults(func=func)

    c = cmds.add_parser("revoke-key", help="revoke one of a user's keys, at once")
    _db_args(c)
    c.add_argument("user")
    c.add_argument("key_id", type=int, help="the number list-keys shows")
    c.set_defaults(func=_revoke_key)

    c = cmds.add_parser(
        "set-public",
        help="make a project public (its pages open without a sign-in), or private again",
    )
    _db_args(c)
    c.add_argument("project", metavar="ENTITY/PROJECT")
    c.add_argument("--private", action="store_true", help="make it private again")
    c.set_defaults(func=_set_public)


def _db_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        default=argparse.SUPPRESS,
        help=f"the server's folder, for its SQLite database (default ./{DEFAULT_DATA})",
    )
    p.add_argument(
        "--database-url",
        default=argparse.SUPPRESS,
        help="postgresql+psycopg://user@host/db (default: SQLite in --data; "
        "or $NBTRACK_SERVER_DATABASE_URL)",
    )


def _needs_server_extra() -> None:
    try:
        import alembic  # noqa: F401
        import fastapi  # noqa: F401
        import sqlalchemy  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as e:
        raise SystemExit(
            f"nbtrack server needs the server extra ({e.name} is missing): "
            "pip install 'nbtrack[server]'"
        ) from None


def database_url(args: argparse.Namespace) -> tuple[str, Path]:
    data = Path(getattr(args, "data", None) or DEFAULT_DATA)
    url = getattr(args, "database_url", None) or os.environ.get("NBTRACK_SERVER_DATABASE_URL")
    if not url:
        data.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{data.absolute() / 'server.db'}"
    return url, data


def _database(args: argparse.Namespace) -> Database:
    _needs_server_extra()
    from nbtrack.server.db import Database, migrate

    url, _ = database_url(args)
    migrate(url)
    return Database(url, pool_size=1)


def _serve(args: argparse.Namespace) -> int:
    _needs_server_extra()
    import uvicorn

    from nbtrack.server.db import is_sqlite, migrate

    url, data = database_url(args)
    if is_sqlite(url) and args.workers > 1:
        print(
            "nbtrack server: SQLite serves one worker process; for several, use PostgreSQL: "
            "--database-url postgresql+psycopg://user@host/db",
            file=sys.stderr,
        )
        return 2
    migrate(url)
    os.environ["NBTRACK_SERVER_DATABASE_URL"] = url
    os.environ["NBTRACK_SERVER_DATA"] = str(data)
    where = "SQLite in " + str(data) if is_sqlite(url) else "PostgreSQL"
    print(f"nbtrack server: http://{args.host}:{args.port} ({where})", flush=True)
    uvicorn.run(
        "nbtrack.server.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=3,
    )
    return 0


def _migrate(args: argparse.Namespace) -> int:
    _needs_server_extra()
    from nbtrack.server.db import current_revision, migrate

    url, _ = database_url(args)
    migrate(url, args.revision)
    print(f"nbtrack server: the database is at revision {current_revision(url)}")
    return 0


def _ask_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise SystemExit("nbtrack server: no terminal to ask a password; pass --password-stdin")
    first = getpass.getpass("Password for the web sign-in: ")
    if getpass.getpass("Again: ") != first:
        raise SystemExit("nbtrack server: the two passwords differ")
    return first


def _create_user(args: argparse.Namespace) -> int:
    from nbtrack.server import accounts

    password = _ask_password(args)
    db = _database(args)
    key = accounts.create_user(db, args.name, password, admin=args.admin)
    print(f"user {args.name} created. Their API key (shown only now; keep it secret):")
    print(key)
    return 0


def _create_team(args: argparse.Namespace) -> int:
    from nbtrack.server import accounts

    accounts.create_team(_database(args), args.name)
    print(f"team {args.name} created; add users with: nbtrack server add-member {args.name} USER")
    return 0


def _add_member(args: argparse.Namespace) -> int:
    from nbtrack.server import accounts

    accounts.add_member(_database(args), args.team, args.user)
    print(f"{args.user} is a member of {args.team}")
    return 0


def _create_key(args: argparse.Namespace) -> int:
    from nbtrack.server import accounts

    print(accounts.new_key(_database(args), args.user))
    return 0


def _list_keys(args: argparse.Namespace) -> int:
    from nbtrack.server import accounts

    keys = accounts.list_keys(_database(args), args.user)
    print(f"{'id':>4}  {'key':<14} {'created':<17} {'last used':<17} state")
    for k in keys:
        print(
            f"{k.id:>4}  {k.shown:<14} {_when(k.created_at):<17} {_when(k.last_used_at):<17} "
            f"{'revoked ' + _when(k.revoked_at) if k.revoked_at else 'live'}"
        )
    return 0


def _revoke_key(args: argparse.Namespace) -> int:
    from nbtrack.server import accounts

    accounts.revoke_key(_database(args), args.user, args.key_id)
    print(f"key {args.key_id} of {args.user} revoked: it is refused from now on")
    return 0


def _set_public(args: argparse.Namespace) -> int:
    from nbtrack.server import accounts

    entity, slash, project = args.project.partition("/")
    if not slash or not entity or not project or "/" in project:
        raise SystemExit(
            f"nbtrack server set-public: {args.project!r} is not ENTITY/PROJECT "
            "(e.g. ada/fashion-cnn)"
        )
    public = not args.private
    accounts.set_project_public(_database(args), entity, project, public)
    if public:
        print(f"{entity}/{project} is public: its run and project pages open without a sign-in")
    else:
        print(f"{entity}/{project} is private: only members of {entity} see it")
    return 0


def _when(t: float | None) -> str:
    return "-" if t is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(t))

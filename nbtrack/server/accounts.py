"""Users, teams, keys, and who may see what.

A project belongs to an entity: a user's own (named as the user) or a team's. A user reads
and writes the projects of their own entity and of the teams they are a member of; anyone
reads a public project. Everything else does not exist, as far as they are told (404).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from nbtrack.errors import NbtrackError
from nbtrack.server import models, security
from nbtrack.server.db import Database

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# The first part of the server's own paths: an entity of that name would have no pages
# (``/s/<token>`` and ``/v/<slug>/`` are share links', ``/api/v1/`` the API's).
RESERVED = frozenset({"api", "s", "v", "static", "login", "logout"})


class AccountError(NbtrackError, ValueError):
    """A name taken or malformed, a user or team that does not exist: the message says."""


def _check_name(what: str, name: str) -> None:
    if not NAME.match(name):
        raise AccountError(
            f"{what} name {name!r} must be 1 to 64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    if name.lower() in RESERVED:
        raise AccountError(f"{what} name {name!r} is taken by the server's own pages")


def _entity(conn: Connection, name: str) -> models.Entity | None:
    t = models.ENTITIES
    row = conn.execute(select(t).where(t.c.name == name)).first()
    return None if row is None else models.Entity(**row._mapping)


def create_user(db: Database, name: str, password: str, admin: bool = False) -> str:
    """Make user `name` with `password`; returns their first API key (shown only now)."""
    _check_name("user", name)
    if len(password) < 8:
        raise AccountError("the password must have at least 8 characters")
    hashed = security.hash_password(password)
    with db.write() as conn:
        if _entity(conn, name) is not None:
            raise AccountError(f"the name {name!r} is taken (by a user or a team)")
        eid = conn.execute(
            models.ENTITIES.insert().values(name=name, kind="user", created_at=time.time())
        ).inserted_primary_key[0]  # type: ignore[index]  # one key: never None after an INSERT
        uid = conn.execute(
            models.USERS.insert().values(entity_id=eid, password_hash=hashed, is_admin=admin)
        ).inserted_primary_key[0]  # type: ignore[index]  # one key: never None after an INSERT
        return security.create_key(conn, int(uid))


def create_team(db: Database, name: str) -> None:
    _check_name("team", name)
    with db.write() as conn:
        if _entity(conn, name) is not None:
            raise AccountError(f"the name {name!r} is taken (by a user or a team)")
        conn.execute(
            models.ENTITIES.insert().values(name=name, kind="team", created_at=time.time())
        )


def user_id(conn: Connection, name: str) -> int:
    e = _entity(conn, name)
    if e is None or e.kind != "user":
        raise AccountError(f"there is no user {name!r}")
    u = models.USERS
    return int(conn.execute(select(u.c.id).where(u.c.entity_id == e.id)).scalar_one())


def add_member(db: Database, team: str, user: str) -> None:
    with db.write() as conn:
        e = _entity(conn, team)
        if e is None or e.kind != "team":
            raise AccountError(f"there is no team {team!r} (make it with create-team)")
        uid = user_id(conn, user)
        m = models.MEMBERS
        have = conn.execute(select(m).where(m.c.team_id == e.id, m.c.user_id == uid)).first()
        if have is None:
            conn.execute(m.insert().values(team_id=e.id, user_id=uid))


def new_key(db: Database, user: str) -> str:
    with db.write() as conn:
        return security.create_key(conn, user_id(conn, user))


@dataclass(frozen=True)
class KeyInfo:
    id: int
    shown: str
    created_at: float
    last_used_at: float | None
    revoked_at: float | None


def list_keys(db: Database, user: str) -> list[KeyInfo]:
    with db.read() as conn:
        uid = user_id(conn, user)
        k = models.API_KEYS
        rows = conn.execute(
            select(k.c.id, k.c.shown, k.c.created_at, k.c.last_used_at, k.c.revoked_at)
            .where(k.c.user_id == uid)
            .order_by(k.c.id)
        ).all()
    return [KeyInfo(*r) for r in rows]


def revoke_key(db: Database, user: str, key_id: int) -> None:
    with db.write() as conn:
        uid = user_id(conn, user)
        k = models.API_KEYS
        done = conn.execute(
            update(k)
            .where(k.c.id == key_id, k.c.user_id == uid, k.c.revoked_at.is_(None))
            .values(revoked_at=time.time())
        ).rowcount
        if not done:
            raise AccountError(f"user {user!r} has no live key number {key_id} (see list-keys)")


def set_password(db: Database, user: str, password: str) -> None:
    if len(password) < 8:
        raise AccountError("the password must have at least 8 characters")
    hashed = security.hash_password(password)
    with db.write() as conn:
        uid = user_id(conn, user)
        u = models.USERS
        conn.execute(update(u).where(u.c.id == uid).values(password_hash=hashed))


def check_login(db: Database, name: str, password: str) -> int | None:
    """The user named `name` when `password` is theirs; None otherwise, as slowly either way."""
    e, u = models.ENTITIES, models.USERS
    with db.read() as conn:
        row = conn.execute(
            select(u.c.id, u.c.password_hash)
            .join(e, e.c.id == u.c.entity_id)
            .where(e.c.name == name)
        ).first()
    if row is None:
        security.check_nobody(password)
        return None
    return int(row.id) if security.check_password(row.password_hash, password) else None


# -- access -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """Who is asking: a user (with the entities they act for), or nobody."""

    user_id: int | None
    name: str | None
    entities: frozenset[int]  # the user's own entity and their teams'

    @property
    def anonymous(self) -> bool:
        return self.user_id is None


ANONYMOUS = Viewer(None, None, frozenset())


def viewer(conn: Connection, uid: int) -> Viewer:
    u, e, m = models.USERS, models.ENTITIES, models.MEMBERS
    row = conn.execute(
        select(e.c.id, e.c.name).join(u, u.c.entity_id == e.c.id).where(u.c.id == uid)
    ).one()
    teams = conn.execute(select(m.c.team_id).where(m.c.user_id == uid)).scalars().all()
    return Viewer(uid, row.name, frozenset([row.id, *teams]))


def entity_names(conn: Connection, v: Viewer) -> list[str]:
    e = models.ENTITIES
    rows = conn.execute(select(e.c.name).where(e.c.id.in_(v.entities)).order_by(e.c.name))
    return [r[0] for r in rows]


@dataclass(frozen=True)
class ProjectRef:
    id: int
    entity: str
    name: str
    public: bool


def find_project(
    conn: Connection, v: Viewer, entity: str, project: str, *, write: bool = False
) -> ProjectRef | None:
    """The project, when `v` may read it (or write to it); None otherwise, whatever why."""
    e, p = models.ENTITIES, models.PROJECTS
    row = conn.execute(
        select(p.c.id, p.c.public, e.c.id.label("eid"))
        .join(e, e.c.id == p.c.entity_id)
        .where(e.c.name == entity, p.c.name == project)
    ).first()
    if row is None:
        return None
    mine = row.eid in v.entities
    if not mine and (write or not row.public):
        return None
    return ProjectRef(int(row.id), entity, project, bool(row.public))


def project_for_writing(
    conn: Connection, v: Viewer, entity: str, project: str
) -> ProjectRef | None:
    """The project to upload to, made on first use; None when `v` may not write there."""
    e, p = models.ENTITIES, models.PROJECTS
    eid = conn.execute(select(e.c.id).where(e.c.name == entity)).scalar()
    if eid is None or eid not in v.entities:
        return None
    found = find_project(conn, v, entity, project, write=True)
    if found is not None:
        return found
    pid = conn.execute(
        p.insert().values(entity_id=eid, name=project, public=False, created_at=time.time())
    ).inserted_primary_key[0]  # type: ignore[index]  # one key: never None after an INSERT
    return ProjectRef(int(pid), entity, project, False)


def set_public(conn: Connection, project_id: int, public: bool) -> None:
    """Make a project public (anyone reads its runs, without signing in) or private."""
    p = models.PROJECTS
    conn.execute(update(p).where(p.c.id == project_id).values(public=public))


def set_project_public(db: Database, entity: str, project: str, public: bool) -> None:
    """`set_public` by the project's names, for ``nbtrack server set-public``."""
    e, p = models.ENTITIES, models.PROJECTS
    with db.write() as conn:
        pid = conn.execute(
            select(p.c.id)
            .join(e, e.c.id == p.c.entity_id)
            .where(e.c.name == entity, p.c.name == project)
        ).scalar()
        if pid is None:
            raise AccountError(f"there is no project {entity}/{project}")
        set_public(conn, int(pid), public)


def readable_projects(conn: Connection, v: Viewer) -> list[ProjectRef]:
    e, p = models.ENTITIES, models.PROJECTS
    q = select(p.c.id, e.c.name.label("entity"), p.c.name, p.c.public).join(
        e, e.c.id == p.c.entity_id
    )
    q = q.where(p.c.entity_id.in_(v.entities) | p.c.public.is_(True))
    rows = conn.execute(q.order_by(e.c.name, p.c.name)).all()
    return [ProjectRef(int(r.id), r.entity, r.name, bool(r.public)) for r in rows]

"""Share links and share grants: who may make, list and revoke them, and what opens them.

A share link (``nbl_...``) is a capability: whoever holds it reads one run, or one project
and its runs, through the link's own pages (``/s/<token>`` swaps it for a cookie scoped to
``/v/<slug>/``; see `nbtrack.server.share_pages`), and nothing else: no API, no other run,
no other project. Only its SHA-256 is stored; its `slug` is a random id that is no secret.

A share grant (``nbg_...``) is the short-lived credential a notebook page holds so that it
can call the server itself while the kernel is busy: it creates, lists and revokes the share
links of one run (or of one project and its runs) and is refused everywhere else. It is made
with an API key, lasts `GRANT_S`, and dies with that key.

Everything here takes a connection in a transaction and answers `NotShared` (a 404 to the
caller) for whatever the caller may not touch, whether or not it exists.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, delete, select, update

from nbtrack.errors import NbtrackError
from nbtrack.server import accounts, models, reads, security
from nbtrack.server.accounts import ProjectRef, Viewer

# How long a share grant lasts (the notebook asks for a new one when it runs out).
GRANT_S = 3600.0
# The longest expiry a link may be given; a link may also never expire.
MAX_EXPIRES_S = 10 * 366 * 24 * 3600.0
# The cookie a link's pages read: the link's token, for the path /v/<slug> only.
LINK_COOKIE = "nbtrack_link"
# How long that cookie lasts at most (a link that expires sooner: until it expires). The
# link itself opens it again whenever it is used.
LINK_COOKIE_S = 30 * 24 * 3600.0

Scope = Literal["run", "project"]


class NotShared(NbtrackError, LookupError):
    """Not there, or not the caller's to share: a 404, its message says which thing."""


@dataclass(frozen=True)
class Grant:
    id: int
    user_id: int
    project_id: int
    run_id: str | None
    expires_at: float

    @property
    def scope(self) -> Scope:
        return "project" if self.run_id is None else "run"


@dataclass(frozen=True)
class Link:
    """A share link's row, with its project's names."""

    id: int
    slug: str
    shown: str
    project_id: int
    entity: str
    project: str
    run_id: str | None
    show_private: bool
    created_at: float
    expires_at: float | None
    revoked_at: float | None

    @property
    def scope(self) -> Scope:
        return "project" if self.run_id is None else "run"

    def live(self, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def reply(self) -> dict[str, Any]:
        """The link as the API lists it (`schemas.ShareOut`): never its token."""
        return {
            "id": self.id,
            "scope": self.scope,
            "entity": self.entity,
            "project": self.project,
            "run_id": self.run_id,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "show_private": self.show_private,
            "shown": self.shown,
        }


def link_path(token: str) -> str:
    return f"/s/{token}"


@dataclass(frozen=True)
class Caller:
    """Who asks to make, list or revoke links: a user (by API key or by session), or a page
    holding a grant of that user's (then `grant` bounds what it may reach)."""

    viewer: Viewer
    grant: Grant | None = None

    def project(self, conn: Connection, entity: str, project: str) -> ProjectRef:
        """The project, when the caller may share in it (its user may write to it, and a
        grant is for it); else `NotShared`."""
        ref = accounts.find_project(conn, self.viewer, entity, project, write=True)
        if ref is None or (self.grant is not None and ref.id != self.grant.project_id):
            raise NotShared(f"no project {entity}/{project} here, or not one you may share")
        return ref

    def check_run(self, run_id: str | None) -> None:
        """`NotShared` unless the caller may share run `run_id` (None: the project)."""
        g = self.grant
        if g is not None and g.run_id is not None and run_id != g.run_id:
            raise NotShared(f"this share grant is for the links of run {g.run_id} only")

    def may_touch(self, conn: Connection, link: Link) -> bool:
        if self.grant is not None:
            g = self.grant
            if link.project_id != g.project_id or (
                g.run_id is not None and link.run_id != g.run_id
            ):
                return False
        ref = accounts.find_project(conn, self.viewer, link.entity, link.project, write=True)
        return ref is not None and ref.id == link.project_id


# -- links --------------------------------------------------------------------------------


def _links_query() -> Any:
    s, p, e = models.SHARE_LINKS, models.PROJECTS, models.ENTITIES
    return (
        select(
            s.c.id,
            s.c.slug,
            s.c.shown,
            s.c.project_id,
            e.c.name.label("entity"),
            p.c.name.label("project"),
            s.c.run_id,
            s.c.show_private,
            s.c.created_at,
            s.c.expires_at,
            s.c.revoked_at,
        )
        .join(p, p.c.id == s.c.project_id)
        .join(e, e.c.id == p.c.entity_id)
    )


def _link(row: Any) -> Link:
    return Link(
        id=int(row.id), slug=str(row.slug), shown=str(row.shown),
        project_id=int(row.project_id), entity=str(row.entity), project=str(row.project),
        run_id=row.run_id, show_private=bool(row.show_private),
        created_at=float(row.created_at),
        expires_at=None if row.expires_at is None else float(row.expires_at),
        revoked_at=None if row.revoked_at is None else float(row.revoked_at),
    )  # fmt: skip


def create_link(
    conn: Connection,
    caller: Caller,
    entity: str,
    project: str,
    run_id: str | None,
    expires_in_s: float | None = None,
    show_private: bool = False,
) -> tuple[str, Link]:
    """A new link to run `run_id` of the project (None: the project); its token is returned
    here only. The run must exist."""
    ref = caller.project(conn, entity, project)
    caller.check_run(run_id)
    if run_id is not None and reads.run_row(conn, ref.id, run_id) is None:
        raise NotShared(f"no run {entity}/{project}/{run_id} here, or not one you may share")
    if expires_in_s is not None and not 0 < expires_in_s <= MAX_EXPIRES_S:
        raise ValueError(f"expires_in_s must be more than 0 and at most {MAX_EXPIRES_S:.0f}")
    assert caller.viewer.user_id is not None
    token = security.new_secret(security.LINK_PREFIX)
    now = time.time()
    s = models.SHARE_LINKS
    lid = conn.execute(
        s.insert().values(
            digest=security.digest(token),
            shown=security.shown(token),
            # 71 random bits: a collision is as good as impossible, and the unique index
            # would refuse one (a 500 for that one request), never mix two links.
            slug=security.new_slug(),
            project_id=ref.id,
            run_id=run_id,
            show_private=bool(show_private),
            created_by=caller.viewer.user_id,
            created_at=now,
            expires_at=None if expires_in_s is None else now + float(expires_in_s),
        )
    ).inserted_primary_key[0]  # type: ignore[index]  # one key: never None after an INSERT
    found = link_by_id(conn, int(lid))
    assert found is not None
    return token, found


def link_by_id(conn: Connection, link_id: int) -> Link | None:
    row = conn.execute(_links_query().where(models.SHARE_LINKS.c.id == link_id)).first()
    return None if row is None else _link(row)


def list_links(
    conn: Connection, caller: Caller, entity: str, project: str, run_id: str | None = None
) -> list[Link]:
    """The live links of run `run_id`, or (None) of the project and all its runs, newest
    first. A grant for one run lists that run's links, whatever `run_id` says."""
    ref = caller.project(conn, entity, project)
    if caller.grant is not None and caller.grant.run_id is not None:
        caller.check_run(run_id if run_id is not None else caller.grant.run_id)
        run_id = caller.grant.run_id
    s = models.SHARE_LINKS
    now = time.time()
    q = _links_query().where(
        s.c.project_id == ref.id,
        s.c.revoked_at.is_(None),
        s.c.expires_at.is_(None) | (s.c.expires_at > now),
    )
    if run_id is not None:
        q = q.where(s.c.run_id == run_id)
    return [_link(r) for r in conn.execute(q.order_by(s.c.created_at.desc(), s.c.id.desc()))]


def revoke_link(
    conn: Connection, caller: Caller, link_id: int, project_id: int | None = None
) -> None:
    """Revoke a live link at once (every worker reads the row on every request); `NotShared`
    for a link that is not live or not the caller's to touch (or not of `project_id`)."""
    link = link_by_id(conn, link_id)
    if (
        link is None
        or not link.live()
        or (project_id is not None and link.project_id != project_id)
        or not caller.may_touch(conn, link)
    ):
        raise NotShared(f"no share link {link_id} here, or not one you may revoke")
    s = models.SHARE_LINKS
    conn.execute(update(s).where(s.c.id == link_id).values(revoked_at=time.time()))


LinkState = Literal["live", "dead", "unknown"]


def open_link(conn: Connection, token: str) -> tuple[LinkState, Link | None]:
    """What `token` opens: ("live", link); ("dead", None) for a link that was real but is
    revoked or expired; ("unknown", None) for anything else (malformed, never made): the one
    a guesser gets, which the link pages count against its address."""
    if not security.well_formed(token, security.LINK_PREFIX):
        return "unknown", None
    s = models.SHARE_LINKS
    row = conn.execute(_links_query().where(s.c.digest == security.digest(token))).first()
    if row is None:
        return "unknown", None
    link = _link(row)
    return ("live", link) if link.live() else ("dead", None)


# -- grants -------------------------------------------------------------------------------


def create_grant(
    conn: Connection,
    viewer: Viewer,
    key_id: int,
    entity: str,
    project: str,
    run_id: str | None,
    ttl_s: float = GRANT_S,
) -> tuple[str, Grant, ProjectRef]:
    """A grant for `viewer`'s key `key_id` over run `run_id` (None: the project and its
    runs), which need not exist yet; the project is made if it does not (as the run's first
    upload would), when `viewer` may write to its entity; else `NotShared`."""
    ref = accounts.project_for_writing(conn, viewer, entity, project)
    if ref is None:
        raise NotShared(f"no project {entity}/{project} here, or not one you may share")
    assert viewer.user_id is not None
    token = security.new_secret(security.GRANT_PREFIX)
    now = time.time()
    g = models.SHARE_GRANTS
    conn.execute(delete(g).where(g.c.expires_at < now))
    gid = conn.execute(
        g.insert().values(
            digest=security.digest(token),
            user_id=viewer.user_id,
            api_key_id=key_id,
            project_id=ref.id,
            run_id=run_id,
            created_at=now,
            expires_at=now + ttl_s,
        )
    ).inserted_primary_key[0]  # type: ignore[index]  # one key: never None after an INSERT
    return token, Grant(int(gid), viewer.user_id, ref.id, run_id, now + ttl_s), ref


def live_grant(conn: Connection, token: str) -> Grant | None:
    """The grant when it is live (well formed, known, not expired, its key not revoked)."""
    if not security.well_formed(token, security.GRANT_PREFIX):
        return None
    g, k = models.SHARE_GRANTS, models.API_KEYS
    row = conn.execute(
        select(g.c.id, g.c.user_id, g.c.project_id, g.c.run_id, g.c.expires_at)
        .join(k, k.c.id == g.c.api_key_id)
        .where(
            g.c.digest == security.digest(token),
            g.c.expires_at > time.time(),
            k.c.revoked_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    return Grant(int(row.id), int(row.user_id), int(row.project_id), row.run_id,
                 float(row.expires_at))  # fmt: skip

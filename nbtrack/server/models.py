"""The server's tables (SQLAlchemy 2, typed). Alembic's migrations create them.

Metric data is kept as chunks: one row per (run, key, range of the client's sequence
numbers), its blobs as the client's store encodes them, its statistics beside them; never a
row per point. ``series`` holds each key's running totals and high-water mark, so an
upload checks a resend against one small row per key instead of scanning a key's history.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# BIGINT on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the rowid that autoincrements.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class Entity(Base):
    """A user's own namespace or a team's: what a project belongs to (as in W&B)."""

    __tablename__ = "entities"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # "user" or "team"
    created_at: Mapped[float] = mapped_column(Float)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)


class Member(Base):
    __tablename__ = "members"
    team_id: Mapped[int] = mapped_column(ForeignKey("entities.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    shown: Mapped[str] = mapped_column(String(32))  # the prefix and first characters, for lists
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[float] = mapped_column(Float)
    last_used_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class WebSession(Base):
    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[float] = mapped_column(Float)


class Throttle(Base):
    """Failed sign-ins and bad keys per client address, shared by every worker."""

    __tablename__ = "throttle"
    bucket: Mapped[str] = mapped_column(String(128), primary_key=True)
    window_start: Mapped[float] = mapped_column(Float)
    failures: Mapped[int] = mapped_column(Integer)


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("entity_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"))
    name: Mapped[str] = mapped_column(String(128))
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)


class Run(Base):
    """A run as its client last described it. JSON fields are text written by the client's
    encoder: NaN and infinities travel as the strings "nan", "inf" and "-inf"."""

    __tablename__ = "runs"
    __table_args__ = (UniqueConstraint("project_id", "run_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    run_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    tags: Mapped[str] = mapped_column(Text, default="[]")
    config: Mapped[str] = mapped_column(Text, default="{}")
    summary: Mapped[str] = mapped_column(Text, default="{}")
    user_summary: Mapped[str] = mapped_column(Text, default="{}")
    run_metadata: Mapped[str] = mapped_column("metadata", Text, default="{}")
    alerts: Mapped[str] = mapped_column(Text, default="[]")
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    heartbeat_at: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_step: Mapped[int] = mapped_column(BigInteger, default=-1)
    # The run's ingest sequence: one more for every upload that changed it. Live pages use it
    # as the event id; `fields_seq` is its value when the run's fields last changed.
    ingest_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    fields_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class Series(Base):
    """One key of a run: its high-water mark (the last client sequence number stored) and
    running statistics."""

    __tablename__ = "series"
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(1), primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    high_water: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(BigInteger)
    step_last: Mapped[int] = mapped_column(BigInteger)
    vmin: Mapped[float | None] = mapped_column(Float, nullable=True)
    vmax: Mapped[float | None] = mapped_column(Float, nullable=True)
    vlast: Mapped[float | None] = mapped_column(Float, nullable=True)


class Chunk(Base):
    __tablename__ = "chunks"
    __table_args__ = (
        UniqueConstraint("run_pk", "kind", "key", "seq_first"),
        Index("chunks_by_ingest", "run_pk", "ingest_seq"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    kind: Mapped[str] = mapped_column(String(1))
    key: Mapped[str] = mapped_column(Text)
    seq_first: Mapped[int] = mapped_column(BigInteger)
    seq_last: Mapped[int] = mapped_column(BigInteger)
    ingest_seq: Mapped[int] = mapped_column(BigInteger)
    n: Mapped[int] = mapped_column(Integer)
    step_first: Mapped[int] = mapped_column(BigInteger)
    step_last: Mapped[int] = mapped_column(BigInteger)
    stride: Mapped[int] = mapped_column(BigInteger)
    vmin: Mapped[float | None] = mapped_column(Float, nullable=True)
    vmax: Mapped[float | None] = mapped_column(Float, nullable=True)
    vlast: Mapped[float | None] = mapped_column(Float, nullable=True)
    steps: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    vals: Mapped[bytes] = mapped_column(LargeBinary)
    digest: Mapped[bytes] = mapped_column(LargeBinary)


class Media(Base):
    """One logged media entry (images of a step, a table, a plot, ...): its payload as the
    client's store keeps it (JSON text naming its files), under the client's media sequence
    number `client_seq` (a resend finds its row there); `idx` is its ordinal among its key's
    entries (what a live page's thinning counts)."""

    __tablename__ = "media"
    __table_args__ = (
        UniqueConstraint("run_pk", "client_seq"),
        Index("media_by_ingest", "run_pk", "ingest_seq"),
        Index("media_by_key", "run_pk", "key", "idx"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    client_seq: Mapped[int] = mapped_column(BigInteger)
    ingest_seq: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[str] = mapped_column(Text)
    idx: Mapped[int] = mapped_column(BigInteger)
    step: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[str] = mapped_column(Text)


class MediaFile(Base):
    """A media file, named by the SHA-256 of its bytes (and its extension): kept once,
    whichever runs name it."""

    __tablename__ = "media_files"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    mime: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[bytes] = mapped_column(LargeBinary)


class MediaRef(Base):
    """Which run's media rows name which file: a file is served through a run only when
    one of its rows names it, so reading one run never reads another's files."""

    __tablename__ = "media_refs"
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), primary_key=True)


class ShareLink(Base):
    """A read-only link to one run (`run_id` set) or one project (`run_id` null): the token
    only as its SHA-256, and a `slug`, a random id that is no secret (the link's pages live
    under ``/v/<slug>/``; the token, in a cookie for that path, is what opens them)."""

    __tablename__ = "share_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    shown: Mapped[str] = mapped_column(String(32))
    slug: Mapped[str] = mapped_column(String(16), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    show_private: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class ShareGrant(Base):
    """A short-lived credential a notebook page holds: it creates, lists and revokes the
    share links of one run (`run_id` set) or one project and its runs, and nothing else.
    Made with an API key (`api_key_id`), it dies with that key."""

    __tablename__ = "share_grants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


def _table(model: type[Base]) -> Table:
    t = model.__table__
    assert isinstance(t, Table)  # typed as a FromClause; for a declared model it is a Table
    return t


# The tables, for SQLAlchemy Core (the code paths that must be fast use Core, not the ORM).
ENTITIES = _table(Entity)
USERS = _table(User)
MEMBERS = _table(Member)
API_KEYS = _table(ApiKey)
SESSIONS = _table(WebSession)
THROTTLE = _table(Throttle)
PROJECTS = _table(Project)
RUNS = _table(Run)
SERIES = _table(Series)
CHUNKS = _table(Chunk)
SHARE_LINKS = _table(ShareLink)
SHARE_GRANTS = _table(ShareGrant)
MEDIA = _table(Media)
MEDIA_FILES = _table(MediaFile)
MEDIA_REFS = _table(MediaRef)

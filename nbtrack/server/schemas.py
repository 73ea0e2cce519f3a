"""The API's JSON bodies, as pydantic models (they make the served OpenAPI schema).

Numbers that may be NaN or infinite (summary values, histogram ranges) travel as the
strings "nan", "inf" and "-inf": JSON has no such numbers. Bulk numbers travel as base64
of little-endian arrays, never as JSON lists.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nbtrack._json import finite

JsonNumber = float | str
# How deep the JSON fields of a run (config, summary, ...) may nest.
MAX_DEPTH = 64


class ErrorOut(BaseModel):
    """A refusal (other than a 422): why, in words."""

    detail: str


class Health(BaseModel):
    ok: bool
    database: str


class ViewerOut(BaseModel):
    user: str
    entities: list[str]


class ProjectOut(BaseModel):
    entity: str
    name: str
    public: bool


class PublicIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public: bool


# The longest expiry a share link may have (ten years; none at all is allowed too).
_MAX_EXPIRES_S = 10 * 366 * 24 * 3600.0
_RUN_ID = Field(None, min_length=1, max_length=64, pattern=r"^[^/\x00-\x1f\x7f]+$")


class ShareOptions(BaseModel):
    """What a new share link is: of one run (`run_id`) or of the project (`run_id` null),
    expiring after `expires_in_s` seconds or never, showing the run's host, user and git
    remote or not (`show_private`)."""

    model_config = ConfigDict(extra="forbid")

    run_id: str | None = _RUN_ID
    expires_in_s: float | None = Field(None, gt=0, le=_MAX_EXPIRES_S, allow_inf_nan=False)
    show_private: bool = False

    @model_validator(mode="after")
    def _names_storable(self) -> ShareOptions:
        _check_names(self)
        return self


class ShareIn(ShareOptions):
    entity: str = Field(max_length=64)
    project: str = Field(max_length=128)


class PageShareIn(ShareOptions):
    """The body a server page posts: as the API's, its entity and project optional (the
    page's path names them; given, they must be the same)."""

    entity: str | None = Field(None, max_length=64)
    project: str | None = Field(None, max_length=128)


class ShareOut(BaseModel):
    """A share link as lists show it: never its token."""

    id: int
    scope: Literal["run", "project"]
    entity: str
    project: str
    run_id: str | None
    created_at: float
    expires_at: float | None
    show_private: bool
    shown: str


class ShareCreated(ShareOut):
    """A new share link: its token (``nbl_...``) and path (``/s/<token>``), in this reply only."""

    token: str
    path: str


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity: str = Field(max_length=64)
    project: str = Field(max_length=128)
    run_id: str | None = _RUN_ID

    @model_validator(mode="after")
    def _names_storable(self) -> GrantIn:
        _check_names(self)
        return self


def _check_names(body: BaseModel) -> None:
    # Looked up in the database: a lone surrogate cannot even be sent to PostgreSQL.
    for name in ("entity", "project", "run_id"):
        value = getattr(body, name, None)
        if isinstance(value, str) and not storable(value):
            raise ValueError(f"{name} holds a NUL or a lone surrogate")


class GrantOut(BaseModel):
    """A share grant (``nbg_...``): it creates, lists and revokes the share links of the run
    (or of the project and its runs) until `expires_at`, and is refused everywhere else."""

    token: str
    expires_at: float
    scope: Literal["run", "project"]
    entity: str
    project: str
    run_id: str | None


class RunFields(BaseModel):
    """What a client says of its run; every field optional (an update sends what changed)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=1000)
    notes: str | None = Field(None, max_length=100_000)
    tags: list[str] | None = Field(None, max_length=1000)
    config: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    user_summary: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    alerts: list[dict[str, Any]] | None = Field(None, max_length=10_000)
    state: str | None = Field(
        None, pattern="^(running|finished|failed|crashed|interrupted)$", max_length=16
    )
    created_at: float | None = Field(None, ge=0, le=1e11)
    updated_at: float | None = Field(None, ge=0, le=1e11)
    heartbeat_at: float | None = Field(None, ge=0, le=1e11)
    finished_at: float | None = Field(None, ge=0, le=1e11)
    exit_code: int | None = Field(None, ge=-(2**31), le=2**31 - 1)
    error: str | None = Field(None, max_length=1_000_000)
    last_step: int | None = Field(None, ge=-1, le=2**53 - 1)

    @model_validator(mode="after")
    def _storable(self) -> RunFields:
        for name in self.model_fields_set:
            value = getattr(self, name)
            # The JSON fields are stored as JSON, which spells a NUL as \u0000.
            bad = _unstorable(value, nul=isinstance(value, str))
            if bad is not None:
                raise ValueError(f"{name} holds {bad}: the server cannot store that")
        return self

    def stored(self) -> dict[str, Any]:
        """The fields given, as the database keeps them (JSON fields as text)."""
        out: dict[str, Any] = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            if name in ("tags", "config", "summary", "user_summary", "metadata", "alerts"):
                if value is None:
                    continue
                value = json.dumps(finite(value), ensure_ascii=False, allow_nan=False)
            elif value is None and name in _NOT_NULL:
                continue  # never cleared
            out[name] = value
        return out


def storable(text: str, nul: bool = True) -> bool:
    """Whether both databases keep `text`: PostgreSQL's text refuses NUL (with `nul`), and a
    lone surrogate (JSON can spell one: "\\ud800") has no UTF-8 at all."""
    if nul and "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _unstorable(value: Any, nul: bool) -> str | None:
    """What in `value` (any depth, dict keys too) the server cannot keep, said for a message:
    text `storable` refuses, or nesting past `MAX_DEPTH` (stored, it failed every reply that
    holds the run)."""
    todo = [(value, 0)]  # a loop, not recursion: JSON nests as deep as its parser allows
    while todo:
        v, depth = todo.pop()
        if isinstance(v, str):
            if not storable(v, nul):
                return "a NUL character" if nul and "\x00" in v else "a lone surrogate"
        elif isinstance(v, (dict, list)):
            if depth >= MAX_DEPTH:
                return f"lists or objects nested more than {MAX_DEPTH} deep"
            items = [*v.keys(), *v.values()] if isinstance(v, dict) else v
            todo.extend((item, depth + 1) for item in items)
    return None


# The run's columns that always hold a value: a null sent for one of them leaves it as it is.
_NOT_NULL = ("name", "state", "created_at", "updated_at", "heartbeat_at", "last_step")


class RunOut(BaseModel):
    entity: str
    project: str
    id: str
    name: str
    notes: str | None
    tags: list[Any]
    config: dict[str, Any]
    summary: dict[str, Any]
    user_summary: dict[str, Any]
    metadata: dict[str, Any]
    alerts: list[Any]
    state: str
    created_at: float
    updated_at: float
    heartbeat_at: float
    finished_at: float | None
    exit_code: int | None
    error: str | None
    last_step: int
    ingest_seq: int


class HighWater(BaseModel):
    """Per key, the last client sequence number the server stored: ``s`` scalars,
    ``h`` histograms; ``m`` the run's last media sequence number stored (0: none)."""

    s: dict[str, int]
    h: dict[str, int]
    m: int = 0


class RunUpsertReply(BaseModel):
    run: RunOut
    created: bool
    high_water: HighWater


class SyncState(BaseModel):
    ingest_seq: int
    updated_at: float
    high_water: HighWater


class IngestReply(BaseModel):
    ingest_seq: int
    accepted: int
    duplicates: int
    high_water: HighWater


class KeysOut(BaseModel):
    scalars: list[str]
    histograms: list[str]


class SeriesOut(BaseModel):
    key: str
    n: int
    steps: str | None = None
    values: str | None = None
    buckets: int | None = None
    step_lo: str | None = None
    step_hi: str | None = None
    vmin: str | None = None
    vmax: str | None = None
    last: str | None = None
    count: str | None = None


class SinceOut(BaseModel):
    """What a run stored after the positions asked for: new positions, and whether more is
    waiting (ask again from them)."""

    seq: int
    hist_seq: int
    more: bool
    series: list[SeriesOut]
    histograms: list[HistogramsOut]


class HistogramEntryOut(BaseModel):
    step: int
    lo: JsonNumber
    hi: JsonNumber
    counts: str
    stats: dict[str, Any]


class HistogramsOut(BaseModel):
    key: str
    entries: list[HistogramEntryOut]


SinceOut.model_rebuild()


# -- media ------------------------------------------------------------------------------------

MediaKind = Literal["image", "table", "plot", "video", "audio", "html"]
MEDIA_NAME = r"^[0-9a-f]{64}\.(png|jpg|gif|mp4|webm|ogg|wav|mp3|flac|html)$"


class MediaRowIn(BaseModel):
    """One media entry of the client's store: its media sequence number, key, step, kind
    and payload (see the media contract: the payload names its files)."""

    model_config = ConfigDict(extra="forbid")

    seq: int = Field(ge=1, le=2**63 - 1)
    key: str = Field(min_length=1, max_length=1000)
    step: int = Field(ge=-(2**63), le=2**63 - 1)
    kind: MediaKind
    payload: dict[str, Any]

    @model_validator(mode="after")
    def _storable(self) -> MediaRowIn:
        if not storable(self.key):
            raise ValueError("key holds a NUL character or a lone surrogate")
        # Stored as JSON (a NUL is spelled \u0000 there), so only surrogates and depth.
        bad = _unstorable(self.payload, nul=False)
        if bad is not None:
            raise ValueError(f"the payload of key {self.key!r} holds {bad}")
        return self


class MediaRowsIn(BaseModel):
    """Media rows of one run in ascending `seq`: an upload named by its seq range."""

    model_config = ConfigDict(extra="forbid")

    rows: list[MediaRowIn] = Field(min_length=1, max_length=10_000)

    @model_validator(mode="after")
    def _ascending(self) -> MediaRowsIn:
        seqs = [r.seq for r in self.rows]
        if any(b <= a for a, b in itertools.pairwise(seqs)):
            raise ValueError("rows must come in strictly ascending seq")
        return self


class MediaHaveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    names: list[str] = Field(max_length=10_000)


class MediaHaveOut(BaseModel):
    """Which of the names asked about the server holds (their bytes need not be sent)."""

    have: list[str]


class MediaFileStored(BaseModel):
    name: str
    size: int
    created: bool


class MediaRowOut(BaseModel):
    seq: int
    key: str
    step: int
    kind: str
    payload: dict[str, Any]


class MediaSinceOut(BaseModel):
    """A run's media rows after `seq` asked for; `seq` here is the last one returned (ask
    again from it while `more`)."""

    rows: list[MediaRowOut]
    seq: int
    more: bool

"""The API's JSON bodies, as pydantic models (they make the served OpenAPI schema).

Numbers that may be NaN or infinite (summary values, histogram ranges) travel as the
strings "nan", "inf" and "-inf": JSON has no such numbers. Bulk numbers travel as base64
of little-endian arrays, never as JSON lists.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from nbtrack._json import finite

JsonNumber = float | str


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

    def stored(self) -> dict[str, Any]:
        """The fields given, as the database keeps them (JSON fields as text)."""
        out: dict[str, Any] = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            if name in ("tags", "config", "summary", "user_summary", "metadata", "alerts"):
                if value is None:
                    continue
                value = json.dumps(finite(value), ensure_ascii=False, allow_nan=False)
            elif name in ("name", "state", "created_at", "last_step") and value is None:
                continue  # never cleared
            out[name] = value
        return out


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
    ``h`` histograms."""

    s: dict[str, int]
    h: dict[str, int]


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


class HistogramEntryOut(BaseModel):
    step: int
    lo: JsonNumber
    hi: JsonNumber
    counts: str
    stats: dict[str, Any]


class HistogramsOut(BaseModel):
    key: str
    entries: list[HistogramEntryOut]

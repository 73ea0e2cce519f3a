"""The read API: what the dashboard, the sync and every test read runs through.

>>> api = nbtrack.Api()
>>> [r.name for r in api.runs("fashion-cnn")]
['lr-1e-3', 'lr-3e-4']
>>> h = api.run("fashion-cnn/3k2j9x0a").history(keys=["val/acc"])
>>> h["_step"], h["val/acc"]
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nbtrack._types import Float64Array, Int64Array
from nbtrack._values import TIME_KEY, Batch
from nbtrack.errors import ApiClosedError, RunNotFoundError
from nbtrack.store.db import Store, effective_state

if TYPE_CHECKING:
    from nbtrack.sync.remote import RemoteStore


def _remote(host: str, key: str | None, entity: str | None) -> RemoteStore:
    """The server at `host`, with `key`, else NBTRACK_API_KEY, else the key saved for it."""
    from nbtrack.errors import LoginError
    from nbtrack.sync.client import normalize_host
    from nbtrack.sync.credentials import key_for
    from nbtrack.sync.remote import RemoteStore

    host = normalize_host(host)
    key = key or key_for(host)
    if not key:
        raise LoginError(
            f"nbtrack.Api: no API key for {host}: pass key=..., or nbtrack.login(host=...) first"
        )
    return RemoteStore(host, key, entity)


@dataclass(frozen=True)
class RunRecord:
    """A stored run, as read from the store. `history()` and friends read it again."""

    id: str
    name: str
    project: str
    notes: str | None
    tags: list[str]
    config: dict[str, Any]
    summary: dict[str, Any]
    state: str
    created_at: float
    metadata: dict[str, Any]
    finished_at: float | None
    exit_code: int | None
    error: str | None
    last_step: int
    heartbeat_at: float
    alerts: list[dict[str, Any]]
    entity: str | None  # the server's entity; None for a run of a local store
    _api: Api = field(repr=False, compare=False)
    _rk: int = field(repr=False, compare=False)

    @property
    def path(self) -> str:
        if self.entity:
            return f"{self.entity}/{self.project}/{self.id}"
        return f"{self.project}/{self.id}"

    def keys(self) -> list[str]:
        """The scalar keys this run logged, in the order they first appeared."""
        return [k for k in self._api._store.keys(self._rk) if k != TIME_KEY]

    def series(self, key: str) -> tuple[Int64Array, Float64Array]:
        """(steps, values) of one key, sorted by step, the last value kept for a repeated step."""
        steps, values = self._api._store.series(self._rk, key)
        return sorted_last(steps, values)

    def history(self, keys: list[str] | None = None) -> dict[str, np.ndarray[Any, Any]]:
        """Columns ``_step``, ``_time`` and one per key; NaN where a key was not logged."""
        if isinstance(keys, str):
            keys = [keys]
        wanted = self.keys() if keys is None else list(keys)
        cols = {k: self.series(k) for k in wanted}
        t_steps, t_vals = self.series(TIME_KEY)
        steps = t_steps if keys is None else _union_sorted([s for s, _ in cols.values()])
        out: dict[str, np.ndarray[Any, Any]] = {
            "_step": steps,
            "_time": _align(t_steps, t_vals, steps),
        }
        for k, (s, v) in cols.items():
            out[k] = _align(s, v, steps)
        return out

    def histogram_keys(self) -> list[str]:
        return self._api._store.keys(self._rk, kind="h")

    def histograms(self, key: str) -> tuple[Int64Array, Float64Array, Int64Array]:
        """(steps, ranges, counts): ranges of shape (n, 2), counts of shape (n, bins)."""
        steps, ranges, counts, _ = self._api._store.histograms(self._rk, key)
        return steps, ranges, counts

    def histogram_stats(self, key: str) -> list[dict[str, Any]]:
        """Per step: the tensor's norm and its NaN and inf counts, as `watch` logged them."""
        return self._api._store.histograms(self._rk, key)[3]

    def read_since(
        self, seq: int, hist_seq: int = 0, *, histograms: bool = True
    ) -> tuple[Batch, int, int]:
        """What was stored after positions (seq, hist_seq), and the new positions; the
        scalars alone with ``histograms=False`` (hist_seq comes back as it went)."""
        if not histograms:
            batch, seq, _ = self._api._store.read_since(self._rk, seq, _PAST_EVERY_SEQ)
            return batch, seq, hist_seq
        return self._api._store.read_since(self._rk, seq, hist_seq)

    def reload(self) -> RunRecord:
        return self._api.run(self.path)


# A histogram position past every stored one: reading from it reads no histograms.
_PAST_EVERY_SEQ = 2**62


def sorted_last(steps: Int64Array, values: Float64Array) -> tuple[Int64Array, Float64Array]:
    if len(steps) < 2:
        return steps, values
    d = np.diff(steps)
    if (d > 0).all():
        return steps, values
    order = np.argsort(steps, kind="stable")
    steps, values = steps[order], values[order]
    keep = np.append(steps[1:] != steps[:-1], True)  # the last of equal steps wins
    return steps[keep], values[keep]


def _union_sorted(parts: list[Int64Array]) -> Int64Array:
    """The sorted union of sorted step arrays (np.unique hashes; this sorts runs, faster)."""
    if not parts:
        return np.empty(0, np.int64)
    if all(len(p) == len(parts[0]) and np.array_equal(p, parts[0]) for p in parts[1:]):
        return parts[0]
    steps: Int64Array = np.sort(np.concatenate(parts), kind="stable")
    keep: Int64Array = steps[np.append(True, steps[1:] != steps[:-1])]
    return keep


def _align(steps: Int64Array, values: Float64Array, target: Int64Array) -> Float64Array:
    if len(steps) == len(target) and np.array_equal(steps, target):
        return values
    out = np.full(len(target), np.nan)
    if len(steps):
        idx = np.searchsorted(steps, target)
        idx_c = np.minimum(idx, len(steps) - 1)
        hit = steps[idx_c] == target
        out[hit] = values[idx_c[hit]]
    return out


class Api:
    """Read runs from a store root (default: ``NBTRACK_DIR`` or ``./nbtrack``).

    It only reads: it opens the store read-only (so a store on read-only media, or one
    whose writer holds its lock, reads as well), and a folder without a store is a
    `StoreNotFoundError`, never a new empty store.

    >>> with nbtrack.Api() as api:
    ...     rec = api.run("fashion-cnn/3k2j9x0a")
    ...     h = rec.history()
    """

    def __init__(
        self,
        dir: str | os.PathLike[str] | None = None,
        *,
        host: str | None = None,
        key: str | None = None,
        entity: str | None = None,
    ) -> None:
        self._opened: Store | RemoteStore | None
        if host is not None:
            self._opened = _remote(host, key, entity)
        else:
            self._opened = Store(Path(dir) if dir is not None else None, readonly=True)
        self._dir = self._opened.root

    @property
    def _store(self) -> Store | RemoteStore:
        if self._opened is None:
            raise ApiClosedError(
                "nbtrack: this Api is closed, and with it the RunRecords it gave: use them "
                "inside `with nbtrack.Api() as api:`, or call api.run(path) again on an open Api"
            )
        return self._opened

    @property
    def dir(self) -> Path:
        return self._dir

    def close(self) -> None:
        if self._opened is not None:
            self._opened.close()
            self._opened = None

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def projects(self) -> list[str]:
        return self._store.projects()

    def runs(self, project: str | None = None) -> list[RunRecord]:
        """Runs of `project` (all projects when None), oldest first."""
        return [self._record(r) for r in self._store.run_rows(project)]

    def run(self, path: str) -> RunRecord:
        """One run by ``"project/id"`` (or a bare id when it is unique); from a server also
        ``"entity/project/id"``."""
        if "/" in path:
            project, run_id = path.rsplit("/", 1)
            rows = self._store.run_rows(project, run_id)
        else:
            rows = self._store.run_rows(None, path)
            if len(rows) > 1:
                projects = ", ".join(r["project"] for r in rows)
                raise ValueError(
                    f"nbtrack: run id {path!r} is in several projects ({projects}); use project/id"
                )
        if not rows:
            raise RunNotFoundError(f"nbtrack: no run {path!r} in {self._store.path}")
        return self._record(rows[0])

    def _record(self, row: dict[str, Any]) -> RunRecord:
        values: dict[str, Any] = {name: row.get(name) for name in _RECORD_FIELDS}
        values["state"] = effective_state(row)
        # The last logged values, under the entries the user set (kept apart in the store).
        values["summary"] = {**row["summary"], **row.get("user_summary", {})}
        return RunRecord(**values, _api=self, _rk=row["rk"])


# The record's public fields are columns of the runs table under the same names.
_RECORD_FIELDS = [f.name for f in fields(RunRecord) if not f.name.startswith("_")]

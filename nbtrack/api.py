"""The read API: what the dashboard, the sync and every test read runs through.

Its names and forms are W&B's public API (``wandb.Api()``), so a W&B script that reads its
runs back runs unchanged:

>>> api = nbtrack.Api()
>>> runs = api.runs("fashion-cnn", filters={"config.lr": {"$lt": 1e-3}}, order="-summary_metrics.acc")
>>> [r.name for r in runs]
['lr-3e-4']
>>> df = api.run("fashion-cnn/3k2j9x0a").history(keys=["val/acc"])   # a pandas DataFrame
>>> rows = list(api.run("fashion-cnn/3k2j9x0a").scan_history(keys=["val/acc"]))

A local store has no entities: in ``"entity/project"`` and ``"entity/project/run_id"`` the
entity is accepted and passed over when the rest names a project of the store (a project
whose own name holds a slash is found first). From a server (``Api(host=...)``) it is the
server's entity.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import FrozenInstanceError, dataclass, field, fields
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

import numpy as np

from nbtrack import _mongo
from nbtrack._types import Float64Array, Int64Array
from nbtrack._values import TIME_KEY, Batch
from nbtrack.errors import ApiClosedError, RunNotFoundError
from nbtrack.store.db import MediaRow, Store, effective_state
from nbtrack.store.media_files import MediaFiles

if TYPE_CHECKING:
    from nbtrack.sync.remote import RemoteStore

__all__ = ["Api", "Project", "RunFile", "RunRecord", "RunSummary", "Runs", "Sweep"]


def _remote(
    host: str, key: str | None, entity: str | None, timeout: float | None = None
) -> RemoteStore:
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
    return RemoteStore(host, key, entity, timeout=timeout)


def _unsupported(name: str, what: str = "") -> None:
    from nbtrack._compat import unsupported

    unsupported(name, what)


class RunSummary(dict[str, Any]):
    """A run's summary: a dict (``summary == {...}`` holds), with W&B's public-API extras.

    ``summary._json_dict`` is the summary as a plain dict; ``summary.acc`` reads
    ``summary["acc"]``; ``summary.update({...})`` changes the summary and stores it at once,
    as W&B's does (item assignment waits for ``run.update()``).

    >>> run.summary["best_acc"] = 0.93
    >>> run.update()
    >>> run.summary.update({"note": "kept"})    # stored now
    """

    _save: Callable[[], None] | None = None

    @property
    def _json_dict(self) -> dict[str, Any]:
        return dict(self)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"summary has no key {name!r}") from None

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        if self._save is not None:
            self._save()


class Project(str):
    """A project's name (a str, as before) with W&B's ``.name`` and ``.entity``.

    >>> [p.name for p in nbtrack.Api().projects()]
    ['fashion-cnn']
    """

    name: str
    entity: str | None
    url: str | None

    def __new__(cls, text: str, name: str, entity: str | None, url: str | None = None) -> Project:
        self = super().__new__(cls, text)
        self.name, self.entity, self.url = name, entity, url
        return self

    @property
    def path(self) -> list[str]:
        return [self.entity, self.name] if self.entity else [self.name]


class Runs(list["RunRecord"]):
    """The runs `Api.runs` found: a list (len, iteration, indexing), as W&B's lazy `Runs`."""

    def __init__(
        self, records: list[RunRecord], project: str | None, filters: Any, order: str
    ) -> None:
        super().__init__(records)
        self.project, self.filters, self.order = project, filters, order

    @property
    def length(self) -> int:
        return len(self)

    def histories(
        self,
        samples: int | None = None,
        keys: list[str] | None = None,
        x_axis: str = "_step",
        format: str = "default",
        stream: str = "default",
    ) -> Any:
        """Every run's `history` together, each row with its ``run_id``: a list of dicts
        (``format="default"``) or one pandas DataFrame (``format="pandas"``)."""
        if format not in ("default", "pandas"):
            raise ValueError(f"nbtrack: format must be 'default' or 'pandas', not {format!r}")
        rows: list[dict[str, Any]] = []
        for rec in self:
            h = rec.history(samples, keys, x_axis, pandas=False, stream=stream)
            cols = [k for k in h if k != TIME_KEY]
            for i in range(len(h["_step"])):
                row = {k: h[k][i].item() for k in cols if not _absent(h[k][i])}
                row["_step"] = int(h["_step"][i])
                row["run_id"] = rec.id
                rows.append(row)
        if format == "default":
            return rows
        pd = _pandas()
        if pd is None:
            raise ImportError("nbtrack: histories(format='pandas') needs pandas installed")
        df = pd.DataFrame.from_records(rows)
        return df[sorted(df.columns)] if len(df.columns) else df


def _absent(v: Any) -> bool:
    return isinstance(v, float | np.floating) and bool(np.isnan(v))


@dataclass
class RunFile:
    """A file in a run's folder (``run.dir``), as W&B's ``run.file(name)``."""

    name: str  # relative to the run's folder, with "/" between folders
    size: int
    path: Path = field(repr=False)

    def download(self, root: str = ".", replace: bool = False, exist_ok: bool = False) -> IO[str]:
        """Copy the file to ``root/name`` and open it for reading, as W&B's does."""
        dest = Path(root) / self.name
        if dest.exists() and not replace:
            if exist_ok:
                return open(dest)  # W&B returns the file open
            raise ValueError(
                f"nbtrack: {dest} exists: pass replace=True to overwrite it, or exist_ok=True "
                "to keep it"
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.path, dest)
        return open(dest)


class Sweep:
    """A sweep of a project, as W&B's ``api.sweep(path)``: ``.id``, ``.runs``, ``.config``."""

    def __init__(self, api: Api, project: str, sweep_id: str, entity: str | None) -> None:
        self._api, self.project, self.id, self.entity = api, project, sweep_id, entity
        self.config: dict[str, Any] = {}
        self.state: str | None = None
        self.name = sweep_id
        loaded = _load_sweep(api, project, sweep_id)
        if loaded is not None:
            self.config = dict(_attr(loaded, "config") or {})
            state, name = _attr(loaded, "state"), _attr(loaded, "name")
            self.state = state if isinstance(state, str) else None
            self.name = name if isinstance(name, str) and name else sweep_id

    def __repr__(self) -> str:
        return f"<Sweep {self.project}/{self.id} ({len(self.runs)} runs)>"

    @property
    def runs(self) -> Runs:
        return self._api.runs(self.project, filters={"sweep": self.id})

    @property
    def url(self) -> str | None:
        return None

    def best_run(self, order: str | None = None) -> RunRecord | None:
        """The sweep's best run: by `order` (``"-summary_metrics.acc"``), else by the sweep
        config's metric and goal; None when no run has the metric."""
        if order is None:
            metric = self.config.get("metric") or {}
            name = metric.get("name") if isinstance(metric, Mapping) else None
            if not name:
                raise ValueError(
                    f"nbtrack: sweep {self.id} has no metric in its config: pass order="
                    "'-summary_metrics.<key>'"
                )
            sign = "+" if metric.get("goal", "minimize") == "minimize" else "-"
            order = f"{sign}summary_metrics.{name}"
        field_name = order.lstrip("+-")
        for rec in self._api.runs(self.project, filters={"sweep": self.id}, order=order):
            if _mongo.sort_key(_mongo.run_resolver(rec)(field_name))[0] != 0:
                return rec
        return None


def _attr(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def _load_sweep(api: Api, project: str | None, sweep_id: str) -> Any:
    """The sweeps package's record of the sweep, when it has a `load_sweep` (and the store
    is local); None otherwise."""
    if api.host is not None:
        return None
    try:
        from nbtrack import sweeps
    except ImportError:
        return None
    load = getattr(sweeps, "load_sweep", None)
    if load is None:
        return None
    try:
        return load(api.dir, project, sweep_id)
    except LookupError:
        return None


def _stub(name: str, result: Any) -> Callable[..., Any]:
    """A W&B method nbtrack does not build: it warns once, and returns what W&B returns
    when there is nothing (an empty list for a listing, else None)."""

    def stub(*args: Any, **kwargs: Any) -> Any:
        del args, kwargs
        _unsupported(name, "nbtrack has no such thing; nothing was done")
        return [] if result == "list" else None

    stub.__name__ = name
    return stub


# W&B's public-API methods with no nbtrack counterpart, and what each gives back.
_API_STUBS = {
    **dict.fromkeys(
        ["create_project", "create_run", "create_run_queue", "create_custom_chart",
         "upsert_run_queue", "create_user", "sync_tensorboard", "queued_run", "run_queue",
         "artifact_type", "artifact_collection", "job", "registry", "create_registry",
         "automation", "create_automation", "update_automation", "delete_automation",
         "create_team", "team", "organization", "user", "artifact_collection_exists"],
        "none",
    ),
    **dict.fromkeys(
        ["artifact_types", "artifact_collections", "artifact_versions", "artifacts",
         "list_jobs", "registries", "integrations", "webhook_integrations",
         "slack_integrations", "automations", "reports", "users"],
        "list",
    ),
}  # fmt: skip
_RUN_STUBS = {
    **dict.fromkeys(["upload_file", "use_artifact", "log_artifact", "update_state", "stop",
                     "download_history_exports", "to_html", "create"], "none"),
    "console_logs": "list",
}  # fmt: skip


# Fields of a record that W&B's public API lets a script change before `run.update()`.
_EDITABLE = frozenset({"name", "notes", "tags", "config", "summary", "group", "job_type"})


@dataclass(frozen=True)
class RunRecord:
    """A stored run, as read from the store: W&B's public-API ``Run``.

    `history()` and friends read it again. ``name``, ``notes``, ``tags``, ``group``,
    ``job_type`` can be set, and ``config`` and ``summary`` changed, then stored with
    `update`. ``created_at`` is a Unix time (W&B gives an ISO string).

    >>> run = nbtrack.Api().run("fashion-cnn/3k2j9x0a")
    >>> run.config["note"] = "baseline"; run.tags.append("keep"); run.update()
    """

    id: str
    name: str
    project: str
    notes: str | None
    tags: list[str]
    config: dict[str, Any]
    summary: RunSummary
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
    group: str | None
    job_type: str | None
    sweep_id: str | None
    url: str | None  # the run's page on the server; None for a run of a local store
    _api: Api = field(repr=False, compare=False)
    _rk: int = field(repr=False, compare=False)
    # The config and summary as read (or last stored): `update` stores what differs from
    # them, so keys the run (or another script) stored meanwhile are kept.
    _seen: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def path(self) -> str:
        if self.entity:
            return f"{self.entity}/{self.project}/{self.id}"
        return f"{self.project}/{self.id}"

    @property
    def display_name(self) -> str:
        return self.name

    @property
    def summary_metrics(self) -> dict[str, Any]:
        return dict(self.summary)

    @property
    def sweep(self) -> Sweep | None:
        """The run's sweep (``.id``, ``.config``, ``.runs``), or None."""
        if self.sweep_id is None:
            return None
        return Sweep(self._api, self.project, self.sweep_id, self.entity)

    @property
    def sweep_name(self) -> str | None:
        return self.sweep_id

    def keys(self) -> list[str]:
        """The scalar keys this run logged, in the order they first appeared."""
        return [k for k in self._api._store.keys(self._rk) if k != TIME_KEY]

    def series(self, key: str) -> tuple[Int64Array, Float64Array]:
        """(steps, values) of one key, sorted by step, the last value kept for a repeated step."""
        steps, values = self._api._store.series(self._rk, key)
        return sorted_last(steps, values)

    def history(
        self,
        samples: int | None = None,
        keys: list[str] | None = None,
        x_axis: str = "_step",
        pandas: bool = True,
        stream: str = "default",
    ) -> Any:
        """The run's logged rows, as W&B's ``run.history()``: a pandas DataFrame (columns
        ``_step``, the keys, ``_runtime``, ``_timestamp``), or with ``pandas=False`` (or no
        pandas) a dict of NumPy arrays (``_step``, ``_time``, the keys); NaN where a row has
        no value of a key.

        With `keys`, only the rows that hold every one of them (and `x_axis`), as W&B. With
        `samples`, that many rows at most, spread evenly over the run (first and last kept).
        Without, every row: W&B samples 500 by default because it reads over the network;
        pass ``samples=500`` for that. ``history(["loss"])`` (keys first, nbtrack's older
        form) still reads the keys.

        >>> df = run.history(keys=["val/acc"])
        >>> h = run.history(pandas=False)
        >>> h["_step"], h["train/loss"]
        """
        if isinstance(samples, (list, tuple, str)):
            if keys is not None:
                raise TypeError("nbtrack: history() got keys twice (as samples and as keys=)")
            samples, keys = None, samples
        wanted = _key_list(keys, "history")
        limit = _samples(samples)
        if stream != "default":
            if stream != "system":
                raise ValueError(f"nbtrack: stream must be 'default' or 'system', not {stream!r}")
            _unsupported("Run.history(stream='system')", "no system metrics are recorded")
            wanted, limit = ["_nbtrack_no_system_metrics"], None  # no row has it
        if not isinstance(x_axis, str) or not x_axis:
            raise ValueError(f"nbtrack: x_axis must be a key, not {x_axis!r}")
        table = self._table(wanted, x_axis, limit)
        if pandas:
            pd = _pandas()
            if pd is not None:
                return _frame(pd, table, wanted is None, self.created_at)
        return {k: v for k, (v, _) in table.items()}

    def _table(
        self, wanted: list[str] | None, x_axis: str, limit: int | None
    ) -> dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
        """Columns of the rows asked for: per key (values, which rows hold one)."""
        t_steps, t_vals = self.series(TIME_KEY)
        if wanted is None:
            names = self.keys()
            cols = {k: self.series(k) for k in names}
            steps = t_steps
        else:
            names = list(dict.fromkeys([*([x_axis] if x_axis != "_step" else []), *wanted]))
            cols = {k: self.series(k) for k in names}
            steps = _intersect_sorted([s for s, _ in cols.values()])
        steps = _sample(steps, limit)
        out: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = {
            "_step": (steps, np.ones(len(steps), dtype=bool)),
            TIME_KEY: _align(t_steps, t_vals, steps),
        }
        for k, (s, v) in cols.items():
            out[k] = _align(s, v, steps)
        return out

    def scan_history(
        self,
        keys: list[str] | None = None,
        page_size: int = 1000,
        min_step: int | None = None,
        max_step: int | None = None,
        use_cache: bool = True,
    ) -> Iterator[dict[str, Any]]:
        """Every row, unsampled, as dicts: ``_step``, ``_runtime``, ``_timestamp`` and the
        keys logged at that step; with `keys`, only rows holding all of them (and only
        those keys). Steps from `min_step` up to, not including, `max_step`.

        >>> [row["val/acc"] for row in run.scan_history(keys=["val/acc"])]
        """
        del use_cache  # the store is read where it is: there is no cache
        wanted = _key_list(keys, "scan_history")
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            raise ValueError(f"nbtrack: page_size must be a positive int, not {page_size!r}")
        for name, v in (("min_step", min_step), ("max_step", max_step)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
                raise ValueError(f"nbtrack: {name} must be an int, not {v!r}")
        return self._scan(wanted, page_size, min_step, max_step)

    def _scan(
        self, wanted: list[str] | None, page_size: int, lo: int | None, hi: int | None
    ) -> Iterator[dict[str, Any]]:
        table = self._table(wanted, "_step", None)
        steps = table.pop("_step")[0]
        times = table.pop(TIME_KEY)
        first = 0 if lo is None else int(np.searchsorted(steps, lo, "left"))
        last = len(steps) if hi is None else int(np.searchsorted(steps, hi, "left"))
        for start in range(first, last, page_size):
            stop = min(start + page_size, last)
            page = {
                k: (v[start:stop].tolist(), hit[start:stop].tolist())
                for k, (v, hit) in table.items()
            }
            tv, th = times[0][start:stop].tolist(), times[1][start:stop].tolist()
            for i, step in enumerate(steps[start:stop].tolist()):
                row: dict[str, Any] = {"_step": step}
                if wanted is None and th[i]:
                    row["_runtime"] = tv[i] - self.created_at
                    row["_timestamp"] = tv[i]
                for k, (vals, hits) in page.items():
                    if hits[i]:
                        row[k] = vals[i]
                yield row

    def histogram_keys(self) -> list[str]:
        return self._api._store.keys(self._rk, kind="h")

    def histograms(self, key: str) -> tuple[Int64Array, Float64Array, Int64Array]:
        """(steps, ranges, counts): ranges of shape (n, 2), counts of shape (n, bins)."""
        steps, ranges, counts, _ = self._api._store.histograms(self._rk, key)
        return steps, ranges, counts

    def histogram_stats(self, key: str) -> list[dict[str, Any]]:
        """Per step: the tensor's norm and its NaN and inf counts, as `watch` logged them."""
        return self._api._store.histograms(self._rk, key)[3]

    def media_keys(self) -> dict[str, str]:
        """Each media key of the run and its kind (``"image"``, ``"table"``, ``"plot"``,
        ``"video"``, ``"audio"``, ``"html"``), in first-logged order."""
        return dict(self._media_store().media_keys(self._rk))

    def _media_store(self) -> Store | RemoteStore:
        # Both stores answer media_keys / media / media_since alike (a server's rows carry
        # the logging store's media sequence); only where the files are differs.
        return self._api._store

    def media(self, key: str, *, pandas: bool = True) -> list[tuple[int, Any]]:
        """What was logged under media key `key`, per step, read back:

        >>> for step, images in record.media("preds"):
        ...     arr = images[0].numpy()          # the stored pixels, HxW or HxWxC uint8

        Images, videos, sounds and pages come as lists (one per logged item); a table as a
        pandas DataFrame (a dict of columns with ``pandas=False`` or without pandas); a plot
        as an object with ``plot``, ``fields``, ``title`` and ``table``. A key that was never
        logged as media is a KeyError naming the media keys there are.
        """
        store = self._media_store()
        rows = store.media(self._rk, key)
        if not rows:
            keys = self.media_keys()
            raise KeyError(
                f"nbtrack: run {self.path} has no media key {key!r}; its media keys: "
                f"{', '.join(keys) or 'none'}"
            )
        from nbtrack.media import decode

        files = self.media_files
        return [(r.step, decode(r.kind, r.payload, files, pandas=pandas)) for r in rows]

    def media_since(self, media_seq: int) -> tuple[list[MediaRow], int]:
        """The media rows stored after position `media_seq` (as stored: payloads naming
        files), and the new position: what a view follows."""
        return self._media_store().media_since(self._rk, media_seq)

    @property
    def media_files(self) -> MediaFiles:
        """The store's media files (thumbnails and full files, by name); a server's run's
        are downloaded on first use into the media cache (``~/.cache/nbtrack/media``), each
        checked against its name."""
        store = self._media_store()
        if isinstance(store, Store):
            return store.media_files
        return store.run_media_files(self._rk)

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

    def load(self, force: bool = False) -> RunRecord:
        """W&B's ``run.load()``: the run as stored now (a new record)."""
        del force
        return self.reload()

    # -- editing --------------------------------------------------------------------------

    def update(self) -> None:
        """Store the edited ``name``, ``notes``, ``tags``, ``group``, ``job_type``,
        ``config`` and ``summary``, as W&B's ``run.update()``.

        A local store is opened for writing for it; on a server it needs a key that may log
        to the run's entity. A run that is still logging keeps writing its own fields: edit
        runs that have finished.

        >>> run.summary["best"] = 0.9; run.config["lr"] = 1e-3; run.update()
        """
        edits = _checked_edits(self)
        self._api._write_run(self, _edited(self, edits))
        self._seen.update(config=_copied(edits["config"]), summary=_copied(edits["summary"]))

    def save(self) -> None:
        """W&B's older name of `update`."""
        self.update()

    def _save_summary(self) -> None:
        edits = _checked_edits(self)
        self._api._write_run(self, {"summary": _edited(self, edits)["summary"]})
        self._seen["summary"] = _copied(edits["summary"])

    def delete(self, delete_artifacts: bool = False) -> None:
        del delete_artifacts
        _unsupported("Run.delete()", "runs are not deleted from the store; nothing changed")

    def wait_until_finished(self) -> None:
        _unsupported("Run.wait_until_finished()", "returns at once; poll run.reload().state")

    # -- files and artifacts ----------------------------------------------------------------

    def _folder(self) -> Path | None:
        if self._api.host is not None:
            _unsupported("Run.files() from a server", "a server keeps no run files; none listed")
            return None
        from nbtrack._run import safe_folder_name

        return self._api.dir / "files" / safe_folder_name(self.project) / self.id

    def files(self, names: list[str] | None = None, pattern: str | None = None) -> list[RunFile]:
        """The files in the run's folder (``run.dir``, where ``nbtrack.save`` puts them):
        all, those of `names`, or those matching `pattern` (SQL LIKE: ``"%.json"``)."""
        if names and pattern:
            raise ValueError("nbtrack: run.files() takes names or pattern, not both")
        folder = self._folder()
        if folder is None or not folder.is_dir():
            return []
        found = sorted(p for p in folder.rglob("*") if p.is_file())
        out = [RunFile(p.relative_to(folder).as_posix(), p.stat().st_size, p) for p in found]
        if names:
            return [f for f in out if f.name in names]
        if pattern:
            like = re.compile(
                "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
                + r"\Z"
            )
            return [f for f in out if like.match(f.name)]
        return out

    def file(self, name: str) -> RunFile:
        """One file of the run's folder by its name there; a `FileNotFoundError` if none."""
        for f in self.files(names=[name]):
            return f
        there = [f.name for f in self.files()]
        raise FileNotFoundError(
            f"nbtrack: run {self.path} has no file {name!r} in its folder"
            + (f" (it has: {', '.join(there)})" if there else " (it has none)")
        )

    # -- the rest of W&B's public Run -------------------------------------------------------

    @property
    def lastHistoryStep(self) -> int:  # W&B's name
        return self.last_step

    @property
    def rawconfig(self) -> dict[str, Any]:
        return dict(self.config)

    @property
    def json_config(self) -> str:
        """The config in W&B's stored form, ``{"lr": {"value": 0.001}}``, as JSON."""
        from nbtrack._json import dumps

        return dumps({k: {"value": v} for k, v in self.config.items()})

    @property
    def system_metrics(self) -> dict[str, Any]:
        _unsupported("Run.system_metrics", "no system metrics are recorded; empty")
        return {}

    def beta_scan_history(self, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        return self.scan_history(*args, **kwargs)

    if not TYPE_CHECKING:  # at run time only: type checkers still catch a misspelt name

        def __getattr__(self, name: str) -> Any:
            if name in _RUN_STUBS:
                return _stub(f"Run.{name}()", _RUN_STUBS[name])
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def logged_artifacts(self) -> list[Any]:
        return self._artifacts("logged_artifacts")

    def used_artifacts(self) -> list[Any]:
        return self._artifacts("used_artifacts")

    def _artifacts(self, which: str) -> list[Any]:
        if self._api.host is not None:
            _unsupported(f"Run.{which}() from a server", "artifacts are kept locally only")
            return []
        try:
            from nbtrack import artifacts
        except ImportError:
            return []
        fn = getattr(artifacts, which, None)
        return list(fn(self._api.dir, self.project, self.id)) if fn is not None else []


def _assign(self: RunRecord, name: str, value: Any) -> None:
    """Records are frozen but for the fields W&B lets a script edit before `update`."""
    if name == "display_name":
        name = "name"
    if type(self) is not RunRecord or name not in _EDITABLE:
        raise FrozenInstanceError(
            f"cannot assign to field {name!r}: a record's editable fields are "
            + ", ".join(sorted(_EDITABLE))
        )
    if name == "summary":
        value = _bound_summary(self, value)
    object.__setattr__(self, name, value)


# Set after the class is made: a frozen dataclass may not define its own __setattr__, and
# it stays a frozen dataclass so that frozen subclasses (export's snapshot) still derive.
setattr(RunRecord, "__setattr__", _assign)  # noqa: B010


def _bound_summary(rec: RunRecord, values: Any) -> RunSummary:
    if not isinstance(values, Mapping):
        raise TypeError(f"nbtrack: run.summary must be a dict, not {type(values).__name__}")
    summary = RunSummary(values)
    summary._save = rec._save_summary
    return summary


def _checked_edits(rec: RunRecord) -> dict[str, Any]:
    """The record's editable fields as the store takes them; a clear error for bad ones."""
    from nbtrack._json import check

    if not isinstance(rec.name, str) or not rec.name.strip():
        raise ValueError(f"nbtrack: run.name must be a non-empty string, not {rec.name!r}")
    for what in ("notes", "group", "job_type"):
        v = getattr(rec, what)
        if v is not None and not isinstance(v, str):
            raise TypeError(f"nbtrack: run.{what} must be a string or None, not {v!r}")
    tags = rec.tags
    if isinstance(tags, str) or not isinstance(tags, (list, tuple, set, frozenset)):
        raise TypeError(f"nbtrack: run.tags must be a list of strings, not {tags!r}")
    bad = [t for t in tags if not isinstance(t, str)]
    if bad:
        raise TypeError(f"nbtrack: run.tags must be strings; {bad[0]!r} is not")
    out: dict[str, Any] = {"name": rec.name, "notes": rec.notes, "tags": list(tags)}
    for what in ("config", "summary"):
        d = getattr(rec, what)
        if not isinstance(d, Mapping):
            raise TypeError(f"nbtrack: run.{what} must be a dict, not {type(d).__name__}")
        for k, v in d.items():
            if not isinstance(k, str):
                raise TypeError(f"nbtrack: run.{what} keys must be strings, not {k!r}")
            check(what, k, v)
        out[what] = dict(d)
    out["group"], out["job_type"] = rec.group, rec.job_type
    return out


# A user summary entry of this value hides the key: W&B's ``del run.summary[k]`` of a key
# the run logged (its last value stays in the store's last values). A plain JSON object, so
# a reader that does not know it shows it as that key's value.
DELETED: dict[str, Any] = {"_nbtrack_deleted": True}


def is_deleted(value: Any) -> bool:
    """Whether a user summary entry is the `DELETED` marker."""
    return isinstance(value, dict) and value == DELETED


def readable_summary(
    logged: Mapping[str, Any] | None, user: Mapping[str, Any] | None
) -> dict[str, Any]:
    """A run's summary as every reader shows it: the last logged values under the user's
    entries, without the keys the user deleted.

    >>> readable_summary({"val": 0.1, "acc": 0.9}, {"best": 1, "val": DELETED})
    {'acc': 0.9, 'best': 1}
    """
    merged = {**(logged or {}), **(user or {})}
    return {k: v for k, v in merged.items() if not is_deleted(v)}


def deleted_keys(user: Mapping[str, Any] | None) -> set[str]:
    """The keys a user summary hides (see `DELETED`)."""
    return {k for k, v in (user or {}).items() if is_deleted(v)}


def _copied(d: Mapping[str, Any]) -> dict[str, Any]:
    # Only nested values are copied: most are numbers and strings, and every record of a
    # listing (the compare view polls them) keeps one such copy.
    import copy

    return {k: copy.deepcopy(v) if isinstance(v, (dict, list)) else v for k, v in d.items()}


def _changes(now: Mapping[str, Any], seen: Mapping[str, Any]) -> dict[str, Any]:
    """What changed from `seen` to `now`: ``{"set": {key: value}, "deleted": [key, ...]}``."""
    return {
        "set": {k: v for k, v in now.items() if k not in seen or not _same_value(seen[k], v)},
        "deleted": [k for k in seen if k not in now],
    }


def _edited(rec: RunRecord, edits: dict[str, Any]) -> dict[str, Any]:
    """`edits` with config and summary as what changed since the record read them."""
    out = dict(edits)
    for what in ("config", "summary"):
        out[what] = _changes(edits[what], rec._seen.get(what, {}))
    return out


def stored_edits(edits: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """`edits` (from `_edited`) as the run row's columns, against the row as stored now:
    the config and summary keys edited on the record merged into the stored ones, group
    and job type into its metadata. A summary entry equal to what the run logged is not
    the user's; a deleted key the run logged stays hidden by a `DELETED` entry."""
    fields_: dict[str, Any] = {k: edits[k] for k in ("name", "notes", "tags") if k in edits}
    if "config" in edits:
        config = dict(row.get("config") or {})
        for k in edits["config"]["deleted"]:
            config.pop(k, None)
        config.update(edits["config"]["set"])
        fields_["config"] = config
    if "group" in edits:
        meta = dict(row.get("metadata") or {})
        for k in ("group", "job_type"):
            if edits[k] is None:
                meta.pop(k, None)
            else:
                meta[k] = edits[k]
        fields_["metadata"] = meta
    if "summary" in edits:
        logged = row.get("summary") or {}
        user = dict(row.get("user_summary") or {})
        for k, v in edits["summary"]["set"].items():
            if k in user or k not in logged or not _same_value(logged[k], v):
                user[k] = v
        for k in edits["summary"]["deleted"]:
            user.pop(k, None)
            if k in logged:
                user[k] = dict(DELETED)
        fields_["user_summary"] = user
    return fields_


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True  # NaN is the value logged, not a change
    return bool(type(a) is type(b) and a == b)


# -- history helpers ----------------------------------------------------------------------


def _key_list(keys: Any, where: str) -> list[str] | None:
    if keys is None:
        return None
    if isinstance(keys, str):
        keys = [keys]
    if not isinstance(keys, (list, tuple)):
        raise ValueError(f"nbtrack: {where}(keys=...) takes a list of keys, not {keys!r}")
    bad = [k for k in keys if not isinstance(k, str)]
    if bad:
        raise ValueError(f"nbtrack: {where}(keys=...) takes strings; {bad[0]!r} is not")
    return list(keys) or None  # W&B reads every key for an empty list


def _samples(samples: Any) -> int | None:
    if samples is None:
        return None
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise ValueError(f"nbtrack: samples must be a positive int (or None), not {samples!r}")
    return int(samples)


def _sample(steps: Int64Array, limit: int | None) -> Int64Array:
    """At most `limit` of `steps`, evenly spread, the first and the last kept."""
    if limit is None or len(steps) <= limit:
        return steps
    if limit == 1:
        return steps[-1:]
    idx = np.unique(np.round(np.linspace(0, len(steps) - 1, limit)).astype(np.int64))
    picked: Int64Array = steps[idx]
    return picked


def _pandas() -> Any:
    # By name: pandas is optional, and its types (pandas-stubs) need not be installed.
    try:
        return importlib.import_module("pandas")
    except ImportError:
        return None


def _frame(pd: Any, table: dict[str, Any], whole: bool, created_at: float) -> Any:
    """The W&B shape: ``_step`` first, then the keys; with every key, ``_runtime`` and
    ``_timestamp`` (W&B's names for the time since the start and the Unix time)."""
    cols: dict[str, Any] = {"_step": table["_step"][0]}
    for k, (v, _) in table.items():
        if k not in ("_step", TIME_KEY):
            cols[k] = v
    if whole:
        t = table[TIME_KEY][0]
        cols["_runtime"] = t - created_at
        cols["_timestamp"] = t
    return pd.DataFrame(cols)


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


def _intersect_sorted(parts: list[Int64Array]) -> Int64Array:
    """The steps every one of the sorted, unique step arrays holds."""
    if not parts:
        return np.empty(0, np.int64)
    out = parts[0]
    for p in parts[1:]:
        if not (len(p) == len(out) and np.array_equal(p, out)):
            out = np.intersect1d(out, p, assume_unique=True)
    return out


def _align(
    steps: Int64Array, values: Float64Array, target: Int64Array
) -> tuple[Float64Array, np.ndarray[Any, Any]]:
    """`values` at the `target` steps (NaN where none), and which target steps had one."""
    if len(steps) == len(target) and np.array_equal(steps, target):
        return values, np.ones(len(target), dtype=bool)
    out = np.full(len(target), np.nan)
    hit = np.zeros(len(target), dtype=bool)
    if len(steps):
        idx = np.searchsorted(steps, target)
        idx_c = np.minimum(idx, len(steps) - 1)
        hit = steps[idx_c] == target
        out[hit] = values[idx_c[hit]]
    return out, hit


def _path_parts(path: str) -> list[str]:
    return path.strip().strip("/").split("/") if path.strip().strip("/") else []


class Api:
    """Read runs from a store root (default: ``NBTRACK_DIR`` or ``./nbtrack``), or from a
    server with ``host=``; W&B's ``wandb.Api(overrides=None, timeout=None, api_key=None)``
    too: ``overrides`` may set ``project`` (the default for paths without one), ``entity``
    and ``base_url`` (a server, as ``host=``).

    It only reads, but for `RunRecord.update`: it opens the store read-only (so a store on
    read-only media, or one whose writer holds its lock, reads as well), and a folder
    without a store is a `StoreNotFoundError`, never a new empty store. ``timeout`` is the
    seconds a server call may take (a local store has none to wait for).

    >>> with nbtrack.Api() as api:
    ...     rec = api.run("fashion-cnn/3k2j9x0a")
    ...     h = rec.history()
    >>> api = nbtrack.Api(overrides={"project": "fashion-cnn"})
    >>> api.run("3k2j9x0a").summary["val/acc"]
    """

    def __init__(
        self,
        overrides: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        timeout: float | None = None,
        api_key: str | None = None,
        *,
        dir: str | os.PathLike[str] | None = None,
        host: str | None = None,
        key: str | None = None,
        entity: str | None = None,
    ) -> None:
        if overrides is not None and not isinstance(overrides, Mapping):
            if dir is not None:
                raise TypeError("nbtrack.Api: the store folder was given twice (and as dir=)")
            overrides, dir = None, overrides  # nbtrack's Api(folder)
        settings = dict(overrides or {})
        project = settings.pop("project", None)
        entity = entity or settings.pop("entity", None)
        base_url = settings.pop("base_url", None)
        for name in settings:
            _unsupported(
                f"Api(overrides={{{name!r}: ...}})", "only project, entity and base_url are read"
            )
        if project is not None and (not isinstance(project, str) or not project):
            raise ValueError(f"nbtrack.Api: overrides['project'] must be a name, not {project!r}")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
        ):
            raise ValueError(
                f"nbtrack.Api: timeout must be a positive number of seconds, not {timeout!r}"
            )
        host = host or base_url
        key = key or api_key
        self._project: str | None = project
        self._entity: str | None = entity
        self.host: str | None = None
        self._opened: Store | RemoteStore | None
        if host is not None:
            remote = _remote(host, key, entity, timeout)
            self._opened = remote
            self.host = remote.client.host
            self._entity = remote.entity
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

    @property
    def default_entity(self) -> str | None:
        """The entity paths without one are read from: the server's (the key's user, or
        ``entity=``); None for a local store, which has none."""
        return self._entity

    @property
    def viewer(self) -> Any:
        _unsupported("Api.viewer", "there are no user objects; use api.default_entity")
        return None

    @property
    def settings(self) -> dict[str, Any]:
        return {"project": self._project, "entity": self._entity, "base_url": self.host}

    def flush(self) -> None:
        """W&B's cache reset: nothing to do, every call reads the store as it is now."""

    def close(self) -> None:
        if self._opened is not None:
            self._opened.close()
            self._opened = None

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- projects ---------------------------------------------------------------------------

    def projects(self, entity: str | None = None, per_page: int = 200) -> list[Project]:
        """The projects, as names (str) that also have W&B's ``.name`` and ``.entity``."""
        del per_page
        out = []
        for text in self._store.projects():
            ent, name = self._entity, text
            if self.host is not None and "/" in text:
                ent, name = text.split("/", 1)
            if entity is not None and self.host is not None and ent != entity:
                continue
            out.append(Project(text, name, ent, self._url(ent, name)))
        return out

    def project(self, name: str, entity: str | None = None) -> Project:
        """One project by name (``"project"`` or ``"entity/project"``); a ValueError naming
        the projects there are when there is none of that name."""
        if entity is not None:
            name = f"{entity}/{name}"
        text = self._project_name(name)
        return (
            next(p for p in self.projects() if str(p) == text)
            if self.host is None
            else (self._remote_project(text))
        )

    def _remote_project(self, text: str) -> Project:
        ent, _, name = text.rpartition("/")
        ent = ent or (self._entity or "")
        return Project(text, name, ent, self._url(ent, name))

    def _url(self, entity: str | None, project: str, run_id: str | None = None) -> str | None:
        if self.host is None or not entity:
            return None
        url = f"{self.host}/{quote(entity, safe='')}/{quote(project, safe='')}"
        return url + (f"/runs/{quote(run_id, safe='')}" if run_id else "")

    def _project_name(self, path: str) -> str:
        """The store's name of the project `path` names ("project" or "entity/project")."""
        if not isinstance(path, str) or not path.strip().strip("/"):
            raise ValueError(f"nbtrack: {path!r} names no project")
        text = path.strip().strip("/")
        if self.host is not None:
            return text  # the server's entity/project: it says when there is none
        names = self._store.projects()
        if text in names:
            return text
        rest = text.partition("/")[2]
        if rest and rest in names:
            return rest  # an entity, which a local store does not have, before the name
        have = ", ".join(repr(n) for n in names) or "none yet"
        raise ValueError(
            f"nbtrack: no runs of project {text!r} in {self._store.path}: there is no such "
            f"project (the projects there: {have})"
        )

    # -- runs -------------------------------------------------------------------------------

    def runs(
        self,
        path: str | None = None,
        filters: Mapping[str, Any] | None = None,
        order: str = "+created_at",
        per_page: int = 50,
        include_sweeps: bool = True,
        lazy: bool = True,
    ) -> Runs:
        """Runs of a project (``"project"`` or ``"entity/project"``; every project when
        None and no default project), matching MongoDB-style `filters`, sorted by `order`.

        Filters name ``config.<key>`` (or W&B's ``config.<key>.value``),
        ``summary_metrics.<key>`` (or ``summary.<key>``), ``state``, ``tags`` (a run whose
        tags hold the value), ``display_name``, ``name`` (W&B's: the run id), ``group``,
        ``jobType``, ``sweep``, ``createdAt`` (ISO strings or Unix times), with ``$eq $ne
        $gt $gte $lt $lte $in $nin $exists $regex $and $or $nor $not``. `order` is a field
        with ``+`` (ascending, the default) or ``-``; runs without it come last.

        >>> api.runs("fashion-cnn", {"$or": [{"config.lr": 1e-3}, {"tags": "best"}]})
        >>> api.runs("me/fashion-cnn", order="-summary_metrics.val/acc")[0].name
        """
        del per_page, include_sweeps, lazy  # everything is read at once, sweeps included
        match = _mongo.compile_query(filters)
        for name in _mongo.fields_of(filters):
            _mongo.check_field(name)
        if path is None:
            path = self._project
        project = self._project_name(path) if path is not None else None
        try:
            rows = self._store.run_rows(project)
        except RunNotFoundError as e:  # the server has no such project
            raise ValueError(f"nbtrack: no project {path!r}: {e}") from None
        recs = [self._record(r) for r in rows]
        if filters:
            recs = [r for r in recs if match(_mongo.run_resolver(r))]
        return Runs(_mongo.ordered(recs, order), project, filters, order)

    def run(self, path: str = "") -> RunRecord:
        """One run by ``"project/id"``, ``"entity/project/id"``, W&B's URL form
        ``"entity/project/runs/id"``, ``"project:id"``, or a bare id (in the default
        project when there is one, else the one run of that id there is); a
        `RunNotFoundError` naming the path when there is none."""
        if not isinstance(path, str) or not path.strip().strip("/"):
            raise ValueError(f"nbtrack: {path!r} names no run (give 'project/run_id')")
        text = path.strip().strip("/")
        if "/" not in text and ":" in text:
            text = text.replace(":", "/", 1)  # W&B's docker-style project:id
        elif "/" in text and ":" in text.rsplit("/", 1)[1]:
            head, tail = text.rsplit("/", 1)
            text = head + "/" + tail.replace(":", "/", 1)
        parts = text.split("/")
        if len(parts) == 1:
            return self._run_by_id(parts[0], path)
        run_id, folders = parts[-1], parts[:-1]
        candidates = ["/".join(folders)]
        if len(folders) >= 3 and folders[-1] in ("runs", "run"):
            candidates.append("/".join(folders[:-1]))  # entity/project/runs/id
        if self.host is None and len(folders) >= 2:
            candidates.append("/".join(folders[1:]))  # entity/project/id: the entity passed over
            if folders[-1] in ("runs", "run") and len(folders) >= 3:
                candidates.append("/".join(folders[1:-1]))
        for project in candidates:
            rows = self._store.run_rows(project, run_id)
            if rows:
                return self._record(rows[0])
        raise RunNotFoundError(f"nbtrack: no run {path!r} in {self._store.path}")

    def _run_by_id(self, run_id: str, path: str) -> RunRecord:
        if self._project is not None:
            rows = self._store.run_rows(self._project, run_id)
            if rows:
                return self._record(rows[0])
        rows = self._store.run_rows(None, run_id)
        if len(rows) > 1:
            projects = ", ".join(r["project"] for r in rows)
            raise ValueError(
                f"nbtrack: run id {path!r} is in several projects ({projects}); use project/id"
            )
        if not rows:
            raise RunNotFoundError(f"nbtrack: no run {path!r} in {self._store.path}")
        return self._record(rows[0])

    if not TYPE_CHECKING:  # at run time only: type checkers still catch a misspelt name

        def __getattr__(self, name: str) -> Any:
            if name in _API_STUBS:
                return _stub(f"Api.{name}()", _API_STUBS[name])
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def artifact_exists(self, name: str, type: str | None = None) -> bool:
        """Whether `artifact` finds that version (W&B's ``api.artifact_exists``)."""
        try:
            self.artifact(name, type)
        except LookupError:
            return False
        return True

    def from_path(self, path: str) -> Any:
        """W&B's `from_path`: a project, a run or a sweep, by the form of its path."""
        parts = _path_parts(path)
        if len(parts) == 4 and parts[2].startswith("sweep"):
            return self.sweep(path)
        if len(parts) == 4 and parts[2].startswith("run"):
            return self.run(path)
        if len(parts) == 3:
            return self.run(path)
        if len(parts) in (1, 2):
            return self.project(path)
        raise ValueError(
            f"nbtrack: cannot tell what {path!r} names: use project, entity/project, "
            "entity/project/runs/id or entity/project/sweeps/id"
        )

    # -- sweeps and artifacts --------------------------------------------------------------

    def sweep(self, path: str = "") -> Sweep:
        """A sweep by ``"entity/project/sweep_id"``, ``"project/sweep_id"``,
        ``"entity/project/sweeps/sweep_id"``, or its bare id; ``.runs`` are its runs."""
        parts = _path_parts(path)
        if len(parts) >= 3 and parts[-2] == "sweeps":
            del parts[-2]  # entity/project/sweeps/id, W&B's URL form
        if not parts:
            raise ValueError(f"nbtrack: {path!r} names no sweep")
        sweep_id = parts[-1]
        if len(parts) == 1:
            # A bare id: the sweeps package knows its project; else the runs that carry it.
            loaded = _load_sweep(self, self._project, sweep_id)
            if loaded is not None and isinstance(_attr(loaded, "project"), str):
                projects = [_attr(loaded, "project")]
            elif self._project is not None:
                projects = [self._project]
            else:
                projects = sorted({r.project for r in self.runs(None) if r.sweep_id == sweep_id})
        else:
            projects = [self._project_name("/".join(parts[:-1]))]
        found = [p for p in projects if self._sweep_exists(p, sweep_id)]
        if not found:
            raise ValueError(f"nbtrack: no sweep {path!r} in {self._store.path}")
        if len(found) > 1:
            raise ValueError(f"nbtrack: sweep id {path!r} is in several projects: {found}")
        return Sweep(self, found[0], sweep_id, self._entity)

    def _sweep_exists(self, project: str, sweep_id: str) -> bool:
        if _load_sweep(self, project, sweep_id) is not None:
            return True
        return any(r.sweep_id == sweep_id for r in self._store_runs(project))

    def _store_runs(self, project: str) -> list[RunRecord]:
        try:
            return [self._record(r) for r in self._store.run_rows(project)]
        except RunNotFoundError:
            return []

    def artifact(self, name: str, type: str | None = None) -> Any:
        """A logged artifact version: ``api.artifact("project/name:v1")`` (an entity
        before the project is passed over; ``name:latest`` by alias)."""
        if self.host is not None:
            raise NotImplementedError(
                "nbtrack: api.artifact() reads a local store; a server keeps no artifacts yet"
            )
        from nbtrack import artifacts

        parts = name.split("/")
        project: str | None = self._project
        if len(parts) >= 3:
            name = "/".join(parts[1:])  # entity/project/name: a local store has no entity
        if len(name.split("/")) == 1 and project is not None:
            return artifacts.api_artifact(self._dir, name, type, project=project)
        return artifacts.api_artifact(self._dir, name, type)

    # -- records -----------------------------------------------------------------------------

    def _record(self, row: dict[str, Any]) -> RunRecord:
        values: dict[str, Any] = {name: row.get(name) for name in _RECORD_FIELDS}
        values["state"] = effective_state(row)
        meta = row.get("metadata") or {}
        for k in ("group", "job_type", "sweep_id"):
            v = meta.get(k) if isinstance(meta, dict) else None
            values[k] = v if isinstance(v, str) else None
        values["url"] = self._url(row.get("entity"), row["project"], row["id"])
        # The last logged values, under the entries the user set (kept apart in the store).
        summary = readable_summary(row["summary"], row.get("user_summary"))
        values["summary"] = RunSummary(summary)
        seen = {"config": _copied(values["config"] or {}), "summary": _copied(summary)}
        rec = RunRecord(**values, _api=self, _rk=row["rk"], _seen=seen)
        values["summary"]._save = rec._save_summary
        return rec

    def _write_run(self, rec: RunRecord, edits: dict[str, Any]) -> None:
        """Store `edits` of `rec` (see `RunRecord.update`)."""
        from nbtrack.sync.remote import RemoteStore

        store = self._store
        if isinstance(store, RemoteStore):
            store.update_run(rec._rk, lambda row: stored_edits(edits, row))
            return
        writer = Store(self._dir, create=False)
        try:
            if not writer.edit_run(rec.project, rec.id, lambda row: stored_edits(edits, row)):
                raise RunNotFoundError(f"nbtrack: no run {rec.path} in {writer.path} any more")
        finally:
            writer.close()


# The record's public fields that are columns of the runs table under the same names.
_RECORD_FIELDS = [
    f.name
    for f in fields(RunRecord)
    if not f.name.startswith("_") and f.name not in ("group", "job_type", "sweep_id", "url")
]

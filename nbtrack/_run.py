"""`Run`: the object `nbtrack.init()` returns; and `RunLink`, its one internal interface.

`Run.log()` is the hot path: for the usual call (a flat dict of numbers, no explicit step)
it checks the value types and the key names against those already seen, appends one row
to a list and returns. Everything else (new keys, nested dicts, tensors, explicit steps,
``commit=False``) goes through `_log_slow`, one thread at a time.

What the writer, the dashboard, `watch` and the process hooks need from a run goes through
`link(run)`, a `RunLink`; nothing outside this module touches a run's private attributes.

The backlog is bounded: when the rows waiting for the writer pass `BACKLOG_ROWS` rows or
about `BACKLOG_BYTES` bytes, `log()` waits (at its next tick, at most 0.1 s later) until the
writer has taken half of them, so memory and what a kill can cost stay bounded. At rates the
writer keeps up with, `log()` never waits. While the store refuses writes (a full disk),
it does not wait either: the rows stay in memory until the store takes them again.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
import warnings
from collections import deque
from collections.abc import Callable, Mapping
from datetime import timedelta
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from nbtrack import _current
from nbtrack._config import Config, Summary, set_user_summary, user_summary
from nbtrack._values import (
    FAST_TYPES,
    ROW_WIDTH,
    TIME_KEY,
    Batch,
    DeviceValue,
    HistogramEntry,
    Rows,
    check_step,
    convert,
    flatten,
)

if TYPE_CHECKING:
    from nbtrack._device import DeviceReadback
    from nbtrack._interface import RunProtocol
    from nbtrack._metrics import Metric
    from nbtrack.store.writer import Writer
    from nbtrack.sync.uploader import Uploader

_time = time.time
TICK_S = 0.1
# Rows waiting for the writer before the training thread nudges it early.
WAKE_ROWS = 50_000
# The bound on the backlog, in rows and in (estimated) bytes: past it, log() waits.
BACKLOG_ROWS = 100_000
BACKLOG_BYTES = 32 << 20
# The bound on media (images, tables, ...) that `log()` took and the writer has not encoded
# yet, in bytes held: past it, log() waits for the writer (a flood of images slows the loop
# down to the writer's pace rather than filling memory, and loses nothing).
MEDIA_BACKLOG_BYTES = 256 << 20
# How long finish() waits for a store that refuses writes (a full disk) before it gives up.
FINISH_WAIT_S = float(os.environ.get("NBTRACK_FINISH_WAIT_S", "30"))

STATES = ("running", "finished", "failed", "crashed", "interrupted")
MODES = ("online", "offline", "disabled")


class AlertLevel(str, Enum):
    """W&B's ``wandb.AlertLevel``: the level of `alert`; its values are the strings."""

    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


def _alert_level(level: Any) -> str:
    if level is None:
        return "INFO"
    value = level.value if isinstance(level, AlertLevel) else level
    if value not in ("INFO", "WARN", "ERROR"):
        raise ValueError(f"nbtrack.alert: level must be INFO, WARN or ERROR, not {level!r}")
    return str(value)


def _wait_seconds(wait: Any) -> float:
    if wait is None:
        return 60.0  # W&B's default: one minute between alerts of the same title
    if isinstance(wait, timedelta):
        return wait.total_seconds()
    if isinstance(wait, bool) or not isinstance(wait, (int, float)):
        raise TypeError(
            "nbtrack.alert: wait_duration must be seconds (an int or float) or a timedelta, "
            f"not {type(wait).__name__}"
        )
    return float(wait)


def save_files(
    run_dir: Path,
    glob_str: str | os.PathLike[str] | None,
    base_path: str | os.PathLike[str] | None,
    policy: str,
) -> list[str]:
    """`run.save`: link or copy the files matching `glob_str` into `run_dir` (see Run.save)."""
    import glob
    import shutil

    if glob_str is None:
        raise TypeError("nbtrack.save: give the path (or glob) of the files to save")
    if isinstance(glob_str, bytes):
        glob_str = glob_str.decode("utf-8")
    pattern = os.fspath(glob_str)
    if pattern.startswith(("gs://", "s3://", "http://", "https://")):
        raise ValueError(f"nbtrack.save: {pattern} is a remote URL; save takes local files")
    if policy not in ("live", "end", "now"):
        raise ValueError(f"nbtrack.save: policy must be 'live', 'end' or 'now', not {policy!r}")
    absolute = Path(os.path.abspath(pattern))
    if base_path is not None:
        base = Path(os.path.abspath(base_path))
    elif not os.path.isabs(pattern):
        base = Path(os.path.abspath("."))
    else:
        base = absolute.parent.parent  # W&B keeps the file's last folder
    try:
        absolute.relative_to(base)
    except ValueError:
        raise ValueError(f"nbtrack.save: {pattern} is not inside base_path {base}") from None
    out: list[str] = []
    run_dir_abs = run_dir.resolve()
    for found in sorted(glob.glob(str(absolute), recursive=True)):
        src = Path(found)
        if not src.is_file():
            continue
        if run_dir_abs in src.resolve().parents:
            out.append(str(src))  # already in the run's folder
            continue
        dest = run_dir / src.relative_to(base)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.is_symlink() or dest.exists():
            dest.unlink()
        if policy == "now":
            shutil.copy2(src, dest)
        else:
            try:
                dest.symlink_to(src.resolve())
            except OSError:  # no symlinks here (Windows without the right): a copy
                shutil.copy2(src, dest)
        out.append(str(dest))
    return out


def local_entity() -> str:
    """The entity of a run with no server: the user's login name (W&B's is the user's)."""
    import getpass

    try:
        return getpass.getuser() or "local"
    except Exception:  # no user name in this environment (a container without one)
        return "local"


def safe_folder_name(name: str) -> str:
    """`name` as one folder name: path separators and odd characters become ``_``."""
    import re

    out = re.sub(r"[^A-Za-z0-9._-]", "_", name).strip(".")
    return out or "_"


class _Refusing(list[Any]):
    """Stands in for the row buffer once a run can take no more rows: a late log() fails
    loudly, and the fast path pays nothing for the check."""

    message = ""

    def extend(self, row: Any) -> None:
        raise RuntimeError(self.message)


class _Closed(_Refusing):
    message = "nbtrack: this run is finished; call nbtrack.init() to start a new one."


class _Forked(_Refusing):
    pass


class Run:
    """One tracked run. Made by `nbtrack.init()`; use it as a context manager to finish it.

    >>> with nbtrack.init(project="mnist", config={"lr": 1e-3}) as run:
    ...     for step in range(100):
    ...         run.log({"loss": 1 / (step + 1)})
    """

    def __init__(
        self,
        *,
        root: Path,
        project: str,
        rk: int,
        run_id: str,
        name: str,
        notes: str | None,
        tags: list[str],
        config: dict[str, Any],
        created_at: float,
        start_step: int = 0,
        last: dict[str, Any] | None = None,
        user: dict[str, Any] | None = None,
        group: str | None = None,
        job_type: str | None = None,
        sweep_id: str | None = None,
        resumed: bool = False,
        stored_metadata: dict[str, Any] | None = None,
        entity: str | None = None,
    ) -> None:
        # The run row's fields changed since the writer last took them.
        self._dirty: set[str] = set()
        self.id = run_id
        self._name = name
        self.project = project
        self._notes = notes
        self._tags = tuple(tags)
        self._root = root
        # A folder of its own, as W&B's run.dir: files saved there by one run never
        # overwrite another's.
        run_dir = root / "files" / safe_folder_name(project) / run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        self.dir = str(run_dir)
        self.created_at = created_at
        self.start_time = created_at
        self.resumed = resumed
        self.disabled = False
        # Fields W&B has on a run that the store keeps in the metadata column (contract:
        # metadata["group"], ["job_type"], ["sweep_id"], ["metrics"]).
        self._meta: dict[str, Any] = {}
        for key, value in (("group", group), ("job_type", job_type), ("sweep_id", sweep_id)):
            if value is not None:
                self._meta[key] = value
        self._machine: dict[str, Any] | None = None
        self._local_entity = entity  # init's entity=, shown while the run is not synced
        from nbtrack._metrics import Metrics

        self._metrics = Metrics(on_change=lambda: self._dirty.add("metadata"))
        self.state = "running"
        self.error: str | None = None
        self.alerts: list[dict[str, Any]] = []
        self._alerted_at: dict[str, float] = {}
        self._rk = rk
        self._pid = os.getpid()
        self._finished = False
        self._step = start_step
        self._open_row: dict[str, Any] | None = None
        self._open_device: list[DeviceValue] = []
        self._open_hists: list[HistogramEntry] = []
        self._open_media: list[Any] = []
        # The open row is an empty stand-in for a step already stored (see _commit_row).
        self._held = False
        self._hist_bins: dict[str, int] = {}
        self._rows: Rows = []
        self._device_values: list[DeviceValue] = []
        from nbtrack._device import DeviceReadback

        self._readback: DeviceReadback[list[DeviceValue]] = DeviceReadback()
        self._histograms: list[HistogramEntry] = []
        # Media `log()` took (nbtrack.media.MediaEntry), for the writer to encode; their bytes.
        self._media: list[Any] = []
        self._media_bytes = 0
        self._known: set[str] = set()
        self._last: dict[str, Any] = dict(last or {})
        # One logging thread at a time in the slow path; reentrant, so the SIGTERM handler
        # can end the run from inside a log() call it interrupted.
        self._lock = threading.RLock()
        self._drain_lock = threading.RLock()
        # Every drained batch goes to each sink; the writer's is the first.
        self._writer_queue: deque[Batch] = deque()
        self._sinks: list[deque[Batch]] = [self._writer_queue]
        self._tick_callbacks: list[Callable[[], None]] = []
        self._uploader: Uploader | None = None
        self._tick_at = 0.0
        self._config = Config(dict(config), self._config_changed)
        self._summary = Summary(self._summary_values, lambda: self._dirty.add("user_summary"))
        if user or stored_metadata:
            user = self._seed_aggregates(user or {}, stored_metadata or {})
            set_user_summary(self._summary, user)
        self._link = RunLink(self)
        # The store (and NumPy with it) loads with the first run, not with `import nbtrack`.
        from nbtrack.store.writer import Writer

        self._writer: Writer = Writer(
            root,
            rk,
            self._take_for_writer,
            self._run_fields,
            last_step=start_step - 1,
            last=self._last,
            on_start=self._collect_metadata,
        )

    # -- public surface -----------------------------------------------------------------

    @property
    def config(self) -> Config:
        return self._config

    @property
    def summary(self) -> Summary:
        return self._summary

    @property
    def step(self) -> int:
        """The step the next `log()` without ``step=`` writes to."""
        return self._step

    @property
    def path(self) -> str:
        return f"{self.project}/{self.id}"

    @property
    def name(self) -> str:
        """The run's display name; settable, and stored: ``run.name = "lr-1e-3"``."""
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"nbtrack: run.name must be a non-empty string, not {value!r}")
        self._name = value
        self._dirty.add("name")

    @property
    def notes(self) -> str | None:
        """The run's notes; settable, and stored."""
        return self._notes

    @notes.setter
    def notes(self, value: str | None) -> None:
        if value is not None and not isinstance(value, str):
            raise TypeError(f"nbtrack: run.notes must be a string, not {type(value).__name__}")
        self._notes = value
        self._dirty.add("notes")

    @property
    def tags(self) -> tuple[str, ...]:
        """The run's tags; settable (``run.tags = run.tags + ("best",)``), and stored."""
        return self._tags

    @tags.setter
    def tags(self, value: Any) -> None:
        if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
            raise TypeError(
                f"nbtrack: run.tags must be a list or tuple of strings, not {type(value).__name__}"
            )
        self._tags = tuple(str(t) for t in value)
        self._dirty.add("tags")

    @property
    def group(self) -> str | None:
        """The group given to `init` (W&B's ``group``), or None."""
        value = self._meta.get("group")
        return value if isinstance(value, str) else None

    @property
    def job_type(self) -> str | None:
        """The job type given to `init` (W&B's ``job_type``), or None."""
        value = self._meta.get("job_type")
        return value if isinstance(value, str) else None

    @property
    def sweep_id(self) -> str | None:
        """The id of the sweep this run is a trial of, or None."""
        value = self._meta.get("sweep_id")
        return value if isinstance(value, str) else None

    @property
    def entity(self) -> str:
        """The server's entity this run syncs to. A local run has none on a server: it is the
        entity given to init (or ``WANDB_ENTITY``), else the user's login name, so that W&B
        code that builds ``entity + "/" + project`` paths runs (`nbtrack.Api` passes an
        entity over in a local store's paths)."""
        up = self._uploader
        if up is not None and up.entity:
            return str(up.entity)
        return self._local_entity or local_entity()

    @property
    def url(self) -> str | None:
        """The run's page on the team server it syncs to; None for a local run."""
        up = self._uploader
        return up.status.url if up is not None else None

    @property
    def offline(self) -> bool:
        """True when the run is not synced to a server (kept in the local store only)."""
        return self._uploader is None

    def project_name(self) -> str:
        """The project's name (W&B's ``run.project_name()``)."""
        return self.project

    def define_metric(
        self,
        name: str,
        step_metric: Any = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: str | None = None,
        goal: str | None = None,
        overwrite: bool | None = None,
    ) -> Metric:
        """Say what a metric is drawn against and which aggregates its summary keeps.

        >>> run.define_metric("epoch")
        >>> run.define_metric("val/*", step_metric="epoch", summary="min,last", goal="minimize")

        `name` may end in ``*`` to cover every key with that prefix. `summary`: comma separated
        among min, max, mean, first, last, best (with `goal`), copy (the last value, the
        default) and none (no summary). The run's summary then holds
        ``{"min": ..., "last": ...}`` for each covered key, from the values logged from now on.
        """
        from nbtrack import _metrics

        m = _metrics.make(name, step_metric, step_sync, hidden, summary, goal, overwrite)
        with self._drain_lock:
            return self._metrics.define(m)

    def __repr__(self) -> str:
        return f"<nbtrack.Run {self.path} name={self.name!r} state={self.state}>"

    def log(
        self,
        data: Mapping[str, Any],
        step: int | None = None,
        commit: bool | None = None,
        sync: bool | None = None,
    ) -> None:
        """Log numbers for one step.

        >>> run.log({"train/loss": 0.31, "train/acc": 0.89})
        >>> run.log({"val": {"loss": 0.4}}, step=100)   # logged as val/loss at step 100

        Steps follow W&B's rule. Without `step`, each call is the next step. With an explicit
        `step` (and `commit` not given), that step stays the current one: the next call
        without `step` adds to it and then moves on, so ``log({...}, step=n)`` followed by
        ``log({"test/acc": a})`` puts both at step n. (What is logged is stored at once all
        the same: the dashboards do not wait for the step to end.) ``commit=False`` gathers
        keys into the current step until a call that commits; ``commit=True`` ends it.
        """
        if (
            step is None
            and (commit is None or commit is True)
            and self._open_row is None
            and type(data) is dict
            # Exact types, checked by C-level set operations: a float, int or bool (or a
            # NumPy scalar type once one has been seen) is what the writer converts in bulk;
            # anything else, even an object that behaves like a number under `+`, takes
            # the slow path, which stores it exactly or refuses it naming its key.
            and FAST_TYPES.issuperset(map(type, data.values()))
            and self._known.issuperset(data)
        ):
            t = _time()
            # No thread switch can fall between reading and writing the step: CPython
            # hands the GIL over only at calls and backward jumps, and there is none here.
            s = self._step
            self._step = s + 1
            self._rows.extend((s, t, data.copy()))
            if t >= self._tick_at:
                self._tick(t)
            return
        self._log_slow(data, step, commit)

    def _log_slow(self, data: Any, step: Any, commit: bool | None) -> None:
        with self._lock:
            if isinstance(self._rows, _Refusing):
                raise RuntimeError(self._rows.message)
            if not isinstance(data, Mapping):
                raise TypeError(
                    f"nbtrack.log: data must be a dict of key -> number, not {type(data).__name__}"
                )
            if step is not None:
                step = check_step(step)
                last = self._step - 1 if self._open_row is None else self._step
                if step < last:
                    raise ValueError(
                        f"nbtrack.log: step {step} is lower than the last logged step {last}; "
                        "steps must not decrease. Log to a new step, or use a new run."
                    )
            flat = flatten(data)
            device: list[DeviceValue] = []
            hists: list[HistogramEntry] = []
            medias: list[Any] = []
            row: dict[str, Any] = {}
            # Loaded only once the user has made a wandb.Histogram (or a media object).
            data_types = sys.modules.get("nbtrack.data_types")
            media = sys.modules.get("nbtrack.media")
            for key, value in flat.items():
                if media is not None and media.is_media(value):
                    # Checked and copied now (an error names the key); encoded by the writer.
                    medias.append(media.prepare(key, value))
                    continue
                if data_types is not None and isinstance(value, data_types.WBValue):
                    entry = value._entry(key, -1)  # media: a TypeError naming the key
                    # One bin count a key, as the store and the panels keep a series.
                    bins = self._hist_bins.setdefault(key, len(entry.counts))
                    if len(entry.counts) != bins:
                        entry.counts = data_types.rebin(entry.counts, bins)
                    hists.append(entry)
                    continue
                v = convert(key, value, device)
                if v is not None:
                    row[key] = v
            # All values are checked: from here on nothing can fail half-way.
            self._known.update(flat)
            if step is not None and step > self._step and self._open_row is not None:
                self._commit_row()  # an explicit later step closes the open row, as in W&B
            if step is not None and step >= self._step:
                self._jump_to(step)
            elif step is not None and step == self._step - 1 and self._open_row is None:
                # More keys for the step that was just committed: a row of its own, same step.
                for dv in device:
                    dv.step = step
                for h in hists:
                    h.step = step
                self._device_values.extend(device)
                self._histograms.extend(hists)
                if medias:
                    self._queue_media(medias, step)
                self._rows.extend((step, _time(), row))
                return
            if self._open_row is None:
                self._open_row = row
            else:
                self._open_row.update(row)
            self._open_device.extend(device)
            self._open_hists.extend(hists)
            self._open_media.extend(medias)
            if commit is None or commit:
                # W&B: an explicit step without commit= stays the current step.
                self._commit_row(hold=step is not None and commit is None)

    def _jump_to(self, step: int) -> None:
        self._step = step

    def _commit_row(self, hold: bool = False) -> None:
        """Store the open row at the current step; then move to the next step, or with
        `hold` stay at this one, with an empty open row standing for it (W&B's explicit
        step, which the next log() without a step adds to)."""
        row = self._open_row
        assert row is not None
        device, self._open_device = self._open_device, []
        hists, self._open_hists = self._open_hists, []
        medias, self._open_media = self._open_media, []
        self._open_row = None
        s = self._step
        if not row and not device and not hists and not medias and self._held:
            self._held = False  # the held step got nothing more: it is stored already
            self._step = s + 1
            return
        t = _time()
        if hold:
            self._open_row = {}
            self._held = True
        else:
            self._step = s + 1
            self._held = False
        for dv in device:
            dv.step = s
        self._device_values.extend(device)
        if hists:
            for h in hists:
                h.step = s
            self._histograms.extend(hists)
        if medias:
            self._queue_media(medias, s)
        self._rows.extend((s, t, row))
        if t >= self._tick_at:
            self._tick(t)

    def _queue_media(self, medias: list[Any], step: int) -> None:
        with self._drain_lock:  # the writer's drain takes them (and their bytes) under it
            for m in medias:
                m.step = step
                self._media_bytes += m.nbytes
            self._media.extend(medias)
        if self._media_bytes + self._writer.media_backlog > MEDIA_BACKLOG_BYTES:
            self._wait_for_media()

    def _wait_for_media(self) -> None:
        """Backpressure for media: wait until the writer has encoded half the bound."""
        writer = self._writer
        writer.wake()
        while (
            self._media_bytes + writer.media_backlog > MEDIA_BACKLOG_BYTES // 2
            and writer.healthy
            and not self._finished
        ):
            time.sleep(0.005)

    def alert(
        self,
        title: str,
        text: str = "",
        level: str | AlertLevel | None = None,
        wait_duration: float | timedelta | None = None,
        *,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Record an alert on the run (W&B's ``run.alert``); dashboards show it in their header.

        >>> run.alert("Loss diverged", f"loss={loss} at step {run.step}", level="ERROR")
        >>> run.alert("Slow epoch", "...", level=nbtrack.AlertLevel.WARN, wait_duration=300)

        `level`: INFO (the default, as in W&B), WARN or ERROR, a string or an `AlertLevel`.
        Another alert of the same title within `wait_duration` seconds (a number or a
        timedelta; one minute by default, as in W&B) is dropped, so an alert in a loop does
        not flood the run.
        """
        level_str = _alert_level(level)
        wait_s = _wait_seconds(wait_duration)
        if data:
            from nbtrack import _json

            for k, v in data.items():
                _json.check("alert data", str(k), v)
        now = time.time()
        title = str(title)
        last = self._alerted_at.get(title)
        if last is not None and now - last < wait_s:
            return
        self._alerted_at[title] = now
        self.alerts.append(
            {
                "title": title,
                "text": str(text),
                "level": level_str,
                "step": self._step,
                "time": now,
                **({"data": data} if data else {}),
            }
        )
        self._dirty.add("alerts")

    def save(
        self,
        glob_str: str | os.PathLike[str] | None = None,
        base_path: str | os.PathLike[str] | None = None,
        policy: str = "live",
    ) -> list[str]:
        """Put files into the run's folder, `run.dir`, keeping their path below `base_path`.

        >>> run.save("checkpoints/*.pt")          # -> run.dir/checkpoints/<file>.pt
        >>> run.save("/data/out/model.h5", base_path="/data")  # -> run.dir/out/model.h5

        As W&B does: a relative glob keeps its path from the working directory; an absolute
        one without `base_path` keeps its last folder. With ``policy="live"`` or ``"end"``
        each file is linked (a symlink, so the run's copy follows the file as it changes;
        a copy where the platform cannot link), with ``"now"`` copied as it is now.
        Returns the paths in the run's folder.
        """
        return save_files(Path(self.dir), glob_str, base_path, policy)

    def log_code(self, root: str | None = ".", name: str | None = None, **kwargs: Any) -> None:
        """W&B's ``run.log_code``: accepted; the program's path and git state are already
        in the run's metadata, and code is not saved as an artifact."""
        del root, name, kwargs
        from nbtrack._compat import unsupported

        unsupported("run.log_code()", "the program's path and git commit are in the metadata")

    def mark_preempting(self) -> None:
        """W&B's ``run.mark_preempting``: a no-op (there is no scheduler to tell)."""

    def _label(self, code: str | None = None, repo: str | None = None, **kwargs: Any) -> None:
        """W&B's private telemetry label, which libraries call (the Trainer's callback): a no-op."""
        del code, repo, kwargs

    def display(self, height: int = 420, hidden: bool = False) -> bool:
        """W&B's ``run.display`` (an iframe of the run page): here the live dashboard, in a
        notebook. Returns True when it was shown."""
        del height
        if hidden:
            return False
        try:
            from nbtrack.widget import display_run, in_notebook
        except ImportError:
            return False
        if not in_notebook():
            return False
        display_run(self)
        return True

    def to_html(self, height: int = 420, hidden: bool = False) -> str:
        """W&B's ``run.to_html``: a short HTML note naming the run (no server page here)."""
        del height, hidden
        import html

        where = (
            f' <a href="{html.escape(self.url)}">{html.escape(self.url)}</a>' if self.url else ""
        )
        return f"<p>nbtrack run {html.escape(self.path)}{where}</p>"

    # -- artifacts: thin calls into nbtrack.artifacts ----------------------------------

    def log_artifact(
        self,
        artifact_or_path: Any,
        name: str | None = None,
        type: str | None = None,
        aliases: list[str] | None = None,
        tags: list[str] | None = None,
    ) -> Any:
        """Store an `Artifact` (or a file or folder) as a new version; see nbtrack.artifacts."""
        from nbtrack import artifacts

        return artifacts.log_artifact(self, artifact_or_path, name, type, aliases, tags)

    def use_artifact(
        self,
        artifact_or_name: Any,
        type: str | None = None,
        aliases: list[str] | None = None,
        use_as: str | None = None,
    ) -> Any:
        """An artifact version, recorded as an input of this run: ``"name:latest"``, ``"name:v2"``."""
        from nbtrack import artifacts

        return artifacts.use_artifact(self, artifact_or_name, type, aliases, use_as)

    def log_model(
        self,
        path: str | os.PathLike[str],
        name: str | None = None,
        aliases: list[str] | None = None,
    ) -> Any:
        """Store a model file or folder as a ``model`` artifact version."""
        from nbtrack import artifacts

        return artifacts.log_model(self, path, name, aliases)

    def use_model(self, name: str) -> Any:
        """Download a ``model`` artifact version; returns the local path."""
        from nbtrack import artifacts

        return artifacts.use_model(self, name)

    def link_model(self, *args: Any, **kwargs: Any) -> None:
        """W&B's ``run.link_model``: the model registry does not exist locally; accepted."""
        del args, kwargs
        from nbtrack._compat import unsupported

        unsupported("run.link_model()", "there is no model registry; use log_model")

    def link_artifact(self, *args: Any, **kwargs: Any) -> None:
        """W&B's ``run.link_artifact``: the registry does not exist locally; accepted."""
        del args, kwargs
        from nbtrack._compat import unsupported

        unsupported("run.link_artifact()", "there is no registry; use log_artifact's aliases")

    def watch(
        self,
        models: Any,
        criterion: Any = None,
        log: str | None = "gradients",
        log_freq: int = 1000,
        idx: int | None = None,
        log_graph: bool = False,
    ) -> Any:
        """Log histograms of parameters and/or gradients of torch modules every `log_freq` steps.

        >>> run.watch(model, log="all", log_freq=100)
        """
        from nbtrack._watch import watch as _watch

        return _watch(
            self,
            models,
            criterion=criterion,
            log=log,
            log_freq=log_freq,
            idx=idx,
            log_graph=log_graph,
        )

    def unwatch(self, models: Any = None) -> None:
        """Remove the hooks `watch` put on `models` (all watched models when None)."""
        from nbtrack._watch import unwatch as _unwatch

        _unwatch(self, models)

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        """End the run: flush everything to the store and mark it finished (failed for a
        nonzero `exit_code`, as in W&B; None is 0)."""
        del quiet
        code = exit_code or 0
        state = "finished" if code == 0 else "failed"
        self._end(state, code, None)

    def dashboard(self) -> Any:
        """A live dashboard widget of this run (the last expression of a cell shows it).

        >>> run.dashboard()
        """
        from nbtrack.widget import dashboard

        return dashboard(self)

    def share(
        self, project: bool = False, expires: float | str | None = None, show_private: bool = False
    ) -> str:
        """A new read-only share link of this run (of its project with ``project=True``) on
        the team server it syncs to; its URL. Live for whoever opens it, revocable
        (``nbtrack share revoke``). `expires`: seconds, or ``"30m"``, ``"12h"``, ``"7d"``;
        None never. The machine's host, user and git remote show only with `show_private`.
        Waits (up to 30 s) for the run's first upload; raises `ShareError` saying what to do
        when it cannot.

        >>> run.share(expires="7d")
        'http://tracking:8080/s/nbl_...'
        """
        from nbtrack.sync.shares import share_run

        return share_run(
            self.project,
            self.id,
            self._uploader,
            whole_project=project,
            expires=expires,
            show_private=show_private,
        )

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self, tp: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.finish()
        elif isinstance(exc, KeyboardInterrupt):
            self._end("interrupted", 255, "KeyboardInterrupt")
        elif isinstance(exc, SystemExit):
            from nbtrack._process import exit_code_of

            code = exit_code_of(exc.code)
            self._end("finished" if code == 0 else "failed", code, None if code == 0 else repr(exc))
        else:
            self._end("failed", 1, "".join(traceback.format_exception(tp, exc, tb)))

    # -- internals ----------------------------------------------------------------------

    def _tick(self, t: float) -> None:
        self._tick_at = t + TICK_S
        for cb in list(self._tick_callbacks):
            cb()
        rows = self._rows
        n = len(rows) // ROW_WIDTH
        if n >= WAKE_ROWS:
            self._writer.wake()
        if n and n > _backlog_limit(rows):
            self._wait_for_writer(rows)

    def _wait_for_writer(self, rows: Rows) -> None:
        """Backpressure: wait until the writer has taken half the backlog.

        Taken, not committed: the writer converts and commits what it took while the loop
        logs on, so the two overlap. Uncommitted rows stay under twice the bound.
        """
        writer = self._writer
        limit = _backlog_limit(rows) // 2
        writer.wake()
        while len(rows) // ROW_WIDTH > limit and writer.healthy and rows is self._rows:
            time.sleep(0.002)

    def _last_values(self) -> dict[str, Any]:
        if not self._finished:
            self._drain()
        return dict(self._last)

    def _config_changed(self) -> None:
        self._dirty.add("config")
        # Stored now rather than at the next cycle: a config changes a few times a run, and
        # the Api (or a teammate's dashboard) reading it right after should see it, as W&B
        # sends it at once.
        writer = getattr(self, "_writer", None)
        if writer is not None:
            writer.wake()

    def _summary_values(self) -> dict[str, Any]:
        """The last values with the defined metrics' aggregates in place (the summary's base)."""
        last = self._last_values()
        with self._drain_lock:
            return self._metrics.apply(last)

    def _stored_summary(self) -> dict[str, Any]:
        """What the store keeps as the user's summary: the aggregates, then the user's own."""
        with self._drain_lock:
            aggregates = self._metrics.aggregates()
        return {**aggregates, **user_summary(self._summary)}

    def _seed_aggregates(self, user: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
        """A resumed run: the definitions the last session made hold again (its dashboard
        keeps drawing against their step metrics, the metadata keeps them), and the
        aggregates it stored continue; they are not the user's entries (which would hide new
        values). A ``mean`` counts the values logged from the resume on (the earlier count is
        not stored)."""
        from nbtrack import _metrics

        defs = stored.get("metrics")
        if not isinstance(defs, list) or not defs:
            return user
        previous = self._metrics
        for d in defs:
            try:
                previous.define(
                    _metrics.make(
                        d.get("name"),
                        d.get("step_metric"),
                        None,
                        d.get("hidden"),
                        ",".join(d.get("summary") or ()) or None,
                        d.get("goal"),
                        True,
                    )
                )
            except (ValueError, AttributeError, TypeError):
                continue  # written by another version: no aggregates to continue
        out = dict(user)
        for key, value in user.items():
            m = previous.definition(key)
            if m is not None and m.summary and isinstance(value, dict):
                self._metrics.seed(key, value)
                del out[key]
        return out

    def _collect_metadata(self) -> dict[str, Any]:
        """On the writer thread, before its first commit: the machine facts and the run's."""
        from nbtrack import _metadata

        try:
            self._machine = _metadata.collect()
        finally:
            self._dirty.discard("metadata")  # written now, with everything else
        return self._metadata_now()

    def _metadata_now(self) -> dict[str, Any]:
        with self._drain_lock:
            metrics = self._metrics.as_list()
        return {
            **(self._machine or {}),
            **self._meta,
            **({"metrics": metrics} if metrics else {}),
        }

    def _drain(self, pause: Callable[[], None] | None = None) -> Batch:
        """Turn pending rows into a Batch, hand it to every sink, and return it."""
        from nbtrack.store.columns import take_columns

        with self._drain_lock:
            series = take_columns(self._rows, pause)
            hists = self._histograms
            m = len(hists)
            hist_taken = hists[:m]
            del hists[:m]
            # Swapped, not sliced: `_queue_media` appends under this lock too.
            media_taken, self._media = self._media, []
            self._media_bytes -= sum(e.nbytes for e in media_taken)
            if self._device_values or len(self._readback):
                _merge(series, self._read_device_values(wait=self._finished))
            batch = Batch(series, hist_taken, media_taken)
            if batch:
                metrics = self._metrics
                aggregated = False
                for key, (_, vals) in series.items():
                    if key != TIME_KEY and len(vals):
                        self._last[key] = float(vals[-1])
                        if metrics.defs and metrics.add(key, vals):
                            aggregated = True
                if aggregated:
                    self._dirty.add("user_summary")
                for q in self._sinks:
                    q.append(batch)
            return batch

    def _take_for_writer(self) -> list[Batch]:
        # A bounded wait: the lock may be held by a thread a signal handler interrupted.
        if not self._drain_lock.acquire(timeout=0.5):
            return []
        try:
            self._drain(pause=_let_others_run)
            q = self._writer_queue
            return [q.popleft() for _ in range(len(q))]
        finally:
            self._drain_lock.release()

    def _read_device_values(self, wait: bool = False) -> dict[str, Any]:
        """Read 0-d device tensors back in batches: one copy per (device, dtype)."""
        import numpy as np

        torch = sys.modules["torch"]
        # Slice, not swap: the training thread may be appending to this very list.
        pending = self._device_values
        n = len(pending)
        new = pending[:n]
        del pending[:n]
        groups: dict[tuple[Any, Any], list[DeviceValue]] = {}
        for dv in new:
            groups.setdefault((dv.tensor.device, dv.tensor.dtype), []).append(dv)
        for items in groups.values():
            self._readback.send(items, torch.stack([dv.tensor for dv in items]).to(torch.float64))
        out: dict[str, list[tuple[int, float]]] = {}
        for items, values in self._readback.receive(wait=wait):
            for dv, value in zip(items, values, strict=True):
                out.setdefault(dv.key, []).append((dv.step, float(value)))
        return {
            k: (
                np.array([p[0] for p in pts], dtype=np.int64),
                np.array([p[1] for p in pts], dtype=np.float64),
            )
            for k, pts in out.items()
        }

    def _run_fields(self) -> dict[str, Any]:
        """The run row's fields that changed since the last call (a huge summary value set
        once is written once, not with every batch)."""
        dirty = self._dirty
        if not dirty:
            return {}
        fields: dict[str, Any] = {}
        for name in list(dirty):
            # Discarded first, so a change made while the value is built marks it again;
            # marked again when building fails (a dict changed by another thread mid-copy),
            # so the next cycle or finish() still writes it.
            dirty.discard(name)
            try:
                fields[name] = self._field_value(name)
            except BaseException:
                dirty.add(name)
                raise
        return fields

    def _field_value(self, name: str) -> Any:
        if name == "config":
            return self._config.as_dict()
        if name == "alerts":
            return list(self.alerts)
        if name == "metadata":
            return self._metadata_now()
        if name == "name":
            return self._name
        if name == "notes":
            return self._notes
        if name == "tags":
            return list(self._tags)
        return self._stored_summary()

    def _end(self, state: str, exit_code: int, error: str | None) -> None:
        with self._lock:
            if self._finished or isinstance(self._rows, _Forked):
                return
            if self._link.watchers:
                from nbtrack._watch import unwatch

                unwatch(self)  # waits for histograms still on their way from the device
            if self._open_row is not None:
                self._commit_row()
            self._finished = True  # from here a drain waits for device values
            # Under the drain lock: a drain under way on the writer thread finishes first,
            # else it would go on taking rows from the old list that are copied here too.
            with self._drain_lock:
                leftover, self._rows = self._rows, _Closed()
                list.extend(self._rows, leftover)  # past the refusing extend: drained below
        with self._drain_lock:
            self._drain()
            q = self._writer_queue
            batches = [q.popleft() for _ in range(len(q))]
        self.state = state
        self.error = error
        fields = {
            "state": state,
            "exit_code": exit_code,
            "error": error,
            "finished_at": time.time(),
        }
        # Config, summary, name, tags... go with it only where they changed (the writer's
        # last cycle takes the changed fields): an edit made meanwhile through the Api
        # (``api.run(path).config[...] = ...; run.update()``) is not overwritten, as in W&B.
        unstored = self._writer.stop(batches, fields, FINISH_WAIT_S)
        if unstored:
            self._report_unstored(unstored)
        if self._uploader is not None:
            from nbtrack.sync.uploader import sync_wait_s

            self._uploader.finish(sync_wait_s())
        for cb in list(self._tick_callbacks):
            cb()
        from nbtrack import _process

        _process.untrack(self._link)
        _current.clear_current(self)

    def _report_unstored(self, unstored: list[Batch]) -> None:
        n = sum(len(s) for b in unstored for k, (s, _) in b.series.items() if k != TIME_KEY)
        steps = [int(s.min()) for b in unstored for k, (s, _) in b.series.items() if len(s)]
        since = f" from step {min(steps)} on" if steps else ""
        why = self._writer.error
        message = (
            f"nbtrack: {n} values of run {self.path}{since} could not be stored in "
            f"{self._root} ({why}); waited {FINISH_WAIT_S:.0f} s. Everything before is kept."
        )
        self.error = message if self.error is None else f"{self.error}\n{message}"
        warnings.warn(message, RuntimeWarning, stacklevel=3)

    def _forked(self) -> None:
        """In a child of os.fork(): this run belongs to the parent; refuse to log to it."""
        rows = _Forked()
        rows.message = (
            f"nbtrack: run {self.path} belongs to process {self._pid}, and this process is a "
            "fork of it: a run does not cross a fork. Call nbtrack.init() in this process "
            "to log a run of its own."
        )
        self._rows = rows
        # Locks copied from the parent may be held by one of its threads, which the child
        # does not have; and the writer's connection is the parent's: never touched here.
        self._lock = threading.RLock()
        self._drain_lock = threading.RLock()
        self._tick_callbacks = []
        self._finished = True
        _FORKED_AWAY.append(self)  # never collected: closing its connection would harm the parent


# Runs inherited from the parent through fork, kept alive on purpose (see Run._forked).
_FORKED_AWAY: list[Run] = []


def _backlog_limit(rows: Rows) -> int:
    """The backlog bound in rows, from the size of the last row (an estimate, cheap)."""
    sample = rows[-1] if rows else None
    if type(sample) is not dict:
        return BACKLOG_ROWS
    # A row: its dict, one float object a value, its step and time, three list slots.
    row_bytes = sys.getsizeof(sample) + 32 * len(sample) + 80
    return max(1000, min(BACKLOG_ROWS, BACKLOG_BYTES // row_bytes))


def _merge(series: dict[str, Any], extra: dict[str, Any]) -> None:
    import numpy as np

    for key, (s, v) in extra.items():
        if key in series:
            s0, v0 = series[key]
            steps = np.concatenate([s0, s])
            order = np.argsort(steps, kind="stable")
            series[key] = (steps[order], np.concatenate([v0, v])[order])
        else:
            series[key] = (s, v)


def _let_others_run() -> None:
    time.sleep(0)  # releases the GIL: the training thread runs between the writer's chunks


class RunLink:
    """What the writer, the dashboards, `watch` and the process hooks need from a run.

    Got with `link(run)`. Small on purpose: data goes out through `subscribe` and `drain`,
    histograms and alerts come in through `log_histograms` and `note_nonfinite`.
    """

    def __init__(self, run: Run) -> None:
        self._run = run
        # watch's hooks on the models it watches, and the index of the next one.
        self.watchers: list[Any] = []
        self._watch_idx = 0

    @property
    def run(self) -> Run:
        return self._run

    @property
    def root(self) -> Path:
        """The store's root folder (`run.dir` is the run's own folder inside it)."""
        return self._run._root

    def metric_definitions(self) -> list[dict[str, Any]]:
        """The run's `define_metric` definitions, in define order, as stored in its metadata."""
        run = self._run
        with run._drain_lock:
            return run._metrics.as_list()

    @property
    def finished(self) -> bool:
        """True once the run takes no more data (finished, or inherited through fork)."""
        return self._run._finished

    @property
    def path(self) -> str:
        return self._run.path

    @property
    def step(self) -> int:
        return self._run._step

    @property
    def rk(self) -> int:
        """The run's row in its store."""
        return self._run._rk

    def subscribe(self) -> deque[Batch]:
        """A queue that receives every batch of new data from now on (for dashboards)."""
        run = self._run
        q: deque[Batch] = deque()
        with run._drain_lock:
            run._sinks.append(q)
        return q

    def unsubscribe(self, q: deque[Batch]) -> None:
        run = self._run
        with run._drain_lock:
            if q in run._sinks:
                run._sinks.remove(q)

    def on_tick(self, callback: Callable[[], None]) -> None:
        """Call `callback` on the logging thread at most every 0.1 s while `log()` is called,
        and once when the run ends."""
        self._run._tick_callbacks.append(callback)

    def remove_tick(self, callback: Callable[[], None]) -> None:
        callbacks = self._run._tick_callbacks
        if callback in callbacks:
            callbacks.remove(callback)

    def drain(self) -> Batch:
        """Hand what was logged so far to every subscriber now (and return it)."""
        if self._run._finished:
            return Batch()
        return self._run._drain()

    def flush(self, timeout: float = 30.0) -> None:
        """Block until everything logged so far is committed to the store (or `timeout`)."""
        run = self._run
        if not run._finished:
            run._drain()
            run._writer.flush(timeout)

    def last_values(self) -> dict[str, Any]:
        """The last value of each key as the dashboards have seen it (no drain)."""
        return dict(self._run._last)

    def log_histograms(self, entries: list[HistogramEntry]) -> None:
        """Store histograms (made by `watch`); ignored once the run has ended."""
        if not self._run._finished:
            self._run._histograms.extend(entries)

    def note_nonfinite(self, info: dict[str, Any]) -> bool:
        """Keep the first non-finite value `watch` saw in the summary; False if one is kept."""
        summary = self._run.summary
        if "watch/first_nonfinite" in user_summary(summary):
            return False
        summary["watch/first_nonfinite"] = info
        return True

    def next_watch_index(self, n: int) -> int:
        """The index of the first of `n` models watched now (W&B's ``graph_<i>`` prefix)."""
        i = self._watch_idx
        self._watch_idx = i + n
        return i

    def end(self, state: str, exit_code: int, error: str | None) -> None:
        """End the run with this state (for the magic and the process hooks)."""
        self._run._end(state, exit_code, error)

    def forked(self) -> None:
        self._run._forked()

    def start_upload(self, uploader: Uploader) -> None:
        """Sync the run with `uploader` from now on (it runs until the run ends)."""
        run = self._run
        run._uploader = uploader
        run._writer.after_commit.append(uploader.wake)
        uploader.start()

    def uploader(self) -> Uploader | None:
        """The run's upload to a team server (None: not synced), for share grants."""
        return self._run._uploader

    def sync_status(self) -> dict[str, Any] | None:
        """Where the run stands with the server (None: not synced)."""
        up = self._run._uploader
        return None if up is None else up.status.as_dict()


def link(run: Run) -> RunLink:
    """The internal interface of `run`."""
    return run._link


if TYPE_CHECKING:
    # mypy checks here that Run has every part of the run protocol.
    _check: type[RunProtocol] = Run

"""`Run`: the object `nbtrack.init()` returns, and the module-level current run.

`Run.log()` is the hot path: for the usual call (a flat dict of numbers, no explicit step)
it checks the value types and the key names against those already seen, appends one row
to a list and returns. Everything else (new keys, nested dicts, tensors, explicit steps,
``commit=False``) goes through `_log_slow`.
"""

from __future__ import annotations

import atexit
import os
import random
import secrets
import string
import sys
import threading
import time
import traceback
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from nbtrack._config import Config, Summary, as_dict
from nbtrack._values import (
    FAST_TYPES,
    ROW_WIDTH,
    TIME_KEY,
    Batch,
    DeviceValue,
    HistogramEntry,
    Rows,
    convert,
    flatten,
)

if TYPE_CHECKING:
    from nbtrack.store.db import Store

_time = time.time
TICK_S = 0.1
# Rows waiting for the writer before the training thread nudges it early.
_BACKLOG_ROWS = 50_000

STATES = ("running", "finished", "failed", "crashed", "interrupted")
MODES = ("online", "offline", "disabled")

_ADJECTIVES = [
    "amber",
    "azure",
    "bold",
    "brisk",
    "calm",
    "clever",
    "cosmic",
    "crisp",
    "daring",
    "dawn",
    "eager",
    "fancy",
    "fiery",
    "gentle",
    "golden",
    "hardy",
    "icy",
    "jolly",
    "keen",
    "lively",
    "lucid",
    "misty",
    "noble",
    "polar",
    "proud",
    "quiet",
    "rapid",
    "royal",
    "silent",
    "snowy",
    "solar",
    "spring",
    "stellar",
    "stoic",
    "sunny",
    "swift",
    "tidal",
    "vivid",
    "warm",
    "wild",
    "wise",
]
_NOUNS = [
    "aurora",
    "breeze",
    "brook",
    "canyon",
    "cloud",
    "comet",
    "cosmos",
    "dawn",
    "dew",
    "dream",
    "dune",
    "ember",
    "field",
    "firefly",
    "forest",
    "frost",
    "galaxy",
    "glade",
    "grove",
    "haze",
    "hill",
    "lake",
    "leaf",
    "meadow",
    "moon",
    "mountain",
    "night",
    "ocean",
    "pine",
    "planet",
    "rain",
    "river",
    "sea",
    "shadow",
    "sky",
    "snow",
    "star",
    "sun",
    "thunder",
    "tree",
    "wave",
    "wind",
]


def _new_id() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(8))


class _Closed(list[Any]):
    """Stands in for the row buffer after finish, so a late log() fails loudly for free."""

    def extend(self, row: Any) -> None:
        raise RuntimeError("nbtrack: this run is finished; call nbtrack.init() to start a new one.")


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
        user_summary: dict[str, Any] | None = None,
    ) -> None:
        self.id = run_id
        self.name = name
        self.project = project
        self.notes = notes
        self.tags = tuple(tags)
        self.dir = root
        self.created_at = created_at
        self.state = "running"
        self.error: str | None = None
        self._rk = rk
        self._finished = False
        self._step = start_step
        self._open_row: dict[str, Any] | None = None
        self._rows: Rows = []
        self._device_values: list[DeviceValue] = []
        self._device_inflight: deque[tuple[list[DeviceValue], Any, Any]] = deque()
        self._histograms: list[HistogramEntry] = []
        self._known: set[str] = set()
        self._watchers: list[Any] = []  # nbtrack._watch's hooks on the models it watches
        self._watch_idx = 0
        self._sum_check = True
        self._last: dict[str, Any] = dict(last or {})
        self._drain_lock = threading.Lock()
        # Every drained batch goes to each sink; the writer's is the first.
        self._writer_queue: deque[Batch] = deque()
        self._sinks: list[deque[Batch]] = [self._writer_queue]
        self._tick_callbacks: list[Callable[[], None]] = []
        self._tick_at = 0.0
        self._meta_dirty = False
        self.alerts: list[dict[str, Any]] = []
        self._config = Config(dict(config), self._mark_dirty)
        self._summary = Summary(self._last_values, self._mark_dirty)
        if user_summary:
            self._summary._user.update(user_summary)
        # The store (and NumPy with it) loads with the first run, not with `import nbtrack`.
        from nbtrack import _metadata
        from nbtrack.store.db import Store
        from nbtrack.store.writer import Writer

        self._store = Store(root)
        self._writer = Writer(root, rk, self._take_for_writer, self._run_fields, _metadata.collect)

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

    def __repr__(self) -> str:
        return f"<nbtrack.Run {self.path} name={self.name!r} state={self.state}>"

    def log(self, data: Mapping[str, Any], step: int | None = None, commit: bool = True) -> None:
        """Log numbers for one step.

        >>> run.log({"train/loss": 0.31, "train/acc": 0.89})
        >>> run.log({"val": {"loss": 0.4}}, step=100)   # logged as val/loss at step 100
        """
        if step is None and commit is True and self._open_row is None and type(data) is dict:
            values = data.values()
            try:
                # The sum of Python floats, ints and bools is an exact float, and C's sum()
                # finds that out in a few ns a value: a str, None or a list raises, a NumPy
                # or tensor value makes another type, and the exact type check below
                # decides. Off once the run has seen a tensor: adding one to a float would
                # launch work on its device.
                fast = self._sum_check and type(sum(values)) is float
            except Exception:
                fast = False
            if (fast or FAST_TYPES.issuperset(map(type, values))) and self._known.issuperset(data):
                t = _time()
                s = self._step
                self._step = s + 1
                self._rows.extend((s, t, data.copy()))
                if t >= self._tick_at:
                    self._tick(t)
                return
        self._log_slow(data, step, commit)

    def _log_slow(self, data: Any, step: Any, commit: bool) -> None:
        if self._finished:
            raise RuntimeError(
                "nbtrack: this run is finished; call nbtrack.init() to start a new one."
            )
        if not isinstance(data, Mapping):
            raise TypeError(
                f"nbtrack.log: data must be a dict of key -> number, not {type(data).__name__}"
            )
        if step is not None:
            if isinstance(step, bool) or not hasattr(step, "__index__"):
                raise TypeError(
                    f"nbtrack.log: step must be an int, not {type(step).__name__} {step!r}"
                )
            step = step.__index__()
            if step < 0:
                raise ValueError(f"nbtrack.log: step must be >= 0, got {step}")
            last = self._step - 1 if self._open_row is None else self._step
            if step < last:
                raise ValueError(
                    f"nbtrack.log: step {step} is lower than the last logged step {last}; "
                    "steps must not decrease. Log to a new step, or use a new run."
                )
        flat = flatten(data)
        torch = sys.modules.get("torch")
        if torch is not None and self._sum_check:
            self._sum_check = not any(isinstance(v, torch.Tensor) for v in flat.values())
        device: list[DeviceValue] = []
        target = self._step if step is None or step < self._step else step
        row: dict[str, Any] = {}
        for key, value in flat.items():
            v = convert(key, value, target, device)
            if v is not None:
                row[key] = v
        # All values are checked: from here on nothing can fail half-way.
        self._known.update(flat)
        if step is not None and step > self._step and self._open_row is not None:
            self._commit_row()  # an explicit later step closes the open row, as in W&B
        if step is not None and step >= self._step:
            self._step = step
        elif step is not None and step == self._step - 1 and self._open_row is None:
            # More keys for the step that was just committed: a row of its own, same step.
            self._rows.extend((step, _time(), row))
            for dv in device:
                dv.step = step
            self._device_values.extend(device)
            return
        if self._open_row is None:
            self._open_row = row
        else:
            self._open_row.update(row)
        for dv in device:
            dv.step = self._step
        self._device_values.extend(device)
        if commit:
            self._commit_row()

    def _commit_row(self) -> None:
        assert self._open_row is not None
        t = _time()
        self._rows.extend((self._step, t, self._open_row))
        self._open_row = None
        self._step += 1
        if t >= self._tick_at:
            self._tick(t)

    def log_histograms(self, entries: list[HistogramEntry]) -> None:
        """Store histograms (made by `watch`, or by hand with `HistogramEntry`)."""
        if self._finished:
            raise RuntimeError(
                "nbtrack: this run is finished; call nbtrack.init() to start a new one."
            )
        self._histograms.extend(entries)

    def alert(
        self, title: str, text: str = "", level: str = "WARN", data: dict[str, Any] | None = None
    ) -> None:
        """Record an alert on the run; dashboards show it in their header.

        >>> run.alert("Loss diverged", f"loss={loss} at step {run.step}", level="ERROR")
        """
        if level not in ("INFO", "WARN", "ERROR"):
            raise ValueError(f"nbtrack.alert: level must be INFO, WARN or ERROR, not {level!r}")
        self.alerts.append(
            {
                "title": str(title),
                "text": str(text),
                "level": level,
                "step": self._step,
                "time": time.time(),
                **({"data": data} if data else {}),
            }
        )
        self._meta_dirty = True

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

    def finish(self, exit_code: int = 0, *, quiet: bool = False) -> None:
        """End the run: flush everything to the store and mark it finished (or failed)."""
        del quiet
        state = "finished" if exit_code == 0 else "failed"
        self._end(state, exit_code, None)

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self, tp: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.finish()
        elif isinstance(exc, KeyboardInterrupt):
            self._end("interrupted", 255, "KeyboardInterrupt")
        else:
            self._end("failed", 1, "".join(traceback.format_exception(tp, exc, tb)))

    # -- live views ---------------------------------------------------------------------

    def subscribe(self) -> deque[Batch]:
        """A queue that receives every batch of new data from now on (for dashboards)."""
        q: deque[Batch] = deque()
        with self._drain_lock:
            self._sinks.append(q)
        return q

    def unsubscribe(self, q: deque[Batch]) -> None:
        with self._drain_lock:
            if q in self._sinks:
                self._sinks.remove(q)

    def on_tick(self, callback: Callable[[], None]) -> None:
        """Call `callback` on the logging thread at most every 0.1 s while `log()` is called."""
        self._tick_callbacks.append(callback)

    def remove_tick(self, callback: Callable[[], None]) -> None:
        if callback in self._tick_callbacks:
            self._tick_callbacks.remove(callback)

    def dashboard(self) -> Any:
        """A live dashboard widget of this run (the last expression of a cell shows it).

        >>> run.dashboard()
        """
        from nbtrack.widget import dashboard

        return dashboard(self)

    def last_values(self) -> dict[str, Any]:
        """The last logged value of each key (drains pending rows first)."""
        return self._last_values()

    # -- internals ----------------------------------------------------------------------

    def _tick(self, t: float) -> None:
        self._tick_at = t + TICK_S
        if self._tick_callbacks:
            for cb in list(self._tick_callbacks):
                cb()
        elif len(self._rows) > _BACKLOG_ROWS * ROW_WIDTH:
            self._writer.wake()

    def _mark_dirty(self) -> None:
        self._meta_dirty = True

    def _last_values(self) -> dict[str, Any]:
        self.drain()
        return dict(self._last)

    def drain(self, pause: Callable[[], None] | None = None) -> Batch:
        """Turn pending rows into a Batch, hand it to every subscriber, and return it.

        `pause` is called between chunks of rows (the writer passes one that lets the
        training thread run).
        """
        from nbtrack.store.columns import take_columns

        with self._drain_lock:
            series = take_columns(self._rows, pause)
            hists = self._histograms
            m = len(hists)
            hist_taken = hists[:m]
            del hists[:m]
            if self._device_values or self._device_inflight:
                self._merge(series, self._read_device_values(wait=self._finished))
            batch = Batch(series, hist_taken)
            if batch:
                for key, (_, vals) in series.items():
                    if key != TIME_KEY and len(vals):
                        self._last[key] = float(vals[-1])
                for q in self._sinks:
                    q.append(batch)
            return batch

    def _take_for_writer(self) -> list[Batch]:
        self.drain(pause=_let_others_run)
        q = self._writer_queue
        return [q.popleft() for _ in range(len(q))]

    @staticmethod
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

    def _read_device_values(self, wait: bool = False) -> dict[str, Any]:
        """Read 0-d device tensors back in batches: one copy per dtype, waited on by event.

        The copies are started here (off the training thread, on the writer's turn) into
        pinned memory without blocking; their values are read once their event has fired.
        """
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
        for (device, _), items in groups.items():
            stacked = torch.stack([dv.tensor for dv in items]).to(torch.float64)
            if device.type == "cuda":
                host = torch.empty(stacked.shape, dtype=torch.float64, pin_memory=True)
                host.copy_(stacked, non_blocking=True)
                event = torch.cuda.Event()
                event.record()
            else:
                host, event = stacked.cpu(), None
            self._device_inflight.append((items, host, event))
        out: dict[str, list[tuple[int, float]]] = {}
        while self._device_inflight:
            items, host, event = self._device_inflight[0]
            if event is not None and not event.query():
                if not wait:
                    break
                event.synchronize()
            self._device_inflight.popleft()
            values = host.numpy()
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
        fields: dict[str, Any] = {"last_step": self._step - 1, "summary": self._summary.as_dict()}
        if self._meta_dirty:
            self._meta_dirty = False
            fields["config"] = self._config.as_dict()
            fields["alerts"] = list(self.alerts)
        return fields

    def _end(self, state: str, exit_code: int, error: str | None) -> None:
        if self._finished:
            return
        if self._watchers:
            from nbtrack._watch import unwatch

            unwatch(self)  # waits for histograms still on their way from the device
        if self._open_row is not None:
            self._commit_row()
        self._finished = True  # from here the writer waits for device values
        self._writer.stop()  # its last cycle drains and commits everything logged so far
        with self._drain_lock:
            leftover, self._rows = self._rows, _Closed()
            list.extend(self._rows, leftover)  # past our refusing extend: drained just below
        self.drain()
        self._rows.clear()
        for batch in [*self._writer.pending(), *self._take_for_writer()]:
            self._store.write_batch(self._rk, batch, {})
        self.state = state
        self.error = error
        fields = self._run_fields()
        fields["config"] = self._config.as_dict()
        fields["alerts"] = list(self.alerts)
        self._store.update_run(
            self._rk,
            state=state,
            exit_code=exit_code,
            error=error,
            finished_at=time.time(),
            **fields,
        )
        self._store.close()
        for cb in list(self._tick_callbacks):
            cb()
        _live_runs.discard(self)
        global _current
        if _current is self:
            _current = None


def _let_others_run() -> None:
    time.sleep(0)  # releases the GIL: the training thread runs between the writer's chunks


# -- the current run and init() ---------------------------------------------------------

_current: Run | None = None
_live_runs: weakref.WeakSet[Run] = weakref.WeakSet()
_init_lock = threading.Lock()


def current() -> Run | None:
    return _current


def init(
    project: str | None = None,
    name: str | None = None,
    notes: str | None = None,
    tags: list[str] | tuple[str, ...] | None = None,
    config: Any = None,
    entity: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    id: str | None = None,
    resume: bool | str | None = None,
    mode: str | None = None,
    display: bool = True,
) -> Run:
    """Start a run and make it the current one.

    >>> run = nbtrack.init(project="fashion-cnn", config={"lr": 1e-3, "epochs": 10})
    >>> run.log({"train/loss": 0.42})
    >>> run.finish()

    `dir` (or the ``NBTRACK_DIR`` environment variable) is the store's root folder, by
    default ``./nbtrack``. ``mode="disabled"`` returns a run on which every call is a no-op.
    `resume` ("allow", "must", True) continues the run `id` when it exists.
    """
    global _current
    del entity  # accepted for W&B scripts; a local store has no entities
    mode = mode or os.environ.get("NBTRACK_MODE") or "offline"
    if mode not in MODES:
        raise ValueError(f"nbtrack.init: mode must be one of {', '.join(MODES)}, not {mode!r}")
    project = project or os.environ.get("NBTRACK_PROJECT") or "uncategorized"
    if not isinstance(project, str) or not project.strip():
        raise ValueError(f"nbtrack.init: project must be a non-empty string, not {project!r}")
    tags_list = [str(t) for t in (tags or ())]
    if isinstance(tags, str):
        raise TypeError("nbtrack.init: tags must be a list of strings, not one string")
    config_dict = as_dict(config)
    with _init_lock:
        if _current is not None:
            # As W&B does in notebooks: a new init() ends the previous run.
            _current.finish()
        if mode == "disabled":
            from nbtrack._disabled import DisabledRun

            # It becomes the current run too, so module-level nbtrack.log() is a no-op as well.
            disabled = DisabledRun(project=project, name=name, config=config_dict)
            _current = disabled  # type: ignore[assignment]  # duck-typed stand-in for Run
            return disabled  # type: ignore[return-value]
        from nbtrack.store.db import Store, default_root

        root = Path(dir) if dir is not None else default_root()
        store = Store(root)
        try:
            run = _open_run(store, root, project, name, notes, tags_list, config_dict, id, resume)
        finally:
            store.close()
        _current = run
        _live_runs.add(run)
    if display:
        _show_dashboard(run)
    return run


def _open_run(
    store: Store,
    root: Path,
    project: str,
    name: str | None,
    notes: str | None,
    tags: list[str],
    config: dict[str, Any],
    run_id: str | None,
    resume: bool | str | None,
) -> Run:
    if resume not in (None, False, True, "allow", "must", "never", "auto"):
        raise ValueError(
            f"nbtrack.init: resume must be 'allow', 'must', 'never' or a bool, not {resume!r}"
        )
    if run_id is not None:
        if not isinstance(run_id, str) or not run_id or "/" in run_id:
            raise ValueError(
                f"nbtrack.init: id must be a non-empty string without '/', not {run_id!r}"
            )
        row = store.run_row(project, run_id)
        if row is not None:
            if resume in (None, False, "never"):
                raise ValueError(
                    f"nbtrack.init: run {project}/{run_id} exists already; pass resume='allow' "
                    "to continue it, or choose another id"
                )
            cfg = {**row["config"], **config}
            store.update_run(
                row["rk"],
                state="running",
                pid=os.getpid(),
                heartbeat_at=time.time(),
                finished_at=None,
                exit_code=None,
                error=None,
                config=cfg,
                **({"notes": notes} if notes is not None else {}),
            )
            keys = store.keys(row["rk"])
            last = {k: v for k, v in row["summary"].items() if k in keys}
            user = {k: v for k, v in row["summary"].items() if k not in keys}
            return Run(
                root=root,
                project=project,
                rk=row["rk"],
                run_id=run_id,
                name=row["name"],
                notes=notes if notes is not None else row["notes"],
                tags=tags or row["tags"],
                config=cfg,
                created_at=row["created_at"],
                start_step=int(row["last_step"]) + 1,
                last=last,
                user_summary=user,
            )
        if resume == "must":
            raise ValueError(f"nbtrack.init: resume='must' but there is no run {project}/{run_id}")
    if name is None:
        rng = random.Random()
        name = f"{rng.choice(_ADJECTIVES)}-{rng.choice(_NOUNS)}-{store.count_runs(project) + 1}"
    fields = {
        "project": project,
        "name": str(name),
        "notes": notes,
        "tags": tags,
        "config": config,
    }
    for _ in range(5):
        rid = run_id or _new_id()
        try:
            rk = store.create_run({**fields, "id": rid})
            break
        except Exception as e:  # an id collision: draw another
            if run_id is not None or "UNIQUE" not in str(e):
                raise
    else:
        raise RuntimeError("nbtrack.init: could not draw a unique run id")
    return Run(
        root=root,
        project=project,
        rk=rk,
        run_id=rid,
        name=str(name),
        notes=notes,
        tags=tags,
        config=config,
        created_at=time.time(),
    )


def _show_dashboard(run: Run) -> None:
    """Put the live dashboard into the current cell's output when in a notebook."""
    try:
        from nbtrack.widget import display_run
    except ImportError:
        return
    display_run(run)


def require_run(what: str) -> Run:
    run = _current
    if run is None:
        raise RuntimeError(f"Call nbtrack.init() before nbtrack.{what}.")
    return run


# -- ending runs with the process -------------------------------------------------------

_exc_info: list[tuple[type[BaseException], BaseException, TracebackType | None]] = []
_prev_excepthook = sys.excepthook


def _excepthook(tp: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    _exc_info.append((tp, exc, tb))
    _prev_excepthook(tp, exc, tb)


sys.excepthook = _excepthook


@atexit.register
def _finish_at_exit() -> None:
    for run in list(_live_runs):
        if _exc_info:
            tp, exc, tb = _exc_info[-1]
            if isinstance(exc, KeyboardInterrupt):
                run._end("interrupted", 255, "KeyboardInterrupt")
            else:
                run._end("failed", 1, "".join(traceback.format_exception(tp, exc, tb)))
        else:
            run.finish()

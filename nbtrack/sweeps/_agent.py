"""`nbtrack.agent()`: run a sweep's trials, each a call of the user's function.

For each trial the agent picks the parameters (under the sweep file's lock, so agents in
other processes never take the same grid point), makes the trial the active one (what
`nbtrack.init()` reads through `active_trial()`: project, config, run id), calls the
function, finishes the run the function started if it did not, and records how the trial
ended and its metric. As W&B's agent: an exception in the function fails that run and the
agent goes on with the next trial, unless the first trials all fail (see `_Failures`);
Ctrl+C stops the sweep's agent.
"""

from __future__ import annotations

import math
import os
import time
import traceback
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from nbtrack.sweeps import _config, _store
from nbtrack.sweeps._sweep import _say, split_path

_active: Trial | None = None

# W&B's agent gives up when this many trials fail in its first minute ("flapping")...
FLAPPING_MAX_FAILURES = 3
FLAPPING_MAX_SECONDS = 60.0
# ...or when more than this many trials fail, every one so far (WANDB_AGENT_MAX_INITIAL_FAILURES).
MAX_INITIAL_FAILURES = 5


class EarlyTerminated(BaseException):
    """Raised inside the trial's `log()` call when hyperband stops the trial.

    A BaseException, as KeyboardInterrupt is: a training loop's ``except Exception`` does
    not swallow it, and the agent takes it as the trial's end (the run is already
    finished, with what it logged).
    """


class Trial:
    """The active trial of a sweep, as `nbtrack.init()` sees it (contract of the sweep hook).

    `params` are the trial's parameters (nested dicts for nested parameters); `run_id` the
    id its run takes; `started(run)` is called by init with the run it made.
    """

    def __init__(
        self,
        sweep_id: str,
        project: str,
        entity: str | None,
        params: dict[str, Any],
        run_id: str,
        index: int,
        spec: _config.SweepSpec,
        path: Path,
    ) -> None:
        self.sweep_id = sweep_id
        self.project: str | None = project
        self.entity = entity
        self.params = params
        self.run_id: str | None = run_id
        self.index = index
        self.runs: list[Any] = []
        self._spec = spec
        self._path = path
        self._stopper: _Hyperband | None = None

    def __repr__(self) -> str:
        return f"<nbtrack sweep trial {self.sweep_id}#{self.index} run={self.run_id} {self.params}>"

    def started(self, run: Any) -> None:
        """Called by `nbtrack.init()` with the run it opened for this trial."""
        if any(r is run for r in self.runs):
            return
        self.runs.append(run)
        if len(self.runs) > 1:
            return  # a second init() in the function: finished with the trial, not its run
        self.run_id = run.id
        hb = self._spec.hyperband
        if hb is not None and _is_stored(run):
            self._stopper = _Hyperband(self, run, hb, self._spec.metric)  # type: ignore[arg-type]


def active_trial() -> Trial | None:
    """The trial whose function is running now (None outside `nbtrack.agent`)."""
    return _active


def agent(
    sweep_id: str,
    function: Callable[[], Any] | None = None,
    entity: str | None = None,
    project: str | None = None,
    count: int | None = None,
) -> None:
    """Run trials of sweep `sweep_id`: each calls `function`, which calls `nbtrack.init()`.

    >>> def train():
    ...     with nbtrack.init() as run:          # config holds the trial's parameters
    ...         for epoch in range(10):
    ...             run.log({"val/loss": fit_one_epoch(run.config.lr)})
    >>> nbtrack.agent(sweep_id, function=train, count=8)

    Until `count` trials ran (None: no limit), the grid is exhausted, the sweep's
    ``run_cap`` or metric ``target`` is reached, or Ctrl+C. `sweep_id` is what
    `nbtrack.sweep` returned, or ``"project/id"``, ``"entity/project/id"``. Agents in other
    processes may run the same sweep at once (same ``NBTRACK_DIR``).
    """
    global _active
    from nbtrack import _compat

    if function is None:
        _compat.unsupported(
            "nbtrack.agent without function (the sweep's program/command)",
            "nbtrack runs a Python function per trial",
        )
        raise ValueError(
            "nbtrack.agent: pass function=... (a function that calls nbtrack.init() and "
            "trains); running the configuration's program or command, as the wandb CLI "
            "agent does, is not supported"
        )
    if not callable(function):
        raise TypeError(f"nbtrack.agent: function must be callable, not {function!r}")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 0):
        raise ValueError(f"nbtrack.agent: count must be an int >= 0 or None, not {count!r}")
    _entity, path_project, bare = split_path(sweep_id)
    from nbtrack import _env

    root = _store.default_root()
    path = _store.find(root, bare, path_project or project or _env.get("PROJECT"))
    data = _store.read(path)
    spec = _config.parse(data["config"])
    import numpy as np

    rng = np.random.default_rng()
    failures = _Failures()
    ran = 0
    first = True
    while not count or ran < count:
        trial = _next_trial(path, data["id"], spec, rng, entity or data.get("entity"))
        if trial is None:
            break
        ran += 1
        if first:
            _finish_current()
            first = False
        _say_config(trial)
        outcome = "finished"
        error: str | None = None
        _active = trial
        try:
            function()
        except KeyboardInterrupt:
            outcome = "interrupted"
        except EarlyTerminated:
            outcome = "stopped"
        except Exception as e:
            outcome, error = (
                "failed",
                "".join(traceback.format_exception(type(e), e, e.__traceback__)),
            )
            _say(f"nbtrack: Run {trial.run_id} errored:\n{error.rstrip()}")
        finally:
            _active = None
        _end_runs(trial, outcome, error)
        if trial._stopper is not None:
            trial._stopper.detach()  # after the run's end: its last tick recorded its bands
        _record_end(path, trial, spec, outcome, error)
        if outcome == "interrupted":
            _say("nbtrack: Ctrl + C detected. Stopping sweep.")
            return
        if outcome == "failed" and failures.add(ran):
            return


def _next_trial(
    path: Path, sweep_id: str, spec: _config.SweepSpec, rng: Any, entity: str | None
) -> Trial | None:
    """Hand out the next trial (None: the sweep is done), under the sweep's lock."""
    from nbtrack._names import new_id
    from nbtrack.sweeps import _search

    with _store.changing(path) as data:
        if data.get("state") == _store.FINISHED:
            _say(f"nbtrack: Sweep {sweep_id} is finished.")
            return None
        trials = data.setdefault("trials", [])
        for t in trials:
            t["state"] = _store.trial_state(t)  # a dead agent's trial is no longer in flight
        if spec.run_cap is not None and len(trials) >= spec.run_cap:
            data["state"] = _store.FINISHED
            _say(f"nbtrack: Sweep {sweep_id} reached its run_cap of {spec.run_cap} runs.")
            return None
        try:
            params, extra = _search.next_params(spec, trials, rng)
        except _search.Exhausted:
            data["state"] = _store.FINISHED
            _say(f"nbtrack: Sweep {sweep_id}: every combination of its grid has run.")
            return None
        taken = {t.get("run_id") for t in trials}
        run_id = new_id()
        while run_id in taken:
            run_id = new_id()
        index = len(trials)
        trials.append(
            {
                "index": index,
                "run_id": run_id,
                "params": params,
                "state": "running",
                "value": None,
                "started_at": _store.now(),
                "host": _store.HOST,
                "pid": os.getpid(),
                **extra,
            }
        )
        project = str(data["project"])
    return Trial(sweep_id, project, entity, params, run_id, index, spec, path)


def _say_config(trial: Trial) -> None:
    lines = [f"nbtrack: Agent Starting Run: {trial.run_id} with config:"]
    lines += [f"\t{k}: {v}" for k, v in trial.params.items()]
    _say("\n".join(lines))


def _finish_current() -> None:
    """A run still open before the first trial would be taken as the trial's by init's
    reinit rule (it returns the active run): it is finished first, saying so."""
    from nbtrack import _current

    run = _current.current()
    if run is not None:
        _say(f"nbtrack: finishing run {getattr(run, 'path', run)} before the sweep's first trial")
        run.finish()


def _end_runs(trial: Trial, outcome: str, error: str | None) -> None:
    """Finish the runs the function left open, as W&B's agent does (failed on an error)."""
    for run in trial.runs:
        if not _is_stored(run):
            with suppress(Exception):
                run.finish()
            continue
        from nbtrack._run import link

        lnk = link(run)
        if lnk.finished:
            continue
        if outcome == "failed":
            lnk.end("failed", 1, error)
        elif outcome == "interrupted":
            lnk.end("interrupted", 255, "KeyboardInterrupt")
        else:
            run.finish()


def _record_end(
    path: Path, trial: Trial, spec: _config.SweepSpec, outcome: str, error: str | None
) -> None:
    run = trial.runs[0] if trial.runs else None
    value = _run_value(run, spec.metric) if run is not None else None
    state = outcome
    if run is not None and _is_stored(run) and outcome == "finished":
        # The run's own end, when the function ended it itself (failed, interrupted...).
        state = run.state if run.state in ("failed", "interrupted", "crashed") else outcome
    with _store.changing(path) as data:
        t = data["trials"][trial.index]
        t["run_id"] = trial.run_id
        t["state"] = state
        t["value"] = value
        t["finished_at"] = _store.now()
        if error is not None:
            t["error"] = error[-4000:]
        if run is None:
            t["note"] = "the function did not call nbtrack.init()"
        metric = spec.metric
        if (
            metric is not None
            and value is not None
            and state in ("finished", "stopped")
            and metric.reached(value)
        ):
            data["state"] = _store.FINISHED
            _say(f"nbtrack: Sweep {data['id']}: {metric.name} reached its target {metric.target}.")


def _run_value(run: Any, metric: _config.Metric | None) -> float | None:
    """The trial's metric, read back from the store after its run ended."""
    if metric is None or not _is_stored(run):
        return None
    from nbtrack._run import link
    from nbtrack.api import Api
    from nbtrack.errors import NbtrackError

    try:
        with Api(link(run).root) as api:
            return value_of(api.run(f"{run.project}/{run.id}"), metric)
    except NbtrackError:
        return None


def value_of(rec: Any, metric: _config.Metric | None) -> float | None:
    """A run's value of the sweep metric, as W&B's sweeps take it: the best of every value
    it logged and its summary (a define_metric summary's min/max counts), per the goal."""
    if metric is None:
        return None
    name = metric.name
    values: list[float] = []
    s = rec.summary.get(name)
    if isinstance(s, dict):
        pick = "min" if metric.goal == "minimize" else "max"
        for key in (pick, "best", "last"):
            if _finite(s.get(key)):
                values.append(float(s[key]))
                break
    elif _finite(s):
        values.append(float(s))
    logged: list[str] = rec.keys()  # a RunRecord's logged keys (a list, not a dict view)
    if name in logged:
        _, vals = rec.series(name)
        values.extend(float(v) for v in vals if math.isfinite(v))
    if not values:
        return None
    return min(values) if metric.goal == "minimize" else max(values)


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_stored(run: Any) -> bool:
    """True for a run of the store (not a disabled run's stand-in)."""
    from nbtrack._run import Run

    return isinstance(run, Run)


class _Failures:
    """W&B's agent's two rules for giving up on a sweep whose function keeps failing."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.count = 0
        flapping = _agent_env("AGENT_DISABLE_FLAPPING")
        self.flapping = (flapping or "").strip().lower() not in ("1", "true", "yes")
        raw = _agent_env("AGENT_MAX_INITIAL_FAILURES")
        try:
            self.max_initial = int(raw) if raw else MAX_INITIAL_FAILURES
        except ValueError:
            raise ValueError(
                f"nbtrack.agent: AGENT_MAX_INITIAL_FAILURES must be an int, not {raw!r}"
            ) from None

    def add(self, trials_run: int) -> bool:
        """Count one more failure; True when the agent should stop."""
        self.count += 1
        if (
            self.flapping
            and self.count >= FLAPPING_MAX_FAILURES
            and time.monotonic() - self.start < FLAPPING_MAX_SECONDS
        ):
            _say(
                f"nbtrack: Detected {FLAPPING_MAX_FAILURES} failed runs in the first "
                f"{FLAPPING_MAX_SECONDS:.0f} seconds, stopping the agent. To disable this "
                "check set WANDB_AGENT_DISABLE_FLAPPING=true"
            )
            return True
        if self.count > self.max_initial and self.count >= trials_run:
            _say(
                f"nbtrack: Detected {self.max_initial} failed runs in a row at start, stopping "
                "the agent. To change this value set WANDB_AGENT_MAX_INITIAL_FAILURES=val"
            )
            return True
        return False


def _agent_env(name: str) -> str | None:
    return os.environ.get(f"NBTRACK_{name}") or os.environ.get(f"WANDB_{name}") or None


class _Hyperband:
    """Hyperband's early termination for the running trial, checked on the run's ticks.

    Each time the trial's count of logged metric values reaches a band, its value there is
    written to the sweep file, and compared with the values of every trial that reached that
    band: outside the best 1/eta of them, the run is finished (state "finished", with what
    it logged) and the function is stopped with `EarlyTerminated`; the trial is "stopped".
    """

    def __init__(
        self, trial: Trial, run: Any, hb: _config.Hyperband, metric: _config.Metric
    ) -> None:
        from nbtrack._run import link

        self.trial, self.hb, self.metric = trial, hb, metric
        self.sign = 1.0 if metric.goal == "minimize" else -1.0
        self.link = link(run)
        self.queue = self.link.subscribe()
        self.values: list[float] = []
        self.next_band = 0
        self.done = False
        self.link.on_tick(self.tick)

    def detach(self) -> None:
        self.done = True
        self.link.remove_tick(self.tick)
        self.link.unsubscribe(self.queue)

    def tick(self) -> None:
        if self.done:
            return
        final = self.link.finished  # the run's last tick: record its bands, stop nothing
        if not final:
            self.link.drain()  # what was logged since the last tick reaches the queue now
        q = self.queue
        for _ in range(len(q)):
            series = q.popleft().series.get(self.metric.name)
            if series is not None:
                self.values.extend(float(v) for v in series[1] if math.isfinite(v))
        bands = self.hb.bands
        while self.next_band < len(bands) and bands[self.next_band] <= len(self.values):
            band = bands[self.next_band]
            self.next_band += 1
            if self._below_cutoff(band) and not final:
                self.done = True
                _say(
                    f"nbtrack: Stopping run {self.trial.run_id}: {self.metric.name} is outside the "
                    f"best 1/{self.hb.eta:g} of the sweep's runs at iteration {band} (hyperband)"
                )
                self.link.end("finished", 0, None)
                raise EarlyTerminated(f"hyperband stopped run {self.trial.run_id} at band {band}")
        if final:
            self.done = True

    def _below_cutoff(self, band: int) -> bool:
        signed = [self.sign * v for v in self.values]
        at_band = signed[band - 1]
        key = str(band)
        with _store.changing(self.trial._path) as data:
            t = data["trials"][self.trial.index]
            t.setdefault("bands", {})[key] = at_band * self.sign
            reached = [
                self.sign * float(o["bands"][key])
                for o in data["trials"]
                if isinstance(o.get("bands"), dict) and key in o["bands"]
            ]
        reached.sort()
        cutoff = reached[int(len(reached) / self.hb.eta)]
        # W&B's strict rule compares the value at the band; the lenient one the best so far.
        mine = at_band if self.hb.strict else min(signed[:band])
        return mine > cutoff

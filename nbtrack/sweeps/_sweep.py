"""`nbtrack.sweep()`: a new sweep in the local store, and `load_sweep` to read one back."""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbtrack.sweeps import _config, _store


def sweep(
    sweep: Any,
    entity: str | None = None,
    project: str | None = None,
    prior_runs: list[str] | None = None,
) -> str:
    """Create a sweep from its configuration (W&B's format); its id, for `nbtrack.agent`.

    >>> sweep_id = nbtrack.sweep({
    ...     "method": "bayes",
    ...     "metric": {"name": "val/loss", "goal": "minimize"},
    ...     "parameters": {
    ...         "lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
    ...         "batch_size": {"values": [32, 64, 128]},
    ...     },
    ... }, project="mnist")
    >>> nbtrack.agent(sweep_id, function=train, count=8)

    `sweep` is a dict, a callable returning one, or a YAML file's path. The project is
    `project`, else the configuration's, else ``NBTRACK_PROJECT`` / ``WANDB_PROJECT``.
    `prior_runs` are ids of runs of that project that count as trials already done (their
    config and metric inform a Bayesian search; a grid skips their combinations). A
    configuration W&B would refuse raises `SweepConfigError` (a ValueError) naming it.
    """
    from nbtrack import _env
    from nbtrack._names import new_id

    config = _config.load(sweep)
    spec = _config.parse(config)
    project = project or config.get("project") or _env.get("PROJECT") or "uncategorized"
    if not isinstance(project, str) or not project.strip():
        raise ValueError(f"nbtrack.sweep: project must be a non-empty string, not {project!r}")
    entity = entity or config.get("entity") or _env.get("ENTITY")
    root = _store.default_root()
    trials = _prior_trials(root, project, spec, prior_runs)
    for _ in range(20):
        sweep_id = new_id()
        record = {
            "format": _store.FORMAT,
            "id": sweep_id,
            "project": project,
            "entity": entity,
            "name": config.get("name") or sweep_id,
            "config": _plain(spec.config),
            "state": _store.RUNNING,
            "created_at": _store.now(),
            "trials": trials,
        }
        try:
            _store.create(root, project, record)
            break
        except FileExistsError:  # 41 bits: a collision is rare, and another draw fixes it
            continue
    else:  # pragma: no cover
        raise RuntimeError("nbtrack.sweep: could not draw an unused sweep id")
    _say(f"nbtrack: Create sweep with ID: {sweep_id}")
    _say(f"nbtrack: Sweep stored in {_store.sweep_path(root, project, sweep_id)}")
    return sweep_id


def _prior_trials(
    root: Path, project: str, spec: _config.SweepSpec, prior_runs: list[str] | None
) -> list[dict[str, Any]]:
    if not prior_runs:
        return []
    if isinstance(prior_runs, str):
        raise TypeError("nbtrack.sweep: prior_runs is a list of run ids, not one string")
    from nbtrack.api import Api
    from nbtrack.errors import RunNotFoundError, StoreNotFoundError
    from nbtrack.sweeps import _agent, _search

    trials = []
    try:
        api = Api(root)
    except StoreNotFoundError:
        raise ValueError(
            f"nbtrack.sweep: prior_runs {list(prior_runs)} are not in {root}: there is no store"
        ) from None
    with api:
        for i, run_id in enumerate(prior_runs):
            try:
                rec = api.run(f"{project}/{run_id}")
            except (RunNotFoundError, ValueError):  # no such run, or no such project
                raise ValueError(
                    f"nbtrack.sweep: prior run {run_id!r} is not a run of project {project!r}"
                ) from None
            params: dict[str, Any] = {}
            for p in spec.parameters:
                found, v = _search._get(rec.config, p.path)
                if found:
                    _search._put(params, p.path, v)
            trial: dict[str, Any] = {
                "index": i,
                "run_id": rec.id,
                "params": params,
                "state": rec.state,
                "value": _agent.value_of(rec, spec.metric),
                "prior": True,
            }
            index = _grid_index(spec, params)
            if index is not None:
                trial["grid_index"] = index
            trials.append(trial)
    return trials


def _grid_index(spec: _config.SweepSpec, params: dict[str, Any]) -> int | None:
    """The index of `params` on the grid (None: not a grid, or not one of its points)."""
    if spec.method != "grid":
        return None
    from nbtrack.sweeps import _params, _search

    index = 0
    for p in spec.parameters:
        values = p.discrete or []
        found, v = _search._get(params, p.path)
        pos = next((i for i, x in enumerate(values) if found and _params._same(x, v)), None)
        if pos is None:
            return None
        index = index * len(values) + pos
    return index


@dataclass
class SweepRecord:
    """A sweep as stored: W&B's `Sweep` fields (`id`, `config`, `state`, `runs` as run ids).

    >>> s = nbtrack.sweeps.load_sweep(None, "mnist", sweep_id)
    >>> s.state, len(s.runs), s.best_run().config["lr"]
    """

    id: str
    project: str
    entity: str | None
    name: str
    config: dict[str, Any]
    state: str
    created_at: float
    trials: list[dict[str, Any]]
    root: Path = field(repr=False)

    @property
    def path(self) -> str:
        return f"{self.project}/{self.id}"

    @property
    def runs(self) -> list[str]:
        """The run ids of the trials, in the order they were handed out."""
        return [t["run_id"] for t in self.trials if t.get("run_id")]

    @property
    def expected_run_count(self) -> int | None:
        """The grid's size or the run_cap (the smaller); None for an open-ended search."""
        spec = _config.parse(self.config)
        counts = []
        if spec.method == "grid":
            from nbtrack.sweeps._search import grid_size

            counts.append(grid_size(spec))
        if spec.run_cap is not None:
            counts.append(spec.run_cap)
        return min(counts) if counts else None

    def best_trial(self) -> dict[str, Any] | None:
        """The trial with the best metric value (None: no metric, or no value yet)."""
        metric = self.config.get("metric")
        if not isinstance(metric, dict):
            return None
        sign = -1.0 if metric.get("goal") == "maximize" else 1.0
        scored = [
            t
            for t in self.trials
            if isinstance(t.get("value"), (int, float)) and math.isfinite(t["value"])
        ]
        return min(scored, key=lambda t: sign * t["value"]) if scored else None

    def best_run(self) -> Any:
        """The run (an `nbtrack.RunRecord`) of the best trial, or None."""
        best = self.best_trial()
        if best is None or not best.get("run_id"):
            return None
        from nbtrack.api import Api

        api = Api(self.root)
        return api.run(f"{self.project}/{best['run_id']}")


def load_sweep(root: Path | str | None, project: str | None, sweep_id: str) -> SweepRecord:
    """Read a sweep from the store at `root` (None: ``NBTRACK_DIR`` or ``./nbtrack``).

    `sweep_id` may also be ``"project/id"`` or ``"entity/project/id"``; `project` None looks
    in every project. A sweep that is not there raises `SweepNotFoundError` (a LookupError).
    """

    base = Path(root) if root is not None else _store.default_root()
    _entity, path_project, bare = split_path(sweep_id)
    path = _store.find(base, bare, path_project or project)
    data = _store.read(path)
    trials = []
    for t in data.get("trials", []):
        t = dict(t)
        t["state"] = _store.trial_state(t)
        trials.append(t)
    return SweepRecord(
        id=data["id"],
        project=data["project"],
        entity=data.get("entity"),
        name=data.get("name") or data["id"],
        config=data["config"],
        state=data.get("state", _store.RUNNING),
        created_at=data.get("created_at", 0.0),
        trials=trials,
        root=base,
    )


def split_path(sweep_id: Any) -> tuple[str | None, str | None, str]:
    """``"entity/project/id"``, ``"project/id"`` or ``"id"``: (entity, project, id)."""
    if not isinstance(sweep_id, str) or not sweep_id.strip("/"):
        raise ValueError(
            f"nbtrack.agent: sweep_id must be the id nbtrack.sweep() returned, not {sweep_id!r}"
        )
    parts = sweep_id.strip("/").split("/")
    if len(parts) > 3:
        raise ValueError(
            f"nbtrack.agent: {sweep_id!r} is not a sweep id ('id', 'project/id' or "
            "'entity/project/id')"
        )
    full: list[str | None] = [None] * (3 - len(parts))
    full += parts
    return full[0], full[1], str(full[2])


def _plain(config: dict[str, Any]) -> dict[str, Any]:
    """The configuration as JSON holds it (tuples as lists, NumPy values as numbers)."""
    out: dict[str, Any] = json.loads(json.dumps(config, default=_store._default, allow_nan=True))
    return out


def _say(message: str) -> None:
    from nbtrack import _env

    if not _env.flag("SILENT"):
        print(message, file=sys.stderr)

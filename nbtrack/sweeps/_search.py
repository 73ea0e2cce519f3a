"""The next trial's parameters: grid, random, or Bayesian, given the trials so far.

>>> spec = _config.parse({"method": "random", "parameters": {"lr": {"min": 0.0, "max": 1.0}}})
>>> params, _ = next_params(spec, [], np.random.default_rng(0))
>>> 0.0 <= params["lr"] <= 1.0
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nbtrack.sweeps import _config, _gp
from nbtrack.sweeps._params import Parameter

# A Bayesian sweep draws at random until this many trials have a value to model.
BAYES_RANDOM_FIRST = 2
# The states whose trial is over; a running one is "pending" to the model.
FAILED = frozenset({"failed", "crashed", "interrupted"})
DONE = frozenset({"finished", "stopped"})


class Exhausted(Exception):
    """The grid has handed out every combination."""


def next_params(
    spec: _config.SweepSpec, trials: list[dict[str, Any]], rng: np.random.Generator
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the parameters as a nested dict, what to record with the trial)."""
    if spec.method == "grid":
        return _grid(spec, trials)
    if spec.method == "bayes":
        unit = _bayes(spec, trials, rng)
        if unit is not None:
            return _at(spec, unit), {}
    return _at(spec, rng.uniform(size=len(spec.searchable))), {}


def grid_size(spec: _config.SweepSpec) -> int:
    return math.prod(len(p.discrete or ()) for p in spec.parameters)


def _grid(
    spec: _config.SweepSpec, trials: list[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first combination no trial had, in W&B's order (the last parameter fastest)."""
    taken = {t["grid_index"] for t in trials if isinstance(t.get("grid_index"), int)}
    total = grid_size(spec)
    index = next((i for i in range(total) if i not in taken), None)
    if index is None:
        raise Exhausted
    values = [p.discrete or [] for p in spec.parameters]
    chosen: list[Any] = []
    rest = index
    for vals in reversed(values):  # mixed-radix digits of the index, last parameter lowest
        rest, digit = divmod(rest, len(vals))
        chosen.append(vals[digit])
    chosen.reverse()
    params: dict[str, Any] = {}
    for p, v in zip(spec.parameters, chosen, strict=True):
        _put(params, p.path, v)
    return params, {"grid_index": index}


def _at(spec: _config.SweepSpec, unit: Any) -> dict[str, Any]:
    """The parameters at a point of the unit cube of the searchable ones (constants too)."""
    params: dict[str, Any] = {}
    it = iter(np.asarray(unit, dtype=float).tolist())
    for p in spec.parameters:
        _put(params, p.path, p.from_unit(next(it)) if p.searchable else p.from_unit(0.5))
    return params


def _bayes(spec: _config.SweepSpec, trials: list[dict[str, Any]], rng: np.random.Generator) -> Any:
    """The unit point the Gaussian process expects most of; None while too few trials
    have a value (then the caller draws at random, as W&B does)."""
    metric = spec.metric
    assert metric is not None  # parse() refuses a bayes sweep without one
    sign = 1.0 if metric.goal == "minimize" else -1.0
    searchable = spec.searchable
    X: list[list[float]] = []
    y: list[float | None] = []  # None: imputed below, once the worst is known
    pending: list[list[float]] = []
    for t in trials:
        x = unit_of(searchable, t.get("params") or {})
        if x is None:
            continue
        state = t.get("state")
        raw = t.get("value")
        value = float(raw) if isinstance(raw, (int, float)) and math.isfinite(raw) else None
        if state in DONE:
            X.append(x)
            y.append(None if value is None else sign * value)
        elif state in FAILED:
            X.append(x)
            y.append(None if value is None or metric.impute == "worst" else sign * value)
        else:
            pending.append(x)
    known = [v for v in y if v is not None]
    if len(known) < BAYES_RANDOM_FIRST:
        return None
    worst = max(known)
    Y = np.array([worst if v is None else v for v in y])
    d = len(searchable)
    P = np.array(pending, dtype=float).reshape(-1, d)
    return _gp.suggest(np.array(X, dtype=float).reshape(-1, d), Y, P, rng)


def unit_of(
    params: list[Parameter] | tuple[Parameter, ...], values: dict[str, Any]
) -> list[float] | None:
    """A trial's parameters as a point of the unit cube; None if one is missing or foreign."""
    out = []
    for p in params:
        found, v = _get(values, p.path)
        u = p.to_unit(v) if found else None
        if u is None:
            return None
        out.append(u)
    return out


def _put(d: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for k in path[:-1]:
        d = d.setdefault(k, {})
    d[path[-1]] = value


def _get(d: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    for k in path:
        if not isinstance(d, dict) or k not in d:
            return False, None
        d = d[k]
    return True, d

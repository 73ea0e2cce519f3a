"""A sweep's configuration, checked as W&B checks it, with W&B's defaults filled in.

>>> spec = parse({"method": "grid", "parameters": {"lr": {"values": [0.1, 0.01]}}})
>>> [p.name for p in spec.parameters]
['lr']
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from nbtrack.sweeps._params import (
    EXPONENT_BOUNDS,
    Parameter,
    SweepConfigError,
    parse_parameter,
)

METHODS = ("grid", "random", "bayes")
# Keys W&B's schema knows at the top, and what nbtrack does with each beyond the search.
_KNOWN = {
    "method",
    "metric",
    "parameters",
    "early_terminate",
    "run_cap",
    "name",
    "description",
    "program",
    "command",
    "entity",
    "project",
    "controller",
    "apiVersion",
    "kind",
}
# Known to W&B, accepted here with a warning: they belong to W&B Launch or its schedulers.
_UNSUPPORTED = {
    "job": "sweeps on W&B Launch are not supported; nbtrack.agent runs a function",
    "image_uri": "sweeps on W&B Launch are not supported; nbtrack.agent runs a function",
    "scheduler": "custom sweep schedulers are not supported; use method grid, random or bayes",
    "metrics": "multi-objective sweeps are not supported; give one `metric`",
}
_METRIC_KEYS = {"name", "goal", "target", "impute", "impute_while_running"}
_HYPERBAND_KEYS = {"type", "min_iter", "max_iter", "s", "eta", "strict"}


@dataclass(frozen=True)
class Metric:
    name: str
    goal: str  # "minimize" | "maximize"
    target: float | None = None
    impute: str = "worst"

    def better(self, a: float, b: float) -> bool:
        """True when value `a` is better than `b` for this goal."""
        return a < b if self.goal == "minimize" else a > b

    def reached(self, value: float) -> bool:
        if self.target is None:
            return False
        return value <= self.target if self.goal == "minimize" else value >= self.target


@dataclass(frozen=True)
class Hyperband:
    """`early_terminate: {type: hyperband, ...}`: the iterations (bands) runs are cut at."""

    bands: tuple[int, ...]
    eta: float
    strict: bool


@dataclass(frozen=True)
class SweepSpec:
    method: str
    parameters: tuple[Parameter, ...]
    metric: Metric | None
    hyperband: Hyperband | None
    run_cap: int | None
    config: dict[str, Any] = field(repr=False)  # as given, defaults filled in

    @property
    def searchable(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.searchable)


def load(sweep: Any) -> dict[str, Any]:
    """The configuration as a dict: `sweep` is one, a callable returning one (as W&B
    takes), or the path of a YAML (or JSON) file."""
    if callable(sweep) and not isinstance(sweep, type):
        sweep = sweep()
    if isinstance(sweep, (str, os.PathLike)):
        return _read_file(os.fspath(sweep))
    if not isinstance(sweep, dict):
        # W&B's SweepConfig and other mappings: a plain dict of them.
        try:
            sweep = dict(sweep)
        except (TypeError, ValueError):
            raise SweepConfigError(
                "nbtrack.sweep: the configuration must be a dict (or a YAML file's path), "
                f"not {type(sweep).__name__}"
            ) from None
    out: dict[str, Any] = sweep
    return out


def _read_file(path: str) -> dict[str, Any]:
    if not os.path.isfile(path):
        raise SweepConfigError(
            f"nbtrack.sweep: no file {path!r}: the configuration is a dict, or a YAML file's path"
        )
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        import json

        data = json.loads(text)
    else:
        try:
            import yaml  # type: ignore[import-untyped,unused-ignore]  # optional; no stubs needed
        except ImportError:
            raise SweepConfigError(
                f"nbtrack.sweep: reading {path!r} needs PyYAML (pip install pyyaml); "
                "or pass the configuration as a dict"
            ) from None
        data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise SweepConfigError(f"nbtrack.sweep: {path!r} does not hold a mapping of settings")
    return data


def parse(config: dict[str, Any]) -> SweepSpec:
    """Check `config` and read it into a `SweepSpec`; a `SweepConfigError` names what is wrong."""
    from nbtrack import _compat

    unknown = sorted(set(config) - _KNOWN - set(_UNSUPPORTED))
    if unknown:
        raise SweepConfigError(
            f"sweep configuration: unknown key {', '.join(map(repr, unknown))} (W&B's keys: "
            f"{', '.join(sorted(_KNOWN))})"
        )
    for key, what in _UNSUPPORTED.items():
        if key in config:
            _compat.unsupported(f"sweep configuration key {key!r}", what)
    method = config.get("method")
    if method is None:
        raise SweepConfigError(
            "sweep configuration: 'method' is required: one of grid, random, bayes"
        )
    if method not in METHODS:
        raise SweepConfigError(
            f"sweep configuration: method must be one of {', '.join(METHODS)}, not {method!r}"
        )
    params = config.get("parameters")
    if not isinstance(params, dict) or not params:
        raise SweepConfigError(
            "sweep configuration: 'parameters' is required: a dict of parameter name -> "
            "{'values': [...]} / {'min': ..., 'max': ...} / {'value': ...}"
        )
    parameters = tuple(_parameters(params, ()))
    metric = _metric(config.get("metric"))
    if method == "bayes":
        if metric is None:
            raise SweepConfigError(
                "sweep configuration: method 'bayes' needs a metric to model: "
                "'metric': {'name': 'val/loss', 'goal': 'minimize'}"
            )
        if not any(p.searchable for p in parameters):
            raise SweepConfigError(
                "sweep configuration: method 'bayes' needs a parameter to search "
                "(every parameter is a constant 'value')"
            )
    if method == "grid":
        for p in parameters:
            if p.discrete is None:
                raise SweepConfigError(
                    f"sweep parameter {p.name!r}: grid search takes only 'values', 'value', "
                    f"int_uniform and q_uniform parameters, not {p.distribution}; use method "
                    "random or bayes for a continuous range"
                )
    for p in parameters:
        if p.distribution in EXPONENT_BOUNDS:
            _compat.unsupported(
                f"sweep distribution {p.distribution!r} with limit values",
                f"its min and max are base-e exponents (W&B's first meaning; parameter "
                f"{p.name!r}); {p.distribution}_values takes the limits themselves",
            )
    hyperband = _hyperband(config.get("early_terminate"), metric)
    run_cap = config.get("run_cap")
    if run_cap is not None and (
        not isinstance(run_cap, int) or isinstance(run_cap, bool) or run_cap <= 0
    ):
        raise SweepConfigError(f"sweep configuration: run_cap must be an int > 0, not {run_cap!r}")
    for key in ("name", "description", "program", "entity", "project"):
        if key in config and not isinstance(config[key], str):
            raise SweepConfigError(
                f"sweep configuration: {key!r} must be a string, not {config[key]!r}"
            )
    if "command" in config and not isinstance(config["command"], list):
        raise SweepConfigError(
            f"sweep configuration: 'command' must be a list, not {config['command']!r}"
        )
    filled = dict(config)
    if metric is not None:
        filled["metric"] = {**config["metric"], "goal": metric.goal, "impute": metric.impute}
    return SweepSpec(method, parameters, metric, hyperband, run_cap, filled)


def _parameters(params: dict[str, Any], path: tuple[str, ...]) -> list[Parameter]:
    """The leaves of (possibly nested) parameters, depth first in sorted order as W&B walks
    them: the grid's last parameter varies fastest."""
    out: list[Parameter] = []
    for name in sorted(params, key=str):
        spec = params[name]
        if isinstance(spec, dict) and "parameters" in spec:
            inner = spec["parameters"]
            extra = sorted(set(spec) - {"parameters"})
            where = ".".join((*path, str(name)))
            if extra:
                raise SweepConfigError(
                    f"sweep parameter {where!r}: a parameter with 'parameters' inside takes "
                    f"nothing else, not {', '.join(map(repr, extra))}"
                )
            if not isinstance(inner, dict) or not inner:
                raise SweepConfigError(
                    f"sweep parameter {where!r}: 'parameters' must be a non-empty dict of "
                    "nested parameters"
                )
            parse_parameter(str(name), {"value": None}, path)  # checks the name
            out.extend(_parameters(inner, (*path, str(name))))
        else:
            out.append(parse_parameter(name, spec, path))
    return out


def _metric(metric: Any) -> Metric | None:
    if metric is None:
        return None
    if not isinstance(metric, dict):
        raise SweepConfigError(
            f"sweep configuration: metric must be a dict like {{'name': 'loss', 'goal': "
            f"'minimize'}}, not {metric!r}"
        )
    unknown = sorted(set(metric) - _METRIC_KEYS)
    if unknown:
        raise SweepConfigError(
            f"sweep metric: unknown key {', '.join(map(repr, unknown))} (it takes "
            f"{', '.join(sorted(_METRIC_KEYS))})"
        )
    name = metric.get("name")
    if not isinstance(name, str) or not name:
        raise SweepConfigError(f"sweep metric: 'name' must be a non-empty string, not {name!r}")
    goal = metric.get("goal", "minimize")
    if goal not in ("minimize", "maximize"):
        raise SweepConfigError(
            f"sweep metric {name!r}: goal must be 'minimize' or 'maximize', not {goal!r}"
        )
    target = metric.get("target")
    if target is not None and (not isinstance(target, (int, float)) or isinstance(target, bool)):
        raise SweepConfigError(f"sweep metric {name!r}: target must be a number, not {target!r}")
    impute = metric.get("impute", "worst")
    if impute not in ("worst", "best", "latest"):
        raise SweepConfigError(
            f"sweep metric {name!r}: impute must be 'worst', 'best' or 'latest', not {impute!r}"
        )
    return Metric(name, goal, None if target is None else float(target), impute)


def _hyperband(et: Any, metric: Metric | None) -> Hyperband | None:
    if et is None:
        return None
    if not isinstance(et, dict) or et.get("type") != "hyperband":
        raise SweepConfigError(
            "sweep configuration: early_terminate takes {'type': 'hyperband', 'min_iter': ...} "
            f"(or max_iter and s), not {et!r}"
        )
    unknown = sorted(set(et) - _HYPERBAND_KEYS)
    if unknown:
        raise SweepConfigError(
            f"sweep early_terminate: unknown key {', '.join(map(repr, unknown))} (it takes "
            f"{', '.join(sorted(_HYPERBAND_KEYS))})"
        )
    if metric is None:
        raise SweepConfigError(
            "sweep configuration: early_terminate needs the metric it compares runs by: "
            "'metric': {'name': ..., 'goal': ...}"
        )
    eta = et.get("eta", 3)
    if not isinstance(eta, (int, float)) or isinstance(eta, bool) or eta <= 1:
        raise SweepConfigError(f"sweep early_terminate: eta must be a number > 1, not {eta!r}")
    strict = et.get("strict", True)
    if not isinstance(strict, bool):
        raise SweepConfigError(f"sweep early_terminate: strict must be a bool, not {strict!r}")

    def whole(key: str, least: int) -> int:
        v = et[key]
        if not isinstance(v, int) or isinstance(v, bool) or v < least:
            raise SweepConfigError(
                f"sweep early_terminate: {key} must be an int >= {least}, not {v!r}"
            )
        return v

    bands: list[int] = []
    if "max_iter" in et:
        # As W&B: max_iter / eta, / eta^2, ... s times (while at least 1), ascending.
        max_iter = whole("max_iter", 1)
        if "s" not in et:
            raise SweepConfigError("sweep early_terminate: max_iter needs 's' (the bracket count)")
        s = et["s"]
        if not isinstance(s, (int, float)) or isinstance(s, bool) or s < 1:
            raise SweepConfigError(f"sweep early_terminate: s must be a number >= 1, not {s!r}")
        band = float(max_iter)
        for _ in range(int(s)):
            band /= eta
            if band < 1:
                break
            bands.append(int(band))
        bands.sort()
    elif "min_iter" in et:
        band = float(whole("min_iter", 1))
        # W&B lists 100 brackets; past 2**53 iterations none is ever reached.
        while band < 2**53 and len(bands) < 100:
            bands.append(int(band))
            band *= eta
    else:
        raise SweepConfigError("sweep early_terminate: hyperband needs min_iter, or max_iter and s")
    if not bands:
        raise SweepConfigError(
            "sweep early_terminate: no bracket left (max_iter / eta < 1): raise max_iter or "
            "lower eta"
        )
    return Hyperband(tuple(sorted(set(bands))), float(eta), strict)

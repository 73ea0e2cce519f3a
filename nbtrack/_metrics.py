"""`define_metric`: what a metric is drawn against and which aggregates its summary keeps.

A definition names a key, or a glob that ends in ``*`` (``"val/*"``, ``"*"``), as W&B allows.
Its summary aggregates (min, max, mean, first, last, best) are kept per key from the drained
batches, so `log()` itself never pays for them, and the run's summary shows
``summary["val/loss"] == {"min": ..., "last": ...}`` in place of the plain last value.

>>> run.define_metric("epoch")
>>> run.define_metric("val/*", step_metric="epoch", summary="min,last")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbtrack._types import Float64Array

SUMMARY_OPS = ("min", "max", "mean", "first", "last", "best", "copy", "none")
# The ops that keep a dict of aggregates in the summary ("copy" keeps the plain last value,
# "none" keeps nothing).
AGGREGATES = ("min", "max", "mean", "first", "last", "best")
_GOALS = {"min": "minimize", "max": "maximize"}


class MetricError(ValueError):
    """A `define_metric` argument W&B would refuse too (W&B raises ``wandb.Error``)."""


@dataclass
class Metric:
    """What `define_metric` returns, as W&B's ``wandb_metric.Metric``: its settings, read-only
    in practice (calling `define_metric` again changes the definition)."""

    name: str
    step_metric: str | None = None
    step_sync: bool | None = None
    hidden: bool | None = None
    summary: tuple[str, ...] | None = None
    goal: str | None = None  # "minimize" | "maximize"
    overwrite: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        """The form recorded in the run's metadata (``metadata["metrics"]``)."""
        return {
            "name": self.name,
            "step_metric": self.step_metric,
            "summary": list(self.summary or ()),
            "goal": self.goal,
            "hidden": bool(self.hidden),
        }

    def matches(self, key: str) -> bool:
        if self.name.endswith("*"):
            return key.startswith(self.name[:-1])
        return key == self.name


def make(
    name: Any,
    step_metric: Any = None,
    step_sync: Any = None,
    hidden: Any = None,
    summary: Any = None,
    goal: Any = None,
    overwrite: Any = None,
) -> Metric:
    """Check `define_metric`'s arguments as W&B does and return the definition they make."""
    if not isinstance(name, str) or not name:
        raise MetricError("nbtrack.define_metric: name must be a non-empty string")
    if isinstance(step_metric, Metric):
        step_metric = step_metric.name
    for arg, value, kind in (
        ("step_metric", step_metric, str),
        ("step_sync", step_sync, bool),
        ("hidden", hidden, bool),
        ("summary", summary, str),
        ("goal", goal, str),
        ("overwrite", overwrite, bool),
    ):
        if value is not None and not isinstance(value, kind):
            raise MetricError(
                f"nbtrack.define_metric: {arg} must be a {kind.__name__}, "
                f"not {type(value).__name__} ({value!r})"
            )
    if "*" in name[:-1]:
        raise MetricError(
            f"nbtrack.define_metric: name {name!r} has a '*' before its end; globs may only "
            "end in '*' (as 'val/*' or '*')"
        )
    ops: tuple[str, ...] | None = None
    if summary:
        items = [s.strip().lower() for s in summary.split(",") if s.strip()]
        bad = [s for s in items if s not in SUMMARY_OPS]
        if bad:
            raise MetricError(
                f"nbtrack.define_metric: summary {summary!r} has {', '.join(map(repr, bad))}; "
                f"choose among {', '.join(SUMMARY_OPS)} (comma separated)"
            )
        ops = tuple(dict.fromkeys(items))
    goal_name: str | None = None
    if goal is not None:
        short = goal[:3].lower()
        if short not in _GOALS:
            raise MetricError(
                f"nbtrack.define_metric: goal must be 'minimize' or 'maximize', not {goal!r}"
            )
        goal_name = _GOALS[short]
    return Metric(name, step_metric, step_sync, hidden, ops, goal_name, overwrite)


def merged(old: Metric, new: Metric) -> Metric:
    """`new` over `old` as W&B merges a repeated definition without ``overwrite=True``."""
    return Metric(
        new.name,
        new.step_metric if new.step_metric is not None else old.step_metric,
        new.step_sync if new.step_sync is not None else old.step_sync,
        new.hidden if new.hidden is not None else old.hidden,
        new.summary if new.summary is not None else old.summary,
        new.goal if new.goal is not None else old.goal,
        new.overwrite,
    )


@dataclass
class _Agg:
    n: int = 0
    total: float = 0.0
    lo: float = float("inf")
    hi: float = float("-inf")
    first: float | None = None
    last: float | None = None
    # Known only as a result (a resumed run): the stored aggregates of the earlier session.
    seeded_mean: float | None = None


@dataclass
class Metrics:
    """A run's definitions, in define order, and the aggregates of the keys they cover."""

    on_change: Callable[[], None]
    defs: list[Metric] = field(default_factory=list)
    _aggs: dict[str, _Agg] = field(default_factory=dict)
    _match: dict[str, Metric | None] = field(default_factory=dict)

    def define(self, m: Metric) -> Metric:
        for i, old in enumerate(self.defs):
            if old.name == m.name:
                self.defs[i] = m if m.overwrite else merged(old, m)
                m = self.defs[i]
                break
        else:
            self.defs.append(m)
        self._match.clear()
        self.on_change()
        return m

    def as_list(self) -> list[dict[str, Any]]:
        return [m.as_dict() for m in self.defs]

    def definition(self, key: str) -> Metric | None:
        """The definition covering `key`: its own, else the longest glob that matches."""
        try:
            return self._match[key]
        except KeyError:
            pass
        found: Metric | None = None
        for m in self.defs:
            if m.name == key:
                found = m
                break
            if m.matches(key) and (found is None or len(m.name) > len(found.name)):
                found = m
        self._match[key] = found
        return found

    def add(self, key: str, values: Float64Array) -> bool:
        """Take a drained column of `key` into its aggregates; True when any changed."""
        m = self.definition(key) if self.defs else None
        if m is None or not m.summary or not any(op in AGGREGATES for op in m.summary):
            return False
        import numpy as np

        finite = values[~np.isnan(values)]
        agg = self._aggs.setdefault(key, _Agg())
        if len(values):
            agg.last = float(values[-1])
            if agg.first is None:
                agg.first = float(values[0])
        if len(finite):
            agg.n += len(finite)
            agg.total += float(finite.sum())
            agg.lo = min(agg.lo, float(finite.min()))
            agg.hi = max(agg.hi, float(finite.max()))
        return True

    def seed(self, key: str, stored: Any) -> None:
        """Continue the aggregates a resumed run stored (its mean restarts from them)."""
        if not isinstance(stored, dict):
            return
        agg = self._aggs.setdefault(key, _Agg())
        for op, value in stored.items():
            if not isinstance(value, (int, float)):
                continue
            v = float(value)
            if op == "min":
                agg.lo = v
            elif op == "max":
                agg.hi = v
            elif op == "first":
                agg.first = v
            elif op == "last":
                agg.last = v
            elif op == "mean":
                agg.seeded_mean = v

    def apply(self, last: dict[str, Any]) -> dict[str, Any]:
        """`last` (each key's last value) with the defined summaries in place."""
        if not self.defs:
            return last
        out = dict(last)
        for key in list(out):
            m = self.definition(key)
            if m is None or not m.summary:
                continue
            if "none" in m.summary:
                del out[key]
            elif key in self._aggs:
                out[key] = self._summary_of(m, self._aggs[key])
        return out

    def aggregates(self) -> dict[str, dict[str, Any]]:
        """The summary dict of every aggregated key (what the store keeps with the user's)."""
        out: dict[str, dict[str, Any]] = {}
        for key, agg in self._aggs.items():
            m = self.definition(key)
            if m is not None and m.summary and "none" not in m.summary:
                out[key] = self._summary_of(m, agg)
        return out

    def hidden_keys(self, keys: list[str]) -> list[str]:
        """The keys of `keys` whose summary is "none" (dropped from the summary)."""
        out = []
        for key in keys:
            m = self.definition(key)
            if m is not None and m.summary and "none" in m.summary:
                out.append(key)
        return out

    @staticmethod
    def _summary_of(m: Metric, agg: _Agg) -> dict[str, Any]:
        assert m.summary is not None
        out: dict[str, Any] = {}
        for op in m.summary:
            if op == "min" and agg.lo != float("inf"):
                out["min"] = agg.lo
            elif op == "max" and agg.hi != float("-inf"):
                out["max"] = agg.hi
            elif op == "mean" and (agg.n or agg.seeded_mean is not None):
                out["mean"] = agg.total / agg.n if agg.n else agg.seeded_mean
            elif op == "first" and agg.first is not None:
                out["first"] = agg.first
            elif op == "last" and agg.last is not None:
                out["last"] = agg.last
            elif op == "best":
                # W&B's "best" follows the goal; without one it is the minimum.
                v = agg.hi if m.goal == "maximize" else agg.lo
                if abs(v) != float("inf"):
                    out["best"] = v
        return out

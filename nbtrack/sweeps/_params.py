"""One swept parameter: its distribution as W&B's sweep configuration names it.

Every searchable parameter maps onto [0, 1] and back (`to_unit` / `from_unit`): random
search draws a uniform number and maps it back; the Bayesian search models the metric over
that unit cube. For the continuous distributions the map is the distribution's CDF (so a
log-uniform parameter is searched in log space); a discrete parameter (values, int_uniform)
gets one equal slice of [0, 1] per value, its value at the slice's middle.

>>> p = parse_parameter("lr", {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1})
>>> round(p.from_unit(0.5), 6)   # the geometric middle
0.003162
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

# W&B's names; "categorical_w_probabilities" is what `values` with `probabilities` becomes.
DISTRIBUTIONS = (
    "constant",
    "categorical",
    "categorical_w_probabilities",
    "int_uniform",
    "uniform",
    "q_uniform",
    "log_uniform",
    "log_uniform_values",
    "q_log_uniform",
    "q_log_uniform_values",
    "inv_log_uniform",
    "inv_log_uniform_values",
    "normal",
    "q_normal",
    "log_normal",
    "q_log_normal",
    "beta",
    "q_beta",
)
# The keys each distribution takes beside `distribution`, with W&B's defaults (None: required).
_KEYS: dict[str, dict[str, Any]] = {
    "constant": {"value": None},
    "categorical": {"values": None},
    "categorical_w_probabilities": {"values": None, "probabilities": None},
    "int_uniform": {"min": None, "max": None},
    "uniform": {"min": None, "max": None},
    "q_uniform": {"min": None, "max": None, "q": 1.0},
    "log_uniform": {"min": None, "max": None},
    "log_uniform_values": {"min": None, "max": None},
    "q_log_uniform": {"min": None, "max": None, "q": 1.0},
    "q_log_uniform_values": {"min": None, "max": None, "q": 1.0},
    "inv_log_uniform": {"min": None, "max": None},
    "inv_log_uniform_values": {"min": None, "max": None},
    "normal": {"mu": 0.0, "sigma": 1.0},
    "q_normal": {"mu": 0.0, "sigma": 1.0, "q": 1.0},
    "log_normal": {"mu": 0.0, "sigma": 1.0},
    "q_log_normal": {"mu": 0.0, "sigma": 1.0, "q": 1.0},
    "beta": {"a": 1.0, "b": 1.0},
    "q_beta": {"a": 1.0, "b": 1.0, "q": 1.0},
}
# The distributions whose min and max are base-e exponents (W&B's first versions).
EXPONENT_BOUNDS = frozenset({"log_uniform", "q_log_uniform", "inv_log_uniform"})
# W&B's pattern for a parameter's name.
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


class SweepConfigError(ValueError):
    """A sweep configuration W&B would refuse too: the message names the part and why."""


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


@dataclass
class Parameter:
    """A parameter of the search: `path` is its place in the run's config (nested names)."""

    path: tuple[str, ...]
    distribution: str
    spec: dict[str, Any]
    # For the Bayesian search's beta parameters: the CDF on a grid, made on first use.
    _table: Any = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        return ".".join(self.path)

    @property
    def searchable(self) -> bool:
        return self.distribution != "constant"

    @property
    def discrete(self) -> list[Any] | None:
        """The values a grid walks through (None: this parameter cannot be on a grid)."""
        d, s = self.distribution, self.spec
        if d == "constant":
            return [s["value"]]
        if d == "categorical":
            return list(s["values"])
        if d == "int_uniform":
            return list(range(s["min"], s["max"] + 1))
        if d == "q_uniform":
            # As W&B: numpy's arange from min, below max, every q.
            import numpy as np

            out: list[Any] = np.arange(s["min"], s["max"], s["q"]).tolist()
            return out
        return None

    # -- the map onto [0, 1] -------------------------------------------------------------

    def from_unit(self, u: float) -> Any:
        """The parameter's value at `u` in [0, 1] (a uniform `u` samples the distribution)."""
        u = min(max(float(u), 0.0), 1.0)
        d, s = self.distribution, self.spec
        if d == "constant":
            return s["value"]
        if d == "categorical":
            values = s["values"]
            return values[min(int(u * len(values)), len(values) - 1)]
        if d == "categorical_w_probabilities":
            values, cum = s["values"], _cumulative(s["probabilities"])
            i = next((i for i, c in enumerate(cum) if u < c), len(values) - 1)
            return values[i]
        if d == "int_uniform":
            n = s["max"] - s["min"] + 1
            return int(s["min"] + min(int(u * n), n - 1))
        if d in ("uniform", "q_uniform"):
            x = s["min"] + u * (s["max"] - s["min"])
        elif d in ("log_uniform", "q_log_uniform", "inv_log_uniform"):
            lo, hi = s["min"], s["max"]
            # inv_log_uniform: exp(-Y) for Y uniform on [min, max], i.e. in [e^-max, e^-min].
            x = (
                math.exp(lo + u * (hi - lo))
                if d != "inv_log_uniform"
                else math.exp(-hi + u * (hi - lo))
            )
        elif d in ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values"):
            # 1/X log-uniform on [1/max, 1/min] is X log-uniform on [min, max]: one map.
            lo, hi = math.log(s["min"]), math.log(s["max"])
            x = math.exp(lo + u * (hi - lo))
        elif d in ("normal", "q_normal"):
            x = s["mu"] + s["sigma"] * _norm_ppf(u)
        elif d in ("log_normal", "q_log_normal"):
            x = math.exp(s["mu"] + s["sigma"] * _norm_ppf(u))
        else:  # beta, q_beta
            x = self._beta_ppf(u)
        if d.startswith("q_"):
            return _quantize(x, s["q"])
        return float(x)

    def to_unit(self, value: Any) -> float | None:
        """Where `value` lies in [0, 1]; None when it is not a value of this parameter."""
        d, s = self.distribution, self.spec
        if d == "constant":
            return 0.5
        if d in ("categorical", "categorical_w_probabilities"):
            values = s["values"]
            i = next((i for i, v in enumerate(values) if _same(v, value)), None)
            if i is None:
                return None
            if d == "categorical":
                return (i + 0.5) / len(values)
            cum = [0.0, *_cumulative(s["probabilities"])]
            return (cum[i] + cum[i + 1]) / 2
        if not _is_number(value):
            return None
        x = float(value)
        if d == "int_uniform":
            n = s["max"] - s["min"] + 1
            return _clip((x - s["min"] + 0.5) / n)
        if d in ("uniform", "q_uniform"):
            return _clip((x - s["min"]) / (s["max"] - s["min"]))
        if d in ("normal", "q_normal"):
            return _clip(_norm_cdf((x - s["mu"]) / s["sigma"]) if s["sigma"] > 0 else 0.5)
        if x <= 0 and d not in ("beta", "q_beta"):
            return None
        if d in ("log_uniform", "q_log_uniform"):
            return _clip((math.log(x) - s["min"]) / (s["max"] - s["min"]))
        if d == "inv_log_uniform":
            return _clip((math.log(x) + s["max"]) / (s["max"] - s["min"]))
        if d in ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values"):
            lo, hi = math.log(s["min"]), math.log(s["max"])
            return _clip((math.log(x) - lo) / (hi - lo))
        if d in ("log_normal", "q_log_normal"):
            return _clip(_norm_cdf((math.log(x) - s["mu"]) / s["sigma"]) if s["sigma"] > 0 else 0.5)
        return self._beta_cdf(x)

    # The beta distribution has no closed-form CDF: a table of it on a fine grid serves
    # both directions (NumPy only, no SciPy).
    def _beta_grid(self) -> tuple[Any, Any]:
        if self._table is None:
            import numpy as np

            a, b = self.spec["a"], self.spec["b"]
            n = 4096
            x = (np.arange(n) + 0.5) / n
            logpdf = (a - 1) * np.log(x) + (b - 1) * np.log1p(-x)
            pdf = np.exp(logpdf - logpdf.max())
            cdf = np.concatenate([[0.0], np.cumsum(pdf)])
            cdf /= cdf[-1]
            self._table = (np.linspace(0.0, 1.0, n + 1), cdf)
        return self._table  # type: ignore[no-any-return]

    def _beta_ppf(self, u: float) -> float:
        import numpy as np

        xs, cdf = self._beta_grid()
        return float(np.interp(u, cdf, xs))

    def _beta_cdf(self, x: float) -> float:
        import numpy as np

        xs, cdf = self._beta_grid()
        return _clip(float(np.interp(x, xs, cdf)))


def parse_parameter(name: str, spec: Any, path: tuple[str, ...] = ()) -> Parameter:
    """One parameter's specification, checked and with W&B's defaults filled in."""
    full = ".".join((*path, name))
    where = f"sweep parameter {full!r}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise SweepConfigError(
            f"{where}: a parameter's name starts with a letter or '_' and holds only letters, "
            "digits, '_', '.' and '-'"
        )
    if not isinstance(spec, dict):
        raise SweepConfigError(
            f"{where}: expected a dict such as {{'values': [...]}} or {{'min': 0, 'max': 1}}, "
            f"not {type(spec).__name__} {spec!r}"
        )
    dist = spec.get("distribution")
    if dist is None:
        dist = _infer(where, spec)
    elif dist == "categorical" and "probabilities" in spec:
        dist = "categorical_w_probabilities"  # W&B's schema names it so; accepted either way
    if dist not in _KEYS:
        raise SweepConfigError(
            f"{where}: unknown distribution {dist!r}; one of {', '.join(DISTRIBUTIONS)}"
        )
    keys = _KEYS[dist]
    unknown = sorted(set(spec) - set(keys) - {"distribution"})
    if unknown:
        raise SweepConfigError(
            f"{where}: {', '.join(map(repr, unknown))} is not a key of distribution {dist!r} "
            f"(it takes {', '.join(keys)})"
        )
    out: dict[str, Any] = {}
    for key, default in keys.items():
        if key in spec:
            out[key] = spec[key]
        elif default is None:
            raise SweepConfigError(f"{where}: distribution {dist!r} needs {key!r}")
        else:
            out[key] = default
    _check(where, dist, out)
    return Parameter((*path, name), dist, out)


def _infer(where: str, spec: dict[str, Any]) -> str:
    """The distribution W&B reads from the keys alone."""
    if "value" in spec:
        return "constant"
    if "values" in spec:
        return "categorical_w_probabilities" if "probabilities" in spec else "categorical"
    if "min" in spec and "max" in spec:
        both_int = _is_int(spec["min"]) and _is_int(spec["max"])
        return "int_uniform" if both_int else "uniform"
    if "min" in spec or "max" in spec:
        missing = "max" if "min" in spec else "min"
        raise SweepConfigError(f"{where}: {missing!r} is missing (a range needs min and max)")
    raise SweepConfigError(
        f"{where}: cannot tell its distribution from keys {sorted(spec)}: give 'value', "
        "'values', 'min' and 'max', or 'distribution' (with 'mu'/'sigma', 'a'/'b')"
    )


def _check(where: str, dist: str, s: dict[str, Any]) -> None:
    if dist in ("categorical", "categorical_w_probabilities"):
        values = s["values"]
        if not isinstance(values, (list, tuple)) or not values:
            raise SweepConfigError(f"{where}: 'values' must be a non-empty list, not {values!r}")
        s["values"] = list(values)
        if dist == "categorical_w_probabilities":
            probs = s["probabilities"]
            if not isinstance(probs, (list, tuple)) or not all(
                _is_number(p) and p >= 0 for p in probs
            ):
                raise SweepConfigError(
                    f"{where}: 'probabilities' must be a list of numbers >= 0, not {probs!r}"
                )
            if len(probs) != len(values):
                raise SweepConfigError(
                    f"{where}: {len(values)} values but {len(probs)} probabilities"
                )
            if not math.isclose(sum(probs), 1.0, rel_tol=1e-6, abs_tol=1e-9):
                raise SweepConfigError(f"{where}: probabilities {list(probs)} do not sum to 1")
            s["probabilities"] = [float(p) for p in probs]
        return
    if dist == "constant":
        return
    for key in ("min", "max", "mu", "sigma", "q", "a", "b"):
        if key in s and not _is_number(s[key]):
            # YAML 1.1 (PyYAML) reads 1e-4 as text: only 1.0e-4 is a number there.
            hint = " (in YAML write 1.0e-4, not 1e-4)" if isinstance(s[key], str) else ""
            raise SweepConfigError(
                f"{where}: {key!r} must be a finite number, not {s[key]!r}{hint}"
            )
    if "min" in s:
        if dist == "int_uniform" and not (_is_int(s["min"]) and _is_int(s["max"])):
            raise SweepConfigError(
                f"{where}: int_uniform needs int min and max, not {s['min']!r} and {s['max']!r}"
            )
        if s["min"] >= s["max"]:
            raise SweepConfigError(f"{where}: min {s['min']!r} is not less than max {s['max']!r}")
        if dist.endswith("_values") and s["min"] <= 0:
            raise SweepConfigError(
                f"{where}: {dist} takes the limits themselves, so min must be > 0, not {s['min']!r}"
            )
    if "q" in s and s["q"] <= 0:
        raise SweepConfigError(f"{where}: 'q' must be > 0, not {s['q']!r}")
    if "sigma" in s and s["sigma"] < 0:
        raise SweepConfigError(f"{where}: 'sigma' must be >= 0, not {s['sigma']!r}")
    for key in ("a", "b"):
        if key in s and s[key] <= 0:
            raise SweepConfigError(f"{where}: {key!r} must be > 0, not {s[key]!r}")


def _quantize(x: float, q: float) -> Any:
    """As W&B: round to a multiple of q; an int when q is an int."""
    r = round(x / q) * q
    return int(r) if _is_int(q) else float(r)


def _cumulative(probs: list[float]) -> list[float]:
    out, total = [], 0.0
    for p in probs:
        total += p
        out.append(total)
    out[-1] = 1.0  # no value is out of reach for a sum of 0.9999999
    return out


def _same(a: Any, b: Any) -> bool:
    # 3 and 3.0 are one value in a config read back from JSON; True is not 1.
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def _clip(u: float) -> float:
    return min(max(u, 0.0), 1.0)


def _norm_cdf(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def _norm_ppf(u: float) -> float:
    """The standard normal's quantile: Acklam's rational approximation, then one Newton step."""
    if u <= 0.0:
        return -math.inf
    if u >= 1.0:
        return math.inf
    a = (-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690,
         -30.66479806614716, 2.506628277459239)  # fmt: skip
    b = (-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
         -13.28068155288572)  # fmt: skip
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838, -2.549732539343734,
         4.374664141464968, 2.938163982698783)  # fmt: skip
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996, 3.754408661907416)
    lo = 0.02425
    if u < lo:
        q = math.sqrt(-2 * math.log(u))
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
        )
    elif u > 1 - lo:
        q = math.sqrt(-2 * math.log(1 - u))
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
        )
    else:
        q = u - 0.5
        r = q * q
        x = (
            (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
            * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        )
    # One Newton step on the exact CDF brings the error to the float's.
    e = _norm_cdf(x) - u
    return x - e * math.sqrt(2 * math.pi) * math.exp(x * x / 2)

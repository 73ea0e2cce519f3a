"""What `log()` accepts, and the shapes logged data takes on its way to the store.

`log()` keeps rows (step, wall time, {key: value}) and returns; turning rows into per-key
NumPy columns happens later, in a batch, off the hot path (`nbtrack.store.columns`).

NumPy is not imported here: `import nbtrack` stays light, and a NumPy value can only reach
`log()` once the user has imported NumPy.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from nbtrack._types import Float64Array, Int64Array

# Value types that go into a row as they are: the writer turns them into float64 in bulk.
# NumPy's scalar types join the first time one is logged (see `convert`).
FAST_TYPES: set[type] = {float, int, bool}

# Columns the store writes itself; a user key may not take these names.
RESERVED_KEYS = frozenset({"_step", "_time", "_runtime", "_timestamp"})
TIME_KEY = "_time"

# Steps up to 2**53 - 1: every one exact as a float64, which is how JavaScript and most data
# frames read them; auto steps cannot climb from there to the int64 limit of the store.
MAX_STEP = 2**53 - 1

_ACCEPTED = "log() takes numbers: int, float, bool, NumPy scalars, 0-d arrays or 0-d tensors"


# Logged rows wait in one flat list, three items a row: step, wall time, {key: value}.
# Flat, not a tuple a row: a tuple is a container the garbage collector tracks, and a
# million tracked tuples waiting for the writer make every full collection slow.
# (A dict of numbers is untracked, and so are ints and floats.)
Rows = list[Any]
ROW_WIDTH = 3


@dataclass
class DeviceValue:
    """A 0-d tensor on an accelerator, read back in a batch off the training thread."""

    step: int
    key: str
    tensor: Any


@dataclass
class HistogramEntry:
    """One histogram of one key at one step: `counts` over equal bins spanning [lo, hi]."""

    key: str
    step: int
    lo: float
    hi: float
    counts: np.ndarray[Any, Any]
    stats: dict[str, float] = field(default_factory=dict)


@dataclass
class Batch:
    """New data of one run, as columns: what the writer stores and a dashboard sends.

    `series` maps each key to (steps, values); the ``_time`` key holds the wall time of
    each committed step.
    """

    series: dict[str, tuple[Int64Array, Float64Array]] = field(default_factory=dict)
    histograms: list[HistogramEntry] = field(default_factory=list)
    #: Media as `log()` took them (`nbtrack.media.MediaEntry`), not yet encoded: the writer
    #: encodes and stores them; views read them back from the store, encoded.
    media: list[Any] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.series) or bool(self.histograms) or bool(self.media)


def check_step(step: Any) -> int:
    """An explicit ``step=`` as an int in [0, MAX_STEP], or a TypeError / ValueError."""
    if isinstance(step, bool) or not hasattr(step, "__index__"):
        raise TypeError(f"nbtrack.log: step must be an int, not {type(step).__name__} {step!r}")
    step = step.__index__()
    if step < 0:
        raise ValueError(f"nbtrack.log: step must be >= 0, got {step}")
    if step > MAX_STEP:
        raise ValueError(f"nbtrack.log: step must be at most 2**53 - 1 ({MAX_STEP}), got {step}")
    return int(step)


def check_key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"nbtrack.log: keys must be strings, got {type(key).__name__} {key!r}")
    if not key or not key.strip("/"):
        raise ValueError(f"nbtrack.log: key {key!r} is empty")
    try:
        key.encode("utf-8")
    except UnicodeError:
        raise ValueError(
            f"nbtrack.log: key {key!r} is not valid Unicode (it holds a lone surrogate)"
        ) from None
    if key in RESERVED_KEYS:
        raise ValueError(
            f"nbtrack.log: key {key!r} is reserved for nbtrack's own column; pick another name"
        )
    return key


def flatten(data: Mapping[Any, Any]) -> dict[str, Any]:
    """Nested dicts become ``a/b`` keys, as in W&B's charts.

    Two ways to one key (``{"a/b": 1, "a": {"b": 2}}``) are refused: one value would be
    dropped without a word.
    """
    out: dict[str, Any] = {}
    _flatten_into(out, data, "")
    return out


def _flatten_into(out: dict[str, Any], data: Mapping[Any, Any], prefix: str) -> None:
    for k, v in data.items():
        key = prefix + check_key(k)
        if isinstance(v, Mapping):
            _flatten_into(out, v, key + "/")
            continue
        if key in out:
            raise ValueError(
                f"nbtrack.log: key {key!r} is given twice (once nested, once with a '/'); "
                "log it once"
            )
        out[key] = v


def convert(key: str, value: Any, device_values: list[DeviceValue]) -> Any:
    """Return a value a row can hold, or None when it went to `device_values`.

    Raises TypeError or ValueError naming `key` for anything that is not one number.
    """
    tp = type(value)
    if tp in FAST_TYPES:
        return value
    if isinstance(value, (float, int)):  # subclasses, e.g. an IntEnum
        return _real(key, value)
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, (np.timedelta64, np.datetime64)):
        raise TypeError(
            f"nbtrack.log: value for key {key!r} is a NumPy {tp.__name__} ({value!r}), whose "
            "unit a number would lose; log it in a unit of your choice, e.g. "
            "td / np.timedelta64(1, 's') for seconds"
        )
    if np is not None and isinstance(value, (np.floating, np.integer, np.bool_)):
        FAST_TYPES.add(tp)  # from now on this type takes the fast path
        return value
    if isinstance(value, numbers.Real):  # e.g. a Fraction: log() stores it as a float
        return _real(key, value)
    if np is not None and isinstance(value, np.ndarray):
        if value.ndim == 0 and value.dtype.kind in "biuf":
            # Read it now: the caller may keep writing into the array.
            return float(value)
        if value.ndim == 0 and value.dtype.kind == "O":
            return convert(key, value.item(), device_values)
        raise TypeError(
            f"nbtrack.log: value for key {key!r} is a NumPy array of shape {value.shape} "
            f"and dtype {value.dtype}; {_ACCEPTED}"
        )
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        if value.numel() != 1 or value.ndim > 1:
            raise TypeError(
                f"nbtrack.log: value for key {key!r} is a tensor of shape {tuple(value.shape)}; "
                f"{_ACCEPTED}"
            )
        if value.is_complex():
            raise TypeError(f"nbtrack.log: value for key {key!r} is a complex tensor; {_ACCEPTED}")
        if value.device.type == "cpu":
            return float(value.item())
        # A copy, so an in-place update after log() does not change what was logged; the
        # copy is queued on the device and costs no synchronisation.
        device_values.append(DeviceValue(-1, key, value.detach().reshape(()).clone()))
        return None
    if isinstance(value, complex):
        raise TypeError(f"nbtrack.log: value for key {key!r} is complex ({value!r}); {_ACCEPTED}")
    shown = _shown(value)
    raise TypeError(f"nbtrack.log: value for key {key!r} is a {tp.__name__} ({shown}); {_ACCEPTED}")


def _real(key: str, value: Any) -> float:
    """A real number as the float the store keeps: beyond float64's range, +-inf."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf
    except Exception as e:  # a Real whose float() fails: refuse it here, not in the writer
        raise TypeError(
            f"nbtrack.log: value for key {key!r} ({_shown(value)}) does not convert to a "
            f"float ({e!r}); {_ACCEPTED}"
        ) from None


def _shown(value: Any) -> str:
    try:
        shown = repr(value)
    except Exception:
        shown = f"<{type(value).__name__}>"
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return shown

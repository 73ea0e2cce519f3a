"""What `log()` accepts, and how logged rows become columns.

`log()` keeps rows (step, wall time, {key: value}) and returns; turning rows into per-key
NumPy columns happens later, in a batch, off the hot path (`columnarize`).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np

from nbtrack._types import Float64Array, Int64Array

# Value types that go into a row as they are: the writer turns them into float64 in bulk.
FAST_TYPES: frozenset[type] = frozenset(
    {
        float,
        int,
        bool,
        np.float64,
        np.float32,
        np.float16,
        np.int64,
        np.int32,
        np.int16,
        np.int8,
        np.uint8,
        np.uint16,
        np.uint32,
        np.uint64,
        np.bool_,
    }
)

# Columns the store writes itself; a user key may not take these names.
RESERVED_KEYS = frozenset({"_step", "_time", "_runtime", "_timestamp"})
TIME_KEY = "_time"

_ACCEPTED = "log() takes numbers: int, float, bool, NumPy scalars, 0-d arrays or 0-d tensors"


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

    def __bool__(self) -> bool:
        return bool(self.series) or bool(self.histograms)


def check_key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"nbtrack.log: keys must be strings, got {type(key).__name__} {key!r}")
    if not key or not key.strip("/"):
        raise ValueError(f"nbtrack.log: key {key!r} is empty")
    if key in RESERVED_KEYS:
        raise ValueError(
            f"nbtrack.log: key {key!r} is reserved for nbtrack's own column; pick another name"
        )
    return key


def flatten(data: Mapping[Any, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts become ``a/b`` keys, as in W&B's charts."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        key = check_key(k) if not prefix else prefix + check_key(k)
        if isinstance(v, Mapping):
            if not v:
                continue
            out.update(flatten(v, key + "/"))
        else:
            out[key] = v
    return out


def convert(key: str, value: Any, step: int, device_values: list[DeviceValue]) -> Any:
    """Return a value a row can hold, or None when it went to `device_values`.

    Raises TypeError or ValueError naming `key` for anything that is not one number.
    """
    tp = type(value)
    if tp in FAST_TYPES:
        return value
    if isinstance(value, (float, int, np.floating, np.integer, np.bool_)):
        return float(value)
    if isinstance(value, np.ndarray):
        if value.ndim == 0 and value.dtype.kind in "biuf":
            # Read it now: the caller may keep writing into the array.
            return float(value)
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
        device_values.append(DeviceValue(step, key, value.detach().reshape(()).clone()))
        return None
    if isinstance(value, complex):
        raise TypeError(f"nbtrack.log: value for key {key!r} is complex ({value!r}); {_ACCEPTED}")
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    raise TypeError(f"nbtrack.log: value for key {key!r} is a {tp.__name__} ({shown}); {_ACCEPTED}")


def _to_float(value: Any) -> float:
    try:
        return float(value)
    except OverflowError:  # an int too large for float64: documented to become +-inf
        return math.inf if value > 0 else -math.inf


Row = tuple[int, float, dict[str, Any]]


def columnarize(rows: list[Row]) -> dict[str, tuple[Int64Array, Float64Array]]:
    """Rows (step, time, values) into per-key (steps, values) columns, plus ``_time``.

    Consecutive rows with the same keys in the same order (the usual training loop) are
    converted as one 2-D block in C, so the cost per scalar is a few tens of nanoseconds.
    """
    n = len(rows)
    if not n:
        return {}
    steps = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
    times = np.fromiter((r[1] for r in rows), dtype=np.float64, count=n)
    parts: dict[str, list[tuple[Int64Array, Float64Array]]] = {}
    i = 0
    while i < n:
        keys = tuple(rows[i][2])
        j = i + 1
        while j < n and tuple(rows[j][2]) == keys:
            j += 1
        block = rows[i:j]
        width = len(keys)
        if width:
            values = _block_values(block, width)
            for c, key in enumerate(keys):
                parts.setdefault(key, []).append((steps[i:j], values[:, c]))
        i = j
    out: dict[str, tuple[Int64Array, Float64Array]] = {TIME_KEY: (steps, times)}
    for key, pieces in parts.items():
        if len(pieces) == 1:
            s, v = pieces[0]
            out[key] = (s.copy(), np.ascontiguousarray(v))
        else:
            out[key] = (
                np.concatenate([p[0] for p in pieces]),
                np.concatenate([p[1] for p in pieces]),
            )
    return out


def _block_values(block: list[Row], width: int) -> Float64Array:
    flat: Iterable[Any] = chain.from_iterable(r[2].values() for r in block)
    try:
        arr = np.fromiter(flat, dtype=np.float64, count=len(block) * width)
    except (OverflowError, TypeError, ValueError):
        arr = np.array([_to_float(v) for r in block for v in r[2].values()], dtype=np.float64)
    return arr.reshape(len(block), width)

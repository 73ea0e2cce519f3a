"""Rows logged by `Run.log()` into per-key NumPy columns, in bounded chunks.

Consecutive rows with the same keys in the same order (the usual training loop) become
one 2-D block converted in C; every per-row step here is a C-level `map`, so the cost per
scalar is a few tens of nanoseconds. Rows are taken in chunks of `CHUNK_ROWS`: the writer
thread lets the training thread run between chunks, and freeing a chunk is a short pause
rather than one long one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import chain, pairwise
from operator import itemgetter, ne
from typing import Any

import numpy as np

from nbtrack._types import Float64Array, Int64Array
from nbtrack._values import TIME_KEY, Row

CHUNK_ROWS = 8192

_step_of = itemgetter(0)
_time_of = itemgetter(1)
_values_of = itemgetter(2)


class Columns:
    """Collects chunks of rows; `result()` gives ``{key: (steps, values)}`` with ``_time``."""

    def __init__(self) -> None:
        self._pieces: dict[str, list[tuple[Int64Array, Float64Array]]] = {}

    def add(self, rows: list[Row]) -> None:
        n = len(rows)
        if not n:
            return
        steps = np.fromiter(map(_step_of, rows), dtype=np.int64, count=n)
        times = np.fromiter(map(_time_of, rows), dtype=np.float64, count=n)
        pieces = self._pieces
        pieces.setdefault(TIME_KEY, []).append((steps, times))
        dicts: list[dict[str, Any]] = list(map(_values_of, rows))
        signatures = list(map(tuple, dicts))
        changes = np.flatnonzero(list(map(ne, signatures[1:], signatures[:-1]))) + 1
        bounds = [0, *changes.tolist(), n]
        for i, j in pairwise(bounds):
            keys = signatures[i]
            if not keys:
                continue
            values = _block_values(dicts[i:j], len(keys))
            block_steps = steps[i:j]
            for c, key in enumerate(keys):
                pieces.setdefault(key, []).append((block_steps, values[:, c]))

    def result(self) -> dict[str, tuple[Int64Array, Float64Array]]:
        out: dict[str, tuple[Int64Array, Float64Array]] = {}
        for key, parts in self._pieces.items():
            if len(parts) == 1:
                s, v = parts[0]
                out[key] = (np.array(s), np.ascontiguousarray(v))
            else:
                out[key] = (
                    np.concatenate([p[0] for p in parts]),
                    np.concatenate([p[1] for p in parts]),
                )
        return out


def take_columns(
    rows: list[Row], pause: Callable[[], None] | None = None
) -> dict[str, tuple[Int64Array, Float64Array]]:
    """Remove the rows present now from `rows` (others may append meanwhile) as columns.

    Rows are taken by slice and deleted by slice, never swapped, so a row appended by the
    training thread at the same moment stays for the next call.
    """
    cols = Columns()
    todo = len(rows)
    while todo:
        n = min(todo, CHUNK_ROWS)
        taken = rows[:n]
        del rows[:n]
        todo -= n
        cols.add(taken)
        del taken
        if pause is not None and todo:
            pause()
    return cols.result()


def _block_values(dicts: list[dict[str, Any]], width: int) -> Float64Array:
    flat = chain.from_iterable(map(dict.values, dicts))
    try:
        arr = np.fromiter(flat, dtype=np.float64, count=len(dicts) * width)
    except (OverflowError, TypeError, ValueError):
        arr = np.array([_to_float(v) for d in dicts for v in d.values()], dtype=np.float64)
    return arr.reshape(len(dicts), width)


def _to_float(value: Any) -> float:
    try:
        return float(value)
    except OverflowError:  # an int too large for float64: documented to become +-inf
        return math.inf if value > 0 else -math.inf

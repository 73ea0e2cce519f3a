"""Rows logged by `Run.log()` into per-key NumPy columns, in bounded chunks.

Each key's values are pulled out of the row dicts by C-level `map`s (a presence pass only
when some rows lack the key), so the cost per scalar is a few tens of nanoseconds and no
per-row Python object is made: nothing here feeds the garbage collector. Rows are taken in
chunks of `CHUNK_ROWS`: the writer thread lets the training thread run between chunks.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from itertools import chain, compress, repeat
from typing import Any

import numpy as np

from nbtrack._types import Float64Array, Int64Array
from nbtrack._values import ROW_WIDTH, TIME_KEY, Rows

CHUNK_ROWS = 8192


class Columns:
    """Collects chunks of rows; `result()` gives ``{key: (steps, values)}`` with ``_time``."""

    def __init__(self) -> None:
        self._pieces: dict[str, list[tuple[Int64Array, Float64Array]]] = {}

    def add(self, rows: Rows) -> None:
        """Add whole rows: ``[step, time, values, step, time, values, ...]``."""
        n = len(rows) // ROW_WIDTH
        if not n:
            return
        steps = np.fromiter(rows[0::ROW_WIDTH], dtype=np.int64, count=n)
        times = np.fromiter(rows[1::ROW_WIDTH], dtype=np.float64, count=n)
        pieces = self._pieces
        pieces.setdefault(TIME_KEY, []).append((steps, times))
        dicts: list[dict[str, Any]] = rows[2::ROW_WIDTH]
        keys = dict.fromkeys(chain.from_iterable(dicts))  # in order of first appearance
        lengths = set(map(len, dicts))
        everywhere = lengths == {len(keys)}  # then every row holds every key
        for key in keys:
            if everywhere:
                pieces.setdefault(key, []).append((steps, _values(dicts, key, n)))
                continue
            present = np.fromiter(map(dict.__contains__, dicts, repeat(key)), dtype=bool, count=n)
            held = list(compress(dicts, present.tolist()))
            pieces.setdefault(key, []).append((steps[present], _values(held, key, len(held))))

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
    rows: Rows, pause: Callable[[], None] | None = None
) -> dict[str, tuple[Int64Array, Float64Array]]:
    """Remove the rows present now from `rows` (others may append meanwhile) as columns.

    Rows are taken by slice and deleted by slice, never swapped, so a row appended by the
    training thread at the same moment stays for the next call.
    """
    cols = Columns()
    # Whole rows only: `extend` adds a row's three items in one step, so this is exact.
    todo = len(rows) // ROW_WIDTH * ROW_WIDTH
    while todo:
        n = min(todo, CHUNK_ROWS * ROW_WIDTH)
        taken = rows[:n]
        del rows[:n]
        todo -= n
        cols.add(taken)
        del taken
        if pause is not None and todo:
            pause()
    return cols.result()


def _values(dicts: list[dict[str, Any]], key: str, n: int) -> Float64Array:
    try:
        return np.fromiter(map(dict.__getitem__, dicts, repeat(key)), dtype=np.float64, count=n)
    except Exception:  # one value the fast conversion cannot take: convert one by one
        return np.array([_to_float(key, d[key]) for d in dicts], dtype=np.float64)


def _to_float(key: str, value: Any) -> float:
    try:
        return float(value)
    except OverflowError:  # an int too large for float64: documented to become +-inf
        return math.inf if value > 0 else -math.inf
    except Exception as e:
        # log() lets through only values that convert, so this is a bug of ours; one value
        # turned NaN, and said, is better than the whole flush lost.
        warnings.warn(
            f"nbtrack: a value of key {key!r} ({type(value).__name__}) could not be converted "
            f"({e!r}); stored as NaN",
            stacklevel=1,
        )
        return math.nan

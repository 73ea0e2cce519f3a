"""The per-bucket envelope of a series: what a view draws of a long series before anyone
zooms in (the compare view, the server's pages).

A series of any length becomes at most `width` buckets of equal step span; each keeps its
first and last step, the min and max of its finite values and its last value, so a spike
survives and the line's end is exact.

>>> b = reduce(np.arange(10), np.arange(10.0), 3)
>>> b.step_hi.tolist(), b.vmax.tolist(), b.last.tolist()
([3, 6, 9], [3.0, 6.0, 9.0], [3.0, 6.0, 9.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nbtrack._types import Float64Array, Int64Array

__all__ = ["Buckets", "reduce"]


@dataclass
class Buckets:
    """Per-bucket envelope of a series: each bucket's first and last step, the min and max of
    its finite values (NaN when it has none), and its last value."""

    step_lo: Int64Array
    step_hi: Int64Array
    vmin: Float64Array
    vmax: Float64Array
    last: Float64Array
    count: Int64Array


def reduce(steps: Int64Array, values: Float64Array, width: int) -> Buckets:
    """At most `width` buckets of equal step span over the series (sorted by step).

    `values` may be 2-D, a row per key logged at the same `steps`: the buckets are found
    once, and `vmin`, `vmax` and `last` come back with a row per key.
    """
    if not len(steps):
        e = np.empty(0, np.int64)
        f = np.empty((*values.shape[:-1], 0), np.float64)
        return Buckets(e, e, f, f, f, e)
    if len(steps) > 1 and not bool((steps[1:] >= steps[:-1]).all()):
        order = np.argsort(steps, kind="stable")
        steps, values = steps[order], values[..., order]
    lo, hi = int(steps[0]), int(steps[-1])
    span = hi - lo + 1
    width = max(1, min(width, span))
    # Bucket b holds the offsets d = step - lo with b*span <= d*width < (b+1)*span, that is
    # b = d*width // span.
    if span < 2**62 // width:
        idx = (steps - lo) * width // span
    else:
        # d*width passes 2**63 for wide ranges (nanosecond timestamps), so each bucket's
        # first offset is found with Python's integers; uint64 holds every offset.
        offsets = steps.view(np.uint64) - np.uint64(lo % 2**64)
        firsts = np.array([-(-b * span // width) for b in range(1, width)], dtype=np.uint64)
        idx = np.searchsorted(firsts, offsets, side="right")
    change = np.empty(len(idx), dtype=bool)
    change[0] = True
    np.not_equal(idx[1:], idx[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:] - 1
    ends[-1] = len(steps) - 1
    finite = np.where(np.isfinite(values), values, np.nan)
    with np.errstate(invalid="ignore"):
        vmin = np.fmin.reduceat(finite, starts, axis=-1)
        vmax = np.fmax.reduceat(finite, starts, axis=-1)
    return Buckets(
        steps[starts],
        steps[ends],
        vmin,
        vmax,
        values[..., ends],
        (ends - starts + 1).astype(np.int64),
    )

"""What a dashboard feed does to batches before they are encoded: merge and trim them."""

from __future__ import annotations

import numpy as np

from nbtrack._types import Float64Array, Int64Array
from nbtrack._values import Batch


def merge_batches(batches: list[Batch]) -> Batch:
    """One batch out of several, each key's columns concatenated in order."""
    if len(batches) == 1:
        return batches[0]
    parts: dict[str, list[tuple[Int64Array, Float64Array]]] = {}
    hists = []
    for b in batches:
        for key, col in b.series.items():
            parts.setdefault(key, []).append(col)
        hists.extend(b.histograms)
    series = {
        k: (np.concatenate([c[0] for c in cols]), np.concatenate([c[1] for c in cols]))
        for k, cols in parts.items()
    }
    return Batch(series, hists)


def after_steps(batch: Batch, last: dict[str, int]) -> Batch:
    """The part of `batch` past the last step already sent per key (drops overlap)."""
    series = {}
    for key, (s, v) in batch.series.items():
        cut = last.get(key)
        if cut is not None:
            keep = s > cut
            if not keep.all():
                s, v = s[keep], v[keep]
        if len(s):
            series[key] = (s, v)
    return Batch(series, batch.histograms)

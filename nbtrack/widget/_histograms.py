"""Histogram messages for the dashboard: what `watch` (or `log_histograms`) recorded.

One message per batch of entries: JSON metadata (key, step, range, stats) plus one buffer
per entry holding its counts as float64, so the front end reads them without parsing lists.
The front end (``js/histograms/``) re-bins them onto a common value range itself.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nbtrack._values import HistogramEntry


def _stat(stats: dict[str, Any], name: str) -> float | None:
    v = stats.get(name)
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None  # JSON has no NaN or inf


def histogram_message(entries: list[HistogramEntry]) -> tuple[dict[str, Any], list[bytes]]:
    """Encode histogram entries as ``(content, buffers)`` for ``widget.send``.

    >>> content, buffers = histogram_message([HistogramEntry("w", 0, -1.0, 1.0, np.ones(4))])
    >>> content["type"], len(buffers)
    ('histograms', 1)
    """
    meta = [
        {
            "key": e.key,
            "step": int(e.step),
            "lo": float(e.lo),
            "hi": float(e.hi),
            "norm": _stat(e.stats, "norm"),
            "nan": int(e.stats.get("nan", 0)),
            "inf": int(e.stats.get("inf", 0)),
        }
        for e in entries
    ]
    # tobytes() copies, so a caller reusing its counts array cannot change what is sent.
    buffers = [np.ascontiguousarray(e.counts, dtype=np.float64).tobytes() for e in entries]
    return {"type": "histograms", "entries": meta}, buffers

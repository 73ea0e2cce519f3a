"""Histogram messages for the dashboard (placeholder; the watch work replaces it).

One message per batch of entries: JSON metadata plus one buffer per entry holding its
counts as float64, so the front end can draw them without parsing lists.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nbtrack._values import HistogramEntry


def histogram_message(entries: list[HistogramEntry]) -> tuple[dict[str, Any], list[bytes]]:
    """Encode histogram entries as ``(content, buffers)`` for ``widget.send``.

    >>> content, buffers = histogram_message([HistogramEntry("w", 0, -1.0, 1.0, np.ones(4))])
    >>> content["type"], len(buffers)
    ('histograms', 1)
    """
    meta = [
        {"key": e.key, "step": int(e.step), "lo": float(e.lo), "hi": float(e.hi)} for e in entries
    ]
    # tobytes() copies, so a caller reusing its counts array cannot change what is sent.
    buffers = [np.ascontiguousarray(e.counts, dtype=np.float64).tobytes() for e in entries]
    return {"type": "histograms", "entries": meta}, buffers

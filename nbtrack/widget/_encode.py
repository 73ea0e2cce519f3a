"""How data crosses the comm to the dashboard: small JSON headers, numbers as buffers.

A points message carries, per key, the steps (nothing at all when they are evenly spaced,
else int32 when they fit, else float64) and the values (float64). The ``_time`` key's
values go as float32 seconds since the run started: about 12 bytes per point in the usual
loop. Every buffer is a fresh ``bytes`` copy: `send` writes it out later on another thread,
so it must never be a view of an array that someone keeps writing to.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nbtrack._types import Float64Array, Int64Array
from nbtrack._values import TIME_KEY, Batch

_I32 = np.iinfo(np.int32)


def json_number(x: float) -> float | str:
    """A float JSON can carry: NaN and infinities become strings the front end parses back."""
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _steps_field(steps: Int64Array, buffers: list[bytes]) -> dict[str, Any]:
    n = len(steps)
    first = int(steps[0])
    stride = int(steps[1] - steps[0]) if n > 1 else 1
    # One or two points are always evenly spaced.
    if n < 3 or np.array_equal(steps, first + stride * np.arange(n, dtype=np.int64)):
        return {"first": first, "stride": stride}
    if int(steps.min()) >= _I32.min and int(steps.max()) <= _I32.max:
        buffers.append(steps.astype(np.int32).tobytes())
        return {"steps": "i32", "steps_buf": len(buffers) - 1}
    buffers.append(steps.astype(np.float64).tobytes())
    return {"steps": "f64", "steps_buf": len(buffers) - 1}


def points_message(
    series: dict[str, tuple[Int64Array, Float64Array]], t0: float
) -> tuple[dict[str, Any], list[bytes]]:
    """Encode new points of each key as ``(content, buffers)`` for ``widget.send``.

    >>> content, buffers = points_message({"loss": (np.arange(3), np.ones(3))}, t0=0.0)
    >>> content["series"][0]["key"], content["series"][0]["first"], len(buffers)
    ('loss', 0, 1)
    """
    buffers: list[bytes] = []
    out: list[dict[str, Any]] = []
    for key, (steps, values) in series.items():
        n = len(steps)
        if n == 0:
            continue
        entry: dict[str, Any] = {"key": key, "n": n, **_steps_field(steps, buffers)}
        if key == TIME_KEY:
            rel = (np.asarray(values, dtype=np.float64) - t0).astype(np.float32)
            buffers.append(rel.tobytes())
            entry.update(values="f32", values_buf=len(buffers) - 1)
        else:
            buffers.append(np.asarray(values, dtype=np.float64).tobytes())
            entry.update(values="f64", values_buf=len(buffers) - 1)
        out.append(entry)
    return {"type": "points", "t0": t0, "series": out}, buffers


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


def header_message(
    *,
    run_id: str,
    name: str,
    project: str,
    state: str,
    step: int,
    created_at: float,
    elapsed: float,
    rate: float | None,
    last: dict[str, Any],
    alerts: list[dict[str, Any]],
    error: str | None,
) -> dict[str, Any]:
    """The header's facts as JSON (no buffers): small, sent with each update."""
    return {
        "type": "header",
        "id": run_id,
        "name": name,
        "project": project,
        "state": state,
        "step": int(step),
        "created_at": created_at,
        "elapsed": elapsed,
        "rate": None if rate is None else json_number(rate),
        "last": {k: json_number(float(v)) for k, v in last.items() if _is_number(v)},
        "alerts": [
            {
                "title": str(a.get("title", "")),
                "text": str(a.get("text", "")),
                "level": str(a.get("level", "INFO")),
                "step": a.get("step"),
            }
            for a in alerts
        ],
        "error": error,
    }


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True

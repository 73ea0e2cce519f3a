"""Columnar chunks: how one flush of one series is laid out in a blob.

A chunk holds the steps and values of one key for one flush. Values are float64 bytes as
they are (NaN and inf kept). Steps are usually an arithmetic run (0, 1, 2, ... or every
10th step): then they cost nothing but ``(first, stride)``; otherwise they are stored as
zlib-compressed int64 deltas. Wall time is not stored per key: it is the ``_time`` series,
one value per step, shared by every key logged at that step.
"""

from __future__ import annotations

import zlib
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from nbtrack._types import Float64Array, Int64Array


class EncodedSteps(NamedTuple):
    first: int
    last: int
    stride: int  # 0 when `blob` holds the deltas instead
    blob: bytes | None


def encode_steps(steps: Int64Array) -> EncodedSteps:
    first = int(steps[0])
    last = int(steps[-1])
    n = len(steps)
    if n == 1:
        return EncodedSteps(first, last, 1, None)
    stride = (last - first) // (n - 1)
    # An arithmetic run is the common case; confirm it before dropping the steps.
    if (
        stride > 0
        and first + stride * (n - 1) == last
        and np.array_equal(steps, np.arange(first, last + 1, stride, dtype=np.int64))
    ):
        return EncodedSteps(first, last, stride, None)
    deltas = np.diff(steps).astype("<i8", copy=False)
    return EncodedSteps(first, last, 0, zlib.compress(deltas.tobytes(), 1))


def decode_steps(n: int, first: int, stride: int, blob: bytes | None) -> Int64Array:
    if blob is None:
        return np.arange(first, first + stride * n, stride, dtype=np.int64)[:n]
    out = np.empty(n, dtype=np.int64)
    out[0] = first
    np.cumsum(np.frombuffer(zlib.decompress(blob), dtype="<i8"), out=out[1:])
    out[1:] += first
    return out


def encode_values(values: Float64Array) -> bytes:
    return np.ascontiguousarray(values, dtype="<f8").tobytes()


def decode_values(blob: bytes) -> Float64Array:
    return np.frombuffer(blob, dtype="<f8")


def encode_counts(counts: npt.NDArray[np.generic]) -> bytes:
    """Histogram bin counts: small non-negative integers, stored compressed."""
    arr = np.ascontiguousarray(counts, dtype="<i8")
    return zlib.compress(arr.tobytes(), 1)


def decode_counts(blob: bytes) -> Int64Array:
    return np.frombuffer(zlib.decompress(blob), dtype="<i8")

"""The wire format of an upload: chunks of the store, as the server receives them.

Both sides are Python, so this one module is both (the client builds frames, the server
reads them). A frame is the body of ``POST /api/v1/runs/{entity}/{project}/{id}/chunks``:

    b"NBF2" + u32 length of the packed header + zlib(header JSON) + the blobs, one after another

The header is ``{"chunks": [{"kind", "key", "seq": [first, last], "n", "first", "last",
"stride", "steps", "vals"}, ...]}``: ``steps`` and ``vals`` are the byte lengths of the
chunk's two blobs (``steps`` -1 when the steps are the arithmetic run ``first, first +
stride, ...``). The blobs are the store's own encoding (see `nbtrack.store.chunks`):

- a scalar chunk (kind ``"s"``): steps as the store keeps them, values as little-endian
  float64 (NaN and infinities as they are). ``_time`` is a key like the others: the wall
  time of each step, shared by every key logged at it.
- a histogram chunk (kind ``"h"``): the steps of its entries as above; ``vals`` packs per
  entry ``lo``, ``hi`` (float64 each), the bin count (uint32), then all the bin counts
  (int64), then the entries' stats as one JSON list.

What compresses is compressed: the header, and steps that are not an arithmetic run (the
store keeps them as zlib deltas). Values go as they are: float64 data compresses by 5-8%
at a cost of ~13x the time to send them (measured with bench/sync.py), so it would only
slow the upload.

Media rows (`Store.media_since`) travel after the chunks, as JSON: the body of
``POST /api/v1/runs/{entity}/{project}/{id}/media`` is ``{"rows": [{"seq", "key", "step",
"kind", "payload"}, ...]}`` in ascending ``seq`` (the store's media sequence), so
(run, media seq range) names an upload and a resend is acknowledged row by row. Before it,
every file a row names (`file_names`) is on the server (``PUT .../media/{name}``, the body
the file's bytes, checked against the SHA-256 its name holds).

``seq`` is the range of the store's sequence numbers the chunk covers (consecutive chunks of
one key are merged into one), so (run, kind, key, seq first) names a chunk: the server keeps
the first copy, acknowledges a resend of the same bytes, and refuses different bytes for it.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nbtrack._types import Float64Array, Int64Array
from nbtrack._values import HistogramEntry
from nbtrack.media import file_names as file_names
from nbtrack.store import chunks as store_chunks

MAGIC = b"NBF2"
CONTENT_TYPE = "application/x-nbtrack-frame"
# The most a frame's header may hold once unpacked (a frame of 8 MiB has a few KiB).
MAX_HEADER = 8 << 20
MAX_KEY_LENGTH = 1000
_U32 = struct.Struct("<I")


class FrameError(ValueError):
    """A frame that does not follow this format; the message says where."""


@dataclass(frozen=True)
class Chunk:
    kind: str  # "s" (scalars) or "h" (histograms)
    key: str
    seq_first: int
    seq_last: int
    n: int
    step_first: int
    step_last: int
    stride: int  # 0 when `steps` holds the deltas
    steps: bytes | None
    vals: bytes

    def digest(self) -> bytes:
        """What a resend must match: every field and both blobs."""
        h = hashlib.sha256()
        head = (self.kind, self.key, self.seq_first, self.seq_last, self.n, self.step_first)
        h.update(json.dumps([*head, self.step_last, self.stride]).encode())
        h.update(b"-" if self.steps is None else b"+" + self.steps)
        h.update(self.vals)
        return h.digest()

    def step_array(self) -> Int64Array:
        return store_chunks.decode_steps(self.n, self.step_first, self.stride, self.steps)

    def values(self) -> Float64Array:
        """The values of a scalar chunk."""
        return store_chunks.decode_values(self.vals)

    def histograms(self) -> list[HistogramEntry]:
        """The entries of a histogram chunk."""
        return unpack_histograms(self.key, self.step_array(), self.vals)

    def stats(self) -> tuple[float | None, float | None, float | None]:
        """(min, max, last) of a scalar chunk's values; min and max over the finite ones."""
        v = self.values()
        finite = v[np.isfinite(v)]
        last = float(v[-1])
        if not len(finite):
            return None, None, None if not np.isfinite(last) else last
        return float(finite.min()), float(finite.max()), last if np.isfinite(last) else None


# -- building (the client) -----------------------------------------------------------------


def scalar_chunk(key: str, seqs: tuple[int, int], steps: Int64Array, vals: Float64Array) -> Chunk:
    enc = store_chunks.encode_steps(steps)
    return Chunk(
        "s",
        key,
        seqs[0],
        seqs[1],
        len(steps),
        enc.first,
        enc.last,
        enc.stride,
        enc.blob,
        store_chunks.encode_values(vals),
    )


def histogram_chunk(
    key: str, seqs: tuple[int, int], entries: list[tuple[int, float, float, bytes, str]]
) -> Chunk:
    """One chunk of histogram entries ``(step, lo, hi, stored counts, stats JSON)``."""
    steps = np.array([e[0] for e in entries], dtype=np.int64)
    enc = store_chunks.encode_steps(steps)
    counts = [store_chunks.decode_counts(e[3]) for e in entries]
    parts = [
        np.array([e[1] for e in entries], dtype="<f8").tobytes(),
        np.array([e[2] for e in entries], dtype="<f8").tobytes(),
        np.array([len(c) for c in counts], dtype="<u4").tobytes(),
        np.concatenate(counts).astype("<i8", copy=False).tobytes() if counts else b"",
        json.dumps([json.loads(e[4]) for e in entries], allow_nan=True).encode(),
    ]
    return Chunk(
        "h", key, seqs[0], seqs[1], len(steps), enc.first, enc.last, enc.stride, enc.blob,
        b"".join(parts),
    )  # fmt: skip


def unpack_histograms(key: str, steps: Int64Array, blob: bytes) -> list[HistogramEntry]:
    n = len(steps)
    at = 0

    def take(dtype: str, count: int) -> np.ndarray[Any, Any]:
        nonlocal at
        size = np.dtype(dtype).itemsize * count
        if at + size > len(blob):
            raise FrameError(f"histogram chunk of {key!r} is shorter than its entries")
        out = np.frombuffer(blob, dtype=dtype, count=count, offset=at)
        at += size
        return out

    lo, hi = take("<f8", n), take("<f8", n)
    bins = take("<u4", n)
    counts = take("<i8", int(bins.sum()))
    try:
        stats = json.loads(blob[at:])
    except ValueError as e:
        raise FrameError(f"histogram chunk of {key!r}: its stats are not JSON ({e})") from None
    if not isinstance(stats, list) or len(stats) != n:
        raise FrameError(f"histogram chunk of {key!r}: {n} entries but stats for another count")
    out, start = [], 0
    for i in range(n):
        end = start + int(bins[i])
        st = stats[i] if isinstance(stats[i], dict) else {}
        out.append(
            HistogramEntry(key, int(steps[i]), float(lo[i]), float(hi[i]), counts[start:end], st)
        )
        start = end
    return out


def from_store(
    scalars: Iterable[tuple[Any, ...]], histograms: Iterable[tuple[Any, ...]]
) -> list[Chunk]:
    """Chunks to send for rows read by `Store.raw_since`: each key's rows merged into one."""
    by_key: dict[str, list[tuple[Any, ...]]] = {}
    for row in scalars:
        by_key.setdefault(row[1], []).append(row)
    out = []
    for key, rows in by_key.items():
        if len(rows) == 1:
            seq, _, n, first, last, stride, steps, vals = rows[0]
            out.append(Chunk("s", key, seq, seq, n, first, last, stride, steps, vals))
            continue
        step_parts = [store_chunks.decode_steps(r[2], r[3], r[5], r[6]) for r in rows]
        out.append(
            scalar_chunk(
                key,
                (rows[0][0], rows[-1][0]),
                np.concatenate(step_parts),
                np.concatenate([store_chunks.decode_values(r[7]) for r in rows]),
            )
        )
    by_hkey: dict[str, list[tuple[Any, ...]]] = {}
    for row in histograms:
        by_hkey.setdefault(row[1], []).append(row)
    for key, rows in by_hkey.items():
        entries = [(r[2], r[3], r[4], r[5], r[6]) for r in rows]
        out.append(histogram_chunk(key, (rows[0][0], rows[-1][0]), entries))
    return out


def encode(chunks: list[Chunk]) -> bytes:
    header = []
    blobs = []
    for c in chunks:
        header.append(
            {
                "kind": c.kind,
                "key": c.key,
                "seq": [c.seq_first, c.seq_last],
                "n": c.n,
                "first": c.step_first,
                "last": c.step_last,
                "stride": c.stride,
                "steps": -1 if c.steps is None else len(c.steps),
                "vals": len(c.vals),
            }
        )
        if c.steps is not None:
            blobs.append(c.steps)
        blobs.append(c.vals)
    head = zlib.compress(json.dumps({"chunks": header}, ensure_ascii=False).encode(), 6)
    return b"".join([MAGIC, _U32.pack(len(head)), head, *blobs])


# -- reading (the server) ------------------------------------------------------------------


def decode(body: bytes) -> list[Chunk]:
    """The chunks of a frame, checked; `FrameError` says what is wrong."""
    if body[:4] != MAGIC:
        raise FrameError(f"not an nbtrack frame (it must start with {MAGIC.decode()})")
    if len(body) < 8:
        raise FrameError("the frame has no header")
    (hlen,) = _U32.unpack_from(body, 4)
    if 8 + hlen > len(body):
        raise FrameError("the frame is shorter than its header says")
    d = zlib.decompressobj()
    try:
        text = d.decompress(body[8 : 8 + hlen], MAX_HEADER)
    except zlib.error as e:
        raise FrameError(f"the frame's header is not valid zlib data ({e})") from None
    if d.unconsumed_tail:
        raise FrameError(f"the frame's header unpacks to more than {MAX_HEADER >> 20} MiB")
    if not d.eof:
        raise FrameError("the frame's header is cut short")
    try:
        header = json.loads(text)
        specs = header["chunks"]
        if not isinstance(specs, list):
            raise TypeError("chunks is not a list")
    except (ValueError, KeyError, TypeError) as e:
        raise FrameError(f"the frame's header is not valid ({e})") from None
    raw = body
    at = 8 + hlen
    out = []
    for i, spec in enumerate(specs):
        try:
            c, at = _chunk(spec, raw, at)
        except (KeyError, TypeError, ValueError) as e:
            raise FrameError(f"chunk {i} of the frame: {e}") from None
        out.append(c)
    if at != len(raw):
        raise FrameError(f"the frame holds {len(raw) - at} bytes past its last chunk")
    return out


def _int(spec: dict[str, Any], name: str, lo: int = -(2**63), hi: int = 2**63 - 1) -> int:
    v = spec[name]
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], not {v!r}")
    return v


def _chunk(spec: dict[str, Any], raw: bytes, at: int) -> tuple[Chunk, int]:
    kind, key = spec["kind"], spec["key"]
    if kind not in ("s", "h"):
        raise ValueError(f"kind must be 's' or 'h', not {kind!r}")
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"key must be a string of 1 to {MAX_KEY_LENGTH} characters")
    seq = spec["seq"]
    if not isinstance(seq, list) or len(seq) != 2:
        raise ValueError("seq must be [first, last]")
    s0 = _int({"seq first": seq[0]}, "seq first", 1)
    s1 = _int({"seq last": seq[1]}, "seq last", s0)
    n = _int(spec, "n", 1, 1 << 30)
    first, last = _int(spec, "first"), _int(spec, "last")
    stride = _int(spec, "stride", 0)
    slen, vlen = _int(spec, "steps", -1, len(raw)), _int(spec, "vals", 0, len(raw))
    steps = None
    if slen >= 0:
        steps = raw[at : at + slen]
        at += slen
    elif stride == 0 and n > 1:
        raise ValueError("steps are missing and stride is 0")
    vals = raw[at : at + vlen]
    at += vlen
    if at > len(raw):
        raise ValueError("its blobs run past the end of the frame")
    if kind == "s" and vlen != 8 * n:
        raise ValueError(f"{n} values need {8 * n} bytes, not {vlen}")
    c = Chunk(kind, key, s0, s1, n, first, last, stride, steps, vals)
    try:
        st = c.step_array()
    except (zlib.error, ValueError) as e:
        raise ValueError(f"its steps cannot be decoded ({e})") from None
    if len(st) != n or int(st[0]) != first or int(st[-1]) != last:
        raise ValueError("its steps do not match n, first and last")
    if kind == "h":
        c.histograms()  # raises FrameError when the packing is off
    return c, at


# -- media rows ------------------------------------------------------------------------------

MEDIA_KINDS = ("image", "table", "plot", "video", "audio", "html")


def media_body(rows: Iterable[tuple[int, str, int, str, dict[str, Any]]]) -> bytes:
    """The body of a media upload: rows ``(seq, key, step, kind, payload)`` in seq order."""
    out = [
        {"seq": seq, "key": key, "step": step, "kind": kind, "payload": payload}
        for seq, key, step, kind, payload in rows
    ]
    try:
        return json.dumps({"rows": out}, ensure_ascii=False, allow_nan=False).encode()
    except ValueError:  # a bare NaN the payload should have spelled as a float object
        from nbtrack._json import finite

        return json.dumps({"rows": finite(out)}, ensure_ascii=False, allow_nan=False).encode()

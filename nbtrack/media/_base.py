"""The base of W&B's data types, and what every media module shares.

A media object (`Image`, `Table`, ...) only keeps its constructor's arguments: building one
in a training loop costs next to nothing. `nbtrack.media.prepare` checks and copies what it
holds when `log()` takes it, and the run's writer thread encodes the copy later.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from nbtrack._values import HistogramEntry

# What a WBValue that `log()` has no path for says. `log()` sends media objects to
# `nbtrack.media.prepare` before it gets here, so only a WBValue of none of the known kinds
# (a user's own subclass, say) meets it.
NOT_LOGGABLE = (
    "nbtrack.log: key {key!r} holds a {kind}, a media value nbtrack does not store: log "
    "numbers, nbtrack.Histogram or the media types (Image, Table, plot, Video, Audio, Html)"
)


class WBValue:
    """Base of the W&B data types (W&B's ``wandb.sdk.data_types.base_types.WBValue``)."""

    _log_type = "wbvalue"

    def _entry(self, key: str, step: int) -> HistogramEntry:
        """What `log()` stores for this value under `key` (a histogram); others: TypeError."""
        raise TypeError(NOT_LOGGABLE.format(kind=f"wandb.{type(self).__name__}", key=key))


class Media(WBValue):
    """A W&B media object: `kind` names the store's media kind it is logged as."""

    kind: ClassVar[str] = "media"


def is_media(value: object) -> bool:
    """True for a media object, or a non-empty list or tuple whose first item is one.

    >>> is_media([nbtrack.Image(x) for x in batch])
    True
    """
    if isinstance(value, Media):
        return True
    tp = type(value)
    return (tp is list or tp is tuple) and bool(value) and isinstance(value[0], Media)  # type: ignore[index]


def text(key: str, what: str, value: Any) -> str | None:
    """`value` as the text the store keeps (None stays None), or a ValueError naming the key
    when it is not valid Unicode (a lone surrogate, which no UTF-8 file can hold)."""
    if value is None:
        return None
    s = value if type(value) is str else str(value)
    try:
        s.encode("utf-8")
    except UnicodeError:
        raise ValueError(
            f"nbtrack.log: key {key!r} {what} {s!r} is not valid Unicode (it holds a lone "
            "surrogate)"
        ) from None
    return s


def where(key: str, index: int | None, noun: str) -> str:
    """``key 'k'`` or ``key 'k' image 3``: how an error names the value it is about."""
    return f"key {key!r}" if index is None else f"key {key!r} {noun} {index}"


def read_file(key: str, index: int | None, noun: str, path: str) -> bytes:
    """The bytes of a logged file, read on the writer thread; a FileNotFoundError naming
    the key when it was deleted since `log()` checked it."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"nbtrack.log: {where(key, index, noun)} names the file {path!r}, which was deleted "
            "before it was stored"
        ) from None


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


_clipped: set[tuple[str, str]] = set()  # (kind, key) pairs already warned about


def warn_clipped(kind: str, key: str, lo: float, hi: float, shown: str) -> None:
    """Warn, once a key and kind of media, that values from `lo` to `hi` fall outside
    `shown` (the range the writer keeps) and are clipped."""
    if (kind, key) in _clipped:
        return
    _clipped.add((kind, key))
    warnings.warn(
        f"nbtrack.log: key {key!r} has {kind} from {lo:g} to {hi:g}, outside {shown}; they "
        "are clipped (said once a key)",
        UserWarning,
        stacklevel=user_stacklevel(),
    )


def user_stacklevel() -> int:
    """The `stacklevel` that makes a warning point at the user's line that called nbtrack
    (``run.log(...)``), however deep in nbtrack it is raised."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def json_number(x: float) -> Any:
    """A float as the payload holds it: NaN and the infinities as a small object (JSON has
    no word for them)."""
    if math.isfinite(x):
        return x
    return {"_type": "float", "value": "nan" if x != x else ("inf" if x > 0 else "-inf")}


def from_json_number(x: Any) -> Any:
    """The inverse of `json_number`, for any payload value (others come back as they are)."""
    if type(x) is dict and x.get("_type") == "float":
        return float(x["value"])
    return x


# The payload fields that hold a media file's name (`nbtrack.store.media_files`).
FILE_FIELDS = ("file", "thumb")


def file_names(payload: Any, fields: tuple[str, ...] = FILE_FIELDS) -> list[str]:
    """The media files a payload names (images, thumbnails, masks, table cells, video,
    audio, html), each once, in the order they come; ``fields=("thumb",)``: the thumbnails
    only. A loop, not recursion: a payload from the network or an artifact nests as deep as
    its parser allowed.

    >>> file_names({"items": [{"file": "a.png", "thumb": "a.png", "masks": []}]})
    ['a.png']
    """
    out: dict[str, None] = {}
    todo = [payload]
    while todo:
        v = todo.pop()
        if isinstance(v, dict):
            for field in fields:
                name = v.get(field)
                if isinstance(name, str):
                    out[name] = None
            todo.extend(reversed(list(v.values())))
        elif isinstance(v, list):
            todo.extend(reversed(v))
    return list(out)

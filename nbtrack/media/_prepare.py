"""`prepare`: what `log()` does with a media value, and the entries it hands the writer.

`prepare(key, value)` runs on the training thread: it checks the value (a TypeError or
ValueError naming the key, raised by `log()` before anything is kept) and copies what it
holds, so the caller may change its arrays or tables right after. It encodes nothing: the
returned `MediaEntry` does that on the writer thread (`entry.encode(files)`), where an
exception drops that entry only, with a warning naming its key and step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbtrack.store.media_files import MediaFiles

Encoder = Callable[["MediaFiles"], dict[str, Any]]


class MediaEntry:
    """One logged media value of one key, checked and copied, not yet encoded.

    `step` is set by the run (-1 until then); `nbytes` is about what the copy holds in
    memory (the run bounds its backlog by it).
    """

    __slots__ = ("_encoder", "key", "kind", "nbytes", "step")

    def __init__(self, key: str, kind: str, nbytes: int, encoder: Encoder) -> None:
        self.key = key
        self.step = -1
        self.kind = kind
        self.nbytes = nbytes
        self._encoder = encoder

    def encode(self, files: MediaFiles) -> EncodedMedia:
        """Write the files (PNG, thumbnails, ...) and return the payload the store keeps."""
        return EncodedMedia(self.key, self.step, self.kind, self._encoder(files))

    def __repr__(self) -> str:
        return f"<MediaEntry {self.kind} {self.key!r} step {self.step} ({self.nbytes} bytes)>"


@dataclass(frozen=True)
class EncodedMedia:
    """A media entry as the store keeps it: `payload` is JSON-able (see the media contract)."""

    key: str
    step: int
    kind: str
    payload: dict[str, Any]


# type -> the function that prepares a value (or a list of values) of that type; filled
# by `nbtrack.media` as it imports the type modules.
PREPARERS: dict[type, Callable[[str, Any], MediaEntry]] = {}
# Types a list may hold several of under one key (a table or a chart is one a key).
LISTABLE: set[type] = set()


def prepare(key: str, value: Any) -> MediaEntry:
    """Check and copy a media value (or a list of them) logged under `key`.

    >>> entry = prepare("preds", [nbtrack.Image(x) for x in batch])
    >>> entry.kind, entry.step
    ('image', -1)
    """
    tp = type(value)
    listed = tp is list or tp is tuple
    first = value[0] if listed and value else value
    cls = type(first)
    fn = PREPARERS.get(cls)
    if fn is None:
        for base, f in PREPARERS.items():  # a subclass (a read-back Image, a user's own)
            if isinstance(first, base):
                cls, fn = base, f
                break
    if fn is None:
        what = "an empty list" if listed and not value else f"a {type(first).__name__}"
        raise TypeError(f"nbtrack.log: key {key!r} holds {what}, which is not a media value")
    if listed:
        if cls not in LISTABLE:
            raise TypeError(
                f"nbtrack.log: key {key!r} holds a list of {cls.__name__}; log one "
                f"{cls.__name__} a key"
            )
        for i, item in enumerate(value):
            if not isinstance(item, cls):
                kind = type(item).__name__
                raise TypeError(
                    f"nbtrack.log: key {key!r} item {i} is a {kind} in a list of "
                    f"{cls.__name__}; log one kind of media a key"
                )
    return fn(key, value)

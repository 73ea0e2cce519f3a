"""What a page is sent of a run's media: the thinning rule, the files the page has, and the
answers to its requests for full files.

A run that logs 16 images a step for 100,000 steps must not send 1.6 million thumbnails to a
browser tab, nor keep them there. So each key keeps a stride ``s`` (1 at first), and the page
holds the entries whose index (the entry's ordinal among its key's entries) is a multiple of
``s``. When a key would hold more than `MAX_KEPT` of them, ``s`` doubles and the page is told
to drop the others (``media-thin``). The stride is a function of the key's count alone
(`stride_for`), so a sender that starts late (a page that reconnects) or sees the entries in
other batches comes to the same one; and within one batch an entry that the batch's own
doubling would drop is never sent at all: a dashboard opened on a finished run of 1,000 steps
is sent at most ~65 entries a key, not the ~190 that one-by-one sending would pass through.

Between kept entries the newest one of a key goes as ``keep: false`` (the page shows it as
the last slider position until the next), at most every `LATEST_EVERY_S`, so the slider's end
follows the run without sending every step.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from nbtrack.widget._protocol import (
    MediaOut,
    media_file_reply,
    media_messages,
    media_thin_message,
)

if TYPE_CHECKING:
    from nbtrack.store.media_files import MediaFiles

#: The most kept entries a page holds of one key (one more, and the stride doubles).
MAX_KEPT = 64
#: How often the newest entry of a key between kept ones is sent, at most.
LATEST_EVERY_S = 2.0


class MediaRowLike(Protocol):
    """What the sender reads of a stored media row (`nbtrack.store.db.MediaRow`)."""

    @property
    def seq(self) -> int: ...
    @property
    def key(self) -> str: ...
    @property
    def step(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def payload(self) -> dict[str, Any]: ...


class Sink(Protocol):
    """Where the messages go: a dashboard widget, or a page's event stream."""

    def send(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None: ...


def stride_for(count: int) -> int:
    """The stride of a key that has `count` entries: the smallest power of two that leaves at
    most `MAX_KEPT` of them kept.

    >>> stride_for(64), stride_for(65), stride_for(128), stride_for(129), stride_for(1000)
    (1, 2, 2, 4, 16)
    """
    s = 1
    while -(-count // s) > MAX_KEPT:
        s *= 2
    return s


class MediaSender:
    """Sends one page a run's media rows as they come, thinned, each file once.

    `files` is where thumbnails are read (None where none can be: messages carry
    ``files: []``, and the page loads them by URL if it can). `seq` is the store's media cursor: the last row seen.

    >>> sender = MediaSender(widget, store.media_files)
    >>> rows, sender.seq = store.media_since(rk, sender.seq)
    >>> sender.send(rows)
    """

    def __init__(
        self,
        sink: Sink,
        files: MediaFiles | None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sink = sink
        self.files = files
        self.seq = 0
        self.sent_files: set[str] = set()
        self._clock = clock
        self._count: dict[str, int] = {}
        self._stride: dict[str, int] = {}
        # Per key: its newest entry when that one is off-stride and not sent yet.
        self._pending: dict[str, MediaOut] = {}
        self._latest_at: dict[str, float] = {}

    @property
    def pending(self) -> bool:
        """True while a key's newest entry waits for its turn (see `LATEST_EVERY_S`)."""
        return bool(self._pending)

    def stride(self, key: str) -> int:
        return self._stride.get(key, 1)

    def skip(self, rows: Iterable[MediaRowLike]) -> None:
        """Count rows the page has already (it reconnects with them) without sending them."""
        for r in rows:
            self._count[r.key] = self._count.get(r.key, 0) + 1
            self.seq = max(self.seq, int(r.seq))
        self._stride = {k: stride_for(n) for k, n in self._count.items()}

    def send(self, rows: Sequence[MediaRowLike], *, final: bool = False) -> None:
        """Send what the page keeps of `rows` (new rows, in seq order), and the newest entry
        of each key that waited long enough; with `final` (the run has ended) that one goes
        at once, so the page ends on the run's last entry."""
        fresh: list[MediaOut] = []
        for r in rows:
            i = self._count.get(r.key, 0)
            self._count[r.key] = i + 1
            fresh.append(MediaOut(r.key, int(r.step), r.kind, i, True, r.payload))
            self.seq = max(self.seq, int(r.seq))
        for key in dict.fromkeys(e.key for e in fresh):
            s = stride_for(self._count[key])
            if s != self.stride(key):
                self._stride[key] = s
                self.sink.send(media_thin_message(key, s))
        out: list[MediaOut] = []
        for e in fresh:
            if e.index % self.stride(e.key) == 0:
                out.append(e)
                self._pending.pop(e.key, None)
            else:
                self._pending[e.key] = dataclasses.replace(e, keep=False)
        now = self._clock()
        for key, e in list(self._pending.items()):
            if final or now - self._latest_at.get(key, -LATEST_EVERY_S) >= LATEST_EVERY_S:
                out.append(e)
                del self._pending[key]
                self._latest_at[key] = now
        self._emit(out)

    def _emit(self, entries: list[MediaOut]) -> None:
        for content, buffers in media_messages(entries, self.sent_files, self.files):
            self.sink.send(content, buffers)


def answer_file_request(
    request: Any, files: MediaFiles | None
) -> tuple[dict[str, Any], list[bytes]] | None:
    """The reply to the page's ``{"type": "media-file", "id": int, "name": str}`` request,
    as ``(content, buffers)``; None when `request` is some other message. The name comes
    from the page: it is read only once `valid_name` says it is one of the store's names.

    >>> answer_file_request({"type": "media-file", "id": 1, "name": "../db"}, None)[0]["error"]
    "'../db' is not a media file name"
    """
    from nbtrack.store.media_files import valid_name

    if not isinstance(request, dict) or request.get("type") != "media-file":
        return None
    rid, name = request.get("id"), request.get("name")
    if not isinstance(rid, int) or isinstance(rid, bool):
        return None  # the page could not match an answer to it
    text = name if isinstance(name, str) else repr(name)
    if not valid_name(name):
        return media_file_reply(rid, text, None, f"{text!r} is not a media file name")
    if files is None:
        return media_file_reply(rid, text, None, f"media file {text} is not stored here")
    try:
        data = files.read(text)
    except OSError:
        return media_file_reply(rid, text, None, f"no media file {text} in this store")
    return media_file_reply(rid, text, data)


def file_request_handler(sink: Sink, files: MediaFiles | None) -> Callable[[Any, Any, Any], None]:
    """A widget's ``on_msg`` callback that answers the page's ``media-file`` requests (in a
    notebook: when the kernel is idle, since comm messages wait for the running cell)."""

    def on_msg(_widget: Any, content: Any, _buffers: Any) -> None:
        reply = answer_file_request(content, files)
        if reply is not None:
            sink.send(*reply)

    return on_msg

"""What a dashboard is sent of a run's media (``nbtrack/widget/_media.py``, the media messages
of ``nbtrack/widget/_protocol.py``, both feeds of ``nbtrack/widget/_dashboard.py``), and how
``nbtrack ui`` serves media files.

The runs are real ones in a real store; their media rows are written with `Store.write_media`
and their files with `MediaFiles`, as the writer does once it has encoded a logged image (so
these tests do not depend on the image encoder). A `Page` plays the page's side of the rule:
it applies ``media-thin`` and ``keep`` as ``js/media/store.ts`` does, and keeps the bytes by
name.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import nbtrack
from nbtrack._run import link
from nbtrack.api import Api
from nbtrack.store.db import MediaRow, Store
from nbtrack.store.media_files import MediaFiles
from nbtrack.widget._media import (
    LATEST_EVERY_S,
    MAX_KEPT,
    MediaSender,
    answer_file_request,
    stride_for,
)
from nbtrack.widget._protocol import (
    HTML_INLINE_BYTES,
    media_file_names,
    media_file_reply,
    media_message,
    media_thin_message,
)
from tests.helpers import Message, Recorder

# -- test data: media rows as the writer stores them -------------------------------------------


@dataclass
class Encoded:
    """Shaped as `nbtrack.media.EncodedMedia`: what `Store.write_media` takes."""

    key: str
    step: int
    kind: str
    payload: dict[str, Any]


def _png_gray(a: Any) -> bytes:
    """A grayscale PNG of the uint8 array `a`, made with zlib (16,000 of them in a second)."""
    import struct
    import zlib

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    h, w = a.shape
    raw = b"".join(b"\x00" + a[i].tobytes() for i in range(h))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


@functools.cache
def _digit(shape: int) -> Any:
    """One of 64 handwriting-like 28x28 strokes: a soft ring and a slanted bar."""
    import numpy as np

    y, x = np.mgrid[0:28, 0:28].astype(np.float64)
    cx, cy, rx = 10 + shape % 8, 11 + shape // 8 % 7, 4.5 + shape % 3
    ring = np.clip(255 - np.abs(np.hypot((x - cx) / rx, (y - cy) / 7.0) - 1) * 700, 0, 255)
    slant = (shape % 11) / 11 - 0.5
    bar = np.clip(255 - np.abs(x - cx - 2 - slant * (y - cy)) * 120, 0, 255)
    bar *= (y > cy - 9) & (y < cy + 9)
    return np.maximum(ring, bar).astype(np.uint8)


def digit_png(step: int, j: int) -> bytes:
    """A 28x28 grayscale PNG like a handwritten digit (~300 bytes, as MNIST's are), different
    for every (step, j): its first row spells ``step * 16 + j`` in bits."""
    a = _digit((step * 5 + j * 3) % 64).copy()
    n = step * 16 + j
    a[0, :20] = [(n >> k & 1) * 255 for k in range(20)]
    return _png_gray(a)


def photo(step: int) -> tuple[bytes, bytes]:
    """A 200x150 RGB image as the writer keeps it: the full PNG and a 128x96 JPEG thumbnail."""
    import numpy as np
    from PIL import Image

    yy, xx = np.mgrid[0:150, 0:200]
    a = np.stack([(xx + step) % 256, (yy * 2) % 256, (xx + yy) % 256], axis=-1).astype(np.uint8)
    a[:8, :16] = [[(step >> k & 1) * 255] * 3 for k in range(16)]  # different for every step
    im = Image.fromarray(a)
    full, thumb = io.BytesIO(), io.BytesIO()
    im.save(full, "PNG")
    im.resize((128, 96)).save(thumb, "JPEG", quality=85)
    return full.getvalue(), thumb.getvalue()


def put(files: MediaFiles, data: bytes, ext: str) -> str:
    """`MediaFiles.put`, in one write: the tests keep 16,000 files, on a shared disk."""
    from nbtrack.store.media_files import name_of

    name = name_of(data, ext)
    path = files.path(name)
    if not path.exists():
        os.makedirs(path.parent, exist_ok=True)
        path.write_bytes(data)
    return name


def small_item(files: MediaFiles, data: bytes, caption: str | None = None) -> dict[str, Any]:
    """An image of at most 128 px: its thumbnail is the full file itself."""
    name = put(files, data, ".png")
    return {
        "file": name,
        "thumb": name,
        "w": 28,
        "h": 28,
        "tw": 28,
        "th": 28,
        "caption": caption,
        "masks": [],
        "boxes": [],
    }


def photo_item(files: MediaFiles, step: int) -> dict[str, Any]:
    full, thumb = photo(step)
    return {
        "file": files.put(full, ".png"),
        "thumb": files.put(thumb, ".jpg"),
        "w": 200,
        "h": 150,
        "tw": 128,
        "th": 96,
        "caption": f"step {step}",
        "masks": [],
        "boxes": [],
    }


def write_digits(
    root: Path, rk: int, steps: Sequence[int], n: int = 16, key: str = "preds"
) -> None:
    """`n` digit images a step under `key`, one media row a step, one transaction."""
    with contextlib.closing(Store(root)) as store:
        files = store.media_files
        store.write_media(
            rk,
            [
                Encoded(
                    key,
                    s,
                    "image",
                    {"items": [small_item(files, digit_png(s, j)) for j in range(n)]},
                )
                for s in steps
            ],
        )


def finished_run(project: str = "media", steps: int = 3) -> nbtrack.Run:
    run = nbtrack.init(project=project, display=False)
    for s in range(steps):
        run.log({"loss": 1.0 / (s + 1)})
    run.finish(quiet=True)
    return run


# -- the page's side ---------------------------------------------------------------------------


class Page:
    """What the page holds: per key the kept entries by index and the shown newest one; the
    file bytes by name. A file sent twice, or an entry whose thumbnail it was never sent,
    fails."""

    def __init__(self) -> None:
        self.kept: dict[str, dict[int, dict[str, Any]]] = {}
        self.latest: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self.most_held = 0

    def handle(self, content: dict[str, Any], buffers: list[bytes]) -> None:
        if content["type"] == "media-thin":
            s = content["stride"]
            held = self.kept.get(content["key"], {})
            self.kept[content["key"]] = {i: e for i, e in held.items() if i % s == 0}
        elif content["type"] == "media":
            assert len(content["files"]) == len(buffers)
            for name, data in zip(content["files"], buffers, strict=True):
                assert name not in self.files, f"{name} was sent to this page before"
                self.files[name] = data
            for e in content["entries"]:
                for name in media_file_names(e["kind"], e["payload"]):
                    assert name in self.files, f"{e['key']} {e['index']}: {name} was never sent"
                if e["keep"]:
                    self.kept.setdefault(e["key"], {})[e["index"]] = e
                    self.latest.pop(e["key"], None)
                else:
                    self.latest[e["key"]] = e
        for held in self.kept.values():
            self.most_held = max(self.most_held, len(held))

    def feed(self, messages: Sequence[Message]) -> None:
        for c, b in messages:
            self.handle(c, b)


def rows(n: int, key: str = "k", first_seq: int = 1) -> list[MediaRow]:
    return [
        MediaRow(
            first_seq + i, key, i, "table", {"columns": [], "types": [], "rows": 0, "data": []}
        )
        for i in range(n)
    ]


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


# -- the rule -----------------------------------------------------------------------------------


def test_the_stride_is_the_least_power_of_two_that_keeps_at_most_64() -> None:
    assert MAX_KEPT == 64
    assert [stride_for(n) for n in (0, 1, 64, 65, 128, 129, 256, 257, 1000)] == [
        1, 1, 1, 2, 2, 4, 4, 8, 16,
    ]  # fmt: skip
    for n in range(1, 3000, 7):
        s = stride_for(n)
        assert -(-n // s) <= MAX_KEPT and (s == 1 or -(-n // (s // 2)) > MAX_KEPT)


def test_one_entry_at_a_time_the_page_holds_at_most_65_of_a_key_evenly_spaced() -> None:
    sink, page, clock = Recorder(), Page(), Clock()
    sender = MediaSender(sink, None, clock=clock)
    for r in rows(1000):
        clock.t += 0.01
        sender.send([r])
    page.feed(sink.sent)
    assert page.most_held <= MAX_KEPT + 1
    assert sorted(page.kept["k"]) == list(range(0, 1000, 16))
    # The stride doubled each time the key would hold a 65th entry, and the page was told.
    thins = [c["stride"] for c, _ in sink.of("media-thin")]
    assert thins == [2, 4, 8, 16]
    assert sender.stride("k") == 16 and sender.seq == 1000
    # Every kept entry sent was on the stride of its time: 65 + 4 x 32 minus the steps past 999.
    kept = [e for c, _ in sink.of("media") for e in c["entries"] if e["keep"]]
    assert len(kept) == 64 + 1 + 32 + 32 + 32 + 30
    assert all(e["index"] == e["step"] for e in kept)


def test_a_batch_sends_only_what_its_own_thinning_keeps() -> None:
    sink, page = Recorder(), Page()
    MediaSender(sink, None).send(rows(1000))
    page.feed(sink.sent)
    # One thin message for the key (the stride it ends at), then the kept entries and the
    # newest one between them: nothing sent to be dropped at once.
    assert [c for c, _ in sink.of("media-thin")] == [media_thin_message("k", 16)]
    (media,) = sink.of("media")
    entries = media[0]["entries"]
    assert [e["index"] for e in entries if e["keep"]] == list(range(0, 1000, 16))
    assert [(e["index"], e["keep"]) for e in entries if not e["keep"]] == [(999, False)]
    # The same page state as one entry at a time.
    one_by_one, other = Recorder(), Page()
    sender = MediaSender(one_by_one, None)
    for r in rows(1000):
        sender.send([r], final=r.seq == 1000)
    other.feed(one_by_one.sent)
    assert sorted(other.kept["k"]) == sorted(page.kept["k"])
    assert other.latest["k"]["index"] == page.latest["k"]["index"] == 999


def test_the_newest_entry_between_kept_ones_goes_at_most_every_two_seconds() -> None:
    sink, page, clock = Recorder(), Page(), Clock()
    sender = MediaSender(sink, None, clock=clock)
    sender.send(rows(100))  # stride 2: 99 is off-stride, sent at once (none sent before)
    page.feed(sink.sent)
    assert page.latest["k"]["index"] == 99 and not page.latest["k"]["keep"]
    sink.sent.clear()
    clock.t += LATEST_EVERY_S / 2
    sender.send(rows(1, first_seq=101))  # index 100: kept; the shown newest is dropped
    sender.send(rows(1, first_seq=102))  # index 101: off-stride, but 1 s since the last
    page.feed(sink.sent)
    assert "k" not in page.latest and max(page.kept["k"]) == 100
    assert sender.pending
    sink.sent.clear()
    sender.send([])  # nothing new, 1 s: still waiting
    assert sink.sent == []
    clock.t += LATEST_EVERY_S / 2
    sender.send([])  # 2 s: the waiting one goes
    page.feed(sink.sent)
    assert page.latest["k"]["index"] == 101 and not sender.pending
    # A run that ended sends its last entry at once, 2 s or not.
    sink.sent.clear()
    sender.send(rows(2, first_seq=103)[1:], final=True)  # index 102: kept
    sender.send(rows(3, first_seq=104)[2:], final=True)  # index 103: off-stride, final
    page.feed(sink.sent)
    assert page.latest["k"]["index"] == 103


def test_keys_are_thinned_each_on_its_own() -> None:
    sink, page = Recorder(), Page()
    sender = MediaSender(sink, None)
    both = [r for i in range(150) for r in (rows(1, "a", 2 * i + 1)[0], rows(1, "b", 2 * i + 2)[0])]
    sender.send(both)
    sender.send(rows(10, "c", 1000))
    page.feed(sink.sent)
    assert {k: sender.stride(k) for k in "abc"} == {"a": 4, "b": 4, "c": 1}
    assert len(page.kept["c"]) == 10


# -- the messages -------------------------------------------------------------------------------


def test_the_files_that_go_with_each_kind() -> None:
    t, m, c, f, v, h = ("0" * 63 + x + ".png" for x in "tmcfvh")
    image = {"items": [{"file": f, "thumb": t, "masks": [{"file": f, "thumb": m}], "boxes": []}]}
    assert media_file_names("image", image) == [t, m]
    table = {
        "columns": ["img", "n"],
        "types": ["image", "number"],
        "rows": 2,
        "data": [
            [{"_type": "image", "file": f, "thumb": c}, 1],
            [{"_type": "image", "file": f, "thumb": c}, 2],
        ],
    }
    assert media_file_names("table", table) == [c]  # the same cell image once
    assert media_file_names("plot", {"plot": "bar", "fields": {}, "table": table}) == [c]
    video = {"items": [{"file": f, "thumb": v}, {"file": f, "thumb": None}]}
    assert media_file_names("video", video) == [v]
    assert media_file_names("audio", {"items": [{"file": f, "format": "wav"}]}) == []
    small = {"items": [{"file": h, "bytes": HTML_INLINE_BYTES, "caption": None}]}
    big = {"items": [{"file": h, "bytes": HTML_INLINE_BYTES + 1, "caption": None}]}
    assert media_file_names("html", small) == [h]
    assert media_file_names("html", big) == []


def test_a_media_message_is_strict_json_and_skips_what_it_cannot_send(tmp_path: Path) -> None:
    files = MediaFiles(tmp_path)
    have = small_item(files, digit_png(0, 0))
    gone = {**have, "thumb": "f" * 64 + ".png"}  # a valid name the store does not hold
    bad = {**have, "thumb": "../nbtrack.db"}
    nan = {"_type": "float", "value": "nan"}
    from nbtrack.widget._protocol import MediaOut

    entries = [
        MediaOut("img", 3, "image", 0, True, {"items": [have, gone, bad]}),
        MediaOut(
            "t",
            3,
            "table",
            0,
            False,
            {"columns": ["x"], "types": ["number"], "rows": 1, "data": [[nan]]},
        ),
    ]
    sent: set[str] = set()
    content, buffers = media_message(entries, sent, files)
    json.dumps(content, allow_nan=False)
    assert content["files"] == [have["thumb"]] and buffers == [files.read(have["thumb"])]
    assert sent == {have["thumb"]}
    assert [(e["key"], e["index"], e["keep"]) for e in content["entries"]] == [
        ("img", 0, True),
        ("t", 0, False),
    ]
    # Sent before: not again. No files at all for a page that loads them by URL.
    assert media_message(entries, sent, files)[0]["files"] == []
    assert media_message(entries, None, None) == ({**content, "files": []}, [])


def test_the_docstring_examples_hold() -> None:
    import doctest

    from nbtrack.widget import _media, _protocol

    for fn in (
        _protocol.media_file_names,
        _protocol.media_message,
        _protocol.media_thin_message,
        _protocol.media_file_reply,
        _media.stride_for,
        _media.answer_file_request,
    ):
        runner = doctest.DocTestRunner()
        for t in doctest.DocTestFinder().find(fn, globs=vars(_protocol) | vars(_media)):
            runner.run(t)
        assert runner.summarize(verbose=False).failed == 0, fn.__name__


# -- the feeds, on a real store -----------------------------------------------------------------


def media_bytes(messages: Sequence[Message]) -> int:
    return sum(len(b) for c, bufs in messages if c["type"] == "media" for b in bufs)


@pytest.mark.slow  # 16,000 files to write: seconds
def test_a_thousand_steps_of_16_images_send_under_2_mb(store_dir: Path) -> None:
    """A run followed as it trains: 1,000 steps of 16 distinct 28x28 digits (~300 bytes
    each: 4.6 MB of thumbnails in the store), stored 10 steps at a time, the feed polling
    after each."""
    from nbtrack.widget._dashboard import StoreFeed

    run = nbtrack.init(project="budget", display=False)
    run.log({"loss": 1.0})
    link(run).flush()
    rk = link(run).rk
    sink, page = Recorder(), Page()
    with Api(store_dir) as api:
        feed = StoreFeed(sink, api.run(run.path), follow=False)
        for first in range(0, 1000, 10):
            write_digits(store_dir, rk, range(first, first + 10))
            feed.poll()
        run.finish(quiet=True)
        feed.poll()
    page.feed(sink.sent)
    stored = sum(p.stat().st_size for p in (store_dir / "media").rglob("*.png"))
    assert stored > 4_000_000
    sent = media_bytes(sink.sent)
    assert 0 < sent < 2_000_000, sent
    assert page.most_held <= MAX_KEPT + 1
    # The run's last step is on the page, kept or as the newest.
    shown = page.latest.get("preds") or page.kept["preds"][max(page.kept["preds"])]
    assert shown["step"] == 999
    # Each entry came with its 16 thumbnails (`Page` checks), each sent once: the bytes are
    # those of the entries sent, about 190 of the 1,000 (stride 1, 2, 4, 8, then 16).
    sent_entries = [e for c, _ in sink.of("media") for e in c["entries"]]
    assert len(page.files) == 16 * len(sent_entries) < 16 * 200
    assert feed.media_seq > 0


def test_a_dashboard_of_a_finished_run_gets_its_media_thinned_with_every_thumbnail_once(
    store_dir: Path,
) -> None:
    from nbtrack.widget._dashboard import StoreFeed

    run = finished_run()
    rk = link(run).rk
    with contextlib.closing(Store(store_dir)) as store:
        files = store.media_files
        same = small_item(files, digit_png(0, 0), caption="the same every step")
        store.write_media(
            rk,
            [
                Encoded("photo", s, "image", {"items": [photo_item(files, s), same]})
                for s in range(300)
            ]
            + [Encoded("one", 0, "image", {"items": [same]})],
        )
    sink, page = Recorder(), Page()
    with Api(store_dir) as api:
        StoreFeed(sink, api.run(run.path), follow=False)
    page.feed(sink.sent)
    assert sorted(page.kept["photo"]) == list(range(0, 300, 8))
    assert page.latest["photo"]["index"] == 299
    # The image logged at every step crossed once; thumbnails only, never a full photo.
    assert page.files[same["thumb"]] == digit_png(0, 0)
    names = [n for c, _ in sink.of("media") for n in c["files"]]
    assert len(names) == len(set(names)) == 38 + 1 + 1
    for e in page.kept["photo"].values():
        full, thumb = e["payload"]["items"][0]["file"], e["payload"]["items"][0]["thumb"]
        assert thumb in page.files and page.files[thumb][:2] == b"\xff\xd8"  # a JPEG
        assert full not in page.files
    # Another page (another dashboard) has nothing yet: it gets them again.
    again = Recorder()
    with Api(store_dir) as api:
        StoreFeed(again, api.run(run.path), follow=False)
    assert [n for c, _ in again.of("media") for n in c["files"]] == names


def test_a_run_without_media_sends_no_media_messages(store_dir: Path) -> None:
    from nbtrack.widget._dashboard import StoreFeed

    run = finished_run()
    sink = Recorder()
    with Api(store_dir) as api:
        feed = StoreFeed(sink, api.run(run.path), follow=False)
        feed.poll()
    assert sink.of("media") == [] and sink.of("media-thin") == []
    assert sink.of("points")  # the rest as ever


def widget_of(run_id: str) -> tuple[Any, Recorder]:
    """A real Dashboard whose messages go to a Recorder, and whose page messages the test sends."""
    from nbtrack.widget._dashboard import Dashboard

    widget = Dashboard(run_id)
    sink = Recorder()
    widget.send = sink.send  # type: ignore[method-assign]
    widget.on_msg = sink.handlers.append  # type: ignore[method-assign]
    return widget, sink


def ask(widget: Any, sink: Recorder, request: Any) -> list[Message]:
    """Send the page's message `request` to every handler; the replies."""
    before = len(sink.sent)
    for handler in sink.handlers:
        handler(widget, request, [])
    return sink.sent[before:]


def test_the_page_gets_a_full_file_by_name_and_an_error_for_a_bad_one(store_dir: Path) -> None:
    from nbtrack.widget._dashboard import StoreFeed

    run = finished_run()
    with contextlib.closing(Store(store_dir)) as store:
        item = photo_item(store.media_files, 0)
        store.write_media(link(run).rk, [Encoded("photo", 0, "image", {"items": [item]})])
    widget, sink = widget_of(run.id)
    with Api(store_dir) as api:
        StoreFeed(widget, api.run(run.path), follow=False)
    (reply,) = ask(widget, sink, {"type": "media-file", "id": 7, "name": item["file"]})
    content, buffers = reply
    assert content == {
        "type": "media-file",
        "id": 7,
        "name": item["file"],
        "mime": "image/png",
        "error": None,
    }
    assert buffers == [photo(0)[0]]
    for name, why in (
        ("../nbtrack.db", "is not a media file name"),
        ("a" * 64 + ".exe", "is not a media file name"),
        (7, "is not a media file name"),
        ("b" * 64 + ".png", "no media file"),
    ):
        ((content, buffers),) = ask(widget, sink, {"type": "media-file", "id": 8, "name": name})
        assert content["id"] == 8 and why in content["error"] and buffers == [], name
    # Not a request for a file (the Share panel's, or junk): no answer from here.
    assert all(c["type"] != "media-file" for c, _ in ask(widget, sink, {"type": "share-grant"}))
    assert answer_file_request({"type": "media-file", "name": item["file"]}, None) is None
    assert answer_file_request(["media-file"], None) is None
    assert media_file_reply(1, item["file"], None, "gone")[0]["error"] == "gone"


def test_a_live_dashboard_sends_the_media_the_writer_stored(store_dir: Path) -> None:
    from nbtrack.widget._dashboard import LiveFeed

    run = nbtrack.init(project="live-media", display=False)
    run.log({"loss": 1.0})
    link(run).flush()
    widget, sink = widget_of(run.id)
    feed = LiveFeed(widget, run)
    assert sink.of("media") == []
    write_digits(store_dir, link(run).rk, range(3), n=2)
    run.log({"loss": 0.5})
    feed.flush()
    page = Page()
    page.feed(sink.sent)
    assert sorted(page.kept["preds"]) == [0, 1, 2]
    assert len(page.files) == 6
    # Nothing new: no media message.
    before = len(sink.of("media"))
    feed.flush()
    assert len(sink.of("media")) == before
    # The full file, from the live dashboard too.
    name = page.kept["preds"][1]["payload"]["items"][0]["file"]
    ((content, buffers),) = ask(widget, sink, {"type": "media-file", "id": 1, "name": name})
    assert content["error"] is None and buffers == [digit_png(1, 0)]
    # Stored after the last flush, before the run ended: the end's flush sends it.
    write_digits(store_dir, link(run).rk, range(3, 5), n=2)
    run.finish(quiet=True)
    page = Page()
    page.feed(sink.sent)
    assert sorted(page.kept["preds"]) == [0, 1, 2, 3, 4]


# -- nbtrack ui ---------------------------------------------------------------------------------


@pytest.fixture
def ui_store(store_dir: Path) -> tuple[Path, nbtrack.Run]:
    pytest.importorskip("uvicorn", reason="nbtrack ui needs the server extra")
    pytest.importorskip("fastapi", reason="nbtrack ui needs the server extra")
    run = finished_run(project="ui-media")
    write_digits(store_dir, link(run).rk, range(100), n=2)
    with contextlib.closing(Store(store_dir)) as store:
        store.write_media(
            link(run).rk,
            [
                Encoded("photo", 0, "image", {"items": [photo_item(store.media_files, 0)]}),
                Encoded(
                    "page",
                    0,
                    "html",
                    {
                        "items": [
                            {
                                "file": store.media_files.put(b"<p>hi</p>", ".html"),
                                "bytes": 9,
                                "caption": None,
                            }
                        ]
                    },
                ),
            ],
        )
    return store_dir, run


@pytest.fixture
def ui(ui_store: tuple[Path, nbtrack.Run], tmp_path: Path) -> Iterator[Any]:
    from tests.ui_process import start_ui

    served = start_ui(ui_store[0], tmp_path, "--no-browser")
    yield served
    code, out = served.stop()
    assert code == 0, out


@pytest.mark.slow
def test_nbtrack_ui_serves_the_media_files_its_run_pages_stream_names(
    ui: Any, ui_store: tuple[Path, nbtrack.Run]
) -> None:
    from tests.test_ui import sse_events

    root, run = ui_store
    page = ui.get(f"/{run.project}/runs/{run.id}")
    assert page.status_code == 200
    assert 'data-media-url="/media/{name}"' in page.text
    url = ui.url.rstrip("/") + f"/{run.project}/runs/{run.id}/events"
    with contextlib.closing(sse_events(url)) as events:
        event_id, msgs = next(events)
    media = [m["content"] for m in msgs if m["content"]["type"] == "media"]
    thin = [m["content"] for m in msgs if m["content"]["type"] == "media-thin"]
    # The thumbnails come in the stream, each once, as a notebook is sent them.
    files = MediaFiles(root)
    sent = {
        name: data
        for m in msgs
        if m["content"]["type"] == "media"
        for name, data in zip(m["content"]["files"], m["buffers"], strict=True)
    }
    assert media and sent
    assert all(data == files.read(name) for name, data in sent.items())
    assert sum(len(c["files"]) for c in media) == len(sent)
    assert thin == [media_thin_message("preds", 2)]
    entries = [e for c in media for e in c["entries"]]
    assert sorted(e["index"] for e in entries if e["key"] == "preds" and e["keep"]) == list(
        range(0, 100, 2)
    )
    assert event_id is not None and event_id.count(".") == 2
    assert {e["payload"]["items"][0]["thumb"] for e in entries if e["kind"] == "image"} <= set(sent)
    # Every name an entry gives loads from /media/<name>, as the page asks for it.
    photo_entry = next(e for e in entries if e["key"] == "photo")["payload"]["items"][0]
    for name in (
        photo_entry["file"],
        photo_entry["thumb"],
        entries[0]["payload"]["items"][0]["thumb"],
    ):
        r = ui.get(f"/media/{name}")
        assert r.status_code == 200
        assert r.content == files.read(name)
        assert r.headers["content-type"] == ("image/jpeg" if name.endswith(".jpg") else "image/png")
        assert (
            "immutable" in r.headers["cache-control"]
            and "max-age=31536000" in r.headers["cache-control"]
        )
        assert r.headers["x-content-type-options"] == "nosniff"
    html_name = next(e for e in entries if e["key"] == "page")["payload"]["items"][0]["file"]
    r = ui.get(f"/media/{html_name}")
    assert r.text == "<p>hi</p>" and r.headers["content-security-policy"] == "sandbox"
    # Nothing else of the store, whatever the name.
    for bad in ("..%2Fnbtrack.db", "nbtrack.db", "c" * 64 + ".png", "C" * 64 + ".png", "x.png"):
        r = ui.get(f"/media/{bad}")
        assert r.status_code == 404, bad
        assert b"SQLite" not in r.content
    # A page that reconnects with its last id gets no entry twice.
    with contextlib.closing(sse_events(url, {"Last-Event-ID": event_id})) as events:
        again, msgs = next(events)
    assert [m for m in msgs if m["content"]["type"] in ("media", "media-thin")] == []
    assert again == event_id


def test_a_live_dashboard_of_images_logged_with_nbtrack_image(store_dir: Path) -> None:
    """End to end: `nbtrack.Image` through log() and the writer, read back by the live feed."""
    import numpy as np
    from PIL import Image as PILImage

    from nbtrack.widget._dashboard import LiveFeed

    run = nbtrack.init(project="live-images", display=False)
    widget, sink = widget_of(run.id)
    feed = LiveFeed(widget, run)
    rng = np.random.default_rng(5)
    logged = {}
    for step in range(100):
        logged[step] = rng.integers(0, 255, (2, 16, 16, 3), dtype=np.uint8)
        run.log({"loss": 1.0, "samples": [nbtrack.Image(a) for a in logged[step]]})
    link(run).flush()  # the writer has encoded and stored them all
    feed.flush()
    run.finish(quiet=True)
    page = Page()
    page.feed(sink.sent)
    assert sorted(page.kept["samples"]) == list(range(0, 100, 2))
    assert page.latest["samples"]["step"] == 99
    for e in [*page.kept["samples"].values(), page.latest["samples"]]:
        for i, item in enumerate(e["payload"]["items"]):
            px = np.asarray(PILImage.open(io.BytesIO(page.files[item["thumb"]])))
            assert np.array_equal(px, logged[e["step"]][i])

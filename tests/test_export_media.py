"""Media in the HTML export (``nbtrack/export.py``): the file holds the media messages a
dashboard gets, thinned by the live rule, with the bytes of every thumbnail they name and no
full-size file, so a 1,000-step run of images stays a small file. The page drawing them in
Chromium is the browser suite's.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nbtrack
from nbtrack._run import link
from nbtrack.export import DATA_ID, export_run
from nbtrack.store.db import Store
from nbtrack.store.media_files import MediaFiles
from nbtrack.widget._protocol import HTML_INLINE_BYTES, media_file_names
from tests.test_media_widget import (
    Encoded,
    Page,
    finished_run,
    photo_item,
    put,
    write_digits,
)

Message = tuple[dict[str, Any], list[bytes]]


def data_messages(path: Path) -> list[Message]:
    """The messages of the file's data element, buffers decoded (as js/page.ts reads them)."""
    text = path.read_text(encoding="utf-8")
    m = re.search(rf'<script type="application/json" id="{DATA_ID}">(.*?)</script>', text, re.S)
    assert m is not None, "no data element"
    return [
        (msg["content"], [base64.b64decode(b) for b in msg["buffers"]])
        for msg in json.loads(m.group(1))["messages"]
    ]


def media_of(messages: list[Message]) -> list[Message]:
    return [(c, b) for c, b in messages if c["type"] in ("media", "media-thin")]


@pytest.mark.slow  # 2,000 files to write, a file with BokehJS and the bundle to read back
def test_a_thousand_step_run_exports_its_thumbnails_thinned_and_no_full_file(
    store_dir: Path, tmp_path: Path
) -> None:
    run = finished_run(project="export-media", steps=1000)
    rk = link(run).rk
    write_digits(store_dir, rk, range(1000), n=2)
    with contextlib.closing(Store(store_dir)) as store:
        files = store.media_files
        html_small = put(files, b"<h1>report</h1>", ".html")
        html_big = put(files, b"<p>" + b"x" * HTML_INLINE_BYTES + b"</p>", ".html")
        cell = {"_type": "image", **photo_item(files, 7)}
        store.write_media(
            rk,
            [
                Encoded("photo", s, "image", {"items": [photo_item(files, s)]})
                for s in range(0, 1000, 20)
            ]
            + [
                Encoded(
                    "samples",
                    999,
                    "table",
                    {
                        "columns": ["img", "n"],
                        "types": ["image", "number"],
                        "rows": 1,
                        "data": [[cell, 3]],
                    },
                ),
                Encoded(
                    "pages",
                    999,
                    "html",
                    {
                        "items": [
                            {"file": html_small, "bytes": 15, "caption": None},
                            {"file": html_big, "bytes": HTML_INLINE_BYTES + 7, "caption": None},
                        ]
                    },
                ),
            ],
        )
    out = export_run(run.path, tmp_path / "run.html")
    messages = data_messages(out)
    page = Page()  # checks that every entry came with its thumbnails, each file once
    page.feed(media_of(messages))

    assert sorted(page.kept["preds"]) == list(range(0, 1000, 16))
    assert page.latest["preds"]["step"] == 999  # the run's last step, between kept ones
    assert sorted(page.kept["photo"]) == list(range(50))  # 50 entries: all kept
    assert page.most_held <= 65
    # Thumbnails, as the store holds them; full files never (the photos' PNGs, the big page).
    stored = MediaFiles(store_dir)
    for name, data in page.files.items():
        assert data == stored.read(name)
    for e in page.kept["photo"].values():
        item = e["payload"]["items"][0]
        assert item["thumb"] in page.files and item["file"] not in page.files
    assert cell["thumb"] in page.files and cell["file"] not in page.files
    assert html_small in page.files and html_big not in page.files
    # Small: the 2,000 digits and 50 photos in the store, ~130 digits and 50 thumbnails here.
    sent = sum(len(b) for b in page.files.values())
    in_store = sum(p.stat().st_size for p in (store_dir / "media").rglob("*.*"))
    assert sent < in_store / 4
    assert (
        sum(len(media_file_names(e["kind"], e["payload"])) for e in page.kept["preds"].values())
        == 2 * 63
    )
    # The rest of the dashboard is there as ever.
    assert any(c["type"] == "points" for c, _ in messages)


def test_a_run_logged_with_nbtrack_images_exports_them(store_dir: Path, tmp_path: Path) -> None:
    """End to end: `nbtrack.Image` through log(), the writer's encoding, the store, the
    export; the thumbnails in the file are the pixels logged."""
    from PIL import Image as PILImage

    run = nbtrack.init(project="export-images", display=False)
    rng = np.random.default_rng(3)
    logged = {}
    for step in range(80):
        batch = rng.integers(0, 255, (3, 20, 24), dtype=np.uint8)
        logged[step] = batch
        run.log(
            {
                "loss": 1.0 / (step + 1),
                "preds": [nbtrack.Image(a, caption=f"#{i}") for i, a in enumerate(batch)],
            }
        )
    run.finish(quiet=True)
    out = export_run(run.path, tmp_path / "run.html")
    page = Page()
    page.feed(media_of(data_messages(out)))
    assert sorted(page.kept["preds"]) == list(range(0, 80, 2))
    assert page.latest["preds"]["step"] == 79
    for e in [*page.kept["preds"].values(), page.latest["preds"]]:
        items = e["payload"]["items"]
        assert [it["caption"] for it in items] == ["#0", "#1", "#2"]
        for i, it in enumerate(items):
            # Smaller than 128 px: the thumbnail is the exact PNG of the logged pixels.
            px = np.asarray(PILImage.open(io.BytesIO(page.files[it["thumb"]])))
            assert np.array_equal(px, logged[e["step"]][i])

"""A run opened under a compare view: its dashboard's media come in the run's envelope, and
the page's requests for a full-size file, sent in that envelope too, are answered from the
run's own media files (the envelope back, the bytes as the one buffer)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import nbtrack
from nbtrack._interface import RunProtocol
from nbtrack.api import Api
from nbtrack.widget._compare import ProjectFeed
from tests.helpers import Recorder


def logged_photo_run(project: str) -> tuple[RunProtocol, np.ndarray[Any, Any]]:
    run = nbtrack.init(project=project, display=False)
    photo = np.random.default_rng(5).integers(0, 256, (150, 200, 3), dtype=np.uint8)
    run.log({"loss": 1.0, "photo": nbtrack.Image(photo, caption="big")})
    run.finish(quiet=True)
    return run, photo


def test_an_opened_runs_media_file_requests_are_answered_in_its_envelope(
    store_dir: Path,
) -> None:
    run, photo = logged_photo_run("compare-media")
    other = nbtrack.init(project="compare-media", display=False)
    other.log({"loss": 2.0})
    other.finish(quiet=True)
    page = Recorder()
    feed = ProjectFeed(page, Api(store_dir), "compare-media", follow=False)
    try:
        page.ask({"type": "open", "run": run.id})
        media = [
            m for c, b in page.sent if c["type"] == "run" for m in [(c["message"], b)]
            if m[0]["type"] == "media"
        ]  # fmt: skip
        ((content, buffers),) = media
        (item,) = content["entries"][0]["payload"]["items"]
        assert item["file"] != item["thumb"]  # 200 px wide: a thumbnail of its own
        assert content["files"] == [item["thumb"]] and len(buffers) == 1

        (reply,) = page.ask(
            {
                "type": "run",
                "run": run.id,
                "message": {"type": "media-file", "id": 4, "name": item["file"]},
            }
        )
        assert reply[0] == {
            "type": "run",
            "run": run.id,
            "message": {
                "type": "media-file", "id": 4, "name": item["file"], "mime": "image/png",
                "error": None,
            },
        }  # fmt: skip
        with Api(store_dir) as api:
            ((step, (image,)),) = api.run(run.path).media("photo")
            assert step == 0 and reply[1] == [image.data]
            np.testing.assert_array_equal(image.numpy(), photo)

        # A bad name, a file the store lacks, a run that is not open: an answer with the
        # reason, never silence (the page waits on its id).
        for run_id, name, why in (
            (run.id, "../nbtrack.db", "is not a media file name"),
            (run.id, "e" * 64 + ".png", "no media file"),
            (other.id, item["file"], "is not stored here"),
        ):
            msg = {"type": "media-file", "id": 9, "name": name}
            ((content, buffers),) = page.ask({"type": "run", "run": run_id, "message": msg})
            assert content["type"] == "run" and content["run"] == run_id
            assert content["message"]["id"] == 9 and why in content["message"]["error"]
            assert buffers == []
        # Not a file request, or no run named: nothing is answered.
        assert page.ask({"type": "run", "run": run.id, "message": {"type": "share-grant"}}) == []
        assert page.ask({"type": "run", "message": {"type": "media-file", "id": 1}}) == []
    finally:
        feed.stop()

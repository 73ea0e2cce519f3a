"""Media read back from a team server: a run logged with images and a table, synced by
`nbtrack sync`, reads back through ``nbtrack.Api(host=...)`` as it does from the store that
logged it (the pixels, the masks, the cells), its files downloaded once into the media cache
and checked; an export of the server's run holds its thumbnails; a compare view's opened
server run answers the page's requests for full files."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nbtrack
from nbtrack._interface import RunProtocol
from nbtrack.export import export_run
from nbtrack.sync import frames
from tests.helpers import Recorder
from tests.server.copies import nbtrack_cli, sync_env
from tests.server.servers import ServerProcess, User
from tests.test_export_media import data_messages, media_of
from tests.test_media_widget import Page

pytestmark = pytest.mark.server

PROJECT = "remote-media"


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The media cache of this test (never the user's own)."""
    path = tmp_path / "cache"
    monkeypatch.setenv("NBTRACK_CACHE_DIR", str(path))
    return path


def mask_of() -> np.ndarray[Any, Any]:
    mask = np.zeros((150, 200), np.int64)
    mask[:50] = 1
    mask[100:, 150:] = 2
    return mask


def logged_run() -> tuple[RunProtocol, list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]]:
    """A finished offline run: 3 steps of a small gray image and a 200x150 photo with a mask
    (a thumbnail of its own), then a table with an image cell, a NaN and unicode."""
    run = nbtrack.init(project=PROJECT, mode="offline", display=False)
    rng = np.random.default_rng(11)
    logged = []
    labels = {0: "bg", 1: "top", 2: "corner"}
    for step in range(3):
        gray = rng.integers(0, 256, (8, 8), dtype=np.uint8)
        photo = rng.integers(0, 256, (150, 200, 3), dtype=np.uint8)
        logged.append((gray, photo))
        seg = {"seg": {"mask_data": mask_of(), "class_labels": labels}}
        run.log(
            {
                "loss": 1.0 / (step + 1),
                "preds": [
                    nbtrack.Image(gray, caption=f"g{step}"),
                    nbtrack.Image(photo, masks=seg),
                ],
            }
        )
    table = nbtrack.Table(columns=["id", "score", "img"])
    table.add_data("a", float("nan"), nbtrack.Image(logged[0][0]))
    table.add_data("é", 0.5, None)
    run.log({"samples": table})
    run.finish(quiet=True)
    return run, logged


def synced_run(
    server: ServerProcess, tmp_path: Path, store_dir: Path
) -> tuple[User, RunProtocol, list[Any]]:
    user = server.create_user("ada")
    run, logged = logged_run()
    env = sync_env(server, user.key, tmp_path / "config", NBTRACK_DIR=str(store_dir))
    res = nbtrack_cli("sync", "--all", env=env)
    assert res.returncode == 0, res.stderr
    return user, run, logged


def test_a_synced_runs_images_and_table_read_back_from_the_server_as_logged(
    sqlite_server: ServerProcess, tmp_path: Path, store_dir: Path, cache_dir: Path
) -> None:
    user, run, logged = synced_run(sqlite_server, tmp_path, store_dir)
    with (
        nbtrack.Api(host=sqlite_server.url, key=user.key) as remote,
        nbtrack.Api(store_dir) as local,
    ):
        there = remote.run(f"{user.name}/{PROJECT}/{run.id}")
        here = local.run(f"{PROJECT}/{run.id}")
        assert there.media_keys() == here.media_keys() == {"preds": "image", "samples": "table"}

        preds = there.media("preds")
        assert [step for step, _ in preds] == [0, 1, 2]
        for (step, (gray, photo)), (gray_in, photo_in) in zip(preds, logged, strict=True):
            np.testing.assert_array_equal(gray.numpy(), gray_in)
            np.testing.assert_array_equal(photo.numpy(), photo_in)
            assert gray.caption == f"g{step}" and photo.caption is None
            np.testing.assert_array_equal(photo.masks["seg"]["mask_data"], mask_of())
            assert photo.masks["seg"]["class_labels"] == {0: "bg", 1: "top", 2: "corner"}
        ((step, table),) = there.media("samples", pandas=False)
        assert step == 3 and table["id"] == ["a", "é"]
        assert math.isnan(table["score"][0]) and table["score"][1] == 0.5
        np.testing.assert_array_equal(table["img"][0].numpy(), logged[0][0])
        assert table["img"][1] is None
        with pytest.raises(KeyError, match=r"'nope'.*preds, samples"):
            there.media("nope")

        # The rows by the logging store's own cursor, as the store gives them.
        rows, seq = there.media_since(0)
        assert (rows, seq) == here.media_since(0)
        assert there.media_since(rows[0].seq) == (rows[1:], seq)
        assert there.media_since(seq) == ([], seq)

        # Every file the rows name, byte for byte the store's, downloaded into the cache
        # (only there, once each, no temporary file left).
        names = {n for r in rows for n in frames.file_names(r.payload)}
        for name in names:
            assert there.media_files.read(name) == here.media_files.read(name)
        cached = sorted(p.name for p in (cache_dir / "media").rglob("*") if p.is_file())
        assert cached == sorted(names)
        lacking = "f" * 64 + ".png"
        with pytest.raises(FileNotFoundError, match=lacking):
            there.media_files.read(lacking)
        assert not there.media_files.exists(lacking) and there.media_files.exists(cached[0])
        with pytest.raises(ValueError, match="not a media file name"):
            there.media_files.read("../server.db")


def test_pages_of_a_server_run_get_its_thumbnails_and_full_files(
    sqlite_server: ServerProcess, tmp_path: Path, store_dir: Path
) -> None:
    from nbtrack.widget._compare import ProjectFeed

    user, run, _ = synced_run(sqlite_server, tmp_path, store_dir)
    path = f"{user.name}/{PROJECT}/{run.id}"

    # The export: the media messages the local store's export holds, thumbnails and all.
    there = export_run(path, tmp_path / "remote.html", host=sqlite_server.url, key=user.key)
    mine = export_run(f"{PROJECT}/{run.id}", tmp_path / "local.html", dir=store_dir)
    remote_media, local_media = media_of(data_messages(there)), media_of(data_messages(mine))
    page = Page()  # every entry came with the thumbnails it names, each once
    page.feed(remote_media)
    assert remote_media == local_media
    assert sorted(page.kept) == ["preds", "samples"] and len(page.files) >= 4

    # A compare view of the server's project: the opened run's full file, on request.
    with nbtrack.Api(store_dir) as local:
        ((_, (_, photo)), *_) = local.run(f"{PROJECT}/{run.id}").media("preds")
        full, data = photo.path.name, photo.data
    view = Recorder()
    feed = ProjectFeed(
        view, nbtrack.Api(host=sqlite_server.url, key=user.key), PROJECT, follow=False
    )
    try:
        opened = view.ask({"type": "open", "run": run.id})
        sent = [(c["message"], b) for c, b in opened if c["type"] == "run"]
        thumbs = {
            n: d
            for c, b in sent
            if c["type"] == "media"
            for n, d in zip(c["files"], b, strict=True)
        }
        assert thumbs == {n: page.files[n] for n in thumbs} and len(thumbs) == len(page.files)
        assert full not in thumbs
        request = {"type": "media-file", "id": 3, "name": full}
        ((content, buffers),) = view.ask({"type": "run", "run": run.id, "message": request})
        assert content == {
            "type": "run",
            "run": run.id,
            "message": {**request, "mime": "image/png", "error": None},
        }
        assert buffers == [data]
        # A name no row of the run names: the server has none for it, and says so.
        request = {"type": "media-file", "id": 4, "name": "0" * 64 + ".png"}
        ((content, buffers),) = view.ask({"type": "run", "run": run.id, "message": request})
        assert "no media file" in content["message"]["error"] and buffers == []
    finally:
        feed.stop()

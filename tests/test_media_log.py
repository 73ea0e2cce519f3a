"""Media through the whole local path: `log()` -> the writer -> the store -> the Api.

The types' own checks and encodings are tested in tests/test_media_types.py; here a real run
logs them, a real writer thread encodes them, and they are read back from the store.
"""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

import nbtrack
from nbtrack.store.db import DB_NAME
from nbtrack.store.media_files import MediaFiles
from tests.helpers import PYTHON, child_env


def _run(root: Path, **kw: object) -> nbtrack.Run:
    return nbtrack.init(project="media", dir=root, display=False, **kw)


def _pixels(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


def test_images_of_every_input_read_back_with_the_pixels_logged(tmp_path: Path) -> None:
    from PIL import Image as PILImage

    rng = np.random.default_rng(0)
    hw = _pixels(rng, (20, 30))
    hwc = _pixels(rng, (20, 30, 3))
    rgba = _pixels(rng, (20, 30, 4))
    chw = _pixels(rng, (3, 20, 30))
    floats = rng.random((20, 30)).astype(np.float32)
    pil = PILImage.fromarray(_pixels(rng, (12, 9, 3)), "RGB")
    png = tmp_path / "x.png"
    PILImage.fromarray(_pixels(rng, (16, 16)), "L").save(png)
    expected = {
        "hw": hw.copy(),
        "hwc": hwc,
        "rgba": rgba,
        "chw": chw.transpose(1, 2, 0),
        "floats": np.round(floats * 255).astype(np.uint8),
        "pil": np.asarray(pil),
        "path": np.asarray(PILImage.open(png)),
    }
    run = _run(tmp_path / "store")
    run.log(
        {
            "hw": nbtrack.Image(hw),
            "hwc": nbtrack.Image(hwc),
            "rgba": nbtrack.Image(rgba),
            "chw": nbtrack.Image(chw),
            "floats": nbtrack.Image(floats),
            "pil": nbtrack.Image(pil, caption="a PIL image"),
            "path": nbtrack.Image(str(png)),
            "loss": 0.5,
        }
    )
    # The caller may write into its arrays right after log(): what was logged is a copy.
    hw[:] = 0
    run.finish()
    with nbtrack.Api(tmp_path / "store") as api:
        rec = api.run(run.path)
        assert set(rec.media_keys()) == set(expected)
        assert set(rec.media_keys().values()) == {"image"}
        for key, want in expected.items():
            ((step, images),) = rec.media(key)
            assert step == 0
            np.testing.assert_array_equal(images[0].numpy(), want, err_msg=key)
        assert rec.media("pil")[0][1][0].caption == "a PIL image"
        assert rec.history(pandas=False)["loss"].tolist() == [0.5]


def test_torch_cpu_images_read_back(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(0)
    chw = torch.rand((3, 8, 10), generator=g)
    gray = torch.rand((8, 10), generator=g)
    run = _run(tmp_path)
    run.log({"t": [nbtrack.Image(chw), nbtrack.Image(gray)]})
    chw.zero_()  # in place, after log(): the logged image is a copy
    run.finish()
    with nbtrack.Api(tmp_path) as api:
        ((_, images),) = api.run(run.path).media("t")
    assert len(images) == 2
    want = np.round(
        torch.rand((3, 8, 10), generator=torch.Generator().manual_seed(0)).numpy() * 255
    )
    np.testing.assert_array_equal(images[0].numpy(), want.astype(np.uint8).transpose(1, 2, 0))
    assert images[1].numpy().shape == (8, 10)


def test_a_batch_of_torch_images_is_taken_in_one_copy_and_reads_back(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(1)
    batch = torch.rand((8, 1, 28, 28), generator=g, requires_grad=True)  # a model's output
    run = _run(tmp_path)
    run.log({"batch": [nbtrack.Image(x, caption=str(i)) for i, x in enumerate(batch)]})
    with torch.no_grad():
        expected = (batch.detach().numpy()[:, 0] * 255).round().astype(np.uint8)
        batch.zero_()  # in place, after log(): the logged images are a copy
    with pytest.raises(ValueError, match=r"'nan'.*NaN"):
        run.log({"nan": [nbtrack.Image(torch.full((1, 4, 4), float("nan"))) for _ in range(3)]})
    run.finish()
    with nbtrack.Api(tmp_path) as api:
        ((_, images),) = api.run(run.path).media("batch")
    assert [im.caption for im in images] == [str(i) for i in range(8)]
    for im, want in zip(images, expected, strict=True):
        np.testing.assert_array_equal(im.numpy(), want)


def test_a_list_of_images_per_step_keeps_order_steps_and_captions(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    batches = [[_pixels(rng, (28, 28)) for _ in range(16)] for _ in range(5)]
    run = _run(tmp_path)
    for epoch, batch in enumerate(batches):
        run.log(
            {
                "preds": [nbtrack.Image(x, caption=f"{epoch}-{i}") for i, x in enumerate(batch)],
                "epoch": epoch,
            }
        )
    run.finish()
    with nbtrack.Api(tmp_path) as api:
        rec = api.run(run.path)
        got = rec.media("preds")
        assert [s for s, _ in got] == [0, 1, 2, 3, 4]
        for (_, images), batch, epoch in zip(got, batches, range(5), strict=True):
            assert [im.caption for im in images] == [f"{epoch}-{i}" for i in range(16)]
            for im, x in zip(images, batch, strict=True):
                np.testing.assert_array_equal(im.numpy(), x)
        assert rec.history(pandas=False)["epoch"].tolist() == [0, 1, 2, 3, 4]


def test_the_same_image_logged_twice_is_kept_once(tmp_path: Path) -> None:
    x = _pixels(np.random.default_rng(2), (200, 300, 3))  # large enough for a thumbnail
    run = _run(tmp_path)
    for _ in range(3):
        run.log({"same": nbtrack.Image(x)})
    run.finish()
    files = [p for p in (tmp_path / "media").rglob("*") if p.is_file()]
    # One full PNG and one thumbnail, for three logged copies.
    assert len(files) == 2, files
    with nbtrack.Api(tmp_path) as api:
        rec = api.run(run.path)
        assert [s for s, _ in rec.media("same")] == [0, 1, 2]
        rows, _ = rec.media_since(0)
    names = {row.payload["items"][0]["file"] for row in rows}
    assert len(rows) == 3 and len(names) == 1 and MediaFiles(tmp_path).exists(names.pop())


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (lambda: nbtrack.Image(np.zeros(5, np.uint8)), "shape"),
        (lambda: nbtrack.Image(np.zeros((4, 4, 2), np.uint8)), "shape"),
        (lambda: nbtrack.Image(np.full((4, 4), np.nan, np.float32)), "NaN"),
        (lambda: nbtrack.Image(np.broadcast_to(np.uint8(0), (10_000, 10_000))), "pixels"),
        (lambda: nbtrack.Image("no/such/image.png"), "no/such/image.png"),
    ],
    ids=["1-d", "two-channels", "nan", "100-megapixels", "missing-file"],
)
def test_bad_media_is_refused_at_the_call_naming_the_key_and_loses_nothing(
    tmp_path: Path, value: object, words: str
) -> None:
    rng = np.random.default_rng(3)
    good = _pixels(rng, (8, 8))
    run = _run(tmp_path)
    run.log({"loss": 1.0, "img": nbtrack.Image(good)})
    with pytest.raises((TypeError, ValueError, FileNotFoundError)) as e:
        run.log({"loss": 2.0, "bad": value()})  # type: ignore[operator]
    assert "'bad'" in str(e.value) and words in str(e.value)
    run.log({"loss": 3.0, "img": nbtrack.Image(good)})
    run.finish()
    with nbtrack.Api(tmp_path) as api:
        rec = api.run(run.path)
        assert rec.state == "finished"
        # The refused call stored nothing, not even its good value; the steps go on.
        assert rec.history(pandas=False)["loss"].tolist() == [1.0, 3.0]
        assert [s for s, _ in rec.media("img")] == [0, 1]
        assert "bad" not in rec.media_keys()
        for _, images in rec.media("img"):
            np.testing.assert_array_equal(images[0].numpy(), good)


def test_text_that_is_not_unicode_is_refused_at_the_call(tmp_path: Path) -> None:
    bad = "x\ud800"  # a lone surrogate: no UTF-8 file can hold it
    x = np.zeros((4, 4), np.uint8)
    run = _run(tmp_path)
    cases = {
        "caption": lambda: nbtrack.Image(x, caption=bad),
        "captions": lambda: [nbtrack.Image(x), nbtrack.Image(x, caption=bad)],
        "cell": lambda: nbtrack.Table(columns=["a"], data=[["ok"], [bad]]),
        "column": lambda: nbtrack.Table(columns=[bad], data=[[1]]),
        "chart": lambda: nbtrack.plot.bar(
            nbtrack.Table(columns=["l", "v"], data=[["a", 1]]), "l", "v", title=bad
        ),
    }
    for key, make in cases.items():
        with pytest.raises(ValueError, match=rf"key '{key}'.*not valid Unicode"):
            run.log({key: make(), "n": 1.0})
    run.log({"n": 2.0})
    run.finish()
    with nbtrack.Api(tmp_path) as api:
        rec = api.run(run.path)
        assert rec.media_keys() == {}
        assert rec.history(pandas=False)["n"].tolist() == [2.0]


def test_an_image_whose_file_goes_away_before_encoding_is_left_out_with_a_warning(
    tmp_path: Path,
) -> None:
    from PIL import Image as PILImage

    path = tmp_path / "frame.png"
    PILImage.fromarray(np.zeros((4, 4), np.uint8)).save(path)
    store = tmp_path / "store"
    run = _run(store)
    link = nbtrack._run.link(run)
    link.flush()
    run.log({"frame": nbtrack.Image(str(path)), "other": nbtrack.Image(np.ones((4, 4), np.uint8))})
    path.unlink()  # gone before the writer reads it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run.finish()
    with nbtrack.Api(store) as api:
        rec = api.run(run.path)
        keys = rec.media_keys()
    assert "other" in keys
    if "frame" not in keys:  # the writer got to it after the file was gone
        assert any("'frame'" in str(w.message) and "step 0" in str(w.message) for w in caught)


def test_a_table_and_a_plot_read_back(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(4)
    run = _run(tmp_path)
    table = nbtrack.Table(columns=["image", "label", "score"])
    for i in range(3):
        table.add_data(nbtrack.Image(_pixels(rng, (6, 6))), f"c{i}", i / 2)
    run.log({"preds": table})
    table.add_data(nbtrack.Image(_pixels(rng, (6, 6))), "later", 9.0)  # after log: not logged
    y_true = [0, 1, 1, 0, 1]
    preds = [0, 1, 0, 0, 1]
    run.log(
        {"cm": nbtrack.plot.confusion_matrix(y_true=y_true, preds=preds, class_names=["a", "b"])}
    )
    run.finish()
    with nbtrack.Api(tmp_path) as api:
        rec = api.run(run.path)
        ((step, df),) = rec.media("preds")
        assert step == 0 and isinstance(df, pd.DataFrame)
        assert df["label"].tolist() == ["c0", "c1", "c2"]
        assert df["score"].tolist() == [0.0, 0.5, 1.0]
        assert df["image"][0].numpy().shape == (6, 6)
        ((step, plot),) = rec.media("cm")
        assert step == 1 and plot.plot == "confusion_matrix"
        ((_, plain),) = rec.media("preds", pandas=False)
        assert plain["label"] == ["c0", "c1", "c2"]
        with pytest.raises(KeyError, match="preds"):
            rec.media("nope")


def test_a_flood_past_the_backlog_bound_waits_for_the_writer_and_is_all_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A small bound, so the flood passes it many times: log() then waits for the writer.
    monkeypatch.setattr(nbtrack._run, "MEDIA_BACKLOG_BYTES", 64 << 10)
    rng = np.random.default_rng(5)
    batch = [_pixels(rng, (28, 28)) for _ in range(16)]
    run = _run(tmp_path)
    steps = 300
    for step in range(steps):
        run.log({"preds": [nbtrack.Image(x) for x in batch], "loss": float(step)})
    run.finish()
    with nbtrack.Api(tmp_path) as api:
        rec = api.run(run.path)
        got = rec.media("preds")
        assert [s for s, _ in got] == list(range(steps))
        assert all(len(images) == 16 for _, images in got)
        assert rec.history(pandas=False)["loss"].tolist() == [float(s) for s in range(steps)]
    # 16 distinct images, each kept once however often it was logged.
    assert len(list((tmp_path / "media").rglob("*.png"))) == 16


_KILLED = """
import os, sys, time, numpy as np, nbtrack
run = nbtrack.init(project="media", dir=sys.argv[1], display=False)
x = np.arange(64, dtype=np.uint8).reshape(8, 8)
for step in range(20):
    run.log({"img": nbtrack.Image(x + step), "loss": float(step)})
nbtrack._run.link(run).flush()
print("flushed", flush=True)
time.sleep(60)
"""


def test_media_committed_before_a_kill_survive_it(tmp_path: Path) -> None:
    p = subprocess.Popen(
        [PYTHON, "-c", _KILLED, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=child_env()
    )
    try:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "flushed"
    finally:
        p.kill()
        p.wait(30)
        if p.stdout is not None:
            p.stdout.close()
    with nbtrack.Api(tmp_path) as api:
        (rec,) = api.runs("media")
        got = rec.media("img")
    assert [s for s, _ in got] == list(range(20))
    for step, images in got:
        np.testing.assert_array_equal(
            images[0].numpy(), np.arange(64, dtype=np.uint8).reshape(8, 8) + step
        )


def test_a_store_of_the_layout_before_media_reads_as_having_none(tmp_path: Path) -> None:
    import sqlite3

    run = _run(tmp_path)
    run.log({"loss": 1.0})
    run.finish()
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.execute("DROP TABLE media")
    conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with nbtrack.Api(tmp_path) as api:
        rec = api.run(run.path)
        assert rec.media_keys() == {}
        assert rec.media_since(0) == ([], 0)


def test_a_dashboards_batches_keep_their_media_after_the_writer_took_them(
    tmp_path: Path,
) -> None:
    # A live dashboard counts the media of the batches it is handed (to know the writer has
    # some still to store): the writer must not empty the batch the sinks share.
    run = _run(tmp_path)
    link = nbtrack._run.link(run)
    q = link.subscribe()
    run.log({"img": nbtrack.Image(np.zeros((4, 4), np.uint8))})
    run.log({"img": nbtrack.Image(np.ones((4, 4), np.uint8)), "loss": 1.0})
    link.flush()  # the writer has drained, taken and stored both
    assert sum(len(b.media) for b in q) == 2
    link.unsubscribe(q)
    run.finish()
    with nbtrack.Api(tmp_path) as api:
        assert [s for s, _ in api.run(run.path).media("img")] == [0, 1]


def test_an_entry_the_store_refuses_is_left_out_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whatever log()'s checks miss and the store refuses costs that entry only (with a
    # warning naming it), not the others encoded in the same cycle. Made here by letting a
    # lone surrogate in a caption past log(), which SQLite's UTF-8 then refuses.
    import nbtrack.media._image as image_module

    monkeypatch.setattr(image_module, "text", lambda key, what, value: value)
    run = _run(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run.log({"a": nbtrack.Image(np.zeros((4, 4), np.uint8), caption="fine")})
        run.log({"b": nbtrack.Image(np.ones((4, 4), np.uint8), caption="bad \ud800")})
        run.log({"c": nbtrack.Image(np.full((4, 4), 2, np.uint8), caption="fine too")})
        run.finish()
    with nbtrack.Api(tmp_path) as api:
        rec = api.run(run.path)
        assert rec.media_keys() == {"a": "image", "c": "image"}
        ((_, (image,)),) = rec.media("c")
        assert image.caption == "fine too"
    told = [str(w.message) for w in caught if "could not be stored" in str(w.message)]
    assert len(told) == 1 and "'b' at step 1" in told[0]


def test_finish_stores_a_media_backlog_that_takes_longer_than_its_wait_to_encode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # finish()'s wait bounds a store that refuses writes; a healthy writer still encoding
    # what log() took (up to MEDIA_BACKLOG_BYTES of it) must be let finish.
    monkeypatch.setattr(nbtrack._run, "FINISH_WAIT_S", 0.05)
    rng = np.random.default_rng(7)
    steps = 150
    run = _run(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(steps):
            run.log({"preds": [nbtrack.Image(_pixels(rng, (28, 28))) for _ in range(16)]})
        run.finish()
    assert [str(w.message) for w in caught if "media" in str(w.message)] == []
    with nbtrack.Api(tmp_path) as api:
        got = api.run(run.path).media("preds")
    assert [s for s, _ in got] == list(range(steps))

"""Media in artifacts: W&B's ``artifact.add(table, "predictions")`` and ``artifact.get``."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nbtrack
from nbtrack.artifacts import (
    Artifact,
    ArtifactFinalizedError,
    ArtifactNotLoggedError,
    api_artifact,
)
from nbtrack.artifacts import _media as artifact_media
from nbtrack.media import Plot, decode
from nbtrack.store import media_files
from nbtrack.store.media_files import MediaFiles


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # download()'s default folder is ./artifacts, as W&B's: keep it in the test's folder.
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("NBTRACK_ARTIFACT_DIR", raising=False)
    monkeypatch.delenv("WANDB_ARTIFACT_DIR", raising=False)
    return work


def digits(n: int, seed: int) -> list[Any]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (28, 28), dtype=np.uint8) for _ in range(n)]


def predictions_table(images: list[Any]) -> nbtrack.Table:
    table = nbtrack.Table(columns=["id", "image", "label", "score", "note"])
    for i, a in enumerate(images):
        score = math.nan if i == 1 else 0.5 + i / 10
        table.add_data(i, nbtrack.Image(a, caption=f"digit {i}"), i % 10, score, None)
    return table


def read_back_as(obj: object, cls: type) -> bool:
    """isinstance without the narrowing: a Video read back has more than `Video` declares
    (`.frames`, `.data`), which the test reads next."""
    return isinstance(obj, cls)


def photo() -> tuple[Any, Any]:
    """A 150x200 RGB image (its thumbnail is a second file) and a mask over it."""
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, (150, 200, 3), dtype=np.uint8)
    mask = np.zeros((150, 200), dtype=np.uint8)
    mask[40:90, 50:120] = 1
    return pixels, mask


def test_table_and_image_logged_used_by_another_run_and_read_back(
    workdir: Path, store_dir: Path
) -> None:
    images = digits(4, seed=1)
    pixels, mask = photo()
    run = nbtrack.init(project="p", job_type="eval", display=False)
    art = Artifact("preds", type="predictions")
    entry = art.add(predictions_table(images), "predictions")
    assert entry.path == "predictions.table.json"  # W&B's file name
    masks = {"seg": {"mask_data": mask, "class_labels": {0: "bg", 1: "cat"}}}
    art["sample"] = nbtrack.Image(pixels, caption="a cat", masks=masks)
    images[0][:] = 0  # added means copied: a later change is not what is logged
    run.log_artifact(art)
    run.finish()

    run2 = nbtrack.init(project="p", job_type="report", display=False)
    used = run2.use_artifact("preds:latest")
    table = used.get("predictions")
    assert isinstance(table, nbtrack.Table)
    assert table.columns == ["id", "image", "label", "score", "note"]
    assert len(table) == 4
    assert table.get_column("id") == [0, 1, 2, 3]
    assert table.get_column("label") == [0, 1, 2, 3]
    assert table.get_column("note") == [None] * 4
    scores = table.get_column("score")
    assert math.isnan(scores[1]) and scores[0] == 0.5 and scores[3] == pytest.approx(0.8)
    expected = digits(4, seed=1)
    for i, cell in enumerate(table.get_column("image")):
        assert isinstance(cell, nbtrack.Image)
        assert cell.caption == f"digit {i}"
        np.testing.assert_array_equal(cell.numpy(), expected[i])  # the full pixels

    image = used["sample"]
    assert isinstance(image, nbtrack.Image)
    assert image.caption == "a cat"
    np.testing.assert_array_equal(image.numpy(), pixels)
    assert image.masks is not None
    np.testing.assert_array_equal(image.masks["seg"]["mask_data"], mask)
    assert image.masks["seg"]["class_labels"] == {0: "bg", 1: "cat"}
    run2.finish()

    # download() is a self-contained folder: the payloads and every file they name, laid
    # out as a store's media folder (so MediaFiles reads it as it is).
    folder = Path(used.download())
    got = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    named: set[str] = set()
    for path, kind in (("predictions.table.json", "table"), ("sample.image.json", "image")):
        payload = json.loads((folder / path).read_text(encoding="utf-8"))
        names = artifact_media.file_names(payload)
        assert names and all(media_files.valid_name(n) for n in names)
        named.update(names)
        decode(kind, payload, MediaFiles(folder))  # every file it names is there
    assert got == sorted(["predictions.table.json", "sample.image.json"]
                         + [f"media/{n[:2]}/{n}" for n in named])  # fmt: skip
    for n in named:
        assert media_files.name_of((folder / "media" / n[:2] / n).read_bytes(), n[-4:]) == n
    # The image is a full PNG and a thumbnail, the mask its PNG and thumbnail, each table
    # cell (28x28, within a table thumbnail) one file: 4 + 4 files.
    assert len(named) == 8
    # The files are the artifact's blobs like any other: counted in its size and entries.
    assert used.file_count == 10
    assert used.size == sum((folder / p).stat().st_size for p in got)


def test_get_works_from_a_store_that_has_only_the_artifact(tmp_path: Path, store_dir: Path) -> None:
    images = digits(3, seed=2)
    run = nbtrack.init(project="p", display=False)
    art = Artifact("preds", type="predictions")
    art.add(predictions_table(images), "predictions")
    run.log_artifact(art)
    run.finish()

    other = tmp_path / "elsewhere"
    shutil.copytree(store_dir / "artifacts", other / "artifacts")
    assert not (other / "media").exists()
    table = api_artifact(other, "p/preds:v0").get("predictions")
    for a, cell in zip(images, table.get_column("image"), strict=True):
        np.testing.assert_array_equal(cell.numpy(), a)
        assert cell.path.is_relative_to(other / "media")  # read into that store's media
    # The Api of the first store reads it the same way.
    with nbtrack.Api(store_dir) as api:
        again = api.artifact("p/preds:latest").get("predictions")
    np.testing.assert_array_equal(again.data[2][1].numpy(), images[2])


def test_wandb_eval_callback_flow(store_dir: Path) -> None:
    # As W&B's WandbEvalCallback: the validation data as a table in an artifact, used by the
    # run, read back, and its cells referenced from each epoch's prediction table.
    images = digits(5, seed=3)
    run = nbtrack.init(project="p", display=False)
    data_table = nbtrack.Table(columns=["idx", "image", "label"])
    for i, a in enumerate(images):
        data_table.add_data(i, nbtrack.Image(a), i % 3)
    data_artifact = Artifact("val", type="dataset")
    data_artifact.add(data_table, "val_data")
    run.use_artifact(data_artifact)
    data_artifact.wait()
    data_table_ref = data_artifact.get("val_data")
    assert data_artifact.version == "v0"
    assert [r.id for r in data_artifact.used_by()] == [run.id]
    for epoch in range(2):
        pred_table = nbtrack.Table(columns=["epoch", "image", "label", "pred"])
        for i in range(len(data_table_ref)):
            row = data_table_ref.data[i]
            pred_table.add_data(epoch, row[1], row[2], (row[2] + epoch) % 3)
        run.log({"eval": pred_table})
    run.finish()

    with nbtrack.Api(store_dir) as api:
        steps = api.run(f"p/{run.id}").media("eval", pandas=False)
    assert [s for s, _ in steps] == [0, 1]
    last = steps[-1][1]
    assert last["pred"] == [(i % 3 + 1) % 3 for i in range(5)]
    for a, cell in zip(images, last["image"], strict=True):
        np.testing.assert_array_equal(cell.numpy(), a)


def test_a_bad_object_is_a_type_error_naming_what_it_is() -> None:
    art = Artifact("things", type="dataset")
    for bad, what in (
        (object(), "object"),
        ({"a": 1}, "dict"),
        (np.zeros((4, 4)), "ndarray"),
        ([nbtrack.Image(np.zeros((4, 4)))], "list"),
        (nbtrack.Histogram([1, 2, 3]), "Histogram"),
    ):
        with pytest.raises(TypeError, match=rf"artifact 'things' name 'x' is a {what}\b"):
            art.add(bad, "x")
    with pytest.raises(TypeError, match=r"artifact 'things' name 'x': a wandb\.Object3D"):
        art.add(nbtrack.Object3D(np.zeros((3, 3))), "x")
    with pytest.raises(TypeError, match="name is a non-empty string"):
        art.add(nbtrack.Image(np.zeros((4, 4))), "")
    # What log() would refuse, refused here naming the artifact and the name.
    table = nbtrack.Table(columns=["a", "b"], data=[[1, {"no": "dicts"}]])
    with pytest.raises(TypeError, match=r"artifact 'things' name 't' row 0 column 'b' is a dict"):
        art.add(table, "t")
    with pytest.raises(ValueError, match=r"artifact 'things' name 'nan'.*NaN"):
        art.add(nbtrack.Image(np.full((4, 4), np.nan)), "nan")
    with pytest.raises(FileNotFoundError, match=r"artifact 'things' name 'f'.*missing\.png"):
        art.add(nbtrack.Image("missing.png"), "f")
    assert art.file_count == 0  # nothing of a refused add stays


def test_names_kinds_and_overwrite(store_dir: Path) -> None:
    art = Artifact("a", type="dataset")
    one = nbtrack.Table(columns=["x"], data=[[1]])
    art.add(one, "t")
    art.add(nbtrack.Table(columns=["x"], data=[[1]]), "t")  # the same content again: fine
    with pytest.raises(ValueError, match=r"artifact 'a' already holds media 't'.*overwrite"):
        art.add(nbtrack.Table(columns=["x"], data=[[2]]), "t")
    with pytest.raises(ValueError, match=r"artifact 'a' already holds media 't' \(t.table.json\)"):
        art.add(nbtrack.Image(np.zeros((4, 4), dtype=np.uint8)), "t")
    art.add(nbtrack.Image(np.full((4, 4), 9, dtype=np.uint8)), "t", overwrite=True)
    assert [e.path for e in art.files() if e.path.endswith(".json")] == ["t.image.json"]
    art.add(nbtrack.Table(columns=["x"], data=[[3]]), "dir/t2")
    # Replacing media drops the files only the old one named (not those another names).
    art.add(nbtrack.Image(np.full((4, 4), 9, dtype=np.uint8)), "same")
    art.add(nbtrack.Image(np.full((200, 200), 5, dtype=np.uint8)), "big")
    assert len(art.files()) == 4 + 2 + 1  # big: a file and its thumbnail; t and same: one file
    art.add(nbtrack.Table(columns=["x"], data=[[4]]), "big", overwrite=True)
    art.add(nbtrack.Table(columns=["x"], data=[[5]]), "same", overwrite=True)
    assert sorted(e.path for e in art.files() if not e.path.startswith("media/")) == [
        "big.table.json", "dir/t2.table.json", "same.table.json", "t.image.json",
    ]  # fmt: skip
    assert len(art.files()) == 5  # the four payloads and t's image
    with pytest.raises(ArtifactNotLoggedError, match="log_artifact"):
        art.get("t")
    run = nbtrack.init(project="p", display=False)
    run.log_artifact(art)
    got = art.get("t")
    assert isinstance(got, nbtrack.Image)
    assert got.numpy().tolist() == [[9] * 4] * 4
    assert art.get("t.image.json").numpy().shape == (4, 4)  # the file's own name too
    assert art.get("dir/t2").data == [[3]]
    with pytest.warns(UserWarning, match=r"artifact 'a:v0' holds no media 'nope' \(it holds 't', 'dir/t2', 'big', 'same'\)"):  # fmt: skip
        assert art.get("nope") is None  # as W&B: None
    with pytest.raises(ArtifactFinalizedError, match="new_draft"):
        art.add(one, "later")


def test_the_same_content_logged_again_makes_no_new_version(store_dir: Path) -> None:
    images = digits(3, seed=4)
    run = nbtrack.init(project="p", display=False)
    versions = []
    for _ in range(2):
        art = Artifact("preds", type="predictions")
        art.add(predictions_table(images), "predictions")
        versions.append(run.log_artifact(art).version)
    art = Artifact("preds", type="predictions")
    art.add(predictions_table(digits(3, seed=5)), "predictions")
    versions.append(run.log_artifact(art).version)
    assert versions == ["v0", "v0", "v1"]
    # Drafts leave no staged copies behind once logged.
    staging = store_dir / "artifacts" / "objects" / "staging"
    assert not [p for p in staging.rglob("*") if p.is_file()]


def test_video_audio_html_and_plot(store_dir: Path) -> None:
    frames = np.random.default_rng(0).integers(0, 256, (3, 3, 16, 16), dtype=np.uint8)
    t = np.linspace(0, 1, 800, endpoint=False)
    art = Artifact("av", type="media")
    art.add(nbtrack.Video(frames, fps=4, caption="clip"), "clip")
    art.add(nbtrack.Audio(np.sin(2 * np.pi * 440 * t) * 0.5, sample_rate=8000), "tone")
    art.add(nbtrack.Html("<p>héllo</p>"), "page")
    art.add(
        nbtrack.plot.confusion_matrix(y_true=[0, 1, 1], preds=[0, 1, 0], class_names=["a", "b"]),
        "cm",
    )
    run = nbtrack.init(project="p", display=False)
    run.log_artifact(art)
    run.finish()

    with nbtrack.Api(store_dir) as api:
        used = api.artifact("p/av:latest")
    assert sorted(p for p in used.manifest.entries if p.endswith(".json")) == [
        "clip.video.json", "cm.plot.json", "page.html.json", "tone.audio.json",
    ]  # fmt: skip
    clip = used.get("clip")
    assert read_back_as(clip, nbtrack.Video)
    assert clip.format == "gif" and clip.frames == 3 and clip.caption == "clip"
    assert clip.data[:6] == b"GIF89a"
    tone = used.get("tone")
    assert read_back_as(tone, nbtrack.Audio)
    assert tone.sample_rate == 8000 and tone.duration == pytest.approx(0.1)
    assert tone.data[:4] == b"RIFF"
    page = used.get("page")
    assert read_back_as(page, nbtrack.Html)
    assert "<p>héllo</p>" in page.text
    cm = used.get("cm")
    assert isinstance(cm, Plot)
    assert cm.plot == "confusion_matrix" and cm.classes == ["a", "b"]
    assert isinstance(cm.table, nbtrack.Table)
    counts = {
        (a, p): n
        for a, p, n in zip(
            cm.table.get_column(cm.fields["actual"]),
            cm.table.get_column(cm.fields["predicted"]),
            cm.table.get_column(cm.fields["count"]),
            strict=True,
        )
    }
    assert counts == {("a", "a"): 1, ("a", "b"): 0, ("b", "a"): 1, ("b", "b"): 1}


def test_a_damaged_or_missing_file_names_the_artifact_and_the_name(
    tmp_path: Path, store_dir: Path
) -> None:
    run = nbtrack.init(project="p", display=False)
    art = Artifact("pics", type="dataset")
    art.add(nbtrack.Image(digits(1, seed=6)[0]), "digit")
    run.log_artifact(art)
    run.finish()
    other = tmp_path / "copy"
    shutil.copytree(store_dir / "artifacts", other / "artifacts")
    got = api_artifact(other, "p/pics:v0")
    png = next(e for e in got.files() if e.path.startswith("media/"))
    blob = other / "artifacts" / "objects" / png.digest[:2] / png.digest[2:]
    blob.chmod(0o644)
    blob.write_bytes(b"not the png")
    with pytest.raises(ValueError, match=r"artifact 'pics:v0' name 'digit'.*damaged"):
        got.get("digit")
    blob.unlink()
    with pytest.raises(FileNotFoundError, match=r"artifact 'pics:v0' name 'digit'.*missing"):
        got.get("digit")
    assert not (other / "media").exists() or not any((other / "media").rglob("*.png"))


def test_the_media_folder_name_is_the_stores() -> None:
    # _media keeps its own copy so `import nbtrack.artifacts` need not load the store.
    assert artifact_media.FOLDER == media_files.FOLDER

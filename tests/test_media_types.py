"""The media types at the prepare / encode / decode level, with a real MediaFiles.

What `log()` takes (`prepare`), what the writer stores (`MediaEntry.encode`: the files and
the payload of the media contract) and what the Api reads back (`decode`).
"""

from __future__ import annotations

import io
import itertools
import json
import subprocess
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PIL

import nbtrack
from nbtrack import data_types, media
from nbtrack.media import (
    Audio,
    Html,
    Image,
    Molecule,
    Object3D,
    Table,
    Video,
    decode,
    plot,
    prepare,
)
from nbtrack.store.media_files import MediaFiles, valid_name
from tests.helpers import PYTHON, child_env


@pytest.fixture
def files(tmp_path: Path) -> MediaFiles:
    return MediaFiles(tmp_path / "store")


def encode(files: MediaFiles, value: Any, key: str = "k") -> dict[str, Any]:
    """The payload the store keeps for `value`, through JSON as the store writes it."""
    entry = prepare(key, value)
    assert (entry.key, entry.step) == (key, -1)
    out = entry.encode(files)
    assert (out.key, out.kind) == (key, entry.kind)
    payload: dict[str, Any] = json.loads(json.dumps(out.payload, allow_nan=False))
    return payload


def read_back(files: MediaFiles, value: Any, key: str = "k") -> tuple[dict[str, Any], Any]:
    entry = prepare(key, value)
    payload = encode(files, value, key)
    return payload, decode(entry.kind, payload, files)


def names_in(payload: Any) -> set[str]:
    """Every media file name a payload mentions."""
    if isinstance(payload, dict):
        return set().union(*(names_in(v) for v in payload.values())) if payload else set()
    if isinstance(payload, list):
        return set().union(*(names_in(v) for v in payload)) if payload else set()
    return {payload} if valid_name(payload) else set()


def pil_of(files: MediaFiles, name: str) -> PIL.Image:
    img = PIL.open(io.BytesIO(files.read(name)))
    img.load()
    return img


RNG = np.random.default_rng(7)


# -- the names ---------------------------------------------------------------------------


def test_the_media_names_are_one_set_of_objects() -> None:
    for name in ("Image", "Table", "Video", "Audio", "Html", "Object3D", "Molecule", "plot"):
        assert getattr(nbtrack, name) is getattr(data_types, name) is getattr(media, name)
    assert data_types.WBValue is media.WBValue
    assert issubclass(data_types.Histogram, media.WBValue)
    assert sorted(media.__all__, key=str) == sorted(set(media.__all__), key=str)
    for name in media.__all__:
        getattr(media, name)


def test_importing_the_media_package_loads_neither_numpy_nor_pil() -> None:
    code = (
        "import sys, nbtrack.media, nbtrack.data_types\n"
        "print([m for m in ('numpy', 'PIL', 'torch', 'pandas') if m in sys.modules])"
    )
    out = subprocess.run(
        [PYTHON, "-c", code], capture_output=True, text=True, check=True, env=child_env()
    )
    assert out.stdout.strip() == "[]"


def test_is_media() -> None:
    img = Image(np.zeros((4, 4), np.uint8))
    assert media.is_media(img) and media.is_media([img, img]) and media.is_media((img,))
    assert media.is_media(Table(columns=["a"])) and media.is_media(plot.bar(Table(), "a", "b"))
    assert not media.is_media([]) and not media.is_media([1.0, img]) and not media.is_media(1.0)
    assert not media.is_media(nbtrack.Histogram([1, 2]))


def test_constructors_keep_their_arguments_without_copying() -> None:
    a = np.zeros((8, 8), np.uint8)
    img = Image(a, caption="c", mode="L")
    assert img.data_or_path is a and img.caption == "c" and img.mode == "L"
    v = Video(a, fps=3, caption="v")
    assert v.data_or_path is a and v.fps == 3
    assert Audio(a, sample_rate=8000).sample_rate == 8000
    assert Html("<b>x</b>").html == "<b>x</b>"


# -- pixels -------------------------------------------------------------------------------


def _u8(*shape: int) -> np.ndarray[Any, Any]:
    return RNG.integers(0, 256, shape).astype(np.uint8)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(a := _u8(9, 7), a, id="HW"),
        pytest.param(a := _u8(9, 7, 1), a[:, :, 0], id="HWC1"),
        pytest.param(a := _u8(9, 7, 3), a, id="HWC3"),
        pytest.param(a := _u8(9, 7, 4), a, id="HWC4"),
        pytest.param(a := _u8(1, 9, 7), a[0], id="CHW1"),
        pytest.param(a := _u8(3, 9, 7), a.transpose(1, 2, 0), id="CHW3"),
        pytest.param(
            f := RNG.random((9, 7, 3)).astype(np.float32),
            np.array([[[round(float(v) * 255) for v in px] for px in row] for row in f], np.uint8),
            id="float01",
        ),
        pytest.param(
            b := RNG.random((6, 5)) > 0.5, np.where(b, 255, 0).astype(np.uint8), id="bool"
        ),
    ],
)
def test_numpy_pixels_read_back_exactly(
    files: MediaFiles, data: np.ndarray[Any, Any], expected: np.ndarray[Any, Any]
) -> None:
    payload, (img,) = read_back(files, Image(data, caption="x"))
    (item,) = payload["items"]
    h, w = expected.shape[:2]
    assert (item["w"], item["h"], item["tw"], item["th"]) == (w, h, w, h)
    assert item["thumb"] == item["file"] and item["file"].endswith(".png")
    assert item["caption"] == "x" and item["masks"] == [] and item["boxes"] == []
    assert img.numpy().dtype == np.uint8
    np.testing.assert_array_equal(img.numpy(), expected)
    assert img.caption == "x" and img.image.size == (w, h)
    assert isinstance(img, nbtrack.Image)


def test_a_batch_of_numpy_images_reads_back_in_order(files: MediaFiles) -> None:
    batch = RNG.random((16, 28, 28))
    payload, images = read_back(files, [Image(x, caption=str(i)) for i, x in enumerate(batch)])
    assert len(payload["items"]) == 16 == len(images)
    for i, img in enumerate(images):
        np.testing.assert_array_equal(img.numpy(), np.rint(batch[i] * 255).astype(np.uint8))
        assert img.caption == str(i)


def test_logged_pixels_are_a_snapshot(files: MediaFiles) -> None:
    a = np.zeros((5, 5), np.uint8)
    b = np.zeros((5, 5), np.uint8)
    single, batch = prepare("s", Image(a)), prepare("b", [Image(a), Image(b)])
    a[:] = 200
    b[:] = 100
    (img,) = decode("image", single.encode(files).payload, files)
    assert img.numpy().max() == 0
    assert [i.numpy().max() for i in decode("image", batch.encode(files).payload, files)] == [0, 0]


def test_torch_cpu_tensors(files: MediaFiles) -> None:
    torch = pytest.importorskip("torch")
    chw = torch.rand(3, 6, 5)
    _, (img,) = read_back(files, Image(chw))
    expected = np.rint(chw.numpy().transpose(1, 2, 0) * 255).astype(np.uint8)
    np.testing.assert_array_equal(img.numpy(), expected)
    gray = torch.randint(0, 256, (4, 7), dtype=torch.uint8)
    _, (img,) = read_back(files, Image(gray))
    np.testing.assert_array_equal(img.numpy(), gray.numpy())
    # torchvision's CHW wins for tensors whose first dim can be channels, even if small.
    one = torch.rand(1, 3, 3, requires_grad=True)
    _, (img,) = read_back(files, Image(one))
    assert img.numpy().shape == (3, 3)
    half = torch.rand(3, 5, 5, dtype=torch.bfloat16)
    _, (img,) = read_back(files, Image(half))
    assert img.numpy().shape == (5, 5, 3)
    t = torch.zeros(5, 5)
    entry = prepare("k", Image(t))
    t += 1  # after log(): not in what was logged
    (img,) = decode("image", entry.encode(files).payload, files)
    assert img.numpy().max() == 0


def test_a_batch_of_torch_tensors_is_checked_as_one(files: MediaFiles) -> None:
    torch = pytest.importorskip("torch")
    batch = torch.rand(4, 3, 6, 5, dtype=torch.bfloat16)
    _, images = read_back(files, [Image(x) for x in batch])
    for img, x in zip(images, batch, strict=True):
        want = np.rint(x.float().numpy().transpose(1, 2, 0) * 255).astype(np.uint8)
        np.testing.assert_array_equal(img.numpy(), want)
    bad = torch.rand(3, 1, 4, 4)
    bad[2, 0, 1, 1] = float("inf")
    with pytest.raises(ValueError, match=r"key 'inf' image 2 has infinite pixels"):
        prepare("inf", [Image(x) for x in bad])
    with pytest.warns(UserWarning, match=r"key 'tclip' has pixels from -1 to 3.*clipped"):
        prepare("tclip", [Image(torch.tensor([[-1.0, 0.5]])), Image(torch.tensor([[3.0, 0.0]]))])
    # Other shapes in one list: taken one by one.
    _, images = read_back(files, [Image(torch.zeros(1, 4, 4)), Image(torch.ones(3, 5, 6))])
    assert [im.numpy().shape for im in images] == [(4, 4), (5, 6, 3)]
    ints = torch.tensor([[[0, 300]], [[5, 6]]], dtype=torch.int16)
    with pytest.warns(UserWarning, match="key 'tclip2'.*outside 0..255"):
        _, images = read_back(files, [Image(x) for x in ints], key="tclip2")
    assert [im.numpy().tolist() for im in images] == [[[0, 255]], [[5, 6]]]


@pytest.mark.skipif(
    not __import__("torch").cuda.is_available(), reason="needs a CUDA device"
)  # fmt: skip
def test_tensors_on_the_device_are_cloned_there_and_checked_by_the_writer(
    files: MediaFiles,
) -> None:
    import torch

    t = torch.rand(3, 8, 8, device="cuda")
    entry = prepare("k", Image(t))
    t.fill_(0.0)
    (img,) = decode("image", entry.encode(files).payload, files)
    assert img.numpy().shape == (8, 8, 3) and img.numpy().max() > 0
    bad = torch.full((8, 8), float("nan"), device="cuda")
    entry = prepare("gpu", Image(bad))  # not checked on the training thread: no sync
    with pytest.raises(ValueError, match=r"key 'gpu'.*NaN"):
        entry.encode(files)


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA"])
def test_pil_images(files: MediaFiles, mode: str) -> None:
    src = PIL.fromarray(_u8(6, 9, {"L": 1, "RGB": 3, "RGBA": 4}[mode]).squeeze(), mode)
    _, (img,) = read_back(files, Image(src))
    assert img.image.mode == mode
    np.testing.assert_array_equal(img.numpy(), np.asarray(src))


@pytest.mark.parametrize(("fmt", "ext"), [("PNG", ".png"), ("JPEG", ".jpg")])
def test_png_and_jpeg_files_are_stored_as_they_are(
    files: MediaFiles, tmp_path: Path, fmt: str, ext: str
) -> None:
    path = tmp_path / f"pic{ext}"
    PIL.fromarray(_u8(200, 300, 3), "RGB").save(path, fmt)
    payload, (img,) = read_back(files, Image(str(path)))
    (item,) = payload["items"]
    assert item["file"].endswith(ext) and files.read(item["file"]) == path.read_bytes()
    assert (item["w"], item["h"], item["tw"], item["th"]) == (300, 200, 128, 85)
    np.testing.assert_array_equal(img.numpy(), np.asarray(PIL.open(path)))
    _, (again,) = read_back(files, Image(path))  # a Path, too
    assert again.path == img.path


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "WEBP"])
def test_other_image_files_are_stored_as_png(files: MediaFiles, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"pic.{fmt.lower()}"
    PIL.fromarray(_u8(10, 12, 3), "RGB").save(
        path, fmt, **({"lossless": True} if fmt == "WEBP" else {})
    )
    payload, (img,) = read_back(files, Image(path))
    assert payload["items"][0]["file"].endswith(".png")
    with PIL.open(path) as original:
        np.testing.assert_array_equal(img.numpy(), np.asarray(original.convert("RGB")))


@pytest.mark.parametrize(
    ("shape", "thumb", "ext"),
    [
        ((128, 100, 3), (100, 128), None),  # within 128: its own thumbnail
        ((200, 300, 3), (128, 85), ".jpg"),
        ((200, 300, 4), (128, 85), ".png"),  # alpha: PNG
        ((1000, 200), (26, 128), ".jpg"),
        ((300, 150), (64, 128), ".jpg"),
        ((150, 150), (128, 128), ".jpg"),
        ((250, 40), (20, 128), ".jpg"),
    ],
)
def test_thumbnails(
    files: MediaFiles, shape: tuple[int, ...], thumb: tuple[int, int], ext: str | None
) -> None:
    (item,) = encode(files, Image(_u8(*shape)))["items"]
    assert (item["tw"], item["th"]) == thumb
    if ext is None:
        assert item["thumb"] == item["file"]
        assert len(names_in(item)) == 1
    else:
        assert item["thumb"] != item["file"] and item["thumb"].endswith(ext)
        assert pil_of(files, item["thumb"]).size == thumb


@pytest.mark.parametrize(
    "shape", [(1, 1), (1, 1, 3), (64, 64, 4), (3, 7), (7, 3, 3), (1, 4096), (64, 64)]
)
def test_small_pngs_are_written_by_nbtrack_and_read_back_exactly(
    files: MediaFiles, shape: tuple[int, ...]
) -> None:
    """Up to 64 x 64 pixels the PNG is nbtrack's own (unfiltered rows, zlib), not PIL's: any
    PNG reader gets the pixels back, the bytes are the same each time (one file for one
    image), and a small image given as PIL goes the same way."""
    from nbtrack.media import _encode

    a = _u8(*shape)
    data = _encode.png_pixels(a)
    assert data == _encode.png_pixels(a.copy())
    decoded = PIL.open(io.BytesIO(data))
    assert decoded.mode == {1: "L", 3: "RGB", 4: "RGBA"}[1 if a.ndim == 2 else a.shape[2]]
    np.testing.assert_array_equal(np.asarray(decoded), a)
    assert _encode.png(PIL.fromarray(a)) == data
    item = _encode.put_pixels(files, a)
    np.testing.assert_array_equal(np.asarray(pil_of(files, item["file"])), a)
    if max(shape[:2]) > 128:  # few pixels, but a long side: a thumbnail of its own
        assert item["thumb"] != item["file"] and (item["tw"], item["th"]) == (128, 1)
    else:
        assert item["thumb"] == item["file"]


def test_a_larger_png_is_pils_and_exact(files: MediaFiles) -> None:
    a = _u8(65, 64, 3)
    _, (img,) = read_back(files, Image(a))
    np.testing.assert_array_equal(img.numpy(), a)


def test_media_files_survive_their_folder_going_away(files: MediaFiles) -> None:
    import shutil

    name = files.put(b"one", ".html")
    shutil.rmtree(files.root)  # after this object made (and remembered) the folder
    assert files.put(b"one", ".html") == name and files.read(name) == b"one"
    assert files.put(b"one", ".html") == name  # already there: kept once
    assert [p.name for p in files.root.rglob("*") if p.is_file()] == [name]  # no temporary file
    with pytest.raises(ValueError, match="are not its own"):
        files.put_named(name, b"two")
    with pytest.raises(ValueError, match="not a media file name"):
        files.put_named("../x.png", b"two")


def test_a_small_thumbnail_is_a_png(files: MediaFiles) -> None:
    (item,) = encode(files, Image(_u8(60, 200, 3)))["items"]  # 128 x 38: wider than 64
    assert item["thumb"].endswith(".jpg")
    (cell,) = encode(files, Table(columns=["i"], data=[[Image(_u8(60, 200, 3))]]))["data"][0]
    assert (cell["tw"], cell["th"]) == (64, 19) and cell["thumb"].endswith(".png")


def test_the_same_image_twice_is_one_file(files: MediaFiles) -> None:
    a = _u8(300, 200, 3)
    payload = encode(files, [Image(a), Image(a.copy()), Image(_u8(300, 200, 3))])
    one, two, other = payload["items"]
    assert (one["file"], one["thumb"]) == (two["file"], two["thumb"])
    assert other["file"] != one["file"]
    stored = [p for p in files.root.rglob("*") if p.is_file()]
    assert len(stored) == 4  # two images, two thumbnails


# -- masks and boxes ------------------------------------------------------------------------


def test_masks(files: MediaFiles) -> None:
    ids = RNG.integers(0, 3, (200, 300))
    labels = {0: "bg", 1: "cat", 2: "dog"}
    masks = {"seg": {"mask_data": ids, "class_labels": labels}}
    payload, (img,) = read_back(files, Image(_u8(200, 300, 3), masks=masks))
    (mask,) = payload["items"][0]["masks"]
    assert mask["name"] == "seg" and mask["labels"] == {"0": "bg", "1": "cat", "2": "dog"}
    full, thumb = pil_of(files, mask["file"]), pil_of(files, mask["thumb"])
    assert full.mode == "L" and thumb.size == (128, 85)
    np.testing.assert_array_equal(np.asarray(full), ids)
    assert set(np.unique(np.asarray(thumb))) <= {0, 1, 2}  # NEAREST: no blended ids
    np.testing.assert_array_equal(img.masks["seg"]["mask_data"], ids)
    assert img.masks["seg"]["class_labels"] == labels


def test_masks_of_a_small_image_and_wide_class_ids(files: MediaFiles) -> None:
    ids = np.array([[0, 300], [70000 - 4465, 1]])  # ids past 255: 16-bit
    (item,) = encode(files, Image(_u8(2, 2), masks={"m": {"mask_data": ids}}))["items"]
    (mask,) = item["masks"]
    assert mask["thumb"] == mask["file"] and mask["labels"] == {}
    np.testing.assert_array_equal(np.asarray(pil_of(files, mask["file"])), ids)


def test_boxes_are_stored_as_fractions_from_the_top_left(files: MediaFiles) -> None:
    boxes = {
        "pred": {
            "box_data": [
                {"position": {"minX": 10, "maxX": 50, "minY": 20, "maxY": 80}, "domain": "pixel",
                 "class_id": 1, "box_caption": "cat", "scores": {"p": 0.9, "iou": float("nan")}},
                {"position": {"middle": [0.5, 0.5], "width": 0.2, "height": 0.4}, "class_id": 2},
                {"position": {"middle": [100, 0], "width": 40, "height": 40}, "domain": "pixel",
                 "class_id": 2},
            ],
            "class_labels": {1: "cat", 2: "dog"},
        }
    }  # fmt: skip
    payload, (img,) = read_back(files, Image(_u8(100, 200, 3), boxes=boxes))
    (box_set,) = payload["items"][0]["boxes"]
    assert box_set["name"] == "pred" and box_set["labels"] == {"1": "cat", "2": "dog"}
    first, middle, edge = box_set["boxes"]
    assert first == {
        "x0": 0.05, "y0": 0.2, "x1": 0.25, "y1": 0.8, "class_id": 1, "caption": "cat",
        "scores": {"p": 0.9, "iou": {"_type": "float", "value": "nan"}},
    }  # fmt: skip
    assert middle["x0"] == pytest.approx(0.4) and middle["x1"] == pytest.approx(0.6)
    assert middle["y0"] == pytest.approx(0.3) and middle["y1"] == pytest.approx(0.7)
    assert middle["caption"] is None and middle["scores"] == {}
    assert (edge["x0"], edge["y0"], edge["x1"], edge["y1"]) == (0.4, 0.0, 0.6, 0.2)  # clipped
    read = img.boxes["pred"]
    assert read["class_labels"] == {1: "cat", 2: "dog"}
    assert read["box_data"][0]["position"] == {"minX": 0.05, "maxX": 0.25, "minY": 0.2, "maxY": 0.8}
    assert np.isnan(read["box_data"][0]["scores"]["iou"])


def test_class_labels_may_come_from_classes(files: MediaFiles) -> None:
    classes = [{"id": 1, "name": "cat"}]
    img = Image(_u8(4, 4), classes=classes, masks={"m": {"mask_data": np.ones((4, 4), int)}})
    assert encode(files, img)["items"][0]["masks"][0]["labels"] == {"1": "cat"}


# -- what log() refuses --------------------------------------------------------------------


def _bad_cases(tmp_path: Path) -> list[tuple[Any, type[Exception], str]]:
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    huge = np.broadcast_to(np.zeros((1, 1), np.uint8), (10000, 10000))  # no 100 MP allocated
    nan = np.full((4, 4), 0.5)
    nan[1, 2] = np.nan
    inf = np.zeros((4, 4, 3), np.float32)
    inf[0, 0, 0] = np.inf
    return [
        (Image(np.zeros(5)), ValueError, r"key 'k' has shape \(5,\): an image is HW, HWC or CHW"),
        (Image(np.zeros((2, 2, 2, 2, 2))), ValueError, r"shape \(2, 2, 2, 2, 2\)"),
        (Image(np.zeros((8, 8, 2))), ValueError, r"shape \(8, 8, 2\): an image is HW, HWC or CHW with C in 1, 3, 4"),
        (Image(np.zeros((0, 8))), ValueError, r"shape \(0, 8\), with no pixels"),
        (Image(np.zeros((4, 0, 3))), ValueError, "no pixels"),
        (Image(nan), ValueError, "key 'k' has NaN pixels"),
        (Image(inf), ValueError, "key 'k' has infinite pixels"),
        (Image(huge), ValueError, r"10000 x 10000 pixels \(100,000,000\), more than nbtrack keeps \(67,108,864"),
        (Image(str(tmp_path / "gone.png")), FileNotFoundError, "key 'k' names the file .*gone.png.*does not exist"),
        (Image(text), ValueError, "key 'k' names .*notes.txt.*not an image file"),
        (Image(tmp_path), ValueError, "a folder"),
        (Image(np.zeros((4, 4), dtype="U1")), TypeError, "dtype <U1"),
        (Image([[1, 2], [3, 4]]), TypeError, "made of a list"),
        (Image(np.zeros((4, 4)), masks={"m": {"mask_data": np.zeros((4, 5), int)}}), ValueError,
         "mask 'm' is 4 x 5 .*the image 4 x 4: they must match"),
        (Image(np.zeros((4, 4)), masks={"m": {"mask_data": np.zeros((4, 4))}}), TypeError, "class ids are integers"),
        (Image(np.zeros((4, 4)), masks={"m": {"mask_data": -np.ones((4, 4), int)}}), ValueError, "0..65535"),
        (Image(np.zeros((4, 4)), masks={"m": np.zeros((4, 4))}), TypeError, "mask_data"),
        (Image(np.zeros((4, 4)), boxes={"b": {"box_data": [{"position": {"minX": 0}}]}}), ValueError, "box 0 position"),
        (Image(np.zeros((4, 4)), boxes={"b": {"box_data": [{"position": {"minX": 0, "maxX": 1, "minY": 0, "maxY": 1}, "domain": "cm"}]}}), ValueError, "domain"),
        (Table(columns=["a", "b"], data=[[1, 2], [3, {"x": 1}]]), TypeError, "key 'k' row 1 column 'b' is a dict"),
        (Table(columns=["i"], data=[[Image(np.zeros(3))]]), ValueError, r"key 'k' row 0 column 'i' has shape \(3,\)"),
        (Video(np.zeros((2, 3, 4, 4), np.uint8), format="mp4"), ValueError, "key 'k' asks for format='mp4' from frames: mp4 encoding is not built"),
        (Video(np.zeros((2, 4, 4), np.uint8)), ValueError, r"frames of shape \(2, 4, 4\)"),
        (Video(str(tmp_path / "gone.mp4")), FileNotFoundError, "gone.mp4"),
        (Video(str(text)), ValueError, "not one of"),
        (Audio(np.zeros(10)), ValueError, "key 'k' is samples without sample_rate"),
        (Audio(np.array([0.0, np.nan]), sample_rate=8000), ValueError, "NaN"),
        (Audio(str(tmp_path / "gone.wav")), FileNotFoundError, "gone.wav"),
        (Html(str(tmp_path / "gone.html")), FileNotFoundError, "gone.html"),
        (Html(3), TypeError, "made of a int"),
        (Object3D(np.zeros((10, 3))), TypeError, "key 'k' is a wandb.Object3D, which nbtrack does not store"),
        (Molecule("x.pdb"), TypeError, "wandb.Molecule, which nbtrack does not store"),
        (plot.line(Table(columns=["a", "b"]), "a", "c"), ValueError, "y column 'c' is not in its table"),
        (plot.plot_table("me/custom/v1", Table(columns=["a"]), {"x": "a"}), TypeError, "Vega spec 'me/custom/v1'"),
        (plot.confusion_matrix(y_true=[0, 1]), ValueError, "one of probs= and preds=, not neither"),
        (plot.confusion_matrix(y_true=[0, 1], preds=[0, 5], class_names=["a", "b"]), ValueError, "outside 0..1"),
        (plot.pr_curve([0, 1], [[0.5, 0.5]]), ValueError, "2 y_true for 1 rows"),
        (plot.roc_curve([0, 1], [[np.nan, 0.5], [0.5, 0.5]]), ValueError, "NaN"),
        (plot.line_series([0, 1], [[1, 2], [1]]), ValueError, "series 1 has 1 values for 2 xs"),
        ([Table(), Table()], TypeError, "log one Table a key"),
    ]  # fmt: skip


def test_bad_media_is_a_clear_error_naming_the_key(tmp_path: Path) -> None:
    for value, error, match in _bad_cases(tmp_path):
        with pytest.raises(error, match=match):
            prepare("k", value)
        with pytest.raises(error, match=r"nbtrack\.log: key 'k'"):
            prepare("k", value)


def test_errors_in_a_list_name_the_item() -> None:
    good = Image(np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"key 'preds' image 2 has shape \(4, 4, 2\)"):
        prepare("preds", [good, good, Image(np.zeros((4, 4, 2)))])
    batch = np.zeros((5, 4, 4))
    batch[3, 1, 1] = np.nan
    with pytest.raises(ValueError, match="key 'preds' image 3 has NaN pixels"):
        prepare("preds", [Image(x) for x in batch])
    with pytest.raises(TypeError, match="key 'mixed' item 1 is a Table in a list of Image"):
        prepare("mixed", [good, Table()])
    with pytest.raises(TypeError, match="empty list"):
        prepare("k", [])


def test_out_of_range_pixels_are_clipped_with_one_warning_a_key(files: MediaFiles) -> None:
    a = np.array([[-0.5, 0.5], [1.0, 2.0]])
    with pytest.warns(UserWarning, match=r"key 'clip1' has pixels from -0.5 to 2.*clipped"):
        entry = prepare("clip1", Image(a))
    prepare("clip1", [Image(a), Image(a)])  # said once: pytest makes a second warning an error
    (img,) = decode("image", entry.encode(files).payload, files)
    np.testing.assert_array_equal(img.numpy(), [[0, 128], [255, 255]])
    with pytest.warns(UserWarning, match="key 'clip2'.*outside 0..255"):
        prepare("clip2", Image(np.array([[0, 300]], np.int32)))


def test_an_image_file_deleted_before_the_writer_reads_it(
    files: MediaFiles, tmp_path: Path
) -> None:
    path = tmp_path / "later.png"
    PIL.fromarray(_u8(4, 4)).save(path)
    entry = prepare("k", Image(path))
    path.unlink()
    with pytest.raises(FileNotFoundError, match=r"key 'k' names the file .*later.png.*deleted"):
        entry.encode(files)


def test_an_entry_counts_the_bytes_it_holds() -> None:
    assert prepare("k", [Image(_u8(28, 28)) for _ in range(16)]).nbytes == 16 * 28 * 28
    assert prepare("k", Image(np.zeros((10, 10)))).nbytes == 800
    assert prepare("k", Table(columns=["a"], data=[[1]] * 10)).nbytes > 0


# -- tables ---------------------------------------------------------------------------------


def test_a_table_is_logged_as_it_was_at_log_time(files: MediaFiles) -> None:
    t = Table(columns=["epoch", "loss"], data=[[0, 0.9]])
    entry = prepare("k", t)
    t.add_data(1, 0.5)
    t.data[0][1] = 123.0
    payload = entry.encode(files).payload
    assert payload == {"columns": ["epoch", "loss"], "types": ["number", "number"], "rows": 1,
                       "data": [[0, 0.9]]}  # fmt: skip


def test_table_cells(files: MediaFiles) -> None:
    t = Table(columns=["i", "f", "s", "b", "n", "mixed"])
    t.add_data(np.int64(3), np.float32(0.5), np.str_("a"), np.bool_(True), None, 1)
    t.add_data(4, float("nan"), "b", False, None, "x")
    t.add_data(5, float("-inf"), "c", True, None, None)
    payload, df = read_back(files, t)
    assert payload["types"] == ["number", "number", "string", "bool", "mixed", "mixed"]
    assert payload["rows"] == 3
    assert payload["data"][0] == [3, 0.5, "a", True, None, 1]
    assert payload["data"][1][1] == {"_type": "float", "value": "nan"}
    assert payload["data"][2][1] == {"_type": "float", "value": "-inf"}
    assert type(payload["data"][0][0]) is int and type(payload["data"][0][3]) is bool
    assert list(df.columns) == ["i", "f", "s", "b", "n", "mixed"]
    assert df["i"].tolist() == [3, 4, 5] and np.isnan(df["f"][1]) and df["f"][2] == -np.inf
    plain = decode("table", payload, files, pandas=False)
    assert plain["s"] == ["a", "b", "c"] and plain["mixed"] == [1, "x", None]


def test_a_table_from_a_dataframe_keeps_each_columns_type(files: MediaFiles) -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"n": [1, 2], "x": [0.5, np.nan], "s": ["a", None]})
    t = Table(dataframe=df)
    assert t.columns == ["n", "x", "s"]
    payload = encode(files, t)
    assert payload["types"] == ["number", "number", "string"]
    assert payload["data"] == [[1, 0.5, "a"], [2, {"_type": "float", "value": "nan"}, None]]
    assert type(payload["data"][0][0]) is int
    assert t.get_dataframe()["n"].tolist() == [1, 2]


def test_image_cells(files: MediaFiles) -> None:
    a = _u8(100, 50, 3)
    t = Table(columns=["img", "label"], data=[[Image(a, caption="one"), 1], [None, 2]])
    payload, df = read_back(files, t)
    assert payload["types"] == ["image", "number"]
    cell = payload["data"][0][0]
    assert cell["_type"] == "image" and cell["caption"] == "one"
    assert (cell["w"], cell["h"], cell["tw"], cell["th"]) == (50, 100, 32, 64)
    img = df["img"][0]
    assert isinstance(img, Image) and img.caption == "one"
    np.testing.assert_array_equal(img.numpy(), a)


def test_table_limits() -> None:
    with pytest.raises(ValueError, match="key 'k' is a table of 100,001 rows x 1 columns"):
        prepare("k", Table(columns=["a"], data=[[0]] * 100_001))
    with pytest.raises(ValueError, match="201 columns; nbtrack keeps at most 100,000 rows x 200"):
        prepare("k", Table(columns=[str(i) for i in range(201)]))
    prepare("k", Table(columns=[str(i) for i in range(200)], data=[[0] * 200]))


def test_table_methods() -> None:
    t = Table(data=np.array([[1, 2], [3, 4]]))
    assert t.columns == ["Column_1", "Column_2"] and t.data == [[1, 2], [3, 4]]
    t.add_column("c", [5, 6])
    assert t.get_column("c") == [5, 6] and t.get_column("c", convert_to="numpy").tolist() == [5, 6]
    assert list(t.iterrows()) == [(0, [1, 2, 5]), (1, [3, 4, 6])] and len(t) == 2
    with pytest.raises(KeyError, match="no column 'z'"):
        t.get_column("z")
    assert Table(rows=[[1]], columns=["a"]).data == [[1]]


# -- plots ----------------------------------------------------------------------------------


def _table() -> Table:
    return Table(
        columns=["epoch", "loss", "run", "name"],
        data=[[0, 1.0, "a", "x"], [1, 0.5, "a", "y"], [0, 2.0, "b", "z"]],
    )


def test_a_histogram_bins_numbers_only(files: MediaFiles) -> None:
    with pytest.raises(TypeError, match=r"key 'h' is a plot.histogram of column 'name', which "
                       r"holds a str \('x'\); a histogram bins numbers"):  # fmt: skip
        prepare("h", plot.histogram(_table(), "name"))
    values = Table(columns=["v"], data=[[np.float32(0.5)], [None], [np.int64(3)], [2]])
    _, read = read_back(files, plot.histogram(values, "v"))
    assert read.table["v"].tolist()[0] == 0.5


@pytest.mark.parametrize(
    ("chart", "kind", "fields"),
    [
        (plot.line(_table(), "epoch", "loss", stroke="run", title="Loss"), "line",
         {"x": "epoch", "y": "loss", "series": "run"}),
        (plot.line(_table(), "epoch", "loss"), "line", {"x": "epoch", "y": "loss", "series": None}),
        (plot.scatter(_table(), "epoch", "loss", title="Loss"), "scatter",
         {"x": "epoch", "y": "loss", "series": None}),
        (plot.bar(_table(), "name", "loss", title="Loss"), "bar", {"label": "name", "value": "loss"}),
        (plot.histogram(_table(), "loss", title="Loss"), "histogram", {"value": "loss"}),
        (plot.plot_table("wandb/line/v0", _table(), {"x": "epoch", "y": "loss", "stroke": "run"},
                         {"title": "Loss"}), "line", {"x": "epoch", "y": "loss", "series": "run"}),
        (plot.plot_table("wandb/bar/v0", _table(), {"label": "name", "value": "loss"}), "bar",
         {"label": "name", "value": "loss"}),
    ],
)  # fmt: skip
def test_charts_of_a_table(
    files: MediaFiles, chart: Any, kind: str, fields: dict[str, Any]
) -> None:
    payload, read = read_back(files, chart)
    assert payload["plot"] == kind and payload["fields"] == fields
    assert payload["title"] in ("Loss", None)
    assert payload["table"]["columns"] == ["epoch", "loss", "run", "name"]
    assert payload["table"]["data"][2] == [0, 2.0, "b", "z"]
    assert (
        read.plot == kind
        and read.fields == fields
        and read.table["loss"].tolist() == [1.0, 0.5, 2.0]
    )


def test_a_chart_keeps_its_table_as_logged(files: MediaFiles) -> None:
    t = _table()
    entry = prepare("k", plot.line(t, "epoch", "loss"))
    t.add_data(2, 0.1, "a", "w")
    assert entry.encode(files).payload["table"]["rows"] == 3


def test_line_series(files: MediaFiles) -> None:
    payload, read = read_back(
        files, plot.line_series([0, 1, 2], [[1, 2, 3], [4, 5, 6]], keys=["a", "b"], title="t")
    )
    assert payload["plot"] == "line_series" and payload["title"] == "t"
    assert payload["fields"] == {"x": "step", "y": "value", "series": "series"}
    assert payload["table"]["columns"] == ["step", "value", "series"]
    assert payload["table"]["data"] == [
        [0, 1, "a"], [1, 2, "a"], [2, 3, "a"], [0, 4, "b"], [1, 5, "b"], [2, 6, "b"]
    ]  # fmt: skip
    own_xs = encode(files, plot.line_series([[0, 1], [5, 6, 7]], [[1, 2], [3, 4, 5]]))
    assert [r[2] for r in own_xs["table"]["data"]] == ["key_0"] * 2 + ["key_1"] * 3
    assert [r[0] for r in own_xs["table"]["data"]] == [0, 1, 5, 6, 7]
    assert read.table["series"].tolist().count("b") == 3


def test_confusion_matrix_counts_every_pair(files: MediaFiles) -> None:
    y = [0, 0, 1, 2, 2, 2]
    p = [0, 1, 1, 2, 0, 2]
    payload, read = read_back(
        files, plot.confusion_matrix(y_true=y, preds=p, class_names=["a", "b", "c"], title="cm")
    )
    assert payload["plot"] == "confusion_matrix" and payload["classes"] == ["a", "b", "c"]
    assert payload["fields"] == {
        "actual": "Actual",
        "predicted": "Predicted",
        "count": "nPredictions",
    }
    rows = payload["table"]["data"]
    assert len(rows) == 9
    counts = {(a, q): n for a, q, n in rows}
    expected = {(a, q): 0 for a in "abc" for q in "abc"}
    for a, q in zip(y, p, strict=True):
        expected["abc"[a], "abc"[q]] += 1
    assert counts == expected and sum(counts.values()) == 6
    assert read.classes == ["a", "b", "c"] and read.table["nPredictions"].sum() == 6
    probs = np.eye(3)[p] * 0.8 + 0.05
    again = encode(
        files, plot.confusion_matrix(probs=probs, y_true=np.array(y), class_names=["a", "b", "c"])
    )
    assert again["table"] == payload["table"]
    names = encode(
        files, plot.confusion_matrix(y_true=["b", "a"], preds=["b", "b"], class_names=["a", "b"])
    )
    assert {(a, q): n for a, q, n in names["table"]["data"]}[("a", "b")] == 1
    default = encode(files, plot.confusion_matrix(y_true=[0, 1], preds=[1, 1]))
    assert default["classes"] == ["Class_1", "Class_2"]


def _curve_rows(payload: dict[str, Any]) -> dict[str, tuple[list[float], list[float]]]:
    out: dict[str, tuple[list[float], list[float]]] = {}
    for c, x, y in payload["table"]["data"]:
        xs, ys = out.setdefault(c, ([], []))
        xs.append(x)
        ys.append(y)
    return out


def test_pr_curve(files: MediaFiles) -> None:
    y = RNG.integers(0, 3, 300)
    probas = RNG.random((300, 3)) + np.eye(3)[y] * 0.5
    payload, read = read_back(files, plot.pr_curve(y, probas, labels=["a", "b", "c"], title="pr"))
    assert payload["plot"] == "pr_curve" and payload["title"] == "pr"
    assert payload["fields"] == {"x": "recall", "y": "precision", "series": "class"}
    assert payload["table"]["columns"] == ["class", "recall", "precision"]
    curves = _curve_rows(payload)
    assert set(curves) == {"a", "b", "c"}
    for recall, precision in curves.values():
        assert recall[0] == 0 and precision[0] == 1 and recall[-1] == 1
        assert all(b >= a for a, b in itertools.pairwise(recall))  # monotone
        assert all(0 <= p <= 1 for p in precision)
        assert precision[-1] == pytest.approx(1 / 3, abs=0.1)  # all predicted positive
    perfect = encode(
        files,
        plot.pr_curve(
            [0, 1, 1, 0], [[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]], classes_to_plot=[1]
        ),
    )
    ((recall, precision),) = _curve_rows(perfect).values()
    assert recall == [0, 0.5, 1, 1, 1] and precision[:3] == [1, 1, 1]
    assert read.table["class"].nunique() == 3


def test_roc_curve(files: MediaFiles) -> None:
    y = RNG.integers(0, 2, 2000)
    p1 = np.clip(RNG.normal(0.35 + 0.3 * y, 0.2), 0, 1)
    payload = encode(files, plot.roc_curve(y, p1))  # 1-d: the probability of class 1
    assert payload["fields"] == {"x": "fpr", "y": "tpr", "series": "class"}
    curves = _curve_rows(payload)
    assert set(curves) == {"0", "1"}
    for fpr, tpr in curves.values():
        assert (fpr[0], tpr[0]) == (0, 0) and (fpr[-1], tpr[-1]) == (1, 1)
        assert all(b >= a for a, b in itertools.pairwise(fpr))
        assert all(b >= a for a, b in itertools.pairwise(tpr))
        assert len(fpr) <= 1001
    fpr, tpr = curves["1"]
    auc = float(np.trapezoid(tpr, fpr)) if hasattr(np, "trapezoid") else float(np.trapz(tpr, fpr))
    assert 0.75 < auc < 0.95  # the scores separate the classes, not perfectly


def test_plot_names() -> None:
    assert set(dir(plot)) == set(media.PLOT_NAMES)
    with pytest.raises(AttributeError, match="no chart 'pie'"):
        _ = plot.pie  # type: ignore[attr-defined]


# -- video, audio, html ---------------------------------------------------------------------


def test_a_video_of_frames_is_a_gif(files: MediaFiles) -> None:
    frames = np.stack([np.full((3, 20, 30), 40 * t, np.uint8) for t in range(5)])
    payload, (video,) = read_back(files, Video(frames, fps=10, caption="run"))
    (item,) = payload["items"]
    assert item["format"] == "gif" and item["file"].endswith(".gif")
    assert (item["w"], item["h"], item["frames"], item["fps"]) == (30, 20, 5, 10)
    assert item["caption"] == "run" and item["thumb"].endswith(".png")
    gif = PIL.open(io.BytesIO(video.data))
    assert gif.n_frames == 5 and gif.size == (30, 20)
    gif.seek(3)
    assert np.asarray(gif.convert("L"))[0, 0] == 120
    assert np.asarray(pil_of(files, item["thumb"]).convert("L")).max() == 0  # the first frame
    assert video.format == "gif" and video.frames == 5 and video.fps == 10
    assert isinstance(video, nbtrack.Video)


def test_videos_side_by_side_and_other_dtypes(files: MediaFiles) -> None:
    batch = np.zeros((3, 2, 1, 8, 8), np.uint8)  # three videos: a grid of 1 x 3
    (item,) = encode(files, Video(batch))["items"]
    assert (item["w"], item["h"], item["frames"], item["fps"]) == (24, 8, 2, 4)
    (item,) = encode(files, Video(np.zeros((1, 3, 4, 4))))["items"]  # floats: cast, as W&B
    assert item["frames"] == 1
    hot = np.full((2, 1, 4, 4), 300.0)
    hot[0] = -5
    with pytest.warns(
        UserWarning, match=r"key 'v' has video pixels from -5 to 300, outside 0..255"
    ):
        prepare("v", Video(hot))
    prepare("v", Video(hot))  # said once a key
    prepare("v2", Video(np.full((1, 1, 2, 2), 255, np.int64)))  # in range: no warning


def test_a_video_file_is_stored_as_it_is(files: MediaFiles, tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a movie")
    payload, (video,) = read_back(files, Video(str(path), fps=30))
    (item,) = payload["items"]
    assert item["file"].endswith(".mp4") and video.data == path.read_bytes()
    assert (item["format"], item["fps"], item["frames"], item["thumb"]) == ("mp4", 30, None, None)


def test_audio_from_samples_is_a_16_bit_wav(files: MediaFiles) -> None:
    x = np.sin(np.linspace(0, 50, 800)) * 0.9
    x[3] = 1.5  # clipped to 1, with one warning a key
    with pytest.warns(UserWarning, match=r"key 'tone' has samples from -0\.\d+ to 1.5, outside"):
        payload, (sound,) = read_back(files, Audio(x, sample_rate=8000, caption="tone"), "tone")
    prepare("tone", Audio(x, sample_rate=8000))  # said once: a second warning is an error
    (item,) = payload["items"]
    assert item == {"file": item["file"], "format": "wav", "sample_rate": 8000,
                    "duration": 0.1, "caption": "tone"}  # fmt: skip
    with wave.open(io.BytesIO(sound.data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
        samples = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    expected = [round(min(v, 1.0) * 32767) for v in x.tolist()]
    assert samples.tolist() == expected
    assert sound.sample_rate == 8000 and sound.duration == 0.1
    stereo = encode(files, Audio(np.zeros((100, 2), np.float32), sample_rate=100))
    with wave.open(io.BytesIO(files.read(stereo["items"][0]["file"]))) as w:
        assert w.getnchannels() == 2 and w.getnframes() == 100


def test_an_audio_file(files: MediaFiles, tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(4000)
        w.writeframes(b"\x00\x00" * 2000)
    (item,) = encode(files, Audio(path))["items"]
    assert (item["format"], item["sample_rate"], item["duration"]) == ("wav", 4000, 0.5)
    mp3 = tmp_path / "a.mp3"
    mp3.write_bytes(b"ID3 not really")
    (item,) = encode(files, [Audio(mp3, sample_rate=44100)])["items"]
    assert (item["format"], item["sample_rate"], item["duration"]) == ("mp3", 44100, None)


def test_html(files: MediaFiles, tmp_path: Path) -> None:
    payload, (page,) = read_back(files, Html("<b>héllo</b>"))
    (item,) = payload["items"]
    assert item["file"].endswith(".html") and item["bytes"] == len("<b>héllo</b>".encode())
    assert item["caption"] is None and page.text == "<b>héllo</b>"
    path = tmp_path / "page.html"
    path.write_text("<i>file</i>")
    assert encode(files, Html(str(path)))["items"][0]["file"] == files.put(b"<i>file</i>", ".html")
    with open(path) as f:
        entry = prepare("k", Html(f))
    assert files.read(entry.encode(files).payload["items"][0]["file"]) == b"<i>file</i>"
    two = encode(files, [Html("<p>1</p>"), Html("<p>2</p>")])
    assert len(two["items"]) == 2


def test_objects_that_are_not_stored_can_be_built() -> None:
    obj = Object3D(np.zeros((10, 3)), caption="points")
    assert obj.caption == "points"
    with pytest.raises(TypeError, match=r"key 'mol' is a wandb\.Molecule"):
        prepare("mol", [Molecule("a.pdb")])


def test_read_back_images_can_be_logged_again(files: MediaFiles) -> None:
    _, (img,) = read_back(files, Image(_u8(6, 6, 3), caption="c"))
    payload = encode(files, img)
    assert payload["items"][0]["file"] == img.path.name and payload["items"][0]["caption"] == "c"


def test_the_clipping_warning_points_at_the_callers_line() -> None:
    with pytest.warns(UserWarning, match="key 'clip3'") as record:
        prepare("clip3", [Image(np.full((2, 2), 2.0)), Image(np.full((2, 2), 2.0))])
    assert record[0].filename == __file__


def test_one_function_names_a_payloads_files_for_sync_server_and_artifacts() -> None:
    from nbtrack.artifacts import _media as artifact_media
    from nbtrack.sync import frames

    assert frames.file_names is media.file_names is artifact_media.file_names
    payload = {
        "columns": ["image"],
        "data": [[{"_type": "image", "file": "a.png", "thumb": "b.png", "masks": [
            {"name": "m", "file": "c.png", "thumb": "c.png"}
        ]}], [{"_type": "image", "file": "a.png", "thumb": "b.png"}]],
    }  # fmt: skip
    assert media.file_names(payload) == ["a.png", "b.png", "c.png"]
    assert media.file_names({"items": [{"file": 3, "thumb": None}]}) == []

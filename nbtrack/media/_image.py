"""`Image`: pixels from NumPy, torch, PIL or a file, with masks and boxes.

`prepare_images` (called by `log()` through `nbtrack.media.prepare`) checks every image and
copies its pixels; `encode_images` (on the writer thread) turns the copies into PNG files and
thumbnails. A list of same-shaped NumPy images, the common case of a batch, is checked and
copied as one block: one copy and one min/max for the whole batch, not one per image.
"""

from __future__ import annotations

import io
import math
import os
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from nbtrack.media import _encode
from nbtrack.media._base import Media, json_number, read_file, text, warn_clipped, where
from nbtrack.media._prepare import MediaEntry

T = TypeVar("T")

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

    from nbtrack.store.media_files import MediaFiles

MAX_PIXELS = 1 << 26  # 8192 x 8192
SHAPES = "an image is HW, HWC or CHW with C in 1, 3, 4"
# The first bytes of the image files `Image(path)` takes.
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
)

# One source of pixels, as prepare copied it: (what, data, layout) with `what` one of
# "np" (a NumPy copy), "dev" (a torch clone on its accelerator), "pil" (a PIL copy),
# "file" (a path, read at encode time), "png" (the bytes of a PNG, e.g. a rendered figure).
Source = tuple[str, Any, str]


class Image(Media):
    """An image, as W&B's ``wandb.Image``: a NumPy array or torch tensor (HW, HWC, CHW), a
    PIL image, a path to a PNG/JPEG/GIF/BMP/WebP file, or a matplotlib figure.

    >>> run.log({"preds": [nbtrack.Image(x, caption=f"label {y}") for x, y in batch]})

    uint8 pixels are kept as they are; floats are taken as [0, 1] (clipped, with one
    warning a key); bool is black and white. The pixels are copied when `log()` takes the
    image (the array may change afterwards) and stored as an exact PNG with a thumbnail. A
    tensor on an accelerator is copied there (no sync in `log()`) and read back by the run's
    writer thread, which checks it for NaN and infinite pixels only then: such an image is
    not stored, and the writer warns naming its key and step.

    `masks` and `boxes` take W&B's forms:
    ``masks={"seg": {"mask_data": ids_hw, "class_labels": {0: "bg", 1: "cat"}}}``,
    ``boxes={"pred": {"box_data": [{"position": {"minX": .1, "maxX": .5, "minY": .2,
    "maxY": .6}, "class_id": 1, "box_caption": "cat", "scores": {"p": .9}}],
    "class_labels": {1: "cat"}}}`` (``"domain": "pixel"`` for pixel positions, and
    ``{"middle": [x, y], "width": w, "height": h}`` positions too).
    """

    kind = "image"
    _log_type = "image-file"

    def __init__(
        self,
        data_or_path: Any,
        mode: str | None = None,
        caption: str | None = None,
        grouping: int | None = None,
        classes: Any = None,
        boxes: Mapping[str, Any] | None = None,
        masks: Mapping[str, Any] | None = None,
        file_type: str | None = None,
        normalize: bool = True,
    ) -> None:
        self.data_or_path = data_or_path
        self.mode = mode
        self.caption = caption
        self.grouping = grouping
        self.classes = classes
        self.boxes = boxes
        self.masks = masks
        self.file_type = file_type
        self.normalize = normalize

    @property
    def image(self) -> PILImage:
        """The image as PIL draws it (W&B's ``Image.image``)."""
        src, _ = snapshot(repr(self), None, self.data_or_path)
        return to_pil(repr(self), None, src, self.mode)[0]

    def numpy(self) -> Any:
        """The pixels nbtrack stores: uint8 HxW (grayscale), HxWx3 or HxWx4."""
        import numpy as np

        return np.asarray(self.image)

    def __repr__(self) -> str:
        data = self.data_or_path
        shape = getattr(data, "shape", None)
        what = f"shape {tuple(shape)}" if shape is not None else type(data).__name__
        if isinstance(data, (str, os.PathLike)):
            what = repr(os.fspath(data))
        return f"<nbtrack.Image {what}{f' {self.caption!r}' if self.caption else ''}>"


# -- prepare (the training thread) ------------------------------------------------------------


def prepare_images(key: str, value: Any) -> MediaEntry:
    """Check and copy one Image or a list of them; the entry encodes them later."""
    images: Sequence[Any] = value if isinstance(value, (list, tuple)) else (value,)
    listed = isinstance(value, (list, tuple))
    block = _block(key, images)
    if block is not None:
        return block
    sources: list[Source] = []
    extras: list[tuple[Any, list[Any], list[Any]]] = []
    nbytes = 0
    for i, im in enumerate(images):
        index = i if listed else None
        if not isinstance(im, Image):
            raise TypeError(
                f"nbtrack.log: {where(key, index, 'item')} is a {type(im).__name__} in a list "
                "of images; log one kind of media a key"
            )
        src, size = snapshot(key, index, im.data_or_path)
        hw = size_of(src)
        masks = check_masks(key, index, im.masks, hw, im.classes)
        boxes = check_boxes(key, index, im.boxes, im.classes)
        caption = text(key, f"image {i} caption" if listed else "caption", im.caption)
        sources.append(src)
        extras.append((caption, masks, boxes, im.mode))  # type: ignore[arg-type]
        nbytes += size + sum(m[1].nbytes for m in masks)
    return MediaEntry(
        key, "image", nbytes, lambda files: encode_images(key, files, sources, extras)
    )


def _block(key: str, images: Sequence[Any]) -> MediaEntry | None:
    """The fast path: two or more plain NumPy images (or CPU tensors) of one shape and dtype,
    copied in one go. None when the list is anything else (then each image is taken on its
    own)."""
    np = sys.modules.get("numpy")
    if np is None or len(images) < 2:
        return None
    first = images[0]
    if type(first) is not Image:
        return None
    a0 = first.data_or_path
    tp = type(a0)
    if tp is np.ndarray:
        taken = _numpy_block(key, images, a0)
    else:
        torch = sys.modules.get("torch")
        if torch is None or not isinstance(a0, torch.Tensor):
            return None
        taken = _torch_block(key, images, a0, torch)
    if taken is None:
        return None
    block, layout, lo_hi = taken
    kind = block.dtype.kind
    if kind == "f" or (kind in "iu" and block.dtype != np.uint8):
        _check_range(key, None, block, kind, lo_hi)
    captions = [
        None if im.caption is None else text(key, f"image {i} caption", im.caption)
        for i, im in enumerate(images)
    ]

    def encode(files: MediaFiles) -> dict[str, Any]:
        items = []
        shown = zip(pixels(block, layout, batched=True), captions, strict=True)
        for a, caption in handing_over(shown):
            item = _encode.put_pixels(files, a)
            item.update(caption=_caption(caption), masks=[], boxes=[])
            items.append(item)
        return {"items": items}

    return MediaEntry(key, "image", block.nbytes, encode)


def _plain(images: Sequence[Any], tp: Any, shape: Any, dtype: Any) -> bool:
    """Every item a plain Image (no masks, boxes or mode) of data of this type and dtype, and
    of this shape unless `shape` is None (tensors: `torch.stack` refuses other shapes, and a
    tensor's shape costs more to read than the check saves)."""
    for im in images:
        if type(im) is not Image or im.masks is not None or im.boxes is not None:
            return False
        a = im.data_or_path
        if type(a) is not tp or a.dtype != dtype or im.mode is not None:
            return False
        if shape is not None and a.shape != shape:
            return False
    return True


_Block = tuple[Any, str, "tuple[float, float] | None"]  # pixels, layout, (lowest, highest)


def _numpy_block(key: str, images: Sequence[Any], a0: Any) -> _Block | None:
    import numpy as np

    shape, dtype = a0.shape, a0.dtype
    if not _plain(images, np.ndarray, shape, dtype):
        return None
    layout = _layout(key, 0, shape, chw_first=False)
    if dtype.kind not in "biuf":
        _bad_dtype(key, 0, dtype)
    return np.array([im.data_or_path for im in images]), layout, None  # the snapshot: one copy


def _torch_block(key: str, images: Sequence[Any], t0: Any, torch: Any) -> _Block | None:
    """CPU tensors of one shape and dtype, stacked into one NumPy copy (torchvision's CHW
    layout rule), and the copy's lowest and highest value for floats; None for anything
    else, a tensor on an accelerator included.

    Few torch calls: each lets go of the GIL, and on return waits for it while the writer
    thread holds it, which on the training thread costs more than the call."""
    if t0.device.type != "cpu":
        return None
    shape, dtype = t0.shape, t0.dtype
    if not _plain(images, type(t0), None, dtype):
        return None
    layout = _layout(key, 0, tuple(shape), chw_first=True)
    if t0.is_complex() or not (t0.is_floating_point() or dtype in _int_dtypes(torch)):
        _bad_dtype(key, 0, dtype)
    try:
        stacked = torch.stack([im.data_or_path for im in images])  # the snapshot: one copy
    except RuntimeError:  # other shapes, or tensors on several devices: one by one
        return None
    if stacked.requires_grad:
        stacked = stacked.detach()
    lo_hi = None
    if stacked.is_floating_point():
        lo, hi = torch.aminmax(stacked)  # NaN when any pixel is NaN
        lo_hi = (lo.item(), hi.item())
    if stacked.dtype == torch.bfloat16:
        stacked = stacked.float()
    return stacked.numpy(), layout, lo_hi  # a new tensor: no conjugate or negative view


def snapshot(key: str, index: int | None, data: Any) -> tuple[Source, int]:
    """Check one image's data and copy it: its source and the bytes the copy holds."""
    np = sys.modules.get("numpy")
    if np is not None and isinstance(data, np.ndarray):
        _layout_checked = _layout(key, index, data.shape, chw_first=False)
        if data.dtype.kind not in "biuf":
            _bad_dtype(key, index, data.dtype)
        a = np.array(data)
        if a.dtype.kind == "f" or (a.dtype.kind in "iu" and a.dtype != np.uint8):
            _check_range(key, index, a[None], a.dtype.kind)
        return ("np", a, _layout_checked), a.nbytes
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(data, torch.Tensor):
        layout = _layout(key, index, tuple(data.shape), chw_first=True)
        if data.is_complex() or not (data.is_floating_point() or data.dtype in _int_dtypes(torch)):
            _bad_dtype(key, index, data.dtype)
        t = data.detach()
        if t.device.type != "cpu":
            # Copied on the device, without a sync; the writer reads it back (and checks
            # it for NaN there: a NaN found then drops this entry with a warning).
            clone = t.clone()
            return ("dev", clone, layout), clone.numel() * clone.element_size()
        import numpy

        a = numpy.array(_tensor_numpy(t, torch))
        if a.dtype.kind == "f" or (a.dtype.kind in "iu" and a.dtype != numpy.uint8):
            _check_range(key, index, a[None], a.dtype.kind)
        return ("np", a, layout), a.nbytes
    pil = sys.modules.get("PIL.Image")
    if pil is not None and isinstance(data, pil.Image):
        w, h = data.size
        _check_size(key, index, h, w, (h, w))
        copy = data.copy()
        return ("pil", copy, ""), w * h * len(copy.getbands())
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        _sniff(key, index, path)
        return ("file", path, ""), 0
    if hasattr(data, "savefig"):  # a matplotlib figure: drawn now, as it looks now
        buf = io.BytesIO()
        data.savefig(buf, format="png")
        return ("png", buf.getvalue(), ""), buf.tell()
    if isinstance(data, Image):
        return snapshot(key, index, data.data_or_path)
    raise TypeError(
        f"nbtrack.log: {where(key, index, 'image')} is made of a {type(data).__name__}; an "
        "Image takes a NumPy array, a torch tensor, a PIL image, an image file's path or a "
        "matplotlib figure"
    )


def _layout(key: str, index: int | None, shape: tuple[int, ...], chw_first: bool) -> str:
    """ "HW", "HWC" or "CHW" for an image of `shape`, or the ValueError naming the shape.

    NumPy images are HWC unless the last dimension cannot be channels; torch images are CHW
    whenever the first dimension can be channels (torchvision's layout)."""
    nd = len(shape)
    if nd == 2:
        layout, h, w = "HW", shape[0], shape[1]
    elif nd == 3 and chw_first and shape[0] in (1, 3, 4):
        layout, h, w = "CHW", shape[1], shape[2]
    elif nd == 3 and shape[2] in (1, 3, 4):
        layout, h, w = "HWC", shape[0], shape[1]
    elif nd == 3 and shape[0] in (1, 3, 4) and shape[1] > 4 and shape[2] > 4:
        layout, h, w = "CHW", shape[1], shape[2]
    else:
        raise ValueError(
            f"nbtrack.log: {where(key, index, 'image')} has shape {tuple(shape)}: {SHAPES}"
        )
    _check_size(key, index, h, w, shape)
    return layout


def _check_size(key: str, index: int | None, h: int, w: int, shape: tuple[int, ...]) -> None:
    if h == 0 or w == 0 or 0 in shape:
        raise ValueError(
            f"nbtrack.log: {where(key, index, 'image')} has shape {tuple(shape)}, with no "
            "pixels: an image needs at least one"
        )
    if h * w > MAX_PIXELS:
        raise ValueError(
            f"nbtrack.log: {where(key, index, 'image')} is {w} x {h} pixels ({w * h:,}), more "
            f"than nbtrack keeps ({MAX_PIXELS:,}, e.g. 8192 x 8192): resize it before logging"
        )


def _bad_dtype(key: str, index: int | None, dtype: Any) -> None:
    raise TypeError(
        f"nbtrack.log: {where(key, index, 'image')} has pixels of dtype {dtype}; an image "
        "takes uint8 (0..255), float (0..1), bool or integers"
    )


def _check_range(
    key: str, index: int | None, block: Any, kind: str, lo_hi: tuple[float, float] | None = None
) -> None:
    """NaN or infinite float pixels: a ValueError naming the image; values that will be
    clipped: one warning a key. `block` holds the images along its first axis; `lo_hi`, its
    lowest and highest value when known."""
    lo, hi = lo_hi if lo_hi is not None else (float(block.min()), float(block.max()))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        import numpy as np

        flat = block.reshape(len(block), -1)
        nan = np.isnan(flat).any(axis=1)
        bad = nan | np.isinf(flat).any(axis=1)
        i = int(np.argmax(bad))
        which = index if index is not None else (i if len(block) > 1 else None)
        what = "NaN" if nan[i] else "infinite"
        raise ValueError(
            f"nbtrack.log: {where(key, which, 'image')} has {what} pixels; replace them "
            "(e.g. np.nan_to_num) before logging it"
        )
    top = 1.0 if kind == "f" else 255.0
    if lo < 0 or hi > top:
        shown = "[0, 1] (floats are taken as [0, 1])" if kind == "f" else "0..255"
        warn_clipped("pixels", key, lo, hi, shown)


def _int_dtypes(torch: Any) -> tuple[Any, ...]:
    return (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.bool)


def _tensor_numpy(t: Any, torch: Any) -> Any:
    """A CPU tensor as NumPy (bfloat16, which NumPy lacks, as float32)."""
    if t.dtype == torch.bfloat16:
        t = t.float()
    return t.resolve_conj().resolve_neg().numpy()


def _sniff(key: str, index: int | None, path: str) -> None:
    """A path must name an image file: checked now, read by the writer."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"nbtrack.log: {where(key, index, 'image')} names the file {path!r}, which does "
            "not exist"
        ) from None
    except IsADirectoryError:
        raise ValueError(
            f"nbtrack.log: {where(key, index, 'image')} names {path!r}, a folder, not an image file"
        ) from None
    if any(head.startswith(sig) for sig, _ in SIGNATURES):
        return
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return
    raise ValueError(
        f"nbtrack.log: {where(key, index, 'image')} names {path!r}, which is not an image "
        "file (PNG, JPEG, GIF, BMP or WebP)"
    )


def size_of(src: Source) -> tuple[int, int] | None:
    """(h, w) of a source, when known without reading a file."""
    what, data, layout = src
    if what in ("np", "dev"):
        shape = tuple(data.shape)
        return (shape[1], shape[2]) if layout == "CHW" else (shape[0], shape[1])
    if what == "pil":
        return data.size[1], data.size[0]
    return None


def labels_of(key: str, index: int | None, given: Any, classes: Any, what: str) -> dict[str, str]:
    """Class labels as the payload keeps them: {"<id>": name}. From `class_labels`, or
    else from the Image's `classes` (W&B's list of {"id": .., "name": ..})."""
    if given is None and isinstance(classes, (list, tuple)):
        given = {c["id"]: c["name"] for c in classes if isinstance(c, Mapping) and "id" in c}
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        raise TypeError(
            f"nbtrack.log: {where(key, index, 'image')} {what} class_labels must be a dict "
            f"of class id -> name, not {type(given).__name__}"
        )
    out = {}
    for k, v in given.items():
        if isinstance(k, bool) or not hasattr(k, "__index__"):
            raise TypeError(
                f"nbtrack.log: {where(key, index, 'image')} {what} class_labels keys must be "
                f"int class ids, not {type(k).__name__} {k!r}"
            )
        out[str(k.__index__())] = str(v)
    return out


def check_masks(
    key: str, index: int | None, masks: Any, hw: tuple[int, int] | None, classes: Any
) -> list[tuple[str, Any, dict[str, str]]]:
    """Each mask as (name, a copy of its class ids, labels)."""
    if masks is None:
        return []
    if not isinstance(masks, Mapping):
        raise TypeError(
            f"nbtrack.log: {where(key, index, 'image')} masks must be a dict of name -> "
            f'{{"mask_data": ..., "class_labels": ...}}, not {type(masks).__name__}'
        )
    import numpy as np

    out = []
    for name, m in masks.items():
        what = f"mask {name!r}"
        if not isinstance(m, Mapping) or "mask_data" not in m:
            raise TypeError(
                f"nbtrack.log: {where(key, index, 'image')} {what} must be a dict with "
                '"mask_data" (an HxW array of class ids) and "class_labels"'
            )
        data = m["mask_data"]
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(data, torch.Tensor):
            data = data.detach().cpu().numpy()
        a = np.array(data)
        if a.ndim != 2 or a.size == 0:
            raise ValueError(
                f"nbtrack.log: {where(key, index, 'image')} {what} has shape {a.shape}; a mask "
                "is HxW class ids, the image's height and width"
            )
        if hw is not None and a.shape != hw:
            raise ValueError(
                f"nbtrack.log: {where(key, index, 'image')} {what} is {a.shape[0]} x "
                f"{a.shape[1]} (HxW), the image {hw[0]} x {hw[1]}: they must match"
            )
        if a.dtype.kind not in "biu":
            raise TypeError(
                f"nbtrack.log: {where(key, index, 'image')} {what} has dtype {a.dtype}; class "
                "ids are integers"
            )
        lo, hi = int(a.min()), int(a.max())
        if lo < 0 or hi > 65535:
            raise ValueError(
                f"nbtrack.log: {where(key, index, 'image')} {what} holds class ids from {lo} "
                f"to {hi}; they must be in 0..65535"
            )
        a = a.astype(np.uint8 if hi <= 255 else np.uint16, copy=False)
        out.append((str(name), a, labels_of(key, index, m.get("class_labels"), classes, what)))
    return out


def check_boxes(key: str, index: int | None, boxes: Any, classes: Any) -> list[Any]:
    """Each box set as (name, labels, [(x0, y0, x1, y1, pixel, class_id, caption, scores)])."""
    if boxes is None:
        return []
    if not isinstance(boxes, Mapping):
        raise TypeError(
            f"nbtrack.log: {where(key, index, 'image')} boxes must be a dict of name -> "
            f'{{"box_data": [...], "class_labels": ...}}, not {type(boxes).__name__}'
        )
    out = []
    for name, group in boxes.items():
        what = f"box set {name!r}"
        if not isinstance(group, Mapping) or not isinstance(group.get("box_data"), (list, tuple)):
            raise TypeError(
                f"nbtrack.log: {where(key, index, 'image')} {what} must be a dict with "
                '"box_data" (a list of boxes) and "class_labels"'
            )
        rows = [check_box(key, index, what, j, b) for j, b in enumerate(group["box_data"])]
        labels = labels_of(key, index, group.get("class_labels"), classes, what)
        out.append((str(name), labels, rows))
    return out


def check_box(key: str, index: int | None, what: str, j: int, box: Any) -> tuple[Any, ...]:
    here = f"nbtrack.log: {where(key, index, 'image')} {what} box {j}"
    if not isinstance(box, Mapping) or not isinstance(box.get("position"), Mapping):
        raise TypeError(f'{here} must be a dict with "position" (and "class_id", ...)')
    pos = box["position"]
    try:
        if "middle" in pos:
            mx, my = (float(v) for v in pos["middle"])
            bw, bh = float(pos["width"]), float(pos["height"])
            x0, x1, y0, y1 = mx - bw / 2, mx + bw / 2, my - bh / 2, my + bh / 2
        else:
            x0, x1 = float(pos["minX"]), float(pos["maxX"])
            y0, y1 = float(pos["minY"]), float(pos["maxY"])
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(
            f'{here} position must be {{"minX", "maxX", "minY", "maxY"}} or {{"middle": [x, y], '
            f'"width", "height"}} numbers ({e!r})'
        ) from None
    if not all(math.isfinite(v) for v in (x0, x1, y0, y1)):
        raise ValueError(f"{here} has a position that is not finite")
    domain = box.get("domain")
    if domain not in (None, "pixel"):
        raise ValueError(f'{here} domain must be "pixel" or left out (fractions), not {domain!r}')
    class_id = box.get("class_id", 0)
    if isinstance(class_id, bool) or not hasattr(class_id, "__index__"):
        raise TypeError(f"{here} class_id must be an int, not {type(class_id).__name__}")
    caption = box.get("box_caption")
    scores = box.get("scores") or {}
    if not isinstance(scores, Mapping):
        raise TypeError(f"{here} scores must be a dict of name -> number")
    try:
        kept = {str(k): float(v) for k, v in scores.items()}
    except (TypeError, ValueError):
        raise TypeError(f"{here} scores must be numbers") from None
    return (
        min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1), domain == "pixel",
        class_id.__index__(), None if caption is None else str(caption), kept,
    )  # fmt: skip


# -- encode (the writer thread) ---------------------------------------------------------------


def pixels(a: Any, layout: str, batched: bool = False) -> Any:
    """uint8 pixels HxW, HxWx3 or HxWx4 of a checked array in `layout` (or a batch of them,
    NxHxW..., when `batched`: converted in one go)."""
    import numpy as np

    n = int(batched)
    if layout == "CHW":
        a = a.transpose(*range(n), n + 1, n + 2, n)
    if a.ndim == n + 3 and a.shape[n + 2] == 1:
        a = a[..., 0]
    kind = a.dtype.kind
    if kind == "b":
        a = a.astype(np.uint8) * np.uint8(255)
    elif kind == "f":
        a = np.rint(np.clip(a, 0.0, 1.0) * 255.0).astype(np.uint8)
    elif a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(a)


def to_pil(
    key: str, index: int | None, src: Source, mode: str | None
) -> tuple[PILImage, bytes, str]:
    """The PIL image of a source, and its full file (bytes and extension): an exact PNG, or
    a PNG/JPEG file's own bytes."""
    from PIL import Image as PIL

    what, data, layout = src
    if what == "dev":
        import numpy as np

        torch = sys.modules["torch"]
        a = _tensor_numpy(data.cpu(), torch)
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise ValueError(
                f"nbtrack.log: {where(key, index, 'image')} (a tensor on {data.device}) has NaN "
                "or infinite pixels; it is not stored"
            )
        what, data = "np", a
    if what == "np":
        img = _encode.to_pil(pixels(data, layout))
        if mode in ("L", "RGB", "RGBA") and img.mode != mode:
            img = img.convert(mode)
        return img, _encode.png(img), ".png"
    if what == "pil":
        img = _encode.displayable(data)
        if mode in ("L", "RGB", "RGBA") and img.mode != mode:
            img = img.convert(mode)
        return img, _encode.png(img), ".png"
    raw = read_file(key, index, "image", data) if what == "file" else data
    try:
        img = PIL.open(io.BytesIO(raw))
    except Exception as e:
        raise ValueError(
            f"nbtrack.log: {where(key, index, 'image')} file {data if what == 'file' else ''!r} "
            f"is not an image PIL can read ({e})"
        ) from None
    w, h = img.size
    _check_size(key, index, h, w, (h, w))
    if img.format == "PNG" and mode is None:
        return img, raw, ".png"
    if img.format == "JPEG" and mode is None:
        return img, raw, ".jpg"
    img = _encode.displayable(img)  # a GIF's first frame, a BMP, a WebP: stored as PNG
    if mode in ("L", "RGB", "RGBA") and img.mode != mode:
        img = img.convert(mode)
    return img, _encode.png(img), ".png"


def encode_one(
    key: str,
    index: int | None,
    files: MediaFiles,
    src: Source,
    extra: tuple[Any, list[Any], list[Any], Any],
    limit: int = _encode.THUMB,
) -> dict[str, Any]:
    """The payload item of one image (its files written to `files`)."""
    caption, masks, boxes, mode = extra
    img, full, ext = to_pil(key, index, src, mode)
    item = _encode.put_image(files, img, full, ext, limit)
    item["caption"] = _caption(caption)
    item["masks"] = [_put_mask(key, index, files, m, item) for m in masks]
    w, h = item["w"], item["h"]
    item["boxes"] = [
        {"name": name, "labels": labels, "boxes": [_box_payload(b, w, h) for b in rows]}
        for name, labels, rows in boxes
    ]
    return item


def handing_over(items: Iterable[T]) -> Iterator[T]:
    """`items`, the GIL handed to the training thread between them: the writer encodes a
    list's images one after another, and `log()` must not wait for the whole list (after the
    last, the writer hands it over itself, as after every entry)."""
    for i, item in enumerate(items):
        if i:
            time.sleep(0)
        yield item


def encode_images(
    key: str, files: MediaFiles, sources: list[Source], extras: list[Any]
) -> dict[str, Any]:
    listed = len(sources) > 1
    return {
        "items": [
            encode_one(key, i if listed else None, files, src, extra)
            for i, (src, extra) in handing_over(enumerate(zip(sources, extras, strict=True)))
        ]
    }


def _caption(caption: Any) -> str | None:
    return None if caption is None else str(caption)


def _put_mask(
    key: str, index: int | None, files: MediaFiles, mask: Any, item: dict[str, Any]
) -> dict[str, Any]:
    from PIL import Image as PIL

    name, ids, labels = mask
    if ids.shape != (item["h"], item["w"]):
        raise ValueError(
            f"nbtrack.log: {where(key, index, 'image')} mask {name!r} is {ids.shape[0]} x "
            f"{ids.shape[1]} (HxW), the image {item['h']} x {item['w']}: they must match"
        )
    img = PIL.fromarray(ids)  # uint8: mode L; uint16: I;16
    file = files.put(_encode.png(img), ".png")
    if (item["tw"], item["th"]) == (item["w"], item["h"]):
        thumb = file
    else:
        small = img.resize((item["tw"], item["th"]), PIL.Resampling.NEAREST)
        thumb = files.put(_encode.png(small), ".png")
    return {"name": name, "file": file, "thumb": thumb, "labels": labels}


def _box_payload(b: tuple[Any, ...], w: int, h: int) -> dict[str, Any]:
    x0, y0, x1, y1, pixel, class_id, caption, scores = b
    if pixel:
        x0, x1, y0, y1 = x0 / w, x1 / w, y0 / h, y1 / h

    def frac(v: float) -> float:
        return min(1.0, max(0.0, v))

    return {
        "x0": frac(x0), "y0": frac(y0), "x1": frac(x1), "y1": frac(y1), "class_id": class_id,
        "caption": caption, "scores": {k: json_number(v) for k, v in scores.items()},
    }  # fmt: skip

"""Media read back from the store, for the Api: `decode(kind, payload, files)`.

What comes back are the logging types themselves (an `Image` read back is an
`nbtrack.Image` of the stored file, and can be logged again), with what the store knows
about them: `.path`, `.data` (the bytes), the sizes, and an image's masks and boxes in
W&B's input form (box positions as fractions).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbtrack.media._av import Audio, Html, Video
from nbtrack.media._base import from_json_number
from nbtrack.media._image import Image

if TYPE_CHECKING:
    from nbtrack.store.media_files import MediaFiles


class StoredImage(Image):
    """An image read back: ``.numpy()`` (the stored pixels), ``.image`` (PIL), ``.caption``,
    ``.masks`` ({name: {"mask_data": HxW ids, "class_labels": {id: name}}}), ``.boxes``."""

    def __init__(self, item: dict[str, Any], files: MediaFiles) -> None:
        self.path: Path = files.path(item["file"])
        self.thumb_path: Path = files.path(item["thumb"])
        self.width: int = item["w"]
        self.height: int = item["h"]
        super().__init__(
            self.path,
            caption=item.get("caption"),
            masks={m["name"]: _mask(m, files) for m in item.get("masks", [])} or None,
            boxes={b["name"]: _box_set(b) for b in item.get("boxes", [])} or None,
        )

    @property
    def data(self) -> bytes:
        """The stored file's bytes (a PNG, or the JPEG that was logged)."""
        return self.path.read_bytes()

    def __repr__(self) -> str:
        caption = f" {self.caption!r}" if self.caption else ""
        return f"<nbtrack.Image {self.width}x{self.height}{caption} (stored)>"


def _mask(m: dict[str, Any], files: MediaFiles) -> dict[str, Any]:
    import numpy as np
    from PIL import Image as PIL

    with PIL.open(files.path(m["file"])) as img:
        ids = np.asarray(img)
    return {"mask_data": ids, "class_labels": {int(k): v for k, v in m["labels"].items()}}


def _box_set(b: dict[str, Any]) -> dict[str, Any]:
    return {
        "box_data": [
            {
                "position": {"minX": x["x0"], "maxX": x["x1"], "minY": x["y0"], "maxY": x["y1"]},
                "class_id": x["class_id"],
                "box_caption": x["caption"],
                "scores": {k: from_json_number(v) for k, v in x["scores"].items()},
            }
            for x in b["boxes"]
        ],
        "class_labels": {int(k): v for k, v in b["labels"].items()},
    }


class _Stored:
    path: Path

    @property
    def data(self) -> bytes:
        """The stored file's bytes."""
        return self.path.read_bytes()


class StoredVideo(_Stored, Video):
    """A video read back: ``.path``, ``.data``, ``.format``, ``.fps``, ``.frames``, ``.w``,
    ``.h`` (None for an mp4/webm/ogg file), ``.caption``."""

    def __init__(self, item: dict[str, Any], files: MediaFiles) -> None:
        self.path = files.path(item["file"])
        super().__init__(self.path, caption=item.get("caption"), fps=item.get("fps"))
        self.format = item["format"]
        self.frames: int | None = item.get("frames")
        self.w: int | None = item.get("w")
        self.h: int | None = item.get("h")

    def __repr__(self) -> str:
        return f"<nbtrack.Video {self.format} {self.frames} frames (stored)>"


class StoredAudio(_Stored, Audio):
    """A sound read back: ``.path``, ``.data``, ``.format``, ``.sample_rate``,
    ``.duration`` (seconds; None when unknown), ``.caption``."""

    def __init__(self, item: dict[str, Any], files: MediaFiles) -> None:
        self.path = files.path(item["file"])
        super().__init__(
            self.path, sample_rate=item.get("sample_rate"), caption=item.get("caption")
        )
        self.format: str = item["format"]
        self.duration: float | None = item.get("duration")

    def __repr__(self) -> str:
        return f"<nbtrack.Audio {self.format} {self.duration}s (stored)>"


class StoredHtml(_Stored, Html):
    """A page read back: ``.path``, ``.data`` (bytes), ``.text``, ``.caption``."""

    def __init__(self, item: dict[str, Any], files: MediaFiles) -> None:
        self.path = files.path(item["file"])
        super().__init__(self.path)
        self.caption: str | None = item.get("caption")
        self.bytes: int = item["bytes"]

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")

    def __repr__(self) -> str:
        return f"<nbtrack.Html {self.bytes} bytes (stored)>"


class Plot:
    """A chart read back: ``.plot`` (its kind, e.g. "confusion_matrix"), ``.title``,
    ``.fields`` (which columns it draws), ``.table`` (a DataFrame, or a dict of column
    lists), ``.classes`` (a confusion matrix's class names, else None)."""

    def __init__(
        self, plot: str, title: str | None, fields: dict[str, Any], table: Any,
        classes: list[str] | None,
    ) -> None:  # fmt: skip
        self.plot = plot
        self.title = title
        self.fields = fields
        self.table = table
        self.classes = classes

    def __repr__(self) -> str:
        return f"<nbtrack plot {self.plot} {self.title!r}>"


def _cell(v: Any, files: MediaFiles) -> Any:
    if type(v) is dict:
        if v.get("_type") == "image":
            return StoredImage(v, files)
        return from_json_number(v)
    return v


def decode_rows(payload: dict[str, Any], files: MediaFiles) -> list[list[Any]]:
    """A table payload's rows, cells decoded (image cells as Images of the stored files)."""
    return [[_cell(v, files) for v in row] for row in payload["data"]]


def decode_table(payload: dict[str, Any], files: MediaFiles, pandas: bool = True) -> Any:
    """A table payload as a DataFrame (``pandas=False`` or without pandas: a dict of
    column lists)."""
    columns = payload["columns"]
    rows = decode_rows(payload, files)
    if pandas:
        import importlib

        try:
            pd = importlib.import_module("pandas")  # optional: a dict of lists without it
        except ImportError:
            pass
        else:
            return pd.DataFrame(rows, columns=columns)
    return {c: [row[i] for row in rows] for i, c in enumerate(columns)}


def decode(kind: str, payload: dict[str, Any], files: MediaFiles, pandas: bool = True) -> Any:
    """What the Api returns for one stored media entry.

    >>> decode("image", row.payload, store.media_files)[0].numpy().shape
    (28, 28)

    image: a list of Images; table: a DataFrame (or dict); plot: a `Plot`; video, audio,
    html: a list of Videos, Audios, Htmls.
    """
    if kind == "image":
        return [StoredImage(item, files) for item in payload["items"]]
    if kind == "table":
        return decode_table(payload, files, pandas)
    if kind == "plot":
        table = decode_table(payload["table"], files, pandas)
        return Plot(
            payload["plot"], payload.get("title"), payload["fields"], table, payload.get("classes")
        )
    if kind == "video":
        return [StoredVideo(item, files) for item in payload["items"]]
    if kind == "audio":
        return [StoredAudio(item, files) for item in payload["items"]]
    if kind == "html":
        return [StoredHtml(item, files) for item in payload["items"]]
    raise ValueError(f"nbtrack: media kind {kind!r} is not one nbtrack stores")

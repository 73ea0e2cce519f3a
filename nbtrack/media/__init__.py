"""W&B's media types, and how `log()` takes them (see the media contract).

>>> run.log({"preds": [nbtrack.Image(x, caption=str(y)) for x, y in batch],
...          "samples": nbtrack.Table(columns=["id", "text"], data=rows),
...          "cm": nbtrack.plot.confusion_matrix(y_true=y, preds=p, class_names=names)})

`prepare(key, value)` is what `log()` calls: it checks the value and copies it, returning
a `MediaEntry` that the run's writer thread encodes (`entry.encode(files)`) into files and
an `EncodedMedia` payload. `decode` reads a stored payload back for the Api.

Importing this package imports neither NumPy nor PIL: they load when an image is logged
(NumPy, as the user's arrays already have) or encoded (PIL, on the writer thread).
"""

from nbtrack.media import _prepare
from nbtrack.media._av import (
    Audio,
    Html,
    Molecule,
    Object3D,
    Video,
    prepare_audios,
    prepare_htmls,
    prepare_unstored,
    prepare_videos,
)
from nbtrack.media._base import Media, WBValue, file_names, is_media
from nbtrack.media._decode import Plot, decode, decode_rows
from nbtrack.media._image import Image, prepare_images
from nbtrack.media._plot import PLOT_NAMES, CustomChart, PlotNamespace, plot, prepare_plot
from nbtrack.media._prepare import EncodedMedia, MediaEntry, prepare
from nbtrack.media._table import Table, prepare_table

_prepare.PREPARERS.update(
    {
        Image: prepare_images,
        Table: prepare_table,
        CustomChart: prepare_plot,
        Video: prepare_videos,
        Audio: prepare_audios,
        Html: prepare_htmls,
        Object3D: prepare_unstored,
        Molecule: prepare_unstored,
    }
)
_prepare.LISTABLE.update({Image, Video, Audio, Html, Object3D, Molecule})

MEDIA_NAMES = ("Image", "Table", "Video", "Audio", "Html", "Object3D", "Molecule", "plot")

__all__ = [
    "MEDIA_NAMES",
    "PLOT_NAMES",
    "Audio",
    "CustomChart",
    "EncodedMedia",
    "Html",
    "Image",
    "Media",
    "MediaEntry",
    "Molecule",
    "Object3D",
    "Plot",
    "PlotNamespace",
    "Table",
    "Video",
    "WBValue",
    "decode",
    "decode_rows",
    "file_names",
    "is_media",
    "plot",
    "prepare",
]

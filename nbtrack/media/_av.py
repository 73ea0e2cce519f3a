"""`Video`, `Audio`, `Html`; and `Object3D`, `Molecule`, which can be built but not logged.

A video made of frames is stored as an animated GIF (PIL: nothing to install), a sound made
of samples as a 16-bit WAV (the standard library's `wave`); files are stored as they are.
"""

from __future__ import annotations

import math
import os
import sys
import wave
from typing import TYPE_CHECKING, Any

from nbtrack.media import _encode
from nbtrack.media._base import Media, read_file, warn_clipped, where
from nbtrack.media._prepare import MediaEntry

if TYPE_CHECKING:
    from nbtrack.store.media_files import MediaFiles

VIDEO_FILES = {".mp4": "mp4", ".webm": "webm", ".ogg": "ogg", ".ogv": "ogg", ".gif": "gif"}
AUDIO_FILES = {".wav": "wav", ".mp3": "mp3", ".ogg": "ogg", ".flac": "flac"}
DEFAULT_FPS = 4  # W&B's
MAX_VIDEO_BYTES = 1 << 30


class Video(Media):
    """A video, as W&B's ``wandb.Video``: a .mp4/.webm/.ogg/.gif file, or frames.

    >>> run.log({"rollout": nbtrack.Video(frames_tchw_uint8, fps=8)})

    Frames are a (T, C, H, W) or (N, T, C, H, W) uint8 array or tensor (C 1 or 3; N
    videos are tiled into a grid, as W&B does); other dtypes are clipped to 0..255 and cast,
    as W&B casts them. Frames are stored as an animated GIF: mp4 encoding is not built, so
    ``format="mp4"`` with frames is a ValueError (give an .mp4 file instead).
    """

    kind = "video"
    _log_type = "video-file"

    def __init__(
        self,
        data_or_path: Any,
        caption: str | None = None,
        fps: float | None = None,
        format: str | None = None,
    ) -> None:
        self.data_or_path = data_or_path
        self.caption = caption
        self.fps = fps
        self.format = format

    def __repr__(self) -> str:
        return f"<nbtrack.Video {_shown(self.data_or_path)}>"


class Audio(Media):
    """A sound, as W&B's ``wandb.Audio``: a .wav/.mp3/.ogg/.flac file, or samples.

    >>> run.log({"sample": nbtrack.Audio(wave_float, sample_rate=16000)})

    Samples are a 1-d or (samples, channels) float array in [-1, 1] (clipped), or int16;
    they are stored as a 16-bit WAV and need `sample_rate`.
    """

    kind = "audio"
    _log_type = "audio-file"

    def __init__(
        self, data_or_path: Any, sample_rate: int | None = None, caption: str | None = None
    ) -> None:
        self.data_or_path = data_or_path
        self.sample_rate = sample_rate
        self.caption = caption

    def __repr__(self) -> str:
        return f"<nbtrack.Audio {_shown(self.data_or_path)}>"


class Html(Media):
    """A page, as W&B's ``wandb.Html``: a string of HTML, a path to an .html file, or an
    open file. The dashboards show it in a sandboxed frame (scripts run, nothing of the
    page around it is reachable). `inject` is accepted: W&B adds its stylesheet, nbtrack
    stores the HTML as given."""

    kind = "html"
    _log_type = "html-file"

    def __init__(self, data: Any, inject: bool = True) -> None:
        self.html = data
        self.inject = inject

    def __repr__(self) -> str:
        return f"<nbtrack.Html {_shown(self.html)}>"


class Object3D(Media):
    """W&B's ``wandb.Object3D``: can be built (a script that makes one runs on), but
    logging one is a TypeError: nbtrack does not store 3-D objects."""

    kind = "object3d"
    _log_type = "object3D-file"

    def __init__(self, data_or_path: Any, caption: str | None = None, **kwargs: Any) -> None:
        self.data_or_path = data_or_path
        self.caption = caption
        self.options = kwargs


class Molecule(Media):
    """W&B's ``wandb.Molecule``: can be built, but logging one is a TypeError: nbtrack does
    not store molecules."""

    kind = "molecule"
    _log_type = "molecule-file"

    def __init__(self, data_or_path: Any, caption: str | None = None, **kwargs: Any) -> None:
        self.data_or_path = data_or_path
        self.caption = caption
        self.options = kwargs


def _shown(data: Any) -> str:
    if isinstance(data, (str, os.PathLike)):
        s = os.fspath(data)
        return repr(s if len(s) < 60 else s[:57] + "...")
    shape = getattr(data, "shape", None)
    return f"shape {tuple(shape)}" if shape is not None else type(data).__name__


def prepare_unstored(key: str, value: Any) -> MediaEntry:
    first = value[0] if isinstance(value, (list, tuple)) else value
    name = type(first).__name__
    raise TypeError(
        f"nbtrack.log: key {key!r} is a wandb.{name}, which nbtrack does not store; log an "
        "Image of it (a rendering) or keep the file as an Artifact"
    )


def _items(value: Any) -> tuple[list[Any], bool]:
    listed = isinstance(value, (list, tuple))
    return (list(value) if listed else [value]), listed


def _file(
    key: str, index: int | None, noun: str, path: Any, kinds: dict[str, str]
) -> tuple[str, str]:
    """(path, format) of a media file that must exist and have one of `kinds`' extensions."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in kinds:
        raise ValueError(
            f"nbtrack.log: {where(key, index, noun)} file {path!r} is not one of "
            f"{', '.join(sorted(kinds))}"
        )
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"nbtrack.log: {where(key, index, noun)} names the file {path!r}, which does not exist"
        )
    return path, kinds[ext]


def _numpy(value: Any) -> Any:
    """A NumPy copy of an array or a tensor (any device), or None for anything else."""
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, np.ndarray):
        return np.array(value)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        t = value.detach().cpu()
        return np.array((t.float() if t.dtype == torch.bfloat16 else t).numpy()) if np else None
    return None


# -- Video ------------------------------------------------------------------------------------


def prepare_videos(key: str, value: Any) -> MediaEntry:
    videos, listed = _items(value)
    snaps = []
    nbytes = 0
    for i, v in enumerate(videos):
        index = i if listed else None
        fmt = None if v.format is None else str(v.format).lower().lstrip(".")
        fps = v.fps
        if fps is not None and (
            isinstance(fps, bool) or not isinstance(fps, (int, float)) or not fps > 0
        ):
            raise ValueError(
                f"nbtrack.log: {where(key, index, 'video')} fps must be a number > 0, not {fps!r}"
            )
        data = v.data_or_path
        if isinstance(data, (str, os.PathLike)):
            path, ext_fmt = _file(key, index, "video", data, VIDEO_FILES)
            snaps.append(("file", path, fmt or ext_fmt, fps, v.caption))
            continue
        frames = _numpy(data)
        if frames is None:
            raise TypeError(
                f"nbtrack.log: {where(key, index, 'video')} is made of a {type(data).__name__}; a "
                "Video takes a file path or a (T, C, H, W) / (N, T, C, H, W) uint8 array or tensor"
            )
        if fmt not in (None, "gif"):
            raise ValueError(
                f"nbtrack.log: {where(key, index, 'video')} asks for format={fmt!r} from frames: "
                f"{fmt} encoding is not built into nbtrack; give an .{fmt} file, or use "
                'format="gif" (the default for frames)'
            )
        checked = _check_frames(key, index, frames)
        snaps.append(("frames", checked, "gif", fps, v.caption))
        nbytes += checked.nbytes
    return MediaEntry(key, "video", nbytes, lambda files: _encode_videos(key, files, snaps, listed))


def _check_frames(key: str, index: int | None, frames: Any) -> Any:
    """(T, H, W) or (T, H, W, 3) uint8 frames of a (T, C, H, W) or (N, T, C, H, W) array."""
    import numpy as np

    here = where(key, index, "video")
    if frames.ndim not in (4, 5) or 0 in frames.shape or frames.shape[-3] not in (1, 3, 4):
        raise ValueError(
            f"nbtrack.log: {here} has frames of shape {frames.shape}; a video is (T, C, H, W) "
            "or (N, T, C, H, W) with C in 1, 3, 4"
        )
    if frames.dtype.kind not in "biuf":
        raise TypeError(f"nbtrack.log: {here} has frames of dtype {frames.dtype}")
    if frames.dtype.kind == "f" and not np.isfinite(frames).all():
        raise ValueError(f"nbtrack.log: {here} has NaN or infinite pixels")
    if frames.dtype != np.uint8 and frames.dtype.kind != "b":
        lo, hi = float(frames.min()), float(frames.max())
        if lo < 0 or hi > 255:  # frames are 0..255 whatever their dtype, as W&B takes them
            warn_clipped("video pixels", key, lo, hi, "0..255 (video frames of any dtype)")
    if frames.ndim == 5:  # N videos side by side, a grid of rows x cols as W&B lays them out
        n = frames.shape[0]
        rows = 2 ** ((n.bit_length() - 1) // 2)
        cols = math.ceil(n / rows)
        pad = rows * cols - n
        if pad:
            frames = np.concatenate([frames, np.zeros((pad, *frames.shape[1:]), frames.dtype)])
        _, t, c, h, w = frames.shape
        frames = frames.reshape(rows, cols, t, c, h, w).transpose(2, 3, 0, 4, 1, 5)
        frames = frames.reshape(t, c, rows * h, cols * w)
    t, c, h, w = frames.shape
    if h * w > (1 << 24) or frames.size > MAX_VIDEO_BYTES:
        raise ValueError(f"nbtrack.log: {here} has frames of shape {frames.shape}: too large")
    if frames.dtype != np.uint8:
        frames = np.clip(frames, 0, 255).astype(np.uint8)
    frames = frames.transpose(0, 2, 3, 1)  # T, H, W, C
    if c == 1:
        frames = frames[..., 0]
    elif c == 4:
        frames = frames[..., :3]  # GIF has no partial transparency
    return np.ascontiguousarray(frames)


def _encode_videos(key: str, files: MediaFiles, snaps: list[Any], listed: bool) -> dict[str, Any]:
    from PIL import Image as PIL

    items = []
    for i, (what, data, fmt, fps, caption) in enumerate(snaps):
        index = i if listed else None
        item: dict[str, Any] = {"format": fmt, "caption": None if caption is None else str(caption)}
        if what == "frames":
            rate = fps or DEFAULT_FPS
            item["file"] = files.put(_encode.gif(data, rate), ".gif")
            first = _encode.to_pil(data[0])
            frames = len(data)
        else:
            raw = read_file(key, index, "video", data)
            item["file"] = files.put(raw, "." + ("ogg" if fmt == "ogg" else fmt))
            rate, first, frames = fps, None, None
            if fmt == "gif":
                import io

                gif = PIL.open(io.BytesIO(raw))
                frames = getattr(gif, "n_frames", 1)
                if rate is None and gif.info.get("duration"):
                    rate = 1000 / gif.info["duration"]
                first = _encode.displayable(gif)
        item["fps"] = rate
        item["frames"] = frames
        if first is not None:
            w, h = first.size
            tw, th = _encode.thumb_size(w, h, _encode.THUMB)
            small = first if (tw, th) == (w, h) else first.resize((tw, th), PIL.Resampling.LANCZOS)
            item.update(w=w, h=h, thumb=files.put(_encode.png(small), ".png"), tw=tw, th=th)
        else:  # the size of an mp4/webm/ogg would need a container parser: the page finds it
            item.update(w=None, h=None, thumb=None, tw=None, th=None)
        items.append(item)
    return {"items": items}


# -- Audio ------------------------------------------------------------------------------------


def prepare_audios(key: str, value: Any) -> MediaEntry:
    sounds, listed = _items(value)
    snaps = []
    nbytes = 0
    for i, a in enumerate(sounds):
        index = i if listed else None
        rate = a.sample_rate
        if rate is not None and (
            isinstance(rate, bool) or not hasattr(rate, "__index__") or rate.__index__() <= 0
        ):
            raise ValueError(
                f"nbtrack.log: {where(key, index, 'sound')} sample_rate must be an int > 0, not {rate!r}"
            )
        rate = None if rate is None else rate.__index__()
        data = a.data_or_path
        if isinstance(data, (str, os.PathLike)):
            path, fmt = _file(key, index, "sound", data, AUDIO_FILES)
            snaps.append(("file", path, fmt, rate, a.caption))
            continue
        samples = _numpy(data)
        if samples is None:
            raise TypeError(
                f"nbtrack.log: {where(key, index, 'sound')} is made of a {type(data).__name__}; an "
                "Audio takes a file path or a float array of samples with sample_rate"
            )
        if rate is None:
            raise ValueError(
                f"nbtrack.log: {where(key, index, 'sound')} is samples without sample_rate; "
                "give Audio(samples, sample_rate=...)"
            )
        checked = _check_samples(key, index, samples)
        snaps.append(("samples", checked, "wav", rate, a.caption))
        nbytes += checked.nbytes
    return MediaEntry(key, "audio", nbytes, lambda files: _encode_audios(key, files, snaps, listed))


def _check_samples(key: str, index: int | None, samples: Any) -> Any:
    """int16 samples, (n,) or (n, channels), of a float array in [-1, 1] (or int16)."""
    import numpy as np

    here = where(key, index, "sound")
    if (
        samples.ndim not in (1, 2)
        or samples.size == 0
        or (samples.ndim == 2 and samples.shape[1] > 64)
    ):
        raise ValueError(
            f"nbtrack.log: {here} has samples of shape {samples.shape}; a sound is (samples,) "
            "or (samples, channels)"
        )
    if samples.dtype == np.int16:
        return samples
    if samples.dtype.kind != "f":
        raise TypeError(
            f"nbtrack.log: {here} has samples of dtype {samples.dtype}; give floats in [-1, 1] "
            "or int16"
        )
    if not np.isfinite(samples).all():
        raise ValueError(f"nbtrack.log: {here} has NaN or infinite samples")
    lo, hi = float(samples.min()), float(samples.max())
    if lo < -1.0 or hi > 1.0:
        warn_clipped("samples", key, lo, hi, "[-1, 1]")
    return np.rint(np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)


def _encode_audios(key: str, files: MediaFiles, snaps: list[Any], listed: bool) -> dict[str, Any]:
    import io

    items = []
    for i, (what, data, fmt, rate, caption) in enumerate(snaps):
        duration: float | None = None
        if what == "samples":
            raw = _encode.wav(data, rate)
        else:
            raw = read_file(key, i if listed else None, "sound", data)
        if fmt == "wav":
            try:
                with wave.open(io.BytesIO(raw)) as w:
                    rate = w.getframerate()
                    duration = w.getnframes() / rate
            except (wave.Error, EOFError, ZeroDivisionError):
                pass  # a WAV the stdlib does not read (float samples): the page still plays it
        items.append(
            {
                "file": files.put(raw, "." + fmt),
                "format": fmt,
                "sample_rate": rate,
                "duration": duration,
                "caption": None if caption is None else str(caption),
            }
        )
    return {"items": items}


# -- Html -------------------------------------------------------------------------------------


def prepare_htmls(key: str, value: Any) -> MediaEntry:
    pages, listed = _items(value)
    snaps: list[tuple[str, Any]] = []
    nbytes = 0
    for i, page in enumerate(pages):
        index = i if listed else None
        data = page.html
        if hasattr(data, "read"):  # an open file: read now, as it is now
            data = data.read()
        if isinstance(data, bytes):
            data = data.decode("utf-8", errors="replace")
        if isinstance(data, os.PathLike) or (
            isinstance(data, str) and data.lower().endswith((".html", ".htm")) and "<" not in data
        ):
            path = os.fspath(data)
            if not os.path.isfile(path):
                raise FileNotFoundError(
                    f"nbtrack.log: {where(key, index, 'page')} names the file {path!r}, which "
                    "does not exist"
                )
            snaps.append(("file", path))
            continue
        if not isinstance(data, str):
            raise TypeError(
                f"nbtrack.log: {where(key, index, 'page')} is made of a {type(data).__name__}; an "
                "Html takes a string of HTML, an .html file's path or an open file"
            )
        snaps.append(("text", data))
        nbytes += len(data)

    def encode(files: MediaFiles) -> dict[str, Any]:
        items = []
        for i, (what, data) in enumerate(snaps):
            raw = (
                data.encode("utf-8")
                if what == "text"
                else read_file(key, i if listed else None, "page", data)
            )
            items.append({"file": files.put(raw, ".html"), "bytes": len(raw), "caption": None})
        return {"items": items}

    return MediaEntry(key, "html", nbytes, encode)

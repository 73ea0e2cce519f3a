"""Bytes of the media files: PNG, JPEG thumbnails, animated GIF, 16-bit WAV.

Runs on the run's writer thread (never in `log()`), with PIL (which comes with bokeh),
NumPy and the standard library's `wave`. Every function here is deterministic: the same
pixels give the same bytes, so the content-addressed store keeps a repeated image once.
"""

from __future__ import annotations

import io
import struct
import wave
import zlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

    from nbtrack.store.media_files import MediaFiles

THUMB = 128  # the long side of an image thumbnail, at most
TABLE_THUMB = 64  # of an image in a table cell
SMALL = 64  # a thumbnail up to SMALL x SMALL is a PNG (JPEG artefacts show on tiny images)
JPEG_QUALITY = 85
# Above this many pixels PNG's fastest compression: level 6 takes about a second for a
# 4096 x 4096 image on the writer thread, level 1 a fifth of that, for files ~10% larger.
FAST_PNG_PIXELS = 1 << 20
# Up to this many pixels a PNG is written here (`png_pixels`) rather than by PIL, whose PNG
# writer runs about 150 µs of Python an image: on the writer thread that is GIL the training
# thread waits for. Here it is a few µs of Python, and zlib lets go of the GIL while it
# compresses. The rows go unfiltered, which for images this small is the smaller file too.
SMALL_PNG_PIXELS = SMALL * SMALL
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_COLOR_TYPE = {1: 0, 3: 2, 4: 6}  # channels -> grayscale, truecolour, truecolour + alpha


def to_pil(pixels: Any) -> PILImage:
    """A PIL image of uint8 pixels HxW (L), HxWx3 (RGB) or HxWx4 (RGBA)."""
    from PIL import Image

    mode = "L" if pixels.ndim == 2 else ("RGB" if pixels.shape[2] == 3 else "RGBA")
    return Image.fromarray(pixels, mode)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(kind))
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


_PNG_END = _png_chunk(b"IEND", b"")


def png_pixels(pixels: Any) -> bytes:
    """An exact PNG of uint8 pixels HxW, HxWx3 or HxWx4, every row unfiltered."""
    import numpy as np

    h, w = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    rows = np.zeros((h, 1 + w * channels), np.uint8)  # each row: filter 0 (none), then pixels
    rows[:, 1:] = pixels.reshape(h, w * channels)
    header = struct.pack(">IIBBBBB", w, h, 8, _PNG_COLOR_TYPE[channels], 0, 0, 0)
    data = zlib.compress(rows.data, 6)
    ihdr, idat = _png_chunk(b"IHDR", header), _png_chunk(b"IDAT", data)
    return b"".join((_PNG_SIGNATURE, ihdr, idat, _PNG_END))


def png(img: PILImage) -> bytes:
    if img.mode in ("L", "RGB", "RGBA") and img.width * img.height <= SMALL_PNG_PIXELS:
        import numpy as np

        return png_pixels(np.asarray(img))
    buf = io.BytesIO()
    level = 1 if img.width * img.height > FAST_PNG_PIXELS else 6
    img.save(buf, "PNG", compress_level=level)
    return buf.getvalue()


def jpeg(img: PILImage, quality: int = JPEG_QUALITY) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def displayable(img: PILImage) -> PILImage:
    """`img` in L, RGB or RGBA (what a page draws and a thumbnail is made of)."""
    if img.mode in ("L", "RGB", "RGBA"):
        return img
    has_alpha = img.mode in ("LA", "PA", "La", "RGBa") or "transparency" in img.info
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        return img.convert("L")  # PIL clips to 0..255
    if img.mode == "1":
        return img.convert("L")
    return img.convert("RGBA" if has_alpha else "RGB")


def thumb_size(w: int, h: int, limit: int) -> tuple[int, int]:
    """The thumbnail size of a w x h image: the long side at most `limit`, the aspect kept."""
    if max(w, h) <= limit:
        return w, h
    scale = limit / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def put_image(
    files: MediaFiles, img: PILImage, full: bytes, ext: str, limit: int = THUMB
) -> dict[str, Any]:
    """Store the full file (`full`, an `ext` file of `img`) and its thumbnail; the payload's
    ``file``, ``thumb``, ``w``, ``h``, ``tw``, ``th``.

    An image already within `limit` is its own thumbnail (one file, named twice).
    """
    name = files.put(full, ext)
    w, h = img.size
    tw, th = thumb_size(w, h, limit)
    thumb = name if (tw, th) == (w, h) else put_thumb(files, img, tw, th)
    return _item(name, thumb, w, h, tw, th)


def _item(name: str, thumb: str, w: int, h: int, tw: int, th: int) -> dict[str, Any]:
    return {"file": name, "thumb": thumb, "w": w, "h": h, "tw": tw, "th": th}


def put_pixels(files: MediaFiles, pixels: Any, limit: int = THUMB) -> dict[str, Any]:
    """`put_image` of uint8 pixels (HxW, HxWx3 or HxWx4): a small image that is its own
    thumbnail is written without making a PIL image of it."""
    h, w = pixels.shape[:2]
    if w * h <= SMALL_PNG_PIXELS and max(w, h) <= limit:
        name = files.put(png_pixels(pixels), ".png")
        return _item(name, name, w, h, w, h)
    img = to_pil(pixels)
    return put_image(files, img, png(img), ".png", limit)


def put_thumb(files: MediaFiles, img: PILImage, tw: int, th: int) -> str:
    """A tw x th thumbnail of `img`: PNG with alpha or when small, else JPEG."""
    from PIL import Image

    small = displayable(img).resize((tw, th), Image.Resampling.LANCZOS, reducing_gap=3.0)
    if small.mode == "RGBA" or (tw <= SMALL and th <= SMALL):
        return files.put(png(small), ".png")
    return files.put(jpeg(small), ".jpg")


def gif(frames: Any, fps: float) -> bytes:
    """An animated GIF of uint8 frames (T, H, W) or (T, H, W, 3), `fps` frames a second,
    looping (as W&B's videos play)."""
    from PIL import Image

    mode = "L" if frames.ndim == 3 else "RGB"
    images = [Image.fromarray(f, mode) for f in frames]
    buf = io.BytesIO()
    # GIF counts in hundredths of a second: 1000/fps ms, at least 20 ms (browsers slow a
    # faster GIF down to 100 ms, which is worse than 50 fps).
    duration = max(20, round(1000 / fps))
    images[0].save(buf, "GIF", save_all=True, append_images=images[1:], duration=duration, loop=0)
    return buf.getvalue()


def wav(samples: Any, sample_rate: int) -> bytes:
    """A 16-bit PCM WAV of int16 samples (n,) or (n, channels)."""
    import numpy as np

    data = samples if samples.ndim == 2 else samples[:, None]
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(data.shape[1])
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(np.ascontiguousarray(data, dtype="<i2").tobytes())
    return buf.getvalue()

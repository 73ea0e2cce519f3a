"""Media files beside the store database, content-addressed: the same bytes are kept once.

A logged image becomes a PNG (and a thumbnail), a video a GIF, a sound a WAV; each file is
named by the SHA-256 of its bytes plus its extension, and lives at
``<root>/media/<first two hex digits>/<name>``. The store's ``media`` rows name the files;
the files never change once written, so a page may cache them for ever and an upload can ask
"have you got this name?" instead of sending the bytes again.

A file is written to a temporary name in its folder and then renamed into place: a reader
never sees half a file, and a crash leaves at most a temporary file behind. A name from a page
or the network is only used after `valid_name` says it is one of ours (no ``..``, no
separators, a known extension).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import re
from pathlib import Path

EXTENSIONS: dict[str, str] = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".gif": "image/gif",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".ogg": "audio/ogg",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".flac": "audio/flac",
    ".html": "text/html; charset=utf-8",
}
_NAME = re.compile(r"^[0-9a-f]{64}\.(png|jpg|gif|mp4|webm|ogg|wav|mp3|flac|html)$")
FOLDER = "media"
_tmp_ids = itertools.count()  # with the process id, a temporary name no other writer uses


def valid_name(name: object) -> bool:
    """True when `name` is a media file name this module makes: 64 hex digits and a known
    extension, nothing else (so it can never climb out of the media folder)."""
    return isinstance(name, str) and _NAME.fullmatch(name) is not None


def mime(name: str) -> str:
    """The content type of a media file, from its extension."""
    return EXTENSIONS.get(os.path.splitext(name)[1], "application/octet-stream")


def name_of(data: bytes, ext: str) -> str:
    """The name the bytes are kept under: their SHA-256, in hex, and `ext`."""
    if ext not in EXTENSIONS:
        raise ValueError(
            f"nbtrack: {ext!r} is not a media file extension ({', '.join(EXTENSIONS)})"
        )
    return hashlib.sha256(data).hexdigest() + ext


class MediaFiles:
    """The media files of the store at `root`."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root) / FOLDER
        self._root = str(self.root)
        self._folders: set[str] = set()  # the folders this object has made (or found)

    def path(self, name: str) -> Path:
        if not valid_name(name):
            raise ValueError(f"nbtrack: {name!r} is not a media file name")
        return self.root / name[:2] / name

    def exists(self, name: str) -> bool:
        return valid_name(name) and self.path(name).is_file()

    def read(self, name: str) -> bytes:
        """The bytes of file `name`; FileNotFoundError when the store does not hold it."""
        return self.path(name).read_bytes()

    def put(self, data: bytes, ext: str) -> str:
        """Keep `data` (once) and return its name."""
        name = name_of(data, ext)
        self._write(name, data)
        return name

    def put_named(self, name: str, data: bytes) -> None:
        """Keep `data` under `name`, which must be its own (a download from a server)."""
        self.path(name)  # a ValueError for anything but a media file name
        if name_of(data, os.path.splitext(name)[1]) != name:
            raise ValueError(f"nbtrack: the bytes given for media file {name} are not its own")
        self._write(name, data)

    def _write(self, name: str, data: bytes) -> None:
        # The writer thread's path for each image: plain `os` calls on strings (pathlib and
        # tempfile cost about 60 µs of Python a file, time the GIL is held), and each folder
        # made once.
        folder = os.path.join(self._root, name[:2])
        target = os.path.join(folder, name)
        if os.path.isfile(target):
            return  # same name, same bytes
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
        tmp = os.path.join(folder, f".tmp-{os.getpid()}-{next(_tmp_ids)}-{name}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileNotFoundError:  # the folder went away since this object made it
            os.makedirs(folder, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

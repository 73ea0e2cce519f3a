"""BokehJS for the dashboard: the copy inside the installed ``bokeh`` package.

The files are found without importing bokeh's Python side (slow, and not needed), and
sent gzip-compressed in one custom message per dashboard; the page loads them once.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
from pathlib import Path

# The core library, then the plugin with `Bokeh.Plotting` (figure, show).
_FILES = ("bokeh.min.js", "bokeh-api.min.js")


def bokehjs_dir() -> Path:
    """The folder of BokehJS inside the installed bokeh package."""
    spec = importlib.util.find_spec("bokeh")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("nbtrack's dashboard needs the bokeh package: pip install bokeh")
    return Path(next(iter(spec.submodule_search_locations))) / "server" / "static" / "js"


def bokehjs_version() -> str:
    """The version of the installed BokehJS, read from its file header, without importing bokeh."""
    from importlib.metadata import version

    return version("bokeh")


@functools.lru_cache(maxsize=1)
def bokehjs_files() -> tuple[str, tuple[str, ...], tuple[bytes, ...]]:
    """``(version, names, gzip buffers)`` of BokehJS, read and compressed once per process.

    The message that carries them is `nbtrack.widget._protocol.bokeh_message`.

    >>> version, names, buffers = bokehjs_files()
    >>> names
    ('bokeh.min.js', 'bokeh-api.min.js')
    """
    folder = bokehjs_dir()
    # mtime=0 keeps the bytes identical from run to run.
    buffers = tuple(
        gzip.compress((folder / f).read_bytes(), compresslevel=6, mtime=0) for f in _FILES
    )
    return bokehjs_version(), _FILES, buffers

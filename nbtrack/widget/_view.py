"""What the notebook's views share: one module (``nbtrack/static/widget.js``: the run
dashboard and the compare view), a `uid` naming their data on the page, and BokehJS sent
once, as a message (never in the widget state, which the notebook saves)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from nbtrack.widget._protocol import bokeh_message

STATIC = Path(__file__).resolve().parent.parent / "static"


class View(anywidget.AnyWidget):
    """A view in a notebook cell; `Dashboard` and `CompareView` are the two."""

    _esm = STATIC / "widget.js"
    # Identifies this widget's data on the page; run data itself never goes into the state.
    uid = traitlets.Unicode("").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(uid=secrets.token_hex(8), **kwargs)
        self._sent_bokeh = False

    def send_bokeh(self) -> None:
        """BokehJS for the page, the first time only."""
        if not self._sent_bokeh:
            self._sent_bokeh = True
            content, buffers = bokeh_message()
            self.send(content, buffers)

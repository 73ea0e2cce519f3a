"""Small helpers shared by test modules (import as ``from tests.helpers import ...``)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a subprocess that imports nbtrack from this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


# A widget message: its JSON content and its buffers.
Message = tuple[dict[str, Any], list[bytes]]


class Recorder:
    """What a feed uses of a widget (`ProjectFeed`, `StoreFeed`, `MediaSender`: a `Target`, as
    the ui's and the export's are), keeping what it is sent."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.handlers: list[Callable[[Any, Any, Any], None]] = []

    def send(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        self.sent.append((content, list(buffers or [])))

    def send_bokeh(self) -> None:
        pass

    def on_msg(self, callback: Callable[[Any, Any, Any], None]) -> None:
        self.handlers.append(callback)

    def of(self, kind: str) -> list[Message]:
        """The messages sent of content type `kind`."""
        return [(c, b) for c, b in self.sent if c["type"] == kind]

    def ask(self, request: Any) -> list[Message]:
        """The page's message `request`, through the handlers the feed gave; the replies."""
        before = len(self.sent)
        for handler in self.handlers:
            handler(self, request, [])
        return self.sent[before:]

"""The runs table as text: what ``nbtrack runs`` and ``%nbtrack runs`` print.

>>> print(format_runs_table(nbtrack.Api().runs("fashion-cnn")))
PROJECT      ID        NAME      STATE     STEPS  CREATED           RUNTIME  TAGS
fashion-cnn  3k2j9x0a  lr-1e-3   finished   1200  2026-11-22 07:41  1m05s    cnn
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbtrack.api import RunRecord

_HEADER = ("PROJECT", "ID", "NAME", "STATE", "STEPS", "CREATED", "RUNTIME", "TAGS")
_RIGHT = {"STEPS"}


def _runtime(seconds: float) -> str:
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def format_runs_table(runs: Sequence[RunRecord], now: float | None = None) -> str:
    """One line per run, oldest first, columns aligned; a note when there are none."""
    if not runs:
        return "no runs"
    now = time.time() if now is None else now
    rows = [
        (
            r.project,
            r.id,
            r.name,
            r.state,
            str(r.last_step + 1),
            time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at)),
            _runtime((r.finished_at or (now if r.state == "running" else r.heartbeat_at))
                     - r.created_at),
            ",".join(r.tags),
        )
        for r in runs
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(_HEADER)]
    lines = []
    for row in (_HEADER, *rows):
        cells = [
            c.rjust(w) if h in _RIGHT else c.ljust(w)
            for c, w, h in zip(row, widths, _HEADER, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)

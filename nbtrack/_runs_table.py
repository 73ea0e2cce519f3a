"""The runs table as text: what ``nbtrack runs`` and ``%nbtrack runs`` print.

>>> print(format_runs_table(nbtrack.Api().runs("fashion-cnn")))
PROJECT      ID        NAME     STATE     STEPS  CREATED           RUNTIME  lr     train/loss  val/acc
fashion-cnn  3k2j9x0a  lr-1e-3  finished   1200  2026-11-22 07:41  1m05s    0.001      0.3127   0.8843
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbtrack.api import RunRecord

_HEADER = ("PROJECT", "ID", "NAME", "STATE", "STEPS", "CREATED", "RUNTIME")
_MAX_CONFIG = 4
_MAX_METRICS = 5


def _runtime(seconds: float) -> str:
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 24 else text[:23] + "…"


def _key_config(runs: Sequence[RunRecord]) -> list[str]:
    """Config keys worth a column: those that differ between runs (all, for one run)."""
    keys: list[str] = []
    for r in runs:
        keys.extend(k for k in r.config if k not in keys and not isinstance(r.config[k], dict))
    if len(runs) > 1:
        varying = [k for k in keys if len({repr(r.config.get(k)) for r in runs}) > 1]
        keys = varying or keys
    return keys[:_MAX_CONFIG]


def _key_metrics(runs: Sequence[RunRecord]) -> list[str]:
    """Summary keys, validation metrics first, then the rest in logging order."""
    keys: list[str] = []
    for r in reversed(runs):
        keys.extend(
            k for k, v in r.summary.items() if k not in keys and isinstance(v, (int, float))
        )
    keys.sort(key=lambda k: (not k.startswith(("val", "eval", "test")), k.startswith("epoch")))
    return keys[:_MAX_METRICS]


def format_runs_table(runs: Sequence[RunRecord], now: float | None = None) -> str:
    """One line per run, oldest first: state, steps, the config that varies, last metrics."""
    if not runs:
        return "no runs"
    now = time.time() if now is None else now
    config_keys = _key_config(runs)
    metric_keys = _key_metrics(runs)
    header = (*_HEADER, *config_keys, *metric_keys)
    right = {"STEPS", *config_keys, *metric_keys}
    rows = [
        (
            r.project,
            r.id,
            r.name,
            r.state,
            str(r.last_step + 1),
            time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at)),
            _runtime(
                (r.finished_at or (now if r.state == "running" else r.heartbeat_at)) - r.created_at
            ),
            *(_cell(r.config.get(k)) for k in config_keys),
            *(_cell(r.summary.get(k)) for k in metric_keys),
        )
        for r in runs
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    lines = []
    for row in (header, *rows):
        cells = [
            c.rjust(w) if h in right else c.ljust(w)
            for c, w, h in zip(row, widths, header, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)

"""What the tests of the wire format share: a Python reading of points messages, and the
fixture: messages encoded by ``nbtrack/widget/_protocol.py``, committed under
``tests/fixtures/protocol/`` and decoded by ``js/protocol.test.ts``.

Each ``NAME.json`` holds ``{"content": ..., "buffers": [base64, ...]}``: what
``widget.send(content, buffers)`` puts on the comm. ``tests/test_protocol.py`` checks the
committed files equal what the encoders give today, so the two sides cannot drift apart.
After a deliberate change of the wire format, write them again with

    .venv/bin/python -m tests.protocol_helpers
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np

from nbtrack._values import HistogramEntry
from nbtrack.widget._protocol import (
    header_message,
    histogram_message,
    overview_message,
    points_message,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "protocol"
T0 = 1_700_000_000.25
NONFINITE = [1.5, float("nan"), float("inf"), float("-inf")]


def decode_points(
    content: dict[str, Any], buffers: list[Any]
) -> dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
    """What the front end reads out of a points message (mirrors `decodePoints` in
    js/protocol.ts): per key, steps as int64 and values as float64."""
    out = {}
    for e in content["series"]:
        if "steps_buf" in e:
            dt = np.int32 if e["steps"] == "i32" else np.float64
            steps = np.frombuffer(bytes(buffers[e["steps_buf"]]), dtype=dt).astype(np.int64)
        else:
            steps = e["first"] + e["stride"] * np.arange(e["n"], dtype=np.int64)
        vt = np.float32 if e["values"] == "f32" else np.float64
        values = np.frombuffer(bytes(buffers[e["values_buf"]]), dtype=vt).astype(np.float64)
        out[e["key"]] = (steps, values)
    return out


def messages() -> dict[str, tuple[dict[str, Any], list[bytes]]]:
    """The fixture's messages by file name: one of each kind, edge values on purpose."""
    i64 = np.int64
    points = points_message(
        {
            # Evenly spaced: first and stride, no steps buffer.
            "even": (np.arange(10, 30, 5, dtype=i64), np.array(NONFINITE)),
            # Unevenly spaced and within int32, up to its largest value.
            "uneven": (np.array([0, 1, 5, 2**31 - 1], dtype=i64), np.array(NONFINITE[::-1])),
            # Past int32: float64 steps, exact up to 2**53 - 1.
            "large": (
                np.array([0, 3, 2**40, 2**53 - 1], dtype=i64),
                np.array([0.0, -0.0, 1e300, 5e-324]),
            ),
            # One point (a final test accuracy).
            "single": (np.array([7], dtype=i64), np.array([0.875])),
            # Wall time: float32 seconds since t0.
            "_time": (np.array([0, 1, 2], dtype=i64), T0 + np.array([0.0, 0.5, 3600.25])),
        },
        t0=T0,
    )
    histograms = histogram_message(
        [
            HistogramEntry("w", 0, -1.0, 1.0, np.array([0.0, 1.0, 2.0, 3.0]), {"norm": 2.5}),
            HistogramEntry(
                "w", 10, -2.0, 0.5, np.array([4.0, 0.0, 1.0]), {"norm": float("nan"), "nan": 3}
            ),
            HistogramEntry(
                "grad", 10, 0.0, 1e-3, np.array([1.0]), {"norm": float("inf"), "inf": 1}
            ),
            HistogramEntry("b", 10, -0.5, 0.5, np.array([2.0, 2.0])),  # no norm recorded
        ]
    )
    header = header_message(
        run_id="3k2j9x0a",
        name="lr-1e-3 ✓",
        project="fashion-cnn",
        state="running",
        step=12,
        created_at=T0,
        elapsed=61.5,
        rate=None,
        last={"loss": float("nan"), "acc": 0.5, "grad/max": float("inf"), "low": float("-inf")},
        alerts=[{"title": "NaN loss", "text": "at step 11", "level": "WARN", "step": 11}],
        error=None,
        # define_metric's definitions as the run records them (summary and goal are not sent).
        metrics=[
            {"name": "epoch", "step_metric": None, "summary": [], "goal": None, "hidden": False},
            {
                "name": "val/*",
                "step_metric": "epoch",
                "summary": ["min"],
                "goal": "minimize",
                "hidden": False,
            },
            {"name": "debug", "step_metric": None, "summary": [], "goal": None, "hidden": True},
        ],
    )
    # A header with where the run stands with the team server; markup in the reason on
    # purpose (the page must show it as text).
    header_sync = header_message(
        run_id="3k2j9x0a",
        name="lr-1e-3 ✓",
        project="fashion-cnn",
        state="finished",
        step=12,
        created_at=T0,
        elapsed=61.5,
        rate=None,
        last={"loss": 0.25},
        alerts=[],
        error=None,
        sync={
            "state": "refused",
            "behind": np.int64(1234),
            "reason": "<b>quota</b> exceeded ✓",
            "url": "https://nbtrack.example/fashion-cnn/runs/3k2j9x0a",
        },
    )
    # Markup in every user-supplied field on purpose (the page must show it as text), a
    # token in the remote (it must reach no field), and config values of every kind.
    overview = overview_message(
        notes="<img src=x onerror=alert(1)> baseline ✓\nsecond line",
        tags=["cnn", "<b>bold</b>"],
        config={
            "lr": 1e-3,
            "epochs": 10,
            "opt": {"name": "adam", "betas": [0.9, 0.999], "decay": {"every": 2}},
            "nan": float("nan"),
            "inf": float("inf"),
            "big": 2**60,
            "flag": True,
            "none": None,
            "<script>": "<i>x</i>",
            "2": "integer-like key, kept in order",
        },
        metadata={
            "python": "3.12.3",
            "nbtrack": "0.1.0",
            "host": "gpu-box",
            "os": "Linux-6.1-x86_64",
            "program": "/home/me/train.ipynb",
            "torch": "2.4.0",
            "gpus": ["NVIDIA H100", "NVIDIA H100"],
            "git": {
                "commit": "0123456789abcdef0123456789abcdef01234567",
                "branch": "main",
                "remote": "https://me:ghp_SECRET@github.com/o/r.git",
                "dirty": True,
            },
        },
        created_at=T0,
        finished_at=T0 + 61.5,
    )
    return {
        "points": points,
        "histograms": histograms,
        "header": (header, []),
        "header_sync": (header_sync, []),
        "overview": (overview, []),
    }


def dumps(content: dict[str, Any], buffers: list[bytes]) -> str:
    """The text of one fixture file (strict JSON: a bare NaN would raise)."""
    doc = {"content": content, "buffers": [base64.b64encode(b).decode("ascii") for b in buffers]}
    return json.dumps(doc, allow_nan=False, ensure_ascii=False, indent=1) + "\n"


def write(folder: Path = FIXTURES) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (content, buffers) in messages().items():
        (folder / f"{name}.json").write_text(dumps(content, buffers), encoding="utf-8")


if __name__ == "__main__":
    write()

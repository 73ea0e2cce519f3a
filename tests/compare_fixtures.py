"""What the tests of the compare view's wire format share: a Python reading of curves
messages, and the fixture: messages encoded by ``nbtrack/widget/_compare_protocol.py``,
committed under ``tests/fixtures/compare/`` and decoded by ``js/compare/compare-protocol.test.ts``.

Each ``NAME.json`` holds ``{"content": ..., "buffers": [base64, ...]}``: what
``widget.send(content, buffers)`` puts on the comm. ``tests/test_compare.py`` checks the
committed files equal what the encoders give today, so the two sides cannot drift apart.
After a deliberate change of the wire format, write them again with

    .venv/bin/python -m tests.compare_fixtures

The series are chosen so that the JavaScript test can say what each bucket holds without
an encoder of its own (see `loss_series`).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np

from nbtrack.widget._compare_protocol import NO_VALUE, curves_message, run_row, runs_message
from nbtrack.widget._protocol import points_message

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "compare"
T0 = 1_700_000_000.25
SHA = "0123abcd" * 5
# The width of the fixture's envelopes: 1,000 steps in 10 buckets of 100 steps each.
WIDTH = 10
SPIKE_STEP, SPIKE = 550, 5.0

Array = np.ndarray[Any, Any]


def loss_series() -> tuple[Array, Array]:
    """Steps 0..999, value step/1000, except: a spike of 5.0 at step 550, +inf at 250 (no
    part of any min or max), NaN at 799 (bucket 7's last value) and NaN from 900 on (bucket
    9 has no finite value). So bucket b's min is b/10 and its max (b*100 + 99)/1000, except
    bucket 5's (the spike) and bucket 7's (0.798); [lo, hi] is [0, 5]."""
    steps = np.arange(1000, dtype=np.int64)
    values = steps / 1000.0
    values[SPIKE_STEP] = SPIKE
    values[250] = np.inf
    values[799] = np.nan
    values[900:] = np.nan
    return steps, values


def gap_series() -> tuple[Array, Array]:
    """Steps 0..999 and 5000..5999 (a resumed run), value = step: the buckets of equal step
    span between the two parts hold nothing and are not sent, so the buckets' steps are
    uneven and go as an int32 buffer."""
    steps = np.r_[np.arange(1000), np.arange(5000, 6000)].astype(np.int64)
    return steps, steps.astype(np.float64)


def decode_curves(content: dict[str, Any], buffers: list[Any]) -> list[dict[str, Any]]:
    """What the page reads out of a curves message (mirrors `decodeCurves` in
    js/compare-protocol.ts): per entry its steps, and its last values (the values when
    whole), min and max (None when whole), NaN where a bucket has no value."""
    out = []
    for e in content["curves"]:
        if "steps_buf" in e:
            dt = np.int32 if e["steps"] == "i32" else np.float64
            steps = np.frombuffer(bytes(buffers[e["steps_buf"]]), dtype=dt).astype(np.int64)
        else:
            steps = e["first"] + e["stride"] * np.arange(e["n"], dtype=np.int64)
        d: dict[str, Any] = {k: e[k] for k in ("run", "key", "append", "mode", "n")}
        d["steps"] = steps
        if e["mode"] == "points":
            d["last"] = np.frombuffer(bytes(buffers[e["values_buf"]]), dtype="<f8").copy()
            d["min"] = d["max"] = None
        else:
            lo, hi = float(e["lo"]), float(e["hi"])
            scale = (hi - lo) / 65534 if hi > lo else 0.0
            q = np.frombuffer(bytes(buffers[e["q_buf"]]), dtype="<u2").reshape(-1, 3)
            cols = np.where(q == NO_VALUE, np.nan, lo + q * scale)
            d["min"], d["max"], d["last"] = cols[:, 0], cols[:, 1], cols[:, 2]
            d["q"] = q
            d["count"], d["lo"], d["hi"] = e["count"], lo, hi
        out.append(d)
    return out


def messages() -> dict[str, tuple[dict[str, Any], list[bytes]]]:
    """The fixture's messages by file name: one of each kind, edge values on purpose."""
    i64 = np.int64
    rows = [
        run_row(
            run_id="3k2j9x0a",
            name="lr-1e-3 ✓",
            project="fashion-cnn",
            entity=None,
            state="finished",
            created_at=T0,
            runtime=61.5,
            tags=["cnn", "baseline"],
            notes="<b>not markup</b>",
            git={
                "commit": SHA,
                "branch": "main",
                "dirty": False,
                "remote": "git@github.com:o/r.git",
            },
            config={
                "lr": 1e-3,
                "opt": {"name": "adam", "betas": [0.9, 0.999], "sched": {"gamma": 0.5}},
                "seed": 2**60,  # past 2**53: as text
                "eps": float("nan"),
                "clip": float("inf"),
                "floor": float("-inf"),
                "label": "nan",  # a string, not a float
                "amp": True,
                "none": None,
            },
            summary={"val/acc": 0.875, "loss": float("nan")},
            url="https://nbtrack.example/fashion-cnn/runs/3k2j9x0a",
            # W&B's grouping, with markup on purpose; the other metadata stays out of the row.
            metadata={
                "group": "<b>cnn</b>",
                "job_type": "train",
                "sweep_id": "abc123",
                "host": "gpu-7",
            },
        ),
        run_row(
            run_id="b7",
            name="b7",
            project="fashion-cnn",
            entity="team",
            state="running",
            created_at=T0 + 60,
            runtime=-5.0,  # a clock that stepped back: no negative runtime
            tags=[],
            notes=None,
            # A host that is not GitHub, GitLab or Bitbucket: no link.
            git={"commit": "feedbeef", "dirty": True, "remote": "https://example.org/o/r.git"},
            config={"lr": 0.01},
            summary={},
        ),
    ]
    runs = runs_message(rows, removed=["gone"])
    curves = curves_message(
        [
            ("3k2j9x0a", "loss", *loss_series()),
            # Constant: hi == lo, every code 0, decoded exactly.
            ("3k2j9x0a", "flat", np.arange(2000, dtype=i64), np.full(2000, 0.25)),
            ("b7", "gap", *gap_series()),
            # Whole: short; uneven steps within int32; non-finite values as they are.
            (
                "b7",
                "short",
                np.array([0, 1, 5, 2**31 - 1], dtype=i64),
                np.array([1.5, np.nan, np.inf, -np.inf]),
            ),
            # Whole, evenly spaced: first and stride.
            ("b7", "even", np.array([10, 15, 20], dtype=i64), np.array([0.1, 0.2, 0.3])),
            # Whole, steps past int32: float64.
            (
                "b7",
                "huge",
                np.array([0, 2**40, 2**53 - 1], dtype=i64),
                np.array([0.0, -0.0, 1e300]),
            ),
        ],
        WIDTH,
    )
    # Live points: whole however many (more than WIDTH * 1.25 here).
    append = curves_message(
        [("3k2j9x0a", "loss", np.arange(1000, 1020, dtype=i64), np.linspace(1.0, 0.5, 20))],
        WIDTH,
        append=True,
    )
    # The answer to the page's request 7 for the whole points of steps [540, 560].
    steps, values = loss_series()
    keep = (steps >= 540) & (steps <= 560)
    range_ = curves_message(
        [("3k2j9x0a", "loss", steps[keep], values[keep])], 800, request=7, span=(540, 560)
    )
    # An opened run's dashboard message, wrapped (see ProjectFeed's ``open``).
    points, point_buffers = points_message(
        {"loss": (np.arange(3, dtype=i64), np.array([0.5, 0.25, 0.125]))}, t0=T0
    )
    run = ({"type": "run", "run": "3k2j9x0a", "message": points}, point_buffers)
    return {
        "runs": (runs, []),
        "curves": curves,
        "append": append,
        "range": range_,
        "run": run,
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

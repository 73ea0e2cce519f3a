"""The wire format (``nbtrack/widget/_protocol.py``): what each message carries, the one
NaN convention, and the committed fixture that ``js/protocol.test.ts`` decodes."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest

from nbtrack._values import HistogramEntry
from nbtrack.widget._protocol import (
    bokeh_message,
    header_message,
    histogram_message,
    json_number,
    points_message,
)
from tests.protocol_helpers import FIXTURES, decode_points, dumps, messages


def test_evenly_spaced_steps_cost_no_buffer() -> None:
    steps = np.arange(10, 1010, 5, dtype=np.int64)
    content, buffers = points_message({"loss": (steps, np.linspace(0, 1, 200))}, t0=0.0)
    (entry,) = content["series"]
    assert (entry["first"], entry["stride"]) == (10, 5)
    assert "steps_buf" not in entry
    assert len(buffers) == 1 and len(buffers[0]) == 200 * 8
    s, v = decode_points(content, buffers)["loss"]
    assert np.array_equal(s, steps)
    assert np.array_equal(v, np.linspace(0, 1, 200))


def test_irregular_steps_go_as_int32_or_float64_when_too_big() -> None:
    small = np.array([0, 1, 5, 6], dtype=np.int64)
    big = np.array([0, 3, 2**40, 2**40 + 1], dtype=np.int64)
    vals = np.array([1.0, np.nan, np.inf, -np.inf])
    content, buffers = points_message({"a": (small, vals), "b": (big, vals)}, t0=0.0)
    a, b = content["series"]
    assert a["steps"] == "i32" and len(buffers[a["steps_buf"]]) == 4 * 4
    assert b["steps"] == "f64"
    decoded = decode_points(content, buffers)
    assert np.array_equal(decoded["a"][0], small)
    assert np.array_equal(decoded["b"][0], big)
    # NaN and infinities cross in buffers as they are: the chart draws them as gaps.
    np.testing.assert_array_equal(decoded["a"][1], vals)


def test_wall_time_goes_as_float32_seconds_since_start() -> None:
    t0 = 1.7e9
    times = t0 + np.array([0.0, 0.5, 3600.25])
    content, buffers = points_message({"_time": (np.arange(3), times)}, t0=t0)
    (entry,) = content["series"]
    assert entry["values"] == "f32" and len(buffers[0]) == 3 * 4
    np.testing.assert_allclose(decode_points(content, buffers)["_time"][1], times - t0, atol=1e-3)


def test_buffers_are_copies_not_views() -> None:
    values = np.ones(4)
    _, buffers = points_message({"x": (np.array([0, 2, 3, 9]), values)}, t0=0.0)
    values[:] = 7  # the caller keeps writing to its array after send
    assert all(isinstance(b, bytes) for b in buffers)
    assert np.frombuffer(buffers[-1], np.float64).tolist() == [1.0] * 4


def test_header_carries_non_finite_values_as_strings() -> None:
    h = header_message(
        run_id="abc",
        name="n",
        project="p",
        state="failed",
        step=3,
        created_at=1.0,
        elapsed=2.0,
        rate=float("inf"),
        last={"loss": float("nan"), "acc": 0.5, "x": -np.inf},
        alerts=[{"title": "t", "level": "WARN", "step": 2, "data": {"big": list(range(9))}}],
        error="Traceback...\nValueError: boom",
    )
    text = json.dumps(h, allow_nan=False)  # would raise on a bare NaN
    assert json.loads(text)["last"] == {"loss": "nan", "acc": 0.5, "x": "-inf"}
    assert h["rate"] == "inf"
    assert h["alerts"] == [{"title": "t", "text": "", "level": "WARN", "step": 2}]
    assert json_number(1.5) == 1.5


def _header(sync: dict[str, Any] | None = None) -> dict[str, Any]:
    return header_message(
        run_id="a",
        name="n",
        project="p",
        state="running",
        step=1,
        created_at=0.0,
        elapsed=1.0,
        rate=None,
        last={},
        alerts=[],
        error=None,
        sync=sync,
    )


def test_header_sync_is_null_unless_given_and_has_one_shape_when_given() -> None:
    assert _header()["sync"] is None
    # Missing fields and numpy ints arrive as the page expects them: every field, JSON types.
    sync = _header(sync={"state": "behind", "behind": np.int64(40)})["sync"]
    assert sync == {"state": "behind", "behind": 40, "reason": None, "url": None}
    assert type(sync["behind"]) is int
    full = {"state": "refused", "behind": 3, "reason": "quota", "url": "https://s/p/r", "x": 1}
    assert _header(sync=full)["sync"] == {k: full[k] for k in ("state", "behind", "reason", "url")}
    json.dumps(_header(sync=full), allow_nan=False)


def test_header_sync_refuses_an_unknown_state() -> None:
    with pytest.raises(ValueError, match="not one of"):
        _header(sync={"state": "uploaded", "behind": 0})


def test_histograms_carry_non_finite_numbers_as_strings_and_a_missing_norm_as_null() -> None:
    nan, inf = float("nan"), float("inf")
    content, buffers = histogram_message(
        [
            HistogramEntry("w", 0, -inf, inf, np.ones(2), {"norm": nan, "nan": 2}),
            HistogramEntry("g", 0, 0.0, 1.0, np.ones(2), {"norm": inf, "inf": 1}),
            HistogramEntry("b", 0, 0.0, 1.0, np.ones(2)),
        ]
    )
    json.dumps(content, allow_nan=False)  # would raise on a bare NaN
    w, g, b = content["entries"]
    # The same convention as everywhere else: NaN is "nan", never null.
    assert (w["norm"], w["lo"], w["hi"], w["nan"]) == ("nan", "-inf", "inf", 2)
    assert (g["norm"], g["inf"]) == ("inf", 1)
    assert b["norm"] is None
    assert len(buffers) == 3


@pytest.mark.parametrize("t0", [0.0, float("nan")])
def test_every_message_is_strict_json(t0: float) -> None:
    content, _ = points_message({"x": (np.arange(3), np.full(3, np.nan))}, t0=t0)
    json.dumps(content, allow_nan=False)
    json.dumps(bokeh_message()[0], allow_nan=False)
    for content, _ in messages().values():
        json.dumps(content, allow_nan=False)


@pytest.mark.parametrize("name", ["points", "histograms", "header", "header_sync"])
def test_the_committed_fixture_is_what_the_encoders_send_today(name: str) -> None:
    content, buffers = messages()[name]
    path = FIXTURES / f"{name}.json"
    assert path.read_text(encoding="utf-8") == dumps(content, buffers), (
        f"{path} is out of date with nbtrack/widget/_protocol.py: if the wire format changed "
        "on purpose, run `.venv/bin/python -m tests.protocol_helpers` and update "
        "js/protocol.ts and js/protocol.test.ts with it"
    )
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert [base64.b64decode(b) for b in doc["buffers"]] == buffers


def test_the_fixture_holds_the_edge_values() -> None:
    content, buffers = messages()["points"]
    kinds = {e["key"]: e.get("steps", "even") for e in content["series"]}
    assert kinds == {
        "even": "even",
        "uneven": "i32",
        "large": "f64",
        "single": "even",
        "_time": "even",
    }
    decoded = decode_points(content, buffers)
    assert decoded["large"][0][-1] == 2**53 - 1
    assert decoded["uneven"][0][-1] == 2**31 - 1
    assert np.isnan(decoded["even"][1]).sum() == 1 and np.isinf(decoded["even"][1]).sum() == 2

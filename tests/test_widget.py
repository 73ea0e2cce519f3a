"""The dashboard's data path: message encoding, and what a real kernel sends to the page."""

from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nbtrack
from nbtrack._values import Batch
from nbtrack.widget._bokeh import bokeh_message, bokehjs_dir
from nbtrack.widget._encode import (
    after_steps,
    header_message,
    json_number,
    merge_batches,
    points_message,
)
from tests.helpers import PYTHON, child_env
from tests.kernel_helpers import WIDGET_VIEW, Executed, kernel


def decode(content: dict[str, Any], buffers: list[Any]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """What the front end reads out of a points message (mirrors js/series-store.ts)."""
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


# -- encoding ------------------------------------------------------------------------------


def test_evenly_spaced_steps_cost_no_buffer() -> None:
    steps = np.arange(10, 1010, 5, dtype=np.int64)
    content, buffers = points_message({"loss": (steps, np.linspace(0, 1, 200))}, t0=0.0)
    (entry,) = content["series"]
    assert (entry["first"], entry["stride"]) == (10, 5)
    assert "steps_buf" not in entry
    assert len(buffers) == 1 and len(buffers[0]) == 200 * 8
    s, v = decode(content, buffers)["loss"]
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
    decoded = decode(content, buffers)
    assert np.array_equal(decoded["a"][0], small)
    assert np.array_equal(decoded["b"][0], big)
    # NaN and infinities cross as they are: the chart draws them as gaps.
    np.testing.assert_array_equal(decoded["a"][1], vals)


def test_wall_time_goes_as_float32_seconds_since_start() -> None:
    t0 = 1.7e9
    times = t0 + np.array([0.0, 0.5, 3600.25])
    content, buffers = points_message({"_time": (np.arange(3), times)}, t0=t0)
    (entry,) = content["series"]
    assert entry["values"] == "f32" and len(buffers[0]) == 3 * 4
    np.testing.assert_allclose(decode(content, buffers)["_time"][1], times - t0, atol=1e-3)


def test_buffers_are_copies_not_views() -> None:
    values = np.ones(4)
    _, buffers = points_message({"x": (np.array([0, 2, 3, 9]), values)}, t0=0.0)
    values[:] = 7  # the caller keeps writing to its array after send
    assert all(isinstance(b, bytes) for b in buffers)
    assert np.frombuffer(buffers[-1], np.float64).tolist() == [1.0] * 4


def test_overlap_with_already_sent_steps_is_dropped() -> None:
    b = Batch({"x": (np.arange(5), np.arange(5.0)), "y": (np.arange(2), np.zeros(2))})
    kept = after_steps(b, {"x": 2, "y": 7})
    assert kept.series["x"][0].tolist() == [3, 4]
    assert "y" not in kept.series
    merged = merge_batches([Batch({"x": (np.arange(2), np.zeros(2))}), kept])
    assert merged.series["x"][0].tolist() == [0, 1, 3, 4]


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


def test_bokehjs_is_the_installed_copy_gzipped_and_bokeh_python_is_not_imported() -> None:
    content, buffers = bokeh_message()
    assert content["files"] == ["bokeh.min.js", "bokeh-api.min.js"]
    assert gzip.decompress(buffers[0]) == (bokehjs_dir() / "bokeh.min.js").read_bytes()
    code = (
        "import sys, nbtrack.widget._bokeh as b; b.bokeh_message(); "
        "print(sorted(m for m in sys.modules if m == 'bokeh' or m.startswith('bokeh.')))"
    )
    out = subprocess.run([PYTHON, "-c", code], env=child_env(), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_importing_the_widget_package_is_light() -> None:
    code = (
        "import sys, nbtrack.widget; print('anywidget' in sys.modules, 'ipywidgets' in sys.modules)"
    )
    out = subprocess.run([PYTHON, "-c", code], env=child_env(), capture_output=True, text=True)
    assert out.stdout.strip() == "False False", out.stderr


def test_no_dashboard_outside_a_notebook(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = nbtrack.init(project="plain")
    run.log({"loss": 1.0})
    run.finish()
    assert run._tick_callbacks == []
    assert capsys.readouterr().out == ""


# -- a real kernel -------------------------------------------------------------------------


def _dashboard_messages(ex: list[Executed]) -> tuple[str, list[tuple[dict[str, Any], list[Any]]]]:
    """The model id of the (single) dashboard shown, and its custom messages with buffers."""
    msgs = [m for e in ex for m in e.iopub]
    model_ids = [
        m["content"]["data"][WIDGET_VIEW]["model_id"]
        for m in msgs
        if m["msg_type"] in ("display_data", "execute_result")
        and WIDGET_VIEW in m["content"]["data"]
    ]
    assert len(model_ids) == 1, model_ids
    mid = model_ids[0]
    custom = [
        (m["content"]["data"]["content"], m["buffers"])
        for m in msgs
        if m["msg_type"] == "comm_msg"
        and m["content"]["comm_id"] == mid
        and m["content"]["data"].get("method") == "custom"
    ]
    return mid, custom


def _points(
    custom: list[tuple[dict[str, Any], list[Any]]],
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    acc: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for content, buffers in custom:
        if content.get("type") == "points":
            for k, col in decode(content, buffers).items():
                acc.setdefault(k, []).append(col)
    return {
        k: (np.concatenate([c[0] for c in v]), np.concatenate([c[1] for c in v]))
        for k, v in acc.items()
    }


@pytest.mark.kernel
def test_live_dashboard_in_a_real_kernel(tmp_path: Path, store_dir: Path) -> None:
    code = """
import time, nbtrack
run = nbtrack.init(project="k", name="live")
for i in range(2000):
    run.log({"loss": 1.0 / (i + 1), "acc": i / 2000})
    time.sleep(0.001)
run.log({"loss": float("nan"), "acc": float("inf")})
"""
    with kernel(tmp_path, store_dir) as k:
        first = k.run(code)
        assert first.status == "ok", first.text()
        # Logged < 0.1 s before the cell ended: the end-of-cell flush sends it anyway.
        second = k.run("for i in range(3): run.log({'loss': 0.5, 'acc': 0.5})")
        third = k.run("run.finish()")
        state = k.widgets
    mid, custom = _dashboard_messages([first, second, third])
    widget_state = state[mid]
    types = [c.get("type") for c, _ in custom]
    assert types.count("bokeh") == 1
    pts = _points(custom)
    steps, loss = pts["loss"]
    assert steps.tolist() == list(range(2004))
    expected = [1.0 / (i + 1) for i in range(2000)]
    assert loss[:2000].tolist() == expected
    assert np.isnan(loss[2000]) and pts["acc"][1][2000] == np.inf
    assert pts["_time"][0].tolist() == list(range(2004))
    # Coalesced: one points message per tick (0.1 s), not one per log() call.
    assert types.count("points") < 2000 / 20
    # Bytes of point data per point, all keys and the time column counted.
    data_bytes = sum(len(b) for c, bufs in custom if c.get("type") == "points" for b in bufs)
    json_bytes = sum(len(json.dumps(c)) for c, _ in custom if c.get("type") == "points")
    assert (data_bytes + json_bytes) / (2 * 2004) <= 20
    header = [c for c, _ in custom if c.get("type") == "header"][-1]
    assert header["state"] == "finished" and header["step"] == 2004
    # The saved widget state holds neither the data nor BokehJS: only the widget's own
    # module (anywidget keeps `_esm` in every widget's state) and a few small fields.
    esm = widget_state.pop("_esm")
    assert len(esm) < 100_000 and "Bokeh" in esm and "__bokeh__" not in esm
    assert len(json.dumps(widget_state)) < 2000
    assert "loss" not in json.dumps(widget_state)


@pytest.mark.kernel
def test_dashboard_made_later_sends_history_once(tmp_path: Path, store_dir: Path) -> None:
    with kernel(tmp_path, store_dir) as k:
        a = k.run(
            "import nbtrack\nrun = nbtrack.init(project='k', display=False)\n"
            "for i in range(50): run.log({'x': i})"
        )
        b = k.run("run.dashboard()")
        c = k.run("for i in range(10): run.log({'x': 50 + i})\nrun.finish()")
    assert a.status == b.status == c.status == "ok", b.text() + c.text()
    _, custom = _dashboard_messages([a, b, c])
    steps, values = _points(custom)["x"]
    assert steps.tolist() == list(range(60))
    assert values.tolist() == [float(i) for i in range(60)]


@pytest.mark.kernel
def test_show_a_finished_run_in_a_fresh_kernel(tmp_path: Path, store_dir: Path) -> None:
    run = nbtrack.init(project="shown", name="done")
    for i in range(500):
        run.log({"train/loss": 1 / (i + 1)}, step=i * 3)
    run.alert("Slow", "took long", level="WARN")
    run.finish()
    with kernel(tmp_path, store_dir) as k:
        ex = k.run(f"import nbtrack\nnbtrack.show({run.path!r})")
    assert ex.status == "ok", ex.text()
    _, custom = _dashboard_messages([ex])
    steps, values = _points(custom)["train/loss"]
    assert steps.tolist() == [i * 3 for i in range(500)]
    assert values[-1] == 1 / 500
    header = [c for c, _ in custom if c.get("type") == "header"][-1]
    assert header["state"] == "finished"
    assert header["name"] == "done"
    assert header["alerts"][0]["title"] == "Slow"
    assert header["last"]["train/loss"] == pytest.approx(1 / 500)

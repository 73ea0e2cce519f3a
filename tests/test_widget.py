"""The dashboard's data path: what the feeds send, and what a real kernel sends to the page.

The encoding of each message is tested in ``tests/test_protocol.py``.
"""

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
from nbtrack.widget._batches import after_steps, merge_batches
from nbtrack.widget._bokeh import bokehjs_dir
from nbtrack.widget._protocol import bokeh_message
from tests.helpers import PYTHON, child_env
from tests.kernel_helpers import WIDGET_VIEW, Executed, kernel
from tests.protocol_helpers import decode_points

# -- what the feeds send ----------------------------------------------------------------


def test_overlap_with_already_sent_steps_is_dropped() -> None:
    b = Batch({"x": (np.arange(5), np.arange(5.0)), "y": (np.arange(2), np.zeros(2))})
    kept = after_steps(b, {"x": 2, "y": 7})
    assert kept.series["x"][0].tolist() == [3, 4]
    assert "y" not in kept.series
    merged = merge_batches([Batch({"x": (np.arange(2), np.zeros(2))}), kept])
    assert merged.series["x"][0].tolist() == [0, 1, 3, 4]


def test_bokehjs_is_the_installed_copy_gzipped_and_bokeh_python_is_not_imported() -> None:
    content, buffers = bokeh_message()
    assert content["files"] == ["bokeh.min.js", "bokeh-api.min.js"]
    assert gzip.decompress(buffers[0]) == (bokehjs_dir() / "bokeh.min.js").read_bytes()
    code = (
        "import sys, nbtrack.widget._protocol as p; p.bokeh_message(); "
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
    store_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[object] = []
    monkeypatch.setattr("nbtrack.widget.dashboard", made.append)
    run = nbtrack.init(project="plain")
    run.log({"loss": 1.0})
    run.finish()
    assert made == []
    assert capsys.readouterr().out == ""


def _headers(sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in sent if c.get("type") == "header"]


def _capture(run_id: str) -> tuple[Any, list[dict[str, Any]]]:
    from nbtrack.widget._dashboard import Dashboard

    widget = Dashboard(run_id)
    sent: list[dict[str, Any]] = []
    widget.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    return widget, sent


def test_a_live_dashboard_gets_the_metric_definitions_and_each_one_made_later(
    store_dir: Path,
) -> None:
    from nbtrack.widget._dashboard import LiveFeed

    run = nbtrack.init(project="defs", display=False)
    run.define_metric("epoch")
    widget, sent = _capture(run.id)
    feed = LiveFeed(widget, run)
    assert _headers(sent)[-1]["metrics"] == [
        {"name": "epoch", "step_metric": None, "hidden": False}
    ]
    # After the dashboard is up: the next tick's header carries it.
    run.define_metric("val/*", step_metric="epoch", summary="min")
    run.define_metric("debug", hidden=True)
    run.log({"epoch": 0, "val/loss": 1.0})
    feed.flush()
    assert _headers(sent)[-1]["metrics"] == [
        {"name": "epoch", "step_metric": None, "hidden": False},
        {"name": "val/*", "step_metric": "epoch", "hidden": False},
        {"name": "debug", "step_metric": None, "hidden": True},
    ]
    run.finish()


def test_a_stored_run_shows_its_metric_definitions(store_dir: Path) -> None:
    from nbtrack.api import Api
    from nbtrack.widget._dashboard import StoreFeed

    run = nbtrack.init(project="defs", display=False)
    run.define_metric("epoch")
    run.define_metric("val/*", step_metric="epoch")
    run.log({"epoch": 0, "val/loss": 1.0})
    run.finish()
    widget, sent = _capture(run.id)
    with Api(store_dir) as api:
        StoreFeed(widget, api.run(run.path), follow=False)
    assert [(m["name"], m["step_metric"]) for m in _headers(sent)[-1]["metrics"]] == [
        ("epoch", None),
        ("val/*", "epoch"),
    ]


def test_a_server_run_pages_header_has_the_definitions_its_client_uploaded() -> None:
    pytest.importorskip("sqlalchemy", reason="the server extra")
    from types import SimpleNamespace

    from nbtrack.server import reads

    meta = {"host": "gpu-7", "metrics": [{"name": "val/*", "step_metric": "epoch", "goal": 1}]}
    row = SimpleNamespace(
        run_id="r1", name="n", state="finished", last_step=9, created_at=0.0, finished_at=1.0,
        heartbeat_at=1.0, summary="{}", alerts="[]", error=None, metadata=json.dumps(meta),
    )  # fmt: skip
    for private in (True, False):  # a share link's page too: key names are no private fact
        header = reads.header_content(row, "team", "p", private=private)
        assert header["metrics"] == [{"name": "val/*", "step_metric": "epoch", "hidden": False}]
    row.metadata = "not json"
    assert reads.header_content(row, "team", "p")["metrics"] == []


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
            for k, col in decode_points(content, buffers).items():
                acc.setdefault(k, []).append(col)
    return {
        k: (np.concatenate([c[0] for c in v]), np.concatenate([c[1] for c in v]))
        for k, v in acc.items()
    }


@pytest.mark.kernel
def test_live_dashboard_in_a_real_kernel(tmp_path: Path, store_dir: Path) -> None:
    code = """
import time, nbtrack
t_start = time.time()
run = nbtrack.init(project="k", name="live")
for i in range(2000):
    run.log({"loss": 1.0 / (i + 1), "acc": i / 2000})
    time.sleep(0.001)
run.log({"loss": float("nan"), "acc": float("inf")})
print(f"cell_s={time.time() - t_start!r}")
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
    # Coalesced: at most one points message per tick (0.1 s), however fast the loop ran,
    # plus the dashboard's first flush and the end-of-cell flush; not one per log() call.
    cell_s = float(first.text().split("cell_s=")[1].split()[0])
    _, first_custom = _dashboard_messages([first])
    first_points = [c for c, _ in first_custom if c.get("type") == "points"]
    ticks = int(cell_s / 0.1) + 2  # one more for rounding
    assert len(first_points) <= ticks + 2, (len(first_points), cell_s)
    assert sum(e["n"] for c in first_points for e in c["series"] if e["key"] == "loss") == 2001
    # Bytes of point data per point, all keys and the time column counted.
    data_bytes = sum(len(b) for c, bufs in custom if c.get("type") == "points" for b in bufs)
    json_bytes = sum(len(json.dumps(c)) for c, _ in custom if c.get("type") == "points")
    assert (data_bytes + json_bytes) / (2 * 2004) <= 20
    header = [c for c, _ in custom if c.get("type") == "header"][-1]
    assert header["state"] == "finished" and header["step"] == 2004
    # The saved widget state holds neither the data nor BokehJS: only the widget's own
    # module (anywidget keeps `_esm` in every widget's state: the views' code, dashboard,
    # compare view and media panels, about 210 KB minified, where BokehJS is over 1 MB) and a
    # few small fields.
    esm = widget_state.pop("_esm")
    assert len(esm) < 240_000 and "Bokeh" in esm and "__bokeh__" not in esm
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

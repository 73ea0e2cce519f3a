"""What a W&B script's runs look like in the views, in a real Chromium (the HTML export: no
server, no JupyterLab, the same bundle and messages as every host).

A sweep's runs, made by ``nbtrack.sweeps.agent`` as a W&B script makes them, each with
``init(group=, job_type=)``, ``define_metric("epoch")``, ``define_metric("val/*",
step_metric="epoch")``, a hidden ``debug/*`` and a ``Histogram`` under a key of its own. A
run's file draws its val chart against epoch (axis label and x values), its train chart
against the step, no chart for the hidden metric, and the histogram panel with a heat map.
The project's file shows the Group, Job type and Sweep columns, and the filter
``sweep == "<id>"`` keeps the sweep's runs only. On a live page (the page harness's event
stream), a definition that comes after the charts are drawn redraws them by it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nbtrack
from nbtrack import export
from nbtrack.widget._protocol import header_message, points_message
from tests.browser.page_harness import RUN_ID, T0, PageServer, _handler
from tests.browser.test_export import (
    COMPARE,
    RUN,
    card,
    check_charts_draw,
    check_histograms_draw,
    offline,
    until,
)

pytestmark = pytest.mark.browser

PROJECT = "wandb-views"
HIST = "layer1/weights_hist"
STEPS = 120
EPOCH_EVERY = 20  # an epoch is 20 steps: val/loss and epoch are logged at its last step


def _train() -> None:
    """A training function as W&B's sweep tutorials write it."""
    run = nbtrack.init(group="cnn", job_type="train")
    run.define_metric("epoch")
    run.define_metric("val/*", step_metric="epoch")
    run.define_metric("debug/*", hidden=True)
    rng = np.random.default_rng(0)
    for i in range(STEPS):
        row: dict[str, Any] = {"train/loss": run.config.lr / (i + 1), "debug/grad": float(i)}
        if i % EPOCH_EVERY == EPOCH_EVERY - 1:
            row["epoch"] = i // EPOCH_EVERY
            row["val/loss"] = 2.0 / (i + 1)
        if i % 10 == 0:
            row[HIST] = nbtrack.Histogram(rng.normal(i / STEPS, 1.0, 500))
        run.log(row)
    run.finish()


@pytest.fixture
def swept(store_dir: Path) -> tuple[str, list[nbtrack.api.RunRecord], str]:
    """The sweep's id, its two runs, and a run of the project outside it."""
    from nbtrack import sweeps

    sweep_id = sweeps.sweep(
        {"method": "grid", "parameters": {"lr": {"values": [0.1, 0.01]}}}, project=PROJECT
    )
    sweeps.agent(sweep_id, _train, count=2)
    other = nbtrack.init(project=PROJECT, name="baseline", display=False)
    other.log({"train/loss": 1.0})
    other.finish()
    with nbtrack.Api(store_dir) as api:
        runs = [r for r in api.runs(PROJECT) if r.id != other.id]
    assert len(runs) == 2 and all(r.metadata.get("sweep_id") == sweep_id for r in runs)
    return sweep_id, runs, other.id


# A chart's x-axis label and the x values it was handed (null while it is being built).
X_AXIS = """(sel) => {
  const chart = document.querySelector(sel)?.__nbtrack_card__?.chart;
  const x = chart?.sources()[0].raw.data.x;
  return x && x.length ? [[...chart.plotModel.xaxis][0].axis_label, Array.from(x)] : null;
}"""


def test_a_runs_file_draws_val_against_epoch_hides_debug_and_shows_the_histogram(
    swept: tuple[str, list[nbtrack.api.RunRecord], str], chromium: Any, tmp_path: Path
) -> None:
    _, runs, _ = swept
    path = export.export_run(runs[0].path, tmp_path / "run.html")
    with offline(chromium) as o:
        page = o.page
        page.goto(path.as_uri())
        page.wait_for_selector(f'{RUN}[data-feed="embedded"]', timeout=30_000)
        check_charts_draw(page, ["train/loss", "val/loss", "epoch"])
        label, xs = until(page, X_AXIS, card("val/loss"), what="the val chart's x axis")
        assert label == "epoch"
        # Its points sit at the epochs 0..5, not at the steps 19, 39, ...
        epochs = STEPS // EPOCH_EVERY
        assert sorted(set(xs)) == [float(e) for e in range(epochs)]
        label, xs = until(page, X_AXIS, card("train/loss"))
        assert label == "step" and max(xs) == STEPS - 1
        label, _ = until(page, X_AXIS, card("epoch"))
        assert label == "step"  # the step metric is a chart of its own, against the step
        # define_metric("debug/*", hidden=True): no chart.
        assert page.locator(card("debug/grad")).count() == 0
        # The x-axis control offers the definitions' axes, and chosen, the step wins.
        assert page.eval_on_selector(f"{RUN} .nbt-xaxis", "(s) => s.value") == ""
        page.select_option(f"{RUN} .nbt-xaxis", "step")
        until(
            page,
            "(sel) => { const c = document.querySelector(sel)?.__nbtrack_card__?.chart;"
            " return c && [...c.plotModel.xaxis][0].axis_label === 'step'; }",
            card("val/loss"),
            what="the val chart against the step once the step is chosen",
        )
        # A Histogram logged under a key of the user's: its row and its heat map.
        check_histograms_draw(page, 1)
        row = page.locator(f'.nbt-hist-section [data-key="{HIST}"]')
        assert row.get_attribute("data-points") == str(STEPS // 10)
        o.check_clean()


def _header(step: int, metrics: list[dict[str, Any]] | None) -> tuple[dict[str, Any], list[bytes]]:
    header = header_message(
        run_id=RUN_ID, name="defined-later", project="p", state="running", step=step,
        created_at=T0, elapsed=1.0, rate=None, last={}, alerts=[], error=None, metrics=metrics,
    )  # fmt: skip
    return header, []


@contextmanager
def _serve(events: list[list[tuple[dict[str, Any], list[bytes]]]]) -> Iterator[PageServer]:
    """The page harness's run page (`tests/browser/page_harness.py`) with these events."""
    server = PageServer(events)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    httpd.daemon_threads = True
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def test_a_definition_made_while_the_dashboard_is_up_takes_effect(page: Any) -> None:
    steps = np.arange(40, dtype=np.int64)
    ends = steps[steps % 10 == 9]
    points = points_message(
        {
            "train/loss": (steps, 1.0 / (steps + 1.0)),
            "epoch": (ends, (ends // 10).astype(np.float64)),
            "val/loss": (ends, 2.0 / (ends + 1.0)),
        },
        t0=T0,
    )
    epoch = {"name": "epoch"}
    val = {"name": "val/*", "step_metric": "epoch"}
    events = [
        [points, _header(40, None)],  # no definition yet
        [_header(40, [epoch, val])],  # define_metric after the dashboard is up
        [_header(40, [epoch, val, {"name": "train/*", "hidden": True}])],
    ]
    root = "[data-nbtrack-run]"
    with _serve(events) as site:
        site.allow(1)
        page.goto(site.url + "/")
        label, xs = until(page, X_AXIS, card("val/loss", root), what="the val chart")
        assert label == "step" and max(xs) == 39
        site.allow(2)
        until(
            page,
            f"(sel) => {{ const r = ({X_AXIS})(sel); return r && r[0] === 'epoch' && r; }}",
            card("val/loss", root),
            what="the val chart against epoch",
        )
        label, xs = until(page, X_AXIS, card("val/loss", root))
        assert sorted(set(xs)) == [0.0, 1.0, 2.0, 3.0]
        assert page.locator(card("train/loss", root)).count() == 1
        site.allow(3)
        until(
            page,
            "(sel) => document.querySelectorAll(sel).length === 0",
            card("train/loss", root),
            what="the hidden train chart gone",
        )
        assert page.locator(card("val/loss", root)).count() == 1
        assert page.page_errors == []


CELL = """([id, col]) => document.querySelector(
  `[data-nbtrack-compare] tr[data-run-id="${id}"] td[data-column="${col}"]`)?.textContent"""


def test_a_projects_file_shows_group_job_type_and_sweep_and_filters_on_the_sweep(
    swept: tuple[str, list[nbtrack.api.RunRecord], str], chromium: Any, tmp_path: Path
) -> None:
    sweep_id, runs, other = swept
    path = export.export_project(PROJECT, tmp_path / "project.html")
    table = f"{COMPARE} table.nbt-runs-table"
    with offline(chromium) as o:
        page = o.page
        page.goto(path.as_uri())
        page.wait_for_selector(f'{table}[data-visible-rows="3"]', timeout=60_000)
        headers = page.eval_on_selector_all(
            f"{table} th[data-column]", "(ths) => ths.map((t) => [t.dataset.column, t.textContent])"
        )
        assert headers[:5] == [
            ["name", "Name"],
            ["state", "State"],
            ["group", "Group"],
            ["job_type", "Job type"],
            ["sweep", "Sweep"],
        ]
        for r in runs:
            assert page.evaluate(CELL, [r.id, "sweep"]) == sweep_id
            assert page.evaluate(CELL, [r.id, "group"]) == "cnn"
            assert page.evaluate(CELL, [r.id, "job_type"]) == "train"
        assert page.evaluate(CELL, [other, "sweep"]) == ""
        page.fill(f"{COMPARE} .nbt-filter", f"sweep == {json.dumps(sweep_id)}")
        page.wait_for_selector(f'{table}[data-visible-rows="2"]', timeout=30_000)
        shown = page.eval_on_selector_all(
            f"{table} tbody tr[data-run-id]:not([hidden])",
            "(rows) => rows.map((r) => r.dataset.runId)",
        )
        assert sorted(shown) == sorted(r.id for r in runs)
        # Rows (and curves) group by the sweep too.
        page.select_option(f"{COMPARE} .nbt-group", "sweep")
        page.wait_for_selector(f'{table} tr.nbt-group-row[data-group="{sweep_id}"]', timeout=30_000)
        o.check_clean()

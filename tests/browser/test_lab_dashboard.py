"""Must show 1: the live dashboard in a real JupyterLab, in a real headless Chromium.

A cell logs for about 15 s. While it is still executing the chart's point count grows,
and the smoothing slider and the log-scale toggle change what is drawn; when it ends the
chart holds every logged step. A metric logged once (a final test accuracy) is drawn too.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import (
    CHART,
    STEPS,
    TRAIN_CELL,
    cell_running,
    chart_info,
    check_grows_while_running,
    check_smoothing_and_log_scale,
    open_notebook,
    points,
    run_all_cells,
    wait_chart,
    wait_drawn,
    wait_points,
)
from tests.browser.servers import JupyterServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_live_dashboard_in_jupyterlab(lab: JupyterServer, page: Any, artifacts: Path) -> None:
    # Slower than the shared cell: every control is checked while it still runs (30 s, not 15).
    nb = lab.write_notebook(
        "live.ipynb", [TRAIN_CELL.replace("time.sleep(0.05)", "time.sleep(0.1)")]
    )
    open_notebook(page, lab, nb)
    run_all_cells(page)
    check_grows_while_running(page)

    # Bokeh draws the reduced points of the chart.
    wait_chart(page, "sources()[0].raw.data.y.length > 5", timeout=20_000)
    before = chart_info(page)
    assert before["smooth"] == []
    # Smoothing draws a second line; log scale draws the chart again on a log y axis.
    check_smoothing_and_log_scale(page)
    assert page.get_attribute(f"{CHART} .nbt-log", "aria-pressed") == "true"

    # Merge val/loss into train/loss: one chart with both lines and a legend.
    page.select_option('.nbtrack-chart[data-metric="val/loss"] .nbt-merge', "train/loss")
    wait_chart(page, "sources().length === 2", timeout=10_000)
    assert page.locator('.nbtrack-chart[data-metric="val/loss"]').count() == 0
    assert cell_running(page), "the controls were checked while the cell was still running"

    # The end: every step is there and the header says finished.
    page.wait_for_selector('.nbtrack-dashboard[data-state="finished"]', timeout=60_000)
    wait_points(page, f"=== {STEPS}", timeout=10_000)
    assert points(page) == STEPS
    val_points = page.evaluate(
        f"() => document.querySelector('{CHART}').__nbtrack_card__.chart.sources()[1].raw.data.y.length"
    )
    assert 0 < val_points <= STEPS // 10
    run_id = page.get_attribute(".nbtrack-dashboard", "data-run-id")
    assert run_id and len(run_id) == 8
    time.sleep(0.5)  # one more animation frame for the last points
    page.locator(".nbtrack-dashboard").screenshot(path=str(artifacts / "lab_dashboard.png"))
    (artifacts / "page_errors.txt").write_text("\n\n".join(page.page_errors))
    assert not page.page_errors, page.page_errors


ONE_POINT_CELL = """\
import nbtrack
run = nbtrack.init(project="browser", name="one-point")
for i in range(20):
    run.log({"train/loss": 1.0 / (i + 1)})
run.log({"test/acc": 0.875})  # once, at the end
run.finish()
"""


def test_a_metric_logged_once_is_drawn(lab: JupyterServer, page: Any) -> None:
    nb = lab.write_notebook("one_point.ipynb", [ONE_POINT_CELL])
    open_notebook(page, lab, nb)
    run_all_cells(page)
    page.wait_for_selector('.nbtrack-dashboard[data-state="finished"]', timeout=60_000)
    acc = '.nbtrack-dashboard .nbtrack-chart[data-metric="test/acc"]'
    wait_points(page, "=== 1", sel=acc, timeout=20_000)
    wait_chart(page, "sources()[0].raw.data.y.length === 1", sel=acc, timeout=20_000)
    # A line of one point draws no pixel: the point must show all the same, in its colour.
    assert wait_drawn(page, acc, (0x25, 0x63, 0xEB), timeout=10_000) >= 9
    drawn = page.evaluate(
        """(sel) => {
          const chart = document.querySelector(sel).__nbtrack_card__.chart;
          const src = chart.sources()[0];
          const y = chart.plotModel.y_range;
          return { x: Array.from(src.marks.data.x), y: Array.from(src.marks.data.y),
                   y0: y.start, y1: y.end };
        }""",
        acc,
    )
    assert (drawn["x"], drawn["y"]) == ([20], [0.875])
    assert drawn["y0"] < 0.875 < drawn["y1"]
    assert not page.page_errors, page.page_errors

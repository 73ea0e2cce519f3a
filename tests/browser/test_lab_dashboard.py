"""Must show 1: the live dashboard in a real JupyterLab, in a real headless Chromium.

A cell logs for about 15 s. While it is still executing the chart's point count grows,
and the smoothing slider and the log-scale toggle change what is drawn; when it ends the
chart holds every logged step.
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
    wait_points,
)
from tests.browser.servers import JupyterServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_live_dashboard_in_jupyterlab(lab: JupyterServer, page: Any, artifacts: Path) -> None:
    nb = lab.write_notebook("live.ipynb", [TRAIN_CELL])
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

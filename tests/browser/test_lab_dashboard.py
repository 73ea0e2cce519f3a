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

from tests.browser.conftest import JupyterServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STEPS = 300
TRAIN_CELL = f"""\
import math, time
import nbtrack
run = nbtrack.init(project="browser", name="lab-live", config={{"lr": 0.01}})
for i in range({STEPS}):
    loss = 2.0 * math.exp(-i / 80) + 0.08 * math.sin(i / 3) + 0.1
    row = {{"train/loss": loss, "train/acc": 1 - loss / 2.5, "epoch": i // 100}}
    if i % 10 == 9:
        row["val/loss"] = loss * 1.15
    run.log(row)
    time.sleep(0.05)
run.finish()
"""

CHART = '.nbtrack-dashboard .nbtrack-chart[data-metric="train/loss"]'


def points(page: Any) -> int:
    return int(page.get_attribute(CHART, "data-points") or 0)


def chart_info(page: Any) -> dict[str, Any]:
    """What Bokeh is drawing in the train/loss chart: its sources and its y scale."""
    info: dict[str, Any] = page.evaluate(
        """(sel) => {
          const card = document.querySelector(sel).__nbtrack_card__;
          const chart = card.chart;
          const src = chart.sources()[0];
          return {
            raw: Array.from(src.raw.data.y),
            smooth: Array.from(src.smooth.data.y),
            yScale: chart.plotModel.y_scale.type,
          };
        }""",
        CHART,
    )
    return info


def cell_running(page: Any) -> bool:
    # The cell's prompt shows [*] while it executes. (The kernel's status is no proof: with
    # ipykernel 7 the status bar can read "Idle" while a cell still runs.)
    return bool(
        page.evaluate("() => document.querySelector('.jp-Cell .jp-InputPrompt').textContent.includes('*')")
    )


def open_notebook(page: Any, server: JupyterServer, path: Path) -> None:
    page.goto(f"{server.url}/lab/tree/{path.name}")
    page.wait_for_function(
        """() => {
          const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
          const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
          return k && k.status === 'idle';
        }""",
        timeout=60_000,
    )
    # A kernel-selection dialog, if one shows up anyway: take the default.
    dialog = page.locator(".jp-Dialog .jp-mod-accept")
    if dialog.count():
        dialog.first.click()


def test_live_dashboard_in_jupyterlab(lab: JupyterServer, page: Any, artifacts: Path) -> None:
    nb = lab.write_notebook("live.ipynb", [TRAIN_CELL])
    open_notebook(page, lab, nb)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

    page.wait_for_selector(CHART, timeout=30_000)
    page.wait_for_function(f"() => +document.querySelector('{CHART}').dataset.points > 5", timeout=30_000)
    first = points(page)
    time.sleep(1.5)
    second = points(page)
    assert cell_running(page), "the cell should still be running"
    assert second > first, (first, second)

    # Bokeh draws the reduced points of the chart.
    page.wait_for_function(
        f"() => document.querySelector('{CHART}').__nbtrack_card__.chart.sources()[0].raw.data.y.length > 5",
        timeout=20_000,
    )
    before = chart_info(page)
    assert before["smooth"] == []
    chart = page.locator(CHART)
    pixels_before = chart.screenshot()

    # Smoothing: a smoothed line appears and differs from the raw one.
    page.evaluate(
        """() => {
          const s = document.querySelector('.nbtrack-dashboard .nbt-smoothing');
          s.value = '0.9';
          s.dispatchEvent(new Event('input', { bubbles: true }));
          s.dispatchEvent(new Event('change', { bubbles: true }));
        }"""
    )
    page.wait_for_function(
        f"() => document.querySelector('{CHART}').__nbtrack_card__.chart.sources()[0].smooth.data.y.length > 5",
        timeout=10_000,
    )
    smoothed = chart_info(page)
    n = min(len(smoothed["raw"]), len(smoothed["smooth"]))
    assert any(abs(a - b) > 1e-6 for a, b in zip(smoothed["raw"][:n], smoothed["smooth"][:n], strict=True))
    assert chart.screenshot() != pixels_before

    # Log scale: the chart is drawn again on a log y axis.
    assert "Linear" in smoothed["yScale"]
    page.click(f"{CHART} .nbt-log")
    page.wait_for_function(
        f"() => document.querySelector('{CHART}').__nbtrack_card__.chart.plotModel.y_scale.type.includes('Log')",
        timeout=10_000,
    )
    assert page.get_attribute(f"{CHART} .nbt-log", "aria-pressed") == "true"

    # Merge val/loss into train/loss: one chart with both lines and a legend.
    page.select_option('.nbtrack-chart[data-metric="val/loss"] .nbt-merge', "train/loss")
    page.wait_for_function(
        f"() => document.querySelector('{CHART}').__nbtrack_card__.chart.sources().length === 2",
        timeout=10_000,
    )
    assert page.locator('.nbtrack-chart[data-metric="val/loss"]').count() == 0
    assert cell_running(page), "the controls were checked while the cell was still running"

    # The end: every step is there and the header says finished.
    page.wait_for_selector('.nbtrack-dashboard[data-state="finished"]', timeout=60_000)
    page.wait_for_function(f"() => +document.querySelector('{CHART}').dataset.points === {STEPS}", timeout=10_000)
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

"""Must show 2 (browser part): the live dashboard in Notebook 7, checked as in JupyterLab.

Notebook 7 is built from JupyterLab's components but is its own application (its own page,
URL scheme and shell), and anywidget reaches it through the same federated extension; this
test makes sure the dashboard renders, streams and stays interactive there too.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import JupyterServer
from tests.browser.test_lab_dashboard import (
    CHART,
    STEPS,
    TRAIN_CELL,
    cell_running,
    chart_info,
    points,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Notebook 7.6's own shortcuts plugin throws this on every page load, with or without any
# widget on the page (seen with a notebook holding only `print(1)`); it is not ours.
_NOTEBOOK7_OWN = "Cannot read properties of undefined (reading 'schema')"


def our_page_errors(page: Any) -> list[str]:
    """Page errors, less the one Notebook 7 raises by itself while loading."""
    return [
        e for e in page.page_errors if not (e.startswith(_NOTEBOOK7_OWN) and "notebook_core" in e)
    ]


def open_in_notebook7(page: Any, server: JupyterServer, path: Path) -> None:
    """Open `path` in Notebook 7's own notebook page and wait for its kernel."""
    page.goto(f"{server.url}/notebooks/{path.name}")
    page.wait_for_function(
        """() => {
          const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
          const k = w && w.sessionContext && w.sessionContext.session
            && w.sessionContext.session.kernel;
          return k && k.status === 'idle';
        }""",
        timeout=60_000,
    )
    # Notebook 7's shell is not JupyterLab's: the page must be the notebook app's.
    assert page.evaluate("() => window.jupyterapp.name") == "Jupyter Notebook"


def test_live_dashboard_in_notebook7(notebook7: JupyterServer, page: Any, artifacts: Path) -> None:
    nb = notebook7.write_notebook("live.ipynb", [TRAIN_CELL])
    open_in_notebook7(page, notebook7, nb)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

    # While the cell runs, the chart receives points.
    page.wait_for_selector(CHART, timeout=30_000)
    page.wait_for_function(
        f"() => +document.querySelector('{CHART}').dataset.points > 5", timeout=30_000
    )
    first = points(page)
    time.sleep(1.5)
    second = points(page)
    assert cell_running(page), "the cell should still be running"
    assert second > first, (first, second)
    page.wait_for_function(
        f"""() => document.querySelector('{CHART}').__nbtrack_card__.chart
              .sources()[0].raw.data.y.length > 5""",
        timeout=20_000,
    )
    chart = page.locator(CHART)
    before = chart.screenshot()

    # The smoothing slider draws a smoothed line that differs from the raw one.
    page.evaluate(
        """() => {
          const s = document.querySelector('.nbtrack-dashboard .nbt-smoothing');
          s.value = '0.9';
          s.dispatchEvent(new Event('input', { bubbles: true }));
          s.dispatchEvent(new Event('change', { bubbles: true }));
        }"""
    )
    page.wait_for_function(
        f"""() => document.querySelector('{CHART}').__nbtrack_card__.chart
              .sources()[0].smooth.data.y.length > 5""",
        timeout=10_000,
    )
    info = chart_info(page)
    n = min(len(info["raw"]), len(info["smooth"]))
    assert any(abs(a - b) > 1e-6 for a, b in zip(info["raw"][:n], info["smooth"][:n], strict=True))
    assert chart.screenshot() != before

    # The log-scale toggle redraws on a log y axis.
    assert "Linear" in info["yScale"]
    page.click(f"{CHART} .nbt-log")
    page.wait_for_function(
        f"""() => document.querySelector('{CHART}').__nbtrack_card__.chart
              .plotModel.y_scale.type.includes('Log')""",
        timeout=10_000,
    )
    assert cell_running(page), "the controls were checked while the cell was still running"

    # At the end the chart holds every logged step.
    page.wait_for_selector('.nbtrack-dashboard[data-state="finished"]', timeout=60_000)
    page.wait_for_function(
        f"() => +document.querySelector('{CHART}').dataset.points === {STEPS}", timeout=10_000
    )
    assert points(page) == STEPS
    assert page.get_attribute('.nbtrack-chart[data-metric="val/loss"]', "data-points") == str(
        STEPS // 10
    )
    time.sleep(0.5)  # one more animation frame for the last points
    page.locator(".nbtrack-dashboard").screenshot(path=str(artifacts / "notebook7_dashboard.png"))
    assert not our_page_errors(page), "\n".join(our_page_errors(page))

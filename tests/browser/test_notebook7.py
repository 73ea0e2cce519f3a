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

from tests.browser.helpers import (
    STEPS,
    TRAIN_CELL,
    cell_running,
    check_grows_while_running,
    check_smoothing_and_log_scale,
    points,
    run_all_cells,
    wait_chart,
    wait_for_kernel,
    wait_points,
)
from tests.browser.servers import JupyterServer

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
    wait_for_kernel(page)
    # Notebook 7's shell is not JupyterLab's: the page must be the notebook app's.
    assert page.evaluate("() => window.jupyterapp.name") == "Jupyter Notebook"


def test_live_dashboard_in_notebook7(notebook7: JupyterServer, page: Any, artifacts: Path) -> None:
    # A slower cell than the shared one: every control is checked while it still runs, and
    # on a loaded machine those checks outlasted 15 s of training.
    slow_cell = TRAIN_CELL.replace("time.sleep(0.05)", "time.sleep(0.1)")
    assert slow_cell != TRAIN_CELL
    nb = notebook7.write_notebook("live.ipynb", [slow_cell])
    open_in_notebook7(page, notebook7, nb)
    run_all_cells(page)

    # While the cell runs, the chart receives points.
    check_grows_while_running(page)
    wait_chart(page, "sources()[0].raw.data.y.length > 5", timeout=20_000)

    # The smoothing slider draws a smoothed line that differs from the raw one; the log-scale
    # toggle redraws on a log y axis.
    check_smoothing_and_log_scale(page)
    assert cell_running(page), "the controls were checked while the cell was still running"

    # At the end the chart holds every logged step.
    page.wait_for_selector('.nbtrack-dashboard[data-state="finished"]', timeout=60_000)
    wait_points(page, f"=== {STEPS}", timeout=10_000)
    assert points(page) == STEPS
    assert page.get_attribute('.nbtrack-chart[data-metric="val/loss"]', "data-points") == str(
        STEPS // 10
    )
    time.sleep(0.5)  # one more animation frame for the last points
    page.locator(".nbtrack-dashboard").screenshot(path=str(artifacts / "notebook7_dashboard.png"))
    assert not our_page_errors(page), "\n".join(our_page_errors(page))

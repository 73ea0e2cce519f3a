"""Must show 3 (browser part): a ``%%nbtrack`` cell that raises leaves its dashboard in
place, drawn in red with the error; pressing stop on a training cell leaves it interrupted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import nbtrack
from tests.browser.helpers import open_notebook, run_all_cells, wait_points
from tests.browser.servers import JupyterServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FAILING_CELL = """\
%%nbtrack project=browser name=will-fail lr=0.1
import time
for i in range(30):
    nbtrack.log({"train/loss": 1 / (i + 1)})
    time.sleep(0.02)
raise RuntimeError("loss diverged at step 30")
"""
LOOP_CELL = """\
%%nbtrack project=browser name=stopped
import time
i = 0
while True:
    nbtrack.log({"train/loss": 1 / (i + 1)})
    i += 1
    time.sleep(0.01)
"""


def rgb(css: str) -> tuple[int, ...]:
    """``rgb(220, 38, 38)`` -> (220, 38, 38)."""
    inside = css[css.index("(") + 1 : css.index(")")]
    return tuple(int(float(p)) for p in inside.split(",")[:3])


def reddish(css: str) -> bool:
    """Red, as a person would call it: strong red, little green or blue (amber has green)."""
    r, g, b = rgb(css)
    return r > 140 and g < 60 and b < 60


def style(page: Any, selector: str, prop: str) -> str:
    return str(
        page.evaluate(
            "([sel, prop]) => getComputedStyle(document.querySelector(sel))[prop]",
            [selector, prop],
        )
    )


def test_failed_then_interrupted_dashboards(lab: JupyterServer, page: Any, artifacts: Path) -> None:
    nb = lab.write_notebook("fails.ipynb", ["%load_ext nbtrack", FAILING_CELL, LOOP_CELL])
    open_notebook(page, lab, nb)
    run_all_cells(page)

    failed = '.nbtrack-dashboard[data-state="failed"]'
    page.wait_for_selector(failed, timeout=60_000)
    # The dashboard kept its last state: every point, and the error from the traceback.
    chart = f'{failed} .nbtrack-chart[data-metric="train/loss"]'
    wait_points(page, "=== 30", sel=chart, timeout=10_000)
    assert page.inner_text(f"{failed} .nbt-state").strip().lower() == "failed"
    summary = page.inner_text(f"{failed} .nbt-error summary")
    assert summary.strip() == "RuntimeError: loss diverged at step 30"
    # ... and it is red: the badge, the error text and the dashboard's edge.
    assert reddish(style(page, f"{failed} .nbt-state", "color"))
    assert reddish(style(page, f"{failed} .nbt-error", "color"))
    assert reddish(style(page, failed, "borderLeftColor"))
    # The cell itself failed as usual: its traceback is in the output, below the dashboard.
    cell = page.locator(".jp-Notebook .jp-Cell").nth(1)
    assert "loss diverged at step 30" in cell.locator(".jp-OutputArea").inner_text()
    cell.screenshot(path=str(artifacts / "failed_dashboard.png"))

    # Run all stopped at the error; now run the training loop and press stop meanwhile.
    page.evaluate(
        """() => {
          const panel = window.jupyterapp.shell.currentWidget;
          panel.content.activeCellIndex = 2;
          window.jupyterapp.commands.execute('notebook:run-cell');
        }"""
    )
    live = '.nbtrack-dashboard[data-state="running"] .nbtrack-chart[data-metric="train/loss"]'
    page.wait_for_selector(live, timeout=30_000)
    wait_points(page, "> 20", sel=live, timeout=30_000)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:interrupt-kernel'); }")
    stopped = '.nbtrack-dashboard[data-state="interrupted"]'
    page.wait_for_selector(stopped, timeout=30_000)
    assert page.inner_text(f"{stopped} .nbt-state").strip().lower() == "interrupted"
    assert not reddish(style(page, f"{stopped} .nbt-state", "color"))  # amber, not an error
    shown = int(
        page.get_attribute(f'{stopped} .nbtrack-chart[data-metric="train/loss"]', "data-points")
        or 0
    )

    with nbtrack.Api(lab.store) as api:
        bad, stop = api.runs("browser")
        assert (bad.name, bad.state, bad.config) == ("will-fail", "failed", {"lr": 0.1})
        assert bad.error is not None and "RuntimeError: loss diverged at step 30" in bad.error
        assert (stop.name, stop.state) == ("stopped", "interrupted")
        # The dashboard got every point the run stored before the stop.
        assert shown == stop.last_step + 1
    assert not page.page_errors, "\n".join(page.page_errors)

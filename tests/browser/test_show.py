"""Must show 4: `nbtrack.show()` of a finished run, in a fresh kernel, draws its whole history."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

import nbtrack
from tests.browser.helpers import open_notebook, run_all_cells
from tests.browser.servers import JupyterServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STEPS = 5_000


def test_show_draws_a_finished_runs_whole_history(
    lab: JupyterServer, page: Any, artifacts: Path
) -> None:
    # The run is logged by this test process, then shown by a kernel that never saw it.
    run = nbtrack.init(project="stored", name="finished-run", dir=lab.store, display=False)
    for i in range(STEPS):
        row = {"train/loss": math.exp(-i / 1000) + 0.05 * math.sin(i / 50)}
        if i % 500 == 499:
            row["val/acc"] = i / STEPS
        run.log(row)
    run.finish()

    nb = lab.write_notebook("show.ipynb", [f"import nbtrack\nnbtrack.show({run.path!r})"])
    open_notebook(page, lab, nb)
    run_all_cells(page)

    loss = '.nbtrack-dashboard .nbtrack-chart[data-metric="train/loss"]'
    acc = '.nbtrack-dashboard .nbtrack-chart[data-metric="val/acc"]'
    page.wait_for_selector(f'.nbtrack-dashboard[data-run-id="{run.id}"]', timeout=60_000)
    page.wait_for_function(
        f"() => +document.querySelector('{loss}')?.dataset.points === {STEPS}", timeout=30_000
    )
    assert page.get_attribute(acc, "data-points") == str(STEPS // 500)
    assert page.get_attribute(".nbtrack-dashboard", "data-state") == "finished"
    # Bokeh draws it: the min/max-reduced line spans the whole run, to within a pixel column.
    page.wait_for_function(
        f"() => document.querySelector('{loss}').__nbtrack_card__?.chart?.sources()[0]?.raw.data.x.length > 100",
        timeout=20_000,
    )
    xs = page.evaluate(
        f"() => Array.from(document.querySelector('{loss}').__nbtrack_card__.chart.sources()[0].raw.data.x)"
    )
    assert min(xs) <= STEPS // 100 and max(xs) >= STEPS - 1 - STEPS // 100
    page.locator(".nbtrack-dashboard").screenshot(path=str(artifacts / "show_dashboard.png"))
    assert not page.page_errors, page.page_errors

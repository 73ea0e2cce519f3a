"""`watch(model)` in the live dashboard, in a real JupyterLab in a real headless Chromium.

A cell trains a small model under ``watch(log="all", log_freq=5)`` for about 12 s and puts a
NaN into one gradient at step 60. While the cell still runs: heat-map panels appear and
grow, the overview lists every tensor, the filter narrows it, and the alarm (step 60, that
tensor) shows in the header and on the tensor's row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import (
    cell_running,
    check_grows_while_running,
    open_notebook,
    run_all_cells,
    wait_points,
)
from tests.browser.servers import JupyterServer

pytest.importorskip("torch")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STEPS = 300
NAN_STEP = 60
TRAIN_CELL = f"""\
import time, torch
import nbtrack
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
opt = torch.optim.SGD(model.parameters(), lr=0.05)
run = nbtrack.init(project="browser", name="watch-live")
run.watch(model, log="all", log_freq=5)
for i in range({STEPS}):
    x = torch.randn(16, 8)
    loss = torch.nn.functional.cross_entropy(model(x), (x[:, 0] > 0).long())
    opt.zero_grad()
    loss.backward()
    if i == {NAN_STEP}:
        model[2].weight.grad[0, 0] = float("nan")
    opt.step()
    with torch.no_grad():  # the NaN went into the weights: heal them, go on
        for p in model.parameters():
            p.nan_to_num_(0.0)
    run.log({{"train/loss": loss.detach()}})
    time.sleep(0.04)
run.finish()
"""

PANEL = '.nbtrack-dashboard .nbtrack-histogram[data-metric="parameters/0.weight"]'


def test_histograms_grow_live_and_the_nan_alarm_shows(
    lab: JupyterServer, page: Any, artifacts: Path
) -> None:
    nb = lab.write_notebook("watch.ipynb", [TRAIN_CELL])
    open_notebook(page, lab, nb)
    run_all_cells(page)

    # Must show 3: heat-map panels appear and grow while the cell still executes.
    check_grows_while_running(page, PANEL, first=">= 2", appear_timeout=60_000)
    # The heat map is drawn: its canvas holds coloured (not white, not empty) pixels.
    coloured = page.evaluate(
        f"""() => {{
          const c = document.querySelector('{PANEL} canvas.nbt-hist-heat');
          const d = c.getContext('2d').getImageData(70, 0, c.width - 70, c.height - 20).data;
          let n = 0;
          for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i] < 250) n++;
          return n;
        }}"""
    )
    assert coloured > 100

    # The overview: one row a tensor, 4 parameters and 4 gradients; only a few panels open.
    rows = page.locator(".nbtrack-dashboard .nbt-hist-row")
    assert rows.count() == 8
    assert page.locator(".nbtrack-dashboard .nbtrack-histogram:not([hidden])").count() <= 4

    # The filter by name.
    page.fill(".nbtrack-dashboard .nbt-hist-filter", "2.bias")
    visible = page.locator(".nbtrack-dashboard .nbt-hist-row:not([hidden])")
    assert sorted(visible.evaluate_all("els => els.map(e => e.dataset.key)")) == [
        "gradients/2.bias",
        "parameters/2.bias",
    ]
    page.fill(".nbtrack-dashboard .nbt-hist-filter", "")
    assert page.locator(".nbtrack-dashboard .nbt-hist-row:not([hidden])").count() == 8

    # Per-step ranges: the panel is drawn again, differently.
    heat = page.locator(f"{PANEL} canvas.nbt-hist-heat")
    before = heat.screenshot()
    page.check(".nbtrack-dashboard .nbt-hist-perstep")
    page.wait_for_timeout(300)
    assert heat.screenshot() != before

    # Opening a closed row shows its panel.
    row = '.nbt-hist-row[data-key="gradients/0.weight"]'
    page.click(f"{row} .nbt-hist-toggle")
    page.wait_for_selector(
        '.nbtrack-histogram[data-metric="gradients/0.weight"]:not([hidden])', timeout=5_000
    )

    # Must show 2: the NaN alarm in the header, and on the tensor's row, during the run.
    page.wait_for_selector(".nbtrack-dashboard .nbt-alert", timeout=30_000)
    alert = page.inner_text(".nbtrack-dashboard .nbt-alert")
    assert f"step {NAN_STEP}" in alert and "gradients/2.weight" in alert, alert
    bad = '.nbt-hist-row[data-key="gradients/2.weight"]'
    page.wait_for_selector(f"{bad}[data-nonfinite='{NAN_STEP}']", timeout=10_000)
    assert "NaN/inf" in page.inner_text(f"{bad} .nbt-hist-flag")
    assert cell_running(page), "the alarm was seen while the cell was still running"

    page.wait_for_selector('.nbtrack-dashboard[data-state="finished"]', timeout=90_000)
    wait_points(page, f"=== {STEPS // 5}", sel=PANEL, timeout=10_000)
    page.locator(".nbtrack-dashboard").screenshot(path=str(artifacts / "watch_dashboard.png"))
    assert not page.page_errors, page.page_errors

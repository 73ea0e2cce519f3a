"""The compare view with long runs: curves arrive as envelopes and a zoomed range comes whole.

On the standalone page (no kernel): three runs of 4,000 steps each draw as envelopes (the
charts say `data-whole="false"`); zooming into a range asks for it and the charts hold every
point there (`data-whole="true"`), a spike inside the range at its exact value; hovering lists
each run's value; grouping by a config key draws a line per group. In JupyterLab: a range
asked while a cell runs waits for the kernel and the view says so, keeping the envelope, then
comes whole once the cell is done; a run's name opens its dashboard under the table.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import nbtrack
from tests.browser.compare_harness import CompareServer, serve_compare
from tests.browser.helpers import open_notebook
from tests.browser.servers import JupyterServer
from tests.browser.test_compare import cell, run_cell, view_in

pytestmark = pytest.mark.browser

ROOT = ".nbtrack-compare"
LOSS = '.nbtrack-chart[data-metric="train/loss"]'
STEPS = 2500
SPIKE_AT, SPIKE = 2345, 9.0
# Zoom the Bokeh figure of a chart card (found among the page's Bokeh root views) to [a, b].
ZOOM_JS = """([sel, a, b]) => {
  const card = document.querySelector(sel);
  const v = [...window.Bokeh.index.roots].find(
    (v) => v.model.type === 'Figure' && v.el.isConnected && card.contains(v.el));
  v.model.x_range.setv({ start: a, end: b });
  return true;
}"""
# The largest y the chart's lines hold inside [a, b].
PEAK_JS = """([sel, a, b]) => {
  const card = document.querySelector(sel);
  const v = [...window.Bokeh.index.roots].find(
    (v) => v.model.type === 'Figure' && v.el.isConnected && card.contains(v.el));
  const d = v.model.renderers.find((r) => r.glyph.type === 'MultiLine').data_source.data;
  let peak = -Infinity;
  d.xs.forEach((xs, i) => xs.forEach((x, j) => {
    const y = d.ys[i][j];
    if (x >= a && x <= b && Number.isFinite(y)) peak = Math.max(peak, y);
  }));
  return peak;
}"""

MAKE = f"""\
import nbtrack

def make(root):
    for i, opt in enumerate(["adam", "sgd", "adam"]):
        run = nbtrack.init(project="long", dir=root, name=f"long-{{i}}", display=False,
                           config={{"lr": 10 ** -(i + 2), "optimizer": opt}})
        for s in range({STEPS}):
            loss = {SPIKE} if (i == 1 and s == {SPIKE_AT}) else 1.0 / (1 + s / 100) + 0.01 * i
            run.log({{"train/loss": loss, "val/acc": s / {STEPS}}}, step=s)
        run.finish(quiet=True)
"""


def make_long(root: Path) -> None:
    scope: dict[str, Any] = {}
    exec(MAKE, scope)  # the same code the notebook test runs in its kernel
    scope["make"](root)


@pytest.fixture
def site(store_dir: Path) -> Iterator[CompareServer]:
    make_long(store_dir)
    with serve_compare(store_dir, "long") as server:
        yield server


def test_a_zoomed_range_comes_whole_hover_lists_runs_and_groups_draw_one_line(
    site: CompareServer, page: Any
) -> None:
    page.goto(f"{site.url}/")
    chart = f"[data-nbtrack-compare] {LOSS}"
    page.wait_for_selector(f'{chart}[data-lines="3"][data-whole="false"]', timeout=60_000)

    # Zoom into [2300, 2400]: asked of the harness, answered whole, the spike exact.
    page.evaluate(ZOOM_JS, [chart, 2300, 2400])
    page.wait_for_selector(f'{chart}[data-whole="true"]', timeout=30_000)
    assert page.evaluate(PEAK_JS, [chart, 2300, 2400]) == SPIKE

    # Hover: a list of each run's value at the pointer, as text.
    box = page.locator(f"{chart} .nbt-plot canvas").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6)
    tip = page.locator(f"{chart} .nbt-tip")
    tip.wait_for(state="visible", timeout=10_000)
    names = tip.locator(".nbt-tip-name").all_inner_texts()
    assert sorted(names) == ["long-0", "long-1", "long-2"]

    # Grouped by optimizer: a line per group (adam, sgd), each a mean with its band.
    page.mouse.move(0, 0)
    page.select_option("[data-nbtrack-compare] select.nbt-group", "config:optimizer")
    page.wait_for_selector(f'{chart}[data-lines="2"]', timeout=10_000)
    groups = page.locator("[data-nbtrack-compare] tr.nbt-group-row").all_inner_texts()
    assert [g.strip() for g in groups] == [
        "config:optimizer = adam (2)",
        "config:optimizer = sgd (1)",
    ]


def test_in_a_notebook_a_range_waits_for_an_idle_kernel_and_a_name_opens_its_dashboard(
    lab: JupyterServer, page: Any, tmp_path: Path
) -> None:
    store = str(tmp_path / "store")
    nb = lab.write_notebook(
        "zoom.ipynb",
        [
            MAKE + f"make({store!r})\nprint('made')",
            f"import nbtrack\nw = nbtrack.compare('long', dir={store!r})\nw",
            "import time\ntime.sleep(8)\nprint('slept')",
        ],
    )
    open_notebook(page, lab, nb)
    run_cell(page, 0)
    cell(page, 0).get_by_text("made").wait_for(timeout=120_000)
    run_cell(page, 1)
    view = view_in(page, 1)
    chart = f".jp-Notebook {ROOT} {LOSS}"
    page.wait_for_selector(f'{chart}[data-lines="3"][data-whole="false"]', timeout=60_000)

    # The kernel busy: the view asks, says it waits, and keeps the envelope meanwhile.
    run_cell(page, 2)
    page.wait_for_function(
        "() => document.querySelectorAll('.jp-Notebook .jp-Cell')[2]"
        ".querySelector('.jp-InputPrompt')?.textContent.includes('*')",
        timeout=30_000,
    )
    page.evaluate(ZOOM_JS, [chart, 2300, 2400])
    notice = view.locator(".nbt-notice", has_text="Waiting for the kernel")
    notice.wait_for(state="visible", timeout=10_000)
    assert page.get_attribute(chart, "data-whole") == "false"
    # Once the cell is done, the kernel answers: every point of the range, the notice gone.
    cell(page, 2).get_by_text("slept").wait_for(timeout=60_000)
    page.wait_for_selector(f'{chart}[data-whole="true"]', timeout=30_000)
    assert page.evaluate(PEAK_JS, [chart, 2300, 2400]) == SPIKE
    notice.wait_for(state="hidden", timeout=10_000)

    # A run's name opens its own dashboard under the table.
    with nbtrack.Api(store) as api:
        target = next(r for r in api.runs("long") if r.name == "long-1")
    view.locator(f'tr[data-run-id="{target.id}"] a.nbt-run-name').click()
    opened = view.locator(f'.nbt-opened[data-run-id="{target.id}"]')
    opened.locator('.nbtrack-chart[data-metric="train/loss"]').wait_for(timeout=60_000)
    page.wait_for_function(
        """(id) => Number(document.querySelector(
             `.nbt-opened[data-run-id="${id}"] .nbtrack-chart[data-metric="train/loss"]`
           )?.dataset.points) === 2500""",
        arg=target.id,
        timeout=60_000,
    )

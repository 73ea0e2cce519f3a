"""Must show 3a: the compare view's second host, the standalone page (``js/page.ts``) with no
Jupyter, fed by ``tests/browser/compare_harness.py`` from a real store of 12 runs, under the
team server's strict Content-Security-Policy. The same bundle draws the runs table, the
overlaid curves and the parallel coordinates; a run logged into the store afterwards comes
as a row (running, then finished) when the harness pushes what changed, and its curve grows.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nbtrack
from tests.browser.compare_harness import CompareServer, serve_compare
from tests.compare_project import make_project

pytestmark = pytest.mark.browser

ROOT = "[data-nbtrack-compare]"
TABLE = f"{ROOT} table.nbt-runs-table"
CHART = ROOT + ' .nbtrack-chart[data-metric="{}"]'
METRICS = ("train/loss", "val/acc")
AXES = ("config:lr", "config:batch_size", "config:optimizer", "config:dropout")
# The Bokeh figure of a chart card, found among the page's Bokeh root views.
FIGURE_JS = """(sel) => {
  const card = document.querySelector(sel);
  const v = card && [...window.Bokeh.index.roots].find(
    (v) => v.model.type === 'Figure' && v.el.isConnected && card.contains(v.el));
  if (!v) return null;
  const xs = v.model.renderers.find((r) => r.glyph.type === 'MultiLine').data_source.data.xs;
  return { lines: xs.length, points: xs.map((x) => x.length), xEnd: v.model.x_range.end };
}"""
# The row `row` is there and the chart `sel` follows its curve up to step `end`.
GROWN = f"""([row, sel, end]) =>
  !!document.querySelector(row) && ({FIGURE_JS})(sel)?.xEnd === end"""


@pytest.fixture
def project(store_dir: Path) -> str:
    """The 12 runs of "sweep" in the test's store; the id of the one with the best val/acc."""
    return make_project(store_dir, "sweep")


@pytest.fixture
def site(store_dir: Path, project: str) -> Iterator[CompareServer]:
    with serve_compare(store_dir, "sweep") as server:
        yield server


def console_errors(page: Any) -> list[str]:
    """Every console error of the page (CSP violations among them) but the favicon's 404."""
    found: list[str] = []

    def on_console(m: Any) -> None:
        if m.type != "error":
            return
        if "404" in m.text and str(m.location.get("url", "")).endswith("/favicon.ico"):
            return  # the page names no icon, so Chromium asks for one
        found.append(f"{m.text} ({m.location.get('url', '')})")

    page.on("console", on_console)
    return found


def coloured_pixels(page: Any, sel: str) -> int:
    """How many pixels of the element `sel` are coloured (not white, grey or black)."""
    from PIL import Image  # bokeh's own dependency

    with Image.open(io.BytesIO(page.locator(sel).screenshot())) as img:
        px = np.asarray(img.convert("RGB"), dtype=np.int32)
    return int(((px.max(axis=2) - px.min(axis=2)) > 60).sum())


def rows(page: Any) -> list[str]:
    return list(
        page.evaluate(
            "(sel) => [...document.querySelectorAll(sel + ' tr[data-run-id]')]"
            ".map((r) => r.dataset.runId)",
            TABLE,
        )
    )


def push_until(site: CompareServer, page: Any, test: str, arg: Any, *, timeout: float) -> None:
    """Push what changed in the store until `test` (JS, given `arg`) holds in the page.

    The run's writer stores its points a moment after `log`: a push may find none yet.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    deadline = time.monotonic() + timeout
    while True:
        site.push()
        try:
            page.wait_for_function(test, arg=arg, timeout=1_000)
            return
        except PlaywrightTimeoutError:
            if time.monotonic() > deadline:
                raise AssertionError(f"not true after {timeout} s of pushes: {test}") from None


def log_steps(run: Any, steps: range) -> None:
    for s in steps:
        run.log({"train/loss": 1.0 / (s + 1), "val/acc": 0.5 + s / 400}, step=s)


def test_the_page_draws_the_project_and_takes_a_new_run_live(
    site: CompareServer, store_dir: Path, page: Any, artifacts: Path
) -> None:
    errors = console_errors(page)
    page.goto(f"{site.url}/")
    with nbtrack.Api(store_dir) as api:
        ids = {r.id for r in api.runs("sweep")}
    assert len(ids) == 12

    # The table: a row a run.
    page.wait_for_function(
        "(sel) => document.querySelector(sel)?.dataset.visibleRows === '12'", arg=TABLE,
        timeout=30_000,
    )  # fmt: skip
    assert set(rows(page)) == ids
    # A chart a metric, each with a line a run, drawn by BokehJS.
    for key in METRICS:
        sel = CHART.format(key)
        page.wait_for_selector(f'{sel}[data-lines="12"]', timeout=30_000)
        page.wait_for_function(f"(sel) => ({FIGURE_JS})(sel)?.lines === 12", arg=sel,
                               timeout=30_000)  # fmt: skip
        fig = page.evaluate(FIGURE_JS, sel)
        assert fig["points"] == [60] * 12, fig  # 60 steps each, fewer than the chart's pixels
        assert coloured_pixels(page, f"{sel} .nbt-plot") > 500
    # The parallel coordinates: an axis a config key that varies, then the metric's, and a
    # line a run on its canvas.
    pc = f"{ROOT} .nbt-pc"
    page.wait_for_selector(f'{pc}[data-lines="12"]', timeout=10_000)
    axes = page.evaluate(
        "(sel) => [...document.querySelectorAll(sel + ' .nbt-pc-axis')].map((a) => a.dataset.axis)",
        pc,
    )
    assert axes[: len(AXES)] == list(AXES)
    assert axes[len(AXES)].startswith("summary:"), axes
    assert coloured_pixels(page, f"{pc} canvas") > 500
    page.locator(ROOT).screenshot(path=str(artifacts / "compare_page.png"))

    # One more run goes into the store: pushed, it comes as a row, running, with its points.
    run = nbtrack.init(project="sweep", dir=store_dir, name="late", display=False,
                       config={"lr": 2e-3, "batch_size": 16, "optimizer": "adam"})  # fmt: skip
    log_steps(run, range(80))
    row = f'{TABLE} tr[data-run-id="{run.id}"]'
    train = CHART.format("train/loss")
    push_until(site, page, GROWN, [row, train, 79], timeout=30)
    assert page.get_attribute(row, "data-state") == "running"
    assert page.get_attribute(train, "data-lines") == "13"
    # It goes on and finishes: the next push grows its curve (the x axis follows it to its
    # last step, past the other runs' 59) and the row says finished.
    log_steps(run, range(80, 120))
    run.finish(quiet=True)
    push_until(site, page, GROWN, [row, train, 119], timeout=30)
    page.wait_for_selector(f'{row}[data-state="finished"]', timeout=10_000)
    assert page.get_attribute(TABLE, "data-visible-rows") == "13"
    assert page.text_content(f'{row} td[data-column="name"]') == "late"
    for key in METRICS:
        assert page.get_attribute(CHART.format(key), "data-lines") == "13"
    assert page.get_attribute(pc, "data-lines") == "13"

    assert not page.page_errors, page.page_errors
    assert not errors, errors

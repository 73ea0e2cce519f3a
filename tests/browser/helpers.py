"""What the browser tests share: the training cell of the live-dashboard tests, and the ways
they open a notebook, run it, and read and wait on the dashboard's charts in the page.

Its asserts are rewritten by pytest like a test module's (``tests/browser/conftest.py``
registers it), so a failed check inside a helper still shows its values.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import numpy as np

from tests.browser.servers import JupyterServer

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
# A cell's prompt in JupyterLab and Notebook 7; the classic notebook's is '.cell .input_prompt'.
LAB_PROMPT = ".jp-Cell .jp-InputPrompt"


def points(page: Any, sel: str = CHART) -> int:
    """How many points the chart or histogram panel `sel` says it holds.

    >>> points(page)  # the train/loss chart
    """
    return int(page.get_attribute(sel, "data-points") or 0)


def wait_points(page: Any, test: str, *, timeout: float, sel: str = CHART) -> None:
    """Wait until the point count of `sel` passes `test`, a JS comparison.

    >>> wait_points(page, f"=== {STEPS}", timeout=10_000)
    """
    # `?.`: the card may not exist yet (its first points still on their way); wait for it.
    page.wait_for_function(
        f"() => +document.querySelector('{sel}')?.dataset.points {test}", timeout=timeout
    )


def wait_chart(page: Any, test: str, *, timeout: float, sel: str = CHART) -> None:
    """Wait until `test`, JS on the Bokeh chart of the card `sel` (train/loss), holds.

    >>> wait_chart(page, "sources().length === 2", timeout=10_000)
    """
    page.wait_for_function(
        f"() => document.querySelector('{sel}')?.__nbtrack_card__?.chart?.{test}",
        timeout=timeout,
    )


def wait_drawn(page: Any, sel: str, rgb: tuple[int, int, int], *, timeout: float) -> int:
    """Wait until the plot of the chart card `sel` shows pixels of colour `rgb` (a line's or
    a marker's, give or take anti-aliasing); returns how many it shows.

    >>> wait_drawn(page, CHART, (0x25, 0x63, 0xEB), timeout=10_000)
    """
    from PIL import Image  # bokeh's own dependency

    deadline = time.monotonic() + timeout / 1000
    while True:
        png = page.locator(f"{sel} .nbt-plot").screenshot()
        with Image.open(io.BytesIO(png)) as img:
            pixels = np.asarray(img.convert("RGB"), dtype=np.int32)
        n = int((np.abs(pixels - np.array(rgb)).sum(axis=2) < 60).sum())
        if n or time.monotonic() > deadline:
            assert n > 0, f"nothing of colour {rgb} drawn in {sel} after {timeout / 1000} s"
            return n
        page.wait_for_timeout(250)


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


def cell_running(page: Any, prompt: str = LAB_PROMPT) -> bool:
    """Whether the first cell still executes.

    >>> cell_running(page, ".cell .input_prompt")  # the classic notebook
    """
    # The cell's prompt shows [*] while it executes. (The kernel's status is no proof: with
    # ipykernel 7 the status bar can read "Idle" while a cell still runs.)
    return bool(
        page.evaluate("(sel) => document.querySelector(sel).textContent.includes('*')", prompt)
    )


def wait_for_kernel(page: Any) -> None:
    """Wait until the kernel of the notebook the app (JupyterLab, Notebook 7) shows is idle."""
    page.wait_for_function(
        """() => {
          const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
          const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
          return k && k.status === 'idle';
        }""",
        timeout=60_000,
    )


def open_notebook(page: Any, server: JupyterServer, path: Path) -> None:
    """Open `path` in JupyterLab and wait until its kernel is idle.

    >>> open_notebook(page, lab, lab.write_notebook("a.ipynb", ["1 + 1"]))
    """
    page.goto(f"{server.url}/lab/tree/{path.name}")
    wait_for_kernel(page)
    # A kernel-selection dialog, if one shows up anyway: take the default.
    dialog = page.locator(".jp-Dialog .jp-mod-accept")
    if dialog.count():
        dialog.first.click()


def run_all_cells(page: Any) -> None:
    """Run every cell of the open notebook (JupyterLab, Notebook 7); returns at once."""
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def check_grows_while_running(
    page: Any,
    sel: str = CHART,
    *,
    first: str = "> 5",
    appear_timeout: float = 30_000,
    grow_timeout: float = 30_000,
    prompt: str = LAB_PROMPT,
) -> None:
    """`sel` appears and its point count passes `first`; then, while the cell still runs,
    it holds more points than that.

    >>> check_grows_while_running(page, PANEL, first=">= 2", appear_timeout=60_000)
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    page.wait_for_selector(sel, timeout=appear_timeout)
    wait_points(page, first, sel=sel, timeout=30_000)
    before = points(page, sel)
    # Both facts at the same moment, in the page: no sleep, so a slow machine only waits
    # longer. The cell outlasts this by far (its loop sleeps), unless nothing comes live.
    try:
        page.wait_for_function(
            """([sel, before, prompt]) =>
              +document.querySelector(sel).dataset.points > before &&
              document.querySelector(prompt).textContent.includes('*')""",
            arg=[sel, before, prompt],
            timeout=grow_timeout,
        )
    except PlaywrightTimeoutError:
        after, running = points(page, sel), cell_running(page, prompt)
        raise AssertionError(
            f"{sel} did not grow while the cell ran: {before} -> {after} points, "
            f"cell {'still running' if running else 'ended'}"
        ) from None


def check_smoothing_and_log_scale(page: Any) -> None:
    """On the train/loss chart: the smoothing slider draws a smoothed line that differs from
    the raw one (and changes the pixels); the log-scale toggle redraws it on a log y axis.

    >>> check_smoothing_and_log_scale(page)
    """
    chart = page.locator(CHART)
    pixels_before = chart.screenshot()
    page.evaluate(
        """() => {
          const s = document.querySelector('.nbtrack-dashboard .nbt-smoothing');
          s.value = '0.9';
          s.dispatchEvent(new Event('input', { bubbles: true }));
          s.dispatchEvent(new Event('change', { bubbles: true }));
        }"""
    )
    wait_chart(page, "sources()[0].smooth.data.y.length > 5", timeout=10_000)
    smoothed = chart_info(page)
    n = min(len(smoothed["raw"]), len(smoothed["smooth"]))
    assert any(
        abs(a - b) > 1e-6 for a, b in zip(smoothed["raw"][:n], smoothed["smooth"][:n], strict=True)
    )
    assert chart.screenshot() != pixels_before

    assert "Linear" in smoothed["yScale"]
    page.click(f"{CHART} .nbt-log")
    wait_chart(page, "plotModel.y_scale.type.includes('Log')", timeout=10_000)

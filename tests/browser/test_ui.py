"""`nbtrack ui` in a real Chromium: the local store's project page is the live compare view,
a run's name leads to its live dashboard.

Runs logged by real `nbtrack.init` runs sit in a store; a real ``nbtrack ui`` process serves
it. Chromium opens the project page (rows in the table, a line per run drawn in each chart),
then a run started by another process while the page is open comes as a row whose curve
grows; its name leads to its run page, whose charts are drawn and grow while it trains,
go on growing after ``nbtrack ui`` is restarted under it, and end with every point once. All under the server's Content-Security-Policy, with no
violation and no console error.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import wait_drawn
from tests.browser.test_server_run_page import CSP_LISTENER
from tests.compare_project import make_project
from tests.helpers import child_env
from tests.server.copies import wait_until
from tests.ui_process import Ui, seg, start_ui

pytest.importorskip("fastapi", reason="nbtrack ui needs the server extra")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PROJECT = "sweep <b>"  # markup in the name: shown as text
COMPARE = "[data-nbtrack-compare]"
TABLE = f"{COMPARE} table.nbt-runs-table"
RUN = "[data-nbtrack-run]"
BLUE = (0x25, 0x63, 0xEB)  # a run dashboard's first line colour (js/charts/line-chart.ts)

# A run that logs slowly until the stop file appears, so it is still training while the
# pages watch it.
LIVE = """\
import os, sys, time
import nbtrack
run = nbtrack.init(project=sys.argv[2], dir=sys.argv[1], name="late-run", display=False,
                   config={"lr": 0.02, "batch_size": 8, "optimizer": "sgd"})
print(run.id, flush=True)
i = 0
while not os.path.exists(sys.argv[3]) and i < 5000:
    run.log({"train/loss": 1.0 / (i + 1), "val/acc": i / 5000}, step=i)
    i += 1
    time.sleep(0.02)
run.finish(quiet=True)
print(i, flush=True)
"""


def attr(page: Any, selector: str, name: str) -> str | None:
    value: str | None = page.get_attribute(selector, name, timeout=60_000)
    return value


def number(page: Any, selector: str, name: str) -> int:
    return int(attr(page, selector, name) or 0)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Ui, Path]]:
    store = tmp_path / "store"
    make_project(store, PROJECT, n=4, steps=40)
    ui = start_ui(store, tmp_path, "--no-browser")
    yield ui, store
    code, out = ui.stop()  # the test may have stopped it already: then it says so again
    assert code == 0, (out, ui.stderr.read_text())


def test_the_project_page_then_a_run_page_follow_a_run_of_another_process(
    served: tuple[Ui, Path], chromium: Any, tmp_path: Path, artifacts: Path
) -> None:
    ui, store = served
    context = chromium.new_context(viewport={"width": 1400, "height": 1600})
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    console_errors: list[str] = []
    page_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    stop = tmp_path / "stop"
    live: subprocess.Popen[str] | None = None
    again: list[Ui] = []  # the ui started again
    try:
        # The front page lists the project; its link opens the compare view. (Read through
        # Playwright's own selectors: the page's CSP refuses evaluated strings.)
        page.goto(ui.url)
        page.click(f"main a[href='/{seg(PROJECT)}']")
        page.wait_for_url(f"{ui.url}{seg(PROJECT)}", timeout=30_000)
        assert page.text_content("main h1") == PROJECT
        wait_until("four rows", lambda: attr(page, TABLE, "data-visible-rows") == "4")
        for metric in ("train/loss", "val/acc"):
            card = f'{COMPARE} .nbtrack-chart[data-metric="{metric}"]'
            wait_until(f"four {metric} lines", lambda c=card: attr(page, c, "data-lines") == "4")
        assert page.locator(f"{COMPARE} .nbt-plot canvas").count() >= 2
        assert attr(page, COMPARE, "data-feed") == "live"

        # A run started now by another process: a fifth row, a fifth line, a growing curve.
        live = subprocess.Popen(
            [sys.executable, "-c", LIVE, str(store), PROJECT, str(stop)],
            env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert live.stdout is not None
        late_id = live.stdout.readline().strip()
        assert late_id, live.stderr.read() if live.stderr else ""
        row = f'{TABLE} tr[data-run-id="{late_id}"]'
        page.wait_for_selector(row, timeout=60_000)
        loss = f'{COMPARE} .nbtrack-chart[data-metric="train/loss"]'
        wait_until("a fifth line", lambda: attr(page, loss, "data-lines") == "5")
        assert attr(page, row, "data-state") == "running"
        before = number(page, loss, "data-points")
        wait_until("the curve to grow", lambda: number(page, loss, "data-points") > before + 20)

        # Its name leads to its run page: the dashboard, drawn, growing while it trains.
        page.click(f"{row} a.nbt-run-name")
        page.wait_for_url(f"{ui.url}{seg(PROJECT)}/runs/{late_id}", timeout=30_000)
        chart = f'{RUN} .nbtrack-chart[data-metric="train/loss"]'
        page.wait_for_selector(f"{chart} .nbt-plot canvas", timeout=60_000)
        wait_until("points on the run page", lambda: number(page, chart, "data-points") > 5)
        wait_drawn(page, chart, BLUE, timeout=30_000)
        assert attr(page, RUN, "data-run-id") == late_id
        assert attr(page, RUN, "data-state") == "running"
        assert attr(page, RUN, "data-feed") == "live"
        before = number(page, chart, "data-points")
        wait_until("the run page to grow", lambda: number(page, chart, "data-points") > before)
        assert attr(page, RUN, "data-state") == "running", "it ended before it was seen grow"

        # nbtrack ui stopped and started again on the same port: the page reconnects by
        # itself and goes on from where it was (the count at the end shows nothing came twice).
        assert console_errors == [], console_errors
        code, out = ui.stop()
        assert code == 0, out
        wait_until("the page to notice", lambda: attr(page, RUN, "data-feed") == "reconnecting")
        before = number(page, chart, "data-points")
        again.append(start_ui(store, tmp_path, "--no-browser", port=ui.port))
        wait_until("it to reconnect", lambda: attr(page, RUN, "data-feed") == "live")
        # Meanwhile the browser logged its own tries that found nobody listening; nothing else.
        assert {e for e in console_errors if "ERR_CONNECTION_REFUSED" not in e} == set()
        console_errors.clear()
        wait_until("it to grow again", lambda: number(page, chart, "data-points") > before)

        # It ends: the page says so and holds every step it logged.
        stop.touch()
        out, err = live.communicate(timeout=120)
        assert live.returncode == 0, err
        steps = int(out.split()[-1])
        page.wait_for_selector(f'{RUN}[data-state="finished"]', timeout=60_000)
        wait_until("every point", lambda: number(page, chart, "data-points") == steps)
        page.locator(RUN).screenshot(path=str(artifacts / "ui_run_page.png"))

        assert page.evaluate("() => window.__nbtrackCsp") == []
        assert page_errors == []
        assert console_errors == [], console_errors
    except BaseException:
        page.screenshot(path=str(artifacts / "ui-failed.png"), full_page=True)
        raise
    finally:
        stop.touch()
        if live is not None:
            if live.poll() is None:
                live.kill()
            live.communicate(timeout=60)  # and its pipes closed
        context.close()
        for restarted in again:
            code, out = restarted.stop()
            assert code == 0, (out, restarted.stderr.read_text())

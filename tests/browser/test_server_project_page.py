"""The team server's project page is the compare view, from the same bundle as the notebook's.

Runs logged by real processes sync to a real ``nbtrack server``; a browser signs in, opens the
project's page and finds the runs table, a line per run in every chart and the parallel
coordinates, under the server's Content-Security-Policy with no console error. A run started
afterwards by another process appears as a row and its curve grows while the page stays open,
and a run's name leads to that run's page.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_server_run_page import CSP_LISTENER
from tests.server.copies import PYTHON, sync_env, wait_until
from tests.server.servers import ServerProcess, User, sqlite_server_fixture

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

ROOT = "[data-nbtrack-compare]"
TABLE = f"{ROOT} table.nbt-runs-table"

MAKE = """\
import sys
from pathlib import Path
from tests.compare_project import make_project
print(make_project(Path(sys.argv[1]), "sweep", n=6, steps=40), flush=True)
"""

# A run that logs slowly until the stop file appears, so it is still training while the
# page watches it.
LIVE = """\
import os, sys, time
import nbtrack
run = nbtrack.init(project="sweep", dir=sys.argv[1], name="late-run", display=False,
                   config={"lr": 0.02, "batch_size": 8, "optimizer": "sgd"})
print(run.id, flush=True)
i = 0
while not os.path.exists(sys.argv[2]) and i < 3000:
    run.log({"train/loss": 1.0 / (i + 1), "val/acc": i / 3000}, step=i)
    i += 1
    time.sleep(0.02)
run.finish(quiet=True)
"""

team_server = pytest.fixture(sqlite_server_fixture, name="team_server")


def chart(metric: str) -> str:
    return f'{ROOT} .nbtrack-chart[data-metric="{metric}"]'


def attr(page: Any, selector: str, name: str) -> str | None:
    value: str | None = page.get_attribute(selector, name, timeout=60_000)
    return value


@pytest.fixture
def user(team_server: ServerProcess) -> User:
    return team_server.create_user("ada")


def test_the_project_page_is_the_live_compare_view(
    team_server: ServerProcess, user: User, chromium: Any, tmp_path: Path
) -> None:
    env = sync_env(team_server, user.key, tmp_path / "config", PYTHONPATH=str(Path.cwd()))
    made = subprocess.run(
        [PYTHON, "-c", MAKE, str(tmp_path / "store")],
        env=env, capture_output=True, text=True, timeout=240, check=True,
    )  # fmt: skip
    assert made.stdout.strip()

    context = chromium.new_context(viewport={"width": 1400, "height": 1600})
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    console_errors: list[str] = []
    page_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    url = f"{team_server.url}/{user.name}/sweep"
    stop = tmp_path / "stop"
    live: subprocess.Popen[str] | None = None
    try:
        page.goto(url)
        page.fill("form.signin input[name=username]", user.name)
        page.fill("form.signin input[name=password]", user.password)
        page.click("form.signin button[type=submit]")
        page.wait_for_url(url, timeout=30_000)

        # Six runs: six rows, six lines in each chart, an axis per varying config key. (Read
        # through Playwright's own selectors: the page's CSP refuses evaluated strings.)
        wait_until("six rows", lambda: attr(page, TABLE, "data-visible-rows") == "6")
        for metric in ("train/loss", "val/acc"):
            wait_until(
                f"six {metric} lines", lambda m=metric: attr(page, chart(m), "data-lines") == "6"
            )
        page.wait_for_selector(f'{ROOT} [data-axis="config:lr"]', timeout=30_000)
        assert page.locator(f"{ROOT} .nbt-plot canvas").count() >= 2

        # A run started now, from another process, syncs while it trains: a seventh row, a
        # seventh line, and its curve grows while the page stays.
        live = subprocess.Popen(
            [PYTHON, "-c", LIVE, str(tmp_path / "store"), str(stop)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert live.stdout is not None
        late_id = live.stdout.readline().strip()
        assert late_id, live.stderr.read() if live.stderr else ""
        row = f'{TABLE} tr[data-run-id="{late_id}"]'
        page.wait_for_selector(row, timeout=60_000)
        loss = chart("train/loss")
        wait_until("a seventh line", lambda: attr(page, loss, "data-lines") == "7")
        assert attr(page, row, "data-state") == "running"
        before = int(attr(page, loss, "data-points") or 0)
        wait_until(
            "the curve to grow", lambda: int(attr(page, loss, "data-points") or 0) > before + 20
        )
        stop.touch()
        assert live.wait(timeout=120) == 0
        wait_until("the run to finish", lambda: attr(page, row, "data-state") == "finished")

        # A run's name is a link to its own page.
        page.click(f"{row} a.nbt-run-name")
        page.wait_for_url(f"{url}/runs/{late_id}", timeout=30_000)
        page.wait_for_selector("[data-nbtrack-run] .nbtrack-chart", timeout=60_000)

        assert page.evaluate("window.__nbtrackCsp") == []
        assert page_errors == []
        assert console_errors == [], console_errors
    finally:
        stop.touch()
        if live is not None:
            if live.poll() is None:
                live.kill()
            live.communicate(timeout=60)  # and its pipes closed
        context.close()

"""Must show 5: a run logged from a notebook is live on the team server's run page.

A notebook in a real JupyterLab logs in to a real ``nbtrack server`` and trains; the loop
goes on until the test drops a stop file, so the cell is still running for as long as the
test needs it. Meanwhile the notebook's own dashboard says where the run stands with the
server and links to its page there, and a second browser (a separate Chromium context: no
cookies, no storage of the notebook's) signs in on the server, opens that page, and sees
the chart drawn and its points grow while the kernel is still busy, with no console error
and no Content-Security-Policy violation. Once the loop stops, both say finished and the
page holds every point the notebook does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import (
    CHART,
    cell_running,
    open_notebook,
    points,
    run_all_cells,
    wait_drawn,
    wait_points,
)
from tests.browser.servers import JupyterServer
from tests.server.servers import ServerProcess, User, sqlite_server_fixture

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

PROJECT = "team"
ROOT = "[data-nbtrack-run]"  # the run page's dashboard element
PAGE_CHART = f'{ROOT} .nbtrack-chart[data-metric="train/loss"]'
BLUE = (0x25, 0x63, 0xEB)  # the first line colour (js/charts/line-chart.ts)
SYNC = ".nbtrack-dashboard .nbt-sync"
MAX_STEPS = 6000  # a bound only: the test stops the loop long before

# Reported to the page itself; read back at the end. (Chromium logs a console error for each
# violation too; this sees them even where a message's wording changes.)
CSP_LISTENER = """
window.__nbtrackCsp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__nbtrackCsp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def train_cell(host: str, key: str, stop: Path) -> str:
    # One cell, so that its prompt is the one `cell_running` reads.
    return f"""\
import math, os, time
import nbtrack
nbtrack.login(host={host!r}, key={key!r})
run = nbtrack.init(project="{PROJECT}", name="server-live", config={{"lr": 0.01}})
i = 0
while not os.path.exists({str(stop)!r}) and i < {MAX_STEPS}:
    loss = 2.0 * math.exp(-i / 80) + 0.08 * math.sin(i / 3) + 0.1
    run.log({{"train/loss": loss, "train/acc": 1 - loss / 2.5}})
    i += 1
    time.sleep(0.05)
run.finish()
"""


# A running `nbtrack server` on its embedded SQLite database: tests/server's `sqlite_server`.
team_server = pytest.fixture(sqlite_server_fixture, name="team_server")


@pytest.fixture
def user(team_server: ServerProcess) -> User:
    return team_server.create_user("ada")


def sync_state(page: Any) -> str | None:
    state: str | None = page.get_attribute(SYNC, "data-sync-state")
    return state


def test_the_run_page_follows_a_notebook_run_live(
    team_server: ServerProcess,
    user: User,
    lab: JupyterServer,
    page: Any,
    chromium: Any,
    tmp_path: Path,
    artifacts: Path,
) -> None:
    stop = tmp_path / "stop-training"
    nb = lab.write_notebook("team.ipynb", [train_cell(team_server.url, user.key, stop)])
    open_notebook(page, lab, nb)
    run_all_cells(page)

    # The notebook's header: where the run stands with the server, and a link to its page.
    page.wait_for_selector(CHART, timeout=60_000)
    page.wait_for_function(
        f"""() => ['synced', 'behind'].includes(
              document.querySelector('{SYNC}')?.dataset.syncState)""",
        timeout=30_000,
    )
    label = page.text_content(f"{SYNC} .nbt-sync-text") or ""
    assert re.fullmatch(r"synced|[\d,]+ points? behind", label), label
    run_id = page.get_attribute(".nbtrack-dashboard", "data-run-id")
    assert run_id and len(run_id) == 8
    run_url = f"{team_server.url}/{user.name}/{PROJECT}/runs/{run_id}"
    link = page.locator(f"{SYNC} a.nbt-sync-link")
    assert link.is_visible()
    assert link.text_content() == "open on server"
    assert link.get_attribute("href") == run_url
    assert cell_running(page)

    # Another browser: signed out, the run page sends it to sign in first, then back.
    context = chromium.new_context(viewport={"width": 1400, "height": 1200})
    context.add_init_script(CSP_LISTENER)
    srv = context.new_page()
    console_errors: list[str] = []
    page_errors: list[str] = []
    srv.on(
        "console",
        lambda m: console_errors.append(f"{m.text} ({m.location})") if m.type == "error" else None,
    )
    srv.on("pageerror", lambda e: page_errors.append(f"{e}\n{e.stack}"))
    try:
        srv.goto(run_url)
        assert "/login" in srv.url, srv.url
        srv.fill("form.signin input[name=username]", user.name)
        srv.fill("form.signin input[name=password]", user.password)
        srv.click("form.signin button[type=submit]")
        srv.wait_for_url(run_url, timeout=30_000)
        assert "nbtrack_session" in {c["name"] for c in context.cookies(team_server.url)}
        # The notebook's browser never signed in: it holds Jupyter's cookies only.
        assert "nbtrack_session" not in {c["name"] for c in page.context.cookies()}

        # The chart is drawn by BokehJS (a canvas, and pixels of the line's colour) ...
        srv.wait_for_selector(f"{PAGE_CHART} .nbt-plot canvas", timeout=60_000)
        wait_points(srv, "> 5", sel=PAGE_CHART, timeout=60_000)
        wait_drawn(srv, PAGE_CHART, BLUE, timeout=30_000)
        assert srv.get_attribute(ROOT, "data-run-id") == run_id
        assert srv.get_attribute(ROOT, "data-state") == "running"
        assert srv.get_attribute(ROOT, "data-feed") == "live"

        # ... and its points grow while the notebook's cell is still executing.
        before = points(srv, PAGE_CHART)
        wait_points(srv, f"> {before}", sel=PAGE_CHART, timeout=30_000)
        step_before = srv.text_content(f"{ROOT} .nbt-fact-value")
        wait_points(srv, f"> {points(srv, PAGE_CHART)}", sel=PAGE_CHART, timeout=30_000)
        srv.wait_for_function(
            "([sel, v]) => document.querySelector(sel).textContent !== v",
            arg=[f"{ROOT} .nbt-fact-value", step_before],
            timeout=30_000,
        )
        assert cell_running(page), "the page was checked after the notebook's cell had ended"
        assert srv.get_attribute(ROOT, "data-state") == "running"

        # The end: the loop stops, both say finished, the page has every point.
        stop.touch()
        page.wait_for_selector('.nbtrack-dashboard[data-state="finished"]', timeout=60_000)
        page.wait_for_function(
            f"() => document.querySelector('{SYNC}')?.dataset.syncState === 'synced'",
            timeout=30_000,
        )
        assert page.text_content(f"{SYNC} .nbt-sync-text") == "synced"
        total = points(page)
        assert total > before
        srv.wait_for_selector(f'{ROOT}[data-state="finished"]', timeout=60_000)
        wait_points(srv, f"=== {total}", sel=PAGE_CHART, timeout=30_000)
        acc = f'{ROOT} .nbtrack-chart[data-metric="train/acc"]'
        wait_points(srv, f"=== {total}", sel=acc, timeout=30_000)
        srv.locator(ROOT).screenshot(path=str(artifacts / "server_run_page.png"))

        violations = srv.evaluate("() => window.__nbtrackCsp")
        assert violations == [], violations
        assert console_errors == [], console_errors
        assert page_errors == [], page_errors
    except BaseException:
        srv.screenshot(path=str(artifacts / "server_run_page-failed.png"), full_page=True)
        (artifacts / "server_run_page-server.log").write_text(team_server.tail(20_000))
        raise
    finally:
        stop.touch()
        context.close()
    assert not page.page_errors, page.page_errors

"""Must show 1, and the notebook's half of Must show 4: the Share button in JupyterLab.

A notebook in a real JupyterLab, logged in to a real ``nbtrack server`` (two worker
processes on a real PostgreSQL) through the saved credentials (no key in the notebook),
trains until the test drops a stop file. While the cell still runs, the test clicks Share
on the cell's dashboard and creates a link: the page calls the server itself, with the
grant the kernel's thread handed it. The link appears in the panel; a fresh browser
context (no cookies) opens it, lands on an address without the token and sees the chart
grow; Revoke in the panel makes the link answer 404 on the next load, on every worker.
Then the notebook is saved, its widget state with it, and the file holds no ``nbk_``,
``nbg_`` or ``nbl_`` anywhere.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.browser.helpers import CHART, cell_running, open_notebook, run_all_cells, wait_drawn
from tests.browser.servers import JupyterServer
from tests.server.copies import wait_until
from tests.server.postgres import PostgresCluster
from tests.server.servers import ServerProcess, User

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

PROJECT = "lab-share"
SHARE = ".nbtrack-dashboard .nbt-share"
VIEW = "[data-nbtrack-run]"  # the share page's dashboard element
VIEW_CHART = f'{VIEW} .nbtrack-chart[data-metric="train/loss"]'
BLUE = (0x25, 0x63, 0xEB)  # the first line colour (js/charts/line-chart.ts)
MAX_STEPS = 6000  # a bound only: the test stops the loop long before
SECRETS = re.compile(r"nb[kgl]_")


def train_cell(stop: Path) -> str:
    # No key, no host: the kernel reads the login the test saved (NBTRACK_CONFIG_DIR).
    return f"""\
import math, os, time
import nbtrack
run = nbtrack.init(project="{PROJECT}", name="shared-live", config={{"lr": 0.01}})
i = 0
while not os.path.exists({str(stop)!r}) and i < {MAX_STEPS}:
    loss = 2.0 * math.exp(-i / 80) + 0.08 * math.sin(i / 3) + 0.1
    run.log({{"train/loss": loss, "train/acc": 1 - loss / 2.5}})
    i += 1
    time.sleep(0.05)
run.finish()
"""


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster of this module's own (tests/server's fixture does not reach here)."""
    with PostgresCluster() as cluster:
        yield cluster


@pytest.fixture
def team_server(postgres: PostgresCluster, tmp_path: Path) -> Iterator[ServerProcess]:
    """A real server with two worker processes on one PostgreSQL database."""
    url = postgres.create_database()
    s = ServerProcess(tmp_path / "server", url, workers=2).start()
    yield s
    s.stop()
    postgres.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture
def user(team_server: ServerProcess) -> User:
    return team_server.create_user("ada")


def points(page: Any, sel: str) -> int:
    # Polled from Python: the share page's CSP refuses evaluated strings.
    return int(page.get_attribute(sel, "data-points", timeout=60_000) or 0)


def save_widget_state(lab: JupyterServer) -> None:
    """JupyterLab saves the widgets' state in the notebook (not its default): the strictest
    case for what the saved file may hold."""
    settings = lab.root.parent / "jupyter" / "lab-settings" / "@jupyter-widgets"
    (settings / "jupyterlab-manager").mkdir(parents=True, exist_ok=True)
    (settings / "jupyterlab-manager" / "plugin.jupyterlab-settings").write_text(
        json.dumps({"saveState": True})
    )


def test_share_from_the_dashboard_while_the_cell_runs(
    team_server: ServerProcess,
    user: User,
    lab: JupyterServer,
    page: Any,
    chromium: Any,
    tmp_path: Path,
    artifacts: Path,
) -> None:
    from nbtrack.sync.credentials import login

    login(team_server.url, user.key)  # into this test's NBTRACK_CONFIG_DIR, which the kernel reads
    save_widget_state(lab)
    stop = tmp_path / "stop-training"
    nb = lab.write_notebook("share.ipynb", [train_cell(stop)])
    viewer = None
    try:
        open_notebook(page, lab, nb)
        run_all_cells(page)
        page.wait_for_selector(CHART, timeout=60_000)
        run_id = page.get_attribute(".nbtrack-dashboard", "data-run-id")
        assert run_id and len(run_id) == 8

        # Share: the panel, once the kernel's thread has handed the page its grant.
        page.click(f"{SHARE} .nbt-share-button")
        assert page.get_attribute(f"{SHARE} .nbt-share-button", "aria-expanded") == "true"
        page.wait_for_selector(f'{SHARE}[data-access="ready"]', timeout=60_000)
        page.wait_for_selector(f"{SHARE} .nbt-share-empty", timeout=30_000)  # no links yet
        page.select_option(f"{SHARE} .nbt-share-expires", label="7 days")
        page.click(f"{SHARE} .nbt-share-create")
        wait_until(
            "the new link in the panel",
            lambda: page.locator(f"{SHARE} .nbt-share-url").input_value().startswith("http"),
        )
        url = page.locator(f"{SHARE} .nbt-share-url").input_value()
        assert url.startswith(f"{team_server.url}/s/nbl_"), url
        token = urlsplit(url).path.rsplit("/", 1)[1]
        wait_until(
            "the link in the list", lambda: page.locator(f"{SHARE} .nbt-share-item").count() == 1
        )
        item = page.locator(f"{SHARE} .nbt-share-item").first
        assert "expires" in (item.text_content() or "") and "never" not in (
            item.text_content() or ""
        )
        assert (page.text_content(f"{SHARE} .nbt-share-error") or "") == ""
        # Copy: to the clipboard, or (no permission here) selected for Ctrl+C.
        page.click(f"{SHARE} .nbt-share-copy")
        wait_until("the copy's note", lambda: bool(page.text_content(f"{SHARE} .nbt-share-copied")))
        assert cell_running(page), "the link was made after the training cell had ended"
        # The server has it, made for this run, by the grant (no key on the page).
        links = team_server.call(
            "GET", f"/api/v1/shares?entity={user.name}&project={PROJECT}&run_id={run_id}", user.key
        ).json()
        assert [x["scope"] for x in links] == ["run"] and links[0]["run_id"] == run_id
        assert abs(links[0]["expires_at"] - time.time() - 7 * 86400) < 300

        # A fresh browser, no cookies: the link opens the run, its token gone from the address.
        viewer = chromium.new_context(viewport={"width": 1400, "height": 1200})
        assert viewer.cookies() == []
        v = viewer.new_page()
        opened = v.goto(url)
        assert opened is not None and opened.status == 200
        assert re.fullmatch(r"/v/[0-9A-Za-z]{12}/", urlsplit(v.url).path), v.url
        assert token not in v.url and "nbl_" not in v.url
        v.wait_for_selector(f"{VIEW_CHART} .nbt-plot canvas", timeout=60_000)
        wait_until("points on the shared chart", lambda: points(v, VIEW_CHART) > 5)
        wait_drawn(v, VIEW_CHART, BLUE, timeout=30_000)
        assert v.get_attribute(VIEW, "data-run-id") == run_id
        before = points(v, VIEW_CHART)
        wait_until("the shared chart to grow", lambda: points(v, VIEW_CHART) > before + 10)
        assert cell_running(page), "the shared chart was watched after the cell had ended"
        v.locator(VIEW).screenshot(path=str(artifacts / "lab_share_viewer.png"))
        page.locator(".nbtrack-dashboard").screenshot(path=str(artifacts / "lab_share_panel.png"))

        # Revoke, from the panel: the list empties, and the link opens nothing any more.
        page.click(f"{SHARE} .nbt-share-item .nbt-share-revoke")
        wait_until(
            "the list to empty", lambda: page.locator(f"{SHARE} .nbt-share-item").count() == 0
        )
        assert (page.text_content(f"{SHARE} .nbt-share-error") or "") == ""
        assert page.locator(f"{SHARE} .nbt-share-new").is_hidden()  # the revoked URL goes
        again = v.reload()
        assert again is not None and again.status == 404
        # Every worker: new connections (each may land on either process), the cookie too.
        cookies = {c["name"]: c["value"] for c in viewer.cookies()}
        slug_page = v.url
        for _ in range(12):
            assert httpx.get(url, timeout=30).status_code == 404
            assert httpx.get(slug_page, cookies=cookies, timeout=30).status_code == 404
        gone = v.goto(url)
        assert gone is not None and gone.status == 404
        assert cell_running(page)

        # The end: the loop stops; the notebook is saved with its widget state.
        stop.touch()
        page.wait_for_selector('.nbtrack-dashboard[data-state="finished"]', timeout=60_000)
        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        wait_until(
            "the saved notebook with its widget state",
            lambda: "application/vnd.jupyter.widget-state+json" in nb.read_text(encoding="utf-8"),
        )
        text = nb.read_text(encoding="utf-8")
        saved = json.loads(text)
        assert saved["cells"][0]["outputs"], "the dashboard's output was not saved"
        assert SECRETS.findall(text) == [], SECRETS.findall(text)
        assert user.key not in text and token not in text
        assert not page.page_errors, page.page_errors
    except BaseException:
        (artifacts / "lab_share-server.log").write_text(team_server.tail(20_000))
        raise
    finally:
        stop.touch()
        if viewer is not None:
            viewer.close()

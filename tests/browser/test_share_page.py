"""A share link in a real browser: a run still training syncs to a real ``nbtrack server``;
its owner makes a link through the API; a fresh browser context (no cookies, never signed
in) opens ``/s/<token>``, lands on ``/v/<slug>/`` with no token in the address, and sees the
chart drawn and growing as the run uploads, with no way into the project, no CSP violation
and no console error. Every response of the link says ``Referrer-Policy: no-referrer``. Once
the link is revoked, a reload answers 404.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.browser.helpers import wait_drawn
from tests.browser.test_server_run_page import BLUE, CSP_LISTENER
from tests.server.copies import PYTHON, sync_env, wait_until
from tests.server.servers import ServerProcess, User, sqlite_server_fixture

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

OWNER = "zoe-owner"  # a name no page text holds by chance
ROOT = "[data-nbtrack-run]"
CHART = f'{ROOT} .nbtrack-chart[data-metric="train/loss"]'

# Logs slowly until the stop file appears, so it is still training while the link is watched.
LIVE = """\
import os, sys, time
import nbtrack
run = nbtrack.init(project="shared", dir=sys.argv[1], name="live-run", display=False,
                   config={"lr": 0.01})
print(run.id, flush=True)
i = 0
while not os.path.exists(sys.argv[2]) and i < 6000:
    run.log({"train/loss": 2.0 / (i + 1) + 0.1, "train/acc": i / 6000}, step=i)
    i += 1
    time.sleep(0.02)
run.finish(quiet=True)
"""

team_server = pytest.fixture(sqlite_server_fixture, name="team_server")


@pytest.fixture
def user(team_server: ServerProcess) -> User:
    return team_server.create_user(OWNER)


def attr(page: Any, selector: str, name: str) -> str | None:
    # Playwright's own selectors, polled from Python: the page's CSP refuses evaluated strings.
    value: str | None = page.get_attribute(selector, name, timeout=60_000)
    return value


def shown_points(page: Any) -> int:
    return int(attr(page, CHART, "data-points") or 0)


def test_a_share_link_shows_the_live_run_and_nothing_else(
    team_server: ServerProcess, user: User, chromium: Any, tmp_path: Path, artifacts: Path
) -> None:
    env = sync_env(team_server, user.key, tmp_path / "config", PYTHONPATH=str(Path.cwd()))
    stop = tmp_path / "stop"
    live = subprocess.Popen(
        [PYTHON, "-c", LIVE, str(tmp_path / "store"), str(stop)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    context = None
    try:
        assert live.stdout is not None
        run_id = live.stdout.readline().strip()
        assert run_id, live.stderr.read() if live.stderr else ""
        api = f"/api/v1/runs/{OWNER}/shared/{run_id}"
        wait_until(
            "the run on the server",
            lambda: team_server.call("GET", api, user.key).status_code == 200,
        )
        made = team_server.call(
            "POST", "/api/v1/shares", user.key,
            json={"entity": OWNER, "project": "shared", "run_id": run_id},
        )  # fmt: skip
        assert made.status_code == 201, made.text
        link = made.json()

        # A browser that never signed in, with no cookies.
        context = chromium.new_context(viewport={"width": 1400, "height": 1200})
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        console_errors: list[str] = []
        page_errors: list[str] = []
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: page_errors.append(str(e)))
        link_responses: list[Any] = []
        page.on(
            "response",
            lambda r: (
                link_responses.append(r)
                if urlsplit(r.url).path.startswith(("/s/", "/v/"))
                else None
            ),
        )
        assert context.cookies() == []

        opened = page.goto(team_server.url + link["path"])
        assert opened is not None and opened.status == 200
        # The token is swapped for a cookie at once: the address holds the slug only.
        path = urlsplit(page.url).path
        assert re.fullmatch(r"/v/[0-9A-Za-z]{12}/", path), page.url
        assert link["token"] not in page.url
        first = opened.request.redirected_from
        assert first is not None and urlsplit(first.url).path == link["path"]
        hop = first.response()
        assert hop is not None and hop.status == 303
        assert hop.headers["referrer-policy"] == "no-referrer"
        (cookie,) = context.cookies()
        assert cookie["name"] == "nbtrack_link" and cookie["path"] == path.rstrip("/")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

        # The chart is drawn, and grows while the run trains.
        page.wait_for_selector(f"{CHART} .nbt-plot canvas", timeout=60_000)
        wait_until("points on the chart", lambda: shown_points(page) > 5)
        wait_drawn(page, CHART, BLUE, timeout=30_000)
        assert attr(page, ROOT, "data-state") == "running"
        before = shown_points(page)
        wait_until("the chart to grow", lambda: shown_points(page) > before + 20)
        assert live.poll() is None, "the run ended before the link was watched"

        # Nothing else: no link home or into the project, no owner's name, no sign-in.
        assert page.locator("a[href='/']").count() == 0
        assert page.locator(f"a[href*='{OWNER}']").count() == 0
        assert page.locator("text=Sign in").count() == 0
        assert OWNER not in page.content()
        assert "shared by nbtrack" in (page.text_content("header.top") or "")
        # The link holder can take the dashboard away as one file (docs/export.md), but not share it.
        assert page.locator(f"{ROOT} .nbt-export").count() == 1
        assert page.locator(f"{ROOT} .nbt-share-button").count() == 0
        assert page.text_content(f"{ROOT} .nbt-path") == f"shared/{run_id}"  # no entity

        # Every response of the link's pages (the page, its stream, the redirect).
        seen = {urlsplit(r.url).path for r in link_responses}
        assert {link["path"], path, path + "events"} <= seen, seen
        for r in link_responses:
            assert r.headers.get("referrer-policy") == "no-referrer", r.url

        assert page.evaluate("() => window.__nbtrackCsp") == []
        assert page_errors == [], page_errors
        assert console_errors == [], console_errors
        page.locator(ROOT).screenshot(path=str(artifacts / "share_page.png"))

        # Revoked: the next load answers 404, and so does the link itself.
        r = team_server.call("DELETE", f"/api/v1/shares/{link['id']}", user.key)
        assert r.status_code == 204
        again = page.reload()
        assert again is not None and again.status == 404
        assert "opens nothing" in (page.text_content("main") or "")
        assert OWNER not in page.content() and run_id not in page.content()
        gone = page.goto(team_server.url + link["path"])
        assert gone is not None and gone.status == 404
        assert httpx.get(team_server.url + link["path"], timeout=30).status_code == 404
    except BaseException:
        (artifacts / "share_page-server.log").write_text(team_server.tail(20_000))
        raise
    finally:
        stop.touch()
        if context is not None:
            context.close()
        if live.poll() is None:
            try:
                live.wait(timeout=60)
            except subprocess.TimeoutExpired:
                live.kill()
        live.communicate(timeout=60)  # and its pipes closed

"""The Share panel on the server's own pages: the signed-in owner makes, lists and revokes
links of a run (on its page) and of a project (on the compare view's page) with the
session cookie, the page's strict Content-Security-Policy violated by nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import nbtrack
from tests.browser.test_server_run_page import CSP_LISTENER
from tests.server.copies import wait_until
from tests.server.servers import ServerProcess, User, sqlite_server_fixture

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

team_server = pytest.fixture(sqlite_server_fixture, name="team_server")


@pytest.fixture
def user(team_server: ServerProcess) -> User:
    return team_server.create_user("ada")


def make_and_revoke(page: Any, share: str, server: ServerProcess, private: bool) -> str:
    """Create a link in the panel `share`, see it listed, revoke it; its URL."""
    page.click(f"{share} .nbt-share-button")
    page.wait_for_selector(f'{share}[data-access="ready"]', timeout=30_000)
    page.wait_for_selector(f"{share} .nbt-share-empty", timeout=30_000)
    if private:
        page.check(f"{share} .nbt-share-private")
    page.click(f"{share} .nbt-share-create")
    url_box = page.locator(f"{share} .nbt-share-url")
    wait_until("the new link", lambda: url_box.input_value().startswith("http"))
    url: str = url_box.input_value()
    assert url.startswith(f"{server.url}/s/nbl_"), url
    assert httpx.get(url, follow_redirects=False, timeout=30).status_code == 303
    items = page.locator(f"{share} .nbt-share-item")
    wait_until("the link listed", lambda: items.count() == 1)
    text = items.first.text_content() or ""
    assert "never expires" in text and ("shows host" in text) == private
    page.click(f"{share} .nbt-share-revoke")
    wait_until("the list to empty", lambda: items.count() == 0)
    assert (page.text_content(f"{share} .nbt-share-error") or "") == ""
    assert httpx.get(url, follow_redirects=False, timeout=30).status_code == 404
    return url


def test_the_server_pages_share_panel(
    team_server: ServerProcess, user: User, chromium: Any
) -> None:
    nbtrack.login(host=team_server.url, key=user.key)
    run = nbtrack.init(project="paged", name="on-the-page", display=False)
    for i in range(30):
        run.log({"loss": 1 / (i + 1)})
    run.finish()

    context = chromium.new_context(viewport={"width": 1400, "height": 1200})
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        run_page = f"{team_server.url}/{user.name}/paged/runs/{run.id}"
        page.goto(run_page)
        page.fill("form.signin input[name=username]", user.name)
        page.fill("form.signin input[name=password]", user.password)
        page.click("form.signin button[type=submit]")
        page.wait_for_url(run_page, timeout=30_000)

        share = "[data-nbtrack-run] .nbt-share"
        assert page.get_attribute(share, "data-scope", timeout=30_000) == "run"
        make_and_revoke(page, share, team_server, private=True)

        page.goto(f"{team_server.url}/{user.name}/paged")
        share = "[data-nbtrack-compare] .nbt-share"
        assert page.get_attribute(share, "data-scope", timeout=30_000) == "project"
        make_and_revoke(page, share, team_server, private=False)

        assert page.evaluate("() => window.__nbtrackCsp") == []
        assert errors == [], errors
    finally:
        context.close()

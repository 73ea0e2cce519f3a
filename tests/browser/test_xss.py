"""Must show 3: a run whose name, notes, tags, config keys and values, alert and metric name
hold ``<script>`` and ``<img onerror>`` payloads, synced to a real server, is shown as text on
the run page, the project's compare view, a run link's and a project link's share pages, and
in the HTML exports of the run and of the project. On every one the page reports no CSP
violation, no injected element exists, and no payload runs.

A payload that became markup would either run (``window.__pwned`` set) or be refused by the
page's policy (a ``securitypolicyviolation`` event): both are checked, so a page that escapes
nothing fails even though its CSP holds.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_server_run_page import CSP_LISTENER
from tests.server.copies import PYTHON, nbtrack_cli, sync_env, wait_until
from tests.server.servers import ServerProcess, User, sqlite_server_fixture

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

SCRIPT = "<script>window.__pwned = 'script'</script>"
IMG = "<img src=x onerror=\"window.__pwned = 'img'\">"
NAME = f"run {SCRIPT}"
NOTES = f"notes {IMG} and {SCRIPT}"
METRIC = f"m/{IMG}"
OWNER = "xss-owner"
PROJECT = "xss"
RUN = "[data-nbtrack-run]"
COMPARE = "[data-nbtrack-compare]"

LOG = f"""\
import sys
import nbtrack
run = nbtrack.init(
    project={PROJECT!r}, dir=sys.argv[1], name={NAME!r}, notes={NOTES!r},
    tags=[{SCRIPT!r}, {IMG!r}], config={{{IMG!r}: {SCRIPT!r}, "arch": {IMG!r}, "lr": 0.01}},
    display=False,
)
for i in range(50):
    run.log({{"loss": 1.0 / (i + 1), {METRIC!r}: i * 0.5}})
run.alert(title={SCRIPT!r}, text={IMG!r})
print(run.id, flush=True)
run.finish(quiet=True)
"""

team_server = pytest.fixture(sqlite_server_fixture, name="team_server")


@pytest.fixture
def user(team_server: ServerProcess) -> User:
    return team_server.create_user(OWNER)


@contextmanager
def watched(chromium: Any, **kw: Any) -> Iterator[tuple[Any, list[str]]]:
    """A fresh context's page with the CSP listener, and the page errors it raises."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1400}, **kw)
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield page, errors
    finally:
        context.close()


def check_text_only(page: Any, errors: list[str], where: str, texts: list[str]) -> None:
    """The payloads are on the page as text, and nothing of them runs or is markup."""
    body = page.inner_text("body")
    for t in texts:
        assert t in body, f"{where}: {t!r} is not shown as text"
    # No element made from a payload, anywhere (Playwright's selectors pierce shadow roots).
    assert page.locator("img[src='x']").count() == 0, where
    assert page.locator("img[onerror]").count() == 0, where
    assert page.evaluate("() => window.__pwned === undefined"), where
    assert page.evaluate("() => window.__nbtrackCsp") == [], where
    assert errors == [], (where, errors)


def hover_the_metric(page: Any) -> None:
    """Hover the chart of the metric whose name is a payload: BokehJS's tooltip shows the
    line's name (``$name``), and a tooltip takes HTML. It must show the name as text."""
    cards = page.locator(f"{RUN} .nbtrack-chart")
    wait_until("the metric's chart", lambda: METRIC in [
        cards.nth(i).get_attribute("data-metric") for i in range(cards.count())
    ])  # fmt: skip
    names = [cards.nth(i).get_attribute("data-metric") for i in range(cards.count())]
    plot = cards.nth(names.index(METRIC)).locator(".nbt-plot")
    plot.scroll_into_view_if_needed()
    plot.locator("canvas").first.wait_for(timeout=60_000)

    shown = page.get_by_text(METRIC, exact=True)
    before = shown.count()  # the card's own title, say

    def tooltip_shown() -> bool:
        box = plot.bounding_box()
        assert box is not None
        for fx in (0.3, 0.5, 0.7):
            page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * 0.5)
            page.wait_for_timeout(200)
            if shown.count() > before:
                return True
        return False

    wait_until("the tooltip naming the metric, as text", tooltip_shown)


def wait_run_drawn(page: Any) -> None:
    page.wait_for_selector(f'{RUN} .nbtrack-chart[data-metric="loss"] .nbt-plot canvas',
                           timeout=60_000)  # fmt: skip
    # The overview (notes, tags, config) and the header are filled in by then or soon after.
    wait_until("the overview", lambda: NOTES in page.inner_text(RUN))


def wait_compare_drawn(page: Any) -> None:
    page.wait_for_selector(f"{COMPARE} table.nbt-runs-table tbody tr", timeout=60_000)
    page.wait_for_selector(f'{COMPARE} .nbtrack-chart[data-metric="loss"][data-lines="1"]',
                           timeout=60_000)  # fmt: skip


def test_payloads_are_text_on_every_page_and_in_the_exports(
    team_server: ServerProcess, user: User, chromium: Any, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    env = sync_env(team_server, user.key, tmp_path / "config", PYTHONPATH=str(Path.cwd()))
    env["NBTRACK_SYNC_WAIT_S"] = "60"
    done = subprocess.run(
        [PYTHON, "-c", LOG, str(store)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip().splitlines()[-1]
    api = f"/api/v1/runs/{OWNER}/{PROJECT}/{run_id}"
    wait_until(
        "the finished run on the server",
        lambda: (
            (r := team_server.call("GET", api, user.key)).status_code == 200
            and r.json()["state"] == "finished"
        ),
    )
    run_texts = [NAME, NOTES, SCRIPT, IMG]
    compare_texts = [NAME]

    # The owner's pages, signed in.
    base = f"{team_server.url}/{OWNER}/{PROJECT}"
    with watched(chromium) as (page, errors):
        page.goto(f"{base}/runs/{run_id}")
        page.fill("form.signin input[name=username]", user.name)
        page.fill("form.signin input[name=password]", user.password)
        page.click("form.signin button[type=submit]")
        page.wait_for_url(f"{base}/runs/{run_id}", timeout=30_000)
        wait_run_drawn(page)
        hover_the_metric(page)
        check_text_only(page, errors, "the run page", run_texts)
        page.goto(base)
        wait_compare_drawn(page)
        check_text_only(page, errors, "the project page", compare_texts)

    # The share links' pages, in browsers that never signed in.
    for run_link, wait, texts in ((True, wait_run_drawn, run_texts),
                                  (False, wait_compare_drawn, compare_texts)):  # fmt: skip
        made = team_server.call(
            "POST", "/api/v1/shares", user.key,
            json={"entity": OWNER, "project": PROJECT, "run_id": run_id if run_link else None},
        )  # fmt: skip
        assert made.status_code == 201, made.text
        where = "a run link" if run_link else "a project link"
        with watched(chromium) as (page, errors):
            page.goto(team_server.url + made.json()["path"])
            wait(page)
            check_text_only(page, errors, where, texts)

    # The HTML exports, opened from disk with networking off.
    for args, wait, texts in (([run_id], wait_run_drawn, run_texts),
                              (["--project", PROJECT], wait_compare_drawn, compare_texts)):  # fmt: skip
        out = tmp_path / f"export-{len(args)}.html"
        res = nbtrack_cli("--dir", str(store), "export", *args, "-o", str(out), env=env)
        assert res.returncode == 0, res.stdout + res.stderr
        raw = out.read_text()
        # In the file the payloads are data, never markup: no "<script>w" or "<img " outside.
        assert "<img src=x" not in raw and "<script>window" not in raw
        with watched(chromium, offline=True) as (page, errors):
            page.goto(out.as_uri())
            wait(page)
            check_text_only(page, errors, f"the export of {' '.join(args)}", texts)

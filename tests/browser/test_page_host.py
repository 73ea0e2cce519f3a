"""The dashboard's second host: the standalone page (``js/page.ts``) fed by Server-Sent
Events, under the team server's Content-Security-Policy, served by
``tests/browser/page_harness.py``. The charts draw, grow as events come, lose nothing and
repeat nothing across reconnects (the browser's own, with Last-Event-ID, and a fresh
EventSource after the browser gave one up), the header shows the sync state, and the chart
layout outlives a reload in localStorage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.helpers import wait_chart, wait_drawn, wait_points
from tests.browser.page_harness import PER_EVENT, RUN_ID, PageServer, more_key, serve_page

pytestmark = pytest.mark.browser

ROOT = "[data-nbtrack-run]"
CHART = f'{ROOT} .nbtrack-chart[data-metric="train/loss"]'
VAL = f'{ROOT} .nbtrack-chart[data-metric="val/loss"]'
BLUE = (0x25, 0x63, 0xEB)  # the first line colour (js/charts/line-chart.ts)


@pytest.fixture
def site() -> Iterator[PageServer]:
    with serve_page(events=20) as server:
        yield server


def csp_violations(page: Any) -> list[str]:
    """What Chromium reports the page's Content-Security-Policy blocked, as it happens."""
    found: list[str] = []

    def on_console(m: Any) -> None:
        if m.type == "error" and "Content Security Policy" in m.text:
            found.append(m.text)

    page.on("console", on_console)
    return found


def wait_feed(page: Any, status: str) -> None:
    page.wait_for_function(
        f"() => document.querySelector('{ROOT}').dataset.feed === '{status}'", timeout=15_000
    )


def test_the_page_draws_the_run_live_across_reconnects(site: PageServer, page: Any) -> None:
    violations = csp_violations(page)
    site.allow(5)
    page.goto(f"{site.url}/")
    page.wait_for_selector(CHART, timeout=30_000)
    wait_points(page, f"=== {5 * PER_EVENT}", timeout=15_000)
    wait_drawn(page, CHART, BLUE, timeout=15_000)
    wait_feed(page, "live")
    assert page.text_content(f"{ROOT} .nbt-feed") == "live"
    assert "nbt-live" in (page.get_attribute(ROOT, "class") or "")
    assert page.get_attribute(ROOT, "data-run-id") == RUN_ID

    # Grows as events come.
    site.allow(10)
    wait_points(page, f"=== {10 * PER_EVENT}", timeout=15_000)
    wait_chart(page, f"sources()[0].raw.data.x.length > {5 * PER_EVENT}", timeout=15_000)

    # The stream ends; the browser reconnects by itself with Last-Event-ID.
    site.drop()
    site.allow(15)
    wait_points(page, f"=== {15 * PER_EVENT}", timeout=15_000)
    assert site.requests[:2] == [(None, False), ("10", False)]

    # The reconnect is refused: the browser gives up, the page opens a fresh EventSource
    # (no Last-Event-ID, so the server starts over) and skips what it already has.
    site.drop(refuse=1)
    wait_feed(page, "reconnecting")
    assert page.text_content(f"{ROOT} .nbt-feed") == "reconnecting…"
    site.allow(20)
    wait_points(page, f"=== {20 * PER_EVENT}", timeout=20_000)
    wait_feed(page, "live")
    assert site.requests[2:] == [("15", True), (None, False)]
    assert page.get_attribute(VAL, "data-points") == "20"

    # The last header: finished, synced, with a link to the run on the server.
    page.wait_for_function(
        f"() => document.querySelector('{ROOT} .nbt-sync')?.dataset.syncState === 'synced'",
        timeout=10_000,
    )
    assert page.get_attribute(ROOT, "data-state") == "finished"
    assert page.text_content(f"{ROOT} .nbt-sync-text") == "synced"
    link = page.locator(f"{ROOT} a.nbt-sync-link")
    assert link.get_attribute("href") == f"https://nbtrack.example/p/runs/{RUN_ID}"
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert link.get_attribute("target") == "_blank"
    assert link.text_content() == "open on server"

    # The chart layout is kept in localStorage, under data-layout-key.
    page.click(f"{CHART} .nbt-log")
    wait_chart(page, "plotModel.y_scale.type.includes('Log')", timeout=10_000)
    saved = page.evaluate(f"() => JSON.parse(localStorage.getItem('nbtrack-test:{RUN_ID}'))")
    assert saved["log_y"] == ["train/loss"]
    page.reload()
    page.wait_for_selector(CHART, timeout=30_000)
    wait_points(page, f"=== {20 * PER_EVENT}", timeout=15_000)
    wait_chart(page, "plotModel.y_scale.type.includes('Log')", timeout=10_000)

    assert not page.page_errors, page.page_errors
    assert not violations, violations


def test_the_page_says_so_when_bokehjs_is_missing(site: PageServer, page: Any) -> None:
    violations = csp_violations(page)
    page.goto(f"{site.url}/no-bokeh")
    page.wait_for_selector(f"{ROOT} .nbt-notice", timeout=15_000)
    assert "BokehJS" in (page.text_content(f"{ROOT} .nbt-notice") or "")
    assert site.requests == []  # no stream opened for a dashboard that cannot draw
    assert not page.page_errors, page.page_errors
    assert not violations, violations


def test_the_page_streams_before_a_deferred_bokehjs_has_run(site: PageServer, page: Any) -> None:
    # The page's module before BokehJS, deferred: the stream opens at once, the charts come
    # once BokehJS has run.
    violations = csp_violations(page)
    site.allow(5)
    page.goto(f"{site.url}/deferred")
    wait_points(page, f"=== {5 * PER_EVENT}", timeout=15_000)
    wait_drawn(page, CHART, BLUE, timeout=15_000)
    wait_chart(page, f"sources()[0].raw.data.x.length >= {5 * PER_EVENT}", timeout=10_000)
    assert site.requests == [(None, False)]
    assert not page.page_errors, page.page_errors
    assert not violations, violations


def built(page: Any, sel: str) -> bool:
    return bool(page.evaluate("(sel) => !!document.querySelector(sel).__nbtrack_card__.chart", sel))


def test_charts_far_below_are_built_as_they_come_near_with_every_point(page: Any) -> None:
    # 62 charts, four a row: the lowest are thousands of pixels below the 1700-pixel viewport.
    with serve_page(events=20, more=60) as site:
        site.allow(10)
        page.goto(f"{site.url}/")
        wait_points(page, f"=== {10 * PER_EVENT}", timeout=15_000)
        wait_drawn(page, CHART, BLUE, timeout=15_000)
        lowest = f'{ROOT} .nbtrack-chart[data-metric="{more_key(59)}"]'
        # Far below: no chart yet, but its card holds every point that came.
        wait_points(page, f"=== {10 * PER_EVENT}", sel=lowest, timeout=15_000)
        assert not built(page, lowest)
        site.allow(15)
        wait_chart(page, f"sources()[0].raw.data.x.length === {15 * PER_EVENT}", timeout=15_000)
        assert not built(page, lowest)

        # Scrolled to: built, with all its points (the first 100 came before it existed).
        page.locator(lowest).scroll_into_view_if_needed()
        wait_chart(
            page, f"sources()[0].raw.data.x.length === {15 * PER_EVENT}", sel=lowest, timeout=15_000
        )
        wait_drawn(page, lowest, BLUE, timeout=15_000)
        # Now train/loss is far above: it keeps its points and stops redrawing ...
        site.allow(20)
        wait_chart(
            page, f"sources()[0].raw.data.x.length === {20 * PER_EVENT}", sel=lowest, timeout=15_000
        )
        wait_points(page, f"=== {20 * PER_EVENT}", timeout=15_000)
        assert (
            page.evaluate(
                "(sel) => document.querySelector(sel).__nbtrack_card__.chart.sources()[0].raw.data.x.length",
                CHART,
            )
            == 15 * PER_EVENT
        )
        # ... and draws what it missed when it is back in view.
        page.locator(CHART).scroll_into_view_if_needed()
        wait_chart(page, f"sources()[0].raw.data.x.length === {20 * PER_EVENT}", timeout=15_000)
        assert not page.page_errors, page.page_errors

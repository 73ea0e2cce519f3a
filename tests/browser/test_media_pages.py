"""The standalone hosts show a run's media as the notebook does: the HTML export (opened
from disk, offline), `nbtrack ui`'s run page, and the team server's run page and a share
link's page for a synced run.

The run (`media_helpers.media_run`) logs, at three steps, images (one of 200x160 with a mask
of three classes and two boxes, three small ones), a table with image cells and a
confusion matrix. Each host's page shows the Media section with every thumbnail loaded; the
export's class toggles change the drawn overlay and its lightbox says the full size is not
in the file; the ui's and the server's lightbox show the full image, from the host's URL.
The ui's and the server's event streams carry the thumbnails (the images show object URLs
of bytes the page holds); full files load from the host's URL.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from nbtrack import export
from tests.browser.media_helpers import (
    BIG_W,
    IMAGES,
    MASK_SET,
    PLOT,
    TABLE,
    close_lightbox,
    media_run,
    names,
    open_lightbox,
    panel,
    wait_images_loaded,
    wait_plot_drawn,
    wait_until,
)
from tests.browser.test_export import offline
from tests.browser.test_server_run_page import CSP_LISTENER
from tests.helpers import REPO
from tests.server.copies import PYTHON, sync_env
from tests.server.servers import ServerProcess, sqlite_server_fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUN = "[data-nbtrack-run]"
ITEMS = f"{panel(IMAGES, RUN)} .nbt-media-grid .nbt-media-item"
ROWS = f"{panel(TABLE, RUN)} .nbt-media-table tbody tr"


def check_media_shown(page: Any) -> None:
    """The Media section of the run page: three panels, every thumbnail loaded (the four
    images of the newest step, the six table cells), the confusion matrix drawn."""
    page.wait_for_selector(f"{RUN} .nbt-media:not([hidden])", timeout=60_000)
    wait_until("three panels", lambda: page.locator(f"{RUN} .nbt-media-panel").count() == 3)
    page.locator(panel(IMAGES, RUN)).scroll_into_view_if_needed()
    wait_until("four images", lambda: page.locator(ITEMS).count() == 4)
    wait_images_loaded(page, f"{ITEMS} img", at_least=4)
    assert page.text_content(f"{panel(IMAGES, RUN)} .nbt-media-step") == "step 2"
    assert page.locator(f"{ITEMS} .nbt-media-caption").first.text_content() == (
        "with masks and boxes"
    )
    wait_until("six table rows", lambda: page.locator(ROWS).count() == 6)
    wait_images_loaded(page, f"{ROWS} img", at_least=6)
    assert (page.text_content(f"{panel(TABLE, RUN)} .nbt-media-count") or "").strip() == (
        "6 of 6 rows"
    )
    wait_plot_drawn(page, panel(PLOT, RUN), kind="confusion_matrix")


def check_full_image(page: Any) -> None:
    """A click on the big image: the lightbox swaps in the full file (200 px wide, not the
    128 px thumbnail), from the host's URL."""
    thumb = names(page, f"{ITEMS} img")[0]
    box = open_lightbox(page, ITEMS)
    img = page.locator(f"{box} img").first
    wait_until("the full image", lambda: img.get_attribute("data-full") == "1")
    assert img.get_attribute("data-name") != thumb
    wait_until("it decodes", lambda: img.evaluate("(i) => i.naturalWidth") == BIG_W)
    close_lightbox(page)


def test_the_export_shows_images_masks_tables_and_plots_offline(
    chromium: Any, tmp_path: Path, artifacts: Path
) -> None:
    run = media_run(name="exported-media")
    path = export.export_run(run.path, tmp_path / "media.html")
    with offline(chromium) as o:
        page = o.page
        page.goto(path.as_uri())
        page.wait_for_selector(f'{RUN}[data-feed="embedded"]', timeout=30_000)
        check_media_shown(page)

        # The big image has an overlay; unticking a mask class draws it otherwise.
        overlay = page.locator(f"{ITEMS} canvas.nbt-media-overlay").first
        legend = f"{panel(IMAGES, RUN)} .nbt-media-legend"
        cat = page.locator(f'{legend} input[type=checkbox][data-set="{MASK_SET}"][data-class="1"]')
        wait_until("the mask's legend", lambda: cat.count() == 1)
        assert cat.is_checked()
        before = overlay.screenshot()
        cat.uncheck()
        wait_until("the overlay redrawn", lambda: overlay.screenshot() != before)
        cat.check()
        wait_until("the overlay as it was", lambda: overlay.screenshot() == before)

        # The lightbox: the thumbnail enlarged, and the words that the full size is not here.
        box = open_lightbox(page, ITEMS)
        wait_images_loaded(page, f"{box} img")
        wait_until(
            "the export's words",
            lambda: "Full size is not in the exported file" in (page.text_content(box) or ""),
        )
        close_lightbox(page)
        page.locator(f"{RUN} .nbt-media").screenshot(path=str(artifacts / "export_media.png"))
        o.check_clean()


def test_nbtrack_ui_streams_thumbnails_and_loads_full_files_by_url(
    chromium: Any, store_dir: Path, tmp_path: Path, artifacts: Path
) -> None:
    pytest.importorskip("fastapi", reason="nbtrack ui needs the server extra")
    from tests.ui_process import seg, start_ui

    run = media_run(project="ui-media", name="served-media")
    ui = start_ui(store_dir, tmp_path, "--no-browser")
    context = chromium.new_context(viewport={"width": 1400, "height": 1600})
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    media: list[tuple[str, int]] = []
    page.on(
        "response",
        lambda r: (
            media.append((urlsplit(r.url).path, r.status))
            if urlsplit(r.url).path.startswith("/media/")
            else None
        ),
    )
    try:
        page.goto(f"{ui.url}{seg('ui-media')}/runs/{run.id}")
        check_media_shown(page)
        shown = set(names(page, f"{ITEMS} img")) | set(names(page, f"{ROWS} img"))
        assert media == [], media  # every thumbnail came in the event stream
        check_thumbnails_streamed(page, [p for p, _ in media])
        check_full_image(page)
        assert media and all(status == 200 for _, status in media), media
        assert not {f"/media/{n}" for n in shown} & {p for p, _ in media}, media
        page.locator(f"{RUN} .nbt-media").screenshot(path=str(artifacts / "ui_media.png"))
        assert page.evaluate("() => window.__nbtrackCsp") == []
        assert errors == [], errors
    finally:
        context.close()
        code, out = ui.stop()
        assert code == 0, (out, ui.stderr.read_text())


def check_thumbnails_streamed(page: Any, requested: list[str]) -> None:
    """Every thumbnail shown is an object URL of bytes the page was sent, and the page asked
    for no media file (`requested`: the paths of the page's requests)."""
    loc = page.locator(f"{ITEMS} img, {ROWS} img")
    shown = [loc.nth(i).get_attribute("src") or "" for i in range(loc.count())]
    assert len(shown) == 10 and all(src.startswith("blob:") for src in shown), shown
    assert not [p for p in requested if "/media/" in p], requested


def record_requests(page: Any) -> list[str]:
    paths: list[str] = []
    page.on("request", lambda r: paths.append(urlsplit(r.url).path))
    return paths


# -- the team server ---------------------------------------------------------------------------

SYNCED = """\
from tests.browser.media_helpers import media_run
run = media_run(project="team-media", name="synced-media")
print(run.id, flush=True)
"""


# A running `nbtrack server` on its embedded SQLite database: tests/server's `sqlite_server`.
team_server = pytest.fixture(sqlite_server_fixture, name="team_server")


@pytest.mark.server
def test_the_server_and_a_share_link_show_a_synced_runs_media(
    team_server: ServerProcess, chromium: Any, tmp_path: Path, artifacts: Path
) -> None:
    user = team_server.create_user("mia")
    env = sync_env(
        team_server, user.key, tmp_path / "config",
        NBTRACK_DIR=str(tmp_path / "synced"), PYTHONPATH=str(REPO),
    )  # fmt: skip
    done = subprocess.run(
        [PYTHON, "-c", SYNCED],
        env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.split()[-1]
    run_url = f"{team_server.url}/{user.name}/team-media/runs/{run_id}"

    context = chromium.new_context(viewport={"width": 1400, "height": 1600})
    context.add_init_script(CSP_LISTENER)
    errors: list[str] = []
    try:
        # Signed in: the run page, its thumbnails in its event stream.
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        requested = record_requests(page)
        page.goto(run_url)
        page.fill("form.signin input[name=username]", user.name)
        page.fill("form.signin input[name=password]", user.password)
        page.click("form.signin button[type=submit]")
        page.wait_for_url(run_url, timeout=30_000)
        check_media_shown(page)
        check_thumbnails_streamed(page, requested)
        check_full_image(page)
        page.locator(f"{RUN} .nbt-media").screenshot(path=str(artifacts / "server_media.png"))
        assert page.evaluate("() => window.__nbtrackCsp") == []

        # A share link, in a browser that never signed in.
        made = team_server.call(
            "POST", "/api/v1/shares", user.key,
            json={"entity": user.name, "project": "team-media", "run_id": run_id},
        )  # fmt: skip
        assert made.status_code == 201, made.text
        shared = chromium.new_context(viewport={"width": 1400, "height": 1600})
        shared.add_init_script(CSP_LISTENER)
        try:
            link = shared.new_page()
            link.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            link.on("pageerror", lambda e: errors.append(str(e)))
            link_requested = record_requests(link)
            link.goto(team_server.url + made.json()["path"])
            check_media_shown(link)
            check_thumbnails_streamed(link, link_requested)
            check_full_image(link)
            link.locator(f"{RUN} .nbt-media").screenshot(path=str(artifacts / "share_media.png"))
            assert link.evaluate("() => window.__nbtrackCsp") == []
        finally:
            shared.close()
        assert errors == [], errors
    except BaseException:
        (artifacts / "media-server.log").write_text(team_server.tail(20_000))
        raise
    finally:
        context.close()

"""Must show 5 and 6: the HTML export opens in Chromium with networking off and draws.

Each file is opened from disk in a context that is offline, whose every request is recorded
and aborted unless it is the file itself, and that listens for the page's
``securitypolicyviolation`` events from before any script of the page runs. A run's file
draws every metric's chart and the ``watch`` histograms, and its controls work; a project's
draws the runs table, the curves and the parallel coordinates. The Export button writes
such a file from a JupyterLab dashboard while its cell still trains, from a server page,
and from an exported file itself. ``nbtrack demo``, as ``make demo`` runs it, prints the
path of a file that draws the demo run.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np
import pytest

import nbtrack
from nbtrack import export
from tests.browser.helpers import (
    CHART,
    TRAIN_CELL,
    cell_running,
    check_smoothing_and_log_scale,
    open_notebook,
    run_all_cells,
    wait_drawn,
    wait_points,
)
from tests.browser.page_harness import serve_page
from tests.browser.servers import JupyterServer
from tests.compare_project import make_project
from tests.helpers import child_env

pytestmark = pytest.mark.browser

BLUE = (0x25, 0x63, 0xEB)  # a chart's first line (js/charts/line-chart.ts)
RUN = "[data-nbtrack-run]"
COMPARE = "[data-nbtrack-compare]"
CSP_SPY = """
window.__nbtrack_csp__ = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__nbtrack_csp__.push(`${e.violatedDirective} ${e.blockedURI}`);
}, true);
"""


@dataclass
class Offline:
    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def violations(self) -> list[str]:
        return list(self.page.evaluate("() => window.__nbtrack_csp__"))

    def check_clean(self) -> None:
        """No request left the page, nothing broke the policy, no error was logged."""
        # file: the page itself; blob: the BokehJS scripts it makes; data: its icon.
        away = [u for u in self.requests if not u.startswith(("file:", "blob:", "data:"))]
        assert not away, away
        assert not self.violations(), self.violations()
        assert not self.errors, self.errors


@contextmanager
def offline(chromium: Any) -> Iterator[Offline]:
    """A page in a fresh context with networking off, every request recorded."""
    context = chromium.new_context(
        offline=True, viewport={"width": 1400, "height": 1700}, device_scale_factor=1
    )
    seen = Offline(page=None)

    def route(r: Any) -> None:
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            r.abort()

    context.route("**/*", route)
    context.add_init_script(CSP_SPY)
    page = context.new_page()
    seen.page = page
    page.on("request", lambda r: seen.requests.append(r.url))
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.errors.append(f"{e}"))
    try:
        yield seen
    finally:
        context.close()


def until(page: Any, fn: str, arg: Any = None, *, timeout: float = 60, what: str = "") -> Any:
    """Poll the function `fn` (JS) in the page until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(fn, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} s: {what or fn}")
        page.wait_for_timeout(200)


def coloured(page: Any, sel: str) -> int:
    """How many pixels of the element `sel` are coloured (not white, grey or black)."""
    from PIL import Image  # bokeh's own dependency

    with Image.open(io.BytesIO(page.locator(sel).first.screenshot())) as img:
        px = np.asarray(img.convert("RGB"), dtype=np.int32)
    return int(((px.max(axis=2) - px.min(axis=2)) > 60).sum())


def card(metric: str, root: str = RUN) -> str:
    quoted = metric.replace("\\", "\\\\").replace('"', '\\"')  # a CSS string
    return f'{root} .nbtrack-chart[data-metric="{quoted}"]'


def check_charts_draw(page: Any, metrics: list[str], root: str = RUN) -> None:
    """Every metric's card has its Bokeh canvas and shows its line."""
    for m in metrics:
        sel = card(m, root)
        page.locator(sel).scroll_into_view_if_needed(timeout=30_000)
        until(page, "(sel) => document.querySelectorAll(sel).length", sel, what=sel)
        deadline = time.monotonic() + 60
        while page.locator(f"{sel} canvas").count() < 1:
            assert time.monotonic() < deadline, f"no Bokeh canvas in {sel}"
            page.wait_for_timeout(200)
        wait_drawn(page, sel, BLUE, timeout=60_000)


def watched_run(name: str = "exported") -> nbtrack.Run:
    """A finished run: three train metrics of 6,000 steps (more than a file keeps whole), a
    validation metric every 100 steps, and watch histograms of a small model."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    run = nbtrack.init(project="export", name=name, config={"lr": 0.05}, display=False)
    assert isinstance(run, nbtrack.Run)
    run.watch(model, log="all", log_freq=10)
    for i in range(6000):
        if i < 200:
            x = torch.randn(16, 4)
            loss = torch.nn.functional.cross_entropy(model(x), (x[:, 0] > 0).long())
            opt.zero_grad()
            loss.backward()
            opt.step()
        v = 2.0 * np.exp(-i / 1500) + 0.05 * np.sin(i / 7) + 0.1
        row = {"train/loss": v, "train/acc": 1 - v / 2.5, "epoch": i / 1000}
        if i % 100 == 99:
            row["val/loss"] = v * 1.1
        run.log(row)
    run.finish(quiet=True)
    return run


METRICS = ["train/loss", "train/acc", "val/loss", "epoch"]


def check_histograms_draw(page: Any, keys: int) -> None:
    until(page, "() => { const s = document.querySelector('.nbt-hist-section'); return s && !s.hidden; }",
          what="the histogram section shows")  # fmt: skip
    until(page, "(n) => document.querySelectorAll('.nbt-hist-section [data-key]').length === n",
          keys, what=f"{keys} histogram rows")  # fmt: skip
    panel = ".nbtrack-histogram .nbt-hist-heat"
    until(page, "(sel) => document.querySelectorAll(sel).length", panel, what="a heat map")
    page.locator(panel).first.scroll_into_view_if_needed()
    deadline = time.monotonic() + 30
    while coloured(page, panel) == 0:
        assert time.monotonic() < deadline, "the heat map stays blank"
        page.wait_for_timeout(250)


def test_a_run_file_opens_offline_and_draws_every_chart(
    chromium: Any, tmp_path: Path, artifacts: Path
) -> None:
    run = watched_run()
    path = export.export_run(run.path, tmp_path / "run.html")
    assert path.stat().st_size < 2_000_000
    with offline(chromium) as o:
        page = o.page
        page.goto(path.as_uri())
        page.wait_for_selector(f'{RUN}[data-feed="embedded"]', timeout=30_000)
        check_charts_draw(page, METRICS)
        # The long series came reduced, the short one whole.
        assert int(page.get_attribute(card("train/loss"), "data-points") or 0) < 6000
        assert page.get_attribute(card("val/loss"), "data-points") == "60"
        check_histograms_draw(page, keys=8)
        assert page.get_attribute(RUN, "data-state") == "finished"
        # The controls: smoothing and log y redraw train/loss; merging draws two lines.
        page.locator(CHART).scroll_into_view_if_needed()
        check_smoothing_and_log_scale(page)
        page.select_option(f"{card('val/loss')} .nbt-merge", "train/loss")
        until(page, "(sel) => document.querySelector(sel).__nbtrack_card__.chart?.sources().length === 2",
              CHART, what="val/loss merged into train/loss")  # fmt: skip
        page.locator(f"{RUN}").screenshot(path=str(artifacts / "export_run.png"))
        o.check_clean()


def test_a_project_file_draws_table_curves_and_parallel_coordinates(
    chromium: Any, store_dir: Path, tmp_path: Path, artifacts: Path
) -> None:
    make_project(store_dir, "sweep")
    path = export.export_project("sweep", tmp_path / "sweep.html")
    with offline(chromium) as o:
        page = o.page
        page.goto(path.as_uri())
        rows = f"{COMPARE} table.nbt-runs-table tr[data-run-id]"
        until(page, "(sel) => document.querySelectorAll(sel).length === 12", rows, what="12 rows")
        for m in ("train/loss", "val/acc"):
            sel = card(m, COMPARE)
            page.locator(sel).scroll_into_view_if_needed(timeout=30_000)
            deadline = time.monotonic() + 60
            while (
                page.locator(f"{sel} canvas").count() < 1 or coloured(page, f"{sel} .nbt-plot") < 50
            ):
                assert time.monotonic() < deadline, f"{sel} draws no curves"
                page.wait_for_timeout(250)
        pc = f"{COMPARE} .nbt-pc-host canvas"
        page.locator(pc).first.scroll_into_view_if_needed()
        deadline = time.monotonic() + 30
        while coloured(page, pc) < 50:
            assert time.monotonic() < deadline, "the parallel coordinates draw nothing"
            page.wait_for_timeout(250)
        # A run's name opens nothing: the file holds no run's dashboard.
        url = page.url
        page.locator(f"{COMPARE} a.nbt-run-name").first.click()
        # The click's handlers have run by the second frame after it: nothing to wait for.
        page.evaluate(
            "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )
        assert page.url == url
        assert page.locator(f"{COMPARE} .nbt-opened").is_hidden()
        page.locator(COMPARE).screenshot(path=str(artifacts / "export_project.png"))
        o.check_clean()


def check_file_draws(chromium: Any, path: Path, metrics: list[str]) -> None:
    """The file `path` opens offline and draws the charts of `metrics`, cleanly."""
    text = path.read_text(encoding="utf-8")
    nonce = re.search(r"script-src &#x27;nonce-([0-9a-f]{32})&#x27;", text)
    assert nonce, "the file has no nonce in its policy"
    # The same policy, and the same format, as nbtrack/export.py writes.
    policy = export.csp(nonce.group(1)).replace("'", "&#x27;")
    assert f'http-equiv="Content-Security-Policy" content="{policy}"' in text
    assert f'<meta name="nbtrack-export" content="{export.FORMAT_VERSION}">' in text
    with offline(chromium) as o:
        o.page.goto(path.as_uri())
        o.page.wait_for_selector(f'{RUN}[data-feed="embedded"]', timeout=30_000)
        check_charts_draw(o.page, metrics)
        o.check_clean()


def test_the_export_button_of_an_exported_file_writes_it_again(
    chromium: Any, tmp_path: Path
) -> None:
    run = watched_run("again")
    path = export.export_run(run.path, tmp_path / "run.html")
    with offline(chromium) as o:
        o.page.goto(path.as_uri())
        check_charts_draw(o.page, ["train/loss"])
        with o.page.expect_download() as dl:
            o.page.click(f"{RUN} .nbt-export")
        assert dl.value.suggested_filename == "again.html"
        again = tmp_path / "again.html"
        dl.value.save_as(again)
        o.check_clean()
    check_file_draws(chromium, again, METRICS)
    with offline(chromium) as o:
        o.page.goto(again.as_uri())
        check_histograms_draw(o.page, keys=8)
        o.check_clean()


def test_the_export_button_of_a_server_page(chromium: Any, page: Any, tmp_path: Path) -> None:
    # The page's BokehJS and bundle are its own scripts: fetched and gzipped in the page.
    with serve_page(events=20) as site:
        site.allow(20)
        page.goto(f"{site.url}/")
        wait_points(page, "=== 200", timeout=30_000)
        with page.expect_download() as dl:
            page.click(f"{RUN} .nbt-export")
        out = tmp_path / dl.value.suggested_filename
        dl.value.save_as(out)
        assert not page.page_errors, page.page_errors
    check_file_draws(chromium, out, ["train/loss", "val/loss"])


@pytest.mark.slow
def test_the_export_button_in_jupyterlab_while_the_cell_trains(
    lab: JupyterServer, page: Any, chromium: Any, tmp_path: Path
) -> None:
    nb = lab.write_notebook("export.ipynb", [TRAIN_CELL])
    open_notebook(page, lab, nb)
    run_all_cells(page)
    page.wait_for_selector(CHART, timeout=60_000)
    wait_points(page, "> 20", timeout=60_000)
    # Not logged in: the Share panel says how to log in, and offers the export.
    page.click(".nbtrack-dashboard .nbt-share-button")
    page.wait_for_selector(".nbtrack-dashboard .nbt-share[data-access='none']", timeout=60_000)
    assert "nbtrack.login(" in (page.text_content(".nbtrack-dashboard .nbt-share-status") or "")
    with page.expect_download(timeout=60_000) as dl:
        page.click(".nbtrack-dashboard .nbt-share-export")
    assert cell_running(page), "the export was taken while the cell still ran"
    assert dl.value.suggested_filename == "lab-live.html"
    out = tmp_path / "lab-live.html"
    dl.value.save_as(out)
    check_file_draws(chromium, out, ["train/loss", "train/acc", "val/loss"])
    assert not page.page_errors, page.page_errors


@pytest.mark.slow
def test_the_demo_prints_the_path_of_a_file_that_draws_it(chromium: Any, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    # As the Makefile runs it (`nbtrack demo --html nbtrack-demo.html`), with one epoch.
    script = Path(sys.executable).with_name("nbtrack")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "nbtrack.cli"]
    out = subprocess.run(
        [*cmd, "demo", "--epochs", "1", "--html", "nbtrack-demo.html"],
        capture_output=True, text=True, cwd=tmp_path, env=child_env(), timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    url = re.search(r"file://\S+", out.stdout)
    assert url, out.stdout
    path = Path(unquote(url.group(0).removeprefix("file://")))
    assert path == (tmp_path / "nbtrack-demo.html").resolve() and str(path) in out.stdout
    check_file_draws(chromium, path, ["train/loss", "train/acc", "val/loss", "val/acc", "epoch"])


XSS = '<img src=x onerror="window.__nbtrack_xss__=1"><script>window.__nbtrack_xss__=2</script>'


def test_markup_in_a_run_shows_as_text_in_its_file(chromium: Any, tmp_path: Path) -> None:
    run = nbtrack.init(
        project="export", name=f"</script>{XSS}", notes=f"<!-- {XSS}", tags=[XSS],
        config={XSS: XSS}, display=False,
    )  # fmt: skip
    assert isinstance(run, nbtrack.Run)
    for i in range(20):
        run.log({"train/loss": 1 / (i + 1), XSS: float(i)})
    run.alert(XSS, XSS)
    run.finish(quiet=True)
    path = export.export_run(run.path, tmp_path / "xss.html")
    with offline(chromium) as o:
        page = o.page
        page.goto(path.as_uri())
        check_charts_draw(page, ["train/loss", XSS])
        until(page, "(sel) => document.querySelector(sel)", f"{RUN} .nbt-ov-notes", what="notes")
        assert page.text_content(f"{RUN} .nbt-name") == f"</script>{XSS}"
        assert page.text_content(f"{RUN} .nbt-ov-notes") == f"<!-- {XSS}"
        assert page.text_content(f"{RUN} .nbt-tag") == XSS
        assert XSS in (page.text_content(f"{RUN} .nbt-ov-grid") or "")
        assert XSS in (page.text_content(f"{RUN} .nbt-alerts") or "")
        assert page.title() == f"</script>{XSS} (export/{run.id}) · nbtrack"
        # No element of the payload's, and none of its script ran. (The media section's own
        # lightbox holds an img of nbtrack's, empty while the run has no media.)
        assert (
            page.evaluate(
                "() => document.querySelectorAll("
                "'main img:not(.nbt-media img), main script:not([type])').length"
            )
            == 0
        )
        assert page.evaluate("() => window.__nbtrack_xss__ === undefined")
        o.check_clean()

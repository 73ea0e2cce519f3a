"""The run dashboard's Overview section in a real JupyterLab: the config as a table, the
tags, a link to the commit on GitHub (the kernel runs in a git repository whose origin is
there), and notes full of HTML shown as the text they are, with nothing of it run."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import open_notebook, run_all_cells
from tests.browser.servers import JupyterServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTES = "<img src=x onerror=alert(1)> baseline <b>not bold</b>"
CELL = f"""\
import nbtrack
run = nbtrack.init(
    project="browser", name="overview", notes={NOTES!r}, tags=["cnn", "<i>tag</i>"],
    config={{"lr": 0.01, "opt": {{"name": "adam", "betas": [0.9, 0.999]}}, "<script>": "x"}},
)
for i in range(20):
    run.log({{"train/loss": 1.0 / (i + 1)}})
run.finish()
"""
OVERVIEW = '.nbtrack-dashboard details.nbt-overview[data-section="overview"]'


def _git(root: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=root, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return out.stdout.strip()


def test_overview_shows_config_tags_commit_link_and_notes_as_text(
    lab: JupyterServer, page: Any, artifacts: Path
) -> None:
    # The kernel's working directory is the server's root: make it a repository on GitHub.
    _git(lab.root, "init", "-q", "-b", "main")
    (lab.root / "README.md").write_text("overview test\n")
    _git(lab.root, "add", "README.md")
    _git(lab.root, "commit", "-q", "-m", "first")
    _git(lab.root, "remote", "add", "origin", "git@github.com:o/r.git")
    sha = _git(lab.root, "rev-parse", "HEAD")

    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    nb = lab.write_notebook("overview.ipynb", [CELL])
    open_notebook(page, lab, nb)
    run_all_cells(page)
    page.wait_for_selector('.nbtrack-dashboard[data-state="finished"]', timeout=60_000)
    # The git facts come once the run's writer has recorded them.
    link = page.wait_for_selector(f'{OVERVIEW} dd[data-fact="commit"] a', timeout=30_000)

    overview = page.locator(OVERVIEW)
    assert overview.evaluate("el => el.open") is True  # open by default
    # It sits above the charts.
    assert page.evaluate(
        """(sel) => {
          const ov = document.querySelector(sel);
          const chart = document.querySelector('.nbtrack-dashboard .nbtrack-chart');
          return !!chart && !!(ov.compareDocumentPosition(chart) & Node.DOCUMENT_POSITION_FOLLOWING);
        }""",
        OVERVIEW,
    )

    # The commit: short, the full sha on hover, a link to its page on GitHub.
    assert link.text_content() == sha[:7]
    assert link.get_attribute("title") == sha
    assert link.get_attribute("href") == f"https://github.com/o/r/commit/{sha}"
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert link.get_attribute("target") == "_blank"
    assert page.text_content(f'{OVERVIEW} dd[data-fact="branch"]') == "main"
    assert page.locator(f'{OVERVIEW} dd[data-fact="commit"] .nbt-ov-badge').count() == 0

    # The config as a table, flattened, in the order given.
    rows = page.eval_on_selector_all(
        f"{OVERVIEW} .nbt-ov-config tr",
        "trs => trs.map(tr => [tr.dataset.key, tr.cells[0].textContent, tr.cells[1].textContent])",
    )
    assert rows == [
        ["lr", "lr", "0.01"],
        ["opt.name", "opt.name", "adam"],
        ["opt.betas", "opt.betas", "[0.9, 0.999]"],
        ["<script>", "<script>", "x"],
    ]
    tags = page.eval_on_selector_all(f"{OVERVIEW} .nbt-tag", "ts => ts.map(t => t.textContent)")
    assert tags == ["cnn", "<i>tag</i>"]

    # The notes are text: the markup shows as written, and none of it became elements.
    assert page.text_content(f"{OVERVIEW} .nbt-ov-notes") == NOTES
    for tag in ("img", "b", "i", "script"):
        assert page.locator(f"{OVERVIEW} .nbt-ov-body {tag}").count() == 0, tag
    assert dialogs == []

    for fact in ("python", "nbtrack", "host", "started", "runtime"):
        assert page.text_content(f'{OVERVIEW} dd[data-fact="{fact}"]'), fact

    # Folded shut like any section.
    page.click(f"{OVERVIEW} > summary")
    page.wait_for_function(f"() => !document.querySelector('{OVERVIEW}').open", timeout=5_000)
    page.click(f"{OVERVIEW} > summary")
    overview.screenshot(path=str(artifacts / "overview.png"))
    assert not page.page_errors, page.page_errors

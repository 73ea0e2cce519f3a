"""The compare view (`nbtrack.compare`) in a real JupyterLab, in a real headless Chromium.

Must show 1: over a project of 12 runs, sorting by val/acc puts the best run first, a filter
expression narrows the rows, the selection decides the charts' lines, a brush dragged on the
parallel coordinates' lr axis narrows rows and lines to the runs in range, and the widget
displayed again keeps sort, selection and brush. Must show 2: a run logged by another
process while the view is open comes as a row and its curve grows, with no cell re-run.
Must show 4: odd values (NaN, inf, strings among numbers, a 200-character name, markup in
names, tags, notes and config keys) stay text, and a bad filter says what is wrong, in the
page and as the ValueError of `nbtrack.compare(filter=...)`.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import nbtrack
from nbtrack._filter import FilterError
from tests.browser.helpers import open_notebook, run_all_cells
from tests.browser.servers import JupyterServer
from tests.compare_project import make_project
from tests.helpers import child_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """The test's own store (the lab is shared)."""
    return tmp_path / "store"


METRICS = ("train/loss", "val/acc")
# The Bokeh figure of a chart card (an element), found among the page's Bokeh root views:
# how many lines its multi_line draws, and the last x of each.
FIGURE_JS = """(card) => {
  const v = [...(window.Bokeh?.index?.roots ?? [])].find(
    (v) => v.model.type === 'Figure' && v.el.isConnected && card.contains(v.el));
  if (!v) return null;
  const xs = v.model.renderers.find((r) => r.glyph.type === 'MultiLine').data_source.data.xs;
  return { lines: xs.length, last: xs.map((x) => (x.length ? x[x.length - 1] : null)) };
}"""


def cell(page: Any, i: int) -> Any:
    """The notebook's cell `i` (a locator)."""
    return page.locator(".jp-Notebook .jp-Cell").nth(i)


def run_cell(page: Any, i: int) -> None:
    """Run cell `i` of the open notebook; returns at once."""
    page.evaluate(
        """(i) => {
          const panel = window.jupyterapp.shell.currentWidget;
          panel.content.activeCellIndex = i;
          window.jupyterapp.commands.execute('notebook:run-cell');
        }""",
        i,
    )


def cell_outputs(page: Any, i: int) -> list[dict[str, Any]]:
    """The outputs of cell `i` as the notebook stores them (nbformat JSON)."""
    return list(
        page.evaluate(
            """(i) => {
              const outs = window.jupyterapp.shell.currentWidget.content.widgets[i].model.outputs;
              return Array.from({ length: outs.length }, (_, k) => outs.get(k).toJSON());
            }""",
            i,
        )
    )


def view_in(page: Any, i: int, *, timeout: float = 60_000) -> Any:
    """The compare view shown in the output of cell `i`, once its table has rows."""
    view = cell(page, i).locator(".nbtrack-compare")
    view.locator("table.nbt-runs-table tr[data-run-id]").first.wait_for(timeout=timeout)
    return view


def wait_attr(view: Any, sel: str, timeout: float = 30_000) -> None:
    """Wait until the view holds an element matching `sel` (attribute values included)."""
    view.locator(sel).first.wait_for(state="attached", timeout=timeout)


def visible_ids(view: Any) -> list[str]:
    """The run ids of the rows shown, top to bottom."""
    return list(
        view.evaluate(
            "(el) => [...el.querySelectorAll('tr[data-run-id]:not([hidden])')]"
            ".map((r) => r.dataset.runId)"
        )
    )


def selected_ids(view: Any) -> set[str]:
    return set(
        view.evaluate(
            """(el) => [...el.querySelectorAll('tr[data-run-id][data-selected="true"]')]
              .map((r) => r.dataset.runId)"""
        )
    )


def chart_lines(view: Any) -> dict[str, str]:
    """Each chart's metric -> its data-lines."""
    return dict(
        view.evaluate(
            "(el) => [...el.querySelectorAll('.nbtrack-chart[data-metric]')]"
            ".map((c) => [c.dataset.metric, c.dataset.lines])"
        )
    )


def wait_lines(view: Any, n: int, timeout: float = 30_000) -> None:
    """Wait until every chart (of METRICS, there being no other) draws `n` lines. Each is
    scrolled to first: a chart far off screen is built, and drawn, once it comes near."""
    for key in METRICS:
        view.locator(f'.nbtrack-chart[data-metric="{key}"]').scroll_into_view_if_needed()
        wait_attr(view, f'.nbtrack-chart[data-metric="{key}"][data-lines="{n}"]', timeout)
    assert set(chart_lines(view)) == set(METRICS)


def axis_ticks(axis: Any) -> dict[str, float]:
    """The tick labels of a parallel-coordinates axis -> their centre's y in the viewport."""
    return dict(
        axis.evaluate(
            """(el) => [...el.querySelectorAll('.nbt-pc-tick')].map((t) => {
              const r = t.getBoundingClientRect();
              return [t.textContent, r.top + r.height / 2];
            })"""
        )
    )


def records(store: Path, project: str) -> dict[str, Any]:
    """The project's stored runs by name."""
    with nbtrack.Api(store) as api:
        return {r.name: r for r in api.runs(project)}


# -- Must show 1 --------------------------------------------------------------------------------


def test_sort_filter_select_brush_and_the_state_outlives_the_view(
    lab: JupyterServer, page: Any, artifacts: Path, store_path: Path
) -> None:
    store = str(store_path)
    nb = lab.write_notebook(
        "compare.ipynb",
        [
            "from pathlib import Path\n"
            "from tests.compare_project import make_project\n"
            f"best = make_project(Path({store!r}), 'sweep')\n"
            "print(f'best={best}')",
            f"import nbtrack\nw = nbtrack.compare('sweep', dir={store!r})\nw",
            "w",
            "import json\nprint('state=' + json.dumps(w.compare_state, sort_keys=True))",
        ],
    )
    open_notebook(page, lab, nb)
    run_cell(page, 0)
    out = cell(page, 0).locator(".jp-OutputArea")
    out.get_by_text("best=").wait_for(timeout=60_000)
    best = out.inner_text().strip().split("best=")[1].split()[0]
    runs = records(store_path, "sweep")
    assert len(runs) == 12 and best in {r.id for r in runs.values()}
    by_id = {r.id: r for r in runs.values()}

    run_cell(page, 1)
    view = view_in(page, 1)
    table = view.locator("table.nbt-runs-table")
    wait_attr(view, 'table.nbt-runs-table[data-visible-rows="12"]')
    wait_lines(view, 12)

    # Sort by val/acc: the first click sorts descending, the best run first.
    view.locator('th[data-column="summary:val/acc"]').click()
    wait_attr(view, 'th[data-column="summary:val/acc"][data-sort="desc"]')
    shown = visible_ids(view)
    assert shown[0] == best
    accs = [by_id[i].summary["val/acc"] for i in shown]
    assert accs == sorted(accs, reverse=True)

    # A filter expression narrows the rows to those it keeps.
    view.locator("input.nbt-filter").fill('config.lr < 0.001 and config.optimizer == "adam"')
    kept = {
        r.id for r in runs.values() if r.config["lr"] < 0.001 and r.config["optimizer"] == "adam"
    }
    assert 0 < len(kept) < 12
    wait_attr(view, f'table.nbt-runs-table[data-visible-rows="{len(kept)}"]')
    assert set(visible_ids(view)) == kept
    assert view.locator(".nbt-filter-error").inner_text().strip() == ""
    wait_lines(view, len(kept))
    view.locator("input.nbt-filter").fill("")
    wait_attr(view, 'table.nbt-runs-table[data-visible-rows="12"]')
    wait_lines(view, 12)

    # Unselect all, select three: every chart draws those three.
    view.locator("input.nbt-select-all").uncheck()
    wait_lines(view, 0)
    assert selected_ids(view) == set()
    # Two inside the lr range brushed below (1e-3, 3e-4) and one outside it (0.1).
    three = [runs["run-04"].id, runs["run-03"].id, runs["run-08"].id]
    for run_id in three:
        view.locator(f'tr[data-run-id="{run_id}"] td.nbt-pick input').check()
    wait_lines(view, 3)
    assert selected_ids(view) == set(three)

    # Brush lr on the parallel coordinates: a drag from just above the 0.01 tick to just
    # below the 1e-4 one (a log axis), so the runs with 1e-4 <= lr <= 1e-2 are in range; the
    # nearest others (3e-5, 3e-2) are half a decade away.
    axis = view.locator('.nbt-pc-axis[data-axis="config:lr"]')
    axis.scroll_into_view_if_needed()
    ticks = axis_ticks(axis)
    assert {"1e-4", "0.01"} <= set(ticks), ticks
    box = axis.bounding_box()
    x = box["x"] + box["width"] / 2
    page.mouse.move(x, ticks["0.01"] - 4)
    page.mouse.down()
    # In many small moves, as a hand drags: the rows the brush hides are above the plot, and
    # the brush must still be where the pointer went (the table holds its height meanwhile).
    page.mouse.move(x, ticks["1e-4"] + 4, steps=12)
    page.mouse.up()
    in_range = {r.id for r in runs.values() if 1e-4 <= r.config["lr"] <= 1e-2}
    assert len(in_range) == 6
    wait_attr(view, f'table.nbt-runs-table[data-visible-rows="{len(in_range)}"]')
    assert set(visible_ids(view)) == in_range
    assert visible_ids(view)[0] == best  # still sorted
    wait_lines(view, len(in_range & set(three)))
    assert view.locator(".nbt-pc").get_attribute("data-shown") == str(len(in_range))
    assert table.get_attribute("data-visible-rows") == str(len(in_range))
    view.screenshot(path=str(artifacts / "compare_lab.png"))

    # The same widget displayed again: a new view with the same sort, selection and brush.
    run_cell(page, 2)
    again = view_in(page, 2)
    wait_attr(again, f'table.nbt-runs-table[data-visible-rows="{len(in_range)}"]')
    wait_attr(again, 'th[data-column="summary:val/acc"][data-sort="desc"]')
    assert visible_ids(again)[0] == best
    assert set(visible_ids(again)) == in_range
    assert selected_ids(again) == set(three)
    wait_lines(again, len(in_range & set(three)))
    wait_attr(again, f'.nbt-pc[data-shown="{len(in_range)}"]')
    brush = again.locator('.nbt-pc-axis[data-axis="config:lr"] .nbt-pc-brush').first
    assert brush.is_visible()

    # What the page saved is in the widget's compare_state, in the kernel.
    run_cell(page, 3)
    cell(page, 3).locator(".jp-OutputArea").get_by_text("state=").wait_for(timeout=30_000)
    text = cell(page, 3).locator(".jp-OutputArea").inner_text().strip()
    state = json.loads(text.split("state=", 1)[1])
    assert state["table"]["sort"] == {"column": "summary:val/acc", "desc": True}
    assert sorted(state["table"]["selection"]) == sorted(three)
    assert state["table"]["filter"] == ""
    lr_brush = state["pc"]["brushes"]["config:lr"]
    lo, hi = lr_brush["range"]
    assert {r.id for r in runs.values() if lo <= r.config["lr"] <= hi} == in_range
    assert lr_brush["missing"] is False
    assert not page.page_errors, page.page_errors


# -- Must show 2 --------------------------------------------------------------------------------

LIVE_STEPS = 40
CHILD = """\
import sys, time
import nbtrack
run = nbtrack.init(project="sweep", dir=sys.argv[1], name="live-run", display=False,
                   config={{"lr": 2e-3, "batch_size": 16, "optimizer": "adam", "dropout": 0.1}})
for s in range({steps}):
    run.log({{"train/loss": 1.0 / (s + 1), "val/acc": 0.5 + s / 100}}, step=s)
    time.sleep(0.25)
run.finish(quiet=True)
"""


@pytest.fixture
def child() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; killed at its end if still running."""
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.communicate(timeout=30)  # and its pipe closed


def test_a_run_logged_by_another_process_comes_live(
    lab: JupyterServer, page: Any, child: list[subprocess.Popen[bytes]], store_path: Path
) -> None:
    make_project(store_path, "sweep", n=6)
    nb = lab.write_notebook(
        "live.ipynb", [f"import nbtrack\nw = nbtrack.compare('sweep', dir={str(store_path)!r})\nw"]
    )
    open_notebook(page, lab, nb)
    run_all_cells(page)
    view = view_in(page, 0)
    wait_attr(view, 'table.nbt-runs-table[data-visible-rows="6"]')
    wait_lines(view, 6)

    child.append(
        subprocess.Popen(
            [sys.executable, "-c", CHILD.format(steps=LIVE_STEPS), str(store_path)],
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    )
    # Its row comes, running, and every chart draws one more line.
    find = """(el) => [...el.querySelectorAll('tr[data-run-id]')].find(
      (r) => r.querySelector('td[data-column="name"]')?.textContent === 'live-run')?.dataset.runId"""
    view.locator('tr[data-run-id] td[data-column="name"]', has_text="live-run").wait_for(
        timeout=60_000
    )
    run_id = view.evaluate(find)
    row = view.locator(f'tr[data-run-id="{run_id}"]')
    wait_lines(view, 7)
    wait_attr(view, 'table.nbt-runs-table[data-visible-rows="7"]')

    # Its curve alone (searched for): it grows while the row still says running.
    view.locator("input.nbt-search").fill("live-run")
    wait_attr(view, 'table.nbt-runs-table[data-visible-rows="1"]')
    train = view.locator('.nbtrack-chart[data-metric="train/loss"]')
    wait_lines(view, 1)
    page.wait_for_function(
        f"(card) => ({FIGURE_JS})(card)?.lines === 1", arg=train.element_handle(), timeout=30_000
    )
    first = train.evaluate(FIGURE_JS)["last"][0]
    assert row.get_attribute("data-state") == "running", "the run ended before it was seen"
    assert first < LIVE_STEPS - 1
    page.wait_for_function(
        f"""([card, row, first]) => ({FIGURE_JS})(card)?.last[0] > first &&
              row.dataset.state === 'running'""",
        arg=[train.element_handle(), row.element_handle(), first],
        timeout=30_000,
    )
    # It finishes: the row says so, and the curve holds every step.
    wait_attr(view, f'tr[data-run-id="{run_id}"][data-state="finished"]', timeout=60_000)
    page.wait_for_function(
        f"(card) => ({FIGURE_JS})(card)?.last[0] === {LIVE_STEPS - 1}",
        arg=train.element_handle(),
        timeout=30_000,
    )
    out, _ = child[0].communicate(timeout=30)
    assert child[0].returncode == 0, out.decode()
    view.locator("input.nbt-search").fill("")
    wait_attr(view, 'table.nbt-runs-table[data-visible-rows="7"]')
    wait_lines(view, 7)
    assert records(store_path, "sweep")["live-run"].id == run_id
    assert not page.page_errors, page.page_errors


# -- Must show 4 --------------------------------------------------------------------------------

XSS = '<img src=x onerror="window.__pwned=1">'
LONG = "long-" + "n" * 190 + "-end"


def odd_project(store: Path) -> dict[str, str]:
    """Four runs of "odd" with awkward values; their names -> ids."""
    specs: list[tuple[str, dict[str, Any], list[str], str]] = [
        (LONG, {"lr": math.nan, "batch_size": 32, "optimizer": "adam"}, ["cnn"], ""),
        (XSS, {"lr": math.inf, "batch_size": "large", XSS: 1}, [XSS], f"{XSS}<b>bold</b>"),
        ("plain", {"lr": 0.01, "batch_size": 64, "optimizer": "sgd"}, ["mlp"], "ok"),
        ("negative", {"lr": -math.inf, "batch_size": 128, "optimizer": XSS}, [], ""),
    ]
    ids = {}
    for name, config, tags, notes in specs:
        run = nbtrack.init(project="odd", dir=store, name=name, config=config, tags=tags,
                           notes=notes, display=False)  # fmt: skip
        for s in range(10):
            run.log({"train/loss": 1.0 / (s + 1), "val/acc": math.nan if s == 9 else s / 10})
        run.finish(quiet=True)
        ids[name] = run.id
    return ids


def test_odd_values_stay_text_and_a_bad_filter_says_why(
    lab: JupyterServer, page: Any, artifacts: Path, store_path: Path
) -> None:
    ids = odd_project(store_path)
    store = str(store_path)
    nb = lab.write_notebook(
        "odd.ipynb",
        [
            f"import nbtrack\nw = nbtrack.compare('odd', dir={store!r})\nw",
            f"nbtrack.compare('odd', dir={store!r}, filter='config.lr <')",
        ],
    )
    open_notebook(page, lab, nb)
    run_all_cells(page)
    view = view_in(page, 0)
    wait_attr(view, 'table.nbt-runs-table[data-visible-rows="4"]')
    wait_lines(view, 4)
    wait_attr(view, '.nbt-pc[data-lines="4"]')

    # Nothing became markup: no element of the names, tags, notes or keys, no script ran.
    assert view.locator("img").count() == 0
    assert view.locator("b").count() == 0
    assert page.evaluate("() => window.__pwned") is None
    name_of = (
        """(el, id) => el.querySelector(`tr[data-run-id="${id}"] a.nbt-run-name`).textContent"""
    )
    assert view.evaluate(name_of, ids[XSS]) == XSS
    assert view.evaluate(name_of, ids[LONG]) == LONG
    cell_of = """(el, [id, col]) => el.querySelector(
      `tr[data-run-id="${id}"] td[data-column="${col}"]`).textContent"""
    assert view.evaluate(cell_of, [ids[XSS], "tags"]) == XSS
    assert view.evaluate(cell_of, [ids[XSS], "notes"]) == f"{XSS}<b>bold</b>"
    headers = view.evaluate(
        "(el) => [...el.querySelectorAll('th[data-column]')].map((t) => [t.dataset.column, t.textContent])"
    )
    assert [f"config:{XSS}", f"config:{XSS}"] in headers
    axes = view.evaluate(
        "(el) => [...el.querySelectorAll('.nbt-pc-axis')].map((a) => [a.dataset.axis,"
        " a.querySelector('.nbt-pc-label').textContent])"
    )
    assert [f"config:{XSS}", f"config:{XSS}"] in axes
    # The odd values are shown as text too: NaN and the infinities, a string among numbers.
    lr = {n: view.evaluate(cell_of, [i, "config:lr"]) for n, i in ids.items()}
    assert lr["plain"] == "0.01"
    assert (
        "nan" in lr[LONG].lower() and "inf" in lr[XSS].lower() and "inf" in lr["negative"].lower()
    )
    assert lr["negative"].startswith(("-", "−"))
    assert view.evaluate(cell_of, [ids[XSS], "config:batch_size"]) == "large"
    # The optimizer in the markup run's neighbour, on the categorical axis: a tick of text.
    ticks = view.evaluate(
        """(el) => [...el.querySelectorAll('.nbt-pc-axis[data-axis="config:optimizer"] .nbt-pc-tick')]
          .map((t) => t.textContent)"""
    )
    assert XSS in ticks
    view.screenshot(path=str(artifacts / "compare_odd.png"))

    # A bad filter: a message says what is wrong, and no row is filtered out by it.
    view.locator("input.nbt-filter").fill("config.lr <")
    error = view.locator(".nbt-filter-error")
    error.get_by_text("expected a value").wait_for(timeout=10_000)
    message = error.inner_text()
    assert "Filter not applied" in message and "'<'" in message, message
    assert view.locator("table.nbt-runs-table").get_attribute("data-visible-rows") == "4"
    assert view.locator("img").count() == 0
    assert page.evaluate("() => window.__pwned") is None

    # nbtrack.compare(filter=...) refuses it in the kernel: a ValueError naming the problem.
    page.wait_for_function(
        """() => {
          const c = window.jupyterapp.shell.currentWidget.content.widgets[1];
          return c.model.outputs.length > 0;
        }""",
        timeout=60_000,
    )
    (err,) = cell_outputs(page, 1)
    assert err["output_type"] == "error"
    assert err["ename"] == "FilterError" and issubclass(FilterError, ValueError)
    assert "bad filter at" in err["evalue"] and "expected a value after '<'" in err["evalue"]
    shown = cell(page, 1).locator(".jp-OutputArea").inner_text()
    assert "FilterError" in shown and "expected a value after '<'" in shown
    assert not page.page_errors, page.page_errors

"""Must show 1, media: a notebook that trains a small CNN shows its images, tables and plots
live in a real JupyterLab, in a real headless Chromium.

One cell trains the demo CNN (torch CPU, on `nbtrack.demo`'s made-up garments, 600 of them)
and, each epoch, logs a table of 16 validation images with their label, prediction and
score, a list of 16 captioned validation images (others each epoch) and a confusion
matrix. Its loop goes on until the test drops a stop file, so the cell is still executing
for as long as the checks take, however slow the machine. While it runs the page shows the
Media section, the table's rows with their thumbnails, the table gaining steps, the image
slider gaining positions (and moving it shows other images), a lightbox on a click, and
the confusion matrix drawn by Bokeh. Once the cell has ended, a click on a column header
sorts the table and the filter box narrows it ("n of m rows").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import cell_running, open_notebook, run_all_cells
from tests.browser.media_helpers import (
    close_lightbox,
    names,
    open_lightbox,
    panel,
    wait_images_loaded,
    wait_plot_drawn,
    wait_until,
)
from tests.browser.servers import JupyterServer

pytest.importorskip("torch")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DASH = ".nbtrack-dashboard"
TABLE = panel("val/examples", DASH)
IMAGES = panel("val/images", DASH)
CONFUSION = panel("val/confusion", DASH)
LARGE = panel("val/large", DASH)
LARGE_SIDE = 224  # over the 128 px of a thumbnail: its full size is a file of its own
MAX_EPOCHS = 40  # a bound only: the test stops the loop long before


def train_cell(stop: Path) -> str:
    # One cell, so that its prompt is the one `cell_running` reads.
    return f"""\
import os, time
import torch
import torch.nn.functional as F
import nbtrack
from nbtrack import demo

torch.manual_seed(0)
xs, ys = demo.make_data(600 + 16 * {MAX_EPOCHS + 1}, seed=0)
x_train, y_train = torch.from_numpy(xs[:600]), torch.from_numpy(ys[:600])
x_val, y_val = torch.from_numpy(xs[600:]), torch.from_numpy(ys[600:])
model = demo.FashionCNN()
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
run = nbtrack.init(project="browser", name="media-live")
epoch = 0
while not os.path.exists({str(stop)!r}) and epoch < {MAX_EPOCHS}:
    model.train()
    for i in range(0, 600, 100):
        loss = F.cross_entropy(model(x_train[i : i + 100]), y_train[i : i + 100])
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.log({{"train/loss": loss.item()}})
    model.eval()
    with torch.no_grad():
        probs = F.softmax(model(x_val), 1)
    score, pred = probs.max(1)
    table = nbtrack.Table(columns=["image", "label", "prediction", "score"])
    for k in range(16):
        table.add_data(nbtrack.Image(x_val[k]), demo.CLASSES[y_val[k]],
                       demo.CLASSES[pred[k]], round(float(score[k]), 4))
    shown = range(16 * (epoch + 1), 16 * (epoch + 2))  # other images each epoch
    run.log({{
        "val/acc": float((pred == y_val).float().mean()),
        "val/examples": table,
        "val/images": [nbtrack.Image(x_val[k], caption=demo.CLASSES[pred[k]]) for k in shown],
        "val/confusion": nbtrack.plot.confusion_matrix(
            y_true=y_val.tolist(), preds=pred.tolist(), class_names=list(demo.CLASSES)),
        "val/large": nbtrack.Image(
            torch.kron(x_val[0, 0], torch.ones(8, 8)), caption="x8"),
    }})
    epoch += 1
    time.sleep(1.0)
run.finish()
"""


def options(page: Any) -> list[str]:
    """The table's step select, as shown: the newest step first."""
    sel = page.locator(f"{TABLE} select.nbt-media-step-select option")
    return [sel.nth(i).text_content() or "" for i in range(sel.count())]


def step_of(text: str) -> int:
    """The step an option or a step label names (``step 12``)."""
    word, n = text.split()
    assert word == "step", text
    return int(n)


def slider(page: Any) -> tuple[int, int]:
    """The image slider's (value, max)."""
    s = page.locator(f"{IMAGES} input.nbt-media-slider")
    return int(s.input_value() or 0), int(s.get_attribute("max") or 0)


def cell_texts(page: Any, column: int) -> list[str]:
    cells = page.locator(f"{TABLE} .nbt-media-table tbody tr td:nth-child({column + 1})")
    return [cells.nth(i).text_content() or "" for i in range(cells.count())]


def count_text(page: Any) -> str:
    return (page.text_content(f"{TABLE} .nbt-media-count") or "").strip()


def test_media_live_in_jupyterlab(
    lab: JupyterServer, page: Any, tmp_path: Path, artifacts: Path
) -> None:
    stop = tmp_path / "stop-training"
    nb = lab.write_notebook("media.ipynb", [train_cell(stop)])
    try:
        open_notebook(page, lab, nb)
        run_all_cells(page)

        # The Media section shows once the first epoch is logged: a panel a key, in order.
        page.wait_for_selector(f"{DASH} .nbt-media:not([hidden])", timeout=120_000)
        wait_until(
            "four media panels", lambda: page.locator(f"{DASH} .nbt-media-panel").count() == 4
        )
        keys = page.locator(f"{DASH} .nbt-media-panel")
        assert [keys.nth(i).get_attribute("data-key") for i in range(4)] == [
            "val/examples", "val/images", "val/confusion", "val/large"
        ]  # fmt: skip
        assert page.get_attribute(TABLE, "data-kind") == "table"
        assert page.get_attribute(IMAGES, "data-kind") == "image"

        # The table: 16 rows, each with its thumbnail loaded.
        rows = f"{TABLE} .nbt-media-table tbody tr"
        wait_until("16 table rows", lambda: page.locator(rows).count() == 16)
        assert wait_images_loaded(page, f"{rows} img", at_least=16) == 16
        heads = page.locator(f"{TABLE} .nbt-media-table thead th")
        assert [heads.nth(i).text_content() for i in range(4)] == [
            "image", "label", "prediction", "score"
        ]  # fmt: skip

        # It grows: the step select gains steps, the newest first and shown.
        wait_until("two table steps", lambda: len(options(page)) >= 2)
        first = options(page)
        wait_until("a third table step", lambda: len(options(page)) > len(first))
        newest = options(page)
        assert step_of(newest[0]) > step_of(first[0]), (first, newest)
        sel = page.locator(f"{TABLE} select.nbt-media-step-select")
        assert sel.evaluate("(s) => s.selectedIndex") == 0, "the newest step is not shown"
        assert cell_running(page), "the table was checked after the cell had ended"

        # The images: 16 captioned thumbnails; the slider gains positions and sits at the newest.
        items = f"{IMAGES} .nbt-media-grid .nbt-media-item"
        wait_until("16 images", lambda: page.locator(items).count() == 16)
        wait_images_loaded(page, f"{items} img", at_least=16)
        assert page.locator(f"{items} .nbt-media-caption").first.text_content()
        wait_until("two slider positions", lambda: slider(page)[1] >= 1)
        value, top = slider(page)
        wait_until("the slider to gain a position", lambda: slider(page)[1] > top)
        value, top = slider(page)
        assert value == top, "a new entry did not move the slider that sat at the newest"
        newest_names = names(page, f"{items} img")
        newest_step = page.text_content(f"{IMAGES} .nbt-media-step")

        # Moved to the first position: other images, another step.
        page.locator(f"{IMAGES} input.nbt-media-slider").fill("0")
        wait_until("the slider at 0", lambda: slider(page)[0] == 0)
        wait_until(
            "other images shown", lambda: set(names(page, f"{items} img")) - set(newest_names)
        )
        assert page.text_content(f"{IMAGES} .nbt-media-step") != newest_step
        wait_images_loaded(page, f"{items} img", at_least=16)
        # A new entry does not move a slider that is not at the newest.
        wait_until("another slider position", lambda: slider(page)[1] > top)
        assert slider(page)[0] == 0

        # A click opens the lightbox with that image; Escape closes it.
        box = open_lightbox(page, items)
        wait_images_loaded(page, f"{box} img", at_least=1)
        assert page.locator(f"{box} img").first.get_attribute("data-name") in set(
            names(page, f"{items} img")
        )
        close_lightbox(page)

        # The confusion matrix: a Bokeh heat map.
        wait_plot_drawn(page, CONFUSION, kind="confusion_matrix")
        page.locator(f"{DASH} .nbt-media").screenshot(path=str(artifacts / "lab_media.png"))

        # A full-size file comes from the kernel, which answers only when idle: while the
        # cell runs, the lightbox shows the thumbnail enlarged and says why it waits.
        open_lightbox(page, f"{LARGE} .nbt-media-grid .nbt-media-item")
        page.wait_for_selector(".nbt-media-full-wait", timeout=30_000)
        assert "busy running a cell" in (page.text_content(".nbt-media-full-wait") or "")
        assert cell_running(page), "the checks ended after the cell did"
    finally:
        stop.touch()

    # Once the cell has ended, the kernel answers: the full image replaces the thumbnail.
    page.wait_for_function(
        f"() => [...document.querySelectorAll('.nbt-lightbox img')]"
        f".some((i) => i.complete && i.naturalWidth === {LARGE_SIDE})",
        timeout=120_000,
    )
    wait_until("the wait note to go", lambda: not page.locator(".nbt-media-full-wait").count())
    close_lightbox(page)

    # The cell ends: sort and filter the newest table.
    page.wait_for_selector(f'{DASH}[data-state="finished"]', timeout=120_000)
    wait_until("the cell to end", lambda: not cell_running(page))
    score = page.locator(f"{TABLE} .nbt-media-table thead th").nth(3)
    score.click()
    wait_until("sorted ascending", lambda: score.get_attribute("data-sort") == "asc")
    up = [float(t) for t in cell_texts(page, 3)]
    assert len(up) == 16 and up == sorted(up), up
    score.click()
    wait_until("sorted descending", lambda: score.get_attribute("data-sort") == "desc")
    down = [float(t) for t in cell_texts(page, 3)]
    assert down == sorted(up, reverse=True), down

    labels = cell_texts(page, 1)
    preds = cell_texts(page, 2)
    query = labels[0]
    want = sum(
        any(query.lower() in t.lower() for t in row)
        for row in zip(labels, preds, [str(s) for s in down], strict=True)
    )
    assert 0 < want <= 16
    assert count_text(page) == "16 of 16 rows"
    page.fill(f"{TABLE} input.nbt-media-filter", query)
    wait_until(f"{want} of 16 rows", lambda: count_text(page) == f"{want} of 16 rows")
    assert page.locator(f"{TABLE} .nbt-media-table tbody tr").count() == want
    page.fill(f"{TABLE} input.nbt-media-filter", "no such garment")
    wait_until("0 of 16 rows", lambda: count_text(page) == "0 of 16 rows")
    page.fill(f"{TABLE} input.nbt-media-filter", "")
    wait_until("16 of 16 rows again", lambda: count_text(page) == "16 of 16 rows")
    assert not page.page_errors, page.page_errors

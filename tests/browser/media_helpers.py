"""What the media browser tests share: a finished run with images (masks and boxes on one),
a table and a plot, and the ways they read and wait on the page's Media section.

Every wait polls a condition with a generous deadline; nothing sleeps and then asserts.
The checks read the page through Playwright's locators (attributes, text, screenshots) and
`locator.evaluate` on one element, which every host allows (its own Content-Security-Policy
included).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import nbtrack

# The run `media_run` logs: its keys, and the big image's size (over 128 px, so its
# thumbnail is a smaller file than the full one).
IMAGES = "samples"
TABLE = "predictions"
PLOT = "confusion"
BIG_W, BIG_H = 200, 160
MASK_SET = "segmentation"
BOX_SET = "detections"
MASK_LABELS = {0: "background", 1: "cat", 2: "dog"}
CLASSES = ["cat", "dog", "bird"]


def panel(key: str, root: str = "") -> str:
    """The selector of the Media panel of `key` (under `root`, a host's element)."""
    return f'{root} .nbt-media-panel[data-key="{key}"]'.strip()


def wait_until(what: str, test: Callable[[], Any], timeout: float = 60) -> Any:
    """Poll `test` (Python, reading the page) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = test()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} s: {what} (last: {value!r})")
        time.sleep(0.2)


def image_sizes(page: Any, sel: str) -> list[int]:
    """The natural widths of the images `sel` matches (0: not loaded, or broken)."""
    loc = page.locator(sel)
    return [int(loc.nth(i).evaluate("(img) => img.complete ? img.naturalWidth : 0"))
            for i in range(loc.count())]  # fmt: skip


def wait_images_loaded(page: Any, sel: str, *, at_least: int = 1, timeout: float = 60) -> int:
    """Wait until `sel` matches at least `at_least` images and every one has loaded (its
    naturalWidth > 0), scrolling to those that have not; how many it matches."""

    def loaded() -> int:
        sizes = image_sizes(page, sel)
        if len(sizes) >= at_least and all(sizes):
            return len(sizes)
        # Brought into view: a lazy <img> (the table's) loads only once it is near it.
        if 0 in sizes:
            page.locator(sel).nth(sizes.index(0)).scroll_into_view_if_needed()
        return 0

    try:
        return int(wait_until(f"{sel}: {at_least}+ images loaded", loaded, timeout))
    except AssertionError:
        raise AssertionError(
            f"{sel}: images not loaded after {timeout} s: {describe_images(page, sel)}"
        ) from None


def describe_images(page: Any, sel: str) -> list[Any]:
    """What the first images `sel` matches are: for a failed wait's message."""
    loc = page.locator(sel)
    return [
        loc.nth(i).evaluate(
            """async (img) => {
              let got = null;
              try {
                const b = await (await fetch(img.src)).blob();
                got = [b.size, b.type];
              } catch (e) { got = String(e); }
              return { src: img.src, name: img.dataset.name, complete: img.complete,
                       natural: img.naturalWidth, loading: img.loading, bytes: got };
            }"""
        )
        for i in range(min(2, loc.count()))
    ]


def names(page: Any, sel: str) -> list[str]:
    """The `data-name`s (media file names) of the images `sel` matches, in order."""
    loc = page.locator(sel)
    return [loc.nth(i).get_attribute("data-name") or "" for i in range(loc.count())]


def coloured(png: bytes) -> int:
    """How many pixels of a screenshot are coloured (not white, grey or black)."""
    from PIL import Image  # bokeh's own dependency

    with Image.open(io.BytesIO(png)) as img:
        px = np.asarray(img.convert("RGB"), dtype=np.int32)
    return int(((px.max(axis=2) - px.min(axis=2)) > 60).sum())


def wait_plot_drawn(page: Any, sel: str, *, kind: str, timeout: float = 60) -> None:
    """The plot panel `sel` holds a Bokeh canvas of plot `kind` that shows colour."""
    host = f"{sel} .nbt-media-plot"
    wait_until(f"{host}[data-plot={kind}]", lambda: page.get_attribute(host, "data-plot") == kind,
               timeout)  # fmt: skip
    # Scrolled to first: a page may build its plots only once they come near the view.
    page.locator(host).scroll_into_view_if_needed()
    wait_until(f"a canvas in {host}", lambda: page.locator(f"{host} canvas").count() > 0, timeout)
    wait_until(f"{host} draws in colour", lambda: coloured(page.locator(host).screenshot()) > 50,
               timeout)  # fmt: skip


def open_lightbox(page: Any, item: str) -> str:
    """Click the grid image `item`; wait until the lightbox shows; its selector."""
    page.locator(item).first.scroll_into_view_if_needed()
    page.locator(item).first.click()
    box = ".nbt-lightbox"
    wait_until("the lightbox opens", lambda: page.locator(box).first.is_visible())
    return box


def close_lightbox(page: Any) -> None:
    page.keyboard.press("Escape")
    wait_until("the lightbox closes", lambda: not page.locator(".nbt-lightbox").first.is_visible())


def big_image() -> nbtrack.Image:
    """A 200x160 RGB image with a mask of three classes and two boxes over it."""
    yy, xx = np.mgrid[0:BIG_H, 0:BIG_W]
    rgb = np.stack([xx * 255 // BIG_W, yy * 255 // BIG_H, np.full_like(xx, 90)], axis=-1)
    mask = np.zeros((BIG_H, BIG_W), dtype=np.int64)
    mask[20:90, 20:100] = 1
    mask[80:150, 110:190] = 2
    return nbtrack.Image(
        rgb.astype(np.uint8),
        caption="with masks and boxes",
        masks={MASK_SET: {"mask_data": mask, "class_labels": MASK_LABELS}},
        boxes={
            BOX_SET: {
                "box_data": [
                    {"position": {"minX": 0.1, "maxX": 0.5, "minY": 0.12, "maxY": 0.56},
                     "class_id": 1, "box_caption": "cat", "scores": {"p": 0.9}},
                    {"position": {"minX": 110, "maxX": 190, "minY": 80, "maxY": 150},
                     "domain": "pixel", "class_id": 2, "box_caption": "dog"},
                ],
                "class_labels": {1: "cat", 2: "dog"},
            }
        },
    )  # fmt: skip


def small_image(seed: int) -> nbtrack.Image:
    rng = np.random.default_rng(seed)
    return nbtrack.Image(rng.random((28, 28)), caption=f"noise {seed}")


def media_run(project: str = "media", name: str = "media-run", steps: int = 3) -> nbtrack.Run:
    """A finished run in the current store: `steps` steps of a loss, of `IMAGES` (the big
    image then three small ones), of `TABLE` (six rows, image cells) and of `PLOT` (a
    confusion matrix)."""
    run = nbtrack.init(project=project, name=name, display=False)
    assert isinstance(run, nbtrack.Run)
    rng = np.random.default_rng(0)
    for step in range(steps):
        table = nbtrack.Table(columns=["image", "label", "prediction", "score"])
        for r in range(6):
            table.add_data(
                nbtrack.Image(rng.random((28, 28))),
                CLASSES[r % 3],
                CLASSES[(r + step) % 3],
                round(float(rng.random()), 4),
            )
        y_true = rng.integers(0, 3, size=60)
        preds = np.where(rng.random(60) < 0.7, y_true, rng.integers(0, 3, size=60))
        run.log(
            {
                "train/loss": 1.0 / (step + 1),
                IMAGES: [big_image(), *(small_image(step * 10 + k) for k in range(3))],
                TABLE: table,
                PLOT: nbtrack.plot.confusion_matrix(
                    y_true=y_true.tolist(), preds=preds.tolist(), class_names=CLASSES
                ),
            }
        )
    run.finish(quiet=True)
    return run

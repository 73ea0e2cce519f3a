"""nbtrack's half of ``bench/compare.py``: the compare view of a stored project in JupyterLab,
in headless Chromium.

The notebook's first cell imports nbtrack (a user has done so before comparing); the timed
cell is ``nbtrack.compare(project, dir=...)``. From the moment the page asks the kernel to run
it, the page itself watches (every animation frame) for:

- ``first_chart``: the chart of `metric` holds a line per run and has its canvas (what the
  peers' figure measures: their overlaid chart of one metric);
- ``all``: the runs table has a row per run, every chart on screen a line per run with its
  canvas (charts further down are built as they come near, as in the run dashboard), and the
  parallel coordinates a line per run.

Bytes are what the kernel's websocket brought the page meanwhile (BokehJS included). Then a
brush is dragged along the `config:lr` axis in 30 pointer moves, and every animation frame's
interval during the drag is recorded: at 60 Hz a frame that does its work in time is ~16.7 ms.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from bench._browser import chromium, jupyterlab, open_notebook

WATCH = """([runs, metric, metrics]) => {
  const t0 = performance.now();
  const probe = { t0, first: null, all: null, onScreen: 0 };
  window.__nbcmp = probe;
  const lines = (m) => {
    const c = document.querySelector(`.nbtrack-compare .nbtrack-chart[data-metric="${m}"]`);
    // Bokeh's view (its canvas is in a shadow root) is in the chart once it is shown.
    return c && c.querySelector('.nbt-plot > *') ? Number(c.dataset.lines) : -1;
  };
  const tick = () => {
    if (window.__nbcmp !== probe) return;
    const now = performance.now();
    if (probe.first === null && lines(metric) === runs) probe.first = now - t0;
    const table = document.querySelector('.nbtrack-compare table.nbt-runs-table');
    const pc = document.querySelector('.nbtrack-compare .nbt-pc');
    // The charts on screen (those below are built as they come near, as in the dashboard).
    // On screen: inside the window and the notebook's scrolling panel around the view.
    const view = document.querySelector('.nbtrack-compare');
    let bottom = window.innerHeight, top = 0;
    for (let e = view && view.parentElement; e; e = e.parentElement) {
      const o = getComputedStyle(e).overflowY;
      if (o === 'auto' || o === 'scroll') {
        const r = e.getBoundingClientRect();
        bottom = Math.min(bottom, r.bottom);
        top = Math.max(top, r.top);
      }
    }
    const onScreen = metrics.filter((m) => {
      const c = document.querySelector(`.nbtrack-compare .nbtrack-chart[data-metric="${m}"]`);
      const r = c && c.getBoundingClientRect();
      return r && r.top < bottom && r.bottom > top;
    });
    probe.onScreen = onScreen.length;
    if (probe.first !== null && table && Number(table.dataset.visibleRows) === runs
        && pc && Number(pc.dataset.lines) === runs && onScreen.every((m) => lines(m) === runs)) {
      // Drawn once the frame after the last change has been painted.
      requestAnimationFrame(() => { probe.all = performance.now() - t0; });
      return;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  const panel = window.jupyterapp.shell.currentWidget;
  panel.content.activeCellIndex = 1;
  window.jupyterapp.commands.execute('notebook:run-cell');
  return true;
}"""

FRAMES = """() => {
  const rec = { intervals: [], last: null, on: true };
  window.__nbframes = rec;
  const f = (t) => {
    if (!rec.on) return;
    if (rec.last !== null) rec.intervals.push(t - rec.last);
    rec.last = t;
    requestAnimationFrame(f);
  };
  requestAnimationFrame(f);
  return true;
}"""


def _notebook(root: Path, store: Path, project: str) -> Path:
    cells = [
        "import nbtrack\nimport nbtrack.widget._compare  # imported before the timed cell",
        f"nbtrack.compare({project!r}, dir={str(store)!r})",
    ]
    nb = {
        "cells": [
            {"cell_type": "code", "metadata": {}, "source": c, "outputs": [],
             "execution_count": None}
            for c in cells
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }  # fmt: skip
    path = root / "compare-bench.ipynb"
    path.write_text(json.dumps(nb))
    return path


def _brush(page: Any) -> dict[str, Any]:
    axis = page.locator('.nbtrack-compare .nbt-pc-axis[data-axis="config:lr"]')
    axis.scroll_into_view_if_needed()
    box = axis.bounding_box()
    x = box["x"] + box["width"] / 2
    page.evaluate(FRAMES)
    page.wait_for_timeout(300)
    page.mouse.move(x, box["y"] + box["height"] * 0.3)
    page.mouse.down()
    for i in range(1, 31):
        page.mouse.move(x, box["y"] + box["height"] * (0.3 + 0.4 * i / 30))
        page.wait_for_timeout(16)
    page.mouse.up()
    page.wait_for_timeout(300)
    got: list[float] = page.evaluate(
        "() => { window.__nbframes.on = false; return window.__nbframes.intervals; }"
    )
    got.sort()
    return {
        "frames": len(got),
        "p50_ms": round(statistics.median(got), 1) if got else None,
        "p95_ms": round(got[int(0.95 * (len(got) - 1))], 1) if got else None,
        "max_ms": round(got[-1], 1) if got else None,
        "over_17ms": sum(1 for g in got if g > 17.0),
    }


def measure_nbtrack(
    store: Path,
    project: str,
    runs: int,
    metrics: list[str],
    metric: str,
    repeat: int,
    tmp: Path,
    browser: Any = None,
) -> dict[str, Any]:
    """The compare view's figures over `repeat` executions of the cell in one kernel (the
    first in a fresh kernel); `browser` is Chromium through Playwright, else one of its own."""
    if browser is None:
        with chromium() as own:
            return measure_nbtrack(store, project, runs, metrics, metric, repeat, tmp, own)
    out: dict[str, Any] = {"runs": []}
    tmp.mkdir(parents=True, exist_ok=True)
    with jupyterlab(tmp) as lab:
        nb = _notebook(lab.root, store, project)
        context = browser.new_context(viewport={"width": 1500, "height": 1400})
        page = context.new_page()
        received = {"bytes": 0, "on": False}

        def on_ws(ws: Any) -> None:
            if "/api/kernels/" not in ws.url:
                return

            def on_frame(payload: str | bytes) -> None:
                if received["on"]:
                    received["bytes"] += len(
                        payload.encode() if isinstance(payload, str) else payload
                    )

            ws.on("framereceived", on_frame)

        page.on("websocket", on_ws)
        open_notebook(page, lab, nb)
        page.evaluate(
            "() => { const p = window.jupyterapp.shell.currentWidget; "
            "p.content.activeCellIndex = 0; window.jupyterapp.commands.execute('notebook:run-cell'); }"
        )
        page.wait_for_function(
            "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
            " === 'idle' && window.jupyterapp.shell.currentWidget.content.widgets[0]"
            ".model.executionCount !== null",
            timeout=120_000,
        )
        for _ in range(repeat):
            received["bytes"] = 0
            received["on"] = True
            start = time.monotonic()
            page.evaluate(WATCH, [runs, metric, metrics])
            page.wait_for_function("() => window.__nbcmp.all !== null", timeout=180_000)
            probe = page.evaluate("() => window.__nbcmp")
            received["on"] = False
            # Bytes still arriving after "all" (late curve messages) count too: wait a moment.
            out["runs"].append(
                {
                    "first_chart_s": round(probe["first"] / 1000, 3),
                    "all_s": round(probe["all"] / 1000, 3),
                    "charts_on_screen": probe["onScreen"],
                    "bytes": received["bytes"],
                    "wall_s": round(time.monotonic() - start, 3),
                }
            )
        out["brush"] = _brush(page)
        context.close()
    firsts = [r["first_chart_s"] for r in out["runs"]]
    alls = [r["all_s"] for r in out["runs"]]
    out["first_chart_s"] = statistics.median(firsts)
    out["all_s"] = statistics.median(alls)
    out["bytes"] = statistics.median(r["bytes"] for r in out["runs"])
    return out


if __name__ == "__main__":
    import sys
    import tempfile

    store, project = Path(sys.argv[1]), sys.argv[2]
    from nbtrack.api import Api

    with Api(store) as api:
        recs = api.runs(project)
        keys = recs[0].keys()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(measure_nbtrack(store, project, len(recs), keys, keys[0], 2, Path(tmp)),
                         indent=1))  # fmt: skip

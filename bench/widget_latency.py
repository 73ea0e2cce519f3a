"""The live dashboard's figures (issue 3, "Targets"), in JupyterLab 4 in headless Chromium.

    .venv/bin/python bench/widget_latency.py            # everything, about 5 minutes
    .venv/bin/python bench/widget_latency.py --quick    # shorter streams, to try it out
    .venv/bin/python bench/widget_latency.py --no-docs  # print only

1. latency: a cell logs 3 keys at 1 kHz for 20 s; the kernel keeps `time.time()` of each
   `log()`, the page keeps (`performance.timeOrigin + performance.now()`, data-points) of the
   chart each time it grows, and (time, points) after each redraw of the chart's Bokeh data.
   Same machine, same clock (the offset between the two is measured and taken off).
2. bytes per point: the widget's custom messages counted in the kernel (`Dashboard.send`
   wrapped in the benchmark's cell) and the kernel websocket's frames counted in the page.
3. pan: a cell logs 1,000,000 steps; once the chart holds them, Playwright's mouse drags the
   chart for 3 s while the page records the time between animation frames.
4. livelossplot, fed the same stream (update and send once per 100 steps), in a kernel of
   bench/.venv (`bash bench/setup.sh`), executed by nbclient: time per update, output bytes.
5. a notebook with three runs of 10,000 steps, executed by nbclient and saved, with and
   without dashboards (`display=False`).

JupyterLab, its kernels and Chromium all run on 127.0.0.1 and are stopped by the script.
Results go to docs/benchmarks.md (section "Live dashboard") and bench/results/.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _browser import (  # noqa: E402  # bench/ is put on the path just above
    JupyterServer,
    chromium,
    jupyterlab,
    open_notebook,
    run_all,
    shutdown_kernels,
)
from _common import (  # noqa: E402
    REPO,
    command_line,
    fmt,
    loadavg,
    machine_lines,
    md_table,
    percentile,
    write_docs_section,
)

BENCH_PY = REPO / "bench" / ".venv" / "bin" / "python"
RESULTS = REPO / "bench" / "results"
KEY = "loss"
PAN_KEY = "pan/loss"

TARGET_P95_MS = 250.0
TARGET_BYTES = 20.0
TARGET_FRAME_MS = 30.0

# The same stream for nbtrack and livelossplot: three keys a step, paced to `hz` against
# absolute deadlines (a late step is followed by catch-up steps, as a data loader would).
STREAM = """\
import json, math, random, time
def values(i, rnd):
    loss = 2.0 * math.exp(-i / 5000) + 0.1 + 0.05 * rnd.random()
    return {"loss": loss, "acc": 1.0 - loss / 2.5, "grad_norm": 1.0 + rnd.random()}
def pace(t0, i, hz):
    d = t0 + i / hz - time.perf_counter()
    if d > 0:
        time.sleep(d)
"""

# The kernel side of 1 and 2: every custom message the dashboard sends is counted (its JSON
# and its buffers), with the time, before it goes to the IO thread.
COUNT_SENDS = """\
from nbtrack.widget._dashboard import Dashboard
SENT = []
_send = Dashboard.send
_seen = [0]
def _counting_send(self, content, buffers=None):
    t = time.time()
    if content.get("type") == "points":
        _seen[0] += sum(e["n"] for e in content["series"] if e["key"] == "loss")
    SENT.append((t, content.get("type"), len(json.dumps(content)), sum(len(b) for b in buffers or ()), _seen[0]))
    return _send(self, content, buffers)
Dashboard.send = _counting_send
"""

LATENCY_CELL = """\
import nbtrack
N, HZ = {n}, {hz}
rnd = random.Random(0)
rows = [values(i, rnd) for i in range(N)]
run = nbtrack.init(project="bench", name="latency")
log_times = [0.0] * N
t0 = time.perf_counter()
for i in range(N):
    pace(t0, i, HZ)
    log_times[i] = time.time()
    run.log(rows[i])
loop_s = time.perf_counter() - t0
run.finish()
with open("latency.json", "w") as f:
    json.dump({{"log_times": log_times, "sent": SENT, "loop_s": loop_s}}, f)
"""

PAN_CELL = """\
import json, math, random, time, nbtrack
N = {n}
rnd = random.Random(1)
vals = [math.exp(-i / (N / 5)) + 0.05 * rnd.random() for i in range(N)]
vals[N // 2] = 3.0  # one spike: the per-pixel reduction must keep it
run = nbtrack.init(project="bench", name="pan")
t0 = time.perf_counter()
for v in vals:
    run.log({{"pan/loss": v}})
loop_s = time.perf_counter() - t0
run.finish()
with open("pan.json", "w") as f:
    json.dump({{"loop_s": loop_s}}, f)
"""

LIVELOSSPLOT_CELL = """\
from livelossplot import PlotLosses
N, HZ, EVERY = {n}, {hz}, {every}
rnd = random.Random(0)
rows = [values(i, rnd) for i in range(N)]
plot = PlotLosses()
updates = []
t0 = time.perf_counter()
for i in range(N):
    pace(t0, i, HZ)
    if i % EVERY == EVERY - 1:
        t = time.perf_counter()
        plot.update(rows[i])
        plot.send()
        updates.append(time.perf_counter() - t)
loop_s = time.perf_counter() - t0
with open("livelossplot.json", "w") as f:
    json.dump({{"updates": updates, "loop_s": loop_s}}, f)
"""

SIZE_CELL = """\
import random, nbtrack
rnd = random.Random({k})
run = nbtrack.init(project="size", name="run-{k}"{display})
for i in range({n}):
    run.log(values(i, rnd))
run.finish()
"""

# Installed in the page once the notebook is open, before its cells run: a MutationObserver
# (and every animation frame, as a backstop) notes each change of the chart's data-points
# with the time; the chart's draw() (which hands Bokeh the reduced points) is wrapped to note
# the time and point count of each redraw; every animation frame's time is kept.
PAGE_PROBE = """\
(sel) => {
  const B = window.__nbbench = { arrivals: [], draws: [], paints: [], frames: [], last: -1 };
  const now = () => performance.timeOrigin + performance.now();
  const check = () => {
    const el = document.querySelector(sel);
    if (!el) return;
    const n = +el.dataset.points;
    if (n !== B.last) { B.last = n; B.arrivals.push([now(), n]); }
    const chart = el.__nbtrack_card__ && el.__nbtrack_card__.chart;
    if (chart && !chart.__nbbench__) {
      chart.__nbbench__ = true;
      const draw = chart.draw;
      chart.draw = function () {
        const t = now();
        draw.call(this);
        B.draws.push([t, now() - t, +el.dataset.points]);
      };
    }
    // Bokeh's own repaint of the plot's canvas (throttled to animation frames by Bokeh).
    const view = chart && chart.view;
    if (view && !view.__nbbench__ && typeof view.repaint === 'function') {
      view.__nbbench__ = true;
      const repaint = view.repaint;
      view.repaint = function () {
        const t = now();
        repaint.call(this);
        B.paints.push([t, now() - t]);
      };
    }
  };
  new MutationObserver(check).observe(document.body,
    { subtree: true, childList: true, attributes: true, attributeFilter: ['data-points'] });
  // Long animation frames (over 50 ms) with where their time went: scripts, style and
  // layout, and rendering (paint) after them.
  B.loaf = [];
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        B.loaf.push({
          start: performance.timeOrigin + e.startTime, duration: e.duration,
          renderStart: e.renderStart - e.startTime, styleAndLayoutStart: e.styleAndLayoutStart - e.startTime,
          scripts: e.scripts.map((s) => ({ invoker: s.invoker, duration: s.duration, source: s.sourceFunctionName })),
        });
      }
    }).observe({ type: 'long-animation-frame', buffered: true });
  } catch (err) { B.loaf = null; }
  const frame = (t) => { B.frames.push(performance.timeOrigin + t); check(); requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
}
"""


# -- helpers --------------------------------------------------------------------------------


def log(msg: str) -> None:
    print(f"[widget_latency {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def write_notebook(path: Path, cells: list[str], kernel: str = "python3") -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nbformat.write(nb, path)
    return path


def wait_for_file(path: Path, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            try:
                data: dict[str, Any] = json.loads(path.read_text())
                return data
            except json.JSONDecodeError:  # still being written
                pass
        time.sleep(0.2)
    raise TimeoutError(f"{path.name} did not appear within {timeout:.0f} s")


def clock_offset_s(page: Any) -> tuple[float, float]:
    """(page clock - time.time(), round trip) from the quickest of a few round trips."""
    best: tuple[float, float] | None = None
    for _ in range(9):
        a = time.time()
        p = page.evaluate("() => performance.timeOrigin + performance.now()") / 1000
        b = time.time()
        if best is None or b - a < best[1]:
            best = (p - (a + b) / 2, b - a)
    assert best is not None
    return best


def stats_ms(values_s: list[float]) -> dict[str, float]:
    s = sorted(v * 1000 for v in values_s)
    if not s:
        return {"n": 0}
    return {
        "n": len(s),
        "p50": percentile(s, 50),
        "p95": percentile(s, 95),
        "p99": percentile(s, 99),
        "max": s[-1],
        "mean": sum(s) / len(s),
    }


def latencies(
    log_times: list[float], records: list[list[float]], offset_s: float
) -> tuple[list[float], int]:
    """Per step, seconds from its log() to the first record (page ms, count) that holds it."""
    out: list[float] = []
    j = 0
    missing = 0
    recs = sorted(records)
    for i, t in enumerate(log_times):
        while j < len(recs) and recs[j][1] <= i:
            j += 1
        if j == len(recs):
            missing += 1
            continue
        out.append(recs[j][0] / 1000 - offset_s - t)
    return out, missing


def parse_ws_frame(payload: str | bytes) -> tuple[str, str | None]:
    """(msg_type, custom message type) of a kernel websocket frame (JSON or v1 binary)."""
    try:
        if isinstance(payload, str):
            msg = json.loads(payload)
            header, content = msg.get("header", {}), msg.get("content", {})
        else:
            b = payload
            n = int.from_bytes(b[:8], "little")
            offs = [int.from_bytes(b[8 * (i + 1) : 8 * (i + 2)], "little") for i in range(n)]
            header = json.loads(b[offs[1] : offs[2]])
            content = json.loads(b[offs[4] : offs[5]])
    except (ValueError, IndexError, KeyError):
        return "?", None
    msg_type = str(header.get("msg_type", "?"))
    custom = None
    if msg_type == "comm_msg":
        data = content.get("data", {})
        if data.get("method") == "custom":
            custom = str(data.get("content", {}).get("type"))
    return msg_type, custom


# -- 1 and 2: latency and bytes -------------------------------------------------------------


def measure_latency(lab: JupyterServer, browser: Any, seconds: float, hz: int) -> dict[str, Any]:
    n = int(seconds * hz)
    nb = write_notebook(
        lab.root / "latency.ipynb", [STREAM + COUNT_SENDS, LATENCY_CELL.format(n=n, hz=hz)]
    )
    context = browser.new_context(viewport={"width": 1400, "height": 1400}, device_scale_factor=1)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    frames: list[tuple[float, int, str, str | None]] = []
    recording = {"on": False}

    def on_ws(ws: Any) -> None:
        if "/api/kernels/" not in ws.url:
            return

        def on_frame(payload: str | bytes) -> None:
            if recording["on"]:
                size = len(payload.encode() if isinstance(payload, str) else payload)
                frames.append((time.time(), size, *parse_ws_frame(payload)))

        ws.on("framereceived", on_frame)

    page.on("websocket", on_ws)
    try:
        open_notebook(page, lab, nb)
        page.evaluate(PAGE_PROBE, f'.nbtrack-chart[data-metric="{KEY}"]')
        offset, rtt = clock_offset_s(page)
        recording["on"] = True
        log(f"latency: logging {n:,} steps at {hz} Hz ({seconds:.0f} s)")
        run_all(page)
        page.wait_for_selector(
            f'.nbtrack-dashboard[data-state="finished"] .nbtrack-chart[data-metric="{KEY}"]',
            state="attached",
            timeout=(seconds + 120) * 1000,
        )
        page.wait_for_function(
            f"() => window.__nbbench.last === {n} && window.__nbbench.draws.length "
            f"&& window.__nbbench.draws[window.__nbbench.draws.length - 1][2] === {n}",
            timeout=30_000,
        )
        kernel = wait_for_file(lab.root / "latency.json", 30)
        time.sleep(0.5)  # the last frames of the websocket reach the Python side
        recording["on"] = False
        probe = page.evaluate(
            "() => ({ arrivals: window.__nbbench.arrivals, draws: window.__nbbench.draws })"
        )
        offset2, rtt2 = clock_offset_s(page)
    finally:
        context.close()
    log_times: list[float] = kernel["log_times"]
    arrive, missing_a = latencies(log_times, probe["arrivals"], offset)
    # Where the time goes: log() -> the dashboard's send() in the kernel (coalescing, encoding),
    # then send() -> the page (IOPub thread, ZMQ, the server, the websocket, anywidget).
    sends = [[t * 1000, c] for t, typ, _, _, c in kernel["sent"] if typ == "points"]
    to_send, _ = latencies(log_times, sends, 0.0)
    transport = []
    recs = sorted(probe["arrivals"])
    j = 0
    for t_ms, count in sorted(sends):
        while j < len(recs) and recs[j][1] < count:
            j += 1
        if j < len(recs):
            transport.append(recs[j][0] / 1000 - offset - t_ms / 1000)
    by_second = []
    for k in range(int(seconds)):
        part = arrive[k * hz : (k + 1) * hz]
        st = stats_ms(part)
        by_second.append([k, st.get("p50"), st.get("p95"), st.get("max")])
    drawn, missing_d = latencies(log_times, [[t + d, n_] for t, d, n_ in probe["draws"]], offset)
    draw_ms = sorted(d for _, d, _ in probe["draws"])

    sent = kernel["sent"]
    by_type: dict[str, list[int]] = {}
    for _, typ, j, b, _ in sent:
        agg = by_type.setdefault(str(typ), [0, 0, 0])
        agg[0] += 1
        agg[1] += j
        agg[2] += b
    scalars = n * 3  # three logged keys a step; the time column rides along, uncounted
    points = by_type.get("points", [0, 0, 0])
    header = by_type.get("header", [0, 0, 0])
    wire: dict[str, list[int]] = {}
    for _, size, mtype, custom in frames:
        k = f"{mtype}:{custom}" if custom else mtype
        agg = wire.setdefault(k, [0, 0])
        agg[0] += 1
        agg[1] += size
    wire_points = wire.get("comm_msg:points", [0, 0])
    wire_header = wire.get("comm_msg:header", [0, 0])
    # Messages with points, per second of logging: the coalescing at work.
    t_first, t_last = log_times[0], log_times[-1]
    during = [s for s in sent if s[1] == "points" and t_first <= s[0] <= t_last]
    return {
        "steps": n,
        "hz": hz,
        "keys": 3,
        "loop_s": kernel["loop_s"],
        "clock_offset_ms": offset * 1000,
        "clock_rtt_ms": rtt * 1000,
        "clock_offset_end_ms": offset2 * 1000,
        "clock_rtt_end_ms": rtt2 * 1000,
        "arrival_ms": stats_ms(arrive),
        "arrival_missing": missing_a,
        "to_send_ms": stats_ms(to_send),
        "send_to_page_ms": stats_ms(transport),
        "arrival_by_second": by_second,
        "drawn_ms": stats_ms(drawn),
        "drawn_missing": missing_d,
        "draws": len(draw_ms),
        "draw_cost_ms": {
            "p50": percentile(draw_ms, 50),
            "p95": percentile(draw_ms, 95),
            "max": draw_ms[-1],
        }
        if draw_ms
        else {},
        "arrival_updates": len(probe["arrivals"]),
        "sent_by_type": by_type,
        "points_messages_per_s": len(during) / max(t_last - t_first, 1e-9),
        "bytes_per_point_points": (points[1] + points[2]) / scalars,
        "bytes_per_point_custom": (points[1] + points[2] + header[1] + header[2]) / scalars,
        "wire_by_type": wire,
        "wire_bytes_per_point_points": wire_points[1] / scalars,
        "wire_bytes_per_point_custom": (wire_points[1] + wire_header[1]) / scalars,
        "page_errors": errors,
    }


# -- 3: pan ---------------------------------------------------------------------------------


def _script_labels(cdp: Any, profile: dict[str, Any]) -> dict[str, str]:
    """Names for the profile's blob: scripts (BokehJS and the widget load from blob: URLs)."""
    ids = {
        n["callFrame"]["scriptId"]
        for n in profile["nodes"]
        if n["callFrame"].get("url", "").startswith("blob:")
    }
    labels: dict[str, str] = {}
    try:
        cdp.send("Debugger.enable")
        for sid in ids:
            head = cdp.send("Debugger.getScriptSource", {"scriptId": sid})["scriptSource"][:400]
            labels[sid] = "BokehJS" if "Anaconda" in head else "nbtrack widget.js"
        cdp.send("Debugger.disable")
    except Exception:  # a script gone since: keep its blob name
        pass
    return labels


def profile_top(profile: dict[str, Any], labels: dict[str, str], n: int = 25) -> list[list[Any]]:
    """Self time (ms) per function of a CDP CPU profile, largest first: [ms, function, where].

    A native function (no script) is named with the nearest script function that called it.
    """
    nodes = {node["id"]: node for node in profile["nodes"]}
    parent = {c: node["id"] for node in profile["nodes"] for c in node.get("children", [])}
    deltas = profile.get("timeDeltas", [])
    self_us: dict[int, float] = {}
    for sample, dt in zip(profile.get("samples", []), [*deltas[1:], 0], strict=False):
        self_us[sample] = self_us.get(sample, 0.0) + dt

    def where(cf: dict[str, Any]) -> str:
        url = cf.get("url", "")
        name = labels.get(cf.get("scriptId", ""), url.rsplit("/", 1)[-1].split("?")[0])
        return f"{name}:{cf.get('lineNumber', 0) + 1}" if url else ""

    agg: dict[tuple[str, str], float] = {}
    for node_id, us in self_us.items():
        cf = nodes[node_id]["callFrame"]
        fn = cf.get("functionName") or "(anonymous)"
        at = where(cf)
        if not at and not fn.startswith("("):
            up = parent.get(node_id)
            while up is not None and not nodes[up]["callFrame"].get("url"):
                up = parent.get(up)
            if up is not None:
                caller = nodes[up]["callFrame"]
                at = f"called by {caller.get('functionName') or '(anonymous)'} ({where(caller)})"
        agg[(fn, at)] = agg.get((fn, at), 0.0) + us
    ranked = sorted(agg.items(), key=lambda kv: -kv[1])[:n]
    return [[round(us / 1000, 1), fn, at] for (fn, at), us in ranked]


def _now_ms(page: Any) -> float:
    return float(page.evaluate("() => performance.timeOrigin + performance.now()"))


def _x_start(page: Any, sel: str) -> float:
    return float(
        page.evaluate(
            f"() => document.querySelector('{sel}').__nbtrack_card__.chart.plotModel.x_range.start"
        )
    )


def _drag(page: Any, context: Any, sel: str, drag_s: float, profile: bool) -> dict[str, Any]:
    """Drag the chart back and forth with the mouse for `drag_s`; what the page did meanwhile."""
    box = page.locator(f"{sel} .nbt-plot").bounding_box()
    assert box is not None, "the chart has no box on the page"
    # Inside the plot frame: right of the y axis, below the toolbar, above the x axis.
    cx, cy = box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.5
    before = _x_start(page, sel)
    page.mouse.move(cx, cy)
    idle_from = _now_ms(page)
    time.sleep(1.0)
    cdp = None
    if profile:
        cdp = context.new_cdp_session(page)
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 200})
        cdp.send("Profiler.start")
    t0 = _now_ms(page)
    page.mouse.down()
    moves = 0
    start = time.monotonic()
    while (el := time.monotonic() - start) < drag_s:
        # Back and forth, +-250 px, a full sweep every 1.5 s. Each move waits for the page
        # to take it, as a real pointer's events are delivered at most once a frame.
        page.mouse.move(cx + 250 * math.sin(2 * math.pi * el / 1.5), cy + 10 * math.sin(el * 5))
        moves += 1
    page.mouse.up()
    t1 = _now_ms(page)
    top: list[list[Any]] = []
    if cdp is not None:
        prof = cdp.send("Profiler.stop")["profile"]
        top = profile_top(prof, _script_labels(cdp, prof))
        cdp.detach()
    time.sleep(0.3)
    after = _x_start(page, sel)
    probe = page.evaluate(
        "() => ({ frames: window.__nbbench.frames, draws: window.__nbbench.draws, "
        "paints: window.__nbbench.paints, loaf: window.__nbbench.loaf })"
    )
    frames = probe["frames"]
    pf = sorted(b - a for a, b in itertools.pairwise(frames) if a >= t0 and b <= t1)
    idf = sorted(b - a for a, b in itertools.pairwise(frames) if a >= idle_from and b <= t0)
    dr = sorted(d for t, d, _ in probe["draws"] if t0 <= t <= t1)
    paints = sorted(d for t, d in probe["paints"] if t0 <= t <= t1)
    loaf = [e for e in probe["loaf"] or [] if t0 <= e["start"] <= t1]
    return {
        "drag_s": (t1 - t0) / 1000,
        "mouse_moves": moves,
        "panned": before != after,
        "frames": len(pf),
        "frame_ms": {
            "p50": percentile(pf, 50),
            "p95": percentile(pf, 95),
            "max": pf[-1] if pf else math.nan,
            "over_30": sum(1 for f in pf if f > TARGET_FRAME_MS),
        },
        "idle_frame_ms": {"p50": percentile(idf, 50), "p95": percentile(idf, 95)},
        "draws": len(dr),
        "draw_ms": {
            "p50": percentile(dr, 50),
            "p95": percentile(dr, 95),
            "max": dr[-1] if dr else math.nan,
        },
        "paints": len(paints),
        "paint_ms": {
            "p50": percentile(paints, 50),
            "p95": percentile(paints, 95),
            "max": paints[-1] if paints else math.nan,
        },
        "long_frames": loaf,
        "profile_top": top,
    }


HOVER_ACTIVE = """([sel, active]) => {
  const plot = document.querySelector(sel).__nbtrack_card__.chart.plotModel;
  let n = 0;
  for (const tool of plot.toolbar.tools) if (tool.tooltips !== undefined) { tool.active = active; n++; }
  return n;
}"""


def measure_pan(
    lab: JupyterServer, browser: Any, points: int, drag_s: float, profile: bool = False
) -> dict[str, Any]:
    nb = write_notebook(lab.root / "pan.ipynb", [PAN_CELL.format(n=points)])
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sel = f'.nbtrack-chart[data-metric="{PAN_KEY}"]'
    try:
        open_notebook(page, lab, nb)
        page.evaluate(PAGE_PROBE, sel)
        log(f"pan: logging {points:,} steps")
        t_run = time.time()
        run_all(page)
        page.wait_for_function(f"() => window.__nbbench.last === {points}", timeout=180_000)
        t_all = time.time()
        kernel = wait_for_file(lab.root / "pan.json", 30)
        page.locator(sel).scroll_into_view_if_needed()
        page.wait_for_function(
            f"() => {{ const d = window.__nbbench.draws; return d.length && d[d.length - 1][2] === {points}; }}",
            timeout=30_000,
        )
        time.sleep(0.5)
        # Before any drag the chart shows the whole series: the spike at the middle step must
        # survive the per-pixel reduction.
        drawn = page.evaluate(
            f"""() => {{
              const y = document.querySelector('{sel}').__nbtrack_card__.chart.sources()[0].raw.data.y;
              return [y.length, Math.max(...y)];
            }}"""
        )
        drawn_points, spike_kept = int(drawn[0]), drawn[1] >= 2.9
        log(f"pan: dragging the chart for {drag_s:.0f} s")
        drag = _drag(page, context, sel, drag_s, profile=False)
        page.locator(sel).screenshot(path=str(RESULTS / "widget_latency_pan.png"))
        # Diagnosis: the same drag with Bokeh's hover tool switched off.
        hovers = page.evaluate(HOVER_ACTIVE, [sel, False])
        log(f"pan: again with the hover tool off ({hovers} tool)")
        no_hover = _drag(page, context, sel, drag_s, profile=False)
        profiled: dict[str, Any] = {}
        if profile:
            # Where a frame's time goes, from a third drag as shipped under the CPU profiler
            # (kept apart: the profiler slows the page a little).
            page.evaluate(HOVER_ACTIVE, [sel, True])
            log("pan: a third drag, as shipped, under the CPU profiler")
            profiled = _drag(page, context, sel, drag_s, profile=True)
    finally:
        context.close()
    return {
        "points": points,
        "loop_s": kernel["loop_s"],
        "all_in_page_s": t_all - t_run,
        **drag,
        "no_hover": no_hover,
        "profiled": profiled,
        "bokeh_points_drawn": drawn_points,
        "spike_kept": spike_kept,
        "page_errors": errors,
    }


# -- 4 and 5: nbclient ----------------------------------------------------------------------


def execute(path: Path, kernel: str, cwd: Path, timeout: int) -> dict[str, Any]:
    """Execute the notebook with nbclient, save it, and count the bytes its kernel sent."""
    import nbformat
    from nbclient import NotebookClient

    counts: dict[str, list[int]] = {}

    class Counting(NotebookClient):
        def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
            content = len(json.dumps(msg["content"]))
            bufs = sum(len(b) for b in msg.get("buffers") or ())
            agg = counts.setdefault(msg["msg_type"], [0, 0])
            agg[0] += 1
            agg[1] += content + bufs
            return super().process_message(msg, cell, cell_index)

    nb = nbformat.read(path, as_version=4)
    t = time.perf_counter()
    Counting(
        nb, kernel_name=kernel, timeout=timeout, resources={"metadata": {"path": str(cwd)}}
    ).execute()
    wall = time.perf_counter() - t
    nbformat.write(nb, path)
    outputs = sum(len(json.dumps(o)) for c in nb.cells for o in c.get("outputs", []))
    wstate = nb.metadata.get("widgets", {})
    widgets = len(json.dumps(wstate))
    models = wstate.get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    esm = sum(len(json.dumps(m.get("state", {}).get("_esm", ""))) for m in models.values())
    return {
        "bytes": path.stat().st_size,
        "outputs_json": outputs,
        "widget_state_json": widgets,
        "esm_json": esm,
        "iopub": counts,
        "wall_s": wall,
    }


def bench_kernelspec(jupyter_path: Path) -> str:
    name = "nbtrack-bench-venv"
    d = jupyter_path / "kernels" / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(BENCH_PY), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "bench venv",
                "language": "python",
            }
        )
    )
    return name


def measure_livelossplot(tmp: Path, seconds: float, hz: int, every: int) -> dict[str, Any]:
    if not BENCH_PY.exists():
        return {"error": "bench/.venv is missing: run `bash bench/setup.sh`"}
    n = int(seconds * hz)
    kernel = bench_kernelspec(tmp / "jupyter-path")
    os.environ["JUPYTER_PATH"] = str(tmp / "jupyter-path")
    work = tmp / "livelossplot"
    work.mkdir()
    nb = write_notebook(
        work / "livelossplot.ipynb",
        [STREAM, LIVELOSSPLOT_CELL.format(n=n, hz=hz, every=every)],
        kernel,
    )
    log(f"livelossplot: {n:,} steps at {hz} Hz, update + send every {every} steps")
    try:
        ex = execute(nb, kernel, work, timeout=900)
    except Exception as e:  # a peer that fails is reported, not dropped
        return {"error": f"{type(e).__name__}: {e}"[:300]}
    kernel_side = json.loads((work / "livelossplot.json").read_text())
    ups = kernel_side["updates"]
    iopub_out = sum(
        v[1]
        for k, v in ex["iopub"].items()
        if k in {"display_data", "clear_output", "stream", "execute_result", "update_display_data"}
    )
    return {
        "steps": n,
        "hz": hz,
        "every": every,
        "updates": len(ups),
        "update_ms": stats_ms(ups),
        "loop_s": kernel_side["loop_s"],
        "output_bytes_sent": iopub_out,
        "output_bytes_per_update": iopub_out / max(len(ups), 1),
        "saved_notebook": ex,
    }


def measure_notebook_size(tmp: Path, steps: int) -> dict[str, Any]:
    out: dict[str, Any] = {"steps": steps, "runs": 3}
    for label, display in (("dashboards", ""), ("display=False", ", display=False")):
        work = tmp / f"size-{'on' if not display else 'off'}"
        work.mkdir()
        cells = [STREAM] + [SIZE_CELL.format(k=k, n=steps, display=display) for k in range(3)]
        nb = write_notebook(work / "three_runs.ipynb", cells)
        log(f"notebook size: three runs of {steps:,} steps, {label}")
        out[label] = execute(nb, "python3", work, timeout=600)
    on, off = out["dashboards"], out["display=False"]
    out["growth_bytes"] = on["bytes"] - off["bytes"]
    out["growth_per_dashboard"] = out["growth_bytes"] / 3
    comm = on["iopub"].get("comm_msg", [0, 0])
    out["comm_bytes_sent"] = comm[1]
    return out


# -- report ---------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def build_report(res: dict[str, Any], args: argparse.Namespace) -> str:
    lat, pan, llp, size = (
        res.get("latency"),
        res.get("pan"),
        res.get("livelossplot"),
        res.get("size"),
    )
    lines = [f"Command: `{res['command']}`", "", *res["machine"], ""]
    lines.append(
        "- Harness: JupyterLab 4 and its kernels on 127.0.0.1, Debian's Chromium headless "
        "(Playwright, `--use-gl=swiftshader`), all started and stopped by the script; the kernel "
        "runs nbtrack from this checkout."
    )
    lines.append("")
    rows: list[list[str]] = []
    if lat:
        a, d = lat["arrival_ms"], lat["drawn_ms"]
        rows.append(
            [
                f"log() -> point in the chart's data, p95 <= {TARGET_P95_MS:.0f} ms",
                f"p50 {fmt(a['p50'])} / p95 {fmt(a['p95'])} / max {fmt(a['max'])} ms",
                verdict(a["p95"] <= TARGET_P95_MS),
            ]
        )
        rows.append(
            [
                "(log() -> reduced points handed to Bokeh, for reference)",
                f"p50 {fmt(d['p50'])} / p95 {fmt(d['p95'])} / max {fmt(d['max'])} ms",
                "-",
            ]
        )
        rows.append(
            [
                f"bytes per point over the comm <= {TARGET_BYTES:.0f} B",
                f"{fmt(lat['bytes_per_point_custom'])} B (custom messages); "
                f"{fmt(lat['wire_bytes_per_point_custom'])} B on the websocket",
                verdict(lat["bytes_per_point_custom"] <= TARGET_BYTES),
            ]
        )
    if pan:
        f = pan["frame_ms"]
        rows.append(
            [
                f"pan a chart of {pan['points']:,} points, <= {TARGET_FRAME_MS:.0f} ms a frame",
                f"p50 {fmt(f['p50'])} / p95 {fmt(f['p95'])} / max {fmt(f['max'])} ms",
                verdict(f["p95"] <= TARGET_FRAME_MS and pan["panned"]),
            ]
        )
        g = pan["no_hover"]["frame_ms"]
        rows.append(
            [
                "(the same drag with Bokeh's hover tool off, diagnosis)",
                f"p50 {fmt(g['p50'])} / p95 {fmt(g['p95'])} / max {fmt(g['max'])} ms",
                "-",
            ]
        )
    if llp and "error" not in llp:
        u = llp["update_ms"]
        rows.append(
            [
                f"livelossplot, same stream (update + send every {llp['every']} steps)",
                f"{fmt(u['p50'])} ms a update (p95 {fmt(u['p95'])}); "
                f"{fmt(llp['output_bytes_per_update'] / 1024)} KiB of output a update",
                "comparison",
            ]
        )
    elif llp:
        rows.append(["livelossplot, same stream", llp["error"], "failed"])
    if size:
        rows.append(
            [
                f"saved notebook, three dashboards of {size['steps']:,} steps",
                f"+{fmt(size['growth_bytes'] / 1024)} KiB (+{fmt(size['growth_per_dashboard'] / 1024)} KiB a dashboard)",
                "reported",
            ]
        )
    lines += ["### Targets", "", md_table(["target", "measured", "verdict"], rows), ""]

    if lat:
        a, d = lat["arrival_ms"], lat["drawn_ms"]
        st = lat["sent_by_type"]
        lines += [
            f"### 1-2. Live: {lat['steps']:,} steps of {lat['keys']} keys at {lat['hz']:,} Hz",
            "",
            md_table(
                ["from log() to", "p50 ms", "p95 ms", "p99 ms", "max ms", "steps"],
                [
                    [
                        "data-points of the chart grew (the point is in the page's series)",
                        a["p50"],
                        a["p95"],
                        a["p99"],
                        a["max"],
                        f"{a['n']:,}",
                    ],
                    [
                        "the chart's draw() handed Bokeh the reduced points",
                        d["p50"],
                        d["p95"],
                        d["p99"],
                        d["max"],
                        f"{d['n']:,}",
                    ],
                ],
            ),
            "",
            f"- The logging loop took {lat['loop_s']:.2f} s for {lat['steps'] / lat['hz']:.0f} s of "
            f"steps; the chart grew {lat['arrival_updates']:,} times and was redrawn {lat['draws']:,} "
            f"times (draw(): p50 {fmt(lat['draw_cost_ms'].get('p50'))} ms, p95 "
            f"{fmt(lat['draw_cost_ms'].get('p95'))} ms); {fmt(lat['points_messages_per_s'])} points "
            "messages a second.",
            f"- Where the time goes: from `log()` to the dashboard's `send()` in the kernel "
            f"(points wait for the next 0.1 s tick) p50 {fmt(lat['to_send_ms'].get('p50'))} ms, "
            f"p95 {fmt(lat['to_send_ms'].get('p95'))} ms; from `send()` to the page (IOPub "
            "thread, ZMQ, the server, the websocket, anywidget), per message, p50 "
            f"{fmt(lat['send_to_page_ms'].get('p50'))} ms, p95 "
            f"{fmt(lat['send_to_page_ms'].get('p95'))} ms, max "
            f"{fmt(lat['send_to_page_ms'].get('max'))} ms.",
            "- p95 by second of the run (ms): "
            + ", ".join(fmt(p95) for _, _, p95, _ in lat["arrival_by_second"])
            + " (the first second includes loading BokehJS and building the charts).",
            f"- Clocks: the page's `performance.timeOrigin + performance.now()` read "
            f"{fmt(lat['clock_offset_ms'])} ms against the kernel's `time.time()` before the run "
            f"(round trip {fmt(lat['clock_rtt_ms'])} ms) and {fmt(lat['clock_offset_end_ms'])} ms "
            "after; the first offset is taken off.",
            "",
            md_table(
                [
                    "custom messages (counted in the kernel)",
                    "messages",
                    "JSON bytes",
                    "buffer bytes",
                    "B / point",
                ],
                [
                    [
                        t,
                        f"{v[0]:,}",
                        f"{v[1]:,}",
                        f"{v[2]:,}",
                        fmt((v[1] + v[2]) / (lat["steps"] * lat["keys"]))
                        if t != "bokeh"
                        else "(once a page)",
                    ]
                    for t, v in sorted(st.items())
                ],
            ),
            "",
            f"A point is one logged scalar: {lat['steps']:,} steps x {lat['keys']} keys. The time "
            "column nbtrack sends with every step (float32) is in the bytes but not counted as "
            "points. On the kernel websocket (Jupyter's message envelope included, as the page "
            f"receives it): {fmt(lat['wire_bytes_per_point_points'])} B per point in points "
            f"messages, {fmt(lat['wire_bytes_per_point_custom'])} B with the header messages.",
            "",
        ]
    if pan:
        nh = pan["no_hover"]

        def drag_row(name: str, d: dict[str, Any]) -> list[Any]:
            f, dr, pt = d["frame_ms"], d["draw_ms"], d["paint_ms"]
            return [
                name,
                f"{d['frames']}",
                f["p50"],
                f["p95"],
                f["max"],
                f"{f['over_30']}",
                f"{dr['p50']:.1f} / {dr['p95']:.1f}",
                f"{pt['p50']:.1f} / {pt['p95']:.1f}",
                "yes" if d["panned"] else "**no**",
            ]

        i = pan["idle_frame_ms"]
        lines += [
            f"### 3. Pan a chart of {pan['points']:,} points",
            "",
            f"- {pan['points']:,} `log()` calls took {pan['loop_s']:.2f} s in the kernel; all points "
            f"were in the page {pan['all_in_page_s']:.1f} s after the cell started. Bokeh is handed "
            f"{pan['bokeh_points_drawn']:,} points for the whole series, and the one spike at the "
            f"middle step is among them: {'yes' if pan['spike_kept'] else '**no**'}.",
            f"- Drags of {pan['drag_s']:.1f} s with Playwright's mouse (pan tool, +-250 px back and "
            f"forth; {pan['mouse_moves']} moves), frame time = time between animation frames; "
            f"idle before the drag: p50 {fmt(i['p50'])} ms, p95 {fmt(i['p95'])} ms.",
            "",
            md_table(
                [
                    "drag",
                    "frames",
                    "p50 ms",
                    "p95 ms",
                    "max ms",
                    "> 30 ms",
                    "nbtrack draw() p50 / p95 ms",
                    "Bokeh repaint p50 / p95 ms",
                    "moved",
                ],
                [drag_row("as shipped", pan), drag_row("hover tool switched off (diagnosis)", nh)],
            ),
            "",
            "*draw()* is nbtrack's part of a frame: the per-pixel min/max reduction of the visible "
            "range handed to Bokeh; *repaint* is Bokeh drawing its canvas. Frame times come in "
            "whole display refreshes (16.7 ms at 60 Hz): a p95 of 33 ms means that more than 5% "
            "of the frames missed one refresh. Each Playwright mouse move waits for the page to "
            "take it, so the chart moves a few dozen times a second, each time with a full "
            "re-reduction and repaint.",
            "",
        ]
        if pan["profiled"]:
            lines += [
                "CPU profile of the page during a third drag as shipped (self time; `--profile`; "
                f"frame p95 under the profiler {fmt(pan['profiled']['frame_ms']['p95'])} ms):",
                "",
                md_table(
                    ["ms", "function", "where"],
                    [[r[0], r[1], r[2] or "(native)"] for r in pan["profiled"]["profile_top"][:12]],
                ),
                "",
            ]
    if llp and "error" not in llp:
        u, s = llp["update_ms"], llp["saved_notebook"]
        lines += [
            "### 4. livelossplot fed the same stream",
            "",
            f"- `PlotLosses().update(row); .send()` every {llp['every']} steps of the same "
            f"{llp['steps']:,}-step, {llp['hz']:,} Hz stream ({llp['updates']} updates, in a "
            "kernel of bench/.venv executed by nbclient): "
            f"p50 {fmt(u['p50'])} ms, p95 {fmt(u['p95'])} ms, max {fmt(u['max'])} ms an update, "
            f"{fmt(u['mean'] * u['n'] / 1000)} s in all; the loop took {llp['loop_s']:.1f} s instead "
            f"of {llp['steps'] / llp['hz']:.0f} s.",
            f"- Output: {fmt(llp['output_bytes_sent'] / 2**20)} MiB sent to the front end "
            f"({fmt(llp['output_bytes_per_update'] / 1024)} KiB an update: a PNG, cleared and "
            f"drawn again); the saved notebook is {fmt(s['bytes'] / 1024)} KiB (the last image). "
            f"It shows one point per {llp['every']} steps; nbtrack's chart holds all of them.",
            "",
        ]
    if size:
        on, off = size["dashboards"], size["display=False"]
        lines += [
            f"### 5. A saved notebook with three runs of {size['steps']:,} steps",
            "",
            md_table(
                [
                    "notebook (nbclient, widget state stored)",
                    "file KiB",
                    "outputs KiB",
                    "widget state KiB",
                ],
                [
                    [
                        "three dashboards",
                        on["bytes"] / 1024,
                        on["outputs_json"] / 1024,
                        on["widget_state_json"] / 1024,
                    ],
                    [
                        "display=False",
                        off["bytes"] / 1024,
                        off["outputs_json"] / 1024,
                        off["widget_state_json"] / 1024,
                    ],
                ],
            ),
            "",
            f"The dashboards add {fmt(size['growth_bytes'] / 1024)} KiB "
            f"({fmt(size['growth_per_dashboard'] / 1024)} KiB each). The points went over the comm "
            f"({fmt(size['comm_bytes_sent'] / 2**20)} MiB of comm messages) and none of them is "
            f"saved: the cells' outputs hold {fmt(on['outputs_json'] / 1024)} KiB (the widget "
            f"views), and of the widget state nbclient stores, {fmt(on['esm_json'] / 1024)} KiB is "
            "anywidget's `_esm` (the widget's JavaScript), kept once per dashboard.",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--quick", action="store_true", help="short streams (5 s, 200,000 points), to try it out"
    )
    p.add_argument(
        "--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone"
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="take a CPU profile of the page during the pan (slows it a little)",
    )
    p.add_argument(
        "--only",
        default="latency,pan,livelossplot,size",
        help="comma-separated subset of: latency,pan,livelossplot,size",
    )
    args = p.parse_args(argv)
    only = set(args.only.split(","))
    seconds = 5.0 if args.quick else 20.0
    pan_points = 200_000 if args.quick else 1_000_000
    size_steps = 2_000 if args.quick else 10_000
    hz = 1000

    RESULTS.mkdir(parents=True, exist_ok=True)
    res: dict[str, Any] = {"command": command_line(), "load": loadavg()}
    tmp = Path(tempfile.mkdtemp(prefix="nbtrack-widget-bench-"))
    started = time.monotonic()
    try:
        # Every kernel (the Lab's and nbclient's) logs into a store in the temp folder.
        os.environ["NBTRACK_DIR"] = str(tmp / "nbclient-store")
        os.environ["PYTHONPATH"] = str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")
        os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
        if only & {"latency", "pan"}:
            lab_tmp = tmp / "lab"
            lab_tmp.mkdir()
            with jupyterlab(lab_tmp) as lab, chromium() as browser:
                res["chromium"] = browser.version
                if "latency" in only:
                    res["latency"] = measure_latency(lab, browser, seconds, hz)
                    shutdown_kernels(lab)
                if "pan" in only:
                    res["pan"] = measure_pan(
                        lab, browser, pan_points, drag_s=3.0, profile=args.profile
                    )
                    shutdown_kernels(lab)
        if "livelossplot" in only:
            res["livelossplot"] = measure_livelossplot(tmp, seconds, hz, every=100)
        if "size" in only:
            res["size"] = measure_notebook_size(tmp, size_steps)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res["total_s"] = time.monotonic() - started
    res["machine"] = machine_lines(
        [
            "nbtrack",
            "jupyterlab",
            "anywidget",
            "ipywidgets",
            "ipykernel",
            "bokeh",
            "playwright",
            "nbclient",
        ],
        load=res["load"],
    )
    bench_versions = bench_venv_versions()
    if bench_versions:
        res["machine"].append(f"- bench/.venv (the livelossplot kernel): {bench_versions}")
    chromium_version = res.get("chromium")
    if chromium_version:
        res["machine"].append(f"- Chromium {chromium_version}")
    res["machine"].append(f"- Whole benchmark: {res['total_s']:.0f} s")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"widget_latency-{stamp}.json").write_text(json.dumps(res, indent=1, default=str))
    report = build_report(res, args)
    print(report)
    if not args.no_docs:
        write_docs_section("Live dashboard", "bench:widget_latency", report)
        log("written to docs/benchmarks.md")
    return 0


def bench_venv_versions() -> str:
    if not BENCH_PY.exists():
        return ""
    import subprocess

    code = (
        "from importlib.metadata import version as v\n"
        "print(', '.join(f'{p} {v(p)}' for p in ('livelossplot', 'matplotlib', 'ipykernel')))"
    )
    r = subprocess.run([str(BENCH_PY), "-c", code], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else ""


if __name__ == "__main__":
    raise SystemExit(main())

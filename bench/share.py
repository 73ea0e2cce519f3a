"""Issue 10's figures: sharing a run, by link and by file. Each section measures one target
and prints its table (the lead copies the figures into docs/benchmarks.md):

- ``export``: the HTML export (``nbtrack export``) of a run of 10,000 steps with 10 metrics
  and ``watch`` histograms of a small torch model: the file's bytes in all (target: at most
  2 MB) and by part (BokehJS, the view bundle, the run's data, the rest of the page), and
  how long writing it took.
- ``links``: a share link's page, opened by a browser that never signed in: the time from
  navigating to ``/s/<token>`` (its redirect to ``/v/<slug>/`` included) to the first chart
  drawn, for a run of 1,000,000 points (50,000 steps x 20 keys; target: at most 1 s), and the
  live latency from ``log()`` in a training process to the point drawn on a link's page
  (target: at most 1 s p95). The machinery is bench/sync.py's, which times the signed-in run
  page the same way; ``--quick`` takes its small sizes.

    .venv/bin/python bench/share.py                 # every section
    .venv/bin/python bench/share.py --only export   # one of them
    .venv/bin/python bench/share.py --only export --keep /tmp/bench-run.html
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


# -- export ----------------------------------------------------------------------------------


def _train(root: Path, steps: int, metrics: int, log_freq: int) -> str:
    """A run of `steps` steps logging `metrics` scalars a step (the model's loss and accuracy,
    the rest derived from them), with watch(log="all") of a 3-layer MLP; its path."""
    import torch
    import torch.nn.functional as F

    import nbtrack

    torch.set_num_threads(1)  # a tiny model: more threads only wait on each other
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(32, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 10),
    )  # fmt: skip
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    g = torch.Generator().manual_seed(0)
    w = torch.randn(32, 10, generator=g)
    batches = []
    for _ in range(16):
        x = torch.randn(64, 32, generator=g)
        batches.append((x, (x @ w).argmax(1)))
    run = nbtrack.init(project="bench-share", name="export-size", dir=root, display=False,
                       config={"lr": 0.05, "steps": steps, "log_freq": log_freq})  # fmt: skip
    run.watch(model, log="all", log_freq=log_freq)
    for i in range(steps):
        x, y = batches[i % len(batches)]
        out = model(x)
        loss = F.cross_entropy(out, y)
        opt.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
        lv = float(loss.detach())
        acc = float((out.argmax(1) == y).float().mean())
        row = {"train/loss": lv, "train/acc": acc}
        for k in range(metrics - 2):
            # Noisy, as real curves are: a smooth one would flatter nothing (points go whole
            # or reduced by count, not by how they look).
            row[f"extra/m{k}"] = lv * (1 + 0.1 * k) + 0.01 * ((i * 7919 + k * 104729) % 101)
        run.log(row)
    run.finish(quiet=True)
    return run.path


def _parts(text: str) -> dict[str, int]:
    """Bytes of each part of an exported file (UTF-8), and of each kind of data message."""
    from nbtrack.export import BOKEH_ID, DATA_ID

    def element(pattern: str) -> str:
        m = re.search(pattern, text, re.DOTALL)
        assert m, pattern
        return m.group(1)

    bokeh = element(rf'<script type="application/json" id="{BOKEH_ID}">(.*?)</script>')
    data = element(rf'<script type="application/json" id="{DATA_ID}">(.*?)</script>')
    bundle = element(r"<script type=\"module\"[^>]*data-nbtrack-bundle>(.*?)</script>")
    size = len(text.encode("utf-8"))
    out = {
        "total": size,
        "BokehJS (gzip, base64)": len(bokeh.encode()),
        "view bundle (widget.js)": len(bundle.encode()),
        "run data": len(data.encode()),
    }
    out["page (HTML, CSP, styles)"] = size - sum(v for k, v in out.items() if k != "total")
    kinds: dict[str, int] = {}
    raw: dict[str, int] = {}
    for m in json.loads(data)["messages"]:
        kind = m["content"]["type"]
        kinds[kind] = kinds.get(kind, 0) + len(json.dumps(m, separators=(",", ":")))
        raw[kind] = raw.get(kind, 0) + sum(len(base64.b64decode(b)) for b in m["buffers"])
    for kind, n in kinds.items():
        out[f"  data: {kind} (buffers {raw[kind] / 1e3:.0f} kB before base64)"] = n
    return out


def bokeh_standalone(root: Path, path: str, out: Path) -> int:
    """The peer: what a user writes without nbtrack, a Bokeh standalone page of the same
    scalars (a line figure a metric, every point, BokehJS inline, `bokeh.io.save`); no
    histograms (Bokeh has no such view). Its bytes."""
    from bokeh.io import save
    from bokeh.layouts import column
    from bokeh.plotting import figure
    from bokeh.resources import INLINE

    from nbtrack.api import Api

    with Api(root) as api:
        rec = api.run(path)
        figs = []
        scalars = rec.keys()  # the run's scalar keys (a list, not a dict's view)
        for key in scalars:
            steps, values = rec.series(key)
            f = figure(title=key, width=700, height=250)
            f.line(steps, values)
            figs.append(f)
    save(column(*figs), filename=str(out), resources=INLINE, title="run")
    return out.stat().st_size


def export_size(args: argparse.Namespace) -> None:
    from nbtrack.api import Api
    from nbtrack.export import BUCKETS, WHOLE_POINTS, export_run

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "store"
        t0 = time.perf_counter()
        path = _train(root, args.steps, args.metrics, args.log_freq)
        trained = time.perf_counter() - t0
        out = Path(args.keep) if args.keep else Path(tmp) / "run.html"
        t0 = time.perf_counter()
        export_run(path, out, dir=root)
        wrote = time.perf_counter() - t0
        with Api(root) as api:
            rec = api.run(path)
            hist_keys = len(rec.histogram_keys())
            hist_steps = sum(len(rec.histograms(k)[0]) for k in rec.histogram_keys())
        parts = _parts(out.read_text(encoding="utf-8"))
        peer = bokeh_standalone(root, path, Path(tmp) / "bokeh.html")
    print(
        f"### HTML export of a run: {args.steps:,} steps x {args.metrics} metrics, watch "
        f"histograms ({hist_keys} tensors x {hist_steps // max(1, hist_keys)} steps)\n"
    )
    print(
        f"Series of more than {WHOLE_POINTS:,} points reduced to {BUCKETS:,} buckets "
        "(docs/export.md). Trained in "
        f"{trained:.1f} s; the file written in {wrote:.2f} s.\n"
    )
    print("| part | bytes | MB |\n| --- | ---: | ---: |")
    for name, n in parts.items():
        print(f"| {name} | {n:,} | {n / 1e6:.3f} |")
    total = parts["total"]
    verdict = "met" if total <= 2_000_000 else "NOT met"
    print(f"\nTarget (at most 2 MB): {verdict}: {total / 1e6:.2f} MB.")
    print(
        f"\nThe peer: a Bokeh standalone page of the same scalars (`bokeh.io.save`, a figure a "
        f"metric, every point, BokehJS inline, no histograms and no controls but Bokeh's): "
        f"{peer:,} bytes ({peer / 1e6:.2f} MB), {peer / total:.1f} x nbtrack's file."
    )
    if args.keep:
        print(f"The file: {Path(args.keep).resolve()}")


# -- links -----------------------------------------------------------------------------------


def links(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(REPO / "bench"))
    import sync as S  # bench/sync.py: its server, runs, page probe and latency harness
    from _browser import chromium

    size = dict(S.SIZES["quick" if args.quick else "full"])
    size["page_loads"] = args.page_loads

    def share(team: S.Team, project: str, run_id: str) -> str:
        body = {"entity": S.ENTITY, "project": project, "run_id": run_id}
        link = S.api(team, "POST", "/api/v1/shares", body)
        return f"{team.url}{link['path']}"

    with (
        tempfile.TemporaryDirectory(prefix="nbtrack-bench-share-") as tmp,
        S.team_server(Path(tmp) / "server") as team,
        chromium() as browser,
    ):
        work = Path(tmp)
        run = S.sync_run(size, team, work)
        if "error" in run:
            print(f"links: the run did not sync: {run['error']}")
            return
        url = share(team, "sync", run["run_id"])
        S.say(f"links: opening a share link of {run['steps'] * S.NKEYS:,} points")
        loads = S.page_loads(
            size, team, browser, run["run_id"], run["steps"], url=url, context=S.probed
        )
        lat = S.part_latency(
            size, team, browser, work,
            page_url=lambda run_id: share(team, "latency", run_id), context=S.probed,
        )  # fmt: skip
        version = browser.version
    points = run["steps"] * S.NKEYS
    print(
        f"### A share link's page: a run of {points:,} points, and live points\n\n"
        f"A browser context that never signed in opens `/s/<token>` (one redirect to "
        f"`/v/<slug>/`, the token swapped for a cookie) on an `nbtrack server` on SQLite, one "
        f"worker, on this machine; Chromium {version}. Times in ms from the navigation's start; "
        "*drawn* as bench/sync.py defines it.\n"
    )
    print("| load | first chart drawn, ms | all charts on screen drawn, ms | charts |")
    print("| --- | ---: | ---: | ---: |")
    firsts = []
    for i, ld in enumerate(loads):
        if "error" in ld:
            print(f"| {i + 1} | failed: {ld['error']} | | |")
            continue
        firsts.append(ld["first_drawn_ms"])
        cold = " (cold)" if ld["cold"] else ""
        print(
            f"| {i + 1}{cold} | {ld['first_drawn_ms']:.0f} | {ld['on_screen_drawn_ms']:.0f} "
            f"| {ld['charts']} |"
        )
    print()
    if firsts:
        verdict = "met" if max(firsts) <= 1000 else "NOT met"
        print(f"Target (first chart drawn in at most 1 s): {verdict}: worst {max(firsts):.0f} ms, "
              f"cold {firsts[0]:.0f} ms.\n")  # fmt: skip
    if "error" in lat:
        print(f"Live latency: failed: {lat['error']}")
        return
    d = lat["drawn_s"]
    verdict = "met" if d.get("p95", 99) <= 1.0 else "NOT met"
    print(
        f"Live latency, `log()` to drawn on the link's page, {lat['points']} points at 20 Hz "
        f"({lat['missing']} never seen): p50 {d['p50'] * 1e3:.0f} ms, p95 {d['p95'] * 1e3:.0f} "
        f"ms, max {d['max'] * 1e3:.0f} ms. Target (p95 at most 1 s): {verdict}."
    )
    phases = lat["phases_s"]
    print(
        "Where it goes (p50, ms): "
        + ", ".join(f"{k} {v['p50'] * 1e3:.0f}" for k, v in phases.items() if v.get("n"))
    )


# -- the sections ---------------------------------------------------------------------------

SECTIONS: dict[str, Callable[[argparse.Namespace], None]] = {
    "export": export_size,
    "links": links,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append",
                        help="run this section only (may be given more than once)")  # fmt: skip
    parser.add_argument("--steps", type=int, default=10_000, help="export: the run's steps")
    parser.add_argument("--metrics", type=int, default=10, help="export: scalars a step")
    parser.add_argument("--log-freq", type=int, default=100, help="export: watch's log_freq")
    parser.add_argument("--keep", default=None, metavar="PATH", help="export: keep the file here")
    parser.add_argument("--quick", action="store_true", help="links: bench/sync.py's small sizes")
    parser.add_argument("--page-loads", type=int, default=4, help="links: loads of the link")
    args = parser.parse_args(argv)
    for name in args.only or list(SECTIONS):
        SECTIONS[name](args)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

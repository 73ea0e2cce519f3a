"""Issue 10's figures: sharing a run, by link and by file. Each section measures one target
and prints its table (the lead copies the figures into docs/benchmarks.md):

- ``export``: the HTML export (``nbtrack export``) of a run of 10,000 steps with 10 metrics
  and ``watch`` histograms of a small torch model: the file's bytes in all (target: at most
  2 MB) and by part (BokehJS, the view bundle, the run's data, the rest of the page), and
  how long writing it took.
- ``links``: a share link's page: time to a drawn chart, and live latency (to come; its
  section is added here).

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
    if args.keep:
        print(f"The file: {Path(args.keep).resolve()}")


# -- the sections ---------------------------------------------------------------------------

SECTIONS: dict[str, Callable[[argparse.Namespace], None]] = {
    "export": export_size,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append",
                        help="run this section only (may be given more than once)")  # fmt: skip
    parser.add_argument("--steps", type=int, default=10_000, help="export: the run's steps")
    parser.add_argument("--metrics", type=int, default=10, help="export: scalars a step")
    parser.add_argument("--log-freq", type=int, default=100, help="export: watch's log_freq")
    parser.add_argument("--keep", default=None, metavar="PATH", help="export: keep the file here")
    args = parser.parse_args(argv)
    for name in args.only or list(SECTIONS):
        SECTIONS[name](args)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What `watch(model, log="all")` costs a training loop: nbtrack against W&B.

For each model, a fresh subprocess trains it on fixed synthetic batches, one variant at a
time. The variants are paired in rounds: each round runs every variant back to back, in an
order that alternates between rounds (none, nbtrack, W&B; then W&B, nbtrack, none; ...), so
that the machine's drift and the position in a round hit every variant alike:

- ``none``: the bare loop (forward, loss, zero_grad, backward, optimizer step);
- ``nbtrack``: ``nbtrack.init`` + ``run.watch(model, log="all", log_freq=F)`` + ``run.log``
  of the loss (a 0-d tensor, as users log it) every step;
- ``wandb``: ``wandb.init(mode="offline")`` + ``wandb.watch(model, log="all",
  log_freq=F)`` + ``wandb.log`` of the loss every step.

A run's figure is its mean step time over the timed steps (their total wall time over their
number, one device synchronisation at the end on a GPU). The overhead of a variant is the
median over rounds of its per-round ratio to ``none`` of the same round, minus one, with the
spread of those ratios. nbtrack's worker also reports what its training thread spent per CPU
snapshot (the copy taken at a logging step) and what the histogram thread spent binning it.
CPU runs use ``--threads`` torch threads (default 1; ``--threads 1,2`` measures both).
Models: on the CPU a 3x512 MLP and the demo CNN
(`nbtrack.demo.FashionCNN`), F = 100; on a CUDA GPU, when there is one, a ResNet-18-sized
convnet under bf16 autocast, F = 10, and nbtrack's loop runs under
``torch.cuda.set_sync_debug_mode("error")``: any device sync nbtrack caused would fail it.

    bench/.venv/bin/python bench/watch_overhead.py            # everything, writes the docs
    bench/.venv/bin/python bench/watch_overhead.py --quick --no-docs
    bench/.venv/bin/python bench/watch_overhead.py --models mlp --threads 1,2 --no-docs
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # the bench folder is not a package
    RESULT_MARK,
    command_line,
    fmt,
    loadavg,
    machine_lines,
    md_table,
    worker_env,
    write_docs_section,
)

VARIANTS = ("none", "nbtrack", "wandb")

# =========================================================================================
# glibc moves its mmap threshold up after a large block is freed, so a process that once
# freed a few MB (a tracker's buffers) serves torch's per-step temporaries from the heap,
# and one that did not maps and unmaps them every step, page faults and all: here that
# alone made the bare loop 15-50% slower than the tracked ones. Fixed thresholds give
# every variant the same allocator.
_FIXED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(64 << 20), "MALLOC_TRIM_THRESHOLD_": str(128 << 20)}

# Worker side: one model, one variant, in a fresh subprocess
# =========================================================================================


def _mlp() -> Any:
    import torch.nn as nn

    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 512), nn.ReLU(),
        nn.Linear(512, 512), nn.ReLU(),
        nn.Linear(512, 512), nn.ReLU(),
        nn.Linear(512, 10),
    )  # fmt: skip


def _resnet18_like() -> Any:
    """ResNet-18's shape (basic blocks 2-2-2-2, 64..512 channels, ~11M parameters)."""
    import torch.nn as nn

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(cout)
            self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(cout)
            self.skip = (
                nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                if stride != 1 or cin != cout
                else nn.Identity()
            )

        def forward(self, x: Any) -> Any:
            y = self.b2(self.c2(self.b1(self.c1(x)).relu()))
            return (y + self.skip(x)).relu()

    layers: list[Any] = [
        nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
    ]  # fmt: skip
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [Block(cin, cout, stride), Block(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 10)]
    return nn.Sequential(*layers)


MODELS: dict[str, dict[str, Any]] = {
    "mlp": {"label": "3x512 MLP (CPU)", "batch": 128, "shape": (1, 28, 28), "device": "cpu"},
    "cnn": {"label": "demo CNN (CPU)", "batch": 64, "shape": (1, 28, 28), "device": "cpu"},
    "resnet": {
        "label": "ResNet-18-sized convnet, bf16 autocast (GPU)",
        "batch": 128,
        "shape": (3, 32, 32),
        "device": "cuda",
    },
}


def _make_model(name: str) -> Any:
    if name == "mlp":
        return _mlp()
    if name == "cnn":
        from nbtrack.demo import FashionCNN

        return FashionCNN()
    return _resnet18_like()


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    # Every variant loads NumPy and nbtrack (nothing started), as the tracked ones do: the
    # NumPy import alone moved a bare loop's step time by a few per cent here, and so, in two
    # of three tries, did nbtrack's. (The tracked runs stayed faster than the bare loop
    # even so: see "Reading it" in the report.)
    import numpy  # noqa: F401
    import torch
    import torch.nn.functional as F

    import nbtrack

    name, variant, freq = spec["model"], spec["variant"], spec["log_freq"]
    info = MODELS[name]
    dev = torch.device(info["device"])
    torch.manual_seed(0)
    model = _make_model(name).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    batches = [
        (
            torch.randn(info["batch"], *info["shape"], generator=g).to(dev),
            torch.randint(0, 10, (info["batch"],), generator=g).to(dev),
        )
        for _ in range(8)
    ]
    cuda = dev.type == "cuda"
    if not cuda:
        # One thread by default: a 2-core machine shared with other work then disturbs every
        # variant alike, instead of the variant whose intra-op threads happen to be
        # preempted. With all cores (--threads 2 here) nbtrack's histogram thread competes
        # with torch's own threads for ~8 ms every log_freq steps.
        torch.set_num_threads(spec.get("threads", 1))
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda)

    log: Any = None
    finish: Any = None
    stats: Any = None
    if variant == "nbtrack":
        from nbtrack._run import link

        run: Any = nbtrack.init(project="watch-bench", display=False)
        run.watch(model, log="all", log_freq=freq)
        log, finish = run.log, run.finish
        stats = link(run).watchers[0].stats
    elif variant == "wandb":
        import wandb

        wrun = wandb.init(project="watch-bench", mode="offline")
        wandb.watch(model, log="all", log_freq=freq)
        log, finish = wrun.log, wrun.finish

    def step(i: int) -> None:
        x, y = batches[i % len(batches)]
        with autocast:
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if log is not None:
            # W&B's log() reads the value on the host; nbtrack takes the device tensor.
            log({"loss": loss.detach() if variant == "nbtrack" else loss.item()})

    for i in range(spec["warmup"]):
        step(i)
    if cuda:
        torch.cuda.synchronize()
    sync_checked = False
    if cuda and variant == "nbtrack":
        torch.cuda.set_sync_debug_mode("error")
        sync_checked = True
    times: list[float] = []
    clock = time.perf_counter
    # nbtrack's timers from here on: the warm-up's first snapshots allocate their buffers.
    before = (stats.snapshots, stats.snapshot_s) if stats is not None else (0, 0.0)
    t0 = clock()
    try:
        for i in range(spec["warmup"], spec["warmup"] + spec["steps"]):
            t = clock()
            step(i)
            times.append(clock() - t)
    finally:
        if sync_checked:
            torch.cuda.set_sync_debug_mode("default")
    if cuda:
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - t0
    if finish is not None:
        finish()
    params = sum(p.numel() for p in model.parameters())
    watch: dict[str, Any] = {}
    if stats is not None and stats.snapshots > before[0]:
        watch = {
            "snapshots": stats.snapshots,
            # per snapshot of the timed steps (the warm-up's allocate the buffers)
            "snapshot_ms": (stats.snapshot_s - before[1]) / (stats.snapshots - before[0]) * 1e3,
            "histogram_ms": stats.histogram_s / max(stats.tables, 1) * 1e3,
            "waits": stats.waits,
            "all_binned": stats.tables == stats.snapshots,
        }
    return {
        "step_ms": elapsed / spec["steps"] * 1e3,
        # Without a sync per step a GPU step's host time says little; on the CPU it is exact.
        "median_ms": sorted(times)[len(times) // 2] * 1e3 if not cuda else None,
        # In-process, so free of the noise between processes: what the slowest steps (as
        # many as there are logging steps) cost above the median step, spread over all steps.
        "spike_ms": _spikes(times, spec["steps"] // freq) * 1e3 if not cuda else None,
        "params": params,
        "watch": watch,
        "threads": torch.get_num_threads(),
        "sync_checked": sync_checked,
        "device": torch.cuda.get_device_name() if cuda else "cpu",
    }


def _spikes(times: list[float], k: int) -> float:
    if not times or k <= 0:
        return 0.0
    s = sorted(times)
    med = s[len(s) // 2]
    return sum(t - med for t in s[-k:]) / len(times)


# =========================================================================================
# Driver side
# =========================================================================================


def run_worker(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="nbtrack-watch-bench-") as tmp:
        try:
            proc = subprocess.run(
                [sys.executable, __file__, "--worker", json.dumps(spec)],
                cwd=tmp,
                env=worker_env(
                    Path(tmp), OMP_NUM_THREADS=str(spec.get("threads", 1)), **_FIXED_MALLOC
                ),
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout:.0f} s"}
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_MARK):
            out: dict[str, Any] = json.loads(line[len(RESULT_MARK) :])
            return out
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return {"error": " / ".join(tail) or f"exit code {proc.returncode}"}


def _importable(module: str) -> bool:
    code = f"import {module}"
    return subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def _cuda() -> bool:
    code = "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"
    return subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def _ratio_stats(ratios: list[float]) -> dict[str, float]:
    """Median per-round overhead (%) and the spread of the per-round ratios."""
    rs = sorted(ratios)
    q = statistics.quantiles(rs, n=4, method="inclusive") if len(rs) >= 2 else [rs[0]] * 3
    return {
        "median": (statistics.median(rs) - 1) * 100,
        "q1": (q[0] - 1) * 100,
        "q3": (q[2] - 1) * 100,
        "min": (rs[0] - 1) * 100,
        "max": (rs[-1] - 1) * 100,
        "n": len(rs),
    }


def summarize(runs: list[dict[str, dict[str, Any]]], variants: list[str]) -> dict[str, Any]:
    """Per variant: its runs, and its per-round ratios to the bare loop of the same round."""
    out: dict[str, Any] = {}
    for v in variants:
        outs = [rnd[v] for rnd in runs if v in rnd]
        ok = [o for o in outs if "error" not in o]
        if not ok:
            out[v] = {"error": outs[-1]["error"] if outs else "not run"}
            continue
        ratios = [
            rnd[v]["step_ms"] / rnd["none"]["step_ms"]
            for rnd in runs
            if "error" not in rnd.get(v, {"error": 1})
            and "error" not in rnd.get("none", {"error": 1})
        ]
        watch = [o["watch"] for o in ok if o.get("watch")]
        out[v] = {
            "params": ok[0]["params"],
            "sync_checked": ok[0]["sync_checked"],
            "step_ms": statistics.median(o["step_ms"] for o in ok),
            "median_ms": statistics.median(o["median_ms"] for o in ok)
            if ok[0].get("median_ms") is not None
            else None,
            "spike_pct": statistics.median(o["spike_ms"] / o["median_ms"] * 100 for o in ok)
            if ok[0].get("spike_ms") is not None
            else None,
            "rounds": [o["step_ms"] for o in ok],
            "ratio": _ratio_stats(ratios) if ratios and v != "none" else None,
            "snapshot_ms": statistics.median(w["snapshot_ms"] for w in watch) if watch else None,
            "histogram_ms": statistics.median(w["histogram_ms"] for w in watch) if watch else None,
            "waits": sum(w["waits"] for w in watch) if watch else None,
            "all_binned": all(w["all_binned"] for w in watch) if watch else None,
            "errors": len(outs) - len(ok),
        }
    return out


def build_report(
    res: dict[tuple[str, int], Any], args: argparse.Namespace, variants: list[str], load: str
) -> str:
    lines = [f"Command: `{command_line()}`", ""]
    lines += machine_lines(["nbtrack", "torch", "wandb", "numpy"], load=load)
    lines += [
        f"- Harness: per model, {args.rounds} rounds; a round runs one fresh subprocess per "
        f"variant ({', '.join(variants)}) back to back, in an order that alternates between "
        f"rounds (forward, then reversed). Each run times {args.steps} training steps after "
        f"{args.warmup} warm-up steps; its figure is their total wall time over their number "
        "(the mean step time, so the logging steps' cost is spread as a user feels it). "
        "'overhead' is the median over rounds of the variant's step time over the bare "
        "loop's in the same round, minus one; 'spread' gives the quartiles and the extremes "
        "of those per-round ratios. 'step ms' is the median over rounds. 'slow-step cost / "
        "step' (in-process, median over rounds): the time the slowest steps (as many as there "
        "are logging steps) took above the median step, spread over all steps, as a share of "
        "the median step; on a bare loop it shows the noise floor. 'training thread / "
        "histogram thread ms': nbtrack's own timers, per CPU snapshot (one a logging step): "
        "the copy and hand-over on the training thread, the binning on the histogram thread.",
        "- Loop: Adam, cross-entropy, 8 fixed synthetic batches cycled; nbtrack and W&B also log "
        'the loss every step; both watch with `log="all"`.',
        "",
    ]
    rows = []
    verdicts = []
    for (name, threads), r in res.items():
        info = MODELS[name]
        label = info["label"] + (
            f", {threads} torch thread{'s' * (threads > 1)}" if threads else ""
        )
        for v in variants:
            m = r.get(v)
            if m is None:
                continue
            if "error" in m:
                rows.append([label, v, str(r["log_freq"]), *["-"] * 7, m["error"]])
                continue
            o = m["ratio"]
            rows.append(
                [
                    label,
                    v,
                    str(r["log_freq"]),
                    f"{m['params']:,}",
                    fmt(m["step_ms"], 3),
                    "-" if o is None else f"{o['median']:+.1f}%",
                    "-"
                    if o is None
                    else f"{o['q1']:+.1f}..{o['q3']:+.1f}% (all {o['min']:+.1f}..{o['max']:+.1f}%)",
                    "-" if m["spike_pct"] is None else f"{m['spike_pct']:.2f}%",
                    "-"
                    if m["snapshot_ms"] is None
                    else f"{m['snapshot_ms']:.2f} / {m['histogram_ms']:.2f}"
                    + (f" ({m['waits']} waits)" if m["waits"] else ""),
                    ", ".join(f"{x:.3f}" for x in m["rounds"])
                    + (" (nbtrack under sync-debug 'error')" if m.get("sync_checked") else "")
                    + (f"; {m['errors']} failed" if m["errors"] else ""),
                ]
            )
        nb, wb = r.get("nbtrack"), r.get("wandb")
        if nb and "error" not in nb and nb["ratio"]:
            o_nb = nb["ratio"]["median"]
            target = 2.0 if info["device"] == "cuda" else 3.0
            v = f"- {label}: nbtrack's overhead {o_nb:+.1f}% (median of {nb['ratio']['n']} "
            v += f"paired rounds; target <= {target:.0f}%: "
            v += "met" if o_nb <= target else "NOT met"
            if o_nb < 0:
                v += " (a negative overhead is the noise between processes, not a speed-up)"
            v += f"; the worst round {nb['ratio']['max']:+.1f}%"
            if nb["all_binned"] is False:
                v += "; NOT every snapshot was binned"
            if nb["snapshot_ms"] is not None and nb["median_ms"]:
                share = nb["snapshot_ms"] / (r["log_freq"] * nb["median_ms"]) * 100
                v += (
                    f"; on the training thread a logging step costs {nb['snapshot_ms']:.2f} ms, "
                    f"{share:.2f}% spread over the {r['log_freq']} steps"
                )
            if wb and "error" not in wb and wb["ratio"]:
                o_wb = wb["ratio"]["median"]
                v += f"); W&B's {o_wb:+.1f}%"
                if o_wb > 0:
                    share = max(o_nb, 0.0) / o_wb
                    v += f"; nbtrack's / W&B's = {share:.2f} (target <= 0.20: "
                    v += "met)" if share <= 0.2 else "NOT met)"
                else:
                    v += " (within the noise: no ratio)"
            else:
                v += ")"
            verdicts.append(v)
    header = [
        "model", "variant", "log_freq", "parameters", "step ms", "overhead",
        "spread (quartiles; extremes)", "slow-step cost / step",
        "training thread / histogram thread ms", "rounds (ms)",
    ]  # fmt: skip
    lines += [md_table(header, rows), "", "Against the targets:", "", *verdicts]
    lines += [
        "",
        "Reading it: between processes the step time of a shared machine varies by more than "
        "the few percent sought here (the bare loop's own rounds show how much); pairing the "
        "variants within a round takes the slow drift out, not the noise of one run. The "
        "in-process 'slow-step cost / step' column resolves the logging steps' cost; compare "
        "it with the bare loop's, the noise floor. Every worker runs with fixed glibc "
        "malloc thresholds (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_): with glibc's "
        "moving threshold, a tracked run (which once freed a few MB) kept torch's per-step "
        "temporaries on the heap while the bare loop mapped and unmapped them every step, "
        "and the bare loop came out 15-50% slower than the tracked ones.",
    ]
    if all(t <= 1 for _, t in res):
        lines += [
            "",
            "Torch threads: these CPU figures use one torch thread, so nbtrack's histogram "
            "thread has the second core to itself (when the machine's other work leaves it "
            "free). A loop with torch on every core (`--threads 1,2` here) shares the cores "
            "with it: the ~8 ms of binning a logging step is then taken from torch's threads "
            "instead of the training thread, and little of the gain is left.",
        ]
    if not any(MODELS[n]["device"] == "cuda" for n, _ in res):
        lines += [
            "",
            "GPU (ResNet-18-sized convnet, bf16 autocast, `log_freq=10`, target <= 2%, and the "
            'loop under `torch.cuda.set_sync_debug_mode("error")`): still to be measured; no '
            "GPU on the machine that ran this. The same command measures it where CUDA is "
            "available.",
        ]
    lines += [
        "",
        "Gradients in nbtrack's histograms are the final ones (after accumulation, unscaled "
        "under GradScaler), taken at `optimizer.step()`; W&B's are taken by tensor hooks "
        "during backward.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--models", default=None, help="comma list of mlp,cnn,resnet (default: all)")
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--threads", default="1", help="comma list of torch threads for CPU models")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--quick", action="store_true", help="2 rounds, 200 steps")
    p.add_argument("--no-docs", action="store_true", help="print only; leave docs/ alone")
    args = p.parse_args(argv)
    if args.worker:
        out = worker(json.loads(args.worker))
        sys.stdout.write("\n" + RESULT_MARK + json.dumps(out) + "\n")
        return 0
    if args.quick:
        args.rounds, args.steps = 2, 200
    load = loadavg()
    cuda = _cuda()
    models = (
        args.models.split(",") if args.models else ["mlp", "cnn"] + (["resnet"] if cuda else [])
    )
    variants = [v for v in args.variants.split(",") if v in VARIANTS]
    if "none" not in variants:
        variants.insert(0, "none")  # the baseline of every ratio
    if "wandb" in variants and not _importable("wandb"):
        print("wandb is not importable here: run from bench/.venv (bash bench/setup.sh)")
        variants.remove("wandb")
    thread_counts = [int(t) for t in args.threads.split(",")]
    res: dict[tuple[str, int], Any] = {}
    for name in models:
        on_cpu = MODELS[name]["device"] == "cpu"
        freq = 100 if on_cpu else 10
        for threads in thread_counts if on_cpu else [0]:
            runs: list[dict[str, dict[str, Any]]] = []
            for rnd in range(args.rounds):
                order = variants if rnd % 2 == 0 else variants[::-1]
                outs: dict[str, dict[str, Any]] = {}
                for v in order:
                    spec = {"model": name, "variant": v, "log_freq": freq, "steps": args.steps,
                            "warmup": args.warmup, "threads": threads or 1}  # fmt: skip
                    outs[v] = run_worker(spec, timeout=1800)
                    print(f"{name} threads={threads} round {rnd + 1} {v}: {outs[v]}", flush=True)
                    if v == "wandb":
                        time.sleep(3)  # W&B's service process outlives its worker for a moment
                runs.append(outs)
            res[(name, threads)] = {"log_freq": freq, **summarize(runs, variants)}
    report = build_report(res, args, variants, load)
    print(report)
    if not args.no_docs:
        write_docs_section("Watch overhead", "bench:watch_overhead", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

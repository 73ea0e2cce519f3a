"""watch's cost measured inside one process: blocks of steps with and without it, interleaved.

`watch_overhead.py` pairs fresh processes, whose step times differ by more than the few per
cent sought (the allocator's state, where the scheduler puts the process). Here one process
trains the 3x512 MLP in blocks of `--steps` steps, cycling through the variants in an order
that reverses every round, so every variant sees the same process, heap and machine drift:

- ``bare``: the training loop alone;
- ``log``: plus ``run.log({"loss": loss.detach()})`` every step;
- ``log+hooks``: plus ``run.watch(model, log="all")`` with a log_freq never reached (the
  hooks' cost on every step, no histogram);
- ``log+watch``: plus ``run.watch(model, log="all", log_freq=100)``.

It prints, per variant, the median over rounds of its block's mean step time, that median
over the bare loop's, and the median of the per-round ratios to the bare block. One torch thread, as in `watch_overhead.py`.

    bench/.venv/bin/python bench/watch_ab.py --rounds 12 --steps 200
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F

import nbtrack

VARIANTS = ("bare", "log", "log+hooks", "log+watch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    layers: list[torch.nn.Module] = [torch.nn.Linear(784, 512), torch.nn.ReLU()]
    for _ in range(2):
        layers += [torch.nn.Linear(512, 512), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(512, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    batches = [
        (torch.randn(128, 784, generator=g), torch.randint(0, 10, (128,), generator=g))
        for _ in range(8)
    ]
    run = nbtrack.init(project="watch-ab", dir=tempfile.mkdtemp(), display=False)

    def block(variant: str, n: int) -> float:
        t0 = time.perf_counter()
        for i in range(n):
            x, y = batches[i % len(batches)]
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if variant != "bare":
                run.log({"loss": loss.detach()})
        return (time.perf_counter() - t0) / n * 1e3

    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for r in range(args.rounds):
        for variant in VARIANTS if r % 2 == 0 else VARIANTS[::-1]:
            if variant == "log+hooks":
                run.watch(model, log="all", log_freq=10**9)
            elif variant == "log+watch":
                run.watch(model, log="all", log_freq=100)
            block(variant, 20)  # warm-up of the block (and of the watch's first snapshot)
            times[variant].append(block(variant, args.steps))
            if variant in ("log+hooks", "log+watch"):
                run.unwatch(model)
    run.finish()
    base = statistics.median(times["bare"])
    print(f"3x512 MLP, 1 torch thread, {args.rounds} rounds of {args.steps}-step blocks")
    print(
        "| variant | step ms (median) | vs bare | paired: median of per-round ratios | blocks (ms) |"
    )
    print("| --- | ---: | ---: | ---: | --- |")
    for variant, ts in times.items():
        med = statistics.median(ts)
        # Each round's block over the bare block of the same round: drift cancels.
        paired = statistics.median(t / b for t, b in zip(ts, times["bare"], strict=True))
        shown = ", ".join(f"{t:.2f}" for t in ts)
        print(f"| {variant} | {med:.2f} | {med / base - 1:+.1%} | {paired - 1:+.1%} | {shown} |")


if __name__ == "__main__":
    main()

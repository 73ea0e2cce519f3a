"""A project of runs to compare, written to a real store by real `nbtrack.init` runs: varied
`lr` (over four decades: a log axis), `batch_size`, a categorical `optimizer`, one run
without `dropout`, and `val/acc` that is best for one known run.

>>> best = make_project(tmp_path, "sweep")   # the id of the run with the best val/acc
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import nbtrack

OPTIMIZERS = ("adam", "sgd", "adamw")
LRS = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 2e-5, 5e-4, 5e-2)
BATCHES = (16, 32, 64, 128)


def acc_of(lr: float, batch: int) -> float:
    """The final val/acc of a run: best near lr=1e-3, a little better with smaller batches."""
    return 0.95 - 0.08 * abs(math.log10(lr) + 3) - 0.01 * math.log2(batch / 16)


def make_project(
    root: Path, project: str = "sweep", n: int = 12, steps: int = 60, **extra: Any
) -> str:
    """`n` finished runs of `project` under `root`; the id of the one with the best val/acc."""
    best, best_acc = "", -1.0
    for i in range(n):
        lr = LRS[i % len(LRS)]
        batch = BATCHES[i % len(BATCHES)]
        config: dict[str, Any] = {"lr": lr, "batch_size": batch, "optimizer": OPTIMIZERS[i % 3]}
        if i != 3:  # run 3 has no dropout: the parallel coordinates draw it on "missing"
            config["dropout"] = 0.1 * (i % 4)
        run = nbtrack.init(
            project=project, dir=root, name=f"run-{i:02d}", config=config, display=False,
            tags=["cnn"] if i % 2 == 0 else ["mlp"], **extra,
        )  # fmt: skip
        final = acc_of(lr, batch)
        for s in range(steps):
            frac = (s + 1) / steps
            run.log(
                {"train/loss": (1 - final) + 2.0 * (1 - frac) ** 2 + 0.01 * (i % 5),
                 "val/acc": final * (1 - 0.5 * (1 - frac) ** 2)},
                step=s,
            )  # fmt: skip
        run.finish(quiet=True)
        if final > best_acc:
            best, best_acc = run.id, final
    return best

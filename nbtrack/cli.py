"""The ``nbtrack`` command: ``demo``, ``runs``.

>>> $ nbtrack demo
>>> $ nbtrack runs fashion-cnn
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence


def _demo(args: argparse.Namespace) -> int:
    try:
        import torch  # noqa: F401
    except ImportError:
        print("nbtrack demo needs PyTorch: pip install torch", file=sys.stderr)
        return 1
    import nbtrack
    from nbtrack import demo

    config = {**demo.DEFAULTS, "epochs": args.epochs}
    run = nbtrack.init(
        project=args.project,
        name=args.name,
        config=config,
        tags=["demo", "cnn"],
        notes="nbtrack demo: a small CNN on generated Fashion-MNIST-like images",
        dir=args.dir,
        display=False,
    )
    where = f" logging to {run.dir}" if isinstance(run, nbtrack.Run) else " (disabled)"
    print(f"nbtrack: run {run.path} ({run.name}){where}")
    t0 = time.perf_counter()
    with run:
        result = demo.train(run)
    print(
        f"nbtrack: finished {result.steps} steps in {time.perf_counter() - t0:.1f} s, "
        f"val/acc {result.val_acc:.3f}, val/loss {result.val_loss:.3f}"
    )
    print(
        f"See it with:\n  nbtrack runs {args.project}\n  in a notebook: nbtrack.show({run.path!r})"
    )
    return 0


def _runs(args: argparse.Namespace) -> int:
    import nbtrack
    from nbtrack._runs_table import format_runs_table

    with nbtrack.Api(args.dir) as api:  # no store there: main() says so
        print(format_runs_table(api.runs(args.project)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="nbtrack", description="Experiment tracking in the notebook."
    )
    parser.add_argument(
        "--dir", default=None, help="store root (default: $NBTRACK_DIR or ./nbtrack)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="train a small CNN on generated images and log it")
    p.add_argument("--project", default="nbtrack-demo")
    p.add_argument("--name", default=None)
    p.add_argument("--epochs", type=int, default=4)
    p.set_defaults(func=_demo)

    p = sub.add_parser("runs", help="list runs as a table")
    p.add_argument("project", nargs="?", default=None)
    p.set_defaults(func=_runs)

    args = parser.parse_args(argv)
    from nbtrack.errors import NbtrackError

    try:
        return int(args.func(args))
    except NbtrackError as e:  # a missing, damaged, newer or full store: its message says it
        print(e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

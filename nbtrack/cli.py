"""The ``nbtrack`` command: ``demo``, ``runs``, ``login``, ``logout``, ``sync``, ``server``.

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


def _login(args: argparse.Namespace) -> int:
    from nbtrack.sync.credentials import credentials_path, login

    creds = login(args.host, args.key, entity=args.entity)
    print(
        f"nbtrack: logged in to {creds.host} as {creds.user}; runs go to entity "
        f"{creds.entity} (key kept in {credentials_path()}, readable by you only)"
    )
    return 0


def _logout(args: argparse.Namespace) -> int:
    from nbtrack.sync.credentials import forget

    print("nbtrack: logged out" if forget() else "nbtrack: was not logged in")
    return 0


def _sync(args: argparse.Namespace) -> int:
    from nbtrack.sync.command import sync_runs

    return sync_runs(args.runs, all_runs=args.all, entity=args.entity, root=args.dir)


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

    p = sub.add_parser("login", help="log in to a team server: runs sync there from now on")
    p.add_argument("--host", default=None, help="the server, e.g. http://tracking:8080")
    p.add_argument("--key", default=None, help="the API key (asked, hidden, when not given)")
    p.add_argument("--entity", default=None, help="where runs go (default: your user)")
    p.set_defaults(func=_login)

    p = sub.add_parser("logout", help="forget the saved server credentials")
    p.set_defaults(func=_logout)

    p = sub.add_parser("sync", help="upload runs (or what is left of them) to the server")
    p.add_argument("runs", nargs="*", help="project/id of each run (or its id)")
    p.add_argument("--all", action="store_true", help="every run of the store not yet uploaded")
    p.add_argument("--entity", default=None, help="upload to this entity (default: yours)")
    p.set_defaults(func=_sync)

    from nbtrack.server.cli import add_parser as add_server_parser

    add_server_parser(sub)

    args = parser.parse_args(argv)
    from nbtrack.errors import NbtrackError

    try:
        return int(args.func(args))
    except NbtrackError as e:  # a missing, damaged, newer or full store: its message says it
        print(e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""The ``nbtrack`` command: ``demo``, ``runs``, ``login``, ``logout``, ``sync``, ``share``,
``project``, ``export``, ``ui``, ``server``.

>>> $ nbtrack demo
>>> $ nbtrack runs fashion-cnn
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any


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
    from nbtrack._run import link

    where = f" logging to {link(run).root}" if isinstance(run, nbtrack.Run) else " (disabled)"
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
    if args.html and isinstance(run, nbtrack.Run):
        from nbtrack.export import export_run

        # The dashboard in any browser, with no Jupyter: one file that needs no network.
        out = export_run(run.path, args.html, dir=link(run).root)
        print(f"  in a browser, offline: {out}\n  {out.as_uri()}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from nbtrack.export import export_project, export_run

    if (args.run is None) == (args.project is None):
        print("nbtrack export: give a RUN, or --project P (one of them)", file=sys.stderr)
        return 2
    where = {"dir": args.dir, "host": args.host, "entity": args.entity}
    try:
        if args.run is not None:
            out = export_run(args.run, args.output, **where)
        else:
            out = export_project(args.project, args.output, **where)
    except (OSError, ValueError) as e:  # a folder that is not there, an ambiguous id
        print(e, file=sys.stderr)
        return 1
    size = out.stat().st_size
    print(f"nbtrack: wrote {out} ({size / 1e6:.1f} MB); open it in any browser, offline:")
    print(f"  {out.as_uri()}")
    return 0


def _runs(args: argparse.Namespace) -> int:
    import nbtrack
    from nbtrack._runs_table import format_runs_table

    with nbtrack.Api(args.dir) as api:  # no store there: main() says so
        try:
            runs = api.runs(args.project)
        except ValueError as e:  # no such project: the message names the ones there are
            print(e, file=sys.stderr)
            return 1
        print(format_runs_table(runs))
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


def _ui(args: argparse.Namespace) -> int:
    from nbtrack.ui import serve

    return serve(args.dir, port=args.port, browser=not args.no_browser)


def _share(args: argparse.Namespace) -> int:
    from nbtrack.sync import shares

    words = list(args.words)
    verb = words.pop(0) if words and words[0] in ("list", "revoke") else "create"
    try:
        shares.parse_expires(args.expires)
    except ValueError as e:
        print(f"nbtrack share --expires: {e}", file=sys.stderr)
        return 2
    with shares.ShareClient() as client:
        if verb == "revoke":
            if len(words) != 1:
                print(
                    "nbtrack share revoke: give one link id (nbtrack share list shows them)",
                    file=sys.stderr,
                )
                return 2
            client.revoke(words[0])
            print(f"nbtrack: revoked share link {words[0]}; it answers 404 from now on")
            return 0
        if len(words) > 1:
            print(f"nbtrack share: one run at a time, not {' '.join(words)}", file=sys.stderr)
            return 2
        project = args.project if isinstance(args.project, str) else None
        if words and project is not None:
            print("nbtrack share: give a run or --project P, not both", file=sys.stderr)
            return 2
        target: shares.ShareTarget | None = None
        if words:
            target = shares.resolve_run(words[0], client, args.entity, args.dir)
            if args.project is True:
                target = shares.ShareTarget(target.entity, target.project)
        elif project is not None:
            target = shares.resolve_project(project, client, args.entity)
        if verb == "list":
            links = (
                client.list(target.entity, target.project, target.run_id)
                if target is not None
                else client.list()
            )
            print(_links_table(links))
            return 0
        if target is None:
            print("nbtrack share: which run? Give project/id (or --project P)", file=sys.stderr)
            return 2
        link = client.create(target, args.expires, args.show_private)
        print(link["url"])
        expires = shares.when(link.get("expires_at"))
        print(
            f"nbtrack: share link {link.get('id')} of {target.scope} {target}, read-only, "
            f"expires {expires}; revoke it with: nbtrack share revoke {link.get('id')}",
            file=sys.stderr,
        )
    return 0


def _links_table(links: list[dict[str, Any]]) -> str:
    from nbtrack.sync.shares import when

    if not links:
        return "no live share links"
    head = ("id", "scope", "of", "created", "expires", "private", "token")
    rows = [
        (
            str(x.get("id", "")),
            str(x.get("scope", "")),
            "/".join(str(v) for v in (x.get("entity"), x.get("project"), x.get("run_id")) if v),
            when(x.get("created_at")),
            when(x.get("expires_at")),
            "shown" if x.get("show_private") else "hidden",
            str(x.get("shown", "")),
        )
        for x in links
    ]
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in (head, *rows)
    )


def _project(args: argparse.Namespace) -> int:
    from nbtrack.sync import shares

    with shares.ShareClient() as client:
        target = shares.resolve_project(args.name, client)
        client.set_public(target.entity, target.project, args.public)
    if args.public:
        print(
            f"nbtrack: project {target} is public: its run and project pages open without a sign-in"
        )
    else:
        print(f"nbtrack: project {target} is private to {target.entity} (share links still open)")
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
    p.add_argument(
        "--html", default="nbtrack-demo.html", metavar="PATH",
        help="then write the run's dashboard to this HTML file (default: %(default)s; '' for none)",
    )  # fmt: skip
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

    p = sub.add_parser(
        "share",
        help="share links: `share RUN` makes one, `share list`, `share revoke ID`",
        description="nbtrack share RUN [--project] [--expires 7d] [--show-private] prints a "
        "new link's URL; nbtrack share --project P makes a project link; nbtrack share list "
        "[RUN | --project P]; nbtrack share revoke ID. RUN is project/id or id (as nbtrack "
        "sync takes it), or entity/project/id.",
    )
    p.add_argument("words", nargs="*", metavar="RUN | list [RUN] | revoke ID")
    p.add_argument(
        "--project", nargs="?", const=True, default=None, metavar="P",
        help="a link of the whole project: RUN's, or [entity/]P",
    )  # fmt: skip
    p.add_argument("--expires", default=None, help="30m, 12h, 7d, seconds (default: never)")
    p.add_argument(
        "--show-private", action="store_true", help="show host, user and git remote to viewers"
    )
    p.add_argument("--entity", default=None, help="the run's entity on the server")
    p.set_defaults(func=_share)

    p = sub.add_parser("project", help="a project on the server: set-public, set-private")
    psub = p.add_subparsers(dest="action", required=True)
    for action, what in (("set-public", "open without a sign-in"), ("set-private", "entity only")):
        q = psub.add_parser(action, help=f"make the project's pages {what}")
        q.add_argument("name", metavar="[ENTITY/]PROJECT")
        q.set_defaults(func=_project, public=action == "set-public")

    p = sub.add_parser(
        "export",
        help="write a run's dashboard (or a project's compare view) to one HTML file",
        description="nbtrack export RUN -o run.html, or nbtrack export --project P -o p.html: "
        "one file that opens in any browser with no network. RUN is project/id or id (as "
        "nbtrack runs shows it); from the store of --dir, or from the server --host.",
    )
    p.add_argument("run", nargs="?", default=None, metavar="RUN")
    p.add_argument("--project", default=None, metavar="P", help="the compare view of project P")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the HTML file to write")
    p.add_argument("--host", default=None, help="read from this team server (nbtrack login first)")
    p.add_argument("--entity", default=None, help="the entity on the server")
    p.set_defaults(func=_export)

    p = sub.add_parser(
        "ui",
        help="serve the store's runs as web pages on 127.0.0.1 (no sign-in), until Ctrl-C",
        description="nbtrack ui serves the store of --dir in a browser: its projects, each "
        "project's compare view and each run's dashboard, live while runs train, on "
        '127.0.0.1 only. Needs the server extra: pip install "nbtrack[server]".',
    )
    p.add_argument("--port", type=int, default=8090, help="0: any free port (default 8090)")
    p.add_argument("--no-browser", action="store_true", help="print the URL, open no browser")
    p.set_defaults(func=_ui)

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

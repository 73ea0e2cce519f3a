"""``nbtrack sync``: upload runs, or what is left of them, to the logged-in server.

For runs of crashed kernels, offline runs, runs logged while the server was down or before
the user logged in. A run goes where its earlier upload went (its entity, recorded in the
store's ``uploads`` table), else to the login's entity or ``--entity``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbtrack.errors import LoginError, RunNotFoundError

if TYPE_CHECKING:
    from nbtrack.store.db import Store


def _pick(store: Store, names: list[str], all_runs: bool) -> list[dict[str, Any]]:
    rows = store.run_rows()
    if all_runs or not names:
        return rows
    out = []
    for name in names:
        project, _, rid = name.rpartition("/")
        found = [r for r in rows if r["id"] == rid and (not project or r["project"] == project)]
        if not found:
            raise RunNotFoundError(f"nbtrack sync: no run {name!r} in the store {store.root}")
        if len(found) > 1:
            raise RunNotFoundError(
                f"nbtrack sync: {name!r} names runs of several projects; give project/id"
            )
        out.extend(found)
    return out


def _target_entity(store: Store, rk: int, host: str) -> str | None:
    for target in store.upload_targets(rk):
        h, _, entity = target.partition("|")
        if h == host and entity:
            return entity
    return None


def sync_runs(
    names: list[str],
    *,
    all_runs: bool = False,
    entity: str | None = None,
    root: str | os.PathLike[str] | None = None,
) -> int:
    from nbtrack.store.db import Store, default_root, effective_state
    from nbtrack.sync.client import ServerError
    from nbtrack.sync.credentials import saved
    from nbtrack.sync.uploader import Uploader

    creds = saved()
    if creds is None:
        raise LoginError(
            "nbtrack sync: not logged in to a server: run `nbtrack login --host URL` first "
            "(or set NBTRACK_HOST and NBTRACK_API_KEY)"
        )
    if not creds.entity:  # logged in through the environment: ask whose key it is
        from nbtrack.sync.credentials import login

        creds = login(creds.host, creds.key, save_file=False)
    store_root = Path(root) if root is not None else default_root()
    store = Store(store_root)
    try:
        rows = _pick(store, names, all_runs)
        plan = []
        for row in rows:
            to = entity or _target_entity(store, row["rk"], creds.host) or creds.entity
            target = creds.target(to)
            if store.upload_state(row["rk"], target).done and not names:
                continue
            if effective_state(row) == "running" and not names:
                print(f"  {row['project']}/{row['id']}: still being logged; its process uploads it")
                continue
            plan.append((row, to))
    finally:
        store.close()
    if not plan:
        print("nbtrack sync: nothing to upload")
        return 0
    failed = 0
    tty = sys.stderr.isatty()
    for row, to in plan:
        up = Uploader(store_root, row["rk"], row["project"], row["id"], creds, to, say=_quiet)
        label = f"{to}/{row['project']}/{row['id']}"
        t0 = time.perf_counter()

        def progress(behind: int, label: str = label) -> None:
            if tty and behind:
                print(f"\r  {label}: {behind:,} points to go   ", end="", file=sys.stderr)

        try:
            up.sync_now(progress)
        except ServerError as e:
            failed += 1
            print(f"\r  {label}: failed: {e}", file=sys.stderr)
            continue
        print(f"\r  {label}: uploaded ({time.perf_counter() - t0:.1f} s) {up.status.url}")
    print(f"nbtrack sync: {len(plan) - failed} of {len(plan)} runs on {creds.host}")
    return 1 if failed else 0


def _quiet(message: str) -> None:
    # sync reports each run itself; what it leaves out (a media file missing here, or over
    # the server's size limit) it says.
    if "is not uploaded" in message:
        print(f"\r  {message}", file=sys.stderr)

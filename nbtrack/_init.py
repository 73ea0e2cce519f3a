"""`nbtrack.init()`: open a run in the store (new or resumed) and make it the current one."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbtrack import _current
from nbtrack._config import as_dict
from nbtrack._names import default_name, new_id
from nbtrack._run import MODES, Run, link

if TYPE_CHECKING:
    from nbtrack._interface import RunProtocol
    from nbtrack.store.db import Store
    from nbtrack.sync.credentials import Credentials


def init(
    project: str | None = None,
    name: str | None = None,
    notes: str | None = None,
    tags: list[str] | tuple[str, ...] | None = None,
    config: Any = None,
    entity: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    id: str | None = None,
    resume: bool | str | None = None,
    mode: str | None = None,
    display: bool = True,
) -> RunProtocol:
    """Start a run and make it the current one.

    >>> run = nbtrack.init(project="fashion-cnn", config={"lr": 1e-3, "epochs": 10})
    >>> run.log({"train/loss": 0.42})
    >>> run.finish()

    `dir` (or the ``NBTRACK_DIR`` environment variable) is the store's root folder, by
    default ``./nbtrack``. ``mode="disabled"`` returns a run on which every call is a no-op.
    `resume` ("allow", "must", True) continues the run `id` when it exists.
    """
    mode = mode or os.environ.get("NBTRACK_MODE") or None
    if mode is not None and mode not in MODES:
        raise ValueError(f"nbtrack.init: mode must be one of {', '.join(MODES)}, not {mode!r}")
    if entity is not None and (not isinstance(entity, str) or not entity.strip()):
        raise ValueError(f"nbtrack.init: entity must be a non-empty string, not {entity!r}")
    project = project or os.environ.get("NBTRACK_PROJECT") or "uncategorized"
    if not isinstance(project, str) or not project.strip():
        raise ValueError(f"nbtrack.init: project must be a non-empty string, not {project!r}")
    if isinstance(tags, str):
        raise TypeError("nbtrack.init: tags must be a list of strings, not one string")
    tags_list = [str(t) for t in (tags or ())]
    config_dict = as_dict(config)
    with _current.lock:
        previous = _current.current()
        if previous is not None:
            # As W&B does in notebooks: a new init() ends the previous run.
            previous.finish()
        if mode == "disabled":
            from nbtrack._disabled import DisabledRun

            # It becomes the current run too, so module-level nbtrack.log() is a no-op as well.
            disabled = DisabledRun(project=project, name=name, config=config_dict)
            _current.set_current(disabled)
            return disabled
        from nbtrack import _process
        from nbtrack.store.db import Store, default_root

        creds = _server_for(mode, entity)
        _process.install()
        root = Path(dir) if dir is not None else default_root()
        store = Store(root)
        try:
            run = _open_run(store, root, project, name, notes, tags_list, config_dict, id, resume)
        finally:
            store.close()
        _current.set_current(run)
        lnk = link(run)
        _process.track(lnk)  # imported above
        if creds is not None:
            from nbtrack.sync.uploader import Uploader

            lnk.start_upload(Uploader(root, lnk.rk, project, run.id, creds, entity))
    if display:
        _show_dashboard(run)
    return run


def _server_for(mode: str | None, entity: str | None) -> Credentials | None:
    """The server this run syncs to: the logged-in one, unless the mode says offline."""
    if mode == "offline":
        return None
    from nbtrack.sync.credentials import saved

    creds = saved()
    if creds is None and mode == "online":
        raise ValueError(
            "nbtrack.init: mode='online' needs a server to sync to: call "
            "nbtrack.login(host=..., key=...) first (or set NBTRACK_HOST and NBTRACK_API_KEY); "
            "mode='offline' logs locally only"
        )
    return creds


def _open_run(
    store: Store,
    root: Path,
    project: str,
    name: str | None,
    notes: str | None,
    tags: list[str],
    config: dict[str, Any],
    run_id: str | None,
    resume: bool | str | None,
) -> Run:
    if resume not in (None, False, True, "allow", "must", "never", "auto"):
        raise ValueError(
            f"nbtrack.init: resume must be 'allow', 'must', 'never' or a bool, not {resume!r}"
        )
    if run_id is not None:
        if not isinstance(run_id, str) or not run_id or "/" in run_id:
            raise ValueError(
                f"nbtrack.init: id must be a non-empty string without '/', not {run_id!r}"
            )
        row = store.run_row(project, run_id)
        if row is not None:
            if resume in (None, False, "never"):
                raise ValueError(
                    f"nbtrack.init: run {project}/{run_id} exists already; pass resume='allow' "
                    "to continue it, or choose another id"
                )
            return _resume(store, root, row, project, notes, tags, config)
        if resume == "must":
            raise ValueError(f"nbtrack.init: resume='must' but there is no run {project}/{run_id}")
    if name is None:
        name = default_name(store.count_runs(project) + 1)
    fields = {"project": project, "name": str(name), "notes": notes, "tags": tags, "config": config}
    for _ in range(5):
        rid = run_id or new_id()
        try:
            rk = store.create_run({**fields, "id": rid})
            break
        except Exception as e:  # an id collision: draw another
            if run_id is not None or "UNIQUE" not in str(e):
                raise
    else:
        raise RuntimeError("nbtrack.init: could not draw a unique run id")
    return Run(
        root=root,
        project=project,
        rk=rk,
        run_id=rid,
        name=str(name),
        notes=notes,
        tags=tags,
        config=config,
        created_at=time.time(),
    )


def _resume(
    store: Store,
    root: Path,
    row: dict[str, Any],
    project: str,
    notes: str | None,
    tags: list[str],
    config: dict[str, Any],
) -> Run:
    from nbtrack.store.db import effective_state

    path = f"{project}/{row['id']}"
    if effective_state(row) == "running":
        raise RuntimeError(
            f"nbtrack.init: run {path} is still being logged by process {row['pid']} on "
            f"{row['host']}; resuming it would write it twice. Finish it there first, or "
            "start a new run."
        )
    cfg = {**row["config"], **config}
    store.update_run(
        row["rk"],
        state="running",
        pid=os.getpid(),
        heartbeat_at=time.time(),
        finished_at=None,
        exit_code=None,
        error=None,
        config=cfg,
        **({"notes": notes} if notes is not None else {}),
    )
    keys = store.keys(row["rk"])
    # What is on disk, not what the run row claims: the writer keeps the two in step, but
    # a store written by an older nbtrack may claim steps a crash never let it store.
    last_step, last = store.last_on_disk(row["rk"])
    # Stores before schema 2 kept the user's entries in the summary column too.
    user = {**{k: v for k, v in row["summary"].items() if k not in keys}, **row["user_summary"]}
    return Run(
        root=root,
        project=project,
        rk=row["rk"],
        run_id=row["id"],
        name=row["name"],
        notes=notes if notes is not None else row["notes"],
        tags=tags or row["tags"],
        config=cfg,
        created_at=row["created_at"],
        start_step=last_step + 1,
        last=last,
        user=user,
    )


def _show_dashboard(run: Run) -> None:
    """Put the live dashboard into the current cell's output when in a notebook."""
    try:
        from nbtrack.widget import display_run
    except ImportError:
        return
    display_run(run)

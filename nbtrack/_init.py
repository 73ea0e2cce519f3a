"""`nbtrack.init()`: open a run in the store (new or resumed) and make it the current one."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbtrack import _current, _env
from nbtrack._compat import nearest, unsupported
from nbtrack._config import as_dict, config_lock
from nbtrack._names import default_name, new_id
from nbtrack._run import MODES, Run, link

if TYPE_CHECKING:
    from nbtrack._interface import RunProtocol
    from nbtrack.store.db import Store
    from nbtrack.sync.credentials import Credentials


# W&B's `wandb.init` arguments that nbtrack takes and ignores, and why (warned once each).
_IGNORED_ARGS = {
    "sync_tensorboard": "TensorBoard event files are not read",
    "tensorboard": "TensorBoard event files are not read",
    "monitor_gym": "gym videos are not recorded",
    "resume_from": "a run cannot be rewound to a step",
    "fork_from": "a run cannot be forked from another run's step",
    "magic": "W&B's magic auto-logging is not built",
    "anonymous": "there are no anonymous accounts",
}

# Everything init() takes: a keyword outside it is a TypeError naming the nearest one.
_ARGS = (
    "project", "name", "notes", "tags", "config", "entity", "dir", "id", "resume", "mode",
    "display", "group", "job_type", "reinit", "save_code", "settings", "config_exclude_keys",
    "config_include_keys", "allow_val_change", "force", *_IGNORED_ARGS,
)  # fmt: skip

REINIT = ("default", "return_previous", "finish_previous", "create_new")


def init(
    project: str | None = None,
    name: str | None = None,
    notes: str | None = None,
    tags: Sequence[str] | None = None,
    config: Any = None,
    entity: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    id: str | None = None,
    resume: bool | str | None = None,
    mode: str | None = None,
    display: bool = True,
    *,
    group: str | None = None,
    job_type: str | None = None,
    reinit: bool | str | None = None,
    save_code: bool | None = None,
    settings: Any = None,
    config_exclude_keys: Sequence[str] | None = None,
    config_include_keys: Sequence[str] | None = None,
    allow_val_change: bool | None = None,
    force: bool | None = None,
    sync_tensorboard: bool | None = None,
    tensorboard: bool | None = None,
    monitor_gym: bool | None = None,
    resume_from: str | None = None,
    fork_from: str | None = None,
    magic: Any = None,
    anonymous: str | None = None,
    **unknown: Any,
) -> RunProtocol:
    """Start a run and make it the current one, as ``wandb.init`` does.

    >>> run = nbtrack.init(project="fashion-cnn", config={"lr": 1e-3, "epochs": 10})
    >>> run.log({"train/loss": 0.42})
    >>> run.finish()

    `dir` (or ``NBTRACK_DIR`` / ``WANDB_DIR``) is the store's root folder, by default
    ``./nbtrack``; each run gets a folder of its own inside it, `run.dir`.
    ``mode="disabled"`` returns a run on which every call is a no-op. `resume` ("allow",
    "must", True) continues the run `id` when it exists. `group` and `job_type` are kept with
    the run, as in W&B. Called while a run is active, init follows W&B's `reinit` rule:
    in a notebook it finishes that run first, elsewhere it returns it (``reinit=True`` or
    ``"finish_previous"`` always starts a new one, ``"create_new"`` starts one beside it).
    Every argument can come from the environment as in W&B (``WANDB_PROJECT``,
    ``WANDB_RUN_GROUP``...; the ``NBTRACK_*`` twin wins).
    """
    if unknown:
        raise TypeError(_unknown_args(unknown))
    opts = _settings_dict(settings)
    given_mode = mode if mode is not None else opts.get("mode")
    given = {
        "sync_tensorboard": sync_tensorboard,
        "tensorboard": tensorboard,
        "monitor_gym": monitor_gym,
        "resume_from": resume_from,
        "fork_from": fork_from,
        "magic": magic,
        "anonymous": anonymous if anonymous not in ("never",) else None,
    }
    for arg, value in given.items():
        if value:
            unsupported(f"wandb.init({arg}=...)", _IGNORED_ARGS[arg])
    del save_code, force  # W&B's: the program's path is in the metadata; no login needed
    mode = mode if mode is not None else opts.get("mode")
    mode = _normal_mode(mode) if mode is not None else _env.mode()
    if mode == "online" and given_mode is None and not os.environ.get("NBTRACK_MODE"):
        # WANDB_MODE=online is W&B's default spelled out: sync when logged in, else local.
        mode = None
    if mode is not None and mode not in MODES:
        raise ValueError(f"nbtrack.init: mode must be one of {', '.join(MODES)}, not {mode!r}")
    entity = entity or opts.get("entity") or _env.get("ENTITY")
    if entity is not None and (not isinstance(entity, str) or not entity.strip()):
        raise ValueError(f"nbtrack.init: entity must be a non-empty string, not {entity!r}")
    reinit = reinit if reinit is not None else opts.get("reinit", "default")
    if reinit not in (True, False, *REINIT):
        raise ValueError(
            "nbtrack.init: reinit must be one of "
            f"{', '.join(map(repr, REINIT))} or a bool, not {reinit!r}"
        )
    trial = _sweep_trial()
    project = (
        project
        or opts.get("project")
        or (trial.project if trial is not None else None)
        or _env.get("PROJECT")
        or "uncategorized"
    )
    if not isinstance(project, str) or not project.strip():
        raise ValueError(f"nbtrack.init: project must be a non-empty string, not {project!r}")
    name = name or opts.get("run_name") or _env.get("NAME")
    notes = notes if notes is not None else opts.get("run_notes") or _env.get("NOTES")
    if tags is None:
        tags = opts.get("run_tags") or _env.tags()
    if isinstance(tags, str):
        raise TypeError("nbtrack.init: tags must be a list of strings, not one string")
    tags_list = [str(t) for t in (tags or ())]
    group = _text_arg("group", group or opts.get("run_group") or _env.get("GROUP"))
    job_type = _text_arg("job_type", job_type or opts.get("run_job_type") or _env.get("JOB_TYPE"))
    id = id or opts.get("run_id") or (trial.run_id if trial is not None else None)
    id = id or _env.get("RUN_ID")
    if resume is None:
        resume = opts.get("resume")
    if resume is None:
        resume = _env.resume()
    dir = dir or opts.get("root_dir") or _env.get("DIR")
    config_dict = _config_of(config, config_include_keys, config_exclude_keys)
    sweep_id: str | None = None
    locked: set[str] = set()
    if trial is not None:
        # The sweep's parameters win over the script's defaults, as in W&B.
        config_dict = _merged(config_dict, as_dict(trial.params))
        locked = set(trial.params)
        sweep_id = str(trial.sweep_id)
    allow_change = bool(allow_val_change or opts.get("allow_val_change"))
    with _current.lock:
        previous = _current.current()
        make_current = True
        if previous is not None:
            if reinit in (True, "finish_previous") or (reinit == "default" and _in_notebook()):
                previous.finish()
            elif reinit == "create_new":
                make_current = False
            elif resume == "must":
                raise RuntimeError(
                    f"nbtrack.init: cannot resume a run while run {previous.path} is active: "
                    "finish it first (run.finish()), or pass reinit='create_new'"
                )
            else:
                _say(
                    f"nbtrack: init() called while run {previous.path} is active and reinit is "
                    f"{reinit!r}: returning that run (pass reinit='finish_previous' to start "
                    "a new one)"
                )
                return previous
        if mode == "disabled":
            from nbtrack._disabled import DisabledRun

            # It becomes the current run too, so module-level nbtrack.log() is a no-op as well.
            disabled = DisabledRun(
                project=project,
                name=name,
                config=config_dict,
                notes=notes,
                tags=tags_list,
                group=group,
                job_type=job_type,
                sweep_id=sweep_id,
                entity=entity,
            )
            if make_current:
                _current.set_current(disabled)
            if trial is not None:
                trial.started(disabled)
            return disabled
        from nbtrack import _process
        from nbtrack.store.db import Store, default_root

        creds = _server_for(mode, entity)
        _process.install()
        root = Path(dir) if dir is not None else default_root()
        store = Store(root)
        try:
            run = _open_run(
                store,
                root,
                project,
                name,
                notes,
                tags_list,
                config_dict,
                id,
                resume,
                {"group": group, "job_type": job_type, "sweep_id": sweep_id, "entity": entity},
            )
        finally:
            store.close()
        config_lock(run.config, locked, allow_change)
        if make_current:
            _current.set_current(run)
        lnk = link(run)
        _process.track(lnk)  # imported above
        if creds is not None:
            from nbtrack.sync.uploader import Uploader

            lnk.start_upload(Uploader(root, lnk.rk, project, run.id, creds, entity))
    if trial is not None:
        trial.started(run)
    if display:
        _show_dashboard(run)
    return run


def _unknown_args(unknown: dict[str, Any]) -> str:
    parts = []
    for arg in unknown:
        close = nearest(arg, _ARGS)
        parts.append(f"{arg!r}" + (f" (did you mean {close!r}?)" if close else ""))
    return f"nbtrack.init() got unexpected keyword argument(s) {', '.join(parts)}"


def _normal_mode(mode: Any) -> Any:
    """W&B's other spellings of a mode: "dryrun" is offline, "run" is online."""
    if isinstance(mode, str):
        return {"dryrun": "offline", "run": "online"}.get(mode.strip().lower(), mode)
    return mode


def _text_arg(arg: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"nbtrack.init: {arg} must be a string, not {type(value).__name__}")
    return value


def _settings_dict(settings: Any) -> dict[str, Any]:
    """The settings init honours (mode, project, run_name...), from a Settings or a dict;
    the rest warn once each that they are ignored."""
    from nbtrack._config import Settings, honoured

    if settings is None:
        return {}
    if isinstance(settings, Settings):
        items = settings.as_dict()
    elif isinstance(settings, dict):
        items = dict(settings)
    else:
        raise TypeError(
            "nbtrack.init: settings must be an nbtrack.Settings (wandb.Settings) or a dict, "
            f"not {type(settings).__name__}"
        )
    return honoured(items)


def _config_of(
    config: Any, include: Sequence[str] | None, exclude: Sequence[str] | None
) -> dict[str, Any]:
    if include and exclude:
        raise ValueError("nbtrack.init: pass config_include_keys or config_exclude_keys, not both")
    if isinstance(config, (str, os.PathLike)):
        config = _config_file(Path(config))
    out = as_dict(config)
    if include:
        keep = set(include)
        out = {k: v for k, v in out.items() if k in keep}
    if exclude:
        drop = set(exclude)
        out = {k: v for k, v in out.items() if k not in drop}
    return out


def _config_file(path: Path) -> dict[str, Any]:
    """W&B's ``init(config="config.yaml")``: a YAML file of ``key: value`` or, in W&B's
    config-defaults form, ``key: {value: ..., desc: ...}``."""
    if path.suffix not in (".yaml", ".yml"):
        raise ValueError(f"nbtrack.init: config {str(path)!r} is not a .yaml file")
    import importlib

    try:
        yaml = importlib.import_module("yaml")  # optional: only a YAML config needs it
    except ImportError:
        raise ImportError(
            "nbtrack.init: reading a YAML config needs PyYAML: pip install pyyaml"
        ) from None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise FileNotFoundError(f"nbtrack.init: no config file {str(path)!r}") from None
    if not isinstance(data, dict):
        raise ValueError(f"nbtrack.init: config file {str(path)!r} does not hold a mapping")
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("wandb_version", "_wandb"):
            continue  # W&B's own bookkeeping in files it wrote
        if isinstance(value, dict) and "value" in value:
            value = value["value"]
        out[str(key)] = value
    return out


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` on `base`, nested dicts merged key by key (a sweep's nested parameters)."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merged(out[k], v)
        else:
            out[k] = v
    return out


def _sweep_trial() -> Any:
    """The sweep trial this init runs in, or None. Cheap without a sweep: only the agent
    imports nbtrack.sweeps, so when it is not imported no trial can be active."""
    sweeps = sys.modules.get("nbtrack.sweeps")
    if sweeps is None:
        return None
    active = getattr(sweeps, "active_trial", None)
    return active() if active is not None else None


def _in_notebook() -> bool:
    """True under IPython (a Jupyter kernel, or the IPython shell), as W&B's `in_notebook`."""
    if "IPython" not in sys.modules:  # never import IPython just to find out
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


def _say(message: str) -> None:
    """A line for the user on stderr, unless ``WANDB_SILENT`` / ``NBTRACK_SILENT``."""
    if not _env.flag("SILENT"):
        print(message, file=sys.stderr)


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
    meta: dict[str, str | None],
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
            return _resume(store, root, row, project, notes, tags, config, meta)
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
        group=meta.get("group"),
        job_type=meta.get("job_type"),
        sweep_id=meta.get("sweep_id"),
        entity=meta.get("entity"),
    )


def _resume(
    store: Store,
    root: Path,
    row: dict[str, Any],
    project: str,
    notes: str | None,
    tags: list[str],
    config: dict[str, Any],
    meta: dict[str, str | None],
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
    from nbtrack.api import deleted_keys

    # Summary keys deleted through the Api stay deleted: out of the last values this run
    # starts from, and out of the store's, so the markers that hid them can go.
    gone = deleted_keys(row["user_summary"])
    row["user_summary"] = {k: v for k, v in row["user_summary"].items() if k not in gone}
    cleaned = (
        {"summary": {k: v for k, v in row["summary"].items() if k not in gone},
         "user_summary": row["user_summary"]}
        if gone
        else {}
    )  # fmt: skip
    store.update_run(
        row["rk"],
        **cleaned,
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
    last = {k: v for k, v in last.items() if k not in gone}
    # Stores before schema 2 kept the user's entries in the summary column too.
    user = {
        **{k: v for k, v in row["summary"].items() if k not in keys and k not in gone},
        **row["user_summary"],
    }
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
        # What the earlier session recorded stays unless this init says otherwise.
        group=meta.get("group") or _str_or_none(row["metadata"].get("group")),
        job_type=meta.get("job_type") or _str_or_none(row["metadata"].get("job_type")),
        sweep_id=meta.get("sweep_id") or _str_or_none(row["metadata"].get("sweep_id")),
        resumed=True,
        stored_metadata=row["metadata"],
        entity=meta.get("entity"),
    )


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _show_dashboard(run: Run) -> None:
    """Put the live dashboard into the current cell's output when in a notebook."""
    try:
        from nbtrack.widget import display_run
    except ImportError:
        return
    display_run(run)

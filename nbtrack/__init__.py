"""nbtrack: experiment tracking that lives in the notebook.

>>> import nbtrack
>>> run = nbtrack.init(project="fashion-cnn", config={"lr": 1e-3})
>>> run.log({"train/loss": 0.42, "train/acc": 0.87})
>>> run.finish()

`log`, `config`, `summary`, `finish` and `run` act on the current run, as in W&B.

The common part of W&B's API answers under ``import nbtrack as wandb``: `init` with W&B's
arguments, `define_metric`, `alert`, `save`, `Histogram`, `sweep` / `agent`, `Artifact`,
`login`, the ``WANDB_*`` environment variables... A W&B name nbtrack accepts but does not
build warns once (`nbtrack._compat.unsupported`); `alias_wandb()` makes ``import wandb``
itself give nbtrack in this process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, MutableMapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from nbtrack import errors
from nbtrack._config import Config, ConfigError, Settings, Summary
from nbtrack._current import current, require_run
from nbtrack._init import init
from nbtrack._run import AlertLevel, Run
from nbtrack._version import __version__

if TYPE_CHECKING:
    from nbtrack.api import Api, RunRecord
    from nbtrack.artifacts import Artifact
    from nbtrack.data_types import (
        Audio,
        Histogram,
        Html,
        Image,
        Molecule,
        Object3D,
        Table,
        Video,
    )
    from nbtrack.sweeps import agent, controller, sweep

__all__ = [
    "AlertLevel",
    "Api",
    "Artifact",
    "Audio",
    "Config",
    "ConfigError",
    "Error",
    "Histogram",
    "Html",
    "Image",
    "Molecule",
    "Object3D",
    "Run",
    "RunRecord",
    "Settings",
    "Summary",
    "Table",
    "Video",
    "__version__",
    "agent",
    "alert",
    "alias_wandb",
    "compare",
    "config",
    "controller",
    "define_metric",
    "errors",
    "finish",
    "init",
    "integration",
    "link_model",
    "load_ipython_extension",
    "log",
    "log_artifact",
    "log_model",
    "login",
    "logout",
    "mark_preempting",
    "plot",
    "require",
    "run",
    "save",
    "setup",
    "show",
    "summary",
    "sweep",
    "teardown",
    "termerror",
    "termlog",
    "termwarn",
    "unwatch",
    "use_artifact",
    "use_model",
    "watch",
]

# W&B's base exception, ``except wandb.Error``: nbtrack's base of the errors it raises.
Error = errors.NbtrackError


def log(
    data: Mapping[str, Any],
    step: int | None = None,
    commit: bool | None = None,
    sync: bool | None = None,
) -> None:
    """Log numbers to the current run: ``nbtrack.log({"loss": 0.3})`` (see `Run.log`)."""
    r = current()
    if r is None:
        require_run("log()")  # raises, saying why
    else:
        r.log(data, step, commit, sync)


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """Finish the current run (no-op when there is none)."""
    r = current()
    if r is not None:
        r.finish(exit_code, quiet)


def watch(models: Any, *args: Any, **kwargs: Any) -> Any:
    """Log histograms of a model's weights and gradients: see `Run.watch`."""
    return require_run("watch()").watch(models, *args, **kwargs)


def unwatch(models: Any = None) -> None:
    require_run("unwatch()").unwatch(models)


def define_metric(
    name: str,
    step_metric: Any = None,
    step_sync: bool | None = None,
    hidden: bool | None = None,
    summary: str | None = None,
    goal: str | None = None,
    overwrite: bool | None = None,
) -> Any:
    """Define a metric of the current run (its step metric, its summary): see `Run.define_metric`.

    >>> nbtrack.define_metric("val/*", step_metric="epoch", summary="min")
    """
    return require_run("define_metric()").define_metric(
        name, step_metric, step_sync, hidden, summary, goal, overwrite
    )


def alert(
    title: str,
    text: str = "",
    level: str | AlertLevel | None = None,
    wait_duration: float | timedelta | None = None,
) -> None:
    """Raise an alert on the current run: see `Run.alert`.

    >>> nbtrack.alert("Loss is NaN", f"at step {nbtrack.run.step}", level=nbtrack.AlertLevel.ERROR)
    """
    require_run("alert()").alert(title, text, level, wait_duration)


def save(
    glob_str: str | os.PathLike[str] | None = None,
    base_path: str | os.PathLike[str] | None = None,
    policy: str = "live",
) -> list[str]:
    """Link (or copy) files into the current run's folder: see `Run.save`.

    >>> nbtrack.save("model.onnx")
    """
    return require_run("save()").save(glob_str, base_path, policy)


def log_artifact(
    artifact_or_path: Any,
    name: str | None = None,
    type: str | None = None,
    aliases: list[str] | None = None,
    tags: list[str] | None = None,
) -> Any:
    """Store an artifact version on the current run: see `Run.log_artifact`."""
    return require_run("log_artifact()").log_artifact(artifact_or_path, name, type, aliases, tags)


def use_artifact(
    artifact_or_name: Any,
    type: str | None = None,
    aliases: list[str] | None = None,
    use_as: str | None = None,
) -> Any:
    """An artifact version, used by the current run: see `Run.use_artifact`."""
    return require_run("use_artifact()").use_artifact(artifact_or_name, type, aliases, use_as)


def log_model(
    path: str | os.PathLike[str], name: str | None = None, aliases: list[str] | None = None
) -> Any:
    """Store a model as an artifact version of the current run: see `Run.log_model`."""
    return require_run("log_model()").log_model(path, name, aliases)


def use_model(name: str) -> Any:
    """Download a model artifact version for the current run: see `Run.use_model`."""
    return require_run("use_model()").use_model(name)


def link_model(*args: Any, **kwargs: Any) -> None:
    """W&B's ``link_model``: accepted with a warning (there is no model registry here)."""
    require_run("link_model()").link_model(*args, **kwargs)


def require(requirement: Any = None, *features: Any) -> None:
    """W&B's ``wandb.require("service")`` and friends: accepted, nothing to switch on."""
    del requirement, features


def setup(settings: Any = None) -> None:
    """W&B's ``wandb.setup()``: a no-op (nbtrack starts no service process)."""
    del settings


def teardown(exit_code: int | None = None) -> None:
    """W&B's ``wandb.teardown()``: finishes the current run, if any, as W&B's does."""
    finish(exit_code)


def mark_preempting() -> None:
    """W&B's ``wandb.mark_preempting()``: a no-op (there is no scheduler to tell)."""


def termlog(
    string: str = "", newline: bool = True, repeat: bool = True, prefix: bool = True
) -> None:
    """W&B's ``wandb.termlog``: a line on stderr (``nbtrack: ...``), unless silenced."""
    _term(string, newline, repeat, prefix, "", silenced=True)


def termwarn(string: str, newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """W&B's ``wandb.termwarn``: a warning line on stderr."""
    _term(string, newline, repeat, prefix, "WARNING ", silenced=False)


def termerror(string: str, newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """W&B's ``wandb.termerror``: an error line on stderr."""
    _term(string, newline, repeat, prefix, "ERROR ", silenced=False)


_printed: set[str] = set()


def _term(
    string: str, newline: bool, repeat: bool, prefix: bool, tag: str, *, silenced: bool
) -> None:
    import sys

    from nbtrack import _env

    if silenced and _env.flag("SILENT"):
        return
    if not repeat:
        if string in _printed:
            return
        _printed.add(string)
    head = f"nbtrack: {tag}" if prefix else ""
    print(head + str(string), end="\n" if newline else "", file=sys.stderr)


def login(
    host: str | None = None,
    key: str | None = None,
    *,
    entity: str | None = None,
    relogin: bool | None = False,
    anonymous: str | None = None,
    force: bool | None = None,
    timeout: int | None = None,
    verify: bool = False,
    referrer: str | None = None,
) -> bool:
    """Log in to a team server; from now on every run syncs there while it trains.

    >>> nbtrack.login(host="http://tracking.example:8080")   # asks the key, or NBTRACK_API_KEY

    The key is checked with the server now (a wrong one raises `nbtrack.errors.LoginError`)
    and kept in a file only you can read. Returns True, as W&B's does.

    Without a server to log in to (no `host`, no ``NBTRACK_HOST``, no earlier login), as in
    a W&B script's ``wandb.login()`` or ``wandb.login(key=...)``, it says that runs stay in
    the local store and returns True: the script goes on.
    """
    import os as _os

    from nbtrack.sync.credentials import login as _login
    from nbtrack.sync.credentials import saved

    del anonymous, force, timeout, verify, referrer  # W&B's: nothing to choose here
    known = saved()
    if host is None and known is None and not _os.environ.get("NBTRACK_HOST"):
        termlog(
            "no team server to log in to (login(host=...) names one); runs are kept in the "
            "local store",
            repeat=False,
        )
        return True
    if known is not None and not relogin and host is None and key is None and entity is None:
        _login(
            known.host, known.key, entity=known.entity or None
        )  # still checked: a revoked key is said here, not later
        return True
    _login(host, key, entity=entity)
    return True


def logout() -> bool:
    """Forget the saved server credentials; True when there were some."""
    from nbtrack.sync.credentials import forget

    return forget()


def show(path: str, *, dir: Any = None) -> Any:
    """Show the dashboard of a stored run, ``"project/id"``, following it while it grows."""
    from nbtrack.widget import show as _show

    return _show(path, dir=dir)


def compare(
    project: str | None = None,
    *,
    entity: str | None = None,
    runs: list[str] | None = None,
    filter: str | None = None,
    dir: Any = None,
    host: str | None = None,
) -> Any:
    """The compare view of a project: runs table, overlaid curves, parallel coordinates.

    Reads the local store (``dir``, default ``NBTRACK_DIR`` or ``./nbtrack``), or the team
    server given by ``host``. ``project`` defaults to the current run's. ``runs`` limits the
    view to those run ids or names; ``filter`` starts it with a filter expression (see
    docs/compare.md), checked here: a bad one raises `nbtrack._filter.FilterError`, a
    ValueError naming the problem. Runs still training update in place.

    >>> nbtrack.compare("fashion-cnn", filter='config.lr < 0.01 and state == "finished"')
    """
    from nbtrack.widget import compare as _compare

    return _compare(project, entity=entity, runs=runs, filter=filter, dir=dir, host=host)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext nbtrack``: registers the ``%%nbtrack`` and ``%nbtrack`` magics."""
    from nbtrack.magic import load_ipython_extension as _load

    _load(ipython)


class _CurrentProxy:
    """`nbtrack.config` / `nbtrack.summary`: the current run's, with a clear error without one.

    Every dict-like use goes to the run's object: ``for k in nbtrack.config``,
    ``dict(nbtrack.config)``, ``nbtrack.config.keys()``, ``nbtrack.summary.update({...})``.
    """

    def __init__(self, attr: str) -> None:
        object.__setattr__(self, "_attr", attr)

    def _target(self) -> Any:
        return getattr(require_run(self._attr), self._attr)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # copy/pickle probing: not a config key
        return getattr(self._target(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target(), name, value)

    def __getitem__(self, key: str) -> Any:
        return self._target()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._target()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._target()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._target()

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._target().keys()))

    def __len__(self) -> int:
        return len(self._target())

    def __eq__(self, other: object) -> bool:
        return bool(self._target() == other)

    __hash__ = None  # type: ignore[assignment]

    def keys(self) -> Any:
        return self._target().keys()

    def items(self) -> Any:
        return self._target().items()

    def values(self) -> Any:
        return self._target().values()

    def get(self, key: str, default: Any = None) -> Any:
        return self._target().get(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._target().update(*args, **kwargs)

    def as_dict(self) -> dict[str, Any]:
        return dict(self._target().as_dict())

    def __repr__(self) -> str:
        r = current()
        return repr(getattr(r, self._attr)) if r is not None else f"<nbtrack.{self._attr}: no run>"


MutableMapping.register(_CurrentProxy)

config: Config = _CurrentProxy("config")  # type: ignore[assignment]
summary: Summary = _CurrentProxy("summary")  # type: ignore[assignment]


# Names loaded on first use, not on import: module -> names (NumPy, the store, a framework).
_LAZY: dict[str, tuple[str, ...]] = {
    "nbtrack.api": ("Api", "RunRecord"),
    "nbtrack.data_types": (
        "Histogram",
        "Image",
        "Table",
        "Video",
        "Audio",
        "Html",
        "Object3D",
        "Molecule",
        "plot",
    ),
    "nbtrack.artifacts": ("Artifact",),
    "nbtrack.sweeps": ("sweep", "agent", "controller"),
}
_LAZY_NAMES = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str) -> Any:
    if name == "run":
        return current()
    module = _LAZY_NAMES.get(name)
    if module is not None:
        import importlib

        value = getattr(importlib.import_module(module), name)
        # Kept as a global from now on: `nbtrack.Image(x)` in a training loop then costs a
        # dict lookup, not an import-system call each time.
        globals()[name] = value
        return value
    if name == "integration":
        import importlib

        return importlib.import_module("nbtrack.integration")
    if name == "keras":
        # W&B's old ``wandb.keras`` (WandbCallback): the Keras integration.
        import importlib

        return importlib.import_module("nbtrack.integration.keras")
    from nbtrack._compat import STUBS

    stub = STUBS.get(name)
    if stub is not None:
        return stub
    raise AttributeError(f"module 'nbtrack' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def alias_wandb() -> None:
    """Make ``import wandb`` give nbtrack in this process, for code one cannot edit (a
    library's own ``report_to="wandb"``, a package that imports wandb itself).

    >>> nbtrack.alias_wandb()
    >>> import wandb            # nbtrack, under W&B's name
    >>> from wandb.integration.keras import WandbMetricsLogger

    Says so once. Only this process is changed: no file of an installed ``wandb`` is
    touched, and a ``wandb`` already imported is a RuntimeError (two trackers at once
    would each see half of the run).
    """
    from nbtrack._compat import install_alias

    install_alias()

"""nbtrack: experiment tracking that lives in the notebook.

>>> import nbtrack
>>> run = nbtrack.init(project="fashion-cnn", config={"lr": 1e-3})
>>> run.log({"train/loss": 0.42, "train/acc": 0.87})
>>> run.finish()

`log`, `config`, `summary`, `finish` and `run` act on the current run, as in W&B.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from nbtrack import errors
from nbtrack._config import Config, Summary
from nbtrack._current import current, require_run
from nbtrack._init import init
from nbtrack._run import Run
from nbtrack._version import __version__

if TYPE_CHECKING:
    from nbtrack.api import Api, RunRecord

__all__ = [
    "Api",
    "Config",
    "Run",
    "RunRecord",
    "Summary",
    "__version__",
    "compare",
    "config",
    "errors",
    "finish",
    "init",
    "load_ipython_extension",
    "log",
    "login",
    "logout",
    "run",
    "show",
    "summary",
    "unwatch",
    "watch",
]


def log(data: Mapping[str, Any], step: int | None = None, commit: bool = True) -> None:
    """Log numbers to the current run: ``nbtrack.log({"loss": 0.3})``."""
    r = current()
    if r is None:
        require_run("log()")  # raises, saying why
    else:
        r.log(data, step, commit)


def finish(exit_code: int = 0, *, quiet: bool = False) -> None:
    """Finish the current run (no-op when there is none)."""
    r = current()
    if r is not None:
        r.finish(exit_code, quiet=quiet)


def watch(models: Any, *args: Any, **kwargs: Any) -> Any:
    """Log histograms of a model's weights and gradients: see `Run.watch`."""
    return require_run("watch()").watch(models, *args, **kwargs)


def unwatch(models: Any = None) -> None:
    require_run("unwatch()").unwatch(models)


def login(
    host: str | None = None,
    key: str | None = None,
    *,
    entity: str | None = None,
    relogin: bool = False,
) -> bool:
    """Log in to a team server; from now on every run syncs there while it trains.

    >>> nbtrack.login(host="http://tracking.example:8080")   # asks the key, or NBTRACK_API_KEY

    The key is checked with the server now (a wrong one raises `nbtrack.errors.LoginError`)
    and kept in a file only you can read. Returns True, as W&B's does.
    """
    from nbtrack.sync.credentials import login as _login
    from nbtrack.sync.credentials import saved

    known = saved()
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
    """`nbtrack.config` / `nbtrack.summary`: the current run's, with a clear error without one."""

    def __init__(self, attr: str) -> None:
        object.__setattr__(self, "_attr", attr)

    def _target(self) -> Any:
        return getattr(require_run(self._attr), self._attr)

    def __getattr__(self, name: str) -> Any:
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
        return iter(self._target())

    def __len__(self) -> int:
        return len(self._target())

    def __repr__(self) -> str:
        r = current()
        return repr(getattr(r, self._attr)) if r is not None else f"<nbtrack.{self._attr}: no run>"


config: Config = _CurrentProxy("config")  # type: ignore[assignment]
summary: Summary = _CurrentProxy("summary")  # type: ignore[assignment]


def __getattr__(name: str) -> Any:
    if name == "run":
        return current()
    if name in ("Api", "RunRecord"):
        # The read API brings NumPy and the store: loaded on first use, not on import.
        from nbtrack import api

        return getattr(api, name)
    raise AttributeError(f"module 'nbtrack' has no attribute {name!r}")

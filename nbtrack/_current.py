"""The current run: the one that module-level `nbtrack.log()` and friends act on.

This module alone owns it. It is a module global, not a ContextVar, so that other threads
(a data loader, a callback thread) log to the run the main thread started, as in W&B.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbtrack._interface import RunProtocol

_current: RunProtocol | None = None
# Set in a child of os.fork(): the parent's run does not cross into it (see _process.py).
_forked_from: str | None = None
lock = threading.RLock()


def current() -> RunProtocol | None:
    """The current run, or None."""
    return _current


def set_current(run: RunProtocol) -> None:
    global _current, _forked_from
    _current = run
    _forked_from = None


def clear_current(run: RunProtocol) -> None:
    """Forget `run` as the current run (nothing happens when another run is current)."""
    global _current
    if _current is run:
        _current = None


def forget_after_fork(path: str | None) -> None:
    """In a forked child: no current run; say which run the parent had when one is asked for."""
    global _current, _forked_from
    _current = None
    _forked_from = path


def require_run(what: str) -> RunProtocol:
    run = _current
    if run is None:
        if _forked_from is not None:
            raise RuntimeError(
                f"Call nbtrack.init() before nbtrack.{what}: this process was forked from the "
                f"one logging run {_forked_from}, and a run does not cross a fork. Start a run "
                "of its own in the child (nbtrack.init(...)), or log from the parent."
            )
        raise RuntimeError(f"Call nbtrack.init() before nbtrack.{what}.")
    return run

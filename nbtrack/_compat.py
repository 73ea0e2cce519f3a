"""W&B names nbtrack accepts but does not build: one warning each, never an AttributeError.

Every part of nbtrack that takes a W&B feature it ignores says so through `unsupported`,
once per name per process, so a W&B script runs on and its user still learns what was
dropped.

>>> from nbtrack._compat import unsupported
>>> unsupported("wandb.init(sync_tensorboard=...)", "TensorBoard files are not read")
... # UserWarning: nbtrack: wandb.init(sync_tensorboard=...) is not supported; TensorBoard ...

`STUBS` lists the module-level W&B names that `import nbtrack as wandb` answers with a
stub (see `nbtrack.__getattr__`); docs/wandb.md is checked against it.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import Any

_warned: set[str] = set()
_lock = threading.Lock()


def unsupported(name: str, what: str = "") -> None:
    """Warn, once per `name` in this process, that W&B's `name` is accepted and ignored."""
    with _lock:
        if name in _warned:
            return
        _warned.add(name)
    tail = f"; {what}" if what else ""
    warnings.warn(f"nbtrack: {name} is not supported{tail}", UserWarning, stacklevel=3)


def _stub(name: str, what: str, result: Any = None) -> Callable[..., Any]:
    def stub(*args: Any, **kwargs: Any) -> Any:
        del args, kwargs
        unsupported(f"wandb.{name}", what)
        return result

    stub.__name__ = name
    stub.__qualname__ = name
    stub.__doc__ = f"W&B's `wandb.{name}`: accepted, does nothing here ({what})."
    return stub


# Module-level W&B functions with no nbtrack counterpart: calling one warns once and
# returns what W&B returns when there is nothing to do. (Names nbtrack does build, such as
# `use_artifact` or `unwatch`, are not here: they are real functions of `nbtrack`.)
STUB_REASONS: dict[str, str] = {
    "restore": "files are not fetched from a server; returns None",
    "log_code": "code is not saved as an artifact; the program's path is in the metadata",
    "sync": "runs are stored as they log; there is nothing to sync afterwards",
    "tensorboard": "TensorBoard logs are not read",
    "finish_all": "use nbtrack.finish()",
    "controller": "sweeps run with nbtrack.agent(), not a controller",
    "jupyter_login": "nbtrack.login() works in notebooks",
    "link_model": "the model registry does not exist locally",
    "attach": "a run is not shared between processes",
    "init_launch": "W&B Launch is not part of nbtrack",
    "launch": "W&B Launch is not part of nbtrack",
    "wandb_sdk": "use nbtrack's own names",
}

STUBS: dict[str, Callable[..., Any]] = {n: _stub(n, w) for n, w in STUB_REASONS.items()}


def nearest(name: str, choices: list[str] | tuple[str, ...] | set[str]) -> str | None:
    """The accepted name closest to a mistyped `name` (None when nothing is close)."""
    import difflib

    found = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.6)
    return found[0] if found else None

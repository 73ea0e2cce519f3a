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
    "jupyter_login": "nbtrack.login() works in notebooks",
    "attach": "a run is not shared between processes",
    "init_launch": "W&B Launch is not part of nbtrack",
    "launch": "W&B Launch is not part of nbtrack",
}

STUBS: dict[str, Callable[..., Any]] = {n: _stub(n, w) for n, w in STUB_REASONS.items()}


def nearest(name: str, choices: list[str] | tuple[str, ...] | set[str]) -> str | None:
    """The accepted name closest to a mistyped `name` (None when nothing is close)."""
    import difflib

    found = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.6)
    return found[0] if found else None


# ``import wandb.<name>`` under `alias_wandb`: the nbtrack module that answers.
ALIASED_MODULES: dict[str, str] = {
    "wandb.integration": "nbtrack.integration",
    "wandb.integration.keras": "nbtrack.integration.keras",
    "wandb.integration.lightning": "nbtrack.integration.lightning",
    "wandb.integration.transformers": "nbtrack.integration.transformers",
    "wandb.keras": "nbtrack.integration.keras",
    "wandb.errors": "nbtrack.errors",
    "wandb.data_types": "nbtrack.data_types",
    "wandb.sweeps": "nbtrack.sweeps",
    "wandb.apis.public": "nbtrack.api",
}

_alias_lock = threading.Lock()


class _AliasLoader:
    """Loads ``wandb.<name>`` as the nbtrack module it stands for (the same object)."""

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: Any) -> Any:
        import importlib

        module = importlib.import_module(self.target)
        self._spec = module.__spec__
        return module

    def exec_module(self, module: Any) -> None:
        # The import system gave the module the alias's spec: it keeps its own.
        module.__spec__ = self._spec


class _AliasFinder:
    """A meta path finder for the ``wandb.*`` names of `ALIASED_MODULES`."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        module = ALIASED_MODULES.get(fullname)
        if module is None:
            return None
        import importlib.machinery
        import importlib.util

        if importlib.util.find_spec(module) is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(module))  # type: ignore[arg-type]


def _synthetic_modules() -> dict[str, Any]:
    """The few ``wandb.sdk`` modules that libraries import names from."""
    import types

    import nbtrack
    from nbtrack import _config

    sdk = types.ModuleType("wandb.sdk", "nbtrack's stand-in for wandb.sdk (alias_wandb)")
    lib = types.ModuleType("wandb.sdk.lib")
    config_util = types.ModuleType("wandb.sdk.lib.config_util")
    config_util.ConfigError = _config.ConfigError  # type: ignore[attr-defined]
    wandb_run = types.ModuleType("wandb.sdk.wandb_run")
    wandb_run.Run = nbtrack.Run  # type: ignore[attr-defined]
    settings = types.ModuleType("wandb.sdk.wandb_settings")
    settings.Settings = _config.Settings  # type: ignore[attr-defined]
    lib.config_util = config_util  # type: ignore[attr-defined]
    sdk.lib = lib  # type: ignore[attr-defined]
    sdk.wandb_run = wandb_run  # type: ignore[attr-defined]
    sdk.wandb_settings = settings  # type: ignore[attr-defined]
    sdk.Settings = _config.Settings  # type: ignore[attr-defined]
    return {
        "wandb.sdk": sdk,
        "wandb.sdk.lib": lib,
        "wandb.sdk.lib.config_util": config_util,
        "wandb.sdk.wandb_run": wandb_run,
        "wandb.sdk.wandb_settings": settings,
        "wandb.wandb_run": wandb_run,
    }


def install_alias() -> None:
    """`nbtrack.alias_wandb`: ``wandb`` in sys.modules is nbtrack from now on."""
    import sys

    import nbtrack

    with _alias_lock:
        present = sys.modules.get("wandb")
        if present is nbtrack:
            return
        if present is not None:
            raise RuntimeError(
                "nbtrack.alias_wandb: the real wandb package is imported in this process "
                f"already ({getattr(present, '__file__', present)!r}); call alias_wandb() "
                "before anything imports wandb (first thing in the script or notebook), or "
                "use wandb itself"
            )
        for name, module in _synthetic_modules().items():
            sys.modules.setdefault(name, module)
        if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
            sys.meta_path.insert(0, _AliasFinder())
        sys.modules["wandb"] = nbtrack
    from nbtrack import _env

    if not _env.flag("SILENT"):
        print(
            "nbtrack: `import wandb` gives nbtrack in this process (nbtrack.alias_wandb()); "
            "the installed wandb package, if any, is left as it is",
            file=sys.stderr,
        )

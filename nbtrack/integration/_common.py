"""What the framework integrations share: the active run, metric definitions, artifacts.

No framework is imported here; each integration module imports its own.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbtrack._compat import unsupported

if TYPE_CHECKING:
    from nbtrack._interface import RunProtocol


def import_framework(submodule: str) -> Any:
    """Import the framework behind ``nbtrack.integration.<submodule>``, or an ImportError
    that names the pip package to install."""
    from nbtrack.integration import FRAMEWORKS

    module, pip = FRAMEWORKS[submodule]
    try:
        return importlib.import_module(module)
    except ImportError as e:
        if module == "keras" and importlib.util.find_spec("keras") is not None:
            # Installed, but its backend is not: Keras 3 defaults to TensorFlow.
            raise ImportError(
                f"nbtrack.integration.keras: Keras is installed but does not import ({e}): "
                "its backend is missing. Set KERAS_BACKEND=torch (or jax) before Keras is "
                "first imported, or install TensorFlow"
            ) from e
        raise ImportError(
            f"nbtrack.integration.{submodule} needs {module!r}, which is not installed "
            f"(or does not import: {e}); install it with: pip install {pip}"
        ) from e


def current_run() -> RunProtocol | None:
    from nbtrack._current import current

    return current()


def active_run(who: str) -> RunProtocol:
    """The current run, or W&B's error for a callback made before ``init()``."""
    run = current_run()
    if run is None:
        raise RuntimeError(
            f"You must call nbtrack.init() (wandb.init() under `import nbtrack as wandb`) "
            f"before {who}: it logs to the current run, and there is none."
        )
    return run


def is_disabled(run: Any) -> bool:
    """True for a run of ``mode="disabled"``: it stores nothing, so nothing is saved for it."""
    from nbtrack._disabled import DisabledRun

    return isinstance(run, DisabledRun) or getattr(run, "disabled", False) is True


def define_metric(run: Any, name: str, **kwargs: Any) -> None:
    """``run.define_metric(name, **kwargs)`` where the run has it (a disabled run may not)."""
    fn = getattr(run, "define_metric", None)
    if fn is None:
        if not is_disabled(run):
            unsupported(
                "run.define_metric",
                "this nbtrack has none: metrics are drawn against the run's step",
            )
        return
    fn(name, **kwargs)


def termwarn(message: str) -> None:
    """W&B's ``termwarn``: a line on stderr (a warning filter would turn it into an error)."""
    print(f"nbtrack: WARNING {message}", file=sys.stderr)


_UNSAFE = re.compile(r"[^a-zA-Z0-9_\-.]+")


def artifact_name(name: str) -> str:
    """A name an artifact may have (W&B's rule): letters, digits, ``-``, ``_`` and ``.``;
    anything else becomes ``_``, and it is at most 128 characters."""
    return _UNSAFE.sub("_", name)[:128]


def log_artifact(
    run: Any,
    name: str,
    type: str,
    *,
    files: Iterable[tuple[str | os.PathLike[str], str | None]] = (),
    dirs: Iterable[str | os.PathLike[str]] = (),
    aliases: list[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    policy: str = "mutable",
) -> Any:
    """Log `files` (path, name in the artifact) and the contents of `dirs` as one artifact
    version of the run; returns what ``log_artifact`` returned, or None when nothing was
    logged (a disabled run, or an nbtrack without artifacts, which says so once).
    `policy` is W&B's: "mutable" copies the files now, "immutable" reads them when logged.

    >>> log_artifact(run, "model-abc", "model", files=[("best.keras", None)], aliases=["latest"])
    """
    if is_disabled(run):
        return None
    try:
        artifacts = importlib.import_module("nbtrack.artifacts")
        artifacts.Artifact  # noqa: B018 (checked here: an nbtrack without it says so below)
    except (ImportError, AttributeError):
        unsupported(
            "logging models as artifacts",
            "this nbtrack has no nbtrack.artifacts; the files stay where they were saved",
        )
        return None
    art = artifacts.Artifact(artifact_name(name), type=type, metadata=dict(metadata or {}))
    for path, inside in files:
        art.add_file(os.fspath(path), name=inside, policy=policy)
    for folder in dirs:
        art.add_dir(os.fspath(folder), policy=policy)
    method = getattr(run, "log_artifact", None)
    if method is not None:
        return method(art, aliases=list(aliases or []))
    return artifacts.log_artifact(run, art, aliases=list(aliases or []))


def run_dir(run: Any) -> Path:
    """The run's own folder (``run.dir``), made if it is not there yet."""
    folder = Path(run.dir)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def config_value(value: Any) -> Any:
    """`value` as a config can hold it: JSON's types as they are (dicts and lists walked),
    NumPy scalars as numbers, anything else as its ``str`` (what W&B shows for it)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): config_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [config_value(v) for v in value]
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)

"""Where a sweep lives: ``<store root>/sweeps/<project>/<sweep id>.json``, one file a sweep.

The file holds the configuration, the sweep's state and every trial handed out (its
parameters, run id, state and metric value). Agents in several processes share it: each
change is read-modify-write under an exclusive lock on ``<sweep id>.lock`` beside it, and
the file is replaced whole (written beside, then renamed), so a reader never sees half of
one and a grid never hands out one combination twice.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

FORMAT = 1
# W&B's sweep states; a sweep ends FINISHED when its grid, run_cap or target is reached.
RUNNING, FINISHED = "RUNNING", "FINISHED"
HOST = socket.gethostname()


class SweepNotFoundError(LookupError):
    """No sweep of that id in the store (the message says where it looked)."""


def safe_name(project: str) -> str:
    """A project name as one folder name, as a run's folder under ``files/`` has it."""
    from nbtrack._run import safe_folder_name

    return safe_folder_name(project)


def default_root() -> Path:
    """The store a sweep goes to: the one `nbtrack.init()` opens without ``dir=``
    (``NBTRACK_DIR``, else ``WANDB_DIR``, else ``./nbtrack``)."""
    from nbtrack import _env
    from nbtrack.store import db

    value = _env.get("DIR")
    return Path(value) if value else db.default_root()


def sweeps_dir(root: Path) -> Path:
    return root / "sweeps"


def sweep_path(root: Path, project: str, sweep_id: str) -> Path:
    return sweeps_dir(root) / safe_name(project) / f"{sweep_id}.json"


def find(root: Path, sweep_id: str, project: str | None) -> Path:
    """The file of sweep `sweep_id`: in `project` when given, else wherever it is."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", sweep_id):
        raise ValueError(f"nbtrack.agent: {sweep_id!r} is not a sweep id")
    if project is not None:
        path = sweep_path(root, project, sweep_id)
        if path.is_file():
            return path
    found = sorted(sweeps_dir(root).glob(f"*/{sweep_id}.json"))
    if len(found) == 1:
        return found[0]
    where = sweeps_dir(root)
    if len(found) > 1:
        projects = ", ".join(read(p)["project"] for p in found)
        raise SweepNotFoundError(
            f"nbtrack: sweep {sweep_id!r} is in several projects ({projects}): "
            "pass project=..., or the sweep id as 'project/id'"
        )
    in_project = f" of project {project!r}" if project is not None else ""
    raise SweepNotFoundError(
        f"nbtrack: no sweep {sweep_id!r}{in_project} in {where} (the store at {root}); "
        "create one with nbtrack.sweep(config, project=...), and run the agent with the "
        "same NBTRACK_DIR"
    )


def create(root: Path, project: str, record: dict[str, Any]) -> None:
    """Write a new sweep's file (its id is new: `exists` said so under the same lock)."""
    path = sweep_path(root, project, record["id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path):
        if path.exists():
            raise FileExistsError(path)
        write(path, record)


def exists(root: Path, project: str, sweep_id: str) -> bool:
    return sweep_path(root, project, sweep_id).exists()


def read(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    if data.get("format", FORMAT) > FORMAT:
        raise RuntimeError(
            f"nbtrack: sweep file {path} was written by a newer nbtrack (format "
            f"{data['format']}); upgrade nbtrack to run its agent"
        )
    return data


def write(path: Path, data: dict[str, Any]) -> None:
    """Replace the file whole: a crash leaves the old one or the new one, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, default=_default, allow_nan=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the sweep's lock (blocking): one agent at a time reads and changes the file."""
    lock = path.with_suffix(".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+b") as f:
        _lock(f.fileno())
        try:
            yield
        finally:
            _unlock(f.fileno())


@contextmanager
def changing(path: Path) -> Iterator[dict[str, Any]]:
    """Read the sweep under its lock, let the caller change it, and write it back."""
    with locked(path):
        data = read(path)
        yield data
        write(path, data)


def trial_state(trial: dict[str, Any]) -> str:
    """A trial's state as a reader should take it: 'running' whose agent process on this
    host is gone is 'crashed' (its agent was killed before it could say how it ended)."""
    state = str(trial.get("state", "running"))
    if state == "running" and trial.get("host") == HOST:
        pid = trial.get("pid")
        if isinstance(pid, int) and not _alive(pid):
            return "crashed"
    return state


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def now() -> float:
    return time.time()


def _default(obj: Any) -> Any:
    np = sys.modules.get("numpy")
    if np is not None:
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return repr(obj)


if sys.platform == "win32":  # pragma: no cover - the lock of the other platform
    import msvcrt

    def _lock(fd: int) -> None:
        while True:
            try:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                return
            except OSError:
                time.sleep(0.05)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

"""What a run records about where it ran: git, versions, host, GPUs, the notebook or script."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from typing import Any

from nbtrack._version import __version__


def _git(*args: str, cwd: str | None = None) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_info(cwd: str | None = None) -> dict[str, Any]:
    commit = _git("rev-parse", "HEAD", cwd=cwd)
    if not commit:
        return {}
    info: dict[str, Any] = {"commit": commit}
    branch = _git("rev-parse", "--abbrev-ref", "HEAD", cwd=cwd)
    if branch:
        info["branch"] = branch
    remote = _git("config", "--get", "remote.origin.url", cwd=cwd)
    if remote:
        info["remote"] = remote
    status = _git("status", "--porcelain", "--untracked-files=no", cwd=cwd)
    info["dirty"] = bool(status)
    return info


def program_path() -> str | None:
    """The notebook or script this process runs, when it can be told."""
    main = sys.modules.get("__main__")
    for name in ("__vsc_ipynb_file__", "__session__"):
        value = getattr(main, name, None)
        if isinstance(value, str) and value:
            return value
    env = os.environ.get("JPY_SESSION_NAME")
    if env:
        return env
    argv0 = sys.argv[0] if sys.argv else ""
    if argv0 and not argv0.endswith(("ipykernel_launcher.py", "-c")) and os.path.exists(argv0):
        return os.path.abspath(argv0)
    return None


def system_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "nbtrack": __version__,
        "host": platform.node(),
        "os": platform.platform(),
        "executable": sys.executable,
        "cwd": os.getcwd(),
    }
    path = program_path()
    if path:
        info["program"] = path
    # torch only when the user has imported it already: nbtrack never pulls it in.
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch"] = getattr(torch, "__version__", None)
        try:
            if torch.cuda.is_available():
                info["gpus"] = [
                    torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())
                ]
        except Exception:  # a broken driver must not stop the run
            pass
    return info


def collect() -> dict[str, Any]:
    info = system_info()
    git = git_info()
    if git:
        info["git"] = git
    return info

"""What a run records about where it ran: git, versions, host, GPUs, the notebook or script."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from typing import Any
from urllib.parse import urlsplit

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
        # Recorded, synced and shown to teammates: never with the token of an https remote.
        info["remote"] = strip_credentials(remote)
    status = _git("status", "--porcelain", "--untracked-files=no", cwd=cwd)
    info["dirty"] = bool(status)
    return info


# `[user@]host:path`, git's scp-like form of an ssh remote (no scheme, no slash before ":").
_SCP_LIKE = re.compile(r"(?:[^@/:]+@)?(?P<host>[^@/:]+):(?P<path>[^/].*)")
_PATH_PART = re.compile(r"[A-Za-z0-9._-]+")
_SHA = re.compile(r"[0-9a-fA-F]{7,64}")
_URL_SCHEMES = frozenset({"http", "https", "ssh", "git", "git+ssh", "ssh+git"})
_HOST = re.compile(r"[a-z0-9][a-z0-9.-]*")


def strip_credentials(remote: str) -> str:
    """`remote` without the user name and token an https remote may carry (an ssh remote
    keeps its user, which is no secret, and loses a password).

    >>> strip_credentials("https://me:ghp_secret@github.com/o/r.git")
    'https://github.com/o/r.git'
    >>> strip_credentials("git@github.com:o/r.git")
    'git@github.com:o/r.git'
    """
    try:
        parts = urlsplit(remote)
    except ValueError:
        return remote
    if not parts.scheme or "@" not in parts.netloc:
        return remote
    userinfo, _, hostport = parts.netloc.rpartition("@")
    if parts.scheme in ("http", "https"):
        # A token alone often stands where the user name goes (https://<token>@github.com).
        netloc = hostport
    else:
        netloc = f"{userinfo.partition(':')[0]}@{hostport}"
    return parts._replace(netloc=netloc).geturl()


def _remote_host_path(remote: str) -> tuple[str, str, str | None] | None:
    """(host, path, web root) of a remote. The web root (scheme, host and port) only for an
    http(s) remote: an ssh remote's port is ssh's, not the web's."""
    remote = remote.strip()
    if "://" in remote:
        try:
            parts = urlsplit(remote)
            port = parts.port
        except ValueError:
            return None
        scheme = parts.scheme.lower()
        if scheme not in _URL_SCHEMES or not parts.hostname:
            return None
        host = parts.hostname.lower()
        web = None
        if scheme in ("http", "https"):
            web = f"{scheme}://{host}" if port is None else f"{scheme}://{host}:{port}"
        return host, parts.path, web
    m = _SCP_LIKE.fullmatch(remote)
    if m is None:
        return None
    return m["host"].lower(), m["path"], None


def commit_url(remote: str | None, commit: str | None) -> str | None:
    """The web page of `commit` on `remote`'s host (GitHub, GitLab, Bitbucket), else None.

    Built from the host and the repository's path only: no user name or token of the
    remote ever gets into it. GitLab also on a self-hosted host whose name starts with
    ``gitlab.``.

    >>> commit_url("git@github.com:o/r.git", "0123abcd")
    'https://github.com/o/r/commit/0123abcd'
    >>> commit_url("https://user:token@gitlab.com/group/sub/r", "0123abcd")
    'https://gitlab.com/group/sub/r/-/commit/0123abcd'
    >>> commit_url("ssh://git@bitbucket.org/o/r.git", "0123abcd")
    'https://bitbucket.org/o/r/commits/0123abcd'
    >>> commit_url("https://example.org/o/r.git", "0123abcd") is None
    True
    """
    if not remote or not commit or not _SHA.fullmatch(commit):
        return None
    found = _remote_host_path(remote)
    if found is None:
        return None
    host, path, web = found
    if not _HOST.fullmatch(host):
        return None
    path = path.strip("/")
    path = path.removesuffix(".git")
    parts = path.split("/")
    if not all(_PATH_PART.fullmatch(p) and p not in (".", "..") for p in parts):
        return None
    sha = commit.lower()
    if host in ("github.com", "www.github.com", "ssh.github.com"):
        return f"https://github.com/{path}/commit/{sha}" if len(parts) == 2 else None
    if host in ("bitbucket.org", "www.bitbucket.org"):
        return f"https://bitbucket.org/{path}/commits/{sha}" if len(parts) == 2 else None
    if host == "gitlab.com" or host.startswith("gitlab."):
        if len(parts) < 2:  # GitLab has groups and subgroups: group/sub/repo
            return None
        # A self-hosted GitLab's pages are where its https (or http) remote points.
        root = web if web and host != "gitlab.com" else f"https://{host}"
        return f"{root}/{path}/-/commit/{sha}"
    return None


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


# A notebook in Google Drive, as Colab names its session: "fileId=<the Drive file id>".
_COLAB_FILE = re.compile(r"fileId=(?P<id>[A-Za-z0-9_-]{10,})")


def in_colab() -> bool:
    """True in a Colab runtime: its kernel has imported google.colab, its env says so."""
    return "google.colab" in sys.modules or bool(os.environ.get("COLAB_RELEASE_TAG"))


def colab_info(program: str | None) -> dict[str, Any]:
    """``{"colab": True}`` in Colab, with ``colab_url`` when the notebook can be told.

    Colab's kernel is not told which notebook it runs; its local session server knows, but
    asking it takes a request, and nbtrack makes none at run time. So the link is there only
    when the session's name reached the kernel (`program`, as ``fileId=<Drive id>``).

    >>> colab_info("fileId=1AbCdEfGhIjK")  # in Colab
    {'colab': True, 'colab_url': 'https://colab.research.google.com/drive/1AbCdEfGhIjK'}
    """
    if not in_colab():
        return {}
    info: dict[str, Any] = {"colab": True}
    m = _COLAB_FILE.fullmatch(program or "")
    if m:
        info["colab_url"] = f"https://colab.research.google.com/drive/{m['id']}"
    return info


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
    info.update(colab_info(path))
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

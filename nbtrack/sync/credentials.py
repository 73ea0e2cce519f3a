"""Logging in: where the server address and the API key come from, and where they are kept.

In order: `login()`'s arguments, ``NBTRACK_HOST`` / ``NBTRACK_API_KEY``, the credentials
file (``$NBTRACK_CONFIG_DIR/credentials.json``, by default ``~/.config/nbtrack/``), readable
by its owner only (0600). The key is asked with a hidden prompt where there is a terminal,
read from Colab's secrets (``NBTRACK_API_KEY``) where they exist, and otherwise refused
with a message saying how to pass it: some notebook front ends cannot answer `getpass`.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbtrack.errors import LoginError


@dataclass(frozen=True)
class Credentials:
    host: str
    key: str
    user: str
    entity: str  # where runs go unless init(entity=...) says otherwise

    def target(self, entity: str | None = None) -> str:
        """The name of an upload destination in the store's ``uploads`` table."""
        return f"{self.host}|{entity or self.entity}"


def config_dir() -> Path:
    env = os.environ.get("NBTRACK_CONFIG_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "nbtrack"


def credentials_path() -> Path:
    return config_dir() / "credentials.json"


def _read_file() -> dict[str, Any]:
    path = credentials_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise LoginError(f"nbtrack: cannot read {path} ({e}); remove it and log in again") from e
    return data if isinstance(data, dict) else {}


def saved() -> Credentials | None:
    """The credentials in effect now (environment first, then the file), if any."""
    data = _read_file()
    host = os.environ.get("NBTRACK_HOST") or data.get("host")
    # W&B's WANDB_API_KEY stands in last: a key saved by nbtrack login wins over it.
    key = os.environ.get("NBTRACK_API_KEY") or data.get("key") or os.environ.get("WANDB_API_KEY")
    if not host or not key:
        return None
    same = data.get("host") == host and data.get("key") == key
    user = str(data.get("user", "")) if same else ""
    entity = str(data.get("entity", "")) if same else ""
    return Credentials(str(host), str(key), user, entity or os.environ.get("NBTRACK_ENTITY", ""))


def save(creds: Credentials) -> Path:
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    # Made 0600 before the key is written into it, and swapped in whole.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(
            {"host": creds.host, "key": creds.key, "user": creds.user, "entity": creds.entity}, f
        )
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def forget() -> bool:
    """Remove the saved credentials; True when there were some."""
    try:
        credentials_path().unlink()
        return True
    except FileNotFoundError:
        return False


def key_for(host: str) -> str | None:
    """The key in effect for `host` (already normalized): ``NBTRACK_API_KEY``, else the
    saved one when it was saved for this host."""
    known = saved()
    return (
        os.environ.get("NBTRACK_API_KEY")
        or (known.key if known is not None and known.host == host else None)
        or os.environ.get("WANDB_API_KEY")
    )


def _colab_secret() -> str | None:
    if "google.colab" not in sys.modules:
        return None
    try:
        from google.colab import userdata  # type: ignore[import-not-found]

        value = userdata.get("NBTRACK_API_KEY")
    except Exception:  # no such secret, or access not granted: say how below
        return None
    return str(value) if value else None


def ask_key(host: str) -> str:
    """The API key from Colab's secrets or a hidden prompt; `LoginError` where neither works."""
    key = _colab_secret()
    if key:
        return key
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        key = getpass.getpass(f"nbtrack: API key for {host} (hidden): ").strip()
        if key:
            return key
    raise LoginError(
        f"nbtrack: no API key for {host}, and no terminal to ask for one. Pass it: "
        "nbtrack.login(host=..., key=...), or set NBTRACK_API_KEY (in Colab: add a secret "
        "named NBTRACK_API_KEY), or run `nbtrack login` in a terminal once"
    )


def login(
    host: str | None = None,
    key: str | None = None,
    *,
    entity: str | None = None,
    save_file: bool = True,
) -> Credentials:
    """Check the key with the server and keep it; `LoginError` names what is wrong."""
    from nbtrack.sync.client import Client, Refused, Unreachable, normalize_host

    known = saved()
    host = host or os.environ.get("NBTRACK_HOST") or (known.host if known else None)
    if not host:
        raise LoginError(
            "nbtrack: which server? Pass nbtrack.login(host='http://server:8080'), or set "
            "NBTRACK_HOST, or run `nbtrack login --host URL`"
        )
    try:
        host = normalize_host(host)
    except ValueError as e:
        raise LoginError(str(e)) from None
    key = (key or key_for(host) or ask_key(host)).strip()
    client = Client(host, key, timeout=15.0)
    try:
        who = client.viewer()
    except Refused as e:
        raise LoginError(f"nbtrack: {host} refused this API key: {e}") from None
    except Unreachable as e:
        raise LoginError(f"nbtrack: could not log in: {e}") from None
    finally:
        client.close()
    entities = [str(x) for x in who.get("entities", [])]
    user = str(who.get("user", ""))
    if entity is not None and entity not in entities:
        raise LoginError(
            f"nbtrack: user {user} cannot log to entity {entity!r} on {host}; theirs: "
            f"{', '.join(entities)}"
        )
    creds = Credentials(host, key, user, entity or user)
    if save_file:
        save(creds)
    return creds

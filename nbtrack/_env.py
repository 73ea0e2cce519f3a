"""Environment variables: each ``NBTRACK_*`` setting, and W&B's ``WANDB_*`` twin as an alias.

Every reader goes through `get`, so the rule is the same everywhere: ``NBTRACK_<NAME>``
wins when both are set; an empty value counts as unset.

>>> os.environ["WANDB_PROJECT"] = "mnist"
>>> _env.get("PROJECT")
'mnist'
"""

from __future__ import annotations

import os

# nbtrack's name -> W&B's variable, where W&B has one. W&B names a few differently.
# No alias for the host: WANDB_BASE_URL names W&B's own cloud more often than not.
WANDB_NAMES: dict[str, str] = {
    "PROJECT": "WANDB_PROJECT",
    "ENTITY": "WANDB_ENTITY",
    "NAME": "WANDB_NAME",
    "NOTES": "WANDB_NOTES",
    "TAGS": "WANDB_TAGS",
    "MODE": "WANDB_MODE",
    "RUN_ID": "WANDB_RUN_ID",
    "RESUME": "WANDB_RESUME",
    "DIR": "WANDB_DIR",
    "SILENT": "WANDB_SILENT",
    "API_KEY": "WANDB_API_KEY",
    "GROUP": "WANDB_RUN_GROUP",
    "JOB_TYPE": "WANDB_JOB_TYPE",
}

# W&B variables that are read, and ignored on purpose (they choose W&B machinery).
IGNORED = ("WANDB_CONSOLE", "WANDB_WATCH", "WANDB_START_METHOD", "WANDB_LOG_MODEL")

_TRUE = frozenset({"1", "true", "yes", "on"})


def get(name: str, default: str | None = None) -> str | None:
    """The value of setting `name` (``"PROJECT"``, ``"RUN_ID"``...): ``NBTRACK_<name>``,
    else its ``WANDB_*`` twin, else `default`."""
    value = os.environ.get(f"NBTRACK_{name}")
    if value:
        return value
    twin = WANDB_NAMES.get(name)
    if twin is not None:
        value = os.environ.get(twin)
        if value:
            return value
    return default


def flag(name: str) -> bool:
    """A yes/no setting (``NBTRACK_SILENT=true``, ``WANDB_SILENT=1``)."""
    value = get(name)
    return value is not None and value.strip().lower() in _TRUE


def mode() -> str | None:
    """The run mode the environment asks for: online, offline, disabled, or None.

    W&B's other spellings are taken too: ``WANDB_MODE=dryrun`` (offline), ``run`` (online),
    and the old ``WANDB_DISABLED=true``.
    """
    value = os.environ.get("NBTRACK_MODE") or None
    if value is None:
        wandb = os.environ.get("WANDB_MODE") or None
        if wandb is not None:
            value = {"dryrun": "offline", "run": "online"}.get(wandb.strip().lower(), wandb)
    if value is None and os.environ.get("WANDB_DISABLED", "").strip().lower() in _TRUE:
        value = "disabled"
    return value


def tags() -> list[str] | None:
    """``WANDB_TAGS`` / ``NBTRACK_TAGS``: comma separated, blanks dropped."""
    value = get("TAGS")
    if value is None:
        return None
    return [t.strip() for t in value.split(",") if t.strip()]


def resume() -> bool | str | None:
    """``WANDB_RESUME`` / ``NBTRACK_RESUME``: allow, must, never, auto (true/false as bools)."""
    value = get("RESUME")
    if value is None:
        return None
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in ("0", "false", "no", "off"):
        return False
    return low

"""What an artifact's names, types, aliases, tags, paths and metadata may be (W&B's rules),
and the errors of artifacts."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from nbtrack import _json
from nbtrack.errors import NbtrackError

_NAME = re.compile(r"^[a-zA-Z0-9_\-.]+$")
_NAME_MAXLEN = 128
_SEP = frozenset("/:")
_VERSION = re.compile(r"^v(\d+)$")
_TAG = re.compile(r"^[-\w]+( +[-\w]+)*$")
_MAX_METADATA_KEYS = 100


class ArtifactNotFoundError(NbtrackError, LookupError):
    """No artifact (or no version or alias of it) of that name in the store."""


class ArtifactNotLoggedError(NbtrackError, AttributeError):
    """An attribute or method that only a logged artifact has, used on a draft (as W&B)."""


class ArtifactFinalizedError(NbtrackError, AttributeError):
    """A change to an artifact that is already logged (as W&B: log a new version instead)."""


def validate_name(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"nbtrack: an artifact name is a string, not {type(name).__name__}")
    if len(name) > _NAME_MAXLEN:
        raise ValueError(
            f"nbtrack: artifact name is longer than {_NAME_MAXLEN} characters: "
            f"{name[:_NAME_MAXLEN]!r}..."
        )
    if not _NAME.match(name):
        raise ValueError(
            "nbtrack: an artifact name may only contain letters, digits, dashes, underscores "
            f"and dots (as in W&B); invalid name: {name!r}"
        )
    return name


def validate_type(type: Any, name: str) -> str:
    if not isinstance(type, str) or not type:
        raise ValueError(
            f"nbtrack: artifact {name!r} needs a type (a non-empty string), not {type!r}"
        )
    if _SEP.intersection(type) or len(type) > _NAME_MAXLEN:
        raise ValueError(
            f"nbtrack: an artifact type has at most {_NAME_MAXLEN} characters and no '/' or "
            f"':'; invalid type: {type!r}"
        )
    if type.startswith("wandb-"):
        raise ValueError(f"nbtrack: artifact type {type!r} is reserved (as in W&B): use another")
    return type


def validate_aliases(aliases: str | Iterable[str] | None) -> list[str]:
    out = [aliases] if isinstance(aliases, str) else list(aliases or [])
    for a in out:
        if not isinstance(a, str) or not a or _SEP.intersection(a):
            raise ValueError(
                f"nbtrack: an artifact alias is a non-empty string without '/' or ':'; got {a!r}"
            )
        if _VERSION.match(a):
            raise ValueError(
                f"nbtrack: alias {a!r} reads as a version number (versions are named v0, v1, "
                "... when logged): choose another alias"
            )
    return list(dict.fromkeys(out))


def validate_tags(tags: str | Iterable[str] | None) -> list[str]:
    out = [tags] if isinstance(tags, str) else list(tags or [])
    for t in out:
        if not isinstance(t, str) or not _TAG.match(t):
            raise ValueError(
                "nbtrack: an artifact tag holds only letters, digits, hyphens and underscores, "
                f"words separated by spaces (as in W&B); got {t!r}"
            )
    return list(dict.fromkeys(out))


def resolve_aliases(aliases: str | Iterable[str] | None) -> list[str]:
    """The aliases a log gives its version: the ones asked for, and always ``latest``."""
    out = validate_aliases(aliases)
    return [*(a for a in out if a != "latest"), "latest"]


def logical_path(path: Any) -> str:
    """`path` as a path inside an artifact: relative, with ``/``, no ``..``."""
    text = os.fspath(path)
    if os.sep != "/":
        text = text.replace(os.sep, "/")
    p = PurePosixPath(text)
    if not text or p.is_absolute() or ".." in p.parts or not p.parts or p.as_posix() == ".":
        raise ValueError(
            f"nbtrack: invalid path in an artifact: {path!r} (a relative path, without '..')"
        )
    return p.as_posix()


def validate_metadata(metadata: Any) -> dict[str, Any]:
    if metadata is None:
        return {}
    if isinstance(metadata, str):
        metadata = json.loads(metadata)
    if not isinstance(metadata, dict):
        raise TypeError(
            f"nbtrack: artifact metadata is a dict (or its JSON), not {type(metadata).__name__}"
        )
    if len(metadata) > _MAX_METADATA_KEYS:
        raise ValueError(
            f"nbtrack: an artifact has at most {_MAX_METADATA_KEYS} metadata keys (as in W&B)"
        )
    for k, v in metadata.items():
        _json.check("artifact metadata", str(k), v)
    out: dict[str, Any] = json.loads(_json.dumps(metadata))
    return out

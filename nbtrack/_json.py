"""JSON as the store writes it: config, summary, alerts and metadata.

NaN and infinities are kept (``allow_nan``); values JSON has no type for become their
``repr``, as documented for config; NumPy values become numbers or lists. What still cannot
be stored (a circular structure, a key that is not a string, a string with a lone
surrogate) is refused by `check`, at the call that set it.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def dumps(obj: Any) -> str:
    return json.dumps(obj, default=_default, ensure_ascii=False, allow_nan=True)


def _default(obj: Any) -> Any:
    np = sys.modules.get("numpy")  # a NumPy value can only exist once NumPy is imported
    if np is not None:
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return repr(obj)


def check(what: str, key: str, value: Any) -> None:
    """Raise a ValueError naming `what` and `key` when `value` cannot be stored."""
    try:
        dumps(value).encode("utf-8")
    except (ValueError, TypeError, RecursionError, UnicodeError) as e:
        reason = str(e)
        if isinstance(e, UnicodeError):
            reason = "it holds a string that is not valid Unicode (a lone surrogate)"
        elif "ircular" in reason:
            reason = "it refers to itself (a circular structure)"
        elif "keys must be" in reason:
            reason = "a dict in it has a key that is not a string (JSON keys are strings)"
        raise ValueError(
            f"nbtrack: {what} value for key {key!r} cannot be stored: {reason}"
        ) from None


def finite(obj: Any) -> Any:
    """`obj` with every NaN and infinity (at any depth) as "nan", "inf" or "-inf": what
    strict JSON can carry (the server's API, whose numbers must be finite)."""
    if isinstance(obj, float):
        if obj != obj:
            return "nan"
        if obj in (float("inf"), float("-inf")):
            return "inf" if obj > 0 else "-inf"
        return obj
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj

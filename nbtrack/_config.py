"""`run.config` and `run.summary`: small dict-like objects that save themselves."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any


def as_dict(obj: Any) -> dict[str, Any]:
    """A config source as a dict: a Mapping, an argparse Namespace or a dataclass."""
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        out = dict(obj)
    elif isinstance(obj, argparse.Namespace):
        out = vars(obj).copy()
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = dataclasses.asdict(obj)
    else:
        raise TypeError(
            "nbtrack: config must be a dict, an argparse.Namespace or a dataclass instance, "
            f"not {type(obj).__name__}"
        )
    for key, value in out.items():
        if not isinstance(key, str):
            raise TypeError(f"nbtrack: config keys must be strings, got {key!r}")
        _check_key("config", key)
        _check_value("config", key, value)
    return out


def _check_value(what: str, key: str, value: Any) -> None:
    from nbtrack import _json  # here, not at import: json is loaded with the first run

    _json.check(what, key, value)


def _check_key(what: str, key: str) -> None:
    try:
        key.encode("utf-8")
    except UnicodeError:
        raise ValueError(
            f"nbtrack: {what} key {key!r} is not valid Unicode (it holds a lone surrogate)"
        ) from None


class Config:
    """Hyperparameters of a run. Attribute and item access; saved when changed.

    >>> run.config.lr
    0.001
    >>> run.config.update({"batch_size": 64})
    """

    def __init__(self, data: dict[str, Any], on_change: Callable[[], None]) -> None:
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "_on_change", on_change)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(f"config has no key {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"nbtrack: config keys must be strings, got {key!r}")
        _check_key("config", key)
        _check_value("config", key, value)
        self._data[key] = value
        self._on_change()

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self._on_change()

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Config({self._data!r})"

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *self._data]

    def keys(self) -> Any:
        return self._data.keys()

    def items(self) -> Any:
        return self._data.items()

    def values(self) -> Any:
        return self._data.values()

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def setdefaults(self, d: Any) -> None:
        for k, v in as_dict(d).items():
            self._data.setdefault(k, v)
        self._on_change()

    def update(self, d: Any = None, allow_val_change: bool = True, **kwargs: Any) -> None:
        """Merge a dict, an argparse Namespace or a dataclass into the config."""
        del allow_val_change  # accepted for W&B scripts; values may always change here
        new = {**as_dict(d), **as_dict(kwargs)}  # both checked before anything changes
        self._data.update(new)
        self._on_change()

    def as_dict(self) -> dict[str, Any]:
        return dict(self._data)


class Summary:
    """The last value of each key, unless the user set one: ``run.summary["best"] = 0.9``."""

    def __init__(self, last: Callable[[], dict[str, Any]], on_change: Callable[[], None]) -> None:
        self._last = last
        self._user: dict[str, Any] = {}
        self._on_change = on_change

    def as_dict(self) -> dict[str, Any]:
        return {**self._last(), **self._user}

    def __getitem__(self, key: str) -> Any:
        if key in self._user:
            return self._user[key]
        return self._last()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"nbtrack: summary keys must be strings, got {key!r}")
        _check_key("summary", key)
        _check_value("summary", key, value)
        self._user[key] = value
        self._on_change()

    def __delitem__(self, key: str) -> None:
        del self._user[key]
        self._on_change()

    def update(self, d: Mapping[str, Any]) -> None:
        items = dict(d)
        for k, v in items.items():  # all checked before anything changes
            if not isinstance(k, str):
                raise TypeError(f"nbtrack: summary keys must be strings, got {k!r}")
            _check_key("summary", k)
            _check_value("summary", k, v)
        self._user.update(items)
        self._on_change()

    def __contains__(self, key: object) -> bool:
        return key in self._user or key in self._last()

    def __iter__(self) -> Iterator[str]:
        return iter(self.as_dict())

    def __len__(self) -> int:
        return len(self.as_dict())

    def get(self, key: str, default: Any = None) -> Any:
        return self.as_dict().get(key, default)

    def keys(self) -> Any:
        return self.as_dict().keys()

    def items(self) -> Any:
        return self.as_dict().items()

    def __repr__(self) -> str:
        return f"Summary({self.as_dict()!r})"


def user_summary(summary: Summary) -> dict[str, Any]:
    """The entries the user set on `summary` (not the last logged values)."""
    return dict(summary._user)


def set_user_summary(summary: Summary, values: dict[str, Any]) -> None:
    """Restore the user's entries (when a run resumes); they came from the store."""
    summary._user.update(values)

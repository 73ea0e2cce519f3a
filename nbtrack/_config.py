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
    for key in out:
        if not isinstance(key, str):
            raise TypeError(f"nbtrack: config keys must be strings, got {key!r}")
    return out


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
        self._data.update(as_dict(d))
        self._data.update(kwargs)
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
        self._user[key] = value
        self._on_change()

    def update(self, d: Mapping[str, Any]) -> None:
        for k, v in d.items():
            self[k] = v

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

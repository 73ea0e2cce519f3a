"""`run.config` and `run.summary`: small dict-like objects that save themselves."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Iterator, Mapping, MutableMapping
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


class ConfigError(ValueError):
    """A config value changed after init without ``allow_val_change`` (W&B's ConfigError)."""


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # an object whose == is not a truth value: count it as a change
        return False


class Config:
    """Hyperparameters of a run. Attribute and item access; saved when changed.

    >>> run.config.lr
    0.001
    >>> run.config.update({"batch_size": 64})
    >>> run.config.update({"lr": 3e-4}, allow_val_change=True)  # changing a value: say so

    As in W&B, once `init` has returned, giving an existing key a different value raises
    `ConfigError` unless ``allow_val_change=True`` (to `update` or to `init`); the same value
    again is fine. Keys a sweep set keep the sweep's value (an update of one is ignored,
    with a warning), so a script's defaults never override the trial's parameters.
    """

    def __init__(self, data: dict[str, Any], on_change: Callable[[], None]) -> None:
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "_on_change", on_change)
        # Set by init once the run exists (see `config_lock`): before it, anything goes.
        object.__setattr__(self, "_checked", False)
        object.__setattr__(self, "_allow_val_change", True)
        object.__setattr__(self, "_locked", frozenset())

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            # Protocol lookups (copy, pickle) must not find config keys.
            raise AttributeError(name)
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
        if not self._admits({key: value}, None):
            return
        self._data[key] = value
        self._on_change()

    def _admits(self, new: dict[str, Any], allow_val_change: bool | None) -> bool:
        """Check `new` against W&B's rules; drop the sweep's keys from it. False: nothing left."""
        if not self._checked:
            return True
        for key in [k for k in new if k in self._locked]:
            if not _same(new[key], self._data.get(key)):
                _warn_locked(key)
            del new[key]
        if not new:
            return False
        allow = allow_val_change if allow_val_change is not None else self._allow_val_change
        if not allow:
            for key, value in new.items():
                if key in self._data and not _same(value, self._data[key]):
                    raise ConfigError(
                        f"nbtrack: config key {key!r} is already {self._data[key]!r}; changing "
                        f"it to {value!r} needs allow_val_change=True (config.update(..., "
                        "allow_val_change=True), or nbtrack.init(allow_val_change=True)), "
                        "as in W&B"
                    )
        return True

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
        """Set the keys of `d` that the config does not have yet (W&B's ``setdefaults``)."""
        for k, v in as_dict(d).items():
            self._data.setdefault(k, v)
        self._on_change()

    def update(self, d: Any = None, allow_val_change: bool | None = None, **kwargs: Any) -> None:
        """Merge a dict, an argparse Namespace or a dataclass into the config.

        >>> run.config.update(args)                                   # argparse Namespace
        >>> run.config.update({"lr": 1e-4}, allow_val_change=True)
        """
        new = {**as_dict(d), **as_dict(kwargs)}  # both checked before anything changes
        if not self._admits(new, allow_val_change):
            return
        self._data.update(new)
        self._on_change()

    def as_dict(self) -> dict[str, Any]:
        return dict(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Config):
            return bool(self._data == other._data)
        return isinstance(other, Mapping) and bool(self._data == dict(other))

    __hash__ = None  # type: ignore[assignment]


_locked_warned: set[str] = set()


def _warn_locked(key: str) -> None:
    if key in _locked_warned:
        return
    _locked_warned.add(key)
    import warnings

    warnings.warn(
        f"nbtrack: config key {key!r} was set by the sweep; this update of it is ignored "
        "(as in W&B)",
        UserWarning,
        stacklevel=4,
    )


def config_lock(config: Config, locked: set[str], allow_val_change: bool) -> None:
    """From now on `config` follows W&B's rules (called by init once the run exists)."""
    object.__setattr__(config, "_checked", True)
    object.__setattr__(config, "_allow_val_change", allow_val_change)
    object.__setattr__(config, "_locked", frozenset(locked))


class Summary:
    """The last value of each key, unless the user set one: ``run.summary["best"] = 0.9``."""

    def __init__(self, last: Callable[[], dict[str, Any]], on_change: Callable[[], None]) -> None:
        self._last = last
        self._user: dict[str, Any] = {}
        self._on_change = on_change

    def as_dict(self) -> dict[str, Any]:
        return {**self._last(), **self._user}

    def __getattr__(self, name: str) -> Any:
        # Only for names that are not attributes: W&B's ``run.summary.best_acc``.
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"summary has no key {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            self[name] = value

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

    def update(self, d: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Set several entries at once: ``run.summary.update({"best_acc": 0.93})``."""
        items = {**dict(d or {}), **kwargs}
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

    def values(self) -> Any:
        return self.as_dict().values()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Summary):
            return self.as_dict() == other.as_dict()
        return isinstance(other, Mapping) and self.as_dict() == dict(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Summary({self.as_dict()!r})"


# Both are dict-like for code that asks (``isinstance(wandb.config, Mapping)``).
MutableMapping.register(Config)
MutableMapping.register(Summary)


def user_summary(summary: Summary) -> dict[str, Any]:
    """The entries the user set on `summary` (not the last logged values)."""
    return dict(summary._user)


def set_user_summary(summary: Summary, values: dict[str, Any]) -> None:
    """Restore the user's entries (when a run resumes); they came from the store."""
    summary._user.update(values)


# The W&B settings init honours, and the init argument each stands for.
_HONOURED_SETTINGS = {
    "mode": "mode",
    "project": "project",
    "entity": "entity",
    "run_name": "run_name",
    "run_notes": "run_notes",
    "run_tags": "run_tags",
    "run_group": "run_group",
    "run_job_type": "run_job_type",
    "run_id": "run_id",
    "resume": "resume",
    "reinit": "reinit",
    "root_dir": "root_dir",
    "allow_val_change": "allow_val_change",
}
# Settings that change nothing here and need no warning: they tune W&B's own output.
_QUIET_SETTINGS = frozenset({"silent", "quiet", "show_info", "show_warnings", "show_errors"})


class Settings:
    """W&B's ``wandb.Settings``: any setting is accepted; init honours mode, project, entity,
    run_name, run_notes, run_tags, run_group, run_job_type, run_id, resume, reinit,
    root_dir and allow_val_change, and warns once about each other one it ignores.

    >>> nbtrack.init(settings=nbtrack.Settings(start_method="thread", mode="offline"))
    """

    def __init__(self, **settings: Any) -> None:
        object.__setattr__(self, "_values", dict(settings))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._values.get(name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._values[name] = value

    def update(self, settings: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        self._values.update({**(settings or {}), **kwargs})

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def __repr__(self) -> str:
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in self._values.items())})"


def honoured(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings init acts on; a one-time warning for each of the others."""
    from nbtrack._compat import unsupported

    out: dict[str, Any] = {}
    for key, value in settings.items():
        if key in _HONOURED_SETTINGS:
            if value is not None:
                out[_HONOURED_SETTINGS[key]] = value
        elif key not in _QUIET_SETTINGS:
            unsupported(f"wandb.Settings({key}=...)", "this setting is ignored")
    return out

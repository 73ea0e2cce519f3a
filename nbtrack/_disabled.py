"""The run `init(mode="disabled")` returns: every call is accepted and does nothing."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from nbtrack import _current
from nbtrack._config import Config, Summary

if TYPE_CHECKING:
    from nbtrack._interface import RunProtocol


class DisabledRun:
    """Satisfies the same `RunProtocol` as `Run`; a W&B script runs unchanged, logging nothing."""

    id = "disabled"
    state = "disabled"
    notes: str | None = None
    tags: tuple[str, ...] = ()

    def __init__(self, project: str, name: str | None, config: dict[str, Any]) -> None:
        self.project = project
        self.name = name or "disabled"
        self._config = Config(dict(config), lambda: None)
        self._summary = Summary(dict, lambda: None)

    @property
    def config(self) -> Config:
        return self._config

    @property
    def summary(self) -> Summary:
        return self._summary

    @property
    def step(self) -> int:
        return 0

    @property
    def path(self) -> str:
        return f"{self.project}/{self.id}"

    def log(self, data: Mapping[str, Any], step: int | None = None, commit: bool = True) -> None:
        pass

    def alert(
        self, title: str, text: str = "", level: str = "WARN", data: dict[str, Any] | None = None
    ) -> None:
        pass

    def watch(
        self,
        models: Any,
        criterion: Any = None,
        log: str | None = "gradients",
        log_freq: int = 1000,
        idx: int | None = None,
        log_graph: bool = False,
    ) -> None:
        pass

    def unwatch(self, models: Any = None) -> None:
        pass

    def finish(self, exit_code: int = 0, *, quiet: bool = False) -> None:
        _current.clear_current(self)

    def dashboard(self) -> None:
        """Nothing to show: a disabled run records nothing."""
        return None

    def share(
        self, project: bool = False, expires: float | str | None = None, show_private: bool = False
    ) -> str:
        """A disabled run is neither stored nor synced: there is no link to make."""
        from nbtrack.sync.shares import ShareError

        raise ShareError(
            "nbtrack: this run is disabled (mode='disabled'): it is neither stored nor synced, "
            "so it has no share link. Start it with nbtrack.init(mode='online') while logged in"
        )

    def __enter__(self) -> DisabledRun:
        return self

    def __exit__(
        self,
        tp: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.finish()

    def __repr__(self) -> str:
        return f"<nbtrack.Run {self.project} (disabled)>"


if TYPE_CHECKING:
    # mypy checks here that DisabledRun has every part of the run protocol.
    _check: type[RunProtocol] = DisabledRun

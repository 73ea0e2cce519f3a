"""`RunProtocol`: the surface every run has, a real `Run` and a `DisabledRun` alike.

Checked twice: mypy checks that both classes satisfy it (the assignments at the end of
`_run.py` and `_disabled.py`), and `tests/test_run.py` checks it at run time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from nbtrack._config import Config, Summary

if TYPE_CHECKING:
    from nbtrack._metrics import Metric
    from nbtrack._run import AlertLevel


@runtime_checkable
class RunProtocol(Protocol):
    id: str
    name: str
    project: str
    notes: str | None
    tags: tuple[str, ...]
    state: str

    @property
    def config(self) -> Config: ...

    @property
    def summary(self) -> Summary: ...

    @property
    def step(self) -> int: ...

    @property
    def path(self) -> str: ...

    @property
    def dir(self) -> str: ...

    @property
    def group(self) -> str | None: ...

    @property
    def job_type(self) -> str | None: ...

    @property
    def sweep_id(self) -> str | None: ...

    @property
    def entity(self) -> str: ...

    @property
    def url(self) -> str | None: ...

    @property
    def offline(self) -> bool: ...

    @property
    def disabled(self) -> bool: ...

    @property
    def resumed(self) -> bool: ...

    @property
    def start_time(self) -> float: ...

    def project_name(self) -> str: ...

    def log(
        self,
        data: Mapping[str, Any],
        step: int | None = None,
        commit: bool | None = None,
        sync: bool | None = None,
    ) -> None: ...

    def alert(
        self,
        title: str,
        text: str = "",
        level: str | AlertLevel | None = None,
        wait_duration: float | timedelta | None = None,
        *,
        data: dict[str, Any] | None = None,
    ) -> None: ...

    def define_metric(
        self,
        name: str,
        step_metric: Any = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: str | None = None,
        goal: str | None = None,
        overwrite: bool | None = None,
    ) -> Metric: ...

    def save(
        self,
        glob_str: str | os.PathLike[str] | None = None,
        base_path: str | os.PathLike[str] | None = None,
        policy: str = "live",
    ) -> list[str]: ...

    def log_code(self, root: str | None = ".", name: str | None = None, **kwargs: Any) -> None: ...

    def mark_preempting(self) -> None: ...

    def display(self, height: int = 420, hidden: bool = False) -> bool: ...

    def log_artifact(
        self,
        artifact_or_path: Any,
        name: str | None = None,
        type: str | None = None,
        aliases: list[str] | None = None,
        tags: list[str] | None = None,
    ) -> Any: ...

    def use_artifact(
        self,
        artifact_or_name: Any,
        type: str | None = None,
        aliases: list[str] | None = None,
        use_as: str | None = None,
    ) -> Any: ...

    def log_model(
        self,
        path: str | os.PathLike[str],
        name: str | None = None,
        aliases: list[str] | None = None,
    ) -> Any: ...

    def use_model(self, name: str) -> Any: ...

    def link_model(self, *args: Any, **kwargs: Any) -> None: ...

    def watch(
        self,
        models: Any,
        criterion: Any = None,
        log: str | None = "gradients",
        log_freq: int = 1000,
        idx: int | None = None,
        log_graph: bool = False,
    ) -> Any: ...

    def unwatch(self, models: Any = None) -> None: ...

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None: ...

    def dashboard(self) -> Any: ...

    def share(
        self, project: bool = False, expires: float | str | None = None, show_private: bool = False
    ) -> str: ...

    def __enter__(self) -> RunProtocol: ...

    def __exit__(
        self,
        tp: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

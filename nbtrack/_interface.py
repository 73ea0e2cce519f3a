"""`RunProtocol`: the surface every run has, a real `Run` and a `DisabledRun` alike.

Checked twice: mypy checks that both classes satisfy it (the assignments at the end of
`_run.py` and `_disabled.py`), and `tests/test_run.py` checks it at run time.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Protocol, runtime_checkable

from nbtrack._config import Config, Summary


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

    def log(
        self, data: Mapping[str, Any], step: int | None = None, commit: bool = True
    ) -> None: ...

    def alert(
        self, title: str, text: str = "", level: str = "WARN", data: dict[str, Any] | None = None
    ) -> None: ...

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

    def finish(self, exit_code: int = 0, *, quiet: bool = False) -> None: ...

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

"""The run `init(mode="disabled")` returns: every call is accepted and does nothing."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any

from nbtrack import _current
from nbtrack._config import Config, Summary

if TYPE_CHECKING:
    from nbtrack._interface import RunProtocol
    from nbtrack._metrics import Metric
    from nbtrack._run import AlertLevel


class DisabledRun:
    """Satisfies the same `RunProtocol` as `Run`; a W&B script runs unchanged, logging nothing."""

    id = "disabled"
    state = "disabled"
    disabled = True
    offline = True
    resumed = False
    url: str | None = None

    def __init__(
        self,
        project: str,
        name: str | None,
        config: dict[str, Any],
        *,
        notes: str | None = None,
        tags: list[str] | tuple[str, ...] = (),
        group: str | None = None,
        job_type: str | None = None,
        sweep_id: str | None = None,
        entity: str | None = None,
    ) -> None:
        self.project = project
        self.name = name or "disabled"
        self.notes = notes
        self.tags = tuple(tags)
        self.group = group
        self.job_type = job_type
        self.sweep_id = sweep_id
        self.start_time = time.time()
        from nbtrack._run import local_entity

        self.entity = entity or local_entity()
        self._config = Config(dict(config), lambda: None)
        self._summary = Summary(dict, lambda: None)
        self._dir: str | None = None

    @property
    def dir(self) -> str:
        """A temporary folder, removed when the process exits: a script that writes its
        checkpoints into run.dir still runs, and nothing lands in the store."""
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="nbtrack-disabled-")
            atexit.register(shutil.rmtree, self._dir, True)
        return self._dir

    def project_name(self) -> str:
        return self.project

    def define_metric(
        self,
        name: str,
        step_metric: Any = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: str | None = None,
        goal: str | None = None,
        overwrite: bool | None = None,
    ) -> Metric:
        """Checked as on a real run (a typo fails here too), and otherwise a no-op."""
        from nbtrack import _metrics

        return _metrics.make(name, step_metric, step_sync, hidden, summary, goal, overwrite)

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

    def log(
        self,
        data: Mapping[str, Any],
        step: int | None = None,
        commit: bool | None = None,
        sync: bool | None = None,
    ) -> None:
        pass

    def alert(
        self,
        title: str,
        text: str = "",
        level: str | AlertLevel | None = None,
        wait_duration: float | timedelta | None = None,
        *,
        data: dict[str, Any] | None = None,
    ) -> None:
        pass

    def save(
        self,
        glob_str: str | os.PathLike[str] | None = None,
        base_path: str | os.PathLike[str] | None = None,
        policy: str = "live",
    ) -> list[str]:
        """Nothing is kept for a disabled run: no file is linked; an empty list."""
        return []

    def log_code(self, root: str | None = ".", name: str | None = None, **kwargs: Any) -> None:
        pass

    def mark_preempting(self) -> None:
        pass

    def _label(self, code: str | None = None, repo: str | None = None, **kwargs: Any) -> None:
        pass

    def display(self, height: int = 420, hidden: bool = False) -> bool:
        return False

    def log_artifact(
        self,
        artifact_or_path: Any,
        name: str | None = None,
        type: str | None = None,
        aliases: list[str] | None = None,
        tags: list[str] | None = None,
    ) -> Any:
        """Not stored: returns the artifact given (or None for a path)."""
        return None if isinstance(artifact_or_path, (str, os.PathLike)) else artifact_or_path

    def use_artifact(
        self,
        artifact_or_name: Any,
        type: str | None = None,
        aliases: list[str] | None = None,
        use_as: str | None = None,
    ) -> Any:
        """A disabled run reads no store: the artifact given, or None for a name."""
        return None if isinstance(artifact_or_name, str) else artifact_or_name

    def log_model(
        self,
        path: str | os.PathLike[str],
        name: str | None = None,
        aliases: list[str] | None = None,
    ) -> Any:
        return None

    def use_model(self, name: str) -> Any:
        return None

    def link_model(self, *args: Any, **kwargs: Any) -> None:
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

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
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

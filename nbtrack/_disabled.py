"""The run `init(mode="disabled")` returns: every call is accepted and does nothing."""

from __future__ import annotations

from typing import Any

from nbtrack._config import Config, Summary


class DisabledRun:
    id = "disabled"
    state = "disabled"
    notes = None
    tags: tuple[str, ...] = ()
    step = 0

    def __init__(self, project: str, name: str | None, config: dict[str, Any]) -> None:
        self.project = project
        self.name = name or "disabled"
        self.path = f"{project}/{self.id}"
        self.config = Config(dict(config), lambda: None)
        self.summary = Summary(dict, lambda: None)

    def log(self, data: Any, step: int | None = None, commit: bool = True) -> None:
        pass

    def log_histograms(self, entries: Any) -> None:
        pass

    def watch(self, *args: Any, **kwargs: Any) -> None:
        pass

    def unwatch(self, *args: Any, **kwargs: Any) -> None:
        pass

    def finish(self, exit_code: int = 0, *, quiet: bool = False) -> None:
        from nbtrack import _run

        if _run._current is self:  # type: ignore[comparison-overlap]
            _run._current = None

    def __enter__(self) -> DisabledRun:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def __repr__(self) -> str:
        return f"<nbtrack.Run {self.project} (disabled)>"

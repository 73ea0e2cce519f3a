"""The live dashboard in a notebook cell's output (an anywidget drawn with BokehJS).

Importing this package is cheap: anywidget (and ipywidgets under it) load only when a
dashboard is made, so `nbtrack.init()` outside a notebook pays nothing for it.

>>> run = nbtrack.init(project="demo")     # in a notebook: the dashboard shows itself
>>> nbtrack.show("demo/3k2j9x0a")          # any stored run, followed while it runs
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbtrack._run import Run
    from nbtrack.api import Api
    from nbtrack.widget._compare import CompareView
    from nbtrack.widget._dashboard import Dashboard

__all__ = ["compare", "dashboard", "display_run", "in_notebook", "show"]


def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Notebook, VS Code, Colab), not in a terminal."""
    if "ipykernel" not in sys.modules:  # never import IPython just to find out
        return False
    from IPython import get_ipython

    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None


def dashboard(run: Run) -> Dashboard:
    """A new dashboard widget following `run` (what `run.dashboard()` returns).

    >>> w = nbtrack.widget.dashboard(run)
    """
    from nbtrack.widget._dashboard import Dashboard, LiveFeed

    widget = Dashboard(run.id, title=f"{run.name} ({run.path})")
    widget._feed = LiveFeed(widget, run)
    return widget


def display_run(run: Run) -> None:
    """Show `run`'s live dashboard in the current cell's output; nothing outside a notebook."""
    if not in_notebook():
        return
    from IPython.display import display

    display(dashboard(run))  # type: ignore[no-untyped-call]  # IPython ships no annotations here


def show(path: str, dir: str | os.PathLike[str] | None = None) -> Dashboard:
    """The dashboard of a stored run ``"project/id"``, following it while it still runs.

    >>> nbtrack.show("fashion-cnn/3k2j9x0a")
    """
    from nbtrack.api import Api
    from nbtrack.widget._dashboard import Dashboard, StoreFeed

    record = Api(dir).run(path)
    widget = Dashboard(record.id, title=f"{record.name} ({record.path})")
    widget._feed = StoreFeed(widget, record)
    return widget


def compare(
    project: str | None = None,
    *,
    entity: str | None = None,
    runs: list[str] | None = None,
    filter: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    host: str | None = None,
) -> CompareView:
    """The compare view of a project (see `nbtrack.compare`)."""
    from nbtrack._filter import compile_filter
    from nbtrack.api import Api
    from nbtrack.widget._compare import CompareView, ProjectFeed

    if filter is not None:
        compile_filter(filter)  # a bad expression fails here, naming the problem
    if host is None and dir is None:
        host = _logged_in_host()
    api = Api(dir, host=host, entity=entity) if host is not None else Api(dir)
    if project is None:
        project = _default_project(api)
    widget = CompareView(project, compare_state={"filter": filter} if filter else {})
    widget._feed = ProjectFeed(widget, api, project, runs)
    if in_notebook():
        widget.show()
    return widget


def _logged_in_host() -> str | None:
    """The team server the runs sync to, when this machine is logged in to one."""
    from nbtrack.sync.credentials import saved

    creds = saved()
    return creds.host if creds is not None else None


def _default_project(api: Api) -> str:
    """The current run's project, else ``NBTRACK_PROJECT``, else the latest run's project."""
    from nbtrack._current import current

    run = current()
    if run is not None:
        return run.project
    env = os.environ.get("NBTRACK_PROJECT")
    if env:
        return env
    runs = api.runs()
    if not runs:
        raise ValueError(f"nbtrack.compare: no runs in {api.dir} yet: pass project=...")
    return max(runs, key=lambda r: r.created_at).project

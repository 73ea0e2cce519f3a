"""The browser harness: a real JupyterLab (or Notebook 7) and a real headless Chromium.

Each server listens on 127.0.0.1 on a free port with no token, lives in a temp folder with
its own Jupyter config/data/runtime folders and its own nbtrack store, and is killed with
its whole process group at teardown. Chromium is Debian's (``chromium``), driven by
Playwright through `executable_path`, since Playwright cannot download browsers here.
The server plumbing is in ``tests/browser/servers.py``; ``bench/_browser.py`` reuses this
harness (`CHROMIUM`, `CHROMIUM_ARGS`, `JupyterServer`, `_start_server`).
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.servers import JupyterServer, free_port, serve_jupyter
from tests.helpers import REPO, child_env

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--use-gl=swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO / "test-artifacts"

pytestmark = pytest.mark.browser

# Before any test module imports it: its checks then fail with their values, as a test's do.
pytest.register_assert_rewrite("tests.browser.helpers")


def _start_server(app: str, tmp: Path) -> Iterator[JupyterServer]:
    root = tmp / "notebooks"
    root.mkdir()
    store = tmp / "store"
    jupyter = tmp / "jupyter"
    settings = jupyter / "lab-settings"
    settings.mkdir(parents=True)
    if app == "lab":
        # No "get Jupyter news?" prompt over the page. (Notebook 7 has no such plugin, and a
        # settings file for a plugin it lacks breaks its page.)
        notif = settings / "@jupyterlab" / "apputils-extension"
        notif.mkdir(parents=True)
        (notif / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False})
        )
    port = free_port()
    env = child_env(
        NBTRACK_DIR=str(store),
        JUPYTER_CONFIG_DIR=str(jupyter / "config"),
        JUPYTER_RUNTIME_DIR=str(jupyter / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(jupyter / "workspaces"),
        JUPYTER_PLATFORM_DIRS="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    log = tmp / f"{app}.log"
    cmd = [
        sys.executable, "-m", "jupyter", app,
        "--no-browser", f"--port={port}", "--ip=127.0.0.1",
        "--ServerApp.token=", "--ServerApp.password=",
        # A LabApp / JupyterNotebookApp option (not ServerApp's): window.jupyterapp.
        f"--{'LabApp' if app == 'lab' else 'JupyterNotebookApp'}.expose_app_in_browser=True",
        # Containers often run tests as root; the server refuses that unless told.
        "--allow-root",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.disable_check_xsrf=True",
    ]  # fmt: skip
    with serve_jupyter(cmd, port=port, cwd=root, env=env, log=log, what=f"jupyter {app}") as url:
        yield JupyterServer(url=url, root=root, store=store, log=log)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[JupyterServer]:
    """JupyterLab 4 on 127.0.0.1, its app exposed as ``window.jupyterapp``."""
    yield from _start_server("lab", tmp_path)


@pytest.fixture
def notebook7(tmp_path: Path) -> Iterator[JupyterServer]:
    """Notebook 7 on 127.0.0.1, its app exposed as ``window.jupyterapp``."""
    yield from _start_server("notebook", tmp_path)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1400, "height": 1700}, device_scale_factor=1)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(f"{e}\n{e.stack}"))
    pg.page_errors = errors
    yield pg
    # Leave a picture of the page behind when a test failed, to see why.
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}-failed.png"), full_page=True)
    context.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    rep = yield
    if rep.when == "call":
        item.rep_call = rep  # type: ignore[attr-defined]  # read by the page fixture
    return rep

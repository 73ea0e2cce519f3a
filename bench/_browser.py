"""JupyterLab and headless Chromium for the browser benchmarks.

The server and the browser come from the browser tests' harness (``tests/browser/conftest.py``):
JupyterLab on 127.0.0.1 on a free port, no token, its own config folders and nbtrack store in
a temporary folder, killed with its process group at the end; Debian's Chromium driven by
Playwright. Here they are context managers instead of pytest fixtures.
"""

from __future__ import annotations

import contextlib
import json
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.browser.conftest import (  # noqa: E402  # the repository root must be importable first
    CHROMIUM,
    CHROMIUM_ARGS,
    JupyterServer,
    _start_server,
)

__all__ = [
    "CHROMIUM",
    "JupyterServer",
    "chromium",
    "jupyterlab",
    "open_notebook",
    "run_all",
    "shutdown_kernels",
]


@contextlib.contextmanager
def jupyterlab(tmp: Path) -> Iterator[JupyterServer]:
    """JupyterLab 4 on 127.0.0.1 (``window.jupyterapp`` exposed), stopped on exit.

    >>> with jupyterlab(Path(tmpdir)) as lab: print(lab.url)
    """
    yield from _start_server("lab", tmp)


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Debian's headless Chromium through Playwright (SwiftShader for WebGL).

    >>> with chromium() as browser: page = browser.new_page()
    """
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"Chromium not found at {CHROMIUM}: install Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def open_notebook(page: Any, server: JupyterServer, path: Path) -> None:
    """Open `path` in JupyterLab and wait until its kernel is idle."""
    # `?reset`: a fresh workspace, so notebooks opened earlier are not restored beside it.
    page.goto(f"{server.url}/lab/tree/{path.name}?reset")
    page.wait_for_function(
        """() => {
          const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
          const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
          return k && k.status === 'idle';
        }""",
        timeout=90_000,
    )
    dialog = page.locator(".jp-Dialog .jp-mod-accept")
    if dialog.count():
        dialog.first.click()


def run_all(page: Any) -> None:
    """Run every cell of the open notebook (not awaited: it resolves when the cells end)."""
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def shutdown_kernels(server: JupyterServer) -> None:
    """Stop every kernel of the server, so an idle one costs the next measurement nothing."""
    with urllib.request.urlopen(f"{server.url}/api/kernels", timeout=10) as r:
        kernels = json.load(r)
    for k in kernels:
        req = urllib.request.Request(f"{server.url}/api/kernels/{k['id']}", method="DELETE")
        with contextlib.suppress(OSError):
            urllib.request.urlopen(req, timeout=10).close()

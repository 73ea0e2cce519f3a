"""Jupyter servers for the browser tests: a free port on 127.0.0.1, a wait for ``/api/status``
and, at the end, the server's whole process group killed (its kernels are its children).

The fixtures in ``tests/browser/conftest.py`` (JupyterLab, Notebook 7) and the classic
Notebook 6 of ``tests/browser/test_colab_like.py`` all start their server through
`serve_jupyter`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now.

    >>> port = free_port()
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class JupyterServer:
    url: str
    root: Path
    store: Path
    log: Path

    def write_notebook(self, name: str, cells: list[str]) -> Path:
        """A notebook in the server's root whose kernel is this interpreter's python3."""
        import nbformat

        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
        path = self.root / name
        nbformat.write(nb, path)
        return path


@contextlib.contextmanager
def serve_jupyter(
    cmd: list[str], *, port: int, cwd: Path, env: dict[str, str], log: Path, what: str
) -> Iterator[str]:
    """Run the server `cmd` (listening on 127.0.0.1:`port`) in its own process group, its
    output in `log`; yield its URL once ``/api/status`` answers, kill the group on exit.

    `what` names the server in the error raised when it exits or is not up within 60 s.

    >>> with serve_jupyter(cmd, port=port, cwd=root, env=env, log=log, what="jupyter lab") as url:
    ...     page.goto(url)
    """
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/status", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.25)
        yield url
    finally:
        # Kernels are children of the server: the whole group goes.
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

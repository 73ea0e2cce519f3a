"""A real `nbtrack ui` process for tests: started on a free port of 127.0.0.1 on a store,
waited for until it prints its URL, stopped with Ctrl-C (SIGINT) as a person would."""

from __future__ import annotations

import select
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from tests.helpers import PYTHON, child_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seg(name: str) -> str:
    """`name` as one path segment of a URL."""
    return quote(name, safe="")


@dataclass
class Ui:
    proc: subprocess.Popen[str]
    url: str  # as the command printed it
    port: int
    stderr: Path
    stopped: tuple[int, str] | None = None

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.url.rstrip("/") + path, timeout=30, **kw)

    def stop(self) -> tuple[int, str]:
        """Ctrl-C, as a person at the terminal; the exit code and what it printed (again,
        when it was stopped already)."""
        if self.stopped is None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)
            try:
                out, _ = self.proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                out, _ = self.proc.communicate(timeout=30)
            self.stopped = (int(self.proc.returncode), out)
        return self.stopped


def start_ui(store: Path, tmp: Path, *extra: str, port: int | None = None) -> Ui:
    port = port or free_port()
    err = tmp / f"ui-{port}-{time.monotonic_ns()}.err"
    cmd = [PYTHON, "-m", "nbtrack.cli", "--dir", str(store), "ui", "--port", str(port), *extra]
    with open(err, "w") as stderr:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=stderr, text=True, env=child_env()
        )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    line = ""
    while time.monotonic() < deadline and not line:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline()
            if not line:  # it exited
                break
    if "http://" not in line:
        proc.kill()
        proc.communicate(timeout=30)
        raise AssertionError(f"nbtrack ui printed no URL ({line!r}):\n{err.read_text()}")
    url = line.split(" at ", 1)[1].split()[0]
    return Ui(proc, url, port, err)

"""A real IPython kernel for tests: this venv's python (or another one), nbtrack from this
checkout, the store in a temp folder; and the widget messages it sends, replayed into state.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, child_env

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def write_kernelspec(
    folder: Path,
    python: str = sys.executable,
    name: str = "nbtrack-test",
    env: dict[str, str] | None = None,
) -> str:
    """A kernelspec in `folder` that starts `python`'s ipykernel; returns its name."""
    spec = folder / name
    spec.mkdir(parents=True, exist_ok=True)
    fields: dict[str, Any] = {
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"nbtrack test ({name})",
        "language": "python",
    }
    if env:
        fields["env"] = env
    (spec / "kernel.json").write_text(json.dumps(fields))
    return name


def colab_python() -> str:
    """The python of the Colab-like venv (anywidget 0.9.21, ipywidgets 7.7.1, ipykernel 6.17.1)
    that scripts/colab_env.sh makes, or reuses; the test is skipped where it cannot be made.

    >>> python = colab_python()
    """
    made = subprocess.run(
        ["bash", str(REPO / "scripts" / "colab_env.sh")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(
            f"scripts/colab_env.sh could not create the Colab-like env:\n{made.stderr[-2000:]}"
        )
    return str(REPO / made.stdout.strip().splitlines()[-1])


@dataclass
class Executed:
    """What one execute request produced: its reply and its IOPub messages, in order."""

    reply: dict[str, Any]
    iopub: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        return str(self.reply["content"]["status"])

    def of_type(self, msg_type: str) -> list[dict[str, Any]]:
        return [m for m in self.iopub if m["msg_type"] == msg_type]

    def text(self) -> str:
        """Everything the cell printed, its result and its traceback, as plain text."""
        parts: list[str] = []
        for m in self.iopub:
            c = m["content"]
            if m["msg_type"] == "stream":
                parts.append(c["text"])
            elif m["msg_type"] in ("execute_result", "display_data"):
                parts.append(c["data"].get("text/plain", ""))
            elif m["msg_type"] == "error":
                parts.append("\n".join(c["traceback"]))
        return "\n".join(parts)

    def outputs(self) -> list[dict[str, Any]]:
        """The cell's outputs, as the notebook would store them (display and results)."""
        return [
            m["content"] for m in self.iopub if m["msg_type"] in ("display_data", "execute_result")
        ]


class Kernel:
    """A started kernel with a blocking client; `run` executes code and waits for it."""

    def __init__(self, km: Any, kc: Any) -> None:
        self.km = km
        self.kc = kc
        # Widget models by comm id: the state the front end would hold after every message.
        self.widgets: dict[str, dict[str, Any]] = {}
        self.custom: dict[str, list[dict[str, Any]]] = {}

    def run(self, code: str, timeout: float = 60) -> Executed:
        out = Executed(reply={})

        def hook(msg: dict[str, Any]) -> None:
            self._track_widget(msg)
            out.iopub.append(msg)

        out.reply = self.kc.execute_interactive(
            code, output_hook=hook, timeout=timeout, allow_stdin=False
        )
        return out

    def start(self, code: str) -> str:
        """Send code to run without waiting; returns the request's message id."""
        return str(self.kc.execute(code, allow_stdin=False))

    def wait(self, msg_id: str, timeout: float = 60) -> Executed:
        """Collect IOPub messages of `msg_id` until the kernel is idle, then its reply."""
        out = Executed(reply={})
        while True:
            msg = self.kc.get_iopub_msg(timeout=timeout)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            self._track_widget(msg)
            out.iopub.append(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        while True:
            reply = self.kc.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                out.reply = reply
                return out

    def _track_widget(self, msg: dict[str, Any]) -> None:
        c = msg["content"]
        if msg["msg_type"] == "comm_open" and c.get("target_name") == "jupyter.widget":
            self.widgets[c["comm_id"]] = dict(c["data"].get("state", {}))
        elif msg["msg_type"] == "comm_msg" and c["comm_id"] in self.widgets:
            data = c["data"]
            if data.get("method") == "update":
                self.widgets[c["comm_id"]].update(data.get("state", {}))
            elif data.get("method") == "custom":
                self.custom.setdefault(c["comm_id"], []).append(data.get("content", {}))

    def widget_of(self, output: dict[str, Any]) -> dict[str, Any]:
        """The state of the widget a display output shows."""
        return self.widgets[output["data"][WIDGET_VIEW]["model_id"]]

    def points_of(self, output: dict[str, Any]) -> dict[str, int]:
        """How many points of each key the dashboard that `output` shows was sent."""
        counts: dict[str, int] = {}
        for c in self.custom.get(output["data"][WIDGET_VIEW]["model_id"], []):
            if c.get("type") == "points":
                for entry in c["series"]:
                    counts[entry["key"]] = counts.get(entry["key"], 0) + int(entry["n"])
        return counts

    def header_of(self, output: dict[str, Any]) -> dict[str, Any]:
        """The last header message the dashboard that `output` shows was sent: what its
        header displays (state, step, error)."""
        sent = self.custom.get(output["data"][WIDGET_VIEW]["model_id"], [])
        headers = [c for c in sent if c.get("type") == "header"]
        assert headers, "the dashboard was sent no header"
        return headers[-1]


@contextmanager
def kernel(
    tmp: Path, store: Path, python: str = sys.executable, timeout: float = 60
) -> Iterator[Kernel]:
    """Start a kernel whose nbtrack writes to `store`; shut it down afterwards."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    specs = tmp / "kernels"
    name = write_kernelspec(specs, python)
    km = KernelManager(
        kernel_name=name, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)])
    )
    km.start_kernel(env=child_env(NBTRACK_DIR=str(store)), cwd=str(tmp))
    kc = km.blocking_client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=timeout)
        yield Kernel(km, kc)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

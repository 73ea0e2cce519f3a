"""A run's local copy and its server copy, read whole, and the check that they are equal:
every key, every step, every value (NaN where NaN), every histogram, nothing twice."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nbtrack.store.db import Store
from tests.helpers import child_env
from tests.server.servers import ServerProcess

PYTHON = sys.executable


@dataclass
class Copy:
    series: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = field(
        default_factory=dict
    )
    histograms: dict[str, list[tuple[int, float, float, list[int]]]] = field(default_factory=dict)

    def points(self) -> int:
        return sum(len(s) for s, _ in self.series.values())


def local_copy(root: Path, project: str, run_id: str) -> Copy:
    store = Store(root, readonly=True)
    try:
        row = store.run_row(project, run_id)
        assert row is not None, f"no run {project}/{run_id} in {root}"
        rk = row["rk"]
        out = Copy()
        for key in store.keys(rk, "s"):
            out.series[key] = store.series(rk, key)
        for key in store.keys(rk, "h"):
            steps, ranges, counts, _ = store.histograms(rk, key)
            out.histograms[key] = [
                (int(s), float(r[0]), float(r[1]), c.tolist())
                for s, r, c in zip(steps, ranges, counts, strict=True)
            ]
        return out
    finally:
        store.close()


def _array(text: str, dtype: str) -> np.ndarray[Any, Any]:
    return np.frombuffer(base64.b64decode(text), dtype=dtype)


def remote_copy(server: ServerProcess, key: str, entity: str, project: str, run_id: str) -> Copy:
    base = f"/api/v1/runs/{entity}/{project}/{run_id}"
    keys = server.call("GET", base + "/keys", key)
    assert keys.status_code == 200, keys.text
    out = Copy()
    for name in keys.json()["scalars"]:
        r = server.call("GET", base + "/series", key, params={"key": name})
        assert r.status_code == 200, r.text
        body = r.json()
        out.series[name] = (_array(body["steps"], "<i8"), _array(body["values"], "<f8"))
    for name in keys.json()["histograms"]:
        r = server.call("GET", base + "/histograms", key, params={"key": name})
        assert r.status_code == 200, r.text
        out.histograms[name] = [
            (e["step"], float(e["lo"]), float(e["hi"]), _array(e["counts"], "<i8").tolist())
            for e in r.json()["entries"]
        ]
    return out


def assert_equal_copies(local: Copy, remote: Copy) -> None:
    assert sorted(remote.series) == sorted(local.series)
    for name, (steps, values) in local.series.items():
        rs, rv = remote.series[name]
        assert len(rs) == len(steps), f"{name}: {len(rs)} points on the server, {len(steps)} here"
        np.testing.assert_array_equal(rs, steps, err_msg=name)
        # Bit for bit: NaN where NaN, -0.0 where -0.0.
        assert rv.tobytes() == np.ascontiguousarray(values, dtype="<f8").tobytes(), name
    assert sorted(remote.histograms) == sorted(local.histograms)
    for name, entries in local.histograms.items():
        assert remote.histograms[name] == entries, name


def sync_env(server: ServerProcess, api_key: str, config: Path, **extra: str) -> dict[str, str]:
    """A child's environment: logged in to `server` through the environment."""
    return child_env(
        NBTRACK_HOST=server.url,
        NBTRACK_API_KEY=api_key,
        NBTRACK_CONFIG_DIR=str(config),
        **extra,
    )


def nbtrack_cli(
    *args: str, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "nbtrack.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_training(
    folder: Path, source: str, *args: str, env: dict[str, str]
) -> tuple[subprocess.Popen[str], str]:
    """Run the training script `source` (saved as `folder`/train.py) in a child with `args`
    and `env`, its output piped; wait for the run's id, its first line, and return both."""
    script = folder / "train.py"
    script.write_text(source)
    proc = subprocess.Popen(
        [PYTHON, str(script), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    assert run_id, proc.stderr.read() if proc.stderr else ""
    return proc, run_id


def wait_until(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")

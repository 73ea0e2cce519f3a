"""``nbtrack export --host``: a run and a project synced to a real team server by a real
process, written to HTML files through ``nbtrack.Api(host=...)``, hold what the local
store's files hold."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nbtrack
from nbtrack.export import DATA_ID, export_project, export_run
from tests.helpers import child_env
from tests.protocol_helpers import decode_points
from tests.server.copies import PYTHON, sync_env, wait_until
from tests.server.servers import ServerProcess, User, sqlite_server_fixture

pytestmark = pytest.mark.server

MAKE = """\
import sys
from pathlib import Path
from tests.compare_project import make_project
make_project(Path(sys.argv[1]), "sweep", n=2, steps=40)
"""

team_server = pytest.fixture(sqlite_server_fixture, name="team_server")


@pytest.fixture
def user(team_server: ServerProcess) -> User:
    return team_server.create_user("ada")


def data(path: Path) -> list[tuple[dict[str, Any], list[bytes]]]:
    text = path.read_text(encoding="utf-8")
    m = re.search(rf'<script type="application/json" id="{DATA_ID}">(.*?)</script>', text, re.S)
    assert m is not None
    return [
        (x["content"], [base64.b64decode(b) for b in x["buffers"]])
        for x in json.loads(m.group(1))["messages"]
    ]


def test_a_servers_run_and_project_export_as_the_local_stores_do(
    team_server: ServerProcess, user: User, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    env = sync_env(team_server, user.key, tmp_path / "config", PYTHONPATH=str(Path.cwd()))
    subprocess.run([PYTHON, "-c", MAKE, str(store)], env=env, check=True, timeout=240)
    with nbtrack.Api(host=team_server.url, key=user.key) as remote:
        wait_until("two runs on the server", lambda: len(remote.runs("sweep")) == 2)
        run = remote.runs("sweep")[0]
        wait_until("its last step", lambda: remote.run(run.path).last_step == 39)
    with nbtrack.Api(store) as local:
        here = local.run(f"sweep/{run.id}")
        keys = here.keys()

    there = export_run(run.path, tmp_path / "remote.html", host=team_server.url, key=user.key)
    mine = export_run(f"sweep/{run.id}", tmp_path / "local.html", dir=store)
    remote_points = {
        k: v
        for c, b in data(there)
        if c["type"] == "points"
        for k, v in decode_points(c, b).items()
    }
    local_points = {
        k: v for c, b in data(mine) if c["type"] == "points" for k, v in decode_points(c, b).items()
    }
    assert set(remote_points) == set(local_points) == {*keys, "_time"}
    for key in keys:
        np.testing.assert_array_equal(remote_points[key][0], local_points[key][0])
        np.testing.assert_array_equal(remote_points[key][1], local_points[key][1])
    (header,) = [c for c, _ in data(there) if c["type"] == "header"]
    assert header["id"] == run.id and header["state"] == "finished"

    # The shell, with the server's key in the environment, and a project.
    out = subprocess.run(
        [PYTHON, "-m", "nbtrack.cli", "export", "--project", "sweep", "--host", team_server.url,
         "-o", str(tmp_path / "p.html")],
        capture_output=True, text=True, timeout=120,
        env=child_env(NBTRACK_API_KEY=user.key, NBTRACK_CONFIG_DIR=str(tmp_path / "config2")),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    rows = [r for c, _ in data(tmp_path / "p.html") if c["type"] == "runs" for r in c["runs"]]
    assert len(rows) == 2 and {r["entity"] for r in rows} == {user.name}
    also = export_project("sweep", tmp_path / "p2.html", host=team_server.url, key=user.key)
    assert also.stat().st_size > 0

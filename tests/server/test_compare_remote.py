"""The compare view's data from a team server: runs synced by real processes, read back with
``nbtrack.Api(host=...)`` by the same `ProjectFeed` a notebook's view uses, and followed live:
`RemoteStore.read_since` (the server's ``/since``) gives what the local store gives."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

import nbtrack
from tests.browser.compare_harness import Recorder
from tests.server.copies import PYTHON, sync_env, wait_until
from tests.server.servers import ServerProcess, User, sqlite_server_fixture

pytestmark = pytest.mark.server

MAKE = """\
import sys
from pathlib import Path
from tests.compare_project import make_project
make_project(Path(sys.argv[1]), "sweep", n=3, steps=40)
"""

team_server = pytest.fixture(sqlite_server_fixture, name="team_server")


@pytest.fixture
def user(team_server: ServerProcess) -> User:
    return team_server.create_user("ada")


def test_a_servers_project_reads_and_follows_as_the_local_store_does(
    team_server: ServerProcess, user: User, tmp_path: Path
) -> None:
    from nbtrack.widget._compare import ProjectFeed

    store = tmp_path / "store"
    env = sync_env(team_server, user.key, tmp_path / "config", PYTHONPATH=str(Path.cwd()))
    subprocess.run([PYTHON, "-c", MAKE, str(store)], env=env, check=True, timeout=240)

    with nbtrack.Api(host=team_server.url, key=user.key) as remote, nbtrack.Api(store) as local:
        wait_until("three runs on the server", lambda: len(remote.runs("sweep")) == 3)
        here = {r.id: r for r in local.runs("sweep")}
        for rec in remote.runs("sweep"):
            batch, seq, _ = rec.read_since(0)
            mine, _, _ = here[rec.id].read_since(0)
            assert seq > 0 and set(batch.series) == set(mine.series)
            for key, (steps, values) in mine.series.items():
                np.testing.assert_array_equal(batch.series[key][0], steps)
                np.testing.assert_array_equal(batch.series[key][1], values)
            again, seq2, _ = rec.read_since(seq)  # nothing after the end
            assert not again.series and seq2 == seq

        recorder = Recorder()
        feed = ProjectFeed(recorder, remote, "sweep", follow=False)  # type: ignore[arg-type]
        sent = recorder.take()
        rows = next(c for c, _ in sent if c["type"] == "runs")["runs"]
        assert {r["id"] for r in rows} == set(here)
        assert {r["entity"] for r in rows} == {user.name}
        curves = [e for c, _ in sent if c["type"] == "curves" for e in c["curves"]]
        assert {(e["run"], e["key"]) for e in curves} == {
            (i, k) for i, r in here.items() for k in [*r.keys(), "_time"]
        }
        feed.poll()  # nothing new: nothing sent
        assert recorder.take() == []

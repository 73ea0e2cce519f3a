"""Sync, as a user sees it: log in, train, and the server has the run while it trains; an
offline run, a run logged while the server was down, a revoked key; `nbtrack sync`."""

from __future__ import annotations

import contextlib
import json
import math
import select
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import nbtrack
from nbtrack.errors import LoginError
from nbtrack.server import accounts
from tests.server.copies import (
    assert_equal_copies,
    local_copy,
    nbtrack_cli,
    remote_copy,
    start_training,
    sync_env,
    wait_until,
)
from tests.server.servers import ServerProcess, User

pytestmark = pytest.mark.server

PYTHON = sys.executable

# A training loop in a child process: prints the run's id, logs `steps` steps of `keys` keys
# (a NaN and an inf among them), pausing every `every` steps; waits for the file `hold` to
# vanish before it finishes, so a test can look at the server while the run is live.
_TRAIN = """
import math, os, sys, time, pathlib
import nbtrack
steps, keys, every, pause = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
hold = pathlib.Path(sys.argv[5])
run = nbtrack.init(project="sync", config={"lr": 1e-3, "layers": [8, 4]}, tags=["t"],
                   display=False)
print(run.id, flush=True)
for i in range(steps):
    row = {f"k{j}": math.sin(i * 0.01 + j) for j in range(keys)}
    if i == 7:
        row["k0"] = float("nan")
    if i == 8:
        row["k0"] = float("inf")
    run.log(row)
    if every and i % every == every - 1:
        time.sleep(pause)
        print(f"step {i}", flush=True)
while hold.exists():
    time.sleep(0.02)
run.summary["best"] = 0.5
run.finish()
print("done", flush=True)
"""


def _train(
    tmp_path: Path,
    env: dict[str, str],
    steps: int,
    keys: int = 3,
    every: int = 0,
    pause: float = 0.0,
    hold: bool = False,
) -> tuple[subprocess.Popen[str], str, Path]:
    hold_file = tmp_path / "hold"
    if hold:
        hold_file.touch()
    args = (str(steps), str(keys), str(every), str(pause), str(hold_file))
    proc, run_id = start_training(tmp_path, _TRAIN, *args, env=env)
    return proc, run_id, hold_file


def _finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[str, str]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out, err


def _offline_run(
    server: ServerProcess, tmp_path: Path, store_dir: Path, steps: int, keys: int
) -> tuple[User, dict[str, str], str, str]:
    """A run trained to its end in offline mode by a user logged in to `server`: the user,
    the child's environment, the run's id and what the child wrote to stderr."""
    user = server.create_user("ada")
    env = sync_env(
        server,
        user.key,
        tmp_path / "config",
        NBTRACK_DIR=str(store_dir),
        NBTRACK_MODE="offline",
    )
    proc, run_id, _ = _train(tmp_path, env, steps=steps, keys=keys)
    _, err = _finish(proc)
    return user, env, run_id, err


def _server_points(server: ServerProcess, key: str, run_id: str) -> int:
    r = server.call("GET", f"/api/v1/runs/ada/sync/{run_id}/series", key, params={"key": "k1"})
    return int(r.json()["n"]) if r.status_code == 200 else 0


def test_login_checks_the_key_and_keeps_it_readable_by_the_user_only(
    sqlite_server: ServerProcess, tmp_path: Path
) -> None:
    user = sqlite_server.create_user("ada")
    with pytest.raises(LoginError, match="refused this API key"):
        nbtrack.login(host=sqlite_server.url, key=user.key[:-1] + "x")
    with pytest.raises(LoginError, match="cannot reach"):
        nbtrack.login(host="http://127.0.0.1:1", key=user.key)
    assert nbtrack.login(host=sqlite_server.url, key=user.key) is True
    from nbtrack.sync.credentials import credentials_path, saved

    path = credentials_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["host"] == sqlite_server.url
    creds = saved()
    assert creds is not None and creds.user == "ada" and creds.entity == "ada"
    assert nbtrack.login() is True  # logged in already: checked again, still good
    assert nbtrack.logout() is True
    assert not path.exists() and saved() is None


def test_no_key_and_no_terminal_says_how_to_pass_it(
    sqlite_server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", None)
    with pytest.raises(LoginError, match="NBTRACK_API_KEY"):
        nbtrack.login(host=sqlite_server.url)


def test_online_mode_without_a_login_is_refused_at_init() -> None:
    with pytest.raises(ValueError, match=r"nbtrack\.login"):
        nbtrack.init(project="p", mode="online", display=False)


def test_a_logged_in_run_is_on_the_server_while_it_trains(
    server: ServerProcess, tmp_path: Path, store_dir: Path
) -> None:
    user = server.create_user("ada")
    env = sync_env(server, user.key, tmp_path / "config", NBTRACK_DIR=str(store_dir))
    proc, run_id, hold = _train(tmp_path, env, steps=3000, every=500, pause=0.05, hold=True)
    try:
        # Still running (held): its points are on the server already, and its state.
        wait_until(
            "the points on the server", lambda: _server_points(server, user.key, run_id) == 3000
        )
        run = server.call("GET", f"/api/v1/runs/ada/sync/{run_id}", user.key).json()
        assert run["state"] == "running" and run["config"]["layers"] == [8, 4]
    finally:
        hold.unlink()
    _finish(proc)
    wait_until(
        "the finished state",
        lambda: (
            server.call("GET", f"/api/v1/runs/ada/sync/{run_id}", user.key).json()["state"]
            == "finished"
        ),
    )
    run = server.call("GET", f"/api/v1/runs/ada/sync/{run_id}", user.key).json()
    assert run["user_summary"] == {"best": 0.5}
    assert math.isnan(float(run["summary"]["k0"])) is False  # the last k0 is a number
    assert_equal_copies(
        local_copy(store_dir, "sync", run_id), remote_copy(server, user.key, "ada", "sync", run_id)
    )


def test_an_offline_run_never_syncs_and_nbtrack_sync_uploads_it(
    sqlite_server: ServerProcess, tmp_path: Path, store_dir: Path
) -> None:
    user, env, run_id, err = _offline_run(sqlite_server, tmp_path, store_dir, steps=5000, keys=4)
    assert "nbtrack:" not in err  # offline: not one word about a server
    runs = sqlite_server.call("GET", "/api/v1/projects/ada/sync/runs", user.key)
    assert runs.status_code == 404  # not even the project
    res = nbtrack_cli("sync", "--all", env=env)
    assert res.returncode == 0, res.stderr
    assert "1 of 1 runs" in res.stdout
    assert_equal_copies(
        local_copy(store_dir, "sync", run_id),
        remote_copy(sqlite_server, user.key, "ada", "sync", run_id),
    )
    again = nbtrack_cli("sync", "--all", env=env)
    assert "nothing to upload" in again.stdout


def test_a_run_logged_while_the_server_was_down_is_synced_later(
    tmp_path: Path, store_dir: Path
) -> None:
    server = ServerProcess(tmp_path / "server").start()
    try:
        user = server.create_user("ada")
        env = sync_env(
            server, user.key, tmp_path / "config", NBTRACK_DIR=str(store_dir),
            NBTRACK_SYNC_WAIT_S="1",
        )  # fmt: skip
        server.stop()
        proc, run_id, _ = _train(tmp_path, env, steps=4000, every=1000, pause=0.2)
        _, err = _finish(proc)
        # One message for the outage, not one per retry; and at the end, what to do.
        assert err.count("cannot upload run") == 1, err
        assert "nbtrack sync" in err
        server.start()
        res = nbtrack_cli("sync", f"sync/{run_id}", env=env)
        assert res.returncode == 0, res.stderr
        assert_equal_copies(
            local_copy(store_dir, "sync", run_id),
            remote_copy(server, user.key, "ada", "sync", run_id),
        )
    finally:
        server.stop()


def test_a_revoked_key_stops_the_upload_and_logging_goes_on(
    sqlite_server: ServerProcess, tmp_path: Path, store_dir: Path
) -> None:
    user = sqlite_server.create_user("ada")
    env = sync_env(sqlite_server, user.key, tmp_path / "config", NBTRACK_DIR=str(store_dir))
    proc, run_id, hold = _train(tmp_path, env, steps=2000, every=100, pause=0.05, hold=True)
    try:
        wait_until("the first points", lambda: _server_points(sqlite_server, user.key, run_id) > 0)
        db = sqlite_server.db()
        try:
            (key,) = accounts.list_keys(db, "ada")
            accounts.revoke_key(db, "ada", key.id)
        finally:
            db.dispose()
    finally:
        hold.unlink()
    out, err = _finish(proc)
    assert "done" in out
    assert "refused the upload" in err and "HTTP 401" in err and "nbtrack sync" in err, err
    assert err.count("refused the upload") == 1
    # Nothing local is lost: every step of every key is in the store.
    local = local_copy(store_dir, "sync", run_id)
    assert all(len(s) == 2000 for s, _ in local.series.values())


def test_the_read_api_reads_a_synced_run_from_the_server_as_from_the_store(
    sqlite_server: ServerProcess, tmp_path: Path, store_dir: Path
) -> None:
    user, env, run_id, _ = _offline_run(sqlite_server, tmp_path, store_dir, steps=300, keys=2)
    assert nbtrack_cli("sync", "--all", env=env).returncode == 0
    with nbtrack.Api(store_dir) as here, nbtrack.Api(host=sqlite_server.url, key=user.key) as there:
        mine = here.run(f"sync/{run_id}")
        theirs = there.run(f"ada/sync/{run_id}")
        assert theirs.path == f"ada/sync/{run_id}" and there.run(f"sync/{run_id}").id == run_id
        assert (
            [r.id for r in there.runs("sync")] == [run_id] == [r.id for r in there.runs("ada/sync")]
        )
        for name in ("name", "config", "tags", "state", "last_step", "created_at"):
            assert getattr(theirs, name) == getattr(mine, name), name
        assert theirs.keys() == mine.keys()
        a, b = mine.history(), theirs.history()
        assert sorted(a) == sorted(b)
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
        assert math.isnan(theirs.summary["k0"]) is math.isnan(mine.summary["k0"])
    with (
        nbtrack.Api(host=sqlite_server.url, key=user.key) as there,
        pytest.raises(nbtrack.errors.RunNotFoundError),
    ):
        there.run("ada/sync/nope")


def test_in_colab_the_key_comes_from_its_secrets(
    sqlite_server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Colab cannot run here: its `google.colab.userdata` module is stood in for, with the
    # one call nbtrack makes of it.
    import types

    user = sqlite_server.create_user("ada")
    google = types.ModuleType("google")
    colab = types.ModuleType("google.colab")
    asked: list[str] = []

    def get(name: str) -> str:
        asked.append(name)
        return user.key

    colab.userdata = types.SimpleNamespace(get=get)  # type: ignore[attr-defined]
    google.colab = colab  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setattr(sys, "stdin", None)  # and no terminal: getpass is never tried
    assert nbtrack.login(host=sqlite_server.url) is True
    assert asked == ["NBTRACK_API_KEY"]


def test_nbtrack_login_asks_the_key_with_a_hidden_prompt_in_a_terminal(
    sqlite_server: ServerProcess, tmp_path: Path
) -> None:
    import os
    import pty

    user = sqlite_server.create_user("ada")
    env = {**sync_env(sqlite_server, "", tmp_path / "config")}
    env.pop("NBTRACK_API_KEY")
    # A terminal of its own (not a fork of this threaded process): its stdin is a tty.
    fd, tty = pty.openpty()
    proc = subprocess.Popen(
        [PYTHON, "-m", "nbtrack.cli", "login", "--host", sqlite_server.url],
        stdin=tty, stdout=tty, stderr=tty, env=env, start_new_session=True,
    )  # fmt: skip
    os.close(tty)

    def read(until: Callable[[bytes], bool], timeout: float = 60.0) -> bytes:
        # Reads what the child writes until `until` holds, or it exits (the terminal closes),
        # or `timeout` passes: a hung child fails the test instead of hanging it.
        got, deadline = b"", time.monotonic() + timeout
        with contextlib.suppress(OSError):
            while not until(got) and time.monotonic() < deadline:
                if select.select([fd], [], [], 0.5)[0]:
                    chunk = os.read(fd, 1024)
                    if not chunk:
                        break
                    got += chunk
        return got

    seen = read(lambda got: b"hidden" in got)
    assert b"hidden" in seen, seen
    os.write(fd, user.key.encode() + b"\n")
    out = read(lambda got: proc.poll() is not None and b"logged in" in got)
    os.close(fd)
    assert proc.wait(30) == 0, out
    assert b"logged in to" in out and user.key.encode() not in out  # never echoed
    assert json.loads((tmp_path / "config" / "credentials.json").read_text())["key"] == user.key


def test_a_refusal_names_the_field_the_server_refused(sqlite_server: ServerProcess) -> None:
    from nbtrack.sync.client import Client, Refused

    user = sqlite_server.create_user("ada")
    client = Client(sqlite_server.url, user.key)
    try:
        with pytest.raises(Refused, match=r"body\.state: String should match pattern") as e:
            client.put_run("ada", "p", "r1", {"state": "sleeping"})
        assert e.value.status == 422
    finally:
        client.close()

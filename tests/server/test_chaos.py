"""Chaos: a run of 200,000 steps of 20 keys, with histograms, uploads while the server is
killed three times, while a proxy drops answers to committed uploads, and while PostgreSQL is
stopped hard and started again. Afterwards the server's copy equals the local store exactly.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.server.copies import (
    assert_equal_copies,
    local_copy,
    nbtrack_cli,
    remote_copy,
    start_training,
    sync_env,
)
from tests.server.postgres import PostgresCluster
from tests.server.proxy import DroppingProxy
from tests.server.servers import ServerProcess

pytestmark = [pytest.mark.server, pytest.mark.slow]

STEPS, KEYS = 200_000, 20

_TRAIN = f"""
import math, sys, time
import torch
import nbtrack
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(16, 8), torch.nn.Linear(8, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
run = nbtrack.init(project="chaos", display=False)
run.watch(model, log="all", log_freq=1)
print(run.id, flush=True)
for i in range({STEPS}):
    if i % 2000 == 0:
        loss = model(torch.randn(8, 16)).pow(2).mean()
        opt.zero_grad(); loss.backward(); opt.step()
    run.log({{f"k{{j}}": math.sin(i * 0.001 + j) for j in range({KEYS})}})
    if i % 1000 == 999:
        time.sleep(0.06)
run.finish()
print("done", flush=True)
"""


def _chaos_run(
    tmp_path: Path,
    store_dir: Path,
    server: ServerProcess,
    host: str,
    disturb: Callable[[], None],
    times: int,
) -> str:
    user = server.create_user("ada")
    env = sync_env(server, user.key, tmp_path / "config", NBTRACK_DIR=str(store_dir))
    env["NBTRACK_HOST"] = host
    env["NBTRACK_SYNC_WAIT_S"] = "20"
    proc, run_id = start_training(tmp_path, _TRAIN, env=env)
    rng = random.Random(1)
    failures: list[BaseException] = []

    def chaos() -> None:
        try:
            for _ in range(times):
                time.sleep(rng.uniform(1.0, 3.5))
                if proc.poll() is not None:
                    return
                disturb()
        except BaseException as e:  # reported by the test below
            failures.append(e)

    t = threading.Thread(target=chaos)
    t.start()
    out, err = proc.communicate(timeout=600)
    t.join(120)
    assert not failures, failures
    assert proc.returncode == 0 and "done" in out, err
    # Whatever the live upload could not finish, `nbtrack sync` does; resending is harmless.
    res = nbtrack_cli("sync", f"chaos/{run_id}", env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    local = local_copy(store_dir, "chaos", run_id)
    assert len(local.series) == KEYS + 1 and local.histograms
    assert all(len(s) == STEPS for s, _ in local.series.values())
    assert_equal_copies(local, remote_copy(server, user.key, "ada", "chaos", run_id))
    return err


def test_the_server_killed_three_times_loses_nothing(tmp_path: Path, store_dir: Path) -> None:
    server = ServerProcess(tmp_path / "server").start()
    rng = random.Random(2)

    def kill_and_restart() -> None:
        server.kill()
        time.sleep(rng.uniform(0.2, 1.5))
        server.start()

    try:
        err = _chaos_run(tmp_path, store_dir, server, server.url, kill_and_restart, times=3)
        assert "cannot upload run" in err  # the uploads did meet the dead server
    finally:
        server.stop()


def test_answers_dropped_after_commit_store_nothing_twice(tmp_path: Path, store_dir: Path) -> None:
    server = ServerProcess(tmp_path / "server").start()
    proxy = DroppingProxy(server.port, every=2, max_drops=6)
    try:
        _chaos_run(tmp_path, store_dir, server, proxy.url, lambda: None, times=0)
        # The chaos did happen (after a drop the uploader backs off, so uploads are few).
        assert proxy.dropped >= 2, (proxy.dropped, proxy.uploads)
    finally:
        proxy.close()
        server.stop()


def test_postgresql_stopped_hard_mid_upload_loses_nothing(
    tmp_path: Path, store_dir: Path, postgres: PostgresCluster, pg_url: str
) -> None:
    server = ServerProcess(tmp_path / "server", pg_url).start()

    def stop_and_start_postgres() -> None:
        postgres.stop_immediate()
        time.sleep(1.0)
        postgres.start()

    try:
        err = _chaos_run(tmp_path, store_dir, server, server.url, stop_and_start_postgres, times=1)
        assert "cannot upload run" in err  # the uploads did meet the stopped database
    finally:
        if not postgres.running:
            postgres.start()
        server.stop()

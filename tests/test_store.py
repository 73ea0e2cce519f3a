"""The store as it must behave on disk: compact chunks, crash safety, several writers."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import nbtrack
from nbtrack._run import link
from nbtrack.store import chunks
from nbtrack.store.db import DB_NAME
from tests.helpers import PYTHON, child_env


@pytest.mark.parametrize(
    "steps",
    [
        [0],
        [5, 6, 7, 8],
        [0, 10, 20, 30],
        [3, 4, 9, 100, 101],
        [1, 1, 2, 2],  # repeated steps (more keys logged to the same step)
        [2**40, 2**40 + 1, 2**41],
    ],
)
def test_steps_round_trip(steps: list[int]) -> None:
    arr = np.array(steps, dtype=np.int64)
    enc = chunks.encode_steps(arr)
    np.testing.assert_array_equal(
        chunks.decode_steps(len(arr), enc.first, enc.stride, enc.blob), arr
    )


def test_arithmetic_steps_cost_no_bytes() -> None:
    enc = chunks.encode_steps(np.arange(0, 10_000, 10, dtype=np.int64))
    assert enc.blob is None and enc.stride == 10


def test_values_round_trip_bit_for_bit() -> None:
    vals = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1e-308, 1.7976931348623157e308])
    out = chunks.decode_values(chunks.encode_values(vals))
    assert out.tobytes() == vals.tobytes()


def test_a_long_series_reads_back_whole_and_compact(api: nbtrack.Api, store_dir: Path) -> None:
    run = nbtrack.init(project="p", display=False)
    n = 200_000
    for i in range(n):
        run.log({"a": float(i), "b": 0.5, "c": -1.0, "d": float(i % 7)})
    run.finish()
    steps, values = api.run(run.path).series("a")
    np.testing.assert_array_equal(steps, np.arange(n))
    np.testing.assert_array_equal(values, np.arange(n, dtype=float))
    conn = sqlite3.connect(store_dir / DB_NAME)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    size = sum(p.stat().st_size for p in store_dir.iterdir())
    assert size / (4 * n) <= 12  # bytes on disk per scalar point


def test_read_since_follows_new_data(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="p", display=False)
    run.log({"a": 1.0})
    link(run).flush()
    rec = api.run(run.path)
    batch, seq, hseq = rec.read_since(0)
    assert batch.series["a"][1].tolist() == [1.0]
    run.log({"a": 2.0, "b": 3.0})
    run.finish()
    batch, seq2, _ = rec.read_since(seq, hseq)
    assert seq2 > seq
    assert batch.series["a"][1].tolist() == [2.0] and batch.series["b"][0].tolist() == [1]
    assert not rec.read_since(seq2)[0]


_LOGGER = """
import sys, time, nbtrack
run = nbtrack.init(project=sys.argv[1], name=sys.argv[2], display=False)
print(run.path, flush=True)
n = int(sys.argv[3])
i = 0
while n < 0 or i < n:
    run.log({"i": float(i), "sq": float(i * i)})
    i += 1
    if i % 5 == 0:
        time.sleep(0.0005)
run.finish()
"""


_FLAT_OUT = """
import sys, time, nbtrack
keys, rate = int(sys.argv[1]), float(sys.argv[2])
run = nbtrack.init(project="kill", display=False)
names = [f"k{j}" for j in range(keys)]
print("path", run.path, flush=True)
t0 = time.time()
i = 0
report = t0
while True:
    now = time.time()
    if rate > 0 and i > (now - t0) * rate:  # paced: no faster than `rate` steps a second
        continue
    run.log(dict.fromkeys(names, float(i)) if keys > 2 else {"i": float(i), "sq": float(i * i)})
    i += 1
    if now >= report:  # the child's own account: i steps logged by `now`
        print("at", now, i, flush=True)
        report = now + 0.05
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("keys", "rate"), [(2, 0.0), (500, 10_000.0)], ids=["2-keys-flat-out", "500-keys-10k-steps"]
)
def test_sigkill_loses_at_most_the_last_1_5_s_and_memory_stays_bounded(
    tmp_path: Path, store_dir: Path, keys: int, rate: float
) -> None:
    import psutil

    script = tmp_path / "logger.py"
    script.write_text(textwrap.dedent(_FLAT_OUT))
    proc = subprocess.Popen(
        [PYTHON, str(script), str(keys), str(rate)],
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(NBTRACK_DIR=str(store_dir)),
    )
    assert proc.stdout is not None
    path = proc.stdout.readline().split()[1]
    child = psutil.Process(proc.pid)
    reports: list[tuple[float, int]] = []
    peak_rss = 0
    # Wait for a condition, not for a time: the child has logged for 5 s of its own clock.
    for line in proc.stdout:
        _, t, i = line.split()
        reports.append((float(t), int(i)))
        peak_rss = max(peak_rss, child.memory_info().rss)
        if reports[-1][0] - reports[0][0] >= 5.0:
            break
    killed_at = time.time()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()

    conn = sqlite3.connect(store_dir / DB_NAME)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    with nbtrack.Api(store_dir) as api:
        rec = api.run(path)
        assert rec.state == "crashed"
        h = rec.history(["k0" if keys > 2 else "i"])
        values = h["k0" if keys > 2 else "i"]
        n = len(h["_step"])
        # What the run row claims is what is on disk, no more.
        assert rec.last_step == n - 1
        assert rec.summary["k0" if keys > 2 else "i"] == float(n - 1)
    # Every step is there, in order, up to the last one stored ...
    np.testing.assert_array_equal(h["_step"], np.arange(n))
    np.testing.assert_array_equal(values, np.arange(n, dtype=float))
    # ... and that includes every step logged more than 1.5 s before the kill.
    logged_before = max(i for t, i in reports if t <= killed_at - 1.5)
    lag = killed_at - min(t for t, i in reports if i >= n) if n < reports[-1][1] else 0.0
    assert n >= logged_before, f"{n} stored, {logged_before} logged 1.5 s before; {lag:.2f} s lost"
    # The backlog is bounded: the process never held more than a few hundred MB.
    assert peak_rss < 700 * 2**20, peak_rss


def test_two_processes_log_to_one_project(tmp_path: Path, store_dir: Path) -> None:
    script = tmp_path / "logger.py"
    script.write_text(textwrap.dedent(_LOGGER))
    n = 20_000
    procs = [
        subprocess.Popen(
            [PYTHON, str(script), "shared", f"writer-{k}", str(n)],
            stdout=subprocess.PIPE,
            text=True,
            env=child_env(NBTRACK_DIR=str(store_dir)),
        )
        for k in range(2)
    ]
    for p in procs:
        p.communicate(timeout=120)
        assert p.returncode == 0
    with nbtrack.Api(store_dir) as api:
        runs = api.runs("shared")
        assert sorted(r.name for r in runs) == ["writer-0", "writer-1"]
        for rec in runs:
            assert rec.state == "finished"
            h = rec.history()
            np.testing.assert_array_equal(h["_step"], np.arange(n))
            np.testing.assert_array_equal(h["sq"], np.arange(n, dtype=float) ** 2)


def test_an_unfinished_script_run_is_finished_at_exit(tmp_path: Path, store_dir: Path) -> None:
    script = tmp_path / "s.py"
    script.write_text(
        "import nbtrack\nr = nbtrack.init(project='x', display=False)\nr.log({'a': 1})\n"
    )
    subprocess.run([PYTHON, str(script)], check=True, env=child_env(NBTRACK_DIR=str(store_dir)))
    script.write_text(
        "import nbtrack\nr = nbtrack.init(project='x', display=False)\nr.log({'a': 1})\n"
        "raise SystemError('boom')\n"
    )
    out = subprocess.run(
        [PYTHON, str(script)], capture_output=True, env=child_env(NBTRACK_DIR=str(store_dir))
    )
    assert out.returncode == 1
    with nbtrack.Api(store_dir) as api:
        done, failed = api.runs("x")
    assert done.state == "finished" and done.summary == {"a": 1.0}
    assert failed.state == "failed" and "SystemError: boom" in (failed.error or "")


def test_rows_with_different_keys_and_orders_become_the_right_columns(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="p", display=False)
    for i in range(30_000):  # spans several chunks of rows
        if i % 1000 == 999:
            run.log({"val/loss": -i, "epoch": i // 1000})
        elif i % 2:
            run.log({"b": i * 2.0, "a": float(i)})  # same keys, other order
        else:
            run.log({"a": float(i), "b": i * 2.0})
    run.finish()
    h = api.run(run.path).history()
    a, b, val = h["a"], h["b"], h["val/loss"]
    train = ~np.isnan(a)
    np.testing.assert_array_equal(a[train], h["_step"][train])
    np.testing.assert_array_equal(b[train], 2 * h["_step"][train])
    np.testing.assert_array_equal(np.flatnonzero(~np.isnan(val)), np.arange(999, 30_000, 1000))
    np.testing.assert_array_equal(val[999::1000], -np.arange(999, 30_000, 1000))


def test_a_value_that_cannot_convert_costs_itself_not_the_flush() -> None:
    from nbtrack.store.columns import take_columns

    class Odd:
        def __float__(self) -> float:
            raise RuntimeError("no")

    rows: list[object] = [0, 0.0, {"a": 1.0}, 1, 0.0, {"a": Odd()}, 2, 0.0, {"a": 3.0}]
    with pytest.warns(UserWarning, match="key 'a'"):
        cols = take_columns(rows)
    assert cols["a"][1].tolist()[::2] == [1.0, 3.0] and np.isnan(cols["a"][1][1])


def test_finishing_while_the_writer_drains_stores_every_row_once(store_dir: Path) -> None:
    # finish() used to swap the row buffer while the writer was still taking rows from it:
    # the rows it had not reached yet were then stored twice (hidden by history(), which
    # keeps the last value of a repeated step). read_since() returns every stored point.
    n = 200_000
    keys = ["a", "b", "c", "d"]  # rows of this size fill the backlog: the writer is busy
    for _ in range(6):
        run = nbtrack.init(project="p", display=False)
        for i in range(n):
            run.log({"a": float(i), "b": 0.5, "c": -1.0, "d": float(i % 7)})
        run.finish()
        with nbtrack.Api(store_dir) as api:
            batch, _, _ = api.run(run.path).read_since(0)
        stored = {k: len(s) for k, (s, _) in batch.series.items()}
        assert stored == dict.fromkeys(["_time", *keys], n)

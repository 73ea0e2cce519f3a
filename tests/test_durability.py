"""Nothing that log() accepted is lost: bad values, threads, fork, signals, exits, resume.

Each test here reproduces a way a run used to lose data or end in the wrong state. Processes
that must die are real processes; every wait is for a condition, with a generous timeout.
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nbtrack
from nbtrack._run import link
from nbtrack._values import HistogramEntry
from tests.helpers import PYTHON, REPO, child_env


def _script(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(body))
    return script


def _run_child(script: Path, store_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `script` to its end in a fresh interpreter logging to `store_dir`."""
    return subprocess.run(
        [PYTHON, str(script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=child_env(NBTRACK_DIR=str(store_dir)),
    )


def _wait_for_line(proc: subprocess.Popen[str], prefix: str, timeout: float = 60.0) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"child ended before printing {prefix!r}: rc={proc.poll()}")
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    raise AssertionError(f"child did not print {prefix!r} in {timeout} s")


@contextlib.contextmanager
def _warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Record warnings of every kind (the suite turns them into errors otherwise)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def _wait_until(cond: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout} s")
        time.sleep(0.05)


def _stored_steps(store_dir: Path, path: str) -> int:
    with nbtrack.Api(store_dir) as api:
        return len(api.run(path).history()["_step"])


# -- values that pass log() must be storable, and those that are not are refused there ------


class _RaddOnly:
    """Passes a sum() check (its __radd__ returns a float) but has no float value."""

    def __radd__(self, other: object) -> float:
        return 1.0


def _refusals() -> list[tuple[Any, Any, str]]:
    return [
        ({"loss": 1.0}, 2**63, "2**53"),
        ({"loss": 1.0}, 2**53, "2**53"),
        ({"loss\udc80": 1.0}, None, "lone surrogate"),
        ({"loss": _RaddOnly()}, None, "'loss'"),
        ({"t": np.timedelta64(5, "ms")}, None, "timedelta64"),
        ({"t": np.datetime64("2026-01-01")}, None, "datetime64"),
        ({"a/b": 1.0, "a": {"b": 2.0}}, None, "'a/b' is given twice"),
    ]


@pytest.mark.parametrize(("data", "step", "words"), _refusals())
def test_unstorable_values_are_refused_at_log_and_the_run_goes_on(
    api: nbtrack.Api, data: dict[str, Any], step: Any, words: str
) -> None:
    run = nbtrack.init(project="p", display=False)
    run.log({"loss": 0.5})
    with pytest.raises((TypeError, ValueError), match=words.replace("*", r"\*")):
        run.log(data, step=step)
    run.log({"loss": 0.25})
    run.finish()
    rec = api.run(run.path)
    assert rec.state == "finished"
    np.testing.assert_array_equal(rec.history(["loss"])["loss"], [0.5, 0.25])


def test_the_largest_step_and_auto_steps_after_it(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="p", display=False)
    run.log({"x": 1.0}, step=2**53 - 2, commit=True)  # committed: the next log moves on
    run.log({"x": 2.0})  # auto step 2**53 - 1: the last one there is
    run.finish()
    steps, values = api.run(run.path).series("x")
    assert steps.tolist() == [2**53 - 2, 2**53 - 1] and values.tolist() == [1.0, 2.0]


def test_a_huge_fraction_is_stored_as_inf_like_a_huge_int(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="p", display=False)
    run.log({"f": Fraction(10**400, 3), "g": Fraction(-(10**400), 3)})
    run.log({"f": 10**400, "g": -(10**400)})
    run.finish()
    h = api.run(run.path).history(["f", "g"])
    assert h["f"].tolist() == [np.inf, np.inf] and h["g"].tolist() == [-np.inf, -np.inf]


def test_a_0d_object_array_is_taken_the_same_on_both_paths(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="p", display=False)
    run.log({"x": np.array(1.5, dtype=object)})  # a new key: the slow path
    run.log({"x": np.array(2.5, dtype=object)})  # a known key: the fast path
    run.finish()
    assert api.run(run.path).series("x")[1].tolist() == [1.5, 2.5]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("circular", id="circular"),
        pytest.param({(1, 2): "tuple key"}, id="tuple-key"),
        pytest.param("bad \udc80 text", id="surrogate"),
    ],
)
@pytest.mark.parametrize("where", ["summary", "config"])
def test_summary_and_config_values_json_cannot_hold_are_refused_when_set(
    api: nbtrack.Api, value: Any, where: str
) -> None:
    if value == "circular":
        value = {}
        value["self"] = value
    run = nbtrack.init(project="p", config={"lr": 0.1}, display=False)
    run.log({"loss": 1.0})
    target = run.summary if where == "summary" else run.config
    with pytest.raises(ValueError, match=f"{where} value for key 'bad' cannot be stored"):
        target["bad"] = value
    if where == "config":
        with pytest.raises(ValueError, match="'bad'"):
            run.config.update({"ok": 1, "bad": value})
        assert "ok" not in run.config  # nothing of a refused update is kept
    run.summary["best"] = 0.9
    run.log({"loss": 0.5})
    run.finish()
    rec = api.run(run.path)
    assert rec.state == "finished" and rec.summary["best"] == 0.9 and rec.config == {"lr": 0.1}
    assert rec.history(["loss"])["loss"].tolist() == [1.0, 0.5]


def test_a_batch_the_store_refuses_is_set_aside_and_later_ones_are_stored(
    api: nbtrack.Api,
) -> None:
    run = nbtrack.init(project="p", display=False)
    run.log({"loss": 1.0})
    rl = link(run)
    rl.flush()
    # SQLite cannot hold an int this large: the batch with it can never be stored.
    bad = HistogramEntry("w", 2**70, 0.0, 1.0, np.ones(4, dtype=np.int64))
    with _warnings() as caught:
        rl.log_histograms([bad])
        rl.flush()
        rl.flush()
        run.log({"loss": 0.5})
        run.finish()
    assert any("set aside" in str(w.message) for w in caught)
    rec = api.run(run.path)
    assert rec.state == "finished"
    assert rec.history(["loss"])["loss"].tolist() == [1.0, 0.5]


class _ExplodingCounts:
    """Counts whose conversion raises a BaseException, in the writer thread."""

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        raise SystemExit("from inside the writer")


def test_a_base_exception_in_the_writer_is_reported_and_the_heartbeat_goes_on(
    api: nbtrack.Api,
) -> None:
    run = nbtrack.init(project="p", display=False)
    rl = link(run)
    with _warnings() as caught:
        rl.log_histograms([HistogramEntry("w", 0, 0.0, 1.0, _ExplodingCounts())])  # type: ignore[arg-type]
        rl.flush()
        run.log({"loss": 1.0})
        rl.flush()
        # The writer is alive: what is logged now is committed while the run runs.
        assert api.run(run.path).history(["loss"])["loss"].tolist() == [1.0]
        run.finish()
    assert any("writer" in str(w.message) for w in caught)
    assert api.run(run.path).state == "finished"


# -- threads ------------------------------------------------------------------------------


@pytest.mark.parametrize("nested", [True, False], ids=["slow-path", "fast-path"])
def test_threads_logging_at_once_lose_nothing(api: nbtrack.Api, nested: bool) -> None:
    run = nbtrack.init(project="p", display=False)
    n, k = 5000, 4
    errors: list[BaseException] = []
    for t in range(k):  # every key known before the threads start
        run.log({"g": {f"t{t}": 0.0}} if nested else {f"t{t}": 0.0})
    start = threading.Barrier(k)

    def work(t: int) -> None:
        try:
            start.wait()
            for i in range(n):
                run.log({"g": {f"t{t}": float(i)}} if nested else {f"t{t}": float(i)})
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(k)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    run.finish()
    assert errors == []
    rec = api.run(run.path)
    steps = rec.history()["_step"]
    assert len(steps) == k * (n + 1) and len(set(steps.tolist())) == len(steps)
    for t in range(k):
        key = f"g/t{t}" if nested else f"t{t}"
        _, values = rec.series(key)
        assert sorted(values.tolist()) == [0.0, *map(float, range(n))]


# -- fork ---------------------------------------------------------------------------------

_FORKER = """
import os, sys, nbtrack
run = nbtrack.init(project="fork", name="parent", display=False)
for i in range(2000):
    run.log({"i": i})
mode = sys.argv[1]
pids = []
for c in range(int(sys.argv[2])):
    pid = os.fork()
    if pid == 0:
        if mode == "log-module":
            try:
                nbtrack.log({"i": -1})
            except RuntimeError as e:
                print("child-error", e, flush=True)
        elif mode == "log-run":
            try:
                run.log({"i": -1})
            except RuntimeError as e:
                print("child-error", e, flush=True)
        sys.exit(0)  # a normal exit: atexit hooks run in the child
    pids.append(pid)
    for j in range(5000):  # heavy logging: the writer is busy when the next child forks
        run.log({"i": 2000 + c * 5000 + j})
for pid in pids:
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, status
print("state", nbtrack.Api().run(run.path).state, flush=True)
run.finish()
print("path", run.path, flush=True)
"""


@pytest.mark.parametrize("mode", ["exit", "log-module", "log-run"])
def test_a_forked_child_never_touches_the_parents_run(
    tmp_path: Path, store_dir: Path, mode: str
) -> None:
    children = 30 if mode == "exit" else 1
    script = _script(tmp_path, _FORKER)
    out = _run_child(script, store_dir, mode, str(children))
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    # While the children came and went, the parent's run stayed running ...
    assert lines["state"] == "running"
    if mode != "exit":
        assert "fork" in lines["child-error"] and "nbtrack.init()" in lines["child-error"]
    with nbtrack.Api(store_dir) as api:
        rec = api.run(lines["path"])
        # ... and it holds every step the parent logged, none of a child's.
        assert rec.state == "finished"
        n = 2000 + children * 5000
        np.testing.assert_array_equal(rec.history(["i"])["i"], np.arange(n, dtype=float))


def test_multiprocessing_fork_children_get_a_clear_error(tmp_path: Path, store_dir: Path) -> None:
    script = _script(
        tmp_path,
        """
        import multiprocessing as mp, nbtrack

        def child(q):
            try:
                nbtrack.log({"x": 1.0})
                q.put("logged")
            except RuntimeError as e:
                q.put(str(e))

        if __name__ == "__main__":
            run = nbtrack.init(project="mp", display=False)
            run.log({"x": 0.0})
            ctx = mp.get_context("fork")
            q = ctx.Queue()
            p = ctx.Process(target=child, args=(q,))
            p.start()
            print("child", q.get(timeout=60), flush=True)
            p.join()
            run.finish()
        """,
    )
    out = _run_child(script, store_dir)
    assert out.returncode == 0, out.stderr
    assert "forked" in out.stdout and "nbtrack.init()" in out.stdout


# -- signals and exits --------------------------------------------------------------------

_LOGS_THEN_WAITS = """
import sys, time, nbtrack
run = nbtrack.init(project="sig", display=False)
n = int(sys.argv[1])
for i in range(n):
    run.log({"i": i})
print("path", run.path, flush=True)
print("logged", n, flush=True)
if sys.argv[2] == "wait":
    time.sleep(600)
elif sys.argv[2] == "exit":
    sys.exit(int(sys.argv[3]))
"""


def test_sigterm_finishes_the_run_as_interrupted_then_terminates(
    tmp_path: Path, store_dir: Path
) -> None:
    script = _script(tmp_path, _LOGS_THEN_WAITS)
    proc = subprocess.Popen(
        [PYTHON, str(script), "30000", "wait"],
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(NBTRACK_DIR=str(store_dir)),
    )
    path = _wait_for_line(proc, "path ")
    _wait_for_line(proc, "logged ")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == -signal.SIGTERM  # the signal still did its work
    assert proc.stdout is not None
    proc.stdout.close()
    with nbtrack.Api(store_dir) as api:
        rec = api.run(path)
        assert rec.state == "interrupted" and rec.exit_code == 128 + signal.SIGTERM
        np.testing.assert_array_equal(rec.history(["i"])["i"], np.arange(30000, dtype=float))


def test_a_sigterm_handler_of_the_users_still_runs(tmp_path: Path, store_dir: Path) -> None:
    script = _script(
        tmp_path,
        """
        import signal, sys, time, nbtrack
        signal.signal(signal.SIGTERM, lambda s, f: (print("user-handler", flush=True), sys.exit(3)))
        run = nbtrack.init(project="sig", display=False)
        run.log({"i": 1})
        print("ready", flush=True)
        time.sleep(600)
        """,
    )
    proc = subprocess.Popen(
        [PYTHON, str(script)],
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(NBTRACK_DIR=str(store_dir)),
    )
    _wait_for_line(proc, "ready")
    proc.send_signal(signal.SIGTERM)
    _wait_for_line(proc, "user-handler")
    assert proc.wait(timeout=60) == 3
    assert proc.stdout is not None
    proc.stdout.close()
    with nbtrack.Api(store_dir) as api:
        (rec,) = api.runs("sig")
    assert rec.state == "interrupted"


@pytest.mark.parametrize(("code", "state"), [(0, "finished"), (1, "failed"), (7, "failed")])
def test_sys_exit_records_its_code(tmp_path: Path, store_dir: Path, code: int, state: str) -> None:
    script = _script(tmp_path, _LOGS_THEN_WAITS)
    out = _run_child(script, store_dir, "100", "exit", str(code))
    assert out.returncode == code, out.stderr
    with nbtrack.Api(store_dir) as api:
        (rec,) = api.runs("sig")
        assert (rec.state, rec.exit_code) == (state, code)
        assert len(rec.history()["_step"]) == 100


def _exit_inside_with_run(code: int) -> str:
    with nbtrack.init(project="p", display=False) as run:
        run.log({"a": 1.0})
        sys.exit(code)


def test_system_exit_inside_with_run(api: nbtrack.Api) -> None:
    with pytest.raises(SystemExit):
        _exit_inside_with_run(2)
    with pytest.raises(SystemExit):
        _exit_inside_with_run(0)
    failed, done = api.runs("p")
    assert (failed.state, failed.exit_code) == ("failed", 2)
    assert (done.state, done.exit_code) == ("finished", 0)


# -- resume -------------------------------------------------------------------------------


def test_resume_refuses_a_run_another_process_is_logging(tmp_path: Path, store_dir: Path) -> None:
    script = _script(tmp_path, _LOGS_THEN_WAITS)
    proc = subprocess.Popen(
        [PYTHON, str(script), "1000", "wait"],
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(NBTRACK_DIR=str(store_dir)),
    )
    try:
        path = _wait_for_line(proc, "path ")
        project, run_id = path.split("/")
        with pytest.raises(RuntimeError, match="still being logged by process"):
            nbtrack.init(project=project, id=run_id, resume="allow", display=False)
        _wait_until(lambda: _stored_steps(store_dir, path) == 1000)
    finally:
        proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
    # Once that process is gone, the run resumes where its data on disk ends.
    run = nbtrack.init(project=project, id=run_id, resume="allow", display=False)
    assert run.step == 1000
    run.log({"i": 1000})
    run.finish()
    with nbtrack.Api(store_dir) as api:
        h = api.run(path).history(["i"])
    np.testing.assert_array_equal(h["i"], np.arange(1001, dtype=float))


# -- the process hooks are installed by init(), not by import -----------------------------


def test_import_installs_no_hooks() -> None:
    code = (
        "import signal, sys; h = sys.excepthook; e = sys.exit; import nbtrack; "
        "print(sys.excepthook is h, sys.exit is e, signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)"
    )
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, env=child_env())
    assert out.stdout.split() == ["True", "True", "True"], out.stderr


# `run._x`, `self._run._x`, `link._run._x`, `getattr(run, "_x")`: a run's private attributes.
_PRIVATE_OF_A_RUN = re.compile(r"(?<![A-Za-z0-9])_?run\._[A-Za-z]|getattr\(\s*_?run\s*,\s*['\"]_")


def test_no_module_reaches_into_a_runs_private_attributes() -> None:
    assert _PRIVATE_OF_A_RUN.search("x = self._run._rows")
    assert _PRIVATE_OF_A_RUN.search('getattr(run, "_writer")')
    assert not _PRIVATE_OF_A_RUN.search("from nbtrack._run import link; link(run).flush()")
    offenders = []
    for path in sorted((REPO / "nbtrack").rglob("*.py")):
        if path.name == "_run.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if _PRIVATE_OF_A_RUN.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert offenders == []


def test_a_large_summary_value_is_written_once_not_with_every_batch(api: nbtrack.Api) -> None:
    import psutil

    run = nbtrack.init(project="p", display=False)
    run.summary["big"] = list(range(200_000))  # about 1.3 MB of JSON
    rl = link(run)
    rl.flush()
    me = psutil.Process()
    before = me.io_counters().write_chars
    for i in range(20):  # twenty batches, each committed on its own
        run.log({"loss": float(i)})
        rl.flush()
    written = me.io_counters().write_chars - before
    run.finish()
    assert written < 1_000_000, written  # the summary was not written again
    rec = api.run(run.path)
    assert rec.summary["big"][-1] == 199_999 and rec.summary["loss"] == 19.0


def test_resume_starts_after_what_is_on_disk_not_what_the_run_row_claims(
    api: nbtrack.Api, store_dir: Path
) -> None:
    from nbtrack.store.db import Store

    run = nbtrack.init(project="p", id="r1", display=False)
    for i in range(10):
        run.log({"a": float(i)})
    run.finish()
    # As a crash of an older nbtrack left it: the run row claims steps that never got stored.
    gone = subprocess.Popen(["true"])
    gone.wait()  # a process that ran the run and died
    store = Store(store_dir)
    (row,) = store.run_rows("p", "r1")
    store.update_run(row["rk"], last_step=99, summary={"a": 99.0}, state="running", pid=gone.pid)
    store.close()
    run = nbtrack.init(project="p", id="r1", resume="allow", display=False)
    assert run.step == 10 and run.summary["a"] == 9.0
    run.log({"a": 10.0})
    run.finish()
    steps, values = api.run("p/r1").series("a")
    np.testing.assert_array_equal(steps, np.arange(11))
    np.testing.assert_array_equal(values, np.arange(11.0))


def test_ctrl_c_in_a_script_ends_its_run_interrupted(tmp_path: Path, store_dir: Path) -> None:
    script = _script(
        tmp_path,
        """
        import os, signal, time, nbtrack
        run = nbtrack.init(project="ctrl-c", display=False)
        for i in range(100):
            run.log({"i": i})
        os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends
        # Still running when the interrupt is handled: were the script at its end by then,
        # the interpreter would exit without raising it (the signal may go to another thread).
        time.sleep(60)
        """,
    )
    out = _run_child(script, store_dir)
    assert out.returncode != 0 and "KeyboardInterrupt" in out.stderr
    with nbtrack.Api(store_dir) as api:
        (rec,) = api.runs("ctrl-c")
        assert rec.state == "interrupted"
        assert len(rec.history()["_step"]) == 100

"""What the store does when things around it go wrong: read-only media, a writer holding the
lock, a missing or misnamed folder, a damaged file, another layout, a full disk, a dead or
reused pid. Nothing that log() accepted is ever lost, and no failure is silent."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

import nbtrack
from nbtrack._run import link
from nbtrack.errors import (
    ApiClosedError,
    NbtrackError,
    RunNotFoundError,
    StoreCorruptError,
    StoreFullError,
    StoreNotFoundError,
    StorePathError,
    StoreReadOnlyError,
    StoreVersionError,
)
from nbtrack.store import db
from nbtrack.store.db import DB_NAME, HOST, Store, effective_state
from tests.helpers import PYTHON, child_env


def _logged(root: Path, project: str = "p", name: str = "r", n: int = 50) -> str:
    """A finished run of `n` steps in the store at `root`; its path."""
    run = nbtrack.init(project=project, name=name, dir=root, display=False)
    for i in range(n):
        run.log({"a": float(i)})
    run.finish()
    return run.path


def _sql(root: Path, *statements: str) -> None:
    conn = sqlite3.connect(root / DB_NAME, isolation_level=None)
    try:
        for s in statements:
            conn.execute(s)
    finally:
        conn.close()


def _wait_for(cond: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def _mount(*args: str | Path) -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root and mount(8) to make a read-only or small file system")
    out = subprocess.run(["mount", *map(str, args)], capture_output=True, text=True)
    if out.returncode:
        pytest.skip(f"mounting is not permitted here: {out.stderr.strip()}")


def _umount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True).returncode:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)  # still busy


@pytest.fixture
def read_only_view(tmp_path: Path) -> Iterator[Callable[[Path], Path]]:
    """A read-only bind mount of a folder: real read-only media, even for root."""
    mounted: list[Path] = []

    def view(src: Path) -> Path:
        dst = tmp_path / f"read-only-{len(mounted)}"
        dst.mkdir()
        _mount("--bind", src, dst)
        mounted.append(dst)
        _mount("-o", "remount,ro,bind", dst)
        return dst

    yield view
    for path in reversed(mounted):
        _umount(path)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs, unmounted afterwards."""
    path = tmp_path / "small-disk"
    path.mkdir()
    _mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", path)
    try:
        yield path
    finally:
        _umount(path)


def _fill(disk: Path) -> None:
    with open(disk / "filler", "ab", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass  # full: that is the point


# -- reading: read-only, never waiting on a writer, never creating ------------------------


@pytest.mark.parametrize("live", [False, True], ids=["closed-store", "store-being-written"])
def test_a_store_on_read_only_media_is_read(
    tmp_path: Path, read_only_view: Callable[[Path], Path], live: bool
) -> None:
    src = tmp_path / "src"
    done = _logged(src, name="done")
    run = None
    if live:  # a writer has the store open: its -wal and -shm files exist
        run = nbtrack.init(project="p", name="live", dir=src, display=False)
        run.log({"a": 7.0})
        link(run).flush()
    ro = read_only_view(src)
    with nbtrack.Api(ro) as api:
        assert api.run(done).history()["a"].tolist() == [float(i) for i in range(50)]
        names = [r.name for r in api.runs("p")]
        if run is not None:
            assert names == ["done", "live"]
            assert api.run(run.path).series("a")[1].tolist() == [7.0]
        else:
            assert names == ["done"]
    if run is not None:
        run.finish()


def test_a_write_ahead_log_without_its_index_on_read_only_media_is_a_clear_error(
    tmp_path: Path, read_only_view: Callable[[Path], Path]
) -> None:
    src = tmp_path / "src"
    _logged(src)
    run = nbtrack.init(project="p", name="live", dir=src, display=False)
    run.log({"a": 1.0})
    link(run).flush()
    copy = tmp_path / "copy"
    copy.mkdir()
    # A copy taken while it was written, without the -shm file (copy tools often skip it).
    shutil.copy(src / DB_NAME, copy / DB_NAME)
    shutil.copy(src / f"{DB_NAME}-wal", copy / f"{DB_NAME}-wal")
    run.finish()
    ro = read_only_view(copy)
    with pytest.raises(StoreReadOnlyError, match=r"runs\.db-shm.*[Cc]opy the folder"):
        nbtrack.Api(ro)


_HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO meta (key, value) VALUES ('held', 'by another writer')")
print("holding", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""

_READ_WITH_API = """
import sys, nbtrack
with nbtrack.Api(sys.argv[1]) as api:
    print(",".join(r.name for r in api.runs()))
"""


@pytest.mark.parametrize("reader", ["Api", "nbtrack runs"])
def test_reading_does_not_wait_for_a_writer_holding_the_lock(
    tmp_path: Path, store_dir: Path, reader: str
) -> None:
    _logged(store_dir, name="visible")
    holder = subprocess.Popen(
        [PYTHON, "-c", _HOLD_LOCK, str(store_dir / DB_NAME)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        if reader == "Api":
            cmd = [PYTHON, "-c", _READ_WITH_API, str(store_dir)]
        else:
            cmd = [PYTHON, "-m", "nbtrack.cli", "--dir", str(store_dir), "runs"]
        # A writer may hold its lock for long (a big commit, a debugger): readers go on.
        out = subprocess.run(
            cmd, capture_output=True, text=True, env=child_env(), timeout=20, cwd=tmp_path
        )
        assert out.returncode == 0, out.stderr
        assert "visible" in out.stdout
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
        assert holder.stdout is not None
        holder.stdout.close()


def test_reading_a_missing_store_is_a_clear_error_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(StoreNotFoundError, match=r"NBTRACK_DIR") as info:
        nbtrack.Api(missing)
    assert isinstance(info.value, FileNotFoundError)
    assert str(missing) in str(info.value) and "dir=" in str(info.value)
    out = subprocess.run(
        [PYTHON, "-m", "nbtrack.cli", "--dir", str(missing), "runs"],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=120,
        cwd=tmp_path,
    )
    assert out.returncode == 1
    assert str(missing) in out.stderr and "Traceback" not in out.stderr
    assert not missing.exists()


def test_the_runs_line_magic_on_a_missing_store_says_so(store_dir: Path) -> None:
    pytest.importorskip("IPython")
    from IPython.core.error import UsageError

    from nbtrack.magic import line_command

    with pytest.raises(UsageError, match=r"no nbtrack store"):
        line_command("runs")
    assert not store_dir.exists()


@pytest.mark.parametrize("below", [False, True], ids=["the-file", "a-folder-under-it"])
def test_nbtrack_dir_naming_a_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, below: bool
) -> None:
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("notes\n")
    target = a_file / "store" if below else a_file
    monkeypatch.setenv("NBTRACK_DIR", str(target))
    with pytest.raises(StorePathError, match=r"NBTRACK_DIR.*not a folder"):
        nbtrack.init(project="p", display=False)
    with pytest.raises(StorePathError, match=r"NBTRACK_DIR.*not a folder"):
        nbtrack.Api()
    assert a_file.read_text() == "notes\n"


# -- a damaged store ------------------------------------------------------------------------


def _damage_an_index(root: Path) -> None:
    """Overwrite the root page of an index that starting a run does not touch."""
    conn = sqlite3.connect(root / DB_NAME)
    page = conn.execute(
        "SELECT rootpage FROM sqlite_master WHERE name = 'histograms_by_run'"
    ).fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()  # the last connection: the log is checkpointed into the file
    assert not (root / f"{DB_NAME}-wal").exists()
    with open(root / DB_NAME, "r+b") as f:
        f.seek((page - 1) * size)
        f.write(b"\xff" * 16)


def test_a_damaged_store_is_refused_for_writing_and_still_read(tmp_path: Path) -> None:
    root = tmp_path / "s"
    path = _logged(root)
    _damage_an_index(root)
    with pytest.raises(StoreCorruptError, match=r"damaged.*quick_check.*\.recover"):
        nbtrack.init(project="p", dir=root, display=False)
    with pytest.raises(StoreCorruptError):
        Store(root)
    with nbtrack.Api(root) as api:  # what can be read still is
        assert api.run(path).series("a")[1].tolist() == [float(i) for i in range(50)]


def test_a_file_that_is_no_database_is_a_clear_error(tmp_path: Path) -> None:
    root = tmp_path / "s"
    root.mkdir()
    (root / DB_NAME).write_bytes(b"this is not an SQLite database\n" * 100)
    with pytest.raises(StoreCorruptError, match=r"not an SQLite database"):
        nbtrack.init(project="p", dir=root, display=False)
    with pytest.raises(StoreCorruptError, match=r"not an SQLite database"):
        nbtrack.Api(root)


# -- versions and migrations -------------------------------------------------------------------


def _meta(root: Path) -> dict[str, str]:
    conn = sqlite3.connect(root / DB_NAME)
    try:
        return dict(conn.execute("SELECT key, value FROM meta").fetchall())
    finally:
        conn.close()


def _run_columns(root: Path) -> set[str]:
    conn = sqlite3.connect(root / DB_NAME)
    try:
        return {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
    finally:
        conn.close()


def _make_old_layout(root: Path, version: int) -> None:
    """Today's layout before `alerts` (version 1), or before `meta` too (version 0)."""
    added_since = [c for c in ("alerts", "proc_start") if c in _run_columns(root)]
    _sql(
        root,
        *[f"ALTER TABLE runs DROP COLUMN {c}" for c in added_since],
        "DROP TABLE IF EXISTS uploads",
        "DROP TABLE IF EXISTS media",
        "DELETE FROM meta WHERE key != 'schema_version'",
        "UPDATE meta SET value = '1'",
        *(["DROP TABLE meta"] if version == 0 else []),
    )
    assert "alerts" not in _run_columns(root)


def test_a_store_records_its_schema_and_the_nbtrack_that_wrote_it(store_dir: Path) -> None:
    _logged(store_dir)
    meta = _meta(store_dir)
    assert meta["schema_version"] == str(db.SCHEMA_VERSION) == "4"
    assert meta["nbtrack_version"] == nbtrack.__version__


@pytest.mark.parametrize("version", [0, 1])
def test_a_store_of_an_older_layout_is_read_then_migrated_by_a_writer(
    tmp_path: Path, version: int
) -> None:
    root = tmp_path / "old"
    old = _logged(root, name="old")
    _make_old_layout(root, version)
    with nbtrack.Api(root) as api:  # read as it is: a reader never writes
        rec = api.run(old)
        assert rec.alerts == [] and rec.state == "finished"
        assert rec.history()["a"].tolist() == [float(i) for i in range(50)]
    assert "alerts" not in _run_columns(root)

    run = nbtrack.init(project="p", name="new", dir=root, display=False)
    run.alert("hello", "world")
    run.log({"a": 1.0})
    run.finish()
    assert {"alerts", "proc_start"} <= _run_columns(root)
    assert _meta(root)["schema_version"] == "4"
    with nbtrack.Api(root) as api:
        old_rec, new_rec = api.runs("p")
        assert old_rec.alerts == [] and old_rec.summary == {"a": 49.0}
        assert [a["title"] for a in new_rec.alerts] == ["hello"]
        assert new_rec.state == "finished"


_MIGRATE_AND_LOG = """
import sys, time, pathlib, nbtrack
go = pathlib.Path(sys.argv[2])
while not go.exists():
    time.sleep(0.01)
run = nbtrack.init(project="p", name=sys.argv[3], dir=sys.argv[1], display=False)
for i in range(200):
    run.log({"a": float(i)})
run.finish()
"""


def test_two_processes_migrate_an_old_store_at_once(tmp_path: Path) -> None:
    root = tmp_path / "old"
    _logged(root, name="old")
    _make_old_layout(root, 1)
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [PYTHON, "-c", _MIGRATE_AND_LOG, str(root), str(go), f"w{k}"],
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        for k in range(2)
    ]
    go.touch()
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert "Warning" not in err, err
    with nbtrack.Api(root) as api:
        assert sorted(r.name for r in api.runs("p")) == ["old", "w0", "w1"]
        for rec in api.runs("p")[1:]:
            np.testing.assert_array_equal(rec.history()["a"], np.arange(200.0))
    assert _meta(root)["schema_version"] == "4"


@pytest.mark.parametrize("readable", [False, True], ids=["unreadable", "readable"])
def test_a_store_written_by_a_newer_nbtrack_is_not_written(tmp_path: Path, readable: bool) -> None:
    root = tmp_path / "new"
    path = _logged(root)
    _sql(
        root,
        "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
        "INSERT OR REPLACE INTO meta VALUES ('nbtrack_version', '9.9.0')",
        f"INSERT OR REPLACE INTO meta VALUES ('read_version', '{1 if readable else 99}')",
    )
    with pytest.raises(StoreVersionError, match=r"schema version 99.*nbtrack 9\.9\.0.*upgrade"):
        nbtrack.init(project="p", dir=root, display=False)
    if readable:
        with nbtrack.Api(root) as api:
            assert api.run(path).summary == {"a": 49.0}
    else:
        with pytest.raises(StoreVersionError, match=r"schema version 99.*nbtrack 9\.9\.0"):
            nbtrack.Api(root)
    assert _meta(root)["schema_version"] == "99"


# -- what a reader takes a run's state to be -------------------------------------------------


_CREATE_AND_WAIT = """
import sys
from nbtrack.store.db import Store
store = Store(sys.argv[1])
rk = store.create_run({"project": "p", "id": "alive", "name": "alive"})
store.close()
print("created", flush=True)
sys.stdin.read()
"""


def test_a_live_run_is_running_on_its_host_however_old_its_heartbeat(
    store_dir: Path,
) -> None:
    child = subprocess.Popen(
        [PYTHON, "-c", _CREATE_AND_WAIT, str(store_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "created"
    # Busy in one long C call, say: its writer has not beaten for an hour.
    _sql(store_dir, f"UPDATE runs SET heartbeat_at = {time.time() - 3600}")
    with nbtrack.Api(store_dir) as api:
        assert api.run("p/alive").state == "running"
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)
        child.stdout.close()
        _wait_for(lambda: api.run("p/alive").state == "crashed", "the dead run to be crashed")


def test_a_run_whose_pid_was_reused_is_crashed(store_dir: Path) -> None:
    other = subprocess.Popen([PYTHON, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        store = Store(store_dir)
        # The row of a process that had `other`'s pid before it and started at another time.
        store.create_run(
            {"project": "p", "id": "old", "name": "old", "pid": other.pid, "proc_start": 1}
        )
        store.create_run({"project": "p", "id": "mine", "name": "mine"})
        store.close()
        with nbtrack.Api(store_dir) as api:
            assert api.run("p/old").state == "crashed"
            assert api.run("p/mine").state == "running"
    finally:
        assert other.stdin is not None
        other.stdin.close()
        other.wait(timeout=30)


@pytest.mark.parametrize(
    ("host", "age", "state"),
    [("elsewhere", 5.0, "running"), ("elsewhere", 300.0, "crashed")],
)
def test_on_another_host_the_heartbeat_decides(host: str, age: float, state: str) -> None:
    now = time.time()
    row = {"state": "running", "heartbeat_at": now - age, "host": host, "pid": 1}
    assert effective_state(row, now) == state


def test_a_dead_pid_on_this_host_is_crashed_however_fresh_its_heartbeat() -> None:
    dead = subprocess.Popen([PYTHON, "-c", "pass"])
    dead.wait(timeout=60)
    row = {"state": "running", "heartbeat_at": time.time(), "host": HOST, "pid": dead.pid}
    assert effective_state(row) == "crashed"


# -- the read API's own errors ----------------------------------------------------------------


def test_a_record_used_after_its_api_closed_says_so(store_dir: Path) -> None:
    path = _logged(store_dir)
    with nbtrack.Api(store_dir) as api:
        rec = api.run(path)
    with pytest.raises(ApiClosedError, match=r"Api is closed.*with nbtrack\.Api\(\)"):
        rec.history()
    with pytest.raises(ApiClosedError):
        api.runs()


def test_a_missing_run_is_a_run_not_found_error(api: nbtrack.Api) -> None:
    _logged(api.dir)
    with pytest.raises(RunNotFoundError) as info:
        api.run("p/nope")
    assert isinstance(info.value, KeyError) and isinstance(info.value, NbtrackError)
    assert str(info.value) == f"nbtrack: no run 'p/nope' in {api.dir / DB_NAME}"
    with pytest.raises(KeyError):  # what callers wrote before the error had a name
        api.run("nope")


# -- a full disk ---------------------------------------------------------------------------------


@pytest.mark.parametrize("existing", [False, True], ids=["new-store", "existing-store"])
def test_init_on_a_full_disk_says_the_disk_is_full(small_disk: Path, existing: bool) -> None:
    root = small_disk / "store"
    if existing:
        _logged(root, n=3)
    _fill(small_disk)
    with pytest.raises(StoreFullError, match=r"full.*free") as info:
        nbtrack.init(project="p", dir=root, display=False)
    assert str(root) in str(info.value)
    assert isinstance(info.value, OSError)
    (small_disk / "filler").unlink()  # space again: the store takes a run, and lost nothing
    run = nbtrack.init(project="p", dir=root, display=False)
    run.log({"a": 1.0})
    run.finish()
    with nbtrack.Api(root) as api:
        assert len(api.runs("p")) == (2 if existing else 1)


@pytest.mark.parametrize("space_returns", [True, False], ids=["space-returns", "stays-full"])
def test_finish_on_a_full_disk_waits_for_space_then_ends_with_a_clear_message(
    small_disk: Path, monkeypatch: pytest.MonkeyPatch, space_returns: bool
) -> None:
    import threading
    import warnings

    from nbtrack import _run

    monkeypatch.setattr(_run, "FINISH_WAIT_S", 20.0 if space_returns else 1.0)
    root = small_disk / "store"
    run = nbtrack.init(project="p", dir=root, display=False)
    for i in range(100):
        run.log({"a": float(i)})
    link(run).flush()
    _fill(small_disk)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(100, 20_000):  # log() goes on while the disk is full
            run.log({"a": float(i)})
        with nbtrack.Api(root) as api:  # and a reader sees the run as what it is: running
            assert api.run(run.path).state == "running"
        if space_returns:
            threading.Timer(1.0, (small_disk / "filler").unlink).start()
        run.finish()  # never raises
    messages = [str(w.message) for w in caught]
    if space_returns:
        with nbtrack.Api(root) as api:
            rec = api.run(run.path)
            assert rec.state == "finished"
            np.testing.assert_array_equal(rec.history(["a"])["a"], np.arange(20_000.0))
    else:
        assert any("could not be stored" in m and "from step" in m for m in messages), messages
        assert "could not be stored" in (run.error or "")
        (small_disk / "filler").unlink()
        with nbtrack.Api(root) as api:  # what was stored before the disk filled is kept
            kept = api.run(run.path).history(["a"])["a"]
        np.testing.assert_array_equal(kept[:100], np.arange(100.0))

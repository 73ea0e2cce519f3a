"""The team server and live sync (issue "team server", targets 1-4), measured end to end.

    .venv/bin/python bench/sync.py                    # everything, about 5 minutes, writes the docs
    .venv/bin/python bench/sync.py --quick --no-docs  # tiny sizes, to try it out (seconds)
    .venv/bin/python bench/sync.py --parts ingest --no-postgres --profile --no-docs
    .venv/bin/python bench/sync.py --only first-chart --page-loads 6  # the run page alone (1 min)

Runs in the project's venv (the server's dependencies, Playwright); MLflow comes from
bench/.venv (``bash bench/setup.sh``), PostgreSQL from the machine's binaries (started by
``tests/server/postgres.PostgresCluster`` in a temporary folder), Chromium is Debian's. Every
server listens on 127.0.0.1 on a free port and is stopped at the end.

1. ingest: a real ``nbtrack server`` process, SQLite and PostgreSQL, fed over HTTP by
   ``nbtrack.sync.client.Client`` (one kept-alive connection, requests one after another, as
   the uploader sends them) frames made by ``nbtrack.sync.frames`` exactly as the uploader
   makes them: store chunks as the writer commits them every 0.5 s from a loop of 1,000
   steps/s logging 20 keys (so 500 rows a key and the ``_time`` key a commit), read back in
   groups of up to 8 MiB of blobs (``uploader.FRAME_BYTES``), merged per key
   (``frames.from_store``) and encoded. The frames are built before the clock starts; their
   cost is reported on its own. Also: the same points sent one commit a request (what a live
   run sends), and 4 clients at once, each its own run. Against MLflow's server
   (``mlflow server``, SQLite, one worker) fed the same points through its REST
   ``POST /api/2.0/mlflow/runs/log-batch`` at its limit of 1,000 metrics a request, the
   ``_time`` of each step as the metric's timestamp. Points are the 20 keys' values; the
   ``_time`` values travel too and are not counted. Where the time of a frame goes is timed
   in-process on a scratch database (decode, the per-chunk stats and digest, the database
   statement and commit); ``--profile`` adds cProfile's top functions for it.
2. overhead: median ns of ``log()`` of 4 scalars in a loop (200,000 steps, a 1 ms pause
   every 100 steps, as a training step would leave the GIL to the background threads), in
   a child process logged in to the live server against one with ``NBTRACK_MODE=offline``,
   in paired rounds (order alternating), reported as the median of the per-round ratios
   with their quartiles and extremes.
3. latency: a child logs one point per 50 ms (4 keys) and keeps ``time.time()`` of each
   ``log()``; headless Chromium, signed in, has the server's run page open and records each
   change of the ``train/loss`` chart's ``data-points`` (the point is in the page's series
   store) and each redraw of that chart (the time two animation frames after its
   ``draw()``: the frame holding the new canvas has been painted). The child also records
   its writer's commits and its uploader's requests, to split the latency into phases.
4. sync: a run of 50,000 steps x 20 keys (1,000,000 points) logged offline, then ``nbtrack
   sync`` as a process (``NBTRACK_HOST``/``NBTRACK_API_KEY``, a temporary
   ``NBTRACK_CONFIG_DIR``), timed as a whole; then the run's page opened in Chromium, and
   the time from navigation to the first chart drawn with data, and to every chart on screen
   drawn with all its points (cold, then warm). ``--only first-chart`` runs this alone; with
   the docs written, its page loads replace those of the newest full run's results file in
   the section, which says which figures come from which run.

Results go to docs/benchmarks.md (section "Sync and team server") and bench/results/.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import http.client
import io
import json
import os
import pstats
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from _common import (  # noqa: E402  # bench/ is put on the path just above
    RESULT_MARK,
    command_line,
    fmt,
    loadavg,
    machine_lines,
    md_table,
    percentile,
    write_docs_section,
)

BENCH_VENV = REPO / "bench" / ".venv"
MLFLOW_BIN = BENCH_VENV / "bin" / "mlflow"
RESULTS = REPO / "bench" / "results"
PACKAGES = ("nbtrack", "fastapi", "uvicorn", "sqlalchemy", "psycopg", "numpy", "playwright")
PARTS = ("ingest", "overhead", "latency", "sync")
ENTITY = "bench"  # the benchmark's user on each server
PASSWORD = "correct horse 1"

# Target figures of the issue.
TARGET_INGEST = 2e6  # points/s
TARGET_OVERHEAD = 1.10  # log() with sync on / offline, median of the paired ratios
TARGET_LATENCY_P95_S = 1.0
TARGET_SYNC_S = 5.0
TARGET_FIRST_CHART_S = 1.0
WANDB_INTERVAL_S = 15  # how often W&B's client sends history (context only, not run here)

NKEYS = 20
COMMIT_ROWS = 500  # rows a key in one 0.5 s commit of a 1,000 steps/s loop

SIZES: dict[str, dict[str, Any]] = {
    "full": {
        "ingest_steps": 500_000,  # x 20 keys: 10,000,000 points
        "live_requests": 200,  # one commit each: 10,000 points a request
        "concurrent_clients": 4,
        "mlflow_points": 100_000,  # MLflow takes about 1 ms a point here
        "mlflow_max_s": 180.0,
        "phase_frames": 4,
        "overhead_rounds": 8,
        "overhead_steps": 200_000,
        "latency_points": 400,  # 20 s at 20 Hz
        "sync_steps": 50_000,  # x 20 keys: 1,000,000 points
        "page_loads": 4,
    },
    "quick": {
        "ingest_steps": 10_000,
        "live_requests": 10,
        "concurrent_clients": 2,
        "mlflow_points": 2_000,
        "mlflow_max_s": 60.0,
        "phase_frames": 1,
        "overhead_rounds": 1,
        "overhead_steps": 5_000,
        "latency_points": 30,
        "sync_steps": 2_000,
        "page_loads": 1,
    },
}
LATENCY_INTERVAL_S = 0.05
OVERHEAD_BURST = 100
OVERHEAD_PAUSE_S = 0.001


def key_names(n: int) -> list[str]:
    base = ["train/loss", "train/acc", "val/loss", "val/acc"]
    return (base + [f"layer{i // 8}/metric{i % 8}" for i in range(max(0, n - len(base)))])[:n]


def say(msg: str) -> None:
    print(f"[sync {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# =========================================================================================
# Worker side: child processes (a training script, logged in or offline).
# =========================================================================================


def worker_overhead(spec: dict[str, Any]) -> dict[str, Any]:
    """Time every log() of 4 scalars; a pause every `burst` steps lets the threads run."""
    import random

    import nbtrack

    keys = key_names(4)
    rng = random.Random(3).random
    steps, burst, pause = spec["steps"], spec["burst"], spec["pause_s"]
    # A fresh row every step, made beforehand: values that repeat would let the uploader's
    # zlib off lightly (a pool of rows repeats within its window).
    rows = [{k: rng() for k in keys} for _ in range(steps)]
    run = nbtrack.init(project="overhead", name=f"overhead-{spec['mode']}", display=False)
    from nbtrack._run import link

    syncing = link(run).sync_status() is not None  # type: ignore[arg-type]
    log = run.log
    pc = time.perf_counter_ns
    sleep = time.sleep
    times = [0] * steps
    t_start = pc()
    for i in range(steps):
        d = rows[i]
        t0 = pc()
        log(d)
        times[i] = pc() - t0
        if i % burst == burst - 1:
            sleep(pause)
    t_loop = pc()
    status = link(run).sync_status()  # type: ignore[arg-type]
    run.finish()
    t_done = pc()
    times.sort()
    return {
        "mode": spec["mode"],
        "syncing": syncing,
        "run_id": run.id,
        "steps": steps,
        "median_ns": percentile(times, 50),
        "p95_ns": percentile(times, 95),
        "mean_ns": sum(times) / steps,
        "max_ns": times[-1],
        "loop_s": (t_loop - t_start) / 1e9,
        "finish_s": (t_done - t_loop) / 1e9,
        "sync_state_at_loop_end": status,
    }


def worker_paced(spec: dict[str, Any]) -> dict[str, Any]:
    """One point per `interval_s` after the driver says go, with the wall time of each log()
    and the times of the writer's commits and of the uploader's requests."""
    import math

    import nbtrack
    from nbtrack.sync import client as sync_client
    from nbtrack.sync import frames

    posts: list[tuple[float, float, int]] = []
    puts: list[tuple[float, float]] = []
    post_chunks = sync_client.Client.post_chunks
    put_run = sync_client.Client.put_run

    def timed_post(self: Any, entity: str, project: str, run_id: str, frame: bytes) -> Any:
        last = max((c.step_last for c in frames.decode(frame) if c.key == "train/loss"), default=-1)
        t0 = time.time()
        reply = post_chunks(self, entity, project, run_id, frame)
        posts.append((t0, time.time(), last))
        return reply

    def timed_put(self: Any, *args: Any) -> Any:
        t0 = time.time()
        reply = put_run(self, *args)
        puts.append((t0, time.time()))
        return reply

    sync_client.Client.post_chunks = timed_post  # type: ignore[method-assign]
    sync_client.Client.put_run = timed_put  # type: ignore[method-assign]

    run = nbtrack.init(project="latency", name="latency", display=False)
    commits: list[tuple[float, int]] = []
    writer = run._writer  # type: ignore[attr-defined]  # the bench looks inside, on purpose
    writer.after_commit.append(lambda: commits.append((time.time(), writer.committed_step)))
    Path(spec["ready_file"]).write_text(run.id)
    go = Path(spec["go_file"])
    deadline = time.monotonic() + 300
    while not go.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the driver never said go")
        time.sleep(0.01)
    n, interval = spec["points"], spec["interval_s"]
    log_times = [0.0] * n
    t0 = time.perf_counter()
    for i in range(n):
        wait = t0 + i * interval - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        loss = 2.0 * math.exp(-i / 100) + 0.1 + 0.01 * math.sin(i)
        log_times[i] = time.time()
        run.log(
            {"train/loss": loss, "train/acc": 1 - loss / 2.5, "val/loss": loss * 1.1, "lr": 0.01}
        )
    run.finish()
    return {
        "run_id": run.id,
        "log_times": log_times,
        "commits": commits,
        "posts": posts,
        "puts": puts,
    }


def worker_offline(spec: dict[str, Any]) -> dict[str, Any]:
    """A run of `steps` x 20 keys logged flat out with NBTRACK_MODE=offline."""
    import random

    import nbtrack

    keys = key_names(NKEYS)
    rng = random.Random(4).random
    rows = [{k: rng() for k in keys} for _ in range(spec["steps"])]  # no repeats: see above
    t0 = time.perf_counter()
    run = nbtrack.init(project="sync", name="offline-1M", display=False)
    log = run.log
    for row in rows:
        log(row)
    run.finish()
    return {"run_id": run.id, "log_s": time.perf_counter() - t0}


def worker_main(spec: dict[str, Any]) -> None:
    kinds: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        "overhead": worker_overhead,
        "paced": worker_paced,
        "offline": worker_offline,
    }
    out = kinds[spec["kind"]](spec)
    sys.stdout.write("\n" + RESULT_MARK + json.dumps(out) + "\n")
    sys.stdout.flush()


# =========================================================================================
# Driver side: servers, accounts, child processes
# =========================================================================================


@dataclass
class Team:
    """A running nbtrack server and the benchmark's user on it."""

    server: Any  # tests.server.servers.ServerProcess
    key: str
    backend: str

    @property
    def url(self) -> str:
        return str(self.server.url)


@contextlib.contextmanager
def team_server(
    data: Path, database_url: str | None = None, backend: str = "sqlite"
) -> Iterator[Team]:
    from tests.server.servers import ServerProcess

    server = ServerProcess(data, database_url)
    try:
        server.start()
        user = server.create_user(ENTITY, PASSWORD)
        yield Team(server, user.key, backend)
    finally:
        server.stop()


def child_env(work: Path, team: Team | None, **extra: str) -> dict[str, str]:
    """A training script's environment: its own store and config folder; logged in to
    `team` through NBTRACK_HOST/NBTRACK_API_KEY, or offline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBTRACK_")}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
            "PYTHONDONTWRITEBYTECODE": "1",
            "NBTRACK_DIR": str(work / "store"),
            "NBTRACK_CONFIG_DIR": str(work / "config"),
        }
    )
    if team is None:
        env["NBTRACK_MODE"] = "offline"
    else:
        env["NBTRACK_HOST"] = team.url
        env["NBTRACK_API_KEY"] = team.key  # no credentials file: the uploader asks whose key
    env.update(extra)
    return env


def run_child(
    spec: dict[str, Any], env: dict[str, str], cwd: Path, timeout: float
) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"error": f"timed out after {timeout:.0f} s"}
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            out: dict[str, Any] = json.loads(line[len(RESULT_MARK) :])
            out["stderr"] = stderr[-2000:]
            return out
    tail = [ln for ln in stderr.strip().splitlines() if ln.strip()][-1:] or [
        f"exit {proc.returncode}"
    ]
    return {"error": tail[0][:300]}


def api(team: Team, method: str, path: str, body: Any = None) -> Any:
    from nbtrack.sync.client import Client

    c = Client(team.url, team.key)
    try:
        data = None if body is None else json.dumps(body).encode()
        return c.request(method, path, data)
    finally:
        c.close()


def series_count(team: Team, project: str, run_id: str, key: str) -> int:
    from urllib.parse import quote

    path = f"/api/v1/runs/{ENTITY}/{project}/{run_id}/series?key={quote(key)}&width=1"
    return int(api(team, "GET", path)["n"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stats_s(values: list[float]) -> dict[str, float]:
    s = sorted(values)
    if not s:
        return {"n": 0}
    return {
        "n": len(s),
        "p50": percentile(s, 50),
        "p95": percentile(s, 95),
        "max": s[-1],
        "min": s[0],
        "mean": sum(s) / len(s),
    }


# =========================================================================================
# 1. Ingest
# =========================================================================================


@dataclass
class Frame:
    body: bytes
    points: int  # the 20 keys' values (not _time)
    chunks: int
    build_s: float


def store_rows(steps: int, seed: int = 0) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    """Chunk rows as `Store.raw_since` returns them, ``(seq, key, n, first, last, stride,
    steps, vals)``: one chunk a key (and `_time`) for each commit of COMMIT_ROWS steps."""
    import numpy as np

    from nbtrack._values import TIME_KEY
    from nbtrack.store import chunks as store_chunks

    rng = np.random.default_rng(seed)
    keys = key_names(NKEYS)
    rows: list[tuple[Any, ...]] = []
    seq = 0
    t_start = 1.76e9
    columns: dict[str, Any] = {}  # the first steps' values, for MLflow
    for start in range(0, steps, COMMIT_ROWS):
        n = min(COMMIT_ROWS, steps - start)
        st = np.arange(start, start + n, dtype=np.int64)
        enc = store_chunks.encode_steps(st)
        for key in (TIME_KEY, *keys):
            seq += 1
            vals = t_start + st * 1e-3 if key == TIME_KEY else rng.random(n)
            if start < 200_000:
                columns.setdefault(key, []).append(vals)
            rows.append(
                (
                    seq,
                    key,
                    n,
                    enc.first,
                    enc.last,
                    enc.stride,
                    enc.blob,
                    store_chunks.encode_values(vals),
                )
            )
    return rows, {k: np.concatenate(v) for k, v in columns.items()}


def uploader_groups(rows: list[tuple[Any, ...]], max_bytes: int) -> list[list[tuple[Any, ...]]]:
    """Rows in the groups `Store.raw_since(..., max_bytes)` gives the uploader one by one."""
    groups: list[list[tuple[Any, ...]]] = []
    cur: list[tuple[Any, ...]] = []
    size = 0
    for row in rows:
        if size >= max_bytes:
            groups.append(cur)
            cur, size = [], 0
        cur.append(row)
        size += len(row[7]) + len(row[6] or b"")
    if cur:
        groups.append(cur)
    return groups


def build_frames(groups: list[list[tuple[Any, ...]]]) -> list[Frame]:
    from nbtrack._values import TIME_KEY
    from nbtrack.sync import frames

    out = []
    for g in groups:
        t0 = time.perf_counter()
        chunks = frames.from_store(g, [])
        body = frames.encode(chunks)
        dt = time.perf_counter() - t0
        pts = sum(c.n for c in chunks if c.key != TIME_KEY)
        out.append(Frame(body, pts, len(chunks), dt))
    return out


def run_fields(name: str) -> dict[str, Any]:
    now = time.time()
    return {
        "name": name, "state": "running", "created_at": now, "updated_at": now,
        "heartbeat_at": now, "last_step": -1, "config": {"bench": True},
    }  # fmt: skip


def post_frames(team: Team, project: str, run_id: str, frames_: list[Frame]) -> dict[str, Any]:
    """PUT the run, then POST every frame on one kept-alive connection, one after another."""
    from nbtrack.sync.client import Client

    client = Client(team.url, team.key)
    try:
        client.put_run(ENTITY, project, run_id, run_fields(run_id))
        per: list[float] = []
        accepted = 0
        t0 = time.perf_counter()
        for f in frames_:
            t = time.perf_counter()
            reply = client.post_chunks(ENTITY, project, run_id, f.body)
            per.append(time.perf_counter() - t)
            accepted += int(reply["accepted"])
        total = time.perf_counter() - t0
    finally:
        client.close()
    points = sum(f.points for f in frames_)
    return {
        "requests": len(frames_),
        "points": points,
        "bytes": sum(len(f.body) for f in frames_),
        "chunks": sum(f.chunks for f in frames_),
        "accepted": accepted,
        "total_s": total,
        "points_per_s": points / total,
        "request_ms": stats_s([x * 1e3 for x in per]),
    }


def ingest_concurrent(
    team: Team, project: str, frames_: list[Frame], clients: int
) -> dict[str, Any]:
    """`clients` uploaders at once, each its own run, each a share of the frames."""
    share = max(1, len(frames_) // clients)
    results: list[dict[str, Any]] = [{} for _ in range(clients)]
    errors: list[str] = []
    barrier = threading.Barrier(clients + 1)

    def one(i: int) -> None:
        try:
            barrier.wait(60)
            results[i] = post_frames(team, project, f"conc-{i}", frames_[:share])
        except Exception as e:  # reported, not raised from a thread
            errors.append(repr(e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait(60)
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    total = time.perf_counter() - t0
    if errors:
        return {"error": errors[0]}
    points = sum(r["points"] for r in results)
    return {"clients": clients, "points": points, "total_s": total, "points_per_s": points / total}


def check_complete(team: Team, project: str, run_id: str, steps: int) -> bool:
    keys = api(team, "GET", f"/api/v1/runs/{ENTITY}/{project}/{run_id}/keys")["scalars"]
    metric_keys = [k for k in keys if k != "_time"]
    if sorted(metric_keys) != sorted(key_names(NKEYS)):
        return False
    return all(
        series_count(team, project, run_id, k) == steps for k in ("train/loss", metric_keys[-1])
    )


def measure_phases(db_url: str, frames_: list[Frame], profile: bool) -> dict[str, Any]:
    """What the server does with a frame, in this process on a scratch database: decode,
    per-chunk stats and digest, and `ingest.store_chunks` (which computes those again, then
    runs the statements and commits)."""
    from nbtrack.server import accounts, ingest, security
    from nbtrack.server.db import Database, migrate
    from nbtrack.sync import frames

    migrate(db_url)
    db = Database(db_url)
    prof = cProfile.Profile() if profile else None
    try:
        key = accounts.create_user(db, "phase", PASSWORD)
        with db.write() as conn:
            uid = security.user_for_key(conn, key)
            assert uid is not None
            v = accounts.viewer(conn, uid)
            ref = accounts.project_for_writing(conn, v, "phase", "phase")
            assert ref is not None
        pk, _, _ = ingest.upsert_run(db, ref.id, "phase", uid, {"name": "phase"})
        decode_s: list[float] = []
        sd_s: list[float] = []
        store_s: list[float] = []
        for f in frames_:
            t0 = time.perf_counter()
            chunks = frames.decode(f.body)
            t1 = time.perf_counter()
            for c in chunks:
                if c.kind == "s":
                    c.stats()
                c.digest()
            t2 = time.perf_counter()
            ingest.store_chunks(db, pk, chunks)
            t3 = time.perf_counter()
            decode_s.append(t1 - t0)
            sd_s.append(t2 - t1)
            store_s.append(t3 - t2)
        if prof is not None:
            # Again into another run, under the profiler (which slows it): only where it goes.
            pk2, _, _ = ingest.upsert_run(db, ref.id, "profiled", uid, {"name": "profiled"})
            for f in frames_:
                prof.enable()
                ingest.store_chunks(db, pk2, frames.decode(f.body))
                prof.disable()
    finally:
        db.dispose()
    n = len(frames_)
    out: dict[str, Any] = {
        "frames": n,
        "points_per_frame": sum(f.points for f in frames_) / n,
        "bytes_per_frame": sum(len(f.body) for f in frames_) / n,
        "build_ms": percentile(sorted(f.build_s for f in frames_), 50) * 1e3,
        "decode_ms": percentile(sorted(decode_s), 50) * 1e3,
        "stats_digest_ms": percentile(sorted(sd_s), 50) * 1e3,
        "store_ms": percentile(sorted(store_s), 50) * 1e3,
    }
    if prof is not None:
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(16)
        out["profile"] = buf.getvalue()
    return out


# -- MLflow ---------------------------------------------------------------------------------


@contextlib.contextmanager
def mlflow_server(work: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "NBTRACK_"))}
    env.update(
        {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    )
    cmd = [
        str(MLFLOW_BIN), "server", "--backend-store-uri", f"sqlite:///{work / 'mlflow.db'}",
        "--default-artifact-root", (work / "artifacts").as_uri(), "--no-serve-artifacts",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    log = open(work / "mlflow.log", "wb")  # noqa: SIM115 (the process owns it until it ends)
    proc = subprocess.Popen(
        cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"mlflow server exited ({proc.returncode}): {_tail(work / 'mlflow.log')}"
                )
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
                conn.close()
            if time.monotonic() > deadline:
                raise TimeoutError(f"mlflow server did not answer: {_tail(work / 'mlflow.log')}")
            time.sleep(0.3)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _tail(path: Path, n: int = 600) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return ""


def mlflow_ingest(columns: dict[str, Any], points: int, max_s: float) -> dict[str, Any]:
    """The same points into MLflow's server through REST log-batch, 1,000 metrics a request."""
    if not MLFLOW_BIN.exists():
        return {"error": "not installed (bash bench/setup.sh makes bench/.venv with MLflow)"}
    keys = key_names(NKEYS)
    per_request = 1000
    steps_per_request = per_request // NKEYS
    steps = min(points // NKEYS, len(columns["train/loss"]))
    times = columns["_time"]
    bodies = []
    for s0 in range(0, steps, steps_per_request):
        metrics = [
            {"key": k, "value": float(columns[k][s]), "timestamp": int(times[s] * 1000), "step": s}
            for s in range(s0, min(steps, s0 + steps_per_request))
            for k in keys
        ]
        bodies.append(metrics)
    work = Path(tempfile.mkdtemp(prefix="nbtrack-bench-mlflow-"))
    try:
        with mlflow_server(work) as url:
            port = int(url.rsplit(":", 1)[1])
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

            def call(path: str, body: dict[str, Any]) -> Any:
                conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"MLflow {path}: {resp.status} {data[:200]!r}")
                return json.loads(data) if data else {}

            exp = call("/api/2.0/mlflow/experiments/create", {"name": "bench"})["experiment_id"]
            run = call(
                "/api/2.0/mlflow/runs/create",
                {"experiment_id": exp, "start_time": int(time.time() * 1000), "run_name": "ingest"},
            )["run"]["info"]["run_id"]
            payloads = [json.dumps({"run_id": run, "metrics": m}) for m in bodies]
            done = 0
            per: list[float] = []
            t0 = time.perf_counter()
            for body in payloads:
                t = time.perf_counter()
                conn.request(
                    "POST",
                    "/api/2.0/mlflow/runs/log-batch",
                    body,
                    {"Content-Type": "application/json"},
                )
                resp = conn.getresponse()
                data = resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"MLflow log-batch: {resp.status} {data[:200]!r}")
                per.append(time.perf_counter() - t)
                done += per_request
                if time.perf_counter() - t0 > max_s:
                    break
            total = time.perf_counter() - t0
            # Read one metric's history back: every point must be there.
            conn.request(
                "GET",
                f"/api/2.0/mlflow/metrics/get-history?run_id={run}&metric_key=train/loss&max_results=25000",
            )
            resp = conn.getresponse()
            hist = json.loads(resp.read())
            stored = len(hist.get("metrics", []))
            conn.close()
    except Exception as e:  # reported in the table, never dropped
        return {"error": f"{type(e).__name__}: {e}"[:300]}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    done = min(done, steps * NKEYS)
    return {
        "points": done,
        "requests": len(per),
        "total_s": total,
        "points_per_s": done / total,
        "request_ms": stats_s([x * 1e3 for x in per]),
        "capped": done < steps * NKEYS,
        "complete": stored == done // NKEYS,
        "version": _bench_version("mlflow"),
    }


def _bench_version(dist: str) -> str | None:
    py = BENCH_VENV / "bin" / "python"
    if not py.exists():
        return None
    proc = subprocess.run(
        [str(py), "-c", f"from importlib.metadata import version; print(version({dist!r}))"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    return proc.stdout.strip() or None


def part_ingest(size: dict[str, Any], args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from nbtrack.sync.uploader import FRAME_BYTES

    say(f"ingest: building frames of {size['ingest_steps']:,} steps x {NKEYS} keys")
    rows, columns = store_rows(size["ingest_steps"])
    backlog = build_frames(uploader_groups(rows, FRAME_BYTES))
    live_rows = rows[: size["live_requests"] * (NKEYS + 1)]
    live = build_frames([live_rows[i : i + NKEYS + 1] for i in range(0, len(live_rows), NKEYS + 1)])
    del rows
    res: dict[str, Any] = {
        "steps": size["ingest_steps"],
        "frames": len(backlog),
        "frame_points": stats_s([f.points for f in backlog]),
        "frame_bytes": stats_s([len(f.body) for f in backlog]),
        "build_s": sum(f.build_s for f in backlog),
        "live_frame_points": live[0].points if live else 0,
        "backends": {},
    }
    backends: list[tuple[str, Callable[[], contextlib.AbstractContextManager[str | None]]]] = [
        ("sqlite", lambda: contextlib.nullcontext(None))
    ]
    cluster_stack = contextlib.ExitStack()
    with cluster_stack:
        if not args.no_postgres:
            try:
                from tests.server.postgres import PostgresCluster

                say("ingest: starting PostgreSQL")
                cluster = cluster_stack.enter_context(PostgresCluster())
                res["postgres_version"] = _postgres_version(cluster.bindir)

                @contextlib.contextmanager
                def pg_db() -> Iterator[str]:
                    url = cluster.create_database()
                    try:
                        yield url
                    finally:
                        cluster.drop_database(url.rsplit("/", 1)[1])

                backends.append(("postgresql", pg_db))
            except Exception as e:  # not installed, cannot start: reported
                res["backends"]["postgresql"] = {"error": f"{type(e).__name__}: {e}"[:300]}
        for name, make_db in backends:
            out: dict[str, Any] = {}
            res["backends"][name] = out
            try:
                with (
                    make_db() as db_url,
                    team_server(work / f"server-{name}", db_url, name) as team,
                ):
                    say(f"ingest {name}: {len(backlog)} frames, one client")
                    out["backlog"] = post_frames(team, "ingest", "backlog", backlog)
                    out["backlog"]["complete"] = check_complete(
                        team, "ingest", "backlog", size["ingest_steps"]
                    )
                    bl = out["backlog"]
                    # As nbtrack sync goes: it builds a frame, sends it, waits, builds the next.
                    bl["with_build_points_per_s"] = bl["points"] / (bl["total_s"] + res["build_s"])
                    say(f"  {bl['points_per_s'] / 1e6:.2f} M points/s")
                    say(f"ingest {name}: {len(live)} live frames (one commit each)")
                    out["live"] = post_frames(team, "ingest", "live", live)
                    out["live"]["complete"] = check_complete(
                        team, "ingest", "live", len(live) * COMMIT_ROWS
                    )
                    say(f"  {out['live']['points_per_s'] / 1e6:.2f} M points/s")
                    k = size["concurrent_clients"]
                    say(f"ingest {name}: {k} clients at once")
                    out["concurrent"] = ingest_concurrent(team, "ingest", backlog, k)
                    if name == "sqlite":
                        db_files = list((work / f"server-{name}").glob("server.db*"))
                        stored = out["backlog"]["points"] + out["live"]["points"]
                        stored += out["concurrent"].get("points", 0)
                        out["disk_bytes_per_point"] = (
                            sum(p.stat().st_size for p in db_files) / stored
                        )
                with make_db() as db_url:
                    scratch = db_url or f"sqlite:///{work / f'phase-{name}.db'}"
                    say(f"ingest {name}: phases in-process")
                    out["phases"] = measure_phases(
                        scratch, backlog[: size["phase_frames"]], args.profile
                    )
                with make_db() as db_url:
                    scratch = db_url or f"sqlite:///{work / f'phase-live-{name}.db'}"
                    out["phases_live"] = measure_phases(scratch, live[:20], False)
            except Exception as e:  # one backend failing does not hide the other's figures
                out["error"] = f"{type(e).__name__}: {e}"[:300]
                say(f"  failed: {out['error']}")
    if args.no_mlflow:
        res["mlflow"] = {"error": "skipped (--no-mlflow)"}
    else:
        say(f"ingest: MLflow server, {size['mlflow_points']:,} points")
        res["mlflow"] = mlflow_ingest(columns, size["mlflow_points"], size["mlflow_max_s"])
        if "points_per_s" in res["mlflow"]:
            say(f"  {res['mlflow']['points_per_s']:,.0f} points/s")
        else:
            say(f"  {res['mlflow']['error']}")
    return res


def _postgres_version(bindir: Path) -> str:
    proc = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=False
    )
    m = re.search(r"\d+(\.\d+)*", proc.stdout)
    return m.group(0) if m else "unknown"


# =========================================================================================
# 2. log() with sync on
# =========================================================================================


def part_overhead(size: dict[str, Any], team: Team, work: Path) -> dict[str, Any]:
    rounds: list[dict[str, Any]] = []
    for r in range(size["overhead_rounds"]):
        order = ["offline", "online"] if r % 2 == 0 else ["online", "offline"]
        got: dict[str, Any] = {}
        for mode in order:
            cwd = Path(tempfile.mkdtemp(prefix=f"nbtrack-bench-{mode}-", dir=work))
            env = child_env(cwd, team if mode == "online" else None)
            spec = {
                "kind": "overhead", "mode": mode, "steps": size["overhead_steps"],
                "burst": OVERHEAD_BURST, "pause_s": OVERHEAD_PAUSE_S,
            }  # fmt: skip
            got[mode] = run_child(spec, env, cwd, timeout=300)
            shutil.rmtree(cwd, ignore_errors=True)
        on, off = got["online"], got["offline"]
        if "error" in on or "error" in off:
            return {"error": on.get("error") or off.get("error"), "rounds": rounds}
        on["server_points"] = series_count(team, "overhead", on["run_id"], "train/loss")
        rounds.append({"online": on, "offline": off, "ratio": on["median_ns"] / off["median_ns"]})
        say(
            f"overhead round {r + 1}: offline {off['median_ns']:.0f} ns, online {on['median_ns']:.0f} ns "
            f"(x{rounds[-1]['ratio']:.3f}), server has {on['server_points']:,} of {on['steps']:,}"
        )
    ratios = sorted(x["ratio"] for x in rounds)
    return {
        "rounds": rounds,
        "ratio": percentile(ratios, 50),
        "ratio_q1": percentile(ratios, 25),
        "ratio_q3": percentile(ratios, 75),
        "ratio_min": ratios[0],
        "ratio_max": ratios[-1],
        "offline_ns": percentile(sorted(x["offline"]["median_ns"] for x in rounds), 50),
        "online_ns": percentile(sorted(x["online"]["median_ns"] for x in rounds), 50),
        "offline_mean_ns": percentile(sorted(x["offline"]["mean_ns"] for x in rounds), 50),
        "online_mean_ns": percentile(sorted(x["online"]["mean_ns"] for x in rounds), 50),
        "offline_p95_ns": percentile(sorted(x["offline"]["p95_ns"] for x in rounds), 50),
        "online_p95_ns": percentile(sorted(x["online"]["p95_ns"] for x in rounds), 50),
        "online_finish_s": percentile(sorted(x["online"]["finish_s"] for x in rounds), 50),
        "offline_finish_s": percentile(sorted(x["offline"]["finish_s"] for x in rounds), 50),
        "all_on_server": all(x["online"]["server_points"] == x["online"]["steps"] for x in rounds),
        "all_syncing": all(x["online"]["syncing"] and not x["offline"]["syncing"] for x in rounds),
        "behind_at_loop_end": percentile(
            sorted(float(x["online"]["sync_state_at_loop_end"]["behind"]) for x in rounds), 50
        ),
    }


# =========================================================================================
# 3 and 4: the run page in Chromium
# =========================================================================================

# Installed before any script of the page runs: every chart's draw() is wrapped to note its
# time (performance.now(), ms from navigation) and the chart's point count (unless it says it
# drew nothing), and the time it was drawn: the animation frame after the one Bokeh painted
# it in, i.e. two frames after the draw() (for points handed over before the chart's Bokeh
# view was built: the frame after its first paint, when its Bokeh document goes idle). Every
# change of the train/loss chart's data-points is noted with the time.
PAGE_PROBE = """
(() => {
  const B = window.__nbbench = { events: [], cards: [], views: [], arrivals: [], draws: [], drawn: [] };
  const SEL = '[data-nbtrack-run] .nbtrack-chart[data-metric="train/loss"]';
  const ES = window.EventSource;
  window.EventSource = class extends ES {
    constructor(url, opts) {
      super(url, opts);
      this.addEventListener('messages', (e) => B.events.push([performance.now(), e.data.length]));
    }
  };
  const nextFrame = (fn) => requestAnimationFrame(fn);
  // A plot's first paint: its Bokeh document goes idle then (Bokeh.Plotting.show() resolves
  // on that too), in the animation frame callback that painted it. Points handed over
  // before the chart's view was built are painted then.
  const flush = (plot) => {
    if (plot.__nbshown__) return;
    plot.__nbshown__ = true;
    for (const go of plot.__nbwait__ || []) nextFrame(go);
    plot.__nbwait__ = null;
  };
  // Drawn: the animation frame after the one Bokeh painted the points in: two frames after
  // a draw() with a view, as ever; the frame after the first paint for the points handed
  // over before the view was built.
  const drawnLater = (chart, n, id) => {
    const go = () => B.drawn.push([performance.now(), n, id]);
    const plot = chart.plotModel;
    if (chart.view || !plot || plot.__nbshown__) {
      nextFrame(() => nextFrame(go));
      return;
    }
    if (!plot.__nbwait__) {
      plot.__nbwait__ = [];
      const doc = plot.document;
      if (doc && doc.idle && typeof doc.idle.connect === 'function') doc.idle.connect(() => flush(plot));
    }
    plot.__nbwait__.push(go);
  };
  let last = -1;
  const check = () => {
    for (const el of document.querySelectorAll('[data-nbtrack-run] .nbtrack-chart')) {
      const card = el.__nbtrack_card__;
      if (card && !card.__nbbench__) {
        card.__nbbench__ = true;
        B.cards.push([performance.now(), card.id]);
      }
      const chart = card && card.chart;
      if (!chart) continue;
      if (!chart.__nbbench__) {
        chart.__nbbench__ = true;
        // Points handed over as the chart was made, before it could be wrapped: noted now
        // (later than they were, never earlier).
        const src = typeof chart.sources === 'function' ? chart.sources()[0] : null;
        const n0 = +el.dataset.points;
        if (src && src.raw.data.x.length > 0 && n0) {
          B.draws.push([performance.now(), n0, card.id]);
          drawnLater(chart, n0, card.id);
        }
        const draw = chart.draw;
        chart.draw = function () {
          const t = performance.now();
          const drew = draw.call(this);
          // false: nothing handed to Bokeh; older builds return nothing, and draw only with a view.
          if (drew === false || (drew === undefined && !this.view)) return drew;
          const n = +el.dataset.points;
          if (!n) return drew;
          B.draws.push([t, n, card.id]);
          drawnLater(this, n, card.id);
          return drew;
        };
      }
      if (chart.view && !chart.__nbview__) {
        chart.__nbview__ = true;
        B.views.push([performance.now(), card.id]);
        // The view is there, so the plot has been painted (if the idle signal was missed).
        if (chart.plotModel) flush(chart.plotModel);
      }
    }
    const el = document.querySelector(SEL);
    if (el && +el.dataset.points !== last) {
      last = +el.dataset.points;
      B.arrivals.push([performance.now(), last]);
    }
  };
  new MutationObserver(check).observe(document, {
    subtree: true, childList: true, attributes: true, attributeFilter: ['data-points'],
  });
  const frame = () => { check(); requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
})();
"""


@contextlib.contextmanager
def signed_in(browser: Any, team: Team) -> Iterator[Any]:
    """A fresh browser context with the session cookie of the benchmark's user."""
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    try:
        context.add_init_script(PAGE_PROBE)
        resp = context.request.post(
            f"{team.url}/login", form={"username": ENTITY, "password": PASSWORD, "next": "/"}
        )
        if not resp.ok or not any(
            c["name"] == "nbtrack_session" for c in context.cookies(team.url)
        ):
            raise RuntimeError(f"could not sign in: HTTP {resp.status}")
        yield context
    finally:
        context.close()


def clock_offset_ms(page: Any) -> float:
    """(page's timeOrigin + now) - time.time(), in ms, from the quickest of a few round trips."""
    best: tuple[float, float] | None = None
    for _ in range(9):
        a = time.time()
        p = page.evaluate("() => performance.timeOrigin + performance.now()")
        b = time.time()
        if best is None or b - a < best[1]:
            best = (p - (a + b) / 2 * 1000, b - a)
    assert best is not None
    return best[0]


def first_holding(records: list[list[float]], i: int) -> float | None:
    """The time of the first record (time, count) whose count holds point `i`."""
    for t, n, *_ in records:
        if n > i:
            return t
    return None


def part_latency(
    size: dict[str, Any],
    team: Team,
    browser: Any,
    work: Path,
    *,
    page_url: Callable[[str], str] | None = None,
    context: Callable[[Any, Team], contextlib.AbstractContextManager[Any]] | None = None,
) -> dict[str, Any]:
    """Live latency: from `log()` to the point on the run page (or on `page_url(run_id)`, opened
    in a `context` of its own: a share link's), for `latency_points` points at 20 Hz."""
    cwd = Path(tempfile.mkdtemp(prefix="nbtrack-bench-latency-", dir=work))
    ready, go = cwd / "ready", cwd / "go"
    spec = {
        "kind": "paced", "points": size["latency_points"], "interval_s": LATENCY_INTERVAL_S,
        "ready_file": str(ready), "go_file": str(go),
    }  # fmt: skip
    result: dict[str, Any] = {}
    child = threading.Thread(
        target=lambda: result.update(run_child(spec, child_env(cwd, team), cwd, timeout=300)),
        daemon=True,
    )
    child.start()
    with (context or signed_in)(browser, team) as ctx:
        deadline = time.monotonic() + 120
        while not ready.exists():
            if time.monotonic() > deadline or not child.is_alive():
                go.touch()
                child.join(30)
                return {"error": result.get("error", "the child did not start")}
            time.sleep(0.05)
        run_id = ready.read_text()
        path = f"/api/v1/runs/{ENTITY}/latency/{run_id}"
        for _ in range(200):  # the uploader's first cycle PUTs the run
            with contextlib.suppress(Exception):
                api(team, "GET", path)
                break
            time.sleep(0.05)
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_url(run_id) if page_url else f"{team.url}/{ENTITY}/latency/runs/{run_id}")
        page.wait_for_function(
            "() => window.Bokeh && document.querySelector('[data-nbtrack-run][data-feed=\"live\"]')",
            timeout=60_000,
        )
        time.sleep(0.5)
        offset_ms = clock_offset_ms(page)
        time_origin = page.evaluate("() => performance.timeOrigin")
        go.touch()
        child.join(300)
        n = size["latency_points"]
        with contextlib.suppress(Exception):
            page.wait_for_function(
                f"() => (window.__nbbench.drawn.filter(d => d[2] === 'train/loss').pop() || [0, 0])[1] >= {n}",
                timeout=15_000,
            )
        probe = page.evaluate("() => window.__nbbench")
        page.close()
    shutil.rmtree(cwd, ignore_errors=True)
    if "error" in result:
        return {"error": result["error"]}

    # Page times (ms from its navigation) to this machine's time.time() seconds.
    def wall(t_ms: float) -> float:
        return (time_origin + t_ms - offset_ms) / 1000

    arrivals = [[wall(t), n_] for t, n_ in probe["arrivals"]]
    drawn = [[wall(t), n_] for t, n_, key in probe["drawn"] if key == "train/loss"]
    log_times = result["log_times"]
    commits = result["commits"]
    posts = result["posts"]
    lat_arrive, lat_drawn, missing = [], [], 0
    phases: dict[str, list[float]] = {
        k: [] for k in ("commit", "to_upload", "upload", "to_page", "draw")
    }
    for i, t in enumerate(log_times):
        a = first_holding(arrivals, i)
        d = first_holding(drawn, i)
        if a is None or d is None:
            missing += 1
            continue
        lat_arrive.append(a - t)
        lat_drawn.append(d - t)
        c = next((ct for ct, step in commits if step >= i), None)
        p = next(((p0, p1) for p0, p1, last in posts if last >= i), None)
        if c is None or p is None:
            continue
        phases["commit"].append(c - t)
        phases["to_upload"].append(p[0] - c)
        phases["upload"].append(p[1] - p[0])
        phases["to_page"].append(a - p[1])
        phases["draw"].append(d - a)
    return {
        "points": len(log_times),
        "missing": missing,
        "arrive_s": stats_s(lat_arrive),
        "drawn_s": stats_s(lat_drawn),
        "phases_s": {k: stats_s(v) for k, v in phases.items()},
        "commits": len(commits),
        "posts": len(posts),
        "puts": len(result["puts"]),
        "post_ms": stats_s([(b - a) * 1e3 for a, b, _ in posts]),
        "put_ms": stats_s([(b - a) * 1e3 for a, b in result["puts"]]),
        "clock_offset_ms": offset_ms,
        "page_errors": errors,
    }


def first_event(team: Team, path: str) -> dict[str, Any]:
    """How long the server takes to send a page's first SSE event of a run, and its size."""
    import httpx

    try:
        with httpx.Client(base_url=team.url, timeout=60) as c:
            c.post("/login", data={"username": ENTITY, "password": PASSWORD, "next": "/"})
            t0 = time.perf_counter()
            with c.stream("GET", path) as resp:
                got = bytearray()
                headers_s = time.perf_counter() - t0
                end = -1
                for piece in resp.iter_bytes():
                    got += piece
                    end = got.find(b"\n\n", max(0, len(got) - len(piece) - 1))
                    if end >= 0:
                        break
                first_s = time.perf_counter() - t0
            return {"headers_ms": headers_s * 1e3, "first_event_ms": first_s * 1e3, "bytes": end}
    except Exception as e:  # a diagnosis only: reported, never fatal
        return {"error": f"{type(e).__name__}: {e}"[:200]}


def sync_run(size: dict[str, Any], team: Team, work: Path) -> dict[str, Any]:
    """Log `sync_steps` x 20 keys offline, then `nbtrack sync` them to `team` as a process."""
    cwd = Path(tempfile.mkdtemp(prefix="nbtrack-bench-sync-", dir=work))
    steps = size["sync_steps"]
    say(f"sync: logging {steps:,} steps x {NKEYS} keys offline")
    logged = run_child({"kind": "offline", "steps": steps}, child_env(cwd, None), cwd, timeout=600)
    if "error" in logged:
        return {"error": logged["error"]}
    env = child_env(cwd, team)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "nbtrack.cli", "sync"], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=600, check=False,
    )  # fmt: skip
    wall_s = time.perf_counter() - t0
    if proc.returncode != 0:
        return {
            "error": f"nbtrack sync exited {proc.returncode}: {(proc.stderr or proc.stdout)[-300:]}"
        }
    m = re.search(r"uploaded \(([\d.]+) s\)", proc.stdout)
    # The same process doing nothing but start and import what `nbtrack sync` imports.
    t1 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import nbtrack.cli, nbtrack.sync.command, nbtrack.sync.uploader, nbtrack.store.db"],
        cwd=cwd, env=env, check=True, capture_output=True,
    )  # fmt: skip
    startup_s = time.perf_counter() - t1
    run_id = logged["run_id"]
    shutil.rmtree(cwd, ignore_errors=True)
    return {
        "run_id": run_id,
        "steps": steps,
        "points": steps * NKEYS,
        "log_s": logged["log_s"],
        "wall_s": wall_s,
        "upload_s": float(m.group(1)) if m else None,
        "startup_s": startup_s,
        "complete": check_complete(team, "sync", run_id, steps),
        "stdout": proc.stdout[-500:],
    }


# The charts a page load shows on screen (the context's 1400 x 1200 viewport) and, for each,
# the first time it was drawn with all of its points (null while it has not been).
ON_SCREEN = """
(steps) => {
  const full = {};
  for (const [t, n, id] of window.__nbbench.drawn) if (n >= steps && !(id in full)) full[id] = t;
  const ids = [...document.querySelectorAll('[data-nbtrack-run] .nbtrack-chart')]
    .filter((el) => { const r = el.getBoundingClientRect(); return r.height > 0 && r.bottom > 0 && r.top < innerHeight; })
    .map((el) => el.dataset.metric);
  return { ids, drawn: ids.map((id) => (id in full ? full[id] : null)) };
}
"""


def probed(browser: Any, team: Team) -> contextlib.AbstractContextManager[Any]:
    """A fresh browser context with the page probe and no sign-in (a share link's viewer)."""

    @contextlib.contextmanager
    def ctx() -> Iterator[Any]:
        context = browser.new_context(viewport={"width": 1400, "height": 1200})
        try:
            context.add_init_script(PAGE_PROBE)
            yield context
        finally:
            context.close()

    return ctx()


def page_loads(
    size: dict[str, Any],
    team: Team,
    browser: Any,
    run_id: str,
    steps: int,
    *,
    url: str | None = None,
    context: Callable[[Any, Team], contextlib.AbstractContextManager[Any]] | None = None,
) -> list[dict[str, Any]]:
    """Open the run's page (or `url`, in a `context` of its own: a share link's) `page_loads`
    times (the first cold, in a fresh context) and time, from navigation, its first chart
    drawn and every chart on screen drawn with all points."""
    loads: list[dict[str, Any]] = []
    with (context or signed_in)(browser, team) as ctx:
        for i in range(size["page_loads"]):
            page = ctx.new_page()
            page.goto(url or f"{team.url}/{ENTITY}/sync/runs/{run_id}", wait_until="commit")
            try:
                page.wait_for_function(
                    f"() => window.__nbbench && window.__nbbench.arrivals.some(a => a[1] >= {steps})"
                    " && window.__nbbench.drawn.length > 0",
                    timeout=60_000,
                )
                page.wait_for_function(
                    f"() => window.__nbbench.drawn.some(d => d[1] >= {steps})", timeout=30_000
                )
                page.wait_for_function(
                    f"(steps) => {{ const r = ({ON_SCREEN})(steps);"
                    " return r.ids.length > 0 && r.drawn.every((t) => t !== null); }",
                    arg=steps,
                    timeout=60_000,
                )
            except Exception as e:
                loads.append({"error": f"{type(e).__name__}: {e}"[:200]})
                page.close()
                continue
            probe = page.evaluate("() => window.__nbbench")
            screen = page.evaluate(ON_SCREEN, steps)
            nav = page.evaluate(
                "() => { const n = performance.getEntriesByType('navigation')[0];"
                " return n ? {response: n.responseEnd, dcl: n.domContentLoadedEventEnd} : {}; }"
            )
            page.close()
            first_data = min((t for t, n_ in probe["arrivals"] if n_ > 0), default=None)
            loads.append(
                {
                    "cold": i == 0,
                    "html_ms": nav.get("response"),
                    "dom_ms": nav.get("dcl"),
                    "first_event_ms": min((t for t, _ in probe["events"]), default=None),
                    "event_chars": [n_ for _, n_ in probe["events"]],
                    "first_data_ms": first_data,
                    "first_card_ms": min((t for t, _ in probe["cards"]), default=None),
                    "charts": len(probe["cards"]),
                    "views": len(probe["views"]),
                    "first_view_ms": min((t for t, _ in probe["views"]), default=None),
                    "last_view_ms": max((t for t, _ in probe["views"]), default=None),
                    "first_draw_ms": min(t for t, _, _ in probe["draws"]),
                    "first_drawn_ms": min(t for t, _, _ in probe["drawn"]),
                    "first_drawn_points": min(probe["drawn"])[1],
                    "all_drawn_ms": min(t for t, n_, _ in probe["drawn"] if n_ >= steps),
                    "on_screen": len(screen["ids"]),
                    "on_screen_drawn_ms": max(screen["drawn"]),
                }
            )
            say(
                f"  page load {i + 1}: first chart drawn {loads[-1]['first_drawn_ms']:.0f} ms, "
                f"all {len(screen['ids'])} on screen {loads[-1]['on_screen_drawn_ms']:.0f} ms"
            )
    return loads


def part_sync(size: dict[str, Any], team: Team, browser: Any, work: Path) -> dict[str, Any]:
    out = sync_run(size, team, work)
    if "error" in out:
        return out
    run_id = out.pop("run_id")
    out["sse"] = first_event(team, f"/{ENTITY}/sync/runs/{run_id}/events")
    say(f"sync: {out['wall_s']:.2f} s; opening the run page")
    out["page_loads"] = page_loads(size, team, browser, run_id, out["steps"])
    return out


# =========================================================================================
# Report
# =========================================================================================


def _verdict(measured: float | None, target: float, higher_is_better: bool = False) -> str:
    if measured is None or measured != measured:
        return "not measured"
    ok = measured >= target if higher_is_better else measured <= target
    return "met" if ok else "**missed**"


def _mps(x: float | None) -> str:
    return "-" if x is None else f"{x / 1e6:.2f} M/s"


def target_rows(res: dict[str, Any]) -> list[list[str]]:
    rows = []
    ing = res.get("ingest") or {}
    ml = ing.get("mlflow", {})
    for name, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        b = ing.get("backends", {}).get(name)
        if b is None:
            continue
        if "backlog" not in b:
            rows.append(
                [f"ingest >= 2M points/s, {label}", f"failed: {b.get('error')}", "not measured"]
            )
            continue
        pps = b["backlog"]["points_per_s"]
        ratio = (
            f"; MLflow {ml['points_per_s']:,.0f}/s: {pps / ml['points_per_s']:,.0f}x"
            if "points_per_s" in ml
            else ""
        )
        verdict = _verdict(pps, TARGET_INGEST, True)
        if not b["backlog"].get("complete"):
            verdict = "**incomplete**"
        rows.append(
            [
                f"ingest >= 2M points/s, {label} (one client, 8 MiB frames)",
                f"{_mps(pps)}{ratio}",
                verdict,
            ]
        )
    ov = res.get("overhead")
    if ov:
        if "error" in ov:
            rows.append(
                [
                    "log() with sync on costs what it costs offline",
                    f"failed: {ov['error']}",
                    "not measured",
                ]
            )
        else:
            rows.append(
                [
                    f"log() with sync on / offline, median of {len(ov['rounds'])} paired ratios <= {TARGET_OVERHEAD:.2f}",
                    f"x{ov['ratio']:.3f} (quartiles {ov['ratio_q1']:.3f}..{ov['ratio_q3']:.3f}, "
                    f"extremes {ov['ratio_min']:.3f}..{ov['ratio_max']:.3f}); offline {ov['offline_ns']:,.0f} ns, "
                    f"synced {ov['online_ns']:,.0f} ns",
                    _verdict(ov["ratio"], TARGET_OVERHEAD),
                ]
            )
    lat = res.get("latency")
    if lat:
        if "error" in lat:
            rows.append(
                [
                    "log() -> drawn on the run page, p95 <= 1 s",
                    f"failed: {lat['error']}",
                    "not measured",
                ]
            )
        else:
            d = lat["drawn_s"]
            rows.append(
                [
                    "log() -> drawn on a remote viewer's run page, p95 <= 1 s",
                    f"p50 {d['p50'] * 1e3:.0f} / p95 {d['p95'] * 1e3:.0f} / max {d['max'] * 1e3:.0f} ms "
                    f"(W&B sends every {WANDB_INTERVAL_S} s)",
                    _verdict(d["p95"], TARGET_LATENCY_P95_S)
                    if not lat["missing"]
                    else "**points missing**",
                ]
            )
    sy = res.get("sync")
    if sy:
        if "error" in sy:
            rows.append(
                ["nbtrack sync of 1M points <= 5 s", f"failed: {sy['error']}", "not measured"]
            )
        else:
            rows.append(
                [
                    f"nbtrack sync of {sy['points']:,} points <= 5 s (the whole process)",
                    f"{sy['wall_s']:.2f} s (upload {fmt(sy['upload_s'])} s)",
                    _verdict(sy["wall_s"], TARGET_SYNC_S) if sy["complete"] else "**incomplete**",
                ]
            )
            rows.append(first_chart_row(sy["page_loads"]))
    return rows


def first_chart_row(loads: list[dict[str, Any]]) -> list[str]:
    """The target's row for the run page's loads: first chart drawn, cold and warm."""
    ok = [x for x in loads if "first_drawn_ms" in x]
    cold = next((x["first_drawn_ms"] for x in ok if x["cold"]), None)
    warm = sorted(x["first_drawn_ms"] for x in ok if not x["cold"])
    shown = f"cold {fmt(cold)} ms" + (
        f", warm {percentile(warm, 50):,.0f} ms (median of {len(warm)})" if warm else ""
    )
    screen = sorted(x["on_screen_drawn_ms"] for x in ok if "on_screen_drawn_ms" in x)
    if screen:
        n = max(x["on_screen"] for x in ok if "on_screen" in x)
        shown += f"; all {n} charts on screen drawn: median {percentile(screen, 50):,.0f} ms"
    failed = len(loads) - len(ok)
    if failed:
        shown += f"; {failed} load(s) failed"
    worst = max([cold or 0.0, *warm]) / 1e3 if ok else None
    verdict = _verdict(worst, TARGET_FIRST_CHART_S) if not failed else "**loads failed**"
    return ["its run page: first chart drawn <= 1 s from navigation", shown, verdict]


def build_report(res: dict[str, Any]) -> str:
    """The docs section of a run's results (`res` as main() keeps them, or as a results file
    holds them, with the run page's loads of a later ``--only first-chart`` put in)."""
    command = res.get("command") or command_line()
    out: list[str] = [f"Command: `{command}`", ""]
    out += res.get("machine") or ["- (the results file of this run kept no machine lines)"]
    extra = []
    ing = res.get("ingest") or {}
    if ing.get("postgres_version"):
        extra.append(f"PostgreSQL {ing['postgres_version']} (fsync on, as the test cluster)")
    if ing.get("mlflow", {}).get("version"):
        extra.append(f"MLflow {ing['mlflow']['version']} (bench/.venv)")
    if res.get("chromium"):
        extra.append(f"Chromium {res['chromium']}")
    if extra:
        out.append("- Also: " + ", ".join(extra))
    out.append(f"- Whole benchmark: {res['wall_s']:.0f} s")
    if res.get("quick", "--quick" in command):
        out.append("- **--quick**: tiny sizes; figures are indicative only.")
    again = res.get("first_chart_again")
    if again:
        out.append(
            "- **The run page's loads were measured again, alone**: the last target's row, "
            "section 4's table of page loads and the server's first event below are from "
            f"`{again['command']}` (its own run of {again['points']:,} points, logged offline and "
            f"synced the same way); everything else is from the run above ({again['base']}). "
            "That run:"
        )
        out += [f"  {line}" for line in again["machine"]]
        if again.get("chromium"):
            out.append(f"  - Chromium {again['chromium']}")
    out.append("")
    out.append("### Targets")
    out.append("")
    out.append(md_table(["target", "measured", "verdict"], target_rows(res)))
    out.append("")
    if ing:
        out += _ingest_section(ing)
    ov = res.get("overhead")
    if ov and "error" not in ov:
        out += _overhead_section(ov)
    lat = res.get("latency")
    if lat and "error" not in lat:
        out += _latency_section(lat)
    sy = res.get("sync")
    if sy and "error" not in sy:
        out += _sync_section(sy)
    return "\n".join(out)


def _ingest_section(ing: dict[str, Any]) -> list[str]:
    out = [f"### 1. Ingest: {ing['steps']:,} steps x {NKEYS} keys through `nbtrack server`", ""]
    fp, fb = ing["frame_points"], ing["frame_bytes"]
    out.append(
        f"Frames as the uploader builds them from the writer's 0.5 s commits of a 1,000 steps/s "
        f"loop ({COMMIT_ROWS} rows a key a commit): {ing['frames']} frame(s) of up to 8 MiB of "
        f"blobs, {fp['p50']:,.0f} points each ({fb['p50'] / 2**20:.1f} MiB on the wire); "
        f"building them took the client {ing['build_s']:.2f} s in all (not in the figures "
        f"below). A live run sends one commit a request: {ing['live_frame_points']:,} points."
    )
    out.append("")
    rows = []
    for name, b in ing["backends"].items():
        if "error" in b and "backlog" not in b:
            rows.append([name, f"failed: {b['error']}", "-", "-", "-", "-"])
            continue
        for label, key in (("backlog, 1 client", "backlog"), ("live-sized, 1 client", "live")):
            r = b.get(key)
            if not r:
                continue
            rm = r["request_ms"]
            rows.append(
                [
                    f"nbtrack server, {name}: {label}",
                    f"{r['points']:,}",
                    f"{r['requests']:,}",
                    _mps(r["points_per_s"]),
                    f"{rm['p50']:.1f} / {rm['p95']:.1f}",
                    "yes" if r.get("complete", True) else "**no**",
                ]
            )
        c = b.get("concurrent")
        if c:
            if "error" in c:
                rows.append(
                    [
                        f"nbtrack server, {name}: concurrent",
                        f"failed: {c['error']}",
                        "-",
                        "-",
                        "-",
                        "-",
                    ]
                )
            else:
                rows.append(
                    [
                        f"nbtrack server, {name}: {c['clients']} clients at once, a run each",
                        f"{c['points']:,}",
                        "-",
                        _mps(c["points_per_s"]),
                        "-",
                        "-",
                    ]
                )
    ml = ing.get("mlflow", {})
    if "error" in ml:
        rows.append(
            ["MLflow server (sqlite), log-batch", f"failed: {ml['error']}", "-", "-", "-", "-"]
        )
    elif ml:
        rm = ml["request_ms"]
        note = " (time cap)" if ml["capped"] else ""
        rows.append(
            [
                "MLflow server (sqlite), log-batch of 1,000",
                f"{ml['points']:,}{note}",
                f"{ml['requests']:,}",
                f"{ml['points_per_s']:,.0f} /s",
                f"{rm['p50']:.1f} / {rm['p95']:.1f}",
                "yes" if ml["complete"] else "**no**",
            ]
        )
    out.append(
        md_table(
            [
                "server, feed",
                "points",
                "requests",
                "points/s",
                "request ms p50 / p95",
                "all stored",
            ],
            rows,
        )
    )
    out.append("")
    e2e = [
        f"{name} {_mps(b['backlog']['with_build_points_per_s'])}"
        for name, b in ing["backends"].items()
        if "backlog" in b
    ]
    if e2e:
        out.append(
            "With the client's frame building counted too, one frame after the other as the "
            f"uploader and `nbtrack sync` go (no overlap): {', '.join(e2e)}."
        )
        out.append("")
    sq = ing["backends"].get("sqlite", {})
    if "disk_bytes_per_point" in sq:
        out.append(
            f"SQLite's database file (and its WAL) holds {sq['disk_bytes_per_point']:.1f} bytes a point."
        )
        out.append("")
    prow = []
    for (name, b), kind in [(x, k) for x in ing["backends"].items() for k in ("backlog", "live")]:
        ph = b.get("phases" if kind == "backlog" else "phases_live")
        if not ph:
            continue
        http_ms = b[kind]["request_ms"]["p50"] if kind in b else None
        prow.append(
            [
                f"{name}, {kind}",
                f"{ph['points_per_frame']:,.0f}",
                ph["build_ms"],
                ph["decode_ms"],
                ph["stats_digest_ms"],
                ph["store_ms"],
                http_ms,
            ]
        )
    if prow:
        out.append(
            "Where a frame's time goes (median ms a frame, timed in this process on a scratch database; *store_chunks* computes the stats and digests again, then runs the statements and commits; the last column is the request over HTTP, for comparison):"
        )
        out.append("")
        out.append(
            md_table(
                [
                    "backend, frames",
                    "points a frame",
                    "client: build",
                    "decode",
                    "stats + digest",
                    "store_chunks",
                    "HTTP request (p50)",
                ],
                prow,
            )
        )
        out.append("")
    return out


def _overhead_section(ov: dict[str, Any]) -> list[str]:
    rounds = ov["rounds"]
    r0 = rounds[0]["online"]
    ratios = ", ".join(f"{x['ratio']:.3f}" for x in rounds)
    out = [
        f"### 2. log() with sync on: {len(rounds)} paired rounds of {r0['steps']:,} steps of 4 scalars",
        "",
    ]
    out.append(
        md_table(
            ["", "offline (NBTRACK_MODE=offline)", "logged in to the live server"],
            [
                ["log() median ns (median over rounds)", ov["offline_ns"], ov["online_ns"]],
                ["log() p95 ns", ov["offline_p95_ns"], ov["online_p95_ns"]],
                ["log() mean ns", ov["offline_mean_ns"], ov["online_mean_ns"]],
                ["finish() s", ov["offline_finish_s"], ov["online_finish_s"]],
            ],
        )
    )
    out.append("")
    out.append(
        f"Per-round ratio (sync on / offline) of the medians: {ratios}. "
        f"Every online run's {r0['steps']:,} points were on the server after finish(): "
        f"{'yes' if ov['all_on_server'] else '**no**'}; the online children synced and the offline ones "
        f"did not: {'yes' if ov['all_syncing'] else '**no**'}; when the loop ended, the uploader was "
        f"{ov['behind_at_loop_end']:,.0f} of {4 * r0['steps']:,} points behind (median), so it uploaded "
        f"during the loop. A 1 ms pause every {OVERHEAD_BURST} steps "
        "(a training step leaves the GIL while its kernels run) gives the writer and the uploader their "
        "turns during the loop."
    )
    out.append("")
    return out


def _latency_section(lat: dict[str, Any]) -> list[str]:
    out = [
        f"### 3. log() -> the point on a remote viewer's run page: {lat['points']} points at 20 Hz",
        "",
    ]
    rows = []
    for label, key in (
        ("in the page's series (data-points)", "arrive_s"),
        ("drawn (2 frames after the chart's draw())", "drawn_s"),
    ):
        s = lat[key]
        rows.append([label, s["p50"] * 1e3, s["p95"] * 1e3, s["max"] * 1e3])
    names = {
        "commit": "phase: log() -> the writer's commit",
        "to_upload": "phase: commit -> the uploader's request starts",
        "upload": "phase: the request (POST chunks)",
        "to_page": "phase: reply -> in the page (SSE)",
        "draw": "phase: in the page -> drawn",
    }
    for k, label in names.items():
        s = lat["phases_s"][k]
        if s.get("n"):
            rows.append([label, s["p50"] * 1e3, s["p95"] * 1e3, s["max"] * 1e3])
    out.append(md_table(["log() ->", "p50 ms", "p95 ms", "max ms"], rows))
    out.append("")
    out.append(
        f"{lat['commits']} commits, {lat['posts']} chunk uploads (p50 {lat['post_ms']['p50']:.1f} ms) and "
        f"{lat['puts']} run updates (p50 {lat['put_ms']['p50']:.1f} ms) in the child; "
        f"{lat['missing']} points never seen in the page; page errors: {len(lat['page_errors'])}. "
        f"For context: W&B's client sends its history every {WANDB_INTERVAL_S} s, so a point "
        "reaches its run page up to that much later (not run here)."
    )
    out.append("")
    return out


def _sync_section(sy: dict[str, Any]) -> list[str]:
    out = [
        f"### 4. `nbtrack sync` of {sy['points']:,} points logged offline, then the run page",
        "",
    ]
    out.append(
        f"Logged offline in {sy['log_s']:.2f} s ({sy['steps']:,} steps x {NKEYS} keys). `nbtrack sync` "
        f"took {sy['wall_s']:.2f} s as a process, of which the upload it reports {fmt(sy['upload_s'])} s; "
        f"starting Python and importing what it imports takes {sy['startup_s']:.2f} s. All points on the "
        f"server: {'yes' if sy['complete'] else '**no**'}."
    )
    out.append("")
    out += page_load_lines(sy["page_loads"], sy.get("sse") or {})
    return out


def page_load_lines(loads: list[dict[str, Any]], sse: dict[str, Any]) -> list[str]:
    """The table of the run page's loads, and what it needs said."""
    out: list[str] = []
    rows = []
    for x in loads:
        if "error" in x:
            rows.append(["failed", x["error"], *["-"] * 10])
            continue
        rows.append(
            [
                "cold (first)" if x["cold"] else "warm",
                x["html_ms"],
                x["dom_ms"],
                x["first_event_ms"],
                x["first_data_ms"],
                x["first_card_ms"],
                f"{x.get('views', x['charts'])}: {x['first_view_ms']:.0f} / {x['last_view_ms']:.0f}",
                x["first_drawn_ms"],
                f"{x['first_drawn_points']:,}",
                f"{x['on_screen']}: {x['on_screen_drawn_ms']:,.0f}" if "on_screen" in x else "-",
                x["all_drawn_ms"],
            ]
        )
    out.append(
        md_table(
            [
                "page load",
                "HTML",
                "DOMContentLoaded",
                "first SSE event",
                "points in the store",
                "first chart card",
                "Bokeh views built: first / last",
                "**first chart drawn**",
                "its points",
                "charts on screen: all drawn",
                "a chart with all points drawn",
            ],
            rows,
        )
    )
    out.append("")
    if "first_event_ms" in sse:
        out.append(
            f"The server alone (a Python client, signed in, on the same stream): its first event came "
            f"{sse['first_event_ms']:.0f} ms after the request ({sse['bytes'] / 2**20:.1f} MiB; "
            f"headers after {sse['headers_ms']:.0f} ms)."
        )
        out.append("")
    events = next((x["event_chars"] for x in loads if "event_chars" in x), [])
    charts = next((x["charts"] for x in loads if "charts" in x), 0)
    out.append(
        "ms from the navigation's start (`performance.now()`). *drawn* is two animation frames "
        "after a chart's draw() handed Bokeh data (for data handed over before its Bokeh view was "
        "built: the frame after its first paint). *Charts on screen* are those in the 1400 x 1200 "
        "viewport once all are drawn; the Bokeh views column counts the charts built by then (a "
        f"chart far below is built when it comes near). The page has {charts} charts; the run's "
        f"history came in {len(events)} SSE event(s) of "
        f"{', '.join(f'{n / 2**20:.1f}' for n in events)} MiB of JSON "
        "(events of up to 8 MiB of stored blobs, base64), so the first draw may hold part of it."
    )
    out.append("")
    return out


# =========================================================================================
# Main
# =========================================================================================


def newest_full_results() -> tuple[Path, dict[str, Any]] | None:
    """The newest results file of a run of every part (what the docs section shows)."""
    for path in sorted(RESULTS.glob("sync-*.json"), reverse=True):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not data.get("only") and all(k in data for k in PARTS):
            return path, data
    return None


def first_chart_alone(size: dict[str, Any]) -> dict[str, Any]:
    """``--only first-chart``: a run of `sync_steps` x 20 keys logged offline and synced to a
    fresh server (as part 4 does), then its page loads; nothing else."""
    res: dict[str, Any] = {"only": "first-chart", "loadavg": loadavg()}
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="nbtrack-bench-sync-"))
    try:
        with team_server(work / "server-live") as team:
            from _browser import CHROMIUM, chromium

            if not Path(CHROMIUM).exists():
                res["first_chart"] = {"error": f"Chromium not found at {CHROMIUM}"}
            else:
                with chromium() as browser:
                    res["chromium"] = browser.version
                    out = sync_run(size, team, work)
                    if "error" not in out:
                        run_id = out.pop("run_id")
                        out["sse"] = first_event(team, f"/{ENTITY}/sync/runs/{run_id}/events")
                        say("first chart: opening the run page")
                        out["page_loads"] = page_loads(size, team, browser, run_id, out["steps"])
                    res["first_chart"] = out
    finally:
        shutil.rmtree(work, ignore_errors=True)
    res["wall_s"] = time.perf_counter() - started
    return res


def first_chart_report(res: dict[str, Any]) -> str:
    out = [f"Command: `{res['command']}`", "", *res["machine"]]
    if res.get("chromium"):
        out.append(f"- Also: Chromium {res['chromium']}")
    out += [f"- Whole benchmark: {res['wall_s']:.0f} s", ""]
    fc = res["first_chart"]
    if "error" in fc:
        return "\n".join([*out, f"failed: {fc['error']}"])
    out.append(md_table(["target", "measured", "verdict"], [first_chart_row(fc["page_loads"])]))
    out.append("")
    out += page_load_lines(fc["page_loads"], fc.get("sse") or {})
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    p.add_argument(
        "--parts", default=",".join(PARTS), help="comma-separated subset of: " + ", ".join(PARTS)
    )
    p.add_argument(
        "--only",
        choices=["first-chart"],
        help="one measurement alone. first-chart: part 4's run page loads (the run logged\n"
        "offline and synced first, as part 4 does). With the docs written, its figures\n"
        "replace the page loads of the newest full run's results file in the section\n"
        "(which says so); with no such file, only bench/results/ gets them",
    )
    p.add_argument(
        "--page-loads", type=int, help="how many times to load the run page (4; 1 with --quick)"
    )
    p.add_argument("--no-postgres", action="store_true", help="ingest into SQLite only")
    p.add_argument("--no-mlflow", action="store_true", help="leave MLflow out")
    p.add_argument("--profile", action="store_true", help="cProfile the in-process ingest phases")
    p.add_argument("--docs", type=Path, default=REPO / "docs" / "benchmarks.md")
    p.add_argument("--no-docs", action="store_true", help="print only; write no file")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker_main(json.loads(args.worker))
        return 0
    parts = [x.strip() for x in args.parts.split(",") if x.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        p.error(f"unknown part(s): {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    size = dict(SIZES["quick" if args.quick else "full"])
    if args.page_loads is not None:
        if args.page_loads < 1:
            p.error("--page-loads must be at least 1")
        size["page_loads"] = args.page_loads
    if args.only == "first-chart":
        return main_first_chart(args, size)
    started = time.perf_counter()
    res: dict[str, Any] = {"loadavg": loadavg()}
    work = Path(tempfile.mkdtemp(prefix="nbtrack-bench-sync-"))
    try:
        if "ingest" in parts:
            res["ingest"] = part_ingest(size, args, work)
        if any(x in parts for x in ("overhead", "latency", "sync")):
            with team_server(work / "server-live") as team:
                if "overhead" in parts:
                    say(f"overhead: {size['overhead_rounds']} paired rounds")
                    res["overhead"] = part_overhead(size, team, work)
                if "latency" in parts or "sync" in parts:
                    from _browser import CHROMIUM, chromium

                    if not Path(CHROMIUM).exists():
                        msg = f"Chromium not found at {CHROMIUM}"
                        for part in ("latency", "sync"):
                            if part in parts:
                                res[part] = {"error": msg}
                    else:
                        with chromium() as browser:
                            res["chromium"] = browser.version
                            if "latency" in parts:
                                say(f"latency: {size['latency_points']} points at 20 Hz")
                                res["latency"] = part_latency(size, team, browser, work)
                            if "sync" in parts:
                                res["sync"] = part_sync(size, team, browser, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    res["wall_s"] = time.perf_counter() - started
    res["command"] = command_line()
    res["machine"] = machine_lines(PACKAGES, res.get("loadavg"))
    res["quick"] = args.quick
    report = build_report(res)
    print(report)
    for name, b in (res.get("ingest") or {}).get("backends", {}).items():
        prof = (b.get("phases") or {}).get("profile")
        if prof:
            print(f"\ncProfile of the in-process store_chunks calls, {name}:\n{prof}")
    if not args.no_docs:
        write_docs_section("Sync and team server", "bench:sync", report, args.docs)
        RESULTS.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        (RESULTS / f"sync-{stamp}.json").write_text(json.dumps(res, indent=1, default=str))
        say(f"wrote {args.docs} and bench/results/sync-{stamp}.json")
    return 0


def main_first_chart(args: argparse.Namespace, size: dict[str, Any]) -> int:
    res = first_chart_alone(size)
    res["command"] = command_line()
    res["machine"] = machine_lines(PACKAGES, res.get("loadavg"))
    res["quick"] = args.quick
    print(first_chart_report(res))
    if args.no_docs:
        return 0
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"sync-first-chart-{stamp}.json").write_text(json.dumps(res, indent=1, default=str))
    fc = res["first_chart"]
    base = newest_full_results()
    if "error" in fc or any("error" in x for x in fc["page_loads"]):
        say(
            f"wrote bench/results/sync-first-chart-{stamp}.json; the docs are left as they are (a load failed)"
        )
        return 1
    if base is None or args.quick != base[1].get("quick", "--quick" in base[1].get("command", "")):
        say(
            f"wrote bench/results/sync-first-chart-{stamp}.json; no results file of a full run "
            f"{'with' if args.quick else 'without'} --quick to put it in, so the docs are left as they are"
        )
        return 0
    path, merged = base
    merged["sync"]["page_loads"] = fc["page_loads"]
    merged["sync"]["sse"] = fc["sse"]
    merged["first_chart_again"] = {
        "command": res["command"],
        "machine": res["machine"],
        "chromium": res.get("chromium"),
        "points": fc["points"],
        "base": f"bench/results/{path.name}",
    }
    write_docs_section("Sync and team server", "bench:sync", build_report(merged), args.docs)
    say(
        f"wrote {args.docs} (page loads into {path.name}'s figures) and bench/results/sync-first-chart-{stamp}.json"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

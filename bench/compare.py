"""The compare view's benchmark (issue "compare view"): 200 runs x 10 metrics x 10,000 steps.

    .venv/bin/python bench/compare.py                    # peers at full size, writes the docs
    .venv/bin/python bench/compare.py --quick --no-docs  # 200 x 10 x 1,000, one page load each
    .venv/bin/python bench/compare.py --peers tensorboard --runs 50 --no-docs

The driver runs in the project's venv (Playwright; JupyterLab for nbtrack's half); the peers'
writers and servers come from bench/.venv (``bash bench/setup.sh``), Chromium is Debian's. Every
server listens on 127.0.0.1 on a free port and is stopped at the end.

1. The project: `runs` runs, each with a config drawn from a seeded generator (``lr``
   log-uniform in 1e-5..1e-1, ``batch_size`` in {16, 32, 64, 128}, ``optimizer`` in {adam,
   sgd, adamw}, ``dropout`` in 0..0.5) and `metrics` series of `steps` steps whose shape follows
   the config (the loss falls faster and lower near the optimizer's best learning rate, far
   above it the run diverges, small batches are noisier, low dropout overfits: val/loss turns
   up late). The same numbers go to three stores, each written once and cached under
   ``--cache-dir`` in a folder named by the sizes, the seed and `GENERATOR` (delete it, or pass
   ``--regenerate``, to write them again):

   - nbtrack: ``nbtrack.init(config=...)``, one ``run.log({10 metrics}, step=i)`` a step,
     ``finish()``; the runs split between two processes (one a core).
   - TensorBoard: one logdir a run, through ``torch.utils.tensorboard.SummaryWriter``'s event
     file writer: one event a step holding the step's 10 scalars (``Summary.Value`` with
     ``simple_value``, what ``add_scalar`` writes one value at a time; ``--tb-writer
     add_scalar`` makes ``add_scalar`` write them, 7x slower here), and the config as an hparams
     summary; two processes.
   - MLflow on SQLite: experiment, runs, params and end state through ``MlflowClient``; run 0's
     metrics through ``MlflowClient.log_batch`` (1,000 a call), the others' rows inserted with
     ``executemany`` into the two tables ``log_batch`` writes (``metrics``, ``latest_metrics``),
     then run 0's rows are checked to be exactly what the bulk path would have written.
     ``log_batch`` takes about 0.18 s per 1,000 points here (SQLAlchemy's ORM), an hour for
     20 M points; ``--mlflow-writer log_batch`` does it anyway.

2. The peers in headless Chromium, a fresh browser context a load (cold: nothing cached),
   then a reload in the same context (warm: the HTTP cache holds the app's static files), the
   median of ``--loads`` (3; 1 with ``--quick``) of each:

   - TensorBoard (``tensorboard --logdir``; its Rust data server when installed), once it
     serves every run's last step: its time series dashboard filtered to the one tag
     (``/?tagFilter=^train/loss$#timeseries``), so that one card overlays every run. Drawn: the
     card has left its loading state and the opaque pixels of its chart's canvas (the lines:
     WebGL, drawn by a worker on an OffscreenCanvas; the page reads the committed frame back
     through ``drawImage``; axes and grid are SVG) have reached 95% of where they settle
     (unchanged for STABLE_MS). TensorBoard keeps at most 1,000 points a series
     (``--samples_per_plugin``, reservoir sampling): the page gets those.
   - MLflow (``mlflow server`` on the SQLite store, its default workers): the compare page of
     all the runs (``#/compare-runs?runs=[...]&experiments=[...]``: parallel coordinates, then
     the parameter and metric table), drawn when Plotly has laid out its parallel coordinates
     with a line a run; and the chart of one metric for all the runs, the metric page the
     compare table's metric names link to (``#/metric?runs=[...]&metric="train/loss"...``, the
     form of MLflow's own ``getMetricPageRoute``), drawn when the Plotly chart has a trace with
     points for every run and every trace's line is in its SVG.

   Each page gets the probe before its own scripts: every POLL_MS, on animation frames, it
   reports a change of the page's "ink" (pixels, runs) with the page's clock as a console
   message, so the driver never evaluates in a page that may be busy for minutes. Bytes: the
   page's requests from Chrome's network events through CDP (``Network.loadingFinished``'s
   ``encodedDataLength``: bytes on the wire, headers included; ``Network.dataReceived``: the
   decoded size) finished by the time the chart was drawn, split into the app's static files
   and its data (XHR/fetch) requests. A cold load that never draws is not reloaded or
   repeated; one slower than SLOW_S is loaded once.

3. nbtrack: `measure_nbtrack` (the compare view's half, not written yet) gets the same store.

Results go to docs/benchmarks.md (section "Compare view") and bench/results/compare-*.json.
Every wait is bounded: a peer that never draws is reported with the reason, not waited on.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
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
    dir_bytes,
    fmt,
    loadavg,
    machine_lines,
    md_table,
    percentile,
    write_docs_section,
)

BENCH_VENV = REPO / "bench" / ".venv"
BENCH_PY = BENCH_VENV / "bin" / "python"
RESULTS = REPO / "bench" / "results"
PACKAGES = ("nbtrack", "numpy", "playwright", "jupyterlab")
PEERS = ("tensorboard", "mlflow")
PEER_PACKAGES = ("tensorboard", "tensorboard-data-server", "torch", "mlflow")

# Bump when the generated numbers change, so a cache of the old ones is not reused.
GENERATOR = 1
PROJECT = "compare"
CHART_METRIC = "train/loss"
BASE_METRICS = (
    "train/loss", "train/acc", "val/loss", "val/acc", "train/lr", "train/grad_norm",
    "val/top5_acc", "val/f1", "train/samples_per_s", "sys/gpu_util",
)  # fmt: skip
T0 = 1_780_000_000.0  # the first run's start (s since the epoch); run i starts i x 10 min later

# Targets of the issue, for nbtrack's rows.
TARGET_DRAWN_S = 2.0
TARGET_BYTES = 5e6
TARGET_FRAME_MS = 16.0

# Bounds on every wait.
LOAD_TIMEOUT_S = 900.0  # a page until its chart is drawn (MLflow's metric page takes ~8 min here)
SERVER_START_S = 240.0
TB_INGEST_S = 1800.0  # TensorBoard reading the logdir
SETTLE_S = 1.5  # after drawn: what else the page fetches


def say(msg: str) -> None:
    print(f"[compare {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# =========================================================================================
# The project: configs and curves
# =========================================================================================


@dataclass(frozen=True)
class Spec:
    runs: int
    metrics: int
    steps: int
    seed: int = 0

    @property
    def points(self) -> int:
        return self.runs * self.metrics * self.steps

    def key(self) -> str:
        return f"r{self.runs}-m{self.metrics}-s{self.steps}-seed{self.seed}-g{GENERATOR}"


def metric_names(n: int) -> list[str]:
    extra = [f"extra/metric_{i}" for i in range(max(0, n - len(BASE_METRICS)))]
    return [*BASE_METRICS, *extra][:n]


def run_name(i: int) -> str:
    return f"run-{i:03d}"


def run_config(spec: Spec, i: int) -> dict[str, Any]:
    import numpy as np

    rng = np.random.default_rng([spec.seed, i, 0])
    return {
        "lr": float(f"{10 ** rng.uniform(-5, -1):.3g}"),
        "batch_size": int(rng.choice([16, 32, 64, 128])),
        "optimizer": str(rng.choice(["adam", "sgd", "adamw"])),
        "dropout": round(float(rng.uniform(0.0, 0.5)), 3),
        "seed": i,
    }


def run_series(spec: Spec, i: int) -> tuple[Any, Any]:
    """(values, wall times): a (metrics, steps) float64 array in `metric_names` order and the
    wall time (s) of each step. Deterministic in (spec, i)."""
    import numpy as np

    cfg = run_config(spec, i)
    rng = np.random.default_rng([spec.seed, i, 1])
    n = spec.steps
    x = np.arange(n) / max(1, n - 1)  # training progress, 0..1
    lr, bs, opt, drop = cfg["lr"], cfg["batch_size"], cfg["optimizer"], cfg["dropout"]
    best = -1.7 if opt == "sgd" else -3.0  # log10 of the best learning rate
    off = math.log10(lr) - best  # > 0: too high, < 0: too low
    rate = 8.0 * min(3.0, 10 ** (0.7 * off)) * (64 / bs) ** 0.3 * (0.6 if opt == "sgd" else 1.0)
    floor = 0.12 + 0.09 * off**2 + 0.1 * bs / 128 + 0.2 * drop
    if opt == "adamw":
        floor -= 0.03
    start = 2.3
    noise_sd = 0.03 * (128 / bs) ** 0.5
    diverged = off > 1.6
    if diverged:
        # Too high a learning rate: a brief fall, then a climb to a noisy plateau with spikes.
        clean = start - 0.6 * np.exp(-x * 40) * (1 - np.exp(-x * 400)) + 0.4 * (1 - np.exp(-x * 5))
        clean += np.where(rng.random(n) < 0.01, rng.exponential(1.5, n), 0.0)
        noise_sd *= 3
    else:
        clean = floor + (start - floor) * np.exp(-x * rate)
    loss = np.abs(clean * (1 + noise_sd * rng.standard_normal(n)))
    overfit = 0.8 * (0.5 - drop) * np.clip(x - 0.3, 0, None) ** 2 * (0.6 if opt == "adamw" else 1)
    val_clean = clean + 0.04 + overfit
    val_loss = np.abs(val_clean * (1 + noise_sd / 2 * rng.standard_normal(n)))

    def acc(loss_: Any) -> Any:
        return np.clip(0.1 + 0.88 * (1 - np.clip(loss_ / start, 0, 1) ** 0.7), 0, 1)

    train_acc = np.clip(acc(clean) + 0.02 * (128 / bs) ** 0.5 * rng.standard_normal(n), 0, 1)
    val_acc = np.clip(acc(val_clean) + 0.005 * rng.standard_normal(n), 0, 1)
    warm = np.clip(x / 0.02, 0, 1)
    sched = lr * warm * 0.5 * (1 + np.cos(np.pi * x))
    grad = (0.5 + 5 * np.exp(-4 * x)) * np.exp(0.25 * rng.standard_normal(n)) * (1 + max(0, off))
    top5 = np.clip(1 - (1 - val_acc) ** 2.2, 0, 1)
    f1 = np.clip(val_acc * 0.97 - 0.01 + 0.004 * rng.standard_normal(n), 0, 1)
    sps = 2600 * (bs / 128) ** 0.8 * (1 + 0.03 * rng.standard_normal(n))
    gpu = np.clip(55 + 38 * (bs / 128) ** 0.5 + 3 * rng.standard_normal(n), 0, 100)
    cols = [loss, train_acc, val_loss, val_acc, sched, grad, top5, f1, sps, gpu]
    for _ in range(max(0, spec.metrics - len(cols))):
        cols.append(np.cumsum(rng.standard_normal(n)) * 0.01)
    values = np.stack(cols[: spec.metrics])
    step_s = bs / 2600 / (bs / 128) ** 0.8  # seconds a step at the mean throughput
    wall = T0 + i * 600.0 + np.cumsum(step_s * (1 + 0.03 * rng.standard_normal(n)))
    return values, wall


# =========================================================================================
# Writers: each runs in a child process (nbtrack's in this venv, the peers' in bench/.venv)
# =========================================================================================


def write_nbtrack(spec: Spec, out: Path, runs: Sequence[int]) -> dict[str, Any]:
    import nbtrack

    names = metric_names(spec.metrics)
    ids: dict[str, str] = {}
    for i in runs:
        values, _ = run_series(spec, i)
        rows = values.T.tolist()
        run = nbtrack.init(
            project=PROJECT, name=run_name(i), dir=out, config=run_config(spec, i), display=False
        )
        log = run.log
        for step, row in enumerate(rows):
            log(dict(zip(names, row, strict=True)), step=step)
        run.finish(quiet=True)
        ids[run_name(i)] = run.id
    return {"run_ids": ids}


def write_tensorboard(spec: Spec, out: Path, runs: Sequence[int], mode: str) -> dict[str, Any]:
    from tensorboard.compat.proto.summary_pb2 import Summary
    from torch.utils.tensorboard import SummaryWriter
    from torch.utils.tensorboard.summary import hparams

    names = metric_names(spec.metrics)
    for i in runs:
        values, wall = run_series(spec, i)
        writer = SummaryWriter(log_dir=str(out / run_name(i)), max_queue=1000, flush_secs=60)
        if mode == "add_scalar":
            cols = values.T.tolist()
            walls = wall.tolist()
            add = writer.add_scalar
            for step, row in enumerate(cols):
                for name, v in zip(names, row, strict=True):
                    add(name, v, step, walltime=walls[step])
        else:
            fw = writer._get_file_writer()  # the writer add_scalar itself writes through
            cols = values.T.tolist()
            walls = wall.tolist()
            for step, row in enumerate(cols):
                summ = Summary(
                    value=[
                        Summary.Value(tag=k, simple_value=v)
                        for k, v in zip(names, row, strict=True)
                    ]
                )
                fw.add_summary(summ, step, walls[step])
        # The config as TensorBoard's hparams (its HParams dashboard), in the run's own file.
        cfg = run_config(spec, i)
        exp, ssi, sei = hparams(cfg, {"val/loss": float(values[2 if spec.metrics > 2 else 0, -1])})
        fw = writer._get_file_writer()
        for s in (exp, ssi, sei):
            fw.add_summary(s, 0, wall[0])
        writer.close()
    return {}


def mlflow_rows(
    spec: Spec, i: int, run_id: str
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The rows ``log_batch`` writes for run `i`: ``metrics`` (key, value, timestamp, run_uuid,
    step, is_nan) and ``latest_metrics`` (key, value, timestamp, step, is_nan, run_uuid)."""
    names = metric_names(spec.metrics)
    values, wall = run_series(spec, i)
    ts = (wall * 1000).astype("int64").tolist()
    rows: list[tuple[Any, ...]] = []
    latest = []
    for k, name in enumerate(names):
        col = values[k].tolist()
        rows.extend(
            (name, v, t, run_id, s, 0) for s, (v, t) in enumerate(zip(col, ts, strict=True))
        )
        latest.append((name, col[-1], ts[-1], spec.steps - 1, 0, run_id))
    return rows, latest


def write_mlflow(spec: Spec, out: Path, how: str) -> dict[str, Any]:
    from mlflow.entities import Metric, Param, RunStatus
    from mlflow.tracking import MlflowClient

    db = out / "mlflow.db"
    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    exp = client.create_experiment(PROJECT, artifact_location=(out / "artifacts").as_uri())
    names = metric_names(spec.metrics)
    ids: dict[str, str] = {}
    ends: dict[str, int] = {}
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    for i in range(spec.runs):
        values, wall = run_series(spec, i)
        ends[run_name(i)] = int(wall[-1] * 1000) + 1000
        run = client.create_run(exp, start_time=int(wall[0] * 1000) - 1000, run_name=run_name(i))
        rid = run.info.run_id
        ids[run_name(i)] = rid
        params = [Param(k, str(v)) for k, v in run_config(spec, i).items()]
        client.log_batch(rid, params=params)
        if i == 0 or how == "log_batch":
            ts = (wall * 1000).astype("int64").tolist()
            cols = [values[k].tolist() for k in range(spec.metrics)]
            batch: list[Any] = []
            for s in range(spec.steps):
                for k, name in enumerate(names):
                    batch.append(Metric(name, cols[k][s], ts[s], s))
                if len(batch) >= 1000:
                    client.log_batch(rid, metrics=batch)
                    batch = []
            if batch:
                client.log_batch(rid, metrics=batch)
            if i == 0:
                timings["log_batch_run0_s"] = time.perf_counter() - t0
    timings["api_s"] = time.perf_counter() - t0
    if how != "log_batch":
        t1 = time.perf_counter()
        con = sqlite3.connect(db)
        try:
            # Run 0 came through log_batch: the bulk path must write exactly those rows.
            want, want_latest = mlflow_rows(spec, 0, ids[run_name(0)])
            got = con.execute(
                "SELECT key, value, timestamp, run_uuid, step, is_nan FROM metrics WHERE run_uuid=?",
                (ids[run_name(0)],),
            ).fetchall()
            got_latest = con.execute(
                "SELECT key, value, timestamp, step, is_nan, run_uuid FROM latest_metrics "
                "WHERE run_uuid=?",
                (ids[run_name(0)],),
            ).fetchall()
            if sorted(got) != sorted(want) or sorted(got_latest) != sorted(want_latest):
                raise RuntimeError(
                    "MLflow: the bulk rows differ from what log_batch wrote for run 0 "
                    f"({len(got)} rows from log_batch, {len(want)} from the bulk path)"
                )
            con.execute("PRAGMA journal_mode=WAL")
            for i in range(1, spec.runs):
                rows, latest = mlflow_rows(spec, i, ids[run_name(i)])
                with con:
                    con.executemany(
                        "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        rows,
                    )
                    con.executemany(
                        "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        latest,
                    )
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            con.execute("PRAGMA journal_mode=DELETE")
        finally:
            con.close()
        timings["bulk_s"] = time.perf_counter() - t1
    for name, rid in ids.items():
        client.set_terminated(rid, RunStatus.to_string(RunStatus.FINISHED), end_time=ends[name])
    # Read back through the client: every point of the last run is there.
    hist = client.get_metric_history(ids[run_name(spec.runs - 1)], CHART_METRIC)
    if len(hist) != spec.steps:
        raise RuntimeError(
            f"MLflow: {len(hist)} points of {CHART_METRIC} read back, not {spec.steps}"
        )
    return {"experiment_id": exp, "run_ids": ids, "timings": timings, "writer": how}


def worker_main(job: dict[str, Any]) -> None:
    spec = Spec(**job["spec"])
    out = Path(job["out"])
    kind = job["kind"]
    if kind == "nbtrack":
        res = write_nbtrack(spec, out, job["runs"])
    elif kind == "tensorboard":
        res = write_tensorboard(spec, out, job["runs"], job["mode"])
    elif kind == "mlflow":
        res = write_mlflow(spec, out, job["mode"])
    else:
        raise ValueError(kind)
    sys.stdout.write("\n" + RESULT_MARK + json.dumps(res) + "\n")
    sys.stdout.flush()


# =========================================================================================
# Driver: the stores, generated once and cached
# =========================================================================================


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nbtrack-bench" / "compare"


def run_workers(
    py: Path | str, jobs: list[dict[str, Any]], env: dict[str, str], timeout: float
) -> list[dict[str, Any]]:
    """Run `jobs` at once, each a child ``compare.py --worker``; their results in order.
    A child that fails or outlives `timeout` raises (the whole group is killed)."""
    procs = []
    logs = []
    for job in jobs:
        log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below)
        cmd = [str(py), str(Path(__file__).resolve()), "--worker", json.dumps(job)]
        procs.append(
            subprocess.Popen(
                cmd,
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                start_new_session=True,
            )
        )
        logs.append(log)
    deadline = time.monotonic() + timeout
    outs: list[dict[str, Any]] = []
    try:
        for proc, log in zip(procs, logs, strict=True):
            try:
                stdout, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise TimeoutError(f"a writer ran past {timeout:.0f} s") from None
            for line in reversed(stdout.splitlines()):
                if line.startswith(RESULT_MARK):
                    outs.append(json.loads(line[len(RESULT_MARK) :]))
                    break
            else:
                log.seek(0)
                tail = log.read().decode(errors="replace").strip().splitlines()[-6:]
                raise RuntimeError(f"writer exited {proc.returncode}: " + " | ".join(tail)[-600:])
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for log in logs:
            log.close()
    return outs


def writer_env(work: Path) -> dict[str, str]:
    from _common import worker_env

    return worker_env(
        work,
        NBTRACK_MODE="offline",  # never a team server, whatever the machine is logged in to
        NBTRACK_CONFIG_DIR=str(work / "nbtrack-config"),
        MLFLOW_TRACKING_URI="",
        OMP_NUM_THREADS="1",
    )


def ensure_store(
    kind: str, spec: Spec, root: Path, *, regenerate: bool = False, mode: str = ""
) -> dict[str, Any]:
    """The store of `kind` (nbtrack, tensorboard, mlflow) for `spec`, written unless cached.

    Returns the marker: ``path`` (the store), ``generate_s``, ``bytes``, ``cached`` and what
    the writer returned (run ids)."""
    name = kind + (f"-{mode}" if mode and mode not in ("summary", "bulk") else "")
    folder = root / spec.key() / name
    marker = folder / "done.json"
    if marker.exists() and not regenerate:
        info: dict[str, Any] = json.loads(marker.read_text())
        info["cached"] = True
        return info
    shutil.rmtree(folder, ignore_errors=True)
    data = folder / "data"
    data.mkdir(parents=True)
    work = Path(tempfile.mkdtemp(prefix="nbtrack-bench-compare-w-"))
    try:
        env = writer_env(work)
        base = {"spec": asdict(spec), "out": str(data), "kind": kind, "mode": mode}
        runs = list(range(spec.runs))
        load = loadavg()
        say(f"writing the {name} store: {spec.runs} runs x {spec.metrics} x {spec.steps:,} steps")
        t0 = time.perf_counter()
        if kind == "mlflow":
            outs = run_workers(BENCH_PY, [base], env, timeout=6 * 3600)
        else:
            py = sys.executable if kind == "nbtrack" else BENCH_PY
            if kind == "nbtrack":
                # The first run alone: it makes the store, which the two processes then share.
                outs = run_workers(py, [{**base, "runs": runs[:1]}], env, timeout=600)
                runs = runs[1:]
            else:
                outs = []
            halves = [runs[0::2], runs[1::2]]  # one process a core
            outs += run_workers(py, [{**base, "runs": h} for h in halves if h], env, 6 * 3600)
        elapsed = time.perf_counter() - t0
    finally:
        shutil.rmtree(work, ignore_errors=True)
    info = {"kind": kind, "mode": mode, "spec": asdict(spec), "path": str(data)}
    for o in outs:
        for k, v in o.items():
            if isinstance(v, dict) and isinstance(info.get(k), dict):
                info[k].update(v)
            else:
                info[k] = v
    info.update(
        generate_s=elapsed,
        bytes=dir_bytes(data),
        generated_at=time.strftime("%Y-%m-%d %H:%M:%S"),
        loadavg_at_start=load,
    )
    marker.write_text(json.dumps(info))
    say(f"{name} store written in {elapsed:.0f} s ({info['bytes'] / 2**20:,.0f} MiB)")
    info["cached"] = False
    return info


# =========================================================================================
# The peers' servers
# =========================================================================================


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(
    url: str,
    timeout: float = 30.0,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=timeout)
    try:
        path = u.path + (f"?{u.query}" if u.query else "")
        conn.request("POST" if body is not None else "GET", path, body, headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _tail(path: Path, n: int = 600) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return ""


@contextlib.contextmanager
def serve(
    cmd: list[str], port: int, work: Path, what: str, ready_path: str, env: dict[str, str]
) -> Iterator[str]:
    """Run a server (its own process group) until `ready_path` answers 200; stop it on exit."""
    log_path = work / f"{what}.log"
    log = open(log_path, "wb")  # noqa: SIM115 (the process owns it until it ends)
    proc = subprocess.Popen(
        cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited ({proc.returncode}): {_tail(log_path)}")
            with contextlib.suppress(OSError):
                if http_get(url + ready_path, timeout=5)[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{what} did not answer in {SERVER_START_S:.0f} s: {_tail(log_path)}"
                )
            time.sleep(0.5)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def server_env(work: Path) -> dict[str, str]:
    from _common import worker_env

    env = worker_env(work)
    env.pop("PYTHONPATH", None)  # the peers' own packages, not this checkout
    return env


def tb_series(url: str, tag: str, timeout: float = 120.0) -> dict[str, list[Any]]:
    """TensorBoard's scalars of `tag` for every run, as its time series dashboard asks for them."""
    boundary = "benchboundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="requests"\r\n\r\n'
        + json.dumps([{"plugin": "scalars", "tag": tag}])
        + f"\r\n--{boundary}--\r\n"
    ).encode()
    status, data = http_get(
        url + "/experiment/defaultExperimentId/data/plugin/timeseries/timeSeries",
        timeout=timeout,
        body=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    if status != 200:
        raise RuntimeError(f"TensorBoard timeSeries: HTTP {status}: {data[:200]!r}")
    out: dict[str, list[Any]] = json.loads(data)[0].get("runToSeries", {})
    return out


def tb_wait_loaded(url: str, spec: Spec, timeout: float) -> dict[str, Any]:
    """Wait until TensorBoard serves every run's last step of the first and last metric (it
    reads the logdir in the background); how long that took and what a series holds."""
    t0 = time.perf_counter()
    deadline = time.monotonic() + timeout
    tags = [CHART_METRIC, metric_names(spec.metrics)[-1]]
    last: dict[str, Any] = {}
    while True:
        done = True
        for tag in tags:
            try:
                series = tb_series(url, tag)
            except (OSError, RuntimeError, ValueError) as e:
                last = {"error": str(e)[:200]}
                done = False
                break
            complete = sum(1 for s in series.values() if s and s[-1]["step"] == spec.steps - 1)
            lengths = sorted(len(s) for s in series.values())
            last = {"tag": tag, "runs": len(series), "complete_runs": complete, "points": lengths}
            if complete < spec.runs:
                done = False
                break
        if done:
            lengths = last["points"]
            return {
                "load_s": time.perf_counter() - t0,
                "runs": last["runs"],
                "points_per_series": [lengths[0], lengths[-1]] if lengths else [0, 0],
            }
        if time.monotonic() > deadline:
            raise TimeoutError(f"TensorBoard had not read the logdir after {timeout:.0f} s: {last}")
        time.sleep(2.0)


@contextlib.contextmanager
def tensorboard_server(logdir: Path, work: Path) -> Iterator[str]:
    port = free_port()
    cmd = [str(BENCH_VENV / "bin" / "tensorboard"), "--logdir", str(logdir),
           "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    with serve(cmd, port, work, "tensorboard", "/data/runs", server_env(work)) as url:
        yield url


@contextlib.contextmanager
def mlflow_server(db: Path, work: Path) -> Iterator[str]:
    port = free_port()
    cmd = [
        str(BENCH_VENV / "bin" / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{db}",
        "--default-artifact-root", (db.parent / "artifacts").as_uri(),
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    with serve(cmd, port, work, "mlflow", "/health", server_env(work)) as url:
        yield url


# =========================================================================================
# Page loads in Chromium
# =========================================================================================

VIEWPORT = {"width": 1400, "height": 1000}
STABLE_MS = 2000  # a probe without a target: drawn once its ink holds this long

# Runs in every page before its own scripts: every POLL_MS (on animation frames, so only when
# the page paints) it calls the peer's probe and reports each change of its "ink", with the
# page's clock, as a console message: the driver reads them as they come and never has to
# evaluate in a page whose main thread may be busy for minutes.
PROBE_LOOP = """
(() => {
  const say = console.debug.bind(console);
  const B = window.__bench = {ink: -1, err: null};
  say('__bench ' + JSON.stringify({origin: performance.timeOrigin}));
  let next = 0;
  const step = () => {
    const now = performance.now();
    if (now >= next) {
      next = now + %(poll_ms)d;
      try {
        const r = window.__benchProbe ? window.__benchProbe() : 0;
        const ink = typeof r === 'number' ? r : r.ink;
        if (ink !== B.ink) {
          B.ink = ink;
          say('__bench ' + JSON.stringify({t: now, ink, detail: typeof r === 'number' ? null : r}));
        }
      } catch (e) {
        if (!B.err) { B.err = String(e); say('__bench ' + JSON.stringify({t: now, error: B.err})); }
      }
    }
    requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
})();
"""
POLL_MS = 50
SLOW_S = 60.0  # a page slower than this to draw is loaded once (cold, then warm), not `loads` times

# TensorBoard: the card of the tag; 0 while it loads; then the opaque pixels of its chart's
# canvas (drawn by a worker on an OffscreenCanvas: the page reads the committed frame back
# through drawImage; the axes and grid are SVG, so the canvas holds only the lines).
TB_PROBE = """
window.__benchProbe = () => {
  const title = document.querySelector('scalar-card tb-truncated-path[title=%(tag)s]');
  const card = title && title.closest('scalar-card');
  if (!card) return 0;
  if (card.querySelector('mat-progress-bar, mat-spinner')) return 0;
  const cv = card.querySelector('line-chart canvas');
  if (!cv || !cv.width) return 0;
  const c = window.__benchCanvas || (window.__benchCanvas = document.createElement('canvas'));
  c.width = cv.width; c.height = cv.height;
  const g = c.getContext('2d', {willReadFrequently: true});
  g.clearRect(0, 0, c.width, c.height);
  g.drawImage(cv, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
  return n;
};
"""

# MLflow's metric page: the Plotly chart; the runs whose traces hold points, once every such
# trace has its line path in the SVG.
MLFLOW_METRIC_PROBE = """
window.__benchProbe = () => {
  const gd = document.querySelector('.js-plotly-plot');
  if (!gd || !gd._fullData) return 0;
  const withPts = gd._fullData.filter(t => t.visible === true && t.x && t.x.length > 0);
  const lines = [...gd.querySelectorAll('.scatterlayer .trace .js-line')]
    .filter(p => (p.getAttribute('d') || '').length > 10).length;
  if (!withPts.length || lines < withPts.length) return 0;
  const pts = withPts.map(t => t.x.length);
  return {ink: new Set(withPts.map(t => t.name)).size, traces: withPts.length,
          points_min: Math.min(...pts), points_max: Math.max(...pts),
          x_axis: ((gd.layout.xaxis || {}).title || {}).text || null};
};
"""

# MLflow's compare page: its parallel coordinates plot (the first visualization tab), one
# line a run; counted once Plotly has laid it out (its WebGL canvases are in the page).
MLFLOW_COMPARE_PROBE = """
window.__benchProbe = () => {
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const fd = gd._fullData || [];
    if (!fd.length || fd[0].type !== 'parcoords' || !gd._fullLayout) continue;
    if (!gd.querySelector('canvas')) return 0;
    const dims = fd[0].dimensions || [];
    const n = dims.length ? dims[0].values.length : 0;
    return {ink: n, axes: dims.map(d => d.label)};
  }
  return 0;
};
"""

STATIC_TYPES = {"Document", "Stylesheet", "Script", "Font", "Image", "Media", "Manifest"}


class Network:
    """Chrome's network events of one page through CDP: what each request cost on the wire
    (``encodedDataLength``, headers included) and decoded, and when it finished (wall clock)."""

    def __init__(self, context: Any, page: Any) -> None:
        self.cdp = context.new_cdp_session(page)
        self.reset()
        self.cdp.on("Network.requestWillBeSent", self._sent)
        self.cdp.on("Network.responseReceived", self._response)
        self.cdp.on("Network.dataReceived", self._data)
        self.cdp.on("Network.loadingFinished", self._finished)
        self.cdp.on("Network.loadingFailed", self._failed)
        self.cdp.send("Network.enable")

    def reset(self) -> None:
        self.offset: float | None = None  # wall time - CDP's monotonic clock
        self.reqs: dict[str, dict[str, Any]] = {}

    def _req(self, rid: str) -> dict[str, Any]:
        return self.reqs.setdefault(rid, {"decoded": 0, "wire": 0, "type": "Other", "url": ""})

    def _sent(self, e: dict[str, Any]) -> None:
        if self.offset is None and "wallTime" in e:
            self.offset = e["wallTime"] - e["timestamp"]
        r = self._req(e["requestId"])
        r["url"] = e["request"]["url"]
        r["type"] = e.get("type", r["type"])

    def _response(self, e: dict[str, Any]) -> None:
        r = self._req(e["requestId"])
        r["type"] = e.get("type", r["type"])
        r["status"] = e["response"].get("status")
        r["cached"] = bool(
            e["response"].get("fromDiskCache") or e["response"].get("fromPrefetchCache")
        )

    def _data(self, e: dict[str, Any]) -> None:
        self._req(e["requestId"])["decoded"] += e.get("dataLength", 0)

    def _finished(self, e: dict[str, Any]) -> None:
        r = self._req(e["requestId"])
        r["wire"] = e.get("encodedDataLength", 0)
        r["end"] = e["timestamp"]

    def _failed(self, e: dict[str, Any]) -> None:
        r = self._req(e["requestId"])
        r["failed"] = e.get("errorText", "failed")
        r["end"] = e["timestamp"]

    def totals(self, until_wall: float | None = None) -> dict[str, Any]:
        """Bytes of the requests finished by `until_wall` (all when None), static and data."""
        out = {"requests": 0, "wire": 0, "decoded": 0, "data_requests": 0, "data_wire": 0,
               "data_decoded": 0, "static_wire": 0, "unfinished": 0, "last_data_end": None}  # fmt: skip
        off = self.offset or 0.0
        for r in self.reqs.values():
            if r["url"].startswith("data:"):
                continue
            if "end" not in r:
                out["unfinished"] += 1
                continue
            if until_wall is not None and r["end"] + off > until_wall:
                continue
            out["requests"] += 1
            out["wire"] += r["wire"]
            out["decoded"] += r["decoded"]
            if r["type"] in STATIC_TYPES:
                out["static_wire"] += r["wire"]
            else:
                out["data_requests"] += 1
                out["data_wire"] += r["wire"]
                out["data_decoded"] += r["decoded"]
                end = r["end"] + off
                if out["last_data_end"] is None or end > out["last_data_end"]:
                    out["last_data_end"] = end
        return out

    def by_endpoint(self) -> dict[str, dict[str, Any]]:
        """Requests and wire bytes by URL path (digits and ids folded), the largest first."""
        agg: dict[str, dict[str, Any]] = {}
        for r in self.reqs.values():
            if "end" not in r or r["url"].startswith("data:"):
                continue
            path = urllib.parse.urlsplit(r["url"]).path
            if r["type"] in STATIC_TYPES:
                path = f"(static: {r['type'].lower()})"
            a = agg.setdefault(path, {"requests": 0, "wire": 0, "decoded": 0})
            if r["type"] not in STATIC_TYPES and "query" not in a:
                q = urllib.parse.urlsplit(r["url"]).query
                # One request's parameters, run ids cut short: what the page asks for.
                q = re.sub(r"[0-9a-f]{32}", "<run id>", urllib.parse.unquote(q))
                q = re.sub(
                    r"(?:run_ids=<run id>&?)+",
                    lambda m: f"run_ids=<{m.group(0).count('run_ids')} run ids>&",
                    q,
                )
                a["query"] = q[:240]
            a["requests"] += 1
            a["wire"] += r["wire"]
            a["decoded"] += r["decoded"]
        return dict(sorted(agg.items(), key=lambda kv: -int(kv[1]["wire"])))


def page_loads(
    browser: Any,
    url: str,
    probe: str,
    *,
    target: int | None,
    loads: int,
    warm: bool = True,
    timeout_s: float = LOAD_TIMEOUT_S,
    inspect: str | None = None,
) -> list[dict[str, Any]]:
    """`loads` cold loads of `url`, each in a fresh browser context, each followed (with
    `warm`) by a reload in the same context. A load is drawn when the probe's ink reaches
    `target`, or, without one, when it has held still for STABLE_MS (then drawn is the first
    time it reached 95% of where it settled). A cold load that never draws ends the series
    (no reload, no more rounds), and one slower than SLOW_S is not repeated."""
    out: list[dict[str, Any]] = []
    script = PROBE_LOOP % {"poll_ms": POLL_MS} + probe
    for i in range(loads):
        context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
        stop = None
        try:
            context.add_init_script(script)
            page = context.new_page()
            errors: list[str] = []
            probe_log: list[dict[str, Any]] = []
            page.on("pageerror", lambda e, errs=errors: errs.append(str(e)[:200]))
            page.on("console", lambda m, log=probe_log: _probe_message(m, log))
            net = Network(context, page)
            for kind in ["cold", "warm"] if warm else ["cold"]:
                net.reset()
                res = one_load(page, net, probe_log, url, target, timeout_s, reload=kind == "warm")
                res["kind"] = kind
                res["round"] = i
                if inspect and i == 0 and kind == "cold" and res.get("drawn_s") is not None:
                    try:
                        res["inspect"] = page.evaluate(inspect)
                    except Exception as e:
                        res["inspect"] = {"error": str(e)[:200]}
                if errors:
                    res["page_errors"] = errors[:5]
                out.append(res)
                drawn = res.get("drawn_s")
                say(
                    f"  {kind} load {i + 1}/{loads}: "
                    + (f"drawn in {drawn:.2f} s, " if drawn is not None else f"{res['error']}, ")
                    + f"{res['at_drawn']['wire'] / 2**20:.1f} MiB on the wire"
                )
                if kind == "cold" and drawn is None:
                    stop = f"the cold load was not drawn in {timeout_s:.0f} s: not reloaded, not repeated"
                    break
                if kind == "cold" and drawn > SLOW_S and i + 1 < loads:
                    stop = f"drawn after {drawn:.0f} s (over {SLOW_S:.0f} s): loaded once"
        finally:
            context.close()
        if stop:
            out[-1]["series_ended"] = stop
            say(f"  {stop}")
            break
    return out


def _probe_message(msg: Any, log: list[dict[str, Any]]) -> None:
    text = msg.text
    if text.startswith("__bench "):
        with contextlib.suppress(ValueError):
            log.append(json.loads(text[len("__bench ") :]))


def one_load(
    page: Any,
    net: Network,
    probe_log: list[dict[str, Any]],
    url: str,
    target: int | None,
    timeout_s: float,
    reload: bool,
) -> dict[str, Any]:
    """One navigation (or reload), until drawn or `timeout_s`; what the probe and the network
    saw. Every wait is the driver's own (`wait_for_timeout` steps), so none outlasts the bound."""
    res: dict[str, Any] = {}
    probe_log.clear()
    t0 = time.perf_counter()
    deadline = t0 + timeout_s
    try:
        if reload:
            page.reload(wait_until="commit", timeout=timeout_s * 1000)
        else:
            page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
        seen, changed = 0, time.perf_counter()
        while True:
            page.wait_for_timeout(100)  # lets Playwright deliver the console messages
            now = time.perf_counter()
            inks = [e["ink"] for e in probe_log if "ink" in e]
            if len(inks) != seen:
                seen, changed = len(inks), now
            ink = inks[-1] if inks else -1
            if target and ink >= target:
                break
            if not target and ink > 0 and now - changed > STABLE_MS / 1e3:
                break
            if now > deadline:
                res["error"] = f"not drawn in {timeout_s:.0f} s (ink {ink}" + (
                    f" of {target})" if target else ")"
                )
                break
        if "error" not in res:
            page.wait_for_timeout(SETTLE_S * 1000)
    except Exception as e:  # a page that never draws is reported, not waited on
        res["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
    res["wall_s"] = time.perf_counter() - t0
    res["timeout_s"] = timeout_s
    events = [(e["t"], e["ink"]) for e in probe_log if "ink" in e]
    origins = [e["origin"] for e in probe_log if "origin" in e]
    details = [e["detail"] for e in probe_log if e.get("detail")]
    final = events[-1][1] if events else -1
    drawn_ms = None
    if "error" not in res and final > 0:
        need = target if target else 0.95 * final
        drawn_ms = next((t for t, ink in events if ink >= need), None)
    first = next((t for t, ink in events if ink > 0), None)
    res.update(
        drawn_s=None if drawn_ms is None else drawn_ms / 1e3,
        first_ink_s=None if first is None else first / 1e3,
        ink=final,
        target=target,
        detail=details[-1] if details else None,
        probe_error=next((e["error"] for e in probe_log if "error" in e), None),
        ink_changes=len(events),
    )
    origin = origins[-1] if origins else None
    until = None if drawn_ms is None or origin is None else (origin + drawn_ms) / 1e3
    res["at_drawn"] = net.totals(until)
    res["after_settle"] = net.totals()
    last = res["at_drawn"].pop("last_data_end")
    res["after_settle"].pop("last_data_end")
    # When the last data response the chart had was in: the rest of drawn_s is the page's.
    res["data_in_s"] = None if last is None or origin is None else last - origin / 1e3
    res["endpoints"] = net.by_endpoint()
    if drawn_ms is None and "error" not in res:
        res["error"] = f"never drawn: ink {final}" + (f" of {target}" if target else "")
    return res


def _bench_version(dist: str) -> str | None:
    if not BENCH_PY.exists():
        return None
    proc = subprocess.run(
        [str(BENCH_PY), "-c", f"from importlib.metadata import version; print(version({dist!r}))"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    return proc.stdout.strip() or None


TB_INSPECT = """() => {
  const sel = document.querySelector('runs-selector');
  const boxes = sel ? [...sel.querySelectorAll('input[type=checkbox]')] : [];
  return {run_selector_checkboxes: boxes.length, checked: boxes.filter(b => b.checked).length,
          paginator: sel && sel.querySelector('mat-paginator') ?
            sel.querySelector('mat-paginator').innerText.replace(/\\s+/g, ' ').trim() : null,
          cards: document.querySelectorAll('scalar-card').length};
}"""


def measure_tensorboard(
    browser: Any, store: dict[str, Any], spec: Spec, loads: int, work: Path, timeout_s: float
) -> dict[str, Any]:
    """TensorBoard's time series dashboard over the logdir, filtered to CHART_METRIC."""
    out: dict[str, Any] = {
        "version": _bench_version("tensorboard"),
        "data_server": _bench_version("tensorboard-data-server"),
    }
    with tensorboard_server(Path(store["path"]), work) as url:
        say("tensorboard: waiting until it has read the logdir")
        out["server"] = tb_wait_loaded(url, spec, TB_INGEST_S)
        say(f"tensorboard: read in {out['server']['load_s']:.0f} s; "
            f"{out['server']['points_per_series']} points a series")  # fmt: skip
        tag_filter = urllib.parse.quote(f"^{CHART_METRIC}$", safe="")
        page_url = f"{url}/?tagFilter={tag_filter}#timeseries"
        probe = TB_PROBE % {"tag": json.dumps(CHART_METRIC)}
        out["views"] = [
            {
                "view": "chart",
                "name": f"time series dashboard filtered to {CHART_METRIC}",
                "url": page_url.replace(url, ""),
                "loads": page_loads(
                    browser,
                    page_url,
                    probe,
                    target=None,
                    loads=loads,
                    timeout_s=timeout_s,
                    inspect=TB_INSPECT,
                ),
            }
        ]
    with contextlib.suppress(OSError):
        out["fast_loader"] = "fast data loading" in (work / "tensorboard.log").read_text()
    return out


def mlflow_urls(base: str, ids: list[str], exp: str) -> dict[str, str]:
    """The compare page and the metric page, in the form MLflow's own links take
    (``Routes.getCompareRunPageRoute`` and ``getMetricPageRoute`` with their defaults)."""
    runs = json.dumps(ids, separators=(",", ":"))
    exps = json.dumps([exp])
    enc = urllib.parse.quote
    metric = (
        f"?runs={runs}&metric={enc(json.dumps(CHART_METRIC))}&experiments={exps}"
        f"&plot_metric_keys={enc(json.dumps([CHART_METRIC]))}&plot_layout={{}}&x_axis=step"
        "&y_axis_scale=linear&line_smoothness=1&show_point=false&deselected_curves=[]"
        "&last_linear_y_axis_range=[]"
    )
    return {
        "compare": f"{base}/#/compare-runs?runs={runs}&experiments={exps}",
        "chart": f"{base}/#/metric{metric}",
    }


def measure_mlflow(
    browser: Any, store: dict[str, Any], spec: Spec, loads: int, work: Path, timeout_s: float
) -> dict[str, Any]:
    """MLflow's compare page of all the runs, and its chart of CHART_METRIC for all of them."""
    out: dict[str, Any] = {"version": _bench_version("mlflow")}
    ids = [store["run_ids"][run_name(i)] for i in range(spec.runs)]
    with mlflow_server(Path(store["path"]) / "mlflow.db", work) as url:
        urls = mlflow_urls(url, ids, str(store["experiment_id"]))
        out["views"] = []
        for view, name, probe in (
            ("compare", "compare-runs page (parallel coordinates drawn)", MLFLOW_COMPARE_PROBE),
            ("chart", f"metric page of {CHART_METRIC}, every run", MLFLOW_METRIC_PROBE),
        ):
            say(f"mlflow: {name}")
            out["views"].append(
                {
                    "view": view,
                    "name": name,
                    "url": urls[view].replace(url, "")[:160] + "...",
                    "loads": page_loads(
                        browser,
                        urls[view],
                        probe,
                        target=spec.runs,
                        loads=loads,
                        timeout_s=timeout_s,
                    ),
                }
            )
    return out


def measure_nbtrack(
    store_dir: Path, *, spec: Spec, run_ids: dict[str, str], browser: Any, loads: int, work: Path
) -> dict[str, Any]:
    """The compare view's half: ``nbtrack.compare`` of the same project in JupyterLab
    (`_compare_nbtrack.measure_nbtrack`: the cell run `loads` times in one kernel, the first
    cold), in the shape the peers' results have: a "chart" view (the chart of one metric with
    every run's line: what the peers' figure is) and an "all" view (the table, the curves on
    screen and the parallel coordinates: the target), each load with ``drawn_s``,
    ``at_drawn`` (bytes the kernel's websocket brought the page, BokehJS included) and the
    brush drag's frame intervals."""
    from _compare_nbtrack import measure_nbtrack as measure

    import nbtrack

    metrics = metric_names(spec.metrics)
    got = measure(store_dir, PROJECT, spec.runs, metrics, metrics[0], loads, work, browser)

    def load(i: int, r: dict[str, Any], key: str) -> dict[str, Any]:
        n = r["bytes"]
        return {
            "kind": "cold" if i == 0 else "warm",
            "drawn_s": r[key],
            "at_drawn": {"wire": n, "decoded": n, "data_wire": n, "requests": 0,
                         "data_requests": 0},
            "brush_frame_ms": {"p50": got["brush"]["p50_ms"], "p95": got["brush"]["p95_ms"],
                               "max": got["brush"]["max_ms"]} if i == 0 else None,
        }  # fmt: skip

    return {
        "version": nbtrack.__version__,
        "brush": got["brush"],
        "views": [
            {"view": "chart", "name": "compare view, the chart of one metric",
             "shows": f"{spec.runs} runs overlaid as per-bucket envelopes (min, max, last)",
             "loads": [load(i, r, "first_chart_s") for i, r in enumerate(got["runs"])]},
            {"view": "all", "name": "compare view, all on screen",
             "shows": "the runs table, the charts on screen, the parallel coordinates",
             "loads": [load(i, r, "all_s") for i, r in enumerate(got["runs"])]},
        ],
    }  # fmt: skip


# =========================================================================================
# Report
# =========================================================================================


def summarize(loads: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    ls = [x for x in loads if x.get("kind") == kind]
    drawn = sorted(x["drawn_s"] for x in ls if x.get("drawn_s") is not None)
    ok = [x for x in ls if x.get("drawn_s") is not None] or ls
    din = sorted(x["data_in_s"] for x in ok if x.get("data_in_s") is not None)

    def med(f: Callable[[dict[str, Any]], float]) -> float | None:
        vals = sorted(f(x) for x in ok)
        return percentile(vals, 50) if vals else None

    return {
        "loads": len(ls),
        "drawn": len(drawn),
        "drawn_s": percentile(drawn, 50) if drawn else None,
        "drawn_min_s": drawn[0] if drawn else None,
        "drawn_max_s": drawn[-1] if drawn else None,
        "data_in_s": percentile(din, 50) if din else None,
        "wire": med(lambda x: x["at_drawn"]["wire"]),
        "decoded": med(lambda x: x["at_drawn"]["decoded"]),
        "data_wire": med(lambda x: x["at_drawn"]["data_wire"]),
        "requests": med(lambda x: x["at_drawn"]["requests"]),
        "data_requests": med(lambda x: x["at_drawn"]["data_requests"]),
        "errors": sorted({x["error"] for x in ls if x.get("error")}),
        "timeout_s": next((x["timeout_s"] for x in ls if x.get("timeout_s")), None),
    }


def mib(n: float | None) -> str:
    return "-" if n is None else f"{n / 2**20:,.1f}"


def secs(s: dict[str, Any]) -> str:
    if not s["loads"]:
        return "-"
    if s["drawn_s"] is None:
        return f"not drawn in {fmt(s['timeout_s'])} s" if s.get("timeout_s") else "never drawn"
    txt = fmt(s["drawn_s"])
    if s["loads"] > 1:
        txt += f" ({fmt(s['drawn_min_s'])}..{fmt(s['drawn_max_s'])})"
    if s["drawn"] < s["loads"]:
        txt += f", {s['loads'] - s['drawn']} of {s['loads']} never drawn"
    return txt


def count(x: Any) -> str:
    return "-" if x is None else f"{int(x):,}"


def shows(tool: str, view: dict[str, Any], res: dict[str, Any], spec: Spec) -> str:
    first = next((x for x in view["loads"] if x.get("detail") or x.get("inspect")), None)
    if tool == "tensorboard":
        pts = res.get("server", {}).get("points_per_series", [None, None])
        ins = (view["loads"][0].get("inspect") or {}) if view["loads"] else {}
        sel = ""
        if ins.get("run_selector_checkboxes"):
            # One box is the header's (all runs).
            sel = f"; {ins['checked'] - 1} of {ins['run_selector_checkboxes'] - 1} runs ticked in its run selector"
        return (
            f"{res.get('server', {}).get('runs', '?')} runs overlaid, {count(pts[-1])} of the "
            f"{spec.steps:,} steps a run (its reservoir sample), raw and smoothed lines{sel}"
        )
    d = (first or {}).get("detail") or {}
    if view["view"] == "compare":
        axes = ", ".join(d.get("axes") or [])
        return f"parallel coordinates of {count(d.get('ink'))} runs (axes: {axes}), params/metrics table"
    if d:
        pts = d.get("points_min"), d.get("points_max")
        p = count(pts[0]) if pts[0] == pts[1] else f"{count(pts[0])}..{count(pts[1])}"
        return (
            f"{count(d.get('ink'))} runs overlaid as {count(d.get('traces'))} Plotly traces of {p} "
            f"points (of {spec.steps:,} logged), x axis: {d.get('x_axis')}"
        )
    return "-"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or not b:
        return "-"
    return f"{a / b:.3g}"


def build_report(res: dict[str, Any]) -> str:
    spec = Spec(**res["spec"])
    out = [f"Command: `{res['command']}`", "", *res["machine"]]
    also = []
    if res.get("chromium"):
        also.append(f"Chromium {res['chromium']}")
    for tool in PEERS:
        p = res["peers"].get(tool) or {}
        if p.get("version"):
            extra = f" (data server {p['data_server']})" if p.get("data_server") else ""
            also.append(
                f"{'TensorBoard' if tool == 'tensorboard' else 'MLflow'} {p['version']}{extra}"
            )
    if also:
        out.append(f"- Also: {', '.join(also)} (the peers from bench/.venv)")
    stores = []
    gen_loads: set[str] = set()
    for kind, st in res["stores"].items():
        if "error" in st:
            stores.append(f"{kind}: failed ({st['error']})")
            continue
        when = f", cached from {st['generated_at']}" if st.get("cached") else ""
        if st.get("loadavg_at_start"):
            gen_loads.add(str(st["loadavg_at_start"]))
        stores.append(f"{kind} {fmt(st['generate_s'])} s ({mib(st['bytes'])} MiB{when})")
    out.append(
        f"- Project: {spec.runs} runs x {spec.metrics} metrics x {spec.steps:,} steps = "
        f"{spec.points:,} points (seed {spec.seed}); stores written in: {'; '.join(stores)}"
        + (f" (load average as they began: {'; '.join(sorted(gen_loads))})" if gen_loads else "")
    )
    out += [f"- Whole benchmark: {res['wall_s']:.0f} s", ""]

    nb = res.get("nbtrack") or {}
    nb_views = {v["view"]: v for v in nb.get("views", [])}
    nb_note = nb.get("not_measured") or nb.get("error")
    out.append("### Targets (nbtrack)")
    out.append("")
    rows = []
    if nb_views:
        chart = nb_views.get("all") or nb_views.get("chart") or next(iter(nb_views.values()))
        c = summarize(chart["loads"], "cold")
        frames = [x.get("brush_frame_ms") for x in chart["loads"] if x.get("brush_frame_ms")]
        rows.append([
            f"table, every run's curves and the parallel coordinates drawn <= {TARGET_DRAWN_S:g} s",
            secs(c), "met" if c["drawn_s"] is not None and c["drawn_s"] <= TARGET_DRAWN_S else "**missed**",
        ])  # fmt: skip
        rows.append([
            f"<= {TARGET_BYTES / 1e6:g} MB sent to the page", f"{(c['wire'] or 0) / 1e6:.2f} MB",
            "met" if c["wire"] is not None and c["wire"] <= TARGET_BYTES else "**missed**",
        ])  # fmt: skip
        if frames:
            p95 = max(f["p95"] for f in frames)
            rows.append([f"brush drag <= {TARGET_FRAME_MS:g} ms a frame", f"p95 {fmt(p95)} ms",
                         "met" if p95 <= TARGET_FRAME_MS else "**missed**"])  # fmt: skip
    else:
        why = "not measured yet" + (f" ({nb_note})" if nb_note else "")
        rows = [
            [f"table, every run's curves and the parallel coordinates drawn <= {TARGET_DRAWN_S:g} s", why, "-"],
            [f"<= {TARGET_BYTES / 1e6:g} MB sent to the page", why, "-"],
            [f"brush drag <= {TARGET_FRAME_MS:g} ms a frame", why, "-"],
        ]  # fmt: skip
    out.append(md_table(["target", "measured", "verdict"], rows))
    out.append("")

    out.append("### The chart of one metric over every run, and the bytes it takes")
    out.append("")
    header = ["tool, page", "what it shows", "cold: s to drawn", "its data in by (s)", "warm: s",
              "MiB on the wire", "MiB decoded", "requests (data)", "nbtrack / peer: time, bytes"]  # fmt: skip

    def row(label: str, what: str, c: dict[str, Any], w: dict[str, Any], r: str) -> list[str]:
        wire = mib(c["wire"]) + (" (by then)" if c["loads"] and c["drawn_s"] is None else "")
        return [label, what, secs(c), fmt(c["data_in_s"]), secs(w), wire,
                mib(c["decoded"]), f"{c['requests'] or 0:.0f} ({c['data_requests'] or 0:.0f})", r]  # fmt: skip

    rows = []
    nb_chart = summarize(nb_views["chart"]["loads"], "cold") if "chart" in nb_views else None
    if nb_chart is None:
        rows.append(["nbtrack, compare view", "-", "not measured yet", *["-"] * 6])
    else:
        w = summarize(nb_views["chart"]["loads"], "warm")
        name = nb_views["chart"].get("name", "compare view")
        rows.append(row(f"nbtrack, {name}", nb_views["chart"].get("shows", "-"), nb_chart, w, "1"))
    notes: list[str] = []
    for tool in PEERS:
        p = res["peers"].get(tool)
        label = "TensorBoard" if tool == "tensorboard" else "MLflow"
        if p is None:
            continue
        if "error" in p:
            rows.append([label, f"failed: {p['error']}", *["-"] * 7])
            continue
        for view in p.get("views", []):
            c = summarize(view["loads"], "cold")
            w = summarize(view["loads"], "warm")
            r = "-"
            if nb_chart is not None and view["view"] == "chart":
                r = f"{ratio(nb_chart['drawn_s'], c['drawn_s'])}, {ratio(nb_chart['wire'], c['wire'])}"
            rows.append(row(f"{label}, {view['name']}", shows(tool, view, p, spec), c, w, r))
            for e in c["errors"] + w["errors"]:
                notes.append(f"{label}, {view['name']}: {e}")
            for x in view["loads"]:
                if x.get("series_ended"):
                    notes.append(f"{label}, {view['name']}: {x['series_ended']}.")
    out.append(md_table(header, rows))
    out.append("")
    loads = res.get("loads", 0)
    out.append(
        f"Seconds from navigation (`performance.timeOrigin`) to drawn, the median of {loads} "
        f"load(s) (range in brackets); cold: a fresh browser context, warm: a reload in it (the "
        "app's static files from the HTTP cache). Bytes: Chrome's `Network.loadingFinished` "
        "`encodedDataLength` (on the wire, headers included) of the requests finished by the time "
        "the chart was drawn, and their decoded size, cold, median; *data* requests are the "
        "XHR/fetch ones (the rest: the document, scripts, styles, fonts). *Its data in by*: when "
        "the last data response the chart had finished; the rest of the time is the page's own "
        "work."
    )
    if nb_views:
        b = nb.get("brush") or {}
        out.append("")
        out.append(
            "nbtrack: seconds from asking JupyterLab to run the cell `nbtrack.compare(project)` "
            "(nbtrack imported by an earlier cell, the lab already open) to drawn: *the chart of "
            "one metric* when `train/loss` holds a line per run; *all* when the table has every "
            "row, every chart on screen a line per run (charts further down are built as they "
            "come near) and the parallel coordinates a line per run. Cold: the cell's first run "
            "in a fresh kernel; warm: the cell again. Bytes: what the kernel's websocket brought "
            "the page meanwhile, BokehJS included. The brush: the interval of each animation "
            f"frame while a brush is dragged along `config:lr` in 30 moves (p50 {fmt(b.get('p50_ms'))} "
            f"ms, p95 {fmt(b.get('p95_ms'))} ms, max {fmt(b.get('max_ms'))} ms; "
            f"{b.get('over_17ms', '-')} of {b.get('frames', '-')} frames over 17 ms): the table "
            "follows every move, the charts redraw once the drag ends."
        )
    ml = res["stores"].get("mlflow") or {}
    if ml.get("mode") == "bulk" or ml.get("writer") == "bulk":
        out.append("")
        out.append(
            "MLflow's store: experiment, runs, params and end states through `MlflowClient`, run "
            "0's metrics through `log_batch`, the other runs' rows inserted into the two tables "
            "`log_batch` writes (`metrics`, `latest_metrics`) and checked against run 0's; "
            "`log_batch` itself does about 5,600 points/s here, an hour for the whole project "
            "(`--mlflow-writer log_batch`). TensorBoard's event files: one event a step holding "
            "the step's scalars, through `SummaryWriter`'s file writer (`--tb-writer add_scalar`: "
            "one `add_scalar` a value, 7x slower to write)."
        )
    out.append("")
    for tool in PEERS:
        p = res["peers"].get(tool)
        if not p or "error" in p:
            continue
        for view in p.get("views", []):
            cold = [x for x in view["loads"] if x.get("kind") == "cold"]
            if not cold:
                continue
            top = list(cold[0]["endpoints"].items())[:4]
            parts = ", ".join(f"`{k}` {v['requests']} x, {mib(v['wire'])} MiB" for k, v in top)
            label = "TensorBoard" if tool == "tensorboard" else "MLflow"
            out.append(
                f"- {label}, {view['name']}: where the bytes went (first cold load, to settle): {parts}."
            )
        if tool == "tensorboard" and p.get("server"):
            s = p["server"]
            out.append(
                f"- TensorBoard read the logdir in {fmt(s['load_s'])} s before the first load "
                f"(its {'Rust data server' if p.get('fast_loader') else 'Python loader'}); it keeps "
                f"{fmt(s['points_per_series'][-1])} points a series (`--samples_per_plugin "
                "scalars=1000`, reservoir sampling), and the dashboard shows those, not the "
                f"{spec.steps:,} logged. Drawn: the chart card left its loading state and the "
                "opaque pixels of its WebGL canvas (lines only; axes are SVG) reached 95% of "
                f"where they settled ({STABLE_MS / 1e3:g} s unchanged)."
            )
        if tool == "mlflow":
            out.append(
                "- MLflow: drawn is the Plotly chart holding a trace with points for every run "
                "and every trace's line in the SVG (metric page), or the parallel coordinates "
                "plot laid out with every run (compare page)."
            )
            for view in p.get("views", []):
                cold = [x for x in view["loads"] if x.get("kind") == "cold"]
                eps = cold[0]["endpoints"] if cold else {}
                for path, e in eps.items():
                    if "get-history" in path:
                        out.append(
                            f"- MLflow, {view['name']}: `{path.rsplit('/', 1)[-1]}` {e['requests']} "
                            f"x ({mib(e['wire'])} MiB), one asking `{e.get('query', '')}`."
                        )
    for n in notes:
        out.append(f"- {n}")
    out.append("")
    return "\n".join(out)


# =========================================================================================
# Main
# =========================================================================================


def peer_missing(tool: str) -> str | None:
    exe = BENCH_VENV / "bin" / tool
    if not exe.exists():
        return f"not installed ({exe} missing: bash bench/setup.sh)"
    if tool == "tensorboard" and _bench_version("torch") is None:
        return "torch missing in bench/.venv (its SummaryWriter writes the event files)"
    return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="1,000 steps a run, one load a page")
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--metrics", type=int, default=10)
    p.add_argument("--steps", type=int, help="steps a run (10,000; 1,000 with --quick)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--loads", type=int, help="cold loads a page, each with a warm reload (3; 1 with --quick)"
    )
    p.add_argument(
        "--peers", default=",".join(PEERS), help="comma-separated subset of: " + ", ".join(PEERS)
    )
    p.add_argument(
        "--load-timeout", type=float, default=LOAD_TIMEOUT_S, help="s a page may take to draw"
    )
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help=f"where the stores are kept ({default_cache()})",
    )
    p.add_argument("--regenerate", action="store_true", help="write the stores again")
    p.add_argument("--tb-writer", choices=["summary", "add_scalar"], default="summary")
    p.add_argument("--mlflow-writer", choices=["bulk", "log_batch"], default="bulk")
    p.add_argument("--docs", type=Path, default=REPO / "docs" / "benchmarks.md")
    p.add_argument("--no-docs", action="store_true", help="leave docs/benchmarks.md as it is")
    p.add_argument(
        "--from-results",
        type=Path,
        help="measure nothing: print (and, without --no-docs, write) the section of a\n"
        "bench/results/compare-*.json again",
    )
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker_main(json.loads(args.worker))
        return 0
    if args.from_results:
        report = build_report(json.loads(args.from_results.read_text()))
        print(report)
        if not args.no_docs:
            write_docs_section("Compare view", "bench:compare", report, args.docs)
            say(f"wrote {args.docs} from {args.from_results}")
        return 0
    peers = [x.strip() for x in args.peers.split(",") if x.strip()]
    unknown = sorted(set(peers) - set(PEERS))
    if unknown:
        p.error(f"unknown peer(s): {', '.join(unknown)}; choose from {', '.join(PEERS)}")
    steps = args.steps or (1_000 if args.quick else 10_000)
    if min(args.runs, args.metrics, steps) < 1:
        p.error("--runs, --metrics and --steps must be at least 1")
    spec = Spec(args.runs, args.metrics, steps, args.seed)
    loads = args.loads or (1 if args.quick else 3)
    root = args.cache_dir or default_cache()
    started = time.perf_counter()
    res: dict[str, Any] = {
        "spec": asdict(spec), "loads": loads, "loadavg": loadavg(), "stores": {}, "peers": {},
    }  # fmt: skip
    modes = {"nbtrack": "", "tensorboard": args.tb_writer, "mlflow": args.mlflow_writer}
    for kind in ["nbtrack", *peers]:
        missing = peer_missing(kind) if kind in PEERS else None
        if missing:
            res["stores"][kind] = {"error": missing}
            continue
        try:
            res["stores"][kind] = ensure_store(
                kind, spec, root, regenerate=args.regenerate, mode=modes[kind]
            )
        except Exception as e:  # reported in the table, never dropped
            say(f"{kind}: the store failed: {e}")
            res["stores"][kind] = {"error": f"{type(e).__name__}: {e}"[:300]}
    work = Path(tempfile.mkdtemp(prefix="nbtrack-bench-compare-"))
    try:
        from _browser import CHROMIUM, chromium

        if not Path(CHROMIUM).exists():
            raise SystemExit(f"Chromium not found at {CHROMIUM}: install Debian's chromium")
        with chromium() as browser:
            res["chromium"] = browser.version
            nb = res["stores"]["nbtrack"]
            if "error" in nb:
                res["nbtrack"] = {"error": f"no store: {nb['error']}"}
            else:
                try:
                    res["nbtrack"] = measure_nbtrack(
                        Path(nb["path"]), spec=spec, run_ids=nb["run_ids"], browser=browser,
                        loads=loads, work=work / "nbtrack",
                    )  # fmt: skip
                except NotImplementedError as e:
                    res["nbtrack"] = {"not_measured": str(e)}
                except Exception as e:
                    res["nbtrack"] = {"error": f"{type(e).__name__}: {e}"[:300]}
            measure = {"tensorboard": measure_tensorboard, "mlflow": measure_mlflow}
            for tool in peers:
                st = res["stores"][tool]
                if "error" in st:
                    res["peers"][tool] = {"error": st["error"]}
                    continue
                say(f"{tool}: measuring")
                tool_work = work / tool
                tool_work.mkdir(parents=True)
                try:
                    res["peers"][tool] = measure[tool](
                        browser, st, spec, loads, tool_work, args.load_timeout
                    )
                except Exception as e:  # reported in the table, never dropped
                    say(f"{tool}: failed: {e}")
                    res["peers"][tool] = {"error": f"{type(e).__name__}: {e}"[:300]}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    res["wall_s"] = time.perf_counter() - started
    res["command"] = command_line()
    res["machine"] = machine_lines(PACKAGES, res.get("loadavg"))
    res["quick"] = args.quick
    report = build_report(res)
    print(report)
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for st in res["stores"].values():
        st.pop("run_ids", None)  # 200 ids of each store: in its cache folder's done.json
    (RESULTS / f"compare-{stamp}.json").write_text(json.dumps(res, indent=1, default=str))
    if args.no_docs:
        say(f"wrote bench/results/compare-{stamp}.json")
    else:
        write_docs_section("Compare view", "bench:compare", report, args.docs)
        say(f"wrote {args.docs} and bench/results/compare-{stamp}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The cost of `log()` inside a training loop: nbtrack side by side with W&B, trackio, MLflow
and TensorBoard, each in its own subprocess, one after another.

    bash bench/setup.sh                                     # bench/.venv with the peers
    bench/.venv/bin/python bench/log_overhead.py            # all of it, about 5 minutes
    bench/.venv/bin/python bench/log_overhead.py --trackers nbtrack,wandb --quick

For each tracker and each shape (4 scalars a step for 20,000 steps, 50 scalars a step for
5,000 steps) a worker subprocess starts the tracker in a temporary folder, times every
`log()` call with ``time.perf_counter_ns()``, then times finishing (flush and close), and
reports its peak RSS and the bytes its folder holds. nbtrack alone is also measured reading
a million-point series back through `nbtrack.Api`, for the writer's sustained throughput,
and for ``import nbtrack``. The tables go to the terminal and to docs/benchmarks.md
(section "Logging overhead"); raw figures to bench/results/.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
# bench/ is not a package: its shared helpers sit beside this script.
from _common import (
    REPO,
    RESULT_MARK,
    command_line,
    dir_bytes,
    fmt,
    loadavg,
    machine_lines,
    md_table,
    summarize_ns,
    timer_overhead_ns,
    worker_env,
    write_docs_section,
)

TRACKERS = ("nbtrack", "wandb", "trackio", "mlflow", "tensorboard")
PACKAGES = ("nbtrack", "numpy", "wandb", "trackio", "mlflow", "tensorboard", "torch", "psutil")
# What each peer needs importable; a missing one is reported, not skipped.
IMPORTS = {
    "nbtrack": "nbtrack",
    "wandb": "wandb",
    "trackio": "trackio",
    "mlflow": "mlflow",
    "tensorboard": "torch.utils.tensorboard",
    "noop": "json",
}
LABELS = {
    "nbtrack": "nbtrack",
    "wandb": "W&B (offline)",
    "trackio": "trackio (local)",
    "mlflow": "MLflow (sqlite)",
    "tensorboard": "TensorBoard SummaryWriter",
    "noop": "(no-op function: the harness)",
}
SHAPES = {"full": [(4, 20_000), (50, 5_000)], "quick": [(4, 2_000), (50, 500)]}
READ_POINTS = {"full": 1_000_000, "quick": 100_000}
# (keys a step, steps): the writer's throughput, narrow and wide.
THROUGHPUT = {"full": [(4, 600_000), (50, 60_000)], "quick": [(4, 60_000), (50, 6_000)]}
HEAVY_MODULES = ("torch", "bokeh", "fastapi", "pandas", "sqlalchemy", "starlette", "uvicorn")

TARGETS = {
    "log4_us": 1.5,
    "log50_us": 8.0,
    "vs_wandb": 100.0,
    "vs_trackio": 10.0,
    "writer_per_s": 2e6,
    "bytes_per_scalar": 12.0,
    "read_ms": 50.0,
    "import_ms": 150.0,
}


# =========================================================================================
# Worker side: runs in a fresh subprocess, one tracker, one measurement.
# =========================================================================================


Logger = Callable[[dict[str, float]], None]


def _open_tracker(name: str, work: Path, nkeys: int) -> tuple[Logger, Callable[[], None], Path]:
    """Start `name` in `work`; return its log(dict), its finish(), and the folder it writes."""
    config = {"lr": 1e-3, "batch_size": 64, "optimizer": "adam", "keys": nkeys}
    if name == "nbtrack":
        import nbtrack

        store = work / "nbtrack"
        run = nbtrack.init(project="bench", name=f"log-{nkeys}", dir=store, config=config)
        return run.log, run.finish, store
    if name == "wandb":
        import wandb

        data = work / "wandb"
        data.mkdir()
        settings = wandb.Settings(mode="offline", silent=True, console="off")
        wrun = wandb.init(
            project="bench", name=f"log-{nkeys}", dir=str(data), config=config, settings=settings
        )
        return wrun.log, wrun.finish, data
    if name == "trackio":
        import trackio

        trackio.init(project="bench", name=f"log-{nkeys}", config=config)
        return trackio.log, trackio.finish, Path(os.environ["TRACKIO_DIR"])
    if name == "mlflow":
        import mlflow

        data = work / "mlflow"
        data.mkdir()
        mlflow.set_tracking_uri(f"sqlite:///{data / 'mlflow.db'}")
        exp = mlflow.create_experiment("bench", artifact_location=(data / "artifacts").as_uri())
        mlflow.start_run(experiment_id=exp, run_name=f"log-{nkeys}")
        mlflow.log_params(config)
        step = [0]
        log_metrics = mlflow.log_metrics

        def mlflow_log(d: dict[str, float]) -> None:
            log_metrics(d, step=step[0])
            step[0] += 1

        return mlflow_log, mlflow.end_run, data
    if name == "tensorboard":
        from torch.utils.tensorboard import SummaryWriter

        data = work / "tb"
        writer = SummaryWriter(log_dir=str(data))
        tb_step = [0]
        add_scalar = writer.add_scalar

        def tb_log(d: dict[str, float]) -> None:
            s = tb_step[0]
            for k, v in d.items():
                add_scalar(k, v, s)
            tb_step[0] = s + 1

        return tb_log, writer.close, data
    if name == "noop":

        def noop(d: dict[str, float]) -> None:
            pass

        return noop, lambda: None, work
    raise ValueError(f"unknown tracker {name!r}")


def _key_names(nkeys: int) -> list[str]:
    base = ["train/loss", "train/acc", "val/loss", "val/acc"]
    if nkeys <= len(base):
        return base[:nkeys]
    return base + [f"layer{i // 8}/metric{i % 8}" for i in range(nkeys - len(base))]


def worker_loop(spec: dict[str, Any]) -> dict[str, Any]:
    """Time every log() call of one tracker on one shape, then its finish."""
    name, nkeys, steps = spec["tracker"], spec["keys"], spec["steps"]
    work = Path(spec["work"])
    keys = _key_names(nkeys)
    rng = random.Random(0).random  # random floats: nothing for a tracker to compress
    t = time.perf_counter()
    log, finish, data_dir = _open_tracker(name, work, nkeys)
    init_s = time.perf_counter() - t
    pc = time.perf_counter_ns
    timings = [0] * steps
    done = steps
    deadline = time.perf_counter() + spec["max_seconds"]
    for i in range(steps):
        d = {k: rng() for k in keys}
        t0 = pc()
        log(d)
        timings[i] = pc() - t0
        if (i & 255) == 255 and time.perf_counter() > deadline:
            done = i + 1
            break
    t = time.perf_counter()
    finish()
    finish_s = time.perf_counter() - t
    size = dir_bytes(data_dir)
    return {
        **summarize_ns(timings[:done]),
        "steps_done": done,
        "capped": done < steps,
        "init_s": init_s,
        "finish_s": finish_s,
        "disk_bytes": size,
        "bytes_per_scalar": size / (done * nkeys),
        "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def worker_read(spec: dict[str, Any]) -> dict[str, Any]:
    """Log one key for `points` steps, finish, then read it back through nbtrack.Api."""
    import nbtrack

    store = Path(spec["work"]) / "nbtrack"
    points = spec["points"]
    run = nbtrack.init(project="bench", name="read", dir=store)
    log = run.log
    rng = random.Random(1).random
    for _ in range(points):
        log({"train/loss": rng()})
    run.finish()
    path = run.path
    api = nbtrack.Api(dir=store)
    hist, series = [], []
    for _ in range(spec["rounds"]):
        t = time.perf_counter()
        h = api.run(path).history(keys=["train/loss"], pandas=False)  # the arrays, as before
        hist.append(time.perf_counter() - t)
        rec = api.run(path)
        t = time.perf_counter()
        s, _ = rec.series("train/loss")
        series.append(time.perf_counter() - t)
    ok = len(h["train/loss"]) == points and len(s) == points and int(s[-1]) == points - 1
    api.close()
    return {
        "points": points,
        "history_first_ms": hist[0] * 1e3,
        "history_best_ms": min(hist) * 1e3,
        "series_first_ms": series[0] * 1e3,
        "series_best_ms": min(series) * 1e3,
        "complete": ok,
    }


def worker_throughput(spec: dict[str, Any]) -> dict[str, Any]:
    """Log `keys` x `steps` scalars as fast as the loop goes; time until all is committed."""
    import nbtrack

    store = Path(spec["work"]) / "nbtrack"
    nkeys, steps = spec["keys"], spec["steps"]
    keys = _key_names(nkeys)
    # Rows made beforehand (from a small pool), so the loop is log() calls and nothing else.
    rng = random.Random(2).random
    pool = [{k: rng() for k in keys} for _ in range(1024)]
    run = nbtrack.init(project="bench", name=f"throughput-{nkeys}", dir=store)
    log = run.log
    pc = time.perf_counter_ns
    worst = 0
    t_first = pc()
    for i in range(steps):
        t0 = pc()
        log(pool[i & 1023])
        dt = pc() - t0
        if dt > worst:
            worst = dt
    t_loop = pc()
    run.finish()
    t_done = pc()
    scalars = nkeys * steps
    api = nbtrack.Api(dir=store)
    rec = api.run(run.path)
    stored = sum(len(rec.series(k)[0]) for k in keys)
    api.close()
    return {
        "keys": nkeys,
        "steps": steps,
        "scalars": scalars,
        "loop_s": (t_loop - t_first) / 1e9,
        "finish_s": (t_done - t_loop) / 1e9,
        "total_s": (t_done - t_first) / 1e9,
        "scalars_per_s": scalars / ((t_done - t_first) / 1e9),
        "max_log_us": worst / 1e3,
        "complete": stored == scalars,
        "bytes_per_scalar": dir_bytes(store) / scalars,
    }


def worker_main(spec: dict[str, Any]) -> None:
    kind = spec["kind"]
    if kind == "loop":
        out = worker_loop(spec)
    elif kind == "read":
        out = worker_read(spec)
    elif kind == "throughput":
        out = worker_throughput(spec)
    else:
        raise ValueError(f"unknown worker kind {kind!r}")
    # Peers print to stdout too; the marker makes our line easy to find among theirs.
    sys.stdout.write("\n" + RESULT_MARK + json.dumps(out) + "\n")
    sys.stdout.flush()


# =========================================================================================
# Driver side
# =========================================================================================


def _peak_tree_rss(proc: subprocess.Popen[str], out: dict[str, float]) -> None:
    """Sample the RSS of the worker and its children (W&B's service) until it exits."""
    try:
        import psutil
    except ImportError:
        return
    try:
        root = psutil.Process(proc.pid)
    except psutil.Error:
        return
    peak = 0
    while proc.poll() is None:
        total = 0
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            break
        for p in procs:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        peak = max(peak, total)
        time.sleep(0.05)
    out["tree_rss_mib"] = peak / 2**20


def run_worker(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run one measurement in a fresh subprocess; failures come back as {'error': ...}."""
    import threading

    work = Path(tempfile.mkdtemp(prefix="nbtrack-bench-"))
    spec = {**spec, "work": str(work)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
    rss: dict[str, float] = {}
    try:
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(
                cmd,
                cwd=work,
                env=worker_env(work),
                stdout=out,
                stderr=err,
                text=True,
                start_new_session=True,
            )
            sampler = threading.Thread(target=_peak_tree_rss, args=(proc, rss), daemon=True)
            sampler.start()
            try:
                rc = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
                return {"error": f"timed out after {timeout:.0f} s"}
            finally:
                sampler.join(5)
                # Helper processes a tracker left behind (W&B's service) go with the worker.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, 9)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            result: dict[str, Any] = json.loads(line[len(RESULT_MARK) :])
            result.update(rss)
            return result
    tail = [ln for ln in stderr.strip().splitlines() if ln.strip()][-1:] or [f"exit code {rc}"]
    return {"error": tail[0][:160]}


def importable(module: str) -> str | None:
    """None when `module` imports in a fresh interpreter, else the reason."""
    proc = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        capture_output=True,
        text=True,
        env=worker_env(Path(tempfile.gettempdir())),
        cwd=tempfile.gettempdir(),
        timeout=300,
    )
    if proc.returncode == 0:
        return None
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    return lines[-1][:160] if lines else f"exit code {proc.returncode}"


def measure_import(rounds: int) -> dict[str, Any]:
    """``import nbtrack`` in fresh interpreters: timed inside, and as a whole process.

    Inside: ``perf_counter`` around the import statement, alone and with NumPy already
    imported (as it is in any training script). Whole process: wall time of
    ``python -c "import nbtrack"`` minus that of ``python -c pass`` (this adds the teardown).
    Each is the best of `rounds`.
    """
    env = worker_env(Path(tempfile.gettempdir()))
    cwd = tempfile.gettempdir()

    def run(*args: str) -> str:
        return subprocess.run(
            [sys.executable, *args], env=env, cwd=cwd, check=True, capture_output=True, text=True
        ).stdout

    def wall(code: str) -> float:
        times = []
        for _ in range(rounds):
            t = time.perf_counter()
            run("-c", code)
            times.append(time.perf_counter() - t)
        return min(times)

    def inside(pre: str) -> float:
        code = f"{pre}import time; t = time.perf_counter(); import nbtrack; print(time.perf_counter() - t)"
        return min(float(run("-c", code)) for _ in range(rounds))

    bare = wall("pass")
    whole = wall("import nbtrack") - bare
    probe = (
        "import json, sys, nbtrack; "
        f"print(json.dumps({{m: m in sys.modules for m in {list(HEAVY_MODULES)!r}}}))"
    )
    loaded = json.loads(run("-c", probe))
    # -X importtime: the biggest cumulative costs among nbtrack and what it imports directly.
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import nbtrack"],
        env=env,
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m and len(m.group(3)) <= 5:  # nbtrack, its modules, and their direct imports
            rows.append((int(m.group(2)), m.group(4)))
    rows.sort(reverse=True)
    return {
        "bare_ms": bare * 1e3,
        "import_ms": inside("") * 1e3,
        "import_numpy_loaded_ms": inside("import numpy; ") * 1e3,
        "process_ms": whole * 1e3,
        "loaded": loaded,
        "top": [(name, us / 1e3) for us, name in rows[:8]],
    }


# -- report -------------------------------------------------------------------------------


def _loop_rows(
    results: dict[str, dict[str, Any]], order: list[str], shape: tuple[int, int]
) -> list[list[Any]]:
    nb = results.get("nbtrack", {})
    rows = []
    for name in order:
        r = results.get(name, {})
        label = LABELS[name]
        if "error" in r:
            rows.append([label, *["-"] * 8, f"failed: {r['error']}"])
            continue
        ratio = (
            f"{r['median_us'] / nb['median_us']:,.0f}x"
            if name not in ("nbtrack", "noop") and "median_us" in nb
            else "-"
        )
        note = "ok"
        if r.get("capped"):
            note = f"stopped after {r['steps_done']:,} of {shape[1]:,} steps (time cap)"
        rss = r.get("tree_rss_mib", 0.0)
        rows.append(
            [
                label,
                r["median_us"],
                r["p95_us"],
                r["mean_us"],
                ratio,
                r["init_s"],
                r["finish_s"],
                max(rss, r["maxrss_mib"]),
                r["bytes_per_scalar"] if name != "noop" else "-",
                note,
            ]
        )
    return rows


def _ratio_rows(loops: dict[str, dict[str, dict[str, Any]]], order: list[str]) -> list[list[Any]]:
    rows = []
    for shape_name, results in loops.items():
        nb = results.get("nbtrack", {})
        if "median_us" not in nb:
            continue
        for name in order:
            r = results.get(name, {})
            if name in ("nbtrack", "noop") or "median_us" not in r:
                continue

            def ratio(key: str, r: dict[str, Any] = r, nb: dict[str, Any] = nb) -> str:
                a, b = r.get(key), nb.get(key)
                return f"{a / b:,.1f}x" if a and b else "-"

            rss_peer = max(r.get("tree_rss_mib", 0.0), r["maxrss_mib"])
            rss_nb = max(nb.get("tree_rss_mib", 0.0), nb["maxrss_mib"])
            rows.append(
                [
                    f"{LABELS[name]}, {shape_name}",
                    ratio("median_us"),
                    ratio("p95_us"),
                    ratio("mean_us"),
                    ratio("finish_s"),
                    f"{rss_peer / rss_nb:,.1f}x",
                    ratio("bytes_per_scalar"),
                ]
            )
    return rows


def _verdict(measured: float | None, target: float, higher_is_better: bool = False) -> str:
    if measured is None or measured != measured:
        return "not measured"
    ok = measured >= target if higher_is_better else measured <= target
    return "met" if ok else "**missed**"


def build_report(res: dict[str, Any], args: argparse.Namespace, order: list[str]) -> str:
    out: list[str] = []
    out.append(f"Command: `{command_line()}`")
    out.append("")
    out += machine_lines(PACKAGES, res.get("loadavg"))
    out.append(
        f"- Harness: one subprocess per tracker and shape, run one after another; "
        f"a `perf_counter_ns()` pair costs {res['timer_ns']:.0f} ns here and is included "
        "in every per-call figure."
    )
    if args.quick:
        out.append("- **--quick**: a tenth of the steps; figures are indicative only.")
    out.append("")
    header = [
        "tracker",
        "log() median µs",
        "p95 µs",
        "mean µs",
        "median vs nbtrack",
        "init s",
        "finish s",
        "peak RSS MiB",
        "disk B/scalar",
        "status",
    ]
    for shape_name, results in res["loops"].items():
        out.append(f"### {shape_name}")
        out.append("")
        shape = res["shapes"][shape_name]
        out.append(md_table(header, _loop_rows(results, order, shape)))
        out.append("")
    ratio_rows = _ratio_rows(res["loops"], order)
    if ratio_rows:
        out.append("### Each peer relative to nbtrack (higher: nbtrack is better by that factor)")
        out.append("")
        out.append(
            md_table(
                ["peer, shape", "median", "p95", "mean", "finish", "peak RSS", "disk"],
                ratio_rows,
            )
        )
        out.append("")
    if res.get("read") or res.get("throughput") or res.get("import"):
        out.append("### nbtrack alone: reading back, writer throughput, import")
        out.append("")
        rd = res.get("read")
        if rd:
            if "error" in rd:
                out.append(f"- Read back: failed: {rd['error']}")
            else:
                out.append(
                    f"- Read one series of {rd['points']:,} points through `nbtrack.Api`: "
                    f"`api.run(path).history(keys=[key])` {fmt(rd['history_best_ms'])} ms "
                    f"(best of {args.read_rounds}; first {fmt(rd['history_first_ms'])} ms), "
                    f"`.series(key)` {fmt(rd['series_best_ms'])} ms "
                    f"(first {fmt(rd['series_first_ms'])} ms); all points back: "
                    f"{'yes' if rd['complete'] else '**no**'}."
                )
        for tp in res.get("throughput", []):
            if "error" in tp:
                out.append(f"- Writer throughput: failed: {tp['error']}")
                continue
            out.append(
                f"- Writer throughput, {tp['keys']} keys x {tp['steps']:,} steps "
                f"({tp['scalars']:,} scalars): {fmt(tp['scalars_per_s'] / 1e6)} M scalars/s from "
                f"the first log() to all committed (loop {fmt(tp['loop_s'])} s, then finish "
                f"{fmt(tp['finish_s'])} s); slowest log() call {fmt(tp['max_log_us'])} µs; "
                f"{fmt(tp['bytes_per_scalar'])} B/scalar on disk; all stored: "
                f"{'yes' if tp['complete'] else '**no**'}."
            )
        imp = res.get("import")
        if imp:
            heavy = [m for m, present in imp["loaded"].items() if present]
            top = ", ".join(f"{name} {ms:.0f} ms" for name, ms in imp["top"])
            out.append(
                f"- `import nbtrack` in a fresh interpreter: {fmt(imp['import_ms'])} ms "
                f"({fmt(imp['import_numpy_loaded_ms'])} ms when NumPy is imported already, as "
                f'in any training script); as a whole process, `python -c "import nbtrack"` '
                f"takes {fmt(imp['process_ms'])} ms more than `python -c pass` "
                f"({fmt(imp['bare_ms'])} ms). Best of {args.import_rounds} each. Heavy modules "
                f"loaded: {', '.join(heavy) if heavy else 'none'} (checked: "
                f"{', '.join(HEAVY_MODULES)}). Largest imports (`-X importtime`, cumulative): "
                f"{top}."
            )
        out.append("")
    out.append("### Targets")
    out.append("")
    out.append(md_table(["target", "measured", "verdict"], _target_rows(res)))
    out.append("")
    out.append(
        "How to read this: *log() µs* times each call in the training loop (the dict is built "
        "outside the timed region; values are random floats). *finish* is the flush and close "
        "after the loop. *peak RSS* is the larger of the worker's own `ru_maxrss` and the "
        "sampled sum over its process tree (W&B runs a separate service process). *disk* is "
        "every byte in the tracker's folder after finishing, over the number of scalars "
        "logged. MLflow logs each step with `mlflow.log_metrics(d, step=i)`; TensorBoard "
        "calls `add_scalar` once per key. A peer that cannot be installed or fails is listed "
        "with its error."
    )
    return "\n".join(out)


def _target_rows(res: dict[str, Any]) -> list[list[str]]:
    loops = res["loops"]
    names = list(loops)
    narrow = loops.get(names[0], {}) if names else {}
    wide = loops.get(names[1], {}) if len(names) > 1 else {}

    def get(d: dict[str, Any], key: str) -> float | None:
        v = d.get(key)
        return float(v) if isinstance(v, (int, float)) else None

    def factor(peer: str) -> tuple[str, float | None]:
        parts, worst = [], None
        for shape_name, results in loops.items():
            a = get(results.get(peer, {}), "median_us")
            b = get(results.get("nbtrack", {}), "median_us")
            if a is None or b is None:
                continue
            f = a / b
            worst = f if worst is None else min(worst, f)
            parts.append(f"{f:,.0f}x ({shape_name.split(',')[0]})")
        return (", ".join(parts) or "-"), worst

    rows = []
    m4 = get(narrow.get("nbtrack", {}), "median_us")
    rows.append(["log() of 4 scalars <= 1.5 µs median", f"{fmt(m4)} µs", _verdict(m4, 1.5)])
    m50 = get(wide.get("nbtrack", {}), "median_us")
    rows.append(["log() of 50 scalars <= 8 µs median", f"{fmt(m50)} µs", _verdict(m50, 8.0)])
    text, worst = factor("wandb")
    rows.append([">= 100x faster than W&B offline (median)", text, _verdict(worst, 100, True)])
    text, worst = factor("trackio")
    rows.append([">= 10x faster than trackio (median)", text, _verdict(worst, 10, True)])
    tps = [tp for tp in res.get("throughput", []) if "scalars_per_s" in tp]
    slowest = min((tp["scalars_per_s"] for tp in tps), default=None)
    rows.append(
        [
            "writer sustains 2M scalars/s",
            ", ".join(f"{tp['scalars_per_s'] / 1e6:.2f} M/s ({tp['keys']} keys)" for tp in tps)
            or "-",
            _verdict(slowest, 2e6, True),
        ]
    )
    disk = [get(loops[s].get("nbtrack", {}), "bytes_per_scalar") for s in names] + [
        get(tp, "bytes_per_scalar") for tp in tps
    ]
    disk_known = [d for d in disk if d is not None]
    rows.append(
        [
            "<= 12 bytes on disk per scalar",
            ", ".join(f"{d:.1f} B" for d in disk_known) or "-",
            _verdict(max(disk_known) if disk_known else None, 12.0),
        ]
    )
    rd = res.get("read") or {}
    rms = get(rd, "history_best_ms")
    rows.append(
        [
            f"read {rd.get('points', 1_000_000):,} points through Api <= 50 ms",
            f"history {fmt(rms)} ms, series {fmt(get(rd, 'series_best_ms'))} ms",
            _verdict(rms, 50.0),
        ]
    )
    imp = res.get("import") or {}
    ims = get(imp, "import_ms")
    heavy = [
        m for m, v in imp.get("loaded", {}).items() if v and m in ("torch", "bokeh", "fastapi")
    ]
    verdict = _verdict(ims, 150.0)
    if heavy:
        verdict = f"**missed** (loads {', '.join(heavy)})"
    shown = f"{fmt(ims)} ms (whole process: {fmt(get(imp, 'process_ms'))} ms)"
    rows.append(["import nbtrack <= 150 ms, no torch/bokeh/fastapi", shown, verdict])
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--trackers",
        default=",".join(TRACKERS),
        help="comma-separated subset of: " + ", ".join(TRACKERS),
    )
    p.add_argument("--quick", action="store_true", help="a tenth of the steps (a smoke run)")
    p.add_argument("--no-noop", action="store_true", help="leave out the harness baseline row")
    p.add_argument(
        "--skip-extras",
        action="store_true",
        help="only the side-by-side loops (no read, throughput, import)",
    )
    p.add_argument(
        "--max-seconds",
        type=float,
        default=180.0,
        help="stop a tracker's loop after this long and report the steps done",
    )
    p.add_argument("--read-rounds", type=int, default=7)
    p.add_argument("--import-rounds", type=int, default=9)
    p.add_argument(
        "--docs",
        type=Path,
        default=REPO / "docs" / "benchmarks.md",
        help="Markdown file whose 'Logging overhead' section is rewritten",
    )
    p.add_argument("--no-docs", action="store_true", help="print only; write no file")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        worker_main(json.loads(args.worker))
        return 0

    chosen = [t.strip() for t in args.trackers.split(",") if t.strip()]
    unknown = sorted(set(chosen) - set(TRACKERS))
    if unknown:
        p.error(f"unknown tracker(s): {', '.join(unknown)}; choose from {', '.join(TRACKERS)}")
    order = [t for t in TRACKERS if t in chosen] + ([] if args.no_noop else ["noop"])
    size = "quick" if args.quick else "full"
    started = time.perf_counter()

    def say(msg: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {msg}", file=sys.stderr, flush=True)

    res: dict[str, Any] = {
        "loadavg": loadavg(),
        "timer_ns": timer_overhead_ns(),
        "loops": {},
        "shapes": {},
    }
    missing = {}
    for name in order:
        why = importable(IMPORTS[name])
        if why:
            missing[name] = f"not installed ({why})"
            say(f"{name}: {missing[name]}")
    for nkeys, steps in SHAPES[size]:
        shape_name = f"{nkeys} scalars a step, {steps:,} steps"
        res["shapes"][shape_name] = (nkeys, steps)
        results: dict[str, dict[str, Any]] = {}
        for name in order:
            if name in missing:
                results[name] = {"error": missing[name]}
                continue
            say(f"{shape_name}: {name}")
            spec = {
                "kind": "loop",
                "tracker": name,
                "keys": nkeys,
                "steps": steps,
                "max_seconds": args.max_seconds,
            }
            r = run_worker(spec, timeout=args.max_seconds + 240)
            results[name] = r
            if "error" in r:
                say(f"  failed: {r['error']}")
            else:
                say(
                    f"  median {r['median_us']:.2f} µs, p95 {r['p95_us']:.2f} µs, "
                    f"finish {r['finish_s']:.2f} s"
                )
        res["loops"][shape_name] = results

    if "nbtrack" in order and "nbtrack" not in missing and not args.skip_extras:
        say(f"read back {READ_POINTS[size]:,} points")
        res["read"] = run_worker(
            {"kind": "read", "points": READ_POINTS[size], "rounds": args.read_rounds}, 600
        )
        res["throughput"] = []
        for nkeys, steps in THROUGHPUT[size]:
            say(f"writer throughput, {nkeys} keys x {steps:,} steps")
            res["throughput"].append(
                run_worker({"kind": "throughput", "keys": nkeys, "steps": steps}, 600)
            )
        say("import nbtrack")
        res["import"] = measure_import(args.import_rounds)

    report = build_report(res, args, order)
    print(report)
    if not args.no_docs:
        write_docs_section("Logging overhead", "bench:log_overhead", report, args.docs)
        results_dir = REPO / "bench" / "results"
        results_dir.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        (results_dir / f"log_overhead-{stamp}.json").write_text(
            json.dumps({"command": command_line(), **res}, indent=1, default=str)
        )
        say(f"wrote {args.docs} and bench/results/log_overhead-{stamp}.json")
    say("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())

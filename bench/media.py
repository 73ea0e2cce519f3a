"""Media (issue 12): what logging images costs the training loop, what the dashboard is sent,
and how the step slider scrubs, with W&B offline as the peer where it has a counterpart.

    .venv/bin/python bench/media.py                      # everything, about 4 minutes
    .venv/bin/python bench/media.py --quick --no-docs    # a smoke run, about a minute
    .venv/bin/python bench/media.py --parts log --trackers nbtrack,wandb

1. log: ``run.log({"preds": [Image(x) for x in batch16]})`` of 16 28x28 images, as uint8
   NumPy arrays (HW) and as float32 torch CPU tensors in [0, 1] (CHW, 1x28x28, as
   torchvision makes them). Each tracker (nbtrack; W&B with ``wandb.init(mode="offline")`` and
   ``wandb.Image``) runs in a fresh subprocess of bench/.venv's interpreter (the project's own
   when that is missing: W&B is then reported as not installed). The whole statement is timed
   with ``time.perf_counter_ns()`` (the Image constructors and the log call; the batch of
   arrays is made beforehand, every image a different one), `--reps` times, back to back and
   paced (2 ms of sleep after each statement: a training step that lets go of the GIL, as
   torch's operators do, so the writer thread encodes between steps). Then ``finish()`` is
   timed: what the writer still had to encode and commit. nbtrack's images are counted back
   through ``nbtrack.Api().run(path).media("preds")``; W&B's as the PNG files of its run folder.
2. feed: a run of `--steps` steps of 16 images each is logged to a store, then the dashboard's
   feed (``nbtrack.widget``'s `StoreFeed`, as ``nbtrack.show`` and ``nbtrack ui`` use it) is
   driven against a recording target: the ``media`` messages' thumbnail buffers are counted,
   as the page would receive them. Three cases: the run opened after it ended (one poll), the
   same images polled every 0.5 s while the run logs them (a page open during training: what
   the thinning sends before it drops), and incompressible noise instead of the digit-like
   images (the worst case for the PNG thumbnails). The HTML export of the run is sized too.
3. page: the run's page in headless Chromium (`bench/_browser.py`'s launch), served by
   ``nbtrack ui`` (thumbnails by URL) and opened from the exported HTML file (thumbnails in the
   file). ``input.nbt-media-slider`` is moved one position per animation frame
   (``requestAnimationFrame``-paced ``input`` events, as a dragged slider delivers them), first
   once from the newest position to the oldest (cold: thumbnails not fetched or decoded yet),
   then back and forth for `--scrub-seconds`; the frame time is the time between animation
   frames. Also noted: the time the ``input`` handler took, whether the shown step changed,
   and in how many frames every image of the step was loaded.

A part whose pieces have not landed (nbtrack's media types, the widget's media feed, the
page's media section) is reported with the reason, and the rest runs. Results go to
docs/benchmarks.md (section "Media") and bench/results/.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
# bench/ is not a package: its shared helpers sit beside this script.
from _common import (
    REPO,
    RESULT_MARK,
    command_line,
    fmt,
    loadavg,
    machine_lines,
    md_table,
    percentile,
    summarize_ns,
    timer_overhead_ns,
    worker_env,
    write_docs_section,
)

BENCH_PY = REPO / "bench" / ".venv" / "bin" / "python"
RESULTS = REPO / "bench" / "results"
PARTS = ("log", "feed", "page")
TRACKERS = ("nbtrack", "wandb")
LABELS = {"nbtrack": "nbtrack", "wandb": "W&B (offline)"}
SHAPES = {
    "uint8": "16 x uint8 NumPy 28x28",
    "torch": "16 x float32 torch CPU 1x28x28",
}
PROJECT = "media-bench"
KEY = "preds"
IMAGES = 16
SIDE = 28
PACE_S = 0.002

TARGET_LOG_US = 50.0
TARGET_FEED_BYTES = 2_000_000
# rAF times come in whole display refreshes; a frame counts as late past one refresh and a bit.
LATE_MS = 17.5


# =========================================================================================
# Test images: the same for every tracker (seeded), made before anything is timed.
# =========================================================================================


def digit_images(n: int, seed: int) -> Any:
    """`n` MNIST-like 28x28 uint8 images: three pen strokes (quadratic Bezier curves, about
    3 px wide, soft edges) on black, every image a different one. Their PNGs compress about
    as handwritten digits do (some 200 bytes), which matters for the bytes of thumbnails;
    `noise_images` is the incompressible bound."""
    import numpy as np

    rng = np.random.default_rng(seed)
    fine = 2 * SIDE  # the strokes are traced at twice the size, then summed down
    t = np.linspace(0.0, 1.0, 40, dtype=np.float32)[:, None]
    out = np.empty((n, SIDE, SIDE), np.uint8)
    for a in range(0, n, 1024):
        m = min(1024, n - a)
        ctrl = rng.uniform(6.0, 21.0, size=(m, 3, 3, 2)).astype(np.float32)
        p0, p1, p2 = ctrl[:, :, 0, None], ctrl[:, :, 1, None], ctrl[:, :, 2, None]
        pts = ((1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2).reshape(m, -1, 2)
        ij = np.rint(pts * 2).astype(np.int64)
        flat = (np.arange(m)[:, None] * fine * fine + ij[..., 1] * fine + ij[..., 0]).ravel()
        trace = np.minimum(np.bincount(flat, minlength=m * fine * fine), 1)
        ink = trace.reshape(m, SIDE, 2, SIDE, 2).sum(axis=(2, 4)).astype(np.float32)
        p = np.pad(ink, ((0, 0), (1, 1), (1, 1)))  # the pen: a 3x3 blur of the trace
        ink = p[:, :-2] + 2 * p[:, 1:-1] + p[:, 2:]
        ink = ink[:, :, :-2] + 2 * ink[:, :, 1:-1] + ink[:, :, 2:]
        out[a : a + m] = np.clip(ink * 24.0, 0, 255).astype(np.uint8)
    return out


def noise_images(n: int, seed: int) -> Any:
    import numpy as np

    return np.random.default_rng(seed).integers(0, 256, size=(n, SIDE, SIDE), dtype=np.uint8)


def batches_of(shape: str, reps: int, seed: int) -> list[list[Any]]:
    """`reps` batches of 16 images in the layout `shape` names (views into one array)."""
    arr = digit_images(reps * IMAGES, seed).reshape(reps, IMAGES, SIDE, SIDE)
    if shape == "uint8":
        return [list(arr[i]) for i in range(reps)]
    import torch

    ten = torch.from_numpy(arr).to(torch.float32).div_(255.0).unsqueeze(2)  # N, 16, 1, H, W
    return [list(ten[i]) for i in range(reps)]


# =========================================================================================
# Worker side: a fresh subprocess, one measurement.
# =========================================================================================


def _open(tracker: str, work: Path) -> tuple[Any, Any, Any, Any]:
    """(Image class, log, finish, run) of `tracker`, started in `work`."""
    config = {"bench": "media", "images": IMAGES}
    if tracker == "nbtrack":
        import nbtrack

        run = nbtrack.init(project=PROJECT, name="log", dir=work / "nbtrack", config=config)
        return nbtrack.Image, run.log, run.finish, run
    if tracker == "wandb":
        import wandb  # type: ignore[import-not-found,unused-ignore]  # a peer: bench/.venv only

        data = work / "wandb"
        data.mkdir(exist_ok=True)
        settings = wandb.Settings(mode="offline", silent=True, console="off")
        wrun = wandb.init(
            project=PROJECT, name="log", dir=str(data), config=config, settings=settings
        )
        return wandb.Image, wrun.log, wrun.finish, wrun
    raise ValueError(f"unknown tracker {tracker!r}")


def _nbtrack_ready() -> str | None:
    """Why nbtrack cannot log images yet (its media types or log()'s wiring missing), or None."""
    try:
        import nbtrack.media  # noqa: F401  # the package of issue 12's types
    except ImportError as e:
        return f"nbtrack.media is missing ({e})"
    return None


def _count_nbtrack(work: Path, path: str) -> dict[str, Any]:
    import nbtrack

    t = time.perf_counter()
    try:
        with nbtrack.Api(dir=work / "nbtrack") as api:
            rows = api.run(path).media(KEY)
    except (AttributeError, TypeError) as e:
        return {"stored_error": f"RunRecord.media is missing ({e})"}
    return {
        "stored_images": sum(len(items) for _, items in rows),
        "stored_steps": len({step for step, _ in rows}),
        "read_s": time.perf_counter() - t,
    }


def _count_wandb(work: Path) -> dict[str, Any]:
    pngs = [p for p in (work / "wandb").rglob("*.png") if "media" in p.parts]
    return {"stored_images": len(pngs), "stored_files": True}


def worker_log(spec: dict[str, Any]) -> dict[str, Any]:
    """Time `log({"preds": [Image(x) for x in batch]})` `reps` times, then `finish()`."""
    tracker, shape, reps = spec["tracker"], spec["shape"], spec["reps"]
    pace = spec["pace_s"]
    work = Path(spec["work"])
    if tracker == "nbtrack":
        why = _nbtrack_ready()
        if why:
            return {"error": why}
    batches = batches_of(shape, reps, seed=7)
    t = time.perf_counter()
    Image, log, finish, run = _open(tracker, work)
    init_s = time.perf_counter() - t
    # One statement before the loop: a log() that does not take images fails here, clearly.
    try:
        log({"warmup": [Image(x) for x in batches[0]]})
    except Exception as e:  # reported as the part's error, not a traceback
        finish()
        return {
            "error": f"log() of a list of {tracker} Images failed: {type(e).__name__}: {e}"[:300]
        }
    pc = time.perf_counter_ns
    whole = [0] * reps
    build = [0] * reps
    done = reps
    deadline = time.perf_counter() + spec["max_seconds"]
    sleep = time.sleep
    t_first = pc()
    for i in range(reps):
        batch = batches[i]
        t0 = pc()
        imgs = [Image(x) for x in batch]
        t1 = pc()
        log({KEY: imgs})
        t2 = pc()
        whole[i] = t2 - t0
        build[i] = t1 - t0
        if pace:
            sleep(pace)
        if (i & 63) == 63 and time.perf_counter() > deadline:
            done = i + 1
            break
    t_loop = pc()
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        finish()  # the writer thread's warnings (media it gave up on) are caught here too
    t_done = pc()
    out: dict[str, Any] = {
        **summarize_ns(whole[:done]),
        "build": summarize_ns(build[:done]),
        "reps_done": done,
        "capped": done < reps,
        "init_s": init_s,
        "loop_s": (t_loop - t_first) / 1e9,
        "finish_s": (t_done - t_loop) / 1e9,
        "first_to_done_s": (t_done - t_first) / 1e9,
        "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "expected_images": done * IMAGES,
        "warnings": [str(w.message)[:300] for w in caught if "nbtrack" in str(w.message)][:3],
    }
    if tracker == "nbtrack":
        out.update(_count_nbtrack(work, run.path))
    else:
        out.update(_count_wandb(work))
        out["expected_images"] += IMAGES  # its files: the warm-up's 16 as well
    return out


class Recorder:
    """A feed's target that keeps every message as the page would get it (content, buffers)."""

    def __init__(self) -> None:
        self.messages: list[tuple[dict[str, Any], list[bytes]]] = []
        self.lock = threading.Lock()

    def send(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        with self.lock:
            self.messages.append((content, [bytes(b) for b in buffers or ()]))

    def send_bokeh(self) -> None:
        pass  # BokehJS itself: not media, not counted

    def on_msg(self, callback: Any) -> None:
        pass  # the page's requests (full files) are not part of what is counted


def summarize_feed(messages: list[tuple[dict[str, Any], list[bytes]]]) -> dict[str, Any]:
    """The media messages' bytes, and what a page holds after them (the contract's rule)."""
    out: dict[str, Any] = {
        "media_messages": 0,
        "thin_messages": 0,
        "entries": 0,
        "kept": 0,
        "newest": 0,
        "files": 0,
        "buffer_bytes": 0,
        "json_bytes": 0,
        "other_bytes": 0,
        "strides": [],
    }
    held: dict[str, dict[int, int]] = {}  # key -> index -> step
    newest: dict[str, tuple[int, int] | None] = {}
    names: set[str] = set()
    dup = 0
    for content, buffers in messages:
        typ = content.get("type")
        size = len(json.dumps(content, separators=(",", ":")))
        if typ == "media":
            out["media_messages"] += 1
            out["json_bytes"] += size
            out["buffer_bytes"] += sum(len(b) for b in buffers)
            files = content.get("files") or []
            out["files"] += len(files)
            dup += sum(1 for f in files if f in names)
            names.update(files)
            for e in content.get("entries", []):
                out["entries"] += 1
                key, index = e["key"], int(e["index"])
                if e.get("keep", True):
                    out["kept"] += 1
                    held.setdefault(key, {})[index] = int(e["step"])
                    newest[key] = None
                else:
                    out["newest"] += 1
                    newest[key] = (index, int(e["step"]))
        elif typ == "media-thin":
            out["thin_messages"] += 1
            out["json_bytes"] += size
            stride = int(content["stride"])
            out["strides"].append(stride)
            key = content["key"]
            held[key] = {i: s for i, s in held.get(key, {}).items() if i % stride == 0}
        else:
            out["other_bytes"] += size + sum(len(b) for b in buffers)
    out["files_sent_twice"] = dup
    out["total_bytes"] = out["buffer_bytes"] + out["json_bytes"]
    pos = {k: len(v) + (1 if newest.get(k) else 0) for k, v in held.items()}
    out["positions"] = pos
    return out


def _log_images(run: Any, images: Any, steps: int, pace: float, loss: bool = True) -> float:
    import nbtrack

    Image = nbtrack.Image
    t = time.perf_counter()
    for i in range(steps):
        row: dict[str, Any] = {KEY: [Image(x) for x in images[i]]}
        if loss:
            row["loss"] = 1.0 / (1 + i)
        run.log(row)
        if pace:
            time.sleep(pace)
    return time.perf_counter() - t


def _store_thumbs(store: Path, path: str) -> dict[str, Any]:
    """Bytes of every distinct thumbnail the run's rows name (what sending all would cost)."""
    import nbtrack

    with nbtrack.Api(dir=store) as api:
        rec = api.run(path)
        rows, _ = rec.media_since(0)
    names = set()
    for row in rows:
        for item in row.payload.get("items", []):
            names.add(item["thumb"])
    size = sum(p.stat().st_size for p in store.rglob("*") if p.name in names)
    return {"store_rows": len(rows), "store_thumbs": len(names), "store_thumb_bytes": size}


def worker_feed(spec: dict[str, Any]) -> dict[str, Any]:
    """Log a run of `steps` x 16 images, then drive StoreFeed against a recording target."""
    why = _nbtrack_ready()
    if why:
        return {"error": why}
    import nbtrack
    from nbtrack.widget._dashboard import StoreFeed

    steps, store = spec["steps"], Path(spec["store"])
    make = noise_images if spec["images"] == "noise" else digit_images
    images = make(steps * IMAGES, seed=11).reshape(steps, IMAGES, SIDE, SIDE)
    run = nbtrack.init(project=PROJECT, name=spec["name"], dir=store)
    out: dict[str, Any] = {"steps": steps, "images": spec["images"], "run_path": run.path}
    out["run_id"] = run.id
    recorder = Recorder()
    stop = threading.Event()
    polls = [0]
    if spec["live"]:
        # A page open during training: the feed polls the store as `nbtrack ui`'s stream and
        # `nbtrack.show`'s thread do (every 0.5 s), from the first commit to the end.
        def follow() -> None:
            with nbtrack.Api(dir=store) as api:
                feed: StoreFeed | None = None
                while feed is None and not stop.is_set():
                    try:
                        feed = StoreFeed(recorder, api.run(run.path), follow=False)
                    except Exception:  # not in the store yet: the writer's first commit
                        time.sleep(0.1)
                while feed is not None and not stop.wait(0.5):
                    feed.poll()
                    polls[0] += 1
                if feed is not None:
                    feed.poll()  # after finish(): what the store gained since the last poll
                    polls[0] += 1

        poller = threading.Thread(target=follow, daemon=True)
        poller.start()
    out["loop_s"] = _log_images(run, images, steps, spec["pace_s"])
    t = time.perf_counter()
    run.finish()
    out["finish_s"] = time.perf_counter() - t
    if spec["live"]:
        stop.set()
        poller.join(60)
        out["polls"] = polls[0]
    else:
        with nbtrack.Api(dir=store) as api:
            t = time.perf_counter()
            StoreFeed(recorder, api.run(run.path), follow=False)
            out["feed_s"] = time.perf_counter() - t
        out["polls"] = 1
    out.update(summarize_feed(recorder.messages))
    try:
        out.update(_store_thumbs(store, run.path))
    except (AttributeError, KeyError, TypeError) as e:
        out["store_error"] = f"{type(e).__name__}: {e}"[:200]
    if spec.get("export"):
        out.update(_export(store, run.path, Path(spec["export"])))
    return out


def _export(store: Path, path: str, html: Path) -> dict[str, Any]:
    import nbtrack
    from nbtrack.export import export_run, run_messages

    t = time.perf_counter()
    export_run(path, html, dir=store)
    out: dict[str, Any] = {"export_s": time.perf_counter() - t, "export_bytes": html.stat().st_size}
    with nbtrack.Api(dir=store) as api:
        messages = run_messages(api.run(path))
    feed = summarize_feed([(c, list(b)) for c, b in messages])
    out["export_media"] = {
        k: feed[k] for k in ("media_messages", "entries", "files", "buffer_bytes")
    }
    return out


def worker_main(spec: dict[str, Any]) -> None:
    kind = spec["kind"]
    try:
        if kind == "log":
            out = worker_log(spec)
        elif kind == "feed":
            out = worker_feed(spec)
        else:
            raise ValueError(f"unknown worker kind {kind!r}")
    except Exception as e:  # one failed measurement is a row with its error
        import traceback

        traceback.print_exc()
        out = {"error": f"{type(e).__name__}: {e}"[:300]}
    # Peers print to stdout too; the marker makes our line easy to find among theirs.
    sys.stdout.write("\n" + RESULT_MARK + json.dumps(out) + "\n")
    sys.stdout.flush()


# =========================================================================================
# Driver side
# =========================================================================================


def say(msg: str) -> None:
    print(f"[media {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run_worker(
    spec: dict[str, Any],
    python: str,
    timeout: float,
    work: Path | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One measurement in a fresh subprocess of `python`; failures come back as {'error'}."""
    own = work is None
    work = work or Path(tempfile.mkdtemp(prefix="nbtrack-media-bench-"))
    spec = {**spec, "work": str(work)}
    cmd = [python, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
    try:
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(
                cmd,
                cwd=work,
                env=worker_env(work, **(env or {})),
                stdout=out,
                stderr=err,
                text=True,
                start_new_session=True,
            )
            try:
                rc = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return {"error": f"timed out after {timeout:.0f} s"}
            finally:
                # Helper processes a tracker left behind (W&B's service) go with the worker.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            result: dict[str, Any] = json.loads(line[len(RESULT_MARK) :])
            return result
    tail = [ln for ln in stderr.strip().splitlines() if ln.strip()][-1:] or [f"exit code {rc}"]
    return {"error": tail[0][:200]}


def importable(python: str, module: str) -> str | None:
    """None when `module` imports in a fresh `python`, else the reason."""
    proc = subprocess.run(
        [python, "-c", f"import {module}"],
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


# -- part 1 ---------------------------------------------------------------------------------


def part_log(args: argparse.Namespace, python: str) -> dict[str, Any]:
    trackers = [t for t in TRACKERS if t in args.trackers]
    missing = {}
    for t in trackers:
        why = importable(python, "wandb" if t == "wandb" else "nbtrack")
        if why:
            missing[t] = f"not installed in {Path(python).parent.parent.name or python} ({why})"
            say(f"log: {t}: {missing[t]}")
    rows: list[dict[str, Any]] = []
    for shape in SHAPES:
        if shape == "torch" and importable(python, "torch"):
            for t in trackers:
                rows.append({"tracker": t, "shape": shape, "pace": 0.0, "error": "no torch"})
            continue
        for pace in (0.0, PACE_S):
            for t in trackers:
                if t == "wandb" and pace:
                    continue  # W&B's cost is all on this thread: pacing changes nothing of it
                row: dict[str, Any] = {"tracker": t, "shape": shape, "pace": pace}
                if t in missing:
                    rows.append({**row, "error": missing[t]})
                    continue
                say(f"log: {t}, {SHAPES[shape]}, {'paced' if pace else 'back to back'}")
                spec = {
                    "kind": "log",
                    "tracker": t,
                    "shape": shape,
                    "reps": args.reps,
                    "pace_s": pace,
                    "max_seconds": args.max_seconds,
                }
                r = run_worker(spec, python, timeout=args.max_seconds + 300)
                if "error" in r:
                    say(f"  failed: {r['error']}")
                else:
                    say(
                        f"  median {r['median_us']:.1f} µs, p99 {r['p99_us']:.1f} µs, "
                        f"finish {r['finish_s']:.2f} s, stored {r.get('stored_images')}"
                    )
                rows.append({**row, **r})
    return {"rows": rows, "reps": args.reps, "python": str(python)}


# -- part 2 ---------------------------------------------------------------------------------


def part_feed(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """The three feeds; the first one's store is kept in `work` for the page part."""
    cases = [
        ("after", "digits", False, "the run opened after it ended (one poll)"),
        ("live", "digits", True, "polled every 0.5 s while the run logs (a page open in training)"),
        ("noise", "noise", False, "incompressible noise, opened after it ended"),
    ]
    out: dict[str, Any] = {"steps": args.steps, "cases": {}}
    for name, images, live, label in cases:
        store = work / f"store-{name}"
        spec = {
            "kind": "feed",
            "steps": args.steps,
            "images": images,
            "live": live,
            "name": f"feed-{name}",
            "store": str(store),
            # live: about 100 steps a second, a training loop of 10 s for 1,000 steps
            "pace_s": 0.01 if live else 0.0,
            "export": str(work / "run.html") if name == "after" else None,
        }
        say(f"feed: {label}")
        # The run must be whole for its feed to be measured: finish() may wait for the
        # writer as long as it takes (its default gives up after 30 s; see the log part).
        wait = {"NBTRACK_FINISH_WAIT_S": "600"}
        r = run_worker(spec, sys.executable, timeout=1200, work=work, env=wait)
        r["label"] = label
        if "error" in r:
            say(f"  failed: {r['error']}")
        else:
            say(
                f"  {r['media_messages']} media messages, {r['files']} files, "
                f"{r['buffer_bytes'] / 1e6:.2f} MB of thumbnails"
            )
        out["cases"][name] = r
    after = out["cases"].get("after", {})
    if "run_id" in after:
        out["store"] = str(work / "store-after")
        out["run_id"] = after["run_id"]
        out["export_html"] = str(work / "run.html") if "export_bytes" in after else None
    return out


# -- part 3 ---------------------------------------------------------------------------------

SLIDER = f'.nbt-media-panel[data-key="{KEY}"] input.nbt-media-slider'
PANEL = f'.nbt-media-panel[data-key="{KEY}"]'

# Runs in the page: one slider position an animation frame. Pass "cold" goes once from the
# slider's position (the newest) to the oldest; pass "warm" goes back and forth from where it
# is until `seconds` are over. Per frame: the rAF time, how long the input handler took,
# whether the shown step changed, and whether every image of the shown step had loaded by
# the next frame. Idle frames (no input) are recorded first for `idleMs`.
SCRUB = """
async ([panelSel, pass, seconds, idleMs]) => {
  const panel = document.querySelector(panelSel);
  const slider = panel.querySelector('input.nbt-media-slider');
  const stepEl = panel.querySelector('.nbt-media-step');
  const n = +slider.max + 1;
  const frame = () => new Promise((r) => requestAnimationFrame(r));
  const loaded = () => {
    const imgs = panel.querySelectorAll('.nbt-media-grid .nbt-media-item img');
    let ok = 0;
    for (const img of imgs) if (img.complete && img.naturalWidth > 0) ok++;
    return [ok, imgs.length];
  };
  const idle = [];
  const t0 = performance.now();
  while (performance.now() - t0 < idleMs) idle.push(await frame());
  const idleDt = [];
  for (let i = 1; i < idle.length; i++) idleDt.push(idle[i] - idle[i - 1]);
  const rec = [];
  let pos = +slider.value;
  let dir = pass === 'cold' || pos >= n - 1 ? -1 : 1;
  const start = await frame();
  let last = start, stepText = stepEl ? stepEl.textContent : '';
  while (true) {
    const t = await frame();
    const [ok, total] = loaded();
    if (rec.length) {
      const r = rec[rec.length - 1];
      r.dt = t - last;
      r.all_loaded_next = ok === total && total > 0;
    }
    last = t;
    if (pass === 'warm' && t - start > seconds * 1000) break;
    let next = pos + dir;
    if (next < 0 || next >= n) {
      if (pass === 'cold') break;
      dir = -dir;
      next = pos + dir;
      if (next < 0 || next >= n) break;  // one position: nothing to scrub
    }
    pos = next;
    const h0 = performance.now();
    slider.value = String(pos);
    slider.dispatchEvent(new Event('input', { bubbles: true }));
    const h1 = performance.now();
    const text = stepEl ? stepEl.textContent : '';
    rec.push({ pos, handler: h1 - h0, changed: text !== stepText });
    stepText = text;
  }
  return { positions: n, idle: idleDt, frames: rec.filter((r) => r.dt !== undefined) };
}
"""


def frame_stats(frames: list[dict[str, Any]]) -> dict[str, Any]:
    dts = sorted(float(f["dt"]) for f in frames)
    hs = sorted(float(f["handler"]) for f in frames)
    if not dts:
        return {"frames": 0}
    return {
        "frames": len(dts),
        "p50": percentile(dts, 50),
        "p95": percentile(dts, 95),
        "max": dts[-1],
        # Over one refresh: the intervals of frames on time read 16.67-16.8 ms (clock jitter).
        "over_frame": sum(1 for d in dts if d > LATE_MS) / len(dts),
        "handler_p50": percentile(hs, 50),
        "handler_p95": percentile(hs, 95),
        "changed": sum(1 for f in frames if f["changed"]) / len(frames),
        "all_loaded": sum(1 for f in frames if f.get("all_loaded_next")) / len(frames),
        "fps": 1000 * len(dts) / sum(dts) if sum(dts) else 0.0,
    }


def _scrub(
    browser: Any,
    url: str,
    seconds: float,
    count_media: bool,
    shot: Path | None,
    profile: bool = False,
) -> dict[str, Any]:
    context = browser.new_context(
        viewport={"width": 1400, "height": 1200}, device_scale_factor=1, bypass_csp=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    fetched: dict[str, Any] = {"requests": 0, "bytes": 0, "status": {}, "failed": 0}
    if count_media:

        def on_response(resp: Any) -> None:
            if "/media/" in resp.url:
                fetched["requests"] += 1
                code = str(resp.status)
                fetched["status"][code] = fetched["status"].get(code, 0) + 1
                fetched["bytes"] += int(resp.headers.get("content-length") or 0)

        def on_failed(req: Any) -> None:
            if "/media/" in req.url:
                fetched["failed"] += 1  # cancelled (the src changed before it came) or refused

        page.on("response", on_response)
        page.on("requestfailed", on_failed)
    try:
        t = time.perf_counter()
        page.goto(url)
        try:
            page.wait_for_selector(SLIDER, state="attached", timeout=60_000)
        except Exception:
            has_section = page.locator(".nbt-media").count() > 0
            return {
                "error": "the page shows no "
                + ("media slider" if has_section else "media section (.nbt-media)")
                + f" for {KEY!r} within 60 s (has the page's media section landed?)",
                "page_errors": errors[:3],
            }
        # The slider's range is complete once it stops growing (the feed's messages are in).
        n, stable_since = -1, time.monotonic()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and time.monotonic() - stable_since < 1.5:
            m = int(page.locator(SLIDER).get_attribute("max") or 0)
            if m != n:
                n, stable_since = m, time.monotonic()
            time.sleep(0.1)
        load_s = time.perf_counter() - t
        page.locator(PANEL).scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        cold = page.evaluate(SCRUB, [PANEL, "cold", 0, 1000])
        cdp = None
        if profile:
            cdp = context.new_cdp_session(page)
            cdp.send("Profiler.enable")
            cdp.send("Profiler.setSamplingInterval", {"interval": 200})
            cdp.send("Profiler.start")
        warm = page.evaluate(SCRUB, [PANEL, "warm", seconds, 0])
        top: list[list[Any]] = []
        if cdp is not None:
            from widget_latency import _script_labels, profile_top

            prof = cdp.send("Profiler.stop")["profile"]
            top = profile_top(prof, _script_labels(cdp, prof), n=15)
            cdp.detach()
        if shot is not None:
            page.locator(PANEL).screenshot(path=str(shot))
    finally:
        context.close()
    idle = sorted(cold["idle"])
    return {
        "positions": cold["positions"],
        "load_s": load_s,
        "idle": {"p50": percentile(idle, 50), "p95": percentile(idle, 95), "n": len(idle)},
        "cold": frame_stats(cold["frames"]),
        "warm": frame_stats(warm["frames"]),
        "media_fetched": fetched if count_media else None,
        "profile_top": top,
        "page_errors": errors[:3],
    }


@contextlib.contextmanager
def nbtrack_ui(store: Path) -> Iterator[str]:
    """``nbtrack ui`` on a free port of 127.0.0.1 over `store`; its URL. Ctrl-C at the end."""
    cmd = [sys.executable, "-m", "nbtrack.cli", "--dir", str(store), "ui", "--port", "0"]
    env = worker_env(store.parent)
    proc = subprocess.Popen(
        [*cmd, "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        line, deadline = "", time.monotonic() + 60
        while time.monotonic() < deadline and "http://" not in line:
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if ready:
                line = proc.stdout.readline()
                if not line:
                    break
        if "http://" not in line:
            err = proc.stderr.read() if proc.poll() is not None and proc.stderr else ""
            raise RuntimeError(
                f"nbtrack ui printed no URL ({line.strip()!r}; {err.strip()[-200:]})"
            )
        yield line.split(" at ", 1)[1].split()[0]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate(timeout=30)


def part_page(args: argparse.Namespace, feed: dict[str, Any]) -> dict[str, Any]:
    if not feed.get("store"):
        why = feed.get("cases", {}).get("after", {}).get("error", "the feed part did not run")
        return {"error": f"no run with media to open ({why})"}
    try:
        from _browser import chromium
    except ImportError as e:
        return {"error": f"Playwright is not importable here ({e}); run with the project's venv"}
    out: dict[str, Any] = {}
    store, run_id = Path(feed["store"]), feed["run_id"]
    with chromium() as browser:
        out["chromium"] = browser.version
        say("page: nbtrack ui's run page")
        why = importable(sys.executable, "nbtrack.server.pages")
        if why:
            out["ui"] = {"error": f"nbtrack ui needs the server extra ({why})"}
        else:
            try:
                with nbtrack_ui(store) as url:
                    page_url = f"{url}{quote(PROJECT, safe='')}/runs/{quote(run_id, safe='')}"
                    shot = None if args.no_docs else RESULTS / "media_slider_ui.png"
                    out["ui"] = _scrub(
                        browser, page_url, args.scrub_seconds, True, shot, args.profile
                    )
            except Exception as e:  # reported in the table
                out["ui"] = {"error": f"{type(e).__name__}: {e}"[:300]}
        if feed.get("export_html"):
            say("page: the exported HTML file")
            try:
                shot = None if args.no_docs else RESULTS / "media_slider_export.png"
                html = Path(feed["export_html"]).as_uri()
                out["export"] = _scrub(browser, html, args.scrub_seconds, False, shot, args.profile)
            except Exception as e:  # reported in the table
                out["export"] = {"error": f"{type(e).__name__}: {e}"[:300]}
        else:
            err = feed.get("cases", {}).get("after", {}).get("export_error", "no export file")
            out["export"] = {"error": err}
    for host in ("ui", "export"):
        r = out.get(host, {})
        if "error" in r:
            say(f"  {host}: {r['error']}")
        else:
            w = r["warm"]
            say(f"  {host}: warm p50 {fmt(w.get('p50'))} ms, p95 {fmt(w.get('p95'))} ms")
    return out


# -- report ---------------------------------------------------------------------------------


def verdict(ok: bool | None) -> str:
    if ok is None:
        return "not measured"
    return "met" if ok else "**missed**"


def _row_of(rows: list[dict[str, Any]], tracker: str, shape: str, pace: float) -> dict[str, Any]:
    for r in rows:
        if r["tracker"] == tracker and r["shape"] == shape and r["pace"] == pace:
            return r
    return {}


def _stored(r: dict[str, Any]) -> str:
    if "stored_error" in r:
        return f"not counted: {r['stored_error']}"
    if "stored_images" not in r:
        return "-"
    ok = r["stored_images"] == r["expected_images"]
    text = f"{r['stored_images']:,} of {r['expected_images']:,}"
    if r.get("stored_files"):
        text += " PNG files"
    return text + ("" if ok else " (**lost some**)")


def report_log(res: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    lines: list[str] = []
    targets: list[list[str]] = []
    rows = res["rows"]
    reps = res["reps"]
    lines += [
        f'### 1. `run.log({{"{KEY}": [Image(x) for x in batch16]}})`, {reps:,} statements',
        "",
    ]
    table = []
    for shape in SHAPES:
        for pace in (0.0, PACE_S):
            nb = _row_of(rows, "nbtrack", shape, pace)
            for t in TRACKERS:
                r = _row_of(rows, t, shape, pace)
                if not r:
                    continue
                label = f"{LABELS[t]}, {SHAPES[shape]}, {'paced 2 ms' if pace else 'back to back'}"
                if "error" in r:
                    table.append([label, *["-"] * 9, f"failed: {r['error']}"])
                    continue
                ratio = (
                    f"{r['median_us'] / nb['median_us']:,.0f}x"
                    if t != "nbtrack" and "median_us" in nb
                    else "-"
                )
                note = "ok"
                if r.get("capped"):
                    note = f"stopped after {r['reps_done']:,} statements (time cap)"
                table.append(
                    [
                        label,
                        r["median_us"],
                        r["p99_us"],
                        r["mean_us"],
                        r["build"]["median_us"],
                        ratio,
                        r["init_s"],
                        r["finish_s"],
                        r["first_to_done_s"],
                        _stored(r),
                        note,
                    ]
                )
    lines.append(
        md_table(
            [
                "tracker, images, loop",
                "statement median µs",
                "p99 µs",
                "mean µs",
                "of it: the 16 constructors, median µs",
                "median vs nbtrack",
                "init s",
                "finish s",
                "first log() to all stored s",
                "images stored",
                "status",
            ],
            table,
        )
    )
    lines += [
        "",
        "*statement* is the whole line, timed with a `perf_counter_ns()` pair around it "
        "(a second pair after the constructors splits off their part); the 16 arrays of each "
        "statement are views into one array made beforehand, every image a different one. "
        "*back to back* logs one statement after another; *paced* sleeps 2 ms after each (a "
        "training step that lets go of the GIL), so that nbtrack's writer encodes between "
        "statements as it would in training. *finish* is what was left to encode and commit "
        "after the loop (for W&B: its service writing the run file); *first log() to all "
        "stored* covers the loop and the finish. nbtrack's images are counted back through "
        f'`nbtrack.Api().run(path).media("{KEY}")`, W&B\'s as PNG files in its run folder '
        "(the warm-up statement's 16 included).",
        "",
    ]
    warned = [
        f"- {LABELS[r['tracker']]}, {SHAPES[r['shape']]}, "
        f"{'paced' if r['pace'] else 'back to back'}: finish() warned: " + "; ".join(r["warnings"])
        for r in rows
        if r.get("warnings")
    ]
    if warned:
        lines += [*warned, ""]
    for shape in SHAPES:
        nb = _row_of(rows, "nbtrack", shape, 0.0)
        nbp = _row_of(rows, "nbtrack", shape, PACE_S)
        wb = _row_of(rows, "wandb", shape, 0.0)
        med = nb.get("median_us")
        targets.append(
            [
                f"log() of {SHAPES[shape]} images <= {TARGET_LOG_US:.0f} µs (median, back to back; "
                "p99 and paced shown)",
                f"median {fmt(med)} µs, p99 {fmt(nb.get('p99_us'))} µs; paced: median "
                f"{fmt(nbp.get('median_us'))} µs, p99 {fmt(nbp.get('p99_us'))} µs"
                if med is not None
                else nb.get("error", "-"),
                verdict(med <= TARGET_LOG_US if med is not None else None),
            ]
        )
        wmed = wb.get("median_us")
        targets.append(
            [
                f"(W&B offline, the same statement, {SHAPES[shape]})",
                f"median {fmt(wmed)} µs: {wmed / med:,.0f}x nbtrack's"
                if wmed is not None and med
                else wb.get("error", "-"),
                "comparison",
            ]
        )
        if "stored_images" in nb or "stored_error" in nb:
            ok = nb.get("stored_images") == nb.get("expected_images")
            targets.append(
                [
                    f"writer encodes them all, nothing lost ({SHAPES[shape]})",
                    f"{_stored(nb)}; finish {fmt(nb['finish_s'])} s, all stored "
                    f"{fmt(nb['first_to_done_s'])} s after the first log() "
                    f"({nb['expected_images'] / nb['first_to_done_s']:,.0f} images/s)",
                    verdict(ok if "stored_images" in nb else None),
                ]
            )
    return lines, targets


def report_feed(res: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    steps = res["steps"]
    lines = [f"### 2. What the dashboard is sent: {steps:,} steps of {IMAGES} images", ""]
    table = []
    targets: list[list[str]] = []
    for name, r in res["cases"].items():
        if "error" in r:
            table.append([r["label"], *["-"] * 7, f"failed: {r['error']}"])
            continue
        pos = r["positions"].get(KEY)
        store = (
            f"{r['store_thumbs']:,} / {r['store_thumb_bytes'] / 1e6:.2f} MB"
            if "store_thumbs" in r
            else r.get("store_error", "-")
        )
        table.append(
            [
                r["label"],
                f"{r['media_messages']:,} + {r['thin_messages']} thin",
                f"{r['entries']:,} ({r['kept']:,} kept, {r['newest']} newest)",
                f"{r['files']:,}"
                + (f" ({r['files_sent_twice']} twice)" if r["files_sent_twice"] else ""),
                r["buffer_bytes"] / 1e6,
                r["json_bytes"] / 1e6,
                str(pos) if pos is not None else "-",
                store,
                (
                    "ok"
                    if r.get("store_rows", steps) >= steps
                    else f"**run incomplete**: {r['store_rows']:,} of {steps:,} steps stored"
                )
                if r["media_messages"]
                else "**no media messages** (feed not landed?)",
            ]
        )
        if name in ("after", "live"):
            b = r["buffer_bytes"]
            targets.append(
                [
                    f"thumbnail bytes to the page, {steps:,} steps x {IMAGES} images <= 2 MB "
                    f"({'page open while training' if name == 'live' else 'page opened after'})",
                    f"{b / 1e6:.2f} MB of buffers (+{r['json_bytes'] / 1e6:.2f} MB JSON), "
                    f"{r['files']:,} files",
                    verdict(b <= TARGET_FEED_BYTES if r["media_messages"] else None),
                ]
            )
    lines.append(
        md_table(
            [
                "feed (StoreFeed -> recording target)",
                "media messages",
                "entries sent",
                "files sent",
                "buffer MB",
                "JSON MB",
                "slider positions held",
                "all thumbs in the store (files / MB)",
                "status",
            ],
            table,
        )
    )
    after = res["cases"].get("after", {})
    lines.append("")
    lines.append(
        "*buffer MB* are the thumbnail bytes the `media` messages carry (what the page receives "
        "besides the JSON), counted as the feed hands them to its target; *slider positions "
        "held* is what the page holds after applying the messages by the contract's rule (kept "
        "entries thinned by `media-thin`, plus the newest off-stride entry). The images are "
        "digit-like strokes on black (their PNGs compress as MNIST's do); the noise row is the "
        "incompressible bound. The live row polls the store every 0.5 s while the loop logs "
        "100 steps a second, as `nbtrack.show` and `nbtrack ui` follow a run: entries sent "
        "before a thinning are counted, though the page drops them afterwards."
    )
    if "export_bytes" in after:
        em = after["export_media"]
        lines.append("")
        lines.append(
            f"- HTML export of the same run (`nbtrack.export.export_run`): "
            f"{after['export_bytes'] / 1e6:.2f} MB file in {fmt(after['export_s'])} s; its media "
            f"messages: {em['entries']:,} entries, {em['files']:,} thumbnails, "
            f"{em['buffer_bytes'] / 1e6:.2f} MB of them (before base64)."
        )
    elif after.get("export_error"):
        lines.append("")
        lines.append(f"- HTML export: failed: {after['export_error']}")
    lines.append("")
    return lines, targets


def report_page(res: dict[str, Any], steps: int) -> tuple[list[str], list[list[str]]]:
    lines = [f"### 3. The step slider at 60 frames a second ({steps:,}-step run)", ""]
    targets: list[list[str]] = []
    table = []
    hosts = {"ui": "`nbtrack ui` run page", "export": "exported HTML file"}
    for host, label in hosts.items():
        r = res.get(host)
        if not r:
            continue
        if "error" in r:
            table.append([label, *["-"] * 9, f"failed: {r['error']}"])
            targets.append([f"slider at 60 fps ({label})", r["error"], "not measured"])
            continue
        for phase in ("cold", "warm"):
            s = r[phase]
            if not s.get("frames"):
                table.append([f"{label}, {phase}", *["-"] * 9, "no frames"])
                continue
            table.append(
                [
                    f"{label}, {phase}",
                    f"{s['frames']}",
                    s["p50"],
                    s["p95"],
                    s["max"],
                    f"{s['over_frame'] * 100:.1f}%",
                    f"{s['handler_p50']:.2f} / {s['handler_p95']:.2f}",
                    f"{s['changed'] * 100:.0f}%",
                    f"{s['all_loaded'] * 100:.0f}%",
                    f"{s['fps']:.0f}",
                    "ok",
                ]
            )
        w = r["warm"]
        if w.get("frames"):
            targets.append(
                [
                    f"slider at 60 fps, swapping the images ({label}; warm: frame p95 <= "
                    f"{LATE_MS} ms, i.e. <5% of frames miss a refresh, and the step's images "
                    "shown in >= 95% of frames)",
                    f"p50 {fmt(w['p50'])} / p95 {fmt(w['p95'])} ms, {w['over_frame'] * 100:.1f}% "
                    f"over 16.7 ms; step changed in {w['changed'] * 100:.0f}%, all its images "
                    f"loaded in {w['all_loaded'] * 100:.0f}% of frames",
                    verdict(
                        w["p95"] <= LATE_MS and w["changed"] > 0.95 and w["all_loaded"] >= 0.95
                    ),
                ]
            )
    lines.append(
        md_table(
            [
                "page, pass",
                "frames",
                "frame p50 ms",
                "p95 ms",
                "max ms",
                "> 16.7 ms (a refresh missed)",
                "input handler p50 / p95 ms",
                "step changed",
                "all 16 images loaded",
                "frames/s",
                "status",
            ],
            table,
        )
    )
    lines.append("")
    for host, label in hosts.items():
        r = res.get(host)
        if r and "error" not in r:
            text = (
                f"- {label}: {r['positions']} slider positions; the page was ready (slider "
                f"range complete) {fmt(r['load_s'])} s after navigation; idle frames before "
                f"scrubbing p50 {fmt(r['idle']['p50'])} ms, p95 {fmt(r['idle']['p95'])} ms."
            )
            if r.get("media_fetched"):
                m = r["media_fetched"]
                codes = ", ".join(f"{n:,} HTTP {c}" for c, n in sorted(m["status"].items()))
                text += (
                    f" Thumbnails fetched by URL (`/media/<name>`): {m['requests']:,} responses "
                    f"({codes or 'none'}), {m['bytes'] / 1e6:.2f} MB; {m['failed']:,} requests "
                    "failed or were cancelled."
                )
            if r.get("page_errors"):
                text += f" Page errors: {'; '.join(r['page_errors'])}"
            lines.append(text)
    for host, label in hosts.items():
        r = res.get(host)
        if r and r.get("profile_top"):
            lines += [
                "",
                f"CPU profile of the page during the warm scrub, {label} (self time, "
                "`--profile`; the profiler slows the page a little):",
                "",
                md_table(
                    ["ms", "function", "where"],
                    [[x[0], x[1], x[2] or "(native)"] for x in r["profile_top"]],
                ),
            ]
    lines += [
        "",
        "One slider position per animation frame, set with `slider.value = i` and an `input` "
        "event from inside `requestAnimationFrame` (what a dragged slider delivers); *cold* is "
        "the first pass from the newest position to the oldest (thumbnails not yet fetched or "
        "decoded), *warm* the passes back and forth after it. Frame time is the time between "
        "animation frames, and a frame counts as over 16.7 ms when it took more than "
        f"{LATE_MS} ms (frames on time read 16.67 to 16.8 ms: the clock's jitter), i.e. it "
        "missed a refresh; *input handler* is the time the page's handler took in the event; "
        "*step changed* the frames whose `.nbt-media-step` text changed; *all 16 images "
        "loaded* the frames at whose next frame every `img` of the grid was complete. Headless "
        "Chromium with SwiftShader on this machine's CPU cores.",
        "",
    ]
    return lines, targets


def build_report(res: dict[str, Any], args: argparse.Namespace) -> str:
    out: list[str] = [f"Command: `{res['command']}`", "", *res["machine"]]
    out.append(
        f"- Harness: a fresh subprocess per tracker and loop, one after another; a "
        f"`perf_counter_ns()` pair costs {res['timer_ns']:.0f} ns here and is included in every "
        "per-statement figure."
    )
    if args.quick:
        out.append("- **--quick**: small sizes; figures are indicative only.")
    out.append("")
    sections: list[str] = []
    targets: list[list[str]] = []
    if "log" in res:
        lines, t = report_log(res["log"])
        sections += lines
        targets += t
    if "feed" in res:
        lines, t = report_feed(res["feed"])
        sections += lines
        targets += t
    if "page" in res:
        if "error" in res["page"]:
            sections += ["### 3. The step slider", "", f"Not measured: {res['page']['error']}", ""]
            targets.append(["slider at 60 fps", res["page"]["error"], "not measured"])
        else:
            lines, t = report_page(res["page"], res.get("feed", {}).get("steps", args.steps))
            sections += lines
            targets += t
    out += ["### Targets", "", md_table(["target", "measured", "verdict"], targets), ""]
    out += sections
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--parts", default=",".join(PARTS), help="subset of: " + ", ".join(PARTS))
    p.add_argument("--trackers", default=",".join(TRACKERS), help="for the log part")
    p.add_argument("--quick", action="store_true", help="small sizes, to try it out")
    p.add_argument("--reps", type=int, help="log statements a loop (default 500; quick 100)")
    p.add_argument("--steps", type=int, help="steps of the feed's run (default 1,000; quick 100)")
    p.add_argument("--scrub-seconds", type=float, help="warm scrubbing (default 5; quick 1)")
    p.add_argument(
        "--max-seconds",
        type=float,
        default=15.0,
        help="stop a loop after this long and report the statements done (W&B needs ~60 ms each)",
    )
    p.add_argument(
        "--python",
        help="interpreter of the log part's workers (default bench/.venv's, where W&B is)",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="a CPU profile of the page during the warm scrub (slows it a little)",
    )
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
    args.trackers = [t.strip() for t in args.trackers.split(",") if t.strip()]
    if set(args.trackers) - set(TRACKERS):
        p.error(f"--trackers: choose from {', '.join(TRACKERS)}")
    args.reps = args.reps or (100 if args.quick else 500)
    args.steps = args.steps or (100 if args.quick else 1000)
    args.scrub_seconds = args.scrub_seconds or (1.0 if args.quick else 5.0)
    python = args.python or (str(BENCH_PY) if BENCH_PY.exists() else sys.executable)

    if not args.no_docs:
        RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    res: dict[str, Any] = {
        "command": command_line(),
        "load": loadavg(),
        "timer_ns": timer_overhead_ns(),
    }
    work = Path(tempfile.mkdtemp(prefix="nbtrack-media-bench-"))
    try:
        if "log" in parts:
            res["log"] = part_log(args, python)
        if "feed" in parts or "page" in parts:
            res["feed"] = part_feed(args, work)
        if "page" in parts:
            res["page"] = part_page(args, res["feed"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    res["total_s"] = time.monotonic() - started
    res["machine"] = machine_lines(["nbtrack", "numpy", "torch", "pillow"], res["load"])
    if "log" in res and res["log"]["python"] != sys.executable:
        res["machine"].append(f"- The log part's workers: {_venv_versions(python)}")
    if res.get("page", {}).get("chromium"):
        res["machine"].append(f"- Chromium {res['page']['chromium']} (headless, Playwright)")
    res["machine"].append(f"- Whole benchmark: {res['total_s']:.0f} s")
    report = build_report(res, args)
    print(report)
    if not args.no_docs:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        (RESULTS / f"media-{stamp}.json").write_text(json.dumps(res, indent=1, default=str))
        write_docs_section("Media", "bench:media", report)
        say(f"wrote docs/benchmarks.md and bench/results/media-{stamp}.json")
    return 0


def _venv_versions(python: str) -> str:
    """The worker interpreter's Python and peer versions, as one line."""
    code = (
        "import platform\nfrom importlib.metadata import version, PackageNotFoundError\n"
        "def v(p):\n"
        "    try:\n"
        "        return version(p)\n"
        "    except PackageNotFoundError:\n"
        "        return 'not installed'\n"
        "names = ('wandb', 'numpy', 'torch', 'pillow')\n"
        "print(f'Python {platform.python_version()}, ' + ', '.join(f'{p} {v(p)}' for p in names))"
    )
    r = subprocess.run([python, "-c", code], capture_output=True, text=True)
    where = "bench/.venv" if Path(python) == BENCH_PY else "the given interpreter"
    return f"{where}, {r.stdout.strip()}" if r.returncode == 0 else where


if __name__ == "__main__":
    sys.exit(main())

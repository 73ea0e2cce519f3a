"""`watch(model)`: histograms of a model's parameters and gradients, at almost no cost.

When the histograms are taken
    Every `log_freq`-th optimizer step (steps 0, log_freq, 2*log_freq, ... counted by
    nbtrack), just before ``optimizer.step()`` runs, through torch's global optimizer
    step pre-hook. There the gradient is final: accumulated over all micro-batches,
    clipped if the user clips, and unscaled when `torch.amp.GradScaler` is used
    (``scaler.step`` unscales before it calls ``optimizer.step``; a step the scaler skips
    because of inf/NaN is not histogrammed). Parameters are taken at the same moment, so
    a step's parameter and gradient histograms belong together. The histograms are logged
    at ``run.step``, the step the next ``run.log()`` writes to, as W&B does.

    Which gradients: a post-accumulate-grad hook on each trainable parameter notes, on
    logging steps only, that the parameter received a gradient in this step. So frozen
    parameters and parameters unused in the step are skipped, and a parameter shared by
    several modules is one tensor with one hook: counted once.

    A loop with no `torch.optim` optimizer (weights updated by hand) is counted by forward
    calls instead, as W&B does; its gradients are those noted by the hooks in the step.

How they are computed
    On the device where the tensors live, for all tensors of a (device, dtype) group at
    once: one concatenation, per-tensor finite min/max by ``scatter_reduce``, bin indices
    by NumPy's own arithmetic, and one ``scatter_add`` into a (tensors x (bins + 2))
    table whose two extra columns count NaN and inf. About 35 kernel launches per group
    however many tensors it holds (groups are cut into chunks of a few million elements
    to bound the temporary memory). No operation waits for the device: sizes are known on
    the host, and the small result table is copied into pinned host memory with
    ``non_blocking=True``; a CUDA event marks its arrival and is polled with ``.query()``
    at later steps. Only then are the entries handed to the run (`RunLink.log_histograms`).

    On the CPU the training thread only copies: one ``torch.cat`` of the step's flattened
    tensors of a dtype into a reused buffer (the copy has to happen there, since the
    optimizer step changes the tensors right after; about 0.2-1 ms for a 1M-parameter
    model, against ~8 ms for the histograms). One daemon thread per watcher, started at
    the first such snapshot, bins the snapshots with NumPy (`cpu_histogram_table`), oldest
    first, and hands the entries to the run. At most `MAX_WAITING` snapshots wait for it;
    past that the training thread waits for the worker rather than dropping one: a
    histogram asked for is never lost, and a loop that logs faster than histograms can be
    made is slowed to the speed of the old synchronous path, no further. `finish()` (at
    the end of the run, or `unwatch`) waits until every snapshot taken is stored. The
    worker uses no torch operation and no BLAS call, so it runs on one core and starts no
    thread pool of its own; what it costs the loop is one core for ~8 ms every `log_freq`
    steps: free when torch leaves a core idle (``torch.get_num_threads()`` below the
    cores, or the loop's Python and serial parts), shared with torch's intra-op threads
    when torch uses every core.

Bin convention (the same as ``numpy.histogram(x, bins, range=(lo, hi))``)
    `lo` and `hi` are the tensor's finite min and max (widened by 0.5 each way when they
    are equal, and [-0.5, 0.5] when the tensor has no finite value, as NumPy does); the
    edges are ``numpy.linspace(lo, hi, bins + 1)`` in float64; value x falls in bin i
    when ``edge[i] <= x < edge[i + 1]``, the last bin closed. NaN and inf are left out of
    the counts and counted in the stats: ``{"norm": L2 norm of the finite values, "nan":
    n, "inf": n}``.

The first non-finite value (step and tensor) raises an alert on the run (level ERROR) and
is kept in ``run.summary["watch/first_nonfinite"]``.
"""

from __future__ import annotations

import math
import os
import threading
import time
import warnings
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from nbtrack._device import DeviceReadback
from nbtrack._run import RunLink, link
from nbtrack._values import HistogramEntry

if TYPE_CHECKING:
    from nbtrack._run import Run

BINS = 64
LOGS = ("gradients", "parameters", "all", None)
# Elements per batched computation: bounds the temporaries (~80 bytes an element).
CHUNK = 1 << 22
_COMPILED_PREFIX = "_orig_mod."
# CPU snapshots that may wait for the histogram thread (one more is being binned).
MAX_WAITING = 2
# One note_nonfinite + alert at a time: the CPU workers and the training thread emit.
_NONFINITE_LOCK = threading.Lock()


def watch(
    run: Run,
    models: Any,
    criterion: Any = None,
    log: str | None = "gradients",
    log_freq: int = 1000,
    idx: int | None = None,
    log_graph: bool = False,
) -> None:
    """Log histograms of parameters and/or gradients of torch modules every `log_freq` steps.

    >>> run.watch(model, log="all", log_freq=100)

    W&B's signature and key names (``parameters/<name>``, ``gradients/<name>``; the i-th
    model after the first gets the prefix ``graph_<i>``, glued to the name as in W&B).
    `criterion` is accepted and ignored, as in W&B; `log_graph` is not supported.
    """
    del criterion
    import torch

    if log not in LOGS:
        raise ValueError(
            f"nbtrack.watch: log must be 'gradients', 'parameters', 'all' or None, not {log!r}"
        )
    if isinstance(log_freq, bool) or not isinstance(log_freq, int) or log_freq < 1:
        raise ValueError(f"nbtrack.watch: log_freq must be a positive int, not {log_freq!r}")
    if isinstance(models, torch.nn.Module):
        models = [models]
    models = list(models) if isinstance(models, (list, tuple)) else models
    if not isinstance(models, list) or not all(isinstance(m, torch.nn.Module) for m in models):
        raise TypeError(
            "nbtrack.watch: models must be a torch.nn.Module or a list of them, "
            f"not {type(models).__name__}"
        )
    if log_graph:
        warnings.warn("nbtrack.watch: log_graph is not supported; ignored", stacklevel=3)
    if log is None:
        return
    rl = link(run)
    watchers = rl.watchers
    first = idx if idx is not None else rl.next_watch_index(len(models))
    for i, model in enumerate(models):
        for w in [w for w in watchers if w.model is model]:
            w.remove()  # watching a model again replaces the earlier watch, as in W&B
            watchers.remove(w)
        prefix = f"graph_{first + i}" if first + i > 0 else ""
        watchers.append(_Watcher(rl, model, prefix, log, log_freq))


def unwatch(run: Run, models: Any = None) -> None:
    """Remove the hooks `watch` put on `models` (all watched models when None).

    Histograms still on their way from the device are waited for and logged first.
    """
    watchers = link(run).watchers
    if models is None:
        chosen = list(watchers)
    else:
        ms = models if isinstance(models, (list, tuple)) else [models]
        chosen = [w for w in watchers if any(w.model is m for m in ms)]
    for w in chosen:
        w.finish()
        watchers.remove(w)


class _Watcher:
    """The hooks on one model and the histograms on their way to the host."""

    def __init__(self, run: RunLink, model: Any, prefix: str, log: str, log_freq: int) -> None:
        import torch
        from torch.optim.optimizer import register_optimizer_step_pre_hook

        self._torch = torch
        self.model = model
        self._run: weakref.ReferenceType[RunLink] = weakref.ref(run)
        self._params_on = log in ("parameters", "all")
        self._grads_on = log in ("gradients", "all")
        self._freq = log_freq
        # The tensors, named as W&B names them; a shared parameter appears once.
        self._named: list[tuple[str, Any]] = []
        for name, p in model.named_parameters():
            if name.startswith(_COMPILED_PREFIX):
                name = name[len(_COMPILED_PREFIX) :]
            self._named.append((prefix + name, p))
        self._ids = {id(p) for _, p in self._named}
        self._names = {id(p): n for n, p in self._named}
        self._handles: list[Any] = []
        # Optimizer steps (or forward calls, until an optimizer is seen) counted so far.
        self._count = 0
        self._forwards = 0
        self._armed = True  # the coming step is a logging step
        self._fresh: dict[int, Any] = {}  # id(param) -> its gradient, noted on logging steps
        self._done: dict[str, int] = {}  # kind -> the run step last histogrammed
        self._saw_optimizer = False
        self._start_step = run.step
        self._ours: dict[int, bool] = {}  # id(optimizer) -> does it update our parameters
        # Histogram tables on their way from the device: (keys, step) -> table.
        self._inflight: DeviceReadback[tuple[list[tuple[str, str]], int]] = DeviceReadback()
        # CPU snapshots on their way through the histogram thread (started when needed).
        self.worker = _CpuWorker(self._emit_later)
        self.stats = self.worker.stats
        if self._grads_on:
            for _, p in self._named:
                if p.requires_grad:
                    self._handles.append(p.register_post_accumulate_grad_hook(self._on_grad))
        self._handles.append(register_optimizer_step_pre_hook(self._on_optimizer_step))
        inner = getattr(model, "_orig_mod", model)
        self._handles.append(inner.register_forward_pre_hook(self._on_forward))

    # -- hooks (training thread, or autograd's device threads for _on_grad) -------------

    def _on_grad(self, p: Any) -> None:
        if self._armed:
            # Keep the tensor itself: zero_grad(set_to_none=True) then leaves it intact.
            self._fresh[id(p)] = p.grad

    def _on_optimizer_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        ours = self._ours.get(id(optimizer))
        if ours is None:
            ours = self._ours[id(optimizer)] = any(
                id(p) in self._ids for g in optimizer.param_groups for p in g["params"]
            )
        if not ours:
            return
        self._saw_optimizer = True
        run = self._live_run()
        if run is None:
            return
        if self._inflight:
            self._poll(run, wait=False)
        if self._armed:
            self._take(run)
        self._count += 1
        self._armed = self._count % self._freq == 0
        self._fresh.clear()

    def _on_forward(self, module: Any, args: Any) -> None:
        # Under torch.compile this hook is traced: is_compiling() first, so the traced hook
        # is an empty function with no guard on our state (no recompiles, no graph break).
        if self._torch.compiler.is_compiling() or self._saw_optimizer:
            return
        # No optimizer seen (yet): count forward calls, as W&B does. Gradients are taken
        # here only once a step has passed with no optimizer step (the first forward of an
        # ordinary loop comes before its optimizer is seen); they are those of the last
        # backward before this forward.
        run = self._live_run()
        if run is None:
            return
        if self._inflight:
            self._poll(run, wait=False)
        if self._forwards % self._freq == 0:
            self._take(run, grads=run.step > self._start_step)
        self._forwards += 1
        self._fresh.clear()

    def _live_run(self) -> RunLink | None:
        run = self._run()
        if run is None or run.finished:
            self.remove()  # the run ended: stop costing anything
            return None
        return run

    # -- taking histograms --------------------------------------------------------------

    def _take(self, run: RunLink, grads: bool = True) -> None:
        step = run.step
        tensors: list[tuple[str, str, Any]] = []  # (kind, name, tensor)
        if self._params_on and self._done.get("parameters") != step:
            self._done["parameters"] = step
            tensors += [("parameters", n, p.detach()) for n, p in self._named]
        fresh, self._fresh = self._fresh, {}
        if grads and self._grads_on and fresh and self._done.get("gradients") != step:
            self._done["gradients"] = step
            for n, p in self._named:
                g = fresh.get(id(p))
                if g is not None:
                    tensors.append(("gradients", n, g.detach()))
        tensors = [t for t in tensors if t[2].numel() and t[2].is_floating_point()]
        if not tensors:
            return
        groups: dict[tuple[Any, Any], list[tuple[str, str, Any]]] = {}
        for t in tensors:
            groups.setdefault((t[2].device, t[2].dtype), []).append(t)
        for (device, _), items in groups.items():
            if device.type == "cpu":
                t0 = time.perf_counter()
                self.worker.submit([(k, n) for k, n, _ in items], step, [t[2] for t in items])
                self.stats.snapshot_s += time.perf_counter() - t0
                continue
            for chunk in _chunks(items):
                table = histogram_table([t[2] for t in chunk], BINS)
                self._inflight.send(([(k, n) for k, n, _ in chunk], step), table)

    def _poll(self, run: RunLink, wait: bool) -> None:
        for (keys, step), table in self._inflight.receive(wait=wait):
            self._emit(run, keys, step, table)

    def _emit_later(self, keys: list[tuple[str, str]], step: int, table: Any) -> None:
        # On the histogram thread: the run is looked up now, it may have gone meanwhile.
        run = self._run()
        if run is not None:
            self._emit(run, keys, step, table)

    def _emit(self, run: RunLink, keys: list[tuple[str, str]], step: int, table: Any) -> None:
        entries = entries_from_table(keys, step, table, BINS)
        if run.finished:
            return
        run.log_histograms(entries)
        bad = [kn for kn, e in zip(keys, entries, strict=True) if e.stats["nan"] or e.stats["inf"]]
        if bad:
            kind, name = bad[0]
            info = {"step": step, "tensor": name, "kind": kind}
            with _NONFINITE_LOCK:
                if not run.note_nonfinite(info):
                    return  # only the first one is worth an alert
                others = f" (and {len(bad) - 1} more tensors)" if len(bad) > 1 else ""
                run.run.alert(
                    f"Non-finite {kind} at step {step}",
                    f"{kind}/{name} has NaN or inf values at step {step}{others}",
                    level="ERROR",
                    data=info,
                )

    # -- ending -------------------------------------------------------------------------

    def remove(self) -> None:
        """Take the hooks off; snapshots already taken are still binned and logged."""
        for h in self._handles:
            h.remove()
        self._handles.clear()
        self._fresh.clear()
        self.worker.close(wait=False)

    def finish(self) -> None:
        """Take the hooks off and wait until every histogram taken is handed to the run."""
        self.remove()
        run = self._run()
        if run is not None and not run.finished:
            self._poll(run, wait=True)
        self.worker.close(wait=True)


@dataclass
class WatchStats:
    """What a watcher's CPU histograms cost, and where (read by the benchmark and tests)."""

    snapshots: int = 0  # CPU snapshots taken (one per logging step and dtype)
    snapshot_s: float = 0.0  # training thread: copying, handing over, waiting (all of it)
    waits: int = 0  # times the training thread waited for the histogram thread
    tables: int = 0  # snapshots binned and handed to the run
    histogram_s: float = 0.0  # histogram thread: binning and handing to the run
    # threading.get_ident() of the threads that binned them
    thread_ids: set[int] = field(default_factory=set)


@dataclass
class _Snapshot:
    keys: list[tuple[str, str]]
    step: int
    buffer: Any  # a 1-D CPU tensor holding the tensors one after another (and then spare)
    lengths: list[int]


class _CpuWorker:
    """A daemon thread that bins CPU snapshots, oldest first, and the buffers they use.

    Buffers come back to a free list once binned, so a loop whose worker keeps up copies
    into the same buffer every logging step (no allocation, no page faults); at most
    ``MAX_WAITING + 1`` snapshots, and so buffers of each dtype, exist at once.
    """

    def __init__(self, emit: Callable[[list[tuple[str, str]], int, Any], None]) -> None:
        self._emit = emit
        self.stats = WatchStats()
        # Test hook: called on the thread that bins, before each snapshot is binned.
        self.on_table: Callable[[], None] | None = None
        self._start_over()

    def _start_over(self) -> None:
        # Also in a fork's child: the parent's thread is not there, its lock may be held.
        self._cond = threading.Condition()
        self._waiting: deque[_Snapshot] = deque()
        self._free: list[Any] = []
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._closing = False
        self._error: BaseException | None = None

    def submit(self, keys: list[tuple[str, str]], step: int, tensors: list[Any]) -> None:
        """Copy `tensors` (CPU, floating point) now; bin them on the histogram thread."""
        import torch

        if self._pid != os.getpid():
            self._start_over()
        groups: dict[Any, list[int]] = {}
        for i, t in enumerate(tensors):
            if str(t.dtype) not in _SNAPSHOT_DTYPES:
                tensors[i] = t.float()  # float8 and friends: float32 holds them exactly
            groups.setdefault(tensors[i].dtype, []).append(i)
        for dtype, rows in groups.items():
            lengths = [tensors[i].numel() for i in rows]
            n = sum(lengths)
            buf = self._buffer(dtype, n)
            # One copy of them all: the optimizer step changes the tensors right after.
            torch.cat([tensors[i].reshape(-1) for i in rows], out=buf[:n])
            self._put(_Snapshot([keys[i] for i in rows], step, buf, lengths))

    def _buffer(self, dtype: Any, n: int) -> Any:
        import torch

        with self._cond:
            for i, b in enumerate(self._free):
                if b.dtype == dtype and b.numel() >= n:
                    return self._free.pop(i)
        return torch.empty(n, dtype=dtype)

    def _put(self, snap: _Snapshot) -> None:
        stats = self.stats
        with self._cond:
            stats.snapshots += 1
            if self._thread is None:
                self._closing = False
                self._thread = threading.Thread(
                    target=self._loop, name="nbtrack-watch-histograms", daemon=True
                )
                self._thread.start()
            elif len(self._waiting) >= MAX_WAITING:
                # The worker is behind: wait for it rather than drop a histogram.
                stats.waits += 1
                t = self._thread
                while len(self._waiting) >= MAX_WAITING and t is not None and t.is_alive():
                    self._cond.wait(1.0)
            self._waiting.append(snap)
            self._cond.notify_all()

    def _loop(self) -> None:
        stats = self.stats
        stats.thread_ids.add(threading.get_ident())
        while True:
            with self._cond:
                while not self._waiting and not self._closing:
                    self._cond.wait()
                if not self._waiting:
                    self._thread = None
                    self._cond.notify_all()
                    return
                snap = self._waiting.popleft()
                self._cond.notify_all()
            t0 = time.perf_counter()
            try:
                if self.on_table is not None:
                    self.on_table()
                self._emit(snap.keys, snap.step, _snapshot_table(snap, BINS))
            except Exception as e:  # reported by close(), on the thread that ends the watch
                self._error = self._error or e
            finally:
                stats.histogram_s += time.perf_counter() - t0
                with self._cond:
                    stats.tables += 1
                    if len(self._free) <= MAX_WAITING:
                        self._free.append(snap.buffer)
                    self._cond.notify_all()

    def close(self, wait: bool) -> None:
        """Let the thread end once the snapshots taken are binned; with `wait`, wait for it."""
        if self._pid != os.getpid():
            self._start_over()  # a fork's child: nothing of the parent's to wait for
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join()
        with self._cond:
            if wait:
                self._free.clear()
            error, self._error = self._error, None
        if error is not None:
            # A warning, not an exception: this runs while the run ends, which must go on.
            warnings.warn(
                f"nbtrack.watch: histograms were lost, the histogram thread failed: {error!r}",
                RuntimeWarning,
                stacklevel=4,
            )


_SNAPSHOT_DTYPES = {"torch.float64", "torch.float32", "torch.float16", "torch.bfloat16"}


def _snapshot_table(snap: _Snapshot, bins: int) -> np.ndarray[Any, Any]:
    """`cpu_histogram_table` of a snapshot's tensors, read as NumPy views of its buffer."""
    import torch

    buf = snap.buffer[: sum(snap.lengths)]
    if buf.dtype == torch.bfloat16:
        # bfloat16 is the top half of a float32: widened by NumPy, exactly (no torch
        # operation on this thread: it would start an intra-op thread team of its own).
        bits = buf.view(torch.int16).numpy().view(np.uint16)
        flat = (bits.astype(np.uint32) << 16).view(np.float32)
    else:
        flat = buf.numpy()
    arrays = []
    o = 0
    for n in snap.lengths:
        arrays.append(flat[o : o + n])
        o += n
    return numpy_histogram_table(arrays, bins)


def _chunks(items: list[tuple[str, str, Any]]) -> list[list[tuple[str, str, Any]]]:
    out: list[list[tuple[str, str, Any]]] = [[]]
    size = 0
    for it in items:
        n = it[2].numel()
        if out[-1] and size + n > CHUNK:
            out.append([])
            size = 0
        out[-1].append(it)
        size += n
    return out


def histogram_table(tensors: list[Any], bins: int = BINS) -> Any:
    """Histograms of same-device, same-dtype tensors in one batched computation.

    Returns a float64 tensor on their device, one row per tensor: ``bins`` counts, then
    the NaN count, the inf count, lo, hi and the L2 norm of the finite values. Nothing in
    it waits for the device.

    >>> t = histogram_table([torch.randn(100), torch.randn(3, 3)], bins=8)
    >>> t.shape
    torch.Size([2, 13])
    """
    import torch

    dev = tensors[0].device
    f64 = torch.float64
    nt = len(tensors)
    lengths = [t.numel() for t in tensors]
    n = sum(lengths)
    flat = torch.cat([t.reshape(-1) for t in tensors]) if nt > 1 else tensors[0].reshape(-1)
    ar_t = torch.arange(nt, device=dev)
    if nt == 1:
        seg = torch.zeros(n, dtype=torch.int64, device=dev)
    else:
        rep = torch.tensor(lengths, dtype=torch.int64, pin_memory=dev.type == "cuda")
        rep = rep.to(dev, non_blocking=True)
        # output_size spares the device sync that sizing the result would need.
        seg = torch.repeat_interleave(ar_t, rep, output_size=n)
    finite = torch.isfinite(flat)
    inf = math.inf
    lo_t = torch.full((nt,), inf, dtype=flat.dtype, device=dev).scatter_reduce_(
        0, seg, torch.where(finite, flat, inf), "amin"
    )
    hi_t = torch.full((nt,), -inf, dtype=flat.dtype, device=dev).scatter_reduce_(
        0, seg, torch.where(finite, flat, -inf), "amax"
    )
    lo, hi = lo_t.to(f64), hi_t.to(f64)
    empty = lo > hi  # no finite value: NumPy's range for an empty array, [0, 1] ...
    lo = torch.where(empty, 0.0, lo)
    hi = torch.where(empty, 0.0, hi)
    same = lo == hi  # ... and NumPy widens an empty range by 0.5 each way
    lo = torch.where(same, lo - 0.5, lo)
    hi = torch.where(same, hi + 0.5, hi)
    denom = hi - lo
    # NumPy's linspace(lo, hi, bins + 1): arange * step + start, the last edge set to stop.
    steps = torch.arange(bins + 1, dtype=f64, device=dev)
    step = denom / bins
    edges = torch.where(
        (step == 0)[:, None],
        (steps / bins)[None, :] * denom[:, None],
        steps[None, :] * step[:, None],
    )
    edges = edges + lo[:, None]
    edges[:, bins] = hi
    x = flat.to(f64)
    xs = torch.where(finite, x, lo[seg])
    # NumPy's histogram fast path: an estimate from arithmetic, then one correction from
    # the edges themselves; the same float64 operations give the same bins.
    idx = ((xs - lo[seg]) / denom[seg] * bins).to(torch.int64).clamp_(0, bins - 1)
    base = seg * (bins + 1)
    flat_edges = edges.reshape(-1)
    idx = idx - (xs < flat_edges[base + idx]).to(torch.int64)
    idx = idx + ((xs >= flat_edges[base + idx + 1]) & (idx != bins - 1)).to(torch.int64)
    col = torch.where(finite, idx, torch.where(torch.isnan(x), bins, bins + 1))
    ones = torch.ones(1, dtype=torch.int64, device=dev).expand(n)
    counts = torch.zeros(nt * (bins + 2), dtype=torch.int64, device=dev).scatter_add_(
        0, seg * (bins + 2) + col, ones
    )
    sq = torch.where(finite, x, 0.0).square()
    norm = torch.zeros(nt, dtype=f64, device=dev).scatter_add_(0, seg, sq).sqrt_()
    return torch.cat(
        [counts.view(nt, bins + 2).to(f64), lo[:, None], hi[:, None], norm[:, None]], dim=1
    )


def cpu_histogram_table(tensors: list[Any], bins: int = BINS) -> np.ndarray[Any, Any]:
    """`histogram_table` for CPU tensors, the same numbers, by NumPy one tensor at a time.

    On the CPU there are no launches to save, and NumPy's blocked histogram is several times
    faster than the batched torch computation (whose gathers and int64 temporaries are slow
    there); it runs on the float32/float16 data in place, converting blocks to float64.

    >>> cpu_histogram_table([torch.randn(100)], bins=8).shape
    (1, 13)
    """
    import torch

    numpy_dtypes = (torch.float64, torch.float32, torch.float16)
    # bfloat16 and friends: float32 holds them exactly
    arrays = [(t if t.dtype in numpy_dtypes else t.float()).reshape(-1).numpy() for t in tensors]
    return numpy_histogram_table(arrays, bins)


def numpy_histogram_table(arrays: list[Any], bins: int = BINS) -> np.ndarray[Any, Any]:
    """`cpu_histogram_table` of 1-D float64/float32/float16 NumPy arrays.

    NumPy only, and no BLAS call (whose threads would compete with torch's): what the
    histogram thread runs.
    """
    out = np.zeros((len(arrays), bins + 5))
    for r, x in enumerate(arrays):
        lo, hi = float(x.min()), float(x.max())
        nan = inf = 0
        if not (math.isfinite(lo) and math.isfinite(hi)):
            finite = np.isfinite(x)
            nan = int(np.isnan(x).sum())
            inf = int(x.size - finite.sum()) - nan
            x = x[finite]
            lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        # float64 range values make NumPy bin in float64, as histogram_table does.
        counts, _ = np.histogram(x, bins, range=(np.float64(lo), np.float64(hi)))
        x64 = x.astype(np.float64)
        out[r, :bins] = counts
        norm = math.sqrt(float(np.einsum("i,i->", x64, x64)))  # einsum: NumPy's own loop
        out[r, bins : bins + 5] = (nan, inf, lo, hi, norm)
    return out


def entries_from_table(
    keys: list[tuple[str, str]], step: int, table: Any, bins: int = BINS
) -> list[HistogramEntry]:
    """`HistogramEntry` objects (keys ``<kind>/<name>``) from a host `histogram_table`."""
    out = []
    for r, (kind, name) in enumerate(keys):
        row = table[r]
        out.append(
            HistogramEntry(
                f"{kind}/{name}",
                step,
                float(row[bins + 2]),
                float(row[bins + 3]),
                np.asarray(row[:bins], dtype=np.int64),
                {"norm": float(row[bins + 4]), "nan": int(row[bins]), "inf": int(row[bins + 1])},
            )
        )
    return out

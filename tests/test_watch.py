"""`watch(model)`: histograms of parameters and gradients, read back as a user reads them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nbtrack  # noqa: E402  # after the importorskip on purpose
from nbtrack._run import link  # noqa: E402
from nbtrack._watch import (  # noqa: E402
    BINS,
    MAX_WAITING,
    cpu_histogram_table,
    entries_from_table,
    histogram_table,
)

DTYPES = [torch.float32, torch.float16, torch.bfloat16]
CUDA = torch.cuda.is_available()


def mlp() -> Any:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))


def batch(n: int = 32, seed: int = 0) -> tuple[Any, Any]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 8, generator=g), torch.randint(0, 4, (n,), generator=g)


def train(
    run: nbtrack.Run,
    model: Any,
    steps: int,
    *,
    before_step: Callable[[int], None] | None = None,
    device: str = "cpu",
) -> Any:
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    for i in range(steps):
        x, y = batch(seed=i)
        loss = torch.nn.functional.cross_entropy(model(x.to(device)), y.to(device))
        opt.zero_grad()
        loss.backward()
        if before_step is not None:
            before_step(i)
        opt.step()
        run.log({"loss": loss.item()})
    return opt


def np_hist(t: Any, lo: float, hi: float, bins: int = BINS) -> np.ndarray[Any, Any]:
    """The reference: numpy.histogram over float64 copies of the finite values."""
    x = t.detach().cpu().to(torch.float64).numpy().ravel()
    counts, _ = np.histogram(x[np.isfinite(x)], bins, range=(lo, hi))
    return counts


def awkward_tensors(dtype: Any) -> list[Any]:
    g = torch.Generator().manual_seed(1)
    edges = torch.from_numpy(np.linspace(-3.0, 5.0, BINS + 1))  # values exactly on bin edges
    return [
        torch.randn(1000, generator=g).to(dtype),
        (torch.randn(37, 11, generator=g) * 1e-3).to(dtype),
        torch.rand(513, generator=g).mul(1e4).round().to(dtype),  # many ties
        edges.to(dtype),
        torch.zeros(5, dtype=dtype),  # one value: NumPy widens the range by 0.5
        torch.tensor([1.0, float("nan"), float("inf"), -2.0, float("-inf")]).to(dtype),
        torch.tensor([float("nan"), float("inf")]).to(dtype),  # nothing finite
        torch.full((3,), 65504.0).to(dtype),  # float16's largest
        torch.tensor([-1e-7, 1e-7, 0.0]).to(dtype),  # tiny: subnormal in float16
        torch.randn(4, 4, generator=g).to(dtype).t(),  # not contiguous
    ]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("path", ["batched", "cpu"])
def test_counts_equal_numpy_histogram(dtype: Any, path: str) -> None:
    tensors = awkward_tensors(dtype)
    # "batched" is the device algorithm, run here on the CPU.
    table = histogram_table(tensors).numpy() if path == "batched" else cpu_histogram_table(tensors)
    keys = [("parameters", str(i)) for i in range(len(tensors))]
    for t, e in zip(tensors, entries_from_table(keys, 0, table), strict=True):
        x = t.float().numpy().astype(np.float64).ravel()
        finite = x[np.isfinite(x)]
        assert e.lo <= e.hi
        if finite.size and finite.min() < finite.max():
            assert (e.lo, e.hi) == (finite.min(), finite.max())
        np.testing.assert_array_equal(e.counts, np_hist(t, e.lo, e.hi), err_msg=str(t))
        assert e.counts.sum() == finite.size
        assert e.stats["nan"] == int(np.isnan(x).sum())
        assert e.stats["inf"] == int(np.isinf(x).sum())
        assert e.stats["norm"] == pytest.approx(float(np.linalg.norm(finite)), rel=1e-12)


def test_batched_and_cpu_paths_agree_on_a_model() -> None:
    params = [p.detach() for p in torch.nn.Conv2d(3, 8, 3).parameters()]
    params += [torch.randn(300, 7) * 10]
    batched, cpu = histogram_table(params).numpy(), cpu_histogram_table(params)
    np.testing.assert_array_equal(batched[:, :-1], cpu[:, :-1])  # counts, NaN, inf, lo, hi
    np.testing.assert_allclose(batched[:, -1], cpu[:, -1], rtol=1e-12)  # norms: sum order


def test_keys_steps_and_counts_of_a_training_run(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="w", display=False)
    model = mlp()
    run.watch(model, log="all", log_freq=3)
    seen: dict[int, dict[str, np.ndarray[Any, Any]]] = {}

    def snapshot(i: int) -> None:
        seen[i] = {n: p.detach().clone() for n, p in model.named_parameters()}
        seen[i].update({f"g/{n}": p.grad.clone() for n, p in model.named_parameters()})

    train(run, model, 10, before_step=snapshot)
    run.finish()
    rec = api.run(run.path)
    names = ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert sorted(rec.histogram_keys()) == sorted(
        [f"parameters/{n}" for n in names] + [f"gradients/{n}" for n in names]
    )
    for n in names:
        for kind, prefix in (("parameters", ""), ("gradients", "g/")):
            steps, ranges, counts = rec.histograms(f"{kind}/{n}")
            np.testing.assert_array_equal(steps, [0, 3, 6, 9])  # log_freq honoured
            assert counts.shape == (4, BINS)
            for row, step in enumerate(steps):
                t = seen[int(step)][prefix + n]
                lo, hi = ranges[row]
                assert lo == t.min().item() and hi == t.max().item()
                np.testing.assert_array_equal(counts[row], np_hist(t, lo, hi))
            stats = rec.histogram_stats(f"{kind}/{n}")
            assert [s["nan"] for s in stats] == [0] * 4
            assert stats[0]["norm"] == pytest.approx(seen[0][prefix + n].norm().item(), rel=1e-5)


def watcher_of(run: nbtrack.Run) -> Any:
    (w,) = link(run).watchers
    return w


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def references(model: Any, seen: dict[int, dict[str, Any]]) -> Callable[[int], None]:
    """A before_step that copies every parameter and gradient, as the histograms must see them."""

    def snapshot(i: int) -> None:
        seen[i] = {f"parameters/{n}": p.detach().clone() for n, p in model.named_parameters()}
        seen[i].update({f"gradients/{n}": p.grad.clone() for n, p in model.named_parameters()})

    return snapshot


def assert_exact(rec: Any, seen: dict[int, dict[str, Any]], steps: list[int]) -> None:
    keys = sorted(seen[steps[0]])
    assert sorted(rec.histogram_keys()) == keys
    for key in keys:
        got_steps, ranges, counts = rec.histograms(key)
        np.testing.assert_array_equal(got_steps, steps)
        for row, step in enumerate(steps):
            t = seen[step][key]
            lo, hi = ranges[row]
            t64 = t.to(torch.float64)
            assert (lo, hi) == (t64.min().item(), t64.max().item()), (key, step)
            np.testing.assert_array_equal(counts[row], np_hist(t, lo, hi), err_msg=key)


def test_cpu_histograms_are_binned_on_one_other_thread(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="w", display=False)
    model = mlp()
    run.watch(model, log="all", log_freq=2)
    w = watcher_of(run)
    binned_on: list[int] = []
    w.worker.on_table = lambda: binned_on.append(threading.get_ident())
    seen: dict[int, dict[str, Any]] = {}
    train(run, model, 7, before_step=references(model, seen))  # logging steps 0, 2, 4, 6
    run.finish()
    # Five snapshots: step 0's parameters are taken at the first forward call (no optimizer
    # seen yet), its gradients at the optimizer step; then one a logging step.
    assert w.stats.snapshots == w.stats.tables == len(binned_on) == 5
    assert threading.get_ident() not in binned_on
    assert len(set(binned_on)) == 1 and w.stats.thread_ids == set(binned_on)
    assert_exact(api.run(run.path), seen, [0, 2, 4, 6])
    assert not any(t.ident in binned_on for t in threading.enumerate())  # finish() ended it


def test_finish_waits_for_the_histogram_thread(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="w", display=False)
    model = mlp()
    run.watch(model, log="all", log_freq=2)
    w = watcher_of(run)
    gate, taken = threading.Event(), threading.Event()

    def hold() -> None:  # the histogram thread has taken a snapshot and waits for the gate
        taken.set()
        gate.wait(60)

    w.worker.on_table = hold
    seen: dict[int, dict[str, Any]] = {}
    copy = references(model, seen)

    def before_step(i: int) -> None:
        copy(i)
        if i == 2:  # the first snapshot is being binned before the third is taken
            wait_for(taken.is_set, "the histogram thread to take the first snapshot")

    # Logging steps 0 and 2, the last step just before finish(): three snapshots (step 0's
    # parameters come at the first forward call), one being binned and MAX_WAITING waiting,
    # so the training thread never waits here.
    train(run, model, 3, before_step=before_step)
    assert MAX_WAITING >= 2 and w.stats.snapshots == 3 and w.stats.waits == 0
    assert w.stats.tables == 0  # nothing binned yet; the parameters have changed since
    opener = threading.Timer(0.2, gate.set)
    opener.start()
    run.finish()
    assert gate.is_set()  # finish() returned only after the histogram thread could go on
    assert w.stats.tables == 3
    assert_exact(api.run(run.path), seen, [0, 2])  # from the copies, not the tensors now
    opener.join()


def test_a_histogram_thread_behind_makes_training_wait_not_drop(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="w", display=False)
    model = mlp()
    run.watch(model, log="all", log_freq=1)
    w = watcher_of(run)
    gate = threading.Event()
    w.worker.on_table = lambda: gate.wait(60)
    seen: dict[int, dict[str, Any]] = {}
    trainer = threading.Thread(target=train, args=(run, model, 8), kwargs={
        "before_step": references(model, seen)
    })  # fmt: skip
    trainer.start()
    wait_for(lambda: w.stats.waits >= 1, "the training thread to wait for the worker")
    assert trainer.is_alive() and w.stats.tables == 0  # held up, not dropping
    gate.set()
    trainer.join(60)
    assert not trainer.is_alive()
    run.finish()
    assert w.stats.snapshots == w.stats.tables == 9  # step 0's parameters: at the forward
    assert_exact(api.run(run.path), seen, list(range(8)))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64], ids=str)
def test_snapshots_of_other_dtypes_are_exact(api: nbtrack.Api, dtype: Any) -> None:
    run = nbtrack.init(project="w", display=False)
    model = mlp().to(dtype)
    run.watch(model, log="all", log_freq=1)
    seen: dict[int, dict[str, Any]] = {}
    snapshot = references(model, seen)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for i in range(3):
        x, y = batch(seed=i)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x.to(dtype)).float(), y).backward()
        snapshot(i)
        opt.step()
        run.log({"i": i})
    run.finish()
    assert_exact(api.run(run.path), seen, [0, 1, 2])


def test_default_logs_gradients_only_every_1000_steps(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="w", display=False)
    model = mlp()
    nbtrack.watch(model)
    train(run, model, 3)
    run.finish()
    rec = api.run(run.path)
    assert all(k.startswith("gradients/") for k in rec.histogram_keys())
    assert len(rec.histogram_keys()) == 4
    assert list(rec.histograms("gradients/0.weight")[0]) == [0]


def test_second_model_gets_the_wandb_prefix(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="w", display=False)
    a, b = mlp(), torch.nn.Linear(4, 2)
    run.watch([a, b], log="parameters", log_freq=1)
    with torch.no_grad():
        b(a(torch.randn(2, 8)))
    run.log({"x": 1})
    run.finish()
    keys = api.run(run.path).histogram_keys()
    assert "parameters/0.weight" in keys
    assert "parameters/graph_1weight" in keys  # W&B glues the prefix to the name
    assert "parameters/graph_1bias" in keys


def test_gradient_accumulation_gives_the_accumulated_gradient(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="w", display=False)
    model = mlp()
    run.watch(model, log="gradients", log_freq=1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    accumulated: list[Any] = []
    last_micro: list[Any] = []
    for step in range(2):
        opt.zero_grad()
        for micro in range(4):
            x, y = batch(8, seed=10 * step + micro)
            before = model[0].weight.grad.clone() if model[0].weight.grad is not None else 0
            (torch.nn.functional.cross_entropy(model(x), y) / 4).backward()
            last_micro.append(model[0].weight.grad - before)
        accumulated.append(model[0].weight.grad.clone())
        opt.step()
        run.log({"step": step})
    run.finish()
    steps, ranges, counts = api.run(run.path).histograms("gradients/0.weight")
    np.testing.assert_array_equal(steps, [0, 1])
    for i in range(2):
        lo, hi = ranges[i]
        assert (lo, hi) == (accumulated[i].min().item(), accumulated[i].max().item())
        np.testing.assert_array_equal(counts[i], np_hist(accumulated[i], lo, hi))
        # and not the last micro-batch's share of it
        assert (lo, hi) != (last_micro[4 * i + 3].min().item(), last_micro[4 * i + 3].max().item())


def test_frozen_parameters_have_no_gradient_histograms(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="w", display=False)
    model = mlp()
    model[0].requires_grad_(False)
    run.watch(model, log="all", log_freq=1)
    train(run, model, 2)
    run.finish()
    keys = set(api.run(run.path).histogram_keys())
    assert "gradients/0.weight" not in keys and "gradients/0.bias" not in keys
    assert {"gradients/2.weight", "gradients/2.bias", "parameters/0.weight"} <= keys


def test_unused_parameters_are_skipped_in_that_step(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="w", display=False)
    model = torch.nn.ModuleDict({"used": torch.nn.Linear(3, 1), "spare": torch.nn.Linear(3, 1)})
    run.watch(model, log="gradients", log_freq=1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        model["used"](torch.randn(4, 3)).sum().backward()
        opt.step()
        run.log({"x": 0})
    run.finish()
    assert sorted(api.run(run.path).histogram_keys()) == [
        "gradients/used.bias",
        "gradients/used.weight",
    ]


def test_shared_parameters_are_counted_once(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="w", display=False)
    emb = torch.nn.Embedding(10, 4)
    head = torch.nn.Linear(4, 10, bias=False)
    head.weight = emb.weight  # tied, as in language models
    model = torch.nn.Sequential(emb, head)
    run.watch(model, log="all", log_freq=1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    grads = []
    for _ in range(2):
        opt.zero_grad()
        model(torch.tensor([1, 2, 3])).logsumexp(-1).sum().backward()
        grads.append(emb.weight.grad.clone())
        opt.step()
        run.log({"x": 0})
    run.finish()
    rec = api.run(run.path)
    assert sorted(rec.histogram_keys()) == ["gradients/0.weight", "parameters/0.weight"]
    steps, ranges, counts = rec.histograms("gradients/0.weight")
    np.testing.assert_array_equal(steps, [0, 1])
    assert counts.sum(axis=1).tolist() == [40, 40]  # one tensor of 40, not two
    np.testing.assert_array_equal(counts[1], np_hist(grads[1], *ranges[1]))


def test_nan_in_one_gradient_is_recorded_with_step_and_name(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="w", display=False)
    model = mlp()
    run.watch(model, log="all", log_freq=1)

    def poison(i: int) -> None:
        if i == 5:
            model[2].weight.grad[1, 3] = float("nan")
        if i == 7:
            model[0].bias.grad[0] = float("inf")  # a later one: not the first

    train(run, model, 6, before_step=poison)
    run.finish()
    rec = api.run(run.path)
    assert rec.summary["watch/first_nonfinite"] == {
        "step": 5,
        "tensor": "2.weight",
        "kind": "gradients",
    }
    alerts = [a for a in rec.alerts if a["level"] == "ERROR"]
    assert len(alerts) == 1
    assert alerts[0]["data"] == {"step": 5, "tensor": "2.weight", "kind": "gradients"}
    assert "gradients/2.weight" in alerts[0]["text"]
    stats = rec.histogram_stats("gradients/2.weight")
    assert [s["nan"] for s in stats] == [0, 0, 0, 0, 0, 1]
    _, _, counts = rec.histograms("gradients/2.weight")
    assert counts[5].sum() == 16 * 4 - 1  # the NaN is left out of the counts


def test_first_nonfinite_in_parameters(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="w", display=False)
    model = mlp()
    run.watch(model, log="parameters", log_freq=2)

    def poison(i: int) -> None:
        if i == 2:
            with torch.no_grad():
                model[0].weight[0, 0] = float("inf")

    train(run, model, 5, before_step=poison)
    run.finish()
    rec = api.run(run.path)
    # the parameter at step 2 is histogrammed before the optimizer step: inf from step 2 on
    assert rec.summary["watch/first_nonfinite"]["step"] == 2
    assert rec.summary["watch/first_nonfinite"]["kind"] == "parameters"


def test_amp_grad_scaler_histograms_show_unscaled_gradients(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="w", display=False)
    model = mlp()
    run.watch(model, log="gradients", log_freq=1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
    unscaled: list[Any] = []
    orig_step = opt.step

    def step_and_keep(*a: Any, **k: Any) -> Any:
        unscaled.append(model[2].weight.grad.clone())
        return orig_step(*a, **k)

    opt.step = step_and_keep  # type: ignore[method-assign]  # to read what step() sees
    for i in range(3):
        x, y = batch(seed=i)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        run.log({"loss": loss.item()})
    run.finish()
    steps, ranges, _ = api.run(run.path).histograms("gradients/2.weight")
    assert len(unscaled) == 3
    np.testing.assert_array_equal(steps, [0, 1, 2])
    for i in range(3):
        assert tuple(ranges[i]) == (unscaled[i].min().item(), unscaled[i].max().item())
        assert abs(ranges[i][1]) < 100  # scaled by 1024 it would be far larger


def test_model_converted_after_watch_keeps_being_watched(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="w", display=False)
    model = mlp()
    run.watch(model, log="all", log_freq=1)
    model.to(torch.float64)  # the same conversion path as a move to another device
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = batch()
    torch.nn.functional.cross_entropy(model(x.double()), y).backward()
    opt.step()
    run.log({"x": 0})
    run.finish()
    rec = api.run(run.path)
    _, ranges, counts = rec.histograms("gradients/0.weight")
    np.testing.assert_array_equal(counts[0], np_hist(model[0].weight.grad, *ranges[0]))


# torch.compile on the CPU imports torch.utils.mkldnn, which warns about its own use of
# torch.jit; not ours to fix, and pytest turns warnings into errors.
@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")
def test_compiled_model_trains_under_watch_without_graph_breaks(api: nbtrack.Api) -> None:
    import torch._dynamo

    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    run = nbtrack.init(project="w", display=False)
    model = mlp()
    compiled = torch.compile(model)
    run.watch(compiled, log="all", log_freq=2)
    train(run, compiled, 5)
    run.finish()
    assert not torch._dynamo.utils.counters["graph_break"], dict(
        torch._dynamo.utils.counters["graph_break"]
    )
    rec = api.run(run.path)
    assert "gradients/0.weight" in rec.histogram_keys()  # "_orig_mod." is not in the names
    assert "parameters/2.bias" in rec.histogram_keys()
    np.testing.assert_array_equal(rec.histograms("gradients/0.weight")[0], [0, 2, 4])


def test_loop_without_optimizer_counts_forward_calls(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="w", display=False)
    model = mlp()
    run.watch(model, log="all", log_freq=2)
    for i in range(4):
        x, y = batch(seed=i)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
                p.grad = None
        run.log({"i": i})
    run.finish()
    rec = api.run(run.path)
    np.testing.assert_array_equal(rec.histograms("parameters/0.weight")[0], [0, 2])
    # at forward 2, the gradients of the last backward before it
    np.testing.assert_array_equal(rec.histograms("gradients/0.weight")[0], [2])


def test_unwatch_stops_histograms_and_hooks(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="w", display=False)
    model = mlp()
    run.watch(model, log="all", log_freq=1)
    train(run, model, 2)
    run.unwatch(model)
    assert not model[0].weight._post_accumulate_grad_hooks
    assert not model._forward_pre_hooks
    train(run, model, 2)
    run.finish()
    np.testing.assert_array_equal(api.run(run.path).histograms("gradients/0.weight")[0], [0, 1])


def test_training_goes_on_after_the_run_finished(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="w", display=False)
    model = mlp()
    run.watch(model, log="all", log_freq=1)
    train(run, model, 1)
    run.finish()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(2):  # no error from the hooks of a finished run; they remove themselves
        model(torch.randn(2, 8)).sum().backward()
        opt.step()
    assert not model._forward_pre_hooks


def test_watching_again_replaces_the_hooks() -> None:
    run = nbtrack.init(project="w", display=False)
    model = mlp()
    run.watch(model, log="all", log_freq=1)
    run.watch(model, log="gradients", log_freq=1)
    assert len(model[0].weight._post_accumulate_grad_hooks) == 1
    run.finish()


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"log": "weights"}, ValueError),
        ({"log_freq": 0}, ValueError),
        ({"log_freq": 1.5}, ValueError),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], error: type[Exception]) -> None:
    run = nbtrack.init(project="w", display=False)
    with pytest.raises(error, match=r"nbtrack\.watch"):
        run.watch(mlp(), **kwargs)


def test_models_must_be_modules() -> None:
    run = nbtrack.init(project="w", display=False)
    with pytest.raises(TypeError, match=r"torch\.nn\.Module"):
        run.watch("model")


def test_watch_needs_a_run() -> None:
    with pytest.raises(RuntimeError, match=r"nbtrack.init\(\)"):
        nbtrack.watch(mlp())


def test_log_none_and_log_graph() -> None:
    run = nbtrack.init(project="w", display=False)
    model = mlp()
    run.watch(model, log=None)
    assert not model._forward_pre_hooks
    with pytest.warns(UserWarning, match="log_graph"):
        run.watch(model, log_graph=True)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
def test_cuda_counts_and_no_device_sync(api: nbtrack.Api) -> None:
    tensors = [t.cuda() for t in awkward_tensors(torch.bfloat16)]
    torch.cuda.set_sync_debug_mode("error")
    try:
        table = histogram_table(tensors)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    cpu = cpu_histogram_table([t.cpu() for t in tensors])
    np.testing.assert_array_equal(table.cpu().numpy()[:, :-1], cpu[:, :-1])
    run = nbtrack.init(project="w", display=False)
    model = mlp()
    run.watch(model, log="all", log_freq=2)
    model.cuda()  # moved after watch
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    xs = [batch(seed=i) for i in range(6)]
    xs = [(x.cuda(), y.cuda()) for x, y in xs]
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for x, y in xs:
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.log({"loss": loss.detach()})
    finally:
        torch.cuda.set_sync_debug_mode("default")
    run.unwatch()
    run.finish()
    np.testing.assert_array_equal(api.run(run.path).histograms("gradients/0.weight")[0], [0, 2, 4])

"""The logging API as a user meets it: init, log, config, summary, finish, and bad input."""

from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

import nbtrack
from nbtrack._run import link


def record(api: nbtrack.Api, run: nbtrack.Run) -> nbtrack.RunRecord:
    return api.run(run.path)


def test_log_round_trips_through_the_store(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="p", name="first", notes="n", tags=["a", "b"], display=False)
    for i in range(100):
        run.log({"loss": 1.0 / (i + 1), "acc": i / 100})
    run.finish()
    rec = record(api, run)
    assert (rec.name, rec.project, rec.notes, rec.tags, rec.state) == (
        "first",
        "p",
        "n",
        ["a", "b"],
        "finished",
    )
    h = rec.history(pandas=False)
    np.testing.assert_array_equal(h["_step"], np.arange(100))
    np.testing.assert_allclose(h["loss"], 1.0 / (np.arange(100) + 1))
    assert np.all(np.diff(h["_time"]) >= 0)
    assert rec.summary == {"loss": 0.01, "acc": 0.99}
    assert rec.exit_code == 0


def test_nested_dicts_flatten_and_missing_keys_are_nan(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="p", display=False)
    run.log({"train": {"loss": 1.0, "acc": 0.5}})
    run.log({"train": {"loss": 0.5}, "val": {"loss": 0.7}})
    run.finish()
    h = record(api, run).history(pandas=False)
    assert set(h) == {"_step", "_time", "train/loss", "train/acc", "val/loss"}
    np.testing.assert_array_equal(h["train/acc"], [0.5, np.nan])
    np.testing.assert_array_equal(h["val/loss"], [np.nan, 0.7])


def test_explicit_and_repeated_steps(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="p", display=False)
    run.log({"a": 1.0}, step=10)
    run.log({"b": 2.0}, step=10)  # more keys for the same step: merged into one row
    # W&B's rule: after an explicit step the next call without one adds to that step
    # (here a is given again: the last value is kept), then the steps go on from there.
    run.log({"a": 3.0})
    run.log({"c": 5.0})
    run.log({"a": 4.0}, step=20)
    run.log({"a": 6.0}, step=21, commit=True)  # commit=True ends the step at once
    run.log({"a": 7.0})
    run.finish()
    h = record(api, run).history(pandas=False)
    np.testing.assert_array_equal(h["_step"], [10, 11, 20, 21, 22])
    np.testing.assert_array_equal(h["a"], [3.0, np.nan, 4.0, 6.0, 7.0])
    np.testing.assert_array_equal(h["b"], [2.0, np.nan, np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(h["c"], [np.nan, 5.0, np.nan, np.nan, np.nan])


def test_commit_false_accumulates_one_row(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="p", display=False)
    run.log({"a": 1.0}, commit=False)
    run.log({"b": 2.0}, commit=False)
    run.log({"c": 3.0})
    run.log({"a": 9.0})
    run.finish()
    h = record(api, run).history(pandas=False)
    np.testing.assert_array_equal(h["_step"], [0, 1])
    assert (h["a"][0], h["b"][0], h["c"][0], h["a"][1]) == (1.0, 2.0, 3.0, 9.0)


def test_decreasing_step_is_refused_and_nothing_is_lost(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="p", display=False)
    run.log({"a": 1.0}, step=5)
    with pytest.raises(ValueError, match="step 3 is lower than the last logged step 5"):
        run.log({"a": 2.0}, step=3)
    run.log({"a": 3.0}, step=6)
    run.finish()
    h = record(api, run).history(pandas=False)
    np.testing.assert_array_equal(h["_step"], [5, 6])
    np.testing.assert_array_equal(h["a"], [1.0, 3.0])


def test_nan_and_inf_are_kept(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="p", display=False)
    for v in (1.0, math.nan, math.inf, -math.inf, np.float32("nan")):
        run.log({"x": v})
    run.finish()
    h = record(api, run).history(pandas=False)
    x = h["x"]
    assert x[0] == 1.0 and math.isnan(x[1]) and x[2] == math.inf and x[3] == -math.inf
    assert math.isnan(x[4])


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("0.5", "is a str ('0.5')"),
        (None, "is a NoneType (None)"),
        ([1.0, 2.0], "is a list ([1.0, 2.0])"),
        (np.zeros(3), "NumPy array of shape (3,)"),
        (1 + 2j, "is complex"),
    ],
)
def test_bad_values_are_refused_naming_the_key(api: nbtrack.Api, value: object, words: str) -> None:
    run = nbtrack.init(project="p", display=False)
    run.log({"good": 1.0})
    with pytest.raises(TypeError, match="key 'train/bad'") as err:
        run.log({"good": 2.0, "train": {"bad": value}})
    assert words in str(err.value)
    run.log({"good": 3.0})
    run.finish()
    h = record(api, run).history(pandas=False)
    # The refused call logged nothing: not even its good value.
    np.testing.assert_array_equal(h["good"], [1.0, 3.0])
    assert "train/bad" not in h


def test_bad_keys_and_data(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="p", display=False)
    with pytest.raises(TypeError, match="keys must be strings"):
        run.log({1: 2.0})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="reserved"):
        run.log({"_step": 2.0})
    with pytest.raises(ValueError, match="empty"):
        run.log({"": 2.0})
    with pytest.raises(TypeError, match="data must be a dict"):
        run.log([("a", 1.0)])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="step must be an int"):
        run.log({"a": 1.0}, step=1.5)  # type: ignore[arg-type]


def test_numpy_scalars_and_cpu_tensors_are_accepted(api: nbtrack.Api) -> None:
    torch = pytest.importorskip("torch")
    run = nbtrack.init(project="p", display=False)
    arr = np.array(4.0)
    t = torch.tensor(6.0)
    run.log(
        {
            "f32": np.float32(1.5),
            "i64": np.int64(2),
            "b": np.bool_(True),
            "arr0": arr,
            "t0": t,
            "t1": torch.tensor([7], dtype=torch.int32),
            "bf16": torch.tensor(0.5, dtype=torch.bfloat16),
            "py_bool": False,
            "big": 10**400,
        }
    )
    arr[()] = 99.0  # changing them afterwards does not change what was logged
    t += 1
    run.finish()
    h = record(api, run).history(pandas=False)
    assert {k: float(v[0]) for k, v in h.items() if not k.startswith("_")} == {
        "f32": 1.5,
        "i64": 2.0,
        "b": 1.0,
        "arr0": 4.0,
        "t0": 6.0,
        "t1": 7.0,
        "bf16": 0.5,
        "py_bool": 0.0,
        "big": math.inf,
    }


def test_tensors_that_are_not_one_number_are_refused() -> None:
    torch = pytest.importorskip("torch")
    run = nbtrack.init(project="p", display=False)
    with pytest.raises(TypeError, match=r"key 'w' is a tensor of shape \(2, 2\)"):
        run.log({"w": torch.zeros(2, 2)})


def test_a_mutated_dict_is_copied() -> None:
    run = nbtrack.init(project="p", display=False)
    metrics = {"a": 1.0}
    run.log(metrics)
    metrics["a"] = 2.0
    run.log(metrics)
    run.finish()
    with nbtrack.Api() as api:
        np.testing.assert_array_equal(api.run(run.path).history(pandas=False)["a"], [1.0, 2.0])


def test_unicode_and_slashes_round_trip(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="проект/μ", name="run ✨ / 1", display=False)
    run.log({"損失/train": 1.0, "a/b/c": 2.0, "emoji 🚀": 3.0})
    run.finish()
    rec = api.run(run.path)
    assert rec.project == "проект/μ" and rec.name == "run ✨ / 1"
    assert rec.keys() == ["損失/train", "a/b/c", "emoji 🚀"]
    assert [r.name for r in api.runs("проект/μ")] == ["run ✨ / 1"]


def test_log_after_finish_is_refused() -> None:
    run = nbtrack.init(project="p", display=False)
    run.log({"a": 1.0})
    run.finish()
    with pytest.raises(RuntimeError, match="finished"):
        run.log({"a": 2.0})
    with pytest.raises(RuntimeError, match="finished"):
        run.log({"new": 2.0})


def test_module_functions_need_a_run() -> None:
    with pytest.raises(RuntimeError, match=r"Call nbtrack.init\(\) before nbtrack.log\(\)."):
        nbtrack.log({"a": 1.0})
    with pytest.raises(RuntimeError, match=r"Call nbtrack.init\(\) before nbtrack.config"):
        _ = nbtrack.config.lr
    assert nbtrack.run is None
    nbtrack.finish()  # no run: nothing to do


def test_module_functions_act_on_the_current_run(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="p", config={"lr": 0.1}, display=False)
    assert nbtrack.run is run
    nbtrack.log({"a": 1.0})
    assert nbtrack.config.lr == 0.1
    nbtrack.summary["best"] = 0.9
    nbtrack.finish()
    assert nbtrack.run is None
    assert api.run(run.path).summary == {"a": 1.0, "best": 0.9}


def test_config_sources_and_updates(api: nbtrack.Api) -> None:
    @dataclasses.dataclass
    class Hyper:
        lr: float = 1e-3
        layers: tuple[int, ...] = (64, 64)

    run = nbtrack.init(project="p", config=Hyper(), display=False)
    assert run.config.lr == 1e-3 and run.config["layers"] == (64, 64)
    run.config.update(argparse.Namespace(batch_size=32))
    run.config.epochs = 3
    run.config["path"] = Path("data")
    with pytest.raises(AttributeError, match="no key 'nope'"):
        _ = run.config.nope
    with pytest.raises(TypeError, match="config must be a dict"):
        run.config.update(42)
    run.finish()
    assert api.run(run.path).config == {
        "lr": 1e-3,
        "layers": [64, 64],
        "batch_size": 32,
        "epochs": 3,
        "path": "data",
    }


def test_config_change_is_saved_while_running(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="p", config={"lr": 1}, display=False)
    run.config.update({"lr": 2}, allow_val_change=True)  # W&B's rule: a change says so
    run.log({"a": 1.0})
    link(run).flush()
    assert api.run(run.path).config == {"lr": 2}


def test_summary_tracks_last_values_unless_set(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="p", display=False)
    run.log({"acc": 0.5})
    run.log({"acc": 0.7})
    assert run.summary["acc"] == 0.7
    run.summary["acc"] = 0.93
    run.log({"acc": 0.6})
    assert run.summary["acc"] == 0.93
    run.finish()
    assert api.run(run.path).summary == {"acc": 0.93}


def test_context_manager_marks_failure_with_traceback(api: nbtrack.Api) -> None:
    def train() -> nbtrack.Run:
        with nbtrack.init(project="p", display=False) as run:
            run.log({"a": 1.0})
            _ = 1 / 0
        return run

    with pytest.raises(ZeroDivisionError):
        train()
    run = api.runs("p")[-1]
    rec = api.run(run.path)
    assert rec.state == "failed"
    assert rec.error is not None and "ZeroDivisionError" in rec.error
    assert rec.history(pandas=False)["a"].tolist() == [1.0]


def test_finish_with_exit_code_fails_the_run(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="p", display=False)
    run.finish(exit_code=3)
    rec = api.run(run.path)
    assert (rec.state, rec.exit_code) == ("failed", 3)


def test_disabled_mode_is_a_no_op(store_dir: Path) -> None:
    run = nbtrack.init(project="p", mode="disabled", config={"lr": 1})
    run.log({"a": "anything"})
    nbtrack.log({"a": 1.0})  # module level too: it is the current run
    assert nbtrack.config.lr == 1
    run.config.x = 1
    run.finish()
    assert nbtrack.run is None
    assert not (store_dir / "runs.db").exists()


def test_init_validates_its_arguments() -> None:
    with pytest.raises(ValueError, match="mode must be one of"):
        nbtrack.init(mode="cloud")
    with pytest.raises(ValueError, match="project must be a non-empty string"):
        nbtrack.init(project=" ")
    with pytest.raises(TypeError, match="tags must be a list"):
        nbtrack.init(tags="abc")  # type: ignore[arg-type]


def test_a_new_init_finishes_the_previous_run(api: nbtrack.Api) -> None:
    # W&B's rule outside a notebook: reinit="finish_previous" (or True) starts a new run.
    first = nbtrack.init(project="p", display=False)
    second = nbtrack.init(project="p", display=False, reinit="finish_previous")
    assert first.state == "finished" and nbtrack.run is second
    assert [r.state for r in api.runs("p")] == ["finished", "running"]


def test_resume_continues_steps_and_config(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="p", id="abc123", config={"lr": 1}, display=False)
    run.log({"a": 1.0})
    run.log({"a": 2.0})
    run.finish()
    with pytest.raises(ValueError, match="exists already"):
        nbtrack.init(project="p", id="abc123", display=False)
    with pytest.raises(ValueError, match="no run p/nope"):
        nbtrack.init(project="p", id="nope", resume="must", display=False)
    again = nbtrack.init(project="p", id="abc123", resume="allow", display=False)
    assert again.step == 2 and again.config.lr == 1 and again.name == run.name
    again.log({"a": 3.0})
    again.finish()
    h = api.run("p/abc123").history(pandas=False)
    np.testing.assert_array_equal(h["_step"], [0, 1, 2])
    np.testing.assert_array_equal(h["a"], [1.0, 2.0, 3.0])


def test_default_name_is_readable_and_ids_are_short(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="p", display=False)
    run.finish()
    adjective, noun, number = run.name.split("-")
    assert adjective.isalpha() and noun.isalpha() and number == "1"
    assert len(run.id) == 8 and run.id.isalnum()


def test_metadata_is_recorded(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="p", display=False)
    run.finish()
    meta = api.run(run.path).metadata
    assert meta["python"] and meta["nbtrack"] == nbtrack.__version__ and meta["host"]


def test_device_values_are_read_back_in_batches_and_merged_in_step_order(
    api: nbtrack.Api,
) -> None:
    """The accelerator path (one stacked copy per dtype, off the training thread).

    No GPU here: the same batching runs on CPU tensors put where `log()` puts device values.
    """
    torch = pytest.importorskip("torch")
    from nbtrack._values import DeviceValue

    run = nbtrack.init(project="p", display=False)
    run.log({"loss": 1.0})  # step 0 from the host
    run._device_values.append(DeviceValue(1, "loss", torch.tensor(2.0)))
    run._device_values.append(DeviceValue(1, "acc", torch.tensor(0.5, dtype=torch.bfloat16)))
    run.log({})  # the row of step 1, whose values all live on the device
    run.log({"loss": 3.0})
    run.finish()
    h = api.run(run.path).history(pandas=False)
    np.testing.assert_array_equal(h["_step"], [0, 1, 2])
    np.testing.assert_array_equal(h["loss"], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(h["acc"], [np.nan, 0.5, np.nan])


@pytest.mark.parametrize("bad", ["1.0", None, [1.0], {"x": "y"}, float])
def test_a_bad_value_under_a_known_key_is_refused(api: nbtrack.Api, bad: object) -> None:
    run = nbtrack.init(project="p", display=False)
    run.log({"a": 1.0, "b": 2.0})
    with pytest.raises(TypeError, match="key 'b"):
        run.log({"a": 1.5, "b": bad})
    run.log({"a": 3.0, "b": 4.0})
    run.finish()
    h = api.run(run.path).history(pandas=False)
    np.testing.assert_array_equal(h["a"], [1.0, 3.0])


def test_values_of_every_number_type_under_known_keys(api: nbtrack.Api) -> None:
    torch = pytest.importorskip("torch")
    run = nbtrack.init(project="p", display=False)
    for v in (1.0, 2, True, np.float32(4), np.int8(5), np.array(6.0), torch.tensor(7.0), 8.0):
        run.log({"a": 0.5, "v": v})
    run.finish()
    np.testing.assert_array_equal(
        api.run(run.path).history(pandas=False)["v"], [1, 2, 1, 4, 5, 6, 7, 8]
    )


def test_run_and_disabled_run_satisfy_the_run_protocol(store_dir: Path) -> None:
    from nbtrack._interface import RunProtocol

    run = nbtrack.init(project="p", display=False)
    assert isinstance(run, RunProtocol)
    run.finish()
    with nbtrack.init(project="p", mode="disabled") as disabled:
        assert isinstance(disabled, RunProtocol)
        disabled.alert("a title", "text")  # every call of a real run exists, and does nothing
        assert disabled.dashboard() is None
        assert nbtrack.run is disabled
    assert nbtrack.run is None  # `with` ended it, as it ends a real run


def test_module_config_and_summary_iterate_like_the_runs(store_dir: Path) -> None:
    run = nbtrack.init(project="p", config={"lr": 0.1, "bs": 8}, display=False)
    run.log({"loss": 1.0})
    assert list(nbtrack.config) == ["lr", "bs"] and len(nbtrack.config) == 2
    assert list(nbtrack.summary) == ["loss"] and len(nbtrack.summary) == 1
    assert dict(nbtrack.config.items()) == {"lr": 0.1, "bs": 8}
    run.finish()


def test_a_missing_run_is_a_lookup_error_from_the_errors_module(api: nbtrack.Api) -> None:
    with pytest.raises(nbtrack.errors.RunNotFoundError) as e:
        api.run("p/nope")
    assert isinstance(e.value, LookupError)

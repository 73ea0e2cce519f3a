"""Sweeps (nbtrack/sweeps/): W&B's sweep configuration, grid / random / bayes search, the
agent running a function per trial (each trial a run of the project with its sweep id),
several agents on one sweep, hyperband, and the compare view of a sweep's runs."""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nbtrack
from nbtrack.api import Api
from nbtrack.sweeps import (
    SweepConfigError,
    SweepNotFoundError,
    _config,
    _search,
    active_trial,
    agent,
    load_sweep,
    sweep,
)

ROOT = Path(__file__).resolve().parents[1]


def _runs(project: str) -> list[nbtrack.RunRecord]:
    with Api() as api:
        return api.runs(project)


def _trainer(metric: str = "loss", steps: int = 3) -> Any:
    """A function as a W&B sweep script has it: init, read the config, log."""

    def train() -> None:
        run = nbtrack.init()
        lr = run.config["lr"]
        for i in range(steps):
            nbtrack.log({metric: lr * (steps - i)})

    return train


# -- grid ----------------------------------------------------------------------------------


def test_grid_runs_every_combination_once_in_wandb_order_then_the_sweep_is_finished(
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = {
        "method": "grid",
        "parameters": {
            "lr": {"values": [0.1, 0.01, 0.001]},
            "batch": {"values": [32, 64]},
            "epochs": {"value": 2},
        },
    }
    sid = sweep(config, project="grid")
    assert f"Create sweep with ID: {sid}" in capsys.readouterr().err
    assert len(sid) == 8 and sid.isalnum() and sid.islower()
    seen: list[dict[str, Any]] = []

    def train() -> None:
        with nbtrack.init() as run:
            seen.append(dict(run.config))
            run.log({"loss": 1.0})

    agent(sid, function=train)
    # W&B's order: parameters sorted by name, the last one varying fastest.
    expected = [
        {"batch": b, "epochs": 2, "lr": lr}
        for b, lr in itertools.product([32, 64], [0.1, 0.01, 0.001])
    ]
    assert seen == expected
    s = load_sweep(None, "grid", sid)
    assert s.state == "FINISHED" and len(s.runs) == 6 and len(set(s.runs)) == 6
    assert s.expected_run_count == 6
    assert [t["state"] for t in s.trials] == ["finished"] * 6
    assert {r.id for r in _runs("grid")} == set(s.runs)
    agent(sid, function=train)  # a finished sweep hands out nothing more
    assert len(seen) == 6


def test_grid_takes_int_uniform_and_q_uniform_as_wandb_enumerates_them() -> None:
    sid = sweep(
        {
            "method": "grid",
            "parameters": {
                "layers": {"min": 1, "max": 3},  # ints: int_uniform, every int
                "drop": {"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.5},
            },
        },
        project="grid-ranges",
    )
    seen: list[tuple[Any, Any]] = []

    def train() -> None:
        run = nbtrack.init()
        seen.append((run.config["drop"], run.config["layers"]))

    agent(sid, function=train)
    # q_uniform on a grid is numpy's arange(min, max, q), max left out, as in W&B.
    assert seen == list(itertools.product([0.0, 0.5], [1, 2, 3]))


_WORKER = """
import os, sys, time
from pathlib import Path
import nbtrack
from nbtrack.sweeps import agent

here = Path(sys.argv[2])

def train():
    run = nbtrack.init()
    run.log({"loss": run.config["a"] + run.config["b"]})
    # Each agent's first trial waits for the other agent's: both take trials, at once.
    (here / str(os.getpid())).touch()
    deadline = time.monotonic() + 60
    while len(list(here.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)

agent(sys.argv[1], function=train)
"""


def test_two_agent_processes_on_one_grid_never_take_a_combination_twice(
    store_dir: Path, tmp_path: Path
) -> None:
    sid = sweep(
        {
            "method": "grid",
            "metric": {"name": "loss"},
            "parameters": {"a": {"values": list(range(4))}, "b": {"values": [0, 10, 20]}},
        },
        project="two",
    )
    meeting = tmp_path / "meeting"
    meeting.mkdir()
    env = {**os.environ, "NBTRACK_DIR": str(store_dir), "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, sid, str(meeting)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    s = load_sweep(store_dir, "two", sid)
    combos = [(t["params"]["a"], t["params"]["b"]) for t in s.trials]
    assert sorted(combos) == sorted(itertools.product(range(4), [0, 10, 20]))  # all, once
    assert sorted(t["grid_index"] for t in s.trials) == list(range(12))
    assert len({t["pid"] for t in s.trials}) == 2  # both agents took trials
    runs = _runs("two")
    assert len(runs) == 12 and {r.id for r in runs} == set(s.runs)
    assert all(r.state == "finished" and r.metadata.get("sweep_id") == sid for r in runs)
    by_id = {r.id: r for r in runs}
    for t in s.trials:
        rec = by_id[t["run_id"]]
        assert rec.config == t["params"]
        assert t["value"] == rec.summary["loss"] == t["params"]["a"] + t["params"]["b"]


# -- random: every distribution stays in its bounds ---------------------------------------


def _draw(spec: dict[str, Any], n: int = 400, seed: int = 0) -> list[Any]:
    s = _config.parse({"method": "random", "parameters": {"p": spec}})
    rng = np.random.default_rng(seed)
    return [_search.next_params(s, [], rng)[0]["p"] for _ in range(n)]


def _is_multiple(x: float, q: float) -> bool:
    return math.isclose(x / q, round(x / q), abs_tol=1e-9)


def test_random_draws_stay_within_each_distribution() -> None:
    ints = _draw({"min": 2, "max": 5})
    assert set(ints) == {2, 3, 4, 5} and all(type(v) is int for v in ints)
    flts = _draw({"min": -1.0, "max": 1})
    assert all(-1 <= v <= 1 and type(v) is float for v in flts) and len(set(flts)) == len(flts)
    q = _draw({"distribution": "q_uniform", "min": 0, "max": 10, "q": 2})
    assert set(q) <= {0, 2, 4, 6, 8, 10} and all(type(v) is int for v in q)
    logv = _draw({"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1})
    assert all(1e-5 <= v <= 1e-1 for v in logv)
    assert 1e-4 < float(np.median(logv)) < 1e-2  # log space: the median near 1e-3
    qlog = _draw({"distribution": "q_log_uniform_values", "min": 1, "max": 1000, "q": 1})
    assert all(1 <= v <= 1000 and v == int(v) for v in qlog) and float(np.median(qlog)) < 100
    inv = _draw({"distribution": "inv_log_uniform_values", "min": 0.01, "max": 1})
    assert all(0.01 <= v <= 1 for v in inv)
    normal = _draw({"distribution": "normal", "mu": 5, "sigma": 2})
    assert abs(np.mean(normal) - 5) < 0.4 and abs(np.std(normal) - 2) < 0.4
    qn = _draw({"distribution": "q_normal", "mu": 0, "sigma": 3, "q": 0.5})
    assert all(_is_multiple(v, 0.5) for v in qn)
    logn = _draw({"distribution": "log_normal", "mu": 0, "sigma": 1})
    assert all(v > 0 for v in logn) and abs(np.median(logn) - 1) < 0.25
    beta = _draw({"distribution": "beta", "a": 2, "b": 5})
    assert all(0 <= v <= 1 for v in beta) and abs(np.mean(beta) - 2 / 7) < 0.05
    qbeta = _draw({"distribution": "q_beta", "a": 1, "b": 1, "q": 0.1})
    assert all(0 <= v <= 1 and _is_multiple(v, 0.1) for v in qbeta)
    cat = _draw({"values": ["adam", "sgd", "rms"], "probabilities": [0.5, 0.5, 0.0]})
    assert set(cat) == {"adam", "sgd"}
    odd = _draw({"values": [[1, 2], {"k": 1}, None]}, n=60)  # any JSON value
    assert all(v in ([1, 2], {"k": 1}, None) for v in odd) and len({repr(v) for v in odd}) == 3
    assert set(_draw({"value": "fixed"}, n=5)) == {"fixed"}


def test_log_uniform_with_exponent_bounds_is_wandbs_old_meaning_and_says_so() -> None:
    with pytest.warns(UserWarning, match=r"log_uniform.*base-e exponents"):
        drawn = _draw({"distribution": "log_uniform", "min": math.log(1e-4), "max": 0.0})
    assert all(1e-4 * 0.999 <= v <= 1.0 for v in drawn)


def test_a_random_sweep_through_the_agent_gives_each_run_a_config_in_bounds() -> None:
    sid = sweep(
        {
            "method": "random",
            "parameters": {
                "lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-2},
                "layers": {"values": [1, 2]},
            },
        },
        project="rand",
    )
    agent(sid, function=_trainer(), count=3)
    runs = _runs("rand")
    assert len(runs) == 3
    for r in runs:
        assert 1e-4 <= r.config["lr"] <= 1e-2 and r.config["layers"] in (1, 2)


# -- bayes --------------------------------------------------------------------------------


def _best_of(method: str, seed: int, n: int, f: Any, params: dict[str, Any]) -> float:
    spec = _config.parse(
        {"method": method, "metric": {"name": "loss", "goal": "minimize"}, "parameters": params}
    )
    rng = np.random.default_rng(seed)
    trials: list[dict[str, Any]] = []
    for _ in range(n):
        p, _ = _search.next_params(spec, trials, rng)
        trials.append({"params": p, "state": "finished", "value": f(p)})
    return min(t["value"] for t in trials)


@pytest.mark.parametrize(
    ("params", "f", "n"),
    [
        ({"x": {"min": 0.0, "max": 1.0}}, lambda p: (p["x"] - 0.37) ** 2, 10),
        (
            {
                "x": {"min": -2.0, "max": 2.0},
                "lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1.0},
            },
            lambda p: (p["x"] - 0.6) ** 2 + (math.log10(p["lr"]) + 3.3) ** 2 / 10,
            15,
        ),
    ],
    ids=["1-D", "2-D, one in log space"],
)
def test_bayes_finds_a_better_minimum_than_random_on_a_smooth_function(
    params: dict[str, Any], f: Any, n: int
) -> None:
    bayes = [_best_of("bayes", seed, n, f, params) for seed in range(5)]
    rand = [_best_of("random", seed, n, f, params) for seed in range(5)]
    # Measured: bayes' mean best is 15-30 times lower; a factor of 3 is the margin.
    assert np.mean(bayes) * 3 < np.mean(rand), (bayes, rand)


def test_bayes_maximizes_when_the_goal_says_so_and_models_failed_trials_as_the_worst() -> None:
    spec = _config.parse(
        {
            "method": "bayes",
            "metric": {"name": "acc", "goal": "maximize"},
            "parameters": {"x": {"min": 0.0, "max": 1.0}},
        }
    )
    rng = np.random.default_rng(3)

    def acc(x: float) -> float:
        return 1 - (x - 0.6) ** 2

    trials: list[dict[str, Any]] = [
        {"params": {"x": 0.95}, "state": "failed", "value": None},  # counts as the worst
        {"params": {"x": 0.1}, "state": "finished", "value": acc(0.1)},
        {"params": {"x": 0.3}, "state": "finished", "value": acc(0.3)},
        {"params": {"x": 0.8}, "state": "running", "value": None},  # in flight elsewhere
    ]
    for _ in range(8):
        p, _ = _search.next_params(spec, trials, rng)
        trials.append({"params": p, "state": "finished", "value": acc(p["x"])})
    best = max(t["value"] for t in trials if t["value"] is not None)
    assert best > 1 - 0.05**2  # within 0.05 of the maximum at 0.6


def test_a_bayes_sweep_through_the_agent_records_each_trials_metric() -> None:
    sid = sweep(
        {
            "method": "bayes",
            "metric": {"name": "loss", "goal": "minimize"},
            "parameters": {"lr": {"min": 0.0, "max": 1.0}},
        },
        project="bayes",
    )
    agent(sid, function=_trainer(steps=2), count=4)
    s = load_sweep(None, "bayes", sid)
    assert len(s.trials) == 4
    for t in s.trials:
        # The metric is the best value the run logged, as W&B's sweeps read it.
        assert t["value"] == pytest.approx(t["params"]["lr"])
    best = s.best_trial()
    assert best is not None and best["value"] == min(t["value"] for t in s.trials)
    assert s.best_run().id == best["run_id"]


# -- configuration errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"parameters": {"a": {"values": [1]}}}, "'method' is required"),
        ({"method": "hyper", "parameters": {"a": {"values": [1]}}}, "method must be one of"),
        ({"method": "grid"}, "'parameters' is required"),
        ({"method": "grid", "parameters": {"lr": {"min": 0.0, "max": 1.0}}}, "'lr': grid search"),
        ({"method": "bayes", "parameters": {"a": {"values": [1, 2]}}}, "'bayes' needs a metric"),
        (
            {"method": "random", "parameters": {"lr": {"min": 1.0, "max": 0.5}}},
            "'lr': min 1.0 is not less",
        ),
        ({"method": "random", "parameters": {"lr": {"min": 1.0}}}, "'lr': 'max' is missing"),
        (
            {"method": "random", "parameters": {"lr": {"maxx": 1}}},
            "'lr': cannot tell its distribution",
        ),
        (
            {"method": "random", "parameters": {"lr": {"values": [1], "mx": 2}}},
            "'mx' is not a key of distribution 'categorical'",
        ),
        (
            {"method": "random", "parameters": {"lr": {"distribution": "gauss"}}},
            "unknown distribution 'gauss'",
        ),
        (
            {
                "method": "random",
                "parameters": {"lr": {"distribution": "int_uniform", "min": 0.5, "max": 3}},
            },
            "int_uniform needs int",
        ),
        (
            {
                "method": "random",
                "parameters": {"lr": {"distribution": "log_uniform_values", "min": 0, "max": 1}},
            },
            "min must be > 0",
        ),
        (
            {
                "method": "random",
                "parameters": {"o": {"values": ["a", "b"], "probabilities": [0.5, 0.6]}},
            },
            "do not sum to 1",
        ),
        ({"method": "random", "parameters": {"o": {"values": []}}}, "non-empty list"),
        ({"method": "random", "parameters": {"bad name": {"value": 1}}}, "'bad name'"),
        (
            {"method": "random", "parameters": {"opt": {"parameters": {}}}},
            "'opt': 'parameters' must be",
        ),
        (
            {
                "method": "random",
                "parameters": {"opt": {"parameters": {"m": {"min": 3, "max": 1}}}},
            },
            "'opt.m': min 3",
        ),
        ({"method": "random", "parameters": {"a": {"value": 1}}, "run_cap": 0}, "run_cap must be"),
        (
            {"method": "random", "parameters": {"a": {"value": 1}}, "metric": {"goal": "up"}},
            "'name'",
        ),
        (
            {
                "method": "random",
                "parameters": {"a": {"value": 1}},
                "metric": {"name": "l", "goal": "up"},
            },
            "goal must be",
        ),
        (
            {
                "method": "random",
                "parameters": {"a": {"value": 1}},
                "early_terminate": {"type": "hyperband"},
            },
            "early_terminate needs the metric",
        ),
        (
            {
                "method": "random",
                "metric": {"name": "l"},
                "parameters": {"a": {"value": 1}},
                "early_terminate": {"type": "hyperband", "max_iter": 9},
            },
            "needs 's'",
        ),
        (
            {"method": "random", "parameters": {"a": {"value": 1}}, "paramters": {}},
            "unknown key 'paramters'",
        ),
        (
            {"method": "random", "parameters": {"lr": {"min": "1e-4", "max": 0.1}}},
            r"'min' must be a finite number, not '1e-4' \(in YAML write 1.0e-4",
        ),
        ("no-such-file.yaml", "no file"),
        (42, "must be a dict"),
    ],
)
def test_a_bad_configuration_is_a_value_error_naming_the_part(config: Any, match: str) -> None:
    with pytest.raises(SweepConfigError, match=match) as info:
        sweep(config, project="bad")
    assert isinstance(info.value, ValueError)


def test_hyperband_bands_follow_wandb() -> None:
    def bands(et: dict[str, Any]) -> tuple[int, ...]:
        spec = _config.parse(
            {
                "method": "random",
                "metric": {"name": "loss"},
                "parameters": {"a": {"value": 1}},
                "early_terminate": {"type": "hyperband", **et},
            }
        )
        assert spec.hyperband is not None
        return spec.hyperband.bands

    assert bands({"min_iter": 3})[:4] == (3, 9, 27, 81)  # eta defaults to 3
    assert bands({"min_iter": 2, "eta": 2})[:3] == (2, 4, 8)
    assert bands({"max_iter": 27, "s": 2}) == (3, 9)
    assert bands({"max_iter": 81, "s": 3, "eta": 3}) == (3, 9, 27)


def test_a_yaml_file_is_read_and_w_and_b_only_keys_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(
        textwrap.dedent(
            """
            program: train.py
            name: my-sweep
            method: grid
            metric: {name: loss, goal: minimize}
            parameters:
              lr: {values: [0.1, 0.2]}
            """
        )
    )
    sid = sweep(str(path), project="yaml")
    s = load_sweep(None, "yaml", sid)
    assert s.name == "my-sweep" and s.config["program"] == "train.py"
    assert s.config["parameters"] == {"lr": {"values": [0.1, 0.2]}}
    agent(sid, function=_trainer())
    assert sorted(r.config["lr"] for r in _runs("yaml")) == [0.1, 0.2]


# -- the agent ----------------------------------------------------------------------------


def test_config_comes_from_the_sweep_inside_the_function_and_wins_over_the_scripts() -> None:
    sid = sweep(
        {"method": "grid", "parameters": {"lr": {"values": [0.5]}, "opt": {"values": ["sgd"]}}},
        project="cfg",
    )
    inside: dict[str, Any] = {}

    def train() -> None:
        trial = active_trial()
        assert trial is not None
        inside["trial"] = (trial.sweep_id, trial.project, trial.params)
        run = nbtrack.init(config={"lr": 123, "epochs": 7})  # a script's defaults
        inside["config"] = dict(nbtrack.config)
        inside["lr"] = nbtrack.config.lr
        inside["run"] = (run.id, trial.run_id, run.sweep_id, run.project)

    assert active_trial() is None
    agent(sid, function=train)
    assert active_trial() is None
    assert inside["trial"] == (sid, "cfg", {"lr": 0.5, "opt": "sgd"})
    assert inside["config"] == {"lr": 0.5, "epochs": 7, "opt": "sgd"}
    assert inside["lr"] == 0.5
    run_id, trial_run_id, run_sweep_id, run_project = inside["run"]
    assert run_id == trial_run_id and run_sweep_id == sid and run_project == "cfg"
    (rec,) = _runs("cfg")
    assert rec.state == "finished"  # finished by the agent: the function left it open
    assert rec.metadata["sweep_id"] == sid and rec.config == inside["config"]


def test_nested_parameters_reach_the_config_as_nested_dicts() -> None:
    sid = sweep(
        {
            "method": "grid",
            "parameters": {
                "optimizer": {
                    "parameters": {
                        "name": {"values": ["adam", "sgd"]},
                        "lr": {"value": 0.1},
                        "betas": {"parameters": {"b1": {"value": 0.9}}},
                    }
                },
                "epochs": {"value": 3},
            },
        },
        project="nested",
    )
    seen = []

    def train() -> None:
        run = nbtrack.init(config={"optimizer": {"eps": 1e-8}})
        seen.append(run.config["optimizer"])
        nbtrack.log({"loss": 1.0})

    agent(sid, function=train)
    assert seen == [
        {"eps": 1e-8, "betas": {"b1": 0.9}, "lr": 0.1, "name": "adam"},
        {"eps": 1e-8, "betas": {"b1": 0.9}, "lr": 0.1, "name": "sgd"},
    ]
    assert sorted(r.config["optimizer"]["name"] for r in _runs("nested")) == ["adam", "sgd"]
    assert all(r.config["epochs"] == 3 for r in _runs("nested"))


def test_a_failing_function_fails_its_run_and_the_agent_goes_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sid = sweep({"method": "grid", "parameters": {"lr": {"values": [1, 2, 3, 4]}}}, project="fail")

    def train() -> None:
        run = nbtrack.init()
        nbtrack.log({"loss": 1.0})
        if run.config["lr"] == 2:
            raise RuntimeError("diverged at lr 2")

    agent(sid, function=train)
    err = capsys.readouterr().err
    assert "errored" in err and "RuntimeError: diverged at lr 2" in err
    s = load_sweep(None, "fail", sid)
    assert [t["state"] for t in s.trials] == ["finished", "failed", "finished", "finished"]
    assert "diverged at lr 2" in s.trials[1]["error"]
    states = {r.config["lr"]: r for r in _runs("fail")}
    assert states[2].state == "failed" and "diverged at lr 2" in (states[2].error or "")
    assert [states[lr].state for lr in (1, 3, 4)] == ["finished"] * 3


def test_the_agent_gives_up_when_every_trial_so_far_failed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WANDB_AGENT_DISABLE_FLAPPING", "true")
    monkeypatch.setenv("WANDB_AGENT_MAX_INITIAL_FAILURES", "2")
    sid = sweep(
        {"method": "random", "parameters": {"lr": {"min": 0.0, "max": 1.0}}}, project="flap"
    )
    calls = []

    def train() -> None:
        calls.append(1)
        nbtrack.init()
        raise ValueError("broken script")

    agent(sid, function=train, count=10)
    assert len(calls) == 3  # more than 2 failures, and nothing else: stop
    assert "failed runs in a row at start" in capsys.readouterr().err
    assert [r.state for r in _runs("flap")] == ["failed"] * 3


def test_a_function_that_raises_before_init_is_a_failed_trial_without_a_run() -> None:
    sid = sweep({"method": "grid", "parameters": {"a": {"values": [1, 2]}}}, project="noinit")
    n = []

    def train() -> None:
        n.append(1)
        if len(n) == 1:
            raise KeyError("missing data")
        nbtrack.init()

    agent(sid, function=train)
    s = load_sweep(None, "noinit", sid)
    assert [t["state"] for t in s.trials] == ["failed", "finished"]
    assert len(_runs("noinit")) == 1


def test_ctrl_c_in_the_function_stops_the_agent_and_marks_the_run_interrupted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sid = sweep({"method": "grid", "parameters": {"lr": {"values": [1, 2, 3]}}}, project="ctrlc")

    def train() -> None:
        run = nbtrack.init()
        run.log({"loss": 1.0})
        if run.config["lr"] == 2:
            raise KeyboardInterrupt

    agent(sid, function=train)  # returns, as W&B's agent does, without raising
    assert "Ctrl + C detected" in capsys.readouterr().err
    s = load_sweep(None, "ctrlc", sid)
    assert [t["state"] for t in s.trials] == ["finished", "interrupted"]
    assert sorted(r.state for r in _runs("ctrlc")) == ["finished", "interrupted"]
    assert s.state == "RUNNING"  # lr 3 is still to run, by the next agent
    agent(sid, function=train)
    assert len(_runs("ctrlc")) == 3


def test_the_sweep_goes_to_the_store_init_writes_to(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("NBTRACK_DIR")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wb"))
    sid = sweep({"method": "grid", "parameters": {"lr": {"values": [1]}}}, project="wbdir")
    assert (tmp_path / "wb" / "sweeps" / "wbdir" / f"{sid}.json").is_file()
    agent(sid, function=_trainer())
    (t,) = load_sweep(None, "wbdir", sid).trials
    with Api(tmp_path / "wb") as api:
        assert api.run(f"wbdir/{t['run_id']}").metadata["sweep_id"] == sid


def test_count_limits_each_agent_call_and_run_cap_the_whole_sweep() -> None:
    sid = sweep(
        {"method": "random", "parameters": {"lr": {"min": 0.0, "max": 1.0}}}, project="count"
    )
    agent(sid, function=_trainer(), count=2)
    assert len(_runs("count")) == 2
    agent(sid, function=_trainer(), count=1)
    assert len(_runs("count")) == 3

    capped = sweep(
        {"method": "random", "run_cap": 3, "parameters": {"lr": {"min": 0.0, "max": 1.0}}},
        project="cap",
    )
    agent(capped, function=_trainer())  # no count: the cap stops it
    assert len(_runs("cap")) == 3
    agent(capped, function=_trainer(), count=5)
    assert len(_runs("cap")) == 3
    s = load_sweep(None, "cap", capped)
    assert s.state == "FINISHED" and s.expected_run_count == 3


def test_the_metric_target_finishes_the_sweep() -> None:
    sid = sweep(
        {
            "method": "grid",
            "metric": {"name": "loss", "goal": "minimize", "target": 0.25},
            "parameters": {"lr": {"values": [0.5, 0.2, 0.1, 0.05]}},
        },
        project="target",
    )
    agent(sid, function=_trainer(steps=1))
    # 0.2 reaches the target: 0.1 and 0.05 never run.
    assert sorted(r.config["lr"] for r in _runs("target")) == [0.2, 0.5]
    assert load_sweep(None, "target", sid).state == "FINISHED"


def test_a_define_metric_summary_is_the_trials_value() -> None:
    sid = sweep(
        {
            "method": "grid",
            "metric": {"name": "val/acc", "goal": "maximize"},
            "parameters": {"lr": {"values": [0.3]}},
        },
        project="defmetric",
    )

    def train() -> None:
        run = nbtrack.init()
        run.define_metric("val/acc", summary="max")
        for acc in (0.2, 0.9, 0.4):
            run.log({"val/acc": acc})

    agent(sid, function=train)
    (t,) = load_sweep(None, "defmetric", sid).trials
    assert t["value"] == 0.9
    (rec,) = _runs("defmetric")
    assert rec.summary["val/acc"]["max"] == 0.9


def test_the_sweep_id_forms_of_wandb(monkeypatch: pytest.MonkeyPatch) -> None:
    sid = sweep({"method": "grid", "parameters": {"lr": {"values": [1, 2, 3, 4]}}}, project="forms")
    agent(f"forms/{sid}", function=_trainer(), count=1)
    agent(f"me/forms/{sid}", function=_trainer(), count=1)
    agent(sid, function=_trainer(), count=1)  # bare: found in the store's sweeps
    monkeypatch.setenv("WANDB_PROJECT", "forms")
    agent(sid, function=_trainer(), count=1)
    assert sorted(r.config["lr"] for r in _runs("forms")) == [1, 2, 3, 4]
    with pytest.raises(SweepNotFoundError, match="no sweep 'zzzzzzzz'"):
        agent("zzzzzzzz", function=_trainer())
    with pytest.raises(ValueError, match="is not a sweep id"):
        agent("a/b/c/d", function=_trainer())


def test_agent_without_a_function_warns_and_says_what_to_pass() -> None:
    sid = sweep({"method": "grid", "program": "train.py", "parameters": {"a": {"value": 1}}})
    with (
        pytest.warns(UserWarning, match="not supported"),
        pytest.raises(ValueError, match="function="),
    ):
        agent(sid)
    with pytest.raises(TypeError, match="callable"):
        agent(sid, function="train.py")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="count"):
        agent(sid, function=_trainer(), count=-1)


def test_a_disabled_run_in_a_trial_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "disabled")
    sid = sweep({"method": "grid", "parameters": {"lr": {"values": [1, 2]}}}, project="off")
    agent(sid, function=_trainer())
    s = load_sweep(None, "off", sid)
    assert [t["state"] for t in s.trials] == ["finished", "finished"]


def test_prior_runs_count_as_trials_of_the_grid() -> None:
    with nbtrack.init(project="prior", config={"lr": 2}) as run:
        run.log({"loss": 0.5})
    sid = sweep(
        {"method": "grid", "metric": {"name": "loss"}, "parameters": {"lr": {"values": [1, 2, 3]}}},
        project="prior",
        prior_runs=[run.id],
    )
    assert load_sweep(None, "prior", sid).trials[0]["value"] == 0.5
    agent(sid, function=_trainer())
    assert sorted(r.config["lr"] for r in _runs("prior")) == [1, 2, 3]  # 2 not run again
    with pytest.raises(ValueError, match="prior run 'nope' is not a run"):
        sweep(
            {"method": "grid", "parameters": {"lr": {"values": [1]}}},
            project="prior",
            prior_runs=["nope"],
        )


# -- hyperband ----------------------------------------------------------------------------


def test_hyperband_stops_a_trial_below_the_cutoff_and_keeps_what_it_logged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sid = sweep(
        {
            "method": "grid",
            "metric": {"name": "loss", "goal": "minimize"},
            "parameters": {"lr": {"values": [1.0, 5.0]}},
            "early_terminate": {"type": "hyperband", "min_iter": 3, "eta": 3},
        },
        project="hb",
    )
    logged: dict[float, int] = {}

    def train() -> None:
        with nbtrack.init() as run:  # its __exit__ sees the stop, and leaves the run finished
            lr = run.config["lr"]
            logged[lr] = 0
            for _ in range(10 if lr == 1.0 else 40):
                run.log({"loss": lr})
                logged[lr] += 1
                if lr == 5.0:
                    time.sleep(0.12)  # log() checks the bands at most every 0.1 s

    agent(sid, function=train)
    assert logged[1.0] == 10
    assert logged[5.0] < 40  # stopped early, soon after its 3rd value
    assert "hyperband" in capsys.readouterr().err
    s = load_sweep(None, "hb", sid)
    assert [t["state"] for t in s.trials] == ["finished", "stopped"]
    assert s.trials[0]["bands"] == {"3": 1.0, "9": 1.0}
    assert s.trials[1]["bands"] == {"3": 5.0}
    runs = {r.config["lr"]: r for r in _runs("hb")}
    # Its 3rd log() call stored its value, then raised: 3 steps kept, the run finished.
    assert runs[5.0].state == "finished" and runs[5.0].last_step + 1 == logged[5.0] + 1 == 3


# -- the must-show: 8 trials through wandb.agent, in the compare view ---------------------


def test_a_sweep_of_8_trials_through_wandb_agent_is_shown_by_the_compare_view() -> None:
    import nbtrack as wandb
    from nbtrack._filter import compile_filter, run_fields
    from nbtrack.widget._compare import ProjectFeed
    from tests.browser.compare_harness import Recorder

    with wandb.init(project="sweep-demo", name="baseline") as baseline:  # not of the sweep
        baseline.log({"val_loss": 1.0})
    sweep_config = {
        "method": "random",
        "metric": {"name": "val_loss", "goal": "minimize"},
        "parameters": {
            "learning_rate": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
            "batch_size": {"values": [16, 32, 64]},
            "epochs": {"value": 3},
        },
    }
    sweep_id = wandb.sweep(sweep_config, project="sweep-demo")

    def main() -> None:
        wandb.init()
        lr = wandb.config.learning_rate
        for epoch in range(wandb.config.epochs):
            wandb.log({"epoch": epoch, "val_loss": lr * (3 - epoch) + 1 / wandb.config.batch_size})

    wandb.agent(sweep_id, function=main, count=8)
    with Api() as api:
        runs = [r for r in api.runs("sweep-demo") if r.id != baseline.id]
        assert len(runs) == 8
        assert all(r.metadata.get("sweep_id") == sweep_id and r.state == "finished" for r in runs)
        assert all(r.sweep_id == sweep_id for r in runs)
        rec = Recorder()
        ProjectFeed(rec, api, "sweep-demo", follow=False)  # type: ignore[arg-type]
    content, _ = rec.sent[0]
    assert content["type"] == "runs"
    rows = {row["id"]: row for row in content["runs"]}
    assert set(rows) == {r.id for r in runs} | {baseline.id}
    # The table's sweep column, and its filter, pick out the sweep's 8 runs.
    assert {i for i, row in rows.items() if row["sweep"] == sweep_id} == {r.id for r in runs}
    keep = compile_filter(f'sweep == "{sweep_id}"')
    assert {i for i, row in rows.items() if keep(run_fields(row))} == {r.id for r in runs}
    assert sorted(load_sweep(None, "sweep-demo", sweep_id).runs) == sorted(r.id for r in runs)


def test_the_module_names_of_wandb() -> None:
    import nbtrack as wandb
    import nbtrack.sweeps

    assert wandb.sweep is nbtrack.sweeps.sweep and wandb.agent is nbtrack.sweeps.agent
    with pytest.warns(UserWarning, match="controller"):
        ctl = nbtrack.sweeps.controller("abc")
    ctl.configure_search("bayes")
    ctl.run()
    assert ctl.done()


def test_the_sweep_file_is_json_in_the_store(store_dir: Path) -> None:
    sid = sweep({"method": "grid", "parameters": {"a": {"values": [1]}}}, project="a b/c")
    path = store_dir / "sweeps" / "a_b_c" / f"{sid}.json"
    data = json.loads(path.read_text())
    assert data["id"] == sid and data["project"] == "a b/c" and data["state"] == "RUNNING"
    assert data["trials"] == [] and data["config"]["method"] == "grid"

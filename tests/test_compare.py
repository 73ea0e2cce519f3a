"""The compare view's data path: the wire format (nbtrack/widget/_compare_protocol.py) read
back as the page reads it, `ProjectFeed` on a real store written by real runs, and
`nbtrack.compare()`. The fixture the JavaScript side decodes is checked here against the
encoder (tests/compare_fixtures.py)."""

from __future__ import annotations

import base64
import json
import math
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

import nbtrack
from nbtrack._filter import FilterError
from nbtrack._run import Run, link
from nbtrack.api import Api, RunRecord
from nbtrack.widget._compare import ProjectFeed, row_of
from nbtrack.widget._compare_protocol import (
    NO_VALUE,
    buckets_for,
    cell,
    curves_message,
    flatten,
    run_row,
    runs_message,
)
from tests.browser.compare_harness import Message, Recorder
from tests.compare_fixtures import (
    FIXTURES,
    SHA,
    SPIKE,
    SPIKE_STEP,
    WIDTH,
    decode_curves,
    dumps,
    gap_series,
    loss_series,
    messages,
)
from tests.compare_project import make_project

BUDGET = 3 << 20  # the default of buckets_for: "so that all fit"
Q = 65534

# -- cell and flatten ---------------------------------------------------------------------


def test_cell_tags_floats_json_cannot_carry_and_leaves_the_string_nan_a_string() -> None:
    assert cell(float("nan")) == {"$float": "nan"}
    assert cell(float("inf")) == {"$float": "inf"}
    assert cell(float("-inf")) == {"$float": "-inf"}
    assert cell("nan") == "nan"
    assert cell(-0.0) == 0.0 and math.copysign(1, cell(-0.0)) == -1
    assert cell(None) is None
    assert cell(True) is True and cell(False) is False  # not 1 and 0
    json.dumps([cell(float("nan")), cell([float("inf")])], allow_nan=False)


def test_cell_sends_ints_past_2_53_as_their_digits() -> None:
    assert cell(2**53) == 2**53
    assert cell(-(2**53)) == -(2**53)
    assert cell(2**53 + 1) == "9007199254740993"
    assert cell(-(2**53) - 1) == "-9007199254740993"
    assert cell(10**30) == "1" + "0" * 30


def test_cell_reads_numpy_scalars_as_the_numbers_they_are() -> None:
    f32 = cell(np.float32(0.5))
    assert f32 == 0.5 and type(f32) is float
    i64 = cell(np.int64(7))
    assert i64 == 7 and type(i64) is int
    assert cell(np.int64(2**60)) == str(2**60)
    assert cell(np.uint64(2**64 - 1)) == str(2**64 - 1)
    assert cell(np.float64("nan")) == {"$float": "nan"}
    assert cell(np.float32("-inf")) == {"$float": "-inf"}


def test_cell_keeps_a_numpy_bool_a_bool() -> None:
    assert cell(np.bool_(True)) is True


def test_cell_walks_lists_tuples_and_dicts_and_writes_anything_else_as_text() -> None:
    assert cell((1, float("nan"), [2.5, float("inf")])) == [
        1,
        {"$float": "nan"},
        [2.5, {"$float": "inf"}],
    ]
    assert cell({"a": {"b": float("-inf")}, 3: "x"}) == {"a": {"b": {"$float": "-inf"}}, "3": "x"}
    assert cell(b"x") == "b'x'"
    assert cell(object).startswith("<class")
    assert cell("λ ✓") == "λ ✓"


def test_flatten_names_nested_dicts_with_dots() -> None:
    config: dict[Any, Any] = {
        "opt": {"lr": 0.1, "sched": {"gamma": 0.5, "warmup": float("nan")}},
        "epochs": 3,
        "empty": {},
        "layers": [64, {"k": 3}],
        1: "one",
    }
    assert flatten(config) == {
        "opt.lr": 0.1,
        "opt.sched.gamma": 0.5,
        "opt.sched.warmup": {"$float": "nan"},
        "epochs": 3,
        "empty": {},  # nothing to flatten: the key stays, with an empty value
        "layers": [64, {"k": 3}],  # dicts inside lists stay dicts
        "1": "one",
    }
    json.dumps(flatten(config), allow_nan=False)


# -- run_row ------------------------------------------------------------------------------


def _row(**over: Any) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "run_id": "a1",
        "name": "n",
        "project": "p",
        "entity": None,
        "state": "finished",
        "created_at": 1_700_000_000.0,
        "runtime": 12.5,
        "tags": ["cnn"],
        "notes": None,
        "git": None,
        "config": {},
        "summary": {},
    }
    kw.update(over)
    return run_row(**kw)


def test_run_row_links_a_commit_on_github_and_never_the_remotes_credentials() -> None:
    git = {"commit": SHA, "branch": "main", "dirty": True, "remote": "git@github.com:o/r.git"}
    row = _row(git=git)
    assert row["git"] == {
        "commit": SHA,
        "branch": "main",
        "dirty": True,
        "url": f"https://github.com/o/r/commit/{SHA}",
    }
    token = _row(git={**git, "remote": "https://me:ghp_secret@github.com/o/r.git"})
    assert token["git"]["url"] == f"https://github.com/o/r/commit/{SHA}"
    assert "ghp_secret" not in json.dumps(token)


def test_run_row_has_no_link_without_a_known_host_or_a_commit() -> None:
    assert _row(git={"commit": SHA, "remote": "https://example.org/o/r.git"})["git"]["url"] is None
    assert _row(git={"commit": SHA})["git"]["url"] is None
    assert _row(git={"remote": "git@github.com:o/r.git"})["git"]["url"] is None
    assert _row(git=None)["git"] == {"commit": None, "branch": None, "dirty": None, "url": None}


def test_run_row_is_strict_json_with_its_config_flattened() -> None:
    row = _row(
        created_at=float("nan"),
        runtime=-3.0,
        notes=None,
        tags=["a", 2],
        config={"opt": {"lr": float("inf")}, "seed": 2**60},
        summary={"val/acc": np.float32(0.5)},
        url="https://nbtrack.example/p/runs/a1",
    )
    assert row["created_at"] == "nan"
    assert row["runtime"] == 0.0  # never negative
    assert row["notes"] == ""
    assert row["tags"] == ["a", "2"]
    assert row["config"] == {"opt.lr": {"$float": "inf"}, "seed": str(2**60)}
    assert row["summary"] == {"val/acc": 0.5}
    assert row["url"] == "https://nbtrack.example/p/runs/a1"
    msg = runs_message([row], removed=["x"])
    assert msg == {"type": "runs", "runs": [row], "removed": ["x"]}
    json.dumps(msg, allow_nan=False)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_run_made_in_a_clone_of_a_github_repository_has_its_commit_linked(
    tmp_path: Path, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> str:
        out = subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
            cwd=repo,
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()

    git("init", "-q")
    git("commit", "-q", "--allow-empty", "-m", "first")
    git("remote", "add", "origin", "https://github.com/nbtrack-test/demo.git")
    sha = git("rev-parse", "HEAD")
    monkeypatch.chdir(repo)
    run = nbtrack.init(project="git", display=False)
    run.log({"x": 1.0})
    run.finish(quiet=True)
    with Api(store_dir) as api:
        (rec,) = api.runs("git")
        row = row_of(rec)
    assert row["git"]["commit"] == sha
    assert row["git"]["url"] == f"https://github.com/nbtrack-test/demo/commit/{sha}"


# -- buckets_for --------------------------------------------------------------------------


def test_buckets_for_shares_the_budget_between_the_curves_within_64_to_1024() -> None:
    assert (buckets_for(2200), buckets_for(10), buckets_for(100_000)) == (142, 1024, 64)
    assert buckets_for(0) == buckets_for(1) == 1024
    widths = [buckets_for(c) for c in range(1, 20_000, 37)]
    assert widths == sorted(widths, reverse=True)  # more curves, never more buckets each
    assert min(widths) == 64 and max(widths) == 1024
    for curves in (1, 307, 308, 800, 2200, 4915):
        w = buckets_for(curves)
        # 10 bytes a bucket: a 4-byte step and three 2-byte codes.
        assert w == 1024 or curves * w * 10 <= BUDGET < curves * (w + 1) * 10
    assert buckets_for(800, budget_bytes=1 << 20) == 131


# -- curves_message -----------------------------------------------------------------------


def _truth(steps: np.ndarray[Any, Any], values: np.ndarray[Any, Any], width: int) -> list[Any]:
    """Each non-empty bucket of equal step span, as `reduce` defines them, worked out here
    point by point: (last step, min and max of the finite values, last value)."""
    lo, span = int(steps[0]), int(steps[-1]) - int(steps[0]) + 1
    width = min(width, span)
    buckets: dict[int, list[tuple[int, float]]] = {}
    for s, v in zip(steps.tolist(), values.tolist(), strict=True):
        buckets.setdefault((s - lo) * width // span, []).append((s, v))
    out = []
    for b in sorted(buckets):
        pts = buckets[b]
        fin = [v for _, v in pts if math.isfinite(v)]
        out.append(
            (pts[-1][0], min(fin) if fin else math.nan, max(fin) if fin else math.nan, pts[-1][1])
        )
    return out


def _close(a: float, b: float, tol: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tol


def test_an_envelope_decodes_to_every_buckets_min_max_and_last_within_one_code() -> None:
    rng = np.random.default_rng(7)
    steps = np.arange(0, 30_000, 3, dtype=np.int64)
    values = np.cumsum(rng.normal(size=len(steps)))
    values[4321] = values.max() + 100.0  # one spike
    values[100:130] = np.nan  # a stretch of NaN inside a bucket
    content, buffers = curves_message([("r", "loss", steps, values)], 100)
    (e,) = content["curves"]
    assert (e["mode"], e["n"], e["count"], e["append"]) == ("envelope", 100, len(steps), False)
    (d,) = decode_curves(content, buffers)
    truth = _truth(steps, values, 100)
    assert d["steps"].tolist() == [t[0] for t in truth]
    tol = (d["hi"] - d["lo"]) / Q
    for i, (_, mn, mx, last) in enumerate(truth):
        assert _close(d["min"][i], mn, tol) and _close(d["max"][i], mx, tol)
        assert _close(d["last"][i], last, tol)
        assert d["min"][i] <= d["last"][i] <= d["max"][i]
    assert d["lo"] == np.nanmin(values) and d["hi"] == np.nanmax(values)
    # The spike survives: the envelope's max is the true max.
    assert abs(np.nanmax(d["max"]) - values[4321]) <= tol
    assert np.argmax(np.nan_to_num(d["max"], nan=-np.inf)) == truth.index(
        next(t for t in truth if t[0] >= steps[4321])
    )
    json.dumps(content, allow_nan=False)


def test_an_envelope_codes_a_bucket_without_a_finite_value_65535_and_leaves_inf_out() -> None:
    content, buffers = curves_message([("r", "loss", *loss_series())], WIDTH)
    (d,) = decode_curves(content, buffers)
    q = d["q"]
    assert q[9].tolist() == [NO_VALUE] * 3  # steps 900..999: NaN only
    assert q[7, 2] == NO_VALUE and NO_VALUE not in q[7, :2].tolist()  # its last value is NaN
    assert NO_VALUE not in q[:7].ravel().tolist()
    assert (d["lo"], d["hi"]) == (0.0, SPIKE)  # the +inf at step 250 is no part of hi
    assert abs(d["max"][SPIKE_STEP // 100] - SPIKE) <= SPIKE / Q
    assert abs(d["max"][2] - 0.299) <= SPIKE / Q


def test_a_constant_curve_decodes_exactly() -> None:
    content, buffers = curves_message([("r", "flat", np.arange(5000), np.full(5000, -2.5))], 50)
    (d,) = decode_curves(content, buffers)
    assert content["curves"][0]["lo"] == content["curves"][0]["hi"] == -2.5
    assert d["min"].tolist() == d["max"].tolist() == d["last"].tolist() == [-2.5] * 50


def test_a_curve_of_only_nan_is_an_envelope_of_no_values() -> None:
    content, buffers = curves_message([("r", "x", np.arange(1000), np.full(1000, np.nan))], 10)
    (d,) = decode_curves(content, buffers)
    assert (d["lo"], d["hi"]) == (0.0, 0.0)
    assert d["q"].ravel().tolist() == [NO_VALUE] * 30
    json.dumps(content, allow_nan=False)


def test_an_envelope_of_uneven_steps_sends_them_as_int32_and_skips_empty_buckets() -> None:
    content, buffers = curves_message([("r", "gap", *gap_series())], WIDTH)
    (e,) = content["curves"]
    assert e["steps"] == "i32" and e["n"] == 4
    (d,) = decode_curves(content, buffers)
    assert d["steps"].tolist() == [599, 999, 5399, 5999]
    assert abs(d["last"][-1] - 5999) <= 5999 / Q


def test_a_short_curve_goes_whole_with_its_values_bit_for_bit() -> None:
    steps = np.arange(10, 93, 1, dtype=np.int64)  # 83 points: 10/12 x 100, the most
    values = np.linspace(0, 1, len(steps))
    values[[3, 4, 5, 6]] = [np.nan, np.inf, -np.inf, -0.0]
    content, buffers = curves_message([("r", "k", steps, values)], 100)
    (e,) = content["curves"]
    assert (e["mode"], e["n"], e["first"], e["stride"]) == ("points", 83, 10, 1)
    assert len(buffers) == 1  # evenly spaced steps cost no buffer
    (d,) = decode_curves(content, buffers)
    assert d["last"].tobytes() == values.tobytes()
    longer = curves_message([("r", "k", np.arange(126), np.ones(126))], 100)[0]
    assert longer["curves"][0]["mode"] == "envelope"


@pytest.mark.parametrize(
    "steps", [[0, 1, 5, 2**31 - 1], [0, 3, 2**40, 2**53 - 1]], ids=["int32", "float64"]
)
def test_a_short_curve_with_uneven_steps_points_at_its_own_values(steps: list[int]) -> None:
    values = np.array([1.5, np.nan, np.inf, -np.inf])
    content, buffers = curves_message([("r", "k", np.array(steps, dtype=np.int64), values)], 10)
    (e,) = content["curves"]
    assert e["values_buf"] != e["steps_buf"]
    (d,) = decode_curves(content, buffers)
    assert d["steps"].tolist() == steps
    assert d["last"].tobytes() == values.tobytes()


def test_appended_points_go_whole_however_many() -> None:
    steps = np.arange(100, 5100, dtype=np.int64)
    values = steps.astype(np.float64) / 2
    content, buffers = curves_message([("r", "k", steps, values)], 10, append=True)
    (e,) = content["curves"]
    assert (e["mode"], e["append"], e["n"], e["first"]) == ("points", True, 5000, 100)
    assert "request" not in content and "range" not in content
    (d,) = decode_curves(content, buffers)
    assert d["last"].tolist() == values.tolist()


def test_an_answer_carries_its_request_and_range_and_empty_curves_are_left_out() -> None:
    empty = np.empty(0, np.int64)
    content, buffers = curves_message(
        [("r", "a", empty, np.empty(0)), ("r", "b", np.arange(3), np.ones(3))],
        800,
        request=9,
        span=(np.int64(5), np.int64(40)),
    )
    assert content["request"] == 9 and content["range"] == [5, 40]
    assert [e["key"] for e in content["curves"]] == ["b"]
    assert len(buffers) == 1
    json.dumps(content, allow_nan=False)


def test_a_project_of_200_runs_of_3_metrics_and_2000_steps_fits_the_budget() -> None:
    # What the feed sends of such a project (the encoder alone: writing 200 real runs takes
    # a minute). Each run's curves: three metrics and the wall time, as the feed counts them.
    rng = np.random.default_rng(1)
    steps = np.arange(2000, dtype=np.int64)
    curves = []
    for run in range(200):
        rid = f"run{run:03d}"
        for key in ("train/loss", "val/loss", "val/acc"):
            curves.append((rid, key, steps, np.cumsum(rng.normal(size=2000))))
        curves.append((rid, "_time", steps, 1.7e9 + np.cumsum(rng.uniform(0.1, 0.2, 2000))))
    width = buckets_for(len(curves))
    content, buffers = curves_message(curves, width)
    assert width == 393
    assert {e["mode"] for e in content["curves"]} == {"envelope"}
    assert {e["n"] for e in content["curves"]} == {width}
    assert sum(len(b) for b in buffers) <= BUDGET


# -- ProjectFeed on a real store ----------------------------------------------------------


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with make_project's 12 finished runs of 60 steps (read only by the tests)."""
    root = tmp_path_factory.mktemp("sweep") / "store"
    make_project(root, "sweep")
    return root


@pytest.fixture
def sweep_api(sweep: Path) -> Iterator[Api]:
    with Api(sweep) as api:
        yield api


def _feed(
    api: Api, project: str = "sweep", runs: list[str] | None = None
) -> tuple[ProjectFeed, Recorder, list[Message]]:
    """A feed without its polling thread, sending to a Recorder; and its snapshot."""
    rec = Recorder()
    # A Recorder has what the feed needs of a CompareView: send, send_bokeh and on_msg.
    feed = ProjectFeed(rec, api, project, runs, follow=False)  # type: ignore[arg-type]
    return feed, rec, rec.take()


def _range(
    ident: int, runs: list[str], keys: list[str], start: int, end: int, width: int = 800
) -> dict[str, Any]:
    """A ``range`` request as the page sends it."""
    return {"type": "range", "id": ident, "runs": runs, "keys": keys, "start": start,
            "end": end, "width": width}  # fmt: skip


def _curves(msgs: list[Message]) -> list[dict[str, Any]]:
    out = []
    for content, buffers in msgs:
        if content["type"] == "curves":
            out.extend(decode_curves(content, buffers))
    return out


def test_the_snapshot_is_every_row_then_every_curve(sweep_api: Api) -> None:
    feed, _, msgs = _feed(sweep_api)
    first, *rest = msgs
    runs = first[0]
    assert runs["type"] == "runs" and runs["removed"] == [] and first[1] == []
    assert [r["name"] for r in runs["runs"]] == [f"run-{i:02d}" for i in range(12)]
    assert {r["state"] for r in runs["runs"]} == {"finished"}
    no_dropout = runs["runs"][3]["config"]
    assert set(no_dropout) == {"lr", "batch_size", "optimizer"}
    json.dumps(runs, allow_nan=False)
    assert rest and all(c["type"] == "curves" for c, _ in rest)
    assert feed.width == buckets_for(12 * 3)
    curves = _curves(rest)
    recs = {r.id: r for r in sweep_api.runs("sweep")}
    assert {(c["run"], c["key"]) for c in curves} == {
        (i, k) for i in recs for k in ("train/loss", "val/acc", "_time")
    }
    for c in curves:
        steps, values = recs[c["run"]].series(c["key"])
        assert (c["mode"], c["append"]) == ("points", False)  # 60 points: whole
        assert c["steps"].tolist() == steps.tolist() == list(range(60))
        assert c["last"].tolist() == values.tolist()


def test_run_row_has_the_runs_group_job_type_and_sweep_from_its_metadata() -> None:
    meta = {"group": "exp-1", "job_type": "train", "sweep_id": "abc123", "host": "gpu-7"}
    row = _row(metadata=meta)
    assert (row["group"], row["job_type"], row["sweep"]) == ("exp-1", "train", "abc123")
    assert "gpu-7" not in json.dumps(row)  # the rest of the metadata stays out
    none = _row(metadata={"group": "", "job_type": 3, "sweep_id": None})
    assert (none["group"], none["job_type"], none["sweep"]) == (None, None, None)
    assert _row()["group"] is None


def test_a_feed_shows_a_sweeps_runs_and_their_group_and_a_filter_finds_them(
    store_dir: Path,
) -> None:
    from nbtrack import sweeps
    from nbtrack._filter import compile_filter, run_fields

    sweep_id = sweeps.sweep(
        {"method": "grid", "parameters": {"lr": {"values": [0.1, 0.01]}}}, project="grouped"
    )

    def train() -> None:
        run = nbtrack.init(group="cnn", job_type="train")
        run.log({"loss": run.config.lr})
        run.finish()

    sweeps.agent(sweep_id, train, count=2)
    other = nbtrack.init(project="grouped", group="baseline", job_type="eval")
    other.log({"loss": 1.0})
    other.finish()
    with Api(store_dir) as api:
        _, _, msgs = _feed(api, "grouped")
    rows = {r["id"]: r for r in msgs[0][0]["runs"]}
    assert len(rows) == 3
    assert rows[other.id]["group"] == "baseline" and rows[other.id]["job_type"] == "eval"
    assert rows[other.id]["sweep"] is None
    swept = [r for r in rows.values() if r["id"] != other.id]
    assert [(r["group"], r["job_type"], r["sweep"]) for r in swept] == [
        ("cnn", "train", sweep_id)
    ] * 2
    keep = compile_filter(f"sweep == {json.dumps(sweep_id)}")
    assert {i for i, r in rows.items() if keep(run_fields(r))} == {r["id"] for r in swept}
    keep = compile_filter('group == "baseline" and job_type == "eval"')
    assert [i for i, r in rows.items() if keep(run_fields(r))] == [other.id]


def test_polling_an_unchanged_project_sends_nothing(sweep_api: Api) -> None:
    feed, rec, _ = _feed(sweep_api)
    feed.poll()
    feed.poll()
    assert rec.take() == []


def test_a_feed_of_some_runs_sends_only_them(sweep_api: Api) -> None:
    recs = sweep_api.runs("sweep")
    _, _, msgs = _feed(sweep_api, runs=[recs[0].id, "run-05"])  # by id, and by name
    assert [r["name"] for r in msgs[0][0]["runs"]] == ["run-00", "run-05"]
    assert {c["run"] for c in _curves(msgs[1:])} == {recs[0].id, recs[5].id}


def test_long_curves_go_as_envelopes_sized_by_the_bucket_count(store_dir: Path) -> None:
    make_project(store_dir, "long", n=3, steps=3000)
    with Api(store_dir) as api:
        feed, _, msgs = _feed(api, "long")
        assert feed.width == buckets_for(3 * 3) == 1024
        for content, buffers in msgs[1:]:
            for e in content["curves"]:
                assert (e["mode"], e["n"], e["count"]) == ("envelope", 1024, 3000)
            # 3 codes of 2 bytes a bucket, and a 4-byte step when the steps are uneven.
            assert sum(map(len, buffers)) <= 10 * 1024 * len(content["curves"])
        for c in _curves(msgs[1:]):
            assert np.all(c["min"] <= c["max"])


def test_poll_sends_a_new_run_then_only_its_new_points(store_dir: Path) -> None:
    make_project(store_dir, "live", n=2, steps=10)
    with Api(store_dir) as api:
        feed, rec, _ = _feed(api, "live")
        run = nbtrack.init(project="live", name="training", display=False, config={"lr": 0.5})
        for s in range(5):
            run.log({"loss": 1.0 / (s + 1)}, step=s)
        link(cast(Run, run)).flush()
        feed.poll()
        msgs = rec.take()
        assert [c["type"] for c, _ in msgs] == ["runs", "curves"]
        (row,) = msgs[0][0]["runs"]
        assert (row["id"], row["state"], row["config"]) == (run.id, "running", {"lr": 0.5})
        history = _curves(msgs[1:])
        assert {(c["key"], c["append"]) for c in history} == {("loss", False), ("_time", False)}
        loss = next(c for c in history if c["key"] == "loss")
        assert loss["steps"].tolist() == [0, 1, 2, 3, 4]

        for s in range(5, 8):
            run.log({"loss": 1.0 / (s + 1), "acc": float(s)}, step=s)
        link(cast(Run, run)).flush()
        feed.poll()
        tails = _curves([m for m in rec.take() if m[0]["type"] == "curves"])
        assert {c["key"] for c in tails} == {"loss", "acc", "_time"}
        for c in tails:
            assert c["append"] is True and c["mode"] == "points"
            assert c["steps"].tolist() == [5, 6, 7]  # only what is new
        assert next(c for c in tails if c["key"] == "acc")["last"].tolist() == [5.0, 6.0, 7.0]

        run.finish(quiet=True)
        feed.poll()
        msgs = rec.take()
        rows = [r for c, _ in msgs if c["type"] == "runs" for r in c["runs"]]
        assert [(r["id"], r["state"]) for r in rows] == [(run.id, "finished")]
        feed.poll()
        assert rec.take() == []


class _Hiding(Api):
    """An Api whose project lost some runs (the store has no delete of its own yet)."""

    hidden: frozenset[str] = frozenset()

    def runs(self, project: str | None = None) -> list[RunRecord]:
        return [r for r in super().runs(project) if r.id not in self.hidden]


def test_a_run_that_leaves_the_project_is_sent_as_removed(sweep: Path) -> None:
    api = _Hiding(sweep)
    with api:
        feed, rec, _ = _feed(api)
        gone = api.runs("sweep")[4].id
        api.hidden = frozenset({gone})
        feed.poll()
        (msg,) = rec.take()
        assert msg[0] == {"type": "runs", "runs": [], "removed": [gone]}
        assert gone not in feed.followed
        feed.answer(_range(1, [gone], ["val/acc"], 0, 59))
        (answer,) = rec.take()
        assert answer[0]["curves"] == []


def test_a_range_answer_is_the_whole_points_inside_the_span(store_dir: Path) -> None:
    make_project(store_dir, "long", n=2, steps=3000)
    with Api(store_dir) as api:
        feed, rec, _ = _feed(api, "long")
        recs = api.runs("long")
        ids = [r.id for r in recs]
        feed.answer(_range(7, ids, ["train/loss", "nope"], 100, 400))
        (msg,) = rec.take()
        content = msg[0]
        assert content["request"] == 7 and content["range"] == [100, 400]
        curves = decode_curves(content, msg[1])
        assert [(c["run"], c["key"]) for c in curves] == [(i, "train/loss") for i in ids]
        for c, r in zip(curves, recs, strict=True):
            steps, values = r.series("train/loss")
            keep = (steps >= 100) & (steps <= 400)
            assert (c["mode"], c["append"]) == ("points", False)
            assert c["steps"].tolist() == steps[keep].tolist()
            assert c["last"].tolist() == values[keep].tolist()

        # A wider span than the page's pixels: a finer envelope, never more than asked.
        feed.answer(_range(8, ids[:1], ["val/acc"], 0, 2999, width=200))
        ((content, _),) = rec.take()
        (e,) = content["curves"]
        assert (content["request"], e["mode"], e["n"], e["count"]) == (8, "envelope", 200, 3000)
        # The width asked is clamped: at least 16 buckets.
        feed.answer(_range(9, ids[:1], ["val/acc"], 0, 2999, width=1))
        assert rec.take()[0][0]["curves"][0]["n"] == 16


@pytest.mark.parametrize(
    "content",
    [
        None,
        [],
        "range",
        {},
        {"type": "nope"},
        {"type": "range"},
        {"type": "range", "id": 1, "start": 0},
        {"type": "range", "id": "x", "start": 0, "end": 5, "runs": [], "keys": []},
        {"type": "range", "id": 1, "start": "zero", "end": 5},
        {"type": "range", "id": 1, "start": 0, "end": None},
        {"type": "range", "id": 1, "start": 0, "end": 5, "width": "wide"},
        {"type": "open"},
        {"type": "open", "run": "no-such-run"},
    ],
)
def test_a_request_the_page_could_not_have_sent_is_ignored(sweep_api: Api, content: Any) -> None:
    feed, rec, _ = _feed(sweep_api)
    feed.answer(content)
    assert rec.take() == []


@pytest.mark.parametrize(
    "bad",
    [{"runs": 5}, {"keys": None}, {"end": float("inf")}],
    ids=["runs-not-a-list", "keys-null", "end-inf"],
)
def test_a_malformed_range_request_raises_nothing(sweep_api: Api, bad: dict[str, Any]) -> None:
    feed, _, _ = _feed(sweep_api)
    ids = list(feed.followed)
    feed.answer({**_range(1, ids, ["val/acc"], 0, 10), **bad})


def test_open_sends_the_runs_dashboard_messages_wrapped(sweep_api: Api) -> None:
    feed, rec, _ = _feed(sweep_api)
    rid = sweep_api.runs("sweep")[2].id
    try:
        feed.answer({"type": "open", "run": rid})
        msgs = rec.take()
        assert msgs and all(set(c) == {"type", "run", "message"} for c, _ in msgs)
        assert {(c["type"], c["run"]) for c, _ in msgs} == {("run", rid)}
        kinds = [c["message"]["type"] for c, _ in msgs]
        assert "points" in kinds and "header" in kinds
        points, buffers = next(
            (c["message"], b) for c, b in msgs if c["message"]["type"] == "points"
        )
        assert {s["key"] for s in points["series"]} >= {"train/loss", "val/acc"}
        assert len(buffers) >= 2  # the dashboard's own buffers come with the wrapped message
        header = next(c["message"] for c, _ in msgs if c["message"]["type"] == "header")
        assert header["id"] == rid
        feed.answer({"type": "open", "run": rid})  # already open: nothing again
        assert rec.take() == []
    finally:
        feed.stop()


# -- nbtrack.compare ----------------------------------------------------------------------


def test_compare_refuses_a_bad_filter_naming_the_problem(api: Api) -> None:
    with pytest.raises(ValueError, match=r"bad filter at \d+: expected a value after '<'") as e:
        nbtrack.compare("sweep", filter="config.lr <")
    assert isinstance(e.value, FilterError)


def test_compare_without_a_project_shows_the_latest_runs(store_dir: Path) -> None:
    make_project(store_dir, "older", n=1, steps=2)
    make_project(store_dir, "newer", n=1, steps=2)
    view = nbtrack.compare()
    try:
        assert view.project == "newer"
        assert repr(view) == "nbtrack compare view: newer"
    finally:
        view.close()


def test_a_feed_of_a_project_with_no_run_yet_waits_for_its_first(api: Api) -> None:
    feed, rec, msgs = _feed(api, "not-yet")
    assert msgs[0][0]["runs"] == []
    run = nbtrack.init(project="not-yet", name="first", display=False)
    run.log({"loss": 1.0})
    run.finish()
    feed.poll()
    assert [r["name"] for c, _ in rec.take() if c["type"] == "runs" for r in c["runs"]] == ["first"]


def test_compare_of_an_empty_store_says_to_name_a_project(api: Api) -> None:
    with pytest.raises(ValueError, match=r"no runs .* pass project="):
        nbtrack.compare()


# -- the fixture the JavaScript side decodes ----------------------------------------------


@pytest.mark.parametrize("name", sorted(messages()))
def test_the_committed_fixture_is_what_the_encoders_send_today(name: str) -> None:
    content, buffers = messages()[name]
    path = FIXTURES / f"{name}.json"
    assert path.read_text(encoding="utf-8") == dumps(content, buffers), (
        f"{path} is out of date with nbtrack/widget/_compare_protocol.py: if the wire format "
        "changed on purpose, run `.venv/bin/python -m tests.compare_fixtures` and update "
        "js/compare-protocol.ts and js/compare/compare-protocol.test.ts with it"
    )
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert [base64.b64decode(b) for b in doc["buffers"]] == buffers


def test_the_fixture_holds_the_edge_values() -> None:
    runs = messages()["runs"][0]
    config = runs["runs"][0]["config"]
    assert config["eps"] == {"$float": "nan"} and config["label"] == "nan"
    assert config["seed"] == str(2**60) and config["opt.sched.gamma"] == 0.5
    assert runs["runs"][0]["git"]["url"] == f"https://github.com/o/r/commit/{SHA}"
    assert runs["runs"][1]["git"]["url"] is None
    content, _ = messages()["curves"]
    modes = {e["key"]: (e["mode"], e.get("steps", "even")) for e in content["curves"]}
    assert modes == {
        "loss": ("envelope", "even"),
        "flat": ("envelope", "even"),
        "gap": ("envelope", "i32"),
        "short": ("points", "i32"),
        "even": ("points", "even"),
        "huge": ("points", "f64"),
    }
    assert messages()["append"][0]["curves"][0]["n"] > WIDTH * 1.25
    assert messages()["range"][0]["range"] == [540, 560]


# -- the envelope's bucketing ----------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_reduce_buckets_as_exact_integer_arithmetic_would_and_rows_reduce_alike(seed: int) -> None:
    from nbtrack._envelope import reduce

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    # Narrow, wide and nanosecond-wide step ranges: the int64 path and the uint64 one.
    span = [50, 10**6, 2**62][seed % 3]
    steps = np.sort(rng.integers(0, span, n)).astype(np.int64) + int(rng.integers(-5, 5))
    values = rng.normal(size=(3, n))
    values[1, rng.integers(0, n, max(1, n // 10))] = np.nan
    width = int(rng.integers(1, 400))
    b = reduce(steps, values, width)
    lo, hi = int(steps[0]), int(steps[-1])
    w = max(1, min(width, hi - lo + 1))
    want = [(int(s) - lo) * w // (hi - lo + 1) for s in steps]  # Python's exact integers
    firsts = [i for i in range(n) if i == 0 or want[i] != want[i - 1]]
    assert b.step_lo.tolist() == [int(steps[i]) for i in firsts]
    for row in range(3):
        one = reduce(steps, values[row], width)
        np.testing.assert_array_equal(one.vmin, b.vmin[row])
        np.testing.assert_array_equal(one.vmax, b.vmax[row])
        np.testing.assert_array_equal(one.last, b.last[row])

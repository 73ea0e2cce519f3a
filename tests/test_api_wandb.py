"""The read API in W&B's forms: paths, filters, order, history, scan_history, update."""

from __future__ import annotations

import math
import shutil
import sys
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nbtrack
from nbtrack import _mongo
from nbtrack.errors import RunNotFoundError
from nbtrack.store.db import Store


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    # A W&B name warns once per process: each test here sees its own first warning.
    from nbtrack import _compat

    monkeypatch.setattr(_compat, "_warned", set(), raising=False)


# -- the matcher, alone ---------------------------------------------------------------------


def _match(query: Any, doc: dict[str, Any]) -> bool:
    return _mongo.compile_query(query)(lambda k: doc.get(k, _mongo.MISSING))


@pytest.mark.parametrize(
    ("query", "doc", "expected"),
    [
        ({"a": 1}, {"a": 1}, True),
        ({"a": 1}, {"a": 2}, False),
        ({"a": 1}, {"a": 1.0}, True),
        ({"a": True}, {"a": 1}, False),  # a bool is not a number here
        ({"a": None}, {}, True),  # None matches a missing field, as in MongoDB
        ({"a": {"$eq": "x"}}, {"a": "x"}, True),
        ({"a": {"$ne": 1}}, {"a": 2}, True),
        ({"a": {"$ne": 1}}, {}, True),  # $ne matches a missing field
        ({"a": {"$gt": 1}}, {"a": 2}, True),
        ({"a": {"$gt": 2}}, {"a": 2}, False),
        ({"a": {"$gte": 2}}, {"a": 2}, True),
        ({"a": {"$lt": 2}}, {"a": 1.5}, True),
        ({"a": {"$lte": 1}}, {"a": 1.5}, False),
        ({"a": {"$gt": 1, "$lt": 3}}, {"a": 2}, True),
        ({"a": {"$gt": 1, "$lt": 3}}, {"a": 3}, False),
        ({"a": {"$gt": 1}}, {"a": "2"}, False),  # a string and a number never compare
        ({"a": {"$gt": "b"}}, {"a": "c"}, True),
        ({"a": {"$gt": 1}}, {}, False),
        ({"a": {"$gt": 0}}, {"a": math.nan}, False),
        ({"a": math.nan}, {"a": math.nan}, False),
        ({"a": {"$exists": True}}, {"a": math.nan}, True),
        ({"a": {"$exists": False}}, {}, True),
        ({"a": {"$exists": False}}, {"a": None}, False),
        ({"a": {"$in": [1, 2]}}, {"a": 2}, True),
        ({"a": {"$in": [1, 2]}}, {"a": 3}, False),
        ({"a": {"$nin": [1, 2]}}, {"a": 3}, True),
        ({"a": {"$nin": [1, 2]}}, {}, True),
        ({"a": {"$regex": "^ad"}}, {"a": "adam"}, True),
        ({"a": {"$regex": "^AD"}}, {"a": "adam"}, False),
        ({"a": {"$regex": "^AD", "$options": "i"}}, {"a": "adam"}, True),
        ({"a": {"$regex": "x"}}, {"a": 1}, False),
        ({"a": {"$not": {"$gt": 1}}}, {"a": 0}, True),
        ({"a": {"$not": {"$gt": 1}}}, {"a": 2}, False),
        ({"a": {"$not": "^ad"}}, {"a": "sgd"}, True),
        ({"tags": "x"}, {"tags": ["y", "x"]}, True),  # a list holds the value
        ({"tags": "z"}, {"tags": ["y", "x"]}, False),
        ({"tags": ["y", "x"]}, {"tags": ["y", "x"]}, True),  # the whole list, in order
        ({"tags": {"$in": ["q", "x"]}}, {"tags": ["y", "x"]}, True),
        ({"tags": {"$nin": ["x"]}}, {"tags": ["y", "x"]}, False),
        ({"tags": {"$regex": "^b"}}, {"tags": ["a", "best"]}, True),
        ({"$and": [{"a": 1}, {"b": 2}]}, {"a": 1, "b": 2}, True),
        ({"$and": [{"a": 1}, {"b": 2}]}, {"a": 1, "b": 3}, False),
        ({"$or": [{"a": 1}, {"b": 2}]}, {"a": 0, "b": 2}, True),
        ({"$or": [{"a": 1}, {"b": 2}]}, {"a": 0, "b": 0}, False),
        ({"$nor": [{"a": 1}, {"b": 2}]}, {"a": 0, "b": 0}, True),
        ({"$nor": [{"a": 1}, {"b": 2}]}, {"a": 1}, False),
        ({"$not": {"a": 1}}, {"a": 2}, True),
        ({"a": 1, "b": 2}, {"a": 1, "b": 3}, False),  # plain keys combine with AND
        ({}, {"a": 1}, True),
        (None, {}, True),
    ],
)
def test_each_operator_matches_as_mongodb(query: Any, doc: dict[str, Any], expected: bool) -> None:
    assert _match(query, doc) is expected


def test_dates_compare_with_iso_strings_and_unix_times() -> None:
    doc = {"t": datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)}
    assert _match({"t": {"$gt": "2026-03-01"}}, doc)
    assert _match({"t": {"$lt": "2026-03-01T12:00:01Z"}}, doc)
    assert not _match({"t": {"$lt": "2026-03-01T12:00:00+00:00"}}, doc)
    assert _match({"t": {"$gte": doc["t"].timestamp()}}, doc)
    assert not _match({"t": {"$gt": "not a date"}}, doc)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"a": {"$gtt": 1}}, "unknown operator '$gtt' in filters (for 'a')"),
        ({"$xor": [{"a": 1}]}, "unknown operator '$xor'"),
        ({"a": {"$size": 1}}, "unknown operator '$size'"),
        ({"$or": {"a": 1}}, "$or in filters takes a non-empty list"),
        ({"$and": []}, "$and in filters takes a non-empty list"),
        ({"a": {"$in": 3}}, "$in for 'a' takes a list"),
        ({"a": {"$regex": "("}}, "$regex for 'a' is not a valid pattern"),
        ({"a": {"$options": "i"}}, "$options for 'a' needs a $regex"),
        ({"a": {"$gt": [1]}}, "$gt for 'a' takes a number"),
        ({"a": {"$gt": 1, "b": 2}}, "mix operators and plain keys"),
        ([{"a": 1}], "filters must be a dict"),
    ],
)
def test_a_bad_query_is_a_value_error_naming_it(query: Any, words: str) -> None:
    with pytest.raises(ValueError, match="nbtrack") as err:
        _mongo.compile_query(query)
    assert words in str(err.value)


def test_sort_key_puts_missing_and_nan_together_below_numbers_then_strings() -> None:
    values = ["b", 2.0, _mongo.MISSING, math.nan, -1, None, "a"]
    ordered = sorted(values, key=_mongo.sort_key)
    assert ordered[3:] == [-1, 2.0, "a", "b"]
    assert all(v is _mongo.MISSING or v is None or v != v for v in ordered[:3])


# -- a small project ------------------------------------------------------------------------


def _project(store_dir: Path) -> list[nbtrack.Run]:
    """Three finished runs of project "sweep" and one of "other"."""
    runs = []
    specs = [
        ("lr-0.1", {"lr": 0.1, "opt": {"name": "adam"}}, ["a", "best"], "g1", "train"),
        ("lr-0.01", {"lr": 0.01, "opt": {"name": "sgd"}}, ["a"], "g1", "eval"),
        ("lr-0.001", {"lr": 0.001, "opt": {"name": "adam"}, "extra": 1}, [], "g2", None),
    ]
    for name, config, tags, _group, _job in specs:
        run = nbtrack.init(project="sweep", name=name, config=config, tags=tags, display=False)
        for s in range(10):
            row = {"loss": config["lr"] / (s + 1), "acc": s / 10}
            if s % 3 == 0:
                row["val/acc"] = s / 9
            run.log(row)
        if name != "lr-0.001":
            run.summary["best_acc"] = 0.5 if name == "lr-0.1" else 0.9
        run.finish()
        runs.append(run)
    other = nbtrack.init(project="other", name="o", display=False)
    other.log({"x": 1.0})
    other.finish()
    # group, job type and sweep id as the metadata keeps them (contract 1)
    store = Store(store_dir)
    try:
        for run, (_, _, _, group, job) in zip(runs, specs, strict=True):
            row = store.run_row("sweep", run.id)
            assert row is not None
            meta = dict(row["metadata"])
            meta.update({"group": group, "sweep_id": "sw1" if group == "g1" else "sw2"})
            if job is not None:
                meta["job_type"] = job
            store.update_run(row["rk"], metadata=meta)
    finally:
        store.close()
    return runs


@pytest.fixture(scope="module")
def _template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[nbtrack.Run]]:
    # Made once: each test takes a copy of the store (the runs are finished and closed).
    root = tmp_path_factory.mktemp("template") / "store"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NBTRACK_DIR", str(root))
        return root, _project(root)


@pytest.fixture
def made(store_dir: Path, _template: tuple[Path, list[nbtrack.Run]]) -> list[nbtrack.Run]:
    root, runs = _template
    shutil.copytree(root, store_dir)
    return runs


@pytest.fixture
def api(store_dir: Path, request: pytest.FixtureRequest) -> Iterator[nbtrack.Api]:
    """conftest's `api`, on the copy of the project when the test takes `made`."""
    if "made" in request.fixturenames:
        request.getfixturevalue("made")
    Store(store_dir).close()
    with nbtrack.Api(store_dir) as a:
        yield a


def _names(runs: list[Any]) -> list[str]:
    return [r.name for r in runs]


# -- Api(...) and paths ----------------------------------------------------------------------


def test_api_takes_w_and_b_arguments(made: list[nbtrack.Run], store_dir: Path) -> None:
    with nbtrack.Api(overrides={"project": "sweep"}, timeout=10) as api:
        assert api.run(made[0].id).name == "lr-0.1"  # the default project
        assert _names(api.runs()) == ["lr-0.1", "lr-0.01", "lr-0.001"]
        assert api.default_entity is None  # a local store has no entity
    with nbtrack.Api(store_dir) as api, nbtrack.Api(dir=store_dir) as again:
        assert len(api.runs()) == len(again.runs()) == 4  # every project
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        nbtrack.Api(timeout=-1)
    with pytest.raises(ValueError, match="overrides\\['project'\\] must be a name"):
        nbtrack.Api(overrides={"project": ""})
    with pytest.warns(UserWarning, match=r"Api\(overrides=\{'organization'"):
        nbtrack.Api(overrides={"organization": "acme"}).close()
    with nbtrack.Api() as api, pytest.warns(UserWarning, match="Api.viewer is not supported"):
        assert api.viewer is None


def test_run_paths_in_every_w_and_b_form(made: list[nbtrack.Run], api: nbtrack.Api) -> None:
    rid = made[1].id
    for path in (
        f"sweep/{rid}",
        f"me/sweep/{rid}",
        f"me/sweep/runs/{rid}",
        f"/me/sweep/runs/{rid}/",
        f"sweep:{rid}",
        f"me/sweep:{rid}",
        rid,
    ):
        assert api.run(path).id == rid, path
    with pytest.raises(RunNotFoundError, match="no run 'sweep/nope'"):
        api.run("sweep/nope")
    with pytest.raises(RunNotFoundError, match="no run 'me/sweep/runs/nope'"):
        api.run("me/sweep/runs/nope")
    with pytest.raises(ValueError, match="names no run"):
        api.run("")


def test_project_paths_and_a_project_that_is_not_there(
    made: list[nbtrack.Run], api: nbtrack.Api
) -> None:
    assert _names(api.runs("sweep")) == _names(api.runs("me/sweep")) == _names(made)
    with pytest.raises(ValueError, match="no runs of project 'nope'") as err:
        api.runs("nope")
    assert "'other', 'sweep'" in str(err.value)  # it names the projects there are
    with pytest.raises(ValueError, match="no runs of project 'me/nope'"):
        api.runs("me/nope")
    projects = api.projects()
    assert projects == ["other", "sweep"]
    assert [p.name for p in projects] == ["other", "sweep"] and projects[0].entity is None
    assert api.project("me/sweep").name == "sweep"
    with pytest.raises(ValueError, match="no runs of project 'nope'"):
        api.project("nope")
    assert api.from_path("sweep") == "sweep"
    assert api.from_path(f"me/sweep/runs/{made[0].id}").id == made[0].id


def test_a_project_whose_name_holds_a_slash(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="team/proj", display=False)
    run.log({"a": 1.0})
    run.finish()
    assert [r.id for r in api.runs("team/proj")] == [run.id]
    assert api.run(f"team/proj/{run.id}").id == run.id
    assert api.run(f"me/team/proj/{run.id}").id == run.id


# -- filters and order ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"config.lr": 0.1}, ["lr-0.1"]),
        ({"config.lr": {"$gt": 0.005}}, ["lr-0.1", "lr-0.01"]),
        ({"config.lr": {"$lte": 0.01}}, ["lr-0.01", "lr-0.001"]),
        ({"config.lr.value": 0.01}, ["lr-0.01"]),  # W&B's stored form
        ({"config.opt.name": "adam"}, ["lr-0.1", "lr-0.001"]),
        ({"config.opt.name.value": "sgd"}, ["lr-0.01"]),
        ({"config.extra": {"$exists": True}}, ["lr-0.001"]),
        ({"config.extra": {"$exists": False}}, ["lr-0.1", "lr-0.01"]),
        ({"summary_metrics.best_acc": {"$gt": 0.6}}, ["lr-0.01"]),
        ({"summary.best_acc": {"$lt": 0.6}}, ["lr-0.1"]),
        ({"summary_metrics.acc": 0.9}, ["lr-0.1", "lr-0.01", "lr-0.001"]),
        ({"summary_metrics.val/acc": {"$gte": 1}}, ["lr-0.1", "lr-0.01", "lr-0.001"]),
        ({"state": "finished"}, ["lr-0.1", "lr-0.01", "lr-0.001"]),
        ({"state": {"$ne": "finished"}}, []),
        ({"tags": "best"}, ["lr-0.1"]),
        ({"tags": {"$in": ["a", "zzz"]}}, ["lr-0.1", "lr-0.01"]),
        ({"tags": {"$nin": ["a"]}}, ["lr-0.001"]),
        ({"display_name": {"$regex": r"^lr-0\.0"}}, ["lr-0.01", "lr-0.001"]),
        ({"displayName": "lr-0.1"}, ["lr-0.1"]),
        ({"group": "g1"}, ["lr-0.1", "lr-0.01"]),
        ({"jobType": "eval"}, ["lr-0.01"]),
        ({"job_type": {"$exists": False}}, ["lr-0.001"]),
        ({"sweep": "sw2"}, ["lr-0.001"]),
        ({"$or": [{"config.lr": 0.1}, {"tags": {"$size": 0}}]}, None),  # $size: an error
        ({"$or": [{"config.lr": 0.1}, {"group": "g2"}]}, ["lr-0.1", "lr-0.001"]),
        ({"$and": [{"group": "g1"}, {"config.opt.name": "adam"}]}, ["lr-0.1"]),
        ({"$nor": [{"group": "g1"}]}, ["lr-0.001"]),
        ({"config.lr": {"$not": {"$gt": 0.005}}}, ["lr-0.001"]),
        ({"createdAt": {"$gt": "2000-01-01T00:00:00"}}, ["lr-0.1", "lr-0.01", "lr-0.001"]),
        ({"createdAt": {"$lt": "2000-01-01"}}, []),
    ],
)
def test_filters_select_runs_as_w_and_b_does(
    made: list[nbtrack.Run], api: nbtrack.Api, filters: Any, expected: list[str] | None
) -> None:
    if expected is None:
        with pytest.raises(ValueError, match=r"unknown operator '\$size'"):
            api.runs("sweep", filters=filters)
        return
    assert _names(api.runs("sweep", filters=filters)) == expected


def test_filters_by_id_and_creation_time(made: list[nbtrack.Run], api: nbtrack.Api) -> None:
    assert _names(api.runs("sweep", {"name": made[2].id})) == ["lr-0.001"]  # W&B: name = id
    created = datetime.fromtimestamp(api.run(made[1].path).created_at, tz=timezone.utc)
    after = (created - timedelta(microseconds=1)).isoformat()
    assert _names(api.runs("sweep", {"created_at": {"$gte": after}})) == ["lr-0.01", "lr-0.001"]


def test_a_field_filters_do_not_know_is_an_error(made: list[nbtrack.Run], api: nbtrack.Api) -> None:
    with pytest.raises(ValueError, match=r"unknown run field 'lr'.*config\.<key>"):
        api.runs("sweep", {"lr": 0.1})
    with pytest.raises(ValueError, match="unknown run field 'bogus'"):
        api.runs("sweep", order="-bogus")


def test_order(made: list[nbtrack.Run], api: nbtrack.Api) -> None:
    assert _names(api.runs("sweep")) == ["lr-0.1", "lr-0.01", "lr-0.001"]  # oldest first
    assert _names(api.runs("sweep", order="-created_at")) == ["lr-0.001", "lr-0.01", "lr-0.1"]
    assert _names(api.runs("sweep", order="+config.lr")) == ["lr-0.001", "lr-0.01", "lr-0.1"]
    assert _names(api.runs("sweep", order="-config.lr.value")) == ["lr-0.1", "lr-0.01", "lr-0.001"]
    assert _names(api.runs("sweep", order="display_name")) == ["lr-0.001", "lr-0.01", "lr-0.1"]
    # A run without the metric comes last, whichever the direction.
    assert _names(api.runs("sweep", order="-summary_metrics.best_acc")) == [
        "lr-0.01", "lr-0.1", "lr-0.001",
    ]  # fmt: skip
    assert _names(api.runs("sweep", order="+summary_metrics.best_acc")) == [
        "lr-0.1", "lr-0.01", "lr-0.001",
    ]  # fmt: skip
    runs = api.runs("sweep", {"group": "g1"}, order="-config.lr")
    assert len(runs) == 2 and runs[0].name == "lr-0.1" and runs[-1].name == "lr-0.01"
    assert [r.name for r in runs[:1]] == ["lr-0.1"]


# -- the record -----------------------------------------------------------------------------


def test_record_fields_in_w_and_b_names(made: list[nbtrack.Run], api: nbtrack.Api) -> None:
    rec = api.run(made[0].path)
    assert (rec.group, rec.job_type, rec.sweep_id) == ("g1", "train", "sw1")
    assert rec.display_name == rec.name == "lr-0.1" and rec.url is None
    assert isinstance(rec.created_at, float)
    assert rec.summary == {"loss": 0.01, "acc": 0.9, "val/acc": 1.0, "best_acc": 0.5}
    plain = rec.summary._json_dict
    assert type(plain) is dict and plain == rec.summary
    assert rec.summary.best_acc == 0.5 and rec.summary_metrics == plain
    with pytest.raises(AttributeError, match="no key 'nope'"):
        _ = rec.summary.nope
    assert rec.config == {"lr": 0.1, "opt": {"name": "adam"}}
    assert rec.sweep is not None and rec.sweep.id == "sw1"
    assert api.run(made[2].path).job_type is None


# -- history -----------------------------------------------------------------------------


def test_history_is_a_dataframe_of_every_row(made: list[nbtrack.Run], api: nbtrack.Api) -> None:
    pd = pytest.importorskip("pandas")
    rec = api.run(made[0].path)
    df = rec.history()
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["_step", "loss", "acc", "val/acc", "_runtime", "_timestamp"]
    assert df["_step"].tolist() == list(range(10))
    np.testing.assert_allclose(df["loss"], 0.1 / (np.arange(10) + 1))
    assert df["val/acc"].isna().tolist() == [s % 3 != 0 for s in range(10)]
    assert (df["_runtime"] >= 0).all()
    assert (df["_timestamp"] - df["_runtime"]).round(6).nunique() == 1  # one start time


def test_history_keys_keep_only_rows_holding_all_of_them(
    made: list[nbtrack.Run], api: nbtrack.Api
) -> None:
    pytest.importorskip("pandas")
    rec = api.run(made[0].path)
    df = rec.history(keys=["val/acc", "loss"])
    assert list(df.columns) == ["_step", "val/acc", "loss"]
    assert df["_step"].tolist() == [0, 3, 6, 9]
    assert rec.history(keys=["acc"], x_axis="val/acc").columns.tolist() == [
        "_step", "val/acc", "acc",
    ]  # fmt: skip
    assert len(rec.history(keys=["never-logged"])) == 0
    # nbtrack's older call, keys first, reads the keys
    assert rec.history(["val/acc"])["_step"].tolist() == [0, 3, 6, 9]


def test_history_samples_spread_over_the_run(made: list[nbtrack.Run], api: nbtrack.Api) -> None:
    pytest.importorskip("pandas")
    rec = api.run(made[0].path)
    assert rec.history(samples=4)["_step"].tolist() == [0, 3, 6, 9]
    assert rec.history(samples=500)["_step"].tolist() == list(range(10))
    assert rec.history(samples=1)["_step"].tolist() == [9]
    assert rec.history(samples=2, keys=["val/acc"])["_step"].tolist() == [0, 9]
    for bad in (0, -1, 1.5, True, "10"):
        if isinstance(bad, str):
            continue  # a string is a key (the older call)
        with pytest.raises(ValueError, match="samples must be a positive int"):
            rec.history(samples=bad)  # type: ignore[arg-type]


def test_history_as_a_dict_of_arrays(
    made: list[nbtrack.Run], api: nbtrack.Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = api.run(made[0].path)
    h = rec.history(pandas=False)
    assert list(h) == ["_step", "_time", "loss", "acc", "val/acc"]
    assert h["_step"].tolist() == list(range(10)) and h["_step"].dtype == np.int64
    assert np.isnan(h["val/acc"][1]) and h["val/acc"][3] == pytest.approx(1 / 3)
    keyed = rec.history(keys=["val/acc"], pandas=False, samples=None)
    assert keyed["_step"].tolist() == [0, 3, 6, 9] and set(keyed) == {"_step", "_time", "val/acc"}
    # Without pandas, the dict is what pandas=True gives.
    monkeypatch.setitem(sys.modules, "pandas", None)
    assert isinstance(rec.history(), dict)
    assert rec.history(keys=["loss"])["loss"].tolist() == h["loss"].tolist()


def test_history_bad_arguments(made: list[nbtrack.Run], api: nbtrack.Api) -> None:
    rec = api.run(made[0].path)
    with pytest.raises(ValueError, match="takes strings; 3 is not"):
        rec.history(keys=["loss", 3])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="takes a list of keys"):
        rec.history(keys=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="stream must be 'default' or 'system'"):
        rec.history(stream="gpu")
    with pytest.raises(TypeError, match="keys twice"):
        rec.history(["loss"], keys=["acc"])  # type: ignore[arg-type]
    with pytest.warns(UserWarning, match="stream='system'"):
        assert len(rec.history(stream="system", pandas=False)["_step"]) == 0


def test_scan_history_yields_every_row(made: list[nbtrack.Run], api: nbtrack.Api) -> None:
    rec = api.run(made[0].path)
    rows = list(rec.scan_history())
    assert [r["_step"] for r in rows] == list(range(10))
    assert set(rows[0]) == {"_step", "_runtime", "_timestamp", "loss", "acc", "val/acc"}
    assert "val/acc" not in rows[1]  # a row holds the keys logged at its step
    assert isinstance(rows[0]["_step"], int) and isinstance(rows[0]["loss"], float)
    keyed = list(rec.scan_history(keys=["val/acc"], page_size=3))
    assert keyed == [{"_step": s, "val/acc": pytest.approx(s / 9)} for s in (0, 3, 6, 9)]
    assert [r["_step"] for r in rec.scan_history(min_step=3, max_step=7)] == [3, 4, 5, 6]
    assert list(rec.scan_history(keys=["nope"])) == []
    with pytest.raises(ValueError, match="page_size must be a positive int"):
        rec.scan_history(page_size=0)


def test_scan_history_keeps_a_logged_nan(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="p", display=False)
    run.log({"a": math.nan, "b": 1.0})
    run.log({"b": 2.0})
    run.finish()
    rows = list(api.run(run.path).scan_history())
    assert "a" in rows[0] and math.isnan(rows[0]["a"]) and "a" not in rows[1]


def test_runs_histories(made: list[nbtrack.Run], api: nbtrack.Api) -> None:
    rows = api.runs("sweep").histories(keys=["val/acc"])
    assert len(rows) == 12 and {r["run_id"] for r in rows} == {r.id for r in made}
    pd = pytest.importorskip("pandas")
    df = api.runs("sweep").histories(format="pandas")
    assert isinstance(df, pd.DataFrame) and len(df) == 30 and "run_id" in df.columns


# -- update ----------------------------------------------------------------------------------


def test_update_stores_edits_read_back_by_a_new_api(
    made: list[nbtrack.Run], store_dir: Path
) -> None:
    with nbtrack.Api(store_dir) as api:
        rec = api.run(made[0].path)
        rec.config["lr"] = 0.5
        rec.config["new"] = {"deep": [1, 2]}
        rec.summary["final"] = 0.75
        rec.summary["acc"] = 0.95  # over the logged value
        rec.tags.append("kept")
        rec.name = "renamed"
        rec.notes = "looked at"
        rec.group = "g9"
        rec.job_type = None
        rec.update()
    with nbtrack.Api(store_dir) as api:
        back = api.run(made[0].path)
        assert back.config == {"lr": 0.5, "opt": {"name": "adam"}, "new": {"deep": [1, 2]}}
        assert back.summary["final"] == 0.75 and back.summary["acc"] == 0.95
        assert back.summary["loss"] == 0.01  # the logged values stay
        assert back.tags == ["a", "best", "kept"]
        assert (back.name, back.notes, back.group, back.job_type) == (
            "renamed", "looked at", "g9", None,
        )  # fmt: skip
        assert back.sweep_id == "sw1"  # the rest of the metadata stays
        assert _names(api.runs("sweep", {"group": "g9"})) == ["renamed"]
        # W&B's summary.update() stores at once
        back.summary.update({"later": 1})
    with nbtrack.Api(store_dir) as api:
        assert api.run(made[0].path).summary["later"] == 1


def test_assignments_and_update_errors(made: list[nbtrack.Run], api: nbtrack.Api) -> None:
    rec = api.run(made[0].path)
    with pytest.raises(AttributeError, match="cannot assign to field 'state'"):
        rec.state = "failed"  # type: ignore[misc]
    rec.display_name = "via display"  # type: ignore[misc]
    assert rec.name == "via display"
    rec.tags = "solo"  # type: ignore[misc]
    with pytest.raises(TypeError, match=r"run\.tags must be a list of strings"):
        rec.update()
    rec.tags = ["ok"]  # type: ignore[misc]
    rec.config["bad"] = "\ud800"  # a lone surrogate: no UTF-8 for it
    with pytest.raises(ValueError, match="config value for key 'bad' cannot be stored"):
        rec.update()
    del rec.config["bad"]
    rec.name = ""  # type: ignore[misc]
    with pytest.raises(ValueError, match=r"run\.name must be a non-empty string"):
        rec.update()
    with pytest.raises(TypeError, match=r"run\.summary must be a dict"):
        rec.summary = 3  # type: ignore[misc]


def test_delete_is_accepted_and_warns(made: list[nbtrack.Run], api: nbtrack.Api) -> None:
    rec = api.run(made[0].path)
    with pytest.warns(UserWarning, match=r"Run.delete\(\) is not supported"):
        rec.delete()
    assert api.run(made[0].path).id == rec.id


# -- files, sweeps, artifacts ---------------------------------------------------------------


def test_files_of_the_runs_folder(api: nbtrack.Api, tmp_path: Path) -> None:
    run = nbtrack.init(project="f/iles", display=False)
    run.finish()
    rec = api.run(run.path)
    assert rec.files() == []
    folder = Path(run.dir)
    if folder == api.dir:  # before each run had its own folder (contract 3)
        pytest.skip("run.dir is not the run's own folder yet")
    (folder / "sub").mkdir(parents=True, exist_ok=True)
    (folder / "model.txt").write_text("weights")
    (folder / "sub" / "cfg.json").write_text("{}")
    assert [f.name for f in rec.files()] == ["model.txt", "sub/cfg.json"]
    assert [f.name for f in rec.files(pattern="%.json")] == ["sub/cfg.json"]
    assert rec.file("model.txt").size == len("weights")
    with rec.file("model.txt").download(root=str(tmp_path / "out")) as f:
        assert f.read() == "weights"
    with pytest.raises(ValueError, match="replace=True"):
        rec.file("model.txt").download(root=str(tmp_path / "out"))
    with pytest.raises(FileNotFoundError, match=r"has no file 'nope'.*model\.txt"):
        rec.file("nope")


def test_sweep_by_path(made: list[nbtrack.Run], api: nbtrack.Api) -> None:
    for path in ("sweep/sw1", "me/sweep/sw1", "me/sweep/sweeps/sw1", "sw1"):
        s = api.sweep(path)
        assert s.id == "sw1" and s.project == "sweep", path
        assert _names(s.runs) == ["lr-0.1", "lr-0.01"]
    with pytest.raises(ValueError, match="no sweep 'sweep/nope'"):
        api.sweep("sweep/nope")


def test_a_real_sweep_reads_back(api: nbtrack.Api) -> None:
    sweeps = pytest.importorskip("nbtrack.sweeps")
    if not hasattr(sweeps, "load_sweep") or not hasattr(nbtrack, "agent"):
        pytest.skip("sweeps are not there yet")
    config = {
        "method": "grid",
        "metric": {"name": "score", "goal": "maximize"},
        "parameters": {"x": {"values": [1, 2, 3]}},
    }
    sweep_id = nbtrack.sweep(config, project="sw")

    def train() -> None:
        with nbtrack.init(display=False) as run:
            run.log({"score": float(run.config["x"])})

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the agent's own notices are not under test here
        nbtrack.agent(sweep_id, function=train, count=3)
    s = api.sweep(f"sw/{sweep_id}")
    assert api.sweep(sweep_id).project == "sw"  # a bare id: its project is found
    assert s.config["metric"]["name"] == "score"
    assert sorted(r.config["x"] for r in s.runs) == [1, 2, 3]
    best = s.best_run()
    assert best is not None and best.config["x"] == 3
    assert all(r.sweep_id == sweep_id for r in api.runs("sw", {"sweep": sweep_id}))


def test_artifacts_through_the_api(api: nbtrack.Api, tmp_path: Path) -> None:
    artifacts = pytest.importorskip("nbtrack.artifacts")
    if not hasattr(artifacts, "api_artifact") or not hasattr(artifacts, "log_artifact"):
        pytest.skip("artifacts are not there yet")
    data = tmp_path / "data.txt"
    data.write_text("rows")
    run = nbtrack.init(project="art", display=False)
    art = artifacts.Artifact("ds", type="dataset")
    art.add_file(str(data))
    artifacts.log_artifact(run, art)
    run.finish()
    got = api.artifact("me/art/ds:latest")
    assert got.name.startswith("ds") and got.type == "dataset"
    assert api.artifact("art/ds:v0").type == "dataset"
    assert api.artifact_exists("art/ds:v0") and not api.artifact_exists("art/ds:v7")
    logged = api.run(run.path).logged_artifacts()
    assert len(logged) == 1


# -- from a server ---------------------------------------------------------------------------


@pytest.fixture
def team_server(tmp_path: Path) -> Any:
    pytest.importorskip("fastapi")
    from tests.server.servers import sqlite_server_fixture

    yield from sqlite_server_fixture(tmp_path)


@pytest.mark.server
@pytest.mark.slow
def test_a_server_reads_and_updates_in_w_and_b_forms(team_server: Any) -> None:
    from nbtrack.sync.client import Client

    user = team_server.create_user("ada")
    client = Client(team_server.url, user.key)
    try:
        for rid, lr, group in (("run1", 0.1, "g"), ("run2", 0.01, "h")):
            fields = {
                "name": f"lr-{lr}",
                "config": {"lr": lr},
                "tags": ["a"],
                "state": "finished",
                "metadata": {"group": group, "host": "box"},
                "summary": {"acc": lr * 5},
            }
            client.put_run("ada", "proj", rid, fields)
    finally:
        client.close()
    url = team_server.url
    with nbtrack.Api(overrides={"base_url": url}, api_key=user.key, timeout=30) as api:
        assert api.default_entity == "ada"
        rec = api.run("ada/proj/runs/run1")
        assert rec.url == f"{api.host}/ada/proj/runs/run1"
        assert (rec.group, rec.summary._json_dict) == ("g", {"acc": 0.5})
        assert [r.id for r in api.runs("ada/proj", {"config.lr": {"$lt": 0.05}})] == ["run2"]
        assert [r.id for r in api.runs("proj", order="-summary_metrics.acc")] == ["run1", "run2"]
        assert [p.name for p in api.projects()] == ["proj"]
        with pytest.raises(ValueError, match="no project 'ada/nope'"):
            api.runs("ada/nope")
        rec.config["lr"] = 0.2
        rec.summary["best"] = 1
        rec.tags.append("b")
        rec.group = "k"
        rec.update()
    with nbtrack.Api(host=url, key=user.key) as api:
        back = api.run("ada/proj/run1")
        assert back.config == {"lr": 0.2} and back.tags == ["a", "b"]
        assert back.summary == {"acc": 0.5, "best": 1}
        assert back.group == "k" and back.metadata["host"] == "box"
        with pytest.warns(UserWarning, match="files.. from a server is not supported"):
            assert back.files() == []


def test_the_rest_of_w_and_b_names_answer(made: list[nbtrack.Run], api: nbtrack.Api) -> None:
    rec = api.run(made[0].path)
    assert rec.lastHistoryStep == rec.last_step == 9
    assert rec.rawconfig == rec.config
    assert '"lr": {"value": 0.1}' in rec.json_config
    assert [r["_step"] for r in rec.beta_scan_history(keys=["val/acc"])] == [0, 3, 6, 9]
    with pytest.warns(UserWarning, match="Run.system_metrics is not supported"):
        assert rec.system_metrics == {}
    with pytest.warns(UserWarning, match=r"Run.upload_file\(\) is not supported"):
        assert rec.upload_file("x") is None
    with pytest.warns(UserWarning, match=r"Api.reports\(\) is not supported"):
        assert api.reports("sweep") == []
    with pytest.warns(UserWarning, match=r"Api.create_project\(\) is not supported"):
        assert api.create_project("x", "me") is None
    with pytest.raises(AttributeError, match="no attribute 'hitsory'"):
        rec.hitsory()  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="no attribute 'runz'"):
        api.runz()  # type: ignore[attr-defined]
    assert not api.artifact_exists("sweep/nothing:v0")


# -- update merges what was edited; deleted summary keys stay deleted -----------------------


def _wait_for(check: Any, timeout: float = 30.0) -> None:
    import time

    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise AssertionError("the condition did not hold in time")
        time.sleep(0.02)


def test_update_of_a_live_run_keeps_the_config_it_stored_meanwhile(store_dir: Path) -> None:
    # corpus 'configs': the script edits its own running run through the Api.
    run = nbtrack.init(project="live", config={"lr": 0.1, "drop": 1}, display=False)
    try:
        with nbtrack.Api(store_dir) as api:
            rec = api.run(run.path)
            run.config.update({"epochs": 3, "batch_size": 8})  # stored after the read
            _wait_for(lambda: "epochs" in api.run(run.path).config)
            rec.config["bar"] = 32
            del rec.config["drop"]
            rec.update()
            assert api.run(run.path).config == {"lr": 0.1, "epochs": 3, "batch_size": 8, "bar": 32}
            # A second update stores only what changed since the first.
            run.config.update({"later": True})
            _wait_for(lambda: "later" in api.run(run.path).config)
            rec.update()
            assert api.run(run.path).config["later"] is True
    finally:
        run.finish()


def test_rename_a_metric_deletes_the_logged_key(store_dir: Path) -> None:
    # W&B's "rename a metric" recipe of its public API guide.
    run = nbtrack.init(project="ren", display=False)
    for s in range(3):
        run.log({"val": s / 10, "loss": 1.0 / (s + 1)})
    run.finish()
    with nbtrack.Api(store_dir) as api:
        rec = api.run(run.path)
        rec.summary["new_name"] = rec.summary["val"]
        del rec.summary["val"]
        rec.summary.update()  # W&B's form: no argument, it saves
    with nbtrack.Api(store_dir) as api:
        back = api.run(run.path)
        assert "val" not in back.summary and back.summary["new_name"] == 0.2
        assert back.summary["loss"] == pytest.approx(1 / 3)
        assert api.runs("ren", {"summary_metrics.val": {"$exists": True}}) == []
        # the compare view's row reads the record's summary
        from nbtrack.widget._compare import row_of

        row = row_of(back)
        assert "val" not in row["summary"] and "new_name" in row["summary"]
        # the history keeps what was logged: only the summary forgets it
        assert back.series("val")[1].tolist() == [0.0, 0.1, 0.2]
        # deleting a hand-set entry removes it, no marker left
        del back.summary["new_name"]
        back.update()
    store = Store(store_dir)
    try:
        row_ = store.run_row("ren", run.id)
        assert row_ is not None
        assert row_["user_summary"] == {"val": {"_nbtrack_deleted": True}}
    finally:
        store.close()


def test_a_resumed_run_keeps_a_deleted_key_deleted_until_logged_again(store_dir: Path) -> None:
    run = nbtrack.init(project="res", id="r1", display=False)
    run.log({"val": 0.5, "acc": 0.1})
    run.finish()
    with nbtrack.Api(store_dir) as api:
        rec = api.run("res/r1")
        del rec.summary["val"]
        rec.update()
    again = nbtrack.init(project="res", id="r1", resume="must", display=False)
    assert "val" not in again.summary and again.summary["acc"] == 0.1
    again.log({"acc": 0.2})
    again.finish()
    with nbtrack.Api(store_dir) as api:
        back = api.run("res/r1")
        assert "val" not in back.summary and back.summary["acc"] == 0.2
    third = nbtrack.init(project="res", id="r1", resume="must", display=False)
    third.log({"val": 0.9})
    third.finish()
    with nbtrack.Api(store_dir) as api:
        assert api.run("res/r1").summary["val"] == 0.9  # logged again: back, as in W&B


def test_summary_update_without_arguments_saves(made: list[nbtrack.Run], store_dir: Path) -> None:
    with nbtrack.Api(store_dir) as api:
        rec = api.run(made[0].path)
        rec.summary["note"] = "kept"
        rec.summary.update()
    with nbtrack.Api(store_dir) as api:
        assert api.run(made[0].path).summary["note"] == "kept"


def test_readable_summary_drops_the_marker_every_reader_sees() -> None:
    from nbtrack.api import DELETED, readable_summary

    assert readable_summary({"a": 1, "b": 2}, {"b": DELETED, "c": 3}) == {"a": 1, "c": 3}
    assert readable_summary({"a": 1}, {"a": {"min": 0}}) == {"a": {"min": 0}}  # a dict stays
    assert readable_summary(None, None) == {}

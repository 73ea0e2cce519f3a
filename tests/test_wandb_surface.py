"""W&B's module surface as a W&B user writes it, with ``import nbtrack as wandb``.

Each test reads what it wrote back through `nbtrack.Api()`, as a W&B script's author
would check it in W&B's UI.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nbtrack
import nbtrack as wandb
from nbtrack import _compat, _current
from nbtrack._run import link

WANDB_VARS = (
    "WANDB_PROJECT",
    "WANDB_ENTITY",
    "WANDB_NAME",
    "WANDB_NOTES",
    "WANDB_TAGS",
    "WANDB_MODE",
    "WANDB_RUN_ID",
    "WANDB_RESUME",
    "WANDB_DIR",
    "WANDB_SILENT",
    "WANDB_API_KEY",
    "WANDB_RUN_GROUP",
    "WANDB_JOB_TYPE",
    "WANDB_DISABLED",
    "NBTRACK_NAME",
    "NBTRACK_NOTES",
    "NBTRACK_TAGS",
    "NBTRACK_RUN_ID",
    "NBTRACK_RESUME",
    "NBTRACK_GROUP",
    "NBTRACK_JOB_TYPE",
    "NBTRACK_SILENT",
    "NBTRACK_ENTITY",
)


@pytest.fixture(autouse=True)
def no_wandb_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in WANDB_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each test sees the one-time warnings as a fresh process would.
    monkeypatch.setattr(_compat, "_warned", set())


def read(api: nbtrack.Api, run: Any) -> nbtrack.RunRecord:
    if not link(run).finished:
        link(run).flush()
    return api.run(run.path)


# -- init arguments and run attributes ------------------------------------------------------


def test_group_job_type_and_run_attributes_are_kept(api: nbtrack.Api, store_dir: Path) -> None:
    run = wandb.init(project="mnist", group="exp-1", job_type="train", display=False)
    assert (run.group, run.job_type, run.sweep_id) == ("exp-1", "train", None)
    # No server: the entity is the user's name (W&B code builds paths from it), no URL.
    assert isinstance(run.entity, str) and run.entity and run.url is None
    assert api.run(f"{run.entity}/{run.project}/{run.id}").id == run.id
    assert run.offline is True and run.disabled is False and run.resumed is False
    assert isinstance(run.start_time, float) and run.start_time > 0
    assert run.project_name() == "mnist"
    rec = read(api, run)
    assert rec.metadata["group"] == "exp-1" and rec.metadata["job_type"] == "train"
    assert "sweep_id" not in rec.metadata
    assert "python" in rec.metadata or "host" in rec.metadata  # the machine facts stay beside
    run.finish()
    rec = api.run(run.path)
    assert rec.metadata["group"] == "exp-1" and rec.metadata["job_type"] == "train"


def test_each_run_has_a_folder_of_its_own(api: nbtrack.Api, store_dir: Path) -> None:
    import torch

    a = wandb.init(project="a/b c", display=False, reinit="create_new")
    b = wandb.init(project="a/b c", display=False, reinit="create_new")
    assert isinstance(a.dir, str) and a.dir != b.dir
    assert Path(a.dir) == store_dir / "files" / "a_b_c" / a.id
    assert Path(a.dir).is_dir() and Path(b.dir).is_dir()
    assert link(a).root == store_dir
    torch.save({"w": 1}, os.path.join(a.dir, "model.pt"))
    torch.save({"w": 2}, os.path.join(b.dir, "model.pt"))
    assert torch.load(os.path.join(a.dir, "model.pt")) == {"w": 1}  # not overwritten by b
    a.finish()
    b.finish()


def test_name_notes_and_tags_set_after_init_are_stored(api: nbtrack.Api) -> None:
    run = wandb.init(project="p", name="first", tags=["a"], display=False)
    run.name = "renamed"
    run.notes = "tried a smaller lr"
    run.tags = (*run.tags, "best")
    rec = read(api, run)
    assert (rec.name, rec.notes, rec.tags) == ("renamed", "tried a smaller lr", ["a", "best"])
    run.tags = ["final"]
    run.finish()
    rec = api.run(run.path)
    assert (rec.name, rec.notes, rec.tags) == ("renamed", "tried a smaller lr", ["final"])
    with pytest.raises(TypeError, match="tags must be a list"):
        run.tags = "one"
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        run.name = ""


def test_resume_keeps_group_and_says_resumed(api: nbtrack.Api) -> None:
    run = wandb.init(project="p", id="r1", group="g", job_type="eval", display=False)
    run.log({"a": 1.0})
    run.finish()
    again = wandb.init(project="p", id="r1", resume="allow", display=False)
    assert again.resumed is True and again.group == "g" and again.job_type == "eval"
    again.finish()
    assert api.run("p/r1").metadata["group"] == "g"


def test_unknown_init_argument_is_a_type_error_naming_the_nearest() -> None:
    with pytest.raises(TypeError, match=r"'job_typ' \(did you mean 'job_type'\?\)"):
        wandb.init(project="p", job_typ="train", display=False)
    assert wandb.run is None


def test_unsupported_init_arguments_warn_once_each(api: nbtrack.Api) -> None:
    with pytest.warns(UserWarning, match="sync_tensorboard=...\\) is not supported"):
        run = wandb.init(project="p", sync_tensorboard=True, save_code=True, display=False)
    run.finish()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second time: no warning
        run = wandb.init(project="p", sync_tensorboard=True, display=False)
    run.finish()
    with pytest.warns(UserWarning, match="fork_from"):
        wandb.init(project="p", fork_from="x?_step=3", display=False).finish()


def test_reinit_follows_wandb(api: nbtrack.Api, capsys: pytest.CaptureFixture[str]) -> None:
    first = wandb.init(project="p", display=False)
    # Outside a notebook, W&B's default returns the active run.
    assert wandb.init(project="p", display=False) is first
    assert "returning that run" in capsys.readouterr().err
    second = wandb.init(project="p", reinit="finish_previous", display=False)
    assert first.state == "finished" and wandb.run is second
    third = wandb.init(project="p", reinit=True, display=False)
    assert second.state == "finished" and wandb.run is third
    beside = wandb.init(project="p", reinit="create_new", display=False)
    assert wandb.run is third and beside.state == "running" and third.state == "running"
    beside.log({"x": 1.0})
    beside.finish()
    with pytest.raises(RuntimeError, match="cannot resume a run while run"):
        wandb.init(project="p", id="zz", resume="must", display=False)
    with pytest.raises(ValueError, match="reinit must be one of"):
        wandb.init(project="p", reinit="sometimes", display=False)
    third.finish()
    assert [r.state for r in api.runs("p")] == ["finished"] * 4


def test_reinit_message_is_silenced(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WANDB_SILENT", "true")
    first = wandb.init(project="p", display=False)
    assert wandb.init(project="p", display=False) is first
    assert capsys.readouterr().err == ""


def test_settings_are_accepted_and_mode_honoured(store_dir: Path) -> None:
    with pytest.warns(UserWarning, match=r"Settings\(start_method=...\) is not supported"):
        run = wandb.init(
            project="p", settings=wandb.Settings(start_method="thread", mode="disabled")
        )
    assert run.disabled is True
    run.finish()
    run = wandb.init(project="p", settings={"mode": "disabled", "silent": True})
    assert run.disabled is True
    run.finish()
    assert not (store_dir / "runs.db").exists()
    with pytest.raises(TypeError, match="settings must be"):
        wandb.init(project="p", settings=42, display=False)


def test_config_include_and_exclude_keys(api: nbtrack.Api) -> None:
    cfg = {"lr": 0.1, "epochs": 3, "secret": "x"}
    run = wandb.init(project="p", config=cfg, config_exclude_keys=["secret"], display=False)
    run.finish()
    assert api.run(run.path).config == {"lr": 0.1, "epochs": 3}
    run = wandb.init(project="p", config=cfg, config_include_keys=["lr"], display=False)
    run.finish()
    assert api.run(run.path).config == {"lr": 0.1}
    with pytest.raises(ValueError, match="not both"):
        wandb.init(config=cfg, config_include_keys=["lr"], config_exclude_keys=["x"])


def test_config_values_change_only_with_allow_val_change(api: nbtrack.Api) -> None:
    run = wandb.init(project="p", config={"lr": 0.1}, display=False)
    with pytest.raises(wandb.ConfigError, match=r"'lr' is already 0\.1"):
        wandb.config.update({"lr": 0.2})
    with pytest.raises(ValueError, match="allow_val_change=True"):
        wandb.config.lr = 0.3
    wandb.config.update({"lr": 0.1, "bs": 8})  # the same value again, and a new key: fine
    wandb.config.update({"lr": 0.2}, allow_val_change=True)
    run.finish()
    assert api.run(run.path).config == {"lr": 0.2, "bs": 8}
    run = wandb.init(project="p", config={"lr": 0.1}, allow_val_change=True, display=False)
    run.config.lr = 0.5
    run.finish()
    assert api.run(run.path).config == {"lr": 0.5}


def test_module_config_and_summary_have_the_mapping_protocol(api: nbtrack.Api) -> None:
    with pytest.raises(RuntimeError, match=r"nbtrack\.init"):
        list(wandb.config)
    run = wandb.init(project="p", config={"lr": 0.1, "layers": 2}, display=False)
    assert [k for k in iter(wandb.config)] == ["lr", "layers"]  # noqa: C416
    assert dict(wandb.config) == {"lr": 0.1, "layers": 2} == wandb.config.as_dict()
    assert list(wandb.config.keys()) == ["lr", "layers"]
    assert list(wandb.config.values()) == [0.1, 2]
    assert dict(wandb.config.items()) == {"lr": 0.1, "layers": 2}
    assert wandb.config.get("nope", 7) == 7 and "lr" in wandb.config and len(wandb.config) == 2
    assert isinstance(wandb.config, Mapping) and isinstance(run.config, Mapping)
    assert {**wandb.config} == {"lr": 0.1, "layers": 2}
    wandb.config.update({"bs": 16})
    wandb.config.setdefaults({"bs": 99, "wd": 0.0})
    wandb.log({"loss": 0.5})
    wandb.summary.update({"best": 0.9})
    wandb.run.summary["final"] = 1
    wandb.summary.note = "ok"
    assert wandb.summary.best == 0.9
    assert dict(wandb.summary) == {"loss": 0.5, "best": 0.9, "final": 1, "note": "ok"}
    assert sorted(wandb.summary) == ["best", "final", "loss", "note"]
    assert isinstance(wandb.summary, Mapping)
    run.finish()
    rec = api.run(run.path)
    assert rec.config == {"lr": 0.1, "layers": 2, "bs": 16, "wd": 0.0}
    assert rec.summary == {"loss": 0.5, "best": 0.9, "final": 1, "note": "ok"}


def test_log_takes_wandb_commit_none_and_sync(api: nbtrack.Api) -> None:
    run = wandb.init(project="p", display=False)
    wandb.log({"a": 1.0}, commit=None, sync=False)
    wandb.log({"a": 2.0}, commit=False)
    wandb.log({"b": 3.0})
    run.finish()
    h = api.run(run.path).history(pandas=False)
    assert h["_step"].tolist() == [0, 1] and h["b"].tolist()[1] == 3.0


# -- environment variables ------------------------------------------------------------------


def test_wandb_environment_variables_are_honoured(
    api: nbtrack.Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "WANDB_PROJECT": "envproj",
        "WANDB_NAME": "envname",
        "WANDB_NOTES": "from the env",
        "WANDB_TAGS": "a, b,,c",
        "WANDB_RUN_GROUP": "envgroup",
        "WANDB_JOB_TYPE": "envjob",
        "WANDB_RUN_ID": "envid1",
        "WANDB_CONSOLE": "off",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WANDB_ENTITY", "my-team")
    run = wandb.init(display=False)
    assert run.entity == "my-team"
    run.finish()
    rec = api.run("envproj/envid1")
    assert (rec.name, rec.notes, rec.tags) == ("envname", "from the env", ["a", "b", "c"])
    assert (rec.metadata["group"], rec.metadata["job_type"]) == ("envgroup", "envjob")
    monkeypatch.setenv("WANDB_RESUME", "allow")
    again = wandb.init(display=False)
    assert again.id == "envid1" and again.resumed
    again.finish()
    # The NBTRACK_ twin wins when both are set; an argument wins over both.
    monkeypatch.setenv("NBTRACK_PROJECT", "nbproj")
    monkeypatch.delenv("WANDB_RUN_ID")
    run = wandb.init(display=False)
    assert run.project == "nbproj"
    run.finish()
    assert wandb.init(project="given", display=False).project == "given"


@pytest.mark.parametrize(
    "env",
    [{"WANDB_MODE": "disabled"}, {"WANDB_DISABLED": "true"}, {"NBTRACK_MODE": "disabled"}],
)
def test_disabled_from_the_environment(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, store_dir: Path
) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    run = wandb.init(project="p")
    assert run.disabled is True and wandb.run is run
    wandb.log({"a": 1.0})
    run.finish()
    assert not (store_dir / "runs.db").exists()


def test_wandb_mode_dryrun_is_offline_and_nbtrack_mode_wins(
    monkeypatch: pytest.MonkeyPatch, store_dir: Path
) -> None:
    monkeypatch.setenv("WANDB_MODE", "dryrun")
    run = wandb.init(project="p", display=False)
    assert run.offline and not run.disabled
    run.finish()
    monkeypatch.setenv("NBTRACK_MODE", "disabled")
    assert wandb.init(project="p").disabled is True


def test_wandb_dir_is_the_store_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_dir: Path
) -> None:
    monkeypatch.delenv("NBTRACK_DIR")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb-root"))
    run = wandb.init(project="p", display=False)
    run.finish()
    assert (tmp_path / "wandb-root" / "runs.db").exists()
    assert Path(run.dir).parent.parent.parent == tmp_path / "wandb-root"


def test_wandb_api_key_stands_in_for_the_server_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from nbtrack.sync.credentials import key_for, saved

    monkeypatch.setenv("WANDB_API_KEY", "wandb-key")
    assert saved() is None  # no server named: the key alone syncs nothing
    monkeypatch.setenv("NBTRACK_HOST", "http://tracking.example:8080")
    creds = saved()
    assert creds is not None and creds.key == "wandb-key"
    monkeypatch.setenv("NBTRACK_API_KEY", "nbtrack-key")
    assert key_for("http://tracking.example:8080") == "nbtrack-key"


# -- define_metric --------------------------------------------------------------------------


def test_define_metric_summaries_read_back(api: nbtrack.Api) -> None:
    run = wandb.init(project="p", display=False)
    wandb.define_metric("epoch")
    m = wandb.define_metric("val/*", step_metric="epoch", summary="min,max,mean,last,first")
    assert (m.name, m.step_metric, m.summary) == (
        "val/*",
        "epoch",
        ("min", "max", "mean", "last", "first"),
    )
    wandb.define_metric("acc", summary="best", goal="maximize")
    wandb.define_metric("noise", summary="none")
    wandb.define_metric("lr", summary="copy")
    for epoch, loss in enumerate([3.0, 1.0, 2.0, float("nan")]):
        wandb.log(
            {"val/loss": loss, "epoch": epoch, "acc": 1 / (loss + 1), "noise": 1.0, "lr": 0.1}
        )
    assert run.summary["val/loss"] == {
        "min": 1.0,
        "max": 3.0,
        "mean": 2.0,
        "last": float("nan"),
        "first": 3.0,
    } or (run.summary["val/loss"]["min"] == 1.0 and np.isnan(run.summary["val/loss"]["last"]))
    assert "noise" not in run.summary and run.summary["lr"] == 0.1
    rec = read(api, run)
    assert rec.summary["val/loss"]["min"] == 1.0  # reaches the store while the run trains
    run.finish()
    rec = api.run(run.path)
    loss = rec.summary["val/loss"]
    assert (loss["min"], loss["max"], loss["mean"], loss["first"]) == (1.0, 3.0, 2.0, 3.0)
    assert np.isnan(loss["last"])
    assert rec.summary["acc"] == {"best": 0.5}
    assert rec.summary["lr"] == 0.1 and rec.summary["epoch"] == 3.0
    names = [d["name"] for d in rec.metadata["metrics"]]
    assert names == ["epoch", "val/*", "acc", "noise", "lr"]
    val = rec.metadata["metrics"][1]
    assert val == {
        "name": "val/*",
        "step_metric": "epoch",
        "summary": ["min", "max", "mean", "last", "first"],
        "goal": None,
        "hidden": False,
    }
    assert rec.metadata["metrics"][2]["goal"] == "maximize"


def test_define_metric_after_logging_reaches_the_store(api: nbtrack.Api) -> None:
    run = wandb.init(project="p", display=False)
    run.log({"loss": 2.0})
    link(run).flush()
    assert "metrics" not in api.run(run.path).metadata
    run.define_metric("loss", summary="min", goal="min", hidden=True)
    assert link(run).metric_definitions() == [
        {
            "name": "loss",
            "step_metric": None,
            "summary": ["min"],
            "goal": "minimize",
            "hidden": True,
        }
    ]
    run.log({"loss": 1.0})
    run.log({"loss": 4.0})
    rec = read(api, run)
    assert rec.metadata["metrics"][0]["hidden"] is True
    assert rec.summary["loss"] == {"min": 1.0}  # from the values logged after the definition
    run.finish()


def test_define_metric_merges_unless_overwrite(api: nbtrack.Api) -> None:
    run = wandb.init(project="p", display=False)
    run.define_metric("loss", step_metric="epoch", summary="min")
    run.define_metric("loss", summary="max")
    assert link(run).metric_definitions()[0]["step_metric"] == "epoch"
    assert link(run).metric_definitions()[0]["summary"] == ["max"]
    run.define_metric("loss", summary="last", overwrite=True)
    assert link(run).metric_definitions() == [
        {"name": "loss", "step_metric": None, "summary": ["last"], "goal": None, "hidden": False}
    ]
    # The longest glob wins; an exact name beats any glob.
    run.define_metric("*", summary="max")
    run.define_metric("val/*", summary="min")
    for v in (2.0, 1.0, 3.0):
        run.log({"val/x": v, "other": v, "loss": v})
    assert run.summary["val/x"] == {"min": 1.0}
    assert run.summary["other"] == {"max": 3.0}
    assert run.summary["loss"] == {"last": 3.0}
    run.finish()


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"name": ""}, "non-empty string"),
        ({"name": "a*b"}, "globs may only end in"),
        ({"name": "x", "summary": "min,median"}, "'median'"),
        ({"name": "x", "goal": "up"}, "goal must be 'minimize' or 'maximize'"),
        ({"name": "x", "hidden": "yes"}, "hidden must be a bool"),
        ({"name": "x", "step_metric": 3}, "step_metric must be a str"),
    ],
)
def test_define_metric_refuses_bad_arguments(kwargs: dict[str, Any], words: str) -> None:
    run = wandb.init(project="p", display=False)
    with pytest.raises(ValueError, match=words):
        run.define_metric(**kwargs)
    run.finish()
    with pytest.raises(RuntimeError, match="define_metric"):
        wandb.define_metric("x")  # no run


def test_defined_aggregates_continue_when_a_run_resumes(api: nbtrack.Api) -> None:
    run = wandb.init(project="p", id="agg", display=False)
    run.define_metric("loss", summary="min,max")
    run.log({"loss": 2.0})
    run.log({"loss": 5.0})
    run.finish()
    again = wandb.init(project="p", id="agg", resume="allow", display=False)
    again.define_metric("loss", summary="min,max")
    again.log({"loss": 3.0})
    again.finish()
    assert api.run("p/agg").summary["loss"] == {"min": 2.0, "max": 5.0}


# -- alert, save, the small functions --------------------------------------------------------


def test_alert_at_module_level_with_levels_and_wait_duration(api: nbtrack.Api) -> None:
    run = wandb.init(project="p", display=False)
    wandb.alert(title="Low accuracy", text="acc 0.1", level=wandb.AlertLevel.WARN)
    wandb.alert(title="Low accuracy", text="again")  # within a minute: dropped, as in W&B
    wandb.alert(title="Info", text="plain")
    wandb.alert(title="Err", text="x", level="ERROR", wait_duration=timedelta(seconds=0))
    wandb.alert(title="Err", text="y", level="ERROR", wait_duration=0)
    with pytest.raises(ValueError, match="level must be INFO, WARN or ERROR"):
        wandb.alert(title="t", text="x", level="LOUD")
    with pytest.raises(TypeError, match="wait_duration"):
        wandb.alert(title="t", text="x", wait_duration="soon")  # type: ignore[arg-type]
    run.finish()
    alerts = api.run(run.path).alerts
    assert [(a["title"], a["level"], a["text"]) for a in alerts] == [
        ("Low accuracy", "WARN", "acc 0.1"),
        ("Info", "INFO", "plain"),
        ("Err", "ERROR", "x"),
        ("Err", "ERROR", "y"),
    ]
    assert wandb.AlertLevel.ERROR.value == "ERROR"


def test_save_links_files_into_the_run_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "a.pt").write_text("A")
    (tmp_path / "ckpt" / "b.pt").write_text("B")
    (tmp_path / "ckpt" / "c.txt").write_text("C")
    run = wandb.init(project="p", display=False)
    saved = wandb.save("ckpt/*.pt")
    run_dir = Path(run.dir)
    assert saved == [str(run_dir / "ckpt" / "a.pt"), str(run_dir / "ckpt" / "b.pt")]
    assert (run_dir / "ckpt" / "a.pt").is_symlink()  # live: follows the file as it changes
    (tmp_path / "ckpt" / "a.pt").write_text("A2")
    assert (run_dir / "ckpt" / "a.pt").read_text() == "A2"
    assert run.save(str(tmp_path / "ckpt" / "c.txt"), policy="now") == [
        str(run_dir / "ckpt" / "c.txt")  # absolute, no base_path: its last folder is kept
    ]
    assert not (run_dir / "ckpt" / "c.txt").is_symlink()  # "now": a copy
    assert run.save(str(tmp_path / "ckpt" / "b.pt"), base_path=str(tmp_path / "ckpt")) == [
        str(run_dir / "b.pt")
    ]
    assert wandb.save("nothing/*.bin") == []
    with pytest.raises(ValueError, match="policy must be"):
        wandb.save("ckpt/*.pt", policy="sometimes")
    with pytest.raises(ValueError, match="remote URL"):
        wandb.save("s3://bucket/x")
    run.finish()


def test_small_functions_are_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    wandb.require("service")
    wandb.require("core")
    wandb.setup()
    wandb.mark_preempting()
    wandb.termlog("hello")
    wandb.termwarn("careful", repeat=False)
    wandb.termwarn("careful", repeat=False)
    wandb.termerror("bad")
    err = capsys.readouterr().err
    assert "nbtrack: hello" in err and err.count("careful") == 1 and "ERROR bad" in err
    run = wandb.init(project="p", display=False)
    run.mark_preempting()
    run._label(code="transformers_trainer")
    with pytest.warns(UserWarning, match="log_code"):
        run.log_code(".")
    assert run.display() is False  # not in a notebook
    wandb.teardown()
    assert run.state == "finished" and wandb.run is None


def test_login_without_a_server_says_so_and_returns_true(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert wandb.login() is True
    assert wandb.login(key="a-wandb-cloud-key", relogin=True, anonymous="never") is True
    assert "no team server" in capsys.readouterr().err


def test_module_names_of_wandb_resolve() -> None:
    for name in (
        "init", "log", "finish", "config", "summary", "watch", "unwatch", "login", "Api",
        "define_metric", "alert", "AlertLevel", "save", "require", "setup", "teardown",
        "Histogram", "Image", "Table", "Video", "Audio", "Html", "Object3D", "Molecule",
        "plot", "Settings", "sweep", "agent", "controller", "Artifact", "log_artifact",
        "use_artifact", "log_model", "use_model", "link_model", "integration", "alias_wandb",
        "termlog", "termwarn", "termerror", "mark_preempting", "__version__", "Error",
        "errors", "restore", "log_code",
    ):  # fmt: skip
        assert getattr(wandb, name) is not None or name in ("run",), name
    assert wandb.run is None
    assert issubclass(wandb.Error, Exception)
    with pytest.raises(AttributeError, match="no attribute 'not_a_wandb_name'"):
        _ = wandb.not_a_wandb_name
    with pytest.warns(UserWarning, match="wandb.restore is not supported"):
        assert wandb.restore("model.h5") is None
    assert set(_compat.STUBS) <= set(dir(wandb)) | set(_compat.STUBS)


@pytest.fixture
def no_wandb_module(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """sys.modules without any ``wandb`` entry for the test, as it was after it."""
    before = {n: m for n, m in sys.modules.items() if n == "wandb" or n.startswith("wandb.")}
    for name in before:
        del sys.modules[name]
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    yield
    for name in [n for n in sys.modules if n == "wandb" or n.startswith("wandb.")]:
        del sys.modules[name]
    sys.modules.update(before)


def test_alias_wandb_makes_import_wandb_give_nbtrack(
    no_wandb_module: None, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib

    wandb.alias_wandb()
    wandb.alias_wandb()  # twice: nothing more happens
    assert capsys.readouterr().err.count("gives nbtrack") == 1
    assert importlib.import_module("wandb") is nbtrack
    config_util = importlib.import_module("wandb.sdk.lib.config_util")
    assert config_util.ConfigError is nbtrack.ConfigError
    assert importlib.import_module("wandb.errors") is nbtrack.errors
    # The module keeps its own name: pickling and reloading it still work.
    assert nbtrack.errors.__spec__ is not None and nbtrack.errors.__spec__.name == "nbtrack.errors"
    assert importlib.import_module("wandb.integration") is importlib.import_module(
        "nbtrack.integration"
    )
    exec("import wandb\nrun = wandb.init(project='aliased', display=False)\nrun.finish()", {})
    assert nbtrack.Api().run(f"aliased/{nbtrack.Api().runs('aliased')[0].id}").state == "finished"


def test_alias_wandb_refuses_when_the_real_wandb_is_imported(
    no_wandb_module: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import types

    fake = types.ModuleType("wandb")
    fake.__file__ = "site-packages/wandb/__init__.py"
    monkeypatch.setitem(sys.modules, "wandb", fake)
    with pytest.raises(RuntimeError, match="real wandb package is imported"):
        wandb.alias_wandb()
    assert sys.modules["wandb"] is fake


# -- Histogram and media --------------------------------------------------------------------


def test_histogram_is_stored_as_a_histogram_series(api: nbtrack.Api) -> None:
    run = wandb.init(project="p", display=False)
    rng = np.random.default_rng(0)
    values = rng.normal(size=1000)
    h = wandb.Histogram(values, num_bins=32)
    assert len(h.histogram) == 32 and len(h.bins) == 33 and sum(h.histogram) == 1000
    wandb.log({"grads": h, "loss": 1.0})
    wandb.log({"grads": wandb.Histogram(np_histogram=np.histogram(values[:500], bins=32))})
    # Another bin count under the same key: spread over the key's 32 bins, total kept.
    wandb.log({"grads": wandb.Histogram(values[:100], num_bins=8)})
    wandb.log({"loss": 0.5})
    run.finish()
    rec = api.run(run.path)
    assert rec.histogram_keys() == ["grads"]
    steps, ranges, counts = rec.histograms("grads")
    assert steps.tolist() == [0, 1, 2]
    assert counts[0].tolist() == h.histogram and counts.shape == (3, 32)
    assert [int(c.sum()) for c in counts] == [1000, 500, 100]
    np.testing.assert_allclose(ranges[0], [h.bins[0], h.bins[-1]])
    loss = rec.history(pandas=False)["loss"]
    assert loss[0] == 1.0 and np.isnan(loss[1]) and np.isnan(loss[2]) and loss[3] == 0.5


def test_histogram_input_checks() -> None:
    h = wandb.Histogram([1.0, 2.0, float("nan"), float("inf"), 3.0], num_bins=2)
    assert sum(h.histogram) == 3  # NaN and inf are left out
    assert h.to_json()["_type"] == "histogram"
    import torch

    assert sum(wandb.Histogram(torch.arange(10.0)).histogram) == 10
    with pytest.raises(TypeError, match="must hold numbers"):
        wandb.Histogram(["a", "b"])
    with pytest.raises(ValueError, match="maximum length"):
        wandb.Histogram(np_histogram=(np.ones(600), np.arange(601)))
    with pytest.raises(ValueError, match="len\\(bins\\) must be len\\(histogram\\) \\+ 1"):
        wandb.Histogram(np_histogram=([1, 2], [0, 1]))
    with pytest.raises(ValueError, match="np_histogram must be"):
        wandb.Histogram(np_histogram=([1, 2],))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="give a sequence"):
        wandb.Histogram()


def test_media_log_under_their_wandb_names_and_read_back(api: nbtrack.Api) -> None:
    table = wandb.Table(columns=["epoch", "loss"])
    table.add_data(0, 0.9)
    table.add_data(1, 0.5)
    assert table.get_column("loss") == [0.9, 0.5] and len(table) == 2
    table.add_column("acc", [0.1, 0.2])
    assert table.columns == ["epoch", "loss", "acc"]
    with pytest.raises(ValueError, match="has 3 columns"):
        table.add_data(1)
    assert wandb.Table(data=[[1, 2]], columns=["a", "b"]).data == [[1, 2]]
    chart = wandb.plot.line(table, "epoch", "loss", title="Loss")
    run = wandb.init(project="p", display=False)
    media = {
        "img": wandb.Image(np.zeros((4, 4))),
        "table": table,
        "chart": chart,
        "clip": wandb.Video(np.zeros((1, 3, 4, 4), np.uint8)),
        "page": wandb.Html("<b>x</b>"),
    }
    wandb.log({**media, "x": 1.0})
    # What nbtrack does not build is refused at the call, naming the key; nothing is lost.
    for key, obj in {"mesh": wandb.Object3D(np.zeros((3, 3))), "mol": wandb.Molecule("x")}.items():
        with pytest.raises(TypeError, match=rf"key '{key}'"):
            wandb.log({key: obj, "x": 1.5})
    wandb.log({"x": 2.0})
    run.finish()
    rec = api.run(run.path)
    assert rec.history(pandas=False)["x"].tolist() == [1.0, 2.0]
    assert rec.media_keys() == {
        "img": "image",
        "table": "table",
        "chart": "plot",
        "clip": "video",
        "page": "html",
    }
    ((_, chart_back),) = rec.media("chart")
    assert chart_back.plot == "line" and chart_back.title == "Loss"


# -- disabled runs, sweeps and artifacts hooks ------------------------------------------------


def test_a_disabled_run_has_the_whole_surface(store_dir: Path) -> None:
    run = wandb.init(project="p", mode="disabled", group="g", job_type="t")
    assert run.disabled and run.offline and not run.resumed
    assert (run.group, run.job_type, run.sweep_id, run.url) == ("g", "t", None, None)
    assert isinstance(run.entity, str)
    assert os.path.isdir(run.dir) and run.project_name() == "p"
    assert run.define_metric("val/*", summary="min").name == "val/*"
    with pytest.raises(ValueError, match="median"):
        run.define_metric("x", summary="median")
    wandb.define_metric("loss", summary="min")
    wandb.alert("t", "x", level=wandb.AlertLevel.INFO)
    assert wandb.save("*.py") == []
    run.log({"h": wandb.Histogram([1, 2])})
    run.log_code()
    run.mark_preempting()
    wandb.finish()
    assert not (store_dir / "runs.db").exists()


class _Trial:
    """A sweep trial as nbtrack.sweeps hands it to init (the contract's shape)."""

    def __init__(self) -> None:
        self.sweep_id = "sw123"
        self.project = "sweep-proj"
        self.entity = None
        self.params = {"lr": 0.01, "opt": {"name": "adam"}}
        self.run_id: str | None = None
        self.runs: list[Any] = []

    def started(self, run: Any) -> None:
        self.runs.append(run)


@pytest.fixture
def trial(monkeypatch: pytest.MonkeyPatch) -> _Trial:
    import nbtrack.sweeps

    t = _Trial()
    monkeypatch.setattr(nbtrack.sweeps, "active_trial", lambda: t)
    return t


def test_init_inside_a_sweep_trial_takes_its_parameters(api: nbtrack.Api, trial: _Trial) -> None:
    run = wandb.init(
        config={"lr": 0.1, "epochs": 3, "opt": {"name": "sgd", "mom": 0.9}}, display=False
    )
    assert trial.runs == [run] and run.sweep_id == "sw123" and run.project == "sweep-proj"
    assert dict(wandb.config) == {"lr": 0.01, "epochs": 3, "opt": {"name": "adam", "mom": 0.9}}
    with pytest.warns(UserWarning, match="set by the sweep"):
        wandb.config.update({"lr": 0.5, "epochs": 3})  # the script's default: the sweep's stays
    assert wandb.config.lr == 0.01
    run.finish()
    rec = api.run(run.path)
    assert rec.metadata["sweep_id"] == "sw123" and rec.config["lr"] == 0.01


def test_run_artifact_methods_reach_nbtrack_artifacts(
    api: nbtrack.Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # download()'s default folder is ./artifacts, as W&B's
    (tmp_path / "weights.bin").write_bytes(b"\x00\x01")
    run = wandb.init(project="p", display=False)
    art = wandb.Artifact("weights", type="model")
    art.add_file(str(tmp_path / "weights.bin"))
    wandb.log_artifact(art)
    run.finish()
    user = wandb.init(project="p", display=False)
    used = user.use_artifact("weights:latest")
    folder = Path(used.download())
    assert (folder / "weights.bin").read_bytes() == b"\x00\x01"
    user.finish()


def test_no_run_outlives_a_test() -> None:
    assert _current.current() is None


def test_config_from_a_yaml_file_as_wandb_reads_it(api: nbtrack.Api, tmp_path: Path) -> None:
    path = tmp_path / "config-defaults.yaml"
    path.write_text("wandb_version: 1\nlr:\n  desc: learning rate\n  value: 0.01\nepochs: 3\n")
    run = wandb.init(project="p", config=str(path), display=False)
    run.finish()
    assert api.run(run.path).config == {"lr": 0.01, "epochs": 3}
    with pytest.raises(ValueError, match=r"is not a \.yaml file"):
        wandb.init(project="p", config="params.txt", display=False)


def test_finish_takes_wandb_arguments(api: nbtrack.Api) -> None:
    run = wandb.init(project="p", display=False)
    run.finish(None, True)
    assert api.run(run.path).state == "finished"
    run = wandb.init(project="p", display=False)
    wandb.finish(exit_code=2, quiet=None)
    assert api.run(run.path).state == "failed" and api.run(run.path).exit_code == 2


def test_wandb_mode_online_without_a_server_logs_locally(
    api: nbtrack.Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_MODE", "online")
    run = wandb.init(project="p", display=False)
    assert run.offline
    run.finish()
    assert api.run(run.path).state == "finished"
    with pytest.raises(ValueError, match=r"nbtrack\.login"):
        wandb.init(project="p", mode="online", display=False)  # asked for in the script: said


def test_under_ipython_a_new_init_finishes_the_previous_run(store_dir: Path) -> None:
    import subprocess

    code = (
        "import nbtrack as wandb\n"
        "a = wandb.init(project='nb', display=False)\n"
        "b = wandb.init(project='nb', display=False)\n"
        "print('STATES', a.state, b.state, a is not b)\n"
        "b.finish()\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "IPython", "--quick", "--no-banner", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NBTRACK_DIR": str(store_dir)},
    )
    assert "STATES finished running True" in out.stdout, out.stdout + out.stderr


def test_an_explicit_step_stays_current_as_in_wandb(api: nbtrack.Api) -> None:
    # W&B's PyTorch tutorial: train logs at step=example_ct, then test logs without a step.
    run = wandb.init(project="p", display=False)
    for example_ct in (100, 200):
        wandb.log({"epoch": 0, "loss": 1.0 / example_ct}, step=example_ct)
    assert run.step == 200  # what the next log() without step= writes to
    link(run).flush()
    assert api.run(run.path).history(pandas=False)["_step"].tolist() == [100, 200]  # stored now
    wandb.log({"test_accuracy": 0.9})
    assert run.step == 201
    with pytest.raises(ValueError, match="steps must not decrease"):
        wandb.log({"loss": 0.0}, step=150)
    wandb.log({"loss": 0.1}, step=201)
    with pytest.raises(ValueError, match="lower than the last logged step 201"):
        wandb.log({"loss": 0.0}, step=200)
    run.finish()
    h = api.run(run.path).history(pandas=False)
    assert h["_step"].tolist() == [100, 200, 201]
    assert h["test_accuracy"][1] == 0.9 and h["loss"][2] == 0.1


def test_an_api_edit_of_a_running_run_is_not_overwritten_at_finish(api: nbtrack.Api) -> None:
    # W&B's "configs" notebook edits the run it is still logging, through the public API.
    run = wandb.init(project="p", config={"lr": 0.1}, display=False)
    wandb.log({"loss": 1.0})
    rec = wandb.Api().run(f"{run.entity}/{run.project}/{run.id}")
    rec.config["bar"] = 32
    rec.update()
    run.finish()
    assert api.run(run.path).config == {"lr": 0.1, "bar": 32}


def test_the_api_reads_the_store_wandb_dir_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NBTRACK_DIR")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb-store"))
    with nbtrack.init(project="w", display=False) as run:
        run.log({"a": 1.0})
    with nbtrack.Api() as api:  # no dir: the same WANDB_DIR init wrote to
        assert api.run(run.path).summary["a"] == 1.0


def test_a_resumed_run_keeps_its_metric_definitions_and_their_aggregates(
    api: nbtrack.Api,
) -> None:
    wandb.init(project="p", id="r1", display=False)
    wandb.define_metric("epoch")
    wandb.define_metric("loss", step_metric="epoch", summary="min")
    for i in range(4):
        wandb.log({"loss": float(i), "epoch": i})
    wandb.finish()
    wandb.init(project="p", id="r1", resume="must", display=False)  # no define_metric again
    wandb.log({"loss": -5.0, "epoch": 5})
    wandb.finish()
    rec = api.run("p/r1")
    assert rec.summary["loss"] == {"min": -5.0}
    defs = {m["name"]: m for m in rec.metadata["metrics"]}
    assert defs["loss"]["step_metric"] == "epoch" and "epoch" in defs


def test_a_density_histogram_keeps_its_shape(api: nbtrack.Api) -> None:
    x = np.random.default_rng(0).normal(size=1000)
    run = wandb.init(project="p", display=False)
    with pytest.warns(UserWarning, match="fractional counts"):
        run.log({"d": wandb.Histogram(np_histogram=np.histogram(x, bins=10, density=True))})
    run.finish()
    counts = api.run(run.path).histograms("d")[2][0]
    expected, _ = np.histogram(x, bins=10)
    np.testing.assert_allclose(counts / counts.sum(), expected / expected.sum(), atol=1e-5)

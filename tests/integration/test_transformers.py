"""Hugging Face's Trainer with nbtrack's callback, and with its own ``report_to="wandb"``
after ``nbtrack.alias_wandb()``: a tiny BERT on random tokens, read back with nbtrack.Api."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import nbtrack

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from nbtrack.integration import transformers as nbhf  # noqa: E402

# 16 examples in batches of 4: 4 optimizer steps an epoch, 2 epochs.
STEPS = 4

MODEL_CODE = """
import torch
from transformers import BertConfig, BertForSequenceClassification, TrainingArguments

def tiny_model():
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=16, max_position_embeddings=16, num_labels=2,
    )
    return BertForSequenceClassification(config)

def tiny_data():
    g = torch.Generator().manual_seed(0)
    return [
        {"input_ids": torch.randint(0, 30, (6,), generator=g), "labels": i % 2} for i in range(16)
    ]

def tiny_args(out, **kwargs):
    return TrainingArguments(
        out, per_device_train_batch_size=4, num_train_epochs=2, logging_steps=1,
        eval_strategy="epoch", use_cpu=True, disable_tqdm=True, **kwargs,
    )
"""
_ns: dict[str, Any] = {}
exec(MODEL_CODE, _ns)  # the same model and data for every test


def _train(tmp_path: Path, callbacks: list[Any], **kwargs: Any) -> Any:
    data = _ns["tiny_data"]()
    trainer = transformers.Trainer(
        model=_ns["tiny_model"](),
        args=_ns["tiny_args"](str(tmp_path / "out"), report_to="none", **kwargs),
        train_dataset=data,
        eval_dataset=data[:8],
        callbacks=callbacks,
    )
    trainer.train()
    return trainer


def _check_trainer_run(rec: nbtrack.RunRecord) -> None:
    """What HF's callback logs, whichever callback it was."""
    keys = set(rec.keys())
    assert {"train/loss", "train/learning_rate", "train/epoch", "train/global_step"} <= keys
    assert {"eval/loss", "eval/runtime"} <= keys
    steps, global_step = rec.series("train/global_step")
    _, loss = rec.series("train/loss")
    assert len(loss) == 2 * STEPS  # logging_steps=1: every optimizer step
    train_rows = rec.series("train/loss")[0].tolist()
    rows = dict(zip(steps.tolist(), global_step.tolist(), strict=True))
    assert [rows[s] for s in train_rows] == list(range(1, 2 * STEPS + 1))
    eval_rows = rec.series("eval/loss")[0].tolist()
    assert [rows[s] for s in eval_rows] == [STEPS, 2 * STEPS]
    # The end-of-training totals are summary entries, not series.
    assert rec.summary["train_runtime"] > 0
    assert "train_loss" in rec.summary and "train/train_loss" not in keys
    assert rec.config["learning_rate"] == 5e-05
    assert rec.config["per_device_train_batch_size"] == 4
    assert rec.config["vocab_size"] == 30  # the model's config too
    assert rec.config["id2label"] == {"0": "LABEL_0", "1": "LABEL_1"}
    assert rec.config["model/num_parameters"] == sum(
        p.numel() for p in _ns["tiny_model"]().parameters()
    )
    defs = {m["name"]: m["step_metric"] for m in rec.metadata["metrics"]}
    assert defs["*"] == "train/global_step"


def test_the_callback_logs_as_hugging_faces_wandb_callback(
    api: nbtrack.Api, store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbtrack.artifacts import logged_artifacts

    monkeypatch.setenv("WANDB_PROJECT", "hf")
    monkeypatch.setenv("NBTRACK_LOG_MODEL", "end")
    monkeypatch.setenv("WANDB_LOG_MODEL", "false")  # NBTRACK_ wins
    trainer = _train(tmp_path, [nbhf.NbtrackCallback()], run_name="tiny-bert")
    trainer.predict(_ns["tiny_data"]()[:4])  # on_predict: test/ keys
    run = nbtrack.run
    assert run is not None and run.state == "running"  # left open, as HF's callback does
    run.finish()
    rec = api.run(run.path)
    assert (rec.project, rec.name) == ("hf", "tiny-bert")
    _check_trainer_run(rec)
    assert "test/loss" in set(rec.keys())
    # "end": the model's architecture when training begins, the trained model at its end.
    arts = {a.name: a for a in logged_artifacts(store_dir, "hf", run.id)}
    assert sorted(arts) == ["model-tiny-bert:v0", "model-tiny-bert:v1"]
    assert arts["model-tiny-bert:v0"].aliases == ["base_model"]
    assert arts["model-tiny-bert:v0"].metadata["initial_model"] is True
    final = arts["model-tiny-bert:v1"]
    assert sorted(final.aliases) == ["final_model", "latest"]
    assert {"config.json", "model.safetensors", "training_args.bin"} <= set(final.manifest.entries)
    assert final.metadata["final_model"] is True
    assert final.metadata["train_loss"] == pytest.approx(rec.summary["train_loss"])


def test_log_model_checkpoint_logs_each_checkpoint_the_trainer_saves(
    store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbtrack.artifacts import logged_artifacts

    monkeypatch.setenv("WANDB_LOG_MODEL", "checkpoint")
    _train(tmp_path, [nbhf.Callback()], save_strategy="epoch")
    run = nbtrack.run
    assert run is not None
    arts = {a.name: a for a in logged_artifacts(store_dir, run.project, run.id)}
    run.finish()
    assert run.project == "huggingface"  # HF's default project
    # No run_name: the artifact is named after the run's id.
    name = f"model-{run.id}"
    assert sorted(arts) == [f"{name}:v0", f"{name}:v1", f"{name}:v2"]
    assert sorted(arts[f"{name}:v1"].aliases) == ["checkpoint_global_step_4", "epoch_1.0"]
    assert sorted(arts[f"{name}:v2"].aliases) == [
        "checkpoint_global_step_8",
        "epoch_2.0",
        "latest",
    ]
    assert "model.safetensors" in arts[f"{name}:v2"].manifest.entries


def test_rewrite_logs_is_hugging_faces() -> None:
    from transformers.integrations.integration_utils import rewrite_logs

    logs = {"loss": 1.0, "eval_loss": 2.0, "test_acc": 0.5, "epoch": 1.0, "eval_x_y": 3}
    assert nbhf.rewrite_logs(logs) == rewrite_logs(logs)


@pytest.fixture
def process_state() -> Iterator[None]:
    """sys.modules and the import hooks as they were: alias_wandb() changes `import wandb`
    for the whole process, and no other test may see it."""
    assert "wandb" not in sys.modules
    meta_path = list(sys.meta_path)
    yield
    for name in [m for m in sys.modules if m == "wandb" or m.startswith("wandb.")]:
        del sys.modules[name]
    sys.meta_path[:] = meta_path


@pytest.mark.usefixtures("process_state")
def test_report_to_wandb_runs_transformers_own_callback_on_nbtrack(
    store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from transformers.integrations import WandbCallback

    from nbtrack.artifacts import logged_artifacts

    monkeypatch.setenv("WANDB_PROJECT", "hf-wandb")
    monkeypatch.setenv("WANDB_LOG_MODEL", "end")
    monkeypatch.setenv("WANDB_SILENT", "true")
    nbtrack.alias_wandb()
    data = _ns["tiny_data"]()
    trainer = transformers.Trainer(
        model=_ns["tiny_model"](),
        args=_ns["tiny_args"](str(tmp_path / "out"), report_to="wandb", run_name="hf-own"),
        train_dataset=data,
        eval_dataset=data[:8],
    )
    assert any(isinstance(c, WandbCallback) for c in trainer.callback_handler.callbacks)
    trainer.train()
    import wandb

    assert wandb is nbtrack
    run = wandb.run
    assert run is not None
    wandb.finish()
    with nbtrack.Api(store_dir) as api:
        rec = api.run(run.path)
        assert (rec.project, rec.name, rec.state) == ("hf-wandb", "hf-own", "finished")
        _check_trainer_run(rec)
    arts = {a.name: sorted(a.aliases) for a in logged_artifacts(store_dir, "hf-wandb", rec.id)}
    assert arts == {"model-hf-own:v0": ["base_model"], "model-hf-own:v1": ["final_model", "latest"]}


def test_a_bad_log_model_setting_turns_logging_models_off(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WANDB_LOG_MODEL", "sometimes")
    assert nbhf.Callback()._log_model == "false"
    assert "unrecognized WANDB_LOG_MODEL" in capsys.readouterr().err
    monkeypatch.setenv("WANDB_LOG_MODEL", "true")  # transformers < 4.33: the end
    assert nbhf.Callback()._log_model == "end"

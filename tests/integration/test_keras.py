"""Keras 3 (torch backend) with nbtrack's callbacks: what a fit logs, read back with nbtrack.Api."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nbtrack
from tests.helpers import PYTHON, child_env

keras = pytest.importorskip("keras")

pytestmark = pytest.mark.filterwarnings(
    # Keras' own saving on torch, under NumPy 2 (np.asarray of a torch-backed Variable).
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

from nbtrack.integration import keras as nbkeras  # noqa: E402 (after keras is known to import)

# 32 samples, 8 held out by validation_split: 24 to train on, 3 batches of 8 an epoch.
N, BATCH, BATCHES = 32, 8, 3


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.random((N, 4), dtype=np.float32)
    return x, (x @ np.array([[1.0], [-2.0], [0.5], [0.0]], dtype=np.float32))


def _model(lr: float = 0.01) -> Any:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(3, activation="relu", name="hidden"),
            keras.layers.Dense(1, name="out"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="mse", metrics=["mae"])
    return model


def _fit(model: Any, callbacks: list[Any], epochs: int = 2) -> Any:
    x, y = _data()
    return model.fit(
        x, y, batch_size=BATCH, epochs=epochs, validation_split=0.25, verbose=0, callbacks=callbacks
    )


def _record(api: nbtrack.Api, run: Any) -> nbtrack.RunRecord:
    return api.run(run.path)


def test_metrics_logger_logs_every_batch_and_epoch_under_wandbs_names(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="keras", config={"lr": 0.01})
    history = _fit(_model(), [nbkeras.WandbMetricsLogger(log_freq="batch")])
    run.finish()
    rec = _record(api, run)
    keys = set(rec.keys())
    assert {"batch/loss", "batch/mae", "batch/batch_step", "batch/learning_rate"} <= keys
    assert {"epoch/loss", "epoch/val_loss", "epoch/mae", "epoch/val_mae"} <= keys
    assert {"epoch/epoch", "epoch/learning_rate"} <= keys
    steps, batch_step = rec.series("batch/batch_step")
    assert batch_step.tolist() == list(range(2 * BATCHES))
    _, epoch = rec.series("epoch/epoch")
    assert epoch.tolist() == [0, 1]
    # Each epoch's row is the one after its last batch: one log() per batch, one per epoch.
    epoch_steps, epoch_loss = rec.series("epoch/loss")
    assert epoch_steps.tolist() == [BATCHES, 2 * BATCHES + 1]
    assert steps.tolist() == [0, 1, 2, 4, 5, 6]
    assert epoch_loss.tolist() == pytest.approx(history.history["loss"])
    _, val_loss = rec.series("epoch/val_loss")
    assert val_loss.tolist() == pytest.approx(history.history["val_loss"])
    _, lr = rec.series("epoch/learning_rate")
    assert lr.tolist() == pytest.approx([0.01, 0.01])
    assert rec.config == {"lr": 0.01}
    assert rec.summary["epoch/val_loss"] == pytest.approx(history.history["val_loss"][-1])
    defs = {m["name"]: m["step_metric"] for m in rec.metadata["metrics"]}
    assert defs["batch/*"] == "batch/batch_step"
    assert defs["epoch/*"] == "epoch/epoch"


def test_metrics_logger_every_n_batches_and_epoch_only(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="keras")
    _fit(_model(), [nbkeras.MetricsLogger(log_freq=2)])
    run.finish()
    rec = _record(api, run)
    # Batches 0 and 2 of each epoch; the step counts in batches, as W&B's does.
    assert rec.series("batch/batch_step")[1].tolist() == [0, 2, 4, 6]
    run = nbtrack.init(project="keras")
    _fit(_model(), [nbkeras.MetricsLogger()])
    run.finish()
    rec = _record(api, run)
    logged = rec.keys()  # a RunRecord's keys: a method, not a dict's
    assert not [k for k in logged if k.startswith("batch/")]
    assert rec.series("epoch/epoch")[0].tolist() == [0, 1]


def test_the_learning_rate_of_a_schedule_is_logged_as_it_decays(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="keras")
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    model = _model()
    model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    _fit(model, [nbkeras.MetricsLogger(log_freq="batch")])
    run.finish()
    _, lr = _record(api, run).series("batch/learning_rate")
    # After batch i the optimizer has made i + 1 steps.
    assert lr.tolist() == pytest.approx([0.1 * 0.5 ** (i + 1) for i in range(2 * BATCHES)])


def test_callbacks_need_a_run_and_check_their_arguments() -> None:
    with pytest.raises(RuntimeError, match=r"nbtrack\.init\(\).*before WandbMetricsLogger"):
        nbkeras.MetricsLogger()
    with pytest.raises(RuntimeError, match="before WandbCallback"):
        nbkeras.WandbCallback()
    with pytest.raises(RuntimeError, match="before WandbModelCheckpoint"):
        nbkeras.ModelCheckpoint("m.keras")
    nbtrack.init(project="keras")
    with pytest.raises(ValueError, match="log_freq must be 'epoch', 'batch' or a positive int"):
        nbkeras.MetricsLogger(log_freq="step")
    with pytest.raises(ValueError, match="log_freq"):
        nbkeras.MetricsLogger(log_freq=0)
    with pytest.raises(ValueError, match="log_batch_frequency"):
        nbkeras.WandbCallback(log_batch_frequency=-1)
    with pytest.raises(NotImplementedError, match="add_ground_truth"):
        nbkeras.WandbEvalCallback(["x"], ["y"]).on_train_begin()


def test_eval_callback_logs_its_prediction_table_every_epoch(api: nbtrack.Api) -> None:
    x, y = _data()

    class Predictions(nbkeras.WandbEvalCallback):  # type: ignore[misc]
        def add_ground_truth(self, logs: Any = None) -> None:
            for i in range(4):
                self.data_table.add_data(i, float(y[i, 0]))

        def add_model_predictions(self, epoch: int, logs: Any = None) -> None:
            preds = self.model.predict(x[:4], verbose=0)
            for i in range(4):
                row = self.data_table_ref.data[i]
                self.pred_table.add_data(epoch, row[0], row[1], float(preds[i, 0]))

    run = nbtrack.init(project="keras")
    _fit(_model(), [Predictions(["idx", "y"], ["epoch", "idx", "y", "pred"])], epochs=3)
    run.finish()
    rec = _record(api, run)
    assert rec.media_keys() == {"val_data": "table", "eval_data": "table"}
    ((_, data),) = rec.media("val_data", pandas=False)
    assert data["idx"] == [0, 1, 2, 3]
    tables = rec.media("eval_data", pandas=False)
    assert [t["epoch"] for _, t in tables] == [[0] * 4, [1] * 4, [2] * 4]
    assert all(len(t["pred"]) == 4 for _, t in tables)


def _versions(root: Path, project: str, run_id: str) -> dict[str, list[str]]:
    from nbtrack.artifacts import logged_artifacts

    return {a.name: sorted(a.aliases) for a in logged_artifacts(root, project, run_id)}


def test_model_checkpoint_logs_each_save_as_a_model_artifact(
    api: nbtrack.Api, store_dir: Path, tmp_path: Path
) -> None:
    run = nbtrack.init(project="keras")
    ckpt = nbkeras.WandbModelCheckpoint(str(tmp_path / "ckpt" / "model-{epoch:02d}.keras"))
    model = _model()
    _fit(model, [ckpt])
    name = f"run_{run.id}_model"
    assert _versions(store_dir, "keras", run.id) == {
        f"{name}:v0": ["epoch_0"],
        f"{name}:v1": ["epoch_1", "latest"],
    }
    # The logged file is the model, and it loads.
    path = run.use_artifact(f"{name}:epoch_1").download(root=str(tmp_path / "dl"))
    loaded = keras.models.load_model(Path(path) / "model-02.keras")
    x, _ = _data()
    assert np.allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    run.finish()


def test_model_checkpoint_save_best_only_logs_nothing_that_is_not_saved(
    store_dir: Path, tmp_path: Path
) -> None:
    run = nbtrack.init(project="keras")
    # No loss is below -1: Keras never saves, so nothing is logged either.
    ckpt = nbkeras.ModelCheckpoint(
        str(tmp_path / "best-{epoch}.weights.h5"),
        monitor="val_loss",
        mode="min",
        save_best_only=True,
        save_weights_only=True,
        initial_value_threshold=-1.0,
    )
    _fit(_model(), [ckpt])
    run.finish()
    assert not list(tmp_path.glob("best-*"))
    assert _versions(store_dir, "keras", run.id) == {}


def test_legacy_wandb_callback_logs_epochs_keeps_the_best_and_saves_the_model(
    api: nbtrack.Api, store_dir: Path
) -> None:
    run = nbtrack.init(project="keras", name="legacy run")
    history = _fit(_model(), [nbkeras.WandbCallback(log_weights=True)], epochs=3)
    run.finish()
    rec = _record(api, run)
    assert {"epoch", "loss", "val_loss", "mae", "val_mae"} <= set(rec.keys())
    steps, epochs = rec.series("epoch")
    assert epochs.tolist() == [0, 1, 2]
    assert rec.series("val_loss")[0].tolist() == steps.tolist()  # one row an epoch
    val = history.history["val_loss"]
    assert rec.summary["best_val_loss"] == pytest.approx(min(val))
    assert rec.summary["best_epoch"] == int(np.argmin(val))
    assert (Path(run.dir) / "model-best.keras").is_file()
    versions = _versions(store_dir, "keras", run.id)
    assert versions and all(name.startswith("model-legacy_run:v") for name in versions)
    assert "latest" in versions[max(versions)]
    assert f"epoch_{int(np.argmin(val))}" in versions[max(versions)]
    # log_weights: a histogram of each Dense layer's kernel and bias, every epoch.
    hist_keys = set(rec.histogram_keys())
    assert hist_keys == {
        f"parameters/{k}" for k in ("hidden.weights", "hidden.bias", "out.weights", "out.bias")
    }
    hsteps, _, counts = rec.histograms("parameters/hidden.weights")
    assert hsteps.tolist() == steps.tolist()
    assert counts.sum(axis=1).tolist() == [4 * 3] * 3


def test_legacy_wandb_callback_batches_and_unsupported_arguments(api: nbtrack.Api) -> None:
    run = nbtrack.init(project="keras")
    x, y = _data()
    with pytest.warns(
        UserWarning, match=r"WandbCallback\(validation_data=\.\.\.\) is not supported"
    ):
        cb = nbkeras.WandbCallback(
            monitor="val_mae", log_batch_frequency=1, save_model=False, validation_data=(x, y)
        )
    _fit(_model(), [cb])
    run.finish()
    rec = _record(api, run)
    # Batch rows (loss, mae: Keras' running means) and epoch rows, in one step sequence.
    steps, _ = rec.series("loss")
    assert len(steps) == 2 * BATCHES + 2
    assert rec.series("epoch")[0].tolist() == [BATCHES, 2 * BATCHES + 1]
    assert "best_val_mae" in rec.summary
    assert not (Path(run.dir) / "model-best.keras").exists()


def test_a_disabled_run_takes_the_callbacks_and_stores_nothing(tmp_path: Path) -> None:
    run = nbtrack.init(project="keras", mode="disabled")
    ckpt = nbkeras.ModelCheckpoint(str(tmp_path / "m.keras"))
    _fit(_model(), [nbkeras.MetricsLogger("batch"), ckpt, nbkeras.WandbCallback()])
    run.finish()
    assert (tmp_path / "m.keras").is_file()  # Keras' own save still happens


def test_the_names_wandb_scripts_use_resolve() -> None:
    import nbtrack as wandb

    assert wandb.integration.keras is nbkeras
    assert wandb.keras.WandbCallback is nbkeras.WandbCallback  # W&B's old wandb.keras
    assert nbkeras.WandbMetricsLogger is nbkeras.MetricsLogger
    assert nbkeras.WandbModelCheckpoint is nbkeras.ModelCheckpoint
    assert issubclass(nbkeras.ModelCheckpoint, keras.callbacks.ModelCheckpoint)
    assert set(nbkeras.__all__) <= set(dir(nbkeras))


def test_importing_the_package_imports_no_framework_and_a_missing_one_names_pip() -> None:
    code = (
        "import sys, nbtrack, nbtrack.integration\n"
        "heavy = [m for m in ('keras', 'lightning', 'pytorch_lightning', 'transformers', 'torch')"
        " if m in sys.modules]\n"
        "print(heavy)\n"
        "sys.modules['keras'] = None\n"  # as if keras were not installed
        "try:\n"
        "    nbtrack.integration.keras\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run(
        [PYTHON, "-c", code], env=child_env(), capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.strip().splitlines()[:2]
    assert first == "[]"
    assert "nbtrack.integration.keras needs 'keras'" in second
    assert "pip install keras>=3.0" in second


def test_keras_without_a_backend_says_to_set_one(tmp_path: Path) -> None:
    # Keras 3 defaults to TensorFlow, which is not installed here: the error says what to do.
    env = {k: v for k, v in child_env().items() if k != "KERAS_BACKEND"}
    out = subprocess.run(
        [PYTHON, "-c", "import nbtrack.integration.keras"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    if out.returncode == 0:
        pytest.skip("TensorFlow is installed: Keras imports without a backend chosen")
    assert "Set KERAS_BACKEND=torch" in out.stderr, out.stderr

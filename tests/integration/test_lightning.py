"""Lightning with nbtrack's logger: a tiny module fitted on the CPU, read back with nbtrack.Api."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nbtrack

torch = pytest.importorskip("torch")
L = pytest.importorskip("lightning.pytorch")

from nbtrack.integration import lightning as nblightning  # noqa: E402

pytestmark = [
    # Lightning's own advice on a laptop-sized run (few workers, small log interval, the
    # deprecated pytree API it calls itself): not ours.
    pytest.mark.filterwarnings("ignore::lightning.fabric.utilities.warnings.PossibleUserWarning"),
    pytest.mark.filterwarnings("ignore:.*does not have many workers:UserWarning"),
    pytest.mark.filterwarnings("ignore:.*LeafSpec.*is deprecated:FutureWarning"),
    pytest.mark.filterwarnings("ignore:.*LeafSpec.*is deprecated:DeprecationWarning"),
]

# 32 samples in batches of 8: 4 optimizer steps an epoch.
STEPS = 4


class Tiny(L.LightningModule):  # type: ignore[misc]
    def __init__(self, lr: float = 0.1, hidden: int = 3) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)
        )

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train/loss", loss, on_step=True, on_epoch=True)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self.log("val/loss", torch.nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def _loader() -> Any:
    g = torch.Generator().manual_seed(0)
    ds = torch.utils.data.TensorDataset(
        torch.randn(32, 4, generator=g), torch.randn(32, 1, generator=g)
    )
    return torch.utils.data.DataLoader(ds, batch_size=8)


def _trainer(logger: Any, tmp_path: Path, pl: Any = None, **kwargs: Any) -> Any:
    pl = pl or L
    return pl.Trainer(
        max_epochs=2,
        logger=logger,
        log_every_n_steps=1,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        default_root_dir=str(tmp_path),
        **kwargs,
    )


def _fit(logger: Any, tmp_path: Path, **kwargs: Any) -> Any:
    torch.manual_seed(0)
    trainer = _trainer(logger, tmp_path, **kwargs)
    trainer.fit(Tiny(), _loader(), _loader())
    return trainer


def _artifacts(root: Path, project: str, run_id: str) -> dict[str, Any]:
    from nbtrack.artifacts import logged_artifacts

    return {a.name: a for a in logged_artifacts(root, project, run_id)}


def test_a_fit_logs_steps_and_epochs_against_the_trainers_global_step(
    api: nbtrack.Api, store_dir: Path, tmp_path: Path
) -> None:
    logger = nblightning.WandbLogger(project="lit", name="tiny", tags=["cpu"], log_model="all")
    assert logger.version is None  # nothing started before the Trainer needs it
    trainer = _fit(logger, tmp_path)
    run = logger.experiment
    assert isinstance(run, nbtrack.Run)
    assert (logger.name, logger.version, logger.save_dir) == ("lit", run.id, ".")
    run.finish()
    rec = api.run(run.path)
    assert (rec.name, rec.tags) == ("tiny", ["cpu"])
    assert rec.config == {"lr": 0.1, "hidden": 3}
    assert {
        "train/loss_step",
        "train/loss_epoch",
        "val/loss",
        "epoch",
        "trainer/global_step",
    } <= set(rec.keys())
    steps, gs = rec.series("trainer/global_step")
    _, step_loss = rec.series("train/loss_step")
    assert len(step_loss) == 2 * STEPS  # every optimizer step (log_every_n_steps=1)
    # Each log_metrics call is one row; the global step counts optimizer steps (from 0
    # for the first batch's metrics, and the step after an epoch's last for its epoch ones).
    rows = dict(zip(steps.tolist(), gs.tolist(), strict=True))
    step_rows = rec.series("train/loss_step")[0].tolist()
    assert [rows[s] for s in step_rows] == list(range(2 * STEPS))
    epoch_rows = rec.series("train/loss_epoch")[0].tolist()
    assert [rows[s] for s in epoch_rows] == [STEPS - 1, 2 * STEPS - 1]
    assert rec.series("epoch")[1].tolist()[-1] == 1
    _, val_loss = rec.series("val/loss")
    assert len(val_loss) == 2
    assert rec.summary["val/loss"] == pytest.approx(float(trainer.callback_metrics["val/loss"]))
    defs = {m["name"]: m for m in rec.metadata["metrics"]}
    assert defs["*"]["step_metric"] == "trainer/global_step"
    assert "trainer/global_step" in defs
    # log_model="all": each checkpoint as it is saved (one an epoch), best and latest.
    arts = _artifacts(store_dir, "lit", run.id)
    assert sorted(arts) == [f"model-{run.id}:v0", f"model-{run.id}:v1"]
    latest = arts[f"model-{run.id}:v1"]
    assert sorted(latest.aliases) == ["best", "latest"]
    assert list(latest.manifest.entries) == ["model.ckpt"]
    assert latest.metadata["original_filename"] == "epoch=1-step=8.ckpt"
    assert latest.metadata["ModelCheckpoint"]["save_top_k"] == 1


def test_log_model_true_logs_the_kept_checkpoints_when_training_ends(
    store_dir: Path, tmp_path: Path
) -> None:
    logger = nblightning.Logger(project="lit", log_model=True, checkpoint_name="tiny-ckpt")
    seen: list[int] = []

    class Count(L.Callback):  # type: ignore[misc]
        def on_train_epoch_end(self, trainer: Any, module: Any) -> None:
            seen.append(len(_artifacts(store_dir, "lit", logger.version)))

    _fit(logger, tmp_path, callbacks=[Count()])
    run = logger.experiment
    arts = _artifacts(store_dir, "lit", run.id)
    run.finish()
    assert seen == [0, 0]  # nothing while training
    assert sorted(arts) == ["tiny-ckpt:v0"]
    assert sorted(arts["tiny-ckpt:v0"].aliases) == ["best", "latest"]
    # W&B's download_artifact, with no run active: through the Api; the checkpoint loads.
    folder = nblightning.Logger.download_artifact("lit/tiny-ckpt:best", save_dir=tmp_path / "dl")
    state = torch.load(Path(folder) / "model.ckpt", weights_only=False)
    assert state["global_step"] == 2 * STEPS
    assert Tiny.load_from_checkpoint(Path(folder) / "model.ckpt").hparams.lr == 0.1


def test_prefix_offline_an_active_run_and_hyperparameters(api: nbtrack.Api, tmp_path: Path) -> None:
    active = nbtrack.init(project="mine", config={"seed": 1})
    logger = nblightning.NbtrackLogger(project="ignored", prefix="fold0", offline=True)
    with pytest.warns(UserWarning, match="reuse this run"):
        assert logger.experiment is active
    logger.log_hyperparams({"opt": {"name": "sgd"}, "fn": len, "layers": [3, 1], "out": tmp_path})
    logger.log_metrics({"loss": 0.5}, step=7)
    logger.log_metrics({"acc": 0.9})
    active.finish()
    rec = api.run(active.path)
    assert rec.keys() == ["fold0-loss", "trainer/global_step", "fold0-acc"]
    assert rec.series("trainer/global_step")[1].tolist() == [7]
    assert rec.config["seed"] == 1
    # As W&B's logger: a callable by its name, a path as text, a nested dict as it is.
    assert rec.config["fn"] == "len"
    assert rec.config["out"] == str(tmp_path)
    assert rec.config["opt"] == {"name": "sgd"}
    assert rec.config["layers"] == [3, 1]


def test_the_names_wandb_scripts_use_resolve() -> None:
    import nbtrack as wandb

    assert wandb.integration.lightning.WandbLogger is nblightning.Logger
    assert nblightning.NbtrackLogger is nblightning.Logger
    assert issubclass(nblightning.Logger, L.loggers.Logger)


def test_media_methods_log_media_and_arguments_are_checked(api: nbtrack.Api) -> None:
    logger = nblightning.Logger(project="lit")
    images = [np.full((4, 4), i, np.uint8) for i in range(3)]
    logger.log_image("samples", images=images, step=5, caption=["a", "b", "c"])
    logger.log_table("t", columns=["a"], data=[[1], [2]])
    logger.log_text("notes", columns=["text"], data=[["hello"]])
    with pytest.raises(ValueError, match="expected 3 items in caption"):
        logger.log_image("samples", images=images, caption=["a"])
    with pytest.raises(ValueError, match="log_model must be True, False or 'all'"):
        nblightning.Logger(log_model="best")
    with pytest.warns(UserWarning, match=r"WandbLogger\(anonymous=True\) is not supported"):
        nblightning.Logger(anonymous=True)
    run = logger.experiment
    run.finish()
    rec = api.run(run.path)
    ((_, got),) = rec.media("samples")
    assert [im.caption for im in got] == ["a", "b", "c"]
    assert [int(im.numpy()[0, 0]) for im in got] == [0, 1, 2]
    assert rec.series("trainer/global_step")[1].tolist()[0] == 5
    ((_, table),) = rec.media("t", pandas=False)
    assert table == {"a": [1, 2]}
    assert rec.media("notes", pandas=False)[0][1] == {"text": ["hello"]}


def test_save_dir_is_the_stores_folder_and_the_checkpoints_and_watch(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    logger = nblightning.Logger(project="lit", save_dir=folder, id="fixed-id")
    torch.manual_seed(0)
    module = Tiny()
    logger.watch(module, log="all", log_freq=2, log_graph=False)
    trainer = _trainer(logger, tmp_path)
    trainer.fit(module, _loader(), _loader())
    logger.experiment.finish()
    with nbtrack.Api(folder) as api:
        rec = api.run("lit/fixed-id")
        assert rec.state == "finished"
        # watch through the logger: W&B's names, histograms as training goes (at the
        # run's steps, which count log_metrics rows, not optimizer steps).
        assert {"gradients/net.0.weight", "parameters/net.2.bias"} <= set(rec.histogram_keys())
        assert len(rec.histograms("gradients/net.0.weight")[0]) >= 2
    assert (
        Path(trainer.checkpoint_callback.best_model_path).parent
        == folder / "lit" / "fixed-id" / "checkpoints"
    )


def test_the_older_pytorch_lightning_package(api: nbtrack.Api, tmp_path: Path) -> None:
    pl = pytest.importorskip("pytorch_lightning")
    from nbtrack.integration import pytorch_lightning as nbpl

    assert issubclass(nbpl.WandbLogger, pl.loggers.Logger)
    assert not issubclass(nbpl.WandbLogger, L.loggers.Logger)

    class PlTiny(pl.LightningModule):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Linear(4, 1)

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            loss = torch.nn.functional.mse_loss(self.net(batch[0]), batch[1])
            self.log("loss", loss)
            return loss

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.1)

    logger = nbpl.WandbLogger(project="pl")
    trainer = _trainer(logger, tmp_path, pl=pl)
    trainer.fit(PlTiny(), _loader())
    run = logger.experiment
    run.finish()
    rec = api.run(run.path)
    assert rec.series("trainer/global_step")[1].tolist() == list(range(2 * STEPS))
    assert len(rec.series("loss")[1]) == 2 * STEPS

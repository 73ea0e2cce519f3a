"""The Lightning logger, built on either package Lightning ships as: ``lightning.pytorch``
(with ``lightning.fabric``) or the older standalone ``pytorch_lightning`` (with
``lightning_fabric``). A Trainer accepts only loggers of its own package's `Logger`, so
`make_logger` makes the class once for each (see `nbtrack.integration.lightning` and
`nbtrack.integration.pytorch_lightning`).
"""

from __future__ import annotations

import importlib
import os
from argparse import Namespace
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nbtrack._compat import unsupported
from nbtrack.integration import _common

_DOC = """A Lightning logger that logs to an nbtrack run: W&B's `WandbLogger`, same arguments.

    >>> from nbtrack.integration.lightning import Logger     # or WandbLogger, NbtrackLogger
    >>> logger = Logger(project="mnist-lightning", log_model="all")
    >>> trainer = lightning.pytorch.Trainer(logger=logger, max_epochs=2)
    >>> trainer.fit(model, train_loader, val_loader)

    ``experiment`` is the run, started on first use on the rank-0 process
    (``nbtrack.init(project=, name=, id=version or id, resume="allow", **kwargs)``; an
    active run is reused, as W&B does). Each ``self.log(...)`` of the LightningModule
    reaches ``log_metrics``, logged with ``trainer/global_step`` beside it, the step every
    metric is drawn against (``define_metric("*", step_metric="trainer/global_step")``).
    ``save_hyperparameters()`` lands in the run's config (``log_hyperparams``, flattened and
    made serializable as W&B's logger does). `log_model`: ``"all"`` logs each checkpoint
    the Trainer saves as a version of the ``"model"`` artifact ``model-<run id>`` (or
    `checkpoint_name`) when it is saved, True the ones kept when training ends, with the
    aliases ``latest`` and ``best``. `save_dir` is where the Trainer writes checkpoints
    (``<save_dir>/<project>/<run id>/checkpoints``); given (or `dir`), it is the store's
    folder too. `offline` logs to the local store only. `prefix` is put before every key
    (joined by ``-``). The run is not finished when training ends (W&B's is not either):
    call ``nbtrack.finish()``, or let the process end.
"""


def make_logger(pl: str, fabric: str) -> type:
    """The logger class for the Lightning package `pl` (its fabric package `fabric`)."""
    loggers = importlib.import_module(f"{pl}.loggers.logger")
    rank_zero = importlib.import_module(f"{pl}.utilities.rank_zero")
    utilities = importlib.import_module(f"{pl}.loggers.utilities")
    fabric_logger = importlib.import_module(f"{fabric}.utilities.logger")
    torch = importlib.import_module("torch")
    rank_zero_only = rank_zero.rank_zero_only
    rank_zero_warn = rank_zero.rank_zero_warn
    rank_zero_experiment = loggers.rank_zero_experiment

    class Logger(loggers.Logger):  # type: ignore[misc,name-defined]
        __doc__ = _DOC

        LOGGER_JOIN_CHAR = "-"

        def __init__(
            self,
            name: str | None = None,
            save_dir: str | os.PathLike[str] | None = ".",
            version: str | None = None,
            offline: bool = False,
            dir: str | os.PathLike[str] | None = None,
            id: str | None = None,
            anonymous: bool | None = None,
            project: str | None = None,
            log_model: bool | str = False,
            experiment: Any = None,
            prefix: str = "",
            checkpoint_name: str | None = None,
            add_file_policy: str = "mutable",
            **kwargs: Any,
        ) -> None:
            if log_model not in (True, False, "all"):
                raise ValueError(
                    f"WandbLogger: log_model must be True, False or 'all', not {log_model!r}"
                )
            if add_file_policy not in ("mutable", "immutable"):
                raise ValueError(
                    "WandbLogger: add_file_policy must be 'mutable' or 'immutable', "
                    f"not {add_file_policy!r}"
                )
            if anonymous:
                unsupported("WandbLogger(anonymous=True)", "runs are never anonymous here")
            super().__init__()
            self._offline = offline
            self._log_model = log_model
            self._prefix = prefix
            self._experiment = experiment
            self._logged_model_time: dict[str, float] = {}
            self._checkpoint_callbacks: dict[int, Any] = {}
            self.add_file_policy = add_file_policy
            where = save_dir if save_dir is not None else dir
            self._save_dir = None if where is None else os.fspath(where)
            project = (
                project
                or os.environ.get("NBTRACK_PROJECT")
                or os.environ.get("WANDB_PROJECT")
                or "lightning_logs"
            )
            init: dict[str, Any] = {
                "name": name,
                "project": project,
                "id": version or id,
                "resume": "allow",
            }
            # Lightning's default save_dir (".") says nothing about the store: it stays where
            # NBTRACK_DIR / WANDB_DIR (or ./nbtrack) puts it unless a folder was given.
            if self._save_dir not in (None, "."):
                init["dir"] = self._save_dir
            if offline:
                init["mode"] = "offline"
            init.update(kwargs)
            self._init_kwargs = init
            self._project: str = project
            self._name = name
            self._id = version or id
            self._checkpoint_name = checkpoint_name

        def __getstate__(self) -> dict[str, Any]:
            # A run does not cross processes (a spawned worker): it logs from rank 0 only.
            state = self.__dict__.copy()
            if self._experiment is not None:
                state["_id"] = getattr(self._experiment, "id", None)
            state["_experiment"] = None
            return state

        @property
        @rank_zero_experiment  # type: ignore[untyped-decorator]
        def experiment(self) -> Any:
            """The nbtrack run (started on first use)."""
            if self._experiment is None:
                current = _common.current_run()
                if current is not None:
                    rank_zero_warn(
                        "There is an nbtrack run already in progress and newly created "
                        "instances of `WandbLogger` will reuse this run. If this is not "
                        "desired, call `nbtrack.finish()` before instantiating `WandbLogger`."
                    )
                    self._experiment = current
                else:
                    import nbtrack

                    self._experiment = nbtrack.init(**self._init_kwargs)
                    _common.define_metric(self._experiment, "trainer/global_step")
                    _common.define_metric(
                        self._experiment,
                        "*",
                        step_metric="trainer/global_step",
                        step_sync=True,
                    )
            return self._experiment

        def watch(
            self,
            model: Any,
            log: str | None = "gradients",
            log_freq: int = 100,
            log_graph: bool = True,
        ) -> None:
            """Histograms of the model's gradients (and/or parameters) every `log_freq` steps."""
            self.experiment.watch(model, log=log, log_freq=log_freq, log_graph=log_graph)

        @rank_zero_only  # type: ignore[untyped-decorator]
        def log_hyperparams(self, params: dict[str, Any] | Namespace) -> None:
            params = fabric_logger._convert_params(params)
            params = fabric_logger._sanitize_callable_params(params)
            params = fabric_logger._convert_json_serializable(params)
            self.experiment.config.update(params, allow_val_change=True)

        @rank_zero_only  # type: ignore[untyped-decorator]
        def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
            assert rank_zero_only.rank == 0, "experiment tried to log from global_rank != 0"
            metrics = fabric_logger._add_prefix(metrics, self._prefix, self.LOGGER_JOIN_CHAR)
            if step is not None:
                self.experiment.log(dict(metrics, **{"trainer/global_step": step}))
            else:
                self.experiment.log(dict(metrics))

        @property
        def save_dir(self) -> str | None:
            return self._save_dir

        @property
        def name(self) -> str | None:
            """The project (as W&B's logger); the run's own name is ``experiment.name``."""
            return self._project

        @property
        def version(self) -> str | None:
            """The run's id (the one given, while no run is started yet)."""
            return self._experiment.id if self._experiment else self._id

        def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
            if self._log_model == "all" or (
                self._log_model is True and checkpoint_callback.save_top_k == -1
            ):
                self._scan_and_log_checkpoints(checkpoint_callback)
            elif self._log_model is True:
                self._checkpoint_callbacks[id(checkpoint_callback)] = checkpoint_callback

        @staticmethod
        @rank_zero_only  # type: ignore[untyped-decorator]
        def download_artifact(
            artifact: str,
            save_dir: str | os.PathLike[str] | None = None,
            artifact_type: str | None = None,
            use_artifact: bool | None = True,
        ) -> str:
            """Download an artifact (``"name:alias"``) of the store; returns its folder."""
            import nbtrack

            run = _common.current_run()
            if run is not None and use_artifact:
                art = run.use_artifact(artifact)
            else:
                art = nbtrack.Api().artifact(artifact, type=artifact_type)
            root = None if save_dir is None else os.fspath(save_dir)
            return str(art.download(root=root))

        def use_artifact(self, artifact: str, artifact_type: str | None = None) -> Any:
            """Record that the run uses `artifact`; returns it."""
            return self.experiment.use_artifact(artifact, type=artifact_type)

        @rank_zero_only  # type: ignore[untyped-decorator]
        def finalize(self, status: str) -> None:
            if status != "success":
                return  # checkpoints are logged after a training that succeeded only
            if self._experiment is not None:
                for checkpoint_callback in self._checkpoint_callbacks.values():
                    self._scan_and_log_checkpoints(checkpoint_callback)

        def _scan_and_log_checkpoints(self, checkpoint_callback: Any) -> None:
            checkpoints = utilities._scan_checkpoints(checkpoint_callback, self._logged_model_time)
            keys = ("monitor", "mode", "save_last", "save_top_k", "save_weights_only")
            for t, p, s, _tag in checkpoints:
                metadata = {
                    "score": s.item() if isinstance(s, torch.Tensor) else s,
                    "original_filename": Path(p).name,
                    # __class__, not type(): the Trainer hands over a proxy of the callback.
                    checkpoint_callback.__class__.__name__: {
                        k: _common.config_value(getattr(checkpoint_callback, k))
                        for k in (*keys, "_every_n_train_steps")
                        if hasattr(checkpoint_callback, k)
                    },
                }
                if not self._checkpoint_name:
                    self._checkpoint_name = f"model-{self.experiment.id}"
                best = p == checkpoint_callback.best_model_path
                _common.log_artifact(
                    self.experiment,
                    self._checkpoint_name,
                    "model",
                    files=[(p, "model.ckpt")],
                    aliases=["latest", "best"] if best else ["latest"],
                    metadata=metadata,
                    policy=self.add_file_policy,
                )
                self._logged_model_time[p] = t

    def log_table(
        self: Any,
        key: str,
        columns: list[str] | None = None,
        data: list[list[Any]] | None = None,
        dataframe: Any = None,
        step: int | None = None,
    ) -> None:
        """W&B's `WandbLogger.log_table`: a `Table` under `key` (``log_text`` is the same)."""
        from nbtrack.media import Table

        self.log_metrics({key: Table(columns=columns, data=data, dataframe=dataframe)}, step)

    def log_list(kind: str) -> Any:
        plural = f"{kind}s"  # W&B's argument: images=, audios=, videos=

        def log_media(self: Any, key: str, *args: Any, **kwargs: Any) -> None:
            import nbtrack.media as media

            step = kwargs.pop("step", None)
            if args:
                items, *rest = args
                if rest:
                    step = rest[0]
            elif plural in kwargs:
                items = kwargs.pop(plural)
            else:
                raise TypeError(f"WandbLogger.log_{kind}() missing the argument {plural!r}")
            if not isinstance(items, list):
                raise TypeError(
                    f"WandbLogger.log_{kind}: {plural} must be a list, not {type(items).__name__}"
                )
            n = len(items)
            for k, v in kwargs.items():
                if len(v) != n:
                    raise ValueError(
                        f"WandbLogger.log_{kind}: expected {n} items in {k}, got {len(v)}"
                    )
            made = getattr(media, kind.capitalize())
            per_item = [{k: kwargs[k][i] for k in kwargs} for i in range(n)]
            logged = [made(x, **kw) for x, kw in zip(items, per_item, strict=True)]
            self.log_metrics({key: logged}, step)

        log_media.__name__ = f"log_{kind}"
        log_media.__doc__ = (
            f"W&B's `WandbLogger.log_{kind}`: a list of `{kind.capitalize()}` under `key`; each "
            f"keyword is a list with one value per {kind} (``caption=[...]``)."
        )
        return log_media

    Logger.log_table = rank_zero_only(log_table)
    Logger.log_text = rank_zero_only(log_table)
    for kind in ("image", "audio", "video"):
        setattr(Logger, f"log_{kind}", rank_zero_only(log_list(kind)))
    Logger.__module__ = f"nbtrack.integration.{pl.split('.')[0]}"
    return Logger

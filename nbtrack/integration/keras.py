"""Keras 3 callbacks, as W&B's: `MetricsLogger`, `ModelCheckpoint`, and the legacy `WandbCallback`.

>>> import nbtrack
>>> from nbtrack.integration.keras import MetricsLogger, ModelCheckpoint
>>> run = nbtrack.init(project="mnist-keras", config={"lr": 1e-3})
>>> model.fit(x, y, epochs=2, validation_split=0.2, callbacks=[
...     MetricsLogger(log_freq="batch"),                 # batch/loss per batch, epoch/loss per epoch
...     ModelCheckpoint("models/best.keras", save_best_only=True),   # a "model" artifact
... ])
>>> run.finish()

W&B's names answer too (``WandbMetricsLogger``, ``WandbModelCheckpoint``, ``WandbCallback``,
``WandbEvalCallback``), so ``from wandb.integration.keras import WandbMetricsLogger`` runs
with ``import nbtrack as wandb``'s module in its place. Keras 3 only (any backend; tested
on torch). The callbacks log to the current run: make them after ``nbtrack.init()``.
"""

from __future__ import annotations

import operator
import os
import string
from collections.abc import Callable
from typing import Any, Literal

from nbtrack._compat import unsupported
from nbtrack.integration import _common

_common.import_framework("keras")  # an ImportError naming the pip package, when missing

import keras  # type: ignore[import-untyped]  # noqa: E402 (Keras ships no type hints)

if int(keras.version().split(".")[0]) < 3:
    raise ImportError(
        f"nbtrack.integration.keras needs Keras 3 (keras.version() is {keras.version()}); "
        "install it with: pip install 'keras>=3.0'"
    )

__all__ = [
    "EvalTableLogger",
    "MetricsLogger",
    "ModelCheckpoint",
    "WandbCallback",
    "WandbEvalCallback",
    "WandbMetricsLogger",
    "WandbModelCheckpoint",
]

LogStrategy = Literal["epoch", "batch"]


def _learning_rate(model: Any, step: int) -> float | None:
    """The optimizer's learning rate now (a schedule evaluated at the optimizer's step)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    lr = optimizer.learning_rate
    if callable(lr) and not hasattr(lr, "shape"):
        lr = lr(step)  # a LearningRateSchedule held as it is
    # float() of a 0-d variable or tensor works on every backend (keras.ops.convert_to_numpy
    # of a Variable trips NumPy 2's __array__(copy=) deprecation on torch).
    return float(lr)


class MetricsLogger(keras.callbacks.Callback):  # type: ignore[misc]
    """Log Keras' metrics to the current run: W&B's `WandbMetricsLogger`.

    At the end of each epoch: ``epoch/<metric>`` for every metric of ``model.compile`` (and
    ``epoch/val_<metric>``), ``epoch/epoch`` (from 0) and ``epoch/learning_rate``. With
    ``log_freq="batch"`` (or an int n: every n-th batch of an epoch) also ``batch/<metric>``,
    ``batch/batch_step`` and ``batch/learning_rate`` per batch. Each metric is defined
    (``define_metric``) against its step key, so the dashboard draws ``batch/*`` against
    ``batch/batch_step`` and ``epoch/*`` against ``epoch/epoch``.

    >>> model.fit(x, y, epochs=5, callbacks=[MetricsLogger(log_freq="batch")])

    `initial_global_step`: the optimizer step training resumes from (for the learning rate
    of a schedule, when ``fit(initial_epoch=...)`` resumes), as in W&B.
    """

    def __init__(
        self,
        log_freq: LogStrategy | int = "epoch",
        initial_global_step: int = 0,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        run = _common.active_run("WandbMetricsLogger()")
        if log_freq == "batch":
            log_freq = 1
        if log_freq != "epoch" and (
            isinstance(log_freq, bool) or not isinstance(log_freq, int) or log_freq < 1
        ):
            raise ValueError(
                f"MetricsLogger: log_freq must be 'epoch', 'batch' or a positive int "
                f"(every n batches), not {log_freq!r}"
            )
        if isinstance(initial_global_step, bool) or not isinstance(initial_global_step, int):
            raise TypeError(
                f"MetricsLogger: initial_global_step must be an int, not {initial_global_step!r}"
            )
        self.logging_batch_wise = isinstance(log_freq, int)
        self.log_freq: int | None = log_freq if isinstance(log_freq, int) else None
        self.global_batch = 0
        self.global_step = initial_global_step
        self._lr_failed = False
        # W&B defines only the axis it logs on (batch/* in batch mode); here the epoch
        # metrics get theirs too, so both draw against their own step.
        if self.logging_batch_wise:
            _common.define_metric(run, "batch/batch_step")
            _common.define_metric(run, "batch/*", step_metric="batch/batch_step")
        _common.define_metric(run, "epoch/epoch")
        _common.define_metric(run, "epoch/*", step_metric="epoch/epoch")

    def _log(self, data: dict[str, Any]) -> None:
        # The run current now: a callback may outlive one run and serve the next (W&B too).
        _common.active_run("WandbMetricsLogger's logging").log(data)

    def _get_lr(self) -> float | None:
        try:
            return _learning_rate(self.model, self.global_step)
        except Exception as e:  # a custom optimizer: the metrics are logged all the same
            if not self._lr_failed:
                self._lr_failed = True
                _common.termwarn(f"Unable to log learning rate: {e}")
            return None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        data = {f"epoch/{k}": v for k, v in (logs or {}).items()}
        data["epoch/epoch"] = epoch
        lr = self._get_lr()
        if lr is not None:
            data["epoch/learning_rate"] = lr
        self._log(data)

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.global_step += 1
        if self.log_freq is not None and batch % self.log_freq == 0:
            data = {f"batch/{k}": v for k, v in (logs or {}).items()}
            data["batch/batch_step"] = self.global_batch
            lr = self._get_lr()
            if lr is not None:
                data["batch/learning_rate"] = lr
            self._log(data)
            self.global_batch += self.log_freq

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.on_batch_end(batch, logs)


class ModelCheckpoint(keras.callbacks.ModelCheckpoint):  # type: ignore[misc]
    """Keras' `ModelCheckpoint` that also logs each saved file as a ``"model"`` artifact of
    the run: W&B's `WandbModelCheckpoint`.

    The artifact is ``run_<run id>_model``; each save is a new version with the aliases
    ``latest`` and ``epoch_<epoch>`` (from 0; ``epoch_<e>_batch_<b>`` when saving every
    `save_freq` batches). With ``save_best_only=True`` only the saves that improved on
    `monitor` are logged. The arguments are Keras' (the path ends in ``.keras``, or
    ``.weights.h5`` with ``save_weights_only=True``).

    >>> ckpt = ModelCheckpoint("models/{epoch:02d}.keras", monitor="val_loss", save_best_only=True)
    >>> model.fit(x, y, validation_split=0.2, epochs=3, callbacks=[ckpt])
    >>> nbtrack.use_artifact(f"run_{run.id}_model:latest").download()
    """

    def __init__(
        self,
        filepath: str | os.PathLike[str],
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: Literal["auto", "min", "max"] = "auto",
        save_freq: Literal["epoch"] | int = "epoch",
        initial_value_threshold: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            filepath=filepath,
            monitor=monitor,
            verbose=verbose,
            save_best_only=save_best_only,
            save_weights_only=save_weights_only,
            mode=mode,
            save_freq=save_freq,
            initial_value_threshold=initial_value_threshold,
            **kwargs,
        )
        _common.active_run("WandbModelCheckpoint()")
        if self.save_best_only and not any(
            field for _, field, _, _ in string.Formatter().parse(self.filepath)
        ):
            _common.termwarn(
                "When using `save_best_only`, ensure that the `filepath` argument contains "
                "formatting placeholders like `{epoch:02d}` or `{batch:02d}`. This ensures "
                "correct interpretation of the logged artifacts."
            )

    def _should_save_model(self, *args: Any, **kwargs: Any) -> bool:
        # Keras (3.2 on) decides here whether a save happens (save_best_only): noted, so
        # that only the saves that happened are logged.
        decided = bool(super()._should_save_model(*args, **kwargs))
        self._decided: bool | None = decided
        return decided

    def _save_model(self, epoch: int, batch: int | None, logs: dict[str, Any] | None) -> None:
        path = self._get_file_path(epoch, batch, logs or {})
        before = _mtime(path)
        self._decided = None
        super()._save_model(epoch=epoch, batch=batch, logs=logs)
        after = _mtime(path)
        # An older Keras decides inside _save_model: the file's change tells instead.
        saved = self._decided if self._decided is not None else after != before
        if not saved or after is None:
            return
        aliases = ["latest", f"epoch_{epoch}" if batch is None else f"epoch_{epoch}_batch_{batch}"]
        run = _common.active_run("WandbModelCheckpoint's artifact")
        name = f"run_{run.id}_model"
        if os.path.isdir(path):
            _common.log_artifact(run, name, "model", dirs=[path], aliases=aliases)
        else:
            _common.log_artifact(run, name, "model", files=[(path, None)], aliases=aliases)


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


# What the legacy WandbCallback takes for images, tables and FLOPs: accepted, not built.
_MEDIA_ARGS = (
    "training_data",
    "validation_data",
    "labels",
    "generator",
    "input_type",
    "output_type",
    "log_evaluation",
    "validation_steps",
    "class_colors",
    "validation_indexes",
    "validation_row_processor",
    "prediction_row_processor",
    "log_evaluation_frequency",
    "compute_flops",
)


class WandbCallback(keras.callbacks.Callback):  # type: ignore[misc]
    """W&B's legacy Keras callback (``wandb.keras.WandbCallback``), for the scripts that use it.

    Each epoch it logs Keras' metrics under their own names (``loss``, ``val_loss``, ...)
    with ``epoch`` (from 0); when `monitor` improves (by `mode`) it sets the summary's
    ``best_<monitor>`` and ``best_epoch`` and, with `save_model`, saves the model to the
    run's folder (``model-best.keras``, or ``model-best.weights.h5`` with
    `save_weights_only`) and logs it as the artifact ``model-<run name>`` (aliases
    ``latest``, ``epoch_<epoch>``). `log_batch_frequency`: also the batch metrics every that
    many batches. `log_weights`: a histogram of each layer's weights and bias per epoch
    (``parameters/<layer>.weights``). Images, tables, gradients and FLOPs are not built:
    their arguments are accepted with a warning.

    >>> model.fit(x, y, validation_split=0.2, epochs=3, callbacks=[WandbCallback(monitor="val_loss")])

    Keras 3 saves whole models as ``.keras`` files (W&B's ``.h5`` is a legacy format there).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        verbose: int = 0,
        mode: str = "auto",
        save_weights_only: bool = False,
        log_weights: bool = False,
        log_gradients: bool = False,
        save_model: bool = True,
        training_data: Any = None,
        validation_data: Any = None,
        labels: Any = None,
        predictions: int = 36,
        generator: Any = None,
        input_type: Any = None,
        output_type: Any = None,
        log_evaluation: bool = False,
        validation_steps: int | None = None,
        class_colors: Any = None,
        log_batch_frequency: int | None = None,
        log_best_prefix: str = "best_",
        save_graph: bool = True,
        validation_indexes: Any = None,
        validation_row_processor: Any = None,
        prediction_row_processor: Any = None,
        infer_missing_processors: bool = True,
        log_evaluation_frequency: int = 0,
        compute_flops: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        run = _common.active_run("WandbCallback()")
        given = {
            "training_data": training_data,
            "validation_data": validation_data,
            "labels": labels,
            "generator": generator,
            "input_type": input_type,
            "output_type": output_type,
            "log_evaluation": log_evaluation,
            "validation_steps": validation_steps,
            "class_colors": class_colors,
            "validation_indexes": validation_indexes,
            "validation_row_processor": validation_row_processor,
            "prediction_row_processor": prediction_row_processor,
            "log_evaluation_frequency": log_evaluation_frequency,
            "compute_flops": compute_flops,
        }
        for name in _MEDIA_ARGS:
            if given[name] not in (None, False, 0, []):
                unsupported(
                    f"WandbCallback({name}=...)",
                    "images, prediction tables and FLOPs are not logged (metrics are)",
                )
        if log_gradients:
            unsupported(
                "WandbCallback(log_gradients=True)",
                "gradients are not computed; nbtrack.watch(model) does it for torch modules",
            )
        for name in kwargs:
            unsupported(f"WandbCallback({name}=...)", "the argument is ignored")
        del predictions, infer_missing_processors, save_graph  # only for the media above
        if log_batch_frequency is not None and (
            isinstance(log_batch_frequency, bool)
            or not isinstance(log_batch_frequency, int)
            or log_batch_frequency < 1
        ):
            raise ValueError(
                "WandbCallback: log_batch_frequency must be a positive int or None, "
                f"not {log_batch_frequency!r}"
            )
        self.monitor = monitor
        self.verbose = verbose
        self.save_weights_only = save_weights_only
        self.save_model = save_model
        self.log_weights = log_weights
        self.log_batch_frequency = log_batch_frequency
        self.log_best_prefix = log_best_prefix
        self.filepath = os.path.join(
            str(run.dir), "model-best.weights.h5" if save_weights_only else "model-best.keras"
        )
        if mode not in ("auto", "min", "max"):
            _common.termwarn(f"WandbCallback mode {mode} is unknown, fallback to auto mode.")
            mode = "auto"
        if mode == "max" or (
            mode == "auto" and ("acc" in monitor or monitor.startswith("fmeasure"))
        ):
            self.monitor_op: Callable[[Any, Any], bool] = operator.gt
            self.best: float = float("-inf")
        else:
            self.monitor_op = operator.lt
            self.best = float("inf")
        previous = run.summary.get(f"{log_best_prefix}{monitor}")
        if isinstance(previous, (int, float)):
            self.best = float(previous)  # a resumed run keeps its best
        self.current: Any = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        run = _common.active_run("WandbCallback's logging")
        logs = dict(logs or {})
        if self.log_weights:
            run.log(self._weights(), commit=False)
        run.log({"epoch": epoch}, commit=False)
        run.log(logs, commit=True)
        self.current = logs.get(self.monitor)
        if self.current is not None and self.monitor_op(self.current, self.best):
            if self.log_best_prefix:
                run.summary[f"{self.log_best_prefix}{self.monitor}"] = float(self.current)
                run.summary[f"{self.log_best_prefix}epoch"] = epoch
                if self.verbose and not self.save_model:
                    print(
                        f"Epoch {epoch:05d}: {self.monitor} improved from {self.best:.5f} "
                        f"to {float(self.current):.5f}"
                    )
            if self.save_model and not _common.is_disabled(run):
                self._save(run, epoch)
            self.best = float(self.current)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.log_batch_frequency and batch % self.log_batch_frequency == 0:
            _common.active_run("WandbCallback's logging").log(dict(logs or {}), commit=True)

    def _save(self, run: Any, epoch: int) -> None:
        if self.verbose > 0:
            print(
                f"Epoch {epoch:05d}: {self.monitor} improved from {self.best:.5f} to "
                f"{float(self.current):.5f}, saving model to {self.filepath}"
            )
        _common.run_dir(run)
        if self.save_weights_only:
            self.model.save_weights(self.filepath, overwrite=True)
        else:
            self.model.save(self.filepath, overwrite=True)
        _common.log_artifact(
            run,
            f"model-{run.name}",
            "model",
            files=[(self.filepath, None)],
            aliases=["latest", f"epoch_{epoch}"],
        )

    def _weights(self) -> dict[str, Any]:
        try:
            from nbtrack.data_types import Histogram as histogram
        except ImportError:
            unsupported("WandbCallback(log_weights=True)", "this nbtrack has no Histogram")
            return {}
        out: dict[str, Any] = {}
        for layer in self.model.layers:
            weights = [keras.ops.convert_to_numpy(w) for w in layer.weights]
            names = ["weights", "bias"] if len(weights) == 2 else ["weights"]
            if len(weights) not in (1, 2):
                continue
            for label, w in zip(names, weights, strict=False):
                if w.size and w.dtype.kind in "fiu":
                    out[f"parameters/{layer.name}.{label}"] = histogram(w.ravel())
        return out


class WandbEvalCallback(keras.callbacks.Callback):  # type: ignore[misc]
    """W&B's `WandbEvalCallback`: tables of a model's predictions, one each epoch.

    Subclass it and fill the two tables, as with W&B's:

    >>> class Preds(WandbEvalCallback):
    ...     def add_ground_truth(self, logs=None):
    ...         for x, y in val:                       # once, when training begins
    ...             self.data_table.add_data(nbtrack.Image(x), y)
    ...     def add_model_predictions(self, epoch, logs=None):
    ...         for i, p in enumerate(model.predict(xs).argmax(-1)):
    ...             self.pred_table.add_data(epoch, self.data_table_ref.data[i][0], p)

    W&B stores the tables as artifacts; here each is logged to the run under its table name
    (``val_data`` once, ``eval_data`` every epoch, each as a step of its own), so the
    dashboard's Media section shows them, one step per epoch, and
    ``Api().run(...).media("eval_data")`` reads them back. ``data_table_ref`` is the logged
    data table itself (W&B's is a reference into its artifact, read the same way).
    """

    def __init__(
        self,
        data_table_columns: list[str],
        pred_table_columns: list[str],
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.data_table_columns = list(data_table_columns)
        self.pred_table_columns = list(pred_table_columns)
        self.data_table: Any = None
        self.pred_table: Any = None
        self.data_table_ref: Any = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.init_data_table(column_names=self.data_table_columns)
        self.add_ground_truth(logs)
        self.log_data_table()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.init_pred_table(column_names=self.pred_table_columns)
        self.add_model_predictions(epoch, logs)
        self.log_pred_table()

    def add_ground_truth(self, logs: dict[str, Any] | None = None) -> None:
        """Fill ``self.data_table`` (W&B's callback makes this abstract)."""
        raise NotImplementedError(
            f"{type(self).__name__} must define add_ground_truth(self, logs=None)"
        )

    def add_model_predictions(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Fill ``self.pred_table`` (W&B's callback makes this abstract)."""
        raise NotImplementedError(
            f"{type(self).__name__} must define add_model_predictions(self, epoch, logs=None)"
        )

    def init_data_table(self, column_names: list[str]) -> None:
        from nbtrack.media import Table

        self.data_table = Table(columns=column_names, allow_mixed_types=True)

    def init_pred_table(self, column_names: list[str]) -> None:
        from nbtrack.media import Table

        self.pred_table = Table(columns=column_names)

    def log_data_table(
        self, name: str = "val", type: str = "dataset", table_name: str = "val_data"
    ) -> None:
        del name, type
        _common.active_run("WandbEvalCallback").log({table_name: self.data_table})
        self.data_table_ref = self.data_table

    def log_pred_table(
        self,
        type: str = "evaluation",
        table_name: str = "eval_data",
        aliases: list[str] | None = None,
    ) -> None:
        del type, aliases
        _common.active_run("WandbEvalCallback").log({table_name: self.pred_table})


EvalTableLogger = WandbEvalCallback
WandbMetricsLogger = MetricsLogger
WandbModelCheckpoint = ModelCheckpoint

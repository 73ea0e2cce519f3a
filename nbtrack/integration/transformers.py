"""A Hugging Face `TrainerCallback` that logs to nbtrack: HF's `WandbCallback`, same behaviour.

>>> from transformers import Trainer, TrainingArguments
>>> from nbtrack.integration.transformers import Callback    # also WandbCallback, NbtrackCallback
>>> args = TrainingArguments("out", run_name="bert-lr-3e-5", logging_steps=10, report_to="none")
>>> Trainer(model=model, args=args, train_dataset=ds, callbacks=[Callback()]).train()
>>> import nbtrack; nbtrack.finish()

When training begins it starts a run (unless one is active) in the project
``NBTRACK_PROJECT`` or ``WANDB_PROJECT`` (default ``"huggingface"``), named
``args.run_name``, with the TrainingArguments and the model's config as its config and
``model/num_parameters``. Every log of the Trainer is logged as HF's callback does:
``loss`` as ``train/loss``, ``eval_loss`` as ``eval/loss``, ``test_*`` as ``test/*``, with
``train/global_step``, the step every metric is drawn against; the end-of-training totals
(``train_runtime``, ``train_loss``, ``total_flos``, ...) go to the summary.
``NBTRACK_LOG_MODEL`` / ``WANDB_LOG_MODEL``: ``"end"`` logs the trained model as the
``"model"`` artifact ``model-<run name>`` when training ends, ``"checkpoint"`` each
checkpoint the Trainer saves. ``NBTRACK_WATCH`` / ``WANDB_WATCH``: ``"gradients"``,
``"parameters"`` or ``"all"`` watches the model. As HF's, it leaves the run open when
training ends (``nbtrack.finish()`` ends it; so does the end of the process).

With ``report_to="wandb"``, transformers' own WandbCallback runs on nbtrack once
``nbtrack.alias_wandb()`` made ``import wandb`` resolve to nbtrack.
"""

from __future__ import annotations

import numbers
import os
import tempfile
from pathlib import Path
from typing import Any

from nbtrack.integration import _common

_common.import_framework("transformers")

from transformers import TrainerCallback  # noqa: E402 (after the check that names the package)

__all__ = ["Callback", "NbtrackCallback", "WandbCallback", "rewrite_logs"]

# The Trainer's totals at the end of training: summary entries, not points of a series.
SINGLE_VALUE_SCALARS = (
    "train_runtime",
    "train_samples_per_second",
    "train_steps_per_second",
    "train_loss",
    "total_flos",
)
_LOG_MODEL = ("end", "checkpoint", "false")
_WATCH = ("gradients", "parameters", "all")


def rewrite_logs(d: dict[str, Any]) -> dict[str, Any]:
    """HF's key names: ``eval_x`` -> ``eval/x``, ``test_x`` -> ``test/x``, else ``train/x``.

    >>> rewrite_logs({"loss": 0.5, "eval_loss": 0.6})
    {'train/loss': 0.5, 'eval/loss': 0.6}
    """
    out: dict[str, Any] = {}
    for k, v in d.items():
        if k.startswith("eval_"):
            out["eval/" + k[len("eval_") :]] = v
        elif k.startswith("test_"):
            out["test/" + k[len("test_") :]] = v
        else:
            out["train/" + k] = v
    return out


def _setting(name: str, default: str) -> str:
    """``NBTRACK_<name>``, else ``WANDB_<name>``, else `default` (lower case)."""
    value = os.environ.get(f"NBTRACK_{name}") or os.environ.get(f"WANDB_{name}") or default
    return value.strip().lower()


def _log_model_setting() -> str:
    value = _setting("LOG_MODEL", "false")
    if value in ("true", "1", "yes"):
        return "end"  # what transformers before 4.33 did with WANDB_LOG_MODEL=true
    if value in ("", "0", "no", "none"):
        return "false"
    if value not in _LOG_MODEL:
        _common.termwarn(
            f"unrecognized WANDB_LOG_MODEL / NBTRACK_LOG_MODEL value {value!r} (expected "
            "'end', 'checkpoint' or 'false'): models are not logged"
        )
        return "false"
    return value


def _numbers_of(summary: Any) -> dict[str, Any]:
    return {
        k: v
        for k, v in dict(summary.items()).items()
        if isinstance(v, numbers.Number) and not k.startswith("_")
    }


class Callback(TrainerCallback):
    """Log a Hugging Face Trainer's metrics to nbtrack: HF's `WandbCallback` (see the module).

    >>> trainer = Trainer(model, args, train_dataset=ds, callbacks=[Callback()])
    """

    def __init__(self) -> None:
        self._initialized = False
        self._log_model = _log_model_setting()
        self._run: Any = None

    def _model_name(self, args: Any) -> str:
        run = self._run
        if args.run_name is None or args.run_name == args.output_dir:
            return f"model-{run.id}"
        return f"model-{run.name}"

    def setup(self, args: Any, state: Any, model: Any, **kwargs: Any) -> None:
        """Start the run (or take the active one) and record the config; called once, when
        training begins. Subclass and override it to change how the run starts."""
        del kwargs
        self._initialized = True
        if not state.is_world_process_zero:
            return
        import nbtrack

        combined = {**args.to_dict()}
        if getattr(model, "config", None) is not None:
            model_config = (
                model.config if isinstance(model.config, dict) else model.config.to_dict()
            )
            combined = {**model_config, **combined}
        if getattr(model, "peft_config", None) is not None:
            combined = {"peft_config": model.peft_config, **combined}
        init_args: dict[str, Any] = {}
        if state.trial_name is not None:
            init_args["name"] = state.trial_name
            init_args["group"] = args.run_name or args.output_dir
        elif args.run_name is not None:
            init_args["name"] = args.run_name
            if args.run_name == args.output_dir:
                _common.termwarn(
                    "The `run_name` is currently set to the same value as "
                    "`TrainingArguments.output_dir`. If this was not intended, please specify "
                    "a different run name by setting the `TrainingArguments.run_name` parameter."
                )
        run = _common.current_run()
        if run is None:
            project = (
                os.environ.get("NBTRACK_PROJECT")
                or os.environ.get("WANDB_PROJECT")
                or "huggingface"
            )
            run = nbtrack.init(project=project, **init_args)
        self._run = run
        run.config.update(_common.config_value(combined), allow_val_change=True)
        _common.define_metric(run, "train/global_step")
        _common.define_metric(run, "*", step_metric="train/global_step", step_sync=True)
        watch = _setting("WATCH", "false")
        if watch in _WATCH:
            run.watch(model, log=watch, log_freq=max(100, state.logging_steps))
        num_parameters = getattr(model, "num_parameters", None)
        if callable(num_parameters):
            run.config["model/num_parameters"] = int(num_parameters())
        if self._log_model in ("end", "checkpoint"):
            with tempfile.TemporaryDirectory() as temp_dir:
                _save_architecture(model, temp_dir)
                _common.log_artifact(
                    run,
                    self._model_name(args),
                    "model",
                    files=[(p, None) for p in sorted(Path(temp_dir).iterdir()) if p.is_file()],
                    aliases=["base_model"],
                    metadata={
                        "model_config": _common.config_value(model.config.to_dict())
                        if getattr(model, "config", None) is not None
                        else None,
                        "num_parameters": run.config.get("model/num_parameters"),
                        "initial_model": True,
                    },
                )

    def on_train_begin(
        self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any
    ) -> None:
        if state.is_hyper_param_search:
            # A trial of a hyperparameter search: a run of its own.
            if self._run is not None:
                self._run.finish()
            self._run = None
            self._initialized = False
            args.run_name = None
        if not self._initialized:
            self.setup(args, state, model, **kwargs)

    def on_train_end(
        self,
        args: Any,
        state: Any,
        control: Any,
        model: Any = None,
        processing_class: Any = None,
        **kwargs: Any,
    ) -> None:
        if self._log_model != "end" or not self._initialized or not state.is_world_process_zero:
            return
        run = self._run
        if args.load_best_model_at_end:
            metadata: dict[str, Any] = {
                f"eval/{args.metric_for_best_model}": state.best_metric,
                "train/total_floss": state.total_flos,
                "model/num_parameters": run.config.get("model/num_parameters"),
            }
        else:
            metadata = _numbers_of(run.summary)
        metadata["final_model"] = True
        with tempfile.TemporaryDirectory() as temp_dir:
            _save_model(model, processing_class, args, temp_dir)
            _save_architecture(model, temp_dir)
            _common.log_artifact(
                run,
                self._model_name(args),
                "model",
                files=[(p, None) for p in sorted(Path(temp_dir).iterdir()) if p.is_file()],
                aliases=["final_model"],
                metadata=metadata,
            )

    def on_log(
        self,
        args: Any,
        state: Any,
        control: Any,
        model: Any = None,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not self._initialized:
            self.setup(args, state, model)
        if not state.is_world_process_zero:
            return
        logs = dict(logs or {})
        run = self._current()
        for k, v in logs.items():
            if k in SINGLE_VALUE_SCALARS:
                run.summary[k] = v
        series = rewrite_logs({k: v for k, v in logs.items() if k not in SINGLE_VALUE_SCALARS})
        run.log({**series, "train/global_step": state.global_step})

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._log_model != "checkpoint" or not self._initialized:
            return
        if not state.is_world_process_zero:
            return
        run = self._current()
        metadata = _numbers_of(run.summary)
        metadata["model/num_parameters"] = run.config.get("model/num_parameters")
        folder = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
        _common.log_artifact(
            run,
            self._model_name(args),
            "model",
            dirs=[folder],
            aliases=[
                f"epoch_{round(state.epoch, 2)}",
                f"checkpoint_global_step_{state.global_step}",
            ],
            metadata=metadata,
        )

    def on_predict(
        self, args: Any, state: Any, control: Any, metrics: dict[str, Any], **kwargs: Any
    ) -> None:
        if not self._initialized:
            self.setup(args, state, kwargs.get("model"))
        if state.is_world_process_zero:
            self._current().log(rewrite_logs(dict(metrics)))

    def _current(self) -> Any:
        # The run setup() took, while it is the current one; else the current run (W&B's
        # callback logs to whatever wandb.run is).
        current = _common.current_run()
        if current is not None:
            return current
        return _common.active_run("the Trainer's logging (the run was finished)")


def _save_architecture(model: Any, folder: str) -> None:
    """The model's printed form, as HF's callback saves it (``model_architecture.txt``)."""
    with open(os.path.join(folder, "model_architecture.txt"), "w", encoding="utf-8") as f:
        print(model, file=f)


def _save_model(model: Any, processing_class: Any, args: Any, folder: str) -> None:
    """What ``Trainer.save_model`` writes: the weights and config, the tokenizer or
    processor, the training arguments."""
    import torch

    save_pretrained = getattr(model, "save_pretrained", None)
    if callable(save_pretrained):
        save_pretrained(folder)
    else:
        torch.save(model.state_dict(), os.path.join(folder, "pytorch_model.bin"))
    if processing_class is not None and hasattr(processing_class, "save_pretrained"):
        processing_class.save_pretrained(folder)
    torch.save(args, os.path.join(folder, "training_args.bin"))


WandbCallback = Callback
NbtrackCallback = Callback

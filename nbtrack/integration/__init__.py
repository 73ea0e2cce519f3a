"""Callbacks and loggers for training frameworks: Keras 3, Lightning, Hugging Face Trainer.

>>> from nbtrack.integration.keras import MetricsLogger          # W&B's WandbMetricsLogger
>>> from nbtrack.integration.lightning import Logger             # W&B's WandbLogger
>>> from nbtrack.integration.transformers import Callback        # HF's WandbCallback

Each submodule imports its framework when it is loaded, and only then: importing this
package imports none of them, so ``import nbtrack as wandb; wandb.integration.keras`` costs
nothing until it is used. A framework that is not installed is an ImportError that names
the pip package to install.

The W&B names answer too: ``wandb.integration.keras.WandbMetricsLogger``,
``wandb.integration.lightning.WandbLogger``, ``wandb.integration.transformers.WandbCallback``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["keras", "lightning", "pytorch_lightning", "transformers"]

# Submodule -> (the framework's import name, its pip package): for the error when it is missing.
FRAMEWORKS: dict[str, tuple[str, str]] = {
    "keras": ("keras", "keras>=3.0"),
    "lightning": ("lightning", "lightning>=2.1"),
    "pytorch_lightning": ("pytorch_lightning", "pytorch-lightning>=2.1"),
    "transformers": ("transformers", "transformers>=4.40 accelerate>=0.26"),
}


def __getattr__(name: str) -> ModuleType:
    if name in FRAMEWORKS:
        # importlib sets the attribute on this package: the next access does not come here.
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

"""A Lightning logger that logs to nbtrack: W&B's `WandbLogger`, same arguments.

>>> import lightning.pytorch as L
>>> from nbtrack.integration.lightning import Logger      # also WandbLogger, NbtrackLogger
>>> trainer = L.Trainer(logger=Logger(project="mnist-lightning"), max_epochs=2)
>>> trainer.fit(model, train_loader, val_loader)
>>> import nbtrack; nbtrack.finish()

Built on ``lightning.pytorch``; where only the older ``pytorch_lightning`` package is
installed, on that one (`nbtrack.integration.pytorch_lightning` is always the latter).
"""

from __future__ import annotations

import importlib.util

from nbtrack.integration import _common
from nbtrack.integration._lightning import make_logger

__all__ = ["Logger", "NbtrackLogger", "WandbLogger"]

if importlib.util.find_spec("lightning") is None and importlib.util.find_spec("pytorch_lightning"):
    _common.import_framework("pytorch_lightning")
    Logger = make_logger("pytorch_lightning", "lightning_fabric")
else:
    _common.import_framework("lightning")
    Logger = make_logger("lightning.pytorch", "lightning.fabric")

WandbLogger = Logger
NbtrackLogger = Logger

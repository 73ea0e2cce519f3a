"""The Lightning logger for the standalone ``pytorch_lightning`` package (a Trainer of that
package takes loggers of its own `Logger` class only): see `nbtrack.integration.lightning`.

>>> import pytorch_lightning as pl
>>> from nbtrack.integration.pytorch_lightning import WandbLogger
>>> pl.Trainer(logger=WandbLogger(project="mnist"), max_epochs=2).fit(model, loader)
"""

from __future__ import annotations

from nbtrack.integration import _common
from nbtrack.integration._lightning import make_logger

__all__ = ["Logger", "NbtrackLogger", "WandbLogger"]

_common.import_framework("pytorch_lightning")
Logger = make_logger("pytorch_lightning", "lightning_fabric")
WandbLogger = Logger
NbtrackLogger = Logger

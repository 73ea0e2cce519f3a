"""Sweeps: W&B's hyperparameter search, run locally by `agent` in one or more processes.

>>> sweep_id = nbtrack.sweep({
...     "method": "random",
...     "metric": {"name": "val/loss", "goal": "minimize"},
...     "parameters": {"lr": {"min": 1e-4, "max": 1e-1}, "layers": {"values": [2, 3, 4]}},
... }, project="mnist")
>>> def train():
...     with nbtrack.init() as run:          # run.config holds the trial's lr and layers
...         run.log({"val/loss": fit(run.config.lr, run.config.layers)})
>>> nbtrack.agent(sweep_id, function=train, count=8)

Each trial is a run of the project with its sweep id (``run.sweep_id``); the sweep itself is
a file of the store, ``<store>/sweeps/<project>/<id>.json`` (`load_sweep` reads it back).
Methods grid, random and bayes (a Gaussian process with expected improvement), hyperband
early termination, ``run_cap``, and nested parameters, as W&B's sweep configuration has them.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from nbtrack.sweeps._params import SweepConfigError

if TYPE_CHECKING:
    from nbtrack.sweeps._agent import EarlyTerminated, Trial, agent
    from nbtrack.sweeps._store import SweepNotFoundError
    from nbtrack.sweeps._sweep import SweepRecord, load_sweep, sweep

__all__ = [
    "EarlyTerminated",
    "SweepConfigError",
    "SweepNotFoundError",
    "SweepRecord",
    "Trial",
    "active_trial",
    "agent",
    "controller",
    "load_sweep",
    "sweep",
]

_LAZY = {
    "agent": "nbtrack.sweeps._agent",
    "EarlyTerminated": "nbtrack.sweeps._agent",
    "Trial": "nbtrack.sweeps._agent",
    "SweepNotFoundError": "nbtrack.sweeps._store",
    "SweepRecord": "nbtrack.sweeps._sweep",
    "load_sweep": "nbtrack.sweeps._sweep",
    "sweep": "nbtrack.sweeps._sweep",
}


def active_trial() -> Trial | None:
    """The sweep trial whose function runs now, or None: what `nbtrack.init()` reads.

    Cheap when no agent runs: the agent's module is not even imported then.
    """
    agent_module = sys.modules.get("nbtrack.sweeps._agent")
    if agent_module is None:
        return None
    trial: Trial | None = agent_module.active_trial()
    return trial


def controller(
    sweep_id_or_config: Any = None, entity: str | None = None, project: str | None = None
) -> _Controller:
    """W&B's local controller: not needed here (each agent picks its trials itself).

    Returns an object whose ``run()``, ``step()`` and ``done()`` do nothing, after one
    warning, so a script written for W&B's local controller goes on to its agent.
    """
    from nbtrack import _compat

    del sweep_id_or_config, entity, project
    _compat.unsupported(
        "wandb.controller", "each nbtrack.agent picks its trials itself; there is nothing to run"
    )
    return _Controller()


class _Controller:
    def run(self, *args: Any, **kwargs: Any) -> None:
        del args, kwargs

    def step(self) -> None:
        pass

    def done(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        # configure_search, configure_stopping, print_status...: all accepted, all no-ops.
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: None


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nbtrack.sweeps' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)

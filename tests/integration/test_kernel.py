"""A Keras fit in a real kernel: the dashboard in the cell receives the batches while the fit
runs, not only when it ends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.kernel_helpers import WIDGET_VIEW, kernel

pytest.importorskip("keras")

BATCHES = 10  # an epoch; 2 epochs

CODE = f"""
import os
os.environ.setdefault("KERAS_BACKEND", "torch")
import time
import numpy as np
import keras
import nbtrack
from nbtrack.integration.keras import MetricsLogger

run = nbtrack.init(project="live-keras", name="fit")

class Slow(keras.callbacks.Callback):
    # A batch of a real model takes a while: here 50 ms, so the fit spans a few ticks.
    def on_train_batch_end(self, batch, logs=None):
        time.sleep(0.05)

    def on_train_end(self, logs=None):
        print("FIT-ENDED", flush=True)

x = np.random.default_rng(0).random((8 * {BATCHES}, 4), dtype=np.float32)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.fit(x, x.sum(axis=1, keepdims=True), batch_size=8, epochs=2, verbose=0,
          callbacks=[MetricsLogger(log_freq="batch"), Slow()])
run.finish()
"""


def _batch_points(msg: dict[str, Any], model_id: str) -> int:
    """How many ``batch/loss`` points one IOPub message sends the dashboard `model_id`."""
    c = msg["content"]
    if msg["msg_type"] != "comm_msg" or c.get("comm_id") != model_id:
        return 0
    data = c["data"]
    if data.get("method") != "custom" or data["content"].get("type") != "points":
        return 0
    return sum(int(e["n"]) for e in data["content"]["series"] if e["key"] == "batch/loss")


@pytest.mark.kernel
def test_a_keras_fit_reaches_the_dashboard_while_it_runs(tmp_path: Path, store_dir: Path) -> None:
    with kernel(tmp_path, store_dir) as k:
        ex = k.run(CODE, timeout=300)
    assert ex.status == "ok", ex.text()
    shown = [
        m["content"]["data"][WIDGET_VIEW]["model_id"]
        for m in ex.iopub
        if m["msg_type"] == "display_data" and WIDGET_VIEW in m["content"]["data"]
    ]
    assert len(shown) == 1, shown
    model_id = shown[0]
    ended = next(
        i
        for i, m in enumerate(ex.iopub)
        if m["msg_type"] == "stream" and "FIT-ENDED" in m["content"]["text"]
    )
    before = [n for m in ex.iopub[:ended] if (n := _batch_points(m, model_id))]
    total = sum(_batch_points(m, model_id) for m in ex.iopub)
    assert total == 2 * BATCHES
    # While fit() ran: several messages of new points (about one a tick), and most batches.
    assert len(before) >= 3, before
    assert sum(before) >= BATCHES, before

"""The demo: a small CNN trained on a Fashion-MNIST-like data set made on the spot.

No download: `make_data` draws ten classes of 28x28 grayscale "garments" (simple shapes
with random placement, size, stroke and noise), hard enough that accuracy climbs over a few
epochs rather than jumping to 100 %. Needs torch (``pip install torch``).

>>> import nbtrack, nbtrack.demo as demo
>>> run = nbtrack.init(project="demo", config=demo.DEFAULTS)
>>> demo.train(run)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

CLASSES = (
    "t-shirt", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle boot",
)  # fmt: skip

DEFAULTS: dict[str, Any] = {
    "epochs": 4,
    "batch_size": 64,
    "lr": 2e-3,
    "train_size": 6000,
    "val_size": 1000,
    "noise": 0.35,
    "seed": 0,
}


def _shape(cls: int, rng: np.random.Generator) -> np.ndarray[Any, np.dtype[np.float32]]:
    """One 28x28 image of class `cls`: a coarse silhouette, jittered."""
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float32)
    cx, cy = 14 + rng.normal(0, 1.5), 14 + rng.normal(0, 1.5)
    s = rng.uniform(0.8, 1.15)
    x, y = (xx - cx) / s, (yy - cy) / s
    if cls == 0:  # t-shirt: torso plus short sleeves
        m = ((abs(x) < 6) & (abs(y) < 9)) | ((abs(x) < 11) & (y > -9) & (y < -4))
    elif cls == 1:  # trouser: two legs
        m = (abs(y) < 11) & (abs(x) < 6) & ~((abs(x) < 1.2) & (y > -5))
    elif cls == 2:  # pullover: torso plus long sleeves
        m = ((abs(x) < 6) & (abs(y) < 9)) | ((abs(x) < 11) & (abs(x) > 6) & (y > -9) & (y < 6))
    elif cls == 3:  # dress: a trapezoid
        m = (abs(y) < 11) & (abs(x) < 3 + (y + 11) * 0.3)
    elif cls == 4:  # coat: long sleeves plus an opening
        m = ((abs(x) < 7) & (abs(y) < 11)) | ((abs(x) < 11) & (y > -11) & (y < 8))
        m &= ~((abs(x) < 0.8) & (y > -6))
    elif cls == 5:  # sandal: straps
        m = (y > 2) & (y < 6) & (abs(x) < 11) | ((abs(x % 5 - 2.5) < 0.8) & (y > -3) & (y < 6))
    elif cls == 6:  # shirt: torso, sleeves and a collar
        m = ((abs(x) < 6) & (abs(y) < 10)) | ((abs(x) < 10) & (y > -10) & (y < 0))
        m &= ~((abs(x) < 2) & (y < -7))
    elif cls == 7:  # sneaker: a low wedge
        m = (y > 0) & (y < 6) & (abs(x) < 11) & (y > -x * 0.5 - 2)
    elif cls == 8:  # bag: a box with a handle
        m = ((abs(x) < 9) & (y > -3) & (y < 9)) | ((abs(np.hypot(x, y + 3) - 5) < 1) & (y < -3))
    else:  # ankle boot: an L
        m = ((x > -9) & (x < 0) & (y > -9) & (y < 6)) | ((x > -9) & (x < 10) & (y > 1) & (y < 6))
    img: np.ndarray[Any, np.dtype[np.float32]] = m.astype(np.float32)
    img *= np.float32(rng.uniform(0.6, 1.0))
    return img


def make_data(
    n: int, noise: float = 0.35, seed: int = 0
) -> tuple[np.ndarray[Any, np.dtype[np.float32]], np.ndarray[Any, np.dtype[np.int64]]]:
    """`n` images of shape (1, 28, 28) in [0, 1] and their labels 0..9."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n)
    images = np.stack([_shape(int(c), rng) for c in labels])
    images += np.asarray(rng.normal(0, noise, size=images.shape), dtype=np.float32)
    # Occlusion: a random patch blanked out, so some images are genuinely ambiguous.
    for img in images:
        r, c = rng.integers(0, 20, size=2)
        img[r : r + 8, c : c + 8] = 0
    return np.clip(images, 0, 1)[:, None].astype(np.float32), labels.astype(np.int64)


def _model_class() -> Any:
    import torch.nn as nn
    import torch.nn.functional as F

    class FashionCNN(nn.Module):
        """Two conv and three linear layers, as in the classic PyTorch tutorial."""

        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 4 * 4, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x: Any) -> Any:
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = x.flatten(1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    return FashionCNN


def __getattr__(name: str) -> Any:
    # `nbtrack.demo.FashionCNN` without importing torch when the module is imported.
    if name == "FashionCNN":
        return _model_class()
    raise AttributeError(name)


def _predictions(out: Any, x_val: Any, y_val: Any) -> dict[str, Any]:
    """The epoch's media: a table of predictions on the first validation images, and the
    confusion matrix of all of them."""
    import nbtrack

    probs = out.softmax(1)
    score, pred = probs.max(1)
    table = nbtrack.Table(columns=["image", "label", "prediction", "score"])
    for i in range(min(TABLE_ROWS, len(x_val))):
        table.add_data(
            nbtrack.Image(x_val[i, 0].numpy()),
            CLASSES[int(y_val[i])],
            CLASSES[int(pred[i])],
            round(float(score[i]), 3),
        )
    confusion = nbtrack.plot.confusion_matrix(
        y_true=y_val.tolist(), preds=pred.tolist(), class_names=list(CLASSES)
    )
    return {"val/predictions": table, "val/confusion": confusion}


@dataclass
class Result:
    val_acc: float
    val_loss: float
    steps: int


# How many validation images the demo's predictions table shows each epoch.
TABLE_ROWS = 32


def train(run: Any, model: Any = None, *, media: bool = True, **overrides: Any) -> Result:
    """Train the demo CNN, logging to `run` every batch (train) and every epoch (val).

    Each epoch also logs, unless ``media=False``, a table of the first `TABLE_ROWS`
    validation images with their label, the model's prediction and its score
    (``val/predictions``), and the confusion matrix of the whole validation set
    (``val/confusion``), as W&B's tutorials do. Hyperparameters come from ``run.config``
    (missing ones from `DEFAULTS`), then `overrides`.
    """
    import torch
    import torch.nn.functional as F

    cfg = {**DEFAULTS, **{k: run.config[k] for k in DEFAULTS if k in run.config}, **overrides}
    run.config.setdefaults(cfg)
    torch.manual_seed(cfg["seed"])
    xs, ys = make_data(cfg["train_size"] + cfg["val_size"], cfg["noise"], cfg["seed"])
    x_train, y_train = (
        torch.from_numpy(xs[: cfg["train_size"]]),
        torch.from_numpy(ys[: cfg["train_size"]]),
    )
    x_val, y_val = (
        torch.from_numpy(xs[cfg["train_size"] :]),
        torch.from_numpy(ys[cfg["train_size"] :]),
    )
    model = model if model is not None else _model_class()()
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    bs = cfg["batch_size"]
    steps = 0
    val_loss = val_acc = float("nan")
    for epoch in range(cfg["epochs"]):
        model.train()
        perm = torch.randperm(len(x_train))
        for i in range(0, len(x_train), bs):
            idx = perm[i : i + bs]
            out = model(x_train[idx])
            loss = F.cross_entropy(out, y_train[idx])
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]  # torch leaves it untyped
            opt.step()
            acc = (out.argmax(1) == y_train[idx]).float().mean()
            run.log(
                {
                    "epoch": epoch + i / len(x_train),
                    "train/loss": loss.detach(),
                    "train/acc": acc,
                }
            )
            steps += 1
        model.eval()
        with torch.no_grad():
            out = model(x_val)
            val_loss = float(F.cross_entropy(out, y_val))
            val_acc = float((out.argmax(1) == y_val).float().mean())
        logged: dict[str, Any] = {"epoch": epoch + 1.0, "val/loss": val_loss, "val/acc": val_acc}
        if media:
            logged.update(_predictions(out, x_val, y_val))
        run.log(logged)
    run.summary["best_val_acc"] = val_acc
    return Result(val_acc=val_acc, val_loss=val_loss, steps=steps)

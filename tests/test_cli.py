"""The `nbtrack` command as a user runs it, in a subprocess."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import nbtrack
from tests.helpers import PYTHON, child_env


def nbtrack_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "nbtrack.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=child_env(),
        timeout=300,
    )


def test_demo_then_runs_lists_it(tmp_path: Path, store_dir: Path) -> None:
    pytest.importorskip("torch")
    out = nbtrack_cli("demo", "--epochs", "1", "--project", "cli-demo", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "val/acc" in out.stdout and "nbtrack runs cli-demo" in out.stdout

    with nbtrack.Api(store_dir) as api:
        (rec,) = api.runs("cli-demo")
        keys = set(rec.keys())
        # The demo's media: a table of predictions and a confusion matrix each epoch.
        assert rec.media_keys() == {"val/predictions": "table", "val/confusion": "plot"}
        ((_, table),) = rec.media("val/predictions", pandas=False)
        ((_, confusion),) = rec.media("val/confusion")
    assert list(table) == ["image", "label", "prediction", "score"] and len(table["label"]) == 32
    assert table["image"][0].numpy().shape == (28, 28)
    assert confusion.plot == "confusion_matrix"
    assert rec.state == "finished"
    assert rec.config["epochs"] == 1 and rec.config["lr"] == 2e-3
    assert {"train/loss", "train/acc", "val/loss", "val/acc", "epoch"} <= keys
    assert rec.summary["val/acc"] > 0.3  # it learned something on the generated images

    table = nbtrack_cli("runs", "cli-demo", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    header, line = table.stdout.strip().splitlines()
    for column in ("NAME", "STATE", "STEPS", "val/acc", "val/loss"):
        assert column in header
    assert rec.name in line and "finished" in line
    assert f"{rec.summary['val/acc']:.4g}" in line


def test_runs_without_a_store_says_so(tmp_path: Path) -> None:
    out = nbtrack_cli("--dir", str(tmp_path / "none"), "runs", cwd=tmp_path)
    assert out.returncode == 1
    assert f"no nbtrack store at {tmp_path / 'none'}" in out.stderr
    assert not (tmp_path / "none").exists()  # a read creates nothing


def test_runs_of_a_project_the_store_lacks_names_the_ones_it_has(
    tmp_path: Path, store_dir: Path
) -> None:
    with nbtrack.init(project="kept", display=False) as run:
        run.log({"a": 1.0})
    out = nbtrack_cli("runs", "kpet", cwd=tmp_path)
    assert out.returncode == 1
    assert "'kpet'" in out.stderr and "'kept'" in out.stderr

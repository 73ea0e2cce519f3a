"""Every notebook in example_notebooks/ runs top to bottom in a real kernel (nbclient), and
what it stored is what it says; the quickstart also runs in a Colab-like kernel."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import nbtrack
from tests.helpers import REPO
from tests.kernel_helpers import WIDGET_VIEW, colab_python, write_kernelspec

NOTEBOOKS = sorted((REPO / "example_notebooks").glob("*.ipynb"))
QUICKSTART = REPO / "example_notebooks" / "01_quickstart.ipynb"


def execute(
    path: Path, tmp: Path, store: Path, python: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """Run the notebook in a kernel of `python`, in `tmp`, storing runs in `store`.

    The kernel is registered as a kernelspec in a temporary JUPYTER_PATH, as a user's
    would be, and nbclient starts and stops it.
    """
    import nbformat
    from nbclient import NotebookClient

    specs = tmp / "jupyter"
    spec = write_kernelspec(
        specs / "kernels", python, name, env={"NBTRACK_DIR": str(store), "PYTHONPATH": str(REPO)}
    )
    monkeypatch.setenv("JUPYTER_PATH", str(specs))
    nb = nbformat.read(path, as_version=4)
    # A cell's limit, generous: the suite runs on two workers, and a training cell beside a
    # browser test on two cores takes several times what it takes alone.
    client = NotebookClient(
        nb, kernel_name=spec, timeout=600, resources={"metadata": {"path": str(tmp)}}
    )
    client.execute()
    nbformat.write(nb, tmp / path.name)
    return nb


def widget_outputs(cell: Any) -> list[str]:
    """The model ids of the widgets a code cell's outputs show, in order."""
    return [
        o["data"][WIDGET_VIEW]["model_id"]
        for o in cell.get("outputs", [])
        if o.get("output_type") in ("display_data", "execute_result") and WIDGET_VIEW in o["data"]
    ]


def cell_with(nb: Any, text: str) -> Any:
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and text in c.source]
    return cell


@pytest.mark.kernel
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(
    path: Path, tmp_path: Path, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = execute(path, tmp_path, store_dir, sys.executable, "nbtrack-test", monkeypatch)
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert errors == []
    with nbtrack.Api(store_dir) as api:
        runs = api.runs()
        assert runs, "the notebook stored no run"
        assert {r.state for r in runs} == {"finished"}
    if path == QUICKSTART:
        check_quickstart(nb, store_dir)


def check_quickstart(nb: Any, store: Path) -> None:
    """What the quickstart says it does: two runs of the CNN, each with its dashboard."""
    with nbtrack.Api(store) as api:
        base, higher = api.runs("quickstart")
        assert (base.name, higher.name) == ("cnn-baseline", "higher-lr")
        assert base.tags == higher.tags == ["cnn", "demo"]
        assert base.config["epochs"] == 4
        assert (higher.config["lr"], higher.config["epochs"]) == (0.005, 2)
        batches = -(-3000 // 64)  # batches per epoch: the last one is partial
        for run, epochs in ((base, 4), (higher, 2)):
            h = run.history()
            assert run.last_step + 1 == len(h["_step"])
            assert (~_isnan(h["train/loss"])).sum() == epochs * (
                batches if run is base else -(-2000 // 64)
            )
            assert (~_isnan(h["val/acc"])).sum() == epochs
            # The CNN learns: better than chance (0.1) on ten classes.
            assert run.summary["val/acc"] > 0.3
        assert base.summary["best_val_acc"] == base.summary["val/acc"]
    # Each training cell shows its dashboard first; show() draws one more.
    init_cell = cell_with(nb, "nbtrack.init(")
    assert WIDGET_VIEW in init_cell.outputs[0]["data"]
    magic_cell = cell_with(nb, "%%nbtrack")
    assert WIDGET_VIEW in magic_cell.outputs[0]["data"]
    assert len(widget_outputs(cell_with(nb, "nbtrack.show("))) == 1
    table = "".join(o.get("text", "") for o in cell_with(nb, "%nbtrack runs").outputs)
    assert "cnn-baseline" in table and "higher-lr" in table
    # The saved notebook keeps each dashboard's small state, never the run's data or BokehJS.
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    models = state.get("state", {})
    dashboards = [m for m in models.values() if m["state"].get("run_id")]
    assert {m["state"]["run_id"] for m in dashboards} == {base.id, higher.id}
    for m in dashboards:
        small = {k: v for k, v in m["state"].items() if k != "_esm"}
        assert len(json.dumps(small)) < 2_000


def _isnan(a: Any) -> Any:
    import numpy as np

    return np.isnan(a)


@pytest.mark.kernel
def test_quickstart_in_colab_like_kernel(
    tmp_path: Path, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """anywidget 0.9.21, ipywidgets 7.7.1, ipykernel 6.17.1: what Colab preinstalls."""
    python = colab_python()
    versions = subprocess.run(
        [
            python,
            "-c",
            "import anywidget, ipywidgets, ipykernel; "
            "print(anywidget.__version__, ipywidgets.__version__, ipykernel.__version__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert versions == ["0.9.21", "7.7.1", "6.17.1"]
    nb = execute(QUICKSTART, tmp_path, store_dir, python, "nbtrack-colab", monkeypatch)
    check_quickstart(nb, store_dir)

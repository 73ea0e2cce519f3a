"""Must show 2 (Colab part, in a browser): the dashboard drawn by the widget stack Colab
preinstalls (anywidget 0.9.21, ipywidgets 7.7.1, ipykernel 6.17.1).

Colab's own front end cannot run here; the nearest one that can is the classic Notebook 6.5
with ipywidgets 7's widget manager and anywidget 0.9's front end, all from the Colab-like
venv that scripts/colab_env.sh makes. The dashboard's JS must work there unchanged: it
streams while the cell runs and holds every point at the end.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import check_grows_while_running, wait_points
from tests.browser.servers import free_port, serve_jupyter
from tests.helpers import child_env
from tests.kernel_helpers import colab_python

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STEPS = 150
CELL = f"""\
import time
import nbtrack
run = nbtrack.init(project="colab", name="classic")
for i in range({STEPS}):
    run.log({{"train/loss": 1 / (i + 1), "train/acc": i / {STEPS}}})
    time.sleep(0.04)
run.finish()
"""
# The classic notebook's prompt reads In [*] while the cell executes.
CLASSIC_PROMPT = ".cell .input_prompt"


@pytest.fixture
def classic(tmp_path: Path) -> Iterator[str]:
    """Notebook 6.5 from the Colab-like venv on 127.0.0.1; yields its URL."""
    python = colab_python()
    root = tmp_path / "notebooks"
    root.mkdir()
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, root / "colab.ipynb")
    port = free_port()
    env = child_env(
        NBTRACK_DIR=str(tmp_path / "store"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter" / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter" / "runtime"),
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter" / "data"),
    )
    log = tmp_path / "classic.log"
    cmd = [
        python, "-m", "notebook", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
        "--NotebookApp.token=", "--NotebookApp.password=",
        "--allow-root",  # containers often run tests as root
        f"--notebook-dir={root}",
    ]  # fmt: skip
    with serve_jupyter(cmd, port=port, cwd=root, env=env, log=log, what="notebook 6") as url:
        yield url


def test_dashboard_with_colabs_widget_stack(classic: str, page: Any, artifacts: Path) -> None:
    page.goto(f"{classic}/notebooks/colab.ipynb")
    page.wait_for_function(
        "() => window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel"
        " && Jupyter.notebook.kernel.is_connected()",
        timeout=60_000,
    )
    versions = page.evaluate(
        """() => new Promise((resolve) => {
          Jupyter.notebook.kernel.execute(
            "import anywidget, ipywidgets, ipykernel; print(anywidget.__version__,"
            + " ipywidgets.__version__, ipykernel.__version__)",
            { iopub: { output: (m) => resolve(m.content.text) } },
          );
        })"""
    )
    assert versions.split() == ["0.9.21", "7.7.1", "6.17.1"]
    page.evaluate("() => Jupyter.notebook.execute_all_cells()")

    check_grows_while_running(page, prompt=CLASSIC_PROMPT)

    page.wait_for_selector('.nbtrack-dashboard[data-state="finished"]', timeout=60_000)
    wait_points(page, f"=== {STEPS}", timeout=10_000)
    acc = page.get_attribute('.nbtrack-chart[data-metric="train/acc"]', "data-points")
    assert acc == str(STEPS)
    time.sleep(0.5)  # one more animation frame for the last points
    page.locator(".nbtrack-dashboard").screenshot(path=str(artifacts / "colab_like_dashboard.png"))
    assert not page.page_errors, "\n".join(page.page_errors)

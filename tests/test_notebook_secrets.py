"""Must show 7, second half: a notebook that logs in to a team server and syncs a run keeps
no API key in what it saves.

The notebook runs top to bottom in a real kernel (nbclient), logs in with the key from the
kernel's environment (``NBTRACK_API_KEY``) or, the user's choice, as a literal argument in a
cell, trains a synced run with its dashboard, and is saved with its widget state. The key
is then looked for in the whole file: nowhere, but for the literal variant's own source. It
is kept in the credentials file (0600, in a 0700 folder), and nowhere in the local store.
"""

from __future__ import annotations

import copy
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO
from tests.kernel_helpers import WIDGET_VIEW, write_kernelspec
from tests.server.servers import ServerProcess, sqlite_server_fixture

pytestmark = [pytest.mark.kernel, pytest.mark.server]

PROJECT = "secrets"
STEPS = 40
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

TRAIN = f"""\
import time
run = nbtrack.init(project="{PROJECT}", name="synced", config={{"lr": 0.01}})
for i in range({STEPS}):
    run.log({{"train/loss": 1.0 / (i + 1), "train/acc": i / {STEPS}}})
    time.sleep(0.02)
run.finish()
"""


# A running `nbtrack server` on its embedded SQLite database: tests/server's `sqlite_server`.
team_server = pytest.fixture(sqlite_server_fixture, name="team_server")


def secrets_of(key: str) -> list[str]:
    """The key, the key without its checksum (``nbk_`` and the random body), the body alone."""
    assert key.startswith("nbk_") and len(key) == 4 + 32 + 6, key
    return [key, key[:-6], key[4:-6]]


def leaks(text: str, key: str) -> list[str]:
    return [s for s in secrets_of(key) if s in text]


def execute(nb: Any, tmp: Path, store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run `nb` in this venv's kernel, as a registered kernelspec; its widget state kept."""
    from nbclient import NotebookClient

    specs = tmp / "jupyter"
    spec = write_kernelspec(
        specs / "kernels",
        sys.executable,
        "nbtrack-secrets",
        env={"NBTRACK_DIR": str(store), "PYTHONPATH": str(REPO)},
    )
    monkeypatch.setenv("JUPYTER_PATH", str(specs))
    client = NotebookClient(
        nb,
        kernel_name=spec,
        timeout=120,
        store_widget_state=True,
        resources={"metadata": {"path": str(tmp)}},
    )
    client.execute()


@pytest.mark.parametrize("how", ["environment", "argument"])
def test_a_saved_notebook_holds_no_api_key(
    how: str,
    team_server: ServerProcess,
    tmp_path: Path,
    store_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import nbformat

    user = team_server.create_user("grace")
    key = user.key
    # tests/conftest.py points NBTRACK_CONFIG_DIR at this test's own (not yet made) folder;
    # the kernel inherits it, and NBTRACK_API_KEY where this variant sets it.
    config = Path(os.environ["NBTRACK_CONFIG_DIR"])
    assert not config.exists()
    if how == "environment":
        monkeypatch.setenv("NBTRACK_API_KEY", key)
        login = f"import nbtrack\nnbtrack.login(host={team_server.url!r})"
    else:
        login = f"import nbtrack\nnbtrack.login(host={team_server.url!r}, key={key!r})"
    cells = [
        login,
        TRAIN,
        "run",  # its repr
        f'nbtrack.show(f"{PROJECT}/{{run.id}}")',  # the stored run's dashboard, too
        "import os\nprint(sorted(k for k in os.environ if k.startswith('NBTRACK_')))",
    ]
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    execute(nb, tmp_path, store_dir, monkeypatch)
    path = tmp_path / "secrets.ipynb"
    nbformat.write(nb, path)

    # It ran: no error, the key came the way this variant gives it, the run is on the server.
    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert errors == []
    printed = "".join(o.get("text", "") for o in nb.cells[4].outputs)
    assert ("'NBTRACK_API_KEY'" in printed) == (how == "environment"), printed
    models = nb.metadata["widgets"][WIDGET_STATE]["state"]
    dashboards = [m["state"] for m in models.values() if m["state"].get("run_id")]
    (run_id,) = {d["run_id"] for d in dashboards}
    assert len(dashboards) == 2  # init()'s and show()'s
    shown = [o for c in nb.cells for o in c.outputs if WIDGET_VIEW in o.get("data", {})]
    assert len(shown) == 2
    got = team_server.call("GET", f"/api/v1/runs/{user.name}/{PROJECT}/{run_id}", key=key)
    assert got.status_code == 200, got.text
    assert (got.json()["state"], got.json()["last_step"]) == ("finished", STEPS - 1)

    # The saved file: the key nowhere, but in the source of the cell that passes it.
    text = path.read_text(encoding="utf-8")
    saved = nbformat.reads(text, as_version=4)
    for cell in saved.cells:
        assert leaks(json.dumps(cell.outputs), key) == []
        assert leaks(json.dumps(cell.metadata), key) == []
    assert leaks(json.dumps(saved.metadata), key) == []
    assert leaks(json.dumps(saved.metadata["widgets"][WIDGET_STATE]), key) == []
    if how == "environment":
        assert leaks(text, key) == []
    else:
        assert key in saved.cells[0].source
        for secret in secrets_of(key):
            assert text.count(secret) == 1, secret
        blanked = copy.deepcopy(saved)
        blanked.cells[0].source = ""
        assert leaks(nbformat.writes(blanked), key) == []

    # Kept where it belongs: the credentials file, the owner's only.
    creds = config / "credentials.json"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.stat().st_mode) & 0o077 == 0
    kept = json.loads(creds.read_text(encoding="utf-8"))
    assert (kept["host"], kept["key"], kept["user"]) == (team_server.url, key, user.name)
    assert list(config.iterdir()) == [creds]  # no temp copy left behind
    # And nowhere in the local store, which the run's uploader reads from.
    files = [f for f in store_dir.rglob("*") if f.is_file()]
    assert files
    for f in files:
        data = f.read_bytes()
        assert [s for s in secrets_of(key) if s.encode() in data] == [], f

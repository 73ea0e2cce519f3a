"""The package's promises: a light import, a literal sorted __all__, versions in step."""

from __future__ import annotations

import ast
import json
import subprocess
from pathlib import Path

import nbtrack
from tests.helpers import PYTHON, REPO, child_env

HEAVY = ("torch", "bokeh", "fastapi", "sqlalchemy", "pandas", "anywidget", "ipywidgets", "uvicorn")
# What the server brings: a client that logs in and syncs needs none of it.
SERVER_DEPENDENCIES = (
    "fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "psycopg", "argon2", "pydantic",
    "multipart", "httpx",
)  # fmt: skip


def test_import_pulls_in_nothing_heavy() -> None:
    code = (
        "import sys, nbtrack\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "server = [m for m in sys.modules if m.startswith(('nbtrack.server', 'nbtrack.widget'))]\n"
        "print(heavy, server)\n"
    )
    out = subprocess.run(
        [PYTHON, "-c", code], capture_output=True, text=True, check=True, env=child_env()
    )
    assert out.stdout.strip() == "[] []"


def test_a_synced_run_loads_no_server_module_or_dependency(tmp_path: Path) -> None:
    """The client side of sync (login, the uploader) is the standard library and nbtrack."""
    code = (
        "import sys, nbtrack\n"
        "run = nbtrack.init(project='p', display=False)\n"
        "run.log({'a': 1.0})\n"
        "run.finish()\n"
        "server = [m for m in sys.modules if m.startswith('nbtrack.server')]\n"
        f"deps = [m for m in {SERVER_DEPENDENCIES!r} if m in sys.modules]\n"
        "print('nbtrack.sync.uploader' in sys.modules, server + deps)\n"
    )
    # Logged in (through the environment) to a server that is not there: the uploader runs,
    # fails to connect, and says so; loading anything of the server is what would be wrong.
    env = child_env(
        NBTRACK_HOST="http://127.0.0.1:9", NBTRACK_API_KEY="nbk_x", NBTRACK_DIR=str(tmp_path),
        NBTRACK_CONFIG_DIR=str(tmp_path / "config"), NBTRACK_SYNC_WAIT_S="0.2",
    )  # fmt: skip
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "True []", out.stderr


def test_all_is_a_sorted_literal_of_real_names() -> None:
    tree = ast.parse((REPO / "nbtrack" / "__init__.py").read_text())
    literal = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "__all__"
    )
    names = ast.literal_eval(literal)
    assert names == sorted(names)
    assert names == nbtrack.__all__
    for name in names:
        getattr(nbtrack, name)


def test_python_and_js_versions_agree() -> None:
    package = json.loads((REPO / "package.json").read_text())
    assert package["version"] == nbtrack.__version__

"""The package's promises: a light import, a literal sorted __all__, versions in step."""

from __future__ import annotations

import ast
import json
import subprocess

import nbtrack
from tests.helpers import PYTHON, REPO, child_env

HEAVY = ("torch", "bokeh", "fastapi", "sqlalchemy", "pandas", "anywidget", "ipywidgets", "uvicorn")


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

"""docs/wandb.md against the code: every W&B name it lists resolves, and it lists every name.

The document's tables start each row with a name in backticks, in one of these forms:
``wandb.<attr>[.<attr>...]`` (a module attribute, submodules loaded on the way),
``wandb.init(<arg>=)`` (an argument of `init`), ``run.<attr>`` (of a live run),
``api.<attr>``, ``api.run().<attr>`` (of an Api and of a run it reads), ``artifact.<attr>``
(of a new `Artifact`), and ``WANDB_<NAME>`` (a variable nbtrack's code reads).
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import nbtrack
from nbtrack import _compat, _env

# `wandb.integration.keras.*` imports Keras 3, which needs its backend chosen first.
os.environ.setdefault("KERAS_BACKEND", "torch")

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "wandb.md"
ROW = re.compile(r"^\| `([^`]+)` \|", re.MULTILINE)


def listed() -> list[str]:
    return ROW.findall(DOC.read_text(encoding="utf-8"))


def test_the_document_lists_names() -> None:
    names = listed()
    assert len(names) > 150
    assert len(names) == len(set(names)), "a name is listed twice"


def _module_attr(path: str) -> Any:
    """`wandb.a.b`: nbtrack's attribute `a`, then `b` of it; a submodule is imported as
    ``from wandb.a import b`` would (with nbtrack under W&B's name)."""
    parts = path.split(".")[1:]
    obj: Any = nbtrack
    done = ["nbtrack"]
    for part in parts:
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module(".".join([*done, part]))
        done.append(part)
    return obj


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A live run, an Api, one of its runs, and an artifact, as the rows name them."""
    root = tmp_path_factory.mktemp("docs-store")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = nbtrack.init(project="docs", dir=root, display=False)
        run.log({"loss": 1.0})
        objs: dict[str, Any] = {"run": run}
        (root / "rows.csv").write_text("a,b\n1,2\n", encoding="utf-8")
        artifact = nbtrack.Artifact("data", type="dataset")
        artifact.add_file(str(root / "rows.csv"))
        objs["artifact"] = run.log_artifact(artifact)  # logged: version and aliases are known
        run.finish()
        api = nbtrack.Api(root)
        objs["api"] = api
        objs["api.run()"] = api.run(run.path)
        yield objs
        api.close()


def _resolve(name: str, objects: dict[str, Any]) -> None:
    if name.startswith("WANDB_"):
        source = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "nbtrack").rglob("*.py"))
        assert f'"{name}"' in source or f"'{name}'" in source, f"nothing in nbtrack reads {name}"
        return
    call = re.fullmatch(r"(wandb\.\w+)\((\w+)=\)", name)
    if call is not None:
        func = _module_attr(call.group(1))
        assert call.group(2) in inspect.signature(func).parameters, name
        return
    if name.startswith("wandb."):
        _module_attr(name)
        return
    for prefix in ("api.run()", "api", "run", "artifact"):
        if name.startswith(prefix + "."):
            obj = objects[prefix]
            for part in name[len(prefix) + 1 :].split("."):
                obj = getattr(obj, part)
            return
    raise AssertionError(f"docs/wandb.md: {name!r} is in none of the forms this test reads")


def test_every_name_listed_resolves(objects: dict[str, Any]) -> None:
    failed = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a listed stub may warn that it is not supported
        for name in listed():
            try:
                _resolve(name, objects)
            except Exception as e:  # collected: one run names every name that fails
                failed.append(f"{name}: {type(e).__name__}: {e}")
    assert not failed, "\n".join(failed)


def test_every_public_name_is_listed() -> None:
    text = DOC.read_text(encoding="utf-8")
    names = set(listed())
    missing = [
        n
        for n in nbtrack.__all__
        if f"wandb.{n}" not in names and f"`nbtrack.{n}`" not in text and n != "__version__"
    ]
    missing += [f"wandb.{n}" for n in _compat.STUB_REASONS if f"wandb.{n}" not in names]
    missing += [v for v in _env.WANDB_NAMES.values() if v not in names]
    missing += [v for v in _env.IGNORED if v not in names]
    assert not missing, f"docs/wandb.md does not list: {', '.join(missing)}"


def test_the_resolver_can_fail(objects: dict[str, Any]) -> None:
    for bad in ("wandb.no_such_name", "run.no_such_attr", "WANDB_NO_SUCH_VARIABLE", "x.y"):
        with pytest.raises((AssertionError, AttributeError, ImportError)):
            _resolve(bad, objects)

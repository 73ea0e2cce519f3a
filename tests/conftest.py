"""Shared fixtures: every test gets its own store root, and no run outlives its test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import nbtrack
from nbtrack import _current


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # With pytest-xdist (`-n 2 --dist loadgroup`, as scripts/test.sh runs the suite), the
    # browser tests all go to one worker, one after another: each drives a JupyterLab and a
    # Chromium, and two at once on two cores make both slow enough to time out. The other
    # worker takes everything else meanwhile.
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(autouse=True)
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "store"
    monkeypatch.setenv("NBTRACK_DIR", str(root))
    monkeypatch.delenv("NBTRACK_MODE", raising=False)
    monkeypatch.delenv("NBTRACK_PROJECT", raising=False)
    # Never the developer's own login: a test logs in to a server of its own, or to none.
    monkeypatch.setenv("NBTRACK_CONFIG_DIR", str(tmp_path / "config"))
    # Nor the developer's cache of media read from servers.
    monkeypatch.setenv("NBTRACK_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("NBTRACK_HOST", "NBTRACK_API_KEY", "NBTRACK_ENTITY"):
        monkeypatch.delenv(name, raising=False)
    # Nor the developer's W&B settings: nbtrack reads every WANDB_* twin of its own.
    import os

    for name in list(os.environ):
        if name.startswith("WANDB_"):
            monkeypatch.delenv(name)
    yield root
    run = _current.current()
    if run is not None:
        run.finish()


@pytest.fixture
def api(store_dir: Path) -> Iterator[nbtrack.Api]:
    from nbtrack.store.db import Store

    # An Api reads an existing store only: make the (empty) store its runs will go to.
    Store(store_dir).close()
    with nbtrack.Api(store_dir) as a:
        yield a

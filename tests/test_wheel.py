"""The package as a user installs it: a wheel that carries the JS, and a demo that runs offline."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.helpers import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(out), str(REPO)],
        check=True, timeout=300,
    )  # fmt: skip
    (whl,) = out.glob("nbtrack-*.whl")
    return whl


def test_wheel_carries_the_built_js_and_no_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "nbtrack/static/widget.js" in names
    assert "nbtrack/py.typed" in names
    assert not [n for n in names if n.endswith((".db", ".db-wal", ".db-shm"))]
    assert not [n for n in names if n.startswith(("tests/", "js/", "bench/"))]


def _offline() -> list[str]:
    """A prefix that runs a command with no network at all, where the machine allows it."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


def test_demo_in_a_fresh_virtualenv_without_network(wheel: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(wheel)], check=True
    )
    # numpy, torch and the widget packages come from this environment's site-packages, added
    # as a plain path: installing torch again would copy hundreds of megabytes for nothing.
    # Only nbtrack itself comes from the wheel (a plain path runs no .pth of the editable install).
    site = Path(
        subprocess.check_output(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp_path / "work"
    work.mkdir()
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    demo = subprocess.run(
        [*_offline(), str(venv / "bin" / "nbtrack"), "demo", "--epochs", "1"],
        capture_output=True, text=True, cwd=work, env=env, timeout=300,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr
    where = subprocess.check_output(
        [str(py), "-c", "import nbtrack; print(nbtrack.__file__)"], text=True, env=env, cwd=work
    )
    assert where.startswith(str(venv))  # the demo ran the installed wheel, not the checkout
    runs = subprocess.run(
        [str(venv / "bin" / "nbtrack"), "runs"], capture_output=True, text=True, cwd=work, env=env
    )
    header, line = runs.stdout.strip().splitlines()
    assert "val/acc" in header and "epochs" in header
    assert "finished" in line

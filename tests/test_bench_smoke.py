"""The benchmarks run against the project's own environment and print their tables.

Only nbtrack is measured here (the peers live in bench/.venv), except by the sync benchmark,
which starts MLflow's server from bench/.venv and is skipped without it; no figure is
checked, only that the report is whole and that what was logged was read back complete.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "bench" / "log_overhead.py"


def _bench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--no-docs", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_quick_nbtrack_report(tmp_path: Path) -> None:
    proc = _bench(
        "--trackers", "nbtrack", "--import-rounds", "2", "--read-rounds", "2", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "### 4 scalars a step, 2,000 steps" in out
    assert "### 50 scalars a step, 500 steps" in out
    nb_rows = [ln for ln in out.splitlines() if ln.startswith("| nbtrack |")]
    assert len(nb_rows) == 2, out
    for row in nb_rows:
        assert row.rstrip().endswith("| ok |"), row
    assert "all points back: yes" in out
    assert out.count("all stored: yes") == 2
    assert "heavy modules loaded: none" in out.lower()
    assert "### Targets" in out
    # --no-docs: the run leaves no file behind, in the repository or where it ran.
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(
    importlib.util.find_spec("wandb") is not None, reason="needs an environment without W&B"
)
def test_missing_peer_is_reported_not_dropped(tmp_path: Path) -> None:
    proc = _bench("--trackers", "wandb", "--skip-extras", "--no-noop", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [ln for ln in proc.stdout.splitlines() if ln.startswith("| W&B (offline) |")]
    assert len(rows) == 2, proc.stdout
    assert all("not installed" in r for r in rows), rows


def test_docs_section_replaced_in_place(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from _common import write_docs_section
    finally:
        sys.path.remove(str(REPO / "bench"))
    doc = tmp_path / "benchmarks.md"
    write_docs_section("Logging overhead", "t", "first", doc)
    doc.write_text(doc.read_text() + "\n## Dashboard\n\nother helper's text\n")
    write_docs_section("Logging overhead", "t", "second", doc)
    text = doc.read_text()
    assert text.startswith("# Benchmarks")
    assert "second" in text and "first" not in text
    assert text.count("## Logging overhead") == 1
    assert "## Dashboard\n\nother helper's text" in text


def test_watch_ab_runs_and_prints_every_variant(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "watch_ab.py"), "--rounds", "2", "--steps", "3"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [line.split(" | ")[0].strip("| ") for line in proc.stdout.splitlines()[3:]]
    assert rows == ["bare", "log", "log+hooks", "log+watch"]


def _postgres_installed() -> bool:
    from tests.server.postgres import PostgresNotInstalled, find_bindir

    try:
        find_bindir()
    except PostgresNotInstalled:
        return False
    return True


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.skipif(
    not (REPO / "bench" / ".venv" / "bin" / "mlflow").exists(),
    reason="needs bench/.venv with MLflow (bash bench/setup.sh)",
)
@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="needs Debian's chromium (scripts/setup.sh --test)"
)
def test_sync_bench_quick_report(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    pytest.importorskip("playwright")
    args = [] if _postgres_installed() else ["--no-postgres"]
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "sync.py"), "--quick", "--no-docs", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = proc.stdout
    targets = out.split("### Targets", 1)[1].split("###", 1)[0]
    rows = [ln for ln in targets.splitlines() if ln.startswith("| ") and "---" not in ln][1:]
    expected = 6 if not args else 5  # ingest SQLite (and PostgreSQL), overhead, latency, sync, page
    assert len(rows) == expected, targets
    for row in rows:
        assert "failed" not in row and "not measured" not in row, row
        assert "incomplete" not in row and "points missing" not in row, row
    # Every feed stored all it was sent; MLflow's row is there with its rate.
    assert "| MLflow server (sqlite), log-batch of 1,000 |" in out
    assert "**no**" not in out, out
    assert "All points on the server: yes" in out
    # --no-docs: nothing left behind where it ran.
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_media_bench_quick_report(tmp_path: Path) -> None:
    """bench/media.py's log and feed parts, nbtrack only, small: every row whole and every
    image read back."""
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "media.py"),
            "--quick",
            "--no-docs",
            "--parts",
            "log,feed",
            "--trackers",
            "nbtrack",
            "--python",
            sys.executable,
            "--reps",
            "40",
            "--steps",
            "80",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = proc.stdout
    rows = [ln for ln in out.splitlines() if ln.startswith("| nbtrack, ")]
    assert len(rows) == 4 and all(r.rstrip().endswith("| ok |") for r in rows), out
    assert out.count("| 640 of 640 |") == 4, out
    feeds = [
        ln
        for ln in out.split("### 2.", 1)[1].splitlines()
        if ln.startswith("| ") and "---" not in ln
    ][1:]
    assert len(feeds) == 3 and all(r.rstrip().endswith("| ok |") for r in feeds), feeds
    assert "failed" not in out and "**lost some**" not in out and "**run incomplete**" not in out
    assert list(tmp_path.iterdir()) == []

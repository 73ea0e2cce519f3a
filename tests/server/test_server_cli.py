"""`nbtrack server ...` as an admin types it: users, teams, keys, migrations, serving."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from nbtrack.server.db import current_revision
from tests.helpers import child_env
from tests.server.copies import wait_until
from tests.server.servers import free_port

pytestmark = pytest.mark.server


def _server(data: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nbtrack.cli", "server", *args, "--data", str(data)],
        input=stdin, capture_output=True, text=True, env=child_env(), timeout=120,
    )  # fmt: skip


def test_users_teams_and_keys_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "srv"
    made = _server(data, "create-user", "ada", "--admin", "--password-stdin", stdin="long enough\n")
    assert made.returncode == 0, made.stderr
    first = made.stdout.split()[-1]
    assert first.startswith("nbk_") and "shown only now" in made.stdout
    short = _server(data, "create-user", "bob", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "at least 8 characters" in short.stderr
    assert _server(data, "create-team", "ml-team").returncode == 0
    assert _server(data, "add-member", "ml-team", "ada").returncode == 0
    missing = _server(data, "add-member", "no-team", "ada")
    assert missing.returncode == 1 and "no team 'no-team'" in missing.stderr
    second = _server(data, "create-key", "ada").stdout.strip()
    assert second.startswith("nbk_") and second != first
    keys = _server(data, "list-keys", "ada").stdout
    assert keys.count(" live") == 2 and first not in keys  # only their first characters
    assert _server(data, "revoke-key", "ada", "1").returncode == 0
    keys = _server(data, "list-keys", "ada").stdout.splitlines()
    assert "revoked" in keys[1] and keys[2].endswith("live")
    migrated = _server(data, "migrate")
    assert migrated.returncode == 0 and "revision 0003" in migrated.stdout


def test_sqlite_serves_one_worker_and_the_server_migrates_at_start(tmp_path: Path) -> None:
    data = tmp_path / "srv"
    several = _server(data, "--workers", "2")
    assert several.returncode == 2 and "PostgreSQL" in several.stderr
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "nbtrack.cli", "server", "--data", str(data), "--port", str(port)],
        env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip

    def healthy() -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).status_code == 200
        return False

    try:
        wait_until("the server", healthy)
        # Nothing migrated this fresh folder but the server's own start.
        assert current_revision(f"sqlite:///{data.absolute() / 'server.db'}") == "0003"
    finally:
        proc.terminate()
        proc.communicate(timeout=30)

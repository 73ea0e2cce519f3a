"""The run dashboard's Overview section, Python's side: the commit's link made from a git
remote (never with its token), what a run records of Colab, the overview message, and the
feeds and the server's live page that send it.

The page's side is in ``js/overview.test.ts`` and ``js/protocol.test.ts`` (the committed
fixture) and, in a real JupyterLab, ``tests/browser/test_overview.py``.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import nbtrack
from nbtrack import _metadata
from nbtrack._metadata import colab_info, commit_url, git_info, strip_credentials
from nbtrack.widget._protocol import flatten_config, overview_message
from tests.protocol_helpers import FIXTURES, dumps, messages

SHA = "0123456789abcdef0123456789abcdef01234567"

# -- the commit's link --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("remote", "url"),
    [
        # GitHub in each form git writes a remote in.
        ("git@github.com:o/r.git", f"https://github.com/o/r/commit/{SHA}"),
        ("git@github.com:o/r", f"https://github.com/o/r/commit/{SHA}"),
        ("https://github.com/o/r.git", f"https://github.com/o/r/commit/{SHA}"),
        ("https://github.com/o/r", f"https://github.com/o/r/commit/{SHA}"),
        ("https://github.com/o/r/", f"https://github.com/o/r/commit/{SHA}"),
        ("https://me@github.com/o/r.git", f"https://github.com/o/r/commit/{SHA}"),
        ("ssh://git@github.com/o/r.git", f"https://github.com/o/r/commit/{SHA}"),
        ("ssh://git@ssh.github.com:443/o/r.git", f"https://github.com/o/r/commit/{SHA}"),
        ("  https://GitHub.com/O-1/r.x_y.git\n", f"https://github.com/O-1/r.x_y/commit/{SHA}"),
        # GitLab, with subgroups, and self-hosted (an ssh port is not the web's).
        ("git@gitlab.com:g/r.git", f"https://gitlab.com/g/r/-/commit/{SHA}"),
        ("https://gitlab.com/g/sub/r.git", f"https://gitlab.com/g/sub/r/-/commit/{SHA}"),
        ("ssh://git@gitlab.example.org:2222/g/r.git",
         f"https://gitlab.example.org/g/r/-/commit/{SHA}"),
        ("https://gitlab.example.org:8443/g/r",
         f"https://gitlab.example.org:8443/g/r/-/commit/{SHA}"),
        ("http://gitlab.lan/g/r.git", f"http://gitlab.lan/g/r/-/commit/{SHA}"),
        # Bitbucket (its clone URL carries the user).
        ("git@bitbucket.org:o/r.git", f"https://bitbucket.org/o/r/commits/{SHA}"),
        ("https://me@bitbucket.org/o/r.git", f"https://bitbucket.org/o/r/commits/{SHA}"),
        ("ssh://git@bitbucket.org/o/r.git", f"https://bitbucket.org/o/r/commits/{SHA}"),
    ],
)  # fmt: skip
def test_commit_url_of_each_known_host_and_form(remote: str, url: str) -> None:
    assert commit_url(remote, SHA) == url


@pytest.mark.parametrize(
    "remote",
    [
        "https://me:ghp_SECRET@github.com/o/r.git",
        "https://ghp_SECRET@github.com/o/r.git",  # a token where the user name goes
        "https://oauth2:glpat-SECRET@gitlab.com/g/r.git",
        "https://x-token-auth:SECRET@bitbucket.org/o/r.git",
    ],
)
def test_commit_url_never_carries_a_remotes_credentials(remote: str) -> None:
    url = commit_url(remote, SHA)
    assert url is not None and url.startswith("https://")
    assert "SECRET" not in url and "@" not in url


@pytest.mark.parametrize(
    ("remote", "commit"),
    [
        ("https://example.org/o/r.git", SHA),  # a host we do not know
        ("git@example.org:o/r.git", SHA),
        ("https://notgithub.com/o/r", SHA),
        ("https://github.com.evil.org/o/r", SHA),
        ("/srv/git/r.git", SHA),  # a local remote
        ("file:///srv/git/r.git", SHA),
        ("../r", SHA),
        ("https://github.com/o", SHA),  # no repository
        ("https://github.com/o/r/tree/x", SHA),  # more than owner/repo
        ("https://github.com/o/../r", SHA),
        ("https://github.com/o/r%3Cx", SHA),
        ("javascript:alert(1)//github.com/o/r", SHA),
        ("git@github.com:o/r.git", "not-a-sha"),
        ("git@github.com:o/r.git", "abc"),  # too short to be a commit
        ("git@github.com:o/r.git", None),
        (None, SHA),
        ("", SHA),
    ],
)
def test_commit_url_is_none_when_it_cannot_be_told(remote: str | None, commit: str | None) -> None:
    assert commit_url(remote, commit) is None


def test_strip_credentials() -> None:
    assert strip_credentials("https://me:ghp_x@github.com/o/r.git") == "https://github.com/o/r.git"
    assert strip_credentials("https://ghp_x@github.com/o/r") == "https://github.com/o/r"
    assert strip_credentials("ssh://git:pw@host/o/r.git") == "ssh://git@host/o/r.git"
    for kept in ("git@github.com:o/r.git", "ssh://git@github.com/o/r.git", "/srv/r.git"):
        assert strip_credentials(kept) == kept


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with one commit and an origin on GitHub given with a token."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "train.py").write_text("print(1)\n")
    _git(repo, "add", "train.py")
    _git(repo, "commit", "-q", "-m", "first")
    _git(repo, "remote", "add", "origin", "https://me:ghp_SECRET@github.com/o/r.git")
    return repo


def test_a_run_records_its_remote_without_the_token(repo: Path) -> None:
    info = git_info(str(repo))
    assert info["remote"] == "https://github.com/o/r.git"
    assert info["branch"] == "main" and info["dirty"] is False
    (repo / "train.py").write_text("print(2)\n")
    assert git_info(str(repo))["dirty"] is True


# -- Colab --------------------------------------------------------------------------------


def test_colab_is_recorded_and_its_notebook_when_the_session_names_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delitem(__import__("sys").modules, "google.colab", raising=False)
    assert colab_info("fileId=1AbCdEfGhIjK_-9") == {}  # not in Colab: nothing
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20240101")
    assert colab_info("fileId=1AbCdEfGhIjK_-9") == {
        "colab": True,
        "colab_url": "https://colab.research.google.com/drive/1AbCdEfGhIjK_-9",
    }
    # A notebook opened from GitHub, or no session name at all: Colab, but no link.
    assert colab_info("fileId=https%3A%2F%2Fgithub.com%2Fo%2Fr%2Fx.ipynb") == {"colab": True}
    assert colab_info(None) == {"colab": True}
    monkeypatch.setenv("JPY_SESSION_NAME", "fileId=1AbCdEfGhIjK_-9")
    info = _metadata.system_info()
    assert info["colab_url"] == "https://colab.research.google.com/drive/1AbCdEfGhIjK_-9"


# -- the message --------------------------------------------------------------------------


def test_the_overview_message_has_its_shape_and_is_strict_json() -> None:
    content, buffers = messages()["overview"]
    assert buffers == []
    assert set(content) == {
        "type", "notes", "tags", "config", "code", "system", "created_at", "finished_at",
    }  # fmt: skip
    assert set(content["code"]) == {
        "commit", "branch", "dirty", "url", "program", "colab", "colab_url",
    }  # fmt: skip
    assert set(content["system"]) == {"host", "os", "python", "torch", "nbtrack", "gpus"}
    text = json.dumps(content, allow_nan=False)
    # The remote is not sent at all; its link is, without the token.
    assert "SECRET" not in text and "remote" not in text
    assert content["code"]["url"] == f"https://github.com/o/r/commit/{SHA}"


def test_the_committed_overview_fixture_is_what_the_encoder_sends_today() -> None:
    content, buffers = messages()["overview"]
    path = FIXTURES / "overview.json"
    assert path.read_text(encoding="utf-8") == dumps(content, buffers), (
        f"{path} is out of date: run `.venv/bin/python -m tests.protocol_helpers`"
    )


def test_config_is_flattened_with_dots_and_its_values_made_json_safe() -> None:
    class Odd:
        def __str__(self) -> str:
            return "<odd>"

    pairs = flatten_config(
        {
            "a": {"b": {"c": 1}, "empty": {}},
            "f": float("-inf"),
            "i": -(2**53),
            "ok": 2**53 - 1,
            "l": (1, "x", None),
            "o": Odd(),
            "u": "ünï ✓",
            7: "a key that is no string",
        }
    )
    assert pairs == [
        ["a.b.c", 1],
        ["a.empty", "{}"],
        ["f", "-inf"],
        ["i", str(-(2**53))],  # past what a JS number holds exactly: as text
        ["ok", 2**53 - 1],
        ["l", '[1, "x", null]'],
        ["o", "<odd>"],
        ["u", "ünï ✓"],
        ["7", "a key that is no string"],
    ]
    json.dumps(pairs, allow_nan=False)


def test_deeply_nested_config_stops_flattening_instead_of_recursing_forever() -> None:
    deep: dict[str, Any] = {}
    d = deep
    for _ in range(500):
        d["x"] = {}
        d = d["x"]
    d["x"] = 1
    pairs = flatten_config(deep)
    assert len(pairs) == 1 and pairs[0][0].count(".") == 16


def test_metadata_of_the_wrong_types_is_checked_field_by_field() -> None:
    # The server passes on what any client uploaded.
    m = overview_message(
        notes="",
        tags=[1, "t"],  # type: ignore[list-item]  # on purpose: not strings
        config={},
        metadata={
            "git": {"commit": SHA, "remote": "git@github.com:o/r.git", "dirty": "yes"},
            "gpus": "H100",
            "colab_url": "javascript:alert(1)",
            "host": 5,
        },
        created_at=float("nan"),
        finished_at=None,
    )
    assert m["notes"] is None and m["tags"] == ["1", "t"]
    assert m["code"]["dirty"] is None and m["code"]["colab_url"] is None
    assert m["system"]["gpus"] == [] and m["system"]["host"] == "5"
    assert m["created_at"] == "nan"
    odd = overview_message(
        notes=None, tags=[], config={}, metadata={"git": "x"}, created_at=0.0, finished_at=1.0
    )
    assert odd["code"]["commit"] is None


# -- the feeds ----------------------------------------------------------------------------


def _capture(run_id: str) -> tuple[Any, list[dict[str, Any]]]:
    from nbtrack.widget._dashboard import Dashboard

    widget = Dashboard(run_id)
    sent: list[dict[str, Any]] = []
    widget.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    return widget, sent


def _overviews(sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in sent if c["type"] == "overview"]


def _wait(test: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_live_feed_sends_the_overview_then_the_metadata_and_each_change(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbtrack.widget._dashboard import LiveFeed

    monkeypatch.chdir(repo)  # the run's git facts are those of its working directory
    run = nbtrack.init(
        project="p", display=False, notes="<img src=x onerror=alert(1)>", tags=["cnn"],
        config={"lr": 1e-3, "opt": {"name": "adam"}},
    )  # fmt: skip
    widget, sent = _capture(run.id)
    feed = LiveFeed(widget, run)
    first = _overviews(sent)[0]
    assert first["notes"] == "<img src=x onerror=alert(1)>" and first["tags"] == ["cnn"]
    assert first["config"] == [["lr", 0.001], ["opt.name", "adam"]]
    # The writer records git and the system as it starts; the feed sends them when it can.
    _wait(lambda: _overviews(sent)[-1]["code"]["commit"] is not None)
    code = _overviews(sent)[-1]["code"]
    assert code["url"] == f"https://github.com/o/r/commit/{code['commit']}"
    assert code["branch"] == "main" and code["dirty"] is False
    assert _overviews(sent)[-1]["system"]["nbtrack"] == nbtrack.__version__
    assert "SECRET" not in json.dumps(sent)

    n = len(_overviews(sent))
    run.log({"loss": 1.0})
    feed.flush()  # as at the end of a cell
    assert len(_overviews(sent)) == n  # nothing changed: nothing sent again
    run.notes = "second try"
    feed.flush()
    assert _overviews(sent)[-1]["notes"] == "second try"
    assert len(_overviews(sent)) == n + 1
    run.finish()
    assert _overviews(sent)[-1]["finished_at"] is not None


def test_a_store_feed_sends_the_overview_once_and_again_when_it_changes(
    repo: Path, monkeypatch: pytest.MonkeyPatch, api: nbtrack.Api, store_dir: Path
) -> None:
    from nbtrack._run import link
    from nbtrack.store.db import Store
    from nbtrack.widget._dashboard import StoreFeed

    monkeypatch.chdir(repo)
    run = nbtrack.init(project="p", display=False, tags=["a", "<b>b</b>"], config={"n": 3})
    run.log({"loss": 1.0})
    run.finish()
    widget, sent = _capture(run.id)
    feed = StoreFeed(widget, api.run(run.path))
    (ov,) = _overviews(sent)
    assert ov["tags"] == ["a", "<b>b</b>"] and ov["config"] == [["n", 3]]
    assert ov["code"]["url"] and ov["code"]["url"].startswith("https://github.com/o/r/commit/")
    assert ov["finished_at"] is not None and ov["system"]["python"]
    feed.poll()
    assert len(_overviews(sent)) == 1  # the same: not sent again
    # Another process edits the stored run (as `nbtrack.Api` would, or a resumed run).
    store = Store(store_dir)
    try:
        store.update_run(link(run).rk, notes="a note added later")
    finally:
        store.close()
    feed.poll()
    assert _overviews(sent)[-1]["notes"] == "a note added later"


# -- the server's live page ---------------------------------------------------------------


def test_the_servers_live_page_gets_the_overview_with_the_header() -> None:
    from sqlalchemy import create_engine, insert

    from nbtrack.server import models, reads

    engine = create_engine("sqlite://")
    models.Base.metadata.create_all(engine)
    metadata = {
        "python": "3.12.3",
        "git": {"commit": SHA, "remote": "https://u:SECRET@gitlab.com/g/r.git", "dirty": True},
    }
    row = {
        "project_id": 1, "run_id": "r1", "name": "n", "notes": "<script>x</script>",
        "tags": json.dumps(["t"]), "config": json.dumps({"a": {"b": "nan"}}),
        "metadata": json.dumps(metadata), "state": "running", "created_at": 10.0,
        "updated_at": 11.0, "heartbeat_at": time.time(), "ingest_seq": 3, "fields_seq": 3,
        "created_by": 1,
    }  # fmt: skip
    with engine.begin() as conn:
        pk = conn.execute(insert(models.RUNS).values(**row)).inserted_primary_key[0]
        msgs, upto = reads.live_messages(conn, pk, "alice", "proj", after=0, header=True)
        kinds = [m["content"]["type"] for m in msgs]
        assert kinds[:2] == ["header", "overview"] and upto == 3
        ov = msgs[1]["content"]
        assert ov == overview_message(
            notes="<script>x</script>", tags=["t"], config={"a": {"b": "nan"}},
            metadata=metadata, created_at=10.0, finished_at=None,
        )  # fmt: skip
        assert ov["code"]["url"] == f"https://gitlab.com/g/r/-/commit/{SHA}"
        assert "SECRET" not in json.dumps(msgs)
        # A page that has seen the run's fields gets no overview again.
        msgs, _ = reads.live_messages(conn, pk, "alice", "proj", after=3, header=False)
        assert msgs == []

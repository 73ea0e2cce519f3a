"""Share links and share grants on a real server, as a link holder, a notebook page and the
owner see them: the API round trip; a grant does its three things, in its scope only; a
link reaches its run (or its project) and nothing else; no secret is stored in clear; a
revoke closes the link on every worker at once, open streams too; bad tokens are throttled;
public projects open without a sign-in; every page's CSP is strict."""

from __future__ import annotations

import json
import queue
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from nbtrack.server import accounts, security
from nbtrack.sync import frames
from tests.helpers import child_env
from tests.server.copies import wait_until
from tests.server.servers import ServerProcess, User

pytestmark = pytest.mark.server

HOST = "gpu-box-7"
REMOTE = "https://ada:ghp_token@github.com/alice/secret-repo.git"
META = {
    "host": HOST,
    "os": "Linux-6.1",
    "python": "3.11.2",
    "cwd": "/home/alice/work",
    "executable": "/home/alice/.venv/bin/python",
    "program": "/home/alice/work/train.ipynb",
    "git": {"commit": "0123abcd" * 5, "branch": "main", "dirty": False, "remote": REMOTE},
}


# -- helpers ------------------------------------------------------------------------------


@pytest.fixture
def alice(server: ServerProcess) -> User:
    return server.create_user("alice")


@pytest.fixture
def bob(server: ServerProcess) -> User:
    return server.create_user("bob")


def put_run(server: ServerProcess, key: str, entity: str, project: str, run_id: str,
            **fields: Any) -> None:  # fmt: skip
    path = f"/api/v1/runs/{entity}/{project}/{run_id}"
    r = server.call("PUT", path, key, json={"name": run_id, **fields})
    assert r.status_code == 200, r.text


def upload(server: ServerProcess, key: str, entity: str, project: str, run_id: str,
           seq: int, steps: range) -> None:  # fmt: skip
    chunk = frames.scalar_chunk(
        "loss", (seq, seq), np.arange(steps.start, steps.stop, dtype=np.int64),
        np.arange(steps.start, steps.stop, dtype=np.float64) * 0.5,
    )  # fmt: skip
    r = server.call(
        "POST", f"/api/v1/runs/{entity}/{project}/{run_id}/chunks", key,
        content=frames.encode([chunk]), headers={"content-type": frames.CONTENT_TYPE},
    )  # fmt: skip
    assert r.status_code == 200, r.text


def project_with_runs(server: ServerProcess, user: User, project: str = "proj") -> None:
    """Runs r1 and r2 in `user`'s private project, with data, r1 with private metadata."""
    put_run(server, user.key, user.name, project, "r1", metadata=META,
            error='Traceback:\n  File "/home/alice/work/train.py", line 3')  # fmt: skip
    put_run(server, user.key, user.name, project, "r2", notes="the other run")
    for run_id in ("r1", "r2"):
        upload(server, user.key, user.name, project, run_id, 1, range(0, 10))


def share(server: ServerProcess, credential: str, project: str = "proj",
          run_id: str | None = "r1", entity: str = "alice", **kw: Any) -> httpx.Response:  # fmt: skip
    body = {"entity": entity, "project": project, "run_id": run_id, **kw}
    return server.call("POST", "/api/v1/shares", credential, json=body)


def new_link(server: ServerProcess, credential: str, **kw: Any) -> dict[str, Any]:
    r = share(server, credential, **kw)
    assert r.status_code == 201, r.text
    return dict(r.json())


def listed(server: ServerProcess, credential: str, run_id: str | None = None,
           project: str = "proj") -> httpx.Response:  # fmt: skip
    params = {"entity": "alice", "project": project}
    if run_id is not None:
        params["run_id"] = run_id
    return server.call("GET", "/api/v1/shares", credential, params=params)


def grant(server: ServerProcess, key: str, run_id: str | None = "r1",
          project: str = "proj") -> httpx.Response:  # fmt: skip
    return server.call(
        "POST", "/api/v1/share-grants", key,
        json={"entity": "alice", "project": project, "run_id": run_id},
    )  # fmt: skip


@contextmanager
def holder(server: ServerProcess, token: str) -> Iterator[tuple[httpx.Client, str]]:
    """A browser-like client that opened the link: its cookie, and the link's page path."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        r = client.get(f"/s/{token}")
        assert r.status_code == 303, r.text
        page = r.headers["location"]
        assert re.fullmatch(r"/v/[0-9A-Za-z]{12}/", page), page
        assert token not in page
        yield client, page


def first_messages(client: httpx.Client, path: str) -> list[dict[str, Any]]:
    """The messages of a stream's first event."""
    with client.stream("GET", path) as r:
        assert r.status_code == 200, r.read()
        for line in r.iter_lines():
            if line.startswith("data: "):
                return list(json.loads(line[6:])["messages"])
    raise AssertionError("the stream ended before its first event")


def status_of_stream(client: httpx.Client, path: str) -> int:
    with client.stream("GET", path) as r:
        return r.status_code


def contents(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m["content"] for m in messages if m["content"]["type"] == kind]


@contextmanager
def signed_in(server: ServerProcess, user: User) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        r = client.post(
            "/login", data={"username": user.name, "password": user.password, "next": "/"}
        )
        assert r.status_code == 303 and client.cookies.get("nbtrack_session"), r.text
        yield client


PAGE_HEADERS = {"X-Nbtrack": "1"}


# -- the API ------------------------------------------------------------------------------


def test_links_are_made_listed_and_revoked(server: ServerProcess, alice: User, bob: User) -> None:
    project_with_runs(server, alice)
    run_link = new_link(server, alice.key, run_id="r1", expires_in_s=3600)
    assert run_link["scope"] == "run" and run_link["run_id"] == "r1"
    assert security.well_formed(run_link["token"], security.LINK_PREFIX)
    assert run_link["path"] == "/s/" + run_link["token"]
    assert run_link["shown"] == run_link["token"][:10] + "…"
    assert run_link["expires_at"] == pytest.approx(run_link["created_at"] + 3600)
    assert (run_link["entity"], run_link["project"], run_link["show_private"]) == (
        "alice", "proj", False
    )  # fmt: skip
    project_link = new_link(server, alice.key, run_id=None, show_private=True)
    assert project_link["scope"] == "project" and project_link["run_id"] is None
    assert project_link["expires_at"] is None and project_link["show_private"] is True
    other_run = new_link(server, alice.key, run_id="r2")

    # Newest first, without their tokens.
    every = listed(server, alice.key).json()
    assert [x["id"] for x in every] == [other_run["id"], project_link["id"], run_link["id"]]
    assert all("token" not in x and "path" not in x for x in every)
    assert every[-1] == {k: v for k, v in run_link.items() if k not in ("token", "path")}
    assert [x["id"] for x in listed(server, alice.key, "r1").json()] == [run_link["id"]]

    r = server.call("DELETE", f"/api/v1/shares/{run_link['id']}", alice.key)
    assert r.status_code == 204, r.text
    assert [x["id"] for x in listed(server, alice.key).json()] == [
        other_run["id"], project_link["id"]
    ]  # fmt: skip
    assert server.call("DELETE", f"/api/v1/shares/{run_link['id']}", alice.key).status_code == 404
    assert server.call("DELETE", "/api/v1/shares/99999", alice.key).status_code == 404

    # A run that does not exist, a project of someone else's: 404 alike.
    assert share(server, alice.key, run_id="ghost").status_code == 404
    for method, path, kw in (
        ("POST", "/api/v1/shares", {"json": {"entity": "alice", "project": "proj", "run_id": "r1"}}),
        ("POST", "/api/v1/shares", {"json": {"entity": "alice", "project": "proj", "run_id": None}}),
        ("GET", "/api/v1/shares", {"params": {"entity": "alice", "project": "proj"}}),
        ("DELETE", f"/api/v1/shares/{project_link['id']}", {}),
        ("POST", "/api/v1/share-grants", {"json": {"entity": "alice", "project": "proj"}}),
        ("PUT", "/api/v1/projects/alice/proj/public", {"json": {"public": True}}),
    ):  # fmt: skip
        r = server.call(method, path, bob.key, **kw)
        assert r.status_code == 404, (method, path, r.status_code, r.text)
    assert len(listed(server, alice.key).json()) == 2  # bob's DELETE did nothing

    # Bad bodies are told why.
    for body in (
        {"entity": "alice", "project": "proj", "run_id": "r1", "expires_in_s": -1},
        {"entity": "alice", "project": "proj", "run_id": "r1", "expires_in_s": 1e12},
        {"entity": "alice", "project": "proj", "run_id": "r1", "extra": 1},
        {"entity": "alice", "project": "proj", "run_id": "a/b"},
        {"entity": "alice\x00", "project": "proj", "run_id": None},
        {"project": "proj"},
    ):
        r = server.call("POST", "/api/v1/shares", alice.key, json=body)
        assert r.status_code == 422, (body, r.text)
    assert server.call("POST", "/api/v1/shares", json={}).status_code == 401


def _other_calls(server: ServerProcess) -> list[tuple[str, str]]:
    """Every operation of the API but the three share-link ones and the health check, its
    path parameters naming alice's run r1."""
    schema = server.call("GET", "/api/v1/openapi.json").json()
    names = {"entity": "alice", "project": "proj", "run_id": "r1", "name": "0" * 64 + ".png"}
    out = []
    for path, methods in schema["paths"].items():
        if path in ("/api/v1/shares", "/api/v1/shares/{link_id}", "/api/v1/health"):
            continue
        for method in methods:
            out.append((method.upper(), re.sub(r"\{(\w+)\}", lambda m: names[m[1]], path)))
    assert len(out) >= 12, out
    return out


def test_a_grant_does_its_three_things_in_its_scope_only(
    server: ServerProcess, alice: User, bob: User
) -> None:
    project_with_runs(server, alice)
    put_run(server, alice.key, "alice", "other", "x")
    by_key = new_link(server, alice.key, run_id=None)  # a project link
    other_project_link = new_link(server, alice.key, project="other", run_id="x")

    r = grant(server, alice.key, run_id="r1")
    assert r.status_code == 201, r.text
    g = r.json()
    assert security.well_formed(g["token"], security.GRANT_PREFIX)
    assert (g["scope"], g["entity"], g["project"], g["run_id"]) == ("run", "alice", "proj", "r1")
    assert g["expires_at"] == pytest.approx(time.time() + 3600, abs=120)
    token = g["token"]

    # Its three things, for its run.
    made = new_link(server, token, run_id="r1")
    assert made["scope"] == "run"
    assert [x["id"] for x in listed(server, token).json()] == [made["id"]]  # its run's only
    assert [x["id"] for x in listed(server, token, "r1").json()] == [made["id"]]
    assert server.call("DELETE", f"/api/v1/shares/{made['id']}", token).status_code == 204
    assert listed(server, token).json() == []

    # Not another run's, not the project's, not another project's.
    assert share(server, token, run_id="r2").status_code == 404
    assert share(server, token, run_id=None).status_code == 404
    assert share(server, token, project="other", run_id="x").status_code == 404
    assert listed(server, token, "r2").status_code == 404
    assert listed(server, token, project="other").status_code == 404
    for link in (by_key, other_project_link):
        r = server.call("DELETE", f"/api/v1/shares/{link['id']}", token)
        assert r.status_code == 404, r.text
    assert len(listed(server, alice.key).json()) == 1  # the project link is still there

    # Nothing else anywhere: every other endpoint answers 401, as to a bad key.
    for method, path in _other_calls(server):
        r = server.call(method, path, token, json={})
        assert r.status_code == 401, (method, path, r.status_code, r.text)
        assert "share grant" in r.json()["detail"]
    r = grant(server, token)  # a grant cannot make grants
    assert r.status_code == 401 and "share grant" in r.json()["detail"]

    # A project grant: any run's links and the project's, in its project only.
    pg = grant(server, alice.key, run_id=None).json()
    assert pg["scope"] == "project" and pg["run_id"] is None
    assert new_link(server, pg["token"], run_id="r2")["scope"] == "run"
    assert new_link(server, pg["token"], run_id=None)["scope"] == "project"
    assert len(listed(server, pg["token"]).json()) == 3
    assert server.call("DELETE", f"/api/v1/shares/{by_key['id']}", pg["token"]).status_code == 204
    assert share(server, pg["token"], project="other", run_id="x").status_code == 404
    r = server.call("DELETE", f"/api/v1/shares/{other_project_link['id']}", pg["token"])
    assert r.status_code == 404

    # A run grant may come before its run (the notebook asks as the run starts syncing); a
    # project the key's user may not write to gets none.
    early = grant(server, alice.key, run_id="not-yet").json()["token"]
    assert share(server, early, run_id="not-yet").status_code == 404
    put_run(server, alice.key, "alice", "proj", "not-yet")
    assert share(server, early, run_id="not-yet").status_code == 201
    assert grant(server, alice.key, project="brand-new").status_code == 201
    r = server.call(
        "POST", "/api/v1/share-grants", bob.key, json={"entity": "alice", "project": "proj"}
    )
    assert r.status_code == 404
    assert grant(server, alice.key, run_id="a/b").status_code == 422

    # A grant dies with the key that made it.
    db = server.db()
    try:
        accounts.revoke_key(db, "alice", accounts.list_keys(db, "alice")[0].id)
    finally:
        db.dispose()
    assert listed(server, pg["token"]).status_code == 401


def _expire(server: ServerProcess, table: str, row_id: int) -> None:
    """Move a row's expiry into the past, as the clock would."""
    db = server.db()
    try:
        with db.write() as conn:
            conn.exec_driver_sql(
                f"UPDATE {table} SET expires_at = {time.time() - 1} WHERE id = {int(row_id)}"
            )
    finally:
        db.dispose()


def test_expired_grants_and_links_are_refused(tmp_path: Path) -> None:
    # Grants last NBTRACK_SERVER_GRANT_S here: a second.
    s = ServerProcess(tmp_path / "server", env={"NBTRACK_SERVER_GRANT_S": "1"}).start()
    try:
        alice = s.create_user("alice")
        project_with_runs(s, alice)
        g = grant(s, alice.key).json()
        assert g["expires_at"] - time.time() < 1.5
        wait_until("the grant to expire", lambda: listed(s, g["token"]).status_code == 401)
        assert "expired" in listed(s, g["token"]).json()["detail"]

        # A link given a short life ends by itself.
        short = new_link(s, alice.key, expires_in_s=1)
        assert short["expires_at"] == pytest.approx(short["created_at"] + 1)
        with httpx.Client(base_url=s.url, timeout=30) as client:
            wait_until(
                "the link to expire", lambda: client.get(f"/s/{short['token']}").status_code == 404
            )
        # A link open in a browser is closed once it expires: its page, its stream, /s/.
        link = new_link(s, alice.key, expires_in_s=3600)
        forever = new_link(s, alice.key)
        with holder(s, link["token"]) as (client, page):
            assert client.get(page).status_code == 200
            _expire(s, "share_links", link["id"])
            assert client.get(page).status_code == 404
            assert status_of_stream(client, page + "events") == 404
            assert client.get(f"/s/{link['token']}").status_code == 404
        assert [x["id"] for x in listed(s, alice.key).json()] == [forever["id"]]
        assert s.call("DELETE", f"/api/v1/shares/{link['id']}", alice.key).status_code == 404
    finally:
        s.stop()


def test_cors_on_the_share_routes_only(sqlite_server: ServerProcess) -> None:
    alice = sqlite_server.create_user("alice")
    project_with_runs(sqlite_server, alice)
    token = grant(sqlite_server, alice.key).json()["token"]
    preflight = {
        "Origin": "http://127.0.0.1:8888",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    for path in ("/api/v1/shares", "/api/v1/shares/7"):
        r = sqlite_server.call("OPTIONS", path, headers=preflight)
        assert r.status_code == 204, (path, r.text)
        assert r.headers["access-control-allow-origin"] == "*"
        assert r.headers["access-control-allow-headers"] == "authorization, content-type"
        assert r.headers["access-control-allow-methods"] == "GET, POST, DELETE"
        assert "access-control-allow-credentials" not in r.headers
    made = sqlite_server.call(
        "POST", "/api/v1/shares", token, headers={"Origin": "http://127.0.0.1:8888"},
        json={"entity": "alice", "project": "proj", "run_id": "r1"},
    )  # fmt: skip
    assert made.status_code == 201 and made.headers["access-control-allow-origin"] == "*"
    refused = listed(sqlite_server, "nbg_nothing")
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == "*"
    # Nowhere else: not the grants (a key only), not the rest of the API.
    for path in ("/api/v1/share-grants", "/api/v1/viewer", "/api/v1/runs/alice/proj/r1"):
        r = sqlite_server.call("OPTIONS", path, headers=preflight)
        assert "access-control-allow-origin" not in r.headers, path
        r = sqlite_server.call("GET", path, alice.key, headers={"Origin": "http://x.example"})
        assert "access-control-allow-origin" not in r.headers, path


# -- what a link reaches (Must show 2) -----------------------------------------------------


def test_a_run_link_reaches_its_run_and_nothing_else(server: ServerProcess, alice: User) -> None:
    project_with_runs(server, alice)
    link = new_link(server, alice.key, run_id="r1")
    with holder(server, link["token"]) as (client, page):
        r = client.get(page)
        assert r.status_code == 200
        assert r.headers["referrer-policy"] == "no-referrer"
        assert 'data-nbtrack-run data-run-id="r1"' in r.text
        assert "shared by nbtrack" in r.text
        # No way out: no link to / or to the project, no sign-in, no entity or user name.
        assert 'href="/"' not in r.text and "/alice" not in r.text
        assert "alice" not in r.text and "Sign in" not in r.text and "data-shares" not in r.text

        # The run, live, as the run page has it, less what is private.
        msgs = first_messages(client, page + "events")
        (header,) = contents(msgs, "header")
        (overview,) = contents(msgs, "overview")
        assert header["project"] == "proj" and header["id"] == "r1"
        assert "alice" not in header["error"] and "~/work/train.py" in header["error"]
        assert overview["system"]["host"] is None and overview["system"]["os"] == "Linux-6.1"
        assert overview["code"]["commit"] == META["git"]["commit"]  # type: ignore[index]
        assert overview["code"]["branch"] == "main" and overview["code"]["url"] is None
        assert overview["code"]["program"] == "train.ipynb"
        text = json.dumps(msgs)
        for private in (HOST, "secret-repo", "ghp_token", "/home/alice", "alice/proj"):
            assert private not in text, private
        assert contents(msgs, "points")

        # Not the project (page, compare events, range), not another run (page, events).
        slug = page.split("/")[2]
        for path in (
            page + "compare/range?id=1&start=0&end=9&run=r1&key=loss",
            page + "runs/r2",
            page + "runs/r1",
            f"/v/{slug}/runs/r2/events",
        ):
            r = client.get(path)
            assert r.status_code == 404, (path, r.status_code)
            assert "r2" not in r.text and "alice" not in r.text
        assert status_of_stream(client, page + "compare/events") == 404
        assert status_of_stream(client, f"/v/{slug}/runs/r2/events") == 404
        # The server's own pages: the sign-in, as for anyone signed out.
        for path in ("/", "/alice/proj", "/alice/proj/runs/r2", "/alice/proj/runs/r1"):
            r = client.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
        for path in ("/alice/proj/compare/events", "/alice/proj/runs/r2/events"):
            assert status_of_stream(client, path) == 404, path
        r = client.get("/alice/proj/compare/range?id=1&start=0&end=9&run=r1&key=loss")
        assert r.status_code == 404
        # No API: neither the cookie nor the token is a key.
        for path in ("/api/v1/runs/alice/proj/r1", "/api/v1/projects/alice/proj/runs",
                     "/api/v1/shares?entity=alice&project=proj"):  # fmt: skip
            assert client.get(path).status_code == 401, path
            r = client.get(path, headers={"Authorization": f"Bearer {link['token']}"})
            assert r.status_code == 401, path
        # Another link's slug with this cookie: nothing (the cookie is not sent there, and a
        # cookie moved there by hand is no key to it).
        other = new_link(server, alice.key, run_id="r2")
        with holder(server, other["token"]) as (_, other_page):
            pass
        with httpx.Client(base_url=server.url, timeout=30) as moved:
            r = moved.get(other_page, headers={"Cookie": f"nbtrack_link={link['token']}"})
            assert r.status_code == 404


def test_a_links_traceback_holds_no_host_or_private_path(sqlite_server: ServerProcess) -> None:
    # Outside /home: a cluster's scratch folder, an environment of the user's; the host as
    # torch.distributed and NCCL name it; a lower-case Windows home.
    alice = sqlite_server.create_user("alice")
    meta = {
        "host": "gpu-box-7.cluster.example",
        "cwd": "/scratch/alice/proj",
        "executable": "/scratch/alice/envs/torch/bin/python",
        "program": "/scratch/alice/proj/train.py",
        "git": {"commit": "0123abcd" * 5, "remote": REMOTE},
    }
    error = (
        "Traceback (most recent call last):\n"
        '  File "/scratch/alice/proj/train.py", line 3, in <module>\n'
        '  File "/scratch/alice/envs/torch/lib/python3.11/site-packages/torch/x.py", line 9\n'
        '  File "c:\\users\\alice\\lib\\y.py", line 2\n'
        "RuntimeError: The client socket has failed to connect to [gpu-box-7]:29500 "
        f"(gpu-box-7.cluster.example; fetched from {REMOTE})"
    )
    put_run(sqlite_server, alice.key, "alice", "proj", "r1", metadata=meta, error=error)
    with holder(sqlite_server, new_link(sqlite_server, alice.key)["token"]) as (client, page):
        (header,) = contents(first_messages(client, page + "events"), "header")
    text = header["error"]
    for private in ("gpu-box-7", "cluster.example", "scratch", "alice", "secret-repo", "envs/"):
        assert private not in text, (private, text)
    # What helps to read it stays: the files' names, the line numbers, the error, the port.
    for kept in ('train.py", line 3', "site-packages/torch/x.py", "y.py", "RuntimeError", "29500"):
        assert kept in text, (kept, text)
    # The owner's own page shows it whole.
    with signed_in(sqlite_server, alice) as browser:
        (own,) = contents(first_messages(browser, "/alice/proj/runs/r1/events"), "header")
    assert own["error"] == error


def test_a_project_link_shows_the_project_and_nothing_outside(
    server: ServerProcess, alice: User
) -> None:
    project_with_runs(server, alice)
    put_run(server, alice.key, "alice", "other", "x")
    link = new_link(server, alice.key, run_id=None)
    with holder(server, link["token"]) as (client, page):
        r = client.get(page)
        assert r.status_code == 200 and "data-nbtrack-compare" in r.text
        assert f'data-run-base="{page}runs/"' in r.text
        assert "alice" not in r.text and 'href="/"' not in r.text

        msgs = first_messages(client, page + "compare/events")
        (runs,) = contents(msgs, "runs")
        rows = {row["id"]: row for row in runs["runs"]}
        assert set(rows) == {"r1", "r2"}
        for row in rows.values():
            assert row["entity"] is None and row["project"] == "proj"
            assert row["url"] == f"{page}runs/{row['id']}"
            assert row["git"]["url"] is None
        assert rows["r1"]["git"]["commit"] == META["git"]["commit"]  # type: ignore[index]
        assert "secret-repo" not in json.dumps(msgs) and "alice" not in json.dumps(msgs)
        r = client.get(page + "compare/range", params={"id": 3, "start": 0, "end": 9,
                                                       "run": ["r1", "r2"], "key": "loss"})  # fmt: skip
        assert r.status_code == 200 and r.headers["referrer-policy"] == "no-referrer"
        assert r.json()["messages"][0]["content"]["request"] == 3

        # Its runs' pages, live.
        for run_id in ("r1", "r2"):
            r = client.get(f"{page}runs/{run_id}")
            assert r.status_code == 200 and f'data-run-id="{run_id}"' in r.text
            assert f'href="{page}"' in r.text  # back to the project, within the link
            (header,) = contents(first_messages(client, f"{page}runs/{run_id}/events"), "header")
            assert header["id"] == run_id and header["project"] == "proj"
        # Nothing outside: another project of the same owner, a run that is not there.
        for path in (page + "runs/x", page + "runs/ghost"):
            assert client.get(path).status_code == 404, path
        assert status_of_stream(client, page + "runs/x/events") == 404
        for path in ("/alice/other", "/alice/other/runs/x", "/alice/proj"):
            r = client.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
        assert status_of_stream(client, "/alice/other/compare/events") == 404
        assert client.get("/api/v1/projects/alice/other/runs").status_code == 401

    # Made with show_private, the same link shows what the owner chose to show.
    shown = new_link(server, alice.key, run_id="r1", show_private=True)
    with holder(server, shown["token"]) as (client, page):
        (overview,) = contents(first_messages(client, page + "events"), "overview")
        assert overview["system"]["host"] == HOST
        assert (
            overview["code"]["url"]
            == f"https://github.com/alice/secret-repo/commit/{'0123abcd' * 5}"
        )


def test_a_range_past_64_bits_is_refused_not_failed(sqlite_server: ServerProcess) -> None:
    alice = sqlite_server.create_user("alice")
    project_with_runs(sqlite_server, alice)
    link = new_link(sqlite_server, alice.key, run_id=None)
    with holder(sqlite_server, link["token"]) as (client, page), \
            signed_in(sqlite_server, alice) as browser:  # fmt: skip
        for who, path in ((client, page + "compare/range"), (browser, "/alice/proj/compare/range")):
            for start, end in ((0, 2**63), (-(2**63) - 1, 9), (0, 10**30)):
                r = who.get(path, params={"id": 1, "start": start, "end": end, "run": "r1",
                                          "key": "loss"})  # fmt: skip
                assert r.status_code == 422, (path, start, end, r.status_code, r.text)
            r = who.get(path, params={"id": 1, "start": -(2**63), "end": 2**63 - 1, "run": "r1",
                                      "key": "loss"})  # fmt: skip
            assert r.status_code == 200, r.text
            assert r.json()["messages"][0]["content"]["request"] == 1


# -- secrets at rest (Must show 4, the server's half) --------------------------------------


def _dump(server: ServerProcess, request: pytest.FixtureRequest) -> str:
    """Every row of every table, as text."""
    url = server.database_url
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            tables = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            assert "share_links" in tables and "share_grants" in tables
            out = []
            for t in tables:
                for row in conn.execute(f'SELECT * FROM "{t}"'):
                    out.append(f"{t}: " + " | ".join(
                        v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row
                    ))  # fmt: skip
            return "\n".join(out)
        finally:
            conn.close()
    cluster = request.getfixturevalue("postgres")
    dbname = url.rsplit("/", 1)[1]
    proc = subprocess.run(
        [str(cluster.bindir / "pg_dump"), "--data-only", "--inserts", cluster.dsn_for(dbname)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert "share_links" in proc.stdout and "share_grants" in proc.stdout
    return proc.stdout


def test_the_database_holds_no_token_or_key_in_clear(
    server: ServerProcess, alice: User, request: pytest.FixtureRequest
) -> None:
    project_with_runs(server, alice)
    db = server.db()
    try:
        second_key = accounts.new_key(db, "alice")
    finally:
        db.dispose()
    with signed_in(server, alice) as browser:
        session = browser.cookies["nbtrack_session"]
        page_link = browser.post(
            "/alice/proj/shares", json={"run_id": "r2"}, headers=PAGE_HEADERS
        ).json()["token"]
    grant_token = grant(server, alice.key).json()["token"]
    run_link = new_link(server, grant_token)["token"]
    project_link = new_link(server, alice.key, run_id=None)["token"]
    revoked = new_link(server, alice.key)
    assert server.call("DELETE", f"/api/v1/shares/{revoked['id']}", alice.key).status_code == 204
    with holder(server, run_link) as (client, page):
        assert client.get(page).status_code == 200
    secrets = {
        "key": alice.key, "second key": second_key, "session": session, "grant": grant_token,
        "run link": run_link, "project link": project_link, "page's link": page_link,
        "revoked link": revoked["token"],
    }  # fmt: skip
    dump = _dump(server, request)
    assert security.digest(run_link) in dump  # the dump is whole: the hashes are there
    for what, secret in secrets.items():
        body = secret[4:-6]  # without the prefix and the checksum, which are no secret
        assert body not in dump, what
        assert secret not in dump, what


# -- revocation, on every worker (PostgreSQL) ----------------------------------------------


def _read_stream(client: httpx.Client, path: str, events: queue.Queue[str]) -> None:
    try:
        with client.stream("GET", path, timeout=httpx.Timeout(30, read=None)) as r:
            events.put(f"status {r.status_code}")
            for line in r.iter_lines():
                if line.startswith("event: "):
                    events.put(line)
    except httpx.HTTPError as e:
        events.put(f"error {e!r}")
    events.put("ended")


def test_a_revoked_link_closes_on_every_worker_and_its_streams_end(
    tmp_path: Path, migrated_pg_url: str
) -> None:
    s = ServerProcess(tmp_path / "server", migrated_pg_url, workers=2).start()
    try:
        alice = s.create_user("alice")
        project_with_runs(s, alice)
        link = new_link(s, alice.key, run_id="r1")
        project_link = new_link(s, alice.key, run_id=None)
        with holder(s, link["token"]) as (client, page), \
                holder(s, project_link["token"]) as (pclient, ppage):  # fmt: skip
            run_events: queue.Queue[str] = queue.Queue()
            project_events: queue.Queue[str] = queue.Queue()
            threads = [
                threading.Thread(target=_read_stream, args=(client, page + "events", run_events),
                                 daemon=True),
                threading.Thread(target=_read_stream,
                                 args=(pclient, ppage + "compare/events", project_events),
                                 daemon=True),
            ]  # fmt: skip
            for t in threads:
                t.start()
            for got in (run_events, project_events):
                assert got.get(timeout=60) == "status 200"
                assert got.get(timeout=60) == "event: messages"
            # Both workers open it (fresh connections land on either).
            for _ in range(10):
                with httpx.Client(base_url=s.url, timeout=30, cookies=client.cookies) as fresh:
                    assert fresh.get(page).status_code == 200

            for revoked in (link, project_link):
                r = s.call("DELETE", f"/api/v1/shares/{revoked['id']}", alice.key)
                assert r.status_code == 204
            for _ in range(20):
                with httpx.Client(base_url=s.url, timeout=30, cookies=client.cookies) as fresh:
                    assert fresh.get(page).status_code == 404
                    assert fresh.get(f"/s/{link['token']}").status_code == 404
                with httpx.Client(base_url=s.url, timeout=30, cookies=pclient.cookies) as fresh:
                    assert fresh.get(ppage).status_code == 404
                    assert fresh.get(ppage + "runs/r2").status_code == 404
            # The streams opened before end by themselves (each looks at its link).
            for got in (run_events, project_events):
                while (line := got.get(timeout=60)) != "ended":
                    assert line.startswith(("event:", "error")), line
            for t in threads:
                t.join(timeout=30)
    finally:
        s.stop()


# -- throttling ---------------------------------------------------------------------------


def test_repeated_bad_tokens_end_in_429(sqlite_server: ServerProcess) -> None:
    alice = sqlite_server.create_user("alice")
    project_with_runs(sqlite_server, alice)
    good = new_link(sqlite_server, alice.key)
    revoked = new_link(sqlite_server, alice.key)
    assert (
        sqlite_server.call("DELETE", f"/api/v1/shares/{revoked['id']}", alice.key).status_code
        == 204
    )
    with httpx.Client(base_url=sqlite_server.url, timeout=30) as client:
        # A revoked link was a real one, not a guess: it does not count.
        for _ in range(security.THROTTLE_FAILURES + 2):
            r = client.get(f"/s/{revoked['token']}")
            assert r.status_code == 404 and r.headers["referrer-policy"] == "no-referrer"
        guesses = [
            "nbl_short",
            security.new_secret(security.LINK_PREFIX),
            security.new_secret(security.KEY_PREFIX),
            good["token"][:-1] + ("A" if good["token"][-1] != "A" else "B"),
        ]
        for i in range(security.THROTTLE_FAILURES):
            r = client.get(f"/s/{guesses[i % len(guesses)]}")
            assert r.status_code == 404, r.text
            assert "proj" not in r.text and "alice" not in r.text
        r = client.get(f"/s/{security.new_secret(security.LINK_PREFIX)}")
        assert r.status_code == 429
        assert 1 <= int(r.headers["retry-after"]) <= security.THROTTLE_WINDOW_S + 1
        assert r.headers["referrer-policy"] == "no-referrer"
        # Throttled means not checked: the good link waits too, and so do its pages.
        assert client.get(f"/s/{good['token']}").status_code == 429


def _throttle_rows(server: ServerProcess, *, age_s: float = 0.0) -> int:
    """How many addresses the throttle holds; with `age_s`, their windows moved that far
    into the past first, as the clock would."""
    db = server.db()
    try:
        with db.write() as conn:
            if age_s:
                conn.exec_driver_sql(f"UPDATE throttle SET window_start = window_start - {age_s}")
            return int(conn.exec_driver_sql("SELECT COUNT(*) FROM throttle").scalar_one())
    finally:
        db.dispose()


def test_the_throttle_is_per_address_and_forgets_old_addresses(
    sqlite_server: ServerProcess,
) -> None:
    # Behind a proxy on the same machine, a client's address is the one its X-Forwarded-For
    # names (uvicorn trusts that header from 127.0.0.1): so many clients can be played here.
    def guess(address: str) -> int:
        r = httpx.get(
            f"{sqlite_server.url}/s/{security.new_secret(security.LINK_PREFIX)}",
            headers={"X-Forwarded-For": address}, timeout=30,
        )  # fmt: skip
        return r.status_code

    for _ in range(security.THROTTLE_FAILURES):
        assert guess("203.0.113.1") == 404
    assert guess("203.0.113.1") == 429
    assert guess("203.0.113.2") == 404  # another address is not held up
    for i in range(30):  # an address a guess, as from a block of IPv6 addresses
        assert guess(f"2001:db8::{i:x}") == 404
    assert _throttle_rows(sqlite_server) == 32
    # A minute on, their windows are over: a new failure forgets them, so the table holds
    # the last window's addresses only, however many have come and gone.
    _throttle_rows(sqlite_server, age_s=2 * security.THROTTLE_WINDOW_S)
    assert guess("198.51.100.7") == 404
    assert _throttle_rows(sqlite_server) == 1
    assert guess("203.0.113.1") == 404  # its window is over too


def test_tokens_in_the_cookie_are_throttled_too(sqlite_server: ServerProcess) -> None:
    alice = sqlite_server.create_user("alice")
    project_with_runs(sqlite_server, alice)
    with holder(sqlite_server, new_link(sqlite_server, alice.key)["token"]) as (client, page):
        assert client.get(page).status_code == 200
        with httpx.Client(base_url=sqlite_server.url, timeout=30) as guesser:
            for _ in range(security.THROTTLE_FAILURES):
                guess = security.new_secret(security.LINK_PREFIX)
                r = guesser.get(page, headers={"Cookie": f"nbtrack_link={guess}"})
                assert r.status_code == 404
            # The address is at its limit: every link page waits now, with a cookie or not.
            assert guesser.get(page).status_code == 429
        assert client.get(page).status_code == 429


# -- public projects, the toggle and the pages' share calls --------------------------------


def test_a_public_project_opens_without_a_sign_in(
    server: ServerProcess, alice: User, bob: User
) -> None:
    project_with_runs(server, alice)
    anonymous = httpx.Client(base_url=server.url, timeout=30)
    try:
        assert anonymous.get("/alice/proj").status_code == 303
        r = server.call("PUT", "/api/v1/projects/alice/proj/public", alice.key,
                        json={"public": True})  # fmt: skip
        assert r.status_code == 200 and r.json() == {
            "entity": "alice",
            "name": "proj",
            "public": True,
        }
        for path in ("/alice/proj", "/alice/proj/runs/r1"):
            r = anonymous.get(path)
            assert r.status_code == 200, path
            assert "data-shares" not in r.text and "nbt-public" not in r.text
        msgs = first_messages(anonymous, "/alice/proj/runs/r1/events")
        # Readers from outside the project see what a link holder sees of its machine.
        (overview,) = contents(msgs, "overview")
        assert overview["system"]["host"] is None and overview["code"]["url"] is None
        (runs,) = contents(first_messages(anonymous, "/alice/proj/compare/events"), "runs")
        assert {row["id"] for row in runs["runs"]} == {"r1", "r2"}
        assert all(row["git"]["url"] is None for row in runs["runs"])
        # ... and bob, signed in, reads it but cannot share it or flip it.
        with signed_in(server, bob) as browser:
            r = browser.get("/alice/proj")
            assert r.status_code == 200 and "data-shares" not in r.text
            r = browser.post("/alice/proj/public", data={"public": "0"})
            assert r.status_code == 404
            r = browser.get("/alice/proj/shares", headers=PAGE_HEADERS)
            assert r.status_code == 404
        assert server.call("PUT", "/api/v1/projects/alice/proj/public", bob.key,
                           json={"public": False}).status_code == 404  # fmt: skip
        # Private again: the sign-in again.
        r = server.call("PUT", "/api/v1/projects/alice/proj/public", alice.key,
                        json={"public": False})  # fmt: skip
        assert r.json()["public"] is False
        assert anonymous.get("/alice/proj/runs/r1").status_code == 303
        assert anonymous.post("/alice/proj/public", data={"public": "1"}).status_code == 303
    finally:
        anonymous.close()


def test_the_project_page_toggle_and_the_server_cli(sqlite_server: ServerProcess) -> None:
    alice = sqlite_server.create_user("alice")
    project_with_runs(sqlite_server, alice)
    with signed_in(sqlite_server, alice) as browser:
        r = browser.get("/alice/proj")
        assert r.status_code == 200
        assert 'action="/alice/proj/public"' in r.text and 'value="1"' in r.text
        # Another site's form is refused, whatever the cookie.
        r = browser.post("/alice/proj/public", data={"public": "1"},
                         headers={"Origin": "https://evil.example"})  # fmt: skip
        assert r.status_code == 403
        assert sqlite_server.call("GET", "/api/v1/projects", alice.key).json()[0]["public"] is False
        r = browser.post("/alice/proj/public", data={"public": "1"},
                         headers={"Origin": sqlite_server.url})  # fmt: skip
        assert r.status_code == 303 and r.headers["location"] == "/alice/proj"
        assert sqlite_server.call("GET", "/api/v1/projects", alice.key).json()[0]["public"] is True
        assert 'value="0"' in browser.get("/alice/proj").text
        assert browser.post("/alice/proj/public", data={"public": "x"}).status_code == 422

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "nbtrack.cli", "server", "set-public", *args,
             "--database-url", sqlite_server.database_url],
            capture_output=True, text=True, timeout=120, env=child_env(),
        )  # fmt: skip

    done = cli("alice/proj", "--private")
    assert done.returncode == 0 and "private" in done.stdout, done.stderr
    assert sqlite_server.call("GET", "/api/v1/projects", alice.key).json()[0]["public"] is False
    done = cli("alice/proj")
    assert done.returncode == 0 and "public" in done.stdout, done.stderr
    assert sqlite_server.call("GET", "/api/v1/projects", alice.key).json()[0]["public"] is True
    for bad, says in (("alice/ghost", "no project alice/ghost"), ("noslash", "ENTITY/PROJECT")):
        done = cli(bad)
        assert done.returncode != 0 and says in done.stderr, (bad, done.stderr)


def test_the_pages_share_calls(server: ServerProcess, alice: User, bob: User) -> None:
    project_with_runs(server, alice)
    with signed_in(server, alice) as browser:
        run_page = browser.get("/alice/proj/runs/r1").text
        assert 'data-shares="/alice/proj/shares"' in run_page
        assert 'data-share-run="r1"' in run_page
        project_page = browser.get("/alice/proj").text
        assert 'data-shares="/alice/proj/shares"' in project_page
        assert "data-share-run" not in project_page

        made = browser.post("/alice/proj/shares", json={"run_id": "r1"}, headers=PAGE_HEADERS)
        assert made.status_code == 201, made.text
        link = made.json()
        assert link["path"] == "/s/" + link["token"] and link["scope"] == "run"
        whole = browser.post(
            "/alice/proj/shares",
            json={"entity": "alice", "project": "proj", "run_id": None, "expires_in_s": 60},
            headers=PAGE_HEADERS,
        )
        assert whole.status_code == 201 and whole.json()["scope"] == "project"
        r = browser.get("/alice/proj/shares", params={"run_id": "r1"}, headers=PAGE_HEADERS)
        assert [x["id"] for x in r.json()] == [link["id"]]
        assert len(browser.get("/alice/proj/shares", headers=PAGE_HEADERS).json()) == 2

        # Only from its own pages: the header, and no other site's Origin.
        assert browser.get("/alice/proj/shares").status_code == 403
        assert browser.post("/alice/proj/shares", json={"run_id": "r1"}).status_code == 403
        evil = {**PAGE_HEADERS, "Origin": "https://evil.example"}
        assert (
            browser.post("/alice/proj/shares", json={"run_id": "r1"}, headers=evil).status_code
            == 403
        )
        assert browser.delete(f"/alice/proj/shares/{link['id']}", headers=evil).status_code == 403
        ours = {**PAGE_HEADERS, "Origin": server.url}
        r = browser.post(
            "/alice/proj/shares", json={"project": "other", "run_id": "r1"}, headers=ours
        )
        assert r.status_code == 422
        assert (
            browser.post("/alice/proj/shares", json={"run_id": "ghost"}, headers=ours).status_code
            == 404
        )

        assert browser.delete(f"/alice/proj/shares/{link['id']}", headers=ours).status_code == 204
        assert browser.delete(f"/alice/proj/shares/{link['id']}", headers=ours).status_code == 404
        assert len(listed(server, alice.key).json()) == 1
    with signed_in(server, bob) as browser:
        assert browser.get("/alice/proj").status_code == 404
        r = browser.post("/alice/proj/shares", json={"run_id": "r1"}, headers=PAGE_HEADERS)
        assert r.status_code == 404
        r = browser.delete(f"/alice/proj/shares/{whole.json()['id']}", headers=PAGE_HEADERS)
        assert r.status_code == 404
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        assert anonymous.get("/alice/proj/shares", headers=PAGE_HEADERS).status_code == 401
    # The API's key opens no page call either (pages take the session cookie only).
    r = server.call("GET", "/alice/proj/shares", alice.key, headers=PAGE_HEADERS)
    assert r.status_code == 401


# -- every page's safety ------------------------------------------------------------------


def _directives(csp: str) -> dict[str, list[str]]:
    out = {}
    for part in csp.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def test_every_page_sends_a_strict_csp_and_escapes_what_it_shows(
    sqlite_server: ServerProcess,
) -> None:
    alice = sqlite_server.create_user("alice")
    evil = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    put_run(sqlite_server, alice.key, "alice", "proj", "r1", notes=evil)
    r = sqlite_server.call("PUT", "/api/v1/runs/alice/proj/r1", alice.key, json={"name": evil})
    assert r.status_code == 200
    link = new_link(sqlite_server, alice.key)
    plink = new_link(sqlite_server, alice.key, run_id=None)
    pages: list[httpx.Response] = []
    with signed_in(sqlite_server, alice) as browser:
        pages += [browser.get(p) for p in ("/", "/alice/proj", "/alice/proj/runs/r1", "/login")]
    for token in (link["token"], plink["token"]):
        with holder(sqlite_server, token) as (client, page):
            pages.append(client.get(page))
            if token == plink["token"]:
                pages.append(client.get(page + "runs/r1"))
    with httpx.Client(base_url=sqlite_server.url, timeout=30) as anonymous:
        pages.append(anonymous.get("/s/nbl_nothing"))
    for r in pages:
        assert r.status_code in (200, 404), (r.url, r.status_code)
        d = _directives(r.headers["content-security-policy"])
        assert d["script-src"] == ["'self'"] and d["connect-src"] == ["'self'"], r.url
        assert d["default-src"] == ["'self'"] and d["object-src"] == ["'none'"]
        assert d["frame-ancestors"] == ["'none'"] and d["base-uri"] == ["'none'"]
        assert not any("unsafe-eval" in v or "*" in v for vs in d.values() for v in vs)
        assert r.headers["x-content-type-options"] == "nosniff"
        # No inline script: every <script> has a src on this server.
        for tag in re.findall(r"<script\b[^>]*>", r.text):
            assert re.search(r'\ssrc="/static/', tag), (r.url, tag)
        assert "<script>alert" not in r.text and "<img src=x" not in r.text, r.url
    # The run's name, as text: the run page, the run link's page, the project link's run page.
    for r in (pages[2], pages[4], pages[6]):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=" in r.text, r.url


def test_server_names_are_reserved(tmp_path: Path) -> None:
    from nbtrack.server.db import Database, migrate

    url = f"sqlite:///{tmp_path}/s.db"
    migrate(url)
    db = Database(url, pool_size=1)
    try:
        for name in ("s", "v", "api", "static"):
            with pytest.raises(accounts.AccountError, match="server's own pages"):
                accounts.create_user(db, name, "a password")
            with pytest.raises(accounts.AccountError, match="server's own pages"):
                accounts.create_team(db, name)
    finally:
        db.dispose()

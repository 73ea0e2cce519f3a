"""`nbtrack ui` as a user runs it: a real process serving a real store, read over HTTP.

The store holds runs made by `nbtrack.init` in this process: a project whose name has a slash
and markup in it, a run whose name is a script tag. The pages are checked as HTML (the CSP
header, every name escaped), the live streams by decoding their first events as the page
does, and the process by how it listens (127.0.0.1 only) and how it stops (Ctrl-C, exit 0).
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

import nbtrack
from tests.helpers import PYTHON, child_env
from tests.protocol_helpers import decode_points
from tests.ui_process import Ui, seg, start_ui

pytest.importorskip("fastapi", reason="nbtrack ui needs the server extra")
pytest.importorskip("uvicorn", reason="nbtrack ui needs the server extra")

pytestmark = pytest.mark.slow  # a server process or two; seconds each on a busy machine

PROJECT = "team/<b>sweep</b>"  # a slash (one path segment all the same) and markup
NAME = "<script>window.__pwned = 1</script>"
STEPS = 30


def make_store(root: Path) -> dict[str, str]:
    """Two finished runs of PROJECT and one of "other"; their ids by name."""
    ids = {}
    for project, name, lr in ((PROJECT, NAME, 0.1), (PROJECT, "plain", 0.01), ("other", "o", 1)):
        run = nbtrack.init(
            project=project, name=name, dir=root, display=False, config={"lr": lr, NAME: NAME}
        )
        for s in range(STEPS):
            run.log({"train/loss": lr / (s + 1), "train/acc": s / STEPS})
        run.finish(quiet=True)
        ids[name] = run.id
    return ids


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("ui") / "store"
    return root, make_store(root)


@pytest.fixture(scope="module")
def ui(
    store: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ui]:
    served = start_ui(store[0], tmp_path_factory.mktemp("ui-log"), "--no-browser")
    yield served
    code, out = served.stop()
    assert code == 0, (out, served.stderr.read_text())


Event = tuple[str | None, list[dict[str, Any]]]


def sse_events(
    url: str, headers: dict[str, str] | None = None, timeout: float = 60
) -> Iterator[Event]:
    """The ``messages`` events of the stream at `url`, as they come: (id, messages), each
    message's buffers decoded from base64. Closing the generator closes the stream."""
    with httpx.stream("GET", url, headers=headers, timeout=timeout) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        event: dict[str, str] = {}
        for line in r.iter_lines():
            if line:
                name, _, value = line.partition(":")
                event[name] = value.removeprefix(" ")
                continue
            if event.get("event") == "messages":
                msgs = json.loads(event["data"])["messages"]
                for m in msgs:
                    m["buffers"] = [base64.b64decode(b) for b in m["buffers"]]
                yield event.get("id"), msgs
            event = {}
    raise AssertionError(f"the stream at {url} ended")


def first_event(url: str, headers: dict[str, str] | None = None) -> Event:
    with contextlib.closing(sse_events(url, headers)) as events:
        return next(events)


def of_type(msgs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in msgs if m["content"]["type"] == kind]


# -- pages ------------------------------------------------------------------------------------


def test_the_front_page_lists_the_projects_and_their_runs(ui: Ui) -> None:
    assert ui.url == f"http://127.0.0.1:{ui.port}/"
    r = ui.get("/")  # no cookie, no key: nothing to sign in to
    assert r.status_code == 200
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    html = r.text
    assert f'<a href="/{seg(PROJECT)}">team/&lt;b&gt;sweep&lt;/b&gt;</a></td><td>2</td>' in html
    assert '<a href="/other">other</a></td><td>1</td>' in html
    assert "<b>" not in html


def test_a_project_page_is_its_compare_view(ui: Ui) -> None:
    r = ui.get(f"/{seg(PROJECT)}")
    assert r.status_code == 200
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    html = r.text
    assert "<h1>team/&lt;b&gt;sweep&lt;/b&gt;</h1>" in html
    assert "<b>" not in html
    assert "data-nbtrack-compare" in html
    assert f'data-run-base="/{seg(PROJECT)}/runs/"' in html
    assert '<script type="module" src="/static/widget.js"></script>' in html
    # Every script is a file of this server: the bundle and BokehJS.
    for src in (
        "/static/widget.js",
        "/static/bokeh/bokeh.min.js",
        "/static/bokeh/bokeh-api.min.js",
    ):
        got = ui.get(src)
        assert got.status_code == 200, src
        assert got.headers["content-type"].startswith("text/javascript")
    assert ui.get("/static/site.css").headers["content-type"].startswith("text/css")
    assert ui.get("/static/bokeh/other.js").status_code == 404


def test_a_run_page_is_its_dashboard(ui: Ui, store: tuple[Path, dict[str, str]]) -> None:
    run_id = store[1][NAME]
    r = ui.get(f"/{seg(PROJECT)}/runs/{run_id}")
    assert r.status_code == 200
    assert "script-src 'self'" in r.headers["content-security-policy"]
    html = r.text
    assert "<script>window" not in html
    assert "<title>&lt;script&gt;window.__pwned = 1&lt;/script&gt; · team/&lt;b&gt;" in html
    assert f'data-nbtrack-run data-run-id="{run_id}"' in html
    assert f'data-events="/{seg(PROJECT)}/runs/{run_id}/events"' in html
    assert f'<a href="/{seg(PROJECT)}">team/&lt;b&gt;sweep&lt;/b&gt;</a>' in html


def test_what_is_not_there_answers_404(ui: Ui, store: tuple[Path, dict[str, str]]) -> None:
    r = ui.get(f"/{seg(PROJECT)}/runs/nosuchrun")
    assert r.status_code == 404
    assert "No run team/&lt;b&gt;sweep&lt;/b&gt;/nosuchrun in this store" in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    # A run of another project is not this project's.
    assert ui.get(f"/{seg(PROJECT)}/runs/{store[1]['o']}").status_code == 404
    assert ui.get("/nosuchproject").status_code == 404
    assert ui.get(f"/{seg(PROJECT)}/runs/nosuchrun/events").status_code == 404
    assert ui.get("/nosuchproject/compare/p/events").status_code == 404
    assert ui.get(f"/{seg(PROJECT)}/somewhere/else").status_code == 404


# -- live streams ---------------------------------------------------------------------------


def test_a_run_stream_starts_with_the_whole_run(ui: Ui, store: tuple[Path, dict[str, str]]) -> None:
    run_id = store[1][NAME]
    url = f"{ui.url}{seg(PROJECT)}/runs/{run_id}/events"
    event_id, msgs = first_event(url)
    (header,) = of_type(msgs, "header")
    assert header["content"]["name"] == NAME  # JSON, drawn as text by the page
    assert header["content"]["state"] == "finished"
    assert header["content"]["step"] == STEPS
    (overview,) = of_type(msgs, "overview")
    assert [NAME, NAME] in overview["content"]["config"]  # pairs, drawn as text
    (points,) = of_type(msgs, "points")
    got = decode_points(points["content"], points["buffers"])
    steps, loss = got["train/loss"]
    assert steps.tolist() == list(range(STEPS))
    np.testing.assert_array_equal(loss, 0.1 / (np.arange(STEPS) + 1))
    assert not of_type(msgs, "bokeh")  # the page loads BokehJS from the server itself

    # Where the store stood: a page that reconnects with it gets nothing twice.
    assert event_id is not None and event_id != "0.0"
    again, msgs = first_event(url, headers={"Last-Event-ID": event_id})
    assert again == event_id
    assert not of_type(msgs, "points")
    (header,) = of_type(msgs, "header")
    assert set(header["content"]["last"]) == {"train/loss", "train/acc"}


def test_a_run_stream_follows_a_training_run_and_resumes_where_it_was(
    ui: Ui, store: tuple[Path, dict[str, str]]
) -> None:
    run = nbtrack.init(project=PROJECT, name="live", dir=store[0], display=False)
    url = f"{ui.url}{seg(PROJECT)}/runs/{run.id}/events"
    seen: list[int] = []
    last_id = None

    def read_until(events: Iterator[Event], n: int) -> None:
        nonlocal last_id
        deadline = time.monotonic() + 60
        while len(seen) < n:
            assert time.monotonic() < deadline, f"steps {seen}, waiting for {n}"
            last_id, msgs = next(events)
            for p in of_type(msgs, "points"):
                steps, values = decode_points(p["content"], p["buffers"]).get("x", ([], []))
                assert list(steps) == list(values)  # x is its step
                seen.extend(int(s) for s in steps)

    try:
        for s in range(5):
            run.log({"x": float(s)})
        with contextlib.closing(sse_events(url)) as events:
            read_until(events, 5)
            for s in range(5, 10):  # logged while the page watches: they come live
                run.log({"x": float(s)})
            read_until(events, 10)
        assert last_id is not None
        for s in range(10, 15):  # logged while the page is away
            run.log({"x": float(s)})
        # It reconnects, with the id of the last event it had: the rest, nothing twice.
        with contextlib.closing(sse_events(url, {"Last-Event-ID": last_id})) as events:
            read_until(events, 15)
            run.finish(quiet=True)
            deadline = time.monotonic() + 60
            while True:
                assert time.monotonic() < deadline, "the page never heard the run finish"
                _, msgs = next(events)
                if any(h["content"]["state"] == "finished" for h in of_type(msgs, "header")):
                    break
        assert seen == list(range(15))
    finally:
        run.finish(quiet=True)


def test_a_project_stream_sends_rows_then_curves_and_answers_ranges(
    ui: Ui, store: tuple[Path, dict[str, str]]
) -> None:
    ids = store[1]
    page = ui.get(f"/{seg(PROJECT)}").text
    events = page.split('data-events="', 1)[1].split('"', 1)[0]
    range_url = page.split('data-range="', 1)[1].split('"', 1)[0]
    assert events.startswith(f"/{seg(PROJECT)}/compare/") and events.endswith("/events")
    got: list[dict[str, Any]] = []
    with contextlib.closing(sse_events(ui.url.rstrip("/") + events)) as stream:
        while not of_type(got, "curves"):
            event_id, msgs = next(stream)
            assert event_id is None  # no ids: a reconnect gets the snapshot again
            got.extend(msgs)
    (rows,) = of_type(got, "runs")
    assert got[0] is rows  # the table first
    by_name = {r["name"]: r for r in rows["content"]["runs"]}
    assert set(by_name) >= {NAME, "plain"} and "o" not in by_name
    assert by_name[NAME]["id"] == ids[NAME]
    assert by_name[NAME]["state"] == "finished"
    lines = {(c["run"], c["key"]) for m in of_type(got, "curves") for c in m["content"]["curves"]}
    assert (ids[NAME], "train/loss") in lines and (ids["plain"], "train/acc") in lines

    # A zoomed range, whole, from the store; the page's own stream answers it.
    q = {"id": 7, "start": 10, "end": 14, "width": 800, "run": [ids[NAME]], "key": ["train/loss"]}
    with contextlib.closing(sse_events(ui.url.rstrip("/") + events)) as stream:
        while not of_type(next(stream)[1], "curves"):
            pass  # the page's feed has sent its snapshot: it answers
        r = ui.get(range_url, params=q)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    (answer,) = r.json()["messages"]
    assert answer["content"]["request"] == 7
    (curve,) = answer["content"]["curves"]
    assert curve["mode"] == "points" and curve["n"] == 5 and curve["first"] == 10
    values = np.frombuffer(base64.b64decode(answer["buffers"][curve["values_buf"]]), "<f8")
    np.testing.assert_array_equal(values, 0.1 / (np.arange(10, 15) + 1))
    # A page whose stream is gone (the ui restarted) is answered all the same.
    other = range_url.replace("/compare/", "/compare/gone-").rsplit("/", 1)[0] + "/range"
    assert ui.get(other, params=q).json()["messages"][0]["content"]["curves"][0]["n"] == 5

    bad = ui.get(range_url, params={"id": "x", "start": 0, "end": 1})
    assert bad.status_code == 400 and "integers" in bad.json()["detail"]
    assert "needs start=" in ui.get(range_url, params={"id": 1}).json()["detail"]


# -- the process ------------------------------------------------------------------------------


def _listening(port: int) -> list[str]:
    """Local addresses of the TCP sockets listening on `port`, as /proc/net lists them."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                addr, port_hex = fields[1].split(":")
                if fields[3] == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                    found.append(addr)
    return found


def test_it_listens_on_loopback_only_and_answers_its_own_names_only(ui: Ui) -> None:
    if Path("/proc/net/tcp").exists():
        assert _listening(ui.port) == ["0100007F"]  # 127.0.0.1, little-endian hex
    # Another loopback address of this machine is refused, and so is its outside one.
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.2", ui.port), 5):
        pass
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent for a UDP connect
            own: str | None = s.getsockname()[0]
        except OSError:
            own = None
    if own is not None and not own.startswith("127."):
        with pytest.raises(ConnectionRefusedError), socket.create_connection((own, ui.port), 5):
            pass
    # A page of another site whose name resolves to 127.0.0.1 (DNS rebinding) gets nothing.
    assert ui.get("/", headers={"Host": "attacker.example"}).status_code == 400
    assert ui.get("/", headers={"Host": f"localhost:{ui.port}"}).status_code == 200
    # It only reads: nothing is posted to it.
    assert httpx.post(ui.url, timeout=30).status_code == 405


def test_ctrl_c_stops_it_with_exit_code_0(
    store: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    served = start_ui(store[0], tmp_path, "--no-browser")
    try:
        run_url = f"{served.url}{seg(PROJECT)}/runs/{store[1][NAME]}/events"
        with (
            httpx.stream("GET", run_url, timeout=60) as r,
            httpx.stream("GET", f"{served.url}{seg(PROJECT)}/compare/p/events", timeout=60) as p,
        ):
            # Both streams open and sending while Ctrl-C comes.
            assert next(r.iter_lines()).startswith("event: messages")
            assert next(p.iter_lines()).startswith("event: messages")
            code, out = served.stop()
    finally:
        if served.proc.poll() is None:
            served.proc.kill()
            served.proc.communicate(timeout=30)
    assert code == 0, served.stderr.read_text()
    assert out.strip().endswith("nbtrack ui: stopped")
    assert "Traceback" not in served.stderr.read_text()


def test_a_port_in_use_a_missing_store_and_no_server_extra_say_so(
    store: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        out = subprocess.run(
            [PYTHON, "-m", "nbtrack.cli", "--dir", str(store[0]), "ui", "--port", str(port),
             "--no-browser"],
            capture_output=True, text=True, env=child_env(), timeout=120,
        )  # fmt: skip
    assert out.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in out.stderr and "--port 0" in out.stderr

    missing = tmp_path / "none"
    out = subprocess.run(
        [PYTHON, "-m", "nbtrack.cli", "--dir", str(missing), "ui", "--no-browser"],
        capture_output=True, text=True, env=child_env(), timeout=120,
    )  # fmt: skip
    assert out.returncode == 1
    assert f"no nbtrack store at {missing}" in out.stderr
    assert not missing.exists()

    # Without fastapi (the server extra not installed): what to install.
    blocked = (
        "import sys; sys.modules['fastapi'] = None\n"
        "from nbtrack.cli import main\n"
        f"sys.exit(main(['--dir', {str(store[0])!r}, 'ui', '--no-browser']))"
    )
    out = subprocess.run(
        [PYTHON, "-c", blocked], capture_output=True, text=True, env=child_env(), timeout=120
    )
    assert out.returncode == 1
    assert 'pip install "nbtrack[server]"' in out.stderr

"""Live pages across workers: an SSE stream on one server process receives what another
process on the same PostgreSQL took in, by LISTEN/NOTIFY; a dropped stream resumes with
Last-Event-ID, with no gap and no duplicate."""

from __future__ import annotations

import base64
import json
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from nbtrack.sync import frames
from tests.server.servers import ServerProcess

pytestmark = pytest.mark.server

# The streams look at the database on their own only this rarely: what arrives sooner came
# by notification.
_NO_POLL = {"NBTRACK_SERVER_POLL_S": "600"}


def _events(
    server: ServerProcess,
    key: str,
    path: str,
    last_id: int | None,
    out: queue.Queue[tuple[int, dict[str, Any]]],
    stop: threading.Event,
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    if last_id is not None:
        headers["Last-Event-ID"] = str(last_id)
    try:
        _read(server.url + path, headers, out, stop)
    except httpx.HTTPError:
        if not stop.is_set():  # a stream the test let go may break when the server stops
            raise


def _read(
    url: str,
    headers: dict[str, str],
    out: queue.Queue[tuple[int, dict[str, Any]]],
    stop: threading.Event,
) -> None:
    with httpx.stream("GET", url, headers=headers, timeout=None) as r:
        assert r.status_code == 200
        event: dict[str, str] = {}
        for line in r.iter_lines():
            if stop.is_set():
                return
            if not line:
                if event.get("event") == "messages":
                    out.put((int(event["id"]), json.loads(event["data"])))
                event = {}
                continue
            name, _, value = line.partition(":")
            event[name] = value.strip()


def _points(body: dict[str, Any]) -> dict[str, list[tuple[int, float]]]:
    """The points of one event, per key."""
    got: dict[str, list[tuple[int, float]]] = {}
    for m in body["messages"]:
        c, bufs = m["content"], [base64.b64decode(b) for b in m["buffers"]]
        if c["type"] != "points":
            continue
        for e in c["series"]:
            if e["key"] == "_time":
                continue
            values = np.frombuffer(bufs[e["values_buf"]], dtype="<f8")
            if "steps_buf" in e:
                dtype = "<i4" if e["steps"] == "i32" else "<f8"
                steps = np.frombuffer(bufs[e["steps_buf"]], dtype=dtype).astype(np.int64)
            else:
                steps = e["first"] + e["stride"] * np.arange(e["n"])
            got.setdefault(e["key"], []).extend(zip(steps.tolist(), values.tolist(), strict=True))
    return got


@pytest.fixture
def two_workers(
    tmp_path: Path, migrated_pg_url: str
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    # A with two worker processes of its own (`--workers 2`), B a second machine, as it were.
    a = ServerProcess(tmp_path / "a", migrated_pg_url, workers=2, env=_NO_POLL).start()
    b = ServerProcess(tmp_path / "b", migrated_pg_url, env=_NO_POLL).start()
    yield a, b
    a.stop()
    b.stop()


def _upload(server: ServerProcess, key: str, base: str, seq: int, steps: range) -> None:
    chunk = frames.scalar_chunk(
        "loss", (seq, seq), np.arange(steps.start, steps.stop, dtype=np.int64),
        np.arange(steps.start, steps.stop, dtype=np.float64) * 0.5,
    )  # fmt: skip
    r = server.call("POST", base + "/chunks", key, content=frames.encode([chunk]),
                    headers={"Content-Type": frames.CONTENT_TYPE})  # fmt: skip
    assert r.status_code == 200, r.text


def test_a_stream_on_one_worker_sees_uploads_through_another_and_resumes_exactly(
    two_workers: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = two_workers
    user = a.create_user("ada")
    base = "/api/v1/runs/ada/live/r1"
    assert a.call("PUT", base, user.key, json={"name": "r1"}).status_code == 200
    got: queue.Queue[tuple[int, dict[str, Any]]] = queue.Queue()
    stop = threading.Event()
    reader = threading.Thread(target=_events, args=(b, user.key, base + "/events", None, got, stop),
                              daemon=True)  # fmt: skip
    reader.start()
    first_id, _ = got.get(timeout=30)  # the header: the stream is open
    seen: dict[int, dict[str, list[tuple[int, float]]]] = {}
    for i in range(5):
        _upload(a, user.key, base, i + 1, range(i * 100, (i + 1) * 100))
        # Through worker A, seen on worker B's stream: only a notification can bring it.
        event_id, body = got.get(timeout=10)
        seen[event_id] = _points(body)
        assert seen[event_id]["loss"][0][0] == i * 100
    stop.set()  # the viewer's connection drops here ...
    last = max(seen)
    for i in range(5, 10):  # ... while the run goes on
        _upload(a, user.key, base, i + 1, range(i * 100, (i + 1) * 100))
    again: queue.Queue[tuple[int, dict[str, Any]]] = queue.Queue()
    stop2 = threading.Event()
    threading.Thread(target=_events, args=(b, user.key, base + "/events", last, again, stop2),
                     daemon=True).start()  # fmt: skip
    points: list[tuple[int, float]] = [p for ev in seen.values() for p in ev.get("loss", [])]
    while len(points) < 1000:
        event_id, body = again.get(timeout=30)
        assert event_id > last  # nothing it had seen comes again
        points.extend(_points(body).get("loss", []))
    stop2.set()
    assert first_id < min(seen)
    assert [s for s, _ in points] == list(range(1000))  # no gap, no duplicate, in order
    assert [v for _, v in points] == [s * 0.5 for s in range(1000)]

"""The server's HTTP API as a client sees it, on SQLite and PostgreSQL: runs, chunk uploads
(acknowledged once, refused when they contradict), series and histograms read back, who may
see what (404, never 403), keys and sessions, body limits, and the migrations."""

from __future__ import annotations

import base64
import functools
import json
import math
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import numpy as np
import pytest
import sqlalchemy as sa

from nbtrack.server import accounts, security
from nbtrack.server.db import Database, downgrade, migrate
from nbtrack.store import chunks as store_chunks
from nbtrack.sync import frames
from nbtrack.sync.frames import Chunk
from tests.server.servers import ServerProcess, User

pytestmark = pytest.mark.server

FRAME_HEADERS = {"content-type": frames.CONTENT_TYPE}
MAX_JSON = 4 << 20
MAX_FRAME = 16 << 20


# -- helpers ------------------------------------------------------------------------------


def run_path(entity: str, project: str, run_id: str, tail: str = "") -> str:
    return f"/api/v1/runs/{entity}/{project}/{run_id}{tail}"


def put_run(server: ServerProcess, user: User, path: str, **fields: Any) -> httpx.Response:
    return server.call("PUT", path, user.key, json=fields)


def post_frame(server: ServerProcess, key: str, path: str, body: bytes) -> httpx.Response:
    return server.call("POST", path + "/chunks", key, content=body, headers=FRAME_HEADERS)


def post_chunks(server: ServerProcess, user: User, path: str, *chunks: Chunk) -> httpx.Response:
    return post_frame(server, user.key, path, frames.encode(list(chunks)))


def ints(b64: str) -> np.ndarray[Any, np.dtype[np.int64]]:
    return np.frombuffer(base64.b64decode(b64), dtype="<i8")


def floats(b64: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.frombuffer(base64.b64decode(b64), dtype="<f8")


def scalars(key: str, seqs: tuple[int, int], steps: Any, values: Any) -> Chunk:
    return frames.scalar_chunk(
        key, seqs, np.asarray(steps, dtype=np.int64), np.asarray(values, dtype=np.float64)
    )


def series(server: ServerProcess, user: User, path: str, **params: Any) -> dict[str, Any]:
    r = server.call("GET", path + "/series", user.key, params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def whole(reply: dict[str, Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    return ints(reply["steps"]), floats(reply["values"])


def same_floats(got: np.ndarray[Any, Any], want: np.ndarray[Any, Any]) -> bool:
    """Bit for bit: NaN equals NaN, 0.0 differs from -0.0."""
    want = np.asarray(want, dtype="<f8")
    return got.shape == want.shape and got.tobytes() == want.tobytes()


def envelope(
    steps: np.ndarray[Any, Any], values: np.ndarray[Any, Any], width: int
) -> dict[str, Any]:
    """What `width` buckets of equal step span should hold, computed with Python integers
    (no int64 overflow) and NumPy per bucket: the reference the server's reply must match."""
    order = np.argsort(steps, kind="stable")
    s, v = steps[order], values[order]
    lo, hi = int(s[0]), int(s[-1])
    span = hi - lo + 1
    w = max(1, min(width, span))
    groups: dict[int, list[int]] = {}
    for i, step in enumerate(s.tolist()):
        groups.setdefault((step - lo) * w // span, []).append(i)
    out: dict[str, list[Any]] = {
        k: [] for k in ("step_lo", "step_hi", "vmin", "vmax", "last", "count")
    }
    for b in sorted(groups):
        idx = groups[b]
        vals = v[idx]
        fin = vals[np.isfinite(vals)]
        out["step_lo"].append(int(s[idx[0]]))
        out["step_hi"].append(int(s[idx[-1]]))
        out["vmin"].append(fin.min() if len(fin) else math.nan)
        out["vmax"].append(fin.max() if len(fin) else math.nan)
        out["last"].append(vals[-1])
        out["count"].append(len(idx))
    return {
        "step_lo": np.array(out["step_lo"], dtype=np.int64),
        "step_hi": np.array(out["step_hi"], dtype=np.int64),
        "vmin": np.array(out["vmin"], dtype=np.float64),
        "vmax": np.array(out["vmax"], dtype=np.float64),
        "last": np.array(out["last"], dtype=np.float64),
        "count": np.array(out["count"], dtype=np.int64),
    }


def assert_envelope(reply: dict[str, Any], want: dict[str, Any]) -> None:
    assert reply["buckets"] == len(want["count"])
    for name in ("step_lo", "step_hi", "count"):
        assert ints(reply[name]).tolist() == want[name].tolist(), name
    for name in ("vmin", "vmax", "last"):
        assert same_floats(floats(reply[name]), want[name]), (name, floats(reply[name]), want[name])


def raw_frame(header: Any, blobs: bytes = b"", hlen: int | None = None) -> bytes:
    """A frame packed as `frames.encode` packs one, around any header (`hlen` may lie)."""
    head = zlib.compress(header if isinstance(header, bytes) else json.dumps(header).encode())
    n = len(head) if hlen is None else hlen
    return frames.MAGIC + struct.pack("<I", n) + head + blobs


@contextmanager
def signed_in(server: ServerProcess, user: User) -> Iterator[httpx.Client]:
    """A browser-like client holding `user`'s session cookie (signed in with the password)."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        r = client.post(
            "/login", data={"username": user.name, "password": user.password, "next": "/"}
        )
        assert r.status_code == 303, r.text
        assert r.headers["location"] == "/"
        assert client.cookies.get("nbtrack_session"), r.headers
        home = client.get("/")
        assert home.status_code == 200 and user.name in home.text
        yield client


def first_event(response: httpx.Response) -> str:
    for line in response.iter_lines():
        if line.startswith("event: "):
            return line
    raise AssertionError("the stream ended before its first event")


@pytest.fixture
def alice(server: ServerProcess) -> User:
    return server.create_user("alice")


@pytest.fixture
def bob(server: ServerProcess) -> User:
    return server.create_user("bob")


# -- runs ---------------------------------------------------------------------------------


def test_put_creates_then_updates_and_get_reads_back(server: ServerProcess, alice: User) -> None:
    path = run_path("alice", "proj", "run-1")
    config = {
        "lr": 0.001,
        "layers": [64, 64],
        "optimizer": {"name": "adam", "betas": [0.9, 0.999]},
        "flag": True,
        "none": None,
        "text": "ünïcode ✓",
    }
    r = put_run(
        server, alice, path, name="first try", config=config, tags=["a", "b"],
        summary={"loss": "nan", "best": "inf", "worst": "-inf", "acc": 0.5}, notes="n",
    )  # fmt: skip
    assert r.status_code == 200, r.text
    reply = r.json()
    assert reply["created"] is True
    assert reply["high_water"] == {"s": {}, "h": {}, "m": 0}
    assert reply["run"]["id"] == "run-1" and reply["run"]["state"] == "running"

    r = put_run(server, alice, path, state="finished", exit_code=0, finished_at=1.7e9, last_step=9)
    assert r.status_code == 200, r.text
    assert r.json()["created"] is False

    got = server.call("GET", path, alice.key)
    assert got.status_code == 200, got.text
    run = got.json()
    assert run == r.json()["run"]
    # An update sends only what changed: the fields it did not name are kept.
    assert run["name"] == "first try" and run["notes"] == "n" and run["tags"] == ["a", "b"]
    assert run["config"] == config
    assert run["summary"] == {"loss": "nan", "best": "inf", "worst": "-inf", "acc": 0.5}
    assert run["state"] == "finished" and run["exit_code"] == 0
    assert run["finished_at"] == 1.7e9 and run["last_step"] == 9
    assert (run["entity"], run["project"]) == ("alice", "proj")


def test_nan_sent_as_a_bare_json_number_is_kept_as_the_string(
    server: ServerProcess, alice: User
) -> None:
    # Python's json writes NaN unless told not to: a client that forgets gets "nan" back, not
    # a reply no strict JSON parser can read.
    path = run_path("alice", "proj", "r")
    body = b'{"summary": {"loss": NaN, "up": Infinity}, "config": {"x": -Infinity}}'
    r = server.call(
        "PUT", path, alice.key, content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 200, r.text
    run = json.loads(server.call("GET", path, alice.key).text)  # strict: no NaN parsing needed
    assert run["summary"] == {"loss": "nan", "up": "inf"}
    assert run["config"] == {"x": "-inf"}


# -- uploads ------------------------------------------------------------------------------


def test_chunks_stored_once_and_resend_acknowledged(server: ServerProcess, alice: User) -> None:
    path = run_path("alice", "proj", "r")
    assert put_run(server, alice, path).status_code == 200
    loss = scalars("loss", (1, 3), [0, 1, 2], [1.0, math.nan, 0.5])
    acc = scalars("acc", (1, 2), [0, 5], [0.1, 0.2])
    hist = frames.histogram_chunk(
        "w", (1, 1), [(0, -1.0, 1.0, store_chunks.encode_counts(np.array([1, 2, 3])), "{}")]
    )
    r = post_chunks(server, alice, path, loss, acc, hist)
    assert r.status_code == 200, r.text
    first = r.json()
    assert (first["accepted"], first["duplicates"]) == (3, 0)
    assert first["high_water"] == {"s": {"loss": 3, "acc": 2}, "h": {"w": 1}, "m": 0}

    again = post_chunks(server, alice, path, loss, acc, hist)
    assert again.status_code == 200, again.text
    reply = again.json()
    assert (reply["accepted"], reply["duplicates"]) == (0, 3)
    assert reply["high_water"] == first["high_water"]
    # Nothing changed, so a live page has nothing new to fetch.
    assert reply["ingest_seq"] == first["ingest_seq"]

    steps, values = whole(series(server, alice, path, key="loss"))
    assert steps.tolist() == [0, 1, 2]
    assert same_floats(values, [1.0, math.nan, 0.5])
    hists = server.call("GET", path + "/histograms", alice.key, params={"key": "w"}).json()
    assert len(hists["entries"]) == 1

    # A resend mixed with new points: the new ones are stored, the old ones acknowledged.
    more = scalars("loss", (4, 5), [3, 4], [0.25, 0.125])
    r = post_chunks(server, alice, path, loss, more)
    assert r.status_code == 200, r.text
    assert (r.json()["accepted"], r.json()["duplicates"]) == (1, 1)
    assert r.json()["high_water"]["s"] == {"loss": 5, "acc": 2}
    assert r.json()["ingest_seq"] > first["ingest_seq"]

    state = server.call("GET", path + "/sync-state", alice.key)
    assert state.status_code == 200, state.text
    assert state.json()["high_water"] == {"s": {"loss": 5, "acc": 2}, "h": {"w": 1}, "m": 0}
    assert state.json()["ingest_seq"] == r.json()["ingest_seq"]
    steps, values = whole(series(server, alice, path, key="loss"))
    assert steps.tolist() == [0, 1, 2, 3, 4]
    assert same_floats(values, [1.0, math.nan, 0.5, 0.25, 0.125])


def test_different_chunk_at_a_stored_place_is_refused(server: ServerProcess, alice: User) -> None:
    path = run_path("alice", "proj", "r")
    assert put_run(server, alice, path).status_code == 200
    assert (
        post_chunks(server, alice, path, scalars("loss", (1, 2), [0, 1], [1, 2])).status_code == 200
    )

    for other in (
        scalars("loss", (1, 2), [0, 1], [1, 3]),  # other values
        scalars("loss", (1, 2), [0, 2], [1, 2]),  # other steps
        scalars("loss", (1, 1), [0], [1]),  # the same start, another end
        scalars("loss", (2, 3), [1, 2], [2, 3]),  # overlapping, not at a stored start
    ):
        r = post_chunks(server, alice, path, other)
        assert r.status_code == 409, (other, r.text)
        detail = r.json()["detail"]
        assert "'loss'" in detail and "differ" in detail

    # A refused frame stores nothing, not even its chunks that were fine.
    r = post_chunks(
        server,
        alice,
        path,
        scalars("acc", (1, 1), [0], [9]),
        scalars("loss", (1, 2), [0, 1], [5, 6]),
    )
    assert r.status_code == 409
    steps, values = whole(series(server, alice, path, key="loss"))
    assert steps.tolist() == [0, 1] and values.tolist() == [1.0, 2.0]
    assert series(server, alice, path, key="acc")["n"] == 0
    keys = server.call("GET", path + "/keys", alice.key).json()
    assert keys == {"scalars": ["loss"], "histograms": []}


def _garbage_frames() -> Iterator[tuple[str, bytes, str]]:
    good = frames.encode([scalars("loss", (1, 2), [0, 1], [1.0, 2.0])])
    spec = {
        "kind": "s", "key": "loss", "seq": [1, 1], "n": 1, "first": 0, "last": 0, "stride": 1,
        "steps": -1, "vals": 8,
    }  # fmt: skip
    value = struct.pack("<d", 1.0)
    packed = zlib.compress(json.dumps({"chunks": [spec]}).encode())
    yield "empty body", b"", "must start with"
    yield "bad magic", b"NBF0" + good[4:], "must start with"
    yield "no header", frames.MAGIC + b"\x01", "no header"
    yield "truncated", good[:-6], "past the end"
    yield "header not zlib", frames.MAGIC + struct.pack("<I", 8) + b"not zlib", "zlib"
    yield (
        "header zlib cut short",
        frames.MAGIC + struct.pack("<I", len(packed) - 4) + packed[:-4],
        "cut short",
    )
    yield "header not JSON", raw_frame(b"{chunks", value), "header is not valid"
    yield "header without chunks", raw_frame({"chunk": []}), "header is not valid"
    yield "header length too long", raw_frame({"chunks": [spec]}, value, hlen=10_000), "shorter"
    yield "header length too short", raw_frame({"chunks": [spec]}, value, hlen=5), "header"
    yield (
        "vals longer than the frame",
        raw_frame({"chunks": [{**spec, "vals": 16}]}, value),
        "past the end",
    )
    yield (
        "vals shorter than n",
        raw_frame({"chunks": [{**spec, "n": 2, "last": 1}]}, value),
        "need 16 bytes",
    )
    yield "bytes left over", raw_frame({"chunks": [spec]}, value + b"extra"), "past its last chunk"
    yield "last step lies", raw_frame({"chunks": [{**spec, "last": 7}]}, value), "do not match"
    yield "unknown kind", raw_frame({"chunks": [{**spec, "kind": "x"}]}, value), "kind"
    yield "empty key", raw_frame({"chunks": [{**spec, "key": ""}]}, value), "key"
    yield "seq backwards", raw_frame({"chunks": [{**spec, "seq": [3, 2]}]}, value), "seq last"
    yield "seq zero", raw_frame({"chunks": [{**spec, "seq": [0, 0]}]}, value), "seq first"
    yield "n not a number", raw_frame({"chunks": [{**spec, "n": "1"}]}, value), "n must be"
    yield (
        "missing field",
        raw_frame({"chunks": [{k: v for k, v in spec.items() if k != "vals"}]}, value),
        "chunk 0",
    )
    yield "chunk not an object", raw_frame({"chunks": ["loss"]}, value), "chunk 0"
    yield (
        "steps not zlib",
        raw_frame(
            {"chunks": [{**spec, "n": 2, "last": 1, "stride": 0, "steps": 4, "vals": 16}]},
            b"junk" + value * 2,
        ),
        "steps cannot be decoded",
    )
    hspec = {**spec, "kind": "h", "vals": 4}
    yield "histogram too short", raw_frame({"chunks": [hspec]}, b"abcd"), "shorter than its entries"
    hist = np.array([0.0, 1.0], "<f8").tobytes() + struct.pack("<I", 1) + struct.pack("<q", 5)
    yield (
        "histogram stats not JSON",
        raw_frame({"chunks": [{**hspec, "vals": len(hist) + 3}]}, hist + b"{{{"),
        "not JSON",
    )
    nested = b"[" * 100_000 + b"]" * 100_000
    yield "deeply nested header", raw_frame(nested), "nested too deeply"
    yield (
        "deeply nested histogram stats",
        raw_frame({"chunks": [{**hspec, "vals": len(hist) + len(nested)}]}, hist + nested),
        "nested too deeply",
    )


def test_garbage_frames_are_refused_with_the_reason(sqlite_server: ServerProcess) -> None:
    # The frame is checked before any database work: one backend is enough.
    server = sqlite_server
    user = server.create_user("alice")
    path = run_path("alice", "proj", "r")
    assert put_run(server, user, path).status_code == 200
    for name, body, reason in _garbage_frames():
        r = post_frame(server, user.key, path, body)
        assert r.status_code == 400, (name, r.status_code, r.text[:300])
        detail = r.json()["detail"]
        assert detail.startswith("bad frame: ") and reason in detail, (name, detail)
    assert server.call("GET", path + "/keys", user.key).json() == {"scalars": [], "histograms": []}


# -- reads --------------------------------------------------------------------------------


def test_series_whole_ranges_and_buckets(server: ServerProcess, alice: User) -> None:
    path = run_path("alice", "proj", "r")
    assert put_run(server, alice, path).status_code == 200
    rng = np.random.default_rng(7)
    steps = np.arange(0, 3000, dtype=np.int64)
    values = rng.normal(size=len(steps))
    values[[5, 17, 400]] = math.nan
    values[[6, 900]] = math.inf
    values[901] = -math.inf
    values[1000:1010] = math.nan  # a bucket of width 300 or less holding no finite value... partly
    values[2999] = math.nan  # the last value of the last bucket
    # Three chunks, one with its steps listed (not a stride), as the store makes them.
    cuts = [(0, 1000), (1000, 2500), (2500, 3000)]
    for i, (a, b) in enumerate(cuts):
        st = steps[a:b].copy()
        if i == 1:
            st = np.unique(np.r_[st[::3], st[1::7]])
        chunk = scalars("loss", (i + 1, i + 1), st, values[st])
        assert post_chunks(server, alice, path, chunk).status_code == 200
    kept = np.unique(
        np.r_[steps[:1000], steps[1000:2500][::3], steps[1000:2500][1::7], steps[2500:]]
    )
    want_values = values[kept]

    got_steps, got_values = whole(series(server, alice, path, key="loss"))
    assert got_steps.tolist() == kept.tolist()
    assert same_floats(got_values, want_values)

    for start, end in (
        (None, 99),
        (1500, None),
        (1001, 1003),
        (2999, 2999),
        (5000, 6000),
        (-10, 0),
    ):
        params = {k: v for k, v in (("start", start), ("end", end)) if v is not None}
        reply = series(server, alice, path, key="loss", **params)
        keep = np.ones(len(kept), dtype=bool)
        if start is not None:
            keep &= kept >= start
        if end is not None:
            keep &= kept <= end
        s, v = whole(reply)
        assert reply["n"] == int(keep.sum())
        assert s.tolist() == kept[keep].tolist(), params
        assert same_floats(v, want_values[keep]), params

    for width in (1, 7, 100, 2999, 5000):
        reply = series(server, alice, path, key="loss", width=width)
        assert reply["n"] == len(kept)
        assert_envelope(reply, envelope(kept, want_values, width))
        assert reply["buckets"] <= width

    reply = series(server, alice, path, key="loss", width=10, start=1000, end=1099)
    keep = (kept >= 1000) & (kept <= 1099)
    assert_envelope(reply, envelope(kept[keep], want_values[keep], 10))

    # A bucket of nothing but NaN has NaN as its min and max, not an error or a zero.
    reply = series(server, alice, path, key="loss", width=1, start=1000, end=1000)
    assert same_floats(floats(reply["vmin"]), [math.nan])
    assert same_floats(floats(reply["last"]), [math.nan])

    empty = series(server, alice, path, key="no such key", width=10)
    assert empty["n"] == 0 and empty["buckets"] == 0


def test_buckets_over_a_wide_step_range(server: ServerProcess, alice: User) -> None:
    # Steps as nanosecond timestamps over a year: (step - first) * width passes 2**63.
    path = run_path("alice", "proj", "r")
    assert put_run(server, alice, path).status_code == 200
    t0 = 1_700_000_000 * 10**9
    steps = t0 + np.sort(np.random.default_rng(3).integers(0, 365 * 86400 * 10**9, 500))
    steps = np.unique(steps)
    values = np.linspace(0.0, 1.0, len(steps))
    assert post_chunks(server, alice, path, scalars("t", (1, 1), steps, values)).status_code == 200
    for width in (10, 1000):
        reply = series(server, alice, path, key="t", width=width)
        assert_envelope(reply, envelope(steps, values, width))


def assert_422(r: httpx.Response, where: str) -> None:
    """A 422 whose body is what the schema says (FastAPI's list of errors), not a string."""
    assert r.status_code == 422, (r.status_code, r.text[:300])
    detail = r.json()["detail"]
    assert isinstance(detail, list) and detail, detail
    assert detail[0]["loc"][0] == where and detail[0]["msg"], detail


def test_bad_requests_are_told_why(server: ServerProcess, alice: User) -> None:
    path = run_path("alice", "proj", "r")
    r = post_chunks(server, alice, path, scalars("x", (1, 1), [0], [1]))
    assert r.status_code == 404 and "PUT" in r.json()["detail"]
    assert_422(put_run(server, alice, path, state="exploded"), "body")
    assert_422(put_run(server, alice, path, nonsense=1), "body")
    for bad_id in ("x" * 65, "tab%09bed"):
        assert_422(
            server.call("PUT", run_path("alice", "proj", bad_id), alice.key, json={}), "path"
        )
    assert server.call("GET", path, alice.key).status_code == 404

    assert put_run(server, alice, path).status_code == 200
    for params in ({}, {"key": ""}, {"key": "x", "width": 0}, {"key": "x", "start": "one"}):
        assert_422(server.call("GET", path + "/series", alice.key, params=params), "query")
    runs = "/api/v1/projects/alice/proj/runs"
    assert_422(server.call("GET", runs, alice.key, params={"config": "lr"}), "query")


def test_what_the_server_cannot_store_is_refused(server: ServerProcess, alice: User) -> None:
    # PostgreSQL's text cannot hold NUL, and no database takes a lone surrogate (JSON can spell
    # one): each used to reach the database and come back as a 500 (NUL on PostgreSQL only).
    path = run_path("alice", "proj", "r")
    assert put_run(server, alice, path).status_code == 200
    json_headers = {"content-type": "application/json"}
    for url in (
        "/api/v1/runs/al%00ice/proj/r",
        "/api/v1/runs/alice/pr%00oj/r",
        "/api/v1/runs/alice/proj/r%00",
        "/api/v1/projects/alice/pr%00oj/runs",
    ):
        assert_422(server.call("GET", url, alice.key), "path")
    assert_422(server.call("PUT", "/api/v1/runs/alice/pr%00oj/r", alice.key, json={}), "path")
    for params in ({"key": "lo\x00ss"}, {"key": "loss", "width": 5, "extra": "\x00"}):
        assert_422(server.call("GET", path + "/series", alice.key, params=params), "query")
    assert_422(server.call("GET", path + "/histograms", alice.key, params={"key": "\x00"}), "query")
    with signed_in(server, alice) as browser:
        assert browser.get("/alice/pr%00oj").status_code == 422

    for body in (
        b'{"name": "a\\u0000b"}',
        b'{"notes": "\\u0000"}',
        b'{"name": "a\\ud800b"}',
        b'{"config": {"x": ["\\udfff"]}}',
        b'{"summary": {"\\ud800": 1}}',
        # Refused for another reason, with the input echoed in the reply: it must still be one.
        b'{"state": "\\ud800"}',
        b'{"created_at": NaN, "exit_code": Infinity}',
    ):
        r = server.call("PUT", path, alice.key, content=body, headers=json_headers)
        assert_422(r, "body")
    # Inside the JSON fields a NUL is kept: JSON spells it \u0000.
    r = server.call(
        "PUT",
        path,
        alice.key,
        content=b'{"config": {"a\\u0000": "b\\u0000"}}',
        headers=json_headers,
    )
    assert r.status_code == 200, r.text
    assert server.call("GET", path, alice.key).json()["config"] == {"a\x00": "b\x00"}

    # Nesting: a config 300 deep was stored, then failed every reply holding the run (its
    # GET, the project's list); 600 deep, or in a refused field, failed its own reply.
    for field, depth in (("config", 65), ("config", 300), ("summary", 900), ("tags", 600)):
        body = f'{{"{field}": {"[" * depth}{"]" * depth}}}'.encode()
        assert_422(server.call("PUT", path, alice.key, content=body, headers=json_headers), "body")
    fine = json.dumps({"config": functools.reduce(lambda c, _: {"a": c}, range(64), 1)})
    r = server.call("PUT", path, alice.key, content=fine.encode(), headers=json_headers)
    assert r.status_code == 200, r.text[:300]
    runs = server.call("GET", "/api/v1/projects/alice/proj/runs", alice.key)
    assert runs.status_code == 200 and len(runs.json()) == 1

    spec = {
        "kind": "s", "seq": [1, 1], "n": 1, "first": 0, "last": 0, "stride": 1,
        "steps": -1, "vals": 8,
    }  # fmt: skip
    for key in ('"lo\\u0000ss"', '"lo\\ud800ss"'):
        head = json.dumps({"chunks": [{**spec, "key": "KEY"}]}).replace('"KEY"', key).encode()
        r = post_frame(server, alice.key, path, raw_frame(head, struct.pack("<d", 1.0)))
        assert r.status_code == 400, r.text
        assert "NUL or a lone surrogate" in r.json()["detail"]
    assert server.call("GET", path + "/keys", alice.key).json() == {"scalars": [], "histograms": []}


def test_null_for_a_field_that_always_has_a_value_keeps_it(
    server: ServerProcess, alice: User
) -> None:
    path = run_path("alice", "proj", "r")
    nulls = dict.fromkeys(
        ("name", "state", "created_at", "updated_at", "heartbeat_at", "last_step")
    )
    r = put_run(server, alice, path, **nulls)
    assert r.status_code == 200, r.text
    first = r.json()["run"]
    assert first["name"] == "r" and first["state"] == "running" and first["last_step"] == -1
    r = put_run(server, alice, path, **nulls, notes=None, exit_code=None)
    assert r.status_code == 200, r.text
    again = r.json()["run"]
    for k in nulls:
        assert again[k] == first[k], k


def test_histograms_round_trip(server: ServerProcess, alice: User) -> None:
    path = run_path("alice", "proj", "r")
    assert put_run(server, alice, path).status_code == 200
    entries = [
        (0, -1.5, 2.5, np.array([0, 3, 10, 2], dtype=np.int64), {"mean": 0.25, "n": 15}),
        (10, 0.0, 0.0, np.array([7], dtype=np.int64), {"mean": math.nan}),
        (20, -math.inf, math.inf, np.array([2**40, 0, 1], dtype=np.int64), {}),
    ]
    packed = [
        (s, lo, hi, store_chunks.encode_counts(c), json.dumps(st)) for s, lo, hi, c, st in entries
    ]
    assert post_chunks(
        server, alice, path,
        frames.histogram_chunk("grad", (1, 2), packed[:2]),
        frames.histogram_chunk("grad", (3, 3), packed[2:]),
    ).status_code == 200  # fmt: skip

    r = server.call("GET", path + "/histograms", alice.key, params={"key": "grad"})
    assert r.status_code == 200, r.text
    got = json.loads(r.text)  # strict JSON: the infinite range comes as strings
    assert got["key"] == "grad"
    assert [e["step"] for e in got["entries"]] == [0, 10, 20]
    for entry, (_, lo, hi, counts, _) in zip(got["entries"], entries, strict=True):
        assert ints(entry["counts"]).tolist() == counts.tolist()
        assert (entry["lo"], entry["hi"]) == (_json_number(lo), _json_number(hi))
    assert got["entries"][0]["stats"] == {"mean": 0.25, "n": 15}
    assert got["entries"][1]["stats"] == {"mean": "nan"}

    none = server.call("GET", path + "/histograms", alice.key, params={"key": "other"})
    assert none.json() == {"key": "other", "entries": []}


def _json_number(x: float) -> float | str:
    if math.isnan(x):
        return "nan"
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")


def test_keys_lists_scalars_and_histograms(server: ServerProcess, alice: User) -> None:
    path = run_path("alice", "proj", "r")
    assert put_run(server, alice, path).status_code == 200
    assert server.call("GET", path + "/keys", alice.key).json() == {"scalars": [], "histograms": []}
    hist = frames.histogram_chunk(
        "w", (1, 1), [(0, 0.0, 1.0, store_chunks.encode_counts(np.array([1])), "{}")]
    )
    chunks = [scalars(k, (1, 1), [0], [1.0]) for k in ("zeta", "_time", "alpha/beta", "μ")]
    assert post_chunks(server, alice, path, *chunks, hist).status_code == 200
    keys = server.call("GET", path + "/keys", alice.key).json()
    assert sorted(keys["scalars"]) == sorted(["zeta", "_time", "alpha/beta", "μ"])
    assert keys["histograms"] == ["w"]


def test_project_runs_filters(server: ServerProcess, alice: User) -> None:
    base = run_path("alice", "proj", "")
    runs = {
        "r1": {"tags": ["baseline", "gpu"], "config": {"lr": 0.001, "opt": {"name": "adam"}}},
        "r2": {
            "tags": ["gpu"],
            "config": {"lr": 0.01, "opt": {"name": "sgd"}},
            "state": "finished",
        },
        "r3": {"tags": [], "config": {"lr": 0.001, "opt": "adam"}, "state": "failed"},
    }
    for run_id, fields in runs.items():
        assert put_run(server, alice, base + run_id, **fields).status_code == 200

    def ids(*params: tuple[str, str]) -> list[str]:
        r = server.call("GET", "/api/v1/projects/alice/proj/runs", alice.key, params=list(params))
        assert r.status_code == 200, r.text
        return [run["id"] for run in r.json()]

    assert ids() == ["r1", "r2", "r3"]  # oldest first
    assert ids(("state", "running")) == ["r1"]
    assert ids(("state", "finished")) == ["r2"]
    assert ids(("state", "crashed")) == []
    assert ids(("tag", "gpu")) == ["r1", "r2"]
    assert ids(("tag", "gpu"), ("tag", "baseline")) == ["r1"]
    assert ids(("tag", "nope")) == []
    assert ids(("config", "lr=0.001")) == ["r1", "r3"]
    assert ids(("config", "lr=0.01")) == ["r2"]
    assert ids(("config", 'opt.name="adam"')) == ["r1"]
    assert ids(("config", "opt=adam")) == ["r3"]  # not JSON: compared as the string
    assert ids(("config", "lr=0.001"), ("tag", "gpu")) == ["r1"]
    assert ids(("config", "missing=1")) == []
    bad = server.call("GET", "/api/v1/projects/alice/proj/runs", alice.key, params={"config": "lr"})
    assert bad.status_code == 422


# -- who may see what ---------------------------------------------------------------------


def _private_run(server: ServerProcess, owner: User, entity: str) -> str:
    path = run_path(entity, "proj", "r")
    assert put_run(server, owner, path, name="secret").status_code == 200
    hist = frames.histogram_chunk(
        "w", (1, 1), [(0, 0.0, 1.0, store_chunks.encode_counts(np.array([1])), "{}")]
    )
    r = post_chunks(server, owner, path, scalars("loss", (1, 1), [0], [1.0]), hist)
    assert r.status_code == 200, r.text
    return path


def _api_calls(entity: str) -> list[tuple[str, str, dict[str, Any]]]:
    path = run_path(entity, "proj", "r")
    frame = frames.encode([scalars("loss", (2, 2), [1], [2.0])])
    return [
        ("GET", f"/api/v1/projects/{entity}/proj/runs", {}),
        ("GET", path, {}),
        ("GET", path + "/series", {"params": {"key": "loss"}}),
        ("GET", path + "/series", {"params": {"key": "loss", "width": 5}}),
        ("GET", path + "/histograms", {"params": {"key": "w"}}),
        ("GET", path + "/keys", {}),
        ("GET", path + "/sync-state", {}),
        ("POST", path + "/chunks", {"content": frame, "headers": FRAME_HEADERS}),
        ("POST", path + "/heartbeat", {}),
        ("PUT", path, {"json": {"name": "renamed"}}),
        ("PUT", run_path(entity, "other", "r"), {"json": {}}),
    ]


def _events(
    server: ServerProcess, key: str | None, path: str, client: httpx.Client | None = None
) -> tuple[int, str]:
    """The status of an event stream, and its first event line when it is one."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if client is None:
        with httpx.Client(base_url=server.url, timeout=30) as own:
            return _events(server, key, path, own)
    with client.stream("GET", path, headers=headers) as r:
        return r.status_code, first_event(r) if r.status_code == 200 else r.read().decode()


def test_other_users_get_404_for_a_private_project(
    server: ServerProcess, alice: User, bob: User
) -> None:
    path = _private_run(server, alice, "alice")
    for method, url, kw in _api_calls("alice"):
        r = server.call(method, url, bob.key, **kw)
        assert r.status_code == 404, (method, url, r.status_code, r.text)
    status, _ = _events(server, bob.key, path + "/events")
    assert status == 404
    # The reply for a project that exists reads as the one for a project that does not.
    seen = server.call("GET", "/api/v1/projects/alice/proj/runs", bob.key).json()["detail"]
    ghost = server.call("GET", "/api/v1/projects/alice/ghst/runs", bob.key).json()["detail"]
    assert seen.replace("alice/proj", "alice/ghst") == ghost
    assert server.call("GET", "/api/v1/projects", bob.key).json() == []

    # Nothing bob sent reached alice's run, and her own calls all work.
    run = server.call("GET", path, alice.key).json()
    assert run["name"] == "secret"
    assert whole(series(server, alice, path, key="loss"))[0].tolist() == [0]
    for method, url, kw in _api_calls("alice"):
        r = server.call(method, url, alice.key, **kw)
        assert r.status_code in (200, 204), (method, url, r.status_code, r.text)
    assert _events(server, alice.key, path + "/events") == (200, "event: messages")

    page = "/alice/proj"
    with signed_in(server, bob) as browser:
        for url in (page, page + "/runs/r", "/alice/ghst", page + "/runs/ghost"):
            r = browser.get(url)
            assert r.status_code == 404, (url, r.status_code)
            assert "secret" not in r.text
        assert _events(server, None, page + "/runs/r/events", browser)[0] == 404
        assert "alice/proj" not in browser.get("/").text
    with signed_in(server, alice) as browser:
        assert browser.get(page).status_code == 200
        r = browser.get(page + "/runs/r")
        assert r.status_code == 200 and "renamed" in r.text  # her PUT above
        assert _events(server, None, page + "/runs/r/events", browser) == (200, "event: messages")


def test_team_members_read_and_write_the_team_project(
    server: ServerProcess, alice: User, bob: User
) -> None:
    carol = server.create_user("carol")
    db = server.db()
    try:
        accounts.create_team(db, "lab")
        accounts.add_member(db, "lab", "alice")
        accounts.add_member(db, "lab", "bob")
    finally:
        db.dispose()
    path = _private_run(server, alice, "lab")

    assert "lab" in server.call("GET", "/api/v1/viewer", bob.key).json()["entities"]
    assert server.call("GET", path, bob.key).json()["name"] == "secret"
    r = post_chunks(server, bob, path, scalars("loss", (2, 2), [1], [2.0]))
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    r = put_run(server, bob, run_path("lab", "proj", "bobs"), name="by bob")
    assert r.status_code == 200 and r.json()["created"] is True
    runs = server.call("GET", "/api/v1/projects/lab/proj/runs", alice.key).json()
    assert [run["id"] for run in runs] == ["r", "bobs"]
    assert whole(series(server, alice, path, key="loss"))[0].tolist() == [0, 1]

    assert "lab" not in server.call("GET", "/api/v1/viewer", carol.key).json()["entities"]
    for method, url, kw in _api_calls("lab"):
        r = server.call(method, url, carol.key, **kw)
        assert r.status_code == 404, (method, url, r.status_code, r.text)
    assert put_run(server, carol, run_path("lab", "new", "r")).status_code == 404
    with signed_in(server, carol) as browser:
        assert browser.get("/lab/proj").status_code == 404
    with signed_in(server, bob) as browser:
        assert browser.get("/lab/proj/runs/r").status_code == 200


# -- keys and sessions --------------------------------------------------------------------


def test_api_needs_a_live_key(server: ServerProcess, alice: User) -> None:
    path = run_path("alice", "proj", "r")
    assert put_run(server, alice, path).status_code == 200
    wrong_check = alice.key[:-1] + ("A" if alice.key[-1] != "A" else "B")
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": f"Basic {alice.key}"},
        {"Authorization": "Bearer nbk_123"},
        {"Authorization": f"Bearer {wrong_check}"},
        {"Authorization": f"Bearer {security.new_secret(security.KEY_PREFIX)}"},
        {"Authorization": f"Bearer {security.new_secret(security.SESSION_PREFIX)}"},
    ):
        r = server.call("GET", path, headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["www-authenticate"] == "Bearer"
        assert "key" in r.json()["detail"]

    db = server.db()
    try:
        second = accounts.new_key(db, "alice")
        first_id = accounts.list_keys(db, "alice")[0].id
        accounts.revoke_key(db, "alice", first_id)
    finally:
        db.dispose()
    r = server.call("GET", path, alice.key)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert server.call("GET", path, second).status_code == 200
    # The health check is the one route that needs no key.
    assert server.call("GET", "/api/v1/health").json()["ok"] is True


def test_session_cookie_is_for_pages_and_keys_for_the_api(
    server: ServerProcess, alice: User
) -> None:
    path = run_path("alice", "proj", "r")
    assert put_run(server, alice, path).status_code == 200
    with signed_in(server, alice) as browser:
        assert browser.get("/alice/proj").status_code == 200
        r = browser.get(path)
        assert r.status_code == 401, r.text
        assert browser.get("/api/v1/viewer").status_code == 401
    bearer = {"Authorization": f"Bearer {alice.key}"}
    for page in ("/", "/alice/proj", "/alice/proj/runs/r"):
        r = httpx.get(server.url + page, headers=bearer, timeout=30)
        assert r.status_code == 303, (page, r.status_code)
        assert r.headers["location"].startswith("/login?")
    status, _ = _events(server, alice.key, "/alice/proj/runs/r/events")
    assert status == 404

    # Out of reach of a page's scripts, and not sent along by another site's POST.
    r = httpx.post(
        server.url + "/login",
        data={"username": "alice", "password": alice.password, "next": "/alice/proj"},
        timeout=30,
    )
    assert r.status_code == 303 and r.headers["location"] == "/alice/proj"
    cookie = r.headers["set-cookie"]
    attrs = [a.strip().lower() for a in cookie.split(";")]
    assert attrs[0].startswith("nbtrack_session=nbs_")
    assert "httponly" in attrs and "samesite=lax" in attrs and "path=/" in attrs
    # Another site's address as `next` sends the browser home instead.
    for target in ("https://evil.example/", "//evil.example/"):
        r = httpx.post(
            server.url + "/login",
            data={"username": "alice", "password": alice.password, "next": target},
            timeout=30,
        )
        assert r.headers["location"] == "/"


def test_bad_keys_are_throttled(server: ServerProcess, alice: User) -> None:
    bad = {"Authorization": f"Bearer {security.new_secret(security.KEY_PREFIX)}"}
    for _ in range(security.THROTTLE_FAILURES):
        assert server.call("GET", "/api/v1/viewer", headers=bad).status_code == 401
    r = server.call("GET", "/api/v1/viewer", headers=bad)
    assert r.status_code == 429, r.text
    assert 1 <= int(r.headers["retry-after"]) <= security.THROTTLE_WINDOW_S + 1


def test_failed_sign_ins_are_throttled(server: ServerProcess, alice: User) -> None:
    def sign_in(password: str) -> httpx.Response:
        return httpx.post(
            server.url + "/login",
            data={"username": "alice", "password": password, "next": "/"},
            timeout=30,
        )

    for i in range(security.THROTTLE_FAILURES):
        r = sign_in(f"wrong {i}")
        assert r.status_code == 303 and r.headers["location"].startswith("/login?"), r.text
        assert "set-cookie" not in r.headers
    r = sign_in("wrong again")
    assert r.status_code == 429
    # Throttled means not checked: the right password waits too, or guessing would go on.
    r = sign_in(alice.password)
    assert r.status_code == 429 and "set-cookie" not in r.headers


# -- limits, schema, migrations -----------------------------------------------------------


def _chunked(body: bytes, piece: int = 1 << 20) -> Iterator[bytes]:
    for i in range(0, len(body), piece):
        yield body[i : i + piece]


def test_json_bodies_over_4_mib_are_refused(server: ServerProcess, alice: User) -> None:
    path = run_path("alice", "proj", "r")
    big = json.dumps({"config": {"blob": "x" * MAX_JSON}}).encode()
    headers = {"content-type": "application/json"}
    r = server.call("PUT", path, alice.key, content=big, headers=headers)
    assert r.status_code == 413, r.text[:300]
    # Without a Content-Length (chunked transfer) the size is only known by reading.
    r = server.call("PUT", path, alice.key, content=_chunked(big), headers=headers)
    assert r.status_code == 413, r.text[:300]
    assert server.call("GET", path, alice.key).status_code == 404
    small = json.dumps({"config": {"blob": "x" * (3 << 20)}}).encode()
    assert server.call("PUT", path, alice.key, content=small, headers=headers).status_code == 200


def test_frames_over_16_mib_are_refused(server: ServerProcess, alice: User) -> None:
    path = run_path("alice", "proj", "r")
    assert put_run(server, alice, path).status_code == 200
    big = frames.MAGIC + b"\0" * MAX_FRAME
    r = post_frame(server, alice.key, path, big)
    assert r.status_code == 413, r.text[:300]
    r = server.call(
        "POST", path + "/chunks", alice.key, content=_chunked(big), headers=FRAME_HEADERS
    )
    assert r.status_code == 413, r.text[:300]
    # Over the JSON limit but under the frame limit: a frame, read as one.
    n = 600_000
    frame = frames.encode(
        [scalars("x", (1, 1), np.arange(n) ** 2, np.random.default_rng(0).random(n))]
    )
    assert MAX_JSON < len(frame) < MAX_FRAME
    r = post_frame(server, alice.key, path, frame)
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text


def test_openapi_schema_is_served(server: ServerProcess) -> None:
    r = server.call("GET", "/api/v1/openapi.json")
    assert r.status_code == 200
    schema = r.json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for p in (
        "/api/v1/runs/{entity}/{project}/{run_id}",
        "/api/v1/runs/{entity}/{project}/{run_id}/chunks",
        "/api/v1/runs/{entity}/{project}/{run_id}/series",
        "/api/v1/projects/{entity}/{project}/runs",
    ):
        assert p in paths, p
    assert not any(not p.startswith("/api/v1/") for p in paths), "pages are not API"
    chunks = paths["/api/v1/runs/{entity}/{project}/{run_id}/chunks"]["post"]
    assert frames.CONTENT_TYPE in chunks["requestBody"]["content"]
    # The refusals are part of the contract: a client tells "not yours" (404) from "bad key".
    assert {"400", "401", "404", "409", "413", "429"} <= set(chunks["responses"])
    run = paths["/api/v1/runs/{entity}/{project}/{run_id}"]["get"]["responses"]
    assert "403" not in run and {"401", "404", "429"} <= set(run)
    assert "401" not in paths["/api/v1/health"]["get"]["responses"]


def test_migrations_go_down_to_nothing_and_up_again(database_url: str) -> None:
    def tables() -> set[str]:
        engine = sa.create_engine(database_url)
        try:
            return set(sa.inspect(engine).get_table_names())
        finally:
            engine.dispose()

    migrate(database_url)
    first = tables()
    assert {"entities", "users", "runs", "chunks", "series", "api_keys", "sessions"} <= first
    migrate(database_url)  # again: nothing to do
    downgrade(database_url, "base")
    assert tables() - {"alembic_version"} == set()
    migrate(database_url)
    assert tables() == first
    db = Database(database_url, pool_size=1)
    try:
        accounts.create_user(db, "after", "a password")
        assert len(accounts.list_keys(db, "after")) == 1
    finally:
        db.dispose()

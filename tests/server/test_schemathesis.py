"""Schemathesis against the running server's own OpenAPI schema: no request it can generate
makes a 5xx, and every reply matches the schema (its body, and its status code).

Schemathesis's pytest loader (`schemathesis.pytest.from_fixture`) reads a pytest internal that
pytest 9 no longer has, so each operation is driven here with `APIOperation.as_strategy` and
Hypothesis's own `@given`: the same cases and checks, one pytest item per operation."""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbtrack.server.app import Settings, create_app
from nbtrack.sync import frames
from tests.server.servers import ServerProcess

pytestmark = pytest.mark.server

# A frame is bytes to Schemathesis: sent as they are, like application/octet-stream.
schemathesis.serializer.alias(frames.CONTENT_TYPE, "application/octet-stream")

ENTITY, PROJECT, RUN = "alice", "proj", "r"
# Up to this many examples per operation and way of making them (three ways; chunks four).
EXAMPLES = 25


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every operation in the schema, read from the app without serving it."""
    app = create_app(Settings(database_url="sqlite://", data_dir=Path(".")))
    return [
        (method.upper(), path)
        for path, methods in app.openapi()["paths"].items()
        for method in methods
        # The event stream never ends by itself: a request that reaches a run would wait.
        if not path.endswith("/events")
    ]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api_schema(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """One server per backend for every operation (a server per test would spend the time on
    starting servers), with a run that has data, and the schema as that server serves it."""
    data: Path = tmp_path_factory.mktemp(f"schemathesis-{request.param}")
    drop = None
    if request.param == "sqlite":
        url = f"sqlite:///{data}/server.db"
    else:
        postgres = request.getfixturevalue("postgres")
        url = postgres.create_database()
        drop = url.rsplit("/", 1)[1]
    server = ServerProcess(data / "server", url).start()
    try:
        alice = server.create_user(ENTITY)
        path = f"/api/v1/runs/{ENTITY}/{PROJECT}/{RUN}"
        assert server.call("PUT", path, alice.key, json={"config": {"lr": 0.1}}).status_code == 200
        chunk = frames.scalar_chunk("loss", (1, 1), np.arange(3), np.array([1.0, np.nan, 0.5]))
        r = server.call(
            "POST", path + "/chunks", alice.key, content=frames.encode([chunk]),
            headers={"content-type": frames.CONTENT_TYPE},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        config = schemathesis.Config.from_dict(
            {
                "headers": {"Authorization": f"Bearer {alice.key}"},
                "checks": {
                    "enabled": False,
                    "not_a_server_error": {"enabled": True},
                    "response_schema_conformance": {"enabled": True},
                    "status_code_conformance": {"enabled": True},
                },
            }
        )
        yield schemathesis.openapi.from_url(server.url + "/api/v1/openapi.json", config=config)
    finally:
        server.stop()
        if drop is not None:
            postgres.drop_database(drop)


def _frames() -> st.SearchStrategy[bytes]:
    """Frame bodies a client could send: real chunks of any key, steps and values (at any
    sequence numbers, so resends and conflicts too), and well-packed frames whose header
    says anything at all. Schemathesis alone makes only random bytes, which fail at the first four."""
    ints = st.integers(-(2**63), 2**63 - 1)
    # The client's step encoder needs last + 1 to fit in int64.
    steps = st.lists(st.integers(-(2**62), 2**62), min_size=1, max_size=6, unique=True)
    real = st.builds(
        lambda key, seq, steps, values: frames.encode(
            [frames.scalar_chunk(key, (seq, seq), np.array(steps), np.array(values[: len(steps)]))]
        ),
        st.text(min_size=1, max_size=8),
        st.integers(1, 4),
        steps.map(sorted),
        st.lists(st.floats(), min_size=6, max_size=6),
    )
    spec = st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["s", "h"]),
            "key": st.text(max_size=4),
            "seq": st.lists(st.integers(-1, 2**64), min_size=2, max_size=2),
            "n": st.integers(-1, 4),
            "first": ints,
            "last": ints,
            "stride": st.integers(-1, 2**62),
            "steps": st.integers(-1, 16),
            "vals": st.integers(0, 48),
        }
    )
    packed = st.builds(
        lambda specs, blob: _pack(json.dumps({"chunks": specs}).encode(), blob),
        st.lists(spec, max_size=2),
        st.binary(max_size=64),
    )
    return st.one_of(real, packed)


def _pack(head: bytes, blob: bytes) -> bytes:
    """A frame packed as `frames.encode` packs one, around any header."""
    packed = zlib.compress(head)
    return frames.MAGIC + struct.pack("<I", len(packed)) + packed + blob


@pytest.mark.parametrize(("method", "path"), _operations(), ids=lambda v: str(v))
def test_operation_matches_the_schema(api_schema: Any, method: str, path: str) -> None:
    operation = api_schema[path][method]
    # Random path parameters mostly name nothing (404); pinned to the run, they reach its data.
    pinned = {
        k: v
        for k, v in (("entity", ENTITY), ("project", PROJECT), ("run_id", RUN))
        if "{" + k + "}" in path
    }
    strategies = [
        operation.as_strategy(),
        operation.as_strategy(path_parameters=pinned),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE, path_parameters=pinned),
    ]
    if path.endswith("/chunks"):
        strategies.append(
            _frames().flatmap(
                lambda body: operation.as_strategy(
                    path_parameters=pinned, body=body, media_type=frames.CONTENT_TYPE
                )
            )
        )

    @given(case=st.one_of(strategies))
    @settings(
        max_examples=EXAMPLES * len(strategies),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate()

    check()

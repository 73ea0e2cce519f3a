"""A property of `log()`: every input is stored exactly, or refused at the call naming its key.

Hypothesis draws sequences of `log()` calls mixing good values (floats with NaN and inf,
huge ints, bools, NumPy scalars, fractions, nested dicts, explicit steps) with bad ones
(strings, None, lists, arrays, complex numbers, datetimes, objects that pass a sum() check
but have no float value, lone surrogates in keys, steps out of range). The model keeps
what a W&B user expects the run to hold; at the end the stored run is read back through
the public API and compared value for value, and the run must have ended "finished".
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nbtrack

KEYS = ["loss", "acc", "a/b", "ü/ключ", "x y"]


class _RaddOnly:
    def __radd__(self, other: object) -> float:
        return 1.0

    def __repr__(self) -> str:
        return "<radd-only>"


good_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.booleans(),
    st.floats(width=32).map(np.float32),
    st.integers(min_value=-(2**62), max_value=2**62).map(np.int64),
    st.fractions(max_denominator=1000),
    st.just(Fraction(10**400, 7)),
)
bad_values = st.one_of(
    st.text(max_size=3),
    st.none(),
    st.lists(st.floats(), max_size=2),
    st.just(np.arange(3.0)),
    st.complex_numbers(allow_nan=False),
    st.just(np.timedelta64(5, "ms")),
    st.just(_RaddOnly()),
)


def _expected(value: Any) -> float:
    """What the store keeps for a good value: its float, beyond float64's range +-inf."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


@st.composite
def calls(draw: st.DrawFn) -> list[tuple[dict[str, Any], int | None, bool]]:
    out = []
    for _ in range(draw(st.integers(1, 25))):
        keys = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=3, unique=True))
        bad = draw(st.booleans()) and draw(st.integers(0, 4)) == 0  # about one call in ten
        data: dict[str, Any] = {k: draw(good_values) for k in keys}
        if bad:
            kind = draw(st.sampled_from(["value", "key", "step"]))
            if kind == "value":
                data[draw(st.sampled_from(keys))] = draw(bad_values)
            elif kind == "key":
                data["bad\udc80key"] = 1.0
        step = None
        if draw(st.integers(0, 5)) == 0:
            step = draw(st.integers(0, 60))
        if bad and kind == "step":
            step = draw(st.sampled_from([-1, 2**53, 2**63]))
        out.append((data, step, bad))
    return out


def _nest(data: dict[str, Any]) -> dict[str, Any]:
    """`{"a/b": v}` as `{"a": {"b": v}}`: both spellings must mean the same key."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        if "/" in k:
            head, tail = k.split("/", 1)
            out.setdefault(head, {})[tail] = v
        else:
            out[k] = v
    return out


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=calls(), nested=st.booleans())
def test_every_logged_value_is_stored_exactly_or_refused_naming_its_key(
    tmp_path: Path, sequence: list[tuple[dict[str, Any], int | None, bool]], nested: bool
) -> None:
    root = tmp_path / f"s{abs(hash((repr(sequence), nested)))}"
    run = nbtrack.init(project="prop", dir=root, display=False)
    expected: dict[str, dict[int, float]] = {}
    next_step = 0
    held = False  # W&B's rule: an explicit step stays the current step (see Run.log)
    for data, step, bad in sequence:
        payload = _nest(data) if nested else data
        decreasing = step is not None and 0 <= step < next_step - (0 if held else 1)
        if bad or decreasing:
            with pytest.raises((TypeError, ValueError)) as err:
                run.log(payload, step=step)
            message = str(err.value)
            if decreasing or (step is not None and (step < 0 or step > 2**53 - 1)):
                assert "step" in message
            else:
                assert any(repr(k) in message for k in [*data, "bad\udc80key"]), message
            continue
        run.log(payload, step=step)
        at = next_step if step is None else step
        for k, v in data.items():
            expected.setdefault(k, {})[at] = _expected(v)  # a repeated step: the last wins
        if step is None:
            next_step, held = at + 1, False
        elif step >= next_step:
            next_step, held = step, True
    run.finish()
    with nbtrack.Api(root) as api:
        rec = api.run(run.path)
        assert rec.state == "finished"
        assert sorted(rec.keys()) == sorted(expected)
        for key, points in expected.items():
            steps, values = rec.series(key)
            assert steps.tolist() == sorted(points)
            want = np.array([points[s] for s in sorted(points)])
            np.testing.assert_array_equal(values, want)  # NaN equals NaN here

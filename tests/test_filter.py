"""The compare view's filter language in Python (nbtrack/_filter.py).

Every case of tests/fixtures/filter_cases.json runs here and in js/compare/filter.test.ts:
what both read alike is the contract; the rest are Python-only edges.
"""

from __future__ import annotations

import doctest
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbtrack import _filter
from nbtrack._filter import MISSING, FilterError, compile_filter, filter_fields, run_fields
from nbtrack.errors import NbtrackError

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "filter_cases.json"
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _numbers(v: Any) -> Any:
    """A config or summary value with the fixture's "nan"/"inf"/"-inf" read as numbers."""
    if isinstance(v, str):
        return _NON_FINITE.get(v, v)
    if isinstance(v, list):
        return [_numbers(x) for x in v]
    return v


def _load() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    rows = data["rows"]
    for r in rows:
        for section in ("config", "summary"):
            r[section] = {k: _numbers(v) for k, v in r[section].items()}
    return rows, data["cases"]


ROWS, CASES = _load()
MATCHES = [c for c in CASES if "matches" in c]
ERRORS = [c for c in CASES if "error" in c]


def _ids(case: dict[str, Any]) -> str:
    expr = str(case["expr"])
    return repr(expr if len(expr) <= 60 else expr[:57] + "...")


@pytest.mark.parametrize("case", MATCHES, ids=_ids)
def test_fixture_matches(case: dict[str, Any]) -> None:
    keep = compile_filter(case["expr"])
    assert [r["id"] for r in ROWS if keep(run_fields(r))] == case["matches"]
    if "fields" in case:
        assert filter_fields(case["expr"]) == case["fields"]


@pytest.mark.parametrize("case", ERRORS, ids=_ids)
def test_fixture_errors(case: dict[str, Any]) -> None:
    with pytest.raises(FilterError) as info:
        compile_filter(case["expr"])
    assert case["error"] in info.value.problem
    assert info.value.pos == case["pos"]
    assert str(info.value) == f"nbtrack: bad filter at {case['pos']}: {info.value.problem}"


def test_the_fixture_covers_what_it_should() -> None:
    # Guard against a fixture edit that drops a whole rule's cases.
    assert len(MATCHES) >= 60 and len(ERRORS) >= 40
    assert len({c["expr"] for c in CASES}) == len(CASES)


def test_the_examples_in_docstrings_run() -> None:
    result = doctest.testmod(_filter, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 5 and result.failed == 0


def test_a_filter_error_is_a_value_error_and_an_nbtrack_error() -> None:
    with pytest.raises(ValueError, match=r"^nbtrack: bad filter at 6: '=' is not an operator"):
        compile_filter('state = "finished"')
    with pytest.raises(NbtrackError):
        compile_filter("(")


def test_run_fields_reads_a_record_as_the_compare_view_does() -> None:
    fields = run_fields(
        {
            "id": "a1",
            "created_at": 1.5,
            "git": {"commit": None},
            "config": {"optimizer.lr": 1e-3},
            "summary": {"val/acc": 0.9, "best": None},
        }
    )
    assert fields("id") == "a1"
    assert fields("created") == 1.5
    assert fields("created_at") is MISSING  # the record's key, not a field's name
    assert fields("commit") is MISSING  # no commit, as in js/compare/types.ts
    assert fields("config.optimizer.lr") == 1e-3
    assert fields("summary.val/acc") == 0.9
    assert fields("summary.best") is None
    assert fields("summary.nope") is MISSING
    assert fields("name") is MISSING
    assert run_fields({})("config.lr") is MISSING


def test_python_values_the_json_cannot_hold() -> None:
    def lookup(values: dict[str, object]) -> _filter.Lookup:
        return lambda field: values.get(field, MISSING)

    # True is an int in Python; here it is a boolean and nothing else.
    assert not compile_filter("config.x == 1")(lookup({"config.x": True}))
    assert compile_filter("config.x == true")(lookup({"config.x": True}))
    assert not compile_filter("config.x < 2")(lookup({"config.x": True}))
    # Tuples are lists; ints compare exactly with floats, and a huge int does not overflow.
    assert compile_filter("config.x == [1, 2]")(lookup({"config.x": (1, 2)}))
    assert compile_filter("config.x > 1e300")(lookup({"config.x": 10**400}))
    assert compile_filter("config.x")(lookup({"config.x": 10**400}))
    # A nested dict (unflattened config) equals only an equal dict.
    assert not compile_filter("config.x == 1")(lookup({"config.x": {"a": 1}}))
    assert compile_filter("config.x")(lookup({"config.x": {"a": 1}}))


def test_each_compiled_filter_is_independent_and_reusable() -> None:
    a, b = compile_filter("config.x > 1"), compile_filter("config.x < 1")
    row = run_fields({"config": {"x": 2}})
    assert [a(row), b(row), a(row)] == [True, False, True]


@given(st.text(max_size=80))
def test_any_text_compiles_or_raises_a_filter_error(text: str) -> None:
    pos = None
    try:
        keep = compile_filter(text)
    except FilterError as e:
        pos = e.pos
    if pos is None:
        keep(run_fields({}))  # and never raises on a run with no fields
    else:
        assert 0 <= pos <= len(text)


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "a", "b", "ab", "😀"]),
)


@given(_SCALARS, _SCALARS)
def test_not_equal_is_not_equal_for_present_values(x: object, y: object) -> None:
    def lookup(field: str) -> object:
        return {"config.x": x, "config.y": y}[field]

    eq = compile_filter("config.x == config.y")(lookup)
    ne = compile_filter("config.x != config.y")(lookup)
    assert eq != ne


@given(_SCALARS)
def test_a_missing_field_is_false_in_every_comparison(y: object) -> None:
    def lookup(field: str) -> object:
        return y if field == "config.y" else MISSING

    for op in ("!=", "<", "<=", ">", ">=", "in", "not in"):
        assert not compile_filter(f"config.x {op} config.y")(lookup)
    assert compile_filter("config.x == config.y")(lookup) == (y is None)

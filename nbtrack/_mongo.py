"""MongoDB-style queries over plain values: the ``filters=`` of ``Api().runs(...)``.

W&B's public API takes MongoDB's query language for its run filters; this is the subset
its users write, matched in Python over a run's fields. It knows nothing of runs: a query
is compiled once (every operator checked, so a typo is a `ValueError` at the call even
when there are no runs), and the predicate it gives asks a `resolve(field)` function for
the value of each field it names (`MISSING` when the field is not there).

>>> match = compile_query({"config.lr": {"$gt": 0.01}, "state": "finished"})
>>> match({"config.lr": 0.1, "state": "finished"}.get)
True

Semantics follow MongoDB's where they matter here: a field holding a list matches a value
it contains (``{"tags": "x"}``), ``$ne`` and ``$nin`` match a missing field, ``{"f": None}``
matches a missing one, comparisons between a number and a string never match, and NaN
equals nothing but is found by ``$exists``. Datetimes compare with ISO 8601 strings
(``"2026-01-31"``, ``"2026-01-31T12:00:00Z"``) and with Unix times.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any, TypeVar

__all__ = [
    "MISSING",
    "Predicate",
    "Resolver",
    "check_field",
    "compile_query",
    "fields_of",
    "ordered",
    "run_resolver",
    "sort_key",
]

T = TypeVar("T")


class _Missing:
    """The value of a field that is not there (not None: None is a value)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

Resolver = Callable[[str], Any]
Predicate = Callable[[Resolver], bool]

_LOGICAL = ("$and", "$or", "$nor")
_COMPARISONS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte")
_OPERATORS = (*_COMPARISONS, "$in", "$nin", "$exists", "$regex", "$options", "$not")


def compile_query(query: Mapping[str, Any] | None) -> Predicate:
    """The predicate of `query`; a `ValueError` naming what is wrong with it otherwise.

    >>> compile_query({"tags": {"$in": ["best", "final"]}})({"tags": ["final"]}.get)
    True
    >>> compile_query({"loss": {"$gtt": 1}})
    Traceback (most recent call last):
    ValueError: nbtrack: unknown operator '$gtt' in filters (for 'loss'); ...
    """
    if query is None:
        return lambda resolve: True
    if not isinstance(query, Mapping):
        raise ValueError(
            f"nbtrack: filters must be a dict (MongoDB style), not {type(query).__name__}"
        )
    parts = [_compile_item(k, v) for k, v in query.items()]
    return lambda resolve: all(p(resolve) for p in parts)


def _compile_item(key: Any, value: Any) -> Predicate:
    if not isinstance(key, str):
        raise ValueError(f"nbtrack: filter keys must be strings, not {key!r}")
    if key in _LOGICAL:
        if not isinstance(value, (list, tuple)) or not value:
            raise ValueError(f"nbtrack: {key} in filters takes a non-empty list of queries")
        subs = [compile_query(q) for q in value]
        if key == "$and":
            return lambda r: all(s(r) for s in subs)
        if key == "$or":
            return lambda r: any(s(r) for s in subs)
        return lambda r: not any(s(r) for s in subs)
    if key == "$not":
        # MongoDB has no top-level $not; W&B users write it, so it negates the query.
        sub = compile_query(value)
        return lambda r: not sub(r)
    if key.startswith("$"):
        raise _unknown(key, None)
    test = _compile_condition(key, value)
    return lambda r: test(r(key))


def _unknown(op: str, field: str | None) -> ValueError:
    where = f" (for {field!r})" if field is not None else ""
    known = ", ".join((*_LOGICAL, *_OPERATORS))
    return ValueError(f"nbtrack: unknown operator {op!r} in filters{where}; known: {known}")


def _is_operators(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and bool(value)
        and all(isinstance(k, str) and k.startswith("$") for k in value)
    )


def _compile_condition(field: str, cond: Any) -> Callable[[Any], bool]:
    """A test of one field's value: an equality, or a dict of operators."""
    if not _is_operators(cond):
        if isinstance(cond, Mapping) and any(
            isinstance(k, str) and k.startswith("$") for k in cond
        ):
            raise ValueError(
                f"nbtrack: filters for {field!r} mix operators and plain keys: {dict(cond)!r}"
            )
        return lambda v: _equals(v, cond)
    tests: list[Callable[[Any], bool]] = []
    options = cond.get("$options", "")
    if "$options" in cond and "$regex" not in cond:
        raise ValueError(f"nbtrack: $options for {field!r} needs a $regex beside it")
    for op, arg in cond.items():
        if op == "$options":
            continue
        if op not in _OPERATORS:
            raise _unknown(op, field)
        tests.append(_compile_operator(field, op, arg, options))
    return lambda v: all(t(v) for t in tests)


def _compile_operator(field: str, op: str, arg: Any, options: Any) -> Callable[[Any], bool]:
    if op == "$eq":
        return lambda v: _equals(v, arg)
    if op == "$ne":
        return lambda v: not _equals(v, arg)
    if op in ("$gt", "$gte", "$lt", "$lte"):
        if isinstance(arg, (list, tuple, dict)) or arg is None:
            raise ValueError(f"nbtrack: {op} for {field!r} takes a number, string or date")
        return lambda v: _any_item(v, lambda x: _compare(op, x, arg))
    if op in ("$in", "$nin"):
        if not isinstance(arg, (list, tuple, set, frozenset)):
            raise ValueError(f"nbtrack: {op} for {field!r} takes a list, not {arg!r}")
        choices = list(arg)
        if op == "$in":
            return lambda v: any(_equals(v, c) for c in choices)
        return lambda v: not any(_equals(v, c) for c in choices)
    if op == "$exists":
        want = bool(arg)
        return lambda v: (v is not MISSING) == want
    if op == "$regex":
        pattern = _regex(field, arg, options)
        return lambda v: _any_item(v, lambda x: isinstance(x, str) and bool(pattern.search(x)))
    # $not: the negation of its operators (or of its regex)
    if isinstance(arg, (str, re.Pattern)):
        pattern = _regex(field, arg, "")
        return lambda v: not _any_item(v, lambda x: isinstance(x, str) and bool(pattern.search(x)))
    if not _is_operators(arg):
        raise ValueError(f"nbtrack: $not for {field!r} takes operators, as {{'$gt': 1}}")
    inner = _compile_condition(field, arg)
    return lambda v: not inner(v)


def _regex(field: str, arg: Any, options: Any) -> re.Pattern[str]:
    if isinstance(arg, re.Pattern):
        return arg
    if not isinstance(arg, str):
        raise ValueError(f"nbtrack: $regex for {field!r} takes a string, not {arg!r}")
    if not isinstance(options, str) or set(options) - set("imsx"):
        raise ValueError(f"nbtrack: $options for {field!r} takes letters of 'imsx'")
    flags = 0
    for letter, flag in (("i", re.I), ("m", re.M), ("s", re.S), ("x", re.X)):
        if letter in options:
            flags |= flag
    try:
        return re.compile(arg, flags)
    except re.error as e:
        raise ValueError(f"nbtrack: $regex for {field!r} is not a valid pattern: {e}") from None


def _any_item(value: Any, test: Callable[[Any], bool]) -> bool:
    """`test` of the value, or of any item of a list value (MongoDB's array rule)."""
    if value is MISSING:
        return False
    if isinstance(value, (list, tuple)):
        return any(test(x) for x in value) or test(value)
    return test(value)


def _equals(value: Any, target: Any) -> bool:
    if value is MISSING:
        return target is None
    if isinstance(value, (list, tuple)) and not isinstance(target, (list, tuple)):
        return any(_same(x, target) for x in value)
    return _same(value, target)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, datetime) or isinstance(b, datetime):
        pa, pb = _as_time(a), _as_time(b)
        return pa is not None and pb is not None and pa == pb
    if _number(a) and _number(b):
        return bool(a == b)  # NaN equals nothing, as in MongoDB's comparisons
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _compare(op: str, value: Any, arg: Any) -> bool:
    a: float | str
    b: float | str
    if isinstance(value, datetime) or isinstance(arg, datetime):
        ta, tb = _as_time(value), _as_time(arg)
        if ta is None or tb is None:
            return False
        a, b = ta, tb
    elif _number(value) and _number(arg):
        a, b = float(value), float(arg)
        if math.isnan(a) or math.isnan(b):
            return False
    elif isinstance(value, str) and isinstance(arg, str):
        a, b = value, arg
    else:
        return False  # a number and a string (or None) never compare, as in MongoDB
    return _ORDER_TESTS[op](a, b)


_ORDER_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "$gt": lambda a, b: bool(a > b),
    "$gte": lambda a, b: bool(a >= b),
    "$lt": lambda a, b: bool(a < b),
    "$lte": lambda a, b: bool(a <= b),
}


def _as_time(x: Any) -> float | None:
    """A datetime, an ISO 8601 string or a Unix time, as a Unix time (naive means UTC)."""
    if isinstance(x, datetime):
        dt = x
    elif _number(x):
        return float(x)
    elif isinstance(x, str):
        text = x.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def sort_key(value: Any) -> tuple[int, Any]:
    """A key that orders any field's values as MongoDB does: missing and None first, then
    numbers (NaN with the missing), then strings, then dates, then the rest as text."""
    if value is MISSING or value is None:
        return (0, 0)
    if _number(value) or isinstance(value, bool):
        f = float(value)
        return (0, 0) if math.isnan(f) else (1, f)
    if isinstance(value, str):
        return (2, value)
    if isinstance(value, datetime):
        return (3, _as_time(value))
    return (4, repr(value))


# -- W&B's fields of a run --------------------------------------------------------------------

# W&B's names of a run's fields in filters and order, and the record's field each reads.
_FIELD_NAMES = {
    "name": "id",  # W&B's `name` is the run's id; its display name is `display_name`
    "id": "id",
    "display_name": "name",
    "displayName": "name",
    "state": "state",
    "tags": "tags",
    "group": "group",
    "jobType": "job_type",
    "job_type": "job_type",
    "sweep": "sweep_id",
    "sweep_id": "sweep_id",
    "notes": "notes",
    "description": "notes",
    "project": "project",
    "entity": "entity",
    "createdAt": "created_at",
    "created_at": "created_at",
    "heartbeatAt": "heartbeat_at",
    "heartbeat_at": "heartbeat_at",
    "updatedAt": "heartbeat_at",
    "duration": "duration",
    "host": "host",
    "username": "username",
}
_PREFIXES = {
    "config": "config",
    "summary_metrics": "summary",
    "summaryMetrics": "summary",
    "summary": "summary",
    "metadata": "metadata",
}
_TIMES = ("created_at", "heartbeat_at")


def check_field(name: str) -> None:
    """A `ValueError` for a field name filters and order do not know."""
    head = name.split(".", 1)[0]
    if name in _FIELD_NAMES or (head in _PREFIXES and "." in name):
        return
    raise ValueError(
        f"nbtrack: unknown run field {name!r} in filters or order: use config.<key>, "
        f"summary_metrics.<key>, or one of {', '.join(sorted(_FIELD_NAMES))}"
    )


def fields_of(query: Any) -> Iterator[str]:
    if isinstance(query, Mapping):
        for k, v in query.items():
            if isinstance(k, str) and k.startswith("$"):
                yield from fields_of(v)
            elif isinstance(k, str):
                yield k
    elif isinstance(query, (list, tuple)):
        for q in query:
            yield from fields_of(q)


def run_resolver(rec: Any) -> Callable[[str], Any]:
    def resolve(name: str) -> Any:
        head, _, rest = name.partition(".")
        if name in _FIELD_NAMES:
            attr = _FIELD_NAMES[name]
            if attr in _TIMES:
                return datetime.fromtimestamp(float(getattr(rec, attr)), tz=timezone.utc)
            if attr == "duration":
                end = rec.finished_at if rec.finished_at is not None else rec.heartbeat_at
                return float(end) - float(rec.created_at)
            if attr == "host":
                return rec.metadata.get("host", MISSING)
            if attr == "username":
                return rec.metadata.get("user", MISSING)
            value = getattr(rec, attr)
            return MISSING if value is None and attr != "notes" else value
        doc = getattr(rec, _PREFIXES[head])
        found = dotted(doc, rest)
        if found is MISSING and head == "config" and rest.endswith(".value"):
            # W&B stores config entries as {"value": ...}; its filters may say so.
            found = dotted(doc, rest[: -len(".value")])
        return found

    return resolve


def dotted(doc: Any, path: str) -> Any:
    """`doc` at the dotted path, a key holding dots taken whole first ("a.b" before a/b)."""
    if not isinstance(doc, Mapping):
        return MISSING
    if path in doc:
        return doc[path]
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:i])
        if head in doc:
            found = dotted(doc[head], ".".join(parts[i:]))
            if found is not MISSING:
                return found
    return MISSING


def ordered(recs: list[T], order: str) -> list[T]:
    if not isinstance(order, str):
        raise ValueError(f"nbtrack: order must be a string as '-created_at', not {order!r}")
    text = order.strip() or "+created_at"
    descending = text.startswith("-")
    name = text.lstrip("+-")
    check_field(name)
    keyed = [(sort_key(run_resolver(r)(name)), i, r) for i, r in enumerate(recs)]
    present = [k for k in keyed if k[0][0] != 0]
    missing = [k for k in keyed if k[0][0] == 0]
    present.sort(key=lambda k: k[0], reverse=descending)
    # Runs without the field go last either way: a sort by a metric shows the runs that
    # have it first, whatever the direction.
    return [r for _, _, r in present + missing]

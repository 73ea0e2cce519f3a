"""The filter expression language of the compare view's runs table, in Python.

The same language as ``js/compare/filter.ts`` (``tests/fixtures/filter_cases.json`` holds the
cases both must agree on; ``docs/compare.md`` documents it): a small grammar read by a
hand-written parser, never ``eval``, compiled to closures over a field lookup.

>>> keep = compile_filter('config.lr < 0.01 and "cnn" in tags')
>>> keep(run_fields({"config": {"lr": 0.001}, "tags": ["cnn", "baseline"]}))
True
>>> keep(run_fields({"config": {}, "tags": ["cnn"]}))  # no lr: the comparison is false
False
>>> compile_filter('sweep == "abc123"')(run_fields({"sweep": "abc123"}))  # one sweep's runs
True
>>> compile_filter("config.lr < ")
Traceback (most recent call last):
...
nbtrack._filter.FilterError: nbtrack: bad filter at 12: expected a value after '<', found end of text
"""

from __future__ import annotations

import enum
import numbers
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from nbtrack.errors import NbtrackError

__all__ = ["MISSING", "FilterError", "compile_filter", "filter_fields", "run_fields"]


class FilterError(NbtrackError, ValueError):
    """A filter that cannot be read: ``problem`` says what is wrong, ``pos`` where.

    >>> try:
    ...     compile_filter("nmae == 'x'")
    ... except FilterError as e:
    ...     print(e.pos, e.problem.split(" The fields")[0])
    0 unknown field 'nmae'; did you mean 'name'?
    """

    def __init__(self, problem: str, pos: int) -> None:
        super().__init__(f"nbtrack: bad filter at {pos}: {problem}")
        self.problem = problem
        #: An index into the text (code points, as ``str`` indexes it).
        self.pos = pos


class _Missing(enum.Enum):
    MISSING = "MISSING"

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing.MISSING
"""What a lookup returns for a field the run lacks (``None`` is a field that is null)."""

Lookup = Callable[[str], object]
_Test = Callable[[Lookup], bool]
_Get = Callable[[Lookup], object]
_T = TypeVar("_T")


def compile_filter(text: str) -> Callable[[Lookup], bool]:
    """The test a filter expression stands for; an empty (or all-blank) text keeps every run.

    >>> keep = compile_filter("summary.loss == nan or state == 'crashed'")
    >>> [keep(run_fields(r)) for r in ({"summary": {"loss": float("nan")}}, {"state": "finished"})]
    [True, False]

    Raises `FilterError` when the text is not a filter.
    """
    return _Parser(text).parse()


def filter_fields(text: str) -> list[str]:
    """The fields an expression reads, in order of first use (``config:lr`` reads as ``config.lr``).

    >>> filter_fields("config:lr < 0.01 and (state == 'finished' or config.lr == 0)")
    ['config.lr', 'state']
    """
    parser = _Parser(text)
    parser.parse()
    return list(dict.fromkeys(parser.fields))


_RECORD_KEYS: Final = {
    "name": "name",
    "id": "id",
    "state": "state",
    "tags": "tags",
    "notes": "notes",
    "project": "project",
    "created": "created_at",
    "runtime": "runtime",
    # W&B's run grouping (``init(group=, job_type=)``, a sweep's runs): null when not set.
    "group": "group",
    "job_type": "job_type",
    "sweep": "sweep",
}


def run_fields(record: Mapping[str, Any]) -> Lookup:
    """The lookup of a run's fields: ``record`` has the keys of the compare view's run.

    Those are id, name, project, state, created_at, runtime, tags, notes, git (with commit),
    group, job_type, sweep (the sweep id), config and summary (both flattened with "."); a
    key it lacks is a missing field, and so is a group, job type or sweep that is null.

    >>> fields = run_fields({"name": "lr-1e-3", "config": {"optimizer.lr": 1e-3}, "git": {}})
    >>> fields("name"), fields("config.optimizer.lr"), fields("commit"), fields("tags")
    ('lr-1e-3', 0.001, MISSING, MISSING)
    """

    def lookup(field: str) -> object:
        for section in ("config", "summary"):
            if field.startswith(section + "."):
                return (record.get(section) or {}).get(field[len(section) + 1 :], MISSING)
        if field == "commit":
            commit = (record.get("git") or {}).get("commit")
            return MISSING if commit is None else commit  # as js/compare/types.ts: null is none
        key = _RECORD_KEYS.get(field)
        value = MISSING if key is None else record.get(key, MISSING)
        if value is None and field in _NULL_IS_MISSING:
            return MISSING  # as js/compare/types.ts: a run outside any group has no group
        return value

    return lookup


_MAX_LENGTH: Final = 2000
_MAX_DEPTH: Final = 50
_FIELDS: Final = (
    "name", "id", "state", "tags", "notes", "project", "created", "runtime", "commit",
    "group", "job_type", "sweep",
)  # fmt: skip
_NULL_IS_MISSING: Final = frozenset({"group", "job_type", "sweep"})
_FIELD_LIST: Final = ", ".join(_FIELDS) + ", config.<key>, summary.<key>"

# [0-9], not \d: \d matches every script's digits, and the JS side reads ASCII ones only.
_NUMBER: Final = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# What sticks to a number makes it a bad one (`1e`, `1.2.3`, `3x`), not a number and a field.
_NUMBER_TAIL: Final = re.compile(r"[A-Za-z0-9_.]*")
_WORD: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEY: Final = re.compile(r"[A-Za-z0-9_/.\-]+")
_SPACE: Final = " \t\r\n"
_KEYWORDS: Final = frozenset({"and", "or", "not", "in"})
_LITERALS: Final[dict[str, object]] = {
    "true": True,
    "false": False,
    "null": None,
    "nan": float("nan"),
    "inf": float("inf"),
}
_ESCAPES: Final = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "r": "\r", "t": "\t"}
_SYMBOLS: Final = frozenset({"==", "!=", "<=", ">=", "<", ">", "(", ")", "[", "]", ","})
_COMPARISONS: Final = frozenset({"==", "!=", "<", "<=", ">", ">=", "in"})
_VALUE_STARTS: Final = frozenset({"value", "field", "(", "["})
# Other languages' spellings, refused with ours (one spelling a thing keeps shared filters alike).
_MISTAKES: Final = {
    "=": "'==' to compare",
    "<>": "'!='",
    "&&": "'and'",
    "&": "'and'",
    "||": "'or'",
    "|": "'or'",
    "!": "'not'",
}


@dataclass(frozen=True)
class _Token:
    kind: str  # an operator or keyword as itself, or "value", "field", "end"
    text: str  # as written
    pos: int
    value: object = None  # a literal's value, or a field's name


class _Parser:
    def __init__(self, text: str) -> None:
        if len(text) > _MAX_LENGTH:
            raise FilterError(
                f"filter too long: {len(text)} characters, the limit is {_MAX_LENGTH}", 0
            )
        self.text = text
        self.fields: list[str] = []
        self._at = 0  # where reading goes on after _tok
        self._after = ""  # the token before _tok as written, for "expected a value after '<'"
        self._end = 0  # where the token before _tok ends
        self._depth = 0
        self._tok = self._lex()

    def parse(self) -> _Test:
        if self._tok.kind == "end":
            return lambda row: True
        test = self._or()
        if self._tok.kind == ")":
            raise self._error("unmatched ')'")
        if self._tok.kind != "end":
            raise self._error(f"expected 'and', 'or' or end of text, found {self._found()}")
        return test

    # -- grammar: or > and > not > comparison ------------------------------------------------

    def _or(self) -> _Test:
        items = [self._and()]
        while self._tok.kind == "or":
            self._advance()
            items.append(self._and())
        if len(items) == 1:
            return items[0]
        return lambda row: any(t(row) for t in items)

    def _and(self) -> _Test:
        items = [self._not()]
        while self._tok.kind == "and":
            self._advance()
            items.append(self._not())
        if len(items) == 1:
            return items[0]
        return lambda row: all(t(row) for t in items)

    def _not(self) -> _Test:
        if self._tok.kind != "not":
            return self._comparison()

        def read() -> _Test:
            self._advance()
            return self._not()

        inner = self._nested(read)
        return lambda row: not inner(row)

    def _comparison(self) -> _Test:
        if self._tok.kind == "(":
            return self._group()
        start = self._tok.pos
        left = self._value()
        op = self._operator()
        if op is None:
            if self._tok.kind in _VALUE_STARTS:
                written = self.text[start : self._end]
                raise self._error(f"expected an operator after '{written}', found {self._found()}")
            return lambda row: _truthy(left(row))
        right = self._value()
        if self._tok.kind in _COMPARISONS:
            raise self._error("comparisons do not chain; join them with 'and'")
        return lambda row: _compare(op, left(row), right(row))

    def _group(self) -> _Test:
        def read() -> _Test:
            self._advance()
            inner = self._or()
            if self._tok.kind == "end":
                raise self._error("expected ')' to close '(', found end of text")
            if self._tok.kind != ")":
                raise self._error(f"expected 'and', 'or' or ')', found {self._found()}")
            self._advance()
            return inner

        return self._nested(read)

    def _operator(self) -> str | None:
        tok = self._tok
        if tok.kind == "not":
            self._advance()
            if self._tok.kind != "in":
                raise self._error(f"expected 'in' after '{tok.text}', found {self._found()}")
            self._advance()
            self._after = f"{tok.text} {self._after}"
            return "not in"
        if tok.kind not in _COMPARISONS:
            return None
        self._advance()
        return tok.kind

    def _value(self) -> _Get:
        tok = self._tok
        if tok.kind == "field":
            name = str(tok.value)
            self.fields.append(name)
            self._advance()
            return lambda row: row(name)
        if tok.kind not in ("value", "["):
            raise self._expected_value()
        v = self._literal()
        return lambda row: v

    def _literal(self) -> object:
        tok = self._tok
        if tok.kind == "value":
            self._advance()
            return tok.value
        if tok.kind == "field":
            raise self._error(f"a list holds only literal values, found {self._found()}")
        if tok.kind != "[":
            raise self._expected_value()

        def read() -> list[object]:
            self._advance()
            items: list[object] = []
            if self._tok.kind == "]":
                self._advance()
                return items
            while True:
                items.append(self._literal())
                if self._tok.kind == "]":
                    self._advance()
                    return items
                if self._tok.kind != ",":
                    raise self._error(
                        f"expected ',' or ']' to close the list, found {self._found()}"
                    )
                self._advance()

        return self._nested(read)

    def _nested(self, read: Callable[[], _T]) -> _T:
        """Reads one level deeper (a parenthesis, a list, a ``not``), refusing past the limit."""
        self._depth += 1
        if self._depth > _MAX_DEPTH:
            raise self._error(
                f"nested deeper than {_MAX_DEPTH} levels of parentheses, brackets and 'not'"
            )
        result = read()
        self._depth -= 1
        return result

    def _advance(self) -> None:
        self._after = self._tok.text
        self._end = self._tok.pos + len(self._tok.text)
        self._tok = self._lex()

    def _found(self) -> str:
        return "end of text" if self._tok.kind == "end" else f"'{self._tok.text}'"

    def _expected_value(self) -> FilterError:
        after = f" after '{self._after}'" if self._after else ""
        return self._error(f"expected a value{after}, found {self._found()}")

    def _error(self, problem: str) -> FilterError:
        return FilterError(problem, self._tok.pos)

    # -- tokens ------------------------------------------------------------------------------

    def _lex(self) -> _Token:
        t = self.text
        i = self._at
        while i < len(t) and t[i] in _SPACE:
            i += 1

        def token(kind: str, end: int, value: object = None) -> _Token:
            self._at = end
            return _Token(kind, t[i:end], i, value)

        if i >= len(t):
            return token("end", i)
        c = t[i]
        if c in "\"'":
            return self._string(i)
        number = _NUMBER.match(t, i)
        if number:
            end = number.end()
            tail = _NUMBER_TAIL.match(t, end)
            if tail and tail.end() > end:
                raise FilterError(f"bad number '{t[i : tail.end()]}'", i)
            return token("value", end, float(number.group()))
        word_match = _WORD.match(t, i + 1 if c == "-" else i)
        if word_match and c == "-":
            if word_match.group().lower() == "inf":
                return token("value", i + 4, float("-inf"))
        elif word_match:
            word = word_match.group()
            lower = word.lower()
            end = word_match.end()
            if lower in _KEYWORDS:
                return token(lower, end)
            if lower in _LITERALS:
                return token("value", end, _LITERALS[lower])
            if word in ("config", "summary"):
                if t[end : end + 1] in (".", ":"):
                    return self._key(i, word, end + 1)
                raise FilterError(f"'{word}' needs a key: {word}.<key>", i)
            if word in _FIELDS:
                return token("field", end, word)
            raise FilterError(_unknown_field(word), i)
        for s in (t[i : i + 2], c):
            if s in _SYMBOLS:
                return token(s, i + len(s))
            if s in _MISTAKES:
                raise FilterError(f"'{s}' is not an operator; use {_MISTAKES[s]}", i)
        shown = "" if 0x20 < ord(c) < 0x7F else f" (U+{ord(c):04X})"
        raise FilterError(f"unexpected character '{c}'{shown}", i)

    def _string(self, start: int) -> _Token:
        t = self.text
        quote = t[start]
        out: list[str] = []
        i = start + 1
        while True:
            if i >= len(t):
                raise FilterError("unterminated string", start)
            c = t[i]
            if c == quote:
                break
            if c == "\\":
                if i + 1 >= len(t):
                    raise FilterError("unterminated string", start)
                e = t[i + 1]
                if e not in _ESCAPES:
                    raise FilterError(
                        f"unknown escape '\\{e}' in a string; write '\\\\' for a backslash", i
                    )
                out.append(_ESCAPES[e])
                i += 2
            else:
                out.append(c)
                i += 1
        self._at = i + 1
        return _Token("value", t[start : i + 1], start, "".join(out))

    def _key(self, start: int, word: str, at: int) -> _Token:
        """``config.lr``, ``summary:val/acc``, ``config.`my key```: the key starts at ``at``."""
        t = self.text
        if t[at : at + 1] == "`":
            close = t.find("`", at + 1)
            if close < 0:
                raise FilterError("unterminated key in backticks", at)
            if close == at + 1:
                raise FilterError("empty key in backticks", at)
            end, key = close + 1, t[at + 1 : close]
        else:
            match = _KEY.match(t, at)
            if match is None:
                raise FilterError(f"expected a key after '{t[start:at]}'", at)
            end, key = match.end(), match.group()
        self._at = end
        return _Token("field", t[start:end], start, f"{word}.{key}")


def _unknown_field(word: str) -> str:
    like = _closest(word, (*_FIELDS, "config", "summary"))
    if like is None:
        hint = f" (a config or summary value is config.{word} or summary.{word})."
    else:
        hint = f"; did you mean '{like}'?"
    return f"unknown field '{word}'{hint} The fields are: {_FIELD_LIST}"


def _closest(word: str, candidates: tuple[str, ...]) -> str | None:
    """The candidate a typo most likely meant: same but for case, a prefix, or a letter or two off."""
    w = word.lower()
    best: str | None = None
    best_distance = 1 if len(w) <= 4 else 2
    for c in candidates:
        d = _edit_distance(w, c)
        if min(len(w), len(c)) >= 3 and (c.startswith(w) or w.startswith(c)):
            d = min(d, 1)
        if d < best_distance or (best is None and d == best_distance):
            best, best_distance = c, d
    return best


def _edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, with a swap of two neighbours as one edit ("nmae" is 1 from "name")."""
    before: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i]
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d = min(d, before[j - 2] + 1)
            row.append(d)
        before, prev = prev, row
    return prev[len(b)]


# -- semantics ---------------------------------------------------------------------------
# A missing field makes every comparison false (`!=` too: missing is not "different"), except
# `== null`, which missing satisfies.

_ORDER: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _compare(op: str, a: object, b: object) -> bool:
    if op == "==" and (a is None or b is None):
        return (a is None or a is MISSING) and (b is None or b is MISSING)
    if a is MISSING or b is MISSING:
        return False
    if op == "==":
        return _same(a, b)
    if op == "!=":
        return not _same(a, b)
    if op == "in":
        return _contains(b, a)
    if op == "not in":
        return not _contains(b, a)
    return _ordered(op, a, b)


def _is_number(v: object) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _same(a: object, b: object) -> bool:
    """Equality without coercion: NaN equals NaN (to find diverged runs), ``True`` is not 1."""
    if _is_number(a) and _is_number(b):
        return a == b or (a != a and b != b)  # x != x: NaN, without float() on a huge int
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, bool) and isinstance(b, bool):
        return a == b
    return a is b  # None is None; anything else equals only itself


def _ordered(op: str, a: object, b: object) -> bool:
    if (_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str)):
        return _ORDER[op](a, b)
    return False  # a number and a string, booleans, None, lists: no order


def _contains(haystack: object, needle: object) -> bool:
    """``x in list`` is membership, ``"abc" in name`` a substring; nothing else contains anything."""
    if isinstance(haystack, (list, tuple)):
        return any(_same(x, needle) for x in haystack)
    if isinstance(haystack, str):
        return isinstance(needle, str) and needle in haystack
    return False


def _truthy(v: object) -> bool:
    """What a bare value means as a test (``config.use_bn``, ``tags``)."""
    if v is MISSING or v is None:
        return False
    if _is_number(v):
        return v != 0 and v == v  # v == v: not NaN
    return bool(v)

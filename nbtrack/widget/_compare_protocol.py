"""The wire format of the compare view: every message Python (a kernel or the server) sends
to the page about a project's runs, encoded here. The other side is ``js/compare-protocol.ts``.

Messages (the ``type`` field of the content):

- ``runs``: rows of the runs table, new or changed (a row replaces the one with its id);
  ``removed`` lists ids that are gone. A row's config and summary are flattened with ``"."``
  for nested dicts; a float that JSON cannot carry goes as ``{"$float": "nan"}`` (or
  ``"inf"``, ``"-inf"``): a tag, so a config *string* ``"nan"`` stays a string.
  ``group``, ``job_type`` and ``sweep`` are the run's W&B group, job type and sweep id
  (from its metadata, see `grouping`), null when it has none.
- ``curves``: points of (run, key) curves. Each entry is either ``points`` (the series as it
  is: steps as in the dashboard's points message, values float64), or ``envelope``: the
  series in at most `width` buckets of equal step span, each its last step (the x it is drawn
  at) and its min, max and last value, quantized to uint16 over the curve's [lo, hi]
  (65535: no finite value in the bucket). ``append`` entries extend what the page has
  (live points); the others replace it. A reply to a page's ``range`` request carries
  ``request`` (its id) and ``range`` ([start, end] steps): its entries replace the page's
  points in that range only.

Requests the page sends (through the widget's comm, or as a GET on the server):

- ``range``: ``{"type": "range", "id": n, "runs": [...], "keys": [...], "start": s,
  "end": e, "width": w}``: the points of those curves in [start, end], whole when there are
  few, else as a finer envelope.
- ``open``: ``{"type": "open", "run": id}`` (notebook only): show that run's dashboard
  under the table; its messages come back wrapped as ``{"type": "run", "run": id,
  "message": content}`` with the dashboard message's own buffers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from nbtrack._envelope import reduce
from nbtrack._types import Float64Array, Int64Array
from nbtrack.widget._protocol import _steps_field, json_number

#: uint16 code of a bucket with no finite value.
NO_VALUE = 65535
_Q_MAX = 65534
# Up to this many points per bucket asked for, a curve goes whole: a point costs at most 12
# bytes (float64 value, int32 step), a bucket 10, so whole never costs more than the envelope.
_WHOLE_FACTOR = 10 / 12


def cell(value: Any) -> Any:
    """A config or summary value as the table gets it: JSON-safe, non-finite floats tagged.

    >>> cell(float("nan")), cell(3), cell([1.5, float("inf")]), cell(b"x")
    ({'$float': 'nan'}, 3, [1.5, {'$float': 'inf'}], "b'x'")
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return cell(value.tolist())
    if isinstance(value, int):
        # Past 2**53 a JavaScript number would round it: the digits go as text.
        return value if abs(value) <= 2**53 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": json_number(value)}
    if isinstance(value, (list, tuple)):
        return [cell(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): cell(v) for k, v in value.items()}
    try:
        f = float(value)  # numpy scalars and the like
    except (TypeError, ValueError):
        return str(value)
    return cell(int(value)) if isinstance(value, np.integer) else cell(f)


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts flattened with ``"."``, as W&B's runs table names them.

    >>> flatten({"opt": {"lr": 0.1, "name": "adam"}, "epochs": 3})
    {'opt.lr': 0.1, 'opt.name': 'adam', 'epochs': 3}
    """
    out: dict[str, Any] = {}
    for k, v in values.items():
        name = f"{prefix}{k}"
        if isinstance(v, Mapping) and v and "$float" not in v:
            out.update(flatten(v, f"{name}."))
        else:
            out[name] = cell(v)
    return out


def grouping(metadata: Any) -> dict[str, str | None]:
    """The run's group, job type and sweep id, as its metadata records them (``group``,
    ``job_type``, ``sweep_id``); None for one it lacks or that is not text.

    >>> grouping({"group": "exp-1", "sweep_id": "abc123", "host": "gpu-7"})
    {'group': 'exp-1', 'job_type': None, 'sweep': 'abc123'}
    """
    m = metadata if isinstance(metadata, Mapping) else {}

    def text(name: str) -> str | None:
        v = m.get(name)
        return v if isinstance(v, str) and v else None

    return {"group": text("group"), "job_type": text("job_type"), "sweep": text("sweep_id")}


def run_row(
    *,
    run_id: str,
    name: str,
    project: str,
    entity: str | None,
    state: str,
    created_at: float,
    runtime: float,
    tags: list[str],
    notes: str | None,
    git: Mapping[str, Any] | None,
    config: Mapping[str, Any],
    summary: Mapping[str, Any],
    url: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One row of the runs table; its group, job type and sweep from `metadata` (`grouping`).

    >>> run_row(run_id="a", name="n", project="p", entity=None, state="running",
    ...     created_at=0.0, runtime=1.0, tags=[], notes=None, git=None,
    ...     config={"opt": {"lr": 0.1}}, summary={})["config"]
    {'opt.lr': 0.1}
    """
    from nbtrack._metadata import commit_url

    g = dict(git or {})
    commit = g.get("commit")
    return {
        "id": run_id,
        "name": name,
        "project": project,
        "entity": entity,
        "state": state,
        "created_at": json_number(created_at),
        "runtime": json_number(max(0.0, runtime)),
        "tags": [str(t) for t in tags],
        "notes": notes or "",
        "git": {
            "commit": None if commit is None else str(commit),
            "branch": None if g.get("branch") is None else str(g["branch"]),
            "dirty": None if g.get("dirty") is None else bool(g["dirty"]),
            "url": commit_url(g.get("remote"), commit),
        },
        "config": flatten(config),
        "summary": flatten(summary),
        "url": url,
        **grouping(metadata),
    }


def runs_message(rows: list[dict[str, Any]], removed: list[str] | None = None) -> dict[str, Any]:
    """``runs``: rows made by `run_row` (no buffers)."""
    return {"type": "runs", "runs": rows, "removed": list(removed or [])}


def buckets_for(curves: int, budget_bytes: int = 3 << 20) -> int:
    """How many buckets each of `curves` curves gets so that all fit in `budget_bytes`.

    >>> buckets_for(2200), buckets_for(10), buckets_for(100_000)
    (142, 1024, 64)
    """
    per = budget_bytes // max(1, curves) // 10  # 4 bytes of step + 3 x 2 of values
    return int(min(1024, max(64, per)))


def _quantized(vmin: Float64Array, vmax: Float64Array, last: Float64Array) -> list[Any]:
    """Each row's (lo, hi, uint16 triples) for rows of keys bucketed alike."""
    cols = np.stack([vmin, vmax, last], axis=1)  # keys x 3 x buckets
    ok = np.isfinite(cols)
    out = []
    for c, k in zip(cols, ok, strict=True):
        lo = float(c[0][k[0]].min()) if k[0].any() else 0.0
        hi = float(c[1][k[1]].max()) if k[1].any() else 0.0
        # In halves: hi - lo may pass the largest float (values near +-1.8e308) where their
        # halves' difference cannot.
        half = hi / 2 - lo / 2
        scale = _Q_MAX / half if half > 0 else 0.0
        # A bucket's last value is one of its values, so within [min, max]; a non-finite
        # one (NaN, inf) is NO_VALUE: a gap.
        qf = np.clip(np.rint((np.where(k, c, lo) / 2 - lo / 2) * scale), 0, _Q_MAX)
        q = np.where(k, qf, NO_VALUE).astype("<u2").T
        out.append((lo, hi, np.ascontiguousarray(q).tobytes()))
    return out


def _entries(
    run: str,
    keys: list[str],
    steps: Int64Array,
    values: Float64Array,
    width: int,
    buffers: list[bytes],
    append: bool,
) -> list[dict[str, Any]]:
    """The entries of `keys`, logged at the same `steps` (`values`: a row per key); their
    steps go once, every entry naming the same buffer."""
    n = len(steps)
    if n == 0:
        return []
    head = [{"run": run, "key": key, "append": append} for key in keys]
    if n <= width * _WHOLE_FACTOR or append:
        field = _steps_field(steps, buffers)
        out = []
        for h, row in zip(head, values, strict=True):
            buffers.append(np.asarray(row, dtype=np.float64).tobytes())
            out.append({**h, "mode": "points", "n": n, **field, "values_buf": len(buffers) - 1})
        return out
    b = reduce(steps, values, width)
    field = _steps_field(b.step_hi, buffers)
    out = []
    for h, (lo, hi, q) in zip(head, _quantized(b.vmin, b.vmax, b.last), strict=True):
        buffers.append(q)
        out.append({**h, "mode": "envelope", "n": len(b.step_hi), "count": n, **field,
                    "lo": json_number(lo), "hi": json_number(hi), "q_buf": len(buffers) - 1})  # fmt: skip
    return out


def _alike(
    curves: list[tuple[str, str, Int64Array, Float64Array]],
) -> list[tuple[str, list[str], Int64Array, Float64Array]]:
    """Curves grouped by run and equal steps (keys logged together), in order: each group's
    keys, its steps, and its values stacked a row per key."""
    groups: list[tuple[str, list[str], Int64Array, list[Float64Array]]] = []
    for run, key, steps, values in curves:
        for g in groups:
            if g[0] == run and len(g[2]) == len(steps) and np.array_equal(g[2], steps):
                g[1].append(key)
                g[3].append(values)
                break
        else:
            groups.append((run, [key], steps, [values]))
    return [(r, ks, s, np.vstack(vs)) for r, ks, s, vs in groups]


def curves_message(
    curves: list[tuple[str, str, Int64Array, Float64Array]],
    width: int,
    *,
    append: bool = False,
    request: int | None = None,
    span: tuple[int, int] | None = None,
) -> tuple[dict[str, Any], list[bytes]]:
    """``curves``: (run, key, steps, values) each, whole or as an envelope of `width` buckets.

    >>> content, buffers = curves_message([("r", "loss", np.arange(5000), np.ones(5000))], 100)
    >>> content["curves"][0]["mode"], content["curves"][0]["n"], len(buffers)
    ('envelope', 100, 1)
    """
    buffers: list[bytes] = []
    entries = []
    for run, keys, steps, values in _alike(curves):
        entries.extend(_entries(run, keys, steps, values, width, buffers, append))
    content: dict[str, Any] = {"type": "curves", "curves": entries}
    if request is not None:
        content["request"] = request
    if span is not None:
        content["range"] = [int(span[0]), int(span[1])]
    return content, buffers

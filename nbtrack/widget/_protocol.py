"""The wire format of the dashboard: every message Python sends to the page, encoded here.

The other side is ``js/protocol.ts``: the same messages, typed, and their decoders. A
message is small JSON content plus binary buffers; numbers in bulk travel as buffers, never
as JSON lists.

NaN convention: JSON has no NaN or infinity, so every number that may be non-finite goes as
a `json_number`: a finite float as it is, NaN as the string ``"nan"``, infinities as
``"inf"`` and ``"-inf"``; `parseNumber` in ``js/protocol.ts`` reads them back. ``null``
never stands for NaN: it means "no value" (no rate yet, no norm recorded). Buffers carry
IEEE floats, so NaN and infinities cross in them as they are.

Messages (the ``type`` field of the content):

- ``points``: new points of each key. Steps go as nothing at all when they are evenly
  spaced (``first``, ``stride``), else as int32 when they fit, else as float64; values as
  float64, except the ``_time`` key's, which go as float32 seconds since ``t0``: about 12
  bytes per point in the usual loop.
- ``histograms``: one entry per (key, step): its range, stats and, in buffer ``i`` for
  entry ``i``, its counts as float64.
- ``header``: the run's facts for the header (no buffers), sent when they change; its
  ``sync`` field says where the run stands with the team server (null when it has none);
  its ``metrics`` field lists the run's metric definitions (``define_metric``) in define
  order, each ``{"name": str, "step_metric": str | null, "hidden": bool}``: ``name`` is a
  key or a W&B glob (``"val/*"``, a trailing ``*``), ``step_metric`` the key the metric's
  chart is drawn against (null: the step). See `metric_definitions`.
- ``overview``: what the run is and where it ran, for the Overview section (no buffers):
  notes, tags, the config flattened to ``[key, value]`` pairs, the code (git commit,
  branch, dirty flag, a link to the commit, the notebook or script) and the system (host,
  OS, versions, GPUs); sent at the start and again when it changes.
- ``bokeh``: BokehJS itself (gzip buffers), once per dashboard.
- ``media``: new media entries (images, tables, plots, video, audio, html), each
  ``{"key", "step", "kind", "index", "keep", "payload"}``: ``payload`` as the store holds it,
  ``index`` the entry's ordinal among its key's entries, ``keep`` false for the newest entry
  of a key shown between kept ones (the page replaces it with the next). ``files`` names
  the files whose bytes follow, buffer ``i`` for ``files[i]``: the thumbnails the entries
  name that this page was not sent before (and a small html file itself), never a full
  file. Every host's stream carries them (the notebook's, ``nbtrack ui``'s, the team
  server's): a page with a media URL loads from it only full files and a thumbnail its
  sender could not read (or, on the server, past a look's budget). See `media_message`.
- ``media-thin``: the page drops the kept entries of ``key`` whose index is not a multiple
  of ``stride`` (no buffers): the sender keeps each key at most ~65 entries on the page
  (``widget/_media.py`` has the rule). See `media_thin_message`.
- ``media-file``: the answer to the page's ``{"type": "media-file", "id", "name"}``
  request for a full file: its ``id`` and ``name``, the ``mime`` and the bytes in one
  buffer, or an ``error`` in words and no buffer. See `media_file_reply`.
- ``share-grant``: what the page's Share panel calls the team server with (no buffers):
  the server's URL and a short-lived grant (``nbg_...``) that allows no more than making,
  listing and revoking this run's (or project's) share links, or, with no grant, why there
  is none (``reason``: ``"not-logged-in"``, ``"not-synced"``, ``"unavailable"``) in words
  (``message``). Sent when a view is shown and again before the grant expires; the page
  asks for it with a ``{"type": "share-grant"}`` message of its own. Never a trait: the
  notebook saves those.

Every buffer is a fresh ``bytes`` copy: `send` writes it out later on another thread, so it
must never be a view of an array that someone keeps writing to.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Literal, Protocol, TypedDict, get_args

import numpy as np

from nbtrack._metadata import commit_url
from nbtrack._types import Float64Array, Int64Array
from nbtrack._values import TIME_KEY, HistogramEntry
from nbtrack.media import file_names
from nbtrack.widget._bokeh import bokehjs_files

_I32 = np.iinfo(np.int32)

SyncState = Literal["local", "syncing", "synced", "behind", "unreachable", "refused"]
SYNC_STATES: frozenset[str] = frozenset(get_args(SyncState))


class SyncStatus(TypedDict):
    """Where a run stands with the team server, as the header shows it."""

    state: SyncState
    #: Points logged here that the server does not have yet.
    behind: int
    #: Why the server refused the upload, or why it is unreachable; None when there is none.
    reason: str | None
    #: The run's page on the server; None until the server has the run.
    url: str | None


def json_number(x: float) -> float | str:
    """A float JSON can carry: NaN and infinities become ``"nan"``, ``"inf"``, ``"-inf"``.

    >>> json_number(0.5), json_number(float("nan")), json_number(float("-inf"))
    (0.5, 'nan', '-inf')
    """
    x = float(x)
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _steps_field(steps: Int64Array, buffers: list[bytes]) -> dict[str, Any]:
    n = len(steps)
    first = int(steps[0])
    stride = int(steps[1] - steps[0]) if n > 1 else 1
    # One or two points are always evenly spaced.
    if n < 3 or np.array_equal(steps, first + stride * np.arange(n, dtype=np.int64)):
        return {"first": first, "stride": stride}
    if int(steps.min()) >= _I32.min and int(steps.max()) <= _I32.max:
        buffers.append(steps.astype(np.int32).tobytes())
        return {"steps": "i32", "steps_buf": len(buffers) - 1}
    buffers.append(steps.astype(np.float64).tobytes())
    return {"steps": "f64", "steps_buf": len(buffers) - 1}


def points_message(
    series: dict[str, tuple[Int64Array, Float64Array]], t0: float
) -> tuple[dict[str, Any], list[bytes]]:
    """Encode new points of each key as ``(content, buffers)`` for ``widget.send``.

    >>> content, buffers = points_message({"loss": (np.arange(3), np.ones(3))}, t0=0.0)
    >>> content["series"][0]["key"], content["series"][0]["first"], len(buffers)
    ('loss', 0, 1)
    """
    buffers: list[bytes] = []
    out: list[dict[str, Any]] = []
    for key, (steps, values) in series.items():
        n = len(steps)
        if n == 0:
            continue
        entry: dict[str, Any] = {"key": key, "n": n, **_steps_field(steps, buffers)}
        if key == TIME_KEY:
            rel = (np.asarray(values, dtype=np.float64) - t0).astype(np.float32)
            buffers.append(rel.tobytes())
            entry.update(values="f32", values_buf=len(buffers) - 1)
        else:
            buffers.append(np.asarray(values, dtype=np.float64).tobytes())
            entry.update(values="f64", values_buf=len(buffers) - 1)
        out.append(entry)
    return {"type": "points", "t0": json_number(t0), "series": out}, buffers


def _stat(stats: dict[str, Any], name: str) -> float | str | None:
    v = stats.get(name)
    return None if v is None else json_number(float(v))


def histogram_message(entries: list[HistogramEntry]) -> tuple[dict[str, Any], list[bytes]]:
    """Encode histogram entries as ``(content, buffers)`` for ``widget.send``.

    >>> content, buffers = histogram_message([HistogramEntry("w", 0, -1.0, 1.0, np.ones(4))])
    >>> content["type"], len(buffers)
    ('histograms', 1)
    """
    meta = [
        {
            "key": e.key,
            "step": int(e.step),
            "lo": json_number(e.lo),
            "hi": json_number(e.hi),
            "norm": _stat(e.stats, "norm"),
            "nan": int(e.stats.get("nan", 0)),
            "inf": int(e.stats.get("inf", 0)),
        }
        for e in entries
    ]
    # tobytes() copies, so a caller reusing its counts array cannot change what is sent.
    buffers = [np.ascontiguousarray(e.counts, dtype=np.float64).tobytes() for e in entries]
    return {"type": "histograms", "entries": meta}, buffers


def header_message(
    *,
    run_id: str,
    name: str,
    project: str,
    state: str,
    step: int,
    created_at: float,
    elapsed: float,
    rate: float | None,
    last: dict[str, Any],
    alerts: list[dict[str, Any]],
    error: str | None,
    sync: SyncStatus | dict[str, Any] | None = None,
    metrics: Any = None,
) -> dict[str, Any]:
    """The header's facts as JSON (no buffers): small, sent with each update.

    ``sync`` is where the run stands with the team server (see `SyncStatus`); None for a
    run that has no server. ``metrics`` is the run's metric definitions as the run records
    them (``metadata["metrics"]``; None: there are none), checked by `metric_definitions`.

    >>> header_message(run_id="a", name="n", project="p", state="running", step=1,
    ...     created_at=0.0, elapsed=1.0, rate=None, last={"loss": float("nan")},
    ...     alerts=[], error=None)["last"]
    {'loss': 'nan'}
    """
    return {
        "type": "header",
        "id": run_id,
        "name": name,
        "project": project,
        "state": state,
        "step": int(step),
        "created_at": json_number(created_at),
        "elapsed": json_number(elapsed),
        "rate": None if rate is None else json_number(rate),
        "last": {k: json_number(float(v)) for k, v in last.items() if _is_number(v)},
        "alerts": [
            {
                "title": str(a.get("title", "")),
                "text": str(a.get("text", "")),
                "level": str(a.get("level", "INFO")),
                "step": a.get("step"),
            }
            for a in alerts
        ],
        "error": error,
        "sync": None if sync is None else _sync_field(sync),
        "metrics": metric_definitions(metrics),
    }


# More definitions than this are a loop calling define_metric per key; the rest are dropped.
_MAX_DEFINITIONS = 1000


def metric_definitions(defs: Any) -> list[dict[str, Any]]:
    """What the charts need of the run's metric definitions (``metadata["metrics"]``, a list
    of ``{"name", "step_metric", "summary", "goal", "hidden"}`` in define order): each
    one's name, step metric and hidden flag, checked field by field, since a server passes on
    what any client recorded. An entry without a name, or anything but a list, is left out.

    >>> defs = metric_definitions([{"name": "epoch", "hidden": True}, {"name": "val/*",
    ...     "step_metric": "epoch", "summary": ["min"]}, {"step_metric": "x"}, "junk"])
    >>> [(d["name"], d["step_metric"], d["hidden"]) for d in defs]
    [('epoch', None, True), ('val/*', 'epoch', False)]
    """
    if not isinstance(defs, (list, tuple)):
        return []
    out: list[dict[str, Any]] = []
    for d in defs[:_MAX_DEFINITIONS]:
        if not isinstance(d, Mapping):
            continue
        name, step = d.get("name"), d.get("step_metric")
        if not isinstance(name, str) or not name:
            continue
        out.append(
            {
                "name": name,
                "step_metric": step if isinstance(step, str) and step else None,
                "hidden": d.get("hidden") is True,
            }
        )
    return out


def _sync_field(sync: SyncStatus | dict[str, Any]) -> dict[str, Any]:
    # Rebuilt field by field, so what the page reads has exactly this shape and strict JSON
    # types whatever the sync code hands over (a numpy int, a missing reason).
    state = sync["state"]
    if state not in SYNC_STATES:
        raise ValueError(f"sync state {state!r} is not one of {sorted(SYNC_STATES)}")
    reason, url = sync.get("reason"), sync.get("url")
    return {
        "state": state,
        "behind": int(sync.get("behind") or 0),
        "reason": None if reason is None else str(reason),
        "url": None if url is None else str(url),
    }


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


# Integers past this lose digits as JS numbers: they go as text.
_JS_SAFE_INT = 2**53 - 1
# Deeper than this, a nested config value goes as its text (a user's config, not a bomb).
_CONFIG_DEPTH = 16

ConfigValue = str | int | float | bool | None


def _config_value(v: Any) -> ConfigValue:
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, Integral):
        i = int(v)
        return i if abs(i) <= _JS_SAFE_INT else str(i)
    if isinstance(v, Real):
        return json_number(float(v))
    if isinstance(v, (list, tuple)):
        # As JSON text, what a person reads as a list; str() of anything JSON cannot hold.
        return json.dumps(v, default=str, ensure_ascii=False)
    return str(v)


def flatten_config(config: Mapping[str, Any]) -> list[list[Any]]:
    """``[key, value]`` pairs, nested dicts flattened with "."; values JSON-safe.

    Pairs rather than an object: JS would put integer-like keys first, and the order the
    user gave is the order shown.

    >>> flatten_config({"lr": 1e-3, "opt": {"name": "adam", "betas": (0.9, 0.99)}})
    [['lr', 0.001], ['opt.name', 'adam'], ['opt.betas', '[0.9, 0.99]']]
    """
    out: list[list[Any]] = []

    def walk(prefix: str, d: Mapping[Any, Any], depth: int) -> None:
        for k, v in d.items():
            key = f"{prefix}{k}"
            if isinstance(v, Mapping) and v and depth < _CONFIG_DEPTH:
                walk(f"{key}.", v, depth + 1)
            elif isinstance(v, Mapping):
                out.append([key, json.dumps(v, default=str, ensure_ascii=False)])
            else:
                out.append([key, _config_value(v)])

    walk("", config, 0)
    return out


def _text(v: Any) -> str | None:
    return None if v is None or v == "" else str(v)


def overview_message(
    *,
    notes: str | None,
    tags: Sequence[str],
    config: Mapping[str, Any],
    metadata: Mapping[str, Any],
    created_at: float,
    finished_at: float | None,
) -> dict[str, Any]:
    """What the Overview section shows, as JSON (no buffers).

    `metadata` is what `nbtrack._metadata.collect` recorded (maybe empty, maybe from
    another machine: every field is checked here). The commit's link is made here from the
    remote, so no user name or token of the remote reaches the page, and the remote itself
    is not sent.

    >>> m = overview_message(notes=None, tags=["cnn"], config={"lr": 1e-3},
    ...     metadata={"git": {"commit": "0123abcd", "remote": "git@github.com:o/r.git"}},
    ...     created_at=0.0, finished_at=None)
    >>> m["config"], m["code"]["url"]
    ([['lr', 0.001]], 'https://github.com/o/r/commit/0123abcd')
    """
    git = metadata.get("git")
    git = git if isinstance(git, Mapping) else {}
    commit, remote = _text(git.get("commit")), _text(git.get("remote"))
    dirty = git.get("dirty")
    gpus = metadata.get("gpus")
    system: dict[str, Any] = {
        name: _text(metadata.get(name)) for name in ("host", "os", "python", "torch", "nbtrack")
    }
    system["gpus"] = [str(g) for g in gpus] if isinstance(gpus, (list, tuple)) else []
    return {
        "type": "overview",
        "notes": _text(notes),
        "tags": [str(t) for t in tags],
        "config": flatten_config(config),
        "code": {
            "commit": commit,
            "branch": _text(git.get("branch")),
            "dirty": dirty if isinstance(dirty, bool) else None,
            "url": commit_url(remote, commit),
            "program": _text(metadata.get("program")),
            "colab": metadata.get("colab") is True,
            "colab_url": _colab_url(metadata.get("colab_url")),
        },
        "system": system,
        "created_at": json_number(created_at),
        "finished_at": None if finished_at is None else json_number(finished_at),
    }


def _colab_url(v: Any) -> str | None:
    # Recorded by this package's own code, but the server passes on what any client sent.
    prefix = "https://colab.research.google.com/drive/"
    if isinstance(v, str) and v.startswith(prefix) and "/" not in v[len(prefix) :]:
        return v
    return None


def bokeh_message() -> tuple[dict[str, Any], list[bytes]]:
    """``(content, buffers)``: BokehJS from the installed bokeh package, as gzip buffers.

    >>> content, buffers = bokeh_message()
    >>> content["type"], content["files"]
    ('bokeh', ['bokeh.min.js', 'bokeh-api.min.js'])
    """
    version, names, buffers = bokehjs_files()
    return {"type": "bokeh", "version": version, "files": list(names)}, list(buffers)


ShareGrantReason = Literal["not-logged-in", "not-synced", "unavailable"]


def share_grant_message(
    grant: Mapping[str, Any] | None = None,
    *,
    server: str | None = None,
    reason: ShareGrantReason | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    """The ``share-grant`` message: `grant` as the server gave it (token, expires_at, scope,
    entity, project, run_id) from `server`; or, without one, the `reason` and a `message`.

    >>> share_grant_message(reason="not-logged-in", message="log in")["token"] is None
    True
    """
    if grant is not None:
        from nbtrack.sync.shares import seconds_of

        return {
            "type": "share-grant",
            "server": server,
            "token": str(grant["token"]),
            "expires_at": seconds_of(grant.get("expires_at")),
            "scope": grant.get("scope") or ("run" if grant.get("run_id") else "project"),
            "entity": grant.get("entity"),
            "project": grant.get("project"),
            "run_id": grant.get("run_id"),
            "reason": None,
            "message": None,
        }
    return {
        "type": "share-grant",
        "server": server,
        "token": None,
        "expires_at": None,
        "scope": None,
        "entity": None,
        "project": None,
        "run_id": None,
        "reason": reason or "unavailable",
        "message": message,
    }


# -- media ------------------------------------------------------------------------------------

#: An html entry's file goes with its message when it is at most this big; a bigger one the
#: page asks for (a ``media-file`` request, or its host's media URL) when it is shown.
HTML_INLINE_BYTES = 512 * 1024


@dataclass(frozen=True, slots=True)
class MediaOut:
    """One media entry as the page gets it: a stored row (`nbtrack.store.db.MediaRow`'s
    key, step, kind and payload) with the sender's `index` and `keep` (see `media_message`)."""

    key: str
    step: int
    kind: str
    index: int
    keep: bool
    payload: dict[str, Any]


def media_file_names(kind: str, payload: dict[str, Any]) -> list[str]:
    """The files of an entry that go with it to a page, in payload order, each once: every
    thumbnail it names and, for html, the file itself when at most `HTML_INLINE_BYTES`.

    >>> media_file_names("image", {"items": [{"file": "a.png", "thumb": "t.png",
    ...     "masks": [{"file": "m.png", "thumb": "mt.png"}]}]})
    ['t.png', 'mt.png']
    """
    names = file_names(payload, ("thumb",))
    if kind == "html":
        for item in payload.get("items", []):
            if not isinstance(item, dict):
                continue
            size, name = item.get("bytes"), item.get("file")
            if isinstance(size, int) and size <= HTML_INLINE_BYTES and isinstance(name, str):
                names.append(name)
    return list(dict.fromkeys(names))


#: A media message's file bytes: past this, the next entries go in a message of their own.
MEDIA_MESSAGE_BYTES = 4 * 1024 * 1024


class FileReader(Protocol):
    """Where a media message's file bytes are read: a store's `MediaFiles`, or the server's
    files of one run. `read` raises OSError for a file it does not hold."""

    def read(self, name: str) -> bytes: ...


def media_messages(
    rows: Sequence[MediaOut], sent_files: set[str] | None, files: FileReader | None
) -> list[tuple[dict[str, Any], list[bytes]]]:
    """`media_message` of `rows`, as several messages when their files pass
    `MEDIA_MESSAGE_BYTES`: each entry goes in the message that carries its new files."""
    out: list[tuple[dict[str, Any], list[bytes]]] = []
    content: dict[str, Any] | None = None
    buffers: list[bytes] = []
    size = 0
    for r in rows:
        c, b = media_message([r], sent_files, files)
        if content is None:
            content = c
        else:
            content["entries"].extend(c["entries"])
            content["files"].extend(c["files"])
        buffers.extend(b)
        size += sum(len(x) for x in b)
        if size >= MEDIA_MESSAGE_BYTES:
            out.append((content, buffers))
            content, buffers, size = None, [], 0
    if content is not None:
        out.append((content, buffers))
    return out


def media_message(
    rows: Sequence[MediaOut],
    sent_files: set[str] | None,
    files: FileReader | None,
) -> tuple[dict[str, Any], list[bytes]]:
    """Encode media entries as ``(content, buffers)`` for ``widget.send``.

    `files` is where the bytes are read (the store's `MediaFiles`, the server's files of a
    run); None where none can be read: then ``files`` is ``[]``. `sent_files` holds the names this page
    was sent before, and gains the ones sent now: the same thumbnail twice (an image logged
    again, a table's repeated cell) crosses once. A name that is not a media file name, or
    a file the store does not hold (deleted by hand), is left out; the page shows no
    thumbnail for it. Only the thumbnails are read: a full file is sent when the page asks.

    >>> content, buffers = media_message([MediaOut("t", 0, "table", 0, True,
    ...     {"columns": ["a"], "types": ["number"], "rows": 1, "data": [[1]]})], set(), None)
    >>> content["entries"][0]["index"], content["files"], buffers
    (0, [], [])
    """
    from nbtrack.store.media_files import valid_name

    names: list[str] = []
    buffers: list[bytes] = []
    entries = []
    seen = sent_files if sent_files is not None else set()
    for r in rows:
        entries.append(
            {
                "key": r.key,
                "step": int(r.step),
                "kind": r.kind,
                "index": int(r.index),
                "keep": bool(r.keep),
                "payload": r.payload,
            }
        )
        if files is None:
            continue
        for name in media_file_names(r.kind, r.payload):
            if name in seen or not valid_name(name):
                continue
            try:
                data = files.read(name)
            except OSError:
                continue  # not in the store (any more): the page goes without it
            seen.add(name)
            names.append(name)
            buffers.append(data)
    return {"type": "media", "entries": entries, "files": names}, buffers


def media_thin_message(key: str, stride: int) -> dict[str, Any]:
    """The page keeps of `key` the kept entries whose index is a multiple of `stride` only.

    >>> media_thin_message("preds", 2)
    {'type': 'media-thin', 'key': 'preds', 'stride': 2}
    """
    return {"type": "media-thin", "key": key, "stride": int(stride)}


def media_file_reply(
    request_id: int, name: str, data: bytes | None, error: str | None = None
) -> tuple[dict[str, Any], list[bytes]]:
    """The answer to the page's ``media-file`` request `request_id` for file `name`: its
    bytes in one buffer, or (`data` None) the `error` in words and no buffer.

    >>> content, buffers = media_file_reply(3, "0" * 64 + ".png", b"png")
    >>> content["mime"], content["error"], buffers
    ('image/png', None, [b'png'])
    """
    from nbtrack.store.media_files import mime, valid_name

    content = {
        "type": "media-file",
        "id": int(request_id),
        "name": name,
        "mime": mime(name) if valid_name(name) else "application/octet-stream",
        "error": None,
    }
    if data is None:
        content["error"] = error or f"no media file {name!r}"
        return content, []
    return content, [bytes(data)]

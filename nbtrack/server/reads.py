"""The read side: runs, their series (whole, or reduced per bucket), histograms, and what
a live page is sent."""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Connection, select

from nbtrack._types import Float64Array, Int64Array
from nbtrack._values import TIME_KEY, HistogramEntry
from nbtrack.server import models
from nbtrack.sync.frames import Chunk

if TYPE_CHECKING:
    from nbtrack.server.media import LiveMedia

# A run whose client has been silent this long (no upload, no heartbeat) shows as crashed.
STALE_AFTER_S = 120.0
# How much of a run's stored blobs one live event carries at most (whole uploads only).
EVENT_BYTES = 8 << 20


def from_json(text: str | None, default: Any) -> Any:
    if text is None:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def effective_state(row: Any, now: float | None = None) -> str:
    state = str(row.state)
    now = time.time() if now is None else now
    if state == "running" and now - float(row.heartbeat_at) > STALE_AFTER_S:
        return "crashed"
    return state


def run_dict(row: Any, entity: str, project: str) -> dict[str, Any]:
    return {
        "entity": entity,
        "project": project,
        "id": row.run_id,
        "name": row.name,
        "notes": row.notes,
        "tags": from_json(row.tags, []),
        "config": from_json(row.config, {}),
        "summary": from_json(row.summary, {}),
        "user_summary": from_json(row.user_summary, {}),
        "metadata": from_json(row.metadata, {}),
        "alerts": from_json(row.alerts, []),
        "state": effective_state(row),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "heartbeat_at": row.heartbeat_at,
        "finished_at": row.finished_at,
        "exit_code": row.exit_code,
        "error": row.error,
        "last_step": row.last_step,
        "ingest_seq": row.ingest_seq,
    }


def run_row(conn: Connection, project_id: int, run_id: str) -> Any:
    r = models.RUNS
    return conn.execute(select(r).where(r.c.project_id == project_id, r.c.run_id == run_id)).first()


def run_rows(conn: Connection, project_id: int) -> list[Any]:
    r = models.RUNS
    return list(
        conn.execute(select(r).where(r.c.project_id == project_id).order_by(r.c.created_at, r.c.id))
    )


def keys(conn: Connection, run_pk: int) -> dict[str, list[str]]:
    s = models.SERIES
    out: dict[str, list[str]] = {"scalars": [], "histograms": []}
    for kind, key in conn.execute(
        select(s.c.kind, s.c.key).where(s.c.run_pk == run_pk).order_by(s.c.key)
    ):
        out["scalars" if kind == "s" else "histograms"].append(key)
    return out


def chunk_of(row: Any) -> Chunk:
    """A stored chunk row as the upload's frame module reads it."""
    return Chunk(
        row.kind, row.key, row.seq_first, row.seq_last, row.n, row.step_first, row.step_last,
        row.stride, None if row.steps is None else bytes(row.steps), bytes(row.vals),
    )  # fmt: skip


def series(
    conn: Connection, run_pk: int, key: str, start: int | None = None, end: int | None = None
) -> tuple[Int64Array, Float64Array]:
    """Every (step, value) of `key`, in logging order; only steps in [start, end] if given."""
    c = models.CHUNKS
    q = select(c).where(c.c.run_pk == run_pk, c.c.kind == "s", c.c.key == key)
    if start is not None:
        q = q.where(c.c.step_last >= start)
    if end is not None:
        q = q.where(c.c.step_first <= end)
    chunks = [chunk_of(row) for row in conn.execute(q.order_by(c.c.seq_first))]
    if not chunks:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    steps = np.concatenate([ch.step_array() for ch in chunks])
    values = np.concatenate([ch.values() for ch in chunks])
    if start is not None or end is not None:
        keep = np.ones(len(steps), dtype=bool)
        if start is not None:
            keep &= steps >= start
        if end is not None:
            keep &= steps <= end
        steps, values = steps[keep], values[keep]
    return steps, values


def histograms(conn: Connection, run_pk: int, key: str) -> list[HistogramEntry]:
    c = models.CHUNKS
    out: list[HistogramEntry] = []
    q = select(c).where(c.c.run_pk == run_pk, c.c.kind == "h", c.c.key == key)
    for row in conn.execute(q.order_by(c.c.seq_first)):
        out.extend(chunk_of(row).histograms())
    return out


# -- what live pages get ------------------------------------------------------------------


def b64(buf: bytes) -> str:
    return base64.b64encode(buf).decode("ascii")


def b64_i8(a: Any) -> str:
    """An integer array as base64 of little-endian int64, as the API sends it."""
    return b64(np.asarray(a).astype("<i8").tobytes())


def b64_f8(a: Any) -> str:
    """A float array as base64 of little-endian float64, as the API sends it."""
    return b64(np.asarray(a).astype("<f8").tobytes())


def message(content: dict[str, Any], buffers: list[bytes]) -> dict[str, Any]:
    """One view message as an event carries it: its content, its buffers in base64."""
    return {"content": content, "buffers": [b64(b) for b in buffers]}


# -- what a share link hides ---------------------------------------------------------------

# Fields of `nbtrack._metadata.collect` that name the machine or hold paths with the user's
# name in them (and ones other clients may send). The program keeps only its file name.
_PRIVATE_FIELDS = frozenset(
    {"host", "hostname", "user", "username", "executable", "cwd", "colab_url", "email"}
)
_GIT_KEPT = ("commit", "branch", "dirty")
# A home folder in a path or a traceback: its user's name goes, "~" stays. Any case: a
# Windows path may be spelled c:\users\ada.
_HOME = re.compile(r"(?:/home/|/Users/|[A-Za-z]:\\Users\\)[^/\\\s\"':]+", re.IGNORECASE)
# Where a run's own private values end in a traceback: a path's next separator or quote.
_PATH_END = r"(?=[/\\\s\"':,;)\]]|$)"
# Shorter names than this are not looked for in a traceback (a host named "a" would take
# every word "a" with it).
_MIN_NAME = 3


def redact_metadata(metadata: Any) -> dict[str, Any]:
    """`metadata` (what a client recorded: `nbtrack._metadata.collect`) without the machine's
    host name, the paths that hold the user's name, and the git remote (and so the commit
    link made from it): what a share link shows unless its owner chose `show_private`. The
    commit hash, branch and dirty flag stay; the program keeps its file name.

    >>> redact_metadata({"host": "gpu-7", "os": "Linux", "program": "/home/ada/x/train.ipynb",
    ...     "git": {"commit": "0123abcd", "branch": "main", "remote": "git@github.com:a/r"}})
    {'os': 'Linux', 'program': 'train.ipynb', 'git': {'commit': '0123abcd', 'branch': 'main'}}
    """
    if not isinstance(metadata, dict):
        return {}
    out: dict[str, Any] = {}
    for name, value in metadata.items():
        if name in _PRIVATE_FIELDS:
            continue
        if name == "git":
            if isinstance(value, dict):
                out["git"] = {k: value[k] for k in _GIT_KEPT if k in value}
            continue
        if name == "program":
            value = _file_name(value)
            if value is None:
                continue
        out[name] = value
    return out


def _file_name(program: Any) -> str | None:
    if not isinstance(program, str) or program.startswith("fileId="):  # Colab: a Drive id
        return None
    name = PureWindowsPath(program).name if "\\" in program else PurePosixPath(program).name
    return name or None


def redact_text(text: str | None, metadata: Any = None) -> str | None:
    """`text` (a traceback) with its home folders' user names replaced by "~", and what
    `redact_metadata` leaves out of `metadata` (the run's own host name, user name, working
    folder, its interpreter's environment, its program's folder and git remote) by "…":
    a traceback names them outside any home folder too (a cluster's scratch space, the
    host torch.distributed could not reach).

    >>> redact_text('File "/home/ada/train.py", line 3')
    'File "~/train.py", line 3'
    >>> redact_text('File "/scratch/ada/x/train.py": no route to gpu-7:29500',
    ...             {"cwd": "/scratch/ada/x", "host": "gpu-7"})
    'File "…/train.py": no route to …:29500'
    """
    if text is None:
        return None
    text = _HOME.sub("~", text)
    for pattern in _private_patterns(metadata):
        text = pattern.sub("…", text)
    return text


def _private_patterns(metadata: Any) -> list[re.Pattern[str]]:
    """What of `metadata` a shown traceback must not hold, longest first (a folder before
    the folder it is in)."""
    if not isinstance(metadata, dict):
        return []
    names: set[str] = set()
    for field in ("host", "hostname", "user", "username", "email"):
        value = metadata.get(field)
        if isinstance(value, str) and len(value.strip()) >= _MIN_NAME:
            names.add(value.strip())
            short = value.strip().split(".", 1)[0]  # gpu-7 of gpu-7.cluster.example
            if len(short) >= _MIN_NAME:
                names.add(short)
    paths: set[str] = set()
    git = metadata.get("git")
    remote = git.get("remote") if isinstance(git, dict) else None
    if isinstance(remote, str) and len(remote) >= _MIN_NAME:
        from nbtrack._metadata import strip_credentials

        paths.update({remote, strip_credentials(remote)})
    for folder in (
        _folder(metadata.get("cwd")),
        _folder(metadata.get("program"), parent=True),
        _environment(metadata.get("executable")),
    ):
        if folder is not None:
            paths.add(folder)
    found = [(v, re.compile(re.escape(v) + _PATH_END, re.IGNORECASE)) for v in paths]
    found += [(v, re.compile(r"(?<![\w.-])" + re.escape(v) + r"(?![\w-])")) for v in names]
    return [p for _, p in sorted(found, key=lambda vp: -len(vp[0]))]


def _path(text: Any) -> PurePosixPath | PureWindowsPath | None:
    if not isinstance(text, str) or not text or text.startswith("fileId="):
        return None
    return PureWindowsPath(text) if "\\" in text or text[1:2] == ":" else PurePosixPath(text)


def _folder(text: Any, parent: bool = False) -> str | None:
    """A recorded folder (or with `parent`, a file's folder) when it names more than a top
    folder: "/usr" or "C:\\" would take every path of a traceback with it."""
    path = _path(text)
    if path is None:
        return None
    if parent:
        path = path.parent
    return str(path) if path.is_absolute() and len(path.parts) > 2 else None


def _environment(executable: Any) -> str | None:
    """The environment an interpreter is in (the folder above its bin/ or Scripts/)."""
    path = _path(executable)
    if path is None:
        return None
    folder = path.parent
    if folder.name.lower() in ("bin", "scripts"):
        folder = folder.parent
    return _folder(str(folder))


def header_content(
    row: Any, entity: str, project: str, *, label: str | None = None, private: bool = True
) -> dict[str, Any]:
    """The header message: the run's project shown as `label` (default entity/project);
    without `private`, its traceback through `redact_text` (with the run's metadata)."""
    from nbtrack.widget._protocol import header_message

    summary = from_json(row.summary, {})
    metadata = from_json(row.metadata, {})
    end = row.finished_at if row.finished_at is not None else max(row.heartbeat_at, time.time())
    return header_message(
        run_id=row.run_id,
        name=row.name,
        project=f"{entity}/{project}" if label is None else label,
        state=effective_state(row),
        step=int(row.last_step) + 1,
        created_at=float(row.created_at),
        elapsed=max(0.0, float(end) - float(row.created_at)),
        rate=None,
        last={k: _num(v) for k, v in summary.items() if _num(v) is not None},
        alerts=[a for a in from_json(row.alerts, []) if isinstance(a, dict)],
        error=row.error if private else redact_text(row.error, metadata),
        # define_metric's definitions: no private facts (names of keys the run logged).
        metrics=metadata.get("metrics") if isinstance(metadata, dict) else None,
    )


def overview_content(row: Any, *, private: bool = True) -> dict[str, Any]:
    """The Overview section's message, from the run's row (what its client uploaded);
    without `private`, its metadata through `redact_metadata`."""
    from nbtrack.widget._protocol import overview_message

    tags = from_json(row.tags, [])
    config = from_json(row.config, {})
    metadata = from_json(row.metadata, {})
    if not private:
        metadata = redact_metadata(metadata)
    return overview_message(
        notes=row.notes,
        tags=tags if isinstance(tags, list) else [],
        config=config if isinstance(config, dict) else {},
        metadata=metadata if isinstance(metadata, dict) else {},
        created_at=float(row.created_at),
        finished_at=None if row.finished_at is None else float(row.finished_at),
    )


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if v in ("nan", "inf", "-inf"):
        return float(v)
    return None


def live_messages(
    conn: Connection,
    run_pk: int,
    entity: str,
    project: str,
    after: int,
    header: bool,
    *,
    label: str | None = None,
    private: bool = True,
    media: LiveMedia | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """The messages a page that has seen ingest sequence `after` is missing, and the
    sequence they bring it to (whole uploads only, up to about `EVENT_BYTES`). `label` and
    `private` as `header_content` takes them (a share link's page: no entity, no private
    metadata); `media` the stream's media state (its messages come last, thinned)."""
    from nbtrack.widget._protocol import histogram_message, points_message

    r, c = models.RUNS, models.CHUNKS
    run = conn.execute(select(r).where(r.c.id == run_pk)).first()
    if run is None:
        return [], after
    upto = int(run.ingest_seq)
    msgs: list[dict[str, Any]] = []
    if upto <= after and not header:
        return msgs, after
    parts: dict[str, list[Chunk]] = {}
    hists: list[HistogramEntry] = []
    size, reached = 0, after
    rows = conn.execute(
        select(c)
        .where(c.c.run_pk == run_pk, c.c.ingest_seq > after, c.c.ingest_seq <= upto)
        .order_by(c.c.ingest_seq, c.c.id)
    )
    for row in rows:
        if row.ingest_seq != reached and size >= EVENT_BYTES:
            upto = reached  # the rest in the next event, from a whole upload on
            break
        reached = int(row.ingest_seq)
        size += len(row.vals) + (len(row.steps) if row.steps is not None else 0)
        ch = chunk_of(row)
        if ch.kind == "s":
            parts.setdefault(ch.key, []).append(ch)
        else:
            hists.extend(ch.histograms())
    rows.close()
    if header or int(run.fields_seq) > after:
        msgs.append(message(header_content(run, entity, project, label=label, private=private), []))
        msgs.append(message(overview_content(run, private=private), []))
    if parts:
        joined = {
            k: (
                np.concatenate([p.step_array() for p in ps]),
                np.concatenate([p.values() for p in ps]),
            )
            for k, ps in parts.items()
        }
        # The time column first: the page pairs each key's steps with it.
        if TIME_KEY in joined:
            joined = {TIME_KEY: joined.pop(TIME_KEY), **joined}
        content, buffers = points_message(joined, float(run.created_at))
        msgs.append(message(content, buffers))
    if hists:
        content, buffers = histogram_message(hists)
        msgs.append(message(content, buffers))
    if media is not None:
        msgs.extend(message(c, b) for c, b in media.messages(conn, run_pk, after, upto, header))
    return msgs, max(upto, after)

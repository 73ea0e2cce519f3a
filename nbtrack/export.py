"""The HTML export: one file that shows a run's dashboard, or a project's compare view, in any
browser, offline, with nothing to install and no request leaving the page.

>>> nbtrack.export.export_run("fashion-cnn/3k2j9x0a", "run.html")
PosixPath('/home/ada/run.html')
>>> nbtrack.export.export_project("fashion-cnn", "fashion-cnn.html")
PosixPath('/home/ada/fashion-cnn.html')

The shell's ``nbtrack export RUN -o run.html`` and ``nbtrack export --project P -o p.html``
call these; the dashboard's Export button writes the same file in the browser from what the
page holds (``js/export.ts``, the other side of this format).

The file (format 1)
-------------------

::

    <!doctype html><html><head>
      <meta http-equiv="Content-Security-Policy" content="default-src 'none';
        script-src 'nonce-N' blob:; style-src 'unsafe-inline'; img-src data: blob:;
        connect-src 'none'; base-uri 'none'; form-action 'none'">
      <meta name="nbtrack-export" content="1">  ... <title>, <style>
    </head><body><main>
      <div data-nbtrack-run data-run-id="ID" data-embedded="nbtrack-data"
           data-bokeh="nbtrack-bokeh" data-layout-key="nbtrack:export:ID"></div>
        (or <div data-nbtrack-compare data-embedded=... data-bokeh=... data-state-key=...>)
      <script type="application/json" id="nbtrack-bokeh">{"messages": [bokeh]}</script>
      <script type="application/json" id="nbtrack-data">{"messages": [...]}</script>
      <script type="module" nonce="N" data-nbtrack-bundle>widget.js</script>
    </main></body></html>

- N is 128 random bits, new for every file: the page runs its one inline script and the
  scripts it makes itself (BokehJS, from blob: URLs), nothing else, and may fetch nothing.
- Both JSON elements follow the contract of the server's live stream (``js/event-feed.ts``):
  ``{"messages": [{"content": <protocol message>, "buffers": [<base64>, ...]}]}``. The
  BokehJS element holds one ``bokeh`` message (``widget/_protocol.py`` `bokeh_message`: the
  installed bokeh package's two files, gzip). The data element holds, for a run, what the
  notebook's `StoreFeed` sends a dashboard (``points``, ``histograms``, ``media``,
  ``header``, ``overview``); for a project, what `ProjectFeed` sends a compare view (``runs``, then
  ``curves`` as envelopes within its budget). Inside the JSON every ``<`` is ``\\u003c``.
- The bundle is ``nbtrack/static/widget.js`` as it is, but ``</script`` and ``<!--``, which
  would end or confuse the element, written ``<\\/script`` and ``\\x3C!--`` (the same in
  every place a module's text can hold them: strings, templates, regular expressions,
  comments).

What a run's file holds
-----------------------

Every series of at most `WHOLE_POINTS` points whole. A longer one (its steps sorted, the
last value of a repeated step kept) is cut into `BUCKETS` buckets of equal step span
(``nbtrack/_envelope.py``), and each bucket keeps its lowest and its highest finite point,
its first non-finite one (a gap stays a gap) and its last, in step order, with the series'
first point: at most four points a bucket, so the chart, which draws a per-pixel min/max of
what it has (``js/reduce.ts``), draws the same line at any width up to `BUCKETS` pixels (a
chart of the dashboard is at most ~700 wide). Zoomed in past that, the reduced part shows
those points only. Histograms (``watch``): at most `HIST_PER_KEY` steps of each key, and
`HIST_TOTAL` in all (then as many a key as fit, but at least `HIST_MIN`), evenly spaced
over the key's steps, the first and the last always among them.

Media (images, tables, plots, video, audio, html) go as the dashboard gets them, thinned by
the same rule (``nbtrack/widget/_media.py``: at most ~65 entries a key, evenly spaced, and
the key's last one), each message with the bytes of every thumbnail its entries name (an html
page of at most 512 KB itself), each file once. Full-size files are not in the file: the
page shows the thumbnail enlarged instead. A run exported from a team server has its
thumbnails too: `nbtrack.Api(host=...)` downloads the files its entries name (into the media
cache, ``nbtrack/sync/remote.py``), and the file holds them as a local run's holds its own.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import os
import re
import secrets
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from nbtrack._types import Float64Array, Int64Array
from nbtrack._values import Batch, HistogramEntry

if TYPE_CHECKING:
    from nbtrack.api import Api, RunRecord
    from nbtrack.widget._compare import CompareView

__all__ = [
    "BUCKETS",
    "FORMAT_VERSION",
    "HIST_MIN",
    "HIST_PER_KEY",
    "HIST_TOTAL",
    "WHOLE_POINTS",
    "export_project",
    "export_run",
    "reduce_series",
    "render",
    "thin_histograms",
]

FORMAT_VERSION = 1
#: A series of at most this many points goes whole.
WHOLE_POINTS = 5000
#: The buckets a longer series is reduced to.
BUCKETS = 1024
#: The most histogram steps kept of one key, and of all keys together.
HIST_PER_KEY = 50
HIST_TOTAL = 600
#: ... but never fewer than this many of a key (a model of many tensors makes a larger file).
HIST_MIN = 10

BUNDLE = Path(__file__).resolve().parent / "static" / "widget.js"
DATA_ID = "nbtrack-data"
BOKEH_ID = "nbtrack-bokeh"
_PAGE_STYLE = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1f2328;background:#fff}"
    "main{padding:1em 1.2em;max-width:1400px}"
    # A project export opens no run (it has no run's dashboard): its names read as text.
    ".nbtrack-compare.nbtrack-dashboard a.nbt-run-name,.nbtrack-compare.nbtrack-dashboard "
    "a.nbt-run-name:hover{color:inherit;text-decoration:none;cursor:text}"
)


def csp(nonce: str) -> str:
    """The file's Content-Security-Policy: its own script and blob: scripts, no request."""
    return (
        f"default-src 'none'; script-src 'nonce-{nonce}' blob:; style-src 'unsafe-inline'; "
        "img-src data: blob:; connect-src 'none'; base-uri 'none'; form-action 'none'"
    )


# -- what goes in ------------------------------------------------------------------------


def reduce_series(
    steps: Int64Array,
    values: Float64Array,
    *,
    whole: int = WHOLE_POINTS,
    buckets: int = BUCKETS,
) -> tuple[Int64Array, Float64Array]:
    """The points of one series that the file keeps (see the module's docstring).

    >>> steps = np.arange(100_000)
    >>> values = np.sin(steps / 50)
    >>> s, v = reduce_series(steps, values)
    >>> len(s) <= 4 * BUCKETS + 1, int(s[0]), int(s[-1]), bool(v.max() == values.max())
    (True, 0, 99999, True)
    """
    from nbtrack._envelope import reduce
    from nbtrack.api import sorted_last

    steps, values = sorted_last(np.asarray(steps, np.int64), np.asarray(values, np.float64))
    n = len(steps)
    if n <= whole:
        return steps, values
    b = reduce(steps, values, buckets)
    starts = np.concatenate(([0], np.cumsum(b.count)[:-1]))
    bucket = np.repeat(np.arange(len(starts)), b.count)
    keep = np.zeros(n, dtype=bool)
    keep[0] = True
    keep[starts + b.count - 1] = True  # each bucket's last point
    finite = np.isfinite(values)
    for target in (b.vmin, b.vmax):
        # The first point of each bucket equal to its min (max); a bucket without a finite
        # value has NaN there, which nothing equals.
        hit = np.flatnonzero(finite & (values == target[bucket]))
        _, first = np.unique(bucket[hit], return_index=True)
        keep[hit[first]] = True
    bad = np.flatnonzero(~finite)
    if len(bad):
        _, first = np.unique(bucket[bad], return_index=True)
        keep[bad[first]] = True
    out_steps: Int64Array = steps[keep]
    out_values: Float64Array = values[keep]
    return out_steps, out_values


def thin_histograms(
    entries: Sequence[HistogramEntry],
    *,
    per_key: int = HIST_PER_KEY,
    total: int = HIST_TOTAL,
    least: int = HIST_MIN,
) -> list[HistogramEntry]:
    """The histogram entries the file keeps, in their order (see the module's docstring).

    >>> hs = [HistogramEntry("w", s, 0.0, 1.0, np.ones(4)) for s in range(0, 1000, 5)]
    >>> kept = thin_histograms(hs)
    >>> len(kept), kept[0].step, kept[-1].step
    (50, 0, 995)
    """
    order: dict[str, list[int]] = {}
    for i, e in enumerate(entries):
        order.setdefault(e.key, []).append(i)
    if not order:
        return []
    limit = max(least, min(per_key, total // len(order)))
    keep: set[int] = set()
    for idx in order.values():
        # Sorted by step, so "evenly spaced" is over the key's own steps.
        idx = sorted(idx, key=lambda i: entries[i].step)
        if len(idx) <= limit:
            keep.update(idx)
        else:
            picks = np.unique(np.round(np.linspace(0, len(idx) - 1, limit)).astype(np.int64))
            keep.update(idx[int(p)] for p in picks)
    return [e for i, e in enumerate(entries) if i in keep]


class _Collect:
    """A feed's target (`nbtrack.widget._dashboard.Target`, and what `ProjectFeed` uses of a
    widget) that keeps the messages instead of sending them to a page."""

    def __init__(self) -> None:
        self.messages: list[tuple[dict[str, Any], list[bytes]]] = []
        self.closed = False

    def send(self, content: dict[str, Any], buffers: Sequence[bytes] | None = None) -> None:
        if not self.closed:  # a feed's thread, stopped after the snapshot, sends no more
            self.messages.append((content, [bytes(b) for b in buffers or []]))

    def send_bokeh(self) -> None:
        pass  # BokehJS goes in its own element (see `render`)

    def on_msg(self, callback: Any) -> None:
        pass  # a file asks nothing back


@functools.cache
def _snapshot_class() -> type[RunRecord]:
    from nbtrack.api import RunRecord

    @dataclass(frozen=True)
    class Snapshot(RunRecord):
        """The run as `StoreFeed` reads it, but read once, as the file keeps it."""

        def reload(self) -> RunRecord:
            return self

        def read_since(
            self, seq: int, hist_seq: int = 0, *, histograms: bool = True
        ) -> tuple[Batch, int, int]:
            batch, seq, hist_seq = super().read_since(seq, hist_seq, histograms=histograms)
            series = {k: reduce_series(s, v) for k, (s, v) in batch.series.items()}
            return Batch(series, thin_histograms(batch.histograms)), seq, hist_seq

    return Snapshot


def run_messages(record: RunRecord) -> list[tuple[dict[str, Any], list[bytes]]]:
    """What a dashboard of `record` is sent, by the notebook's own feed, reduced for a file."""
    from nbtrack.widget._dashboard import StoreFeed

    snap = _snapshot_class()(**{f.name: getattr(record, f.name) for f in fields(record)})
    target = _Collect()
    feed = StoreFeed(target, snap)
    feed.stop()  # a running run's feed would poll again: the file is a snapshot
    target.closed = True
    return target.messages


def project_messages(
    api: Api, project: str, runs: Sequence[str] | None = None
) -> list[tuple[dict[str, Any], list[bytes]]]:
    """What a compare view of `project` is sent first (rows, then curves as envelopes). The
    feed takes `api` over, and closes it."""
    from nbtrack.widget._compare import ProjectFeed

    target = _Collect()
    try:
        # ProjectFeed uses of its widget only what _Collect has (send, send_bokeh, on_msg).
        feed = ProjectFeed(cast("CompareView", target), api, project, runs, follow=False)
    except BaseException:
        api.close()
        raise
    target.closed = True
    feed.stop()
    return target.messages


# -- the file --------------------------------------------------------------------------------


def _json(doc: Any) -> str:
    """JSON safe inside a <script> element: no ``<`` at all (so no ``</script`` or ``<!--``)."""
    text = json.dumps(doc, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _messages_json(messages: Sequence[tuple[dict[str, Any], Sequence[bytes]]]) -> str:
    return _json(
        {
            "messages": [
                {"content": c, "buffers": [base64.b64encode(b).decode("ascii") for b in bufs]}
                for c, bufs in messages
            ]
        }
    )


_SCRIPT_END = re.compile(r"</(script)", re.IGNORECASE)


def script_text(source: str) -> str:
    """A module's text made safe to stand inside a <script> element (see the docstring).

    >>> script_text('s = "</script><!--"')
    's = "<\\\\/script>\\\\x3C!--"'
    """
    return _SCRIPT_END.sub(r"<\\/\1", source).replace("<!--", "\\x3C!--")


def _bundle() -> str:
    if not BUNDLE.is_file():
        raise FileNotFoundError(
            f"nbtrack export: the view bundle {BUNDLE} is not built (npm run build)"
        )
    return BUNDLE.read_text(encoding="utf-8")


def render(
    *,
    title: str,
    view: str,
    messages: Sequence[tuple[dict[str, Any], Sequence[bytes]]],
    bundle: str | None = None,
) -> str:
    """The whole file: `view` is ``"run:<id>"`` or ``"project:<name>"``; `messages` the data.

    >>> text = render(title="a run", view="run:3k2j9x0a", messages=[])
    >>> text.startswith("<!doctype html>")
    True
    """
    from nbtrack.widget._protocol import bokeh_message

    kind, _, name = view.partition(":")
    e = html.escape
    if kind == "run":
        host = (
            f'<div data-nbtrack-run data-run-id="{e(name)}" data-embedded="{DATA_ID}" '
            f'data-bokeh="{BOKEH_ID}" data-layout-key="{e(f"nbtrack:export:{name}")}"></div>'
        )
    elif kind == "project":
        host = (
            f'<div data-nbtrack-compare data-embedded="{DATA_ID}" data-bokeh="{BOKEH_ID}" '
            f'data-state-key="{e(f"nbtrack:export:project:{name}")}"></div>'
        )
    else:
        raise ValueError(f"nbtrack export: view {view!r} is neither run:<id> nor project:<name>")
    from nbtrack._version import __version__

    nonce = secrets.token_hex(16)
    bokeh = bokeh_message()
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{e(csp(nonce))}">'
        '<meta name="referrer" content="no-referrer">'
        f'<meta name="nbtrack-export" content="{FORMAT_VERSION}">'
        f'<meta name="generator" content="nbtrack {e(__version__)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{e(title)} · nbtrack</title><style>{_PAGE_STYLE}</style></head>"
        f"<body><main>{host}\n"
        f'<script type="application/json" id="{BOKEH_ID}">{_messages_json([bokeh])}</script>\n'
        f'<script type="application/json" id="{DATA_ID}">{_messages_json(messages)}</script>\n'
        f'<script type="module" nonce="{nonce}" data-nbtrack-bundle>'
        f"{script_text(bundle if bundle is not None else _bundle())}</script>\n"
        "</main></body></html>\n"
    )


def _output(path: str | os.PathLike[str]) -> Path:
    """Where the file goes, checked before anything is read: a clear error, not a traceback."""
    out = Path(path).expanduser().absolute()
    if out.is_dir():
        raise IsADirectoryError(f"nbtrack export: {out} is a folder: give the file's name (-o)")
    if not out.parent.is_dir():
        raise FileNotFoundError(
            f"nbtrack export: the folder {out.parent} does not exist: make it first, "
            "or write the file elsewhere (-o)"
        )
    return out


def _write(out: Path, text: str) -> Path:
    # Into a temporary file beside it, then renamed: a reader never sees half a file.
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def _api(
    dir: str | os.PathLike[str] | None, host: str | None, key: str | None, entity: str | None
) -> Api:
    from nbtrack.api import Api

    return Api(dir, host=host, key=key, entity=entity) if host is not None else Api(dir)


def export_run(
    run: str,
    path: str | os.PathLike[str],
    *,
    dir: str | os.PathLike[str] | None = None,
    host: str | None = None,
    key: str | None = None,
    entity: str | None = None,
) -> Path:
    """Write the dashboard of `run` (``"project/id"`` or an id, as `nbtrack.show` takes it)
    to the HTML file `path`; its absolute path. From the local store (`dir`, default
    ``NBTRACK_DIR`` or ``./nbtrack``), or from the team server `host`.

    >>> nbtrack.export.export_run("fashion-cnn/3k2j9x0a", "run.html")
    """
    out = _output(path)
    with _api(dir, host, key, entity) as api:
        record = api.run(run)
        messages = run_messages(record)
    title = f"{record.name} ({record.path})"
    return _write(out, render(title=title, view=f"run:{record.id}", messages=messages))


def export_project(
    project: str,
    path: str | os.PathLike[str],
    *,
    runs: Sequence[str] | None = None,
    dir: str | os.PathLike[str] | None = None,
    host: str | None = None,
    key: str | None = None,
    entity: str | None = None,
) -> Path:
    """Write the compare view of `project` (its runs table, overlaid curves and parallel
    coordinates; `runs`, ids or names, to keep some only) to the HTML file `path`; its
    absolute path.

    >>> nbtrack.export.export_project("fashion-cnn", "fashion-cnn.html")
    """
    from nbtrack.errors import RunNotFoundError

    out = _output(path)
    api = _api(dir, host, key, entity)
    where = api.dir
    messages = project_messages(api, project, runs)  # closes the api
    rows = [r for c, _ in messages if c.get("type") == "runs" for r in c.get("runs", [])]
    if not rows:
        raise RunNotFoundError(f"nbtrack export: no runs of project {project!r} in {where}")
    return _write(out, render(title=project, view=f"project:{project}", messages=messages))

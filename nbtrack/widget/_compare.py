"""The compare view widget and the feed that keeps it up to date with a project's runs.

`ProjectFeed` reads the project through the read API (`nbtrack.Api`), so runs written by
this kernel and by other processes look the same: a first snapshot (every run's row, every
curve as a per-bucket envelope sized so that the whole project fits in a few MB), then one
polling thread that sends what changed: new and changed rows, and the new points of the runs
still training. The page asks for more (the full resolution of a zoomed range, a run's
dashboard, a full-size media file of an opened run) through the widget's comm; those answers
wait for an idle kernel, and the page says so while they do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import traitlets

from nbtrack.widget._compare_protocol import buckets_for, curves_message, run_row, runs_message
from nbtrack.widget._view import View

if TYPE_CHECKING:
    from nbtrack.api import Api, RunRecord
    from nbtrack.widget._dashboard import StoreFeed

_POLL_S = 1.0
# Runs whose curves go in one message: the page draws as they come.
_RUNS_PER_MESSAGE = 20
# The most points one `range` answer sends per curve whole; past it, an envelope.
_RANGE_MAX_WIDTH = 4096
# The most runs and keys one `range` request reads (a page asks for one chart's lines).
_RANGE_MAX_RUNS = 1000
_RANGE_MAX_KEYS = 50


class CompareView(View):
    """The compare view of one project: runs table, overlaid curves, parallel coordinates.

    Made by `nbtrack.compare()` and ``%nbtrack compare``. Its state (selection, sort,
    filter, hidden columns, axes and brushes) is saved with the notebook; its run data never.

    >>> nbtrack.compare("fashion-cnn")
    """

    view = traitlets.Unicode("compare").tag(sync=True)
    project = traitlets.Unicode("").tag(sync=True)
    # What the person chose in the browser; the page writes it, Python only seeds it.
    compare_state = traitlets.Dict().tag(sync=True)

    def __init__(self, project: str, **kwargs: Any) -> None:
        super().__init__(project=project, **kwargs)
        self._feed: ProjectFeed | None = None
        self._shown_in: int | None = None  # the cell that showed it

    def __repr__(self) -> str:
        return f"nbtrack compare view: {self.project}"

    def show(self) -> None:
        """Show the view in the cell's output now; as the cell's value it is not shown twice."""
        from IPython import get_ipython
        from IPython.display import publish_display_data

        ip = get_ipython()
        self._shown_in = getattr(ip, "execution_count", None)
        bundle = self._repr_mimebundle_()
        # (data, metadata), or the data alone, as ipywidgets' versions have it.
        data, meta = bundle if isinstance(bundle, tuple) else (bundle, {})
        publish_display_data(data, metadata=meta)  # type: ignore[no-untyped-call]

    def _ipython_display_(self) -> None:
        # The cell's value: shown, unless compare() showed it in this same cell already.
        from IPython import get_ipython

        ip = get_ipython()
        count = getattr(ip, "execution_count", None)
        if self._shown_in is not None and self._shown_in == count:
            return
        self.show()

    def close(self) -> None:
        if self._feed is not None:
            self._feed.stop()
        super().close()


class _RunChannel:
    """A run dashboard's messages, wrapped for the compare view's comm (see ``open``)."""

    def __init__(self, send: Callable[[dict[str, Any], list[bytes] | None], None], run: str):
        self._send = send
        self._run = run

    def send(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        self._send({"type": "run", "run": self._run, "message": content}, buffers)

    def send_bokeh(self) -> None:
        pass  # the compare view has sent it


def runtime(rec: RunRecord) -> float:
    """Seconds from the run's start to its end, or to its last heartbeat while it runs."""
    end = rec.finished_at if rec.finished_at is not None else rec.heartbeat_at
    return max(0.0, end - rec.created_at)


def row_of(rec: RunRecord, url: str | None = None) -> dict[str, Any]:
    """The runs table's row for a stored run."""
    return run_row(
        run_id=rec.id,
        name=rec.name,
        project=rec.project,
        entity=rec.entity,
        state=rec.state,
        created_at=rec.created_at,
        runtime=runtime(rec),
        tags=list(rec.tags),
        notes=rec.notes,
        git=rec.metadata.get("git") if isinstance(rec.metadata, dict) else None,
        config=rec.config,
        summary=rec.summary,
        url=url,
        metadata=rec.metadata if isinstance(rec.metadata, dict) else None,
    )


class _Followed:
    """What the feed knows of one run: its row as sent, and how far its points went."""

    def __init__(self, rec: RunRecord) -> None:
        self.rec = rec
        self.row: dict[str, Any] | None = None
        self.seq = 0
        self.last_step: dict[str, int] = {}
        # What the last poll saw: a run that is not running and has no new step has no new
        # points either, so its points are not read again.
        self.seen = (rec.state, rec.last_step)


class CompareTarget(Protocol):
    """Where a `ProjectFeed` sends: a `CompareView`, or a page's event stream (``nbtrack ui``)."""

    def send(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None: ...

    def send_bokeh(self) -> None: ...

    def on_msg(self, callback: Callable[[Any, dict[str, Any], Any], None]) -> None: ...


class ProjectFeed:
    """Keeps a `CompareView` up to date with one project of an `Api`'s store.

    `widget` is anything with the widget's ``send``, ``send_bokeh`` and ``on_msg``.
    """

    def __init__(
        self,
        widget: CompareTarget,
        api: Api,
        project: str,
        runs: Sequence[str] | None = None,
        *,
        follow: bool = True,
    ) -> None:
        self.widget = widget
        self.api = api
        self.project = project
        self.only = None if runs is None else set(runs)
        self.followed: dict[str, _Followed] = {}
        self.width = 256
        self._lock = threading.Lock()
        # The Api (one SQLite connection, or one HTTP client) is used by the feed's thread
        # and by the kernel's (the page's requests): one at a time, and never once closed.
        self._io = threading.RLock()
        self._stop = threading.Event()
        self._opened: dict[str, StoreFeed] = {}
        widget.on_msg(self._on_msg)
        widget.send_bokeh()
        recs = self._send_rows()
        # Rows, then curves, before the cell returns (sent from the cell's own thread they
        # reach the page sooner than from another: measured, bench/compare.py); then, with
        # `follow`, one thread polls. Without it, whoever made the feed calls `poll` (tests,
        # a page harness).
        self._send_curves(recs)
        if isinstance(widget, View):  # the notebook's view: the Share button's grant
            from nbtrack.widget._share import for_project

            for_project(widget, project, recs)
        if follow:
            threading.Thread(
                target=self._loop, args=(None,), name=f"nbtrack-compare-{project}", daemon=True
            ).start()

    # -- sending ---------------------------------------------------------------------------

    def _send(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        with self._lock:
            self.widget.send(content, buffers or [])

    def _records(self) -> list[RunRecord]:
        try:
            recs: list[RunRecord] = self.api.runs(self.project)
        except ValueError:  # no run of the project yet: the Api says so, as W&B's does
            return []
        if self.only is not None:
            recs = [r for r in recs if r.id in self.only or r.name in self.only]
        return recs

    def _send_rows(self) -> list[RunRecord]:
        """The table's rows of every run there is now; those runs."""
        recs = self._records()
        rows = []
        for rec in recs:
            f = self.followed[rec.id] = _Followed(rec)
            f.row = row_of(rec)
            rows.append(f.row)
        self._send(runs_message(rows))
        return recs

    def _send_curves(self, recs: list[RunRecord]) -> None:
        """The curves of `recs`, a few runs a message, sized for the whole project."""
        self.width = buckets_for(sum(len(r.keys()) + 1 for r in recs))
        for i in range(0, len(recs), _RUNS_PER_MESSAGE):
            self._send_history([self.followed[r.id] for r in recs[i : i + _RUNS_PER_MESSAGE]])

    def _send_history(self, runs: list[_Followed]) -> None:
        """Everything stored of these runs so far, each curve as an envelope."""
        curves = []
        for f in runs:
            batch, f.seq, _ = f.rec.read_since(0, histograms=False)
            for key, (steps, values) in batch.series.items():
                if len(steps):
                    f.last_step[key] = int(steps.max())
                    curves.append((f.rec.id, key, steps, values))
        if curves:
            content, buffers = curves_message(curves, self.width)
            self._send(content, buffers)

    def poll(self) -> None:
        """Send what changed since the last poll: rows, new runs, new points."""
        recs = self._records()
        changed: list[dict[str, Any]] = []
        new: list[_Followed] = []
        tails = []
        for rec in recs:
            f = self.followed.get(rec.id)
            if f is None:
                f = self.followed[rec.id] = _Followed(rec)
                new.append(f)
            f.rec = rec
            row = row_of(rec)
            if row != f.row:
                f.row = row
                changed.append(row)
            if f in new:
                continue
            was = f.seen
            f.seen = (rec.state, rec.last_step)
            if was[0] != "running" and f.seen == was:
                continue
            batch, seq, _ = rec.read_since(f.seq, histograms=False)
            f.seq = seq
            for key, (steps, values) in batch.series.items():
                cut = f.last_step.get(key)
                if cut is not None:
                    keep = steps > cut
                    steps, values = steps[keep], values[keep]
                if len(steps):
                    f.last_step[key] = int(steps.max())
                    tails.append((rec.id, key, steps, values))
        ids = {r.id for r in recs}
        gone = [i for i in self.followed if i not in ids]
        for i in gone:
            del self.followed[i]
            opened = self._opened.pop(i, None)
            if opened is not None:
                opened.stop()
        if changed or gone:
            self._send(runs_message(changed, gone))
        if new:
            self._send_history(new)
        if tails:
            content, buffers = curves_message(tails, self.width, append=True)
            self._send(content, buffers)

    def _loop(self, recs: list[RunRecord] | None) -> None:
        pending = recs
        while True:
            try:
                with self._io:
                    if self._stop.is_set():
                        return
                    if pending is not None:
                        self._send_curves(pending)  # curves replace: a retry doubles nothing
                        pending = None
                    else:
                        self.poll()
            except Exception:  # the store may be busy for a moment; the next round tries again
                pass
            if self._stop.wait(_POLL_S):
                return

    def stop(self) -> None:
        """Stop following; the feed's `Api` is closed with it (the feed owns it)."""
        self._stop.set()
        with self._io:  # the thread is between rounds, and sees the stop at the next
            for feed in self._opened.values():
                feed.stop()
            self.api.close()

    # -- what the page asks for -----------------------------------------------------------

    def _on_msg(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        self.answer(content)

    def answer(self, content: dict[str, Any]) -> None:
        """Answer a request of the page (``range`` or ``open``); anything else is ignored."""
        with self._io:
            if not self._stop.is_set():
                self._answer(content)

    def _answer(self, content: dict[str, Any]) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "range":
            self._answer_range(content)
        elif kind == "open":
            self._open(str(content.get("run", "")))
        elif kind == "run":
            self._answer_run(content)

    def _answer_run(self, req: dict[str, Any]) -> None:
        """A request of an opened run's dashboard, in the envelope its messages come in
        (``{"type": "run", "run": id, "message": {...}}``): a ``media-file`` one is answered
        from that run's media files, in the same envelope. A run that is not open has none
        here: the page is told so rather than left waiting."""
        from nbtrack.widget._media import answer_file_request

        run_id = req.get("run")
        if not isinstance(run_id, str):
            return
        opened = self._opened.get(run_id)
        reply = answer_file_request(
            req.get("message"), None if opened is None else opened.media.files
        )
        if reply is not None:
            _RunChannel(self._send, run_id).send(*reply)

    def _answer_range(self, req: dict[str, Any]) -> None:
        try:
            start, end = int(req["start"]), int(req["end"])
            width = max(16, min(_RANGE_MAX_WIDTH, int(req.get("width", 800))))
            ident = int(req["id"])
            runs, keys = req.get("runs"), req.get("keys")
            if not isinstance(runs, list) or not isinstance(keys, list):
                raise TypeError("runs and keys are lists")
        except (KeyError, TypeError, ValueError, OverflowError):
            return  # not a request this page could have sent
        curves = []
        for run_id in runs[:_RANGE_MAX_RUNS]:
            f = self.followed.get(str(run_id))
            if f is None:
                continue
            for key in keys[:_RANGE_MAX_KEYS]:
                steps, values = f.rec.series(str(key))
                keep = (steps >= start) & (steps <= end)
                curves.append((f.rec.id, str(key), steps[keep], values[keep]))
        content, buffers = curves_message(curves, width, request=ident, span=(start, end))
        self._send(content, buffers)

    def _open(self, run_id: str) -> None:
        from nbtrack.widget._dashboard import StoreFeed

        f = self.followed.get(run_id)
        if f is None or run_id in self._opened:
            return
        self._opened[run_id] = StoreFeed(_RunChannel(self._send, run_id), f.rec.reload())

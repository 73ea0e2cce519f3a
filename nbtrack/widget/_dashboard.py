"""The dashboard widget and the feeds that push a run's new data into it.

`LiveFeed` follows a `Run` of this process: it flushes from inside `log()` (on the
training thread, through `Run.on_tick`, at most every 0.1 s) and once at the end of each
cell. `StoreFeed` follows a stored run (maybe written by another process) with one
polling thread. Either way, one thread at a time touches the widget, and only new points
are sent.

Media (images, tables, plots, ...) reach the store encoded by the writer thread, so both
feeds read them from the store's ``media`` table by its cursor, thinned for the page by
`nbtrack.widget._media.MediaSender`; the page's requests for a full file are answered from
the store's media files.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Protocol

import traitlets

from nbtrack._values import Batch
from nbtrack.widget._batches import after_steps, merge_batches
from nbtrack.widget._media import MediaSender, file_request_handler
from nbtrack.widget._protocol import (
    header_message,
    histogram_message,
    overview_message,
    points_message,
)
from nbtrack.widget._view import View

if TYPE_CHECKING:
    from nbtrack._run import Run
    from nbtrack.api import Api, RunRecord
    from nbtrack.store.media_files import MediaFiles

# A steps/s figure over the last few seconds, not since the start: it follows slowdowns.
_RATE_WINDOW_S = 5.0
_POLL_S = 0.5
# A live run's overview is built again at most this often (its config may have changed);
# notes and tags are compared at every flush.
_OVERVIEW_S = 1.0
# How long a live dashboard waits for the writer to record the run's metadata (git can be
# slow on a large work tree: 5 s a command at most).
_METADATA_WAIT_S = 30.0
# After a cell ends, a live dashboard goes on looking for the media the writer has still to
# store (and the newest entry of a key that waits its turn) this often, for this long.
_MEDIA_FOLLOW_S = 0.25
_MEDIA_FOLLOW_FOR_S = 30.0
# A live run's store is opened for its media at most this often while it fails (the writer
# has not stored the run yet).
_MEDIA_RETRY_S = 1.0


class Dashboard(View):
    """The live dashboard of one run. Made by `nbtrack.init()`, `run.dashboard()`, `nbtrack.show()`.

    >>> run = nbtrack.init(project="demo", display=False)
    >>> run.dashboard()      # the last expression of a cell: shows it
    """

    run_id = traitlets.Unicode("").tag(sync=True)
    # What the person chose in the browser (smoothing, x axis, merged charts, ...). Not
    # `layout`: ipywidgets' DOMWidget already has a `layout` trait (a Layout widget).
    chart_layout = traitlets.Dict().tag(sync=True)

    def __init__(self, run_id: str, title: str = "", **kwargs: Any) -> None:
        super().__init__(run_id=run_id, **kwargs)
        self._title = title or run_id
        self._feed: LiveFeed | StoreFeed | None = None

    def __repr__(self) -> str:
        # The text/plain shown where widgets do not render (nbconvert, GitHub, a terminal).
        return f"nbtrack dashboard: {self._title}"


class _Rate:
    def __init__(self) -> None:
        self._marks: deque[tuple[float, int]] = deque()

    def update(self, t: float, step: int) -> float | None:
        marks = self._marks
        marks.append((t, step))
        while len(marks) > 2 and t - marks[0][0] > _RATE_WINDOW_S:
            marks.popleft()
        t0, s0 = marks[0]
        return (step - s0) / (t - t0) if t > t0 else None


class Target(Protocol):
    """Where a feed sends a dashboard's messages: a `Dashboard`, or a compare view's channel
    for the dashboard it opens under its table."""

    def send(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None: ...

    def send_bokeh(self) -> None: ...


class _Sender:
    """What both feeds share: encode a batch, send it, remember the last step per key."""

    def __init__(self, widget: Target, t0: float) -> None:
        self.widget = widget
        self.t0 = t0
        self.last_step: dict[str, int] = {}
        self.rate = _Rate()
        self._last_header: dict[str, Any] | None = None
        self._last_overview: dict[str, Any] | None = None

    def send_batch(self, batch: Batch) -> None:
        batch = after_steps(batch, self.last_step)
        if batch.series:
            content, buffers = points_message(batch.series, self.t0)
            self.widget.send(content, buffers)
            for key, (steps, _) in batch.series.items():
                self.last_step[key] = int(steps[-1])
        if batch.histograms:
            content, buffers = histogram_message(batch.histograms)
            self.widget.send(content, buffers)

    def send_header(self, header: dict[str, Any]) -> None:
        if header != self._last_header:
            self._last_header = header
            self.widget.send(header)

    def send_overview(self, overview: dict[str, Any]) -> None:
        if overview != self._last_overview:
            self._last_overview = overview
            self.widget.send(overview)


# The header of a run that no server receives.
LOCAL_ONLY = {"state": "local", "behind": 0, "reason": None, "url": None}


class LiveFeed:
    """Pushes a live `Run`'s new data into its dashboard from the logging thread."""

    def __init__(self, widget: Dashboard, run: Run) -> None:
        from nbtrack._run import link

        self.run = run
        self.link = link(run)
        self.widget = widget
        self.sender = _Sender(widget, run.created_at)
        self._lock = threading.Lock()
        self._ipython: Any = None
        self._done = False
        # What the writer recorded of where the run runs (git, host, versions): read from
        # the store by a thread of its own, since the writer collects it as it starts.
        self._metadata: dict[str, Any] = {}
        self._overview_seen: tuple[Any, ...] | None = None
        self._overview_at = 0.0
        self._finished_at: float | None = None
        # Media: read from the store (the writer encodes them), through an Api of its own
        # opened on the first flush that finds the run stored.
        from nbtrack.store.media_files import MediaFiles

        files = MediaFiles(self.link.root)
        self.media = MediaSender(widget, files)
        self._media_api: Api | None = None
        self._media_record: RunRecord | None = None
        self._media_try_at = 0.0
        # Entries logged (as the drained batches carry them) and rows read back: while the
        # first is ahead, the writer has some still to store.
        self._media_logged = 0
        self._media_read = 0
        self._media_thread: threading.Thread | None = None
        widget.on_msg(file_request_handler(widget, files))
        self.queue = self.link.subscribe()
        widget.send_bokeh()
        self._send_history()
        self.link.on_tick(self.flush)
        self._hook_cell_end()
        self.flush()
        threading.Thread(
            target=self._await_metadata, name=f"nbtrack-metadata-{run.id}", daemon=True
        ).start()
        # The Share button's grant, from a thread of its own once the run is on the server.
        from nbtrack.widget._share import for_live_run

        for_live_run(widget, self.link, run.project, run.id)

    def _await_metadata(self) -> None:
        """Wait for the run's metadata in the store, then send the overview with it."""
        from nbtrack.api import Api

        deadline = time.monotonic() + _METADATA_WAIT_S
        metadata: dict[str, Any] = {}
        try:
            with Api(self.link.root) as api:
                while not metadata and time.monotonic() < deadline:
                    # The writer records it before its first commit: once the run has
                    # ended, what the store holds is all there will be.
                    ended = self.run.state != "running"
                    metadata = api.run(self.run.path).metadata
                    if ended:
                        break
                    if not metadata:
                        time.sleep(0.1)
        except Exception:  # the store may be gone (a test's temp folder): no overview extras
            return
        if not metadata:
            return
        self._metadata = metadata
        self._overview_seen = None
        # Only the overview, under the flush lock (one thread at a time sends): a flush under
        # way on another thread may have sent it without the metadata already.
        while time.monotonic() < deadline:
            if self._lock.acquire(blocking=False):
                try:
                    self._send_overview(time.time(), self.run.state != "running")
                finally:
                    self._lock.release()
                return
            time.sleep(0.02)

    def _send_history(self) -> None:
        """Points logged before this dashboard subscribed: they are in the store by now."""
        run = self.run
        if run.step == 0 or run.state != "running":
            return
        self.link.flush()
        from nbtrack.api import Api

        with Api(self.link.root) as api:
            batch, _, _ = api.run(run.path).read_since(0, 0)
        self.sender.send_batch(batch)

    def _hook_cell_end(self) -> None:
        try:
            from IPython import get_ipython
        except ImportError:
            return
        ip = get_ipython()
        if ip is not None:
            self._ipython = ip
            ip.events.register("post_run_cell", self._on_cell_end)

    def _on_cell_end(self, *_: Any) -> None:
        self.flush()
        self._follow_media()
        if self._done and self._ipython is not None:
            self._ipython.events.unregister("post_run_cell", self._on_cell_end)
            self._ipython = None

    # -- media ----------------------------------------------------------------------------

    def _media_behind(self) -> bool:
        return self._media_logged > self._media_read or self.media.pending

    def _send_media(self, final: bool) -> None:
        """New media rows of the store, thinned (called under the flush lock). With nothing
        new: one indexed SELECT."""
        rec = self._media_record
        if rec is None:
            now = time.monotonic()
            if now < self._media_try_at:
                return
            self._media_try_at = now + _MEDIA_RETRY_S
            from nbtrack.api import Api

            try:
                self._media_api = self._media_api or Api(self.link.root)
                rec = self._media_record = self._media_api.run(self.run.path)
            except Exception:  # not stored yet (or the store is busy): the next flush tries
                return
        rows, _ = rec.media_since(self.media.seq)
        self._media_read += len(rows)
        self.media.send(rows, final=final)

    def _close_media(self) -> None:
        api, self._media_api, self._media_record = self._media_api, None, None
        if api is not None:
            api.close()

    def _follow_media(self) -> None:
        """Once a cell has ended, a short-lived thread sends the media that the writer stores
        after it (and the newest entry of a key at its turn): no flush comes until the next
        `log()`."""
        if self._done or not self._media_behind():
            return
        if self._media_thread is not None and self._media_thread.is_alive():
            return
        self._media_thread = threading.Thread(
            target=self._media_loop, name=f"nbtrack-media-{self.run.id}", daemon=True
        )
        self._media_thread.start()

    def _media_loop(self) -> None:
        deadline = time.monotonic() + _MEDIA_FOLLOW_FOR_S
        while time.monotonic() < deadline:
            time.sleep(_MEDIA_FOLLOW_S)
            if not self._lock.acquire(blocking=False):
                continue  # a flush is sending: it sends the media too
            try:
                if self._done:
                    return
                try:
                    self._send_media(final=False)
                except Exception:  # the store busy a moment, or gone: the next round
                    continue
                if not self._media_behind():
                    return
            finally:
                self._lock.release()

    def flush(self) -> None:
        """Send what was logged since the last flush, and the header. Cheap when idle."""
        # A tick and the end of a cell can meet on two threads; one sends, the other skips.
        if not self._lock.acquire(blocking=False):
            return
        try:
            run = self.run
            finished = run.state != "running"
            if not finished:
                self.link.drain()
            q = self.queue
            batches = [q.popleft() for _ in range(len(q))]
            if batches:
                self._media_logged += sum(len(b.media) for b in batches)
                self.sender.send_batch(merge_batches(batches))
            # The store busy a moment: the next flush reads again.
            with contextlib.suppress(Exception):
                self._send_media(final=finished)
            now = time.time()
            step = run.step
            self.sender.send_header(
                header_message(
                    run_id=run.id,
                    name=run.name,
                    project=run.project,
                    state=run.state,
                    step=step,
                    created_at=run.created_at,
                    elapsed=now - run.created_at,
                    rate=self.sender.rate.update(now, step) if not finished else None,
                    last=self.link.last_values(),
                    alerts=list(run.alerts),
                    error=run.error,
                    sync=self.link.sync_status() or LOCAL_ONLY,
                    metrics=self._metric_definitions(),
                )
            )
            self._send_overview(now, finished)
            if finished and not self._done:
                self._done = True
                self.link.remove_tick(self.flush)
                self.link.unsubscribe(q)
                self._close_media()
        finally:
            self._lock.release()

    def _metric_definitions(self) -> list[dict[str, Any]]:
        """The run's `define_metric` definitions as they are now: read on every flush, so a
        definition made after the dashboard is up reaches it with the next header."""
        # A run of a package older than define_metric has none.
        defs = getattr(self.link, "metric_definitions", None)
        return list(defs()) if callable(defs) else []

    def _send_overview(self, now: float, finished: bool) -> None:
        """The overview at the start, and again when it changed: notes and tags are looked
        at on every flush, the rest at most every `_OVERVIEW_S`."""
        run = self.run
        if finished and self._finished_at is None:
            self._finished_at = now
        seen = (run.notes, run.tags, self._finished_at)
        if seen == self._overview_seen and now - self._overview_at < _OVERVIEW_S:
            return
        self._overview_seen, self._overview_at = seen, now
        self.sender.send_overview(
            overview_message(
                notes=run.notes,
                tags=run.tags,
                config=run.config.as_dict(),
                metadata=self._metadata,
                created_at=run.created_at,
                finished_at=self._finished_at,
            )
        )


class StoreFeed:
    """Shows a stored run, and follows it from one polling thread while it is running."""

    def __init__(
        self,
        widget: Target,
        record: RunRecord,
        *,
        follow: bool = True,
        since: tuple[int, int] = (0, 0),
        media_since: int = 0,
    ) -> None:
        """Without `follow`, no thread: whoever made the feed calls `poll` (``nbtrack ui``'s
        event streams). `since` is where a page that has everything up to there stands (the
        `seq`, `hist_seq` a `poll` left), and `media_since` its media position (`media_seq`):
        only what the store gained after them is sent."""
        self.widget = widget
        self.record = record
        self.sender = _Sender(widget, record.created_at)
        self.seq, self.hist_seq = since
        if since != (0, 0):
            # The page has these keys' points already: the header lists their last values.
            self.sender.last_step = dict.fromkeys(record.keys(), -(2**62))
        files = _media_files(record)
        self.media = MediaSender(widget, files)
        self._media = True
        if media_since > 0:
            # The page holds the entries up to there: counted, so the indices and strides
            # go on from where they were.
            rows, _ = record.media_since(0)
            self.media.skip(r for r in rows if r.seq <= media_since)
            self.media.seq = media_since
        if isinstance(widget, Dashboard):
            widget.on_msg(file_request_handler(widget, files))
        self._stop = threading.Event()
        widget.send_bokeh()
        self.poll()
        if isinstance(widget, Dashboard):  # a run opened under a compare view has no Share
            from nbtrack.widget._share import for_stored_run

            for_stored_run(widget, record)
        self._thread: threading.Thread | None = None
        if follow and self.record.state == "running":
            self._thread = threading.Thread(
                target=self._loop, name=f"nbtrack-show-{record.id}", daemon=True
            )
            self._thread.start()

    def poll(self) -> bool:
        """Send what the store gained since the last poll; False once the run has ended."""
        rec = self.record.reload()
        self.record = rec
        batch, self.seq, self.hist_seq = rec.read_since(self.seq, self.hist_seq)
        self.sender.send_batch(batch)
        running = rec.state == "running"
        self._send_media(rec, final=not running)
        end = rec.finished_at if rec.finished_at is not None else rec.heartbeat_at
        now = time.time() if running else end
        last = {k: v for k, v in rec.summary.items() if k in self.sender.last_step}
        self.sender.send_header(
            header_message(
                run_id=rec.id,
                name=rec.name,
                project=rec.project,
                state=rec.state,
                step=rec.last_step + 1,
                created_at=rec.created_at,
                elapsed=max(0.0, now - rec.created_at),
                rate=self.sender.rate.update(time.time(), rec.last_step + 1) if running else None,
                last=last,
                alerts=rec.alerts,
                error=rec.error,
                metrics=rec.metadata.get("metrics") if isinstance(rec.metadata, dict) else None,
            )
        )
        # Built every poll and sent when it differs from the last: a dict comparison.
        self.sender.send_overview(
            overview_message(
                notes=rec.notes,
                tags=rec.tags,
                config=rec.config,
                metadata=rec.metadata,
                created_at=rec.created_at,
                finished_at=rec.finished_at,
            )
        )
        return running

    @property
    def media_seq(self) -> int:
        """The store's media position the page has everything up to."""
        return self.media.seq

    def _send_media(self, rec: RunRecord, final: bool) -> None:
        if not self._media:
            return
        try:
            rows, _ = rec.media_since(self.media.seq)
        except (AttributeError, NotImplementedError):
            self._media = False  # a store that keeps no media (a team server's run, read here)
            return
        self.media.send(rows, final=final)

    def _loop(self) -> None:
        while not self._stop.wait(_POLL_S):
            try:
                if not self.poll():
                    return
            except Exception:  # the store may be busy or gone; the next poll tries again
                continue

    def stop(self) -> None:
        self._stop.set()


def _media_files(record: RunRecord) -> MediaFiles | None:
    """The media files of `record`'s store; None where it has none here (a run on a team
    server, read through the Api)."""
    try:
        return record.media_files
    except (AttributeError, NotImplementedError):
        return None

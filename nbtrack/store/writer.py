"""The background writer of one run: commits what the run logged, twice a second.

The training thread never waits on it, unless it runs so far ahead that the backlog passes
its bound (see `Run`): `log()` appends to a list, and this thread takes what is there,
turns it into columns and commits it, one transaction a batch.

What can go wrong, and what it costs:

- The store is away for a while (disk full, locked by another process for a minute): the
  batch stays in memory and is tried again each cycle, with one warning; nothing is lost
  while the process lives. `healthy` is False meanwhile, so `log()` does not wait on a
  writer that cannot make progress.
- One batch cannot be stored at all (a bug of ours, a value SQLite refuses): it is tried
  `POISON_TRIES` times, then set aside with a warning naming its keys and steps, and the
  batches after it go on. Set-aside batches stay in `set_aside`.
- Anything raised in this thread, `BaseException` included, is reported and the loop goes
  on: the heartbeat never stops while the process runs.

The run row's ``last_step`` and the summary's last values are those of the batches this
writer has committed, in the same transaction: after a crash they claim nothing that is
not on disk.

Media (images, tables, plots, sounds, videos, pages) arrive raw in the batches, as `log()`
took them. This thread encodes them (PNG, thumbnails, ...) after the batch's numbers are
committed, for at most `MEDIA_BUDGET_S` a cycle, so a flood of images never holds back the
numbers' once-a-second commit: what is left waits for the next cycle, which then comes at
once. An entry that cannot be encoded (a NaN in an image that was on the GPU, a file deleted
since `log()`) is dropped with a warning naming its key and step; the others go on. A killed
process loses the media not yet encoded (the run's backlog bound keeps that under
`nbtrack._run.MEDIA_BACKLOG_BYTES`), besides the last second of numbers.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nbtrack._json import dumps
from nbtrack._values import TIME_KEY, Batch
from nbtrack.store.db import HEARTBEAT_S, Store

FLUSH_INTERVAL_S = 0.5
POISON_TRIES = 3
RETRY_S = 0.5
# The most a cycle spends encoding media before it commits what it has and lets the next one
# (and the numbers) in.
MEDIA_BUDGET_S = 0.25


# SQLite's result codes that waiting can cure: BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN,
# PROTOCOL (the low byte; extended codes carry more bits above it).
_TRANSIENT_CODES = frozenset({5, 6, 8, 10, 13, 14, 15})
_TRANSIENT_WORDS = ("full", "disk", "locked", "busy", "i/o", "unable to open", "readonly")


def is_transient(e: BaseException) -> bool:
    """An error that waiting can cure: the disk, the file system, another writer's lock."""
    if isinstance(e, sqlite3.OperationalError):
        code = getattr(e, "sqlite_errorcode", None)  # Python 3.11+
        if code is not None:
            return code & 0xFF in _TRANSIENT_CODES
        return any(w in str(e).lower() for w in _TRANSIENT_WORDS)
    return isinstance(e, OSError)


class Writer:
    def __init__(
        self,
        root: Path,
        rk: int,
        take: Callable[[], list[Batch]],
        run_fields: Callable[[], dict[str, Any]],
        *,
        last_step: int = -1,
        last: dict[str, float] | None = None,
        on_start: Callable[[], dict[str, Any]] | None = None,
        interval: float = FLUSH_INTERVAL_S,
    ) -> None:
        self._root = root
        self._rk = rk
        self._take = take
        self._run_fields = run_fields
        self._on_start = on_start
        self._interval = interval
        self._wake = threading.Event()
        self._stopping = False
        self._final: tuple[list[Batch], dict[str, Any], float] | None = None
        self._done = threading.Event()
        self._pending: list[Batch] = []
        self._tries = 0  # failed attempts at the first pending batch
        self._fields: dict[str, Any] = {}  # run fields still to be written
        self._last_write = 0.0
        self._flushed = threading.Condition()
        self._flush_count = 0
        self.committed_step = last_step
        self.committed_last: dict[str, float] = dict(last or {})
        self.error: BaseException | None = None
        self.set_aside: list[tuple[Batch, BaseException]] = []
        self.unstored: list[Batch] = []
        # Called on this thread after each commit (the uploader wakes on it): must be quick.
        self.after_commit: list[Callable[[], None]] = []
        self._final_taken = self._final_done = False
        # Media taken from the batches, not yet encoded; encoded, not yet committed.
        self._media: deque[Any] = deque()
        self._media_bytes = 0
        self._encoded: list[Any] = []
        self._media_files: Any = None
        self.media_dropped = 0
        self._media_progress_at = 0.0  # when media were last committed (monotonic)
        self._thread = threading.Thread(target=self._loop, name=f"nbtrack-writer-{rk}", daemon=True)
        self._thread.start()

    @property
    def healthy(self) -> bool:
        """False while the store refuses writes (the backlog then grows in memory)."""
        return self.error is None and not self._done.is_set()

    @property
    def media_backlog(self) -> int:
        """About how many bytes of media wait here to be encoded."""
        return self._media_bytes

    def wake(self) -> None:
        self._wake.set()

    def flush(self, timeout: float = 30.0) -> None:
        """Block until everything logged before this call is committed (or `timeout`),
        media included."""
        with self._flushed:
            target = self._flush_count + 2  # the cycle under way may have drained already
            self._wake.set()
            self._flushed.wait_for(
                lambda: (
                    (self._flush_count >= target and not self._media and not self._encoded)
                    or self._done.is_set()
                    or (self.error is not None and self._flush_count >= target)
                ),
                timeout,
            )

    def stop(self, batches: list[Batch], fields: dict[str, Any], wait_s: float) -> list[Batch]:
        """Commit `batches` and the final `fields`, then end the thread.

        While the store refuses writes for a reason that waiting can cure, keeps trying for
        `wait_s` seconds. Returns the batches that could not be stored (empty when all was).
        """
        self._final = (batches, fields, time.monotonic() + wait_s)
        self._stopping = True
        self._wake.set()
        self._thread.join(wait_s + 60.0)
        # Encoding a large media backlog may take longer: wait on while it makes progress.
        while self._thread.is_alive() and time.monotonic() - self._media_progress_at < 60.0:
            self._thread.join(1.0)
        if not self._final_done:  # the thread ended before it could take them (or hangs)
            return list(self._pending) if self._final_taken else [*self._pending, *batches]
        return self.unstored

    # -- the thread ---------------------------------------------------------------------

    def _loop(self) -> None:
        store: Store | None = None
        try:
            store = Store(self._root)
            if self._on_start is not None:
                try:
                    extra = self._on_start()
                    if extra:
                        store.update_run(self._rk, metadata=extra)
                except Exception as e:  # metadata is a nicety: never lose the run over it
                    warnings.warn(f"nbtrack: could not record run metadata: {e}", stacklevel=1)
            while not self._stopping:
                self._wake.wait(self._interval)
                self._wake.clear()
                if self._stopping:
                    break
                self._guarded(self._cycle, store)
                self._count_cycle()
            self._guarded(self._final_cycle, store)
        except BaseException as e:  # not even the store opened: say so, keep what we hold
            self.error = e
            warnings.warn(f"nbtrack: the run's writer stopped: {e!r}", stacklevel=1)
        finally:
            if store is not None:
                store.close()
            self._done.set()
            self._count_cycle()

    def _guarded(self, step: Callable[[Store], None], store: Store) -> None:
        try:
            step(store)
        except BaseException as e:  # a bug of ours must not stop the heartbeat: say it, go on
            warnings.warn(
                f"nbtrack: the run's writer hit an error and goes on: {e!r}", stacklevel=1
            )

    def _count_cycle(self) -> None:
        with self._flushed:
            self._flush_count += 1
            self._flushed.notify_all()

    def _cycle(self, store: Store) -> None:
        self._pending.extend(self._take_media(self._take()))
        self._add_fields()
        now = time.monotonic()
        busy = self._pending or self._fields or now - self._last_write >= HEARTBEAT_S
        if busy and not self._write(store):
            return
        if self._media or self._encoded:
            self._write_media(store, time.monotonic() + MEDIA_BUDGET_S)
            if self._media:
                self._wake.set()  # more to encode: the next cycle comes at once

    def _take_media(self, batches: list[Batch]) -> list[Batch]:
        """Move the batches' raw media into this writer's queue (the numbers go on alone).

        The batches themselves are left as they are: every sink of the run (a live
        dashboard) holds the same objects, and counts their media."""
        out = []
        for batch in batches:
            if batch.media:
                self._media.extend(batch.media)
                self._media_bytes += sum(e.nbytes for e in batch.media)
                batch = dataclasses.replace(batch, media=[])
            out.append(batch)
        return out

    def _write_media(self, store: Store, deadline: float) -> bool:
        """Encode queued media until `deadline`, then commit what was encoded; True when
        nothing is left."""
        if self._media_files is None:
            from nbtrack.store.media_files import MediaFiles

            self._media_files = MediaFiles(self._root)
        while self._media and (time.monotonic() < deadline or not self._encoded):
            entry = self._media.popleft()
            self._media_bytes -= entry.nbytes
            try:
                self._encoded.append(entry.encode(self._media_files))
                time.sleep(0)  # lets the training thread in between entries (the GIL)
            except Exception as e:  # this entry only: the others go on
                if is_transient(e) and not isinstance(e, FileNotFoundError):
                    self._media.appendleft(entry)  # a full disk: try again next cycle
                    self._media_bytes += entry.nbytes
                    self._note_media_error(e)
                    break
                self.media_dropped += 1
                warnings.warn(
                    f"nbtrack: the media logged under key {entry.key!r} at step {entry.step} "
                    f"could not be stored and is left out: {e}",
                    stacklevel=1,
                )
        if self._encoded:
            try:
                store.write_media(self._rk, self._encoded)
            except BaseException as e:
                if is_transient(e):
                    self._note_media_error(e)
                    return False
                # One entry the store refuses (a caption SQLite cannot hold) must not take
                # the others of this cycle with it: each on its own, the refused left out.
                if not self._write_each(store):
                    return False
            self._encoded = []
            self.error = None
            self._media_progress_at = time.monotonic()
            for callback in self.after_commit:
                try:
                    callback()
                except Exception as e:  # a listener's bug must not stop the writing
                    warnings.warn(f"nbtrack: after-commit callback failed: {e!r}", stacklevel=1)
        return not self._media

    def _write_each(self, store: Store) -> bool:
        """Commit the encoded entries one at a time, leaving out (with a warning naming key
        and step) those the store refuses; False when it refuses for a reason that waiting
        can cure (the rest stay, for the next cycle)."""
        while self._encoded:
            m = self._encoded[0]
            try:
                store.write_media(self._rk, [m])
            except BaseException as e:
                if is_transient(e):
                    self._note_media_error(e)
                    return False
                self.media_dropped += 1
                warnings.warn(
                    f"nbtrack: the media logged under key {m.key!r} at step {m.step} could "
                    f"not be stored ({e!r}); it is left out and logging goes on",
                    stacklevel=1,
                )
            self._encoded.pop(0)
        return True

    def _note_media_error(self, e: BaseException) -> None:
        if self.error is None:
            warnings.warn(
                f"nbtrack: could not write media to the store ({e}); keeping it in memory and "
                "trying again",
                stacklevel=1,
            )
        self.error = e

    def _final_cycle(self, store: Store) -> None:
        assert self._final is not None
        batches, fields, deadline = self._final
        self._pending.extend(self._take_media(batches))
        self._final_taken = True
        self._add_fields()
        self._add_fields(fields)
        while not self._write(store) and time.monotonic() < deadline:
            time.sleep(RETRY_S)
        # `deadline` bounds the wait for a store that refuses writes: while the store takes
        # them, the media backlog (bounded by the run) is encoded to its end, however long.
        while self._media or self._encoded:
            if self._write_media(store, time.monotonic() + MEDIA_BUDGET_S):
                continue
            if self.error is not None:
                if time.monotonic() >= deadline:
                    break
                time.sleep(RETRY_S)
        left = len(self._media) + len(self._encoded)
        if left:
            warnings.warn(
                f"nbtrack: {left} media entries logged at the end of the run could not be "
                f"stored before finish() gave up ({self.error or 'out of time'})",
                stacklevel=1,
            )
        self.unstored = list(self._pending)
        self._final_done = True
        if self._pending and self._fields:
            # The data did not fit; the small final update of the run row may still.
            self._pending = []
            self._write(store)

    def _add_fields(self, fields: dict[str, Any] | None = None) -> None:
        if fields is None:
            try:
                fields = self._run_fields()
            except Exception as e:
                warnings.warn(f"nbtrack: could not read the run's fields: {e!r}", stacklevel=1)
                return
        for key, value in fields.items():
            try:
                dumps(value).encode("utf-8")
            except Exception as e:  # checked when set, so this is a bug of ours: skip it
                warnings.warn(
                    f"nbtrack: the run's {key} cannot be stored ({e!r}); keeping the last one",
                    stacklevel=1,
                )
                continue
            self._fields[key] = value

    def _write(self, store: Store) -> bool:
        """Commit the pending batches in order; True when nothing is left to write."""
        while True:
            batch = self._pending[0] if self._pending else Batch()
            last, step = self._after(batch)
            fields = {**self._fields, "last_step": step, "summary": last}
            try:
                store.write_batch(self._rk, batch, fields)
            except BaseException as e:  # even SystemExit from a value: it must not block the rest
                if is_transient(e):
                    if self.error is None:
                        warnings.warn(
                            f"nbtrack: could not write to the store ({e}); keeping the data in "
                            "memory and trying again",
                            stacklevel=1,
                        )
                    self.error = e
                    return False
                self._tries += 1
                if self._tries < POISON_TRIES or not self._pending:
                    return False
                self._set_aside(self._pending.pop(0), e)
                continue
            self.error = None
            self._tries = 0
            self._fields = {}
            self._last_write = time.monotonic()
            self.committed_last, self.committed_step = last, step
            for callback in self.after_commit:
                try:
                    callback()
                except Exception as e:  # a listener's bug must not stop the writing
                    warnings.warn(f"nbtrack: after-commit callback failed: {e!r}", stacklevel=1)
            if self._pending:
                self._pending.pop(0)
            if not self._pending:
                return True

    def _after(self, batch: Batch) -> tuple[dict[str, float], int]:
        """The last values and the last step once `batch` is committed."""
        last = dict(self.committed_last)
        step = self.committed_step
        for key, (steps, values) in batch.series.items():
            if not len(steps):
                continue
            if key == TIME_KEY:
                step = max(step, int(steps.max()))
            else:
                last[key] = float(values[-1])
        return last, step

    def _set_aside(self, batch: Batch, e: BaseException) -> None:
        self.set_aside.append((batch, e))
        keys = sorted(k for k in batch.series if k != TIME_KEY)
        steps = batch.series.get(TIME_KEY, (None, None))[0]
        where = f" at steps {int(steps.min())}..{int(steps.max())}" if steps is not None else ""
        shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
        warnings.warn(
            f"nbtrack: one batch ({shown or 'histograms only'}{where}) could not be stored "
            f"after {POISON_TRIES} tries ({e!r}); it is set aside and logging goes on",
            stacklevel=1,
        )
        self._tries = 0

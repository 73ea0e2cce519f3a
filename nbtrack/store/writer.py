"""The background writer of one run: drains its buffers into the store twice a second.

The training thread never waits on it: `log()` appends to a list, and this thread takes
what is there, turns it into columns and commits it in one transaction. A batch that
fails to commit (disk full, database locked for a minute) is kept and tried again.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nbtrack._values import Batch
from nbtrack.store.db import HEARTBEAT_S, Store

FLUSH_INTERVAL_S = 0.5


class Writer:
    def __init__(
        self,
        root: Path,
        rk: int,
        take: Callable[[], list[Batch]],
        run_fields: Callable[[], dict[str, Any]],
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
        self._done = threading.Event()
        self._pending: list[Batch] = []
        self._last_write = 0.0
        self._flushed = threading.Condition()
        self._flush_count = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name=f"nbtrack-writer-{rk}", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def flush(self, timeout: float = 30.0) -> None:
        """Block until everything logged before this call is committed (or `timeout`)."""
        with self._flushed:
            target = self._flush_count + 2  # the cycle under way may have drained already
            self._wake.set()
            self._flushed.wait_for(
                lambda: self._flush_count >= target or self._done.is_set(), timeout
            )

    def pending(self) -> list[Batch]:
        """Batches the writer could not commit (after `stop`): the caller must store them."""
        out, self._pending = self._pending, []
        return out

    def stop(self, timeout: float = 60.0) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        store = Store(self._root)
        try:
            if self._on_start is not None:
                try:
                    extra = self._on_start()
                    if extra:
                        store.update_run(self._rk, metadata=extra)
                except Exception as e:  # metadata is a nicety: never lose the run over it
                    warnings.warn(f"nbtrack: could not record run metadata: {e}", stacklevel=1)
            while True:
                self._wake.wait(self._interval)
                self._wake.clear()
                stopping = self._stopping
                self._cycle(store, final=stopping)
                with self._flushed:
                    self._flush_count += 1
                    self._flushed.notify_all()
                if stopping:
                    break
        finally:
            store.close()
            self._done.set()
            with self._flushed:
                self._flushed.notify_all()

    def _cycle(self, store: Store, final: bool) -> None:
        try:
            self._pending.extend(self._take())
        except Exception as e:  # a bug of ours must not stop the writer: say it, keep going
            warnings.warn(
                f"nbtrack: could not prepare logged data for the store: {e!r}", stacklevel=1
            )
        now = time.monotonic()
        if not self._pending and now - self._last_write < HEARTBEAT_S and not final:
            return
        attempts = 3 if final else 1
        for attempt in range(attempts):
            try:
                fields = self._run_fields()
                if not self._pending:
                    store.write_batch(self._rk, Batch(), fields)
                while self._pending:
                    store.write_batch(self._rk, self._pending[0], fields)
                    self._pending.pop(0)
                self._last_write = now
                if self.error is not None:
                    self.error = None
                return
            except Exception as e:
                if self.error is None:
                    warnings.warn(
                        f"nbtrack: could not write to the store ({e}); keeping the data in "
                        "memory and trying again",
                        stacklevel=1,
                    )
                self.error = e
                if attempt + 1 < attempts:
                    time.sleep(0.5)

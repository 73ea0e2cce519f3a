"""Live pages: who waits for which run, and how a worker learns that a run has new data.

On SQLite (one process) the upload that committed tells the waiters itself. On PostgreSQL
every upload sends ``NOTIFY nbtrack_ingest, '<run>:<seq>'`` with its commit, and each worker
keeps one connection that LISTENs and wakes its own waiters, whichever worker took the
upload. A waiter also wakes every few seconds on its own and looks: a notification lost
while the listener reconnected (PostgreSQL restarted) costs a few seconds, never data.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import defaultdict
from collections.abc import AsyncIterator

from starlette.responses import StreamingResponse

from nbtrack.server.ingest import NOTIFY_CHANNEL

log = logging.getLogger("nbtrack.server")


class Notifier:
    """Waiters per run, woken from any thread."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: dict[int, set[asyncio.Event]] = defaultdict(set)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def publish(self, run_pk: int) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(self._wake, run_pk)

    def _wake(self, run_pk: int) -> None:
        for ev in list(self._waiters.get(run_pk, ())):
            ev.set()

    async def wait(self, run_pk: int, timeout: float) -> bool:
        """Wait until run `run_pk` has news or `timeout` passes; True when woken."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        ev = asyncio.Event()
        self._waiters[run_pk].add(ev)
        try:
            await asyncio.wait_for(ev.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            waiters = self._waiters.get(run_pk)
            if waiters is not None:
                waiters.discard(ev)
                if not waiters:
                    del self._waiters[run_pk]


class PgListener:
    """A thread holding one PostgreSQL connection that LISTENs for uploads."""

    def __init__(self, dsn: str, notifier: Notifier) -> None:
        self._dsn = dsn
        self._notifier = notifier
        self._stop = threading.Event()
        self.connected = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="nbtrack-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5.0)

    def _loop(self) -> None:
        import psycopg

        delay = 0.2
        warned = False
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.connected.set()
                    delay, warned = 0.2, False
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            run, _, _ = note.payload.partition(":")
                            if run.isdigit():
                                self._notifier.publish(int(run))
            except Exception as e:  # the database restarting: listen again when it is back
                self.connected.clear()
                if not warned:
                    log.warning("lost the LISTEN connection to PostgreSQL (%s); listening again", e)
                    warned = True
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)


def libpq_dsn(url: str) -> str:
    """A SQLAlchemy URL ``postgresql+psycopg://...`` as psycopg's own connection string."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    parts = {
        "host": u.host,
        "port": u.port,
        "user": u.username,
        "password": u.password,
        "dbname": u.database,
    }
    return " ".join(f"{k}={v}" for k, v in parts.items() if v is not None)


def sse_response(events: AsyncIterator[str]) -> StreamingResponse:
    """A Server-Sent Events response of `events`, unbuffered by proxies on the way."""
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )

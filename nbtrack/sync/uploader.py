"""The uploader: sends one run's committed chunks and media to a server, past durable cursors.

What can go wrong, and what it costs (nothing, in every case):

- The server is away, the network is gone, the server is overloaded (a 5xx or 429): one
  message, then retries with exponential backoff and jitter (1 s doubling to 60 s, or the
  server's ``Retry-After``); a note once it has caught up. Training never waits for it.
- The server refuses for a reason a retry cannot change (the key revoked, no access to the
  entity, a conflicting chunk): the upload stops with a message saying what to do; local
  logging goes on, and `nbtrack sync` finishes the upload once it is fixed.
- The process dies: the cursor in the store says what the server acknowledged; the next
  `nbtrack sync` (or a resumed run) starts there, and the server's per-key high-water marks
  drop whatever it got but could not acknowledge.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from nbtrack._json import dumps
from nbtrack.store.db import MediaRow, Store, UploadState, effective_state
from nbtrack.sync import frames
from nbtrack.sync.client import Client, Refused, Unreachable
from nbtrack.sync.credentials import Credentials

# Blobs per request at most: a frame stays well under the server's 16 MiB body limit.
FRAME_BYTES = 8 << 20
# Media rows per request (JSON); one row alone may go up to the server's limit for a body of
# media rows (a large table).
MEDIA_BODY_BYTES = 16 << 20
MEDIA_ROW_BYTES = 32 << 20
# File names per "have" question.
HAVE_BATCH = 5000
# The largest media file the server takes (`nbtrack.server.media.MAX_FILE_BYTES`): a larger
# one (a long video) would be refused for ever, and hold up the rest of the run's upload.
MEDIA_FILE_BYTES = 64 << 20
# The loop looks for new data this often even when no commit woke it, and sends a
# heartbeat this often while the run is live.
POLL_S = 1.0
HEARTBEAT_S = 10.0
FIELDS_S = 2.0
BACKOFF_S = (1.0, 60.0)
# A run's fields the server keeps; the rest of the store's row is the store's own business.
_FIELDS = (
    "name", "notes", "tags", "config", "summary", "user_summary", "metadata", "alerts", "state",
    "created_at", "finished_at", "exit_code", "error", "last_step",
)  # fmt: skip


def _say(message: str) -> None:
    # Not a warning: those are errors under some test setups, and this runs on a thread.
    print(message, file=sys.stderr, flush=True)


@dataclass
class SyncStatus:
    """Where the run stands with the server, for the dashboard's header."""

    state: str  # "syncing", "synced", "behind", "unreachable", "refused"
    behind: int
    reason: str | None
    url: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "behind": self.behind, "reason": self.reason, "url": self.url}


class Uploader:
    """One run's upload to one server and entity."""

    def __init__(
        self,
        root: Path,
        rk: int,
        project: str,
        run_id: str,
        creds: Credentials,
        entity: str | None = None,
        *,
        say: Callable[[str], None] = _say,
    ) -> None:
        self.root = root
        self.rk = rk
        self.project = project
        self.run_id = run_id
        self.creds = creds
        # Logged in through the environment only: whose key it is, the server says (in the
        # thread, at the first upload: init() never waits on the network).
        self.entity = entity or creds.entity or creds.user
        self.status = SyncStatus("syncing", 0, None, None)
        self._name_places()
        self._say = say
        self._wake = threading.Event()
        self._stopping = False
        self._ending = False
        self._caught_up = threading.Event()
        self._thread: threading.Thread | None = None
        self._high_water: dict[str, Any] | None = None
        self._sent_fields: str | None = None  # the fields the server has, as JSON
        self._beat_at = 0.0
        self.refused: Refused | None = None

    def _name_places(self) -> None:
        self.target = self.creds.target(self.entity)
        self.path = f"{self.entity or '?'}/{self.project}/{self.run_id}"
        if self.entity:
            self.status.url = (
                f"{self.creds.host}/{quote(self.entity)}/{quote(self.project)}/runs/"
                f"{quote(self.run_id)}"
            )

    # -- as a thread beside a live run --------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._loop, name=f"nbtrack-upload-{self.run_id}", daemon=True
        )
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def finish(self, wait_s: float) -> bool:
        """The run ended: upload what is left, waiting up to `wait_s`; True when all is up."""
        self._ending = True
        self._caught_up.clear()
        self._wake.set()
        done = self._caught_up.wait(wait_s)
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(2.0)
        if not done and self.refused is None:
            self._say(
                f"nbtrack: run {self.path} is not fully on {self.creds.host} yet "
                f"({self.status.behind} points to go); `nbtrack sync` will finish the upload"
            )
        return done

    def _loop(self) -> None:
        client = Client(self.creds.host, self.creds.key)
        store: Store | None = None
        delay = BACKOFF_S[0]
        outage = False
        try:
            while not self._stopping:
                try:
                    if store is None:
                        store = Store(self.root)
                    ended = self._cycle(store, client)
                except Refused as e:
                    self._refused(e)
                    return
                except Unreachable as e:
                    if not outage:
                        self._say(
                            f"nbtrack: cannot upload run {self.path} ({e}); training goes on, "
                            "the run is kept locally and uploaded when the server is back"
                        )
                        outage = True
                    self.status.state = "unreachable"
                    self.status.reason = str(e)
                    # The server's Retry-After as it says; our own backoff with jitter, so
                    # clients that lost it together do not all come back at once.
                    wait = e.retry_after
                    if wait is None:
                        wait = delay * random.uniform(0.5, 1.5)
                    delay = min(delay * 2, BACKOFF_S[1])
                    self._high_water = None  # ask the server what it has once it is back
                    self._sleep(wait)
                    continue
                except Exception as e:  # the store busy or away, or a bug of ours: retry
                    if not outage:
                        self._say(f"nbtrack: upload of run {self.path} paused ({e!r}); retrying")
                        outage = True
                    if store is not None:
                        store.close()
                        store = None
                    self._sleep(delay)
                    delay = min(delay * 2, BACKOFF_S[1])
                    continue
                delay = BACKOFF_S[0]
                if outage and self.status.behind == 0:
                    self._say(f"nbtrack: run {self.path} is uploaded again, caught up")
                    outage = False
                if self._ending and ended:
                    self._caught_up.set()
                self._sleep(POLL_S)
        finally:
            client.close()
            if store is not None:
                store.close()

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _refused(self, e: Refused) -> None:
        self.refused = e
        self.status.state = "refused"
        self.status.reason = str(e)
        self._caught_up.set()
        self._say(
            f"nbtrack: {self.creds.host} refused the upload of run {self.path} "
            f"(HTTP {e.status}: {e}). The upload stops here; logging goes on locally and "
            f"nothing is lost. Fix it (nbtrack login with a valid key, or the entity), "
            f"then run: nbtrack sync {self.project}/{self.run_id}"
        )

    # -- the work ------------------------------------------------------------------------

    def _cycle(self, store: Store, client: Client) -> bool:
        """Send what is new; True when the run has ended and the server has all of it."""
        row = store.run_row(self.project, self.run_id)
        if row is None:
            raise Refused(f"run {self.project}/{self.run_id} is not in the store", 404)
        if not self.entity:
            self.entity = str(client.viewer()["user"])
            self._name_places()
        if self._high_water is None:
            self._high_water = self._put_fields(client, row)["high_water"]
        state = store.upload_state(self.rk, self.target)
        if state == UploadState(0, 0, False):
            # Recorded before any data goes: `nbtrack sync` finds where this run uploads to.
            store.set_upload_state(self.rk, self.target, state)
        while True:
            raw = store.raw_since(self.rk, state.seq, state.hist_seq, FRAME_BYTES)
            if not raw.scalars and not raw.histograms:
                break
            hw = self._high_water or {"s": {}, "h": {}}
            scalars = [r for r in raw.scalars if r[0] > hw["s"].get(r[1], 0)]
            hists = [r for r in raw.histograms if r[0] > hw["h"].get(r[1], 0)]
            chunks = frames.from_store(scalars, hists)
            if chunks:
                reply = client.post_chunks(
                    self.entity, self.project, self.run_id, frames.encode(chunks)
                )
                self._high_water = reply["high_water"]
            state = state._replace(seq=raw.seq, hist_seq=raw.hist_seq, done=False)
            store.set_upload_state(self.rk, self.target, state)
            if not raw.more:
                break
        # Media after the chunks of the same commits: each upload's files first, then rows.
        while True:
            rows, media_seq = store.media_since(self.rk, state.media_seq, FRAME_BYTES)
            if not rows:
                break
            mark = int((self._high_water or {}).get("m", 0))
            self._send_media(store, client, [r for r in rows if r.seq > mark])
            state = state._replace(media_seq=media_seq, done=False)
            store.set_upload_state(self.rk, self.target, state)
        # The fields after the chunks: the server's last step never claims points it lacks.
        # The last step and summary change with every commit: sent every few seconds while
        # the run is live (each upload moves the page's points already), at once when it ends.
        row = store.run_row(self.project, self.run_id)
        assert row is not None  # it was there above, and runs are never deleted
        fields = self._fields(row)
        # Compared as JSON text: a NaN in the summary never equals itself as a float.
        sent = dumps(fields) == self._sent_fields
        live = fields["state"] == "running"
        since = time.monotonic() - self._beat_at
        if not sent and (not live or since > FIELDS_S):
            self._put_fields(client, row, fields)
            sent = True
        elif live and since > HEARTBEAT_S:
            client.put_run(self.entity, self.project, self.run_id, {"heartbeat_at": time.time()})
            self._beat_at = time.monotonic()
        self.status.behind = store.points_after(self.rk, state.seq, state.hist_seq) + len(
            store.media_since(self.rk, state.media_seq, 1)[0]
        )
        self.status.reason = None
        self.status.state = "synced" if self.status.behind == 0 else "behind"
        ended = not live and self.status.behind == 0 and sent
        if ended and not state.done:
            store.set_upload_state(self.rk, self.target, state._replace(done=True))
        return ended

    def _send_media(self, store: Store, client: Client, rows: list[MediaRow]) -> None:
        """Upload media rows: the files they name that the server lacks, then the rows (in
        bodies of at most `MEDIA_BODY_BYTES`, one row alone when it is larger)."""
        if not rows:
            return
        files = store.media_files
        names = list(dict.fromkeys(n for r in rows for n in frames.file_names(r.payload)))
        have: set[str] = set()
        for i in range(0, len(names), HAVE_BATCH):
            have |= client.media_have(
                self.entity, self.project, self.run_id, names[i : i + HAVE_BATCH]
            )
        # The files that cannot go, and why: the server would refuse their rows for ever,
        # and hold up the rest of the run.
        lost: dict[str, str] = {}
        for name in names:
            if name in have:
                continue
            try:
                size = files.path(name).stat().st_size
                if size > MEDIA_FILE_BYTES:
                    lost[name] = (
                        f"its file {name} holds {size >> 20} MiB, more than the server takes "
                        f"({MEDIA_FILE_BYTES >> 20} MiB)"
                    )
                    continue
                data = files.read(name)
            except (OSError, ValueError):
                # The store lost the file (its media folder was cleaned).
                lost[name] = f"its file {name} is missing from the local store"
                continue
            client.put_media_file(self.entity, self.project, self.run_id, name, data)
        sendable = []
        for r in rows:
            gone = sorted(set(lost).intersection(frames.file_names(r.payload)))
            if gone:
                self._say(
                    f"nbtrack: media {r.key!r} at step {r.step} of run {self.path} is not "
                    f"uploaded: {lost[gone[0]]}"
                )
                continue
            sendable.append(r)
        for body in _media_bodies(sendable, self._say, self.path):
            reply = client.post_media(self.entity, self.project, self.run_id, body)
            self._high_water = reply["high_water"]

    def _fields(self, row: dict[str, Any]) -> dict[str, Any]:
        """The run's fields as the server keeps them; a run whose process is gone goes as
        crashed, as the local store reads it."""
        out = {k: row[k] for k in _FIELDS if k in row}
        out["state"] = effective_state(row)
        return out

    def _put_fields(
        self, client: Client, row: dict[str, Any], fields: dict[str, Any] | None = None
    ) -> Any:
        fields = self._fields(row) if fields is None else fields
        body = {**fields, "heartbeat_at": time.time(), "updated_at": row.get("updated_at")}
        reply = client.put_run(self.entity, self.project, self.run_id, body)
        self._sent_fields = dumps(fields)
        self._beat_at = time.monotonic()
        return reply

    # -- all at once, in the caller's thread (nbtrack sync) ------------------------------

    def sync_now(self, progress: Callable[[int], None] | None = None) -> None:
        """Upload everything the store has of the run; raises `ServerError` on failure."""
        client = Client(self.creds.host, self.creds.key)
        store = Store(self.root)
        try:
            delay = BACKOFF_S[0]
            tries = 0
            while True:
                try:
                    self._cycle(store, client)
                    tries = 0  # five failures in a row give up; progress between them does not
                    if progress is not None:
                        progress(self.status.behind)
                    if self.status.behind == 0:
                        return
                except Unreachable as e:
                    tries += 1
                    if tries > 5:
                        raise
                    self._high_water = None
                    time.sleep(e.retry_after if e.retry_after is not None else delay)
                    delay = min(delay * 2, BACKOFF_S[1])
        finally:
            client.close()
            store.close()


def _media_bodies(rows: list[MediaRow], say: Callable[[str], None], path: str) -> list[bytes]:
    """`rows` as upload bodies of at most `MEDIA_BODY_BYTES` (halved until they fit); a
    single row past the server's limit is left out, with a message."""
    if not rows:
        return []
    body = frames.media_body(rows)
    if len(body) <= MEDIA_BODY_BYTES:
        return [body]
    if len(rows) == 1:
        if len(body) <= MEDIA_ROW_BYTES:
            return [body]
        r = rows[0]
        say(
            f"nbtrack: media {r.key!r} at step {r.step} of run {path} is not uploaded: its "
            f"{len(body) >> 20} MiB are more than the server takes ({MEDIA_ROW_BYTES >> 20} MiB)"
        )
        return []
    half = len(rows) // 2
    return _media_bodies(rows[:half], say, path) + _media_bodies(rows[half:], say, path)


def sync_wait_s() -> float:
    try:
        return float(os.environ.get("NBTRACK_SYNC_WAIT_S", "5"))
    except ValueError:
        return 5.0

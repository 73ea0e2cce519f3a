"""The kernel's half of the Share button: hand the view's page a share grant, and a new one
before it expires, for as long as the view lives.

The page calls the team server itself (a busy kernel reads no message from the page, so the
kernel cannot make links for it while a cell runs). What it calls with is a grant
(``nbg_...``, an hour long) that allows no more than making, listing and revoking this run's
or project's links: asked for by a thread of its own (never the training thread; `log()`
never waits on it) and sent as a ``share-grant`` custom message, never as a trait (the
notebook saves those). A page that lost it (reloaded) asks with a ``share-grant`` message of
its own, answered when the kernel is idle. Not logged in, or a run that does not sync: one
message saying so, and no thread.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from nbtrack.widget._protocol import ShareGrantReason, share_grant_message

if TYPE_CHECKING:
    from nbtrack._run import RunLink
    from nbtrack.api import RunRecord
    from nbtrack.sync.credentials import Credentials
    from nbtrack.sync.shares import ShareTarget

# A grant is asked for again this long before it ends (or at 80% of its life when that is
# sooner), so the page never holds an expired one while the kernel runs.
RENEW_BEFORE_S = 300.0
RETRY_S = (1.0, 300.0)
# While the run's first upload is under way, how often to look whether it is done.
UPLOAD_POLL_S = 0.2


class Widget(Protocol):
    """What a keeper needs of a view: send messages, and hear the page's."""

    def send(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None: ...

    def on_msg(self, callback: Callable[..., Any]) -> None: ...


def _closed(widget: Any) -> bool:
    # An ipywidget's comm is gone once it is closed (Widget.close, the kernel's comm_close).
    return hasattr(widget, "comm") and widget.comm is None


class GrantKeeper:
    """Keeps one view's page supplied with a grant for `resolve()`'s target.

    `resolve` returns the target (its entity "" for the login's own, asked of the server),
    None while it is not known yet (the run's first upload is on its way: asked again
    shortly), or raises `ShareError` for a target there will never be (its message goes to
    the page).
    """

    def __init__(
        self,
        widget: Widget,
        creds: Credentials,
        resolve: Callable[[], ShareTarget | None],
        *,
        start: bool = True,
    ) -> None:
        self.widget = widget
        self.creds = creds
        self._resolve = resolve
        self._lock = threading.Lock()
        self._last: dict[str, Any] | None = None  # the message the page has now
        self._grant_until: float | None = None  # when the grant in `_last` ends (None: no end)
        self._margin = 60.0  # a grant this close to its end is not handed out again
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None
        widget.on_msg(self._on_msg)
        if start:
            self.thread = threading.Thread(
                target=self._loop, name="nbtrack-share-grant", daemon=True
            )
            self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    # -- the page asks ----------------------------------------------------------------------

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "share-grant":
            self.answer()

    def answer(self) -> None:
        """The page asked (a reloaded view): the grant again while it is good, else a new one
        from the thread (which sends it as soon as it has it)."""
        with self._lock:
            last = self._last
            good = last is not None and (
                last.get("token") is None
                or self._grant_until is None
                or self._grant_until - time.time() > self._margin
            )
        if good and last is not None:
            self.widget.send(last)
        else:
            self._wake.set()

    # -- the thread -------------------------------------------------------------------------

    def _send(self, message: dict[str, Any], until: float | None = None) -> None:
        with self._lock:
            self._last = message
            self._grant_until = until
            if until is not None:
                self._margin = min(60.0, 0.2 * max(0.0, until - time.time()))
        self.widget.send(message)

    def _holds_grant(self) -> bool:
        with self._lock:
            if self._last is None or self._last.get("token") is None:
                return False
            return self._grant_until is None or self._grant_until > time.time()

    def _sleep(self, seconds: float) -> bool:
        """Wait `seconds` or until woken; False once the keeper should end."""
        self._wake.wait(seconds)
        self._wake.clear()
        return not (self._stop.is_set() or _closed(self.widget))

    def _loop(self) -> None:
        from nbtrack.sync.shares import (
            NotOnServerError,
            ShareClient,
            ShareError,
            ShareTarget,
            seconds_of,
        )

        delay = RETRY_S[0]
        told = False  # the page was told why it has no grant yet
        while not (self._stop.is_set() or _closed(self.widget)):
            try:
                target = self._resolve()
            except ShareError as e:
                self._send(
                    share_grant_message(
                        server=self.creds.host, reason="unavailable", message=str(e)
                    )
                )
                return
            if target is None:
                if not self._sleep(UPLOAD_POLL_S):
                    return
                continue
            try:
                with ShareClient(self.creds, timeout=15.0) as client:
                    if not target.entity:
                        target = ShareTarget(client.entity(), target.project, target.run_id)
                    grant = client.grant(target)
            except ShareError as e:
                # Not there yet (the first upload on its way to every worker), the server
                # away, a refusal: tried again, later and later. The page keeps a grant it
                # still has; one without is told why, once.
                if not self._holds_grant() and not told and not isinstance(e, NotOnServerError):
                    self._send(
                        share_grant_message(
                            server=self.creds.host, reason="unavailable", message=str(e)
                        )
                    )
                    told = True
                wait = min(delay, 5.0) if isinstance(e, NotOnServerError) else delay
                delay = min(delay * 2, RETRY_S[1])
                if not self._sleep(wait * random.uniform(0.8, 1.2)):
                    return
                continue
            delay, told = RETRY_S[0], False
            until = seconds_of(grant.get("expires_at"))
            self._send(share_grant_message(grant, server=self.creds.host), until)
            if until is None:
                renew_in = 24 * 3600.0
            else:
                life = max(0.0, until - time.time())
                renew_in = max(5.0, min(life - RENEW_BEFORE_S, 0.8 * life))
            deadline = time.monotonic() + renew_in
            # Woken early by a page's request: only a grant near its end is asked for again.
            while time.monotonic() < deadline:
                if not self._sleep(deadline - time.monotonic()):
                    return
                if until is not None and until - time.time() <= self._margin:
                    break


def _say_none(widget: Widget, reason: ShareGrantReason, message: str, server: str | None) -> None:
    """No grant for this view, ever: told once, and again whenever the page asks."""
    content = share_grant_message(server=server, reason=reason, message=message)

    def on_msg(_widget: Any, msg: Any, _buffers: Any) -> None:
        if isinstance(msg, dict) and msg.get("type") == "share-grant":
            widget.send(content)

    widget.on_msg(on_msg)
    widget.send(content)


def _not_logged_in(widget: Widget) -> None:
    from nbtrack.sync.shares import LOGIN_HINT

    _say_none(
        widget,
        "not-logged-in",
        "Share links live on a team server, and this kernel is not logged in to one: "
        f"{LOGIN_HINT}; then start the run again. Without a server, Export writes this view "
        "to one HTML file that you can send.",
        None,
    )


def for_live_run(widget: Widget, link: RunLink, project: str, run_id: str) -> GrantKeeper | None:
    """The grants of a live run's dashboard: its uploader's server, once the run is there."""
    from nbtrack.sync.credentials import saved
    from nbtrack.sync.shares import NotOnServerError, ShareTarget, wait_on_server

    uploader = link.uploader()
    if uploader is None:
        creds = saved()
        if creds is None:
            _not_logged_in(widget)
        else:
            _say_none(
                widget,
                "not-synced",
                f"This run does not sync to {creds.host} (it started offline, or before "
                f"nbtrack.login()), so it has no share links. `nbtrack sync {project}/{run_id}` "
                "uploads it; `nbtrack share` then makes a link. Export writes this view to "
                "one HTML file meanwhile.",
                creds.host,
            )
        return None

    def resolve() -> ShareTarget | None:
        # Not before the uploader's first round: the server knows the run only then. A
        # refused upload raises: that run will have no links.
        try:
            entity = wait_on_server(uploader, time.monotonic())
        except NotOnServerError:
            return None
        return ShareTarget(entity, project, run_id)

    return GrantKeeper(widget, uploader.creds, resolve)


def for_stored_run(widget: Widget, record: RunRecord) -> GrantKeeper | None:
    """The grants of a stored run's dashboard (`nbtrack.show`), when logged in."""
    from nbtrack.sync.credentials import saved
    from nbtrack.sync.shares import ShareTarget

    creds = saved()
    if creds is None:
        _not_logged_in(widget)
        return None
    target = ShareTarget(record.entity or "", record.project, record.id)
    return GrantKeeper(widget, creds, lambda: target)


def for_project(widget: Widget, project: str, records: list[RunRecord]) -> GrantKeeper | None:
    """The grants of a compare view: links of the whole project (``[entity/]project``)."""
    from nbtrack.sync.credentials import saved
    from nbtrack.sync.shares import ShareTarget

    creds = saved()
    if creds is None:
        _not_logged_in(widget)
        return None
    entity, _, name = project.rpartition("/")
    entity = entity or next((r.entity for r in records if r.entity), "") or ""
    target = ShareTarget(entity, name)
    return GrantKeeper(widget, creds, lambda: target)

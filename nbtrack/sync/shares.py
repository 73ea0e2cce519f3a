"""Share links from code and the shell: create, list and revoke them, hand a page a grant,
make a project public. What `run.share()`, ``nbtrack share`` and ``nbtrack project`` call.

A share link (``nbl_...``) is a read-only capability for one run or one project, made by the
server; its token is in the reply that creates it and nowhere else. A grant (``nbg_...``) is
a short-lived credential that allows no more than creating, listing and revoking the links
of one run or project: what a notebook page gets instead of the API key (see
``nbtrack/widget/_share.py``). Every call uses the saved login (`credentials.saved`), as
`nbtrack sync` does, and every failure is a `ShareError` that says what to do.

>>> url = run.share(expires="7d")                      # the run's link, for a week
>>> links = ShareClient().list("ada", "fashion-cnn")   # the live links of a project
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlencode

from nbtrack.errors import NbtrackError, RunNotFoundError
from nbtrack.sync.client import Client, Refused, Unreachable
from nbtrack.sync.credentials import Credentials, saved

if TYPE_CHECKING:
    from nbtrack.sync.uploader import Uploader

# How long `run.share()` waits for the run's uploader to put the run on the server.
SHARE_WAIT_S = 30.0

_T = TypeVar("_T")

LOGIN_HINT = (
    "log in first: nbtrack.login(host='http://server:8080') in the notebook, or "
    "`nbtrack login --host URL` in a terminal (or set NBTRACK_HOST and NBTRACK_API_KEY)"
)


class ShareError(NbtrackError):
    """A share link (or grant, or a project's visibility) that could not be made, listed or
    revoked. The message says why, and what to do."""


class NotLoggedInError(ShareError):
    """No saved login: share links live on a team server."""


class NotOnServerError(ShareError, RunNotFoundError):
    """The run (or project) is not on the server, or not yet: it syncs first."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class ShareTarget:
    """What a link or a grant is for: one run, or a whole project (`run_id` None)."""

    entity: str
    project: str
    run_id: str | None = None

    @property
    def scope(self) -> str:
        return "project" if self.run_id is None else "run"

    def __str__(self) -> str:
        base = f"{self.entity}/{self.project}"
        return base if self.run_id is None else f"{base}/{self.run_id}"


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw]?)")


def parse_expires(value: float | str | None) -> float | None:
    """Seconds until a link expires: a number of seconds, or ``"7d"``, ``"12h"``, ``"30m"``,
    ``"45s"``, ``"2w"``; None (or ``"never"``) for a link that never expires.

    >>> parse_expires("7d"), parse_expires(90), parse_expires("never")
    (604800.0, 90.0, None)
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"nbtrack: expires must be seconds or a duration like '7d', not {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if text in ("never", "none", ""):
            return None
        m = _DURATION.fullmatch(text)
        if m is None:
            raise ValueError(
                f"nbtrack: expires {value!r} is not a duration: give seconds, or a number "
                "with s, m, h, d or w (such as '30m', '12h', '7d'), or 'never'"
            )
        seconds = float(m.group(1)) * _UNITS[m.group(2) or "s"]
    else:
        raise ValueError(f"nbtrack: expires must be seconds or a duration like '7d', not {value!r}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"nbtrack: expires must be a positive duration, not {value!r}")
    return seconds


def seconds_of(v: Any) -> float | None:
    """A time the server sent (Unix seconds, or an ISO 8601 string) as Unix seconds."""
    if v is None:
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, str):
        try:
            t = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            return None
        if t.tzinfo is None:
            t = t.replace(tzinfo=timezone.utc)
        return t.timestamp()
    return None


def when(v: Any) -> str:
    """A server time as the CLI prints it (local time, to the minute); "never" for None."""
    t = seconds_of(v)
    if t is None:
        return "never" if v is None else str(v)
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def login() -> Credentials:
    """The saved login, or `NotLoggedInError` saying how to log in."""
    creds = saved()
    if creds is None:
        raise NotLoggedInError(
            f"nbtrack: share links live on a team server, and none is logged in: {LOGIN_HINT}"
        )
    return creds


class ShareClient:
    """The server's share calls with the saved login (or `creds`). One per thread.

    >>> with ShareClient() as c:
    ...     link = c.create(ShareTarget("ada", "fashion-cnn", "3k2j9x0a"), expires="7d")
    ...     print(link["url"])
    """

    def __init__(self, creds: Credentials | None = None, *, timeout: float = 30.0) -> None:
        self.creds = creds if creds is not None else login()
        self.host = self.creds.host
        self._client = Client(self.creds.host, self.creds.key, timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ShareClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def entity(self) -> str:
        """Where this login's runs go: the saved entity, else whose key it is."""
        if self.creds.entity:
            return self.creds.entity
        who = self._call("ask whose key this is", lambda: self._client.viewer())
        return str(who.get("user", ""))

    # -- the calls ------------------------------------------------------------------------

    def create(
        self,
        target: ShareTarget,
        expires: float | str | None = None,
        show_private: bool = False,
    ) -> dict[str, Any]:
        """A new link; the server's reply with ``url`` added (the only time the token shows)."""
        body = {
            "entity": target.entity,
            "project": target.project,
            "run_id": target.run_id,
            "expires_in_s": parse_expires(expires),
            "show_private": bool(show_private),
        }
        got = self._call(
            f"make a share link of {target.scope} {target}",
            lambda: self._client.request("POST", "/api/v1/shares", _json(body)),
            missing=target,
        )
        link = dict(got)
        link["url"] = self.host + str(link.get("path") or f"/s/{link.get('token', '')}")
        return link

    def list(
        self, entity: str | None = None, project: str | None = None, run_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The live links (newest first) of a run, of a project (and its runs), or of every
        project this login may see."""
        if not (entity and project):
            projects = self._call("list the projects", lambda: self._client.get("/api/v1/projects"))
            out: list[dict[str, Any]] = []
            for p in projects or []:
                if entity and p.get("entity") != entity:
                    continue
                try:
                    out.extend(self.list(str(p["entity"]), str(p["name"])))
                except NotOnServerError:
                    continue  # another entity's public project: its links are not ours
            out.sort(key=lambda x: seconds_of(x.get("created_at")) or 0.0, reverse=True)
            return out
        query = {
            k: v for k, v in (("entity", entity), ("project", project), ("run_id", run_id)) if v
        }
        path = "/api/v1/shares" + (f"?{urlencode(query)}" if query else "")
        where = "/".join(v for v in (entity, project, run_id) if v) or "this login"
        missing = ShareTarget(entity, project, run_id) if entity and project else None
        got = self._call(
            f"list the share links of {where}", lambda: self._client.get(path), missing=missing
        )
        return [dict(x) for x in got or []]

    def revoke(self, link_id: str) -> None:
        """Revoke a link by its id (as `list` shows it): it answers 404 from now on."""
        link_id = str(link_id).strip()
        if not link_id.isdigit():
            raise ShareError(
                f"nbtrack: {link_id!r} is not a share link's id: give the number in the id "
                "column of `nbtrack share list`"
            )
        try:
            self._call(
                f"revoke share link {link_id}",
                lambda: self._client.request("DELETE", f"/api/v1/shares/{quote(link_id, safe='')}"),
            )
        except ShareError as e:
            if isinstance(e.__cause__, Refused) and e.__cause__.status == 404:
                raise ShareError(
                    f"nbtrack: no live share link {link_id!r} on {self.host} (revoked already, "
                    "expired, or not yours): `nbtrack share list` shows the live ones"
                ) from None
            raise

    def grant(self, target: ShareTarget) -> dict[str, Any]:
        """A short-lived grant that lets a page make, list and revoke `target`'s links."""
        body = {"entity": target.entity, "project": target.project, "run_id": target.run_id}
        got = self._call(
            f"get a share grant for {target.scope} {target}",
            lambda: self._client.request("POST", "/api/v1/share-grants", _json(body)),
            missing=target,
        )
        return dict(got)

    def set_public(self, entity: str, project: str, public: bool) -> Any:
        """Make a project public (its run and project pages open without a sign-in) or private."""
        path = f"/api/v1/projects/{quote(entity, safe='')}/{quote(project, safe='')}/public"
        return self._call(
            f"make project {entity}/{project} {'public' if public else 'private'}",
            lambda: self._client.request("PUT", path, _json({"public": bool(public)})),
            missing=ShareTarget(entity, project),
        )

    def _call(self, what: str, fn: Callable[[], _T], missing: ShareTarget | None = None) -> _T:
        try:
            return fn()
        except Unreachable as e:
            raise ShareError(
                f"nbtrack: could not {what}: {e}; try again once the server is back"
            ) from e
        except Refused as e:
            if e.status == 404 and missing is not None:
                raise NotOnServerError(_not_on_server(self.host, missing, str(e))) from e
            if e.status == 401:
                raise ShareError(
                    f"nbtrack: could not {what}: {self.host} refused the API key ({e}); "
                    f"log in again: nbtrack login --host {self.host}"
                ) from e
            raise ShareError(
                f"nbtrack: could not {what}: {self.host} said {e} (HTTP {e.status})"
            ) from e


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, allow_nan=False).encode()


def _not_on_server(host: str, target: ShareTarget, detail: str) -> str:
    if target.run_id is None:
        return (
            f"nbtrack: project {target} is not on {host} ({detail}): its runs get there when "
            f"they are logged while logged in, or with `nbtrack sync --all`"
        )
    return (
        f"nbtrack: run {target} is not on {host}, or not yet ({detail}): a run syncs while it "
        f"is logged when you are logged in; `nbtrack sync {target.project}/{target.run_id}` "
        "uploads it, then share it"
    )


# -- a live run of this process (`run.share()`) ---------------------------------------------


def wait_on_server(uploader: Uploader, deadline: float) -> str:
    """Wait until `uploader` has put its run on the server (its first round is done); the
    entity it uploads to. `ShareError` when it was refused, or is not there by `deadline`."""
    while True:
        if uploader.refused is not None:
            raise ShareError(
                f"nbtrack: {uploader.creds.host} refused the upload of run {uploader.path} "
                f"({uploader.refused}), so it has no link to share. Fix the login (nbtrack "
                f"login), then: nbtrack sync {uploader.project}/{uploader.run_id}"
            )
        state = uploader.status.state
        if uploader.entity and state in ("synced", "behind"):
            return uploader.entity
        if time.monotonic() >= deadline:
            why = f" ({uploader.status.reason})" if uploader.status.reason else ""
            raise NotOnServerError(
                f"nbtrack: run {uploader.path} is not on {uploader.creds.host} yet: its upload "
                f"is {state}{why}. Try again in a moment; once the server answers, "
                f"`nbtrack sync {uploader.project}/{uploader.run_id}` finishes the upload"
            )
        time.sleep(0.1)


def share_run(
    project: str,
    run_id: str,
    uploader: Uploader | None,
    *,
    whole_project: bool = False,
    expires: float | str | None = None,
    show_private: bool = False,
    wait_s: float = SHARE_WAIT_S,
) -> str:
    """The URL of a new link of a run of this process (or of its project): what
    `Run.share` returns. Waits up to `wait_s` for the uploader to put the run on the server."""
    parse_expires(expires)  # a bad duration fails before anything waits
    deadline = time.monotonic() + wait_s
    if uploader is None:
        # Not synced by this process: logged in after init(), or offline. The server may
        # have it all the same (`nbtrack sync`); if not, the 404 says how to get it there.
        creds = saved()
        if creds is None:
            raise NotLoggedInError(
                f"nbtrack: run {project}/{run_id} is not synced to a team server, so it has no "
                f"share link: {LOGIN_HINT}; then start the run again, or upload this one with "
                f"`nbtrack sync {project}/{run_id}`. Without a server, `nbtrack export` writes "
                "the run to one HTML file you can send"
            )
        entity = ""
    else:
        creds = uploader.creds
        entity = wait_on_server(uploader, deadline)
    with ShareClient(creds) as client:
        entity = entity or client.entity()
        target = ShareTarget(entity, project, None if whole_project else run_id)
        while True:
            try:
                return str(client.create(target, expires, show_private)["url"])
            except NotOnServerError:
                # The run's first upload may still be on its way to every worker.
                if uploader is None or time.monotonic() >= deadline:
                    raise
                time.sleep(0.5)


# -- the shell: RUN as `nbtrack sync` takes it ----------------------------------------------


def resolve_run(
    name: str, client: ShareClient, entity: str | None = None, root: Any = None
) -> ShareTarget:
    """The server's run for ``project/id`` or ``id`` (looked up in the local store, whose
    ``uploads`` table says which entity it went to), or ``entity/project/id`` as it is."""
    parts = name.strip().strip("/").split("/")
    if len(parts) == 3 and all(parts):
        return ShareTarget(*parts)
    if len(parts) not in (1, 2) or not all(parts):
        raise ShareError(
            f"nbtrack share: {name!r} is not a run: give project/id, an id, or entity/project/id"
        )
    rows = _local_runs(root)
    want_project, rid = (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])
    found = [
        r for r in rows if r["id"] == rid and (want_project is None or r["project"] == want_project)
    ]
    if len(found) > 1:
        raise ShareError(f"nbtrack share: {name!r} names runs of several projects; give project/id")
    if not found:
        if want_project is None:
            raise RunNotFoundError(
                f"nbtrack share: no run {name!r} in the local store; give project/id (or "
                "entity/project/id) for a run logged elsewhere"
            )
        return ShareTarget(entity or client.entity(), want_project, rid)
    row = found[0]
    return ShareTarget(
        entity or _uploaded_to(root, row["rk"], client.host) or client.entity(), row["project"], rid
    )


def resolve_project(name: str, client: ShareClient, entity: str | None = None) -> ShareTarget:
    """``[entity/]project`` as the server names it."""
    ent, _, proj = name.strip().strip("/").rpartition("/")
    if not proj or "/" in ent:
        raise ShareError(f"nbtrack: {name!r} is not a project: give [entity/]project")
    return ShareTarget(ent or entity or client.entity(), proj)


def _local_runs(root: Any) -> list[dict[str, Any]]:
    from nbtrack.errors import StoreError
    from nbtrack.store.db import Store, default_root

    try:
        store = Store(root if root is not None else default_root(), readonly=True)
    except (StoreError, OSError):
        return []  # no store here: only entity/project/id or project/id can name a run
    try:
        return store.run_rows()
    finally:
        store.close()


def _uploaded_to(root: Any, rk: int, host: str) -> str | None:
    from nbtrack.store.db import Store, default_root

    store = Store(root if root is not None else default_root(), readonly=True)
    try:
        for target in store.upload_targets(rk):
            h, _, ent = target.partition("|")
            if h == host and ent:
                return ent
    finally:
        store.close()
    return None

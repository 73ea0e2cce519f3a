"""Talking to a team server: the API's calls over one kept-alive HTTP connection.

The standard library's `http.client`, so logging in and syncing need nothing beyond
nbtrack's own dependencies. Every failure is one of two kinds: `Unreachable` (the network,
the server away or overloaded: a retry may cure it) or `Refused` (the server said no for a
reason a retry cannot change: a revoked key, no access, a conflict).
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from typing import Any
from urllib.parse import quote, urlsplit

from nbtrack._json import finite
from nbtrack._version import __version__
from nbtrack.sync import frames

TIMEOUT_S = 30.0


class ServerError(Exception):
    pass


class Unreachable(ServerError):
    """The server could not be reached or could not answer now; `retry_after` when it said."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Refused(ServerError):
    """The server refused the request; `status` is its HTTP status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def normalize_host(host: str) -> str:
    host = host.strip().rstrip("/")
    if "://" not in host:
        host = "http://" + host
    parts = urlsplit(host)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"nbtrack: the server address must be http(s)://host[:port], not {host!r}")
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


class Client:
    """One server and one API key. Not thread-safe: one per thread."""

    def __init__(self, host: str, key: str, timeout: float = TIMEOUT_S) -> None:
        self.host = normalize_host(host)
        self._key = key
        self._timeout = timeout
        parts = urlsplit(self.host)
        self._https = parts.scheme == "https"
        self._netloc = parts.netloc
        self._base = parts.path
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._https:
                self._conn = http.client.HTTPSConnection(
                    self._netloc, timeout=self._timeout, context=ssl.create_default_context()
                )
            else:
                self._conn = http.client.HTTPConnection(self._netloc, timeout=self._timeout)
        return self._conn

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> Any:
        """The JSON answer of a call; `Unreachable` or `Refused` when there is none."""
        return self._answer(*self._exchange(method, path, body, content_type, "application/json"))

    def request_bytes(self, path: str) -> bytes:
        """The body of a GET of `path` as it is (a media file); the same errors as `request`."""
        status, retry_after, data = self._exchange("GET", path, None, None, "*/*")
        if 200 <= status < 300:
            return data
        self._answer(status, retry_after, data)  # raises
        raise AssertionError("unreachable")

    def _exchange(
        self,
        method: str,
        path: str,
        body: bytes | None,
        content_type: str | None,
        accept: str,
    ) -> tuple[int, str | None, bytes]:
        headers = {
            "Authorization": f"Bearer {self._key}",
            "User-Agent": f"nbtrack/{__version__}",
            "Accept": accept,
        }
        if body is not None and content_type is not None:
            headers["Content-Type"] = content_type
        url = self._base + path
        # A kept-alive connection the server has closed meanwhile fails at once: one retry
        # on a fresh one. Safe even when the server did see the first: every call is
        # idempotent (a run is upserted, a chunk is stored once).
        for attempt in range(2):
            conn = self._connection()
            try:
                conn.request(method, url, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
                self.close()
                if attempt == 0 and not isinstance(e, ConnectionResetError):
                    continue
                raise Unreachable(f"the connection to {self.host} broke ({e})") from None
            except (OSError, http.client.HTTPException) as e:
                self.close()
                why = "timed out" if isinstance(e, socket.timeout) else str(e) or type(e).__name__
                raise Unreachable(f"cannot reach {self.host} ({why})") from None
            if resp.getheader("connection", "").lower() == "close":
                self.close()
            return resp.status, resp.getheader("retry-after"), data
        raise AssertionError("unreachable")

    def _answer(self, status: int, retry_after: str | None, data: bytes) -> Any:
        if 200 <= status < 300:
            return json.loads(data) if data else None
        try:
            detail = json.loads(data).get("detail")
        except (ValueError, AttributeError):
            detail = None
        if isinstance(detail, list):  # a validation error: where, and what is wrong there
            detail = "; ".join(
                f"{'.'.join(str(p) for p in d.get('loc', []))}: {d.get('msg', '')}"
                for d in detail
                if isinstance(d, dict)
            )
        if not isinstance(detail, str):
            detail = data[:200].decode("utf-8", "replace") if data else ""
        if status == 429 or status >= 500:
            wait = None
            if retry_after and retry_after.strip().isdigit():
                wait = float(retry_after)
            raise Unreachable(f"{self.host} answered {status} {detail}".rstrip(), wait)
        raise Refused(detail or f"HTTP {status}", status)

    # -- the calls ----------------------------------------------------------------------

    @staticmethod
    def run_path(entity: str, project: str, run_id: str) -> str:
        return f"/api/v1/runs/{quote(entity, safe='')}/{quote(project, safe='')}/{quote(run_id, safe='')}"

    def viewer(self) -> dict[str, Any]:
        return dict(self.request("GET", "/api/v1/viewer"))

    def put_run(self, entity: str, project: str, run_id: str, fields: dict[str, Any]) -> Any:
        body = json.dumps(finite(fields), ensure_ascii=False, allow_nan=False).encode()
        return self.request("PUT", self.run_path(entity, project, run_id), body)

    def sync_state(self, entity: str, project: str, run_id: str) -> Any:
        return self.request("GET", self.run_path(entity, project, run_id) + "/sync-state")

    def post_chunks(self, entity: str, project: str, run_id: str, frame: bytes) -> Any:
        return self.request(
            "POST", self.run_path(entity, project, run_id) + "/chunks", frame, frames.CONTENT_TYPE
        )

    def media_have(self, entity: str, project: str, run_id: str, names: list[str]) -> set[str]:
        """Which of the media files `names` the server holds already."""
        body = json.dumps({"names": names}).encode()
        reply = self.request("POST", self.run_path(entity, project, run_id) + "/media/have", body)
        return set(reply["have"])

    def put_media_file(self, entity: str, project: str, run_id: str, name: str, data: bytes) -> Any:
        path = self.run_path(entity, project, run_id) + "/media/" + quote(name, safe="")
        return self.request("PUT", path, data, "application/octet-stream")

    def post_media(self, entity: str, project: str, run_id: str, body: bytes) -> Any:
        """Media rows (`frames.media_body`); their files must be on the server first."""
        return self.request("POST", self.run_path(entity, project, run_id) + "/media", body)

    def get(self, path: str) -> Any:
        return self.request("GET", path)

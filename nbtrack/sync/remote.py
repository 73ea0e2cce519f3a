"""The read API's source when it reads from a server: `nbtrack.Api(host=...)`.

It answers the calls `nbtrack.api` makes of a local `Store` (runs, keys, series,
histograms, media), over the server's API, so a `RunRecord` reads the same from either.

Media rows come from the run's media route, paged, and are kept here as they are read (a
dashboard that follows the run asks for the new ones every second). The files they name are
downloaded on first use into the media cache (`media_cache_dir`), each checked against its
name (the SHA-256 of its bytes), so `RemoteMediaFiles` reads like the store's `MediaFiles`
and `nbtrack.media.decode`, the dashboard feeds and the export read a server's run as they
read a local one.
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from nbtrack import _env
from nbtrack._types import Float64Array, Int64Array
from nbtrack._values import Batch
from nbtrack.errors import LoginError, RunNotFoundError
from nbtrack.store.db import MediaRow
from nbtrack.store.media_files import MediaFiles, valid_name
from nbtrack.sync.client import TIMEOUT_S, Client, Refused, Unreachable


def _array(text: str | None, dtype: str) -> np.ndarray[Any, Any]:
    if not text:
        return np.empty(0, dtype=dtype)
    return np.frombuffer(base64.b64decode(text), dtype=dtype).astype(dtype[1:], copy=True)


def _number(v: Any) -> Any:
    if isinstance(v, str) and v in ("nan", "inf", "-inf"):
        return float(v)
    return v


def media_cache_dir() -> Path:
    """Where media files read from servers are kept: ``$NBTRACK_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/nbtrack``, else ``~/.cache/nbtrack`` (the files go in its ``media/``
    folder, laid out as a store's). One folder for every Api and every server: a file is
    named by the SHA-256 of its bytes and checked against it when it comes, so a file read
    once for one run is the same file for any other, and is not downloaded again."""
    env = _env.get("CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nbtrack"


class _Downloads:
    """GETs of media files' bytes, through a `Client` of their own (one is not shared between
    threads), one at a time: a dashboard's feed and the kernel may both ask."""

    def __init__(self, host: str, key: str, timeout: float) -> None:
        self.host = host
        self._client = Client(host, key, timeout)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._client.close()

    def get(self, path: str, what: str) -> bytes:
        """The body of a GET of `path`. Failures are OSErrors naming `what`: the server has
        no such file for the run (FileNotFoundError), refuses the key (PermissionError), or
        cannot be reached or answer now (ConnectionError)."""
        with self._lock:
            try:
                return self._client.request_bytes(path)
            except Unreachable as e:
                raise ConnectionError(f"nbtrack: {what}: {e}") from None
            except Refused as e:
                if e.status == 404:
                    raise FileNotFoundError(
                        f"nbtrack: {what}: {self.host} holds no such file for this run"
                    ) from None
                if e.status in (401, 403):
                    raise PermissionError(
                        f"nbtrack: {what}: {self.host} refused this API key ({e.status})"
                    ) from None
                raise ConnectionError(f"nbtrack: {what}: {self.host} answered {e.status}") from None


class RemoteMediaFiles(MediaFiles):
    """One server run's media files, read as a store's are (`MediaFiles`): each one is
    downloaded on first use into the media cache at `root`, checked against its name, and
    read from there ever after (`path` gives the cached file, for `nbtrack.media.decode`).

    >>> files = api.run("ada/mnist/3k2j9x0a").media_files
    >>> files.read(name)   # the bytes, downloaded once
    """

    def __init__(self, root: Path, fetch: Callable[[str], bytes]) -> None:
        super().__init__(root)
        self._cache = MediaFiles(root)
        self._fetch = fetch

    def path(self, name: str) -> Path:
        target = self._cache.path(name)  # a ValueError for anything but a media file name
        if not target.is_file():
            data = self._fetch(name)
            try:
                self._cache.put_named(name, data)
            except ValueError:
                # Bytes that are not the named file's (a proxy's error page, a cut body): not
                # kept, and read as any other failure to get the file.
                raise OSError(
                    f"nbtrack: the bytes the server sent for media file {name} are not that "
                    "file's (their SHA-256 differs from its name); nothing was kept"
                ) from None
        return target

    def exists(self, name: str) -> bool:
        if not valid_name(name):
            return False
        try:
            self.path(name)
        except OSError:
            return False
        return True

    def read(self, name: str) -> bytes:
        """The bytes of file `name`; FileNotFoundError when the run names no such file,
        another OSError when the server cannot give it now."""
        return self.path(name).read_bytes()

    def put_named(self, name: str, data: bytes) -> None:
        self._cache.put_named(name, data)


class RemoteStore:
    """A server, read as if it were a store. Runs are numbered as they are first seen."""

    def __init__(
        self, host: str, key: str, entity: str | None = None, timeout: float | None = None
    ) -> None:
        self.client = Client(host, key) if timeout is None else Client(host, key, timeout)
        try:
            who = self.client.viewer()
        except Refused as e:
            raise LoginError(f"nbtrack.Api: {host} refused this API key: {e}") from None
        except Unreachable as e:
            raise LoginError(f"nbtrack.Api: {e}") from None
        self.entity = entity or str(who["user"])
        self.root = Path(self.client.host)
        self.path = self.client.host
        self._paths: list[tuple[str, str, str]] = []  # rk -> (entity, project, id)
        self._rks: dict[tuple[str, str, str], int] = {}
        self._downloads = _Downloads(
            self.client.host, key, TIMEOUT_S if timeout is None else timeout
        )
        # rk -> the run's media rows read so far (in seq order) and its files.
        self._media: dict[int, list[MediaRow]] = {}
        self._files: dict[int, RemoteMediaFiles] = {}
        self._media_lock = threading.Lock()
        self._cache_root: Path | None = None
        self._temp_cache: str | None = None

    def close(self) -> None:
        self.client.close()
        self._downloads.close()
        if self._temp_cache is not None:
            shutil.rmtree(self._temp_cache, ignore_errors=True)
            self._temp_cache = None

    def _split(self, project: str) -> tuple[str, str]:
        entity, _, name = project.rpartition("/")
        return entity or self.entity, name

    def _base(self, rk: int) -> str:
        return Client.run_path(*self._paths[rk])

    def _get(self, path: str) -> Any:
        try:
            return self.client.get(path)
        except Refused as e:
            if e.status == 404:
                raise RunNotFoundError(f"nbtrack.Api: {e}") from None
            raise

    def projects(self) -> list[str]:
        return [
            p["name"] if p["entity"] == self.entity else f"{p['entity']}/{p['name']}"
            for p in self._get("/api/v1/projects")
        ]

    def _row(self, run: dict[str, Any]) -> dict[str, Any]:
        ident = (run["entity"], run["project"], run["id"])
        if ident not in self._rks:
            self._rks[ident] = len(self._paths)
            self._paths.append(ident)
        row = dict(run)
        row["rk"] = self._rks[ident]
        row["summary"] = {k: _number(v) for k, v in run["summary"].items()}
        row["host"] = row["pid"] = None  # a remote run's state: the server says, by heartbeat
        return row

    def run_rows(
        self, project: str | None = None, run_id: str | None = None
    ) -> list[dict[str, Any]]:
        if project is None:
            names = [self._split(p) for p in self.projects()]
        else:
            names = [self._split(project)]
        rows: list[dict[str, Any]] = []
        for entity, name in names:
            if run_id is not None:
                with contextlib.suppress(RunNotFoundError):
                    rows.append(self._row(self._get(Client.run_path(entity, name, run_id))))
                continue
            found = self._get(
                f"/api/v1/projects/{quote(entity, safe='')}/{quote(name, safe='')}/runs"
            )
            rows.extend(self._row(r) for r in found)
        return rows

    def update_run(self, rk: int, fields_of: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        """Store changed fields of run `rk` (`Api`'s ``run.update()``): `fields_of` makes
        them from the run as the server holds it now; the server's PUT of a run takes them."""
        entity, project, run_id = self._paths[rk]
        row = self._row(self._get(Client.run_path(entity, project, run_id)))
        try:
            self.client.put_run(entity, project, run_id, fields_of(row))
        except Refused as e:
            raise PermissionError(
                f"nbtrack: run.update() of {entity}/{project}/{run_id}: {self.client.host} "
                f"refused it ({e}); the key must be one that may log to {entity}"
            ) from None
        except Unreachable as e:
            raise ConnectionError(f"nbtrack: run.update(): {e}") from None

    def keys(self, rk: int, kind: str = "s") -> list[str]:
        got = self._get(self._base(rk) + "/keys")
        return list(got["scalars" if kind == "s" else "histograms"])

    def series(self, rk: int, key: str) -> tuple[Int64Array, Float64Array]:
        got = self._get(self._base(rk) + f"/series?key={quote(key, safe='')}")
        return _array(got["steps"], "<i8"), _array(got["values"], "<f8")

    def histograms(
        self, rk: int, key: str
    ) -> tuple[Int64Array, Float64Array, Int64Array, list[dict[str, Any]]]:
        got = self._get(self._base(rk) + f"/histograms?key={quote(key, safe='')}")["entries"]
        if not got:
            return (
                np.empty(0, np.int64), np.empty((0, 2)), np.empty((0, 0), np.int64), [],
            )  # fmt: skip
        steps = np.array([e["step"] for e in got], dtype=np.int64)
        ranges = np.array([(float(e["lo"]), float(e["hi"])) for e in got], dtype=np.float64)
        counts = np.stack([_array(e["counts"], "<i8") for e in got])
        stats = [{k: _number(v) for k, v in e["stats"].items()} for e in got]
        return steps, ranges, counts, stats

    def read_since(self, rk: int, seq: int, hist_seq: int = 0) -> tuple[Batch, int, int]:
        """What the run stored after the server's ingest sequences (seq, hist_seq), and the
        new positions: the same contract as `Store.read_since`, in the server's numbering."""
        from nbtrack._values import HistogramEntry

        parts: dict[str, list[tuple[Int64Array, Float64Array]]] = {}
        hists: list[HistogramEntry] = []
        while True:
            got = self._get(self._base(rk) + f"/since?seq={seq}&hist_seq={hist_seq}")
            for s in got["series"]:
                parts.setdefault(s["key"], []).append(
                    (_array(s["steps"], "<i8"), _array(s["values"], "<f8"))
                )
            for h in got["histograms"]:
                for e in h["entries"]:
                    stats = {k: _number(v) for k, v in e["stats"].items()}
                    lo, hi = float(_number(e["lo"])), float(_number(e["hi"]))
                    counts = _array(e["counts"], "<i8")
                    hists.append(HistogramEntry(h["key"], int(e["step"]), lo, hi, counts, stats))
            seq, hist_seq = int(got["seq"]), int(got["hist_seq"])
            if not got["more"]:
                break
        series = {
            k: (np.concatenate([p[0] for p in ps]), np.concatenate([p[1] for p in ps]))
            for k, ps in parts.items()
        }
        return Batch(series, hists), seq, hist_seq

    # -- media --------------------------------------------------------------------------

    def _media_rows(self, rk: int) -> list[MediaRow]:
        """Run `rk`'s media rows, with those the server gained since the last call (each
        row is read from the server once), in seq order."""
        with self._media_lock:
            rows = self._media.setdefault(rk, [])
            seq = rows[-1].seq if rows else 0
            while True:
                got = self._get(self._base(rk) + f"/media?seq={seq}")
                for r in got["rows"]:
                    rows.append(
                        MediaRow(int(r["seq"]), str(r["key"]), int(r["step"]), str(r["kind"]),
                                 r["payload"])
                    )  # fmt: skip
                seq = max(seq, int(got["seq"]))
                if not got["more"] or not got["rows"]:
                    break
            return list(rows)

    def media_since(
        self, rk: int, media_seq: int, max_bytes: int | None = None
    ) -> tuple[list[MediaRow], int]:
        """Media rows of run `rk` after `media_seq` (the logging store's media sequence,
        which the server keeps), in order, and the new position; up to about `max_bytes` of
        payload (at least one row when any): `Store.media_since`'s contract."""
        rows = self._media_rows(rk)
        rows = rows[bisect.bisect_right(rows, media_seq, key=lambda r: r.seq) :]
        if max_bytes is not None:
            out: list[MediaRow] = []
            size = 0
            for r in rows:
                if out and size >= max_bytes:
                    break
                out.append(r)
                size += len(json.dumps(r.payload, separators=(",", ":")))
            rows = out
        return rows, rows[-1].seq if rows else media_seq

    def media(self, rk: int, key: str) -> list[MediaRow]:
        """Every media row of one key of run `rk`, in logging order."""
        return [r for r in self._media_rows(rk) if r.key == key]

    def media_keys(self, rk: int) -> list[tuple[str, str]]:
        """(key, kind) of each media key of run `rk`, in first-logged order."""
        kinds: dict[str, str] = {}
        for r in self._media_rows(rk):
            kinds.setdefault(r.key, r.kind)
        return list(kinds.items())

    def run_media_files(self, rk: int) -> RemoteMediaFiles:
        """The media files of run `rk` (a server serves a file through the runs that name
        it only), downloaded into the media cache as they are read."""
        with self._media_lock:
            files = self._files.get(rk)
            if files is None:
                entity, project, run_id = self._paths[rk]
                base = self._base(rk)

                def fetch(name: str) -> bytes:
                    what = f"media file {name} of run {entity}/{project}/{run_id}"
                    return self._downloads.get(f"{base}/media/{quote(name, safe='')}", what)

                files = self._files[rk] = RemoteMediaFiles(self._media_cache(), fetch)
            return files

    def _media_cache(self) -> Path:
        """The media cache folder (made by the first file kept there, not before); a
        temporary one, removed at `close`, where the user's cache folder cannot be written."""
        if self._cache_root is None:
            root = media_cache_dir()
            there = root / "media"
            while not there.exists() and there.parent != there:
                there = there.parent  # the folder the cache would be made in
            if there.is_dir() and os.access(there, os.W_OK | os.X_OK):
                self._cache_root = root
            else:
                self._temp_cache = tempfile.mkdtemp(prefix="nbtrack-media-")
                self._cache_root = Path(self._temp_cache)
        return self._cache_root

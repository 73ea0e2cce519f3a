"""The read API's source when it reads from a server: `nbtrack.Api(host=...)`.

It answers the calls `nbtrack.api` makes of a local `Store` (runs, keys, series,
histograms), over the server's API, so a `RunRecord` reads the same from either.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from nbtrack._types import Float64Array, Int64Array
from nbtrack._values import Batch
from nbtrack.errors import LoginError, RunNotFoundError
from nbtrack.sync.client import Client, Refused, Unreachable


def _array(text: str | None, dtype: str) -> np.ndarray[Any, Any]:
    if not text:
        return np.empty(0, dtype=dtype)
    return np.frombuffer(base64.b64decode(text), dtype=dtype).astype(dtype[1:], copy=True)


def _number(v: Any) -> Any:
    if isinstance(v, str) and v in ("nan", "inf", "-inf"):
        return float(v)
    return v


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

    def close(self) -> None:
        self.client.close()

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

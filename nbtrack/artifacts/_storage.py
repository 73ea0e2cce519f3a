"""Where artifacts live in the store's root folder, and the only code that writes there.

The layout (all under ``<root>/artifacts/``)::

    objects/<sha256[:2]>/<sha256[2:]>      every file's bytes, once, whatever its name
    objects/tmp/                           blobs being written (renamed into place when whole)
    objects/staging/                       the copies drafts keep of their files until logged
    <project>/<type>/<name>/v<N>.json      a version's manifest: path -> digest and size
    <project>/<type>/<name>/aliases.json   alias -> version number ("latest" among them)
    <project>/<type>/<name>/runs.json      the runs that logged and used each version
    <project>/.locks/<name>.lock           held (fcntl) while a version number is chosen

Blobs are named by their content, so the same file in two artifacts, or in two versions of
one, is stored once; a blob is written under a temporary name and renamed, so a process
killed mid-copy never leaves a partial file under a hash. Every JSON file is replaced by a
rename too: a reader sees the old or the new one, never half of either.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from nbtrack import _json

FORMAT = 1
_CHUNK = 1 << 20
_VERSION_FILE = re.compile(r"^v(\d+)\.json$")
# The characters a folder name keeps as they are; anything else is %-escaped (UTF-8 bytes).
_KEEP = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")


def folder_name(text: str) -> str:
    """`text` as one folder name on any OS: escaped, never hidden, never ``objects``.

    >>> folder_name("my project/2")
    'my%20project%2F2'
    """
    out = "".join(c if c in _KEEP else "".join(f"%{b:02X}" for b in c.encode()) for c in text)
    # A leading dot would hide the folder (and "." and ".." are not folders of their own);
    # "objects" is the blobs' folder beside the projects (any case: macOS folds it).
    if out.startswith(".") or out.lower() == "objects":
        out = f"%{ord(out[0]):02X}{out[1:]}"
    return out


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def copy_hashed(src: Path, dest: Path) -> str:
    """Copy `src` to `dest` (made or replaced) and return the sha256 of what was copied."""
    h = hashlib.sha256()
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        while chunk := fin.read(_CHUNK):
            h.update(chunk)
            fout.write(chunk)
    return h.hexdigest()


def manifest_digest(entries: dict[str, dict[str, Any]]) -> str:
    """The digest of a whole artifact: its paths and their contents, in path order."""
    h = hashlib.sha256(b"nbtrack-artifact-manifest-v1\n")
    for path in sorted(entries):
        h.update(f"{path}:{entries[path]['digest']}\n".encode())
    return h.hexdigest()


def now() -> str:
    """A manifest's time stamps: UTC, to the second, as ISO 8601."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(_json.dumps(data))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _read_json(path: Path, default: Any) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return default


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (and threads: each open file is its own holder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as f:
        if sys.platform == "win32":
            import msvcrt
            import time

            f.seek(0)  # the lock is on the file's first byte, wherever "a" mode put us
            while True:
                try:
                    msvcrt.locking(f.fileno(), msvcrt.LK_LOCK, 1)
                    break
                except OSError:  # LK_LOCK gives up after 10 s: keep waiting
                    time.sleep(0.05)
            try:
                yield
            finally:
                f.seek(0)
                msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)


class ArtifactStore:
    """The artifacts of one store root."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.base = self.root / "artifacts"
        self.objects = self.base / "objects"

    # -- blobs -----------------------------------------------------------------------------

    def blob(self, digest: str) -> Path:
        return self.objects / digest[:2] / digest[2:]

    def put(self, src: Path, digest: str, *, move: bool) -> bool:
        """Keep `src`'s bytes under `digest`; True when a new blob was written.

        `move`: `src` is a private staged copy that may be renamed away. Otherwise `src` is
        the user's file, copied and hashed again: a file that changed since it was added
        is refused rather than stored under the wrong hash.
        """
        dest = self.blob(digest)
        if dest.exists():
            if move:
                src.unlink(missing_ok=True)
            return False
        tmp_dir = self.objects / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = tmp_dir / f"{digest[:16]}-{uuid.uuid4().hex}"
        try:
            moved = False
            if move:
                try:
                    os.replace(src, tmp)
                    moved = True
                except OSError:  # another disk than the staging folder's: copy instead
                    pass
            if not moved:
                got = copy_hashed(src, tmp)
                if got != digest:
                    raise ValueError(
                        f"nbtrack: {src} changed after it was added to the artifact (its "
                        "content is not what was added): add it again, or add it with "
                        "policy='mutable' (the default), which keeps a copy when it is added"
                    )
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            # Read-only: a blob is shared by every artifact holding these bytes.
            os.chmod(tmp, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
            dest.parent.mkdir(parents=True, exist_ok=True)
            # Atomic: two processes storing the same bytes at once both rename whole files.
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
            if move:
                src.unlink(missing_ok=True)
        return True

    def blob_count(self) -> int:
        """How many distinct file contents the store holds."""
        if not self.objects.is_dir():
            return 0
        return sum(
            1
            for d in self.objects.iterdir()
            if d.is_dir() and len(d.name) == 2  # not tmp/ nor staging/
            for f in d.iterdir()
            if f.is_file()
        )

    # -- collections (one artifact name of a project, all its versions) ---------------------

    def project_dir(self, project: str) -> Path:
        return self.base / folder_name(project)

    def collection(self, project: str, type: str, name: str) -> Path:
        return self.project_dir(project) / folder_name(type) / folder_name(name)

    def lock(self, project: str, name: str) -> contextlib.AbstractContextManager[None]:
        """Held while a version of `name` is numbered (whatever its type: a name has one)."""
        return _file_lock(self.project_dir(project) / ".locks" / f"{folder_name(name)}.lock")

    def projects(self) -> list[str]:
        """The projects that hold artifacts (their names as logged)."""
        if not self.base.is_dir():
            return []
        # folder_name escapes "%" too, so unquoting gives the name back exactly.
        return sorted(
            unquote(d.name) for d in self.base.iterdir() if d.is_dir() and d.name != "objects"
        )

    def types_of(self, project: str, name: str) -> list[str]:
        """The types under which `name` is stored in `project` (one, or none)."""
        out = []
        pdir = self.project_dir(project)
        if pdir.is_dir():
            for tdir in sorted(pdir.iterdir()):
                if tdir.name.startswith(".") or not tdir.is_dir():
                    continue
                cdir = tdir / folder_name(name)
                for m in self._manifests_in(cdir):
                    out.append(str(_read_json(m, {}).get("type", tdir.name)))
                    break
        return out

    def names(self, project: str) -> list[tuple[str, str]]:
        """(type, name) of every artifact name of `project`."""
        out = []
        pdir = self.project_dir(project)
        if pdir.is_dir():
            for tdir in sorted(pdir.iterdir()):
                if tdir.name.startswith(".") or not tdir.is_dir():
                    continue
                for cdir in sorted(tdir.iterdir()):
                    for m in self._manifests_in(cdir):
                        data = _read_json(m, {})
                        out.append((str(data["type"]), str(data["name"])))
                        break
        return out

    @staticmethod
    def _manifests_in(cdir: Path) -> list[Path]:
        if not cdir.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in cdir.iterdir() if (m := _VERSION_FILE.match(p.name))]
        return [p for _, p in sorted(found)]

    def versions(self, project: str, type: str, name: str) -> list[int]:
        cdir = self.collection(project, type, name)
        return [int(p.name[1:-5]) for p in self._manifests_in(cdir)]

    def manifest(self, project: str, type: str, name: str, version: int) -> dict[str, Any] | None:
        path = self.collection(project, type, name) / f"v{version}.json"
        data: dict[str, Any] | None = _read_json(path, None)
        return data

    def write_manifest(self, data: dict[str, Any]) -> None:
        cdir = self.collection(data["project"], data["type"], data["name"])
        cdir.mkdir(parents=True, exist_ok=True)
        _write_json(cdir / f"v{data['version']}.json", data)

    def delete_manifest(self, project: str, type: str, name: str, version: int) -> None:
        (self.collection(project, type, name) / f"v{version}.json").unlink(missing_ok=True)

    def aliases(self, project: str, type: str, name: str) -> dict[str, int]:
        data = _read_json(self.collection(project, type, name) / "aliases.json", {})
        return {str(k): int(v) for k, v in data.items()}

    def write_aliases(self, project: str, type: str, name: str, aliases: dict[str, int]) -> None:
        cdir = self.collection(project, type, name)
        cdir.mkdir(parents=True, exist_ok=True)
        _write_json(cdir / "aliases.json", dict(sorted(aliases.items())))

    def runs(self, project: str, type: str, name: str) -> dict[str, dict[str, list[list[str]]]]:
        """``{"logged": {"0": [[project, run id], ...]}, "used": {...}}``."""
        data = _read_json(self.collection(project, type, name) / "runs.json", {})
        return {"logged": dict(data.get("logged", {})), "used": dict(data.get("used", {}))}

    def add_run(
        self, project: str, type: str, name: str, version: int, how: str, run: list[str]
    ) -> None:
        """Record that `run` ([project, id]) logged or used a version; call under `lock`."""
        data = self.runs(project, type, name)
        seen = data[how].setdefault(str(version), [])
        if run not in seen:
            seen.append(run)
            _write_json(self.collection(project, type, name) / "runs.json", data)

    def commit(
        self, draft: dict[str, Any], aliases: list[str], run: list[str] | None
    ) -> tuple[dict[str, Any], dict[str, int]]:
        """Store `draft` (a manifest but for its id, version, digest and times) as the next
        version of its name, give it `aliases`, and return its manifest and the alias table.

        Its blobs must be stored already. As W&B, content equal to the latest version's is
        that version again: no new one is made, the aliases (and tags) move to it.
        """
        project, type, name = draft["project"], draft["type"], draft["name"]
        digest = manifest_digest(draft["entries"])
        with self.lock(project, name):
            others = [t for t in self.types_of(project, name) if t != type]
            if others:
                raise ValueError(
                    f"nbtrack: artifact {name!r} already exists in project {project!r} with "
                    f"type {others[0]!r}; cannot create another with type {type!r}"
                )
            versions = self.versions(project, type, name)
            latest = self.manifest(project, type, name, versions[-1]) if versions else None
            if latest is not None and latest["digest"] == digest:
                data = latest
                if draft["tags"]:
                    data["tags"] = list(dict.fromkeys([*data.get("tags", []), *draft["tags"]]))
                    data["updated_at"] = now()
                    self.write_manifest(data)
            else:
                data = {
                    "format": FORMAT,
                    "id": uuid.uuid4().hex[:24],
                    "version": versions[-1] + 1 if versions else 0,
                    "digest": digest,
                    "created_at": now(),
                    "updated_at": None,
                    **draft,
                }
                self.write_manifest(data)
            n = int(data["version"])
            table = self.aliases(project, type, name)
            for a in aliases:
                table[a] = n
            self.write_aliases(project, type, name, table)
            if run is not None:
                self.add_run(project, type, name, n, "logged", run)
        return data, table

    def all_collections(self) -> Iterator[tuple[str, str, str]]:
        """(project, type, name) of every artifact name of every project."""
        for project in self.projects():
            for type, name in self.names(project):
                yield project, type, name


def remove_tree_files(root: Path, keep: set[str]) -> None:
    """Delete every file under `root` whose relative POSIX path is not in `keep`."""
    for dirpath, _, files in os.walk(root):
        for f in files:
            full = Path(dirpath) / f
            if full.relative_to(root).as_posix() not in keep:
                full.unlink()


def rmtree_quiet(path: str | os.PathLike[str]) -> None:
    shutil.rmtree(path, ignore_errors=True)

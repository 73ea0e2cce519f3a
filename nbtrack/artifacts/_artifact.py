"""`Artifact`: W&B's versioned folder of files, kept in the local store.

A new `Artifact` is a draft: files are added to it (each copied aside as it is added, so
what is logged is what was added), then `run.log_artifact(artifact)` stores it as the next
version of its name in the run's project (`v0`, `v1`, ...) and it can no longer change.
An artifact read back (`run.use_artifact("name:latest")`, `Api().artifact(...)`) is a
logged one: its files come out with `download()`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
import warnings
import weakref
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlparse

from nbtrack._compat import unsupported
from nbtrack.artifacts import _media as media
from nbtrack.artifacts._download import (
    copy_out,
    default_root,
    ref_path,
    verify_blobs,
    verify_folder,
)
from nbtrack.artifacts._manifest import ArtifactManifest, ArtifactManifestEntry
from nbtrack.artifacts._storage import (
    ArtifactStore,
    copy_hashed,
    now,
    remove_tree_files,
    rmtree_quiet,
    sha256_file,
)
from nbtrack.artifacts._validate import (
    ArtifactFinalizedError,
    ArtifactNotFoundError,
    ArtifactNotLoggedError,
    logical_path,
    validate_aliases,
    validate_metadata,
    validate_name,
    validate_tags,
    validate_type,
)

if TYPE_CHECKING:
    from nbtrack.api import RunRecord


class Artifact:
    """A versioned set of files: a dataset, a model, anything a run makes or reads.

    >>> art = nbtrack.Artifact("mnist", type="dataset", metadata={"rows": 60000})
    >>> art.add_dir("data/mnist")
    >>> run.log_artifact(art, aliases=["raw"])       # stored as mnist:v0, aliases raw, latest
    >>> path = run2.use_artifact("mnist:latest").download()   # ./artifacts/mnist:v0

    Identical files are stored once; logging the same content as the latest version again
    makes no new version (it moves the aliases to it), as in W&B.
    """

    def __init__(
        self,
        name: str,
        type: str,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        incremental: bool = False,
        use_as: str | None = None,
        storage_region: str | None = None,
    ) -> None:
        self._name = validate_name(name)
        self._base_name = name
        self._type = validate_type(type, name)
        self._description = description
        self._metadata = validate_metadata(metadata)
        self._incremental = bool(incremental)
        if use_as is not None:
            unsupported("Artifact(use_as=...)", "deprecated in W&B, it changes nothing")
        if storage_region is not None:
            unsupported("Artifact(storage_region=...)", "files stay in the local store")
        self._entries: dict[str, ArtifactManifestEntry] = {}
        self._state = "PENDING"
        self._final = False
        self._store: ArtifactStore | None = None
        self._project: str | None = None
        self._entity: str | None = None
        self._version: int | None = None
        self._id: str | None = None
        self._aliases: list[str] = []
        self._tags: list[str] = []
        self._created_at: str | None = None
        self._updated_at: str | None = None
        self._logged_by: list[str] | None = None  # [project, run id]
        self._staging: Path | None = None
        self._cleanup: weakref.finalize[[Path], Artifact] | None = None
        self._distributed_id: str | None = None

    def __repr__(self) -> str:
        return f"<Artifact {self._name}>"

    # -- identity ---------------------------------------------------------------------------

    def _logged(self, what: str) -> None:
        if self._state == "PENDING":
            raise ArtifactNotLoggedError(
                f"nbtrack: Artifact.{what} is only known once the artifact is logged: "
                "call run.log_artifact(artifact) first"
            )

    def _not_final(self, what: str) -> None:
        if self._final:
            raise ArtifactFinalizedError(
                f"nbtrack: Artifact.{what} on a logged artifact ({self._name}): it can no "
                "longer change; make a new version with artifact.new_draft() or a new Artifact"
            )

    @property
    def id(self) -> str | None:
        """An opaque id of the logged version (None for a draft)."""
        return self._id

    @property
    def entity(self) -> str | None:
        self._logged("entity")
        return self._entity

    @property
    def project(self) -> str:
        self._logged("project")
        assert self._project is not None
        return self._project

    @property
    def name(self) -> str:
        """``"name:v3"`` once logged, the bare name before."""
        return self._name

    @property
    def source_name(self) -> str:
        return self._name

    @property
    def source_entity(self) -> str | None:
        return self.entity

    @property
    def source_project(self) -> str:
        return self.project

    @property
    def source_version(self) -> str:
        return self.version

    @property
    def qualified_name(self) -> str:
        """``entity/project/name:v3`` (``project/name:v3`` for a local run with no entity)."""
        head = f"{self._entity}/" if self._entity else ""
        return f"{head}{self.project}/{self._name}"

    @property
    def source_qualified_name(self) -> str:
        return self.qualified_name

    @property
    def version(self) -> str:
        """``"v0"``, ``"v1"``, ... of a logged artifact."""
        self._logged("version")
        return f"v{self._version}"

    @property
    def type(self) -> str:
        return self._type

    @property
    def state(self) -> str:
        """``"PENDING"`` before it is logged, ``"COMMITTED"`` after, ``"DELETED"``."""
        return self._state

    @property
    def is_link(self) -> bool:
        return False

    @property
    def incremental(self) -> bool:
        return self._incremental

    @property
    def use_as(self) -> str | None:
        return None

    @property
    def distributed_id(self) -> str | None:
        return self._distributed_id

    @distributed_id.setter
    def distributed_id(self, value: str | None) -> None:
        self._distributed_id = value

    @property
    def ttl(self) -> None:
        return None

    @ttl.setter
    def ttl(self, value: Any) -> None:
        if value is not None:
            unsupported("Artifact.ttl", "artifacts never expire in the local store")

    @property
    def url(self) -> str:
        unsupported("Artifact.url", "artifacts have no web page yet")
        return ""

    @property
    def created_at(self) -> str:
        self._logged("created_at")
        assert self._created_at is not None
        return self._created_at

    @property
    def updated_at(self) -> str:
        self._logged("updated_at")
        return self._updated_at or self.created_at

    @property
    def commit_hash(self) -> str:
        self._logged("commit_hash")
        return self.digest[:12]

    @property
    def file_count(self) -> int:
        return len(self._entries)

    # -- what the user may change -------------------------------------------------------------

    @property
    def description(self) -> str | None:
        return self._description

    @description.setter
    def description(self, value: str | None) -> None:
        self._description = value

    @property
    def metadata(self) -> dict[str, Any]:
        return self._metadata

    @metadata.setter
    def metadata(self, value: dict[str, Any]) -> None:
        self._metadata = validate_metadata(value)

    @property
    def aliases(self) -> list[str]:
        """The aliases of this version (``latest`` among them when it is the newest)."""
        self._logged("aliases")
        return self._aliases

    @aliases.setter
    def aliases(self, value: list[str]) -> None:
        self._logged("aliases")
        self._aliases = validate_aliases(value)

    @property
    def tags(self) -> list[str]:
        self._logged("tags")
        return self._tags

    @tags.setter
    def tags(self, value: list[str]) -> None:
        self._logged("tags")
        self._tags = validate_tags(value)

    # -- contents ----------------------------------------------------------------------------

    @property
    def manifest(self) -> ArtifactManifest:
        return ArtifactManifest(self._entries)

    @property
    def digest(self) -> str:
        """The sha256 of the artifact's paths and contents: equal content, equal digest."""
        return self.manifest.digest()

    @property
    def size(self) -> int:
        """The bytes of its files (references included)."""
        return self.manifest.size()

    def _stage_dir(self) -> Path:
        if self._staging is None:
            # Beside the blobs of the current run's store when there is one: logging then
            # renames each staged copy into place instead of copying it a second time (and a
            # large dataset does not fill a small /tmp).
            root = _current_root()
            if root is not None:
                base = ArtifactStore(root).objects / "staging"
                base.mkdir(parents=True, exist_ok=True)
                self._staging = Path(tempfile.mkdtemp(prefix="draft-", dir=base))
            else:
                self._staging = Path(tempfile.mkdtemp(prefix="nbtrack-artifact-"))
            # A draft never logged leaves no copies behind.
            self._cleanup = weakref.finalize(self, rmtree_quiet, self._staging)
        return self._staging

    def _put_entry(self, entry: ArtifactManifestEntry, overwrite: bool) -> ArtifactManifestEntry:
        old = self._entries.get(entry.path)
        if old is not None and not overwrite and old.digest != entry.digest:
            raise ValueError(
                f"nbtrack: the artifact already has a different file at {entry.path!r}: "
                "pass overwrite=True (add_dir: merge=True) to replace it, or remove() it first"
            )
        entry._parent = self
        self._entries[entry.path] = entry
        return entry

    def add_file(
        self,
        local_path: str | os.PathLike[str],
        name: str | None = None,
        is_tmp: bool | None = False,
        skip_cache: bool | None = False,
        policy: str | None = "mutable",
        overwrite: bool = False,
    ) -> ArtifactManifestEntry:
        """Add one file, at `name` inside the artifact (default: its own file name).

        ``policy="mutable"`` (the default) copies it aside now, so changing the file
        afterwards does not change what is logged; ``"immutable"`` reads it when logged.
        """
        self._not_final("add_file")
        del skip_cache  # no cache to skip: the store is the only copy
        policy = policy or "mutable"
        if policy not in ("mutable", "immutable"):
            raise ValueError(f"nbtrack: policy is 'mutable' or 'immutable', not {policy!r}")
        src = Path(local_path)
        if not src.is_file():
            raise ValueError(f"nbtrack: not a file: {os.fspath(local_path)!r}")
        path = logical_path(name if name is not None else src.name)
        if policy == "mutable":
            staged = self._stage_dir() / uuid.uuid4().hex
            digest = copy_hashed(src, staged)
            source, is_staged = staged, True
        else:
            digest = sha256_file(src)
            source, is_staged = src, False
        if is_tmp:
            # As W&B: a temporary file is named after its content, so names never collide.
            p = PurePosixPath(path)
            parts = p.name.split(".")
            parts[0] = digest[:20]
            path = (p.parent / ".".join(parts)).as_posix()
        entry = ArtifactManifestEntry(
            path, digest, source.stat().st_size, source=source, staged=is_staged
        )
        return self._put_entry(entry, overwrite)

    def add_dir(
        self,
        local_path: str | os.PathLike[str],
        name: str | None = None,
        skip_cache: bool | None = False,
        policy: str | None = "mutable",
        merge: bool = False,
    ) -> None:
        """Add every file under a folder, keeping its tree (under `name` when given).

        >>> art.add_dir("data/")              # data/train/a.png -> train/a.png
        """
        self._not_final("add_dir")
        top = Path(local_path)
        if not top.is_dir():
            raise ValueError(f"nbtrack: not a directory: {os.fspath(local_path)!r}")
        prefix = PurePosixPath(logical_path(name)) if name else None
        for dirpath, _, files in os.walk(top, followlinks=True):
            for f in sorted(files):
                full = Path(dirpath) / f
                rel = full.relative_to(top).as_posix()
                path = (prefix / rel).as_posix() if prefix else rel
                self.add_file(
                    full, name=path, skip_cache=skip_cache, policy=policy, overwrite=merge
                )

    @contextlib.contextmanager
    def new_file(
        self, name: str, mode: str = "x", encoding: str | None = None, policy: str = "mutable"
    ) -> Iterator[IO[Any]]:
        """Write a new file straight into the artifact.

        >>> with art.new_file("labels.txt", mode="w") as f:
        ...     f.write("cat\\ndog\\n")
        """
        self._not_final("new_file")
        del policy  # the file is written into our own staging folder either way
        path = logical_path(name)
        target = self._stage_dir() / "new" / uuid.uuid4().hex / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if "x" in mode and path in self._entries:
            raise ValueError(f"nbtrack: the artifact already has a file {name!r}")
        with open(target, mode, encoding=encoding) as f:
            yield f
        digest = sha256_file(target)
        entry = ArtifactManifestEntry(
            path, digest, target.stat().st_size, source=target, staged=True
        )
        self._put_entry(entry, overwrite="x" not in mode)

    def add_reference(
        self,
        uri: ArtifactManifestEntry | str,
        name: str | os.PathLike[str] | None = None,
        checksum: bool = True,
        max_objects: int | None = None,
    ) -> list[ArtifactManifestEntry]:
        """Track files by reference: their bytes stay where they are.

        ``file://`` references are kept (path, size and, with ``checksum``, the sha256 of
        each file, checked again by `download` and `verify`); cloud and web references
        (s3://, gs://, http(s)://, ...) are accepted with a warning and not stored.
        """
        self._not_final("add_reference")
        if isinstance(uri, ArtifactManifestEntry):
            if uri.ref is None:
                raise ValueError("nbtrack: add_reference takes a reference entry or a URI")
            uri = uri.ref
        url = urlparse(str(uri))
        if not url.scheme or len(url.scheme) == 1:  # "C:\\..." parses as scheme "c"
            raise ValueError(
                f"nbtrack: a reference is a URI, not {uri!r}: to reference a local file use "
                "file:///path, or add_file() to store a copy"
            )
        if url.scheme != "file":
            unsupported(
                f"Artifact.add_reference({url.scheme}://...)",
                "only file:// references are kept; this one is not stored",
            )
            return []
        local = ref_path(str(uri))
        limit = max_objects if max_objects is not None else 10_000_000
        out = []
        if local.is_dir():
            files = sorted(p for p in local.rglob("*") if p.is_file())
            if len(files) > limit:
                raise ValueError(
                    f"nbtrack: {uri} holds {len(files)} files, over max_objects={limit}"
                )
            base = PurePosixPath(logical_path(name)) if name else None
            for f in files:
                rel = f.relative_to(local).as_posix()
                path = (base / rel).as_posix() if base else rel
                out.append(self._reference(f, f.as_uri(), path, checksum))
        elif local.is_file():
            path = logical_path(name if name is not None else local.name)
            out.append(self._reference(local, local.as_uri(), path, checksum))
        else:
            # As W&B: a reference to nothing (yet) is kept by its URI alone.
            path = logical_path(name if name is not None else (local.name or "reference"))
            entry = ArtifactManifestEntry(path, str(uri), None, ref=str(uri))
            out.append(self._put_entry(entry, overwrite=False))
        return out

    def _reference(self, local: Path, uri: str, path: str, checksum: bool) -> ArtifactManifestEntry:
        digest = sha256_file(local) if checksum else uri
        entry = ArtifactManifestEntry(path, digest, local.stat().st_size, ref=uri)
        entry.extra["checksum"] = bool(checksum)
        return self._put_entry(entry, overwrite=False)

    def add(self, obj: Any, name: str, overwrite: bool = False) -> ArtifactManifestEntry:
        """Add a media object (`Table`, `Image`, `Video`, `Audio`, `Html`, a plot chart)
        as the file ``<name>.<kind>.json``, with the image and other files it names.

        >>> art.add(nbtrack.Table(columns=["img", "label"], data=rows), "predictions")
        >>> run.log_artifact(art)                       # predictions.table.json, media/...
        >>> nbtrack.use_artifact("preds:latest").get("predictions").data[0][0].numpy()

        It is encoded now (what is logged is what was added, as with `add_file`); the same
        name again is refused unless ``overwrite=True``. Returns the JSON file's entry.
        """
        self._not_final("add")
        if not isinstance(name, str) or not name:
            raise TypeError(
                f"nbtrack: Artifact.add to artifact {self._name!r}: the name is a non-empty "
                f"string, not {name!r}"
            )
        kind = media.kind_of(self._name, name, obj)
        path = logical_path(media.json_path(name, kind))
        others = [
            p for k in media.KINDS if k != kind and (p := media.json_path(name, k)) in self._entries
        ]
        if others and not overwrite:
            raise ValueError(
                f"nbtrack: artifact {self._name!r} already holds media {name!r} "
                f"({others[0]}): pass overwrite=True to replace it, or choose another name"
            )
        kind, staged = media.stage(self._name, name, obj, self._stage_dir() / "media")
        for f in staged:
            old = self._entries.get(f.path)
            if old is not None and old.digest != f.digest and not (overwrite and f.path == path):
                what = f"media {name!r}" if f.path == path else f"a different file at {f.path!r}"
                raise ValueError(
                    f"nbtrack: artifact {self._name!r} already holds {what}: pass "
                    "overwrite=True to replace it, or choose another name"
                )
        replaced = bool(others) or (
            path in self._entries and self._entries[path].digest != staged[-1].digest
        )
        for p in others:
            del self._entries[p]
        entry = None
        for f in staged:
            e = ArtifactManifestEntry(f.path, f.digest, f.size, source=f.source, staged=True)
            entry = self._put_entry(e, overwrite=True)
        assert entry is not None and entry.path == path
        if replaced:
            for p in media.unnamed_files(self._entries):
                del self._entries[p]
        return entry

    def __setitem__(self, name: str, item: Any) -> None:
        self.add(item, name)

    def get(self, name: str) -> Any:
        """The media object added as `name`, read back (None when there is none, as W&B).

        >>> table = run.use_artifact("preds:latest").get("predictions")
        >>> table.columns, table.data[0][0].numpy().shape
        (['img', 'label'], (28, 28))

        A table comes back as a `Table` (image cells as `Image`s of the stored files), an
        image, video, sound or page as one `Image`, `Video`, `Audio` or `Html` (``.path``,
        ``.data``), a chart as a `Plot`. The files are read from the artifact's stored
        blobs (into the store's media folder): no download folder is needed.
        """
        self._logged("get()")
        assert self._store is not None
        found = media.find(self._entries, name)
        if found is None:
            held = media.media_names(self._entries)
            has = f"it holds {', '.join(map(repr, held))}" if held else "it holds no media"
            warnings.warn(
                f"nbtrack: artifact {self._name!r} holds no media {name!r} ({has}); "
                "get() returns None",
                UserWarning,
                stacklevel=2,
            )
            return None
        path, kind = found
        return media.read(self._store, self._name, name, path, kind, self._entries)

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def remove(self, item: str | os.PathLike[str] | ArtifactManifestEntry) -> None:
        """Take a file (or every file under a folder path) out of a draft."""
        self._not_final("remove")
        path = item.path if isinstance(item, ArtifactManifestEntry) else logical_path(item)
        if path in self._entries:
            del self._entries[path]
            return
        under = [p for p in self._entries if p.startswith(path.rstrip("/") + "/")]
        if not under:
            raise FileNotFoundError(f"nbtrack: no such file or directory in the artifact: {path}")
        for p in under:
            del self._entries[p]

    def get_entry(self, name: str | os.PathLike[str]) -> ArtifactManifestEntry:
        path = logical_path(name)
        entry = self._entries.get(path)
        if entry is None:
            raise KeyError(f"Path not contained in artifact: {path}")
        return entry

    def get_path(self, name: str | os.PathLike[str]) -> ArtifactManifestEntry:
        """The old name of `get_entry`."""
        return self.get_entry(name)

    def get_added_local_path_name(self, local_path: str) -> str | None:
        for entry in self._entries.values():
            if entry._source is not None and os.path.samefile(entry._source, local_path):
                return entry.path
        return None

    def files(
        self, names: list[str] | None = None, per_page: int = 50, start: str | None = None
    ) -> list[ArtifactManifestEntry]:
        """The artifact's entries (each with `.name`/`.path`, `.size`, `.digest`, `.download()`)."""
        del per_page, start
        entries = list(self._entries.values())
        if names is not None:
            wanted = set(names)
            entries = [e for e in entries if e.path in wanted]
        return entries

    # -- state -------------------------------------------------------------------------------

    def is_draft(self) -> bool:
        return self._state == "PENDING"

    def finalize(self) -> None:
        self._final = True

    def wait(self, timeout: int | None = None) -> Artifact:
        """Logging is done when `log_artifact` returns: this returns the artifact."""
        del timeout
        self._logged("wait()")
        return self

    def save(self, project: str | None = None, settings: Any = None) -> None:
        """Log a draft with the current run (or a run of its own, job type ``auto``); on a
        logged artifact, store its changed description, metadata, aliases and tags."""
        del settings
        if self._state != "PENDING":
            self._update()
            return
        from nbtrack import _current
        from nbtrack.artifacts import log_artifact

        run = _current.current()
        if run is not None:
            log_artifact(run, self)
            return
        import nbtrack

        # As W&B: outside a run, a run of job type "auto" of its own logs the artifact.
        args: dict[str, Any] = {"project": project, "job_type": "auto"}
        auto = nbtrack.init(**args)
        try:
            log_artifact(auto, self)
        finally:
            auto.finish()

    def new_draft(self) -> Artifact:
        """A draft with this version's files, to change and log as the next version."""
        self._logged("new_draft()")
        draft = Artifact(self._base_name, self._type, self._description, dict(self._metadata))
        assert self._store is not None
        for p, e in self._entries.items():
            source = None if e.ref else self._store.blob(e.digest)
            copy = ArtifactManifestEntry(p, e.digest, e.size, e.ref, source=source)
            copy.extra = dict(e.extra)
            draft._put_entry(copy, overwrite=True)
        return draft

    # -- logging (called by nbtrack.artifacts.log_artifact) --------------------------------------

    def _commit(
        self,
        store: ArtifactStore,
        project: str,
        entity: str | None,
        run: list[str] | None,
        aliases: list[str],
        tags: list[str] | None,
    ) -> None:
        """Store a draft as the next version of its name (or as the latest, if equal)."""
        # Blobs first, outside the lock: they are named by content, so a concurrent log of
        # the same bytes writes the same blob, and a crash after this leaves no manifest.
        for e in self._entries.values():
            if e.ref is None:
                if e._source is None:
                    raise ValueError(f"nbtrack: entry {e.path!r} has no file to store")
                store.put(e._source, e.digest, move=e._staged)
                # The blob is its source now: a log refused below can be tried again.
                e._source, e._staged = store.blob(e.digest), False
        entries = {p: e.to_json() for p, e in self._entries.items()}
        for p, e in self._entries.items():
            if e.extra:
                entries[p]["extra"] = e.extra
        draft = {
            "project": project,
            "entity": entity,
            "type": self._type,
            "name": self._base_name,
            "size": sum(e.size or 0 for e in self._entries.values()),
            "description": self._description,
            "metadata": self._metadata,
            "tags": tags or [],
            "logged_by": run,
            "incremental": self._incremental,
            "entries": entries,
        }
        data, table = store.commit(draft, aliases, run)
        self._load(store, data, table)
        if self._staging is not None:
            rmtree_quiet(self._staging)
            self._staging = None

    def _load(self, store: ArtifactStore, data: dict[str, Any], aliases: dict[str, int]) -> None:
        """Become the logged version that `data` (its manifest) describes."""
        n = int(data["version"])
        self._store = store
        self._project = str(data["project"])
        self._entity = data.get("entity")
        self._type = str(data["type"])
        self._base_name = str(data["name"])
        self._name = f"{data['name']}:v{n}"
        self._version = n
        self._id = str(data["id"])
        self._description = data.get("description")
        self._metadata = dict(data.get("metadata") or {})
        self._tags = list(data.get("tags") or [])
        self._aliases = [a for a, v in sorted(aliases.items()) if v == n]
        self._created_at = data.get("created_at")
        self._updated_at = data.get("updated_at")
        self._logged_by = data.get("logged_by")
        self._incremental = bool(data.get("incremental", False))
        self._entries = {}
        for p, e in data["entries"].items():
            entry = ArtifactManifestEntry(p, e["digest"], e.get("size"), e.get("ref"), parent=self)
            entry.extra = dict(e.get("extra") or {})
            self._entries[p] = entry
        self._state = "COMMITTED"
        self._final = True

    @classmethod
    def _from_store(
        cls, store: ArtifactStore, data: dict[str, Any], aliases: dict[str, int]
    ) -> Artifact:
        art = cls.__new__(cls)
        Artifact.__init__(art, str(data["name"]), str(data["type"]))
        art._load(store, data, aliases)
        return art

    def _where(self) -> tuple[ArtifactStore, str, str, str, int]:
        assert self._store is not None and self._project is not None
        assert self._version is not None
        return self._store, self._project, self._type, self._base_name, self._version

    def _update(self) -> None:
        """Store the changes made to a logged version (description, metadata, tags, aliases)."""
        store, project, type, name, n = self._where()
        with store.lock(project, name):
            data = store.manifest(project, type, name, n)
            if data is None:
                raise ArtifactNotFoundError(f"nbtrack: {self.qualified_name} was deleted")
            data.update(
                description=self._description,
                metadata=self._metadata,
                tags=self._tags,
                updated_at=now(),
            )
            store.write_manifest(data)
            table = {a: v for a, v in store.aliases(project, type, name).items() if v != n}
            newest = store.versions(project, type, name)[-1]
            for a in self._aliases:
                if a == "latest" and n != newest:
                    continue  # latest always names the newest version
                table[a] = n
            if n == newest:
                table["latest"] = n
            store.write_aliases(project, type, name, table)
        self._load(store, data, table)

    # -- getting the files out ----------------------------------------------------------------

    def _default_root(self, include_version: bool = True) -> str:
        return default_root(self._name if include_version else self._base_name)

    def _download_entry(
        self, entry: ArtifactManifestEntry, root: Path, allow_missing_references: bool
    ) -> str | None:
        assert self._store is not None
        return copy_out(self._store, self._name, entry, root, allow_missing_references)

    def download(
        self,
        root: str | os.PathLike[str] | None = None,
        allow_missing_references: bool = False,
        skip_cache: bool | None = None,
        path_prefix: str | None = None,
        multipart: bool | None = None,
    ) -> str:
        """Copy the files out into `root` (default ``./artifacts/<name>:v<N>``) and return it.

        Files already there with the same content are left; other files in `root` are
        kept (`checkout` removes them). Each file's sha256 is checked as it is copied.
        """
        self._logged("download()")
        del skip_cache, multipart
        out = Path(root) if root is not None else Path(self._default_root())
        out.mkdir(parents=True, exist_ok=True)
        for entry in self._entries.values():
            if path_prefix is None or entry.path.startswith(str(path_prefix)):
                self._download_entry(entry, out, allow_missing_references)
        return str(out)

    def checkout(self, root: str | None = None) -> str:
        """Make `root` hold exactly this artifact's files (others in it are deleted)."""
        self._logged("checkout()")
        out = Path(root or self._default_root(include_version=False))
        if out.is_dir():
            remove_tree_files(out, set(self._entries))
        return self.download(root=out)

    def verify(self, root: str | None = None) -> None:
        """Check every stored file against its sha256, then (given `root`, or when the
        default download folder exists) that the folder holds exactly the artifact's files.

        Raises ValueError naming the first file that differs.
        """
        self._logged("verify()")
        assert self._store is not None
        verify_blobs(self._store, self._name, self._entries.values())
        folder = Path(root) if root is not None else Path(self._default_root())
        if root is not None or folder.is_dir():
            verify_folder(folder, self._name, self._entries)

    def file(self, root: str | None = None) -> str:
        """Download an artifact of one file and return that file's path."""
        self._logged("file()")
        if len(self._entries) != 1:
            raise ValueError(
                f"nbtrack: {self._name} holds {len(self._entries)} files, not one: call "
                ".download() to get them all, or .get_entry(name).download()"
            )
        entry = next(iter(self._entries.values()))
        return entry.download(root)

    # -- lineage and the rest ------------------------------------------------------------------

    def logged_by(self) -> RunRecord | None:
        """The run that logged this version first (None when it was logged without one)."""
        self._logged("logged_by()")
        if not self._logged_by:
            return None
        return _record(self, self._logged_by)

    def used_by(self) -> list[RunRecord]:
        """The runs that used this version (`run.use_artifact`)."""
        store, project, type, name, n = self._where()
        used = store.runs(project, type, name)["used"].get(str(n), [])
        return [r for r in (_record(self, u) for u in used) if r is not None]

    def delete(self, delete_aliases: bool = False) -> None:
        """Delete this version from the store. Its blobs stay (other versions may share them).

        As W&B, a version that still has aliases is only deleted with ``delete_aliases=True``.
        """
        store, project, type, name, n = self._where()
        with store.lock(project, name):
            table = store.aliases(project, type, name)
            mine = [a for a, v in table.items() if v == n]
            if mine and not delete_aliases:
                raise ValueError(
                    f"nbtrack: {self._name} has aliases {mine}: delete(delete_aliases=True) "
                    "deletes it with them"
                )
            store.delete_manifest(project, type, name, n)
            table = {a: v for a, v in table.items() if v != n}
            rest = store.versions(project, type, name)
            if rest and "latest" not in table:
                table["latest"] = rest[-1]
            store.write_aliases(project, type, name, table)
        self._state = "DELETED"

    def link(self, target_path: str, aliases: list[str] | None = None) -> Artifact:
        del target_path, aliases
        unsupported("Artifact.link()", "there is no model registry in the local store")
        return self

    def unlink(self) -> None:
        unsupported("Artifact.unlink()", "there is no model registry in the local store")

    def json_encode(self) -> dict[str, Any]:
        return {"_type": "artifactVersion", "id": self.id, "name": self.qualified_name}


def _current_root() -> Path | None:
    """The store root of the current run (None: no run, or a disabled one)."""
    from nbtrack import _current
    from nbtrack._run import Run, link

    run = _current.current()
    if not isinstance(run, Run):
        return None
    return Path(link(run).root)


def _record(art: Artifact, who: list[str]) -> RunRecord | None:
    """The run `who` ([project, id]) from the artifact's store, or None if it is not there."""
    from nbtrack.api import Api
    from nbtrack.errors import RunNotFoundError, StoreNotFoundError

    assert art._store is not None
    try:
        # The Api stays open with the record (a RunRecord reads through it).
        return Api(art._store.root).run(f"{who[0]}/{who[1]}")
    except (RunNotFoundError, StoreNotFoundError):
        return None

"""An artifact's entries: one a file, by its path inside the artifact."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbtrack._compat import unsupported
from nbtrack.artifacts._storage import FORMAT, manifest_digest

if TYPE_CHECKING:
    from nbtrack.artifacts._artifact import Artifact


class ArtifactManifestEntry:
    """One file of an artifact: its path inside it, the sha256 of its bytes, its size.

    A `file://` reference has `ref` set: its bytes stay where they are.
    """

    def __init__(
        self,
        path: str,
        digest: str,
        size: int | None,
        ref: str | None = None,
        *,
        source: Path | None = None,
        staged: bool = False,
        parent: Artifact | None = None,
    ) -> None:
        self.path = path
        self.digest = digest
        self.size = size
        self.ref = ref
        self.extra: dict[str, Any] = {}
        # Where a draft's bytes are until logged: a staged copy (ours) or the user's file.
        self._source = source
        self._staged = staged
        self._parent = parent

    @property
    def name(self) -> str:
        """The path (W&B's `File.name` and the old `ArtifactManifestEntry.name`)."""
        return self.path

    @property
    def local_path(self) -> str | None:
        return None if self._source is None else str(self._source)

    def __repr__(self) -> str:
        ref = f", ref={self.ref!r}" if self.ref else ""
        return f"ArtifactManifestEntry(path={self.path!r}, digest={self.digest!r}, size={self.size!r}{ref})"

    def parent_artifact(self) -> Artifact:
        if self._parent is None:
            raise ValueError(f"nbtrack: entry {self.path!r} belongs to no artifact")
        return self._parent

    def download(self, root: str | os.PathLike[str] | None = None, skip_cache: Any = None) -> str:
        """Copy this one file out to `root` (default: the artifact's download folder)."""
        del skip_cache  # there is no cache between the store and the folder
        art = self.parent_artifact()
        return art._download_entry(self, Path(root or art._default_root()), False) or ""

    def ref_target(self) -> str:
        if self.ref is None:
            raise ValueError("nbtrack: only reference entries have a ref_target()")
        return self.ref

    def ref_url(self) -> str:
        unsupported(
            "ArtifactManifestEntry.ref_url()",
            "references from one artifact to another's entry are not built; add the file again",
        )
        return ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "digest": self.digest, "size": self.size}
        if self.ref is not None:
            out["ref"] = self.ref
        return out


class ArtifactManifest:
    """The entries of an artifact by path (W&B's `artifact.manifest`)."""

    def __init__(self, entries: dict[str, ArtifactManifestEntry]) -> None:
        self.entries = entries

    def digest(self) -> str:
        return manifest_digest({p: {"digest": e.digest} for p, e in self.entries.items()})

    def size(self) -> int:
        return sum(e.size or 0 for e in self.entries.values())

    def get_entry_by_path(self, path: str) -> ArtifactManifestEntry | None:
        return self.entries.get(path)

    def __len__(self) -> int:
        return len(self.entries)

    def to_manifest_json(self) -> dict[str, Any]:
        return {"version": FORMAT, "contents": {p: e.to_json() for p, e in self.entries.items()}}

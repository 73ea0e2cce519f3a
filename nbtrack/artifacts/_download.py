"""Getting an artifact's files out of the store, and checking them against their hashes."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from nbtrack.artifacts._manifest import ArtifactManifestEntry
from nbtrack.artifacts._storage import ArtifactStore, copy_hashed, sha256_file


def artifact_dir() -> str:
    """Where downloads go by default: ``./artifacts``, as W&B (``*_ARTIFACT_DIR`` moves it)."""
    base = (
        os.environ.get("NBTRACK_ARTIFACT_DIR")
        or os.environ.get("WANDB_ARTIFACT_DIR")
        or os.path.join(".", "artifacts")
    )
    return os.path.abspath(base)


def default_root(name: str) -> str:
    """The download folder of `name` (``"name:v3"``)."""
    if os.name == "nt":
        name = name.replace(":", "-")  # as W&B: a colon is not allowed in a Windows path
    return os.path.join(artifact_dir(), name)


def ref_path(uri: str) -> Path:
    """The local path a ``file://`` URI names (``file://dir/x`` read as relative, as W&B)."""
    url = urlparse(uri)
    host = "" if url.netloc in ("", "localhost") else url.netloc
    return Path(url2pathname(host + url.path))


def _checked(entry: ArtifactManifestEntry) -> bool:
    """A stored file always has its hash; a reference only when added with checksum."""
    return entry.ref is None or bool(entry.extra.get("checksum", True))


def copy_out(
    store: ArtifactStore,
    name: str,
    entry: ArtifactManifestEntry,
    root: Path,
    allow_missing_references: bool,
) -> str | None:
    """Copy one entry of artifact `name` to `root` (left alone if already there, equal).

    The bytes are hashed as they are copied, and written under a temporary name renamed
    into place: a damaged blob or a changed reference never reaches `root`.
    """
    dest = root / entry.path
    checked = _checked(entry)
    if dest.is_file() and checked and sha256_file(dest) == entry.digest:
        return str(dest)
    if entry.ref is not None:
        src = ref_path(entry.ref)
        if not src.is_file():
            if allow_missing_references:
                return None
            raise FileNotFoundError(
                f"nbtrack: {name}: the file that reference {entry.path!r} names is gone: "
                f"{entry.ref} (download(allow_missing_references=True) skips it)"
            )
    else:
        src = store.blob(entry.digest)
        if not src.is_file():
            raise FileNotFoundError(
                f"nbtrack: the stored file of {name} at {entry.path!r} is missing from the "
                f"store ({src})"
            )
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
    try:
        got = copy_hashed(src, tmp)
        if checked and got != entry.digest:
            what = "referenced file" if entry.ref else "stored file"
            raise ValueError(
                f"nbtrack: the {what} of {name} at {entry.path!r} changed after it was "
                f"logged (its sha256 is not the manifest's): {src}"
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return str(dest)


def verify_blobs(store: ArtifactStore, name: str, entries: Iterable[ArtifactManifestEntry]) -> None:
    """Raise ValueError at the first stored file whose bytes are not its hash's."""
    for entry in entries:
        if entry.ref is None:
            blob = store.blob(entry.digest)
            if not blob.is_file() or sha256_file(blob) != entry.digest:
                raise ValueError(
                    f"nbtrack: digest mismatch for file {entry.path!r} of {name}: the stored "
                    f"file ({blob}) is damaged or missing"
                )


def verify_folder(folder: Path, name: str, entries: dict[str, ArtifactManifestEntry]) -> None:
    """As W&B's verify: `folder` holds the artifact's files, and nothing else."""
    for dirpath, _, files in os.walk(folder):
        for f in files:
            rel = (Path(dirpath) / f).relative_to(folder).as_posix()
            if rel not in entries:
                raise ValueError(
                    f"nbtrack: found file {rel!r} in {folder}, which is not a member of "
                    f"artifact {name}"
                )
    for entry in entries.values():
        if _checked(entry):
            path = folder / entry.path
            if not path.is_file() or sha256_file(path) != entry.digest:
                raise ValueError(f"nbtrack: digest mismatch for file: {entry.path} in {folder}")

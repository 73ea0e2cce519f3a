"""Media objects in an artifact: W&B's ``artifact.add(table, "predictions")`` and
``artifact.get("predictions")``.

As W&B, a media object is kept as the artifact's file ``<name>.<kind>.json``
(``predictions.table.json``); here that file holds the media contract's payload, the same
JSON a run's media row holds. Every file the payload names (an image's PNG and thumbnail, a
mask, a video, ...) goes into the artifact too, at ``media/<aa>/<file name>``: the layout of
the store's media folder, so a downloaded artifact is a folder `MediaFiles` reads as it is,
and the files are content-addressed blobs like the artifact's others.

`add` encodes at once, on the calling thread: an artifact is made once, not every step, and
what it holds must be known for its digest when it is logged. `get` copies the files it needs
from the artifact's blobs into the store's media folder (each checked against its name, a
file already there left alone) and decodes from there, so it needs no download folder and
works from any store that holds the artifact.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbtrack.media import (
    Audio,
    CustomChart,
    Html,
    Image,
    Molecule,
    Object3D,
    Plot,
    Table,
    Video,
    decode,
    decode_rows,
    file_names,
    prepare,
)

if TYPE_CHECKING:
    from nbtrack.artifacts._manifest import ArtifactManifestEntry
    from nbtrack.artifacts._storage import ArtifactStore
    from nbtrack.store.media_files import MediaFiles

# The media kinds an artifact keeps, in the order `get(name)` looks for ``name.<kind>.json``.
KINDS = ("table", "image", "plot", "video", "audio", "html")
_TYPES: tuple[type, ...] = (Table, Image, CustomChart, Video, Audio, Html)
ACCEPTED = "an nbtrack.Table, Image, Video, Audio, Html or plot chart (nbtrack.plot.*)"
# The folder of `nbtrack.store.media_files` (imported where used: `nbtrack.store` loads
# NumPy and SQLite, which `import nbtrack.artifacts` does not need).
FOLDER = "media"


@dataclass(frozen=True)
class StagedFile:
    """One file `add` wrote into the draft's staging folder: its path in the artifact,
    the sha256 of its bytes, its size, where it is."""

    path: str
    digest: str
    size: int
    source: Path


def json_path(name: str, kind: str) -> str:
    """The artifact file of media `name`: ``predictions.table.json``."""
    return f"{name}.{kind}.json"


def media_path(file_name: str) -> str:
    """Where a media file lives inside the artifact (as in the store's media folder)."""
    return f"{FOLDER}/{file_name[:2]}/{file_name}"


def kind_of(artifact: str, name: str, obj: Any) -> str:
    """The media kind `obj` is kept as; TypeError naming what it is when it is none."""
    if isinstance(obj, (Object3D, Molecule)):
        raise TypeError(
            f"nbtrack: artifact {artifact!r} name {name!r}: a wandb.{type(obj).__name__} is "
            f"not stored by nbtrack; add {ACCEPTED}, or its file with add_file()"
        )
    if isinstance(obj, _TYPES):
        kind: str = obj.kind  # type: ignore[attr-defined]
        return kind
    what = type(obj).__name__
    if isinstance(obj, (list, tuple)):
        what = f"{what} (add one media object a name, or a Table of them)"
    raise TypeError(
        f"nbtrack: artifact {artifact!r} name {name!r} is a {what}, not a media object: "
        f"Artifact.add takes {ACCEPTED}; add files with add_file() or add_dir()"
    )


def _renamed(e: Exception, artifact: str, name: str) -> Exception:
    """`e` (an error of `log()`'s checks, naming the key) naming the artifact and name."""
    text = str(e)
    head = f"nbtrack.log: key {name!r}"
    where = f"nbtrack: artifact {artifact!r} name {name!r}"
    text = text.replace(head, where, 1) if text.startswith(head) else f"{where}: {text}"
    try:
        return type(e)(text)
    except TypeError:  # an exception type that takes other arguments: keep its kind
        return ValueError(text)


def _payload_bytes(payload: dict[str, Any]) -> bytes:
    # The contract spells non-finite numbers as objects already: plain JSON, and the same
    # content gives the same bytes (so an unchanged table makes no new artifact version).
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, sort_keys=True).encode()


def stage(artifact: str, name: str, obj: Any, folder: Path) -> tuple[str, list[StagedFile]]:
    """Encode `obj` into files under `folder`: its kind, and the files to add (the payload
    JSON last). Errors name the artifact and the name."""
    from nbtrack.store.media_files import MediaFiles

    kind = kind_of(artifact, name, obj)
    media = folder / uuid.uuid4().hex
    files = MediaFiles(media)
    try:
        entry = prepare(name, obj)
        entry.step = 0
        encoded = entry.encode(files)
    except (TypeError, ValueError, OSError) as e:
        raise _renamed(e, artifact, name) from None
    out = []
    for f in file_names(encoded.payload):
        path = files.path(f)
        out.append(StagedFile(media_path(f), f[:64], path.stat().st_size, path))
    data = _payload_bytes(encoded.payload)
    media.mkdir(parents=True, exist_ok=True)  # a table of plain cells names no file
    target = media / "payload.json"
    target.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    out.append(StagedFile(json_path(name, kind), digest, len(data), target))
    return kind, out


def find(entries: Mapping[str, Any], name: str) -> tuple[str, str] | None:
    """(path, kind) of media `name` in an artifact's entries: ``name.<kind>.json``, or
    `name` itself when it is such a path. None when the artifact holds no such media."""
    for kind in KINDS:
        if name.endswith(f".{kind}.json") and name in entries:
            return name, kind
    for kind in KINDS:
        path = json_path(name, kind)
        if path in entries:
            return path, kind
    return None


def media_names(entries: Mapping[str, Any]) -> list[str]:
    """The names of the media an artifact holds (``predictions`` of
    ``predictions.table.json``)."""
    out = []
    for path in entries:
        for kind in KINDS:
            if path.endswith(f".{kind}.json"):
                out.append(path[: -len(f".{kind}.json")])
                break
    return out


def unnamed_files(entries: Mapping[str, ArtifactManifestEntry]) -> list[str]:
    """The ``media/<aa>/<file>`` entries of a draft that no media JSON of it names any
    more (after ``add(..., overwrite=True)`` replaced one): they would only fill its
    downloads."""
    from nbtrack.store.media_files import valid_name

    held = {
        p for p in entries
        if p.startswith(f"{FOLDER}/") and valid_name(f := p.rsplit("/", 1)[-1])
        and p == media_path(f)
    }  # fmt: skip
    if not held:
        return []
    named: set[str] = set()
    for path, entry in entries.items():
        if not any(path.endswith(f".{kind}.json") for kind in KINDS):
            continue
        source = entry.local_path
        if source is None:
            return []  # a payload we cannot read: keep every file rather than guess
        named.update(media_path(f) for f in file_names(json.loads(Path(source).read_bytes())))
    return sorted(held - named)


def _read_blob(
    store: ArtifactStore, artifact: str, name: str, entry: ArtifactManifestEntry
) -> bytes:
    blob = store.blob(entry.digest)
    try:
        data = blob.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"nbtrack: artifact {artifact!r} name {name!r}: its file {entry.path!r} is missing "
            f"from the store ({blob})"
        ) from None
    if hashlib.sha256(data).hexdigest() != entry.digest:
        raise ValueError(
            f"nbtrack: artifact {artifact!r} name {name!r}: the stored file {entry.path!r} is "
            f"damaged (its sha256 is not the manifest's): {blob}"
        )
    return data


def read(
    store: ArtifactStore,
    artifact: str,
    name: str,
    path: str,
    kind: str,
    entries: Mapping[str, ArtifactManifestEntry],
) -> Any:
    """The object media `name` (the artifact file `path`, of `kind`) reads back as."""
    from nbtrack.store.media_files import MediaFiles, valid_name

    entry = entries[path]
    if entry.ref is not None:
        raise ValueError(
            f"nbtrack: artifact {artifact!r} name {name!r}: {path!r} is a reference, not a "
            "media object the artifact stores"
        )
    try:
        payload = json.loads(_read_blob(store, artifact, name, entry))
    except json.JSONDecodeError as e:
        raise ValueError(
            f"nbtrack: artifact {artifact!r} name {name!r}: {path!r} is not media JSON ({e})"
        ) from None
    files = MediaFiles(store.root)
    for f in file_names(payload):
        if not valid_name(f):
            raise ValueError(
                f"nbtrack: artifact {artifact!r} name {name!r}: {path!r} names {f!r}, which "
                "is not a media file name"
            )
        if files.exists(f):
            continue  # same name, same bytes (a run's media, or an earlier get)
        held = entries.get(media_path(f))
        if held is None or held.ref is not None:
            raise FileNotFoundError(
                f"nbtrack: artifact {artifact!r} name {name!r}: {path!r} names the file "
                f"{f}, which the artifact does not hold"
            )
        files.put_named(f, _read_blob(store, artifact, name, held))
    try:
        return _decoded(kind, payload, files)
    except (KeyError, TypeError, IndexError, ValueError) as e:
        raise ValueError(
            f"nbtrack: artifact {artifact!r} name {name!r}: {path!r} is not a {kind} payload "
            f"({type(e).__name__}: {e})"
        ) from None


def _table(payload: dict[str, Any], files: MediaFiles) -> Table:
    """A table payload as a `Table` (image cells as Images of the stored files)."""
    columns = [str(c) for c in payload["columns"]]
    return Table(columns=columns, data=decode_rows(payload, files))


def _decoded(kind: str, payload: dict[str, Any], files: MediaFiles) -> Any:
    if kind == "table":
        return _table(payload, files)
    if kind == "plot":
        return Plot(
            payload["plot"],
            payload.get("title"),
            payload["fields"],
            _table(payload["table"], files),
            payload.get("classes"),
        )
    items = decode(kind, payload, files, pandas=False)
    return items[0] if len(items) == 1 else items

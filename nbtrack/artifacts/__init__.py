"""Artifacts, as W&B has them: versioned files a run logs and another run uses.

The run methods (`run.log_artifact`, `run.use_artifact`, `run.log_model`,
`run.use_model`) and ``Api().artifact(...)`` call the functions here; the files live under
the store's root (see `nbtrack.artifacts._storage` for the layout).

>>> run = nbtrack.init(project="mnist", job_type="prepare")
>>> art = nbtrack.Artifact("mnist", type="dataset")
>>> art.add_dir("data/")
>>> run.log_artifact(art)                          # mnist:v0, alias latest
>>> run.finish()
>>> run = nbtrack.init(project="mnist", job_type="train")
>>> folder = run.use_artifact("mnist:latest").download()
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from nbtrack._compat import nearest, unsupported
from nbtrack.artifacts._artifact import Artifact
from nbtrack.artifacts._manifest import ArtifactManifest, ArtifactManifestEntry
from nbtrack.artifacts._storage import ArtifactStore
from nbtrack.artifacts._validate import (
    ArtifactFinalizedError,
    ArtifactNotFoundError,
    ArtifactNotLoggedError,
    resolve_aliases,
    validate_tags,
)

__all__ = [
    "Artifact",
    "ArtifactFinalizedError",
    "ArtifactManifest",
    "ArtifactManifestEntry",
    "ArtifactNotFoundError",
    "ArtifactNotLoggedError",
    "api_artifact",
    "artifact_exists",
    "artifact_versions",
    "artifacts",
    "log_artifact",
    "log_model",
    "logged_artifacts",
    "use_artifact",
    "use_model",
    "used_artifacts",
]

_VERSION = re.compile(r"^v(\d+)$")


# -- the run's side ------------------------------------------------------------------------


def _disabled(run: Any) -> bool:
    from nbtrack._disabled import DisabledRun

    return isinstance(run, DisabledRun) or getattr(run, "disabled", False) is True


def _need_run(run: Any, what: str) -> None:
    if run is None:
        raise RuntimeError(f"nbtrack.{what}: there is no run: call nbtrack.init() first")


def _store_of(run: Any) -> ArtifactStore:
    """The artifacts of the store the run logs to."""
    if _disabled(run):
        from nbtrack.store.db import default_root

        return ArtifactStore(default_root())
    from nbtrack._run import link

    return ArtifactStore(Path(link(run).root))


def _running(run: Any, what: str) -> None:
    from nbtrack._run import link

    if link(run).finished:
        raise RuntimeError(
            f"nbtrack: run {run.path} has finished: {what} needs a run that is still running"
        )


def _who(run: Any) -> list[str]:
    return [str(run.project), str(run.id)]


def _prepare(run: Any, artifact_or_path: Any, name: str | None, type: str | None) -> Artifact:
    if isinstance(artifact_or_path, Artifact):
        return artifact_or_path
    if isinstance(artifact_or_path, (str, os.PathLike)):
        text = os.fspath(artifact_or_path)
        base = os.path.basename(text.rstrip("/\\")) or "artifact"
        art = Artifact(name or f"run-{run.id}-{base}", type or "unspecified")
        if os.path.isfile(text):
            art.add_file(text)
        elif os.path.isdir(text):
            art.add_dir(text)
        elif "://" in text:
            art.add_reference(text)
        else:
            raise ValueError(
                f"nbtrack.log_artifact: {text!r} is neither a file nor a folder (nor a URI "
                "like file:///path)"
            )
        return art
    raise TypeError(
        "nbtrack.log_artifact: pass an nbtrack.Artifact or the path of a file or folder, not "
        f"{_type_name(artifact_or_path)}"
    )


def _type_name(obj: Any) -> str:
    return type(obj).__name__


def log_artifact(
    run: Any,
    artifact_or_path: Artifact | str | os.PathLike[str],
    name: str | None = None,
    type: str | None = None,
    aliases: list[str] | str | None = None,
    tags: list[str] | None = None,
) -> Artifact:
    """Store an artifact (or a file or folder) as the next version of its name in the run's
    project, with `aliases` and ``latest``; return it, logged.

    >>> art = run.log_artifact("model.pt", name="cnn", type="model", aliases=["best"])
    >>> art.version, art.aliases
    ('v0', ['best', 'latest'])
    """
    _need_run(run, "log_artifact")
    alias_list = resolve_aliases(aliases)
    tag_list = validate_tags(tags) if tags is not None else None
    art = _prepare(run, artifact_or_path, name, type)
    if _disabled(run):
        return art
    _running(run, "log_artifact")
    store = _store_of(run)
    if not art.is_draft():
        # Logged already: the run logs that version again (as its output too).
        art.aliases = [*art._aliases, *alias_list]
        if tag_list:
            art.tags = [*art._tags, *tag_list]
        art._update()
        s, project, t, n, v = art._where()
        with s.lock(project, n):
            s.add_run(project, t, n, v, "logged", _who(run))
        return art
    art._commit(
        store, str(run.project), getattr(run, "entity", None), _who(run), alias_list, tag_list
    )
    return art


def use_artifact(
    run: Any,
    artifact_or_name: Artifact | str,
    type: str | None = None,
    aliases: list[str] | str | None = None,
    use_as: str | None = None,
) -> Artifact:
    """Declare an artifact an input of the run and return it (call `.download()` next).

    Names: ``"name"`` (its latest), ``"name:v1"``, ``"name:alias"``, ``"project/name:v0"``,
    ``"entity/project/name:v0"``. A draft `Artifact` is logged first.
    """
    _need_run(run, "use_artifact")
    if use_as is not None:
        unsupported("use_artifact(use_as=...)", "deprecated in W&B, it changes nothing")
    if isinstance(artifact_or_name, str):
        art = _find(_store_of(run), artifact_or_name, str(run.project), type)
    elif isinstance(artifact_or_name, Artifact):
        art = artifact_or_name
        if art.is_draft():
            if _disabled(run):
                return art
            log_artifact(run, art, aliases=aliases)
    else:
        raise ValueError(
            'nbtrack.use_artifact: pass an artifact name (e.g. "pedestrian-dataset:v1"), an '
            f"nbtrack.Artifact, or Api().artifact(...), not {_type_name(artifact_or_name)}"
        )
    if not _disabled(run):
        _running(run, "use_artifact")
        s, project, t, n, v = art._where()
        with s.lock(project, n):
            s.add_run(project, t, n, v, "used", _who(run))
    return art


def log_model(
    run: Any,
    path: str | os.PathLike[str],
    name: str | None = None,
    aliases: list[str] | str | None = None,
) -> Artifact:
    """Log a model file or folder as an artifact of type ``model`` (default name
    ``run-<id>-<file name>``, as W&B)."""
    _need_run(run, "log_model")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"nbtrack.log_model: path is the model's file or folder, not {_type_name(path)} "
            "(save the model first, e.g. torch.save(model.state_dict(), 'model.pt'))"
        )
    return log_artifact(run, path, name=name, type="model", aliases=aliases)


def use_model(run: Any, name: str) -> str:
    """Download a model artifact and return its path (the file itself if it holds one)."""
    _need_run(run, "use_model")
    art = use_artifact(run, name)
    if "model" not in art.type.lower():
        raise ValueError(
            f"nbtrack.use_model: {art.name} has type {art.type!r}: use_model is for artifacts "
            "whose type contains 'model' (use use_artifact(...).download() for others)"
        )
    folder = art.download()
    entries = list(art._entries)
    if len(entries) == 1 and "/" not in entries[0]:
        return os.path.join(folder, entries[0])
    return folder


# -- reading (the Api's side) ------------------------------------------------------------------


def _parse(spec: str) -> tuple[str | None, str | None, str, str]:
    """(entity, project, name, alias-or-version) of a W&B artifact path."""
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"nbtrack: an artifact path is a non-empty string, not {spec!r}")
    head, _, tail = spec.rpartition("/")
    parts = head.split("/") if head else []
    if len(parts) > 2:
        raise ValueError(
            f"nbtrack: artifact path {spec!r} has too many parts: use name:alias, "
            "project/name:alias or entity/project/name:alias"
        )
    name, _, alias = tail.partition(":")
    if not name:
        raise ValueError(f"nbtrack: artifact path {spec!r} names no artifact")
    entity = parts[0] if len(parts) == 2 else None
    project = parts[-1] if parts else None
    return entity, project, name, alias or "latest"


def _not_found(store: ArtifactStore, project: str, name: str) -> ArtifactNotFoundError:
    names = [n for _, n in store.names(project)]
    close = nearest(name, names) if names else None
    hint = f" (did you mean {close!r}?)" if close else ""
    if not names:
        hint = " (it has no artifacts)"
    return ArtifactNotFoundError(
        f"nbtrack: no artifact {name!r} in project {project!r} of {store.root}{hint}"
    )


def _find(
    store: ArtifactStore, spec: str, default_project: str | None, type: str | None
) -> Artifact:
    _, project, name, alias = _parse(spec)
    if project is None:
        project = default_project
    if project is None:
        holders = [p for p in store.projects() if store.types_of(p, name)]
        if len(holders) > 1:
            raise ValueError(
                f"nbtrack: artifact {name!r} is in several projects ({', '.join(holders)}): "
                "name one, as project/name:alias"
            )
        if not holders:
            raise ArtifactNotFoundError(f"nbtrack: no artifact {name!r} in {store.root}")
        project = holders[0]
    types = store.types_of(project, name)
    if not types:
        raise _not_found(store, project, name)
    found_type = types[0]
    if type is not None and type != found_type:
        raise ValueError(
            f"nbtrack: supplied type {type!r} does not match type {found_type!r} of artifact "
            f"{name!r}"
        )
    table = store.aliases(project, found_type, name)
    m = _VERSION.match(alias)
    version = int(m.group(1)) if m else table.get(alias)
    data = None if version is None else store.manifest(project, found_type, name, version)
    if data is None:
        versions = store.versions(project, found_type, name)
        known = ", ".join([*(f"v{v}" for v in versions), *sorted(table)])
        raise ArtifactNotFoundError(
            f"nbtrack: artifact {name!r} of project {project!r} has no version or alias "
            f"{alias!r} (it has: {known})"
        )
    return Artifact._from_store(store, data, table)


def api_artifact(
    api_root: str | os.PathLike[str], name: str, type: str | None = None, project: str | None = None
) -> Artifact:
    """``Api().artifact("project/name:v1")``: a logged version from the store at `api_root`.

    With no project in `name` (nor `project`), the one project that has the name is taken.
    """
    return _find(ArtifactStore(Path(api_root)), name, project, type)


def artifact_exists(
    api_root: str | os.PathLike[str], name: str, type: str | None = None, project: str | None = None
) -> bool:
    try:
        api_artifact(api_root, name, type, project)
    except (ArtifactNotFoundError, ValueError):
        return False
    return True


def artifacts(
    api_root: str | os.PathLike[str],
    type_name: str,
    name: str,
    order: str | None = None,
    tags: list[str] | None = None,
    project: str | None = None,
) -> list[Artifact]:
    """Every version of `name` (``"project/name"``), oldest first (``order="-..."``: newest
    first), as W&B's ``Api().artifacts(type_name, name)``; with `tags`, those holding all."""
    store = ArtifactStore(Path(api_root))
    first = _find(store, name.partition(":")[0] + ":latest", project, type_name)
    s, proj, t, n, _ = first._where()
    table = s.aliases(proj, t, n)
    out = []
    for v in s.versions(proj, t, n):
        data = s.manifest(proj, t, n, v)
        if data is not None:
            art = Artifact._from_store(s, data, table)
            if not tags or set(tags) <= set(art._tags):
                out.append(art)
    if order and order.startswith("-"):
        out.reverse()
    return out


def artifact_versions(
    api_root: str | os.PathLike[str], type_name: str, name: str, project: str | None = None
) -> list[Artifact]:
    """W&B's older name of `artifacts`."""
    return artifacts(api_root, type_name, name, project=project)


def _runs_artifacts(
    store: ArtifactStore, how: str, who: list[str], projects: list[str]
) -> list[Artifact]:
    found: list[tuple[str, str, int, Artifact]] = []
    for project in projects:
        for t, n in store.names(project):
            runs = store.runs(project, t, n)[how]
            versions = [int(v) for v, users in runs.items() if who in users]
            if not versions:
                continue
            table = store.aliases(project, t, n)
            for v in versions:
                data = store.manifest(project, t, n, v)
                if data is not None:
                    art = Artifact._from_store(store, data, table)
                    found.append((str(data.get("created_at")), n, v, art))
    found.sort(key=lambda x: x[:3])
    return [a for *_, a in found]


def logged_artifacts(root: str | os.PathLike[str], project: str, run_id: str) -> list[Artifact]:
    """The artifact versions the run logged (``RunRecord.logged_artifacts()``)."""
    store = ArtifactStore(Path(root))
    return _runs_artifacts(store, "logged", [project, run_id], [project])


def used_artifacts(root: str | os.PathLike[str], project: str, run_id: str) -> list[Artifact]:
    """The artifact versions the run used, from any project (``RunRecord.used_artifacts()``)."""
    store = ArtifactStore(Path(root))
    return _runs_artifacts(store, "used", [project, run_id], store.projects())

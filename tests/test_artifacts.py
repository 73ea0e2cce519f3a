"""Artifacts: W&B's log_artifact / use_artifact workflow, kept in the local store."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pytest

import nbtrack
from nbtrack import _compat
from nbtrack.artifacts import (
    Artifact,
    ArtifactFinalizedError,
    ArtifactNotFoundError,
    ArtifactNotLoggedError,
    api_artifact,
    artifact_exists,
    artifacts,
    log_artifact,
    logged_artifacts,
    use_artifact,
    used_artifacts,
)
from nbtrack.artifacts._storage import ArtifactStore, folder_name


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # download()'s default folder is ./artifacts, as W&B's: keep it in the test's folder.
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("NBTRACK_ARTIFACT_DIR", raising=False)
    monkeypatch.delenv("WANDB_ARTIFACT_DIR", raising=False)
    return work


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    # unsupported() warns once per process: start from none warned.
    monkeypatch.setattr(_compat, "_warned", set())


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def make_dataset(top: Path) -> Path:
    write(top / "train" / "x.csv", "1,2\n3,4\n")
    write(top / "train" / "y.csv", "0\n1\n")
    write(top / "test" / "deep" / "x.csv", "5,6\n")
    write(top / "README.md", "tiny ✓ data\n")
    return top


def tree(top: Path) -> dict[str, bytes]:
    return {
        p.relative_to(top).as_posix(): p.read_bytes() for p in sorted(top.rglob("*")) if p.is_file()
    }


def blobs(store_dir: Path) -> int:
    return ArtifactStore(store_dir).blob_count()


def test_tutorial_flow_dataset_and_model(workdir: Path, store_dir: Path) -> None:
    data = make_dataset(workdir / "data")
    write(workdir / "model.pt", b"\x00weights\xff" * 100)

    run = nbtrack.init(project="mnist", job_type="prepare", display=False)
    art = nbtrack.artifacts.Artifact(
        "mnist-raw", type="dataset", description="four files", metadata={"rows": 3}
    )
    art.add_dir(str(data))
    assert art.state == "PENDING" and art.name == "mnist-raw"
    logged = run.log_artifact(art)
    assert logged is art
    assert art.state == "COMMITTED"
    assert art.name == "mnist-raw:v0" and art.version == "v0"
    assert art.aliases == ["latest"]
    assert art.type == "dataset" and art.project == "mnist"
    assert art.qualified_name.endswith("mnist/mnist-raw:v0")
    assert art.size == sum(len(b) for b in tree(data).values())
    model = run.log_model(str(workdir / "model.pt"))
    assert model.type == "model"
    assert model.name == f"run-{run.id}-model.pt:v0"  # W&B's default name
    producer = run.id
    run.finish()

    run2 = nbtrack.init(project="mnist", job_type="train", display=False)
    used = run2.use_artifact("mnist-raw:latest")
    assert used.version == "v0" and used.metadata == {"rows": 3}
    assert used.description == "four files"
    folder = used.download()
    assert Path(folder) == workdir / "artifacts" / "mnist-raw:v0"
    assert tree(Path(folder)) == tree(data)  # the folder's tree, byte for byte
    path = run2.use_model(f"run-{producer}-model.pt:latest")
    assert Path(path).read_bytes() == (workdir / "model.pt").read_bytes()
    consumer = run2.id
    run2.finish()

    record = used.logged_by()
    assert record is not None and record.id == producer
    assert [r.id for r in used.used_by()] == [consumer]
    names = [a.name for a in logged_artifacts(store_dir, "mnist", producer)]
    assert sorted(names) == sorted(["mnist-raw:v0", f"run-{producer}-model.pt:v0"])
    assert sorted(a.name for a in used_artifacts(store_dir, "mnist", consumer)) == sorted(names)
    assert logged_artifacts(store_dir, "mnist", consumer) == []


def test_versions_and_aliases_move(workdir: Path, store_dir: Path) -> None:
    run = nbtrack.init(project="p", display=False)
    f = write(workdir / "w.bin", b"one")
    a0 = run.log_artifact(str(f), name="weights", type="model", aliases=["best"])
    write(f, b"two")
    a1 = run.log_artifact(str(f), name="weights", type="model")
    write(f, b"three")
    a2 = run.log_artifact(str(f), name="weights", type="model", aliases=["best", "prod"])
    assert [a0.version, a1.version, a2.version] == ["v0", "v1", "v2"]

    def at(alias: str) -> bytes:
        return Path(run.use_artifact(f"weights:{alias}").file()).read_bytes()

    assert at("v0") == b"one" and at("v1") == b"two" and at("v2") == b"three"
    assert at("latest") == b"three" and at("best") == b"three" and at("prod") == b"three"
    assert run.use_artifact("weights").version == "v2"  # no alias: the latest
    assert sorted(run.use_artifact("weights:v2").aliases) == ["best", "latest", "prod"]
    assert run.use_artifact("weights:v0").aliases == []
    assert [a.version for a in artifacts(store_dir, "model", "p/weights")] == ["v0", "v1", "v2"]
    newest_first = artifacts(store_dir, "model", "p/weights", order="-created_at")
    assert [a.version for a in newest_first] == ["v2", "v1", "v0"]

    # A logged version's aliases change with save(); latest stays on the newest.
    old = run.use_artifact("weights:v0")
    old.aliases.append("baseline")
    old.save()
    assert run.use_artifact("weights:baseline").version == "v0"
    assert run.use_artifact("weights:latest").version == "v2"


def test_identical_files_are_stored_once(workdir: Path, store_dir: Path) -> None:
    run = nbtrack.init(project="p", display=False)
    shared = write(workdir / "shared.txt", "the same bytes")
    a = Artifact("first", "dataset")
    a.add_file(str(shared))
    a.add_file(str(shared), name="copy/again.txt")
    b = Artifact("second", "dataset")
    b.add_file(str(shared), name="elsewhere.txt")
    b.add_file(str(write(workdir / "own.txt", "b's own")))
    run.log_artifact(a)
    run.log_artifact(b)
    assert blobs(store_dir) == 2  # three entries of one content, plus one other
    c = Artifact("first", "dataset")  # a new version with one file more
    c.add_file(str(shared))
    c.add_file(str(shared), name="copy/again.txt")
    c.add_file(str(write(workdir / "new.txt", "new")))
    run.log_artifact(c)
    assert c.version == "v1"
    assert blobs(store_dir) == 3
    objects = store_dir / "artifacts" / "objects"
    assert not list((objects / "tmp").iterdir())
    # The drafts' copies were staged beside the blobs (the run's store) and moved into them.
    assert list((objects / "staging").iterdir()) == []


def test_same_content_makes_no_new_version(workdir: Path, store_dir: Path) -> None:
    run = nbtrack.init(project="p", display=False)
    data = make_dataset(workdir / "data")
    first = Artifact("ds", "dataset")
    first.add_dir(str(data))
    run.log_artifact(first)
    again = Artifact("ds", "dataset")
    again.add_dir(str(data))
    assert again.digest == first.digest
    run.log_artifact(again, aliases=["reviewed"])
    assert again.version == "v0"  # as W&B: the latest version, returned again
    assert again.id == first.id
    assert sorted(again.aliases) == ["latest", "reviewed"]
    assert ArtifactStore(store_dir).versions("p", "dataset", "ds") == [0]
    write(data / "README.md", "changed")
    changed = Artifact("ds", "dataset")
    changed.add_dir(str(data))
    run.log_artifact(changed)
    assert changed.version == "v1" and changed.digest != first.digest


CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import nbtrack
    from nbtrack.artifacts import Artifact

    go, out, content = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    run = nbtrack.init(project="race", display=False)
    src = Path(out.parent / (content + ".txt"))
    src.write_text(content)
    arts = []
    for i in range(3):
        a = Artifact("shared", "dataset")
        a.add_file(str(src), name="f.txt")
        a.metadata = {"i": i}
        arts.append(a)
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.01)
    versions = []
    for i, a in enumerate(arts):
        # Each log changes the content, so each is a new version.
        src.write_text(f"{content}-{i}")
        b = Artifact("shared", "dataset")
        b.add_file(str(src), name="f.txt")
        run.log_artifact(b)
        versions.append(b.version)
    run.finish()
    out.write_text(" ".join(versions))
    """
)


def test_two_processes_logging_at_once_get_distinct_versions(
    workdir: Path, store_dir: Path
) -> None:
    script = write(workdir / "child.py", CHILD)
    go = workdir / "go"
    env = {**os.environ, "NBTRACK_DIR": str(store_dir)}
    procs = []
    for who in ("alpha", "beta"):
        procs.append(
            subprocess.Popen(
                [sys.executable, str(script), str(go), str(workdir / f"{who}.out"), who],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    for p in procs:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "ready"
    go.touch()  # both start logging at once
    for p in procs:
        p.communicate(timeout=120)
        assert p.returncode == 0
    got = (workdir / "alpha.out").read_text().split() + (workdir / "beta.out").read_text().split()
    assert sorted(got, key=lambda v: int(v[1:])) == [f"v{i}" for i in range(6)]
    store = ArtifactStore(store_dir)
    assert store.versions("race", "dataset", "shared") == list(range(6))
    assert store.aliases("race", "dataset", "shared")["latest"] == 5


@pytest.mark.parametrize("bad", ["has space", "a/b", "colon:x", "", "é"])
def test_bad_names_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="artifact name"):
        Artifact(bad, "dataset")


def test_bad_types_aliases_and_tags_are_refused(workdir: Path) -> None:
    with pytest.raises(ValueError, match="type"):
        Artifact("x", "a/b")
    with pytest.raises(ValueError, match="reserved"):
        Artifact("x", "wandb-history")
    with pytest.raises(ValueError, match="type"):
        Artifact("x", "")
    with pytest.raises(TypeError, match="string"):
        Artifact(3, "dataset")  # type: ignore[arg-type]
    run = nbtrack.init(project="p", display=False)
    f = write(workdir / "f.txt", "x")
    with pytest.raises(ValueError, match="alias"):
        run.log_artifact(str(f), name="x", type="t", aliases=["a:b"])
    with pytest.raises(ValueError, match="version number"):
        run.log_artifact(str(f), name="x", type="t", aliases=["v3"])
    with pytest.raises(ValueError, match="tag"):
        run.log_artifact(str(f), name="x", type="t", tags=["no/slash"])
    with pytest.raises(ValueError, match="neither a file nor a folder"):
        run.log_artifact(str(workdir / "missing.bin"), type="t")
    with pytest.raises(TypeError, match=r"nbtrack\.Artifact"):
        run.log_artifact(42)
    with pytest.raises(ValueError, match="policy"):
        Artifact("x", "t").add_file(str(f), policy="sometimes")
    with pytest.raises(ValueError, match="not a file"):
        Artifact("x", "t").add_file(str(workdir))
    with pytest.raises(ValueError, match="not a directory"):
        Artifact("x", "t").add_dir(str(f))
    with pytest.raises(ValueError, match="invalid path"):
        Artifact("x", "t").add_file(str(f), name="../escape.txt")
    with pytest.raises(TypeError, match="metadata"):
        Artifact("x", "t", metadata=[1, 2])  # type: ignore[arg-type]
    # Nothing of these reached the store.
    assert ArtifactStore(Path(os.environ["NBTRACK_DIR"])).names("p") == []


def test_one_name_has_one_type(workdir: Path) -> None:
    run = nbtrack.init(project="p", display=False)
    f = write(workdir / "f.txt", "x")
    run.log_artifact(str(f), name="thing", type="dataset")
    art = Artifact("thing", "model")
    art.add_file(str(f))
    with pytest.raises(ValueError, match=r"already exists .* with type 'dataset'"):
        run.log_artifact(art)
    assert art.is_draft()  # a refused log leaves a draft, which can be logged elsewhere
    with pytest.raises(ValueError, match="does not match type 'dataset'"):
        run.use_artifact("thing:latest", type="model")
    assert run.use_artifact("thing:latest", type="dataset").version == "v0"
    run.finish()
    other = nbtrack.init(project="q", display=False)
    assert other.log_artifact(art).name == "thing:v0"
    assert Path(art.file()).read_text() == "x"


def test_cloud_references_warn_and_are_not_stored(workdir: Path, fresh_warnings: None) -> None:
    art = Artifact("refs", "dataset")
    with pytest.warns(UserWarning, match=r"add_reference\(s3://\.\.\.\) is not supported"):
        assert art.add_reference("s3://bucket/data/") == []
    with pytest.warns(UserWarning, match=r"add_reference\(https://\.\.\.\) is not supported"):
        art.add_reference("https://example.com/x.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        art.add_reference("s3://bucket/other")  # once per scheme and process: no second warning
    assert art.manifest.entries == {}
    with pytest.raises(ValueError, match="file:///path"):
        art.add_reference(str(workdir / "plain-path.txt"))


def test_file_references_stay_in_place_and_are_checked(workdir: Path) -> None:
    run = nbtrack.init(project="p", display=False)
    src = make_dataset(workdir / "nfs")
    art = Artifact("by-ref", "dataset")
    entries = art.add_reference(src.as_uri(), name="mounted")
    assert sorted(e.path for e in entries) == sorted(f"mounted/{p}" for p in tree(src))
    run.log_artifact(art)
    store_dir = Path(os.environ["NBTRACK_DIR"])
    assert blobs(store_dir) == 0  # references keep no copy
    out = Path(art.download(root=str(workdir / "out")))
    assert tree(out / "mounted") == tree(src)
    write(src / "train" / "x.csv", "tampered")
    with pytest.raises(ValueError, match="changed after it was logged"):
        art.download(root=str(workdir / "out2"))
    (src / "README.md").unlink()
    got = run.use_artifact("by-ref:v0")
    with pytest.raises(FileNotFoundError, match="allow_missing_references"):
        got.download(root=str(workdir / "out3"), path_prefix="mounted/README")
    got.download(root=str(workdir / "out3"), allow_missing_references=True, path_prefix="mounted/R")
    assert not (workdir / "out3" / "mounted" / "README.md").exists()


def test_verify_catches_a_tampered_blob(workdir: Path, store_dir: Path) -> None:
    run = nbtrack.init(project="p", display=False)
    data = make_dataset(workdir / "data")
    art = Artifact("ds", "dataset")
    art.add_dir(str(data))
    run.log_artifact(art)
    folder = Path(art.download())
    art.verify()  # the store and the default download folder
    art.verify(root=str(folder))
    # A file in the downloaded folder that is not the artifact's:
    write(folder / "stray.txt", "?")
    with pytest.raises(ValueError, match="not a member"):
        art.verify(root=str(folder))
    (folder / "stray.txt").unlink()
    # A blob damaged in the store:
    blob = ArtifactStore(store_dir).blob(art.get_entry("train/x.csv").digest)
    assert not os.access(blob, os.W_OK) or os.geteuid() == 0  # blobs are read-only
    os.chmod(blob, stat.S_IRUSR | stat.S_IWUSR)
    blob.write_text("9,9\n9,9\n")
    with pytest.raises(ValueError, match=r"digest mismatch for file 'train/x\.csv'"):
        run.use_artifact("ds:latest").verify()
    with pytest.raises(ValueError, match="changed after it was logged"):
        art.download(root=str(workdir / "elsewhere"))
    assert not (workdir / "elsewhere" / "train" / "x.csv").exists()


def test_download_keeps_the_tree_and_checkout_makes_it_exact(workdir: Path) -> None:
    run = nbtrack.init(project="p", display=False)
    data = make_dataset(workdir / "data")
    art = Artifact("ds", "dataset")
    art.add_dir(str(data), name="inputs")
    with art.new_file("labels/names.txt", mode="w", encoding="utf-8") as f:
        f.write("cat\ndog\n")
    run.log_artifact(art)
    expected = {f"inputs/{p}": b for p, b in tree(data).items()}
    expected["labels/names.txt"] = b"cat\ndog\n"
    out = Path(art.download(root=str(workdir / "dl")))
    assert tree(out) == expected
    only = Path(art.download(root=str(workdir / "part"), path_prefix="inputs/train"))
    assert sorted(tree(only)) == ["inputs/train/x.csv", "inputs/train/y.csv"]
    assert Path(art.get_entry("labels/names.txt").download()).read_text() == "cat\ndog\n"
    write(out / "extra.txt", "not the artifact's")
    write(out / "inputs" / "README.md", "edited")
    assert tree(Path(art.checkout(root=str(out)))) == expected
    with pytest.raises(ValueError, match="holds 5 files"):
        art.file()


def test_draft_rules(workdir: Path, store_dir: Path) -> None:
    f = write(workdir / "f.txt", "before")
    art = Artifact("d", "dataset")
    with pytest.raises(ArtifactNotLoggedError, match="log_artifact"):
        _ = art.version
    with pytest.raises(ArtifactNotLoggedError):
        art.download()
    with pytest.raises(TypeError, match="not a media object"):
        art.add(object(), "table")  # media objects: tests/test_artifacts_media.py
    art.add_file(str(f))
    art.add_file(str(f))  # the same content at the same path: nothing new
    write(workdir / "other" / "f.txt", "different")
    with pytest.raises(ValueError, match="already has a different file"):
        art.add_file(str(workdir / "other" / "f.txt"))
    art.add_file(str(workdir / "other" / "f.txt"), name="second.txt")
    art.remove("second.txt")
    with pytest.raises(FileNotFoundError):
        art.remove("second.txt")
    write(f, "after")  # policy="mutable": what was added is what is logged
    run = nbtrack.init(project="p", display=False)
    run.log_artifact(art)
    assert Path(art.file()).read_text() == "before"
    with pytest.raises(ArtifactFinalizedError, match="new_draft"):
        art.add_file(str(f))
    # policy="immutable" reads the file when logged: a change in between is refused.
    imm = Artifact("i", "dataset")
    imm.add_file(str(f), policy="immutable")
    write(f, "changed again")
    with pytest.raises(ValueError, match="changed after it was added"):
        run.log_artifact(imm)
    assert ArtifactStore(store_dir).versions("p", "dataset", "i") == []
    assert not list((store_dir / "artifacts" / "objects" / "tmp").iterdir())


def test_new_draft_is_the_next_version(workdir: Path) -> None:
    run = nbtrack.init(project="p", display=False)
    art = Artifact("ds", "dataset")
    art.add_file(str(write(workdir / "a.txt", "a")))
    run.log_artifact(art)
    draft = run.use_artifact("ds:latest").new_draft()
    draft.add_file(str(write(workdir / "b.txt", "b")))
    run.log_artifact(draft)
    assert draft.version == "v1"
    out = Path(run.use_artifact("ds:latest").download())
    assert tree(out) == {"a.txt": b"a", "b.txt": b"b"}


def test_lookup_errors_name_what_exists(workdir: Path, store_dir: Path) -> None:
    run = nbtrack.init(project="p", display=False)
    run.log_artifact(str(write(workdir / "f.txt", "x")), name="dataset", type="dataset")
    with pytest.raises(ArtifactNotFoundError, match="did you mean 'dataset'"):
        run.use_artifact("datset:latest")
    with pytest.raises(ArtifactNotFoundError, match=r"no version or alias 'v7' .*v0, latest"):
        run.use_artifact("dataset:v7")
    with pytest.raises(ArtifactNotFoundError, match="no artifact 'dataset' in project 'other'"):
        run.use_artifact("other/dataset:v0")
    with pytest.raises(ValueError, match="too many parts"):
        run.use_artifact("a/b/c/dataset:v0")
    with pytest.raises(ValueError, match="pass an artifact name"):
        run.use_artifact(3.5)
    with pytest.raises(RuntimeError, match=r"call nbtrack.init\(\) first"):
        use_artifact(None, "dataset:latest")
    with pytest.raises(RuntimeError, match=r"call nbtrack.init\(\) first"):
        log_artifact(None, str(workdir / "f.txt"))
    # W&B's path forms through the Api's function: entity/project/name, project/name, name.
    assert api_artifact(store_dir, "someone/p/dataset:v0").version == "v0"
    assert api_artifact(store_dir, "p/dataset:latest").version == "v0"
    assert api_artifact(store_dir, "dataset").version == "v0"  # its only project
    assert artifact_exists(store_dir, "p/dataset:v0")
    assert not artifact_exists(store_dir, "p/dataset:v1")
    with pytest.raises(ValueError, match="does not match"):
        api_artifact(store_dir, "p/dataset:v0", type="model")


def test_use_before_init_is_a_clear_error() -> None:
    assert nbtrack.run is None
    use = getattr(nbtrack, "use_artifact", None)
    if use is None:
        pytest.skip("nbtrack.use_artifact is not exported yet")
    with pytest.raises(RuntimeError, match=r"nbtrack.init\(\)"):
        use("dataset:latest")


def test_a_finished_run_logs_no_artifact(workdir: Path) -> None:
    run = nbtrack.init(project="p", display=False)
    run.finish()
    with pytest.raises(RuntimeError, match="has finished"):
        log_artifact(run, str(write(workdir / "f.txt", "x")), type="t")


def test_disabled_run_logs_nothing(workdir: Path, store_dir: Path) -> None:
    run = nbtrack.init(project="p", mode="disabled", display=False)
    art = Artifact("d", "dataset")
    art.add_file(str(write(workdir / "f.txt", "x")))
    assert log_artifact(run, art) is art
    assert art.is_draft()
    assert not (store_dir / "artifacts").exists()


def test_save_outside_a_run_logs_with_a_run_of_its_own(workdir: Path, api: nbtrack.Api) -> None:
    art = Artifact("solo", "dataset")
    art.add_file(str(write(workdir / "f.txt", "x")))
    art.save(project="p")
    assert art.version == "v0"
    maker = art.logged_by()
    assert maker is not None and maker.project == "p"
    assert maker.metadata.get("job_type") == "auto"
    assert nbtrack.run is None  # that run is over


def test_save_in_a_run_logs_with_it(workdir: Path) -> None:
    run = nbtrack.init(project="p", display=False)
    art = Artifact("in-run", "dataset")
    art.add_file(str(write(workdir / "f.txt", "x")))
    art.save()
    assert art.wait() is art and art.version == "v0"
    assert [a.name for a in logged_artifacts(Path(os.environ["NBTRACK_DIR"]), "p", run.id)] == [
        "in-run:v0"
    ]


def test_delete_a_version(workdir: Path, store_dir: Path) -> None:
    run = nbtrack.init(project="p", display=False)
    f = write(workdir / "f.txt", "0")
    run.log_artifact(str(f), name="m", type="model")
    write(f, "1")
    v1 = run.log_artifact(str(f), name="m", type="model")
    with pytest.raises(ValueError, match="delete_aliases=True"):
        v1.delete()
    v1.delete(delete_aliases=True)
    assert v1.state == "DELETED"
    assert run.use_artifact("m:latest").version == "v0"  # latest falls back
    with pytest.raises(ArtifactNotFoundError):
        run.use_artifact("m:v1")


def test_folder_names_are_safe() -> None:
    assert folder_name("my project/2") == "my%20project%2F2"
    assert folder_name("..") == "%2E."
    assert folder_name("objects") == "%6Fbjects"
    assert folder_name("100%") == "100%25"


def test_a_project_named_like_the_blob_folder(workdir: Path, store_dir: Path) -> None:
    run = nbtrack.init(project="objects", display=False)
    art = run.log_artifact(str(write(workdir / "f.txt", "x")), name="a", type="t")
    assert run.use_artifact("a:latest").id == art.id
    assert blobs(store_dir) == 1


def test_manifest_records_entries_and_producer(workdir: Path, store_dir: Path) -> None:
    run = nbtrack.init(project="p", display=False)
    f = write(workdir / "f.txt", "hello")
    art = run.log_artifact(str(f), name="doc", type="text")
    manifest = json.loads((store_dir / "artifacts" / "p" / "text" / "doc" / "v0.json").read_text())
    assert manifest["logged_by"] == ["p", run.id]
    assert manifest["entries"]["f.txt"]["size"] == 5
    digest = manifest["entries"]["f.txt"]["digest"]
    assert (store_dir / "artifacts" / "objects" / digest[:2] / digest[2:]).read_text() == "hello"
    assert manifest["digest"] == art.digest
    assert time.strptime(manifest["created_at"], "%Y-%m-%dT%H:%M:%SZ")


def test_the_wandb_quickstart_as_written(workdir: Path) -> None:
    # W&B's "Create, track, and use a dataset artifact" walkthrough, through the module
    # surface (`import nbtrack as wandb`), with its calls unchanged.
    wandb = nbtrack
    if getattr(wandb, "Artifact", None) is None:
        pytest.skip("nbtrack.Artifact is not exported yet")
    write(workdir / "dataset.h5", b"\x89HDF\r\n" + bytes(range(256)))
    run = wandb.init(project="artifacts-example", job_type="upload-dataset")
    artifact = wandb.Artifact(name="bicycle-dataset", type="dataset")
    artifact.add_file(local_path="dataset.h5")
    run.log_artifact(artifact)
    run.finish()

    run = wandb.init(project="artifacts-example", job_type="training")
    artifact = run.use_artifact("bicycle-dataset:latest")
    artifact_dir = artifact.download()
    assert (Path(artifact_dir) / "dataset.h5").read_bytes() == (workdir / "dataset.h5").read_bytes()
    wandb.log_artifact(str(workdir / "dataset.h5"), name="copy", type="dataset")
    assert wandb.use_artifact("copy:v0").file().endswith("dataset.h5")
    run.finish()


def test_read_back_through_the_api(workdir: Path, store_dir: Path) -> None:
    run = nbtrack.init(project="p", display=False)
    run.log_model(str(write(workdir / "m.pt", b"abc")), name="cnn", aliases=["best"])
    producer = run.id
    run.finish()
    with nbtrack.Api(store_dir) as api:
        if not hasattr(api, "artifact"):
            pytest.skip("Api.artifact is not there yet")
        art = api.artifact("p/cnn:best")
        assert art.name == "cnn:v0" and sorted(art.aliases) == ["best", "latest"]
        assert api.artifact("entity/p/cnn:latest").id == art.id
        assert [a.name for a in api.run(f"p/{producer}").logged_artifacts()] == ["cnn:v0"]
        assert Path(art.download(root=str(workdir / "dl"))).joinpath("m.pt").read_bytes() == b"abc"


def test_download_folder_follows_the_environment(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = nbtrack.init(project="p", display=False)
    art = run.log_artifact(str(write(workdir / "f.txt", "x")), name="a", type="t")
    monkeypatch.setenv("WANDB_ARTIFACT_DIR", str(workdir / "wandb-dir"))
    assert Path(art.download()) == workdir / "wandb-dir" / "a:v0"
    monkeypatch.setenv("NBTRACK_ARTIFACT_DIR", str(workdir / "ours"))  # ours wins
    assert Path(art.file()) == workdir / "ours" / "a:v0" / "f.txt"

"""Media on the team server, as a user sees it: `nbtrack sync` carries a run's media rows and
files, a resend stores nothing twice, the files are served byte for byte through the runs
that name them only (the API, the run page, share links), and the live stream sends them as
the dashboard's thinned ``media`` messages, resuming exactly."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image as PILImage

import nbtrack
from nbtrack.store.db import Store
from nbtrack.sync import frames
from tests.server.copies import nbtrack_cli, sync_env
from tests.server.servers import ServerProcess, User

pytestmark = pytest.mark.server


def png(value: int, size: int = 8) -> bytes:
    buf = io.BytesIO()
    PILImage.fromarray(np.full((size, size), value, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def name_of(data: bytes, ext: str = ".png") -> str:
    return hashlib.sha256(data).hexdigest() + ext


def image_payload(*names: str) -> dict[str, Any]:
    items = [
        {"file": n, "thumb": n, "w": 8, "h": 8, "tw": 8, "th": 8, "caption": f"c{i}",
         "masks": [], "boxes": []}
        for i, n in enumerate(names)
    ]  # fmt: skip
    return {"items": items}


def table_payload(name: str) -> dict[str, Any]:
    cell = {"_type": "image", **image_payload(name)["items"][0]}
    return {
        "columns": ["id", "score", "img"],
        "types": ["string", "number", "image"],
        "rows": 2,
        "data": [["a", {"_type": "float", "value": "nan"}, cell], ["é", 0.5, None]],
    }


def rows_body(rows: list[tuple[int, str, int, str, dict[str, Any]]]) -> dict[str, Any]:
    return {
        "rows": [
            {"seq": s, "key": k, "step": st, "kind": kd, "payload": p} for s, k, st, kd, p in rows
        ]
    }


def upload_media(
    server: ServerProcess, user: User, base: str, files: list[bytes], rows: list[Any]
) -> httpx.Response:
    """What the uploader does, by hand: the files, then the rows."""
    for data in files:
        r = server.call("PUT", f"{base}/media/{name_of(data)}", user.key, content=data)
        assert r.status_code == 200, r.text
    return server.call("POST", f"{base}/media", user.key, json=rows_body(rows))


def new_run(server: ServerProcess, user: User, project: str, run_id: str) -> str:
    base = f"/api/v1/runs/{user.name}/{project}/{run_id}"
    r = server.call("PUT", base, user.key, json={"name": run_id})
    assert r.status_code == 200, r.text
    return base


def test_sync_carries_media_and_files_once_and_serves_the_exact_bytes(
    sqlite_server: ServerProcess, tmp_path: Path, store_dir: Path
) -> None:
    user = sqlite_server.create_user("ada")
    run = nbtrack.init(project="media", mode="offline", display=False)
    pixels = [np.full((8, 8), v, np.uint8) for v in (10, 20, 30)]
    for i in range(2):
        # The middle image twice: its file is stored (and sent) once.
        run.log(
            {
                "loss": 1.0 / (i + 1),
                "preds": [nbtrack.Image(pixels[i]), nbtrack.Image(pixels[i + 1])],
            }
        )
    table = nbtrack.Table(columns=["id", "score", "img"])
    table.add_data("a", float("nan"), nbtrack.Image(pixels[0]))
    table.add_data("é", 0.5, None)
    run.log({"table": table})
    run.finish()
    store = Store(store_dir)
    try:
        rk = store.run_row("media", run.id)["rk"]  # type: ignore[index]
        local, _ = store.media_since(rk, 0)
        names = sorted({n for r in local for n in frames.file_names(r.payload)})
        images = [store.media_files.read(n) for n in names]
    finally:
        store.close()
    assert [(r.key, r.kind) for r in local] == [("preds", "image")] * 2 + [("table", "table")]
    assert len(names) == 3
    env = sync_env(sqlite_server, user.key, tmp_path / "config", NBTRACK_DIR=str(store_dir))
    res = nbtrack_cli("sync", "--all", env=env)
    assert res.returncode == 0, res.stderr

    base = f"/api/v1/runs/ada/media/{run.id}"
    got = sqlite_server.call("GET", f"{base}/media", user.key, params={"seq": 0})
    assert got.status_code == 200, got.text
    body = got.json()
    assert not body["more"] and body["seq"] == local[-1].seq
    assert [(r["seq"], r["key"], r["step"], r["kind"], r["payload"]) for r in body["rows"]] == [
        tuple(r) for r in local
    ]
    for data in images:
        f = sqlite_server.call("GET", f"{base}/media/{name_of(data)}", user.key)
        assert f.status_code == 200
        assert f.content == data
        assert f.headers["content-type"] == "image/png"
        assert "immutable" in f.headers["cache-control"]

    db = sqlite_server.db()
    try:
        with db.read() as conn:
            counts = [
                conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar()
                for t in ("media", "media_files", "media_refs")
            ]
    finally:
        db.dispose()
    assert counts == [3, 3, 3]

    # A resend (the cursor lost, or the reply): acknowledged, nothing stored twice.
    ada_key = user.key
    again = sqlite_server.call("POST", f"{base}/media", ada_key, json=rows_body(list(local)))
    assert again.status_code == 200, again.text
    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 3)
    assert again.json()["high_water"]["m"] == local[-1].seq
    # The same seq with other content is refused, not stored.
    changed = [(local[0].seq, "preds", 0, "image", image_payload(names[0]))]
    assert (
        sqlite_server.call("POST", f"{base}/media", ada_key, json=rows_body(changed)).status_code
        == 409
    )
    put = sqlite_server.call(
        "PUT", f"{base}/media/{name_of(images[0])}", ada_key, content=images[0]
    )
    assert put.json()["created"] is False
    # A file's body must be what its name says; and not over the limit.
    wrong = sqlite_server.call("PUT", f"{base}/media/{name_of(images[0])}", ada_key, content=b"x")
    assert wrong.status_code == 400 and "SHA-256" in wrong.json()["detail"]
    big = sqlite_server.call(
        "PUT", f"{base}/media/{'0' * 64}.mp4", ada_key, content=bytes((64 << 20) + 1)
    )
    assert big.status_code == 413
    # Rows that name a file the server lacks wait for it.
    lacking = [(local[-1].seq + 1, "preds", 2, "image", image_payload("f" * 64 + ".png"))]
    r = sqlite_server.call("POST", f"{base}/media", ada_key, json=rows_body(lacking))
    assert r.status_code == 409 and "does not hold" in r.json()["detail"]

    # `nbtrack sync` of the same run again, its cursor reset: still nothing twice.
    store = Store(store_dir)
    try:
        target = store.upload_targets(rk)[0]
        state = store.upload_state(rk, target)
        assert state.media_seq == local[-1].seq and state.done
        store.set_upload_state(rk, target, state._replace(media_seq=0, done=False))
    finally:
        store.close()
    res = nbtrack_cli("sync", run.id, env=env)
    assert res.returncode == 0, res.stderr
    again = sqlite_server.call("GET", f"{base}/media", user.key).json()
    assert len(again["rows"]) == 3


@contextlib.contextmanager
def _page_client(server: ServerProcess, user: User) -> Iterator[httpx.Client]:
    """A browser signed in as `user`: it holds the session cookie."""
    with httpx.Client(base_url=server.url, timeout=30) as c:
        r = c.post("/login", data={"username": user.name, "password": user.password})
        assert r.status_code == 303, r.text
        yield c


def test_media_files_are_served_through_the_runs_that_name_them_only(
    sqlite_server: ServerProcess,
) -> None:
    ada, bob = sqlite_server.create_user("ada"), sqlite_server.create_user("bob")
    a_img, b_img = png(1), png(2)
    a_base = new_run(sqlite_server, ada, "proj", "ra")
    b_base = new_run(sqlite_server, ada, "proj", "rb")
    r = upload_media(
        sqlite_server, ada, a_base, [a_img], [(1, "img", 0, "image", image_payload(name_of(a_img)))]
    )
    assert r.status_code == 200, r.text
    r = upload_media(
        sqlite_server, ada, b_base, [b_img], [(1, "img", 0, "image", image_payload(name_of(b_img)))]
    )
    assert r.status_code == 200, r.text
    a_name, b_name = name_of(a_img), name_of(b_img)

    # The API: the owner through the run that names it; never through another run; never
    # for another user (private project: 404, as if it did not exist).
    assert sqlite_server.call("GET", f"{a_base}/media/{a_name}", ada.key).content == a_img
    assert sqlite_server.call("GET", f"{b_base}/media/{a_name}", ada.key).status_code == 404
    assert sqlite_server.call("GET", f"{a_base}/media/{a_name}", bob.key).status_code == 404
    assert sqlite_server.call("GET", f"{a_base}/media/..%2Fserver.db", ada.key).status_code == 404
    # Writing is the owner's too.
    assert (
        sqlite_server.call("PUT", f"{a_base}/media/{b_name}", bob.key, content=b_img).status_code
        == 404
    )

    # The run page: its boot config names the media URL, which takes the session cookie.
    page_a = "/ada/proj/runs/ra"
    with _page_client(sqlite_server, ada) as c:
        html = c.get(page_a).text
        assert f'data-media-url="{page_a}/media/{{name}}"' in html
        f = c.get(f"{page_a}/media/{a_name}")
        assert f.status_code == 200 and f.content == a_img
        assert "immutable" in f.headers["cache-control"]
        assert c.get(f"/ada/proj/runs/rb/media/{a_name}").status_code == 404
    with _page_client(sqlite_server, bob) as c:
        assert c.get(f"{page_a}/media/{a_name}").status_code == 404
    assert httpx.get(f"{sqlite_server.url}{page_a}/media/{a_name}").status_code == 404

    # A run link serves its run's media, and not another run's.
    link = sqlite_server.call(
        "POST", "/api/v1/shares", ada.key, json={"entity": "ada", "project": "proj", "run_id": "ra"}
    ).json()
    with httpx.Client(base_url=sqlite_server.url, timeout=30) as c:
        opened = c.get(link["path"], follow_redirects=True)
        assert opened.status_code == 200
        slug = opened.url.path.split("/")[2]
        assert f'data-media-url="/v/{slug}/media/{{name}}"' in opened.text
        assert c.get(f"/v/{slug}/media/{a_name}").content == a_img
        assert c.get(f"/v/{slug}/media/{b_name}").status_code == 404
        assert c.get(f"/v/{slug}/runs/rb/media/{b_name}").status_code == 404
    # A project link: each run's own media through that run.
    plink = sqlite_server.call(
        "POST", "/api/v1/shares", ada.key, json={"entity": "ada", "project": "proj", "run_id": None}
    ).json()
    with httpx.Client(base_url=sqlite_server.url, timeout=30) as c:
        slug = c.get(plink["path"], follow_redirects=True).url.path.split("/")[2]
        assert c.get(f"/v/{slug}/runs/rb/media/{b_name}").content == b_img
        assert c.get(f"/v/{slug}/runs/rb/media/{a_name}").status_code == 404
        page = c.get(f"/v/{slug}/runs/rb").text
        assert f'data-media-url="/v/{slug}/runs/rb/media/{{name}}"' in page
    # Without the link's cookie, nothing.
    assert httpx.get(f"{sqlite_server.url}/v/{slug}/runs/rb/media/{b_name}").status_code == 404


def _stream(
    server: ServerProcess,
    key: str,
    path: str,
    last_id: int | None,
    files: list[tuple[str, bytes]] | None = None,
) -> tuple[queue.Queue[tuple[int, list[dict[str, Any]]]], threading.Event]:
    """Read the SSE stream at `path` in a thread: (event id, message contents) per event;
    the media messages' files (name, bytes) go to `files` as they come."""
    out: queue.Queue[tuple[int, list[dict[str, Any]]]] = queue.Queue()
    stop = threading.Event()
    headers = {"Authorization": f"Bearer {key}"}
    if last_id is not None:
        headers["Last-Event-ID"] = str(last_id)

    def read() -> None:
        try:
            with httpx.stream("GET", server.url + path, headers=headers, timeout=None) as r:
                event: dict[str, str] = {}
                for line in r.iter_lines():
                    if stop.is_set():
                        return
                    if not line:
                        if event.get("event") == "messages":
                            msgs = json.loads(event["data"])["messages"]
                            for m in msgs:
                                if files is not None and m["content"]["type"] == "media":
                                    names, bufs = m["content"]["files"], m["buffers"]
                                    files.extend(
                                        (n, base64.b64decode(b))
                                        for n, b in zip(names, bufs, strict=True)
                                    )
                            out.put((int(event["id"]), [m["content"] for m in msgs]))
                        event = {}
                        continue
                    name, _, value = line.partition(":")
                    event[name] = value.strip()
        except httpx.HTTPError:
            if not stop.is_set():
                raise

    threading.Thread(target=read, daemon=True).start()
    return out, stop


def _media_until(
    events: queue.Queue[tuple[int, list[dict[str, Any]]]], done: Any, timeout: float = 60
) -> tuple[int, list[dict[str, Any]]]:
    """Media and media-thin contents until `done(contents so far)`; with the last event id."""
    got: list[dict[str, Any]] = []
    last = 0
    while not done(got):
        last, contents = events.get(timeout=timeout)
        got.extend(c for c in contents if c["type"] in ("media", "media-thin"))
    return last, got


def _entries(contents: list[dict[str, Any]]) -> list[tuple[int, bool]]:
    return [(e["index"], e["keep"]) for c in contents if c["type"] == "media" for e in c["entries"]]


@pytest.fixture
def stream_server(tmp_path: Path) -> Iterator[ServerProcess]:
    # The streams look only when told (no polling): what arrives came by notification.
    s = ServerProcess(tmp_path / "server", env={"NBTRACK_SERVER_POLL_S": "600"}).start()
    yield s
    s.stop()


def test_the_live_stream_sends_media_thinned_and_resumes_exactly(
    stream_server: ServerProcess,
) -> None:
    server = stream_server
    ada = server.create_user("ada")
    base = new_run(server, ada, "proj", "r1")
    img = png(7)
    name = name_of(img)
    first = [(i + 1, "img", i, "image", image_payload(name)) for i in range(10)]
    assert upload_media(server, ada, base, [img], first).status_code == 200

    files: list[tuple[str, bytes]] = []
    events, stop = _stream(server, ada.key, f"{base}/events", None, files)
    last_id, got = _media_until(events, lambda g: len(_entries(g)) >= 10)
    stop.set()
    assert _entries(got) == [(i, True) for i in range(10)]
    media = next(c for c in got if c["type"] == "media")
    assert media["entries"][0]["payload"] == image_payload(name)
    # The thumbnail comes with the entries (the page holds it), once for ten entries.
    assert files == [(name, img)]
    assert media["entries"][3]["step"] == 3 and media["entries"][3]["kind"] == "image"

    # 60 more: 70 entries hold more than 64 kept, so the stride doubles to 2. A stream that
    # resumes from the last event gets the thinning, the new even entries and the newest
    # (odd, off-stride) as a passing one, and nothing it had.
    more = [(i + 1, "img", i, "image", image_payload(name)) for i in range(10, 70)]
    r = server.call("POST", f"{base}/media", ada.key, json=rows_body(more))
    assert r.status_code == 200, r.text
    files.clear()
    events, stop = _stream(server, ada.key, f"{base}/events", last_id, files)
    try:
        _, got = _media_until(events, lambda g: (69, False) in _entries(g))
    finally:
        stop.set()
    assert {"type": "media-thin", "key": "img", "stride": 2} in got
    assert _entries(got) == [(i, True) for i in range(10, 70, 2)] + [(69, False)]
    assert files == [(name, img)]  # once a stream: a page that reconnects may have lost it


def test_a_streams_thumbnails_are_the_runs_own_and_bounded(sqlite_server: ServerProcess) -> None:
    """What a live stream reads to send with its entries: only files the run's rows name,
    in the order asked, up to a byte budget; the rest the page loads by URL."""
    from sqlalchemy import select

    from nbtrack.server import models
    from nbtrack.server.media import RunFiles

    ada = sqlite_server.create_user("ada")
    noise = io.BytesIO()
    PILImage.fromarray(np.random.default_rng(0).integers(0, 256, (16, 16), np.uint8)).save(
        noise, format="PNG"
    )
    imgs = [png(1, size=16), noise.getvalue(), png(3, size=16)]  # the second the largest
    assert len(imgs[1]) > max(len(imgs[0]), len(imgs[2]))
    other = png(9, size=16)
    names = [name_of(i) for i in imgs]
    base = new_run(sqlite_server, ada, "proj", "r1")
    rows = [(1, "img", 0, "image", image_payload(*names))]
    assert upload_media(sqlite_server, ada, base, imgs, rows).status_code == 200
    base2 = new_run(sqlite_server, ada, "proj", "r2")
    rows2 = [(1, "img", 0, "image", image_payload(name_of(other)))]
    assert upload_media(sqlite_server, ada, base2, [other], rows2).status_code == 200
    db = sqlite_server.db()
    try:
        with db.read() as conn:
            r = models.RUNS
            pk = conn.execute(select(r.c.id).where(r.c.run_id == "r1")).scalar_one()
            everything = RunFiles(conn, pk, [*names, name_of(other), "../x.png"])
            assert [everything.read(n) for n in names] == imgs
            for n in (name_of(other), "../x.png"):  # another run's file; not a name at all
                with pytest.raises(FileNotFoundError):
                    everything.read(n)
            two = len(imgs[2]) + len(imgs[0])
            bounded = RunFiles(conn, pk, [names[2], names[1], names[0]], budget=two)
            assert bounded.read(names[2]) == imgs[2]
            with pytest.raises(FileNotFoundError):  # over the budget once 2 was taken
                bounded.read(names[1])
            assert bounded.read(names[0]) == imgs[0]  # it still fits after 1 did not
    finally:
        db.dispose()


def test_media_ingest_and_migration_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    from nbtrack.server.db import current_revision, downgrade, migrate

    server = ServerProcess(tmp_path / "server", pg_url).start()
    try:
        ada = server.create_user("ada")
        assert current_revision(pg_url) == "0003"
        base = new_run(server, ada, "proj", "r1")
        img = png(3)
        rows = [
            (5, "img", 0, "image", image_payload(name_of(img))),
            (9, "t", 0, "table", table_payload(name_of(img))),
        ]
        r = upload_media(server, ada, base, [img], rows)
        assert r.status_code == 200 and r.json()["accepted"] == 2, r.text
        again = server.call("POST", f"{base}/media", ada.key, json=rows_body(rows)).json()
        assert (again["accepted"], again["duplicates"]) == (0, 2)
        assert server.call("GET", f"{base}/media/{name_of(img)}", ada.key).content == img
        got = server.call("GET", f"{base}/media", ada.key, params={"seq": 5}).json()
        assert [r["seq"] for r in got["rows"]] == [9]
        assert got["rows"][0]["payload"] == table_payload(name_of(img))
    finally:
        server.stop()
    downgrade(pg_url, "0002")
    assert current_revision(pg_url) == "0002"
    migrate(pg_url)
    assert current_revision(pg_url) == "0003"


def test_a_media_file_larger_than_the_server_takes_is_left_out_and_the_rest_goes(
    sqlite_server: ServerProcess, tmp_path: Path, store_dir: Path
) -> None:
    from nbtrack.server.media import MAX_FILE_BYTES
    from nbtrack.sync.uploader import MEDIA_FILE_BYTES

    assert MEDIA_FILE_BYTES == MAX_FILE_BYTES  # the uploader knows the server's bound
    user = sqlite_server.create_user("ada")
    page = tmp_path / "big.html"
    page.write_text("<p>" + "x" * MAX_FILE_BYTES + "</p>")
    run = nbtrack.init(project="media", mode="offline", display=False)
    run.log({"page": nbtrack.Html(str(page))})
    run.log({"preds": nbtrack.Image(np.full((8, 8), 7, np.uint8))})
    run.finish()
    env = sync_env(sqlite_server, user.key, tmp_path / "config", NBTRACK_DIR=str(store_dir))
    res = nbtrack_cli("sync", "--all", env=env)
    # Not a failed sync: the page is left out (the server would refuse it for ever), the
    # image after it goes.
    assert res.returncode == 0, res.stderr
    got = sqlite_server.call("GET", f"/api/v1/runs/ada/media/{run.id}/media", user.key)
    assert got.status_code == 200, got.text
    assert [(r["key"], r["step"]) for r in got.json()["rows"]] == [("preds", 1)]
    # ... and says what it left out.
    assert "media 'page' at step 0" in res.stderr and "is not uploaded" in res.stderr

"""Share links from code and the shell, against a real `nbtrack server` process.

`run.share()` on a synced run gives a link that a browser with no cookies opens;
``nbtrack share`` / ``share list`` / ``share revoke`` and ``nbtrack project set-public`` /
``set-private`` do the same from a shell; every way it cannot work says what to do (not
logged in, a disabled run, a run not on the server yet, the server away, a bad duration,
a bad link id). And the kernel's side of the Share button: the grant it hands a view's
page works for exactly that run's links, and is renewed before it ends.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import nbtrack
from nbtrack.sync.credentials import Credentials
from nbtrack.sync.shares import (
    NotLoggedInError,
    NotOnServerError,
    ShareClient,
    ShareError,
    ShareTarget,
    parse_expires,
)
from tests.helpers import child_env
from tests.server.copies import wait_until
from tests.server.servers import ServerProcess, User

pytestmark = pytest.mark.server

# Grants last this long on the module's server, so that a renewal comes within the test.
GRANT_S = 8


@pytest.fixture(scope="module")
def team_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real server for the module (each test makes users of its own)."""
    s = ServerProcess(
        tmp_path_factory.mktemp("server"), env={"NBTRACK_SERVER_GRANT_S": str(GRANT_S)}
    ).start()
    yield s
    s.stop()


_users = iter(range(10_000))


@pytest.fixture
def user(team_server: ServerProcess) -> User:
    return team_server.create_user(f"ada{next(_users)}")


def synced_run(server: ServerProcess, user: User, project: str = "shared") -> Any:
    nbtrack.login(host=server.url, key=user.key)
    run = nbtrack.init(project=project, name="to-share", display=False)
    for i in range(20):
        run.log({"loss": 1 / (i + 1)})
    return run


def opens(url: str) -> int:
    """The status a browser with no cookies gets for `url` (the link swaps the token for a
    cookie and redirects: 303; a dead link: 404)."""
    return httpx.get(url, follow_redirects=False, timeout=30).status_code


# -- durations -------------------------------------------------------------------------------


def test_expires_takes_seconds_or_a_duration() -> None:
    assert parse_expires(None) is None
    assert parse_expires("never") is None
    assert parse_expires(90) == 90.0
    assert parse_expires("30m") == 1800.0
    assert parse_expires("12h") == 43_200.0
    assert parse_expires("7d") == 604_800.0
    assert parse_expires(" 2W ") == 1_209_600.0
    assert parse_expires("45") == 45.0
    for bad in ("7x", "d7", "-1d", "0", 0, -5, float("nan"), float("inf"), True, "1.5.2h"):
        with pytest.raises(ValueError, match="expires"):
            parse_expires(bad)  # type: ignore[arg-type]  # True is refused on purpose


# -- run.share() -----------------------------------------------------------------------------


def test_run_share_gives_a_link_that_opens_with_no_cookies(
    team_server: ServerProcess, user: User
) -> None:
    run = synced_run(team_server, user)
    url = run.share()
    assert url.startswith(f"{team_server.url}/s/nbl_")
    assert opens(url) == 303
    # A week-long project link that shows the host, user and git remote.
    purl = run.share(project=True, expires="7d", show_private=True)
    assert purl != url and opens(purl) == 303
    with ShareClient() as c:
        links = c.list(user.name, "shared")
        run_links = c.list(user.name, "shared", run.id)
    assert [x["scope"] for x in links] == ["project", "run"]  # newest first
    project_link = links[0]
    assert project_link["show_private"] is True and project_link["run_id"] is None
    assert project_link["expires_at"] - time.time() == pytest.approx(7 * 86400, abs=120)
    assert [x["scope"] for x in run_links] == ["run"]
    assert run_links[0]["expires_at"] is None and run_links[0]["show_private"] is False
    # The listing holds no token: it is in the reply that made the link, and nowhere else.
    assert all("token" not in x and "path" not in x for x in links)
    assert all(x["shown"].startswith("nbl_") and x["shown"] not in url[:-8] for x in links)
    run.finish()


def test_run_share_right_after_init_waits_for_the_first_upload(
    team_server: ServerProcess, user: User
) -> None:
    nbtrack.login(host=team_server.url, key=user.key)
    run = nbtrack.init(project="fresh", display=False)
    run.log({"loss": 1.0})
    url = run.share(expires=3600)  # the uploader may not have put the run yet
    assert opens(url) == 303
    run.finish()


def test_what_run_share_says_when_it_cannot(
    team_server: ServerProcess, user: User, tmp_path: Path
) -> None:
    # Not logged in: how to log in.
    run = nbtrack.init(project="local", display=False)
    run.log({"loss": 1.0})
    with pytest.raises(NotLoggedInError, match=r"nbtrack login --host URL") as e:
        run.share()
    assert "nbtrack.login(host=" in str(e.value) and "nbtrack export" in str(e.value)
    # A bad duration: before anything waits.
    with pytest.raises(ValueError, match="not a duration"):
        run.share(expires="7 days")
    run.finish()
    # Logged in after the run started (so it did not sync): the server has no such run.
    nbtrack.login(host=team_server.url, key=user.key)
    with pytest.raises(NotOnServerError, match=rf"nbtrack sync local/{run.id}"):
        run.share()
    # An offline run: the same, and it is a LookupError like every missing run.
    off = nbtrack.init(project="local", mode="offline", display=False)
    off.log({"loss": 1.0})
    with pytest.raises(LookupError, match="is not on"):
        off.share()
    off.finish()
    # A disabled run records nothing: there is nothing to share.
    disabled = nbtrack.init(project="local", mode="disabled")
    with pytest.raises(ShareError, match="disabled"):
        disabled.share()
    disabled.finish()


def test_an_unreachable_server_is_named(team_server: ServerProcess, user: User) -> None:
    gone = Credentials("http://127.0.0.1:1", user.key, user.name, user.name)
    with ShareClient(gone, timeout=5) as c, pytest.raises(ShareError, match=r"cannot reach"):
        c.create(ShareTarget(user.name, "p", "abcd1234"))
    bad_key = Credentials(team_server.url, user.key[:-2] + "xx", user.name, user.name)
    with ShareClient(bad_key) as c, pytest.raises(ShareError, match="refused the API key"):
        c.list(user.name, "p")
    with ShareClient(Credentials(team_server.url, user.key, user.name, user.name)) as c:
        with pytest.raises(NotOnServerError, match="nbtrack sync"):
            c.create(ShareTarget(user.name, "nope", "abcd1234"))
        with pytest.raises(ShareError, match="not a share link's id"):
            c.revoke("nbl_abc")
        with pytest.raises(ShareError, match="no live share link '999999'"):
            c.revoke("999999")


# -- the shell -------------------------------------------------------------------------------


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "nbtrack.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc


def test_nbtrack_share_list_revoke_and_project_visibility(
    team_server: ServerProcess, user: User, store_dir: Path, tmp_path: Path
) -> None:
    import os

    run = synced_run(team_server, user, project="cli")
    run.finish()
    # The child reads the login this test saved, and the same store.
    env = child_env(NBTRACK_CONFIG_DIR=os.environ["NBTRACK_CONFIG_DIR"], NBTRACK_DIR=str(store_dir))

    made = cli("share", f"cli/{run.id}", "--expires", "12h", env=env)
    assert made.returncode == 0, made.stderr
    url = made.stdout.strip()
    assert url.startswith(f"{team_server.url}/s/nbl_") and "\n" not in url
    assert "revoke it with: nbtrack share revoke" in made.stderr
    assert opens(url) == 303
    # By its bare id too, and a project link.
    proj = cli("share", run.id, "--project", env=env)
    assert proj.returncode == 0, proj.stderr
    assert "of project" in proj.stderr

    listed = cli("share", "list", f"cli/{run.id}", env=env)
    assert listed.returncode == 0, listed.stderr
    head, *rows = listed.stdout.strip().splitlines()
    assert head.split()[:5] == ["id", "scope", "of", "created", "expires"]
    assert len(rows) == 1 and rows[0].split()[1] == "run", listed.stdout
    link_id = rows[0].split()[0]
    everything = cli("share", "list", "--project", "cli", env=env)
    assert len(everything.stdout.strip().splitlines()) == 3, everything.stdout
    assert len(cli("share", "list", env=env).stdout.strip().splitlines()) == 3

    revoked = cli("share", "revoke", link_id, env=env)
    assert revoked.returncode == 0, revoked.stderr
    assert opens(url) == 404
    again = cli("share", "revoke", link_id, env=env)
    assert again.returncode == 1 and "no live share link" in again.stderr

    # The project's pages: public, they open signed out; private again, they do not.
    page = f"{team_server.url}/{user.name}/cli/runs/{run.id}"
    assert httpx.get(page, follow_redirects=False, timeout=30).status_code != 200
    pub = cli("project", "set-public", "cli", env=env)
    assert pub.returncode == 0 and "is public" in pub.stdout, pub.stderr
    assert httpx.get(page, follow_redirects=False, timeout=30).status_code == 200
    priv = cli("project", "set-private", f"{user.name}/cli", env=env)
    assert priv.returncode == 0, priv.stderr
    assert httpx.get(page, follow_redirects=False, timeout=30).status_code != 200


def test_nbtrack_share_says_what_is_wrong(
    team_server: ServerProcess, user: User, store_dir: Path, tmp_path: Path
) -> None:
    env = child_env(NBTRACK_CONFIG_DIR=str(tmp_path / "nobody"), NBTRACK_DIR=str(store_dir))
    out = cli("share", "cli/abcd1234", env=env)
    assert out.returncode == 1 and "nbtrack login --host URL" in out.stderr
    env = child_env(
        NBTRACK_CONFIG_DIR=str(tmp_path / "nobody"),
        NBTRACK_DIR=str(store_dir),
        NBTRACK_HOST=team_server.url,
        NBTRACK_API_KEY=user.key,
    )
    bad = cli("share", "cli/abcd1234", "--expires", "soon", env=env)
    assert bad.returncode == 2 and "not a duration" in bad.stderr
    missing = cli("share", "cli/abcd1234", env=env)
    assert missing.returncode == 1
    assert "is not on" in missing.stderr and "nbtrack sync cli/abcd1234" in missing.stderr
    unknown = cli("share", "zzzz9999", env=env)  # a bare id the local store does not have
    assert unknown.returncode == 1 and "no run 'zzzz9999'" in unknown.stderr
    both = cli("share", "cli/abcd1234", "--project", "other", env=env)
    assert both.returncode == 2 and "not both" in both.stderr
    none = cli("share", env=env)
    assert none.returncode == 2 and "which run?" in none.stderr
    gone = cli("project", "set-public", "nothere", env=env)
    assert gone.returncode == 1 and "project" in gone.stderr


# -- the kernel's grant for a view's page -----------------------------------------------------


class Page:
    """What a grant keeper needs of a widget; it keeps what is sent, and lets the test send
    the page's messages."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.handlers: list[Callable[..., Any]] = []

    def send(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        self.sent.append(content)

    def on_msg(self, callback: Callable[..., Any]) -> None:
        self.handlers.append(callback)

    def ask(self) -> None:
        for h in self.handlers:
            h(self, {"type": "share-grant"}, [])

    def grants(self) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["type"] == "share-grant" and m["token"]]


def test_a_view_gets_a_grant_for_its_run_only_and_a_new_one_before_it_ends(
    team_server: ServerProcess, user: User
) -> None:
    from nbtrack._run import link
    from nbtrack.widget._share import for_live_run

    run = synced_run(team_server, user, project="granted")
    page = Page()
    keeper = for_live_run(page, link(run), run.project, run.id)
    assert keeper is not None
    wait_until("a grant", lambda: bool(page.grants()))
    first = page.grants()[0]
    assert first["token"].startswith("nbg_")
    assert (first["server"], first["entity"], first["project"], first["run_id"]) == (
        team_server.url, user.name, "granted", run.id,
    )  # fmt: skip
    assert first["scope"] == "run" and first["expires_at"] > time.time()

    # The page calls the server with it: this run's links, and nothing else.
    bearer = {"Authorization": f"Bearer {first['token']}", "Origin": "http://127.0.0.1:9"}
    body = {"entity": user.name, "project": "granted", "run_id": run.id, "expires_in_s": None}
    made = team_server.call("POST", "/api/v1/shares", json=body, headers=bearer)
    assert made.status_code == 201, made.text
    assert made.headers["access-control-allow-origin"] == "*"
    assert opens(team_server.url + made.json()["path"]) == 303
    other = team_server.call(
        "POST", "/api/v1/shares", json={**body, "run_id": None}, headers=bearer
    )
    assert other.status_code in (401, 403, 404), other.text
    assert team_server.call("GET", "/api/v1/projects", headers=bearer).status_code == 401

    # A reloaded page asks: the grant it had, at once (the kernel is idle here).
    n = len(page.sent)
    page.ask()
    assert page.sent[n:] == [page.grants()[-1]]
    # Renewed before it ends (grants last GRANT_S here): a new token, for the same run.
    wait_until("a renewed grant", lambda: len({g["token"] for g in page.grants()}) >= 2, 60)
    second = page.grants()[-1]
    assert second["token"] != first["token"] and second["run_id"] == run.id
    keeper.stop()
    run.finish()


def test_a_view_of_a_run_that_does_not_sync_is_told_why(
    team_server: ServerProcess, user: User
) -> None:
    from nbtrack._run import link
    from nbtrack.widget._share import for_live_run

    run = nbtrack.init(project="local", display=False)
    page = Page()
    assert for_live_run(page, link(run), run.project, run.id) is None
    (msg,) = page.sent
    assert msg["type"] == "share-grant" and msg["token"] is None
    assert msg["reason"] == "not-logged-in" and "nbtrack login" in msg["message"]
    page.ask()  # asked again: the same answer
    assert page.sent == [msg, msg]
    run.finish()

    nbtrack.login(host=team_server.url, key=user.key)
    late = nbtrack.init(project="local", mode="offline", display=False)
    page = Page()
    assert for_live_run(page, link(late), late.project, late.id) is None
    (msg,) = page.sent
    assert msg["reason"] == "not-synced" and f"nbtrack sync local/{late.id}" in msg["message"]
    assert msg["server"] == team_server.url
    late.finish()


def test_a_compare_view_and_a_shown_run_get_grants_too(
    team_server: ServerProcess, user: User
) -> None:
    from nbtrack.widget._share import for_project, for_stored_run

    run = synced_run(team_server, user, project="viewed")
    run.finish()
    with nbtrack.Api(host=team_server.url) as api:
        records = api.runs("viewed")
        shown = api.run(f"viewed/{run.id}")
    # The compare view: the project's links.
    page = Page()
    keeper = for_project(page, "viewed", records)
    assert keeper is not None
    wait_until("a project grant", lambda: bool(page.grants()))
    grant = page.grants()[0]
    assert (grant["scope"], grant["entity"], grant["project"], grant["run_id"]) == (
        "project", user.name, "viewed", None,
    )  # fmt: skip
    keeper.stop()
    # A stored run's dashboard (nbtrack.show), its entity asked of the server when local.
    with nbtrack.Api() as local:
        stored = local.run(f"viewed/{run.id}")  # a local record: no entity of its own
    assert stored.entity is None
    for rec in (shown, stored):
        page = Page()
        keeper = for_stored_run(page, rec)
        assert keeper is not None
        wait_until("a run grant", lambda page=page: bool(page.grants()))
        grant = page.grants()[0]
        assert (grant["entity"], grant["run_id"]) == (user.name, run.id)
        keeper.stop()

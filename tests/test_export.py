"""The HTML export (``nbtrack/export.py``, ``nbtrack export``): the file asks for nothing
outside itself, holds the store's data (a short run point for point, a long one reduced as
the docs say, histograms thinned), keeps what a run's text holds from becoming markup, and
a missing run or folder is a clear error. The file opening and drawing in Chromium is
``tests/browser/test_export.py``."""

from __future__ import annotations

import base64
import doctest
import json
import math
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nbtrack
from nbtrack import export
from nbtrack.errors import RunNotFoundError
from nbtrack.export import (
    BOKEH_ID,
    BUCKETS,
    DATA_ID,
    WHOLE_POINTS,
    export_project,
    export_run,
    reduce_series,
)
from tests.compare_project import make_project
from tests.export_fixtures import FIXTURE, cases
from tests.helpers import PYTHON, REPO, child_env
from tests.protocol_helpers import decode_points

Messages = list[tuple[dict[str, Any], list[bytes]]]


class _Tags(HTMLParser):
    """Every start tag of a document, and the text of each <script>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._in: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in = dict(attrs)
            self.scripts.append((self._in, ""))

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in = None


def parse(path: Path) -> _Tags:
    p = _Tags()
    p.feed(path.read_text(encoding="utf-8"))
    p.close()
    return p


def embedded(path: Path, ident: str = DATA_ID) -> Messages:
    """The messages of the file's JSON element `ident`, buffers decoded (as page.ts does)."""
    doc = parse(path)
    (text,) = [t for a, t in doc.scripts if a.get("id") == ident]
    return [
        (m["content"], [base64.b64decode(b) for b in m["buffers"]])
        for m in json.loads(text)["messages"]
    ]


def of_type(messages: Messages, kind: str) -> Messages:
    return [(c, b) for c, b in messages if c["type"] == kind]


def file_points(path: Path) -> dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
    out = {}
    for content, buffers in of_type(embedded(path), "points"):
        out.update(decode_points(content, buffers))
    return out


def log_run(**init: Any) -> nbtrack.Run:
    run = nbtrack.init(project="exp", display=False, **init)
    assert isinstance(run, nbtrack.Run)
    return run


def nbtrack_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "nbtrack.cli", *args],
        capture_output=True, text=True, cwd=cwd, env=child_env(), timeout=300,
    )  # fmt: skip


@pytest.fixture
def short_run() -> nbtrack.Run:
    run = log_run(name="short", config={"lr": 1e-3, "layers": [64, 32]}, tags=["cnn"])
    for i in range(50):
        row: dict[str, float] = {"train/loss": 1.0 / (i + 1), "epoch": i / 10}
        if i == 7:
            row["train/loss"] = math.nan
        if i == 8:
            row["train/loss"] = math.inf
        if i % 10 == 9:
            row["val/acc"] = 0.5 + i / 200
        run.log(row, step=i * 3 if i < 40 else 1000 + i)  # irregular steps
    run.finish(quiet=True)
    return run


def test_the_file_asks_for_nothing_outside_itself(short_run: nbtrack.Run, tmp_path: Path) -> None:
    out = export_run(short_run.path, tmp_path / "run.html")
    assert out == (tmp_path / "run.html").absolute() and out.is_file()
    doc = parse(out)
    remote = re.compile(r"^\s*(https?:|//|[a-z][a-z0-9+.-]*://)", re.IGNORECASE)
    for tag, attrs in doc.tags:
        for name in ("src", "href", "action", "srcset", "poster", "data"):
            value = attrs.get(name)
            assert value is None or not remote.match(value), (tag, name, value)
        if tag in ("script", "img", "iframe", "embed", "object", "audio", "video", "source"):
            assert "src" not in attrs, (tag, attrs)  # nothing to fetch, not even from file:
        if tag == "link":
            assert attrs.get("href") == "data:,", attrs  # the icon, so none is asked for
    # The policy is in the file, before any script: no request at all, the file's own
    # script (its nonce) and the blob: scripts it makes (BokehJS) only.
    (csp,) = [
        a for t, a in doc.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    ]
    policy = str(csp["content"])
    nonce = re.fullmatch(r".*script-src 'nonce-([0-9a-f]{32})' blob:;.*", policy)
    assert nonce is not None, policy
    assert policy == export.csp(nonce.group(1))
    assert "default-src 'none'" in policy and "connect-src 'none'" in policy
    modules = [a for a, _ in doc.scripts if a.get("type") == "module"]
    assert modules == [{"type": "module", "nonce": nonce.group(1), "data-nbtrack-bundle": None}]
    others = {a.get("type") for a, _ in doc.scripts} - {"module"}
    assert others == {"application/json"}  # data blocks, which no browser runs
    # The fetch() calls in the bundle take same-origin paths (a server page's), which the
    # policy refuses in a file anyway: none names another site.
    bundle = next(t for a, t in doc.scripts if a.get("type") == "module")
    assert not re.search(r"fetch\(\s*[\"'`](https?:)?//", bundle)
    # A second export is a new nonce.
    again = parse(export_run(short_run.path, tmp_path / "again.html"))
    (csp2,) = [
        a for t, a in again.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert csp2["content"] != policy


def test_a_short_run_reads_back_from_the_file_as_the_store_has_it(
    short_run: nbtrack.Run, tmp_path: Path
) -> None:
    out = export_run(short_run.path, tmp_path / "run.html")
    points = file_points(out)
    with nbtrack.Api() as api:
        rec = api.run(short_run.path)
        keys = rec.keys()
        assert set(points) == {*keys, "_time"}
        for key in keys:
            steps, values = rec.series(key)
            np.testing.assert_array_equal(points[key][0], steps)
            np.testing.assert_array_equal(points[key][1], values)  # NaN and inf too
        t_steps, t_values = rec.series("_time")
        np.testing.assert_array_equal(points["_time"][0], t_steps)
        # float32 seconds since the start, as the dashboard gets them
        np.testing.assert_allclose(points["_time"][1], t_values - rec.created_at, atol=1e-3)
    (header,) = [c for c, _ in of_type(embedded(out), "header")]
    assert (header["id"], header["name"], header["state"]) == (short_run.id, "short", "finished")
    (overview,) = [c for c, _ in of_type(embedded(out), "overview")]
    assert overview["config"] == [["lr", 0.001], ["layers", "[64, 32]"]]
    assert overview["tags"] == ["cnn"]
    (bokeh,) = embedded(out, BOKEH_ID)
    assert bokeh[0]["files"] == ["bokeh.min.js", "bokeh-api.min.js"]
    from nbtrack.widget._bokeh import bokehjs_files

    assert bokeh[1] == list(bokehjs_files()[2])  # the installed package's, gzip
    host = next(a for t, a in parse(out).tags if "data-nbtrack-run" in a)
    assert host["data-run-id"] == short_run.id
    assert (host["data-embedded"], host["data-bokeh"]) == (DATA_ID, BOKEH_ID)


def test_a_long_run_is_reduced_per_bucket_as_the_docs_say(tmp_path: Path) -> None:
    n = 3 * WHOLE_POINTS
    run = log_run(name="long")
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(n)
    for i in range(n):
        row = {"loss": 2.0 * math.exp(-i / 3000) + 0.05 * float(noise[i])}
        if i == 7777:
            row["loss"] = 40.0  # a spike, which the line must still reach
        if 9000 <= i < 9003:
            row["loss"] = math.nan  # a gap, which must stay one
        if i % 100 == 0:
            row["val/loss"] = 1.0 / (i + 1)
        run.log(row)
    run.finish(quiet=True)
    out = export_run(run.path, tmp_path / "long.html")
    points = file_points(out)
    with nbtrack.Api() as api:
        steps, values = api.run(run.path).series("loss")
        val = api.run(run.path).series("val/loss")
    fs, fv = points["loss"]
    assert len(fs) <= 4 * BUCKETS + 1 < n
    assert fs[0] == steps[0] and fs[-1] == steps[-1]  # the line starts and ends where it did
    assert np.all(np.diff(fs) > 0)  # in step order
    idx = np.searchsorted(steps, fs)
    np.testing.assert_array_equal(steps[idx], fs)  # points of the series, not made-up ones
    np.testing.assert_array_equal(values[idx], fv)
    assert np.nanmax(fv) == 40.0 and np.nanmin(fv) == np.nanmin(values)
    assert np.isnan(fv).sum() == 1  # the gap, once
    # Every bucket of the envelope keeps its lowest and highest point.
    from nbtrack._envelope import reduce

    b = reduce(steps, values, BUCKETS)
    kept = dict(zip(fs.tolist(), fv.tolist(), strict=True))
    for lo, hi, vmin, vmax in zip(b.step_lo, b.step_hi, b.vmin, b.vmax, strict=True):
        inside = [v for s, v in kept.items() if lo <= s <= hi and math.isfinite(v)]
        if math.isfinite(vmin):
            assert min(inside) == vmin and max(inside) == vmax
    np.testing.assert_array_equal(reduce_series(steps, values)[0], fs)
    # A series under the limit goes whole, in the same file.
    np.testing.assert_array_equal(points["val/loss"][0], val[0])
    np.testing.assert_array_equal(points["val/loss"][1], val[1])


def test_watch_histograms_are_thinned_evenly_first_and_last_kept(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    run = log_run(name="watched")
    run.watch(model, log="all", log_freq=1)
    steps = 3 * export.HIST_PER_KEY
    for _ in range(steps):
        loss = model(torch.randn(8, 4)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.log({"loss": float(loss.detach())})
    run.finish(quiet=True)
    out = export_run(run.path, tmp_path / "watched.html")
    entries = [e for c, _ in of_type(embedded(out), "histograms") for e in c["entries"]]
    with nbtrack.Api() as api:
        rec = api.run(run.path)
        keys = rec.histogram_keys()
        stored = {k: rec.histograms(k) for k in keys}
    assert len(keys) == 8  # 4 parameters, their weights and gradients
    for key in keys:
        kept = [e["step"] for e in entries if e["key"] == key]
        all_steps = stored[key][0].tolist()
        assert len(all_steps) > export.HIST_PER_KEY
        assert len(kept) == export.HIST_PER_KEY
        assert kept[0] == all_steps[0] and kept[-1] == all_steps[-1]
        gaps = np.diff([all_steps.index(s) for s in kept])
        assert gaps.max() - gaps.min() <= 1  # evenly spaced
    # Each kept entry's counts are the store's, bin for bin.
    hist = of_type(embedded(out), "histograms")
    content, buffers = hist[0]
    e0 = content["entries"][0]
    counts = np.frombuffer(buffers[0], dtype=np.float64)
    s, ranges, stored_counts = stored[e0["key"]]
    i = s.tolist().index(e0["step"])
    np.testing.assert_array_equal(counts, stored_counts[i])
    assert (e0["lo"], e0["hi"]) == (ranges[i][0], ranges[i][1])


def test_markup_in_a_run_stays_text(tmp_path: Path) -> None:
    name = "</script><script>alert(1)</script>"
    notes = "<!-- a note --> <img src=x onerror=alert(2)>"
    run = log_run(name=name, notes=notes, tags=["<b>t</b>"], config={"<k>": "</script>"})
    run.log({"a<b>": 1.0})
    run.finish(quiet=True)
    out = export_run(run.path, tmp_path / "x.html")
    text = out.read_text(encoding="utf-8")
    # The file's own three scripts, each closed once; no comment ever opens.
    assert len(parse(out).scripts) == 3 and text.count("</script>") == 3
    assert "<!--" not in text
    # Outside the bundle (whose own code writes such files, tags and all), no tag of the run's.
    bundle = next(t for a, t in parse(out).scripts if a.get("type") == "module")
    rest = text.replace(bundle, "")
    assert "<img" not in rest and "<b>" not in rest and rest.count("<script") == 3
    assert "<title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in text
    (header,) = [c for c, _ in of_type(embedded(out), "header")]
    (overview,) = [c for c, _ in of_type(embedded(out), "overview")]
    assert header["name"] == name  # the JSON gives it back as it was: the page shows text
    assert overview["notes"] == notes and overview["tags"] == ["<b>t</b>"]
    assert overview["config"] == [["<k>", "</script>"]]
    assert "a<b>" in file_points(out)


def test_script_text_and_json_escape_what_would_end_an_element() -> None:
    assert export.script_text('x = "</SCRIPT>"; y = "<!--"') == 'x = "<\\/SCRIPT>"; y = "\\x3C!--"'
    s = export._json({"a": "</script><!--\u2028"})
    assert "<" not in s and json.loads(s) == {"a": "</script><!--\u2028"}
    for fn in (export.reduce_series, export.thin_histograms, export.script_text):
        runner = doctest.DocTestRunner()
        for t in doctest.DocTestFinder().find(fn, globs={"np": np, **vars(export)}):
            runner.run(t)
        assert runner.failures == 0, fn


def test_a_missing_run_is_an_error_naming_it(short_run: nbtrack.Run, tmp_path: Path) -> None:
    with pytest.raises(RunNotFoundError, match="exp/nope"):
        export_run("exp/nope", tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()
    out = nbtrack_cli("export", "exp/nope", "-o", str(tmp_path / "x.html"), cwd=tmp_path)
    assert out.returncode == 1
    assert "no run 'exp/nope'" in out.stderr and "Traceback" not in out.stderr
    out = nbtrack_cli("export", "--project", "nope", "-o", str(tmp_path / "x.html"), cwd=tmp_path)
    assert out.returncode == 1
    assert "no runs of project 'nope'" in out.stderr and "Traceback" not in out.stderr
    assert not list(tmp_path.glob("*.html")) and not list(tmp_path.glob(".x.html*"))


def test_a_folder_that_does_not_exist_is_an_error_naming_it(
    short_run: nbtrack.Run, tmp_path: Path
) -> None:
    where = tmp_path / "no" / "such"
    with pytest.raises(FileNotFoundError, match=re.escape(str(where))):
        export_run(short_run.path, where / "run.html")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        export_run(short_run.path, tmp_path)
    out = nbtrack_cli("export", short_run.path, "-o", str(where / "run.html"), cwd=tmp_path)
    assert out.returncode == 1
    assert f"the folder {where} does not exist" in out.stderr and "Traceback" not in out.stderr
    assert not where.exists()  # nothing made on the way


def test_the_cli_writes_a_run_and_a_project(short_run: nbtrack.Run, tmp_path: Path) -> None:
    out = nbtrack_cli("export", short_run.id, "-o", "run.html", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    path = (tmp_path / "run.html").resolve()
    assert str(path) in out.stdout and path.as_uri() in out.stdout
    assert of_type(embedded(path), "points")
    out = nbtrack_cli("export", "--project", "exp", "-o", "p.html", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert of_type(embedded(tmp_path / "p.html"), "runs")
    both = nbtrack_cli("export", short_run.id, "--project", "exp", "-o", "p.html", cwd=tmp_path)
    assert both.returncode == 2 and "one of them" in both.stderr


def test_a_project_file_holds_the_compare_views_rows_and_envelopes(
    store_dir: Path, tmp_path: Path
) -> None:
    best = make_project(store_dir, "sweep", n=6, steps=40)
    out = export_project("sweep", tmp_path / "sweep.html")
    messages = embedded(out)
    rows = [r for c, _ in of_type(messages, "runs") for r in c["runs"]]
    assert len(rows) == 6 and best in {r["id"] for r in rows}
    curves = [e for c, _ in of_type(messages, "curves") for e in c["curves"]]
    assert {(e["run"], e["key"]) for e in curves} == {
        (r["id"], k) for r in rows for k in ("train/loss", "val/acc", "_time")
    }
    host = next(a for t, a in parse(out).tags if "data-nbtrack-compare" in a)
    assert (host["data-embedded"], host["data-bokeh"]) == (DATA_ID, BOKEH_ID)
    # Some runs only.
    some = export_project("sweep", tmp_path / "some.html", runs=[best])
    assert [r["id"] for c, _ in of_type(embedded(some), "runs") for r in c["runs"]] == [best]


def test_both_writers_keep_the_same_points_and_steps() -> None:
    # tests/fixtures/export/cases.json is what js/export.test.ts checks the JS writer against.
    assert json.loads(FIXTURE.read_text()) == json.loads(json.dumps(cases())), (
        "run python -m tests.export_fixtures"
    )
    ts = (REPO / "js" / "export.ts").read_text()
    assert f'const PAGE_STYLE = "{export._PAGE_STYLE}";' in ts
    for name in ("WHOLE_POINTS", "BUCKETS", "HIST_PER_KEY", "HIST_TOTAL", "HIST_MIN",
                 "FORMAT_VERSION", "DATA_ID", "BOKEH_ID"):  # fmt: skip
        value = getattr(export, name)
        assert f"export const {name} = {json.dumps(value)};" in ts, name

"""``%%nbtrack`` and ``%nbtrack`` in a real kernel: the run ends with the cell, as it ended."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import nbtrack
from nbtrack._runs_table import format_runs_table
from nbtrack.magic import MagicArgsError, parse_args, parse_value
from tests.kernel_helpers import WIDGET_VIEW, Kernel, kernel


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1e-3", 0.001),
        ("10", 10),
        ("-3", -3),
        ("1_000", 1000),
        (".5", 0.5),
        ("true", True),
        ("False", False),
        ("none", None),
        ("[64,128]", [64, 128]),
        ('{"a":1}', {"a": 1}),
        ("[not json", "[not json"),
        ("adam", "adam"),
        ("nan", "nan"),  # a word, not a float: keep what the user typed
        ("", ""),
        ("日本", "日本"),
    ],
)
def test_parse_value(text: str, value: object) -> None:
    got = parse_value(text)
    assert got == value
    assert type(got) is type(value)


def test_parse_args_splits_init_and_config() -> None:
    init, config = parse_args(
        """project=mnist name=lr-1e-3 tags=a,b notes="first try, 2" lr=1e-3 epochs=10 """
        """amp=true opt='10' config.name=inner display=false msg="say \\"hi\\"" """
    )
    assert init == {
        "project": "mnist",
        "name": "lr-1e-3",
        "tags": ["a", "b"],
        "notes": "first try, 2",
        "display": False,
    }
    assert config == {
        "lr": 0.001,
        "epochs": 10,
        "amp": True,
        "opt": "10",
        "name": "inner",
        "msg": 'say "hi"',
    }


def test_parse_args_empty() -> None:
    assert parse_args("   ") == ({}, {})


@pytest.mark.parametrize("line", ["project", "=3", 'notes="unclosed', 'a=b"c"', "display=maybe"])
def test_parse_args_rejects(line: str) -> None:
    with pytest.raises(MagicArgsError, match="%%nbtrack"):
        parse_args(line)


def test_runs_table_lists_runs(store_dir: Path) -> None:
    with nbtrack.init(project="tbl", name="alpha", tags=["x", "y"], display=False) as run:
        run.log({"a": 1.0})
    with nbtrack.Api(store_dir) as api:
        text = format_runs_table(api.runs("tbl"))
        # W&B's rule: a project the store does not have is an error naming the ones it has.
        with pytest.raises(ValueError, match="'tbl'"):
            api.runs("nothing-here")
    header, line = text.splitlines()
    assert header.split()[:5] == ["PROJECT", "ID", "NAME", "STATE", "STEPS"]
    assert line.split()[:5] == ["tbl", run.id, "alpha", "finished", "1"]


# -- in a real kernel ---------------------------------------------------------------------


@pytest.fixture
def kern(tmp_path: Path, store_dir: Path) -> Iterator[Kernel]:
    with kernel(tmp_path, store_dir) as k:
        loaded = k.run("%load_ext nbtrack")
        assert loaded.status == "ok", loaded.text()
        yield k


def _plain(text: str) -> str:
    """A traceback without its terminal colours."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _dashboard(k: Kernel, outputs: list[dict[str, Any]]) -> dict[str, Any]:
    """What the dashboard's header shows at the end; the dashboard must be the first output."""
    assert outputs, "the cell has no output: no dashboard"
    first = outputs[0]
    assert WIDGET_VIEW in first["data"], (
        f"the first output is not a widget: {sorted(first['data'])}"
    )
    assert k.widget_of(first)["_model_name"] == "AnyModel"
    return k.header_of(first)


@pytest.mark.kernel
def test_cell_magic_finishes_run_with_config(kern: Kernel, store_dir: Path) -> None:
    res = kern.run(
        '%%nbtrack project=magic name=ok tags=a,b notes="first try" lr=1e-3 epochs=3 amp=true\n'
        "for i in range(nbtrack.config.epochs):\n"
        "    nbtrack.log({'train/loss': 1 / (i + 1)})\n"
        "nbtrack.run.config.lr * 2\n"
    )
    assert res.status == "ok", res.text()
    # The cell's last expression is still its result.
    results = res.of_type("execute_result")
    assert [r["content"]["data"]["text/plain"] for r in results] == ["0.002"]
    header = _dashboard(kern, res.outputs())
    assert (header["state"], header["step"], header["error"]) == ("finished", 3, None)
    with nbtrack.Api(store_dir) as api:
        (run,) = api.runs("magic")
        assert (run.name, run.state, run.exit_code, run.error) == ("ok", "finished", 0, None)
        assert run.config == {"lr": 0.001, "epochs": 3, "amp": True}
        assert run.tags == ["a", "b"]
        assert run.notes == "first try"
        assert run.history()["train/loss"].tolist() == [1.0, 0.5, 1 / 3]
    # The run ended with the cell: none is current any more.
    after = kern.run("print(nbtrack.run)")
    assert after.text().strip() == "None"


@pytest.mark.kernel
def test_cell_that_raises_is_failed_with_traceback(kern: Kernel, store_dir: Path) -> None:
    res = kern.run(
        "%%nbtrack project=magic name=bad\n"
        "nbtrack.log({'x': 1.0})\n"
        "def inner():\n"
        "    raise ValueError('boom 42')\n"
        "inner()\n"
    )
    # The user sees the error as without the magic: the cell fails, with its traceback.
    assert res.status == "error"
    assert res.reply["content"]["ename"] == "ValueError"
    (err,) = res.of_type("error")
    shown = "\n".join(err["content"]["traceback"])
    assert "boom 42" in shown
    assert "raise ValueError('boom 42')" in shown
    # The cell's lines are named as IPython names them: In[n] of this very cell.
    number = res.reply["content"]["execution_count"]
    assert f"In[{number}], line 4" in _plain(shown)
    # The dashboard keeps its last state and shows the end: failed, with the error.
    header = _dashboard(kern, res.outputs())
    assert header["state"] == "failed"
    assert "ValueError: boom 42" in header["error"]
    assert header["step"] == 1
    with nbtrack.Api(store_dir) as api:
        (run,) = api.runs("magic")
        assert (run.state, run.exit_code) == ("failed", 1)
        assert run.error is not None
        assert run.error.startswith("Traceback (most recent call last):")
        assert "raise ValueError('boom 42')" in run.error  # the cell's own line
        assert run.error.rstrip().endswith("ValueError: boom 42")
        assert "magic.py" not in run.error  # nbtrack's own frames are left out
        assert run.history()["x"].tolist() == [1.0]
    # The kernel goes on; the next %%nbtrack cell is a new run.
    again = kern.run("%%nbtrack project=magic name=next\nnbtrack.log({'x': 2.0})\n")
    assert again.status == "ok", again.text()
    with nbtrack.Api(store_dir) as api:
        assert [(r.name, r.state) for r in api.runs("magic")] == [
            ("bad", "failed"),
            ("next", "finished"),
        ]


@pytest.mark.kernel
def test_keyboard_interrupt_raised_in_cell(kern: Kernel, store_dir: Path) -> None:
    res = kern.run(
        "%%nbtrack project=magic name=ki\nnbtrack.log({'x': 1.0})\nraise KeyboardInterrupt\n"
    )
    assert res.status == "error"
    assert res.reply["content"]["ename"] == "KeyboardInterrupt"
    assert _dashboard(kern, res.outputs())["state"] == "interrupted"
    with nbtrack.Api(store_dir) as api:
        (run,) = api.runs("magic")
        assert (run.state, run.exit_code, run.last_step) == ("interrupted", 255, 0)


@pytest.mark.kernel
def test_real_interrupt_while_training(kern: Kernel, store_dir: Path) -> None:
    msg_id = kern.start(
        "%%nbtrack project=magic name=loop\n"
        "import time\n"
        "i = 0\n"
        "while True:\n"
        "    nbtrack.log({'loss': 1 / (i + 1)})\n"
        "    i += 1\n"
        "    if i == 20:\n"
        "        print('training', flush=True)\n"
        "    time.sleep(0.002)\n"
    )
    # Wait until the loop is surely running, then interrupt as the stop button does.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        msg = kern.kc.get_iopub_msg(timeout=30)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kern._track_widget(msg)
        if msg["msg_type"] == "stream" and "training" in msg["content"]["text"]:
            break
    else:
        pytest.fail("the training loop did not start")
    kern.km.interrupt_kernel()
    res = kern.wait(msg_id, timeout=30)
    assert res.status == "error"
    assert res.reply["content"]["ename"] == "KeyboardInterrupt"
    with nbtrack.Api(store_dir) as api:
        (run,) = api.runs("magic")
        assert (run.state, run.exit_code, run.error) == ("interrupted", 255, "KeyboardInterrupt")
        steps = run.last_step + 1
        assert steps >= 20
        # Every step logged before the interrupt is kept.
        assert len(run.history()["loss"]) == steps
    assert kern.run("print(nbtrack.run, i)").text().split() == ["None", str(steps)]


@pytest.mark.kernel
def test_line_magic_runs_table(kern: Kernel) -> None:
    kern.run("%%nbtrack project=tbl name=first\nnbtrack.log({'a': 1})\n")
    kern.run("%%nbtrack project=other name=second\nnbtrack.log({'a': 1})\n")
    one = kern.run("%nbtrack runs tbl").text()
    assert "first" in one and "finished" in one
    assert "second" not in one
    every = kern.run("%nbtrack runs").text()
    assert "first" in every and "second" in every
    bad = kern.run("%nbtrack frobnicate")
    assert bad.status == "error"
    assert "unknown command" in bad.text()
    usage = kern.run("%%nbtrack project\n1\n")
    assert usage.status == "error"
    assert "expected key=value" in usage.text()


@pytest.mark.kernel
def test_line_magic_show_draws_stored_run(kern: Kernel, store_dir: Path) -> None:
    made = kern.run(
        "%%nbtrack project=shown name=hist display=false\n"
        "for i in range(250):\n"
        "    nbtrack.log({'loss': 1 / (i + 1), 'acc': i / 250})\n"
        "print(nbtrack.run.path)\n"
    )
    assert made.status == "ok", made.text()
    assert made.outputs() == []  # display=false: no dashboard
    path = made.text().strip()
    shown = kern.run(f"%nbtrack show {path}\n1 + 1\n")
    assert shown.status == "ok", shown.text()
    first, result = shown.outputs()
    assert WIDGET_VIEW in first["data"]
    assert result["data"]["text/plain"] == "2"
    assert kern.header_of(first)["state"] == "finished"
    points = kern.points_of(first)
    assert (points["loss"], points["acc"]) == (250, 250)
    missing = kern.run("%nbtrack show shown/nosuchid")
    assert missing.status == "error"
    assert "no run 'shown/nosuchid'" in missing.text()
    assert "Traceback" not in missing.text()  # a usage error, not a crash


@pytest.mark.kernel
def test_disabled_mode_stores_nothing(kern: Kernel, store_dir: Path) -> None:
    # The cell runs as without the magic (NBTRACK_MODE=disabled turns tracking off this way).
    res = kern.run("%%nbtrack project=off mode=disabled\nx = 40 + 2\nx\n")
    assert res.status == "ok", res.text()
    assert [o["data"]["text/plain"] for o in res.outputs()] == ["42"]
    assert not (store_dir / "runs.db").exists()  # not even an empty store was made

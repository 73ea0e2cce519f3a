"""The IPython extension: ``%load_ext nbtrack`` registers ``%%nbtrack`` and ``%nbtrack``.

>>> %load_ext nbtrack
>>> %%nbtrack project=fashion-cnn name=lr-1e-3 tags=cnn,baseline lr=1e-3 epochs=3
... for epoch in range(nbtrack.config.epochs):
...     nbtrack.log({"train/loss": 1 / (epoch + 1)})

The cell runs inside a run whose dashboard is the first thing in the cell's output. The run
ends with the cell: finished, failed (the traceback kept on the run) when the cell raises,
interrupted on KeyboardInterrupt. The exception still reaches IPython, so the cell shows
its traceback as usual and "run all" stops there.

``%nbtrack runs [project]`` prints the runs table; ``%nbtrack show project/id`` shows the
dashboard of a stored run; ``%nbtrack compare [project]`` shows the compare view.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import sys
import traceback
from types import FrameType
from typing import Any

# Arguments of `nbtrack.init` the magic takes by name; every other key=value is config.
_INIT_ARGS = ("project", "name", "notes", "tags", "dir", "id", "mode", "resume", "display")
_INT = re.compile(r"[+-]?\d+(_\d+)*")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")

# key=value, the value bare or in quotes ("..." with backslash escapes, or '...').
_TOKEN = re.compile(
    r"""(?P<key>[^\s="']+)=(?P<value>"(?:\\.|[^"\\])*"|'[^']*'|[^\s"']*)(?:\s+|$)"""
)

_USAGE = """\
%%nbtrack [project=P] [name=N] [tags=a,b] [notes="..."] [key=value ...]
    Run the cell inside an nbtrack run; other key=value pairs go into its config
    (numbers, true/false, none and JSON lists are parsed; quote a value to keep it a string;
    config.name=x puts a key that init() would take into the config instead).
%nbtrack runs [project]     the runs of a project (all projects when left out)
%nbtrack show project/id    the dashboard of a stored run, following it while it grows
%nbtrack compare [project]  the compare view of a project's runs (the current run's project
                            when left out): runs table, overlaid curves, parallel coordinates"""


class MagicArgsError(ValueError):
    """A ``%%nbtrack`` argument that cannot be read; the message says which and why."""


def parse_value(text: str) -> Any:
    """A config value as typed after ``key=`` on the magic line.

    >>> parse_value("1e-3"), parse_value("10"), parse_value("true"), parse_value("adam")
    (0.001, 10, True, 'adam')
    """
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    if text[:1] in "[{" and text:
        try:
            return json.loads(text)
        except ValueError:
            pass  # not JSON after all: keep the text, as a shell would
    return text


def parse_args(line: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a ``%%nbtrack`` line into `init` keyword arguments and config.

    >>> parse_args('project=mnist tags=a,b notes="first try" lr=1e-3 amp=true')
    ({'project': 'mnist', 'tags': ['a', 'b'], 'notes': 'first try'}, {'lr': 0.001, 'amp': True})
    """
    init: dict[str, Any] = {}
    config: dict[str, Any] = {}
    tokens: list[tuple[str, str]] = []
    pos, line = 0, line.strip()
    while pos < len(line):
        m = _TOKEN.match(line, pos)
        if m is None:
            bad = line[pos:].split(None, 1)[0]
            raise MagicArgsError(f"%%nbtrack: expected key=value, got {bad!r}\n\n{_USAGE}")
        tokens.append((m["key"], m["value"]))
        pos = m.end()
    for key, raw in tokens:
        quoted = len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'"
        text = (shlex.split(raw)[0] if raw[0] == '"' else raw[1:-1]) if quoted else raw
        if key.startswith("config."):
            config[key[len("config.") :]] = text if quoted else parse_value(text)
        elif key == "tags":
            init["tags"] = [t.strip() for t in text.split(",") if t.strip()]
        elif key in ("display", "resume") and not quoted:
            value = parse_value(text)
            init[key] = value
        elif key in _INIT_ARGS:
            init[key] = text
        else:
            config[key] = text if quoted else parse_value(text)
    if "display" in init and not isinstance(init["display"], bool):
        raise MagicArgsError(f"%%nbtrack: display must be true or false, not {init['display']!r}")
    return init, config


def run_cell(ipython: Any, line: str, cell: str) -> Any:
    """What ``%%nbtrack`` does: the cell's code inside a run that ends with it."""
    __tracebackhide__ = True  # IPython and pytest leave this frame out of tracebacks
    import nbtrack

    try:
        init_args, config = parse_args(line)
    except MagicArgsError as e:
        from IPython.core.error import UsageError

        raise UsageError(str(e)) from None
    body, last = _compile(ipython, cell)
    run = nbtrack.init(config=config, **init_args)
    try:
        ns = ipython.user_ns
        exec(body, ns)
        result = eval(last, ns) if last is not None else None
    except KeyboardInterrupt:
        _end(run, "interrupted", 255, "KeyboardInterrupt")
        raise
    except BaseException as exc:
        tb = exc.__traceback__
        # The first frame is this function's exec(): the user's code starts below it.
        text = "".join(traceback.format_exception(type(exc), exc, tb.tb_next if tb else None))
        _end(run, "failed", 1, text)
        raise
    run.finish()
    return result


def _end(run: Any, state: str, exit_code: int, error: str) -> None:
    from nbtrack._run import Run, link

    if isinstance(run, Run):  # a disabled run has nothing to end
        link(run).end(state, exit_code, error)


def _compile(ipython: Any, cell: str) -> tuple[Any, Any]:
    """The cell as IPython would run it: transformed (magics, ``!cmd``), then compiled
    with a filename IPython knows, so tracebacks show the cell's lines; a last bare
    expression is split off so its value becomes the cell's result, as without the magic.
    """
    source = ipython.transform_cell(cell)
    # `cache` puts the source in linecache under a name of this cell; its signature is the
    # same from IPython 7 (Colab) to 9.
    filename = ipython.compile.cache(source, _cell_number(ipython))
    flags = getattr(ipython.compile, "flags", 0)
    tree = ast.parse(source, filename, "exec")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = compile(
            ast.Expression(tree.body.pop().value), filename, "eval", flags=flags, dont_inherit=True
        )
    body = compile(tree, filename, "exec", flags=flags, dont_inherit=True)
    return body, last


def _cell_number(ipython: Any) -> int:
    """The In[n] of the running cell, so tracebacks name the cell as IPython does.

    IPython 9 counts the cell up before running it, IPython 7 after; the outer cell's own
    frame, which IPython 8+ maps to its number, settles it.
    """
    numbers = getattr(ipython.compile, "_filename_map", None)
    frame: FrameType | None = sys._getframe(1)
    while numbers and frame is not None:
        n = numbers.get(frame.f_code.co_filename)
        if n is not None:
            return int(n)
        frame = frame.f_back
    return int(ipython.execution_count)


def line_command(line: str) -> Any:
    """What ``%nbtrack runs [project]``, ``show project/id`` and ``compare [project]`` do."""
    args = line.split()
    if not args or args[0] in ("help", "-h", "--help"):
        print(_USAGE)
        return None
    cmd, rest = args[0], args[1:]
    from IPython.core.error import UsageError

    from nbtrack.errors import StoreError

    if cmd == "runs" and len(rest) <= 1:
        try:
            print(runs_table(rest[0] if rest else None))
        except (StoreError, ValueError) as e:  # no store, or no such project there: say so
            raise UsageError(str(e)) from None
        return None

    if (cmd == "show" and len(rest) == 1) or (cmd == "compare" and len(rest) <= 1):
        from IPython.display import display

        import nbtrack

        try:
            if cmd == "compare":
                nbtrack.compare(rest[0] if rest else None)  # it shows itself
                return None
            widget = nbtrack.show(rest[0])
        except StoreError as e:
            raise UsageError(str(e)) from None
        except (KeyError, ValueError) as e:  # no such run, or an ambiguous id: say so plainly
            raise UsageError(str(e.args[0]) if e.args else str(e)) from None
        # Displayed here, not returned: a line magic's value shows only on a cell's last line.
        display(widget)  # type: ignore[no-untyped-call]  # IPython is unannotated
        return None
    raise UsageError(f"%nbtrack: unknown command {line.strip()!r}\n\n{_USAGE}")


def runs_table(project: str | None) -> str:
    """The same table as ``nbtrack runs`` on the command line."""
    from nbtrack._runs_table import format_runs_table
    from nbtrack.api import Api

    with Api() as api:
        return format_runs_table(api.runs(project))


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics; ``%load_ext nbtrack`` calls this.

    >>> %load_ext nbtrack
    >>> %nbtrack runs fashion-cnn
    """
    from IPython.core.magic import Magics, line_cell_magic, magics_class

    @magics_class
    class NbtrackMagics(Magics):
        @line_cell_magic
        def nbtrack(self, line: str, cell: str | None = None) -> Any:
            __tracebackhide__ = True
            if cell is None:
                return line_command(line)
            return run_cell(self.shell, line, cell)

    ipython.register_magics(NbtrackMagics)
    # `%%nbtrack` cells use nbtrack.* names; save the user an import.
    ipython.user_ns.setdefault("nbtrack", sys.modules["nbtrack"])

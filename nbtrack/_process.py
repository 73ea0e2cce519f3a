"""How runs end with their process: exit, an uncaught exception, SIGTERM, sys.exit, fork.

Installed by the first `nbtrack.init()` of a process, not by `import nbtrack`:

- at exit, a run still open is finished: "failed" with the traceback after an uncaught
  exception, "failed" with exit code n after ``sys.exit(n)`` for n != 0, else "finished";
- SIGTERM (what schedulers and ``docker stop`` send) ends every open run as "interrupted"
  after committing what was logged, then does what the signal would have done: the handler
  that was there before runs, or, with the default one, the process dies of SIGTERM. Only
  from the main thread, and only over the default handler or a Python one (an ignored
  SIGTERM stays ignored);
- in a child of ``os.fork()`` (multiprocessing's "fork" start method too) there is no
  current run, the parent's runs refuse to log, and the child's exit never touches them.

``sys.exit(n)`` is seen through a wrapper nbtrack puts on `sys.exit`; a bare
``raise SystemExit(n)`` at the top of a script is not (Python tells no one its code).
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import traceback
import weakref
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, Protocol

from nbtrack import _current


class Endable(Protocol):
    @property
    def path(self) -> str: ...

    def end(self, state: str, exit_code: int, error: str | None) -> None: ...

    def forked(self) -> None: ...


_live: weakref.WeakSet[Any] = weakref.WeakSet()
_installed = False
_exc_info: list[tuple[type[BaseException], BaseException, TracebackType | None]] = []
_exit_status: list[object] = []
_prev_sigterm: Callable[[int, FrameType | None], Any] | int | None = None


def track(link: Endable) -> None:
    _live.add(link)


def untrack(link: Endable) -> None:
    _live.discard(link)


def exit_code_of(status: object) -> int:
    """The exit code Python gives ``sys.exit(status)``: None is 0, a message is 1."""
    if status is None:
        return 0
    if isinstance(status, int):
        return status
    return 1


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    prev_hook = sys.excepthook

    def excepthook(tp: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        _exc_info.append((tp, exc, tb))
        prev_hook(tp, exc, tb)

    sys.excepthook = excepthook
    if "ipykernel" not in sys.modules:  # a kernel catches sys.exit() in a cell and goes on
        _wrap_sys_exit()
    atexit.register(_at_exit)
    os.register_at_fork(after_in_child=_after_fork_in_child)
    _install_sigterm()


def _wrap_sys_exit() -> None:
    prev_exit: Callable[[Any], Any] = sys.exit

    def exit(status: Any = None) -> Any:
        _exit_status.append(status)
        return prev_exit(status)

    exit.__doc__ = prev_exit.__doc__
    sys.exit = exit


def _at_exit() -> None:
    error: str | None
    if _exc_info:
        tp, exc, tb = _exc_info[-1]
        if isinstance(exc, KeyboardInterrupt):
            state, code, error = "interrupted", 255, "KeyboardInterrupt"
        else:
            state, code, error = "failed", 1, "".join(traceback.format_exception(tp, exc, tb))
    else:
        code = exit_code_of(_exit_status[-1]) if _exit_status else 0
        state = "finished" if code == 0 else "failed"
        error = None if code == 0 else f"the process exited with sys.exit({_exit_status[-1]!r})"
    for link in list(_live):
        link.end(state, code, error)


def _install_sigterm() -> None:
    global _prev_sigterm
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread
    prev = signal.getsignal(signal.SIGTERM)
    if prev is signal.SIG_IGN or prev is None:  # ignored, or set outside Python: leave it
        return
    _prev_sigterm = prev
    signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    for link in list(_live):
        try:
            link.end("interrupted", 128 + signum, "SIGTERM")
        except Exception as e:  # the signal must still do its work
            print(f"nbtrack: could not end run {link.path} on SIGTERM: {e!r}", file=sys.stderr)
    prev = _prev_sigterm
    if callable(prev):
        prev(signum, frame)
        return
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _after_fork_in_child() -> None:
    current = _current.current()
    links = list(_live)
    _live.clear()
    for link in links:
        link.forked()
    real = current is not None and current.state != "disabled"
    _current.forget_after_fork(current.path if current is not None and real else None)

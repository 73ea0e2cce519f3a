"""The exceptions nbtrack raises on purpose, in one place.

Each also derives from the built-in that code written before it would have caught
(a missing run is still a `KeyError`, a missing store a `FileNotFoundError`), so adding
them broke no ``except`` clause.

>>> try:
...     nbtrack.Api().run("fashion-cnn/nope")
... except nbtrack.errors.RunNotFoundError as e:
...     print(e)
nbtrack: no run 'fashion-cnn/nope' in nbtrack/runs.db
"""

from __future__ import annotations


class NbtrackError(Exception):
    """Base of every error nbtrack raises on purpose."""


class RunNotFoundError(NbtrackError, KeyError):
    """No run of that path or id in the store."""

    def __str__(self) -> str:
        # KeyError's str() is the repr of its argument (quotes and all): show the sentence.
        return str(self.args[0]) if self.args else ""


class ApiClosedError(NbtrackError, RuntimeError):
    """A `RunRecord` (or its `Api`) was used after the `Api` was closed."""


class StoreError(NbtrackError):
    """Base of the problems with the store itself (its folder, file, layout or disk)."""


class StoreNotFoundError(StoreError, FileNotFoundError):
    """A read found no store at the folder: nbtrack never creates one to read from."""


class StorePathError(StoreError, NotADirectoryError):
    """The store's folder (``dir=``, ``NBTRACK_DIR``) names a file, not a folder."""


class StoreReadOnlyError(StoreError, PermissionError):
    """The store is on read-only media in a state that SQLite cannot read without writing."""


class StoreVersionError(StoreError):
    """The store's layout is newer than this nbtrack understands (for writing, or reading)."""


class StoreCorruptError(StoreError):
    """SQLite reports the store's file damaged (``PRAGMA quick_check``): nbtrack won't write it."""


class StoreFullError(StoreError, OSError):
    """The disk holding the store is full (SQLite's SQLITE_FULL, the OS's ENOSPC).

    Raised by the store when it is opened or written (`Store`, `Store.create_run`,
    `Store.update_run`, `Store.write_batch`); the message names the folder and the free
    space left. A run's writer that gets it keeps the batch in memory and tries again, so
    freeing space in time loses nothing.
    """


class LoginError(NbtrackError):
    """A login that cannot be done: no server given, no key and no way to ask for one, a
    key the server refuses, a server that cannot be reached. The message says which."""

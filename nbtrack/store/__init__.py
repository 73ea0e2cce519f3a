"""The local store: SQLite (WAL) under a root folder, columnar chunks of NumPy arrays."""

from nbtrack.store.db import Store, default_root, effective_state

__all__ = ["Store", "default_root", "effective_state"]

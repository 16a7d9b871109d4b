"""SQLite storage: the only package that holds SQL. See `db.Store`."""

from sheetscan.store.db import Store

__all__ = ["Store"]

"""SQLite store: one connection per Store, serialized by a lock; one transaction per request.

WAL mode lets readers of other processes proceed; BEGIN IMMEDIATE makes two processes on one
file take turns for writes, so unique indexes plus in-transaction checks keep idempotency exact.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from typing import Iterator

import sqlite_utils

from .schema import SCHEMA_VERSION, create_schema


class Store:
    def __init__(self, path: str = ":memory:"):
        self.path = path
        self.memory = path == ":memory:"
        self._lock = threading.RLock()
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30.0)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA busy_timeout = 30000")
        self.db = sqlite_utils.Database(self.conn)
        if not self.memory:
            self.db.enable_wal()
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.execute("PRAGMA foreign_keys = OFF")
        with self.transaction():
            create_schema(self.db, self.conn)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")

    @contextmanager
    def savepoint(self, name: str = "handler") -> Iterator[None]:
        """Undo a handler's writes on error while keeping the request's bookkeeping."""
        self.conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self.conn.execute(f"ROLLBACK TO {name}")
            self.conn.execute(f"RELEASE {name}")
            raise
        else:
            self.conn.execute(f"RELEASE {name}")

    def close(self) -> None:
        with self._lock:
            self.conn.close()


__all__ = ["Store", "SCHEMA_VERSION"]

"""SQLite store: one connection per Store, serialized by a lock; one transaction per request.

WAL mode lets readers of other processes proceed; BEGIN IMMEDIATE makes two processes on one
file take turns for writes, so unique indexes plus in-transaction checks keep idempotency exact.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
from contextlib import contextmanager
from typing import Iterator

from .schema import SCHEMA_VERSION, create_schema


class Store:
    def __init__(self, path: str = ":memory:"):
        self.path = path
        self.memory = path == ":memory:"
        self._lock = threading.RLock()
        self._savepoints: list[str] = []  # open savepoints of the current transaction, outermost first
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30.0)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA busy_timeout = 30000")
        if not self.memory:
            self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        # A bigger page cache (64 MiB, not 2) keeps the indexes a ledger of millions of deltas
        # touches in memory, and fewer, larger WAL checkpoints (every ~16 MiB of pages, not 4)
        # cost fewer syncs; neither changes what a commit guarantees.
        self.conn.execute("PRAGMA cache_size = -65536")
        if not self.memory:
            self.conn.execute("PRAGMA wal_autocheckpoint = 4000")
        self.conn.execute("PRAGMA foreign_keys = OFF")
        with self.transaction():
            create_schema(self.conn)

    def transaction(self) -> "_Transaction":
        """BEGIN IMMEDIATE ... COMMIT under the store lock, rolled back on any exception."""
        return _Transaction(self)

    @contextmanager
    def savepoint(self, name: str = "handler") -> Iterator[None]:
        """Undo a handler's writes on error while keeping the request's bookkeeping."""
        self.conn.execute(f"SAVEPOINT {name}")
        self._savepoints.append(name)
        try:
            yield
        except BaseException:
            self.conn.execute(f"ROLLBACK TO {name}")
            self.conn.execute(f"RELEASE {name}")
            raise
        else:
            self.conn.execute(f"RELEASE {name}")
        finally:
            self._savepoints.pop()

    @contextmanager
    def released(self) -> Iterator[None]:
        """Inside a transaction: commit what is done so far, give up the lock for the body (work
        that waits on the network, such as a webhook POST, must never hold it), then take the lock
        again and open a new transaction with the same savepoints. The caller's thread must be the
        one that opened the transaction, and it must hold the lock exactly once."""
        self.conn.execute("COMMIT")
        self._lock.release()
        try:
            yield
        finally:
            self._lock.acquire()
            self.conn.execute("BEGIN IMMEDIATE")
            for name in self._savepoints:
                self.conn.execute(f"SAVEPOINT {name}")

    MAX_IMPORT_BYTES = 1 << 30

    def export_bytes(self) -> bytes:
        """A consistent snapshot of the whole database, taken with the SQLite backup API."""
        with self._lock, tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "export.sqlite")
            target = sqlite3.connect(path)
            try:
                self.conn.backup(target)
            finally:
                target.close()
            with open(path, "rb") as handle:
                return handle.read()

    def import_bytes(self, data: bytes) -> int:
        """import_file of bytes held in memory (written to a temporary file first)."""
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "import.sqlite")
            with open(path, "wb") as handle:
                handle.write(data)
            return self.import_file(path)

    def import_file(self, path: str) -> int:
        """Replace the whole database with a checked SQLite file; returns its workspace count.

        Checks, in order: header, schema version, integrity. Nothing changes on failure; the swap
        runs under the store lock, so requests wait for it. `path` is the server's own temporary
        file (the request body streamed to disk), never a path taken from a request.
        """
        with open(path, "rb") as handle:
            header = handle.read(16)
        if header != b"SQLite format 3\x00":
            raise ValueError("the body is not an SQLite database file")
        source = sqlite3.connect(path)
        try:
            try:
                version = source.execute("PRAGMA user_version").fetchone()[0]
                integrity = source.execute("PRAGMA integrity_check").fetchone()[0]
            except sqlite3.DatabaseError as exc:
                raise ValueError(f"the file is not a readable SQLite database ({exc})") from None
            if version != SCHEMA_VERSION:
                raise ValueError(f"schema version {version} is not this server's {SCHEMA_VERSION}")
            if integrity != "ok":
                raise ValueError(f"integrity check failed: {integrity}")
            with self._lock:
                source.backup(self.conn)
        finally:
            source.close()
        return self.conn.execute("SELECT COUNT(*) FROM workspaces").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self.conn.close()


class _Transaction:
    """The context manager of Store.transaction (a class: it runs on every request)."""

    __slots__ = ("store",)

    def __init__(self, store: Store):
        self.store = store

    def __enter__(self) -> sqlite3.Connection:
        store = self.store
        store._lock.acquire()
        try:
            store.conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            store._lock.release()
            raise
        return store.conn

    def __exit__(self, kind, value, traceback) -> None:
        store = self.store
        try:
            store.conn.execute("COMMIT" if kind is None else "ROLLBACK")
        finally:
            store._lock.release()


__all__ = ["Store", "SCHEMA_VERSION"]

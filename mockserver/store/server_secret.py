"""The server secret (balance-api.md §8.9 "Beyond loopback"): random bytes made at the first start
of a server that listens beyond loopback, kept in the database so that a restart (or another
worker process) keeps issued cookies valid. The page secrets derive from it (runtime.py).

Its table is created only by such a server, outside the numbered schema: a loopback server never
writes it, so its files, exports and §9 determinism are exactly as before. A state import
replaces the whole database, the secret included (the export is admin-only beyond loopback).
"""

from __future__ import annotations

import sqlite3
from typing import Callable

_NAME = "pages"


def ensure(conn: sqlite3.Connection, make: Callable[[], bytes]) -> bytes:
    """The stored secret; made and stored first when the database has none (a write)."""
    conn.execute('CREATE TABLE IF NOT EXISTS "server_secrets" ("name" TEXT PRIMARY KEY, "value" BLOB NOT NULL)')
    found = read(conn)
    if found is not None:
        return found
    conn.execute('INSERT INTO "server_secrets" ("name", "value") VALUES (?, ?)', (_NAME, make()))
    return read(conn)


def read(conn: sqlite3.Connection) -> bytes | None:
    """The stored secret, or None (no table, no row): never a write."""
    try:
        row = conn.execute('SELECT "value" FROM "server_secrets" WHERE "name" = ?', (_NAME,)).fetchone()
    except sqlite3.OperationalError:  # no such table: a database from a loopback server, imported
        return None
    return bytes(row[0]) if row is not None else None

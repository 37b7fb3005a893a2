"""Which workspace a public route or page addresses (balance-api.md §1.2): proof roots, receipt
(checkpoint) ids and customer handles are unique across the server. None: unknown (404)."""

from __future__ import annotations

import sqlite3

from .scope import HASH_INPUT_RE
from .verify import find_root


def root(conn: sqlite3.Connection, path: dict[str, str]) -> int | None:
    value = path["root"]
    if not HASH_INPUT_RE.match(value):
        return None
    found = find_root(conn, value.lower())
    return found[1]["ws"] if found else None


def receipt(conn: sqlite3.Connection, path: dict[str, str]) -> int | None:
    row = conn.execute("SELECT ws FROM checkpoints WHERE checkpoint_id = ?", (path["receiptId"],)).fetchone()
    return row[0] if row else None


def handle(conn: sqlite3.Connection, path: dict[str, str]) -> int | None:
    row = conn.execute("SELECT ws FROM customers WHERE handle = ?", (path["handle"],)).fetchone()
    return row[0] if row else None

"""Journal rows (balance-api.md §8.7): one per request of a workspace, the last `journalSize` kept,
each with its recorded exchange (control/journal.py builds and reads it)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

TRIM_EVERY = 64  # requests between deletions of entries past the journal's size


def record(conn: sqlite3.Connection, ws_id: int, seq: int, route: str, status: int, entry: str, keep: int,
           at_ms: int | None = None, keys: str | None = None, exchange: bytes | None = None) -> None:
    conn.execute("INSERT INTO journal (ws, seq, route, status, entry, at_ms, keys, exchange)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (ws_id, seq, route, status, entry, at_ms, keys, exchange))
    if seq > keep and seq % TRIM_EVERY == 0:  # entries() never shows the older ones meanwhile
        conn.execute("DELETE FROM journal WHERE ws = ? AND seq <= ?", (ws_id, seq - keep))


@dataclass
class Filter:
    route: str | None = None
    status: int | None = None
    since_seq: int | None = None
    from_ms: int | None = None  # at or after
    to_ms: int | None = None  # before
    customer_id: str | None = None
    reference_id: str | None = None


def entries(conn: sqlite3.Connection, ws_id: int, limit: int, keep: int, which: Filter,
            with_exchange: bool = False) -> tuple[int, list[sqlite3.Row]]:
    """(matching total, the newest `limit` rows (entry, exchange), newest first), of the last
    `keep` requests (request numbers are contiguous)."""
    where = ["ws = ?", "seq > (SELECT n_req FROM workspaces WHERE id = ?) - ?"]
    args: list = [ws_id, ws_id, keep]
    for clause, value in (("route = ?", which.route), ("status = ?", which.status), ("seq > ?", which.since_seq),
                          ("at_ms >= ?", which.from_ms), ("at_ms < ?", which.to_ms),
                          ("instr(keys, ?) > 0", None if which.customer_id is None else f"\x1fc:{which.customer_id}\x1f"),
                          ("instr(keys, ?) > 0", None if which.reference_id is None else f"\x1fr:{which.reference_id}\x1f")):
        if value is not None:
            where.append(clause)
            args.append(value)
    clause = " AND ".join(where)
    total = conn.execute(f"SELECT COUNT(*) FROM journal WHERE {clause}", args).fetchone()[0]
    columns = "entry, exchange" if with_exchange else "entry"
    rows = conn.execute(f"SELECT {columns} FROM journal WHERE {clause} ORDER BY seq DESC LIMIT ?", [*args, limit])
    return total, rows.fetchall()


def clear(conn: sqlite3.Connection, ws_id: int) -> int:
    return conn.execute("DELETE FROM journal WHERE ws = ?", (ws_id,)).rowcount


def entry(conn: sqlite3.Connection, ws_id: int, seq: int, keep: int) -> sqlite3.Row | None:
    """One request's row (entry, exchange) by its number, if still among the last `keep`."""
    return conn.execute(
        "SELECT entry, exchange FROM journal WHERE ws = ? AND seq = ?"
        " AND seq > (SELECT n_req FROM workspaces WHERE id = ?) - ?", (ws_id, seq, ws_id, keep)
    ).fetchone()

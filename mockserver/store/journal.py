"""Journal rows (balance-api.md §8.7): one per request of a workspace, the last `journalSize` kept."""

from __future__ import annotations

import sqlite3

TRIM_EVERY = 64  # requests between deletions of entries past the journal's size


def record(conn: sqlite3.Connection, ws_id: int, seq: int, route: str, status: int, entry: str, keep: int) -> None:
    conn.execute("INSERT INTO journal (ws, seq, route, status, entry) VALUES (?, ?, ?, ?, ?)",
                 (ws_id, seq, route, status, entry))
    if seq > keep and seq % TRIM_EVERY == 0:  # entries() never shows the older ones meanwhile
        conn.execute("DELETE FROM journal WHERE ws = ? AND seq <= ?", (ws_id, seq - keep))


def entries(conn: sqlite3.Connection, ws_id: int, limit: int, keep: int, route: str | None = None,
            status: int | None = None, since_seq: int | None = None) -> tuple[int, list[str]]:
    """(matching total, the newest `limit` entries' JSON texts, newest first), of the last `keep`
    requests (request numbers are contiguous)."""
    where = ["ws = ?", "seq > (SELECT n_req FROM workspaces WHERE id = ?) - ?"]
    args: list = [ws_id, ws_id, keep]
    if route is not None:
        where.append("route = ?")
        args.append(route)
    if status is not None:
        where.append("status = ?")
        args.append(status)
    if since_seq is not None:
        where.append("seq > ?")
        args.append(since_seq)
    clause = " AND ".join(where)
    total = conn.execute(f"SELECT COUNT(*) FROM journal WHERE {clause}", args).fetchone()[0]
    rows = conn.execute(f"SELECT entry FROM journal WHERE {clause} ORDER BY seq DESC LIMIT ?", [*args, limit])
    return total, [r[0] for r in rows]


def clear(conn: sqlite3.Connection, ws_id: int) -> int:
    return conn.execute("DELETE FROM journal WHERE ws = ?", (ws_id,)).rowcount

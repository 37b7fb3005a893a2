"""The outbox's delivery columns of the `events` table (balance-api.md §5.0.5, §7.7, §8.8).

Events are written by ledger/events.py in the transaction of the change that caused them; this
module reads and updates their delivery state. A row claimed by an attempt in flight (outside
the store lock) is invisible to every other attempt until the claim is released or expires.
"""

from __future__ import annotations

import sqlite3
from typing import Any

UNCLAIMED = "(claimed_until_ms IS NULL OR claimed_until_ms < ?)"


def page(conn: sqlite3.Connection, ws_id: int, *, event: str | None = None, status: str | None = None,
         limit: int, offset: int, newest_first: bool) -> tuple[int, list[sqlite3.Row]]:
    """(total, one page of rows) in event order (or newest first)."""
    where, args = ["ws = ?"], [ws_id]
    if event is not None:
        where.append("event = ?")
        args.append(event)
    if status is not None:
        where.append("delivery_status = ?")
        args.append(status)
    clause = " AND ".join(where)
    total = conn.execute(f"SELECT COUNT(*) FROM events WHERE {clause}", args).fetchone()[0]
    rows = conn.execute(f"SELECT * FROM events WHERE {clause} ORDER BY n {'DESC' if newest_first else ''}"
                        " LIMIT ? OFFSET ?", [*args, limit, offset]).fetchall()
    return total, rows


def by_event_id(conn: sqlite3.Connection, ws_id: int, event_id: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM events WHERE ws = ? AND event_id = ?", (ws_id, event_id)).fetchone()


def get(conn: sqlite3.Connection, rowid: int) -> sqlite3.Row:
    return conn.execute("SELECT * FROM events WHERE id = ?", (rowid,)).fetchone()


def next_due(conn: sqlite3.Connection, ws_id: int, until_ms: int, wall_ms: int) -> sqlite3.Row | None:
    """The pending delivery due first (then in event order) at or before until_ms, not in flight."""
    return conn.execute(
        "SELECT * FROM events WHERE ws = ? AND delivery_status = 'pending' AND next_attempt_ms <= ?"
        f" AND {UNCLAIMED} ORDER BY next_attempt_ms, n LIMIT 1",
        (ws_id, until_ms, wall_ms),
    ).fetchone()


def due_rows(conn: sqlite3.Connection, ws_id: int, until_ms: int | None, before_ms: int | None, wall_ms: int,
             limit: int) -> list[sqlite3.Row]:
    """Pending deliveries not in flight, due at or before until_ms (None: any) and before
    before_ms (None: any), due first then in event order; at most `limit`."""
    sql = f"SELECT * FROM events WHERE ws = ? AND delivery_status = 'pending' AND {UNCLAIMED}"
    args: list[Any] = [ws_id, wall_ms]
    if until_ms is not None:
        sql += " AND next_attempt_ms <= ?"
        args.append(until_ms)
    if before_ms is not None:
        sql += " AND next_attempt_ms < ?"
        args.append(before_ms)
    return conn.execute(sql + " ORDER BY next_attempt_ms, n LIMIT ?", [*args, limit]).fetchall()


def record_captures(conn: sqlite3.Connection, rows: list[tuple[int, int, int, int, str, int]]) -> None:
    """Successful captured attempts: (attempts, auto_attempts, at, delivered_ms, attempt_log, rowid)."""
    conn.executemany(
        "UPDATE events SET attempts = MAX(attempts, ?), auto_attempts = ?, delivery_status = 'delivered',"
        " next_attempt_ms = NULL, last_attempt_ms = ?, last_response_status = NULL, last_error = NULL,"
        " delivered_ms = ?, url = NULL, captured = 1, attempt_log = ?, claimed_until_ms = NULL WHERE id = ?",
        rows,
    )


def pending_ids(conn: sqlite3.Connection, ws_id: int, due_by: int | None, wall_ms: int) -> list[int]:
    """Pending deliveries not in flight, in event order: all of them, or those due by `due_by`."""
    sql = f"SELECT id FROM events WHERE ws = ? AND delivery_status = 'pending' AND {UNCLAIMED}"
    args: list[Any] = [ws_id, wall_ms]
    if due_by is not None:
        sql += " AND next_attempt_ms <= ?"
        args.append(due_by)
    return [r[0] for r in conn.execute(sql + " ORDER BY n", args)]


def still_pending(conn: sqlite3.Connection, rowid: int, wall_ms: int) -> sqlite3.Row | None:
    return conn.execute(f"SELECT * FROM events WHERE id = ? AND delivery_status = 'pending' AND {UNCLAIMED}",
                        (rowid, wall_ms)).fetchone()


def count_pending(conn: sqlite3.Connection, ws_id: int) -> int:
    return conn.execute("SELECT COUNT(*) FROM events WHERE ws = ? AND delivery_status = 'pending'",
                        (ws_id,)).fetchone()[0]


def claim(conn: sqlite3.Connection, rowid: int, attempts: int, until_wall_ms: int) -> None:
    """An attempt is going out: its number is taken and the row is in flight until released."""
    conn.execute("UPDATE events SET attempts = ?, claimed_until_ms = ? WHERE id = ?", (attempts, until_wall_ms, rowid))


def record_attempt(conn: sqlite3.Connection, rowid: int, *, attempts: int, auto_attempts: int, delivery_status: str,
                   next_attempt_ms: int | None, last_attempt_ms: int, last_response_status: int | None,
                   last_error: str | None, delivered_ms: int | None, url: str | None, captured: bool,
                   attempt_log: str) -> None:
    """An attempt's outcome; releases the claim."""
    conn.execute(
        "UPDATE events SET attempts = MAX(attempts, ?), auto_attempts = ?, delivery_status = ?, next_attempt_ms = ?,"
        " last_attempt_ms = ?, last_response_status = ?, last_error = ?, delivered_ms = ?, url = ?, captured = ?,"
        " attempt_log = ?, claimed_until_ms = NULL WHERE id = ?",
        (attempts, auto_attempts, delivery_status, next_attempt_ms, last_attempt_ms, last_response_status,
         last_error, delivered_ms, url, int(captured), attempt_log, rowid),
    )


def pending_activity(conn: sqlite3.Connection, ws_id: int) -> tuple[int, int]:
    """(pending deliveries, their attempts so far): changes with every attempt of a pending delivery
    and every delivery that ends (the dev console polls it; the partial index keeps it cheap)."""
    count, attempts = conn.execute(
        "SELECT COUNT(*), SUM(attempts) FROM events WHERE ws = ? AND delivery_status = 'pending'", (ws_id,)
    ).fetchone()
    return count, attempts or 0

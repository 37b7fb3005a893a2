"""Fault rule rows (balance-api.md §8.6): the rule as validated, and its matched/fired counters."""

from __future__ import annotations

import sqlite3


def insert(conn: sqlite3.Connection, ws_id: int, n: int, rule: str, created_ms: int) -> sqlite3.Row:
    conn.execute("INSERT INTO fault_rules (ws, n, rule, matched, fired, created_ms) VALUES (?, ?, ?, 0, 0, ?)",
                 (ws_id, n, rule, created_ms))
    return conn.execute("SELECT * FROM fault_rules WHERE ws = ? AND n = ?", (ws_id, n)).fetchone()


def rules(conn: sqlite3.Connection, ws_id: int) -> list[sqlite3.Row]:
    """The workspace's rules in creation order."""
    return conn.execute("SELECT * FROM fault_rules WHERE ws = ? ORDER BY n", (ws_id,)).fetchall()


def count(conn: sqlite3.Connection, rowid: int, matched: int, fired: bool) -> None:
    conn.execute("UPDATE fault_rules SET matched = ?, fired = fired + ? WHERE id = ?", (matched, int(fired), rowid))


def delete(conn: sqlite3.Connection, ws_id: int, n: int) -> bool:
    return bool(conn.execute("DELETE FROM fault_rules WHERE ws = ? AND n = ?", (ws_id, n)).rowcount)


def clear(conn: sqlite3.Connection, ws_id: int) -> int:
    return conn.execute("DELETE FROM fault_rules WHERE ws = ?", (ws_id,)).rowcount

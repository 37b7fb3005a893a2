"""Idempotency-Key rows (balance-api.md §4.2): a pending marker while the first request runs,
then its stored reply. Scope: (workspace, route, key)."""

from __future__ import annotations

import sqlite3


def lookup(conn: sqlite3.Connection, ws_id: int, route: str, key: str) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT body_identity, http_status, body, created_ms, pending_wall_ms FROM idempotency_keys"
        " WHERE ws = ? AND route = ? AND key = ?", (ws_id, route, key)).fetchone()


def mark_pending(conn: sqlite3.Connection, ws_id: int, route: str, key: str, identity: str, now: int,
                 wall_ms: int) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO idempotency_keys (ws, route, key, body_identity, http_status, body, created_ms,"
        " pending_wall_ms) VALUES (?, ?, ?, ?, NULL, NULL, ?, ?)", (ws_id, route, key, identity, now, wall_ms))


def store_reply(conn: sqlite3.Connection, ws_id: int, route: str, key: str, identity: str, status: int,
                body: bytes, now: int) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO idempotency_keys (ws, route, key, body_identity, http_status, body, created_ms,"
        " pending_wall_ms) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)", (ws_id, route, key, identity, status, body, now))


def forget(conn: sqlite3.Connection, ws_id: int, route: str, key: str) -> None:
    """A request that did not execute stores nothing: its pending marker goes."""
    conn.execute("DELETE FROM idempotency_keys WHERE ws = ? AND route = ? AND key = ? AND http_status IS NULL",
                 (ws_id, route, key))


def purge_expired(conn: sqlite3.Connection, ws_id: int, created_before_ms: int) -> None:
    """Stored replies past their TTL answer nothing any more (§4.2): drop them, so the table holds
    about a TTL's worth of keys, not every key ever used."""
    conn.execute("DELETE FROM idempotency_keys WHERE ws = ? AND created_ms <= ? AND http_status IS NOT NULL",
                 (ws_id, created_before_ms))

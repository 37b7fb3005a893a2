"""A pacspace-mock database file opened read-only, for the offline tools (`pacspace-mock export`,
`pacspace-mock inspect`): never a write, never a schema upgrade, safe beside a running `serve`.

The file is opened with SQLite's `mode=ro` URI and read inside one deferred transaction, so every
table comes from the same snapshot while `serve` goes on writing (WAL lets readers and the writer
proceed side by side). What cannot be read is one `Unreadable` with a sentence for the user.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from .schema import SCHEMA_VERSION


class Unreadable(Exception):
    """The file is missing, not an SQLite database, not one of ours, or not of this schema."""


def open_readonly(path: str) -> sqlite3.Connection:
    """A read-only connection on `path` with a read transaction open (one snapshot), rows as
    sqlite3.Row. Raises Unreadable with the reason."""
    if path == ":memory:":
        raise Unreadable(":memory: holds nothing to read: give the database file serve --db wrote")
    if not os.path.exists(path):
        raise Unreadable(f"{path}: no such file")
    if os.path.isdir(path):
        raise Unreadable(f"{path}: is a directory, not a database file")
    uri = Path(path).absolute().as_uri() + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30.0, check_same_thread=False)
    except sqlite3.Error as exc:
        raise Unreadable(f"{path}: cannot open it ({exc})") from None
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("BEGIN")  # deferred: the snapshot is taken by the first read below
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        conn.close()
        if "not a database" in str(exc) or "malformed" in str(exc):
            raise Unreadable(f"{path}: not an SQLite database") from None
        raise Unreadable(f"{path}: cannot read it ({exc})") from None
    if "workspaces" not in tables:
        conn.close()
        raise Unreadable(f"{path}: not a pacspace-mock database (it has no workspaces table)")
    if version != SCHEMA_VERSION:
        conn.close()
        if 0 < version < SCHEMA_VERSION:
            raise Unreadable(f"{path}: schema version {version} is older than this release's {SCHEMA_VERSION};"
                             f" open it once with `pacspace-mock serve --db {path}` to upgrade it")
        raise Unreadable(f"{path}: schema version {version} is not this release's {SCHEMA_VERSION}")
    return conn


def workspaces(conn: sqlite3.Connection, env: str | None = None, public_id: str | None = None) -> list[sqlite3.Row]:
    """Every workspace row in creation order, or the one of (env, public id) (empty if none)."""
    if env is None:
        return conn.execute("SELECT * FROM workspaces ORDER BY id").fetchall()
    return conn.execute("SELECT * FROM workspaces WHERE env = ? AND public_id = ?", (env, public_id)).fetchall()


def grouped_counts(conn: sqlite3.Connection, table: str, column: str) -> dict[int, dict[Any, int]]:
    """workspace rowid -> {value of `column`: rows} for one workspace-scoped table."""
    out: dict[int, dict[Any, int]] = {}
    for ws, value, n in conn.execute(f'SELECT ws, "{column}", COUNT(*) FROM "{table}" GROUP BY ws, "{column}"'):
        out.setdefault(ws, {})[value] = n
    return out


def counts(conn: sqlite3.Connection, table: str, where: str = "") -> dict[int, int]:
    """workspace rowid -> rows of one workspace-scoped table (optionally filtered)."""
    sql = f'SELECT ws, COUNT(*) FROM "{table}"' + (f" WHERE {where}" if where else "") + " GROUP BY ws"
    return {ws: n for ws, n in conn.execute(sql)}


def journal_counts(conn: sqlite3.Connection) -> dict[int, int]:
    """workspace rowid -> journal entries the API shows: the last `journalSize` requests (rows
    past it wait for the next trim, store/journal.py)."""
    return {ws: n for ws, n in conn.execute(
        "SELECT j.ws, COUNT(*) FROM journal j JOIN workspaces w ON w.id = j.ws"
        " WHERE j.seq > w.n_req - COALESCE(json_extract(w.settings, '$.journalSize'), 1000) GROUP BY j.ws")}


def table_rows(conn: sqlite3.Connection) -> dict[str, int]:
    """Rows per table (all workspaces)."""
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                        " AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return {name: conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in names}


def table_sizes(conn: sqlite3.Connection) -> dict[str, int] | None:
    """Bytes per table, its indexes included, from the `dbstat` virtual table; None when this
    SQLite was built without it."""
    try:
        rows = conn.execute(
            "SELECT COALESCE(m.tbl_name, s.name), SUM(s.pgsize) FROM dbstat s"
            " LEFT JOIN sqlite_master m ON m.name = s.name GROUP BY 1").fetchall()
    except sqlite3.OperationalError:
        return None
    return {name: size for name, size in rows}


def page_facts(conn: sqlite3.Connection) -> dict[str, int]:
    return {"pageSize": conn.execute("PRAGMA page_size").fetchone()[0],
            "pageCount": conn.execute("PRAGMA page_count").fetchone()[0],
            "freePages": conn.execute("PRAGMA freelist_count").fetchone()[0]}

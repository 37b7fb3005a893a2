"""Workspace rows: identity, settings, the virtual clock's state, counters, registered keys, and
the webhook endpoint configuration. The rules that use them live in runtime.py (keys, clock
modes) and ledger/ (counters); this module only reads and writes rows."""

from __future__ import annotations

import sqlite3

# every table whose rows belong to one workspace (`ws` column), deleted by a reset (§8.1)
WORKSPACE_TABLES = ("customers", "batches", "deltas", "month_stats", "day_totals", "checkpoints", "events",
                    "idempotency_keys", "fault_rules", "journal")
COUNTERS = ("rec", "chk", "evt", "req", "cust", "flt", "batch")


def find(conn: sqlite3.Connection, env: str, public_id: str, key: str) -> tuple[sqlite3.Row | None, bool | None]:
    """The workspace row of (env, public id), if any, and whether the full key is registered
    (True active, False disabled, None not registered): one statement."""
    row = conn.execute(
        "SELECT (SELECT active FROM api_keys WHERE key = ?1) AS key_active, w.* FROM (SELECT 1)"
        " LEFT JOIN workspaces w ON w.env = ?2 AND w.public_id = ?3",
        (key, env, public_id),
    ).fetchone()
    registered = None if row["key_active"] is None else bool(row["key_active"])
    return (row if row["id"] is not None else None), registered


_COUNT_REQUEST = (
    "UPDATE workspaces SET n_req = n_req + 1, clock_last_ms = MAX(COALESCE(clock_last_ms, 0),"
    " CASE clock_mode WHEN 'frozen' THEN clock_frozen_ms ELSE ?1 + COALESCE(clock_offset_ms, 0) END)"
)


def count_request_by_key(conn: sqlite3.Connection, env: str, public_id: str, key: str,
                         wall_ms: int) -> sqlite3.Row | None:
    """One statement for a request of an existing workspace: take its request number and read its
    clock (stored as the last reading: n_req and clock_last_ms of the row returned are the request's
    number and now) and whether the full key is registered (`key_active`). None: no workspace yet."""
    return conn.execute(
        f"{_COUNT_REQUEST} WHERE env = ?2 AND public_id = ?3"
        " RETURNING *, (SELECT active FROM api_keys WHERE key = ?4) AS key_active",
        (wall_ms, env, public_id, key),
    ).fetchone()


def count_request_by_id(conn: sqlite3.Connection, ws_id: int, wall_ms: int) -> sqlite3.Row:
    """The same for a workspace found from the object a public route addresses."""
    return conn.execute(f"{_COUNT_REQUEST} WHERE id = ?2 RETURNING *", (wall_ms, ws_id)).fetchone()


def load(conn: sqlite3.Connection, ws_id: int) -> sqlite3.Row:
    return conn.execute("SELECT * FROM workspaces WHERE id = ?", (ws_id,)).fetchone()


def create(conn: sqlite3.Connection, env: str, public_id: str, created_ms: int, settings: str) -> int:
    return conn.execute(
        "INSERT INTO workspaces (env, public_id, created_ms, settings, clock_mode, clock_offset_ms,"
        " clock_frozen_ms, clock_last_ms, n_rec, n_chk, n_evt, n_req, n_cust, n_flt, n_batch)"
        " VALUES (?, ?, ?, ?, 'real', 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0)",
        (env, public_id, created_ms, settings),
    ).lastrowid


def save_settings(conn: sqlite3.Connection, ws_id: int, settings: str) -> None:
    conn.execute("UPDATE workspaces SET settings = ? WHERE id = ?", (settings, ws_id))


def next_number(conn: sqlite3.Connection, ws_id: int, kind: str, count: int = 1) -> int:
    """Reserve `count` numbers of a counter (§9); returns the first."""
    if kind not in COUNTERS:
        raise ValueError(f"no counter {kind!r}")
    column = f"n_{kind}"
    return conn.execute(
        f"UPDATE workspaces SET {column} = {column} + ? WHERE id = ? RETURNING {column}", (count, ws_id)
    ).fetchone()[0] - count + 1


# --- the clock's stored state ---------------------------------------------------------------------

def clock_state(conn: sqlite3.Connection, ws_id: int) -> tuple[str, int, int | None, int]:
    """(mode, offset ms, frozen ms, last reading ms)."""
    mode, offset, frozen, last = conn.execute(
        "SELECT clock_mode, clock_offset_ms, clock_frozen_ms, clock_last_ms FROM workspaces WHERE id = ?", (ws_id,)
    ).fetchone()
    return mode, offset or 0, frozen, last or 0


def count_request(conn: sqlite3.Connection, ws_id: int, now: int) -> int:
    """Store a request's clock reading and take its request number (one statement)."""
    return conn.execute(
        "UPDATE workspaces SET n_req = n_req + 1, clock_last_ms = ? WHERE id = ? RETURNING n_req", (now, ws_id)
    ).fetchone()[0]


def store_reading(conn: sqlite3.Connection, ws_id: int, now: int) -> None:
    conn.execute("UPDATE workspaces SET clock_last_ms = ? WHERE id = ?", (now, ws_id))


def store_clock(conn: sqlite3.Connection, ws_id: int, mode: str, offset: int, frozen: int | None,
                last: int | None) -> None:
    """Write the clock's mode, offset and frozen instant (and the last reading, unless None)."""
    if last is None:
        conn.execute("UPDATE workspaces SET clock_mode = ?, clock_offset_ms = ?, clock_frozen_ms = ? WHERE id = ?",
                     (mode, offset, frozen, ws_id))
    else:
        conn.execute(
            "UPDATE workspaces SET clock_mode = ?, clock_offset_ms = ?, clock_frozen_ms = ?, clock_last_ms = ?"
            " WHERE id = ?", (mode, offset, frozen, last, ws_id))


def schedule_due(conn: sqlite3.Connection, ws_id: int, due_ms: int) -> None:
    """Remember the earliest pending transition, so requests with nothing due skip the lookup."""
    conn.execute("UPDATE workspaces SET next_due_ms = MIN(COALESCE(next_due_ms, ?1), ?1) WHERE id = ?2",
                 (due_ms, ws_id))


# --- reset, history, counts, listing ---------------------------------------------------------------

def reset(conn: sqlite3.Connection, ws_id: int, settings: str) -> None:
    """Delete every row of the workspace and restart its counters, clock and configuration (§8.1)."""
    for (rowid,) in conn.execute("SELECT id FROM checkpoints WHERE ws = ?", (ws_id,)).fetchall():
        conn.execute("DELETE FROM checkpoint_items WHERE checkpoint = ?", (rowid,))
        conn.execute("DELETE FROM checkpoint_trees WHERE checkpoint = ?", (rowid,))
    conn.execute("DELETE FROM access_attempts WHERE customer IN (SELECT id FROM customers WHERE ws = ?)", (ws_id,))
    for table in WORKSPACE_TABLES:
        conn.execute(f"DELETE FROM {table} WHERE ws = ?", (ws_id,))
    conn.execute(
        "UPDATE workspaces SET settings = ?, clock_mode = 'real', clock_offset_ms = 0, clock_frozen_ms = NULL,"
        " clock_last_ms = 0, n_rec = 0, n_chk = 0, n_evt = 0, n_req = 0, n_cust = 0, n_flt = 0, n_batch = 0,"
        " last_batch_hash = NULL, next_due_ms = NULL, webhook_config = NULL WHERE id = ?",
        (settings, ws_id),
    )


def keep_only(conn: sqlite3.Connection, env: str, public_id: str) -> None:
    """Delete the rows of every workspace but one, and the keys of the others: a copy of the state
    file that holds one workspace (the pytest plugin's --pacspace-keep-db)."""
    row = conn.execute("SELECT id FROM workspaces WHERE env = ? AND public_id = ?", (env, public_id)).fetchone()
    ws_id = row[0] if row else -1
    conn.execute("DELETE FROM checkpoint_items WHERE checkpoint IN (SELECT id FROM checkpoints WHERE ws != ?)",
                 (ws_id,))
    conn.execute("DELETE FROM checkpoint_trees WHERE checkpoint IN (SELECT id FROM checkpoints WHERE ws != ?)",
                 (ws_id,))
    conn.execute("DELETE FROM access_attempts WHERE customer IN (SELECT id FROM customers WHERE ws != ?)", (ws_id,))
    for table in WORKSPACE_TABLES:
        conn.execute(f"DELETE FROM {table} WHERE ws != ?", (ws_id,))
    conn.execute("DELETE FROM api_keys WHERE env != ? OR public_id != ?", (env, public_id))
    conn.execute("DELETE FROM workspaces WHERE id != ?", (ws_id,))


def has_history(conn: sqlite3.Connection, ws_id: int) -> bool:
    """Whether anything timestamped was recorded (then the clock may not run backwards)."""
    return any(
        conn.execute(f"SELECT 1 FROM {table} WHERE ws = ? LIMIT 1", (ws_id,)).fetchone()
        for table in ("customers", "deltas", "checkpoints", "events")
    )


def counts(conn: sqlite3.Connection, ws_id: int) -> dict[str, int]:
    def count(table: str) -> int:
        return conn.execute(f"SELECT COUNT(*) FROM {table} WHERE ws = ?", (ws_id,)).fetchone()[0]

    return {"customers": count("customers"), "deltas": count("deltas"), "checkpoints": count("checkpoints"),
            "events": count("events")}


def count_all(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COUNT(*) FROM workspaces").fetchone()[0]


def list_all(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT w.id, w.env, w.public_id, w.created_ms, (SELECT COUNT(*) FROM deltas d WHERE d.ws = w.id) AS deltas"
        " FROM workspaces w ORDER BY w.id"
    ).fetchall()


def all_settings(conn: sqlite3.Connection) -> list[tuple[int, str]]:
    return [(r[0], r[1]) for r in conn.execute("SELECT id, settings FROM workspaces")]


# --- registered keys (§8.9) -------------------------------------------------------------------------

def list_keys(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM api_keys ORDER BY key").fetchall()


def put_key(conn: sqlite3.Connection, key: str, env: str, public_id: str, active: bool) -> sqlite3.Row:
    conn.execute("INSERT OR REPLACE INTO api_keys (key, env, public_id, active) VALUES (?, ?, ?, ?)",
                 (key, env, public_id, int(active)))
    return conn.execute("SELECT * FROM api_keys WHERE key = ?", (key,)).fetchone()


def delete_key(conn: sqlite3.Connection, key: str) -> bool:
    return bool(conn.execute("DELETE FROM api_keys WHERE key = ?", (key,)).rowcount)


# --- the webhook endpoint configuration (§8.8) --------------------------------------------------------

def webhook_config(conn: sqlite3.Connection, ws_id: int) -> str | None:
    return conn.execute("SELECT webhook_config FROM workspaces WHERE id = ?", (ws_id,)).fetchone()[0]


def save_webhook_config(conn: sqlite3.Connection, ws_id: int, config: str) -> None:
    conn.execute("UPDATE workspaces SET webhook_config = ? WHERE id = ?", (config, ws_id))


# --- the dev console's reads (mockserver/console/) ----------------------------------------------------

def exists(conn: sqlite3.Connection, ws_id: int) -> bool:
    return conn.execute("SELECT 1 FROM workspaces WHERE id = ?", (ws_id,)).fetchone() is not None


_OVERVIEW = (
    "SELECT w.id, w.env, w.public_id, w.created_ms, w.clock_mode, w.clock_offset_ms, w.clock_frozen_ms,"
    " w.clock_last_ms, w.next_due_ms, w.n_req, w.n_rec, w.n_chk, w.n_evt, w.n_flt,"
    " (SELECT COUNT(*) FROM customers c WHERE c.ws = w.id) AS customers,"
    " (SELECT COUNT(*) FROM fault_rules f WHERE f.ws = w.id) AS rules,"
    " (SELECT j.at_ms FROM journal j WHERE j.ws = w.id ORDER BY j.seq DESC LIMIT 1) AS last_request_ms"
    " FROM workspaces w"
)


def overview(conn: sqlite3.Connection, ws_id: int | None = None) -> list[sqlite3.Row]:
    """Every workspace (or one) with its clock state, counters, customer and rule counts and the
    virtual time of its newest journaled request, in creation order. Reads only."""
    if ws_id is not None:
        return conn.execute(f"{_OVERVIEW} WHERE w.id = ?", (ws_id,)).fetchall()
    return conn.execute(f"{_OVERVIEW} ORDER BY w.id").fetchall()

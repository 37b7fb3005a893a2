"""Tables and indexes. Every row is scoped by workspace (`ws`); queries use the indexes below so
that a customer's derive or checkpoint never scans other customers' rows.

The DDL is generated here from TABLES, in the form sqlite-utils writes (so files created by
earlier versions have the same schema text): importing sqlite-utils took ~40 ms of every
process start, a fifth of the pytest plugin's session budget, for twenty lines of SQL.
"""

from __future__ import annotations

import sqlite3
from typing import Callable, Union

SCHEMA_VERSION = 2

TABLES: dict[str, dict] = {
    "workspaces": dict(
        columns={
            "id": int, "env": str, "public_id": str, "created_ms": int, "settings": str,
            "clock_mode": str, "clock_offset_ms": int, "clock_frozen_ms": int, "clock_last_ms": int,
            "n_rec": int, "n_chk": int, "n_evt": int, "n_req": int, "n_cust": int, "n_flt": int,
            "n_batch": int, "last_batch_hash": str, "next_due_ms": int, "webhook_config": str,
        },
        pk="id",
        not_null={"env", "public_id", "created_ms", "settings"},
    ),
    "customers": dict(
        columns={
            "id": int, "ws": int, "customer_id": str, "handle": str, "access_code": str,
            "customer_reference": str, "customer_partition": str, "display_name": str,
            "sharing_state_hint": str, "event_cadence": str, "unit_label": str, "source": str,
            "created_ms": int, "last_sequence": int, "last_recorded_ms": int,
        },
        pk="id",
        not_null={"ws", "customer_id", "handle"},
    ),
    "batches": dict(
        columns={
            "id": int, "ws": int, "batch_sequence": int, "item_count": int, "items_root": str,
            "previous_proof_hash": str, "proof_hash": str, "anchor": str, "created_ms": int,
            "processing_due_ms": int, "verify_due_ms": int, "state": str, "fail_message": str,
            # what the batch's delta.verified events said that the ledger does not keep: the
            # month's verified count and net before the batch, and the usage at that instant (JSON)
            "event_facts": str,
        },
        pk="id",
        not_null={"ws", "batch_sequence", "proof_hash"},
    ),
    "deltas": dict(
        columns={
            "id": int, "ws": int, "n": int, "record_id": str, "customer": int, "customer_id": str,
            "sequence": int, "amount": str, "units": int, "frac_hi": int, "frac_lo": int,
            "reason": str, "reference_id": str, "metadata": str, "adjusts": str,
            # receiptId is the batch's proof hash: read through `batch`, not stored per delta
            "metadata_digest": str, "fingerprint": str, "batch": int, "batch_index": int,
            "recorded_ms": int, "status": str, "processing_ms": int, "verified_ms": int,
            "failed_ms": int, "error_message": str,
        },
        pk="id",
        not_null={"ws", "record_id", "customer", "sequence", "amount", "fingerprint", "status"},
    ),
    "month_stats": dict(
        columns={"ws": int, "period": str, "consumed": int, "verified_count": int, "verified_net": str},
        pk=("ws", "period"),
    ),
    # VERIFIED deltas per customer and UTC day (`day` = recorded_ms // 86 400 000): a month's or
    # a window's balance sums at most 31 rows plus the partial days at its edges, however many
    # deltas it holds (ledger/derive.py); kept in the transaction that verifies them
    "day_totals": dict(
        columns={"ws": int, "customer": int, "day": int, "count": int, "units": int, "frac_hi": int,
                 "frac_lo": int, "max_sequence": int},
        pk=("customer", "day"),
        not_null={"ws", "customer", "day", "count", "units", "frac_hi", "frac_lo", "max_sequence"},
    ),
    "checkpoints": dict(
        columns={
            "id": int, "ws": int, "n": int, "checkpoint_id": str, "customer": int, "customer_id": str,
            "mode": str, "month_scope": int, "start_ms": int, "end_ms": int, "period": str,
            "selection": str, "covered_key": str, "tree_size": int, "items_root": str,
            "from_sequence": int, "to_sequence": int, "net_change": str, "total_credits": str,
            "total_debits": str, "windows": str, "previous_proof_root": str, "proof_root": str, "preimage": str,
            "anchor": str, "scope": str, "status": str, "created_ms": int, "verify_due_ms": int,
            "verified_ms": int, "failed_ms": int, "fail_message": str, "supersedes": str,
            "superseded_by": str, "receipt_generated": int,
        },
        pk="id",
        not_null={"ws", "checkpoint_id", "customer", "proof_root", "status"},
    ),
    "checkpoint_items": dict(
        columns={"checkpoint": int, "leaf_index": int, "delta": int},
        pk=("checkpoint", "leaf_index"),
    ),
    "checkpoint_trees": dict(
        columns={"checkpoint": int, "level": int, "hashes": bytes},
        pk=("checkpoint", "level"),
    ),
    "events": dict(
        columns={
            "id": int, "ws": int, "n": int, "event_id": str, "event": str, "created_ms": int,
            # body: the exact JSON text, or NULL when it is rendered from the ledger (delta
            # events, from the delta row `source` and its batch: ledger/events.py)
            "body": str, "source": int, "customer_id": str, "delivery_status": str, "attempts": int,
            "auto_attempts": int, "next_attempt_ms": int, "last_attempt_ms": int,
            "last_response_status": int, "last_error": str, "delivered_ms": int, "url": str,
            "captured": int, "attempt_log": str,
            # wall-clock ms until which a delivery attempt is in flight outside the store lock
            "claimed_until_ms": int,
        },
        pk="id",
        not_null={"ws", "event_id", "event"},
    ),
    "fault_rules": dict(
        columns={"id": int, "ws": int, "n": int, "rule": str, "matched": int, "fired": int, "created_ms": int},
        pk="id",
        not_null={"ws", "n", "rule"},
    ),
    "journal": dict(
        # entry: the §8.7 object (JSON); at_ms and keys (customer and reference ids, each
        # "\x1fc:<id>" / "\x1fr:<id>") for filtering; exchange: the recorded request and reply
        # (control/journal.py), zlib-compressed when large
        columns={"id": int, "ws": int, "seq": int, "route": str, "status": int, "entry": str, "at_ms": int,
                 "keys": str, "exchange": bytes},
        pk="id",
        not_null={"ws", "seq", "entry"},
    ),
    "access_attempts": dict(
        columns={"id": int, "customer": int, "at_ms": int},
        pk="id",
        not_null={"customer", "at_ms"},
    ),
    "api_keys": dict(
        columns={"key": str, "env": str, "public_id": str, "active": int},
        pk="key",
    ),
    "idempotency_keys": dict(
        columns={
            "ws": int, "route": str, "key": str, "body_identity": str, "http_status": int,
            "body": bytes, "created_ms": int,
            # wall-clock ms at which a request with this key began executing; NULL once it replied
            "pending_wall_ms": int,
        },
        pk=("ws", "route", "key"),
    ),
}

INDEXES: list[tuple[str, list[str], bool, str | None]] = [
    ("workspaces", ["env", "public_id"], True, None),
    ("customers", ["ws", "customer_id"], True, None),
    ("customers", ["handle"], True, None),
    ("batches", ["ws", "batch_sequence"], True, None),
    ("batches", ["proof_hash"], True, None),
    ("deltas", ["ws", "record_id"], True, None),
    ("deltas", ["customer", "sequence"], True, None),
    ("deltas", ["ws", "customer_id", "reference_id"], True, "reference_id IS NOT NULL"),
    # derive: sums over one customer's VERIFIED window read from the index alone
    ("deltas", ["customer", "status", "recorded_ms", "sequence", "units", "frac_hi", "frac_lo"], False, None),
    ("deltas", ["customer", "recorded_ms"], False, None),
    # a receipt's uncovered count: the customer's deltas verified since its checkpoint was made
    ("deltas", ["customer", "verified_ms", "recorded_ms"], False, "status = 'VERIFIED'"),
    ("deltas", ["batch"], False, None),
    ("deltas", ["ws", "recorded_ms"], False, None),
    ("checkpoints", ["ws", "checkpoint_id"], True, None),
    ("checkpoints", ["proof_root"], True, None),
    ("checkpoints", ["customer", "start_ms", "end_ms", "month_scope", "selection", "n"], False, None),
    ("checkpoints", ["ws", "n"], False, None),
    ("checkpoints", ["ws", "verify_due_ms"], False, "status = 'QUEUED'"),
    # processing is never due after verification, so "anything due" is processing_due_ms <= t
    ("batches", ["ws", "processing_due_ms"], False, "state != 'DONE'"),
    ("events", ["ws", "event_id"], True, None),
    ("events", ["ws", "n"], False, None),
    # the next due delivery, in event order at equal times, straight from the index (no re-sort)
    ("events", ["ws", "next_attempt_ms", "n"], False, "delivery_status = 'pending'"),
    ("fault_rules", ["ws", "n"], True, None),
    ("checkpoint_items", ["delta"], False, None),
    ("access_attempts", ["customer", "at_ms"], False, None),
    ("journal", ["ws", "seq"], False, None),
    ("idempotency_keys", ["ws", "created_ms"], False, None),
]


SQL_TYPES = {int: "INTEGER", str: "TEXT", bytes: "BLOB"}


def rebuild(table: str) -> Callable[[sqlite3.Connection], None]:
    """A migration step that gives an existing table the current definition (SQLite cannot drop a
    NOT NULL or, before 3.35, a column in place): a new table, the shared columns copied, the old
    one dropped, the new one renamed, its indexes made again."""

    def step(conn: sqlite3.Connection) -> None:
        old = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
        shared = ", ".join(f'"{c}"' for c in TABLES[table]["columns"] if c in old)
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
                                    " AND sql IS NOT NULL", (table,)).fetchall():
            conn.execute(f'DROP INDEX "{name}"')
        conn.execute(table_sql(f"{table}__new", TABLES[table]))
        conn.execute(f'INSERT INTO "{table}__new" ({shared}) SELECT {shared} FROM "{table}"')
        conn.execute(f'DROP TABLE "{table}"')
        conn.execute(f'ALTER TABLE "{table}__new" RENAME TO "{table}"')
        create_indexes(conn, table)

    return step


# What each older version needs to become the current one, in order (files written by earlier
# releases open and are upgraded in place, in the transaction that opens them). Version 1 events
# keep their stored bodies; version 1 deltas lose the receipt_id copy of their batch's hash.
MIGRATIONS: dict[int, list[Union[str, Callable[[sqlite3.Connection], None]]]] = {
    1: ['ALTER TABLE "idempotency_keys" ADD COLUMN "pending_wall_ms" INTEGER',
        'ALTER TABLE "batches" ADD COLUMN "event_facts" TEXT',
        'ALTER TABLE "journal" ADD COLUMN "at_ms" INTEGER', 'ALTER TABLE "journal" ADD COLUMN "keys" TEXT',
        'ALTER TABLE "journal" ADD COLUMN "exchange" BLOB',
        rebuild("events"), rebuild("deltas"), lambda conn: create_table(conn, "day_totals"),
        lambda conn: create_indexes(conn, "idempotency_keys"),
        "INSERT INTO day_totals (ws, customer, day, count, units, frac_hi, frac_lo, max_sequence)"
        " SELECT ws, customer, recorded_ms / 86400000, COUNT(*), SUM(units), SUM(frac_hi), SUM(frac_lo), MAX(sequence)"
        " FROM deltas WHERE status = 'VERIFIED' GROUP BY customer, recorded_ms / 86400000"],
}


def create_table(conn: sqlite3.Connection, name: str) -> None:
    conn.execute(table_sql(name, TABLES[name]))
    create_indexes(conn, name)


def create_indexes(conn: sqlite3.Connection, only: str | None = None) -> None:
    for table, columns, unique, where in INDEXES:
        if only is not None and table != only:
            continue
        index_name = f"idx_{table}_{'_'.join(columns)}"
        conn.execute(
            f"CREATE {'UNIQUE ' if unique else ''}INDEX IF NOT EXISTS {index_name} "
            f"ON {table} ({', '.join(columns)})" + (f" WHERE {where}" if where else "")
        )


def table_sql(name: str, spec: dict) -> str:
    """CREATE TABLE for one entry of TABLES: a single `pk` is the column's PRIMARY KEY (an
    INTEGER one is the rowid), a tuple a table constraint; `not_null` columns are NOT NULL."""
    pk, not_null = spec["pk"], spec.get("not_null", ())
    lines = [
        f'   "{column}" {SQL_TYPES[kind]}' + (" PRIMARY KEY" if column == pk else "")
        + (" NOT NULL" if column in not_null else "")
        for column, kind in spec["columns"].items()
    ]
    if isinstance(pk, tuple):
        quoted = [f'"{column}"' for column in pk]
        lines.append(f"   PRIMARY KEY ({', '.join(quoted)})")
    return f'CREATE TABLE IF NOT EXISTS "{name}" (\n' + ",\n".join(lines) + "\n)"


def create_schema(conn: sqlite3.Connection) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if 0 < version < SCHEMA_VERSION and all(v in MIGRATIONS for v in range(version, SCHEMA_VERSION)):
        for v in range(version, SCHEMA_VERSION):
            for step in MIGRATIONS[v]:
                step(conn) if callable(step) else conn.execute(step)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return
    if version != 0:
        raise RuntimeError(f"database schema version {version} is not {SCHEMA_VERSION}")
    for name, spec in TABLES.items():
        conn.execute(table_sql(name, spec))
    create_indexes(conn)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

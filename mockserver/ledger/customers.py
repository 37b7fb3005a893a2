"""Customers: created by their first delta or by the dashboard route (balance-api.md §5.0.6)."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import Any

from .. import ids
from ..errors import ApiError, customer_not_found
from ..proofs.primitives import format_ts, month_start_ms, month_of, period_of
from .amounts import join_sums
from .context import RECEIPT_ID, Ctx

CUSTOMER_COLUMNS = (
    "id, customer_id, handle, access_code, customer_reference, customer_partition, display_name,"
    " sharing_state_hint, event_cadence, unit_label, source, created_ms, last_sequence, last_recorded_ms"
)


def find_customer(ctx: Ctx, customer_id: str) -> sqlite3.Row | None:
    return ctx.conn.execute(
        f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE ws = ? AND customer_id = ?", (ctx.ws.id, customer_id)
    ).fetchone()


def find_customers(ctx: Ctx, customer_ids: list[str]) -> dict[str, sqlite3.Row]:
    """The existing customers among customer_ids, by id (a statement per 400 ids)."""
    found: dict[str, sqlite3.Row] = {}
    for start in range(0, len(customer_ids), 400):
        chunk = customer_ids[start:start + 400]
        for row in ctx.conn.execute(
            f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE ws = ? AND customer_id IN ({','.join('?' * len(chunk))})",
            [ctx.ws.id, *chunk],
        ):
            found[row["customer_id"]] = row
    return found


def customer_by_rowid(ctx: Ctx, rowid: int) -> sqlite3.Row:
    return ctx.conn.execute(f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = ?", (rowid,)).fetchone()


def require_customer(ctx: Ctx, customer_id: str) -> sqlite3.Row:
    row = find_customer(ctx, customer_id)
    if row is None:
        raise customer_not_found(customer_id)
    return row


def _free_handle(ctx: Ctx, customer_id: str) -> str:
    k = 0
    while True:
        handle = ids.handle_candidate(ctx.ws.seed, ctx.ws.env, ctx.ws.public_id, customer_id, k)
        if ctx.conn.execute("SELECT 1 FROM customers WHERE handle = ?", (handle,)).fetchone() is None:
            return handle
        k += 1


def create_customer(
    ctx: Ctx,
    customer_id: str,
    *,
    source: str,
    display_name: str | None = None,
    sharing_state_hint: str = "INHERIT",
    event_cadence: str = "PER_EVENT",
    unit_label: str = "units",
) -> sqlite3.Row:
    ws = ctx.ws
    reference, partition = ids.customer_reference(ws.env, ws.public_id, customer_id)
    ctx.conn.execute(
        "INSERT INTO customers (ws, customer_id, handle, access_code, customer_reference, customer_partition,"
        " display_name, sharing_state_hint, event_cadence, unit_label, source, created_ms, last_sequence,"
        " last_recorded_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL)",
        (
            ws.id, customer_id, _free_handle(ctx, customer_id),
            ctx.runtime.access_code(ctx.conn, ws, customer_id), reference, partition,
            display_name, sharing_state_hint, event_cadence, unit_label, source, ctx.now,
        ),
    )
    return find_customer(ctx, customer_id)


def shared_record_on(ctx: Ctx, customer: sqlite3.Row) -> bool:
    hint = customer["sharing_state_hint"] or "INHERIT"
    return hint == "ENABLED" or (hint == "INHERIT" and bool(ctx.ws.settings.get("sharedRecord", True)))


def customer_link(ctx: Ctx, customer: sqlite3.Row) -> str:
    return f"{ctx.origin}/c/{customer['handle']}"


def _verified_total(ctx: Ctx, customer_rowid: int) -> tuple[int, Decimal]:
    row = ctx.conn.execute(
        "SELECT COUNT(*), SUM(units), SUM(frac_hi), SUM(frac_lo) FROM deltas"
        " WHERE customer = ? AND status = 'VERIFIED'",
        (customer_rowid,),
    ).fetchone()
    return row[0], join_sums(row[1], row[2], row[3])


def _page_meta(total: int, page: int, limit: int) -> dict[str, int]:
    return {"total": total, "page": page, "limit": limit, "totalPages": -(-total // limit) if total else 0}


def list_customers(ctx: Ctx, search: str | None, limit: int, page: int) -> dict[str, Any]:
    where, args = "ws = ?", [ctx.ws.id]
    if search is not None:
        where += " AND (instr(lower(customer_id), ?) > 0 OR instr(lower(coalesce(display_name, '')), ?) > 0)"
        args += [search.lower(), search.lower()]
    total = ctx.conn.execute(f"SELECT COUNT(*) FROM customers WHERE {where}", args).fetchone()[0]
    rows = ctx.conn.execute(
        f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE {where} ORDER BY customer_id LIMIT ? OFFSET ?",
        [*args, limit, (page - 1) * limit],
    ).fetchall()
    customers = []
    for c in rows:
        stats = ctx.conn.execute(
            "SELECT COUNT(*), MIN(recorded_ms), MAX(recorded_ms) FROM deltas WHERE customer = ?", (c["id"],)
        ).fetchone()
        verified_count, verified_sum = _verified_total(ctx, c["id"])
        customers.append(
            {
                "customerId": c["customer_id"],
                "customerReference": c["customer_reference"],
                "ledgerIdentifier": c["customer_reference"],
                "displayName": c["display_name"],
                "totalDeltas": stats[0],
                "verifiedDeltas": verified_count,
                "computedBalance": verified_sum,
                "firstDeltaAt": format_ts(stats[1]) if stats[1] is not None else None,
                "lastDeltaAt": format_ts(stats[2]) if stats[2] is not None else None,
                "handle": c["handle"],
                "source": c["source"],
                "createdAt": format_ts(c["created_ms"]),
            }
        )
    return {"customers": customers, "pagination": _page_meta(total, page, limit)}


def customers_summary(ctx: Ctx) -> dict[str, Any]:
    conn, ws = ctx.conn, ctx.ws
    year, month = month_of(ctx.now)
    start, end = month_start_ms(year, month), month_start_ms(year, month + 1)
    total_customers = conn.execute("SELECT COUNT(*) FROM customers WHERE ws = ?", (ws.id,)).fetchone()[0]
    active, this_period = conn.execute(
        "SELECT COUNT(DISTINCT customer), COUNT(*) FROM deltas WHERE ws = ? AND recorded_ms >= ? AND recorded_ms < ?",
        (ws.id, start, end),
    ).fetchone()
    counts = dict(conn.execute("SELECT status, COUNT(*) FROM deltas WHERE ws = ? GROUP BY status", (ws.id,)).fetchall())
    net = conn.execute(
        "SELECT SUM(units), SUM(frac_hi), SUM(frac_lo) FROM deltas WHERE ws = ? AND status = 'VERIFIED'", (ws.id,)
    ).fetchone()
    checkpoints = conn.execute("SELECT COUNT(*) FROM checkpoints WHERE ws = ?", (ws.id,)).fetchone()[0]
    return {
        "totalCustomers": total_customers,
        "activeCustomers": active,
        "period": period_of(ctx.now),
        "deltasThisPeriod": this_period,
        "totalDeltas": sum(counts.values()),
        "verifiedDeltas": counts.get("VERIFIED", 0),
        "pendingDeltas": counts.get("QUEUED", 0) + counts.get("PROCESSING", 0),
        "failedDeltas": counts.get("FAILED", 0),
        "netBalance": join_sums(*net),
        "checkpointCount": checkpoints,
        "asOf": format_ts(ctx.now),
    }


def customer_detail(ctx: Ctx, customer_id: str, delta_page: int, delta_limit: int, period: str | None) -> dict[str, Any]:
    c = require_customer(ctx, customer_id)
    conn = ctx.conn
    total_deltas = conn.execute("SELECT COUNT(*) FROM deltas WHERE customer = ?", (c["id"],)).fetchone()[0]
    _, balance = _verified_total(ctx, c["id"])
    latest = conn.execute(
        "SELECT checkpoint_id FROM checkpoints WHERE customer = ? ORDER BY n DESC LIMIT 1", (c["id"],)
    ).fetchone()
    chosen = period or period_of(ctx.now)
    year, month = int(chosen[:4]), int(chosen[5:7])
    start, end = month_start_ms(year, month), month_start_ms(year, month + 1)
    window = "customer = ? AND recorded_ms >= ? AND recorded_ms < ?"
    records = conn.execute(f"SELECT COUNT(*) FROM deltas WHERE {window}", (c["id"], start, end)).fetchone()[0]
    recorded = conn.execute(
        f"SELECT SUM(units), SUM(frac_hi), SUM(frac_lo) FROM deltas WHERE {window} AND status != 'FAILED'",
        (c["id"], start, end),
    ).fetchone()
    verified = conn.execute(
        f"SELECT COUNT(*), SUM(units), SUM(frac_hi), SUM(frac_lo) FROM deltas WHERE {window} AND status = 'VERIFIED'",
        (c["id"], start, end),
    ).fetchone()
    activity_where, activity_args = ("customer = ?", [c["id"]])
    if period is not None:
        activity_where, activity_args = window, [c["id"], start, end]
    activity_total = conn.execute(f"SELECT COUNT(*) FROM deltas WHERE {activity_where}", activity_args).fetchone()[0]
    from ..proofs.objects import anchor_reference

    items = []
    for d in conn.execute(
        f"SELECT record_id, sequence, amount, reason, reference_id, status, recorded_ms, {RECEIPT_ID} FROM deltas"
        f" WHERE {activity_where} ORDER BY sequence DESC LIMIT ? OFFSET ?",
        [*activity_args, delta_limit, (delta_page - 1) * delta_limit],
    ):
        items.append(
            {
                "recordId": d["record_id"],
                "sequence": d["sequence"],
                "delta": Decimal(d["amount"]),
                "reason": d["reason"],
                "referenceId": d["reference_id"],
                "status": d["status"],
                "time": format_ts(d["recorded_ms"]),
                "verificationReference": anchor_reference(d["receipt_id"]) if d["status"] == "VERIFIED" else None,
            }
        )
    on = shared_record_on(ctx, c)
    return {
        "customerId": c["customer_id"],
        "displayName": c["display_name"],
        "customerReference": c["customer_reference"],
        "ledgerIdentifier": c["customer_reference"],
        "customerPartition": c["customer_partition"],
        "handle": c["handle"],
        "source": c["source"],
        "totalDeltas": total_deltas,
        "computedBalance": balance,
        "latestCheckpoint": latest[0] if latest else None,
        "period": chosen,
        "recordsThisPeriod": records,
        "recordedThisPeriod": join_sums(*recorded),
        "verifiedThisPeriod": join_sums(verified[1], verified[2], verified[3]),
        "verifiedCountThisPeriod": verified[0],
        "sharedRecord": {
            "enabled": on,
            "url": customer_link(ctx, c) if on else None,
            "accessHint": c["access_code"] if on else None,
            "policy": "TWO_TIER",
        },
        "recentActivity": {"items": items, "pagination": _page_meta(activity_total, delta_page, delta_limit)},
    }


def dashboard_customer_object(c: sqlite3.Row) -> dict[str, Any]:
    return {
        "customerId": c["customer_id"],
        "displayName": c["display_name"],
        "sharingStateHint": c["sharing_state_hint"],
        "eventCadence": c["event_cadence"],
        "unitLabel": c["unit_label"],
        "source": c["source"],
        "handle": c["handle"],
        "customerReference": c["customer_reference"],
        "createdAt": format_ts(c["created_ms"]),
    }


def create_dashboard_customer(ctx: Ctx, body: dict[str, Any]) -> dict[str, Any]:
    from .events import write_event

    customer_id = body.get("customerId")
    if customer_id is None:
        customer_id = ctx.counted_id("cust", ctx.next_number("cust"))
    existing = find_customer(ctx, customer_id)
    if existing is not None:
        source = existing["source"]
        if source == "integration":
            message = (f"Customer {customer_id!r} already exists from integration records; nothing was created")
        else:
            message = f"Customer {customer_id!r} already exists"
        raise ApiError("CUSTOMER_ALREADY_EXISTS", message, details={"customerId": customer_id, "source": source})
    row = create_customer(
        ctx,
        customer_id,
        source="manual",
        display_name=body["displayName"],
        sharing_state_hint=body.get("sharingStateHint") or "INHERIT",
        event_cadence=body.get("eventCadence") or "PER_EVENT",
        unit_label=body.get("unitLabel") or "units",
    )
    obj = dashboard_customer_object(row)
    write_event(ctx, "customer.created", obj, ctx.now, customer_id)
    return obj

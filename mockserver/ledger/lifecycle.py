"""Lifecycle transitions on the virtual clock (balance-api.md §3.2, §3.3).

Transitions are applied, never computed per read: at the start of every request of the
workspace and during clock moves, in due-time order (delta PROCESSING, then delta
VERIFIED/FAILED, then checkpoint VERIFIED/FAILED at equal times, then creation order). Each
transition that fires a webhook writes its event with createdAt = the due time.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..proofs.primitives import canonical_decimal, period_of
from .amounts import add
from .context import Ctx
from .deltas import VERIFICATION_FAILED_MESSAGE, usage_consumed
from .events import event_facts, write_delta_events, write_event

KIND_ORDER = {"processing": 0, "verify": 1, "checkpoint": 2}


@dataclass(order=True)
class DueItem:
    due: int
    order: int
    created: int
    kind: str
    rowid: int


def due_items(ctx: Ctx, until_ms: int) -> list[DueItem]:
    items: list[DueItem] = []
    for b in ctx.conn.execute(
        "SELECT id, batch_sequence, state, processing_due_ms, verify_due_ms FROM batches"
        " WHERE ws = ? AND state != 'DONE' AND processing_due_ms <= ?",
        (ctx.ws.id, until_ms),
    ):
        if b["state"] == "QUEUED" and b["processing_due_ms"] <= until_ms:
            items.append(DueItem(b["processing_due_ms"], 0, b["batch_sequence"], "processing", b["id"]))
        if b["verify_due_ms"] <= until_ms:
            items.append(DueItem(b["verify_due_ms"], 1, b["batch_sequence"], "verify", b["id"]))
    for c in ctx.conn.execute(
        "SELECT id, n, verify_due_ms FROM checkpoints WHERE ws = ? AND status = 'QUEUED' AND verify_due_ms <= ?",
        (ctx.ws.id, until_ms),
    ):
        items.append(DueItem(c["verify_due_ms"], 2, c["n"], "checkpoint", c["id"]))
    items.sort()
    return items


def refresh_next_due(ctx: Ctx) -> None:
    ctx.conn.execute(
        "UPDATE workspaces SET next_due_ms = (SELECT MIN(t) FROM ("
        " SELECT MIN(CASE WHEN state = 'QUEUED' THEN processing_due_ms ELSE verify_due_ms END) AS t"
        " FROM batches WHERE ws = ?1 AND state != 'DONE'"
        " UNION ALL SELECT MIN(verify_due_ms) FROM checkpoints WHERE ws = ?1 AND status = 'QUEUED')) WHERE id = ?1",
        (ctx.ws.id,),
    )


def apply_due(ctx: Ctx, until_ms: int | None = None) -> dict[str, int]:
    """Apply every transition due at or before until_ms (default: the request's now)."""
    until = ctx.now if until_ms is None else until_ms
    counts = {"transitions": 0, "events": 0}
    if ctx.ws.next_due_ms is None or ctx.ws.next_due_ms > until:
        return counts
    for item in due_items(ctx, until):
        apply_item(ctx, item, counts)
    refresh_next_due(ctx)
    return counts


def apply_item(ctx: Ctx, item: DueItem, counts: dict[str, int]) -> None:
    if item.kind == "processing":
        _batch_processing(ctx, item.rowid, item.due, counts)
    elif item.kind == "verify":
        _batch_verify(ctx, item.rowid, item.due, counts)
    else:
        _checkpoint_verify(ctx, item.rowid, item.due, counts)


def _batch_processing(ctx: Ctx, batch: int, due: int, counts: dict[str, int]) -> None:
    cur = ctx.conn.execute(
        "UPDATE deltas SET status = 'PROCESSING', processing_ms = ? WHERE batch = ? AND status = 'QUEUED'", (due, batch)
    )
    ctx.conn.execute("UPDATE batches SET state = 'PROCESSING' WHERE id = ?", (batch,))
    counts["transitions"] += cur.rowcount


def _batch_verify(ctx: Ctx, batch_rowid: int, due: int, counts: dict[str, int]) -> None:
    """VERIFIED (or FAILED) for every delta of a batch, with its webhook events. All deltas of a
    batch share recordedAt, so their period statistics are read and written once; the events'
    bodies are rendered from the ledger when read (events.py), with the facts stored here."""
    conn = ctx.conn
    batch = conn.execute("SELECT state, processing_due_ms, created_ms, fail_message FROM batches WHERE id = ?",
                         (batch_rowid,)).fetchone()
    processing_at = batch["processing_due_ms"]
    rows = conn.execute("SELECT id, customer_id, amount, customer, units, frac_hi, frac_lo, sequence, recorded_ms"
                        " FROM deltas WHERE batch = ? ORDER BY batch_index", (batch_rowid,)).fetchall()
    if batch["state"] == "QUEUED":  # both due at once: the PROCESSING step happened at its own due time
        counts["transitions"] += len(rows)
    period = period_of(batch["created_ms"])
    failure = batch["fail_message"]
    if failure is not None:
        conn.execute("UPDATE batches SET state = 'DONE' WHERE id = ?", (batch_rowid,))
        conn.execute(
            "UPDATE deltas SET status = 'FAILED', processing_ms = COALESCE(processing_ms, ?), failed_ms = ?,"
            " error_message = ? WHERE batch = ?",
            (processing_at, due, failure or VERIFICATION_FAILED_MESSAGE, batch_rowid),
        )
        # failed items are not charged (§5.1, §5.12): they leave the month's consumed count
        conn.execute("UPDATE month_stats SET consumed = consumed - ? WHERE ws = ? AND period = ?",
                     (len(rows), ctx.ws.id, period))
        write_delta_events(ctx, "delta.failed", due, [(d["id"], d["customer_id"]) for d in rows])
        counts["transitions"] += len(rows)
        counts["events"] += len(rows)
        return
    conn.execute(
        "UPDATE deltas SET status = 'VERIFIED', processing_ms = COALESCE(processing_ms, ?), verified_ms = ?"
        " WHERE batch = ?",
        (processing_at, due, batch_rowid),
    )
    stats = conn.execute(
        "SELECT consumed, verified_count, verified_net FROM month_stats WHERE ws = ? AND period = ?",
        (ctx.ws.id, period),
    ).fetchone()
    count = stats["verified_count"] if stats else 0
    net = Decimal(stats["verified_net"] if stats else "0")
    # the usage at the instant of verification (§5.13), as the events show it
    usage_period = period_of(due)
    consumed = (stats["consumed"] if stats else 0) if usage_period == period else usage_consumed(ctx, usage_period)
    allotment = ctx.ws.settings.get("planAllotment")
    remaining = None if allotment is None else max(0, allotment - consumed)
    facts = event_facts(count, net, {
        "plan": "unlimited" if allotment is None else "allotment",
        "periodId": usage_period,
        "includedDeltas": allotment,
        "consumedDeltas": consumed,
        "remainingDeltas": remaining,
        "overageRate": None,
    })
    conn.execute("UPDATE batches SET state = 'DONE', event_facts = ? WHERE id = ?", (facts, batch_rowid))
    for d in rows:
        net = add(net, Decimal(d["amount"]))
    _add_day_totals(ctx, rows)
    conn.execute(
        "INSERT INTO month_stats (ws, period, consumed, verified_count, verified_net) VALUES (?, ?, 0, ?, ?)"
        " ON CONFLICT (ws, period) DO UPDATE SET verified_count = excluded.verified_count,"
        " verified_net = excluded.verified_net",
        (ctx.ws.id, period, count + len(rows), canonical_decimal(net)),
    )
    write_delta_events(ctx, "delta.verified", due, [(d["id"], d["customer_id"]) for d in rows])
    counts["transitions"] += len(rows)
    counts["events"] += len(rows)


def _add_day_totals(ctx: Ctx, rows: list) -> None:
    """The batch's deltas join their customers' day totals (one day: a batch is recorded at once)."""
    totals: dict[int, list[int]] = {}
    for d in rows:
        t = totals.get(d["customer"])
        if t is None:
            totals[d["customer"]] = [1, d["units"], d["frac_hi"], d["frac_lo"], d["sequence"]]
        else:
            t[0] += 1
            t[1] += d["units"]
            t[2] += d["frac_hi"]
            t[3] += d["frac_lo"]
            t[4] = max(t[4], d["sequence"])
    day = rows[0]["recorded_ms"] // DAY_MS if rows else 0
    ctx.conn.executemany(
        "INSERT INTO day_totals (ws, customer, day, count, units, frac_hi, frac_lo, max_sequence)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (customer, day) DO UPDATE SET count = count + excluded.count,"
        " units = units + excluded.units, frac_hi = frac_hi + excluded.frac_hi, frac_lo = frac_lo + excluded.frac_lo,"
        " max_sequence = MAX(max_sequence, excluded.max_sequence)",
        [(ctx.ws.id, customer, day, *t) for customer, t in totals.items()],
    )


DAY_MS = 86_400_000


def _checkpoint_verify(ctx: Ctx, rowid: int, due: int, counts: dict[str, int]) -> None:
    from .checkpoints import checkpoint_verified_payload

    c = ctx.conn.execute("SELECT * FROM checkpoints WHERE id = ?", (rowid,)).fetchone()
    counts["transitions"] += 1
    if c["fail_message"] is not None:
        ctx.conn.execute("UPDATE checkpoints SET status = 'FAILED', failed_ms = ? WHERE id = ?", (due, rowid))
        return
    ctx.conn.execute("UPDATE checkpoints SET status = 'VERIFIED', verified_ms = ? WHERE id = ?", (due, rowid))
    c = ctx.conn.execute("SELECT * FROM checkpoints WHERE id = ?", (rowid,)).fetchone()
    write_event(ctx, "checkpoint.verified", checkpoint_verified_payload(ctx, c), due, c["customer_id"])
    counts["events"] += 1

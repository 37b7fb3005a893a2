"""Lifecycle transitions on the virtual clock (balance-api.md §3.2, §3.3).

Transitions are applied, never computed per read: at the start of every request of the
workspace and during clock moves, in due-time order (delta PROCESSING, then delta
VERIFIED/FAILED, then checkpoint VERIFIED/FAILED at equal times, then creation order). Each
transition that fires a webhook writes its event with createdAt = the due time.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..proofs.primitives import canonical_decimal, format_ts, period_of
from .amounts import add
from .context import Ctx
from .deltas import VERIFICATION_FAILED_MESSAGE, usage_object
from .events import write_event

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


def apply_due(ctx: Ctx, until_ms: int | None = None) -> dict[str, int]:
    """Apply every transition due at or before until_ms (default: the request's now)."""
    until = ctx.now if until_ms is None else until_ms
    counts = {"transitions": 0, "events": 0}
    for item in due_items(ctx, until):
        apply_item(ctx, item, counts)
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
    conn = ctx.conn
    batch = conn.execute("SELECT * FROM batches WHERE id = ?", (batch_rowid,)).fetchone()
    if batch["state"] == "QUEUED":  # both due at once: PROCESSING first, at its own due time
        _batch_processing(ctx, batch_rowid, batch["processing_due_ms"], counts)
    rows = conn.execute(
        "SELECT id, record_id, customer_id, amount, reason, reference_id, metadata, sequence, recorded_ms,"
        " fingerprint, n FROM deltas WHERE batch = ? ORDER BY batch_index",
        (batch_rowid,),
    ).fetchall()
    conn.execute("UPDATE batches SET state = 'DONE' WHERE id = ?", (batch_rowid,))
    if batch["fail_message"] is not None:
        conn.execute(
            "UPDATE deltas SET status = 'FAILED', failed_ms = ?, error_message = ? WHERE batch = ?",
            (due, batch["fail_message"] or VERIFICATION_FAILED_MESSAGE, batch_rowid),
        )
        for d in rows:
            write_event(ctx, "delta.failed", {
                "recordId": d["record_id"], "customerId": d["customer_id"], "delta": Decimal(d["amount"]),
                "reason": d["reason"], "referenceId": d["reference_id"], "sequenceNumber": str(d["sequence"]),
                "receiptId": batch["proof_hash"], "status": "FAILED", "error": "VERIFICATION_FAILED",
                "message": batch["fail_message"] or VERIFICATION_FAILED_MESSAGE, "failedAt": format_ts(due),
            }, due, d["customer_id"])
            counts["transitions"] += 1
            counts["events"] += 1
        return
    conn.execute("UPDATE deltas SET status = 'VERIFIED', verified_ms = ? WHERE batch = ?", (due, batch_rowid))
    item_hashes = [d["fingerprint"] for d in rows]
    stamp = format_ts(due)
    from ..jsonout import dumps  # noqa: F401  (bodies are serialized by write_event)
    from ..proofs.primitives import parse_json_exact

    for d in rows:
        period = period_of(d["recorded_ms"])
        stats = conn.execute(
            "SELECT verified_count, verified_net FROM month_stats WHERE ws = ? AND period = ?", (ctx.ws.id, period)
        ).fetchone()
        count = (stats["verified_count"] if stats else 0) + 1
        net = add(Decimal(stats["verified_net"] if stats else "0"), Decimal(d["amount"]))
        conn.execute(
            "INSERT INTO month_stats (ws, period, consumed, verified_count, verified_net) VALUES (?, ?, 0, ?, ?)"
            " ON CONFLICT (ws, period) DO UPDATE SET verified_count = excluded.verified_count,"
            " verified_net = excluded.verified_net",
            (ctx.ws.id, period, count, canonical_decimal(net)),
        )
        usage = usage_object(ctx, due)
        data: dict[str, Any] = {
            "receiptId": batch["proof_hash"],
            "deltaIndex": d["n"],
            "status": "VERIFIED",
            "verifiedAt": stamp,
            "verificationId": batch["anchor"],
            "delta": {
                "customerId": d["customer_id"],
                "amount": Decimal(d["amount"]),
                "reason": d["reason"],
                "referenceId": d["reference_id"],
                "metadata": None if d["metadata"] is None else parse_json_exact(d["metadata"]),
                "submittedAt": format_ts(d["recorded_ms"]),
            },
            "proof": {
                "proofHash": batch["proof_hash"],
                "contentHash": d["fingerprint"],
                "itemHashes": item_hashes,
                "previousProofHash": batch["previous_proof_hash"],
                "itemsRoot": batch["items_root"],
                "batchSequence": batch["batch_sequence"],
                "ledgerId": ctx.ws.ledger_id,
                "proofScheme": "pacspace-mock/v1",
            },
            "verification": {"verified": True, "latencyMs": due - d["recorded_ms"], "discrepancies": []},
            "period": {"id": period, "deltaCount": count, "netDelta": net},
            "usage": {
                "plan": usage["plan"],
                "periodId": usage["period"],
                "includedDeltas": usage["includedDeltas"],
                "consumedDeltas": usage["consumedDeltas"],
                "remainingDeltas": usage["remainingDeltas"],
                "overageRate": None,
            },
            "recordId": d["record_id"],
            "customerId": d["customer_id"],
            "sequenceNumber": str(d["sequence"]),
            "referenceId": d["reference_id"],
            "verificationReference": batch["anchor"],
            "blockTimestamp": stamp,
        }
        write_event(ctx, "delta.verified", data, due, d["customer_id"])
        counts["transitions"] += 1
        counts["events"] += 1


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

"""Recording deltas: referenceId dedupe, cadence, allotment, sequence, fingerprint, batch (§4.1, §5.1, §5.2).

Amounts are never changed or deleted; only the lifecycle columns of a row move (lifecycle.py).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..errors import ApiError
from ..jsonout import dumps, dumps_sorted
from ..proofs import merkle
from ..proofs.objects import (
    anchor_reference,
    batch_preimage,
    batch_proof_hash,
    delta_preimage,
    fingerprint,
)
from ..proofs.objects import metadata_digest as digest_of_metadata
from ..proofs.primitives import (
    ZERO_HASH,
    canonical_decimal,
    format_ts,
    from_hex,
    month_of,
    month_start_ms,
    optional_ts,
    parse_json_exact,
    period_of,
)
from .amounts import split_amount
from .context import RECEIPT_ID, Ctx
from .customers import create_customer, find_customer, find_customers

DELTA_COLUMNS = (
    "id, n, record_id, customer, customer_id, sequence, amount, reason, reference_id, metadata, adjusts,"
    f" metadata_digest, fingerprint, {RECEIPT_ID}, batch, batch_index, recorded_ms, status, processing_ms,"
    " verified_ms, failed_ms, error_message"
)

VERIFICATION_FAILED_MESSAGE = "Verification of this delta failed (injected fault)."


def stored_json(text: str | None) -> Any:
    """A delta's stored metadata or adjusts (exact decimals), or None."""
    return None if text is None else parse_json_exact(text)


def delta_object(row: sqlite3.Row) -> dict[str, Any]:
    """The Delta object of §5.0.1, as the row is now."""
    status = row["status"]
    verified = status == "VERIFIED"
    return {
        "recordId": row["record_id"],
        "status": status,
        "receiptId": row["receipt_id"],
        "customerId": row["customer_id"],
        "delta": Decimal(row["amount"]),
        "reason": row["reason"],
        "referenceId": row["reference_id"],
        "metadata": stored_json(row["metadata"]),
        "adjusts": stored_json(row["adjusts"]),
        "sequence": row["sequence"],
        "sequenceNumber": str(row["sequence"]),
        "deltaIndex": row["n"],
        "period": period_of(row["recorded_ms"]),
        "fingerprint": row["fingerprint"],
        "contentHash": row["fingerprint"],
        "metadataDigest": row["metadata_digest"],
        "recordedAt": format_ts(row["recorded_ms"]),
        "createdAt": format_ts(row["recorded_ms"]),
        "processingAt": optional_ts(row["processing_ms"]),
        "verifiedAt": optional_ts(row["verified_ms"]),
        "blockTimestamp": optional_ts(row["verified_ms"]),
        "verificationReference": anchor_reference(row["receipt_id"]) if verified else None,
        "failedAt": optional_ts(row["failed_ms"]),
        "error": "VERIFICATION_FAILED" if status == "FAILED" else None,
        "errorMessage": row["error_message"] if status == "FAILED" else None,
    }


def get_delta(ctx: Ctx, record_id: str) -> sqlite3.Row | None:
    return ctx.conn.execute(
        f"SELECT {DELTA_COLUMNS} FROM deltas WHERE ws = ? AND record_id = ?", (ctx.ws.id, record_id)
    ).fetchone()


@dataclass
class ItemOutcome:
    index: int
    item: dict[str, Any]
    kind: str  # "new" | "replay" | "failed"
    row: sqlite3.Row | None = None  # replay: the original
    error: ApiError | None = None
    new: dict[str, Any] = field(default_factory=dict)  # new: the columns to insert (shared with in-request replays)
    conflict_with: "ItemOutcome | None" = None  # an earlier item of the same request this one contradicts


def _metadata_text(metadata: Any) -> str | None:
    return None if metadata is None else dumps(metadata)


def _adjusts_text(adjusts: Any) -> str | None:
    return None if adjusts is None else dumps(adjusts)


def _same_json(a: Any, b: Any) -> bool:
    """Compared by canonical serialization (§4.1): member order does not matter, null != {}."""
    return (a is None and b is None) or (a is not None and b is not None and dumps_sorted(a) == dumps_sorted(b))


def _differing_fields(item: dict[str, Any], original: dict[str, Any]) -> list[str]:
    """Fields in which an item differs from an original (a stored row's values or an earlier item)."""
    fields = []
    if canonical_decimal(item["delta"]) != canonical_decimal(original["delta"]):
        fields.append("delta")
    if item["reason"] != original["reason"]:
        fields.append("reason")
    if not _same_json(item.get("metadata"), original.get("metadata")):
        fields.append("metadata")
    if not _same_json(item.get("adjusts"), original.get("adjusts")):
        fields.append("adjusts")
    return fields


def _row_content(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "delta": Decimal(row["amount"]),
        "reason": row["reason"],
        "metadata": stored_json(row["metadata"]),
        "adjusts": stored_json(row["adjusts"]),
    }


def _conflict(item: dict[str, Any], record_id: str, fields: list[str]) -> ApiError:
    return ApiError(
        "IDEMPOTENCY_CONFLICT",
        f"referenceId {item['referenceId']!r} was already used for customer {item['customerId']!r} with a different "
        f"{', '.join(fields)}",
        details={"referenceId": item["referenceId"], "recordId": record_id, "fields": fields},
    )


def _check_adjusts(ctx: Ctx, item: dict[str, Any], field_prefix: str, pending: dict[tuple[str, str], dict]) -> None:
    adjusts = item.get("adjusts")
    if adjusts is None:
        return
    from ..errors import validation

    (member, value), = adjusts.items()
    if member == "recordId":
        row = get_delta(ctx, value)
        found = row is not None and row["customer_id"] == item["customerId"]
    else:
        found = ctx.conn.execute(
            "SELECT 1 FROM deltas WHERE ws = ? AND customer_id = ? AND reference_id = ?",
            (ctx.ws.id, item["customerId"], value),
        ).fetchone() is not None or (item["customerId"], value) in pending
    if not found:
        raise validation(
            f"{field_prefix}adjusts.{member}", "unknown",
            f"{field_prefix}adjusts.{member} {value!r} names no delta of customer {item['customerId']!r}",
        )


def check_adjust_targets(ctx: Ctx, items: list[dict[str, Any]], batch: bool) -> None:
    """Every adjusts target must exist (earlier items of the same batch count) — a 400 before any write."""
    seen: dict[tuple[str, str], dict] = {}
    for i, item in enumerate(items):
        _check_adjusts(ctx, item, f"deltas[{i}]." if batch else "", seen)
        if item.get("referenceId") is not None:
            seen[(item["customerId"], item["referenceId"])] = item


def _in_chunks(values: list, size: int = 400) -> list[list]:
    return [values[i:i + size] for i in range(0, len(values), size)]


def _stored_by_reference(ctx: Ctx, items: list[dict[str, Any]]) -> dict[tuple[str, str], sqlite3.Row]:
    """The recorded deltas that items name by (customerId, referenceId), in a statement or two."""
    keys = list({(i["customerId"], i["referenceId"]) for i in items if i.get("referenceId") is not None})
    found: dict[tuple[str, str], sqlite3.Row] = {}
    for chunk in _in_chunks(keys):
        pairs = ",".join("(?, ?)" for _ in chunk)
        for row in ctx.conn.execute(  # a join, so that each pair is an index lookup (IN would scan)
            f"WITH k(c, r) AS (VALUES {pairs}) SELECT {DELTA_COLUMNS} FROM k JOIN deltas"
            " ON deltas.ws = ? AND deltas.customer_id = k.c AND deltas.reference_id = k.r",
            [*[v for key in chunk for v in key], ctx.ws.id],
        ):
            found[(row["customer_id"], row["reference_id"])] = row
    return found


def plan_items(ctx: Ctx, items: list[dict[str, Any]]) -> list[ItemOutcome]:
    """Decide each item's fate in order: replay/conflict, cadence, allotment, record (§5.2)."""
    settings = ctx.ws.settings
    cadence = settings.get("cadenceLimitSeconds")
    allotment = settings.get("planAllotment")
    current_period = period_of(ctx.now)
    consumed = None
    if allotment is not None:
        row = ctx.conn.execute(
            "SELECT consumed FROM month_stats WHERE ws = ? AND period = ?", (ctx.ws.id, current_period)
        ).fetchone()
        consumed = row[0] if row else 0
    last_recorded: dict[str, int | None] = {}
    in_request: dict[tuple[str, str], ItemOutcome] = {}
    outcomes: list[ItemOutcome] = []
    stored = _stored_by_reference(ctx, items)
    for index, item in enumerate(items):
        customer_id = item["customerId"]
        ref = item.get("referenceId")
        if ref is not None:
            earlier = in_request.get((customer_id, ref))
            if earlier is not None:
                fields = _differing_fields(item, earlier.item)
                if not fields:
                    outcomes.append(ItemOutcome(index, item, "replay", row=earlier.row, new=earlier.new))
                elif earlier.row is not None:
                    outcomes.append(ItemOutcome(index, item, "failed", error=_conflict(item, earlier.row["record_id"], fields)))
                else:  # contradicts an item recorded by this request: its id is known after recording
                    outcomes.append(ItemOutcome(index, item, "failed", conflict_with=earlier,
                                                error=_conflict(item, None, fields)))
                continue
            original = stored.get((customer_id, ref))
            if original is not None:
                fields = _differing_fields(item, _row_content(original))
                if fields:
                    outcomes.append(ItemOutcome(index, item, "failed", error=_conflict(item, original["record_id"], fields)))
                else:
                    outcome = ItemOutcome(index, item, "replay", row=original)
                    in_request[(customer_id, ref)] = outcome
                    outcomes.append(outcome)
                continue
        if cadence is not None:
            if customer_id not in last_recorded:
                c = find_customer(ctx, customer_id)
                last_recorded[customer_id] = c["last_recorded_ms"] if c else None
            last = last_recorded[customer_id]
            if last is not None and ctx.now - last < cadence * 1000:
                remaining = -(-(cadence * 1000 - (ctx.now - last)) // 1000)
                outcomes.append(ItemOutcome(index, item, "failed", error=ApiError(
                    "CADENCE_LIMIT", f"{customer_id} may submit again in {remaining} s",
                    customer_id=customer_id, retry_after=remaining,
                )))
                continue
        if allotment is not None:
            if consumed >= allotment:
                outcomes.append(ItemOutcome(index, item, "failed", error=ApiError(
                    "INSUFFICIENT_CREDITS",
                    f"The plan allotment of {allotment} deltas for {current_period} is used up",
                )))
                continue
            consumed += 1
        last_recorded[customer_id] = ctx.now
        outcome = ItemOutcome(index, item, "new")
        outcomes.append(outcome)
        if ref is not None:
            in_request[(customer_id, ref)] = outcome
    return outcomes


def record_new(ctx: Ctx, outcomes: list[ItemOutcome], fail_message: str | None = None) -> dict[str, Any] | None:
    """Insert the planned new deltas as one batch of the ledger. Returns the batch facts or None."""
    new = [o for o in outcomes if o.kind == "new"]
    if not new:
        return None
    conn, ws = ctx.conn, ctx.ws
    recorded_at = format_ts(ctx.now)
    # one statement reserves the record numbers and the batch number and reads the chain head
    last_n, batch_sequence, previous = conn.execute(
        "UPDATE workspaces SET n_rec = n_rec + ?, n_batch = n_batch + 1 WHERE id = ?"
        " RETURNING n_rec, n_batch, last_batch_hash",
        (len(new), ws.id),
    ).fetchone()
    first_n = last_n - len(new) + 1
    previous = previous or ZERO_HASH
    customers = find_customers(ctx, list({o.item["customerId"] for o in new}))
    sequences: dict[str, int] = {}
    fps: list[str] = []
    for i, outcome in enumerate(new):
        item = outcome.item
        cid = item["customerId"]
        if cid not in sequences:
            if cid not in customers:
                customers[cid] = create_customer(ctx, cid, source="integration")
            sequences[cid] = customers[cid]["last_sequence"]
        sequences[cid] += 1
        amount = canonical_decimal(item["delta"])
        metadata = item.get("metadata")
        mdigest = digest_of_metadata(metadata) if metadata is not None else None
        d = delta_preimage(
            cid, amount, item["reason"], item.get("referenceId"), sequences[cid], recorded_at,
            item.get("adjusts"), mdigest,
        )
        fp = fingerprint(d)
        fps.append(fp)
        n = first_n + i
        outcome.new.update({
            "n": n, "record_id": ctx.counted_id("rec", n), "customer": customers[cid]["id"], "customer_id": cid,
            "sequence": sequences[cid], "amount": amount, "metadata": _metadata_text(metadata),
            "adjusts": _adjusts_text(item.get("adjusts")), "metadata_digest": mdigest, "fingerprint": fp,
        })
    items_root = "0x" + merkle.mth([from_hex(fp) for fp in fps]).hex()
    proof_hash = batch_proof_hash(batch_preimage(ws.ledger_id, batch_sequence, len(new), items_root, previous))
    processing_due = ctx.now + ctx.delay_ms("processingDelaySeconds")
    verify_due = ctx.now + ctx.delay_ms("verifyDelaySeconds")
    cur = conn.execute(
        "INSERT INTO batches (ws, batch_sequence, item_count, items_root, previous_proof_hash, proof_hash, anchor,"
        " created_ms, processing_due_ms, verify_due_ms, state, fail_message) VALUES (?,?,?,?,?,?,?,?,?,?,'QUEUED',?)",
        (ws.id, batch_sequence, len(new), items_root, previous, proof_hash, anchor_reference(proof_hash),
         ctx.now, processing_due, verify_due, fail_message),
    )
    batch_rowid = cur.lastrowid
    conn.execute(
        "UPDATE workspaces SET last_batch_hash = ?, next_due_ms = MIN(COALESCE(next_due_ms, ?), ?) WHERE id = ?",
        (proof_hash, processing_due, processing_due, ws.id),
    )
    rows = []
    for i, outcome in enumerate(new):
        nd, item = outcome.new, outcome.item
        units, hi, lo = split_amount(Decimal(nd["amount"]))
        rows.append((
            ws.id, nd["n"], nd["record_id"], nd["customer"], nd["customer_id"], nd["sequence"], nd["amount"],
            units, hi, lo, item["reason"], item.get("referenceId"), nd["metadata"], nd["adjusts"],
            nd["metadata_digest"], nd["fingerprint"], batch_rowid, i, ctx.now,
        ))
    conn.executemany(
        "INSERT INTO deltas (ws, n, record_id, customer, customer_id, sequence, amount, units, frac_hi, frac_lo,"
        " reason, reference_id, metadata, adjusts, metadata_digest, fingerprint, batch, batch_index,"
        " recorded_ms, status) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'QUEUED')",
        rows,
    )
    conn.executemany("UPDATE customers SET last_sequence = ?, last_recorded_ms = ? WHERE id = ?",
                     [(seq, ctx.now, customers[cid]["id"]) for cid, seq in sequences.items()])
    period = period_of(ctx.now)
    conn.execute(
        "INSERT INTO month_stats (ws, period, consumed, verified_count, verified_net) VALUES (?, ?, ?, 0, '0')"
        " ON CONFLICT (ws, period) DO UPDATE SET consumed = consumed + excluded.consumed",
        (ws.id, period, len(new)),
    )
    return {"receiptId": proof_hash, "batchSequence": batch_sequence}


def fetch_recorded(ctx: Ctx, outcomes: list[ItemOutcome]) -> None:
    """Attach the stored row to new outcomes and in-request replays of them; name the record an
    in-request conflict contradicts."""
    wanted = [o for o in outcomes if o.row is None and o.new]
    if wanted:  # all of them rows of the batch just recorded
        rows = {r["record_id"]: r for r in ctx.conn.execute(
            f"SELECT {DELTA_COLUMNS} FROM deltas WHERE batch = (SELECT batch FROM deltas WHERE ws = ? AND record_id = ?)",
            (ctx.ws.id, wanted[0].new["record_id"]))}
        for outcome in wanted:
            outcome.row = rows[outcome.new["record_id"]]
    for outcome in outcomes:
        if outcome.conflict_with is not None:
            details = outcome.error.details
            outcome.error = _conflict(outcome.item, outcome.conflict_with.new["record_id"], details["fields"])


def batch_reply(outcomes: list[ItemOutcome], batch: dict[str, Any] | None) -> dict[str, Any]:
    """The batch reply of §5.2: one result per item, in request order, and the totals."""
    results = []
    recorded = replayed = failed = 0
    for o in outcomes:
        if o.kind == "failed":
            failed += 1
            results.append({
                "index": o.index, "status": "FAILED", "customerId": o.item["customerId"], "delta": o.item["delta"],
                "referenceId": o.item.get("referenceId"), "recordId": None, "receiptId": None,
                "sequenceNumber": None, "idempotent": False, "error": o.error.code, "message": o.error.message,
            })
            continue
        row = o.row
        is_replay = o.kind == "replay"
        recorded += not is_replay
        replayed += is_replay
        results.append({
            "index": o.index, "status": row["status"], "customerId": row["customer_id"], "delta": Decimal(row["amount"]),
            "referenceId": row["reference_id"], "recordId": row["record_id"], "receiptId": row["receipt_id"],
            "sequenceNumber": str(row["sequence"]), "idempotent": is_replay, "error": None, "message": None,
        })
    return {
        "totalQueued": recorded + replayed,
        "totalFailed": failed,
        "totalRecorded": recorded,
        "totalReplayed": replayed,
        "receiptId": batch["receiptId"] if batch else None,
        "batchSequence": batch["batchSequence"] if batch else None,
        "results": results,
        "_efficiency": {"items": len(outcomes), "recorded": recorded, "replayed": replayed, "failed": failed},
    }


def usage_consumed(ctx: Ctx, period: str) -> int:
    """Deltas charged in a month: recorded there and not FAILED (§5.1, §5.12)."""
    row = ctx.conn.execute("SELECT consumed FROM month_stats WHERE ws = ? AND period = ?", (ctx.ws.id, period)).fetchone()
    return row[0] if row else 0


def usage_object(ctx: Ctx, at_ms: int) -> dict[str, Any]:
    """The /usage reply at a virtual instant (the plan facts of delta.verified events: lifecycle.py)."""
    allotment = ctx.ws.settings.get("planAllotment")
    period = period_of(at_ms)
    year, month = month_of(at_ms)
    consumed = usage_consumed(ctx, period)
    remaining = None if allotment is None else max(0, allotment - consumed)
    return {
        "remaining": remaining,
        "allowed": not (allotment is not None and consumed >= allotment),
        "plan": "unlimited" if allotment is None else "allotment",
        "period": period,
        "periodStart": format_ts(month_start_ms(year, month)),
        "periodEnd": format_ts(month_start_ms(year, month + 1)),
        "monthlyAllotment": allotment,
        "includedDeltas": allotment,
        "consumedDeltas": consumed,
        "remainingDeltas": remaining,
        "overageCount": 0,
    }

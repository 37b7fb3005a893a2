"""Receipts (balance-api.md §5.0.3, §5.9, §5.10, §5.17, §5.18, §5.20): one checkpoint's covered
set with everything an offline verifier needs, paged, each line with its inclusion proof."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import Any

from ..proofs import merkle
from ..proofs.primitives import format_ts, parse_json_exact, period_of
from .checkpoints import (checkpoint_head, checkpoint_object, commit_checkpoint, get_checkpoint_by_id,
                          latest_of_scope, open_levels, preimage_of)
from ..paging import offset_page
from .context import Ctx
from .deltas import stored_json
from .customers import customer_by_rowid, customer_link, require_customer, shared_record_on
from .events import write_event
from .scope import Scope


def _links(ctx: Ctx, c: sqlite3.Row) -> dict[str, str]:
    cid, root = c["checkpoint_id"], c["proof_root"]
    return {
        "permalink": f"{ctx.origin}/receipt/{cid}",
        "json": f"{ctx.origin}/api/v1/receipt/{cid}",
        "pdf": f"{ctx.origin}/api/v1/receipt/{cid}.pdf",
        "verify": f"{ctx.origin}/verify/{root}",
    }


def receipt_lines(ctx: Ctx, c: sqlite3.Row, limit: int, offset: int, public: bool = False) -> list[dict[str, Any]]:
    rows = ctx.conn.execute(
        "SELECT i.leaf_index, d.*, b.proof_hash AS receipt_id FROM checkpoint_items i JOIN deltas d ON d.id = i.delta"
        " JOIN batches b ON b.id = d.batch"
        " WHERE i.checkpoint = ? AND i.leaf_index >= ? ORDER BY i.leaf_index LIMIT ?",
        (c["id"], offset, limit),
    ).fetchall()
    if not rows:
        return []
    with open_levels(ctx, c["id"]) as levels:
        return [_line(c, d, merkle.path_from_levels(levels, c["tree_size"], d["leaf_index"]), public)
                for d in rows]


def _line(c: sqlite3.Row, d: sqlite3.Row, path: list[bytes], public: bool) -> dict[str, Any]:
    line: dict[str, Any] = {
        "recordId": d["record_id"],
        "anchorId": d["record_id"],
        "customerId": d["customer_id"],
        "sequence": d["sequence"],
        "sequenceNumber": str(d["sequence"]),
        "delta": Decimal(d["amount"]),
        "deltaDecimal": d["amount"],
        "reason": d["reason"],
        "referenceId": d["reference_id"],
        "metadata": stored_json(d["metadata"]),
        "metadataDigest": d["metadata_digest"],
        "adjusts": stored_json(d["adjusts"]),
        "status": "VERIFIED",
        "window": period_of(d["recorded_ms"]),
        "recordedAt": format_ts(d["recorded_ms"]),
        "createdAt": format_ts(d["recorded_ms"]),
        "verifiedAt": format_ts(d["verified_ms"]),
        "fingerprint": d["fingerprint"],
        "itemHash": d["fingerprint"],
        "contentHash": d["fingerprint"],
        "receiptId": d["receipt_id"],
        "itemsRoot": c["items_root"],
        "verificationReference": _anchor(d["receipt_id"]),
        "leafIndex": d["leaf_index"],
        "merkleProof": ["0x" + p.hex() for p in path],
    }
    if public:
        del line["metadata"]
    return line


def _anchor(receipt_id: str) -> str:
    from ..proofs.objects import anchor_reference

    return anchor_reference(receipt_id)


def _uncovered(ctx: Ctx, c: sqlite3.Row) -> int:
    """VERIFIED deltas of the window that the checkpoint does not cover: those verified after it
    was committed. A covered delta was VERIFIED when the checkpoint was made (verified_ms <=
    created_ms), so only deltas verified since then are read, from the index of VERIFIED deltas
    by verification time (at the commit's own instant, those not among its items), never the
    whole window. A checkpoint of chosen fingerprints covers what it chose: none."""
    if c["selection"] != "all":
        return 0
    return ctx.conn.execute(  # "+": the window bounds filter, they do not choose the index
        "SELECT COUNT(*) FROM deltas d WHERE d.customer = ? AND d.status = 'VERIFIED' AND d.verified_ms >= ?"
        " AND +d.recorded_ms >= ? AND +d.recorded_ms < ? AND (d.verified_ms > ? OR NOT EXISTS"
        " (SELECT 1 FROM checkpoint_items i WHERE i.delta = d.id AND i.checkpoint = ?))",
        (c["customer"], c["created_ms"], c["start_ms"], c["end_ms"], c["created_ms"], c["id"]),
    ).fetchone()[0]


def receipt_object(ctx: Ctx, c: sqlite3.Row, limit: int, offset: int, public: bool = False) -> dict[str, Any]:
    """The Receipt object of exactly one checkpoint; never commits anything."""
    customer = customer_by_rowid(ctx, c["customer"])
    lines = receipt_lines(ctx, c, limit, offset, public)
    root, verified = c["proof_root"], c["status"] == "VERIFIED"
    pending = ctx.conn.execute(
        "SELECT COUNT(*) FROM deltas WHERE customer = ? AND status IN ('QUEUED', 'PROCESSING')"
        " AND recorded_ms >= ? AND recorded_ms < ?",
        (c["customer"], c["start_ms"], c["end_ms"]),
    ).fetchone()[0]
    sharing = shared_record_on(ctx, customer)
    link = customer_link(ctx, customer) if sharing else None
    verify_url = link or f"{ctx.origin}/receipt/{c['checkpoint_id']}"
    api_url = f"{ctx.origin}/api/v1/verify/{root}"
    net = Decimal(c["net_change"])
    receipt: dict[str, Any] = {
        "customerId": c["customer_id"],
        "receiptId": c["checkpoint_id"],
        "checkpointId": c["checkpoint_id"],
        "status": c["status"],
        "generatedAt": format_ts(ctx.now),
        "period": c["period"],
        "scope": parse_json_exact(c["scope"]),
        "startDate": format_ts(c["start_ms"]),
        "endDate": format_ts(c["end_ms"]),
        "proofRoot": root,
        "itemsRoot": c["items_root"],
        "latestCheckpoint": root,
        "startingBalance": Decimal(0),
        "finalBalance": net,
        "netChange": net,
        "totalCredits": Decimal(c["total_credits"]),
        "totalDebits": Decimal(c["total_debits"]),
        "deltaCount": c["tree_size"],
        "deltasCount": c["tree_size"],
        "pendingDeltaCount": pending,
        "uncoveredDeltaCount": _uncovered(ctx, c),
        "deltas": lines,
        "deltasPage": offset_page(limit, offset, c["tree_size"], len(lines)),
        "windowSummaries": parse_json_exact(c["windows"]),
        "verification": {
            "proofScheme": "pacspace-mock/v1",
            "proofRoot": root,
            "itemsRoot": c["items_root"],
            "itemHashes": [line["fingerprint"] for line in lines],
            "checkpoint": preimage_of(c),
            "verificationReference": c["anchor"] if verified else None,
            "blockTimestamp": None if c["verified_ms"] is None else format_ts(c["verified_ms"]),
            "verifyUrl": verify_url,
            "verificationApiUrl": api_url,
        },
        "verifyUrl": verify_url,
        "verificationApiUrl": api_url,
        "verificationExplorerUrl": f"{ctx.origin}/verify/{root}",
        "accessHint": customer["access_code"] if sharing else None,
        "customerLinkUrl": link,
        "customerLinkHost": ctx.origin.split("://", 1)[-1] if sharing else None,
        "links": _links(ctx, c),
    }
    if public:
        del receipt["accessHint"]
    return receipt


def mark_generated(ctx: Ctx, c: sqlite3.Row, receipt: dict[str, Any]) -> None:
    """receipt.generated fires once per checkpoint: the first time any receipt route returns it."""
    cur = ctx.conn.execute(
        "UPDATE checkpoints SET receipt_generated = 1 WHERE id = ? AND receipt_generated = 0", (c["id"],)
    )
    if cur.rowcount:
        write_event(ctx, "receipt.generated", {
            "receiptId": c["checkpoint_id"],
            **checkpoint_head(c),
            "deltaCount": c["tree_size"],
            "finalBalance": Decimal(c["net_change"]),
            "verifyUrl": receipt["verifyUrl"],
            "verificationApiUrl": receipt["verificationApiUrl"],
            "generatedAt": format_ts(ctx.now),
        }, ctx.now, c["customer_id"])


def scoped_receipt(ctx: Ctx, customer_id: str, scope: Scope, limit: int, offset: int) -> dict[str, Any]:
    """Invoice proof: the latest non-FAILED checkpoint of exactly this scope, committed first if none."""
    customer = require_customer(ctx, customer_id)
    latest = latest_of_scope(ctx, customer["id"], scope, "all")
    if latest is None or latest["status"] == "FAILED":
        latest, _ = commit_checkpoint(ctx, customer, scope)
    receipt = receipt_object(ctx, latest, limit, offset)
    mark_generated(ctx, latest, receipt)
    return receipt


def all_time_receipt(ctx: Ctx, customer_id: str, limit: int, offset: int) -> dict[str, Any]:
    """Unscoped receipt: the all-time checkpoint, refreshed when the VERIFIED set has grown."""
    customer = require_customer(ctx, customer_id)
    scope = Scope("all_time", 0, ctx.now + 1)
    row, _ = commit_checkpoint(ctx, customer, scope)
    receipt = receipt_object(ctx, row, limit, offset)
    mark_generated(ctx, row, receipt)
    return receipt


def document_receipt(ctx: Ctx, checkpoint: sqlite3.Row, limit: int, offset: int, public: bool) -> dict[str, Any]:
    receipt = receipt_object(ctx, checkpoint, limit, offset, public=public)
    mark_generated(ctx, checkpoint, receipt)
    return receipt


def receipt_document(ctx: Ctx, checkpoint_id: str, limit: int, offset: int, *, locale: str, timezone: str,
                     unit: str | None, show_name: bool) -> dict[str, Any]:
    """§5.18: the Receipt of exactly that checkpoint (never commits), then its presentation."""
    from datetime import datetime, timezone as utc
    from zoneinfo import ZoneInfo

    chk = get_checkpoint_by_id(ctx, checkpoint_id)
    doc = document_receipt(ctx, chk, limit, offset, public=False)
    customer = customer_by_rowid(ctx, chk["customer"])
    local = datetime.fromtimestamp(ctx.now / 1000, tz=utc.utc).astimezone(ZoneInfo(timezone))
    stamp = local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ctx.now % 1000:03d}" + local.strftime("%z")
    doc["presentation"] = {
        "locale": locale,
        "timezone": timezone,
        "unit": unit or customer["unit_label"] or "units",
        "customerDisplayName": (customer["display_name"] or customer["customer_id"]) if show_name else None,
        "generatedAtLocal": stamp[:-2] + ":" + stamp[-2:],
    }
    return doc


def customer_receipts(ctx: Ctx, customer_id: str, limit: int, offset: int) -> dict[str, Any]:
    customer = require_customer(ctx, customer_id)
    total = ctx.conn.execute("SELECT COUNT(*) FROM checkpoints WHERE customer = ?", (customer["id"],)).fetchone()[0]
    rows = ctx.conn.execute(
        "SELECT * FROM checkpoints WHERE customer = ? ORDER BY n DESC LIMIT ? OFFSET ?", (customer["id"], limit, offset)
    ).fetchall()
    receipts = [
        {
            "receiptId": c["checkpoint_id"],
            **checkpoint_head(c),
            "status": c["status"],
            "deltaCount": c["tree_size"],
            "finalBalance": Decimal(c["net_change"]),
            "createdAt": format_ts(c["created_ms"]),
            "supersededBy": c["superseded_by"],
            "links": _links(ctx, c),
        }
        for c in rows
    ]
    return {"receipts": receipts,
            "pagination": offset_page(limit, offset, total, len(rows))}


__all__ = ["checkpoint_object", "receipt_object", "scoped_receipt", "all_time_receipt", "document_receipt",
           "customer_receipts", "mark_generated"]

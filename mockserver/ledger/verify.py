"""Public verification of a proof root or batch receipt (balance-api.md §5.19).

`recomputed` rebuilds every fingerprint from the stored rows, the tree and the preimage, so a
row tampered in the database shows up as `verified: false`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ..proofs import merkle
from ..proofs.objects import (
    anchor_reference,
    batch_preimage,
    batch_proof_hash,
    checkpoint_preimage,
    delta_preimage,
    fingerprint,
    metadata_digest,
)
from ..proofs.primitives import EXACT, canonical_decimal, format_ts, from_hex
from ..paging import offset_page
from .checkpoints import preimage_of
from .context import Ctx
from .deltas import stored_json


def find_root(conn: sqlite3.Connection, root: str) -> tuple[str, sqlite3.Row] | None:
    """The checkpoint or batch a root names, in any workspace."""
    row = conn.execute("SELECT * FROM checkpoints WHERE proof_root = ?", (root,)).fetchone()
    if row is not None:
        return "checkpoint", row
    row = conn.execute("SELECT * FROM batches WHERE proof_hash = ?", (root,)).fetchone()
    if row is not None:
        return "batch", row
    return None


def _recomputed_fingerprint(d: sqlite3.Row) -> str:
    metadata = stored_json(d["metadata"])
    digest = metadata_digest(metadata) if metadata is not None else None
    adjusts = stored_json(d["adjusts"])
    return fingerprint(delta_preimage(
        d["customer_id"], canonical_decimal(Decimal(d["amount"])), d["reason"], d["reference_id"], d["sequence"],
        format_ts(d["recorded_ms"]), adjusts, digest,
    ))


def _record(d: sqlite3.Row) -> dict[str, Any]:
    return {
        "amount": Decimal(d["amount"]),
        "reason": d["reason"],
        "referenceId": d["reference_id"],
        "status": d["status"],
        "time": format_ts(d["recorded_ms"]),
        "recordId": d["record_id"],
        "customerId": d["customer_id"],
        "sequence": d["sequence"],
        "amountDecimal": d["amount"],
        "recordedAt": format_ts(d["recorded_ms"]),
        "fingerprint": d["fingerprint"],
        "metadataDigest": d["metadata_digest"],
        "adjusts": stored_json(d["adjusts"]),
    }


def verify_root_of(ctx: Ctx, root: str, source: str, limit: int, offset: int,
                   chain_available: bool = True) -> dict[str, Any]:
    """§5.19 for the root a public route addresses (its workspace was located from it)."""
    kind, obj = find_root(ctx.conn, root.lower())
    return verify_root(ctx, kind, obj, source, limit, offset, chain_available)


class _Pass:
    """One pass over an object's stored rows in leaf order, keeping only what the reply needs:
    each fingerprint recomputed (32 bytes a row), the exact net, the first and last rows, the
    statuses and the requested page. A million-row checkpoint is never held in memory at once."""

    def __init__(self, rows: Iterable[sqlite3.Row], limit: int, offset: int):
        self.fps: list[bytes] = []
        self.page: list[sqlite3.Row] = []
        self.page_fps: list[str] = []
        self.net = Decimal(0)
        self.first = self.last = None
        self.statuses: set[str] = set()
        for i, d in enumerate(rows):
            fp = _recomputed_fingerprint(d)
            self.fps.append(from_hex(fp))
            self.net = EXACT.add(self.net, Decimal(d["amount"]))
            self.statuses.add(d["status"])
            if self.first is None:
                self.first = d
            self.last = d
            if offset <= i < offset + limit:
                self.page.append(d)
                self.page_fps.append(fp)
        self.count = len(self.fps)
        self.items_root = "0x" + merkle.mth(self.fps).hex()


def verify_root(ctx: Ctx, kind: str, obj: sqlite3.Row, source: str, limit: int, offset: int,
                chain_available: bool = True) -> dict[str, Any]:
    conn = ctx.conn
    if kind == "checkpoint":
        rows = _Pass(conn.execute(
            "SELECT d.* FROM checkpoint_items i JOIN deltas d ON d.id = i.delta WHERE i.checkpoint = ? ORDER BY i.leaf_index",
            (obj["id"],),
        ), limit, offset)
        root = obj["proof_root"]
        stored = preimage_of(obj)
        rebuilt = checkpoint_preimage(
            stored["ledgerId"], stored["chainId"], obj["customer_id"], format_ts(obj["start_ms"]), format_ts(obj["end_ms"]),
            obj["period"], rows.count, rows.items_root, rows.first["sequence"] if rows.count else None,
            rows.last["sequence"] if rows.count else None, canonical_decimal(rows.net), obj["previous_proof_root"],
        )
        from ..proofs.objects import proof_root

        recomputed = proof_root(rebuilt) == root and rebuilt == stored
        status, created, verified_ms = obj["status"], obj["created_ms"], obj["verified_ms"]
        anchored = status == "VERIFIED" and obj["anchor"] == anchor_reference(root)
        starting = Decimal(0)
        checkpoint_obj, batch_obj = stored, None
        customer_id, period = obj["customer_id"], obj["period"]
        start, end = format_ts(obj["start_ms"]), format_ts(obj["end_ms"])
    else:
        rows = _Pass(conn.execute("SELECT * FROM deltas WHERE batch = ? ORDER BY batch_index", (obj["id"],)),
                     limit, offset)
        root = obj["proof_hash"]
        ws_ledger = conn.execute("SELECT env, public_id FROM workspaces WHERE id = ?", (obj["ws"],)).fetchone()
        from ..proofs.objects import ledger_id

        ledger = ledger_id(ws_ledger["env"], f"pk_{ws_ledger['env']}_{ws_ledger['public_id']}")
        batch_obj = dict(sorted(batch_preimage(ledger, obj["batch_sequence"], obj["item_count"], obj["items_root"],
                                               obj["previous_proof_hash"]).items()))
        recomputed = (rows.items_root == obj["items_root"] and batch_proof_hash(batch_obj) == root
                      and rows.count == obj["item_count"])
        statuses = rows.statuses
        status = "VERIFIED" if statuses == {"VERIFIED"} else ("FAILED" if "FAILED" in statuses else
                                                            ("PROCESSING" if "PROCESSING" in statuses else "QUEUED"))
        created, verified_ms = obj["created_ms"], rows.first["verified_ms"] if rows.count else None
        anchored = status == "VERIFIED" and obj["anchor"] == anchor_reference(root)
        starting = Decimal(0)
        checkpoint_obj = None
        customer_id = period = start = end = None
    net, page = rows.net, rows.page
    checks = {"recomputed": recomputed, "anchored": anchored, "chainAvailable": chain_available}
    if source == "db":
        verified = recomputed
    elif source == "chain":
        verified = anchored and chain_available
    else:
        verified = recomputed and anchored and chain_available
    if verified:
        message = "ok"
    elif source != "chain" and not recomputed:
        message = "stored records do not match the proof root"
    elif source != "db" and not chain_available:
        message = "chain unavailable"
    elif status == "FAILED":
        message = "anchoring failed"
    else:
        message = "not anchored yet"
    ws_row = conn.execute("SELECT env FROM workspaces WHERE id = ?", (obj["ws"],)).fetchone()
    chain_id = 296 if ws_row["env"] == "test" else 295
    return {
        "verified": verified,
        "proofRoot": root,
        "kind": kind,
        "status": status,
        "recordedAt": format_ts(created),
        "customerId": customer_id,
        "period": period,
        "startDate": start,
        "endDate": end,
        "source": source,
        "checks": checks,
        "summary": {
            "recordCount": rows.count,
            "netChange": net,
            "startingBalance": starting,
            "endingBalance": starting + net,
            "firstRecordAt": format_ts(rows.first["recorded_ms"]) if rows.count else None,
            "lastRecordAt": format_ts(rows.last["recorded_ms"]) if rows.count else None,
        },
        "records": [_record(d) for d in page],
        "recordsPage": offset_page(limit, offset, rows.count, len(page)),
        "verification": {
            "proofScheme": "pacspace-mock/v1",
            "verificationReference": obj["anchor"] if status == "VERIFIED" else None,
            "reference": obj["anchor"] if status == "VERIFIED" else None,
            "blockTimestamp": None if verified_ms is None or status != "VERIFIED" else format_ts(verified_ms),
            "chainId": chain_id,
            "itemsRoot": obj["items_root"],
            "itemHashes": rows.page_fps if recomputed else [d["fingerprint"] for d in page],
            "checkpoint": checkpoint_obj,
            "batch": batch_obj,
            "publicLedgerUrl": f"{ctx.origin}/verify/{root}",
            "verificationExplorerUrl": f"{ctx.origin}/verify/{root}",
        },
        "message": message,
    }

"""Webhook events are written to the workspace's outbox in the caller's transaction (§7).

Every delivery attempt of an event sends the same bytes. Most events store that text. The delta
events (delta.verified, delta.failed: one per delta, most of the outbox) store no body: it is
rendered from the delta row (`source`), its batch and the batch's `event_facts` (the month's
verified count and net before the batch and the usage at that instant, which the ledger does not
keep), and comes out byte for byte as the text that used to be stored. A verified batch of 100
deltas would otherwise store its 100 item hashes 100 times (~8.5 KB per delta).
"""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from typing import Any, Iterable, Sequence

import orjson

from ..jsonout import CanonicalNumber, RawJSON, dumpb, dumps
from ..proofs.primitives import (
    canonical_decimal,
    format_ts,
    parse_json_exact,
    period_of,
)
from .amounts import add
from .context import Ctx

EVENT_TYPES = (
    "delta.verified",
    "delta.failed",
    "checkpoint.verified",
    "receipt.generated",
    "customer.created",
    "customer.compare_run",
)

INSERT = (
    "INSERT INTO events (ws, n, event_id, event, created_ms, body, source, customer_id, delivery_status,"
    " attempts, auto_attempts, next_attempt_ms, captured, attempt_log)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, 0, ?, 0, '[]')"
)


def _envelope(ctx: Ctx, event_id: str, event: str, created_ms: int, data: dict[str, Any]) -> str:
    return dumps(_envelope_object(ctx, event_id, event, format_ts(created_ms), data))


def _envelope_object(ctx: Ctx, event_id: str, event: str, stamp: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": event_id, "event": event, "tenantId": ctx.ws.tenant_id, "createdAt": stamp, "timestamp": stamp,
            "data": data}


def write_event(ctx: Ctx, event: str, data: dict[str, Any], created_ms: int, customer_id: str | None) -> str:
    """One event whose body is stored as it is now (customer, checkpoint, receipt, compare events)."""
    n = ctx.next_number("evt", 1)
    event_id = ctx.counted_id("evt", n)
    ctx.conn.execute(INSERT, (ctx.ws.id, n, event_id, event, created_ms, _envelope(ctx, event_id, event, created_ms, data),
                              None, customer_id, created_ms))
    return event_id


def write_delta_events(ctx: Ctx, event: str, due: int, deltas: Sequence[tuple[int, str]]) -> None:
    """delta.verified / delta.failed for (delta rowid, customer id) pairs, in order, all at `due`;
    their bodies are rendered when read (the batch's event_facts are written by the caller)."""
    if not deltas:
        return
    first = ctx.next_number("evt", len(deltas))
    ws = ctx.ws.id
    ctx.conn.executemany(INSERT, [
        (ws, first + i, ctx.counted_id("evt", first + i), event, due, None, rowid, customer_id, due)
        for i, (rowid, customer_id) in enumerate(deltas)
    ])


def event_facts(count: int, net: Decimal, usage: dict[str, Any]) -> str:
    return orjson.dumps({"count": count, "net": canonical_decimal(net), "usage": usage}).decode("ascii")


class _Batch:
    """A batch as its delta events show it: the shared proof object and each item's running
    month count and net, computed once per batch and rendering pass."""

    def __init__(self, ctx: Ctx, row: sqlite3.Row):
        self.row = row
        items = ctx.conn.execute("SELECT fingerprint, amount FROM deltas WHERE batch = ? ORDER BY batch_index",
                                 (row["id"],)).fetchall()
        self.item_hashes = RawJSON(dumps([i[0] for i in items]))  # the same in each of the batch's events
        self.period = period_of(row["created_ms"])
        self.running: list[tuple[int, Any]] = []  # (month count, net as canonical text) after each item
        self.usage = None
        if row["event_facts"] is not None:
            facts = json.loads(row["event_facts"])
            count, net, self.usage = facts["count"], Decimal(facts["net"]), facts["usage"]
            for _, amount in items:
                count += 1
                net = add(net, Decimal(amount))
                self.running.append((count, CanonicalNumber(canonical_decimal(net))))
        self.ledger_id = ctx.ws.ledger_id
        self.submitted = format_ts(row["created_ms"])  # every delta of a batch is recorded at its creation
        self._parts: dict[str, bytes] | None = None

    def parts(self, ctx: Ctx) -> dict[str, bytes]:
        """The JSON text of what the batch's delta.verified bodies share, written once."""
        if self._parts is None:
            b, q = self.row, orjson.dumps
            self._parts = {
                "tenant": q(ctx.ws.tenant_id), "receipt": q(b["proof_hash"]), "anchor": q(b["anchor"]),
                "submitted": q(self.submitted), "period": q(self.period), "usage": q(self.usage),
                "proof_tail": b',"itemHashes":' + self.item_hashes.text.encode("utf-8")
                + b',"previousProofHash":' + q(b["previous_proof_hash"]) + b',"itemsRoot":' + q(b["items_root"])
                + b',"batchSequence":' + q(b["batch_sequence"]) + b',"ledgerId":' + q(self.ledger_id)
                + b',"proofScheme":"pacspace-mock/v1"}',
            }
        return self._parts

    def verified_bytes(self, ctx: Ctx, event_id: str, d: sqlite3.Row, stamp: bytes, due: int) -> bytes:
        """The body of a delta.verified event written piece by piece from text shared by the batch:
        byte for byte what dumpb(_envelope_object(...verified(...))) writes (the suite compares
        both), at a fraction of the cost; a day's clock move renders a thousand of them."""
        p, q = self.parts(ctx), orjson.dumps
        count, net = self.running[d["batch_index"]]
        metadata = b"null" if d["metadata"] is None else dumpb(parse_json_exact(d["metadata"]))
        customer, reference = q(d["customer_id"]), q(d["reference_id"])
        return b"".join((
            b'{"id":', q(event_id), b',"event":"delta.verified","tenantId":', p["tenant"], b',"createdAt":', stamp,
            b',"timestamp":', stamp, b',"data":{"receiptId":', p["receipt"], b',"deltaIndex":', b"%d" % d["n"],
            b',"status":"VERIFIED","verifiedAt":', stamp, b',"verificationId":', p["anchor"],
            b',"delta":{"customerId":', customer, b',"amount":', d["amount"].encode("ascii"), b',"reason":',
            q(d["reason"]), b',"referenceId":', reference, b',"metadata":', metadata, b',"submittedAt":',
            p["submitted"], b'},"proof":{"proofHash":', p["receipt"], b',"contentHash":', q(d["fingerprint"]),
            p["proof_tail"], b',"verification":{"verified":true,"latencyMs":', b"%d" % (due - d["recorded_ms"]),
            b',"discrepancies":[]},"period":{"id":', p["period"], b',"deltaCount":', b"%d" % count,
            b',"netDelta":', net.text.encode("ascii"), b'},"usage":', p["usage"], b',"recordId":', q(d["record_id"]),
            b',"customerId":', customer, b',"sequenceNumber":', q(str(d["sequence"])), b',"referenceId":', reference,
            b',"verificationReference":', p["anchor"], b',"blockTimestamp":', stamp, b"}}",
        ))

    def verified(self, d: sqlite3.Row, stamp: str, due: int) -> dict[str, Any]:
        b = self.row
        count, net = self.running[d["batch_index"]]
        return {
            "receiptId": b["proof_hash"],
            "deltaIndex": d["n"],
            "status": "VERIFIED",
            "verifiedAt": stamp,
            "verificationId": b["anchor"],
            "delta": {
                "customerId": d["customer_id"],
                "amount": CanonicalNumber(d["amount"]),  # stored canonical (deltas.record_new)
                "reason": d["reason"],
                "referenceId": d["reference_id"],
                "metadata": None if d["metadata"] is None else parse_json_exact(d["metadata"]),
                "submittedAt": self.submitted,
            },
            "proof": {
                "proofHash": b["proof_hash"],
                "contentHash": d["fingerprint"],
                "itemHashes": self.item_hashes,
                "previousProofHash": b["previous_proof_hash"],
                "itemsRoot": b["items_root"],
                "batchSequence": b["batch_sequence"],
                "ledgerId": self.ledger_id,
                "proofScheme": "pacspace-mock/v1",
            },
            "verification": {"verified": True, "latencyMs": due - d["recorded_ms"], "discrepancies": []},
            "period": {"id": self.period, "deltaCount": count, "netDelta": net},
            "usage": self.usage,
            "recordId": d["record_id"],
            "customerId": d["customer_id"],
            "sequenceNumber": str(d["sequence"]),
            "referenceId": d["reference_id"],
            "verificationReference": b["anchor"],
            "blockTimestamp": stamp,
        }

    def failed(self, d: sqlite3.Row, stamp: str, due: int) -> dict[str, Any]:
        return {
            "recordId": d["record_id"], "customerId": d["customer_id"], "delta": CanonicalNumber(d["amount"]),
            "reason": d["reason"], "referenceId": d["reference_id"], "sequenceNumber": str(d["sequence"]),
            "receiptId": self.row["proof_hash"], "status": "FAILED", "error": "VERIFICATION_FAILED",
            "message": d["error_message"], "failedAt": stamp,
        }


def _chunks(values: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def bodies(ctx: Ctx, rows: Sequence[sqlite3.Row]) -> list[str]:
    """The exact body of each outbox row, in order: stored, or rendered from the ledger."""
    return [b.decode("utf-8") if isinstance(b, bytes) else b for b in _bodies(ctx, rows)]


def bodies_utf8(ctx: Ctx, rows: Sequence[sqlite3.Row]) -> list[bytes]:
    """The same as UTF-8 bytes (what is signed and sent)."""
    return [b if isinstance(b, bytes) else b.encode("utf-8") for b in _bodies(ctx, rows)]


def _bodies(ctx: Ctx, rows: Sequence[sqlite3.Row]) -> list[str | bytes]:
    sources = [r["source"] for r in rows if r["body"] is None]
    deltas: dict[int, sqlite3.Row] = {}
    batches: dict[int, _Batch] = {}
    stamps: dict[int, str] = {}
    conn = ctx.conn
    for chunk in _chunks(sources):
        for d in conn.execute(
            "SELECT id, n, record_id, customer_id, amount, reason, reference_id, metadata, sequence, recorded_ms,"
            f" fingerprint, batch, batch_index, error_message FROM deltas WHERE id IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            deltas[d["id"]] = d
    out: list[str | bytes] = []
    for r in rows:
        if r["body"] is not None:
            out.append(r["body"])
            continue
        d = deltas[r["source"]]
        batch = batches.get(d["batch"])
        if batch is None:
            batch = batches[d["batch"]] = _Batch(ctx, conn.execute("SELECT * FROM batches WHERE id = ?",
                                                                   (d["batch"],)).fetchone())
        due = r["created_ms"]
        stamp = stamps.get(due) or stamps.setdefault(due, format_ts(due))
        if r["event"] == "delta.verified" and FAST:
            try:
                out.append(batch.verified_bytes(ctx, r["event_id"], d, orjson.dumps(stamp), due))
                continue
            except orjson.JSONEncodeError:  # a lone surrogate in a reason: the general writer below
                pass
        data = batch.verified(d, stamp, due) if r["event"] == "delta.verified" else batch.failed(d, stamp, due)
        out.append(dumpb(_envelope_object(ctx, r["event_id"], r["event"], stamp, data)))
    return out


FAST = True  # tests turn it off to render every body through the general writer and compare


def body(ctx: Ctx, row: sqlite3.Row) -> str:
    return row["body"] if row["body"] is not None else bodies(ctx, [row])[0]

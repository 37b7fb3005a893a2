"""Checkpoints (balance-api.md §5.6–§5.8): lock one customer's verified deltas of a window into a
proof root, idempotently per scope, chained per customer by previousProofRoot.

The tree of every checkpoint is stored as levels of perfect subtrees, so receipts can answer
inclusion proofs for a page of a 100,000-leaf tree without rebuilding it.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from decimal import Decimal
from collections.abc import Iterator
from typing import Any

from ..errors import ApiError, not_found, validation
from ..jsonout import dumps
from ..proofs import merkle
from ..proofs.objects import anchor_reference, checkpoint_preimage, proof_root
from ..proofs.primitives import (
    canonical_decimal, exact_sum, format_ts, optional_ts, jcs_plain, parse_json_exact, period_of,
)
from .amounts import add, join_sums
from ..paging import offset_page
from ..store import workspaces
from .context import Ctx
from .customers import require_customer
from .scope import Scope

CHECKPOINT_SELECT = "SELECT * FROM checkpoints"


def checkpoint_object(ctx: Ctx, c: sqlite3.Row) -> dict[str, Any]:
    """The Checkpoint object of §5.0.2."""
    verified = c["status"] == "VERIFIED"
    root = c["proof_root"]
    return {
        "checkpointId": c["checkpoint_id"],
        "status": c["status"],
        "customerId": c["customer_id"],
        "period": c["period"],
        "startDate": format_ts(c["start_ms"]),
        "endDate": format_ts(c["end_ms"]),
        "scope": parse_json_exact(c["scope"]),
        "selectionMode": c["selection"],
        "proofRoot": root,
        "merkleRoot": root,
        "itemsRoot": c["items_root"],
        "treeSize": c["tree_size"],
        "deltaCount": c["tree_size"],
        "deltasCount": c["tree_size"],
        "fromSequence": c["from_sequence"],
        "toSequence": c["to_sequence"],
        "netChange": Decimal(c["net_change"]),
        "startingBalance": Decimal(0),
        "endingBalance": Decimal(c["net_change"]),
        "chainId": ctx.ws.chain_id,
        "ledgerId": ctx.ws.ledger_id,
        "previousProofRoot": c["previous_proof_root"],
        "supersedes": c["supersedes"],
        "supersededBy": c["superseded_by"],
        "proofScheme": "pacspace-mock/v1",
        "createdAt": format_ts(c["created_ms"]),
        "verifiedAt": optional_ts(c["verified_ms"]),
        "blockTimestamp": optional_ts(c["verified_ms"]),
        "verificationReference": c["anchor"] if verified else None,
        "failedAt": optional_ts(c["failed_ms"]),
        "receiptId": c["checkpoint_id"],
        "receiptUrl": f"{ctx.origin}/receipt/{c['checkpoint_id']}",
        "verificationApiUrl": f"{ctx.origin}/api/v1/verify/{root}",
    }


def checkpoint_head(c: sqlite3.Row) -> dict[str, Any]:
    """The members several replies and events open with, in the contract's order."""
    return {
        "checkpointId": c["checkpoint_id"],
        "customerId": c["customer_id"],
        "period": c["period"],
        "startDate": format_ts(c["start_ms"]),
        "endDate": format_ts(c["end_ms"]),
        "proofRoot": c["proof_root"],
    }


def checkpoint_verified_payload(ctx: Ctx, c: sqlite3.Row) -> dict[str, Any]:
    return {
        **checkpoint_head(c),
        "itemsRoot": c["items_root"],
        "treeSize": c["tree_size"],
        "deltaCount": c["tree_size"],
        "netChange": Decimal(c["net_change"]),
        "status": c["status"],
        "verifiedAt": optional_ts(c["verified_ms"]),
        "verificationReference": c["anchor"],
        "blockTimestamp": optional_ts(c["verified_ms"]),
        "chainId": ctx.ws.chain_id,
        "supersedes": c["supersedes"],
    }


def preimage_of(c: sqlite3.Row) -> dict[str, Any]:
    """C exactly as hashed (JCS text: integers and strings only, members sorted)."""
    return json.loads(c["preimage"])


def _covered(ctx: Ctx, customer: sqlite3.Row, scope: Scope, fingerprints: list[str] | None) -> list[sqlite3.Row]:
    rows = ctx.conn.execute(
        "SELECT id, sequence, fingerprint, amount, recorded_ms FROM deltas WHERE customer = ? AND status = 'VERIFIED'"
        " AND recorded_ms >= ? AND recorded_ms < ? ORDER BY recorded_ms, sequence",
        (customer["id"], scope.start_ms, scope.end_ms),
    ).fetchall()
    if fingerprints is None:
        return rows
    by_fp = {r["fingerprint"]: r for r in rows}
    chosen = []
    for i, fp in enumerate(fingerprints):
        row = by_fp.get(fp)
        if row is None:
            raise validation(
                f"fingerprints[{i}]", "unknown",
                f"fingerprints[{i}] is not a VERIFIED delta of customer {customer['customer_id']!r} inside the window",
            )
        chosen.append(row)
    return sorted(chosen, key=lambda r: r["sequence"])


def latest_of_scope(ctx: Ctx, customer_rowid: int, scope: Scope, selection: str) -> sqlite3.Row | None:
    if scope.mode == "all_time":
        return ctx.conn.execute(
            f"{CHECKPOINT_SELECT} WHERE customer = ? AND mode = 'all_time' ORDER BY n DESC LIMIT 1", (customer_rowid,)
        ).fetchone()
    return ctx.conn.execute(
        f"{CHECKPOINT_SELECT} WHERE customer = ? AND start_ms = ? AND end_ms = ? AND month_scope = ? AND selection = ?"
        " AND mode != 'all_time' ORDER BY n DESC LIMIT 1",
        (customer_rowid, scope.start_ms, scope.end_ms, int(scope.month_scope), selection),
    ).fetchone()


def commit_checkpoint(
    ctx: Ctx,
    customer: sqlite3.Row,
    scope: Scope,
    selection: str = "all",
    fingerprints: list[str] | None = None,
    fail_message: str | None = None,
) -> tuple[sqlite3.Row, bool]:
    """Create a checkpoint for the scope, or return the latest one when its covered set is unchanged."""
    conn, ws = ctx.conn, ctx.ws
    if scope.mode == "all_time":
        scope.end_ms = ctx.now + 1
    covered = _covered(ctx, customer, scope, fingerprints)
    fps = [bytes.fromhex(r["fingerprint"][2:]) for r in covered]  # stored by us: already strict hex
    levels = merkle.build_levels(fps)
    items_root = "0x" + merkle.root_from_levels(levels, len(fps)).hex()
    latest = latest_of_scope(ctx, customer["id"], scope, selection)
    if latest is not None and latest["status"] != "FAILED" and latest["items_root"] == items_root \
            and latest["tree_size"] == len(fps):
        return latest, False
    supersedes = latest["checkpoint_id"] if latest is not None and latest["status"] != "FAILED" else None
    windows = _window_summaries(ctx, customer, scope, covered if fingerprints is not None else None)
    net = exact_sum(w["netChange"] for w in windows)
    credits = exact_sum(w["totalCredits"] for w in windows)
    debits = exact_sum(w["totalDebits"] for w in windows)
    previous = conn.execute(
        "SELECT proof_root FROM checkpoints WHERE customer = ? ORDER BY n DESC LIMIT 1", (customer["id"],)
    ).fetchone()
    previous_root = previous[0] if previous else None
    preimage = checkpoint_preimage(
        ws.ledger_id, ws.chain_id, customer["customer_id"], format_ts(scope.start_ms), format_ts(scope.end_ms),
        scope.period if scope.month_scope else None, len(fps), items_root,
        covered[0]["sequence"] if covered else None, covered[-1]["sequence"] if covered else None,
        canonical_decimal(net), previous_root,
    )
    root = proof_root(preimage)
    n = ctx.next_number("chk")
    checkpoint_id = ctx.counted_id("chk", n)
    cur = conn.execute(
        "INSERT INTO checkpoints (ws, n, checkpoint_id, customer, customer_id, mode, month_scope, start_ms, end_ms,"
        " period, selection, covered_key, tree_size, items_root, from_sequence, to_sequence, net_change,"
        " total_credits, total_debits, windows, previous_proof_root, proof_root, preimage, anchor, scope, status,"
        " created_ms, verify_due_ms, fail_message, supersedes, receipt_generated)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'QUEUED',?,?,?,?,0)",
        (
            ws.id, n, checkpoint_id, customer["id"], customer["customer_id"], scope.mode, int(scope.month_scope),
            scope.start_ms, scope.end_ms, scope.period if scope.month_scope else None, selection, items_root,
            len(fps), items_root, covered[0]["sequence"] if covered else None,
            covered[-1]["sequence"] if covered else None, canonical_decimal(net), canonical_decimal(credits),
            canonical_decimal(debits), dumps(windows), previous_root, root, jcs_plain(preimage).decode("utf-8"), anchor_reference(root),
            dumps(scope.to_json()), ctx.now, ctx.now + ctx.delay_ms("verifyDelaySeconds"), fail_message, supersedes,
        ),
    )
    rowid = cur.lastrowid
    workspaces.schedule_due(ctx.conn, ctx.ws.id, ctx.now + ctx.delay_ms("verifyDelaySeconds"))
    conn.executemany(
        "INSERT INTO checkpoint_items (checkpoint, leaf_index, delta) VALUES (?, ?, ?)",
        ((rowid, i, r["id"]) for i, r in enumerate(covered)),
    )
    conn.executemany(
        "INSERT INTO checkpoint_trees (checkpoint, level, hashes) VALUES (?, ?, ?)",
        ((rowid, level, blob) for level, blob in enumerate(levels)),
    )
    if supersedes is not None:
        conn.execute("UPDATE checkpoints SET superseded_by = ? WHERE id = ?", (checkpoint_id, latest["id"]))
    return conn.execute(f"{CHECKPOINT_SELECT} WHERE id = ?", (rowid,)).fetchone(), True


def _window_summaries(ctx: Ctx, customer: sqlite3.Row, scope: Scope,
                      selected: list[sqlite3.Row] | None) -> list[dict[str, Any]]:
    """Per UTC month of the covered set: credits, debits, net, count. Fixed at commit (the covered
    set never changes), so a receipt page never re-reads 100,000 rows to print them."""
    groups: dict[str, dict[str, Any]] = {}

    def bucket(period: str) -> dict[str, Any]:
        return groups.setdefault(period, {"period": period, "totalCredits": Decimal(0), "totalDebits": Decimal(0),
                                          "netChange": Decimal(0), "deltasCount": 0, "deltaCount": 0})

    if selected is None:  # every VERIFIED delta of the window: summed from the covering index
        rows = ctx.conn.execute(
            "SELECT strftime('%Y-%m', recorded_ms / 1000, 'unixepoch') AS period, units > 0 OR frac_hi > 0"
            " OR frac_lo > 0 AS credit, COUNT(*), SUM(units), SUM(frac_hi), SUM(frac_lo) FROM deltas"
            " WHERE customer = ? AND status = 'VERIFIED' AND recorded_ms >= ? AND recorded_ms < ?"
            " GROUP BY period, credit",
            (customer["id"], scope.start_ms, scope.end_ms),
        ).fetchall()
        parts = [(r[0], bool(r[1]), r[2], join_sums(r[3], r[4], r[5])) for r in rows]
    else:
        parts = [(period_of(r["recorded_ms"]), Decimal(r["amount"]) > 0, 1, Decimal(r["amount"])) for r in selected]
    for period, credit, count, amount in parts:
        w = bucket(period)
        side = "totalCredits" if credit else "totalDebits"
        w[side] = add(w[side], amount)
        w["netChange"] = add(w["netChange"], amount)
        w["deltasCount"] += count
        w["deltaCount"] += count
    return [groups[p] for p in sorted(groups)]


@contextmanager
def open_levels(ctx: Ctx, rowid: int) -> Iterator[list[sqlite3.Blob]]:
    """A checkpoint's stored levels as read-only blob handles: a proof slices out the few hashes
    it needs instead of reading the whole tree (64 MB at a million leaves) for every page."""
    blobs = [ctx.conn.blobopen("checkpoint_trees", "hashes", r[0], readonly=True) for r in ctx.conn.execute(
        "SELECT rowid FROM checkpoint_trees WHERE checkpoint = ? ORDER BY level", (rowid,)
    )]
    try:
        yield blobs
    finally:
        for blob in blobs:
            blob.close()


def commit_for_request(
    ctx: Ctx, customer_id: str | None, scope: Scope, selection: str, fingerprints: list[str] | None,
    fail_message: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """POST /checkpoint: one customer (Checkpoint + idempotent) or every customer of the window."""
    if customer_id is not None:
        customer = require_customer(ctx, customer_id)
        row, created = commit_checkpoint(ctx, customer, scope, selection, fingerprints, fail_message)
        return {**checkpoint_object(ctx, row), "idempotent": not created}, created
    customers = ctx.conn.execute(
        "SELECT * FROM customers WHERE ws = ? AND id IN (SELECT DISTINCT customer FROM deltas WHERE ws = ?"
        " AND recorded_ms >= ? AND recorded_ms < ?) ORDER BY customer_id",
        (ctx.ws.id, ctx.ws.id, scope.start_ms, scope.end_ms),
    ).fetchall()
    results, created_count = [], 0
    for customer in customers:
        row, created = commit_checkpoint(ctx, customer, scope, selection, None, fail_message)
        created_count += int(created)
        results.append({**checkpoint_object(ctx, row), "idempotent": not created})
    reply = {"checkpoints": results, "count": len(results), "createdCount": created_count, "scope": scope.to_json()}
    return reply, created_count > 0


def list_checkpoints(ctx: Ctx, customer_id: str | None, scope: Scope | None, limit: int, offset: int) -> dict[str, Any]:
    where, args = ["ws = ?"], [ctx.ws.id]
    if customer_id is not None:
        where.append("customer_id = ?")
        args.append(customer_id)
    if scope is not None:
        where.append("start_ms >= ? AND end_ms <= ?")
        args += [scope.start_ms, scope.end_ms]
    clause = " AND ".join(where)
    total = ctx.conn.execute(f"SELECT COUNT(*) FROM checkpoints WHERE {clause}", args).fetchone()[0]
    rows = ctx.conn.execute(
        f"{CHECKPOINT_SELECT} WHERE {clause} ORDER BY n DESC LIMIT ? OFFSET ?", [*args, limit, offset]
    ).fetchall()
    return {
        "checkpoints": [checkpoint_object(ctx, r) for r in rows],
        "pagination": offset_page(limit, offset, total, len(rows)),
    }


def find_checkpoint(ctx: Ctx, customer: sqlite3.Row, ref: str) -> sqlite3.Row | None:
    value = ref.lower() if ref.lower().startswith("0x") else ref
    return ctx.conn.execute(
        f"{CHECKPOINT_SELECT} WHERE customer = ? AND (checkpoint_id = ? OR proof_root = ?)", (customer["id"], ref, value)
    ).fetchone()


def _covered_records(ctx: Ctx, rowid: int) -> list[sqlite3.Row]:
    return ctx.conn.execute(
        "SELECT d.id, d.record_id, d.sequence FROM checkpoint_items i JOIN deltas d ON d.id = i.delta"
        " WHERE i.checkpoint = ? ORDER BY i.leaf_index",
        (rowid,),
    ).fetchall()


def _summary(c: sqlite3.Row) -> dict[str, Any]:
    return {
        "checkpointId": c["checkpoint_id"], "proofRoot": c["proof_root"], "itemsRoot": c["items_root"],
        "period": c["period"], "startDate": format_ts(c["start_ms"]), "endDate": format_ts(c["end_ms"]),
        "treeSize": c["tree_size"], "netChange": Decimal(c["net_change"]), "fromSequence": c["from_sequence"],
        "toSequence": c["to_sequence"], "status": c["status"], "createdAt": format_ts(c["created_ms"]),
    }


def compare_checkpoints(ctx: Ctx, customer_id: str, ref_from: str, ref_to: str) -> dict[str, Any]:
    customer = require_customer(ctx, customer_id)
    a = find_checkpoint(ctx, customer, ref_from)
    if a is None:
        raise ApiError("NOT_FOUND", f"from {ref_from!r} is not a checkpoint of customer {customer_id!r}")
    b = find_checkpoint(ctx, customer, ref_to)
    if b is None:
        raise ApiError("NOT_FOUND", f"to {ref_to!r} is not a checkpoint of customer {customer_id!r}")
    ra, rb = _covered_records(ctx, a["id"]), _covered_records(ctx, b["id"])
    ids_a, ids_b = [r["id"] for r in ra], [r["id"] for r in rb]
    set_a, set_b = set(ids_a), set(ids_b)
    if set_a == set_b:
        relation = "equal"
    elif len(ids_a) < len(ids_b) and ids_b[: len(ids_a)] == ids_a:
        relation = "extends"
    elif set_a < set_b:
        relation = "superset"
    elif set_a > set_b:
        relation = "subset"
    elif set_a & set_b:
        relation = "overlap"
    else:
        relation = "disjoint"
    added = [r["record_id"] for r in rb if r["id"] not in set_a]
    removed = [r["record_id"] for r in ra if r["id"] not in set_b]
    same_series = a["start_ms"] == b["start_ms"] and (
        a["tree_size"] == 0 or b["tree_size"] == 0 or a["from_sequence"] == b["from_sequence"]
    )
    consistency = None
    if relation in ("equal", "extends") and same_series:
        m, n = a["tree_size"], b["tree_size"]
        proof = []
        if 0 < m < n:
            with open_levels(ctx, b["id"]) as levels:
                proof = merkle.consistency_from_levels(levels, n, m)
        consistency = {
            "customerId": customer_id,
            "firstTreeSize": m,
            "firstItemsRoot": a["items_root"],
            "secondTreeSize": n,
            "secondItemsRoot": b["items_root"],
            "consistencyProof": ["0x" + p.hex() for p in proof],
            "firstCheckpoint": preimage_of(a),
            "firstProofRoot": a["proof_root"],
            "secondCheckpoint": preimage_of(b),
            "secondProofRoot": b["proof_root"],
        }
    return {
        "customerId": customer_id,
        "from": _summary(a),
        "to": _summary(b),
        "relation": relation,
        "balanceDelta": add(Decimal(b["net_change"]), Decimal(a["net_change"]).copy_negate()),
        "deltaCountDelta": b["tree_size"] - a["tree_size"],
        "addedCount": len(added),
        "removedCount": len(removed),
        "added": added[:1000],
        "removed": removed[:1000],
        "consistency": consistency,
    }


def get_checkpoint_by_id(ctx: Ctx, checkpoint_id: str) -> sqlite3.Row:
    row = ctx.conn.execute(
        f"{CHECKPOINT_SELECT} WHERE ws = ? AND checkpoint_id = ?", (ctx.ws.id, checkpoint_id)
    ).fetchone()
    if row is None:
        raise not_found(f"Receipt {checkpoint_id!r}")
    return row

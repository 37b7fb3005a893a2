"""Sequence gaps (balance-api.md §5.11): runs of a customer's sequence numbers not (yet) VERIFIED."""

from __future__ import annotations

from typing import Any

from ..errors import validation
from .context import Ctx
from .customers import require_customer

STATE_OF = {"FAILED": "failed", "QUEUED": "pending", "PROCESSING": "pending"}


def sequence_gaps(ctx: Ctx, customer_id: str, from_seq: int, to_seq: int | None, limit: int) -> dict[str, Any]:
    customer = require_customer(ctx, customer_id)
    highest = customer["last_sequence"] or 0
    upper = highest if to_seq is None else to_seq
    if upper < from_seq and to_seq is not None:
        raise validation("toSequence", "range", "toSequence must not be below fromSequence")
    first_unverified = ctx.conn.execute(
        "SELECT MIN(sequence) FROM deltas WHERE customer = ? AND status != 'VERIFIED'", (customer["id"],)
    ).fetchone()[0]
    verified_through = highest if first_unverified is None else first_unverified - 1
    runs: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for sequence, status in ctx.conn.execute(
        "SELECT sequence, status FROM deltas WHERE customer = ? AND status != 'VERIFIED' AND sequence >= ?"
        " AND sequence <= ? ORDER BY sequence",
        (customer["id"], from_seq, min(upper, highest)),
    ):
        state = STATE_OF[status]
        if current and current["toSequence"] == sequence - 1 and current["state"] == state:
            current["toSequence"] = sequence
            current["count"] += 1
        else:
            current = {"fromSequence": sequence, "toSequence": sequence, "count": 1, "state": state}
            runs.append(current)
    return {
        "customerId": customer_id,
        "fromSequence": from_seq,
        "toSequence": upper,
        "highestSequence": highest,
        "verifiedThrough": verified_through,
        "gaps": runs[:limit],
        "gapCount": len(runs),
        "hasGaps": bool(runs),
        "truncated": len(runs) > limit,
    }

"""Webhook events are written to the workspace's outbox in the caller's transaction (§7).

The body is fixed here, once: every delivery attempt sends exactly these bytes.
"""

from __future__ import annotations

from typing import Any

from ..jsonout import dumps
from ..proofs.primitives import format_ts
from .context import Ctx

EVENT_TYPES = (
    "delta.verified",
    "delta.failed",
    "checkpoint.verified",
    "receipt.generated",
    "customer.created",
    "customer.compare_run",
)


def write_event(ctx: Ctx, event: str, data: dict[str, Any], created_ms: int, customer_id: str | None) -> str:
    n = ctx.next_number("evt")
    event_id = ctx.counted_id("evt", n)
    stamp = format_ts(created_ms)
    body = dumps(
        {
            "id": event_id,
            "event": event,
            "tenantId": ctx.ws.tenant_id,
            "createdAt": stamp,
            "timestamp": stamp,
            "data": data,
        }
    )
    ctx.conn.execute(
        "INSERT INTO events (ws, n, event_id, event, created_ms, body, customer_id, delivery_status,"
        " attempts, auto_attempts, next_attempt_ms, captured, attempt_log)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, 0, ?, 0, '[]')",
        (ctx.ws.id, n, event_id, event, created_ms, body, customer_id, created_ms),
    )
    return event_id

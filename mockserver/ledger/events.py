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
    return write_events(ctx, [(event, data, created_ms, customer_id)])[0]


def write_events(ctx: Ctx, events: list[tuple[str, dict[str, Any], int, str | None]]) -> list[str]:
    """Outbox rows for events in creation order: (type, data, createdAt ms, customer id)."""
    if not events:
        return []
    first = ctx.next_number("evt", len(events))
    tenant = ctx.ws.tenant_id
    rows, ids = [], []
    for offset, (event, data, created_ms, customer_id) in enumerate(events):
        n = first + offset
        event_id = ctx.counted_id("evt", n)
        stamp = format_ts(created_ms)
        body = dumps({"id": event_id, "event": event, "tenantId": tenant, "createdAt": stamp, "timestamp": stamp,
                      "data": data})
        rows.append((ctx.ws.id, n, event_id, event, created_ms, body, customer_id, created_ms))
        ids.append(event_id)
    ctx.conn.executemany(
        "INSERT INTO events (ws, n, event_id, event, created_ms, body, customer_id, delivery_status,"
        " attempts, auto_attempts, next_attempt_ms, captured, attempt_log)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, 0, ?, 0, '[]')",
        rows,
    )
    return ids

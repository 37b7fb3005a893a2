"""Delivery rows and attempts (balance-api.md §5.0.5, §5.21, §5.22, §7.5–§7.7).

An attempt POSTs the stored body (or, in capture mode with no URL, records a successful capture
with the headers it would have sent). Automatic retries follow the backoff schedule on the
virtual clock; manual retries never count against the 11 automatic attempts.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from .. import ids
from ..errors import not_found
from ..ledger.context import Ctx
from ..proofs.primitives import format_ts
from .signing import signature_header

MAX_AUTOMATIC_ATTEMPTS = 11
BACKOFF_SECONDS = (10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400)
USER_AGENT = "pacspace-mock-webhooks/1"


def _ts(ms: int | None) -> str | None:
    return None if ms is None else format_ts(ms)


def delivery_object(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "eventId": row["event_id"],
        "event": row["event"],
        "deliveryStatus": row["delivery_status"],
        "attempts": row["attempts"],
        "maxAttempts": MAX_AUTOMATIC_ATTEMPTS,
        "url": row["url"],
        "createdAt": format_ts(row["created_ms"]),
        "lastAttemptAt": _ts(row["last_attempt_ms"]),
        "lastResponseStatus": row["last_response_status"],
        "lastError": row["last_error"],
        "nextAttemptAt": _ts(row["next_attempt_ms"]) if row["delivery_status"] == "pending" else None,
        "deliveredAt": _ts(row["delivered_ms"]),
        "captured": bool(row["captured"]),
    }


def list_deliveries(ctx: Ctx, status: str | None, limit: int, offset: int) -> dict[str, Any]:
    where, args = "ws = ?", [ctx.ws.id]
    if status is not None:
        where += " AND delivery_status = ?"
        args.append(status)
    total = ctx.conn.execute(f"SELECT COUNT(*) FROM events WHERE {where}", args).fetchone()[0]
    rows = ctx.conn.execute(
        f"SELECT * FROM events WHERE {where} ORDER BY n DESC LIMIT ? OFFSET ?", [*args, limit, offset]
    ).fetchall()
    return {
        "deliveries": [delivery_object(r) for r in rows],
        "pagination": {"limit": limit, "offset": offset, "total": total, "hasMore": offset + len(rows) < total},
    }


def webhook_config(ctx: Ctx) -> dict[str, Any]:
    raw = ctx.conn.execute("SELECT webhook_config FROM workspaces WHERE id = ?", (ctx.ws.id,)).fetchone()[0]
    config = json.loads(raw) if raw else {}
    ws = ctx.ws
    return {
        "url": config.get("url"),
        "secret": config.get("secret") or ids.webhook_secret(ws.seed, ws.env, ws.public_id, 0),
        "previousSecret": config.get("previousSecret"),
        "previousSecretExpiresAt": config.get("previousSecretExpiresAt"),
    }


def attempt(ctx: Ctx, row: sqlite3.Row, manual: bool) -> bool:
    """One delivery attempt at ctx.now; updates the row; returns success."""
    config = webhook_config(ctx)
    secrets = [config["secret"]]
    expires = config.get("previousSecretExpiresAt")
    if config.get("previousSecret") and expires and expires > ctx.now:
        secrets.append(config["previousSecret"])
    clock = ctx.ws.settings.get("webhookTimestampClock", "wall")
    timestamp = str((ctx.now if clock == "virtual" else ctx.runtime.wall_ms()) // 1000)
    body = row["body"]
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-PacSpace-Signature": signature_header(secrets, timestamp, body),
        "X-PacSpace-Timestamp": timestamp,
        "X-Webhook-Event": row["event"],
        "X-Event-ID": row["event_id"],
        "X-PacSpace-Delivery-Attempt": str(row["attempts"] + 1),
    }
    url = config["url"]
    started = time.monotonic()
    status, error, captured = None, None, url is None
    receiver = ctx.runtime.webhook_callables.get(ctx.ws.id)
    if receiver is not None:
        try:
            status = int(receiver(headers, body.encode("utf-8")))
        except Exception as exc:  # a test's receiver raising is a failed delivery, not a server error
            error = f"connection_error: {exc}"[:200]
        captured = False
    elif url is not None:
        import httpx

        try:
            response = httpx.post(url, content=body.encode("utf-8"), headers=headers, timeout=10.0, follow_redirects=False)
            status = response.status_code
        except httpx.TimeoutException:
            error = "timeout"
        except httpx.HTTPError:
            error = "connection_error"
    ok = error is None and (captured or (status is not None and 200 <= status < 300))
    if not ok and error is None:
        error = f"http_{status}"
    log = json.loads(row["attempt_log"] or "[]")
    log.append({
        "attempt": row["attempts"] + 1, "at": format_ts(ctx.now), "url": url, "captured": captured,
        "timestamp": timestamp, "signature": headers["X-PacSpace-Signature"], "responseStatus": status,
        "error": error, "durationMs": int((time.monotonic() - started) * 1000), "faultRuleId": None,
    })
    auto_attempts = row["auto_attempts"] + (0 if manual else 1)
    delivery_status, next_at = row["delivery_status"], row["next_attempt_ms"]
    if ok:
        delivery_status, next_at = "delivered", None
    elif not manual and delivery_status == "pending":
        if auto_attempts >= MAX_AUTOMATIC_ATTEMPTS:
            delivery_status, next_at = "failed", None
        else:
            next_at = ctx.now + BACKOFF_SECONDS[auto_attempts - 1] * 1000
    ctx.conn.execute(
        "UPDATE events SET attempts = attempts + 1, auto_attempts = ?, delivery_status = ?, next_attempt_ms = ?,"
        " last_attempt_ms = ?, last_response_status = ?, last_error = ?, delivered_ms = ?, url = ?, captured = ?,"
        " attempt_log = ? WHERE id = ?",
        (
            auto_attempts, delivery_status, next_at, ctx.now, status, None if ok else error,
            ctx.now if ok and row["delivered_ms"] is None else row["delivered_ms"], url, int(captured and ok),
            json.dumps(log), row["id"],
        ),
    )
    return ok


def retry_delivery(ctx: Ctx, event_id: str) -> dict[str, Any]:
    row = ctx.conn.execute("SELECT * FROM events WHERE ws = ? AND event_id = ?", (ctx.ws.id, event_id)).fetchone()
    if row is None:
        raise not_found(f"Event {event_id!r}")
    attempt(ctx, row, manual=True)
    row = ctx.conn.execute("SELECT * FROM events WHERE id = ?", (row["id"],)).fetchone()
    return {**delivery_object(row), "retriedAt": format_ts(ctx.now)}

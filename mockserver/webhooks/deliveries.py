"""Delivery rows and attempts (balance-api.md §5.0.5, §5.21, §5.22, §7.5–§7.7).

An attempt POSTs the stored body (or, in capture mode with no URL, records a successful capture
with the headers it would have sent). Automatic retries follow the backoff schedule on the
virtual clock; manual retries never count against the 11 automatic attempts.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
from dataclasses import dataclass
from typing import Any, Callable, Generator

from .. import ids
from ..paging import int_param, offset_page
from ..errors import not_found, validation
from ..ledger.context import Ctx, Outside
from ..proofs.primitives import format_ts
from .signing import signature_header

MAX_AUTOMATIC_ATTEMPTS = 11
BACKOFF_SECONDS = (10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400)
USER_AGENT = "pacspace-mock-webhooks/1"
logger = logging.getLogger("pacspace_mock.webhooks")


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
        "pagination": offset_page(limit, offset, total, len(rows)),
    }


ROTATION_OVERLAP_MS = 24 * 3600 * 1000
SECRET_RE = re.compile(r"whsec_[A-Za-z0-9_-]{4,122}")
URL_RE = re.compile(r"https?://[^\s/?#]+[^\s]*")


def webhook_config(ctx: Ctx) -> dict[str, Any]:
    """The stored endpoint configuration; the secret is derived from the seed until set (§9)."""
    raw = ctx.conn.execute("SELECT webhook_config FROM workspaces WHERE id = ?", (ctx.ws.id,)).fetchone()[0]
    config = json.loads(raw) if raw else {}
    ws = ctx.ws
    generation = config.get("generation", 0)
    return {
        "url": config.get("url"),
        "secret": config.get("secret") or ids.webhook_secret(ws.seed, ws.env, ws.public_id, generation),
        "generation": generation,
        "previousSecret": config.get("previousSecret"),
        "previousSecretExpiresAt": config.get("previousSecretExpiresAt"),
    }


def config_object(ctx: Ctx) -> dict[str, Any]:
    config = webhook_config(ctx)
    expires = config["previousSecretExpiresAt"]
    active = config["previousSecret"] is not None and expires is not None and expires > ctx.now
    return {
        "url": config["url"],
        "mode": "capture" if config["url"] is None else "http",
        "secret": config["secret"],
        "previousSecret": config["previousSecret"] if active else None,
        "previousSecretExpiresAt": format_ts(expires) if active else None,
    }


def set_config(ctx: Ctx, body: Any) -> dict[str, Any]:
    """PUT /_mock/webhooks/config: url, secret, rotateSecret (§8.8)."""
    if not isinstance(body, dict):
        raise validation("body", "type", "the request body must be a JSON object")
    for name in body:
        if name not in ("url", "secret", "rotateSecret"):
            raise validation(name, "unknown_field", f"{name} is not a webhook configuration member")
    config = webhook_config(ctx)
    if "url" in body:
        url = body["url"]
        if url is not None and (not isinstance(url, str) or len(url) > 2048 or not URL_RE.fullmatch(url)):
            raise validation("url", "format", "url must be null or an http(s) URL of at most 2048 characters")
        config["url"] = url
    secret = body.get("secret")
    if secret is not None and (not isinstance(secret, str) or not SECRET_RE.fullmatch(secret)):
        raise validation("secret", "format", "secret must be whsec_ followed by 4-122 characters of A-Z a-z 0-9 _ -")
    rotate = body.get("rotateSecret", False)
    if not isinstance(rotate, bool):
        raise validation("rotateSecret", "type", "rotateSecret must be true or false")
    if rotate:
        previous = config["secret"]
        if secret is None:
            config["generation"] += 1
            secret = ids.webhook_secret(ctx.ws.seed, ctx.ws.env, ctx.ws.public_id, config["generation"])
        config["previousSecret"], config["previousSecretExpiresAt"] = previous, ctx.now + ROTATION_OVERLAP_MS
    elif secret is not None:
        config["previousSecret"] = config["previousSecretExpiresAt"] = None
    if secret is not None:
        config["secret"] = secret
    ctx.conn.execute("UPDATE workspaces SET webhook_config = ? WHERE id = ?", (json.dumps(config), ctx.ws.id))
    return config_object(ctx)


def outbox(ctx: Ctx, query: dict[str, str]) -> dict[str, Any]:
    """GET /_mock/webhooks/outbox: deliveries with their exact bodies and attempt logs, oldest first."""
    where, args = ["ws = ?"], [ctx.ws.id]
    if "event" in query:
        where.append("event = ?")
        args.append(query["event"])
    if "deliveryStatus" in query:
        if query["deliveryStatus"] not in ("pending", "delivered", "failed"):
            raise validation("deliveryStatus", "format", "deliveryStatus must be pending, delivered or failed")
        where.append("delivery_status = ?")
        args.append(query["deliveryStatus"])
    limit = int_param(query, "limit", 100, 1, 1000)
    offset = int_param(query, "offset", 0, 0, 1_000_000_000)
    clause = " AND ".join(where)
    total = ctx.conn.execute(f"SELECT COUNT(*) FROM events WHERE {clause}", args).fetchone()[0]
    rows = ctx.conn.execute(f"SELECT * FROM events WHERE {clause} ORDER BY n LIMIT ? OFFSET ?", [*args, limit, offset])
    entries = [{**delivery_object(r), "body": r["body"], "attemptLog": json.loads(r["attempt_log"] or "[]")} for r in rows]
    return {"entries": entries, "pagination": offset_page(limit, offset, total, len(entries))}



CLAIM_MS = 30_000  # an attempt in flight outside the lock; a crashed one is retried after this
TIMEOUT_S = 10.0  # §7.5: success is a 2xx within 10 s (wall)
UNCLAIMED = "(claimed_until_ms IS NULL OR claimed_until_ms < ?)"


def next_due(ctx: Ctx, until_ms: int) -> sqlite3.Row | None:
    """The pending delivery due first (then in event order) at or before until_ms, not in flight."""
    return ctx.conn.execute(
        "SELECT * FROM events WHERE ws = ? AND delivery_status = 'pending' AND next_attempt_ms <= ?"
        f" AND {UNCLAIMED} ORDER BY next_attempt_ms, n LIMIT 1",
        (ctx.ws.id, until_ms, ctx.runtime.wall_ms()),
    ).fetchone()


def count_attempt(counts: dict[str, int], outcome: str) -> None:
    counts["deliveryAttempts"] += 1
    if outcome == "delivered":
        counts["delivered"] += 1
    elif outcome == "failed":
        counts["failed"] += 1


def drain(ctx: Ctx, force: bool) -> Generator[Outside, Sent, dict[str, Any]]:
    """Attempt every pending delivery due now (force: every pending one), one at a time in event
    order. A generator: HTTP attempts run outside the lock (ledger.context.complete)."""
    counts = {"deliveryAttempts": 0, "delivered": 0, "failed": 0}
    ids = [r[0] for r in ctx.conn.execute(
        f"SELECT id FROM events WHERE ws = ? AND delivery_status = 'pending' AND {UNCLAIMED}"
        + ("" if force else " AND next_attempt_ms <= ?") + " ORDER BY n",
        (ctx.ws.id, ctx.runtime.wall_ms()) if force else (ctx.ws.id, ctx.runtime.wall_ms(), ctx.now),
    )]
    for rowid in ids:
        row = ctx.conn.execute(f"SELECT * FROM events WHERE id = ? AND delivery_status = 'pending' AND {UNCLAIMED}",
                               (rowid, ctx.runtime.wall_ms())).fetchone()
        if row is not None:  # still pending after the attempts before it (others may have run)
            count_attempt(counts, (yield from attempt(ctx, row, manual=False)))
    pending = ctx.conn.execute(
        "SELECT COUNT(*) FROM events WHERE ws = ? AND delivery_status = 'pending'", (ctx.ws.id,)
    ).fetchone()[0]
    return {"attempted": counts["deliveryAttempts"], "delivered": counts["delivered"], "failed": counts["failed"],
            "pending": pending}


def _event_customers(body: str) -> set[str]:
    data = json.loads(body).get("data") or {}
    found = {data.get("customerId")}
    if isinstance(data.get("delta"), dict):
        found.add(data["delta"].get("customerId"))
    return {c for c in found if isinstance(c, str)}


@dataclass
class Sent:
    """What one attempt got back: an HTTP status, or the error that stood in for one."""

    status: int | None = None
    error: str | None = None
    duration_ms: int = 0


def _post(url: str, body: bytes, headers: dict[str, str]) -> Sent:
    """One POST to a receiver, outside the store lock: a receiver may call this server back."""
    import httpx

    started = time.monotonic()
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=TIMEOUT_S, follow_redirects=False)
        sent = Sent(status=response.status_code)
    except httpx.TimeoutException:
        sent = Sent(error="timeout")
    except httpx.HTTPError:
        sent = Sent(error="connection_error")
    sent.duration_ms = int((time.monotonic() - started) * 1000)
    return sent


def _call(receiver: Callable[[dict[str, str], bytes], int], body: bytes, headers: dict[str, str]) -> Sent:
    """An in-process receiver (tests): called outside the lock too, since it may call back."""
    started = time.monotonic()
    try:
        sent = Sent(status=int(receiver(headers, body)))
    except Exception:  # a test's receiver raising is a failed delivery (§5.0.5), not a server error
        logger.warning("the in-process webhook receiver raised", exc_info=True)
        sent = Sent(error="connection_error")
    sent.duration_ms = int((time.monotonic() - started) * 1000)
    return sent


def attempt(ctx: Ctx, row: sqlite3.Row, manual: bool, before_outside: Callable[[], None] | None = None
            ) -> Generator[Outside, Sent, str]:
    """One delivery attempt at ctx.now. Returns 'delivered', 'retry' or 'failed'.

    A generator: an attempt that contacts a receiver (HTTP, or an in-process callable) claims the
    row, yields the POST as Outside work and records what it got in the next transaction; a
    captured or injected-failure attempt is recorded at once. `before_outside` runs just before
    the lock is given up (a clock move stands the clock at the attempt's due time there).
    """
    from ..control import faults

    config = webhook_config(ctx)
    secrets = [config["secret"]]
    expires = config["previousSecretExpiresAt"]
    if config["previousSecret"] and expires and expires > ctx.now:
        secrets.append(config["previousSecret"])
    clock = ctx.ws.settings.get("webhookTimestampClock", "wall")
    timestamp = str((ctx.now if clock == "virtual" else ctx.runtime.wall_ms()) // 1000)
    body = row["body"]
    number = row["attempts"] + 1
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-PacSpace-Signature": signature_header(secrets, timestamp, body),
        "X-PacSpace-Timestamp": timestamp,
        "X-Webhook-Event": row["event"],
        "X-Event-ID": row["event_id"],
        "X-PacSpace-Delivery-Attempt": str(number),
    }
    url = config["url"]
    at = ctx.now
    receiver = ctx.runtime.webhook_callables.get(ctx.ws.id)
    fired = faults.evaluate(ctx, event=row["event"], customer_ids=_event_customers(body)) if ctx.ws.rules_created else None
    failure = fired.action("webhook_failure") if fired else None
    captured = False
    if failure is not None:  # fails without contacting the endpoint, captured or not
        sent = Sent(error="timeout" if failure.get("timeout") else f"injected_{failure['status']}")
    elif receiver is None and url is None:  # capture mode (§7.6)
        sent, captured = Sent(), True
    else:
        ctx.conn.execute("UPDATE events SET attempts = ?, claimed_until_ms = ? WHERE id = ?",
                         (number, ctx.runtime.wall_ms() + CLAIM_MS, row["id"]))
        if before_outside is not None:
            before_outside()
        payload = body.encode("utf-8")
        sent = yield Outside(lambda: _call(receiver, payload, headers) if receiver is not None
                             else _post(url, payload, headers))
        row = ctx.conn.execute("SELECT * FROM events WHERE id = ?", (row["id"],)).fetchone()
    return _record(ctx, row, manual, number, at, url, captured, timestamp, headers["X-PacSpace-Signature"], sent,
                   fired.rule_id if fired else None)


def _record(ctx: Ctx, row: sqlite3.Row, manual: bool, number: int, at: int, url: str | None, captured: bool,
            timestamp: str, signature: str, sent: Sent, fault_rule: str | None) -> str:
    """Write an attempt's outcome: the log entry, the delivery state and the next automatic
    attempt (the backoff runs from the attempt's virtual instant, however long the POST took)."""
    ok = sent.error is None and (captured or (sent.status is not None and 200 <= sent.status < 300))
    error = sent.error if sent.error is not None or ok else f"http_{sent.status}"
    log = json.loads(row["attempt_log"] or "[]")
    log.append({
        "attempt": number, "at": format_ts(at), "url": url, "captured": captured,
        "timestamp": timestamp, "signature": signature, "responseStatus": sent.status,
        "error": error, "durationMs": sent.duration_ms, "faultRuleId": fault_rule,
    })
    auto_attempts = row["auto_attempts"] + (0 if manual else 1)
    delivery_status, next_at = row["delivery_status"], row["next_attempt_ms"]
    if ok:
        delivery_status, next_at = "delivered", None
    elif not manual and delivery_status == "pending":
        if auto_attempts >= MAX_AUTOMATIC_ATTEMPTS:
            delivery_status, next_at = "failed", None
        else:
            next_at = at + BACKOFF_SECONDS[auto_attempts - 1] * 1000
    ctx.conn.execute(
        "UPDATE events SET attempts = MAX(attempts, ?), auto_attempts = ?, delivery_status = ?, next_attempt_ms = ?,"
        " last_attempt_ms = ?, last_response_status = ?, last_error = ?, delivered_ms = ?, url = ?, captured = ?,"
        " attempt_log = ?, claimed_until_ms = NULL WHERE id = ?",
        (
            number, auto_attempts, delivery_status, next_at, at, sent.status, None if ok else error,
            at if ok and row["delivered_ms"] is None else row["delivered_ms"], url, int(captured and ok),
            json.dumps(log), row["id"],
        ),
    )
    return "delivered" if ok else ("failed" if delivery_status == "failed" else "retry")


def retry_delivery(ctx: Ctx, event_id: str) -> Generator[Outside, Sent, dict[str, Any]]:
    """One manual attempt now (§5.22); a generator like attempt()."""
    row = ctx.conn.execute("SELECT * FROM events WHERE ws = ? AND event_id = ?", (ctx.ws.id, event_id)).fetchone()
    if row is None:
        raise not_found(f"Event {event_id!r}")
    yield from attempt(ctx, row, manual=True)
    row = ctx.conn.execute("SELECT * FROM events WHERE id = ?", (row["id"],)).fetchone()
    return {**delivery_object(row), "retriedAt": format_ts(ctx.now)}

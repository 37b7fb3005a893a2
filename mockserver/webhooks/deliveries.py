"""Delivery rows and attempts (balance-api.md §5.0.5, §5.21, §5.22, §7.5–§7.7).

An attempt POSTs the stored body (or, in capture mode with no URL, records a successful capture
with the headers it would have sent). Automatic retries follow the backoff schedule on the
virtual clock; manual retries never count against the 11 automatic attempts.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from dataclasses import dataclass
from typing import Any, Callable, Generator

import orjson

from .. import faults, ids
from ..errors import not_found
from ..ledger import events
from ..ledger.context import Ctx, Outside
from ..paging import offset_page
from ..proofs.primitives import format_ts, optional_ts
from ..store import outbox as outbox_rows
from ..store import workspaces
from .signing import Signer, signature_header

MAX_AUTOMATIC_ATTEMPTS = 11
BACKOFF_SECONDS = (10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400)
USER_AGENT = "pacspace-mock-webhooks/1"
logger = logging.getLogger("pacspace_mock.webhooks")


def delivery_object(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "eventId": row["event_id"],
        "event": row["event"],
        "deliveryStatus": row["delivery_status"],
        "attempts": row["attempts"],
        "maxAttempts": MAX_AUTOMATIC_ATTEMPTS,
        "url": row["url"],
        "createdAt": format_ts(row["created_ms"]),
        "lastAttemptAt": optional_ts(row["last_attempt_ms"]),
        "lastResponseStatus": row["last_response_status"],
        "lastError": row["last_error"],
        "nextAttemptAt": optional_ts(row["next_attempt_ms"]) if row["delivery_status"] == "pending" else None,
        "deliveredAt": optional_ts(row["delivered_ms"]),
        "captured": bool(row["captured"]),
    }


def list_deliveries(ctx: Ctx, status: str | None, limit: int, offset: int) -> dict[str, Any]:
    """§5.21: newest event first."""
    total, rows = outbox_rows.page(ctx.conn, ctx.ws.id, status=status, limit=limit, offset=offset, newest_first=True)
    return {"deliveries": [delivery_object(r) for r in rows], "pagination": offset_page(limit, offset, total, len(rows))}


ROTATION_OVERLAP_MS = 24 * 3600 * 1000


def webhook_config(ctx: Ctx) -> dict[str, Any]:
    """The stored endpoint configuration; the secret is derived from the seed until set (§9)."""
    raw = workspaces.webhook_config(ctx.conn, ctx.ws.id)
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


def set_config(ctx: Ctx, *, url: str | None, url_given: bool, secret: str | None, rotate: bool) -> dict[str, Any]:
    """PUT /_mock/webhooks/config (§8.8): a new url (null: capture mode), a secret that replaces the
    old one at once, or a rotation (given or next derived secret; the old one valid 24 h more)."""
    config = webhook_config(ctx)
    if url_given:
        config["url"] = url
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
    workspaces.save_webhook_config(ctx.conn, ctx.ws.id, json.dumps(config))
    return config_object(ctx)


def outbox(ctx: Ctx, event: str | None, status: str | None, limit: int, offset: int,
           newest_first: bool = False) -> dict[str, Any]:
    """GET /_mock/webhooks/outbox: deliveries with their exact bodies and attempt logs, oldest first
    (the dev console lists the newest first)."""
    total, rows = outbox_rows.page(ctx.conn, ctx.ws.id, event=event, status=status, limit=limit, offset=offset,
                                   newest_first=newest_first)
    entries = [{**delivery_object(r), "body": text, "attemptLog": attempt_log(r["attempt_log"])}
               for r, text in zip(rows, events.bodies(ctx, rows))]
    return {"entries": entries, "pagination": offset_page(limit, offset, total, len(entries))}


# An attempt log is stored as JSON arrays in this order (a few dozen bytes per attempt instead
# of an object with every member name); logs written by version 1 hold the objects themselves.
ATTEMPT_MEMBERS = ("attempt", "at", "url", "captured", "timestamp", "signature", "responseStatus", "error",
                   "durationMs", "faultRuleId")


def append_attempt(log: str | None, entry: list[Any]) -> str:
    try:
        text = orjson.dumps(entry).decode("utf-8")
    except orjson.JSONEncodeError:  # (a URL is text the workspace set: the standard writer escapes anything)
        text = json.dumps(entry, separators=(",", ":"))
    return f"[{text}]" if not log or log == "[]" else f"{log[:-1]},{text}]"


def attempt_log(log: str | None) -> list[dict[str, Any]]:
    """The attemptLog of §8.8, oldest attempt first."""
    out = []
    for entry in json.loads(log or "[]"):
        if isinstance(entry, list):
            entry = dict(zip(ATTEMPT_MEMBERS, entry))
            entry["at"], entry["captured"] = format_ts(entry["at"]), bool(entry["captured"])
        out.append(entry)
    return out


CLAIM_MS = 30_000  # an attempt in flight outside the lock; a crashed one is retried after this
TIMEOUT_S = 10.0  # §7.5: success is a 2xx within 10 s (wall)


def next_due(ctx: Ctx, until_ms: int) -> sqlite3.Row | None:
    """The pending delivery due first (then in event order) at or before until_ms, not in flight."""
    return outbox_rows.next_due(ctx.conn, ctx.ws.id, until_ms, ctx.runtime.wall_ms())


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
    wall = ctx.runtime.wall_ms
    if captures(ctx):
        made = capture_due(ctx, None if force else ctx.now, stand=False)
        counts["deliveryAttempts"] = counts["delivered"] = made
    for rowid in outbox_rows.pending_ids(ctx.conn, ctx.ws.id, None if force else ctx.now, wall()):
        row = outbox_rows.still_pending(ctx.conn, rowid, wall())
        if row is not None:  # still pending after the attempts before it (others may have run)
            count_attempt(counts, (yield from attempt(ctx, row, manual=False)))
    return {"attempted": counts["deliveryAttempts"], "delivered": counts["delivered"], "failed": counts["failed"],
            "pending": outbox_rows.count_pending(ctx.conn, ctx.ws.id)}


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


def _secrets(config: dict[str, Any], at: int) -> list[str]:
    """The current secret, then the previous one while its rotation overlap lasts (§7.5)."""
    expires = config["previousSecretExpiresAt"]
    if config["previousSecret"] and expires and expires > at:
        return [config["secret"], config["previousSecret"]]
    return [config["secret"]]


def captures(ctx: Ctx) -> bool:
    """Capture mode with nothing that could make one attempt differ from another: no receiver,
    no URL, no fault rule. Then every due attempt succeeds as a capture (§7.6) and schedules
    nothing, so a run of them can be recorded in one pass (capture_due)."""
    return (not ctx.ws.rules_created and ctx.runtime.webhook_callables.get(ctx.ws.id) is None
            and webhook_config(ctx)["url"] is None)


CAPTURE_CHUNK = 500


def capture_due(ctx: Ctx, until_ms: int | None, before_ms: int | None = None, stand: bool = True,
                stopping: Callable[[], bool] | None = None) -> int:
    """Capture every pending delivery due by until_ms (None: all) and before before_ms, in due
    order, as automatic attempts; only when captures(ctx). With `stand` each attempt happens at
    its due time (clock moves: the clock stands there), else at ctx.now. Exactly what attempt()
    records one at a time (bodies rendered in bulk, a few hundred rows per statement)."""
    config = webhook_config(ctx)
    virtual = ctx.ws.settings.get("webhookTimestampClock", "wall") == "virtual"
    made = 0
    while not (stopping and stopping()):
        rows = outbox_rows.due_rows(ctx.conn, ctx.ws.id, until_ms, before_ms, ctx.runtime.wall_ms(), CAPTURE_CHUNK)
        if not rows:
            break
        wall_timestamp = str(ctx.runtime.wall_ms() // 1000)
        updates = []
        signers: dict[tuple[str, int], Signer] = {}
        for row, body in zip(rows, events.bodies_utf8(ctx, rows)):
            if stand:
                ctx.now = max(ctx.now, row["next_attempt_ms"])
            at = ctx.now
            timestamp = str(at // 1000) if virtual else wall_timestamp
            secrets = _secrets(config, at)
            signer = signers.get((timestamp, len(secrets))) or signers.setdefault(
                (timestamp, len(secrets)), Signer(secrets, timestamp))
            signature = signer.sign(body)
            number = row["attempts"] + 1
            log = append_attempt(row["attempt_log"], [number, at, None, 1, timestamp, signature, None, None, 0, None])
            updates.append((number, row["auto_attempts"] + 1, at,
                            at if row["delivered_ms"] is None else row["delivered_ms"], log, row["id"]))
        outbox_rows.record_captures(ctx.conn, updates)
        made += len(rows)
    return made


def attempt(ctx: Ctx, row: sqlite3.Row, manual: bool, before_outside: Callable[[], None] | None = None
            ) -> Generator[Outside, Sent, str]:
    """One delivery attempt at ctx.now. Returns 'delivered', 'retry' or 'failed'.

    A generator: an attempt that contacts a receiver (HTTP, or an in-process callable) claims the
    row, yields the POST as Outside work and records what it got in the next transaction; a
    captured or injected-failure attempt is recorded at once. `before_outside` runs just before
    the lock is given up (a clock move stands the clock at the attempt's due time there).
    """

    config = webhook_config(ctx)
    secrets = _secrets(config, ctx.now)
    clock = ctx.ws.settings.get("webhookTimestampClock", "wall")
    timestamp = str((ctx.now if clock == "virtual" else ctx.runtime.wall_ms()) // 1000)
    body = events.body(ctx, row)
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
        outbox_rows.claim(ctx.conn, row["id"], number, ctx.runtime.wall_ms() + CLAIM_MS)
        if before_outside is not None:
            before_outside()
        payload = body.encode("utf-8")
        sent = yield Outside(lambda: _call(receiver, payload, headers) if receiver is not None
                             else _post(url, payload, headers))
        row = outbox_rows.get(ctx.conn, row["id"])
    return _record(ctx, row, manual, number, at, url, captured, timestamp, headers["X-PacSpace-Signature"], sent,
                   fired.rule_id if fired else None)


def _record(ctx: Ctx, row: sqlite3.Row, manual: bool, number: int, at: int, url: str | None, captured: bool,
            timestamp: str, signature: str, sent: Sent, fault_rule: str | None) -> str:
    """Write an attempt's outcome: the log entry, the delivery state and the next automatic
    attempt (the backoff runs from the attempt's virtual instant, however long the POST took)."""
    ok = sent.error is None and (captured or (sent.status is not None and 200 <= sent.status < 300))
    error = sent.error if sent.error is not None or ok else f"http_{sent.status}"
    log = append_attempt(row["attempt_log"], [number, at, url, int(captured), timestamp, signature, sent.status, error,
                                              sent.duration_ms, fault_rule])
    auto_attempts = row["auto_attempts"] + (0 if manual else 1)
    delivery_status, next_at = row["delivery_status"], row["next_attempt_ms"]
    if ok:
        delivery_status, next_at = "delivered", None
    elif not manual and delivery_status == "pending":
        if auto_attempts >= MAX_AUTOMATIC_ATTEMPTS:
            delivery_status, next_at = "failed", None
        else:
            next_at = at + BACKOFF_SECONDS[auto_attempts - 1] * 1000
    outbox_rows.record_attempt(
        ctx.conn, row["id"], attempts=number, auto_attempts=auto_attempts, delivery_status=delivery_status,
        next_attempt_ms=next_at, last_attempt_ms=at, last_response_status=sent.status, last_error=None if ok else error,
        delivered_ms=at if ok and row["delivered_ms"] is None else row["delivered_ms"], url=url,
        captured=captured and ok, attempt_log=log)
    return "delivered" if ok else ("failed" if delivery_status == "failed" else "retry")


def retry_delivery(ctx: Ctx, event_id: str) -> Generator[Outside, Sent, dict[str, Any]]:
    """One manual attempt now (§5.22); a generator like attempt()."""
    row = outbox_rows.by_event_id(ctx.conn, ctx.ws.id, event_id)
    if row is None:
        raise not_found(f"Event {event_id!r}")
    yield from attempt(ctx, row, manual=True)
    row = outbox_rows.get(ctx.conn, row["id"])
    return {**delivery_object(row), "retriedAt": format_ts(ctx.now)}

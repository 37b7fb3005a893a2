"""The /_mock control plane (balance-api.md §8): clock, settings, workspace, health.

Control calls select the workspace by X-Api-Key like the API, run due transitions first, are not
journaled and are not subject to faults. Fault rules, journal, webhook configuration/outbox
routes and state import/export come with the control-plane issue.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from ..api.http import JSON, envelope_ok, error_response, read_body, request_origin
from ..errors import ApiError, validation
from ..ledger.context import Ctx
from ..ledger.lifecycle import apply_due, apply_item, due_items
from ..proofs.primitives import format_ts, parse_rfc3339
from ..runtime import Runtime

TEN_YEARS_MS = 10 * 366 * 86_400_000


def control_endpoint(runtime: Runtime, handler: Callable[[Ctx, Any], Any], body: bool = False,
                     status: int = 200) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        try:
            payload = await read_body(request) if body else None
        except ApiError as exc:
            return error_response(exc)
        if request.query_params:
            name = next(iter(request.query_params))
            return error_response(validation(name, "unknown_field", f"{name} is not a known query parameter"))
        with runtime.store.transaction() as conn:
            try:
                ws = runtime.resolve_workspace(conn, request.headers.get("x-api-key"))
            except ApiError as exc:
                return error_response(exc)
            now = runtime.read_clock(conn, ws)
            ctx = Ctx(runtime, conn, ws, now, runtime.origin(ws, request_origin(request)))
            apply_due(ctx)
            try:
                with runtime.store.savepoint():
                    data = handler(ctx, payload)
            except ApiError as exc:
                return error_response(exc)
            return Response(envelope_ok(data), status_code=status, media_type=JSON)

    return run


def _object(payload: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise validation("body", "type", "the request body must be a JSON object")
    for name in payload:
        if name not in allowed:
            raise validation(name, "unknown_field", f"{name} is not a known field")
    return payload


def _instant(payload: dict[str, Any], name: str) -> int:
    value = payload.get(name)
    if not isinstance(value, str):
        raise validation(name, "type" if value is not None else "required", f"{name} must be an RFC 3339 timestamp")
    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        raise validation(name, "format", f"{name}: {exc}") from None


# --- clock (§8.3) ----------------------------------------------------------------------------------

def run_until(ctx: Ctx, target: int) -> dict[str, int]:
    """Perform every due item up to target in time order, standing the clock at each due time."""
    counts = {"transitions": 0, "events": 0, "deliveryAttempts": 0, "delivered": 0, "failed": 0}
    while True:
        items = due_items(ctx, target)
        if not items:
            break
        item = items[0]
        ctx.now = max(ctx.now, item.due)
        apply_item(ctx, item, counts)
    ctx.now = target
    return counts


def _has_history(ctx: Ctx) -> bool:
    """A workspace with nothing timestamped yet may start its clock anywhere (e.g. in the past):
    there is no reading for time to run backwards against. Once anything is recorded, it may not."""
    return any(
        ctx.conn.execute(f"SELECT 1 FROM {table} WHERE ws = ? LIMIT 1", (ctx.ws.id,)).fetchone()
        for table in ("customers", "deltas", "checkpoints", "events")
    )


def _move(ctx: Ctx, target: int, freeze: bool | None) -> dict[str, Any]:
    previous = ctx.now
    if target < previous and _has_history(ctx):
        raise ApiError(
            "CLOCK_BACKWARDS", f"the clock cannot move back from {format_ts(previous)} to {format_ts(target)}",
            details={"field": "now", "reason": "range"},
        )
    counts = run_until(ctx, target)
    ctx.runtime.set_clock(ctx.conn, ctx.ws, target, freeze=freeze)
    return {"previous": format_ts(previous), **ctx.runtime.clock_object(ctx.conn, ctx.ws, target), "processed": counts}


def clock_get(ctx: Ctx, payload: Any) -> dict[str, Any]:
    return ctx.runtime.clock_object(ctx.conn, ctx.ws, ctx.now)


def clock_set(ctx: Ctx, payload: Any) -> dict[str, Any]:
    body = _object(payload, ("now",))
    return _move(ctx, _instant(body, "now"), None)


def clock_advance(ctx: Ctx, payload: Any) -> dict[str, Any]:
    body = _object(payload, ("seconds", "until"))
    if ("seconds" in body) == ("until" in body):
        raise validation("seconds", "required", "give exactly one of seconds or until")
    if "until" in body:
        return _move(ctx, _instant(body, "until"), None)
    seconds = body["seconds"]
    if isinstance(seconds, bool) or not isinstance(seconds, Decimal):
        raise validation("seconds", "type", "seconds must be a number")
    ms = seconds * 1000
    if seconds <= 0 or ms != ms.to_integral_value() or ms > TEN_YEARS_MS:
        raise validation("seconds", "range", "seconds must be > 0, at most 10 years, in whole milliseconds")
    return _move(ctx, ctx.now + int(ms), None)


def clock_freeze(ctx: Ctx, payload: Any) -> dict[str, Any]:
    body = _object(payload, ("at",))
    target = _instant(body, "at") if "at" in body else ctx.now
    _move(ctx, target, True)
    return ctx.runtime.clock_object(ctx.conn, ctx.ws, target)


def clock_unfreeze(ctx: Ctx, payload: Any) -> dict[str, Any]:
    _object(payload, ())
    ctx.runtime.unfreeze_clock(ctx.conn, ctx.ws)
    return ctx.runtime.clock_object(ctx.conn, ctx.ws, ctx.now)


# --- settings (§8.4) -------------------------------------------------------------------------------

def _int_range(name: str, lo: int, hi: int, nullable: bool = False):
    def check(value: Any) -> Any:
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, Decimal) or value != value.to_integral_value():
            raise validation(name, "type", f"{name} must be a whole number" + (" or null" if nullable else ""))
        if not lo <= value <= hi:
            raise validation(name, "range", f"{name} must be between {lo} and {hi}")
        return int(value)

    return check


def _seconds(name: str):
    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, Decimal):
            raise validation(name, "type", f"{name} must be a number")
        if not 0 <= value <= 86400 or (value * 1000) != (value * 1000).to_integral_value():
            raise validation(name, "range", f"{name} must be 0-86400 seconds in whole milliseconds")
        return int(value) if value == value.to_integral_value() else float(value)

    return check


def _bool(name: str):
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise validation(name, "type", f"{name} must be true or false")
        return value

    return check


def _choice(name: str, allowed: tuple[str, ...]):
    def check(value: Any) -> str:
        if value not in allowed:
            raise validation(name, "format", f"{name} must be one of {', '.join(allowed)}")
        return value

    return check


ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?\Z")


def _origin(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str) or not ORIGIN_RE.match(value):
        raise validation("publicOrigin", "format", "publicOrigin must be null or http(s)://host[:port]")
    return value


def _limits(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        raise validation("limits", "type", "limits must be an object")
    ranges = {"maxScopeMonths": (1, 1200), "maxLastNDays": (1, 36500), "maxRetentionDays": (1, 36500)}
    out = {}
    for key, item in value.items():
        if key not in ranges:
            raise validation(f"limits.{key}", "unknown_field", f"limits.{key} is not a known limit")
        out[key] = _int_range(f"limits.{key}", *ranges[key])(item)
    return out


def _embed(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > 20 or not all(isinstance(v, str) and ORIGIN_RE.match(v) for v in value):
        raise validation("embedOrigins", "format", "embedOrigins must be a list of up to 20 http(s) origins")
    return value


SETTING_CHECKS: dict[str, Callable[[Any], Any]] = {
    "seed": _int_range("seed", 0, 2**63 - 1),
    "processingDelaySeconds": _seconds("processingDelaySeconds"),
    "verifyDelaySeconds": _seconds("verifyDelaySeconds"),
    "sharedRecord": _bool("sharedRecord"),
    "strictMode": _bool("strictMode"),
    "cadenceLimitSeconds": _int_range("cadenceLimitSeconds", 1, 604800, nullable=True),
    "planAllotment": _int_range("planAllotment", 0, 10**9, nullable=True),
    "limits": _limits,
    "publicOrigin": _origin,
    "webhookDelivery": _choice("webhookDelivery", ("auto", "manual")),
    "webhookTimestampClock": _choice("webhookTimestampClock", ("wall", "virtual")),
    "idempotencyTtlSeconds": _int_range("idempotencyTtlSeconds", 1, 604800),
    "journalSize": _int_range("journalSize", 10, 100000),
    "embedOrigins": _embed,
}


def patch_settings(ctx: Ctx, changes: dict[str, Any]) -> dict[str, Any]:
    """Validate a settings subset and store it; returns the new settings object."""
    settings = copy.deepcopy(ctx.ws.settings)
    for name, value in changes.items():
        if name not in SETTING_CHECKS:
            raise validation(name, "unknown_field", f"{name} is not a known setting")
        checked = SETTING_CHECKS[name](value)
        if name == "limits":
            settings["limits"] = {**settings["limits"], **checked}
        else:
            settings[name] = checked
    if float(settings["verifyDelaySeconds"]) < float(settings["processingDelaySeconds"]):
        raise validation("verifyDelaySeconds", "range", "verifyDelaySeconds must be >= processingDelaySeconds")
    ctx.runtime.save_settings(ctx.conn, ctx.ws, settings)
    return settings


def settings_get(ctx: Ctx, payload: Any) -> dict[str, Any]:
    return ctx.ws.settings


def settings_patch(ctx: Ctx, payload: Any) -> dict[str, Any]:
    return patch_settings(ctx, _object(payload, tuple(SETTING_CHECKS)))


def workspace_get(ctx: Ctx, payload: Any) -> dict[str, Any]:
    ws, conn = ctx.ws, ctx.conn
    count = lambda table: conn.execute(f"SELECT COUNT(*) FROM {table} WHERE ws = ?", (ws.id,)).fetchone()[0]  # noqa: E731
    return {
        "publicId": ws.public_id,
        "environment": ws.env,
        "tenantId": ws.tenant_id,
        "ledgerId": ws.ledger_id,
        "chainId": ws.chain_id,
        "createdAt": format_ts(ws.created_ms),
        "counts": {"customers": count("customers"), "deltas": count("deltas"), "checkpoints": count("checkpoints"),
                   "events": count("events")},
    }


def health(runtime: Runtime) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        with runtime.store.transaction() as conn:
            workspaces = conn.execute("SELECT COUNT(*) FROM workspaces").fetchone()[0]
        from .. import __version__

        data = {"status": "ok", "version": __version__, "strict": runtime.config.strict, "workspaces": workspaces,
                "storage": "memory" if runtime.store.memory else "file"}
        return Response(envelope_ok(data), media_type=JSON)

    return run


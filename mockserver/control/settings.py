"""Workspace settings (balance-api.md §8.4): every member validated, a PATCH never touches
another workspace."""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from typing import Any, Callable

from ..errors import validation
from ..ledger.context import Ctx
from .plane import ControlCall, _object


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
    message = "embedOrigins must be a list of up to 20 http(s) origins"
    if not isinstance(value, list):
        raise validation("embedOrigins", "type", message)
    if len(value) > 20:
        raise validation("embedOrigins", "range", message)
    if not all(isinstance(v, str) and ORIGIN_RE.match(v) for v in value):
        raise validation("embedOrigins", "format", message)
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


def settings_get(ctx: Ctx, call: ControlCall) -> dict[str, Any]:
    return ctx.ws.settings


def settings_patch(ctx: Ctx, call: ControlCall) -> dict[str, Any]:
    return patch_settings(ctx, _object(call.body, tuple(SETTING_CHECKS)))

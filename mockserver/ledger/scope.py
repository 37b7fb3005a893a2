"""The scope model (balance-api.md §2): which window, or which checkpoint position, a request means.

Checks run in the contract's order (§2.3): combinations first, then types, then the window's
own limits; the first failure answers.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from ..errors import ApiError, validation
from ..proofs.primitives import civil_from_days, days_from_civil, format_ts, month_of, month_start_ms, parse_date_or_datetime
from .context import Ctx

PERIOD_RE = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])\Z")
HASH_INPUT_RE = re.compile(r"^0x[0-9a-fA-F]{64}\Z")
SCOPE_FIELDS = ("period", "timePreset", "startDate", "endDate")
CHECKPOINT_FIELDS = ("startingCheckpoint", "startingCheckpointType")
CHECKPOINT_TYPES = {"proofRoot": "proofRoot", "itemsRoot": "proofRoot", "recordId": "recordId", "anchorId": "recordId"}
DAY_MS = 86_400_000
ALL_TIME_START = 0


@dataclass
class Scope:
    mode: str  # period | current_month | custom | checkpoint | all_time
    start_ms: int | None = None
    end_ms: int | None = None
    period: str | None = None
    starting_checkpoint: str | None = None
    starting_checkpoint_type: str | None = None
    after_sequence: int | None = None
    defaulted: bool = False

    @property
    def month_scope(self) -> bool:
        return self.mode in ("period", "current_month")

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "period": self.period,
            "startDate": None if self.start_ms is None else format_ts(self.start_ms),
            "endDate": None if self.end_ms is None else format_ts(self.end_ms),
            "startingCheckpoint": self.starting_checkpoint,
            "startingCheckpointType": self.starting_checkpoint_type,
            "afterSequence": self.after_sequence,
            "defaulted": self.defaulted,
        }


def month_window(year: int, month: int) -> tuple[int, int]:
    return month_start_ms(year, month), month_start_ms(year, month + 1)


def add_months(ms: int, months: int) -> int:
    """Calendar months later, the day clamped to the month's length, same time of day."""
    days, rem = divmod(ms, DAY_MS)
    year, month, day = civil_from_days(days)
    total = year * 12 + (month - 1) + months
    y, m = divmod(total, 12)
    m += 1
    import calendar

    day = min(day, calendar.monthrange(y, m)[1])
    return days_from_civil(y, m, day) * DAY_MS + rem


def _present(raw: dict[str, Any], name: str) -> bool:
    return raw.get(name) is not None


def _string(raw: dict[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise validation(name, "type", f"{name} must be a string")
    return value


def read_scope(raw: Any, *, allow_checkpoint: bool = False) -> Scope:
    """The scope a request's inputs mean, checked in the contract's order (§2.3 steps 1-7); a month
    scope of the current month still needs its window (resolve_scope). `raw` is a dict or a
    model (its attributes). Pure: request models run it before any other field is validated."""
    if not isinstance(raw, dict):
        raw = {name: getattr(raw, name, None) for name in (*SCOPE_FIELDS, *CHECKPOINT_FIELDS)}
    has_time = [f for f in SCOPE_FIELDS if _present(raw, f)]
    if allow_checkpoint and _present(raw, "startingCheckpoint") and has_time:
        raise ApiError(
            "INVALID_SCOPE_COMBINATION",
            f"startingCheckpoint cannot be combined with {', '.join(has_time)}; choose a checkpoint or a time scope",
        )
    if _present(raw, "period") and any(_present(raw, f) for f in ("timePreset", "startDate", "endDate")):
        others = [f for f in ("timePreset", "startDate", "endDate") if _present(raw, f)]
        raise ApiError("INVALID_SCOPE_COMBINATION", f"period cannot be combined with {', '.join(others)}")
    preset = raw.get("timePreset")
    if preset == "current_month" and (_present(raw, "startDate") or _present(raw, "endDate")):
        raise ApiError("INVALID_SCOPE_COMBINATION", "timePreset=current_month cannot be combined with startDate or endDate")
    if allow_checkpoint and _present(raw, "startingCheckpointType") and not _present(raw, "startingCheckpoint"):
        raise validation("startingCheckpoint", "required", "startingCheckpointType requires startingCheckpoint")
    if preset == "custom" or (preset is None and (_present(raw, "startDate") or _present(raw, "endDate"))):
        for name in ("startDate", "endDate"):
            if not _present(raw, name):
                if preset == "custom":
                    raise validation(name, "required", f"timePreset=custom requires {name}")
                raise validation(name, "required", f"{name} is required when the other date is given")

    if allow_checkpoint and _present(raw, "startingCheckpoint"):
        value = _string(raw, "startingCheckpoint")
        if value == "":
            raise validation("startingCheckpoint", "required", "startingCheckpoint must not be empty")
        ctype_raw = _string(raw, "startingCheckpointType") or "proofRoot"
        if ctype_raw not in CHECKPOINT_TYPES:
            raise validation(
                "startingCheckpointType", "format",
                "startingCheckpointType must be proofRoot, recordId, itemsRoot or anchorId",
            )
        if HASH_INPUT_RE.match(value):
            value = value.lower()
        return Scope("checkpoint", starting_checkpoint=value, starting_checkpoint_type=CHECKPOINT_TYPES[ctype_raw])

    period = _string(raw, "period")
    preset = _string(raw, "timePreset")
    start_raw, end_raw = _string(raw, "startDate"), _string(raw, "endDate")
    if preset is not None and preset not in ("current_month", "custom"):
        raise validation("timePreset", "format", "timePreset must be current_month or custom")
    if period is not None:
        if not PERIOD_RE.match(period):
            raise validation("period", "format", "period must be a month in the form YYYY-MM")
        start, end = month_window(int(period[:4]), int(period[5:7]))
        return Scope("period", start, end, period=period)
    if start_raw is not None:
        start = _date(start_raw, "startDate")
        end = _date(end_raw, "endDate")
        if end <= start:
            raise validation("endDate", "range", "endDate must be later than startDate")
        return Scope("custom", start, end)
    return Scope("current_month", defaulted=preset is None)


def resolve_scope(
    ctx: Ctx,
    raw: Any,
    *,
    allow_checkpoint: bool = False,
    checkpoint_route: bool = False,
    check_limits: bool = True,
) -> Scope:
    """Turn the scope inputs of a request into one Scope (§2.2), or raise the first §2.3 error."""
    scope = read_scope(raw, allow_checkpoint=allow_checkpoint)
    if scope.mode == "checkpoint":
        return scope
    if scope.mode == "current_month":
        year, month = month_of(ctx.now)
        scope.start_ms, scope.end_ms = month_window(year, month)
        scope.period = f"{year:04d}-{month:02d}"
    if check_limits:
        _check_limits(ctx, scope)
    if checkpoint_route and scope.start_ms > ctx.now:
        field = "period" if scope.mode == "period" else "startDate"
        raise validation(field, "future", f"{field}: the checkpoint window starts after the current time {format_ts(ctx.now)}")
    return scope


def _date(value: str, name: str) -> int:
    try:
        ms = parse_date_or_datetime(value)
    except ValueError as exc:
        raise validation(name, "format", f"{name} must be a date (YYYY-MM-DD) or an RFC 3339 date-time: {exc}") from None
    if ms < 0 or ms >= 253402300800000:
        raise validation(name, "range", f"{name} must lie between 1970 and 9999")
    return ms


def _check_limits(ctx: Ctx, scope: Scope) -> None:
    limits = ctx.ws.settings["limits"]
    max_months = int(limits["maxScopeMonths"])
    if scope.end_ms > add_months(scope.start_ms, max_months):
        sy, sm = month_of(scope.start_ms)
        ey, em = month_of(scope.end_ms)
        requested = (ey - sy) * 12 + (em - sm)
        if add_months(scope.start_ms, requested) > scope.end_ms:
            requested -= 1
        raise ApiError(
            "SCOPE_TOO_WIDE",
            f"the window spans more than {max_months} months (maxScopeMonths)",
            details={"limit": "maxScopeMonths", "requested": max(requested, max_months), "max": max_months},
        )
    max_days = int(limits["maxRetentionDays"])
    if scope.start_ms < ctx.now - max_days * DAY_MS:
        requested = (ctx.now - scope.start_ms) // DAY_MS
        raise ApiError(
            "SCOPE_TOO_WIDE",
            f"the window starts more than {max_days} days before now (maxRetentionDays)",
            details={"limit": "maxRetentionDays", "requested": requested, "max": max_days},
        )


def resolve_position(ctx: Ctx, customer: sqlite3.Row, scope: Scope) -> None:
    """Checkpoint mode (§2.5): fill scope.after_sequence for the customer, or 400 unknown."""
    value, ctype, conn = scope.starting_checkpoint, scope.starting_checkpoint_type, ctx.conn
    position: int | None = None
    if ctype == "proofRoot":
        chk = conn.execute(
            "SELECT to_sequence, end_ms, created_ms FROM checkpoints WHERE customer = ? AND proof_root = ?",
            (customer["id"], value),
        ).fetchone()
        if chk is not None:
            if chk["to_sequence"] is not None:
                position = chk["to_sequence"]
            else:
                bound = min(chk["end_ms"], chk["created_ms"])
                row = conn.execute(
                    "SELECT MAX(sequence) FROM deltas WHERE customer = ? AND recorded_ms < ?", (customer["id"], bound)
                ).fetchone()
                position = row[0] or 0
        else:
            row = conn.execute(
                "SELECT MAX(sequence) FROM deltas WHERE customer = ?"
                " AND batch = (SELECT id FROM batches WHERE ws = ? AND proof_hash = ?)",
                (customer["id"], ctx.ws.id, value),
            ).fetchone()
            position = row[0]
    else:
        row = conn.execute(
            "SELECT sequence FROM deltas WHERE customer = ? AND record_id = ?", (customer["id"], value)
        ).fetchone()
        position = row[0] if row else None
    if position is None:
        raise validation(
            "startingCheckpoint", "unknown",
            f"startingCheckpoint {value!r} names no {ctype} of customer {customer['customer_id']!r}",
        )
    scope.after_sequence = position

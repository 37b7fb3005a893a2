"""Derive and compare (balance-api.md §5.4, §5.5): balances from VERIFIED deltas, exactly."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import Any

from ..proofs.primitives import canonical_decimal, civil_from_days, days_from_civil, format_ts, month_of, month_start_ms
from .amounts import add, join_sums
from ..paging import offset_page
from .customers import require_customer
from .context import RECEIPT_ID, Ctx
from .deltas import DELTA_COLUMNS, delta_object
from .events import write_event
from .scope import DAY_MS, Scope, resolve_position

def _counted_where(scope: Scope) -> tuple[str, list[Any]]:
    """SQL condition (after `customer = ?`) selecting the counted (VERIFIED) deltas of a scope."""
    if scope.mode == "checkpoint":
        return "status = 'VERIFIED' AND sequence > ?", [scope.after_sequence]
    return "status = 'VERIFIED' AND recorded_ms >= ? AND recorded_ms < ?", [scope.start_ms, scope.end_ms]


def _counted_sums(ctx: Ctx, customer: int, scope: Scope) -> tuple:
    """(count, SUM(units), SUM(frac_hi), SUM(frac_lo), MAX(sequence)) of the counted deltas. A
    window's whole UTC days come from day_totals (≤ 31 rows a month, however many deltas), the
    partial days at its edges from the deltas' index."""
    conn = ctx.conn
    if scope.mode == "checkpoint":
        where, args = _counted_where(scope)
        return conn.execute(f"SELECT COUNT(*), SUM(units), SUM(frac_hi), SUM(frac_lo), MAX(sequence) FROM deltas"
                            f" WHERE customer = ? AND {where}", [customer, *args]).fetchone()
    start, end = scope.start_ms, scope.end_ms
    first_day, last_day = -(-start // DAY_MS), end // DAY_MS  # whole days: [first_day, last_day)
    if first_day >= last_day:
        edges = [(start, end)]
        days = None
    else:
        edges = [(start, first_day * DAY_MS), (last_day * DAY_MS, end)]
        days = (first_day, last_day)
    parts = []
    if days is not None:
        parts.append(conn.execute(
            "SELECT SUM(count), SUM(units), SUM(frac_hi), SUM(frac_lo), MAX(max_sequence) FROM day_totals"
            " WHERE customer = ? AND day >= ? AND day < ?", (customer, *days)).fetchone())
    for lo, hi in edges:
        if lo < hi:
            parts.append(conn.execute(
                "SELECT COUNT(*), SUM(units), SUM(frac_hi), SUM(frac_lo), MAX(sequence) FROM deltas"
                " WHERE customer = ? AND status = 'VERIFIED' AND recorded_ms >= ? AND recorded_ms < ?",
                (customer, lo, hi)).fetchone())
    count = sum(p[0] or 0 for p in parts)
    sums = [sum(p[i] or 0 for p in parts) for i in (1, 2, 3)]
    latest = max((p[4] for p in parts if p[4] is not None), default=None)
    return (count, *sums, latest)


def _status_count(ctx: Ctx, customer: int, scope: Scope, statuses: tuple[str, ...]) -> int:
    marks = ",".join("?" * len(statuses))
    if scope.mode == "checkpoint":
        sql = f"SELECT COUNT(*) FROM deltas WHERE customer = ? AND status IN ({marks}) AND sequence > ?"
        args = [customer, *statuses, scope.after_sequence]
    else:
        sql = (f"SELECT COUNT(*) FROM deltas WHERE customer = ? AND status IN ({marks})"
               " AND recorded_ms >= ? AND recorded_ms < ?")
        args = [customer, *statuses, scope.start_ms, scope.end_ms]
    return ctx.conn.execute(sql, args).fetchone()[0]


def compute_balance(ctx: Ctx, customer: sqlite3.Row, scope: Scope, starting: Decimal) -> dict[str, Any]:
    """The figures derive and compare share: counted sum and count, pending, latest counted delta."""
    if scope.mode == "checkpoint" and scope.after_sequence is None:
        resolve_position(ctx, customer, scope)
    row = _counted_sums(ctx, customer["id"], scope)
    net = join_sums(row[1], row[2], row[3])
    latest = None
    if row[4] is not None:
        latest = ctx.conn.execute(
            f"SELECT record_id, {RECEIPT_ID}, sequence FROM deltas WHERE customer = ? AND sequence = ?",
            (customer["id"], row[4]),
        ).fetchone()
    return {
        "count": row[0],
        "net": net,
        "computed": add(starting, net),
        "pending": _status_count(ctx, customer["id"], scope, ("QUEUED", "PROCESSING")),
        "failed": _status_count(ctx, customer["id"], scope, ("FAILED",)),
        "latest": latest,
    }


def derive_balance(
    ctx: Ctx,
    customer_id: str,
    scope: Scope,
    starting: Decimal,
    granularity: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    customer = require_customer(ctx, customer_id)
    figures = compute_balance(ctx, customer, scope, starting)
    where, args = _counted_where(scope)
    order = "sequence" if scope.mode == "checkpoint" else "recorded_ms, sequence"
    rows = ctx.conn.execute(
        f"SELECT {DELTA_COLUMNS} FROM deltas WHERE customer = ? AND {where} ORDER BY {order} LIMIT ? OFFSET ?",
        [customer["id"], *args, limit, offset],
    ).fetchall()
    latest = figures["latest"]
    return {
        "customerId": customer_id,
        "computedBalance": figures["computed"],
        "startingBalance": starting,
        "netChange": figures["net"],
        "deltasCount": figures["count"],
        "deltaCount": figures["count"],
        "pendingCount": figures["pending"],
        "failedCount": figures["failed"],
        "latestReceiptId": latest["receipt_id"] if latest else None,
        "latestRecordId": latest["record_id"] if latest else None,
        "latestSequence": latest["sequence"] if latest else None,
        "scope": scope.to_json(),
        "deltas": [delta_object(r) for r in rows],
        "pagination": offset_page(limit, offset, figures["count"], len(rows)),
        "breakdown": breakdown(ctx, customer, scope, starting, granularity) if granularity else None,
        "computedAt": format_ts(ctx.now),
    }


# --- breakdown buckets (§5.0.4) ------------------------------------------------------------------

def _bucket_of(ms: int, granularity: str) -> tuple[str, int, int]:
    days = ms // DAY_MS
    if granularity == "day":
        y, m, d = civil_from_days(days)
        return f"{y:04d}-{m:02d}-{d:02d}", days * DAY_MS, (days + 1) * DAY_MS
    if granularity == "week":
        monday = days - ((days + 3) % 7)  # 1970-01-01 was a Thursday
        thursday = monday + 3
        iso_year = civil_from_days(thursday)[0]
        week = (thursday - days_from_civil(iso_year, 1, 1)) // 7 + 1
        return f"{iso_year:04d}-W{week:02d}", monday * DAY_MS, (monday + 7) * DAY_MS
    y, m = month_of(ms)
    return f"{y:04d}-{m:02d}", month_start_ms(y, m), month_start_ms(y, m + 1)


def breakdown(ctx: Ctx, customer: sqlite3.Row, scope: Scope, starting: Decimal, granularity: str) -> list[dict[str, Any]]:
    where, args = _counted_where(scope)
    rows = ctx.conn.execute(
        f"SELECT recorded_ms, amount FROM deltas WHERE customer = ? AND {where} ORDER BY sequence",
        [customer["id"], *args],
    ).fetchall()
    if scope.mode == "checkpoint":
        if not rows:
            return []
        first, last = rows[0][0], rows[-1][0]
    else:
        first, last = scope.start_ms, scope.end_ms - 1
    buckets: list[dict[str, Any]] = []
    index: dict[str, dict[str, Any]] = {}
    cursor = first
    while True:
        name, start, end = _bucket_of(cursor, granularity)
        bucket = {"bucket": name, "startDate": format_ts(start), "endDate": format_ts(end),
                  "netChange": Decimal(0), "deltaCount": 0, "endingBalance": Decimal(0)}
        buckets.append(bucket)
        index[name] = bucket
        if end > last:
            break
        cursor = end
    for recorded_ms, amount in rows:
        bucket = index[_bucket_of(recorded_ms, granularity)[0]]
        bucket["netChange"] = add(bucket["netChange"], Decimal(amount))
        bucket["deltaCount"] += 1
    running = starting
    for bucket in buckets:
        running = add(running, bucket["netChange"])
        bucket["endingBalance"] = running
    return buckets


# --- compare (§5.5) ------------------------------------------------------------------------------

RESOLUTIONS = {
    "yours": ("YOURS_DIFFERS_USE_NEUTRAL",
              "Your balance differs from the neutral balance {neutral} by {yours}; their balance matches. "
              "Correct your records to the verified deltas."),
    "theirs": ("THEIRS_DIFFERS_USE_NEUTRAL",
               "Their balance differs from the neutral balance {neutral} by {theirs}; your balance matches. "
               "Share the receipt so they can reconcile."),
    "both": ("BOTH_DIFFER_USE_NEUTRAL",
             "Both balances differ from the neutral balance {neutral} (yours by {yours}, theirs by {theirs}). "
             "Reconcile both to the verified deltas."),
}


def _daily_neutral(ctx: Ctx, customer: sqlite3.Row, scope: Scope) -> dict[str, Decimal]:
    where, args = _counted_where(scope)
    days: dict[str, Decimal] = {}
    for recorded_ms, amount in ctx.conn.execute(
        f"SELECT recorded_ms, amount FROM deltas WHERE customer = ? AND {where}", [customer["id"], *args]
    ):
        day = _bucket_of(recorded_ms, "day")[0]
        days[day] = add(days.get(day, Decimal(0)), Decimal(amount))
    return days


def first_divergence(
    ctx: Ctx, customer: sqlite3.Row, scope: Scope, yours: dict[str, Decimal] | None, theirs: dict[str, Decimal] | None
) -> dict[str, Any] | None:
    if yours is None and theirs is None:
        return None
    neutral = _daily_neutral(ctx, customer, scope)
    zero = Decimal(0)
    for day in sorted(set(neutral) | set(yours or {}) | set(theirs or {})):
        n = neutral.get(day, zero)
        your_differs = yours is not None and yours.get(day, zero) != n
        their_differs = theirs is not None and theirs.get(day, zero) != n
        if your_differs or their_differs:
            return {
                "bucket": day,
                "side": "both" if your_differs and their_differs else ("yours" if your_differs else "theirs"),
                "neutralNetChange": n,
                "yourNetChange": None if yours is None else yours.get(day, zero),
                "theirNetChange": None if theirs is None else theirs.get(day, zero),
            }
    return None


def compare_balances(
    ctx: Ctx,
    customer_id: str,
    scope: Scope,
    yours: Decimal,
    theirs: Decimal,
    starting: Decimal,
    granularity: str | None,
    your_breakdown: dict[str, Decimal] | None,
    their_breakdown: dict[str, Decimal] | None,
) -> dict[str, Any]:
    customer = require_customer(ctx, customer_id)
    figures = compute_balance(ctx, customer, scope, starting)
    neutral = figures["computed"]
    # copy_negate/copy_abs are exact; unary minus and abs() round to the context's 28 digits
    your_diff, their_diff = add(yours, neutral.copy_negate()), add(theirs, neutral.copy_negate())
    matches_yours, matches_theirs = your_diff == 0, their_diff == 0
    discrepancy = None
    if not (matches_yours and matches_theirs):
        side = "both" if not matches_yours and not matches_theirs else ("yours" if not matches_yours else "theirs")
        amount = (max(your_diff.copy_abs(), their_diff.copy_abs()) if side == "both"
                  else (your_diff if side == "yours" else their_diff).copy_abs())
        code, template = RESOLUTIONS[side]
        discrepancy = {
            "side": side,
            "amount": amount,
            "yourDifference": your_diff,
            "theirDifference": their_diff,
            "resolution": {
                "code": code,
                "text": template.format(
                    neutral=canonical_decimal(neutral), yours=canonical_decimal(your_diff),
                    theirs=canonical_decimal(their_diff),
                ),
            },
            "firstDivergence": first_divergence(ctx, customer, scope, your_breakdown, their_breakdown),
        }
    reply = {
        "customerId": customer_id,
        "computedBalance": neutral,
        "neutralBalance": neutral,
        "yourBalance": yours,
        "theirBalance": theirs,
        "matchesYours": matches_yours,
        "matchesTheirs": matches_theirs,
        "yourDifference": your_diff,
        "theirDifference": their_diff,
        "startingBalance": starting,
        "deltasCount": figures["count"],
        "deltaCount": figures["count"],
        "pendingCount": figures["pending"],
        "scope": scope.to_json(),
        "discrepancy": discrepancy,
        "breakdown": breakdown(ctx, customer, scope, starting, granularity) if granularity else None,
        "comparedAt": format_ts(ctx.now),
    }
    write_event(ctx, "customer.compare_run", {
        "customerId": customer_id,
        "initiator": "tenant",
        "neutralBalance": neutral,
        "yourBalance": yours,
        "theirBalance": theirs,
        "matchesYours": matches_yours,
        "matchesTheirs": matches_theirs,
        "discrepancySide": discrepancy["side"] if discrepancy else None,
        "resolutionCode": discrepancy["resolution"]["code"] if discrepancy else None,
        "scope": scope.to_json(),
        "comparedAt": format_ts(ctx.now),
    }, ctx.now, customer_id)
    return reply

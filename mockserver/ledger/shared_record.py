"""The customer's shared record (balance-api.md §6.1, policy TWO_TIER): what the outer view shows,
the unlocked view's lines, activity and periods, the access-code lockout, and the compare form.
The page itself (pages/views.py) only renders what these return."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import Any

from ..proofs.primitives import canonical_decimal, format_ts, month_of
from .amounts import join_sums
from .context import Ctx
from .customers import shared_record_on
from .derive import compute_balance
from .events import write_event
from .scope import Scope, month_window

LOCK_WINDOW_MS = 15 * 60_000
MAX_WRONG_CODES = 5
ACTIVITY_PAGE = 50


def customer_by_handle(ctx: Ctx, handle: str) -> sqlite3.Row | None:
    """The customer behind a link, if its shared record is on."""
    row = ctx.conn.execute("SELECT * FROM customers WHERE ws = ? AND handle = ?", (ctx.ws.id, handle)).fetchone()
    return row if row is not None and shared_record_on(ctx, row) else None


# --- the access code's lockout: five wrong codes within 15 minutes lock the form for 15 minutes ----

def locked_until(ctx: Ctx, customer: sqlite3.Row) -> int | None:
    rows = [r[0] for r in ctx.conn.execute(
        "SELECT at_ms FROM access_attempts WHERE customer = ? AND at_ms > ? ORDER BY at_ms",
        (customer["id"], ctx.now - 2 * LOCK_WINDOW_MS))]
    for i in range(len(rows) - MAX_WRONG_CODES + 1):
        if rows[i + MAX_WRONG_CODES - 1] - rows[i] < LOCK_WINDOW_MS:
            until = rows[i + MAX_WRONG_CODES - 1] + LOCK_WINDOW_MS
            if until > ctx.now:
                return until
    return None


def code_accepted(ctx: Ctx, customer: sqlite3.Row) -> None:
    ctx.conn.execute("DELETE FROM access_attempts WHERE customer = ?", (customer["id"],))


def code_refused(ctx: Ctx, customer: sqlite3.Row) -> int:
    """Record a wrong code; the attempts left before the lockout."""
    ctx.conn.execute("INSERT INTO access_attempts (customer, at_ms) VALUES (?, ?)", (customer["id"], ctx.now))
    recent = ctx.conn.execute("SELECT COUNT(*) FROM access_attempts WHERE customer = ? AND at_ms > ?",
                              (customer["id"], ctx.now - LOCK_WINDOW_MS)).fetchone()[0]
    return MAX_WRONG_CODES - recent


# --- the two views ---------------------------------------------------------------------------------

def outer_view(ctx: Ctx, customer: sqlite3.Row) -> dict[str, Any]:
    """What anyone with the link sees: this month's recorded total and count, verified through."""
    year, month = month_of(ctx.now)
    start, end = month_window(year, month)
    recorded = ctx.conn.execute(
        "SELECT COUNT(*), SUM(units), SUM(frac_hi), SUM(frac_lo) FROM deltas WHERE customer = ? AND status != 'FAILED'"
        " AND recorded_ms >= ? AND recorded_ms < ?", (customer["id"], start, end)).fetchone()
    total = join_sums(recorded[1], recorded[2], recorded[3])
    through = ctx.conn.execute(
        "SELECT MAX(d.recorded_ms) FROM deltas d WHERE d.customer = ? AND d.sequence = (SELECT MAX(to_sequence)"
        " FROM checkpoints WHERE customer = ? AND status = 'VERIFIED')", (customer["id"], customer["id"])).fetchone()[0]
    return {
        "name": customer["display_name"] or customer["customer_id"], "handle": customer["handle"],
        "month": f"{year:04d}-{month:02d}", "recorded": canonical_decimal(total), "record_count": recorded[0],
        "unit": customer["unit_label"] or "units", "verified_through": format_ts(through)[:10] if through else None,
    }


_LINE_SQL = (
    "SELECT d.recorded_ms, d.reason, d.reference_id, d.amount, d.status, EXISTS (SELECT 1 FROM checkpoint_items i"
    " JOIN checkpoints c ON c.id = i.checkpoint WHERE i.delta = d.id AND c.status = 'VERIFIED') AS covered"
    " FROM deltas d WHERE d.customer = ? AND d.status != 'FAILED'"
)


def _line(row: sqlite3.Row) -> dict[str, Any]:
    """A record as the page lists it: recording (QUEUED/PROCESSING), recorded, or verified (covered
    by a VERIFIED checkpoint); FAILED records are not listed."""
    state = "recording" if row["status"] in ("QUEUED", "PROCESSING") else ("verified" if row["covered"] else "recorded")
    return {"date": format_ts(row["recorded_ms"])[:10], "reason": row["reason"], "reference": row["reference_id"],
            "amount": row["amount"], "state": state}


def default_period(ctx: Ctx, customer: sqlite3.Row) -> str:
    """The period of the customer's newest checkpoint, else the current month."""
    newest = ctx.conn.execute("SELECT period FROM checkpoints WHERE customer = ? AND period IS NOT NULL ORDER BY n DESC"
                              " LIMIT 1", (customer["id"],)).fetchone()
    if newest:
        return newest[0]
    year, month = month_of(ctx.now)
    return f"{year:04d}-{month:02d}"


def period_lines(ctx: Ctx, customer: sqlite3.Row, period: str) -> list[dict[str, Any]]:
    start, end = month_window(int(period[:4]), int(period[5:7]))
    return [_line(r) for r in ctx.conn.execute(
        _LINE_SQL + " AND d.recorded_ms >= ? AND d.recorded_ms < ? ORDER BY d.sequence", (customer["id"], start, end))]


def activity(ctx: Ctx, customer: sqlite3.Row, page: str | None) -> tuple[list[dict[str, Any]], int, int]:
    """(lines of the page, the page shown, pages): every record, newest first, 50 a page."""
    total = ctx.conn.execute("SELECT COUNT(*) FROM deltas WHERE customer = ? AND status != 'FAILED'",
                             (customer["id"],)).fetchone()[0]
    pages = max(1, -(-total // ACTIVITY_PAGE))
    page_no = min(max(int(page), 1), pages) if page and page.isdigit() and len(page) < 10 else 1
    lines = [_line(r) for r in ctx.conn.execute(_LINE_SQL + " ORDER BY d.sequence DESC LIMIT ? OFFSET ?",
                                                (customer["id"], ACTIVITY_PAGE, (page_no - 1) * ACTIVITY_PAGE))]
    return lines, page_no, pages


def periods(ctx: Ctx, customer: sqlite3.Row) -> list[dict[str, Any]]:
    """Every checkpoint of the customer, newest first."""
    return [{"checkpointId": c["checkpoint_id"], "window": c["period"] or f"{format_ts(c['start_ms'])[:10]} – "
             f"{format_ts(c['end_ms'])[:10]}", "deltaCount": c["tree_size"], "final": c["net_change"],
             "proofRoot": c["proof_root"], "status": c["status"]}
            for c in ctx.conn.execute("SELECT * FROM checkpoints WHERE customer = ? ORDER BY n DESC", (customer["id"],))]


def compare_entered(ctx: Ctx, customer: sqlite3.Row, period: str, entered: Decimal) -> dict[str, Any]:
    """The compare form: the period's neutral balance against the entered one; fires
    customer.compare_run with initiator customer (§6.1, §7.4)."""
    start, end = month_window(int(period[:4]), int(period[5:7]))
    scope = Scope("period", start, end, period=period)
    neutral = compute_balance(ctx, customer, scope, Decimal(0))["computed"]
    matches = entered == neutral
    write_event(ctx, "customer.compare_run", {
        "customerId": customer["customer_id"], "initiator": "customer", "neutralBalance": neutral,
        "yourBalance": None, "theirBalance": entered, "matchesYours": None, "matchesTheirs": matches,
        "discrepancySide": None if matches else "theirs",
        "resolutionCode": None if matches else "THEIRS_DIFFERS_USE_NEUTRAL", "scope": scope.to_json(),
        "comparedAt": format_ts(ctx.now),
    }, ctx.now, customer["customer_id"])
    return {"period": period, "neutral": canonical_decimal(neutral), "entered": canonical_decimal(entered),
            "matches": matches}

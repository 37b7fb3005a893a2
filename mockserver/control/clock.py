"""The workspace clock (balance-api.md §8.3): read, set, freeze, unfreeze, advance.

Moves run every due item synchronously before replying, in time order: lifecycle transitions
(§3.3) and webhook delivery attempts (§7.7), transitions first at equal times, each with the
clock standing at its due time.
"""

from __future__ import annotations

from typing import Any, Generator

from ..errors import ApiError, validation
from ..ledger.context import Ctx, Outside
from ..ledger.lifecycle import apply_item, due_items, refresh_next_due
from ..ledger.scope import add_months
from ..pipeline import Call
from ..proofs.primitives import days_from_civil, format_ts
from ..store import workspaces
from ..webhooks import deliveries
from .schemas import TEN_YEARS_MONTHS


def run_until(ctx: Ctx, target: int) -> Generator[Outside, Any, tuple[dict[str, int], bool]]:
    """Perform every due item up to target in time order, standing the clock at each due time.
    Returns the counts and whether the lock was given up on the way.

    Transitions never schedule transitions, so they are listed once; deliveries (which a
    transition or a failed attempt may schedule) are looked up again after each step. A generator:
    an attempt that POSTs to a receiver runs outside the lock, with the clock stored at its due
    time (so a receiver calling back sees that instant) unless the clock already reads later;
    others may work in the meantime (and move the clock), so the list of due transitions is read
    again afterwards.
    """
    counts = {"transitions": 0, "events": 0, "deliveryAttempts": 0, "delivered": 0, "failed": 0}
    transitions = due_items(ctx, target)
    applied = bool(transitions)
    position = 0
    went_outside = released = False

    def stand_clock() -> None:
        nonlocal went_outside, released
        went_outside = released = True
        if applied:
            refresh_next_due(ctx)
        # never back (§3.1): while an earlier attempt was out, another move may have gone further
        if ctx.runtime.read_clock(ctx.conn, ctx.ws) < ctx.now:
            ctx.runtime.set_clock(ctx.conn, ctx.ws, ctx.now)

    if deliveries.captures(ctx):  # every attempt a capture: record each run of them at once
        # Nothing runs between two transitions here (no receiver can call back), so a batch that
        # also verifies in this move goes from QUEUED to VERIFIED in one step: the same rows and
        # events (processingAt is set by the verification), without writing PROCESSING first.
        verifying = {t.rowid for t in transitions if t.kind == "verify"}
        transitions = [t for t in transitions if not (t.kind == "processing" and t.rowid in verifying)]
        while True:
            transition = transitions[position] if position < len(transitions) else None
            made = deliveries.capture_due(ctx, target, transition.due if transition is not None else None)
            counts["deliveryAttempts"] += made
            counts["delivered"] += made
            if transition is None:
                break
            ctx.now = max(ctx.now, transition.due)
            apply_item(ctx, transition, counts)
            position += 1
    while True:
        delivery = deliveries.next_due(ctx, target)
        transition = transitions[position] if position < len(transitions) else None
        if transition is None and delivery is None:
            break
        if transition is not None and (delivery is None or transition.due <= delivery["next_attempt_ms"]):
            ctx.now = max(ctx.now, transition.due)
            apply_item(ctx, transition, counts)
            position += 1
        else:
            ctx.now = max(ctx.now, delivery["next_attempt_ms"])
            went_outside = False
            outcome = yield from deliveries.attempt(ctx, delivery, manual=False, before_outside=stand_clock)
            deliveries.count_attempt(counts, outcome)
            if went_outside:
                transitions, position = due_items(ctx, target), 0
                applied = applied or bool(transitions)
    if applied:
        refresh_next_due(ctx)
    ctx.now = target
    return counts, released


#: The clock's range, as scope dates' (§1.13 timestamps have four-digit years): a running clock set
#: to the last instant allowed still takes a year of wall time to leave them.
CLOCK_END_MS = days_from_civil(9999, 1, 1) * 86_400_000


def _move(ctx: Ctx, target: int, freeze: bool | None, field: str) -> Generator[Outside, Any, dict[str, Any]]:
    """Run every due item up to target, then stand the clock there. A workspace with nothing
    timestamped yet may start its clock anywhere (e.g. in the past): there is no reading for time
    to run backwards against. Once anything is recorded, it may not."""
    previous = ctx.now
    if not 0 <= target < CLOCK_END_MS:
        raise validation(field, "range", f"{field} must keep the clock between 1970-01-01 and 9998-12-31"
                                         " (timestamps have four-digit years)")
    if target < previous and workspaces.has_history(ctx.conn, ctx.ws.id):
        raise ApiError(
            "CLOCK_BACKWARDS", f"the clock cannot move back from {format_ts(previous)} to {format_ts(target)}",
            details={"field": field, "reason": "range"},
        )
    counts, released = yield from run_until(ctx, target)
    if released:  # others worked meanwhile: the clock may already read later than target
        target = max(target, ctx.runtime.read_clock(ctx.conn, ctx.ws))
    ctx.runtime.set_clock(ctx.conn, ctx.ws, target, freeze=freeze)
    return {"previous": format_ts(previous), **ctx.runtime.clock_object(ctx.conn, ctx.ws, target), "processed": counts}


def clock_get(ctx: Ctx, call: Call) -> dict[str, Any]:
    return ctx.runtime.clock_object(ctx.conn, ctx.ws, ctx.now)


def clock_set(ctx: Ctx, call: Call) -> Generator[Outside, Any, dict[str, Any]]:
    return (yield from _move(ctx, call.body.target, None, call.body.field))


def clock_advance(ctx: Ctx, call: Call) -> Generator[Outside, Any, dict[str, Any]]:
    body = call.body
    if body.until is not None:
        return (yield from _move(ctx, body.until, None, "until"))
    ms = int(body.seconds * 1000)
    if ctx.now + ms > add_months(ctx.now, TEN_YEARS_MONTHS):
        raise validation("seconds", "range", "seconds must be > 0, at most 10 years, in whole milliseconds")
    return (yield from _move(ctx, ctx.now + ms, None, "seconds"))


def clock_freeze(ctx: Ctx, call: Call) -> Generator[Outside, Any, dict[str, Any]]:
    target = call.body.at if call.body.at is not None else ctx.now
    moved = yield from _move(ctx, target, True, "at")
    return {name: moved[name] for name in ("now", "mode", "offsetMs")}


def clock_unfreeze(ctx: Ctx, call: Call) -> dict[str, Any]:
    ctx.runtime.unfreeze_clock(ctx.conn, ctx.ws)
    return ctx.runtime.clock_object(ctx.conn, ctx.ws, ctx.now)

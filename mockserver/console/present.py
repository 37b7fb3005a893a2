"""What the console's templates show: masked keys, clocks read without writing, exact amounts,
pretty JSON that keeps every number's text, and the usage chart's geometry (the template draws
it as inline SVG; every value reaches the page through autoescaping)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..ledger.overview import Totals
from ..ledger.scope import DAY_MS
from ..proofs.primitives import canonical_decimal, civil_from_days, format_ts


def masked_key(env: str, public_id: str) -> str:
    """`pk_test_…abcd`: the environment and the last 4 characters of the public id, never the key."""
    return f"pk_{env}_…{public_id[-4:]}"


def clock_now(row: Any, wall_ms: int) -> int:
    """A workspace's virtual now from its stored clock state, without storing a reading (the list
    of workspaces must not write to each of them): what Runtime.read_clock would return."""
    if row["clock_mode"] == "frozen":
        now = row["clock_frozen_ms"]
    else:
        now = wall_ms + (row["clock_offset_ms"] or 0)
    return max(now, row["clock_last_ms"] or 0)


def amount(value: Decimal | int | None) -> str:
    return canonical_decimal(Decimal(value or 0))


def stamp(*parts: Any) -> str:
    """An opaque version of what a page shows: the console's script reloads the lists when it changes."""
    return hashlib.sha256(json.dumps(parts, default=str).encode("utf-8")).hexdigest()[:24]


def overview_stamp(row: Any) -> list[Any]:
    """The parts of a workspace row that change when its pages would show something new. A running
    clock's last reading changes at every request and every delivery pass: only its mode and offset
    count (what moves the clock by hand changes them)."""
    frozen = row["clock_mode"] == "frozen"
    return [row["id"], row["clock_mode"], row["clock_offset_ms"], row["clock_frozen_ms"],
            row["clock_last_ms"] if frozen else None, row["next_due_ms"], row["n_req"], row["n_rec"], row["n_chk"],
            row["n_evt"], row["n_flt"], row["customers"], row["rules"]]


def pretty_json(text: str | None) -> str | None:
    """JSON text indented for reading, every number exactly as sent (never through a float); None
    when the text is not JSON (the raw body is shown instead)."""
    if text is None:
        return None
    import orjson

    try:
        value = json.loads(text, parse_float=orjson.Fragment, parse_int=orjson.Fragment,
                           parse_constant=lambda name: orjson.Fragment(name))
        return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode("utf-8")
    except (ValueError, TypeError, orjson.JSONEncodeError):
        return None


# --- the usage chart -----------------------------------------------------------------------------

WIDTH, HEIGHT = 760, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 8, 12, 28


@dataclass
class Bar:
    day: str  # YYYY-MM-DD
    label: str  # day of the month, shown under some bars
    x: float
    width: float
    verified_y: float
    verified_h: float
    pending_y: float
    pending_h: float
    verified: str  # exact net change of the day's VERIFIED deltas (what derive counts)
    pending: str
    failed: str
    counts: dict[str, int]
    credit: bool  # the day's net is positive (a credit), else usage
    title: str


def chart(days: dict[int, Totals], start_ms: int, end_ms: int, unit: str) -> dict[str, Any]:
    """One bar per day of [start, end): the verified net change, the pending one stacked on it
    (heights by magnitude); `<title>` hover text with the exact decimals and counts."""
    first, last = start_ms // DAY_MS, (end_ms - 1) // DAY_MS
    count = last - first + 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / count
    zero = Decimal(0)
    peak = max((abs(t.sums["verified"]) + abs(t.sums["pending"]) for t in days.values()), default=zero)
    bars = []
    for n in range(count):
        day = first + n
        totals = days.get(day) or Totals()
        verified, pending, failed = totals.sums["verified"], totals.sums["pending"], totals.sums["failed"]
        vh = float(abs(verified) / peak * plot_h) if peak else 0.0
        ph = float(abs(pending) / peak * plot_h) if peak else 0.0
        y, m, d = civil_from_days(day)
        name = f"{y:04d}-{m:02d}-{d:02d}"
        c = totals.counts
        title = (f"{name}: verified {amount(verified)} {unit} ({c['verified']} deltas) · pending {amount(pending)}"
                 f" ({c['pending']}) · failed {amount(failed)} ({c['failed']})")
        base = TOP + plot_h
        bars.append(Bar(name, str(d) if d == 1 or d % 5 == 0 else "", round(LEFT + n * slot + slot * 0.15, 2),
                        round(slot * 0.7, 2), round(base - vh, 2), round(vh, 2), round(base - vh - ph, 2), round(ph, 2),
                        amount(verified), amount(pending), amount(failed), dict(c), verified + pending > zero, title))
    return {"bars": bars, "width": WIDTH, "height": HEIGHT, "left": LEFT, "top": TOP, "base": TOP + plot_h,
            "right": WIDTH - RIGHT, "peak": amount(peak), "empty": peak == zero,
            "from": format_ts(start_ms)[:10], "to": format_ts(end_ms - 1)[:10]}

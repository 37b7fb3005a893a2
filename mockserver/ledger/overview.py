"""Read-only figures of the dev console (mockserver/console/): deltas by status per workspace,
each customer's verified / pending / failed totals, and a window's per-day totals. Exact sums,
the same parts (units, fraction digits) derive adds up; nothing here writes."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .amounts import add, join_sums
from .context import Ctx
from .scope import DAY_MS

PENDING = ("QUEUED", "PROCESSING")


@dataclass
class Totals:
    """Count and exact sum of deltas, by state: verified, pending (queued or processing), failed."""

    counts: dict[str, int] = field(default_factory=lambda: {"verified": 0, "pending": 0, "failed": 0})
    sums: dict[str, Decimal] = field(default_factory=lambda: {"verified": Decimal(0), "pending": Decimal(0),
                                                               "failed": Decimal(0)})

    def add(self, status: str, count: int, units: int | None, hi: int | None, lo: int | None) -> None:
        state = "verified" if status == "VERIFIED" else "pending" if status in PENDING else "failed"
        self.counts[state] += count
        self.sums[state] = add(self.sums[state], join_sums(units, hi, lo))


def status_counts(conn: sqlite3.Connection, ws_id: int | None = None) -> dict[int, dict[str, int]]:
    """Deltas by status of every workspace (or one): {ws id: {status: count}}."""
    sql, args = "SELECT ws, status, COUNT(*) FROM deltas", []
    if ws_id is not None:
        sql, args = sql + " WHERE ws = ?", [ws_id]
    out: dict[int, dict[str, int]] = {}
    for ws, status, count in conn.execute(sql + " GROUP BY ws, status", args):
        out.setdefault(ws, {})[status] = count
    return out


def customer_totals(ctx: Ctx, limit: int, offset: int) -> tuple[int, list[tuple[sqlite3.Row, Totals]]]:
    """(customers of the workspace, one page of them by id, each with its Totals of all time)."""
    conn, ws_id = ctx.conn, ctx.ws.id
    total = conn.execute("SELECT COUNT(*) FROM customers WHERE ws = ?", (ws_id,)).fetchone()[0]
    customers = conn.execute(
        "SELECT id, customer_id, display_name, unit_label, source, last_recorded_ms FROM customers WHERE ws = ?"
        " ORDER BY customer_id LIMIT ? OFFSET ?", (ws_id, limit, offset)).fetchall()
    totals = {c["id"]: Totals() for c in customers}
    if customers:
        marks = ",".join("?" * len(customers))
        for row in conn.execute(
            "SELECT customer, status, COUNT(*), SUM(units), SUM(frac_hi), SUM(frac_lo) FROM deltas"
            f" WHERE customer IN ({marks}) GROUP BY customer, status", list(totals)
        ):
            totals[row[0]].add(row[1], row[2], row[3], row[4], row[5])
    return total, [(c, totals[c["id"]]) for c in customers]


def customer_rowid(ctx: Ctx, customer_id: str) -> int | None:
    row = ctx.conn.execute("SELECT id FROM customers WHERE ws = ? AND customer_id = ?",
                           (ctx.ws.id, customer_id)).fetchone()
    return row[0] if row else None


def daily_totals(ctx: Ctx, start_ms: int, end_ms: int, customer: int | None = None) -> dict[int, Totals]:
    """Totals per UTC day (days since the epoch) of the deltas recorded in [start, end), of the
    workspace or of one customer (row id); days without deltas are absent."""
    sql = ("SELECT recorded_ms / ?, status, COUNT(*), SUM(units), SUM(frac_hi), SUM(frac_lo) FROM deltas"
           " WHERE ws = ? AND recorded_ms >= ? AND recorded_ms < ?")
    args: list[Any] = [DAY_MS, ctx.ws.id, start_ms, end_ms]
    if customer is not None:
        sql += " AND customer = ?"
        args.append(customer)
    days: dict[int, Totals] = {}
    for day, status, count, units, hi, lo in ctx.conn.execute(sql + " GROUP BY 1, 2", args):
        days.setdefault(day, Totals()).add(status, count, units, hi, lo)
    return days

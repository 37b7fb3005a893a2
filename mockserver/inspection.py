"""`pacspace-mock inspect DB`: what a database file holds, read-only (store/readonly.py): its
workspaces (key, environment, creation, clock), per workspace the counts of customers, deltas by
status, checkpoints and receipts, webhook events by delivery status and journal entries, and the
sizes of the file and (where SQLite has `dbstat`) of each table with its indexes."""

from __future__ import annotations

import os
import time
from typing import Any

from .proofs.primitives import format_ts
from .store import readonly

DELTA_STATUSES = ("QUEUED", "PROCESSING", "VERIFIED", "FAILED")
DELIVERY_STATUSES = ("pending", "delivered", "failed")


def clock_text(row: Any, wall_ms: int) -> str:
    """The workspace clock as `mode now` (a running clock read at wall_ms, never before its last reading)."""
    mode, offset, frozen, last = (row["clock_mode"] or "real", row["clock_offset_ms"] or 0, row["clock_frozen_ms"],
                                  row["clock_last_ms"] or 0)
    now = max(frozen if mode == "frozen" and frozen is not None else wall_ms + offset, last)
    return f"{mode} {format_ts(now)}"


def summary(path: str, wall_ms: int | None = None) -> dict[str, Any]:
    """Everything inspect prints, as data. Raises readonly.Unreadable."""
    wall_ms = int(time.time() * 1000) if wall_ms is None else wall_ms
    conn = readonly.open_readonly(path)
    try:
        statuses = readonly.grouped_counts(conn, "deltas", "status")
        deliveries = readonly.grouped_counts(conn, "events", "delivery_status")
        customers = readonly.counts(conn, "customers")
        checkpoints = readonly.counts(conn, "checkpoints")
        receipts = readonly.counts(conn, "checkpoints", "receipt_generated = 1")
        journal = readonly.journal_counts(conn)
        workspaces = []
        for w in readonly.workspaces(conn):
            ws = w["id"]
            workspaces.append({
                "workspace": f"pk_{w['env']}_{w['public_id']}", "env": w["env"],
                "createdAt": format_ts(w["created_ms"]), "clock": clock_text(w, wall_ms),
                "customers": customers.get(ws, 0),
                "deltas": {s: statuses.get(ws, {}).get(s, 0) for s in DELTA_STATUSES},
                "checkpoints": checkpoints.get(ws, 0), "receipts": receipts.get(ws, 0),
                "events": {s: deliveries.get(ws, {}).get(s, 0) for s in DELIVERY_STATUSES},
                "journal": journal.get(ws, 0),
            })
        rows = readonly.table_rows(conn)
        sizes = readonly.table_sizes(conn)
        pages = readonly.page_facts(conn)
    finally:
        conn.close()
    wal = path + "-wal"
    return {"path": path, "fileBytes": os.path.getsize(path),
            "walBytes": os.path.getsize(wal) if os.path.exists(wal) else 0,
            **pages, "workspaces": workspaces, "tableRows": rows, "tableBytes": sizes}


def human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # not reached


def table(headers: list[str], rows: list[list[Any]], right: set[int]) -> list[str]:
    """Plain aligned columns (numbers right-aligned), two spaces apart."""
    cells = [headers, *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return ["  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
            for r in cells]


def render(s: dict[str, Any]) -> str:
    lines = [f"{s['path']}: {human(s['fileBytes'])} ({s['pageCount']} pages of {s['pageSize']} B,"
             f" {s['freePages']} free), WAL {human(s['walBytes'])}; {len(s['workspaces'])} workspace(s)", ""]
    if s["workspaces"]:
        lines += table(["workspace", "env", "created", "clock"],
                       [[w["workspace"], w["env"], w["createdAt"], w["clock"]] for w in s["workspaces"]], set())
        lines.append("")
        headers = ["workspace", "customers", *DELTA_STATUSES, "checkpoints", "receipts",
                   *(f"events {d}" for d in DELIVERY_STATUSES), "journal"]
        lines += table(headers, [[w["workspace"], w["customers"], *w["deltas"].values(), w["checkpoints"],
                                  w["receipts"], *w["events"].values(), w["journal"]] for w in s["workspaces"]],
                       set(range(1, len(headers))))
        lines.append("")
    sizes = s["tableBytes"]
    names = sorted(s["tableRows"], key=lambda n: (-(sizes or {}).get(n, 0), n))
    if sizes is None:
        lines += table(["table", "rows"], [[n, s["tableRows"][n]] for n in names], {1})
        lines.append("(per-table sizes need SQLite's dbstat, which this build lacks)")
    else:
        lines += table(["table", "rows", "size (with indexes)"],
                       [[n, s["tableRows"][n], human(sizes.get(n, 0))] for n in names], {1, 2})
    return "\n".join(lines)

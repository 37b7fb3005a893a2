"""The request journal (balance-api.md §8.7): the workspace's last `journalSize` requests."""

from __future__ import annotations

import json
from typing import Any

from ..paging import int_param
from ..errors import validation
from ..ledger.context import Ctx


def record(ctx: Ctx, entry: dict[str, Any]) -> None:
    ctx.conn.execute(
        "INSERT INTO journal (ws, seq, route, status, entry) VALUES (?, ?, ?, ?, ?)",
        (ctx.ws.id, entry["seq"], entry["route"], entry["status"], json.dumps(entry, separators=(",", ":"))),
    )
    size = int(ctx.ws.settings.get("journalSize", 1000))
    if entry["seq"] > size:  # request numbers are contiguous: older entries than seq - size may remain
        ctx.conn.execute("DELETE FROM journal WHERE ws = ? AND seq <= ?", (ctx.ws.id, entry["seq"] - size))


def entries(ctx: Ctx, query: dict[str, str]) -> dict[str, Any]:
    for name in query:
        if name not in ("limit", "route", "status", "sinceSeq"):
            raise validation(name, "unknown_field", f"{name} is not a known query parameter")
    where, args = ["ws = ?"], [ctx.ws.id]
    limit = int_param(query, "limit", 100, 1, 1000)
    if "route" in query:
        where.append("route = ?")
        args.append(query["route"])
    if "status" in query:
        where.append("status = ?")
        args.append(int_param(query, "status", 0, 100, 599))
    if "sinceSeq" in query:
        where.append("seq > ?")
        args.append(int_param(query, "sinceSeq", 0, 0, 2**62))
    clause = " AND ".join(where)
    total = ctx.conn.execute(f"SELECT COUNT(*) FROM journal WHERE {clause}", args).fetchone()[0]
    rows = ctx.conn.execute(f"SELECT entry FROM journal WHERE {clause} ORDER BY seq DESC LIMIT ?", [*args, limit])
    return {"entries": [json.loads(r[0]) for r in rows], "total": total}


def clear(ctx: Ctx) -> dict[str, Any]:
    return {"cleared": ctx.conn.execute("DELETE FROM journal WHERE ws = ?", (ctx.ws.id,)).rowcount}


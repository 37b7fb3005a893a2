"""Fault rules of a workspace (balance-api.md §8.6): created from FaultRuleBody (control/schemas.py),
listed and deleted here; mockserver/faults.py makes them fire."""

from __future__ import annotations

import json
from typing import Any

from ..errors import not_found
from ..ledger.context import Ctx
from ..pipeline import Call
from ..proofs.primitives import format_ts
from ..store import faults as rows


def rule_object(row) -> dict[str, Any]:
    rule = json.loads(row["rule"])
    return {"ruleId": f"flt_{row['n']}", **rule, "matched": row["matched"], "fired": row["fired"],
            "createdAt": format_ts(row["created_ms"])}


def faults_list(ctx: Ctx, call: Call) -> dict[str, Any]:
    return {"rules": [rule_object(r) for r in rows.rules(ctx.conn, ctx.ws.id)]}


def faults_create(ctx: Ctx, call: Call) -> dict[str, Any]:
    n = ctx.next_number("flt")
    return rule_object(rows.insert(ctx.conn, ctx.ws.id, n, json.dumps(call.body.stored()), ctx.now))


def faults_delete(ctx: Ctx, call: Call) -> dict[str, Any]:
    rule_id = call.path["ruleId"]
    n = rule_id[4:] if rule_id.startswith("flt_") else ""
    if not (n.isdigit() and len(n) < 19 and rows.delete(ctx.conn, ctx.ws.id, int(n))):
        raise not_found(f"Fault rule {rule_id!r}")
    return {"deleted": rule_id}


def faults_clear(ctx: Ctx, call: Call) -> dict[str, Any]:
    return {"cleared": rows.clear(ctx.conn, ctx.ws.id)}

"""The request journal (balance-api.md §8.7): the workspace's last `journalSize` requests,
written by the pipeline, read and cleared here."""

from __future__ import annotations

import json
from typing import Any

from ..ledger.context import Ctx
from ..pipeline import Call
from ..store import journal


def journal_list(ctx: Ctx, call: Call) -> dict[str, Any]:
    q = call.query
    keep = int(ctx.ws.settings.get("journalSize", 1000))
    total, entries = journal.entries(ctx.conn, ctx.ws.id, q.limit, keep, q.route, q.status, q.sinceSeq)
    return {"entries": [json.loads(e) for e in entries], "total": total}


def journal_clear(ctx: Ctx, call: Call) -> dict[str, Any]:
    return {"cleared": journal.clear(ctx.conn, ctx.ws.id)}

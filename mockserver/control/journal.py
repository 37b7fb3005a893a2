"""The request journal (balance-api.md §8.7): the workspace's last `journalSize` requests,
written by the pipeline, read and cleared here."""

from __future__ import annotations

import json
from typing import Any

from .. import exchanges
from ..ledger.context import Ctx
from ..pipeline import Call
from ..store import journal


def journal_list(ctx: Ctx, call: Call) -> dict[str, Any]:
    """§8.7, newest first; with exchange=true each entry also carries its recorded `exchange`
    (request and reply: headers with credentials redacted, bodies up to 64 KiB)."""
    q = call.query
    keep = int(ctx.ws.settings.get("journalSize", 1000))
    which = journal.Filter(q.route, q.status, q.sinceSeq, q.since, q.until, q.customerId, q.referenceId)
    total, rows = journal.entries(ctx.conn, ctx.ws.id, q.limit, keep, which, with_exchange=q.exchange)
    entries = []
    for row in rows:
        entry = json.loads(row["entry"])
        if q.exchange:
            entry["exchange"] = exchanges.load(row["exchange"])
        entries.append(entry)
    return {"entries": entries, "total": total}


def journal_clear(ctx: Ctx, call: Call) -> dict[str, Any]:
    return {"cleared": journal.clear(ctx.conn, ctx.ws.id)}

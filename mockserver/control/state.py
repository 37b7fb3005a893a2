"""The workspace and reset (balance-api.md §8.1), and the global operations (§8.9): health,
workspaces, registered keys, whole-database export and import."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from .. import __version__, ids
from ..errors import not_found, validation
from ..ledger.context import Ctx
from ..pipeline import Call
from ..proofs.primitives import format_ts
from ..runtime import parse_api_key
from ..store import workspaces


def workspace_get(ctx: Ctx, call: Call | None = None) -> dict[str, Any]:
    ws = ctx.ws
    return {
        "publicId": ws.public_id,
        "environment": ws.env,
        "tenantId": ws.tenant_id,
        "ledgerId": ws.ledger_id,
        "chainId": ws.chain_id,
        "createdAt": format_ts(ws.created_ms),
        "counts": workspaces.counts(ctx.conn, ws.id),
    }


def reset_workspace(ctx: Ctx, call: Call) -> dict[str, Any]:
    """Delete every row of the workspace, restart its counters, default settings, real clock (§8.1)."""
    settings = ctx.runtime.config.default_settings()
    workspaces.reset(ctx.conn, ctx.ws.id, json.dumps(settings))
    ctx.ws = ctx.runtime.load_workspace(ctx.conn, ctx.ws.id)
    ctx.runtime.webhook_callables.pop(ctx.ws.id, None)
    ctx.now = ctx.runtime.read_clock(ctx.conn, ctx.ws)
    return {"reset": True, "workspace": workspace_get(ctx)}


# --- global operations (no workspace; X-Api-Key ignored) ----------------------------------------------

def health(ctx: Ctx, call: Call) -> dict[str, Any]:
    runtime = ctx.runtime
    return {"status": "ok", "version": __version__, "strict": runtime.config.strict,
            "workspaces": workspaces.count_all(ctx.conn), "storage": "memory" if runtime.store.memory else "file"}


def workspaces_list(ctx: Ctx, call: Call) -> dict[str, Any]:
    return {"workspaces": [{"publicId": r["public_id"], "environment": r["env"],
                            "tenantId": ids.tenant_id(r["public_id"]), "createdAt": format_ts(r["created_ms"]),
                            "deltaCount": r["deltas"]} for r in workspaces.list_all(ctx.conn)]}


def _key_row(row) -> dict[str, Any]:
    return {"key": row["key"], "environment": row["env"], "publicId": row["public_id"], "active": bool(row["active"])}


def keys_list(ctx: Ctx, call: Call) -> dict[str, Any]:
    return {"keys": [_key_row(r) for r in workspaces.list_keys(ctx.conn)]}


def keys_register(ctx: Ctx, call: Call) -> dict[str, Any]:
    key = call.body.key
    env, public_id = parse_api_key(key)
    return _key_row(workspaces.put_key(ctx.conn, key, env, public_id, call.body.active))


def keys_delete(ctx: Ctx, call: Call) -> dict[str, Any]:
    key = call.path["key"]
    if not workspaces.delete_key(ctx.conn, key):
        raise not_found(f"Key {key!r}")
    return {"deleted": key}


def state_export(ctx: Ctx, call: Call) -> Response:
    """A backup-API snapshot, taken outside any transaction of ours (a backup from a connection
    inside its own write transaction would wait for itself)."""
    return Response(ctx.runtime.store.export_bytes(), media_type="application/vnd.sqlite3",
                    headers={"Content-Disposition": 'attachment; filename="pacspace-mock.sqlite"'})


def state_import(ctx: Ctx, call: Call) -> dict[str, Any]:
    """Checked, then swapped in atomically; requests wait for it (§8.9). The body is a file the
    pipeline streamed to disk (pipeline.Upload), never held in memory."""
    try:
        count = ctx.runtime.store.import_file(call.body.path)
    except ValueError as exc:
        raise validation("body", "format", f"state import refused: {exc}") from None
    ctx.runtime.state_replaced()
    return {"imported": True, "workspaces": count}


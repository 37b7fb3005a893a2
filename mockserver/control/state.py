"""Workspaces, reset, seed, keys and whole-database state (balance-api.md §8.1, §8.2, §8.9)."""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from ..api.http import JSON, envelope_ok
from ..ledger.context import Ctx
from ..proofs.primitives import format_ts
from ..runtime import Runtime
from .plane import ControlCall


def workspace_get(ctx: Ctx, call: ControlCall) -> dict[str, Any]:
    ws, conn = ctx.ws, ctx.conn
    count = lambda table: conn.execute(f"SELECT COUNT(*) FROM {table} WHERE ws = ?", (ws.id,)).fetchone()[0]  # noqa: E731
    return {
        "publicId": ws.public_id,
        "environment": ws.env,
        "tenantId": ws.tenant_id,
        "ledgerId": ws.ledger_id,
        "chainId": ws.chain_id,
        "createdAt": format_ts(ws.created_ms),
        "counts": {"customers": count("customers"), "deltas": count("deltas"), "checkpoints": count("checkpoints"),
                   "events": count("events")},
    }


WORKSPACE_TABLES = ("customers", "batches", "deltas", "month_stats", "checkpoints", "events", "idempotency_keys",
                    "fault_rules", "journal")


def reset_workspace(ctx: Ctx, call: ControlCall) -> dict[str, Any]:
    """Delete every row of the workspace, restart its counters, default settings, real clock (§8.1)."""
    from .plane import _object

    _object(call.body, ())
    conn, ws = ctx.conn, ctx.ws
    checkpoints = [r[0] for r in conn.execute("SELECT id FROM checkpoints WHERE ws = ?", (ws.id,))]
    for rowid in checkpoints:
        conn.execute("DELETE FROM checkpoint_items WHERE checkpoint = ?", (rowid,))
        conn.execute("DELETE FROM checkpoint_trees WHERE checkpoint = ?", (rowid,))
    for table in WORKSPACE_TABLES:
        conn.execute(f"DELETE FROM {table} WHERE ws = ?", (ws.id,))
    settings = ctx.runtime.config.default_settings()
    conn.execute(
        "UPDATE workspaces SET settings = ?, clock_mode = 'real', clock_offset_ms = 0, clock_frozen_ms = NULL,"
        " clock_last_ms = 0, n_rec = 0, n_chk = 0, n_evt = 0, n_req = 0, n_cust = 0, n_flt = 0, n_batch = 0,"
        " last_batch_hash = NULL, next_due_ms = NULL, webhook_config = NULL WHERE id = ?",
        (json.dumps(settings), ws.id),
    )
    ctx.ws.settings = settings
    ctx.runtime.webhook_callables.pop(ws.id, None)
    ctx.now = ctx.runtime.read_clock(conn, ws)
    return {"reset": True, "workspace": workspace_get(ctx, call)}


def seed(ctx: Ctx, call: ControlCall) -> dict[str, Any]:
    from .plane import _object
    from .settings import patch_settings

    body = _object(call.body, ("seed",))
    if "seed" not in body:
        from ..errors import validation

        raise validation("seed", "required", "seed is required")
    return patch_settings(ctx, {"seed": body["seed"]})


def _global(runtime: Runtime, handler: Callable[[Any, Request, Any], Any], *, body: bool = False,
            status: int = 200) -> Callable[[Request], Awaitable[Response]]:
    """Global operations (§8.9): no workspace, X-Api-Key ignored."""
    from ..api.http import error_response, parse_query, read_body
    from ..errors import ApiError

    async def run(request: Request) -> Response:
        try:
            payload = await read_body(request) if body else None
            parse_query(request, ())
            with runtime.store.transaction() as conn:
                data = handler(conn, request, payload)
        except ApiError as exc:
            return error_response(exc)
        if isinstance(data, Response):
            return data
        return Response(envelope_ok(data), status_code=status, media_type=JSON)

    return run


def health(runtime: Runtime):
    def handler(conn, request, payload):
        from .. import __version__

        workspaces = conn.execute("SELECT COUNT(*) FROM workspaces").fetchone()[0]
        return {"status": "ok", "version": __version__, "strict": runtime.config.strict, "workspaces": workspaces,
                "storage": "memory" if runtime.store.memory else "file"}

    return _global(runtime, handler)


def workspaces(runtime: Runtime):
    def handler(conn, request, payload):
        rows = conn.execute(
            "SELECT w.env, w.public_id, w.created_ms, (SELECT COUNT(*) FROM deltas d WHERE d.ws = w.id) AS n"
            " FROM workspaces w ORDER BY w.id"
        ).fetchall()
        from .. import ids

        return {"workspaces": [{"publicId": r["public_id"], "environment": r["env"], "tenantId": ids.tenant_id(r["public_id"]),
                                "createdAt": format_ts(r["created_ms"]), "deltaCount": r["n"]} for r in rows]}

    return _global(runtime, handler)


def _key_row(row) -> dict[str, Any]:
    return {"key": row["key"], "environment": row["env"], "publicId": row["public_id"], "active": bool(row["active"])}


def keys_list(runtime: Runtime):
    def handler(conn, request, payload):
        return {"keys": [_key_row(r) for r in conn.execute("SELECT * FROM api_keys ORDER BY key")]}

    return _global(runtime, handler)


def keys_register(runtime: Runtime):
    def handler(conn, request, payload):
        from ..errors import ApiError, validation
        from ..runtime import parse_api_key
        from .plane import _object

        body = _object(payload, ("key", "active"))
        key = body.get("key")
        try:
            env, public_id = parse_api_key(key if isinstance(key, str) else None)
        except ApiError:
            raise validation("key", "format", "key must be a full API key: pk_test_… or pk_live_…") from None
        active = body.get("active", True)
        if not isinstance(active, bool):
            raise validation("active", "type", "active must be true or false")
        conn.execute("INSERT OR REPLACE INTO api_keys (key, env, public_id, active) VALUES (?, ?, ?, ?)",
                     (key, env, public_id, int(active)))
        return _key_row(conn.execute("SELECT * FROM api_keys WHERE key = ?", (key,)).fetchone())

    return _global(runtime, handler, body=True)


def keys_delete(runtime: Runtime):
    def handler(conn, request, payload):
        from urllib.parse import unquote

        from ..errors import not_found

        key = unquote(request.path_params["key"])
        if not conn.execute("DELETE FROM api_keys WHERE key = ?", (key,)).rowcount:
            raise not_found(f"Key {key!r}")
        return {"deleted": key}

    return _global(runtime, handler)


def state_export(runtime: Runtime):
    """GET /_mock/state: a backup-API snapshot, taken outside any transaction of ours (a backup
    from a connection inside its own write transaction would wait for itself)."""
    from ..api.http import error_response, parse_query
    from ..errors import ApiError

    async def run(request: Request) -> Response:
        try:
            parse_query(request, ())
        except ApiError as exc:
            return error_response(exc)
        return Response(runtime.store.export_bytes(), media_type="application/vnd.sqlite3",
                        headers={"Content-Disposition": 'attachment; filename="pacspace-mock.sqlite"'})

    return run


def state_import(runtime: Runtime):
    """PUT /_mock/state: checked, then swapped in atomically; requests wait for it (§8.9)."""
    from ..api.http import error_response
    from ..errors import ApiError, validation

    async def run(request: Request) -> Response:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > runtime.store.MAX_IMPORT_BYTES:
                return error_response(ApiError("PAYLOAD_TOO_LARGE", "The state file is larger than the import limit"))
            chunks.append(chunk)
        try:
            count = runtime.store.import_bytes(b"".join(chunks))
        except ValueError as exc:
            return error_response(validation("body", "format", f"state import refused: {exc}"))
        runtime.webhook_callables.clear()
        return Response(envelope_ok({"imported": True, "workspaces": count}), media_type=JSON)

    return run

"""The /_mock control plane's request pipeline (balance-api.md §8).

Control calls select the workspace by X-Api-Key like the API (open mode creates it), run due
transitions first, are not journaled, are not subject to faults and never touch another workspace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..api.http import JSON, envelope_ok, error_response, parse_query, raw_path_params, read_body, request_origin
from ..errors import ApiError, validation
from ..ledger.context import Ctx, complete
from ..ledger.lifecycle import apply_due
from ..proofs.primitives import parse_rfc3339
from ..runtime import Runtime


@dataclass
class ControlCall:
    body: Any
    query: dict[str, str]
    path: dict[str, str]
    request: Request


def control_endpoint(runtime: Runtime, handler: Callable[[Ctx, ControlCall], Any], *, body: bool = False,
                     query: tuple[str, ...] = (), status: int = 200,
                     outside: bool = False) -> Callable[[Request], Awaitable[Response]]:
    """outside: the handler may wait on webhook receivers (a generator yielding Outside work); it
    then runs in a worker thread, so the event loop keeps serving, receivers' callbacks included."""
    def execute(request: Request, payload: Any, params: dict[str, str]) -> Response:
        with runtime.store.transaction() as conn:
            try:
                ws = runtime.resolve_workspace(conn, request.headers.get("x-api-key"))
            except ApiError as exc:
                return error_response(exc)
            now = runtime.read_clock(conn, ws)
            ctx = Ctx(runtime, conn, ws, now, runtime.origin(ws, request_origin(request)))
            apply_due(ctx)
            try:
                with runtime.store.savepoint():
                    data = complete(ctx, handler(ctx, ControlCall(payload, params, raw_path_params(request), request)))
            except ApiError as exc:
                return error_response(exc)
            if isinstance(data, Response):
                return data
            return Response(envelope_ok(data), status_code=status, media_type=JSON)

    async def run(request: Request) -> Response:
        try:
            payload = await read_body(request) if body else None
            params = parse_query(request, query)
        except ApiError as exc:
            return error_response(exc)
        if outside:
            return await run_in_threadpool(execute, request, payload, params)
        return execute(request, payload, params)

    run.openapi = {"name": f"control.{handler.__name__}", "query": query, "auth": "key", "model": None,
                   "form": False, "html": False, "idempotency": False, "body": body}
    return run


def _object(payload: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise validation("body", "type", "the request body must be a JSON object")
    for name in payload:
        if name not in allowed:
            raise validation(name, "unknown_field", f"{name} is not a known field")
    return payload


def _instant(payload: dict[str, Any], name: str) -> int:
    value = payload.get(name)
    if not isinstance(value, str):
        raise validation(name, "type" if value is not None else "required", f"{name} must be an RFC 3339 timestamp")
    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        raise validation(name, "format", f"{name}: {exc}") from None

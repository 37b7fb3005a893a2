"""The request pipeline of balance-api.md §1.14, shared by every route.

route match -> auth/workspace -> due transitions -> body -> Idempotency-Key -> validate ->
execute (one SQLite transaction; a rejected request keeps only its request counter) -> reply.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl, unquote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..errors import ApiError, validation
from ..paging import int_param, offset_page  # noqa: F401  (re-exported for route modules)
from ..jsonout import dumpb
from ..ledger.context import Ctx, complete
from ..control import faults, journal
from ..ledger.deltas import VERIFICATION_FAILED_MESSAGE
from ..ledger.lifecycle import apply_due
from ..proofs.primitives import JSONInputError, format_ts, parse_json_exact
from ..runtime import Runtime, Workspace
from .schemas import body_identity

MAX_BODY = 1_048_576
IDEMPOTENCY_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}\Z")
JSON = "application/json"


@dataclass
class Call:
    """What a handler sees of the request: decoded path params, query, parsed body, headers."""

    path: dict[str, str]
    query: dict[str, str]
    body: Any
    headers: Any
    request: Request
    status: int = 200
    extra_headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Ctx, Call], Any]


def envelope_ok(data: Any) -> bytes:
    return dumpb({"success": True, "data": data})


def envelope_error(err: ApiError) -> bytes:
    return dumpb({"success": False, "error": err.to_error()})


def error_response(err: ApiError, request_id: str | None = None) -> Response:
    headers = dict(err.headers)
    if err.retry_after is not None:
        headers["Retry-After"] = str(err.retry_after)
    if request_id:
        headers["X-Request-Id"] = request_id
    return Response(envelope_error(err), status_code=err.status, media_type=JSON, headers=headers)


def raw_path_params(request: Request) -> dict[str, str]:
    """Path params arrive undecoded (routing runs on the raw path); decode each exactly once."""
    return {k: unquote(v, errors="strict") for k, v in request.path_params.items()}


def parse_query(request: Request, allowed: tuple[str, ...]) -> dict[str, str]:
    raw = request.scope.get("query_string", b"").decode("latin-1")
    pairs = parse_qsl(raw, keep_blank_values=True)
    out: dict[str, str] = {}
    for name, value in pairs:
        if name not in allowed:
            raise validation(name, "unknown_field", f"{name} is not a known query parameter of this route")
        if name in out:
            raise validation(name, "conflict", f"{name} is given more than once")
        if value == "":
            raise validation(name, "required", f"{name} must not be empty")
        out[name] = value
    return out


async def read_body(request: Request) -> Any:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY:
        raise ApiError("PAYLOAD_TOO_LARGE", "The request body is larger than 1 MiB")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiError("PAYLOAD_TOO_LARGE", "The request body is larger than 1 MiB")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    try:
        return parse_json_exact(raw)
    except JSONInputError as exc:
        raise validation("body", "invalid_json", f"The request body is not valid JSON: {exc}") from None


async def read_form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (the pages' forms): first value of each field."""
    raw = b"".join([chunk async for chunk in request.stream()])
    if len(raw) > MAX_BODY:
        raise ApiError("PAYLOAD_TOO_LARGE", "The request body is larger than 1 MiB")
    fields: dict[str, str] = {}
    for name, value in parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True):
        fields.setdefault(name, value)
    return fields


def request_origin(request: Request) -> str:
    host = request.headers.get("host") or (
        f"{request.url.hostname}:{request.url.port}" if request.url.port else request.url.hostname or "localhost"
    )
    return f"{request.url.scheme}://{host}"


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY_RE.match(key):
        raise validation("Idempotency-Key", "format", "Idempotency-Key must be 1-255 printable ASCII characters")
    return key


def _customer_ids(path: dict[str, str], request: Request, body: Any) -> list[str]:
    """The request's customers, best effort, for fault matching and the journal (§8.6)."""
    found = [path.get("customerId"), request.query_params.get("customerId")]
    if isinstance(body, dict):
        found.append(body.get("customerId"))
        items = body.get("deltas")
        if isinstance(items, list):
            found += [item.get("customerId") for item in items if isinstance(item, dict)]
    return [c for c in found if isinstance(c, str)]


def endpoint(
    runtime: Runtime,
    route: str,
    handler: Handler,
    *,
    query: tuple[str, ...] = (),
    body: bool = False,
    idempotent_writes: bool = False,
    auth: str = "key",
    locate: Callable[[Any, dict[str, str]], int | None] | None = None,
    form: bool = False,
    lenient_query: bool = False,
    allowed_faults: tuple[str, ...] | None = None,
    render_error: Callable[[ApiError], Response] | None = None,
    model: type | None = None,
    outside: bool = False,
) -> Callable[[Request], Awaitable[Response]]:
    """Build a Starlette endpoint running `handler` through the pipeline.

    auth: "key" (X-Api-Key), "dashboard" (key + bearer), "public" (workspace found by `locate`).
    Pages use form bodies, ignore unknown query parameters, answer errors as HTML and obey only
    the fault actions listed in allowed_faults (balance-api.md §6).
    """
    error_response_for = render_error or error_response

    async def run(request: Request) -> Response:
        started = time.perf_counter()
        try:
            if form:
                raw_body = await read_form(request)
            else:
                raw_body = await read_body(request) if body else None
            body_error = None
        except ApiError as exc:
            raw_body, body_error = None, exc
        if outside:  # the handler may wait on a webhook receiver: off the event loop
            response, latency_ms = await run_in_threadpool(execute, request, raw_body, body_error, started)
        else:
            response, latency_ms = execute(request, raw_body, body_error, started)
        if latency_ms:
            await asyncio.sleep(latency_ms / 1000)  # wall time, after the transaction: nothing waits on us
        return response

    def execute(request: Request, raw_body: Any, body_error: ApiError | None, started: float) -> tuple[Response, int]:
        latency_ms = 0
        with runtime.store.transaction() as conn:
            try:
                path_params = raw_path_params(request)
            except UnicodeDecodeError:
                return error_response_for(ApiError("NOT_FOUND", "No route matches this path")), 0
            try:
                ws = _workspace(runtime, conn, request, auth, locate, path_params)
            except ApiError as exc:
                return error_response_for(exc), 0
            now, seq = runtime.begin_request(conn, ws)
            request_id = runtime.counted_id(ws, "req", seq)
            ctx = Ctx(runtime, conn, ws, now, runtime.origin(ws, request_origin(request)))
            apply_due(ctx)
            customers = _customer_ids(path_params, request, raw_body)
            fired = None
            if ws.rules_created and allowed_faults != ():
                fired = faults.evaluate(ctx, method=request.method, route=route, path=unquote(request.url.path),
                                        customer_ids=set(customers))
                if fired and allowed_faults is not None:
                    fired.actions = [a for a in fired.actions if a["type"] in allowed_faults]
            injected = faults.error_for(fired, customers[0] if customers else None) if fired else None
            if injected is not None:
                response = error_response(injected, request_id)
            else:
                if fired:
                    _fault_flags(request, fired)
                try:
                    with runtime.store.savepoint():
                        response = _execute(ctx, request, route, handler, query, raw_body, body_error,
                                            idempotent_writes, request_id, lenient_query)
                except ApiError as exc:
                    response = error_response_for(exc) if render_error else error_response(exc, request_id)
                dropped = faults.drop_error(fired) if fired else None
                if dropped is not None and response.status_code < 300:
                    response = error_response(dropped, request_id)
            if fired and fired.action("latency"):
                latency_ms = fired.action("latency")["ms"]
            journal.record(ctx, _journal_entry(ctx, request, route, seq, request_id, response, customers, fired,
                                               started, latency_ms))
        return response, latency_ms

    run.__name__ = route.replace(".", "_")
    # what the OpenAPI document says of this route (mockserver/openapi.py)
    run.openapi = {"name": route, "query": query, "auth": auth, "model": model, "form": form,
                   "html": render_error is not None, "idempotency": idempotent_writes}
    return run


def _workspace(runtime: Runtime, conn, request: Request, auth: str, locate, path_params: dict[str, str]) -> Workspace:
    if auth == "public":
        ws_id = locate(conn, path_params) if locate else None
        if ws_id is None:
            raise ApiError("NOT_FOUND", "The addressed object was not found")
        return runtime.load_workspace(conn, ws_id)
    ws = runtime.resolve_workspace(conn, request.headers.get("x-api-key"))
    if auth == "dashboard":
        authz = request.headers.get("authorization") or ""
        if not authz.startswith("Bearer ") or not authz[7:].strip():
            raise ApiError("UNAUTHORIZED", "A dashboard bearer token (Authorization: Bearer …) is required")
    return ws


def _fault_flags(request: Request, fired: faults.Fired) -> None:
    """Actions that let the request run but change what it does."""
    failing = fired.action("fail_verification")
    if failing is not None:
        request.state.fail_verification = failing.get("message") or VERIFICATION_FAILED_MESSAGE
    if fired.action("chain_unavailable") is not None:
        request.state.chain_unavailable = True


def _journal_entry(ctx: Ctx, request: Request, route: str, seq: int, request_id: str, response: Response,
                   customers: list[str], fired: faults.Fired | None, started: float, extra_ms: int) -> dict[str, Any]:
    error_code = None
    if response.status_code >= 300 or response.status_code == 202:
        try:
            error_code = parse_json_exact(response.body)["error"]["code"]
        except Exception:  # a non-JSON reply (PDF) has no error code
            error_code = None
    replay = response.headers.get("Idempotent-Replayed") == "true" or bool(getattr(request.state, "replay", False))
    return {
        "seq": seq,
        "requestId": request_id,
        "at": format_ts(ctx.now),
        "method": request.method,
        "path": request.url.path,
        "query": request.url.query,
        "route": route,
        "status": response.status_code,
        "latencyMs": int((time.perf_counter() - started) * 1000) + extra_ms,
        "customerId": customers[0] if customers else None,
        "idempotencyKey": request.headers.get("idempotency-key"),
        "idempotentReplay": replay,
        "errorCode": error_code,
        "fault": fired.journal() if fired else None,
        "userAgent": request.headers.get("user-agent"),
        "chainId": request.headers.get("x-chain-id"),
    }


def _execute(ctx: Ctx, request: Request, route: str, handler: Handler, query: tuple[str, ...], raw_body: Any,
             body_error: ApiError | None, idempotent_writes: bool, request_id: str,
             lenient_query: bool = False) -> Response:
    if body_error is not None:
        raise body_error
    key = _idempotency_key(request) if idempotent_writes else None
    identity = None
    if key is not None:
        identity = body_identity(raw_body)
        stored = ctx.conn.execute(
            "SELECT body_identity, http_status, body, created_ms FROM idempotency_keys WHERE ws = ? AND route = ? AND key = ?",
            (ctx.ws.id, route, key),
        ).fetchone()
        ttl = int(ctx.ws.settings.get("idempotencyTtlSeconds", 86400)) * 1000
        if stored is not None and stored["created_ms"] + ttl > ctx.now:
            if stored["body_identity"] != identity:
                raise ApiError(
                    "IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was already used with a different request body",
                    details={"field": "Idempotency-Key", "reason": "conflict"},
                )
            return Response(bytes(stored["body"]), status_code=stored["http_status"], media_type=JSON,
                            headers={"X-Request-Id": request_id, "Idempotent-Replayed": "true"})
    params = dict(request.query_params.items()) if lenient_query else parse_query(request, query)
    call = Call(raw_path_params(request), params, raw_body, request.headers, request)
    data = complete(ctx, handler(ctx, call))
    if isinstance(data, Response):
        data.headers["X-Request-Id"] = request_id
        return data
    payload = envelope_ok(data)
    if key is not None and 200 <= call.status < 300:
        ctx.conn.execute(
            "INSERT OR REPLACE INTO idempotency_keys (ws, route, key, body_identity, http_status, body, created_ms)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (ctx.ws.id, route, key, identity, call.status, payload, ctx.now),
        )
    return Response(payload, status_code=call.status, media_type=JSON,
                    headers={"X-Request-Id": request_id, **call.extra_headers})

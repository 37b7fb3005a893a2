"""The one request pipeline (balance-api.md §1.14), for every operation of the table.

    read body -> workspace (auth, or located from the addressed object) -> clock, request number
    -> due transitions -> faults -> Idempotency-Key -> validate -> execute (one transaction)
    -> commit-then-drop -> journal -> reply

What differs between routes is a flag of its Operation (plane, models, idempotency_key, …), never
a second pipeline. A handler is `handler(ctx, call)`: it sees the validated models and the fault
effects in `call`, and returns the reply's data, an Outcome (another status, a replay for the
journal), or a Response (pages, PDF, state export).

Two phases when the request must wait between admission and execution: a request with an
Idempotency-Key commits a pending marker first (so a second request with the key sees 202
IDEMPOTENCY_PENDING while the first runs), and a `latency` fault waits (wall time) before the
request executes. Otherwise admission and execution share one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import unquote

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from . import exchanges, faults
from .errors import ApiError, validation
from .jsonout import dumpb, dumps_sorted
from .ledger.context import Ctx, complete
from .ledger.lifecycle import apply_due
from .operations import Operation, resolve
from .proofs.primitives import JSONInputError, format_ts, parse_json_exact
from .runtime import Runtime, Workspace
from .store import idempotency, journal
from .validation import Query, query_pairs, validate

MAX_BODY = 1_048_576
IDEMPOTENCY_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}\Z")
PENDING_ABANDONED_MS = 30_000  # §4.2: a pending marker older than this (wall) is abandoned
JSON = "application/json"
logger = logging.getLogger("pacspace_mock")


# --- what a handler sees and returns ---------------------------------------------------------------

@dataclass
class Call:
    """A request as its handler sees it: decoded path parameters, validated query and body models
    (a form's fields for pages, bytes for raw bodies), headers and cookies, and the fault effects."""

    op: Operation
    path: dict[str, str]
    query: Any
    body: Any
    headers: Any
    cookies: dict[str, str]
    effects: faults.Effects = field(default_factory=faults.Effects)


@dataclass
class Outcome:
    """A handler's reply when it is not simply `data` with the operation's status."""

    data: Any
    status: int | None = None
    replay: bool = False  # journaled as idempotentReplay (a referenceId replay, §8.7)
    headers: dict[str, str] = field(default_factory=dict)


class Done(Exception):
    """Ends a request early with its reply (raised inside the pipeline only)."""

    def __init__(self, response: Response):
        self.response = response


class Refused(Done):
    """Ends a request before it counts: its transaction rolls back (401, or an unknown object)."""


def envelope_ok(data: Any) -> bytes:
    return dumpb({"success": True, "data": data})


def error_response(err: ApiError, request_id: str | None = None) -> Response:
    headers = dict(err.headers)
    if err.retry_after is not None:
        headers["Retry-After"] = str(err.retry_after)
    if request_id:
        headers["X-Request-Id"] = request_id
    return Response(dumpb({"success": False, "error": err.to_error()}), status_code=err.status, media_type=JSON,
                    headers=headers)


def header(request: Request, name: str) -> str | None:
    """A request header (first of its name): from one dict made per request, not a scan per lookup."""
    found = request.scope.get("pacspace.headers")
    if found is None:
        found = request.scope["pacspace.headers"] = {
            k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(request.scope.get("headers", ()))}
    return found.get(name)


def request_origin(request: Request) -> str:
    """scheme://host[:port] of the request (its Host header, else the server's address)."""
    host = header(request, "host")
    if not host:
        name, port = request.scope.get("server") or ("localhost", None)
        host = f"{name}:{port}" if port else name
    return f"{request.scope.get('scheme', 'http')}://{host}"


# --- reading the body ------------------------------------------------------------------------------

def _declared_length(request: Request, limit: int, what: str) -> int | None:
    """Content-Length, refused at once when it announces more than `limit` (nothing is read)."""
    length = header(request, "content-length")
    if length is None or not length.isdigit() or len(length) >= 20:
        return None  # uvicorn refuses a malformed length before the app sees the request
    if int(length) > limit:
        raise ApiError("PAYLOAD_TOO_LARGE", what)
    return int(length)


async def read_bytes(request: Request, limit: int, what: str) -> bytes:
    """The body, refused as soon as it passes `limit` bytes (nothing beyond it is buffered)."""
    _declared_length(request, limit, what)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        request.scope["pacspace.received"] = size
        if size > limit:
            raise ApiError("PAYLOAD_TOO_LARGE", what)
        chunks.append(chunk)
    return b"".join(chunks)


RAW_BODY = "pacspace.raw_body"  # an ASGI scope extension: the request's bytes, as read


SQLITE_HEADER = b"SQLite format 3\x00"


class Upload:
    """A raw body streamed to a temporary file of the server's own (state import, up to 1 GiB):
    never held in memory; removed once the request is answered."""

    def __init__(self, path: str):
        self.path = path

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path)


async def read_to_file(request: Request, limit: int, what: str) -> Upload:
    """The body on disk, refused as soon as it passes `limit` bytes. A body that does not start
    like an SQLite file is refused at once when its length is known (the size check has passed,
    §8.9's order); a chunked one is read to its end (size first), but no more of it is written."""
    declared = _declared_length(request, limit, what)
    fd, path = tempfile.mkstemp(prefix="pacspace-mock-upload-", suffix=".sqlite")
    upload, size, head, sqlite = Upload(path), 0, b"", True
    try:
        with os.fdopen(fd, "wb") as handle:
            async for chunk in request.stream():
                size += len(chunk)
                request.scope["pacspace.received"] = size
                if size > limit:
                    raise ApiError("PAYLOAD_TOO_LARGE", what)
                if len(head) < len(SQLITE_HEADER):
                    head += chunk[:len(SQLITE_HEADER) - len(head)]
                    sqlite = SQLITE_HEADER.startswith(head)
                    if not sqlite and declared is not None:
                        raise validation("body", "format", "state import refused: the body is not an SQLite"
                                                           " database file")
                if sqlite:
                    handle.write(chunk)
    except BaseException:
        upload.discard()
        raise
    return upload


async def read_body(request: Request, op: Operation) -> Any:
    if op.raw_body:
        return await read_to_file(request, op.raw_body, "The state file is larger than the import limit")
    raw = await read_bytes(request, MAX_BODY, "The request body is larger than 1 MiB")
    request.scope[RAW_BODY] = raw  # the pipeline's journal records it (exchanges.py)
    if op.form:
        from urllib.parse import parse_qsl

        fields: dict[str, str] = {}
        for name, value in parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True):
            fields.setdefault(name, value)
        return fields
    if not raw.strip():
        return {}
    try:
        return parse_json_exact(raw, unicode_only=True)
    except JSONInputError as exc:
        if exc.field is not None:
            raise validation(exc.field, "invalid_json", str(exc)) from None
        raise validation("body", "invalid_json", f"The request body is not valid JSON: {exc}") from None


# --- the pipeline --------------------------------------------------------------------------------------

class Pipeline:
    """The ASGI endpoint of one operation."""

    def __init__(self, runtime: Runtime, op: Operation, render_error: Callable[[ApiError], Response] | None = None,
                 check_reply: Callable[[int, bytes], None] | None = None):
        self.runtime = runtime
        self.op = op
        self._default_query: Any = None
        self.render_error = render_error
        self.check_reply = check_reply  # the test suite's: every JSON reply against its published schema
        # §8.9: beyond loopback, the operations of the admin planes need the admin token; checked
        # before anything else, the body included (a state import must not be read for nobody)
        self.admin = op.admin and runtime.config.exposed
        self.bound = False
        if not op.lazy:  # a lazy operation (the dev console) is imported at its first request
            self._bind()

    def _bind(self) -> None:
        op = self.op
        self.handler = resolve(op.handler)
        self.query_model: type[Query] = resolve(op.query) or Query
        self.path_model = resolve(op.path_model)
        self.body_model = resolve(op.body) if op.body and not op.form else None
        self.locate = resolve(op.locate)
        self.guard = resolve(op.guard)
        self.bound = True

    async def __call__(self, request: Request) -> Response:
        try:
            return await self._serve(request)
        except Exception as exc:  # never expected (the suite fuzzes for it): logged with its traceback
            logger.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
            return error_response(ApiError("INTERNAL_ERROR", f"unexpected server error: {type(exc).__name__}"))

    async def _serve(self, request: Request) -> Response:
        started = time.perf_counter()
        op = self.op
        if not self.bound:
            self._bind()
        if self.guard is not None:  # the operation admits its requests itself (the console's session)
            refused = self.guard(self.runtime, request)
            if refused is not None:
                return refused
        elif self.admin:
            try:
                self.runtime.check_admin(header(request, "authorization"))
            except ApiError as exc:
                return self._error(exc)
        try:
            body = await read_body(request, op) if (op.body or op.form or op.raw_body) else None
            body_error = None
        except ApiError as exc:
            body, body_error = None, exc
        except ClientDisconnect:  # the client went away mid-upload: nobody is left to reply to
            timed_out = request.scope.get("pacspace.timed_out")
            logger.warning("client %s while sending the body of %s %s (%d bytes received)",
                           f"sent nothing for {timed_out}s (connection timeout)" if timed_out else "disconnected",
                           request.method, request.scope.get("path"), request.scope.get("pacspace.received", 0))
            return Response(status_code=499)  # never sent; what the access log shows (nginx's code)
        if not op.transaction:
            return await self._unmanaged(request, body, body_error)
        run = self._run
        if op.outside:
            response, wait_ms, pending = await run_in_threadpool(run, request, body, body_error, started, None)
        else:
            response, wait_ms, pending = run(request, body, body_error, started, None)
        if pending is not None:  # admitted: wait (latency fault), then execute in a new transaction
            if wait_ms:
                await asyncio.sleep(wait_ms / 1000)
            if op.outside:
                response, _, _ = await run_in_threadpool(run, request, body, body_error, started, pending)
            else:
                response, _, _ = run(request, body, body_error, started, pending)
        elif wait_ms:
            await asyncio.sleep(wait_ms / 1000)  # an injected reply still takes its latency
        return response

    # --- one or two transactions -------------------------------------------------------------------

    def _run(self, request: Request, body: Any, body_error: ApiError | None, started: float,
             admitted: "Admitted | None") -> tuple[Response, int, "Admitted | None"]:
        try:
            return self._transaction(request, body, body_error, started, admitted)
        except Refused as refused:
            return refused.response, 0, None

    def _transaction(self, request: Request, body: Any, body_error: ApiError | None, started: float,
                     admitted: "Admitted | None") -> tuple[Response, int, "Admitted | None"]:
        op, runtime = self.op, self.runtime
        with runtime.store.transaction() as conn:
            if admitted is None:
                try:
                    state = self._admit(conn, request, body, body_error, started)
                except Refused:
                    raise
                except Done as done:
                    return done.response, 0, None
                if isinstance(state, tuple):  # answered by a fault rule or the Idempotency-Key
                    response, wait_ms = state
                    return response, wait_ms, None
                if state.key is not None or state.call.effects.latency_ms:
                    if state.key is not None:
                        idempotency.mark_pending(conn, state.ctx.ws.id, op.name, state.key, state.identity,
                                                 state.ctx.now, runtime.wall_ms())
                    return Response(), state.call.effects.latency_ms, state  # commit; execute next
            else:
                state = admitted
                ws = runtime.load_workspace(conn, state.ctx.ws.id)
                state.waited = bool(state.call.effects.latency_ms)
                # now is read again: what ran since admission (another worker, a clock move in a
                # thread, a latency wait) may have moved the clock, and a record later in sequence
                # must not be earlier in time (receipts list deltas in sequence order)
                now = runtime.read_clock(conn, ws)
                state.ctx = Ctx(runtime, conn, ws, now, state.ctx.origin_of)
                apply_due(state.ctx)
            return self._execute(state), 0, None

    def _admit(self, conn: Any, request: Request, body: Any, body_error: ApiError | None,
               started: float) -> "Admitted | tuple[Response, int]":
        op, runtime = self.op, self.runtime
        try:
            path = {k: unquote(v, errors="strict") for k, v in request.path_params.items()}
        except UnicodeDecodeError:
            raise Done(self._error(ApiError("NOT_FOUND", "No route matches this path"))) from None
        ws, now, seq = self._workspace(conn, request, path, body, body_error)
        if ws is None:  # a global operation (or the console's list of workspaces): no workspace, no journal
            ctx = Ctx(runtime, conn, None, runtime.wall_ms(), lambda: runtime.origin(None, request_origin(request)))
            try:
                call = Call(op, path, self._query(request), self._body(body, body_error), request.headers,
                            request.cookies)
                result = self._handle(ctx, call)
            except ApiError as exc:
                raise Done(self._error(exc)) from None
            raise Done(self._reply(ctx, call, None, result, None))
        request_id = runtime.counted_id(ws, "req", seq) if seq is not None else None
        ctx = Ctx(runtime, conn, ws, now, lambda: runtime.origin(ws, request_origin(request)))
        apply_due(ctx)
        state = Admitted(ctx, Call(op, path, None, None, request.headers, request.cookies), seq, request_id,
                         started, request, _customer_ids(path, request, body), exchanges.references_of(body))
        fired = None
        if op.journaled and ws.rules_created and op.faults != ():
            fired = faults.evaluate(ctx, method=request.method, route=op.name, path=unquote(request.url.path),
                                    customer_ids=set(state.customers))
            if fired and op.faults is not None:
                fired.actions = [a for a in fired.actions if a["type"] in op.faults]
        state.call.effects = faults.effects(fired)
        injected = faults.answer(fired, state.customers[0] if state.customers else None) if fired else None
        try:
            if injected is not None:
                raise injected
            if body_error is not None:
                raise body_error
            if op.idempotency_key:
                state.key = _idempotency_key(request)
                if state.key is not None:
                    state.identity = body_identity(body)
                    self._stored_reply(state)
            self._path(state.call.path)
            state.call.query = self._query(request)
            state.call.body = self._body(body, None)
        except ApiError as exc:
            return self._finish(state, self._error(exc, request_id)), state.call.effects.latency_ms
        except Done as done:
            return self._finish(state, done.response), state.call.effects.latency_ms
        return state

    def _workspace(self, conn: Any, request: Request, path: dict[str, str], body: Any,
                   body_error: ApiError | None) -> tuple[Workspace | None, int, int | None]:
        """(workspace, virtual now, request number) — counted requests take their number in the
        same statement that reads the workspace; control calls only read the clock."""
        op, runtime = self.op, self.runtime
        if op.plane == "global" or (op.plane == "console" and self.locate is None):
            return None, runtime.wall_ms(), None
        if self.locate is not None:
            ws_id = self.locate(conn, path)
            if ws_id is None:
                # §1.8: input is validated before any lookup, so a malformed request is 400, not 404
                try:
                    if body_error is not None:
                        raise body_error
                    self._path(path)
                    self._query(request)
                    self._body(body, None)
                except ApiError as exc:
                    raise Refused(self._error(exc)) from None
                raise Refused(self._error(ApiError("NOT_FOUND", "The addressed object was not found")))
            if not op.journaled:  # the dev console shows a workspace: never a counted request
                ws = runtime.load_workspace(conn, ws_id)
                return ws, runtime.read_clock(conn, ws), None
            return runtime.open_request(conn, ws_id=ws_id)
        try:
            key = header(request, "x-api-key")
            if not op.journaled:  # the control plane: not a counted request (§8)
                ws = runtime.resolve_workspace(conn, key)
                return ws, runtime.read_clock(conn, ws), None
            counted = runtime.open_request(conn, api_key=key)
            if op.plane == "dashboard":
                authz = header(request, "authorization") or ""
                if not authz.startswith("Bearer ") or not authz[7:].strip():
                    raise ApiError("UNAUTHORIZED", "A dashboard bearer token (Authorization: Bearer …) is required")
            return counted
        except ApiError as exc:
            raise Refused(self._error(exc)) from None

    def _path(self, path: dict[str, str]) -> None:
        if self.path_model is not None:
            validate(self.path_model, path)

    def _query(self, request: Request) -> Any:
        raw = request.scope.get("query_string", b"")
        if not raw:
            if self._default_query is None:  # validated once: models are never changed by handlers
                self._default_query = validate(self.query_model, {})
            return self._default_query
        pairs = query_pairs(raw.decode("latin-1"), self.query_model, lenient=self.op.plane in ("page", "console"))
        return validate(self.query_model, pairs)

    def _body(self, body: Any, body_error: ApiError | None) -> Any:
        if body_error is not None:
            raise body_error
        if self.body_model is None:
            return body
        return validate(self.body_model, body)

    def _stored_reply(self, state: "Admitted") -> None:
        """§4.2: a stored reply replays, a different body conflicts, a running request is pending."""
        ctx = state.ctx
        stored = idempotency.lookup(ctx.conn, ctx.ws.id, self.op.name, state.key)
        if stored is None:
            return
        ttl = int(ctx.ws.settings.get("idempotencyTtlSeconds", 86400)) * 1000
        if stored["http_status"] is None:
            if ctx.runtime.wall_ms() - (stored["pending_wall_ms"] or 0) > PENDING_ABANDONED_MS:
                return  # abandoned by a request that never finished: this one takes the key
            raise ApiError("IDEMPOTENCY_PENDING", "A request with this Idempotency-Key is still being processed;"
                           " retry shortly.", retry_after=1)
        if stored["created_ms"] + ttl <= ctx.now:
            return  # expired: the key is new again
        if not same_identity(stored["body_identity"], state.identity):
            raise ApiError("IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was already used with a different request body",
                           details={"field": "Idempotency-Key", "reason": "conflict"})
        state.replay = True  # journaled as idempotentReplay (§8.7)
        raise Done(Response(bytes(stored["body"]), status_code=stored["http_status"], media_type=JSON,
                            headers={"X-Request-Id": state.request_id, "Idempotent-Replayed": "true"}))

    # --- execution ----------------------------------------------------------------------------------

    def _execute(self, state: "Admitted") -> Response:
        ctx, call = state.ctx, state.call
        try:
            if self.op.writes:  # a rejected request keeps only its bookkeeping (§1.8)
                with ctx.runtime.store.savepoint():
                    result = self._handle(ctx, call)
            else:
                before = ctx.conn.total_changes
                result = self._handle(ctx, call)
                if self.check_reply is not None and ctx.conn.total_changes != before:  # the suite's check
                    raise AssertionError(f"{self.op.key} is declared read-only but its handler wrote")
        except ApiError as exc:
            if state.key is not None:
                idempotency.forget(ctx.conn, ctx.ws.id, self.op.name, state.key)
            return self._finish(state, self._error(exc, state.request_id))
        except Exception as exc:  # never expected (the suite fuzzes for it): logged, answered, journaled
            logger.error("unexpected error in %s %s", self.op.method, self.op.path, exc_info=exc)
            if state.key is not None:
                idempotency.forget(ctx.conn, ctx.ws.id, self.op.name, state.key)
            err = ApiError("INTERNAL_ERROR", f"unexpected server error: {type(exc).__name__}")
            return self._finish(state, self._error(err, state.request_id))
        response = self._reply(ctx, call, state, result, state.request_id)
        if call.effects.drop is not None and response.status_code < 300:
            response = self._error(call.effects.drop, state.request_id)  # committed, reply lost
        return self._finish(state, response)

    def _handle(self, ctx: Ctx, call: Call) -> Any:
        return complete(ctx, self.handler(ctx, call))

    def _reply(self, ctx: Ctx, call: Call, state: "Admitted | None", result: Any, request_id: str | None) -> Response:
        if isinstance(result, Response):
            if request_id:
                result.headers["X-Request-Id"] = request_id
            return result
        outcome = result if isinstance(result, Outcome) else Outcome(result)
        status = outcome.status or self.op.status
        payload = envelope_ok(outcome.data)
        if self.check_reply is not None:
            self.check_reply(status, payload)
        if state is not None:
            state.replay = outcome.replay
            if state.key is not None and 200 <= status < 300:
                idempotency.store_reply(ctx.conn, ctx.ws.id, self.op.name, state.key, state.identity, status, payload,
                                        ctx.now)
                ttl = int(ctx.ws.settings.get("idempotencyTtlSeconds", 86400)) * 1000
                idempotency.purge_expired(ctx.conn, ctx.ws.id, ctx.now - ttl)  # an index range: usually none
        headers = {**({"X-Request-Id": request_id} if request_id else {}), **outcome.headers}
        return Response(payload, status_code=status, media_type=JSON, headers=headers)

    def _error(self, err: ApiError, request_id: str | None = None) -> Response:
        if self.render_error is not None:
            return self.render_error(err)
        response = error_response(err, request_id)
        if self.check_reply is not None:
            self.check_reply(err.status, response.body)
        return response

    def _finish(self, state: "Admitted", response: Response) -> Response:
        """The journal entry (§8.7) of a journaled request, in its last transaction."""
        if not self.op.journaled:
            return response
        ctx, request = state.ctx, state.request
        error_code = None
        if response.status_code >= 300 or response.status_code == 202:
            if response.media_type == JSON:
                error_code = json.loads(response.body)["error"]["code"]
        fired = state.call.effects.fired
        entry = {
            "seq": state.seq,
            "requestId": state.request_id,
            "at": format_ts(ctx.now),
            "method": request.method,
            "path": request.scope["path"],
            "query": request.scope.get("query_string", b"").decode("latin-1"),
            "route": self.op.name,
            "status": response.status_code,
            "latencyMs": int((time.perf_counter() - state.started) * 1000)
                         + (0 if state.waited else state.call.effects.latency_ms),
            "customerId": state.customers[0] if state.customers else None,
            "idempotencyKey": header(request, "idempotency-key"),
            "idempotentReplay": state.replay,
            "errorCode": error_code,
            "fault": fired.journal() if fired else None,
            "userAgent": header(request, "user-agent"),
            "chainId": header(request, "x-chain-id"),
        }
        text = compact_json(entry)
        exchange = exchanges.record(
            request.method, entry["path"], entry["query"], request.scope["headers"], request.scope.get(RAW_BODY),
            response.status_code, response.raw_headers, getattr(response, "body", None), form=self.op.form)
        journal.record(ctx.conn, ctx.ws.id, state.seq, self.op.name, response.status_code, text,
                       int(ctx.ws.settings.get("journalSize", 1000)), ctx.now,
                       exchanges.keys(state.customers, state.references), exchange)
        return response

    # --- operations that manage the store themselves (state export and import) --------------------

    async def _unmanaged(self, request: Request, body: Any, body_error: ApiError | None) -> Response:
        try:
            call = Call(self.op, dict(request.path_params), self._query(request), self._body(body, body_error),
                        request.headers, request.cookies)
            ctx = Ctx(self.runtime, None, None, self.runtime.wall_ms(),
                      lambda: self.runtime.origin(None, request_origin(request)))
            result = await run_in_threadpool(self.handler, ctx, call)
        except ApiError as exc:
            return self._error(exc)
        finally:
            if isinstance(body, Upload):
                body.discard()
        return self._reply(ctx, call, None, result, None)


@dataclass
class Admitted:
    """A request between admission and execution (one transaction, or two)."""

    ctx: Ctx
    call: Call
    seq: int | None
    request_id: str | None
    started: float
    request: Request
    customers: list[str]
    references: list[str]
    key: str | None = None
    identity: str | None = None
    replay: bool = False
    waited: bool = False  # a latency fault was waited out before execution


def body_identity(body: Any) -> str:
    """What an Idempotency-Key's body is compared by (§4.2): the SHA-256 of its canonical form
    (members sorted), not the form itself (a batch's is ~15 KB)."""
    return _identity_of(dumps_sorted(body))


def _identity_of(canonical: str) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def same_identity(stored: str, identity: str) -> bool:
    """Keys stored by release 1 hold the canonical text itself."""
    return (stored if stored.startswith("sha256:") else _identity_of(stored)) == identity


def compact_json(value: Any) -> str:
    """Compact JSON text of plain values (no Decimals): orjson, or the standard writer for what it
    refuses (a lone surrogate); the same text either way."""
    try:
        return orjson.dumps(value).decode("utf-8")
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _idempotency_key(request: Request) -> str | None:
    key = header(request, "idempotency-key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY_RE.match(key):
        raise validation("Idempotency-Key", "format", "Idempotency-Key must be 1-255 printable ASCII characters")
    return key


def _customer_ids(path: dict[str, str], request: Request, body: Any) -> list[str]:
    """The request's customers, best effort, for fault matching and the journal (§8.6)."""
    found = [path.get("customerId")]
    if b"customerId" in request.scope.get("query_string", b""):
        found.append(request.query_params.get("customerId"))
    return [c for c in found if isinstance(c, str)] + exchanges.body_members(body, "customerId")

"""create_app(runtime) -> Starlette. The whole route table is here, in one place.

Routing runs on the raw (still percent-encoded) path, so an encoded "/" stays inside one path
segment; each handler decodes its path parameters exactly once (balance-api.md §1.10).
"""

from __future__ import annotations

import functools
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from .api import handlers as h
from .api.http import endpoint, error_response
from .api.schemas import BatchBody, CheckpointBody, CompareBody, DashboardCustomerBody, EmitBody, EmptyBody
from .control import clock, settings, state
from .control import webhooks as hooks
from .control.plane import control_endpoint
from .errors import ApiError
from .pages import views
from .runtime import Runtime

B = "/api/v1/balance"


def routes(rt: Runtime) -> list[BaseRoute]:
    def api(path: str, name: str, handler, methods=("GET",), **options) -> Route:
        return Route(path, endpoint(rt, name, handler, **options), methods=list(methods), name=name)

    scope_q = ("period", "timePreset", "startDate", "endDate")
    page_q = ("limit", "offset")
    return [
        api(f"{B}/delta", "balance.emit", h.emit, ("POST",), body=True, model=EmitBody, idempotent_writes=True),
        api(f"{B}/delta/batch", "balance.emit_batch", h.emit_batch, ("POST",), body=True, model=BatchBody, idempotent_writes=True),
        api(f"{B}/delta/{{recordId}}", "balance.delta_status", h.delta_status),
        api(f"{B}/derive/{{customerId}}", "balance.derive", h.derive_route,
            query=("startingBalance", "startingCheckpoint", "startingCheckpointType", "granularity", *scope_q, *page_q)),
        api(f"{B}/compare", "balance.compare", h.compare, ("POST",), body=True, model=CompareBody),
        api(f"{B}/checkpoint", "balance.checkpoint", h.checkpoint, ("POST",), body=True, model=CheckpointBody, idempotent_writes=True),
        api(f"{B}/checkpoints/compare", "balance.checkpoints_compare", h.compare_checkpoints,
            query=("customerId", "from", "to")),
        api(f"{B}/checkpoints", "balance.checkpoints_list", h.list_checkpoints, query=("customerId", *scope_q, *page_q)),
        api(f"{B}/receipt/{{customerId}}", "balance.receipt", h.receipt, query=(*scope_q, *page_q)),
        api(f"{B}/invoice-proof/{{customerId}}", "balance.invoice_proof", h.invoice_proof, query=(*scope_q, *page_q)),
        api(f"{B}/gaps/{{customerId}}", "balance.gaps", h.gaps_route, query=("fromSequence", "toSequence", "limit")),
        api(f"{B}/usage", "balance.usage", h.usage),
        api(f"{B}/limits", "balance.limits", h.limits),
        api(f"{B}/customers/summary", "balance.customers_summary", h.customers_summary),
        api(f"{B}/customers", "balance.customers_list", h.customers_list, query=("search", "limit", "page")),
        api(f"{B}/customers/{{customerId}}/receipts", "balance.customer_receipts", h.customer_receipts, query=page_q),
        api(f"{B}/customers/{{customerId}}", "balance.customer", h.customer_detail,
            query=("deltaPage", "deltaLimit", "period")),
        api(f"{B}/receipts/{{receiptId}}", "balance.receipt_document", h.receipt_document,
            query=("customerDisplayName", "locale", "timezone", "unit", *page_q)),
        api(f"{B}/webhooks", "balance.webhooks_list", h.webhooks_list, query=("status", *page_q)),
        api(f"{B}/webhooks/{{eventId}}/retry", "balance.webhook_retry", h.webhook_retry, ("POST",), body=True, model=EmptyBody,
            outside=True),
        api("/api/v1/verify/{root}", "public.verify", h.public_verify, query=("source", *page_q),
            auth="public", locate=h.locate_root),
        api("/api/v1/receipt/{receiptId}.pdf", "public.receipt_pdf", h.public_receipt_pdf,
            auth="public", locate=h.locate_receipt),
        api("/api/v1/receipt/{receiptId}", "public.receipt", h.public_receipt, query=page_q,
            auth="public", locate=h.locate_receipt),
        api("/dashboard/customers", "dashboard.customers_create", h.dashboard_create_customer, ("POST",),
            body=True, auth="dashboard", model=DashboardCustomerBody),
        *control_routes(rt),
        *page_routes(rt),
    ]


def page_routes(rt: Runtime) -> list[BaseRoute]:
    """§6: HTML, journaled in the owning workspace, unknown query parameters ignored, faults only
    as chain_unavailable on /verify/{root}."""
    def html(path: str, name: str, handler, locate, methods=("GET",), **options) -> Route:
        return Route(path, endpoint(rt, name, handler, auth="public", locate=locate, lenient_query=True,
                                    render_error=views.error_page, **options), methods=list(methods), name=name)

    return [
        html("/c/{handle}", "page.shared_record", views.shared_record, views.locate_handle, allowed_faults=()),
        html("/c/{handle}/access", "page.shared_record", views.shared_record_access, views.locate_handle, ("POST",),
             form=True, allowed_faults=()),
        html("/c/{handle}/compare", "page.shared_record", views.shared_record_compare, views.locate_handle,
             ("POST",), form=True, allowed_faults=()),
        html("/receipt/{receiptId}", "page.receipt", views.receipt_page, views.locate_receipt, allowed_faults=()),
        html("/verify/{root}", "page.verify", views.verify_page, views.locate_root,
             allowed_faults=("chain_unavailable",)),
        Mount("/static", app=StaticFiles(directory=Path(views.__file__).parent / "static"), name="static"),
    ]


def control_routes(rt: Runtime) -> list[Route]:
    def ctl(path: str, handler, methods=("GET",), **options) -> Route:
        return Route(path, control_endpoint(rt, handler, **options), methods=list(methods))

    return [
        Route("/_mock/health", state.health(rt), methods=["GET"]),
        Route("/_mock/workspaces", state.workspaces(rt), methods=["GET"]),
        Route("/_mock/keys", state.keys_list(rt), methods=["GET"]),
        Route("/_mock/keys", state.keys_register(rt), methods=["POST"]),
        Route("/_mock/keys/{key}", state.keys_delete(rt), methods=["DELETE"]),
        Route("/_mock/state", state.state_export(rt), methods=["GET"]),
        Route("/_mock/state", state.state_import(rt), methods=["PUT"]),
        ctl("/_mock/workspace", state.workspace_get),
        ctl("/_mock/reset", state.reset_workspace, ("POST",), body=True),
        ctl("/_mock/seed", state.seed, ("POST",), body=True),
        ctl("/_mock/clock", clock.clock_get),
        ctl("/_mock/clock/set", clock.clock_set, ("POST",), body=True, outside=True),
        ctl("/_mock/clock/advance", clock.clock_advance, ("POST",), body=True, outside=True),
        ctl("/_mock/clock/freeze", clock.clock_freeze, ("POST",), body=True, outside=True),
        ctl("/_mock/clock/unfreeze", clock.clock_unfreeze, ("POST",), body=True),
        ctl("/_mock/settings", settings.settings_get),
        ctl("/_mock/settings", settings.settings_patch, ("PATCH",), body=True),
        ctl("/_mock/faults", hooks.faults_list),
        ctl("/_mock/faults", hooks.faults_create, ("POST",), body=True, status=201),
        ctl("/_mock/faults", hooks.faults_clear, ("DELETE",)),
        ctl("/_mock/faults/{ruleId}", hooks.faults_delete, ("DELETE",)),
        ctl("/_mock/journal", hooks.journal_list, query=("limit", "route", "status", "sinceSeq")),
        ctl("/_mock/journal", hooks.journal_clear, ("DELETE",)),
        ctl("/_mock/webhooks/config", hooks.config_get),
        ctl("/_mock/webhooks/config", hooks.config_put, ("PUT",), body=True),
        ctl("/_mock/webhooks/outbox", hooks.outbox, query=("event", "deliveryStatus", "limit", "offset")),
        ctl("/_mock/webhooks/drain", hooks.drain, ("POST",), body=True, outside=True),
    ]


async def _http_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 405:
        err = ApiError("METHOD_NOT_ALLOWED", f"{request.method} is not allowed on this path",
                       headers={"Allow": (exc.headers or {}).get("Allow", "")})
    elif exc.status_code == 404:
        err = ApiError("NOT_FOUND", "No route matches this path")
    else:
        err = ApiError("VALIDATION_ERROR", str(exc.detail), status=exc.status_code)
    return error_response(err)


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Never expected: the suite fuzzes for it. The envelope keeps clients parsing.
    return error_response(ApiError("INTERNAL_ERROR", f"unexpected server error: {type(exc).__name__}"))


class RawPathRouting:
    """Route on the raw path (before percent-decoding); drop the query httpx leaves in raw_path."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope.get("raw_path"):
            raw = scope["raw_path"].split(b"?", 1)[0].decode("latin-1")
            scope = {**scope, "path": raw}
        await self.app(scope, receive, send)


def openapi_route(table: list[BaseRoute]) -> Route:
    from starlette.responses import JSONResponse

    from .openapi import build_openapi

    @functools.cache  # built on the first request: ~30 ms of JSON Schema that most runs never read
    def document() -> dict:
        return build_openapi(table)

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(document())

    return Route("/openapi.json", openapi_json, methods=["GET"])


def create_app(runtime: Runtime, lifespan=None) -> RawPathRouting:
    table = routes(runtime)
    app = Starlette(
        lifespan=lifespan,
        routes=[*table, openapi_route(table)],
        exception_handlers={HTTPException: _http_error, Exception: _unexpected},
    )
    app.router.redirect_slashes = False  # §1.10: no trailing-slash redirects
    app.state.runtime = runtime
    wrapped = RawPathRouting(app)
    wrapped.runtime = runtime
    wrapped.starlette = app
    return wrapped

"""create_app(runtime) -> the ASGI app: one Starlette route per path of the operation table, each
dispatching to the one pipeline of the operation its method names.

Routing runs on the raw (still percent-encoded) path, so an encoded "/" stays inside one path
segment; the pipeline decodes each path parameter exactly once (balance-api.md §1.10). Literal
segments win over parameters: `/delta/batch` is the batch route for every method (GET answers
405 with `Allow: POST`), never the record `batch`.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.staticfiles import StaticFiles

from .errors import ApiError
from .operations import OPERATIONS
from .pipeline import Pipeline, error_response
from .runtime import Runtime


class OperationRoute(Route):
    """One path of the table with all its methods: the pipeline of each, and an `Allow` header
    that lists them all on a 405. A path with parameters never claims a literal sibling's path."""

    def __init__(self, path: str, endpoints: dict[str, Pipeline], literal_paths: frozenset[str]):
        self.endpoints = endpoints
        self.literal_paths = literal_paths if "{" in path else frozenset()
        super().__init__(path, next(iter(endpoints.values())), methods=sorted(endpoints), name=path)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        method = scope["method"]
        endpoint = self.endpoints.get(method) or (self.endpoints.get("GET") if method == "HEAD" else None)
        if endpoint is None:  # every method of the path, in a stable order
            response = error_response(ApiError("METHOD_NOT_ALLOWED", f"{method} is not allowed on this path",
                                               headers={"Allow": ", ".join(sorted(self.methods))}))
        else:
            response = await endpoint(Request(scope, receive, send))
        await response(scope, receive, send)

    def matches(self, scope: dict[str, Any]) -> tuple[Match, dict[str, Any]]:
        if self.literal_paths and scope.get("path") in self.literal_paths:
            return Match.NONE, {}
        return super().matches(scope)


def routes(rt: Runtime) -> list[BaseRoute]:
    """The Starlette routes of the operation table (in table order, so `/receipt/{id}.pdf` comes
    before `/receipt/{id}`), the static files of the pages and the OpenAPI document."""
    from .pages.views import error_page

    checker = None
    if rt.config.check_replies:
        from .replycheck import reply_checker as checker
    by_path: dict[str, dict[str, Pipeline]] = {}
    for op in OPERATIONS:
        render = error_page if op.plane == "page" else console_error_page if op.plane == "console" else None
        check = checker(op) if checker and op.media == "application/json" else None
        by_path.setdefault(op.path, {})[op.method] = Pipeline(rt, op, render_error=render, check_reply=check)
    literal = frozenset(path for path in by_path if "{" not in path)
    table: list[BaseRoute] = [OperationRoute(path, endpoints, literal) for path, endpoints in by_path.items()]
    static = Path(__file__).parent / "pages" / "static"
    return [*table, Mount("/static", app=StaticFiles(directory=static), name="static"), openapi_route()]


def console_error_page(err: ApiError) -> Response:
    """The dev console's error page, imported with the console (at its first request)."""
    from .console.views import error_page

    return error_page(err)


def openapi_route() -> Route:
    from .openapi import build_openapi

    @functools.cache  # built on the first request: JSON Schema that most runs never read
    def document() -> dict:
        return build_openapi(OPERATIONS)

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(document())

    return Route("/openapi.json", openapi_json, methods=["GET"])


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
    # The pipeline answers (and logs) what a handler raises; this is the last resort for anything
    # around it. The envelope keeps clients parsing; uvicorn logs the traceback.
    return error_response(ApiError("INTERNAL_ERROR", f"unexpected server error: {type(exc).__name__}"))


NOSNIFF = (b"x-content-type-options", b"nosniff")


class RawPathRouting:
    """The ASGI entry: routing runs on the raw path (before percent-decoding; the query httpx
    leaves in raw_path dropped). A literal path of the table goes straight to its operation's
    pipeline, which answers every error itself; everything else (parameterized paths, static
    files, the OpenAPI document, unknown paths) goes through Starlette's router.

    Every reply leaves with `X-Content-Type-Options: nosniff` (JSON, pages, static files, PDFs,
    the state file, errors, 404 and 405 alike): added here, the one door all of them pass."""

    def __init__(self, app: Starlette, literal: dict[str, "OperationRoute"]):
        self.app = app
        self.literal = literal

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            send = _nosniff(send)
            if scope.get("raw_path"):  # this request's own scope: changed in place
                scope["path"] = scope["raw_path"].split(b"?", 1)[0].decode("latin-1")
            route = self.literal.get(scope["path"])
            if route is not None:
                scope["path_params"] = {}
                await route.handle(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _nosniff(send):
    async def send_nosniff(message):
        if message["type"] == "http.response.start":
            headers = message.get("headers") or []
            if not any(name == NOSNIFF[0] for name, _ in headers):  # pages set it themselves (§6)
                message = {**message, "headers": [*headers, NOSNIFF]}
        await send(message)

    return send_nosniff


def create_app(runtime: Runtime, lifespan=None) -> RawPathRouting:
    table = routes(runtime)
    app = Starlette(lifespan=lifespan, routes=table,
                    exception_handlers={HTTPException: _http_error, Exception: _unexpected})
    app.router.redirect_slashes = False  # §1.10: no trailing-slash redirects
    app.state.runtime = runtime
    literal = {r.path: r for r in table if isinstance(r, OperationRoute) and "{" not in r.path}
    wrapped = RawPathRouting(app, literal)
    wrapped.runtime = runtime
    wrapped.starlette = app
    return wrapped

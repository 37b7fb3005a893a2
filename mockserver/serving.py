"""`pacspace-mock serve` processes: the app each uvicorn worker builds from the serve options,
with the background webhook task and a structured access log.

With --workers N, every worker process opens the same SQLite file; WAL and BEGIN IMMEDIATE make
them take turns for writes, so idempotency and sequences stay exact across processes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
import time
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from .app import create_app
from .runtime import Runtime, ServerConfig

ENV_OPTIONS = "PACSPACE_MOCK_SERVE"
access_logger = logging.getLogger("pacspace_mock.access")


def _log_handler() -> None:
    if not access_logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_logger.addHandler(handler)
        access_logger.setLevel(logging.INFO)
        access_logger.propagate = False


class AccessLog:
    """One JSON line per request: time, pid, method, path, status, duration, request id."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        facts: dict[str, Any] = {}

        async def record(message):
            if message["type"] == "http.response.start":
                facts["status"] = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"x-request-id":
                        facts["requestId"] = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            access_logger.info(json.dumps({
                "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()), "pid": os.getpid(),
                "method": scope.get("method"), "path": scope.get("path"),
                "query": scope.get("query_string", b"").decode("latin-1"), "status": facts.get("status"),
                "ms": round((time.perf_counter() - started) * 1000, 2), "requestId": facts.get("requestId"),
            }, separators=(",", ":")))


class NoDelayHTTP(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """uvicorn's HTTP protocol, with TCP_NODELAY set on every accepted connection.

    With --workers N, uvicorn binds the listening socket itself as `socket.socket(AF_INET)`
    (proto 0) and hands it to the worker processes; asyncio sets TCP_NODELAY only on sockets
    whose proto is IPPROTO_TCP, so every reply written in two parts (head, then body) waited
    ~40 ms for the client's delayed ACK on a keep-alive connection. One worker is not affected
    (asyncio creates that listener with IPPROTO_TCP); the embedded server binds its own socket.
    """

    def connection_made(self, transport):  # type: ignore[no-untyped-def]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def worker_app():
    """uvicorn factory: reads the serve options from the environment (set by the CLI)."""
    options = json.loads(os.environ[ENV_OPTIONS])
    config = ServerConfig(**options["config"])
    runtime = Runtime(config, db_path=options["db"])
    app = create_app(runtime, lifespan=background_lifespan(runtime))
    if options.get("access_log", True):
        _log_handler()
        return AccessLog(app)
    return app


def background_lifespan(runtime: Runtime):
    @contextlib.asynccontextmanager
    async def lifespan(app):
        from .webhooks.background import BackgroundDelivery

        background = BackgroundDelivery(runtime).start()
        try:
            yield
        finally:
            background.stop()  # after uvicorn has finished in-flight requests
            runtime.store.close()

    return lifespan

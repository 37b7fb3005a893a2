"""An embedded server: uvicorn in a background thread on an ephemeral loopback port.

Used by the test suite and the pytest plugin; no pytest imports here.
"""

from __future__ import annotations

import asyncio
import socket
import threading

import uvicorn

from .app import create_app
from .connection import DEFAULT_TIMEOUT, GuardedH11Protocol
from .runtime import Runtime


class EmbeddedServer:
    """`timeout`: the connection timeout (connection.py): idle keep-alive, request line and
    headers, a stalled body or an unread reply."""

    def __init__(self, runtime: Runtime, host: str = "127.0.0.1", port: int = 0, timeout: float = DEFAULT_TIMEOUT):
        self.runtime = runtime
        self.host = host
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP,
        # and without it every reply written in two parts waits ~40 ms for a delayed ACK.
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(create_app(runtime), log_level="warning", lifespan="off", access_log=False,
                                loop="asyncio", http=GuardedH11Protocol, timeout_keep_alive=timeout)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"pacspace-mock:{self.port}")
        self._started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        # uvicorn's own run loop polls for exit every 0.1 s and its graceful shutdown sleeps
        # another 0.1 s: 200 ms at the end of every pytest session. We drive its startup
        # ourselves and close on an event instead.
        try:
            self._loop = asyncio.get_running_loop()
            self._stopping = asyncio.Event()
            config = self._server.config
            config.load()
            self._server.lifespan = config.lifespan_class(config)
            await self._server.startup(sockets=[self._sock])
        except BaseException as exc:  # noqa: BLE001 - reported by start() in the caller's thread
            self._error = exc
            return
        finally:
            self._started.set()
        await self._stopping.wait()
        await self._close()

    async def _close(self, grace: float = 10.0) -> None:
        """Stop listening, close idle keep-alive connections, let requests in flight finish."""
        server, state = self._server, self._server.server_state
        for listener in server.servers:
            listener.close()
        for connection in list(state.connections):
            connection.shutdown()  # idle: closed now; busy: closed once its reply is sent
        deadline = self._loop.time() + grace
        while (state.connections or state.tasks) and self._loop.time() < deadline:
            await asyncio.sleep(0.001)
        for task in state.tasks:
            task.cancel()

    def start(self, timeout: float = 10.0) -> "EmbeddedServer":
        self._thread.start()
        if not self._started.wait(timeout) or self._error is not None:
            raise RuntimeError(f"the embedded pacspace-mock server did not start: {self._error!r}") from self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(timeout=15)
        self._sock.close()

    def __enter__(self) -> "EmbeddedServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

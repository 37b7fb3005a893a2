"""HTTP/1.1 connections with deadlines: uvicorn's h11 protocol, bounded in time.

uvicorn closes a keep-alive connection that stays idle after a reply (`timeout_keep_alive`), but
nothing bounds a connection that is opened and left silent, one that never finishes its request
line and headers (slowloris: a byte now and then), a request body that stops arriving, or a client
that never reads its reply. GuardedH11Protocol adds those deadlines, all of one length, the
server's connection timeout (`serve --timeout`, uvicorn's `timeout_keep_alive`):

* the request line and headers must be complete within the timeout of the connection opening or
  of the previous reply; bytes trickling in do not extend it;
* a request body must make progress: the timeout without a byte while the app waits for one
  closes the connection (the app sees a disconnect, logged by the pipeline as one line);
* after a reply sent before the request body ended (413), the rest is read and dropped for at
  most the timeout;
* a reply the client does not read for the timeout is abandoned.

A connection past a deadline is closed without a reply (there is no request to answer); one that
had sent part of a request is logged in one line. Malformed HTTP (request line, headers, chunk
framing) is answered 400 VALIDATION_ERROR in the contract's envelope instead of uvicorn's text.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

logger = logging.getLogger("pacspace_mock")

DEFAULT_TIMEOUT = 5.0  # seconds: uvicorn's own keep-alive default
MALFORMED = (b'{"success":false,"error":{"code":"VALIDATION_ERROR","message":"The request is not valid HTTP/1.1'
             b' (request line, headers or body framing)"}}')


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the deadlines described above (one timer per connection), and
    TCP_NODELAY on every accepted connection.

    With --workers N, uvicorn binds the listening socket itself as `socket.socket(AF_INET)`
    (proto 0) and hands it to the worker processes; asyncio sets TCP_NODELAY only on sockets
    whose proto is IPPROTO_TCP, so every reply written in two parts (head, then body) waited
    ~40 ms for the client's delayed ACK on a keep-alive connection.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None
        self._phase: str | None = None
        self._write_timer: asyncio.TimerHandle | None = None

    # --- the deadline -------------------------------------------------------------------------------

    def _arm(self, phase: str) -> None:
        self._cancel()
        self._phase = phase
        self._timer = self.loop.call_later(self.timeout_keep_alive, self._expired, phase)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._phase = None, None

    def _track(self) -> None:
        """Which deadline applies now, after h11 has seen the bytes received so far."""
        if self.transport.is_closing():
            self._cancel()
            return
        theirs = self.conn.their_state
        if theirs is h11.SEND_BODY:
            if self.conn.our_state in (h11.DONE, h11.MUST_CLOSE):
                if self._phase != "drain":  # replied already: the rest is dropped, for a bounded time
                    self._arm("drain")
            else:
                self._arm("body")  # progress moves the deadline
        elif theirs is h11.IDLE:
            if self._phase != "headers":  # a running header deadline is never extended
                self._arm("headers")
        else:  # the request is complete: the app works on it, no deadline
            self._cancel()

    def _expired(self, phase: str) -> None:
        self._timer, self._phase = None, None
        if self.transport.is_closing():
            return
        if phase == "body" and self.flow.read_paused:
            self._arm("body")  # the app has not read what is buffered yet: not the client's stall
            return
        timeout = self.timeout_keep_alive
        client = "%s:%d" % self.client if self.client else "a client"
        if phase == "headers":
            pending = len(self.conn.trailing_data[0])
            if pending:
                logger.warning("closed the connection of %s: %d bytes of a request line and headers, not complete "
                               "after %ss (connection timeout)", client, pending, timeout)
        elif phase == "body" and self.scope is not None:
            self.scope["pacspace.timed_out"] = timeout  # the pipeline logs the disconnect it sees
        self.transport.close()

    # --- uvicorn's hooks ----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
        self._arm("headers")

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._track()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._cancel()
        self._track()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_timer is None:
            self._write_timer = self.loop.call_later(self.timeout_keep_alive, self._unread)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None

    def _unread(self) -> None:
        self._write_timer = None
        if not self.transport.is_closing():
            client = "%s:%d" % self.client if self.client else "a client"
            logger.warning("closed the connection of %s: it read nothing of its reply for %ss (connection timeout)",
                           client, self.timeout_keep_alive)
            self.transport.abort()  # close() would wait for the unread reply to drain

    def send_400_response(self, msg: str) -> None:
        """Malformed HTTP: the contract's envelope rather than uvicorn's plain text."""
        try:
            headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(MALFORMED)),
                       (b"connection", b"close")]
            output = self.conn.send(h11.Response(status_code=400, headers=headers, reason=b"Bad Request"))
            output += self.conn.send(h11.Data(data=MALFORMED))
            output += self.conn.send(h11.EndOfMessage())
            self.transport.write(output)
        except h11.LocalProtocolError:  # a reply was already under way: nothing more can be said
            pass
        self.transport.close()

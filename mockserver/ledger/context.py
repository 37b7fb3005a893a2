"""The per-request context the ledger works in: one workspace, one transaction, one instant."""

from __future__ import annotations

import inspect
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from ..runtime import Runtime, Workspace


@dataclass
class Ctx:
    runtime: "Runtime"
    conn: sqlite3.Connection
    ws: "Workspace"  # None only for the global operations (§8.9)
    now: int  # virtual now, ms since the epoch, read once per request (balance-api.md §3.1)
    # public origin for URLs, never ending with "/": a string, or a function that makes it when a
    # reply first needs it (most replies hold no URL)
    origin_of: str | Callable[[], str] = ""

    @property
    def origin(self) -> str:
        if callable(self.origin_of):
            self.origin_of = self.origin_of()
        return self.origin_of

    def next_number(self, kind: str, count: int = 1) -> int:
        return self.runtime.next_number(self.conn, self.ws, kind, count)

    def counted_id(self, kind: str, n: int) -> str:
        return self.runtime.counted_id(self.ws, kind, n)

    def delay_ms(self, setting: str) -> int:
        return int(round(float(self.ws.settings[setting]) * 1000))


@dataclass(frozen=True)
class Outside:
    """Work that must run outside the store lock and any transaction (a webhook POST waits on a
    receiver, which may call back into this server). A handler that needs it is a generator: it
    yields Outside(work) and receives the work's result (see complete)."""

    work: Callable[[], Any]


def complete(ctx: Ctx, result: Any) -> Any:
    """A handler's result, run to its end. A generator handler runs here: at each Outside it
    yields, the transaction so far is committed, the work runs without the lock, and the handler
    resumes in a new transaction with the workspace read again (others may have changed it)."""
    if not inspect.isgenerator(result):
        return result
    value: Any = None
    while True:
        try:
            step = result.send(value)
        except StopIteration as stop:
            return stop.value
        with ctx.runtime.store.released():
            value = step.work()
        ctx.ws = ctx.runtime.load_workspace(ctx.conn, ctx.ws.id)


# A delta's receiptId is its batch's proof hash, read through the batch (never stored twice); a
# column of `SELECT … FROM deltas` for every module that shows deltas.
RECEIPT_ID = "(SELECT proof_hash FROM batches WHERE batches.id = deltas.batch) AS receipt_id"

"""The per-request context the ledger works in: one workspace, one transaction, one instant."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..runtime import Runtime, Workspace


@dataclass
class Ctx:
    runtime: "Runtime"
    conn: sqlite3.Connection
    ws: "Workspace"
    now: int  # virtual now, ms since the epoch, read once per request (balance-api.md §3.1)
    origin: str  # public origin for URLs, never ending with "/"

    def next_number(self, kind: str, count: int = 1) -> int:
        return self.runtime.next_number(self.conn, self.ws, kind, count)

    def counted_id(self, kind: str, n: int) -> str:
        return self.runtime.counted_id(self.ws, kind, n)

    def delay_ms(self, setting: str) -> int:
        return int(round(float(self.ws.settings[setting]) * 1000))

"""The `serve` background task (balance-api.md §7.7 point 1): every 250 ms of wall time, for each
workspace whose webhookDelivery is `auto`, apply due transitions and make every delivery
attempt due at the workspace's virtual now."""

from __future__ import annotations

import json
import threading

from ..ledger.context import Ctx
from ..ledger.lifecycle import apply_due
from ..runtime import Runtime
from . import deliveries

INTERVAL_SECONDS = 0.25


def deliver_due(runtime: Runtime) -> int:
    """One pass over the auto-delivery workspaces; returns the number of attempts made."""
    attempts = 0
    with runtime.store.transaction() as conn:
        ids = [r["id"] for r in conn.execute("SELECT id, settings FROM workspaces")
               if json.loads(r["settings"]).get("webhookDelivery") == "auto"]
    for ws_id in ids:
        with runtime.store.transaction() as conn:
            ws = runtime.load_workspace(conn, ws_id)
            ctx = Ctx(runtime, conn, ws, runtime.read_clock(conn, ws), runtime.config.public_url or "")
            apply_due(ctx)
            while (row := deliveries.next_due(ctx, ctx.now)) is not None:
                deliveries.attempt(ctx, row, manual=False)
                attempts += 1
    return attempts


class BackgroundDelivery:
    def __init__(self, runtime: Runtime, interval: float = INTERVAL_SECONDS):
        self.runtime = runtime
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pacspace-mock-webhooks", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                deliver_due(self.runtime)
            except Exception:  # noqa: BLE001 - keep delivering; one bad pass must not end the task
                continue

    def start(self) -> "BackgroundDelivery":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

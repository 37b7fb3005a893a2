"""The `serve` background task (balance-api.md §7.7 point 1): every 250 ms of wall time, for each
workspace whose webhookDelivery is `auto`, apply due transitions and make every delivery
attempt due at the workspace's virtual now.

Workspaces are served by a small pool of threads, one workspace per thread at a time (§7.7:
a workspace's deliveries go one at a time, in order), so a slow receiver delays only its own
workspace's deliveries. A POST never holds the store lock (ledger.context.complete).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from ..ledger.context import Ctx, complete
from ..ledger.lifecycle import apply_due
from ..runtime import Runtime, parse_settings
from ..store import workspaces
from . import deliveries

INTERVAL_SECONDS = 0.25
MAX_PARALLEL_WORKSPACES = 4
logger = logging.getLogger("pacspace_mock.webhooks")


def auto_workspaces(runtime: Runtime) -> list[int]:
    with runtime.store.transaction() as conn:
        return [ws_id for ws_id, settings in workspaces.all_settings(conn)
                if parse_settings(settings).get("webhookDelivery") == "auto"]


def deliver_workspace(runtime: Runtime, ws_id: int, stopping: threading.Event | None = None) -> int:
    """Apply due transitions and make every attempt due now in one workspace; the number made."""
    with runtime.store.transaction() as conn:
        ws = runtime.load_workspace(conn, ws_id)
        ctx = Ctx(runtime, conn, ws, runtime.read_clock(conn, ws), runtime.config.public_url or "")
        apply_due(ctx)
        return complete(ctx, _attempt_due(ctx, stopping))


def _attempt_due(ctx: Ctx, stopping: threading.Event | None):
    attempts = 0
    if deliveries.captures(ctx):
        return deliveries.capture_due(ctx, ctx.now, stand=False, stopping=stopping.is_set if stopping else None)
    while not (stopping and stopping.is_set()) and (row := deliveries.next_due(ctx, ctx.now)) is not None:
        yield from deliveries.attempt(ctx, row, manual=False)
        attempts += 1
    return attempts


def deliver_due(runtime: Runtime) -> int:
    """One pass over the auto-delivery workspaces, one after the other; the number of attempts."""
    return sum(deliver_workspace(runtime, ws_id) for ws_id in auto_workspaces(runtime))


class BackgroundDelivery:
    def __init__(self, runtime: Runtime, interval: float = INTERVAL_SECONDS):
        self.runtime = runtime
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pacspace-mock-webhooks", daemon=True)
        self._pool = ThreadPoolExecutor(MAX_PARALLEL_WORKSPACES, thread_name_prefix="pacspace-mock-delivery")
        self._busy: set[int] = set()
        self._lock = threading.Lock()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                for ws_id in auto_workspaces(self.runtime):
                    with self._lock:
                        if ws_id in self._busy:
                            continue  # still delivering from an earlier pass (a slow receiver)
                        self._busy.add(ws_id)
                    self._pool.submit(self._deliver, ws_id)
            except Exception:  # noqa: BLE001 - keep delivering; one bad pass must not end the task
                logger.exception("webhook delivery pass failed")

    def _deliver(self, ws_id: int) -> None:
        try:
            deliver_workspace(self.runtime, ws_id, self._stop)
        except Exception:  # noqa: BLE001 - logged; the next pass tries again
            logger.exception("webhook delivery failed in workspace %s", ws_id)
        finally:
            with self._lock:
                self._busy.discard(ws_id)

    def start(self) -> "BackgroundDelivery":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop scheduling; attempts in flight finish (each POST is bounded by its 10 s timeout)."""
        self._stop.set()
        self._thread.join(timeout=15)
        self._pool.shutdown(wait=True, cancel_futures=True)

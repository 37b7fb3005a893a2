"""Sending as a step does: one request (an outbox read in full, page by page), resent after
Retry-After on the retry statuses, waits on the virtual clock (the wall clock on the service),
and the runner's own control-plane calls."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ...operations import operation, path_of
from ..client import Reply
from ..expect import MISSING
from ..model import Step
from . import StepError, seconds_of

if TYPE_CHECKING:
    from ..runner import _Run

DEFAULT_RETRY_STATUSES = (429, 502, 503)


def control(run: _Run, name: str, body: Any = None) -> Any:
    """A control-plane call of the runner's own (setup, clock moves), by operation name."""
    op = operation(name)
    reply = run.client.send(op.method, op.path, body=body if body is not None else MISSING)
    if not reply.succeeded:
        raise StepError(f"{op.method} {op.path} answered {reply.status}: "
                        f"{reply.content[:300].decode('utf-8', 'replace')}")
    return reply.data


def send(run: _Run, request: dict[str, Any]) -> Reply:
    reply = run.client.send(request["method"], request["path"], query=request.get("query"),
                            body=request.get("body", MISSING), raw_body=request.get("raw_body"),
                            auth=request.get("auth", "key"), headers=request.get("headers"))
    if request["path"] == path_of("mock.outbox") and reply.succeeded:
        reply = _outbox_pages(run, request, reply)
    return reply


def _outbox_pages(run: _Run, request: dict[str, Any], first: Reply) -> Reply:
    data = first.data
    entries = list(data["entries"])
    while data["pagination"]["hasMore"]:
        page = run.client.send("GET", request["path"], query={**request["query"], "offset": len(entries)})
        if not page.succeeded:
            return page
        data = page.data
        entries += data["entries"]
    first.envelope = {"success": True, "data": {"entries": entries, "total": len(entries)}}
    return first


def send_with_retry(run: _Run, step: Step, request: dict[str, Any]) -> tuple[Reply, list[dict[str, Any]]]:
    retry = step.retry or {}
    times = int(retry.get("times", 0))
    statuses = tuple(retry.get("statuses") or DEFAULT_RETRY_STATUSES)
    cap = seconds_of(retry["maxWait"]) if "maxWait" in retry else None
    attempts: list[dict[str, Any]] = []
    reply = send(run, request)
    for _ in range(times):
        pending = reply.status == 202 and isinstance(reply.error, dict) and reply.error.get("code") == "IDEMPOTENCY_PENDING"
        if reply.status not in statuses and not pending:
            break
        asked = reply.retry_after()
        wait_for = Decimal(1) if asked is None else asked
        if cap is not None:
            wait_for = min(wait_for, cap)
        error = reply.error if isinstance(reply.error, dict) else {}
        attempts.append({"status": reply.status, "code": error.get("code"), "retryAfterSeconds": asked,
                         "waitedSeconds": wait_for})
        wait(run, wait_for)
        reply = send(run, request)
    return reply, attempts


def wait(run: _Run, seconds: Decimal) -> None:
    """Let time pass: on the mock's virtual clock, or (service) on the wall clock, capped."""
    if seconds <= 0:
        return
    if run.is_mock:
        control(run, "mock.clock_advance", {"seconds": seconds})
    else:
        time.sleep(float(min(seconds, Decimal(str(run.runner.max_wait)))))

"""`expect-webhooks`: assertions on the webhook events in the mock's outbox (count, each, where),
optionally that every delivery attempt carries a signature made with the workspace secret."""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ...operations import path_of
from ..expect import match
from ..model import Step
from . import StepError
from .entries import result_entry
from .send import control, send

if TYPE_CHECKING:
    from ..runner import StepResult, _Run


def expect_webhooks(run: _Run, step: Step, args: dict[str, Any], expect: dict | None, result: StepResult) -> None:
    event = args["event"]
    reply = send(run, {"method": "GET", "path": path_of("mock.outbox"), "query": {"event": event, "limit": 1000}})
    if not reply.succeeded:
        raise StepError(f"reading the outbox answered {reply.status}")
    secrets = None
    if args.get("signed"):
        config = control(run, "mock.webhooks_config")
        secrets = [s for s in (config["secret"], config.get("previousSecret")) if s]
    selected, problems = [], []
    for entry in reply.data["entries"]:
        try:
            envelope = json.loads(entry["body"], parse_float=Decimal)
        except ValueError:
            problems.append(f"{entry['eventId']}: the body is not JSON")
            continue
        view = {k: v for k, v in entry.items() if k not in ("body",)}
        view["data"] = envelope.get("data")
        if "where" in args and match(args["where"], view["data"]):
            continue
        selected.append(view)
        if "each" in args:
            problems += match(args["each"], view, entry["eventId"])
        if secrets is not None:
            problems += signature_problems(entry, secrets)
    n = len(selected)
    where = f" with {args['where']}" if "where" in args else ""
    if "count" in args and n != args["count"]:
        problems.insert(0, f"expected {args['count']} {event} event(s){where}, the outbox holds {n}"
                           + _event_list(reply.data["entries"]))
    if "min" in args and n < args["min"]:
        problems.insert(0, f"expected at least {args['min']} {event} event(s){where}, the outbox holds {n}"
                           + _event_list(reply.data["entries"]))
    if "max" in args and n > args["max"]:
        problems.insert(0, f"expected at most {args['max']} {event} event(s){where}, the outbox holds {n}")
    if not any(k in args for k in ("count", "min", "max")) and n == 0:
        problems.insert(0, f"expected at least one {event} event{where}, the outbox holds none"
                           + _event_list(reply.data["entries"]))
    result.value = {"event": event, "count": n, "deliveries": [
        {k: v[k] for k in ("eventId", "deliveryStatus", "attempts", "lastError", "captured", "data") if k in v}
        for v in selected]}
    if expect and "data" in expect:
        problems += match(expect["data"], result.value, "")
    result.messages, result.outcome = problems, "failed" if problems else "passed"
    result.golden = result_entry(step, run.normalize(result.value))


def signature_problems(entry: dict[str, Any], secrets: list[str]) -> list[str]:
    problems = []
    body = entry["body"].encode("utf-8")
    for attempt in entry.get("attemptLog") or []:
        header, timestamp = attempt.get("signature"), attempt.get("timestamp")
        if not header or not timestamp:
            continue
        sent = {part.strip()[3:] for part in header.split(",") if part.strip().startswith("v1=")}
        wanted = {hmac.new(s.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest() for s in secrets}
        if not sent & wanted:
            problems.append(f"{entry['eventId']}: attempt {attempt.get('attempt')} carries a signature that does "
                            "not match the workspace secret")
    return problems


def _event_list(entries: list[dict[str, Any]]) -> str:
    if not entries:
        return ""
    lines = []
    for entry in entries[:10]:
        try:
            data = json.loads(entry["body"]).get("data", {})
        except ValueError:
            data = {}
        customer = data.get("customerId") or (data.get("delta") or {}).get("customerId") if isinstance(data, dict) else None
        lines.append(f"\n    {entry['eventId']} {entry['event']} {entry['deliveryStatus']} customer={customer}")
    return ":" + "".join(lines)

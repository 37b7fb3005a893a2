"""The control-plane request of each mock-only step (paths from the operation table), and the
fault rule a `fault` step describes."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ...operations import operation
from ..actions import ACTIONS
from ..expect import MISSING
from . import StepError, seconds_of


def control_request(action: str, args: dict[str, Any]) -> dict[str, Any]:
    """The control-plane request of a mock-only step: method, path, body and query."""
    if action == "clock":
        (kind, value), = args.items()
        if kind == "set":
            return _call("mock.clock_set", {"now": value})
        if kind == "advance":
            return _call("mock.clock_advance", {"seconds": seconds_of(value)})
        if kind == "until":
            return _call("mock.clock_advance", {"until": value})
        if kind == "freeze":
            return _call("mock.clock_freeze", {} if value is True else {"at": value})
        return _call("mock.clock_unfreeze", {})
    if action == "clear-faults":
        rule = args.get("ruleId")
        return _call("mock.faults_delete", ruleId=quote(str(rule), safe="")) if rule else _call("mock.faults_clear")
    if action == "fault":
        return _call("mock.faults_create", fault_rule(args))
    if action == "drain":
        return _call("mock.drain", {"force": bool(args.get("force", False))})
    if action == "journal":
        return _call("mock.journal", query=args or None)
    if action == "outbox":
        return _call("mock.outbox", query={**args, "limit": 1000})
    if action in ("settings", "webhook-config"):
        return _call(ACTIONS[action].operation, args)
    if action == "workspace":
        return _call("mock.workspace")
    raise StepError(f"no request for {action}")  # pragma: no cover


def _call(name: str, body: Any = MISSING, query: dict[str, Any] | None = None, **params: str) -> dict[str, Any]:
    op = operation(name)
    return {"method": op.method, "path": op.url(**params), "body": body, "query": query}


def fault_rule(args: dict[str, Any]) -> dict[str, Any]:
    """The contract's rule object from a fault step (full form passed through, shorthand expanded)."""
    if "match" in args:
        return dict(args)
    match_ = {k: args[k] for k in ("method", "route", "path", "customerId", "event") if k in args}
    extras = {k: args[k] for k in ("retryAfterSeconds", "message", "code") if k in args}
    actions: list[dict[str, Any]] = []
    if "latency" in args:
        actions.append({"type": "latency", "ms": args["latency"]})
    for kind in ("error", "rate_limited", "cadence_limit", "commit_then_drop", "fail_verification",
                 "chain_unavailable", "webhook_failure"):
        if kind not in args:
            continue
        value = args[kind]
        action: dict[str, Any] = {"type": kind}
        if kind == "error":
            action["status"] = value
        elif kind in ("rate_limited", "cadence_limit") and value is not True:
            action["retryAfterSeconds"] = value
        elif kind == "commit_then_drop" and value is not True:
            action["status"] = value
        elif kind == "webhook_failure" and value is not True:
            action.update({"timeout": True} if value == "timeout" else {"status": value})
        for name, extra in extras.items():
            if name == "retryAfterSeconds" and "retryAfterSeconds" in action:
                continue
            action[name] = extra
        actions.append(action)
    rule: dict[str, Any] = {"match": match_, "actions": actions}
    for name in ("nth", "times", "probability", "description"):
        if name in args:
            rule[name] = args[name]
    return rule

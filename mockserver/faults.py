"""Fault rules at work (balance-api.md §8.6): which rule fires for a request or a delivery
attempt, deterministically (nth call, times, a seeded probability draw), and what it does.

The rules are created and validated by the control plane (control/faults.py); their rows live in
store/faults.py. The pipeline asks `evaluate` for every journaled request of a workspace that has
rules, and webhook deliveries ask it for every attempt.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError
from .ledger.context import Ctx
from .ledger.deltas import VERIFICATION_FAILED_MESSAGE
from .store import faults as rows

EVENT_TYPES = ("delta.verified", "delta.failed", "checkpoint.verified", "receipt.generated", "customer.created",
               "customer.compare_run")
ERROR_CODES = {402: "INSUFFICIENT_CREDITS", 403: "API_KEY_ENVIRONMENT_HOST_MISMATCH", 412: "CONTRACT_NOT_DEPLOYED",
               500: "INTERNAL_ERROR", 502: "BAD_GATEWAY", 503: "SERVICE_UNAVAILABLE"}
FAIL_VERIFICATION_ROUTES = ("balance.emit", "balance.emit_batch", "balance.checkpoint")
CHAIN_ROUTES = ("public.verify", "page.verify")



@dataclass
class Fired:
    """The rule that fired for a request or an attempt, with its actions."""

    rule_id: str
    actions: list[dict[str, Any]]

    def action(self, kind: str) -> dict[str, Any] | None:
        return next((a for a in self.actions if a["type"] == kind), None)

    def journal(self) -> dict[str, Any]:
        return {"ruleId": self.rule_id, "actions": [a["type"] for a in self.actions]}


@dataclass
class Effects:
    """What fired rules change in a request that still runs: handlers read these, and nothing else."""

    fail_verification: str | None = None  # every delta/checkpoint the request creates becomes FAILED
    chain_unavailable: bool = False  # public verification: chainAvailable false
    latency_ms: int = 0  # wall time the request takes before it executes
    drop: ApiError | None = None  # commit_then_drop: the reply the client gets instead
    fired: Fired | None = field(default=None, repr=False)


def _draw(ctx: Ctx, rule_n: int, matched: int) -> float:
    ws = ctx.ws
    text = f"pacspace-mock:fault:v1|{ws.seed}|{ws.env}|{ws.public_id}|flt_{rule_n}|{matched}"
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") / 2**64


def is_webhook_rule(rule: dict[str, Any]) -> bool:
    return rule["match"]["event"] is not None or any(a["type"] == "webhook_failure" for a in rule["actions"])


def evaluate(ctx: Ctx, *, method: str | None = None, route: str | None = None, path: str | None = None,
             customer_ids: set[str] | None = None, event: str | None = None) -> Fired | None:
    """Count every matching rule; the first (in creation order) that fires applies (§8.6)."""
    fired: Fired | None = None
    for row in rows.rules(ctx.conn, ctx.ws.id):
        rule = json.loads(row["rule"])
        m = rule["match"]
        if is_webhook_rule(rule) != (event is not None):
            continue
        if m["method"] is not None and (method or "").upper() != m["method"]:
            continue
        if m["route"] is not None and route != m["route"]:
            continue
        if m["path"] is not None and (path is None or not fnmatch.fnmatchcase(path, m["path"])):
            continue
        if m["event"] is not None and event != m["event"]:
            continue
        if m["customerId"] is not None and m["customerId"] not in (customer_ids or set()):
            continue
        matched = row["matched"] + 1
        fires = (
            fired is None
            and (rule["nth"] is None or matched in rule["nth"])
            and (rule["times"] is None or row["fired"] < rule["times"])
            and (rule["probability"] is None or _draw(ctx, row["n"], matched) < rule["probability"])
        )
        rows.count(ctx.conn, row["id"], matched, fires)
        if fires:
            fired = Fired(f"flt_{row['n']}", rule["actions"])
    return fired


def answer(fired: Fired, customer_id: str | None) -> ApiError | None:
    """The reply of a rule that answers instead of running the request (nothing runs)."""
    for action in fired.actions:
        kind = action["type"]
        if kind == "rate_limited":
            return ApiError("RATE_LIMITED", action.get("message", "Rate limit exceeded (injected fault)"),
                            retry_after=action["retryAfterSeconds"])
        if kind == "cadence_limit":
            return ApiError("CADENCE_LIMIT", action.get("message", "Submission cadence limit reached (injected fault)"),
                            retry_after=action["retryAfterSeconds"], customer_id=customer_id)
        if kind == "error":
            return ApiError(action["code"], action.get("message", f"Injected {action['status']} fault"),
                            status=action["status"], retry_after=action.get("retryAfterSeconds"))
    return None


NO_EFFECTS = Effects()  # most requests: no rule fired (never changed: a fired rule makes its own)


def effects(fired: Fired | None) -> Effects:
    """What the actions that let the request run change in it."""
    if fired is None:
        return NO_EFFECTS
    out = Effects(fired=fired)
    failing = fired.action("fail_verification")
    if failing is not None:
        out.fail_verification = failing.get("message") or VERIFICATION_FAILED_MESSAGE
    out.chain_unavailable = fired.action("chain_unavailable") is not None
    latency = fired.action("latency")
    out.latency_ms = latency["ms"] if latency else 0
    drop = fired.action("commit_then_drop")
    if drop is not None:
        out.drop = ApiError(ERROR_CODES[drop["status"]],
                            "The request was committed but its reply was lost (injected fault)",
                            status=drop["status"], retry_after=drop.get("retryAfterSeconds"))
    return out

"""Fault rules (balance-api.md §8.6): match requests or webhook attempts, count them, and fire
deterministically (nth call, times, a seeded probability draw), per workspace."""

from __future__ import annotations

import fnmatch
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..errors import ApiError, not_found, validation
from ..ledger.context import Ctx
from ..proofs.primitives import format_ts

ROUTE_NAMES = (
    "balance.emit", "balance.emit_batch", "balance.delta_status", "balance.derive", "balance.compare",
    "balance.checkpoint", "balance.checkpoints_list", "balance.checkpoints_compare", "balance.receipt",
    "balance.invoice_proof", "balance.gaps", "balance.usage", "balance.limits", "balance.customers_list",
    "balance.customers_summary", "balance.customer", "balance.customer_receipts", "balance.receipt_document",
    "public.verify", "public.receipt", "public.receipt_pdf", "balance.webhooks_list", "balance.webhook_retry",
    "dashboard.customers_create", "page.shared_record", "page.receipt", "page.verify",
)
EVENT_TYPES = ("delta.verified", "delta.failed", "checkpoint.verified", "receipt.generated", "customer.created",
               "customer.compare_run")
RESPONSE_ACTIONS = ("rate_limited", "cadence_limit", "error", "commit_then_drop", "fail_verification",
                    "chain_unavailable", "webhook_failure")
ERROR_CODES = {402: "INSUFFICIENT_CREDITS", 403: "API_KEY_ENVIRONMENT_HOST_MISMATCH", 412: "CONTRACT_NOT_DEPLOYED",
               500: "INTERNAL_ERROR", 502: "BAD_GATEWAY", 503: "SERVICE_UNAVAILABLE"}
FAIL_VERIFICATION_ROUTES = ("balance.emit", "balance.emit_batch", "balance.checkpoint")
CHAIN_ROUTES = ("public.verify", "page.verify")
MATCH_MEMBERS = ("method", "route", "path", "customerId", "event")
RULE_MEMBERS = ("match", "nth", "times", "probability", "actions", "description")


def _int(value: Any, name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Decimal) or value != value.to_integral_value():
        raise validation(name, "type", f"{name} must be a whole number")
    if not lo <= value <= hi:
        raise validation(name, "range", f"{name} must be between {lo} and {hi}")
    return int(value)


def _str(value: Any, name: str, max_len: int = 200) -> str:
    if not isinstance(value, str) or not value:
        raise validation(name, "type", f"{name} must be a string of 1-{max_len} characters")
    if len(value) > max_len:
        raise validation(name, "too_long", f"{name} must be at most {max_len} characters")
    return value


def _action(raw: Any, i: int) -> dict[str, Any]:
    where = f"actions[{i}]"
    if not isinstance(raw, dict):
        raise validation(where, "type", f"{where} must be an object")
    kind = raw.get("type")
    allowed = {
        "latency": ("ms",), "rate_limited": ("retryAfterSeconds", "message"),
        "cadence_limit": ("retryAfterSeconds", "message"), "error": ("status", "code", "message", "retryAfterSeconds"),
        "commit_then_drop": ("status", "retryAfterSeconds"), "fail_verification": ("message",),
        "chain_unavailable": (), "webhook_failure": ("status", "timeout"),
    }
    if kind not in allowed:
        raise validation(f"{where}.type", "format", f"{where}.type must be one of {', '.join(allowed)}")
    for name in raw:
        if name != "type" and name not in allowed[kind]:
            raise validation(f"{where}.{name}", "unknown_field", f"{where}.{name} is not a parameter of {kind}")
    out: dict[str, Any] = {"type": kind}
    if kind == "latency":
        out["ms"] = _int(raw.get("ms"), f"{where}.ms", 1, 60_000)
    if kind in ("rate_limited", "cadence_limit"):
        out["retryAfterSeconds"] = _int(raw.get("retryAfterSeconds", Decimal(5 if kind == "rate_limited" else 120)),
                                        f"{where}.retryAfterSeconds", 0, 86_400)
    if kind == "error":
        status = _int(raw.get("status"), f"{where}.status", 400, 599)
        if status not in ERROR_CODES:
            raise validation(f"{where}.status", "range", f"{where}.status must be one of 402, 403, 412, 500, 502, 503")
        out["status"] = status
        out["code"] = _str(raw["code"], f"{where}.code", 64) if "code" in raw else ERROR_CODES[status]
    if kind == "commit_then_drop":
        status = _int(raw.get("status", Decimal(503)), f"{where}.status", 500, 503)
        if status not in (500, 502, 503):
            raise validation(f"{where}.status", "range", f"{where}.status must be 500, 502 or 503")
        out["status"] = status
    if kind in ("error", "commit_then_drop") and "retryAfterSeconds" in raw:
        out["retryAfterSeconds"] = _int(raw["retryAfterSeconds"], f"{where}.retryAfterSeconds", 0, 86_400)
    if "message" in raw:
        out["message"] = _str(raw["message"], f"{where}.message", 500)
    if kind == "webhook_failure":
        if raw.get("timeout") is not None and not isinstance(raw.get("timeout"), bool):
            raise validation(f"{where}.timeout", "type", f"{where}.timeout must be true or false")
        out["timeout"] = bool(raw.get("timeout", False))
        if not out["timeout"]:
            out["status"] = _int(raw.get("status", Decimal(500)), f"{where}.status", 100, 599)
    return out


def validate_rule(body: Any) -> dict[str, Any]:
    """The rule as stored: defaults filled, every member checked (§8.6)."""
    if not isinstance(body, dict):
        raise validation("body", "type", "the rule must be a JSON object")
    for name in body:
        if name not in RULE_MEMBERS:
            raise validation(name, "unknown_field", f"{name} is not a member of a fault rule")
    match_raw = body.get("match")
    if not isinstance(match_raw, dict):
        raise validation("match", "required", "match is required: an object with method, route, path or event")
    for name in match_raw:
        if name not in MATCH_MEMBERS:
            raise validation(f"match.{name}", "unknown_field", f"match.{name} is not a match criterion")
    match = {name: match_raw.get(name) for name in MATCH_MEMBERS}
    for name, value in match.items():
        if value is not None:
            _str(value, f"match.{name}", 2048)
    if match["method"] is not None:
        match["method"] = match["method"].upper()
    if match["route"] is not None and match["route"] not in ROUTE_NAMES:
        raise validation("match.route", "format", f"match.route {match['route']!r} is not a route name")
    if match["event"] is not None and match["event"] not in EVENT_TYPES:
        raise validation("match.event", "format", f"match.event must be one of {', '.join(EVENT_TYPES)}")
    if not any(match[k] is not None for k in ("method", "route", "path", "event")):
        raise validation("match", "required", "match needs at least one of method, route, path or event")
    nth = body.get("nth")
    if nth is not None:
        if not isinstance(nth, list):
            raise validation("nth", "type", "nth must be null or a list of 1-1000 positive integers")
        if not 1 <= len(nth) <= 1000:
            raise validation("nth", "range", "nth must be null or a list of 1-1000 positive integers")
        nth = [_int(v, f"nth[{i}]", 1, 10**12) for i, v in enumerate(nth)]
    times = body.get("times")
    times = None if times is None else _int(times, "times", 1, 10**12)
    probability = body.get("probability")
    if probability is not None:
        if isinstance(probability, bool) or not isinstance(probability, Decimal) or not 0 <= probability <= 1:
            raise validation("probability", "range", "probability must be null or a number in [0, 1]")
        probability = float(probability)
    actions_raw = body.get("actions")
    if not isinstance(actions_raw, list) or not 1 <= len(actions_raw) <= 2:
        raise validation("actions", "required", "actions: actions must list one action, or latency plus one other")
    actions = [_action(a, i) for i, a in enumerate(actions_raw)]
    kinds = [a["type"] for a in actions]
    if len(actions) == 2 and kinds.count("latency") != 1:
        raise validation("actions", "conflict", "actions: only latency may accompany another action")
    response = [k for k in kinds if k != "latency"]
    webhook_rule = match["event"] is not None or "webhook_failure" in kinds
    if webhook_rule and (response != ["webhook_failure"] or "latency" in kinds):
        raise validation("actions", "not_allowed", "actions: a webhook rule (match.event or webhook_failure) takes only webhook_failure")
    if match["event"] is None and "webhook_failure" in kinds and match["route"] is not None:
        raise validation("actions", "not_allowed", "actions: webhook_failure applies to webhook attempts, not to routes")
    if "fail_verification" in kinds and match["route"] not in FAIL_VERIFICATION_ROUTES:
        raise validation("actions", "not_allowed",
                         "actions: fail_verification needs match.route balance.emit, balance.emit_batch or balance.checkpoint")
    if "chain_unavailable" in kinds and match["route"] not in CHAIN_ROUTES:
        raise validation("actions", "not_allowed", "actions: chain_unavailable needs match.route public.verify or page.verify")
    description = body.get("description")
    if description is not None:
        description = _str(description, "description", 200)
    return {"match": match, "nth": nth, "times": times, "probability": probability, "actions": actions,
            "description": description}


def _rule_object(row) -> dict[str, Any]:
    rule = json.loads(row["rule"])
    return {"ruleId": f"flt_{row['n']}", **rule, "matched": row["matched"], "fired": row["fired"],
            "createdAt": format_ts(row["created_ms"])}


def create_rule(ctx: Ctx, body: Any) -> dict[str, Any]:
    rule = validate_rule(body)
    n = ctx.next_number("flt")
    ctx.conn.execute(
        "INSERT INTO fault_rules (ws, n, rule, matched, fired, created_ms) VALUES (?, ?, ?, 0, 0, ?)",
        (ctx.ws.id, n, json.dumps(rule), ctx.now),
    )
    return _rule_object(ctx.conn.execute("SELECT * FROM fault_rules WHERE ws = ? AND n = ?", (ctx.ws.id, n)).fetchone())


def list_rules(ctx: Ctx) -> dict[str, Any]:
    rows = ctx.conn.execute("SELECT * FROM fault_rules WHERE ws = ? ORDER BY n", (ctx.ws.id,)).fetchall()
    return {"rules": [_rule_object(r) for r in rows]}


def delete_rule(ctx: Ctx, rule_id: str) -> dict[str, Any]:
    n = rule_id[4:] if rule_id.startswith("flt_") else ""
    cur = ctx.conn.execute("DELETE FROM fault_rules WHERE ws = ? AND n = ?", (ctx.ws.id, int(n) if n.isdigit() else -1))
    if not cur.rowcount:
        raise not_found(f"Fault rule {rule_id!r}")
    return {"deleted": rule_id}


def clear_rules(ctx: Ctx) -> dict[str, Any]:
    return {"cleared": ctx.conn.execute("DELETE FROM fault_rules WHERE ws = ?", (ctx.ws.id,)).rowcount}


@dataclass
class Fired:
    rule_id: str
    actions: list[dict[str, Any]]
    kinds: list[str] = field(default_factory=list)

    def action(self, kind: str) -> dict[str, Any] | None:
        return next((a for a in self.actions if a["type"] == kind), None)

    def journal(self) -> dict[str, Any]:
        return {"ruleId": self.rule_id, "actions": [a["type"] for a in self.actions]}


def _draw(ctx: Ctx, rule_n: int, matched: int) -> float:
    ws = ctx.ws
    text = f"pacspace-mock:fault:v1|{ws.seed}|{ws.env}|{ws.public_id}|flt_{rule_n}|{matched}"
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") / 2**64


def evaluate(ctx: Ctx, *, method: str | None = None, route: str | None = None, path: str | None = None,
             customer_ids: set[str] | None = None, event: str | None = None) -> Fired | None:
    """Count every matching rule; the first (in creation order) that fires applies (§8.6)."""
    fired: Fired | None = None
    for row in ctx.conn.execute("SELECT * FROM fault_rules WHERE ws = ? ORDER BY n", (ctx.ws.id,)).fetchall():
        rule = json.loads(row["rule"])
        m = rule["match"]
        webhook_rule = m["event"] is not None or any(a["type"] == "webhook_failure" for a in rule["actions"])
        if webhook_rule != (event is not None):
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
        ctx.conn.execute("UPDATE fault_rules SET matched = ?, fired = fired + ? WHERE id = ?",
                         (matched, int(fires), row["id"]))
        if fires:
            fired = Fired(f"flt_{row['n']}", rule["actions"])
    return fired


def error_for(fired: Fired, customer_id: str | None) -> ApiError | None:
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


def drop_error(fired: Fired) -> ApiError | None:
    action = fired.action("commit_then_drop")
    if action is None:
        return None
    return ApiError(ERROR_CODES[action["status"]], "The request was committed but its reply was lost (injected fault)",
                    status=action["status"], retry_after=action.get("retryAfterSeconds"))

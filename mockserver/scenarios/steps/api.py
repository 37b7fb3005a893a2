"""A step that is one HTTP request: an API call of the catalog, `request`, or a control-plane
step. The request is planned from the step catalog (actions.py, from the operation table), sent
with retry and poll, checked against `expect`, and recorded as the step's golden entry."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ...operations import operation
from .. import golden as goldens
from ..actions import ACTIONS
from ..client import Reply, query_string
from ..expect import MISSING, match
from ..model import Step
from ..refs import as_text
from . import StepError, seconds_of
from .control import control_request
from .entries import entry, picked
from .send import send_with_retry, wait

if TYPE_CHECKING:
    from ..runner import StepResult, _Run


def http_step(run: _Run, step: Step, args: Any, expect: dict | None, result: StepResult) -> None:
    request = plan_request(run, step, args)
    poll = run.sub(step.poll) if step.poll else None
    reply, attempts = send_with_retry(run, step, request)
    polls = 0
    if poll:
        every, limit = seconds_of(poll.get("every", 1)), seconds_of(poll.get("timeout", 60))
        waited = Decimal(0)
        while match(poll["until"], reply.data):
            if waited + every > limit:
                break
            wait(run, every)
            waited += every
            polls += 1
            reply, more = send_with_retry(run, step, request)
            attempts += more
    result.status = reply.status
    result.value = reply.value
    if step.name:
        run.raw[step.name] = reply.content
    if step.action == "settings" and reply.succeeded and reply.data.get("webhookTimestampClock") == "wall":
        run.normalize.wall_signatures = True  # sticky: attempts made in wall mode stay in the outbox
    problems = check_reply(reply, expect)
    if poll and match(poll["until"], reply.data):
        problems.insert(0, f"poll: the condition was still not met after {polls} repetition(s) "
                           f"({poll.get('timeout', 60)} s)")
    result.messages, result.outcome = problems, "failed" if problems else "passed"
    record = entry(step, request=request_record(request), status=reply.status)
    if attempts:
        record["attempts"] = attempts
    if polls:
        record["polls"] = polls
    headers = reply.recorded_headers()
    if headers:
        record["headers"] = headers
    record.update(golden_value(run, step, reply))
    result.golden = record


def plan_request(run: _Run, step: Step, args: Any) -> dict[str, Any]:
    action = step.action
    args = dict(args) if isinstance(args, dict) else ({} if args is None else args)
    headers = {str(k): str(v) for k, v in run.sub(step.headers).items()} if step.headers else {}
    if step.idempotency_key:
        headers["Idempotency-Key"] = str(run.sub(step.idempotency_key))
    plan: dict[str, Any] = {"method": None, "path": None, "query": None, "body": MISSING, "raw_body": None,
                            "auth": "key", "headers": headers}
    spec = ACTIONS[action]
    if action == "request":
        plan.update(method=args["method"], path=args["path"], query=args.get("query"),
                    body=args.get("body", MISSING), raw_body=args.get("rawBody"), auth=args.get("auth", "key"))
        plan["headers"] = {**{str(k): str(v) for k, v in (args.get("headers") or {}).items()}, **headers}
        return plan
    if spec.kind == "api":
        params = {}
        for name in spec.path_params:
            if name not in args:
                raise StepError(f"{action} needs {name}")
            params[name] = quote(as_text(args.pop(name)), safe="")
        op = operation(spec.operation)
        if action == "public-receipt" and args.pop("pdf", False):
            op = operation("public.receipt_pdf")
        plan.update(method=op.method, path=op.url(**params), auth=spec.auth)
        if spec.body:
            plan["body"] = args
        else:
            plan["query"] = args or None
        return plan
    plan.update(control_request(action, args))
    return plan


def request_record(request: dict[str, Any]) -> dict[str, Any]:
    record = {"method": request["method"], "path": request["path"] + query_string(request.get("query"))}
    if request.get("body", MISSING) is not MISSING:
        record["body"] = request["body"]
    if request.get("raw_body") is not None:
        record["rawBody"] = request["raw_body"]
    return record


def golden_value(run: _Run, step: Step, reply: Reply) -> dict[str, Any]:
    if step.golden is False:
        return {"golden": False}
    if reply.error is not MISSING:
        return {"error": reply.error}
    value = run.normalize(reply.data if reply.data is not MISSING else reply.value)
    if step.action == "workspace" and isinstance(value, dict) and "createdAt" in value:
        value = {**value, "createdAt": goldens.WALL}
    if isinstance(step.golden, list):
        return {"data": picked(step.golden, value)}
    return {"data": value}


def check_reply(reply: Reply, expect: dict[str, Any] | None) -> list[str]:
    expect = expect or {}
    problems: list[str] = []
    status = expect.get("status")
    if status is not None:
        allowed = status if isinstance(status, list) else [status]
        if reply.status not in allowed:
            problems.append(f"status: expected {' or '.join(map(str, allowed))}, got {reply.status}{_brief(reply)}")
    elif "error" in expect:
        if 200 <= reply.status < 300:
            problems.append(f"status: expected an error reply, got {reply.status}")
    elif not reply.succeeded:
        problems.append(f"status: expected success, got {reply.status}{_brief(reply)}")
    if "data" in expect:  # a non-JSON reply (PDF) is matched through its summary (contentType, size, sha256)
        problems += match(expect["data"], reply.data if reply.json else reply.value, "data")
    if "error" in expect:
        problems += match(expect["error"], reply.error, "error")
    for name, want in (expect.get("headers") or {}).items():
        got = reply.headers.get(name, MISSING)
        problems += match(want, got, f"header {name}")
    return problems


def _brief(reply: Reply) -> str:
    error = reply.error
    if isinstance(error, dict):
        return f" ({error.get('code')}: {error.get('message')})"
    return ""

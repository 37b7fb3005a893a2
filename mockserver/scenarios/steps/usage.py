"""`generate`: the usage plan of ..generate sent as daily batches (the clock set to each flush on
the mock), with a checkpoint at each month-end; and the progress units a replay reports."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ...proofs.primitives import format_ts
from ..expect import match
from ..generate import UsagePlan, UsageSummary, plan_usage
from ..model import Scenario, Step
from . import StepError
from .entries import result_entry
from .send import control, send_with_retry

if TYPE_CHECKING:
    from ..runner import StepResult, _Run


def generate(run: _Run, step: Step, args: dict[str, Any], expect: dict | None, result: StepResult) -> None:
    try:
        plan = plan_usage(args, run.seed, stream(run.scenario, step))
    except (ValueError, KeyError) as exc:
        raise StepError(f"generate: {exc}") from None
    run.plans[step.index] = plan
    summary = UsageSummary(plan.customers, plan.display_names, args["from"], "")
    size = int(args.get("batchSize", 100))
    if args.get("createCustomers"):
        for customer in plan.customers:
            body = {"customerId": customer, "displayName": plan.display_names.get(customer, customer)}
            reply = run.client.send("POST", "/dashboard/customers", body=body, auth="dashboard")
            if not reply.succeeded and not (reply.status == 409 and isinstance(reply.error, dict)):
                raise StepError(f"generate: creating {customer} answered {reply.status}")
    last_date = args["from"]
    for flush in plan.flushes():
        last_date = flush.date
        if run.is_mock:
            control(run, "mock.clock_set", {"now": format_ts(flush.at_ms)})
        for k in range(0, len(flush.items), size):
            items = flush.items[k:k + size]
            key = f"generate:{run.scenario.name}:{step.name or step.index}:{flush.date}:{k // size}"
            request = {"method": "POST", "path": "/api/v1/balance/delta/batch", "body": {"deltas": items},
                       "headers": {"Idempotency-Key": key[:255]}}
            reply, _ = send_with_retry(run, step, request)
            if not reply.succeeded:
                raise StepError(f"generate: the batch of {flush.date} (items {k + 1}-{k + len(items)}) answered "
                                f"{reply.status}: {reply.content[:300].decode('utf-8', 'replace')}")
            summary.batches += 1
            summary.add_items(items, reply.data["results"], flush.date[:7])
            summary.last_receipt_id = reply.data.get("receiptId") or summary.last_receipt_id
        run.report(1)
        if flush.month_end:
            period, at_ms = flush.month_end
            if run.is_mock:
                control(run, "mock.clock_set", {"now": format_ts(at_ms)})
            request = {"method": "POST", "path": "/api/v1/balance/checkpoint", "body": {"period": period}}
            reply, _ = send_with_retry(run, step, request)
            if not reply.succeeded:
                raise StepError(f"generate: the month-end checkpoint of {period} answered {reply.status}: "
                                f"{reply.content[:300].decode('utf-8', 'replace')}")
            summary.checkpoint_calls += 1
            summary.checkpoints_created += int(reply.data.get("createdCount", 0))
            run.report(1)
    summary.last = last_date
    result.value = summary.as_value()
    problems = match(expect["data"], result.value, "") if expect and "data" in expect else []
    if summary.failed and not (expect and "data" in expect):
        problems.append(f"{summary.failed} generated delta(s) failed, e.g. {summary.failures[:3]}")
    result.messages, result.outcome = problems, "failed" if problems else "passed"
    value = dict(result.value)
    if len(plan.customers) > 50:  # keep goldens readable: per-customer figures only for small runs
        for name in ("totals", "byPeriod", "customerIds", "displayNames"):
            value[name] = f"<{len(plan.customers)} customers>"
    result.golden = result_entry(step, run.normalize(value))


def stream(scenario: Scenario, step: Step) -> str:
    """The generator's random stream of a step: fixed per scenario and step."""
    return f"{scenario.name}|{step.name or step.index}"


def units_of(step: Step, plan: UsagePlan | None = None) -> int:
    """Progress units of a step: one, or one per generated day and month-end checkpoint."""
    if step.action == "generate" and plan is not None:
        return plan.days + plan.months()
    return 1


def scenario_units(scenario: Scenario) -> int:
    total = 0
    for step in scenario.steps:
        if step.action == "generate" and "${" not in json.dumps(step.args, default=str):
            try:
                total += units_of(step, plan_usage(step.args, scenario.seed, stream(scenario, step)))
                continue
            except (ValueError, KeyError):
                pass
        total += 1
    return total

"""Handlers of the Balance API, public and dashboard routes: each gets the validated request
(pipeline.Call) and makes one ledger call. No SQL and no business rules here."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ..errors import not_found
from ..ledger import checkpoints, customers, deltas, derive as balances, gaps as sequence, receipts, verify
from ..ledger.context import Ctx
from ..ledger.scope import resolve_scope
from ..pipeline import Call, Outcome
from ..webhooks import deliveries

LIMITS = {"maxBatchSize": 100, "maxDeltaMagnitude": 1_000_000_000, "maxDeltaSignificantDigits": 15, "maxPageSize": 1000}


# --- deltas ---------------------------------------------------------------------------------------

def emit(ctx: Ctx, call: Call) -> Outcome:
    item = call.body.model_dump()
    deltas.check_adjust_targets(ctx, [item], batch=False)
    outcome, = deltas.plan_items(ctx, [item])
    if outcome.kind == "failed":
        raise outcome.error
    if outcome.kind == "replay":  # journaled as idempotentReplay (§8.7)
        return Outcome({**deltas.delta_object(outcome.row), "idempotent": True}, status=200, replay=True)
    deltas.record_new(ctx, [outcome], fail_message=call.effects.fail_verification)
    deltas.fetch_recorded(ctx, [outcome])
    return Outcome({**deltas.delta_object(outcome.row), "idempotent": False})


def emit_batch(ctx: Ctx, call: Call) -> Outcome:
    items = [m.model_dump() for m in call.body.deltas]
    deltas.check_adjust_targets(ctx, items, batch=True)
    outcomes = deltas.plan_items(ctx, items)
    batch = deltas.record_new(ctx, outcomes, fail_message=call.effects.fail_verification)
    deltas.fetch_recorded(ctx, outcomes)
    reply = deltas.batch_reply(outcomes, batch)
    recorded, replayed = reply["totalRecorded"], reply["totalReplayed"]
    return Outcome(reply, status=201 if recorded else 200, replay=replayed == len(outcomes))  # all replays (§8.7)


def delta_status(ctx: Ctx, call: Call) -> dict[str, Any]:
    row = deltas.get_delta(ctx, call.path["recordId"])
    if row is None:
        raise not_found(f"Record {call.path['recordId']!r}")
    return deltas.delta_object(row)


# --- balances -------------------------------------------------------------------------------------

def derive(ctx: Ctx, call: Call) -> dict[str, Any]:
    q = call.query
    scope = resolve_scope(ctx, q, allow_checkpoint=True)
    return balances.derive_balance(ctx, call.path["customerId"], scope, q.startingBalance, q.granularity, q.limit,
                                   q.offset)


def compare(ctx: Ctx, call: Call) -> dict[str, Any]:
    b = call.body
    scope = resolve_scope(ctx, b, allow_checkpoint=True)
    return balances.compare_balances(ctx, b.customerId, scope, b.yourBalance, b.theirBalance, b.startingBalance,
                                     b.granularity, b.yourBreakdown, b.theirBreakdown)


# --- checkpoints ----------------------------------------------------------------------------------

def checkpoint(ctx: Ctx, call: Call) -> Outcome:
    b = call.body
    scope = resolve_scope(ctx, b, checkpoint_route=True)
    reply, created = checkpoints.commit_for_request(ctx, b.customerId, scope, b.mode or "all", b.fingerprints,
                                                    call.effects.fail_verification)
    return Outcome(reply, status=201 if created else 200)


def list_checkpoints(ctx: Ctx, call: Call) -> dict[str, Any]:
    q = call.query
    scope = resolve_scope(ctx, q) if q.has_scope() else None
    return checkpoints.list_checkpoints(ctx, q.customerId, scope, q.limit, q.offset)


def compare_checkpoints(ctx: Ctx, call: Call) -> dict[str, Any]:
    q = call.query
    return checkpoints.compare_checkpoints(ctx, q.customerId, q.from_, q.to)


# --- receipts -------------------------------------------------------------------------------------

def receipt(ctx: Ctx, call: Call) -> dict[str, Any]:
    q, customer_id = call.query, call.path["customerId"]
    if q.has_scope():
        return receipts.scoped_receipt(ctx, customer_id, resolve_scope(ctx, q), q.limit, q.offset)
    return receipts.all_time_receipt(ctx, customer_id, q.limit, q.offset)


def invoice_proof(ctx: Ctx, call: Call) -> dict[str, Any]:
    q = call.query
    return receipts.scoped_receipt(ctx, call.path["customerId"], resolve_scope(ctx, q), q.limit, q.offset)


def customer_receipts(ctx: Ctx, call: Call) -> dict[str, Any]:
    return receipts.customer_receipts(ctx, call.path["customerId"], call.query.limit, call.query.offset)


def receipt_document(ctx: Ctx, call: Call) -> dict[str, Any]:
    q = call.query
    return receipts.receipt_document(ctx, call.path["receiptId"], q.limit, q.offset, locale=q.locale,
                                     timezone=q.timezone, unit=q.unit, show_name=q.customerDisplayName)


# --- customers, usage, gaps, limits ----------------------------------------------------------------

def usage(ctx: Ctx, call: Call) -> dict[str, Any]:
    return deltas.usage_object(ctx, ctx.now)


def limits(ctx: Ctx, call: Call) -> dict[str, Any]:
    configured = ctx.ws.settings["limits"]
    return {
        "maxScopeMonths": configured["maxScopeMonths"],
        "maxLastNDays": configured["maxLastNDays"],
        "maxRetentionDays": configured["maxRetentionDays"],
        **LIMITS,
    }


def gaps(ctx: Ctx, call: Call) -> dict[str, Any]:
    q = call.query
    return sequence.sequence_gaps(ctx, call.path["customerId"], q.fromSequence, q.toSequence, q.limit)


def customers_list(ctx: Ctx, call: Call) -> dict[str, Any]:
    q = call.query
    return customers.list_customers(ctx, q.search, q.limit, q.page)


def customers_summary(ctx: Ctx, call: Call) -> dict[str, Any]:
    return customers.customers_summary(ctx)


def customer_detail(ctx: Ctx, call: Call) -> dict[str, Any]:
    q = call.query
    return customers.customer_detail(ctx, call.path["customerId"], q.deltaPage, q.deltaLimit, q.period)


def dashboard_create_customer(ctx: Ctx, call: Call) -> dict[str, Any]:
    return customers.create_dashboard_customer(ctx, call.body.model_dump())


# --- webhooks -------------------------------------------------------------------------------------

def webhooks_list(ctx: Ctx, call: Call) -> dict[str, Any]:
    q = call.query
    return deliveries.list_deliveries(ctx, q.status, q.limit, q.offset)


def webhook_retry(ctx: Ctx, call: Call):
    return (yield from deliveries.retry_delivery(ctx, call.path["eventId"]))


# --- public ---------------------------------------------------------------------------------------

def public_verify(ctx: Ctx, call: Call) -> dict[str, Any]:
    q = call.query
    return verify.verify_root_of(ctx, call.path["root"], q.source, q.limit, q.offset,
                                 chain_available=not call.effects.chain_unavailable)


def public_receipt(ctx: Ctx, call: Call) -> dict[str, Any]:
    chk = checkpoints.get_checkpoint_by_id(ctx, call.path["receiptId"])
    return receipts.document_receipt(ctx, chk, call.query.limit, call.query.offset, public=True)


def public_receipt_pdf(ctx: Ctx, call: Call) -> Response:
    from ..pages.pdf import receipt_pdf

    chk = checkpoints.get_checkpoint_by_id(ctx, call.path["receiptId"])
    doc = receipts.document_receipt(ctx, chk, 1000, 0, public=True)
    return Response(receipt_pdf(doc), media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{chk["checkpoint_id"]}.pdf"'})


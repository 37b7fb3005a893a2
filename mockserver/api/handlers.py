"""Thin handlers: validate the call, make one ledger call, choose the status. No business rules here."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import not_found, validation
from ..ledger import checkpoints, customers, deltas, derive, gaps, receipts, verify
from ..ledger.context import Ctx
from ..ledger.scope import HASH_INPUT_RE, PERIOD_RE, resolve_scope
from ..proofs.primitives import canonical_decimal
from ..paging import int_param
from .http import Call
from .schemas import (
    BatchBody,
    CheckpointBody,
    CompareBody,
    DashboardCustomerBody,
    EmitBody,
    EmptyBody,
    amount_problem,
    customer_id_problem,
    validate_body,
)

AMOUNT_QUERY_RE = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?\Z")
SCOPE_QUERY = ("period", "timePreset", "startDate", "endDate")
LIMITS = {"maxBatchSize": 100, "maxDeltaMagnitude": 1_000_000_000, "maxDeltaSignificantDigits": 15, "maxPageSize": 1000}


# --- query helpers --------------------------------------------------------------------------------

def q_int(call: Call, name: str, default: int | None, lo: int, hi: int) -> int | None:
    return int_param(call.query, name, default, lo, hi)


def q_amount(call: Call, name: str) -> Decimal:
    value = call.query.get(name)
    if value is None:
        return Decimal(0)
    if not AMOUNT_QUERY_RE.match(value):
        raise validation(name, "type", f"{name} must be a decimal number")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise validation(name, "type", f"{name} must be a decimal number") from None
    problem = amount_problem(number) if abs(number.adjusted()) < 10_000 else "{field} is out of range"
    if problem:
        raise validation(name, "range", problem.format(field=name))
    return Decimal(canonical_decimal(number))


def q_enum(call: Call, name: str, allowed: tuple[str, ...], lower: bool = False) -> str | None:
    value = call.query.get(name)
    if value is None:
        return None
    check = value.lower() if lower else value
    if check not in allowed:
        raise validation(name, "format", f"{name} must be one of {', '.join(allowed)}")
    return check


def q_bool(call: Call, name: str) -> bool:
    value = call.query.get(name)
    if value is None:
        return False
    if value not in ("true", "false"):
        raise validation(name, "type", f"{name} must be true or false")
    return value == "true"


def path_customer(call: Call) -> str:
    customer_id = call.path["customerId"]
    problem = customer_id_problem(customer_id)
    if problem:
        raise validation("customerId", problem[0], problem[1])
    return customer_id


def page(call: Call, default_limit: int, max_limit: int) -> tuple[int, int]:
    return q_int(call, "limit", default_limit, 1, max_limit), q_int(call, "offset", 0, 0, 1_000_000_000)


# --- deltas ---------------------------------------------------------------------------------------

def emit(ctx: Ctx, call: Call) -> dict[str, Any]:
    item = validate_body(EmitBody, call.body).model_dump()
    deltas.check_adjust_targets(ctx, [item], batch=False)
    outcome, = deltas.plan_items(ctx, [item])
    if outcome.kind == "failed":
        raise outcome.error
    if outcome.kind == "replay":
        call.request.state.replay = True  # journaled as idempotentReplay (§8.7)
        return {**deltas.delta_object(outcome.row), "idempotent": True}
    deltas.record_new(ctx, [outcome], fail_message=getattr(call.request.state, "fail_verification", None))
    deltas.fetch_recorded(ctx, [outcome])
    call.status = 201
    return {**deltas.delta_object(outcome.row), "idempotent": False}


def emit_batch(ctx: Ctx, call: Call) -> dict[str, Any]:
    items = [m.model_dump() for m in validate_body(BatchBody, call.body).deltas]
    deltas.check_adjust_targets(ctx, items, batch=True)
    outcomes = deltas.plan_items(ctx, items)
    batch = deltas.record_new(ctx, outcomes, fail_message=getattr(call.request.state, "fail_verification", None))
    deltas.fetch_recorded(ctx, outcomes)
    results = []
    recorded = replayed = failed = 0
    for o in outcomes:
        if o.kind == "failed":
            failed += 1
            results.append({
                "index": o.index, "status": "FAILED", "customerId": o.item["customerId"], "delta": o.item["delta"],
                "referenceId": o.item.get("referenceId"), "recordId": None, "receiptId": None,
                "sequenceNumber": None, "idempotent": False, "error": o.error.code, "message": o.error.message,
            })
            continue
        row = o.row
        is_replay = o.kind == "replay"
        recorded += not is_replay
        replayed += is_replay
        results.append({
            "index": o.index, "status": row["status"], "customerId": row["customer_id"], "delta": Decimal(row["amount"]),
            "referenceId": row["reference_id"], "recordId": row["record_id"], "receiptId": row["receipt_id"],
            "sequenceNumber": str(row["sequence"]), "idempotent": is_replay, "error": None, "message": None,
        })
    call.status = 201 if recorded else 200
    call.request.state.replay = replayed == len(outcomes)  # a batch of replays only (§8.7)
    return {
        "totalQueued": recorded + replayed,
        "totalFailed": failed,
        "totalRecorded": recorded,
        "totalReplayed": replayed,
        "receiptId": batch["receiptId"] if batch else None,
        "batchSequence": batch["batchSequence"] if batch else None,
        "results": results,
        "_efficiency": {"items": len(outcomes), "recorded": recorded, "replayed": replayed, "failed": failed},
    }


def delta_status(ctx: Ctx, call: Call) -> dict[str, Any]:
    row = deltas.get_delta(ctx, call.path["recordId"])
    if row is None:
        raise not_found(f"Record {call.path['recordId']!r}")
    return deltas.delta_object(row)


# --- balances -------------------------------------------------------------------------------------

def derive_route(ctx: Ctx, call: Call) -> dict[str, Any]:
    customer_id = path_customer(call)
    scope = resolve_scope(ctx, call.query, allow_checkpoint=True)
    starting = q_amount(call, "startingBalance")
    granularity = q_enum(call, "granularity", ("day", "week", "month"))
    limit, offset = page(call, 100, 1000)
    return derive.derive_balance(ctx, customer_id, scope, starting, granularity, limit, offset)


def compare(ctx: Ctx, call: Call) -> dict[str, Any]:
    b = validate_body(CompareBody, call.body)
    scope = resolve_scope(ctx, call.body, allow_checkpoint=True)
    call.status = 201
    return derive.compare_balances(ctx, b.customerId, scope, b.yourBalance, b.theirBalance, b.startingBalance,
                                   b.granularity, b.yourBreakdown, b.theirBreakdown)


# --- checkpoints ----------------------------------------------------------------------------------

def checkpoint(ctx: Ctx, call: Call) -> dict[str, Any]:
    b = validate_body(CheckpointBody, call.body)
    mode = b.mode or "all"
    if b.fingerprints is not None and mode != "selected":
        raise validation("fingerprints", "not_allowed", "fingerprints are allowed only with mode=selected")
    if mode == "selected":
        if b.customerId is None:
            raise validation("customerId", "required", "mode=selected needs customerId")
        if b.fingerprints is None:
            raise validation("fingerprints", "required", "mode=selected needs fingerprints")
        seen = set()
        for i, fp in enumerate(b.fingerprints):
            if fp in seen:
                raise validation(f"fingerprints[{i}]", "conflict", f"fingerprints[{i}] is listed twice")
            seen.add(fp)
    scope = resolve_scope(ctx, call.body, checkpoint_route=True)
    reply, created = checkpoints.commit_for_request(
        ctx, b.customerId, scope, mode, b.fingerprints, getattr(call.request.state, "fail_verification", None)
    )
    call.status = 201 if created else 200
    return reply


def list_checkpoints(ctx: Ctx, call: Call) -> dict[str, Any]:
    customer_id = call.query.get("customerId")
    if customer_id is not None:
        problem = customer_id_problem(customer_id)
        if problem:
            raise validation("customerId", problem[0], problem[1])
    scope = resolve_scope(ctx, call.query) if any(k in call.query for k in SCOPE_QUERY) else None
    limit, offset = page(call, 20, 100)
    return checkpoints.list_checkpoints(ctx, customer_id, scope, limit, offset)


def compare_checkpoints(ctx: Ctx, call: Call) -> dict[str, Any]:
    for name in ("customerId", "from", "to"):
        if name not in call.query:
            raise validation(name, "required", f"{name} is required")
    problem = customer_id_problem(call.query["customerId"])
    if problem:
        raise validation("customerId", problem[0], problem[1])
    return checkpoints.compare_checkpoints(ctx, call.query["customerId"], call.query["from"], call.query["to"])


# --- receipts -------------------------------------------------------------------------------------

def receipt(ctx: Ctx, call: Call) -> dict[str, Any]:
    customer_id = path_customer(call)
    limit, offset = page(call, 1000, 1000)
    if any(k in call.query for k in SCOPE_QUERY):
        scope = resolve_scope(ctx, call.query)
        return receipts.scoped_receipt(ctx, customer_id, scope, limit, offset)
    customers.require_customer(ctx, customer_id)
    return receipts.all_time_receipt(ctx, customer_id, limit, offset)


def invoice_proof(ctx: Ctx, call: Call) -> dict[str, Any]:
    customer_id = path_customer(call)
    scope = resolve_scope(ctx, call.query)
    limit, offset = page(call, 1000, 1000)
    return receipts.scoped_receipt(ctx, customer_id, scope, limit, offset)


def customer_receipts(ctx: Ctx, call: Call) -> dict[str, Any]:
    customer_id = path_customer(call)
    limit, offset = page(call, 25, 100)
    return receipts.customer_receipts(ctx, customer_id, limit, offset)


LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*\Z")


def receipt_document(ctx: Ctx, call: Call) -> dict[str, Any]:
    show_name = q_bool(call, "customerDisplayName")
    locale = call.query.get("locale", "en-US")
    if not LOCALE_RE.match(locale):
        raise validation("locale", "format", "locale must be a language tag such as en-US")
    zone_name = call.query.get("timezone", "UTC")
    try:
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(zone_name)
    except Exception:
        raise validation("timezone", "format", f"timezone {zone_name!r} is not an IANA zone known to the server") from None
    unit = call.query.get("unit")
    if unit is not None and len(unit) > 32:
        raise validation("unit", "too_long", "unit must be at most 32 characters")
    limit, offset = page(call, 1000, 1000)
    chk = checkpoints.get_checkpoint_by_id(ctx, call.path["receiptId"])
    doc = receipts.document_receipt(ctx, chk, limit, offset, public=False)
    customer = ctx.conn.execute("SELECT * FROM customers WHERE id = ?", (chk["customer"],)).fetchone()
    from datetime import datetime, timezone

    local = datetime.fromtimestamp(ctx.now / 1000, tz=timezone.utc).astimezone(zone)
    stamp = local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ctx.now % 1000:03d}" + local.strftime("%z")
    stamp = stamp[:-2] + ":" + stamp[-2:]
    doc["presentation"] = {
        "locale": locale,
        "timezone": zone_name,
        "unit": unit or customer["unit_label"] or "units",
        "customerDisplayName": (customer["display_name"] or customer["customer_id"]) if show_name else None,
        "generatedAtLocal": stamp,
    }
    return doc


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


def gaps_route(ctx: Ctx, call: Call) -> dict[str, Any]:
    customer_id = path_customer(call)
    from_seq = q_int(call, "fromSequence", 1, 1, 2**53 - 1)
    to_seq = q_int(call, "toSequence", None, 0, 2**53 - 1)
    limit = q_int(call, "limit", 100, 1, 1000)
    return gaps.sequence_gaps(ctx, customer_id, from_seq, to_seq, limit)


def customers_list(ctx: Ctx, call: Call) -> dict[str, Any]:
    search = call.query.get("search")
    if search is not None and len(search) > 128:
        raise validation("search", "too_long", "search must be at most 128 characters")
    limit = q_int(call, "limit", 25, 1, 100)
    page_no = q_int(call, "page", 1, 1, 1_000_000_000)
    return customers.list_customers(ctx, search, limit, page_no)


def customers_summary(ctx: Ctx, call: Call) -> dict[str, Any]:
    return customers.customers_summary(ctx)


def customer_detail(ctx: Ctx, call: Call) -> dict[str, Any]:
    customer_id = path_customer(call)
    delta_page = q_int(call, "deltaPage", 1, 1, 1_000_000_000)
    delta_limit = q_int(call, "deltaLimit", 20, 1, 100)
    period = call.query.get("period")
    if period is not None and not PERIOD_RE.match(period):
        raise validation("period", "format", "period must be a month in the form YYYY-MM")
    return customers.customer_detail(ctx, customer_id, delta_page, delta_limit, period)


def dashboard_create_customer(ctx: Ctx, call: Call) -> dict[str, Any]:
    b = validate_body(DashboardCustomerBody, call.body)
    call.status = 201
    return customers.create_dashboard_customer(ctx, b.model_dump())


# --- webhooks -------------------------------------------------------------------------------------

def webhooks_list(ctx: Ctx, call: Call) -> dict[str, Any]:
    from ..webhooks import deliveries

    status = q_enum(call, "status", ("pending", "delivered", "failed"), lower=True)
    limit, offset = page(call, 20, 100)
    return deliveries.list_deliveries(ctx, status, limit, offset)


def webhook_retry(ctx: Ctx, call: Call) -> dict[str, Any]:
    from ..webhooks import deliveries

    validate_body(EmptyBody, call.body)
    return (yield from deliveries.retry_delivery(ctx, call.path["eventId"]))


# --- public ---------------------------------------------------------------------------------------

def locate_root(conn, path: dict[str, str]) -> int | None:
    root = path["root"]
    if not HASH_INPUT_RE.match(root):
        return None
    found = verify.find_root(conn, root.lower())
    return found[1]["ws"] if found else None


def locate_receipt(conn, path: dict[str, str]) -> int | None:
    row = conn.execute("SELECT ws FROM checkpoints WHERE checkpoint_id = ?", (path["receiptId"],)).fetchone()
    return row[0] if row else None


def public_verify(ctx: Ctx, call: Call) -> dict[str, Any]:
    source = q_enum(call, "source", ("db", "chain", "both")) or "db"
    limit, offset = page(call, 1000, 1000)
    kind, obj = verify.find_root(ctx.conn, call.path["root"].lower())
    chain_available = not getattr(call.request.state, "chain_unavailable", False)
    return verify.verify_root(ctx, kind, obj, source, limit, offset, chain_available)


def public_receipt(ctx: Ctx, call: Call) -> dict[str, Any]:
    limit, offset = page(call, 1000, 1000)
    chk = checkpoints.get_checkpoint_by_id(ctx, call.path["receiptId"])
    return receipts.document_receipt(ctx, chk, limit, offset, public=True)


def public_receipt_pdf(ctx: Ctx, call: Call):
    from starlette.responses import Response

    from ..pages.pdf import receipt_pdf

    chk = checkpoints.get_checkpoint_by_id(ctx, call.path["receiptId"])
    doc = receipts.document_receipt(ctx, chk, 1000, 0, public=True)
    return Response(
        receipt_pdf(doc), media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{chk["checkpoint_id"]}.pdf"'},
    )

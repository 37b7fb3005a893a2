"""Public HTML pages (balance-api.md §6): the customer's shared record, a receipt, a proof root.

Every value from the ledger goes through autoescaping templates; the verifier's data island is
JSON with <, >, &, U+2028 and U+2029 escaped, so nothing from the data becomes markup.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from starlette.responses import HTMLResponse, RedirectResponse, Response

from ..api.http import Call
from ..errors import ApiError
from ..jsonout import dumps
from ..ledger.checkpoints import get_checkpoint_by_id, latest_of_scope
from ..ledger.amounts import join_sums
from ..ledger.context import Ctx
from ..ledger.customers import shared_record_on
from ..ledger.derive import compute_balance
from ..ledger.events import write_event
from ..ledger.receipts import receipt_object
from ..ledger.scope import PERIOD_RE, Scope, month_window
from ..ledger.verify import find_root, verify_root
from ..proofs.primitives import canonical_decimal, format_ts, month_of, period_of

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'self'")
ACCESS_COOKIE = "pacspace_access"
ACCESS_TTL_MS = 86_400_000
LOCK_WINDOW_MS = 15 * 60_000
MAX_WRONG_CODES = 5
ACTIVITY_PAGE = 50


def island(value: Any) -> str:
    """JSON for a <script type="application/json"> data island (§6)."""
    text = dumps(value)
    for raw, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("\u2028", "\\u2028"),
                         ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


@functools.cache
def templates() -> Any:
    """The template environment, built on the first page: most sessions (API tests) never
    render one, and importing jinja2 costs ~17 ms of the plugin's session start."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def page(template: str, status: int = 200, frame_ancestors: list[str] | None = None, **context: Any) -> HTMLResponse:
    csp = CSP + "".join(f" {origin}" for origin in frame_ancestors or [])
    html = templates().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers={
        "Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})


def error_page(err: ApiError) -> Response:
    heading = "Not found" if err.status == 404 else "Request refused"
    return page("message.html", status=err.status, heading=heading, text=err.message)


def _amount(value: Any) -> str:
    return canonical_decimal(Decimal(value))


# --- locating the workspace from the addressed object ----------------------------------------------

def locate_handle(conn, path: dict[str, str]) -> int | None:
    row = conn.execute("SELECT ws FROM customers WHERE handle = ?", (path["handle"],)).fetchone()
    return row[0] if row else None


def locate_receipt(conn, path: dict[str, str]) -> int | None:
    row = conn.execute("SELECT ws FROM checkpoints WHERE checkpoint_id = ?", (path["receiptId"],)).fetchone()
    return row[0] if row else None


def locate_root(conn, path: dict[str, str]) -> int | None:
    root = path["root"].lower()
    found = find_root(conn, root) if len(root) == 66 and root.startswith("0x") else None
    return found[1]["ws"] if found else None


# --- /receipt/{id} and /verify/{root} ----------------------------------------------------------------

def receipt_page(ctx: Ctx, call: Call) -> Response:
    chk = get_checkpoint_by_id(ctx, call.path["receiptId"])
    receipt = receipt_object(ctx, chk, 1000, 0, public=True)
    customer = ctx.conn.execute("SELECT unit_label FROM customers WHERE id = ?", (chk["customer"],)).fetchone()
    amounts = {"starting": _amount(receipt["startingBalance"]), "net": _amount(receipt["netChange"]),
               "final": _amount(receipt["finalBalance"])}
    return page("receipt.html", frame_ancestors=ctx.ws.settings.get("embedOrigins"), r=receipt, amounts=amounts,
                unit=customer["unit_label"] or "units", lines=receipt["deltas"], r_superseded_by=chk["superseded_by"],
                more=max(0, receipt["deltaCount"] - 1000), island=island(receipt))


def verify_page(ctx: Ctx, call: Call) -> Response:
    kind, obj = find_root(ctx.conn, call.path["root"].lower())
    available = not getattr(call.request.state, "chain_unavailable", False)
    result = verify_root(ctx, kind, obj, "both", 1000, 0, available)
    return page("verify.html", v=result, net=_amount(result["summary"]["netChange"]), island=island(result))


# --- /c/{handle}: the shared record (policy TWO_TIER) --------------------------------------------------

def _customer(ctx: Ctx, handle: str):
    row = ctx.conn.execute("SELECT * FROM customers WHERE ws = ? AND handle = ?", (ctx.ws.id, handle)).fetchone()
    if row is None or not shared_record_on(ctx, row):
        raise ApiError("NOT_FOUND", "This customer link does not exist or is not shared")
    return row


def _cookie_key(ctx: Ctx) -> bytes:
    ws = ctx.ws
    return hashlib.sha256(f"pacspace-mock:access-cookie:v1|{ws.seed}|{ws.env}|{ws.public_id}".encode()).digest()


def _cookie_value(ctx: Ctx, handle: str, expires_ms: int) -> str:
    mac = hmac.new(_cookie_key(ctx), f"{handle}|{expires_ms}".encode(), hashlib.sha256).hexdigest()
    return f"{expires_ms}.{mac}"


def _unlocked(ctx: Ctx, call: Call, handle: str) -> bool:
    value = call.request.cookies.get(ACCESS_COOKIE, "")
    expires, _, mac = value.partition(".")
    if not expires.isdigit():
        return False
    return int(expires) > ctx.now and hmac.compare_digest(value, _cookie_value(ctx, handle, int(expires)))


def _locked_until(ctx: Ctx, customer) -> int | None:
    rows = [r[0] for r in ctx.conn.execute(
        "SELECT at_ms FROM access_attempts WHERE customer = ? AND at_ms > ? ORDER BY at_ms",
        (customer["id"], ctx.now - 2 * LOCK_WINDOW_MS))]
    # five wrong codes within 15 minutes lock the form for 15 minutes from the fifth
    for i in range(len(rows) - MAX_WRONG_CODES + 1):
        if rows[i + MAX_WRONG_CODES - 1] - rows[i] < LOCK_WINDOW_MS:
            until = rows[i + MAX_WRONG_CODES - 1] + LOCK_WINDOW_MS
            if until > ctx.now:
                return until
    return None


def _outer(ctx: Ctx, customer) -> dict[str, Any]:
    year, month = month_of(ctx.now)
    start, end = month_window(year, month)
    recorded = ctx.conn.execute(
        "SELECT COUNT(*), SUM(units), SUM(frac_hi), SUM(frac_lo) FROM deltas WHERE customer = ? AND status != 'FAILED'"
        " AND recorded_ms >= ? AND recorded_ms < ?", (customer["id"], start, end)).fetchone()
    total = join_sums(recorded[1], recorded[2], recorded[3])
    through = ctx.conn.execute(
        "SELECT MAX(d.recorded_ms) FROM deltas d WHERE d.customer = ? AND d.sequence = (SELECT MAX(to_sequence)"
        " FROM checkpoints WHERE customer = ? AND status = 'VERIFIED')", (customer["id"], customer["id"])).fetchone()[0]
    return {
        "name": customer["display_name"] or customer["customer_id"], "handle": customer["handle"],
        "month": f"{year:04d}-{month:02d}", "recorded": canonical_decimal(total), "record_count": recorded[0],
        "unit": customer["unit_label"] or "units", "verified_through": format_ts(through)[:10] if through else None,
    }


def _state(row) -> str:
    if row["status"] in ("QUEUED", "PROCESSING"):
        return "recording"
    return "verified" if row["covered"] else "recorded"


_LINE_SQL = (
    "SELECT d.recorded_ms, d.reason, d.reference_id, d.amount, d.status, EXISTS (SELECT 1 FROM checkpoint_items i"
    " JOIN checkpoints c ON c.id = i.checkpoint WHERE i.delta = d.id AND c.status = 'VERIFIED') AS covered"
    " FROM deltas d WHERE d.customer = ? AND d.status != 'FAILED'"
)


def _line(row) -> dict[str, Any]:
    return {"date": format_ts(row["recorded_ms"])[:10], "reason": row["reason"], "reference": row["reference_id"],
            "amount": row["amount"], "state": _state(row)}


def _unlocked_view(ctx: Ctx, call: Call, customer, comparison: dict[str, Any] | None = None) -> dict[str, Any]:
    """?period= (or the compared period), default the newest checkpoint's period, else this month."""
    conn = ctx.conn
    newest = conn.execute("SELECT period FROM checkpoints WHERE customer = ? AND period IS NOT NULL ORDER BY n DESC"
                          " LIMIT 1", (customer["id"],)).fetchone()
    period = comparison["period"] if comparison else call.query.get("period")
    if not period or not PERIOD_RE.match(period):
        period = newest[0] if newest else period_of(ctx.now)
    start, end = month_window(int(period[:4]), int(period[5:7]))
    lines = [_line(r) for r in conn.execute(_LINE_SQL + " AND d.recorded_ms >= ? AND d.recorded_ms < ? ORDER BY d.sequence",
                                              (customer["id"], start, end))]
    scope = Scope("period", start, end, period=period)
    chk = latest_of_scope(ctx, customer["id"], scope, "all")
    receipt = receipt_object(ctx, chk, 1000, 0, public=True) if chk is not None and chk["status"] != "FAILED" else None
    total_activity = conn.execute("SELECT COUNT(*) FROM deltas WHERE customer = ? AND status != 'FAILED'",
                                  (customer["id"],)).fetchone()[0]
    pages = max(1, -(-total_activity // ACTIVITY_PAGE))
    page_no = call.query.get("page", "1")
    page_no = min(max(int(page_no), 1), pages) if page_no.isdigit() else 1
    activity = [_line(r) for r in conn.execute(_LINE_SQL + " ORDER BY d.sequence DESC LIMIT ? OFFSET ?",
                                               (customer["id"], ACTIVITY_PAGE, (page_no - 1) * ACTIVITY_PAGE))]
    periods = [{"checkpointId": c["checkpoint_id"], "window": c["period"] or f"{format_ts(c['start_ms'])[:10]} – "
                f"{format_ts(c['end_ms'])[:10]}", "deltaCount": c["tree_size"], "final": c["net_change"],
                "proofRoot": c["proof_root"], "status": c["status"]}
               for c in conn.execute("SELECT * FROM checkpoints WHERE customer = ? ORDER BY n DESC", (customer["id"],))]
    return {
        "unlocked": True, "period": period, "lines": lines,
        "period_total": canonical_decimal(sum((Decimal(line["amount"]) for line in lines), Decimal(0))),
        "receipt": receipt, "receipt_final": _amount(receipt["finalBalance"]) if receipt else None,
        "island": island(receipt) if receipt else None, "activity": activity, "page": page_no, "pages": pages,
        "periods": periods, "comparison": comparison,
    }


def _render_record(ctx: Ctx, call: Call, customer, status: int = 200, **extra: Any) -> Response:
    context: dict[str, Any] = {**_outer(ctx, customer), "unlocked": False, "error": None, "locked_until": None,
                               "island": None}
    if _unlocked(ctx, call, customer["handle"]):
        context.update(_unlocked_view(ctx, call, customer, extra.pop("comparison", None)))
    else:
        locked = _locked_until(ctx, customer)
        context["locked_until"] = format_ts(locked) if locked else None
    context.update(extra)
    return page("shared_record.html", status=status, **context)


def shared_record(ctx: Ctx, call: Call) -> Response:
    return _render_record(ctx, call, _customer(ctx, call.path["handle"]))


def shared_record_access(ctx: Ctx, call: Call) -> Response:
    customer = _customer(ctx, call.path["handle"])
    if _locked_until(ctx, customer) is not None:
        return _render_record(ctx, call, customer, status=429)
    code = str((call.body or {}).get("code", "")).strip()
    if code.upper() == customer["access_code"]:
        ctx.conn.execute("DELETE FROM access_attempts WHERE customer = ?", (customer["id"],))
        handle = customer["handle"]
        response = RedirectResponse(f"/c/{handle}", status_code=303)
        response.set_cookie(ACCESS_COOKIE, _cookie_value(ctx, handle, ctx.now + ACCESS_TTL_MS), max_age=86400,
                            path=f"/c/{handle}", httponly=True, samesite="lax")
        return response
    ctx.conn.execute("INSERT INTO access_attempts (customer, at_ms) VALUES (?, ?)", (customer["id"], ctx.now))
    if _locked_until(ctx, customer) is not None:
        return _render_record(ctx, call, customer, status=429)
    recent = ctx.conn.execute("SELECT COUNT(*) FROM access_attempts WHERE customer = ? AND at_ms > ?",
                              (customer["id"], ctx.now - LOCK_WINDOW_MS)).fetchone()[0]
    left = MAX_WRONG_CODES - recent
    return _render_record(ctx, call, customer, error=f"That code is not right. {left} attempt(s) left.")


def shared_record_compare(ctx: Ctx, call: Call) -> Response:
    customer = _customer(ctx, call.path["handle"])
    if not _unlocked(ctx, call, customer["handle"]):
        return _render_record(ctx, call, customer, status=403, error="Enter the access code first.")
    body = call.body or {}
    period = str(body.get("period", ""))
    if not PERIOD_RE.match(period):
        return _render_record(ctx, call, customer, status=400, error="period must be a month YYYY-MM")
    try:
        entered = Decimal(str(body.get("balance", "")).strip())
        if not entered.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        return _render_record(ctx, call, customer, status=400, error="balance must be a number")
    start, end = month_window(int(period[:4]), int(period[5:7]))
    scope = Scope("period", start, end, period=period)
    neutral = compute_balance(ctx, customer, scope, Decimal(0))["computed"]
    matches = entered == neutral
    write_event(ctx, "customer.compare_run", {
        "customerId": customer["customer_id"], "initiator": "customer", "neutralBalance": neutral,
        "yourBalance": None, "theirBalance": entered, "matchesYours": None, "matchesTheirs": matches,
        "discrepancySide": None if matches else "theirs",
        "resolutionCode": None if matches else "THEIRS_DIFFERS_USE_NEUTRAL", "scope": scope.to_json(),
        "comparedAt": format_ts(ctx.now),
    }, ctx.now, customer["customer_id"])
    comparison = {"period": period, "neutral": canonical_decimal(neutral), "entered": canonical_decimal(entered),
                  "matches": matches}
    return _render_record(ctx, call, customer, comparison=comparison)

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
from typing import Any, Optional

from starlette.responses import HTMLResponse, RedirectResponse, Response

from ..errors import ApiError
from ..jsonout import dumps
from ..ledger import shared_record
from ..ledger.checkpoints import get_checkpoint_by_id, latest_of_scope
from ..ledger.context import Ctx
from ..ledger.customers import customer_by_rowid
from ..ledger.receipts import receipt_object
from ..ledger.scope import PERIOD_RE, Scope, month_window
from ..ledger.verify import verify_root_of
from ..pipeline import Call
from ..proofs.primitives import amount_problem, canonical_decimal, format_ts
from ..validation import Query

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'self'")
ACCESS_COOKIE = "pacspace_access"
ACCESS_TTL_MS = 86_400_000


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


# --- /receipt/{id} and /verify/{root} ----------------------------------------------------------------

def receipt_page(ctx: Ctx, call: Call) -> Response:
    chk = get_checkpoint_by_id(ctx, call.path["receiptId"])
    receipt = receipt_object(ctx, chk, 1000, 0, public=True)
    customer = customer_by_rowid(ctx, chk["customer"])
    amounts = {"starting": _amount(receipt["startingBalance"]), "net": _amount(receipt["netChange"]),
               "final": _amount(receipt["finalBalance"])}
    return page("receipt.html", frame_ancestors=ctx.ws.settings.get("embedOrigins"), r=receipt, amounts=amounts,
                unit=customer["unit_label"] or "units", lines=receipt["deltas"], r_superseded_by=chk["superseded_by"],
                more=max(0, receipt["deltaCount"] - 1000), island=island(receipt))


def index(ctx: Ctx, call: Call) -> Response:
    """GET /: what runs here and where to start (a global page: no workspace, no journal)."""
    from .. import __version__
    from ..operations import OPERATIONS
    from ..scenarios.locate import _stem, bundled_scenarios
    from ..store import workspaces

    runtime = ctx.runtime
    return page("index.html", version=__version__, origin=ctx.origin, memory=runtime.store.memory,
                strict=runtime.config.strict, workspaces=workspaces.count_all(ctx.conn),
                console=any(op.path == "/_console" for op in OPERATIONS),
                scenarios=[_stem(path) for path in bundled_scenarios()])


FAVICON = (Path(__file__).parent / "static" / "favicon.svg")


def favicon(ctx: Ctx, call: Call) -> Response:
    """GET /favicon.ico: the pages' icon (SVG), so browsers find one where they look first."""
    return Response(FAVICON.read_bytes(), media_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"})


def verify_page(ctx: Ctx, call: Call) -> Response:
    result = verify_root_of(ctx, call.path["root"], "both", 1000, 0, not call.effects.chain_unavailable)
    return page("verify.html", v=result, net=_amount(result["summary"]["netChange"]), island=island(result))


# --- /c/{handle}: the shared record (policy TWO_TIER) --------------------------------------------------

class RecordQuery(Query):
    """?period=YYYY-MM and ?page=N of the unlocked view; pages ignore what they do not understand."""

    period: Optional[str] = None
    page: Optional[str] = None


def _customer(ctx: Ctx, handle: str):
    row = shared_record.customer_by_handle(ctx, handle)
    if row is None:
        raise ApiError("NOT_FOUND", "This customer link does not exist or is not shared")
    return row


def _cookie_key(ctx: Ctx) -> bytes:
    """The cookie's HMAC key: from the seed on loopback (§9), from the server secret beyond it (§8.9)."""
    ws = ctx.ws
    key = ctx.runtime.page_key(ctx.conn, ws, "access-cookie")
    if key is not None:
        return key
    return hashlib.sha256(f"pacspace-mock:access-cookie:v1|{ws.seed}|{ws.env}|{ws.public_id}".encode()).digest()


def _cookie_value(ctx: Ctx, handle: str, expires_ms: int) -> str:
    mac = hmac.new(_cookie_key(ctx), f"{handle}|{expires_ms}".encode(), hashlib.sha256).hexdigest()
    return f"{expires_ms}.{mac}"


def _unlocked(ctx: Ctx, call: Call, handle: str) -> bool:
    value = call.cookies.get(ACCESS_COOKIE, "")
    expires, _, mac = value.partition(".")
    if not expires.isdigit() or len(expires) > 16:
        return False
    return int(expires) > ctx.now and hmac.compare_digest(value, _cookie_value(ctx, handle, int(expires)))


def _unlocked_view(ctx: Ctx, call: Call, customer, comparison: dict[str, Any] | None = None) -> dict[str, Any]:
    """?period= (or the compared period), default the newest checkpoint's period, else this month."""
    query = call.query if isinstance(call.query, RecordQuery) else RecordQuery()
    period = comparison["period"] if comparison else query.period
    if not period or not PERIOD_RE.match(period):
        period = shared_record.default_period(ctx, customer)
    lines = shared_record.period_lines(ctx, customer, period)
    start, end = month_window(int(period[:4]), int(period[5:7]))
    chk = latest_of_scope(ctx, customer["id"], Scope("period", start, end, period=period), "all")
    receipt = receipt_object(ctx, chk, 1000, 0, public=True) if chk is not None and chk["status"] != "FAILED" else None
    activity, page_no, pages = shared_record.activity(ctx, customer, query.page)
    return {
        "unlocked": True, "period": period, "lines": lines,
        "period_total": canonical_decimal(sum((Decimal(line["amount"]) for line in lines), Decimal(0))),
        "receipt": receipt, "receipt_final": _amount(receipt["finalBalance"]) if receipt else None,
        "island": island(receipt) if receipt else None, "activity": activity, "page": page_no, "pages": pages,
        "periods": shared_record.periods(ctx, customer), "comparison": comparison,
    }


def _render_record(ctx: Ctx, call: Call, customer, status: int = 200, **extra: Any) -> Response:
    context: dict[str, Any] = {**shared_record.outer_view(ctx, customer), "unlocked": False, "error": None,
                               "locked_until": None, "island": None}
    if _unlocked(ctx, call, customer["handle"]):
        context.update(_unlocked_view(ctx, call, customer, extra.pop("comparison", None)))
    else:
        locked = shared_record.locked_until(ctx, customer)
        context["locked_until"] = format_ts(locked) if locked else None
    context.update(extra)
    return page("shared_record.html", status=status, **context)


def shared_record_page(ctx: Ctx, call: Call) -> Response:
    return _render_record(ctx, call, _customer(ctx, call.path["handle"]))


def shared_record_access(ctx: Ctx, call: Call) -> Response:
    customer = _customer(ctx, call.path["handle"])
    if shared_record.locked_until(ctx, customer) is not None:
        return _render_record(ctx, call, customer, status=429)
    code = str((call.body or {}).get("code", "")).strip()
    if code.upper() == customer["access_code"]:
        shared_record.code_accepted(ctx, customer)
        handle = customer["handle"]
        response = RedirectResponse(f"/c/{handle}", status_code=303)
        # beyond loopback behind https, the cookie never travels in clear (§8.9)
        secure = ctx.runtime.config.exposed and ctx.origin.startswith("https://")
        response.set_cookie(ACCESS_COOKIE, _cookie_value(ctx, handle, ctx.now + ACCESS_TTL_MS), max_age=86400,
                            path=f"/c/{handle}", httponly=True, samesite="lax", secure=secure)
        return response
    left = shared_record.code_refused(ctx, customer)
    if shared_record.locked_until(ctx, customer) is not None:
        return _render_record(ctx, call, customer, status=429)
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
        if not entered.is_finite() or amount_problem(entered) is not None:
            raise InvalidOperation
    except InvalidOperation:
        return _render_record(ctx, call, customer, status=400, error="balance must be a number")
    comparison = shared_record.compare_entered(ctx, customer, period, entered)
    return _render_record(ctx, call, customer, comparison=comparison)

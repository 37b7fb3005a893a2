"""The dev console's handlers (operations of plane `console`, mockserver/operations.py).

Pages read through the ledger's and the store's functions and the control operations' own
handlers; every form POST is checked (access.check_post), performs the control operation of the
table by name (`operate`: its body model validates the form's values, its handler runs, nothing
is re-implemented here) and answers 303 back to the page, with a one-time message in a cookie.
None of it is a counted or journaled request of the workspace it shows.
"""

from __future__ import annotations

import base64
import functools
import inspect
import json
import re
from pathlib import Path
from typing import Any, Generator

from starlette.responses import HTMLResponse, RedirectResponse, Response

from .. import exchanges
from ..errors import ApiError, not_found, validation
from ..faults import EVENT_TYPES
from ..ledger import checkpoints, overview
from ..ledger.context import Ctx, Outside
from ..ledger.scope import month_window
from ..operations import BY_NAME, ROUTE_NAMES, resolve
from ..pipeline import Call
from ..proofs.primitives import JSONInputError, format_ts, month_of, parse_json_exact
from ..runtime import Runtime
from ..store import journal, outbox as outbox_rows, workspaces
from ..validation import validate
from ..webhooks import deliveries
from . import access, present
from .access import PREFIX

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
CUSTOMERS_PER_PAGE = 50
REQUESTS_SHOWN = 100
DELIVERIES_PER_PAGE = 50
CHECKPOINTS_SHOWN = 25
FLASH_MAX = 600
ACTION_TYPES = ("error", "rate_limited", "cadence_limit", "latency", "commit_then_drop", "fail_verification",
                "chain_unavailable", "webhook_failure")


@functools.cache
def templates() -> Any:
    """jinja2, autoescaped, loaded with the console (never at server start)."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["ts"] = lambda ms: "–" if ms is None else format_ts(ms).replace("T", " ")[:19]
    env.filters["amount"] = present.amount
    env.filters["pretty"] = lambda text: present.pretty_json(text) or text
    return env


# --- rendering -------------------------------------------------------------------------------------

def _flash(cookies: dict[str, str]) -> dict[str, str] | None:
    raw = cookies.get(access.FLASH_COOKIE)
    if not raw or len(raw) > 4 * FLASH_MAX:
        return None
    try:
        found = json.loads(base64.urlsafe_b64decode(raw.encode("ascii") + b"==="))
    except (ValueError, UnicodeError):
        return None
    if not (isinstance(found, dict) and isinstance(found.get("text"), str) and found.get("kind") in ("ok", "error")):
        return None
    return {"text": found["text"][:FLASH_MAX], "kind": found["kind"]}


def render(runtime: Runtime, cookies: dict[str, str], template: str, http_status: int = 200, **context: Any
           ) -> Response:
    token, new = access.csrf_token(cookies)
    flash = _flash(cookies)
    context.setdefault("ws", None)
    context.setdefault("live", None)
    html = templates().get_template(template).render(csrf=token, flash=flash, prefix=PREFIX,
                                                     exposed=runtime.config.exposed, **context)
    response = HTMLResponse(html, status_code=http_status, headers={
        "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store"})
    if new:
        access.set_cookie(runtime, response, access.CSRF_COOKIE, token)
    if flash is not None or access.FLASH_COOKIE in cookies:
        response.delete_cookie(access.FLASH_COOKIE, path=PREFIX)
    return response


def message_page(heading: str, text: str, status: int) -> Response:
    html = templates().get_template("message.html").render(heading=heading, text=text, back=PREFIX, prefix=PREFIX,
                                                           ws=None, live=None, flash=None, csrf="", exposed=False)
    return HTMLResponse(html, status_code=status, headers={
        "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store"})


def error_page(err: ApiError) -> Response:
    """The pipeline's error page for console operations (unknown workspace, refused form, …)."""
    heading = "Not found" if err.status == 404 else "Refused" if err.status in (401, 403) else "Not done"
    return message_page(heading, err.message, err.status)


def login_page(runtime: Runtime, cookies: dict[str, str], path: str, status: int = 200,
               error: str | None = None) -> Response:
    return render(runtime, cookies, "login.html", http_status=status, error=error, next=_safe_next(path))


def redirect(runtime: Runtime, to: str, text: str | None = None, kind: str = "ok") -> Response:
    response = RedirectResponse(to, status_code=303, headers={"Cache-Control": "no-store"})
    if text is not None:
        value = base64.urlsafe_b64encode(json.dumps({"text": text[:FLASH_MAX], "kind": kind}).encode()).decode()
        access.set_cookie(runtime, response, access.FLASH_COOKIE, value.rstrip("="), max_age=120)
    return response


_BACK_RE = re.compile(r"^/_console(/[A-Za-z0-9_.~%/-]*)?(\?[A-Za-z0-9_.~%=&+-]*)?\Z")


def _safe_next(path: str) -> str:
    return path if _BACK_RE.match(path) and "//" not in path and ".." not in path else PREFIX


def _back(ctx: Ctx, call: Call, default: str) -> str:
    """Where a form returns: the page it was on (a path of this workspace's console), else `default`."""
    back = (call.body or {}).get("back", "")
    mine = f"{PREFIX}/w/{ctx.ws.id}"
    if isinstance(back, str) and _safe_next(back) == back and (back == mine or back.startswith((mine + "/",
                                                                                                mine + "?"))):
        return back
    return default


# --- performing the control operations ------------------------------------------------------------------

def validated(name: str, body: dict[str, Any]) -> Any:
    """The body of the named operation as its own model validates it (its 400 names the field)."""
    model = resolve(BY_NAME[name].body)
    return validate(model, body) if model is not None else body


def operate(name: str, ctx: Ctx, call: Call, body: Any = None, path: dict[str, str] | None = None
            ) -> Generator[Outside, Any, Any]:
    """Run the named operation's handler of the table in this request's transaction (a generator:
    an operation that waits on a webhook receiver yields its Outside work to the pipeline)."""
    op = BY_NAME[name]
    if body is None and op.body is not None:
        body = validated(name, {})
    result = resolve(op.handler)(ctx, Call(op, path or {}, None, body, call.headers, {}))
    if inspect.isgenerator(result):
        result = yield from result
    return result


def _number(text: Any) -> Any:
    """A form value as the JSON API would read it: a number when it is one, else the text (the
    operation's model then says what is wrong with it, naming the field)."""
    if not isinstance(text, str):
        return text
    try:
        value = parse_json_exact(text.strip())
    except (JSONInputError, ValueError):
        return text
    return value if not isinstance(value, (str, list, dict)) else text


def _field(call: Call, name: str) -> str:
    value = (call.body or {}).get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _page_number(text: str | None) -> int:
    return int(text) if text and text.isdigit() and len(text) < 7 and int(text) > 0 else 1


# --- the list of workspaces -----------------------------------------------------------------------------

def _workspace_rows(ctx: Ctx) -> list[dict[str, Any]]:
    statuses = overview.status_counts(ctx.conn)
    wall = ctx.runtime.wall_ms()
    out = []
    for row in workspaces.overview(ctx.conn):
        counts = statuses.get(row["id"], {})
        out.append({
            "id": row["id"], "key": present.masked_key(row["env"], row["public_id"]), "env": row["env"],
            "now": present.clock_now(row, wall), "mode": row["clock_mode"], "requests": row["n_req"],
            "customers": row["customers"], "rules": row["rules"],
            "verified": counts.get("VERIFIED", 0), "failed": counts.get("FAILED", 0),
            "pending": counts.get("QUEUED", 0) + counts.get("PROCESSING", 0),
            "last": row["last_request_ms"], "created": row["created_ms"],
        })
    return out


def home(ctx: Ctx, call: Call) -> Response:
    return render(ctx.runtime, call.cookies, "home.html", rows=_workspace_rows(ctx), live=f"{PREFIX}/live")


def home_live(ctx: Ctx, call: Call) -> dict[str, Any]:
    rows = workspaces.overview(ctx.conn)
    return {"stamp": present.stamp([present.overview_stamp(r) for r in rows]), "workspaces": len(rows),
            "requests": sum(r["n_req"] for r in rows)}


# --- one workspace ------------------------------------------------------------------------------------

def _header(ctx: Ctx, call: Call, tab: str) -> dict[str, Any]:
    """What every page of a workspace shows on top: its masked key, clock and tabs."""
    ws = ctx.ws
    clock = ctx.runtime.clock_object(ctx.conn, ws, ctx.now)
    base = f"{PREFIX}/w/{ws.id}"
    return {"ws": {"id": ws.id, "key": present.masked_key(ws.env, ws.public_id), "env": ws.env, "base": base,
                   "now": clock["now"], "mode": clock["mode"], "offset": clock["offsetMs"], "tab": tab},
            "live": f"{base}/live", "here": base if tab == "overview" else f"{base}/{tab}"}


def workspace(ctx: Ctx, call: Call) -> Response:
    q = call.query
    page = _page_number(q.page)
    total, rows = overview.customer_totals(ctx, CUSTOMERS_PER_PAGE, (page - 1) * CUSTOMERS_PER_PAGE)
    customers = [{"id": c["customer_id"], "name": c["display_name"], "unit": c["unit_label"] or "units",
                  "source": c["source"], "last": c["last_recorded_ms"],
                  "verified": present.amount(t.sums["verified"]), "pending": present.amount(t.sums["pending"]),
                  "failed": present.amount(t.sums["failed"]), "counts": t.counts} for c, t in rows]
    year, month = month_of(ctx.now)
    start, end = month_window(year, month)
    chosen = (q.customer or "").strip() or None
    rowid = overview.customer_rowid(ctx, chosen) if chosen is not None else None
    unit = "units"
    if chosen is not None and rowid is not None:
        unit = next((c["unit"] for c in customers if c["id"] == chosen), unit)
    days = overview.daily_totals(ctx, start, end, rowid) if chosen is None or rowid is not None else {}
    statuses = overview.status_counts(ctx.conn, ctx.ws.id).get(ctx.ws.id, {})
    listed = checkpoints.list_checkpoints(ctx, None, None, CHECKPOINTS_SHOWN, 0)
    return render(ctx.runtime, call.cookies, "workspace.html", **_header(ctx, call, "overview"),
                  customers=customers, customer_total=total, page=page,
                  pages=max(1, -(-total // CUSTOMERS_PER_PAGE)), chart=present.chart(days, start, end, unit),
                  period=f"{year:04d}-{month:02d}", chosen=chosen, chosen_missing=chosen is not None and rowid is None,
                  statuses={"verified": statuses.get("VERIFIED", 0), "failed": statuses.get("FAILED", 0),
                            "pending": statuses.get("QUEUED", 0) + statuses.get("PROCESSING", 0)},
                  checkpoints=listed["checkpoints"], checkpoint_total=listed["pagination"]["total"])


def workspace_live(ctx: Ctx, call: Call) -> dict[str, Any]:
    row = workspaces.overview(ctx.conn, ctx.ws.id)[0]
    pending = outbox_rows.pending_activity(ctx.conn, ctx.ws.id)
    return {"stamp": present.stamp(present.overview_stamp(row), pending, ctx.ws.settings), "workspaces": 1,
            "requests": row["n_req"]}


def _filter_status(text: str | None) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not (text.isdigit() and len(text) == 3):
        raise validation("status", "type", "status must be an HTTP status: three digits, e.g. 503")
    return int(text)


def requests(ctx: Ctx, call: Call) -> Response:
    q = call.query
    route = (q.route or "").strip() or None
    customer = (q.customer or "").strip() or None
    status = _filter_status(q.status)
    keep = int(ctx.ws.settings.get("journalSize", 1000))
    which = journal.Filter(route, status, None, None, None, customer, None)
    total, rows = journal.entries(ctx.conn, ctx.ws.id, REQUESTS_SHOWN, keep, which)
    entries = [json.loads(r["entry"]) for r in rows]
    return render(ctx.runtime, call.cookies, "requests.html", **_header(ctx, call, "requests"), entries=entries,
                  total=total, routes=ROUTE_NAMES, route=route, status=status, customer=customer)


def exchange(ctx: Ctx, call: Call) -> Response:
    seq = call.path.get("seq", "")
    keep = int(ctx.ws.settings.get("journalSize", 1000))
    row = journal.entry(ctx.conn, ctx.ws.id, int(seq), keep) if seq.isdigit() and len(seq) < 19 else None
    if row is None:
        raise not_found(f"Request {seq!r} of this workspace's journal")
    entry = json.loads(row["entry"])
    recorded = exchanges.load(row["exchange"])
    sides = []
    if recorded is not None:
        for name in ("request", "response"):
            side = recorded[name]
            headers = sorted((k, _masked_header(k, v)) for k, v in side["headers"].items())
            sides.append({"name": name, "headers": headers, "body": side["body"],
                          "pretty": present.pretty_json(side["body"]) if side.get("parsed") is not None else None,
                          "size": side["bodySize"], "truncated": side["truncated"], "binary": side.get("binary", False),
                          "status": side.get("status"), "line": f"{side.get('method', '')} {side.get('path', '')}"
                                                                + (f"?{side['query']}" if side.get("query") else "")})
    return render(ctx.runtime, call.cookies, "exchange.html", **_header(ctx, call, "requests"), entry=entry,
                  sides=sides)


_KEY_RE = re.compile(r"^pk_(test|live)_([^.]*)(\..*)?$")


def _masked_header(name: str, value: str) -> str:
    """The console shows keys masked, in recorded headers too (the journal already cut the secret)."""
    found = _KEY_RE.match(value) if name == "x-api-key" else None
    return present.masked_key(found.group(1), found.group(2)) + (found.group(3) or "") if found else value


def webhooks(ctx: Ctx, call: Call) -> Generator[Outside, Any, Response]:
    q = call.query
    status = (q.status or "").strip() or None
    if status not in (None, "pending", "delivered", "failed"):
        raise validation("status", "format", "status must be pending, delivered or failed")
    page = _page_number(q.page)
    listed = deliveries.outbox(ctx, None, status, DELIVERIES_PER_PAGE, (page - 1) * DELIVERIES_PER_PAGE,
                               newest_first=True)
    config = yield from operate("mock.webhooks_config", ctx, call)
    total = listed["pagination"]["total"]
    return render(ctx.runtime, call.cookies, "webhooks.html", **_header(ctx, call, "webhooks"),
                  deliveries=listed["entries"], total=total, status=status, page=page,
                  pages=max(1, -(-total // DELIVERIES_PER_PAGE)), config=config)


def faults(ctx: Ctx, call: Call) -> Generator[Outside, Any, Response]:
    rules = (yield from operate("mock.faults_list", ctx, call))["rules"]
    return render(ctx.runtime, call.cookies, "faults.html", **_header(ctx, call, "faults"), rules=rules,
                  routes=ROUTE_NAMES, events=EVENT_TYPES, actions=ACTION_TYPES)


# --- form actions: each performs one control operation ---------------------------------------------------

def _attempt(name: str, body: dict[str, Any]) -> tuple[Any, str | None]:
    """(the validated body, None), or (None, the 400's message): a form's mistake is shown on its page."""
    try:
        return validated(name, body), None
    except ApiError as exc:
        return None, exc.message


def _moved(moved: dict[str, Any]) -> str:
    p = moved["processed"]
    return (f"Clock at {moved['now']} ({moved['mode']}): {p['transitions']} transition(s), {p['events']} event(s),"
            f" {p['deliveryAttempts']} delivery attempt(s), {p['delivered']} delivered, {p['failed']} failed.")


def clock_advance(ctx: Ctx, call: Call) -> Generator[Outside, Any, Response]:
    access.check_post(ctx.runtime, call)
    back = _back(ctx, call, f"{PREFIX}/w/{ctx.ws.id}")
    body, problem = _attempt("mock.clock_advance", {"seconds": _number(_field(call, "seconds"))})
    if problem:
        return redirect(ctx.runtime, back, problem, "error")
    moved = yield from operate("mock.clock_advance", ctx, call, body)
    return redirect(ctx.runtime, back, _moved(moved))


def clock_set(ctx: Ctx, call: Call) -> Generator[Outside, Any, Response]:
    access.check_post(ctx.runtime, call)
    back = _back(ctx, call, f"{PREFIX}/w/{ctx.ws.id}")
    body, problem = _attempt("mock.clock_set", {"at": _field(call, "at")})
    if problem:
        return redirect(ctx.runtime, back, problem, "error")
    moved = yield from operate("mock.clock_set", ctx, call, body)
    return redirect(ctx.runtime, back, _moved(moved))


def clock_freeze(ctx: Ctx, call: Call) -> Generator[Outside, Any, Response]:
    access.check_post(ctx.runtime, call)
    back = _back(ctx, call, f"{PREFIX}/w/{ctx.ws.id}")
    clock = yield from operate("mock.clock_freeze", ctx, call, validated("mock.clock_freeze", {}))
    return redirect(ctx.runtime, back, f"Clock frozen at {clock['now']}.")


def clock_unfreeze(ctx: Ctx, call: Call) -> Generator[Outside, Any, Response]:
    access.check_post(ctx.runtime, call)
    back = _back(ctx, call, f"{PREFIX}/w/{ctx.ws.id}")
    clock = yield from operate("mock.clock_unfreeze", ctx, call)
    return redirect(ctx.runtime, back, f"Clock running from {clock['now']} ({clock['mode']}).")


def webhook_config(ctx: Ctx, call: Call) -> Generator[Outside, Any, Response]:
    access.check_post(ctx.runtime, call)
    back = f"{PREFIX}/w/{ctx.ws.id}/webhooks"
    url = _field(call, "url")
    body, problem = _attempt("mock.webhooks_config_update", {"url": url or None})
    if problem:
        return redirect(ctx.runtime, back, problem, "error")
    config = yield from operate("mock.webhooks_config_update", ctx, call, body)
    said = f"Deliveries now go to {config['url']}." if config["url"] else "No URL: deliveries are captured."
    return redirect(ctx.runtime, back, said)


def drain(ctx: Ctx, call: Call) -> Generator[Outside, Any, Response]:
    access.check_post(ctx.runtime, call)
    back = _back(ctx, call, f"{PREFIX}/w/{ctx.ws.id}/webhooks")
    done = yield from operate("mock.drain", ctx, call, validated("mock.drain", {}))
    return redirect(ctx.runtime, back, f"{done['attempted']} attempt(s): {done['delivered']} delivered,"
                                       f" {done['failed']} failed, {done['pending']} still pending.")


def webhook_retry(ctx: Ctx, call: Call) -> Generator[Outside, Any, Response]:
    access.check_post(ctx.runtime, call)
    back = _back(ctx, call, f"{PREFIX}/w/{ctx.ws.id}/webhooks")
    event_id = call.path["eventId"]
    delivery = yield from operate("balance.webhook_retry", ctx, call, path={"eventId": event_id})
    outcome = delivery["deliveryStatus"] if delivery["lastError"] is None else f"failed again ({delivery['lastError']})"
    return redirect(ctx.runtime, back, f"Redelivered {event_id} (attempt {delivery['attempts']}): {outcome}.",
                    "ok" if delivery["lastError"] is None else "error")


def _rule_from_form(call: Call) -> dict[str, Any]:
    """The fault rule a form describes: JSON as for POST /_mock/faults, or the simple fields."""
    text = _field(call, "json")
    if text:
        try:
            return parse_json_exact(text)
        except (JSONInputError, ValueError) as exc:
            raise validation("json", "invalid_json", f"The rule is not valid JSON: {exc}") from None
    match = {name: _field(call, field) or None for name, field in (
        ("route", "route"), ("method", "method"), ("customerId", "customerId"), ("event", "event"), ("path", "path"))}
    action: dict[str, Any] = {"type": _field(call, "action")}
    for name in ("status", "ms", "retryAfterSeconds"):
        if _field(call, name):
            action[name] = _number(_field(call, name))
    if _field(call, "timeout"):
        action["timeout"] = True
    rule: dict[str, Any] = {"match": {k: v for k, v in match.items() if v is not None}, "actions": [action]}
    if _field(call, "times"):
        rule["times"] = _number(_field(call, "times"))
    if _field(call, "nth"):
        rule["nth"] = [_number(part) for part in _field(call, "nth").replace(" ", "").split(",") if part]
    if _field(call, "description"):
        rule["description"] = _field(call, "description")
    return rule


def faults_create(ctx: Ctx, call: Call) -> Generator[Outside, Any, Response]:
    access.check_post(ctx.runtime, call)
    back = f"{PREFIX}/w/{ctx.ws.id}/faults"
    try:
        rule = _rule_from_form(call)
    except ApiError as exc:
        return redirect(ctx.runtime, back, exc.message, "error")
    body, problem = _attempt("mock.faults_create", rule)
    if problem:
        return redirect(ctx.runtime, back, problem, "error")
    created = yield from operate("mock.faults_create", ctx, call, body)
    return redirect(ctx.runtime, back, f"Fault rule {created['ruleId']} armed.")


def faults_delete(ctx: Ctx, call: Call) -> Generator[Outside, Any, Response]:
    access.check_post(ctx.runtime, call)
    back = f"{PREFIX}/w/{ctx.ws.id}/faults"
    done = yield from operate("mock.faults_delete", ctx, call, path={"ruleId": call.path["ruleId"]})
    return redirect(ctx.runtime, back, f"Fault rule {done['deleted']} removed.")


def faults_clear(ctx: Ctx, call: Call) -> Generator[Outside, Any, Response]:
    access.check_post(ctx.runtime, call)
    back = f"{PREFIX}/w/{ctx.ws.id}/faults"
    done = yield from operate("mock.faults_clear", ctx, call)
    return redirect(ctx.runtime, back, f"{done['cleared']} fault rule(s) removed.")


# --- signing in and out (beyond loopback) ---------------------------------------------------------------

def login(ctx: Ctx, call: Call) -> Response:
    access.check_post(ctx.runtime, call)
    runtime = ctx.runtime
    target = _safe_next(_field(call, "next") or PREFIX)
    if not runtime.config.exposed:
        return redirect(runtime, target)
    token = (call.body or {}).get("token", "")
    try:
        runtime.check_admin(f"Bearer {token}" if isinstance(token, str) and token.strip() else None)
    except ApiError:
        return login_page(runtime, call.cookies, target, status=401, error="That is not this server's admin token.")
    response = redirect(runtime, target, "Signed in.")
    access.set_cookie(runtime, response, access.SESSION_COOKIE, access.new_session(runtime),
                      max_age=access.SESSION_TTL_MS // 1000)
    return response


def logout(ctx: Ctx, call: Call) -> Response:
    access.check_post(ctx.runtime, call)
    response = redirect(ctx.runtime, PREFIX)
    response.delete_cookie(access.SESSION_COOKIE, path=PREFIX)
    return response

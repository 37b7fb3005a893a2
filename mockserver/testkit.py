"""The core of the pytest plugin, with no pytest imports: a handle on one workspace of a running
pacspace-mock (embedded or external) with its clock, faults, webhooks, journal, and assertion
helpers whose failure messages say what was expected and what the ledger holds.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import select
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from .operations import operation, path_of
from .sdk_waits import VirtualWait, VirtualWaits, virtual_waits  # noqa: F401 - part of the testkit's interface

if TYPE_CHECKING:  # imported where used: a session pays only for what its tests touch
    from .proofs.verifier import Report

USER_AGENT = "pacspace-mock-testkit"


def __tracebackhide__(excinfo: Any) -> bool:  # noqa: N807 - pytest reads this name in frames' globals
    """pytest: a failed expectation of a testkit call (AssertionError, MockError) is shown from the
    test's own line, without this module's frames; any other error keeps them. The assertion helpers
    set `__tracebackhide__ = True` themselves."""
    return excinfo is not None and isinstance(excinfo.value, AssertionError)

PLUGIN_DEFAULTS = {"processingDelaySeconds": 0, "verifyDelaySeconds": 0, "webhookDelivery": "manual"}


def key_for(node_id: str, environment: str = "test") -> str:
    """A stable API key per test: the same node id gives the same workspace, replies and hashes."""
    return f"pk_{environment}_{hashlib.sha256(node_id.encode('utf-8')).hexdigest()[:32]}"


class MockError(AssertionError):
    """A control or API call that the test expected to succeed did not."""


def _exact(text: bytes) -> Any:
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


class Reply:
    """A reply of the LoopbackClient: the members of httpx.Response that tests use."""

    def __init__(self, method: str, url: str, status_code: int, headers: http.client.HTTPMessage, content: bytes):
        self.method = method
        self.url = url
        self.status_code = status_code
        self.headers = headers  # case-insensitive .get() and [name]
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)

    def raise_for_status(self) -> None:
        __tracebackhide__ = True  # pytest: the failure shows the caller's line, not this helper's
        if not 200 <= self.status_code < 300:
            raise MockError(f"{self.method} {self.url} answered {self.status_code}: {self.text[:500]}")

    def __repr__(self) -> str:
        return f"<Reply [{self.status_code}]>"


class LoopbackClient:
    """Keep-alive HTTP/1.1 to one pacspace-mock, on the standard library: one connection per
    thread. The workspace's control calls go through it; importing httpx (and, where installed,
    the rich console its CLI pulls in) cost ~60 ms of every session's first test.

    A connection the server closed while idle (uvicorn's keep-alive timeout) is noticed before
    reuse, by its readable end-of-file, and replaced; a request is never sent twice.
    """

    def __init__(self, base_url: str, timeout: float = 30.0):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port
        self._prefix = f"{parts.scheme}://{parts.netloc}"
        self._timeout = timeout
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and conn.sock is not None and select.select([conn.sock], [], [], 0)[0]:
            conn.close()  # readable while idle: the server closed it
        if conn is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            conn = kind(self._host, self._port, timeout=self._timeout)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def request(self, method: str, url: str, content: str | bytes | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        if not url.startswith(self._prefix):
            raise ValueError(f"{url} is not on {self._prefix}")
        body = content.encode("utf-8") if isinstance(content, str) else content
        sent = {"User-Agent": USER_AGENT, **({"Content-Type": "application/json"} if body is not None else {}),
                **(headers or {})}
        conn = self._connection()
        try:
            conn.request(method, url[len(self._prefix):] or "/", body=body, headers=sent)
            response = conn.getresponse()
            data = response.read()
        except BaseException:
            conn.close()  # the next request opens a fresh connection
            raise
        if response.will_close:
            conn.close()
        return Reply(method, url, response.status, response.headers, data)

    def get(self, url: str, **kwargs: Any) -> Reply:
        return self.request("GET", url, **kwargs)

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()


class _Part:
    def __init__(self, ws: "Workspace"):
        self._ws = ws


class Clock(_Part):
    """The workspace's virtual clock (balance-api.md §8.3)."""

    def now(self) -> str:
        return self._ws.operate("mock.clock")["now"]

    def freeze(self, at: str | None = None) -> dict[str, Any]:
        return self._ws.operate("mock.clock_freeze", {"at": at} if at else {})

    def set(self, instant: str) -> dict[str, Any]:
        return self._ws.operate("mock.clock_set", {"at": instant})

    def advance(self, seconds: float | None = None, *, until: str | None = None) -> dict[str, Any]:
        return self._ws.operate("mock.clock_advance", {"until": until} if until else {"seconds": seconds})

    def unfreeze(self) -> dict[str, Any]:
        return self._ws.operate("mock.clock_unfreeze", {})


class Faults(_Part):
    """Fault rules (§8.6). `add(route="balance.emit", error=503, nth=[1])` is shorthand for the
    common case; `add_rule(rule)` takes the full rule object."""

    def add(self, *, route: str | None = None, method: str | None = None, path: str | None = None,
            customer_id: str | None = None, nth: list[int] | None = None, times: int | None = None,
            probability: float | None = None, **action: Any) -> dict[str, Any]:
        actions = {
            "error": lambda v: [{"type": "error", "status": v}],
            "rate_limited": lambda v: [{"type": "rate_limited", "retryAfterSeconds": v}],
            "cadence_limit": lambda v: [{"type": "cadence_limit", "retryAfterSeconds": v}],
            "commit_then_drop": lambda v: [{"type": "commit_then_drop", "status": v}],
            "latency_ms": lambda v: [{"type": "latency", "ms": v}],
            "fail_verification": lambda v: [{"type": "fail_verification"}],
            "chain_unavailable": lambda v: [{"type": "chain_unavailable"}],
        }
        if len(action) != 1 or next(iter(action)) not in actions:
            raise TypeError(f"give exactly one action: {', '.join(actions)}")
        (kind, value), = action.items()
        match = {"route": route, "method": method, "path": path, "customerId": customer_id}
        return self.add_rule({"match": {k: v for k, v in match.items() if v is not None}, "nth": nth, "times": times,
                              "probability": probability, "actions": actions[kind](value)})

    def add_rule(self, rule: dict[str, Any]) -> dict[str, Any]:
        return self._ws.operate("mock.faults_create", rule)

    def list(self) -> list[dict[str, Any]]:
        return self._ws.operate("mock.faults_list")["rules"]

    def clear(self) -> int:
        return self._ws.operate("mock.faults_clear")["cleared"]


class Webhooks(_Part):
    """The outbox (§8.8): every event written, with its exact body and delivery attempts."""

    def config(self, **changes: Any) -> dict[str, Any]:
        if changes:
            return self._ws.operate("mock.webhooks_config_update", changes)
        return self._ws.operate("mock.webhooks_config")

    def drain(self, force: bool = False) -> dict[str, Any]:
        return self._ws.operate("mock.drain", {"force": force})

    def outbox(self, event: str | None = None) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        while True:
            query = f"?limit=1000&offset={len(entries)}" + (f"&event={event}" if event else "")
            page = self._ws.operate("mock.outbox", query=query)
            entries += page["entries"]
            if not page["pagination"]["hasMore"]:
                return entries

    def events(self, event: str | None = None) -> list[dict[str, Any]]:
        """The event envelopes (id, event, tenantId, createdAt, timestamp, data), oldest first."""
        return [json.loads(entry["body"]) for entry in self.outbox(event)]


class Journal(_Part):
    def entries(self, limit: int = 100, route: str | None = None) -> list[dict[str, Any]]:
        query = f"?limit={limit}" + (f"&route={route}" if route else "")
        return self._ws.operate("mock.journal", query=query)["entries"]

    def tail(self, limit: int = 15, bodies: bool = True) -> str:
        """The newest requests, oldest first: for failure reports. Each line names the request and
        its outcome; with `bodies`, what was sent and what came back follow (shortened)."""
        query = f"?limit={limit}" + ("&exchange=true" if bodies else "")
        lines = []
        for e in reversed(self._ws.operate("mock.journal", query=query)["entries"]):
            fault = f" fault={e['fault']['ruleId']}" if e.get("fault") else ""
            replay = " replay" if e.get("idempotentReplay") else ""
            code = f" {e['errorCode']}" if e.get("errorCode") else ""
            lines.append(f"#{e['seq']} {e['at']} {e['method']} {e['path']}{'?' + e['query'] if e['query'] else ''}"
                         f" -> {e['status']}{code}{fault}{replay}")
            if bodies and e.get("exchange"):
                exchange = Exchange(e)
                for label, text in (("sent", exchange.request_body), ("got ", exchange.response_body)):
                    if text:
                        lines.append(f"    {label}: {_shorten(text, 300)}")
        return "\n".join(lines) or "(no requests)"


class Exchange:
    """One recorded request of the workspace and the reply it got (§8.7 with `exchange=true`):
    headers with credentials redacted, bodies up to 64 KiB (`truncated` says when cut)."""

    def __init__(self, entry: dict[str, Any]):
        self.entry = {k: v for k, v in entry.items() if k != "exchange"}
        exchange = entry.get("exchange") or {"request": {}, "response": {}}
        self.request, self.response = exchange["request"], exchange["response"]
        self.seq: int = entry["seq"]
        self.at: str = entry["at"]
        self.method: str = entry["method"]
        self.path: str = entry["path"]
        self.route: str = entry["route"]
        self.status: int = entry["status"]

    @property
    def request_body(self) -> str | None:
        return self.request.get("body")

    @property
    def response_body(self) -> str | None:
        return self.response.get("body")

    @property
    def json(self) -> Any:
        """The request body as JSON with exact decimals (None when it is not JSON or was cut)."""
        return _json_or_none(self.request_body, self.request.get("truncated"))

    @property
    def reply(self) -> Any:
        """The reply body as JSON with exact decimals (None when it is not JSON or was cut)."""
        return _json_or_none(self.response_body, self.response.get("truncated"))

    def items(self) -> list[dict[str, Any]]:
        """The deltas the request sent: a batch's items, or the emitted delta itself."""
        body = self.json
        if isinstance(body, dict) and isinstance(body.get("deltas"), list):
            return [item for item in body["deltas"] if isinstance(item, dict)]
        return [body] if isinstance(body, dict) else []

    def summary(self, width: int = 300) -> str:
        """One line for the request, one for the reply: what a failure report shows."""
        query = f"?{self.entry['query']}" if self.entry.get("query") else ""
        sent = _shorten(self.request_body, width)
        got = _shorten(self.response_body, width)
        return (f"#{self.seq} {self.at} {self.method} {self.path}{query} -> {self.status}"
                + (f"\n    sent: {sent}" if sent else "") + (f"\n    got:  {got}" if got else ""))

    def __repr__(self) -> str:
        return f"<Exchange #{self.seq} {self.method} {self.path} -> {self.status}>"


def _json_or_none(text: str | None, truncated: bool | None) -> Any:
    if not text or truncated:
        return None
    try:
        return _exact(text.encode("utf-8"))
    except ValueError:
        return None


def _shorten(text: str | None, width: int) -> str:
    if not text:
        return ""
    return text if len(text) <= width else f"{text[:width]}… ({len(text)} characters)"


def _show(value: Any) -> str:
    return str(value) if isinstance(value, Decimal) else repr(value)


def _expected(value: Any) -> Any:
    """A test's expected value compared with exact decimals: 0.1 means the decimal 0.1."""
    return Decimal(repr(value)) if isinstance(value, float) else value


class Workspace:
    """One workspace (one API key) of a running pacspace-mock."""

    def __init__(self, base_url: str, key: str, http: Any = None):
        self.base_url = base_url.rstrip("/")
        self.key = key
        # shared, keep-alive; the key travels per request. Anything with httpx's
        # request(method, url, content=, headers=) will do.
        self.http = http if http is not None else LoopbackClient(self.base_url)
        self.clock = Clock(self)
        self.faults = Faults(self)
        self.webhooks = Webhooks(self)
        self.journal = Journal(self)

    # --- raw calls ---------------------------------------------------------------------------

    def request(self, method: str, path: str, json_body: Any = None, **kwargs: Any) -> Reply:
        headers = {"X-Api-Key": self.key, **kwargs.pop("headers", {})}
        content = None if json_body is None else json.dumps(json_body)
        return self.http.request(method, self.base_url + path, content=content, headers=headers, **kwargs)

    def call(self, method: str, path: str, json_body: Any = None, **kwargs: Any) -> Any:
        """An API call that must succeed; returns `data` with exact decimals."""
        __tracebackhide__ = True
        response = self.request(method, path, json_body, **kwargs)
        if not 200 <= response.status_code < 300:
            raise MockError(f"{method} {path} answered {response.status_code}: {response.text[:500]}")
        return _exact(response.content)["data"]

    def control(self, method: str, path: str, json_body: Any = None) -> Any:
        __tracebackhide__ = True
        response = self.request(method, path, json_body)
        if not 200 <= response.status_code < 300:
            raise MockError(f"control call {method} {path} failed with {response.status_code}: {response.text[:500]}")
        return response.json()["data"]

    def operate(self, name: str, json_body: Any = None, query: str = "", **params: str) -> Any:
        """A control call by operation name (mockserver/operations.py), path parameters encoded."""
        __tracebackhide__ = True
        op = operation(name)
        path = op.url(**{k: quote(v, safe="") for k, v in params.items()})
        return self.control(op.method, path + query, json_body)

    def settings(self, **changes: Any) -> dict[str, Any]:
        if changes:
            return self.operate("mock.settings_update", changes)
        return self.operate("mock.settings")

    def reset(self) -> dict[str, Any]:
        return self.operate("mock.reset", {})

    def export_state(self) -> bytes:
        response = self.http.get(self.base_url + path_of("mock.state_export"))
        response.raise_for_status()
        return response.content

    # --- recorded exchanges ------------------------------------------------------------------

    def requests(self, route: str | None = None, *, status: int | None = None, customer_id: str | None = None,
                 reference_id: str | None = None, since: str | None = None, until: str | None = None,
                 limit: int = 1000) -> list[Exchange]:
        """The workspace's recorded requests with their bodies, oldest first (the journal keeps
        the last `journalSize`): filtered by route name (`balance.emit`), status, a customer or
        referenceId the request named, and virtual time (`since` inclusive, `until` exclusive)."""
        params = {"exchange": "true", "limit": str(limit), "route": route, "status": status, "customerId": customer_id,
                  "referenceId": reference_id, "since": since, "until": until}
        query = "?" + "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items() if v is not None)
        return [Exchange(e) for e in reversed(self.operate("mock.journal", query=query)["entries"])]

    def assert_requested(self, route: str | None = None, count: int | None = None, **fields: Any) -> list[dict[str, Any]]:
        """The delta items the app sent (an emit's body, each item of a batch) whose members equal
        `fields` (`metadata__plan="pro"` reaches into metadata); exactly `count` of them if given,
        else at least one. Amounts compare as exact decimals. Returns the matching items."""
        __tracebackhide__ = True
        wanted = {name.replace("__", "."): _expected(value) for name, value in fields.items()}
        sent = [(x, i, item) for x in self.requests(route) for i, item in enumerate(x.items())]
        matching = [item for _, _, item in sent if all(_member(item, n) == v for n, v in wanted.items())]
        if (count is None and matching) or (count is not None and len(matching) == count):
            return matching
        expected = f"{count if count is not None else 'at least one'} delta(s)"
        where = f" on {route}" if route else ""
        shown = ", ".join(f"{n}={_show(v)}" for n, v in wanted.items())
        lines = []
        ranked = sorted(sent, key=lambda s: -sum(_member(s[2], n) == v for n, v in wanted.items()))
        for exchange, index, item in ranked[:5]:
            checks = ", ".join(f"{n}={_show(_member(item, n))}" + (" ok" if _member(item, n) == v else f" (not {_show(v)})")
                               for n, v in wanted.items())
            where_in = f" item {index}" if len(exchange.items()) > 1 else ""
            lines.append(f"  #{exchange.seq} {exchange.method} {exchange.path}{where_in} -> {exchange.status}: {checks}")
        raise AssertionError(
            f"expected {expected}{where} with {shown or 'any members'}; the app sent {len(matching)} matching of "
            f"{len(sent)} delta(s) in {len({s[0].seq for s in sent})} request(s)"
            + (". Closest:\n" + "\n".join(lines) if lines else " (no requests recorded)"))

    def export_workspace_state(self) -> bytes:
        """The server's state file (§8.9) with only this workspace's rows: a database to open with
        `pacspace-mock serve --db FILE` and inspect with this key."""
        import os
        import sqlite3
        import tempfile

        from .store.workspaces import keep_only

        facts = self.operate("mock.workspace")
        fd, name = tempfile.mkstemp(suffix=".sqlite")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(self.export_state())
            conn = sqlite3.connect(name, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode = DELETE")  # one file, whatever the server used
                conn.execute("BEGIN")
                keep_only(conn, facts["environment"], facts["publicId"])
                conn.execute("COMMIT")
                conn.execute("VACUUM")
            finally:
                conn.close()
            with open(name, "rb") as f:
                return f.read()
        finally:
            os.unlink(name)

    # --- billing assertions ------------------------------------------------------------------

    def verified_total(self, customer_id: str, period: str | None = None) -> Decimal:
        query = f"?period={period}" if period else ""
        return self.call("GET", path_of("balance.derive", customerId=quote(customer_id, safe="")) + query)["computedBalance"]

    def assert_balance(self, customer_id: str, expected: Any, period: str | None = None) -> dict[str, Any]:
        """The customer's verified total for a period (default: the current virtual month)."""
        __tracebackhide__ = True
        scope = f"?period={period}&limit=1000" if period else "?limit=1000"
        response = self.request("GET", path_of("balance.derive", customerId=quote(customer_id, safe="")) + scope)
        if response.status_code == 404:
            raise AssertionError(f"expected a verified balance of {expected} for {customer_id}, "
                                 f"but the workspace has no customer {customer_id!r}")
        data = _exact(response.content)["data"]
        if data["computedBalance"] != Decimal(str(expected)):
            lines = "\n".join(f"  #{d['sequence']} {d['recordedAt']} {d['delta']} {d['reason']!r}"
                              for d in data["deltas"][:20])
            raise AssertionError(
                f"expected a verified balance of {expected} for {customer_id} in {data['scope']['period'] or 'the scope'},"
                f" the ledger holds {data['computedBalance']} over {data['deltasCount']} verified deltas"
                f" ({data['pendingCount']} pending, {data['failedCount']} failed):\n{lines}"
            )
        return data

    def assert_receipt_verifies(self, customer_id: str, period: str | None = None) -> Report:
        """Fetch the customer's receipt (scoped to `period`, else all-time) and verify it offline."""
        __tracebackhide__ = True
        query = f"?period={period}" if period else ""
        response = self.request("GET", path_of("balance.receipt", customerId=quote(customer_id, safe="")) + query)
        if response.status_code != 200:
            raise AssertionError(f"expected a receipt for {customer_id}, got {response.status_code}: {response.text[:300]}")
        from .proofs.verifier import verify_receipt

        report = verify_receipt(response.content)
        if not report.ok:
            raise AssertionError(f"the receipt of {customer_id} does not verify offline; failed checks: "
                                 f"{', '.join(report.failed)}\n" + "\n".join(report.messages))
        return report

    def assert_webhook(self, event: str, count: int | None = None, **data: Any) -> list[dict[str, Any]]:
        """Events of a type whose `data` members equal the given values; `count` if given.

        A failure lists each event of the type it looked at (up to 50) with the members it filtered on,
        whole, and whether they matched; without filters, each event's whole `data`."""
        __tracebackhide__ = True
        events = self.webhooks.events(event)
        matching = [e for e in events if _matches(e["data"], data)]
        if (count is None and not matching) or (count is not None and len(matching) != count):
            wanted = f"{count if count is not None else 'at least one'} {event} event(s)"
            where = f" with {data}" if data else ""
            seen = [_event_line(e, data) for e in events[:WEBHOOK_EVENTS_SHOWN]]
            if len(events) > WEBHOOK_EVENTS_SHOWN:
                seen.append(f"  … {len(events) - WEBHOOK_EVENTS_SHOWN} more")
            listing = "\n".join(seen) or "  (none)"
            raise AssertionError(f"expected {wanted}{where}; the outbox holds {len(matching)} matching of "
                                 f"{len(events)} {event} event(s):\n{listing}")
        return matching


WEBHOOK_EVENTS_SHOWN = 50
_ABSENT = object()


def _matches(data: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return all(_member(data, name) == value for name, value in wanted.items())


def _event_line(envelope: dict[str, Any], wanted: dict[str, Any]) -> str:
    """One event of an assert_webhook failure: id, time, and the filtered members (or all of data)."""
    head = f"  {envelope['id']} {envelope['createdAt']}"
    data = envelope["data"]
    if not wanted:
        return f"{head} {json.dumps(data, ensure_ascii=False)}"
    fields = []
    for name in wanted:
        value = _member(data, name, _ABSENT)
        shown = "(absent)" if value is _ABSENT else json.dumps(value, ensure_ascii=False, default=str)
        fields.append(f"{name}={shown}")
    return f"{head} {'matches' if _matches(data, wanted) else 'differs'}: {', '.join(fields)}"


def _member(data: dict[str, Any], name: str, absent: Any = None) -> Any:
    """`customerId`, or a dotted path such as `delta.customerId`."""
    value: Any = data
    for part in re.split(r"\.", name):
        if not isinstance(value, dict) or part not in value:
            return absent
        value = value[part]
    return value


class WebhookReceiver:
    """A tiny HTTP endpoint on loopback that records every webhook POSTed to it.

    Each test gets its own path (`url_for(name)`); `status` sets what a path answers, so a
    failing endpoint is one line.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: dict[str, list[dict[str, Any]]] = {}
        self._status: dict[str, int] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver._received.setdefault(self.path, []).append(
                        {"headers": dict(self.headers.items()), "body": body.decode("utf-8")})
                    status = receiver._status.get(self.path, 200)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # serve_forever checks for shutdown once per poll interval: 0.05 s, not the default 0.5 s
        # that close() would wait at the end of every session
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url_for(self, name: str) -> str:
        return f"{self.base_url}/{hashlib.sha256(name.encode()).hexdigest()[:16]}"

    def received(self, url: str) -> list[dict[str, Any]]:
        path = url[len(self.base_url):]
        with self._lock:
            return list(self._received.get(path, []))

    def respond_with(self, url: str, status: int) -> None:
        with self._lock:
            self._status[url[len(self.base_url):]] = status

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

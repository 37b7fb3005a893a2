"""The contract's limits as ONE table (balance-api.md §1.2, §1.3, §1.8, §1.12, §2.4, §5, §8).

Every row is one limit: the value exactly at the limit, the value one step past it, and what the
rejection must look like (status, code, `details.reason`, and `details.field` naming the field).
Every row lists every route (site) that takes the field; each (limit, site) pair is one test id,
`<limit>@<site>`. A test sends the rejected value first (and, on write routes, checks that nothing
was written), then the accepted one (which must succeed with the route's success status).

So a mutation such as `len(reason) > 500` -> `>= 500` fails `reason-max@emit` (500 code points
must give 201), and `> 500` -> `> 501` fails it the other way (501 must give 400 too_long).

Values are JSON text where it matters: `Num("1e21")` is sent as that exact number literal (the
server parses numbers as exact decimals, §1.7). Bodies are sent with non-canonical whitespace
(`", "`, `": "`), so the metadata byte limit is also checked to be counted on the canonical form.

Reasons: where the contract names the `details.reason` (§1.8 table, §1.12/§1.8 query rules, §2.4
codes) it is asserted exactly. Where the contract only says "400 VALIDATION_ERROR naming the field"
(headers, control plane, dashboard), a row gives the set of reasons that the §1.4 vocabulary allows
for that kind of failure (a string over its maximum: `too_long`/`format`; a number or list size
out of range: `range`/`too_long`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Any, Callable
from urllib.parse import quote

import pytest

B = "/api/v1/balance"
NOW = "2026-02-10T00:00:00.000Z"  # every test freezes its workspace clock here first
CUST = "cust_1"
BEARER = {"Authorization": "Bearer dashboard-token"}
VOCABULARY = {"required", "type", "format", "range", "too_long", "unknown_field", "unknown", "future", "conflict",
              "invalid_json", "not_allowed"}
MIB = 1_048_576


# --- request text ----------------------------------------------------------------------------------

class Num(str):
    """A JSON number sent exactly as written (no float round trip)."""


def dump(value: Any) -> str:
    """JSON text with non-canonical separators; Num values are written verbatim; UTF-8 as-is."""
    if isinstance(value, Num):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(dump(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


class Fields(dict):
    """A value that is several top-level members / query parameters at once (scope windows)."""


def put(doc: dict, path: str, value: Any) -> dict:
    """Set `value` at a request path such as `deltas[0].reason`, `limits.maxScopeMonths`."""
    node: Any = doc
    parts = []
    for segment in path.split("."):
        name, _, rest = segment.partition("[")
        parts.append(name)
        parts += [int(i) for i in rest.rstrip("]").split("][")] if rest else []
    for part in parts[:-1]:
        if isinstance(node, dict) and part not in node:
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value
    return doc


def nested_arrays(depth: int) -> Num:
    return Num("[" * depth + "]" * depth)


# --- the workspace a test runs in --------------------------------------------------------------------

class World:
    """The test's workspace, clock frozen at NOW; objects the routes need are made on first use."""

    def __init__(self, mock):
        self.mock = mock
        self.prepared: dict[str, Any] = {}
        mock.freeze(NOW)

    @cached_property
    def delta(self) -> dict:
        return self.mock.ok("POST", f"{B}/delta", 201,
                            json={"customerId": CUST, "delta": -5, "reason": "usage", "referenceId": "world-1"})

    @cached_property
    def customer(self) -> str:
        return self.delta["customerId"]

    @cached_property
    def checkpoint(self) -> dict:
        self.delta
        return self.mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": CUST, "period": "2026-02"})

    @cached_property
    def event(self) -> str:
        self.delta  # verified (zero delays) on the next request, which writes delta.verified
        deliveries = self.mock.ok("GET", f"{B}/webhooks")["deliveries"]
        return deliveries[0]["eventId"]

    def key(self, public_len: int | None = None, secret_len: int | None = None, env: str = "test") -> str:
        """A key of this test's own (derived from its workspace key) with the given part lengths."""
        own = self.mock.key.split("_", 2)[2]
        public = own if public_len is None else (own * 4)[:public_len] if public_len > 1 else "Z" * public_len
        secret = "" if secret_len is None else "." + "s" * secret_len
        return f"pk_{env}_{public}{secret}"

    # what a rejected request must leave unchanged
    def snapshot(self, what: str) -> Any:
        paths = {"counts": "/_mock/workspace", "settings": "/_mock/settings", "faults": "/_mock/faults",
                 "clock": "/_mock/clock", "webhooks": "/_mock/webhooks/config"}
        data = self.mock.ok("GET", paths[what])
        return data["counts"] if what == "counts" else data


def prepare_customer(world: World, value: str) -> None:
    """Make the customer named by an accepted customerId exist (routes that need an existing one)."""
    world.mock.ok("POST", f"{B}/delta", 201, json={"customerId": value, "delta": 1, "reason": "setup"})


def prepare_checkpoint(world: World, value: str) -> None:
    prepare_customer(world, value)
    chk = world.mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": value, "period": "2026-02"})
    world.prepared["checkpoint"] = chk["checkpointId"]


# --- sites: a route and a place in its request ----------------------------------------------------------

@dataclass(frozen=True)
class Site:
    id: str
    method: str
    path: str                                   # may use {customer} {checkpoint} {root} {batch} {event} {v}
    kind: str                                   # body | query | path | header | key | size | chunked | nesting
    ok: int = 200                               # success status of an accepted request
    prefix: str = ""                            # where the row's field sits in the body (batch items)
    base: Callable[["World"], Any] = lambda w: {}
    headers: dict = field(default_factory=dict)
    state: str | None = None                    # what a rejected request must not change
    prepare: Callable[["World", Any], None] | None = None  # before an accepted customerId value

    def url_path(self, world: World, value: Any) -> str:
        class Lazy(dict):
            def __missing__(_, name):
                if name == "v":
                    return quote(str(value), safe="")
                if name == "customer":
                    return world.customer
                if name == "checkpoint":
                    return world.checkpoint["checkpointId"]
                if name == "root":
                    return world.checkpoint["proofRoot"]
                if name == "batch":
                    return world.delta["receiptId"]
                if name == "event":
                    return world.event
                raise KeyError(name)

        return self.path.format_map(Lazy())

    def send(self, world: World, field_name: str | None, value: Any):
        mock = world.mock
        path = self.url_path(world, value)
        headers = dict(self.headers)
        base = self.base(world)
        if self.kind == "key":  # the key under test replaces the workspace's own
            headers["X-Api-Key"] = value
            data = dump(base).encode("utf-8") if self.method == "POST" else None
            return mock.call(self.method, path, headers=headers, data=data)
        if self.kind in ("query", "path"):
            params = dict(base)
            if self.kind == "query":
                params.update(value if isinstance(value, Fields) else {field_name: value})
            return mock.call(self.method, path, params=params, headers=headers)
        if self.kind == "header":
            headers[field_name] = value
            return mock.call(self.method, path, headers=headers, data=dump(base).encode("utf-8"))
        if self.kind in ("size", "chunked"):
            text = dump(base).encode("utf-8")
            assert len(text) <= value
            raw = text + b" " * (value - len(text))
            if self.kind == "chunked":  # no Content-Length: the server must count the streamed bytes
                data = (raw[i:i + 65536] for i in range(0, len(raw), 65536))
                return mock.call(self.method, path, headers=headers, data=data)
            return mock.call(self.method, path, headers=headers, data=raw)
        if self.kind == "nesting":
            doc = dict(base)
            doc["zz"] = nested_arrays(value - 1)  # the body object itself is level 1
            return mock.call(self.method, path, headers=headers, data=dump(doc).encode("utf-8"))
        assert self.kind == "body"
        doc = base
        if isinstance(value, Fields):
            doc.update(value)
        else:
            put(doc, self.prefix + field_name, value)
        return mock.call(self.method, path, headers=headers, data=dump(doc).encode("utf-8"))


def emit_body(w=None) -> dict:
    return {"customerId": CUST, "delta": 1, "reason": "usage"}


FULL_LIMITS = {"maxScopeMonths": 24, "maxLastNDays": 90, "maxRetentionDays": 730}
FAULT_RULE = {"match": {"route": "balance.limits"}, "actions": [{"type": "error", "status": 503}]}

# body sites
EMIT = Site("emit", "POST", f"{B}/delta", "body", 201, base=emit_body, state="counts")
BATCH = Site("batch", "POST", f"{B}/delta/batch", "body", 201, prefix="deltas[0].",
             base=lambda w: {"deltas": [emit_body()]}, state="counts")
BATCH_LIST = Site("batch", "POST", f"{B}/delta/batch", "body", 201, base=lambda w: {}, state="counts")
COMPARE = Site("compare", "POST", f"{B}/compare", "body", 201, state="counts",
               base=lambda w: {"customerId": w.customer, "yourBalance": 0, "theirBalance": 0})
COMPARE_CUSTOMER = Site("compare", "POST", f"{B}/compare", "body", 201, state="counts", prepare=prepare_customer,
                        base=lambda w: {"yourBalance": 0, "theirBalance": 0})
CHECKPOINT = Site("checkpoint", "POST", f"{B}/checkpoint", "body", 201, state="counts",
                  base=lambda w: {"customerId": w.customer})
CHECKPOINT_CUSTOMER = Site("checkpoint", "POST", f"{B}/checkpoint", "body", 201, state="counts",
                           prepare=prepare_customer, base=lambda w: {"period": "2026-02"})
CHECKPOINT_SELECTED = Site("checkpoint", "POST", f"{B}/checkpoint", "body", 201, state="counts",
                           base=lambda w: {"customerId": w.customer, "period": "2026-02", "mode": "selected"})
DASHBOARD = Site("dashboard", "POST", "/dashboard/customers", "body", 201, headers=BEARER, state="counts",
                 base=lambda w: {"displayName": "Acme"})
SETTINGS = Site("settings", "PATCH", "/_mock/settings", "body", state="settings")
SEED = Site("seed", "POST", "/_mock/seed", "body", state="settings")
FAULTS = Site("faults", "POST", "/_mock/faults", "body", 201, state="faults",
              base=lambda w: json.loads(json.dumps(FAULT_RULE)))
ADVANCE = Site("clock-advance", "POST", "/_mock/clock/advance", "body", state="clock")
WEBHOOK_CONFIG = Site("webhook-config", "PUT", "/_mock/webhooks/config", "body", state="webhooks")

# header sites (Idempotency-Key)
EMIT_H = Site("emit", "POST", f"{B}/delta", "header", 201, base=emit_body, state="counts")
BATCH_H = Site("batch", "POST", f"{B}/delta/batch", "header", 201, base=lambda w: {"deltas": [emit_body()]},
               state="counts")
CHECKPOINT_H = Site("checkpoint", "POST", f"{B}/checkpoint", "header", 201, base=lambda w: {"customerId": w.customer},
                    state="counts")

# X-Api-Key sites (§1.2; a rejected key has no workspace to inspect)
KEY_SITES = (
    Site("usage", "GET", f"{B}/usage", "key"),
    Site("emit", "POST", f"{B}/delta", "key", 201, base=emit_body),
    Site("dashboard", "POST", "/dashboard/customers", "key", 201, headers=BEARER,
         base=lambda w: {"displayName": "Key test"}),
    Site("mock-workspace", "GET", "/_mock/workspace", "key"),
)

# customerId as a path parameter / query parameter
def _path_site(id_: str, template: str, state: str | None = None) -> Site:
    return Site(id_, "GET", template, "path", prepare=prepare_customer, state=state)


CUSTOMER_PATH_SITES = (
    _path_site("derive", f"{B}/derive/{{v}}"),
    _path_site("receipt", f"{B}/receipt/{{v}}", "counts"),  # may commit a checkpoint
    _path_site("invoice-proof", f"{B}/invoice-proof/{{v}}", "counts"),
    _path_site("gaps", f"{B}/gaps/{{v}}"),
    _path_site("customer", f"{B}/customers/{{v}}"),
    _path_site("customer-receipts", f"{B}/customers/{{v}}/receipts"),
)
CHECKPOINTS_LIST_Q = Site("checkpoints-list", "GET", f"{B}/checkpoints", "query")
CHECKPOINTS_COMPARE_Q = Site(
    "checkpoints-compare", "GET", f"{B}/checkpoints/compare", "query", prepare=prepare_checkpoint,
    base=lambda w: {"from": w.prepared.get("checkpoint", "chk_none"), "to": w.prepared.get("checkpoint", "chk_none")},
)

# query sites (paging and scope)
DERIVE_Q = Site("derive", "GET", f"{B}/derive/{{customer}}", "query")
RECEIPT_Q = Site("receipt", "GET", f"{B}/receipt/{{customer}}", "query", state="counts")
INVOICE_Q = Site("invoice-proof", "GET", f"{B}/invoice-proof/{{customer}}", "query", state="counts")
GAPS_Q = Site("gaps", "GET", f"{B}/gaps/{{customer}}", "query")
CUSTOMERS_Q = Site("customers", "GET", f"{B}/customers", "query")
CUSTOMER_Q = Site("customer", "GET", f"{B}/customers/{{customer}}", "query")
CUSTOMER_RECEIPTS_Q = Site("customer-receipts", "GET", f"{B}/customers/{{customer}}/receipts", "query")
RECEIPT_DOC_Q = Site("receipt-document", "GET", f"{B}/receipts/{{checkpoint}}", "query")
WEBHOOKS_Q = Site("webhooks", "GET", f"{B}/webhooks", "query")
VERIFY_Q = Site("public-verify", "GET", "/api/v1/verify/{root}", "query")
VERIFY_BATCH_Q = Site("public-verify-batch", "GET", "/api/v1/verify/{batch}", "query")
PUBLIC_RECEIPT_Q = Site("public-receipt", "GET", "/api/v1/receipt/{checkpoint}", "query")
JOURNAL_Q = Site("journal", "GET", "/_mock/journal", "query")
OUTBOX_Q = Site("outbox", "GET", "/_mock/webhooks/outbox", "query")
CHECKPOINTS_Q = CHECKPOINTS_LIST_Q

# whole-body sites (size and nesting): every route that reads a JSON body
def _body_sites(kind: str) -> tuple[Site, ...]:
    return (
        Site("emit", "POST", f"{B}/delta", kind, 201, base=emit_body, state="counts"),
        Site("batch", "POST", f"{B}/delta/batch", kind, 201, base=lambda w: {"deltas": [emit_body()]}, state="counts"),
        Site("compare", "POST", f"{B}/compare", kind, 201, state="counts",
             base=lambda w: {"customerId": w.customer, "yourBalance": 0, "theirBalance": 0}),
        Site("checkpoint", "POST", f"{B}/checkpoint", kind, 201, base=lambda w: {"customerId": w.customer},
             state="counts"),
        Site("webhook-retry", "POST", f"{B}/webhooks/{{event}}/retry", kind, 200, state="counts"),
        Site("dashboard", "POST", "/dashboard/customers", kind, 201, headers=BEARER, state="counts",
             base=lambda w: {"displayName": "Acme"}),
        Site("settings", "PATCH", "/_mock/settings", kind, state="settings"),
        Site("faults", "POST", "/_mock/faults", kind, 201, state="faults",
             base=lambda w: json.loads(json.dumps(FAULT_RULE))),
        Site("clock-advance", "POST", "/_mock/clock/advance", kind, state="clock", base=lambda w: {"seconds": 1}),
        Site("webhook-config", "PUT", "/_mock/webhooks/config", kind, state="webhooks"),
    )


SIZE_SITES = _body_sites("size")
NESTING_SITES = _body_sites("nesting")
SCOPE_SITES = (DERIVE_Q, COMPARE, CHECKPOINT, CHECKPOINTS_Q, RECEIPT_Q, INVOICE_Q)


# --- the table --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Limit:
    id: str
    field: str | None                 # the field as the row names it (site prefix added for batch items)
    sites: tuple[Site, ...]
    ok: Any                           # the value exactly at the limit (or callable(world) -> value)
    bad: Any                          # one step past it (or callable(world) -> value)
    reason: str | frozenset | None = None  # exact details.reason, or the set the contract leaves open
    status: int = 400
    code: str = "VALIDATION_ERROR"
    details: dict | None = None       # expected members of error.details (scope limits)
    accepted: tuple | None = None     # (status, code, field, reason) when "accepted" is a later error
    bad_field: str | None = None      # details.field of the rejection when it is not `field`
    alt_fields: tuple = ()            # other acceptable details.field spellings
    note: str = ""


def s(n: int, ch: str = "x") -> str:
    return ch * n


OPEN_LONG = frozenset({"too_long", "format"})      # a string over its maximum where the contract names no reason
OPEN_COUNT = frozenset({"range", "too_long"})      # a list size / number out of range, reason not named
OPEN_PRECISION = frozenset({"range", "format"})    # more than millisecond precision

DAYS_800 = {(date(2024, 1, 1) + timedelta(days=i)).isoformat(): 0 for i in range(800)}
DAYS_801 = {**DAYS_800, (date(2024, 1, 1) + timedelta(days=800)).isoformat(): 0}
FAKE_FPS = ["0x" + format(i, "064x") for i in range(1, 10_001)]
ORIGINS_20 = [f"http://o{i}.test" for i in range(20)]
WIN_24 = Fields(startDate="2024-03-01", endDate="2026-03-01")                   # exactly 24 months
WIN_24_1MS = Fields(startDate="2024-03-01", endDate="2026-03-01T00:00:00.001Z")  # 24 months + 1 ms
WIN_24_END = Fields(startDate="2024-03-31T00:00:00.000Z", endDate="2026-03-31T00:00:00.000Z")
WIN_24_END_1MS = Fields(startDate="2024-03-31T00:00:00.000Z", endDate="2026-03-31T00:00:00.001Z")
RETAIN_730 = Fields(startDate="2024-02-11T00:00:00.000Z", endDate="2024-02-12T00:00:00.000Z")  # NOW - 730 days
RETAIN_731 = Fields(startDate="2024-02-10T23:59:59.999Z", endDate="2024-02-12T00:00:00.000Z")  # 1 ms earlier
LARGEST = s(21, "9") + "." + s(9, "9")  # 10^21 - 10^-9: 30 significant digits
TEN_YEARS_S = 315_532_800  # NOW 2026-02-10 -> 2036-02-10: 3652 days

LIMIT_1000_SITES = (DERIVE_Q, RECEIPT_Q, INVOICE_Q, GAPS_Q, RECEIPT_DOC_Q, VERIFY_Q, VERIFY_BATCH_Q, PUBLIC_RECEIPT_Q,
                    JOURNAL_Q, OUTBOX_Q)
LIMIT_100_SITES = (CHECKPOINTS_Q, CUSTOMERS_Q, CUSTOMER_RECEIPTS_Q, WEBHOOKS_Q)
OFFSET_SITES = (DERIVE_Q, CHECKPOINTS_Q, RECEIPT_Q, INVOICE_Q, CUSTOMER_RECEIPTS_Q, RECEIPT_DOC_Q, VERIFY_Q,
                PUBLIC_RECEIPT_Q, WEBHOOKS_Q, OUTBOX_Q)
CUSTOMER_BODY_SITES = (EMIT, BATCH, COMPARE_CUSTOMER, CHECKPOINT_CUSTOMER, DASHBOARD)
CUSTOMER_QUERY_SITES = (CHECKPOINTS_LIST_Q, CHECKPOINTS_COMPARE_Q)
AMOUNT_SITES = (DERIVE_Q, COMPARE)          # startingBalance: query (derive) and body (compare)
DELTA_SITES = (EMIT, BATCH)

TABLE: list[Limit] = [
    # §1.2 X-Api-Key grammar: public id 1-64, secret 1-128, whole key <= 256 -> 401 INVALID_API_KEY
    Limit("key-public-id-max", None, KEY_SITES, lambda w: w.key(64), lambda w: w.key(65), status=401,
          code="INVALID_API_KEY"),
    Limit("key-public-id-min", None, KEY_SITES, lambda w: w.key(1), lambda w: w.key(0), status=401,
          code="INVALID_API_KEY"),
    Limit("key-secret-max", None, KEY_SITES, lambda w: w.key(None, 128), lambda w: w.key(None, 129), status=401,
          code="INVALID_API_KEY"),
    Limit("key-secret-min", None, KEY_SITES, lambda w: w.key(None, 1), lambda w: w.key(None, 0), status=401,
          code="INVALID_API_KEY"),
    Limit("key-whole-max", None, KEY_SITES, lambda w: w.key(64, 128), lambda w: w.key(64, 128) + s(56, "s"),
          status=401, code="INVALID_API_KEY",
          note="the grammar caps a key at 201 characters; 257 is rejected either way"),
    Limit("key-live-public-id-max", None, KEY_SITES[:1], lambda w: w.key(64, env="live"),
          lambda w: w.key(65, env="live"), status=401, code="INVALID_API_KEY"),

    # §1.3 Idempotency-Key: 1-255 printable ASCII (0x21-0x7E)
    Limit("idempotency-key-max", "Idempotency-Key", (EMIT_H, BATCH_H, CHECKPOINT_H), s(255, "k"), s(256, "k"),
          OPEN_LONG),
    Limit("idempotency-key-min", "Idempotency-Key", (EMIT_H, BATCH_H, CHECKPOINT_H), "k", "", OPEN_LONG | {"required"}),
    Limit("idempotency-key-chars", "Idempotency-Key", (EMIT_H, BATCH_H, CHECKPOINT_H), "!" + s(253, "k") + "~",
          "!" + s(126, "k") + " " + s(126, "k") + "~", "format"),
    Limit("idempotency-key-ascii", "Idempotency-Key", (EMIT_H, BATCH_H, CHECKPOINT_H), "k~", "k\u00e9", "format"),

    # §1.8 customerId 1-128 in bodies, path parameters and query parameters
    Limit("customerId-max", "customerId", CUSTOMER_BODY_SITES, s(128, "c"), s(129, "c"), "too_long"),
    Limit("customerId-min", "customerId", CUSTOMER_BODY_SITES, "c", "", "format"),
    Limit("customerId-path-max", "customerId", CUSTOMER_PATH_SITES, s(128, "c"), s(129, "c"), "too_long"),
    Limit("customerId-query-max", "customerId", CUSTOMER_QUERY_SITES, s(128, "c"), s(129, "c"), "too_long"),
    Limit("customerId-query-min", "customerId", CUSTOMER_QUERY_SITES, "c", "", "required"),

    # §1.8 delta: |x| <= 1e9, <= 15 significant digits, <= 18 fractional digits, non-zero
    Limit("delta-magnitude-max", "delta", DELTA_SITES, Num("1000000000"), Num("1000000001"), "range"),
    Limit("delta-magnitude-min", "delta", DELTA_SITES, Num("-1000000000"), Num("-1000000001"), "range"),
    Limit("delta-magnitude-exp", "delta", DELTA_SITES, Num("1E+9"), Num("1.000000001e9"), "range"),
    Limit("delta-significant", "delta", DELTA_SITES, Num("123456789.123456"), Num("123456789.1234567"), "range"),
    Limit("delta-significant-small", "delta", DELTA_SITES, Num("0.00123456789012345"), Num("0.001234567890123456"),
          "range"),
    Limit("delta-fraction", "delta", DELTA_SITES, Num("0.000000000000000001"), Num("0.0000000000000000001"), "range"),
    Limit("delta-nonzero", "delta", DELTA_SITES, Num("-0.000000000000000001"), Num("0"), "range"),
    Limit("delta-nonzero-neg", "delta", DELTA_SITES, Num("1e-18"), Num("-0.0"), "range"),

    # §1.8 amounts: |x| < 10^21, <= 30 significant, <= 18 fractional; startingBalance (query and body),
    # yourBalance, theirBalance, breakdown values
    Limit("startingBalance-magnitude", "startingBalance", AMOUNT_SITES, Num(s(21, "9")), Num("1" + s(21, "0")), "range"),
    Limit("startingBalance-magnitude-neg", "startingBalance", AMOUNT_SITES, Num("-" + s(21, "9")),
          Num("-1" + s(21, "0")), "range"),
    Limit("startingBalance-significant", "startingBalance", AMOUNT_SITES, Num("123456789012.345678901234567891"),
          Num("1234567890123.456789012345678901"), "range"),
    Limit("startingBalance-fraction", "startingBalance", AMOUNT_SITES, Num("-0.000000000000000001"),
          Num("-0.0000000000000000001"), "range"),
    # the largest amounts: 30 significant digits just below 10^21 (|x| must not be rounded before the test)
    Limit("startingBalance-largest", "startingBalance", AMOUNT_SITES, Num(LARGEST), Num("1e21"), "range"),
    Limit("startingBalance-largest-neg", "startingBalance", AMOUNT_SITES, Num("-" + LARGEST), Num("-1E+21"), "range"),
    Limit("yourBalance-largest", "yourBalance", (COMPARE,), Num(LARGEST), Num("1e21"), "range"),
    Limit("theirBalance-largest", "theirBalance", (COMPARE,), Num("-" + LARGEST), Num("-1e21"), "range"),
    Limit("yourBreakdown-value-largest", "yourBreakdown.2026-02-01", (COMPARE,), Num(LARGEST), Num("1e21"), "range",
          alt_fields=("yourBreakdown",)),
    Limit("yourBalance-magnitude", "yourBalance", (COMPARE,), Num(s(21, "9")), Num("1" + s(21, "0")), "range"),
    Limit("yourBalance-significant", "yourBalance", (COMPARE,), Num("123456789012.345678901234567891"),
          Num("1234567890123.456789012345678901"), "range"),
    Limit("yourBalance-fraction", "yourBalance", (COMPARE,), Num("0.000000000000000001"),
          Num("0.0000000000000000001"), "range"),
    Limit("theirBalance-magnitude", "theirBalance", (COMPARE,), Num("-" + s(21, "9")), Num("-1" + s(21, "0")),
          "range"),
    Limit("theirBalance-significant", "theirBalance", (COMPARE,), Num("-123456789012.345678901234567891"),
          Num("-1234567890123.456789012345678901"), "range"),
    Limit("theirBalance-fraction", "theirBalance", (COMPARE,), Num("0.000000000000000001"),
          Num("0.0000000000000000001"), "range"),
    Limit("yourBreakdown-value-magnitude", "yourBreakdown.2026-02-01", (COMPARE,), Num(s(21, "9")),
          Num("1" + s(21, "0")), "range", alt_fields=("yourBreakdown",)),
    Limit("yourBreakdown-value-significant", "yourBreakdown.2026-02-01", (COMPARE,),
          Num("123456789012.345678901234567891"), Num("1234567890123.456789012345678901"), "range",
          alt_fields=("yourBreakdown",)),
    Limit("theirBreakdown-value-fraction", "theirBreakdown.2026-02-01", (COMPARE,), Num("0.000000000000000001"),
          Num("0.0000000000000000001"), "range", alt_fields=("theirBreakdown",)),
    Limit("theirBreakdown-value-magnitude", "theirBreakdown.2026-02-01", (COMPARE,), Num("-" + s(21, "9")),
          Num("-1" + s(21, "0")), "range", alt_fields=("theirBreakdown",)),

    # §1.8 reason: 1-500 characters = Unicode code points
    Limit("reason-max", "reason", DELTA_SITES, s(500), s(501), "too_long"),
    Limit("reason-max-bmp", "reason", DELTA_SITES, s(500, "\u00e9"), s(501, "\u00e9"), "too_long"),
    Limit("reason-max-astral", "reason", DELTA_SITES, s(500, "\U0001F600"), s(501, "\U0001F600"), "too_long"),
    Limit("reason-min", "reason", DELTA_SITES, "r", "", "required"),

    # §1.8 referenceId: 1-256 characters
    Limit("referenceId-max", "referenceId", DELTA_SITES, s(256, "r"), s(257, "r"), "too_long"),
    Limit("referenceId-max-bmp", "referenceId", DELTA_SITES, s(256, "\u00e9"), s(257, "\u00e9"), "too_long"),
    Limit("referenceId-min", "referenceId", DELTA_SITES, "r", "", "format"),

    # §1.8 metadata: depth <= 5, <= 8192 bytes canonical (RFC 8785), integers within +-(2^53-1), finite doubles
    Limit("metadata-depth", "metadata", DELTA_SITES, {"a": {"b": {"c": {"d": {"e": 1}}}}},
          {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}, "range"),
    Limit("metadata-depth-arrays", "metadata", DELTA_SITES, {"a": [[[[1]]]]}, {"a": [[[[[1]]]]]}, "range"),
    Limit("metadata-bytes", "metadata", DELTA_SITES, {"s": s(8184)}, {"s": s(8185)}, "too_long"),
    Limit("metadata-bytes-utf8", "metadata", DELTA_SITES, {"s": s(4092, "\u00e9")}, {"s": s(4092, "\u00e9") + "x"},
          "too_long"),
    # a number out of range is named by its path inside metadata
    Limit("metadata-int-max", "metadata", DELTA_SITES, {"n": Num("9007199254740991")}, {"n": Num("9007199254740992")},
          "range", bad_field="metadata.n"),
    Limit("metadata-int-min", "metadata", DELTA_SITES, {"n": Num("-9007199254740991")},
          {"n": Num("-9007199254740992")}, "range", bad_field="metadata.n"),
    Limit("metadata-double-max", "metadata", DELTA_SITES, {"f": Num("1.7976931348623157e308")},
          {"f": Num("1.7976931348623159e308")}, "range", bad_field="metadata.f"),

    # §1.8 request level: body <= 1 048 576 bytes (413), JSON nesting <= 32
    Limit("body-size", None, SIZE_SITES, MIB, MIB + 1, None, status=413, code="PAYLOAD_TOO_LARGE"),
    Limit("body-size-chunked", None, (Site("emit", "POST", f"{B}/delta", "chunked", 201, base=emit_body,
                                          state="counts"),), MIB, MIB + 1, None, status=413, code="PAYLOAD_TOO_LARGE"),
    Limit("json-nesting", None, NESTING_SITES, 32, 33, frozenset({"invalid_json", "range"}), bad_field="body",
          accepted=(400, "VALIDATION_ERROR", "zz", "unknown_field"),
          note="no valid body nests 32 deep: at 32 the body parses and the unknown member is reported"),

    # §1.12 offsets 0 - 1 000 000 000 on every offset-style route
    Limit("offset-max", "offset", OFFSET_SITES, "1000000000", "1000000001", "range"),
    Limit("offset-min", "offset", OFFSET_SITES, "0", "-1", "type"),

    # §5 per-route limit / page ranges
    Limit("limit-max-1000", "limit", LIMIT_1000_SITES, "1000", "1001", "range"),
    Limit("limit-max-100", "limit", LIMIT_100_SITES, "100", "101", "range"),
    Limit("limit-min", "limit", LIMIT_1000_SITES + LIMIT_100_SITES, "1", "0", "range"),
    Limit("page-min", "page", (CUSTOMERS_Q,), "1", "0", "range"),
    Limit("deltaPage-min", "deltaPage", (CUSTOMER_Q,), "1", "0", "range"),
    Limit("deltaLimit-max", "deltaLimit", (CUSTOMER_Q,), "100", "101", "range"),
    Limit("deltaLimit-min", "deltaLimit", (CUSTOMER_Q,), "1", "0", "range"),
    Limit("fromSequence-min", "fromSequence", (GAPS_Q,), "1", "0", "range"),
    Limit("toSequence-not-below-from", None, (GAPS_Q,), Fields(fromSequence="2", toSequence="2"),
          Fields(fromSequence="2", toSequence="1"), "range", bad_field="toSequence"),

    # §2.4 maxScopeMonths (exactly 24 months allowed) and maxRetentionDays (730), on all six scope routes
    Limit("maxScopeMonths", None, SCOPE_SITES, WIN_24, WIN_24_1MS, code="SCOPE_TOO_WIDE",
          details={"limit": "maxScopeMonths", "max": 24}),
    Limit("maxScopeMonths-month-end", None, SCOPE_SITES, WIN_24_END, WIN_24_END_1MS, code="SCOPE_TOO_WIDE",
          details={"limit": "maxScopeMonths", "max": 24}),
    Limit("maxRetentionDays", None, SCOPE_SITES, RETAIN_730, RETAIN_731, code="SCOPE_TOO_WIDE",
          details={"limit": "maxRetentionDays", "requested": 730, "max": 730}),

    # §5.2 batch 1-100 items
    Limit("batch-max", "deltas", (BATCH_LIST,), [emit_body() for _ in range(100)], [emit_body() for _ in range(101)],
          "range"),
    Limit("batch-min", "deltas", (BATCH_LIST,), [emit_body()], [], "range"),

    # §5.5 breakdowns: at most 800 days
    Limit("yourBreakdown-days", "yourBreakdown", (COMPARE,), DAYS_800, DAYS_801, "range"),
    Limit("theirBreakdown-days", "theirBreakdown", (COMPARE,), DAYS_800, DAYS_801, "range"),

    # §5.6 fingerprints: 1-10 000. 10 000 entries pass the size rule and fail on the first unknown one.
    Limit("fingerprints-max", "fingerprints", (CHECKPOINT_SELECTED,),
          lambda w: [w.delta["fingerprint"], *FAKE_FPS[:9_999]], lambda w: [w.delta["fingerprint"], *FAKE_FPS],
          "range", accepted=(400, "VALIDATION_ERROR", "fingerprints[1]", "unknown")),
    Limit("fingerprints-min", "fingerprints", (CHECKPOINT_SELECTED,), lambda w: [w.delta["fingerprint"]], [], "range"),

    # §5.14 search 1-128, §5.18 unit 1-32 and locale, §5.23 displayName 1-200, unitLabel 1-32
    Limit("search-max", "search", (CUSTOMERS_Q,), s(128, "q"), s(129, "q"), OPEN_LONG),
    Limit("search-max-bmp", "search", (CUSTOMERS_Q,), s(128, "\u00e9"), s(129, "\u00e9"), OPEN_LONG),
    Limit("search-min", "search", (CUSTOMERS_Q,), "q", "", "required"),
    Limit("unit-max", "unit", (RECEIPT_DOC_Q,), s(32, "u"), s(33, "u"), OPEN_LONG),
    Limit("unit-max-bmp", "unit", (RECEIPT_DOC_Q,), s(32, "\u00e9"), s(33, "\u00e9"), OPEN_LONG),
    Limit("unit-min", "unit", (RECEIPT_DOC_Q,), "u", "", "required"),
    Limit("locale-language-max", "locale", (RECEIPT_DOC_Q,), "eng", "engl", "format"),
    Limit("locale-language-min", "locale", (RECEIPT_DOC_Q,), "en", "e", "format"),
    Limit("locale-subtag-max", "locale", (RECEIPT_DOC_Q,), "en-abcdefgh", "en-abcdefghi", "format"),
    Limit("locale-subtag-min", "locale", (RECEIPT_DOC_Q,), "en-ab", "en-a", "format"),
    Limit("displayName-max", "displayName", (DASHBOARD,), s(200, "d"), s(201, "d"), OPEN_LONG),
    Limit("displayName-max-astral", "displayName", (DASHBOARD,), s(200, "\U0001F600"), s(201, "\U0001F600"),
          OPEN_LONG),
    Limit("displayName-min", "displayName", (DASHBOARD,), "d", "", frozenset({"required", "format"})),
    Limit("unitLabel-max", "unitLabel", (DASHBOARD,), s(32, "u"), s(33, "u"), OPEN_LONG),
    Limit("unitLabel-max-bmp", "unitLabel", (DASHBOARD,), s(32, "\u00e9"), s(33, "\u00e9"), OPEN_LONG),
    Limit("unitLabel-min", "unitLabel", (DASHBOARD,), "u", "", frozenset({"required", "format"})),

    # §8.3 clock advance: seconds > 0, at most 10 years, millisecond precision
    Limit("advance-max", "seconds", (ADVANCE,), Num(str(TEN_YEARS_S)), Num(f"{TEN_YEARS_S}.001"), OPEN_COUNT,
          note="10 calendar years from the frozen instant (2026-02-10 -> 2036-02-10)"),
    Limit("advance-min", "seconds", (ADVANCE,), Num("0.001"), Num("0"), OPEN_COUNT),
    Limit("advance-precision", "seconds", (ADVANCE,), Num("1.001"), Num("1.0001"), OPEN_PRECISION),

    # §8.2 / §8.4 settings ranges
    Limit("seed-max", "seed", (SETTINGS, SEED), Num(str(2**63 - 1)), Num(str(2**63)), "range"),
    Limit("seed-min", "seed", (SETTINGS, SEED), Num("0"), Num("-1"), "range"),
    Limit("processingDelay-max", "processingDelaySeconds",
          (Site("settings", "PATCH", "/_mock/settings", "body", state="settings",
                base=lambda w: {"verifyDelaySeconds": 86400}),), Num("86400"), Num("86400.001"), "range"),
    Limit("processingDelay-min", "processingDelaySeconds", (SETTINGS,), Num("0"), Num("-0.001"), "range"),
    Limit("processingDelay-precision", "processingDelaySeconds",
          (Site("settings", "PATCH", "/_mock/settings", "body", state="settings",
                base=lambda w: {"verifyDelaySeconds": 1}),), Num("0.001"), Num("0.0001"), OPEN_PRECISION),
    Limit("verifyDelay-max", "verifyDelaySeconds", (SETTINGS,), Num("86400"), Num("86400.001"), "range"),
    Limit("verifyDelay-min", "verifyDelaySeconds", (SETTINGS,), Num("0"), Num("-0.001"), "range"),
    Limit("verifyDelay-not-below-processing", "verifyDelaySeconds",
          (Site("settings", "PATCH", "/_mock/settings", "body", state="settings",
                base=lambda w: {"processingDelaySeconds": 5}),), Num("5"), Num("4.999"), "range"),
    Limit("cadenceLimit-max", "cadenceLimitSeconds", (SETTINGS,), Num("604800"), Num("604801"), "range"),
    Limit("cadenceLimit-min", "cadenceLimitSeconds", (SETTINGS,), Num("1"), Num("0"), "range"),
    Limit("planAllotment-max", "planAllotment", (SETTINGS,), Num("1000000000"), Num("1000000001"), "range"),
    Limit("planAllotment-min", "planAllotment", (SETTINGS,), Num("0"), Num("-1"), "range"),
    *[
        Limit(f"limits.{name}-{end}", f"limits.{name}",
              (Site("settings", "PATCH", "/_mock/settings", "body", state="settings",
                    base=lambda w: {"limits": dict(FULL_LIMITS)}),), Num(str(ok)), Num(str(bad)), "range")
        for name, lo, hi in (("maxScopeMonths", 1, 1200), ("maxLastNDays", 1, 36500), ("maxRetentionDays", 1, 36500))
        for end, ok, bad in (("max", hi, hi + 1), ("min", lo, lo - 1))
    ],
    Limit("idempotencyTtl-max", "idempotencyTtlSeconds", (SETTINGS,), Num("604800"), Num("604801"), "range"),
    Limit("idempotencyTtl-min", "idempotencyTtlSeconds", (SETTINGS,), Num("1"), Num("0"), "range"),
    Limit("journalSize-max", "journalSize", (SETTINGS,), Num("100000"), Num("100001"), "range"),
    Limit("journalSize-min", "journalSize", (SETTINGS,), Num("10"), Num("9"), "range"),
    Limit("embedOrigins-max", "embedOrigins", (SETTINGS,), ORIGINS_20, [*ORIGINS_20, "http://o20.test"], OPEN_COUNT),

    # §8.6 fault rules
    Limit("fault-nth-max", "nth", (FAULTS,), [Num(str(i)) for i in range(1, 1001)],
          [Num(str(i)) for i in range(1, 1002)], OPEN_COUNT),
    Limit("fault-nth-min", "nth", (FAULTS,), [Num("1")], [], OPEN_COUNT),
    Limit("fault-nth-positive", "nth", (FAULTS,), [Num("1")], [Num("0")], "range", bad_field="nth[0]",
          alt_fields=("nth",)),
    Limit("fault-times-min", "times", (FAULTS,), Num("1"), Num("0"), "range"),
    Limit("fault-probability-max", "probability", (FAULTS,), Num("1"), Num("1.000001"), "range"),
    Limit("fault-probability-min", "probability", (FAULTS,), Num("0"), Num("-0.000001"), "range"),
    Limit("fault-description-max", "description", (FAULTS,), s(200, "d"), s(201, "d"), OPEN_LONG),
    Limit("fault-description-max-bmp", "description", (FAULTS,), s(200, "\u00e9"), s(201, "\u00e9"), OPEN_LONG),
    Limit("fault-latency-max", "actions[0].ms",
          (Site("faults", "POST", "/_mock/faults", "body", 201, state="faults",
                base=lambda w: {"match": {"route": "balance.limits"}, "actions": [{"type": "latency"}]}),),
          Num("60000"), Num("60001"), "range"),
    Limit("fault-latency-min", "actions[0].ms",
          (Site("faults", "POST", "/_mock/faults", "body", 201, state="faults",
                base=lambda w: {"match": {"route": "balance.limits"}, "actions": [{"type": "latency"}]}),),
          Num("1"), Num("0"), "range"),

    # §8.7 journal limit 1-1000 (in LIMIT_1000_SITES); §8.8 webhook url <= 2048, secret whsec_ + 4-122
    Limit("webhook-url-max", "url", (WEBHOOK_CONFIG,), "http://example.test/" + s(2028, "u"),
          "http://example.test/" + s(2029, "u"), OPEN_LONG),
    Limit("webhook-secret-max", "secret", (WEBHOOK_CONFIG,), "whsec_" + s(122, "a"), "whsec_" + s(123, "a"),
          OPEN_LONG),
    Limit("webhook-secret-min", "secret", (WEBHOOK_CONFIG,), "whsec_" + s(4, "a"), "whsec_" + s(3, "a"), OPEN_LONG),
]

CASES = [pytest.param(row, site, id=f"{row.id}@{site.id}") for row in TABLE for site in row.sites]


def _value(v: Any, world: World) -> Any:
    return v(world) if callable(v) else v


def _reason_ok(actual: str, expected: str | frozenset | None) -> bool:
    if expected is None:
        return True
    if isinstance(expected, str):
        return actual == expected
    return actual in expected


def _check_error(response, status: int, code: str, field_name: str | None, alts: tuple, reason, details) -> None:
    assert response.status_code == status, (response.status_code, response.text[:600])
    envelope = response.json()
    assert envelope["success"] is False, response.text[:600]
    error = envelope["error"]
    assert error["code"] == code, response.text[:600]
    got = error.get("details") or {}
    if code == "VALIDATION_ERROR":
        assert got.get("reason") in VOCABULARY, response.text[:600]
    if field_name is not None:
        assert got.get("field") in (field_name, *alts), response.text[:600]
    if reason is not None:
        assert _reason_ok(got.get("reason"), reason), response.text[:600]
    for name, value in (details or {}).items():
        assert got.get(name) == value, response.text[:600]


def _field_for(row: Limit, site: Site) -> tuple[str | None, tuple]:
    if site.kind in ("key", "size", "chunked"):
        return None, ()
    if site.kind == "nesting":
        return row.bad_field, ()
    name = row.bad_field or row.field
    if name is None:
        return None, ()
    return site.prefix + name, tuple(site.prefix + a for a in row.alt_fields)


@pytest.mark.parametrize(("row", "site"), CASES)
def test_limit(mock, row: Limit, site: Site) -> None:
    world = World(mock)
    bad, ok = _value(row.bad, world), _value(row.ok, world)
    site.base(world), site.url_path(world, bad)  # make what the route needs before the snapshot

    # one past the limit: rejected exactly as documented, and nothing written
    before = world.snapshot(site.state) if site.state else None
    response = site.send(world, row.field, bad)
    field_name, alts = _field_for(row, site)
    _check_error(response, row.status, row.code, field_name, alts, row.reason, row.details)
    if before is not None:
        assert world.snapshot(site.state) == before, "a rejected request wrote something"

    # exactly at the limit: accepted
    if site.prepare is not None and row.accepted is None:
        site.prepare(world, ok)
    response = site.send(world, row.field, ok)
    if row.accepted is not None:
        status, code, acc_field, acc_reason = row.accepted
        _check_error(response, status, code, site.prefix + acc_field if site.kind != "nesting" else acc_field, (),
                     acc_reason, None)
    else:
        assert response.status_code == site.ok, (response.status_code, response.text[:600])
        data = response.json()["data"]
        if site.kind == "body" and not site.prefix and type(ok) is str and row.field in data:
            assert data[row.field] == ok, "the accepted value did not round-trip"

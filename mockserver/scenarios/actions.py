"""The step catalog: what each scenario action sends, and where it can run.

Three kinds of action:

* `api`: one call of the Balance API contract (balance-api.md §5). Runs against any server,
  the mock or the real service.
* `mock`: the `/_mock` control plane (clock, settings, faults, webhook outbox, journal). Mock only:
  against the real service such steps are reported as skipped.
* `client`: work done by the runner itself (generated usage, offline receipt verification,
  webhook expectations over the outbox). `generate` runs anywhere (it is batch calls);
  `expect-webhooks` needs the mock's outbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field

B = "/api/v1/balance"


@dataclass(frozen=True)
class Action:
    name: str
    kind: str  # api | mock | client
    summary: str
    method: str | None = None
    path: str | None = None  # template with {param}s taken from the step's arguments
    body: bool = False  # remaining arguments form the JSON body (else the query string)
    auth: str = "key"  # key | none | dashboard
    path_params: tuple[str, ...] = field(default=())

    @property
    def mock_only(self) -> bool:
        return self.kind == "mock" or self.name == "expect-webhooks"


def _api(name: str, method: str, path: str, summary: str, *, body: bool = False, auth: str = "key") -> Action:
    params = tuple(part[1:-1] for part in path.split("/") if part.startswith("{"))
    params = tuple(p.removesuffix("}.pdf") for p in params)
    return Action(name, "api", summary, method, path, body, auth, params)


ACTIONS: dict[str, Action] = {a.name: a for a in (
    # --- Balance API (§5) ------------------------------------------------------------------------
    _api("emit", "POST", f"{B}/delta", "emit one delta (§5.1)", body=True),
    _api("batch", "POST", f"{B}/delta/batch", "emit up to 100 deltas in one batch (§5.2)", body=True),
    _api("delta-status", "GET", f"{B}/delta/{{recordId}}", "read one delta (§5.3)"),
    _api("derive", "GET", f"{B}/derive/{{customerId}}", "derive a balance (§5.4)"),
    _api("compare", "POST", f"{B}/compare", "compare your and their balance (§5.5)", body=True),
    _api("checkpoint", "POST", f"{B}/checkpoint", "commit a checkpoint, one or all customers (§5.6)", body=True),
    _api("checkpoints", "GET", f"{B}/checkpoints", "list checkpoints (§5.7)"),
    _api("checkpoints-compare", "GET", f"{B}/checkpoints/compare", "compare two checkpoints (§5.8)"),
    _api("receipt", "GET", f"{B}/receipt/{{customerId}}", "all-time or scoped receipt (§5.9)"),
    _api("invoice-proof", "GET", f"{B}/invoice-proof/{{customerId}}", "invoice proof of a scope (§5.10)"),
    _api("gaps", "GET", f"{B}/gaps/{{customerId}}", "sequence gaps (§5.11)"),
    _api("usage", "GET", f"{B}/usage", "plan usage (§5.12)"),
    _api("limits", "GET", f"{B}/limits", "scope limits (§5.13)"),
    _api("customers", "GET", f"{B}/customers", "list customers (§5.14)"),
    _api("customers-summary", "GET", f"{B}/customers/summary", "customer counts (§5.15)"),
    _api("customer", "GET", f"{B}/customers/{{customerId}}", "one customer (§5.16)"),
    _api("customer-receipts", "GET", f"{B}/customers/{{customerId}}/receipts", "a customer's receipts (§5.17)"),
    _api("receipt-document", "GET", f"{B}/receipts/{{receiptId}}", "receipt document (§5.18)"),
    _api("verify", "GET", "/api/v1/verify/{root}", "public verification of a root (§5.19)", auth="none"),
    _api("public-receipt", "GET", "/api/v1/receipt/{receiptId}", "public receipt JSON or PDF (§5.20)", auth="none"),
    _api("webhooks", "GET", f"{B}/webhooks", "webhook deliveries (§5.21)"),
    _api("webhook-retry", "POST", f"{B}/webhooks/{{eventId}}/retry", "retry one delivery now (§5.22)", body=True),
    _api("create-customer", "POST", "/dashboard/customers", "create a customer (dashboard, §5.23)", body=True,
         auth="dashboard"),
    Action("request", "api", "any HTTP request (for deliberately malformed input)"),
    # --- control plane (§8), mock only ------------------------------------------------------------
    Action("clock", "mock", "move the workspace clock: set, advance, freeze, unfreeze (§8.3)"),
    Action("settings", "mock", "change workspace settings (§8.4)"),
    Action("fault", "mock", "add a fault rule (§8.6)"),
    Action("clear-faults", "mock", "delete one fault rule or all of them (§8.6)"),
    Action("webhook-config", "mock", "set the webhook URL or secret (§8.8)"),
    Action("drain", "mock", "attempt due webhook deliveries now (§8.8)"),
    Action("outbox", "mock", "read the webhook outbox (§8.8)"),
    Action("journal", "mock", "read the request journal (§8.7)"),
    Action("workspace", "mock", "read the workspace summary (§8.1)"),
    # --- the runner's own work --------------------------------------------------------------------
    Action("expect-webhooks", "client", "assert on webhook events in the outbox (mock only)"),
    Action("verify-receipt", "client", "verify a receipt offline (proofs.md), optionally tampered"),
    Action("generate", "client", "generate many daily usage deltas and send them in batches"),
)}

#: Step members that are not actions.
COMMON_OPTIONS = ("name", "title", "at", "expect", "retry", "poll", "golden", "idempotencyKey", "headers", "only")

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

from ..operations import operation


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
    operation: str | None = None  # the route name in mockserver/operations.py

    @property
    def mock_only(self) -> bool:
        return self.kind == "mock" or self.name == "expect-webhooks"


AUTH_OF_PLANE = {"api": "key", "dashboard": "dashboard", "public": "none", "control": "key"}


def _api(name: str, operation_name: str) -> Action:
    """A step that is one call of the Balance API: method, path, body and auth from the operation."""
    op = operation(operation_name)
    return Action(name, "api", op.summary, op.method, op.path, op.body is not None, AUTH_OF_PLANE[op.plane],
                  tuple(op.path_params()), op.name)


ACTIONS: dict[str, Action] = {a.name: a for a in (
    # --- Balance API (§5) ------------------------------------------------------------------------
    _api("emit", "balance.emit"),
    _api("batch", "balance.emit_batch"),
    _api("delta-status", "balance.delta_status"),
    _api("derive", "balance.derive"),
    _api("compare", "balance.compare"),
    _api("checkpoint", "balance.checkpoint"),
    _api("checkpoints", "balance.checkpoints_list"),
    _api("checkpoints-compare", "balance.checkpoints_compare"),
    _api("receipt", "balance.receipt"),
    _api("invoice-proof", "balance.invoice_proof"),
    _api("gaps", "balance.gaps"),
    _api("usage", "balance.usage"),
    _api("limits", "balance.limits"),
    _api("customers", "balance.customers_list"),
    _api("customers-summary", "balance.customers_summary"),
    _api("customer", "balance.customer"),
    _api("customer-receipts", "balance.customer_receipts"),
    _api("receipt-document", "balance.receipt_document"),
    _api("verify", "public.verify"),
    _api("public-receipt", "public.receipt"),
    _api("webhooks", "balance.webhooks_list"),
    _api("webhook-retry", "balance.webhook_retry"),
    _api("create-customer", "dashboard.customers_create"),
    Action("request", "api", "any HTTP request (for deliberately malformed input)"),
    # --- control plane (§8), mock only ------------------------------------------------------------
    Action("clock", "mock", "move the workspace clock: set, advance, freeze, unfreeze (§8.3)"),
    Action("settings", "mock", "change workspace settings (§8.4)", operation="mock.settings_update"),
    Action("fault", "mock", "add a fault rule (§8.6)", operation="mock.faults_create"),
    Action("clear-faults", "mock", "delete one fault rule or all of them (§8.6)"),
    Action("webhook-config", "mock", "set the webhook URL or secret (§8.8)", operation="mock.webhooks_config_update"),
    Action("drain", "mock", "attempt due webhook deliveries now (§8.8)", operation="mock.drain"),
    Action("outbox", "mock", "read the webhook outbox (§8.8)", operation="mock.outbox"),
    Action("journal", "mock", "read the request journal (§8.7)", operation="mock.journal"),
    Action("workspace", "mock", "read the workspace summary (§8.1)", operation="mock.workspace"),
    # --- the runner's own work --------------------------------------------------------------------
    Action("expect-webhooks", "client", "assert on webhook events in the outbox (mock only)"),
    Action("verify-receipt", "client", "verify a receipt offline (proofs.md), optionally tampered"),
    Action("generate", "client", "generate many daily usage deltas and send them in batches"),
)}

#: Step members that are not actions.
COMMON_OPTIONS = ("name", "title", "at", "expect", "retry", "poll", "golden", "idempotencyKey", "headers", "only")

"""The operation table: every route of the server, declared once.

Each Operation says what a route is: method, path, name, which plane it belongs to (and so how
it is authenticated, journaled and exposed to faults), its query/body/reply models, its success
status. Everything that lists routes is derived from OPERATIONS: the Starlette routes (app.py),
the one request pipeline's behaviour per route (pipeline.py), the fault rules' route names
(faults.py), the OpenAPI document (openapi.py), the scenario actions (scenarios/actions.py) and
the testkit's paths (testkit.py). tests/test_operations.py proves they cannot drift.

Handlers and models are named as "module:attribute" under `mockserver` and imported when the
app is built: this module itself imports nothing, so the testkit and the scenario runner can
read the table without loading the server stack (a pytest session pays only for what it uses).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any

PLANES = ("api", "dashboard", "public", "page", "control", "global", "console")

#: Planes whose operations need the admin token when the server listens beyond loopback (§8.9):
#: they read or replace the whole server (every workspace, the keys, the database file). The dev
#: console (`/_console`) shows and drives every workspace, so it is one of them.
ADMIN_PLANES = ("global", "console")

#: Fault actions that answer or change a request (§8.6); webhook_failure acts on deliveries.
REQUEST_ACTIONS = ("latency", "rate_limited", "cadence_limit", "error", "commit_then_drop", "fail_verification",
                   "chain_unavailable")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    name: str  # route name: fault rules' match.route and the journal (§8.6); the OpenAPI summary
    handler: str  # "module:function" under mockserver: handler(ctx, call)
    plane: str  # api | dashboard | public | page | control | global | console (see PLANES)
    summary: str
    query: str | None = None  # "module:Model" of the query parameters (None: none accepted)
    body: str | None = None  # "module:Model" of the JSON body (None: no body read)
    reply: str | None = None  # "module:Model" of the success reply's `data`
    status: int = 200  # the success status (a handler may choose `other_status` through pipeline.Outcome)
    other_status: int | None = None  # the other success status: a replay, or nothing new to create
    media: str = "application/json"  # of the success reply: text/html, application/pdf, …
    faults: tuple[str, ...] | None = None  # request actions that may apply (None: every one)
    idempotency_key: bool = False  # §4.2: Idempotency-Key header
    path_model: str | None = None  # "module:Model" of the path parameters, when they have a grammar (§1.10)
    locate: str | None = None  # public/page: "module:function" (conn, path params) -> workspace id
    form: bool = False  # the body is application/x-www-form-urlencoded (the pages' forms)
    raw_body: int = 0  # > 0: the body is raw bytes up to this many (state import)
    outside: bool = False  # may wait on webhook receivers: runs in a worker thread, off the event loop
    transaction: bool = True  # False: the handler manages the store itself (state export/import)
    reads_only: bool | None = None  # the handler never writes (default: GET); no savepoint around it
    admin_exempt: bool = False  # an operation of ADMIN_PLANES anyone may call beyond loopback (health)
    # "module:function"(runtime, request) -> Response | None, run first on every request (before the
    # body is read) instead of the Authorization-only admin check: the console admits a browser by its
    # session cookie too and answers the login page; None lets the request through
    guard: str | None = None
    lazy: bool = False  # handler, models and guard are imported at the first request, not at app build

    @property
    def writes(self) -> bool:
        return not (self.reads_only if self.reads_only is not None else self.method == "GET")

    @property
    def journaled(self) -> bool:
        """API, public and page requests are journaled in their workspace and count as requests (§8.7, §9)."""
        return self.plane in ("api", "dashboard", "public", "page")

    @property
    def admin(self) -> bool:
        """Needs the admin token when the server listens beyond loopback (§8.9; pipeline.py checks it)."""
        return self.plane in ADMIN_PLANES and not self.admin_exempt

    @property
    def in_workspace(self) -> bool:
        return self.plane != "global" and not (self.plane == "console" and self.locate is None)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    def url(self, **params: str) -> str:
        """The path with its parameters filled in (already encoded by the caller)."""
        return re.sub(r"{(\w+)}", lambda m: params[m.group(1)], self.path)


def resolve(ref: str | None) -> Any:
    """The object a "module:attribute" reference names (modules are relative to mockserver)."""
    if ref is None:
        return None
    module, _, attribute = ref.partition(":")
    return getattr(importlib.import_module(f"mockserver.{module}"), attribute)


B = "/api/v1/balance"
API_S, API_R, API_H = "api.schemas:", "api.replies:", "api.handlers:"  # request models, reply models, handlers
CTL_S, CTL_R = "control.schemas:", "control.replies:"
CON = "console.models:"  # the console's query and reply models
HOST_ONLY = "console.access:host_guard"  # signing in and out: open beyond loopback, never to a rebound name


def _api(method: str, path: str, name: str, handler: str, summary: str, **options: Any) -> Operation:
    if "{customerId}" in path:
        options.setdefault("path_model", API_S + "CustomerPath")
    return Operation(method, path, name, API_H + handler, options.pop("plane", "api"), summary, **options)


def _ctl(method: str, path: str, name: str, handler: str, summary: str, **options: Any) -> Operation:
    return Operation(method, path, name, "control." + handler, options.pop("plane", "control"), summary, **options)


def _console(method: str, path: str, name: str, handler: str, summary: str, **options: Any) -> Operation:
    """The dev console (`/_console`): HTML of every workspace, never a counted or journaled request,
    no faults; its forms POST and redirect. Imported at its first request (mockserver/console/)."""
    if "{ws}" in path:
        options.setdefault("locate", "console.access:workspace")
    if method == "POST":
        options.setdefault("form", True)
    options.setdefault("media", "text/html")
    return Operation(method, path, name, "console.views:" + handler, "console", summary, faults=(), lazy=True,
                     guard=options.pop("guard", "console.access:admin_guard"), **options)


def _page(method: str, path: str, name: str, handler: str, summary: str, **options: Any) -> Operation:
    return Operation(method, path, name, "pages.views:" + handler, "page", summary, media="text/html",
                     faults=options.pop("faults", ()), **options)


OPERATIONS: tuple[Operation, ...] = (
    # --- Balance API (balance-api.md §5) ----------------------------------------------------------
    _api("POST", f"{B}/delta", "balance.emit", "emit", "Emit a delta (§5.1)",
         body=API_S + "EmitBody", reply=API_R + "EmitReply", status=201, other_status=200, idempotency_key=True),
    _api("POST", f"{B}/delta/batch", "balance.emit_batch", "emit_batch", "Emit a batch of up to 100 deltas (§5.2)",
         body=API_S + "BatchBody", reply=API_R + "BatchReply", status=201, other_status=200, idempotency_key=True),
    _api("GET", f"{B}/delta/{{recordId}}", "balance.delta_status", "delta_status", "Delta status (§5.3)",
         reply=API_R + "Delta"),
    _api("GET", f"{B}/derive/{{customerId}}", "balance.derive", "derive", "Derive a balance (§5.4)",
         query=API_S + "DeriveQuery", reply=API_R + "DeriveReply"),
    _api("POST", f"{B}/compare", "balance.compare", "compare", "Compare your and their balance (§5.5)",
         body=API_S + "CompareBody", reply=API_R + "CompareReply", status=201),
    _api("POST", f"{B}/checkpoint", "balance.checkpoint", "checkpoint", "Commit a checkpoint (§5.6)",
         body=API_S + "CheckpointBody", reply=API_R + "CheckpointCommitReply", status=201, other_status=200,
         idempotency_key=True),
    _api("GET", f"{B}/checkpoints/compare", "balance.checkpoints_compare", "compare_checkpoints",
         "Compare two checkpoints (§5.8)", query=API_S + "CheckpointsCompareQuery",
         reply=API_R + "CheckpointsCompareReply"),
    _api("GET", f"{B}/checkpoints", "balance.checkpoints_list", "list_checkpoints", "List checkpoints (§5.7)",
         query=API_S + "CheckpointsQuery", reply=API_R + "CheckpointList"),
    _api("GET", f"{B}/receipt/{{customerId}}", "balance.receipt", "receipt", "All-time or scoped receipt (§5.9)",
         query=API_S + "ReceiptQuery", reply=API_R + "Receipt", reads_only=False),
    _api("GET", f"{B}/invoice-proof/{{customerId}}", "balance.invoice_proof", "invoice_proof",
         "Invoice proof of a scope (§5.10)", query=API_S + "ReceiptQuery", reply=API_R + "Receipt", reads_only=False),
    _api("GET", f"{B}/gaps/{{customerId}}", "balance.gaps", "gaps", "Sequence gaps (§5.11)",
         query=API_S + "GapsQuery", reply=API_R + "GapsReply"),
    _api("GET", f"{B}/usage", "balance.usage", "usage", "Plan usage (§5.12)", reply=API_R + "UsageReply"),
    _api("GET", f"{B}/limits", "balance.limits", "limits", "Scope limits (§5.13)", reply=API_R + "LimitsReply"),
    _api("GET", f"{B}/customers/summary", "balance.customers_summary", "customers_summary",
         "Customer counts (§5.15)", reply=API_R + "CustomersSummary"),
    _api("GET", f"{B}/customers", "balance.customers_list", "customers_list", "List customers (§5.14)",
         query=API_S + "CustomersQuery", reply=API_R + "CustomerList"),
    _api("GET", f"{B}/customers/{{customerId}}/receipts", "balance.customer_receipts", "customer_receipts",
         "A customer's receipts (§5.17)", query=API_S + "PageQuery25", reply=API_R + "CustomerReceipts"),
    _api("GET", f"{B}/customers/{{customerId}}", "balance.customer", "customer_detail", "One customer (§5.16)",
         query=API_S + "CustomerQuery", reply=API_R + "CustomerDetail"),
    _api("GET", f"{B}/receipts/{{receiptId}}", "balance.receipt_document", "receipt_document",
         "Receipt document (§5.18)", query=API_S + "ReceiptDocumentQuery", reply=API_R + "ReceiptDocument",
         reads_only=False),
    _api("GET", f"{B}/webhooks", "balance.webhooks_list", "webhooks_list", "Webhook deliveries (§5.21)",
         query=API_S + "WebhooksQuery", reply=API_R + "DeliveryList"),
    _api("POST", f"{B}/webhooks/{{eventId}}/retry", "balance.webhook_retry", "webhook_retry",
         "Retry one delivery now (§5.22)", body="validation:Empty", reply=API_R + "RetriedDelivery", outside=True),
    # --- public JSON/PDF (§5.19, §5.20) ----------------------------------------------------------------
    _api("GET", "/api/v1/verify/{root}", "public.verify", "public_verify", "Public verification of a root (§5.19)",
         plane="public", query=API_S + "VerifyQuery", reply=API_R + "VerifyReply", locate="ledger.locate:root"),
    _api("GET", "/api/v1/receipt/{receiptId}.pdf", "public.receipt_pdf", "public_receipt_pdf",
         "Public receipt as PDF (§5.20)", plane="public", media="application/pdf", locate="ledger.locate:receipt",
         reads_only=False),
    _api("GET", "/api/v1/receipt/{receiptId}", "public.receipt", "public_receipt", "Public receipt (§5.20)",
         plane="public", query=API_S + "PageQuery1000", reply=API_R + "PublicReceipt", locate="ledger.locate:receipt",
         reads_only=False),
    # --- dashboard (§5.23) --------------------------------------------------------------------------
    _api("POST", "/dashboard/customers", "dashboard.customers_create", "dashboard_create_customer",
         "Create a customer (dashboard, §5.23)", plane="dashboard", body=API_S + "DashboardCustomerBody",
         reply=API_R + "DashboardCustomer", status=201),
    # --- pages (§6): HTML, journaled, only chain_unavailable applies (on /verify) -----------------------
    _page("GET", "/c/{handle}", "page.shared_record", "shared_record_page", "Shared record (§6.1)",
          query="pages.views:RecordQuery", locate="ledger.locate:handle"),
    _page("POST", "/c/{handle}/access", "page.shared_record", "shared_record_access",
          "Unlock the shared record with the access code (§6.1)", locate="ledger.locate:handle", form=True),
    _page("POST", "/c/{handle}/compare", "page.shared_record", "shared_record_compare",
          "Compare a balance on the shared record (§6.1)", locate="ledger.locate:handle", form=True),
    _page("GET", "/receipt/{receiptId}", "page.receipt", "receipt_page", "Receipt page (§6.2)",
          locate="ledger.locate:receipt"),
    _page("GET", "/verify/{root}", "page.verify", "verify_page", "Verification page (§6.3)",
          locate="ledger.locate:root", faults=("chain_unavailable",)),
    # --- control plane (§8), per workspace -------------------------------------------------------------
    _ctl("GET", "/_mock/workspace", "mock.workspace", "state:workspace_get", "The workspace (§8.1)",
         reply=CTL_R + "Workspace"),
    _ctl("POST", "/_mock/reset", "mock.reset", "state:reset_workspace", "Reset the workspace (§8.1)",
         body="validation:Empty", reply=CTL_R + "ResetReply"),
    _ctl("POST", "/_mock/seed", "mock.seed", "settings:seed", "Set the seed (§8.2)",
         body=CTL_S + "SeedBody", reply=CTL_R + "Settings"),
    _ctl("GET", "/_mock/clock", "mock.clock", "clock:clock_get", "Read the clock (§8.3)", reply=CTL_R + "Clock"),
    _ctl("POST", "/_mock/clock/set", "mock.clock_set", "clock:clock_set", "Move the clock to an instant (§8.3)",
         body=CTL_S + "ClockSetBody", reply=CTL_R + "ClockMove", outside=True),
    _ctl("POST", "/_mock/clock/advance", "mock.clock_advance", "clock:clock_advance", "Advance the clock (§8.3)",
         body=CTL_S + "ClockAdvanceBody", reply=CTL_R + "ClockMove", outside=True),
    _ctl("POST", "/_mock/clock/freeze", "mock.clock_freeze", "clock:clock_freeze", "Freeze the clock (§8.3)",
         body=CTL_S + "ClockFreezeBody", reply=CTL_R + "Clock", outside=True),
    _ctl("POST", "/_mock/clock/unfreeze", "mock.clock_unfreeze", "clock:clock_unfreeze",
         "Let the clock run again (§8.3)", body="validation:Empty", reply=CTL_R + "Clock"),
    _ctl("GET", "/_mock/settings", "mock.settings", "settings:settings_get", "Read the settings (§8.4)",
         reply=CTL_R + "Settings"),
    _ctl("PATCH", "/_mock/settings", "mock.settings_update", "settings:settings_patch", "Change settings (§8.4)",
         body=CTL_S + "SettingsPatch", reply=CTL_R + "Settings"),
    _ctl("GET", "/_mock/faults", "mock.faults_list", "faults:faults_list", "List fault rules (§8.6)",
         reply=CTL_R + "FaultRules"),
    _ctl("POST", "/_mock/faults", "mock.faults_create", "faults:faults_create", "Add a fault rule (§8.6)",
         body=CTL_S + "FaultRuleBody", reply=CTL_R + "FaultRule", status=201),
    _ctl("DELETE", "/_mock/faults", "mock.faults_clear", "faults:faults_clear", "Delete every fault rule (§8.6)",
         reply=CTL_R + "Cleared"),
    _ctl("DELETE", "/_mock/faults/{ruleId}", "mock.faults_delete", "faults:faults_delete",
         "Delete one fault rule (§8.6)", reply=CTL_R + "FaultDeleted"),
    _ctl("GET", "/_mock/journal", "mock.journal", "journal:journal_list", "Read the request journal (§8.7)",
         query=CTL_S + "JournalQuery", reply=CTL_R + "JournalList"),
    _ctl("DELETE", "/_mock/journal", "mock.journal_clear", "journal:journal_clear", "Clear the journal (§8.7)",
         reply=CTL_R + "Cleared"),
    _ctl("GET", "/_mock/webhooks/config", "mock.webhooks_config", "webhooks:config_get",
         "Webhook endpoint configuration (§8.8)", reply=CTL_R + "WebhookConfig"),
    _ctl("PUT", "/_mock/webhooks/config", "mock.webhooks_config_update", "webhooks:config_put",
         "Set the webhook URL or secret (§8.8)", body=CTL_S + "WebhookConfigBody", reply=CTL_R + "WebhookConfig"),
    _ctl("GET", "/_mock/webhooks/outbox", "mock.outbox", "webhooks:outbox", "The webhook outbox (§8.8)",
         query=CTL_S + "OutboxQuery", reply=CTL_R + "Outbox"),
    _ctl("POST", "/_mock/webhooks/drain", "mock.drain", "webhooks:drain", "Attempt due deliveries now (§8.8)",
         body=CTL_S + "DrainBody", reply=CTL_R + "DrainReply", outside=True),
    # --- global operations (§8.9): no workspace -------------------------------------------------------
    _ctl("GET", "/_mock/health", "mock.health", "state:health", "Server health (§8.9)", plane="global",
         reply=CTL_R + "Health", admin_exempt=True),
    Operation("GET", "/", "mock.index", "pages.views:index", "global", "The dev server's index page",
              media="text/html", admin_exempt=True),
    Operation("GET", "/favicon.ico", "mock.favicon", "pages.views:favicon", "global", "The pages' icon",
              media="image/svg+xml", admin_exempt=True),
    _ctl("GET", "/_mock/workspaces", "mock.workspaces", "state:workspaces_list", "Every workspace (§8.9)",
         plane="global", reply=CTL_R + "WorkspaceList"),
    _ctl("GET", "/_mock/keys", "mock.keys_list", "state:keys_list", "Registered keys (§8.9)", plane="global",
         reply=CTL_R + "KeyList"),
    _ctl("POST", "/_mock/keys", "mock.keys_register", "state:keys_register", "Register or update a key (§8.9)",
         plane="global", body=CTL_S + "KeyBody", reply=CTL_R + "KeyRow"),
    _ctl("DELETE", "/_mock/keys/{key}", "mock.keys_delete", "state:keys_delete", "Delete a registered key (§8.9)",
         plane="global", reply=CTL_R + "KeyDeleted"),
    _ctl("GET", "/_mock/state", "mock.state_export", "state:state_export", "Export the whole database (§8.9)",
         plane="global", media="application/vnd.sqlite3", transaction=False),
    _ctl("PUT", "/_mock/state", "mock.state_import", "state:state_import", "Replace the whole database (§8.9)",
         plane="global", reply=CTL_R + "StateImported", raw_body=1 << 30, transaction=False),
    # --- the dev console (mock only): pages of every workspace; each form performs a control operation -
    _console("GET", "/_console", "console.home", "home", "Dev console: every workspace"),
    _console("GET", "/_console/live", "console.home_live", "home_live", "Dev console: what changed (polled)",
             media="application/json", reply=CON + "Live"),
    _console("POST", "/_console/login", "console.login", "login", "Dev console: sign in with the admin token",
             guard=HOST_ONLY, admin_exempt=True),
    _console("POST", "/_console/logout", "console.logout", "logout", "Dev console: sign out", guard=HOST_ONLY,
             admin_exempt=True),
    _console("GET", "/_console/w/{ws}", "console.workspace", "workspace", "Dev console: one workspace",
             query=CON + "WorkspaceQuery"),
    _console("GET", "/_console/w/{ws}/live", "console.workspace_live", "workspace_live",
             "Dev console: what changed in one workspace (polled)", media="application/json", reply=CON + "Live"),
    _console("GET", "/_console/w/{ws}/requests", "console.requests", "requests",
             "Dev console: recent exchanges (journal)", query=CON + "RequestsQuery"),
    _console("GET", "/_console/w/{ws}/requests/{seq}", "console.exchange", "exchange", "Dev console: one exchange"),
    _console("GET", "/_console/w/{ws}/webhooks", "console.webhooks", "webhooks", "Dev console: the webhook outbox",
             query=CON + "WebhooksQuery"),
    _console("GET", "/_console/w/{ws}/faults", "console.faults", "faults", "Dev console: armed fault rules"),
    _console("POST", "/_console/w/{ws}/clock/advance", "console.clock_advance", "clock_advance",
             "Dev console: advance the clock (mock.clock_advance)", outside=True),
    _console("POST", "/_console/w/{ws}/clock/set", "console.clock_set", "clock_set",
             "Dev console: set the clock (mock.clock_set)", outside=True),
    _console("POST", "/_console/w/{ws}/clock/freeze", "console.clock_freeze", "clock_freeze",
             "Dev console: freeze the clock (mock.clock_freeze)", outside=True),
    _console("POST", "/_console/w/{ws}/clock/unfreeze", "console.clock_unfreeze", "clock_unfreeze",
             "Dev console: let the clock run (mock.clock_unfreeze)"),
    _console("POST", "/_console/w/{ws}/webhooks/config", "console.webhook_config", "webhook_config",
             "Dev console: set the webhook URL (mock.webhooks_config_update)"),
    _console("POST", "/_console/w/{ws}/webhooks/drain", "console.drain", "drain",
             "Dev console: attempt due deliveries (mock.drain)", outside=True),
    _console("POST", "/_console/w/{ws}/webhooks/{eventId}/retry", "console.webhook_retry", "webhook_retry",
             "Dev console: redeliver one event now (balance.webhook_retry)", outside=True),
    _console("POST", "/_console/w/{ws}/faults", "console.faults_create", "faults_create",
             "Dev console: arm a fault rule (mock.faults_create)"),
    _console("POST", "/_console/w/{ws}/faults/clear", "console.faults_clear", "faults_clear",
             "Dev console: remove every fault rule (mock.faults_clear)"),
    _console("POST", "/_console/w/{ws}/faults/{ruleId}/delete", "console.faults_delete", "faults_delete",
             "Dev console: remove one fault rule (mock.faults_delete)"),
)

BY_NAME: dict[str, Operation] = {}
for _op in OPERATIONS:
    BY_NAME.setdefault(_op.name, _op)  # the three /c/ routes share page.shared_record: the GET is first
BY_KEY: dict[str, Operation] = {op.key: op for op in OPERATIONS}

#: Route names a fault rule can match and the journal records (§8.6).
ROUTE_NAMES: tuple[str, ...] = tuple(dict.fromkeys(op.name for op in OPERATIONS if op.journaled))


def operation(name: str) -> Operation:
    return BY_NAME[name]


def path_of(name: str, **params: str) -> str:
    """The path of a named operation with its parameters filled in (the testkit's and runner's)."""
    return BY_NAME[name].url(**params)

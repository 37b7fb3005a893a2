"""The operation table is the one list of routes: everything that names a route is derived from it,
and these tests prove the derivations cannot drift (mockserver/operations.py)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from pydantic import BaseModel
from starlette.routing import Match

from mockserver import faults, operations, testkit
from mockserver.app import routes
from mockserver.operations import BY_NAME, OPERATIONS, PLANES, ROUTE_NAMES, resolve
from mockserver.pipeline import Pipeline
from mockserver.runtime import Runtime
from mockserver.scenarios.actions import ACTIONS

ROOT = Path(__file__).resolve().parent.parent

# balance-api.md §8.6: the route names of fault rules and the journal, as the contract lists them
CONTRACT_ROUTE_NAMES = {
    "balance.emit", "balance.emit_batch", "balance.delta_status", "balance.derive", "balance.compare",
    "balance.checkpoint", "balance.checkpoints_list", "balance.checkpoints_compare", "balance.receipt",
    "balance.invoice_proof", "balance.gaps", "balance.usage", "balance.limits", "balance.customers_list",
    "balance.customers_summary", "balance.customer", "balance.customer_receipts", "balance.receipt_document",
    "public.verify", "public.receipt", "public.receipt_pdf", "balance.webhooks_list", "balance.webhook_retry",
    "dashboard.customers_create", "page.shared_record", "page.receipt", "page.verify",
}


def test_every_route_is_declared_once_and_every_reference_resolves():
    assert len({op.key for op in OPERATIONS}) == len(OPERATIONS)
    for op in OPERATIONS:
        assert op.plane in PLANES, op
        handler = resolve(op.handler)
        assert callable(handler) and list(inspect.signature(handler).parameters) == ["ctx", "call"], op.handler
        for ref in (op.query, op.body, op.reply, op.path_model):
            if ref is not None:
                model = resolve(ref)
                assert isinstance(model, type) and issubclass(model, BaseModel), ref
        if op.plane == "console":  # a page of one workspace finds it from its path, never from a key
            assert (op.locate is not None) == ("{ws}" in op.path), op.name
        else:
            assert (op.locate is not None) == (op.plane in ("public", "page")), op.name
        for ref in (op.guard,):
            if ref is not None:
                assert list(inspect.signature(resolve(ref)).parameters) == ["runtime", "request"], ref
        assert set(re.findall(r"{(\w+)}", op.path)) == set(op.path_params())


def test_fault_route_names_are_the_journaled_operations_and_the_contract_s():
    assert set(ROUTE_NAMES) == {op.name for op in OPERATIONS if op.journaled} == CONTRACT_ROUTE_NAMES
    assert set(faults.FAIL_VERIFICATION_ROUTES) <= set(ROUTE_NAMES)
    assert set(faults.CHAIN_ROUTES) <= set(ROUTE_NAMES)


def test_every_operation_is_served_by_its_own_pipeline():
    served = [r for r in routes(Runtime()) if hasattr(r, "endpoints")]
    assert {(r.path, m) for r in served for m in r.endpoints} == {(op.path, op.method) for op in OPERATIONS}
    for route in served:
        for method, endpoint in route.endpoints.items():
            assert isinstance(endpoint, Pipeline) and endpoint.op is operations.BY_KEY[f"{method} {route.path}"]


@pytest.mark.parametrize("path,expected", [
    ("/api/v1/balance/delta/batch", "/api/v1/balance/delta/batch"),  # literal wins over /delta/{recordId}
    ("/api/v1/balance/delta/rec_x", "/api/v1/balance/delta/{recordId}"),
    ("/api/v1/balance/customers/summary", "/api/v1/balance/customers/summary"),
    ("/api/v1/balance/checkpoints/compare", "/api/v1/balance/checkpoints/compare"),
    ("/api/v1/receipt/chk_x.pdf", "/api/v1/receipt/{receiptId}.pdf"),
])
def test_literal_segments_win_over_parameters(path, expected):
    scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
    matched = [r.path for r in routes(Runtime()) if hasattr(r, "endpoints") and r.matches(scope)[0] != Match.NONE]
    assert matched[0] == expected


def test_scenario_actions_are_operations_of_the_table():
    for action in ACTIONS.values():
        if action.kind == "api" and action.name != "request":
            op = BY_NAME[action.operation]
            assert (action.method, action.path, action.path_params) == (op.method, op.path, tuple(op.path_params()))
        elif action.operation is not None:
            assert action.operation in BY_NAME, action


@pytest.mark.parametrize("module", [testkit, ROOT / "mockserver" / "scenarios", ROOT / "mockserver" / "console"],
                         ids=["testkit", "scenarios", "console"])
def test_names_the_testkit_and_the_runner_use_exist(module):
    """They call routes by name (operate("mock.clock_set"), path_of("mock.outbox"), …): every name
    they use is in the table, so a renamed or removed route fails here, not in a user's session.
    The console's buttons perform control operations of the table the same way."""
    files = sorted(module.glob("**/*.py")) if isinstance(module, Path) else [Path(module.__file__)]
    used = set()
    for file in files:
        used |= set(re.findall(r"""(?:operate|path_of|operation|_control|call)\(\s*"([a-z]+\.[a-z_]+)\"""", file.read_text()))
    assert used, files
    assert used <= set(BY_NAME), used - set(BY_NAME)


@pytest.mark.parametrize("method,path,allow", [
    ("GET", "/api/v1/balance/delta/batch", "POST"),  # §1.10: literal segments win
    ("GET", "/_mock/faults/flt_1", "DELETE"),
    ("PUT", "/_mock/faults", "DELETE, GET, HEAD, POST"),
    ("POST", "/_mock/settings", "GET, HEAD, PATCH"),
    ("POST", "/_mock/state", "GET, HEAD, PUT"),
    ("POST", "/_mock/keys", None),
    ("PATCH", "/_mock/journal", "DELETE, GET, HEAD"),
    ("GET", "/_mock/webhooks/drain", "POST"),
])
def test_405_lists_every_method_of_the_path(mock, method, path, allow):
    from conftest import error_of

    reply = mock.call(method, path)
    if allow is None:  # POST /_mock/keys exists: not a 405
        assert reply.status_code != 405
        return
    error_of(reply, 405, "METHOD_NOT_ALLOWED")
    assert reply.headers["Allow"] == allow


def test_input_is_validated_before_the_addressed_object_is_looked_up(mock):
    """§1.8: a request that is both malformed and about an unknown id answers 400, not 404."""
    from conftest import error_of

    unknown = "0x" + "ab" * 32
    err = error_of(mock.call("GET", f"/api/v1/verify/{unknown}", params={"source": "bogus"}), 400, "VALIDATION_ERROR")
    assert err["details"] == {"field": "source", "reason": "format"}
    error_of(mock.call("GET", f"/api/v1/verify/{unknown}"), 404, "NOT_FOUND")
    err = error_of(mock.call("GET", "/api/v1/receipt/chk_nope", params={"limit": "0"}), 400, "VALIDATION_ERROR")
    assert err["details"]["field"] == "limit"
    err = error_of(mock.call("GET", "/api/v1/balance/derive/bad%20id", params={"period": "2026-13"}), 400,
                   "VALIDATION_ERROR")
    assert err["details"]["field"] == "customerId"  # the path's grammar first (§1.10), then the query


def test_unknown_members_and_parameters_list_the_accepted_ones(mock):
    from conftest import error_of

    err = error_of(mock.call("POST", "/_mock/clock/advance", json={"minutes": 1}), 400, "VALIDATION_ERROR")
    assert err["message"] == "minutes is not a known field; accepted: seconds, until"
    err = error_of(mock.call("GET", "/api/v1/balance/usage", params={"period": "2026-02"}), 400, "VALIDATION_ERROR")
    assert err["message"].endswith("accepted: none")
    err = error_of(mock.call("POST", "/api/v1/balance/delta/batch", json={"deltas": [
        {"customerId": "c", "delta": -1, "reason": "r", "amount": 1}]}), 400, "VALIDATION_ERROR")
    assert err["details"] == {"field": "deltas[0].amount", "reason": "unknown_field"}
    assert err["message"].endswith("accepted: customerId, delta, reason, referenceId, metadata, adjusts")
    err = error_of(mock.call("PATCH", "/_mock/settings", data="null"), 400, "VALIDATION_ERROR")
    assert err["details"] == {"field": "body", "reason": "type"}  # a null body is not an object


def test_clock_set_and_freeze_take_the_instant_as_at(mock):
    moved = mock.ok("POST", "/_mock/clock/set", json={"at": "2026-02-10T00:00:00Z"})
    assert moved["now"] == "2026-02-10T00:00:00.000Z"
    assert mock.ok("POST", "/_mock/clock/set", json={"now": "2026-02-11T00:00:00Z"})["now"] == "2026-02-11T00:00:00.000Z"
    assert mock.ok("POST", "/_mock/clock/freeze", json={"at": "2026-02-12T00:00:00Z"})["now"] == "2026-02-12T00:00:00.000Z"


# --- the dev console (plane `console`) ------------------------------------------------------------------

CONSOLE = [op for op in OPERATIONS if op.plane == "console"]


def test_the_console_is_a_plane_of_the_table_never_a_workspace_request():
    assert CONSOLE and all(op.path == "/_console" or op.path.startswith("/_console/") for op in CONSOLE)
    assert {op.name for op in OPERATIONS if op.path.startswith("/_console")} == {op.name for op in CONSOLE}
    for op in CONSOLE:
        assert not op.journaled and op.name not in ROUTE_NAMES, op.name  # not counted, not a fault route
        assert op.faults == () and not op.idempotency_key, op.name
        assert op.lazy and op.guard is not None, op.name  # imported at its first request; admits itself
        assert op.admin == (op.name not in ("console.login", "console.logout")), op.name  # §8.9
        assert op.media == ("application/json" if op.name.endswith("_live") else "text/html"), op.name
        if op.method == "POST":  # the forms: bodies are form fields, checked for CSRF by the handler
            assert op.form and op.body is None, op.name
    assert not [op for op in OPERATIONS if op.lazy and op.plane != "console"]


def test_console_buttons_perform_operations_of_the_table():
    """Each form of the console names the control operation it performs (views.operate(name, …)):
    the operation exists, and its handler is the one the control route runs."""
    source = (ROOT / "mockserver" / "console" / "views.py").read_text()
    performed = set(re.findall(r'operate\(\s*"([a-z]+\.[a-z_]+)"', source))
    assert performed == {"mock.clock_advance", "mock.clock_set", "mock.clock_freeze", "mock.clock_unfreeze",
                         "mock.webhooks_config", "mock.webhooks_config_update", "mock.drain", "balance.webhook_retry",
                         "mock.faults_list", "mock.faults_create", "mock.faults_delete", "mock.faults_clear"}
    for name in performed:
        assert BY_NAME[name].plane in ("control", "api"), name


def test_building_the_app_imports_nothing_of_the_console():
    from test_startup import loaded_after

    code = ("from mockserver.app import create_app\nfrom mockserver.runtime import Runtime, ServerConfig\n"
            "create_app(Runtime(ServerConfig(check_replies=True)))")
    assert loaded_after(code, ["mockserver.console", "mockserver.console.views", "jinja2",
                               "mockserver.ledger.overview"]) == []

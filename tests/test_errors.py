"""The error table: bad input gets the documented status, code and field, names the field in its
message, and writes nothing. Plus a fuzz pass: no request ever gets a 500."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import error_of as _error_of

B = "/api/v1/balance"
GOOD = {"customerId": "cust_1", "delta": -5, "reason": "usage", "referenceId": "ref-1"}


@pytest.fixture
def seeded(mock):
    """A workspace with one verified delta and a February checkpoint."""
    mock.freeze("2026-02-10T00:00:00.000Z")
    mock.ok("POST", f"{B}/delta", json=GOOD)
    mock.clock_set("2026-03-01T00:00:00.000Z")
    mock.ok("POST", f"{B}/checkpoint", json={"customerId": "cust_1", "period": "2026-02"})
    return mock


def emit_with(**changes):
    body = {**GOOD, **changes}
    return {k: v for k, v in body.items() if v is not ...}


# (method, path, json body or None, status, code, details.field or None, details.reason or None)
CASES = [
    ("POST", f"{B}/delta", emit_with(customerId=...), 400, "VALIDATION_ERROR", "customerId", "required"),
    ("POST", f"{B}/delta", emit_with(customerId="bad id!"), 400, "VALIDATION_ERROR", "customerId", "format"),
    ("POST", f"{B}/delta", emit_with(customerId="x" * 129), 400, "VALIDATION_ERROR", "customerId", "too_long"),
    ("POST", f"{B}/delta", emit_with(customerId=12), 400, "VALIDATION_ERROR", "customerId", "type"),
    ("POST", f"{B}/delta", emit_with(delta=...), 400, "VALIDATION_ERROR", "delta", "required"),
    ("POST", f"{B}/delta", emit_with(delta="5"), 400, "VALIDATION_ERROR", "delta", "type"),
    ("POST", f"{B}/delta", emit_with(delta=True), 400, "VALIDATION_ERROR", "delta", "type"),
    ("POST", f"{B}/delta", emit_with(delta=0), 400, "VALIDATION_ERROR", "delta", "range"),
    ("POST", f"{B}/delta", emit_with(delta=1000000000.5), 400, "VALIDATION_ERROR", "delta", "range"),
    ("POST", f"{B}/delta", emit_with(delta=0.30000000000000004), 400, "VALIDATION_ERROR", "delta", "range"),
    ("POST", f"{B}/delta", emit_with(reason=""), 400, "VALIDATION_ERROR", "reason", "required"),
    ("POST", f"{B}/delta", emit_with(reason="x" * 501), 400, "VALIDATION_ERROR", "reason", "too_long"),
    ("POST", f"{B}/delta", emit_with(reason="a\nb"), 400, "VALIDATION_ERROR", "reason", "format"),
    ("POST", f"{B}/delta", emit_with(referenceId="r" * 257), 400, "VALIDATION_ERROR", "referenceId", "too_long"),
    ("POST", f"{B}/delta", emit_with(metadata=[1]), 400, "VALIDATION_ERROR", "metadata", "type"),
    ("POST", f"{B}/delta", emit_with(metadata={"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}), 400, "VALIDATION_ERROR", "metadata", "range"),
    ("POST", f"{B}/delta", emit_with(metadata={"n": 9007199254740993}), 400, "VALIDATION_ERROR", "metadata.n", "range"),
    ("POST", f"{B}/delta", emit_with(metadata={"s": "x" * 9000}), 400, "VALIDATION_ERROR", "metadata", "too_long"),
    ("POST", f"{B}/delta", emit_with(adjusts={"foo": "x"}), 400, "VALIDATION_ERROR", "adjusts", "format"),
    ("POST", f"{B}/delta", emit_with(adjusts={"recordId": "rec_nope"}), 400, "VALIDATION_ERROR", "adjusts.recordId", "unknown"),
    ("POST", f"{B}/delta", emit_with(extra=1), 400, "VALIDATION_ERROR", "extra", "unknown_field"),
    ("POST", f"{B}/delta", emit_with(vendorAccountId="v"), 400, "VALIDATION_ERROR", "vendorAccountId", "not_allowed"),
    ("POST", f"{B}/delta", [GOOD], 400, "VALIDATION_ERROR", "body", "type"),
    ("POST", f"{B}/delta/batch", {"deltas": []}, 400, "VALIDATION_ERROR", "deltas", "range"),
    ("POST", f"{B}/delta/batch", {"deltas": [GOOD] * 101}, 400, "VALIDATION_ERROR", "deltas", "range"),
    ("POST", f"{B}/delta/batch", {"deltas": [GOOD, GOOD, GOOD, emit_with(delta="x")]}, 400, "VALIDATION_ERROR", "deltas[3].delta", "type"),
    ("POST", f"{B}/delta/batch", {"deltas": [emit_with(extra=1)]}, 400, "VALIDATION_ERROR", "deltas[0].extra", "unknown_field"),
    ("POST", f"{B}/delta/batch", {}, 400, "VALIDATION_ERROR", "deltas", "required"),
    ("GET", f"{B}/delta/rec_unknown", None, 404, "NOT_FOUND", None, None),
    ("GET", f"{B}/derive/cust_1?period=2026-13", None, 400, "VALIDATION_ERROR", "period", "format"),
    ("GET", f"{B}/derive/cust_1?period=", None, 400, "VALIDATION_ERROR", "period", "required"),
    ("GET", f"{B}/derive/cust_1?period=2026-01&period=2026-02", None, 400, "VALIDATION_ERROR", "period", "conflict"),
    ("GET", f"{B}/derive/cust_1?period=2026-02&startDate=2026-02-01", None, 400, "INVALID_SCOPE_COMBINATION", None, None),
    ("GET", f"{B}/derive/cust_1?startingCheckpoint=rec_x&period=2026-02", None, 400, "INVALID_SCOPE_COMBINATION", None, None),
    ("GET", f"{B}/derive/cust_1?timePreset=current_month&endDate=2026-02-01", None, 400, "INVALID_SCOPE_COMBINATION", None, None),
    ("GET", f"{B}/derive/cust_1?startingCheckpointType=recordId", None, 400, "VALIDATION_ERROR", "startingCheckpoint", "required"),
    ("GET", f"{B}/derive/cust_1?timePreset=custom&startDate=2026-01-01", None, 400, "VALIDATION_ERROR", "endDate", "required"),
    ("GET", f"{B}/derive/cust_1?startDate=2026-02-01T00:00:00", None, 400, "VALIDATION_ERROR", "endDate", "required"),
    ("GET", f"{B}/derive/cust_1?startDate=2026-02-01T00:00:00&endDate=2026-03-01", None, 400, "VALIDATION_ERROR", "startDate", "format"),
    ("GET", f"{B}/derive/cust_1?startDate=2026-03-01&endDate=2026-02-01", None, 400, "VALIDATION_ERROR", "endDate", "range"),
    ("GET", f"{B}/derive/cust_1?startDate=2020-01-01&endDate=2026-01-01", None, 400, "SCOPE_TOO_WIDE", None, None),
    ("GET", f"{B}/derive/cust_1?startDate=2023-01-01&endDate=2023-02-01", None, 400, "SCOPE_TOO_WIDE", None, None),
    ("GET", f"{B}/derive/cust_1?startingCheckpoint=0x{'1' * 64}", None, 400, "VALIDATION_ERROR", "startingCheckpoint", "unknown"),
    ("GET", f"{B}/derive/cust_1?startingBalance=abc", None, 400, "VALIDATION_ERROR", "startingBalance", "type"),
    ("GET", f"{B}/derive/cust_1?limit=0", None, 400, "VALIDATION_ERROR", "limit", "range"),
    ("GET", f"{B}/derive/cust_1?limit=1001", None, 400, "VALIDATION_ERROR", "limit", "range"),
    ("GET", f"{B}/derive/cust_1?limit=-1", None, 400, "VALIDATION_ERROR", "limit", "type"),
    ("GET", f"{B}/derive/cust_1?granularity=year", None, 400, "VALIDATION_ERROR", "granularity", "format"),
    ("GET", f"{B}/derive/cust_1?foo=1", None, 400, "VALIDATION_ERROR", "foo", "unknown_field"),
    ("GET", f"{B}/derive/nobody", None, 404, "CUSTOMER_NOT_FOUND", None, None),
    ("GET", f"{B}/derive/bad%20id", None, 400, "VALIDATION_ERROR", "customerId", "format"),
    ("POST", f"{B}/compare", {"customerId": "cust_1", "yourBalance": 1}, 400, "VALIDATION_ERROR", "theirBalance", "required"),
    ("POST", f"{B}/compare", {"customerId": "cust_1", "yourBalance": "1", "theirBalance": 1}, 400, "VALIDATION_ERROR", "yourBalance", "type"),
    ("POST", f"{B}/compare", {"customerId": "cust_1", "yourBalance": 1, "theirBalance": 1e22}, 400, "VALIDATION_ERROR", "theirBalance", "range"),
    ("POST", f"{B}/compare", {"customerId": "nobody", "yourBalance": 1, "theirBalance": 1}, 404, "CUSTOMER_NOT_FOUND", None, None),
    ("POST", f"{B}/compare", {"customerId": "cust_1", "yourBalance": 1, "theirBalance": 1, "yourBreakdown": {"feb": 1}}, 400, "VALIDATION_ERROR", "yourBreakdown", "format"),
    ("POST", f"{B}/checkpoint", {"customerId": "cust_1", "period": "2027-01"}, 400, "VALIDATION_ERROR", "period", "future"),
    ("POST", f"{B}/checkpoint", {"customerId": "cust_1", "mode": "selected"}, 400, "VALIDATION_ERROR", "fingerprints", "required"),
    ("POST", f"{B}/checkpoint", {"customerId": "cust_1", "fingerprints": ["0x" + "a" * 64]}, 400, "VALIDATION_ERROR", "fingerprints", "not_allowed"),
    ("POST", f"{B}/checkpoint", {"customerId": "cust_1", "period": "2026-02", "mode": "selected", "fingerprints": ["0x" + "a" * 64]}, 400, "VALIDATION_ERROR", "fingerprints[0]", "unknown"),
    ("POST", f"{B}/checkpoint", {"customerId": "cust_1", "mode": "some"}, 400, "VALIDATION_ERROR", "mode", "format"),
    ("POST", f"{B}/checkpoint", {"customerId": "nobody"}, 404, "CUSTOMER_NOT_FOUND", None, None),
    ("GET", f"{B}/checkpoints?limit=101", None, 400, "VALIDATION_ERROR", "limit", "range"),
    ("GET", f"{B}/checkpoints/compare?customerId=cust_1&from=x", None, 400, "VALIDATION_ERROR", "to", "required"),
    ("GET", f"{B}/checkpoints/compare?customerId=cust_1&from=x&to=y", None, 404, "NOT_FOUND", None, None),
    ("GET", f"{B}/receipt/nobody", None, 404, "CUSTOMER_NOT_FOUND", None, None),
    ("GET", f"{B}/receipt/cust_1?limit=5000", None, 400, "VALIDATION_ERROR", "limit", "range"),
    ("GET", f"{B}/invoice-proof/cust_1?timePreset=yearly", None, 400, "VALIDATION_ERROR", "timePreset", "format"),
    ("GET", f"{B}/gaps/cust_1?fromSequence=0", None, 400, "VALIDATION_ERROR", "fromSequence", "range"),
    ("GET", f"{B}/gaps/cust_1?fromSequence=5&toSequence=2", None, 400, "VALIDATION_ERROR", "toSequence", "range"),
    ("GET", f"{B}/usage?x=1", None, 400, "VALIDATION_ERROR", "x", "unknown_field"),
    ("GET", f"{B}/customers?limit=500", None, 400, "VALIDATION_ERROR", "limit", "range"),
    ("GET", f"{B}/customers/nobody", None, 404, "CUSTOMER_NOT_FOUND", None, None),
    ("GET", f"{B}/customers/cust_1?period=feb", None, 400, "VALIDATION_ERROR", "period", "format"),
    ("GET", f"{B}/customers/nobody/receipts", None, 404, "CUSTOMER_NOT_FOUND", None, None),
    ("GET", f"{B}/receipts/chk_unknown", None, 404, "NOT_FOUND", None, None),
    ("GET", f"{B}/webhooks?status=lost", None, 400, "VALIDATION_ERROR", "status", "format"),
    ("POST", f"{B}/webhooks/evt_unknown/retry", {}, 404, "NOT_FOUND", None, None),
    ("POST", f"{B}/webhooks/evt_unknown/retry", {"x": 1}, 400, "VALIDATION_ERROR", "x", "unknown_field"),
    ("GET", "/api/v1/verify/0xnothex", None, 404, "NOT_FOUND", None, None),
    ("GET", "/api/v1/verify/0x" + "2" * 64, None, 404, "NOT_FOUND", None, None),
    ("GET", "/api/v1/receipt/chk_unknown", None, 404, "NOT_FOUND", None, None),
    ("GET", f"{B}/usage/", None, 404, "NOT_FOUND", None, None),
    ("GET", "/api/v1/balance/nothing", None, 404, "NOT_FOUND", None, None),
    ("DELETE", f"{B}/delta", None, 405, "METHOD_NOT_ALLOWED", None, None),
]


def _ids():
    return [f"{m} {p[len(B):] or p}"[:70] + f" [{i}]" for i, (m, p, *_rest) in enumerate(CASES)]


@pytest.mark.parametrize("method,path,body,status,code,field,reason", CASES, ids=_ids())
def test_error_table(seeded, method, path, body, status, code, field, reason):
    before = seeded.ok("GET", "/_mock/workspace")["counts"]
    response = seeded.call(method, path, json=body) if body is not None else seeded.call(method, path)
    assert response.status_code == status, response.text
    envelope = response.json()
    assert envelope["success"] is False
    error = envelope["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    if field is not None:
        assert error["details"] == {"field": field, "reason": reason}
        assert field.split("[")[0].split(".")[0] in error["message"]
    if code == "CUSTOMER_NOT_FOUND":
        assert error["customerId"] == "nobody"
    if status == 405:
        assert "POST" in response.headers["Allow"]
    assert seeded.ok("GET", "/_mock/workspace")["counts"] == before


def test_scope_too_wide_details(seeded):
    wide = seeded.call("GET", f"{B}/derive/cust_1?startDate=2020-01-01&endDate=2026-01-01").json()["error"]
    assert wide["details"] == {"limit": "maxScopeMonths", "requested": 72, "max": 24}
    old = seeded.call("GET", f"{B}/derive/cust_1?startDate=2023-01-01&endDate=2023-02-01").json()["error"]
    assert old["details"]["limit"] == "maxRetentionDays" and old["details"]["max"] == 730


@pytest.mark.parametrize("raw", [b"{", b'{"a":1,"a":2}', b'{"delta": NaN}', b"\xff\xfe", b'[' * 40 + b']' * 40])
def test_malformed_json_is_invalid_json(mock, raw):
    response = mock.call("POST", f"{B}/delta", data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["reason"] == "invalid_json"


def test_body_over_one_mebibyte(mock):
    response = mock.call("POST", f"{B}/delta", data=b" " * (1_048_577))
    assert response.status_code == 413 and response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize("headers,message", [
    ({}, "missing"),
    ({"X-Api-Key": "pk_prod_abc"}, "well-formed"),
    ({"X-Api-Key": "pk_test_" + "a" * 65}, "well-formed"),
    ({"X-Api-Key": "pk_test_ab cd"}, "well-formed"),
])
def test_bad_keys_are_401(server, headers, message):
    import requests

    response = requests.get(f"{server.url}{B}/usage", headers=headers)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "INVALID_API_KEY" and message in error["message"]


def test_dashboard_needs_a_bearer_token(mock):
    response = mock.call("POST", "/dashboard/customers", json={"displayName": "A"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "UNAUTHORIZED"
    response = mock.call("POST", "/dashboard/customers", json={"displayName": "A"}, headers={"Authorization": "Bearer "})
    assert response.status_code == 401


def test_bad_idempotency_key_header(mock):
    response = mock.call("POST", f"{B}/delta", json=GOOD, headers={"Idempotency-Key": "has space"})
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"field": "Idempotency-Key", "reason": "format"}


# --- fuzz: arbitrary JSON bodies and query strings never produce a 500 or a partial write ------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**25, 10**25) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=12,
)
field_names = st.sampled_from(["customerId", "delta", "reason", "referenceId", "metadata", "adjusts", "deltas",
                               "period", "startDate", "endDate", "timePreset", "yourBalance", "theirBalance",
                               "startingBalance", "mode", "fingerprints", "granularity", "displayName"])
bodies = st.dictionaries(field_names, json_values, max_size=6) | json_values
write_routes = st.sampled_from([f"{B}/delta", f"{B}/delta/batch", f"{B}/compare", f"{B}/checkpoint", "/dashboard/customers"])
query_names = st.sampled_from(["period", "timePreset", "startDate", "endDate", "startingCheckpoint",
                               "startingCheckpointType", "startingBalance", "limit", "offset", "granularity",
                               "fromSequence", "toSequence", "search", "page", "deltaLimit", "source", "status"])
query_values = st.text(alphabet=string.ascii_letters + string.digits + "-:._+TZ", max_size=25)
read_routes = st.sampled_from([f"{B}/derive/cust_1", f"{B}/receipt/cust_1", f"{B}/invoice-proof/cust_1",
                               f"{B}/gaps/cust_1", f"{B}/customers", f"{B}/customers/cust_1", f"{B}/checkpoints",
                               f"{B}/webhooks"])


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=write_routes, body=bodies)
def test_fuzz_write_routes_never_500(seeded, route, body):
    headers = {"Authorization": "Bearer t"} if route.startswith("/dashboard") else {}
    response = seeded.call("POST", route, data=json.dumps(body), headers=headers)
    assert response.status_code < 500, response.text
    envelope = response.json()
    assert envelope["success"] is (response.status_code < 300)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=read_routes, params=st.dictionaries(query_names, query_values, max_size=4))
def test_fuzz_read_routes_never_500(seeded, route, params):
    response = seeded.call("GET", route, params=params)
    assert response.status_code < 500, response.text
    assert response.json()["success"] is (response.status_code < 300)


def test_braces_in_a_refused_value_do_not_break_the_message(mock):
    """A value echoed in a message is text, never part of a template (schemathesis found a 500)."""
    from conftest import error_of

    err = error_of(mock.call("POST", "/_mock/faults", json={"match": {"route": "{x}"}, "actions": [{"type": "latency",
                                                                                                   "ms": 1}]}),
                   400, "VALIDATION_ERROR")
    assert err["details"] == {"field": "match.route", "reason": "format"} and "'{x}'" in err["message"]
    err = error_of(mock.call("GET", "/api/v1/balance/receipts/chk_x", params={"timezone": "{field}"}), 400,
                   "VALIDATION_ERROR")
    assert err["message"] == "timezone '{field}' is not an IANA zone known to the server"


def test_scope_dates_outside_the_four_digit_years_are_a_range_error(mock):
    """Timestamps are written YYYY-MM-DDTHH:MM:SS.mmmZ (proofs.md §2.7), so a scope date before
    1970-01-01 or from 10000-01-01 (reachable through a zone offset) is 400 VALIDATION_ERROR
    `range`, never a 500; the first and last representable instants are accepted as dates (and
    then answered by the window limits)."""
    mock.freeze("2026-02-10T00:00:00.000Z")
    derive = f"{B}/derive/cust_1"
    mock.ok("POST", f"{B}/delta", 201, json={"customerId": "cust_1", "delta": -1, "reason": "usage"})
    for params, field in ((dict(startDate="1969-12-31T23:59:59.999Z", endDate="2026-01-01"), "startDate"),
                          (dict(startDate="2026-01-01", endDate="9999-12-31T23:59:00.000-00:01"), "endDate"),
                          (dict(startDate="2026-01-01", endDate="9999-12-31T23:59:59.999-00:01"), "endDate")):
        response = mock.call("GET", derive, params=params)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["details"] == {"field": field, "reason": "range"}
        assert f"{field} must lie between 1970 and 9999" in response.json()["error"]["message"]
    for params in (dict(startDate="1970-01-01T00:00:00.000Z", endDate="1970-02-01"),
                   dict(startDate="2026-01-01", endDate="9999-12-31T23:59:59.999Z")):
        response = mock.call("GET", derive, params=params)
        assert response.status_code == 400 and response.json()["error"]["code"] == "SCOPE_TOO_WIDE", response.text


def test_unknown_receipt_id_is_named_in_the_404(mock):
    error = _error_of(mock.call("GET", f"{B}/receipts/chk_unknown"), 404, "NOT_FOUND")
    assert error["message"] == "Receipt 'chk_unknown' was not found"

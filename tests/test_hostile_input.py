"""Hostile input, on the real HTTP server: every case answers a 4xx with the contract's code and a
message naming the field (balance-api.md §1.4, §1.8), never a 500, and never costs memory, CPU or
disk out of proportion to the request.

Numbers are sent as exact JSON literals (`data=` text, never a float): `1e999999999999` written out
positionally would be a terabyte, `1e9999999999999999999999` does not fit Python's decimal module,
`1.0000000000000000000000000000000000001` rounds to a whole millisecond in a 28-digit context.
"""

from __future__ import annotations

import json
import os
import socket
import time

import pytest
import requests
from Crypto.Hash import keccak

from mockserver.operations import OPERATIONS

B = "/api/v1/balance"
HUGE = "1e999999999999"  # positionally: 10^12 digits (a MemoryError, or a terabyte)
TINY = "1e-999999999999"
BEYOND = "1e9999999999999999999999"  # exponent beyond the decimal module's range (InvalidOperation)
BEYOND_TINY = "-1e-9999999999999999999999"
LONG_INT = "1234567890123456789012345678901234567890"  # 40 digits
NOT_WHOLE_MS = "1.0000000000000000000000000000000000001"  # a whole millisecond only when rounded


def keccak_hex(data: bytes) -> str:
    return "0x" + keccak.new(data=data, digest_bits=256).hexdigest()


def emit(delta: str = "-1", **extra: str) -> str:
    members = [f'"customerId":"cust_h"', f'"delta":{delta}', '"reason":"usage"'] + [f'"{k}":{v}' for k, v in extra.items()]
    return "{" + ",".join(members) + "}"


def compare(**numbers: str) -> str:
    values = {"yourBalance": "0", "theirBalance": "0", **numbers}
    return '{"customerId":"cust_h",' + ",".join(f'"{k}":{v}' for k, v in values.items()) + "}"


def rule(rest: str, action: str = '{"type":"error","status":503}') -> str:
    return '{"match":{"route":"balance.emit"},"actions":[' + action + "]" + (("," + rest) if rest else "") + "}"


# (id, method, path, raw body, details.field, details.reason)
NUMBERS = [
    # §1.8 delta: emit and batch items
    *[(f"emit-delta-{name}", "POST", f"{B}/delta", emit(lit), "delta", "range") for name, lit in [
        ("huge", HUGE), ("tiny", TINY), ("beyond", BEYOND), ("beyond-tiny", BEYOND_TINY), ("minus-zero", "-0"),
        ("1e308", "1e308"), ("1e-400", "1e-400"), ("40-digits", LONG_INT), ("1e999999999", "1e999999999"),
        ("1e-999999999", "1e-999999999")]],
    ("batch-delta-huge", "POST", f"{B}/delta/batch", '{"deltas":[' + emit("-1") + "," + emit(HUGE) + "]}",
     "deltas[1].delta", "range"),
    ("batch-delta-beyond", "POST", f"{B}/delta/batch", '{"deltas":[' + emit(BEYOND) + "]}", "deltas[0].delta", "range"),
    ("batch-delta-1e-999999999", "POST", f"{B}/delta/batch", '{"deltas":[' + emit("1e-999999999") + "]}",
     "deltas[0].delta", "range"),
    # §1.8 amounts of compare
    ("compare-their-huge", "POST", f"{B}/compare", compare(theirBalance=HUGE), "theirBalance", "range"),
    ("compare-their-1e999999999", "POST", f"{B}/compare", compare(theirBalance="1e999999999"), "theirBalance", "range"),
    ("compare-their-beyond", "POST", f"{B}/compare", compare(theirBalance=BEYOND), "theirBalance", "range"),
    ("compare-your-tiny", "POST", f"{B}/compare", compare(yourBalance=TINY), "yourBalance", "range"),
    ("compare-starting-40-digits", "POST", f"{B}/compare", compare(startingBalance=LONG_INT + "0"),
     "startingBalance", "range"),
    ("compare-breakdown-huge", "POST", f"{B}/compare", compare(yourBreakdown='{"2026-02-01":' + HUGE + "}"),
     "yourBreakdown", "range"),
    # §8.3 clock advance: > 0, at most 10 years, whole milliseconds
    *[(f"advance-{name}", "POST", "/_mock/clock/advance", '{"seconds":' + lit + "}", "seconds", "range")
      for name, lit in [("1e999999", "1e999999"), ("1e-999999999", "1e-999999999"), ("0.0001", "0.0001"),
                        ("huge", HUGE), ("beyond", BEYOND), ("beyond-tiny", BEYOND_TINY), ("minus-zero", "-0"),
                        ("1e308", "1e308"), ("1e-400", "1e-400"), ("40-digits", LONG_INT),
                        ("not-whole-ms", NOT_WHOLE_MS)]],
    # §8.4 settings
    *[(f"settings-{member}-{name}", "PATCH", "/_mock/settings", '{"' + member + '":' + lit + "}", member, "range")
      for member in ("processingDelaySeconds", "verifyDelaySeconds")
      for name, lit in [("1e-999999999", "1e-999999999"), ("not-whole-ms", NOT_WHOLE_MS), ("1e308", "1e308"),
                        ("huge", HUGE), ("beyond", BEYOND), ("minus-tiny", "-1e-400")]],
    ("settings-seed-huge", "PATCH", "/_mock/settings", '{"seed":' + HUGE + "}", "seed", "range"),
    ("settings-seed-beyond", "PATCH", "/_mock/settings", '{"seed":' + BEYOND + "}", "seed", "range"),
    ("settings-seed-40-digits", "PATCH", "/_mock/settings", '{"seed":' + LONG_INT + "}", "seed", "range"),
    ("settings-seed-1e-400", "PATCH", "/_mock/settings", '{"seed":1e-400}', "seed", "type"),
    ("settings-cadence-huge", "PATCH", "/_mock/settings", '{"cadenceLimitSeconds":' + HUGE + "}",
     "cadenceLimitSeconds", "range"),
    ("settings-allotment-40-digits", "PATCH", "/_mock/settings", '{"planAllotment":' + LONG_INT + "}",
     "planAllotment", "range"),
    ("settings-limits-beyond", "PATCH", "/_mock/settings", '{"limits":{"maxScopeMonths":' + BEYOND + "}}",
     "limits.maxScopeMonths", "range"),
    ("settings-ttl-1e-400", "PATCH", "/_mock/settings", '{"idempotencyTtlSeconds":1e-400}', "idempotencyTtlSeconds",
     "type"),
    ("settings-journal-huge", "PATCH", "/_mock/settings", '{"journalSize":' + HUGE + "}", "journalSize", "range"),
    ("seed-huge", "POST", "/_mock/seed", '{"seed":' + HUGE + "}", "seed", "range"),
    ("seed-beyond-tiny", "POST", "/_mock/seed", '{"seed":' + BEYOND_TINY + "}", "seed", "type"),
    # §8.6 fault rule fields
    ("faults-nth-huge", "POST", "/_mock/faults", rule('"nth":[' + HUGE + "]"), "nth[0]", "range"),
    ("faults-nth-1e-400", "POST", "/_mock/faults", rule('"nth":[1e-400]'), "nth[0]", "type"),
    ("faults-times-beyond", "POST", "/_mock/faults", rule('"times":' + BEYOND), "times", "range"),
    ("faults-probability-over-one", "POST", "/_mock/faults", rule('"probability":' + NOT_WHOLE_MS), "probability",
     "range"),
    ("faults-probability-huge", "POST", "/_mock/faults", rule('"probability":' + HUGE), "probability", "range"),
    ("faults-latency-1e-400", "POST", "/_mock/faults", rule("", '{"type":"latency","ms":1e-400}'), "actions[0].ms",
     "type"),
    ("faults-latency-huge", "POST", "/_mock/faults", rule("", '{"type":"latency","ms":' + HUGE + "}"),
     "actions[0].ms", "range"),
    ("faults-retry-after-beyond", "POST", "/_mock/faults",
     rule("", '{"type":"rate_limited","retryAfterSeconds":' + BEYOND + "}"), "actions[0].retryAfterSeconds", "range"),
    ("faults-status-not-whole", "POST", "/_mock/faults", rule("", '{"type":"error","status":' + "503." + "0" * 40 + "1}"),
     "actions[0].status", "type"),
    ("faults-webhook-status-huge", "POST", "/_mock/faults",
     '{"match":{"event":"delta.verified"},"actions":[{"type":"webhook_failure","status":' + HUGE + "}]}",
     "actions[0].status", "range"),
]


@pytest.mark.parametrize(("method", "path", "body", "field", "reason"),
                         [pytest.param(*case[1:], id=case[0]) for case in NUMBERS])
def test_hostile_numbers_are_refused_naming_the_field(mock, method, path, body, field, reason):
    response = mock.call(method, path, data=body, headers={"Idempotency-Key": "hostile"})
    assert response.status_code == 400, response.text[:500]
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"] == {"field": field, "reason": reason}
    assert error["message"].startswith(field + " "), error["message"]


def test_a_delta_of_a_huge_exponent_under_an_idempotency_key_is_compared_without_expanding(mock):
    """The Idempotency-Key's body identity is taken before validation (§1.14): by value, never written
    out positionally (10^12 zeros)."""
    for _ in range(2):
        response = mock.call("POST", f"{B}/delta", data=emit(HUGE), headers={"Idempotency-Key": "k-huge"})
        assert response.status_code == 400 and response.json()["error"]["details"]["field"] == "delta"
    assert mock.ok("POST", f"{B}/delta", 201, data=emit("-1"), headers={"Idempotency-Key": "k-huge"})["delta"] == -1


def test_an_underflowing_clock_advance_is_the_same_400_as_a_sub_millisecond_one(mock):
    """`{"seconds": 1e-999999999}` was a silent no-op while 0.0001 was a 400: now the same reply."""
    replies = [mock.call("POST", "/_mock/clock/advance", data='{"seconds":' + lit + "}")
               for lit in ("0.0001", "1e-999999999", BEYOND_TINY[1:])]
    assert {(r.status_code, r.text) for r in replies} == {(400, replies[0].text)}
    assert replies[0].json()["error"] == {
        "code": "VALIDATION_ERROR", "message": "seconds must be > 0, at most 10 years, in whole milliseconds",
        "details": {"field": "seconds", "reason": "range"}}


def test_numbers_at_the_edge_are_accepted(mock):
    """-0 is zero where zero is allowed, and replies never spell it -0; a whole millisecond with
    trailing zeros is a whole millisecond."""
    settings = mock.ok("PATCH", "/_mock/settings", data='{"processingDelaySeconds":-0,"seed":-0}')
    assert (settings["processingDelaySeconds"], settings["seed"]) == (0, 0)
    created = mock.call("POST", "/_mock/faults", data=rule('"probability":-0'))
    assert created.status_code == 201 and '"probability":0.0' in created.text and "-0" not in created.text
    mock.ok("DELETE", "/_mock/faults")
    mock.freeze("2026-02-01T00:00:00Z")
    moved = mock.ok("POST", "/_mock/clock/advance", data='{"seconds":1.5000000000000000000000000000000000000}')
    assert moved["now"] == "2026-02-01T00:00:01.500Z"


# --- metadata: kept as submitted, hashed as doubles, bounded before anything is expanded ------------

def test_metadata_numbers_are_stored_as_their_text_and_hashed_as_doubles(mock):
    """proofs.md §2.4: metadata numbers are hashed as the nearest double, so 1e-99999999 (a
    77-byte request that was once a 100 MB row) canonicalises to 0; the reply returns it as sent."""
    body = emit(metadata='{"n":1e-99999999,"m":[1.10,-0,1E+2,1e308],"t":12.5e-1}')
    response = mock.call("POST", f"{B}/delta", data=body)
    assert response.status_code == 201, response.text[:300]
    assert '"metadata":{"n":1e-99999999,"m":[1.10,-0,1E+2,1e308],"t":12.5e-1}' in response.text
    assert len(response.text) < 2000
    digest = keccak_hex(b'{"m":[1.1,0,100,1e+308],"n":0,"t":1.25}')  # JCS of the doubles
    assert response.json()["data"]["metadataDigest"] == digest
    record = response.json()["data"]["recordId"]
    status = mock.call("GET", f"{B}/delta/{record}")
    assert '"metadata":{"n":1e-99999999,"m":[1.10,-0,1E+2,1e308],"t":12.5e-1}' in status.text
    assert status.json()["data"]["metadataDigest"] == digest


def test_metadata_of_tiny_exponents_beyond_the_decimal_module_is_zero_too(mock):
    response = mock.call("POST", f"{B}/delta", data=emit(metadata='{"n":1e-999999999,"z":' + BEYOND_TINY + "}"))
    assert response.status_code == 201, response.text[:300]
    assert response.json()["data"]["metadataDigest"] == keccak_hex(b'{"n":0,"z":0}')
    assert '"metadata":{"n":1e-999999999,"z":' + BEYOND_TINY + "}" in response.text


@pytest.mark.parametrize(("metadata", "field"), [
    ('{"n":1e999999999}', "metadata.n"),
    ('{"n":' + HUGE + "}", "metadata.n"),
    ('{"n":' + BEYOND + "}", "metadata.n"),
    ('{"n":1e309}', "metadata.n"),
    ('{"n":' + LONG_INT + "}", "metadata.n"),
    ('{"a":{"b":[1,2,-' + LONG_INT + "]}}", "metadata.a.b[2]"),
    ('{"n":9007199254740992}', "metadata.n"),
])
def test_metadata_numbers_out_of_range_are_refused_by_path(mock, metadata, field):
    response = mock.call("POST", f"{B}/delta", data=emit(metadata=metadata))
    assert response.status_code == 400, response.text[:300]
    error = response.json()["error"]
    assert error["details"] == {"field": field, "reason": "range"}
    assert error["message"].startswith(field + " must be "), error["message"]
    batch = mock.call("POST", f"{B}/delta/batch", data='{"deltas":[' + emit(metadata=metadata) + "]}")
    assert batch.json()["error"]["details"] == {"field": "deltas[0]." + field, "reason": "range"}


def test_metadata_literals_are_bounded_as_submitted(mock):
    """A number of 900 000 digits is a few bytes of JCS but not of text: refused before any
    conversion (int() of it took a minute), as the 8 192-byte bound of the stored form."""
    for literal in ("9" * 900_000, "0." + "0" * 900_000 + "1"):
        response = mock.call("POST", f"{B}/delta", data=emit(metadata='{"n":' + literal + "}"))
        assert response.status_code == 400
        assert response.json()["error"]["details"] == {"field": "metadata", "reason": "too_long"}
        assert "as submitted" in response.json()["error"]["message"]
    at_bound = '{"n":0.' + "0" * (8192 - 9) + "1}"  # 8192 bytes as submitted, a double (0) in JCS
    assert len(at_bound) == 8192
    assert mock.call("POST", f"{B}/delta", data=emit(metadata=at_bound)).status_code == 201


# --- malformed JSON on every route that takes a JSON body -------------------------------------------

JSON_ROUTES = [op for op in OPERATIONS if op.body and not op.form]
HOSTILE_BODIES = [
    ("deep-arrays", b"[" * 100_000 + b"]" * 100_000, "body", "invalid_json"),
    ("deep-objects", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "body", "invalid_json"),
    ("duplicate-members", b'{"a":1,"a":1}', "body", "invalid_json"),
    ("invalid-utf8", b'{"a":"\xff\xfe"}', "body", "invalid_json"),
    ("overlong-utf8", b'{"a":"\xc0\xaf"}', "body", "invalid_json"),
    ("encoded-surrogate", b'{"a":"\xed\xa0\x80"}', "body", "invalid_json"),
    ("lone-surrogate", b'{"a":"\\ud800"}', "a", "invalid_json"),
    ("lone-surrogate-nested", b'{"a":{"b":["x","\\udfff"]}}', "a.b[1]", "invalid_json"),
    ("lone-surrogate-member", b'{"\\udc00":1}', "body", "invalid_json"),
    ("nan", b'{"a":NaN}', "body", "invalid_json"),
    ("infinity", b'{"a":-Infinity}', "body", "invalid_json"),
    ("trailing", b'{"a":1} x', "body", "invalid_json"),
    ("null", b"null", "body", "type"),
    ("array", b"[]", "body", "type"),
    ("number", b"1e999999999999", "body", "type"),
]


def _path(op) -> str:
    return op.url(**{name: "x" for name in op.path_params()})


@pytest.mark.parametrize("op", JSON_ROUTES, ids=lambda op: op.key)
@pytest.mark.parametrize(("body", "field", "reason"), [pytest.param(*b[1:], id=b[0]) for b in HOSTILE_BODIES])
def test_malformed_json_bodies_are_400_on_every_route(mock, op, body, field, reason):
    headers = {"Authorization": "Bearer hostile"} if op.plane == "dashboard" else {}
    response = mock.call(op.method, _path(op), data=body, headers=headers)
    assert response.status_code == 400, response.text[:300]
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"] == {"field": field, "reason": reason}, error
    if field != "body":
        assert error["message"].startswith(field + " holds a lone surrogate")


@pytest.mark.parametrize("op", [op for op in JSON_ROUTES if op.plane in ("control", "global")], ids=lambda op: op.key)
def test_control_routes_refuse_a_null_body(mock, op):
    response = mock.call(op.method, _path(op), data="null")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"field": "body", "reason": "type"}


@pytest.mark.parametrize("path", sorted({op.path for op in OPERATIONS if op.plane in ("control", "global")}))
def test_405_on_control_routes_lists_every_method(mock, path):
    methods = {op.method for op in OPERATIONS if op.path == path}
    wrong = next(m for m in ("PATCH", "PUT", "DELETE", "POST", "GET") if m not in methods)
    response = mock.call(wrong, path.replace("{ruleId}", "flt_1").replace("{key}", "pk_test_x"))
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    allowed = set(response.headers["Allow"].split(", "))
    assert allowed == methods | ({"HEAD"} if "GET" in methods else set())


# --- integer query parameters ------------------------------------------------------------------------

QUERY_INTEGERS = [
    (f"{B}/customers", "page"), (f"{B}/customers", "limit"), (f"{B}/checkpoints", "offset"),
    (f"{B}/checkpoints", "limit"), (f"{B}/gaps/cust_h", "fromSequence"), (f"{B}/gaps/cust_h", "toSequence"),
    (f"{B}/customers/cust_h", "deltaPage"), (f"{B}/derive/cust_h", "offset"), (f"{B}/webhooks", "offset"),
    ("/_mock/journal", "sinceSeq"), ("/_mock/journal", "limit"), ("/_mock/webhooks/outbox", "offset"),
]


@pytest.mark.parametrize(("path", "name"), QUERY_INTEGERS)
@pytest.mark.parametrize(("value", "reason"), [
    ("9" * 5000, "range"), ("1" + "0" * 4400, "range"), ("+5", "type"), ("-1", "type"), ("1e3", "type"),
    ("0x10", "type"), ("\u0665", "type"), ("5.0", "type"),
], ids=["5000-digits", "4401-digits", "plus", "minus", "exponent", "hex", "arabic-digit", "fraction"])
def test_integer_query_parameters_of_any_length_are_400(mock, path, name, value, reason):
    response = mock.call("GET", path, params={name: value})
    assert response.status_code == 400, response.text[:300]
    error = response.json()["error"]
    assert error["details"] == {"field": name, "reason": reason}
    assert error["message"].startswith(name + " ")


def test_leading_zeros_past_python_int_limit_are_read_as_the_number(mock):
    data = mock.ok("GET", f"{B}/customers", params={"limit": "0" * 5000 + "7"})
    assert data["pagination"]["limit"] == 7


@pytest.mark.parametrize("value", ["1e99999999999", BEYOND, "9" * 5000, "0." + "1" * 40, "NaN", "-0x1"])
def test_amount_query_parameters_are_bounded(mock, value):
    response = mock.call("GET", f"{B}/derive/cust_h", params={"startingBalance": value})
    assert response.status_code == 400, response.text[:300]
    assert response.json()["error"]["details"]["field"] == "startingBalance"


# --- bodies: bounded while they stream, refused before they end --------------------------------------

MIB = 1 << 20
BODY_ROUTES = [op for op in OPERATIONS if op.body or op.form]


def _connect(url: str, timeout: float = 10.0) -> socket.socket:
    host, port = url.rsplit("//", 1)[1].split(":")
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    return sock


def _head(method: str, path: str, *extra: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "X-Api-Key: pk_test_hostile_bodies",
             "Authorization: Bearer hostile", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _reply(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 reply with a Content-Length, read whole."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed without a reply: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk
        body += chunk
    return int(status_line.split()[1]), headers, body


def _closed(sock: socket.socket) -> bool:
    """True when the server closes the connection (reading gives EOF or a reset) before the
    socket's own timeout; anything it sends first is read and dropped."""
    try:
        while sock.recv(65536):
            pass
    except socket.timeout:
        return False
    except ConnectionResetError:
        pass
    return True


@pytest.mark.parametrize("op", BODY_ROUTES, ids=lambda op: op.key)
def test_an_endless_chunked_body_is_refused_while_it_still_streams(server, op):
    """1 MiB + 64 KiB of chunks and no end: the 413 arrives while the body is still open, so the
    server never waited for (nor kept) the rest."""
    with _connect(server.url) as sock:
        sock.sendall(_head(op.method, _path(op), "Transfer-Encoding: chunked"))
        chunk = b"x" * 65536
        for _ in range(17):
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        status, headers, body = _reply(sock)
    assert status == 413
    if op.plane not in ("page", "console"):
        assert json.loads(body)["error"]["code"] == "PAYLOAD_TOO_LARGE"
    else:  # the HTML planes answer with an HTML error page
        assert headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(("path", "method", "limit"), [
    *[(_path(op), op.method, MIB) for op in BODY_ROUTES], ("/_mock/state", "PUT", 1 << 30)])
def test_a_declared_length_over_the_limit_is_refused_before_any_body_byte(server, path, method, limit):
    with _connect(server.url) as sock:
        sock.sendall(_head(method, path, f"Content-Length: {limit + 1}"))
        status, _, _ = _reply(sock)
    assert status == 413


def test_a_state_upload_that_is_not_sqlite_is_refused_at_its_first_bytes(server):
    with _connect(server.url) as sock:
        sock.sendall(_head("PUT", "/_mock/state", f"Content-Length: {512 * MIB}") + b"not a database file.")
        status, _, body = _reply(sock)
    assert status == 400
    assert json.loads(body)["error"]["details"] == {"field": "body", "reason": "format"}


def _malformed(server, data: bytes) -> tuple[int, dict]:
    with _connect(server.url) as sock:
        sock.sendall(data)
        status, headers, body = _reply(sock)
    assert headers["content-type"] == "application/json"
    return status, json.loads(body)


@pytest.mark.parametrize("data", [
    b"GARBAGE\r\n\r\n",
    b"GET /_mock/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000,  # headers past h11's 16 KiB, unfinished
    b"POST /_mock/reset HTTP/1.1\r\nHost: x\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n",
    b"POST /_mock/reset HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    b"POST /_mock/reset HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + b"f" * 5000 + b"\r\n",
    b"GET /_mock/health\xff HTTP/1.1\r\nHost: x\r\n\r\n",
], ids=["garbage", "huge-headers", "length-5000-digits", "two-lengths", "chunk-size-5000-digits", "non-ascii-target"])
def test_malformed_http_is_400_in_the_envelope(server, data):
    status, envelope = _malformed(server, data)
    assert status == 400
    assert envelope["success"] is False and envelope["error"]["code"] == "VALIDATION_ERROR"
    assert "not valid HTTP/1.1" in envelope["error"]["message"]


# --- a real `serve` process: memory of a state upload, disconnects, connection timeouts -------------

TIMEOUT = 0.3  # the test's connection timeout: short, so nothing here waits long


@pytest.fixture
def served(request, tmp_path, monkeypatch):
    """`pacspace-mock serve` with a short connection timeout (TIMEOUT, or the test's indirect
    parameter), its temporary files in tmp_path."""
    from test_serve import Served

    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the child's uploads land here
    timeout = getattr(request, "param", TIMEOUT)
    server = Served("--db", ":memory:", "--no-access-log", "--timeout", str(timeout), "--processing-delay", "0",
                    "--verify-delay", "0")
    server.tmp = tmp_path
    yield server
    server.stop()


def _peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def _log_lines(server, wanted: str, count: int = 1) -> list[str]:
    """The server's log lines holding `wanted`, once `count` of them are there (bounded polling of
    the log file, as the readiness check polls the health route)."""
    deadline = time.monotonic() + 10
    while True:
        server.log.seek(0)
        lines = [line for line in server.log.read().splitlines() if wanted in line]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.02)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="peak RSS is read from /proc")
def test_a_state_upload_streams_to_disk_not_memory(served):
    """48 MiB of an SQLite-looking file: streamed to a temporary file (then refused as unreadable);
    the server's peak RSS grows by far less than the body, and the file is gone afterwards."""
    pid = served.proc.pid
    warm = requests.put(f"{served.url}/_mock/state", data=b"SQLite format 3\x00" + b"\x01" * 4096)
    assert warm.status_code == 400
    before = _peak_rss_mib(pid)
    size = 48 * MIB
    with _connect(served.url, timeout=60) as sock:
        sock.sendall(_head("PUT", "/_mock/state", f"Content-Length: {size}") + b"SQLite format 3\x00")
        block, sent = b"\x01" * MIB, 16
        while sent < size:
            part = block[:size - sent]
            sock.sendall(part)
            sent += len(part)
        status, _, body = _reply(sock)
    assert status == 400 and "not a readable SQLite database" in json.loads(body)["error"]["message"]
    assert _peak_rss_mib(pid) - before < 16, "the upload was buffered in memory"
    assert not list(served.tmp.glob("pacspace-mock-upload-*")), "the upload's temporary file was left behind"
    # and a real export, streamed back the same way, is imported
    requests.post(f"{served.url}/api/v1/balance/delta", headers={"X-Api-Key": "pk_test_up"},
                  json={"customerId": "c1", "delta": -1, "reason": "u"})
    export = requests.get(f"{served.url}/_mock/state").content
    imported = requests.put(f"{served.url}/_mock/state", data=iter([export[:1000], export[1000:]]))  # chunked
    assert imported.json()["data"] == {"imported": True, "workspaces": 1}
    assert not list(served.tmp.glob("pacspace-mock-upload-*"))


@pytest.mark.parametrize(("method", "path", "start"), [
    ("POST", f"{B}/delta", b'{"customerId":"c1",'),
    ("POST", "/c/cus_nobody/access", b"code=ABC"),
    ("PUT", "/_mock/state", b"SQLite format 3\x00\x01\x02"),
])
def test_a_client_leaving_mid_upload_is_one_log_line(served, method, path, start):
    with _connect(served.url) as sock:
        sock.sendall(_head(method, path, "Content-Length: 100000") + start)
    lines = _log_lines(served, "client disconnected while sending the body")
    assert lines == [f"client disconnected while sending the body of {method} {path} ({len(start)} bytes received)"]
    journal = requests.get(f"{served.url}/_mock/journal", headers={"X-Api-Key": "pk_test_hostile_bodies"})
    assert journal.json()["data"] == {"entries": [], "total": 0}  # no 500 journaled: no entry at all
    output = served.stop()  # beyond the start banner, the server said exactly that: no traceback, no 500
    assert [line for line in output.splitlines() if line and not line.startswith(("pacspace-mock ", "  "))] == lines


def test_an_idle_connection_is_closed(served):
    with _connect(served.url, timeout=5) as sock:
        assert _closed(sock)
    with _connect(served.url, timeout=5) as sock:  # idle again after a reply (keep-alive)
        sock.sendall(b"GET /_mock/health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _reply(sock)[0] == 200
        assert _closed(sock)


@pytest.mark.parametrize("partial", [b"GET /_mock/hea", b"GET /_mock/health HTTP/1.1\r\nHost: x\r\nX-A"],
                         ids=["request-line", "headers"])
def test_a_request_that_stalls_before_its_headers_end_is_closed(served, partial):
    with _connect(served.url, timeout=5) as sock:
        sock.sendall(partial)
        assert _closed(sock)
    assert _log_lines(served, f"{len(partial)} bytes of a request line and headers, not complete after {TIMEOUT}s")


def test_a_slowloris_trickle_does_not_extend_the_header_deadline(served):
    """One byte every 0.1 s (each well within the timeout): the connection is closed once the
    headers have taken longer than the timeout in all, long before they could end."""
    trickle = b"GET /_mock/health HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: " + b"s" * 40
    with _connect(served.url, timeout=5) as sock:
        for i, byte in enumerate(trickle):
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            sock.settimeout(0.1)
            try:
                if sock.recv(1024) == b"":
                    break
            except socket.timeout:
                continue
            except ConnectionResetError:
                break
        else:
            pytest.fail("the trickle was never cut off")
    assert 1 <= i < len(trickle) - 1


def test_a_stalled_body_is_closed_and_logged_once(served):
    with _connect(served.url, timeout=5) as sock:
        sock.sendall(_head("POST", f"{B}/delta", "Content-Length: 100") + b'{"customerId":')
        assert _closed(sock)
    lines = _log_lines(served, "while sending the body")
    assert lines == [f"client sent nothing for {TIMEOUT}s (connection timeout) while sending the body of "
                     f"POST {B}/delta (14 bytes received)"]


@pytest.mark.parametrize("served", [1.0], indirect=True)  # a wider margin: the parts are paced in real time
def test_a_slow_body_that_progresses_and_a_slow_handler_are_not_cut(served):
    """The deadline bounds the client's silence, not the request: a body in three parts, each
    within the timeout of the last but all together longer than it, is accepted, and a reply that
    takes twice the timeout (a latency fault) is still sent."""
    timeout = 1.0
    key = {"X-Api-Key": "pk_test_slow"}
    body = json.dumps({"customerId": "c1", "delta": -1, "reason": "slow"}).encode()
    with _connect(served.url, timeout=5) as sock:
        sock.sendall(_head("POST", f"{B}/delta", f"Content-Length: {len(body)}").replace(
            b"pk_test_hostile_bodies", b"pk_test_slow"))
        for part in (body[:10], body[10:20], body[20:]):
            time.sleep(timeout * 0.4)
            sock.sendall(part)
        assert _reply(sock)[0] == 201
    fault = {"match": {"route": "balance.emit"}, "actions": [{"type": "latency", "ms": int(timeout * 2000)}]}
    assert requests.post(f"{served.url}/_mock/faults", headers=key, json=fault).status_code == 201
    slow = requests.post(f"{served.url}/api/v1/balance/delta", headers=key, timeout=10,
                         json={"customerId": "c1", "delta": -2, "reason": "slow"})
    assert slow.status_code == 201


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/_mock/clock/set", {"at": "9999-01-01T00:00:00Z"}, "at"),
    ("/_mock/clock/set", {"now": "0000-01-01T00:00:00Z"}, "now"),
    ("/_mock/clock/set", {"at": "1969-12-31T23:59:59.999Z"}, "at"),
    ("/_mock/clock/freeze", {"at": "9999-12-31T23:59:59.999Z"}, "at"),
    ("/_mock/clock/advance", {"until": "9999-06-01T00:00:00Z"}, "until"),
])
def test_the_clock_keeps_four_digit_years(mock, path, body, field):
    """A clock at 9999-12-31T23:59:59.999Z, running, wrote 10000-01-01T… a second later: every
    timestamp (§1.13) and period then broke its format. The clock stays where scope dates may."""
    response = mock.call("POST", path, json=body)
    assert response.status_code == 400, response.text[:300]
    error = response.json()["error"]
    assert error["details"] == {"field": field, "reason": "range"}
    assert error["message"].startswith(f"{field} must keep the clock between 1970-01-01 and 9998-12-31")
    mock.freeze("9998-12-31T23:59:59.999Z")
    assert mock.ok("GET", "/_mock/clock")["now"] == "9998-12-31T23:59:59.999Z"
    far = mock.call("POST", "/_mock/clock/advance", json={"seconds": 0.001})
    assert far.status_code == 400 and far.json()["error"]["details"] == {"field": "seconds", "reason": "range"}


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("POST", "/_mock/faults", {"match": {"route": "balance.emit"}, "actions": [{"type": []}]}, "actions[0].type"),
    ("POST", "/_mock/faults", {"match": {"route": "balance.emit"}, "actions": [{"type": {}}]}, "actions[0].type"),
    ("POST", "/_mock/faults", {"match": {"route": []}, "actions": [{"type": "latency", "ms": 1}]}, "match.route"),
    ("POST", "/_mock/faults", {"match": {"event": {}}, "actions": [{"type": "webhook_failure"}]}, "match.event"),
    ("PATCH", "/_mock/settings", {"webhookDelivery": []}, "webhookDelivery"),
    ("POST", f"{B}/compare", {"customerId": "c", "yourBalance": 0, "theirBalance": 0, "granularity": []}, "granularity"),
    ("POST", f"{B}/compare", {"customerId": "c", "yourBalance": 0, "theirBalance": 0, "period": {}}, "period"),
    ("POST", f"{B}/checkpoint", {"customerId": "c", "mode": []}, "mode"),
])
def test_a_list_or_object_where_a_name_is_expected_is_400(mock, method, path, body, field):
    """[] and {} cannot be looked up in a table of names (unhashable): actions[0].type was a 500."""
    response = mock.call(method, path, json=body)
    assert response.status_code == 400, response.text[:300]
    assert response.json()["error"]["details"]["field"] == field

"""`X-Content-Type-Options: nosniff` on every reply (balance-api.md §6, §8.9), on loopback too: each
operation of the table, its successes and its errors, and the replies outside the table (static
files, the OpenAPI document, unknown paths, 405s)."""

from __future__ import annotations

import requests

from mockserver.operations import OPERATIONS

B = "/api/v1/balance"


def test_every_operation_of_the_table_replies_nosniff(mock):
    mock.freeze("2026-02-01T10:00:00.000Z")
    emitted = mock.ok("POST", f"{B}/delta", json={"customerId": "cust_x", "delta": -3, "reason": "usage",
                                                  "referenceId": "r1"})
    mock.clock_set("2026-03-01T00:05:00.000Z")
    receipt = mock.ok("GET", f"{B}/invoice-proof/cust_x?period=2026-02")
    event = mock.ok("GET", "/_mock/webhooks/outbox")["entries"][0]["eventId"]
    params = {"recordId": emitted["recordId"], "customerId": "cust_x", "receiptId": receipt["receiptId"],
              "root": receipt["proofRoot"], "handle": receipt["verifyUrl"].rsplit("/", 1)[1], "eventId": event,
              "ruleId": "flt_404", "key": "pk_test_never_registered", "ws": "1", "seq": "1"}
    seen = set()
    for op in OPERATIONS:
        url = mock.base_url + op.url(**{name: params[name] for name in op.path_params()})
        headers = {"X-Api-Key": mock.key, "Authorization": "Bearer t"}
        if op.raw_body:  # never a real database: this server is the session's
            body = {"data": b"not an SQLite file"}
        elif op.method in ("POST", "PUT", "PATCH"):  # refused before it executes: nothing changes
            body = {"json": {"unknownMember": 1}}
        else:
            body = {}
        reply = mock.http.request(op.method, url, headers=headers, allow_redirects=False, **body)
        assert reply.headers.get("X-Content-Type-Options") == "nosniff", (op.key, reply.status_code, reply.headers)
        assert "," not in reply.headers["X-Content-Type-Options"], op.key  # once, not twice (pages set it too)
        seen.add((reply.status_code, reply.headers.get("content-type", "").split(";")[0]))
    # the walk met successes and errors of every kind of reply
    assert {(200, "application/json"), (200, "text/html"), (200, "application/pdf"),
            (200, "application/vnd.sqlite3"), (400, "application/json"), (404, "application/json")} <= seen, seen


def test_replies_outside_the_table_are_nosniff(server):
    for method, path, status in [
        ("GET", "/static/pacspace.css", 200), ("GET", "/static/pacspace-verify.js", 200),
        ("GET", "/static/missing.js", 404), ("GET", "/openapi.json", 200), ("GET", "/no/such/route", 404),
        ("POST", "/_mock/state", 405), ("GET", "/api/v1/balance/delta/batch", 405), ("HEAD", "/_mock/health", 200),
        ("GET", "/receipt/chk_unknown", 404), ("GET", "/api/v1/balance/usage", 401),
    ]:
        reply = requests.request(method, server.url + path)
        assert reply.status_code == status, (path, reply.status_code)
        assert reply.headers.get("X-Content-Type-Options") == "nosniff", (method, path)

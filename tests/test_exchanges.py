"""Recorded exchanges: the journal keeps what each request sent and got back (bodies and headers,
credentials redacted, bounded), queried over HTTP, through the testkit and from scenarios."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from pacspace_sdk import PacSpace

from mockserver.testkit import Workspace

B = "/api/v1/balance"


@pytest.fixture
def ws(server, api_key) -> Workspace:
    workspace = Workspace(server.url, api_key + ".s3cretpart")
    workspace.clock.freeze("2026-02-01T10:00:00Z")
    return workspace


def journal(ws: Workspace, **params) -> dict:
    query = "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return ws.operate("mock.journal", query=query)


def test_the_sdk_emit_is_recorded_with_its_exact_body_and_reply(ws):
    sdk = PacSpace.init(ws.key, base_url=ws.base_url)
    sdk.balance.emit("cust_1", -420.5, "daily_usage_flush:2026-02-01", {"referenceId": "usage:cust_1:2026-02-01"})
    exchange, = ws.requests("balance.emit")
    assert exchange.json == {"customerId": "cust_1", "delta": Decimal("-420.5"), "reason": "daily_usage_flush:2026-02-01",
                             "referenceId": "usage:cust_1:2026-02-01"}
    assert exchange.status == 201 and exchange.reply["data"]["referenceId"] == "usage:cust_1:2026-02-01"
    assert exchange.request["headers"]["content-type"].startswith("application/json")
    assert exchange.response["headers"]["x-request-id"] == exchange.entry["requestId"]
    assert exchange.request["bodySize"] == len(exchange.request_body.encode()) and not exchange.request["truncated"]
    # the same over HTTP, with the parsed body beside the text
    entry, = journal(ws, exchange="true", route="balance.emit")["entries"]
    assert entry["exchange"]["request"]["parsed"]["delta"] == -420.5
    assert json.loads(entry["exchange"]["response"]["body"]) == entry["exchange"]["response"]["parsed"]
    assert "exchange" not in journal(ws, route="balance.emit")["entries"][0]  # the §8.7 entry as documented


def test_credentials_are_redacted_everywhere_in_the_record(ws):
    ws.call("POST", f"{B}/delta", {"customerId": "cust_r", "delta": -1, "reason": "usage"})
    ws.request("POST", "/dashboard/customers", {"displayName": "R"}, headers={"Authorization": "Bearer tok-123456"})
    ws.clock.advance(5)
    receipt = ws.call("GET", f"{B}/receipt/cust_r")
    code = receipt["accessHint"]
    page = ws.http.request("POST", receipt["verifyUrl"] + "/access", content=f"code={code}",
                           headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": "a=b"})
    assert page.status_code == 303 and "set-cookie" in page.headers  # the right code: a session cookie
    text = json.dumps(journal(ws, exchange="true", limit=100))
    assert "s3cretpart" not in text and "tok-123456" not in text  # (the code itself is in the receipt reply)
    assert ws.key.split(".")[0] + ".[redacted]" in text and "Bearer [redacted]" in text
    access = [x for x in ws.requests("page.shared_record") if x.method == "POST"][-1]
    assert access.request_body == "code=%5Bredacted%5D" and access.request["headers"]["cookie"] == "a=[redacted]"
    cookie = access.response["headers"]["set-cookie"]
    assert cookie.split(";")[0].endswith("=[redacted]") and "HttpOnly" in cookie
    assert page.headers["set-cookie"].split(";")[0] not in text


def test_bodies_over_64_kib_are_cut_with_their_full_size_kept(ws):
    for g in range(3):
        ws.call("POST", f"{B}/delta/batch", {"deltas": [
            {"customerId": "cust_big", "delta": -1, "reason": "usage", "referenceId": f"r{g}-{i}"} for i in range(100)]})
    ws.call("GET", f"{B}/derive/cust_big?limit=1000")
    derive, = ws.requests("balance.derive")
    assert derive.response["truncated"] is True and derive.response["bodySize"] > 64 * 1024
    assert len(derive.response_body.encode()) <= 64 * 1024 and derive.reply is None
    batch = ws.requests("balance.emit_batch")[0]
    assert batch.response["truncated"] is False and len(batch.items()) == 100


def test_filters_by_customer_reference_route_status_and_virtual_time(ws):
    ws.call("POST", f"{B}/delta", {"customerId": "cust_a", "delta": -1, "reason": "usage", "referenceId": "ra"})
    ws.clock.advance(60)
    ws.call("POST", f"{B}/delta/batch", {"deltas": [
        {"customerId": "cust_b", "delta": -2, "reason": "usage", "referenceId": "rb"},
        {"customerId": "cust_c", "delta": -3, "reason": "usage", "referenceId": "rc"}]})
    ws.request("GET", f"{B}/derive/nobody")
    assert [x.route for x in ws.requests(customer_id="cust_c")] == ["balance.emit_batch"]
    assert [x.route for x in ws.requests(reference_id="ra")] == ["balance.emit"]
    assert [x.status for x in ws.requests(status=404)] == [404]
    assert [x.route for x in ws.requests(since="2026-02-01T10:01:00Z")] == ["balance.emit_batch", "balance.derive"]
    assert [x.route for x in ws.requests(until="2026-02-01T10:01:00Z")] == ["balance.emit"]
    assert journal(ws, customerId="cust_b")["total"] == 1


def test_the_record_is_bounded_by_the_journal_size(ws):
    ws.settings(journalSize=10)
    for i in range(15):
        ws.call("POST", f"{B}/delta", {"customerId": "cust_n", "delta": -1, "reason": "usage", "referenceId": f"n{i}"})
    kept = ws.requests("balance.emit")
    assert [x.json["referenceId"] for x in kept] == [f"n{i}" for i in range(5, 15)]


def test_assert_requested_matches_items_and_shows_the_closest_on_failure(ws):
    ws.call("POST", f"{B}/delta", {"customerId": "cust_1", "delta": -420, "reason": "usage", "referenceId": "X",
                                   "metadata": {"plan": "pro"}})
    ws.call("POST", f"{B}/delta/batch", {"deltas": [
        {"customerId": "cust_2", "delta": 0.1, "reason": "usage", "referenceId": "Y"},
        {"customerId": "cust_3", "delta": -42, "reason": "usage", "referenceId": "Z"}]})
    assert ws.assert_requested(referenceId="X", delta=-420, metadata__plan="pro")[0]["customerId"] == "cust_1"
    assert len(ws.assert_requested("balance.emit_batch", count=2)) == 2
    ws.assert_requested(delta=0.1, count=1)  # a float is the decimal it reads as
    with pytest.raises(AssertionError) as failure:
        ws.assert_requested(referenceId="Z", delta=-41)
    message = str(failure.value)
    assert "expected at least one delta(s) with referenceId='Z', delta=-41; the app sent 0 matching of 3" in message
    first = message.split("Closest:\n")[1].splitlines()[0]
    assert first == "  #2 POST /api/v1/balance/delta/batch item 1 -> 201: referenceId='Z' ok, delta=-42 (not -41)"


def test_a_failed_test_report_shows_its_last_exchanges_with_bodies(pytester):
    pytester.makepyfile('''
def test_fails(pacspace, pacspace_sdk):
    pacspace_sdk.balance.emit("cust_9", -7, "usage", {"referenceId": "usage:cust_9:1"})
    assert False, "boom"
''')
    result = pytester.runpytest("-q")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "POST /api/v1/balance/delta -> 201" in out
    assert 'sent: {"customerId": "cust_9"' in out or 'sent: {"customerId":"cust_9"' in out
    assert '"referenceId":"usage:cust_9:1"' in out  # the reply, as the app got it


def test_a_scenario_expects_on_what_was_sent(tmp_path):
    from mockserver.scenarios.loader import load_scenario
    from mockserver.scenarios.runner import Runner, Target

    path = tmp_path / "sent.yaml"
    path.write_text('''
name: sent
start: "2026-02-01T00:00:00Z"
golden: false
steps:
  - emit: {customerId: cust_1, delta: -420, reason: usage, referenceId: "usage:1"}
  - journal: {route: balance.emit, referenceId: "usage:1", exchange: true}
    expect:
      data:
        total: 1
        entries[0].exchange.request.parsed: {customerId: cust_1, delta: -420, referenceId: "usage:1"}
        entries[0].exchange.response.status: 201
''', encoding="utf-8")
    target = Target.embedded(":memory:")
    try:
        result = Runner(target, use_golden=False).run(load_scenario(path))
    finally:
        target.close()
    assert result.ok, [(s.outcome, s.messages) for s in result.steps]

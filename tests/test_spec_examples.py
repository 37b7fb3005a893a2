"""The contract's JSON examples, reproduced byte for byte.

The examples follow the guide's flow with key pk_test_demo, seed 7 and serve delays 1 s / 2 s
(balance-api.md preamble). We drive exactly that flow on the virtual clock and compare the
reply bodies with the examples (copied verbatim into tests/data/spec_examples.json).

Every example is compared (`idempotency_pending` in tests/test_idempotency.py, where a second
request with the key arrives while the first executes); `batch` is compared member by member over
two replies (its third item cannot occur together with the first two; see the note above the
batch section below).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import Mock
from mockserver.embedded import EmbeddedServer
from mockserver.runtime import Runtime, ServerConfig

EXAMPLES = json.loads((Path(__file__).parent / "data" / "spec_examples.json").read_text())
CUSTOMER = "cust_acme_001"


def data_text(response) -> str:
    """The exact bytes of the `data` member of an enveloped reply."""
    text = response.text
    prefix = '{"success":true,"data":'
    assert text.startswith(prefix) and text.endswith("}"), text[:200]
    return text[len(prefix):-1]


def example(name: str) -> str:
    return EXAMPLES[name]


# Exact-bytes access into compact JSON text: the value text of one member or element, so a part of
# a reply is compared byte for byte without parsing and re-serializing it.

_DECODER = json.JSONDecoder()


def _parts(text: str) -> list[tuple[str | None, int, int, int]]:
    """(name, start, value start, end) of each member of a JSON object text, or (None, start,
    start, end) of each element of an array text."""
    closer = {"{": "}", "[": "]"}[text[0]]
    parts: list[tuple[str | None, int, int, int]] = []
    i = 1
    if text[i] == closer:
        assert i == len(text) - 1, text
        return parts
    while True:
        name, value_at = None, i
        if closer == "}":
            name, colon = _DECODER.raw_decode(text, i)
            assert isinstance(name, str) and text[colon] == ":", text[i:i + 80]
            value_at = colon + 1
        end = _DECODER.raw_decode(text, value_at)[1]
        parts.append((name, i, value_at, end))
        if text[end] == closer:
            assert end == len(text) - 1, text[end:end + 80]
            return parts
        assert text[end] == ",", text[end:end + 80]
        i = end + 1


def member(text: str, name: str) -> str:
    """The exact text of the value of member `name` of a JSON object text."""
    found = [text[v:e] for n, _, v, e in _parts(text) if n == name]
    assert len(found) == 1, (name, text[:200])
    return found[0]


def element(text: str, index: int) -> str:
    """The exact text of element `index` of a JSON array text."""
    _, _, v, e = _parts(text)[index]
    return text[v:e]


def member_names(text: str) -> list[str]:
    return [n for n, _, _, _ in _parts(text)]


def without(text: str, *names: str) -> str:
    """A JSON object text with the given members (all present) removed, the rest byte for byte."""
    parts = _parts(text)
    assert set(names) <= {n for n, _, _, _ in parts}, (names, text[:200])
    return "{" + ",".join(text[s:e] for n, s, _, e in parts if n not in names) + "}"


def only(text: str, *names: str) -> str:
    """A JSON object text reduced to the given members, byte for byte, in the text's order."""
    return without(text, *[n for n in member_names(text) if n not in names])


def replaced(text: str, name: str, value: str) -> str:
    """A JSON object text with the value text of member `name` replaced."""
    parts = _parts(text)
    assert name in {n for n, _, _, _ in parts}, (name, text[:200])
    return "{" + ",".join(text[s:v] + (value if n == name else text[v:e]) for n, s, v, e in parts) + "}"


@pytest.fixture(scope="module")
def demo(server):
    """The guide's flow in workspace pk_test_demo, with the replies the examples show."""
    m = Mock(server.url, "pk_test_demo")
    replies: dict[str, object] = {}
    m.freeze("2026-02-01T23:59:59.000Z")
    m.settings(seed=7, processingDelaySeconds=1, verifyDelaySeconds=2, publicOrigin="http://127.0.0.1:8787")
    for day, amount in (("01", -420), ("02", -390), ("03", -437)):
        m.clock_set(f"2026-02-{day}T23:59:59.000Z")
        replies[f"emit{day}"] = m.call("POST", "/api/v1/balance/delta", json={
            "customerId": CUSTOMER, "delta": amount, "reason": f"daily_usage_flush:2026-02-{day}",
            "referenceId": f"usage:{CUSTOMER}:2026-02-{day}",
        })
        if day == "01":
            replies["advance"] = m.call("POST", "/_mock/clock/advance", json={"until": "2026-02-02T00:00:02.000Z"})
            replies["delta1"] = m.call("GET", f"/api/v1/balance/delta/{replies['emit01'].json()['data']['recordId']}")
    m.clock_set("2026-02-04T12:00:00.000Z")
    replies["derive"] = m.call("GET", f"/api/v1/balance/derive/{CUSTOMER}?limit=1&offset=2")
    replies["summary"] = m.call("GET", "/api/v1/balance/customers/summary")
    replies["customers"] = m.call("GET", "/api/v1/balance/customers")
    m.clock_set("2026-03-01T00:05:00.000Z")
    replies["checkpoint_created"] = m.call("POST", "/api/v1/balance/checkpoint", json={"customerId": CUSTOMER, "period": "2026-02"})
    m.clock_set("2026-03-01T00:06:00.000Z")
    replies["invoice_proof"] = m.call("GET", f"/api/v1/balance/invoice-proof/{CUSTOMER}?period=2026-02")
    replies["checkpoints_list"] = m.call("GET", "/api/v1/balance/checkpoints")
    replies["customer_detail"] = m.call("GET", f"/api/v1/balance/customers/{CUSTOMER}?deltaLimit=1&period=2026-02")
    replies["customer_receipts"] = m.call("GET", f"/api/v1/balance/customers/{CUSTOMER}/receipts")
    replies["verify"] = m.call("GET", "/api/v1/verify/0x479195f4687b2917f36e38b6e60f85fcac24465093bec03b86e5b1360dd9f7ca")
    replies["workspace"] = m.call("GET", "/_mock/workspace")
    m.clock_set("2026-03-01T00:10:00.000Z")
    replies["compare"] = m.call("POST", "/api/v1/balance/compare", json={
        "customerId": CUSTOMER, "yourBalance": -1247, "theirBalance": -1200, "period": "2026-02"})
    # The fourth delta of proofs.md T.9 and a custom checkpoint that extends the lock
    m.clock_set("2026-03-02T09:30:00.250Z")
    replies["emit04"] = m.call("POST", "/api/v1/balance/delta", json={
        "customerId": CUSTOMER, "delta": 12.50, "reason": "usage_correction:2026-02-01",
        "referenceId": "usage_correction:cust_acme_001:2026-02-01",
        "adjusts": {"referenceId": "usage:cust_acme_001:2026-02-01"}, "metadata": {"plan": "growth"}})
    replies["gaps"] = m.call("GET", f"/api/v1/balance/gaps/{CUSTOMER}")
    m.clock_set("2026-03-02T12:00:00.000Z")
    replies["custom_checkpoint"] = m.call("POST", "/api/v1/balance/checkpoint", json={
        "customerId": CUSTOMER, "startDate": "2026-02-01", "endDate": "2026-03-03"})
    m.clock_set("2026-03-02T12:00:05.000Z")
    replies["checkpoints_compare"] = m.call(
        "GET", f"/api/v1/balance/checkpoints/compare?customerId={CUSTOMER}&from=chk_5iozcxsxwuul5we76iml5lp6"
        f"&to={replies['custom_checkpoint'].json()['data']['checkpointId']}")
    outbox = m.call("GET", "/_mock/webhooks/outbox?limit=1000").json()["data"]["entries"]
    replies["events"] = {entry["event"]: entry["body"] for entry in reversed(outbox)}  # the first of each type
    return replies


def test_emit_reply_is_the_example(demo):
    assert demo["emit01"].status_code == 201
    assert data_text(demo["emit01"]) == example("emit")


def test_advance_runs_the_transitions_in_order(demo):
    assert data_text(demo["advance"]) == example("clock_move")


def test_delta_status_after_verification_is_the_example(demo):
    assert data_text(demo["delta1"]) == example("delta_verified")
    assert demo["delta1"].headers["X-Request-Id"].startswith("req_")


def test_derive_mid_period_is_the_example(demo):
    assert data_text(demo["derive"]) == example("derive")


def test_customers_and_summary_are_the_examples(demo):
    assert data_text(demo["summary"]) == example("customers_summary")
    assert data_text(demo["customers"]) == example("customers")


def test_checkpoint_is_the_example(demo):
    created = demo["checkpoint_created"]
    assert created.status_code == 201
    body = created.json()["data"]
    assert body["status"] == "QUEUED" and body["idempotent"] is False
    listed = json.loads(data_text(demo["checkpoints_list"]))
    expected = json.loads(example("checkpoint"))
    assert listed["checkpoints"] == [expected]
    assert json.dumps(listed["checkpoints"][0], separators=(",", ":")) == example("checkpoint")


def test_invoice_proof_is_the_example(demo):
    ours = json.loads(data_text(demo["invoice_proof"]))
    expected = json.loads(example("receipt"))
    assert len(ours["deltas"]) == 3
    ours["deltas"] = ours["deltas"][:1]
    assert list(ours) == list(expected)
    assert ours == expected
    assert json.dumps(ours, separators=(",", ":"), ensure_ascii=False) == example("receipt")


def test_customer_detail_and_receipts_are_the_examples(demo):
    assert data_text(demo["customer_detail"]) == example("customer_detail")
    assert data_text(demo["customer_receipts"]) == example("customer_receipts")


def test_public_verify_is_the_example(demo):
    ours = json.loads(data_text(demo["verify"]))
    ours["records"] = ours["records"][:1]
    assert json.dumps(ours, separators=(",", ":")) == example("verify")


def test_compare_is_the_example(demo):
    assert demo["compare"].status_code == 201
    assert data_text(demo["compare"]) == example("compare")


def test_gaps_show_the_pending_fourth_delta(demo):
    assert data_text(demo["gaps"]) == example("gaps")


def test_fourth_delta_matches_the_proof_vectors(demo):
    body = demo["emit04"].json()["data"]
    assert body["fingerprint"] == "0x1e7c42495f7453cf62a693be621ffa03755b8ac152742cfb1ca22fc5beda28dc"
    assert body["metadataDigest"] == "0xd4fe6f69833a79ed637bb6b994a863e8b8ad3302589a505470f5d2a477af863f"
    assert body["receiptId"] == "0x7edc1108d36641febf841748f059658c03fcb50de6d59651875073d6989bd01b"
    assert demo["emit04"].text.count('"delta":12.5,') == 1


def test_checkpoints_compare_is_the_example(demo):
    assert data_text(demo["checkpoints_compare"]) == example("checkpoints_compare")


def test_workspace_counts(demo):
    body = demo["workspace"].json()["data"]
    assert body["tenantId"] == "ten_u5cudsnzzgsivxxl"
    assert body["ledgerId"] == "0xe645fd15b376ab2f03a1367a0296f7d859b6d7ac957bb3956ad9d5956db99737"
    assert body["counts"] == {"customers": 1, "deltas": 3, "checkpoints": 1, "events": 5}


def test_webhook_bodies_are_the_examples(demo):
    events = demo["events"]
    envelope = json.loads(events["delta.verified"])
    assert json.dumps(envelope["data"], separators=(",", ":")) == example("event_delta_verified")
    assert events["delta.verified"].startswith(example("event_envelope")[:-len(',"data":{}}')])
    for name, key in (("checkpoint.verified", "event_checkpoint_verified"),
                      ("receipt.generated", "event_receipt_generated"),
                      ("customer.compare_run", "event_compare_run")):
        data = json.loads(events[name])["data"]
        assert json.dumps(data, separators=(",", ":")) == example(key), name


# --- The examples the guide's flow above already produced ----------------------------------------

def test_success_envelope_is_the_example(demo):
    # §1.4 shows the envelope around an emit reply cut to its first two members: the reply is
    # exactly the envelope with the whole §5.1 emit object as `data`, and reduced to the members
    # the example shows it is the example, byte for byte.
    body = demo["emit01"].text
    assert body == '{"success":true,"data":' + example("emit") + "}"
    shown = member_names(member(example("envelope_ok"), "data"))
    assert replaced(body, "data", only(member(body, "data"), *shown)) == example("envelope_ok")


def test_scope_object_is_the_example(demo):
    # §2.6: the scope of `period=2026-02` as the compare reply and the February lock carry it
    assert member(data_text(demo["compare"]), "scope") == example("scope")
    assert member(data_text(demo["checkpoint_created"]), "scope") == example("scope")


# --- Examples that hold in any workspace ---------------------------------------------------------

def test_error_envelope_is_the_example(mock):
    reply = mock.call("POST", "/api/v1/balance/delta", json={
        "customerId": CUSTOMER, "delta": 0, "reason": "daily_usage_flush:2026-02-01",
        "referenceId": f"usage:{CUSTOMER}:2026-02-01"})
    assert reply.status_code == 400
    assert reply.text == example("envelope_error")


def test_all_customers_checkpoint_that_creates_nothing_is_the_example(mock):
    # §5.6 without customerId: no customer has a delta in February (the only one is in March)
    mock.freeze("2026-03-01T00:04:00.000Z")
    mock.ok("POST", "/api/v1/balance/delta", 201, json={"customerId": CUSTOMER, "delta": -5, "reason": "march"})
    mock.clock_set("2026-03-01T00:05:00.000Z")
    reply = mock.call("POST", "/api/v1/balance/checkpoint", json={"period": "2026-02"})
    assert reply.status_code == 200
    assert data_text(reply) == example("checkpoint_all")


def test_usage_with_an_allotment_is_the_example(mock):
    # §5.12: allotment 100, one delta this month
    mock.freeze("2026-02-01T23:59:59.000Z")
    mock.settings(planAllotment=100)
    mock.ok("POST", "/api/v1/balance/delta", 201, json={
        "customerId": CUSTOMER, "delta": -420, "reason": "daily_usage_flush:2026-02-01"})
    mock.clock_set("2026-02-04T12:00:00.000Z")
    assert data_text(mock.call("GET", "/api/v1/balance/usage")) == example("usage")


def test_limits_are_the_example(mock):
    assert data_text(mock.call("GET", "/api/v1/balance/limits")) == example("limits")


# --- Examples that need workspace pk_test_demo from its first request ----------------------------
#
# The module's `demo` flow owns pk_test_demo on the session server (and later tests read its
# counts), so these run on a second embedded server configured like `serve --seed 7` (serve delays
# 1 s / 2 s, webhookDelivery auto), where each use starts with POST /_mock/reset.

SDK_HEADERS = {"User-Agent": "pacspace-sdk-python/0.7.0", "X-Chain-Id": "296"}
HOOK_URL = "http://127.0.0.1:9000/hooks"


@pytest.fixture(scope="module")
def served():
    with EmbeddedServer(Runtime(ServerConfig(seed=7))) as srv:
        yield srv


def fresh_demo(srv: EmbeddedServer) -> Mock:
    m = Mock(srv.url, "pk_test_demo")
    m.ok("POST", "/_mock/reset", json={})
    return m


def test_settings_of_a_served_workspace_are_the_example(served):
    m = fresh_demo(served)
    assert data_text(m.call("GET", "/_mock/settings")) == example("settings")


def test_dashboard_customer_is_the_example(served):
    # §5.23: Acme created in the dashboard before its first delta
    m = fresh_demo(served)
    m.freeze("2026-01-31T09:00:00.000Z")
    reply = m.call("POST", "/dashboard/customers", headers={"Authorization": "Bearer dashboard-session"}, json={
        "customerId": CUSTOMER, "displayName": "Acme Corp", "eventCadence": "DAILY", "unitLabel": "API calls"})
    assert reply.status_code == 201
    assert data_text(reply) == example("dashboard_customer")


@pytest.fixture(scope="module")
def sdk_flow(served):
    """The guide's flow as the SDK meets it: the first emit answers 503 (fault rule of §8.6), the
    retry records the delta, webhooks go to an endpoint; later a fifth delta fails verification."""
    m = fresh_demo(served)
    replies: dict[str, object] = {}
    m.freeze("2026-02-01T23:59:59.000Z")
    m.settings(publicOrigin="http://127.0.0.1:8787")
    ws_id = served.runtime.store.conn.execute(
        "SELECT id FROM workspaces WHERE env = 'test' AND public_id = 'demo'").fetchone()[0]
    served.runtime.webhook_callables[ws_id] = lambda headers, body: 200  # the receiver at HOOK_URL
    m.ok("PUT", "/_mock/webhooks/config", json={"url": HOOK_URL})
    replies["fault"] = m.call("POST", "/_mock/faults", json={
        "match": {"method": "POST", "route": "balance.emit", "path": None, "customerId": None, "event": None},
        "nth": [1], "times": None, "probability": None,
        "actions": [{"type": "error", "status": 503, "retryAfterSeconds": 1}],
        "description": "first emit answers 503"})

    def flush(day: str, amount: int):
        return m.call("POST", "/api/v1/balance/delta", headers=SDK_HEADERS, json={
            "customerId": CUSTOMER, "delta": amount, "reason": f"daily_usage_flush:{day}",
            "referenceId": f"usage:{CUSTOMER}:{day}"})

    replies["emit503"] = flush("2026-02-01", -420)
    replies["journal"] = m.call("GET", "/_mock/journal")
    replies["emit01"] = flush("2026-02-01", -420)  # the SDK's retry
    replies["advance"] = m.call("POST", "/_mock/clock/advance", json={"until": "2026-02-02T00:00:02.000Z"})
    replies["deliveries"] = m.call("GET", "/api/v1/balance/webhooks")
    for day, amount in (("02", -390), ("03", -437)):
        m.clock_set(f"2026-02-{day}T23:59:59.000Z")
        replies[f"emit{day}"] = flush(f"2026-02-{day}", amount)
    m.clock_set("2026-02-04T12:00:00.000Z")
    replies["derive_daily"] = m.call("GET", f"/api/v1/balance/derive/{CUSTOMER}?period=2026-02&granularity=day")
    m.clock_set("2026-03-01T00:05:00.000Z")
    replies["checkpoint"] = m.call("POST", "/api/v1/balance/checkpoint",
                                   json={"customerId": CUSTOMER, "period": "2026-02"})
    m.clock_set("2026-03-01T00:06:00.000Z")
    replies["invoice_proof"] = m.call("GET", f"/api/v1/balance/invoice-proof/{CUSTOMER}?period=2026-02")
    replies["receipt_document"] = m.call("GET", "/api/v1/balance/receipts/chk_5iozcxsxwuul5we76iml5lp6")
    # the fourth delta of proofs.md T.9, then a fifth whose verification fails
    m.clock_set("2026-03-02T09:30:00.250Z")
    replies["emit04"] = m.call("POST", "/api/v1/balance/delta", json={
        "customerId": CUSTOMER, "delta": 12.50, "reason": "usage_correction:2026-02-01",
        "referenceId": "usage_correction:cust_acme_001:2026-02-01",
        "adjusts": {"referenceId": "usage:cust_acme_001:2026-02-01"}, "metadata": {"plan": "growth"}})
    m.ok("POST", "/_mock/faults", 201, json={"match": {"route": "balance.emit"}, "times": 1,
                                             "actions": [{"type": "fail_verification"}]})
    m.clock_set("2026-03-02T23:59:59.000Z")
    replies["emit05"] = flush("2026-03-02", -498)
    m.clock_set("2026-03-03T00:00:02.000Z")
    replies["failed_events"] = m.call("GET", "/_mock/webhooks/outbox?event=delta.failed")
    served.runtime.webhook_callables.pop(ws_id, None)
    return replies


def test_sdk_flow_records_the_guide_s_deltas(sdk_flow):
    failed = sdk_flow["emit503"]
    assert failed.status_code == 503 and failed.headers["Retry-After"] == "1"
    assert failed.headers["X-Request-Id"] == "req_nzft6t6gq3irfq7ivu3viko5"  # the journal entry's requestId
    for name in ("emit01", "emit02", "emit03", "emit04", "emit05"):
        assert sdk_flow[name].status_code == 201, (name, sdk_flow[name].text)
    assert data_text(sdk_flow["emit01"]) == example("emit")
    assert data_text(sdk_flow["advance"]) == example("clock_move")
    assert sdk_flow["checkpoint"].json()["data"]["checkpointId"] == "chk_5iozcxsxwuul5we76iml5lp6"


def test_fault_rule_is_the_example(sdk_flow):
    # §8.6: the example is the rule as posted; the reply adds ruleId, matched, fired and createdAt
    # and fills defaults (here the error action's code). Without those, it is the example.
    reply = sdk_flow["fault"]
    assert reply.status_code == 201
    rule = data_text(reply)
    assert [member(rule, name) for name in ("ruleId", "matched", "fired", "createdAt")] == [
        '"flt_1"', "0", "0", '"2026-02-01T23:59:59.000Z"']
    action = element(member(rule, "actions"), 0)
    assert member(action, "code") == '"SERVICE_UNAVAILABLE"'
    rule = replaced(without(rule, "ruleId", "matched", "fired", "createdAt"), "actions", f"[{without(action, 'code')}]")
    assert rule == example("fault_rule")


def test_journal_entry_is_the_example(sdk_flow):
    journal = data_text(sdk_flow["journal"])
    assert member(journal, "total") == "1"
    entry = element(member(journal, "entries"), 0)
    # latencyMs is wall time (§8.7) and outside the determinism contract (§9): normalized to the
    # example's value after checking it is a count of milliseconds.
    assert member(entry, "latencyMs").isdigit()
    assert replaced(entry, "latencyMs", member(example("journal_entry"), "latencyMs")) == example("journal_entry")


def test_delivery_is_the_example(sdk_flow):
    deliveries = data_text(sdk_flow["deliveries"])
    assert member(deliveries, "pagination") == '{"limit":20,"offset":0,"total":1,"hasMore":false}'
    assert element(member(deliveries, "deliveries"), 0) == example("delivery")


def test_breakdown_bucket_is_the_example(sdk_flow):
    # §5.0.4: the day bucket of 2 February in the daily breakdown of February
    breakdown = member(data_text(sdk_flow["derive_daily"]), "breakdown")
    assert len(_parts(breakdown)) == 28
    assert element(breakdown, 1) == example("bucket")


def test_receipt_document_presentation_is_the_example(sdk_flow):
    # §5.18: the Receipt object of the checkpoint (what invoice-proof returned at the same instant)
    # followed by `presentation`
    document = data_text(sdk_flow["receipt_document"])
    assert member_names(document)[-1] == "presentation"
    assert document == data_text(sdk_flow["invoice_proof"])[:-1] + "," + example("receipt_document_presentation")[1:]


def test_delta_failed_event_is_the_example(sdk_flow):
    entries = sdk_flow["failed_events"].json()["data"]["entries"]
    assert len(entries) == 1
    assert member(entries[0]["body"], "data") == example("event_delta_failed")


# --- batch ----------------------------------------------------------------------------------------
#
# The example is a composite that no single reply can be: its first two items are the day-2 flush
# (rec n=2, batchSequence 2: the ledger holds only the day-1 delta before it) and a replay of day 1;
# its third is a CADENCE_LIMIT failure of cust_beta_002 ("may submit again in 120 s"), which needs
# a delta of cust_beta_002 recorded just before, and that delta takes a record number before the
# day-2 flush. So every member is compared exactly, in the one of two replies that can carry it:
# A (no cadence, no beta) carries the ids, B (beta's earlier delta, cadence 120 s) the rest.

def _batch_reply(served, with_beta: bool) -> str:
    m = fresh_demo(served)
    m.freeze("2026-02-01T23:59:59.000Z")
    m.ok("POST", "/api/v1/balance/delta", 201, json={
        "customerId": CUSTOMER, "delta": -420, "reason": "daily_usage_flush:2026-02-01",
        "referenceId": f"usage:{CUSTOMER}:2026-02-01"})
    m.clock_set("2026-02-02T23:59:59.000Z")
    items = [{"customerId": CUSTOMER, "delta": -390, "reason": "daily_usage_flush:2026-02-02",
              "referenceId": f"usage:{CUSTOMER}:2026-02-02"},
             {"customerId": CUSTOMER, "delta": -420, "reason": "daily_usage_flush:2026-02-01",
              "referenceId": f"usage:{CUSTOMER}:2026-02-01"}]
    if with_beta:
        m.settings(cadenceLimitSeconds=120)
        m.ok("POST", "/api/v1/balance/delta", 201, json={"customerId": "cust_beta_002", "delta": -5, "reason": "usage"})
        items.append({"customerId": "cust_beta_002", "delta": -5, "reason": "usage"})
    reply = m.call("POST", "/api/v1/balance/delta/batch", json={"deltas": items})
    assert reply.status_code == 201, reply.text
    return data_text(reply)


def test_batch_is_the_example(served):
    expected = example("batch")
    expected_results = member(expected, "results")
    a = _batch_reply(served, with_beta=False)
    ids = ("receiptId", "batchSequence")
    assert [member(a, name) for name in ids] == [member(expected, name) for name in ids]
    for i in (0, 1):
        assert element(member(a, "results"), i) == element(expected_results, i)
    b = _batch_reply(served, with_beta=True)
    assert without(b, *ids, "results") == without(expected, *ids, "results")
    results = member(b, "results")
    assert len(_parts(results)) == 3
    assert without(element(results, 0), "recordId", "receiptId") == without(element(expected_results, 0),
                                                                               "recordId", "receiptId")
    assert element(results, 1) == element(expected_results, 1)
    assert element(results, 2) == element(expected_results, 2)

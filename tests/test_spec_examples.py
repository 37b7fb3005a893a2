"""The contract's JSON examples, reproduced byte for byte.

The examples follow the guide's flow with key pk_test_demo, seed 7 and serve delays 1 s / 2 s
(balance-api.md preamble). We drive exactly that flow on the virtual clock and compare the
reply bodies with the examples (copied verbatim into tests/data/spec_examples.json).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import Mock

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
    replies["events"] = {
        row["event"]: row["body"] for row in reversed(server.runtime.store.conn.execute(
            "SELECT e.event, e.body FROM events e JOIN workspaces w ON w.id = e.ws"
            " WHERE w.public_id = 'demo' AND w.env = 'test' ORDER BY e.n").fetchall())
    }
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

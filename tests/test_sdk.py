"""Every balance method of the official SDK (pacspace-sdk 0.7.0) against the running server,
checking the values of the fields the SDK and the guide read, not just their names."""

from __future__ import annotations

import pytest
from pacspace_sdk import (
    InsufficientCreditsError,
    InvalidApiKeyError,
    InvalidScopeCombinationError,
    NotFoundError,
    PacSpace,
    PacSpaceError,
    ScopeTooWideError,
)

from mockserver.proofs.verifier import verify_receipt

C1, C2 = "cust_alpha", "cust_beta"


@pytest.fixture
def pac(server, mock):
    mock.freeze("2026-05-10T08:00:00.000Z")
    # the summary coordinator paces requests (10/min by default); the mock needs no pacing
    return PacSpace.init(mock.key, base_url=server.url, max_retries=0, submission={"maxRequestsPerMinute": 600000})


def test_emit_and_status_methods(pac, mock):
    first = pac.balance.emit(C1, -5, "api_calls", {"referenceId": "r-1", "metadata": {"region": "eu"}})
    assert first["status"] == "QUEUED" and first["idempotent"] is False
    status = pac.balance.delta_status(first["recordId"])
    assert status["status"] == "VERIFIED" and status["recordId"] == first["recordId"]
    assert status["verificationReference"].startswith("0x") and status["verifiedAt"] == "2026-05-10T08:00:00.000Z"
    assert pac.balance.get_record_status(first["recordId"])["status"] == "VERIFIED"
    assert pac.balance.wait_for_verified(first["recordId"], {"timeout": 1000, "pollInterval": 1})["status"] == "VERIFIED"
    waited = pac.balance.emit_and_wait(C1, 7.25, "credit", {"referenceId": "r-2", "timeout": 1000, "pollInterval": 1})
    assert waited["status"] == "VERIFIED" and waited["delta"] == 7.25 and waited["sequence"] == 2
    replay = pac.balance.emit(C1, -5, "api_calls", {"referenceId": "r-1", "metadata": {"region": "eu"}})
    assert replay["recordId"] == first["recordId"] and replay["idempotent"] is True and replay["status"] == "VERIFIED"
    with pytest.raises(PacSpaceError) as conflict:
        pac.balance.emit(C1, -6, "api_calls", {"referenceId": "r-1", "metadata": {"region": "eu"}})
    assert conflict.value.status_code == 409 and conflict.value.code == "IDEMPOTENCY_CONFLICT"
    with pytest.raises(NotFoundError):
        pac.balance.delta_status("rec_doesnotexist")


def test_derive_family(pac, mock):
    pac.balance.emit(C1, -100, "usage", {"referenceId": "may"})
    mock.clock_set("2026-06-02T00:00:00.000Z")
    pac.balance.emit(C1, -50, "usage", {"referenceId": "june"})
    mock.clock_set("2026-06-02T00:00:01.000Z")
    assert pac.balance.derive(C1)["computedBalance"] == -50
    assert pac.balance.derive_current_month(C1)["computedBalance"] == -50
    may = pac.balance.derive_for_period(C1, "2026-05")
    assert may["computedBalance"] == -100 and may["deltasCount"] == 1 and may["scope"]["mode"] == "period"
    both = pac.balance.derive(C1, {"startDate": "2026-05-01", "endDate": "2026-07-01", "granularity": None})
    assert both["computedBalance"] == -150 and both["deltasCount"] == 2
    # derive_months_back computes its window from the real date; 24 months pass, 25 are too wide
    assert pac.balance.derive_months_back(C1, 24)["scope"]["mode"] == "custom"
    with pytest.raises(ScopeTooWideError):
        pac.balance.derive_months_back(C1, 25)
    with pytest.raises(InvalidScopeCombinationError):
        pac.balance._client.get(f"/api/v1/balance/derive/{C1}?period=2026-05&timePreset=current_month")
    with pytest.raises(ScopeTooWideError):
        pac.balance.derive(C1, {"startDate": "2020-01-01", "endDate": "2026-01-01"})
    # checkpoint mode from a record id and from a proof root
    since = pac.balance.derive(C1, {"startingCheckpoint": may["latestRecordId"], "startingCheckpointType": "recordId",
                                    "startingBalance": -100})
    assert since["computedBalance"] == -150 and since["deltasCount"] == 1 and since["scope"]["afterSequence"] == 1
    with pytest.raises(NotFoundError):
        pac.balance.derive("nobody")


def test_compare_checkpoint_receipts(pac, mock):
    for day in range(1, 4):
        mock.clock_set(f"2026-05-{10 + day}T10:00:00.000Z")
        pac.balance.emit(C1, -10 * day, "usage", {"referenceId": f"d{day}"})
    mock.clock_set("2026-06-01T00:00:10.000Z")
    cmp_ok = pac.balance.compare(C1, {"yours": -60, "theirs": -60}, {"period": "2026-05"})
    assert cmp_ok["matchesYours"] and cmp_ok["matchesTheirs"] and cmp_ok["discrepancy"] is None
    cmp_both = pac.balance.compare(C1, {"yours": -61, "theirs": -70}, {"period": "2026-05"})
    assert cmp_both["discrepancy"]["side"] == "both" and cmp_both["discrepancy"]["amount"] == 10
    assert cmp_both["discrepancy"]["resolution"]["code"] == "BOTH_DIFFER_USE_NEUTRAL"
    cmp_yours = pac.balance.compare(C1, {"yours": -61, "theirs": -60}, {"period": "2026-05"})
    assert cmp_yours["discrepancy"]["side"] == "yours"

    chk = pac.balance.checkpoint(C1, {"period": "2026-05"})
    assert chk["status"] == "QUEUED" and chk["treeSize"] == 3 and chk["endingBalance"] == -60
    listed = pac.balance.list_checkpoints({"customerId": C1})
    assert [c["checkpointId"] for c in listed["checkpoints"]] == [chk["checkpointId"]]
    assert listed["checkpoints"][0]["status"] == "VERIFIED"
    assert pac.balance.list_checkpoints({"customerId": "someone_else"})["checkpoints"] == []
    assert pac.balance.list_checkpoints({"period": "2026-04"})["checkpoints"] == []

    scoped = pac.balance.receipt(C1, {"period": "2026-05"})
    proof = pac.balance.invoice_proof(C1, {"period": "2026-05"})
    assert scoped["proofRoot"] == proof["proofRoot"] == chk["proofRoot"]
    assert proof["customerId"] == C1 and proof["period"] == "2026-05" and proof["finalBalance"] == -60
    assert proof["verificationApiUrl"].endswith(chk["proofRoot"]) and proof["customerLinkUrl"] == proof["verifyUrl"]
    assert proof["customerLinkHost"] == mock.base_url.split("://")[1]
    assert verify_receipt(proof).ok

    all_time = pac.balance.receipt(C1)
    assert all_time["scope"]["mode"] == "all_time" and all_time["deltaCount"] == 3
    assert all_time["checkpointId"] != chk["checkpointId"] and verify_receipt(all_time).ok
    # unchanged verified set: the same all-time checkpoint
    assert pac.balance.receipt(C1)["checkpointId"] == all_time["checkpointId"]

    verified = PacSpace.verify(pac, chk["proofRoot"], "both")
    assert verified["verified"] is True and verified["checks"] == {"recomputed": True, "anchored": True, "chainAvailable": True}
    batch = PacSpace.verify(pac, proof["deltas"][0]["receiptId"])
    assert batch["kind"] == "batch" and batch["verified"] is True
    with pytest.raises(NotFoundError):
        PacSpace.verify(pac, "0x" + "ab" * 32)


def test_shared_record_off_gives_null_links(pac, mock):
    mock.settings(sharedRecord=False)
    pac.balance.emit(C2, -1, "usage")
    mock.clock_set("2026-05-10T08:00:01.000Z")
    proof = pac.balance.invoice_proof(C2, {"period": "2026-05"})
    assert proof["accessHint"] is None and proof["customerLinkUrl"] is None and proof["customerLinkHost"] is None
    assert proof["verifyUrl"] == f"{mock.base_url}/receipt/{proof['checkpointId']}"


def test_usage_gaps_customers(pac, mock):
    mock.settings(planAllotment=2)
    pac.balance.emit(C1, -1, "usage")
    pac.balance.emit(C2, -1, "usage")
    usage = pac.balance.usage()
    assert usage["remaining"] == 0 and usage["allowed"] is False and usage["consumedDeltas"] == 2
    with pytest.raises(InsufficientCreditsError):
        pac.balance.emit(C1, -1, "usage")
    gaps = pac.balance.gaps(C1)
    assert gaps["hasGaps"] is False and gaps["verifiedThrough"] == 1 and gaps["highestSequence"] == 1
    customers = pac.balance.customers({"search": "ALPHA"})
    assert [c["customerId"] for c in customers["customers"]] == [C1]
    assert customers["pagination"] == {"total": 1, "page": 1, "limit": 25, "totalPages": 1}
    paged = pac.balance.customers({"limit": 1, "page": 2})
    assert [c["customerId"] for c in paged["customers"]] == [C2] and paged["pagination"]["totalPages"] == 2
    detail = pac.balance.customer(C1, {"deltaLimit": 5})
    assert detail["customerId"] == C1 and detail["computedBalance"] == -1 and detail["totalDeltas"] == 1
    assert detail["recentActivity"]["pagination"]["total"] == 1
    assert detail["recentActivity"]["items"][0]["status"] == "VERIFIED"


def test_summaries_through_the_batch_endpoint(pac, mock):
    pac.balance.queue_summary({"customerId": C1, "delta": -30, "windowStart": "2026-05-09T00:00:00Z",
                               "windowEnd": "2026-05-10T00:00:00Z"})
    pac.balance.queue_summaries([{"customerId": C2, "delta": -3.5, "windowStart": "2026-05-09T00:00:00Z",
                                  "windowEnd": "2026-05-10T00:00:00Z", "referenceId": "beta-0509"}])
    flushed = pac.balance.flush_summaries()
    assert flushed["submitted"] == 2 and flushed["failed"] == 0 and flushed["replayed"] == 0
    pac.balance.queue_summary({"customerId": C2, "delta": -3.5, "windowStart": "2026-05-09T00:00:00Z",
                               "windowEnd": "2026-05-10T00:00:00Z", "referenceId": "beta-0509"})
    again = pac.balance.flush_summaries()
    assert again["submitted"] == 1 and again["replayed"] == 1
    detail = pac.balance.customer(C2)
    assert detail["computedBalance"] == -3.5
    stored = mock.ok("GET", f"/api/v1/balance/derive/{C2}")["deltas"][0]["metadata"]
    assert stored["summaryProfile"] == "daily" and stored["submissionType"] == "tenant_summary"


def test_webhook_deliveries_and_retry(pac, mock):
    pac.balance.emit(C1, -1, "usage")
    mock.clock_set("2026-05-10T08:00:01.000Z")
    listed = pac.balance.list_webhook_deliveries()
    assert [d["event"] for d in listed["deliveries"]] == ["delta.verified"]
    delivery = listed["deliveries"][0]
    # the clock move delivered it (capture mode: no URL configured)
    assert delivery["deliveryStatus"] == "delivered" and delivery["captured"] is True and "status" not in delivery
    assert delivery["attempts"] == 1 and delivery["deliveredAt"] == "2026-05-10T08:00:00.000Z"
    retried = pac.balance.retry_webhook(delivery["eventId"])
    assert retried["deliveryStatus"] == "delivered" and retried["attempts"] == 2
    assert retried["retriedAt"] == "2026-05-10T08:00:01.000Z"
    assert pac.balance.list_webhook_deliveries({"status": "delivered"})["pagination"]["total"] == 1
    assert pac.balance.list_webhook_deliveries({"status": "PENDING"})["deliveries"] == []
    with pytest.raises(NotFoundError):
        pac.balance.retry_webhook("evt_unknown")


def test_dashboard_customer_create(pac, mock):
    created = pac.customers.create(display_name="Acme Corp", customer_id=C1, event_cadence="DAILY",
                                   unit_label="API calls", options={"dashboardToken": "any-token"})
    assert created["customerId"] == C1 and created["source"] == "manual" and created["unitLabel"] == "API calls"
    with pytest.raises(PacSpaceError) as dup:
        pac.customers.create(display_name="Again", customer_id=C1, options={"dashboardToken": "t"})
    assert dup.value.status_code == 409 and dup.value.code == "CUSTOMER_ALREADY_EXISTS"
    with pytest.raises(InvalidApiKeyError):
        pac.customers.create(display_name="No token")
    generated = pac.customers.create(display_name="Generated", options={"dashboardToken": "t"})
    assert generated["customerId"].startswith("cust_")
    # a dashboard customer exists before any delta
    assert pac.balance.derive(C1)["computedBalance"] == 0


def test_wrong_keys(server):
    with pytest.raises(InvalidApiKeyError):
        PacSpace.init("pk_test_", base_url=server.url).balance.usage()
    with pytest.raises(InvalidApiKeyError):
        PacSpace.init("sk_live_abc", base_url=server.url).balance.usage()
    with pytest.raises(PacSpaceError) as invalid:
        PacSpace.init("pk_test_x", base_url=server.url, max_retries=0).balance.emit(C1, 0, "zero")
    assert invalid.value.status_code == 400 and invalid.value.code == "VALIDATION_ERROR"
    assert "delta" in invalid.value.message

"""Idempotency (balance-api.md §4): referenceId dedupe for emit and batch items, and the
Idempotency-Key header (byte-for-byte replays, conflicts, body identity, TTL, per-route keys)."""

from __future__ import annotations

import json

import pytest

from conftest import error_of as _error

B = "/api/v1/balance"
T0 = "2026-02-10T00:00:00.000Z"
ORIGINAL = {"customerId": "cust_1", "delta": -5, "reason": "usage", "referenceId": "ref-1", "metadata": {"region": "eu"}}


def _snapshot(mock) -> tuple:
    """Everything a replay must leave unchanged."""
    counts = mock.ok("GET", "/_mock/workspace")["counts"]
    usage = mock.ok("GET", f"{B}/usage")
    return counts, usage["consumedDeltas"], usage["remaining"]


@pytest.fixture
def frozen(mock):
    mock.freeze(T0)
    return mock


# --- referenceId ---------------------------------------------------------------------------------

def test_reference_replay_returns_the_record_as_it_is_now(frozen):
    mock = frozen
    mock.settings(processingDelaySeconds=1, verifyDelaySeconds=2, planAllotment=10)
    created = mock.ok("POST", f"{B}/delta", 201, json=ORIGINAL)
    assert created["status"] == "QUEUED" and created["idempotent"] is False

    # replay while still queued
    early = mock.ok("POST", f"{B}/delta", 200, json=ORIGINAL)
    assert early["recordId"] == created["recordId"] and early["status"] == "QUEUED" and early["idempotent"] is True

    mock.clock_set("2026-02-10T00:00:02.000Z")
    before = _snapshot(mock)
    assert before[1:] == (1, 9)
    replay = mock.call("POST", f"{B}/delta", json=ORIGINAL)
    assert replay.status_code == 200, replay.text
    assert "Idempotent-Replayed" not in replay.headers  # a referenceId replay is not a key replay
    data = replay.json()["data"]
    assert data["idempotent"] is True
    assert data["status"] == "VERIFIED"
    assert data["processingAt"] == "2026-02-10T00:00:01.000Z"
    assert data["verifiedAt"] == data["blockTimestamp"] == "2026-02-10T00:00:02.000Z"
    # the replay is the stored record as delta status shows it now, plus idempotent
    current = mock.ok("GET", f"{B}/delta/{created['recordId']}")
    assert data == {**current, "idempotent": True}
    assert list(data) == [*current, "idempotent"]
    # everything except the lifecycle fields is the original reply
    lifecycle = {"status", "processingAt", "verifiedAt", "blockTimestamp", "verificationReference", "idempotent"}
    assert {k: v for k, v in data.items() if k not in lifecycle} == {k: v for k, v in created.items() if k not in lifecycle}
    assert _snapshot(mock) == before
    assert mock.ok("GET", f"{B}/derive/cust_1")["deltasCount"] == 1


def test_reference_is_per_customer(frozen):
    mock = frozen
    first = mock.ok("POST", f"{B}/delta", 201, json=ORIGINAL)
    other = mock.ok("POST", f"{B}/delta", 201, json={**ORIGINAL, "customerId": "cust_2", "delta": 9})
    assert other["recordId"] != first["recordId"] and other["idempotent"] is False


def test_replay_is_not_subject_to_cadence_or_allotment(frozen):
    mock = frozen
    mock.settings(cadenceLimitSeconds=600, planAllotment=1)
    created = mock.ok("POST", f"{B}/delta", 201, json=ORIGINAL)
    replay = mock.ok("POST", f"{B}/delta", 200, json=ORIGINAL)
    assert replay["recordId"] == created["recordId"] and replay["idempotent"] is True
    assert mock.ok("GET", f"{B}/usage")["consumedDeltas"] == 1


@pytest.fixture
def with_target(frozen):
    """The original (with metadata) plus another delta of the same customer to point adjusts at."""
    target = frozen.ok("POST", f"{B}/delta", 201, json={"customerId": "cust_1", "delta": 1, "reason": "seed",
                                                        "referenceId": "target"})
    original = frozen.ok("POST", f"{B}/delta", 201, json=ORIGINAL)
    return frozen, target, original


@pytest.mark.parametrize("change,fields", [
    ({"delta": -6}, ["delta"]),
    ({"reason": "other"}, ["reason"]),
    ({"metadata": {"region": "us"}}, ["metadata"]),
    ({"metadata": None}, ["metadata"]),
    ({"metadata": {}}, ["metadata"]),
    ({"adjusts": {"referenceId": "target"}}, ["adjusts"]),
    ({"delta": 5, "metadata": {"region": "eu", "x": 1}}, ["delta", "metadata"]),
    ({"adjusts": {"recordId": "TARGET"}, "reason": "r2", "metadata": {"a": 1}, "delta": -5.5},
     ["delta", "reason", "metadata", "adjusts"]),
])
def test_reference_conflict_lists_differing_fields_in_order(with_target, change, fields):
    mock, target, original = with_target
    if change.get("adjusts") == {"recordId": "TARGET"}:
        change = {**change, "adjusts": {"recordId": target["recordId"]}}
    before = _snapshot(mock)
    err = _error(mock.call("POST", f"{B}/delta", json={**ORIGINAL, **change}), 409, "IDEMPOTENCY_CONFLICT")
    assert err["details"] == {"referenceId": "ref-1", "recordId": original["recordId"], "fields": fields}
    assert "ref-1" in err["message"]
    assert _snapshot(mock) == before


@pytest.mark.parametrize("raw", [
    '{"customerId":"cust_1","delta":100,"reason":"usage","referenceId":"dec"}',
    '{"customerId":"cust_1","delta":100.0,"reason":"usage","referenceId":"dec"}',
    '{"customerId":"cust_1","delta":1E+2,"reason":"usage","referenceId":"dec"}',
    '{"customerId":"cust_1","delta":100.000,"reason":"usage","referenceId":"dec","metadata":null,"adjusts":null}',
])
def test_equal_decimals_are_the_same_content(frozen, raw):
    mock = frozen
    created = mock.ok("POST", f"{B}/delta", 201, json={"customerId": "cust_1", "delta": 100, "reason": "usage",
                                                       "referenceId": "dec"})
    replay = mock.ok("POST", f"{B}/delta", 200, data=raw, headers={"Content-Type": "application/json"})
    assert replay["recordId"] == created["recordId"] and replay["idempotent"] is True and replay["delta"] == 100


def test_null_metadata_differs_from_empty_object(frozen):
    mock = frozen
    no_meta = mock.ok("POST", f"{B}/delta", 201, json={"customerId": "cust_1", "delta": -1, "reason": "u", "referenceId": "n"})
    # absent equals null ...
    assert mock.ok("POST", f"{B}/delta", 200, json={"customerId": "cust_1", "delta": -1, "reason": "u", "referenceId": "n",
                                                    "metadata": None})["recordId"] == no_meta["recordId"]
    # ... but {} is different content
    err = _error(mock.call("POST", f"{B}/delta", json={"customerId": "cust_1", "delta": -1, "reason": "u",
                                                       "referenceId": "n", "metadata": {}}), 409, "IDEMPOTENCY_CONFLICT")
    assert err["details"]["fields"] == ["metadata"]
    empty = mock.ok("POST", f"{B}/delta", 201, json={"customerId": "cust_1", "delta": -1, "reason": "u", "referenceId": "e",
                                                     "metadata": {}})
    assert empty["metadata"] == {}
    err = _error(mock.call("POST", f"{B}/delta", json={"customerId": "cust_1", "delta": -1, "reason": "u",
                                                       "referenceId": "e"}), 409, "IDEMPOTENCY_CONFLICT")
    assert err["details"] == {"referenceId": "e", "recordId": empty["recordId"], "fields": ["metadata"]}
    # adjusts absent equals adjusts null
    assert mock.ok("POST", f"{B}/delta", 200, json={"customerId": "cust_1", "delta": -1, "reason": "u", "referenceId": "n",
                                                    "adjusts": None})["idempotent"] is True


def test_metadata_member_order_does_not_matter(frozen):
    mock = frozen
    body = {"customerId": "cust_1", "delta": -1, "reason": "u", "referenceId": "m", "metadata": {"a": 1, "b": {"y": 2, "x": [1, 2]}}}
    rec = mock.ok("POST", f"{B}/delta", 201, json=body)
    again = mock.ok("POST", f"{B}/delta", 200, data='{"metadata":{"b":{"x":[1,2],"y":2},"a":1},"referenceId":"m",'
                                                    '"reason":"u","delta":-1,"customerId":"cust_1"}')
    assert again["recordId"] == rec["recordId"] and again["idempotent"] is True


def test_metadata_numbers_compare_canonically(frozen):
    """Metadata numbers are canonicalized by JCS (proofs.md 2.4): 1.0 and 1 serialize alike."""
    mock = frozen
    body = {"customerId": "cust_1", "delta": -1, "reason": "u", "referenceId": "num", "metadata": {"a": 1, "b": 2.5}}
    rec = mock.ok("POST", f"{B}/delta", 201, json=body)
    again = mock.ok("POST", f"{B}/delta", 200, data='{"customerId":"cust_1","delta":-1,"reason":"u","referenceId":"num",'
                                                    '"metadata":{"a":1.0,"b":2.50}}')
    assert again["recordId"] == rec["recordId"] and again["idempotent"] is True
    assert again["metadataDigest"] == rec["metadataDigest"]


# --- batch items ------------------------------------------------------------------------------------

def test_batch_items_replay_and_conflict_inside_one_request(frozen):
    mock = frozen
    item = {"customerId": "cust_1", "delta": -5, "reason": "usage", "referenceId": "b-1"}
    other = {"customerId": "cust_2", "delta": 3, "reason": "credit"}
    conflicting = {**item, "delta": -6}
    reply = mock.call("POST", f"{B}/delta/batch", json={"deltas": [item, other, item, conflicting]})
    assert reply.status_code == 201, reply.text
    data = reply.json()["data"]
    r0, r1, r2, r3 = data["results"]
    assert [r["index"] for r in data["results"]] == [0, 1, 2, 3]
    assert (r0["status"], r0["idempotent"], r0["error"], r0["sequenceNumber"]) == ("QUEUED", False, None, "1")
    assert (r1["status"], r1["idempotent"], r1["customerId"]) == ("QUEUED", False, "cust_2")
    # the later identical item is a replay of the first (its current status: QUEUED in this request)
    assert (r2["status"], r2["idempotent"], r2["recordId"], r2["error"]) == ("QUEUED", True, r0["recordId"], None)
    assert r2["sequenceNumber"] == "1" and r2["receiptId"] == r0["receiptId"]
    # the later different item fails
    assert (r3["status"], r3["error"], r3["idempotent"]) == ("FAILED", "IDEMPOTENCY_CONFLICT", False)
    assert (r3["recordId"], r3["receiptId"], r3["sequenceNumber"]) == (None, None, None)
    assert r3["delta"] == -6 and r3["referenceId"] == "b-1" and r3["message"]
    # one batch for everything recorded
    assert (data["totalQueued"], data["totalFailed"], data["totalRecorded"], data["totalReplayed"]) == (3, 1, 2, 1)
    assert data["_efficiency"] == {"items": 4, "recorded": 2, "replayed": 1, "failed": 1}
    assert data["batchSequence"] == 1
    assert data["receiptId"] == r0["receiptId"] == r1["receiptId"]
    first = mock.ok("GET", f"{B}/delta/{r0['recordId']}")
    second = mock.ok("GET", f"{B}/delta/{r1['recordId']}")
    assert first["receiptId"] == second["receiptId"] == data["receiptId"]
    assert first["recordedAt"] == second["recordedAt"] == T0
    assert first["verificationReference"] == second["verificationReference"] is not None
    assert mock.ok("GET", "/_mock/workspace")["counts"]["deltas"] == 2

    # the batch tree holds the two recorded deltas in request order; the next request is batch 2
    public = mock.ok("GET", f"/api/v1/verify/{data['receiptId']}")
    assert public["kind"] == "batch" and public["verified"] is True
    assert [r["recordId"] for r in public["records"]] == [r0["recordId"], r1["recordId"]]
    assert public["verification"]["batch"]["batchSequence"] == 1
    assert public["verification"]["batch"]["itemCount"] == 2
    nxt = mock.ok("POST", f"{B}/delta", 201, json={"customerId": "cust_1", "delta": -1, "reason": "usage"})
    nxt_batch = mock.ok("GET", f"/api/v1/verify/{nxt['receiptId']}")["verification"]["batch"]
    assert nxt_batch["batchSequence"] == 2 and nxt_batch["previousProofHash"] == data["receiptId"]


def test_batch_conflict_with_an_earlier_item_of_the_same_request(frozen):
    mock = frozen
    item = {"customerId": "cust_1", "delta": -5, "reason": "usage", "referenceId": "b-1"}
    reply = mock.call("POST", f"{B}/delta/batch", json={"deltas": [item, {**item, "metadata": {}}]})
    assert reply.status_code == 201, reply.text
    data = reply.json()["data"]
    first, second = data["results"]
    assert (first["status"], first["idempotent"], first["error"]) == ("QUEUED", False, None)
    assert (second["status"], second["error"], second["recordId"]) == ("FAILED", "IDEMPOTENCY_CONFLICT", None)
    assert (data["totalRecorded"], data["totalFailed"], data["batchSequence"]) == (1, 1, 1)
    assert data["receiptId"] == first["receiptId"]


def test_batch_with_nothing_new_is_200(frozen):
    mock = frozen
    item = {"customerId": "cust_1", "delta": -5, "reason": "usage", "referenceId": "b-1"}
    created = mock.ok("POST", f"{B}/delta", 201, json=item)
    before = _snapshot(mock)
    reply = mock.call("POST", f"{B}/delta/batch", json={"deltas": [item, {**item, "reason": "changed"}]})
    assert reply.status_code == 200, reply.text
    data = reply.json()["data"]
    assert (data["totalQueued"], data["totalFailed"], data["totalRecorded"], data["totalReplayed"]) == (1, 1, 0, 1)
    assert data["receiptId"] is None and data["batchSequence"] is None
    replayed, failed = data["results"]
    assert (replayed["status"], replayed["idempotent"], replayed["recordId"]) == ("VERIFIED", True, created["recordId"])
    assert replayed["receiptId"] == created["receiptId"]
    assert (failed["status"], failed["error"]) == ("FAILED", "IDEMPOTENCY_CONFLICT")
    assert _snapshot(mock) == before


# --- Idempotency-Key ----------------------------------------------------------------------------------

KEYED = {"customerId": "cust_1", "delta": -5, "reason": "usage"}


def _keyed(mock, key: str, body=None, raw: str | None = None, path: str = f"{B}/delta"):
    headers = {"Idempotency-Key": key}
    if raw is not None:
        return mock.call("POST", path, data=raw, headers={**headers, "Content-Type": "application/json"})
    return mock.call("POST", path, json=KEYED if body is None else body, headers=headers)


def test_key_replay_is_byte_for_byte(frozen):
    mock = frozen
    first = _keyed(mock, "k-1")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    assert first.json()["data"]["status"] == "QUEUED"
    mock.clock_set("2026-02-10T00:05:00.000Z")
    assert mock.ok("GET", f"{B}/delta/{first.json()['data']['recordId']}")["status"] == "VERIFIED"
    before = _snapshot(mock)
    again = _keyed(mock, "k-1")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content  # still says QUEUED: the stored reply, not the current record
    assert again.headers["Content-Type"].startswith("application/json")
    assert again.headers["X-Request-Id"] != first.headers["X-Request-Id"]
    assert _snapshot(mock) == before
    assert mock.ok("GET", f"{B}/derive/cust_1")["deltasCount"] == 1


def test_key_with_a_different_body_is_409(frozen):
    mock = frozen
    assert _keyed(mock, "k-1").status_code == 201
    before = _snapshot(mock)
    err = _error(_keyed(mock, "k-1", {**KEYED, "delta": -6}), 409, "IDEMPOTENCY_KEY_REUSED")
    assert err["details"] == {"field": "Idempotency-Key", "reason": "conflict"}
    err = _error(_keyed(mock, "k-1", {**KEYED, "referenceId": "extra"}), 409, "IDEMPOTENCY_KEY_REUSED")
    assert err["details"] == {"field": "Idempotency-Key", "reason": "conflict"}
    assert _snapshot(mock) == before


@pytest.mark.parametrize("raw", [
    '{"customerId":"cust_1","delta":-5,"reason":"usage"}',
    '{\n  "customerId" : "cust_1",\n  "delta" : -5,\n  "reason" : "usage"\n}\n',
    '{"reason":"usage","delta":-5,"customerId":"cust_1"}',
    '{"customerId":"cust_1","delta":-5.0,"reason":"usage"}',
    '{"delta":-5.000, "customerId":"cust_1","reason":"usage"}',
])
def test_key_body_identity_ignores_formatting(frozen, raw):
    mock = frozen
    first = _keyed(mock, "k-fmt")
    assert first.status_code == 201
    again = _keyed(mock, "k-fmt", raw=raw)
    assert again.status_code == 201, again.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.content == first.content
    assert mock.ok("GET", "/_mock/workspace")["counts"]["deltas"] == 1


def test_rejected_request_stores_nothing_under_the_key(frozen):
    mock = frozen
    bad = _keyed(mock, "k-fix", {**KEYED, "delta": 0})
    _error(bad, 400, "VALIDATION_ERROR")
    assert mock.ok("GET", "/_mock/workspace")["counts"]["deltas"] == 0
    # the corrected retry runs normally (no 409, no replay of the 400)
    fixed = _keyed(mock, "k-fix")
    assert fixed.status_code == 201, fixed.text
    assert "Idempotent-Replayed" not in fixed.headers
    # from now on the key holds the 201
    again = _keyed(mock, "k-fix")
    assert again.headers.get("Idempotent-Replayed") == "true" and again.content == fixed.content
    # a business rejection (402) stores nothing either
    mock.settings(planAllotment=1)
    refused = _keyed(mock, "k-402", {**KEYED, "delta": -9})
    _error(refused, 402, "INSUFFICIENT_CREDITS")
    mock.settings(planAllotment=None)
    retried = _keyed(mock, "k-402", {**KEYED, "delta": -9})
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers


def test_key_expires_after_the_ttl_of_virtual_time(frozen):
    mock = frozen
    mock.settings(idempotencyTtlSeconds=60)
    first = _keyed(mock, "k-ttl")
    assert first.status_code == 201
    mock.clock_set("2026-02-10T00:00:30.000Z")
    within = _keyed(mock, "k-ttl")
    assert within.headers.get("Idempotent-Replayed") == "true" and within.content == first.content
    mock.clock_set("2026-02-10T00:01:01.000Z")
    expired = _keyed(mock, "k-ttl")
    assert expired.status_code == 201, expired.text
    assert "Idempotent-Replayed" not in expired.headers
    assert expired.json()["data"]["recordId"] != first.json()["data"]["recordId"]
    assert expired.json()["data"]["recordedAt"] == "2026-02-10T00:01:01.000Z"
    assert mock.ok("GET", "/_mock/workspace")["counts"]["deltas"] == 2
    # the key now holds the new reply; a different body after expiry was allowed too
    replay = _keyed(mock, "k-ttl")
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.content == expired.content
    mock.clock_set("2026-02-10T00:02:02.000Z")
    different = _keyed(mock, "k-ttl", {**KEYED, "delta": 7})
    assert different.status_code == 201 and different.json()["data"]["delta"] == 7


def test_key_is_per_route(frozen):
    mock = frozen
    emit = _keyed(mock, "k-route")
    batch = _keyed(mock, "k-route", {"deltas": [{"customerId": "cust_2", "delta": 2, "reason": "credit"}]},
                   path=f"{B}/delta/batch")
    checkpoint = _keyed(mock, "k-route", {"customerId": "cust_1", "period": "2026-02"}, path=f"{B}/checkpoint")
    for reply in (emit, batch, checkpoint):
        assert reply.status_code == 201, reply.text
        assert "Idempotent-Replayed" not in reply.headers
    assert batch.json()["data"]["totalRecorded"] == 1
    assert checkpoint.json()["data"]["treeSize"] == 1
    # each route replays its own stored reply
    again = _keyed(mock, "k-route", {"customerId": "cust_1", "period": "2026-02"}, path=f"{B}/checkpoint")
    assert again.headers.get("Idempotent-Replayed") == "true" and again.content == checkpoint.content
    again = _keyed(mock, "k-route", {"deltas": [{"customerId": "cust_2", "delta": 2, "reason": "credit"}]},
                   path=f"{B}/delta/batch")
    assert again.headers.get("Idempotent-Replayed") == "true" and again.content == batch.content
    counts = mock.ok("GET", "/_mock/workspace")["counts"]
    assert (counts["deltas"], counts["checkpoints"]) == (2, 1)


def test_checkpoint_key_replay_keeps_the_stored_status(frozen):
    mock = frozen
    mock.ok("POST", f"{B}/delta", 201, json=KEYED)
    first = _keyed(mock, "k-chk", {"customerId": "cust_1"}, path=f"{B}/checkpoint")
    assert first.status_code == 201 and first.json()["data"]["status"] == "QUEUED"
    # without the key the same request now sees the verified checkpoint (200, idempotent)
    plain = mock.ok("POST", f"{B}/checkpoint", 200, json={"customerId": "cust_1"})
    assert plain["status"] == "VERIFIED" and plain["idempotent"] is True
    again = _keyed(mock, "k-chk", {"customerId": "cust_1"}, path=f"{B}/checkpoint")
    assert again.status_code == 201 and again.content == first.content
    assert again.headers.get("Idempotent-Replayed") == "true"


def test_key_check_runs_before_reference_dedupe(frozen):
    mock = frozen
    body = {**KEYED, "referenceId": "both"}
    first = _keyed(mock, "k-both", body)
    assert first.status_code == 201
    # same key: the stored 201, byte for byte
    keyed_again = _keyed(mock, "k-both", body)
    assert keyed_again.status_code == 201 and keyed_again.content == first.content
    assert keyed_again.headers.get("Idempotent-Replayed") == "true"
    # another key: the referenceId replay (200, idempotent true)
    other_key = _keyed(mock, "k-other", body)
    assert other_key.status_code == 200 and "Idempotent-Replayed" not in other_key.headers
    assert other_key.json()["data"]["idempotent"] is True
    assert other_key.json()["data"]["recordId"] == first.json()["data"]["recordId"]
    # and that 200 is what k-other now replays
    replay = _keyed(mock, "k-other", body)
    assert replay.status_code == 200 and replay.content == other_key.content
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert json.loads(replay.content)["data"]["idempotent"] is True


# --- a request with the key still executing: 202 IDEMPOTENCY_PENDING (§4.2) ------------------------

def _wait_until(predicate, what: str, seconds: float = 10.0):
    import time

    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


def test_a_second_request_while_the_first_executes_is_pending(frozen):
    """A client whose first request is slow (here a latency fault) retries with the same key: the
    retry answers 202 IDEMPOTENCY_PENDING with Retry-After 1 (the contract's example, byte for
    byte); once the first has executed the key replays its reply."""
    import threading

    from test_spec_examples import EXAMPLES

    frozen.ok("POST", "/_mock/faults", 201, json={"match": {"route": "balance.emit"}, "nth": [1],
                                                   "actions": [{"type": "latency", "ms": 600}]})
    body = {"customerId": "c1", "delta": -5, "reason": "usage"}
    key = {"Idempotency-Key": "pending-1"}
    first: list = []
    slow = threading.Thread(target=lambda: first.append(frozen.call("POST", f"{B}/delta", json=body, headers=key)))
    slow.start()
    # the first request was admitted (its rule counted it) and now waits before it executes
    _wait_until(lambda: frozen.ok("GET", "/_mock/faults")["rules"][0]["matched"] == 1, "the first request arrived")
    second = frozen.call("POST", f"{B}/delta", json=body, headers=key)
    assert second.status_code == 202 and second.headers["Retry-After"] == "1"
    assert second.text == EXAMPLES["idempotency_pending"]
    assert "X-Request-Id" in second.headers
    slow.join(10)
    assert first[0].status_code == 201
    third = frozen.call("POST", f"{B}/delta", json=body, headers=key)
    assert (third.status_code, third.headers["Idempotent-Replayed"], third.text) == (201, "true", first[0].text)
    assert frozen.ok("GET", "/_mock/workspace")["counts"]["deltas"] == 1
    journal = frozen.ok("GET", "/_mock/journal", params={"route": "balance.emit"})["entries"]
    # newest first, by request number: the first request was numbered when it arrived
    assert [(e["status"], e["errorCode"], e["idempotentReplay"]) for e in journal] == [
        (201, None, True), (202, "IDEMPOTENCY_PENDING", False), (201, None, False)]


def test_the_sdk_sees_the_pending_reply_as_the_contract_says(server, frozen):
    """§11: the SDK returns the 202 body as {"code": "IDEMPOTENCY_PENDING", …}, not an error."""
    import threading

    from pacspace_sdk import PacSpace

    frozen.ok("POST", "/_mock/faults", 201, json={"match": {"route": "balance.emit"}, "nth": [1],
                                                   "actions": [{"type": "latency", "ms": 600}]})
    pac = PacSpace.init(frozen.key, base_url=server.url, max_retries=0)
    options = {"referenceId": "r1", "idempotencyKey": "sdk-pending"}
    slow = threading.Thread(target=lambda: pac.balance.emit("c1", -5, "usage", options))
    slow.start()
    _wait_until(lambda: frozen.ok("GET", "/_mock/faults")["rules"][0]["matched"] == 1, "the first request arrived")
    reply = pac.balance.emit("c1", -5, "usage", options)
    slow.join(10)
    assert reply["code"] == "IDEMPOTENCY_PENDING" and reply["retryAfterSeconds"] == 1


def test_a_pending_marker_left_by_a_request_that_never_finished_is_abandoned_after_30_s():
    """A process that died between committing the marker and executing must not block the key."""
    from mockserver.embedded import EmbeddedServer
    from mockserver.runtime import Runtime, ServerConfig
    from mockserver.store import idempotency
    from conftest import Mock

    wall = [1_770_681_600_000]
    runtime = Runtime(ServerConfig(seed=7, processing_delay=0, verify_delay=0), wall_ms=lambda: wall[0])
    with EmbeddedServer(runtime) as srv:
        mock = Mock(srv.url, "pk_test_abandoned")
        body = {"customerId": "c1", "delta": -5, "reason": "usage"}
        with runtime.store.transaction() as conn:
            ws = runtime.resolve_workspace(conn, mock.key)
            idempotency.mark_pending(conn, ws.id, "balance.emit", "k", json.dumps(body), 0, wall[0])
        assert mock.call("POST", f"{B}/delta", json=body, headers={"Idempotency-Key": "k"}).status_code == 202
        wall[0] += 30_001
        assert mock.call("POST", f"{B}/delta", json=body, headers={"Idempotency-Key": "k"}).status_code == 201


def test_a_keyed_request_reads_the_clock_again_when_it_executes(tmp_path, monkeypatch):
    """A request with an Idempotency-Key commits its pending marker, then executes in a second
    transaction. What runs in between (another worker on the same file, a clock move in a thread)
    is earlier in sequence, so it must not be later in time: the keyed record takes the clock
    reading of its execution, and the customer's receipt (lines in sequence order) verifies."""
    from conftest import Mock

    from mockserver.embedded import EmbeddedServer
    from mockserver.pipeline import Pipeline
    from mockserver.proofs.verifier import verify_receipt
    from mockserver.runtime import Runtime, ServerConfig

    db = str(tmp_path / "two-workers.sqlite")
    config = ServerConfig(seed=7, processing_delay=0, verify_delay=0)
    first, second = Runtime(config, db_path=db), Runtime(config, db_path=db)
    with EmbeddedServer(first) as one, EmbeddedServer(second) as two:
        here, there = Mock(one.url, "pk_test_twophase"), Mock(two.url, "pk_test_twophase")
        here.freeze(T0)
        run = Pipeline._run

        def interleaved(self, request, body, body_error, started, admitted):
            result = run(self, request, body, body_error, started, admitted)
            if self.runtime is first and admitted is None and result[2] is not None:  # admitted, not yet executed
                there.ok("POST", "/_mock/clock/advance", json={"seconds": 5})
                there.ok("POST", f"{B}/delta", 201, json={"customerId": "c1", "delta": -2, "reason": "other worker"})
            return result

        monkeypatch.setattr(Pipeline, "_run", interleaved)
        keyed = here.ok("POST", f"{B}/delta", 201, json={"customerId": "c1", "delta": -3, "reason": "keyed"},
                        headers={"Idempotency-Key": "k1"})
        monkeypatch.undo()
        assert (keyed["sequence"], keyed["recordedAt"]) == (2, "2026-02-10T00:00:05.000Z")
        here.ok("POST", "/_mock/clock/advance", json={"seconds": 1})
        receipt = here.ok("GET", f"{B}/receipt/c1")
        assert [(d["sequence"], d["reason"]) for d in receipt["deltas"]] == [(1, "other worker"), (2, "keyed")]
        report = verify_receipt(receipt)
        assert report.ok, report.messages


def test_reference_conflict_message_names_the_fields(with_target):
    mock, _target, original = with_target
    err = _error(mock.call("POST", f"{B}/delta", json={**ORIGINAL, "delta": 7, "reason": "other"}), 409,
                 "IDEMPOTENCY_CONFLICT")
    assert err["message"] == ("referenceId 'ref-1' was already used for customer 'cust_1' with a different delta, reason")
    assert err["details"]["recordId"] == original["recordId"]


def test_replay_of_a_delta_with_adjusts(with_target):
    """§4.1: the same referenceId with the same content, adjusts included, is a replay (200, the
    original record); the same body without adjusts is a conflict naming adjusts."""
    mock, _target, _original = with_target
    body = {"customerId": "cust_1", "delta": 2, "reason": "fix", "referenceId": "adj-1",
            "adjusts": {"referenceId": "target"}}
    first = mock.ok("POST", f"{B}/delta", 201, json=body)
    again = mock.ok("POST", f"{B}/delta", 200, json=body)
    assert again["recordId"] == first["recordId"] and again["adjusts"] == {"referenceId": "target"}
    err = _error(mock.call("POST", f"{B}/delta", json={k: v for k, v in body.items() if k != "adjusts"}), 409,
                 "IDEMPOTENCY_CONFLICT")
    assert err["details"]["fields"] == ["adjusts"]


def test_expired_keys_are_dropped_and_bodies_are_kept_as_hashes(server, frozen):
    """A stored reply past its TTL answers nothing (§4.2), so it is deleted when a reply is stored;
    what a key's body is compared by is its canonical form's SHA-256, not a copy of the body."""
    mock = frozen
    mock.settings(idempotencyTtlSeconds=60)
    body = {"customerId": "c1", "delta": -1, "reason": "usage"}
    mock.ok("POST", f"{B}/delta", 201, json=body, headers={"Idempotency-Key": "old-key"})
    store = server.runtime.store

    def stored_keys() -> list[tuple[str, str]]:
        with store.transaction() as conn:
            return [tuple(r) for r in conn.execute(
                "SELECT i.key, i.body_identity FROM idempotency_keys i JOIN workspaces w ON w.id = i.ws"
                " WHERE w.public_id = ?", (mock.key.split("_", 2)[2],))]

    (key, identity), = stored_keys()
    assert key == "old-key" and identity.startswith("sha256:") and len(identity) == 7 + 64
    mock.ok("POST", "/_mock/clock/advance", json={"seconds": 61})
    mock.ok("POST", f"{B}/delta", 201, json={**body, "delta": -2}, headers={"Idempotency-Key": "new-key"})
    assert [k for k, _ in stored_keys()] == ["new-key"]

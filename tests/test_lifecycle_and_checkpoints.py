"""Lifecycle on the frozen virtual clock (balance-api.md §3), cadence and allotment (§5.1, §5.2),
checkpoints (§5.6: reuse, supersession, chains, all customers, selection, empty windows, scope
identity), which checkpoint a receipt uses (§5.0.3), derive in checkpoint mode (§2.5), breakdown
buckets (§5.0.4) and month boundaries (§2.2)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

import rfc8785
from Crypto.Hash import keccak

from mockserver.proofs.verifier import verify_receipt

from conftest import error_of as _error

B = "/api/v1/balance"
T0 = "2026-02-10T00:00:00.000Z"
EMPTY_ROOT = "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
HASH_RE = r"^0x[0-9a-f]{64}$"


def _emit(mock, customer: str, amount, **extra) -> dict:
    return mock.ok("POST", f"{B}/delta", 201, json={"customerId": customer, "delta": amount, "reason": "usage", **extra})


# An independent oracle of proofs.md §4.1 and §3.4 (deliberately not mockserver.proofs): the RFC 9162
# tree with Keccak-256, leaf H(00 ‖ d), node H(01 ‖ left ‖ right), left subtree the largest power
# of two below n, an odd last node never duplicated.

def _keccak(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def _mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return _keccak(b"")
    if len(leaves) == 1:
        return _keccak(b"\x00" + leaves[0])
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return _keccak(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:]))


def _items_root(fingerprints: list[str]) -> str:
    return "0x" + _mth([bytes.fromhex(fp[2:]) for fp in fingerprints]).hex()


def _proof_root(checkpoint: dict, previous: str | None = None) -> str:
    """proofRoot = H("pacspace-mock:checkpoint:v1" ‖ 00 ‖ JCS(C)), C built from the reply's members."""
    c = {name: checkpoint[name] for name in ("ledgerId", "chainId", "customerId", "startDate", "endDate", "treeSize",
                                             "itemsRoot")}
    c["netChange"] = str(checkpoint["netChange"])
    if checkpoint["period"] is not None:
        c["period"] = checkpoint["period"]
    if checkpoint["treeSize"]:
        c["fromSequence"], c["toSequence"] = checkpoint["fromSequence"], checkpoint["toSequence"]
    if previous is not None:
        c["previousProofRoot"] = previous
    return "0x" + _keccak(b"pacspace-mock:checkpoint:v1\x00" + rfc8785.dumps(c)).hex()


def test_tree_oracle_reproduces_the_proof_vectors():
    """T.6 and T.10 of proofs.md, so the oracle below is itself anchored on the spec."""
    fps = ["0x92d1d27b38207fc8d751e6c42313490a0160c4181d5dd7c3ac74ee028408fd49",
           "0xb49479cc67f91a648b7c82a7d69b0925209c68393fd463e8deabed9aace9750f",
           "0xedb9a6181188796c1487496186b548ed56d627648ea31f8b21f18c6fe379017a"]
    assert _items_root(fps) == "0x6c6f9ac1c3fb1f8c81ee696ef21a621c264f81b7ae67d0d3425d8914e1cf09f6"
    assert _items_root([]) == EMPTY_ROOT


@pytest.mark.parametrize("amounts", [(-1, -2, -4), (-3, 5, -7, 11, -13)], ids=["3 leaves", "5 leaves"])
def test_checkpoint_roots_of_odd_trees_match_an_independent_computation(mock, amounts):
    """Odd sizes are where a duplicated last node or a swapped split would show (proofs.md §4.1)."""
    mock.freeze(T0)
    deltas = [_emit(mock, "odd", amount) for amount in amounts]
    mock.clock_set("2026-02-10T00:00:01.000Z")
    chk = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "odd", "period": "2026-02"})
    fingerprints = [d["fingerprint"] for d in sorted(deltas, key=lambda d: d["sequence"])]
    assert chk["treeSize"] == len(amounts) and chk["netChange"] == sum(amounts)
    assert chk["itemsRoot"] == _items_root(fingerprints)
    assert chk["itemsRoot"] != _items_root(fingerprints[::-1])  # order matters
    assert chk["itemsRoot"] != _items_root([*fingerprints, fingerprints[-1]])  # never duplicated
    assert chk["proofRoot"] == _proof_root(chk)
    receipt = mock.ok("GET", f"{B}/invoice-proof/odd", params={"period": "2026-02"})
    assert receipt["verification"]["itemHashes"] == fingerprints
    assert [line["leafIndex"] for line in receipt["deltas"]] == list(range(len(amounts)))
    # every line's inclusion proof climbs to the independently computed root
    for line in receipt["deltas"]:
        index, size, node = line["leafIndex"], len(fingerprints), _keccak(b"\x00" + bytes.fromhex(line["fingerprint"][2:]))
        path = [bytes.fromhex(p[2:]) for p in line["merkleProof"]]
        assert _climb(index, size, node, path) == chk["itemsRoot"]


def _climb(index: int, size: int, node: bytes, path: list[bytes]) -> str:
    """RFC 9162 §2.1.3.2 inclusion verification, written out for the oracle."""
    fn, sn = index, size - 1
    for sibling in path:
        if fn % 2 == 1 or fn == sn:
            node = _keccak(b"\x01" + sibling + node)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            node = _keccak(b"\x01" + node + sibling)
        fn, sn = fn >> 1, sn >> 1
    return "0x" + node.hex()


# --- lifecycle --------------------------------------------------------------------------------------

def test_delta_lifecycle_on_the_virtual_clock(mock):
    import re

    mock.freeze(T0)
    mock.settings(processingDelaySeconds=1, verifyDelaySeconds=2)
    created = _emit(mock, "c1", -5)
    assert created["status"] == "QUEUED" and created["recordedAt"] == T0
    assert [created[k] for k in ("processingAt", "verifiedAt", "blockTimestamp", "verificationReference")] == [None] * 4
    rid = created["recordId"]

    def state():
        return mock.ok("GET", f"{B}/delta/{rid}")

    assert state()["status"] == "QUEUED"
    derived = mock.ok("GET", f"{B}/derive/c1")
    assert (derived["computedBalance"], derived["deltasCount"], derived["pendingCount"], derived["deltas"]) == (0, 0, 1, [])
    assert derived["latestRecordId"] is None and derived["latestReceiptId"] is None
    assert mock.ok("GET", f"{B}/customers/c1")["totalDeltas"] == 1
    assert mock.ok("GET", f"{B}/usage")["consumedDeltas"] == 1
    gaps = mock.ok("GET", f"{B}/gaps/c1")
    assert gaps["gaps"] == [{"fromSequence": 1, "toSequence": 1, "count": 1, "state": "pending"}]

    mock.clock_set("2026-02-10T00:00:00.999Z")
    assert state()["status"] == "QUEUED"

    mock.clock_set("2026-02-10T00:00:01.000Z")
    processing = state()
    assert processing["status"] == "PROCESSING"
    assert processing["processingAt"] == "2026-02-10T00:00:01.000Z" and processing["verifiedAt"] is None
    assert processing["verificationReference"] is None
    derived = mock.ok("GET", f"{B}/derive/c1")
    assert (derived["computedBalance"], derived["deltasCount"], derived["pendingCount"]) == (0, 0, 1)

    mock.clock_set("2026-02-10T00:00:02.000Z")
    verified = state()
    assert verified["status"] == "VERIFIED"
    assert verified["processingAt"] == "2026-02-10T00:00:01.000Z"
    assert verified["verifiedAt"] == verified["blockTimestamp"] == "2026-02-10T00:00:02.000Z"
    assert re.match(HASH_RE, verified["verificationReference"])
    assert (verified["failedAt"], verified["error"]) == (None, None)
    derived = mock.ok("GET", f"{B}/derive/c1")
    assert (derived["computedBalance"], derived["deltasCount"], derived["pendingCount"]) == (-5, 1, 0)
    assert derived["latestRecordId"] == rid and derived["latestReceiptId"] == created["receiptId"]
    assert mock.ok("GET", f"{B}/gaps/c1")["verifiedThrough"] == 1


def test_checkpoint_lifecycle_and_pending_deltas(mock):
    mock.freeze(T0)
    mock.settings(processingDelaySeconds=1, verifyDelaySeconds=2)
    _emit(mock, "c1", -5)
    mock.clock_set("2026-02-10T00:00:02.000Z")
    chk = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "c1", "period": "2026-02"})
    assert chk["status"] == "QUEUED" and chk["verifiedAt"] is None and chk["treeSize"] == 1
    assert chk["createdAt"] == "2026-02-10T00:00:02.000Z"
    # a new delta that is not yet VERIFIED does not change the covered set
    _emit(mock, "c1", -3)
    again = mock.ok("POST", f"{B}/checkpoint", 200, json={"customerId": "c1", "period": "2026-02"})
    assert again["checkpointId"] == chk["checkpointId"] and again["idempotent"] is True
    proof = mock.ok("GET", f"{B}/invoice-proof/c1", params={"period": "2026-02"})
    assert proof["checkpointId"] == chk["checkpointId"]
    assert (proof["deltaCount"], proof["pendingDeltaCount"], proof["uncoveredDeltaCount"]) == (1, 1, 0)
    assert proof["status"] == "QUEUED"

    mock.clock_set("2026-02-10T00:00:03.999Z")
    assert mock.ok("GET", f"{B}/checkpoints")["checkpoints"][0]["status"] == "QUEUED"
    mock.clock_set("2026-02-10T00:00:04.000Z")
    listed = mock.ok("GET", f"{B}/checkpoints")["checkpoints"]
    assert [c["status"] for c in listed] == ["VERIFIED"]
    assert listed[0]["verifiedAt"] == listed[0]["blockTimestamp"] == "2026-02-10T00:00:04.000Z"
    # the second delta is VERIFIED at 00:00:04 too: now the same request supersedes
    newer = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "c1", "period": "2026-02"})
    assert newer["supersedes"] == chk["checkpointId"] and newer["treeSize"] == 2 and newer["netChange"] == -8


def test_delay_settings_apply_to_objects_created_afterwards(mock):
    mock.freeze(T0)
    mock.settings(processingDelaySeconds=10, verifyDelaySeconds=20)
    slow = _emit(mock, "c1", -1)
    mock.settings(processingDelaySeconds=0, verifyDelaySeconds=0)
    fast = _emit(mock, "c2", -1)
    assert mock.ok("GET", f"{B}/delta/{fast['recordId']}")["status"] == "VERIFIED"
    assert mock.ok("GET", f"{B}/delta/{slow['recordId']}")["status"] == "QUEUED"
    mock.clock_set("2026-02-10T00:00:20.000Z")
    assert mock.ok("GET", f"{B}/delta/{slow['recordId']}")["verifiedAt"] == "2026-02-10T00:00:20.000Z"


# --- cadence and allotment --------------------------------------------------------------------------

def test_cadence_limit_on_emit(mock):
    mock.freeze(T0)
    mock.settings(cadenceLimitSeconds=120)
    _emit(mock, "c1", -1, referenceId="first")
    mock.clock_set("2026-02-10T00:00:30.000Z")
    before = mock.ok("GET", "/_mock/workspace")["counts"]
    response = mock.call("POST", f"{B}/delta", json={"customerId": "c1", "delta": -2, "reason": "usage"})
    err = _error(response, 429, "CADENCE_LIMIT")
    assert err["retryAfterSeconds"] == 90 and err["customerId"] == "c1"
    assert response.headers["Retry-After"] == "90"
    assert list(err) == ["code", "message", "retryAfterSeconds", "customerId"]
    assert mock.ok("GET", "/_mock/workspace")["counts"] == before
    # another customer is not limited; a referenceId replay is not a new submission
    _emit(mock, "c2", -1)
    assert mock.ok("POST", f"{B}/delta", 200, json={"customerId": "c1", "delta": -1, "reason": "usage",
                                                    "referenceId": "first"})["idempotent"] is True
    # the remaining time is rounded up
    mock.clock_set("2026-02-10T00:01:59.500Z")
    response = mock.call("POST", f"{B}/delta", json={"customerId": "c1", "delta": -2, "reason": "usage"})
    assert _error(response, 429, "CADENCE_LIMIT")["retryAfterSeconds"] == 1
    assert response.headers["Retry-After"] == "1"
    mock.clock_set("2026-02-10T00:02:00.000Z")
    assert _emit(mock, "c1", -2)["sequence"] == 2


def test_cadence_limit_inside_a_batch(mock):
    mock.freeze(T0)
    mock.settings(cadenceLimitSeconds=120)
    reply = mock.call("POST", f"{B}/delta/batch", json={"deltas": [
        {"customerId": "c1", "delta": -1, "reason": "usage"},
        {"customerId": "c2", "delta": -2, "reason": "usage"},
        {"customerId": "c1", "delta": -3, "reason": "usage"},
        {"customerId": "c3", "delta": -4, "reason": "usage"},
    ]})
    assert reply.status_code == 201, reply.text
    data = reply.json()["data"]
    assert [r["status"] for r in data["results"]] == ["QUEUED", "QUEUED", "FAILED", "QUEUED"]
    failed = data["results"][2]
    assert (failed["error"], failed["customerId"], failed["delta"], failed["recordId"]) == ("CADENCE_LIMIT", "c1", -3, None)
    assert "c1" in failed["message"] and "120" in failed["message"]
    assert (data["totalQueued"], data["totalFailed"], data["totalRecorded"]) == (3, 1, 3)
    assert len({r["receiptId"] for r in data["results"] if r["recordId"]}) == 1
    assert mock.ok("GET", f"{B}/derive/c1")["computedBalance"] == -1


def test_plan_allotment(mock):
    mock.freeze(T0)
    mock.settings(planAllotment=3)
    _emit(mock, "c1", -1, referenceId="a")
    _emit(mock, "c2", -1)
    usage = mock.ok("GET", f"{B}/usage")
    assert (usage["remaining"], usage["allowed"], usage["consumedDeltas"], usage["plan"]) == (1, True, 2, "allotment")
    # a batch of two: the first fits, the second fails per item
    data = mock.ok("POST", f"{B}/delta/batch", 201, json={"deltas": [
        {"customerId": "c1", "delta": -1, "reason": "usage"}, {"customerId": "c2", "delta": -1, "reason": "usage"}]})
    assert [(r["status"], r["error"]) for r in data["results"]] == [("QUEUED", None), ("FAILED", "INSUFFICIENT_CREDITS")]
    usage = mock.ok("GET", f"{B}/usage")
    assert usage == {**usage, "remaining": 0, "allowed": False, "consumedDeltas": 3, "remainingDeltas": 0,
                     "monthlyAllotment": 3, "includedDeltas": 3, "overageCount": 0}
    before = mock.ok("GET", "/_mock/workspace")["counts"]
    _error(mock.call("POST", f"{B}/delta", json={"customerId": "c3", "delta": -1, "reason": "usage"}), 402,
           "INSUFFICIENT_CREDITS")
    assert mock.ok("GET", "/_mock/workspace")["counts"] == before
    # replays still work; a batch with nothing recorded is 200
    assert mock.ok("POST", f"{B}/delta", 200, json={"customerId": "c1", "delta": -1, "reason": "usage",
                                                    "referenceId": "a"})["idempotent"] is True
    only_failed = mock.call("POST", f"{B}/delta/batch", json={"deltas": [{"customerId": "c1", "delta": -1, "reason": "u"}]})
    assert only_failed.status_code == 200
    assert only_failed.json()["data"]["results"][0]["error"] == "INSUFFICIENT_CREDITS"
    # a new month has a fresh allotment
    mock.clock_set("2026-03-01T00:00:00.000Z")
    usage = mock.ok("GET", f"{B}/usage")
    assert (usage["period"], usage["consumedDeltas"], usage["remaining"], usage["allowed"]) == ("2026-03", 0, 3, True)
    _emit(mock, "c3", -1)


# --- checkpoints ----------------------------------------------------------------------------------------

def test_checkpoint_reuse_supersede_and_chain(mock):
    mock.freeze(T0)
    first_delta = _emit(mock, "c1", -10)
    chk1 = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "c1", "period": "2026-02"})
    assert chk1["idempotent"] is False and chk1["status"] == "QUEUED"
    assert (chk1["treeSize"], chk1["netChange"], chk1["fromSequence"], chk1["toSequence"]) == (1, -10, 1, 1)
    assert chk1["itemsRoot"] == _items_root([first_delta["fingerprint"]])
    assert (chk1["previousProofRoot"], chk1["supersedes"], chk1["supersededBy"]) == (None, None, None)
    assert chk1["merkleRoot"] == chk1["proofRoot"] and chk1["receiptId"] == chk1["checkpointId"]
    assert (chk1["period"], chk1["startDate"], chk1["endDate"]) == ("2026-02", "2026-02-01T00:00:00.000Z",
                                                                    "2026-03-01T00:00:00.000Z")

    again = mock.ok("POST", f"{B}/checkpoint", 200, json={"customerId": "c1", "period": "2026-02"})
    assert again["idempotent"] is True
    assert (again["checkpointId"], again["proofRoot"]) == (chk1["checkpointId"], chk1["proofRoot"])
    assert again["status"] == "VERIFIED"

    second_delta = _emit(mock, "c1", -5)
    chk2 = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "c1", "period": "2026-02"})
    assert chk2["idempotent"] is False and chk2["checkpointId"] != chk1["checkpointId"]
    assert chk2["supersedes"] == chk1["checkpointId"] and chk2["supersededBy"] is None
    assert chk2["previousProofRoot"] == chk1["proofRoot"]
    assert chk1["proofRoot"] == _proof_root(chk1) and chk2["proofRoot"] == _proof_root(chk2, chk1["proofRoot"])
    assert (chk2["treeSize"], chk2["netChange"], chk2["endingBalance"], chk2["toSequence"]) == (2, -15, -15, 2)
    assert chk2["itemsRoot"] == _items_root([first_delta["fingerprint"], second_delta["fingerprint"]])

    listed = mock.ok("GET", f"{B}/checkpoints", params={"customerId": "c1"})
    assert [c["checkpointId"] for c in listed["checkpoints"]] == [chk2["checkpointId"], chk1["checkpointId"]]
    old = listed["checkpoints"][1]
    assert old["supersededBy"] == chk2["checkpointId"] and "idempotent" not in old
    receipts = mock.ok("GET", f"{B}/customers/c1/receipts")["receipts"]
    assert [(r["receiptId"], r["supersededBy"]) for r in receipts] == [(chk2["checkpointId"], None),
                                                                       (chk1["checkpointId"], chk2["checkpointId"])]
    # the superseded checkpoint stays verifiable
    public = mock.ok("GET", f"/api/v1/verify/{chk1['proofRoot']}")
    assert public["verified"] is True and public["summary"]["recordCount"] == 1
    # the scoped receipt uses the latest
    proof = mock.ok("GET", f"{B}/invoice-proof/c1", params={"period": "2026-02"})
    assert (proof["checkpointId"], proof["proofRoot"], proof["finalBalance"]) == (chk2["checkpointId"], chk2["proofRoot"], -15)
    # the chain runs across scopes: a custom-window checkpoint follows chk2
    custom = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "c1", "startDate": "2026-02-09",
                                                           "endDate": "2026-02-11"})
    assert custom["previousProofRoot"] == chk2["proofRoot"] and custom["supersedes"] is None
    assert custom["period"] is None and custom["scope"]["mode"] == "custom"
    # another customer's chain is its own
    _emit(mock, "c2", -1)
    other = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "c2", "period": "2026-02"})
    assert other["previousProofRoot"] is None


def test_receipt_of_a_locked_period_reports_uncovered_deltas(mock):
    mock.freeze(T0)
    _emit(mock, "c1", -10)
    mock.clock_set("2026-02-10T00:00:01.000Z")
    first = mock.ok("GET", f"{B}/invoice-proof/c1", params={"period": "2026-02"})  # commits the checkpoint
    assert (first["deltaCount"], first["finalBalance"], first["uncoveredDeltaCount"]) == (1, -10, 0)
    locked_id, locked_root = first["checkpointId"], first["proofRoot"]

    mock.clock_set("2026-02-11T00:00:00.000Z")
    _emit(mock, "c1", -5)
    mock.clock_set("2026-02-11T00:00:01.000Z")
    later = mock.ok("GET", f"{B}/invoice-proof/c1", params={"period": "2026-02"})
    assert (later["checkpointId"], later["proofRoot"]) == (locked_id, locked_root)
    assert (later["deltaCount"], later["finalBalance"], later["uncoveredDeltaCount"], later["pendingDeltaCount"]) == (1, -10, 1, 0)
    assert mock.ok("GET", f"{B}/receipt/c1", params={"period": "2026-02"})["checkpointId"] == locked_id
    assert mock.ok("GET", "/_mock/workspace")["counts"]["checkpoints"] == 1

    newer = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "c1", "period": "2026-02"})
    assert newer["supersedes"] == locked_id and newer["previousProofRoot"] == locked_root
    refreshed = mock.ok("GET", f"{B}/invoice-proof/c1", params={"period": "2026-02"})
    assert refreshed["checkpointId"] == newer["checkpointId"]
    assert (refreshed["deltaCount"], refreshed["finalBalance"], refreshed["uncoveredDeltaCount"]) == (2, -15, 0)
    # the receipt document of the old checkpoint still shows the old lock
    old_doc = mock.ok("GET", f"{B}/receipts/{locked_id}")
    assert (old_doc["proofRoot"], old_doc["deltaCount"], old_doc["uncoveredDeltaCount"]) == (locked_root, 1, 1)


def test_uncovered_deltas_are_those_verified_after_the_commit(mock):
    """uncoveredDeltaCount: a delta VERIFIED at the commit's own instant but after it, one pending
    when the checkpoint was made; never another customer's delta or one outside the window."""
    mock.freeze(T0)
    mock.settings(processingDelaySeconds=0, verifyDelaySeconds=0)
    _emit(mock, "c1", -1)
    first = mock.ok("GET", f"{B}/invoice-proof/c1", params={"period": "2026-02"})  # verified first, so covered
    assert (first["deltaCount"], first["uncoveredDeltaCount"]) == (1, 0)
    _emit(mock, "c1", -2)  # VERIFIED at T0 as well, by the next request: after the commit
    _emit(mock, "c2", -7)
    same = mock.ok("GET", f"{B}/invoice-proof/c1", params={"period": "2026-02"})
    assert (same["checkpointId"], same["deltaCount"], same["uncoveredDeltaCount"]) == (first["checkpointId"], 1, 1)

    mock.settings(verifyDelaySeconds=5)
    _emit(mock, "c1", -3)  # pending when the next checkpoint is made
    newer = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "c1", "period": "2026-02"})
    assert newer["treeSize"] == 2
    mock.clock_set("2026-02-10T00:00:05.000Z")
    mock.clock_set("2026-03-01T00:00:00.000Z")
    _emit(mock, "c1", -4)  # March: outside the window
    mock.clock_set("2026-03-01T00:00:05.000Z")
    assert mock.ok("GET", f"{B}/receipts/{newer['checkpointId']}")["uncoveredDeltaCount"] == 1
    assert mock.ok("GET", f"{B}/receipts/{first['checkpointId']}")["uncoveredDeltaCount"] == 2


def test_all_customers_checkpoint(mock):
    mock.freeze("2026-01-20T00:00:00.000Z")
    _emit(mock, "c_c", -1)  # January only: no February checkpoint
    mock.clock_set(T0)
    _emit(mock, "c_b", -2)
    _emit(mock, "c_a", -3)
    _emit(mock, "c_a", -4)
    mock.settings(processingDelaySeconds=5, verifyDelaySeconds=10)
    _emit(mock, "c_e", -9)  # recorded in the window but not VERIFIED yet

    response = mock.call("POST", f"{B}/checkpoint", json={"period": "2026-02"})
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert (data["count"], data["createdCount"]) == (3, 3)
    assert data["scope"]["mode"] == "period" and data["scope"]["period"] == "2026-02"
    by_customer = {c["customerId"]: c for c in data["checkpoints"]}
    assert [c["customerId"] for c in data["checkpoints"]] == ["c_a", "c_b", "c_e"]
    assert all(c["idempotent"] is False for c in data["checkpoints"])
    assert (by_customer["c_a"]["treeSize"], by_customer["c_a"]["netChange"]) == (2, -7)
    assert (by_customer["c_b"]["treeSize"], by_customer["c_b"]["netChange"]) == (1, -2)
    empty = by_customer["c_e"]
    assert (empty["treeSize"], empty["itemsRoot"], empty["fromSequence"], empty["toSequence"], empty["netChange"]) == (
        0, EMPTY_ROOT, None, None, 0)

    repeat = mock.call("POST", f"{B}/checkpoint", json={"period": "2026-02"})
    assert repeat.status_code == 200, repeat.text
    repeat_data = repeat.json()["data"]
    assert (repeat_data["count"], repeat_data["createdCount"]) == (3, 0)
    assert [c["checkpointId"] for c in repeat_data["checkpoints"]] == [c["checkpointId"] for c in data["checkpoints"]]
    assert all(c["idempotent"] is True for c in repeat_data["checkpoints"])

    mock.clock_set("2026-02-10T00:00:10.000Z")  # c_e's delta is VERIFIED now
    third = mock.call("POST", f"{B}/checkpoint", json={"period": "2026-02"})
    assert third.status_code == 201
    third_data = third.json()["data"]
    assert (third_data["count"], third_data["createdCount"]) == (3, 1)
    assert [c["idempotent"] for c in third_data["checkpoints"]] == [True, True, False]
    new_e = third_data["checkpoints"][2]
    assert new_e["supersedes"] == empty["checkpointId"] and new_e["previousProofRoot"] == empty["proofRoot"]
    assert (new_e["treeSize"], new_e["netChange"]) == (1, -9)
    assert mock.ok("GET", "/_mock/workspace")["counts"]["checkpoints"] == 4
    # a month nobody had deltas in creates nothing: 200
    nothing = mock.call("POST", f"{B}/checkpoint", json={"period": "2025-12"})
    assert nothing.status_code == 200
    assert {k: nothing.json()["data"][k] for k in ("checkpoints", "count", "createdCount")} == {
        "checkpoints": [], "count": 0, "createdCount": 0}


def test_selected_mode_covers_only_the_listed_fingerprints(mock):
    mock.freeze(T0)
    d1, d2, d3 = (_emit(mock, "c1", amount) for amount in (-1, -2, -4))
    mock.clock_set("2026-02-10T00:00:01.000Z")
    body = {"customerId": "c1", "period": "2026-02", "mode": "selected", "fingerprints": [d3["fingerprint"], d1["fingerprint"]]}
    selected = mock.ok("POST", f"{B}/checkpoint", 201, json=body)
    assert selected["selectionMode"] == "selected"
    assert (selected["treeSize"], selected["fromSequence"], selected["toSequence"], selected["netChange"]) == (2, 1, 3, -5)
    assert selected["itemsRoot"] == _items_root([d1["fingerprint"], d3["fingerprint"]])
    again = mock.ok("POST", f"{B}/checkpoint", 200, json=body)
    assert again["checkpointId"] == selected["checkpointId"] and again["idempotent"] is True

    # selection is part of the scope identity: the "all" checkpoint is a different one
    everything = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "c1", "period": "2026-02"})
    assert everything["selectionMode"] == "all" and everything["treeSize"] == 3 and everything["supersedes"] is None
    assert everything["previousProofRoot"] == selected["proofRoot"]
    assert mock.ok("GET", f"{B}/invoice-proof/c1", params={"period": "2026-02"})["checkpointId"] == everything["checkpointId"]

    # the selected checkpoint's receipt has a gap in its sequences and still verifies offline
    doc = mock.call("GET", f"/api/v1/receipt/{selected['checkpointId']}")
    assert doc.status_code == 200
    data = doc.json()["data"]
    assert [(d["sequence"], d["leafIndex"]) for d in data["deltas"]] == [(1, 0), (3, 1)]
    report = verify_receipt(doc.text)
    assert report.ok, report.messages
    assert d2["fingerprint"] not in data["verification"]["itemHashes"]


def test_empty_window_checkpoint(mock):
    mock.freeze(T0)
    feb = _emit(mock, "c1", -3)
    chk = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "c1", "period": "2026-01"})
    assert (chk["treeSize"], chk["deltaCount"], chk["itemsRoot"]) == (0, 0, EMPTY_ROOT)
    assert (chk["fromSequence"], chk["toSequence"], chk["netChange"], chk["endingBalance"]) == (None, None, 0, 0)
    assert (chk["period"], chk["startDate"], chk["endDate"]) == ("2026-01", "2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z")
    proof = mock.ok("GET", f"{B}/invoice-proof/c1", params={"period": "2026-01"})
    assert proof["checkpointId"] == chk["checkpointId"]
    assert (proof["deltas"], proof["finalBalance"], proof["deltaCount"], proof["windowSummaries"]) == ([], 0, 0, [])
    assert proof["verification"]["checkpoint"]["netChange"] == "0"
    assert "fromSequence" not in proof["verification"]["checkpoint"]
    assert verify_receipt(proof).ok
    # an empty checkpoint's position is the last sequence recorded before its window end: 0 here
    since = mock.ok("GET", f"{B}/derive/c1", params={"startingCheckpoint": chk["proofRoot"]})
    assert since["scope"]["afterSequence"] == 0
    assert (since["deltasCount"], since["computedBalance"]) == (1, -3)
    assert since["deltas"][0]["recordId"] == feb["recordId"]


def test_period_and_current_month_are_one_scope_custom_is_another(mock):
    mock.freeze(T0)
    _emit(mock, "c1", -7)
    by_period = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "c1", "period": "2026-02"})
    by_preset = mock.ok("POST", f"{B}/checkpoint", 200, json={"customerId": "c1", "timePreset": "current_month"})
    defaulted = mock.ok("POST", f"{B}/checkpoint", 200, json={"customerId": "c1"})
    assert by_preset["checkpointId"] == defaulted["checkpointId"] == by_period["checkpointId"]
    assert by_preset["idempotent"] is True and by_preset["period"] == "2026-02"
    custom = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "c1", "startDate": "2026-02-01",
                                                           "endDate": "2026-03-01"})
    assert custom["checkpointId"] != by_period["checkpointId"]
    assert (custom["period"], custom["startDate"], custom["endDate"]) == (None, "2026-02-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z")
    assert custom["scope"]["mode"] == "custom" and custom["supersedes"] is None
    assert custom["previousProofRoot"] == by_period["proofRoot"]
    assert custom["proofRoot"] != by_period["proofRoot"] and custom["itemsRoot"] == by_period["itemsRoot"]
    # the same custom window (timePreset=custom spelled out) is the custom checkpoint again
    spelled = mock.ok("POST", f"{B}/checkpoint", 200, json={"customerId": "c1", "timePreset": "custom",
                                                            "startDate": "2026-02-01T00:00:00Z", "endDate": "2026-03-01"})
    assert spelled["checkpointId"] == custom["checkpointId"]
    # receipts pick the checkpoint of their own scope
    assert mock.ok("GET", f"{B}/invoice-proof/c1", params={"timePreset": "current_month"})["checkpointId"] == by_period["checkpointId"]
    custom_receipt = mock.ok("GET", f"{B}/invoice-proof/c1", params={"startDate": "2026-02-01", "endDate": "2026-03-01"})
    assert custom_receipt["checkpointId"] == custom["checkpointId"] and custom_receipt["period"] is None
    assert "period" not in custom_receipt["verification"]["checkpoint"]
    assert mock.ok("GET", "/_mock/workspace")["counts"]["checkpoints"] == 2


def test_derive_in_checkpoint_mode(mock):
    mock.freeze(T0)
    _emit(mock, "c1", -10)
    _emit(mock, "c1", -20)
    chk = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "c1", "period": "2026-02"})
    assert chk["toSequence"] == 2
    mock.clock_set("2026-02-11T00:00:00.000Z")
    _emit(mock, "c1", 5)
    batch = mock.ok("POST", f"{B}/delta/batch", 201, json={"deltas": [
        {"customerId": "c1", "delta": -7, "reason": "usage"},
        {"customerId": "c2", "delta": -1, "reason": "usage"},
        {"customerId": "c1", "delta": -8, "reason": "usage"},
    ]})
    last = _emit(mock, "c1", -1)
    mock.clock_set("2026-02-11T00:00:01.000Z")

    from_root = mock.ok("GET", f"{B}/derive/c1", params={"startingCheckpoint": chk["proofRoot"], "startingBalance": "-30"})
    assert [d["sequence"] for d in from_root["deltas"]] == [3, 4, 5, 6]
    assert (from_root["computedBalance"], from_root["startingBalance"], from_root["netChange"]) == (-41, -30, -11)
    assert (from_root["deltasCount"], from_root["deltaCount"]) == (4, 4)
    assert from_root["scope"] == {"mode": "checkpoint", "period": None, "startDate": None, "endDate": None,
                                  "startingCheckpoint": chk["proofRoot"], "startingCheckpointType": "proofRoot",
                                  "afterSequence": 2, "defaulted": False}
    assert from_root["latestRecordId"] == last["recordId"]

    from_batch = mock.ok("GET", f"{B}/derive/c1", params={"startingCheckpoint": batch["receiptId"]})
    assert from_batch["scope"]["afterSequence"] == 5
    assert [d["sequence"] for d in from_batch["deltas"]] == [6] and from_batch["computedBalance"] == -1
    # hashes are matched case-insensitively and reported lower-cased
    upper = "0x" + batch["receiptId"][2:].upper()
    assert mock.ok("GET", f"{B}/derive/c1", params={"startingCheckpoint": upper})["scope"]["startingCheckpoint"] == batch["receiptId"]
    # the other customer of the batch resumes after its own item
    other = mock.ok("GET", f"{B}/derive/c2", params={"startingCheckpoint": batch["receiptId"]})
    assert (other["scope"]["afterSequence"], other["deltasCount"], other["computedBalance"]) == (1, 0, 0)
    # a record id and the legacy type names
    seq4 = batch["results"][0]["recordId"]
    by_record = mock.ok("GET", f"{B}/derive/c1", params={"startingCheckpoint": seq4, "startingCheckpointType": "recordId"})
    assert [d["sequence"] for d in by_record["deltas"]] == [5, 6] and by_record["computedBalance"] == -9
    legacy = mock.ok("GET", f"{B}/derive/c1", params={"startingCheckpoint": chk["proofRoot"], "startingCheckpointType": "itemsRoot"})
    assert legacy["scope"]["startingCheckpointType"] == "proofRoot" and legacy["scope"]["afterSequence"] == 2
    anchor = mock.ok("GET", f"{B}/derive/c1", params={"startingCheckpoint": seq4, "startingCheckpointType": "anchorId"})
    assert anchor["scope"]["startingCheckpointType"] == "recordId" and anchor["scope"]["afterSequence"] == 4
    # the checkpoint's itemsRoot is not a position
    err = _error(mock.call("GET", f"{B}/derive/c1", params={"startingCheckpoint": chk["itemsRoot"]}), 400, "VALIDATION_ERROR")
    assert err["details"] == {"field": "startingCheckpoint", "reason": "unknown"}
    # breakdown in checkpoint mode spans the replayed deltas' buckets only
    monthly = mock.ok("GET", f"{B}/derive/c1", params={"startingCheckpoint": chk["proofRoot"], "granularity": "month",
                                                       "startingBalance": "-30"})
    assert [(b["bucket"], b["netChange"], b["deltaCount"], b["endingBalance"]) for b in monthly["breakdown"]] == [
        ("2026-02", -11, 4, -41)]


# --- breakdown ---------------------------------------------------------------------------------------------

BREAKDOWN_EMITS = [("2026-02-02T10:00:00.000Z", -10), ("2026-02-04T12:00:00.000Z", -5),
                   ("2026-02-10T08:00:00.000Z", 3), ("2026-02-27T23:00:00.000Z", -1)]


@pytest.fixture
def february(mock):
    mock.freeze(BREAKDOWN_EMITS[0][0])
    for at, amount in BREAKDOWN_EMITS:
        mock.clock_set(at)
        _emit(mock, "c1", amount)
    mock.clock_set("2026-03-02T00:00:00.000Z")
    return mock


def _ts(day: date) -> str:
    return f"{day.isoformat()}T00:00:00.000Z"


def test_breakdown_by_day(february):
    data = february.ok("GET", f"{B}/derive/c1", params={"period": "2026-02", "granularity": "day", "startingBalance": "100"})
    assert data["computedBalance"] == 87
    by_day = {at[:10]: amount for at, amount in BREAKDOWN_EMITS}
    expected, running = [], Decimal(100)
    for i in range(28):
        day = date(2026, 2, 1) + timedelta(days=i)
        net = by_day.get(day.isoformat(), 0)
        running += net
        expected.append({"bucket": day.isoformat(), "startDate": _ts(day), "endDate": _ts(day + timedelta(days=1)),
                         "netChange": net, "deltaCount": 1 if net else 0, "endingBalance": running})
    assert data["breakdown"] == expected
    assert list(data["breakdown"][0]) == ["bucket", "startDate", "endDate", "netChange", "deltaCount", "endingBalance"]
    assert february.ok("GET", f"{B}/derive/c1", params={"period": "2026-02"})["breakdown"] is None


def test_breakdown_by_iso_week(february):
    data = february.ok("GET", f"{B}/derive/c1", params={"period": "2026-02", "granularity": "week", "startingBalance": "100"})
    rows = [(b["bucket"], b["netChange"], b["deltaCount"], b["endingBalance"]) for b in data["breakdown"]]
    assert rows == [("2026-W05", 0, 0, 100), ("2026-W06", -15, 2, 85), ("2026-W07", 3, 1, 88),
                    ("2026-W08", 0, 0, 88), ("2026-W09", -1, 1, 87)]
    w06 = data["breakdown"][1]
    assert (w06["startDate"], w06["endDate"]) == ("2026-02-02T00:00:00.000Z", "2026-02-09T00:00:00.000Z")
    # ISO week-year: 2026-01-01 is a Thursday, so it belongs to 2026-W01 together with 2025-12-29
    year_start = february.ok("GET", f"{B}/derive/c1", params={"startDate": "2025-12-29", "endDate": "2026-01-12",
                                                              "granularity": "week"})
    assert [b["bucket"] for b in year_start["breakdown"]] == ["2026-W01", "2026-W02"]


def test_breakdown_by_month(february):
    data = february.ok("GET", f"{B}/derive/c1", params={"period": "2026-02", "granularity": "month", "startingBalance": "100"})
    assert data["breakdown"] == [{"bucket": "2026-02", "startDate": "2026-02-01T00:00:00.000Z",
                                  "endDate": "2026-03-01T00:00:00.000Z", "netChange": -13, "deltaCount": 4,
                                  "endingBalance": 87}]
    wide = february.ok("GET", f"{B}/derive/c1", params={"startDate": "2026-01-01", "endDate": "2026-04-01",
                                                        "granularity": "month"})
    assert [(b["bucket"], b["netChange"], b["deltaCount"], b["endingBalance"]) for b in wide["breakdown"]] == [
        ("2026-01", 0, 0, 0), ("2026-02", -13, 4, -13), ("2026-03", 0, 0, -13)]
    assert wide["breakdown"][2]["endDate"] == "2026-04-01T00:00:00.000Z"


# --- month boundaries ------------------------------------------------------------------------------------

def test_month_end_and_current_month_follow_the_virtual_clock(mock):
    mock.freeze("2026-01-31T23:59:59.999Z")
    jan = _emit(mock, "c1", -1)
    assert (jan["period"], jan["recordedAt"]) == ("2026-01", "2026-01-31T23:59:59.999Z")
    assert mock.ok("GET", f"{B}/usage")["period"] == "2026-01"
    mock.clock_set("2026-02-01T00:00:00.000Z")
    feb = _emit(mock, "c1", -2)
    assert (feb["period"], feb["recordedAt"]) == ("2026-02", "2026-02-01T00:00:00.000Z")
    mock.clock_set("2026-02-01T00:00:00.001Z")

    assert mock.ok("GET", f"{B}/derive/c1", params={"period": "2026-01"})["computedBalance"] == -1
    assert mock.ok("GET", f"{B}/derive/c1", params={"period": "2026-02"})["computedBalance"] == -2
    current = mock.ok("GET", f"{B}/derive/c1", params={"timePreset": "current_month"})
    assert current["scope"] == {"mode": "current_month", "period": "2026-02", "startDate": "2026-02-01T00:00:00.000Z",
                                "endDate": "2026-03-01T00:00:00.000Z", "startingCheckpoint": None,
                                "startingCheckpointType": None, "afterSequence": None, "defaulted": False}
    assert current["computedBalance"] == -2
    defaulted = mock.ok("GET", f"{B}/derive/c1")
    assert defaulted["scope"]["defaulted"] is True and defaulted["scope"]["period"] == "2026-02"
    # windows are half-open
    edge = mock.ok("GET", f"{B}/derive/c1", params={"startDate": "2026-01-31T23:59:59.999Z",
                                                    "endDate": "2026-02-01T00:00:00.000Z"})
    assert (edge["deltasCount"], edge["computedBalance"]) == (1, -1)
    both = mock.ok("GET", f"{B}/derive/c1", params={"startDate": "2026-01-31T23:59:59.999Z",
                                                    "endDate": "2026-02-01T00:00:00.001Z"})
    assert (both["deltasCount"], both["computedBalance"]) == (2, -3)
    # numeric offsets are converted to UTC
    offset = mock.ok("GET", f"{B}/derive/c1", params={"startDate": "2026-02-01T01:00:00+01:00", "endDate": "2026-03-01"})
    assert offset["scope"]["startDate"] == "2026-02-01T00:00:00.000Z" and offset["computedBalance"] == -2
    # checkpoints of the two months
    jan_chk = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "c1", "period": "2026-01"})
    feb_chk = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "c1", "timePreset": "current_month"})
    assert (jan_chk["netChange"], jan_chk["period"]) == (-1, "2026-01")
    assert (feb_chk["netChange"], feb_chk["period"]) == (-2, "2026-02")

    mock.clock_set("2026-03-01T00:00:00.000Z")
    march = mock.ok("GET", f"{B}/derive/c1", params={"timePreset": "current_month"})
    assert (march["scope"]["period"], march["scope"]["startDate"], march["scope"]["endDate"]) == (
        "2026-03", "2026-03-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z")
    assert (march["deltasCount"], march["computedBalance"]) == (0, 0)
    usage = mock.ok("GET", f"{B}/usage")
    assert (usage["period"], usage["periodStart"], usage["consumedDeltas"]) == ("2026-03", "2026-03-01T00:00:00.000Z", 0)
    # the current month's checkpoint now is March's, empty, and distinct from February's
    mar_chk = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "c1", "timePreset": "current_month"})
    assert (mar_chk["period"], mar_chk["treeSize"]) == ("2026-03", 0)
    assert mar_chk["previousProofRoot"] == feb_chk["proofRoot"]


# --- exact amounts at the contract's widest (§1.7) --------------------------------------------------

def test_compare_and_derive_stay_exact_at_thirty_digits(mock):
    """Amounts may have 30 significant digits (§1.8) and sums are exact (§1.7): Python's default
    decimal context has 28, so a stray abs() or unary minus would round them."""
    import json

    mock.freeze(T0)
    mock.ok("POST", f"{B}/delta", 201, data='{"customerId":"wide","delta":-0.000000000000000001,"reason":"usage"}')
    mock.clock_set("2026-02-10T00:00:01.000Z")
    start = "999999999999999999999.999999999"
    derived = mock.call("GET", f"{B}/derive/wide", params={"startingBalance": start})
    assert json.loads(derived.text, parse_float=Decimal)["data"]["computedBalance"] == Decimal(
        "999999999999999999999.999999998999999999")
    reply = mock.call("POST", f"{B}/compare", data=(
        '{"customerId":"wide","startingBalance":' + start + ',"yourBalance":-' + start
        + ',"theirBalance":0.000000000000000001,"period":"2026-02"}'))
    assert reply.status_code == 201, reply.text
    data = json.loads(reply.text, parse_float=Decimal)["data"]
    neutral = Decimal("999999999999999999999.999999998999999999")
    assert data["neutralBalance"] == neutral
    assert data["yourDifference"] == Decimal("-1999999999999999999999.999999997999999999")
    assert data["theirDifference"] == Decimal("-999999999999999999999.999999998999999998")
    assert data["discrepancy"]["amount"] == Decimal("1999999999999999999999.999999997999999999")
    assert '"yourDifference":-1999999999999999999999.999999997999999999,' in reply.text


def test_failed_deltas_are_not_charged(mock):
    """§5.1, §5.12: consumedDeltas and the plan allotment count deltas that are not FAILED, so a
    delta that fails verification gives its unit of allotment back."""
    mock.freeze(T0)
    mock.settings(planAllotment=2, processingDelaySeconds=1, verifyDelaySeconds=2)
    mock.ok("POST", "/_mock/faults", 201, json={"match": {"route": "balance.emit"}, "times": 1,
                                                 "actions": [{"type": "fail_verification"}]})
    failing = _emit(mock, "c1", -1)
    _emit(mock, "c1", -2)
    usage = mock.ok("GET", f"{B}/usage")
    assert (usage["consumedDeltas"], usage["remaining"], usage["allowed"]) == (2, 0, False)  # both pending
    refused = mock.call("POST", f"{B}/delta", json={"customerId": "c1", "delta": -3, "reason": "usage"})
    assert _error(refused, 402, "INSUFFICIENT_CREDITS")
    mock.clock_set("2026-02-10T00:00:02.000Z")  # the first fails, the second verifies
    assert mock.ok("GET", f"{B}/delta/{failing['recordId']}")["status"] == "FAILED"
    usage = mock.ok("GET", f"{B}/usage")
    assert (usage["consumedDeltas"], usage["remaining"], usage["allowed"]) == (1, 1, True)
    assert _emit(mock, "c1", -3)["status"] == "QUEUED"  # the failed one's unit is available again
    assert mock.ok("GET", f"{B}/customers/c1")["totalDeltas"] == 3  # totals still count every delta (§3.4)


# --- comparing two checkpoints (§5.8) --------------------------------------------------------------

def _preimage(chk: dict, previous: str | None) -> dict:
    """C of proofs.md §3.4 rebuilt from a checkpoint reply (the oracle of _proof_root, as an object)."""
    c = {name: chk[name] for name in ("ledgerId", "chainId", "customerId", "startDate", "endDate", "treeSize",
                                      "itemsRoot")}
    c["netChange"] = str(chk["netChange"])
    if chk["period"] is not None:
        c["period"] = chk["period"]
    if chk["treeSize"]:
        c["fromSequence"], c["toSequence"] = chk["fromSequence"], chk["toSequence"]
    if previous is not None:
        c["previousProofRoot"] = previous
    return c


def test_compare_checkpoints_relations_summaries_and_consistency(mock):
    """§5.8 on one customer: three deltas on three days, checkpoints whose covered sets are equal,
    a prefix, a non-prefix subset, overlapping and disjoint; summaries, added/removed record ids,
    exact balanceDelta, and the consistency proof (proofs.md §4.4: PROOF(2, [f1, f2, f3]) is
    [H(00 ‖ f3)]) only for one series."""
    mock.freeze("2026-02-10T08:00:00.000Z")
    d1 = _emit(mock, "cmp", -10)
    mock.clock_set("2026-02-11T08:00:00.000Z")
    d2 = _emit(mock, "cmp", -5)
    chk_a = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "cmp", "period": "2026-02"})
    mock.clock_set("2026-02-12T08:00:00.000Z")
    d3 = _emit(mock, "cmp", 2.5)
    chk_b = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "cmp", "period": "2026-02"})
    only_d2 = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "cmp", "startDate": "2026-02-11",
                                                            "endDate": "2026-02-12"})
    d2_d3 = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "cmp", "startDate": "2026-02-11",
                                                          "endDate": "2026-02-13"})
    only_d3 = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "cmp", "startDate": "2026-02-12",
                                                            "endDate": "2026-02-13"})
    other_series = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "cmp", "startDate": "2026-02-10",
                                                                 "endDate": "2026-02-13"})
    assert [c["treeSize"] for c in (chk_a, chk_b, only_d2, d2_d3, only_d3, other_series)] == [2, 3, 1, 2, 1, 3]
    mock.clock_set("2026-02-12T09:00:00.000Z")
    listing = mock.ok("GET", f"{B}/checkpoints", params={"customerId": "cmp"})
    assert listing["pagination"] == {"limit": 20, "offset": 0, "total": 6, "hasMore": False}
    listed = {c["checkpointId"]: c for c in listing["checkpoints"]}

    def compare(a: dict, b: dict, by_root: bool = False) -> dict:
        refs = (a["proofRoot"], "0x" + b["proofRoot"][2:].upper()) if by_root else (a["checkpointId"], b["checkpointId"])
        return mock.ok("GET", f"{B}/checkpoints/compare", params={"customerId": "cmp", "from": refs[0], "to": refs[1]})

    def summary(chk: dict) -> dict:
        now = listed[chk["checkpointId"]]
        return {"checkpointId": chk["checkpointId"], "proofRoot": chk["proofRoot"], "itemsRoot": chk["itemsRoot"],
                "period": chk["period"], "startDate": chk["startDate"], "endDate": chk["endDate"],
                "treeSize": chk["treeSize"], "netChange": chk["netChange"], "fromSequence": chk["fromSequence"],
                "toSequence": chk["toSequence"], "status": now["status"], "createdAt": chk["createdAt"]}

    ids = [d1["recordId"], d2["recordId"], d3["recordId"]]
    extends = compare(chk_a, chk_b, by_root=True)  # a proofRoot in upper-case hex names the checkpoint too
    assert extends["customerId"] == "cmp"
    assert extends["from"] == summary(chk_a) and extends["to"] == summary(chk_b)
    assert extends["from"]["status"] == "VERIFIED" and extends["from"]["createdAt"] == "2026-02-11T08:00:00.000Z"
    assert (extends["relation"], extends["balanceDelta"], extends["deltaCountDelta"]) == ("extends", 2.5, 1)
    assert (extends["added"], extends["removed"], extends["addedCount"], extends["removedCount"]) == ([ids[2]], [], 1, 0)
    leaf3 = "0x" + _keccak(b"\x00" + bytes.fromhex(d3["fingerprint"][2:])).hex()
    assert extends["consistency"] == {
        "customerId": "cmp",
        "firstTreeSize": 2, "firstItemsRoot": chk_a["itemsRoot"],
        "secondTreeSize": 3, "secondItemsRoot": chk_b["itemsRoot"],
        "consistencyProof": [leaf3],
        "firstCheckpoint": _preimage(chk_a, None), "firstProofRoot": chk_a["proofRoot"],
        "secondCheckpoint": _preimage(chk_b, chk_a["proofRoot"]), "secondProofRoot": chk_b["proofRoot"],
    }
    assert _proof_root(chk_b, chk_a["proofRoot"]) == chk_b["proofRoot"]

    equal = compare(chk_b, chk_b)
    assert (equal["relation"], equal["balanceDelta"], equal["deltaCountDelta"]) == ("equal", 0, 0)
    assert (equal["added"], equal["removed"], equal["addedCount"], equal["removedCount"]) == ([], [], 0, 0)
    assert equal["consistency"]["consistencyProof"] == []
    assert (equal["consistency"]["firstTreeSize"], equal["consistency"]["secondTreeSize"]) == (3, 3)

    shrinks = compare(chk_b, chk_a)
    assert (shrinks["relation"], shrinks["balanceDelta"], shrinks["deltaCountDelta"]) == ("subset", -2.5, -1)
    assert (shrinks["added"], shrinks["removed"], shrinks["consistency"]) == ([], [ids[2]], None)
    grows = compare(only_d2, chk_b)  # {2} inside {1,2,3}, but not a prefix of it
    assert (grows["relation"], grows["added"], grows["removed"], grows["consistency"]) == ("superset", [ids[0], ids[2]], [], None)
    assert grows["balanceDelta"] == -7.5 and grows["addedCount"] == 2
    overlap = compare(chk_a, d2_d3)
    assert (overlap["relation"], overlap["added"], overlap["removed"], overlap["consistency"]) == ("overlap", [ids[2]], [ids[0]], None)
    assert (overlap["addedCount"], overlap["removedCount"], overlap["balanceDelta"]) == (1, 1, 12.5)
    disjoint = compare(only_d2, only_d3)
    assert (disjoint["relation"], disjoint["added"], disjoint["removed"]) == ("disjoint", [ids[2]], [ids[1]])
    # a prefix in another window (startDate 02-10, not 02-01) is no series: no consistency proof
    other = compare(chk_a, other_series)
    assert (other["relation"], other["consistency"]) == ("extends", None)

    # a one-leaf and an empty checkpoint of the same series (startDate 02-01): PROOF(1, …) = [H(00‖f2), H(00‖f3)]
    one = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "cmp", "startDate": "2026-02-01",
                                                        "endDate": "2026-02-11"})
    empty = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "cmp", "startDate": "2026-02-01",
                                                          "endDate": "2026-02-05"})
    assert (one["treeSize"], empty["treeSize"]) == (1, 0)
    leaf = ["0x" + _keccak(b"\x00" + bytes.fromhex(d["fingerprint"][2:])).hex() for d in (d1, d2, d3)]
    from_one = compare(one, chk_b)
    assert (from_one["relation"], from_one["consistency"]["consistencyProof"]) == ("extends", leaf[1:])
    from_empty = compare(empty, chk_b)
    assert from_empty["relation"] == "extends" and from_empty["added"] == ids
    assert {k: from_empty["consistency"][k] for k in ("firstTreeSize", "firstItemsRoot", "consistencyProof")} == {
        "firstTreeSize": 0, "firstItemsRoot": EMPTY_ROOT, "consistencyProof": []}
    for params in ({"from": chk_a["checkpointId"], "to": "chk_nope"}, {"from": "0x" + "0" * 64, "to": chk_a["checkpointId"]}):
        _error(mock.call("GET", f"{B}/checkpoints/compare", params={"customerId": "cmp", **params}), 404, "NOT_FOUND")


def test_derive_from_an_empty_checkpoint_and_from_an_unknown_record(mock):
    """§2.5: for a checkpoint covering nothing, the position is the customer's highest sequence
    recorded before min(window endDate, checkpoint createdAt); an unknown recordId is 400 unknown."""
    mock.freeze("2026-01-05T00:00:00.000Z")
    _emit(mock, "gap", -4)  # sequence 1, January
    mock.clock_set("2026-01-22T00:00:00.000Z")
    _emit(mock, "gap", -6)  # sequence 2, after the window below, before its commit
    mock.clock_set("2026-01-25T00:00:00.000Z")
    empty = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "gap", "startDate": "2026-01-10",
                                                          "endDate": "2026-01-20"})
    assert empty["treeSize"] == 0
    mock.clock_set("2026-02-09T00:00:00.000Z")
    _emit(mock, "gap", -1)  # sequence 3, before the window below
    mock.clock_set("2026-02-10T00:00:00.000Z")
    feb_empty = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "gap", "startDate": "2026-02-09T12:00:00Z",
                                                              "endDate": "2026-02-20"})
    assert feb_empty["treeSize"] == 0
    mock.clock_set("2026-02-12T00:00:00.000Z")
    _emit(mock, "gap", -2)  # sequence 4
    mock.clock_set("2026-02-12T00:00:01.000Z")

    # window end (01-20) before the commit (01-25): position 1, so sequences 2, 3, 4 replay
    derived = mock.ok("GET", f"{B}/derive/gap", params={"startingCheckpoint": empty["proofRoot"], "startingBalance": "-4"})
    assert derived["scope"]["afterSequence"] == 1 and derived["customerId"] == "gap"
    assert [d["sequence"] for d in derived["deltas"]] == [2, 3, 4] and derived["computedBalance"] == -13
    # commit (02-10) before the window end (02-20): position 3, so only sequence 4 replays
    derived = mock.ok("GET", f"{B}/derive/gap", params={"startingCheckpoint": feb_empty["proofRoot"]})
    assert derived["scope"]["afterSequence"] == 3
    assert [d["sequence"] for d in derived["deltas"]] == [4] and derived["computedBalance"] == -2

    err = _error(mock.call("GET", f"{B}/derive/gap", params={"startingCheckpoint": "rec_nope",
                                                             "startingCheckpointType": "recordId"}), 400, "VALIDATION_ERROR")
    assert err["details"] == {"field": "startingCheckpoint", "reason": "unknown"}


def test_customers_summary_counts_every_state(mock):
    """§5.15 with hand-counted values: customers (one created without deltas), the month's active
    customers and deltas, deltas by status (QUEUED and PROCESSING are pending), the all-time
    VERIFIED net balance (exact), the checkpoint count."""
    mock.freeze("2026-01-20T00:00:00.000Z")
    assert mock.ok("GET", f"{B}/customers/summary") == {
        "totalCustomers": 0, "activeCustomers": 0, "period": "2026-01", "deltasThisPeriod": 0, "totalDeltas": 0,
        "verifiedDeltas": 0, "pendingDeltas": 0, "failedDeltas": 0, "netBalance": 0, "checkpointCount": 0,
        "asOf": "2026-01-20T00:00:00.000Z"}
    _emit(mock, "old", -1.25)
    mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "old", "period": "2026-01"})
    mock.clock_set("2026-02-05T00:00:00.000Z")
    _emit(mock, "c1", -10)
    _emit(mock, "c2", 0.5)
    mock.ok("POST", "/dashboard/customers", 201, json={"customerId": "c3", "displayName": "C3"},
            headers={"Authorization": "Bearer t"})
    mock.ok("POST", "/_mock/faults", 201, json={"match": {"route": "balance.emit"}, "nth": [1],
                                               "actions": [{"type": "fail_verification", "message": "no"}]})
    _emit(mock, "c2", -3)
    mock.clock_set("2026-02-05T00:00:01.000Z")
    mock.settings(processingDelaySeconds=1, verifyDelaySeconds=2)
    _emit(mock, "c1", -7)
    mock.clock_set("2026-02-05T00:00:02.000Z")  # -7 is PROCESSING now
    _emit(mock, "c1", -8)  # QUEUED
    summary = mock.ok("GET", f"{B}/customers/summary")
    assert summary == {"totalCustomers": 4, "activeCustomers": 2, "period": "2026-02", "deltasThisPeriod": 5,
                       "totalDeltas": 6, "verifiedDeltas": 3, "pendingDeltas": 2, "failedDeltas": 1,
                       "netBalance": -10.75, "checkpointCount": 1, "asOf": "2026-02-05T00:00:02.000Z"}


def test_first_divergence_sums_each_utc_day(mock):
    """§5.5 firstDivergence: the neutral per-day net change is the exact sum of that UTC day's
    counted deltas; the earliest differing day is reported, with both sides' claims."""
    mock.freeze("2026-02-03T01:00:00.000Z")
    _emit(mock, "div", -1.5)
    mock.clock_set("2026-02-03T23:00:00.000Z")
    _emit(mock, "div", -2.25)  # same UTC day: the day's net is -3.75
    mock.clock_set("2026-02-04T00:30:00.000Z")
    _emit(mock, "div", -4)
    mock.clock_set("2026-02-04T00:30:01.000Z")
    reply = mock.ok("POST", f"{B}/compare", 201, json={
        "customerId": "div", "period": "2026-02", "yourBalance": -7.75, "theirBalance": -8,
        "yourBreakdown": {"2026-02-01": 0, "2026-02-03": -3.75, "2026-02-04": -4},  # a 0 claim on a day without deltas agrees
        "theirBreakdown": {"2026-02-03": -3.75, "2026-02-04": -4.25}})
    assert reply["neutralBalance"] == -7.75 and reply["matchesYours"] is True
    assert reply["discrepancy"]["firstDivergence"] == {"bucket": "2026-02-04", "side": "theirs", "neutralNetChange": -4,
                                                       "yourNetChange": -4, "theirNetChange": -4.25}
    reply = mock.ok("POST", f"{B}/compare", 201, json={
        "customerId": "div", "period": "2026-02", "yourBalance": -7, "theirBalance": -7.75,
        "yourBreakdown": {"2026-02-03": -3, "2026-02-04": -4}})
    assert reply["discrepancy"]["firstDivergence"] == {"bucket": "2026-02-03", "side": "yours", "neutralNetChange": -3.75,
                                                       "yourNetChange": -3, "theirNetChange": None}
    # only theirs, diverging on a day that exists in their claims alone
    reply = mock.ok("POST", f"{B}/compare", 201, json={
        "customerId": "div", "period": "2026-02", "yourBalance": -7.75, "theirBalance": -6.75,
        "theirBreakdown": {"2026-02-03": -3.75, "2026-02-04": -4, "2026-02-05": 1}})
    assert reply["discrepancy"]["firstDivergence"] == {"bucket": "2026-02-05", "side": "theirs", "neutralNetChange": 0,
                                                       "yourNetChange": None, "theirNetChange": 1}
    reply = mock.ok("POST", f"{B}/compare", 201, json={
        "customerId": "div", "period": "2026-02", "yourBalance": -7.75, "theirBalance": -5.75,
        "yourBreakdown": {"2026-02-03": -3.75, "2026-02-04": -4},
        "theirBreakdown": {"2026-02-03": -3.75, "2026-02-04": -4, "2026-02-06": 2}})
    assert reply["discrepancy"]["firstDivergence"] == {"bucket": "2026-02-06", "side": "theirs", "neutralNetChange": 0,
                                                       "yourNetChange": 0, "theirNetChange": 2}
    # a day missing from a breakdown counts as 0: -3.75 on 02-03 is not claimed
    reply = mock.ok("POST", f"{B}/compare", 201, json={
        "customerId": "div", "period": "2026-02", "yourBalance": -4, "theirBalance": -4,
        "yourBreakdown": {"2026-02-04": -4}, "theirBreakdown": {"2026-02-04": -4}})
    assert reply["discrepancy"]["firstDivergence"] == {"bucket": "2026-02-03", "side": "both", "neutralNetChange": -3.75,
                                                       "yourNetChange": 0, "theirNetChange": 0}
    # no breakdown supplied: no firstDivergence
    reply = mock.ok("POST", f"{B}/compare", 201, json={"customerId": "div", "period": "2026-02", "yourBalance": 0,
                                                       "theirBalance": 0})
    assert reply["discrepancy"]["firstDivergence"] is None


def test_customer_list_members_search_and_pages(mock):
    """§5.14: every member of a listed customer, with counts and the all-time VERIFIED balance
    computed by hand; search is a case-insensitive substring of customerId or displayName; pages
    are `limit` customers each, ordered by customerId."""
    mock.freeze("2026-02-01T10:00:00.000Z")
    created = mock.ok("POST", "/dashboard/customers", 201, json={"customerId": "b-dash", "displayName": "Acme Corp"},
                      headers={"Authorization": "Bearer t"})
    _emit(mock, "a-int", -2.5000000001)  # a tenth decimal: the sum needs all three stored parts
    mock.clock_set("2026-02-03T10:00:00.000Z")
    mock.settings(processingDelaySeconds=1, verifyDelaySeconds=2)
    _emit(mock, "a-int", -1)  # stays QUEUED: counted in totalDeltas, not in the balance
    _emit(mock, "c-int", 4)
    listed = mock.ok("GET", f"{B}/customers")
    assert [c["customerId"] for c in listed["customers"]] == ["a-int", "b-dash", "c-int"]
    assert listed["pagination"] == {"total": 3, "page": 1, "limit": 25, "totalPages": 1}
    a, b, _ = listed["customers"]
    detail = mock.ok("GET", f"{B}/customers/a-int")
    assert a == {"customerId": "a-int", "customerReference": detail["customerReference"],
                 "ledgerIdentifier": detail["customerReference"], "displayName": None, "totalDeltas": 2,
                 "verifiedDeltas": 1, "computedBalance": -2.5000000001, "firstDeltaAt": "2026-02-01T10:00:00.000Z",
                 "lastDeltaAt": "2026-02-03T10:00:00.000Z", "handle": detail["handle"], "source": "integration",
                 "createdAt": "2026-02-01T10:00:00.000Z"}
    assert b == {"customerId": "b-dash", "customerReference": created["customerReference"],
                 "ledgerIdentifier": created["customerReference"], "displayName": "Acme Corp", "totalDeltas": 0,
                 "verifiedDeltas": 0, "computedBalance": 0, "firstDeltaAt": None, "lastDeltaAt": None,
                 "handle": created["handle"], "source": created["source"], "createdAt": "2026-02-01T10:00:00.000Z"}
    assert [c["customerId"] for c in mock.ok("GET", f"{B}/customers", params={"search": "ACME"})["customers"]] == ["b-dash"]
    assert [c["customerId"] for c in mock.ok("GET", f"{B}/customers", params={"search": "-INT"})["customers"]] == [
        "a-int", "c-int"]
    assert mock.ok("GET", f"{B}/customers", params={"search": "zzz"}) == {
        "customers": [], "pagination": {"total": 0, "page": 1, "limit": 25, "totalPages": 0}}
    page2 = mock.ok("GET", f"{B}/customers", params={"limit": 2, "page": 2})
    assert [c["customerId"] for c in page2["customers"]] == ["c-int"]
    assert page2["pagination"] == {"total": 3, "page": 2, "limit": 2, "totalPages": 2}


def test_customer_receipts_list_members(mock):
    """§5.13 GET /customers/{id}/receipts: newest first, each with its links, counts and balance."""
    mock.freeze(T0)
    _emit(mock, "r1", -3)
    first = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "r1", "period": "2026-02"})
    _emit(mock, "r1", 1.5)
    second = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "r1", "period": "2026-02"})
    mock.clock_set("2026-02-10T00:00:01.000Z")
    reply = mock.ok("GET", f"{B}/customers/r1/receipts")
    origin = second["receiptUrl"].split("/receipt/")[0]

    def entry(chk: dict, superseded_by: str | None) -> dict:
        cid, root = chk["checkpointId"], chk["proofRoot"]
        return {"receiptId": cid, "checkpointId": cid, "customerId": "r1", "period": "2026-02",
                "startDate": "2026-02-01T00:00:00.000Z", "endDate": "2026-03-01T00:00:00.000Z", "proofRoot": root,
                "status": "VERIFIED", "deltaCount": chk["treeSize"], "finalBalance": chk["netChange"],
                "createdAt": T0, "supersededBy": superseded_by,
                "links": {"permalink": f"{origin}/receipt/{cid}", "json": f"{origin}/api/v1/receipt/{cid}",
                          "pdf": f"{origin}/api/v1/receipt/{cid}.pdf", "verify": f"{origin}/verify/{root}"}}

    assert reply["receipts"] == [entry(second, None), entry(first, second["checkpointId"])]
    assert (second["netChange"], first["netChange"]) == (-1.5, -3)
    assert reply["pagination"]["total"] == 2 and reply["pagination"]["hasMore"] is False
    page = mock.ok("GET", f"{B}/customers/r1/receipts", params={"limit": 1, "offset": 1})
    assert [r["receiptId"] for r in page["receipts"]] == [first["checkpointId"]]
    assert page["pagination"] == {"limit": 1, "offset": 1, "total": 2, "hasMore": False}


def test_the_all_time_receipt_window(mock):
    """proofs.md §3.4: the unscoped receipt's C runs from 1970-01-01T00:00:00.000Z to the commit
    instant plus one millisecond, without a period."""
    mock.freeze(T0)
    _emit(mock, "at", -9, metadata={"plan": "growth"})
    mock.clock_set("2026-02-10T00:00:05.000Z")
    receipt = mock.ok("GET", f"{B}/receipt/at")
    assert receipt["deltas"][0]["metadata"] == {"plan": "growth"}  # the key's own receipt keeps metadata (§5.20 hides it)
    c = receipt["verification"]["checkpoint"]
    assert (c["startDate"], c["endDate"], "period" in c) == ("1970-01-01T00:00:00.000Z", "2026-02-10T00:00:05.001Z", False)
    assert verify_receipt(receipt).ok


def test_sequence_gaps_runs_by_state_and_range(mock):
    """§5.11 with a hand-built history: 1 VERIFIED, 2-3 FAILED, 4 VERIFIED, 5 FAILED, 6 PROCESSING,
    7 QUEUED. Runs are maximal and of one state (5 failed and 6 pending are two runs)."""
    mock.freeze(T0)
    mock.ok("POST", "/_mock/faults", 201, json={"match": {"route": "balance.emit"}, "nth": [2, 3, 5],
                                               "actions": [{"type": "fail_verification", "message": "no"}]})
    for amount in (-1, -2, -3, -4, -5):
        _emit(mock, "g", amount)
    mock.clock_set("2026-02-10T00:00:01.000Z")
    mock.settings(processingDelaySeconds=1, verifyDelaySeconds=2)
    _emit(mock, "g", -6)
    mock.clock_set("2026-02-10T00:00:02.000Z")
    _emit(mock, "g", -7)
    assert [mock.ok("GET", f"{B}/customers/g")["recentActivity"]["items"][i]["status"] for i in range(7)] == [
        "QUEUED", "PROCESSING", "FAILED", "VERIFIED", "FAILED", "FAILED", "VERIFIED"]

    gaps = mock.ok("GET", f"{B}/gaps/g")
    runs = [{"fromSequence": 2, "toSequence": 3, "count": 2, "state": "failed"},
            {"fromSequence": 5, "toSequence": 5, "count": 1, "state": "failed"},
            {"fromSequence": 6, "toSequence": 7, "count": 2, "state": "pending"}]
    assert gaps == {"customerId": "g", "fromSequence": 1, "toSequence": 7, "highestSequence": 7, "verifiedThrough": 1,
                    "gaps": runs, "gapCount": 3, "hasGaps": True, "truncated": False}
    limited = mock.ok("GET", f"{B}/gaps/g", params={"limit": 2})
    assert (limited["gaps"], limited["gapCount"], limited["truncated"]) == (runs[:2], 3, True)
    exact = mock.ok("GET", f"{B}/gaps/g", params={"limit": 3})
    assert (exact["gaps"], exact["truncated"]) == (runs, False)
    clipped = mock.ok("GET", f"{B}/gaps/g", params={"fromSequence": 3, "toSequence": 6})
    assert clipped["gaps"] == [{"fromSequence": 3, "toSequence": 3, "count": 1, "state": "failed"},
                               {"fromSequence": 5, "toSequence": 5, "count": 1, "state": "failed"},
                               {"fromSequence": 6, "toSequence": 6, "count": 1, "state": "pending"}]
    assert (clipped["fromSequence"], clipped["toSequence"], clipped["highestSequence"], clipped["verifiedThrough"]) == (
        3, 6, 7, 1)
    one = mock.ok("GET", f"{B}/gaps/g", params={"fromSequence": 4, "toSequence": 4})
    assert (one["gaps"], one["hasGaps"], one["gapCount"]) == ([], False, 0)
    derived = mock.ok("GET", f"{B}/derive/g", params={"period": "2026-02"})
    assert (derived["deltasCount"], derived["pendingCount"], derived["failedCount"], derived["computedBalance"]) == (
        2, 2, 3, -5)
    beyond = mock.ok("GET", f"{B}/gaps/g", params={"fromSequence": 7, "toSequence": 10})
    assert (beyond["toSequence"], beyond["gaps"]) == (10, [{"fromSequence": 7, "toSequence": 7, "count": 1,
                                                            "state": "pending"}])
    mock.ok("POST", "/dashboard/customers", 201, json={"customerId": "nobody-yet", "displayName": "N"},
            headers={"Authorization": "Bearer t"})
    assert mock.ok("GET", f"{B}/gaps/nobody-yet") == {
        "customerId": "nobody-yet", "fromSequence": 1, "toSequence": 0, "highestSequence": 0, "verifiedThrough": 0,
        "gaps": [], "gapCount": 0, "hasGaps": False, "truncated": False}


def test_dashboard_customer_defaults_generated_id_and_conflicts(mock, api_key):
    """§5.23: defaults, a generated id (§9 derivation: cust_ + b32 of the counted SHA-256), and 409
    CUSTOMER_ALREADY_EXISTS naming where the existing customer came from."""
    from conftest import counted_id

    bearer = {"Authorization": "Bearer t"}
    mock.freeze(T0)
    made = mock.ok("POST", "/dashboard/customers", 201, json={"displayName": "Gen"}, headers=bearer)
    assert made["customerId"] == counted_id("cust", api_key, 1)
    assert (made["displayName"], made["sharingStateHint"], made["eventCadence"], made["unitLabel"], made["source"]) == (
        "Gen", "INHERIT", "PER_EVENT", "units", "manual")
    second = mock.ok("POST", "/dashboard/customers", 201, json={"displayName": "Gen 2", "sharingStateHint": "DISABLED",
                                                                "eventCadence": "DAILY", "unitLabel": "API calls"},
                     headers=bearer)
    assert second["customerId"] == counted_id("cust", api_key, 2)
    assert (second["sharingStateHint"], second["eventCadence"], second["unitLabel"]) == ("DISABLED", "DAILY", "API calls")

    again = _error(mock.call("POST", "/dashboard/customers", json={"displayName": "x", "customerId": made["customerId"]},
                             headers=bearer), 409, "CUSTOMER_ALREADY_EXISTS")
    assert again["details"] == {"customerId": made["customerId"], "source": "manual"}
    assert again["message"] == f"Customer {made['customerId']!r} already exists"
    _emit(mock, "from-deltas", -1)
    again = _error(mock.call("POST", "/dashboard/customers", json={"displayName": "x", "customerId": "from-deltas"},
                             headers=bearer), 409, "CUSTOMER_ALREADY_EXISTS")
    assert again["details"] == {"customerId": "from-deltas", "source": "integration"}
    assert "already exists from integration records; nothing was created" in again["message"]


def test_breakdown_buckets_at_the_edges(mock):
    """§5.0.4: one bucket per unit overlapping the window (a window ending 1 ms into a day overlaps
    that day), ISO weeks across a year end (named after the ISO year, oracle: datetime.isocalendar),
    and in checkpoint mode the buckets of the first to the last replayed delta."""
    mock.freeze("2026-12-29T12:00:00.000Z")
    _emit(mock, "edge", -1)  # sequence 1, 2026-12-29
    chk = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "edge", "startDate": "2026-12-29",
                                                        "endDate": "2026-12-30"})
    days = mock.ok("GET", f"{B}/derive/edge", params={"startDate": "2026-12-26", "endDate": "2026-12-28T00:00:00.001Z",
                                                       "granularity": "day"})["breakdown"]
    assert [(b["bucket"], b["startDate"], b["endDate"]) for b in days] == [
        ("2026-12-26", "2026-12-26T00:00:00.000Z", "2026-12-27T00:00:00.000Z"),
        ("2026-12-27", "2026-12-27T00:00:00.000Z", "2026-12-28T00:00:00.000Z"),
        ("2026-12-28", "2026-12-28T00:00:00.000Z", "2026-12-29T00:00:00.000Z")]

    mock.clock_set("2027-01-02T12:00:00.000Z")
    _emit(mock, "edge", -2)  # sequence 2, 2027-01-02
    mock.clock_set("2027-01-03T12:00:00.000Z")
    _emit(mock, "edge", -8)  # sequence 3, 2027-01-03
    mock.clock_set("2027-01-05T12:00:00.000Z")
    _emit(mock, "edge", -4)  # sequence 4, 2027-01-05
    mock.clock_set("2027-01-05T12:00:01.000Z")
    weeks = mock.ok("GET", f"{B}/derive/edge", params={"startDate": "2026-12-20", "endDate": "2027-01-10",
                                                        "granularity": "week"})["breakdown"]

    def iso(d: date) -> str:
        year, week, _ = d.isocalendar()
        return f"{year:04d}-W{week:02d}"

    mondays = [date(2026, 12, 14) + timedelta(weeks=i) for i in range(4)]
    assert [b["bucket"] for b in weeks] == [iso(m) for m in mondays] == ["2026-W51", "2026-W52", "2026-W53", "2027-W01"]
    assert [b["startDate"][:10] for b in weeks] == [m.isoformat() for m in mondays]
    assert [(b["netChange"], b["deltaCount"], b["endingBalance"]) for b in weeks] == [
        (0, 0, 0), (0, 0, 0), (-11, 3, -11), (-4, 1, -15)]

    replayed = mock.ok("GET", f"{B}/derive/edge", params={"startingCheckpoint": chk["proofRoot"], "granularity": "day",
                                                           "startingBalance": "-1"})
    assert replayed["scope"]["afterSequence"] == 1
    assert [(b["bucket"], b["netChange"], b["deltaCount"], b["endingBalance"]) for b in replayed["breakdown"]] == [
        ("2027-01-02", -2, 1, -3), ("2027-01-03", -8, 1, -11), ("2027-01-04", 0, 0, -11), ("2027-01-05", -4, 1, -15)]


def test_compare_balances_sides_amounts_and_texts(mock):
    """§5.5 with hand-computed differences (claimed − neutral) and the resolution texts of the
    contract's table; for `both` the amount is the larger absolute difference."""
    mock.freeze("2026-02-10T00:00:00.000Z")
    _emit(mock, "cb", -10)
    _emit(mock, "cb", 2.5)
    mock.clock_set("2026-02-10T00:00:01.000Z")
    mock.settings(processingDelaySeconds=1, verifyDelaySeconds=2)
    _emit(mock, "cb", -99)  # pending: not in the neutral balance, counted in pendingCount

    def compare(yours, theirs, **extra) -> dict:
        return mock.ok("POST", f"{B}/compare", 201, json={"customerId": "cb", "period": "2026-02",
                                                          "startingBalance": 100, "yourBalance": yours,
                                                          "theirBalance": theirs, **extra})

    reply = compare(90, 92.5, granularity="month")
    assert reply == {
        "customerId": "cb", "computedBalance": 92.5, "neutralBalance": 92.5, "yourBalance": 90, "theirBalance": 92.5,
        "matchesYours": False, "matchesTheirs": True, "yourDifference": -2.5, "theirDifference": 0,
        "startingBalance": 100, "deltasCount": 2, "deltaCount": 2, "pendingCount": 1,
        "scope": {"mode": "period", "period": "2026-02", "startDate": "2026-02-01T00:00:00.000Z",
                  "endDate": "2026-03-01T00:00:00.000Z", "startingCheckpoint": None, "startingCheckpointType": None,
                  "afterSequence": None, "defaulted": False},
        "discrepancy": {"side": "yours", "amount": 2.5, "yourDifference": -2.5, "theirDifference": 0,
                        "resolution": {"code": "YOURS_DIFFERS_USE_NEUTRAL",
                                       "text": "Your balance differs from the neutral balance 92.5 by -2.5; their "
                                               "balance matches. Correct your records to the verified deltas."},
                        "firstDivergence": None},
        "breakdown": [{"bucket": "2026-02", "startDate": "2026-02-01T00:00:00.000Z",
                       "endDate": "2026-03-01T00:00:00.000Z", "netChange": -7.5, "deltaCount": 2,
                       "endingBalance": 92.5}],
        "comparedAt": "2026-02-10T00:00:01.000Z"}
    theirs = compare(92.5, 92)["discrepancy"]
    assert (theirs["side"], theirs["amount"], theirs["resolution"]) == ("theirs", 0.5, {
        "code": "THEIRS_DIFFERS_USE_NEUTRAL",
        "text": "Their balance differs from the neutral balance 92.5 by -0.5; your balance matches. Share the "
                "receipt so they can reconcile."})
    both = compare(90, 100)["discrepancy"]
    assert (both["side"], both["amount"], both["yourDifference"], both["theirDifference"]) == ("both", 7.5, -2.5, 7.5)
    assert both["resolution"] == {"code": "BOTH_DIFFER_USE_NEUTRAL",
                                  "text": "Both balances differ from the neutral balance 92.5 (yours by -2.5, theirs "
                                          "by 7.5). Reconcile both to the verified deltas."}
    both = compare(80, 95)["discrepancy"]  # the larger is yours this time
    assert (both["side"], both["amount"]) == ("both", 12.5)
    agree = compare(92.5, 92.5)
    assert (agree["matchesYours"], agree["matchesTheirs"], agree["discrepancy"], agree["breakdown"]) == (
        True, True, None, None)


def test_invoice_proof_replaces_a_failed_checkpoint(mock):
    """§5.0.3 / §5.10: the scoped receipt uses the latest non-FAILED checkpoint of the scope; if the
    latest one FAILED, a new one is committed."""
    mock.freeze(T0)
    _emit(mock, "fx", -3)
    mock.ok("POST", "/_mock/faults", 201, json={"match": {"route": "balance.checkpoint"}, "nth": [1],
                                               "actions": [{"type": "fail_verification", "message": "no"}]})
    failed = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "fx", "period": "2026-02"})
    mock.clock_set("2026-02-10T00:00:01.000Z")
    assert mock.ok("GET", f"{B}/checkpoints", params={"customerId": "fx"})["checkpoints"][0]["status"] == "FAILED"
    proof = mock.ok("GET", f"{B}/invoice-proof/fx", params={"period": "2026-02"})
    assert proof["checkpointId"] != failed["checkpointId"] and proof["proofRoot"] != failed["proofRoot"]
    assert proof["finalBalance"] == -3 and verify_receipt(proof).ok


def test_shared_record_follows_the_customer_hint_then_the_workspace(mock):
    """§5.14 sharedRecord: ENABLED / DISABLED decide; INHERIT (and integration customers) follow the
    workspace setting `sharedRecord`."""
    bearer = {"Authorization": "Bearer t"}
    mock.freeze(T0)
    for cid, hint in (("s-on", "ENABLED"), ("s-off", "DISABLED"), ("s-inh", "INHERIT")):
        mock.ok("POST", "/dashboard/customers", 201, json={"customerId": cid, "displayName": cid,
                                                           "sharingStateHint": hint}, headers=bearer)
    _emit(mock, "s-int", -1)

    def enabled() -> dict:
        out = {}
        for cid in ("s-on", "s-off", "s-inh", "s-int"):
            shared = mock.ok("GET", f"{B}/customers/{cid}")["sharedRecord"]
            assert (shared["url"] is None) == (not shared["enabled"]) and shared["policy"] == "TWO_TIER"
            out[cid] = shared["enabled"]
        return out

    assert enabled() == {"s-on": True, "s-off": False, "s-inh": True, "s-int": True}
    mock.settings(sharedRecord=False)
    assert enabled() == {"s-on": True, "s-off": False, "s-inh": False, "s-int": False}


def test_checkpoint_anchor_appears_once_verified(mock):
    """§5.0.2: verificationReference is null until the checkpoint is VERIFIED, then the anchor of
    its proofRoot (proofs.md §3.5, computed here)."""
    mock.freeze(T0)
    mock.settings(verifyDelaySeconds=2)
    _emit(mock, "an", -1)
    mock.clock_set("2026-02-10T00:00:02.000Z")
    chk = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "an", "period": "2026-02"})
    assert (chk["status"], chk["verificationReference"], chk["verifiedAt"]) == ("QUEUED", None, None)
    mock.clock_set("2026-02-10T00:00:04.000Z")
    now = mock.ok("GET", f"{B}/checkpoints", params={"customerId": "an"})["checkpoints"][0]
    anchor = "0x" + _keccak(b"pacspace-mock:anchor:v1\x00" + bytes.fromhex(chk["proofRoot"][2:])).hex()
    assert (now["status"], now["verificationReference"], now["verifiedAt"]) == (
        "VERIFIED", anchor, "2026-02-10T00:00:04.000Z")


def test_customer_detail_figures_and_activity(mock):
    """§5.16 with hand-computed figures: all-time VERIFIED balance (exact to the tenth decimal),
    the chosen month's accepted count, non-FAILED and VERIFIED sums, the latest checkpoint, and the
    recent activity newest first, paged, limited to the month when `period` is given."""
    mock.freeze("2025-12-20T10:00:00.000Z")
    d1 = _emit(mock, "cd", -1)
    dec = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "cd", "period": "2025-12"})
    mock.clock_set("2026-02-05T10:00:00.000Z")
    d2 = _emit(mock, "cd", -2.5)
    d3 = _emit(mock, "cd", -0.0000000003)
    mock.ok("POST", "/_mock/faults", 201, json={"match": {"route": "balance.emit"}, "nth": [1],
                                               "actions": [{"type": "fail_verification", "message": "no"}]})
    d4 = _emit(mock, "cd", -4)
    mock.clock_set("2026-02-05T10:00:01.000Z")
    mock.settings(processingDelaySeconds=1, verifyDelaySeconds=2)
    d5 = _emit(mock, "cd", -8)
    deltas = [d1, d2, d3, d4, d5]
    statuses = ["VERIFIED", "VERIFIED", "VERIFIED", "FAILED", "QUEUED"]
    anchor = [("0x" + _keccak(b"pacspace-mock:anchor:v1\x00" + bytes.fromhex(d["receiptId"][2:])).hex())
              if s == "VERIFIED" else None for d, s in zip(deltas, statuses)]

    def item(i: int) -> dict:
        d = deltas[i]
        return {"recordId": d["recordId"], "sequence": i + 1, "delta": d["delta"], "reason": "usage",
                "referenceId": None, "status": statuses[i], "time": d["recordedAt"], "verificationReference": anchor[i]}

    detail = mock.ok("GET", f"{B}/customers/cd")
    origin = dec["receiptUrl"].split("/receipt/")[0]
    figures = {k: detail[k] for k in ("customerId", "displayName", "source", "totalDeltas", "computedBalance",
                                      "latestCheckpoint", "period", "recordsThisPeriod", "recordedThisPeriod",
                                      "verifiedThisPeriod", "verifiedCountThisPeriod")}
    assert figures == {"customerId": "cd", "displayName": None, "source": "integration", "totalDeltas": 5,
                       "computedBalance": -3.5000000003, "latestCheckpoint": dec["checkpointId"], "period": "2026-02",
                       "recordsThisPeriod": 4, "recordedThisPeriod": -10.5000000003, "verifiedThisPeriod": -2.5000000003,
                       "verifiedCountThisPeriod": 2}
    assert detail["ledgerIdentifier"] == detail["customerReference"] and detail["customerPartition"].isdigit()
    assert detail["sharedRecord"] == {"enabled": True, "url": f"{origin}/c/{detail['handle']}",
                                      "accessHint": detail["sharedRecord"]["accessHint"], "policy": "TWO_TIER"}
    assert len(detail["sharedRecord"]["accessHint"]) == 6
    assert detail["recentActivity"] == {"items": [item(i) for i in (4, 3, 2, 1, 0)],
                                        "pagination": {"total": 5, "page": 1, "limit": 20, "totalPages": 1}}
    page = mock.ok("GET", f"{B}/customers/cd", params={"deltaLimit": 2, "deltaPage": 2})["recentActivity"]
    assert page == {"items": [item(2), item(1)], "pagination": {"total": 5, "page": 2, "limit": 2, "totalPages": 3}}
    december = mock.ok("GET", f"{B}/customers/cd", params={"period": "2025-12", "deltaLimit": 1})
    assert {k: december[k] for k in ("period", "recordsThisPeriod", "recordedThisPeriod", "verifiedThisPeriod",
                                     "verifiedCountThisPeriod")} == {
        "period": "2025-12", "recordsThisPeriod": 1, "recordedThisPeriod": -1, "verifiedThisPeriod": -1,
        "verifiedCountThisPeriod": 1}
    assert december["recentActivity"] == {"items": [item(0)],
                                          "pagination": {"total": 1, "page": 1, "limit": 1, "totalPages": 1}}
    mock.settings(sharedRecord=False)
    assert mock.ok("GET", f"{B}/customers/cd")["sharedRecord"] == {"enabled": False, "url": None, "accessHint": None,
                                                                   "policy": "TWO_TIER"}


@pytest.mark.parametrize("scope", ["", "?period=2026-02", "?timePreset=current_month"])
def test_derive_sums_verified_deltas_only_and_counts_the_others_apart(mock, scope):
    """§5.3: computedBalance is the net of VERIFIED deltas in the scope; pending (QUEUED or
    PROCESSING) and FAILED deltas are counted in pendingCount and failedCount, never summed."""
    mock.settings(processingDelaySeconds=1, verifyDelaySeconds=2)
    mock.freeze(T0)
    mock.ok("POST", f"{B}/delta", 201, json={"customerId": "c1", "delta": -100, "reason": "verified"})
    mock.ok("POST", "/_mock/faults", 201, json={"match": {"route": "balance.emit"},
                                                "actions": [{"type": "fail_verification"}], "times": 1})
    mock.ok("POST", f"{B}/delta", 201, json={"customerId": "c1", "delta": -7, "reason": "fails"})
    mock.ok("POST", "/_mock/clock/advance", json={"seconds": 3})
    mock.ok("POST", f"{B}/delta", 201, json={"customerId": "c1", "delta": -30, "reason": "queued"})
    mock.ok("POST", "/_mock/clock/advance", json={"seconds": 1.5})
    mock.ok("POST", f"{B}/delta", 201, json={"customerId": "c1", "delta": -4, "reason": "queued too"})
    data = mock.ok("GET", f"{B}/derive/c1{scope}")
    assert (data["computedBalance"], data["netChange"], data["deltasCount"]) == (-100, -100, 1)
    assert (data["pendingCount"], data["failedCount"]) == (2, 1)
    assert [d["status"] for d in data["deltas"]] == ["VERIFIED"]

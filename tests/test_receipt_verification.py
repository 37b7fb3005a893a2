"""Receipts verify offline (proofs.md §6.1, §6.2) from the exact reply text; tampered copies are
rejected (§6.5, T.12); paging keeps proofs consistent; the public receipt hides accessHint and
metadata and has a deterministic PDF (balance-api.md §5.20); public verify detects a row changed
in the database (§5.19)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest
import requests

from mockserver.proofs.merkle import verify_inclusion
from mockserver.proofs.primitives import from_hex
from mockserver.proofs.verifier import verify_inclusion_object, verify_receipt

B = "/api/v1/balance"
CUSTOMER = "cust_rv"
# (amount, extra fields) in emit order; the fifth adjusts the first
EMITS = [
    (-100, {"referenceId": "rv-1", "metadata": {"region": "eu", "n": 1}}),
    (12.5, {"referenceId": "rv-2"}),
    (Decimal("0.000001"), {}),
    (-42, {"referenceId": "rv-4", "metadata": {"tags": ["a", "b"], "nested": {"x": None, "y": True}}}),
    (7, {"referenceId": "rv-5", "adjusts": {"referenceId": "rv-1"}, "reason": "correction"}),
    (Decimal("-0.25"), {"metadata": {}}),
]
FINAL = Decimal("-122.749999")


def _loads(text: str):
    return json.loads(text, parse_float=Decimal)


def _emit_raw(mock, amount, extra: dict) -> dict:
    body = {"customerId": CUSTOMER, "delta": amount, "reason": extra.pop("reason", "usage"), **extra}
    # requests cannot serialize Decimal: write the amount literally
    text = json.dumps({**body, "delta": "__AMOUNT__"}).replace('"__AMOUNT__"', str(amount))
    return mock.ok("POST", f"{B}/delta", 201, data=text)


@pytest.fixture
def receipt(mock):
    """Six verified March deltas, an invoice-proof committed and then read VERIFIED: (mock, reply text)."""
    mock.freeze("2026-03-05T10:00:00.000Z")
    for i, (amount, extra) in enumerate(EMITS):
        mock.clock_set(f"2026-03-05T10:00:{i:02d}.000Z")
        _emit_raw(mock, amount, dict(extra))
    mock.clock_set("2026-03-06T00:00:00.000Z")
    committed = mock.ok("GET", f"{B}/invoice-proof/{CUSTOMER}", params={"period": "2026-03"})
    assert committed["status"] == "QUEUED"
    mock.clock_set("2026-03-06T00:00:01.000Z")
    response = mock.call("GET", f"{B}/invoice-proof/{CUSTOMER}", params={"period": "2026-03"})
    assert response.status_code == 200
    data = _loads(response.text)["data"]
    assert data["checkpointId"] == committed["checkpointId"] and data["status"] == "VERIFIED"
    return mock, response.text


def _data(text: str) -> dict:
    return _loads(text)["data"]


def test_receipt_verifies_offline_from_the_reply_text(receipt):
    mock, text = receipt
    report = verify_receipt(text)
    assert report.ok, report.messages
    assert report.failed == []
    assert all(report.checks[name] for name in ("proofRoot", "anchor", "deltas.fingerprints", "completeness",
                                                 "itemsRoot", "netChange", "balances"))
    # the data member alone verifies too
    assert verify_receipt(_data(text)).ok

    data = _data(text)
    assert (data["customerId"], data["period"], data["deltaCount"], data["deltasCount"]) == (CUSTOMER, "2026-03", 6, 6)
    assert data["finalBalance"] == data["netChange"] == FINAL
    assert data["startingBalance"] == 0
    assert data["totalCredits"] == Decimal("19.500001") and data["totalDebits"] == Decimal("-142.25")
    assert data["verification"]["checkpoint"]["netChange"] == "-122.749999"
    # amounts are canonical JSON numbers in the reply text
    assert '"delta":0.000001,' in text and '"deltaDecimal":"0.000001"' in text
    assert '"delta":12.5,' in text and '"finalBalance":-122.749999,' in text
    assert "e-" not in text.split('"deltas"')[1].split('"verification"')[0].replace('"reason"', "")
    lines = data["deltas"]
    assert [line["sequence"] for line in lines] == [1, 2, 3, 4, 5, 6]
    assert [line["deltaDecimal"] for line in lines] == ["-100", "12.5", "0.000001", "-42", "7", "-0.25"]
    assert lines[0]["metadata"] == {"region": "eu", "n": 1} and lines[0]["metadataDigest"] is not None
    assert lines[1]["metadata"] is None and lines[1]["metadataDigest"] is None
    assert lines[5]["metadata"] == {} and lines[5]["metadataDigest"] is not None
    assert lines[4]["adjusts"] == {"referenceId": "rv-1"} and lines[4]["reason"] == "correction"
    assert all(line["status"] == "VERIFIED" for line in lines)
    assert data["windowSummaries"] == [{"period": "2026-03", "totalCredits": Decimal("19.500001"),
                                        "totalDebits": Decimal("-142.25"), "netChange": FINAL,
                                        "deltasCount": 6, "deltaCount": 6}]


def _swap(lst: list, i: int, j: int) -> None:
    lst[i], lst[j] = lst[j], lst[i]


def _set_amount(line: dict, amount: str) -> None:
    """A consistent forger changes the number and its decimal string together."""
    line["delta"] = Decimal(amount)
    line["deltaDecimal"] = amount


def _set_metadata(line: dict, metadata: dict) -> None:
    """Changed metadata with the stale digest removed, so the verifier digests the new metadata."""
    line["metadata"] = metadata
    del line["metadataDigest"]


TAMPERS = {
    "changed amount": (lambda d: _set_amount(d["deltas"][1], "13.5"),
                       {"deltas.fingerprints", "itemHashes", "itemsRoot", "netChange", "balances"}),
    "changed tiny amount": (lambda d: _set_amount(d["deltas"][2], "0.000002"),
                            {"deltas.fingerprints", "itemHashes", "itemsRoot", "netChange", "balances"}),
    "dropped delta": (lambda d: d["deltas"].pop(2),
                      {"completeness", "itemHashes", "itemsRoot", "netChange", "balances"}),
    "reordered deltas": (lambda d: _swap(d["deltas"], 1, 2), {"deltas.order", "itemHashes", "itemsRoot"}),
    "wrong proofRoot": (lambda d: d.__setitem__("proofRoot", "0x" + "ab" * 32), {"proofRoot"}),
    "changed finalBalance": (lambda d: d.__setitem__("finalBalance", Decimal("-122.74999")), {"balances"}),
    "changed metadata": (lambda d: _set_metadata(d["deltas"][0], {"region": "us", "n": 1}),
                         {"deltas.fingerprints", "itemHashes", "itemsRoot"}),
    "changed adjusts": (lambda d: d["deltas"][4].__setitem__("adjusts", {"referenceId": "rv-2"}),
                        {"deltas.fingerprints", "itemHashes", "itemsRoot"}),
    "changed C.netChange": (lambda d: d["verification"]["checkpoint"].__setitem__("netChange", "-122.75"),
                            {"proofRoot", "anchor", "netChange"}),
}


@pytest.mark.parametrize("name", list(TAMPERS))
def test_tampered_copies_are_rejected(receipt, name):
    _mock, text = receipt
    tamper, failing = TAMPERS[name]
    data = _data(text)
    forged = copy.deepcopy(data)
    tamper(forged)
    report = verify_receipt(forged)
    assert report.ok is False
    assert set(report.failed) == failing, report.messages
    # the untouched copy still verifies (the tamper, not the parsing, is what fails)
    assert verify_receipt(data).ok


def test_every_line_has_a_valid_inclusion_proof(receipt):
    _mock, text = receipt
    data = _data(text)
    root = from_hex(data["itemsRoot"])
    checkpoint = data["verification"]["checkpoint"]
    size = checkpoint["treeSize"]
    assert size == 6 and data["verification"]["itemHashes"] == [line["fingerprint"] for line in data["deltas"]]
    for i, line in enumerate(data["deltas"]):
        assert line["leafIndex"] == i and line["itemsRoot"] == data["itemsRoot"]
        assert line["itemHash"] == line["contentHash"] == line["fingerprint"]
        assert line["anchorId"] == line["recordId"] and line["window"] == "2026-03"
        proof = [from_hex(p) for p in line["merkleProof"]]
        assert verify_inclusion(i, size, from_hex(line["fingerprint"]), proof, root)
        # wrong index, flipped bit, removed element, raw fingerprint as leaf all fail
        assert not verify_inclusion((i + 1) % size, size, from_hex(line["fingerprint"]), proof, root)
        flipped = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
        assert not verify_inclusion(i, size, from_hex(line["fingerprint"]), flipped, root)
        assert not verify_inclusion(i, size, from_hex(line["fingerprint"]), proof[:-1], root)
        inclusion = {"customerId": CUSTOMER, "recordId": line["recordId"], "sequence": line["sequence"],
                     "fingerprint": line["fingerprint"], "leafIndex": i, "treeSize": size,
                     "itemsRoot": data["itemsRoot"], "merkleProof": line["merkleProof"],
                     "proofRoot": data["proofRoot"], "checkpoint": checkpoint}
        report = verify_inclusion_object(inclusion, delta_fields=line, ledger_id=checkpoint["ledgerId"])
        assert report.ok, report.messages
        # a tree size that is not C.treeSize is rejected once the proof is bound to the checkpoint
        assert not verify_inclusion_object({**inclusion, "treeSize": size + 1}, delta_fields=line).ok


def test_paging_gives_consistent_proofs_and_pages_concatenate(receipt):
    mock, text = receipt
    full = _data(text)
    pages = []
    for offset in (0, 2, 4):
        response = mock.call("GET", f"{B}/invoice-proof/{CUSTOMER}", params={"period": "2026-03", "limit": 2, "offset": offset})
        page = _data(response.text)
        assert page["checkpointId"] == full["checkpointId"] and page["proofRoot"] == full["proofRoot"]
        assert page["deltasPage"] == {"limit": 2, "offset": offset, "total": 6, "hasMore": offset + 2 < 6}
        assert [line["leafIndex"] for line in page["deltas"]] == [offset, offset + 1]
        assert page["deltas"] == full["deltas"][offset:offset + 2]
        assert page["verification"]["itemHashes"] == [line["fingerprint"] for line in page["deltas"]]
        assert page["deltaCount"] == 6 and page["finalBalance"] == FINAL
        pages.append(page)
    # one page alone is incomplete ...
    alone = verify_receipt(pages[1])
    assert alone.ok is False and "completeness" in alone.failed
    # ... the concatenation verifies
    joined = copy.deepcopy(pages[0])
    joined["deltas"] = [line for page in pages for line in page["deltas"]]
    joined["verification"]["itemHashes"] = [h for page in pages for h in page["verification"]["itemHashes"]]
    report = verify_receipt(joined)
    assert report.ok, report.messages
    past_end = _data(mock.call("GET", f"{B}/invoice-proof/{CUSTOMER}", params={"period": "2026-03", "offset": 10}).text)
    assert past_end["deltas"] == [] and past_end["deltasPage"]["hasMore"] is False


def test_public_receipt_hides_access_hint_and_metadata(receipt, server):
    mock, text = receipt
    full = _data(text)
    chk = full["checkpointId"]
    response = requests.get(f"{server.url}/api/v1/receipt/{chk}")  # no key
    assert response.status_code == 200
    public = _loads(response.text)["data"]
    assert "accessHint" not in public
    assert all("metadata" not in line for line in public["deltas"])
    assert [line["metadataDigest"] for line in public["deltas"]] == [line["metadataDigest"] for line in full["deltas"]]
    assert full["accessHint"] is not None and len(full["accessHint"]) == 6
    # otherwise the same receipt of the same checkpoint
    expected = copy.deepcopy(full)
    del expected["accessHint"]
    for line in expected["deltas"]:
        del line["metadata"]
    assert public == expected
    assert verify_receipt(response.text).ok
    assert response.text.count('"metadata"') == 0 and '"accessHint"' not in response.text
    paged = _loads(requests.get(f"{server.url}/api/v1/receipt/{chk}", params={"limit": 1, "offset": 5}).text)["data"]
    assert [line["leafIndex"] for line in paged["deltas"]] == [5] and "metadata" not in paged["deltas"][0]
    # unknown receipt ids
    assert requests.get(f"{server.url}/api/v1/receipt/chk_nope").status_code == 404


def test_public_receipt_pdf_is_deterministic(receipt, server):
    _mock, text = receipt
    chk = _data(text)["checkpointId"]
    first = requests.get(f"{server.url}/api/v1/receipt/{chk}.pdf")
    second = requests.get(f"{server.url}/api/v1/receipt/{chk}.pdf")
    assert first.status_code == 200
    assert first.headers["Content-Type"].split(";")[0] == "application/pdf"
    assert first.headers["Content-Disposition"] == f'inline; filename="{chk}.pdf"'
    assert first.content.startswith(b"%PDF-1.4")
    assert b"%%EOF" in first.content[-32:]
    assert first.content == second.content


def test_public_verify_detects_a_tampered_row(receipt, server):
    mock, text = receipt
    data = _data(text)
    root = data["proofRoot"]
    url = f"{server.url}/api/v1/verify/{root}"
    before = _loads(requests.get(url).text)["data"]
    assert (before["verified"], before["message"], before["kind"]) == (True, "ok", "checkpoint")
    assert before["checks"] == {"recomputed": True, "anchored": True, "chainAvailable": True}
    assert before["summary"]["netChange"] == FINAL and before["summary"]["recordCount"] == 6
    assert all("metadata" not in r for r in before["records"])
    batch_root = data["deltas"][1]["receiptId"]
    assert _loads(requests.get(f"{server.url}/api/v1/verify/{batch_root}").text)["data"]["verified"] is True

    record_id = data["deltas"][1]["recordId"]
    ws = mock.ok("GET", "/_mock/workspace")
    store = server.runtime.store
    select_ws = "(SELECT id FROM workspaces WHERE env = ? AND public_id = ?)"
    with store.transaction() as conn:
        original = conn.execute(f"SELECT amount FROM deltas WHERE ws = {select_ws} AND record_id = ?",
                                (ws["environment"], ws["publicId"], record_id)).fetchone()["amount"]
        assert original == "12.5"
        changed = conn.execute(f"UPDATE deltas SET amount = ? WHERE ws = {select_ws} AND record_id = ?",
                               ("125", ws["environment"], ws["publicId"], record_id)).rowcount
        assert changed == 1
    try:
        after = _loads(requests.get(url).text)["data"]
        assert after["verified"] is False
        assert after["message"] == "stored records do not match the proof root"
        assert after["checks"]["recomputed"] is False
        both = _loads(requests.get(url, params={"source": "both"}).text)["data"]
        assert (both["verified"], both["message"]) == (False, "stored records do not match the proof root")
        # the anchor itself is untouched
        chain = _loads(requests.get(url, params={"source": "chain"}).text)["data"]
        assert (chain["verified"], chain["message"]) == (True, "ok")
        batch = _loads(requests.get(f"{server.url}/api/v1/verify/{batch_root}").text)["data"]
        assert (batch["verified"], batch["message"]) == (False, "stored records do not match the proof root")
        # the receipt the customer holds still verifies offline: the proof binds the original amount
        assert verify_receipt(text).ok
    finally:
        with store.transaction() as conn:
            conn.execute(f"UPDATE deltas SET amount = ? WHERE ws = {select_ws} AND record_id = ?",
                         (original, ws["environment"], ws["publicId"], record_id))
    assert _loads(requests.get(url).text)["data"]["verified"] is True


# --- public verify, member by member (§5.19) -----------------------------------------------------

def _keccak_hex(data: bytes) -> str:
    from Crypto.Hash import keccak

    return "0x" + keccak.new(data=data, digest_bits=256).hexdigest()


def _anchor(root: str) -> str:
    """proofs.md §3.5, computed here: H("pacspace-mock:anchor:v1" ‖ 00 ‖ the root's 32 bytes)."""
    return _keccak_hex(b"pacspace-mock:anchor:v1\x00" + bytes.fromhex(root[2:]))


def test_public_verify_of_a_batch_through_its_lifecycle(mock, server):
    """A three-item batch of two customers: kind batch, records in batch order with every public
    member (no metadata), the batch preimage, statuses QUEUED → PROCESSING → VERIFIED with the
    documented messages per source, paging of records and itemHashes."""
    def verify(root: str, **params) -> dict:
        response = requests.get(f"{server.url}/api/v1/verify/{root}", params=params)
        assert response.status_code == 200, response.text
        return _loads(response.text)["data"]

    mock.freeze("2026-02-10T00:00:00.000Z")
    mock.settings(processingDelaySeconds=1, verifyDelaySeconds=2)
    batch = mock.ok("POST", f"{B}/delta/batch", 201, json={"deltas": [
        {"customerId": "v1", "delta": -2, "reason": "usage", "referenceId": "r1", "metadata": {"k": 1}},
        {"customerId": "v1", "delta": 1.25, "reason": "fix", "adjusts": {"referenceId": "r1"}},
        {"customerId": "v2", "delta": -0.5, "reason": "usage"},
    ]})
    root = batch["receiptId"]
    ids = [r["recordId"] for r in batch["results"]]
    fps = [mock.ok("GET", f"{B}/delta/{rid}")["fingerprint"] for rid in ids]

    queued = verify(root)
    assert (queued["verified"], queued["status"], queued["message"]) == (True, "QUEUED", "ok")  # db: recomputed only
    assert queued["checks"] == {"recomputed": True, "anchored": False, "chainAvailable": True}
    for source in ("chain", "both"):
        assert (verify(root, source=source)["verified"], verify(root, source=source)["message"]) == (False, "not anchored yet")
    assert (queued["verification"]["verificationReference"], queued["verification"]["reference"],
            queued["verification"]["blockTimestamp"]) == (None, None, None)
    mock.clock_set("2026-02-10T00:00:01.000Z")
    assert (verify(root, source="both")["status"], verify(root, source="both")["message"]) == ("PROCESSING", "not anchored yet")
    mock.clock_set("2026-02-10T00:00:02.000Z")

    data = verify(root, source="both")
    assert (data["verified"], data["status"], data["message"], data["source"]) == (True, "VERIFIED", "ok", "both")
    assert data["checks"] == {"recomputed": True, "anchored": True, "chainAvailable": True}
    assert (data["kind"], data["proofRoot"], data["recordedAt"]) == ("batch", root, "2026-02-10T00:00:00.000Z")
    assert (data["customerId"], data["period"], data["startDate"], data["endDate"]) == (None, None, None, None)
    assert data["summary"] == {"recordCount": 3, "netChange": Decimal("-1.25"), "startingBalance": 0,
                               "endingBalance": Decimal("-1.25"), "firstRecordAt": "2026-02-10T00:00:00.000Z",
                               "lastRecordAt": "2026-02-10T00:00:00.000Z"}
    t = "2026-02-10T00:00:00.000Z"
    assert data["records"] == [
        {"amount": -2, "reason": "usage", "referenceId": "r1", "status": "VERIFIED", "time": t, "recordId": ids[0],
         "customerId": "v1", "sequence": 1, "amountDecimal": "-2", "recordedAt": t, "fingerprint": fps[0],
         "metadataDigest": _keccak_hex(b'{"k":1}'), "adjusts": None},
        {"amount": Decimal("1.25"), "reason": "fix", "referenceId": None, "status": "VERIFIED", "time": t,
         "recordId": ids[1], "customerId": "v1", "sequence": 2, "amountDecimal": "1.25", "recordedAt": t,
         "fingerprint": fps[1], "metadataDigest": None, "adjusts": {"referenceId": "r1"}},
        {"amount": Decimal("-0.5"), "reason": "usage", "referenceId": None, "status": "VERIFIED", "time": t,
         "recordId": ids[2], "customerId": "v2", "sequence": 1, "amountDecimal": "-0.5", "recordedAt": t,
         "fingerprint": fps[2], "metadataDigest": None, "adjusts": None},
    ]
    assert data["recordsPage"] == {"limit": 1000, "offset": 0, "total": 3, "hasMore": False}
    v = data["verification"]
    items_root = data["verification"]["itemsRoot"]
    ledger = _keccak_hex(b"pacspace-mock:ledger:v1\x00" + f"test:{mock.key.split('.')[0]}".encode())  # §3.2
    assert v == {"proofScheme": "pacspace-mock/v1", "verificationReference": _anchor(root), "reference": _anchor(root),
                 "blockTimestamp": "2026-02-10T00:00:02.000Z", "chainId": 296, "itemsRoot": items_root,
                 "itemHashes": fps, "checkpoint": None,
                 "batch": {"batchSequence": 1, "itemCount": 3, "itemsRoot": items_root, "ledgerId": ledger,
                           "previousProofHash": "0x" + "0" * 64},
                 "publicLedgerUrl": f"{server.url}/verify/{root}", "verificationExplorerUrl": f"{server.url}/verify/{root}"}
    assert list(v["batch"]) == sorted(v["batch"])
    assert _keccak_hex(b"pacspace-mock:batch:v1\x00" + json.dumps(v["batch"], separators=(",", ":")).encode()) == root

    page = verify(root, limit=1, offset=1)
    assert [r["recordId"] for r in page["records"]] == [ids[1]]
    assert page["verification"]["itemHashes"] == [fps[1]]
    assert page["recordsPage"] == {"limit": 1, "offset": 1, "total": 3, "hasMore": True}


def test_public_verify_messages_for_failed_queued_and_empty(mock, server):
    def verify(root: str, **params) -> dict:
        return _loads(requests.get(f"{server.url}/api/v1/verify/{root}", params=params).text)["data"]

    mock.freeze("2026-02-10T00:00:00.000Z")
    mock.ok("POST", "/_mock/faults", 201, json={"match": {"route": "balance.emit"}, "nth": [1],
                                               "actions": [{"type": "fail_verification", "message": "no"}]})
    failed = mock.ok("POST", f"{B}/delta", 201, json={"customerId": "f", "delta": -1, "reason": "usage"})
    mock.clock_set("2026-02-10T00:00:01.000Z")
    data = verify(failed["receiptId"], source="both")
    assert (data["status"], data["verified"], data["message"]) == ("FAILED", False, "anchoring failed")
    assert data["checks"] == {"recomputed": True, "anchored": False, "chainAvailable": True}

    mock.ok("POST", f"{B}/delta", 201, json={"customerId": "q", "delta": -1, "reason": "usage"})
    first = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "q", "period": "2026-02"})
    mock.ok("POST", f"{B}/delta", 201, json={"customerId": "q", "delta": -2, "reason": "usage"})
    mock.settings(verifyDelaySeconds=5)
    second = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "q", "period": "2026-02"})
    assert second["previousProofRoot"] == first["proofRoot"]
    data = verify(second["proofRoot"], source="chain")  # a chained C recomputes; QUEUED is not anchored
    assert (data["status"], data["verified"], data["message"]) == ("QUEUED", False, "not anchored yet")
    assert data["checks"] == {"recomputed": True, "anchored": False, "chainAvailable": True}
    assert (verify(second["proofRoot"])["verified"], verify(second["proofRoot"])["message"]) == (True, "ok")
    assert (data["kind"], data["customerId"], data["period"]) == ("checkpoint", "q", "2026-02")
    assert data["summary"]["startingBalance"] == 0 and data["summary"]["endingBalance"] == -3

    mock.settings(verifyDelaySeconds=0)
    empty = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "q", "startDate": "2026-02-09",
                                                          "endDate": "2026-02-10T00:00:00.500Z"})
    assert empty["treeSize"] == 0
    mock.clock_set("2026-02-10T00:00:02.000Z")
    data = verify(empty["proofRoot"], source="both")
    assert (data["verified"], data["message"], data["records"]) == (True, "ok", [])
    assert data["summary"] == {"recordCount": 0, "netChange": 0, "startingBalance": 0, "endingBalance": 0,
                               "firstRecordAt": None, "lastRecordAt": None}

    mock.ok("POST", "/_mock/faults", 201, json={"match": {"route": "public.verify"},
                                               "actions": [{"type": "chain_unavailable"}]})
    data = verify(empty["proofRoot"], source="chain")
    assert (data["verified"], data["message"], data["checks"]["chainAvailable"]) == (False, "chain unavailable", False)

"""The SaaS metering guide, end to end: once with the official SDK, once with the guide's own
plain-HTTP Python functions (requests), against the running server."""

from __future__ import annotations


import requests
from pacspace_sdk import PacSpace

from mockserver.proofs.verifier import verify_receipt

CUSTOMER = "cust_acme_001"
PERIOD = "2026-02"
FLUSHES = [("2026-02-01", 420), ("2026-02-02", 390), ("2026-02-03", 437)]


def test_guide_with_the_sdk(server, mock):
    mock.freeze("2026-02-01T00:00:00.000Z")
    pac = PacSpace.init(mock.key, base_url=server.url)

    # 1. Flush usage once per metering day
    for day, calls in FLUSHES:
        mock.clock_set(f"{day}T23:59:59.000Z")
        result = pac.balance.emit(CUSTOMER, -calls, f"daily_usage_flush:{day}", {"referenceId": f"usage:{CUSTOMER}:{day}"})
        assert result["status"] == "QUEUED" and result["recordId"].startswith("rec_")
        assert result["customerId"] == CUSTOMER and result["delta"] == -calls

    # 2. Mid-period usage
    mock.clock_set("2026-02-04T12:00:00.000Z")
    balance = pac.balance.derive(CUSTOMER)
    assert balance["computedBalance"] == -1247  # usage is negative: signed and exact, not abs()
    assert balance["deltasCount"] == 3 and balance["pendingCount"] == 0

    # 3. Lock the period; 4. receipt; 5. invoice
    mock.clock_set("2026-03-01T00:05:00.000Z")
    checkpoint = pac.balance.checkpoint(CUSTOMER, {"period": PERIOD})
    assert checkpoint["status"] == "QUEUED" and checkpoint["checkpointId"].startswith("chk_")
    again = pac.balance.checkpoint(CUSTOMER, {"period": PERIOD})
    assert again["checkpointId"] == checkpoint["checkpointId"] and again["idempotent"] is True
    mock.clock_set("2026-03-01T00:06:00.000Z")
    receipt = pac.balance.receipt(CUSTOMER, {"period": PERIOD})
    proof_root = receipt["proofRoot"]  # the receipt's own: the guide's invoice carries it
    assert proof_root == checkpoint["proofRoot"] and receipt["checkpointId"] == checkpoint["checkpointId"]
    assert receipt["finalBalance"] == -1247 and receipt["deltaCount"] == 3
    assert f"{abs(receipt['finalBalance']):,}" == "1,247"  # the guide's invoice line
    assert f"${abs(receipt['finalBalance']) * 0.002:.2f}" == "$2.49"
    assert receipt["verifyUrl"].startswith(server.url + "/c/cus_")
    assert receipt["accessHint"] and len(receipt["accessHint"]) == 6
    assert verify_receipt(receipt).ok

    # The customer verifies without a key
    public = PacSpace.verify(pac, proof_root)
    assert public["verified"] is True and public["proofRoot"] == proof_root and public["message"] == "ok"

    # 6b. Custom verify: derive from the previous invoice's proof root (nothing after it yet)
    mock.clock_set("2026-03-02T00:00:00.000Z")
    pac.balance.emit(CUSTOMER, -100, "daily_usage_flush:2026-03-01", {"referenceId": f"usage:{CUSTOMER}:2026-03-01"})
    mock.clock_set("2026-03-02T00:00:05.000Z")
    since = pac.balance.derive(CUSTOMER, {
        "startingBalance": receipt["finalBalance"], "startingCheckpoint": proof_root,
        "startingCheckpointType": "proofRoot",
    })
    assert since["computedBalance"] == -1347 and since["deltasCount"] == 1

    # Dispute: the customer claims -1200 for February
    comparison = pac.balance.compare(CUSTOMER, {"yours": -1247, "theirs": -1200}, {"period": PERIOD})
    assert comparison["computedBalance"] == -1247
    assert comparison["matchesYours"] is True and comparison["matchesTheirs"] is False
    assert comparison["discrepancy"]["side"] == "theirs"
    assert comparison["discrepancy"]["resolution"]["code"] == "THEIRS_DIFFERS_USE_NEUTRAL"


# --- the guide's plain-HTTP Python, verbatim but for API_BASE and the key ---------------------------

def guide_functions(api_base: str, api_key: str):
    headers = {"X-Api-Key": api_key, "Content-Type": "application/json"}

    def flush_daily_usage(customer_id: str, usage_date: str, total_api_calls: int):
        payload = {
            "customerId": customer_id,
            "delta": -total_api_calls,
            "reason": f"daily_usage_flush:{usage_date}",
            "referenceId": f"usage:{customer_id}:{usage_date}",
        }
        response = requests.post(f"{api_base}/api/v1/balance/delta", headers=headers, json=payload)
        response.raise_for_status()
        return response.json()["data"]

    def get_usage(customer_id: str):
        response = requests.get(f"{api_base}/api/v1/balance/derive/{customer_id}", headers=headers)
        response.raise_for_status()
        data = response.json()["data"]
        return {
            "customer_id": customer_id,
            "total_usage_units": abs(data["computedBalance"]),
            "verified_deltas": data["deltasCount"],
        }

    def lock_period(customer_id: str, period: str):
        response = requests.post(
            f"{api_base}/api/v1/balance/checkpoint", headers=headers,
            json={"customerId": customer_id, "period": period},
        )
        response.raise_for_status()
        return response.json()["data"]

    def generate_receipt(customer_id: str, period: str):
        response = requests.get(
            f"{api_base}/api/v1/balance/receipt/{customer_id}", headers=headers, params={"period": period},
        )
        response.raise_for_status()
        return response.json()["data"]

    def dispute(customer_id: str, yours, theirs, period: str):
        response = requests.post(
            f"{api_base}/api/v1/balance/compare", headers=headers,
            json={"customerId": customer_id, "yourBalance": yours, "theirBalance": theirs, "period": period},
        )
        response.raise_for_status()
        return response.json()["data"]

    return flush_daily_usage, get_usage, lock_period, generate_receipt, dispute


def test_guide_with_plain_http(server, mock):
    flush, get_usage, lock, generate_receipt, dispute = guide_functions(server.url, mock.key)
    mock.freeze("2026-02-01T00:00:00.000Z")
    for day, calls in FLUSHES:
        mock.clock_set(f"{day}T23:59:59.000Z")
        result = flush(CUSTOMER, day, calls)
        assert result["status"] == "QUEUED"
    mock.clock_set("2026-02-04T12:00:00.000Z")
    assert get_usage(CUSTOMER) == {"customer_id": CUSTOMER, "total_usage_units": 1247, "verified_deltas": 3}
    mock.clock_set("2026-03-01T00:05:00.000Z")
    locked = lock(CUSTOMER, PERIOD)
    mock.clock_set("2026-03-01T00:06:00.000Z")
    receipt = generate_receipt(CUSTOMER, PERIOD)
    assert receipt["proofRoot"] == locked["proofRoot"]
    assert receipt["checkpointId"] == locked["checkpointId"]
    assert receipt["finalBalance"] == -1247 and receipt["deltaCount"] == 3
    # The customer's link opens without a key (the page itself comes with the pages issue)
    assert requests.get(receipt["verificationApiUrl"]).json()["data"]["verified"] is True
    # The receipt verifies offline from its exact reply text
    raw = requests.get(f"{server.url}/api/v1/balance/receipt/{CUSTOMER}", headers={"X-Api-Key": mock.key},
                       params={"period": PERIOD}).text
    assert verify_receipt(raw).ok
    # Dispute
    result = dispute(CUSTOMER, -1247, -1200, PERIOD)
    assert result["matchesYours"] and not result["matchesTheirs"]
    assert result["discrepancy"]["side"] == "theirs"
    assert result["discrepancy"]["amount"] == 47

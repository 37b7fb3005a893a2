"""The guide's flow as an integrator writes it with the plugin's fixtures (shown in the README)."""

import pytest


@pytest.mark.pacspace(start="2026-02-01T23:59:59Z")
def test_invoice_for_february(pacspace, pacspace_sdk):
    for day, calls in [("01", 420), ("02", 390), ("03", 437)]:
        pacspace.clock.set(f"2026-02-{day}T23:59:59Z")
        pacspace_sdk.balance.emit("cust_acme_001", -calls, f"daily_usage_flush:2026-02-{day}",
                                  {"referenceId": f"usage:cust_acme_001:2026-02-{day}"})
    pacspace.clock.set("2026-03-01T00:05:00Z")
    lock = pacspace_sdk.balance.checkpoint("cust_acme_001", {"period": "2026-02"})
    receipt = pacspace_sdk.balance.receipt("cust_acme_001", {"period": "2026-02"})
    assert (receipt["proofRoot"], abs(receipt["finalBalance"]), receipt["deltaCount"]) == (lock["proofRoot"], 1247, 3)
    pacspace.assert_balance("cust_acme_001", -1247, period="2026-02")
    pacspace.assert_receipt_verifies("cust_acme_001", period="2026-02")
    pacspace.assert_webhook("delta.verified", count=3, customerId="cust_acme_001")

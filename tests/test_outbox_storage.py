"""The outbox's bodies and attempt logs are pinned byte for byte (balance-api.md §7, §8.8).

The storage of events changes between releases (bodies rendered from the ledger instead of stored
whole); what a receiver gets and what `GET /_mock/webhooks/outbox` shows must not. The pinned file
was written by the release that stored every body as text: every event type, exact decimals,
metadata with unicode, a failed batch, a multi-item batch (itemHashes), a checkpoint and a receipt.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from conftest import Mock

B = "/api/v1/balance"
PINNED = Path(__file__).parent / "data" / "outbox_pinned.json"
KEY = "pk_test_outboxpin"


def build(mock: Mock) -> list[dict]:
    mock.settings(webhookTimestampClock="virtual", processingDelaySeconds=1, verifyDelaySeconds=2, planAllotment=100,
                  publicOrigin="https://billing.example")
    mock.freeze("2026-02-01T10:00:00Z")
    mock.ok("POST", "/dashboard/customers", headers={"Authorization": "Bearer t"},
            json={"displayName": "Zoë & Co <b>", "customerId": "c0", "unitLabel": "calls"})
    mock.ok("POST", f"{B}/delta", json={
        "customerId": "c1", "delta": -420, "reason": "daily_usage_flush:2026-02-01",
        "referenceId": "usage:c1:2026-02-01",
        "metadata": {"plan": "pro", "rate": 0.0125, "note": "é ☃ \"q\"", "n": 1e-7,
                     "big": 9007199254740991, "nested": {"z": [1, 2.50, None, True]}}})
    # exact decimals as the client wrote them (15 significant digits, trailing zeros)
    mock.ok("POST", f"{B}/delta/batch", headers={"Content-Type": "application/json"}, data=(
        '{"deltas": [{"customerId": "c1", "delta": -12.50, "reason": "usage", "referenceId": "b:1"},'
        ' {"customerId": "c2", "delta": 123456789.123450, "reason": "top-up"},'
        ' {"customerId": "c3", "delta": -0.001, "reason": "usage", "metadata": {"calls": 1}}]}'))
    mock.ok("POST", "/_mock/faults", 201, json={
        "match": {"route": "balance.emit"}, "actions": [{"type": "fail_verification"}], "times": 1})
    mock.ok("POST", f"{B}/delta", json={"customerId": "c2", "delta": -7, "reason": "usage", "referenceId": "f:1"})
    mock.ok("POST", "/_mock/clock/advance", json={"seconds": 3})
    mock.ok("POST", f"{B}/delta", json={"customerId": "c1", "delta": 5, "reason": "credit"})
    mock.ok("POST", "/_mock/clock/advance", json={"seconds": 3})
    mock.settings(planAllotment=7)  # events keep the usage of their own instant
    checkpoint = mock.ok("POST", f"{B}/checkpoint", json={"customerId": "c1", "period": "2026-02"})
    mock.ok("POST", "/_mock/clock/advance", json={"seconds": 3})
    mock.ok("GET", f"/api/v1/receipt/{checkpoint['checkpointId']}")
    mock.ok("POST", f"{B}/compare", json={"customerId": "c1", "yourBalance": -427.5, "theirBalance": -420})
    mock.ok("POST", "/_mock/clock/advance", json={"seconds": 1})
    entries = mock.ok("GET", "/_mock/webhooks/outbox", params={"limit": 100})["entries"]
    return entries


def test_outbox_bodies_and_attempt_logs_are_byte_identical_to_the_pinned_release(server):
    entries = build(Mock(server.url, KEY))
    pinned = json.loads(PINNED.read_text(encoding="utf-8"))
    assert [e["event"] for e in entries] == [e["event"] for e in pinned]
    assert {e["event"] for e in entries} == {"customer.created", "delta.verified", "delta.failed",
                                              "checkpoint.verified", "receipt.generated", "customer.compare_run"}
    for got, want in zip(entries, pinned):
        assert hashlib.sha256(got["body"].encode()).hexdigest() == want["bodySha256"], got["eventId"]
        assert got["body"] == want["body"]
        assert {k: v for k, v in got.items()} == {k: v for k, v in want.items() if k != "bodySha256"}
    # the batch's delta.verified events carry the whole batch's item hashes
    batch = [json.loads(e["body"]) for e in entries if e["event"] == "delta.verified"][1:4]
    assert [len(b["data"]["proof"]["itemHashes"]) for b in batch] == [3, 3, 3]


if __name__ == "__main__":  # rewrite the pinned file (only ever from the release that defines it)
    import sys

    from mockserver.embedded import EmbeddedServer
    from mockserver.runtime import Runtime, ServerConfig

    with EmbeddedServer(Runtime(ServerConfig(seed=7, processing_delay=0, verify_delay=0))) as srv:
        found = build(Mock(srv.url, KEY))
    for entry in found:
        entry["bodySha256"] = hashlib.sha256(entry["body"].encode()).hexdigest()
    PINNED.write_text(json.dumps(found, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(found)} entries to {PINNED}", file=sys.stderr)

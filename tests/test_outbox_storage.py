"""The outbox's bodies and attempt logs are pinned byte for byte (balance-api.md §7, §8.8).

The storage of events changes between releases (bodies rendered from the ledger instead of stored
whole); what a receiver gets and what `GET /_mock/webhooks/outbox` shows must not. The pinned file
was written by the release that stored every body as text: every event type, exact decimals,
metadata with unicode, a failed batch, a multi-item batch (itemHashes), a checkpoint and a receipt.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
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


def test_a_release_1_database_is_upgraded_in_place_and_serves_what_it_stored(tmp_path):
    """A file written by release 1 (schema 1: every event body stored, receipt_id on each delta,
    attempt logs as objects) opens, is upgraded in its own transaction, and answers as before;
    deltas verified after the upgrade get rendered bodies that continue the same chain."""
    import sqlite3

    from mockserver.embedded import EmbeddedServer
    from mockserver.runtime import Runtime, ServerConfig
    from mockserver.store import Store
    from mockserver.store.schema import SCHEMA_VERSION

    path = str(tmp_path / "release1.sqlite")
    old = sqlite3.connect(path)
    old.executescript((Path(__file__).parent / "data" / "schema_v1_outbox.sql").read_text(encoding="utf-8"))
    stored = old.execute("SELECT event_id, body, attempt_log FROM events ORDER BY n").fetchall()
    receipts = dict(old.execute("SELECT record_id, receipt_id FROM deltas").fetchall())
    old.close()
    assert len(stored) == 3 and len(receipts) == 4

    store = Store(path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    assert "receipt_id" not in [r[1] for r in store.conn.execute("PRAGMA table_info(deltas)")]
    assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store.close()

    with EmbeddedServer(Runtime(ServerConfig(seed=7), db_path=path)) as srv:
        mock = Mock(srv.url, "pk_test_release1")
        entries = mock.ok("GET", "/_mock/webhooks/outbox", params={"limit": 100})["entries"]
        assert [(e["eventId"], e["body"]) for e in entries] == [(i, body) for i, body, _ in stored]
        assert [e["attemptLog"] for e in entries] == [json.loads(log) for _, _, log in stored]
        for record_id, receipt_id in receipts.items():
            assert mock.ok("GET", f"{B}/delta/{record_id}")["receiptId"] == receipt_id
        mock.ok("POST", "/_mock/clock/advance", json={"seconds": 3})  # the queued delta verifies now
        entries = mock.ok("GET", "/_mock/webhooks/outbox", params={"limit": 100})["entries"]
        assert [(e["eventId"], e["body"]) for e in entries[:3]] == [(i, body) for i, body, _ in stored]
        last = json.loads(entries[3]["body"])
        previous = json.loads(stored[2][1])
        assert last["data"]["proof"]["previousProofHash"] == previous["data"]["proof"]["proofHash"]
        assert last["data"]["period"]["deltaCount"] == previous["data"]["period"]["deltaCount"] + 1
        assert (Decimal(str(last["data"]["period"]["netDelta"]))
                == Decimal(str(previous["data"]["period"]["netDelta"])) - 1)
        assert entries[3]["attemptLog"][0]["signature"].startswith("v1=")


def test_the_fast_body_writer_matches_the_general_one(server, api_key, monkeypatch):
    """delta.verified bodies are written piece by piece from text their batch shares; the general
    writer (the envelope object through jsonout) is the reference, byte for byte."""
    from mockserver.ledger import events

    mock = Mock(server.url, api_key)
    mock.settings(processingDelaySeconds=1, verifyDelaySeconds=2, planAllotment=1000)
    mock.freeze("2026-03-31T23:59:58Z")
    reasons = ["usage", "Zoë's ☃ \"quoted\" \\ back", "slash / and \u2028 separator", "</script><b>", "😀 emoji", "a" * 500]
    mock.ok("POST", f"{B}/delta/batch", headers={"Content-Type": "application/json"}, data=(
        '{"deltas": [' + ", ".join(
            f'{{"customerId": "cust_{i % 3}", "delta": {amount}, "reason": {json.dumps(reason)},'
            f' "referenceId": {json.dumps(f"ref:{i}:ü") if i % 2 else "null"},'
            f' "metadata": {json.dumps({"i": i, "r": reason}) if i % 3 == 0 else "null"}}}'
            for i, (amount, reason) in enumerate(zip(["-0.000001", "123456789.12345", "-420", "7.50", "-1e-6", "1e3"],
                                                     reasons))) + "]}"))
    mock.ok("POST", f"{B}/delta", json={"customerId": "cust_9", "delta": -5, "reason": "next month"})
    mock.ok("POST", "/_mock/clock/advance", json={"seconds": 5})
    fast = mock.ok("GET", "/_mock/webhooks/outbox", params={"limit": 100, "event": "delta.verified"})["entries"]
    monkeypatch.setattr(events, "FAST", False)
    general = mock.ok("GET", "/_mock/webhooks/outbox", params={"limit": 100, "event": "delta.verified"})["entries"]
    assert len(fast) == 7 and [e["body"] for e in fast] == [e["body"] for e in general]
    assert json.loads(fast[5]["body"])["data"]["delta"]["reason"] == "a" * 500

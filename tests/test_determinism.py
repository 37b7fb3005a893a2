"""Determinism (balance-api.md §9): two independent servers with the same configuration, driven by
the same script with the same key on a frozen clock, give byte-identical replies, status codes,
request ids, hashes, receipts, PDFs, webhook bodies and (virtual-timestamp) signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass

import requests
from pacspace_sdk.webhooks import Webhooks

from mockserver.embedded import EmbeddedServer
from mockserver.runtime import Runtime, ServerConfig

KEY = "pk_test_demo"
B = "/api/v1/balance"
ACME, BETA, GAMMA = "cust_acme_001", "cust_beta_002", "cust_gamma_003"


@dataclass
class Step:
    label: str
    status: int
    body: bytes
    request_id: str | None
    content_type: str | None


class Script:
    """Runs the scripted session against one server and records every reply."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()
        self.http.headers["X-Api-Key"] = KEY
        self.steps: list[Step] = []

    def __call__(self, label: str, method: str, path: str, **kwargs) -> requests.Response:
        response = self.http.request(method, self.base_url + path, **kwargs)
        self.steps.append(Step(label, response.status_code, response.content, response.headers.get("X-Request-Id"),
                               response.headers.get("Content-Type")))
        return response

    def data(self, label: str, method: str, path: str, **kwargs):
        response = self(label, method, path, **kwargs)
        assert response.ok, (label, response.text)
        return response.json()["data"]


def flush(script: Script, amount: int, day: int) -> dict:
    return script.data(f"emit day {day}", "POST", f"{B}/delta", json={
        "customerId": ACME, "delta": amount, "reason": f"daily_usage_flush:2026-02-0{day}",
        "referenceId": f"usage:{ACME}:2026-02-0{day}"})


def run(base_url: str) -> Script:
    s = Script(base_url)
    s.data("freeze", "POST", "/_mock/clock/freeze", json={"at": "2026-02-01T23:59:59.000Z"})
    # §9 holds for the same public origin: the two servers listen on different ports
    s.data("settings", "PATCH", "/_mock/settings", json={"webhookTimestampClock": "virtual",
                                                         "publicOrigin": "http://127.0.0.1:8787"})
    s.data("webhook config", "GET", "/_mock/webhooks/config")
    first = flush(s, -420, 1)
    s.data("set day 2", "POST", "/_mock/clock/set", json={"now": "2026-02-02T23:59:59.000Z"})
    flush(s, -390, 2)
    s.data("replay day 2", "POST", f"{B}/delta", json={
        "customerId": ACME, "delta": -390.0, "reason": "daily_usage_flush:2026-02-02",
        "referenceId": f"usage:{ACME}:2026-02-02"})
    s("conflict day 2", "POST", f"{B}/delta", json={
        "customerId": ACME, "delta": -391, "reason": "daily_usage_flush:2026-02-02",
        "referenceId": f"usage:{ACME}:2026-02-02"})
    s.data("set day 3", "POST", "/_mock/clock/set", json={"now": "2026-02-03T23:59:59.000Z"})
    batch = s.data("batch day 3", "POST", f"{B}/delta/batch", headers={"Idempotency-Key": "flush-2026-02-03"}, json={
        "deltas": [
            {"customerId": ACME, "delta": -437, "reason": "daily_usage_flush:2026-02-03",
             "referenceId": f"usage:{ACME}:2026-02-03"},
            {"customerId": BETA, "delta": -12.5, "reason": "usage", "metadata": {"region": "eu", "calls": 125}},
        ]})
    s("batch replay", "POST", f"{B}/delta/batch", headers={"Idempotency-Key": "flush-2026-02-03"}, json={
        "deltas": [
            {"customerId": ACME, "delta": -437, "reason": "daily_usage_flush:2026-02-03",
             "referenceId": f"usage:{ACME}:2026-02-03"},
            {"customerId": BETA, "delta": -12.5, "reason": "usage", "metadata": {"calls": 125, "region": "eu"}},
        ]})
    s.data("advance", "POST", "/_mock/clock/advance", json={"seconds": 2})
    s.data("delta status", "GET", f"{B}/delta/{first['recordId']}")
    s.data("dashboard customer", "POST", "/dashboard/customers", headers={"Authorization": "Bearer t"},
           json={"displayName": "Gamma Ltd", "customerId": GAMMA, "unitLabel": "API calls"})
    s.data("generated customer", "POST", "/dashboard/customers", headers={"Authorization": "Bearer t"},
           json={"displayName": "Generated"})
    s.data("derive", "GET", f"{B}/derive/{ACME}", params={"granularity": "day", "limit": 2, "offset": 1})
    s.data("set 1 March", "POST", "/_mock/clock/set", json={"now": "2026-03-01T00:05:00.000Z"})
    chk = s.data("checkpoint", "POST", f"{B}/checkpoint", json={"customerId": ACME, "period": "2026-02"})
    s.data("checkpoint all", "POST", f"{B}/checkpoint", json={"period": "2026-02"})
    s.data("advance 2", "POST", "/_mock/clock/advance", json={"seconds": 2})
    s.data("set 00:06", "POST", "/_mock/clock/set", json={"now": "2026-03-01T00:06:00.000Z"})
    s.data("invoice proof", "GET", f"{B}/invoice-proof/{ACME}", params={"period": "2026-02"})
    s.data("receipt scoped", "GET", f"{B}/receipt/{ACME}", params={"period": "2026-02"})
    s.data("receipt all time", "GET", f"{B}/receipt/{ACME}")
    s.data("compare", "POST", f"{B}/compare", json={"customerId": ACME, "yourBalance": -1247, "theirBalance": -1200,
                                                    "period": "2026-02", "theirBreakdown": {"2026-02-02": -343}})
    s.data("verify checkpoint", "GET", f"/api/v1/verify/{chk['proofRoot']}", params={"source": "both"})
    s.data("verify batch", "GET", f"/api/v1/verify/{batch['receiptId']}")
    s.data("public receipt", "GET", f"/api/v1/receipt/{chk['checkpointId']}")
    s("public receipt pdf", "GET", f"/api/v1/receipt/{chk['checkpointId']}.pdf")
    s.data("receipt document", "GET", f"{B}/receipts/{chk['checkpointId']}", params={"timezone": "Europe/Berlin"})
    s.data("checkpoints", "GET", f"{B}/checkpoints")
    s.data("customers", "GET", f"{B}/customers")
    s.data("customer", "GET", f"{B}/customers/{ACME}", params={"deltaLimit": 2})
    s.data("customer receipts", "GET", f"{B}/customers/{ACME}/receipts")
    s.data("summary", "GET", f"{B}/customers/summary")
    s.data("gaps", "GET", f"{B}/gaps/{ACME}")
    s.data("usage", "GET", f"{B}/usage")
    s.data("rotate secret", "PUT", "/_mock/webhooks/config", json={"rotateSecret": True})
    s.data("fault", "POST", "/_mock/faults", json={"match": {"route": "balance.usage"}, "probability": 0.5,
                                                   "actions": [{"type": "error", "status": 503, "retryAfterSeconds": 2}]})
    for i in range(8):
        s(f"usage {i}", "GET", f"{B}/usage")
    s.data("fault fail", "POST", "/_mock/faults", json={"match": {"route": "balance.emit"}, "nth": [1],
                                                        "actions": [{"type": "fail_verification"}]})
    s.data("emit failing", "POST", f"{B}/delta", json={"customerId": BETA, "delta": 3, "reason": "refund"})
    s.data("advance 3", "POST", "/_mock/clock/advance", json={"seconds": 3})
    s.data("drain", "POST", "/_mock/webhooks/drain", json={})
    s.data("faults", "GET", "/_mock/faults")
    s.data("webhooks", "GET", f"{B}/webhooks", params={"limit": 100})
    s.data("clock", "GET", "/_mock/clock")
    s.data("settings read", "GET", "/_mock/settings")
    return s


def _without_wall_time(step: Step) -> bytes:
    """Journal latencyMs and attempt durationMs are wall time (§9 'not covered'); everything else must match."""
    if step.label not in ("journal", "outbox"):
        return step.body
    envelope = json.loads(step.body)
    for entry in envelope["data"]["entries"]:
        entry.pop("latencyMs", None)
        for attempt in entry.get("attemptLog", []):
            attempt.pop("durationMs", None)
    return json.dumps(envelope).encode()


def test_two_servers_same_script_same_bytes():
    config = dict(seed=7, processing_delay=1, verify_delay=2)
    runs = []
    for _ in range(2):
        with EmbeddedServer(Runtime(ServerConfig(**config))) as srv:
            script = run(srv.url)
            script.data("outbox", "GET", "/_mock/webhooks/outbox")
            script.data("journal", "GET", "/_mock/journal", params={"limit": 1000})
            runs.append(script.steps)
    first, second = runs
    assert [s.label for s in first] == [s.label for s in second]
    for a, b in zip(first, second):
        assert (a.status, a.content_type, a.request_id) == (b.status, b.content_type, b.request_id), a.label
        assert _without_wall_time(a) == _without_wall_time(b), a.label

    steps = {s.label: s for s in first}
    assert [s.status for s in first if s.label.startswith("usage ")].count(503) not in (0, 8)  # the seeded draw mixes
    assert steps["conflict day 2"].status == 409
    assert steps["batch replay"].status == 201 and steps["public receipt pdf"].body.startswith(b"%PDF-1.4")

    # §9 derivations for seed 7 and pk_test_demo
    emitted = json.loads(steps["emit day 1"].body)["data"]
    assert emitted["recordId"] == "rec_5aq6vm3rwsfazsv6msmrsylc"
    assert steps["emit day 1"].request_id == "req_nzft6t6gq3irfq7ivu3viko5"
    checkpoint = json.loads(steps["checkpoint"].body)["data"]
    assert checkpoint["checkpointId"] == "chk_5iozcxsxwuul5we76iml5lp6"
    assert checkpoint["proofRoot"] == "0x479195f4687b2917f36e38b6e60f85fcac24465093bec03b86e5b1360dd9f7ca"
    config_reply = json.loads(steps["webhook config"].body)["data"]
    secret = config_reply["secret"]
    assert secret == "whsec_qehlwtdettk2wtkc2f3mihwfgtp444ud"

    # webhook bodies and virtual-time signatures are identical, and they verify
    outbox_a = json.loads(steps["outbox"].body)["data"]["entries"]
    outbox_b = json.loads({s.label: s for s in second}["outbox"].body)["data"]["entries"]
    assert [e["body"] for e in outbox_a] == [e["body"] for e in outbox_b]
    assert [[(a["timestamp"], a["signature"]) for a in e["attemptLog"]] for e in outbox_a] == [
        [(a["timestamp"], a["signature"]) for a in e["attemptLog"]] for e in outbox_b]
    events = [e["event"] for e in outbox_a]
    assert set(events) == {"delta.verified", "delta.failed", "checkpoint.verified", "receipt.generated",
                           "customer.created", "customer.compare_run"}
    assert all(e["deliveryStatus"] == "delivered" and e["attempts"] == 1 for e in outbox_a)
    first_event = outbox_a[0]
    assert (first_event["eventId"], first_event["event"]) == ("evt_4k6budlyym75v7zypbuqjdfd", "delta.verified")
    log = first_event["attemptLog"][0]
    assert log["timestamp"] == "1769990401"  # 2026-02-02T00:00:01Z, the virtual instant of the attempt
    assert log["signature"] == "v1=" + hmac.new(secret.encode(), f"1769990401.{first_event['body']}".encode(),
                                                hashlib.sha256).hexdigest()
    tolerance = abs(int(time.time()) - 1769990401) + 3600
    assert Webhooks(secret).verify(log["signature"], log["timestamp"], first_event["body"], tolerance=tolerance)
    # after the rotation, deliveries carry both signatures
    rotated = json.loads(steps["rotate secret"].body)["data"]
    last_log = outbox_a[-1]["attemptLog"][-1]
    assert last_log["signature"].count("v1=") == 2
    for key in (rotated["secret"], rotated["previousSecret"]):
        assert Webhooks(key).verify(last_log["signature"], last_log["timestamp"], outbox_a[-1]["body"], tolerance=tolerance)


def test_spec_signature_vector_verifies_with_the_sdk():
    secret, timestamp = "whsec_qehlwtdettk2wtkc2f3mihwfgtp444ud", "1769990401"
    body = '{"id":"evt_4k6budlyym75v7zypbuqjdfd","event":"delta.verified"}'
    expected = "v1=d9c71021c3c46332dea6053d7e58769706d387db87c599a98274fcdf791be170"
    assert "v1=" + hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest() == expected
    tolerance = abs(int(time.time()) - int(timestamp)) + 3600
    assert Webhooks(secret).verify(expected, timestamp, body, tolerance=tolerance) == json.loads(body)

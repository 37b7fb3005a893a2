"""Outbound webhooks (balance-api.md §7, §5.21, §5.22, §8.8): lifecycle-driven events on the frozen
virtual clock, capture mode, signatures checked with the official SDK, HTTP delivery to a real
receiver, the retry schedule, manual retries, secret rotation, drain and the six event types."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pacspace_sdk import PacSpace
from pacspace_sdk.errors import WebhookVerificationError
from pacspace_sdk.webhooks import Webhooks

from conftest import counted_id, error_of as _error, public_id, spec_b32 as _b32, to_ms

B = "/api/v1/balance"
T0 = "2026-02-10T00:00:00.000Z"
BACKOFF_SECONDS = [10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400]
SIG_RE = re.compile(r"^v1=[0-9a-f]{64}$")
DELIVERY_MEMBERS = ["eventId", "event", "deliveryStatus", "attempts", "maxAttempts", "url", "createdAt",
                    "lastAttemptAt", "lastResponseStatus", "lastError", "nextAttemptAt", "deliveredAt", "captured"]
ATTEMPT_MEMBERS = ["attempt", "at", "url", "captured", "timestamp", "signature", "responseStatus", "error",
                   "durationMs", "faultRuleId"]


# --- helpers ---------------------------------------------------------------------------------------

def fmt(ms: int) -> str:
    return datetime.fromtimestamp(ms // 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def derived_secret(key: str, generation: int, seed: int = 7) -> str:
    env = key.split("_")[1]
    text = f"pacspace-mock:whsec:v1|{seed}|{env}|{public_id(key)}|{generation}"
    return "whsec_" + _b32(hashlib.sha256(text.encode()).digest()[:20])


def sign(secret: str, timestamp: str, body: str) -> str:
    return "v1=" + hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()


def emit(mock, customer: str, amount, **extra) -> dict:
    return mock.ok("POST", f"{B}/delta", 201, json={"customerId": customer, "delta": amount, "reason": "usage", **extra})


def outbox(mock, **params) -> list[dict]:
    return mock.ok("GET", "/_mock/webhooks/outbox", params=params)["entries"]


def entry_of(mock, event_id: str) -> dict:
    found = [e for e in outbox(mock) if e["eventId"] == event_id]
    assert len(found) == 1, found
    return found[0]


def advance(mock, seconds) -> dict:
    return mock.ok("POST", "/_mock/clock/advance", json={"seconds": seconds})


def processed(transitions=0, events=0, attempts=0, delivered=0, failed=0) -> dict:
    return {"transitions": transitions, "events": events, "deliveryAttempts": attempts, "delivered": delivered,
            "failed": failed}


def workspace_row_id(server, key: str) -> int:
    env = key.split("_")[1]
    with server.runtime.store.transaction() as conn:
        return conn.execute("SELECT id FROM workspaces WHERE env = ? AND public_id = ?", (env, public_id(key))).fetchone()[0]


class Receiver:
    """A real HTTP endpoint on 127.0.0.1:0 recording every POST (path, lower-cased headers, body)."""

    def __init__(self) -> None:
        self.status = 200
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.on_post = None  # called with the body before replying: a receiver that calls back, or waits
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                if outer.on_post is not None:
                    outer.on_post(body)
                self.send_response(outer.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def pac(server, mock):
    return PacSpace.init(mock.key, base_url=server.url, max_retries=0)


# --- lifecycle, capture mode, signature ------------------------------------------------------------

def test_delta_verified_is_captured_once_and_signed(mock):
    mock.freeze(T0)
    mock.settings(processingDelaySeconds=1, verifyDelaySeconds=2)
    created = emit(mock, "c1", -5, referenceId="r-1")
    assert created["status"] == "QUEUED"
    rid = created["recordId"]
    assert outbox(mock) == []

    assert advance(mock, 1) == {"previous": T0, "now": "2026-02-10T00:00:01.000Z", "mode": "frozen", "offsetMs": None,
                                "processed": processed(transitions=1)}
    assert mock.ok("GET", f"{B}/delta/{rid}")["status"] == "PROCESSING"
    assert outbox(mock) == []

    moved = advance(mock, 1)
    assert moved["now"] == "2026-02-10T00:00:02.000Z"
    assert moved["processed"] == processed(transitions=1, events=1, attempts=1, delivered=1)
    assert mock.ok("GET", f"{B}/delta/{rid}")["status"] == "VERIFIED"

    entries = outbox(mock)
    assert len(entries) == 1
    entry = entries[0]
    t2 = "2026-02-10T00:00:02.000Z"
    event_id = counted_id("evt", mock.key, 1)
    assert list(entry) == [*DELIVERY_MEMBERS, "body", "attemptLog"]
    assert {k: entry[k] for k in DELIVERY_MEMBERS} == {
        "eventId": event_id, "event": "delta.verified", "deliveryStatus": "delivered", "attempts": 1, "maxAttempts": 11,
        "url": None, "createdAt": t2, "lastAttemptAt": t2, "lastResponseStatus": None, "lastError": None,
        "nextAttemptAt": None, "deliveredAt": t2, "captured": True,
    }
    body = entry["body"]
    envelope = json.loads(body)
    assert list(envelope) == ["id", "event", "tenantId", "createdAt", "timestamp", "data"]
    assert (envelope["id"], envelope["event"], envelope["createdAt"], envelope["timestamp"]) == (event_id, "delta.verified", t2, t2)
    data = envelope["data"]
    assert (data["recordId"], data["status"], data["verifiedAt"], data["customerId"]) == (rid, "VERIFIED", t2, "c1")
    assert data["delta"] == {"customerId": "c1", "amount": -5, "reason": "usage", "referenceId": "r-1", "metadata": None,
                             "submittedAt": T0}
    assert data["verification"] == {"verified": True, "latencyMs": 2000, "discrepancies": []}
    assert data["receiptId"] == created["receiptId"] and data["sequenceNumber"] == "1"

    (log,) = entry["attemptLog"]
    assert list(log) == ATTEMPT_MEMBERS
    assert (log["attempt"], log["at"], log["url"], log["captured"], log["responseStatus"], log["error"],
            log["faultRuleId"]) == (1, t2, None, True, None, None, None)
    # wall mode (the default): the timestamp is the wall clock in whole seconds
    timestamp, signature = log["timestamp"], log["signature"]
    assert re.fullmatch(r"[0-9]+", timestamp) and abs(int(timestamp) - time.time()) < 120
    secret = mock.ok("GET", "/_mock/webhooks/config")["secret"]
    assert SIG_RE.match(signature) and signature == sign(secret, timestamp, body)

    # the official SDK accepts it with its default 300 s tolerance ...
    assert Webhooks(secret).verify(signature, timestamp, body) == envelope
    headers = {"X-PacSpace-Signature": signature, "X-PacSpace-Timestamp": timestamp, "X-Webhook-Event": "delta.verified"}
    assert Webhooks(secret).verify_from_headers(headers, body) == envelope
    # ... and rejects a tampered body or a wrong secret
    tampered = body.replace('"amount":-5', '"amount":-50')
    assert tampered != body
    with pytest.raises(WebhookVerificationError):
        Webhooks(secret).verify(signature, timestamp, tampered)
    with pytest.raises(WebhookVerificationError):
        Webhooks(secret).verify_from_headers(headers, tampered)
    with pytest.raises(WebhookVerificationError):
        Webhooks("whsec_" + "a" * 32).verify(signature, timestamp, body)
    with pytest.raises(WebhookVerificationError):
        Webhooks(secret[:-1] + ("b" if secret[-1] != "b" else "c")).verify_from_headers(headers, body)

    # delivered exactly once: later clock moves and drains attempt nothing more
    assert advance(mock, 3600)["processed"] == processed()
    assert mock.ok("POST", "/_mock/webhooks/drain", json={"force": True}) == {"attempted": 0, "delivered": 0,
                                                                             "failed": 0, "pending": 0}
    again = outbox(mock)
    assert len(again) == 1 and again[0]["attempts"] == 1 and len(again[0]["attemptLog"]) == 1
    listed = mock.ok("GET", f"{B}/webhooks")
    assert listed["pagination"] == {"limit": 20, "offset": 0, "total": 1, "hasMore": False}
    assert listed["deliveries"] == [{k: entry[k] for k in DELIVERY_MEMBERS}]


def test_virtual_timestamp_is_the_virtual_instant_in_seconds(mock):
    mock.settings(processingDelaySeconds=1, verifyDelaySeconds=2, webhookTimestampClock="virtual")
    mock.freeze("2026-02-10T00:00:00.750Z")
    emit(mock, "c1", -5)
    assert advance(mock, 2)["processed"]["delivered"] == 1
    (entry,) = outbox(mock)
    (log,) = entry["attemptLog"]
    verified_at = "2026-02-10T00:00:02.750Z"
    assert entry["createdAt"] == entry["deliveredAt"] == log["at"] == verified_at
    # seconds, rounded down
    assert log["timestamp"] == str(to_ms(verified_at) // 1000) == str(to_ms(T0) // 1000 + 2)
    secret = mock.ok("GET", "/_mock/webhooks/config")["secret"]
    assert log["signature"] == sign(secret, log["timestamp"], entry["body"])
    # the receiver must allow for the distance between the virtual and the real date
    tolerance = abs(int(time.time()) - int(log["timestamp"])) + 3600
    assert Webhooks(secret).verify(log["signature"], log["timestamp"], entry["body"], tolerance=tolerance)["id"] == entry["eventId"]
    with pytest.raises(WebhookVerificationError):  # the default 300 s tolerance refuses the old virtual date
        Webhooks(secret).verify(log["signature"], log["timestamp"], entry["body"])


def test_config_defaults_and_validation(mock):
    config = mock.ok("GET", "/_mock/webhooks/config")
    assert config == {"url": None, "mode": "capture", "secret": derived_secret(mock.key, 0), "previousSecret": None,
                      "previousSecretExpiresAt": None}
    assert re.fullmatch(r"whsec_[a-z2-7]{32}", config["secret"])
    for body, field in (({"url": "ftp://example.com/x"}, "url"), ({"url": 5}, "url"), ({"secret": "whsec_x"}, "secret"),
                        ({"secret": "nope_12345"}, "secret"), ({"rotateSecret": "yes"}, "rotateSecret"),
                        ({"bogus": 1}, "bogus")):
        err = _error(mock.call("PUT", "/_mock/webhooks/config", json=body), 400, "VALIDATION_ERROR")
        assert err["details"]["field"] == field, body
    assert mock.ok("GET", "/_mock/webhooks/config") == config
    # a new secret without rotateSecret replaces the old one at once
    replaced = mock.ok("PUT", "/_mock/webhooks/config", json={"secret": "whsec_my-own_secret"})
    assert replaced == {**config, "secret": "whsec_my-own_secret"}
    _error(mock.call("GET", "/_mock/webhooks/outbox", params={"deliveryStatus": "lost"}), 400, "VALIDATION_ERROR")
    _error(mock.call("GET", f"{B}/webhooks", params={"status": "lost"}), 400, "VALIDATION_ERROR")


# --- HTTP mode ------------------------------------------------------------------------------------------

def test_http_delivery_sends_the_outbox_body_and_headers(mock, receiver):
    config = mock.ok("PUT", "/_mock/webhooks/config", json={"url": receiver.url})
    secret = config["secret"]
    assert config == {"url": receiver.url, "mode": "http", "secret": derived_secret(mock.key, 0),
                      "previousSecret": None, "previousSecretExpiresAt": None}
    mock.freeze(T0)
    mock.settings(processingDelaySeconds=1, verifyDelaySeconds=2)
    emit(mock, "c1", -7)
    assert advance(mock, 2)["processed"] == processed(transitions=2, events=1, attempts=1, delivered=1)

    (entry,) = outbox(mock)
    assert len(receiver.requests) == 1
    path, headers, raw = receiver.requests[0]
    assert path == "/hooks"
    assert raw == entry["body"].encode("utf-8")
    (log,) = entry["attemptLog"]
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "pacspace-mock-webhooks/1"
    assert headers["x-webhook-event"] == "delta.verified"
    assert headers["x-event-id"] == entry["eventId"] == counted_id("evt", mock.key, 1)
    assert headers["x-pacspace-delivery-attempt"] == "1"
    assert headers["x-pacspace-timestamp"] == log["timestamp"]
    assert headers["x-pacspace-signature"] == log["signature"] == sign(secret, log["timestamp"], entry["body"])
    assert Webhooks(secret).verify_from_headers(headers, raw.decode("utf-8"))["id"] == entry["eventId"]
    assert (entry["deliveryStatus"], entry["url"], entry["captured"], entry["lastResponseStatus"], entry["lastError"]) == (
        "delivered", receiver.url, False, 200, None)
    assert (log["url"], log["captured"], log["responseStatus"], log["error"]) == (receiver.url, False, 200, None)


def _walk_schedule(mock, event_id: str, first_ms: int, base_attempts: int, error: str) -> list[int]:
    """Follow the automatic retries 2..11 as the clock advances; returns the due times."""
    dues = [first_ms]
    due = first_ms
    for k in range(1, 11):
        entry = entry_of(mock, event_id)
        due += BACKOFF_SECONDS[k - 1] * 1000
        assert entry["deliveryStatus"] == "pending", k
        assert entry["attempts"] == base_attempts + k, k
        assert entry["nextAttemptAt"] == fmt(due), k
        assert entry["lastError"] == error
        mock.clock_set(fmt(due - 1))
        assert entry_of(mock, event_id)["attempts"] == base_attempts + k
        moved = mock.clock_set(fmt(due))
        assert moved["processed"] == processed(attempts=1, failed=1 if k == 10 else 0)
        dues.append(due)
    return dues


def test_failing_endpoint_follows_the_backoff_then_manual_retry_delivers(mock, pac, receiver):
    receiver.status = 500
    mock.ok("PUT", "/_mock/webhooks/config", json={"url": receiver.url})
    mock.freeze(T0)
    mock.settings(processingDelaySeconds=1, verifyDelaySeconds=2)
    emit(mock, "c1", -7)
    first = advance(mock, 2)
    assert first["processed"] == processed(transitions=2, events=1, attempts=1)
    (entry,) = outbox(mock)
    event_id = entry["eventId"]
    created = to_ms("2026-02-10T00:00:02.000Z")
    assert (entry["lastResponseStatus"], entry["lastError"], entry["url"], entry["captured"]) == (500, "http_500", receiver.url, False)
    assert pac.balance.list_webhook_deliveries({"status": "pending"})["pagination"]["total"] == 1

    dues = _walk_schedule(mock, event_id, created, 0, "http_500")
    # offsets from createdAt: 0, 10 s, 40 s, 1:40, 3:40, 8:40, 18:40, 48:40, 1:48:40, 3:48:40, 7:48:40
    assert [(d - created) // 1000 for d in dues] == [0, 10, 40, 100, 220, 520, 1120, 2920, 6520, 13720, 28120]
    failed = entry_of(mock, event_id)
    assert (failed["deliveryStatus"], failed["attempts"], failed["nextAttemptAt"], failed["lastError"],
            failed["lastResponseStatus"], failed["deliveredAt"]) == ("failed", 11, None, "http_500", 500, None)
    assert [a["at"] for a in failed["attemptLog"]] == [fmt(d) for d in dues]
    assert [a["attempt"] for a in failed["attemptLog"]] == list(range(1, 12))
    assert [h["x-pacspace-delivery-attempt"] for _, h, _ in receiver.requests] == [str(i) for i in range(1, 12)]
    assert {body for _, _, body in receiver.requests} == {failed["body"].encode()}
    # nothing more is attempted automatically
    assert advance(mock, 86400)["processed"] == processed()
    assert len(receiver.requests) == 11

    # list filters by deliveryStatus (case-insensitive)
    assert [d["eventId"] for d in pac.balance.list_webhook_deliveries({"status": "failed"})["deliveries"]] == [event_id]
    assert [d["eventId"] for d in mock.ok("GET", f"{B}/webhooks", params={"status": "FAILED"})["deliveries"]] == [event_id]
    assert pac.balance.list_webhook_deliveries({"status": "pending"})["deliveries"] == []
    assert pac.balance.list_webhook_deliveries({"status": "delivered"})["deliveries"] == []

    # a manual retry against a healthy endpoint redelivers
    receiver.status = 200
    now = mock.ok("GET", "/_mock/clock")["now"]
    retried = pac.balance.retry_webhook(event_id)
    assert list(retried) == [*DELIVERY_MEMBERS, "retriedAt"]
    assert (retried["deliveryStatus"], retried["attempts"], retried["lastResponseStatus"], retried["lastError"],
            retried["deliveredAt"], retried["retriedAt"], retried["nextAttemptAt"]) == (
        "delivered", 12, 200, None, now, now, None)
    assert receiver.requests[-1][1]["x-pacspace-delivery-attempt"] == "12"
    assert [d["eventId"] for d in pac.balance.list_webhook_deliveries({"status": "delivered"})["deliveries"]] == [event_id]
    assert pac.balance.list_webhook_deliveries({"status": "failed"})["deliveries"] == []


def test_injected_webhook_failure_in_capture_mode(mock, pac):
    mock.freeze(T0)
    mock.settings(processingDelaySeconds=1, verifyDelaySeconds=2)
    rule = mock.ok("POST", "/_mock/faults", 201, json={"match": {"event": "delta.verified"},
                                                      "actions": [{"type": "webhook_failure"}]})
    assert rule["ruleId"] == "flt_1" and rule["match"]["event"] == "delta.verified"
    emit(mock, "c1", -7)
    assert advance(mock, 2)["processed"] == processed(transitions=2, events=1, attempts=1)
    (entry,) = outbox(mock)
    event_id = entry["eventId"]
    created = to_ms("2026-02-10T00:00:02.000Z")
    assert (entry["deliveryStatus"], entry["lastError"], entry["lastResponseStatus"], entry["captured"],
            entry["nextAttemptAt"]) == ("pending", "injected_500", None, False, fmt(created + 10_000))
    assert entry["attemptLog"][0]["faultRuleId"] == "flt_1" and entry["attemptLog"][0]["error"] == "injected_500"

    # a manual retry of a pending delivery that fails keeps its schedule and does not count
    retried = pac.balance.retry_webhook(event_id)
    assert (retried["deliveryStatus"], retried["attempts"], retried["nextAttemptAt"], retried["lastError"]) == (
        "pending", 2, fmt(created + 10_000), "injected_500")

    _walk_schedule(mock, event_id, created, 1, "injected_500")
    failed = entry_of(mock, event_id)
    assert (failed["deliveryStatus"], failed["attempts"], failed["lastError"]) == ("failed", 12, "injected_500")
    assert {a["faultRuleId"] for a in failed["attemptLog"]} == {"flt_1"}
    assert mock.ok("GET", "/_mock/faults")["rules"][0]["fired"] == 12
    assert mock.ok("GET", f"{B}/webhooks", params={"status": "failed"})["pagination"]["total"] == 1

    # with the rule gone the capture succeeds
    assert mock.ok("DELETE", "/_mock/faults/flt_1") == {"deleted": "flt_1"}
    healed = pac.balance.retry_webhook(event_id)
    assert (healed["deliveryStatus"], healed["attempts"], healed["captured"], healed["lastError"]) == ("delivered", 13, True, None)


def test_injected_webhook_failure_times_then_success(mock):
    mock.freeze(T0)
    mock.settings(processingDelaySeconds=1, verifyDelaySeconds=2)
    mock.ok("POST", "/_mock/faults", 201, json={"match": {"event": "delta.verified"}, "times": 2,
                                               "actions": [{"type": "webhook_failure", "status": 503}]})
    emit(mock, "c1", -7)
    advance(mock, 2)
    advance(mock, 10)
    (entry,) = outbox(mock)
    assert (entry["attempts"], entry["lastError"], entry["nextAttemptAt"]) == (2, "injected_503", "2026-02-10T00:00:42.000Z")
    assert advance(mock, 30)["processed"] == processed(attempts=1, delivered=1)
    (entry,) = outbox(mock)
    assert (entry["deliveryStatus"], entry["attempts"], entry["captured"], entry["lastError"], entry["deliveredAt"]) == (
        "delivered", 3, True, None, "2026-02-10T00:00:42.000Z")
    assert [a["faultRuleId"] for a in entry["attemptLog"]] == ["flt_1", "flt_1", None]


# --- secret rotation ------------------------------------------------------------------------------------

def test_secret_rotation_overlap_for_24_hours(mock):
    mock.freeze(T0)
    mock.settings(processingDelaySeconds=1, verifyDelaySeconds=2)
    old = mock.ok("GET", "/_mock/webhooks/config")["secret"]
    rotated = mock.ok("PUT", "/_mock/webhooks/config", json={"rotateSecret": True})
    new = rotated["secret"]
    assert new == derived_secret(mock.key, 1) and new != old
    assert rotated == {"url": None, "mode": "capture", "secret": new, "previousSecret": old,
                       "previousSecretExpiresAt": "2026-02-11T00:00:00.000Z"}

    emit(mock, "c1", -1)
    advance(mock, 2)
    (entry,) = outbox(mock)
    log = entry["attemptLog"][0]
    assert log["signature"] == sign(new, log["timestamp"], entry["body"]) + "," + sign(old, log["timestamp"], entry["body"])
    for secret in (new, old):
        assert Webhooks(secret).verify(log["signature"], log["timestamp"], entry["body"])["id"] == entry["eventId"]
        headers = {"x-pacspace-signature": log["signature"], "x-pacspace-timestamp": log["timestamp"]}
        assert Webhooks(secret).verify_from_headers(headers, entry["body"])["id"] == entry["eventId"]
    with pytest.raises(WebhookVerificationError):
        Webhooks(derived_secret(mock.key, 2)).verify(log["signature"], log["timestamp"], entry["body"])

    mock.clock_set("2026-02-10T23:59:59.999Z")
    assert mock.ok("GET", "/_mock/webhooks/config")["previousSecret"] == old
    mock.clock_set("2026-02-11T00:00:00.000Z")
    assert mock.ok("GET", "/_mock/webhooks/config") == {"url": None, "mode": "capture", "secret": new,
                                                        "previousSecret": None, "previousSecretExpiresAt": None}
    emit(mock, "c1", -2)
    advance(mock, 2)
    later = outbox(mock)[1]
    log = later["attemptLog"][0]
    assert log["signature"] == sign(new, log["timestamp"], later["body"])
    assert Webhooks(new).verify(log["signature"], log["timestamp"], later["body"])["id"] == later["eventId"]
    with pytest.raises(WebhookVerificationError):
        Webhooks(old).verify(log["signature"], log["timestamp"], later["body"])

    # a given secret may be rotated in too; the current one becomes the previous one
    given = mock.ok("PUT", "/_mock/webhooks/config", json={"secret": "whsec_given_by_test", "rotateSecret": True})
    assert (given["secret"], given["previousSecret"], given["previousSecretExpiresAt"]) == (
        "whsec_given_by_test", new, "2026-02-12T00:00:02.000Z")


# --- drain ---------------------------------------------------------------------------------------------

def test_drain_due_and_forced(mock):
    mock.freeze(T0)
    emit(mock, "c1", -3)  # zero delays: VERIFIED at T0, applied by the next request
    mock.ok("POST", f"{B}/compare", 201, json={"customerId": "c1", "yourBalance": -3, "theirBalance": -3})
    entries = outbox(mock)
    assert [(e["event"], e["deliveryStatus"], e["attempts"], e["nextAttemptAt"]) for e in entries] == [
        ("delta.verified", "pending", 0, T0), ("customer.compare_run", "pending", 0, T0)]
    assert mock.ok("POST", "/_mock/webhooks/drain", json={}) == {"attempted": 2, "delivered": 2, "failed": 0, "pending": 0}
    assert [e["deliveryStatus"] for e in outbox(mock)] == ["delivered", "delivered"]

    # one failed attempt leaves a delivery pending 10 s ahead
    mock.ok("POST", "/_mock/faults", 201, json={"match": {"event": "customer.compare_run"}, "times": 1,
                                               "actions": [{"type": "webhook_failure"}]})
    mock.ok("POST", f"{B}/compare", 201, json={"customerId": "c1", "yourBalance": -3, "theirBalance": -4})
    assert mock.ok("POST", "/_mock/webhooks/drain", json={"force": False}) == {"attempted": 1, "delivered": 0,
                                                                              "failed": 0, "pending": 1}
    assert outbox(mock)[2]["nextAttemptAt"] == "2026-02-10T00:00:10.000Z"
    assert mock.ok("POST", "/_mock/webhooks/drain", json={"force": False}) == {"attempted": 0, "delivered": 0,
                                                                              "failed": 0, "pending": 1}
    # force ignores the schedule and does not move the clock
    assert mock.ok("POST", "/_mock/webhooks/drain", json={"force": True}) == {"attempted": 1, "delivered": 1,
                                                                             "failed": 0, "pending": 0}
    third = outbox(mock)[2]
    assert (third["deliveryStatus"], third["attempts"], third["deliveredAt"]) == ("delivered", 2, T0)
    assert mock.ok("GET", "/_mock/clock")["now"] == T0
    err = _error(mock.call("POST", "/_mock/webhooks/drain", json={"force": "yes"}), 400, "VALIDATION_ERROR")
    assert err["details"]["field"] == "force"


# --- in-process receiver ---------------------------------------------------------------------------------

def test_in_process_receiver_callable(mock, server):
    mock.freeze(T0)
    mock.settings(processingDelaySeconds=1, verifyDelaySeconds=2)
    emit(mock, "c1", -3)  # creates the workspace row
    seen: list[tuple[dict, bytes]] = []
    statuses = iter([500, 204])

    def receive(headers: dict, body: bytes) -> int:
        seen.append((headers, body))
        return next(statuses)

    ws_id = workspace_row_id(server, mock.key)
    server.runtime.webhook_callables[ws_id] = receive
    try:
        advance(mock, 2)
        advance(mock, 10)
    finally:
        server.runtime.webhook_callables.pop(ws_id, None)
    (entry,) = outbox(mock)
    assert [h["X-PacSpace-Delivery-Attempt"] for h, _ in seen] == ["1", "2"]
    assert all(body == entry["body"].encode() for _, body in seen)
    assert (entry["deliveryStatus"], entry["attempts"], entry["lastResponseStatus"], entry["captured"]) == ("delivered", 2, 204, False)
    assert [a["error"] for a in entry["attemptLog"]] == ["http_500", None]


# --- the six events ------------------------------------------------------------------------------------

def test_every_event_type(mock, pac):
    mock.freeze(T0)
    mock.settings(processingDelaySeconds=1, verifyDelaySeconds=2)
    customer = mock.ok("POST", "/dashboard/customers", 201, json={"displayName": "Acme", "customerId": "c1"},
                       headers={"Authorization": "Bearer t"})
    ok = emit(mock, "c1", -5, referenceId="ok")
    mock.ok("POST", "/_mock/faults", 201, json={"match": {"route": "balance.emit"}, "nth": [1],
                                               "actions": [{"type": "fail_verification", "message": "anchor rejected"}]})
    bad = emit(mock, "c1", -3, referenceId="bad")
    assert advance(mock, 2)["processed"] == processed(transitions=4, events=2, attempts=3, delivered=3)
    failed = mock.ok("GET", f"{B}/delta/{bad['recordId']}")
    assert (failed["status"], failed["error"], failed["errorMessage"], failed["failedAt"]) == (
        "FAILED", "VERIFICATION_FAILED", "anchor rejected", "2026-02-10T00:00:02.000Z")

    chk = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "c1", "period": "2026-02"})
    assert advance(mock, 2)["processed"] == processed(transitions=1, events=1, attempts=1, delivered=1)
    proof = mock.ok("GET", f"{B}/invoice-proof/c1", params={"period": "2026-02"})
    mock.ok("GET", f"{B}/invoice-proof/c1", params={"period": "2026-02"})  # not the first time: no new event
    cmp = pac.balance.compare("c1", {"yours": -5, "theirs": -8}, {"period": "2026-02"})

    entries = outbox(mock)
    t2, t4 = "2026-02-10T00:00:02.000Z", "2026-02-10T00:00:04.000Z"
    assert [(e["eventId"], e["event"], e["createdAt"]) for e in entries] == [
        (counted_id("evt", mock.key, 1), "customer.created", T0),
        (counted_id("evt", mock.key, 2), "delta.verified", t2),
        (counted_id("evt", mock.key, 3), "delta.failed", t2),
        (counted_id("evt", mock.key, 4), "checkpoint.verified", t4),
        (counted_id("evt", mock.key, 5), "receipt.generated", t4),
        (counted_id("evt", mock.key, 6), "customer.compare_run", t4),
    ]
    bodies = [json.loads(e["body"]) for e in entries]
    tenant = bodies[0]["tenantId"]
    for e, body in zip(entries, bodies):
        assert list(body) == ["id", "event", "tenantId", "createdAt", "timestamp", "data"]
        assert (body["id"], body["event"], body["tenantId"], body["createdAt"], body["timestamp"]) == (
            e["eventId"], e["event"], tenant, e["createdAt"], e["createdAt"])

    assert bodies[0]["data"] == customer
    assert list(bodies[0]["data"]) == list(customer)
    assert bodies[1]["data"]["recordId"] == ok["recordId"]
    assert bodies[2]["data"] == {
        "recordId": bad["recordId"], "customerId": "c1", "delta": -3, "reason": "usage", "referenceId": "bad",
        "sequenceNumber": "2", "receiptId": bad["receiptId"], "status": "FAILED", "error": "VERIFICATION_FAILED",
        "message": "anchor rejected", "failedAt": t2,
    }
    assert list(bodies[2]["data"]) == ["recordId", "customerId", "delta", "reason", "referenceId", "sequenceNumber",
                                      "receiptId", "status", "error", "message", "failedAt"]
    cv = bodies[3]["data"]
    assert list(cv) == ["checkpointId", "customerId", "period", "startDate", "endDate", "proofRoot", "itemsRoot",
                        "treeSize", "deltaCount", "netChange", "status", "verifiedAt", "verificationReference",
                        "blockTimestamp", "chainId", "supersedes"]
    assert (cv["checkpointId"], cv["proofRoot"], cv["treeSize"], cv["netChange"], cv["status"], cv["verifiedAt"],
            cv["chainId"]) == (chk["checkpointId"], chk["proofRoot"], 1, -5, "VERIFIED", t4, 296)
    rg = bodies[4]["data"]
    assert list(rg) == ["receiptId", "checkpointId", "customerId", "period", "startDate", "endDate", "proofRoot",
                        "deltaCount", "finalBalance", "verifyUrl", "verificationApiUrl", "generatedAt"]
    assert (rg["receiptId"], rg["proofRoot"], rg["deltaCount"], rg["finalBalance"], rg["verifyUrl"], rg["generatedAt"]) == (
        chk["checkpointId"], proof["proofRoot"], 1, -5, proof["verifyUrl"], t4)
    cr = bodies[5]["data"]
    assert cr == {"customerId": "c1", "initiator": "tenant", "neutralBalance": -5, "yourBalance": -5, "theirBalance": -8,
                  "matchesYours": True, "matchesTheirs": False, "discrepancySide": "theirs",
                  "resolutionCode": "THEIRS_DIFFERS_USE_NEUTRAL", "scope": cmp["scope"], "comparedAt": t4}
    assert list(cr) == ["customerId", "initiator", "neutralBalance", "yourBalance", "theirBalance", "matchesYours",
                        "matchesTheirs", "discrepancySide", "resolutionCode", "scope", "comparedAt"]
    # the events written by requests wait for the next delivery pass
    assert [e["deliveryStatus"] for e in entries] == ["delivered"] * 4 + ["pending"] * 2
    assert mock.ok("POST", "/_mock/webhooks/drain", json={}) == {"attempted": 2, "delivered": 2, "failed": 0, "pending": 0}
    # filtering the outbox by event type
    assert [e["event"] for e in outbox(mock, event="delta.failed")] == ["delta.failed"]
    assert mock.ok("GET", "/_mock/workspace")["counts"]["events"] == 6


# --- deliveries never hold the store (a receiver calling back, a slow receiver) ---------------------

class CallingBack:
    """The common integration: on delta.verified the receiver reads the delta back from the API."""

    def __init__(self, mock) -> None:
        import requests

        self.mock = mock
        self.session = requests.Session()  # its own connection, like a receiver in another process
        self.seen: list[dict] = []

    def __call__(self, body: bytes) -> None:
        event = json.loads(body)
        started = time.perf_counter()
        reply = self.session.get(f"{self.mock.base_url}{B}/delta/{event['data']['recordId']}",
                                 headers={"X-Api-Key": self.mock.key}, timeout=30)
        clock = self.session.get(f"{self.mock.base_url}/_mock/clock", headers={"X-Api-Key": self.mock.key}, timeout=30)
        self.seen.append({"ms": (time.perf_counter() - started) * 1000, "status": reply.status_code,
                          "delta": reply.json()["data"]["status"], "now": clock.json()["data"]["now"]})


def test_a_receiver_calling_back_during_a_clock_move_gets_its_reply_at_once(mock, receiver):
    mock.freeze(T0)
    mock.settings(verifyDelaySeconds=2, processingDelaySeconds=1)
    mock.ok("PUT", "/_mock/webhooks/config", json={"url": receiver.url})
    emit(mock, "c1", -5)
    receiver.on_post = back = CallingBack(mock)
    moved = advance(mock, 10)
    assert moved["processed"] == processed(transitions=2, events=1, attempts=1, delivered=1)
    call, = back.seen
    assert call["status"] == 200 and call["delta"] == "VERIFIED"
    assert call["ms"] < 1000, f"the receiver's call back took {call['ms']:.0f} ms"
    # while the delivery was in flight the clock stood at the attempt's due time (§8.3)
    assert call["now"] == "2026-02-10T00:00:02.000Z"
    entry, = outbox(mock)
    assert (entry["deliveryStatus"], entry["attempts"], entry["lastResponseStatus"]) == ("delivered", 1, 200)
    assert mock.ok("GET", "/_mock/clock")["now"] == "2026-02-10T00:00:10.000Z"


def test_a_clock_move_never_takes_the_clock_back_behind_one_made_while_it_delivered(mock, receiver):
    """While a move's attempt is out, another client (here the receiver) moves the clock a minute
    on. The first move then stands the clock neither at its retry's due time nor at its own
    target, both earlier: readings never go back (§3.1), or a record later in sequence would get
    an earlier time and receipts (lines in sequence order) would stop verifying."""
    import requests

    mock.freeze(T0)
    mock.settings(verifyDelaySeconds=2, processingDelaySeconds=1)
    mock.ok("PUT", "/_mock/webhooks/config", json={"url": receiver.url})
    emit(mock, "c1", -5)
    session, key = requests.Session(), {"X-Api-Key": mock.key}
    readings: list[str] = []

    def on_post(body: bytes) -> None:
        if not readings:  # the first attempt (due +2 s): a minute on, and a 500 (its retry is due at +12 s)
            session.post(f"{mock.base_url}/_mock/clock/advance", json={"seconds": 60}, headers=key).raise_for_status()
        receiver.status = 500 if not readings else 200
        readings.append(session.get(f"{mock.base_url}/_mock/clock", headers=key).json()["data"]["now"])

    receiver.on_post = on_post
    moved = advance(mock, 20)
    later = "2026-02-10T00:01:02.000Z"
    assert readings == [later, later]
    assert (moved["now"], mock.ok("GET", "/_mock/clock")["now"]) == (later, later)
    entry, = outbox(mock)
    assert [(a["at"], a["responseStatus"]) for a in entry["attemptLog"]] == [
        ("2026-02-10T00:00:02.000Z", 500), ("2026-02-10T00:00:12.000Z", 200)]
    assert emit(mock, "c1", -1)["recordedAt"] == later


def test_a_receiver_calling_back_during_a_drain_or_a_manual_retry_gets_its_reply_at_once(mock, receiver):
    mock.freeze(T0)
    mock.ok("PUT", "/_mock/webhooks/config", json={"url": receiver.url})
    emit(mock, "c1", -5)
    mock.ok("GET", f"{B}/usage")  # applies the due transition: the event is pending, nothing attempted
    receiver.on_post = back = CallingBack(mock)
    assert mock.ok("POST", "/_mock/webhooks/drain", json={}) == {"attempted": 1, "delivered": 1, "failed": 0,
                                                                 "pending": 0}
    event_id = outbox(mock)[0]["eventId"]
    retried = mock.ok("POST", f"{B}/webhooks/{event_id}/retry", json={})
    assert (retried["deliveryStatus"], retried["attempts"], retried["lastResponseStatus"]) == ("delivered", 2, 200)
    assert [c["status"] for c in back.seen] == [200, 200] and [c["delta"] for c in back.seen] == ["VERIFIED"] * 2
    assert max(c["ms"] for c in back.seen) < 1000, back.seen


def test_a_slow_receiver_stalls_no_other_request(mock, server, receiver):
    """While a receiver takes its time (up to 5 s), every workspace keeps being served."""
    from conftest import Mock

    entered, release = threading.Event(), threading.Event()

    def hold(body: bytes) -> None:
        entered.set()
        release.wait(5)

    mock.freeze(T0)
    mock.ok("PUT", "/_mock/webhooks/config", json={"url": receiver.url})
    emit(mock, "c1", -5)
    receiver.on_post = hold
    drained: list[dict] = []
    worker = threading.Thread(target=lambda: drained.append(mock.ok("POST", "/_mock/webhooks/drain", json={})))
    worker.start()
    try:
        assert entered.wait(10), "the delivery never reached the receiver"
        other = Mock(server.url, mock.key + "_other")
        timings = []
        for client in [other] * 10 + [mock] * 5:
            started = time.perf_counter()
            client.ok("GET", f"{B}/limits")
            timings.append((time.perf_counter() - started) * 1000)
        emit(other, "c2", -1)  # writes too
        assert max(timings) < 50, f"requests took up to {max(timings):.0f} ms while a receiver was waiting"
        assert not drained  # the drain itself is still waiting on its receiver
    finally:
        release.set()
        worker.join(10)
    assert drained == [{"attempted": 1, "delivered": 1, "failed": 0, "pending": 0}]
    assert outbox(mock)[0]["deliveryStatus"] == "delivered"


def test_background_errors_are_logged_with_their_traceback(caplog, monkeypatch):
    """A failing delivery pass is never swallowed: the task logs it and keeps running."""
    import logging

    from mockserver.runtime import Runtime, ServerConfig
    from mockserver.webhooks import background, deliveries

    runtime = Runtime(ServerConfig())
    caplog.set_level(logging.ERROR, logger="pacspace_mock")
    with runtime.store.transaction() as conn:
        runtime.resolve_workspace(conn, "pk_test_logged")  # webhookDelivery auto

    def broken(*args, **kwargs):
        raise RuntimeError("boom in the outbox")

    monkeypatch.setattr(deliveries, "captures", broken)
    task = background.BackgroundDelivery(runtime, interval=0.01).start()
    try:
        deadline = time.monotonic() + 10
        while len([r for r in caplog.records if r.name == "pacspace_mock.webhooks"]) < 2:  # it keeps going
            assert time.monotonic() < deadline, "the failing passes were not logged"
            time.sleep(0.01)
    finally:
        task.stop()
    record = next(r for r in caplog.records if r.name == "pacspace_mock.webhooks")
    assert record.exc_info and "boom in the outbox" in str(record.exc_info[1])


def test_an_unexpected_error_is_logged_with_its_traceback_and_answered_in_the_envelope(mock, server, caplog,
                                                                                       monkeypatch):
    """Never expected (the suite fuzzes for it), but when it happens: logged, enveloped, journaled."""
    import logging

    from mockserver.ledger import deltas

    def broken(*args, **kwargs):
        raise RuntimeError("boom in the ledger")

    caplog.set_level(logging.ERROR, logger="pacspace_mock")
    monkeypatch.setattr(deltas, "usage_object", broken)
    reply = mock.call("GET", f"{B}/usage")
    assert reply.status_code == 500 and reply.json()["error"]["code"] == "INTERNAL_ERROR"
    assert reply.headers["X-Request-Id"].startswith("req_")
    record = next(r for r in caplog.records if r.name == "pacspace_mock")
    assert record.exc_info and "boom in the ledger" in str(record.exc_info[1])
    entry = mock.ok("GET", "/_mock/journal", params={"limit": 1})["entries"][0]
    assert (entry["status"], entry["errorCode"]) == (500, "INTERNAL_ERROR")

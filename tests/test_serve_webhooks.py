"""`serve`'s background delivery (balance-api.md §7.7 point 1) as a dev-server user meets it: a real
`pacspace-mock serve` process with small real delays and a real HTTP receiver. Nothing here moves
the clock to make a delivery happen or drains the outbox: only the background task delivers.
Waits are bounded polls of the receiver, never fixed sleeps."""

from __future__ import annotations

import json
import signal
import time

import pytest
import requests
from pacspace_sdk import Webhooks

from mockserver.testkit import WebhookReceiver
from test_serve import Served

KEY = {"X-Api-Key": "pk_test_hooks"}
B = "/api/v1/balance"
DEADLINE_S = 10.0


@pytest.fixture
def receiver():
    r = WebhookReceiver()
    yield r
    r.close()


@pytest.fixture
def served(tmp_path):
    s = Served("--db", str(tmp_path / "hooks.sqlite"), "--processing-delay", "0", "--verify-delay", "0.2",
               "--no-access-log")
    yield s
    s.stop()


def _control(served: Served, method: str, path: str, body=None) -> dict:
    reply = requests.request(method, served.url + path, headers=KEY, json=body, timeout=10)
    assert reply.ok, reply.text
    return reply.json()["data"]


def _wait_for(received, count: int, url: str) -> list[dict]:
    """Poll the receiver until it holds `count` requests (bounded by DEADLINE_S)."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        got = received(url)
        if len(got) >= count:
            return got
        assert time.monotonic() < deadline, f"{len(got)} of {count} deliveries arrived within {DEADLINE_S} s"
        time.sleep(0.02)


def _recorded_entry(served: Served, attempts: int) -> dict:
    """The only outbox entry once its attempt number `attempts` is recorded: the receiver holds a
    POST slightly before the server has written what the receiver answered."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        entry, = _control(served, "GET", "/_mock/webhooks/outbox")["entries"]
        if len(entry["attemptLog"]) >= attempts:
            return entry
        assert time.monotonic() < deadline, f"attempt {attempts} was not recorded within {DEADLINE_S} s"
        time.sleep(0.02)


def _emit(served: Served, reference: str) -> dict:
    reply = requests.post(f"{served.url}{B}/delta", headers=KEY, timeout=10, json={
        "customerId": "cust_hooks", "delta": -7, "reason": "usage", "referenceId": reference})
    assert reply.status_code == 201, reply.text
    return reply.json()["data"]


def test_background_task_delivers_a_signed_event(served, receiver):
    url = receiver.url_for("signed")
    config = _control(served, "PUT", "/_mock/webhooks/config", {"url": url})
    assert config["mode"] == "http"
    delta = _emit(served, "r1")
    request, = _wait_for(receiver.received, 1, url)
    headers, body = request["headers"], request["body"]
    # the official SDK accepts it with its default 300 s tolerance (wall-clock timestamps, §7.5)
    event = Webhooks(config["secret"]).verify_from_headers(headers, body)
    assert event["event"] == "delta.verified" and event["data"]["recordId"] == delta["recordId"]
    assert headers["X-Webhook-Event"] == "delta.verified" and headers["X-PacSpace-Delivery-Attempt"] == "1"
    assert headers["User-Agent"] == "pacspace-mock-webhooks/1" and headers["X-Event-ID"] == event["id"]
    entry = _recorded_entry(served, 1)
    assert entry["body"] == body  # the stored bytes, exactly
    assert (entry["deliveryStatus"], entry["attempts"], entry["lastResponseStatus"], entry["captured"]) == (
        "delivered", 1, 200, False)
    with pytest.raises(Exception):  # and a wrong secret is refused
        Webhooks("whsec_not_the_secret_at_all").verify_from_headers(headers, body)


def test_a_failing_receiver_is_retried_on_schedule(served, receiver):
    url = receiver.url_for("failing")
    receiver.respond_with(url, 500)
    _control(served, "PUT", "/_mock/webhooks/config", {"url": url})
    _emit(served, "r2")
    first, = _wait_for(receiver.received, 1, url)
    entry = _recorded_entry(served, 1)
    assert (entry["deliveryStatus"], entry["attempts"], entry["lastError"], entry["lastResponseStatus"]) == (
        "pending", 1, "http_500", 500)
    from conftest import to_ms

    # §7.7: the second attempt is due 10 s (virtual) after the first
    assert to_ms(entry["nextAttemptAt"]) - to_ms(entry["lastAttemptAt"]) == 10_000
    receiver.respond_with(url, 200)
    # Stand the (running) clock one second before the retry is due: nothing is due yet, so the
    # move itself attempts nothing; the background task must pick the retry up when it comes due.
    due = to_ms(entry["nextAttemptAt"])
    from mockserver.proofs.primitives import format_ts

    moved = _control(served, "POST", "/_mock/clock/set", {"now": format_ts(due - 1000)})
    assert moved["processed"]["deliveryAttempts"] == 0 and moved["mode"] == "offset"
    assert len(receiver.received(url)) == 1
    first_body = first["body"]
    second = _wait_for(receiver.received, 2, url)[1]
    assert second["headers"]["X-PacSpace-Delivery-Attempt"] == "2" and second["body"] == first_body
    entry = _recorded_entry(served, 2)
    assert (entry["deliveryStatus"], entry["attempts"], entry["lastResponseStatus"]) == ("delivered", 2, 200)
    log = entry["attemptLog"]
    assert [a["responseStatus"] for a in log] == [500, 200]
    assert to_ms(log[1]["at"]) >= due  # not before its schedule


def test_a_receiver_calling_back_during_a_background_delivery_gets_its_reply_at_once(served):
    """The common integration: on delta.verified the receiver reads the delta back from the API.
    The background task must not hold the store while it waits for the receiver's answer."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    import threading

    seen: list[tuple[int, str, float]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            started = time.perf_counter()
            reply = requests.get(f"{served.url}{B}/delta/{event['data']['recordId']}", headers=KEY, timeout=30)
            seen.append((reply.status_code, reply.json()["data"]["status"], time.perf_counter() - started))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        _control(served, "PUT", "/_mock/webhooks/config", {"url": f"http://127.0.0.1:{httpd.server_address[1]}/h"})
        _emit(served, "r4")
        deadline = time.monotonic() + DEADLINE_S
        while True:
            entries = _control(served, "GET", "/_mock/webhooks/outbox")["entries"]
            if entries and entries[0]["deliveryStatus"] != "pending":
                break
            assert time.monotonic() < deadline, entries
            time.sleep(0.02)
    finally:
        httpd.shutdown()
        httpd.server_close()
    (status, delta_status, seconds), = seen
    assert (status, delta_status) == (200, "VERIFIED") and seconds < 1, seen
    assert (entries[0]["deliveryStatus"], entries[0]["lastResponseStatus"]) == ("delivered", 200)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stopping_serve_stops_the_background_task_cleanly(tmp_path, receiver, sig):
    served = Served("--db", str(tmp_path / "stop.sqlite"), "--processing-delay", "0", "--verify-delay", "0",
                    "--no-access-log")
    try:
        url = receiver.url_for("stop")
        receiver.respond_with(url, 503)  # leaves a retry scheduled: the task has work when we stop it
        _control(served, "PUT", "/_mock/webhooks/config", {"url": url})
        _emit(served, "r3")
        _wait_for(receiver.received, 1, url)
        started = time.monotonic()
        served.proc.send_signal(sig)
        code = served.proc.wait(timeout=DEADLINE_S)
        stopped_in = time.monotonic() - started
    finally:
        output = served.stop()
    # uvicorn finishes its graceful shutdown and then exits by the signal it caught (SIGTERM: -15)
    assert code in (0, -sig), output
    assert stopped_in < 5, f"serve took {stopped_in:.1f} s to stop"
    assert "Traceback" not in output and "ERROR" not in output, output
    # the lifespan's shutdown ran: the task stopped and the store was closed, which checkpoints
    # SQLite's write-ahead log into the file and removes it (a killed process leaves it behind)
    assert not (tmp_path / "stop.sqlite-wal").exists()
    # the database is left consistent: a restart finds the pending delivery where it was
    restarted = Served("--db", str(tmp_path / "stop.sqlite"), "--no-access-log")
    try:
        entries = requests.get(f"{restarted.url}/_mock/webhooks/outbox", headers=KEY, timeout=10).json()["data"]
        entry, = entries["entries"]
        assert (entry["deliveryStatus"], entry["attempts"], entry["lastError"]) == ("pending", 1, "http_503")
        assert json.loads(entry["body"])["event"] == "delta.verified"
    finally:
        restarted.stop()

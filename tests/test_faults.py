"""Fault injection (balance-api.md §8.6, §8.7, §1.14 step 4/9, §4, §11 last row): rule validation,
the rule list, nth/times/seeded probability, the journal of firings, and what the official SDK does
with each injected reply (retries after Retry-After, exceptions, commit-then-drop recovery)."""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace

import pacspace_sdk.client
import pytest
from pacspace_sdk import (
    CadenceLimitError,
    ContractNotDeployedError,
    InsufficientCreditsError,
    PacSpace,
    PacSpaceError,
    RateLimitError,
    ServiceUnavailableError,
)

from conftest import error_of as _error

B = "/api/v1/balance"
T0 = "2026-02-10T00:00:00.000Z"
JOURNAL_MEMBERS = ["seq", "requestId", "at", "method", "path", "query", "route", "status", "latencyMs", "customerId",
                   "idempotencyKey", "idempotentReplay", "errorCode", "fault", "userAgent", "chainId"]


def _public_id(key: str) -> str:
    return key.split("_", 2)[2].split(".", 1)[0]


def rule(mock, **body) -> dict:
    return mock.ok("POST", "/_mock/faults", 201, json=body)


def journal(mock, **params) -> list[dict]:
    return mock.ok("GET", "/_mock/journal", params=params)["entries"]


def emit_body(customer: str = "c1", amount=-5, **extra) -> dict:
    return {"customerId": customer, "delta": amount, "reason": "usage", **extra}


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """Record the SDK's retry sleeps instead of sleeping (the SDK calls time.sleep in pacspace_sdk.client)."""
    recorded: list[float] = []
    monkeypatch.setattr(pacspace_sdk.client, "time", SimpleNamespace(sleep=recorded.append))
    return recorded


def sdk(server, mock, retries: int) -> PacSpace:
    return PacSpace.init(mock.key, base_url=server.url, max_retries=retries)


# --- rule validation ----------------------------------------------------------------------------------

REASONS = {"required", "type", "format", "range", "too_long", "unknown_field", "unknown", "future", "conflict",
           "invalid_json", "not_allowed"}
EMIT_503 = {"match": {"route": "balance.emit"}, "actions": [{"type": "error", "status": 503}]}

INVALID_RULES = [
    ("unknown member", {**EMIT_503, "bogus": 1}, "bogus", "unknown_field"),
    ("unknown match member", {**EMIT_503, "match": {"route": "balance.emit", "verb": "POST"}}, "match.verb", "unknown_field"),
    ("unknown action parameter", {**EMIT_503, "actions": [{"type": "error", "status": 503, "delay": 1}]},
     "actions[0].delay", "unknown_field"),
    ("bad route name", {**EMIT_503, "match": {"route": "balance.nope"}}, "match.route", "format"),
    ("bad event", {"match": {"event": "delta.lost"}, "actions": [{"type": "webhook_failure"}]}, "match.event", "format"),
    ("no criterion", {**EMIT_503, "match": {"customerId": "c1"}}, "match", "required"),
    ("missing match", {"actions": [{"type": "error", "status": 503}]}, "match", "required"),
    ("fail_verification on a read route", {"match": {"route": "balance.derive"}, "actions": [{"type": "fail_verification"}]},
     "actions", "not_allowed"),
    ("fail_verification without a route", {"match": {"method": "POST"}, "actions": [{"type": "fail_verification"}]},
     "actions", "not_allowed"),
    ("chain_unavailable on emit", {"match": {"route": "balance.emit"}, "actions": [{"type": "chain_unavailable"}]},
     "actions", "not_allowed"),
    ("webhook criteria with a request action", {"match": {"event": "delta.verified"}, "actions": [{"type": "error", "status": 503}]},
     "actions", "not_allowed"),
    ("two response actions", {**EMIT_503, "actions": [{"type": "error", "status": 503}, {"type": "rate_limited"}]},
     "actions", "conflict"),
    ("two latencies", {**EMIT_503, "actions": [{"type": "latency", "ms": 1}, {"type": "latency", "ms": 2}]},
     "actions", "conflict"),
    ("no action", {**EMIT_503, "actions": []}, "actions", "required"),
    ("unknown action type", {**EMIT_503, "actions": [{"type": "explode"}]}, "actions[0].type", "format"),
    ("error status outside the set", {**EMIT_503, "actions": [{"type": "error", "status": 404}]}, "actions[0].status", "range"),
    ("latency out of range", {**EMIT_503, "actions": [{"type": "latency", "ms": 60001}]}, "actions[0].ms", "range"),
    ("nth zero", {**EMIT_503, "nth": [0]}, "nth[0]", "range"),
    ("nth empty", {**EMIT_503, "nth": []}, "nth", "type"),
    ("nth too long", {**EMIT_503, "nth": list(range(1, 1002))}, "nth", "type"),
    ("nth not integers", {**EMIT_503, "nth": [1.5]}, "nth[0]", "type"),
    ("times zero", {**EMIT_503, "times": 0}, "times", "range"),
    ("probability above 1", {**EMIT_503, "probability": 1.5}, "probability", "range"),
    ("probability below 0", {**EMIT_503, "probability": -0.1}, "probability", "range"),
    ("description too long", {**EMIT_503, "description": "x" * 201}, "description", "type"),
]


@pytest.mark.parametrize("body,field,reason", [case[1:] for case in INVALID_RULES], ids=[case[0] for case in INVALID_RULES])
def test_rule_validation(mock, body, field, reason):
    err = _error(mock.call("POST", "/_mock/faults", json=body), 400, "VALIDATION_ERROR")
    assert err["details"]["field"] == field
    # §1.9 fixes unknown_field; other reasons only need to be one of §1.4's
    assert err["details"]["reason"] in REASONS
    if reason == "unknown_field":
        assert err["details"]["reason"] == "unknown_field" and field in err["message"]
    assert isinstance(err["message"], str) and err["message"]
    assert mock.ok("GET", "/_mock/faults") == {"rules": []}


def test_rule_list_count_clear_delete(mock):
    mock.freeze(T0)
    first = rule(mock, description="first emit answers 503", nth=[1], **{**EMIT_503,
                 "actions": [{"type": "error", "status": 503, "retryAfterSeconds": 1}]})
    assert first == {
        "ruleId": "flt_1",
        "match": {"method": None, "route": "balance.emit", "path": None, "customerId": None, "event": None},
        "nth": [1], "times": None, "probability": None,
        "actions": [{"type": "error", "status": 503, "code": "SERVICE_UNAVAILABLE", "retryAfterSeconds": 1}],
        "description": "first emit answers 503", "matched": 0, "fired": 0, "createdAt": T0,
    }
    assert list(first) == ["ruleId", "match", "nth", "times", "probability", "actions", "description", "matched",
                           "fired", "createdAt"]
    second = rule(mock, match={"method": "get", "path": "/api/v1/balance/*"}, actions=[{"type": "latency", "ms": 1}])
    assert second["ruleId"] == "flt_2" and second["match"]["method"] == "GET"
    third = rule(mock, match={"route": "balance.usage"}, actions=[{"type": "rate_limited"}])
    assert third["actions"] == [{"type": "rate_limited", "retryAfterSeconds": 5}]
    assert [r["ruleId"] for r in mock.ok("GET", "/_mock/faults")["rules"]] == ["flt_1", "flt_2", "flt_3"]

    assert mock.ok("DELETE", "/_mock/faults/flt_2") == {"deleted": "flt_2"}
    _error(mock.call("DELETE", "/_mock/faults/flt_2"), 404, "NOT_FOUND")
    _error(mock.call("DELETE", "/_mock/faults/flt_99"), 404, "NOT_FOUND")
    _error(mock.call("DELETE", "/_mock/faults/nonsense"), 404, "NOT_FOUND")
    assert [r["ruleId"] for r in mock.ok("GET", "/_mock/faults")["rules"]] == ["flt_1", "flt_3"]
    assert mock.ok("DELETE", "/_mock/faults") == {"cleared": 2}
    assert mock.ok("GET", "/_mock/faults") == {"rules": []}
    assert mock.ok("DELETE", "/_mock/faults") == {"cleared": 0}
    # rule numbers are never reused
    assert rule(mock, **EMIT_503)["ruleId"] == "flt_4"


# --- when rules fire ----------------------------------------------------------------------------------

def _usage_statuses(mock, n: int) -> list[int]:
    return [mock.call("GET", f"{B}/usage").status_code for _ in range(n)]


def test_nth(mock):
    rule(mock, match={"route": "balance.usage"}, nth=[2, 4], actions=[{"type": "error", "status": 503}])
    mock.ok("GET", f"{B}/limits")  # another route does not count
    assert _usage_statuses(mock, 6) == [200, 503, 200, 503, 200, 200]
    (r,) = mock.ok("GET", "/_mock/faults")["rules"]
    assert (r["matched"], r["fired"]) == (6, 2)


def test_times(mock):
    rule(mock, match={"route": "balance.usage"}, times=2, actions=[{"type": "error", "status": 502}])
    assert _usage_statuses(mock, 4) == [502, 502, 200, 200]
    (r,) = mock.ok("GET", "/_mock/faults")["rules"]
    assert (r["matched"], r["fired"]) == (4, 2)


def test_customer_and_path_criteria(mock):
    rule(mock, match={"route": "balance.emit", "customerId": "c2"}, actions=[{"type": "error", "status": 500}])
    rule(mock, match={"method": "GET", "path": "/api/v1/balance/derive/*"}, actions=[{"type": "error", "status": 502}])
    assert mock.call("POST", f"{B}/delta", json=emit_body("c1")).status_code == 201
    assert mock.call("POST", f"{B}/delta", json=emit_body("c2")).status_code == 500
    batch = {"deltas": [emit_body("c1", -1), emit_body("c2", -2)]}
    assert mock.call("POST", f"{B}/delta/batch", json=batch).status_code == 201  # route criterion: emit only
    assert mock.call("GET", f"{B}/derive/c1").status_code == 502
    assert mock.call("GET", f"{B}/usage").status_code == 200
    assert [(r["matched"], r["fired"]) for r in mock.ok("GET", "/_mock/faults")["rules"]] == [(1, 1), (1, 1)]


def test_first_firing_rule_applies_all_matching_count(mock):
    rule(mock, match={"route": "balance.usage"}, nth=[2], actions=[{"type": "error", "status": 502}])
    rule(mock, match={"route": "balance.usage"}, actions=[{"type": "error", "status": 503}])
    assert _usage_statuses(mock, 3) == [503, 502, 503]
    rules = mock.ok("GET", "/_mock/faults")["rules"]
    assert [(r["matched"], r["fired"]) for r in rules] == [(3, 1), (3, 2)]


def _draws(seed: int, key: str, rule_id: str, n: int, probability: float) -> list[bool]:
    env, pid = key.split("_")[1], _public_id(key)
    out = []
    for matched in range(1, n + 1):
        digest = hashlib.sha256(f"pacspace-mock:fault:v1|{seed}|{env}|{pid}|{rule_id}|{matched}".encode()).digest()
        out.append(int.from_bytes(digest[:8], "big") / 2**64 < probability)
    return out


def _probability_pattern(mock, n: int = 24) -> list[bool]:
    created = rule(mock, match={"route": "balance.usage"}, probability=0.5, actions=[{"type": "error", "status": 503}])
    assert created["ruleId"] == "flt_1" and created["probability"] == 0.5
    pattern = [status == 503 for status in _usage_statuses(mock, n)]
    (r,) = mock.ok("GET", "/_mock/faults")["rules"]
    assert (r["matched"], r["fired"]) == (n, sum(pattern))
    return pattern


def test_probability_is_seeded(server, mock):
    first = _probability_pattern(mock)
    assert first == _draws(7, mock.key, "flt_1", 24, 0.5)
    assert 0 < sum(first) < 24  # a real mix, not all or nothing
    # a fresh start of the same workspace with the same seed: the same pattern
    mock.ok("POST", "/_mock/reset", json={})
    assert _probability_pattern(mock) == first
    # another fresh workspace: its own pattern, again exactly the documented draw
    other = type(mock)(server.url, f"{mock.key}x")
    assert _probability_pattern(other) == _draws(7, other.key, "flt_1", 24, 0.5)
    # another seed: the draw follows it
    third = type(mock)(server.url, f"{mock.key}y")
    third.ok("POST", "/_mock/seed", json={"seed": 8})
    pattern = _probability_pattern(third)
    assert pattern == _draws(8, third.key, "flt_1", 24, 0.5)
    assert pattern != _draws(7, third.key, "flt_1", 24, 0.5)


def test_probability_bounds(mock):
    rule(mock, match={"route": "balance.usage"}, probability=0, actions=[{"type": "error", "status": 503}])
    rule(mock, match={"route": "balance.limits"}, probability=1, actions=[{"type": "error", "status": 503}])
    assert _usage_statuses(mock, 5) == [200] * 5
    assert [mock.call("GET", f"{B}/limits").status_code for _ in range(5)] == [503] * 5


def test_journal_records_each_firing(mock):
    mock.freeze(T0)
    rule(mock, match={"route": "balance.usage"}, nth=[2, 3], actions=[{"type": "error", "status": 503, "retryAfterSeconds": 4}])
    replies = [mock.call("GET", f"{B}/usage", headers={"User-Agent": "fault-test/1", "X-Chain-Id": "296"}) for _ in range(4)]
    assert [r.status_code for r in replies] == [200, 503, 503, 200]
    assert replies[1].headers["Retry-After"] == "4"
    assert replies[1].json()["error"]["retryAfterSeconds"] == 4
    entries = journal(mock, route="balance.usage")
    assert [e["seq"] for e in entries] == [4, 3, 2, 1]
    assert [e["requestId"] for e in entries] == [r.headers["X-Request-Id"] for r in reversed(replies)]
    assert [e["fault"] for e in entries] == [None, {"ruleId": "flt_1", "actions": ["error"]},
                                             {"ruleId": "flt_1", "actions": ["error"]}, None]
    assert [e["errorCode"] for e in entries] == [None, "SERVICE_UNAVAILABLE", "SERVICE_UNAVAILABLE", None]
    entry = entries[1]
    assert list(entry) == JOURNAL_MEMBERS
    assert {k: entry[k] for k in JOURNAL_MEMBERS if k != "latencyMs"} == {
        "seq": 3, "requestId": replies[2].headers["X-Request-Id"], "at": T0, "method": "GET", "path": f"{B}/usage",
        "query": "", "route": "balance.usage", "status": 503, "customerId": None, "idempotencyKey": None,
        "idempotentReplay": False, "errorCode": "SERVICE_UNAVAILABLE", "fault": {"ruleId": "flt_1", "actions": ["error"]},
        "userAgent": "fault-test/1", "chainId": "296",
    }


# --- the SDK against injected replies ------------------------------------------------------------------

def test_sdk_retries_one_503_after_retry_after(server, mock, sleeps):
    mock.freeze(T0)
    rule(mock, match={"route": "balance.emit"}, nth=[1], actions=[{"type": "error", "status": 503, "retryAfterSeconds": 1}])
    pac = sdk(server, mock, 2)
    result = pac.balance.emit("c1", -5, "usage", {"referenceId": "r-1"})
    assert result["status"] == "QUEUED" and result["idempotent"] is False
    assert sleeps == [1.0]
    assert mock.ok("GET", "/_mock/workspace")["counts"]["deltas"] == 1
    entries = journal(mock, route="balance.emit")
    assert [(e["status"], e["errorCode"], e["fault"]) for e in entries] == [
        (201, None, None), (503, "SERVICE_UNAVAILABLE", {"ruleId": "flt_1", "actions": ["error"]})]
    assert all(e["userAgent"] == "pacspace-sdk-python/0.7.0" and e["customerId"] == "c1" for e in entries)


def test_sdk_cadence_limit_is_not_retried(server, mock, sleeps):
    rule(mock, match={"route": "balance.emit"}, actions=[{"type": "cadence_limit", "retryAfterSeconds": 90}])
    with pytest.raises(CadenceLimitError) as caught:
        sdk(server, mock, 2).balance.emit("c1", -5, "usage")
    assert caught.value.retry_after_ms == 90_000 and caught.value.customer_id == "c1"
    assert caught.value.status_code == 429 and caught.value.code == "CADENCE_LIMIT"
    assert sleeps == []
    (entry,) = journal(mock)
    assert (entry["status"], entry["errorCode"], entry["fault"]) == (429, "CADENCE_LIMIT",
                                                                   {"ruleId": "flt_1", "actions": ["cadence_limit"]})
    raw = mock.call("POST", f"{B}/delta", json=emit_body("c9"))
    err = _error(raw, 429, "CADENCE_LIMIT")
    assert err["retryAfterSeconds"] == 90 and err["customerId"] == "c9" and raw.headers["Retry-After"] == "90"
    assert list(err) == ["code", "message", "retryAfterSeconds", "customerId"]
    # no customer named: customerId omitted
    rule(mock, match={"route": "balance.usage"}, actions=[{"type": "cadence_limit"}])
    err = _error(mock.call("GET", f"{B}/usage"), 429, "CADENCE_LIMIT")
    assert err["retryAfterSeconds"] == 120 and "customerId" not in err
    assert mock.ok("GET", "/_mock/workspace")["counts"]["deltas"] == 0


def test_sdk_rate_limited_retries_then_raises(server, mock, sleeps):
    rule(mock, match={"route": "balance.usage"}, actions=[{"type": "rate_limited", "retryAfterSeconds": 3}])
    with pytest.raises(RateLimitError) as caught:
        sdk(server, mock, 2).balance.usage()
    assert caught.value.retry_after == 3 and caught.value.status_code == 429
    assert sleeps == [3.0, 3.0]
    entries = journal(mock)
    assert [(e["status"], e["errorCode"]) for e in entries] == [(429, "RATE_LIMITED")] * 3
    raw = mock.call("GET", f"{B}/usage")
    err = _error(raw, 429, "RATE_LIMITED")
    assert err["retryAfterSeconds"] == 3 and raw.headers["Retry-After"] == "3" and "customerId" not in err


def test_commit_then_drop_then_sdk_retry_with_reference_id(server, mock, sleeps):
    mock.freeze(T0)
    rule(mock, match={"route": "balance.emit"}, nth=[1],
         actions=[{"type": "commit_then_drop", "retryAfterSeconds": 2}])
    result = sdk(server, mock, 2).balance.emit("c1", -5, "usage", {"referenceId": "r-1"})
    assert sleeps == [2.0]
    assert result["idempotent"] is True and result["sequence"] == 1
    assert mock.ok("GET", "/_mock/workspace")["counts"]["deltas"] == 1
    derived = mock.ok("GET", f"{B}/derive/c1")
    assert derived["deltasCount"] == 1 and derived["computedBalance"] == -5
    assert derived["deltas"][0]["recordId"] == result["recordId"]
    entries = journal(mock, route="balance.emit")
    assert [(e["status"], e["errorCode"], e["idempotentReplay"], e["fault"]) for e in entries] == [
        (200, None, True, None),
        (503, "SERVICE_UNAVAILABLE", False, {"ruleId": "flt_1", "actions": ["commit_then_drop"]}),
    ]


def test_commit_then_drop_with_idempotency_key_replays_the_stored_reply(server, mock, sleeps):
    mock.freeze(T0)
    rule(mock, match={"route": "balance.emit"}, nth=[1], actions=[{"type": "commit_then_drop", "status": 502}])
    headers = {"Idempotency-Key": "k-1"}
    dropped = mock.call("POST", f"{B}/delta", json=emit_body(), headers=headers)
    _error(dropped, 502, "BAD_GATEWAY")
    assert "Idempotent-Replayed" not in dropped.headers
    replay = mock.call("POST", f"{B}/delta", json=emit_body(), headers=headers)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    data = replay.json()["data"]
    assert (data["status"], data["idempotent"], data["sequence"]) == ("QUEUED", False, 1)
    again = mock.call("POST", f"{B}/delta", json=emit_body(), headers=headers)
    assert again.status_code == 201 and again.content == replay.content
    assert mock.ok("GET", "/_mock/workspace")["counts"]["deltas"] == 1

    # the same through the SDK's own retry: the original 201 reply, not a referenceId replay
    rule(mock, match={"route": "balance.emit"}, nth=[1], actions=[{"type": "commit_then_drop", "retryAfterSeconds": 1}])
    result = sdk(server, mock, 2).balance.emit("c1", -6, "usage", {"idempotencyKey": "k-2"})
    assert sleeps == [1.0]
    assert result["idempotent"] is False and result["status"] == "QUEUED" and result["sequence"] == 2
    assert mock.ok("GET", "/_mock/workspace")["counts"]["deltas"] == 2
    last = journal(mock, route="balance.emit", limit=2)
    assert [(e["status"], e["idempotencyKey"], e["idempotentReplay"]) for e in last] == [
        (201, "k-2", True), (503, "k-2", False)]


ERROR_CASES = [
    (402, "INSUFFICIENT_CREDITS", InsufficientCreditsError),
    (403, "API_KEY_ENVIRONMENT_HOST_MISMATCH", PacSpaceError),
    (412, "CONTRACT_NOT_DEPLOYED", ContractNotDeployedError),
    (500, "INTERNAL_ERROR", PacSpaceError),
    (502, "BAD_GATEWAY", PacSpaceError),
    (503, "SERVICE_UNAVAILABLE", ServiceUnavailableError),
]


@pytest.mark.parametrize("status,code,exc", ERROR_CASES, ids=[str(c[0]) for c in ERROR_CASES])
def test_injected_errors_map_to_sdk_exceptions(server, mock, sleeps, status, code, exc):
    rule(mock, match={"route": "balance.emit"}, actions=[{"type": "error", "status": status}])
    with pytest.raises(exc) as caught:
        sdk(server, mock, 0).balance.emit("c1", -5, "usage")
    assert caught.value.status_code == status
    if exc is PacSpaceError:
        assert type(caught.value) is PacSpaceError and caught.value.code == code
    raw = mock.call("POST", f"{B}/delta", json=emit_body())
    err = _error(raw, status, code)
    assert "retryAfterSeconds" not in err and "Retry-After" not in raw.headers
    assert mock.ok("GET", "/_mock/workspace")["counts"]["deltas"] == 0
    assert sleeps == []


def test_custom_error_code_and_message(mock):
    rule(mock, match={"route": "balance.usage"},
         actions=[{"type": "error", "status": 503, "code": "MAINTENANCE", "message": "down for maintenance",
                   "retryAfterSeconds": 30}])
    raw = mock.call("GET", f"{B}/usage")
    assert raw.status_code == 503 and raw.headers["Retry-After"] == "30"
    assert raw.json()["error"] == {"code": "MAINTENANCE", "message": "down for maintenance", "retryAfterSeconds": 30}


def test_latency_action(mock):
    rule(mock, match={"route": "balance.usage"}, actions=[{"type": "latency", "ms": 5}])
    assert mock.ok("GET", f"{B}/usage")["allowed"] is True
    (entry,) = journal(mock)
    assert entry["status"] == 200 and entry["fault"] == {"ruleId": "flt_1", "actions": ["latency"]}
    assert entry["latencyMs"] >= 5
    # latency may accompany one other action
    rule(mock, match={"route": "balance.limits"}, actions=[{"type": "latency", "ms": 5}, {"type": "error", "status": 502}])
    _error(mock.call("GET", f"{B}/limits"), 502, "BAD_GATEWAY")
    entry = journal(mock, limit=1)[0]
    assert entry["fault"] == {"ruleId": "flt_2", "actions": ["latency", "error"]} and entry["latencyMs"] >= 5


def test_fail_verification(mock, sleeps):
    mock.freeze(T0)
    mock.settings(processingDelaySeconds=1, verifyDelaySeconds=2)
    rule(mock, match={"route": "balance.emit"}, nth=[1], actions=[{"type": "fail_verification"}])
    doomed = mock.ok("POST", f"{B}/delta", 201, json=emit_body(referenceId="r-1"))
    fine = mock.ok("POST", f"{B}/delta", 201, json=emit_body(amount=-2))
    assert doomed["status"] == "QUEUED"
    mock.clock_set("2026-02-10T00:00:01.000Z")
    assert mock.ok("GET", f"{B}/delta/{doomed['recordId']}")["status"] == "PROCESSING"
    mock.clock_set("2026-02-10T00:00:01.999Z")
    assert mock.ok("GET", f"{B}/delta/{doomed['recordId']}")["status"] == "PROCESSING"
    mock.clock_set("2026-02-10T00:00:02.000Z")
    failed = mock.ok("GET", f"{B}/delta/{doomed['recordId']}")
    assert (failed["status"], failed["failedAt"], failed["error"], failed["verifiedAt"], failed["verificationReference"]) == (
        "FAILED", "2026-02-10T00:00:02.000Z", "VERIFICATION_FAILED", None, None)
    assert isinstance(failed["errorMessage"], str) and failed["errorMessage"]
    assert mock.ok("GET", f"{B}/delta/{fine['recordId']}")["status"] == "VERIFIED"

    gaps = mock.ok("GET", f"{B}/gaps/c1")
    assert gaps == {"customerId": "c1", "fromSequence": 1, "toSequence": 2, "highestSequence": 2, "verifiedThrough": 0,
                    "gaps": [{"fromSequence": 1, "toSequence": 1, "count": 1, "state": "failed"}], "gapCount": 1,
                    "hasGaps": True, "truncated": False}
    derived = mock.ok("GET", f"{B}/derive/c1")
    assert (derived["computedBalance"], derived["deltasCount"], derived["failedCount"], derived["pendingCount"]) == (-2, 1, 1, 0)
    events = mock.ok("GET", "/_mock/webhooks/outbox")["entries"]
    assert [e["event"] for e in events] == ["delta.failed", "delta.verified"]
    data = json.loads(events[0]["body"])["data"]
    assert (data["recordId"], data["error"], data["failedAt"], data["status"]) == (
        doomed["recordId"], "VERIFICATION_FAILED", "2026-02-10T00:00:02.000Z", "FAILED")
    (entry,) = [e for e in journal(mock, route="balance.emit") if e["fault"]]
    assert entry["status"] == 201 and entry["fault"] == {"ruleId": "flt_1", "actions": ["fail_verification"]}
    # a replay of the FAILED original returns it
    replay = mock.ok("POST", f"{B}/delta", 200, json=emit_body(referenceId="r-1"))
    assert (replay["status"], replay["idempotent"], replay["recordId"]) == ("FAILED", True, doomed["recordId"])


def test_fail_verification_on_a_checkpoint(mock):
    mock.freeze(T0)
    mock.settings(processingDelaySeconds=1, verifyDelaySeconds=2)
    mock.ok("POST", f"{B}/delta", 201, json=emit_body())
    mock.clock_set("2026-02-10T00:00:02.000Z")
    rule(mock, match={"route": "balance.checkpoint"}, actions=[{"type": "fail_verification", "message": "anchor lost"}])
    chk = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "c1", "period": "2026-02"})
    mock.clock_set("2026-02-10T00:00:04.000Z")
    (listed,) = mock.ok("GET", f"{B}/checkpoints")["checkpoints"]
    assert (listed["checkpointId"], listed["status"], listed["failedAt"], listed["verifiedAt"]) == (
        chk["checkpointId"], "FAILED", "2026-02-10T00:00:04.000Z", None)
    assert [e["event"] for e in mock.ok("GET", "/_mock/webhooks/outbox")["entries"]] == ["delta.verified"]


def test_chain_unavailable_on_public_verify(server, mock):
    mock.freeze(T0)
    mock.ok("POST", f"{B}/delta", 201, json=emit_body())
    chk = mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "c1", "period": "2026-02"})
    pac = sdk(server, mock, 0)
    assert pac.verify(chk["proofRoot"], "chain")["verified"] is True
    rule(mock, match={"route": "public.verify"}, actions=[{"type": "chain_unavailable"}])
    chain = pac.verify(chk["proofRoot"], "chain")
    assert (chain["verified"], chain["message"], chain["source"]) == (False, "chain unavailable", "chain")
    assert chain["checks"] == {"recomputed": True, "anchored": True, "chainAvailable": False}
    both = pac.verify(chk["proofRoot"], "both")
    assert (both["verified"], both["message"]) == (False, "chain unavailable")
    db = pac.verify(chk["proofRoot"])
    assert (db["verified"], db["message"], db["checks"]["chainAvailable"]) == (True, "ok", False)
    entries = journal(mock, route="public.verify")
    assert [e["fault"] for e in entries] == [{"ruleId": "flt_1", "actions": ["chain_unavailable"]}] * 3 + [None]
    assert all(e["status"] == 200 for e in entries)

"""The /_mock control plane (balance-api.md §8): clock, month ends driven by the clock, settings
validation and isolation, seed, reset, workspaces/health, keys and strict mode, whole-database
state export/import, and the request journal."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
import time

import pytest
import requests

from mockserver.embedded import EmbeddedServer
from mockserver.runtime import Runtime, ServerConfig

from conftest import counted_id, error_of as _error, public_id, spec_b32 as _b32, to_ms

B = "/api/v1/balance"
T0 = "2026-02-10T00:00:00.000Z"
SETTINGS_MEMBERS = ["seed", "processingDelaySeconds", "verifyDelaySeconds", "sharedRecord", "strictMode",
                    "cadenceLimitSeconds", "planAllotment", "limits", "publicOrigin", "webhookDelivery",
                    "webhookTimestampClock", "idempotencyTtlSeconds", "journalSize", "embedOrigins"]
NO_WORK = {"transitions": 0, "events": 0, "deliveryAttempts": 0, "delivered": 0, "failed": 0}


# --- helpers ---------------------------------------------------------------------------------------

def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def tenant_id(key: str) -> str:
    return "ten_" + _b32(hashlib.sha256(f"pacspace-mock:tenant:v1|{public_id(key)}".encode()).digest()[:10])


def _field_error(response, field: str, reason: str | None = None) -> dict:
    err = _error(response, 400, "VALIDATION_ERROR")
    assert err["details"]["field"] == field, err
    if reason is not None:
        assert err["details"]["reason"] == reason, err
    return err


def emit(mock, customer: str = "c1", amount=-5, **extra) -> dict:
    return mock.ok("POST", f"{B}/delta", 201, json={"customerId": customer, "delta": amount, "reason": "usage", **extra})


def clock(mock) -> dict:
    return mock.ok("GET", "/_mock/clock")


# --- clock --------------------------------------------------------------------------------------------

def test_clock_read_freeze_set_advance(mock):
    fresh = clock(mock)
    assert list(fresh) == ["now", "mode", "offsetMs"]
    assert (fresh["mode"], fresh["offsetMs"]) == ("real", 0)
    assert abs(to_ms(fresh["now"]) - wall_ms()) < 5000

    assert mock.ok("POST", "/_mock/clock/freeze", json={"at": T0}) == {"now": T0, "mode": "frozen", "offsetMs": None}
    assert clock(mock) == {"now": T0, "mode": "frozen", "offsetMs": None}
    assert clock(mock) == {"now": T0, "mode": "frozen", "offsetMs": None}  # frozen: no drift

    assert mock.clock_set("2026-02-10T00:00:01.500Z") == {
        "previous": T0, "now": "2026-02-10T00:00:01.500Z", "mode": "frozen", "offsetMs": None, "processed": NO_WORK}
    assert mock.ok("POST", "/_mock/clock/advance", json={"seconds": 90}) == {
        "previous": "2026-02-10T00:00:01.500Z", "now": "2026-02-10T00:01:31.500Z", "mode": "frozen", "offsetMs": None,
        "processed": NO_WORK}
    # millisecond precision
    assert mock.ok("POST", "/_mock/clock/advance", json={"seconds": 0.001})["now"] == "2026-02-10T00:01:31.501Z"
    assert mock.ok("POST", "/_mock/clock/advance", json={"until": "2026-02-11T00:00:00Z"})["now"] == "2026-02-11T00:00:00.000Z"
    # offsets are converted to UTC
    assert mock.ok("POST", "/_mock/clock/advance", json={"until": "2026-02-11T02:00:00.250+01:00"})["now"] == (
        "2026-02-11T01:00:00.250Z")
    # setting the current instant is allowed (not earlier than now)
    assert mock.clock_set("2026-02-11T01:00:00.250Z")["now"] == "2026-02-11T01:00:00.250Z"
    # freeze without "at" freezes at now
    assert mock.ok("POST", "/_mock/clock/freeze", json={}) == {"now": "2026-02-11T01:00:00.250Z", "mode": "frozen",
                                                               "offsetMs": None}


def test_unfreeze_and_running_clock(mock):
    mock.freeze(T0)
    before = wall_ms()
    unfrozen = mock.ok("POST", "/_mock/clock/unfreeze", json={})
    after = wall_ms()
    assert unfrozen["mode"] == "offset"
    assert to_ms(T0) - after - 50 <= unfrozen["offsetMs"] <= to_ms(T0) - before + 50
    assert unfrozen["now"] == T0
    reading = clock(mock)
    assert reading["mode"] == "offset" and reading["offsetMs"] == unfrozen["offsetMs"]
    assert 0 <= to_ms(reading["now"]) - to_ms(T0) < 5000  # runs again from the frozen instant
    # advancing a running clock adds to its offset
    moved = mock.ok("POST", "/_mock/clock/advance", json={"seconds": 3600})
    assert moved["mode"] == "offset"
    assert 3_600_000 - 5000 < moved["offsetMs"] - unfrozen["offsetMs"] <= 3_600_000
    assert to_ms(moved["now"]) - to_ms(moved["previous"]) == 3_600_000
    # a set on a running clock keeps it running (mode offset, offset adjusted)
    target = "2026-03-01T00:00:00.000Z"
    setting = mock.clock_set(target)
    assert setting["mode"] == "offset" and setting["now"] == target
    assert abs(setting["offsetMs"] - (to_ms(target) - wall_ms())) < 5000
    # readings never go back
    readings = [to_ms(clock(mock)["now"]) for _ in range(3)]
    assert readings == sorted(readings) and readings[0] >= to_ms(target)
    # unfreezing a running clock changes nothing
    assert mock.ok("POST", "/_mock/clock/unfreeze", json={})["mode"] == "offset"


def test_clock_backwards_once_the_workspace_holds_data(mock):
    mock.freeze(T0)
    emit(mock)
    for route, body, field in (("/_mock/clock/set", {"now": "2026-02-09T23:59:59.999Z"}, "now"),
                               ("/_mock/clock/freeze", {"at": "2026-02-01T00:00:00.000Z"}, None),
                               ("/_mock/clock/advance", {"until": "2026-02-09T00:00:00.000Z"}, None)):
        err = _error(mock.call("POST", route, json=body), 400, "CLOCK_BACKWARDS")
        if field:
            assert err["details"]["field"] == field
        assert clock(mock) == {"now": T0, "mode": "frozen", "offsetMs": None}


BAD_CLOCK_BODIES = [
    ("/_mock/clock/set", {"now": "2026-02-10 00:00:00Z"}, "now", "format"),
    ("/_mock/clock/set", {"now": "2026-02-10T00:00:00"}, "now", "format"),
    ("/_mock/clock/set", {"now": "2026-02-30T00:00:00Z"}, "now", "format"),
    ("/_mock/clock/set", {"now": "2026-02-10T00:00:60Z"}, "now", "format"),
    ("/_mock/clock/set", {"now": "yesterday"}, "now", "format"),
    ("/_mock/clock/set", {"now": 1770681600000}, "now", "type"),
    ("/_mock/clock/set", {}, "now", "required"),
    ("/_mock/clock/set", {"now": T0, "mode": "frozen"}, "mode", "unknown_field"),
    ("/_mock/clock/freeze", {"at": "2026-02-10"}, "at", "format"),
    ("/_mock/clock/freeze", {"until": T0}, "until", "unknown_field"),
    ("/_mock/clock/unfreeze", {"now": T0}, "now", "unknown_field"),
    ("/_mock/clock/advance", {"seconds": 0}, "seconds", "range"),
    ("/_mock/clock/advance", {"seconds": -5}, "seconds", "range"),
    ("/_mock/clock/advance", {"seconds": 0.0005}, "seconds", "range"),
    ("/_mock/clock/advance", {"seconds": 400_000_000}, "seconds", "range"),
    ("/_mock/clock/advance", {"seconds": "90"}, "seconds", "type"),
    ("/_mock/clock/advance", {"seconds": True}, "seconds", "type"),
    ("/_mock/clock/advance", {"seconds": 1, "until": T0}, "seconds", None),
    ("/_mock/clock/advance", {}, "seconds", "required"),
    ("/_mock/clock/advance", {"until": "soon"}, "until", "format"),
    ("/_mock/clock/advance", {"minutes": 1}, "minutes", "unknown_field"),
]


@pytest.mark.parametrize("route,body,field,reason", BAD_CLOCK_BODIES,
                         ids=[f"{c[0].rsplit('/', 1)[1]}-{i}" for i, c in enumerate(BAD_CLOCK_BODIES)])
def test_clock_input_errors(mock, route, body, field, reason):
    mock.freeze(T0)
    _field_error(mock.call("POST", route, json=body), field, reason)
    assert clock(mock) == {"now": T0, "mode": "frozen", "offsetMs": None}


def test_clock_body_must_be_an_object(mock):
    mock.freeze(T0)
    _error(mock.call("POST", "/_mock/clock/set", data=b"[1]"), 400, "VALIDATION_ERROR")
    _error(mock.call("POST", "/_mock/clock/set", data=b"{not json"), 400, "VALIDATION_ERROR")
    assert clock(mock)["now"] == T0


# --- month end driven by the clock ---------------------------------------------------------------------

def test_month_end_is_driven_only_by_the_virtual_clock(mock):
    mock.freeze("2026-01-31T23:59:59.999Z")
    january = emit(mock, amount=-10)
    assert (january["period"], january["recordedAt"]) == ("2026-01", "2026-01-31T23:59:59.999Z")
    current = mock.ok("GET", f"{B}/derive/c1", params={"timePreset": "current_month"})
    assert current["scope"]["period"] == "2026-01" and current["scope"]["endDate"] == "2026-02-01T00:00:00.000Z"
    assert (current["computedBalance"], current["deltasCount"]) == (-10, 1)
    assert mock.ok("GET", f"{B}/usage")["period"] == "2026-01"

    mock.clock_set("2026-02-01T00:00:00.000Z")
    february = emit(mock, amount=-3)
    assert (february["period"], february["recordedAt"]) == ("2026-02", "2026-02-01T00:00:00.000Z")
    current = mock.ok("GET", f"{B}/derive/c1", params={"timePreset": "current_month"})
    assert current["scope"]["mode"] == "current_month"
    assert (current["scope"]["period"], current["scope"]["startDate"], current["scope"]["endDate"]) == (
        "2026-02", "2026-02-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z")
    assert (current["computedBalance"], current["deltasCount"]) == (-3, 1)
    default = mock.ok("GET", f"{B}/derive/c1")
    assert default["scope"]["period"] == "2026-02" and default["computedBalance"] == -3
    assert mock.ok("GET", f"{B}/derive/c1", params={"period": "2026-01"})["computedBalance"] == -10
    usage = mock.ok("GET", f"{B}/usage")
    assert (usage["period"], usage["periodStart"], usage["consumedDeltas"]) == ("2026-02", "2026-02-01T00:00:00.000Z", 1)
    assert mock.ok("GET", f"{B}/customers/summary")["period"] == "2026-02"


# --- settings -----------------------------------------------------------------------------------------

BAD_SETTINGS = [
    ("seed", -1, "seed"), ("seed", 2**63, "seed"), ("seed", "7", "seed"), ("seed", 1.5, "seed"),
    ("processingDelaySeconds", -1, "processingDelaySeconds"), ("processingDelaySeconds", 86401, "processingDelaySeconds"),
    ("processingDelaySeconds", 0.0001, "processingDelaySeconds"), ("processingDelaySeconds", "1", "processingDelaySeconds"),
    ("processingDelaySeconds", True, "processingDelaySeconds"),
    ("verifyDelaySeconds", 86401, "verifyDelaySeconds"), ("verifyDelaySeconds", None, "verifyDelaySeconds"),
    ("sharedRecord", "true", "sharedRecord"), ("strictMode", 1, "strictMode"),
    ("cadenceLimitSeconds", 0, "cadenceLimitSeconds"), ("cadenceLimitSeconds", 604801, "cadenceLimitSeconds"),
    ("planAllotment", -1, "planAllotment"), ("planAllotment", 10**9 + 1, "planAllotment"),
    ("limits", 5, "limits"), ("limits", {"maxScopeMonths": 0}, "limits.maxScopeMonths"),
    ("limits", {"maxScopeMonths": 1201}, "limits.maxScopeMonths"), ("limits", {"maxLastNDays": 36501}, "limits.maxLastNDays"),
    ("limits", {"maxRetentionDays": 0}, "limits.maxRetentionDays"), ("limits", {"maxDays": 1}, "limits.maxDays"),
    ("publicOrigin", "ftp://example.com", "publicOrigin"), ("publicOrigin", "http://example.com/", "publicOrigin"),
    ("publicOrigin", 8787, "publicOrigin"),
    ("webhookDelivery", "sometimes", "webhookDelivery"), ("webhookTimestampClock", "local", "webhookTimestampClock"),
    ("idempotencyTtlSeconds", 0, "idempotencyTtlSeconds"), ("idempotencyTtlSeconds", 604801, "idempotencyTtlSeconds"),
    ("journalSize", 9, "journalSize"), ("journalSize", 100001, "journalSize"),
    ("embedOrigins", "http://a.test", "embedOrigins"), ("embedOrigins", ["nope"], "embedOrigins"),
    ("embedOrigins", [f"http://a{i}.test" for i in range(21)], "embedOrigins"),
    ("bogus", 1, "bogus"),
]


@pytest.mark.parametrize("member,value,field", BAD_SETTINGS, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_SETTINGS)])
def test_settings_validation(mock, member, value, field):
    before = mock.ok("GET", "/_mock/settings")
    err = _field_error(mock.call("PATCH", "/_mock/settings", json={member: value}), field)
    if member == "bogus" or field == "limits.maxDays":
        assert err["details"]["reason"] == "unknown_field"
    assert mock.ok("GET", "/_mock/settings") == before


def test_settings_patch_and_delay_order(mock):
    defaults = mock.ok("GET", "/_mock/settings")
    assert list(defaults) == SETTINGS_MEMBERS
    assert defaults["seed"] == 7 and defaults["limits"] == {"maxScopeMonths": 24, "maxLastNDays": 90, "maxRetentionDays": 730}
    # verifyDelaySeconds may not be below processingDelaySeconds, whichever member moves
    _field_error(mock.call("PATCH", "/_mock/settings", json={"processingDelaySeconds": 5, "verifyDelaySeconds": 2}),
                 "verifyDelaySeconds", "range")
    _field_error(mock.call("PATCH", "/_mock/settings", json={"processingDelaySeconds": 1}), "verifyDelaySeconds", "range")
    # a rejected PATCH changes nothing, not even its valid members
    _field_error(mock.call("PATCH", "/_mock/settings", json={"planAllotment": 5, "journalSize": 1}), "journalSize")
    assert mock.ok("GET", "/_mock/settings") == defaults

    changed = mock.settings(processingDelaySeconds=0.25, verifyDelaySeconds=0.5, limits={"maxScopeMonths": 12},
                            cadenceLimitSeconds=60, planAllotment=0, publicOrigin="https://mock.example:8443",
                            embedOrigins=["https://shop.example"], webhookTimestampClock="virtual")
    assert list(changed) == SETTINGS_MEMBERS
    assert changed == {**defaults, "processingDelaySeconds": 0.25, "verifyDelaySeconds": 0.5,
                       "limits": {"maxScopeMonths": 12, "maxLastNDays": 90, "maxRetentionDays": 730},
                       "cadenceLimitSeconds": 60, "planAllotment": 0, "publicOrigin": "https://mock.example:8443",
                       "embedOrigins": ["https://shop.example"], "webhookTimestampClock": "virtual"}
    assert mock.ok("GET", "/_mock/settings") == changed
    assert mock.ok("GET", f"{B}/limits")["maxScopeMonths"] == 12
    back = mock.settings(cadenceLimitSeconds=None, planAllotment=None, publicOrigin=None)
    assert (back["cadenceLimitSeconds"], back["planAllotment"], back["publicOrigin"]) == (None, None, None)
    assert mock.ok("PATCH", "/_mock/settings", json={}) == back


def test_settings_clock_and_faults_are_isolated(server, mock):
    Mock = type(mock)
    a, b = mock, Mock(server.url, f"{mock.key}b")
    live = Mock(server.url, mock.key.replace("pk_test_", "pk_live_"))
    b_settings, live_settings = b.ok("GET", "/_mock/settings"), live.ok("GET", "/_mock/settings")
    assert b_settings == live_settings == a.ok("GET", "/_mock/settings")

    a.settings(seed=99, processingDelaySeconds=3, verifyDelaySeconds=4, cadenceLimitSeconds=60, journalSize=10,
               webhookTimestampClock="virtual", strictMode=False)
    a.freeze(T0)
    a.ok("POST", "/_mock/clock/advance", json={"seconds": 10})
    a.ok("POST", "/_mock/faults", 201, json={"match": {"route": "balance.usage"}, "actions": [{"type": "error", "status": 503}]})
    a.ok("PUT", "/_mock/webhooks/config", json={"rotateSecret": True})
    _error(a.call("GET", f"{B}/usage"), 503, "SERVICE_UNAVAILABLE")

    for other, settings in ((b, b_settings), (live, live_settings)):
        assert other.ok("GET", "/_mock/settings") == settings
        reading = clock(other)
        assert reading["mode"] == "real" and reading["offsetMs"] == 0
        assert abs(to_ms(reading["now"]) - wall_ms()) < 5000
        assert other.ok("GET", "/_mock/faults") == {"rules": []}
        assert other.ok("GET", f"{B}/usage")["allowed"] is True
        assert other.ok("GET", "/_mock/webhooks/config")["previousSecret"] is None
        first = emit(other)
        assert first["recordId"] == counted_id("rec", other.key, 1, seed=7)
        assert first["status"] == "QUEUED"
    assert clock(a) == {"now": "2026-02-10T00:00:10.000Z", "mode": "frozen", "offsetMs": None}
    assert a.ok("GET", "/_mock/workspace")["counts"]["deltas"] == 0


# --- seed, reset, workspace --------------------------------------------------------------------------

def test_seed(mock):
    mock.freeze(T0)
    first = emit(mock)
    assert first["recordId"] == counted_id("rec", mock.key, 1, seed=7)
    settings = mock.ok("POST", "/_mock/seed", json={"seed": 42})
    assert list(settings) == SETTINGS_MEMBERS and settings["seed"] == 42
    assert mock.ok("GET", "/_mock/settings") == settings
    # derivations made afterwards use the new seed; counters continue
    second = emit(mock, amount=-6)
    assert second["recordId"] == counted_id("rec", mock.key, 2, seed=42)
    assert second["deltaIndex"] == 2
    assert mock.ok("GET", f"{B}/delta/{first['recordId']}")["recordId"] == first["recordId"]
    _field_error(mock.call("POST", "/_mock/seed", json={"seed": -1}), "seed", "range")
    _field_error(mock.call("POST", "/_mock/seed", json={"seed": 2**63}), "seed", "range")
    _field_error(mock.call("POST", "/_mock/seed", json={"seed": "42"}), "seed", "type")
    _field_error(mock.call("POST", "/_mock/seed", json={}), "seed", "required")
    _field_error(mock.call("POST", "/_mock/seed", json={"seed": 1, "salt": 2}), "salt", "unknown_field")
    assert mock.ok("POST", "/_mock/seed", json={"seed": 2**63 - 1})["seed"] == 2**63 - 1


def test_workspace_object(mock):
    ws = mock.ok("GET", "/_mock/workspace")
    assert list(ws) == ["publicId", "environment", "tenantId", "ledgerId", "chainId", "createdAt", "counts"]
    assert (ws["publicId"], ws["environment"], ws["tenantId"], ws["chainId"]) == (
        public_id(mock.key), "test", tenant_id(mock.key), 296)
    assert ws["counts"] == {"customers": 0, "deltas": 0, "checkpoints": 0, "events": 0}
    live = type(mock)(mock.base_url, mock.key.replace("pk_test_", "pk_live_")).ok("GET", "/_mock/workspace")
    assert (live["environment"], live["chainId"], live["tenantId"]) == ("live", 295, ws["tenantId"])
    assert live["ledgerId"] != ws["ledgerId"]


def test_reset(server, mock):
    fresh_defaults = type(mock)(server.url, f"{mock.key}d").ok("GET", "/_mock/settings")
    default_config = mock.ok("GET", "/_mock/webhooks/config")
    mock.freeze(T0)
    first_reply = mock.call("POST", f"{B}/delta", json={"customerId": "c1", "delta": -5, "reason": "usage"})
    assert first_reply.status_code == 201
    first = first_reply.json()["data"]
    emit(mock, "c2", -1)
    mock.ok("POST", f"{B}/checkpoint", 201, json={"customerId": "c1", "period": "2026-02"})
    mock.ok("POST", f"{B}/delta", 201, json={"customerId": "c1", "delta": -2, "reason": "usage"},
            headers={"Idempotency-Key": "k-1"})
    mock.ok("POST", "/_mock/faults", 201, json={"match": {"route": "balance.limits"}, "actions": [{"type": "error", "status": 500}]})
    mock.settings(cadenceLimitSeconds=30, seed=9)
    mock.ok("PUT", "/_mock/webhooks/config", json={"url": "http://127.0.0.1:9/hooks", "rotateSecret": True})
    mock.ok("POST", "/_mock/webhooks/drain", json={"force": True})
    before = mock.ok("GET", "/_mock/workspace")
    assert before["counts"] == {"customers": 2, "deltas": 3, "checkpoints": 1, "events": 4}

    _field_error(mock.call("POST", "/_mock/reset", json={"all": True}), "all", "unknown_field")
    reset = mock.ok("POST", "/_mock/reset", json={})
    assert list(reset) == ["reset", "workspace"] and reset["reset"] is True
    assert reset["workspace"] == {**before, "counts": {"customers": 0, "deltas": 0, "checkpoints": 0, "events": 0}}
    assert mock.ok("GET", "/_mock/settings") == fresh_defaults
    reading = clock(mock)
    assert reading["mode"] == "real" and reading["offsetMs"] == 0
    assert mock.ok("GET", "/_mock/faults") == {"rules": []}
    assert mock.ok("GET", "/_mock/journal") == {"entries": [], "total": 0}
    assert mock.ok("GET", "/_mock/webhooks/outbox")["entries"] == []
    assert mock.ok("GET", "/_mock/webhooks/config") == default_config
    assert mock.ok("GET", f"{B}/customers")["customers"] == []
    _error(mock.call("GET", f"{B}/delta/{first['recordId']}"), 404, "NOT_FOUND")
    assert mock.ok("GET", f"{B}/limits")["maxScopeMonths"] == 24  # the fault rule is gone

    # ids restart: the first record and request ids after reset equal the first ever
    mock.freeze(T0)
    again_reply = mock.call("POST", f"{B}/delta", json={"customerId": "c1", "delta": -5, "reason": "usage"})
    again = again_reply.json()["data"]
    assert again_reply.status_code == 201
    assert again["recordId"] == first["recordId"] == counted_id("rec", mock.key, 1)
    assert (again["sequence"], again["deltaIndex"], again["receiptId"]) == (1, 1, first["receiptId"])
    assert again_reply.content == first_reply.content
    # the request counter restarted too (customers, delta and limits above were requests 1-3)
    assert again_reply.headers["X-Request-Id"] == counted_id("req", mock.key, 4)
    assert first_reply.headers["X-Request-Id"] == counted_id("req", mock.key, 1)
    # the Idempotency-Key store is empty
    replayed = mock.call("POST", f"{B}/delta", json={"customerId": "c1", "delta": -2, "reason": "usage"},
                         headers={"Idempotency-Key": "k-1"})
    assert replayed.status_code == 201 and "Idempotent-Replayed" not in replayed.headers


def test_health_and_workspaces(server, mock):
    emit(mock)
    emit(mock, "c2")
    live = type(mock)(server.url, mock.key.replace("pk_test_", "pk_live_"))
    live.ok("GET", f"{B}/usage")
    health = requests.get(f"{server.url}/_mock/health").json()
    assert health["success"] is True
    data = health["data"]
    assert list(data) == ["status", "version", "strict", "workspaces", "storage"]
    assert (data["status"], data["version"], data["strict"], data["storage"]) == ("ok", "0.1.0", False, "memory")
    listed = requests.get(f"{server.url}/_mock/workspaces", headers={"X-Api-Key": "pk_test_whatever"}).json()["data"]
    assert data["workspaces"] == len(listed["workspaces"])
    mine = [w for w in listed["workspaces"] if w["publicId"] == public_id(mock.key)]
    assert [list(w) for w in mine] == [["publicId", "environment", "tenantId", "createdAt", "deltaCount"]] * 2
    assert [(w["environment"], w["tenantId"], w["deltaCount"]) for w in mine] == [
        ("test", tenant_id(mock.key), 2), ("live", tenant_id(mock.key), 0)]
    # global operations ignore X-Api-Key, even a malformed one
    assert requests.get(f"{server.url}/_mock/health", headers={"X-Api-Key": "garbage"}).status_code == 200
    _field_error(requests.get(f"{server.url}/_mock/health", params={"verbose": "1"}), "verbose", "unknown_field")


# --- keys and strict mode ------------------------------------------------------------------------------

def test_keys_register_disable_delete(server, mock):
    key = f"{mock.key}.s3cret"
    http = requests.Session()
    row = http.post(f"{server.url}/_mock/keys", json={"key": key}).json()["data"]
    assert row == {"key": key, "environment": "test", "publicId": public_id(mock.key), "active": True}
    keys = http.get(f"{server.url}/_mock/keys").json()["data"]["keys"]
    assert row in keys
    holder = type(mock)(server.url, key)
    assert holder.ok("GET", f"{B}/usage")["allowed"] is True

    disabled = http.post(f"{server.url}/_mock/keys", json={"key": key, "active": False}).json()["data"]
    assert disabled == {**row, "active": False}
    err = _error(holder.call("GET", f"{B}/usage"), 401, "INVALID_API_KEY")
    assert "disabled" in err["message"]
    _error(holder.call("GET", "/_mock/settings"), 401, "INVALID_API_KEY")
    # the workspace stays reachable through other (unregistered) keys in open mode
    assert mock.ok("GET", f"{B}/usage")["allowed"] is True

    # registered keys survive a workspace reset
    mock.ok("POST", "/_mock/reset", json={})
    assert {**row, "active": False} in http.get(f"{server.url}/_mock/keys").json()["data"]["keys"]

    assert http.delete(f"{server.url}/_mock/keys/{key}").json()["data"] == {"deleted": key}
    _error(http.delete(f"{server.url}/_mock/keys/{key}"), 404, "NOT_FOUND")
    _error(http.delete(f"{server.url}/_mock/keys/pk_test_never_registered"), 404, "NOT_FOUND")
    assert key not in [k["key"] for k in http.get(f"{server.url}/_mock/keys").json()["data"]["keys"]]
    assert holder.ok("GET", f"{B}/usage")["allowed"] is True  # open mode again

    _field_error(http.post(f"{server.url}/_mock/keys", json={"key": "sk_test_nope"}), "key")
    _field_error(http.post(f"{server.url}/_mock/keys", json={}), "key")
    _field_error(http.post(f"{server.url}/_mock/keys", json={"key": key, "active": "yes"}), "active")
    _field_error(http.post(f"{server.url}/_mock/keys", json={"key": key, "role": "admin"}), "role", "unknown_field")


def test_strict_mode_setting(server, mock):
    Mock = type(mock)
    registered = f"{mock.key}.reg"
    http = requests.Session()
    http.post(f"{server.url}/_mock/keys", json={"key": registered})
    try:
        emit(mock)  # open mode: the unregistered key works
        assert mock.settings(strictMode=True)["strictMode"] is True
        err = _error(mock.call("GET", f"{B}/usage"), 401, "INVALID_API_KEY")
        assert "not registered" in err["message"]
        _error(mock.call("GET", "/_mock/settings"), 401, "INVALID_API_KEY")
        _error(Mock(server.url, f"{mock.key}.other").call("GET", f"{B}/usage"), 401, "INVALID_API_KEY")
        holder = Mock(server.url, registered)
        assert holder.ok("GET", f"{B}/usage")["consumedDeltas"] == 1
        assert holder.ok("GET", "/_mock/settings")["strictMode"] is True
        # other workspaces are not strict
        assert Mock(server.url, f"{mock.key}z").ok("GET", f"{B}/usage")["allowed"] is True
        # disabling the registered key closes the workspace entirely
        http.post(f"{server.url}/_mock/keys", json={"key": registered, "active": False})
        _error(holder.call("GET", f"{B}/usage"), 401, "INVALID_API_KEY")
        http.post(f"{server.url}/_mock/keys", json={"key": registered, "active": True})
        holder.settings(strictMode=False)
        assert mock.ok("GET", f"{B}/usage")["consumedDeltas"] == 1
    finally:
        http.delete(f"{server.url}/_mock/keys/{registered}")


# --- state export / import ----------------------------------------------------------------------------

def _sqlite_file(user_version: int) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.sqlite")
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE t (x)")
        conn.execute(f"PRAGMA user_version = {user_version}")
        conn.commit()
        conn.close()
        with open(path, "rb") as handle:
            return handle.read()


def test_state_export_and_import(mock):
    Mock = type(mock)
    runtime = Runtime(ServerConfig(seed=7, processing_delay=0, verify_delay=0))
    with EmbeddedServer(runtime) as srv:
        a = Mock(srv.url, "pk_test_state_a")
        a.freeze(T0)
        kept = emit(a, amount=-1)
        a.ok("GET", f"{B}/derive/c1")

        exported = requests.get(f"{srv.url}/_mock/state")
        assert exported.status_code == 200
        assert exported.headers["content-type"] == "application/vnd.sqlite3"
        assert exported.headers["content-disposition"] == 'attachment; filename="pacspace-mock.sqlite"'
        snapshot = exported.content
        assert snapshot.startswith(b"SQLite format 3\x00")

        # later data: another delta, a setting, a second workspace
        a.clock_set("2026-02-10T00:01:00.000Z")
        later = emit(a, amount=-2)
        a.settings(cadenceLimitSeconds=30)
        b = Mock(srv.url, "pk_test_state_b")
        emit(b, "other")
        assert len(requests.get(f"{srv.url}/_mock/workspaces").json()["data"]["workspaces"]) == 2

        imported = requests.put(f"{srv.url}/_mock/state", data=snapshot)
        assert imported.status_code == 200
        assert imported.json() == {"success": True, "data": {"imported": True, "workspaces": 1}}

        assert a.ok("GET", "/_mock/workspace")["counts"] == {"customers": 1, "deltas": 1, "checkpoints": 0, "events": 1}
        derived = a.ok("GET", f"{B}/derive/c1")
        assert (derived["computedBalance"], [d["recordId"] for d in derived["deltas"]]) == (-1, [kept["recordId"]])
        _error(a.call("GET", f"{B}/delta/{later['recordId']}"), 404, "NOT_FOUND")
        assert a.ok("GET", "/_mock/settings")["cadenceLimitSeconds"] is None
        assert clock(a) == {"now": T0, "mode": "frozen", "offsetMs": None}
        workspaces = requests.get(f"{srv.url}/_mock/workspaces").json()["data"]["workspaces"]
        assert [(w["publicId"], w["deltaCount"]) for w in workspaces] == [("state_a", 1)]
        # counters come back with the data: the next delta is number 2 again
        assert emit(a, amount=-3)["recordId"] == counted_id("rec", a.key, 2)

        # refused imports change nothing
        state_before = requests.get(f"{srv.url}/_mock/workspaces").json()
        counts_before = a.ok("GET", "/_mock/workspace")["counts"]
        for bad in (b"garbage, not a database", b"", b"SQLite format 3\x00" + b"\x00" * 200, _sqlite_file(987654),
                    snapshot[: len(snapshot) // 2]):
            refused = requests.put(f"{srv.url}/_mock/state", data=bad)
            _error(refused, 400, "VALIDATION_ERROR")
            assert requests.get(f"{srv.url}/_mock/workspaces").json() == state_before
            assert a.ok("GET", "/_mock/workspace")["counts"] == counts_before
        assert requests.get(f"{srv.url}/_mock/health").json()["data"]["workspaces"] == 1


# --- journal ------------------------------------------------------------------------------------------

def test_journal_filters_clear_and_size(mock):
    mock.freeze(T0)
    replies = [
        mock.call("GET", f"{B}/usage"),
        mock.call("GET", f"{B}/usage"),
        mock.call("GET", f"{B}/limits"),
        mock.call("GET", f"{B}/delta/rec_missing"),
        mock.call("POST", f"{B}/delta", json={"customerId": "c1", "delta": 0, "reason": "usage"}),
        mock.call("GET", f"{B}/customers", params={"limit": 5}),
        mock.call("GET", f"{B}/usage"),
    ]
    assert [r.status_code for r in replies] == [200, 200, 200, 404, 400, 200, 200]
    assert [r.headers["X-Request-Id"] for r in replies] == [counted_id("req", mock.key, n) for n in range(1, 8)]

    everything = mock.ok("GET", "/_mock/journal")
    assert everything["total"] == 7 and list(everything) == ["entries", "total"]
    entries = everything["entries"]
    assert [e["seq"] for e in entries] == [7, 6, 5, 4, 3, 2, 1]
    assert [e["requestId"] for e in entries] == [r.headers["X-Request-Id"] for r in reversed(replies)]
    assert [e["status"] for e in entries] == [200, 200, 400, 404, 200, 200, 200]
    assert [e["errorCode"] for e in entries] == [None, None, "VALIDATION_ERROR", "NOT_FOUND", None, None, None]
    assert (entries[1]["path"], entries[1]["query"], entries[1]["route"]) == (f"{B}/customers", "limit=5", "balance.customers_list")
    assert (entries[2]["method"], entries[2]["customerId"], entries[2]["at"]) == ("POST", "c1", T0)
    # control calls are not journaled
    assert mock.ok("GET", "/_mock/journal")["total"] == 7

    def seqs(**params):
        data = mock.ok("GET", "/_mock/journal", params=params)
        return [e["seq"] for e in data["entries"]], data["total"]

    assert seqs(limit=2) == ([7, 6], 7)
    assert seqs(route="balance.usage") == ([7, 2, 1], 3)
    assert seqs(route="balance.usage", limit=1) == ([7], 3)
    assert seqs(status=404) == ([4], 1)
    assert seqs(status=200, route="balance.limits") == ([3], 1)
    assert seqs(sinceSeq=4) == ([7, 6, 5], 3)
    assert seqs(sinceSeq=7) == ([], 0)
    assert seqs(route="balance.nothing") == ([], 0)

    for params, field in (({"limit": 0}, "limit"), ({"limit": 1001}, "limit"), ({"limit": "x"}, "limit"),
                          ({"status": "ok"}, "status"), ({"sinceSeq": "-1"}, "sinceSeq"), ({"order": "asc"}, "order")):
        _field_error(mock.call("GET", "/_mock/journal", params=params), field)

    assert mock.ok("DELETE", "/_mock/journal") == {"cleared": 7}
    assert mock.ok("GET", "/_mock/journal") == {"entries": [], "total": 0}
    assert mock.ok("DELETE", "/_mock/journal") == {"cleared": 0}
    # the request counter continues after a clear
    assert mock.call("GET", f"{B}/usage").headers["X-Request-Id"] == counted_id("req", mock.key, 8)

    mock.settings(journalSize=10)
    for _ in range(15):
        mock.ok("GET", f"{B}/usage")
    bounded = mock.ok("GET", "/_mock/journal", params={"limit": 1000})
    assert bounded["total"] == 10
    assert [e["seq"] for e in bounded["entries"]] == list(range(23, 13, -1))


def test_journal_marks_replays(mock):
    """§8.7: idempotentReplay is true for an Idempotency-Key replay, an emit referenceId replay, or a
    batch whose items were all replays."""
    mock.freeze(T0)
    item = {"customerId": "c1", "delta": -1, "reason": "usage", "referenceId": "r-1"}
    other = {"customerId": "c1", "delta": -2, "reason": "usage", "referenceId": "r-2"}
    assert mock.call("POST", f"{B}/delta", json=item).status_code == 201
    assert mock.call("POST", f"{B}/delta", json=item).status_code == 200  # referenceId replay
    assert mock.call("POST", f"{B}/delta", json=other, headers={"Idempotency-Key": "k"}).status_code == 201
    assert mock.call("POST", f"{B}/delta", json=other, headers={"Idempotency-Key": "k"}).status_code == 201  # key replay
    assert mock.call("POST", f"{B}/delta/batch", json={"deltas": [item, other]}).status_code == 200  # all replays
    mixed = {"deltas": [item, {**other, "referenceId": "r-3"}]}
    assert mock.call("POST", f"{B}/delta/batch", json=mixed).status_code == 201
    entries = mock.ok("GET", "/_mock/journal")["entries"]
    assert [(e["route"], e["status"], e["idempotencyKey"], e["idempotentReplay"]) for e in reversed(entries)] == [
        ("balance.emit", 201, None, False),
        ("balance.emit", 200, None, True),
        ("balance.emit", 201, "k", False),
        ("balance.emit", 201, "k", True),
        ("balance.emit_batch", 200, None, True),
        ("balance.emit_batch", 201, None, False),
    ]

"""The pytest plugin as integrators meet it: generated test files run with pytester."""

from __future__ import annotations

import hashlib
import json

from conftest import counted_id
from test_serve import Served

USING_FIXTURES = '''
import pytest

def test_fixtures(pacspace, pacspace_sdk, pacspace_http, pacspace_key, pacspace_url):
    assert pacspace.key == pacspace_key and pacspace_http.base_url == pacspace_url
    result = pacspace_sdk.balance.emit("c1", -5, "usage", {"referenceId": "r1"})
    assert result["status"] == "QUEUED"
    assert pacspace_http.get("/api/v1/balance/derive/c1").json()["data"]["computedBalance"] == -5
    pacspace.assert_balance("c1", -5)

def test_isolated_from_the_other_test(pacspace):
    assert pacspace.request("GET", "/api/v1/balance/derive/c1").status_code == 404

def test_parts(pacspace, pacspace_clock, pacspace_faults, pacspace_outbox, pacspace_journal):
    pacspace_clock.freeze("2026-02-01T00:00:00Z")
    pacspace_faults.add(route="balance.usage", error=503, nth=[1])
    assert pacspace.request("GET", "/api/v1/balance/usage").status_code == 503
    assert pacspace.request("GET", "/api/v1/balance/usage").status_code == 200
    assert [e["status"] for e in pacspace_journal.entries()] == [200, 503]
    assert pacspace_outbox.outbox() == []
'''


def test_fixtures_work_in_a_generated_suite(pytester):
    pytester.makepyfile(USING_FIXTURES)
    result = pytester.runpytest("-q")
    result.assert_outcomes(passed=3)


def test_asgi_fixture(pytester):
    pytester.makepyfile('''
import asyncio

def test_asgi(pacspace_asgi):
    async def go():
        async with pacspace_asgi as client:
            return await client.get("/api/v1/balance/limits")
    assert asyncio.run(go()).json()["data"]["maxScopeMonths"] == 24
''')
    pytester.runpytest("-q").assert_outcomes(passed=1)


def test_a_failing_assertion_says_what_the_ledger_holds(pytester):
    pytester.makepyfile('''
def test_wrong_total(pacspace, pacspace_sdk):
    pacspace_sdk.balance.emit("cust_9", -7, "usage", {"referenceId": "a"})
    pacspace_sdk.balance.emit("cust_9", -5, "usage", {"referenceId": "b"})
    pacspace.assert_balance("cust_9", -10)
''')
    result = pytester.runpytest("-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*expected a verified balance of -10 for cust_9 in *, the ledger holds -12 over 2 verified deltas*",
        "*#1 * -7 'usage'*",
        "*pacspace-mock journal*",
        "*POST /api/v1/balance/delta -> 201*",
    ])


def test_missing_webhook_message(pytester):
    pytester.makepyfile('''
def test_no_event(pacspace):
    pacspace.assert_webhook("checkpoint.verified", customerId="nobody")
''')
    result = pytester.runpytest("-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*expected at least one checkpoint.verified event(s) with {'customerId': 'nobody'}*"])


def test_marker_sets_seed_clock_and_settings(pytester):
    pytester.makepyfile('''
import pytest

@pytest.mark.pacspace(seed=42, start="2026-02-01T12:00:00Z", settings={"cadenceLimitSeconds": 60})
def test_marked(pacspace, pacspace_sdk):
    first = pacspace_sdk.balance.emit("c1", -1, "usage")
    assert first["recordedAt"] == "2026-02-01T12:00:00.000Z"
    assert pacspace.settings()["seed"] == 42 and pacspace.clock.now() == "2026-02-01T12:00:00.000Z"
    with open("ids.json", "w") as f:
        f.write('{"recordId": "%s", "key": "%s"}' % (first["recordId"], pacspace.key))
    from pacspace_sdk import CadenceLimitError
    with pytest.raises(CadenceLimitError):
        pacspace_sdk.balance.emit("c1", -1, "usage")

@pytest.mark.pacspace(environment="live")
def test_live(pacspace):
    assert pacspace.key.startswith("pk_live_")
''')
    pytester.runpytest("-q").assert_outcomes(passed=2)
    seen = json.loads((pytester.path / "ids.json").read_text())
    # the README's promise, computed here and not with the plugin's own functions: the key is
    # pk_test_ + the first 32 hex digits of SHA-256(node id), and ids follow §9 with seed 42
    node_id = "test_marker_sets_seed_clock_and_settings.py::test_marked"
    assert seen["key"] == "pk_test_" + hashlib.sha256(node_id.encode()).hexdigest()[:32]
    assert seen["recordId"] == counted_id("rec", seen["key"], 1, seed=42)
    # stable run to run: the same node id gives the same key, so the same ids and hashes
    pytester.runpytest("-q").assert_outcomes(passed=2)
    assert json.loads((pytester.path / "ids.json").read_text()) == seen


def test_failed_test_keeps_its_database(pytester, tmp_path):
    pytester.makepyfile('''
def test_fails(pacspace):
    pacspace.call("POST", "/api/v1/balance/delta", {"customerId": "c", "delta": -1, "reason": "r"})
    assert False
''')
    keep = tmp_path / "kept"
    result = pytester.runpytest("-q", f"--pacspace-keep-db={keep}")
    result.assert_outcomes(failed=1)
    saved = list(keep.glob("*.sqlite"))
    assert len(saved) == 1 and saved[0].read_bytes().startswith(b"SQLite format 3\x00")
    result.stdout.fnmatch_lines(["*saved to *.sqlite*"])


def test_against_a_separately_started_server(pytester, tmp_path):
    served = Served("--db", str(tmp_path / "external.sqlite"))
    try:
        pytester.makepyfile(USING_FIXTURES)
        first = pytester.runpytest("-q", f"--pacspace-url={served.url}")
        first.assert_outcomes(passed=3)
        # the same suite again on the same long-lived server: each workspace starts clean
        pytester.runpytest("-q", f"--pacspace-url={served.url}").assert_outcomes(passed=3)
    finally:
        served.stop()


def test_parallel_under_xdist(pytester):
    tests = "\n".join(f'''
def test_customer_{i}(pacspace, pacspace_sdk):
    for day in range(1, 4):
        pacspace_sdk.balance.emit("shared_customer", -{i}, "usage", {{"referenceId": f"d{{day}}"}})
    pacspace.assert_balance("shared_customer", -{3 * i})
''' for i in range(1, 9))
    pytester.makepyfile(tests)
    result = pytester.runpytest_subprocess("-q", "-n", "2", "-p", "xdist")
    result.assert_outcomes(passed=8)

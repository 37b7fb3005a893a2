"""What a failing test shows and leaves behind: tracebacks that end at the test's own line, the events
assert_webhook looked at, the saved workspaces of --pacspace-keep-db, goldens written by
--pacspace-scenarios. Generated suites, run with pytester as an integrator runs them."""

from __future__ import annotations

import sqlite3

import httpx

from mockserver.embedded import EmbeddedServer
from mockserver.runtime import Runtime, ServerConfig
from mockserver.store.schema import TABLES
from test_scenarios import SMALL


def test_assertion_helpers_hide_their_own_frames(pytester):
    pytester.makepyfile('''
def test_balance(pacspace):
    pacspace.call("POST", "/api/v1/balance/delta", {"customerId": "c1", "delta": -2, "reason": "usage"})
    pacspace.assert_balance("c1", -3)

def test_webhook(pacspace):
    pacspace.assert_webhook("delta.verified", customerId="c1")

def test_receipt(pacspace):
    pacspace.assert_receipt_verifies("nobody")

def test_call(pacspace):
    pacspace.call("GET", "/api/v1/balance/derive/nobody")

def test_control(pacspace):
    pacspace.clock.set("2000-01-01T00:00:00Z")
    pacspace.call("POST", "/api/v1/balance/delta", {"customerId": "c1", "delta": -2, "reason": "usage"})
    pacspace.clock.set("1999-01-01T00:00:00Z")
''')
    result = pytester.runpytest("-q", "--tb=long", "--pacspace-journal-lines=0")
    result.assert_outcomes(failed=5)
    out = result.stdout.str()
    assert "testkit.py" not in out, out
    result.stdout.fnmatch_lines(["*>*pacspace.assert_balance(\"c1\", -3)", "*expected a verified balance of -3*",
                                 "*>*pacspace.assert_webhook(\"delta.verified\", customerId=\"c1\")",
                                 "*>*pacspace.assert_receipt_verifies(\"nobody\")",
                                 "*>*pacspace.call(\"GET\", \"/api/v1/balance/derive/nobody\")",
                                 "*MockError: GET /api/v1/balance/derive/nobody answered 404*",
                                 "*>*pacspace.clock.set(\"1999-01-01T00:00:00Z\")",
                                 "*control call POST /_mock/clock/set failed with 400*"])


LONG = "daily_usage_flush:" + "x" * 300


def test_assert_webhook_lists_the_filtered_members_of_every_event_it_saw(pytester):
    pytester.makepyfile(f'''
LONG = {LONG!r}

def test_counted(pacspace, pacspace_sdk):
    pacspace_sdk.balance.emit("c1", -1, LONG, {{"referenceId": "a"}})
    pacspace_sdk.balance.emit("c2", -2, LONG, {{"referenceId": "b"}})
    pacspace_sdk.balance.emit("c1", -3, "other", {{"referenceId": "c"}})
    pacspace.assert_webhook("delta.verified", count=2, customerId="c1", **{{"delta.reason": LONG, "delta.nope": None}})

def test_unfiltered(pacspace, pacspace_sdk):
    pacspace_sdk.balance.emit("c1", -1, "usage", {{"referenceId": "a", "metadata": {{"note": LONG}}}})
    pacspace.assert_webhook("delta.verified", count=2)
''')
    result = pytester.runpytest("-q", "--pacspace-journal-lines=0")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*expected 2 delta.verified event(s) with {'customerId': 'c1', *}; the outbox holds 1 matching of 3*",
        f'E *evt_* matches: customerId="c1", delta.reason="{LONG}", delta.nope=(absent)',
        f'E *evt_* differs: customerId="c2", delta.reason="{LONG}", delta.nope=(absent)',
        'E *evt_* differs: customerId="c1", delta.reason="other", delta.nope=(absent)',
        "*expected 2 delta.verified event(s); the outbox holds 1 matching of 1*",
        f'E *evt_* {{"receiptId": *"note": "{LONG}"*',  # the whole data, not cut
    ])


KEEP = '''
def test_passes(pacspace):
    pacspace.call("POST", "/api/v1/balance/delta", {"customerId": "kept_pass", "delta": -1, "reason": "usage"})
    pacspace.clock.advance(1)
    pacspace.call("POST", "/api/v1/balance/checkpoint", {"customerId": "kept_pass"})

def test_fails(pacspace):
    pacspace.call("POST", "/api/v1/balance/delta", {"customerId": "kept_fail", "delta": -7, "reason": "usage"})
    with open("key.txt", "w") as f:
        f.write(pacspace.key)
    assert False
'''


def saved_rows(path) -> dict[str, int]:
    """Rows per table of a saved database, for the tables that hold workspace rows."""
    conn = sqlite3.connect(path)
    try:
        return {name: conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in TABLES}
    finally:
        conn.close()


def test_keep_db_saves_only_failed_tests_and_only_their_workspace(pytester):
    pytester.makepyfile(KEEP)
    result = pytester.runpytest("-q", "--pacspace-keep-db")
    result.assert_outcomes(passed=1, failed=1)
    kept = pytester.path / ".pacspace-mock" / "kept"
    (saved,) = kept.glob("*.sqlite")
    assert saved.name == "test_keep_db_saves_only_failed_tests_and_only_their_workspace.py_test_fails.sqlite"
    result.stdout.fnmatch_lines([f"*saved to {saved} (workspace key pk_test_*; pacspace-mock serve --db {saved})"])
    rows = saved_rows(saved)
    assert (rows["workspaces"], rows["customers"], rows["deltas"], rows["journal"]) == (1, 1, 1, 1)
    assert (rows["checkpoints"], rows["checkpoint_items"], rows["checkpoint_trees"]) == (0, 0, 0)  # the other's
    # every table with workspace rows holds only the failed test's
    conn = sqlite3.connect(saved)
    (ws_id,) = conn.execute("SELECT id FROM workspaces").fetchone()
    for name, table in TABLES.items():
        if "ws" in table["columns"]:
            assert conn.execute(f'SELECT COUNT(*) FROM "{name}" WHERE ws != ?', (ws_id,)).fetchone()[0] == 0, name
    conn.close()
    # what the report says to do: serve the file and read the workspace with its key
    key = (pytester.path / "key.txt").read_text()
    with EmbeddedServer(Runtime(ServerConfig(), db_path=str(saved))) as server:
        reply = httpx.get(f"{server.url}/api/v1/balance/derive/kept_fail", headers={"X-Api-Key": key})
        assert reply.json()["data"]["computedBalance"] == -7
        workspaces = httpx.get(f"{server.url}/_mock/workspaces").json()["data"]["workspaces"]
        assert [w["deltaCount"] for w in workspaces] == [1]


def test_keep_db_all_saves_every_test_into_the_given_directory(pytester, tmp_path):
    pytester.makepyfile(KEEP)
    pytester.runpytest("-q", "--pacspace-keep-db=all", f"--pacspace-keep-db-dir={tmp_path / 'dbs'}").assert_outcomes(
        passed=1, failed=1)
    saved = sorted(p.name.rsplit("_", 1)[-1] for p in (tmp_path / "dbs").glob("*.sqlite"))
    assert saved == ["fails.sqlite", "passes.sqlite"]
    assert not (pytester.path / ".pacspace-mock").exists()
    customers = {p.name: sqlite3.connect(p).execute("SELECT customer_id FROM customers").fetchall()
                 for p in (tmp_path / "dbs").glob("*.sqlite")}
    assert sorted(customers.values()) == [[("kept_fail",)], [("kept_pass",)]]
    (passed,) = (tmp_path / "dbs").glob("*passes.sqlite")
    assert saved_rows(passed)["checkpoint_items"] == 1


def test_a_missing_golden_is_written_and_said_so_or_fails_under_ci(pytester, monkeypatch):
    pytester.makeini("[pytest]\npacspace_scenarios = true\n")
    (pytester.path / "billing.scenario.yaml").write_text(SMALL.replace("EXPECTED", "-7"))
    monkeypatch.setenv("CI", "true")
    result = pytester.runpytest("-q")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*billing.scenario.yaml: no golden at billing.golden.json; under CI=true a missing "
                                 "golden fails*--pacspace-bless*"])
    assert not (pytester.path / "billing.golden.json").exists()
    monkeypatch.setenv("CI", "false")  # not CI: written, and the summary says so
    result = pytester.runpytest("-q")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*pacspace-mock goldens*",
                                 "wrote billing.golden.json (none existed: review it and commit it)"])
    assert (pytester.path / "billing.golden.json").is_file()
    result = pytester.runpytest("-q")  # it exists now: compared, nothing to say
    result.assert_outcomes(passed=4)
    assert "pacspace-mock goldens" not in result.stdout.str()
    # under xdist the summary comes from the workers' reports
    (pytester.path / "billing.golden.json").unlink()
    result = pytester.runpytest_subprocess("-q", "-n", "2", "-p", "xdist")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["wrote billing.golden.json (none existed: review it and commit it)"])

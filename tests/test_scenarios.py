"""Scenario files and replay: every bundled scenario by name (CLI) and as collected pytest items,
goldens stable run to run and equal between the embedded server and `pacspace-mock serve`,
one clear error per broken file, reports, --bless, the pytest marker."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_serve import Served

from mockserver.scenarios import golden as goldens
from mockserver.scenarios.cli import replay
from mockserver.scenarios.loader import load_scenario
from mockserver.scenarios.locate import bundled_scenarios
from mockserver.scenarios.runner import Runner, Target

BUNDLED = {p.name.removesuffix(".yaml"): p for p in bundled_scenarios()}
NAMES = sorted(BUNDLED)
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def target():
    with Target.embedded() as t:
        yield t


def cli(*args: str, env: dict | None = None):
    return CliRunner().invoke(replay, list(args), env={"CI": "", **(env or {})}, catch_exceptions=False)


def test_the_bundled_scenarios_are_the_issue_s_seven():
    assert NAMES == ["dispute-wrong-number", "guide-flow", "late-adjustments", "lost-reply-idempotency",
                     "month-multi-customer", "rate-limit-storm", "webhook-outage"]
    for path in BUNDLED.values():
        assert path.parent == REPO / "scenarios"
        assert path.with_name(path.name.replace(".yaml", ".golden.json")).is_file()


@pytest.mark.parametrize("name", NAMES)
def test_bundled_scenario_passes_by_name_via_the_cli(name):
    result = cli(name, "--ci")
    assert result.exit_code == 0, result.output
    assert f"golden scenarios/{name}.golden.json: match" in result.output.replace(str(REPO) + "/", "")
    assert "0 failed, 0 errors" in result.output and "— PASS" in result.output


def test_goldens_are_stable_across_two_runs(target):
    runner = Runner(target, use_golden=False)
    for name in NAMES:
        scenario = load_scenario(BUNDLED[name])
        first, second = runner.run(scenario), runner.run(scenario)
        assert first.ok and second.ok, name
        assert first.golden_document == second.golden_document, name
        stored = goldens.load(scenario.golden_path)
        assert goldens.differences(stored, first.golden_document) == [], name


def test_the_guide_reproduces_the_contract_s_identifiers(target):
    # With the contract's example key (seed 7, serve delays) the ids are exactly those of the spec.
    result = Runner(target, api_key="pk_test_demo", use_golden=False).run(load_scenario(BUNDLED["guide-flow"]))
    assert result.ok
    assert result["flush-1"]["recordId"] == "rec_5aq6vm3rwsfazsv6msmrsylc"
    assert result["lock"]["checkpointId"] == "chk_5iozcxsxwuul5we76iml5lp6"
    assert result["lock"]["proofRoot"] == "0x479195f4687b2917f36e38b6e60f85fcac24465093bec03b86e5b1360dd9f7ca"
    assert result["receipt"]["accessHint"] == "24YUQB"
    assert result.golden_status == "off"


def test_base_url_against_a_separately_started_serve_gives_the_same_golden(target):
    served = Served("--db", ":memory:", "--no-access-log")
    try:
        result = cli("guide-flow", "--base-url", served.url, "--ci")
        assert result.exit_code == 0, result.output
        assert f"mock at {served.url}" in result.output and "guide-flow.golden.json: match" in result.output
        scenario = load_scenario(BUNDLED["guide-flow"])
        with Target.remote(served.url) as remote:
            assert remote.is_mock
            over_http = Runner(remote, use_golden=False).run(scenario).golden_document
        embedded = Runner(target, use_golden=False).run(scenario).golden_document
        assert over_http == embedded
        assert served.url not in goldens.render(over_http)  # the origin is normalized away
        with Target.remote(served.url) as remote:  # and every other bundled scenario matches its golden too
            for name in NAMES:
                result = Runner(remote, ci=True).run(load_scenario(BUNDLED[name]))
                assert result.ok and result.golden_status == "match", (name, result.golden_diff[:20])
    finally:
        served.stop()


# --- pytest: collected scenario files and the marker ---------------------------------------------

def use_scenario_plugin(pytester) -> list[str]:
    """The installed plugin carries the scenario hooks: nothing to add."""
    return []


def test_bundled_scenarios_as_collected_pytest_items(pytester, monkeypatch):
    monkeypatch.setenv("CI", "true")  # a missing golden would fail, not be written
    shutil.copytree(REPO / "scenarios", pytester.path / "scenarios")
    args = use_scenario_plugin(pytester)
    expected = sum(len(load_scenario(p).steps) + 1 for p in BUNDLED.values())
    result = pytester.runpytest(*args, "--pacspace-scenarios", "scenarios", "-q")
    result.assert_outcomes(passed=expected)
    # not collected unless asked
    pytester.runpytest(*args, "scenarios", "-q").assert_outcomes()


def test_collected_items_report_each_step_and_the_golden(pytester, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    args = use_scenario_plugin(pytester)
    pytester.makeini("[pytest]\npacspace_scenarios = true\n")
    (pytester.path / "billing.scenario.yaml").write_text(SMALL.replace("EXPECTED", "-7"))
    result = pytester.runpytest(*args, "-q", "-rA")
    result.assert_outcomes(passed=4)
    assert (pytester.path / "billing.golden.json").is_file()  # written on the first run (not in CI)
    (pytester.path / "billing.scenario.yaml").write_text(SMALL.replace("EXPECTED", "-8"))
    result = pytester.runpytest(*args, "-q")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*billing.scenario.yaml:8: step 3 (derive, 'total') failed:",
                                 "*data.computedBalance: expected -8, got -7"])
    golden = json.loads((pytester.path / "billing.golden.json").read_text())
    golden["steps"][0]["data"]["delta"] = -6
    (pytester.path / "billing.golden.json").write_text(json.dumps(golden))
    (pytester.path / "billing.scenario.yaml").write_text(SMALL.replace("EXPECTED", "-7"))
    result = pytester.runpytest(*args, "-q")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*differs from the golden*", "*step 1 (emit) differs:*", '*-*"delta": -6*',
                                 '*+*"delta": -5*'])
    pytester.runpytest(*args, "-q", "--pacspace-bless").assert_outcomes(passed=4)
    pytester.runpytest(*args, "-q").assert_outcomes(passed=4)


SMALL = """\
name: small
start: "2026-03-01T00:00:00Z"
settings: {processingDelaySeconds: 0, verifyDelaySeconds: 0}
steps:
  - emit: {customerId: c1, delta: -5, reason: usage, referenceId: r1}
  - emit: {customerId: c1, delta: -2, reason: usage, referenceId: r2}
    only: mock
  - name: total
    derive: {customerId: c1}
    expect: {data: {computedBalance: EXPECTED}}
"""


def test_marker_loads_a_scenario_before_the_test(pytester):
    args = use_scenario_plugin(pytester)
    (pytester.path / "mine.scenario.yaml").write_text(SMALL.replace("EXPECTED", "-7"))
    (pytester.path / "broken.scenario.yaml").write_text(SMALL.replace("EXPECTED", "-70"))
    pytester.makepyfile(test_marked='''
import pytest

@pytest.mark.pacspace(scenario="guide-flow")
def test_after_the_guide(pacspace, pacspace_sdk):
    assert pacspace.scenario["lock"]["treeSize"] == 3
    assert pacspace.clock.now() == "2026-03-02T00:00:05.000Z"
    pacspace.assert_balance("cust_acme_001", -1247, period="2026-02")
    assert pacspace_sdk.balance.derive("cust_acme_001")["computedBalance"] == -100
    assert pacspace.scenario["lock"]["proofRoot"] == pacspace.call(
        "GET", "/api/v1/balance/receipt/cust_acme_001?period=2026-02")["proofRoot"]

@pytest.mark.pacspace(scenario="mine.scenario.yaml", seed=99, settings={"planAllotment": 100})
def test_relative_file_with_marker_overrides(pacspace):
    assert pacspace.settings()["seed"] == 99 and pacspace.settings()["planAllotment"] == 100
    assert pacspace.scenario["total"]["computedBalance"] == -7

@pytest.mark.pacspace(scenario="broken.scenario.yaml")
def test_failing_scenario_errors_the_setup(pacspace):
    pass
''')
    result = pytester.runpytest(*args, "-q")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*the scenario 'small' did not replay cleanly before the test*",
                                 "*data.computedBalance: expected -70, got -7*"])


# --- broken files: one clear error each, with file and line ---------------------------------------

BROKEN = {
    "bad-yaml": ("""\
name: broken
start: "2026-01-01T00:00:00Z"
steps:
  - emit: {customerId: c1, delta: -1, reason: usage
  - derive: {customerId: c1}
""", 5, r"^[^:]+:5: invalid YAML: did not find expected ',' or '}' \(while parsing a flow mapping at line 4\)$"),
    "unknown-step": ("""\
name: broken
start: "2026-01-01T00:00:00Z"
steps:
  - emit: {customerId: c1, delta: -1, reason: usage}
  - emitt: {customerId: c1, delta: -1, reason: usage}
""", 5, r"steps\[1\]: unknown step 'emitt' \(did you mean 'emit'\?\); a step is one of: emit, batch, .*"),
    "bad-reference": ("""\
name: broken
start: "2026-01-01T00:00:00Z"
steps:
  - name: lock
    checkpoint: {customerId: c1}
  - verify:
      root: "${lok.proofRoot}"
""", 7, r"steps\[1\]: bad reference \$\{lok.proofRoot\}: no earlier step is named 'lok' \(did you mean 'lock'\?\)"),
    "wrong-type": ("""\
name: broken
start: "2026-01-01T00:00:00Z"
steps:
  - emit: {customerId: c1, delta: -1, reason: usage}
  - emit:
      customerId: c1
      delta: "twelve"
      reason: usage
""", 7, r"steps\[1\] \(emit\): delta: expected a number \(or a \$\{reference\}\), got the string 'twelve'"),
    "wrong-top-level-type": ("""\
name: broken
seed: lots
start: "2026-01-01T00:00:00Z"
steps: [{usage: {}}]
""", 2, r"seed: expected a whole number 0 to 2\^63-1, got the string 'lots'"),
    "later-reference": ("""\
name: broken
start: "2026-01-01T00:00:00Z"
steps:
  - derive: {customerId: "${later.customerId}"}
  - {name: later, usage: {}}
""", 4, r"bad reference \$\{later.customerId\}: 'later' is not available here \(step 2 runs later\)"),
    "unknown-option": ("""\
name: broken
start: "2026-01-01T00:00:00Z"
steps:
  - usage: {}
    expcet: {status: 200}
""", 5, r"steps\[0\] \(usage\): unknown member 'expcet' \(did you mean 'expect'\?\)"),
    "missing-start": ("""\
name: broken
steps: [{usage: {}}]
""", 1, r"missing required member 'start'"),
    "two-actions": ("""\
name: broken
start: "2026-01-01T00:00:00Z"
steps:
  - usage: {}
    limits: {}
""", 5, r"a step has exactly one action, this one has usage and limits"),
    "duplicate-key": ("""\
name: broken
start: "2026-01-01T00:00:00Z"
steps:
  - emit: {customerId: c1, delta: -1, reason: usage}
    expect: {status: 201}
    expect: {status: 200}
""", 6, r"duplicate key 'expect' \(first at line 5\)"),
    "bad-matcher-tag": ("""\
name: broken
start: "2026-01-01T00:00:00Z"
steps:
  - usage: {}
    expect: {data: {plan: !regex 'x'}}
""", 5, r"invalid YAML: could not determine a constructor for the tag '!regex'; known tags: !re .*"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_file_gives_one_clear_error(case, tmp_path):
    text, line, message = BROKEN[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    with pytest.raises(Exception) as raised:
        load_scenario(path)
    assert type(raised.value).__name__ == "ScenarioError"
    text = str(raised.value)
    assert text.startswith(f"{path}:{line}: ") and re.search(message, text), text
    # the CLI prints exactly that one error and exits 1, running nothing
    result = CliRunner().invoke(replay, [str(path)], env={"CI": ""})
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {raised.value}"], result.output
    assert "steps:" not in result.output


def test_a_broken_file_is_one_collection_error(pytester, monkeypatch):
    monkeypatch.delenv("CI", raising=False)  # under CI a missing golden is an error, not written
    args = use_scenario_plugin(pytester)
    (pytester.path / "bad.scenario.yaml").write_text(BROKEN["bad-reference"][0])
    (pytester.path / "good.scenario.yaml").write_text(SMALL.replace("EXPECTED", "-7"))
    result = pytester.runpytest(*args, "--pacspace-scenarios", "-q", "--continue-on-collection-errors")
    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(["*bad.scenario.yaml:7: steps[[]1[]]: bad reference ${lok.proofRoot}: no earlier step*"])


def test_runtime_reference_errors_name_the_members(tmp_path):
    path = tmp_path / "ref.yaml"
    path.write_text("""\
name: runtime-ref
start: "2026-01-01T00:00:00Z"
golden: false
steps:
  - {name: u, usage: {}}
  - derive: {customerId: "${u.plans}"}
""")
    result = cli(str(path))
    assert result.exit_code == 1
    assert "ERROR step 2 (derive)" in result.output
    assert "${u.plans}: u has no member 'plans' (members: remaining, allowed, plan," in result.output


# --- reports, bless, CLI behaviour ----------------------------------------------------------------

FAILING = """\
name: failing
start: "2026-01-01T00:00:00Z"
golden: false
settings: {processingDelaySeconds: 0, verifyDelaySeconds: 0}
steps:
  - emit: {customerId: c1, delta: -1.50, reason: usage}
    expect: {data: {delta: -1.5}}
  - name: bal
    derive: {customerId: c1}
    expect: {data: {computedBalance: !decimal "-1.49", deltasCount: 1}}
  - clock: {advance: 1s}
"""


def test_report_json(tmp_path):
    result = cli("guide-flow", "--report", "json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["summary"] == {"scenarios": 1, "passed": 1, "failed": 0}
    scenario = report["scenarios"][0]
    assert scenario["name"] == "guide-flow" and scenario["golden"]["status"] == "match"
    assert len(scenario["steps"]) == 20 and {s["outcome"] for s in scenario["steps"]} == {"passed"}
    assert scenario["steps"][0] == {**scenario["steps"][0], "index": 1, "name": "flush-1", "action": "emit",
                                    "status": 201, "messages": [], "line": 19}
    (tmp_path / "failing.yaml").write_text(FAILING)
    result = cli(str(tmp_path / "failing.yaml"), "--report", "json", "-o", str(tmp_path / "r.json"))
    assert result.exit_code == 1
    report = json.loads((tmp_path / "r.json").read_text())
    step = report["scenarios"][0]["steps"][1]
    assert step["outcome"] == "failed"
    assert step["messages"] == ["data.computedBalance: expected exactly -1.49, got number -1.5"]
    assert "FAIL step 2 (derive, 'bal')" in result.stdout  # the table still goes to stdout


def test_report_junit(tmp_path):
    (tmp_path / "failing.yaml").write_text(FAILING)
    out = tmp_path / "junit.xml"
    result = cli("guide-flow", str(tmp_path / "failing.yaml"), "--report", "junit", "-o", str(out))
    assert result.exit_code == 1
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites" and root.get("failures") == "1"
    suites = {s.get("name"): s for s in root}
    assert suites["guide-flow"].get("tests") == "21" and suites["guide-flow"].get("failures") == "0"
    failing = suites["failing"]
    assert failing.get("tests") == "3" and failing.get("failures") == "1"
    case = next(c for c in failing if c.find("failure") is not None)
    assert case.get("name") == "step 02 derive bal" and case.get("line") == "8"
    assert "expected exactly -1.49" in case.find("failure").get("message")
    # junit to stdout: the table moves to stderr
    result = CliRunner().invoke(replay, ["guide-flow", "--report", "junit"], env={"CI": ""})
    assert result.stdout.startswith('<?xml version="1.0" encoding="utf-8"?>') and "— PASS" in result.stderr


def test_bless_rewrites_the_golden_and_a_mismatch_prints_a_readable_diff(tmp_path):
    shutil.copy(BUNDLED["guide-flow"], tmp_path / "guide-flow.yaml")
    golden_path = tmp_path / "guide-flow.golden.json"
    assert cli(str(tmp_path / "guide-flow.yaml"), "--ci").exit_code == 1  # missing in CI mode
    result = cli(str(tmp_path / "guide-flow.yaml"))
    assert result.exit_code == 0 and "golden.json: created" in result.output
    assert golden_path.read_bytes() == BUNDLED["guide-flow"].with_name("guide-flow.golden.json").read_bytes()
    stale = golden_path.read_text().replace('"finalBalance": -1247', '"finalBalance": -1200', 1)
    golden_path.write_text(stale)
    result = cli(str(tmp_path / "guide-flow.yaml"))
    assert result.exit_code == 1
    assert "golden.json: MISMATCH" in result.output and "rerun with --bless" in result.output
    assert re.search(r'step 8 \(receipt, \'receipt\'\) differs:\n.*--- golden\n.*\+\+\+ this run\n'
                     r'(.*\n)*.*-\s+"finalBalance": -1200,\n.*\+\s+"finalBalance": -1247,', result.output)
    result = cli(str(tmp_path / "guide-flow.yaml"), "--bless")
    assert result.exit_code == 0 and "rewritten (--bless)" in result.output
    assert golden_path.read_text() != stale
    assert cli(str(tmp_path / "guide-flow.yaml"), "--ci").exit_code == 0


def test_golden_dir_and_list(tmp_path):
    result = cli("rate-limit-storm", "--golden-dir", str(tmp_path))
    assert result.exit_code == 0 and (tmp_path / "rate-limit-storm.golden.json").is_file()
    assert (tmp_path / "rate-limit-storm.golden.json").read_bytes() == \
        BUNDLED["rate-limit-storm"].with_name("rate-limit-storm.golden.json").read_bytes()
    listed = cli("--list")
    assert listed.exit_code == 0 and [line.split()[0] for line in listed.output.splitlines()] == NAMES
    unknown = cli("no-such-scenario")
    assert unknown.exit_code == 1 and "known names: dispute-wrong-number, guide-flow" in unknown.output


def test_fail_fast_and_progress(tmp_path):
    (tmp_path / "failing.yaml").write_text(FAILING)
    result = cli(str(tmp_path / "failing.yaml"), "-x", "--progress")
    assert result.exit_code == 1
    assert "1 skipped" in result.output and "not run: an earlier step failed" in result.output
    assert "failing" in result.stderr  # the progress bar's label


PORTABLE = """\
name: portable
start: "2026-01-01T00:00:00Z"
steps:
  - fault: {route: balance.emit, error: 503, nth: [1]}
  - clock: {advance: 1h}
  - name: e
    emit: {customerId: c1, delta: -3, reason: usage, referenceId: p1}
    at: "2026-01-01T10:00:00Z"
    retry: 1
  - derive: {customerId: c1}
    poll: {until: {deltasCount: 1}, every: 1s, timeout: 30s}
    expect: {data: {computedBalance: -3}}
  - expect-webhooks: {event: delta.verified, count: 1}
  - {only: service, usage: {}}
"""


def test_against_a_service_mock_only_steps_are_skipped(tmp_path):
    from mockserver.runtime import ServerConfig

    (tmp_path / "portable.yaml").write_text(PORTABLE)
    scenario = load_scenario(tmp_path / "portable.yaml")
    with Target.embedded(config=ServerConfig(processing_delay=0, verify_delay=0)) as served:
        service = Target(served.base_url, False, "service at test")
        try:
            result = Runner(service, api_key="pk_test_portable").run(scenario)
        finally:
            service.close()
    outcomes = [(s.step.action, s.outcome) for s in result.steps]
    assert outcomes == [("fault", "skipped"), ("clock", "skipped"), ("emit", "passed"), ("derive", "passed"),
                        ("expect-webhooks", "skipped"), ("usage", "passed")]
    assert result.steps[0].note == "mock-only step (needs the /_mock control plane)"
    assert result.steps[2].note == "at 2026-01-01T10:00:00Z ignored (no virtual clock on the service)"
    assert result.ok and result.golden_status == "skipped"
    # on the mock the same file runs everything but the service-only step (the emit retries the 503)
    with Target.embedded() as mock:
        result = Runner(mock, use_golden=False).run(scenario)
    assert [s.outcome for s in result.steps] == ["passed"] * 5 + ["skipped"]
    assert result.steps[2].value["recordedAt"] == "2026-01-01T10:00:01.000Z"
    assert result.steps[2].golden["attempts"] == [{"status": 503, "code": "SERVICE_UNAVAILABLE",
                                                   "retryAfterSeconds": None, "waitedSeconds": 1}]


def test_service_target_needs_a_key():
    with Target.embedded() as served:
        result = cli("guide-flow", "--base-url", served.base_url, "--target", "service")
    assert result.exit_code == 2 and "give --api-key" in result.output


def test_every_action_of_the_catalog_is_exercised(target):
    from mockserver.scenarios.actions import ACTIONS

    every = load_scenario(Path(__file__).parent / "scenarios" / "every-action.yaml")
    result = Runner(target).run(every)
    assert result.ok, [(s.step.index, s.messages) for s in result.steps if not s.ok]
    used = {s.action for s in every.steps} | {s.action for p in BUNDLED.values() for s in load_scenario(p).steps}
    assert used == set(ACTIONS)
    pdf = result["pdf"]
    assert pdf["contentType"] == "application/pdf" and len(pdf["sha256"]) == 64


def test_replay_is_a_command_of_the_main_cli():
    from mockserver.cli import main

    assert "replay" in main.commands, "pacspace-mock replay is not registered in mockserver/cli.py"
    result = CliRunner().invoke(main, ["replay", "guide-flow", "--ci"], env={"CI": ""})
    assert result.exit_code == 0, result.output

"""Scenario building blocks without a server: the shipped JSON Schema, YAML loading, matchers,
references, the usage generator and golden normalization."""

from __future__ import annotations

import json
from decimal import Decimal

import jsonschema
import pytest

from mockserver.scenarios import golden as goldens
from mockserver.scenarios.actions import ACTIONS, COMMON_OPTIONS
from mockserver.scenarios.expect import MISSING, match
from mockserver.scenarios.generate import plan_usage, sample
from mockserver.scenarios.loader import load_scenario, schema
from mockserver.scenarios.locate import bundled_scenarios
from mockserver.scenarios.refs import RefError, lookup, parse_path, substitute
from mockserver.scenarios.steps import seconds_of
from mockserver.scenarios.steps.control import fault_rule
from mockserver.scenarios.yamlload import load_yaml


def test_the_shipped_schema_is_valid_and_describes_every_action():
    s = schema()
    jsonschema.Draft202012Validator.check_schema(s)
    assert {k.removeprefix("action.") for k in s["$defs"] if k.startswith("action.")} == set(ACTIONS)
    step = s["$defs"]["step"]["properties"]
    assert set(step) == set(ACTIONS) | set(COMMON_OPTIONS)
    # the bundled files validate against the shipped schema as a plain JSON Schema (as an editor would)
    validator = jsonschema.Draft202012Validator(s)
    for path in bundled_scenarios():
        errors = list(validator.iter_errors(load_yaml(path.read_text())))
        assert errors == [], (path, [e.message for e in errors])


def test_yaml_is_exact_and_unsurprising():
    doc = load_yaml("a: -12.50\nb: on\nc: 2026-02-01\nd: 100\ne: !re '^x'\nf: !gte 3\n")
    assert doc == {"a": Decimal("-12.50"), "b": "on", "c": "2026-02-01", "d": 100, "e": {"$pattern": "^x"},
                   "f": {"$gte": 3}}
    assert doc.value_lines == {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6}


@pytest.mark.parametrize("expected, actual, problems", [
    (-1247, Decimal(-1247), []),
    (-1247, Decimal("-1247.0"), []),
    (100, 100.0, []),
    (Decimal("0.1"), Decimal("0.10000001"), ["x: expected 0.1, got 0.10000001"]),
    (-1247, "-1247", ["x: expected the number -1247, got string '-1247'"]),
    (1, True, ["x: expected the number 1, got boolean true"]),
    ("QUEUED", "VERIFIED", ["x: expected 'QUEUED', got 'VERIFIED'"]),
    ({"a": 1}, {"a": 1, "b": 2}, []),
    ({"a.b": 1, "c[1]": 3}, {"a": {"b": 1}, "c": [2, 3]}, []),
    ({"a.b": 1}, {"a": {}}, ["x.a.b: expected 1, but it is absent"]),
    ([1, 2], [1, 2, 3], ["x: expected a list of 2 item(s), got 3: [1, 2, 3]"]),
    ({"$pattern": "^rec_"}, "rec_x", []),
    ({"$pattern": "^rec_"}, "chk_x", ["x: expected a string matching /^rec_/, got 'chk_x'"]),
    ({"$present": True}, None, ["x: expected a value, got null"]),
    ({"$present": True}, MISSING, ["x: expected a value, got nothing (the member is absent)"]),
    ({"$absent": True}, MISSING, []),
    ({"$decimal": "-12.50"}, Decimal("-12.5"), []),
    ({"$any": ["a", "b"]}, "c", ["x: expected one of ['a', 'b'], got 'c'"]),
    ({"$each": {"status": "VERIFIED"}}, [{"status": "VERIFIED"}, {"status": "QUEUED"}],
     ["x[1].status: expected 'VERIFIED', got 'QUEUED'"]),
    ({"$contains": "deltas.fingerprints"}, ["a", "deltas.fingerprints"], []),
    ({"$gte": 1, "$lt": 60}, Decimal(36), []),
    ({"$len": 3}, [1, 2], ["x: expected length 3, got 2"]),
    ({"$type": "integer"}, Decimal("2.0"), []),
    ({"$not": None}, None, ["x: expected anything but null, got null"]),
    ({"$exact": {"a": 1}}, {"a": 1, "b": 2}, ["x: expected exactly the members ['a'], also got ['b']"]),
])
def test_matchers(expected, actual, problems):
    assert match(expected, actual, "x") == problems


def test_references():
    assert parse_path('rcpt.deltas[0]["odd.key"].x') == ["rcpt", "deltas", 0, "odd.key", "x"]
    values = {"lock": {"proofRoot": "0xab", "treeSize": 3, "deltas": [{"delta": Decimal("-4.5")}]},
              "gen": {"byPeriod": {"2026-01": {"c1": Decimal(-7)}}}}

    def resolve(expression):
        parts = parse_path(expression)
        return lookup(values[parts[0]], parts[1:], expression, parts[0])

    assert substitute("${lock.treeSize}", resolve) == 3  # a whole reference keeps its type
    assert substitute("${lock.deltas.0.delta}", resolve) == Decimal("-4.5")
    assert substitute("${gen.byPeriod.2026-01.c1}", resolve) == -7
    assert substitute("root ${lock.proofRoot}, $${literal}", resolve) == "root 0xab, ${literal}"
    with pytest.raises(RefError, match=r"lock has no member 'proofRot' \(members: proofRoot, treeSize, deltas\)"):
        substitute("${lock.proofRot}", resolve)


def test_durations_and_fault_shorthand():
    assert [seconds_of(v) for v in (90, "500ms", "90s", "5m", "2h", "1d")] == \
        [90, Decimal("0.5"), 90, 300, 7200, 86400]
    assert fault_rule({"route": "balance.emit", "rate_limited": 5, "nth": [1, 2]}) == {
        "match": {"route": "balance.emit"}, "actions": [{"type": "rate_limited", "retryAfterSeconds": 5}], "nth": [1, 2]}
    assert fault_rule({"event": "delta.verified", "webhook_failure": "timeout", "latency": 20}) == {
        "match": {"event": "delta.verified"}, "actions": [{"type": "latency", "ms": 20},
                                                          {"type": "webhook_failure", "timeout": True}]}
    assert fault_rule({"route": "balance.emit_batch", "error": 503, "retryAfterSeconds": 2, "times": 3}) == {
        "match": {"route": "balance.emit_batch"}, "actions": [{"type": "error", "status": 503, "retryAfterSeconds": 2}],
        "times": 3}


GEN = {"customers": 50, "from": "2026-01-30", "days": 3, "usage": {"distribution": "lognormal", "median": 400,
                                                                    "sigma": 0.5},
       "weekends": 0.5, "spread": 0.8, "checkpoint": "month-end"}


def test_generated_usage_is_deterministic_and_compact():
    first = [f.items for f in plan_usage(GEN, 7, "s|gen").flushes()]
    assert first == [f.items for f in plan_usage(GEN, 7, "s|gen").flushes()]
    assert first != [f.items for f in plan_usage(GEN, 8, "s|gen").flushes()]  # the seed decides
    assert first != [f.items for f in plan_usage(GEN, 7, "s|other").flushes()]  # so does the step
    day = first[0]
    assert len(day) == 50 and day[0] == {"customerId": "cust_0001", "delta": day[0]["delta"],
                                         "reason": "daily_usage_flush:2026-01-30",
                                         "referenceId": "usage:cust_0001:2026-01-30"}
    assert all(isinstance(i["delta"], Decimal) and i["delta"] < 0 and i["delta"] == i["delta"].to_integral_value()
               for d in first for i in d)
    # the draws do not depend on how many customers are generated
    fewer = plan_usage({**GEN, "customers": 10}, 7, "s|gen")
    assert next(fewer.flushes()).items == day[:10]
    flushes = list(plan_usage(GEN, 7, "s|gen").flushes(items=False))
    assert [(f.date, f.month_end) for f in flushes] == [("2026-01-30", None), ("2026-01-31", None),
                                                        ("2026-02-01", None)]  # January was not covered from its 1st
    full = list(plan_usage({**GEN, "from": "2026-01-01", "days": 31}, 7, "s").flushes(items=False))
    assert full[-1].month_end == ("2026-01", 1769904300000)  # 2026-02-01T00:05:00Z


def test_faker_names_are_seeded():
    a = plan_usage({**GEN, "names": "faker", "customers": 5}, 3, "s")
    b = plan_usage({**GEN, "names": "faker", "customers": 5}, 3, "s")
    assert a.customers == b.customers and a.display_names == b.display_names
    assert all(c.startswith("cust_") and c.endswith(f"_{n:04d}") for n, c in enumerate(a.customers, 1))
    assert len(set(a.display_names.values())) == 5


@pytest.mark.parametrize("spec, low, high", [
    ({"distribution": "constant", "value": 5}, 5, 5),
    ({"distribution": "uniform", "min": 10, "max": 20}, 10, 20),
    ({"distribution": "normal", "mean": 100, "sd": 10}, 50, 150),
    ({"distribution": "lognormal", "median": 100, "sigma": 0.3}, 30, 300),
    ({"distribution": "poisson", "mean": 4}, 0, 20),
    ({"distribution": "poisson", "mean": 400}, 300, 500),
    ({"distribution": "choice", "values": [1, 2, 3], "weights": [0, 1, 0]}, 2, 2),
])
def test_distributions(spec, low, high):
    values = [sample(spec, (i + 0.5) / 200) for i in range(200)]
    assert all(low <= v <= high for v in values), (min(values), max(values))


def test_a_generate_step_with_a_missing_parameter_names_it(tmp_path):
    from mockserver.scenarios.runner import Runner, Target

    path = tmp_path / "gen.yaml"
    path.write_text("""\
name: gen
start: "2026-01-01T00:00:00Z"
golden: false
steps:
  - generate: {customers: 2, from: "2026-01-01", days: 2, usage: {distribution: normal, mean: 5}}
""")
    with Target.embedded() as target:
        result = Runner(target).run(load_scenario(path))
    assert result.steps[0].outcome == "error"
    assert result.steps[0].messages == ["generate: usage.sd is required for the normal distribution"]


def test_normalization_removes_only_what_differs_between_servers():
    normalize = goldens.Normalizer("http://127.0.0.1:5555")
    value = {
        "verifyUrl": "http://127.0.0.1:5555/c/cus_x", "customerLinkHost": "127.0.0.1:5555",
        "verification": {"latencyMs": 2000},  # a webhook payload's latency is virtual: kept
        "entries": [{"seq": 1, "requestId": "req_x", "route": "balance.emit", "latencyMs": 3}],
        "attemptLog": [{"attempt": 1, "timestamp": "1795768791", "signature": "v1=ab", "durationMs": 4,
                        "at": "2026-05-01T10:00:02.000Z"}],
    }
    assert normalize(value) == {
        "verifyUrl": "{origin}/c/cus_x", "customerLinkHost": "{host}", "verification": {"latencyMs": 2000},
        "entries": [{"seq": 1, "requestId": "req_x", "route": "balance.emit", "latencyMs": "<elapsed>"}],
        "attemptLog": [{"attempt": 1, "timestamp": "<wall-clock>", "signature": "<wall-clock>",
                        "durationMs": "<elapsed>", "at": "2026-05-01T10:00:02.000Z"}],
    }
    virtual = goldens.Normalizer("http://h:1", wall_signatures=False)
    assert virtual({"attemptLog": [{"timestamp": "1", "signature": "v1=ab"}]}) == \
        {"attemptLog": [{"timestamp": "1", "signature": "v1=ab"}]}


def test_golden_text_keeps_exact_decimals():
    doc = {"format": goldens.FORMAT, "steps": [{"data": {"a": Decimal("0.0000001"), "b": Decimal(-1247),
                                                         "c": [1, 2], "d": []}}]}
    text = goldens.render(doc)
    assert '"a": 0.0000001' in text and '"b": -1247' in text and '"c": [1, 2]' in text
    assert goldens.parse(text) == json.loads(text, parse_float=Decimal)
    assert goldens.differences(goldens.parse(text), doc) == []

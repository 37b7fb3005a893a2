"""Load a scenario file: YAML -> JSON Schema -> references -> Scenario.

Every problem is reported as one ScenarioError naming the file, the line and what was expected:
the first one in file order, so a typo never produces a cascade.
"""

from __future__ import annotations

import difflib
import json
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from .actions import ACTIONS, COMMON_OPTIONS
from .model import Scenario, ScenarioError, Step
from .refs import ROOTS, RefError, expressions, parse_path, walk_strings
from .yamlload import LineDict, YamlProblem, key_line, line_of, load_yaml

SCHEMA_FILE = "scenario.schema.json"
SCENARIO_MEMBERS = ("name", "start", "seed", "scenario", "key", "environment", "description")


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON Schema shipped in the package (mockserver/scenarios/scenario.schema.json)."""
    text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


@cache
def _validator(part: str) -> jsonschema.protocols.Validator:
    full = schema()
    if part == "document":  # the top level; steps are checked one by one below
        sub = {**full, "properties": {**full["properties"], "steps": {"type": "array", "minItems": 1}}}
    else:  # one action's step: the common members plus that action
        props = {name: full["$defs"]["step"]["properties"][name] for name in COMMON_OPTIONS}
        props[part] = {"$ref": f"#/$defs/action.{part}"}
        sub = {"$defs": full["$defs"], "type": "object", "properties": props, "additionalProperties": False}
    cls = jsonschema.validators.validator_for(full)
    return cls(sub)


def load_scenario(source: str | Path, *, text: str | None = None) -> Scenario:
    """Load and validate a scenario file (or `text` given for it). Raises ScenarioError."""
    path = Path(source)
    file = str(source)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ScenarioError("no such scenario file", file) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ScenarioError(f"cannot read the file: {exc}", file) from None
    try:
        doc = load_yaml(text)
    except YamlProblem as exc:
        raise ScenarioError(exc.message, file, exc.line) from None
    if not isinstance(doc, LineDict):
        raise ScenarioError("a scenario file is a YAML mapping with name, start and steps "
                            f"(got {_describe(doc)})", file, getattr(doc, "line", 1) or 1)
    _check(_validator("document"), doc, doc, (), file)
    if isinstance(doc.get("settings"), LineDict) and "seed" in doc["settings"]:
        raise ScenarioError("settings.seed: give the seed at the top level (seed: N); it decides every id",
                            file, doc["settings"].key_lines["seed"])
    steps = [_load_step(doc, i, raw, file) for i, raw in enumerate(doc["steps"])]
    scenario = Scenario(
        name=doc["name"], start=doc["start"], steps=steps, description=doc.get("description", ""),
        seed=doc.get("seed", 0), environment=doc.get("environment", "test"), key=doc.get("key"),
        settings=dict(doc.get("settings") or {}), customers=[_customer(c) for c in doc.get("customers", [])],
        vars=dict(doc.get("vars") or {}), path=path.resolve() if path.exists() else None,
    )
    if doc.get("key") and doc.get("environment") and not doc["key"].startswith(f"pk_{doc['environment']}_"):
        raise ScenarioError(f"key {doc['key']!r} is not a {doc['environment']} key (environment: {doc['environment']})",
                            file, doc.value_lines["key"])
    scenario.golden_path = _golden_path(path, doc.get("golden"))
    _check_names_and_references(doc, scenario, file)
    return scenario


def _golden_path(path: Path, golden: Any) -> Path | None:
    if golden is False:
        return None
    base = path.resolve().parent
    if isinstance(golden, str):
        return base / golden
    stem = path.name
    for suffix in (".yaml", ".yml"):
        stem = stem.removesuffix(suffix)
    return base / f"{stem.removesuffix('.scenario')}.golden.json"


def _customer(raw: Any) -> dict[str, Any]:
    return {"id": raw} if isinstance(raw, str) else dict(raw)


# --- steps --------------------------------------------------------------------------------------

def _load_step(doc: LineDict, i: int, raw: Any, file: str) -> Step:
    line = doc["steps"].item_lines[i]
    where = f"steps[{i}]"
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: expected a step (a mapping with one action such as emit: {{...}}), "
                            f"got {_describe(raw)}", file, line)
    actions = [k for k in raw if k in ACTIONS]
    unknown = [k for k in raw if k not in ACTIONS and k not in COMMON_OPTIONS]
    if not actions:
        if unknown:
            key = unknown[0]
            raise ScenarioError(f"{where}: unknown step {key!r}{_did_you_mean(key, [*ACTIONS, *COMMON_OPTIONS])}; "
                                f"a step is one of: {', '.join(ACTIONS)}", file, raw.key_lines[key])
        raise ScenarioError(f"{where}: the step has no action; expected one of: {', '.join(ACTIONS)}", file, line)
    if len(actions) > 1:
        raise ScenarioError(f"{where}: a step has exactly one action, this one has {' and '.join(actions)} "
                            "(split it into two steps)", file, raw.key_lines[actions[1]])
    action = actions[0]
    _check(_validator(action), raw, doc, ("steps", i), file, context=f"{where} ({action})", drop=action)
    args = raw[action]
    if action == "fault":
        _check_fault(args, doc, ("steps", i, "fault"), file, where)
    if action == "generate" and "days" in args and "to" in args:
        raise ScenarioError(f"{where} (generate): give days or to, not both", file, args.key_lines["to"])
    if action == "expect-webhooks" and "count" in args and ("min" in args or "max" in args):
        raise ScenarioError(f"{where} (expect-webhooks): give count, or min/max, not both", file, args.key_lines["count"])
    if action == "request" and "body" in args and "rawBody" in args:
        raise ScenarioError(f"{where} (request): give body or rawBody, not both", file, args.key_lines["rawBody"])
    retry = raw.get("retry")
    if isinstance(retry, int):
        retry = {"times": retry}
    return Step(
        index=i + 1, action=action, args=args, line=line, name=raw.get("name"), title=raw.get("title"),
        at=raw.get("at"), expect=raw.get("expect"), retry=retry, poll=raw.get("poll"),
        golden=raw.get("golden", True), idempotency_key=raw.get("idempotencyKey"),
        headers=dict(raw.get("headers") or {}), only=raw.get("only"),
    )


FAULT_ACTIONS = ("error", "rate_limited", "cadence_limit", "commit_then_drop", "fail_verification",
                 "chain_unavailable", "webhook_failure")


def _check_fault(args: LineDict, doc: LineDict, path: tuple, file: str, where: str) -> None:
    full = [k for k in ("match", "actions") if k in args]
    short = [k for k in args if k in (*FAULT_ACTIONS, "latency", "route", "method", "path", "customerId", "event",
                                        "retryAfterSeconds", "message", "code")]
    if full and short:
        raise ScenarioError(f"{where} (fault): use either the rule object (match, actions) or the shorthand "
                            f"(route, error, ...), not both: {short[0]!r} with {full[0]!r}", file,
                            args.key_lines[short[0]])
    if full:
        for name in ("match", "actions"):
            if name not in args:
                raise ScenarioError(f"{where} (fault): the rule object needs {name!r}", file, args.line)
        return
    chosen = [k for k in args if k in FAULT_ACTIONS]
    if len(chosen) != 1 and not (not chosen and "latency" in args):
        what = f"{len(chosen)}: {', '.join(chosen)}" if chosen else "none"
        raise ScenarioError(f"{where} (fault): the shorthand takes exactly one action of {', '.join(FAULT_ACTIONS)}"
                            f" (optionally with latency); found {what}", file,
                            args.key_lines[chosen[1]] if len(chosen) > 1 else args.line)
    if not any(k in args for k in ("route", "method", "path", "event")):
        raise ScenarioError(f"{where} (fault): say what the rule matches: route, method, path or event", file, args.line)


# --- names and references -----------------------------------------------------------------------

def _check_names_and_references(doc: LineDict, scenario: Scenario, file: str) -> None:
    seen: dict[str, int] = {}
    raw_steps = doc["steps"]
    for step, raw in zip(scenario.steps, raw_steps):
        for member in ("at", step.action, "expect", "retry", "poll", "idempotencyKey", "headers"):
            if member not in raw:
                continue
            for sub_path, text in walk_strings(raw[member], (member,)):
                for expression in expressions(text):
                    _check_reference(expression, seen, scenario, file,
                                     line_of(doc, ("steps", step.index - 1, *sub_path)), step)
        if step.action == "verify-receipt":
            source = step.args if isinstance(step.args, str) else step.args.get("receipt")
            if isinstance(source, str) and "${" not in source and source not in seen:
                path = ("steps", step.index - 1, "verify-receipt") + (() if isinstance(step.args, str) else ("receipt",))
                raise ScenarioError(f"steps[{step.index - 1}] (verify-receipt): no earlier step is named {source!r}"
                                    f"{_did_you_mean(source, list(seen))}; name the receipt or invoice-proof step "
                                    f"to verify (named steps so far: {', '.join(seen) or 'none'})",
                                    file, line_of(doc, path))
        if step.name:
            if step.name in seen:
                raise ScenarioError(f"steps[{step.index - 1}]: the step name {step.name!r} is already used by step "
                                    f"{seen[step.name]}; names must be unique", file, raw.value_lines["name"])
            seen[step.name] = step.index


def _check_reference(expression: str, seen: dict[str, int], scenario: Scenario, file: str, line: int | None,
                     step: Step) -> None:
    try:
        parts = parse_path(expression)
    except RefError as exc:
        raise ScenarioError(f"steps[{step.index - 1}]: {exc}; expected ${{step.member}}, ${{vars.NAME}} "
                            "or ${scenario.start}", file, line) from None
    root = parts[0]
    if root == "vars":
        if len(parts) < 2 or str(parts[1]) not in scenario.vars:
            known = ", ".join(scenario.vars) or "none are defined"
            raise ScenarioError(f"steps[{step.index - 1}]: bad reference ${{{expression}}}: no such variable "
                                f"(vars: {known})", file, line)
        return
    if root == "scenario":
        if len(parts) != 2 or parts[1] not in SCENARIO_MEMBERS:
            raise ScenarioError(f"steps[{step.index - 1}]: bad reference ${{{expression}}}: scenario has "
                                f"{', '.join(SCENARIO_MEMBERS)}", file, line)
        return
    if root in seen:
        return
    later = scenario.step_named(str(root))
    if later is not None and later.index >= step.index:
        why = "it is this step" if later.index == step.index else f"step {later.index} runs later"
        raise ScenarioError(f"steps[{step.index - 1}]: bad reference ${{{expression}}}: {root!r} is not available "
                            f"here ({why}); a step can refer only to earlier steps", file, line)
    names = ", ".join(seen) or "none"
    raise ScenarioError(f"steps[{step.index - 1}]: bad reference ${{{expression}}}: no earlier step is named "
                        f"{root!r}{_did_you_mean(str(root), [*seen, *ROOTS])} (named steps so far: {names}; "
                        "also vars and scenario)", file, line)


# --- schema errors ------------------------------------------------------------------------------

def _check(validator: Any, instance: Any, doc: LineDict, base: tuple, file: str, context: str | None = None,
           drop: str | None = None) -> None:
    errors = list(validator.iter_errors(instance))
    if not errors:
        return
    located = []
    for error in errors:
        error = _leaf(error)
        path = (*base, *error.absolute_path)
        line = line_of(doc, path) or 1
        extra = _unknown_member(error)
        if extra is not None:
            line = key_line(doc, path, extra) or line
        located.append((line, -len(path), error, path))
    line, _, error, path = min(located, key=lambda t: (t[0], t[1]))
    relative = path[len(base):]
    if drop and relative[:1] == (drop,):
        relative = relative[1:]
    raise ScenarioError(_message(error, relative, context), file, line)


def _leaf(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For anyOf/oneOf: when the value has the shape of one branch and the problem is inside it
    (`retry: {times: 2, statuses: 503}`), that inner error; otherwise the alternatives as a whole."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        depth = len(error.absolute_path)
        inner = [e for e in error.context if len(e.absolute_path) > depth]
        if inner:
            return _leaf(max(inner, key=lambda e: len(e.absolute_path)))
        members = [e for e in error.context if e.validator in ("additionalProperties", "required")]
        if members:  # the value is the branch's kind of mapping; one of its members is wrong
            return members[0]
        if "x-expected" not in error.schema:
            fitting = [e for e in error.context if e.validator != "type"]
            if fitting:
                return _leaf(fitting[0])
    return error


def _unknown_member(error: jsonschema.ValidationError) -> str | None:
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extras = [k for k in error.instance if k not in allowed]
        return extras[0] if extras else None
    return None


def _message(error: jsonschema.ValidationError, path: tuple, context: str | None) -> str:
    where = _path_text(path)
    prefix = f"{context}: " if context else ""
    at = f"{where}: " if where else ""
    schema_ = error.schema if isinstance(error.schema, dict) else {}
    expected = schema_.get("x-expected")
    got = _describe(error.instance)
    v = error.validator
    if v == "additionalProperties":
        extra = _unknown_member(error)
        allowed = list(schema_.get("properties", {}))
        hint = _did_you_mean(extra or "", allowed)
        return f"{prefix}{at}unknown member {extra!r}{hint}; expected one of: {', '.join(allowed)}"
    if v == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"{prefix}{at}missing required member {missing!r}"
    if expected:
        return f"{prefix}{at}expected {expected}, got {got}"
    if v == "type":
        return f"{prefix}{at}expected {_type_words(error.validator_value)}, got {got}"
    if v == "enum":
        return f"{prefix}{at}expected one of {', '.join(json.dumps(x) for x in error.validator_value)}, got {got}"
    if v == "const":
        return f"{prefix}{at}expected {json.dumps(error.validator_value)}, got {got}"
    if v == "pattern":
        return f"{prefix}{at}expected a string matching {error.validator_value}, got {got}"
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        words = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than",
                 "exclusiveMaximum": "less than"}[v]
        return f"{prefix}{at}expected a number {words} {error.validator_value}, got {got}"
    if v in ("minItems", "maxItems"):
        words = "at least" if v == "minItems" else "at most"
        return f"{prefix}{at}expected {words} {error.validator_value} item(s), got {len(error.instance)}"
    if v in ("minProperties", "maxProperties"):
        words = "at least" if v == "minProperties" else "at most"
        described = schema_.get("description") or f"{words} {error.validator_value} member(s)"
        return f"{prefix}{at}expected {described}, got {got}"
    if v == "minLength":
        return f"{prefix}{at}expected a non-empty string, got {got}"
    if v == "not":
        return f"{prefix}{at}{error.instance!r} is reserved"
    return f"{prefix}{at}{error.message}"


def _path_text(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _type_words(value: Any) -> str:
    names = {"integer": "a whole number", "number": "a number", "string": "a string", "boolean": "true or false",
             "object": "a mapping", "array": "a list", "null": "null"}
    values = value if isinstance(value, list) else [value]
    return " or ".join(names.get(v, v) for v in values)


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)) or type(value).__name__ == "Decimal":
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"the string {shown!r}"
    if isinstance(value, dict):
        return f"a mapping ({', '.join(list(value)[:6])})" if value else "an empty mapping"
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)"
    return type(value).__name__


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""

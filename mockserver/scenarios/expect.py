"""Expectations: match an expected value (from the scenario) against an actual one (from a reply).

* Numbers compare as exact decimals: `-1247` equals `-1247.0`, `0.1` never equals `0.10000001`.
  Booleans are never numbers and strings are never numbers.
* A mapping matches the members it lists (others are ignored); a key with dots or brackets is a
  path (`discrepancy.resolution.code`, `deltas[0].delta`).
* A list matches element by element and must have the same length.
* Operator objects (every key starts with `$`): `$present`, `$absent`, `$pattern`, `$decimal`,
  `$any`, `$type`, `$len`, `$contains`, `$each`, `$gt`, `$gte`, `$lt`, `$lte`, `$not`,
  `$startsWith`, `$endsWith`, `$exact`.

`match(expected, actual)` returns a list of readable mismatches, empty when everything matches.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from .refs import RefError, parse_path

MISSING = object()
OPERATORS = ("$present", "$absent", "$pattern", "$decimal", "$any", "$type", "$len", "$contains", "$each", "$gt",
             "$gte", "$lt", "$lte", "$not", "$startsWith", "$endsWith", "$exact")
TYPES = ("string", "number", "integer", "boolean", "null", "object", "array")


def is_number(value: Any) -> bool:
    return isinstance(value, (int, Decimal, float)) and not isinstance(value, bool)


def to_decimal(value: Any) -> Decimal | None:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return None
    return None


def is_operator(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(isinstance(k, str) and k.startswith("$") for k in value)


def show(value: Any) -> str:
    if value is MISSING:
        return "nothing (the member is absent)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        from ..proofs.primitives import canonical_decimal

        return canonical_decimal(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 120 else repr(value[:117] + "...")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in list(value.items())[:6]) + (", …}" if len(value) > 6 else "}")
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value[:6]) + (", …]" if len(value) > 6 else "]")
    return repr(value)


def type_name(value: Any) -> str:
    if value is MISSING:
        return "absent"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def get_path(actual: Any, key: str) -> Any:
    """A member, or a dotted/bracketed path; MISSING when absent."""
    if isinstance(actual, dict) and key in actual:
        return actual[key]
    if "." not in key and "[" not in key:
        return MISSING
    try:
        parts = parse_path(key)
    except RefError:
        return MISSING
    value = actual
    for part in parts:
        if isinstance(value, list):
            index = part if isinstance(part, int) else (int(part) if str(part).isdigit() else None)
            if index is None or not 0 <= index < len(value):
                return MISSING
            value = value[index]
        elif isinstance(value, dict) and str(part) in value:
            value = value[str(part)]
        else:
            return MISSING
    return value


def match(expected: Any, actual: Any, path: str = "") -> list[str]:
    where = path or "the value"
    if is_operator(expected):
        return _operators(expected, actual, path)
    if actual is MISSING:
        return [f"{where}: expected {show(expected)}, but it is absent"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {type_name(actual)} {show(actual)}"]
        problems: list[str] = []
        for key, want in expected.items():
            sub = f"{path}.{key}" if path else key
            problems += match(want, get_path(actual, key), sub)
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: expected a list of {len(expected)}, got {type_name(actual)} {show(actual)}"]
        if len(actual) != len(expected):
            return [f"{where}: expected a list of {len(expected)} item(s), got {len(actual)}: {show(actual)}"]
        problems = []
        for i, (want, got) in enumerate(zip(expected, actual)):
            problems += match(want, got, f"{path}[{i}]")
        return problems
    if is_number(expected):
        if not is_number(actual):
            return [f"{where}: expected the number {show(expected)}, got {type_name(actual)} {show(actual)}"]
        if to_decimal(expected) != to_decimal(actual):
            return [f"{where}: expected {show(to_decimal(expected))}, got {show(to_decimal(actual))}"]
        return []
    if type_name(expected) != type_name(actual) or expected != actual:
        return [f"{where}: expected {show(expected)}, got {show(actual)}"]
    return []


def _operators(ops: dict[str, Any], actual: Any, path: str) -> list[str]:
    where = path or "the value"
    problems: list[str] = []
    for op, arg in ops.items():
        if op not in OPERATORS:
            problems.append(f"{where}: unknown matcher {op!r} (known: {', '.join(OPERATORS)})")
            continue
        if op == "$present":
            if bool(arg) != (actual is not MISSING and actual is not None):
                problems.append(f"{where}: expected {'a value' if arg else 'no value'}, got {show(actual)}")
            continue
        if op == "$absent":
            if bool(arg) != (actual is MISSING):
                problems.append(f"{where}: expected the member to be {'absent' if arg else 'present'}, "
                                f"got {show(actual)}")
            continue
        if op == "$not":
            if not match(arg, actual, path):
                problems.append(f"{where}: expected anything but {show(arg)}, got {show(actual)}")
            continue
        if op == "$any":
            options = arg if isinstance(arg, list) else [arg]
            if all(match(option, actual, path) for option in options):
                problems.append(f"{where}: expected one of {show(options)}, got {show(actual)}")
            continue
        if actual is MISSING:
            problems.append(f"{where}: expected a value ({op} {show(arg)}), but it is absent")
            continue
        problems += _operator(op, arg, actual, where, path)
    return problems


def _operator(op: str, arg: Any, actual: Any, where: str, path: str) -> list[str]:
    if op == "$pattern":
        if not isinstance(actual, str):
            return [f"{where}: expected a string matching /{arg}/, got {type_name(actual)} {show(actual)}"]
        try:
            found = re.search(str(arg), actual)
        except re.error as exc:
            return [f"{where}: the pattern /{arg}/ is invalid: {exc}"]
        return [] if found else [f"{where}: expected a string matching /{arg}/, got {show(actual)}"]
    if op == "$decimal":
        want = to_decimal(arg)
        if want is None:
            return [f"{where}: $decimal needs a decimal number, got {show(arg)}"]
        if not is_number(actual) or to_decimal(actual) != want:
            return [f"{where}: expected exactly {show(want)}, got {type_name(actual)} {show(actual)}"]
        return []
    if op == "$type":
        wanted = arg if isinstance(arg, list) else [arg]
        got = type_name(actual)
        ok = any(t == got or (t == "integer" and got == "number" and to_decimal(actual) == to_decimal(actual).to_integral_value())
                 for t in wanted)
        return [] if ok else [f"{where}: expected a value of type {' or '.join(map(str, wanted))}, got {got} {show(actual)}"]
    if op == "$len":
        if not isinstance(actual, (list, dict, str)):
            return [f"{where}: expected something with a length, got {type_name(actual)}"]
        if is_operator(arg):
            return match(arg, len(actual), f"{where} length")
        return [] if len(actual) == arg else [f"{where}: expected length {arg}, got {len(actual)}"]
    if op == "$contains":
        if isinstance(actual, str):
            return [] if isinstance(arg, str) and arg in actual else [f"{where}: expected a string containing {show(arg)}, got {show(actual)}"]
        if isinstance(actual, list):
            return [] if any(not match(arg, item) for item in actual) else [f"{where}: expected a list containing {show(arg)}, got {show(actual)}"]
        return [f"{where}: $contains needs a string or a list, got {type_name(actual)}"]
    if op == "$each":
        items = actual if isinstance(actual, list) else list(actual.values()) if isinstance(actual, dict) else None
        if items is None:
            return [f"{where}: $each needs a list, got {type_name(actual)}"]
        out: list[str] = []
        for i, item in enumerate(items):
            out += match(arg, item, f"{path}[{i}]")
        return out
    if op in ("$gt", "$gte", "$lt", "$lte"):
        a, b = to_decimal(actual) if is_number(actual) else None, to_decimal(arg)
        if a is None or b is None:
            return [f"{where}: {op} compares numbers, got {type_name(actual)} {show(actual)}"]
        ok = {"$gt": a > b, "$gte": a >= b, "$lt": a < b, "$lte": a <= b}[op]
        words = {"$gt": "more than", "$gte": "at least", "$lt": "less than", "$lte": "at most"}[op]
        return [] if ok else [f"{where}: expected {words} {show(b)}, got {show(a)}"]
    if op in ("$startsWith", "$endsWith"):
        ok = isinstance(actual, str) and (actual.startswith(arg) if op == "$startsWith" else actual.endswith(arg))
        which = "starting" if op == "$startsWith" else "ending"
        return [] if ok else [f"{where}: expected a string {which} with {show(arg)}, got {show(actual)}"]
    if op == "$exact":
        problems = match(arg, actual, path)
        if not problems and isinstance(arg, dict) and isinstance(actual, dict) and set(arg) != set(actual):
            extra = sorted(set(actual) - set(arg))
            problems.append(f"{where}: expected exactly the members {sorted(arg)}, also got {extra}")
        return problems
    return []  # pragma: no cover - every operator is handled above

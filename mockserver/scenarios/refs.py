"""`${name.path}` references to earlier steps' results, `${vars.x}` and `${scenario.start}`.

A string that is exactly one reference takes the referenced value with its type (a number stays
an exact decimal, an object stays an object); a reference inside a longer string is interpolated
as text. `$${` writes a literal `${`.

Paths use dots and brackets: `${lock.proofRoot}`, `${rcpt.deltas[0].recordId}`,
`${gen.byPeriod.2026-01.cust_0001}`, `${x["odd.key"]}`. A step's value is its reply's `data`
(or, for an error reply, `{"error": {...}}`), or the result of a client-side step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from ..proofs.primitives import canonical_decimal

REF_RE = re.compile(r"(?<!\$)\$\{([^{}]*)\}")
_PART_RE = re.compile(r"""\.?([^.\[\]]+)|\[(\d+)\]|\[(?:"([^"]*)"|'([^']*)')\]""")
ROOTS = ("vars", "scenario")


class RefError(Exception):
    pass


def parse_path(expression: str) -> list[str | int]:
    """`a.b[0]["c.d"]` -> ["a", "b", 0, "c.d"]; RefError if malformed."""
    text = expression.strip()
    parts: list[str | int] = []
    pos = 0
    while pos < len(text):
        m = _PART_RE.match(text, pos)
        if not m or m.end() == pos or (pos == 0 and text.startswith(".")):
            raise RefError(f"malformed reference ${{{expression}}}")
        key, index, dq, sq = m.groups()
        parts.append(int(index) if index is not None else (key if key is not None else (dq if dq is not None else sq)))
        pos = m.end()
    if not parts or not isinstance(parts[0], str):
        raise RefError(f"malformed reference ${{{expression}}}")
    return parts


def expressions(text: str) -> Iterator[str]:
    for m in REF_RE.finditer(text):
        yield m.group(1)


def walk_strings(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """Every string inside a value (mapping keys excluded), with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from walk_strings(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk_strings(v, (*path, i))


def lookup(root: Any, parts: list[str | int], expression: str, name: str | None = None) -> Any:
    """Follow `parts` from `root` (named `name` in messages)."""
    value = root
    for depth, part in enumerate(parts):
        where = ".".join([*([name] if name else []), *(str(p) for p in parts[:depth])]) or "the value"
        if isinstance(value, list):
            index = part if isinstance(part, int) else (int(part) if str(part).isdigit() else None)
            if index is None or not 0 <= index < len(value):
                raise RefError(f"${{{expression}}}: {where} is a list of {len(value)} item(s), no item {part!r}")
            value = value[index]
        elif isinstance(value, dict):
            if str(part) not in value:
                members = ", ".join(list(value)[:15]) + (", …" if len(value) > 15 else "")
                raise RefError(f"${{{expression}}}: {where} has no member {part!r} (members: {members or 'none'})")
            value = value[str(part)]
        else:
            raise RefError(f"${{{expression}}}: {where} is {_kind(value)}, it has no member {part!r}")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, Decimal, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__


def as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, Decimal)):
        return canonical_decimal(value) if isinstance(value, Decimal) else str(value)
    from ..jsonout import dumps

    try:
        return dumps(value)
    except TypeError:
        return json.dumps(value, default=str)


def substitute(value: Any, resolve: Callable[[str], Any]) -> Any:
    """A copy of `value` with every reference replaced through `resolve(expression)`."""
    if isinstance(value, str):
        if "${" not in value:
            return value
        whole = REF_RE.fullmatch(value)
        if whole:
            return resolve(whole.group(1))
        text = REF_RE.sub(lambda m: as_text(resolve(m.group(1))), value)
        return text.replace("$${", "${")
    if isinstance(value, dict):
        return {k: substitute(v, resolve) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, resolve) for v in value]
    return value

"""Compact, byte-reproducible JSON for replies and webhook bodies (balance-api.md §1.15).

Amounts are Decimal and are written as JSON numbers whose text is the canonical decimal string
(never an exponent, never a trailing .0), which the standard json module cannot do. A number read
from a request or stored JSON (a JSONNumber: metadata, kept as submitted) is written as its own
literal text, never expanded; `dumps_sorted` compares by value without expanding. orjson writes
everything (its Fragment carries a canonical decimal's text as is); what orjson refuses (a lone
surrogate, an integer beyond 64 bits) is written by the plain Python writer below, byte for byte
the same otherwise (the suite compares both on every contract example and webhook body).
"""

from __future__ import annotations

from decimal import Decimal
from json.encoder import encode_basestring  # C-accelerated, leaves non-ASCII as is
from typing import Any

import orjson

from .proofs.primitives import JSONNumber, canonical_decimal, comparable_decimal, json_number


def _number_text(value: Decimal) -> str:
    return value.text if type(value) is JSONNumber else canonical_decimal(value)


def _fragment(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(_number_text(value))
    if isinstance(value, RawJSON):
        return orjson.Fragment(value.text)
    raise TypeError(f"cannot serialize {type(value).__name__}")


class RawJSON:
    """A value already written as JSON text, inserted as is: a stored canonical amount (the same
    bytes as its Decimal, without parsing it again), or a part many documents share (a batch's
    item hashes in each of its events), written once."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


CanonicalNumber = RawJSON  # a canonical decimal's text


def dumpb(value: Any) -> bytes:
    try:
        return orjson.dumps(value, default=_fragment)
    except orjson.JSONEncodeError:
        return python_dumps(value).encode("utf-8")


def dumps(value: Any) -> str:
    return dumpb(value).decode("utf-8")


def python_dumps(value: Any) -> str:
    """The same text, written in Python (the reference the fast path is held against)."""
    out: list[str] = []
    _write(value, out)
    return "".join(out)


def dumps_sorted(value: Any) -> str:
    """Canonical form for comparisons: members sorted, no whitespace, numbers by value (canonical
    decimals; a huge or tiny exponent as coefficient and exponent, never expanded)."""
    return dumps(_sorted(value))


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    if isinstance(value, Decimal):
        return json_number(comparable_decimal(value))
    return value


def _write(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(encode_basestring(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        out.append(_number_text(value))
    elif isinstance(value, RawJSON):
        out.append(value.text)
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(encode_basestring(key))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif isinstance(value, float):
        out.append(repr(value))
    else:
        raise TypeError(f"cannot serialize {type(value).__name__}")

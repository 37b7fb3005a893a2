"""Compact, byte-reproducible JSON for replies and webhook bodies (balance-api.md §1.15).

Amounts are Decimal and are written as JSON numbers whose text is the canonical decimal string
(never an exponent, never a trailing .0), which the standard json module cannot do.
"""

from __future__ import annotations

from decimal import Decimal
from json.encoder import encode_basestring  # C-accelerated, leaves non-ASCII as is
from typing import Any

from .proofs.primitives import canonical_decimal


def dumps(value: Any) -> str:
    out: list[str] = []
    _write(value, out)
    return "".join(out)


def dumps_sorted(value: Any) -> str:
    """Canonical form for comparisons: members sorted, no whitespace, canonical decimals."""
    return dumps(_sorted(value))


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def dumpb(value: Any) -> bytes:
    return dumps(value).encode("utf-8")


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
        out.append(canonical_decimal(value))
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
